/*
 * goldline-fleet: many simulated ambulances in one process, for the demo, load tests and
 * benchmarks. Thin: it reads the configuration, builds the fleet (fleet_input.c), and wires the
 * simulation (fleet_sim.c) to one unit link (unit_link.c) on one libuv loop: a 100 ms timer
 * advances simulated time (--time-scale times wall time), a --fix-ms timer sends every unit's
 * GpsFix, statuses go out as the simulation reports them, orders come in from the link.
 *
 * Wire timestamps (sent_at, fix time, status at_ms) are wall time even when simulated time runs
 * faster, because the dispatcher refuses fixes from the future.
 *
 * With --vitals, a unit with a patient (on scene and transporting) streams vitals through the
 * same unit session as its fixes (vitals_stream.h, polled by a 100 ms timer with the wall
 * clock): a chest_pain case the real MI record of --ecg-record (opened once at start; without
 * it, the generator with anterior ST elevation), any other case the generator. Off by default,
 * so the ingest benchmark's load is unchanged.
 *
 * With --spool-dir every unit keeps its uplink in its own spool file DIR/<id>.spool (the same
 * spool code as goldline-vehicle: kept until acknowledged, seqs continued across restarts), and
 * with --key-dir a unit whose key file DIR/<id>.key exists seals its uplink with it (a unit
 * without one stays unsealed; a key file that exists but cannot be used stops the start).
 * Without either, units are unsealed with an in-memory queue, as before (the benchmarks).
 */
#include "config.h"
#include "err.h"
#include "fleet_input.h"
#include "fleet_sim.h"
#include "log.h"
#include "seal.h"
#include "spool.h"
#include "timeutil.h"
#include "unit_link.h"
#include "vitals_stream.h"

#include <inttypes.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#define SIM_TICK_MS 100
#define VITALS_TICK_MS 100

struct fleet_config {
    char uplink_url[256];
    char downlink_url[256];
    char units[512];
    long long random;
    char center[64];
    double radius_km;
    char hospitals[512];
    double speed_kmh;
    double scene_min;
    double hospital_min;
    double time_scale;
    double jitter_m;
    long long fix_ms;
    long long resend_ms;
    long long first_seq;
    long long seed;
    int print_sql;
    int vitals;
    char ecg_record[512];
    char spool_dir[256];
    char key_dir[256];
    char log_level[16];
};

#define OPT(name, type, dflt, min, max, field, help)                                              \
    {name, type, dflt, min, max, offsetof(struct fleet_config, field),                            \
     sizeof(((struct fleet_config *)0)->field), 0, help}

