/*
 * WFDB (PhysioNet) ECG records: header parsing, sample decoding, conversion to microvolts,
 * resampling, and a replay cursor that hands out fixed-rate int16 samples for EcgFrames.
 *
 * A record is a text header "<name>.hea" (header(5)) and one or more signal files (signal(5)).
 * The header's first non-comment line is the record line "name nsig [fs [nsamp ...]]"; then one
 * line per signal: "file format[+offset] [gain[(baseline)][/units] [adcres [adczero [initval
 * [checksum [blocksize [description]]]]]]]". Lines starting with '#' and blank lines may appear
 * anywhere (real headers have both, with CRLF or LF endings). Signals that name the same file
 * are consecutive and their samples interleaved in it, one frame after the other.
 *
 * Two storage formats are decoded, bit-exact: 16 (16-bit two's complement little-endian) and 212
 * (pairs of 12-bit two's complement samples in 3 bytes: s0 = b0 | (b1 & 0x0F) << 8,
 * s1 = b2 | (b1 & 0xF0) << 4). Anything else (other formats, multi-segment records, skew,
 * several samples per frame) is refused with a message naming the line, never guessed at.
 * Opening a record reads every sample and checks it against the header: a data file shorter
 * than the header's sample count is "truncated", and a signal whose first sample differs from
 * the header's initial value, or whose 16-bit sum differs from the header's checksum (compared
 * modulo 65536: some writers print it signed, some unsigned), is refused.
 *
 * Physical value: uV = (adc - baseline) / gain * scale, with gain in adu per unit (0 in the
 * header means the WFDB default 200), baseline the "(b)" of the gain field or else the ADC zero,
 * and scale 1000 for mV (the default unit), 1 for uV, 1e6 for V.
 *
 * Resampling (wfdb_resample) is band-limited interpolation: each output sample is a weighted
 * sum of the input samples around its instant, with a Blackman-windowed sinc kernel whose
 * cutoff is 0.45 x the lower of the two rates (0.9 x the lower Nyquist frequency, so that
 * downsampling 1000 -> 500 Hz filters out what would alias) and whose half-width is 16 periods
 * of the lower rate. The weights of each output sample are normalised to sum to 1 (DC and the
 * ECG baseline pass exactly); samples beyond the ends repeat the edge sample. Equal rates copy
 * the input unchanged. Accuracy, tested in tests/check_wfdb.c: a sine in the pass band (tested
 * up to 0.2 x the lower rate, e.g. 100 Hz between 1000 and 500 Hz) comes out within 0.1 % of its
 * amplitude away from the first and last 0.2 s; the cost is about 32 x (higher rate / lower
 * rate) multiply-adds per output sample.
 *
 * Nothing here logs: errors come back as GL_E* codes with a one-line explanation in the
 * caller's `err` buffer, and the caller logs it once with its own context.
 */
#ifndef GL_WFDB_H
#define GL_WFDB_H

#include <stddef.h>
#include <stdint.h>

#define WFDB_MAX_SIGNALS 32
#define WFDB_MAX_NAME 128 /* record names, file names */
#define WFDB_MAX_DESC 64  /* signal descriptions (lead names) */
/* Refuse records with more samples than this in total (about 128 MB of int16). */
#define WFDB_MAX_TOTAL_SAMPLES (64L * 1024 * 1024)

typedef struct wfdb_signal {
    char file_name[WFDB_MAX_NAME]; /* data file, relative to the header's directory */
    int format;                    /* 16 or 212 */
    long byte_offset;              /* bytes to skip at the start of the file ("16+24") */
    double gain;                   /* adu per physical unit; never 0 after parsing */
    int baseline;                  /* adu value of 0 physical units */
    char units[16];                /* "mV" unless the header says otherwise */
    double uv_scale;               /* microvolts per unit: 1000 (mV), 1 (uV), 1e6 (V), 0 other */
    int adc_res;                   /* bits; 0 if the header does not say */
    int adc_zero;
    int init_value; /* first sample, when has_init_value */
    int has_init_value;
    int checksum; /* 16-bit sum of all samples, when has_checksum */
    int has_checksum;
    char description[WFDB_MAX_DESC]; /* the lead name ("V1", "MLII"), may be empty */
} wfdb_signal_t;

typedef struct wfdb_header {
    char record_name[WFDB_MAX_NAME];
    int n_signals;
    double fs;      /* samples per second per signal (header default 250) */
    long n_samples; /* per signal; 0 when the header does not say (taken from the file size) */
    wfdb_signal_t sig[WFDB_MAX_SIGNALS];
} wfdb_header_t;

