/*
 * The load program of `bench/run vitals` (bench/vitals.sh starts it; it is not a benchmark on its
 * own): UNITS simulated ambulances streaming a 12-lead 500 Hz ECG (100 ms frames, 50 samples per
 * lead) and numerics at 1 Hz, and the ED clients that receive them over websockets, in one
 * process, so that every delivered frame is matched with its send time on one monotonic clock.
 *
 * Fan-out: unit i (VIT-001..) carries incident i (PREFIX0001..), bound for hospital H(i / 20 + 1)
 * (H01..); ED client j (ed01..) belongs to hospital H(j / EDS + 1), EDS ED clients per hospital.
 * With the defaults (200 units, 10 hospitals, 5 ED clients each) every frame goes to 5 clients:
 * 2,000 frames/s in, 10,000 frames/s out.
 *
 * Two modes, the same ED receivers (one libwebsockets client context, one connection per ED
 * client, subprotocol goldline.v1, in a thread of its own) and the same timing:
 *   --mode dispatcher  units send Uplink envelopes (EcgFrame, VitalsNumerics; protobuf) over one
 *                      nanomsg PUSH socket to the dispatcher's uplink; ED clients log in to
 *                      ws://HOST:PORT/api (hello with username/password) and send
 *                      vitals.subscribe; they receive the dispatcher's binary ECG frames
 *                      (docs/api.md, "Live vitals and ECG") and its JSON numerics.
 *   --mode ws          units are websocket clients of the reference relay (bench/ws_relay), one
 *                      TCP connection each to /unit/VIT-NNN, and send the very frame the
 *                      dispatcher would deliver (the same binary layout) and numerics as JSON
 *                      text; ED clients connect to /ed and send {"op":"subscribe","units":[..]}.
 * The units are paced on the monotonic clock: unit i sends frame k at t0 + k * 100 ms +
 * i * 100 ms / UNITS (evenly spread), and its numerics with every tenth frame. Frame k holds
 * samples [50k, 50k + 50) of every lead; first_sample_index = 50k identifies it. Just before a
 * frame goes to the socket its send time is stored in a table (unit, k); the receiver thread
 * looks the time up when a frame is complete and records receive - send in microseconds. Only
 * frames sent inside the measured window count (not the 10 s of history a subscription starts
 * with, nor the warm-up); the units go on sending for --drain-s after the window so that the
 * window's last frames arrive under the same load. Every received frame is also checked: right
 * hospital for the client, samples equal to what the unit sent, no duplicate or reordering.
 *
 * The ECG is the physiological generator's (vehicle/vitals_gen.h): 20 patients, 10 s each,
 * generated once and replayed in a loop (generating 1.2 M samples/s live would cost the load
 * program a core); numerics come from one generator per unit.
 *
 * --watch LABEL:PID (repeatable) reads utime + stime of PID (all its threads, /proc/PID/stat) at
 * the window's start and end: `cpu_LABEL` is that CPU time / wall time (1.0 = one core).
 *
 * Output: key=value lines on stdout (bench/vitals.sh reads them); progress and errors on stderr.
 * Exit 0, 1 on an error (one line on stderr), 2 on bad usage.
 *
 *   bench_vitals_load hash PASSWORD   prints an argon2id hash (libsodium, interactive limits) for
 *                                     the users table, as `goldlinectl user add` would make it.
 */
#include "goldline.pb-c.h"
#include "timeutil.h"
#include "vitals_gen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <math.h>
#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/tcp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define FS 500                              /* samples per second per lead */
#define FRAME_MS 100                        /* one ECG frame */
#define NS_PER_FRAME (FS * FRAME_MS / 1000) /* 50 samples per lead per frame */
#define LEADS VITALS_ECG_LEADS              /* 12 */
#define FRAME_SAMPLES (LEADS * NS_PER_FRAME)
#define UV_PER_LSB 2.5
#define PATIENTS 20     /* distinct pre-generated ECGs */
#define LOOP_FRAMES 100 /* 10 s of ECG per patient, replayed in a loop */
#define RING 8192       /* send-time slots per unit: 819 s of frames */
#define UNITS_PER_HOSPITAL 20
#define MAX_UNITS 999
#define MAX_EDS 200
#define MAX_WATCH 8
#define FRAME_MAX 4096 /* a whole GLE1 frame of ours: ~1.4 kB */
#define PROTOCOL "goldline.v1"
#define LOGINS_AT_ONCE 2 /* the dispatcher's password checks in flight at most */

enum mode { MODE_DISPATCHER, MODE_WS };

struct opts {
    enum mode mode;
    const char *uplink, *host, *password, *prefix;
    const char *dump; /* --dump PATH: every in-window latency with its send time */
    int port;
    unsigned units, hospitals, eds_per_hospital;
    double warm_s, window_s, drain_s, connect_s;
    uint64_t first_seq;
    int nagle; /* --nagle 1: leave nanomsg's default (Nagle on) on the uplink */
    unsigned nwatch;
    struct {
        char label[32];
        int pid;
    } watch[MAX_WATCH];
};

/* When unit u sent frame k: slot[u * RING + k % RING], valid when .k == k. */
struct sent_slot {
    int64_t ns; /* monotonic send time; 0 = never sent */
    uint64_t k; /* frame number the slot holds */
    int phase;  /* 0 warm-up, 1 in the window, 2 after it: by the frame's due time */
};

/* One ED client: a websocket connection of the receiver thread. */
struct ed {
    unsigned idx;       /* 0.. */
    unsigned hospital;  /* 0.. */
    char user[16];      /* ed01.. */
    struct lws *wsi;    /* NULL once closed */
    int subscribed;     /* the subscription was confirmed */
    int failed;         /* refused or closed before the end */
    int stats_done;     /* vitals.stats answered (dispatcher) */
    unsigned incidents; /* incidents the subscription reply named */
    char out[8][512];   /* queued text messages (LWS_PRE headroom each) */
    size_t out_len[8];
    unsigned out_head, out_n;
    unsigned char *in; /* reassembly of the message being received */
    size_t in_len, in_cap;
    uint64_t *last_k; /* per unit: newest frame number + 1 received (0 = none) */
    /* vitals.stats of the dispatcher at the end */
    int64_t st_sent, st_dropped, st_gaps, st_numerics;
};

