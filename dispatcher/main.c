/*
 * goldline-dispatcher: builds the loop, wires the core to its adapters, runs.
 *
 * Start-up order matters for durability: the state is loaded from PostGIS, then the journal
 * tail that PostGIS had not confirmed is replayed on top of it (and queued for PostGIS again),
 * and only then are the units and the consoles let in.
 */
#include "access.h"
#include "api.h"
#include "api_roads.h"
#include "bus.h"
#include "config.h"
#include "db.h"
#include "db_users.h"
#include "dispatch.h"
#include "err.h"
#include "journal.h"
#include "log.h"
#include "timeutil.h"
#include "ws.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#ifndef GL_SCHEMA_DIR
#define GL_SCHEMA_DIR "deploy/schema"
#endif

struct config {
    char uplink_url[256], downlink_url[256], ws_iface[64], pg[1024], var_dir[512];
    char schema_dir[512], tz[64], log_level[16];
    long long ws_port, pg_port, auto_assign_s, stale_s, db_wait_s, journal_truncate_kb, tie_margin_s;
    double detour, speed_kmh, coverage_alert;
    int allow_unsealed;
};

#define OPT_STR(n, field, def, sec, h)                                                            \
    {.name = n, .type = GL_CFG_STR, .default_value = def,                                          \
     .offset = offsetof(struct config, field), .size = sizeof(((struct config *)0)->field),        \
     .secret = sec, .help = h}
#define OPT_NUM(n, t, lo, hi, field, def, h)                                                      \
    {.name = n, .type = t, .default_value = def, .min = lo, .max = hi,                             \
     .offset = offsetof(struct config, field), .help = h}
static const gl_cfg_option_t options[] = {
    OPT_STR("uplink-url", uplink_url, "tcp://127.0.0.1:7401", 0, "nanomsg address the units push to"),
    OPT_STR("downlink-url", downlink_url, "tcp://127.0.0.1:7402", 0, "nanomsg address the units subscribe to"),
    OPT_NUM("ws-port", GL_CFG_INT, 1, 65535, ws_port, "8080", "HTTP/websocket port of the consoles"),
    OPT_STR("ws-iface", ws_iface, "127.0.0.1", 0, "address to serve the consoles on (empty: all)"),
    OPT_STR("pg", pg, "", 1, "libpq conninfo of PostGIS (default: the private cluster of deploy/pg.sh)"),
    OPT_NUM("pg-port", GL_CFG_INT, 1, 65535, pg_port, "5433", "port of the private cluster"),
    OPT_STR("var-dir", var_dir, "var", 0, "folder of the journal and the API token"),
    OPT_STR("schema-dir", schema_dir, GL_SCHEMA_DIR, 0, "folder of the SQL migrations"),
    OPT_STR("tz", tz, "Asia/Shanghai", 0, "the county's time zone"),
    OPT_NUM("auto-assign-s", GL_CFG_INT, 0, 3600, auto_assign_s, "60", "auto-assign a priority-1 call after this many seconds without operator action (0: never)"),
    OPT_NUM("stale-s", GL_CFG_INT, 1, 3600, stale_s, "30", "a unit without a fix for this long is stale"),
    OPT_NUM("detour", GL_CFG_DOUBLE, 1, 5, detour, "1.3", "road distance / straight line (straight-line ETA)"),
    OPT_NUM("tie-margin-s", GL_CFG_INT, 0, 3600, tie_margin_s, "60", "units this close to the fastest are ranked by the coverage they keep"),
    OPT_NUM("coverage-alert", GL_CFG_DOUBLE, 0, 1, coverage_alert, "0.9", "below this coverage share, move-up advice is given"),
    OPT_NUM("speed-kmh", GL_CFG_DOUBLE, 5, 200, speed_kmh, "40", "average ambulance speed (straight-line ETA)"),
    OPT_NUM("db-wait-s", GL_CFG_INT, 0, 86400, db_wait_s, "60", "how long to wait for PostGIS at start"),
    OPT_NUM("journal-truncate-kb", GL_CFG_INT, 0, 1073741824, journal_truncate_kb, "1024", "empty the journal once confirmed and larger than this"),
    OPT_STR("log-level", log_level, "info", 0, "err, warn, info or debug"),
    OPT_NUM("allow-unsealed", GL_CFG_BOOL, 0, 0, allow_unsealed, "true", "take plain envelopes from units without a key (simulator, units not provisioned yet)"),
    {.name = NULL},
};

