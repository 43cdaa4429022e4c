/*
 * Time helpers. goldline keeps every time as int64 milliseconds since the Unix epoch in UTC
 * (what PostgreSQL's timestamptz stores), and converts only at the edges: ISO 8601 text on the
 * wire, the county's local time (the process TZ, Asia/Shanghai by default) for people.
 */
#ifndef GL_TIMEUTIL_H
#define GL_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Wall-clock time now, ms since the epoch (UTC). */
int64_t gl_now_ms(void);

/* Monotonic time now in ms, for measuring intervals (never goes back). */
int64_t gl_mono_ms(void);

/* The same in ns, for latencies below a millisecond (the benchmarks). */
int64_t gl_mono_ns(void);

/* Formats `ms` as "2026-11-25T00:00:00.000Z" into buf (at least 32 bytes). Returns buf. */
char *gl_time_format_utc(int64_t ms, char *buf, size_t len);

/* Formats `ms` in the process's local time zone as "2026-11-25T08:00:00+08:00". Returns buf. */
char *gl_time_format_local(int64_t ms, char *buf, size_t len);

/*
 * Parses ISO 8601 / RFC 3339 date-times: "2026-11-25T08:00:00Z", "...+08:00", "...+0800",
 * fractional seconds, a space instead of 'T'. A time without an offset is taken as local time of
 * the process TZ (the county). Returns 0 and sets *ms, or GL_EINVAL.
 */
int gl_time_parse(const char *text, int64_t *ms);

/* The local calendar date of `ms` as YYYYMMDD (e.g. 20261125), used in incident numbers. */
int gl_local_yyyymmdd(int64_t ms);

/* Sets the process time zone (e.g. "Asia/Shanghai") for local formatting; returns 0. */
int gl_time_set_zone(const char *tz);

#endif