/* What the receiver thread counts; read by main after the thread has ended. */
struct counts {
    uint64_t frames;         /* binary frames received, all */
    uint64_t in_window;      /* ... of which sent inside the window */
    uint64_t history;        /* ... sent before the window (warm-up, subscription backlog) */
    uint64_t unknown;        /* ... whose send time we do not have (not ours, or a ring wrap) */
    uint64_t bad_frames;     /* malformed, or naming an unknown unit */
    uint64_t bad_samples;    /* samples differ from what the unit sent */
    uint64_t wrong_hospital; /* delivered to a client of another hospital */
    uint64_t reordered;      /* frame number not above the previous one of that unit */
    uint64_t numerics;       /* vitals messages received, all */
    uint64_t numerics_window;
    uint64_t gaps, gap_samples; /* ecg.gap markers and the samples per lead they said */
    uint64_t other_text;        /* other JSON events */
    uint32_t *lat_us;           /* latency samples of in-window frames */
    uint32_t *at_us;            /* ... and when each frame was sent, us after the window start */
    uint16_t *lat_unit;         /* ... and by which unit (for --dump) */
    size_t nlat, cap_lat;
};

static struct opts o;
static struct sent_slot *sent; /* UNITS * RING */
static int16_t *ecg_loop;      /* PATIENTS * LOOP_FRAMES * FRAME_SAMPLES, lead-major frames */
static struct ed eds[MAX_EDS];
static unsigned neds;
static struct counts cnt;
static struct lws_context *lctx;
static unsigned next_ed;                 /* the next ED client to connect (receiver thread) */
static volatile int rx_stop;             /* main -> receiver: end */
static volatile int rx_want_stats;       /* main -> receiver: ask vitals.stats now */
static int64_t win_start_ns, win_end_ns; /* set by main before the window opens */
static volatile int64_t win_published;   /* 1 once win_* are set */

/* ---- small helpers ----------------------------------------------------------------------------
 */

