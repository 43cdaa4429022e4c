/*
 * WFDB records: the header parser, the format 16 and 212 decoders with the header's own
 * consistency checks, microvolt conversion, band-limited resampling and the replay cursor.
 * The rules and their sources are in wfdb.h; this file only adds how.
 */
#include "wfdb.h"

#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define WFDB_DEFAULT_FS 250.0
#define WFDB_DEFAULT_GAIN 200.0
#define RESAMPLE_HALF_PERIODS 16 /* kernel half-width, in periods of the lower rate */
#define RESAMPLE_CUTOFF 0.45     /* cutoff, as a fraction of the lower rate */

struct wfdb_record {
    wfdb_header_t hdr;
    int16_t *adc[WFDB_MAX_SIGNALS]; /* hdr.n_samples samples per signal */
};

struct wfdb_replay {
    int n_leads;
    size_t len;     /* samples per lead of one pass */
    size_t pos;     /* next sample of the pass */
    uint64_t index; /* stream index of the next sample */
    int16_t *data;  /* n_leads x len, lead after lead */
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- header ---------------------------------------------------------------------------- */

/* Splits `line` (NUL-terminated, modified) into at most `max` whitespace-separated words.
 * The last word takes the rest of the line when `rest_last` is set (signal descriptions may
 * contain spaces). */
static int split_words(char *line, char **w, int max, int rest_last)
{
    int n = 0;
    char *p = line;
    while (*p && n < max) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        if (rest_last && n == max - 1) {
            char *end = p + strlen(p);
            while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
                *--end = '\0';
            w[n++] = p;
            break;
        }
        w[n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
    }
    return n;
}

static int parse_long(const char *s, long *v)
{
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (end == s || errno)
        return -1;
    *v = x;
    return (int)(end - s);
}

static int parse_int_word(const char *s, int *v)
{
    long x;
    int used = parse_long(s, &x);
    if (used < 0 || s[used] != '\0' || x < -2147483647L || x > 2147483647L)
        return -1;
    *v = (int)x;
    return 0;
}

/* Record line: "name[/nseg] nsig [fs[/counterfreq[(base)]] [nsamp [time [date]]]]". */
static int parse_record_line(char *line, int lineno, wfdb_header_t *h, char *err, size_t errlen)
{
    char *w[6];
    int n = split_words(line, w, 6, 0);
    if (n < 2) {
        set_err(err, errlen, "line %d: record line needs a name and a signal count", lineno);
        return GL_EPROTO;
    }
    if (strchr(w[0], '/')) {
        set_err(err, errlen, "line %d: multi-segment records are not supported", lineno);
        return GL_EPROTO;
    }
    if (strlen(w[0]) >= sizeof h->record_name) {
        set_err(err, errlen, "line %d: record name too long", lineno);
        return GL_EPROTO;
    }
    strcpy(h->record_name, w[0]);
    if (parse_int_word(w[1], &h->n_signals) < 0 || h->n_signals < 1 ||
        h->n_signals > WFDB_MAX_SIGNALS) {
        set_err(err, errlen, "line %d: signal count \"%s\" not in 1..%d", lineno, w[1],
                WFDB_MAX_SIGNALS);
        return GL_EPROTO;
    }
    h->fs = WFDB_DEFAULT_FS;
    if (n > 2) {
        char *end;
        double fs = strtod(w[2], &end);
        if (end == w[2] || (*end && *end != '/') || !(fs > 0 && fs < 1e6)) {
            set_err(err, errlen, "line %d: bad sampling frequency \"%s\"", lineno, w[2]);
            return GL_EPROTO;
        }
        h->fs = fs;
    }
    h->n_samples = 0;
    if (n > 3) {
        long ns;
        int used = parse_long(w[3], &ns);
        if (used < 0 || w[3][used] != '\0' || ns < 0) {
            set_err(err, errlen, "line %d: bad sample count \"%s\"", lineno, w[3]);
            return GL_EPROTO;
        }
        h->n_samples = ns;
    }
    return 0;
}

/* "format[xN][:skew][+offset]" */
static int parse_format(const char *s, wfdb_signal_t *sig, int lineno, char *err, size_t errlen)
{
    long fmt;
    int used = parse_long(s, &fmt);
    if (used < 0 || fmt < 0) {
        set_err(err, errlen, "line %d: bad format \"%s\"", lineno, s);
        return GL_EPROTO;
    }
    const char *p = s + used;
    if (*p == 'x') {
        long spf;
        int u = parse_long(p + 1, &spf);
        if (u < 0 || spf != 1) {
            set_err(err, errlen, "line %d: %s samples per frame not supported", lineno, p + 1);
            return GL_EPROTO;
        }
        p += 1 + u;
    }
    if (*p == ':') {
        long skew;
        int u = parse_long(p + 1, &skew);
        if (u < 0 || skew != 0) {
            set_err(err, errlen, "line %d: skew \"%s\" not supported", lineno, p + 1);
            return GL_EPROTO;
        }
        p += 1 + u;
    }
    sig->byte_offset = 0;
    if (*p == '+') {
        int u = parse_long(p + 1, &sig->byte_offset);
        if (u < 0 || sig->byte_offset < 0) {
            set_err(err, errlen, "line %d: bad byte offset in \"%s\"", lineno, s);
            return GL_EPROTO;
        }
        p += 1 + u;
    }
    if (*p) {
        set_err(err, errlen, "line %d: bad format \"%s\"", lineno, s);
        return GL_EPROTO;
    }
    if (fmt != 16 && fmt != 212) {
        set_err(err, errlen, "line %d: format %ld not supported (only 16 and 212)", lineno, fmt);
        return GL_EPROTO;
    }
    sig->format = (int)fmt;
    return 0;
}

/* "gain[(baseline)][/units]"; sets has_baseline when the baseline is explicit. */
static int parse_gain(const char *s, wfdb_signal_t *sig, int *has_baseline, int lineno, char *err,
                      size_t errlen)
{
    char *end;
    double g = strtod(s, &end);
    if (end == s || !(g >= 0) || !isfinite(g))
        goto bad;
    sig->gain = g == 0 ? WFDB_DEFAULT_GAIN : g;
    *has_baseline = 0;
    if (*end == '(') {
        long b;
        int u = parse_long(end + 1, &b);
        if (u < 0 || end[1 + u] != ')' || b < -2147483647L || b > 2147483647L)
            goto bad;
        sig->baseline = (int)b;
        *has_baseline = 1;
        end += u + 2;
    }
    if (*end == '/') {
        if (strlen(end + 1) == 0 || strlen(end + 1) >= sizeof sig->units)
            goto bad;
        strcpy(sig->units, end + 1);
    } else if (*end) {
        goto bad;
    }
    return 0;
bad:
    set_err(err, errlen, "line %d: bad gain \"%s\"", lineno, s);
    return GL_EPROTO;
}

static double units_to_uv(const char *u)
{
    if (strcmp(u, "mV") == 0 || strcasecmp(u, "mv") == 0)
        return 1000.0;
    if (strcmp(u, "uV") == 0 || strcasecmp(u, "uv") == 0)
        return 1.0;
    if (strcmp(u, "V") == 0)
        return 1e6;
    return 0.0;
}

static int parse_signal_line(char *line, int lineno, wfdb_signal_t *sig, char *err, size_t errlen)
{
    char *w[9];
    int n = split_words(line, w, 9, 1);
    memset(sig, 0, sizeof *sig);
    strcpy(sig->units, "mV");
    sig->gain = WFDB_DEFAULT_GAIN;
    if (n < 2) {
        set_err(err, errlen, "line %d: signal line needs a file name and a format", lineno);
        return GL_EPROTO;
    }
    if (strlen(w[0]) >= sizeof sig->file_name || strcmp(w[0], "~") == 0 || strchr(w[0], '/')) {
        set_err(err, errlen, "line %d: unusable signal file name \"%s\"", lineno, w[0]);
        return GL_EPROTO;
    }
    strcpy(sig->file_name, w[0]);
    int rc = parse_format(w[1], sig, lineno, err, errlen);
    if (rc < 0)
        return rc;
    int has_baseline = 0;
    if (n > 2 && (rc = parse_gain(w[2], sig, &has_baseline, lineno, err, errlen)) < 0)
        return rc;
    int *ints[] = {&sig->adc_res, &sig->adc_zero, &sig->init_value, &sig->checksum};
    static const char *what[] = {"ADC resolution", "ADC zero", "initial value", "checksum"};
    int block_size = 0;
    for (int i = 0; i < 5 && 3 + i < n; i++) {
        int *dst = i < 4 ? ints[i] : &block_size;
        if (parse_int_word(w[3 + i], dst) < 0) {
            set_err(err, errlen, "line %d: bad %s \"%s\"", lineno, i < 4 ? what[i] : "block size",
                    w[3 + i]);
            return GL_EPROTO;
        }
    }
    sig->has_init_value = n > 5;
    sig->has_checksum = n > 6;
    if (!has_baseline)
        sig->baseline = sig->adc_zero;
    if (n > 8) {
        snprintf(sig->description, sizeof sig->description, "%s", w[8]);
    }
    sig->uv_scale = units_to_uv(sig->units);
    return 0;
}

int wfdb_header_parse(const char *text, size_t len, wfdb_header_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int have_record = 0, n_sig = 0, lineno = 0;
    char line[1024];
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && text[i] != '\n')
            i++;
        size_t l = i - start;
        if (i < len)
            i++; /* the '\n' */
        lineno++;
        if (l >= sizeof line) {
            set_err(err, errlen, "line %d: longer than %zu bytes", lineno, sizeof line - 1);
            return GL_EPROTO;
        }
        memcpy(line, text + start, l);
        line[l] = '\0';
        if (memchr(line, '\0', l)) {
            set_err(err, errlen, "line %d: NUL byte in header", lineno);
            return GL_EPROTO;
        }
        while (l > 0 && (line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '\t'))
            line[--l] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        if (!have_record) {
            int rc = parse_record_line(p, lineno, out, err, errlen);
            if (rc < 0)
                return rc;
            have_record = 1;
            continue;
        }
        if (n_sig == out->n_signals)
            break; /* info strings of newer headers may follow; nothing we need */
        int rc = parse_signal_line(p, lineno, &out->sig[n_sig], err, errlen);
        if (rc < 0)
            return rc;
        n_sig++;
    }
    if (!have_record) {
        set_err(err, errlen, "no record line");
        return GL_EPROTO;
    }
    if (n_sig < out->n_signals) {
        set_err(err, errlen, "header declares %d signals but describes %d", out->n_signals, n_sig);
        return GL_EPROTO;
    }
    /* Signals of one file are consecutive and share its format and offset (signal(5)). */
    for (int s = 1; s < n_sig; s++) {
        const wfdb_signal_t *a = &out->sig[s - 1], *b = &out->sig[s];
        if (strcmp(a->file_name, b->file_name) == 0) {
            if (a->format != b->format || a->byte_offset != b->byte_offset) {
                set_err(err, errlen, "signals %d and %d share %s with different formats", s - 1, s,
                        b->file_name);
                return GL_EPROTO;
            }
        } else {
            for (int t = 0; t < s - 1; t++) {
                if (strcmp(out->sig[t].file_name, b->file_name) == 0) {
                    set_err(err, errlen, "signals of %s are not consecutive", b->file_name);
                    return GL_EPROTO;
                }
            }
        }
    }
    return 0;
}

