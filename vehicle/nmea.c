/*
 * NMEA 0183 parser: a byte scanner that cuts the stream into sentences, a strict decoder of RMC
 * and GGA, and the fusion of both sentences of one epoch into one fix (see nmea.h for the rules).
 *
 * Numbers are parsed by hand rather than with strtod: strtod accepts things NMEA does not
 * ("1e5", "0x1A", " 12", "inf"), depends on the locale's decimal point, and we need the integer
 * and fractional parts of ddmm.mmmm separately anyway.
 */
#include "nmea.h"

#include "err.h"

#include <string.h>

enum scan_state { SCAN_IDLE, SCAN_IN, SCAN_SKIP };

#define MS_PER_DAY 86400000LL
#define HALF_DAY_MS 43200000
#define KNOTS_TO_MPS (1852.0 / 3600.0)
#define MAX_FIELDS 32

/* One decoded RMC or GGA, before fusion. */
struct decoded {
    int is_rmc;        /* 1 RMC, 0 GGA */
    int nofix;         /* the sentence parsed but says "no fix" */
    int has_tod;       /* a time of day was given (a no-fix sentence may have none) */
    int32_t date_days; /* RMC date as days since 1970-01-01, -1 if none */
    nmea_fix_t f;      /* position and the sentence's own fields */
};

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm). */
static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/*
 * A field: [-]digits[.digits], nothing else. Splits it into the integer part, the fraction's
 * digits and their count. Returns 0, or -1 if the text is not such a number (or too long to be
 * exact in 64 bits).
 */
struct number {
    int neg;
    long long ipart;  /* integer part */
    long long frac;   /* fractional digits as an integer */
    int frac_digits;  /* how many of them */
    int int_digits;   /* digits before the point */
};

static int parse_number(const char *s, size_t len, int allow_neg, struct number *n)
{
    size_t i = 0;
    memset(n, 0, sizeof *n);
    if (i < len && s[i] == '-' && allow_neg) {
        n->neg = 1;
        i++;
    }
    for (; i < len && is_digit(s[i]); i++) {
        if (n->int_digits >= 15)
            return -1;
        n->ipart = n->ipart * 10 + (s[i] - '0');
        n->int_digits++;
    }
    if (i < len && s[i] == '.') {
        i++;
        for (; i < len && is_digit(s[i]); i++) {
            if (n->frac_digits >= 15)
                return -1;
            n->frac = n->frac * 10 + (s[i] - '0');
            n->frac_digits++;
        }
        if (n->frac_digits == 0)
            return -1;
    }
    if (i != len || n->int_digits == 0)
        return -1;
    return 0;
}

static double pow10_int(int k)
{
    double r = 1.0;
    while (k-- > 0)
        r *= 10.0;
    return r;
}

static double number_value(const struct number *n)
{
    double v = (double)n->ipart + (double)n->frac / pow10_int(n->frac_digits);
    return n->neg ? -v : v;
}

/* Field i of the split sentence. */
struct fields {
    const char *p[MAX_FIELDS];
    size_t len[MAX_FIELDS];
    int n;
};

/* hhmmss[.s...] -> ms since midnight. Returns 0 or -1. */
static int parse_time(const char *s, size_t len, int32_t *tod_ms)
{
    struct number n;
    if (parse_number(s, len, 0, &n) < 0 || n.int_digits != 6)
        return -1;
    int hh = (int)(n.ipart / 10000), mm = (int)(n.ipart / 100 % 100), ss = (int)(n.ipart % 100);
    if (hh > 23 || mm > 59 || ss > 60) /* 60: a leap second */
        return -1;
    long long ms = 0;
    if (n.frac_digits > 0) {
        /* Round to the millisecond: .799 -> 799, .6 -> 600, .0005 -> 1. */
        double f = (double)n.frac / pow10_int(n.frac_digits);
        ms = (long long)(f * 1000.0 + 0.5);
    }
    *tod_ms = (int32_t)(((long long)hh * 3600 + mm * 60 + ss) * 1000 + ms);
    return 0;
}

