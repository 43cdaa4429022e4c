/*
 * bench-needs: postgis
 *
 * The road routing benchmark (issue 4): our routing (geo/route.h Dijkstra, geo/ch.h contraction
 * hierarchy) against pgRouting 3.4 on the same graph, in one run, side by side.
 *
 * For each city (default Nanjing, then Xian, Haikou and New York for the growth curve):
 *   - load: the files through roads_load_city()/roads_load_dimacs(), and the production path:
 *     the same arcs and vertices read back from PostgreSQL with COPY TO STDOUT over libpq into
 *     graph_new(); then the CH build and the snapping grid. "ready" = PostgreSQL load + CH +
 *     snap, which is what a dispatcher pays at start (graph_load_s);
 *   - one-to-one: pgr_dijkstra(edges, s, t) via libpq (the round trip included, as in
 *     bench/knn.c) vs our Dijkstra and our CH one-to-one;
 *   - 200-to-1, the recommendation: one pgr_dijkstra call with an array of 200 source vertices to
 *     the incident (and the same with pgr_dijkstraCost, which returns only costs) vs ch_eta_to()
 *     over 200 placed units plus the ranking (sort by ETA), and vs one reverse Dijkstra. Units
 *     keep moving between our recommendations (each step moves 20 of them one arc on with
 *     ch_unit_set, timed separately);
 *   - one-to-one against Routino (headline city; routino.h: the same graph written out as OSM
 *     XML, a routino-router process per query on the same coordinate pairs as ours, snap + CH;
 *     both Routino's process wall time and its own --logtime time; its routes re-costed on our
 *     graph, never cheaper than our optimum);
 *   - coverage updates (cities with travel times): a unit going unavailable, available again or
 *     moving, with geo/coverage.h and the CH kept up to date as the dispatcher does, against a
 *     full recomputation (and checked equal to it);
 *   - isochrones of 15 and 30 min from one vertex: pgr_drivingDistance vs route_isochrone().
 * Every pgRouting answer is checked against ours: costs within 1e-6 relative, isochrones the same
 * vertex set (a vertex within 1e-6 relative of the limit counts as a tie). A mismatch is printed
 * and makes the program exit 1.
 *
 * The pgRouting edge table is one row per arc (the files list each direction of a road as its own
 * arc) with reverse_cost -1 and directed => true; costs are our integer microseconds written as
 * exact decimal seconds into float8 (DIMACS New York: its abstract integer cost / 1e6, so it has
 * no isochrones here). Vertex and edge ids in PostgreSQL are ours + 1.
 *
 * Database: GOLDLINE_ROUTE_PG_URL if set; otherwise its own database goldline_route, created with
 * `GOLDLINE_PG_DB=goldline_route $GOLDLINE_ROOT/deploy/pg.sh start` and dropped at the end
 * (bench/run sets GOLDLINE_ROOT; no other database is touched).
 *
 * Usage (normally `bench/run route [CITY...]`): bench_route [CITY...], CITY in Nanjing, Xian,
 * Haikou, NY. ROUTE_BENCH_DATA overrides the data directory (default
 * $GOLDLINE_ROOT/../shared/data/roads). Ends with the headline lines `recommend_p99_ms`,
 * `speedup_vs_pgrouting`, `graph_load_s`, `speedup_vs_routino` (when Routino is installed),
 * `coverage_update_ms` and `closure_apply_ms` (route_closure.c), for Nanjing (or the first city
 * given).
 */
#include "ch.h"
#include "coverage.h"
#include "graph.h"
#include "roads_file.h"
#include "route.h"
#include "route_closure.h"
#include "routino.h"
#include "snap.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REL_TOL 1e-6
#define UNITS 200
#define MOVES_PER_STEP 20
#define OUR_O2O_DIJ 200
#define OUR_O2O_CH 2000
#define OUR_RECOMMEND 2000
#define OUR_ISO 50
#define EDGES "route_bench_edges"
#define VERTS "route_bench_vertices"
#define EDGES_SQL "SELECT id, source, target, cost, reverse_cost FROM " EDGES
#define DB "goldline_route"
#define ROUTINO_QUERIES 100  /* one-to-one coordinate pairs given to Routino and to us */
#define ROUTINO_REPS 3       /* timed Routino processes per pair */
#define OUR_ROUTINO_REPS 20  /* our timed runs per pair */
#define COV_PLACES 2000      /* demand points (graph vertices as villages and towns) */
#define COV_UPDATES 600      /* timed unit status changes and moves */
#define COV_MOVE_M 200.0     /* a move: what makes the dispatcher re-count a unit (roads.h) */

static uint64_t rng_state = 20261128;
static int mismatches;

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

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median and p99 (nearest rank) of n samples; sorts them. */
struct stat2 {
    double med, p99;
    size_t n;
};

static struct stat2 stats_of(double *v, size_t n)
{
    struct stat2 s = {NAN, NAN, n};
    if (n == 0)
        return s;
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)ceil(0.99 * (double)n);
    s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    s.p99 = v[i == 0 ? 0 : i - 1];
    return s;
}

static int rel_ok(int64_t ours, double pg_s)
{
    double a = (double)ours / 1e6, m = fmax(a, pg_s);
    return m == 0.0 || fabs(a - pg_s) / m <= REL_TOL;
}

static int pg_exec(PGconn *pg, const char *sql)
{
    PGresult *res = PQexec(pg, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "bench_route: %s: %s", sql, PQerrorMessage(pg));
    PQclear(res);
    return ok ? 0 : -1;
}

/* Runs a query expected to return rows; NULL (error printed) otherwise. */
static PGresult *pg_rows(PGconn *pg, const char *sql, int n, const char *const *params)
{
    PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        return res;
    fprintf(stderr, "bench_route: %s: %s", sql, PQerrorMessage(pg));
    PQclear(res);
    return NULL;
}

