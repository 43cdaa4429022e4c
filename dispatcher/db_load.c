/*
 * Start-up: connect, migrate, load (see db.h). Blocking libpq on purpose: the dispatcher serves
 * nothing until its state is back, and this runs once.
 */
#include "db.h"

#include "api_roads.h"
#include "err.h"
#include "log.h"
#include "seal.h"
#include "text.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <inttypes.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS(col) "(extract(epoch from " col ") * 1000)::bigint"

static PGconn *connect_waiting(const char *conninfo, int wait_s)
{
    for (int waited = 0;; waited += 2) {
        PGconn *c = PQconnectdb(conninfo);
        if (PQstatus(c) == CONNECTION_OK)
            return c;
        char msg[256];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
        msg[strcspn(msg, "\n")] = '\0';
        PQfinish(c);
        if (waited >= wait_s) {
            LOG_ERR("db", "cannot connect to the database: %s", msg);
            return NULL;
        }
        if (waited % 10 == 0)
            LOG_WARN("db", "waiting for the database (%d/%d s): %s", waited, wait_s, msg);
        sleep(2);
    }
}

/* Runs `sql`; returns 0 or GL_EDB (logged with `what`). */
static int exec_ok(PGconn *c, const char *sql, const char *what)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : GL_EDB;
    if (rc)
        LOG_ERR("db", "%s: %s", what, PQresultErrorMessage(r));
    PQclear(r);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[8192];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!buf)
        buf = calloc(1, 1);
    else
        buf[len] = '\0';
    return buf;
}

/* Applies one migration file in a transaction, unless schema_migrations has it. */
static int apply_migration(PGconn *c, const char *dir, const char *name)
{
    const char *params[1] = {name};
    PGresult *r = PQexecParams(c, "SELECT 1 FROM schema_migrations WHERE name = $1", 1, NULL,
                               params, NULL, NULL, 0);
    int done = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    PQclear(r);
    if (done)
        return 0;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *sql = read_file(path);
    if (!sql) {
        LOG_ERR("db", "cannot read migration %s: %s", path, strerror(errno));
        return GL_EDB;
    }
    int rc = exec_ok(c, "BEGIN", "begin");
    if (!rc)
        rc = exec_ok(c, sql, name);
    if (!rc) {
        r = PQexecParams(c, "INSERT INTO schema_migrations (name) VALUES ($1)", 1, NULL, params,
                         NULL, NULL, 0);
        rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : GL_EDB;
        PQclear(r);
    }
    if (!rc)
        rc = exec_ok(c, "COMMIT", "commit");
    if (rc)
        exec_ok(c, "ROLLBACK", "rollback");
    else
        LOG_INFO("db", "applied migration %s", name);
    free(sql);
    return rc;
}

static int migrate(PGconn *c, const char *dir)
{
    if (exec_ok(c, "SET client_min_messages = warning; CREATE TABLE IF NOT EXISTS "
                   "schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL "
                   "DEFAULT now())",
                "schema_migrations"))
        return GL_EDB;
    DIR *dh = opendir(dir);
    if (!dh) {
        LOG_ERR("db", "cannot open the schema folder %s: %s", dir, strerror(errno));
        return GL_EDB;
    }
    char *names[256];
    int n = 0, rc = 0;
    struct dirent *de;
    while ((de = readdir(dh)) && n < 256) {
        size_t len = strlen(de->d_name);
        if (len > 4 && !strcmp(de->d_name + len - 4, ".sql"))
            names[n++] = strdup(de->d_name);
    }
    closedir(dh);
    qsort(names, (size_t)n, sizeof names[0], cmp_names);
    for (int i = 0; i < n; i++) {
        if (!rc)
            rc = names[i] ? apply_migration(c, dir, names[i]) : GL_ENOMEM;
        free(names[i]);
    }
    return rc;
}

static PGresult *query(PGconn *c, const char *sql, const char *what)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        LOG_ERR("db", "%s: %s", what, PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    return r;
}