/* ddmmyy -> days since 1970-01-01; two-digit years 80..99 are 19xx, 00..79 are 20xx. */
static int parse_date(const char *s, size_t len, int32_t *days)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (len != 6)
        return -1;
    for (size_t i = 0; i < 6; i++)
        if (!is_digit(s[i]))
            return -1;
    int d = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[2] - '0') * 10 + (s[3] - '0');
    int y = (s[4] - '0') * 10 + (s[5] - '0');
    y += y >= 80 ? 1900 : 2000;
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        return -1;
    *days = days_from_civil(y, m, d);
    return 0;
}

/*
 * (d)ddmm.mmmm plus hemisphere -> signed degrees, checked against `max_deg` (90 or 180).
 * Returns 0 or -1.
 */
static int parse_coord(const char *s, size_t len, const char *hemi, size_t hemi_len,
                       int max_deg, char pos, char neg, double *out)
{
    struct number n;
    if (parse_number(s, len, 0, &n) < 0 || n.int_digits < 3 || n.int_digits > 5)
        return -1;
    if (hemi_len != 1 || (hemi[0] != pos && hemi[0] != neg))
        return -1;
    long long deg = n.ipart / 100;
    double minutes = (double)(n.ipart % 100) + (double)n.frac / pow10_int(n.frac_digits);
    if (minutes >= 60.0)
        return -1;
    double v = (double)deg + minutes / 60.0;
    if (v > max_deg)
        return -1;
    *out = hemi[0] == neg ? -v : v;
    return 0;
}

/* Optional unsigned decimal: empty -> *present = 0. Returns 0 or -1 (malformed). */
static int parse_opt_unsigned(const char *s, size_t len, double *v, int *present)
{
    struct number n;
    *present = 0;
    if (len == 0)
        return 0;
    if (parse_number(s, len, 0, &n) < 0)
        return -1;
    *v = number_value(&n);
    *present = 1;
    return 0;
}

/* Splits "$TTSSS,f1,...,fn" (checksum already removed) at commas; field 0 is the address. */
static int split_fields(const char *body, size_t len, struct fields *fl)
{
    size_t start = 0;
    fl->n = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || body[i] == ',') {
            if (fl->n == MAX_FIELDS)
                return -1;
            fl->p[fl->n] = body + start;
            fl->len[fl->n] = i - start;
            fl->n++;
            start = i + 1;
        }
    }
    return 0;
}

#define F(i) fl->p[i], fl->len[i]

/*
 * RMC: time, status, lat, N/S, lon, E/W, speed (kn), course, date, magvar, E/W [, mode
 * [, nav status]]. The magnetic variation and everything after it are optional.
 */
static int decode_rmc(const struct fields *fl, struct decoded *d)
{
    if (fl->n < 12) /* address + 11 fields (NMEA 2.0); 2.3 and 4.1 add mode and status */
        return GL_EPROTO;
    d->is_rmc = 1;
    if (fl->len[1] > 0) {
        if (parse_time(F(1), &d->f.tod_ms) < 0)
            return GL_EPROTO;
        d->has_tod = 1;
    }
    if (fl->len[2] != 1 || (fl->p[2][0] != 'A' && fl->p[2][0] != 'V'))
        return GL_EPROTO;
    /* NMEA 2.3 mode: A autonomous, D differential, E estimated, F/R RTK, P precise are fixes;
     * N none, M manual input and S simulator are not a position to dispatch on. */
    if (fl->n > 12 && fl->len[12] > 0) {
        char mode = fl->p[12][0];
        if (fl->len[12] != 1 || !strchr("ADEFRPNMS", mode))
            return GL_EPROTO;
        if (mode == 'N' || mode == 'M' || mode == 'S')
            d->nofix = 1;
    }
    if (fl->p[2][0] == 'V')
        d->nofix = 1;
    if (d->nofix)
        return 0;
    if (!d->has_tod)
        return GL_EPROTO;
    if (parse_coord(F(3), F(4), 90, 'N', 'S', &d->f.lat) < 0 ||
        parse_coord(F(5), F(6), 180, 'E', 'W', &d->f.lon) < 0)
        return GL_EPROTO;
    int present;
    double v;
    if (parse_opt_unsigned(F(7), &v, &present) < 0)
        return GL_EPROTO;
    if (present) {
        d->f.speed_mps = v * KNOTS_TO_MPS;
        d->f.flags |= NMEA_FIX_SPEED;
    }
    if (parse_opt_unsigned(F(8), &v, &present) < 0 || (present && v > 360.0))
        return GL_EPROTO;
    if (present) {
        d->f.course_deg = v >= 360.0 ? 0.0 : v;
        d->f.flags |= NMEA_FIX_COURSE;
    }
    if (parse_date(F(9), &d->date_days) < 0)
        return GL_EPROTO;
    d->f.flags |= NMEA_FIX_FROM_RMC;
    return 0;
}

