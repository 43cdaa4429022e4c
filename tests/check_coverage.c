/*
 * Unit tests of the coverage model (geo/coverage.h): the population share of demand points
 * reached within their time limit (town / countryside) by the available units, its incremental
 * updates, the what-if of taking a unit out and the move-up advice.
 *
 * "Core" runs always, on a 6-vertex graph whose answers are worked out by hand below: a town
 * point reached at 14:59 (covered) and one at 15:01 (not), a countryside point at 29:00 and one
 * at 30:01, a one-way spur, a point off the map, two units covering the same point, what-if
 * numbers and the best move.
 * "Real" runs on the Haikou road graph of ../shared/data/roads (skipped with a message when
 * absent): after a random sequence of place / move / take out, the incremental model equals a
 * model built afresh and an independent brute force over route_one_to_many(), including every
 * point's best and second-best unit, the what-if of every unit and the best move; then the cost
 * of one status change with 200 units and 1,000 demand points is printed (GL_COVERAGE_CITY
 * chooses another city, e.g. Nanjing, for a Release measurement).
 */
#include "coverage.h"
#include "err.h"
#include "graph.h"
#include "roads_file.h"
#include "route.h"
#include "snap.h"

#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S(x) ((int64_t)(x)*GRAPH_COST_US_PER_S) /* seconds -> cost units */
#define INF GRAPH_COST_INF
#define CITIES GL_SHARED_DATA "/roads/cn-osm-cities-2021"
#define TOWN COVERAGE_AREA_TOWN
#define COUNTRY COVERAGE_AREA_COUNTRYSIDE

/* ---- helpers --------------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint32_t rng_below(uint32_t n)
{
    return (uint32_t)(rng_next() % n);
}

static double rng_unit(void)
{
    return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- the hand-made graph --------------------------------------------------------------------- */

/*
 *   5                                       vertices 0..4 along latitude 20.00 from longitude
 *   ^ 60 (one-way 0->5)                     110.30 every 0.01 degree; 5 at (20.01, 110.30).
 *   0 --899-- 1 --2-- 2 --839-- 3 --61-- 4  two-way roads, costs in seconds.
 *
 * From vertex 0: 1 at 899 s (14:59), 2 at 901 s (15:01), 3 at 1740 s (29:00), 4 at 1801 s
 * (30:01), 5 at 60 s. Nothing leaves 5.
 *
 * Demand points (on the vertices, so their times are the vertex times):
 *   P0 at 1, town, 100     P1 at 2, town, 200     P2 at 3, countryside, 300
 *   P3 at 4, countryside, 400     P4 at 5, town, 10     P5 at (21.5, 111.5), town, 50: off the
 *   map (no road within 2 km), never covered.
 * Totals: 1060; town 360 (P0 P1 P4 P5), countryside 700.
 */
static const double toy_lat[6] = {20.00, 20.00, 20.00, 20.00, 20.00, 20.01};
static const double toy_lon[6] = {110.30, 110.31, 110.32, 110.33, 110.34, 110.30};

static const coverage_demand_t toy_demand[6] = {
    {20.00, 110.31, 100, TOWN},    {20.00, 110.32, 200, TOWN}, {20.00, 110.33, 300, COUNTRY},
    {20.00, 110.34, 400, COUNTRY}, {20.01, 110.30, 10, TOWN},  {21.50, 111.50, 50, TOWN},
};

typedef struct toy {
    graph_t *g;
    snap_t *s;
    coverage_t *c;
} toy_t;

static void toy_open(toy_t *t, const coverage_demand_t *demand, size_t n)
{
    graph_edge_t e[] = {
        {0, 1, S(899), 1046}, {1, 0, S(899), 1046}, {1, 2, S(2), 1046},
        {2, 1, S(2), 1046},   {2, 3, S(839), 1046}, {3, 2, S(839), 1046},
        {3, 4, S(61), 1046},  {4, 3, S(61), 1046},  {0, 5, S(60), 1112},
    };
    ck_assert_int_eq(graph_new(6, toy_lat, toy_lon, e, sizeof(e) / sizeof(e[0]), NULL, &t->g), 0);
    ck_assert_int_eq(snap_new(t->g, 0, &t->s), 0);
    ck_assert_int_eq(coverage_new(t->g, t->s, demand, n, NULL, &t->c), 0);
}

static void toy_close(toy_t *t)
{
    coverage_free(t->c);
    snap_free(t->s);
    graph_free(t->g);
}

