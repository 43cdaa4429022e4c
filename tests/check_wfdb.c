/*
 * Unit tests of vehicle/wfdb.c, the WFDB record reader, resampler and replay cursor.
 *
 * "Reference" opens the three real PhysioNet records in $GL_SHARED_DATA/ecg and compares the
 * decoded samples with the values in SOURCE.txt there (signal counts, rates, first ten samples
 * raw and in microvolts, per-signal minimum, maximum and 16-bit sum); it is skipped with a
 * message when the data is absent. "Header" parses hand-written headers with the quirks real
 * ones have; "Errors" feeds broken headers and data files written to a temporary directory;
 * "Resample" checks the stated accuracy on sines; "Replay" the frame cursor.
 */
#include "wfdb.h"

#include "err.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers --------------------------------------------------------------------------- */

static char tmpdir[256];

static void tmp_setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/check_wfdb.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

static void write_file(const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static const char *tmp_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static int parse(const char *text, wfdb_header_t *h, char *err)
{
    return wfdb_header_parse(text, strlen(text), h, err, 256);
}

/* ---- Reference: the real records of SOURCE.txt ---------------------------------------- */

struct ref_signal {
    const char *name;
    int sum16; /* our sum of all samples mod 65536, SOURCE.txt */
    int min, max;
};

struct ref_record {
    const char *hea;
    int n_signals;
    double fs;
    long n_samples;
    double gain;
    int baseline;
    int first[2][10];       /* first 10 raw ADC samples of signals 0 and 1 */
    double first_uv[2][10]; /* the same in microvolts */
    struct ref_signal sig[15];
};

static const struct ref_record refs[] = {
    {"s0010_re.hea",
     15,
     1000,
     38400,
     2000,
     0,
     {{-489, -485, -483, -482, -463, -452, -450, -469, -469, -447},
      {-458, -467, -469, -458, -454, -465, -473, -467, -466, -471}},
     {{-244.5, -242.5, -241.5, -241, -231.5, -226, -225, -234.5, -234.5, -223.5},
      {-229, -233.5, -234.5, -229, -227, -232.5, -236.5, -233.5, -233, -235.5}},
     {{"i", 57199, -1255, 1291},
      {"ii", 49167, -1369, 1101},
      {"iii", 6829, -1537, 1169},
      {"avr", 4582, -931, 1052},
      {"avl", 11687, -1034, 1211},
      {"avf", 48879, -1404, 966},
      {"v1", 53067, -932, 2491},
      {"v2", 5636, -1179, 2571},
      {"v3", 51237, -1909, 3623},
      {"v4", 47620, -1860, 2248},
      {"v5", 58868, -1256, 734},
      {"v6", 47991, -801, 488},
      {"vx", 52527, -830, 959},
      {"vy", 7109, -822, 639},
      {"vz", 63544, -617, 1229}}},
    {"00001_lr.hea",
     12,
     100,
     1000,
     1000,
     0,
     {{-119, -116, -120, -117, -103, -97, -119, -96, -48, -37},
      {-55, -51, -44, -38, -31, -25, -14, 8, 44, 45}},
     {{-119, -116, -120, -117, -103, -97, -119, -96, -48, -37},
      {-55, -51, -44, -38, -31, -25, -14, 8, 44, 45}},
     {{"I", 1508, -195, 706},
      {"II", 723, -140, 435},
      {"III", 64758, -312, 130},
      {"AVR", 64423, -559, 138},
      {"AVL", 1211, -155, 500},
      {"AVF", 7, -100, 172},
      {"V1", 63827, -704, 142},
      {"V2", 6999, -1377, 410},
      {"V3", 63759, -618, 620},
      {"V4", 61447, -315, 599},
      {"V5", 64979, -97, 530},
      {"V6", 832, -155, 602}}},
    {"100.hea",
     2,
     360,
     650000,
     200,
     1024,
     {{995, 995, 995, 995, 995, 995, 995, 995, 1000, 997},
      {1011, 1011, 1011, 1011, 1011, 1011, 1011, 1011, 1008, 1008}},
     {{-145, -145, -145, -145, -145, -145, -145, -145, -120, -135},
      {-65, -65, -65, -65, -65, -65, -65, -65, -80, -80}},
     {{"MLII", 43405, 481, 1311}, {"V5", 20052, 531, 1269}}},
};

static int have_ecg_data(void)
{
    struct stat st;
    if (stat(GL_SHARED_DATA "/ecg/SOURCE.txt", &st) == 0)
        return 1;
    printf(
        "check_wfdb: SKIPPED reference records: %s/ecg not found "
        "(the records and their reference values are described in ../shared/data/ecg/SOURCE.txt)\n",
        GL_SHARED_DATA);
    return 0;
}

START_TEST(test_reference_records_bit_exact)
{
    if (!have_ecg_data())
        return;
    const struct ref_record *r = &refs[_i];
    char path[512], err[256] = "";
    snprintf(path, sizeof path, "%s/ecg/%s", GL_SHARED_DATA, r->hea);
    wfdb_record_t *rec = NULL;
    int rc = wfdb_record_open(path, &rec, err, sizeof err);
    ck_assert_msg(rc == 0, "%s: %s", r->hea, err);
    const wfdb_header_t *h = wfdb_record_header(rec);
    ck_assert_int_eq(h->n_signals, r->n_signals);
    ck_assert(h->fs == r->fs);
    ck_assert_int_eq(h->n_samples, r->n_samples);
    for (int s = 0; s < r->n_signals; s++) {
        const wfdb_signal_t *sig = &h->sig[s];
        ck_assert_str_eq(sig->description, r->sig[s].name);
        ck_assert(sig->gain == r->gain);
        ck_assert_int_eq(sig->baseline, r->baseline);
        ck_assert(sig->uv_scale == 1000.0);
        const int16_t *a = wfdb_record_adc(rec, s);
        ck_assert_ptr_nonnull(a);
        uint32_t sum = 0;
        int mn = a[0], mx = a[0];
        for (long i = 0; i < h->n_samples; i++) {
            sum += (uint32_t)(int32_t)a[i];
            mn = a[i] < mn ? a[i] : mn;
            mx = a[i] > mx ? a[i] : mx;
        }
        ck_assert_msg((int)(sum & 0xFFFF) == r->sig[s].sum16, "%s signal %d sum %u", r->hea, s,
                      sum & 0xFFFF);
        ck_assert_int_eq(mn, r->sig[s].min);
        ck_assert_int_eq(mx, r->sig[s].max);
    }
    for (int s = 0; s < 2; s++) {
        const int16_t *a = wfdb_record_adc(rec, s);
        for (int i = 0; i < 10; i++) {
            ck_assert_int_eq(a[i], r->first[s][i]);
            ck_assert(wfdb_record_uv(rec, s, i) == r->first_uv[s][i]);
        }
    }
    ck_assert_ptr_null(wfdb_record_adc(rec, r->n_signals));
    wfdb_record_free(rec);
}
END_TEST

/* The MI record replayed at 500 Hz: 38.4 s at 1000 Hz gives 19200 samples per lead, and the
 * resampled lead I stays within the record's range and follows the original closely. */
START_TEST(test_reference_mi_replay_500hz)
{
    if (!have_ecg_data())
        return;
    char err[256] = "";
    wfdb_record_t *rec = NULL;
    ck_assert_int_eq(wfdb_record_open(GL_SHARED_DATA "/ecg/s0010_re.hea", &rec, err, sizeof err),
                     0);
    int sigs[12];
    for (int i = 0; i < 12; i++)
        sigs[i] = i;
    wfdb_replay_t *rp = NULL;
    ck_assert_int_eq(wfdb_replay_new(rec, sigs, 12, 500, 1.0, &rp), 0);
    ck_assert_uint_eq(wfdb_replay_length(rp), 19200);
    int16_t *buf = malloc(12 * 19200 * sizeof *buf);
    ck_assert_uint_eq(wfdb_replay_read(rp, 19200, buf), 0);
    /* Lead I at 1 uV per LSB against the original every other sample: the record's content is
     * mostly below the 225 Hz cutoff, so the low-passed value differs little (tolerance 5 % of
     * the lead's range of 1273 uV; measured 41 uV). */
    double worst = 0;
    for (size_t k = 100; k < 19100; k++) {
        double d = fabs(buf[k] - wfdb_record_uv(rec, 0, (long)(2 * k)));
        worst = d > worst ? d : worst;
    }
    ck_assert_msg(worst < 0.05 * (1291 + 1255) * 0.5, "worst deviation %.1f uV", worst);
    ck_assert_uint_eq(wfdb_lead_mdc_code(wfdb_record_header(rec)->sig[9].description), 131334);
    free(buf);
    wfdb_replay_free(rp);
    wfdb_record_free(rec);
}
END_TEST

/* ---- Header ---------------------------------------------------------------------------- */

START_TEST(test_header_quirks)
{
    /* Comment before the record line, CRLF, a blank line between signal lines, comments after:
     * the shape of wfdb-python's 100.hea. */
    const char *text = "# unnecessary comment\n100 2 360 650000\r\n"
                       "100.dat 212 200 11 1024 995 -22131 0 MLII\n\r\n"
                       "100.dat 212 200 11 1024 1011 20052 0 V5\r\n# 69 M\r\n";
    wfdb_header_t h;
    char err[256] = "";
    ck_assert_msg(parse(text, &h, err) == 0, "%s", err);
    ck_assert_str_eq(h.record_name, "100");
    ck_assert_int_eq(h.n_signals, 2);
    ck_assert(h.fs == 360);
    ck_assert_int_eq(h.n_samples, 650000);
    ck_assert_str_eq(h.sig[1].file_name, "100.dat");
    ck_assert_int_eq(h.sig[1].format, 212);
    ck_assert(h.sig[1].gain == 200);
    ck_assert_int_eq(h.sig[1].adc_res, 11);
    ck_assert_int_eq(h.sig[1].adc_zero, 1024);
    ck_assert_int_eq(h.sig[1].baseline, 1024); /* no "(b)": baseline = ADC zero */
    ck_assert_int_eq(h.sig[1].init_value, 1011);
    ck_assert_int_eq(h.sig[0].checksum, -22131);
    ck_assert_str_eq(h.sig[1].description, "V5");

    /* Explicit baseline and units, a byte offset, a description with spaces, defaults. */
    text = "rec 3 500\n"
           "a.dat 16+24 1000.0(-12)/uV 16 5 0 0 0 chest lead V2\n"
           "b.dat 212\n"
           "c.dat 16 0\n";
    ck_assert_msg(parse(text, &h, err) == 0, "%s", err);
    ck_assert_int_eq(h.n_samples, 0);
    ck_assert_int_eq(h.sig[0].byte_offset, 24);
    ck_assert_int_eq(h.sig[0].baseline, -12);
    ck_assert_int_eq(h.sig[0].adc_zero, 5);
    ck_assert_str_eq(h.sig[0].units, "uV");
    ck_assert(h.sig[0].uv_scale == 1.0);
    ck_assert_str_eq(h.sig[0].description, "chest lead V2");
    ck_assert(h.sig[1].gain == 200.0); /* absent: WFDB default */
    ck_assert(h.sig[2].gain == 200.0); /* 0 = uncalibrated: WFDB default */
    ck_assert_int_eq(h.sig[1].has_checksum, 0);
    ck_assert_str_eq(h.sig[1].units, "mV");

    /* Record line without a rate: 250 Hz. */
    ck_assert_int_eq(parse("r 1\nr.dat 16\n", &h, err), 0);
    ck_assert(h.fs == 250.0);
}
END_TEST

START_TEST(test_lead_codes)
{
    ck_assert_uint_eq(wfdb_lead_mdc_code("I"), 131329);
    ck_assert_uint_eq(wfdb_lead_mdc_code("ii"), 131330);
    ck_assert_uint_eq(wfdb_lead_mdc_code("MLII"), 131330);
    ck_assert_uint_eq(wfdb_lead_mdc_code("III"), 131389);
    ck_assert_uint_eq(wfdb_lead_mdc_code("avr"), 131390);
    ck_assert_uint_eq(wfdb_lead_mdc_code("AVF"), 131392);
    ck_assert_uint_eq(wfdb_lead_mdc_code("V1"), 131331);
    ck_assert_uint_eq(wfdb_lead_mdc_code("v6"), 131336);
    ck_assert_uint_eq(wfdb_lead_mdc_code("vx"), 0);
}
END_TEST

/* ---- Errors ---------------------------------------------------------------------------- */

START_TEST(test_header_errors)
{
    static const struct {
        const char *text;
        const char *expect; /* a piece of the message */
    } cases[] = {
        {"", "no record line"},
        {"# only comments\n\n", "no record line"},
        {"rec\n", "signal count"},
        {"rec 0 360\n", "signal count"},
        {"rec 99 360\n", "signal count"},
        {"rec/3 2 360\n", "multi-segment"},
        {"rec 1 -5\n", "sampling frequency"},
        {"rec 1 360 12x\n", "sample count"},
        {"rec 2 360 10\nrec.dat 16\n", "declares 2 signals but describes 1"},
        {"rec 1 360 10\nrec.dat 310 200\n", "format 310 not supported"},
        {"rec 1 360 10\nrec.dat 80\n", "format 80 not supported"},
        {"rec 1 360 10\nrec.dat\n", "file name and a format"},
        {"rec 1 360 10\nrec.dat 16x4\n", "samples per frame"},
        {"rec 1 360 10\nrec.dat 212:2\n", "skew"},
        {"rec 1 360 10\nrec.dat 16 abc\n", "bad gain"},
        {"rec 1 360 10\nrec.dat 16 200(5\n", "bad gain"},
        {"rec 1 360 10\nrec.dat 16 200 12 zero\n", "ADC zero"},
        {"rec 1 360 10\nrec.dat 16 200 12 0 1 x\n", "checksum"},
        {"rec 2 360 10\nrec.dat 16\nrec.dat 212\n", "different formats"},
        {"rec 3 360 10\na.dat 16\nb.dat 16\na.dat 16\n", "not consecutive"},
        {"rec 1 360 10\n../etc/x.dat 16\n", "file name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wfdb_header_t h;
        char err[256] = "";
        int rc = parse(cases[i].text, &h, err);
        ck_assert_msg(rc == GL_EPROTO, "case %zu accepted", i);
        ck_assert_msg(strstr(err, cases[i].expect), "case %zu: \"%s\" lacks \"%s\"", i, err,
                      cases[i].expect);
    }
}
END_TEST

START_TEST(test_open_errors)
{
    char err[256] = "";
    wfdb_record_t *rec = (wfdb_record_t *)1;
    /* Missing header. */
    ck_assert_int_eq(wfdb_record_open(tmp_path("none.hea"), &rec, err, sizeof err), GL_ENOENT);
    ck_assert_ptr_null(rec);
    ck_assert_ptr_nonnull(strstr(err, "none.hea"));
    /* Missing data file. */
    const char *h1 = "r 1 100 4\nr.dat 16 200 16 0\n";
    write_file("r.hea", h1, strlen(h1));
    ck_assert_int_eq(wfdb_record_open(tmp_path("r.hea"), &rec, err, sizeof err), GL_ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "r.dat"));
    /* Truncated data: 4 samples need 8 bytes. */
    const uint8_t seven[7] = {1, 0, 2, 0, 3, 0, 4};
    write_file("r.dat", seven, sizeof seven);
    ck_assert_int_eq(wfdb_record_open(tmp_path("r.hea"), &rec, err, sizeof err), GL_EPROTO);
    ck_assert_msg(strstr(err, "truncated"), "%s", err);
    /* Format 212: 3 samples of 2 signals = 6 values = 9 bytes. */
    const char *h2 = "t 2 100 3\nt.dat 212\nt.dat 212\n";
    write_file("t.hea", h2, strlen(h2));
    write_file("t.dat", seven, sizeof seven);
    ck_assert_int_eq(wfdb_record_open(tmp_path("t.hea"), &rec, err, sizeof err), GL_EPROTO);
    ck_assert_msg(strstr(err, "truncated"), "%s", err);
    /* Checksum and initial value that do not match the data (1+2+3+4 = 10). */
    const uint8_t eight[8] = {1, 0, 2, 0, 3, 0, 4, 0};
    write_file("r.dat", eight, sizeof eight);
    const char *h3 = "r 1 100 4\nr.dat 16 200 16 0 1 11 0 I\n";
    write_file("r.hea", h3, strlen(h3));
    ck_assert_int_eq(wfdb_record_open(tmp_path("r.hea"), &rec, err, sizeof err), GL_EPROTO);
    ck_assert_msg(strstr(err, "checksum"), "%s", err);
    const char *h4 = "r 1 100 4\nr.dat 16 200 16 0 2 10 0 I\n";
    write_file("r.hea", h4, strlen(h4));
    ck_assert_int_eq(wfdb_record_open(tmp_path("r.hea"), &rec, err, sizeof err), GL_EPROTO);
    ck_assert_msg(strstr(err, "first sample"), "%s", err);
    /* And the same record with the right fields opens. */
    const char *h5 = "r 1 100 4\nr.dat 16 200 16 0 1 10 0 I\n";
    write_file("r.hea", h5, strlen(h5));
    ck_assert_int_eq(wfdb_record_open(tmp_path("r.hea"), &rec, err, sizeof err), 0);
    wfdb_record_free(rec);
    /* A bad header names the file. */
    const char *h6 = "r 1 100 4\nr.dat 8\n";
    write_file("r.hea", h6, strlen(h6));
    ck_assert_int_eq(wfdb_record_open(tmp_path("r.hea"), &rec, err, sizeof err), GL_EPROTO);
    ck_assert_msg(strstr(err, "r.hea") && strstr(err, "format 8"), "%s", err);
    wfdb_record_free(NULL);
}
END_TEST

/* Encodes values as format 212 (the inverse of SOURCE.txt's decoding rule). */
static size_t pack212(const int *v, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t k = 0; k < n; k += 2) {
        unsigned a = (unsigned)v[k] & 0xFFF, b = k + 1 < n ? (unsigned)v[k + 1] & 0xFFF : 0;
        out[o++] = (uint8_t)(a & 0xFF);
        out[o++] = (uint8_t)(((a >> 8) & 0x0F) | ((b >> 4) & 0xF0));
        if (k + 1 < n)
            out[o++] = (uint8_t)(b & 0xFF);
    }
    return o;
}

