/*
 * Unit tests of vehicle/vitals_gen.c, the physiological generator.
 *
 * "Numerics": hours of simulated trends with normal and extreme baselines stay in the stated
 * physiological ranges, NIBP and temperature keep the time of their own measurement, the codes
 * are the IEEE 11073 ones. "Reproducible": one seed, one output; another seed, another output.
 * "ECG": R peaks found in the generated lead II come at the generated heart rate; ST elevation
 * measured as a cardiologist would (J point + 60 ms against the PR segment) shows up in the
 * leads of the chosen territory, with reciprocal depression, and is absent without it; and a
 * 100 ms 12-lead frame at 500 Hz, delta coded into an EcgFrame, packs below the raw int16 size.
 */
#include "vitals_gen.h"

#include "goldline.pb-c.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1795564800000LL

START_TEST(test_numerics_in_range)
{
    /* A normal adult, and baselines pushed past every limit in both directions. */
    vitals_gen_params_t ps[3];
    vitals_gen_params_default(&ps[0]);
    vitals_gen_params_default(&ps[1]);
    ps[1].seed = 7;
    ps[1].hr_bpm = 400;
    ps[1].spo2_pct = 120;
    ps[1].sys_mmhg = 300;
    ps[1].dia_mmhg = 290;
    ps[1].rr_per_min = 90;
    ps[1].etco2_mmhg = 100;
    ps[1].temp_c = 45;
    vitals_gen_params_default(&ps[2]);
    ps[2].seed = 99;
    ps[2].hr_bpm = 0;
    ps[2].spo2_pct = 10;
    ps[2].sys_mmhg = 10;
    ps[2].dia_mmhg = 5;
    ps[2].rr_per_min = 0;
    ps[2].etco2_mmhg = 0;
    ps[2].temp_c = 20;
    static const double lo[VITALS_COUNT] = {30, 70, 60, 30, 30, 4, 10, 34};
    static const double hi[VITALS_COUNT] = {220, 100, 250, 150, 183, 60, 80, 42};
    for (int k = 0; k < 3; k++) {
        vitals_gen_t *g = vitals_gen_new(&ps[k], T0);
        ck_assert_ptr_nonnull(g);
        double min_hr = 1e9, max_hr = -1e9;
        for (int s = 0; s <= 2 * 3600; s++) {
            int64_t now = T0 + s * 1000LL;
            vitals_numeric_t v[VITALS_COUNT];
            vitals_gen_step(g, now, v);
            for (int i = 0; i < VITALS_COUNT; i++) {
                ck_assert_msg(v[i].value >= lo[i] && v[i].value <= hi[i],
                              "set %d param %d = %g at %d s", k, i, v[i].value, s);
                ck_assert_int_le(v[i].measured_at_ms, now);
            }
            ck_assert_double_le(v[VITALS_NIBP_DIA].value, v[VITALS_NIBP_SYS].value - 15);
            ck_assert(v[VITALS_NIBP_MEAN].value >= v[VITALS_NIBP_DIA].value &&
                      v[VITALS_NIBP_MEAN].value <= v[VITALS_NIBP_SYS].value);
            /* Continuous ones are measured now; NIBP on 5-min cycles, temperature each minute. */
            ck_assert_int_eq(v[VITALS_HR].measured_at_ms, now);
            ck_assert_int_eq(v[VITALS_NIBP_SYS].measured_at_ms, T0 + (s / 300) * 300000LL);
            ck_assert_int_eq(v[VITALS_TEMP].measured_at_ms, T0 + (s / 60) * 60000LL);
            min_hr = fmin(min_hr, v[VITALS_HR].value);
            max_hr = fmax(max_hr, v[VITALS_HR].value);
        }
        /* It is a trend, not a constant: the normal patient's HR moves over two hours. */
        if (k == 0)
            ck_assert_msg(max_hr - min_hr >= 5 && max_hr - min_hr <= 40, "HR %g..%g", min_hr,
                          max_hr);
        vitals_gen_free(g);
    }
    vitals_gen_free(NULL);
    ck_assert_ptr_null(vitals_gen_new(NULL, 0));
}
END_TEST

