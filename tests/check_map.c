/*
 * What the consoles draw and search: the gazetteer (dispatcher/places.c: Chinese substring,
 * pinyin initials, ranking) and a unit's road route with its geometry (roads_path in
 * dispatcher/roads.c), on hand-made data with hand-computed answers.
 */
#include "err.h"
#include "graph.h"
#include "places.h"
#include "roads.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add(places_t *p, const char *name, const char *kind, const char *initials,
                int64_t population, double lat, double lon)
{
    place_t pl;
    memset(&pl, 0, sizeof pl);
    snprintf(pl.id, sizeof pl.id, "%s-%s", kind, name);
    snprintf(pl.name, sizeof pl.name, "%s", name);
    snprintf(pl.kind, sizeof pl.kind, "%s", kind);
    snprintf(pl.initials, sizeof pl.initials, "%s", initials);
    pl.population = population;
    pl.lat = lat;
    pl.lon = lon;
    ck_assert_int_eq(places_add(p, &pl), 0);
}

static places_t *county(void)
{
    places_t *p = places_new();
    add(p, "鸿塘村", "village", "htc", 800, 28.21, 117.11);
    add(p, "鸿塘镇", "town", "htz", 21000, 28.20, 117.10);
    add(p, "塘湾村", "hamlet", "twc", -1, 28.22, 117.12);
    add(p, "贵溪市", "city", "gxs", 580000, 28.29, 117.24);
    add(p, "贵溪市人民医院", "hospital", "", -1, 28.30, 117.23);
    add(p, "Longhushan Station", "station", "", -1, 28.15, 117.05);
    return p;
}

START_TEST(test_chinese_substring_ranked)
{
    places_t *p = county();
    const place_t *out[10];
    /* 塘 is in three names: the town first, then the village, then the hamlet */
    ck_assert_uint_eq(places_search(p, "塘", out, 10), 3);
    ck_assert_str_eq(out[0]->name, "鸿塘镇");
    ck_assert_str_eq(out[1]->name, "鸿塘村");
    ck_assert_str_eq(out[2]->name, "塘湾村");
    /* the city before its hospital */
    ck_assert_uint_eq(places_search(p, "贵溪", out, 10), 2);
    ck_assert_str_eq(out[0]->name, "贵溪市");
    ck_assert_str_eq(out[1]->name, "贵溪市人民医院");
    /* the limit holds */
    ck_assert_uint_eq(places_search(p, "塘", out, 1), 1);
    ck_assert_str_eq(out[0]->name, "鸿塘镇");
    ck_assert_uint_eq(places_search(p, "北京", out, 10), 0);
    places_free(p);
}
END_TEST

START_TEST(test_initials_and_latin)
{
    places_t *p = county();
    const place_t *out[10];
    /* "ht" starts both 鸿塘 initials: the town first */
    ck_assert_uint_eq(places_search(p, "ht", out, 10), 2);
    ck_assert_str_eq(out[0]->name, "鸿塘镇");
    ck_assert_str_eq(out[1]->name, "鸿塘村");
    /* exact initials win over kind: htc is the village */
    ck_assert_uint_eq(places_search(p, "htc", out, 10), 1);
    ck_assert_str_eq(out[0]->name, "鸿塘村");
    /* upper case typed is the same */
    ck_assert_uint_eq(places_search(p, "GXS", out, 10), 1);
    ck_assert_str_eq(out[0]->name, "贵溪市");
    /* Latin names: case-insensitive substring */
    ck_assert_uint_eq(places_search(p, "longhu", out, 10), 1);
    ck_assert_str_eq(out[0]->kind, "station");
    /* initials only match from the start */
    ck_assert_uint_eq(places_search(p, "tz", out, 10), 0);
    /* nothing for an empty or an over-long query */
    ck_assert_uint_eq(places_search(p, "", out, 10), 0);
    char longq[80];
    memset(longq, 'a', sizeof longq - 1);
    longq[sizeof longq - 1] = '\0';
    ck_assert_uint_eq(places_search(p, longq, out, 10), 0);
    places_free(p);
}
END_TEST

START_TEST(test_bad_place_refused)
{
    places_t *p = places_new();
    place_t pl;
    memset(&pl, 0, sizeof pl);
    pl.lat = 28.3;
    pl.lon = 117.2;
    ck_assert_int_eq(places_add(p, &pl), GL_EINVAL); /* no name */
    snprintf(pl.name, sizeof pl.name, "x");
    pl.lat = 123;
    ck_assert_int_eq(places_add(p, &pl), GL_EINVAL);
    ck_assert_uint_eq(places_count(p), 0);
    places_free(p);
}
END_TEST

