/*
 * gw_ws.h - the gateway's lean WebSocket connection: the upgrade checks and
 * the 101 over cm_httpd_hijack(), then one raw event per socket, a shared
 * per-loop read buffer (a small heap buffer only while a frame is
 * incomplete), output written once per loop pass (a direct sendmsg() of
 * pending shared frames while the socket has no backlog, else the output
 * evbuffer), and the strict proto/ws.h parser. It carries one Engine.IO
 * session's packets.
 */
#ifndef SSE_GW_WS_H
#define SSE_GW_WS_H

#include <stddef.h>
#include <stdint.h>

#include "gw_session.h"

struct cm_httpd_req;
struct gw_ws;

#define GW_WS_LINGER_MS 2000 /* after our close: wait this long for EOF */
/* Shared frames a connection with no backlog holds for the next flush,
 * which sends them with one sendmsg(); more in one loop pass go to the
 * output evbuffer. Inline in every connection: 8 bytes per slot. */
#define GW_WS_PEND_MAX 4

/*
 * Check the headers of a WebSocket upgrade request (GET, Upgrade:
 * websocket, Connection: Upgrade, Sec-WebSocket-Version: 13, a valid key).
 * Returns 0, or answers req (400, or 426 with Sec-WebSocket-Version: 13)
 * and returns -1 (req is then freed).
 */
int gw_ws_check_request(struct cm_httpd_req *req);

/*
 * Take a checked request's connection over and answer 101. The new
 * connection is attached to s (caller sets s->ws or s->probe). Returns the
 * connection, or NULL (req answered or its socket closed, or the 101 sent
 * and the connection closing on its own, detached from s: too many bytes
 * came behind the request; nothing leaks).
 */
struct gw_ws *gw_ws_accept(struct gw_ctx *ctx, struct cm_httpd_req *req,
                           struct gw_session *s);

/* Bytes queued to the socket and not yet written (pending frames and the
 * output evbuffer). */
size_t gw_ws_backlog(const struct gw_ws *c);

/* Queue a shared frame by reference (never copied), after everything
 * queued before it. Returns 0 or -1. */
int gw_ws_send_frame(struct gw_ws *c, struct gw_frame *f);

/* Queue one text frame (a copy of text). Returns 0 or -1. */
int gw_ws_send_text(struct gw_ws *c, const char *text, size_t len);

/*
 * Detach c from its session and close it: a close frame with code (or the
 * code of a protocol error found earlier), written after what is queued;
 * then our write side is shut and the socket freed at the peer's EOF or
 * after GW_WS_LINGER_MS. Safe from any callback; idempotent.
 */
void gw_ws_close(struct gw_ws *c, uint16_t code);

/* Write every connection with new output (the flush pass). */
void gw_ws_flush_all(struct gw_tp *tp);

/* Free c at once (process exit). */
void gw_ws_free(struct gw_ws *c);

#endif
