/*
 * The in-ambulance agent: one unit's GNSS receiver, crew buttons and display, wired to the
 * dispatcher through unit_link.
 *
 * Position. NMEA bytes come from a file, a serial device (set raw at the configured baud) or
 * standard input and go through nmea.c; the newest fused fix is sent as a GpsFix once per
 * fix period (1 s), and only if it is newer than the last one sent (a receiver that lost its fix
 * sends nothing rather than a stale position). A file is read as fast as the loop allows, or
 * with --replay-realtime at the pace of its own fix times (gaps longer than 10 s are cut to 1 s,
 * so a log with a pause does not stall the replay). A fix without a date (GGA-only receiver
 * that never sent an RMC) is dated with the unit's clock (nmea_time_from_tod).
 *
 * Control. With a control path the agent listens on a unix stream socket there and takes one
 * command a line, answering one line that starts with "ok" or "err":
 *   status <state> [<incident-id>]  send a StatusChange; state is available, dispatched,
 *                                   en_route, on_scene, transporting, at_hospital, returning or
 *                                   out_of_service; without an incident id the incident of the
 *                                   current assignment is used ("-" sends none)
 *   info                            one line: id, status, incident, last fix, link counters
 *   incident <incident-id>|-        set (or clear) the current incident without a status
 *   help                            the list of commands
 *
 * Vitals. With --vitals the unit streams a patient's vitals (vitals_stream.h): "gen" the
 * physiological generator, "gen:stemi" the same with anterior ST elevation, "wfdb:PATH" a WFDB
 * record replayed in real time, looping (ECG 12-lead at 500 Hz in 100 ms EcgFrames, numerics
 * every second). With --monitor-socket a monitor bridge feeds numerics and ECG through the line
 * protocol of monitor_bridge.h; its numerics go out batched once a second, each ECG line as one
 * EcgFrame (refused while --vitals also supplies ECG: one unit, one ECG stream). Every message
 * carries the current incident: that of the last assignment, of a status or incident command, or
 * of --incident at start (a unit restarted in the middle of a job); none when the unit is free.
 *
 * gpsd. With --gpsd HOST[:PORT] ("localhost" for localhost:2947) positions also come from gpsd's
 * JSON (gpsd_client.h), reconnecting with backoff; a fix is used when newer than the newest one
 * held, whichever input it came from.
 *
 * Store and forward. With a spool path every uplink envelope (fix, status, vitals, ECG) is
 * written to that on-disk spool (spool.h) before it is sent and stays there until the
 * dispatcher acknowledges it, so neither a dropping link nor kill -9 of the agent loses anything
 * the unit sent (a power cut at most the last second of fixes and vitals: spool.h); a restarted agent continues its seqs above the spool's and resends
 * what it holds, newest fix first. A brand-new (or empty) spool starts at the wall clock in ms,
 * above anything an earlier run without a spool may have used. Without a spool the queue is in
 * memory (a WARN line says so) and the first seq is the wall clock in ms.
 *
 * Sealing. With a key file (seal.h: 64 hex digits or 32 raw bytes, mode 0600 or stricter, as
 * `goldlinectl vehicle add --key-file` writes it) every uplink envelope is sealed with the
 * unit's key and only downlink messages sealed with it are accepted; a key file that cannot be
 * used stops the start with its one-line reason. Without one the unit speaks plain envelopes,
 * which only a dispatcher that allows unsealed units takes.
 *
 * Display. Assignments and cancels are printed to stdout for the crew (address included);
 * the log on stderr gets the incident id and priority only, never the address or reason text.
 */
#ifndef GL_VEHICLE_AGENT_H
#define GL_VEHICLE_AGENT_H

#include <stddef.h>
#include <stdio.h>
#include <uv.h>

/* The agent's configuration (filled from the gl_cfg table in vehicle_main.c). */
typedef struct vehicle_config {
    char id[32];             /* vehicle id, also the downlink topic */
    char uplink_url[256];    /* dispatcher's PULL socket */
    char downlink_url[256];  /* dispatcher's PUB socket */
    char nmea[256];          /* file, device or "-" for stdin; "" for none */
    long long baud;          /* serial speed when nmea is a terminal device */
    int replay_realtime;     /* replay a file at the pace of its fix times */
    char control[256];       /* unix socket path for control commands; "" for none */
    char incident[64];       /* client mode: incident id for "status"; agent: initial incident */
    char vitals[512];        /* "", "gen", "gen:stemi" or "wfdb:PATH" */
    char monitor_socket[256]; /* unix socket path for a monitor bridge; "" for none */
    char gpsd[128];           /* gpsd HOST[:PORT]; "" for none */
    char spool[256];          /* on-disk spool file of the uplink; "" for the in-memory queue */
    char key_file[256];       /* the unit's sealing key file; "" for an unsealed unit */
    long long fix_period_ms; /* how often the newest fix is sent */
    char log_level[16];      /* err | warn | info | debug */
} vehicle_config_t;

typedef struct vehicle_agent vehicle_agent_t;

/*
 * Starts the agent on `loop`: reads the key file (if any), opens the link, adds the unit (with
 * its spool, if any), opens the control socket and the NMEA input and starts the fix timer.
 * `cfg` is copied. Returns 0, or GL_EINVAL / GL_EIO / GL_EEXIST / GL_ENOMEM / a negative errno
 * or UV_E* code, or a key file's or spool's error (GL_ENOENT, GL_EACCES, GL_EPROTO; all logged
 * with the path and the reason). Except for GL_ENOMEM with
 * *out left untouched, *out holds the agent on success and on failure alike, and the caller
 * releases it with vehicle_agent_close() (its handles close asynchronously, on the loop).
 */
int vehicle_agent_start(uv_loop_t *loop, const vehicle_config_t *cfg, vehicle_agent_t **out);

/* Stops everything; `cb` (may be NULL) runs when all handles are released. NULL is a no-op. */
void vehicle_agent_close(vehicle_agent_t *a, void (*cb)(void *ctx), void *ctx);

/*
 * Client side of the control protocol: connects to the unix socket `path`, sends `line`
 * (without its newline), reads one reply line into `reply` and returns 0 if it starts with
 * "ok", 1 if it starts with "err", or a negative GL_E* code when the agent cannot be reached.
 */
int vehicle_control_request(const char *path, const char *line, char *reply, size_t len);

#endif
