/*
 * A physiological generator for load and demos: vital-sign numerics that wander like a monitored
 * patient's, and a synthetic 12-lead ECG whose rhythm follows the generated heart rate, with
 * optional ST elevation in one coronary territory. Deterministic: the same seed and the same
 * sequence of calls give the same output, bit for bit.
 *
 * Numerics. Each parameter is a mean-reverting random walk (Ornstein-Uhlenbeck, time constant
 * two minutes) around the patient's baseline, clamped to a physiological range (HR 30-220 /min,
 * SpO2 70-100 %, NIBP systolic 60-250 and diastolic 30-150 mmHg with diastolic at least 15 below
 * systolic, RR 4-60 /min, EtCO2 10-80 mmHg, temperature 34-42 degC). HR, SpO2, RR and EtCO2 are
 * "measured" at every step; NIBP only every nibp_period_ms (a cuff cycle; the mean is
 * diastolic + (systolic - diastolic) / 3) and temperature every 60 s, so each numeric carries the
 * time of its own last measurement, as a monitor reports them.
 *
 * ECG. Each beat is a sum of Gaussian waves (P, Q, R, S, T; the approach of McSharry et al.,
 * IEEE TBME 50(3), 2003, here with fixed per-lead amplitudes of a normal adult 12-lead). Leads I
 * and II are synthesised; III, aVR, aVL and aVF are derived from them by Einthoven's and
 * Goldberger's relations, so the limb leads are consistent with each other. V1-V6 have their own
 * amplitudes. The RR interval is 60 / HR with 3 % beat-to-beat variability; the T wave moves
 * with sqrt(RR) (Bazett). ST elevation adds a plateau from the J point (45 ms after the R peak)
 * into the T wave; in the limb leads it is a vector in the frontal plane (inferior: +90 deg,
 * giving elevation in II, III, aVF and reciprocal depression in aVL; lateral: -30 deg), in the
 * precordial leads a per-lead fraction (anterior: V2-V3 full, V1 and V4 partial). Optional white
 * noise and a respiratory baseline wander make it look recorded.
 */
#ifndef GL_VITALS_GEN_H
#define GL_VITALS_GEN_H

#include <stddef.h>
#include <stdint.h>

/* The numerics, in the order vitals_gen_step() reports them. */
enum vitals_param {
    VITALS_HR = 0,
    VITALS_SPO2,
    VITALS_NIBP_SYS,
    VITALS_NIBP_DIA,
    VITALS_NIBP_MEAN,
    VITALS_RR,
    VITALS_ETCO2,
    VITALS_TEMP,
    VITALS_COUNT
};

/* The 12 leads of vitals_gen_ecg(), in the standard order. */
enum { VITALS_ECG_LEADS = 12 };

enum vitals_st_territory {
    VITALS_ST_NONE = 0,
    VITALS_ST_INFERIOR, /* II, III, aVF (reciprocal aVL, I) */
    VITALS_ST_ANTERIOR, /* V1-V4 */
    VITALS_ST_LATERAL,  /* I, aVL, V5, V6 */
};

typedef struct vitals_gen_params {
    uint64_t seed;
    double hr_bpm; /* baselines the walks return to (clamped to the ranges above) */
    double spo2_pct;
    double sys_mmhg;
    double dia_mmhg;
    double rr_per_min;
    double etco2_mmhg;
    double temp_c;
    int64_t nibp_period_ms; /* cuff cycle, e.g. 300000 (5 min) */
    enum vitals_st_territory st_territory;
    double st_uv;     /* ST elevation at the J point + 60 ms, microvolts */
    double noise_uv;  /* white noise standard deviation, microvolts */
    double wander_uv; /* respiratory baseline wander amplitude, microvolts */
} vitals_gen_params_t;

/* One numeric as a monitor reports it. */
typedef struct vitals_numeric {
    uint32_t mdc_code;      /* ISO/IEEE 11073 code (research/clinical.md section 5.1) */
    uint32_t unit_code;     /* MDC_DIM_* */
    double value;           /* rounded as a monitor displays it */
    int64_t measured_at_ms; /* time of the measurement */
} vitals_numeric_t;

typedef struct vitals_gen vitals_gen_t;

/* Fills *p with a normal adult at rest: HR 75, SpO2 98, 120/80, RR 14, EtCO2 38, 36.8 degC,
 * NIBP every 5 min, no ST elevation, 8 uV of noise and 30 uV of wander; seed 1. */
void vitals_gen_params_default(vitals_gen_params_t *p);

/* Creates a generator whose clock starts at `start_ms` (numerics time) and sample 0 (ECG).
 * Returns NULL on allocation failure or a NULL `p`. Free with vitals_gen_free(). */
vitals_gen_t *vitals_gen_new(const vitals_gen_params_t *p, int64_t start_ms);

/* Frees a generator; NULL is a no-op. */
void vitals_gen_free(vitals_gen_t *g);

/*
 * Advances the numerics to `now_ms` (an earlier time than the last step is treated as no time
 * passing) and writes the VITALS_COUNT numerics, indexed by enum vitals_param, into `out`.
 */
void vitals_gen_step(vitals_gen_t *g, int64_t now_ms, vitals_numeric_t out[VITALS_COUNT]);

/*
 * Writes the next `n` samples of the 12 leads at `fs` Hz into `out`, lead after lead (lead 0's
 * n samples, then lead 1's: the EcgFrame order), as int16 values of `uv_per_lsb` microvolts,
 * rounded and saturated. The beat rate follows the HR of the last vitals_gen_step(). `fs` must
 * stay the same across calls of one generator. Returns the stream index of the first sample.
 */
uint64_t vitals_gen_ecg(vitals_gen_t *g, unsigned fs, double uv_per_lsb, size_t n, int16_t *out);

/* Lead names ("I" .. "V6") and their MDC_ECG_LEAD_* codes, in vitals_gen_ecg() order. */
extern const char *const vitals_ecg_lead_names[VITALS_ECG_LEADS];
extern const uint32_t vitals_ecg_lead_codes[VITALS_ECG_LEADS];

#endif
