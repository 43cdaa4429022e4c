/*
 * The in-ambulance agent (see vehicle_agent.h): NMEA input, the once-a-second GpsFix, the control
 * socket for the crew's status buttons and the display of assignments and cancels.
 *
 * Input has two shapes. A regular file (also when standard input is redirected from one) is read
 * into memory and pumped from a timer, a line at a time, so that a long log neither blocks the
 * loop nor, with --replay-realtime, runs faster than it was recorded. Anything else (a serial
 * device, a pipe, a terminal) is non-blocking and watched with uv_poll; an idle timer flushes
 * the parser when the receiver goes quiet after an epoch, so an RMC-only receiver's fix does
 * not wait for the next second's sentence. gpsd, when configured, is a second position input
 * feeding the same "newest fix" slot.
 *
 * Vitals have one 100 ms timer: it polls the --vitals stream with the wall clock (each message
 * it emits goes straight to unit_session_send_vitals/_ecg) and flushes the numerics a monitor
 * bridge handed in, batched for up to a second.
 */
#include "vehicle_agent.h"

#include "err.h"
#include "gpsd_client.h"
#include "log.h"
#include "monitor_bridge.h"
#include "nmea.h"
#include "seal.h"
#include "spool.h"
#include "timeutil.h"
#include "unit_link.h"
#include "vitals_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define MOD "vehicle"
#define IDLE_FLUSH_MS 300          /* receiver quiet this long: the epoch is complete */
#define REPLAY_MAX_GAP_MS 10000    /* longer gaps in a replayed log are skipped */
#define REPLAY_LINES_PER_WAKE 256  /* lines fed per timer wake-up when not pacing */
#define FILE_MAX_BYTES (256u << 20)
#define CTL_LINE_MAX 512
#define VITALS_TICK_MS 100   /* the vitals timer: one ECG frame */
#define BRIDGE_NUM_MAX 32    /* bridge numerics batched into one VitalsNumerics */
#define BRIDGE_FLUSH_MS 1000 /* ... for at most this long */

enum input_kind { INPUT_NONE, INPUT_FILE, INPUT_POLL };

struct ctl_client {
    uv_pipe_t pipe;          /* the accepted connection */
    vehicle_agent_t *a;      /* owner */
    char buf[CTL_LINE_MAX];  /* a partial command line */
    size_t len;              /* bytes in buf */
    int closing;             /* uv_close called */
    struct ctl_client *next; /* in a->clients */
};

struct vehicle_agent {
    uv_loop_t *loop;
    vehicle_config_t cfg;
    unit_link_t *link;       /* owns the unit session */
    unit_session_t *unit;    /* borrowed from link */
    nmea_parser_t nmea;

    enum input_kind input;
    int fd;                  /* INPUT_POLL: the descriptor */
    int own_fd;              /* 1: close fd at the end (not stdin) */
    uv_poll_t poll;          /* INPUT_POLL */
    int poll_init;
    uv_timer_t idle_timer;   /* INPUT_POLL: flush after a quiet line */
    uv_timer_t replay_timer; /* INPUT_FILE: pumps the file */
    char *file;              /* INPUT_FILE: the whole file */
    size_t file_len, file_pos;
    int file_done;           /* end of file reached and flushed */
    int pending;             /* replay: pending_fix waits for its time */
    nmea_fix_t pending_fix;
    int have_base;           /* replay pacing reference */
    int64_t base_fix_ms, base_mono_ms, last_replayed_ms;

    nmea_fix_t fix;          /* the newest fix */
    int64_t fix_ms;          /* its full UTC time */
    int have_fix, fix_new;   /* fix_new: not sent yet */
    uv_timer_t fix_timer;
    gl_log_burst_t send_burst;

    uv_pipe_t ctl;           /* control socket */
    int ctl_init;
    struct ctl_client *clients;

    vitals_stream_t *vitals; /* --vitals source, NULL without */
    uv_timer_t vitals_timer; /* polls it and flushes the bridge's numerics */
    monitor_bridge_t *bridge;
    gpsd_client_t *gpsd;
    Goldline__VitalsNumerics__Numeric bridge_num[BRIDGE_NUM_MAX]; /* pending bridge numerics */
    size_t bridge_n;
    int64_t bridge_first_ms;    /* when the oldest pending one arrived */
    int32_t *bridge_deltas;     /* one bridge ECG line, delta coded */
    uint64_t bridge_ecg_index;  /* next first_sample_index of the bridge's ECG stream */
    int64_t bridge_ecg_next_ms; /* where the previous bridge slice ended, 0 if none */
    uint64_t vitals_sent, ecg_sent, vitals_errors;
    uint64_t fixes_sent;        /* GpsFix envelopes handed to the session */
    gl_log_burst_t vitals_burst;

    unit_status_t status;    /* the crew's last status (as this unit knows it) */
    char incident[UNIT_INCIDENT_MAX]; /* incident of the current assignment, "" if none */

    int closing;
    int pending_closes;      /* client handles, and after close all handles and the link,
                              * still closing */
    void (*on_closed)(void *ctx);
    void *closed_ctx;
};

static int64_t fix_full_time(const nmea_fix_t *f)
{
    return (f->flags & NMEA_FIX_DATE) ? f->time_ms : nmea_time_from_tod(f->tod_ms, gl_now_ms());
}

