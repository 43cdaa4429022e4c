/*
 * The asynchronous side of PostGIS (see db.h): the journal copier and the position batches.
 */
#include "db.h"

#include "err.h"
#include "log.h"
#include "pgarr.h"
#include "pguv.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_RECORDS_IN_FLIGHT 16
#define RECORD_RETRY_MS 5000       /* after an SQL error (not a lost connection) */
#define FLUSH_INTERVAL_MS 200
#define BATCH_MAX_ROWS 5000
#define ECG_BATCH_MAX_ROWS 500   /* ~0.5 MB of 12-lead 100 ms frames a statement */
#define ECG_BATCH_MAX_BYTES (4u << 20)
#define POSITIONS_MAX 500000       /* about 10 minutes of 1,000 units at 1 Hz */
#define PARTITION_EVERY_TICKS (3600 * 1000 / FLUSH_INTERVAL_MS) /* hourly */

/* ---- SQL: one statement per journal operation, the operation as its only parameter -------- */

#define FROM_J " FROM (SELECT $1::jsonb AS j) s"
#define TS(key) "to_timestamp((j->>'" key "')::bigint / 1000.0)"

static const char SQL_ADVANCE[] = "SELECT gl_journal_advance($1::bigint)";

static const char SQL_INCIDENT[] =
    "INSERT INTO incidents (id, day, day_seq, created_at, geom, complaint, priority, onset_at, "
    "caller_number, address, notes, state, vehicle_id, updated_at) "
    "SELECT j->>'id', (j->>'day')::int, (j->>'day_seq')::int, " TS("created") ", "
    "ST_SetSRID(ST_MakePoint((j->>'lon')::float8, (j->>'lat')::float8), 4326)::geography, "
    "j->>'complaint', (j->>'priority')::smallint, "
    "CASE WHEN (j->>'onset')::bigint > 0 THEN " TS("onset") " END, "
    "j->>'caller', j->>'address', j->>'notes', j->>'state', nullif(j->>'vehicle', ''), "
    TS("updated") FROM_J " ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, "
    "vehicle_id = EXCLUDED.vehicle_id, priority = EXCLUDED.priority, "
    "address = EXCLUDED.address, notes = EXCLUDED.notes, updated_at = EXCLUDED.updated_at";

static const char SQL_EVENT[] =
    "INSERT INTO incident_events (incident_id, seq, at, kind, source, vehicle_id, detail) "
    "SELECT j->>'incident', (j->>'seq')::int, " TS("at") ", j->>'kind', j->>'source', "
    "j->>'vehicle', CASE WHEN jsonb_typeof(j->'detail') = 'object' THEN j->'detail' END"
    FROM_J " ON CONFLICT DO NOTHING";

static const char SQL_VEHICLE[] =
    "UPDATE vehicles SET status = j->>'status', status_at = " TS("status_at") ", "
    "incident_id = nullif(j->>'incident', ''), "
    /* last_uplink_seq is not touched here: it says what is durable of the position history
     * (SQL_LIVE), which a status change says nothing about. */
    "last_downlink_seq = greatest(last_downlink_seq, (j->>'downlink_seq')::bigint), "
    "pending_downlink = j->'pending'" FROM_J " WHERE id = j->>'id'";

static const char SQL_VEHICLE_DEF[] =
    "INSERT INTO vehicles (id, call_sign, station_id, kind, capabilities, seal_key) "
    "SELECT j->>'id', coalesce(j->>'call_sign', j->>'id'), "
    "(SELECT id FROM stations WHERE id = j->>'station'), j->>'kind', "
    "ARRAY(SELECT jsonb_array_elements_text(j->'capabilities')), j->>'seal_key'" FROM_J
    " ON CONFLICT (id) DO UPDATE SET call_sign = EXCLUDED.call_sign, "
    "station_id = EXCLUDED.station_id, kind = EXCLUDED.kind, "
    "capabilities = EXCLUDED.capabilities, seal_key = EXCLUDED.seal_key, active = true";

/* Console users (access.c): the argon2id string only, never a password. */
static const char SQL_USER[] =
    "INSERT INTO users (username, password_hash, role, hospital_id, active, updated_at) "
    "SELECT j->>'username', j->>'hash', j->>'role', nullif(j->>'hospital', ''), "
    "(j->>'active')::boolean, " TS("at") FROM_J " ON CONFLICT (username) DO UPDATE SET "
    "password_hash = EXCLUDED.password_hash, role = EXCLUDED.role, "
    "hospital_id = EXCLUDED.hospital_id, active = EXCLUDED.active, "
    "updated_at = EXCLUDED.updated_at";

/* Who did what through the API (access.c): ids and actions, no patient data. */
static const char SQL_AUDIT[] =
    "INSERT INTO audit_log (at, actor, action, target, detail) SELECT " TS("at") ", "
    "j->>'actor', j->>'action', nullif(j->>'target', ''), "
    "CASE WHEN jsonb_typeof(j->'detail') = 'object' THEN j->'detail' END" FROM_J;

