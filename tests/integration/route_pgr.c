/*
 * gl-route-pgr: our road routing (geo/route.h Dijkstra and geo/ch.h contraction hierarchy)
 * against pgRouting on the same edges, for tests/integration/route_pgr.sh.
 *
 *   gl-route-pgr DIR CITY [PAIRS [ISO_SOURCES [ISO_SECONDS]]]
 *   gl-route-pgr --osm LABEL [PAIRS [ISO_SOURCES [ISO_SECONDS]]]
 *
 * Loads CITY (Nanjing, Xian, Haikou) from DIR (../shared/data/roads/cn-osm-cities-2021) with
 * roads_load_city(), then COPYs the same arcs into an UNLOGGED table route_pgr_edges of the
 * database named by GOLDLINE_PG_URL (the script gives it its own database). The city files list
 * each direction of a road as its own arc line, so each arc is one directed pgRouting edge with
 * reverse_cost -1, and the searches run with directed => true. Costs are the same integer
 * microseconds written as exact decimal seconds ("%lld.%06lld"), which PostgreSQL reads into
 * float8. pgRouting vertex and edge ids are ours + 1.
 *
 * With --osm, the graph is an OSM extract that deploy/import-osm.sh imported into the database
 * of GOLDLINE_PG_URL (LABEL only names it in the output): ours is loaded from ways_vertices_pgr
 * and ways exactly as the dispatcher loads it (dispatcher/db_load.c load_roads: an arc per
 * direction whose cost_s / reverse_cost_s is >= 0, costs llround(seconds * 1e6) microseconds),
 * and pgRouting searches the imported table itself (ways: gid, source, target, cost_s,
 * reverse_cost_s, negative = no edge that way) with directed => true: the same edge costs, as
 * each side reads them. An extract is not strongly connected (one-way streets, roads cut at the
 * clip border), so a pair may have no route: then pgRouting must return no row for it and our
 * searches GL_ENOENT. Pair ends and isochrone sources are drawn among vertices with a drivable
 * arc (in and out for pair ends, out for sources).
 *
 * Checks (each prints one "ok - ..." or "not ok - ..." line):
 *   - PAIRS (default 1000) random vertex pairs: pgr_dijkstraCost with a combinations query (two
 *     connections in parallel, half the pairs each) equals our Dijkstra and our CH within 1e-6
 *     relative, and every pair has an answer;
 *   - ISO_SOURCES (default 10) random sources: the vertices pgr_drivingDistance finds within
 *     ISO_SECONDS (default 900 = 15 min) are exactly the vertices our route_isochrone() settles
 *     (a vertex whose exact cost is within 1e-6 relative of the limit may fall on either side of a
 *     float8 sum and counts as a tie, reported but not a failure), with the same costs.
 * The random picks use a fixed seed (GL_ROUTE_PGR_SEED overrides; it is printed).
 * Exit status 0 when every check passed, 1 otherwise, 2 on a usage or setup error.
 *
 * It uses libpq directly and synchronously: a test tool, not part of the dispatcher.
 */
#include "ch.h"
#include "err.h"
#include "graph.h"
#include "roads_file.h"
#include "route.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REL_TOL 1e-6
#define TABLE "route_pgr_edges"
#define EDGES_SQL "SELECT id, source, target, cost, reverse_cost FROM " TABLE
#define OSM_EDGES_SQL                                                                              \
    "SELECT gid AS id, source, target, coalesce(cost_s, -1) AS cost,"                              \
    " coalesce(reverse_cost_s, -1) AS reverse_cost FROM ways"                                      \
    " WHERE source IS NOT NULL AND target IS NOT NULL"

static const char *edges_sql = EDGES_SQL; /* what pgRouting searches */
static int64_t *pg_ids;                   /* --osm: pgRouting id of our vertex v (ascending) */

static int n_ok, n_fail;
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

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(int ok, const char *fmt, ...)
{
    va_list ap;
    printf("%s - ", ok ? "ok" : "not ok");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (ok)
        n_ok++;
    else
        n_fail++;
}

static double rel_diff(double a, double b)
{
    double m = fmax(fabs(a), fabs(b));
    return m == 0.0 ? 0.0 : fabs(a - b) / m;
}

