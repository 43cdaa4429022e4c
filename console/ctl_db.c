/*
 * PostGIS access of goldlinectl's report and import-calls (see ctl_db.h). SQL only fetches and
 * stores rows; every figure is computed in ctl_report.c.
 */
#include "ctl_db.h"

#include "err.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctl_db {
    PGconn *conn;
};

int ctl_db_conninfo(const char *opt, char *buf, size_t len)
{
    const char *v = opt ? opt : getenv("GOLDLINE_PG");
    if (!v || !*v)
        v = getenv("GOLDLINE_PG_URL");
    if (v && *v)
        return snprintf(buf, len, "%s", v) < (int)len ? 0 : GL_ERANGE;
    const char *var = getenv("GOLDLINE_VAR_DIR");
    char path[1024], pw[160] = "";
    snprintf(path, sizeof path, "%s/pg.password", var && *var ? var : "./var");
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(pw, sizeof pw, f))
            pw[0] = '\0';
        fclose(f);
    }
    pw[strcspn(pw, "\r\n")] = '\0';
    if (!pw[0]) {
        buf[0] = '\0'; /* libpq's environment and defaults */
        return 0;
    }
    const char *dbn = getenv("GOLDLINE_PG_DB"), *port = getenv("GOLDLINE_PG_PORT");
    int n = snprintf(buf, len,
                     "hostaddr=127.0.0.1 port=%s dbname=%s user=goldline password=%s "
                     "sslmode=disable gssencmode=disable connect_timeout=5",
                     port && *port ? port : "5433", dbn && *dbn ? dbn : "goldline", pw);
    return n < (int)len ? 0 : GL_ERANGE;
}

/* The first line of libpq's message, into msg. */
static void pq_msg(const char *what, const char *pqmsg, char *msg, size_t msglen)
{
    int n = snprintf(msg, msglen, "%s: %s", what, pqmsg ? pqmsg : "");
    if (n > 0)
        msg[strcspn(msg, "\n")] = '\0';
}

int ctl_db_open(const char *opt, ctl_db_t **out, char *msg, size_t msglen)
{
    char conninfo[1024];
    *out = NULL;
    if (ctl_db_conninfo(opt, conninfo, sizeof conninfo)) {
        snprintf(msg, msglen, "the connection string is too long");
        return GL_EINVAL;
    }
    ctl_db_t *db = calloc(1, sizeof *db);
    if (!db) {
        snprintf(msg, msglen, "out of memory");
        return GL_ENOMEM;
    }
    db->conn = PQconnectdb(conninfo);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        pq_msg("cannot connect to PostGIS (give --pg CONNINFO or GOLDLINE_PG, or start "
               "deploy/pg.sh)",
               PQerrorMessage(db->conn), msg, msglen);
        ctl_db_close(db);
        return GL_EDB;
    }
    PGresult *r = PQexec(db->conn, "SET client_min_messages = warning");
    PQclear(r);
    *out = db;
    return 0;
}

void ctl_db_close(ctl_db_t *db)
{
    if (!db)
        return;
    PQfinish(db->conn);
    free(db);
}

static PGresult *query(ctl_db_t *db, const char *what, const char *sql, int nparams,
                       const char *const *params, char *msg, size_t msglen)
{
    PGresult *r = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return r;
    pq_msg(what, PQresultErrorMessage(r), msg, msglen);
    PQclear(r);
    return NULL;
}

static void copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

int ctl_db_metrics(ctl_db_t *db, const char *only, rep_metric_t **out, size_t *n, char *msg,
                   size_t msglen)
{
    const char *params[1] = {only};
    PGresult *r = query(db, "reading golden_metrics",
                        "SELECT name, applies_to, start_event, end_event, target_s, compliance "
                        "FROM golden_metrics WHERE active AND ($1::text IS NULL OR name = $1) "
                        "ORDER BY name COLLATE \"C\"",
                        1, params, msg, msglen);
    if (!r)
        return GL_EDB;
    size_t rows = (size_t)PQntuples(r);
    rep_metric_t *m = calloc(rows ? rows : 1, sizeof *m);
    if (!m) {
        PQclear(r);
        snprintf(msg, msglen, "out of memory");
        return GL_ENOMEM;
    }
    for (size_t i = 0; i < rows; i++) {
        copy(m[i].name, sizeof m[i].name, PQgetvalue(r, (int)i, 0));
        copy(m[i].applies_to, sizeof m[i].applies_to, PQgetvalue(r, (int)i, 1));
        copy(m[i].start_event, sizeof m[i].start_event, PQgetvalue(r, (int)i, 2));
        copy(m[i].end_event, sizeof m[i].end_event, PQgetvalue(r, (int)i, 3));
        m[i].target_ms = strtoll(PQgetvalue(r, (int)i, 4), NULL, 10) * 1000;
        copy(m[i].compliance, sizeof m[i].compliance, PQgetvalue(r, (int)i, 5));
    }
    PQclear(r);
    *out = m;
    *n = rows;
    return 0;
}