static const char *val(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static long long num(PGresult *r, int row, int col)
{
    const char *s = val(r, row, col);
    return s ? strtoll(s, NULL, 10) : 0;
}

/* Applies a one-op record built here to the core. */
static int apply_op(dispatch_t *d, json_t *op)
{
    json_t *rec = json_pack("{s:[o]}", "ops", op);
    char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);
    if (!text)
        return GL_ENOMEM;
    int rc = dispatch_apply_record(d, text, strlen(text));
    free(text);
    return rc;
}

/* Parses a PostgreSQL text[] literal of simple words ({ecg12,incubator}) into caps. */
static void parse_caps(const char *arr, vehicle_t *v)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", arr ? arr : "");
    char *save = NULL;
    for (char *t = strtok_r(buf, "{},\"", &save); t && v->ncaps < FLEET_MAX_CAPS;
         t = strtok_r(NULL, "{},\"", &save))
        snprintf(v->caps[v->ncaps++], sizeof v->caps[0], "%s", t);
}

static int load_vehicles(PGconn *c, dispatch_t *d)
{
    PGresult *r = query(c,
                        "SELECT id, call_sign, coalesce(station_id, ''), kind, capabilities, "
                        "status, " MS("status_at") ", coalesce(incident_id, ''), "
                        "ST_Y(last_geom::geometry), ST_X(last_geom::geometry), " MS("last_fix_at")
                        ", last_speed_mps, last_heading_deg, last_uplink_seq, last_downlink_seq, "
                        "pending_downlink::text, seal_key FROM vehicles WHERE active ORDER BY id",
                        "loading the fleet");
    if (!r)
        return GL_EDB;
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        vehicle_t t;
        memset(&t, 0, sizeof t);
        if (strlen(val(r, i, 0)) >= sizeof t.id) {
            LOG_WARN("db", "vehicle id '%.40s...' too long: skipped", val(r, i, 0));
            continue;
        }
        snprintf(t.id, sizeof t.id, "%s", val(r, i, 0));
        gl_utf8_copy(t.call_sign, sizeof t.call_sign, val(r, i, 1));
        snprintf(t.station, sizeof t.station, "%s", val(r, i, 2));
        snprintf(t.kind, sizeof t.kind, "%s", val(r, i, 3));
        parse_caps(val(r, i, 4), &t);
        t.status = VEHICLE_STATUS_AVAILABLE;
        t.stale = 1; /* until a fix arrives after this start */
        if (val(r, i, 8) && val(r, i, 9)) {
            t.has_fix = 1;
            t.lat = strtod(val(r, i, 8), NULL);
            t.lon = strtod(val(r, i, 9), NULL);
            t.fix_at_ms = num(r, i, 10);
            t.speed_mps = val(r, i, 11) ? strtof(val(r, i, 11), NULL) : 0;
            t.heading_deg = val(r, i, 12) ? strtof(val(r, i, 12), NULL) : 0;
            t.gps.has_good = 1;
            t.gps.lat = t.lat;
            t.gps.lon = t.lon;
            t.gps.at_ms = t.fix_at_ms;
        }
        t.uplink_seq = t.durable_seq = t.acked_seq = (uint64_t)num(r, i, 13);
        if (val(r, i, 16)) {
            seal_key_t key;
            if (seal_key_from_hex(val(r, i, 16), &key) != 0) {
                LOG_ERR("db", "veh=%s: its seal_key is not 64 hex digits: the unit is refused "
                        "until it is provisioned again", t.id);
                memset(key.k, 0, sizeof key.k); /* a key nobody has: everything is refused */
            }
            t.sealed = 1;
            memcpy(t.seal_key, key.k, sizeof t.seal_key);
        }
        t.downlink_seq = (uint64_t)num(r, i, 14);
        rc = fleet_add(dispatch_fleet(d), &t, NULL);
        if (rc)
            break;
        json_error_t jerr;
        json_t *pending = json_loads(val(r, i, 15) ? val(r, i, 15) : "[]", 0, &jerr);
        json_t *op = json_pack("{s:s,s:s,s:s,s:I,s:s,s:I,s:I,s:o}", "t", "vehicle", "id", t.id,
                               "status", val(r, i, 5), "status_at", (json_int_t)num(r, i, 6),
                               "incident", val(r, i, 7), "uplink_seq", (json_int_t)t.uplink_seq,
                               "downlink_seq", (json_int_t)t.downlink_seq, "pending",
                               pending ? pending : json_array());
        rc = op ? apply_op(d, op) : GL_ENOMEM;
    }
    LOG_INFO("db", "fleet: %zu vehicles", fleet_count(dispatch_fleet(d)));
    PQclear(r);
    return rc;
}

