/*
 * The physiological generator: mean-reverting walks for the numerics and a Gaussian-wave
 * 12-lead ECG with optional ST elevation. The model and its ranges are described in
 * vitals_gen.h; the numbers below are the textbook values of a normal adult ECG.
 */
#include "vitals_gen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TAU_S 120.0 /* time constant of the walks */
#define TEMP_PERIOD_MS 60000
#define MAX_BEATS 8

const char *const vitals_ecg_lead_names[VITALS_ECG_LEADS] = {"I",  "II", "III", "aVR", "aVL", "aVF",
                                                             "V1", "V2", "V3",  "V4",  "V5",  "V6"};
const uint32_t vitals_ecg_lead_codes[VITALS_ECG_LEADS] = {
    131329, 131330, 131389, 131390, 131391, 131392, 131331, 131332, 131333, 131334, 131335, 131336};

/* Per parameter: 11073 code, unit code, range, walk standard deviation (stationary), rounding. */
static const struct {
    uint32_t code, unit;
    double lo, hi, sd, step;
} params[VITALS_COUNT] = {
    [VITALS_HR] = {147842, 264864, 30, 220, 4.0, 1},
    [VITALS_SPO2] = {150456, 262688, 70, 100, 1.0, 1},
    [VITALS_NIBP_SYS] = {150021, 266016, 60, 250, 8.0, 1},
    [VITALS_NIBP_DIA] = {150022, 266016, 30, 150, 5.0, 1},
    [VITALS_NIBP_MEAN] = {150023, 266016, 30, 183, 0, 1},
    [VITALS_RR] = {151562, 264928, 4, 60, 2.0, 1},
    [VITALS_ETCO2] = {151708, 266016, 10, 80, 2.5, 1},
    [VITALS_TEMP] = {150364, 268192, 34, 42, 0.1, 0.1},
};

/* Wave amplitudes (uV) per synthesised lead: P, Q, R, S, T. Rows: I, II, V1..V6. */
static const double wave_amp[8][5] = {
    {100, -50, 700, -100, 200},  /* I */
    {150, -60, 1100, -200, 300}, /* II */
    {80, 0, 200, -900, 60},      /* V1 */
    {80, 0, 400, -1200, 500},    /* V2 */
    {80, -20, 800, -800, 500},   /* V3 */
    {80, -50, 1300, -400, 450},  /* V4 */
    {80, -80, 1200, -200, 350},  /* V5 */
    {80, -80, 900, -100, 250},   /* V6 */
};
/* Wave centres relative to the R peak (s; T is scaled by sqrt(RR)) and widths (s). */
static const double wave_at[5] = {-0.16, -0.025, 0, 0.025, 0.28};
static const double wave_sd[5] = {0.025, 0.010, 0.010, 0.010, 0.045};
#define J_POINT_S 0.045

struct vitals_gen {
    vitals_gen_params_t p;
    uint64_t rng;
    double mu[VITALS_COUNT]; /* baselines */
    double x[VITALS_COUNT];  /* current true values */
    vitals_numeric_t shown[VITALS_COUNT];
    int64_t now_ms;
    int64_t last_nibp_ms, last_temp_ms;
    int measured; /* a first step has happened */
    /* ECG */
    uint64_t sample;           /* next sample index */
    double beat_t[MAX_BEATS];  /* R peak times (s), ascending */
    double beat_rr[MAX_BEATS]; /* RR interval that preceded each beat */
    int n_beats;
    double st_lead[8]; /* ST elevation per synthesised lead, uV */
};

/* splitmix64: small, fast and good enough for simulation; fully determined by the seed. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s)
{
    return ((double)(next_u64(s) >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
}

static double gauss(uint64_t *s)
{
    double u = uniform(s), v = uniform(s);
    return sqrt(-2.0 * log(u)) * cos(2 * M_PI * v);
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static double round_to(double v, double step)
{
    return nearbyint(v / step) * step;
}

void vitals_gen_params_default(vitals_gen_params_t *p)
{
    memset(p, 0, sizeof *p);
    p->seed = 1;
    p->hr_bpm = 75;
    p->spo2_pct = 98;
    p->sys_mmhg = 120;
    p->dia_mmhg = 80;
    p->rr_per_min = 14;
    p->etco2_mmhg = 38;
    p->temp_c = 36.8;
    p->nibp_period_ms = 300000;
    p->st_territory = VITALS_ST_NONE;
    p->st_uv = 0;
    p->noise_uv = 8;
    p->wander_uv = 30;
}

/* Per-lead ST elevation for synthesised leads I, II and V1..V6 (the derived limb leads follow
 * from I and II). Limb leads: projection of a frontal-plane vector at `deg` on I (0 deg) and II
 * (+60 deg). */
