/*
 * The names and messages of the GL_E* codes, generated from the one table in err.h.
 */
#include "err.h"

#include <string.h>

const char *gl_strerror(int code)
{
    switch (code) {
#define XX(name, value, msg)                                                                      \
    case value:                                                                                   \
        return msg;
        GL_ERRNO_MAP(XX)
#undef XX
    default:
        return code < 0 && code > -4096 ? strerror(-code) : "unknown error";
    }
}

const char *gl_err_name(int code)
{
    switch (code) {
#define XX(name, value, msg)                                                                      \
    case value:                                                                                   \
        return #name;
        GL_ERRNO_MAP(XX)
#undef XX
    default:
        return "EUNKNOWN";
    }
}