static int64_t id_of(uint32_t v)
{
    return pg_ids != NULL ? pg_ids[v] : (int64_t)v + 1;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Our vertex of pgRouting id `id`, or GRAPH_NONE. */
static uint32_t vertex_of(const graph_t *g, const char *text)
{
    int64_t id = strtoll(text, NULL, 10);
    if (pg_ids == NULL)
        return id >= 1 && id <= (int64_t)g->n_vertices ? (uint32_t)(id - 1) : GRAPH_NONE;
    const int64_t *hit = bsearch(&id, pg_ids, g->n_vertices, sizeof *pg_ids, cmp_i64);
    return hit != NULL ? (uint32_t)(hit - pg_ids) : GRAPH_NONE;
}

/* A random vertex with an out-arc (and an in-arc when `need_in`): every vertex on the city
 * graphs, so their draws are what they always were. */
static uint32_t draw_vertex(const graph_t *g, int need_in)
{
    for (;;) {
        uint32_t v = rng_below(g->n_vertices);
        if (g->out_first[v + 1] > g->out_first[v] && (!need_in || g->in_first[v + 1] > g->in_first[v]))
            return v;
    }
}

static int pg_exec(PGconn *pg, const char *sql)
{
    PGresult *res = PQexec(pg, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "gl-route-pgr: %s: %s", sql, PQerrorMessage(pg));
    PQclear(res);
    return ok ? 0 : -1;
}

/* COPYs every arc of g into TABLE (created fresh). */
static int pg_load_edges(PGconn *pg, const graph_t *g)
{
    if (pg_exec(pg, "SET client_min_messages = warning") < 0 ||
        pg_exec(pg, "DROP TABLE IF EXISTS " TABLE) < 0 ||
        pg_exec(pg, "CREATE UNLOGGED TABLE " TABLE " (id bigint PRIMARY KEY, source bigint NOT NULL,"
                    " target bigint NOT NULL, cost float8 NOT NULL, reverse_cost float8 NOT NULL)") < 0)
        return -1;
    PGresult *res = PQexec(pg, "COPY " TABLE " (id, source, target, cost, reverse_cost) FROM STDIN");
    int ok = PQresultStatus(res) == PGRES_COPY_IN;
    PQclear(res);
    if (!ok) {
        fprintf(stderr, "gl-route-pgr: COPY: %s", PQerrorMessage(pg));
        return -1;
    }
    char buf[65536];
    size_t len = 0;
    for (uint32_t a = 0; a < g->n_arcs; a++) {
        int64_t c = g->arc_cost[a];
        len += (size_t)snprintf(buf + len, sizeof buf - len,
                                "%" PRIu32 "\t%" PRIu32 "\t%" PRIu32 "\t%" PRId64 ".%06" PRId64 "\t-1\n",
                                a + 1, g->arc_tail[a] + 1, g->arc_head[a] + 1, c / 1000000, c % 1000000);
        if (len > sizeof buf - 256 || a + 1 == g->n_arcs) {
            if (PQputCopyData(pg, buf, (int)len) != 1) {
                fprintf(stderr, "gl-route-pgr: COPY data: %s", PQerrorMessage(pg));
                return -1;
            }
            len = 0;
        }
    }
    if (PQputCopyEnd(pg, NULL) != 1)
        return -1;
    res = PQgetResult(pg);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "gl-route-pgr: COPY end: %s", PQerrorMessage(pg));
    PQclear(res);
    while ((res = PQgetResult(pg)) != NULL)
        PQclear(res);
    return ok && pg_exec(pg, "ANALYZE " TABLE) == 0 ? 0 : -1;
}

/*
 * --osm: the imported graph, read as dispatcher/db_load.c load_roads() reads it (vertices in
 * id order, an arc per direction with a cost >= 0). Sets pg_ids. Returns 0 or -1.
 */