START_TEST(test_numerics_codes_and_clock)
{
    vitals_gen_params_t p;
    vitals_gen_params_default(&p);
    vitals_gen_t *g = vitals_gen_new(&p, T0);
    vitals_numeric_t v[VITALS_COUNT];
    vitals_gen_step(g, T0, v);
    static const uint32_t codes[VITALS_COUNT] = {147842, 150456, 150021, 150022,
                                                 150023, 151562, 151708, 150364};
    for (int i = 0; i < VITALS_COUNT; i++)
        ck_assert_uint_eq(v[i].mdc_code, codes[i]);
    ck_assert_uint_eq(v[VITALS_TEMP].unit_code, 268192);
    ck_assert_uint_eq(v[VITALS_NIBP_SYS].unit_code, 266016);
    /* At the start the values are the baselines. */
    ck_assert(v[VITALS_HR].value == 75 && v[VITALS_NIBP_SYS].value == 120);
    ck_assert(v[VITALS_NIBP_MEAN].value == 93); /* 80 + 40 / 3, rounded */
    /* A step back in time changes nothing. */
    vitals_numeric_t w[VITALS_COUNT];
    vitals_gen_step(g, T0 - 5000, w);
    ck_assert_mem_eq(v, w, sizeof v);
    vitals_gen_free(g);
}
END_TEST

START_TEST(test_reproducible)
{
    vitals_gen_params_t p;
    vitals_gen_params_default(&p);
    p.seed = 42;
    p.st_territory = VITALS_ST_ANTERIOR;
    p.st_uv = 250;
    vitals_gen_t *a = vitals_gen_new(&p, T0), *b = vitals_gen_new(&p, T0);
    p.seed = 43;
    vitals_gen_t *c = vitals_gen_new(&p, T0);
    int16_t ea[12 * 250], eb[12 * 250], ec[12 * 250];
    int differ = 0;
    for (int s = 1; s <= 60; s++) {
        vitals_numeric_t va[VITALS_COUNT], vb[VITALS_COUNT], vc[VITALS_COUNT];
        vitals_gen_step(a, T0 + s * 1000LL, va);
        vitals_gen_step(b, T0 + s * 1000LL, vb);
        vitals_gen_step(c, T0 + s * 1000LL, vc);
        ck_assert_mem_eq(va, vb, sizeof va);
        differ |= memcmp(va, vc, sizeof va) != 0;
        ck_assert_uint_eq(vitals_gen_ecg(a, 500, 5.0, 250, ea), (uint64_t)(s - 1) * 250);
        vitals_gen_ecg(b, 500, 5.0, 250, eb);
        vitals_gen_ecg(c, 500, 5.0, 250, ec);
        ck_assert_mem_eq(ea, eb, sizeof ea);
        differ |= memcmp(ea, ec, sizeof ea) != 0;
    }
    ck_assert_msg(differ, "seeds 42 and 43 gave the same output");
    vitals_gen_free(a);
    vitals_gen_free(b);
    vitals_gen_free(c);
}
END_TEST

/* ---- ECG measurements ------------------------------------------------------------------- */

enum { FS = 500, SECS = 30, N = FS * SECS };

/* Generates SECS seconds of 12-lead ECG at 1 uV per LSB with the given ST settings, with the
 * numerics stepped every second; returns the leads (lead-major, caller frees). */
static int16_t *generate(enum vitals_st_territory terr, double st_uv, double hr, uint64_t seed)
{
    vitals_gen_params_t p;
    vitals_gen_params_default(&p);
    p.seed = seed;
    p.hr_bpm = hr;
    p.st_territory = terr;
    p.st_uv = st_uv;
    vitals_gen_t *g = vitals_gen_new(&p, T0);
    int16_t *all = malloc(12 * N * sizeof *all), chunk[12 * FS];
    for (int s = 0; s < SECS; s++) {
        vitals_numeric_t v[VITALS_COUNT];
        vitals_gen_step(g, T0 + s * 1000LL, v);
        vitals_gen_ecg(g, FS, 1.0, FS, chunk);
        for (int l = 0; l < 12; l++)
            memcpy(all + l * N + s * FS, chunk + l * FS, FS * sizeof *all);
    }
    vitals_gen_free(g);
    return all;
}

