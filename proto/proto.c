/*
 * proto.c - names for the shared return codes of proto/.
 */
#include "proto.h"

const char *
proto_strerror(int rc)
{
    switch (rc) {
    case PROTO_OK:
        return "ok";
    case PROTO_AGAIN:
        return "incomplete input";
    case PROTO_EINVAL:
        return "malformed input";
    case PROTO_ETOOBIG:
        return "input over the configured limit";
    case PROTO_ENOMEM:
        return "out of memory";
    case PROTO_NOTFOUND:
        return "not found";
    }
    return "unknown error";
}
