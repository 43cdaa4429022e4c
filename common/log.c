/*
 * The one logging back end: timestamped lines on stderr, and the burst limiter used to keep a
 * flood of bad input from flooding the log.
 */
#include "log.h"

#include "err.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

int gl_log_level = GL_LOG_INFO;

static const char *const level_names[] = {"ERR", "WARN", "INFO", "DEBUG"};

int gl_log_set_level_name(const char *name)
{
    static const char *const names[] = {"err", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, names[i]) == 0) {
            gl_log_level = i;
            return 0;
        }
    }
    return GL_EINVAL;
}

void gl_log_write(int level, const char *mod, const char *fmt, ...)
{
    char line[1024];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s [%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (int)(tv.tv_usec / 1000), level_names[level], mod);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* One fputs per line so that lines of concurrent processes do not interleave mid-line. */
    size_t len = strlen(line);
    if (len < sizeof line - 1) {
        line[len] = '\n';
        line[len + 1] = '\0';
    }
    fputs(line, stderr);
}

int gl_log_burst_allow(gl_log_burst_t *b, long long now_ms, long long interval_ms,
                       unsigned long *suppressed)
{
    if (b->last_ms == 0 || now_ms - b->last_ms >= interval_ms) {
        *suppressed = b->suppressed;
        b->suppressed = 0;
        b->last_ms = now_ms;
        return 1;
    }
    b->suppressed++;
    return 0;
}