static void place(coverage_t *c, uint32_t id, uint32_t vertex)
{
    route_pos_t p = route_pos_vertex(vertex);
    ck_assert_int_eq(coverage_set_unit(c, id, &p), 0);
}

static void expect_point(const coverage_t *c, size_t i, uint32_t n_cov, int64_t best,
                         uint32_t best_unit, int64_t second, uint32_t second_unit)
{
    coverage_point_t p;
    ck_assert_int_eq(coverage_point(c, i, &p), 0);
    ck_assert_uint_eq(p.n_covering, n_cov);
    ck_assert_int_eq(p.covered, n_cov > 0);
    ck_assert_int_eq(p.best_us, best);
    ck_assert_uint_eq(p.best_unit, best_unit);
    ck_assert_int_eq(p.second_us, second);
    ck_assert_uint_eq(p.second_unit, second_unit);
}

START_TEST(test_limits)
{
    toy_t t;
    toy_open(&t, toy_demand, 6);
    coverage_result_t r;
    coverage_get(t.c, &r);
    ck_assert_uint_eq(r.total, 1060);
    ck_assert_uint_eq(r.covered, 0);
    ck_assert_uint_eq(r.area_total[TOWN], 360);
    ck_assert_uint_eq(r.area_total[COUNTRY], 700);
    ck_assert_uint_eq(r.n_points, 6);
    ck_assert_uint_eq(r.n_unsnapped, 1);
    ck_assert_uint_eq(r.n_units, 0);

    /* Unit 0 at vertex 0: P0 at 14:59 (covered), P1 at 15:01 (not, time still tracked), P2 at
     * 29:00 (covered), P3 at 30:01 (beyond every limit: not tracked), P4 at 1:00. */
    place(t.c, 0, 0);
    coverage_get(t.c, &r);
    ck_assert_uint_eq(r.covered, 100 + 300 + 10);
    ck_assert_uint_eq(r.area_covered[TOWN], 110);
    ck_assert_uint_eq(r.area_covered[COUNTRY], 300);
    ck_assert_double_eq_tol(r.share, 410.0 / 1060.0, 1e-12);
    ck_assert_double_eq_tol(r.area_share[TOWN], 110.0 / 360.0, 1e-12);
    ck_assert_uint_eq(r.n_covered, 3);
    ck_assert_uint_eq(r.n_units, 1);
    expect_point(t.c, 0, 1, S(899), 0, INF, GRAPH_NONE);
    expect_point(t.c, 1, 0, S(901), 0, INF, GRAPH_NONE);
    expect_point(t.c, 2, 1, S(1740), 0, INF, GRAPH_NONE);
    expect_point(t.c, 3, 0, INF, GRAPH_NONE, INF, GRAPH_NONE);
    expect_point(t.c, 4, 1, S(60), 0, INF, GRAPH_NONE);
    coverage_point_t p5;
    ck_assert_int_eq(coverage_point(t.c, 5, &p5), 0);
    ck_assert_int_eq(p5.snapped, 0);
    ck_assert_int_eq(p5.covered, 0);
    ck_assert_int_eq(coverage_point(t.c, 6, &p5), GL_EINVAL);

    uint32_t un[8];
    ck_assert_uint_eq(coverage_uncovered(t.c, un, 8), 3);
    ck_assert_uint_eq(un[0], 1);
    ck_assert_uint_eq(un[1], 3);
    ck_assert_uint_eq(un[2], 5);
    ck_assert_uint_eq(coverage_uncovered(t.c, un, 1), 3); /* count beyond max */

    /* A unit half-way along the one-way spur 0->5 reaches P4 (at its end) in 30 s and nothing
     * else: the spur is not driven back to 0. */
    route_pos_t spur = snap_pos_on_arc(t.s, graph_find_arc(t.g, 0, 5), 0.5);
    ck_assert_int_eq(coverage_set_unit(t.c, 1, &spur), 0);
    expect_point(t.c, 4, 2, S(30), 1, S(60), 0);
    expect_point(t.c, 0, 1, S(899), 0, INF, GRAPH_NONE);
    toy_close(&t);
}
END_TEST

