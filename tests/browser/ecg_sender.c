/*
 * gl-ecg-sender: one ambulance unit on the uplink for the ED board's browser test
 * (tests/browser/ed_run.sh). It streams a patient's 12-lead ECG (EcgFrame) and numerics
 * (VitalsNumerics, 1 Hz) for one incident, at real-time pace or faster, and at the end prints
 *
 *   samples N checksum 0xXXXXXXXX
 *
 * where N is the number of int16 samples sent (every lead of every frame) and the checksum is
 * FNV-1a (32 bit) over every sample's two little-endian bytes, frames in first_sample_index
 * order, lead-major within a frame: exactly what the page's window.__edTest.checksum() computes
 * from the relayed binary frames (docs/api.md, "Live vitals and ECG"). The two must be equal.
 *
 *   gl-ecg-sender --uplink URL --vehicle ID [--incident ID] [--key-file PATH]
 *                 [--seq-file PATH] [--source gen|mi|PATH] [--seconds S] [--speed X]
 *                 [--fix LAT,LON] [--status NAME,...] [--hr BPM] [--spo2 PCT]
 *                 [--st anterior|inferior|lateral] [--seed N]
 *
 * --source gen (default) uses the physiological generator (vehicle/vitals_gen.h); mi replays the
 * PTB acute-MI record s0010_re from the shared data folder (GL_SHARED_DATA/ecg, see its
 * SOURCE.txt); anything else is a WFDB record path. When the MI record is absent the program
 * prints "# SKIP ..." and exits 77 (nothing sent). --status sends StatusChanges first, in the
 * order given ("en_route,on_scene"); with --seconds 0 that (and the --fix) is all it sends. --fix
 * sends a GPS fix at that place first and then once a second. --speed X > 1 runs the stream's
 * clock X times faster than the wall clock (the stream then starts in the past so that its last
 * sample is "now" when it ends). With --key-file the envelopes are sealed as a provisioned unit
 * does (common/seal.h); without it they go out plain (a dispatcher with --allow-unsealed takes
 * them from a unit without a key). --seq-file keeps the unit's last uplink seq between runs, so
 * that a later run continues where the previous one stopped (see the comment in main()).
 *
 * Like gl-uplink-inject it talks to nanomsg directly: it only pushes, never reads the downlink
 * (acks are not needed for a one-off stream on a local link; nothing is resent).
 */
#include "goldline.pb-c.h"
#include "seal.h"
#include "vitals_gen.h"
#include "vitals_stream.h"

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef GL_SHARED_DATA
#define GL_SHARED_DATA "../shared/data"
#endif
#define MI_RECORD GL_SHARED_DATA "/ecg/s0010_re"
#define EXIT_SKIP 77

typedef struct sender {
    int sock;             /* NN_PUSH, connected to the uplink */
    const char *vehicle;  /* Uplink.vehicle_id */
    const char *incident; /* may be NULL */
    seal_key_t key;       /* used when sealed */
    int sealed;
    uint64_t seq;           /* next Uplink.seq */
    uint64_t samples;       /* int16 samples sent, every lead */
    uint32_t fnv;           /* FNV-1a over their little-endian bytes */
    uint64_t next_index;    /* first_sample_index the next frame must have */
    int have_fix;           /* --fix given */
    double lat, lon;
    int errors;             /* failed sends */
} sender_t;

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void fnv_bytes(uint32_t *h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        *h ^= p[i];
        *h *= 16777619u;
    }
}

