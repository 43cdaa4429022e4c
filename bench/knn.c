/*
 * bench-needs: postgis
 *
 * The k-nearest benchmark: how fast geo_index answers "the 5 units nearest to this call" and
 * takes position updates, compared with the same query in PostGIS, on 10k, 100k and 1M random
 * positions in a county-sized box (about 100 x 100 km around Hangzhou, China).
 *
 * For each size it builds the index, times 50,000 random k=5 queries one by one (median and p99
 * in microseconds), loads the same points into an UNLOGGED table of the private PostGIS cluster
 * with COPY, builds a GiST index on its geography column, and times a prepared
 * `ORDER BY pos <-> $1::geography LIMIT 5` over plain synchronous libpq (loopback TCP, so the
 * round trip is part of what is measured: it is what a dispatcher that asked the database would
 * pay). The geography column makes PostGIS order by distance on the sphere, like our index;
 * geometry `<->` on longitude/latitude would order by planar degrees. Every PostGIS answer is
 * compared with ours: same ids in the same order, same distances within 1 mm (a swap of two
 * units whose distances differ by less than 1 mm is reported as a tie, not a mismatch). Then it
 * moves every unit by up to ~30 m (one GPS tick at 100 km/h) for several rounds and reports
 * updates per second.
 *
 * Usage (normally through bench/run knn): bench_knn [SIZE...]; the conninfo comes from the
 * environment variable GOLDLINE_PG_URL. Prints a table and the headline lines
 * `knn_speedup_vs_postgis: X` (median PostGIS time / median index time, at 100k) and
 * `index_updates_per_s: X` (at 100k).
 */
#include "geo.h"
#include "geo_index.h"

#include <libpq-fe.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define K 5
#define OUR_QUERIES 50000
#define PG_QUERIES 1000
#define PG_WARMUP 50
#define UPDATE_ROUNDS_MIN 4
#define UPDATE_TARGET 4000000 /* updates timed per size, at least */
#define TIE_M 1e-3
#define TABLE "bench_knn_points"

/* The box: 0.9 deg of latitude (100 km) by 1.04 deg of longitude (100 km at 30.45 N). */
#define LAT0 30.0
#define LAT_SPAN 0.9
#define LON0 119.7
#define LON_SPAN 1.04

static uint64_t rng_state = 20261125;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double rng_range(double lo, double hi)
{
    return lo + (hi - lo) * ((double)(rng_next() >> 11) * (1.0 / 9007199254740992.0));
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of n samples; sorts them. */
static double quantile(double *v, size_t n, double q)
{
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)ceil(q * (double)n);
    return v[i == 0 ? 0 : i - 1];
}

struct result {
    size_t n;
    double ours_med, ours_p99;
    double pg_med, pg_p99;
    double updates_per_s;
    int compared, agree, ties, mismatches;
    double max_dist_diff_m;
    double load_s, gist_s;
};

static int pg_ok(PGconn *pg, PGresult *res, ExecStatusType want, const char *what)
{
    if (PQresultStatus(res) == want)
        return 1;
    fprintf(stderr, "bench_knn: %s: %s", what, PQerrorMessage(pg));
    return 0;
}

static int pg_exec(PGconn *pg, const char *sql)
{
    PGresult *res = PQexec(pg, sql);
    int ok = pg_ok(pg, res, PGRES_COMMAND_OK, sql);
    PQclear(res);
    return ok ? 0 : -1;
}