/*
 * GGA: time, lat, N/S, lon, E/W, quality, satellites, hdop, altitude, M, geoid separation, M
 * [, dgps age, station]. Fields after the altitude's unit are not used.
 */
static int decode_gga(const struct fields *fl, struct decoded *d)
{
    if (fl->n < 15) /* address + 14 fields; some receivers append more */
        return GL_EPROTO;
    d->is_rmc = 0;
    if (fl->len[1] > 0) {
        if (parse_time(F(1), &d->f.tod_ms) < 0)
            return GL_EPROTO;
        d->has_tod = 1;
    }
    if (fl->len[6] != 1 || !is_digit(fl->p[6][0]))
        return GL_EPROTO;
    int q = fl->p[6][0] - '0';
    if (q == 0 || q >= 7) /* 7 manual input, 8 simulator, 9 (WAAS on some units) unknown */
        d->nofix = 1;
    if (d->nofix)
        return 0;
    if (!d->has_tod)
        return GL_EPROTO;
    if (parse_coord(F(2), F(3), 90, 'N', 'S', &d->f.lat) < 0 ||
        parse_coord(F(4), F(5), 180, 'E', 'W', &d->f.lon) < 0)
        return GL_EPROTO;
    d->f.quality = q;
    d->f.flags |= NMEA_FIX_QUALITY;
    struct number n;
    if (fl->len[7] > 0) {
        if (parse_number(F(7), 0, &n) < 0 || n.frac_digits > 0 || n.ipart > 255)
            return GL_EPROTO;
        d->f.satellites = (int)n.ipart;
        d->f.flags |= NMEA_FIX_SATS;
    }
    int present;
    if (parse_opt_unsigned(F(8), &d->f.hdop, &present) < 0)
        return GL_EPROTO;
    if (present)
        d->f.flags |= NMEA_FIX_HDOP;
    if (fl->len[9] > 0) {
        if (parse_number(F(9), 1, &n) < 0)
            return GL_EPROTO;
        if (fl->len[10] > 1 || (fl->len[10] == 1 && fl->p[10][0] != 'M'))
            return GL_EPROTO;
        d->f.alt_m = number_value(&n);
        d->f.flags |= NMEA_FIX_ALT;
    }
    d->f.flags |= NMEA_FIX_FROM_GGA;
    return 0;
}

#undef F

/*
 * Checks "$...*hh" (len bytes, no line end). On success *body_len is the length up to '*'.
 * Returns 0, -1 when there is no well-formed "*hh" at the end, -2 when the XOR differs.
 */
static int check_sentence(const char *s, size_t len, size_t *body_len)
{
    if (len < 4 || s[0] != '$' || s[len - 3] != '*')
        return -1;
    int hi = hex_value(s[len - 2]), lo = hex_value(s[len - 1]);
    if (hi < 0 || lo < 0)
        return -1;
    unsigned x = 0;
    for (size_t i = 1; i < len - 3; i++) {
        if (s[i] == '*' || s[i] == '$')
            return -1;
        x ^= (unsigned char)s[i];
    }
    *body_len = len - 3;
    return x == (unsigned)(hi * 16 + lo) ? 0 : -2;
}

/*
 * Decodes a checksum-valid body "$TTSSS,...". Returns 0 (RMC/GGA decoded, maybe nofix),
 * GL_ENOENT (another sentence type), GL_EPROTO (malformed).
 */