/* Packs `up`, seals it when the unit has a key, and pushes it. Returns 0 or -1 (reported). */
static int send_envelope(sender_t *s, Goldline__Uplink *up)
{
    up->vehicle_id = (char *)s->vehicle;
    up->seq = s->seq++;
    up->sent_at_ms = now_ms();
    size_t len = goldline__uplink__get_packed_size(up);
    size_t cap = len + (s->sealed ? seal_overhead(SEAL_UPLINK, strlen(s->vehicle)) : 0);
    uint8_t *buf = malloc(len ? len : 1), *out = buf;
    uint8_t *sealed = s->sealed ? malloc(cap) : NULL;
    int rc = -1;
    if (!buf || (s->sealed && !sealed)) {
        fprintf(stderr, "gl-ecg-sender: out of memory\n");
        goto done;
    }
    goldline__uplink__pack(up, buf);
    if (s->sealed) {
        if (seal_seal(&s->key, SEAL_UPLINK, s->vehicle, buf, len, sealed, cap, &len) != 0) {
            fprintf(stderr, "gl-ecg-sender: cannot seal an envelope\n");
            goto done;
        }
        out = sealed;
    }
    if (nn_send(s->sock, out, len, 0) < 0) {
        fprintf(stderr, "gl-ecg-sender: send: %s\n", nn_strerror(nn_errno()));
        s->errors++;
        goto done;
    }
    rc = 0;
done:
    free(buf);
    free(sealed);
    return rc;
}

static int send_fix(sender_t *s)
{
    Goldline__Uplink up = GOLDLINE__UPLINK__INIT;
    Goldline__GpsFix fix = GOLDLINE__GPS_FIX__INIT;
    fix.lat = s->lat;
    fix.lon = s->lon;
    fix.fix_time_ms = now_ms();
    fix.has_speed_mps = 1;
    fix.speed_mps = 0;
    up.body_case = GOLDLINE__UPLINK__BODY_GPS;
    up.gps = &fix;
    return send_envelope(s, &up);
}

static int send_status(sender_t *s, Goldline__VehicleStatus status)
{
    Goldline__Uplink up = GOLDLINE__UPLINK__INIT;
    Goldline__StatusChange st = GOLDLINE__STATUS_CHANGE__INIT;
    st.status = status;
    st.incident_id = (char *)s->incident;
    st.at_ms = now_ms();
    up.body_case = GOLDLINE__UPLINK__BODY_STATUS;
    up.status = &st;
    return send_envelope(s, &up);
}

/* The stream's sink: the ECG frame is decoded back to int16 (the values the page receives),
 * hashed, and sent as it came (delta coded). */
static int on_ecg(const Goldline__EcgFrame *f, void *ctx)
{
    sender_t *s = ctx;
    size_t n = f->n_samples;
    int16_t *v = malloc((n ? n : 1) * sizeof *v);
    if (!v || n != (size_t)f->n_lead_codes * f->samples_per_lead ||
        vitals_ecg_decode(f->samples, f->n_lead_codes, f->samples_per_lead, v) != 0) {
        fprintf(stderr, "gl-ecg-sender: a frame the stream made does not decode\n");
        free(v);
        return -1;
    }
    if (f->first_sample_index != s->next_index)
        fprintf(stderr, "gl-ecg-sender: the stream skipped from %llu to %llu\n",
                (unsigned long long)s->next_index, (unsigned long long)f->first_sample_index);
    s->next_index = f->first_sample_index + f->samples_per_lead;
    Goldline__Uplink up = GOLDLINE__UPLINK__INIT;
    up.body_case = GOLDLINE__UPLINK__BODY_ECG;
    up.ecg = (Goldline__EcgFrame *)f;
    int rc = send_envelope(s, &up);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++) {
            uint16_t u = (uint16_t)v[i];
            uint8_t le[2] = {(uint8_t)(u & 0xff), (uint8_t)(u >> 8)};
            fnv_bytes(&s->fnv, le, 2);
        }
        s->samples += n;
    }
    free(v);
    return rc;
}

static int on_numerics(const Goldline__VitalsNumerics *m, void *ctx)
{
    sender_t *s = ctx;
    Goldline__Uplink up = GOLDLINE__UPLINK__INIT;
    up.body_case = GOLDLINE__UPLINK__BODY_VITALS;
    up.vitals = (Goldline__VitalsNumerics *)m;
    if (s->have_fix)
        send_fix(s);
    return send_envelope(s, &up);
}