static int load_incidents(PGconn *c, dispatch_t *d)
{
    PGresult *r = query(c,
                        "SELECT id, day, day_seq, " MS("created_at") ", ST_Y(geom::geometry), "
                        "ST_X(geom::geometry), complaint, priority, coalesce(" MS("onset_at")
                        ", 0), caller_number, address, notes, state, coalesce(vehicle_id, ''), "
                        MS("updated_at") " FROM incidents WHERE state NOT IN ('closed', "
                        "'cancelled') ORDER BY created_at, id",
                        "loading open incidents");
    if (!r)
        return GL_EDB;
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        json_t *op = json_pack(
            "{s:s,s:s,s:I,s:I,s:I,s:f,s:f,s:s,s:I,s:I,s:s?,s:s?,s:s?,s:s,s:s,s:I,s:I}", "t",
            "incident", "id", val(r, i, 0), "day", (json_int_t)num(r, i, 1), "day_seq",
            (json_int_t)num(r, i, 2), "created", (json_int_t)num(r, i, 3), "lat",
            strtod(val(r, i, 4), NULL), "lon", strtod(val(r, i, 5), NULL), "complaint",
            val(r, i, 6), "priority", (json_int_t)num(r, i, 7), "onset", (json_int_t)num(r, i, 8),
            "caller", val(r, i, 9), "address", val(r, i, 10), "notes", val(r, i, 11), "state",
            val(r, i, 12), "vehicle", val(r, i, 13), "updated", (json_int_t)num(r, i, 14),
            "auto_assign_at", (json_int_t)0);
        rc = op ? apply_op(d, op) : GL_ENOMEM;
    }
    size_t open = (size_t)PQntuples(r);
    PQclear(r);
    if (rc)
        return rc;
    /* A priority-1 call still waiting for a unit gets its automatic assignment back. */
    incident_table_t *t = dispatch_incidents(d);
    for (size_t i = 0; i < incident_table_count(t); i++) {
        incident_t *inc = incident_table_at(t, i);
        if (inc->state == INCIDENT_STATE_NEW && inc->priority == 1 &&
            dispatch_params(d)->auto_assign_ms > 0)
            inc->auto_assign_at_ms = inc->created_ms + dispatch_params(d)->auto_assign_ms;
    }
    r = query(c,
              "SELECT e.incident_id, e.seq, " MS("e.at") ", e.kind, e.source, e.vehicle_id, "
              "e.detail::text FROM incident_events e JOIN incidents i ON i.id = e.incident_id "
              "WHERE i.state NOT IN ('closed', 'cancelled') ORDER BY e.incident_id, e.seq",
              "loading timelines");
    if (!r)
        return GL_EDB;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        json_error_t jerr;
        json_t *detail = val(r, i, 6) ? json_loads(val(r, i, 6), 0, &jerr) : NULL;
        json_t *op = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s,s:s?,s:o?}", "t", "event", "incident",
                               val(r, i, 0), "seq", (json_int_t)num(r, i, 1), "at",
                               (json_int_t)num(r, i, 2), "kind", val(r, i, 3), "source",
                               val(r, i, 4), "vehicle", val(r, i, 5), "detail", detail);
        rc = op ? apply_op(d, op) : GL_ENOMEM;
    }
    PQclear(r);
    if (rc)
        return rc;
    r = query(c, "SELECT day, max(day_seq) FROM incidents GROUP BY day ORDER BY day DESC LIMIT 1",
              "incident numbering");
    if (!r)
        return GL_EDB;
    if (PQntuples(r) == 1)
        dispatch_note_incident_number(d, (int)num(r, 0, 0), (int)num(r, 0, 1));
    PQclear(r);
    LOG_INFO("db", "open incidents: %zu", open);
    return 0;
}

