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
 * `speedup_vs_pgrouting` and `graph_load_s`, for Nanjing (or the first city given).
 */
#include "ch.h"
#include "graph.h"
#include "roads_file.h"
#include "route.h"
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
};

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
    }
    return mismatches != 0 || status != 0 || !h.set ? 1 : 0;
}