static void sleep_until(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_vitals_load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static unsigned unit_hospital(unsigned u)
{
    return u / UNITS_PER_HOSPITAL;
}

static void unit_id(unsigned u, char *buf, size_t cap)
{
    snprintf(buf, cap, "VIT-%03u", u + 1);
}

static void incident_id(unsigned u, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%04u", o.prefix, u + 1);
}

/* Unit index from "VIT-NNN", or -1. */
static int parse_unit(const char *s, size_t len)
{
    if (len != 7 || memcmp(s, "VIT-", 4))
        return -1;
    int n = 0;
    for (size_t i = 4; i < 7; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        n = n * 10 + (s[i] - '0');
    }
    return n >= 1 && (unsigned)n <= o.units ? n - 1 : -1;
}

/* utime + stime of a process in clock ticks, or -1. */
static long long proc_ticks(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

/* Busy clock ticks of the whole machine (all CPUs: /proc/stat minus idle and iowait), or -1. */
static long long machine_busy_ticks(void)
{
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                       &v[4], &v[5], &v[6], &v[7])
              : 0;
    if (f)
        fclose(f);
    if (n < 5)
        return -1;
    unsigned long long total = 0;
    for (int i = 0; i < 8; i++)
        total += v[i];
    return (long long)(total - v[3] - v[4]);
}

/* ---- the ECG the units replay ------------------------------------------------------------------
 */

static void ecg_generate(void)
{
    ecg_loop = malloc(sizeof(int16_t) * PATIENTS * LOOP_FRAMES * FRAME_SAMPLES);
    int16_t *tmp = malloc(sizeof(int16_t) * LEADS * LOOP_FRAMES * NS_PER_FRAME);
    if (!ecg_loop || !tmp)
        die("out of memory");
    const size_t n = (size_t)LOOP_FRAMES * NS_PER_FRAME; /* samples per lead in the loop */
    for (unsigned p = 0; p < PATIENTS; p++) {
        vitals_gen_params_t gp;
        vitals_gen_params_default(&gp);
        gp.seed = 1000 + p;
        gp.hr_bpm = 60 + 4.0 * p;
        gp.st_territory = (enum vitals_st_territory)(p % 4);
        gp.st_uv = p % 4 ? 200 : 0;
        vitals_gen_t *g = vitals_gen_new(&gp, 0);
        if (!g)
            die("out of memory");
        vitals_numeric_t num[VITALS_COUNT];
        vitals_gen_step(g, 0, num);
        vitals_gen_ecg(g, FS, UV_PER_LSB, n, tmp);
        vitals_gen_free(g);
        for (unsigned k = 0; k < LOOP_FRAMES; k++)
            for (unsigned l = 0; l < LEADS; l++)
                memcpy(&ecg_loop[((size_t)p * LOOP_FRAMES + k) * FRAME_SAMPLES + l * NS_PER_FRAME],
                       &tmp[l * n + (size_t)k * NS_PER_FRAME], sizeof(int16_t) * NS_PER_FRAME);
    }
    free(tmp);
}

/* The samples of unit u's frame k (lead-major). Units start at different points of the loop. */
static const int16_t *ecg_frame(unsigned u, uint64_t k)
{
    unsigned p = u % PATIENTS;
    uint64_t f = (k + u * 7) % LOOP_FRAMES;
    return &ecg_loop[((size_t)p * LOOP_FRAMES + f) * FRAME_SAMPLES];
}

/* ---- the GLE1 frame (docs/api.md, "Live vitals and ECG") ----------------------------------------
 */

static size_t put(uint8_t *b, size_t off, const void *v, size_t n)
{
    memcpy(b + off, v, n);
    return off + n;
}

/* Builds the frame the dispatcher delivers for unit u's frame k into b (FRAME_MAX bytes);
 * returns its length. This machine is little-endian like the wire (checked in main). */
static size_t gle1_build(uint8_t *b, unsigned u, uint64_t k, int64_t first_ms, int64_t sent_ms)
{
    char inc[40], veh[16];
    incident_id(u, inc, sizeof inc);
    unit_id(u, veh, sizeof veh);
    uint16_t leads = LEADS;
    uint32_t fs = FS, n = NS_PER_FRAME;
    float uv = (float)UV_PER_LSB;
    double first = (double)first_ms, index = (double)(k * NS_PER_FRAME), sent_at = (double)sent_ms;
    size_t off = put(b, 0, "GLE1", 4) + 2; /* header_len below */
    off = put(b, off, &leads, 2);
    off = put(b, off, &fs, 4);
    off = put(b, off, &n, 4);
    off = put(b, off, &uv, 4);
    off = put(b, off, &first, 8);
    off = put(b, off, &index, 8);
    off = put(b, off, &sent_at, 8);
    uint8_t len = (uint8_t)strlen(inc);
    off = put(b, off, &len, 1);
    off = put(b, off, inc, len);
    len = (uint8_t)strlen(veh);
    off = put(b, off, &len, 1);
    off = put(b, off, veh, len);
    off = put(b, off, vitals_ecg_lead_codes, 4 * LEADS);
    for (unsigned l = 0; l < LEADS; l++) {
        len = (uint8_t)strlen(vitals_ecg_lead_names[l]);
        off = put(b, off, &len, 1);
        off = put(b, off, vitals_ecg_lead_names[l], len);
    }
    if (off % 2)
        b[off++] = 0;
    uint16_t h = (uint16_t)off;
    memcpy(b + 4, &h, 2);
    return put(b, off, ecg_frame(u, k), sizeof(int16_t) * FRAME_SAMPLES);
}

/* A received GLE1 frame, parsed. */
struct gle1 {
    unsigned leads, fs, n;
    double first_index;
    const char *inc, *veh;
    size_t inc_len, veh_len;
    const uint8_t *samples; /* 2 * leads * n bytes, little-endian int16 */
};

/* Parses a binary message; returns 0 or -1 when it is not a well-formed GLE1 frame. */
static int gle1_parse(const uint8_t *b, size_t len, struct gle1 *f)
{
    uint16_t h, leads;
    uint32_t fs, n;
    if (len < 46 || memcmp(b, "GLE1", 4))
        return -1;
    memcpy(&h, b + 4, 2);
    memcpy(&leads, b + 6, 2);
    memcpy(&fs, b + 8, 4);
    memcpy(&n, b + 12, 4);
    memcpy(&f->first_index, b + 28, 8);
    if (h > len || h % 2 || leads == 0 || leads > 16 || n == 0 || n > 100000 ||
        len != (size_t)h + 2u * leads * n)
        return -1;
    size_t off = 44;
    f->inc_len = b[off];
    f->inc = (const char *)b + off + 1;
    off += 1 + f->inc_len;
    if (off >= h)
        return -1;
    f->veh_len = b[off];
    f->veh = (const char *)b + off + 1;
    off += 1 + f->veh_len;
    if (off + 4u * leads > h)
        return -1;
    f->leads = leads;
    f->fs = fs;
    f->n = n;
    f->samples = b + h;
    return 0;
}

/* ---- the receiver thread: ED clients over libwebsockets -----------------------------------------
 */

static void queue_text(struct ed *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void queue_text(struct ed *e, const char *fmt, ...)
{
    if (e->out_n == 8 || !e->wsi)
        return;
    unsigned slot = (e->out_head + e->out_n) % 8;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->out[slot] + LWS_PRE, sizeof e->out[slot] - LWS_PRE, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof e->out[slot] - LWS_PRE)
        return;
    e->out_len[slot] = (size_t)n;
    e->out_n++;
    lws_callback_on_writable(e->wsi);
}

static void send_subscribe(struct ed *e)
{
    if (o.mode == MODE_DISPATCHER) {
        queue_text(e, "{\"id\":2,\"op\":\"vitals.subscribe\"}");
        return;
    }
    char list[400];
    size_t off = 0;
    list[0] = '\0';
    for (unsigned u = 0; u < o.units; u++) {
        if (unit_hospital(u) != e->hospital)
            continue;
        char id[16];
        unit_id(u, id, sizeof id);
        off += (size_t)snprintf(list + off, sizeof list - off, "%s\"%s\"", off ? "," : "", id);
        if (off >= sizeof list)
            die("too many units per hospital");
    }
    queue_text(e, "{\"op\":\"subscribe\",\"units\":[%s]}", list);
}

static void ed_connect(unsigned j);

static void on_frame(struct ed *e, const uint8_t *b, size_t len, int64_t now)
{
    struct gle1 f;
    cnt.frames++;
    int u = -1;
    if (gle1_parse(b, len, &f) == 0)
        u = parse_unit(f.veh, f.veh_len);
    if (u < 0 || f.n != NS_PER_FRAME || f.leads != LEADS || f.fs != FS || f.first_index < 0 ||
        fmod(f.first_index, NS_PER_FRAME) != 0) {
        cnt.bad_frames++;
        return;
    }
    uint64_t k = (uint64_t)f.first_index / NS_PER_FRAME;
    char inc[40];
    incident_id((unsigned)u, inc, sizeof inc);
    if (unit_hospital((unsigned)u) != e->hospital || f.inc_len != strlen(inc) ||
        memcmp(f.inc, inc, f.inc_len))
        cnt.wrong_hospital++;
    if (memcmp(f.samples, ecg_frame((unsigned)u, k), sizeof(int16_t) * FRAME_SAMPLES))
        cnt.bad_samples++;
    if (e->last_k[u] > k)
        cnt.reordered++; /* k == last_k - 1 would be a duplicate: counted the same */
    else
        e->last_k[u] = k + 1;
    const struct sent_slot *s = &sent[(size_t)u * RING + k % RING];
    int64_t sent_ns = __atomic_load_n(&s->ns, __ATOMIC_ACQUIRE);
    if (!sent_ns || __atomic_load_n(&s->k, __ATOMIC_RELAXED) != k) {
        cnt.unknown++;
        return;
    }
    int phase = __atomic_load_n(&s->phase, __ATOMIC_RELAXED);
    if (phase == 0) {
        cnt.history++;
        return;
    }
    if (phase == 2)
        return; /* after the window: the drain's load only */
    cnt.in_window++;
    if (cnt.nlat < cnt.cap_lat) {
        int64_t us = (now - sent_ns) / 1000;
        cnt.lat_us[cnt.nlat] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
        cnt.at_us[cnt.nlat] =
            sent_ns > win_start_ns ? (uint32_t)((sent_ns - win_start_ns) / 1000) : 0;
        cnt.lat_unit[cnt.nlat++] = (uint16_t)u;
    }
}

/* Looks for "key": integer in a flat JSON text; returns it or `def`. */
static int64_t json_int(const char *text, const char *key, int64_t def)
{
    char pat[48];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(text, pat);
    return p ? strtoll(p + strlen(pat), NULL, 10) : def;
}

static void on_text(struct ed *e, char *t, int64_t now)
{
    if (strstr(t, "\"event\":\"vitals\"")) {
        cnt.numerics++;
        if (win_published && now >= win_start_ns && now < win_end_ns)
            cnt.numerics_window++;
        return;
    }
    if (strstr(t, "\"event\":\"ecg.gap\"")) {
        cnt.gaps++;
        cnt.gap_samples += (uint64_t)json_int(t, "samples", 0);
        return;
    }
    if (strstr(t, "\"event\":")) {
        cnt.other_text++;
        return;
    }
    int ok = strstr(t, "\"ok\":true") != NULL;
    int64_t id = json_int(t, "id", 0);
    if (o.mode == MODE_WS) {
        if (!ok) {
            fprintf(stderr, "bench_vitals_load: relay refused %s: %.200s\n", e->user, t);
            e->failed = 1;
        } else if (!e->subscribed) {
            e->subscribed = 1;
            e->incidents = (unsigned)json_int(t, "units", 0);
        } else if (strstr(t, "\"forwarded\":")) {
            e->stats_done = 1; /* behind everything the relay forwarded to us before */
        }
        return;
    }
    if (!ok) {
        fprintf(stderr, "bench_vitals_load: dispatcher refused %s (request %" PRId64 "): %.200s\n",
                e->user, id, t);
        e->failed = 1;
        return;
    }
    if (id == 1) {
        send_subscribe(e);
        if (next_ed < neds)
            ed_connect(next_ed); /* the next login (see receivers_start) */
    } else if (id == 2) {
        e->subscribed = 1;
        /* "incidents":["..",".."]: count the ids */
        const char *p = strstr(t, "\"incidents\":[");
        unsigned n = 0;
        for (p = p ? p + 13 : NULL; p && *p && *p != ']'; p++)
            n += *p == '"';
        e->incidents = n / 2;
    } else if (id == 3) {
        e->st_sent = json_int(t, "frames_sent", -1);
        e->st_dropped = json_int(t, "frames_dropped", -1);
        e->st_gaps = json_int(t, "gaps_sent", -1);
        e->st_numerics = json_int(t, "numerics_sent", -1);
        e->stats_done = 1;
    }
}

static int on_receive(struct ed *e, struct lws *wsi, const void *in, size_t len)
{
    if (e->in_len + len + 1 > e->in_cap) {
        size_t cap = e->in_cap ? e->in_cap : 8192;
        while (cap < e->in_len + len + 1)
            cap *= 2;
        if (cap > (64u << 20))
            die("message from the server larger than 64 MiB");
        unsigned char *p = realloc(e->in, cap);
        if (!p)
            die("out of memory");
        e->in = p;
        e->in_cap = cap;
    }
    memcpy(e->in + e->in_len, in, len);
    e->in_len += len;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
        return 0;
    int64_t now = gl_mono_ns();
    if (lws_frame_is_binary(wsi)) {
        on_frame(e, e->in, e->in_len, now);
    } else {
        e->in[e->in_len] = '\0';
        on_text(e, (char *)e->in, now);
    }
    e->in_len = 0;
    return 0;
}

static int ed_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct ed *e = lws_get_opaque_user_data(wsi);
    if (!e)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "bench_vitals_load: %s cannot connect: %s\n", e->user,
                in ? (const char *)in : "?");
        e->failed = 1;
        e->wsi = NULL;
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (o.mode == MODE_DISPATCHER)
            queue_text(e, "{\"id\":1,\"op\":\"hello\",\"username\":\"%s\",\"password\":\"%s\"}",
                       e->user, o.password);
        else
            send_subscribe(e);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (e->out_n) {
            unsigned slot = e->out_head;
            size_t n = e->out_len[slot];
            if (lws_write(wsi, (unsigned char *)e->out[slot] + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
                return -1;
            e->out_head = (e->out_head + 1) % 8;
            if (--e->out_n)
                lws_callback_on_writable(wsi);
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return on_receive(e, wsi, in, len);
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (!rx_stop)
            fprintf(stderr, "bench_vitals_load: %s: the server closed the connection\n", e->user);
        e->failed = !rx_stop;
        e->wsi = NULL;
        break;
    case LWS_CALLBACK_WSI_DESTROY:
        e->wsi = NULL;
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {PROTOCOL, ed_callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *receiver_main(void *arg)
{
    (void)arg;
    int stats_asked = 0;
    while (!rx_stop) {
        if (rx_want_stats && !stats_asked) {
            stats_asked = 1;
            for (unsigned j = 0; j < neds; j++)
                queue_text(&eds[j], o.mode == MODE_DISPATCHER ? "{\"id\":3,\"op\":\"vitals.stats\"}"
                                                              : "{\"op\":\"stats\"}");
        }
        if (lws_service(lctx, 0) < 0)
            break;
    }
    return NULL;
}

/* Opens ED client j's connection (receiver thread, or before it starts). */
static void ed_connect(unsigned j)
{
    struct ed *e = &eds[j];
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = lctx;
    ci.address = o.host;
    ci.port = o.port;
    ci.path = o.mode == MODE_DISPATCHER ? "/api" : "/ed";
    ci.host = o.host;
    ci.origin = o.host;
    ci.protocol = PROTOCOL;
    ci.opaque_user_data = e;
    ci.pwsi = &e->wsi;
    if (!lws_client_connect_via_info(&ci))
        die("cannot start the connection of %s", e->user);
    next_ed = j + 1;
}

/* Starts the receiver thread with the ED clients' connections under way. The dispatcher checks
 * at most 2 passwords at once (ws.c, LOGINS_IN_FLIGHT_MAX) and refuses more with EAGAIN: ED
 * clients log in LOGINS_AT_ONCE at a time, each hello reply opening the next connection. */
static void receivers_start(pthread_t *th)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    lws_set_log_level(LLL_ERR, NULL);
    lctx = lws_create_context(&info);
    if (!lctx)
        die("cannot create the websocket context");
    neds = o.hospitals * o.eds_per_hospital;
    for (unsigned j = 0; j < neds; j++) {
        struct ed *e = &eds[j];
        e->idx = j;
        e->hospital = j / o.eds_per_hospital;
        snprintf(e->user, sizeof e->user, "ed%02u", j + 1);
        e->last_k = calloc(o.units, sizeof *e->last_k);
        if (!e->last_k)
            die("out of memory");
    }
    unsigned first = o.mode == MODE_DISPATCHER && neds > LOGINS_AT_ONCE ? LOGINS_AT_ONCE : neds;
    for (unsigned j = 0; j < first; j++)
        ed_connect(j);
    if (pthread_create(th, NULL, receiver_main, NULL))
        die("cannot start the receiver thread");
}

/* ---- units: the dispatcher's uplink (nanomsg)
 * ------------------------------------------------------ */

struct unit {
    vitals_gen_t *gen; /* numerics */
    uint64_t seq;      /* next uplink seq (dispatcher mode) */
    int fd;            /* websocket to the relay (ws mode) */
};

static struct unit *units;
static int push = -1;
static int send_phase; /* the phase of the frame being sent (struct sent_slot) */

static void nn_send_all(const void *buf, size_t len)
{
    while (nn_send(push, buf, len, 0) < 0)
        if (nn_errno() != EINTR)
            die("nn_send: %s", nn_strerror(nn_errno()));
}

/* Unit u's next envelope around `up`'s body, packed into buf; returns its length. */
static size_t pack_envelope(unsigned u, Goldline__Uplink *up, uint8_t *buf, size_t cap)
{
    char veh[16];
    unit_id(u, veh, sizeof veh);
    up->vehicle_id = veh;
    up->seq = units[u].seq++;
    up->sent_at_ms = gl_now_ms();
    size_t len = goldline__uplink__get_packed_size(up);
    if (len > cap)
        die("envelope of %zu bytes too large", len);
    goldline__uplink__pack(up, buf);
    up->vehicle_id = NULL; /* veh is gone on return */
    return len;
}

/* Unit u's frame k as an Uplink EcgFrame (samples delta coded per lead, as the proto says). */
static void nn_send_ecg(unsigned u, uint64_t k, int64_t first_ms, uint8_t *buf, size_t cap)
{
    static int32_t deltas[FRAME_SAMPLES];
    static char *names[LEADS];
    static uint32_t codes[LEADS];
    const int16_t *s = ecg_frame(u, k);
    for (unsigned l = 0; l < LEADS; l++) {
        names[l] = (char *)vitals_ecg_lead_names[l];
        codes[l] = vitals_ecg_lead_codes[l];
        const int16_t *ls = s + l * NS_PER_FRAME;
        deltas[l * NS_PER_FRAME] = ls[0];
        for (unsigned i = 1; i < NS_PER_FRAME; i++)
            deltas[l * NS_PER_FRAME + i] = ls[i] - ls[i - 1];
    }
    char inc[40];
    incident_id(u, inc, sizeof inc);
    Goldline__EcgFrame f = GOLDLINE__ECG_FRAME__INIT;
    f.incident_id = inc;
    f.n_lead_codes = LEADS;
    f.lead_codes = codes;
    f.n_lead_names = LEADS;
    f.lead_names = names;
    f.sample_rate_hz = FS;
    f.uv_per_lsb = (float)UV_PER_LSB;
    f.first_sample_ms = first_ms;
    f.samples_per_lead = NS_PER_FRAME;
    f.n_samples = FRAME_SAMPLES;
    f.samples = deltas;
    f.has_first_sample_index = 1;
    f.first_sample_index = k * NS_PER_FRAME;
    Goldline__Uplink up = GOLDLINE__UPLINK__INIT;
    up.body_case = GOLDLINE__UPLINK__BODY_ECG;
    up.ecg = &f;
    size_t len = pack_envelope(u, &up, buf, cap);
    struct sent_slot *slot = &sent[(size_t)u * RING + k % RING];
    __atomic_store_n(&slot->k, k, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->phase, send_phase, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->ns, gl_mono_ns(), __ATOMIC_RELEASE);
    nn_send_all(buf, len);
}

static void nn_send_numerics(unsigned u, const vitals_numeric_t *num, uint8_t *buf, size_t cap)
{
    Goldline__VitalsNumerics__Numeric n[VITALS_COUNT], *np[VITALS_COUNT];
    for (unsigned i = 0; i < VITALS_COUNT; i++) {
        goldline__vitals_numerics__numeric__init(&n[i]);
        n[i].mdc_code = num[i].mdc_code;
        n[i].measured_at_ms = num[i].measured_at_ms;
        n[i].has_value = 1;
        n[i].value = (float)num[i].value;
        n[i].has_unit_code = 1;
        n[i].unit_code = num[i].unit_code;
        np[i] = &n[i];
    }
    char inc[40];
    incident_id(u, inc, sizeof inc);
    Goldline__VitalsNumerics m = GOLDLINE__VITALS_NUMERICS__INIT;
    m.incident_id = inc;
    m.n_numerics = VITALS_COUNT;
    m.numerics = np;
    Goldline__Uplink up = GOLDLINE__UPLINK__INIT;
    up.body_case = GOLDLINE__UPLINK__BODY_VITALS;
    up.vitals = &m;
    nn_send_all(buf, pack_envelope(u, &up, buf, cap));
}

/* ---- units: websocket clients of the reference relay
 * --------------------------------------------- */

static int ws_unit_connect(unsigned u)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)o.port);
    int one = 1;
    if (fd < 0 || inet_pton(AF_INET, o.host, &a.sin_addr) != 1 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) ||
        connect(fd, (struct sockaddr *)&a, sizeof a))
        die("unit %u: cannot connect to %s:%d: %s", u + 1, o.host, o.port, strerror(errno));
    char id[16], req[512];
    unit_id(u, id, sizeof id);
    int n = snprintf(req, sizeof req,
                     "GET /unit/%s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: " PROTOCOL "\r\n\r\n",
                     id, o.host, o.port);
    if (write(fd, req, (size_t)n) != n)
        die("unit %u: handshake: %s", u + 1, strerror(errno));
    char resp[1024];
    size_t got = 0;
    while (got < sizeof resp - 1) {
        ssize_t r = read(fd, resp + got, sizeof resp - 1 - got);
        if (r <= 0)
            die("unit %u: handshake: connection closed", u + 1);
        got += (size_t)r;
        resp[got] = '\0';
        if (strstr(resp, "\r\n\r\n"))
            break;
    }
    if (strncmp(resp, "HTTP/1.1 101", 12))
        die("unit %u: the relay refused the upgrade: %.60s", u + 1, resp);
    return fd;
}