/* ---- data ------------------------------------------------------------------------------ */

static int read_file(const char *path, uint8_t **buf, size_t *len, size_t max, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        set_err(err, errlen, "%s: %s", path, strerror(e));
        return e == ENOENT ? GL_ENOENT : e == EACCES ? GL_EACCES : GL_EIO;
    }
    struct stat st;
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        set_err(err, errlen, "%s: not a regular file", path);
        fclose(f);
        return GL_EIO;
    }
    if ((size_t)st.st_size > max) {
        set_err(err, errlen, "%s: %lld bytes is too large", path, (long long)st.st_size);
        fclose(f);
        return GL_ERANGE;
    }
    *len = (size_t)st.st_size;
    *buf = malloc(*len ? *len : 1);
    if (!*buf) {
        fclose(f);
        return GL_ENOMEM;
    }
    if (fread(*buf, 1, *len, f) != *len) {
        set_err(err, errlen, "%s: read error", path);
        free(*buf);
        *buf = NULL;
        fclose(f);
        return GL_EIO;
    }
    fclose(f);
    return 0;
}

/* Decodes the sample stream of one file: values in storage order, all signals interleaved. */
static void decode(const uint8_t *d, int format, size_t n_values, int16_t *out)
{
    if (format == 16) {
        for (size_t k = 0; k < n_values; k++)
            out[k] = (int16_t)(uint16_t)(d[2 * k] | d[2 * k + 1] << 8);
        return;
    }
    for (size_t k = 0; k < n_values; k++) {
        const uint8_t *b = d + (k / 2) * 3;
        int v = (k % 2 == 0) ? (b[0] | (b[1] & 0x0F) << 8) : (b[2] | (b[1] & 0xF0) << 4);
        out[k] = (int16_t)(v >= 2048 ? v - 4096 : v);
    }
}

