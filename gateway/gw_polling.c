/*
 * gw_polling.c - Engine.IO HTTP long-polling. A session holds at most one
 * GET; packets queued while none is held wait in s->pq (joined by 0x1e)
 * and go out in one answer. POST bodies are bounded by cm_httpd (413).
 */
#include <string.h>
#include <event2/buffer.h>

#include "cm_httpd.h"
#include "gw_eio.h"
#include "gw_polling.h"

static void
gw_polling_closed(struct cm_httpd_req *req, void *arg)
{
    struct gw_session *s = arg;

    if (s->get != req)
        return;
    s->get = NULL;
    cm_httpd_reply(req, 200, GW_POLL_CTYPE, "", 0); /* dropped; frees req */
    /* as the reference: a poll closed early ends the session */
    gw_session_end(s, GW_CR_TRANSPORT, 0);
}

void
gw_polling_get(struct gw_session *s, struct cm_httpd_req *req)
{
    if (s->get != NULL) {
        /* "data request overlap from client": the reference closes */
        gw_eio_error(req, 400, 3);
        gw_session_end(s, GW_CR_TRANSPORT, 0);
        return;
    }
    if (evbuffer_get_length(s->pq) > 0) {
        cm_httpd_reply_buffer(req, 200, GW_POLL_CTYPE, s->pq);
        return;
    }
    if (s->probe != NULL && s->probed) {
        /* upgrading: the client waits for this poll to end before "5" */
        cm_httpd_reply(req, 200, GW_POLL_CTYPE, "6", 1);
        return;
    }
    s->get = req;
    cm_httpd_on_close(req, gw_polling_closed, s);
}

void
gw_polling_post(struct gw_session *s, struct cm_httpd_req *req)
{
    struct eio_payload_iter it;
    struct eio_packet pkt;
    const char *body;
    size_t len;
    int rc;

    if (cm_httpd_body_too_large(req)) {
        cm_httpd_error(req, 413, "Payload Too Large");
        gw_session_end(s, GW_CR_PARSE_ERROR, 0);
        return;
    }
    body = cm_httpd_body(req, &len);
    eio_payload_iter_init(&it, body != NULL ? body : "", len);
    while (s->open && (rc = eio_payload_next(&it, &pkt)) != 0) {
        if (rc < 0) {
            gw_eio_error(req, 400, 3);
            gw_session_end(s, GW_CR_PARSE_ERROR, 0);
            return;
        }
        gw_eio_on_packet(s, &pkt);
    }
    if (!s->open && s->why == GW_CR_PARSE_ERROR)
        gw_eio_error(req, 400, 3);
    else
        cm_httpd_reply(req, 200, "text/html", "ok", 2);
}

void
gw_polling_flush(struct gw_session *s)
{
    struct cm_httpd_req *req = s->get;

    if (req == NULL || s->pq == NULL || evbuffer_get_length(s->pq) == 0)
        return;
    s->get = NULL;
    cm_httpd_reply_buffer(req, 200, GW_POLL_CTYPE, s->pq);
}

void
gw_polling_release(struct gw_session *s, const char *pkt)
{
    struct cm_httpd_req *req = s->get;

    if (req == NULL)
        return;
    s->get = NULL;
    cm_httpd_reply(req, 200, GW_POLL_CTYPE, pkt, strlen(pkt));
}
