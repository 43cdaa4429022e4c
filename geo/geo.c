/*
 * Geometry on the sphere of radius GEO_EARTH_RADIUS_M: the haversine distance, the initial
 * bearing and the destination point, and the validity test every position from a GPS or a caller
 * goes through before it is used. The sphere (not the WGS-84 ellipsoid) is what PostGIS'
 * geography uses with use_spheroid = false; the difference is below 0.5 %, far less than the
 * detour between a straight line and the road.
 */
#include "geo.h"
#include "geo_internal.h"

#include <math.h>

int geo_point_valid(double lat, double lon)
{
    return isfinite(lat) && isfinite(lon) && lat >= -90.0 && lat <= 90.0 && lon >= -180.0 &&
           lon <= 180.0;
}

double geo_distance_m(double lat1, double lon1, double lat2, double lon2)
{
    double p1 = lat1 * GEO__DEG2RAD, p2 = lat2 * GEO__DEG2RAD;
    double a = geo__hav(p1, lon1 * GEO__DEG2RAD, cos(p1), p2, lon2 * GEO__DEG2RAD, cos(p2));
    return geo__hav_to_m(a);
}

double geo_bearing_deg(double lat1, double lon1, double lat2, double lon2)
{
    double p1 = lat1 * GEO__DEG2RAD, p2 = lat2 * GEO__DEG2RAD;
    double dl = (lon2 - lon1) * GEO__DEG2RAD;
    double y = sin(dl) * cos(p2);
    double x = cos(p1) * sin(p2) - sin(p1) * cos(p2) * cos(dl);
    double b = atan2(y, x) / GEO__DEG2RAD;
    b = fmod(b + 360.0, 360.0);
    return b >= 360.0 ? 0.0 : b; /* -1e-17 + 360 rounds to 360 */
}

void geo_destination(double lat, double lon, double bearing_deg, double dist_m, double *out_lat,
                     double *out_lon)
{
    double p1 = lat * GEO__DEG2RAD, l1 = lon * GEO__DEG2RAD;
    double th = bearing_deg * GEO__DEG2RAD;
    double d = dist_m / GEO_EARTH_RADIUS_M;
    double s = sin(p1) * cos(d) + cos(p1) * sin(d) * cos(th);
    if (s > 1.0)
        s = 1.0;
    if (s < -1.0)
        s = -1.0;
    double p2 = asin(s);
    double l2 = l1 + atan2(sin(th) * sin(d) * cos(p1), cos(d) - sin(p1) * s);
    double lon2 = fmod(l2 / GEO__DEG2RAD + 540.0, 360.0) - 180.0; /* into [-180, 180) */
    if (lon2 < -180.0)
        lon2 = -180.0;
    *out_lat = p2 / GEO__DEG2RAD;
    *out_lon = lon2;
}