/* Bytes needed to store n_values samples of `format` (format 212 packs pairs in 3 bytes). */
static size_t stored_bytes(int format, size_t n_values)
{
    return format == 16 ? 2 * n_values : (n_values / 2) * 3 + (n_values % 2) * 2;
}

/* Reads the file of signals first..first+k-1 into rec->adc; fills n_samples if unknown. */
static int load_group(wfdb_record_t *rec, const char *dir, int first, int k, char *err,
                      size_t errlen)
{
    wfdb_header_t *h = &rec->hdr;
    const wfdb_signal_t *s0 = &h->sig[first];
    char path[4096];
    if (snprintf(path, sizeof path, "%s%s", dir, s0->file_name) >= (int)sizeof path) {
        set_err(err, errlen, "%s: path too long", s0->file_name);
        return GL_EINVAL;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len, (size_t)WFDB_MAX_TOTAL_SAMPLES * 2, err, errlen);
    if (rc < 0)
        return rc;
    size_t avail = len > (size_t)s0->byte_offset ? len - (size_t)s0->byte_offset : 0;
    size_t frames;
    if (h->n_samples > 0) {
        frames = (size_t)h->n_samples;
        size_t need = stored_bytes(s0->format, frames * (size_t)k);
        if (avail < need) {
            set_err(err, errlen,
                    "%s: truncated: %zu data bytes, the header's %ld samples of %d "
                    "signals in format %d need %zu",
                    s0->file_name, avail, h->n_samples, k, s0->format, need);
            free(buf);
            return GL_EPROTO;
        }
    } else {
        size_t values = s0->format == 16 ? avail / 2 : (avail / 3) * 2 + (avail % 3 >= 2);
        frames = values / (size_t)k;
        if (frames == 0) {
            set_err(err, errlen, "%s: no samples", s0->file_name);
            free(buf);
            return GL_EPROTO;
        }
        h->n_samples = (long)frames;
    }
    if (frames * (size_t)h->n_signals > (size_t)WFDB_MAX_TOTAL_SAMPLES) {
        set_err(err, errlen, "%s: record too large", s0->file_name);
        free(buf);
        return GL_ERANGE;
    }
    int16_t *all = malloc(frames * (size_t)k * sizeof *all);
    if (!all) {
        free(buf);
        return GL_ENOMEM;
    }
    decode(buf + s0->byte_offset, s0->format, frames * (size_t)k, all);
    free(buf);
    for (int j = 0; j < k; j++) {
        int16_t *a = malloc(frames * sizeof *a);
        if (!a) {
            free(all);
            return GL_ENOMEM;
        }
        for (size_t f = 0; f < frames; f++)
            a[f] = all[f * (size_t)k + (size_t)j];
        rec->adc[first + j] = a;
    }
    free(all);
    return 0;
}