/* Loads the points into TABLE with COPY and indexes them; times both. */
static int pg_load(PGconn *pg, size_t n, const double *lat, const double *lon, struct result *r)
{
    if (pg_exec(pg, "SET client_min_messages = warning") < 0 ||
        pg_exec(pg, "DROP TABLE IF EXISTS " TABLE) < 0 ||
        pg_exec(pg, "CREATE UNLOGGED TABLE " TABLE
                    " (id integer PRIMARY KEY, pos geography(Point, 4326) NOT NULL)") < 0)
        return -1;
    double t0 = now_us();
    PGresult *res = PQexec(pg, "COPY " TABLE " (id, pos) FROM STDIN");
    if (!pg_ok(pg, res, PGRES_COPY_IN, "COPY")) {
        PQclear(res);
        return -1;
    }
    PQclear(res);
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    if (buf == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(buf + len, cap - len, "%zu\tSRID=4326;POINT(%.17g %.17g)\n", i,
                                lon[i], lat[i]);
        if (cap - len < 128 || i + 1 == n) {
            if (PQputCopyData(pg, buf, (int)len) != 1) {
                fprintf(stderr, "bench_knn: COPY data: %s", PQerrorMessage(pg));
                free(buf);
                return -1;
            }
            len = 0;
        }
    }
    free(buf);
    if (PQputCopyEnd(pg, NULL) != 1) {
        fprintf(stderr, "bench_knn: COPY end: %s", PQerrorMessage(pg));
        return -1;
    }
    res = PQgetResult(pg);
    int ok = pg_ok(pg, res, PGRES_COMMAND_OK, "COPY");
    PQclear(res);
    while ((res = PQgetResult(pg)) != NULL)
        PQclear(res);
    if (!ok)
        return -1;
    r->load_s = (now_us() - t0) / 1e6;
    t0 = now_us();
    if (pg_exec(pg, "CREATE INDEX " TABLE "_pos ON " TABLE " USING gist (pos)") < 0 ||
        pg_exec(pg, "ANALYZE " TABLE) < 0)
        return -1;
    r->gist_s = (now_us() - t0) / 1e6;
    return 0;
}

static const char KNN_SQL[] =
    "SELECT id, pos <-> $1::geography FROM " TABLE " ORDER BY pos <-> $1::geography LIMIT 5";

/* Prints the plan once, so the output shows the GiST index does the ordering. */
static int pg_show_plan(PGconn *pg)
{
    PGresult *res = PQexec(pg, "EXPLAIN (COSTS OFF) EXECUTE knn('SRID=4326;POINT(120.2 30.4)')");
    if (!pg_ok(pg, res, PGRES_TUPLES_OK, "EXPLAIN"))
        return -1;
    int used = 0;
    for (int i = 0; i < PQntuples(res); i++)
        if (strstr(PQgetvalue(res, i, 0), "Index Scan using " TABLE "_pos") != NULL)
            used = 1;
    PQclear(res);
    printf("  PostGIS plan: %s\n", used ? "Index Scan using the GiST index, ordered by <->"
                                        : "NOT using the GiST index (see EXPLAIN)");
    return 0;
}

