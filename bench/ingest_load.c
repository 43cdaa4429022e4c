/*
 * The load generator of `bench/run ingest` (bench/ingest.sh starts it; it is not a benchmark on
 * its own): many simulated units in one process, each sending uplink GpsFix envelopes to the
 * dispatcher over one nanomsg PUSH socket, and listening on the downlink (SUB, every topic) for
 * the dispatcher's Acks.
 *
 * Units are BEN-00001.. (the ids bench/ingest.sh seeds), spread over a 100 x 100 km box around
 * Hangzhou. Each drives at 8..20 m/s, turning a little at each fix and bouncing off the box's
 * edges, so the dispatcher's GPS sanity (250 km/h, no future, no late fixes) accepts every fix:
 * the fix time is the wall clock, kept strictly increasing per unit, and the distance moved is
 * speed x the time since the unit's previous fix. Seqs are strictly increasing per unit and start
 * at --first-seq, so unit u's k-th fix (k = 0..) carries seq first_seq + k; the Acks therefore
 * say exactly how many of its fixes the dispatcher made durable.
 *
 * Two modes: --rate HZ sends HZ fixes per unit per second, the sends spread evenly over the
 * second (unit order; what is due goes every --tick-ms, 0.5 ms, so a few fixes at a time, as
 * from units whose clocks are not synchronised; a larger tick sends bursts); --rate 0 sends as fast as the dispatcher
 * takes them (nn_send blocks when its TCP buffers are full: that is the back-pressure we want).
 * Either stops after --seconds or --max-msgs. Then it waits up to --ack-wait-s for Acks covering
 * everything sent (0: no wait).
 *
 * It uses nanomsg directly and blocking (not common/nnuv on a libuv loop): a load generator has
 * nothing else to serve, and a plain loop keeps its own cost small and easy to reason about.
 *
 * Once a second a line `progress wall_ms=.. sent=.. acked_fixes=..` goes to stderr.
 * Output: `key=value` lines on stdout (sent, seconds, send_per_s, acks, acked_fixes,
 * units_fully_acked, ...) that bench/ingest.sh reads. Errors: one line on stderr, exit 1; bad
 * usage exits 2.
 */
#include "goldline.pb-c.h"
#include "timeutil.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/pubsub.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ID_PREFIX "BEN-"
#define LAT0 30.0
#define LAT_SPAN 0.9
#define LON0 119.7
#define LON_SPAN 1.04
#define M_PER_DEG_LAT 111320.0
#define PI 3.14159265358979323846

struct unit {
    char id[16];
    double lat, lon;
    double heading;    /* radians, 0 = north */
    double speed;      /* m/s */
    int64_t last_fix_ms;
    uint64_t sent;     /* fixes sent; the next seq is first_seq + sent */
    uint64_t acked;    /* highest seq acknowledged (0 = none) */
};

struct opts {
    const char *uplink, *downlink;
    unsigned units;
    double rate, seconds, ack_wait_s, tick_ms;
    uint64_t max_msgs, first_seq;
};

static uint64_t rng_state = 20261128;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(void)
{
    return (double)(rng_next() >> 11) / 9007199254740992.0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_ingest_load --uplink URL --downlink URL --units N --first-seq S\n"
            "         [--rate HZ (0 = as fast as taken)] [--seconds S] [--max-msgs N]\n"
            "         [--ack-wait-s S] [--tick-ms MS (0.5)]\n"
            "A helper of `bench/run ingest` (bench/ingest.sh), not a benchmark on its own.\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.rate = 1, .seconds = 30, .tick_ms = 0.5, .max_msgs = UINT64_MAX};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return -1;
        char *end = NULL;
        errno = 0;
        if (!strcmp(k, "--uplink"))
            o->uplink = v;
        else if (!strcmp(k, "--downlink"))
            o->downlink = v;
        else if (!strcmp(k, "--units"))
            o->units = (unsigned)strtoul(v, &end, 10);
        else if (!strcmp(k, "--rate"))
            o->rate = strtod(v, &end);
        else if (!strcmp(k, "--seconds"))
            o->seconds = strtod(v, &end);
        else if (!strcmp(k, "--tick-ms"))
            o->tick_ms = strtod(v, &end);
        else if (!strcmp(k, "--ack-wait-s"))
            o->ack_wait_s = strtod(v, &end);
        else if (!strcmp(k, "--max-msgs"))
            o->max_msgs = strtoull(v, &end, 10);
        else if (!strcmp(k, "--first-seq"))
            o->first_seq = strtoull(v, &end, 10);
        else
            return -1;
        if (end && (*end || errno))
            return -1;
        i++;
    }
    if (!o->uplink || !o->downlink || o->units == 0 || o->units > 99999 || o->first_seq == 0 ||
        o->rate < 0 || o->seconds <= 0 || o->ack_wait_s < 0 || o->tick_ms < 0.01 ||
        o->tick_ms > 1000)
        return -1;
    return 0;
}