/* Sends one masked websocket message (a client must mask; the key is zero, which keeps the
 * payload as it is while the relay still unmasks every byte). */
static void ws_send(int fd, int binary, const void *payload, size_t len)
{
    uint8_t h[14];
    size_t hl = 0;
    h[hl++] = (uint8_t)(0x80 | (binary ? 2 : 1));
    if (len < 126) {
        h[hl++] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        h[hl++] = 0x80 | 126;
        h[hl++] = (uint8_t)(len >> 8);
        h[hl++] = (uint8_t)len;
    } else {
        die("websocket message too large");
    }
    memset(h + hl, 0, 4);
    hl += 4;
    struct iovec iov[2] = {{h, hl}, {(void *)payload, len}};
    size_t want = hl + len;
    ssize_t w = writev(fd, iov, 2);
    if (w < 0 || (size_t)w != want)
        die("websocket write to the relay: %s", w < 0 ? strerror(errno) : "short write");
}

static void ws_send_ecg(unsigned u, uint64_t k, int64_t first_ms)
{
    static uint8_t frame[FRAME_MAX];
    size_t len = gle1_build(frame, u, k, first_ms, gl_now_ms());
    struct sent_slot *slot = &sent[(size_t)u * RING + k % RING];
    __atomic_store_n(&slot->k, k, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->phase, send_phase, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->ns, gl_mono_ns(), __ATOMIC_RELEASE);
    ws_send(units[u].fd, 1, frame, len);
}