/* Synthetic records in both formats, with an odd signal count (212 pairs then straddle frames),
 * negative values, the 12-bit extremes, two files and a sample count taken from the file size. */
START_TEST(test_synthetic_formats)
{
    /* 3 signals x 5 frames in format 212, interleaved. */
    int v[15] = {-2048, 2047, 0, -1, 1, 1000, -1000, 5, 7, 100, -100, 2, 3, 4, -5};
    uint8_t d212[32];
    size_t n212 = pack212(v, 15, d212);
    ck_assert_uint_eq(n212, 23); /* 7 pairs of 3 bytes + 2 for the odd last value */
    write_file("f.dat", d212, n212);
    /* Plus one format 16 signal with an offset of 4 bytes, in another file. */
    const uint8_t d16[] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x80, 0xff,
                           0x7f, 0xff, 0xff, 0x02, 0x00, 0x9c, 0xff};
    write_file("g.dat", d16, sizeof d16);
    const char *hea = "f 4 250\nf.dat 212 100(10)/mV\nf.dat 212\nf.dat 212 400 12 -3\n"
                      "g.dat 16+4 2000/uV\n";
    write_file("f.hea", hea, strlen(hea));
    char err[256] = "";
    wfdb_record_t *rec = NULL;
    ck_assert_msg(wfdb_record_open(tmp_path("f.hea"), &rec, err, sizeof err) == 0, "%s", err);
    const wfdb_header_t *h = wfdb_record_header(rec);
    ck_assert_int_eq(h->n_samples, 5);
    for (int s = 0; s < 3; s++) {
        const int16_t *a = wfdb_record_adc(rec, s);
        for (int f = 0; f < 5; f++)
            ck_assert_int_eq(a[f], v[f * 3 + s]);
    }
    const int16_t *g = wfdb_record_adc(rec, 3);
    const int16_t g_expect[5] = {-32768, 32767, -1, 2, -100};
    for (int f = 0; f < 5; f++)
        ck_assert_int_eq(g[f], g_expect[f]);
    /* uV = (adc - baseline) / gain * scale. */
    ck_assert(wfdb_record_uv(rec, 0, 1) == (-1 - 10) / 100.0 * 1000.0);
    ck_assert(wfdb_record_uv(rec, 1, 0) == 2047 / 200.0 * 1000.0);
    ck_assert(wfdb_record_uv(rec, 2, 0) == (0 + 3) / 400.0 * 1000.0);
    ck_assert(wfdb_record_uv(rec, 3, 4) == -100 / 2000.0);
    wfdb_record_free(rec);
}
END_TEST

