/*
 * Error codes shared by every goldline module.
 *
 * Functions return int: 0 for success, a negative GL_E* code for failure. The codes reuse the
 * negative errno values where one fits, so a wrapped libuv error (UV_E* is -errno on Unix) keeps
 * its meaning, and the table below is the single place that names and describes them.
 */
#ifndef GL_ERR_H
#define GL_ERR_H

#include <errno.h>

/* XX(name, value, message) */
#define GL_ERRNO_MAP(XX)                                                                          \
    XX(EINVAL, -EINVAL, "invalid argument")                                                       \
    XX(ENOMEM, -ENOMEM, "out of memory")                                                          \
    XX(ENOENT, -ENOENT, "no such entry")                                                          \
    XX(EEXIST, -EEXIST, "already exists")                                                         \
    XX(EAGAIN, -EAGAIN, "try again")                                                              \
    XX(EIO, -EIO, "input/output error")                                                           \
    XX(ERANGE, -ERANGE, "value out of range")                                                     \
    XX(EPERM, -EPERM, "not permitted")                                                            \
    XX(EACCES, -EACCES, "access denied")                                                          \
    XX(ENOSPC, -ENOSPC, "no space left")                                                          \
    XX(ETIMEDOUT, -ETIMEDOUT, "timed out")                                                        \
    XX(ECONNREFUSED, -ECONNREFUSED, "connection refused")                                         \
    XX(EPROTO, -EPROTO, "malformed message")                                                      \
    XX(ESTATE, -10001, "illegal state transition")                                                \
    XX(ESTALE, -10002, "stale data")                                                              \
    XX(EDB, -10003, "database error")                                                             \
    XX(EDUP, -10004, "duplicate message")                                                         \
    XX(ECAPABILITY, -10005, "capability missing")                                                 \
    XX(EUNAVAILABLE, -10006, "unit not available")

enum gl_errno {
#define XX(name, value, msg) GL_##name = (value),
    GL_ERRNO_MAP(XX)
#undef XX
};

/* Returns a static, human-readable description of a GL_E* code (or a system errno, negated). */
const char *gl_strerror(int code);

/* Returns the symbolic name ("EINVAL", "ESTATE", ...) of a code, for machine-readable replies. */
const char *gl_err_name(int code);

#endif