static int copy_in(PGconn *pg, const char *sql, const char *buf, size_t len)
{
    PGresult *res = PQexec(pg, sql);
    int ok = PQresultStatus(res) == PGRES_COPY_IN;
    PQclear(res);
    if (!ok || PQputCopyData(pg, buf, (int)len) != 1 || PQputCopyEnd(pg, NULL) != 1) {
        fprintf(stderr, "bench_route: %s: %s", sql, PQerrorMessage(pg));
        return -1;
    }
    res = PQgetResult(pg);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "bench_route: %s: %s", sql, PQerrorMessage(pg));
    PQclear(res);
    while ((res = PQgetResult(pg)) != NULL)
        PQclear(res);
    return ok ? 0 : -1;
}

/* Writes the graph into EDGES and VERTS (fresh UNLOGGED tables). */
static int pg_store(PGconn *pg, const graph_t *g)
{
    if (pg_exec(pg, "SET client_min_messages = warning") < 0 ||
        pg_exec(pg, "DROP TABLE IF EXISTS " EDGES ", " VERTS) < 0 ||
        pg_exec(pg, "CREATE UNLOGGED TABLE " EDGES " (id bigint PRIMARY KEY, source bigint NOT NULL,"
                    " target bigint NOT NULL, cost float8 NOT NULL, reverse_cost float8 NOT NULL,"
                    " length_m float8 NOT NULL)") < 0 ||
        pg_exec(pg, "CREATE UNLOGGED TABLE " VERTS " (id bigint PRIMARY KEY, lat float8, lon float8)") < 0)
        return -1;
    size_t cap = (size_t)g->n_arcs * 96 + 64, len = 0;
    char *buf = malloc(cap);
    if (buf == NULL)
        return -1;
    for (uint32_t a = 0; a < g->n_arcs; a++) {
        int64_t c = g->arc_cost[a];
        len += (size_t)snprintf(buf + len, cap - len,
                                "%" PRIu32 "\t%" PRIu32 "\t%" PRIu32 "\t%" PRId64 ".%06" PRId64 "\t-1\t%.6f\n",
                                a + 1, g->arc_tail[a] + 1, g->arc_head[a] + 1, c / 1000000, c % 1000000,
                                g->arc_length_m[a]);
    }
    int rc = copy_in(pg, "COPY " EDGES " FROM STDIN", buf, len);
    len = 0;
    for (uint32_t v = 0; rc == 0 && v < g->n_vertices; v++) {
        if (g->lat != NULL)
            len += (size_t)snprintf(buf + len, cap - len, "%" PRIu32 "\t%.7f\t%.7f\n", v + 1, g->lat[v],
                                    g->lon[v]);
        else
            len += (size_t)snprintf(buf + len, cap - len, "%" PRIu32 "\t\\N\t\\N\n", v + 1);
    }
    if (rc == 0)
        rc = copy_in(pg, "COPY " VERTS " FROM STDIN", buf, len);
    free(buf);
    return rc == 0 ? pg_exec(pg, "ANALYZE " EDGES) : -1;
}

/* Reads all rows of a COPY ... TO STDOUT, calling line() on each. */
static int copy_out(PGconn *pg, const char *sql, void (*line)(const char *, void *), void *arg)
{
    PGresult *res = PQexec(pg, sql);
    int ok = PQresultStatus(res) == PGRES_COPY_OUT;
    PQclear(res);
    if (!ok) {
        fprintf(stderr, "bench_route: %s: %s", sql, PQerrorMessage(pg));
        return -1;
    }
    char *row;
    int n;
    while ((n = PQgetCopyData(pg, &row, 0)) > 0) {
        line(row, arg);
        PQfreemem(row);
    }
    res = PQgetResult(pg);
    ok = n == -1 && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok ? 0 : -1;
}

struct load_state {
    graph_edge_t *edges;
    size_t n_edges;
    double *lat, *lon;
    uint32_t n_vertices;
    int bad;
};

static void edge_line(const char *s, void *arg)
{
    struct load_state *st = arg;
    char *end;
    uint32_t from = (uint32_t)strtoul(s, &end, 10) - 1;
    uint32_t to = (uint32_t)strtoul(end, &end, 10) - 1;
    double cost_s = strtod(end, &end);
    double len = strtod(end, &end);
    if (st->n_edges >= 1u << 31) {
        st->bad = 1;
        return;
    }
    st->edges[st->n_edges++] = (graph_edge_t){from, to, llround(cost_s * 1e6), len};
}

static void vertex_line(const char *s, void *arg)
{
    struct load_state *st = arg;
    char *end;
    uint32_t v = (uint32_t)strtoul(s, &end, 10) - 1;
    if (v >= st->n_vertices) {
        st->bad = 1;
        return;
    }
    st->lat[v] = strtod(end, &end);
    st->lon[v] = strtod(end, &end);
}

/* The production path: the graph read back from PostgreSQL (costs llround(s * 1e6)). */
static int pg_load_graph(PGconn *pg, uint32_t n_vertices, uint32_t n_arcs, int coords, graph_t **out)
{
    struct load_state st = {malloc((size_t)n_arcs * sizeof(graph_edge_t)), 0,
                            coords ? malloc(n_vertices * sizeof(double)) : NULL,
                            coords ? malloc(n_vertices * sizeof(double)) : NULL, n_vertices, 0};
    int rc = -1;
    if (st.edges == NULL || (coords && (st.lat == NULL || st.lon == NULL)))
        goto done;
    if (copy_out(pg, "COPY (SELECT source, target, cost, length_m FROM " EDGES ") TO STDOUT", edge_line,
                 &st) < 0 ||
        (coords && copy_out(pg, "COPY (SELECT id, lat, lon FROM " VERTS ") TO STDOUT", vertex_line, &st) < 0) ||
        st.bad || st.n_edges != n_arcs)
        goto done;
    rc = graph_new(n_vertices, st.lat, st.lon, st.edges, st.n_edges, NULL, out);
done:
    free(st.edges);
    free(st.lat);
    free(st.lon);
    return rc;
}

struct city {
    const char *name;
    graph_t *g;
    double file_load_ms, pg_load_ms, ch_ms, snap_ms, copy_ms;
    int time_costs; /* costs are microseconds (isochrones in minutes make sense) */
};