static void st_setup(vitals_gen_t *g)
{
    static const double pre[4][6] = {
        {0, 0, 0, 0, 0, 0},
        {0, 0, 0, 0, 0, 0},           /* inferior */
        {0.6, 1.0, 1.0, 0.8, 0.3, 0}, /* anterior */
        {-0.3, 0, 0, 0.3, 0.8, 1.0},  /* lateral */
    };
    double e = g->p.st_uv, deg = 0, limb = 0;
    int t = g->p.st_territory;
    if (t < VITALS_ST_NONE || t > VITALS_ST_LATERAL)
        t = VITALS_ST_NONE;
    if (t == VITALS_ST_INFERIOR) {
        deg = 90;
        limb = 1;
    } else if (t == VITALS_ST_ANTERIOR) {
        deg = 0;
        limb = 0.2;
    } else if (t == VITALS_ST_LATERAL) {
        deg = -30;
        limb = 1;
    }
    double rad = deg * M_PI / 180;
    g->st_lead[0] = e * limb * cos(rad);
    g->st_lead[1] = e * limb * cos(rad - M_PI / 3);
    for (int v = 0; v < 6; v++)
        g->st_lead[2 + v] = e * pre[t][v];
}

vitals_gen_t *vitals_gen_new(const vitals_gen_params_t *p, int64_t start_ms)
{
    if (!p)
        return NULL;
    vitals_gen_t *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->p = *p;
    g->rng = p->seed;
    const double base[VITALS_COUNT] = {p->hr_bpm, p->spo2_pct,   p->sys_mmhg,   p->dia_mmhg,
                                       0,         p->rr_per_min, p->etco2_mmhg, p->temp_c};
    for (int i = 0; i < VITALS_COUNT; i++) {
        g->mu[i] = clamp(base[i], params[i].lo, params[i].hi);
        g->x[i] = g->mu[i];
        g->shown[i].mdc_code = params[i].code;
        g->shown[i].unit_code = params[i].unit;
    }
    if (g->p.nibp_period_ms <= 0)
        g->p.nibp_period_ms = 300000;
    g->now_ms = start_ms;
    st_setup(g);
    return g;
}

void vitals_gen_free(vitals_gen_t *g)
{
    free(g);
}

/* One exact Ornstein-Uhlenbeck update over dt seconds, stationary sd params[i].sd. */
static void walk(vitals_gen_t *g, int i, double dt)
{
    double a = exp(-dt / TAU_S);
    double sd = params[i].sd * sqrt(1 - a * a);
    g->x[i] = clamp(g->mu[i] + (g->x[i] - g->mu[i]) * a + sd * gauss(&g->rng), params[i].lo,
                    params[i].hi);
}

static void show(vitals_gen_t *g, int i, double v, int64_t at)
{
    g->shown[i].value = clamp(round_to(v, params[i].step), params[i].lo, params[i].hi);
    g->shown[i].measured_at_ms = at;
}

void vitals_gen_step(vitals_gen_t *g, int64_t now_ms, vitals_numeric_t out[VITALS_COUNT])
{
    double dt = now_ms > g->now_ms ? (double)(now_ms - g->now_ms) / 1000.0 : 0.0;
    if (now_ms > g->now_ms)
        g->now_ms = now_ms;
    now_ms = g->now_ms;
    if (dt > 0) {
        for (int i = 0; i < VITALS_COUNT; i++) {
            if (i != VITALS_NIBP_MEAN)
                walk(g, i, dt);
        }
    }
    /* Diastolic stays at least 15 below systolic whatever the walks did. */
    if (g->x[VITALS_NIBP_DIA] > g->x[VITALS_NIBP_SYS] - 15)
        g->x[VITALS_NIBP_DIA] = clamp(g->x[VITALS_NIBP_SYS] - 15, params[VITALS_NIBP_DIA].lo,
                                      params[VITALS_NIBP_DIA].hi);
    static const int continuous[] = {VITALS_HR, VITALS_SPO2, VITALS_RR, VITALS_ETCO2};
    for (size_t k = 0; k < sizeof continuous / sizeof continuous[0]; k++)
        show(g, continuous[k], g->x[continuous[k]], now_ms);
    if (!g->measured || now_ms - g->last_nibp_ms >= g->p.nibp_period_ms) {
        double sys = round_to(g->x[VITALS_NIBP_SYS], 1), dia = round_to(g->x[VITALS_NIBP_DIA], 1);
        show(g, VITALS_NIBP_SYS, sys, now_ms);
        show(g, VITALS_NIBP_DIA, dia, now_ms);
        show(g, VITALS_NIBP_MEAN, dia + (sys - dia) / 3, now_ms);
        g->last_nibp_ms = now_ms;
    }
    if (!g->measured || now_ms - g->last_temp_ms >= TEMP_PERIOD_MS) {
        show(g, VITALS_TEMP, g->x[VITALS_TEMP], now_ms);
        g->last_temp_ms = now_ms;
    }
    g->measured = 1;
    memcpy(out, g->shown, sizeof g->shown);
}