/* The header's own consistency fields against the decoded samples. */
static int verify_signal(const wfdb_record_t *rec, int s, char *err, size_t errlen)
{
    const wfdb_signal_t *sig = &rec->hdr.sig[s];
    const int16_t *a = rec->adc[s];
    if (sig->has_init_value && a[0] != sig->init_value) {
        set_err(err, errlen, "signal %d (%s): first sample %d, header says %d", s, sig->description,
                a[0], sig->init_value);
        return GL_EPROTO;
    }
    if (sig->has_checksum) {
        uint32_t sum = 0;
        for (long i = 0; i < rec->hdr.n_samples; i++)
            sum += (uint32_t)(int32_t)a[i];
        if ((sum & 0xFFFF) != ((uint32_t)sig->checksum & 0xFFFF)) {
            set_err(err, errlen, "signal %d (%s): checksum %u, header says %d (mod 65536)", s,
                    sig->description, (unsigned)(sum & 0xFFFF), sig->checksum);
            return GL_EPROTO;
        }
    }
    return 0;
}

int wfdb_record_open(const char *hea_path, wfdb_record_t **out, char *err, size_t errlen)
{
    *out = NULL;
    uint8_t *text = NULL;
    size_t len = 0;
    int rc = read_file(hea_path, &text, &len, 1 << 20, err, errlen);
    if (rc < 0)
        return rc;
    wfdb_record_t *rec = calloc(1, sizeof *rec);
    if (!rec) {
        free(text);
        return GL_ENOMEM;
    }
    char perr[256] = "";
    rc = wfdb_header_parse((const char *)text, len, &rec->hdr, perr, sizeof perr);
    free(text);
    if (rc < 0) {
        set_err(err, errlen, "%s: %s", hea_path, perr);
        goto fail;
    }
    char dir[4096];
    const char *slash = strrchr(hea_path, '/');
    size_t dl = slash ? (size_t)(slash - hea_path + 1) : 0;
    if (dl >= sizeof dir) {
        set_err(err, errlen, "%s: path too long", hea_path);
        rc = GL_EINVAL;
        goto fail;
    }
    memcpy(dir, hea_path, dl);
    dir[dl] = '\0';
    /* With no sample count in the header, the first file decides it; later files must match. */
    for (int s = 0; s < rec->hdr.n_signals;) {
        int k = 1;
        while (s + k < rec->hdr.n_signals &&
               strcmp(rec->hdr.sig[s + k].file_name, rec->hdr.sig[s].file_name) == 0)
            k++;
        rc = load_group(rec, dir, s, k, err, errlen);
        if (rc < 0)
            goto fail;
        s += k;
    }
    for (int s = 0; s < rec->hdr.n_signals; s++) {
        if ((rc = verify_signal(rec, s, err, errlen)) < 0)
            goto fail;
    }
    *out = rec;
    return 0;
fail:
    wfdb_record_free(rec);
    return rc;
}