static void row(const char *op, struct stat2 pg, struct stat2 ours, const char *ours_name)
{
    if (isnan(pg.med))
        printf("  %-30s %-10s %10s %10s %10.3f %10.3f %9s  (%zu runs)\n", op, ours_name, "", "", ours.med,
               ours.p99, "", ours.n);
    else
        printf("  %-30s %-10s %10.2f %10.2f %10.3f %10.3f %9.0fx  (pgr %zu, ours %zu runs)\n", op, ours_name,
               pg.med, pg.p99, ours.med, ours.p99, pg.med / ours.med, pg.n, ours.n);
}

struct headline {
    double recommend_p99_ms, speedup, ready_s;
    int set;
    double routino_speedup; /* Routino's own time per query, median / ours, median */
    int routino_set;
    double coverage_p99_ms; /* unit status change or move, coverage and CH kept up to date */
    int coverage_set;
    double closure_p99_ms; /* a closure until the 200-unit recommendation honours it */
    int closure_set;
};

/* A row against a reference other than pgRouting (Routino, a recomputation). */
static void row_ref(const char *op, const char *ours_name, struct stat2 ref, struct stat2 ours)
{
    printf("  %-30s %-10s %10.3f %10.3f %10.3f %10.3f %9.0fx  (ref %zu, ours %zu runs)\n", op, ours_name, ref.med,
           ref.p99, ours.med, ours.p99, ref.med / ours.med, ref.n, ours.n);
}

static const graph_t *coord_graph; /* for cmp_coord */

static int cmp_coord(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    const graph_t *g = coord_graph;
    if (g->lat[x] != g->lat[y])
        return g->lat[x] < g->lat[y] ? -1 : 1;
    if (g->lon[x] != g->lon[y])
        return g->lon[x] < g->lon[y] ? -1 : 1;
    return 0;
}

/* unique[v] = 1 when no other vertex lies within 1e-5 degrees of v in latitude with the same
 * longitude to 1e-5 (Routino's nearest node is then v itself). NULL when out of memory. */
static uint8_t *unique_vertices(const graph_t *g)
{
    uint32_t n = g->n_vertices, *idx = malloc(n * sizeof *idx);
    uint8_t *u = malloc(n);
    if (idx == NULL || u == NULL) {
        free(idx);
        free(u);
        return NULL;
    }
    for (uint32_t v = 0; v < n; v++) {
        idx[v] = v;
        u[v] = 1;
    }
    coord_graph = g;
    qsort(idx, n, sizeof *idx, cmp_coord);
    /* Sorted by latitude: any neighbour within 1e-5 in both lies in a window of the order. */
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = i + 1; j < n && g->lat[idx[j]] - g->lat[idx[i]] <= 1e-5; j++)
            if (fabs(g->lon[idx[j]] - g->lon[idx[i]]) <= 1e-5)
                u[idx[i]] = u[idx[j]] = 0;
    free(idx);
    return u;
}

/*
 * One-to-one against Routino on the same graph (written out as OSM XML, see routino.h), the
 * same ROUTINO_QUERIES coordinate pairs (vertices' coordinates) for both: Routino's router, a
 * process per query, vs our snap of both points plus the CH one-to-one. Routino's route is
 * re-costed on our graph: it can never be cheaper than our optimum (that would be a mismatch).
 */
