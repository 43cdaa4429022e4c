/*
 * Logging to stderr (journald picks it up) with a level, a module tag and an entity id in the
 * text. The macros test the level before evaluating their arguments, so a DEBUG line costs one
 * comparison when DEBUG is off.
 *
 * Patient data never goes through these macros: no names, no vitals, no free text a caller said.
 * Log identifiers (incident number, vehicle id) only.
 */
#ifndef GL_LOG_H
#define GL_LOG_H

#include <stdarg.h>

enum gl_log_level { GL_LOG_ERR = 0, GL_LOG_WARN, GL_LOG_INFO, GL_LOG_DEBUG };

extern int gl_log_level; /* current threshold; lines above it are skipped */

/* Sets the level from a name ("err", "warn", "info", "debug"); returns 0 or GL_EINVAL. */
int gl_log_set_level_name(const char *name);

/* Writes one line: "2026-11-25T08:00:00.123Z WARN  [mod] text". Use the macros instead. */
void gl_log_write(int level, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define GL_LOG(level, mod, ...)                                                                   \
    do {                                                                                          \
        if ((level) <= gl_log_level)                                                              \
            gl_log_write((level), (mod), __VA_ARGS__);                                            \
    } while (0)

#define LOG_ERR(mod, ...) GL_LOG(GL_LOG_ERR, mod, __VA_ARGS__)
#define LOG_WARN(mod, ...) GL_LOG(GL_LOG_WARN, mod, __VA_ARGS__)
#define LOG_INFO(mod, ...) GL_LOG(GL_LOG_INFO, mod, __VA_ARGS__)
#define LOG_DEBUG(mod, ...) GL_LOG(GL_LOG_DEBUG, mod, __VA_ARGS__)

/*
 * A limiter for "one clear line per burst": gl_log_burst_allow() returns 1 for the first event
 * of a burst and then once per `interval_ms`, reporting in *suppressed how many events were
 * swallowed since the last line that was allowed.
 */
typedef struct gl_log_burst {
    long long last_ms;         /* wall time of the last allowed line, 0 if none yet */
    unsigned long suppressed;  /* events swallowed since then */
} gl_log_burst_t;

int gl_log_burst_allow(gl_log_burst_t *b, long long now_ms, long long interval_ms,
                       unsigned long *suppressed);

#endif