void wfdb_record_free(wfdb_record_t *rec)
{
    if (!rec)
        return;
    for (int s = 0; s < WFDB_MAX_SIGNALS; s++)
        free(rec->adc[s]);
    free(rec);
}

const wfdb_header_t *wfdb_record_header(const wfdb_record_t *rec)
{
    return &rec->hdr;
}

const int16_t *wfdb_record_adc(const wfdb_record_t *rec, int sig)
{
    if (sig < 0 || sig >= rec->hdr.n_signals)
        return NULL;
    return rec->adc[sig];
}

double wfdb_record_uv(const wfdb_record_t *rec, int sig, long i)
{
    const wfdb_signal_t *s = &rec->hdr.sig[sig];
    return (double)(rec->adc[sig][i] - s->baseline) / s->gain * s->uv_scale;
}

/* ---- resampling ------------------------------------------------------------------------ */

size_t wfdb_resample_len(size_t n_in, double fs_in, double fs_out)
{
    if (n_in == 0 || !(fs_in > 0) || !(fs_out > 0))
        return 0;
    /* The small epsilon keeps an exact ratio (1000 -> 500) from losing its last instant to
     * rounding in the division. */
    return (size_t)floor((double)(n_in - 1) * fs_out / fs_in + 1e-9) + 1;
}

