/*
 * Unit tests of vehicle/vitals_stream.c, the timed source of VitalsNumerics and EcgFrames.
 *
 * "Record" replays the real myocardial-infarction record $GL_SHARED_DATA/ecg/s0010_re (PTB,
 * 12 + 3 leads at 1000 Hz) through the stream at 500 Hz for longer than one pass, packs and
 * unpacks every frame as the wire would, undoes the delta coding and checks that the frames
 * join into exactly the samples an independent wfdb_replay of the same record gives, in order,
 * with first_sample_index and first_sample_ms continuous (skipped with a message when the data
 * is absent). "Numerics" checks the 1 Hz messages: their times, the measurement times of each
 * numeric, the ranges and the NIBP cycle. "Clock" covers the pacing rules (nothing before a frame
 * is complete, a clock going back, a jump ahead that skips instead of bursting) and "Coding"
 * the delta coding and refusals. "Fleet" checks which source the fleet simulator's units use
 * through a whole job (fleet_sim_vitals_source).
 */
#include "vitals_stream.h"

#include "err.h"
#include "fleet_sim.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define T0 1764316800000LL /* 2025-11-28T08:00:00Z */

/* ---- a collecting sink ----------------------------------------------------------------- */

struct collected {
    int16_t *samples[VITALS_STREAM_MAX_LEADS]; /* decoded, concatenated per lead */
    size_t n, cap;                             /* samples per lead so far */
    int leads;
    uint64_t frames;
    uint64_t next_index; /* expected first_sample_index */
    int64_t next_ms;     /* expected first_sample_ms */
    int64_t now;         /* the clock of the current poll */
    uint32_t codes[VITALS_STREAM_MAX_LEADS];
    char names[VITALS_STREAM_MAX_LEADS][16];
    char incident[32];
    int n_num_msgs;
    int64_t last_num_ms[8];
    uint32_t num_codes[8];
    int n_num_codes;
    int nibp_count;
    int64_t nibp_times[16];
};