static void units_init(struct unit *u, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        snprintf(u[i].id, sizeof u[i].id, ID_PREFIX "%05u", i + 1);
        u[i].lat = LAT0 + LAT_SPAN * rng_unit();
        u[i].lon = LON0 + LON_SPAN * rng_unit();
        u[i].heading = 2 * PI * rng_unit();
        u[i].speed = 8 + 12 * rng_unit();
    }
}

/* Moves the unit for the time since its previous fix; returns the new fix time. */
static int64_t unit_move(struct unit *u, int64_t now_ms)
{
    int64_t fix_ms = now_ms > u->last_fix_ms ? now_ms : u->last_fix_ms + 1;
    if (u->last_fix_ms) {
        double d = u->speed * (double)(fix_ms - u->last_fix_ms) / 1000.0;
        u->heading += (rng_unit() - 0.5) * 0.2;
        u->lat += d * cos(u->heading) / M_PER_DEG_LAT;
        u->lon += d * sin(u->heading) / (M_PER_DEG_LAT * cos(u->lat * PI / 180));
        if (u->lat < LAT0 || u->lat > LAT0 + LAT_SPAN)
            u->heading = PI - u->heading; /* mirror the north component */
        if (u->lon < LON0 || u->lon > LON0 + LON_SPAN)
            u->heading = -u->heading; /* mirror the east component */
    }
    u->last_fix_ms = fix_ms;
    return fix_ms;
}

/* Encodes and sends the unit's next fix (blocking). Returns 0 or -1 (message on stderr). */
static int send_fix(int sock, struct unit *u, uint64_t first_seq, uint8_t *buf, size_t cap)
{
    int64_t now = gl_now_ms();
    Goldline__Uplink up = GOLDLINE__UPLINK__INIT;
    Goldline__GpsFix fix = GOLDLINE__GPS_FIX__INIT;
    fix.fix_time_ms = unit_move(u, now);
    fix.lat = u->lat;
    fix.lon = u->lon;
    fix.has_speed_mps = fix.has_heading_deg = fix.has_hdop = 1;
    fix.speed_mps = (float)u->speed;
    double deg = fmod(u->heading * 180 / PI, 360);
    fix.heading_deg = (float)(deg < 0 ? deg + 360 : deg);
    fix.hdop = 0.9f;
    up.vehicle_id = u->id;
    up.seq = first_seq + u->sent;
    up.sent_at_ms = now;
    up.body_case = GOLDLINE__UPLINK__BODY_GPS;
    up.gps = &fix;
    size_t len = goldline__uplink__get_packed_size(&up);
    if (len > cap) {
        fprintf(stderr, "bench_ingest_load: envelope of %zu bytes too large\n", len);
        return -1;
    }
    goldline__uplink__pack(&up, buf);
    for (;;) {
        if (nn_send(sock, buf, len, 0) >= 0)
            break;
        if (nn_errno() == EINTR)
            continue;
        fprintf(stderr, "bench_ingest_load: nn_send: %s\n", nn_strerror(nn_errno()));
        return -1;
    }
    u->sent++;
    return 0;
}

struct ack_count {
    uint64_t msgs, foreign;
};

/* Handles one downlink message: "<id>\0" + Downlink. Acks raise the unit's acked seq. */
static void on_downlink(struct unit *units, unsigned n, const char *msg, size_t len,
                        struct ack_count *c)
{
    const char *nul = memchr(msg, '\0', len);
    size_t plen = strlen(ID_PREFIX);
    if (!nul || (size_t)(nul - msg) != plen + 5 || strncmp(msg, ID_PREFIX, plen)) {
        c->foreign++;
        return;
    }
    unsigned idx = (unsigned)strtoul(msg + plen, NULL, 10);
    size_t off = (size_t)(nul - msg) + 1;
    Goldline__Downlink *dl =
        goldline__downlink__unpack(NULL, len - off, (const uint8_t *)msg + off);
    if (!dl || idx == 0 || idx > n || strcmp(dl->vehicle_id, units[idx - 1].id)) {
        c->foreign++;
    } else if (dl->body_case == GOLDLINE__DOWNLINK__BODY_ACK) {
        c->msgs++;
        if (dl->ack->up_to_seq > units[idx - 1].acked)
            units[idx - 1].acked = dl->ack->up_to_seq;
    }
    if (dl)
        goldline__downlink__free_unpacked(dl, NULL);
}

