/*
 * goldline-jt808: the JT/T 808 gateway. Thin: it reads the configuration, opens one unit link
 * to the dispatcher, connects to PostGIS through pguv, loads the terminal table
 * (jt808_terminals: phone → vehicle, auth code), and only then starts listening, so that no
 * terminal is refused for being unknown while the table is still on its way.
 *
 * Why pguv rather than a blocking libpq load: the table is reloaded every --reload-s so that a
 * terminal provisioned with SQL is accepted without a restart, and each registration writes
 * registered_at; both happen while terminals are connected, so they must not block the loop.
 * pguv also brings reconnection with backoff for free, and keeps <libpq-fe.h> out of this file.
 * A database that is down at start delays the listener until it is reachable; one that goes
 * down later leaves the last table in force.
 */
#include "config.h"
#include "err.h"
#include "jt808_server.h"
#include "log.h"
#include "pguv.h"
#include "timeutil.h"
#include "unit_link.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct jt_config {
    char host[64];
    long long port;
    char uplink_url[256];
    char downlink_url[256];
    char pg[1024];
    long long pg_port;
    char var_dir[512];
    long long reload_s;
    long long max_conns;
    long long idle_s;
    long long tz_offset_min;
    char log_level[16];
};

#define OPT(name, type, dflt, min, max, field, secret, help)                                       \
    {                                                                                              \
        name, type, dflt, min, max, offsetof(struct jt_config, field),                             \
            sizeof(((struct jt_config *)0)->field), secret, help                                   \
    }

static const gl_cfg_option_t options[] = {
    OPT("host", GL_CFG_STR, JT808_SERVER_HOST, 0, 0, host, 0,
        "numeric address to listen on (0.0.0.0 for terminals on the mobile network)"),
    OPT("port", GL_CFG_INT, "7808", 1, 65535, port, 0, "TCP port terminals connect to"),
    OPT("uplink-url", GL_CFG_STR, UNIT_LINK_UPLINK_URL, 0, 0, uplink_url, 0,
        "dispatcher uplink (GpsFixes are PUSHed here)"),
    OPT("downlink-url", GL_CFG_STR, UNIT_LINK_DOWNLINK_URL, 0, 0, downlink_url, 0,
        "dispatcher downlink (acks)"),
    OPT("pg", GL_CFG_STR, "", 0, 0, pg, 1,
        "libpq conninfo of PostGIS, numeric host (default: the private cluster of deploy/pg.sh)"),
    OPT("pg-port", GL_CFG_INT, "5433", 1, 65535, pg_port, 0, "port of the private cluster"),
    OPT("var-dir", GL_CFG_STR, "var", 0, 0, var_dir, 0, "folder holding pg.password"),
    OPT("reload-s", GL_CFG_INT, "60", 1, 86400, reload_s, 0,
        "reload the terminal table this often"),
    OPT("max-conns", GL_CFG_INT, "1024", 1, 100000, max_conns, 0, "simultaneous terminals"),
    OPT("idle-s", GL_CFG_INT, "180", 5, 86400, idle_s, 0,
        "close a connection silent this long (terminals heartbeat every 60 s)"),
    OPT("tz-offset-min", GL_CFG_INT, "480", -840, 840, tz_offset_min, 0,
        "zone of the terminals' clocks, minutes east of UTC (standard: 480; 0 for UTC devices)"),
    OPT("log-level", GL_CFG_STR, "info", 0, 0, log_level, 0, "err, warn, info or debug"),
    {NULL, 0, NULL, 0, 0, 0, 0, 0, NULL},
};

static const char SQL_LOAD[] = "SELECT phone, vehicle_id, auth_code FROM jt808_terminals";
static const char SQL_REGISTERED[] =
    "UPDATE jt808_terminals SET registered_at = now() WHERE phone = $1";