static int run_routino(struct city *c, ch_t *ch, const snap_t *snap, struct headline *h)
{
    const graph_t *g = c->g;
    uint32_t n = g->n_vertices;
    if (g->lat == NULL)
        return 0;
    if (!routino_available()) {
        printf("  Routino: skipped (routino-router / planetsplitter not installed: Debian package routino,"
               " in deploy/setup.sh)\n");
        return 0;
    }
    char dir[] = "/tmp/goldline-routino-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("bench_route: mkdtemp");
        return -1;
    }
    double xml_ms = 0, split_ms = 0;
    int rc = -1;
    uint8_t *uniq = NULL;
    uint32_t qs[ROUTINO_QUERIES], qt[ROUTINO_QUERIES];
    double *wall = malloc(ROUTINO_QUERIES * ROUTINO_REPS * sizeof *wall);
    double *own = malloc(ROUTINO_QUERIES * ROUTINO_REPS * sizeof *own);
    double *ours = malloc(ROUTINO_QUERIES * OUR_ROUTINO_REPS * sizeof *ours);
    double excess[ROUTINO_QUERIES];
    int64_t best[ROUTINO_QUERIES];
    if (wall == NULL || own == NULL || ours == NULL)
        goto done;
    if (routino_prepare(g, dir, &xml_ms, &split_ms) < 0)
        goto done;
    printf("  Routino database: OSM XML written in %.0f ms, planetsplitter --prune-none %.1f s\n", xml_ms,
           split_ms / 1e3);
    uniq = unique_vertices(g);
    if (uniq == NULL)
        goto done;
    for (int q = 0; q < ROUTINO_QUERIES; q++) {
        do {
            qs[q] = rng_below(n);
            qt[q] = rng_below(n);
        } while (!uniq[qs[q]] || !uniq[qt[q]] || qs[q] == qt[q]);
        route_pos_t ps = route_pos_vertex(qs[q]), pd = route_pos_vertex(qt[q]);
        if (ch_one_to_one(ch, &ps, &pd, GRAPH_COST_INF, &best[q]) != 0)
            best[q] = GRAPH_COST_INF;
    }

    /* The route check: one run per pair with the route's points. */
    int optimal = 0, unmapped = 0, unrouted = 0, checked = 0;
    for (int q = 0; q < ROUTINO_QUERIES; q++) {
        routino_run_t r;
        if (routino_route(dir, g->lat[qs[q]], g->lon[qs[q]], g->lat[qt[q]], g->lon[qt[q]], 1, &r) < 0)
            goto done;
        uint32_t end = GRAPH_NONE;
        int64_t cost = r.routed ? routino_recost(g, qs[q], r.lat, r.lon, r.n_points, &end) : -1;
        routino_run_free(&r);
        if (!r.routed) {
            unrouted++;
            continue;
        }
        if (cost < 0 || end != qt[q]) {
            unmapped++;
            continue;
        }
        if (cost < best[q]) {
            printf("  MISMATCH Routino's route %" PRIu32 " -> %" PRIu32 " re-costed %" PRId64
                   " us beats our optimum %" PRId64 " us\n",
                   qs[q], qt[q], cost, best[q]);
            mismatches++;
        }
        optimal += cost == best[q];
        excess[checked++] = best[q] > 0 ? (double)(cost - best[q]) / (double)best[q] : 0.0;
    }

    /* Timed Routino runs (no output file), then ours on the same pairs. */
    size_t nw = 0;
    for (int rep = 0; rep < ROUTINO_REPS; rep++)
        for (int q = 0; q < ROUTINO_QUERIES; q++) {
            routino_run_t r;
            if (routino_route(dir, g->lat[qs[q]], g->lon[qs[q]], g->lat[qt[q]], g->lon[qt[q]], 0, &r) < 0)
                goto done;
            wall[nw] = r.wall_ms;
            own[nw++] = r.own_ms;
        }
    size_t no = 0;
    int snap_diff = 0;
    for (int rep = 0; rep < OUR_ROUTINO_REPS; rep++)
        for (int q = 0; q < ROUTINO_QUERIES; q++) {
            snap_hit_t a, b;
            int64_t x = GRAPH_COST_INF;
            double t0 = now_ms();
            if (snap_point(snap, g->lat[qs[q]], g->lon[qs[q]], SNAP_DEFAULT_MAX_M, &a) == 0 &&
                snap_point(snap, g->lat[qt[q]], g->lon[qt[q]], SNAP_DEFAULT_MAX_M, &b) == 0)
                ch_one_to_one(ch, &a.pos, &b.pos, GRAPH_COST_INF, &x);
            ours[no++] = now_ms() - t0;
            snap_diff += rep == 0 && x != best[q];
        }
    if (snap_diff) {
        printf("  MISMATCH %d coordinate pairs: snapped CH cost differs from the vertex-to-vertex cost\n",
               snap_diff);
        mismatches++;
    }
    int own_ok = 1;
    for (size_t i = 0; i < nw; i++)
        own_ok &= !isnan(own[i]);
    struct stat2 so = stats_of(ours, no), sw = stats_of(wall, nw);
    struct stat2 ex = stats_of(excess, (size_t)checked);
    printf("  %-30s %-10s %10s %10s %10s %10s %10s\n", "one-to-one vs Routino, ms", "ours", "Rtn med", "Rtn p99",
           "ours med", "ours p99", "ratio");
    row_ref("Routino process (wall)", "snap+CH", sw, so);
    if (own_ok) {
        struct stat2 sr = stats_of(own, nw);
        row_ref("Routino own time (--logtime)", "snap+CH", sr, so);
        if (h != NULL && !h->routino_set) {
            h->routino_speedup = sr.med / so.med;
            h->routino_set = 1;
        }
    } else {
        printf("  Routino own time: not printed by this routino-router (no --logtime line)\n");
    }
    printf("  Routino's routes re-costed on our graph (%d pairs): %d exactly optimal, excess median %.4f %%,"
           " max %.4f %%; %d not mapped onto our arcs, %d not routed\n",
           checked, optimal, checked ? ex.med * 100 : 0.0, checked ? excess[checked - 1] * 100 : 0.0, unmapped,
           unrouted);
    rc = 0;
done:
    free(uniq);
    free(wall);
    free(own);
    free(ours);
    routino_cleanup(dir);
    return rc;
}

/* A demand point near vertex v: up to ~150 m off the road, as places are. */
static coverage_demand_t demand_near(const graph_t *g, uint32_t v)
{
    coverage_demand_t d;
    int town = rng_below(10) == 0;
    d.lat = g->lat[v] + ((double)rng_below(2001) - 1000.0) * 1.35e-6;
    d.lon = g->lon[v] + ((double)rng_below(2001) - 1000.0) * 1.35e-6;
    d.population = town ? 5000 + rng_below(75001) : 100 + rng_below(2901);
    d.area = town ? COVERAGE_AREA_TOWN : COVERAGE_AREA_COUNTRYSIDE;
    return d;
}

/*
 * coverage_update_ms: COV_PLACES demand points (vertices sampled as villages and towns, about
 * 150 m off the road, populations 100-3,000 and 5,000-80,000), the 200 units of the
 * recommendation, and COV_UPDATES unit updates timed as the dispatcher does them
 * (dispatcher/roads.c roads_unit_update): a unit going unavailable (ch_unit_remove +
 * coverage_set_unit NULL), coming back (snap + ch_unit_set + coverage_set_unit), or moving at
 * least COV_MOVE_M (the same three). The state after them is compared with a fresh computation.
 */
static int run_coverage(struct city *c, ch_t *ch, const snap_t *snap, const uint32_t *unit_v0,
                        struct headline *h)
{
    const graph_t *g = c->g;
    uint32_t n = g->n_vertices, unit_v[UNITS];
    route_pos_t pos[UNITS];
    int avail[UNITS];
    coverage_demand_t *dem = malloc(COV_PLACES * sizeof *dem);
    double *t_off = malloc(COV_UPDATES * sizeof(double)), *t_on = malloc(COV_UPDATES * sizeof(double));
    double *t_mv = malloc(COV_UPDATES * sizeof(double)), *t_all = malloc(COV_UPDATES * sizeof(double));
    coverage_t *cov = NULL, *fresh = NULL;
    int rc = -1;
    if (dem == NULL || t_off == NULL || t_on == NULL || t_mv == NULL || t_all == NULL)
        goto done;
    for (int i = 0; i < COV_PLACES; i++)
        dem[i] = demand_near(g, rng_below(n));
    double t0 = now_ms();
    if (coverage_new(g, snap, dem, COV_PLACES, NULL, &cov) != 0)
        goto done;
    double build_ms = now_ms() - t0;
    t0 = now_ms();
    for (uint32_t u = 0; u < UNITS; u++) {
        snap_hit_t hit;
        unit_v[u] = unit_v0[u];
        avail[u] = snap_point(snap, g->lat[unit_v[u]], g->lon[unit_v[u]], 500.0, &hit) == 0;
        pos[u] = hit.pos;
        if (avail[u] && (ch_unit_set(ch, u, &pos[u]) != 0 || coverage_set_unit(cov, u, &pos[u]) != 0))
            goto done;
    }
    double place_ms = now_ms() - t0;
    coverage_result_t r0;
    coverage_get(cov, &r0);