/* Road closures (api_roads.c): the op that set one is kept, a reopening deletes it. */
static const char SQL_CLOSURE[] =
    "WITH s AS (SELECT $1::jsonb AS j), "
    "d AS (DELETE FROM road_closures WHERE id = (SELECT j->>'id' FROM s) "
    "AND (SELECT j->>'action' FROM s) = 'remove') "
    "INSERT INTO road_closures (id, op) SELECT j->>'id', j FROM s WHERE j->>'action' = 'set' "
    "ON CONFLICT (id) DO UPDATE SET op = EXCLUDED.op, updated_at = now()";

static const char SQL_HOSPITAL[] =
    "UPDATE hospitals SET cath_lab_ready = (j->>'cath_lab_ready')::boolean, "
    "ct_ready = (j->>'ct_ready')::boolean, on_diversion = (j->>'on_diversion')::boolean, "
    "updated_at = now()" FROM_J " WHERE id = j->>'id'";

static const char SQL_POSITIONS[] =
    "INSERT INTO vehicle_positions (vehicle_id, seq, fix_at, received_at, geom, speed_mps, "
    "heading_deg, hdop, late) SELECT v, s, to_timestamp(f / 1000.0), to_timestamp(r / 1000.0), "
    "ST_SetSRID(ST_MakePoint(lo, la), 4326)::geography, sp, hd, hp, lt "
    "FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::float8[], "
    "$6::float8[], $7::real[], $8::real[], $9::real[], $10::bool[]) "
    "AS t(v, s, f, r, la, lo, sp, hd, hp, lt) ON CONFLICT DO NOTHING";

static const char SQL_VITALS[] =
    "INSERT INTO vitals_numerics (vehicle_id, seq, incident_id, mdc_code, value, unit_code, "
    "measured_at, received_at) SELECT v, s, nullif(i, ''), c, val, nullif(u, 0), "
    "to_timestamp(m / 1000.0), to_timestamp(r / 1000.0) "
    "FROM unnest($1::text[], $2::bigint[], $3::text[], $4::integer[], $5::real[], "
    "$6::integer[], $7::bigint[], $8::bigint[]) AS t(v, s, i, c, val, u, m, r) "
    "ON CONFLICT DO NOTHING";

static const char SQL_ECG[] =
    "INSERT INTO ecg_strips (vehicle_id, seq, incident_id, first_sample_at, first_sample_index, "
    "sample_rate_hz, leads, samples_per_lead, frame, received_at) "
    "SELECT v, s, nullif(i, ''), to_timestamp(f / 1000.0), x, hz, l, n, fr, "
    "to_timestamp(r / 1000.0) "
    "FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], "
    "$6::integer[], $7::smallint[], $8::integer[], $9::bytea[], $10::bigint[]) "
    "AS t(v, s, i, f, x, hz, l, n, fr, r) ON CONFLICT DO NOTHING";

/* The live position and the durable uplink seq of each unit in the batch. */
static const char SQL_LIVE[] =
    "UPDATE vehicles SET last_uplink_seq = greatest(last_uplink_seq, u.s), "
    "last_geom = coalesce(ST_SetSRID(ST_MakePoint(u.lo, u.la), 4326)::geography, last_geom), "
    "last_fix_at = coalesce(to_timestamp(u.f / 1000.0), last_fix_at), "
    "last_speed_mps = coalesce(u.sp, last_speed_mps), "
    "last_heading_deg = coalesce(u.hd, last_heading_deg) "
    "FROM unnest($1::text[], $2::bigint[], $3::float8[], $4::float8[], $5::bigint[], "
    "$6::real[], $7::real[]) AS u(v, s, la, lo, f, sp, hd) WHERE vehicles.id = u.v";

static const char SQL_PARTITIONS[] =
    "SELECT gl_ensure_position_partition(current_date), "
    "gl_ensure_position_partition(current_date + 1)";

/* ---- state -------------------------------------------------------------------------------- */

struct record {
    struct record *next;
    uint64_t lsn;
    int nstmts;
    pguv_stmt_t *stmts;
    char **params;      /* one per statement (owned); params[0] is the lsn */
};

struct pos_row {
    char id[FLEET_ID_LEN];
    uint32_t slot;              /* the vehicle's fleet slot */
    uint64_t seq;
    int64_t fix_ms, rx_ms;
    double lat, lon;
    float speed, heading, hdop; /* NAN = not reported */
    int late;
};

struct vit_row {
    uint32_t slot;
    uint64_t seq;
    char incident[24];
    vital_reading_t r;
    int64_t rx_ms;
};

struct ecg_row {
    uint32_t slot;
    uint64_t seq;
    char incident[24];
    ecg_meta_t m;
    unsigned char *frame;       /* the protobuf bytes (owned) */
    size_t len;
    int64_t rx_ms;
};

/* A growable array of rows, the first `batch` of which are in the batch in flight. */
#define ROWS(type)                                                                                \
    struct {                                                                                      \
        type *a;                                                                                  \
        size_t n, cap, batch;                                                                     \
    }

struct snap {
    uint32_t slot;
    uint64_t seq;
};