START_TEST(test_custom_limits)
{
    /* Limits are configurable: with 15:01 in town, P1 (15:01) is covered, inclusive. */
    toy_t t;
    toy_open(&t, toy_demand, 6);
    coverage_free(t.c);
    coverage_config_t cfg;
    coverage_config_default(&cfg);
    ck_assert_int_eq(cfg.limit_us[TOWN], S(900));
    ck_assert_int_eq(cfg.limit_us[COUNTRY], S(1800));
    cfg.limit_us[TOWN] = S(901);
    ck_assert_int_eq(coverage_new(t.g, t.s, toy_demand, 6, &cfg, &t.c), 0);
    place(t.c, 0, 0);
    coverage_result_t r;
    coverage_get(t.c, &r);
    ck_assert_uint_eq(r.covered, 100 + 200 + 300 + 10);
    toy_close(&t);
}
END_TEST

START_TEST(test_two_units)
{
    toy_t t;
    toy_open(&t, toy_demand, 6);
    /* Unit 0 at vertex 0, unit 7 at vertex 1 (ids need not be contiguous). From 1: P0 0 s,
     * P1 2 s, P2 841 s, P3 902 s, P4 899 + 60 = 959 s (over the town limit). */
    place(t.c, 0, 0);
    place(t.c, 7, 1);
    expect_point(t.c, 0, 2, 0, 7, S(899), 0);
    expect_point(t.c, 1, 1, S(2), 7, S(901), 0);
    expect_point(t.c, 2, 2, S(841), 7, S(1740), 0);
    expect_point(t.c, 3, 1, S(902), 7, INF, GRAPH_NONE);
    expect_point(t.c, 4, 1, S(60), 0, S(959), 7);
    coverage_result_t r;
    coverage_get(t.c, &r);
    ck_assert_uint_eq(r.covered, 1010);
    ck_assert_uint_eq(r.n_units, 2);

    /* What-if: unit 0 alone covers P4 (10); unit 7 alone covers P1 and P3 (600). */
    uint64_t lost;
    double lost_share;
    ck_assert_int_eq(coverage_what_if_remove(t.c, 0, &lost, &lost_share), 0);
    ck_assert_uint_eq(lost, 10);
    ck_assert_double_eq_tol(lost_share, 10.0 / 1060.0, 1e-12);
    ck_assert_int_eq(coverage_what_if_remove(t.c, 7, &lost, NULL), 0);
    ck_assert_uint_eq(lost, 600);
    ck_assert_int_eq(coverage_what_if_remove(t.c, 3, &lost, NULL), GL_ENOENT);
    ck_assert_int_eq(coverage_what_if_remove(t.c, 1000, &lost, NULL), GL_ENOENT);

    /* Taking unit 7 out loses exactly its what-if; P0 stays covered by unit 0. */
    ck_assert_int_eq(coverage_set_unit(t.c, 7, NULL), 0);
    coverage_get(t.c, &r);
    ck_assert_uint_eq(r.covered, 1010 - 600);
    expect_point(t.c, 0, 1, S(899), 0, INF, GRAPH_NONE);
    ck_assert_int_eq(coverage_set_unit(t.c, 7, NULL), 0); /* again: a no-op */
    ck_assert_int_eq(coverage_what_if_remove(t.c, 7, &lost, NULL), GL_ENOENT);

    /* Back in, then unit 0 out: P0 still covered (by 7), only P4 is lost. */
    place(t.c, 7, 1);
    ck_assert_int_eq(coverage_set_unit(t.c, 0, NULL), 0);
    coverage_get(t.c, &r);
    ck_assert_uint_eq(r.covered, 1000);
    expect_point(t.c, 0, 1, 0, 7, INF, GRAPH_NONE);
    /* Both out: P0 is uncovered, nothing is covered. */
    ck_assert_int_eq(coverage_set_unit(t.c, 7, NULL), 0);
    coverage_get(t.c, &r);
    ck_assert_uint_eq(r.covered, 0);
    ck_assert_uint_eq(r.n_units, 0);
    expect_point(t.c, 0, 0, INF, GRAPH_NONE, INF, GRAPH_NONE);

    /* A move replaces the old reach: unit 0 to vertex 2 covers P0 (2 s), P1, P2 (839 s) and
     * P3 (900 s), not P4 (961 s: tracked, over the town limit). */
    place(t.c, 0, 0);
    place(t.c, 0, 2);
    coverage_get(t.c, &r);
    ck_assert_uint_eq(r.covered, 1000);
    ck_assert_uint_eq(r.n_units, 1);
    expect_point(t.c, 4, 0, S(961), 0, INF, GRAPH_NONE);
    expect_point(t.c, 3, 1, S(900), 0, INF, GRAPH_NONE);
    toy_close(&t);
}
END_TEST