    size_t noff = 0, non = 0, nmv = 0, nall = 0;
    for (int i = 0; i < COV_UPDATES; i++) {
        uint32_t u = rng_below(UNITS);
        int kind = !avail[u] ? 1 : rng_below(2) ? 0 : 2; /* 0 off, 1 on, 2 move */
        if (kind == 2) {
            double walked = 0;
            for (int k = 0; k < 1000 && walked < COV_MOVE_M; k++) {
                uint32_t v = unit_v[u], deg = g->out_first[v + 1] - g->out_first[v];
                if (deg == 0)
                    break;
                uint32_t a = g->out_first[v] + rng_below(deg);
                walked += g->arc_length_m[a];
                unit_v[u] = g->arc_head[a];
            }
        }
        t0 = now_ms();
        if (kind == 0) {
            ch_unit_remove(ch, u);
            coverage_set_unit(cov, u, NULL);
            avail[u] = 0;
        } else {
            snap_hit_t hit;
            if (snap_point(snap, g->lat[unit_v[u]], g->lon[unit_v[u]], 500.0, &hit) == 0 &&
                ch_unit_set(ch, u, &hit.pos) == 0 && coverage_set_unit(cov, u, &hit.pos) == 0) {
                pos[u] = hit.pos;
                avail[u] = 1;
            }
        }
        double dt = now_ms() - t0;
        if (kind == 0)
            t_off[noff++] = dt;
        else if (kind == 1)
            t_on[non++] = dt;
        else
            t_mv[nmv++] = dt;
        t_all[nall++] = dt;
    }

    /* The incremental state must equal a fresh computation with the same units. */
    t0 = now_ms();
    if (coverage_new(g, snap, dem, COV_PLACES, NULL, &fresh) != 0)
        goto done;
    for (uint32_t u = 0; u < UNITS; u++)
        if (avail[u] && coverage_set_unit(fresh, u, &pos[u]) != 0)
            goto done;
    double fresh_ms = now_ms() - t0;
    coverage_result_t ri, rf;
    coverage_get(cov, &ri);
    coverage_get(fresh, &rf);
    if (ri.covered != rf.covered || ri.n_covered != rf.n_covered || ri.n_units != rf.n_units) {
        printf("  MISMATCH coverage: incremental %" PRIu64 " covered (%" PRIu32 " points), fresh %" PRIu64
               " (%" PRIu32 ")\n",
               ri.covered, ri.n_covered, rf.covered, rf.n_covered);
        mismatches++;
    }
    printf("  coverage: %d demand points (%" PRIu32 " not snapped), population %" PRIu64 "; %" PRIu32
           " units cover %.1f %% (town %.1f %%, countryside %.1f %%); model built in %.0f ms, 200 units"
           " placed in %.0f ms\n",
           COV_PLACES, r0.n_unsnapped, r0.total, r0.n_units, r0.share * 100,
           r0.area_share[COVERAGE_AREA_TOWN] * 100, r0.area_share[COVERAGE_AREA_COUNTRYSIDE] * 100, build_ms,
           place_ms);
    struct stat2 full = {fresh_ms, fresh_ms, 1};
    struct stat2 all = stats_of(t_all, nall);
    printf("  %-30s %-10s %10s %10s %10s %10s %10s\n", "coverage update, ms", "ours", "full med",
           "full p99", "ours med", "ours p99", "ratio");
    row_ref("unit unavailable", "increment", full, stats_of(t_off, noff));
    row_ref("unit available again", "increment", full, stats_of(t_on, non));
    row_ref("unit moved >= 200 m", "increment", full, stats_of(t_mv, nmv));
    row_ref("any of the three", "increment", full, all);
    printf("  (full = the model rebuilt and every available unit placed again, once: %.0f ms)\n", fresh_ms);
    if (h != NULL && !h->coverage_set) {
        h->coverage_p99_ms = all.p99;
        h->coverage_set = 1;
    }
    rc = 0;
done:
    coverage_free(cov);
    coverage_free(fresh);
    free(dem);
    free(t_off);
    free(t_on);
    free(t_mv);
    free(t_all);
    return rc;
}