/*
 * The parameters of one batch statement, each a binary array (common/pgarr.h): numbers go as
 * their bytes and an ECG frame as it is, where text arrays cost a printf per number and two hex
 * digits per frame byte, megabytes a second built on the loop (bench/run vitals).
 */
#define BATCH_MAX_PARAMS 10

struct batch_params {
    int n;
    pgarr_t arr[BATCH_MAX_PARAMS];
    const char *values[BATCH_MAX_PARAMS];
    int lengths[BATCH_MAX_PARAMS], formats[BATCH_MAX_PARAMS];
};

struct db_writer {
    uv_loop_t *loop;
    pguv_t *pg;
    dispatch_t *d;
    journal_t *journal;
    uint64_t truncate_bytes;
    uv_timer_t timer;
    struct record *head, *tail, *next_to_send;
    int in_flight, failed;
    int64_t retry_at_ms;
    struct pos_row *rows;
    size_t nrows, cap_rows;
    ROWS(struct vit_row) vit;
    ROWS(struct ecg_row) ecg;
    size_t batch_rows;          /* rows in the batch in flight (0 = none) */
    struct snap *snaps;
    size_t nsnaps;
    int batch_in_flight;
    struct batch_params params[4]; /* positions, live, vitals, ECG: kept from batch to batch */
    unsigned ticks;
    db_writer_stats_t stats;
    uint64_t *min_left;         /* per fleet slot: lowest seq still buffered, for the acks */
    size_t min_left_cap;
    int head_tries;             /* attempts at the head record that the database refused */
    char *dead_letter_path;     /* where refused records go (NULL: none) */
    int closing;
    void (*on_closed)(void *);
    void *closed_ctx;
    int pending_closes;
    gl_log_burst_t err_burst;
};

static void free_record(struct record *r)
{
    for (int i = 0; i < r->nstmts; i++)
        free(r->params[i]);
    free(r->params);
    free(r->stmts);
    free(r);
}

/* ---- the journal copier ------------------------------------------------------------------- */

static void send_records(db_writer_t *w);

/* SQLSTATE classes 22 (data exception) and 23 (integrity): the record itself is refused, and
 * sending it again will not change that. */
static int data_error(const char *sqlstate)
{
    return !strncmp(sqlstate, "22", 2) || !strncmp(sqlstate, "23", 2);
}

/*
 * A record the database refuses for its data, again and again, must not stop every later
 * record from reaching PostGIS: it is appended to the dead-letter file for a person to look
 * at, and only its journal position is written, so the copy goes on.
 */
static void dead_letter(db_writer_t *w, struct record *r, const char *sqlstate,
                        const char *errmsg)
{
    FILE *f = w->dead_letter_path ? fopen(w->dead_letter_path, "a") : NULL;
    if (f) {
        fprintf(f, "%" PRIu64 " %s %s\n", r->lsn, sqlstate, r->nstmts > 1 ? r->params[1] : "");
        for (int i = 2; i < r->nstmts; i++)
            fprintf(f, "%" PRIu64 " + %s\n", r->lsn, r->params[i]);
        fflush(f);
        fsync(fileno(f));
        fclose(f);
    }
    LOG_ERR("db", "lsn=%" PRIu64 " refused %d times (%s %s): moved to %s; the copy goes on",
            r->lsn, w->head_tries, sqlstate, errmsg,
            w->dead_letter_path ? w->dead_letter_path : "(no dead-letter file)");
    for (int i = 1; i < r->nstmts; i++)
        free(r->params[i]);
    r->nstmts = 1; /* only gl_journal_advance */
    w->stats.records_dead_lettered++;
}

static void on_record_done(void *ctx, int err, const pguv_res_t *res, const char *sqlstate,
                           const char *errmsg)
{
    db_writer_t *w = ctx;
    w->in_flight--;
    struct record *r = w->head;
    /* 23505 from gl_journal_advance: PostGIS already has it (our commit's reply was lost). */
    int ok = err == 0 || (!strcmp(sqlstate, "23505") && strstr(errmsg, "already applied"));
    if (!ok && !w->failed && r && pguv_state(w->pg) == PGUV_READY && data_error(sqlstate) &&
        ++w->head_tries >= 3 && r->nstmts > 1)
        dead_letter(w, r, sqlstate, errmsg);
    if (ok && !w->failed && r) {
        w->head = r->next;
        if (!w->head)
            w->tail = NULL;
        w->head_tries = 0;
        w->stats.applied_lsn = r->lsn;
        w->stats.records_pending--;
        free_record(r);
        if (!w->head && w->journal && journal_size(w->journal) > w->truncate_bytes &&
            journal_last_lsn(w->journal) == w->stats.applied_lsn)
            journal_truncate(w->journal);
    } else if (!w->failed) {
        w->failed = 1;
        if (pguv_state(w->pg) == PGUV_READY) {
            LOG_ERR("db", "lsn=%" PRIu64 " journal record refused by the database: %s %s "
                    "(retrying in %d s)", r ? r->lsn : 0, sqlstate, errmsg,
                    RECORD_RETRY_MS / 1000);
            w->retry_at_ms = (int64_t)uv_now(w->loop) + RECORD_RETRY_MS;
        }
    }
    if (w->failed && w->in_flight == 0) {
        /* Everything after the failed record failed too (it may not skip one): start again
         * from the oldest unconfirmed record. */
        w->failed = 0;
        w->next_to_send = w->head;
    }
    if (!w->closing)
        send_records(w);
}

