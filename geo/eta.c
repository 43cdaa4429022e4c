/*
 * The straight-line ETA: great-circle distance times a detour factor, divided by an average
 * speed. It is the placeholder for road-network routing and keeps the same signature so that the
 * router can replace it without touching the callers.
 */
#include "eta.h"
#include "err.h"
#include "geo.h"

#include <math.h>
#include <stddef.h>

int geo_eta_seconds(const geo_eta_params_t *p, double lat1, double lon1, double lat2, double lon2,
                    double *eta_s, double *distance_m)
{
    if (p == NULL || !isfinite(p->detour_factor) || !isfinite(p->speed_mps) ||
        p->detour_factor <= 0.0 || p->speed_mps <= 0.0)
        return GL_EINVAL;
    if (!geo_point_valid(lat1, lon1) || !geo_point_valid(lat2, lon2))
        return GL_EINVAL;
    double d = geo_distance_m(lat1, lon1, lat2, lon2);
    if (eta_s != NULL)
        *eta_s = d * p->detour_factor / p->speed_mps;
    if (distance_m != NULL)
        *distance_m = d;
    return 0;
}