static const gl_cfg_option_t options[] = {
    OPT("uplink-url", GL_CFG_STR, UNIT_LINK_UPLINK_URL, 0, 0, uplink_url,
        "dispatcher uplink (units PUSH here)"),
    OPT("downlink-url", GL_CFG_STR, UNIT_LINK_DOWNLINK_URL, 0, 0, downlink_url,
        "dispatcher downlink (units SUB here)"),
    OPT("units", GL_CFG_STR, "", 0, 0, units, "placement CSV: id,lat,lon,kind[,caps][,call_sign]"),
    OPT("random", GL_CFG_INT, "0", 0, 99999, random, "make up N units instead of --units"),
    OPT("center", GL_CFG_STR, "26.267,116.654", 0, 0, center, "LAT,LON centre for --random"),
    OPT("radius-km", GL_CFG_DOUBLE, "15", 0, 500, radius_km, "radius for --random"),
    OPT("hospitals", GL_CFG_STR, "", 0, 0, hospitals,
        "hospital CSV id,lat,lon[,name]; none: transport back to the start point"),
    OPT("speed-kmh", GL_CFG_DOUBLE, "45", 1, 200, speed_kmh, "average driving speed"),
    OPT("scene-min", GL_CFG_DOUBLE, "10", 0, 600, scene_min, "minutes on scene"),
    OPT("hospital-min", GL_CFG_DOUBLE, "10", 0, 600, hospital_min, "minutes of handover"),
    OPT("time-scale", GL_CFG_DOUBLE, "1", 0.01, 10000, time_scale,
        "simulated time runs this many times faster than wall time"),
    OPT("jitter-m", GL_CFG_DOUBLE, "2", 0, 100, jitter_m, "GPS noise of a standing unit"),
    OPT("fix-ms", GL_CFG_INT, "1000", 50, 600000, fix_ms, "GpsFix period per unit (wall time)"),
    OPT("resend-ms", GL_CFG_INT, "3000", 100, 600000, resend_ms,
        "resend an unacknowledged uplink after this long"),
    OPT("first-seq", GL_CFG_INT, "0", 0, 4e15, first_seq,
        "first uplink seq; 0 = the wall clock in ms, above any earlier run's seqs"),
    OPT("seed", GL_CFG_INT, "1", 0, 4e15, seed, "random seed (placement, phases, jitter)"),
    OPT("print-sql", GL_CFG_BOOL, "false", 0, 0, print_sql,
        "print SQL that seeds stations and vehicles, then exit"),
    OPT("vitals", GL_CFG_BOOL, "false", 0, 0, vitals,
        "units with a patient stream vitals and ECG (off: GPS and statuses only)"),
    OPT("ecg-record", GL_CFG_STR, "", 0, 0, ecg_record,
        "WFDB record for chest-pain patients, e.g. ../shared/data/ecg/s0010_re "
        "(default: the generator with ST elevation)"),
    OPT("spool-dir", GL_CFG_STR, "", 0, 0, spool_dir,
        "keep each unit's uplink in DIR/<id>.spool until acknowledged (empty: in memory)"),
    OPT("key-dir", GL_CFG_STR, "", 0, 0, key_dir,
        "seal each unit's uplink with DIR/<id>.key when that file exists (empty: unsealed)"),
    OPT("log-level", GL_CFG_STR, "info", 0, 0, log_level, "err, warn, info or debug"),
    {NULL, 0, NULL, 0, 0, 0, 0, 0, NULL},
};

struct fleet_app;

/* What goldline-fleet keeps per unit beside the simulation's sim_unit_t (its `user`). */
struct fleet_unit {
    struct fleet_app *app;
    sim_unit_t *u;
    unit_session_t *s;
    vitals_stream_t *vitals; /* while the unit has a patient and --vitals is on */
};

struct fleet_app {
    uv_loop_t loop;
    uv_timer_t sim_timer, fix_timer, vitals_timer;
    struct fleet_unit *fu; /* one per unit, in fleet_sim order */
    size_t nfu;
    wfdb_record_t *ecg_rec; /* --ecg-record, NULL without */
    size_t vitals_active;   /* units streaming now */
    uint64_t vitals_seed;
    gl_log_burst_t vitals_burst;
    uv_signal_t sigint, sigterm;
    unit_link_t *link;
    fleet_sim_t *sim;
    const struct fleet_config *cfg;
    uint64_t last_tick_ms;   /* uv_now at the previous simulation step */
    int stopping;
};

/* ---- vitals ---------------------------------------------------------------------------- */

static void note_vitals_rc(struct fleet_unit *fu, int rc)
{
    unsigned long suppressed;
    if (rc < 0 && gl_log_burst_allow(&fu->app->vitals_burst, gl_now_ms(), 10000, &suppressed))
        LOG_WARN("fleet", "veh=%s inc=%s vitals not sent: %s (%lu more since the last line)",
                 fu->u->spec.id, fu->u->incident, gl_strerror(rc), suppressed);
}

static int sink_ecg(const Goldline__EcgFrame *f, void *ctx)
{
    struct fleet_unit *fu = ctx;
    note_vitals_rc(fu, unit_session_send_ecg(fu->s, f));
    return 0;
}

static int sink_numerics(const Goldline__VitalsNumerics *m, void *ctx)
{
    struct fleet_unit *fu = ctx;
    if (m->n_numerics > 0)
        note_vitals_rc(fu, unit_session_send_vitals(fu->s, m));
    return 0;
}

