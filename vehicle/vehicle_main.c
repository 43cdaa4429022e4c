/*
 * goldline-vehicle: the in-ambulance agent (vehicle_agent.h), or a one-shot client of a running
 * agent's control socket.
 *
 *   goldline-vehicle --id A1 --nmea /dev/ttyUSB0 --baud 9600 --control /run/goldline/A1.sock \
 *       --spool /var/lib/goldline/A1.spool --key-file /etc/goldline/A1.key
 *   goldline-vehicle --id A1 --nmea drive.log --replay-realtime=true --control /tmp/a1.sock
 *   goldline-vehicle --id A1 --gpsd localhost --vitals wfdb:/data/ecg/s0010_re --incident INC-7
 *   goldline-vehicle --id A1 --gpsd localhost --monitor-socket /run/goldline/A1-monitor.sock
 *   goldline-vehicle --control /tmp/a1.sock status en_route [--incident INC]
 *   goldline-vehicle --control /tmp/a1.sock info
 *
 * Without positional arguments it runs the agent until SIGINT/SIGTERM; with them it sends them
 * as one control command and prints the agent's answer (exit 0 for "ok", 1 for "err", 2 when
 * the agent cannot be reached).
 */
#include "err.h"
#include "config.h"
#include "log.h"
#include "vehicle_agent.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define C(field) offsetof(vehicle_config_t, field), sizeof(((vehicle_config_t *)0)->field)

static const gl_cfg_option_t options[] = {
    {"id", GL_CFG_STR, "", 0, 0, C(id), 0, "vehicle id (the dispatcher's vehicle and topic)"},
    {"uplink-url", GL_CFG_STR, "tcp://127.0.0.1:7401", 0, 0, C(uplink_url), 0,
     "dispatcher's uplink (PULL) address"},
    {"downlink-url", GL_CFG_STR, "tcp://127.0.0.1:7402", 0, 0, C(downlink_url), 0,
     "dispatcher's downlink (PUB) address"},
    {"nmea", GL_CFG_STR, "", 0, 0, C(nmea), 0,
     "NMEA source: a log file, a serial device, or - for stdin"},
    {"baud", GL_CFG_INT, "9600", 4800, 921600, C(baud), 0,
     "serial speed for a terminal device (4800..921600, standard rates)"},
    {"replay-realtime", GL_CFG_BOOL, "false", 0, 0, C(replay_realtime), 0,
     "replay a log file at the pace of its fix times"},
    {"control", GL_CFG_STR, "", 0, 0, C(control), 0,
     "unix socket path for control commands (status/info/help lines)"},
    {"incident", GL_CFG_STR, "", 0, 0, C(incident), 0,
     "client mode: incident id for 'status' (default: the current assignment); agent: the "
     "incident the unit is on at start (vitals carry it)"},
    {"vitals", GL_CFG_STR, "", 0, 0, C(vitals), 0,
     "vitals and ECG source: gen, gen:stemi or wfdb:PATH (a WFDB record, e.g. .../s0010_re)"},
    {"monitor-socket", GL_CFG_STR, "", 0, 0, C(monitor_socket), 0,
     "unix socket path for a monitor bridge (NUM/ECG/PING lines, see vehicle/README.md)"},
    {"gpsd", GL_CFG_STR, "", 0, 0, C(gpsd), 0,
     "read positions from gpsd at HOST[:PORT] (e.g. localhost = 127.0.0.1:2947)"},
    {"spool", GL_CFG_STR, "", 0, 0, C(spool), 0,
     "on-disk spool of the uplink, kept until acknowledged and across restarts (empty: in "
     "memory only)"},
    {"key-file", GL_CFG_STR, "", 0, 0, C(key_file), 0,
     "the unit's sealing key, as goldlinectl vehicle add --key-file writes it (empty: unsealed)"},
    {"fix-period-ms", GL_CFG_INT, "1000", 100, 60000, C(fix_period_ms), 0,
     "how often the newest fix is sent"},
    {"log-level", GL_CFG_STR, "info", 0, 0, C(log_level), 0, "err | warn | info | debug"},
    {NULL, 0, NULL, 0, 0, 0, 0, 0, NULL},
};