/* ---- position ------------------------------------------------------------------------- */

/* Makes `f` the newest fix, unless it is older than the one held. */
static void publish_fix(vehicle_agent_t *a, const nmea_fix_t *f)
{
    int64_t t = fix_full_time(f);
    if (a->have_fix && t <= a->fix_ms) {
        LOG_DEBUG(MOD, "veh=%s fix at %" PRId64 " not newer than %" PRId64 ", ignored", a->cfg.id,
                  t, a->fix_ms);
        return;
    }
    a->fix = *f;
    a->fix_ms = t;
    a->have_fix = 1;
    a->fix_new = 1;
}

static void on_nmea_fix(const nmea_fix_t *f, void *ctx)
{
    vehicle_agent_t *a = ctx;
    if (a->input == INPUT_FILE && a->cfg.replay_realtime) {
        a->pending = 1;
        a->pending_fix = *f;
        return;
    }
    publish_fix(a, f);
}

static void on_fix_timer(uv_timer_t *t)
{
    vehicle_agent_t *a = t->data;
    if (!a->fix_new)
        return;
    a->fix_new = 0;
    const nmea_fix_t *f = &a->fix;
    unit_fix_t uf;
    unit_fix_init(&uf, f->lat, f->lon, a->fix_ms);
    if (f->flags & NMEA_FIX_SPEED)
        uf.speed_mps = (float)f->speed_mps;
    if (f->flags & NMEA_FIX_COURSE)
        uf.heading_deg = (float)f->course_deg;
    if (f->flags & NMEA_FIX_HDOP)
        uf.hdop = (float)f->hdop;
    if (f->flags & NMEA_FIX_ALT)
        uf.alt_m = (float)f->alt_m;
    if (f->flags & NMEA_FIX_SATS)
        uf.satellites = f->satellites;
    int rc = unit_session_send_fix(a->unit, &uf);
    unsigned long suppressed;
    if (rc < 0 && gl_log_burst_allow(&a->send_burst, gl_now_ms(), 10000, &suppressed))
        LOG_WARN(MOD, "veh=%s fix not sent: %s (%lu more since the last line)", a->cfg.id,
                 gl_strerror(rc), suppressed);
    if (rc == 0) {
        a->fixes_sent++;
        LOG_DEBUG(MOD, "veh=%s fix %.6f,%.6f at %" PRId64 " sent", a->cfg.id, f->lat, f->lon,
                  a->fix_ms);
    }
}

static void log_input_end(vehicle_agent_t *a)
{
    nmea_stats_t st;
    nmea_parser_get_stats(&a->nmea, &st);
    LOG_INFO(MOD, "veh=%s NMEA input ended: %lu sentences, %lu fixes, %lu bad checksums, "
                  "%lu garbled, %lu malformed", a->cfg.id, st.sentences, st.fixes,
             st.bad_checksum, st.garbled, st.malformed);
}

static void on_replay_timer(uv_timer_t *t);

/* Feeds the file a line at a time; with pacing, holds each fix until its time has come. */
static void pump_file(vehicle_agent_t *a)
{
    for (int lines = 0; lines < REPLAY_LINES_PER_WAKE;) {
        if (a->pending) {
            int64_t t = fix_full_time(&a->pending_fix), now = gl_mono_ms();
            if (!a->have_base || t < a->last_replayed_ms ||
                t - a->last_replayed_ms > REPLAY_MAX_GAP_MS) {
                a->have_base = 1;
                a->base_fix_ms = t;
                a->base_mono_ms = now;
            }
            int64_t due = a->base_mono_ms + (t - a->base_fix_ms);
            if (due > now) {
                uv_timer_start(&a->replay_timer, on_replay_timer, (uint64_t)(due - now), 0);
                return;
            }
            a->pending = 0;
            a->last_replayed_ms = t;
            publish_fix(a, &a->pending_fix);
            continue;
        }
        if (a->file_done)
            return;
        if (a->file_pos >= a->file_len) {
            nmea_parser_flush(&a->nmea); /* may leave one more pending fix */
            a->file_done = 1;
            log_input_end(a);
            continue;
        }
        const char *start = a->file + a->file_pos;
        const char *nl = memchr(start, '\n', a->file_len - a->file_pos);
        size_t n = nl ? (size_t)(nl - start) + 1 : a->file_len - a->file_pos;
        nmea_parser_feed(&a->nmea, start, n);
        a->file_pos += n;
        lines++;
    }
    uv_timer_start(&a->replay_timer, on_replay_timer, 0, 0); /* let the loop breathe */
}

static void on_replay_timer(uv_timer_t *t)
{
    pump_file(t->data);
}

static void on_idle_timer(uv_timer_t *t)
{
    vehicle_agent_t *a = t->data;
    nmea_parser_flush(&a->nmea);
}

