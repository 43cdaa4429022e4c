/*
 * The GPS sanity rules (see gps_check.h).
 */
#include "gps_check.h"

#include "geo.h"

const char *gps_verdict_name(gps_verdict_t v)
{
    switch (v) {
#define XX(name, text)                                                                            \
    case GPS_##name:                                                                              \
        return text;
        GPS_VERDICT_MAP(XX)
#undef XX
    default:
        return "unknown";
    }
}

/* 1 if going from (lat1,lon1,t1) to (lat2,lon2,t2) needs no more than the maximum speed. A
 * displacement within 50 m is always plausible: receivers jitter at a standstill. */
static int plausible(double lat1, double lon1, int64_t t1, double lat2, double lon2, int64_t t2)
{
    double d = geo_distance_m(lat1, lon1, lat2, lon2);
    double dt = (double)(t2 > t1 ? t2 - t1 : t1 - t2) / 1000.0;
    return d <= 50.0 || d <= GPS_MAX_SPEED_MPS * dt;
}

gps_verdict_t gps_check(gps_anchor_t *a, double lat, double lon, int64_t fix_ms, int64_t now_ms)
{
    if (!geo_point_valid(lat, lon) || fix_ms < GPS_MIN_TIME_MS)
        return GPS_OUT_OF_RANGE;
    if (fix_ms > now_ms + GPS_FUTURE_ALLOWANCE_MS)
        return GPS_FUTURE;
    if (a->has_good && fix_ms <= a->at_ms)
        return GPS_LATE;
    if (!a->has_good || plausible(a->lat, a->lon, a->at_ms, lat, lon, fix_ms)) {
        a->has_good = 1;
        a->lat = lat;
        a->lon = lon;
        a->at_ms = fix_ms;
        a->suspects = 0;
        return GPS_OK;
    }
    if (a->suspects > 0 && fix_ms > a->s_at_ms &&
        plausible(a->s_lat, a->s_lon, a->s_at_ms, lat, lon, fix_ms))
        a->suspects++;
    else
        a->suspects = 1;
    a->s_lat = lat;
    a->s_lon = lon;
    a->s_at_ms = fix_ms;
    if (a->suspects >= GPS_REANCHOR_AFTER) {
        a->lat = lat;
        a->lon = lon;
        a->at_ms = fix_ms;
        a->suspects = 0;
        return GPS_OK;
    }
    return GPS_TOO_FAST;
}