/* Receives what the downlink holds now (timeout_ms = 0), or waits up to timeout_ms for one. */
static void drain_downlink(int sub, struct unit *units, unsigned n, int timeout_ms,
                           struct ack_count *c)
{
    int flags = NN_DONTWAIT;
    if (timeout_ms > 0) {
        nn_setsockopt(sub, NN_SOL_SOCKET, NN_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
        flags = 0;
    }
    for (;;) {
        char *msg = NULL;
        int r = nn_recv(sub, &msg, NN_MSG, flags);
        if (r < 0)
            return;
        on_downlink(units, n, msg, (size_t)r, c);
        nn_freemsg(msg);
        flags = NN_DONTWAIT;
    }
}

/* Fixes acknowledged so far, summed over the units; *full counts units with all acknowledged. */
static uint64_t acked_fixes(const struct unit *units, unsigned n, uint64_t first_seq,
                            unsigned *full)
{
    uint64_t total = 0;
    *full = 0;
    for (unsigned i = 0; i < n; i++) {
        const struct unit *u = &units[i];
        uint64_t a = u->acked >= first_seq ? u->acked - first_seq + 1 : 0;
        if (a > u->sent)
            a = u->sent; /* cannot happen unless the dispatcher acks what it never got */
        total += a;
        *full += a == u->sent;
    }
    return total;
}

static int all_acked(const struct unit *u, unsigned n, uint64_t first_seq)
{
    for (unsigned i = 0; i < n; i++)
        if (u[i].sent && u[i].acked < first_seq + u[i].sent - 1)
            return 0;
    return 1;
}

/* One progress line on stderr: the wall time, what was sent and what is acknowledged so far
 * (bench/ingest.sh compares the latter with the rows PostGIS holds a moment later). */
static void progress(const struct unit *units, unsigned n, uint64_t first_seq, uint64_t sent)
{
    unsigned full = 0;
    uint64_t acked = acked_fixes(units, n, first_seq, &full);
    fprintf(stderr, "progress wall_ms=%" PRId64 " sent=%" PRIu64 " acked_fixes=%" PRIu64 "\n",
            gl_now_ms(), sent, acked);
}

int main(int argc, char **argv)
{
    struct opts o;
    if (parse_opts(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    struct unit *units = calloc(o.units, sizeof *units);
    if (!units) {
        fprintf(stderr, "bench_ingest_load: out of memory\n");
        return 1;
    }
    units_init(units, o.units);
    int push = nn_socket(AF_SP, NN_PUSH), sub = nn_socket(AF_SP, NN_SUB);
    int rcvbuf = 4 * 1024 * 1024;
    if (push < 0 || sub < 0 || nn_setsockopt(sub, NN_SUB, NN_SUB_SUBSCRIBE, "", 0) < 0 ||
        nn_setsockopt(sub, NN_SOL_SOCKET, NN_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0 ||
        nn_connect(sub, o.downlink) < 0 || nn_connect(push, o.uplink) < 0) {
        fprintf(stderr, "bench_ingest_load: nanomsg: %s\n", nn_strerror(nn_errno()));
        return 1;
    }
    uint8_t buf[256];
    struct ack_count acks = {0, 0};
    uint64_t sent = 0;
    int rc = 0;
    int64_t t0 = gl_mono_ns(), deadline = t0 + (int64_t)(o.seconds * 1e9), next_progress = t0;
    for (;;) {
        int64_t now = gl_mono_ns();
        if (now >= deadline || sent >= o.max_msgs)
            break;
        if (now >= next_progress) {
            progress(units, o.units, o.first_seq, sent);
            next_progress += 1000000000;
        }
        uint64_t due;
        if (o.rate > 0)
            due = (uint64_t)((double)(now - t0) / 1e9 * o.units * o.rate) + 1;
        else
            due = sent + 256; /* flood: check the clock and the downlink every 256 sends */
        if (due > o.max_msgs)
            due = o.max_msgs;
        while (sent < due && rc == 0) {
            rc = send_fix(push, &units[sent % o.units], o.first_seq, buf, sizeof buf);
            sent++;
        }
        if (rc)
            break;
        drain_downlink(sub, units, o.units, 0, &acks);
        if (o.rate > 0) {
            long ns = (long)(o.tick_ms * 1e6);
            struct timespec pause = {ns / 1000000000, ns % 1000000000};
            nanosleep(&pause, NULL);
        }
    }
    double secs = (double)(gl_mono_ns() - t0) / 1e9;
    int64_t ack_deadline = gl_mono_ns() + (int64_t)(o.ack_wait_s * 1e9);
    while (rc == 0 && gl_mono_ns() < ack_deadline && !all_acked(units, o.units, o.first_seq)) {
        drain_downlink(sub, units, o.units, 100, &acks);
        if (gl_mono_ns() >= next_progress) {
            progress(units, o.units, o.first_seq, sent);
            next_progress += 1000000000;
        }
    }
    double ack_wait = o.ack_wait_s > 0 ? (double)(gl_mono_ns() - t0) / 1e9 - secs : 0;

    unsigned full = 0;
    uint64_t acked = acked_fixes(units, o.units, o.first_seq, &full);
    printf("sent=%" PRIu64 "\nseconds=%.3f\nsend_per_s=%.0f\nack_msgs=%" PRIu64
           "\nforeign_downlink=%" PRIu64 "\nacked_fixes=%" PRIu64 "\nunits_fully_acked=%u\n"
           "ack_wait_s=%.2f\nlast_seq_max=%" PRIu64 "\n",
           sent, secs, (double)sent / secs, acks.msgs, acks.foreign, acked, full, ack_wait,
           o.first_seq + (sent + o.units - 1) / o.units - 1);
    nn_close(push);
    nn_close(sub);
    free(units);
    return rc ? 1 : 0;
}