struct app {
    uv_loop_t loop;
    struct config cfg;
    dispatch_t *d;
    journal_t *journal;
    db_writer_t *db;
    bus_t *bus;
    ws_t *ws;
    auth_t *auth;           /* console users and sessions (auth.h) */
    api_t api;
    uv_timer_t tick;
    uv_signal_t sigint, sigterm;
    int64_t *pos_broadcast; /* fix_at last pushed to the consoles, per fleet slot */
    size_t pos_cap;         /* slots in pos_broadcast */
    int stopping;
};

/* ---- hooks: the core's requests to the adapters -------------------------------------------- */

static void hook_downlink(void *ctx, const vehicle_t *v, const downlink_msg_t *m,
                          const incident_t *inc)
{
    struct app *a = ctx;
    if (a->bus)
        bus_send_downlink(a->bus, v, m, inc);
}

static void hook_ack(void *ctx, const vehicle_t *v)
{
    struct app *a = ctx;
    if (a->bus)
        bus_send_ack(a->bus, v);
}

static void hook_record(void *ctx, uint64_t lsn, const char *payload, size_t len)
{
    struct app *a = ctx;
    if (a->db && db_writer_add_record(a->db, lsn, payload, len) != 0)
        LOG_ERR("main", "lsn=%" PRIu64 " could not be queued for the database", lsn);
}

static int hook_position(void *ctx, const vehicle_t *v, uint64_t seq, double lat, double lon,
                         int64_t fix_ms, int64_t rx_ms, float speed, float heading, float hdop,
                         int late)
{
    struct app *a = ctx;
    if (!a->db)
        return 0;
    return db_writer_add_position(a->db, v, seq, lat, lon, fix_ms, rx_ms, speed, heading, hdop,
                                  late);
}

static int hook_vitals(void *ctx, const vehicle_t *v, uint64_t seq, const char *incident,
                       const vital_reading_t *r, size_t n, int64_t rx_ms)
{
    struct app *a = ctx;
    /* Live to the ED whether or not the database buffer had room: a deferred envelope comes
     * again to be stored, and the relay does not send it twice (relay.h). */
    if (a->ws && incident[0])
        ws_vitals_numerics(a->ws, v, incident_table_find(dispatch_incidents(a->d), incident), r,
                           n);
    return a->db ? db_writer_add_vitals(a->db, v, seq, incident, r, n, rx_ms) : 0;
}

static int hook_ecg(void *ctx, const vehicle_t *v, uint64_t seq, const char *incident,
                    const ecg_meta_t *m, const void *frame, size_t len, int64_t rx_ms)
{
    struct app *a = ctx;
    if (a->ws && incident[0])
        ws_vitals_ecg(a->ws, v, incident_table_find(dispatch_incidents(a->d), incident), m);
    return a->db ? db_writer_add_ecg(a->db, v, seq, incident, m, frame, len, rx_ms) : 0;
}

static void push(struct app *a, json_t *ev)
{
    if (a->ws && ev)
        ws_broadcast(a->ws, ev);
    json_decref(ev);
}

static void hook_incident(void *ctx, const incident_t *inc)
{
    struct app *a = ctx;
    if (a->ws) {
        push(a, json_pack("{s:s,s:o}", "event", "incident", "incident", api_incident_json(inc)));
        ws_vitals_incident(a->ws, inc);
    }
}

static void hook_vehicle(void *ctx, const vehicle_t *v)
{
    struct app *a = ctx;
    if (a->ws)
        push(a, json_pack("{s:s,s:o}", "event", "vehicle", "vehicle",
                          api_vehicle_json(&a->api, v, gl_now_ms())));
}

static void hook_timeline(void *ctx, const incident_t *inc, const incident_event_t *e)
{
    struct app *a = ctx;
    if (a->ws) {
        push(a, json_pack("{s:s,s:s,s:o}", "event", "timeline", "incident", inc->id, "entry",
                          api_event_json(e)));
        if (!strcmp(e->kind, "destination"))
            ws_vitals_incident(a->ws, inc); /* the stream follows the patient */
    }
}

/* ---- start-up helpers --------------------------------------------------------------------- */