/* R peaks of lead II: local maxima above half the lead's maximum, at least 250 ms apart. */
static int find_r_peaks(const int16_t *ii, int *peaks, int max)
{
    int top = 0;
    for (int i = 0; i < N; i++)
        top = ii[i] > top ? ii[i] : top;
    int n = 0, last = -FS;
    for (int i = 1; i < N - 1 && n < max; i++) {
        if (ii[i] > top / 2 && ii[i] >= ii[i - 1] && ii[i] > ii[i + 1] && i - last > FS / 4) {
            peaks[n++] = i;
            last = i;
        }
    }
    return n;
}

/* Mean ST deviation of one lead: the value at J + 60 ms (R + 105 ms) minus the PR segment
 * (R - 80 ms), averaged over the beats, each point averaged over 10 ms against noise. */
static double st_deviation(const int16_t *lead, const int *peaks, int n)
{
    double acc = 0;
    int used = 0;
    for (int b = 0; b < n; b++) {
        int st = peaks[b] + FS * 105 / 1000, pr = peaks[b] - FS * 80 / 1000;
        if (pr < 3 || st + 3 >= N)
            continue;
        double a = 0, z = 0;
        for (int k = -2; k <= 2; k++) {
            a += lead[st + k];
            z += lead[pr + k];
        }
        acc += (a - z) / 5;
        used++;
    }
    ck_assert_int_gt(used, 10);
    return acc / used;
}

START_TEST(test_ecg_rate_follows_hr)
{
    static const double rates[] = {60, 75, 140};
    for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++) {
        int16_t *e = generate(VITALS_ST_NONE, 0, rates[k], 5);
        int peaks[512];
        int n = find_r_peaks(e + 1 * N, peaks, 512);
        ck_assert_int_gt(n, 10);
        double mean_rr = (double)(peaks[n - 1] - peaks[0]) / (n - 1) / FS;
        double bpm = 60 / mean_rr;
        /* The HR numeric wanders (sd 4 /min over minutes) and RR has 3 % jitter. */
        ck_assert_msg(fabs(bpm - rates[k]) < 0.08 * rates[k], "HR %g: ECG rate %g", rates[k], bpm);
        free(e);
    }
}
END_TEST

START_TEST(test_ecg_st_elevation_measurable)
{
    /* Leads: 0 I, 1 II, 2 III, 3 aVR, 4 aVL, 5 aVF, 6 V1 .. 11 V6. */
    int16_t *normal = generate(VITALS_ST_NONE, 0, 75, 11);
    int peaks[512];
    int n = find_r_peaks(normal + 1 * N, peaks, 512);
    for (int l = 0; l < 12; l++) {
        double d = st_deviation(normal + l * N, peaks, n);
        ck_assert_msg(fabs(d) < 30, "no ST set, lead %s deviates %.1f uV", vitals_ecg_lead_names[l],
                      d);
    }
    free(normal);

    /* Inferior, 200 uV (2 mm): II, III, aVF >= 1 mm (the STEMI criterion), aVL depressed. */
    int16_t *inf = generate(VITALS_ST_INFERIOR, 200, 75, 12);
    n = find_r_peaks(inf + 1 * N, peaks, 512);
    double st[12];
    for (int l = 0; l < 12; l++)
        st[l] = st_deviation(inf + l * N, peaks, n);
    ck_assert_double_gt(st[1], 100);
    ck_assert_double_gt(st[2], 100);
    ck_assert_double_gt(st[5], 150);
    ck_assert_double_lt(fabs(st[5] - 200), 30); /* aVF is on the ST vector */
    ck_assert_double_lt(st[4], -50);            /* reciprocal depression in aVL */
    for (int l = 6; l < 12; l++)
        ck_assert_double_lt(fabs(st[l]), 30);
    free(inf);

    /* Anterior, 250 uV: V2 and V3 elevated by it, V6 not. */
    int16_t *ant = generate(VITALS_ST_ANTERIOR, 250, 75, 13);
    n = find_r_peaks(ant + 1 * N, peaks, 512);
    ck_assert_double_lt(fabs(st_deviation(ant + 7 * N, peaks, n) - 250), 30);
    ck_assert_double_lt(fabs(st_deviation(ant + 8 * N, peaks, n) - 250), 30);
    ck_assert_double_lt(fabs(st_deviation(ant + 11 * N, peaks, n)), 30);
    free(ant);
}
END_TEST