/* The numerics as the dispatcher words them (docs/api.md), prepared by the unit itself. */
static void ws_send_numerics(unsigned u, const vitals_numeric_t *num)
{
    char veh[16], inc[40], text[2048];
    unit_id(u, veh, sizeof veh);
    incident_id(u, inc, sizeof inc);
    int off = snprintf(
        text, sizeof text,
        "{\"event\":\"vitals\",\"incident\":\"%s\",\"vehicle\":\"%s\",\"numerics\":[", inc, veh);
    for (unsigned i = 0; i < VITALS_COUNT; i++) {
        time_t secs = (time_t)(num[i].measured_at_ms / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        char at[32];
        strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%S", &tm);
        off +=
            snprintf(text + off, sizeof text - (size_t)off,
                     "%s{\"code\":%u,\"value\":%.1f,\"unit_code\":%u,\"measured_at\":\"%s.%03dZ\"}",
                     i ? "," : "", num[i].mdc_code, num[i].value, num[i].unit_code, at,
                     (int)(num[i].measured_at_ms % 1000));
    }
    off += snprintf(text + off, sizeof text - (size_t)off, "]}");
    ws_send(units[u].fd, 0, text, (size_t)off);
}

/* ---- main ---------------------------------------------------------------------------------------
 */

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_vitals_load --mode dispatcher|ws --host H --port P --incident-prefix S\n"
            "         [--uplink URL --password PW --first-seq S (dispatcher)] [--units 200]\n"
            "         [--hospitals 10] [--eds-per-hospital 5] [--warm-s 5] [--window-s 30]\n"
            "         [--drain-s 2] [--connect-s 60] [--watch LABEL:PID]... [--nagle 0|1]\n"
            "         [--dump PATH]\n"
            "       bench_vitals_load hash PASSWORD\n"
            "A helper of `bench/run vitals` (bench/vitals.sh), not a benchmark on its own.\n");
}

