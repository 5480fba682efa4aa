/*
 * chan.h - channel names (CONTRACT.md section 3): 1 to 200 characters of
 * A-Z a-z 0-9 _ - = @ , . ; :   A name is private when it begins with
 * lower-case "private".
 */
#ifndef SSE_PROTO_CHAN_H
#define SSE_PROTO_CHAN_H

#include "proto.h"

#define CHAN_NAME_MAX 200

/* 1 if s[0..len) is a valid channel name. */
int chan_name_valid(const char *s, size_t len);

/* 1 if the (valid) name is private. */
int chan_is_private(const char *s, size_t len);

/* Project ids: [a-z0-9][a-z0-9_-]{0,63} */
#define CHAN_PROJECT_MAX 64
int chan_project_id_valid(const char *s, size_t len);

#endif