static int pg_load_osm(PGconn *pg, graph_t **out)
{
    PGresult *vr = PQexec(pg, "SELECT id, ST_Y(the_geom), ST_X(the_geom) FROM ways_vertices_pgr ORDER BY id");
    PGresult *er = PQexec(pg, "SELECT source, target, cost_s, reverse_cost_s, length_m "
                              "FROM ways WHERE source IS NOT NULL AND target IS NOT NULL");
    int rc = -1;
    graph_edge_t *edges = NULL;
    double *lat = NULL, *lon = NULL;
    if (PQresultStatus(vr) != PGRES_TUPLES_OK || PQresultStatus(er) != PGRES_TUPLES_OK) {
        fprintf(stderr, "gl-route-pgr: reading ways / ways_vertices_pgr: %s", PQerrorMessage(pg));
        goto done;
    }
    size_t nv = (size_t)PQntuples(vr), ne = (size_t)PQntuples(er), n = 0;
    pg_ids = malloc((nv ? nv : 1) * sizeof *pg_ids);
    lat = malloc((nv ? nv : 1) * sizeof *lat);
    lon = malloc((nv ? nv : 1) * sizeof *lon);
    edges = malloc((ne ? 2 * ne : 1) * sizeof *edges);
    if (pg_ids == NULL || lat == NULL || lon == NULL || edges == NULL)
        goto done;
    for (size_t i = 0; i < nv; i++) {
        pg_ids[i] = strtoll(PQgetvalue(vr, (int)i, 0), NULL, 10);
        lat[i] = strtod(PQgetvalue(vr, (int)i, 1), NULL);
        lon[i] = strtod(PQgetvalue(vr, (int)i, 2), NULL);
    }
    graph_t g0 = {.n_vertices = (uint32_t)nv};
    for (size_t i = 0; i < ne; i++) {
        uint32_t s = vertex_of(&g0, PQgetvalue(er, (int)i, 0)), t = vertex_of(&g0, PQgetvalue(er, (int)i, 1));
        double fwd = PQgetisnull(er, (int)i, 2) ? -1 : strtod(PQgetvalue(er, (int)i, 2), NULL);
        double rev = PQgetisnull(er, (int)i, 3) ? -1 : strtod(PQgetvalue(er, (int)i, 3), NULL);
        double len = PQgetisnull(er, (int)i, 4) ? 0 : strtod(PQgetvalue(er, (int)i, 4), NULL);
        if (s == GRAPH_NONE || t == GRAPH_NONE)
            continue;
        if (fwd >= 0)
            edges[n++] = (graph_edge_t){s, t, llround(fwd * 1e6), len};
        if (rev >= 0)
            edges[n++] = (graph_edge_t){t, s, llround(rev * 1e6), len};
    }
    printf("# imported graph: %zu vertices, %zu ways, %zu drivable arcs\n", nv, ne, n);
    if (n > 0 && graph_new((uint32_t)nv, lat, lon, edges, n, NULL, out) == 0)
        rc = 0;
done:
    PQclear(vr);
    PQclear(er);
    free(lat);
    free(lon);
    free(edges);
    return rc;
}

/* Appends "(s,t),..." for pairs [lo, hi) to sql (capacity cap). */
static void pairs_values(char *sql, size_t cap, const uint32_t *src, const uint32_t *dst, size_t lo,
                         size_t hi)
{
    size_t len = strlen(sql);
    for (size_t i = lo; i < hi; i++)
        len += (size_t)snprintf(sql + len, cap - len, "%s(%" PRId64 ",%" PRId64 ")", i > lo ? "," : "",
                                id_of(src[i]), id_of(dst[i]));
}