/* Starts or stops the unit's vitals stream to match its state (fleet_sim_vitals_source). */
static void update_vitals(struct fleet_unit *fu)
{
    struct fleet_app *app = fu->app;
    sim_vitals_t src = fleet_sim_vitals_source(fu->u);
    if (src == SIM_VITALS_NONE) {
        if (fu->vitals) {
            vitals_stream_free(fu->vitals);
            fu->vitals = NULL;
            app->vitals_active--;
            LOG_DEBUG("fleet", "veh=%s vitals stopped", fu->u->spec.id);
        }
        return;
    }
    if (fu->vitals)
        return; /* the same patient, still streaming */
    int64_t now = gl_now_ms();
    uint64_t seed = app->vitals_seed++;
    int rc;
    if (src == SIM_VITALS_RECORD && app->ecg_rec) {
        char err[256];
        rc = vitals_stream_new_record(NULL, app->ecg_rec, seed, now, &fu->vitals, err, sizeof err);
        if (rc < 0)
            LOG_ERR("fleet", "veh=%s inc=%s no ECG replay: %s", fu->u->spec.id, fu->u->incident,
                    err);
    } else {
        vitals_gen_params_t gp;
        vitals_gen_params_default(&gp);
        gp.seed = seed;
        if (src == SIM_VITALS_RECORD) { /* chest pain without a record: a generated STEMI */
            gp.st_territory = VITALS_ST_ANTERIOR;
            gp.st_uv = 250;
        }
        rc = vitals_stream_new_gen(NULL, &gp, now, &fu->vitals);
        if (rc < 0)
            LOG_ERR("fleet", "veh=%s inc=%s no vitals generator: %s", fu->u->spec.id,
                    fu->u->incident, gl_strerror(rc));
    }
    if (rc == 0) {
        app->vitals_active++;
        LOG_INFO("fleet", "veh=%s inc=%s vitals from %s", fu->u->spec.id, fu->u->incident,
                 src == SIM_VITALS_RECORD && app->ecg_rec ? "the ECG record" : "the generator");
    }
}

static void on_vitals_tick(uv_timer_t *t)
{
    struct fleet_app *app = t->data;
    if (app->vitals_active == 0)
        return;
    int64_t now = gl_now_ms();
    for (size_t i = 0; i < app->nfu; i++) {
        struct fleet_unit *fu = &app->fu[i];
        if (!fu->vitals)
            continue;
        vitals_stream_sink_t sink = {sink_ecg, sink_numerics, fu};
        vitals_stream_set_incident(fu->vitals, fu->u->incident);
        vitals_stream_poll(fu->vitals, now, &sink);
    }
}

/* ---- statuses and orders ----------------------------------------------------------------- */

static void on_sim_status(sim_unit_t *u, unit_status_t st, const char *incident_id, void *ctx)
{
    struct fleet_unit *fu = u->user;
    LOG_INFO("fleet", "veh=%s inc=%s status=%s", u->spec.id, incident_id[0] ? incident_id : "-",
             unit_status_name(st));
    if (!fu || !fu->s)
        return;
    int rc = unit_session_send_status(fu->s, st, incident_id, gl_now_ms());
    if (rc < 0)
        LOG_ERR("fleet", "veh=%s status=%s not sent: %s", u->spec.id, unit_status_name(st),
                gl_strerror(rc));
    if (fu->app->cfg->vitals)
        update_vitals(fu);
}

static void on_order(unit_session_t *s, const unit_order_t *o, void *ctx)
{
    struct fleet_unit *fu = ctx;
    struct fleet_app *app = fu->app;
    sim_unit_t *u = fu->u;
    int rc;
    if (o->kind == UNIT_ORDER_ASSIGN) {
        LOG_INFO("fleet", "veh=%s inc=%s assigned (seq=%" PRIu64 ")", u->spec.id, o->incident_id,
                 o->seq);
        rc = fleet_sim_assign(app->sim, u, o->incident_id, o->lat, o->lon);
        if (rc == 0)
            snprintf(u->complaint, sizeof u->complaint, "%s", o->complaint);
    } else if (o->kind == UNIT_ORDER_DESTINATION) {
        LOG_INFO("fleet", "veh=%s inc=%s destination %s (seq=%" PRIu64 ")", u->spec.id,
                 o->incident_id, o->hospital_id, o->seq);
        rc = fleet_sim_set_destination(app->sim, u, o->incident_id, o->lat, o->lon);
    } else {
        LOG_INFO("fleet", "veh=%s inc=%s cancelled (seq=%" PRIu64 ")", u->spec.id,
                 o->incident_id, o->seq);
        rc = fleet_sim_cancel(app->sim, u, o->incident_id);
    }
    if (rc < 0)
        LOG_WARN("fleet", "veh=%s inc=%s %s ignored in state %s: %s", u->spec.id, o->incident_id,
                 unit_order_kind_name(o->kind), sim_state_name(u->state), gl_strerror(rc));
}

