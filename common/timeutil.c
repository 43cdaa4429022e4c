/*
 * Clock reads and ISO 8601 conversions (see timeutil.h for the conventions).
 */
#include "timeutil.h"

#include "err.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t gl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t gl_mono_ms(void)
{
    return gl_mono_ns() / 1000000;
}

int64_t gl_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

char *gl_time_format_utc(int64_t ms, char *buf, size_t len)
{
    time_t secs = (time_t)floor_div(ms, 1000);
    int millis = (int)(ms - (int64_t)secs * 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    return buf;
}

char *gl_time_format_local(int64_t ms, char *buf, size_t len)
{
    time_t secs = (time_t)floor_div(ms, 1000);
    struct tm tm;
    localtime_r(&secs, &tm);
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, sign, off / 3600,
             (off % 3600) / 60);
    return buf;
}

static int read_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return GL_EINVAL;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int gl_time_parse(const char *text, int64_t *ms)
{
    const char *p = text;
    int y, mo, d, h = 0, mi = 0, s = 0, frac_ms = 0;
    if (!text || read_digits(&p, 4, &y) || *p++ != '-' || read_digits(&p, 2, &mo) ||
        *p++ != '-' || read_digits(&p, 2, &d))
        return GL_EINVAL;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (read_digits(&p, 2, &h) || *p++ != ':' || read_digits(&p, 2, &mi))
            return GL_EINVAL;
        if (*p == ':') {
            p++;
            if (read_digits(&p, 2, &s))
                return GL_EINVAL;
            if (*p == '.' || *p == ',') {
                p++;
                int scale = 100, digits = 0;
                while (isdigit((unsigned char)*p)) {
                    frac_ms += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                    digits++;
                }
                if (digits == 0)
                    return GL_EINVAL;
            }
        }
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return GL_EINVAL;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_sec = s, .tm_isdst = -1};
    time_t secs;
    if (*p == '\0') {
        secs = mktime(&tm); /* no offset: the county's local time */
    } else {
        long off = 0;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
            if (read_digits(&p, 2, &oh))
                return GL_EINVAL;
            if (*p == ':')
                p++;
            if (*p && read_digits(&p, 2, &om))
                return GL_EINVAL;
            if (oh > 23 || om > 59)
                return GL_EINVAL;
            off = sign * (oh * 3600L + om * 60L);
        } else {
            return GL_EINVAL;
        }
        if (*p != '\0')
            return GL_EINVAL;
        secs = timegm(&tm) - off;
    }
    if (secs == (time_t)-1 && !(y == 1969))
        return GL_EINVAL;
    *ms = (int64_t)secs * 1000 + frac_ms;
    return 0;
}

int gl_local_yyyymmdd(int64_t ms)
{
    time_t secs = (time_t)floor_div(ms, 1000);
    struct tm tm;
    localtime_r(&secs, &tm);
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

int gl_time_set_zone(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
    return 0;
}