long wfdb_resample(const double *in, size_t n_in, double fs_in, double fs_out, double *out)
{
    size_t n_out = wfdb_resample_len(n_in, fs_in, fs_out);
    if (n_out == 0)
        return GL_EINVAL;
    if (fs_in == fs_out) {
        memcpy(out, in, n_in * sizeof *in);
        return (long)n_in;
    }
    double f_low = fs_in < fs_out ? fs_in : fs_out;
    double fc = RESAMPLE_CUTOFF * f_low / fs_in;         /* cutoff in cycles per input sample */
    double half = RESAMPLE_HALF_PERIODS * fs_in / f_low; /* half-width in input samples */
    for (size_t k = 0; k < n_out; k++) {
        double p = (double)k * fs_in / fs_out; /* the instant, in input samples */
        long lo = (long)ceil(p - half), hi = (long)floor(p + half);
        double acc = 0, wsum = 0;
        for (long j = lo; j <= hi; j++) {
            double x = p - (double)j;
            double sinc = x == 0 ? 1.0 : sin(2 * M_PI * fc * x) / (M_PI * x) / (2 * fc);
            double u = (x + half) / (2 * half); /* 0..1 across the window */
            double win = 0.42 - 0.5 * cos(2 * M_PI * u) + 0.08 * cos(4 * M_PI * u);
            double wgt = sinc * win;
            long jj = j < 0 ? 0 : j >= (long)n_in ? (long)n_in - 1 : j;
            acc += wgt * in[jj];
            wsum += wgt;
        }
        out[k] = acc / wsum;
    }
    return (long)n_out;
}

/* ---- leads ----------------------------------------------------------------------------- */

uint32_t wfdb_lead_mdc_code(const char *name)
{
    static const struct {
        const char *name;
        uint32_t code;
    } leads[] = {
        {"I", 131329},   {"II", 131330},  {"MLII", 131330}, {"III", 131389}, {"aVR", 131390},
        {"aVL", 131391}, {"aVF", 131392}, {"V1", 131331},   {"V2", 131332},  {"V3", 131333},
        {"V4", 131334},  {"V5", 131335},  {"V6", 131336},
    };
    for (size_t i = 0; i < sizeof leads / sizeof leads[0]; i++) {
        if (strcasecmp(name, leads[i].name) == 0)
            return leads[i].code;
    }
    return 0;
}

/* ---- replay ---------------------------------------------------------------------------- */

int wfdb_replay_new(const wfdb_record_t *rec, const int *sigs, int n_sigs, unsigned fs_out,
                    double uv_per_lsb, wfdb_replay_t **out)
{
    *out = NULL;
    const wfdb_header_t *h = &rec->hdr;
    if (n_sigs < 1 || fs_out == 0 || !(uv_per_lsb > 0))
        return GL_EINVAL;
    for (int i = 0; i < n_sigs; i++) {
        if (sigs[i] < 0 || sigs[i] >= h->n_signals || !(h->sig[sigs[i]].uv_scale > 0))
            return GL_EINVAL;
    }
    size_t n_in = (size_t)h->n_samples;
    size_t len = wfdb_resample_len(n_in, h->fs, fs_out);
    wfdb_replay_t *r = calloc(1, sizeof *r);
    double *uv = malloc(n_in * sizeof *uv);
    double *rs = malloc(len * sizeof *rs);
    int16_t *data = r && len ? malloc((size_t)n_sigs * len * sizeof *data) : NULL;
    if (!r || !uv || !rs || !data) {
        free(r);
        free(uv);
        free(rs);
        free(data);
        return GL_ENOMEM;
    }
    for (int i = 0; i < n_sigs; i++) {
        for (size_t t = 0; t < n_in; t++)
            uv[t] = wfdb_record_uv(rec, sigs[i], (long)t);
        wfdb_resample(uv, n_in, h->fs, fs_out, rs);
        for (size_t t = 0; t < len; t++) {
            double v = nearbyint(rs[t] / uv_per_lsb);
            data[(size_t)i * len + t] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        }
    }
    free(uv);
    free(rs);
    r->n_leads = n_sigs;
    r->len = len;
    r->data = data;
    *out = r;
    return 0;
}

void wfdb_replay_free(wfdb_replay_t *r)
{
    if (!r)
        return;
    free(r->data);
    free(r);
}

size_t wfdb_replay_length(const wfdb_replay_t *r)
{
    return r->len;
}

uint64_t wfdb_replay_read(wfdb_replay_t *r, size_t n, int16_t *out)
{
    uint64_t first = r->index;
    for (int l = 0; l < r->n_leads; l++) {
        size_t pos = r->pos;
        const int16_t *src = r->data + (size_t)l * r->len;
        for (size_t i = 0; i < n; i++) {
            out[(size_t)l * n + i] = src[pos];
            if (++pos == r->len)
                pos = 0;
        }
    }
    r->pos = (r->pos + n) % r->len;
    r->index += n;
    return first;
}