/* Runs the timed PostGIS queries and compares each answer with the index. */
static int pg_queries(PGconn *pg, const geo_index_t *idx, struct result *r)
{
    double *t = malloc(PG_QUERIES * sizeof *t);
    if (t == NULL)
        return -1;
    for (int q = -PG_WARMUP; q < PG_QUERIES; q++) {
        double lat = rng_range(LAT0, LAT0 + LAT_SPAN), lon = rng_range(LON0, LON0 + LON_SPAN);
        char pt[96];
        snprintf(pt, sizeof pt, "SRID=4326;POINT(%.17g %.17g)", lon, lat);
        const char *params[1] = {pt};
        double t0 = now_us();
        PGresult *res = PQexecPrepared(pg, "knn", 1, params, NULL, NULL, 0);
        double dt = now_us() - t0;
        if (!pg_ok(pg, res, PGRES_TUPLES_OK, "knn query")) {
            PQclear(res);
            free(t);
            return -1;
        }
        if (q < 0) {
            PQclear(res);
            continue;
        }
        t[q] = dt;
        geo_hit_t ours[K];
        size_t n = geo_index_nearest(idx, lat, lon, K, NULL, NULL, ours);
        int rows = PQntuples(res);
        int same = (size_t)rows == n, tie = 0;
        for (int i = 0; same && i < rows; i++) {
            uint32_t id = (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
            double d = strtod(PQgetvalue(res, i, 1), NULL);
            double diff = fabs(d - ours[i].distance_m);
            if (diff > r->max_dist_diff_m)
                r->max_dist_diff_m = diff;
            if (diff >= TIE_M)
                same = 0; /* a different distance at this rank: a real disagreement */
            else if (id != ours[i].id)
                tie = 1; /* another unit at the same distance (within 1 mm) */
        }
        PQclear(res);
        r->compared++;
        if (!same)
            r->mismatches++;
        else if (tie)
            r->ties++;
        else
            r->agree++;
        if (!same && r->mismatches <= 3)
            printf("  MISMATCH at (%.7f, %.7f): PostGIS and the index disagree\n", lat, lon);
    }
    r->pg_med = quantile(t, PG_QUERIES, 0.5);
    r->pg_p99 = quantile(t, PG_QUERIES, 0.99);
    free(t);
    return 0;
}

static int run_size(PGconn *pg, size_t n, struct result *r)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    double *lat = malloc(n * sizeof *lat), *lon = malloc(n * sizeof *lon);
    double *lat2 = malloc(n * sizeof *lat2), *lon2 = malloc(n * sizeof *lon2);
    double *t = malloc(OUR_QUERIES * sizeof *t);
    geo_index_t *idx = geo_index_new(0);
    int rc = -1;
    if (lat == NULL || lon == NULL || lat2 == NULL || lon2 == NULL || t == NULL || idx == NULL) {
        fprintf(stderr, "bench_knn: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        lat[i] = rng_range(LAT0, LAT0 + LAT_SPAN);
        lon[i] = rng_range(LON0, LON0 + LON_SPAN);
        if (geo_index_update(idx, (uint32_t)i, lat[i], lon[i]) != 0) {
            fprintf(stderr, "bench_knn: index update failed\n");
            goto done;
        }
    }

    /* Our index: queries one by one. */
    geo_hit_t out[K];
    size_t sink = 0;
    for (int q = 0; q < OUR_QUERIES; q++) {
        double qlat = rng_range(LAT0, LAT0 + LAT_SPAN), qlon = rng_range(LON0, LON0 + LON_SPAN);
        double t0 = now_us();
        sink += geo_index_nearest(idx, qlat, qlon, K, NULL, NULL, out);
        t[q] = now_us() - t0;
    }
    if (sink != (size_t)OUR_QUERIES * K) {
        fprintf(stderr, "bench_knn: the index returned fewer than %d hits\n", K);
        goto done;
    }
    r->ours_med = quantile(t, OUR_QUERIES, 0.5);
    r->ours_p99 = quantile(t, OUR_QUERIES, 0.99);

    /* PostGIS on the same points, before they move. */
    if (pg != NULL) {
        if (pg_load(pg, n, lat, lon, r) < 0)
            goto done;
        PGresult *res = PQprepare(pg, "knn", KNN_SQL, 1, NULL);
        int ok = pg_ok(pg, res, PGRES_COMMAND_OK, "PREPARE");
        PQclear(res);
        if (!ok || pg_show_plan(pg) < 0 || pg_queries(pg, idx, r) < 0)
            goto done;
        if (pg_exec(pg, "DEALLOCATE knn") < 0 || pg_exec(pg, "DROP TABLE " TABLE) < 0)
            goto done;
    }

    /* Updates: every unit moves up to ~30 m each round, back and forth between two positions. */
    for (size_t i = 0; i < n; i++) {
        geo_destination(lat[i], lon[i], rng_range(0, 360), rng_range(0, 30), &lat2[i], &lon2[i]);
    }
    int rounds = UPDATE_ROUNDS_MIN;
    while ((size_t)rounds * n < UPDATE_TARGET)
        rounds += 2;
    double t0 = now_us();
    for (int round = 0; round < rounds; round++) {
        const double *la = round & 1 ? lat : lat2, *lo = round & 1 ? lon : lon2;
        for (size_t i = 0; i < n; i++) {
            if (geo_index_update(idx, (uint32_t)i, la[i], lo[i]) != 0) {
                fprintf(stderr, "bench_knn: index update failed\n");
                goto done;
            }
        }
    }
    double secs = (now_us() - t0) / 1e6;
    r->updates_per_s = (double)rounds * (double)n / secs;
    if (geo_index_count(idx) != n) {
        fprintf(stderr, "bench_knn: index count %zu after updates, expected %zu\n",
                geo_index_count(idx), n);
        goto done;
    }
    rc = 0;
done:
    geo_index_free(idx);
    free(t);
    free(lat);
    free(lon);
    free(lat2);
    free(lon2);
    return rc;
}

int main(int argc, char **argv)
{
    size_t sizes[8] = {10000, 100000, 1000000};
    int nsizes = 3;
    if (argc > 1) {
        nsizes = 0;
        for (int i = 1; i < argc && nsizes < 8; i++) {
            char *end;
            unsigned long long v = strtoull(argv[i], &end, 10);
            if (*end != '\0' || v == 0 || v > 10000000) {
                fprintf(stderr, "usage: bench_knn [SIZE...] (1 .. 10000000 positions)\n");
                return 2;
            }
            sizes[nsizes++] = (size_t)v;
        }
    }
    const char *url = getenv("GOLDLINE_PG_URL");
    PGconn *pg = NULL;
    if (url != NULL && *url != '\0') {
        pg = PQconnectdb(url);
        if (PQstatus(pg) != CONNECTION_OK) {
            fprintf(stderr, "bench_knn: cannot connect to PostGIS: %s", PQerrorMessage(pg));
            PQfinish(pg);
            return 1;
        }
    } else {
        printf("GOLDLINE_PG_URL is not set: PostGIS comparison skipped (run through bench/run)\n");
    }

    printf("knn: k=%d, random positions in a %.2f x %.2f deg box (about 100 x 100 km) at "
           "%.1f N %.1f E\n",
           K, LAT_SPAN, LON_SPAN, LAT0 + LAT_SPAN / 2, LON0 + LON_SPAN / 2);
    printf("  index: geo_index, default ~1 km cells; %d timed queries per size\n", OUR_QUERIES);
    if (pg != NULL)
        printf("  PostGIS: geography(Point,4326) column with a GiST index, prepared\n"
               "    \"%s\",\n    synchronous libpq over loopback TCP; %d timed queries per size "
               "(ordering by true distance on the sphere, not planar degrees)\n",
               KNN_SQL, PG_QUERIES);

    struct result res[8];
    for (int i = 0; i < nsizes; i++) {
        printf("size %zu:\n", sizes[i]);
        fflush(stdout);
        if (run_size(pg, sizes[i], &res[i]) < 0) {
            PQfinish(pg);
            return 1;
        }
        if (pg != NULL)
            printf("  PostGIS load: COPY %.2f s, GiST index %.2f s\n", res[i].load_s,
                   res[i].gist_s);
    }
    PQfinish(pg);

    printf("\n%9s %11s %11s %12s %12s %9s %14s %s\n", "positions", "index_med", "index_p99",
           "postgis_med", "postgis_p99", "speedup", "updates/s", "top-5 vs PostGIS");
    printf("%9s %11s %11s %12s %12s %9s %14s\n", "", "(us)", "(us)", "(us)", "(us)", "(median)",
           "");
    for (int i = 0; i < nsizes; i++) {
        const struct result *r = &res[i];
        if (pg != NULL)
            printf("%9zu %11.2f %11.2f %12.1f %12.1f %9.0f %14.0f %d/%d same, %d ties, %d "
                   "mismatches, max |d diff| %.2g m\n",
                   r->n, r->ours_med, r->ours_p99, r->pg_med, r->pg_p99, r->pg_med / r->ours_med,
                   r->updates_per_s, r->agree + r->ties, r->compared, r->ties, r->mismatches,
                   r->max_dist_diff_m);
        else
            printf("%9zu %11.2f %11.2f %12s %12s %9s %14.0f\n", r->n, r->ours_med, r->ours_p99, "-",
                   "-", "-", r->updates_per_s);
    }
    int mismatches = 0;
    const struct result *head = NULL;
    for (int i = 0; i < nsizes; i++) {
        mismatches += res[i].mismatches;
        if (res[i].n == 100000)
            head = &res[i];
    }
    if (head == NULL)
        head = &res[nsizes > 1 ? 1 : 0];
    printf("\n");
    if (pg != NULL)
        printf("knn_speedup_vs_postgis: %.0f\n", head->pg_med / head->ours_med);
    printf("index_updates_per_s: %.0f\n", head->updates_per_s);
    if (mismatches > 0) {
        fprintf(stderr, "bench_knn: %d top-5 answers differ from PostGIS\n", mismatches);
        return 1;
    }
    return 0;
}