static void send_records(db_writer_t *w)
{
    if (pguv_state(w->pg) != PGUV_READY || w->failed ||
        (int64_t)uv_now(w->loop) < w->retry_at_ms)
        return;
    /* While PostGIS holds no record yet, gl_journal_advance accepts any first lsn: one record
     * at a time then, so a later one can never be applied before an earlier one. */
    int limit = w->stats.applied_lsn == 0 ? 1 : MAX_RECORDS_IN_FLIGHT;
    while (w->next_to_send && w->in_flight < limit) {
        struct record *r = w->next_to_send;
        if (pguv_exec(w->pg, r->stmts, r->nstmts, on_record_done, w) != 0)
            return; /* the connection just went: resent when it is back */
        w->in_flight++;
        w->next_to_send = r->next;
    }
}

int db_writer_add_record(db_writer_t *w, uint64_t lsn, const char *payload, size_t len)
{
    json_error_t jerr;
    json_t *rec = json_loadb(payload, len, 0, &jerr);
    json_t *ops = json_object_get(rec, "ops");
    if (!json_is_array(ops)) {
        json_decref(rec);
        return GL_EPROTO;
    }
    size_t n = json_array_size(ops) + 1;
    struct record *r = calloc(1, sizeof *r);
    if (!r || !(r->stmts = calloc(n, sizeof *r->stmts)) ||
        !(r->params = calloc(n, sizeof *r->params))) {
        if (r)
            free(r->stmts);
        free(r);
        json_decref(rec);
        return GL_ENOMEM;
    }
    r->lsn = lsn;
    r->nstmts = (int)n;
    char lsn_text[24];
    snprintf(lsn_text, sizeof lsn_text, "%" PRIu64, lsn);
    r->params[0] = strdup(lsn_text);
    r->stmts[0].sql = SQL_ADVANCE;
    int rc = r->params[0] ? 0 : GL_ENOMEM;
    size_t i;
    json_t *op;
    json_array_foreach(ops, i, op)
    {
        const char *t = json_string_value(json_object_get(op, "t"));
        pguv_stmt_t *s = &r->stmts[i + 1];
        s->sql = !t ? NULL
                 : !strcmp(t, "incident") ? SQL_INCIDENT
                 : !strcmp(t, "event")    ? SQL_EVENT
                 : !strcmp(t, "vehicle")  ? SQL_VEHICLE
                 : !strcmp(t, "vehicle_def") ? SQL_VEHICLE_DEF
                 : !strcmp(t, "hospital") ? SQL_HOSPITAL
                 : !strcmp(t, "user")     ? SQL_USER
                 : !strcmp(t, "audit")    ? SQL_AUDIT
                 : !strcmp(t, "closure")  ? SQL_CLOSURE
                                          : NULL;
        if (!s->sql) {
            rc = GL_EPROTO;
            break;
        }
        if (!(r->params[i + 1] = json_dumps(op, JSON_COMPACT))) {
            rc = GL_ENOMEM;
            break;
        }
    }
    json_decref(rec);
    if (rc) {
        free_record(r);
        return rc;
    }
    for (int k = 0; k < r->nstmts; k++) {
        r->stmts[k].nparams = 1;
        r->stmts[k].params = (const char *const *)&r->params[k];
    }
    if (w->tail)
        w->tail->next = r;
    else
        w->head = r;
    w->tail = r;
    if (!w->next_to_send && !w->failed)
        w->next_to_send = r;
    w->stats.records_pending++;
    send_records(w);
    return 0;
}

/* ---- position batches --------------------------------------------------------------------- */

int db_writer_add_position(db_writer_t *w, const vehicle_t *v, uint64_t seq, double lat,
                           double lon, int64_t fix_ms, int64_t rx_ms, float speed, float heading,
                           float hdop, int late)
{
    if (w->nrows == w->cap_rows) {
        if (w->cap_rows >= POSITIONS_MAX) {
            /* A long outage: no room. The fix is deferred, not dropped: the unit still holds
             * it (never acknowledged) and sends it again. */
            w->stats.positions_deferred++;
            return GL_ENOSPC;
        }
        size_t cap = w->cap_rows ? w->cap_rows * 2 : 1024;
        struct pos_row *nr = realloc(w->rows, cap * sizeof *nr);
        if (!nr) {
            w->stats.positions_deferred++;
            return GL_ENOMEM;
        }
        w->rows = nr;
        w->cap_rows = cap;
    }
    struct pos_row *p = &w->rows[w->nrows++];
    snprintf(p->id, sizeof p->id, "%s", v->id);
    p->slot = v->slot;
    p->seq = seq;
    p->fix_ms = fix_ms;
    p->rx_ms = rx_ms;
    p->lat = lat;
    p->lon = lon;
    p->speed = speed;
    p->heading = heading;
    p->hdop = hdop;
    p->late = late;
    return 0;
}

