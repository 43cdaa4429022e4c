/*
 * Unit tests of geo/: distances, bearings and destinations against known values and against each
 * other, the straight-line ETA, and the spatial index against brute force on 100,000 random points
 * (a county-sized box and the whole world, poles and antimeridian included), with moves,
 * removals, filters, ties and invalid input in between.
 */
#include "err.h"
#include "eta.h"
#include "geo.h"
#include "geo_index.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a small deterministic random generator (splitmix64) ------------------------------------ */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double rng_unit(void) /* [0, 1) */
{
    return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_range(double lo, double hi)
{
    return lo + (hi - lo) * rng_unit();
}

/* ---- geometry -------------------------------------------------------------------------------- */

START_TEST(test_distance_known)
{
    /* One degree of latitude is R * pi / 180 on the sphere, anywhere along a meridian. */
    double deg = GEO_EARTH_RADIUS_M * M_PI / 180.0;
    ck_assert_double_eq_tol(geo_distance_m(0, 0, 1, 0), deg, 1e-6);
    ck_assert_double_eq_tol(geo_distance_m(45, 100, 46, 100), deg, 1e-6);
    ck_assert_double_eq_tol(deg, 111195.08, 0.01);
    /* A degree of longitude shrinks with latitude: at 60 deg it is about half. */
    ck_assert_double_eq_tol(geo_distance_m(60, 10, 60, 11) / deg, 0.5, 1e-4);
    /* Across the antimeridian the short way round. */
    ck_assert_double_eq_tol(geo_distance_m(0, 179.5, 0, -179.5), deg, 1e-6);
    /* Antipodes and the poles. */
    ck_assert_double_eq_tol(geo_distance_m(0, 0, 0, 180), M_PI * GEO_EARTH_RADIUS_M, 1e-6);
    ck_assert_double_eq_tol(geo_distance_m(90, 0, -90, 0), M_PI * GEO_EARTH_RADIUS_M, 1e-6);
    ck_assert_double_eq_tol(geo_distance_m(90, 0, 90, 123), 0.0, 1e-6);
    /* Real cities (published great-circle distances): London - Paris 343.5 km,
     * Beijing - Shanghai 1067 km. */
    ck_assert_double_eq_tol(geo_distance_m(51.5074, -0.1278, 48.8566, 2.3522), 343.5e3, 0.5e3);
    ck_assert_double_eq_tol(geo_distance_m(39.9042, 116.4074, 31.2304, 121.4737), 1067e3, 2e3);
    /* Symmetric, and zero for a point and itself. */
    ck_assert_double_eq(geo_distance_m(31.2, 121.5, 30.1, 120.2),
                        geo_distance_m(30.1, 120.2, 31.2, 121.5));
    ck_assert_double_eq(geo_distance_m(31.2, 121.5, 31.2, 121.5), 0.0);
}
END_TEST

START_TEST(test_bearing_and_destination)
{
    ck_assert_double_eq_tol(geo_bearing_deg(0, 0, 1, 0), 0.0, 1e-9);
    ck_assert_double_eq_tol(geo_bearing_deg(0, 0, 0, 1), 90.0, 1e-9);
    ck_assert_double_eq_tol(geo_bearing_deg(1, 0, 0, 0), 180.0, 1e-9);
    ck_assert_double_eq_tol(geo_bearing_deg(0, 1, 0, 0), 270.0, 1e-9);
    ck_assert_double_eq_tol(geo_bearing_deg(0, 179.5, 0, -179.5), 90.0, 1e-9);
    double b = geo_bearing_deg(30, 120, 30.0000001, 119.9999999);
    ck_assert(b >= 0.0 && b < 360.0);

    /* Destination then distance and bearing back: a round trip, on random points. */
    rng_state = 7;
    for (int i = 0; i < 2000; i++) {
        double lat = rng_range(-85, 85), lon = rng_range(-180, 180);
        double brg = rng_range(0, 360), dist = rng_range(1, 2e6);
        double lat2, lon2;
        geo_destination(lat, lon, brg, dist, &lat2, &lon2);
        ck_assert(geo_point_valid(lat2, lon2));
        ck_assert(lon2 >= -180.0 && lon2 < 180.0);
        ck_assert_double_eq_tol(geo_distance_m(lat, lon, lat2, lon2), dist, 1e-6 * dist + 1e-6);
        double back = geo_bearing_deg(lat, lon, lat2, lon2);
        double diff = fabs(back - brg);
        if (diff > 180.0)
            diff = 360.0 - diff;
        ck_assert_msg(diff < 1e-6, "bearing %f -> %f", brg, back);
    }
    /* Eastwards over the antimeridian wraps to negative longitudes. */
    double lat2, lon2;
    geo_destination(0, 179.9, 90, 2 * 11119.508, &lat2, &lon2);
    ck_assert_double_eq_tol(lat2, 0.0, 1e-9);
    ck_assert_double_eq_tol(lon2, -179.9, 1e-6);
}
END_TEST

START_TEST(test_point_valid)
{
    ck_assert_int_eq(geo_point_valid(0, 0), 1);
    ck_assert_int_eq(geo_point_valid(90, 180), 1);
    ck_assert_int_eq(geo_point_valid(-90, -180), 1);
    ck_assert_int_eq(geo_point_valid(90.000001, 0), 0);
    ck_assert_int_eq(geo_point_valid(-90.000001, 0), 0);
    ck_assert_int_eq(geo_point_valid(0, 180.000001), 0);
    ck_assert_int_eq(geo_point_valid(0, -180.000001), 0);
    ck_assert_int_eq(geo_point_valid(NAN, 0), 0);
    ck_assert_int_eq(geo_point_valid(0, NAN), 0);
    ck_assert_int_eq(geo_point_valid(INFINITY, 0), 0);
    ck_assert_int_eq(geo_point_valid(0, -INFINITY), 0);
}
END_TEST

START_TEST(test_eta)
{
    geo_eta_params_t p = {1.3, 10.0};
    double eta = -1, dist = -1;
    ck_assert_int_eq(geo_eta_seconds(&p, 0, 0, 1, 0, &eta, &dist), 0);
    ck_assert_double_eq_tol(dist, geo_distance_m(0, 0, 1, 0), 1e-9);
    ck_assert_double_eq_tol(eta, dist * 1.3 / 10.0, 1e-9);
    ck_assert_int_eq(geo_eta_seconds(&p, 30, 120, 30, 120, &eta, &dist), 0);
    ck_assert_double_eq(eta, 0.0);

    eta = dist = -1;
    geo_eta_params_t bad[] = {{0, 10}, {-1, 10}, {1.3, 0}, {1.3, -5}, {NAN, 10}, {1.3, INFINITY}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq(geo_eta_seconds(&bad[i], 0, 0, 1, 0, &eta, &dist), GL_EINVAL);
    ck_assert_int_eq(geo_eta_seconds(&p, 91, 0, 1, 0, &eta, &dist), GL_EINVAL);
    ck_assert_int_eq(geo_eta_seconds(&p, 0, 0, 1, NAN, &eta, &dist), GL_EINVAL);
    ck_assert_int_eq(geo_eta_seconds(NULL, 0, 0, 1, 0, &eta, &dist), GL_EINVAL);
    ck_assert_double_eq(eta, -1); /* outputs untouched on error */
    ck_assert_double_eq(dist, -1);
}
END_TEST

/* ---- the index against brute force ----------------------------------------------------------- */

#define NPTS 100000

struct world {
    double lat[NPTS], lon[NPTS];
    int present[NPTS];
};

static struct world W;

static int filter_odd(uint32_t id, void *ctx)
{
    (void)ctx;
    return id & 1;
}

static int filter_mod(uint32_t id, void *ctx)
{
    uint32_t m = *(const uint32_t *)ctx;
    return id % m == 0;
}

static int hit_less(const geo_hit_t *a, const geo_hit_t *b)
{
    return a->distance_m < b->distance_m || (a->distance_m == b->distance_m && a->id < b->id);
}

/* Brute force: the `k` nearest present points passing `filter`, sorted; returns how many. With
 * radius >= 0 only points within it count, and the return value is their total. */
static size_t brute(double lat, double lon, size_t k, double radius, geo_index_filter filter,
                    void *ctx, geo_hit_t *out)
{
    size_t n = 0, total = 0;
    for (uint32_t id = 0; id < NPTS; id++) {
        if (!W.present[id] || (filter != NULL && !filter(id, ctx)))
            continue;
        geo_hit_t h = {id, geo_distance_m(lat, lon, W.lat[id], W.lon[id])};
        if (radius >= 0 && h.distance_m > radius)
            continue;
        total++;
        if (n == k && !hit_less(&h, &out[k - 1]))
            continue;
        size_t j = n < k ? n++ : k - 1;
        while (j > 0 && hit_less(&h, &out[j - 1])) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = h;
    }
    return radius >= 0 ? total : n;
}

static void check_nearest(const geo_index_t *idx, double lat, double lon, size_t k,
                          geo_index_filter filter, void *ctx)
{
    geo_hit_t got[64], want[64];
    ck_assert(k <= 64);
    size_t n = geo_index_nearest(idx, lat, lon, k, filter, ctx, got);
    size_t m = brute(lat, lon, k, -1, filter, ctx, want);
    ck_assert_msg(n == m, "(%.6f, %.6f) k=%zu: %zu hits, brute force %zu", lat, lon, k, n, m);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(got[i].id == want[i].id && got[i].distance_m == want[i].distance_m,
                      "(%.6f, %.6f) k=%zu #%zu: id %u at %.6f m, brute force id %u at %.6f m", lat,
                      lon, k, i, got[i].id, got[i].distance_m, want[i].id, want[i].distance_m);
    }
}

static void check_within(const geo_index_t *idx, double lat, double lon, double radius, size_t max,
                         geo_index_filter filter, void *ctx)
{
    static geo_hit_t got[NPTS], want[NPTS];
    size_t n = geo_index_within(idx, lat, lon, radius, filter, ctx, got, max);
    size_t m = brute(lat, lon, NPTS, radius, filter, ctx, want);
    ck_assert_msg(n == m, "(%.6f, %.6f) r=%.0f: %zu hits, brute force %zu", lat, lon, radius, n, m);
    size_t w = n < max ? n : max;
    for (size_t i = 0; i < w; i++) {
        ck_assert_msg(got[i].id == want[i].id && got[i].distance_m == want[i].distance_m,
                      "(%.6f, %.6f) r=%.0f #%zu: id %u, brute force id %u", lat, lon, radius, i,
                      got[i].id, want[i].id);
        ck_assert(got[i].distance_m <= radius);
    }
}

static void put(geo_index_t *idx, uint32_t id, double lat, double lon)
{
    ck_assert_int_eq(geo_index_update(idx, id, lat, lon), 0);
    W.lat[id] = lat;
    W.lon[id] = lon;
    W.present[id] = 1;
}

static void take(geo_index_t *idx, uint32_t id)
{
    geo_index_remove(idx, id);
    W.present[id] = 0;
}

static size_t present_count(void)
{
    size_t n = 0;
    for (size_t i = 0; i < NPTS; i++)
        n += (size_t)W.present[i];
    return n;
}

/* A county-sized box: 1 deg x 1 deg (about 111 x 96 km) around 30.5 N 120.5 E. */
#define BOX_LAT0 30.0
#define BOX_LON0 120.0

static void box_point(double *lat, double *lon)
{
    *lat = rng_range(BOX_LAT0, BOX_LAT0 + 1);
    *lon = rng_range(BOX_LON0, BOX_LON0 + 1);
}

static void box_queries(const geo_index_t *idx, int nq)
{
    uint32_t every7 = 7;
    for (int q = 0; q < nq; q++) {
        double lat, lon;
        /* Some queries a little outside the box, where the nearest are on its edge. */
        lat = rng_range(BOX_LAT0 - 0.1, BOX_LAT0 + 1.1);
        lon = rng_range(BOX_LON0 - 0.1, BOX_LON0 + 1.1);
        check_nearest(idx, lat, lon, 1, NULL, NULL);
        check_nearest(idx, lat, lon, 5, NULL, NULL);
        check_nearest(idx, lat, lon, 20, filter_odd, NULL);
        check_nearest(idx, lat, lon, 5, filter_mod, &every7);
        if (q % 4 == 0) {
            check_within(idx, lat, lon, rng_range(100, 3000), 16, NULL, NULL);
            check_within(idx, lat, lon, 1500, 1000, filter_odd, NULL);
        }
    }
}

static void run_box(double cell_deg)
{
    memset(&W, 0, sizeof W);
    rng_state = 42;
    geo_index_t *idx = geo_index_new(cell_deg);
    ck_assert_ptr_nonnull(idx);
    for (uint32_t id = 0; id < NPTS; id++) {
        double lat, lon;
        box_point(&lat, &lon);
        put(idx, id, lat, lon);
    }
    ck_assert_uint_eq(geo_index_count(idx), NPTS);
    box_queries(idx, 60);

    /* A second of traffic: every unit moves up to ~30 m, a tenth jump anywhere, some leave. */
    for (uint32_t id = 0; id < NPTS; id++) {
        if (id % 10 == 3) {
            double lat, lon;
            box_point(&lat, &lon);
            put(idx, id, lat, lon);
        } else if (id % 17 == 5) {
            take(idx, id);
        } else {
            put(idx, id, W.lat[id] + rng_range(-3e-4, 3e-4), W.lon[id] + rng_range(-3e-4, 3e-4));
        }
    }
    ck_assert_uint_eq(geo_index_count(idx), present_count());
    box_queries(idx, 60);

    /* Some come back, some leave for good. */
    for (uint32_t id = 0; id < NPTS; id += 2) {
        if (id % 17 == 5)
            put(idx, id, W.lat[id], W.lon[id]);
        else if (id % 3 == 0)
            take(idx, id);
    }
    ck_assert_uint_eq(geo_index_count(idx), present_count());
    box_queries(idx, 40);
    geo_index_free(idx);
}

START_TEST(test_index_county_box)
{
    run_box(0); /* the default, about 1 km */
}
END_TEST

START_TEST(test_index_county_box_other_cells)
{
    run_box(0.0037); /* does not divide 360: the grid rounds it */
    run_box(0.2);
}
END_TEST

/* Uniform on the sphere, plus crowds near both poles and along the antimeridian. */
static void world_point(double *lat, double *lon)
{
    uint64_t kind = rng_next() % 10;
    if (kind == 0) {
        *lat = rng_range(88.5, 90.0) * (rng_next() & 1 ? 1 : -1);
        *lon = rng_range(-180, 180);
    } else if (kind == 1) {
        *lat = rng_range(-60, 70);
        *lon = rng_next() & 1 ? rng_range(179.0, 180.0) : rng_range(-180.0, -179.0);
    } else {
        *lat = asin(rng_range(-1, 1)) * 180.0 / M_PI;
        *lon = rng_range(-180, 180);
    }
}

static void world_queries(const geo_index_t *idx, int nq)
{
    uint32_t every101 = 101;
    for (int q = 0; q < nq; q++) {
        double lat, lon;
        switch (q % 6) {
        case 0:
            lat = rng_range(89.0, 90.0); /* near the north pole */
            lon = rng_range(-180, 180);
            break;
        case 1:
            lat = q % 12 == 1 ? -90.0 : rng_range(-90.0, -89.5); /* at or near the south pole */
            lon = rng_range(-180, 180);
            break;
        case 2:
            lat = rng_range(-50, 50); /* on the antimeridian */
            lon = q % 12 == 2 ? 180.0 : -180.0;
            break;
        case 3:
            lat = rng_range(-50, 50);
            lon = rng_next() & 1 ? rng_range(179.9, 180.0) : rng_range(-180.0, -179.9);
            break;
        default:
            world_point(&lat, &lon);
        }
        check_nearest(idx, lat, lon, 5, NULL, NULL);
        check_nearest(idx, lat, lon, 12, filter_odd, NULL);
        if (q % 3 == 0)
            check_nearest(idx, lat, lon, 3, filter_mod, &every101);
        if (q % 2 == 0) {
            check_within(idx, lat, lon, rng_range(1e4, 3e5), 32, NULL, NULL);
        }
    }
}

static void run_world(double cell_deg)
{
    memset(&W, 0, sizeof W);
    rng_state = 4242;
    geo_index_t *idx = geo_index_new(cell_deg);
    ck_assert_ptr_nonnull(idx);
    for (uint32_t id = 0; id < NPTS; id++) {
        double lat, lon;
        world_point(&lat, &lon);
        put(idx, id, lat, lon);
    }
    world_queries(idx, 60);
    for (uint32_t id = 0; id < NPTS; id++) {
        if (id % 5 == 1) {
            double lat, lon;
            world_point(&lat, &lon);
            put(idx, id, lat, lon);
        } else if (id % 5 == 2) {
            take(idx, id);
        } else if (id % 5 == 3) {
            /* A step east across whatever is there, the antimeridian and poles included. */
            double lat, lon;
            geo_destination(W.lat[id], W.lon[id], rng_range(0, 360), rng_range(0, 5000), &lat,
                            &lon);
            put(idx, id, lat, lon);
        }
    }
    ck_assert_uint_eq(geo_index_count(idx), present_count());
    world_queries(idx, 60);
    /* Half the world is empty now: the southern hemisphere leaves. */
    for (uint32_t id = 0; id < NPTS; id++)
        if (W.present[id] && W.lat[id] < 0)
            take(idx, id);
    ck_assert_uint_eq(geo_index_count(idx), present_count());
    world_queries(idx, 30);
    geo_index_free(idx);
}

START_TEST(test_index_worldwide)
{
    run_world(0);
}
END_TEST

START_TEST(test_index_worldwide_coarse)
{
    run_world(1.0);
}
END_TEST

START_TEST(test_index_ties_by_id)
{
    geo_index_t *idx = geo_index_new(0);
    ck_assert_ptr_nonnull(idx);
    /* Ten units on the same spot, inserted in scrambled id order. */
    uint32_t ids[] = {90, 12, 55, 3, 71, 40, 8, 99, 23, 61};
    for (size_t i = 0; i < 10; i++)
        ck_assert_int_eq(geo_index_update(idx, ids[i], 30.5, 120.5), 0);
    /* One nearer unit. */
    ck_assert_int_eq(geo_index_update(idx, 500, 30.5001, 120.5), 0);
    geo_hit_t out[6];
    ck_assert_uint_eq(geo_index_nearest(idx, 30.5002, 120.5, 6, NULL, NULL, out), 6);
    uint32_t expect[] = {500, 3, 8, 12, 23, 40};
    for (size_t i = 0; i < 6; i++)
        ck_assert_uint_eq(out[i].id, expect[i]);
    for (size_t i = 2; i < 6; i++)
        ck_assert_double_eq(out[i].distance_m, out[1].distance_m);
    ck_assert(out[0].distance_m < out[1].distance_m);

    /* Within returns the same order, and counts beyond max. */
    geo_hit_t w[3];
    ck_assert_uint_eq(geo_index_within(idx, 30.5002, 120.5, 100, NULL, NULL, w, 3), 11);
    ck_assert_uint_eq(w[0].id, 500);
    ck_assert_uint_eq(w[1].id, 3);
    ck_assert_uint_eq(w[2].id, 8);
    ck_assert_uint_eq(geo_index_within(idx, 30.5002, 120.5, 12, NULL, NULL, w, 3), 1); /* 11.1 m */
    ck_assert_uint_eq(geo_index_within(idx, 30.5002, 120.5, 11, NULL, NULL, w, 3), 0);
    ck_assert_uint_eq(geo_index_within(idx, 30.5002, 120.5, 100, NULL, NULL, NULL, 0), 11);
    geo_index_free(idx);
}
END_TEST

START_TEST(test_index_k_above_count)
{
    geo_index_t *idx = geo_index_new(0);
    ck_assert_ptr_nonnull(idx);
    geo_hit_t out[20];
    ck_assert_uint_eq(geo_index_nearest(idx, 0, 0, 5, NULL, NULL, out), 0); /* empty */
    /* Seven units spread over the globe. */
    double pts[7][2] = {{30.5, 120.5},  {-33.9, 151.2}, {51.5, -0.1}, {89.9, 10},
                        {-89.99, -170}, {0, 180},       {0, -179.99}};
    for (uint32_t i = 0; i < 7; i++)
        ck_assert_int_eq(geo_index_update(idx, i * 3, pts[i][0], pts[i][1]), 0);
    ck_assert_uint_eq(geo_index_count(idx), 7);
    size_t n = geo_index_nearest(idx, 30.6, 120.4, 20, NULL, NULL, out);
    ck_assert_uint_eq(n, 7);
    ck_assert_uint_eq(out[0].id, 0);
    for (size_t i = 1; i < n; i++)
        ck_assert(out[i - 1].distance_m <= out[i].distance_m);
    for (size_t i = 0; i < n; i++)
        ck_assert_double_eq(out[i].distance_m, geo_distance_m(30.6, 120.4, pts[out[i].id / 3][0],
                                                              pts[out[i].id / 3][1]));
    /* A filter that leaves three. */
    uint32_t every9 = 9;
    n = geo_index_nearest(idx, 30.6, 120.4, 20, filter_mod, &every9, out);
    ck_assert_uint_eq(n, 3); /* ids 0, 9, 18 */
    ck_assert_uint_eq(out[0].id, 0);
    ck_assert_uint_eq(geo_index_nearest(idx, 30.6, 120.4, 0, NULL, NULL, out), 0);
    /* The two on the antimeridian are each other's nearest. */
    ck_assert_uint_eq(geo_index_nearest(idx, 0, 179.999, 2, NULL, NULL, out), 2);
    ck_assert_uint_eq(out[0].id, 15);
    ck_assert_uint_eq(out[1].id, 18);
    geo_index_free(idx);
}
END_TEST

START_TEST(test_index_invalid_and_remove)
{
    ck_assert_ptr_null(geo_index_new(-1));
    ck_assert_ptr_null(geo_index_new(NAN));
    ck_assert_ptr_null(geo_index_new(1000));
    geo_index_free(NULL);

    geo_index_t *idx = geo_index_new(0);
    ck_assert_ptr_nonnull(idx);
    ck_assert_int_eq(geo_index_update(idx, 4, 30.5, 120.5), 0);
    double bad[][2] = {{NAN, 0},   {0, NAN},  {91, 0},      {-90.5, 0},
                       {0, 180.5}, {0, -181}, {INFINITY, 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(geo_index_update(idx, 4, bad[i][0], bad[i][1]), GL_EINVAL);
        ck_assert_int_eq(geo_index_update(idx, 7, bad[i][0], bad[i][1]), GL_EINVAL);
    }
    ck_assert_uint_eq(geo_index_count(idx), 1);
    geo_hit_t out[4];
    /* Id 4 did not move. */
    ck_assert_uint_eq(geo_index_nearest(idx, 30.5, 120.5, 4, NULL, NULL, out), 1);
    ck_assert_uint_eq(out[0].id, 4);
    ck_assert_double_eq(out[0].distance_m, 0.0);
    /* Invalid query points and radii find nothing. */
    ck_assert_uint_eq(geo_index_nearest(idx, NAN, 120.5, 4, NULL, NULL, out), 0);
    ck_assert_uint_eq(geo_index_nearest(idx, 30.5, 200, 4, NULL, NULL, out), 0);
    ck_assert_uint_eq(geo_index_within(idx, 30.5, 120.5, -1, NULL, NULL, out, 4), 0);
    ck_assert_uint_eq(geo_index_within(idx, 30.5, 120.5, NAN, NULL, NULL, out, 4), 0);
    ck_assert_uint_eq(geo_index_within(idx, 95, 120.5, 1e3, NULL, NULL, out, 4), 0);

    /* Removing an absent id, twice, or past the table is a no-op. */
    geo_index_remove(idx, 5);
    geo_index_remove(idx, 1000000);
    ck_assert_uint_eq(geo_index_count(idx), 1);
    geo_index_remove(idx, 4);
    geo_index_remove(idx, 4);
    ck_assert_uint_eq(geo_index_count(idx), 0);
    ck_assert_uint_eq(geo_index_nearest(idx, 30.5, 120.5, 4, NULL, NULL, out), 0);
    ck_assert_uint_eq(geo_index_within(idx, 30.5, 120.5, 1e7, NULL, NULL, out, 4), 0);
    /* It can come back. */
    ck_assert_int_eq(geo_index_update(idx, 4, -30.5, -120.5), 0);
    ck_assert_uint_eq(geo_index_nearest(idx, 30.5, 120.5, 4, NULL, NULL, out), 1);
    ck_assert_double_eq(out[0].distance_m, geo_distance_m(30.5, 120.5, -30.5, -120.5));
    /* The whole Earth is within half its circumference. */
    ck_assert_uint_eq(
        geo_index_within(idx, 30.5, 120.5, M_PI * GEO_EARTH_RADIUS_M, NULL, NULL, out, 4), 1);
    geo_index_free(idx);
}
END_TEST

static Suite *geo_suite(void)
{
    Suite *s = suite_create("geo");
    TCase *core = tcase_create("Core");
    tcase_add_test(core, test_distance_known);
    tcase_add_test(core, test_bearing_and_destination);
    tcase_add_test(core, test_point_valid);
    tcase_add_test(core, test_eta);
    tcase_add_test(core, test_index_ties_by_id);
    tcase_add_test(core, test_index_k_above_count);
    suite_add_tcase(s, core);
    TCase *brute = tcase_create("BruteForce");
    tcase_set_timeout(brute, 240);
    tcase_add_test(brute, test_index_county_box);
    tcase_add_test(brute, test_index_county_box_other_cells);
    tcase_add_test(brute, test_index_worldwide);
    tcase_add_test(brute, test_index_worldwide_coarse);
    suite_add_tcase(s, brute);
    TCase *errors = tcase_create("Errors");
    tcase_add_test(errors, test_index_invalid_and_remove);
    suite_add_tcase(s, errors);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(geo_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