/* ---- Resample -------------------------------------------------------------------------- */

/* Resamples a sine of `f` Hz from fs_in to fs_out and returns the largest error against the
 * exact sine, relative to the amplitude, ignoring the first and last 0.2 s (edge effects). */
static double sine_error(double f, double fs_in, double fs_out, double secs)
{
    size_t n = (size_t)(secs * fs_in);
    double *in = malloc(n * sizeof *in);
    for (size_t i = 0; i < n; i++)
        in[i] = 1000.0 * sin(2 * M_PI * f * (double)i / fs_in + 0.3);
    size_t m = wfdb_resample_len(n, fs_in, fs_out);
    double *out = malloc(m * sizeof *out);
    ck_assert_int_eq(wfdb_resample(in, n, fs_in, fs_out, out), (long)m);
    double worst = 0;
    for (size_t k = 0; k < m; k++) {
        double t = (double)k / fs_out;
        if (t < 0.2 || t > secs - 0.2)
            continue;
        double d = fabs(out[k] - 1000.0 * sin(2 * M_PI * f * t + 0.3)) / 1000.0;
        worst = d > worst ? d : worst;
    }
    free(in);
    free(out);
    return worst;
}

START_TEST(test_resample_sine)
{
    /* The stated accuracy: within 0.1 % of the amplitude inside the pass band (measured: at
     * most 0.004 %). */
    ck_assert_double_lt(sine_error(10, 360, 500, 3), 0.001); /* MIT-BIH -> 500 */
    ck_assert_double_lt(sine_error(40, 360, 500, 3), 0.001);
    ck_assert_double_lt(sine_error(10, 1000, 500, 3), 0.001); /* PTB -> 500 */
    ck_assert_double_lt(sine_error(100, 1000, 500, 3), 0.001);
    ck_assert_double_lt(sine_error(5, 100, 500, 3), 0.001); /* PTB-XL lr -> 500 */
    ck_assert_double_lt(sine_error(20, 100, 500, 3), 0.001);
    ck_assert_double_lt(sine_error(10, 250, 360, 3), 0.001);
}
END_TEST