static void stop_poll(vehicle_agent_t *a)
{
    if (a->poll_init)
        uv_poll_stop(&a->poll);
    uv_timer_stop(&a->idle_timer);
    nmea_parser_flush(&a->nmea);
    log_input_end(a);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    vehicle_agent_t *a = h->data;
    if (status < 0) {
        LOG_ERR(MOD, "veh=%s NMEA input %s: %s", a->cfg.id, a->cfg.nmea, uv_strerror(status));
        stop_poll(a);
        return;
    }
    char buf[4096];
    for (int i = 0; i < 16; i++) {
        ssize_t n = read(a->fd, buf, sizeof buf);
        if (n > 0) {
            nmea_parser_feed(&a->nmea, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0)
            LOG_ERR(MOD, "veh=%s NMEA input %s: %s", a->cfg.id, a->cfg.nmea, strerror(errno));
        stop_poll(a); /* end of file or a read error */
        return;
    }
    uv_timer_start(&a->idle_timer, on_idle_timer, IDLE_FLUSH_MS, 0);
}

static speed_t baud_constant(long long baud)
{
    switch (baud) {
    case 4800: return B4800;
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    case 230400: return B230400;
    case 460800: return B460800;
    case 921600: return B921600;
    default: return 0;
    }
}

/* Reads all of fd (a regular file) into a->file. */
static int slurp(vehicle_agent_t *a, int fd)
{
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return GL_ENOMEM;
    for (;;) {
        if (len == cap) {
            if (cap >= FILE_MAX_BYTES) {
                free(buf);
                return GL_ERANGE;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return GL_ENOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = -errno;
            free(buf);
            return err;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    a->file = buf;
    a->file_len = len;
    return 0;
}

static int open_input(vehicle_agent_t *a)
{
    const char *path = a->cfg.nmea;
    if (path[0] == '\0') {
        if (!a->cfg.gpsd[0])
            LOG_WARN(MOD, "veh=%s no --nmea or --gpsd input: no position will be sent", a->cfg.id);
        return 0;
    }
    int fd;
    if (strcmp(path, "-") == 0) {
        fd = STDIN_FILENO;
    } else {
        fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
            LOG_ERR(MOD, "veh=%s cannot open NMEA input %s: %s", a->cfg.id, path, strerror(errno));
            return -errno;
        }
        a->own_fd = 1;
    }
    a->fd = fd;
    struct stat sb;
    if (fstat(fd, &sb) < 0)
        return -errno;
    if (S_ISREG(sb.st_mode)) {
        int rc = slurp(a, fd);
        if (rc < 0) {
            LOG_ERR(MOD, "veh=%s cannot read %s: %s", a->cfg.id, path, gl_strerror(rc));
            return rc;
        }
        a->input = INPUT_FILE;
        LOG_INFO(MOD, "veh=%s replaying %s (%zu bytes)%s", a->cfg.id, path, a->file_len,
                 a->cfg.replay_realtime ? " at its recorded pace" : "");
        uv_timer_start(&a->replay_timer, on_replay_timer, 0, 0);
        return 0;
    }
    if (isatty(fd) && fd != STDIN_FILENO) {
        speed_t sp = baud_constant(a->cfg.baud);
        struct termios tio;
        if (!sp) {
            LOG_ERR(MOD, "veh=%s unsupported --baud %lld", a->cfg.id, a->cfg.baud);
            return GL_EINVAL;
        }
        if (tcgetattr(fd, &tio) < 0)
            return -errno;
        cfmakeraw(&tio);
        tio.c_cflag |= CLOCAL | CREAD;
        tio.c_cc[VMIN] = 1;
        tio.c_cc[VTIME] = 0;
        cfsetispeed(&tio, sp);
        cfsetospeed(&tio, sp);
        if (tcsetattr(fd, TCSANOW, &tio) < 0) {
            LOG_ERR(MOD, "veh=%s cannot set %s raw at %lld baud: %s", a->cfg.id, path,
                    a->cfg.baud, strerror(errno));
            return -errno;
        }
        LOG_INFO(MOD, "veh=%s serial %s raw at %lld baud", a->cfg.id, path, a->cfg.baud);
    } else {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
            fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    }
    int rc = uv_poll_init(a->loop, &a->poll, fd);
    if (rc < 0) {
        LOG_ERR(MOD, "veh=%s cannot watch %s: %s", a->cfg.id, path, uv_strerror(rc));
        return rc;
    }
    a->poll_init = 1;
    a->poll.data = a;
    a->input = INPUT_POLL;
    return uv_poll_start(&a->poll, UV_READABLE, on_readable);
}

/* ---- vitals --------------------------------------------------------------------------- */

static void note_vitals_rc(vehicle_agent_t *a, int rc, const char *what)
{
    unsigned long suppressed;
    if (rc == 0)
        return;
    a->vitals_errors++;
    if (gl_log_burst_allow(&a->vitals_burst, gl_now_ms(), 10000, &suppressed))
        LOG_WARN(MOD, "veh=%s inc=%s %s not sent: %s (%lu more since the last line)", a->cfg.id,
                 a->incident[0] ? a->incident : "-", what, gl_strerror(rc), suppressed);
}

static int sink_ecg(const Goldline__EcgFrame *f, void *ctx)
{
    vehicle_agent_t *a = ctx;
    int rc = unit_session_send_ecg(a->unit, f);
    note_vitals_rc(a, rc, "ECG frame");
    a->ecg_sent += rc == 0;
    return 0;
}

static int sink_numerics(const Goldline__VitalsNumerics *m, void *ctx)
{
    vehicle_agent_t *a = ctx;
    if (m->n_numerics == 0)
        return 0;
    int rc = unit_session_send_vitals(a->unit, m);
    note_vitals_rc(a, rc, "numerics");
    a->vitals_sent += rc == 0;
    return 0;
}

static void flush_bridge_numerics(vehicle_agent_t *a)
{
    Goldline__VitalsNumerics__Numeric *ptr[BRIDGE_NUM_MAX];
    Goldline__VitalsNumerics m = GOLDLINE__VITALS_NUMERICS__INIT;
    for (size_t i = 0; i < a->bridge_n; i++)
        ptr[i] = &a->bridge_num[i];
    m.incident_id = a->incident[0] ? a->incident : NULL;
    m.n_numerics = a->bridge_n;
    m.numerics = ptr;
    sink_numerics(&m, a);
    a->bridge_n = 0;
}

static void on_vitals_timer(uv_timer_t *t)
{
    vehicle_agent_t *a = t->data;
    int64_t now = gl_now_ms();
    if (a->vitals) {
        vitals_stream_sink_t sink = {sink_ecg, sink_numerics, a};
        vitals_stream_set_incident(a->vitals, a->incident);
        vitals_stream_poll(a->vitals, now, &sink);
    }
    if (a->bridge_n > 0 && now - a->bridge_first_ms >= BRIDGE_FLUSH_MS)
        flush_bridge_numerics(a);
}

/* One ECG line of the bridge as an EcgFrame of the bridge's own continuous stream. */
static int send_bridge_ecg(vehicle_agent_t *a, const monitor_msg_t *m)
{
    if (a->vitals)
        return GL_EEXIST; /* --vitals already streams this unit's ECG */
    size_t n = (size_t)m->n_leads * m->per_lead;
    vitals_ecg_encode(m->samples, (size_t)m->n_leads, m->per_lead, a->bridge_deltas);
    int64_t dur = (int64_t)m->per_lead * 1000 / m->rate_hz;
    int64_t first =
        m->at_ms ? m->at_ms : (a->bridge_ecg_next_ms ? a->bridge_ecg_next_ms : gl_now_ms() - dur);
    char *names[MONITOR_ECG_MAX_LEADS];
    uint32_t codes[MONITOR_ECG_MAX_LEADS];
    for (int i = 0; i < m->n_leads; i++) {
        names[i] = (char *)m->lead_names[i]; /* borrowed, only read by the packer */
        codes[i] = m->lead_codes[i];
    }
    Goldline__EcgFrame f = GOLDLINE__ECG_FRAME__INIT;
    f.incident_id = a->incident[0] ? a->incident : NULL;
    f.n_lead_codes = f.n_lead_names = (size_t)m->n_leads;
    f.lead_codes = codes;
    f.lead_names = names;
    f.sample_rate_hz = m->rate_hz;
    f.uv_per_lsb = (float)m->uv_per_lsb;
    f.first_sample_ms = first;
    f.samples_per_lead = m->per_lead;
    f.n_samples = n;
    f.samples = a->bridge_deltas;
    f.has_first_sample_index = 1;
    f.first_sample_index = a->bridge_ecg_index;
    int rc = unit_session_send_ecg(a->unit, &f);
    note_vitals_rc(a, rc, "bridge ECG");
    if (rc == 0) {
        a->ecg_sent++;
        a->bridge_ecg_index += m->per_lead;
        a->bridge_ecg_next_ms = first + dur;
    }
    return rc;
}

static int on_bridge_msg(const monitor_msg_t *m, void *ctx)
{
    vehicle_agent_t *a = ctx;
    if (m->kind == MONITOR_MSG_ECG)
        return send_bridge_ecg(a, m);
    if (m->kind != MONITOR_MSG_NUM)
        return 0;
    if (a->bridge_n == BRIDGE_NUM_MAX)
        flush_bridge_numerics(a);
    int64_t now = gl_now_ms();
    if (a->bridge_n == 0)
        a->bridge_first_ms = now;
    Goldline__VitalsNumerics__Numeric one = GOLDLINE__VITALS_NUMERICS__NUMERIC__INIT;
    one.mdc_code = m->mdc_code;
    one.measured_at_ms = m->at_ms ? m->at_ms : now;
    one.has_value = m->has_value;
    one.value = (float)m->value;
    a->bridge_num[a->bridge_n++] = one;
    return 0;
}

static void on_gpsd_fix(const nmea_fix_t *f, void *ctx)
{
    publish_fix(ctx, f);
}

/* Opens --vitals, --monitor-socket and --gpsd, whichever are configured. */
static int open_vitals_and_gpsd(vehicle_agent_t *a)
{
    const char *v = a->cfg.vitals;
    int64_t now = gl_now_ms();
    int rc;
    if (v[0]) {
        vitals_stream_config_t vc;
        vitals_stream_config_default(&vc);
        if (strncmp(v, "wfdb:", 5) == 0) {
            char err[256];
            rc =
                vitals_stream_new_wfdb(&vc, v + 5, (uint64_t)now, now, &a->vitals, err, sizeof err);
            if (rc < 0) {
                LOG_ERR(MOD, "veh=%s --vitals: %s", a->cfg.id, err);
                return rc;
            }
        } else if (strcmp(v, "gen") == 0 || strcmp(v, "gen:stemi") == 0) {
            vitals_gen_params_t gp;
            vitals_gen_params_default(&gp);
            gp.seed = (uint64_t)now;
            if (strcmp(v, "gen:stemi") == 0) {
                gp.st_territory = VITALS_ST_ANTERIOR;
                gp.st_uv = 250;
            }
            if ((rc = vitals_stream_new_gen(&vc, &gp, now, &a->vitals)) < 0)
                return rc;
        } else {
            LOG_ERR(MOD, "veh=%s --vitals must be gen, gen:stemi or wfdb:PATH, not '%s'", a->cfg.id,
                    v);
            return GL_EINVAL;
        }
        LOG_INFO(MOD, "veh=%s vitals from %s: %d ECG leads at %u Hz", a->cfg.id, v,
                 vitals_stream_lead_count(a->vitals), vc.fs);
    }
    if (a->cfg.monitor_socket[0]) {
        a->bridge_deltas =
            malloc(sizeof(int32_t) * MONITOR_ECG_MAX_LEADS * MONITOR_ECG_MAX_SAMPLES);
        if (!a->bridge_deltas)
            return GL_ENOMEM;
        rc = monitor_bridge_new(a->loop, a->cfg.monitor_socket, on_bridge_msg, a, &a->bridge);
        if (rc < 0)
            return rc; /* logged */
    }
    if (a->vitals || a->bridge)
        uv_timer_start(&a->vitals_timer, on_vitals_timer, VITALS_TICK_MS, VITALS_TICK_MS);
    if (a->cfg.gpsd[0]) {
        gpsd_client_config_t gc = {.address = a->cfg.gpsd};
        rc = gpsd_client_new(a->loop, &gc, on_gpsd_fix, a, &a->gpsd);
        if (rc < 0) {
            LOG_ERR(MOD, "veh=%s --gpsd '%s' is not HOST[:PORT] (numeric host or localhost)",
                    a->cfg.id, a->cfg.gpsd);
            return rc;
        }
    }
    return 0;
}

/* ---- orders (the crew's display) ------------------------------------------------------ */

static void on_order(unit_session_t *s, const unit_order_t *o, void *ctx)
{
    vehicle_agent_t *a = ctx;
    char when[40];
    gl_time_format_local(gl_now_ms(), when, sizeof when);
    if (o->kind == UNIT_ORDER_ASSIGN) {
        snprintf(a->incident, sizeof a->incident, "%s", o->incident_id);
        a->status = UNIT_STATUS_DISPATCHED;
        /* The display is for the crew: the address belongs there, not in the log. */
        printf("%s ASSIGNMENT incident=%s priority=%u complaint=%s scene=%.6f,%.6f%s%s\n", when,
               o->incident_id, o->priority, o->complaint, o->lat, o->lon,
               o->address ? " address=" : "", o->address ? o->address : "");
        LOG_INFO(MOD, "veh=%s inc=%s assignment received (priority %u, seq %" PRIu64 ")",
                 a->cfg.id, o->incident_id, o->priority, o->seq);
    } else if (o->kind == UNIT_ORDER_DESTINATION) {
        printf("%s DESTINATION incident=%s hospital=%s name=%s at=%.6f,%.6f%s%s\n", when,
               o->incident_id, o->hospital_id, o->hospital_name ? o->hospital_name : "", o->lat,
               o->lon, o->reason ? " reason=" : "", o->reason ? o->reason : "");
        LOG_INFO(MOD, "veh=%s inc=%s destination %s received (seq %" PRIu64 ")", a->cfg.id,
                 o->incident_id, o->hospital_id, o->seq);
    } else {
        printf("%s CANCEL incident=%s%s%s\n", when, o->incident_id, o->reason ? " reason=" : "",
               o->reason ? o->reason : "");
        LOG_INFO(MOD, "veh=%s inc=%s cancel received (seq %" PRIu64 ")", a->cfg.id,
                 o->incident_id, o->seq);
        if (strcmp(a->incident, o->incident_id) == 0)
            a->incident[0] = '\0';
    }
    fflush(stdout);
}

/* ---- control socket ------------------------------------------------------------------- */

static void maybe_finish_close(vehicle_agent_t *a);

static void on_write_done(uv_write_t *req, int status)
{
    free(req);
}

static void ctl_reply(struct ctl_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void ctl_reply(struct ctl_client *c, const char *fmt, ...)
{
    if (c->closing)
        return;
    uv_write_t *req = malloc(sizeof *req + CTL_LINE_MAX);
    if (!req)
        return;
    char *text = (char *)(req + 1);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, CTL_LINE_MAX - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if (n > CTL_LINE_MAX - 2)
        n = CTL_LINE_MAX - 2;
    text[n++] = '\n';
    uv_buf_t b = uv_buf_init(text, (unsigned)n);
    if (uv_write(req, (uv_stream_t *)&c->pipe, &b, 1, on_write_done) < 0)
        free(req);
}

static void on_client_closed(uv_handle_t *h)
{
    struct ctl_client *c = h->data;
    vehicle_agent_t *a = c->a;
    for (struct ctl_client **pp = &a->clients; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    free(c);
    a->pending_closes--;
    if (a->closing)
        maybe_finish_close(a);
}

static void client_close(struct ctl_client *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    c->a->pending_closes++; /* the agent is freed only after every client's close callback */
    uv_close((uv_handle_t *)&c->pipe, on_client_closed);
}

static int status_from_name(const char *name, unit_status_t *out)
{
#define XX(n, value, text)                                                                        \
    if (strcmp(name, text) == 0) {                                                                \
        *out = UNIT_STATUS_##n;                                                                   \
        return 0;                                                                                 \
    }
    UNIT_STATUS_MAP(XX)
#undef XX
    return GL_EINVAL;
}

static void handle_command(struct ctl_client *c, char *line)
{
    vehicle_agent_t *a = c->a;
    char *save = NULL;
    char *cmd = strtok_r(line, " \t\r", &save);
    if (!cmd)
        return;
    if (strcmp(cmd, "status") == 0) {
        char *name = strtok_r(NULL, " \t\r", &save);
        char *inc = strtok_r(NULL, " \t\r", &save);
        unit_status_t st;
        if (!name || status_from_name(name, &st) < 0) {
            ctl_reply(c, "err EINVAL usage: status <available|dispatched|en_route|on_scene|"
                         "transporting|at_hospital|returning|out_of_service> [incident|-]");
            return;
        }
        const char *incident = inc ? (strcmp(inc, "-") == 0 ? NULL : inc)
                                   : (a->incident[0] ? a->incident : NULL);
        uint64_t seq = unit_session_next_seq(a->unit);
        int rc = unit_session_send_status(a->unit, st, incident, gl_now_ms());
        if (rc < 0) {
            ctl_reply(c, "err %s %s", gl_err_name(rc), gl_strerror(rc));
            return;
        }
        a->status = st;
        if (incident && incident != a->incident)
            snprintf(a->incident, sizeof a->incident, "%s", incident);
        LOG_INFO(MOD, "veh=%s inc=%s status %s sent (seq %" PRIu64 ")", a->cfg.id,
                 incident ? incident : "-", unit_status_name(st), seq);
        ctl_reply(c, "ok id=%s status=%s incident=%s seq=%" PRIu64, a->cfg.id,
                  unit_status_name(st), incident ? incident : "-", seq);
        if (st == UNIT_STATUS_AVAILABLE || st == UNIT_STATUS_OUT_OF_SERVICE)
            a->incident[0] = '\0'; /* the job is over */
    } else if (strcmp(cmd, "info") == 0) {
        unit_session_stats_t ss;
        nmea_stats_t ns;
        char when[40] = "-";
        unit_session_get_stats(a->unit, &ss);
        nmea_parser_get_stats(&a->nmea, &ns);
        if (a->have_fix)
            gl_time_format_utc(a->fix_ms, when, sizeof when);
        ctl_reply(c,
                  "ok id=%s status=%s incident=%s fix=%s lat=%.6f lon=%.6f nmea_fixes=%lu "
                  "bad_checksum=%lu sent=%" PRIu64 " resent=%" PRIu64 " queued=%zu orders=%" PRIu64
                  " vitals=%" PRIu64 " ecg_frames=%" PRIu64 " vitals_errors=%" PRIu64
                  " fixes_sent=%" PRIu64 " next_seq=%" PRIu64 " sealed=%d spool_errors=%" PRIu64,
                  a->cfg.id, unit_status_name(a->status), a->incident[0] ? a->incident : "-", when,
                  a->have_fix ? a->fix.lat : 0.0, a->have_fix ? a->fix.lon : 0.0, ns.fixes,
                  ns.bad_checksum, ss.sent, ss.resent, ss.queued, ss.orders, a->vitals_sent,
                  a->ecg_sent, a->vitals_errors, a->fixes_sent, unit_session_next_seq(a->unit),
                  unit_session_sealed(a->unit), ss.spool_errors);
    } else if (strcmp(cmd, "incident") == 0) {
        char *inc = strtok_r(NULL, " \t\r", &save);
        if (!inc || strlen(inc) >= sizeof a->incident) {
            ctl_reply(c, "err EINVAL usage: incident <id>|- (at most %zu characters)",
                      sizeof a->incident - 1);
            return;
        }
        snprintf(a->incident, sizeof a->incident, "%s", strcmp(inc, "-") == 0 ? "" : inc);
        LOG_INFO(MOD, "veh=%s inc=%s current incident set", a->cfg.id,
                 a->incident[0] ? a->incident : "-");
        ctl_reply(c, "ok id=%s incident=%s", a->cfg.id, a->incident[0] ? a->incident : "-");
    } else if (strcmp(cmd, "help") == 0) {
        ctl_reply(c, "ok commands: status <state> [incident|-] | incident <id>|- | info | help");
    } else {
        ctl_reply(c, "err EINVAL unknown command '%.32s' (try help)", cmd);
    }
}

static void on_ctl_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct ctl_client *c = h->data;
    buf->base = c->buf + c->len;
    buf->len = sizeof c->buf - c->len;
}

static void on_ctl_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct ctl_client *c = s->data;
    if (nread < 0) {
        client_close(c);
        return;
    }
    c->len += (size_t)nread;
    char *nl;
    while (!c->closing && (nl = memchr(c->buf, '\n', c->len)) != NULL) {
        *nl = '\0';
        size_t used = (size_t)(nl - c->buf) + 1;
        handle_command(c, c->buf);
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
    }
    if (c->len == sizeof c->buf) {
        ctl_reply(c, "err EINVAL line too long");
        client_close(c);
    }
}

static void on_ctl_connection(uv_stream_t *server, int status)
{
    vehicle_agent_t *a = server->data;
    if (status < 0) {
        LOG_WARN(MOD, "veh=%s control accept: %s", a->cfg.id, uv_strerror(status));
        return;
    }
    struct ctl_client *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->a = a;
    uv_pipe_init(a->loop, &c->pipe, 0);
    c->pipe.data = c;
    c->next = a->clients;
    a->clients = c;
    if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0 ||
        uv_read_start((uv_stream_t *)&c->pipe, on_ctl_alloc, on_ctl_read) < 0)
        client_close(c);
}

static int open_control(vehicle_agent_t *a)
{
    const char *path = a->cfg.control;
    if (path[0] == '\0')
        return 0;
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (!S_ISSOCK(sb.st_mode)) {
            LOG_ERR(MOD, "veh=%s --control %s exists and is not a socket", a->cfg.id, path);
            return GL_EEXIST;
        }
        unlink(path); /* a stale socket of an earlier run */
    }
    int rc = uv_pipe_init(a->loop, &a->ctl, 0);
    if (rc < 0)
        return rc;
    a->ctl_init = 1;
    a->ctl.data = a;
    if ((rc = uv_pipe_bind(&a->ctl, path)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&a->ctl, 8, on_ctl_connection)) < 0) {
        LOG_ERR(MOD, "veh=%s cannot listen on %s: %s", a->cfg.id, path, uv_strerror(rc));
        return rc;
    }
    LOG_INFO(MOD, "veh=%s control socket %s", a->cfg.id, path);
    return 0;
}