/* The EcgFrame layout of proto/goldline.proto on generated data: a 100 ms 12-lead frame at
 * 500 Hz and 5 uV per LSB (a common monitor scale) packs below the 1200 bytes of raw int16. */
START_TEST(test_ecg_frame_compact)
{
    vitals_gen_params_t p;
    vitals_gen_params_default(&p);
    vitals_gen_t *g = vitals_gen_new(&p, T0);
    enum { LEADS = 12, S = 50 };
    int16_t x[LEADS * S];
    int32_t deltas[LEADS * S];
    size_t worst = 0, total = 0;
    for (int f = 0; f < 100; f++) { /* 10 s: every phase of several beats */
        uint64_t idx = vitals_gen_ecg(g, 500, 5.0, S, x);
        for (int l = 0; l < LEADS; l++)
            for (int i = 0; i < S; i++)
                deltas[l * S + i] = i == 0 ? x[l * S] : x[l * S + i] - x[l * S + i - 1];
        Goldline__EcgFrame ecg = GOLDLINE__ECG_FRAME__INIT;
        ecg.n_lead_codes = LEADS;
        ecg.lead_codes = (uint32_t *)vitals_ecg_lead_codes;
        ecg.sample_rate_hz = 500;
        ecg.uv_per_lsb = 5.0f;
        ecg.first_sample_ms = T0 + (int64_t)idx * 2;
        ecg.samples_per_lead = S;
        ecg.n_samples = LEADS * S;
        ecg.samples = deltas;
        ecg.has_first_sample_index = 1;
        ecg.first_sample_index = idx;
        size_t len = goldline__ecg_frame__get_packed_size(&ecg);
        worst = len > worst ? len : worst;
        total += len;
        uint8_t buf[4096];
        ck_assert_uint_le(len, sizeof buf);
        ck_assert_uint_eq(goldline__ecg_frame__pack(&ecg, buf), len);
        Goldline__EcgFrame *got = goldline__ecg_frame__unpack(NULL, len, buf);
        ck_assert_ptr_nonnull(got);
        for (int l = 0; l < LEADS; l++) {
            int32_t acc = 0;
            for (int i = 0; i < S; i++) {
                acc += got->samples[l * S + i];
                ck_assert_int_eq(acc, x[l * S + i]);
            }
        }
        goldline__ecg_frame__free_unpacked(got, NULL);
    }
    printf("check_vitals_gen: 100 ms 12-lead 500 Hz EcgFrame: mean %zu, worst %zu bytes "
           "(raw int16: %d)\n",
           total / 100, worst, LEADS * S * 2);
    ck_assert_uint_lt(worst, LEADS * S * 2);
    vitals_gen_free(g);
}
END_TEST

static Suite *vitals_gen_suite(void)
{
    Suite *s = suite_create("vitals_gen");
    TCase *num = tcase_create("Numerics");
    tcase_add_test(num, test_numerics_in_range);
    tcase_add_test(num, test_numerics_codes_and_clock);
    tcase_set_timeout(num, 60);
    suite_add_tcase(s, num);
    TCase *rep = tcase_create("Reproducible");
    tcase_add_test(rep, test_reproducible);
    suite_add_tcase(s, rep);
    TCase *ecg = tcase_create("ECG");
    tcase_add_test(ecg, test_ecg_rate_follows_hr);
    tcase_add_test(ecg, test_ecg_st_elevation_measurable);
    tcase_add_test(ecg, test_ecg_frame_compact);
    tcase_set_timeout(ecg, 120);
    suite_add_tcase(s, ecg);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(vitals_gen_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