START_TEST(test_best_move)
{
    toy_t t;
    toy_open(&t, toy_demand, 6);
    route_pos_t st[3] = {route_pos_vertex(4), route_pos_vertex(2), route_pos_vertex(5)};
    coverage_move_t m;
    ck_assert_int_eq(coverage_best_move(t.c, st, 3, &m), GL_ENOENT); /* no unit */

    /* Unit 0 alone at 0 covers 410. To 4: P1 (900 s, inclusive), P2, P3 = 900, +490. To 2:
     * P0..P3 = 1000, +590. To 5: P4 only, -400. Best: station 1, +590. */
    place(t.c, 0, 0);
    ck_assert_int_eq(coverage_best_move(t.c, st, 3, &m), 0);
    ck_assert_uint_eq(m.unit_id, 0);
    ck_assert_uint_eq(m.station, 1);
    ck_assert_int_eq(m.gain, 590);
    ck_assert_uint_eq(m.covered, 1000);
    ck_assert_double_eq_tol(m.share_after, 1000.0 / 1060.0, 1e-12);
    ck_assert_int_eq(coverage_best_move(t.c, st, 0, &m), GL_ENOENT);

    /* Units 0 at 0 and 3 at 4 cover 1010 (0 alone: P0, P4; 3 alone: P1, P3). Station 2:
     * moving 0 loses P0 and P4 (110) and wins P0 back: -10; moving 3 loses P1 and P3 (600) and
     * wins both back: 0. Best: unit 3, gain 0; applying it gives exactly that. */
    place(t.c, 3, 4);
    coverage_result_t r;
    coverage_get(t.c, &r);
    ck_assert_uint_eq(r.covered, 1010);
    ck_assert_int_eq(coverage_best_move(t.c, &st[1], 1, &m), 0);
    ck_assert_uint_eq(m.unit_id, 3);
    ck_assert_uint_eq(m.station, 0);
    ck_assert_int_eq(m.gain, 0);
    place(t.c, 3, 2);
    coverage_get(t.c, &r);
    ck_assert_uint_eq(r.covered, 1010);
    /* Bad station position. */
    route_pos_t bad = route_pos_vertex(99);
    ck_assert_int_eq(coverage_best_move(t.c, &bad, 1, &m), GL_EINVAL);
    toy_close(&t);
}
END_TEST

START_TEST(test_same_road)
{
    /* One town point half-way along road 0-1 (899 s): 449.5 s from either end. A unit a quarter
     * of the way from 0 reaches it along the road without passing a vertex: 224.75 s. A unit
     * on the one-way spur 0->5 never reaches it. Partial costs round to the microsecond, so the
     * snapped fraction (0.5 up to the projection's last bits) is allowed 1 us. */
    coverage_demand_t d = {20.00, 110.305, 5, TOWN};
    toy_t t;
    toy_open(&t, &d, 1);
    coverage_point_t p;
    place(t.c, 0, 0);
    ck_assert_int_eq(coverage_point(t.c, 0, &p), 0);
    ck_assert_int_le(llabs(p.best_us - 449500000), 1);
    place(t.c, 1, 1);
    ck_assert_int_eq(coverage_point(t.c, 0, &p), 0);
    ck_assert_int_le(llabs(p.best_us - 449500000), 1);
    ck_assert_uint_eq(p.n_covering, 2);

    uint32_t a01 = graph_find_arc(t.g, 0, 1);
    route_pos_t q = snap_pos_on_arc(t.s, a01, 0.25);
    ck_assert_int_eq(coverage_set_unit(t.c, 2, &q), 0);
    ck_assert_int_eq(coverage_point(t.c, 0, &p), 0);
    ck_assert_uint_eq(p.best_unit, 2);
    ck_assert_int_le(llabs(p.best_us - 224750000), 1);
    ck_assert_uint_eq(p.n_covering, 3);

    route_pos_t spur = snap_pos_on_arc(t.s, graph_find_arc(t.g, 0, 5), 0.5);
    ck_assert_int_eq(coverage_set_unit(t.c, 0, NULL), 0);
    ck_assert_int_eq(coverage_set_unit(t.c, 1, NULL), 0);
    ck_assert_int_eq(coverage_set_unit(t.c, 2, &spur), 0);
    ck_assert_int_eq(coverage_point(t.c, 0, &p), 0);
    ck_assert_int_eq(p.best_us, INF);
    ck_assert_int_eq(p.covered, 0);
    toy_close(&t);
}
END_TEST