START_TEST(test_resample_lengths_dc_and_alias)
{
    ck_assert_uint_eq(wfdb_resample_len(38400, 1000, 500), 19200);
    ck_assert_uint_eq(wfdb_resample_len(1000, 100, 500), 4996); /* last instant 9.99 s */
    ck_assert_uint_eq(wfdb_resample_len(650000, 360, 500), 902777);
    ck_assert_uint_eq(wfdb_resample_len(0, 360, 500), 0);
    double dc[300], out[1000];
    for (int i = 0; i < 300; i++)
        dc[i] = -145.0;
    long m = wfdb_resample(dc, 300, 360, 500, out);
    ck_assert_int_eq(m, (long)wfdb_resample_len(300, 360, 500));
    for (long k = 0; k < m; k++)
        ck_assert_double_eq_tol(out[k], -145.0, 1e-9);
    /* Equal rates copy bit for bit. */
    double ramp[7] = {1.5, -2, 3, 4, 5, 6, 7.25};
    ck_assert_int_eq(wfdb_resample(ramp, 7, 500, 500, out), 7);
    ck_assert_mem_eq(out, ramp, sizeof ramp);
    ck_assert_int_eq(wfdb_resample(ramp, 7, 0, 500, out), GL_EINVAL);
    ck_assert_int_eq(wfdb_resample(ramp, 0, 500, 500, out), GL_EINVAL);
    /* 300 Hz at 1000 Hz would alias to 200 Hz at 500 Hz: it must be filtered out (< 1 %). */
    double *in = malloc(3000 * sizeof *in), *o2 = malloc(1500 * sizeof *o2);
    for (int i = 0; i < 3000; i++)
        in[i] = 1000.0 * sin(2 * M_PI * 300 * i / 1000.0);
    m = wfdb_resample(in, 3000, 1000, 500, o2);
    double peak = 0;
    for (long k = 100; k < m - 100; k++)
        peak = fabs(o2[k]) > peak ? fabs(o2[k]) : peak;
    ck_assert_msg(peak < 10.0, "alias peak %.2f of 1000", peak);
    free(in);
    free(o2);
}
END_TEST