#undef C

static uv_signal_t sig_int, sig_term;
static vehicle_agent_t *agent;

static void on_signal(uv_signal_t *h, int signum)
{
    LOG_INFO("vehicle", "signal %d: shutting down", signum);
    uv_close((uv_handle_t *)&sig_int, NULL);
    uv_close((uv_handle_t *)&sig_term, NULL);
    vehicle_agent_close(agent, NULL, NULL);
    agent = NULL;
}

/* One-shot client: the positional arguments form the command line sent to the agent. */
static int run_client(const vehicle_config_t *cfg, int argc, char **argv)
{
    if (cfg->control[0] == '\0') {
        fprintf(stderr, "goldline-vehicle: a command needs --control PATH\n");
        return 2;
    }
    char line[512];
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        int w = snprintf(line + n, sizeof line - n, "%s%s", i > 1 ? " " : "", argv[i]);
        if (w < 0 || (size_t)w >= sizeof line - n) {
            fprintf(stderr, "goldline-vehicle: command too long\n");
            return 2;
        }
        n += (size_t)w;
    }
    if (strcmp(argv[1], "status") == 0 && argc == 3 && cfg->incident[0]) {
        int w = snprintf(line + n, sizeof line - n, " %s", cfg->incident);
        if (w < 0 || (size_t)w >= sizeof line - n) {
            fprintf(stderr, "goldline-vehicle: command too long\n");
            return 2;
        }
    }
    char reply[512];
    int rc = vehicle_control_request(cfg->control, line, reply, sizeof reply);
    if (rc < 0) {
        fprintf(stderr, "goldline-vehicle: cannot reach the agent at %s: %s\n", cfg->control,
                gl_strerror(rc));
        return 2;
    }
    printf("%s\n", reply);
    if (rc == 0 && cfg->id[0] && strstr(reply, "id=")) {
        char want[64];
        snprintf(want, sizeof want, "id=%s ", cfg->id);
        if (!strstr(reply, want))
            fprintf(stderr, "goldline-vehicle: warning: the agent at %s is not unit %s\n",
                    cfg->control, cfg->id);
    }
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    vehicle_config_t cfg;
    char err[256];
    memset(&cfg, 0, sizeof cfg);
    int rc = gl_cfg_load(options, &cfg, &argc, argv, err, sizeof err);
    if (rc == 1)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "goldline-vehicle: %s\n", err);
        return 2;
    }
    if (gl_log_set_level_name(cfg.log_level) < 0) {
        fprintf(stderr, "goldline-vehicle: bad --log-level %s\n", cfg.log_level);
        return 2;
    }
    if (argc > 1)
        return run_client(&cfg, argc, argv);
    if (cfg.id[0] == '\0') {
        fprintf(stderr, "goldline-vehicle: --id is required (see --help)\n");
        return 2;
    }
    gl_cfg_log("vehicle", options, &cfg);
    signal(SIGPIPE, SIG_IGN);

    uv_loop_t loop;
    uv_loop_init(&loop);
    rc = vehicle_agent_start(&loop, &cfg, &agent);
    int status = 0;
    if (rc < 0) {
        LOG_ERR("vehicle", "veh=%s cannot start: %s", cfg.id, gl_strerror(rc));
        vehicle_agent_close(agent, NULL, NULL); /* NULL when even the allocation failed */
        agent = NULL;
        status = 1;
    } else {
        uv_signal_init(&loop, &sig_int);
        uv_signal_init(&loop, &sig_term);
        uv_signal_start(&sig_int, on_signal, SIGINT);
        uv_signal_start(&sig_term, on_signal, SIGTERM);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        LOG_WARN("vehicle", "veh=%s loop closed with handles open", cfg.id);
    return status;
}