static void on_sim_tick(uv_timer_t *t)
{
    struct fleet_app *app = t->data;
    uint64_t now = uv_now(&app->loop);
    double dt_s = (double)(now - app->last_tick_ms) / 1000.0 * app->cfg->time_scale;
    app->last_tick_ms = now;
    fleet_sim_advance(app->sim, dt_s);
}

static void on_fix_tick(uv_timer_t *t)
{
    struct fleet_app *app = t->data;
    int64_t now = gl_now_ms();
    for (size_t i = 0; i < fleet_sim_count(app->sim); i++) {
        sim_unit_t *u = fleet_sim_at(app->sim, i);
        unit_fix_t fix;
        fleet_sim_fix(app->sim, u, now, &fix);
        struct fleet_unit *fu = u->user;
        if (fu && fu->s)
            unit_session_send_fix(fu->s, &fix);
    }
}

static void on_link_closed(void *ctx)
{
    struct fleet_app *app = ctx;
    app->link = NULL;
}

static void stop(struct fleet_app *app)
{
    if (app->stopping)
        return;
    app->stopping = 1;
    unit_link_stats_t st;
    unit_link_get_stats(app->link, &st);
    LOG_INFO("fleet", "stopping: %zu units, sent=%" PRIu64 " resent=%" PRIu64 " acked=%" PRIu64
             " unacked=%zu dropped=%" PRIu64 " orders=%" PRIu64 " malformed=%" PRIu64,
             st.units_count, st.units.sent, st.units.resent, st.units.acked, st.units.queued,
             st.units.dropped, st.units.orders, st.units.malformed + st.unroutable);
    uv_close((uv_handle_t *)&app->sim_timer, NULL);
    uv_close((uv_handle_t *)&app->fix_timer, NULL);
    uv_close((uv_handle_t *)&app->vitals_timer, NULL);
    uv_close((uv_handle_t *)&app->sigint, NULL);
    uv_close((uv_handle_t *)&app->sigterm, NULL);
    unit_link_close(app->link, on_link_closed, app);
}

static void on_signal(uv_signal_t *h, int signum)
{
    LOG_INFO("fleet", "signal %d: shutting down", signum);
    stop(h->data);
}

/* Loads the units and hospitals the configuration names; the arrays are the caller's. */
static int load_fleet(const struct fleet_config *cfg, sim_unit_spec_t **units, size_t *nunits,
                      sim_hospital_t **hosp, size_t *nhosp)
{
    char err[512];
    int rc;
    *hosp = NULL;
    *nhosp = 0;
    if ((cfg->units[0] != '\0') == (cfg->random > 0)) {
        fprintf(stderr, "goldline-fleet: give exactly one of --units FILE and --random N\n");
        return GL_EINVAL;
    }
    if (cfg->units[0]) {
        rc = fleet_input_load_units(cfg->units, units, nunits, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "goldline-fleet: %s\n", err);
            return rc;
        }
    } else {
        double lat, lon;
        if (fleet_input_parse_center(cfg->center, &lat, &lon) < 0) {
            fprintf(stderr, "goldline-fleet: --center must be LAT,LON, got '%s'\n", cfg->center);
            return GL_EINVAL;
        }
        rc = fleet_input_random_units((size_t)cfg->random, lat, lon, cfg->radius_km,
                                      (uint64_t)cfg->seed, units);
        if (rc < 0)
            return rc;
        *nunits = (size_t)cfg->random;
    }
    if (cfg->hospitals[0]) {
        rc = fleet_input_load_hospitals(cfg->hospitals, hosp, nhosp, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "goldline-fleet: %s\n", err);
            free(*units);
            return rc;
        }
    }
    return 0;
}