/* Makes room for one more row in `rows` (a ROWS(...) member); returns the new row or NULL when
 * the buffer is at `max` or memory ran out. */
#define ROWS_PUSH(rows, max)                                                                      \
    ((rows).n < (rows).cap ? &(rows).a[(rows).n++] : rows_grow((void **)&(rows).a, &(rows).cap,   \
                                                               sizeof *(rows).a, (max))           \
                                                         ? &(rows).a[(rows).n++]                  \
                                                         : NULL)

static int rows_grow(void **a, size_t *cap, size_t size, size_t max)
{
    if (*cap >= max)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 256;
    if (ncap > max)
        ncap = max;
    void *na = realloc(*a, ncap * size);
    if (!na)
        return 0;
    *a = na;
    *cap = ncap;
    return 1;
}

#define VITALS_MAX 200000
#define ECG_MAX 20000 /* about 30 min of 100 ms frames from 10 ambulances */

int db_writer_add_vitals(db_writer_t *w, const vehicle_t *v, uint64_t seq, const char *incident,
                         const vital_reading_t *r, size_t n, int64_t rx_ms)
{
    if (w->vit.n + n > VITALS_MAX) {
        w->stats.vitals_deferred++;
        return GL_ENOSPC;
    }
    for (size_t i = 0; i < n; i++) {
        struct vit_row *row = ROWS_PUSH(w->vit, VITALS_MAX);
        if (!row) {
            w->vit.n -= i; /* all or nothing: the envelope is deferred whole */
            w->stats.vitals_deferred++;
            return GL_ENOMEM;
        }
        row->slot = v->slot;
        row->seq = seq;
        snprintf(row->incident, sizeof row->incident, "%s", incident ? incident : "");
        row->r = r[i];
        row->rx_ms = rx_ms;
    }
    return 0;
}

int db_writer_add_ecg(db_writer_t *w, const vehicle_t *v, uint64_t seq, const char *incident,
                      const ecg_meta_t *m, const void *frame, size_t len, int64_t rx_ms)
{
    unsigned char *copy = malloc(len ? len : 1);
    struct ecg_row *row = copy ? ROWS_PUSH(w->ecg, ECG_MAX) : NULL;
    if (!row) {
        free(copy);
        w->stats.ecg_deferred++;
        return GL_ENOSPC;
    }
    memcpy(copy, frame, len);
    row->slot = v->slot;
    row->seq = seq;
    snprintf(row->incident, sizeof row->incident, "%s", incident ? incident : "");
    row->m = *m;
    row->frame = copy;
    row->len = len;
    row->rx_ms = rx_ms;
    return 0;
}

/* Empties `p` for a batch of `n` parameters with element types `oids` (as the statement casts
 * them), keeping the buffers of the last batch. */
static void params_init(struct batch_params *p, const uint32_t *oids, int n)
{
    p->n = n;
    for (int k = 0; k < n; k++)
        pgarr_reset(&p->arr[k], oids[k]);
}

/* Fills values/lengths/formats; -1 when an array could not be built (out of memory). */
static int params_finish(struct batch_params *p)
{
    int rc = 0;
    for (int k = 0; k < p->n; k++) {
        p->values[k] = pgarr_finish(&p->arr[k], &p->lengths[k]);
        p->formats[k] = 1;
        if (!p->values[k])
            rc = -1;
    }
    return rc;
}

static void params_free(struct batch_params *p)
{
    for (int k = 0; k < BATCH_MAX_PARAMS; k++)
        pgarr_free(&p->arr[k]);
}

static pguv_stmt_t params_stmt(const char *sql, const struct batch_params *p)
{
    return (pguv_stmt_t){.sql = sql, .nparams = p->n, .params = p->values,
                         .lengths = p->lengths, .formats = p->formats};
}

/* Removes the first `k` rows of a ROWS(...) buffer. */
#define ROWS_SHIFT(rows, k)                                                                       \
    do {                                                                                          \
        if ((k) > 0) {                                                                            \
            memmove((rows).a, (rows).a + (k), ((rows).n - (k)) * sizeof *(rows).a);               \
            (rows).n -= (k);                                                                      \
        }                                                                                         \
    } while (0)

static void lower(uint64_t *min_left, size_t nf, uint32_t slot, uint64_t seq)
{
    if (slot < nf && seq < min_left[slot])
        min_left[slot] = seq;
}

