/*
 * Plain geometry on the WGS-84 sphere: distances and coordinate checks. No I/O, no allocation,
 * so every caller (GPS sanity, matching, the simulator) can use it and tests need nothing.
 */
#ifndef GL_GEO_H
#define GL_GEO_H

#define GEO_EARTH_RADIUS_M 6371008.8 /* mean Earth radius (IUGG), what PostGIS' sphere uses */

/* 1 if (lat, lon) are finite, lat in [-90, 90] and lon in [-180, 180]; else 0. */
int geo_point_valid(double lat, double lon);

/* Great-circle (haversine) distance in metres between two points given in degrees. */
double geo_distance_m(double lat1, double lon1, double lat2, double lon2);

/* Initial bearing in degrees [0, 360) from point 1 towards point 2 (0 = north). */
double geo_bearing_deg(double lat1, double lon1, double lat2, double lon2);

/*
 * The point `dist_m` metres from (lat, lon) along the great circle with initial bearing
 * `bearing_deg`; used by the simulator to move units.
 */
void geo_destination(double lat, double lon, double bearing_deg, double dist_m, double *out_lat,
                     double *out_lon);

#endif
