/*
 * gw_polling.h - Engine.IO HTTP long-polling: the one held GET per session
 * (answered with the queued packets joined by 0x1e), POST bodies of
 * packets, and releasing a held GET on upgrade or close.
 */
#ifndef SSE_GW_POLLING_H
#define SSE_GW_POLLING_H

#include "gw_session.h"

struct cm_httpd_req;

#define GW_POLL_CTYPE "text/plain; charset=UTF-8"

/* A GET on a polling session: answered now if packets wait, else held.
 * A second concurrent GET closes the session (400), as the reference. */
void gw_polling_get(struct gw_session *s, struct cm_httpd_req *req);

/* A POST: its packets dispatched in order, then "ok" (413 past the
 * bound, 400 for a malformed payload; both close the session). */
void gw_polling_post(struct gw_session *s, struct cm_httpd_req *req);

/* Answer the held GET with the queued packets (the flush pass). */
void gw_polling_flush(struct gw_session *s);

/* Answer the held GET, if any, with one packet (e.g. "1" or "6"). */
void gw_polling_release(struct gw_session *s, const char *pkt);

#endif