/* ---- roads_path ----------------------------------------------------------------------------
 * A(28.30,117.20) -60s- B(28.30,117.21) -60s- C(28.30,117.22), and a detour A -100s- D(28.31,
 * 117.21) -100s- C; every arc 1000 m long, both directions. */
static const double vlat[] = {28.30, 28.30, 28.30, 28.31};
static const double vlon[] = {117.20, 117.21, 117.22, 117.21};

static roads_t *small_roads(void)
{
    static const int def[4][3] = {{0, 1, 60}, {1, 2, 60}, {0, 3, 100}, {3, 2, 100}};
    graph_edge_t e[8];
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        e[n++] = (graph_edge_t){(uint32_t)def[i][0], (uint32_t)def[i][1],
                                (int64_t)def[i][2] * 1000000, 1000};
        e[n++] = (graph_edge_t){(uint32_t)def[i][1], (uint32_t)def[i][0],
                                (int64_t)def[i][2] * 1000000, 1000};
    }
    graph_t *g;
    ck_assert_int_eq(graph_new(4, vlat, vlon, e, n, NULL, &g), 0);
    roads_t *r;
    ck_assert_int_eq(roads_new(g, &r), 0);
    return r;
}

START_TEST(test_path_vertex_to_vertex)
{
    roads_t *r = small_roads();
    double t, len, *pts;
    size_t n;
    ck_assert_int_eq(roads_path(r, vlat[0], vlon[0], vlat[2], vlon[2], &t, &len, &pts, &n), 0);
    ck_assert(fabs(t - 120) < 1e-6);
    ck_assert(fabs(len - 2000) < 1e-6);
    /* the route passes B, not D: first A, last C, and B on the way */
    ck_assert_uint_ge(n, 3);
    ck_assert(fabs(pts[0] - vlat[0]) < 1e-9 && fabs(pts[1] - vlon[0]) < 1e-9);
    ck_assert(fabs(pts[2 * (n - 1)] - vlat[2]) < 1e-9 && fabs(pts[2 * n - 1] - vlon[2]) < 1e-9);
    int via_b = 0, via_d = 0;
    for (size_t i = 0; i < n; i++) {
        via_b |= fabs(pts[2 * i + 1] - vlon[1]) < 1e-9 && fabs(pts[2 * i] - vlat[1]) < 1e-9;
        via_d |= fabs(pts[2 * i] - vlat[3]) < 1e-9;
    }
    ck_assert(via_b && !via_d);
    free(pts);
    roads_free(r);
}
END_TEST

/* From the middle of A-B: half of A-B (30 s, 500 m) then B-C (60 s, 1000 m); the polyline
 * starts at the snapped point, not at a vertex. */
START_TEST(test_path_from_mid_arc)
{
    roads_t *r = small_roads();
    double t, len, *pts;
    size_t n;
    ck_assert_int_eq(roads_path(r, 28.30, 117.205, vlat[2], vlon[2], &t, &len, &pts, &n), 0);
    ck_assert_msg(fabs(t - 90) < 0.01, "travel %.3f", t);
    ck_assert_msg(fabs(len - 1500) < 1, "length %.3f", len);
    ck_assert(fabs(pts[1] - 117.205) < 1e-6);
    free(pts);
    /* both on the same segment: straight along it */
    ck_assert_int_eq(roads_path(r, 28.30, 117.2025, 28.30, 117.2075, &t, &len, &pts, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_msg(fabs(t - 30) < 0.01, "travel %.3f", t);
    ck_assert_msg(fabs(len - 500) < 1, "length %.3f", len);
    free(pts);
    /* a point 50 km away is off the network */
    ck_assert_int_eq(roads_path(r, 28.80, 117.20, vlat[2], vlon[2], &t, &len, &pts, &n),
                     GL_ENOENT);
    roads_free(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("map");
    TCase *g = tcase_create("gazetteer");
    tcase_add_test(g, test_chinese_substring_ranked);
    tcase_add_test(g, test_initials_and_latin);
    tcase_add_test(g, test_bad_place_refused);
    suite_add_tcase(s, g);
    TCase *rt = tcase_create("route");
    tcase_add_test(rt, test_path_vertex_to_vertex);
    tcase_add_test(rt, test_path_from_mid_arc);
    suite_add_tcase(s, rt);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