static int run_city(PGconn *pg, struct city *c, int reps, struct headline *h)
{
    graph_t *g = c->g, *g2 = NULL;
    uint32_t n = g->n_vertices;
    char sql[1024];
    double t0;
    printf("\n== %s: %" PRIu32 " vertices, %" PRIu32 " arcs\n", c->name, n, g->n_arcs);

    t0 = now_ms();
    if (pg_store(pg, g) < 0)
        return -1;
    c->copy_ms = now_ms() - t0;
    t0 = now_ms();
    if (pg_load_graph(pg, n, g->n_arcs, g->lat != NULL, &g2) != 0) {
        fprintf(stderr, "bench_route: loading %s back from PostgreSQL failed\n", c->name);
        return -1;
    }
    c->pg_load_ms = now_ms() - t0;
    /* The graph read back must be ours: same arcs, same integer costs. */
    for (uint32_t a = 0; a < g->n_arcs; a++)
        if (g2->arc_cost[a] != g->arc_cost[a] || g2->arc_head[a] != g->arc_head[a]) {
            fprintf(stderr, "bench_route: %s: arc %" PRIu32 " differs after the PostgreSQL round trip\n",
                    c->name, a);
            mismatches++;
            break;
        }
    graph_free(g2);

    ch_t *ch = NULL;
    snap_t *snap = NULL;
    ch_stats_t cst;
    t0 = now_ms();
    if (ch_build(g, &ch, &cst) != 0)
        return -1;
    c->ch_ms = now_ms() - t0;
    c->snap_ms = 0;
    if (g->lat != NULL) {
        t0 = now_ms();
        if (snap_new(g, 0, &snap) != 0) {
            ch_free(ch);
            return -1;
        }
        c->snap_ms = now_ms() - t0;
    }
    route_ws_t *ws = route_ws_new(g);
    size_t cap = (size_t)(OUR_O2O_CH + OUR_RECOMMEND + 64 * reps + 4096);
    double *pt = malloc(cap * sizeof *pt), *ot = malloc(cap * sizeof *ot);
    int64_t *eta = malloc(UNITS * sizeof *eta);
    uint32_t *unit_v = malloc(UNITS * sizeof *unit_v);
    int rc = -1;
    if (ws == NULL || pt == NULL || ot == NULL || eta == NULL || unit_v == NULL)
        goto done;

    double ready_ms = c->pg_load_ms + c->ch_ms + c->snap_ms;
    printf("  load: files %.0f ms; PostgreSQL (COPY out + graph_new) %.0f ms; CH build %.0f ms "
           "(%" PRIu32 " shortcuts); snap grid %.0f ms; ready from PostgreSQL %.2f s\n",
           c->file_load_ms, c->pg_load_ms, c->ch_ms, cst.shortcuts, c->snap_ms, ready_ms / 1e3);
    printf("  (COPY of the graph into pgRouting's edge table: %.0f ms)\n", c->copy_ms);
    printf("  %-30s %-10s %10s %10s %10s %10s %10s\n", "operation, ms", "ours", "pgr med", "pgr p99",
           "ours med", "ours p99", "ratio");

    /* --- one-to-one ------------------------------------------------------------------------ */
    size_t np = 0;
    for (int i = 0; i < reps; i++) {
        uint32_t s = rng_below(n), t = rng_below(n);
        char a[16], b[16];
        snprintf(a, sizeof a, "%" PRIu32, s + 1);
        snprintf(b, sizeof b, "%" PRIu32, t + 1);
        const char *params[2] = {a, b};
        t0 = now_ms();
        PGresult *res = pg_rows(pg,
                                "SELECT agg_cost FROM pgr_dijkstra('" EDGES_SQL "', $1::bigint, $2::bigint, true)"
                                " ORDER BY seq DESC LIMIT 1",
                                2, params);
        pt[np++] = now_ms() - t0;
        if (res == NULL)
            goto done;
        route_pos_t ps = route_pos_vertex(s), pd = route_pos_vertex(t);
        int64_t ours = 0, ours_ch = 0;
        route_one_to_one(ws, &ps, &pd, GRAPH_COST_INF, &ours);
        ch_one_to_one(ch, &ps, &pd, GRAPH_COST_INF, &ours_ch);
        double pgc = PQntuples(res) == 1 ? strtod(PQgetvalue(res, 0, 0), NULL) : (s == t ? 0.0 : NAN);
        if (!rel_ok(ours, pgc) || ours != ours_ch) {
            printf("  MISMATCH one-to-one %" PRIu32 " -> %" PRIu32 ": pgr %.6f, Dijkstra %" PRId64 ", CH %" PRId64 "\n",
                   s, t, pgc, ours, ours_ch);
            mismatches++;
        }
        PQclear(res);
    }
    struct stat2 pg_o2o = stats_of(pt, np);
    size_t no = 0;
    for (int i = 0; i < OUR_O2O_DIJ; i++) {
        route_pos_t ps = route_pos_vertex(rng_below(n)), pd = route_pos_vertex(rng_below(n));
        int64_t x;
        t0 = now_ms();
        route_one_to_one(ws, &ps, &pd, GRAPH_COST_INF, &x);
        ot[no++] = now_ms() - t0;
    }
    row("one-to-one", pg_o2o, stats_of(ot, no), "Dijkstra");
    no = 0;
    for (int i = 0; i < OUR_O2O_CH; i++) {
        route_pos_t ps = route_pos_vertex(rng_below(n)), pd = route_pos_vertex(rng_below(n));
        int64_t x;
        t0 = now_ms();
        ch_one_to_one(ch, &ps, &pd, GRAPH_COST_INF, &x);
        ot[no++] = now_ms() - t0;
    }
    row("one-to-one", pg_o2o, stats_of(ot, no), "CH");

    /* --- 200-to-1: the recommendation ------------------------------------------------------ */
    char *arr = malloc(UNITS * 12 + 4);
    if (arr == NULL)
        goto done;
    size_t al = 0;
    arr[al++] = '{';
    for (uint32_t u = 0; u < UNITS; u++) {
        unit_v[u] = rng_below(n);
        route_pos_t p = route_pos_vertex(unit_v[u]);
        ch_unit_set(ch, u, &p);
        al += (size_t)snprintf(arr + al, 13, "%s%" PRIu32, u ? "," : "", unit_v[u] + 1);
    }
    arr[al++] = '}';
    arr[al] = '\0';
    static const char *const pgr_sql[2] = {
        "SELECT start_vid, agg_cost FROM pgr_dijkstra('" EDGES_SQL "', $1::bigint[], $2::bigint, true)"
        " WHERE node = $2::bigint",
        "SELECT start_vid, agg_cost FROM pgr_dijkstraCost('" EDGES_SQL "', $1::bigint[], $2::bigint, true)",
    };
    struct stat2 pg_m2o[2];
    for (int k = 0; k < 2; k++) {
        np = 0;
        /* pgr_dijkstraCost takes seconds per call: a few runs show the order of magnitude. */
        int m2o_reps = k == 1 ? 5 : reps * 2 / 3 > 3 ? reps * 2 / 3 : 3;
        for (int i = 0; i < m2o_reps; i++) {
            uint32_t t = rng_below(n);
            char b[16];
            snprintf(b, sizeof b, "%" PRIu32, t + 1);
            const char *params[2] = {arr, b};
            t0 = now_ms();
            PGresult *res = pg_rows(pg, pgr_sql[k], 2, params);
            pt[np++] = now_ms() - t0;
            if (res == NULL) {
                free(arr);
                goto done;
            }
            route_pos_t pd = route_pos_vertex(t);
            ch_eta_to(ch, &pd, GRAPH_COST_INF, eta, UNITS);
            /* Every unit not at the target must have a row, with our cost. */
            int rows = PQntuples(res), expect = 0, bad = 0;
            for (uint32_t u = 0; u < UNITS; u++)
                expect += unit_v[u] != t;
            for (int r = 0; r < rows; r++) {
                uint32_t v = (uint32_t)strtoul(PQgetvalue(res, r, 0), NULL, 10) - 1;
                double cst_s = strtod(PQgetvalue(res, r, 1), NULL);
                int found = 0;
                for (uint32_t u = 0; u < UNITS; u++)
                    if (unit_v[u] == v) {
                        found = 1;
                        bad += !rel_ok(eta[u], cst_s);
                    }
                bad += !found;
            }
            /* pgRouting merges duplicate sources into one row. */
            int distinct = 0;
            for (uint32_t u = 0; u < UNITS; u++) {
                int dup = 0;
                for (uint32_t w = 0; w < u; w++)
                    dup |= unit_v[w] == unit_v[u];
                distinct += !dup && unit_v[u] != t;
            }
            if (bad || rows != distinct) {
                printf("  MISMATCH 200-to-1 to %" PRIu32 ": %d rows (want %d of %d), %d costs differ\n", t, rows,
                       distinct, expect, bad);
                mismatches++;
            }
            PQclear(res);
        }
        pg_m2o[k] = stats_of(pt, np);
    }
    free(arr);

    /* Ours, with moving units: each step moves MOVES_PER_STEP units one arc on. */
    size_t nm = 0;
    double *mt = malloc(OUR_RECOMMEND * MOVES_PER_STEP * sizeof *mt);
    if (mt == NULL)
        goto done;
    no = 0;
    uint32_t order[UNITS];
    for (int i = 0; i < OUR_RECOMMEND; i++) {
        for (int k = 0; k < MOVES_PER_STEP; k++) {
            uint32_t u = rng_below(UNITS), v = unit_v[u];
            uint32_t deg = g->out_first[v + 1] - g->out_first[v];
            if (deg > 0)
                unit_v[u] = g->arc_head[g->out_first[v] + rng_below(deg)];
            route_pos_t p = route_pos_vertex(unit_v[u]);
            t0 = now_ms();
            ch_unit_set(ch, u, &p);
            mt[nm++] = now_ms() - t0;
        }
        route_pos_t pd = route_pos_vertex(rng_below(n));
        t0 = now_ms();
        ch_eta_to(ch, &pd, GRAPH_COST_INF, eta, UNITS);
        /* The ranking: units by ETA (insertion sort of 200 ids). */
        for (uint32_t u = 0; u < UNITS; u++) {
            uint32_t j = u;
            while (j > 0 && eta[order[j - 1]] > eta[u]) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = u;
        }
        ot[no++] = now_ms() - t0;
        if (order[0] >= UNITS)
            mismatches++;
    }
    struct stat2 rec = stats_of(ot, no);
    row("200-to-1 recommendation", pg_m2o[0], rec, "CH");
    row("  (pgr_dijkstraCost instead)", pg_m2o[1], rec, "CH");
    no = 0;
    route_pos_t upos[UNITS];
    for (uint32_t u = 0; u < UNITS; u++)
        upos[u] = route_pos_vertex(unit_v[u]);
    for (int i = 0; i < reps; i++) {
        route_pos_t pd = route_pos_vertex(rng_below(n));
        t0 = now_ms();
        route_many_to_one(ws, upos, UNITS, &pd, GRAPH_COST_INF, eta);
        ot[no++] = now_ms() - t0;
    }
    row("200-to-1 recommendation", pg_m2o[0], stats_of(ot, no), "Dijkstra");
    row("unit moved (ch_unit_set)", (struct stat2){NAN, NAN, 0}, stats_of(mt, nm), "CH");
    free(mt);
    if (h != NULL && !h->set) {
        h->recommend_p99_ms = rec.p99;
        h->speedup = pg_m2o[0].med / rec.med;
        h->ready_s = ready_ms / 1e3;
        h->set = 1;
    }

    /* --- Routino one-to-one (headline city) and coverage updates -------------------------- */
    if (c->time_costs && snap != NULL) {
        if ((h != NULL && run_routino(c, ch, snap, h) < 0) || run_coverage(c, ch, snap, unit_v, h) < 0)
            goto done;
        double cl_p99, cl_med;
        if (h != NULL) {
            if (bench_closure_apply(c->g, unit_v, UNITS, rng_below, &cl_p99, &cl_med) == 0) {
                h->closure_p99_ms = cl_p99;
                h->closure_set = 1;
            } else {
                printf("  MISMATCH closure apply: see above\n");
                mismatches++;
            }
        }
    }

    /* --- isochrones ------------------------------------------------------------------------ */
    if (!c->time_costs) {
        printf("  isochrones: skipped (abstract DIMACS costs, not seconds)\n");
        rc = 0;
        goto done;
    }
    uint8_t *mark = calloc(n, 1);
    if (mark == NULL)
        goto done;
    for (int minutes = 15; minutes <= 30; minutes += 15) {
        int64_t lim = (int64_t)minutes * 60 * 1000000;
        size_t members = 0;
        np = 0;
        int iso_reps = reps / 2 > 3 ? reps / 2 : 3;
        for (int i = 0; i < iso_reps; i++) {
            uint32_t s = rng_below(n);
            snprintf(sql, sizeof sql,
                     "SELECT node FROM pgr_drivingDistance('" EDGES_SQL "', %" PRIu32 ", %d, true)", s + 1,
                     minutes * 60);
            t0 = now_ms();
            PGresult *res = pg_rows(pg, sql, 0, NULL);
            pt[np++] = now_ms() - t0;
            if (res == NULL) {
                free(mark);
                goto done;
            }
            route_pos_t p = route_pos_vertex(s);
            route_isochrone(ws, &p, 1, lim);
            size_t ns;
            const uint32_t *set = route_ws_settled(ws, &ns);
            for (size_t k = 0; k < ns; k++)
                mark[set[k]] = 1;
            int bad = 0;
            for (int r = 0; r < PQntuples(res); r++) {
                uint32_t v = (uint32_t)strtoul(PQgetvalue(res, r, 0), NULL, 10) - 1;
                if (v < n && mark[v] == 1)
                    mark[v] = 2;
                else
                    bad++;
            }
            for (size_t k = 0; k < ns; k++) {
                int64_t cv = route_ws_cost(ws, set[k]);
                if (mark[set[k]] == 1 && fabs((double)(cv - lim)) > REL_TOL * (double)lim)
                    bad++;
                mark[set[k]] = 0;
            }
            members += ns;
            if (bad) {
                printf("  MISMATCH isochrone %d min from %" PRIu32 ": %d vertices differ\n", minutes, s, bad);
                mismatches++;
            }
            PQclear(res);
        }
        struct stat2 pgs = stats_of(pt, np);
        no = 0;
        for (int i = 0; i < OUR_ISO; i++) {
            route_pos_t p = route_pos_vertex(rng_below(n));
            t0 = now_ms();
            route_isochrone(ws, &p, 1, lim);
            ot[no++] = now_ms() - t0;
        }
        char name[64];
        snprintf(name, sizeof name, "isochrone %d min (~%zu vertices)", minutes, members / (size_t)iso_reps);
        row(name, pgs, stats_of(ot, no), "Dijkstra");
    }
    free(mark);
    rc = 0;
done:
    free(pt);
    free(ot);
    free(eta);
    free(unit_v);
    route_ws_free(ws);
    snap_free(snap);
    ch_free(ch);
    return rc;
}