static int parse_opts(int argc, char **argv)
{
    o = (struct opts){.units = 200,
                      .hospitals = 10,
                      .eds_per_hospital = 5,
                      .warm_s = 5,
                      .window_s = 30,
                      .drain_s = 2,
                      .connect_s = 60,
                      .host = "127.0.0.1"};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return -1;
        char *end = NULL;
        errno = 0;
        if (!strcmp(k, "--mode")) {
            if (!strcmp(v, "dispatcher"))
                o.mode = MODE_DISPATCHER;
            else if (!strcmp(v, "ws"))
                o.mode = MODE_WS;
            else
                return -1;
        } else if (!strcmp(k, "--uplink")) {
            o.uplink = v;
        } else if (!strcmp(k, "--host")) {
            o.host = v;
        } else if (!strcmp(k, "--port")) {
            o.port = (int)strtol(v, &end, 10);
        } else if (!strcmp(k, "--password")) {
            o.password = v;
        } else if (!strcmp(k, "--incident-prefix")) {
            o.prefix = v;
        } else if (!strcmp(k, "--units")) {
            o.units = (unsigned)strtoul(v, &end, 10);
        } else if (!strcmp(k, "--hospitals")) {
            o.hospitals = (unsigned)strtoul(v, &end, 10);
        } else if (!strcmp(k, "--eds-per-hospital")) {
            o.eds_per_hospital = (unsigned)strtoul(v, &end, 10);
        } else if (!strcmp(k, "--warm-s")) {
            o.warm_s = strtod(v, &end);
        } else if (!strcmp(k, "--window-s")) {
            o.window_s = strtod(v, &end);
        } else if (!strcmp(k, "--drain-s")) {
            o.drain_s = strtod(v, &end);
        } else if (!strcmp(k, "--connect-s")) {
            o.connect_s = strtod(v, &end);
        } else if (!strcmp(k, "--dump")) {
            o.dump = v;
        } else if (!strcmp(k, "--nagle")) {
            o.nagle = (int)strtol(v, &end, 10);
        } else if (!strcmp(k, "--first-seq")) {
            o.first_seq = strtoull(v, &end, 10);
        } else if (!strcmp(k, "--watch")) {
            const char *colon = strchr(v, ':');
            if (!colon || o.nwatch == MAX_WATCH || colon - v >= 32 || colon == v)
                return -1;
            snprintf(o.watch[o.nwatch].label, sizeof o.watch[0].label, "%.*s", (int)(colon - v), v);
            o.watch[o.nwatch++].pid = (int)strtol(colon + 1, &end, 10);
        } else {
            return -1;
        }
        if (end && (*end || errno))
            return -1;
        i++;
    }
    if (!o.prefix || strlen(o.prefix) > 24 || o.port < 1 || o.port > 65535 || o.units == 0 ||
        o.units > MAX_UNITS || o.hospitals == 0 || o.units != o.hospitals * UNITS_PER_HOSPITAL ||
        o.eds_per_hospital == 0 || o.hospitals * o.eds_per_hospital > MAX_EDS || o.warm_s < 0 ||
        o.window_s <= 0 || o.drain_s < 0 ||
        o.window_s + o.warm_s + o.drain_s > RING * FRAME_MS / 1000.0 - 10)
        return -1;
    if (o.mode == MODE_DISPATCHER && (!o.uplink || !o.password || !o.first_seq))
        return -1;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the sorted latencies, in ms. */
static double pct_ms(double p)
{
    if (!cnt.nlat)
        return NAN;
    size_t r = (size_t)ceil(p / 100.0 * (double)cnt.nlat);
    return cnt.lat_us[r ? r - 1 : 0] / 1000.0;
}