int vehicle_control_request(const char *path, const char *line, char *reply, size_t len)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path || len == 0)
        return GL_EINVAL;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    char out[CTL_LINE_MAX];
    int n = snprintf(out, sizeof out, "%s\n", line);
    if (n < 0 || (size_t)n >= sizeof out || send(fd, out, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return n >= 0 && (size_t)n >= sizeof out ? GL_EINVAL : GL_EIO;
    }
    size_t got = 0;
    while (got + 1 < len) {
        ssize_t r = recv(fd, reply + got, len - 1 - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        if (memchr(reply, '\n', got))
            break;
    }
    close(fd);
    reply[got] = '\0';
    char *nl = strchr(reply, '\n');
    if (nl)
        *nl = '\0';
    if (got == 0)
        return GL_EIO;
    return strncmp(reply, "ok", 2) == 0 ? 0 : 1;
}

/* ---- life cycle ----------------------------------------------------------------------- */

/* 1 when the spool file exists with more than its header (it holds seqs an earlier run used). */
static int spool_has_history(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && sb.st_size > SPOOL_HEADER_BYTES;
}

/* Reads --key-file into *key (zeroed when there is none); a file that cannot be used is an
 * error with its one-line reason, never a silent fall-back to an unsealed uplink. */
static int read_key(vehicle_agent_t *a, seal_key_t *key)
{
    memset(key, 0, sizeof *key);
    if (!a->cfg.key_file[0])
        return 0;
    char why[256];
    int rc = seal_key_read_file(a->cfg.key_file, key, why, sizeof why);
    if (rc < 0)
        LOG_ERR(MOD, "veh=%s --key-file %s cannot be used: %s", a->cfg.id, a->cfg.key_file, why);
    return rc;
}

int vehicle_agent_start(uv_loop_t *loop, const vehicle_config_t *cfg, vehicle_agent_t **out)
{
    vehicle_agent_t *a = calloc(1, sizeof *a);
    if (!a)
        return GL_ENOMEM;
    a->loop = loop;
    a->cfg = *cfg;
    a->fd = -1;
    nmea_parser_init(&a->nmea, on_nmea_fix, a);
    uv_timer_init(loop, &a->idle_timer);
    uv_timer_init(loop, &a->replay_timer);
    uv_timer_init(loop, &a->fix_timer);
    uv_timer_init(loop, &a->vitals_timer);
    a->idle_timer.data = a->replay_timer.data = a->fix_timer.data = a->vitals_timer.data = a;
    *out = a; /* from here on, failures are undone by vehicle_agent_close() */

    seal_key_t key;
    int rc = read_key(a, &key);
    if (rc < 0) {
        sodium_memzero(&key, sizeof key);
        return rc;
    }
    unit_link_config_t lc = {.uplink_url = cfg->uplink_url, .downlink_url = cfg->downlink_url};
    if ((rc = unit_link_new(loop, &lc, &a->link)) < 0) {
        sodium_memzero(&key, sizeof key);
        return rc;
    }
    /* Seqs must keep increasing across restarts (the dispatcher drops seq <= the last it saw).
     * A spool with history continues above its own seqs; a new one, or no spool at all, starts
     * at the wall clock in ms, above anything an earlier run may have used. */
    unit_session_opts_t uo = {0};
    uo.first_seq = cfg->spool[0] && spool_has_history(cfg->spool) ? 1 : (uint64_t)gl_now_ms();
    uo.key = cfg->key_file[0] ? &key : NULL;
    uo.spool_path = cfg->spool[0] ? cfg->spool : NULL;
    rc = unit_link_add_unit_opts(a->link, cfg->id, &uo, on_order, a, &a->unit);
    sodium_memzero(&key, sizeof key); /* the session keeps its own copy */
    if (rc < 0) {
        LOG_ERR(MOD, "veh=%s cannot add the unit: %s", cfg->id, gl_strerror(rc));
        return rc;
    }
    unit_session_stats_t ss;
    unit_session_get_stats(a->unit, &ss);
    if (cfg->spool[0])
        LOG_INFO(MOD, "veh=%s spool %s: next seq %" PRIu64 ", %zu unacknowledged restored",
                 cfg->id, cfg->spool, unit_session_next_seq(a->unit), ss.queued);
    else
        LOG_WARN(MOD, "veh=%s no --spool: what the dispatcher has not acknowledged is lost if "
                      "the agent stops (next seq %" PRIu64 ")", cfg->id,
                 unit_session_next_seq(a->unit));
    LOG_INFO(MOD, "veh=%s uplink %s", cfg->id,
             unit_session_sealed(a->unit) ? "sealed with the key file" : "unsealed (no --key-file)");
    if (strlen(cfg->incident) >= sizeof a->incident) {
        LOG_ERR(MOD, "veh=%s --incident longer than %zu characters", cfg->id,
                sizeof a->incident - 1);
        return GL_EINVAL;
    }
    memcpy(a->incident, cfg->incident, strlen(cfg->incident) + 1); /* a restart mid-job */
    if ((rc = open_control(a)) < 0 || (rc = open_input(a)) < 0 ||
        (rc = open_vitals_and_gpsd(a)) < 0)
        return rc;
    uv_timer_start(&a->fix_timer, on_fix_timer, (uint64_t)cfg->fix_period_ms,
                   (uint64_t)cfg->fix_period_ms);
    LOG_INFO(MOD, "veh=%s agent up: uplink %s, downlink %s", cfg->id, cfg->uplink_url,
             cfg->downlink_url);
    return 0;
}

static void maybe_finish_close(vehicle_agent_t *a)
{
    if (a->pending_closes > 0)
        return;
    void (*cb)(void *) = a->on_closed;
    void *ctx = a->closed_ctx;
    if (a->own_fd && a->fd >= 0)
        close(a->fd);
    free(a->file);
    free(a->bridge_deltas);
    vitals_stream_free(a->vitals);
    free(a);
    if (cb)
        cb(ctx);
}

static void on_handle_closed(uv_handle_t *h)
{
    vehicle_agent_t *a = h->data;
    a->pending_closes--;
    maybe_finish_close(a);
}

static void on_part_closed(void *ctx)
{
    vehicle_agent_t *a = ctx;
    a->pending_closes--;
    maybe_finish_close(a);
}

static void on_link_closed(void *ctx)
{
    vehicle_agent_t *a = ctx;
    a->pending_closes--;
    maybe_finish_close(a);
}

void vehicle_agent_close(vehicle_agent_t *a, void (*cb)(void *ctx), void *ctx)
{
    if (!a || a->closing)
        return;
    a->closing = 1;
    a->on_closed = cb;
    a->closed_ctx = ctx;
    a->pending_closes++; /* held until every close below has been started */
    if (a->unit) {
        unit_session_stats_t ss;
        unit_session_get_stats(a->unit, &ss);
        LOG_INFO(MOD, "veh=%s stopping: next seq %" PRIu64 ", fixes %" PRIu64 ", vitals %" PRIu64
                      ", ecg frames %" PRIu64 ", sent %" PRIu64 ", resent %" PRIu64
                      ", acked %" PRIu64 ", unacknowledged %zu%s", a->cfg.id,
                 unit_session_next_seq(a->unit), a->fixes_sent, a->vitals_sent, a->ecg_sent,
                 ss.sent, ss.resent, ss.acked, ss.queued,
                 a->cfg.spool[0] ? " (kept in the spool)" : " (lost: no spool)");
    }
    uv_handle_t *handles[] = {(uv_handle_t *)&a->idle_timer, (uv_handle_t *)&a->replay_timer,
                              (uv_handle_t *)&a->fix_timer, (uv_handle_t *)&a->vitals_timer};
    for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++) {
        a->pending_closes++;
        uv_close(handles[i], on_handle_closed);
    }
    if (a->poll_init) {
        a->pending_closes++;
        a->poll.data = a;
        uv_close((uv_handle_t *)&a->poll, on_handle_closed);
    }
    if (a->ctl_init) {
        a->pending_closes++;
        uv_close((uv_handle_t *)&a->ctl, on_handle_closed);
        unlink(a->cfg.control);
    }
    for (struct ctl_client *c = a->clients; c; c = c->next)
        client_close(c);
    if (a->bridge) {
        a->pending_closes++;
        monitor_bridge_close(a->bridge, on_part_closed, a);
        a->bridge = NULL;
    }
    if (a->gpsd) {
        a->pending_closes++;
        gpsd_client_close(a->gpsd, on_part_closed, a);
        a->gpsd = NULL;
    }
    if (a->link) {
        a->pending_closes++;
        unit_link_close(a->link, on_link_closed, a);
    }
    a->pending_closes--;
    maybe_finish_close(a);
}