/* ---- Replay ---------------------------------------------------------------------------- */

START_TEST(test_replay_layout_and_loop)
{
    /* 2 signals x 6 frames, format 16, 500 Hz, gain 100 adu/mV: 10 uV per adu. */
    int16_t raw[12];
    for (int f = 0; f < 6; f++) {
        raw[2 * f] = (int16_t)(10 * f);     /* lead 0: 0 10 20 ... */
        raw[2 * f + 1] = (int16_t)(-7 * f); /* lead 1: 0 -7 -14 ... */
    }
    uint8_t bytes[24];
    for (int i = 0; i < 12; i++) {
        bytes[2 * i] = (uint8_t)((uint16_t)raw[i] & 0xFF);
        bytes[2 * i + 1] = (uint8_t)((uint16_t)raw[i] >> 8);
    }
    write_file("p.dat", bytes, sizeof bytes);
    const char *hea = "p 2 500 6\np.dat 16 100 16 0 0 150 0 II\np.dat 16 100 16 0 0 -105 0 V1\n";
    write_file("p.hea", hea, strlen(hea));
    char err[256] = "";
    wfdb_record_t *rec = NULL;
    ck_assert_msg(wfdb_record_open(tmp_path("p.hea"), &rec, err, sizeof err) == 0, "%s", err);
    int sigs[2] = {1, 0}; /* in a chosen order */
    wfdb_replay_t *rp = NULL;
    ck_assert_int_eq(wfdb_replay_new(rec, sigs, 2, 500, 5.0, &rp), 0);
    int bad = 7;
    wfdb_replay_t *none = NULL;
    ck_assert_int_eq(wfdb_replay_new(rec, &bad, 1, 500, 5.0, &none), GL_EINVAL);
    ck_assert_int_eq(wfdb_replay_new(rec, sigs, 2, 500, 0, &none), GL_EINVAL);
    ck_assert_ptr_null(none);
    wfdb_record_free(rec);
    ck_assert_uint_eq(wfdb_replay_length(rp), 6);
    int16_t out[2 * 4];
    ck_assert_uint_eq(wfdb_replay_read(rp, 4, out), 0);
    /* lead 0 = V1: -7 adu * 10 uV / 5 uV per LSB = -14 per frame; lead 1 = II: +20. */
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(out[i], -14 * i);
        ck_assert_int_eq(out[4 + i], 20 * i);
    }
    ck_assert_uint_eq(wfdb_replay_read(rp, 4, out), 4); /* frames 4 5 0 1 */
    const int wrap[4] = {4, 5, 0, 1};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(out[i], -14 * wrap[i]);
        ck_assert_int_eq(out[4 + i], 20 * wrap[i]);
    }
    ck_assert_uint_eq(wfdb_replay_read(rp, 1, out), 8);
    ck_assert_int_eq(out[0], -14 * 2);
    wfdb_replay_free(rp);
    wfdb_replay_free(NULL);
}
END_TEST