struct app {
    uv_loop_t loop;
    uv_timer_t reload;
    uv_signal_t sigint, sigterm;
    const struct jt_config *cfg;
    unit_link_t *link;
    pguv_t *pg;
    jt808_server_t *srv;
    int listening;
    int loading; /* a load query is in flight */
    int stopping;
    int failed; /* exit status 1 */
};

static void stop(struct app *a);

static void on_loaded(void *ctx, int err, const pguv_res_t *res, const char *sqlstate,
                      const char *errmsg)
{
    struct app *a = ctx;
    a->loading = 0;
    if (a->stopping)
        return;
    if (err < 0) {
        LOG_ERR("jt808", "cannot load jt808_terminals: %s%s%s", errmsg,
                sqlstate && sqlstate[0] ? " SQLSTATE " : "", sqlstate ? sqlstate : "");
        return;
    }
    int rows = pguv_res_rows(res);
    jt808_terminal_t *t = calloc(rows > 0 ? (size_t)rows : 1, sizeof *t);
    if (!t) {
        LOG_ERR("jt808", "terminal table of %d rows: out of memory", rows);
        return;
    }
    for (int i = 0; i < rows; i++) {
        snprintf(t[i].phone, sizeof t[i].phone, "%s", pguv_res_value(res, i, 0));
        snprintf(t[i].vehicle_id, sizeof t[i].vehicle_id, "%s", pguv_res_value(res, i, 1));
        snprintf(t[i].auth_code, sizeof t[i].auth_code, "%s", pguv_res_value(res, i, 2));
    }
    int kept = jt808_server_set_terminals(a->srv, t, (size_t)rows);
    free(t);
    if (kept < 0)
        return;
    LOG_DEBUG("jt808", "%d terminals loaded", kept);
    if (!a->listening) {
        if (jt808_server_listen(a->srv) < 0) {
            a->failed = 1;
            stop(a);
            return;
        }
        a->listening = 1;
    }
}

static void load(struct app *a)
{
    if (a->loading || pguv_state(a->pg) != PGUV_READY)
        return;
    pguv_stmt_t st = {.sql = SQL_LOAD};
    if (pguv_exec(a->pg, &st, 1, on_loaded, a) == 0)
        a->loading = 1;
}

static void on_pg_state(pguv_t *pg, pguv_state_t st, void *ctx)
{
    struct app *a = ctx;
    LOG_INFO("jt808", "database %s", pguv_state_name(st));
    if (st == PGUV_READY)
        load(a);
}

static void on_reload(uv_timer_t *t)
{
    load(t->data);
}

static void on_registered_written(void *ctx, int err, const pguv_res_t *res, const char *sqlstate,
                                  const char *errmsg)
{
    if (err < 0)
        LOG_WARN("jt808", "registered_at not written: %s", errmsg);
}

static void on_registered(void *ctx, const char *phone_key, const char *vehicle_id)
{
    struct app *a = ctx;
    const char *params[1] = {phone_key};
    pguv_stmt_t st = {.sql = SQL_REGISTERED, .nparams = 1, .params = params};
    if (pguv_exec(a->pg, &st, 1, on_registered_written, a) < 0)
        LOG_WARN("jt808", "veh=%s registered_at not written: database not connected", vehicle_id);
}

static void on_link_closed(void *ctx)
{
    ((struct app *)ctx)->link = NULL;
}

static void on_srv_closed(void *ctx)
{
    struct app *a = ctx;
    a->srv = NULL;
    /* The link goes after the server, which borrows it. */
    unit_link_close(a->link, on_link_closed, a);
}

