/*
 * gw_app.h - what the channels half's modules share besides gw.h: the
 * one way a request is answered (system_message, plus the ACK when asked).
 */
#ifndef SSE_GW_APP_H
#define SSE_GW_APP_H

#include <stdint.h>

#include "gw.h"

/*
 * Send 2["system_message",{code,message[,data]}] to s and, when ack_id >= 0,
 * 3<ack_id>[{the same object}]. message is escaped here; data_json is
 * NULL or valid JSON. Returns 0 or -1 (ENOMEM, or the socket is closing).
 */
int gw_app_answer(struct gw_session *s, int64_t ack_id, const char *code,
                  const char *message, const char *data_json);

#endif