static Suite *wfdb_suite(void)
{
    Suite *s = suite_create("wfdb");
    TCase *ref = tcase_create("Reference");
    tcase_add_loop_test(ref, test_reference_records_bit_exact, 0, 3);
    tcase_add_test(ref, test_reference_mi_replay_500hz);
    tcase_set_timeout(ref, 120);
    suite_add_tcase(s, ref);
    TCase *hdr = tcase_create("Header");
    tcase_add_test(hdr, test_header_quirks);
    tcase_add_test(hdr, test_lead_codes);
    suite_add_tcase(s, hdr);
    TCase *errors = tcase_create("Errors");
    tcase_add_checked_fixture(errors, tmp_setup, tmp_teardown);
    tcase_add_test(errors, test_header_errors);
    tcase_add_test(errors, test_open_errors);
    tcase_add_test(errors, test_synthetic_formats);
    suite_add_tcase(s, errors);
    TCase *rs = tcase_create("Resample");
    tcase_add_test(rs, test_resample_sine);
    tcase_add_test(rs, test_resample_lengths_dc_and_alias);
    tcase_set_timeout(rs, 60);
    suite_add_tcase(s, rs);
    TCase *rp = tcase_create("Replay");
    tcase_add_checked_fixture(rp, tmp_setup, tmp_teardown);
    tcase_add_test(rp, test_replay_layout_and_loop);
    suite_add_tcase(s, rp);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(wfdb_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