START_TEST(test_errors)
{
    toy_t t;
    toy_open(&t, toy_demand, 6);
    coverage_t *c = NULL;
    coverage_config_t cfg;
    coverage_config_default(&cfg);
    cfg.limit_us[COUNTRY] = 0;
    ck_assert_int_eq(coverage_new(t.g, t.s, toy_demand, 6, &cfg, &c), GL_EINVAL);
    coverage_demand_t bad = {95, 0, 1, TOWN};
    ck_assert_int_eq(coverage_new(t.g, t.s, &bad, 1, NULL, &c), GL_EINVAL);
    coverage_demand_t bad_area = {20, 110.3, 1, (coverage_area_t)7};
    ck_assert_int_eq(coverage_new(t.g, t.s, &bad_area, 1, NULL, &c), GL_EINVAL);
    ck_assert_int_eq(coverage_new(NULL, t.s, toy_demand, 6, NULL, &c), GL_EINVAL);
    ck_assert_ptr_null(c);

    route_pos_t bad_pos = route_pos_vertex(6);
    ck_assert_int_eq(coverage_set_unit(t.c, 0, &bad_pos), GL_EINVAL);
    route_pos_t ok = route_pos_vertex(0);
    ck_assert_int_eq(coverage_set_unit(t.c, COVERAGE_MAX_UNITS, &ok), GL_EINVAL);
    coverage_result_t r;
    coverage_get(t.c, &r);
    ck_assert_uint_eq(r.n_units, 0);
    ck_assert_str_eq(coverage_area_name(TOWN), "town");
    ck_assert_str_eq(coverage_area_name(COUNTRY), "countryside");
    coverage_free(NULL);

    /* No demand at all: share 0, nothing uncovered. */
    ck_assert_int_eq(coverage_new(t.g, t.s, NULL, 0, NULL, &c), 0);
    ck_assert_int_eq(coverage_set_unit(c, 0, &ok), 0);
    coverage_get(c, &r);
    ck_assert_uint_eq(r.total, 0);
    ck_assert_double_eq(r.share, 0);
    ck_assert_uint_eq(coverage_uncovered(c, NULL, 0), 0);
    coverage_free(c);
    toy_close(&t);
}
END_TEST

/* ---- real graph ------------------------------------------------------------------------------ */

typedef struct city {
    graph_t *g;
    snap_t *s;
    double lat_lo, lat_hi, lon_lo, lon_hi;
} city_t;

static const char *city_name(void)
{
    const char *e = getenv("GL_COVERAGE_CITY");
    return e && *e ? e : "Haikou";
}

static int city_open(city_t *ct)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.road-t.tar.gz", CITIES, city_name());
    if (access(path, R_OK) != 0) {
        printf("check_coverage: SKIPPED real-data test: %s not found\n", path);
        return 0;
    }
    ck_assert_int_eq(roads_load_city(CITIES, city_name(), ROADS_COST_TIME, &ct->g), 0);
    ck_assert_int_eq(snap_new(ct->g, 0, &ct->s), 0);
    return 1;
}

static void city_close(city_t *ct)
{
    snap_free(ct->s);
    graph_free(ct->g);
}

/* Demand points near random vertices (within ~300 m), so nearly all snap. */
static void make_demand(const city_t *ct, coverage_demand_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t v = rng_below(ct->g->n_vertices);
        d[i].lat = ct->g->lat[v] + (rng_unit() - 0.5) * 0.005;
        d[i].lon = ct->g->lon[v] + (rng_unit() - 0.5) * 0.005;
        d[i].population = 1 + rng_below(5000);
        d[i].area = rng_below(3) == 0 ? COUNTRY : TOWN;
    }
}

/* A unit position: half the time on the road of a demand point (the same-segment case), else
 * a random vertex's neighbourhood snapped. */
static route_pos_t random_pos(const city_t *ct, const route_pos_t *dpos, size_t n_dpos)
{
    if (n_dpos && rng_below(2) == 0) {
        const route_pos_t *p = &dpos[rng_below((uint32_t)n_dpos)];
        if (p->arc != GRAPH_NONE)
            return snap_pos_on_arc(ct->s, p->arc, rng_unit());
    }
    for (;;) {
        uint32_t v = rng_below(ct->g->n_vertices);
        snap_hit_t h;
        if (snap_point(ct->s, ct->g->lat[v] + (rng_unit() - 0.5) * 0.004,
                       ct->g->lon[v] + (rng_unit() - 0.5) * 0.004, SNAP_DEFAULT_MAX_M, &h) == 0)
            return h.pos;
    }
}