/* 1 when the spool file exists with more than its header (seqs an earlier run used). */
static int spool_has_history(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && sb.st_size > SPOOL_HEADER_BYTES;
}

/*
 * Adds one unit to the link, with its spool and key when --spool-dir / --key-dir are given.
 * A unit without a key file in --key-dir is unsealed; one whose key file cannot be used (mode,
 * contents) is an error. Returns as unit_link_add_unit_opts(), or the key file's error.
 */
static int add_unit(struct fleet_app *app, const char *id, uint64_t first_seq,
                    struct fleet_unit *fu, unit_session_t **out)
{
    const struct fleet_config *cfg = app->cfg;
    char spool[600], keyf[600], why[256];
    seal_key_t key = {{0}};
    unit_session_opts_t uo = {0};
    uo.first_seq = first_seq;
    if (cfg->spool_dir[0]) {
        snprintf(spool, sizeof spool, "%s/%s.spool", cfg->spool_dir, id);
        uo.spool_path = spool;
        /* A spool with history continues its own seqs (the higher of the two is taken). */
        if (cfg->first_seq == 0 && spool_has_history(spool))
            uo.first_seq = 1;
    }
    if (cfg->key_dir[0]) {
        snprintf(keyf, sizeof keyf, "%s/%s.key", cfg->key_dir, id);
        int rc = seal_key_read_file(keyf, &key, why, sizeof why);
        if (rc == 0) {
            uo.key = &key;
        } else if (rc != GL_ENOENT) {
            LOG_ERR("fleet", "veh=%s key file %s cannot be used: %s", id, keyf, why);
            return rc;
        }
    }
    int rc = unit_link_add_unit_opts(app->link, id, &uo, on_order, fu, out);
    sodium_memzero(&key, sizeof key); /* the session keeps its own copy */
    if (rc == 0 && (uo.spool_path || uo.key))
        LOG_DEBUG("fleet", "veh=%s %s, %s, next seq %" PRIu64, id,
                  uo.spool_path ? "spooled" : "in memory", uo.key ? "sealed" : "unsealed",
                  unit_session_next_seq(*out));
    return rc;
}

static int run(struct fleet_app *app, const sim_unit_spec_t *units, size_t nunits,
               const sim_hospital_t *hosp, size_t nhosp)
{
    const struct fleet_config *cfg = app->cfg;
    fleet_sim_params_t p = {cfg->speed_kmh, cfg->scene_min * 60, cfg->hospital_min * 60,
                            cfg->jitter_m, (uint64_t)cfg->seed};
    app->sim = fleet_sim_new(&p, on_sim_status, app);
    if (!app->sim)
        return GL_ENOMEM;
    for (size_t i = 0; i < nhosp; i++)
        if (fleet_sim_add_hospital(app->sim, &hosp[i]) < 0)
            return GL_EINVAL;
    unit_link_config_t lc = {cfg->uplink_url, cfg->downlink_url, {0}, 0};
    lc.limits.resend_ms = cfg->resend_ms;
    int rc = unit_link_new(&app->loop, &lc, &app->link);
    if (rc < 0)
        return rc;
    uint64_t first_seq = cfg->first_seq > 0 ? (uint64_t)cfg->first_seq : (uint64_t)gl_now_ms();
    app->fu = calloc(nunits ? nunits : 1, sizeof *app->fu);
    if (!app->fu) {
        unit_link_close(app->link, on_link_closed, app);
        return GL_ENOMEM;
    }
    app->nfu = nunits;
    app->vitals_seed = (uint64_t)cfg->seed * 1000003u;
    for (size_t i = 0; i < nunits; i++) {
        sim_unit_t *u = NULL;
        unit_session_t *s;
        struct fleet_unit *fu = &app->fu[i];
        fu->app = app;
        rc = fleet_sim_add_unit(app->sim, &units[i], &u);
        fu->u = u;
        if (rc < 0 ||
            (rc = add_unit(app, units[i].id, first_seq, fu, &s)) < 0) {
            LOG_ERR("fleet", "veh=%s cannot be added: %s", units[i].id, gl_strerror(rc));
            unit_link_close(app->link, on_link_closed, app);
            return rc;
        }
        fu->s = s;
        u->user = fu;
        /* A fresh simulator knows of no job: say so, so that the dispatcher's picture agrees. */
        unit_session_send_status(s, UNIT_STATUS_AVAILABLE, NULL, gl_now_ms());
    }
    LOG_INFO("fleet", "%zu units, %zu hospitals, first seq %" PRIu64 ", time scale %g%s%s%s%s",
             nunits, nhosp, first_seq, cfg->time_scale, cfg->spool_dir[0] ? ", spools in " : "",
             cfg->spool_dir, cfg->key_dir[0] ? ", keys from " : "", cfg->key_dir);
    uv_timer_init(&app->loop, &app->sim_timer);
    uv_timer_init(&app->loop, &app->fix_timer);
    uv_timer_init(&app->loop, &app->vitals_timer);
    uv_signal_init(&app->loop, &app->sigint);
    uv_signal_init(&app->loop, &app->sigterm);
    app->sim_timer.data = app->fix_timer.data = app->vitals_timer.data = app;
    app->sigint.data = app->sigterm.data = app;
    if (cfg->vitals)
        uv_timer_start(&app->vitals_timer, on_vitals_tick, VITALS_TICK_MS, VITALS_TICK_MS);
    app->last_tick_ms = uv_now(&app->loop);
    uv_timer_start(&app->sim_timer, on_sim_tick, SIM_TICK_MS, SIM_TICK_MS);
    uv_timer_start(&app->fix_timer, on_fix_tick, 0, (uint64_t)cfg->fix_ms);
    uv_signal_start(&app->sigint, on_signal, SIGINT);
    uv_signal_start(&app->sigterm, on_signal, SIGTERM);
    return uv_run(&app->loop, UV_RUN_DEFAULT);
}

