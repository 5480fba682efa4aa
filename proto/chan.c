/*
 * chan.c - validation of channel names and project ids (CONTRACT.md
 * sections 2 and 3). Pure byte checks: no allocation, no locale. Names
 * that pass contain no '|' (CM_SEP) and nothing that needs JSON escaping,
 * so callers may splice them into keys and packets verbatim.
 */
#include "chan.h"

#include <string.h>

/* 1 for A-Z a-z 0-9 _ - = @ , . ; : (CONTRACT.md section 3). */
static int
chan_char_ok(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return 1;
    switch (c) {
    case '_':
    case '-':
    case '=':
    case '@':
    case ',':
    case '.':
    case ';':
    case ':':
        return 1;
    default:
        return 0;
    }
}

int
chan_name_valid(const char *s, size_t len)
{
    size_t i;

    if (s == NULL || len == 0 || len > CHAN_NAME_MAX)
        return 0;
    for (i = 0; i < len; i++)
        if (!chan_char_ok((unsigned char)s[i]))
            return 0;
    return 1;
}

int
chan_is_private(const char *s, size_t len)
{
    static const char prefix[] = "private";

    /* Lower-case only: "Private-x" is a public channel. */
    return len >= sizeof(prefix) - 1 &&
           memcmp(s, prefix, sizeof(prefix) - 1) == 0;
}

static int
chan_pid_char_ok(unsigned char c, int first)
{
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return 1;
    return !first && (c == '_' || c == '-');
}

int
chan_project_id_valid(const char *s, size_t len)
{
    size_t i;

    /* [a-z0-9][a-z0-9_-]{0,63} */
    if (s == NULL || len == 0 || len > CHAN_PROJECT_MAX)
        return 0;
    for (i = 0; i < len; i++)
        if (!chan_pid_char_ok((unsigned char)s[i], i == 0))
            return 0;
    return 1;
}