static int on_ecg(const Goldline__EcgFrame *f, void *ctx)
{
    struct collected *c = ctx;
    /* Through the wire format: pack, unpack, decode. */
    size_t len = goldline__ecg_frame__get_packed_size(f);
    uint8_t *buf = malloc(len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(goldline__ecg_frame__pack(f, buf), len);
    Goldline__EcgFrame *g = goldline__ecg_frame__unpack(NULL, len, buf);
    free(buf);
    ck_assert_ptr_nonnull(g);
    ck_assert(g->has_first_sample_index);
    ck_assert_uint_eq(g->first_sample_index, c->next_index);
    ck_assert_int_eq(g->first_sample_ms, c->next_ms);
    ck_assert_uint_eq(g->n_lead_codes, g->n_lead_names);
    ck_assert_uint_eq(g->n_samples, g->n_lead_codes * g->samples_per_lead);
    /* A frame goes out only once its last sample has happened. */
    ck_assert_int_le(g->first_sample_ms + (int64_t)g->samples_per_lead * 1000 / g->sample_rate_hz,
                     c->now);
    if (c->frames == 0) {
        c->leads = (int)g->n_lead_codes;
        for (int l = 0; l < c->leads; l++) {
            c->codes[l] = g->lead_codes[l];
            snprintf(c->names[l], sizeof c->names[l], "%s", g->lead_names[l]);
        }
        snprintf(c->incident, sizeof c->incident, "%s", g->incident_id ? g->incident_id : "");
    }
    ck_assert_int_eq((int)g->n_lead_codes, c->leads);
    if (c->n + g->samples_per_lead > c->cap) {
        c->cap = (c->n + g->samples_per_lead) * 2;
        for (int l = 0; l < c->leads; l++) {
            c->samples[l] = realloc(c->samples[l], c->cap * sizeof(int16_t));
            ck_assert_ptr_nonnull(c->samples[l]);
        }
    }
    int16_t *dec = malloc(g->n_samples * sizeof *dec);
    ck_assert_int_eq(vitals_ecg_decode(g->samples, g->n_lead_codes, g->samples_per_lead, dec), 0);
    for (int l = 0; l < c->leads; l++)
        memcpy(c->samples[l] + c->n, dec + (size_t)l * g->samples_per_lead,
               g->samples_per_lead * sizeof(int16_t));
    free(dec);
    c->n += g->samples_per_lead;
    c->next_index += g->samples_per_lead;
    c->next_ms += 100;
    c->frames++;
    goldline__ecg_frame__free_unpacked(g, NULL);
    return 0;
}

static int on_numerics(const Goldline__VitalsNumerics *m, void *ctx)
{
    struct collected *c = ctx;
    c->n_num_msgs++;
    if (c->n_num_msgs == 1)
        c->n_num_codes = (int)m->n_numerics;
    ck_assert_uint_le(m->n_numerics, 8);
    for (size_t i = 0; i < m->n_numerics; i++) {
        const Goldline__VitalsNumerics__Numeric *n = m->numerics[i];
        ck_assert(n->has_value);
        ck_assert_int_le(n->measured_at_ms, c->now);
        if (c->n_num_msgs == 1)
            c->num_codes[i] = n->mdc_code;
        int slot = -1;
        for (int k = 0; k < c->n_num_codes && k < 8; k++) {
            if (c->num_codes[k] == n->mdc_code)
                slot = k;
        }
        ck_assert_int_ge(slot, 0); /* a later message only repeats codes of the first */
        if (c->n_num_msgs > 1)
            ck_assert_int_gt(n->measured_at_ms, c->last_num_ms[slot]);
        c->last_num_ms[slot] = n->measured_at_ms;
        double v = n->value;
        switch (n->mdc_code) {
        case 147842:
            ck_assert(v >= 30 && v <= 220);
            break;
        case 150456:
            ck_assert(v >= 70 && v <= 100);
            break;
        case 150021:
            ck_assert(v >= 60 && v <= 250);
            if (c->nibp_count < 16)
                c->nibp_times[c->nibp_count] = n->measured_at_ms;
            c->nibp_count++;
            break;
        case 150022:
            ck_assert(v >= 30 && v <= 150);
            break;
        case 150023:
            ck_assert(v >= 30 && v <= 250);
            break;
        case 151562:
            ck_assert(v >= 4 && v <= 60);
            break;
        case 151708:
            ck_assert(v >= 10 && v <= 80);
            break;
        case 150364:
        case 150344:
            ck_assert(v >= 34 && v <= 42);
            break;
        default:
            ck_abort_msg("unexpected numeric code %u", n->mdc_code);
        }
    }
    return 0;
}

static const vitals_stream_sink_t *sink_of(struct collected *c)
{
    static vitals_stream_sink_t sink;
    sink.on_ecg = on_ecg;
    sink.on_numerics = on_numerics;
    sink.ctx = c;
    return &sink;
}

static void collected_init(struct collected *c, int64_t start)
{
    memset(c, 0, sizeof *c);
    c->next_ms = start;
}

static void collected_free(struct collected *c)
{
    for (int l = 0; l < VITALS_STREAM_MAX_LEADS; l++)
        free(c->samples[l]);
}

/* ---- Record ----------------------------------------------------------------------------- */

static int have_record(void)
{
    struct stat st;
    if (stat(GL_SHARED_DATA "/ecg/s0010_re.hea", &st) == 0)
        return 1;
    printf("check_vitals_stream: SKIP real-record test: %s/ecg/s0010_re.hea absent "
           "(the shared PhysioNet data is not installed)\n",
           GL_SHARED_DATA);
    return 0;
}

START_TEST(test_record_frames_join_bit_exact)
{
    if (!have_record())
        return;
    vitals_stream_config_t cfg;
    vitals_stream_config_default(&cfg); /* 500 Hz, 100 ms, 2.5 uV */
    vitals_stream_t *s;
    char err[256];
    ck_assert_int_eq(
        vitals_stream_new_wfdb(&cfg, GL_SHARED_DATA "/ecg/s0010_re", 7, T0, &s, err, sizeof err),
        0);
    ck_assert_int_eq(vitals_stream_set_incident(s, "INC-20251128-0001"), 0);
    ck_assert_int_eq(vitals_stream_lead_count(s), 12);
    ck_assert_uint_eq(vitals_stream_frame_samples(s), 50);

    /* The reference: the same 12 signals replayed directly. */
    wfdb_record_t *rec;
    ck_assert_int_eq(wfdb_record_open(GL_SHARED_DATA "/ecg/s0010_re.hea", &rec, err, sizeof err),
                     0);
    int sigs[VITALS_STREAM_MAX_LEADS];
    ck_assert_int_eq(vitals_stream_pick_leads(wfdb_record_header(rec), sigs), 12);
    for (int i = 0; i < 12; i++)
        ck_assert_int_eq(sigs[i], i); /* i .. v6, not the Frank leads vx, vy, vz */
    wfdb_replay_t *ref;
    ck_assert_int_eq(wfdb_replay_new(rec, sigs, 12, 500, 2.5, &ref), 0);
    size_t pass = wfdb_replay_length(ref);
    ck_assert_uint_eq(pass, 19200); /* 38.4 s at 500 Hz */

    /* 45 s of clock in uneven steps, so a poll sees zero, one or several frames. */
    struct collected c;
    collected_init(&c, T0);
    const int steps[] = {37, 100, 0, 250, 63, 1000, 3, 97};
    int64_t now = T0;
    for (int i = 0; now < T0 + 45000; i++) {
        now += steps[i % 8];
        c.now = now;
        vitals_stream_poll(s, now, sink_of(&c));
    }
    ck_assert_uint_eq(c.frames, (uint64_t)((now - T0) / 100));
    ck_assert_uint_gt(c.n, pass); /* the loop was crossed */
    ck_assert_str_eq(c.incident, "INC-20251128-0001");
    static const uint32_t codes[12] = {131329, 131330, 131389, 131390, 131391, 131392,
                                       131331, 131332, 131333, 131334, 131335, 131336};
    static const char *names[12] = {"i",  "ii", "iii", "avr", "avl", "avf",
                                    "v1", "v2", "v3",  "v4",  "v5",  "v6"};
    for (int l = 0; l < 12; l++) {
        ck_assert_uint_eq(c.codes[l], codes[l]);
        ck_assert_str_eq(c.names[l], names[l]);
    }

    int16_t *want = malloc(c.n * 12 * sizeof *want);
    ck_assert_ptr_nonnull(want);
    ck_assert_uint_eq(wfdb_replay_read(ref, c.n, want), 0);
    size_t nonzero = 0;
    for (int l = 0; l < 12; l++) {
        for (size_t i = 0; i < c.n; i++) {
            if (c.samples[l][i] != want[(size_t)l * c.n + i])
                ck_abort_msg("lead %d sample %zu: stream %d, replay %d", l, i, c.samples[l][i],
                             want[(size_t)l * c.n + i]);
            nonzero += c.samples[l][i] != 0;
        }
        /* The loop restarts at the record's first sample. */
        ck_assert_int_eq(c.samples[l][pass], c.samples[l][0]);
    }
    ck_assert_uint_gt(nonzero, c.n * 12 / 2); /* real signal, not silence */
    /* One numerics message per second, all in time. */
    ck_assert_int_eq(c.n_num_msgs, (int)((now - T0) / 1000));

    vitals_stream_stats_t st;
    vitals_stream_get_stats(s, &st);
    ck_assert_uint_eq(st.ecg_frames, c.frames);
    ck_assert_uint_eq(st.ecg_samples, c.n);
    ck_assert_uint_eq(st.skipped, 0);
    free(want);
    collected_free(&c);
    wfdb_replay_free(ref);
    wfdb_record_free(rec);
    vitals_stream_free(s);
}
END_TEST

START_TEST(test_record_missing)
{
    vitals_stream_t *s = NULL;
    char err[256];
    ck_assert_int_eq(vitals_stream_new_wfdb(NULL, "/nonexistent/rec", 1, T0, &s, err, sizeof err),
                     GL_ENOENT);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/rec.hea"));
    ck_assert_int_eq(vitals_stream_new_wfdb(NULL, "", 1, T0, &s, err, sizeof err), GL_EINVAL);
}
END_TEST

/* ---- Numerics --------------------------------------------------------------------------- */

START_TEST(test_numerics_times_and_ranges)
{
    vitals_gen_params_t gp;
    vitals_gen_params_default(&gp);
    gp.seed = 42;
    vitals_stream_t *s;
    ck_assert_int_eq(vitals_stream_new_gen(NULL, &gp, T0, &s), 0);
    struct collected c;
    collected_init(&c, T0);
    /* Ten minutes and a bit, polled every 250 ms. */
    for (int64_t now = T0; now <= T0 + 601000; now += 250) {
        c.now = now;
        vitals_stream_poll(s, now, sink_of(&c));
    }
    ck_assert_int_eq(c.n_num_msgs, 601);
    ck_assert_int_eq(c.n_num_codes, 8); /* the first message carries every numeric */
    /* NIBP: at the first message, then once per five-minute cuff cycle. */
    ck_assert_int_eq(c.nibp_count, 3);
    ck_assert_int_eq(c.nibp_times[0], T0 + 1000);
    ck_assert_int_eq(c.nibp_times[1] - c.nibp_times[0], 300000);
    ck_assert_int_eq(c.nibp_times[2] - c.nibp_times[1], 300000);
    /* HR is measured every second: its last time is the last message's. */
    int hr = -1;
    for (int k = 0; k < 8; k++)
        if (c.num_codes[k] == 147842)
            hr = k;
    ck_assert_int_ge(hr, 0);
    ck_assert_int_eq(c.last_num_ms[hr], T0 + 601000);
    collected_free(&c);
    vitals_stream_free(s);
}
END_TEST

/* ---- Clock ------------------------------------------------------------------------------ */

START_TEST(test_clock_pacing)
{
    vitals_gen_params_t gp;
    vitals_gen_params_default(&gp);
    gp.st_territory = VITALS_ST_ANTERIOR;
    gp.st_uv = 250;
    vitals_stream_t *s;
    ck_assert_int_eq(vitals_stream_new_gen(NULL, &gp, T0, &s), 0);
    ck_assert_int_eq(vitals_stream_lead_count(s), 12);
    struct collected c;
    collected_init(&c, T0);
    c.now = T0 + 99;
    ck_assert_int_eq(vitals_stream_poll(s, T0 + 99, sink_of(&c)), 0); /* frame 0 not complete */
    c.now = T0 + 100;
    ck_assert_int_eq(vitals_stream_poll(s, T0 + 100, sink_of(&c)), 1);
    ck_assert_uint_eq(c.frames, 1);
    ck_assert_str_eq(c.incident, ""); /* no incident set */
    ck_assert_str_eq(c.names[6], "V1");
    ck_assert_uint_eq(c.codes[6], 131331);
    c.now = T0 + 50;
    ck_assert_int_eq(vitals_stream_poll(s, T0 + 50, sink_of(&c)), 0); /* clock went back */
    c.now = T0 + 1000;
    ck_assert_int_eq(vitals_stream_poll(s, T0 + 1000, sink_of(&c)), 10); /* 9 frames + numerics */
    ck_assert_uint_eq(c.frames, 10);
    ck_assert_int_eq(c.n_num_msgs, 1);

    /* A jump of a minute: no burst of 590 frames; the index jumps and the skip is counted. */
    int64_t later = T0 + 61000;
    int n = vitals_stream_poll(s, later, NULL);
    ck_assert_int_le(n, 2);
    vitals_stream_stats_t st;
    vitals_stream_get_stats(s, &st);
    ck_assert_uint_eq(st.skipped, (uint64_t)(609 - 10) * 50); /* frames 10..608 skipped */
    ck_assert_uint_eq(st.ecg_frames, 11);                     /* frame 609 went out */
    collected_free(&c);
    vitals_stream_free(s);
}
END_TEST

START_TEST(test_clock_catch_up_bounded)
{
    vitals_stream_config_t cfg;
    vitals_stream_config_default(&cfg);
    cfg.max_frames_per_poll = 20;
    vitals_gen_params_t gp;
    vitals_gen_params_default(&gp);
    vitals_stream_t *s;
    ck_assert_int_eq(vitals_stream_new_gen(&cfg, &gp, T0, &s), 0);
    struct collected c;
    collected_init(&c, T0);
    ck_assert_int_eq(vitals_stream_set_incident(s, "INC-9"), 0);
    c.now = T0 + 5000; /* 50 frames due, within max_lag: no skip, but 20 per poll */
    ck_assert_int_eq(vitals_stream_poll(s, c.now, sink_of(&c)), 20 + 2);
    ck_assert_int_eq(vitals_stream_poll(s, c.now, sink_of(&c)), 20 + 2);
    ck_assert_int_eq(vitals_stream_poll(s, c.now, sink_of(&c)), 10 + 1);
    ck_assert_int_eq(vitals_stream_poll(s, c.now, sink_of(&c)), 0);
    ck_assert_uint_eq(c.frames, 50); /* indices checked continuous by on_ecg */
    ck_assert_int_eq(c.n_num_msgs, 5);
    ck_assert_str_eq(c.incident, "INC-9");
    char longid[64];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    ck_assert_int_eq(vitals_stream_set_incident(s, longid), GL_EINVAL);
    collected_free(&c);
    vitals_stream_free(s);
}
END_TEST

/* ---- Coding ----------------------------------------------------------------------------- */

START_TEST(test_coding_round_trip)
{
    const int16_t in[2][5] = {{0, 32767, -32768, 32767, 5}, {-7, -7, -6, 100, -100}};
    int32_t d[10];
    int16_t out[10];
    vitals_ecg_encode(&in[0][0], 2, 5, d);
    ck_assert_int_eq(d[0], 0);
    ck_assert_int_eq(d[2], -65535);
    ck_assert_int_eq(d[5], -7); /* each lead starts with its own first sample */
    ck_assert_int_eq(d[6], 0);
    ck_assert_int_eq(vitals_ecg_decode(d, 2, 5, out), 0);
    ck_assert_mem_eq(out, &in[0][0], sizeof out);
    d[1] = 32768; /* 0 + 32768 leaves int16 */
    ck_assert_int_eq(vitals_ecg_decode(d, 2, 5, out), GL_ERANGE);
}
END_TEST

START_TEST(test_bad_config)
{
    vitals_stream_config_t cfg;
    vitals_gen_params_t gp;
    vitals_gen_params_default(&gp);
    vitals_stream_t *s = NULL;
    vitals_stream_config_default(&cfg);
    cfg.fs = 333; /* 33.3 samples per 100 ms frame */
    ck_assert_int_eq(vitals_stream_new_gen(&cfg, &gp, T0, &s), GL_EINVAL);
    vitals_stream_config_default(&cfg);
    cfg.uv_per_lsb = 0;
    ck_assert_int_eq(vitals_stream_new_gen(&cfg, &gp, T0, &s), GL_EINVAL);
    ck_assert_int_eq(vitals_stream_new_gen(NULL, NULL, T0, &s), GL_EINVAL);
    ck_assert_ptr_null(s);
}
END_TEST

/* ---- Fleet ------------------------------------------------------------------------------ */

static sim_vitals_t seen_at[8]; /* the source right after each status */
static int n_seen;

static void on_sim_status(sim_unit_t *u, unit_status_t st, const char *incident_id, void *ctx)
{
    if (n_seen < 8)
        seen_at[n_seen++] = fleet_sim_vitals_source(u);
}

static void run_job(const char *complaint, sim_vitals_t want)
{
    fleet_sim_params_t p = {36.0, 60, 60, 0, 1};
    fleet_sim_t *sim = fleet_sim_new(&p, on_sim_status, NULL);
    ck_assert_ptr_nonnull(sim);
    sim_unit_spec_t spec = {0};
    snprintf(spec.id, sizeof spec.id, "U1");
    spec.lat = 26.267;
    spec.lon = 116.654;
    memcpy(spec.kind, "ALS", 4);
    sim_unit_t *u;
    ck_assert_int_eq(fleet_sim_add_unit(sim, &spec, &u), 0);
    n_seen = 0;
    ck_assert_int_eq(fleet_sim_assign(sim, u, "INC-1", 26.270, 116.654), 0);
    snprintf(u->complaint, sizeof u->complaint, "%s", complaint); /* as goldline-fleet does */
    for (int i = 0; i < 3600 && n_seen < 6; i++)
        fleet_sim_advance(sim, 1.0);
    /* en_route, on_scene, transporting, at_hospital, returning, available */
    ck_assert_int_eq(n_seen, 6);
    const sim_vitals_t expect[6] = {SIM_VITALS_NONE, want, want,
                                    SIM_VITALS_NONE, SIM_VITALS_NONE, SIM_VITALS_NONE};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(seen_at[i], expect[i]);
    ck_assert_str_eq(u->complaint, ""); /* parked: the job is over */
    fleet_sim_free(sim);
}

START_TEST(test_fleet_sources)
{
    run_job("chest_pain", SIM_VITALS_RECORD);
    run_job("stroke", SIM_VITALS_GEN);
    run_job("", SIM_VITALS_GEN);
}
END_TEST

static Suite *vitals_stream_suite(void)
{
    Suite *s = suite_create("vitals_stream");
    TCase *rec = tcase_create("Record");
    tcase_add_test(rec, test_record_frames_join_bit_exact);
    tcase_add_test(rec, test_record_missing);
    tcase_set_timeout(rec, 120);
    suite_add_tcase(s, rec);
    TCase *num = tcase_create("Numerics");
    tcase_add_test(num, test_numerics_times_and_ranges);
    tcase_set_timeout(num, 120);
    suite_add_tcase(s, num);
    TCase *clk = tcase_create("Clock");
    tcase_add_test(clk, test_clock_pacing);
    tcase_add_test(clk, test_clock_catch_up_bounded);
    tcase_set_timeout(clk, 60);
    suite_add_tcase(s, clk);
    TCase *cod = tcase_create("Coding");
    tcase_add_test(cod, test_coding_round_trip);
    tcase_add_test(cod, test_bad_config);
    suite_add_tcase(s, cod);
    TCase *fleet = tcase_create("Fleet");
    tcase_add_test(fleet, test_fleet_sources);
    suite_add_tcase(s, fleet);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(vitals_stream_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