/* Runs `GOLDLINE_PG_DB=goldline_route deploy/pg.sh ARGS` and returns its first output line. */
static int pg_sh(const char *root, const char *args, char *out, size_t cap)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "GOLDLINE_PG_DB=" DB " '%s/deploy/pg.sh' %s", root, args);
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    char line[4096];
    if (out != NULL)
        out[0] = '\0';
    while (fgets(line, sizeof line, f) != NULL)
        if (out != NULL && out[0] == '\0') {
            line[strcspn(line, "\n")] = '\0';
            snprintf(out, cap, "%s", line);
        }
    return pclose(f) == 0 ? 0 : -1;
}

static int load_city(const char *dir, struct city *c)
{
    char a[1200], b[1200], co[1200]; /* dir is under 1024 bytes */
    double t0 = now_ms();
    int rc;
    if (strcmp(c->name, "NY") == 0) {
        snprintf(a, sizeof a, "%s/dimacs9-usa/USA-road-t.NY.gr.gz", dir);
        snprintf(b, sizeof b, "%s/dimacs9-usa/USA-road-d.NY.gr.gz", dir);
        snprintf(co, sizeof co, "%s/dimacs9-usa/USA-road-d.NY.co.gz", dir);
        rc = roads_load_dimacs(a, b, co, &c->g);
        c->time_costs = 0;
    } else {
        snprintf(a, sizeof a, "%s/cn-osm-cities-2021", dir);
        rc = roads_load_city(a, c->name, ROADS_COST_TIME, &c->g);
        c->time_costs = 1;
    }
    c->file_load_ms = now_ms() - t0;
    return rc;
}