int main(int argc, char **argv)
{
    static struct fleet_config cfg;
    char err[512];
    int rc = gl_cfg_load(options, &cfg, &argc, argv, err, sizeof err);
    if (rc == 1)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "goldline-fleet: %s\n", err);
        return 2;
    }
    if (argc > 1) {
        fprintf(stderr, "goldline-fleet: unexpected argument '%s' (see --help)\n", argv[1]);
        return 2;
    }
    if (gl_log_set_level_name(cfg.log_level) < 0) {
        fprintf(stderr, "goldline-fleet: unknown log level '%s'\n", cfg.log_level);
        return 2;
    }
    sim_unit_spec_t *units;
    sim_hospital_t *hosp;
    size_t nunits, nhosp;
    if (load_fleet(&cfg, &units, &nunits, &hosp, &nhosp) < 0)
        return 2;
    if (cfg.print_sql) {
        fleet_input_print_sql(stdout, units, nunits);
        free(units);
        free(hosp);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    gl_cfg_log("fleet", options, &cfg);

    struct fleet_app app = {0};
    app.cfg = &cfg;
    if (cfg.vitals && cfg.ecg_record[0]) {
        char rerr[512];
        if (vitals_stream_open_record(cfg.ecg_record, &app.ecg_rec, rerr, sizeof rerr) < 0) {
            fprintf(stderr, "goldline-fleet: --ecg-record: %s\n", rerr);
            free(units);
            free(hosp);
            return 2;
        }
    } else if (cfg.ecg_record[0]) {
        fprintf(stderr, "goldline-fleet: --ecg-record is used only with --vitals\n");
    }
    uv_loop_init(&app.loop);
    rc = run(&app, units, nunits, hosp, nhosp);
    if (rc < 0) {
        LOG_ERR("fleet", "cannot start: %s", gl_strerror(rc));
        /* Release whatever run() opened before it failed. */
        uv_run(&app.loop, UV_RUN_DEFAULT);
    }
    int close_rc = uv_loop_close(&app.loop);
    if (close_rc != 0)
        LOG_ERR("fleet", "loop not empty at exit: %s", uv_strerror(close_rc));
    for (size_t i = 0; i < app.nfu; i++)
        vitals_stream_free(app.fu[i].vitals);
    free(app.fu);
    wfdb_record_free(app.ecg_rec);
    fleet_sim_free(app.sim);
    free(units);
    free(hosp);
    return rc < 0 || close_rc != 0 ? 1 : 0;
}