static int decode_body(const char *body, size_t len, struct decoded *d)
{
    struct fields fl;
    memset(d, 0, sizeof *d);
    d->date_days = -1;
    if (split_fields(body + 1, len - 1, &fl) < 0)
        return GL_EPROTO;
    const char *addr = fl.p[0];
    if (fl.len[0] != 5 || addr[0] == 'P') /* proprietary: $Pxxx..., not ours */
        return fl.len[0] >= 1 && addr[0] == 'P' ? GL_ENOENT : GL_EPROTO;
    for (int i = 0; i < 2; i++)
        if (!((addr[i] >= 'A' && addr[i] <= 'Z') || is_digit(addr[i])))
            return GL_EPROTO;
    int rc;
    if (memcmp(addr + 2, "RMC", 3) == 0)
        rc = decode_rmc(&fl, d);
    else if (memcmp(addr + 2, "GGA", 3) == 0)
        rc = decode_gga(&fl, d);
    else
        return GL_ENOENT;
    if (rc == 0) {
        d->f.talker[0] = addr[0];
        d->f.talker[1] = addr[1];
        d->f.talker[2] = '\0';
    }
    return rc;
}

int nmea_parse_sentence(const char *sentence, size_t len, nmea_fix_t *fix)
{
    size_t body_len;
    struct decoded d;
    while (len > 0 && (sentence[len - 1] == ' ' || sentence[len - 1] == '\t'))
        len--;
    if (check_sentence(sentence, len, &body_len) < 0)
        return GL_EPROTO;
    int rc = decode_body(sentence, body_len, &d);
    if (rc < 0)
        return rc;
    if (d.nofix)
        return GL_EAGAIN;
    d.f.time_ms = d.f.tod_ms;
    if (d.date_days >= 0) {
        d.f.time_ms += (int64_t)d.date_days * MS_PER_DAY;
        d.f.flags |= NMEA_FIX_DATE;
    }
    *fix = d.f;
    return 0;
}

int64_t nmea_time_from_tod(int32_t tod_ms, int64_t ref_ms)
{
    int64_t day = ref_ms / MS_PER_DAY;
    if (ref_ms < 0 && ref_ms % MS_PER_DAY != 0)
        day--;
    int64_t best = 0, best_diff = -1;
    for (int64_t k = day - 1; k <= day + 1; k++) {
        int64_t t = k * MS_PER_DAY + tod_ms;
        int64_t diff = t > ref_ms ? t - ref_ms : ref_ms - t;
        if (best_diff < 0 || diff < best_diff) {
            best = t;
            best_diff = diff;
        }
    }
    return best;
}

/* ---- fusion ---------------------------------------------------------------------------- */

static void epoch_close(nmea_parser_t *p)
{
    if (!p->epoch_open)
        return;
    nmea_fix_t *f = &p->epoch;
    if (p->epoch_pos && p->epoch_nofix) {
        p->stats.dropped_epochs++;
    } else if (p->epoch_pos) {
        if (p->epoch_date_days >= 0) {
            f->time_ms = (int64_t)p->epoch_date_days * MS_PER_DAY + f->tod_ms;
            f->flags |= NMEA_FIX_DATE;
        } else if (p->date_days >= 0) {
            int64_t days = p->date_days;
            int32_t diff = f->tod_ms - p->date_tod_ms;
            if (diff < -HALF_DAY_MS)
                days++;
            else if (diff > HALF_DAY_MS)
                days--;
            f->time_ms = days * MS_PER_DAY + f->tod_ms;
            f->flags |= NMEA_FIX_DATE;
        } else {
            f->time_ms = f->tod_ms;
        }
        p->stats.fixes++;
        if (p->on_fix)
            p->on_fix(f, p->ctx);
    }
    p->have_closed = 1;
    p->closed_tod_ms = f->tod_ms;
    p->epoch_open = 0;
}

