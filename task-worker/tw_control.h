/*
 * tw_control.h - the gateway control messages of a revocation
 * (proto/REDIS.md, "Gateway control channel"): tracking members in,
 * one JSON "remove" message per gateway out, split to stay under a byte
 * bound. Pure: no I/O, no clock; unit-tested in tests/unit.
 */
#ifndef SSE_TW_CONTROL_H
#define SSE_TW_CONTROL_H

#include <stddef.h>

/*
 * 1 if m is a keysocks member "<sid>|<channel>" with a well-formed sid
 * (CM_SID_LEN chars of [a-z0-9]) and a valid channel name; then *ch
 * points at the channel inside m.
 */
int tw_member_valid(const char *m, const char **ch);

/* Called once per message: tag is the gateway tag (CM_GW_TAG_LEN chars,
 * NUL-terminated), msg[0..len) the JSON; both valid during the call only.
 * Return 0 to go on, -1 to stop the build. */
typedef int (*tw_control_emit)(const char *tag, const char *msg, size_t len,
                               void *arg);

/*
 * Build the control messages for members[0..n) ("<sid>|<channel>", sorted
 * with strcmp so that one sid's and one tag's members are adjacent;
 * malformed members are skipped). Sockets of one gateway share a message;
 * a message grows past max_bytes only when one channel entry alone needs
 * it; a socket is split over two messages only when its own entry exceeds
 * max_bytes. pid, reason and message must need no JSON escaping (pid and
 * reason are validated ids; message is our own text).
 * Returns the number of messages emitted, or -1 (allocation failure or
 * emit returned -1).
 */
long tw_control_build(const char *pid, const char *reason, const char *message,
                      const char *const *members, size_t n, size_t max_bytes,
                      tw_control_emit emit, void *arg);

/* The human text for a reason: "API key deleted: ..." or expired. */
const char *tw_control_text(const char *reason);

#endif