/* The golden-time metrics (table golden_metrics of migration 004). */
static int load_metrics(PGconn *c, dispatch_t *d)
{
    PGresult *r = query(c,
                        "SELECT name, applies_to, start_event, end_event, target_s, "
                        "coalesce(warning_s, 0) FROM golden_metrics WHERE active ORDER BY name",
                        "loading golden-time metrics");
    if (!r)
        return GL_EDB;
    int n = PQntuples(r), rc = 0;
    golden_metric_t *m = calloc((size_t)(n ? n : 1), sizeof *m);
    if (!m) {
        PQclear(r);
        return GL_ENOMEM;
    }
    int kept = 0;
    for (int i = 0; i < n; i++) {
        golden_metric_t *g = &m[kept];
        if (strlen(val(r, i, 0)) >= sizeof g->name || strlen(val(r, i, 2)) >= sizeof g->start_event ||
            strlen(val(r, i, 3)) >= sizeof g->end_event) {
            LOG_WARN("db", "golden metric '%.40s': a name or event list is too long: skipped",
                     val(r, i, 0));
            continue;
        }
        snprintf(g->name, sizeof g->name, "%s", val(r, i, 0));
        snprintf(g->applies_to, sizeof g->applies_to, "%s", val(r, i, 1));
        snprintf(g->start_event, sizeof g->start_event, "%s", val(r, i, 2));
        snprintf(g->end_event, sizeof g->end_event, "%s", val(r, i, 3));
        g->target_ms = num(r, i, 4) * 1000;
        g->warning_ms = num(r, i, 5) * 1000;
        kept++;
    }
    PQclear(r);
    rc = dispatch_set_metrics(d, m, (size_t)kept);
    free(m);
    LOG_INFO("db", "golden-time metrics: %d", kept);
    return rc;
}

/*
 * The golden rescue circle's demand points (places of deploy/import-osm.sh, population as
 * tagged: an untagged place counts as a point with no population) and the stations units may be
 * moved up to. Failures leave coverage off, logged: dispatch does not need it.
 */