static void on_batch_done(void *ctx, int err, const pguv_res_t *res, const char *sqlstate,
                          const char *errmsg)
{
    db_writer_t *w = ctx;
    w->batch_in_flight = 0;
    if (err) {
        w->stats.batches_failed++;
        unsigned long suppressed = 0;
        int refused = pguv_state(w->pg) == PGUV_READY && data_error(sqlstate);
        if (pguv_state(w->pg) == PGUV_READY &&
            gl_log_burst_allow(&w->err_burst, (long long)uv_now(w->loop), 60000, &suppressed))
            LOG_ERR("db", "position batch refused: %s %s%s", sqlstate, errmsg,
                    refused ? " (its rows are dropped: they would be refused again)" : "");
        if (!refused) {
            w->batch_rows = w->vit.batch = w->ecg.batch = 0;
            return;
        }
        /* The uplink checks make this unreachable as far as we know; should it happen, the
         * rows go so that every other unit's history and acknowledgements go on. */
        w->stats.positions_dropped += w->batch_rows + w->vit.batch + w->ecg.batch;
    } else {
        w->stats.positions_written += w->batch_rows;
        w->stats.vitals_written += w->vit.batch;
        w->stats.ecg_written += w->ecg.batch;
    }
    if (w->batch_rows) {
        memmove(w->rows, w->rows + w->batch_rows, (w->nrows - w->batch_rows) * sizeof *w->rows);
        w->nrows -= w->batch_rows;
    }
    w->batch_rows = 0;
    for (size_t i = 0; i < w->ecg.batch; i++)
        free(w->ecg.a[i].frame);
    ROWS_SHIFT(w->vit, w->vit.batch);
    ROWS_SHIFT(w->ecg, w->ecg.batch);
    w->vit.batch = w->ecg.batch = 0;
    if (w->closing || err)
        return;
    /* A unit is told its uplink is durable up to the snapshot, but never past a message of its
     * still waiting in a buffer (a batch takes at most BATCH_MAX_ROWS fixes). */
    fleet_t *f = dispatch_fleet(w->d);
    size_t nf = fleet_count(f);
    if (nf > w->min_left_cap) {
        uint64_t *m = realloc(w->min_left, nf * sizeof *m);
        if (!m)
            return; /* no acknowledgement this time: the next batch gives it */
        w->min_left = m;
        w->min_left_cap = nf;
    }
    for (size_t i = 0; i < nf; i++)
        w->min_left[i] = UINT64_MAX;
    for (size_t i = 0; i < w->nrows; i++)
        lower(w->min_left, nf, w->rows[i].slot, w->rows[i].seq);
    for (size_t i = 0; i < w->vit.n; i++)
        lower(w->min_left, nf, w->vit.a[i].slot, w->vit.a[i].seq);
    for (size_t i = 0; i < w->ecg.n; i++)
        lower(w->min_left, nf, w->ecg.a[i].slot, w->ecg.a[i].seq);
    for (size_t i = 0; i < w->nsnaps; i++) {
        uint64_t seq = w->snaps[i].seq, left = w->min_left[w->snaps[i].slot];
        if (left != UINT64_MAX && left - 1 < seq)
            seq = left - 1;
        dispatch_uplink_durable(w->d, fleet_at(f, w->snaps[i].slot), seq);
    }
    /* A backlog (a burst, or what piled up during an outage) goes batch after batch, so the
     * write rate is PostgreSQL's, not one batch a second. What trickles in meanwhile waits for
     * the tick: chaining a batch whenever anything was waiting made a transaction of every few
     * messages (a thousand a second for 200 units streaming ECG), which cost the database a
     * fifth of a core and the relay its latency (bench/run vitals). */
    if (w->nrows >= BATCH_MAX_ROWS || w->vit.n >= BATCH_MAX_ROWS ||
        w->ecg.n >= ECG_BATCH_MAX_ROWS)
        db_writer_flush(w);
}

static const uint32_t POSITION_TYPES[10] = {PGARR_TEXT,   PGARR_INT8,   PGARR_INT8,   PGARR_INT8,
                                            PGARR_FLOAT8, PGARR_FLOAT8, PGARR_FLOAT4, PGARR_FLOAT4,
                                            PGARR_FLOAT4, PGARR_BOOL};
static const uint32_t LIVE_TYPES[7] = {PGARR_TEXT,   PGARR_INT8, PGARR_FLOAT8, PGARR_FLOAT8,
                                       PGARR_INT8, PGARR_FLOAT4, PGARR_FLOAT4};
static const uint32_t VITALS_TYPES[8] = {PGARR_TEXT,   PGARR_INT8, PGARR_TEXT, PGARR_INT4,
                                         PGARR_FLOAT4, PGARR_INT4, PGARR_INT8, PGARR_INT8};
static const uint32_t ECG_TYPES[10] = {PGARR_TEXT, PGARR_INT8, PGARR_TEXT, PGARR_INT8,
                                       PGARR_INT8, PGARR_INT4, PGARR_INT2, PGARR_INT4,
                                       PGARR_BYTEA, PGARR_INT8};

/* The positions in the batch (SQL_POSITIONS); returns the number of rows taken. */
static size_t positions_params(db_writer_t *w, struct batch_params *p)
{
    size_t n = w->nrows < BATCH_MAX_ROWS ? w->nrows : BATCH_MAX_ROWS;
    pgarr_t *a = p->arr;
    for (size_t i = 0; i < n; i++) {
        const struct pos_row *r = &w->rows[i];
        pgarr_text(&a[0], r->id);
        pgarr_int8(&a[1], (int64_t)r->seq);
        pgarr_int8(&a[2], r->fix_ms);
        pgarr_int8(&a[3], r->rx_ms);
        pgarr_float8(&a[4], r->lat);
        pgarr_float8(&a[5], r->lon);
        pgarr_float4(&a[6], r->speed);
        pgarr_float4(&a[7], r->heading);
        pgarr_float4(&a[8], r->hdop);
        pgarr_bool(&a[9], r->late);
    }
    return n;
}