static int hash_main(const char *password)
{
    char hash[crypto_pwhash_STRBYTES];
    if (sodium_init() < 0 ||
        crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        fprintf(stderr, "bench_vitals_load: cannot hash the password\n");
        return 1;
    }
    puts(hash);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "hash"))
        return hash_main(argv[2]);
    if (parse_opts(argc, argv) != 0) {
        usage();
        return 2;
    }
    const uint16_t probe = 1;
    if (*(const uint8_t *)&probe != 1)
        die("this program assumes a little-endian machine, like the wire format");

    ecg_generate();
    sent = calloc((size_t)o.units * RING, sizeof *sent);
    units = calloc(o.units, sizeof *units);
    /* every frame sent in the window goes to eds_per_hospital clients; 25 % slack */
    cnt.cap_lat =
        (size_t)(o.units * (1000.0 / FRAME_MS) * (o.window_s + 1) * o.eds_per_hospital * 1.25);
    cnt.lat_us = malloc(cnt.cap_lat * sizeof *cnt.lat_us);
    cnt.at_us = malloc(cnt.cap_lat * sizeof *cnt.at_us);
    cnt.lat_unit = malloc(cnt.cap_lat * sizeof *cnt.lat_unit);
    if (!sent || !units || !cnt.lat_us || !cnt.at_us || !cnt.lat_unit)
        die("out of memory");
    int64_t start_wall = gl_now_ms();
    for (unsigned u = 0; u < o.units; u++) {
        vitals_gen_params_t gp;
        vitals_gen_params_default(&gp);
        gp.seed = 7 + u;
        units[u].gen = vitals_gen_new(&gp, start_wall);
        units[u].seq = o.first_seq;
        if (!units[u].gen)
            die("out of memory");
    }

    /* The ED clients first: they must be subscribed before the units start. */
    pthread_t rx;
    receivers_start(&rx);
    int64_t t_conn = gl_mono_ns(), deadline = t_conn + (int64_t)(o.connect_s * 1e9);
    for (;;) {
        unsigned ready = 0, failed = 0;
        for (unsigned j = 0; j < neds; j++) {
            ready += eds[j].subscribed;
            failed += eds[j].failed;
        }
        if (failed)
            die("%u of %u ED clients failed to connect or subscribe", failed, neds);
        if (ready == neds)
            break;
        if (gl_mono_ns() > deadline)
            die("only %u of %u ED clients subscribed within %.0f s", ready, neds, o.connect_s);
        usleep(20000);
    }
    double connect_s = (double)(gl_mono_ns() - t_conn) / 1e9;
    unsigned min_inc = UINT32_MAX, max_inc = 0;
    for (unsigned j = 0; j < neds; j++) {
        min_inc = eds[j].incidents < min_inc ? eds[j].incidents : min_inc;
        max_inc = eds[j].incidents > max_inc ? eds[j].incidents : max_inc;
    }
    fprintf(stderr,
            "bench_vitals_load: %u ED clients subscribed in %.1f s (%u..%u patients streaming "
            "already)\n",
            neds, connect_s, min_inc, max_inc);

    if (o.mode == MODE_DISPATCHER) {
        /* One socket carries all the units (each real unit has its own connection): without
         * TCP_NODELAY, Nagle's algorithm would hold every message behind the previous one's ACK,
         * which loopback delays up to 40 ms, and we would measure that. */
        push = nn_socket(AF_SP, NN_PUSH);
        int sndbuf = 4 * 1024 * 1024, nodelay = o.nagle ? 0 : 1;
        if (push < 0 || nn_setsockopt(push, NN_SOL_SOCKET, NN_SNDBUF, &sndbuf, sizeof sndbuf) < 0 ||
            nn_setsockopt(push, NN_TCP, NN_TCP_NODELAY, &nodelay, sizeof nodelay) < 0 ||
            nn_connect(push, o.uplink) < 0)
            die("nanomsg: %s", nn_strerror(nn_errno()));
        usleep(200000); /* let the PUSH connect before the first send */
    } else {
        for (unsigned u = 0; u < o.units; u++)
            units[u].fd = ws_unit_connect(u);
    }

    /* The units' clock: unit u sends frame k at t0 + k * FRAME + u * FRAME / UNITS. */
    static uint8_t buf[8192];
    const int64_t frame_ns = (int64_t)FRAME_MS * 1000000;
    const int64_t t0 = gl_mono_ns() + 50000000;
    const int64_t wall0 = gl_now_ms() + 50;
    win_start_ns = t0 + (int64_t)(o.warm_s * 1e9);
    win_end_ns = win_start_ns + (int64_t)(o.window_s * 1e9);
    __atomic_store_n(&win_published, 1, __ATOMIC_RELEASE);
    const int64_t stop_ns = win_end_ns + (int64_t)(o.drain_s * 1e9);
    long long ticks_a[MAX_WATCH], ticks_b[MAX_WATCH], self_a = 0, self_b = 0, mach_a = 0,
                                                      mach_b = 0;
    int64_t cpu_ta = 0, cpu_tb = 0;
    int window_open = 0;
    uint64_t sent_total = 0, sent_window = 0, numerics_sent = 0, numerics_window = 0;
    int64_t worst_late_ns = 0;
    uint64_t late_sends = 0; /* in the window, more than 5 ms after their time */
    vitals_numeric_t num[VITALS_COUNT];
    for (uint64_t slot = 0;; slot++) {
        uint64_t k = slot / o.units;
        unsigned u = (unsigned)(slot % o.units);
        int64_t due = t0 + (int64_t)k * frame_ns + (int64_t)u * frame_ns / o.units;
        if (due >= stop_ns)
            break;
        if (!window_open && due >= win_start_ns) {
            window_open = 1;
            cpu_ta = gl_mono_ns();
            self_a = proc_ticks(getpid());
            mach_a = machine_busy_ticks();
            for (unsigned w = 0; w < o.nwatch; w++)
                ticks_a[w] = proc_ticks(o.watch[w].pid);
            fprintf(stderr, "bench_vitals_load: window open\n");
        } else if (window_open == 1 && due >= win_end_ns) {
            window_open = 2;
            cpu_tb = gl_mono_ns();
            self_b = proc_ticks(getpid());
            mach_b = machine_busy_ticks();
            for (unsigned w = 0; w < o.nwatch; w++)
                ticks_b[w] = proc_ticks(o.watch[w].pid);
        }
        int64_t now = gl_mono_ns();
        if (now < due)
            sleep_until(due);
        else if (window_open == 1) {
            late_sends += now - due > 5000000;
            if (now - due > worst_late_ns)
                worst_late_ns = now - due;
        }
        send_phase = window_open;
        /* the frame holds the 100 ms that ended at its due time */
        int64_t first_ms = wall0 + (int64_t)k * FRAME_MS + (int64_t)u * FRAME_MS / o.units;
        if (o.mode == MODE_DISPATCHER)
            nn_send_ecg(u, k, first_ms, buf, sizeof buf);
        else
            ws_send_ecg(u, k, first_ms);
        sent_total++;
        sent_window += window_open == 1;
        if (k % (1000 / FRAME_MS) == 0) {
            vitals_gen_step(units[u].gen, gl_now_ms(), num);
            if (o.mode == MODE_DISPATCHER)
                nn_send_numerics(u, num, buf, sizeof buf);
            else
                ws_send_numerics(u, num);
            numerics_sent++;
            numerics_window += window_open == 1;
        }
        if (u == 0 && k % (5000 / FRAME_MS) == 0)
            fprintf(stderr,
                    "bench_vitals_load: t=%.0f s frames_sent=%" PRIu64 " received=%" PRIu64 "\n",
                    (double)(gl_mono_ns() - t0) / 1e9, sent_total, cnt.frames);
    }
    if (window_open != 2)
        die("the window never closed");

    /* vitals.stats from every session (its reply comes behind what was queued for the session
     * before), then stop the receivers. The units' last messages get 200 ms to reach the relay. */
    usleep(200000);
    rx_want_stats = 1;
    lws_cancel_service(lctx);
    int64_t stats_deadline = gl_mono_ns() + 5000000000;
    for (;;) {
        unsigned done = 0;
        for (unsigned j = 0; j < neds; j++)
            done += eds[j].stats_done;
        if (done == neds || gl_mono_ns() > stats_deadline)
            break;
        usleep(20000);
    }
    rx_stop = 1;
    lws_cancel_service(lctx);
    pthread_join(rx, NULL);

    /* ---- results ---- */
    double win_s = (double)(win_end_ns - win_start_ns) / 1e9;
    double cpu_s = (double)(cpu_tb - cpu_ta) / 1e9;
    long hz = sysconf(_SC_CLK_TCK);
    if (o.dump) {
        FILE *f = fopen(o.dump, "w");
        if (!f)
            die("cannot write %s: %s", o.dump, strerror(errno));
        fprintf(f, "sent_ms_in_window latency_ms unit\n");
        for (size_t i = 0; i < cnt.nlat; i++)
            fprintf(f, "%.3f %.3f %u\n", cnt.at_us[i] / 1000.0, cnt.lat_us[i] / 1000.0,
                    cnt.lat_unit[i] + 1u);
        fclose(f);
    }
    qsort(cnt.lat_us, cnt.nlat, sizeof *cnt.lat_us, cmp_u32);
    uint64_t expected = sent_window * o.eds_per_hospital;
    unsigned failed = 0;
    int64_t st_sent = 0, st_dropped = 0, st_gaps = 0, st_numerics = 0, st_missing = 0;
    for (unsigned j = 0; j < neds; j++) {
        failed += eds[j].failed;
        if (o.mode == MODE_DISPATCHER && !eds[j].stats_done)
            st_missing++;
        st_sent += eds[j].st_sent;
        st_dropped += eds[j].st_dropped;
        st_gaps += eds[j].st_gaps;
        st_numerics += eds[j].st_numerics;
    }
    printf("mode=%s\nunits=%u\nhospitals=%u\ned_clients=%u\nsubscribers_per_frame=%u\n"
           "patients_per_client=%u\nconnect_s=%.2f\nwindow_s=%.3f\n",
           o.mode == MODE_DISPATCHER ? "dispatcher" : "ws", o.units, o.hospitals, neds,
           o.eds_per_hospital, min_inc == max_inc ? min_inc : 0, connect_s, win_s);
    printf("frames_sent_window=%" PRIu64 "\nframes_sent_total=%" PRIu64 "\nframes_expected=%" PRIu64
           "\nframes_received_window=%" PRIu64 "\nframes_lost=%" PRId64
           "\ndelivered_per_s=%.0f\nsent_per_s=%.0f\n",
           sent_window, sent_total, expected, cnt.in_window,
           (int64_t)expected - (int64_t)cnt.in_window, (double)cnt.in_window / win_s,
           (double)sent_window / win_s);
    printf("lat_p50_ms=%.3f\nlat_p90_ms=%.3f\nlat_p99_ms=%.3f\nlat_p999_ms=%.3f\nlat_max_ms=%.3f\n"
           "lat_samples=%zu\n",
           pct_ms(50), pct_ms(90), pct_ms(99), pct_ms(99.9),
           cnt.nlat ? cnt.lat_us[cnt.nlat - 1] / 1000.0 : NAN, cnt.nlat);
    printf("frames_received_all=%" PRIu64 "\nframes_history=%" PRIu64 "\nframes_unknown=%" PRIu64
           "\nbad_frames=%" PRIu64 "\nbad_samples=%" PRIu64 "\nwrong_hospital=%" PRIu64
           "\nreordered=%" PRIu64 "\n",
           cnt.frames, cnt.history, cnt.unknown, cnt.bad_frames, cnt.bad_samples,
           cnt.wrong_hospital, cnt.reordered);
    /* Numerics carry no index to match: counted in all (every client subscribed before the
     * first was sent, so each must arrive exactly once per subscriber), and by receive time. */
    printf("numerics_sent_window=%" PRIu64 "\nnumerics_received_window=%" PRIu64
           "\nnumerics_sent_all=%" PRIu64 "\nnumerics_expected_all=%" PRIu64
           "\nnumerics_received_all=%" PRIu64 "\n",
           numerics_window, cnt.numerics_window, numerics_sent, numerics_sent * o.eds_per_hospital,
           cnt.numerics);
    printf("gaps=%" PRIu64 "\ngap_samples=%" PRIu64 "\nother_events=%" PRIu64
           "\nclients_failed=%u\nsender_worst_late_ms=%.3f\nsender_late_5ms=%" PRIu64 "\n",
           cnt.gaps, cnt.gap_samples, cnt.other_text, failed, (double)worst_late_ns / 1e6,
           late_sends);
    if (o.mode == MODE_DISPATCHER)
        printf("stats_frames_sent=%" PRId64 "\nstats_frames_dropped=%" PRId64
               "\nstats_gaps_sent=%" PRId64 "\nstats_numerics_sent=%" PRId64
               "\nstats_missing=%" PRId64 "\n",
               st_sent, st_dropped, st_gaps, st_numerics, st_missing);
    printf("cpu_load=%.3f\n",
           self_a >= 0 && self_b >= 0 ? (double)(self_b - self_a) / (double)hz / cpu_s : NAN);
    /* What the whole machine did meanwhile (cores busy, of all of them): the rest of it, beyond
     * this program and the watched processes, is other work that competed with the run. */
    double others = mach_a >= 0 && mach_b >= 0 && self_a >= 0 && self_b >= 0
                        ? (double)((mach_b - mach_a) - (self_b - self_a))
                        : NAN;
    for (unsigned w = 0; w < o.nwatch; w++)
        if (ticks_a[w] >= 0 && ticks_b[w] >= 0)
            others -= (double)(ticks_b[w] - ticks_a[w]);
    printf("cpu_machine=%.3f\ncpu_others=%.3f\nncpu=%ld\n",
           mach_a >= 0 && mach_b >= 0 ? (double)(mach_b - mach_a) / (double)hz / cpu_s : NAN,
           others / (double)hz / cpu_s, sysconf(_SC_NPROCESSORS_ONLN));
    for (unsigned w = 0; w < o.nwatch; w++) {
        if (ticks_a[w] < 0 || ticks_b[w] < 0)
            printf("cpu_%s=nan\n", o.watch[w].label);
        else
            printf("cpu_%s=%.3f\n", o.watch[w].label,
                   (double)(ticks_b[w] - ticks_a[w]) / (double)hz / cpu_s);
    }

    lws_context_destroy(lctx);
    if (push >= 0)
        nn_close(push);
    for (unsigned u = 0; u < o.units; u++) {
        vitals_gen_free(units[u].gen);
        if (o.mode == MODE_WS)
            close(units[u].fd);
    }
    for (unsigned j = 0; j < neds; j++) {
        free(eds[j].last_k);
        free(eds[j].in);
    }
    free(units);
    free(sent);
    free(ecg_loop);
    free(cnt.lat_us);
    free(cnt.at_us);
    free(cnt.lat_unit);
    return 0;
}
