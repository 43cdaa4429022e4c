/*
 * Estimated time of arrival between two points. This is the one function that road-network
 * routing replaces: for now it is the straight-line distance times a detour factor, divided by
 * an average speed, and says so in `method`.
 */
#ifndef GL_ETA_H
#define GL_ETA_H

typedef struct geo_eta_params {
    double detour_factor; /* road distance / straight-line distance, e.g. 1.3 */
    double speed_mps;     /* average ambulance speed on the roads, e.g. 40 km/h = 11.1 m/s */
} geo_eta_params_t;

#define GEO_ETA_METHOD_STRAIGHT_LINE "straight_line"

/*
 * ETA in seconds from (lat1, lon1) to (lat2, lon2), and the straight-line distance in metres.
 * Returns 0, or GL_EINVAL for an invalid point or non-positive parameters (outputs untouched).
 */
int geo_eta_seconds(const geo_eta_params_t *p, double lat1, double lon1, double lat2, double lon2,
                    double *eta_s, double *distance_m);

#endif