static int parse_status(const char *name, Goldline__VehicleStatus *out)
{
    static const struct {
        const char *name;
        Goldline__VehicleStatus v;
    } map[] = {
        {"available", GOLDLINE__VEHICLE_STATUS__AVAILABLE},
        {"dispatched", GOLDLINE__VEHICLE_STATUS__DISPATCHED},
        {"en_route", GOLDLINE__VEHICLE_STATUS__EN_ROUTE},
        {"on_scene", GOLDLINE__VEHICLE_STATUS__ON_SCENE},
        {"transporting", GOLDLINE__VEHICLE_STATUS__TRANSPORTING},
        {"at_hospital", GOLDLINE__VEHICLE_STATUS__AT_HOSPITAL},
        {"returning", GOLDLINE__VEHICLE_STATUS__RETURNING},
        {"out_of_service", GOLDLINE__VEHICLE_STATUS__OUT_OF_SERVICE},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(name, map[i].name)) {
            *out = map[i].v;
            return 0;
        }
    return -1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: gl-ecg-sender --uplink URL --vehicle ID [--incident ID] [--key-file PATH]\n"
            "       [--seq-file PATH] [--source gen|mi|PATH] [--seconds S] [--speed X] [--fix LAT,LON]\n"
            "       [--status NAME] [--hr BPM] [--spo2 PCT] [--st anterior|inferior|lateral]\n"
            "       [--seed N]\n");
}