/* The incidents of the period and destination filter ($1, $2 days; $3 hospital or NULL). */
#define PERIOD                                                                                     \
    "i.day BETWEEN $1::int AND $2::int AND ($3::text IS NULL OR "                                  \
    "(SELECT d.detail->>'hospital' FROM incident_events d WHERE d.incident_id = i.id AND "         \
    "d.kind = 'destination' ORDER BY d.seq DESC LIMIT 1) = $3::text)"
#define CLOSED "i.state IN ('closed', 'cancelled')"

static int cmp_id(const void *key, const void *elem)
{
    return strcmp(key, ((const rep_incident_t *)elem)->id);
}

int ctl_db_incidents(ctl_db_t *db, int from_day, int to_day, const char *hospital,
                     rep_incident_t **incs_out, size_t *n_out, rep_event_t **events_out,
                     size_t *open_excluded, char *msg, size_t msglen)
{
    char from[16], to[16];
    snprintf(from, sizeof from, "%d", from_day);
    snprintf(to, sizeof to, "%d", to_day);
    const char *params[3] = {from, to, hospital};
    *incs_out = NULL;
    *events_out = NULL;
    *n_out = 0;

    PGresult *r = query(db, "counting open incidents",
                        "SELECT count(*) FROM incidents i WHERE " PERIOD " AND NOT " CLOSED, 3,
                        params, msg, msglen);
    if (!r)
        return GL_EDB;
    *open_excluded = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);

    r = query(db, "reading incidents",
              "SELECT i.id, coalesce(i.import_key, ''), i.complaint, "
              "coalesce((extract(epoch FROM i.onset_at) * 1000)::bigint, 0) FROM incidents i "
              "WHERE " PERIOD " AND " CLOSED " ORDER BY i.id COLLATE \"C\"",
              3, params, msg, msglen);
    if (!r)
        return GL_EDB;
    size_t n = (size_t)PQntuples(r);
    rep_incident_t *incs = calloc(n ? n : 1, sizeof *incs);
    if (!incs) {
        PQclear(r);
        snprintf(msg, msglen, "out of memory");
        return GL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        copy(incs[i].id, sizeof incs[i].id, PQgetvalue(r, (int)i, 0));
        copy(incs[i].ref, sizeof incs[i].ref, PQgetvalue(r, (int)i, 1));
        copy(incs[i].complaint, sizeof incs[i].complaint, PQgetvalue(r, (int)i, 2));
        incs[i].onset_ms = strtoll(PQgetvalue(r, (int)i, 3), NULL, 10);
    }
    PQclear(r);

    r = query(db, "reading incident events",
              "SELECT e.incident_id, (extract(epoch FROM e.at) * 1000)::bigint, e.kind, "
              "coalesce(e.detail->>'status', '') FROM incident_events e JOIN incidents i ON "
              "i.id = e.incident_id WHERE " PERIOD " AND " CLOSED
              " ORDER BY e.incident_id COLLATE \"C\", e.at, e.seq",
              3, params, msg, msglen);
    if (!r) {
        free(incs);
        return GL_EDB;
    }
    size_t ne = (size_t)PQntuples(r);
    rep_event_t *ev = calloc(ne ? ne : 1, sizeof *ev);
    if (!ev) {
        PQclear(r);
        free(incs);
        snprintf(msg, msglen, "out of memory");
        return GL_ENOMEM;
    }
    /* events come grouped by incident, in the incidents' order */
    rep_incident_t *cur = NULL;
    for (size_t i = 0; i < ne; i++) {
        const char *id = PQgetvalue(r, (int)i, 0);
        if (!cur || strcmp(cur->id, id)) {
            cur = bsearch(id, incs, n, sizeof *incs, cmp_id);
            if (!cur)
                continue; /* cannot happen: same filter */
            cur->events = &ev[i];
        }
        ev[i].at_ms = strtoll(PQgetvalue(r, (int)i, 1), NULL, 10);
        copy(ev[i].kind, sizeof ev[i].kind, PQgetvalue(r, (int)i, 2));
        copy(ev[i].status, sizeof ev[i].status, PQgetvalue(r, (int)i, 3));
        cur->nevents++;
    }
    PQclear(r);
    *incs_out = incs;
    *n_out = n;
    *events_out = ev;
    return 0;
}

/* ==== import ================================================================================== */

/* A growing text buffer for array literals. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf_t;

static void sb_putc(sbuf_t *b, char c)
{
    if (b->oom)
        return;
    if (b->len + 2 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

/* Appends one element of a PostgreSQL array literal, quoted, with " and \ escaped. */
static void sb_elem(sbuf_t *b, const char *s)
{
    sb_putc(b, b->len ? ',' : '{');
    sb_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sb_putc(b, '\\');
        sb_putc(b, *s);
    }
    sb_putc(b, '"');
}