static void epoch_merge(nmea_parser_t *p, const struct decoded *d)
{
    if (!d->has_tod) /* a no-fix sentence without a time belongs to no epoch */
        return;
    if (p->epoch_open && p->epoch.tod_ms != d->f.tod_ms)
        epoch_close(p);
    if (!p->epoch_open) {
        if (p->have_closed && p->closed_tod_ms == d->f.tod_ms) {
            p->stats.late++;
            return;
        }
        memset(&p->epoch, 0, sizeof p->epoch);
        p->epoch.tod_ms = d->f.tod_ms;
        p->epoch_open = 1;
        p->epoch_rmc = p->epoch_gga = p->epoch_pos = p->epoch_nofix = 0;
        p->epoch_date_days = -1;
    }
    nmea_fix_t *e = &p->epoch;
    if (d->is_rmc)
        p->epoch_rmc = 1;
    else
        p->epoch_gga = 1;
    if (d->nofix) {
        p->epoch_nofix = 1;
    } else {
        const nmea_fix_t *f = &d->f;
        e->lat = f->lat;
        e->lon = f->lon;
        memcpy(e->talker, f->talker, sizeof e->talker);
        p->epoch_pos = 1;
        unsigned mine = d->is_rmc ? (NMEA_FIX_SPEED | NMEA_FIX_COURSE | NMEA_FIX_FROM_RMC)
                                  : (NMEA_FIX_ALT | NMEA_FIX_HDOP | NMEA_FIX_SATS |
                                     NMEA_FIX_QUALITY | NMEA_FIX_FROM_GGA);
        /* The sentence's own fields replace the epoch's (an absent one clears it). */
        e->flags = (e->flags & ~mine) | (f->flags & mine);
        if (d->is_rmc) {
            e->speed_mps = f->speed_mps;
            e->course_deg = f->course_deg;
            p->epoch_date_days = d->date_days;
            p->date_days = d->date_days;
            p->date_tod_ms = f->tod_ms;
        } else {
            e->alt_m = f->alt_m;
            e->hdop = f->hdop;
            e->satellites = f->satellites;
            e->quality = f->quality;
        }
    }
    if (p->epoch_rmc && p->epoch_gga)
        epoch_close(p);
}

/* ---- scanner --------------------------------------------------------------------------- */

static void sentence_done(nmea_parser_t *p)
{
    size_t len = p->len, body_len;
    struct decoded d;
    while (len > 0 && (p->buf[len - 1] == ' ' || p->buf[len - 1] == '\t'))
        len--;
    int rc = check_sentence(p->buf, len, &body_len);
    if (rc == -1) {
        p->stats.garbled++;
        return;
    }
    if (rc == -2) {
        p->stats.bad_checksum++;
        return;
    }
    p->stats.sentences++;
    rc = decode_body(p->buf, body_len, &d);
    if (rc == GL_ENOENT) {
        p->stats.ignored++;
        return;
    }
    if (rc < 0) {
        p->stats.malformed++;
        return;
    }
    if (d.nofix)
        p->stats.no_fix++;
    else if (d.is_rmc)
        p->stats.rmc++;
    else
        p->stats.gga++;
    epoch_merge(p, &d);
}

void nmea_parser_init(nmea_parser_t *p, nmea_on_fix on_fix, void *ctx)
{
    memset(p, 0, sizeof *p);
    p->state = SCAN_IDLE;
    p->date_days = -1;
    p->epoch_date_days = -1;
    p->on_fix = on_fix;
    p->ctx = ctx;
}

void nmea_parser_feed(nmea_parser_t *p, const void *data, size_t len)
{
    const unsigned char *b = data;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = b[i];
        if (c == '$') {
            if (p->state == SCAN_IN)
                p->stats.resync++;
            p->state = SCAN_IN;
            p->buf[0] = '$';
            p->len = 1;
            continue;
        }
        switch (p->state) {
        case SCAN_IDLE:
            break; /* garbage between sentences */
        case SCAN_SKIP:
            if (c == '\r' || c == '\n')
                p->state = SCAN_IDLE;
            break;
        case SCAN_IN:
            if (c == '\r' || c == '\n') {
                p->buf[p->len] = '\0';
                p->state = SCAN_IDLE;
                sentence_done(p);
            } else if (c < 0x20 || c > 0x7e) {
                p->stats.garbled++;
                p->state = SCAN_SKIP;
            } else if (p->len >= NMEA_MAX_SENTENCE) {
                p->stats.too_long++;
                p->state = SCAN_SKIP;
            } else {
                p->buf[p->len++] = (char)c;
            }
            break;
        }
    }
}

void nmea_parser_flush(nmea_parser_t *p)
{
    if (p->state == SCAN_IN)
        p->stats.truncated++;
    p->state = SCAN_IDLE;
    p->len = 0;
    epoch_close(p);
}

void nmea_parser_get_stats(const nmea_parser_t *p, nmea_stats_t *out)
{
    *out = p->stats;
}