/*
 * Brute force: every placed unit's times to every snapped point with route_one_to_many, and
 * from them each point's count, best and second (ties by id), and the covered sum; compared
 * with the model point by point.
 */
static void check_brute(const city_t *ct, const coverage_t *c, const coverage_demand_t *d,
                        const int *snapped, const route_pos_t *dpos, size_t n,
                        const coverage_config_t *cfg, const int *placed, const route_pos_t *upos,
                        uint32_t n_units)
{
    route_ws_t *ws = route_ws_new(ct->g);
    ck_assert_ptr_nonnull(ws);
    int64_t bound =
        cfg->limit_us[TOWN] > cfg->limit_us[COUNTRY] ? cfg->limit_us[TOWN] : cfg->limit_us[COUNTRY];
    int64_t *t = malloc((size_t)n_units * n * sizeof(int64_t));
    route_pos_t *tgt = malloc(n * sizeof(route_pos_t));
    ck_assert_ptr_nonnull(t);
    size_t nt = 0;
    for (size_t i = 0; i < n; i++)
        if (snapped[i])
            tgt[nt++] = dpos[i];
    for (uint32_t u = 0; u < n_units; u++)
        if (placed[u])
            ck_assert_int_eq(route_one_to_many(ws, &upos[u], tgt, nt, bound, &t[u * n]), 0);
    uint64_t covered = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        coverage_point_t p;
        ck_assert_int_eq(coverage_point(c, i, &p), 0);
        ck_assert_int_eq(p.snapped, snapped[i]);
        int64_t limit = cfg->limit_us[d[i].area];
        uint32_t nc = 0, b = GRAPH_NONE, s2 = GRAPH_NONE;
        int64_t bt = INF, st = INF;
        if (snapped[i]) {
            for (uint32_t u = 0; u < n_units; u++) {
                if (!placed[u])
                    continue;
                int64_t x = t[u * n + k];
                if (x == INF)
                    continue;
                nc += x <= limit;
                if (x < bt || (x == bt && u < b)) {
                    st = bt, s2 = b;
                    bt = x, b = u;
                } else if (x < st || (x == st && u < s2)) {
                    st = x, s2 = u;
                }
            }
            k++;
        }
        ck_assert_uint_eq(p.n_covering, nc);
        ck_assert_int_eq(p.best_us, bt);
        ck_assert_uint_eq(p.best_unit, b);
        ck_assert_int_eq(p.second_us, st);
        ck_assert_uint_eq(p.second_unit, s2);
        if (nc)
            covered += d[i].population;
    }
    coverage_result_t r;
    coverage_get(c, &r);
    ck_assert_uint_eq(r.covered, covered);
    free(t);
    free(tgt);
    route_ws_free(ws);
}

/* Every field of two models equal. */
static void check_same(const coverage_t *a, const coverage_t *b, size_t n)
{
    coverage_result_t ra, rb;
    coverage_get(a, &ra);
    coverage_get(b, &rb);
    ck_assert_int_eq(memcmp(&ra, &rb, sizeof(ra)), 0);
    for (size_t i = 0; i < n; i++) {
        coverage_point_t pa, pb;
        ck_assert_int_eq(coverage_point(a, i, &pa), 0);
        ck_assert_int_eq(coverage_point(b, i, &pb), 0);
        ck_assert_int_eq(pa.snapped, pb.snapped);
        ck_assert_int_eq(pa.covered, pb.covered);
        ck_assert_int_eq(pa.limit_us, pb.limit_us);
        ck_assert_uint_eq(pa.n_covering, pb.n_covering);
        ck_assert_int_eq(pa.best_us, pb.best_us);
        ck_assert_uint_eq(pa.best_unit, pb.best_unit);
        ck_assert_int_eq(pa.second_us, pb.second_us);
        ck_assert_uint_eq(pa.second_unit, pb.second_unit);
    }
}