int main(int argc, char **argv)
{
    const char *url = NULL, *source = "gen", *key_file = NULL, *status_name = NULL;
    double seconds = 20, speed = 1;
    /* Uplink seqs: the dispatcher takes a unit's seqs in a window above the last one it saw and
     * holds back anything further ahead as "after a hole" (dispatcher/fleet.h), unless the jump
     * is so large (> 1e6) that the unit must have restarted. So a run continues the seq of the
     * previous run of the same unit from --seq-file (as a unit's spool does), and without one it
     * starts at the wall clock in units of 0.1 us: a fresh start, far above any earlier run. */
    sender_t s = {.sock = -1, .fnv = 2166136261u, .seq = (uint64_t)now_ms() * 10000u};
    const char *seq_file = NULL;
    vitals_gen_params_t gp;
    vitals_gen_params_default(&gp);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage();
            return 2;
        }
        i++;
        if (!strcmp(a, "--uplink"))
            url = v;
        else if (!strcmp(a, "--vehicle"))
            s.vehicle = v;
        else if (!strcmp(a, "--incident"))
            s.incident = v;
        else if (!strcmp(a, "--key-file"))
            key_file = v;
        else if (!strcmp(a, "--seq-file"))
            seq_file = v;
        else if (!strcmp(a, "--source"))
            source = v;
        else if (!strcmp(a, "--seconds"))
            seconds = strtod(v, NULL);
        else if (!strcmp(a, "--speed"))
            speed = strtod(v, NULL);
        else if (!strcmp(a, "--status"))
            status_name = v;
        else if (!strcmp(a, "--hr"))
            gp.hr_bpm = strtod(v, NULL);
        else if (!strcmp(a, "--spo2"))
            gp.spo2_pct = strtod(v, NULL);
        else if (!strcmp(a, "--seed"))
            gp.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--fix")) {
            if (sscanf(v, "%lf,%lf", &s.lat, &s.lon) != 2) {
                usage();
                return 2;
            }
            s.have_fix = 1;
        } else if (!strcmp(a, "--st")) {
            gp.st_territory = !strcmp(v, "anterior")   ? VITALS_ST_ANTERIOR
                              : !strcmp(v, "inferior") ? VITALS_ST_INFERIOR
                              : !strcmp(v, "lateral")  ? VITALS_ST_LATERAL
                                                       : VITALS_ST_NONE;
            gp.st_uv = 250;
        } else {
            usage();
            return 2;
        }
    }
    Goldline__VehicleStatus status[8];
    int n_status = 0;
    if (status_name) {
        char list[128];
        snprintf(list, sizeof list, "%s", status_name);
        char *save = NULL;
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (n_status == 8 || parse_status(t, &status[n_status]) != 0) {
                usage();
                return 2;
            }
            n_status++;
        }
    }
    if (!url || !s.vehicle || seconds < 0 || speed < 1) {
        usage();
        return 2;
    }
    if (seq_file) {
        FILE *f = fopen(seq_file, "r");
        unsigned long long last;
        if (f && fscanf(f, "%llu", &last) == 1)
            s.seq = last + 1;
        if (f)
            fclose(f);
    }
    if (key_file) {
        char why[256] = "";
        if (seal_key_read_file(key_file, &s.key, why, sizeof why) != 0) {
            fprintf(stderr, "gl-ecg-sender: key file %s: %s\n", key_file, why);
            return 1;
        }
        s.sealed = 1;
    }

    /* The stream first, so that a missing record sends nothing at all. */
    int64_t duration_ms = (int64_t)(seconds * 1000);
    int64_t real0 = now_ms();
    int64_t sim0 = real0 - (int64_t)((double)duration_ms * (1.0 - 1.0 / speed));
    vitals_stream_t *st = NULL;
    if (seconds > 0) {
        char err[256] = "";
        int rc;
        if (!strcmp(source, "gen")) {
            rc = vitals_stream_new_gen(NULL, &gp, sim0, &st);
        } else {
            int mi = !strcmp(source, "mi");
            const char *path = mi ? MI_RECORD : source;
            if (mi && access(MI_RECORD ".hea", R_OK) != 0) {
                printf("# SKIP the MI record %s.hea is absent (see %s/ecg/SOURCE.txt)\n",
                       MI_RECORD, GL_SHARED_DATA);
                return EXIT_SKIP;
            }
            rc = vitals_stream_new_wfdb(NULL, path, gp.seed, sim0, &st, err, sizeof err);
        }
        if (rc != 0) {
            fprintf(stderr, "gl-ecg-sender: cannot open the source %s: %s\n", source, err);
            return 1;
        }
        if (s.incident && vitals_stream_set_incident(st, s.incident) != 0) {
            fprintf(stderr, "gl-ecg-sender: incident id too long\n");
            vitals_stream_free(st);
            return 2;
        }
    }

    s.sock = nn_socket(AF_SP, NN_PUSH);
    int linger = 3000;
    if (s.sock < 0 || nn_setsockopt(s.sock, NN_SOL_SOCKET, NN_LINGER, &linger, sizeof linger) < 0 ||
        nn_connect(s.sock, url) < 0) {
        fprintf(stderr, "gl-ecg-sender: %s: %s\n", url, nn_strerror(nn_errno()));
        vitals_stream_free(st);
        return 1;
    }
    int timeout = 5000;
    nn_setsockopt(s.sock, NN_SOL_SOCKET, NN_SNDTIMEO, &timeout, sizeof timeout);

    if (s.have_fix)
        send_fix(&s);
    for (int i = 0; i < n_status; i++)
        send_status(&s, status[i]);

    vitals_stream_sink_t sink = {on_ecg, on_numerics, &s};
    if (st) {
        int64_t end = sim0 + duration_ms;
        for (;;) {
            int64_t sim = sim0 + (int64_t)((double)(now_ms() - real0) * speed);
            if (sim > end)
                sim = end;
            vitals_stream_poll(st, sim, &sink);
            if (sim >= end || s.errors > 10)
                break;
            usleep(10 * 1000);
        }
        vitals_stream_free(st);
    }
    usleep(300 * 1000); /* let nanomsg flush before close (linger is not honoured everywhere) */
    nn_close(s.sock);
    if (seq_file) {
        FILE *f = fopen(seq_file, "w");
        if (!f || fprintf(f, "%llu\n", (unsigned long long)(s.seq - 1)) < 0 || fclose(f) != 0) {
            fprintf(stderr, "gl-ecg-sender: cannot write %s\n", seq_file);
            s.errors++;
        }
    }
    printf("samples %llu checksum 0x%08x\n", (unsigned long long)s.samples, s.fnv);
    fflush(stdout);
    return s.errors ? 1 : 0;
}