/* ---- ECG ------------------------------------------------------------------------------- */

/* Keeps beats covering [t - 0.8 s, t + 0.8 s]: drops old ones, schedules new ones at the
 * current heart rate with 3 % variability. */
static void schedule_beats(vitals_gen_t *g, double t)
{
    while (g->n_beats > 0 && g->beat_t[0] < t - 0.8) {
        memmove(g->beat_t, g->beat_t + 1, (size_t)(g->n_beats - 1) * sizeof g->beat_t[0]);
        memmove(g->beat_rr, g->beat_rr + 1, (size_t)(g->n_beats - 1) * sizeof g->beat_rr[0]);
        g->n_beats--;
    }
    while (g->n_beats == 0 || g->beat_t[g->n_beats - 1] < t + 0.8) {
        double rr = 60.0 / g->x[VITALS_HR] * (1 + 0.03 * clamp(gauss(&g->rng), -3, 3));
        double last = g->n_beats ? g->beat_t[g->n_beats - 1] : 0.3 - rr; /* first R at 0.3 s */
        if (g->n_beats == MAX_BEATS) /* cannot happen with RR >= 0.26 s; stay bounded anyway */
            break;
        g->beat_t[g->n_beats] = last + rr;
        g->beat_rr[g->n_beats] = rr;
        g->n_beats++;
    }
}

/* Smooth 0 -> 1 step over [a, b]. */
static double smoothstep(double x, double a, double b)
{
    if (x <= a)
        return 0;
    if (x >= b)
        return 1;
    double u = (x - a) / (b - a);
    return u * u * (3 - 2 * u);
}

/* The 8 synthesised leads (I, II, V1..V6) at time t, without noise. */
static void synth(const vitals_gen_t *g, double t, double v[8])
{
    memset(v, 0, 8 * sizeof v[0]);
    for (int b = 0; b < g->n_beats; b++) {
        double d = t - g->beat_t[b];
        if (d < -0.3 || d > 0.8)
            continue;
        double q = sqrt(g->beat_rr[b]);
        double shape[5];
        for (int w = 0; w < 5; w++) {
            double c = w == 4 ? wave_at[w] * q : wave_at[w];
            double s = w == 4 ? wave_sd[w] * q : wave_sd[w];
            shape[w] = exp(-(d - c) * (d - c) / (2 * s * s));
        }
        /* ST plateau: up at the J point, held, then down with the end of the T wave. */
        double t_end = (wave_at[4] + 2 * wave_sd[4]) * q;
        double st = smoothstep(d, J_POINT_S - 0.015, J_POINT_S + 0.005) *
                    (1 - smoothstep(d, wave_at[4] * q, t_end));
        for (int l = 0; l < 8; l++) {
            for (int w = 0; w < 5; w++)
                v[l] += wave_amp[l][w] * shape[w];
            v[l] += g->st_lead[l] * st;
        }
    }
}

uint64_t vitals_gen_ecg(vitals_gen_t *g, unsigned fs, double uv_per_lsb, size_t n, int16_t *out)
{
    uint64_t first = g->sample;
    double resp_hz = g->x[VITALS_RR] / 60.0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)(g->sample + i) / fs;
        schedule_beats(g, t);
        double s[8];
        synth(g, t, s);
        double wander = g->p.wander_uv * sin(2 * M_PI * resp_hz * t);
        double I = s[0], II = s[1];
        double lead[VITALS_ECG_LEADS] = {I,    II,   II - I, -(I + II) / 2, I - II / 2, II - I / 2,
                                         s[2], s[3], s[4],   s[5],          s[6],       s[7]};
        for (int l = 0; l < VITALS_ECG_LEADS; l++) {
            double uv = lead[l] + wander;
            if (g->p.noise_uv > 0)
                uv += g->p.noise_uv * gauss(&g->rng);
            double q = nearbyint(uv / uv_per_lsb);
            out[(size_t)l * n + i] = (int16_t)clamp(q, -32768, 32767);
        }
    }
    g->sample += n;
    return first;
}