START_TEST(test_random_equivalence)
{
    city_t ct;
    if (!city_open(&ct))
        return;
    rng_state = 20261128;
    enum { N = 300, UNITS = 24, OPS = 240, STATIONS = 6 };
    /* Short limits so coverage stays partial and points are shared and lost. */
    coverage_config_t cfg;
    coverage_config_default(&cfg);
    cfg.limit_us[TOWN] = S(150);
    cfg.limit_us[COUNTRY] = S(300);
    coverage_demand_t *d = malloc(N * sizeof(*d));
    route_pos_t dpos[N];
    int snapped[N];
    make_demand(&ct, d, N);
    for (size_t i = 0; i < N; i++) {
        snap_hit_t h;
        snapped[i] = snap_point(ct.s, d[i].lat, d[i].lon, cfg.snap_max_m, &h) == 0;
        dpos[i] = snapped[i] ? h.pos : route_pos_vertex(0);
    }
    coverage_t *c = NULL;
    ck_assert_int_eq(coverage_new(ct.g, ct.s, d, N, &cfg, &c), 0);
    int placed[UNITS] = {0};
    route_pos_t upos[UNITS];
    size_t n_place = 0, n_move = 0, n_remove = 0;
    uint64_t max_covered = 0;
    for (int op = 1; op <= OPS; op++) {
        uint32_t u = rng_below(UNITS);
        if (placed[u] && rng_below(3) == 0) {
            ck_assert_int_eq(coverage_set_unit(c, u, NULL), 0);
            placed[u] = 0;
            n_remove++;
        } else {
            upos[u] = random_pos(&ct, dpos, N);
            ck_assert_int_eq(coverage_set_unit(c, u, &upos[u]), 0);
            if (placed[u])
                n_move++;
            else
                n_place++;
            placed[u] = 1;
        }
        coverage_result_t r;
        coverage_get(c, &r);
        if (r.covered > max_covered)
            max_covered = r.covered;
        if (op % 60 != 0)
            continue;
        /* Full recompute: a fresh model with the same units. */
        coverage_t *f = NULL;
        ck_assert_int_eq(coverage_new(ct.g, ct.s, d, N, &cfg, &f), 0);
        for (uint32_t k = 0; k < UNITS; k++)
            if (placed[k])
                ck_assert_int_eq(coverage_set_unit(f, k, &upos[k]), 0);
        check_same(c, f, N);
        coverage_free(f);
        check_brute(&ct, c, d, snapped, dpos, N, &cfg, placed, upos, UNITS);

        /* What-if of each unit == the loss when it is actually taken out (then put back). */
        for (uint32_t k = 0; k < UNITS; k++) {
            if (!placed[k])
                continue;
            uint64_t lost;
            ck_assert_int_eq(coverage_what_if_remove(c, k, &lost, NULL), 0);
            coverage_result_t before, after;
            coverage_get(c, &before);
            ck_assert_int_eq(coverage_set_unit(c, k, NULL), 0);
            coverage_get(c, &after);
            ck_assert_uint_eq(before.covered - after.covered, lost);
            ck_assert_int_eq(coverage_set_unit(c, k, &upos[k]), 0);
        }
        /* Best move == the best of actually trying every (unit, station). */
        route_pos_t st[STATIONS];
        for (int s = 0; s < STATIONS; s++)
            st[s] = random_pos(&ct, dpos, N);
        coverage_move_t m;
        ck_assert_int_eq(coverage_best_move(c, st, STATIONS, &m), 0);
        coverage_result_t base;
        coverage_get(c, &base);
        int64_t best = INT64_MIN;
        size_t best_s = 0;
        uint32_t best_u = 0;
        for (int s = 0; s < STATIONS; s++) {
            for (uint32_t k = 0; k < UNITS; k++) {
                if (!placed[k])
                    continue;
                coverage_result_t r2;
                ck_assert_int_eq(coverage_set_unit(c, k, &st[s]), 0);
                coverage_get(c, &r2);
                int64_t gain = (int64_t)r2.covered - (int64_t)base.covered;
                if (gain > best)
                    best = gain, best_s = (size_t)s, best_u = k;
                ck_assert_int_eq(coverage_set_unit(c, k, &upos[k]), 0);
            }
        }
        ck_assert_int_eq(m.gain, best);
        ck_assert_uint_eq(m.station, best_s);
        ck_assert_uint_eq(m.unit_id, best_u);
        /* All the trying left the model as it was. */
        check_brute(&ct, c, d, snapped, dpos, N, &cfg, placed, upos, UNITS);
    }
    coverage_result_t r;
    coverage_get(c, &r);
    printf("check_coverage: %s random: %zu places, %zu moves, %zu removals; %u of %d points "
           "snapped; covered now %.3f, at most %" PRIu64 " of %" PRIu64 "\n",
           city_name(), n_place, n_move, n_remove, r.n_points - r.n_unsnapped, N, r.share,
           max_covered, r.total);
    ck_assert_uint_gt(max_covered, 0);       /* the test exercised real coverage ... */
    ck_assert_uint_lt(max_covered, r.total); /* ... and never a trivial full one */
    coverage_free(c);
    free(d);
    city_close(&ct);
}
END_TEST