static void load_demand(PGconn *c, roads_t *roads)
{
    PGresult *p = query(c,
                        "SELECT name, ST_Y(geom::geometry), ST_X(geom::geometry), "
                        "coalesce(population, 0), area_class FROM places WHERE demand ORDER BY id",
                        "loading demand points");
    PGresult *st = query(c, "SELECT id, ST_Y(geom::geometry), ST_X(geom::geometry) FROM stations "
                            "ORDER BY id", "loading stations");
    size_t n = p ? (size_t)PQntuples(p) : 0, ns = st ? (size_t)PQntuples(st) : 0;
    coverage_demand_t *dm = calloc(n ? n : 1, sizeof *dm);
    const char **names = calloc(n ? n : 1, sizeof *names), **ids = calloc(ns ? ns : 1, sizeof *ids);
    double *slat = calloc(ns ? ns : 1, sizeof *slat), *slon = calloc(ns ? ns : 1, sizeof *slon);
    if (p && st && dm && names && ids && slat && slon) {
        for (size_t i = 0; i < n; i++) {
            names[i] = val(p, (int)i, 0);
            dm[i].lat = strtod(val(p, (int)i, 1), NULL);
            dm[i].lon = strtod(val(p, (int)i, 2), NULL);
            dm[i].population = (uint64_t)num(p, (int)i, 3);
            dm[i].area = !strcmp(val(p, (int)i, 4), "countryside") ? COVERAGE_AREA_COUNTRYSIDE
                                                                   : COVERAGE_AREA_TOWN;
        }
        for (size_t i = 0; i < ns; i++) {
            ids[i] = val(st, (int)i, 0);
            slat[i] = strtod(val(st, (int)i, 1), NULL);
            slon[i] = strtod(val(st, (int)i, 2), NULL);
        }
        int rc = roads_set_demand(roads, dm, names, n, slat, slon, ids, ns);
        if (rc)
            LOG_WARN("db", "coverage off: %s", gl_strerror(rc));
        else
            LOG_INFO("db", "coverage: %zu demand points, %zu stations", n, ns);
    }
    PQclear(p);
    PQclear(st);
    free(dm);
    free(names);
    free(ids);
    free(slat);
    free(slon);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Index of pgRouting vertex id `id` in the sorted ids, or -1. */
static long vertex_index(const int64_t *ids, size_t n, int64_t id)
{
    const int64_t *hit = bsearch(&id, ids, n, sizeof *ids, cmp_i64);
    return hit ? (long)(hit - ids) : -1;
}

/*
 * The road graph of deploy/import-osm.sh (pgRouting tables ways / ways_vertices_pgr): each way
 * gives an arc per drivable direction (cost_s / reverse_cost_s in seconds, negative = closed),
 * costed in microseconds as geo/graph.h wants. No tables, or no drivable road: no graph, and
 * the ETAs are straight-line (said once here, and on every candidate).
 */
static int load_roads(PGconn *c, dispatch_t *d)
{
    PGresult *r = query(c, "SELECT to_regclass('public.ways') IS NOT NULL AND "
                           "to_regclass('public.ways_vertices_pgr') IS NOT NULL",
                        "looking for the road graph");
    int present = r && PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    if (!present) {
        LOG_WARN("db", "no road graph (run deploy/import-osm.sh): ETAs are straight-line");
        return 0;
    }
    PGresult *vr = query(c, "SELECT id, ST_Y(the_geom), ST_X(the_geom) FROM ways_vertices_pgr "
                            "ORDER BY id", "loading road vertices");
    PGresult *er = query(c, "SELECT source, target, cost_s, reverse_cost_s, length_m, osm_id "
                            "FROM ways WHERE source IS NOT NULL AND target IS NOT NULL",
                         "loading road edges");
    int rc = 0;
    size_t nv = vr ? (size_t)PQntuples(vr) : 0, ne = er ? (size_t)PQntuples(er) : 0;
    int64_t *ids = calloc(nv ? nv : 1, sizeof *ids);
    double *lat = calloc(nv ? nv : 1, sizeof *lat), *lon = calloc(nv ? nv : 1, sizeof *lon);
    graph_edge_t *edges = calloc(ne ? 2 * ne : 1, sizeof *edges);
    int64_t *way = calloc(ne ? 2 * ne : 1, sizeof *way); /* OSM way of each arc (closures) */
    uint32_t *arc_id = calloc(ne ? 2 * ne : 1, sizeof *arc_id);
    size_t n = 0;
    if (!vr || !er) {
        rc = GL_EDB;
        goto done;
    }
    if (!ids || !lat || !lon || !edges || !way || !arc_id) {
        rc = GL_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < nv; i++) {
        ids[i] = num(vr, (int)i, 0);
        lat[i] = strtod(val(vr, (int)i, 1), NULL);
        lon[i] = strtod(val(vr, (int)i, 2), NULL);
    }
    for (size_t i = 0; i < ne; i++) {
        long s = vertex_index(ids, nv, num(er, (int)i, 0)), t = vertex_index(ids, nv, num(er, (int)i, 1));
        double fwd = val(er, (int)i, 2) ? strtod(val(er, (int)i, 2), NULL) : -1;
        double rev = val(er, (int)i, 3) ? strtod(val(er, (int)i, 3), NULL) : -1;
        double len = val(er, (int)i, 4) ? strtod(val(er, (int)i, 4), NULL) : 0;
        if (s < 0 || t < 0)
            continue;
        way[n] = way[n + 1] = val(er, (int)i, 5) ? strtoll(val(er, (int)i, 5), NULL, 10) : 0;
        if (fwd >= 0)
            edges[n++] = (graph_edge_t){(uint32_t)s, (uint32_t)t, llround(fwd * 1e6), len};
        if (rev >= 0)
            edges[n++] = (graph_edge_t){(uint32_t)t, (uint32_t)s, llround(rev * 1e6), len};
    }
    if (n == 0) {
        LOG_WARN("db", "the road graph has no drivable arc: ETAs are straight-line");
        goto done;
    }
    graph_t *g;
    rc = graph_new((uint32_t)nv, lat, lon, edges, n, arc_id, &g);
    roads_t *roads = NULL;
    if (rc == 0)
        rc = roads_new(g, &roads); /* takes g */
    if (rc == 0) {
        if (roads_set_arc_ways(roads, way, arc_id, n) != 0)
            LOG_WARN("db", "no memory for the OSM ways of the road graph: closures by way "
                           "unavailable");
        load_demand(c, roads);
        dispatch_set_roads(d, roads);
        LOG_INFO("db", "road graph: %zu vertices, %zu arcs; ETAs by road", nv, n);
    } else {
        LOG_ERR("db", "the road graph could not be built (%s): ETAs are straight-line",
                gl_strerror(rc));
        rc = 0; /* dispatch goes on without it */
    }
done:
    PQclear(vr);
    PQclear(er);
    free(ids);
    free(lat);
    free(lon);
    free(edges);
    free(way);
    free(arc_id);
    return rc;
}

/* Road closures and slowdowns kept in PostGIS (api_roads.h), applied on the graph just loaded. */
static int load_closures(PGconn *c, dispatch_t *d)
{
    PGresult *r = query(c, "SELECT op FROM road_closures ORDER BY (op->>'at')::bigint, id",
                        "loading road closures");
    if (!r)
        return GL_EDB;
    int n = PQntuples(r), rc = 0;
    for (int i = 0; i < n && rc != GL_ENOMEM; i++)
        if ((rc = api_roads_restore(d, val(r, i, 0))) == GL_EPROTO)
            LOG_WARN("db", "road closure row %d unreadable: skipped", i);
    PQclear(r);
    if (n)
        LOG_INFO("db", "road closures: %d kept", n);
    return rc == GL_ENOMEM ? rc : 0;
}

/* The hospitals patients may be taken to, with their capabilities and live status. */
static int load_hospitals(PGconn *c, dispatch_t *d)
{
    PGresult *r = query(c,
                        "SELECT id, name, ST_Y(geom::geometry), ST_X(geom::geometry), "
                        "capabilities, cath_lab_ready, ct_ready, on_diversion FROM hospitals "
                        "ORDER BY id",
                        "loading hospitals");
    if (!r)
        return GL_EDB;
    size_t n = (size_t)PQntuples(r);
    hospital_t *h = calloc(n ? n : 1, sizeof *h);
    if (!h) {
        PQclear(r);
        return GL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        int row = (int)i;
        gl_utf8_copy(h[i].id, sizeof h[i].id, val(r, row, 0));
        gl_utf8_copy(h[i].name, sizeof h[i].name, val(r, row, 1));
        h[i].lat = strtod(val(r, row, 2), NULL);
        h[i].lon = strtod(val(r, row, 3), NULL);
        char caps[512];
        snprintf(caps, sizeof caps, "%s", val(r, row, 4) ? val(r, row, 4) : "");
        char *save = NULL;
        for (char *t = strtok_r(caps, "{},\"", &save); t; t = strtok_r(NULL, "{},\"", &save))
            h[i].caps |= hospital_cap_parse(t);
        h[i].cath_lab_ready = !strcmp(val(r, row, 5), "t");
        h[i].ct_ready = !strcmp(val(r, row, 6), "t");
        h[i].on_diversion = !strcmp(val(r, row, 7), "t");
    }
    PQclear(r);
    int rc = dispatch_set_hospitals(d, h, n);
    free(h);
    LOG_INFO("db", "hospitals: %zu", n);
    return rc;
}

/*
 * The gazetteer (places.h): every named place of the import, the stations and the hospitals.
 * Pinyin initials come from places.initials when the import computed them (migration 010);
 * a database without that column still gives substring search. A failure leaves the gazetteer
 * empty, logged: dispatch does not need it.
 */
static void load_places(PGconn *c, dispatch_t *d)
{
    PGresult *col = query(c,
                          "SELECT count(*) FROM information_schema.columns WHERE table_name = "
                          "'places' AND column_name = 'initials'",
                          "looking for places.initials");
    int has_initials = col && num(col, 0, 0) > 0;
    PQclear(col);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT id, name, place, ST_Y(geom::geometry), ST_X(geom::geometry), "
             "coalesce(population, -1), %s FROM places "
             "UNION ALL SELECT id, coalesce(name, id), 'station', ST_Y(geom::geometry), "
             "ST_X(geom::geometry), -1, NULL FROM stations ORDER BY 1",
             has_initials ? "initials" : "NULL");
    PGresult *r = query(c, sql, "loading places");
    places_t *p = places_new();
    if (!r || !p) {
        PQclear(r);
        places_free(p);
        return;
    }
    size_t n = (size_t)PQntuples(r), skipped = 0;
    for (size_t i = 0; i < n; i++) {
        place_t pl;
        memset(&pl, 0, sizeof pl);
        int row = (int)i;
        gl_utf8_copy(pl.id, sizeof pl.id, val(r, row, 0));
        gl_utf8_copy(pl.name, sizeof pl.name, val(r, row, 1));
        gl_utf8_copy(pl.kind, sizeof pl.kind, val(r, row, 2));
        pl.lat = strtod(val(r, row, 3), NULL);
        pl.lon = strtod(val(r, row, 4), NULL);
        pl.population = num(r, row, 5);
        if (val(r, row, 6))
            gl_utf8_copy(pl.initials, sizeof pl.initials, val(r, row, 6));
        if (places_add(p, &pl) != 0)
            skipped++;
    }
    PQclear(r);
    size_t nh;
    const hospital_t *h = dispatch_hospitals(d, &nh);
    for (size_t i = 0; i < nh; i++) {
        place_t pl;
        memset(&pl, 0, sizeof pl);
        gl_utf8_copy(pl.id, sizeof pl.id, h[i].id);
        gl_utf8_copy(pl.name, sizeof pl.name, h[i].name);
        snprintf(pl.kind, sizeof pl.kind, "hospital");
        pl.lat = h[i].lat;
        pl.lon = h[i].lon;
        pl.population = -1;
        places_add(p, &pl);
    }
    LOG_INFO("db", "gazetteer: %zu places, stations and hospitals (%zu skipped)%s",
             places_count(p), skipped, has_initials ? "" : "; no pinyin initials");
    dispatch_set_places(d, p);
}

int db_load(const char *conninfo, const char *schema_dir, int wait_s, dispatch_t *d,
            uint64_t *applied_lsn)
{
    PGconn *c = connect_waiting(conninfo, wait_s);
    if (!c)
        return GL_EDB;
    int rc = migrate(c, schema_dir);
    if (!rc)
        rc = exec_ok(c,
                     "SELECT gl_ensure_position_partition(current_date), "
                     "gl_ensure_position_partition(current_date + 1)",
                     "position partitions");
    PGresult *r = rc ? NULL : query(c, "SELECT applied_lsn FROM journal_state", "journal state");
    if (!rc && !r)
        rc = GL_EDB;
    if (r) {
        *applied_lsn = PQntuples(r) ? (uint64_t)num(r, 0, 0) : 0;
        PQclear(r);
    }
    if (!rc)
        rc = load_metrics(c, d);
    if (!rc)
        rc = load_roads(c, d);
    if (!rc)
        rc = load_closures(c, d);
    if (!rc)
        rc = load_hospitals(c, d);
    if (!rc)
        load_places(c, d);
    if (!rc)
        rc = load_vehicles(c, d);
    if (!rc)
        rc = load_incidents(c, d);
    PQfinish(c);
    return rc;
}