/* Reads var/api-token, or creates it (64 hex digits from libsodium's CSPRNG, mode 0600). */
static int load_token(const char *var_dir, char *token, size_t len)
{
    char path[600];
    snprintf(path, sizeof path, "%s/api-token", var_dir);
    FILE *f = fopen(path, "r");
    if (f) {
        int ok = fgets(token, (int)len, f) != NULL;
        fclose(f);
        token[strcspn(token, "\r\n")] = '\0';
        if (ok && strlen(token) >= 32)
            return 0;
        LOG_ERR("main", "%s does not hold a token: remove it to make a new one", path);
        return GL_EINVAL;
    }
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(token, len, raw, sizeof raw);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, token, strlen(token)) != (ssize_t)strlen(token) ||
        write(fd, "\n", 1) != 1) {
        LOG_ERR("main", "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return GL_EIO;
    }
    close(fd);
    LOG_INFO("main", "new API token written to %s", path);
    return 0;
}

/* The private cluster's conninfo, from var/pg.password (written by deploy/pg.sh). */
static int default_conninfo(struct config *c)
{
    char path[600], pw[128] = "";
    snprintf(path, sizeof path, "%s/pg.password", c->var_dir);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(pw, sizeof pw, f)) {
        if (f)
            fclose(f);
        LOG_ERR("main", "no --pg given and no %s: start the private cluster with deploy/pg.sh "
                        "start, or set GOLDLINE_PG", path);
        return GL_EINVAL;
    }
    fclose(f);
    pw[strcspn(pw, "\r\n")] = '\0';
    snprintf(c->pg, sizeof c->pg,
             "hostaddr=127.0.0.1 port=%lld dbname=goldline user=goldline password=%s "
             "sslmode=disable gssencmode=disable connect_timeout=5",
             c->pg_port, pw);
    return 0;
}

static int on_replayed(uint64_t lsn, const char *payload, size_t len, void *ctx)
{
    struct app *a = ctx;
    int rc = dispatch_apply_record(a->d, payload, len);
    if (rc) {
        LOG_ERR("main", "journal record %" PRIu64 " does not apply: %s", lsn, gl_strerror(rc));
        return rc;
    }
    return db_writer_add_record(a->db, lsn, payload, len);
}

/* ---- running and stopping ----------------------------------------------------------------- */

static void on_tick(uv_timer_t *t)
{
    struct app *a = t->data;
    int64_t now = gl_now_ms();
    dispatch_tick(a->d, now);
    ws_vitals_check_sessions(a->ws, now);
    /* Positions go to the consoles at most once a second per unit, and are built only when
     * someone listens (10,000 vehicle objects a second for nobody was a tenth of the CPU). */
    if (!ws_has_subscribers(a->ws))
        return;
    fleet_t *f = dispatch_fleet(a->d);
    if (fleet_count(f) > a->pos_cap) { /* units provisioned since start */
        int64_t *pb = realloc(a->pos_broadcast, fleet_count(f) * sizeof *pb);
        if (!pb)
            return;
        memset(pb + a->pos_cap, 0, (fleet_count(f) - a->pos_cap) * sizeof *pb);
        a->pos_broadcast = pb;
        a->pos_cap = fleet_count(f);
    }
    for (uint32_t s = 0; s < fleet_count(f) && a->pos_broadcast; s++) {
        vehicle_t *v = fleet_at(f, s);
        if (v->has_fix && v->fix_at_ms != a->pos_broadcast[s]) {
            a->pos_broadcast[s] = v->fix_at_ms;
            hook_vehicle(a, v);
        }
    }
}

static void on_handle_closed(uv_handle_t *h)
{
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct app *a = s->data;
    if (a->stopping)
        return;
    a->stopping = 1;
    LOG_INFO("main", "signal %d: shutting down", signum);
    ws_shutdown(a->ws);
    bus_close(a->bus, NULL, NULL);
    a->bus = NULL;
    db_writer_close(a->db, NULL, NULL);
    a->db = NULL;
    a->api.bus = NULL;
    a->api.db = NULL;
    uv_close((uv_handle_t *)&a->tick, on_handle_closed);
    uv_close((uv_handle_t *)&a->sigint, on_handle_closed);
    uv_close((uv_handle_t *)&a->sigterm, on_handle_closed);
}