START_TEST(test_update_timing)
{
    city_t ct;
    if (!city_open(&ct))
        return;
    rng_state = 4;
    enum { N = 1000, UNITS = 200, CHANGES = 100 };
    coverage_demand_t *d = malloc(N * sizeof(*d));
    make_demand(&ct, d, N);
    coverage_t *c = NULL;
    double t0 = now_ms();
    ck_assert_int_eq(coverage_new(ct.g, ct.s, d, N, NULL, &c), 0);
    double t_new = now_ms() - t0;
    route_pos_t upos[UNITS];
    t0 = now_ms();
    for (uint32_t u = 0; u < UNITS; u++) {
        upos[u] = random_pos(&ct, NULL, 0);
        ck_assert_int_eq(coverage_set_unit(c, u, &upos[u]), 0);
    }
    double t_all = now_ms() - t0;
    double out_ms[CHANGES], in_ms[CHANGES], what_ms[CHANGES];
    coverage_result_t r0, r;
    coverage_get(c, &r0);
    for (int i = 0; i < CHANGES; i++) {
        uint32_t u = rng_below(UNITS);
        uint64_t lost;
        t0 = now_ms();
        ck_assert_int_eq(coverage_what_if_remove(c, u, &lost, NULL), 0);
        what_ms[i] = now_ms() - t0;
        coverage_result_t before;
        coverage_get(c, &before);
        t0 = now_ms();
        ck_assert_int_eq(coverage_set_unit(c, u, NULL), 0); /* becomes unavailable */
        out_ms[i] = now_ms() - t0;
        coverage_get(c, &r);
        ck_assert_uint_eq(before.covered - r.covered, lost);
        upos[u] = random_pos(&ct, NULL, 0);
        t0 = now_ms();
        ck_assert_int_eq(coverage_set_unit(c, u, &upos[u]), 0); /* available elsewhere */
        in_ms[i] = now_ms() - t0;
    }
    /* The model after all the changes equals a fresh one. */
    coverage_t *f = NULL;
    ck_assert_int_eq(coverage_new(ct.g, ct.s, d, N, NULL, &f), 0);
    for (uint32_t u = 0; u < UNITS; u++)
        ck_assert_int_eq(coverage_set_unit(f, u, &upos[u]), 0);
    check_same(c, f, N);
    coverage_free(f);
    qsort(out_ms, CHANGES, sizeof(double), cmp_double);
    qsort(in_ms, CHANGES, sizeof(double), cmp_double);
    qsort(what_ms, CHANGES, sizeof(double), cmp_double);
    coverage_get(c, &r);
    printf("check_coverage: %s, %d units, %d demand points (15/30 min): new %.1f ms, all units "
           "placed %.1f ms, share %.3f (town %.3f, countryside %.3f)\n",
           city_name(), UNITS, N, t_new, t_all, r.share, r.area_share[TOWN], r.area_share[COUNTRY]);
    printf("check_coverage: %s one status change, median / p99 / max ms: unavailable %.3f / "
           "%.3f / %.3f, available or moved %.3f / %.3f / %.3f, what-if %.4f / %.4f\n",
           city_name(), out_ms[CHANGES / 2], out_ms[CHANGES * 99 / 100], out_ms[CHANGES - 1],
           in_ms[CHANGES / 2], in_ms[CHANGES * 99 / 100], in_ms[CHANGES - 1], what_ms[CHANGES / 2],
           what_ms[CHANGES * 99 / 100]);
    coverage_free(c);
    free(d);
    city_close(&ct);
}
END_TEST

static Suite *coverage_suite(void)
{
    Suite *s = suite_create("coverage");
    TCase *core = tcase_create("Core");
    tcase_add_test(core, test_limits);
    tcase_add_test(core, test_custom_limits);
    tcase_add_test(core, test_two_units);
    tcase_add_test(core, test_best_move);
    tcase_add_test(core, test_same_road);
    tcase_add_test(core, test_errors);
    tcase_set_timeout(core, 60);
    suite_add_tcase(s, core);
    TCase *real = tcase_create("Real");
    tcase_add_test(real, test_random_equivalence);
    tcase_add_test(real, test_update_timing);
    tcase_set_timeout(real, 600);
    suite_add_tcase(s, real);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(coverage_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