/* The live position and durable seq of each unit with something new (SQL_LIVE). */
static void live_params(db_writer_t *w, fleet_t *f, struct batch_params *p)
{
    pgarr_t *a = p->arr;
    for (size_t i = 0; i < w->nsnaps; i++) {
        const vehicle_t *v = fleet_at(f, w->snaps[i].slot);
        pgarr_text(&a[0], v->id);
        pgarr_int8(&a[1], (int64_t)w->snaps[i].seq);
        if (v->has_fix) {
            pgarr_float8(&a[2], v->lat);
            pgarr_float8(&a[3], v->lon);
            pgarr_int8(&a[4], v->fix_at_ms);
            pgarr_float4(&a[5], v->speed_mps);
            pgarr_float4(&a[6], v->heading_deg);
        } else {
            for (int k = 2; k < 7; k++)
                pgarr_null(&a[k]);
        }
    }
}

/* The vital signs in the batch (SQL_VITALS); returns the number of rows taken. */
static size_t vitals_params(db_writer_t *w, fleet_t *f, struct batch_params *p)
{
    size_t n = w->vit.n < BATCH_MAX_ROWS ? w->vit.n : BATCH_MAX_ROWS;
    pgarr_t *a = p->arr;
    for (size_t i = 0; i < n; i++) {
        const struct vit_row *r = &w->vit.a[i];
        pgarr_text(&a[0], fleet_at(f, r->slot)->id);
        pgarr_int8(&a[1], (int64_t)r->seq);
        pgarr_text(&a[2], r->incident);
        pgarr_int4(&a[3], (int32_t)r->r.mdc_code);
        pgarr_float4(&a[4], r->r.value);
        pgarr_int4(&a[5], (int32_t)r->r.unit_code);
        pgarr_int8(&a[6], r->r.measured_ms);
        pgarr_int8(&a[7], r->rx_ms);
    }
    return n;
}

/* The ECG frames in the batch (SQL_ECG), the protobuf bytes as they came; rows taken. */
static size_t ecg_params(db_writer_t *w, fleet_t *f, struct batch_params *p)
{
    size_t n = w->ecg.n < ECG_BATCH_MAX_ROWS ? w->ecg.n : ECG_BATCH_MAX_ROWS;
    size_t bytes = 0;
    pgarr_t *a = p->arr;
    for (size_t i = 0; i < n; i++) {
        const struct ecg_row *r = &w->ecg.a[i];
        /* Large frames (up to 16 leads of 5,000 samples) go fewer a batch: a batch stays a few
         * megabytes, and so do the buffers kept for the next one. */
        if (i > 0 && bytes + r->len > ECG_BATCH_MAX_BYTES) {
            n = i;
            break;
        }
        bytes += r->len;
        pgarr_text(&a[0], fleet_at(f, r->slot)->id);
        pgarr_int8(&a[1], (int64_t)r->seq);
        pgarr_text(&a[2], r->incident);
        pgarr_int8(&a[3], r->m.first_sample_ms);
        if (r->m.has_index)
            pgarr_int8(&a[4], (int64_t)r->m.first_sample_index);
        else
            pgarr_null(&a[4]);
        pgarr_int4(&a[5], (int32_t)r->m.sample_rate_hz);
        pgarr_int2(&a[6], (int16_t)r->m.leads);
        pgarr_int4(&a[7], (int32_t)r->m.samples_per_lead);
        pgarr_bytes(&a[8], r->frame, r->len);
        pgarr_int8(&a[9], r->rx_ms);
    }
    return n;
}

void db_writer_flush(db_writer_t *w)
{
    if (w->batch_in_flight || pguv_state(w->pg) != PGUV_READY)
        return;
    fleet_t *f = dispatch_fleet(w->d);
    size_t nf = fleet_count(f);
    struct snap *snaps = realloc(w->snaps, (nf ? nf : 1) * sizeof *snaps);
    if (!snaps)
        return;
    w->snaps = snaps;
    w->nsnaps = 0;
    for (uint32_t s = 0; s < nf; s++) {
        vehicle_t *v = fleet_at(f, s);
        if (v->uplink_seq > v->durable_seq)
            w->snaps[w->nsnaps++] = (struct snap){s, v->uplink_seq};
    }
    if (w->nrows == 0 && w->nsnaps == 0 && w->vit.n == 0 && w->ecg.n == 0)
        return;
    struct batch_params *pos = &w->params[0], *live = &w->params[1], *vit = &w->params[2],
                        *ecg = &w->params[3];
    params_init(pos, POSITION_TYPES, 10);
    params_init(live, LIVE_TYPES, 7);
    params_init(vit, VITALS_TYPES, 8);
    params_init(ecg, ECG_TYPES, 10);
    size_t n = positions_params(w, pos);
    live_params(w, f, live);
    size_t nv = vitals_params(w, f, vit), ne = ecg_params(w, f, ecg);
    int oom = params_finish(pos) | params_finish(live) | params_finish(vit) | params_finish(ecg);
    /* One transaction: the rows and the durable seqs that cover them commit together. (libpq
     * copies the parameters before pguv_exec returns: the buffers are free for the next.) */
    pguv_stmt_t stmts[4] = {params_stmt(SQL_POSITIONS, pos), params_stmt(SQL_VITALS, vit),
                            params_stmt(SQL_ECG, ecg), params_stmt(SQL_LIVE, live)};
    if (oom) {
        unsigned long suppressed = 0;
        w->stats.batches_failed++;
        if (gl_log_burst_allow(&w->err_burst, (long long)uv_now(w->loop), 60000, &suppressed))
            LOG_ERR("db", "out of memory building a batch: positions, vitals and ECG wait");
    } else if (pguv_exec(w->pg, stmts, 4, on_batch_done, w) == 0) {
        w->batch_in_flight = 1;
        w->batch_rows = n;
        w->vit.batch = nv;
        w->ecg.batch = ne;
    }
}