/* The pairs check: pgr_dijkstraCost over two connections vs our Dijkstra and CH. */
static void check_pairs(PGconn *pg[2], const graph_t *g, route_ws_t *ws, ch_t *ch, size_t n)
{
    uint32_t *src = malloc(n * sizeof *src), *dst = malloc(n * sizeof *dst);
    double *pgr = malloc(n * sizeof *pgr);
    int64_t *dij = malloc(n * sizeof *dij), *chc = malloc(n * sizeof *chc);
    size_t cap = 400 + n * 44;
    char *sql = malloc(cap);
    if (src == NULL || dst == NULL || pgr == NULL || dij == NULL || chc == NULL || sql == NULL) {
        report(0, "pairs: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        src[i] = draw_vertex(g, 1);
        do
            dst[i] = draw_vertex(g, 1);
        while (dst[i] == src[i]);
        pgr[i] = NAN;
    }

    /* Send both halves, then read both: pgRouting works on two backends at once. */
    double t0 = now_s();
    size_t half = n / 2, bounds[3] = {0, half, n};
    for (int k = 0; k < 2; k++) {
        snprintf(sql, cap, "SELECT start_vid, end_vid, agg_cost FROM pgr_dijkstraCost('%s',"
                           " 'SELECT * FROM (VALUES ", edges_sql);
        pairs_values(sql, cap, src, dst, bounds[k], bounds[k + 1]);
        size_t len = strlen(sql);
        snprintf(sql + len, cap - len, ") AS c(source, target)', directed => true)");
        if (PQsendQuery(pg[k], sql) != 1) {
            report(0, "pairs: pgr_dijkstraCost not sent: %s", PQerrorMessage(pg[k]));
            goto done;
        }
    }
    /* Our answers while pgRouting works (its time is then the wall time of both). */
    double t1 = now_s();
    size_t our_fail = 0, unreachable = 0;
    for (size_t i = 0; i < n; i++) {
        route_pos_t a = route_pos_vertex(src[i]), b = route_pos_vertex(dst[i]);
        int rd = route_one_to_one(ws, &a, &b, GRAPH_COST_INF, &dij[i]);
        int rc = ch_one_to_one(ch, &a, &b, GRAPH_COST_INF, &chc[i]);
        /* No route (an extract's one-way streets and clip border): both must say so. */
        if (rd == GL_ENOENT)
            dij[i] = GRAPH_COST_INF;
        if (rc == GL_ENOENT)
            chc[i] = GRAPH_COST_INF;
        if ((rd != 0 && rd != GL_ENOENT) || (rc != 0 && rc != GL_ENOENT))
            our_fail++;
        unreachable += rd == GL_ENOENT;
    }
    double our_s = now_s() - t1;
    size_t answered = 0, wrong_id = 0;
    int failed = 0;
    for (int k = 0; k < 2; k++) {
        PGresult *res;
        while ((res = PQgetResult(pg[k])) != NULL) {
            if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                fprintf(stderr, "gl-route-pgr: pgr_dijkstraCost: %s", PQerrorMessage(pg[k]));
                failed = 1;
            }
            for (int r = 0; !failed && r < PQntuples(res); r++) {
                uint32_t s = vertex_of(g, PQgetvalue(res, r, 0));
                uint32_t t = vertex_of(g, PQgetvalue(res, r, 1));
                double c = strtod(PQgetvalue(res, r, 2), NULL);
                /* The same pair may be drawn twice: fill every slot it has in this half. */
                int found = 0;
                for (size_t i = bounds[k]; i < bounds[k + 1]; i++)
                    if (src[i] == s && dst[i] == t) {
                        if (isnan(pgr[i]))
                            answered++;
                        pgr[i] = c;
                        found = 1;
                    }
                if (!found)
                    wrong_id++;
            }
            PQclear(res);
        }
    }
    double pg_s = now_s() - t0;
    if (failed) {
        report(0, "pairs: pgr_dijkstraCost failed");
        goto done;
    }


    size_t bad_dij = 0, bad_ch = 0, reach_differs = 0;
    double max_rel = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (chc[i] != dij[i])
            bad_ch++;
        if (isnan(pgr[i]) != (dij[i] == GRAPH_COST_INF)) {
            if (reach_differs < 5)
                printf("# pair %" PRIu32 " -> %" PRIu32 ": %s by pgRouting, %s by us\n", src[i], dst[i],
                       isnan(pgr[i]) ? "no route" : "a route", dij[i] == GRAPH_COST_INF ? "no route" : "a route");
            reach_differs++;
            continue;
        }
        if (isnan(pgr[i]))
            continue;
        double d = rel_diff((double)dij[i] / 1e6, pgr[i]);
        max_rel = fmax(max_rel, d);
        if (d > REL_TOL) {
            if (bad_dij < 5)
                printf("# pair %" PRIu32 " -> %" PRIu32 ": ours %.6f s, pgr_dijkstraCost %.9f s\n",
                       src[i], dst[i], (double)dij[i] / 1e6, pgr[i]);
            bad_dij++;
        }
    }
    printf("# pairs: pgr_dijkstraCost %.1f s wall (two backends, overlapped with ours), ours (Dijkstra + CH) %.2f s\n", pg_s, our_s);
    report(answered + unreachable == n && reach_differs == 0 && wrong_id == 0 && answered >= n / 2,
           "pairs: pgr_dijkstraCost answered exactly the %zu of %zu pairs we find a route for (answered %zu,"
           " reachability differs %zu, unknown rows %zu)",
           n - unreachable, n, answered, reach_differs, wrong_id);
    report(our_fail == 0 && bad_dij == 0 && answered > 0,
           "pairs: our Dijkstra travel time equals pgr_dijkstraCost within 1e-6 relative on %zu pairs"
           " (%zu differ, %zu failed; max relative difference %.3g)",
           answered, bad_dij, our_fail, max_rel);
    report(our_fail == 0 && bad_ch == 0, "pairs: our CH equals our Dijkstra exactly on %zu pairs (%zu differ)",
           n, bad_ch);
