/*
 * gw_eio.h - Engine.IO v4 on the gateway: the /socket.io/ request handler
 * (handshake, polling requests, WebSocket and upgrade requests, the error
 * answers of the reference server) and the dispatch of Engine.IO packets
 * from either transport.
 */
#ifndef SSE_GW_EIO_H
#define SSE_GW_EIO_H

#include <stddef.h>
#include <stdint.h>

#include "eio.h"
#include "gw_session.h"

struct cm_httpd_req;
struct gw_ws;

/* cm_httpd prefix handler for "/socket.io/"; arg is the gw_ctx. */
void gw_eio_handle(struct cm_httpd_req *req, void *arg);

/* One Engine.IO packet of the session's current transport (polling POST
 * segment or WebSocket text frame). May close s. */
void gw_eio_on_packet(struct gw_session *s, const struct eio_packet *pkt);

/* One WebSocket message from c, which is s's transport or its probe. */
void gw_eio_on_ws_message(struct gw_session *s, struct gw_ws *c, int binary,
                          const uint8_t *data, size_t len);

/* Answer an Engine.IO error: 400 {"code":code,"message":...}. */
void gw_eio_error(struct cm_httpd_req *req, int status, int code);

#endif
