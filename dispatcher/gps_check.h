/*
 * GPS sanity: which fixes may move a unit's live position.
 *
 * A fix is refused when its coordinates are impossible, when it is stamped in the future (beyond
 * a small allowance for clock differences), or when reaching it from the last good fix would
 * take more than 250 km/h. A refused fix never replaces the last good one. A fix older than the
 * live one is "late" (a resend from the unit's spool): it belongs in the history, not the live
 * position.
 *
 * One bad first fix must not lock a unit out for ever: when several consecutive refused fixes
 * agree with each other (plausible speeds between them), the unit has really moved (or the old
 * anchor was the bad one) and the newest of them becomes the anchor again.
 */
#ifndef GL_GPS_CHECK_H
#define GL_GPS_CHECK_H

#include <stdint.h>

#define GPS_MAX_SPEED_MPS (250.0 / 3.6)
#define GPS_FUTURE_ALLOWANCE_MS 5000
#define GPS_REANCHOR_AFTER 3
/* No receiver of ours reports a fix before 2000-01-01; a GPS week-rollover bug does (1999). */
#define GPS_MIN_TIME_MS 946684800000LL

/* XX(NAME, text) */
#define GPS_VERDICT_MAP(XX)                                                                       \
    XX(OK, "ok")                                                                                  \
    XX(LATE, "late")                                                                              \
    XX(OUT_OF_RANGE, "out_of_range")                                                              \
    XX(FUTURE, "future")                                                                          \
    XX(TOO_FAST, "too_fast")

typedef enum gps_verdict {
#define XX(name, text) GPS_##name,
    GPS_VERDICT_MAP(XX)
#undef XX
    GPS_VERDICT_COUNT
} gps_verdict_t;

const char *gps_verdict_name(gps_verdict_t v);

typedef struct gps_anchor {
    int has_good;            /* a good fix is known */
    double lat, lon;
    int64_t at_ms;           /* receiver time of the good fix */
    int suspects;            /* consecutive TOO_FAST fixes consistent with each other */
    double s_lat, s_lon;     /* the newest of them */
    int64_t s_at_ms;
} gps_anchor_t;

/*
 * Judges a fix against the unit's anchor at dispatcher time `now_ms`, and updates the anchor
 * when the fix is accepted (OK). LATE fixes are plausible history and leave the anchor alone.
 */
gps_verdict_t gps_check(gps_anchor_t *a, double lat, double lon, int64_t fix_ms, int64_t now_ms);

#endif
