/*
 * Helpers shared by geo.c and geo_index.c (not part of the public API).
 *
 * The index ranks candidates by the haversine term `a` (monotone in distance) and converts to
 * metres only for the hits it returns. geo_distance_m() goes through the very same two steps, with
 * cos(latitude) computed the same way, so a distance reported by the index is bit-for-bit the
 * one geo_distance_m() returns for the same pair: callers (and tests) may compare them exactly.
 */
#ifndef GL_GEO_INTERNAL_H
#define GL_GEO_INTERNAL_H

#include "geo.h"

#include <math.h>

#define GEO__DEG2RAD (M_PI / 180.0)

/* Haversine term a = sin^2(dlat/2) + cos(lat1) cos(lat2) sin^2(dlon/2); angles in radians. */
static inline double geo__hav(double lat1, double lon1, double cos1, double lat2, double lon2,
                              double cos2)
{
    double s_lat = sin((lat2 - lat1) * 0.5);
    double s_lon = sin((lon2 - lon1) * 0.5);
    double a = s_lat * s_lat + cos1 * cos2 * s_lon * s_lon;
    return a > 1.0 ? 1.0 : a;
}

/* Metres on the sphere for a haversine term. */
static inline double geo__hav_to_m(double a)
{
    return 2.0 * GEO_EARTH_RADIUS_M * asin(sqrt(a));
}

/* Haversine term for a central angle (radians, clamped to [0, pi]). */
static inline double geo__angle_to_hav(double angle)
{
    if (angle <= 0.0)
        return 0.0;
    if (angle >= M_PI)
        return 1.0;
    double s = sin(angle * 0.5);
    return s * s;
}

#endif