int main(int argc, char **argv)
{
    static struct app app;
    struct app *a = &app;
    char err[512];
    int rc = gl_cfg_load(options, &a->cfg, &argc, argv, err, sizeof err);
    if (rc == 1)
        return 0;
    if (rc || argc > 1) {
        fprintf(stderr, "goldline-dispatcher: %s\n", rc ? err : "unexpected argument");
        return 2;
    }
    struct config *c = &a->cfg;
    if (gl_log_set_level_name(c->log_level) || sodium_init() < 0) {
        fprintf(stderr, "goldline-dispatcher: bad log level or libsodium failed\n");
        return 2;
    }
    gl_time_set_zone(c->tz);
    gl_cfg_log("main", options, c);
    char token[160], journal_dir[600], journal_path[700];
    mkdir(c->var_dir, 0700);
    snprintf(journal_dir, sizeof journal_dir, "%s/journal", c->var_dir);
    mkdir(journal_dir, 0700);
    snprintf(journal_path, sizeof journal_path, "%s/journal.log", journal_dir);
    if (load_token(c->var_dir, token, sizeof token) || (!c->pg[0] && default_conninfo(c)))
        return 1;

    uv_loop_init(&a->loop);
    dispatch_params_t p = {
        .match = {.eta = {.detour_factor = c->detour, .speed_mps = c->speed_kmh / 3.6},
                  .stale_ms = c->stale_s * 1000,
                  .tie_margin_s = (double)c->tie_margin_s},
        .auto_assign_ms = c->auto_assign_s * 1000,
        .downlink_resend_ms = 3000,
    };
    dispatch_hooks_t hooks = {.send_downlink = hook_downlink,
                              .send_ack = hook_ack,
                              .record_appended = hook_record,
                              .position = hook_position,
                              .vitals = hook_vitals,
                              .ecg = hook_ecg,
                              .incident_changed = hook_incident,
                              .vehicle_changed = hook_vehicle,
                              .timeline_added = hook_timeline};
    a->d = dispatch_new(&p, &hooks, a, NULL);
    uint64_t applied = 0;
    if (!a->d || db_load(c->pg, c->schema_dir, (int)c->db_wait_s, a->d, &applied) != 0)
        return 1;
    /* Console users: loaded now, and their changes in the journal tail replayed below. */
    if (!(a->auth = auth_new(NULL)) || db_users_load(c->pg, a->auth) != 0 ||
        access_attach(a->d, a->auth) != 0 || api_roads_attach(a->d, &a->loop) != 0)
        return 1;
    if (db_writer_new(&a->loop, c->pg, a->d, NULL, applied,
                      (uint64_t)c->journal_truncate_kb * 1024, &a->db) != 0)
        return 1;
    if (journal_open(journal_path, applied, on_replayed, a, &a->journal) != 0)
        return 1;
    char dead_letter[700];
    snprintf(dead_letter, sizeof dead_letter, "%s/dead-letter.log", journal_dir);
    db_writer_set_journal(a->db, a->journal, dead_letter);
    dispatch_mark_restored(a->d);
    dispatch_set_journal(a->d, a->journal);
    LOG_INFO("main", "state loaded: PostGIS holds the journal up to %" PRIu64 ", journal ends at "
             "%" PRIu64, applied, journal_last_lsn(a->journal));
    a->pos_cap = fleet_count(dispatch_fleet(a->d)) + 1;
    a->pos_broadcast = calloc(a->pos_cap, sizeof *a->pos_broadcast);

    a->api = (api_t){a->d, NULL, a->db, c->tz, a->auth, c->coverage_alert};
    if (bus_open(&a->loop, c->uplink_url, c->downlink_url, a->d, c->allow_unsealed, &a->bus) != 0)
        return 1;
    a->api.bus = a->bus;
    if (ws_open(&a->loop, c->ws_iface, (int)c->ws_port, token, &a->api, &a->ws) != 0)
        return 1;
    dispatch_resend_pending(a->d, gl_now_ms());

    uv_timer_init(&a->loop, &a->tick);
    a->tick.data = a;
    uv_timer_start(&a->tick, on_tick, 1000, 1000);
    uv_signal_init(&a->loop, &a->sigint);
    uv_signal_init(&a->loop, &a->sigterm);
    a->sigint.data = a->sigterm.data = a;
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
    LOG_INFO("main", "goldline-dispatcher ready");

    uv_run(&a->loop, UV_RUN_DEFAULT);

    ws_free(a->ws);
    journal_close(a->journal);
    dispatch_free(a->d);
    auth_free(a->auth);
    free(a->pos_broadcast);
    rc = uv_loop_close(&a->loop);
    if (rc)
        LOG_WARN("main", "loop closed with handles left: %s", uv_strerror(rc));
    LOG_INFO("main", "stopped");
    return 0;
}