static void stop(struct app *a)
{
    if (a->stopping)
        return;
    a->stopping = 1;
    if (a->srv) {
        jt808_server_stats_t st;
        jt808_server_get_stats(a->srv, &st);
        LOG_INFO("jt808",
                 "stopping: accepted=%" PRIu64 " frames=%" PRIu64 " fixes=%" PRIu64
                 " malformed=%" PRIu64 " registered=%" PRIu64 " refused=%" PRIu64,
                 st.accepted, st.frames, st.fixes, st.malformed, st.registered,
                 st.register_refused + st.auth_refused);
    }
    uv_close((uv_handle_t *)&a->reload, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    pguv_close(a->pg, NULL, NULL);
    a->pg = NULL;
    if (a->srv)
        jt808_server_close(a->srv, on_srv_closed, a);
    else
        unit_link_close(a->link, on_link_closed, a);
}

static void on_signal(uv_signal_t *h, int signum)
{
    LOG_INFO("jt808", "signal %d: shutting down", signum);
    stop(h->data);
}

/* The private cluster's conninfo, from <var-dir>/pg.password (written by deploy/pg.sh). */
static int default_conninfo(struct jt_config *c)
{
    char path[600], pw[128] = "";
    snprintf(path, sizeof path, "%s/pg.password", c->var_dir);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(pw, sizeof pw, f)) {
        if (f)
            fclose(f);
        fprintf(stderr,
                "goldline-jt808: no --pg given and no %s: start the private cluster "
                "with deploy/pg.sh start, or set GOLDLINE_PG\n",
                path);
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

static int start(struct app *a)
{
    const struct jt_config *cfg = a->cfg;
    uv_timer_init(&a->loop, &a->reload);
    uv_signal_init(&a->loop, &a->sigint);
    uv_signal_init(&a->loop, &a->sigterm);
    a->reload.data = a->sigint.data = a->sigterm.data = a;
    unit_link_config_t lc = {cfg->uplink_url, cfg->downlink_url, {0}, 0};
    int rc = unit_link_new(&a->loop, &lc, &a->link);
    if (rc < 0)
        return rc;
    jt808_server_config_t sc = {
        cfg->host, (int)cfg->port,          (size_t)cfg->max_conns, (uint64_t)cfg->idle_s * 1000,
        0,         (int)cfg->tz_offset_min, on_registered,          a};
    if ((rc = jt808_server_new(&a->loop, &sc, a->link, &a->srv)) < 0)
        return rc;
    if ((rc = pguv_new(&a->loop, cfg->pg, on_pg_state, a, &a->pg)) < 0)
        return rc;
    uint64_t every = (uint64_t)cfg->reload_s * 1000;
    uv_timer_start(&a->reload, on_reload, every, every);
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
    LOG_INFO("jt808", "waiting for the terminal table before listening on %s:%lld", cfg->host,
             cfg->port);
    return 0;
}

int main(int argc, char **argv)
{
    static struct jt_config cfg;
    char err[512];
    int rc = gl_cfg_load(options, &cfg, &argc, argv, err, sizeof err);
    if (rc == 1)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "goldline-jt808: %s\n", err);
        return 2;
    }
    if (argc > 1) {
        fprintf(stderr, "goldline-jt808: unexpected argument '%s' (see --help)\n", argv[1]);
        return 2;
    }
    if (gl_log_set_level_name(cfg.log_level) < 0) {
        fprintf(stderr, "goldline-jt808: unknown log level '%s'\n", cfg.log_level);
        return 2;
    }
    if (!cfg.pg[0] && default_conninfo(&cfg) < 0)
        return 2;
    gl_cfg_log("jt808", options, &cfg);

    struct app a;
    memset(&a, 0, sizeof a);
    a.cfg = &cfg;
    uv_loop_init(&a.loop);
    rc = start(&a);
    if (rc < 0) {
        LOG_ERR("jt808", "cannot start: %s", gl_strerror(rc));
        a.failed = 1;
        stop(&a);
    }
    uv_run(&a.loop, UV_RUN_DEFAULT);
    int close_rc = uv_loop_close(&a.loop);
    if (close_rc != 0)
        LOG_ERR("jt808", "loop not empty at exit: %s", uv_strerror(close_rc));
    return a.failed || close_rc != 0 ? 1 : 0;
}