typedef struct wfdb_record wfdb_record_t;

/*
 * Parses header text (`len` bytes, need not be NUL-terminated) into *out.
 * Returns 0, or GL_EPROTO for anything malformed or unsupported, with a one-line reason
 * ("line 3: format 310 not supported (only 16 and 212)") written to `err` (may be NULL).
 */
int wfdb_header_parse(const char *text, size_t len, wfdb_header_t *out, char *err, size_t errlen);

/*
 * Opens the record whose header is at `hea_path` (e.g. ".../s0010_re.hea"), reads every sample
 * of every signal file into memory and checks them against the header (see the top comment).
 * On success *out is a new record the caller frees with wfdb_record_free().
 * Errors: GL_ENOENT (header or a data file missing), GL_EIO (read error), GL_EPROTO (bad header,
 * unsupported format, truncated data, initial value or checksum mismatch), GL_ERANGE (record
 * too large), GL_ENOMEM. `err` gets a one-line reason naming the file and the signal.
 */
int wfdb_record_open(const char *hea_path, wfdb_record_t **out, char *err, size_t errlen);

/* Frees a record; NULL is a no-op. */
void wfdb_record_free(wfdb_record_t *rec);

/* The parsed header of an open record (n_samples is filled in even if the header had none). */
const wfdb_header_t *wfdb_record_header(const wfdb_record_t *rec);

/* The raw ADC samples of signal `sig` (n_samples of them), borrowed from the record; NULL if
 * `sig` is out of range. */
const int16_t *wfdb_record_adc(const wfdb_record_t *rec, int sig);

/* Sample `i` of signal `sig` in microvolts (see the top comment). The arguments must be in
 * range and the signal's units a voltage (uv_scale > 0). */
double wfdb_record_uv(const wfdb_record_t *rec, int sig, long i);

/* Number of output samples wfdb_resample() produces for n_in input samples: the output
 * instants k / fs_out that fall within the input's span [0, (n_in - 1) / fs_in]. */
size_t wfdb_resample_len(size_t n_in, double fs_in, double fs_out);

/*
 * Resamples `in` (n_in samples at fs_in) to fs_out into `out`, which must hold
 * wfdb_resample_len(n_in, fs_in, fs_out) values (see the top comment for the method).
 * Returns the number of samples written, or GL_EINVAL for rates <= 0 or n_in == 0.
 */
long wfdb_resample(const double *in, size_t n_in, double fs_in, double fs_out, double *out);

/* The ISO/IEEE 11073 MDC_ECG_LEAD_* code of a lead name, case-insensitive ("I", "ii", "aVR",
 * "V1".."V6", "MLII" -> lead II); 0 for a name without a code (Frank leads, "V5" of a Holter is
 * still 131335). */
uint32_t wfdb_lead_mdc_code(const char *name);

/* ---- replay --------------------------------------------------------------------------- */

typedef struct wfdb_replay wfdb_replay_t;

/*
 * Prepares signals `sigs[0..n_sigs-1]` of `rec` for replay at `fs_out` Hz as int16 values of
 * `uv_per_lsb` microvolts (each signal converted to uV, resampled, divided and rounded to the
 * nearest, saturating at the int16 range). The record may be freed afterwards.
 * Returns 0 with a new replay in *out (free with wfdb_replay_free), GL_EINVAL (bad signal index,
 * non-voltage signal, rate or scale <= 0), GL_ENOMEM.
 */
int wfdb_replay_new(const wfdb_record_t *rec, const int *sigs, int n_sigs, unsigned fs_out,
                    double uv_per_lsb, wfdb_replay_t **out);

/* Frees a replay; NULL is a no-op. */
void wfdb_replay_free(wfdb_replay_t *r);

/* Samples per lead of one pass of the record at the output rate. */
size_t wfdb_replay_length(const wfdb_replay_t *r);

/*
 * Copies the next `n` samples of every lead into `out`, lead after lead (lead 0's n samples,
 * then lead 1's, ...: the EcgFrame order), and advances; at the end of the record it starts
 * over from the beginning (a continuous loop). Returns the stream index of the first sample
 * copied (0 for the first call; it keeps counting across loops).
 */
uint64_t wfdb_replay_read(wfdb_replay_t *r, size_t n, int16_t *out);

#endif