static const char insert_incident[] =
    "WITH s AS (SELECT coalesce(max(day_seq), 0) + 1 AS q FROM incidents WHERE day = $1::int) "
    "INSERT INTO incidents (id, day, day_seq, created_at, geom, complaint, priority, notes, state, "
    "updated_at, import_key) "
    "SELECT ($1::int)::text || '-' || CASE WHEN q < 10000 THEN lpad(q::text, 4, '0') "
    "ELSE q::text END, $1::int, q, to_timestamp($2::float8 / 1000), "
    "CASE WHEN $3::float8 IS NULL THEN NULL ELSE "
    "ST_SetSRID(ST_MakePoint($4::float8, $3::float8), 4326)::geography END, $5::text, "
    "$6::smallint, $7::text, 'closed', to_timestamp($8::float8 / 1000), $9::text FROM s "
    "ON CONFLICT (import_key) DO NOTHING RETURNING id";

static const char insert_events[] =
    "INSERT INTO incident_events (incident_id, seq, at, kind, source, vehicle_id, detail) "
    "SELECT $1::text, u.ord::int, to_timestamp(u.a::float8 / 1000), u.k, 'import', "
    "nullif(u.v, ''), nullif(u.d, '')::jsonb "
    "FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY "
    "AS u(a, k, v, d, ord)";

/* Writes one call; *added is 1 if it was new. */
static int import_one(ctl_db_t *db, const imp_call_t *c, int *added, size_t *events, char *msg,
                      size_t msglen)
{
    char day[16], created[32], lat[40], lon[40], prio[8], closed[32];
    snprintf(day, sizeof day, "%d", c->day);
    snprintf(created, sizeof created, "%lld", (long long)c->created_ms);
    snprintf(lat, sizeof lat, "%.8f", c->lat);
    snprintf(lon, sizeof lon, "%.8f", c->lon);
    snprintf(prio, sizeof prio, "%d", c->priority);
    snprintf(closed, sizeof closed, "%lld", (long long)c->closed_ms);
    const char *p[9] = {day,
                        created,
                        c->has_geom ? lat : NULL,
                        c->has_geom ? lon : NULL,
                        c->complaint,
                        prio,
                        c->notes,
                        closed,
                        c->key};
    PGresult *r = query(db, c->key, insert_incident, 9, p, msg, msglen);
    if (!r)
        return GL_EDB;
    *added = PQntuples(r) == 1;
    char id[32];
    copy(id, sizeof id, *added ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    if (!*added)
        return 0;

    sbuf_t a = {0}, k = {0}, v = {0}, d = {0};
    for (size_t i = 0; i < c->nevents; i++) {
        char num[32];
        snprintf(num, sizeof num, "%lld", (long long)c->events[i].at_ms);
        sb_elem(&a, num);
        sb_elem(&k, c->events[i].kind);
        sb_elem(&v, c->events[i].vehicle);
        sb_elem(&d, c->events[i].detail);
    }
    sb_putc(&a, '}');
    sb_putc(&k, '}');
    sb_putc(&v, '}');
    sb_putc(&d, '}');
    int rc = 0;
    if (a.oom || k.oom || v.oom || d.oom || !c->nevents) {
        snprintf(msg, msglen, "%s: out of memory", c->key);
        rc = GL_ENOMEM;
    } else {
        const char *ep[5] = {id, a.p, k.p, v.p, d.p};
        r = query(db, c->key, insert_events, 5, ep, msg, msglen);
        if (r)
            *events += strtoull(PQcmdTuples(r), NULL, 10);
        else
            rc = GL_EDB;
        PQclear(r);
    }
    free(a.p);
    free(k.p);
    free(v.p);
    free(d.p);
    return rc;
}

int ctl_db_import(ctl_db_t *db, const imp_call_t *calls, size_t n, size_t *inserted, size_t *events,
                  char *msg, size_t msglen)
{
    /* one importer at a time: day numbers are taken as the day's maximum plus one */
    PGresult *r = query(db, "begin", "BEGIN", 0, NULL, msg, msglen);
    if (!r)
        return GL_EDB;
    PQclear(r);
    r = query(db, "import lock", "SELECT pg_advisory_xact_lock(7270001)", 0, NULL, msg, msglen);
    if (!r) {
        PQclear(PQexec(db->conn, "ROLLBACK"));
        return GL_EDB;
    }
    PQclear(r);
    size_t added = 0, ev = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        int one = 0;
        rc = import_one(db, &calls[i], &one, &ev, msg, msglen);
        added += (size_t)one;
    }
    if (!rc) {
        r = query(db, "commit", "COMMIT", 0, NULL, msg, msglen);
        rc = r ? 0 : GL_EDB;
        PQclear(r);
    }
    if (rc) {
        PQclear(PQexec(db->conn, "ROLLBACK"));
        return rc;
    }
    *inserted += added;
    *events += ev;
    return 0;
}
