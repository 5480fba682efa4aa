/*
 * gw_sio.h - Socket.IO v5 over an Engine.IO session: CONNECT to "/" (to the
 * channels half), other namespaces refused, EVENT and BINARY_EVENT (with
 * bounded attachment reassembly), DISCONNECT; malformed packets close the
 * session as the reference server does. The gw_session_connect_*,
 * gw_session_send_ack answers of gw.h live here too.
 */
#ifndef SSE_GW_SIO_H
#define SSE_GW_SIO_H

#include <stddef.h>
#include <stdint.h>

#include "gw_session.h"

/* An Engine.IO MESSAGE text (after the '4'). May close s. */
void gw_sio_on_message(struct gw_session *s, const char *data, size_t len);

/* A binary Engine.IO message (an attachment). May close s. */
void gw_sio_on_binary(struct gw_session *s, const uint8_t *data, size_t len);

/* Free an open reassembly (session close). */
void gw_sio_binasm_free(struct gw_binasm *b);

#endif