/* ---- connection and timer ----------------------------------------------------------------- */

static void on_partitions(void *ctx, int err, const pguv_res_t *res, const char *sqlstate,
                          const char *errmsg)
{
    if (err)
        LOG_WARN("db", "position partitions: %s", errmsg);
}

static void ensure_partitions(db_writer_t *w)
{
    pguv_stmt_t s = {.sql = SQL_PARTITIONS};
    pguv_exec(w->pg, &s, 1, on_partitions, w);
}

static void on_pg_state(pguv_t *pg, pguv_state_t st, void *ctx)
{
    db_writer_t *w = ctx;
    w->stats.connected = st == PGUV_READY;
    if (st == PGUV_READY) {
        LOG_INFO("db", "database up: copying %llu journal records and %zu fixes",
                 w->stats.records_pending, w->nrows);
        w->retry_at_ms = 0;
        ensure_partitions(w);
        send_records(w);
        db_writer_flush(w);
    } else if (st == PGUV_DOWN) {
        w->batch_in_flight = 0;
        w->batch_rows = w->vit.batch = w->ecg.batch = 0;
    }
}

static void on_tick(uv_timer_t *t)
{
    db_writer_t *w = t->data;
    if (++w->ticks % PARTITION_EVERY_TICKS == 0 && pguv_state(w->pg) == PGUV_READY)
        ensure_partitions(w);
    send_records(w);
    db_writer_flush(w);
}

int db_writer_new(uv_loop_t *loop, const char *conninfo, dispatch_t *d, journal_t *j,
                  uint64_t applied_lsn, uint64_t truncate_bytes, db_writer_t **out)
{
    db_writer_t *w = calloc(1, sizeof *w);
    if (!w)
        return GL_ENOMEM;
    w->loop = loop;
    w->d = d;
    w->journal = j;
    w->truncate_bytes = truncate_bytes;
    w->stats.applied_lsn = applied_lsn;
    int rc = pguv_new(loop, conninfo, on_pg_state, w, &w->pg);
    if (rc) {
        free(w);
        return rc;
    }
    uv_timer_init(loop, &w->timer);
    w->timer.data = w;
    uv_timer_start(&w->timer, on_tick, FLUSH_INTERVAL_MS, FLUSH_INTERVAL_MS);
    *out = w;
    return 0;
}

void db_writer_set_journal(db_writer_t *w, journal_t *j, const char *dead_letter_path)
{
    w->journal = j;
    free(w->dead_letter_path);
    w->dead_letter_path = dead_letter_path ? strdup(dead_letter_path) : NULL;
}

void db_writer_get_stats(const db_writer_t *w, db_writer_stats_t *out)
{
    *out = w->stats;
    out->positions_pending = w->nrows;
    out->vitals_pending = w->vit.n;
    out->ecg_pending = w->ecg.n;
}

static void maybe_finish_close(db_writer_t *w)
{
    if (--w->pending_closes > 0)
        return;
    while (w->head) {
        struct record *r = w->head;
        w->head = r->next;
        free_record(r);
    }
    void (*cb)(void *) = w->on_closed;
    void *ctx = w->closed_ctx;
    free(w->rows);
    for (size_t i = 0; i < w->ecg.n; i++)
        free(w->ecg.a[i].frame);
    free(w->ecg.a);
    free(w->vit.a);
    free(w->snaps);
    free(w->min_left);
    free(w->dead_letter_path);
    for (int k = 0; k < 4; k++)
        params_free(&w->params[k]);
    free(w);
    if (cb)
        cb(ctx);
}

static void on_pg_closed(void *ctx)
{
    maybe_finish_close(ctx);
}

static void on_timer_closed(uv_handle_t *h)
{
    maybe_finish_close(h->data);
}

void db_writer_close(db_writer_t *w, void (*cb)(void *ctx), void *ctx)
{
    if (!w || w->closing)
        return;
    w->closing = 1;
    w->on_closed = cb;
    w->closed_ctx = ctx;
    w->pending_closes = 2;
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, on_timer_closed);
    pguv_close(w->pg, on_pg_closed, w);
}