done:
    free(src);
    free(dst);
    free(pgr);
    free(dij);
    free(chc);
    free(sql);
}

/* The isochrone check for one source: pgr_drivingDistance vs route_isochrone. */
static void check_isochrones(PGconn *pg, const graph_t *g, route_ws_t *ws, size_t n_src, double limit_s)
{
    int64_t limit_us = llround(limit_s * 1e6);
    double *pgc = malloc(g->n_vertices * sizeof *pgc);
    if (pgc == NULL) {
        report(0, "isochrones: out of memory");
        return;
    }
    size_t sources_ok = 0, members_total = 0, ties = 0, missing = 0, extra = 0, cost_bad = 0;
    double max_rel = 0.0, pg_s = 0.0;
    for (size_t k = 0; k < n_src; k++) {
        uint32_t s = draw_vertex(g, 0);
        char sql[1024];
        snprintf(sql, sizeof sql,
                 "SELECT node, agg_cost FROM pgr_drivingDistance('%s', %" PRId64 ", %.6f, directed => true)",
                 edges_sql, id_of(s), limit_s);
        double t0 = now_s();
        PGresult *res = PQexec(pg, sql);
        pg_s += now_s() - t0;
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            fprintf(stderr, "gl-route-pgr: pgr_drivingDistance: %s", PQerrorMessage(pg));
            PQclear(res);
            report(0, "isochrones: pgr_drivingDistance failed");
            free(pgc);
            return;
        }
        for (uint32_t v = 0; v < g->n_vertices; v++)
            pgc[v] = NAN;
        size_t s_missing = 0, s_extra = 0, s_bad = 0, s_ties = 0, rows = (size_t)PQntuples(res);
        for (size_t r = 0; r < rows; r++) {
            uint32_t v = vertex_of(g, PQgetvalue(res, (int)r, 0));
            if (v < g->n_vertices)
                pgc[v] = strtod(PQgetvalue(res, (int)r, 1), NULL);
            else
                s_extra++;
        }
        PQclear(res);

        route_pos_t p = route_pos_vertex(s);
        if (route_isochrone(ws, &p, 1, limit_us) != 0) {
            report(0, "isochrones: route_isochrone failed from %" PRIu32, s);
            free(pgc);
            return;
        }
        size_t n_set;
        route_ws_settled(ws, &n_set);
        for (uint32_t v = 0; v < g->n_vertices; v++) {
            int64_t c = route_ws_cost(ws, v);
            int ours_in = c != GRAPH_COST_INF && c <= limit_us;
            int pg_in = !isnan(pgc[v]);
            int near_limit = c != GRAPH_COST_INF && rel_diff((double)c, (double)limit_us) <= REL_TOL;
            if (ours_in != pg_in) {
                if (near_limit)
                    s_ties++;
                else if (ours_in)
                    s_missing++;
                else
                    s_extra++;
                continue;
            }
            if (ours_in) {
                double d = rel_diff((double)c / 1e6, pgc[v]);
                max_rel = fmax(max_rel, d);
                if (d > REL_TOL)
                    s_bad++;
            }
        }
        if (s_missing + s_extra + s_bad > 0)
            printf("# isochrone from %" PRIu32 ": ours %zu vertices, pgr_drivingDistance %zu rows; "
                   "missing in pgr %zu, extra in pgr %zu, cost differs %zu\n",
                   s, n_set, rows, s_missing, s_extra, s_bad);
        else
            sources_ok++;
        members_total += n_set;
        missing += s_missing;
        extra += s_extra;
        cost_bad += s_bad;
        ties += s_ties;
    }
    printf("# isochrones: pgr_drivingDistance %.2f s for %zu sources\n", pg_s, n_src);
    report(sources_ok == n_src && members_total > 0,
           "isochrones (%.0f s) from %zu random sources: membership equals pgr_drivingDistance's "
           "(%zu members in all; %zu missing, %zu extra, %zu boundary ties)",
           limit_s, n_src, members_total, missing, extra, ties);
    report(cost_bad == 0 && members_total > 0,
           "isochrones (%.0f s): member costs equal pgr_drivingDistance's agg_cost within 1e-6 relative "
           "(%zu differ; max relative difference %.3g)",
           limit_s, cost_bad, max_rel);
    free(pgc);
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 6) {
        fprintf(stderr, "usage: gl-route-pgr DIR CITY [PAIRS [ISO_SOURCES [ISO_SECONDS]]]\n"
                        "       gl-route-pgr --osm LABEL [PAIRS [ISO_SOURCES [ISO_SECONDS]]]\n");
        return 2;
    }
    int osm = strcmp(argv[1], "--osm") == 0;
    size_t pairs = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000;
    size_t iso = argc > 4 ? strtoul(argv[4], NULL, 10) : 10;
    double iso_s = argc > 5 ? strtod(argv[5], NULL) : 900.0;
    const char *url = getenv("GOLDLINE_PG_URL");
    const char *seed = getenv("GL_ROUTE_PGR_SEED");
    if (url == NULL || pairs < 2 || iso_s <= 0) {
        fprintf(stderr, "gl-route-pgr: needs GOLDLINE_PG_URL, PAIRS >= 2 and ISO_SECONDS > 0\n");
        return 2;
    }
    rng_state = seed != NULL ? strtoull(seed, NULL, 10) : 20261128;
    printf("# seed %" PRIu64 "\n", rng_state);

    graph_t *g = NULL;
    double t0 = now_s();
    PGconn *pg[2] = {PQconnectdb(url), PQconnectdb(url)};
    int rc;
    if (osm) {
        edges_sql = OSM_EDGES_SQL;
        rc = PQstatus(pg[0]) == CONNECTION_OK ? pg_load_osm(pg[0], &g) : -1;
        report(rc == 0, "the imported graph loads from ways / ways_vertices_pgr as the dispatcher loads it"
               " (%.2f s)", now_s() - t0);
    } else {
        rc = roads_load_city(argv[1], argv[2], ROADS_COST_TIME, &g);
        report(rc == 0, "%s loads with roads_load_city (%.2f s)", argv[2], now_s() - t0);
    }
    if (rc != 0) {
        PQfinish(pg[0]);
        PQfinish(pg[1]);
        free(pg_ids);
        return 1;
    }
    printf("# %s: %" PRIu32 " vertices, %" PRIu32 " arcs\n", argv[2], g->n_vertices, g->n_arcs);

    route_ws_t *ws = route_ws_new(g);
    ch_t *ch = NULL;
    int status = 2;
    if (PQstatus(pg[0]) != CONNECTION_OK || PQstatus(pg[1]) != CONNECTION_OK) {
        fprintf(stderr, "gl-route-pgr: cannot connect: %s", PQerrorMessage(pg[0]));
        goto done;
    }
    if (ws == NULL || ch_build(g, &ch, NULL) != 0) {
        fprintf(stderr, "gl-route-pgr: out of memory or CH build failed\n");
        goto done;
    }
    if (!osm) {
        t0 = now_s();
        rc = pg_load_edges(pg[0], g);
        report(rc == 0, "the %" PRIu32 " arcs are COPYed into " TABLE " (%.2f s)", g->n_arcs, now_s() - t0);
        if (rc != 0)
            goto done;
    }

    check_pairs(pg, g, ws, ch, pairs);
    check_isochrones(pg[0], g, ws, iso, iso_s);
    if (!osm)
        pg_exec(pg[0], "DROP TABLE IF EXISTS " TABLE);
    status = n_fail == 0 ? 0 : 1;
done:
    ch_free(ch);
    route_ws_free(ws);
    PQfinish(pg[0]);
    PQfinish(pg[1]);
    graph_free(g);
    free(pg_ids);
    printf("# gl-route-pgr: %d passed, %d failed\n", n_ok, n_fail);
    return status;
}