int main(int argc, char **argv)
{
    static const char *const defaults[] = {"Nanjing", "Xian", "Haikou", "NY"};
    const char *root = getenv("GOLDLINE_ROOT");
    const char *url_env = getenv("GOLDLINE_ROUTE_PG_URL");
    char dir[1024], url[4096];
    if (getenv("ROUTE_BENCH_DATA") != NULL)
        snprintf(dir, sizeof dir, "%s", getenv("ROUTE_BENCH_DATA"));
    else
        snprintf(dir, sizeof dir, "%s/../shared/data/roads", root != NULL ? root : ".");
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress is visible when the output goes to a file */
    int own_db = 0;
    if (url_env != NULL) {
        snprintf(url, sizeof url, "%s", url_env);
    } else {
        if (root == NULL) {
            fprintf(stderr, "bench_route: set GOLDLINE_ROOT (bench/run does) or GOLDLINE_ROUTE_PG_URL\n");
            return 2;
        }
        if (pg_sh(root, "start", NULL, 0) < 0 || pg_sh(root, "url", url, sizeof url) < 0) {
            fprintf(stderr, "bench_route: cannot start the database " DB " with deploy/pg.sh\n");
            return 2;
        }
        own_db = 1;
    }
    PGconn *pg = PQconnectdb(url);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "bench_route: cannot connect: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return 2;
    }
    printf("bench route: pgRouting via libpq (loopback TCP, round trip included) vs geo/ (this process);\n"
           "times in ms; ratio = pgr median / ours median; every pgRouting answer is checked against ours\n");

    struct headline h = {0};
    const char *const *cities = argc > 1 ? (const char *const *)argv + 1 : defaults;
    int n_cities = argc > 1 ? argc - 1 : 4, status = 0, first = 1;
    const char *head_city = NULL;
    for (int i = 0; i < n_cities; i++) {
        struct city c = {.name = cities[i]};
        if (load_city(dir, &c) != 0) {
            printf("\n== %s: not loaded from %s (missing data?): skipped\n", c.name, dir);
            continue;
        }
        /* The headline city gets the most pgRouting runs (its p99 then means something). */
        int reps = first ? 60 : 15;
        if (first)
            head_city = c.name;
        int rc = run_city(pg, &c, reps, first ? &h : NULL);
        first = 0;
        graph_free(c.g);
        if (rc != 0)
            status = 1;
    }
    pg_exec(pg, "DROP TABLE IF EXISTS " EDGES ", " VERTS);
    PQfinish(pg);
    if (own_db)
        pg_sh(root, "drop-db", NULL, 0);

    printf("\n%d mismatches against pgRouting\n", mismatches);
    if (h.set) {
        printf("headlines (%s):\n", head_city);
        printf("recommend_p99_ms: %.3f\n", h.recommend_p99_ms);
        printf("speedup_vs_pgrouting: %.0f\n", h.speedup);
        printf("graph_load_s: %.2f\n", h.ready_s);
        if (h.routino_set)
            printf("speedup_vs_routino: %.0f\n", h.routino_speedup);
        if (h.coverage_set)
            printf("coverage_update_ms: %.3f\n", h.coverage_p99_ms);
        if (h.closure_set)
            printf("closure_apply_ms: %.3f\n", h.closure_p99_ms);
    }
    return mismatches != 0 || status != 0 || !h.set ? 1 : 0;
}
