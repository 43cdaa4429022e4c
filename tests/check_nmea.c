/*
 * Unit tests of vehicle/nmea.c, the NMEA 0183 parser.
 *
 * "Sentences" and "Errors" check one sentence at a time against values worked out by hand
 * (the classic $GPRMC/$GPGGA examples of the NMEA literature, and times computed independently
 * with gl_time_parse). "Stream" feeds byte streams in awkward pieces: line-end variants, garbage
 * between sentences, overlong and cut-short sentences, the fusion of RMC and GGA into one epoch
 * and the midnight rollover. "Reference" decodes the real receiver logs of GPSD's regression
 * suite in $GL_SHARED_DATA/nmea and compares every fix with gpsd's own decoding in the
 * matching .log.chk (see SOURCE.txt there); it is skipped with a message when the data is absent.
 */
#include "nmea.h"

#include "err.h"
#include "timeutil.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- helpers --------------------------------------------------------------------------- */

/* Wraps `body` (without '$') into "$body*HH" with the right checksum. */
static const char *mk(const char *body)
{
    static char out[8][512]; /* a few calls may share one printf */
    static int slot;
    char *o = out[slot++ % 8];
    unsigned x = 0;
    for (const char *c = body; *c; c++)
        x ^= (unsigned char)*c;
    snprintf(o, sizeof out[0], "$%s*%02X", body, x);
    return o;
}

static int64_t iso(const char *text)
{
    int64_t ms = 0;
    ck_assert_int_eq(gl_time_parse(text, &ms), 0);
    return ms;
}

/* Fixes collected from a parser. */
struct fixes {
    nmea_fix_t *v;
    size_t n, cap;
};

static void collect(const nmea_fix_t *f, void *ctx)
{
    struct fixes *fx = ctx;
    if (fx->n == fx->cap) {
        fx->cap = fx->cap ? fx->cap * 2 : 64;
        fx->v = realloc(fx->v, fx->cap * sizeof *fx->v);
        ck_assert_ptr_nonnull(fx->v);
    }
    fx->v[fx->n++] = *f;
}

/* Feeds `text` in pieces of `chunk` bytes (0 = all at once), then flushes. */
static void feed_all(nmea_parser_t *p, const char *text, size_t len, size_t chunk)
{
    if (chunk == 0)
        chunk = len ? len : 1;
    for (size_t i = 0; i < len; i += chunk)
        nmea_parser_feed(p, text + i, len - i < chunk ? len - i : chunk);
    nmea_parser_flush(p);
}

/* ---- Sentences ------------------------------------------------------------------------- */

START_TEST(test_rmc_classic_example)
{
    /* The textbook example, checksum as published. */
    const char *s = "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A";
    nmea_fix_t f;
    ck_assert_int_eq(nmea_parse_sentence(s, strlen(s), &f), 0);
    ck_assert_str_eq(f.talker, "GP");
    ck_assert(f.flags & NMEA_FIX_DATE);
    ck_assert_int_eq(f.time_ms, iso("1994-03-23T12:35:19Z"));
    ck_assert_int_eq(f.tod_ms, (12 * 3600 + 35 * 60 + 19) * 1000);
    ck_assert_double_eq_tol(f.lat, 48.0 + 7.038 / 60.0, 1e-12);
    ck_assert_double_eq_tol(f.lon, 11.0 + 31.0 / 60.0, 1e-12);
    ck_assert(f.flags & NMEA_FIX_SPEED);
    ck_assert_double_eq_tol(f.speed_mps, 22.4 * 1852.0 / 3600.0, 1e-9);
    ck_assert(f.flags & NMEA_FIX_COURSE);
    ck_assert_double_eq_tol(f.course_deg, 84.4, 1e-9);
    ck_assert(!(f.flags & (NMEA_FIX_ALT | NMEA_FIX_HDOP | NMEA_FIX_SATS)));
}
END_TEST

START_TEST(test_gga_classic_example)
{
    const char *s = "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47";
    nmea_fix_t f;
    ck_assert_int_eq(nmea_parse_sentence(s, strlen(s), &f), 0);
    ck_assert(!(f.flags & NMEA_FIX_DATE)); /* GGA has no date: time of day only */
    ck_assert_int_eq(f.time_ms, (12 * 3600 + 35 * 60 + 19) * 1000);
    ck_assert_double_eq_tol(f.lat, 48.0 + 7.038 / 60.0, 1e-12);
    ck_assert_int_eq(f.quality, 1);
    ck_assert_int_eq(f.satellites, 8);
    ck_assert_double_eq_tol(f.hdop, 0.9, 1e-12);
    ck_assert_double_eq_tol(f.alt_m, 545.4, 1e-9);
    ck_assert(!(f.flags & (NMEA_FIX_SPEED | NMEA_FIX_COURSE)));
}
END_TEST

START_TEST(test_hemispheres_and_fractions)
{
    nmea_fix_t f;
    /* Sydney: south and east. */
    const char *s = mk("GPRMC,010203.45,A,3351.5000,S,15112.6000,E,0.0,,151126,,,A");
    ck_assert_int_eq(nmea_parse_sentence(s, strlen(s), &f), 0);
    ck_assert_double_eq_tol(f.lat, -(33.0 + 51.5 / 60.0), 1e-12);
    ck_assert_double_eq_tol(f.lon, 151.0 + 12.6 / 60.0, 1e-12);
    ck_assert_int_eq(f.time_ms, iso("2026-11-15T01:02:03.450Z"));
    ck_assert(!(f.flags & NMEA_FIX_COURSE)); /* empty course: not reported, not 0 */
    /* Buenos Aires: south and west, with a negative altitude below the geoid. */
    s = mk("GNGGA,235959.999,3436.2000,S,05822.8000,W,2,12,0.6,-12.5,M,14.0,M,,");
    ck_assert_int_eq(nmea_parse_sentence(s, strlen(s), &f), 0);
    ck_assert_double_eq_tol(f.lat, -(34.0 + 36.2 / 60.0), 1e-12);
    ck_assert_double_eq_tol(f.lon, -(58.0 + 22.8 / 60.0), 1e-12);
    ck_assert_double_eq_tol(f.alt_m, -12.5, 1e-12);
    ck_assert_int_eq(f.tod_ms, 86399999);
    /* Anchorage-like western longitude with three degree digits and 8 decimals of minutes. */
    s = mk("GPGGA,000000,6112.12345678,N,14954.00000001,W,4,20,0.5,30.0,M,,M,,");
    ck_assert_int_eq(nmea_parse_sentence(s, strlen(s), &f), 0);
    ck_assert_double_eq_tol(f.lat, 61.0 + 12.12345678 / 60.0, 1e-12);
    ck_assert_double_eq_tol(f.lon, -(149.0 + 54.00000001 / 60.0), 1e-12);
    ck_assert_int_eq(f.quality, 4);
}
END_TEST

START_TEST(test_talkers)
{
    const char *talkers[] = {"GP", "GN", "GL", "GA", "BD", "GB", "GQ", "GI", "QZ"};
    for (size_t i = 0; i < sizeof talkers / sizeof talkers[0]; i++) {
        char body[200];
        snprintf(body, sizeof body, "%sRMC,081500,A,3114.8770,N,12135.2463,E,0.30,4.94,250215,,,A",
                 talkers[i]);
        const char *s = mk(body);
        nmea_fix_t f;
        ck_assert_int_eq(nmea_parse_sentence(s, strlen(s), &f), 0);
        ck_assert_str_eq(f.talker, talkers[i]);
        ck_assert_double_eq_tol(f.lon, 121.0 + 35.2463 / 60.0, 1e-12);
    }
    nmea_fix_t f;
    /* Proprietary and other sentence types are not ours; a lower-case talker is malformed. */
    const char *s = mk("PGRME,7.6,M,41.7,M,42.4,M");
    ck_assert_int_eq(nmea_parse_sentence(s, strlen(s), &f), GL_ENOENT);
    s = mk("GPGSA,A,3,02,05,11,12,18,20,25,29,,,,,1.4,1.1,0.9");
    ck_assert_int_eq(nmea_parse_sentence(s, strlen(s), &f), GL_ENOENT);
    s = mk("gpRMC,081500,A,3114.8770,N,12135.2463,E,0.30,4.94,250215,,,A");
    ck_assert_int_eq(nmea_parse_sentence(s, strlen(s), &f), GL_EPROTO);
    s = mk("GPSRMC,081500,A,3114.8770,N,12135.2463,E,0.30,4.94,250215,,,A");
    ck_assert_int_eq(nmea_parse_sentence(s, strlen(s), &f), GL_EPROTO);
}
END_TEST

START_TEST(test_no_fix_reports)
{
    nmea_fix_t f;
    const char *nofix[] = {
        "GPRMC,081500,V,3114.8770,N,12135.2463,E,0.30,4.94,250215,,",  /* status V */
        "GNRMC,074150.799,V,,,,,,,250215,,,N",                          /* cold start */
        "GPRMC,081500,A,3114.8770,N,12135.2463,E,0.30,4.94,250215,,,N", /* mode N */
        "GPRMC,081500,A,3114.8770,N,12135.2463,E,0.30,4.94,250215,,,S", /* simulator */
        "GNGGA,074150.799,,,,,0,00,,,M,0.0,M,,0000,",                   /* quality 0 */
        "GPGGA,081500,3114.8770,N,12135.2463,E,0,05,1.3,156.9,M,8.3,M,,", /* position, q 0 */
        "GPGGA,081500,3114.8770,N,12135.2463,E,8,05,1.3,156.9,M,8.3,M,,", /* simulator */
        "GPRMC,,V,,,,,,,,,,N",                                          /* no time at all */
    };
    for (size_t i = 0; i < sizeof nofix / sizeof nofix[0]; i++) {
        const char *s = mk(nofix[i]);
        ck_assert_msg(nmea_parse_sentence(s, strlen(s), &f) == GL_EAGAIN, "fix from %s", s);
    }
    /* Quality 6 (dead reckoning) is still a position, flagged by its quality. */
    const char *s = mk("GPGGA,081500,3114.8770,N,12135.2463,E,6,05,1.3,156.9,M,8.3,M,,");
    ck_assert_int_eq(nmea_parse_sentence(s, strlen(s), &f), 0);
    ck_assert_int_eq(f.quality, 6);
}
END_TEST

/* ---- Errors ---------------------------------------------------------------------------- */

START_TEST(test_checksums)
{
    nmea_fix_t f;
    const char *good = "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A";
    char s[128];
    ck_assert_int_eq(nmea_parse_sentence(good, strlen(good), &f), 0);
    /* Lower-case hex digits are the same checksum. */
    strcpy(s, good);
    s[strlen(s) - 1] = 'a';
    ck_assert_int_eq(nmea_parse_sentence(s, strlen(s), &f), 0);
    /* One changed digit of the payload: the XOR no longer matches. */
    strcpy(s, good);
    s[20] = s[20] == '1' ? '2' : '1';
    ck_assert_int_eq(nmea_parse_sentence(s, strlen(s), &f), GL_EPROTO);
    /* Wrong checksum, missing checksum, one hex digit, non-hex digits, no '$'. */
    const char *bad[] = {
        "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6B",
        "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W",
        "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6",
        "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*G6",
        "GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A",
        "$*00",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(nmea_parse_sentence(bad[i], strlen(bad[i]), &f) == GL_EPROTO, "took %s",
                      bad[i]);
}
END_TEST

START_TEST(test_malformed_fields)
{
    const char *bad[] = {
        "GPRMC,081500,A,3160.0000,N,12135.2463,E,0.30,4.94,250215,,",   /* minutes 60 */
        "GPRMC,081500,A,9100.0000,N,12135.2463,E,0.30,4.94,250215,,",   /* lat 91 */
        "GPRMC,081500,A,3114.8770,N,18100.0000,E,0.30,4.94,250215,,",   /* lon 181 */
        "GPRMC,081500,A,3114.8770,X,12135.2463,E,0.30,4.94,250215,,",   /* hemisphere */
        "GPRMC,081500,A,3114.8770,N,12135.2463,,0.30,4.94,250215,,",    /* no hemisphere */
        "GPRMC,081500,A,31.148770,N,12135.2463,E,0.30,4.94,250215,,",   /* degrees, not ddmm */
        "GPRMC,081500,A,3114.87.70,N,12135.2463,E,0.30,4.94,250215,,",  /* two points */
        "GPRMC,081500,A,3114.,N,12135.2463,E,0.30,4.94,250215,,",       /* point, no digits */
        "GPRMC,081500,A,,N,12135.2463,E,0.30,4.94,250215,,",            /* A without lat */
        "GPRMC,246000,A,3114.8770,N,12135.2463,E,0.30,4.94,250215,,",   /* hour 24 */
        "GPRMC,08150,A,3114.8770,N,12135.2463,E,0.30,4.94,250215,,",    /* 5-digit time */
        "GPRMC,,A,3114.8770,N,12135.2463,E,0.30,4.94,250215,,",         /* A without time */
        "GPRMC,081500,A,3114.8770,N,12135.2463,E,-0.30,4.94,250215,,",  /* negative speed */
        "GPRMC,081500,A,3114.8770,N,12135.2463,E,1e3,4.94,250215,,",    /* exponent */
        "GPRMC,081500,A,3114.8770,N,12135.2463,E,0.30,361.0,250215,,",  /* course > 360 */
        "GPRMC,081500,A,3114.8770,N,12135.2463,E,0.30,abc,250215,,",    /* course text */
        "GPRMC,081500,A,3114.8770,N,12135.2463,E,0.30,4.94,310215,,",   /* 31 February */
        "GPRMC,081500,A,3114.8770,N,12135.2463,E,0.30,4.94,290223,,",   /* 29 Feb 2023 */
        "GPRMC,081500,A,3114.8770,N,12135.2463,E,0.30,4.94,,,",         /* A without date */
        "GPRMC,081500,X,3114.8770,N,12135.2463,E,0.30,4.94,250215,,",   /* status X */
        "GPRMC,081500,A,3114.8770,N,12135.2463,E,0.30",                 /* too few fields */
        "GPGGA,081500,3114.8770,N,12135.2463,E,,05,1.3,156.9,M,8.3,M,,", /* empty quality */
        "GPGGA,081500,3114.8770,N,12135.2463,E,1,5.5,1.3,156.9,M,8.3,M,,", /* sats 5.5 */
        "GPGGA,081500,3114.8770,N,12135.2463,E,1,05,1.3,156.9,F,8.3,M,,", /* feet */
        "GPGGA,081500,3114.8770,N,12135.2463,E,1,05,1.3, 156.9,M,8.3,M,,", /* blank */
        "GPGGA,081500,3114.8770,N,12135.2463,E,1,05,-1.3,156.9,M,8.3,M,,", /* hdop < 0 */
        "GPGGA,081500,3114.8770,N,12135.2463,E,1,05,1.3,--1,M,8.3,M,,", /* double sign */
        "GPGGA,081500,3114.8770,N,12135.2463,E,1,05,1.3,156.9,M",        /* too few fields */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nmea_fix_t f;
        const char *s = mk(bad[i]);
        ck_assert_msg(nmea_parse_sentence(s, strlen(s), &f) == GL_EPROTO, "took %s", s);
    }
}
END_TEST

/* ---- Stream ---------------------------------------------------------------------------- */

/* Three epochs, RMC then GGA, with the given line end. */
static size_t three_epochs(char *out, size_t cap, const char *eol)
{
    const char *b[] = {
        "GNRMC,100000.00,A,3114.8770,N,12135.2463,E,10.0,90.0,011126,,,A",
        "GNGGA,100000.00,3114.8770,N,12135.2463,E,1,07,1.1,12.0,M,8.3,M,,",
        "GNRMC,100001.00,A,3114.8780,N,12135.2563,E,10.5,91.0,011126,,,A",
        "GNGGA,100001.00,3114.8780,N,12135.2563,E,1,08,1.0,12.5,M,8.3,M,,",
        "GNRMC,100002.00,A,3114.8790,N,12135.2663,E,11.0,92.0,011126,,,A",
        "GNGGA,100002.00,3114.8790,N,12135.2663,E,2,09,0.9,13.0,M,8.3,M,,",
    };
    size_t n = 0;
    for (size_t i = 0; i < 6; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", mk(b[i]), eol);
    return n;
}

START_TEST(test_stream_fusion_any_chunking)
{
    const char *eols[] = {"\r\n", "\n", "\r", "\n\r", "\r\n\r\n"};
    const size_t chunks[] = {0, 1, 2, 7, 64};
    for (size_t e = 0; e < sizeof eols / sizeof eols[0]; e++) {
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            char text[2048];
            size_t len = three_epochs(text, sizeof text, eols[e]);
            struct fixes fx = {0};
            nmea_parser_t p;
            nmea_parser_init(&p, collect, &fx);
            feed_all(&p, text, len, chunks[c]);
            ck_assert_uint_eq(fx.n, 3);
            ck_assert_uint_eq(p.stats.sentences, 6);
            ck_assert_uint_eq(p.stats.fixes, 3);
            for (size_t i = 0; i < 3; i++) {
                const nmea_fix_t *f = &fx.v[i];
                ck_assert_uint_eq(f->flags & (NMEA_FIX_FROM_RMC | NMEA_FIX_FROM_GGA),
                                  NMEA_FIX_FROM_RMC | NMEA_FIX_FROM_GGA);
                ck_assert_int_eq(f->time_ms, iso("2026-11-01T10:00:00Z") + (int64_t)i * 1000);
                ck_assert_double_eq_tol(f->speed_mps, (10.0 + 0.5 * (double)i) * 1852 / 3600,
                                        1e-9);
                ck_assert_double_eq_tol(f->course_deg, 90.0 + (double)i, 1e-9);
                ck_assert_double_eq_tol(f->alt_m, 12.0 + 0.5 * (double)i, 1e-9);
                ck_assert_int_eq(f->satellites, 7 + (int)i);
                ck_assert_double_eq_tol(f->lon, 121.0 + (35.2463 + 0.01 * (double)i) / 60.0,
                                        1e-9);
            }
            ck_assert_int_eq(fx.v[2].quality, 2);
            free(fx.v);
        }
    }
}
END_TEST

START_TEST(test_stream_garbage_and_broken_sentences)
{
    struct fixes fx = {0};
    nmea_parser_t p;
    nmea_parser_init(&p, collect, &fx);
    char text[16384];
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof text - n, "# a header line\n\n   ");
    /* Binary garbage with NUL and high bytes, no '$'. */
    const unsigned char junk[] = {0x00, 0xff, 0x81, 'x', 0x07, '\r', 0xb5, 0x62, 0x01, '\n'};
    memcpy(text + n, junk, sizeof junk);
    n += sizeof junk;
    /* A sentence cut short by the next one on the same line (resync), then the valid RMC. */
    n += (size_t)snprintf(text + n, sizeof text - n, "$GPGGA,100000%s\r\n",
                          mk("GPRMC,100000,A,3114.8770,N,12135.2463,E,0.0,0.0,011126,,"));
    /* The same epoch's GGA with a wrong checksum: refused, so the RMC stands alone. */
    n += (size_t)snprintf(text + n, sizeof text - n,
                          "$GPGGA,100000,3114.8770,N,12135.2463,E,1,07,1.1,12.0,M,8.3,M,,*00\n");
    /* A sentence cut by a line end (no checksum), and one holding a control byte. */
    n += (size_t)snprintf(text + n, sizeof text - n, "$GPRMC,100001,A,3114.87\n$GPRMC,1\x01\n");
    /* A 5000-byte line: refused as too long, then the parser recovers. */
    text[n++] = '$';
    for (int i = 0; i < 5000; i++)
        text[n++] = 'A';
    text[n++] = '\n';
    n += (size_t)snprintf(text + n, sizeof text - n, "%s\n",
                          mk("GPRMC,100002,A,3114.8790,S,12135.2663,W,0.0,0.0,011126,,"));
    /* A last sentence without its line end: truncated at flush. */
    n += (size_t)snprintf(text + n, sizeof text - n, "$GPRMC,100003,A,31");
    feed_all(&p, text, n, 3);

    ck_assert_uint_eq(p.stats.resync, 1);
    ck_assert_uint_eq(p.stats.bad_checksum, 1);
    ck_assert_uint_eq(p.stats.garbled, 2);
    ck_assert_uint_eq(p.stats.too_long, 1);
    ck_assert_uint_eq(p.stats.truncated, 1);
    ck_assert_uint_eq(p.stats.sentences, 2);
    ck_assert_uint_eq(fx.n, 2);
    /* RMC-only epochs: the first was closed by the next epoch, the second by the flush. */
    ck_assert_int_eq(fx.v[0].time_ms, iso("2026-11-01T10:00:00Z"));
    ck_assert_uint_eq(fx.v[0].flags & NMEA_FIX_FROM_GGA, 0);
    ck_assert_int_eq(fx.v[1].time_ms, iso("2026-11-01T10:00:02Z"));
    ck_assert(fx.v[1].lat < 0 && fx.v[1].lon < 0);
    free(fx.v);
}
END_TEST

START_TEST(test_stream_contradicting_epoch_dropped)
{
    struct fixes fx = {0};
    nmea_parser_t p;
    nmea_parser_init(&p, collect, &fx);
    char text[1024];
    int n = snprintf(text, sizeof text, "%s\n%s\n%s\n%s\n",
                     mk("GPRMC,100000,V,,,,,,,011126,,,N"), mk("GPGGA,100000,,,,,0,00,,,M,,M,,"),
                     mk("GPRMC,100001,A,3114.8770,N,12135.2463,E,0.0,0.0,011126,,"),
                     mk("GPGGA,100001,3114.8770,N,12135.2463,E,0,00,,,M,,M,,"));
    feed_all(&p, text, (size_t)n, 0);
    ck_assert_uint_eq(fx.n, 0);
    ck_assert_uint_eq(p.stats.no_fix, 3);
    ck_assert_uint_eq(p.stats.rmc, 1);
    ck_assert_uint_eq(p.stats.dropped_epochs, 1);
    free(fx.v);
}
END_TEST

START_TEST(test_stream_midnight_rollover)
{
    struct fixes fx = {0};
    nmea_parser_t p;
    nmea_parser_init(&p, collect, &fx);
    char text[2048];
    /* 31 Dec 2026 23:59:59 with both sentences; the 00:00:00 epoch has only a GGA (its date
     * must roll to 1 Jan 2027); the 00:00:01 epoch sends GGA before RMC. */
    int n = snprintf(text, sizeof text, "%s\n%s\n%s\n%s\n%s\n",
                     mk("GPRMC,235959,A,3114.8770,N,12135.2463,E,1.0,10.0,311226,,"),
                     mk("GPGGA,235959,3114.8770,N,12135.2463,E,1,07,1.1,12.0,M,8.3,M,,"),
                     mk("GPGGA,000000,3114.8771,N,12135.2463,E,1,07,1.1,12.0,M,8.3,M,,"),
                     mk("GPGGA,000001,3114.8772,N,12135.2463,E,1,07,1.1,12.0,M,8.3,M,,"),
                     mk("GPRMC,000001,A,3114.8772,N,12135.2463,E,1.0,10.0,010127,,"));
    feed_all(&p, text, (size_t)n, 5);
    ck_assert_uint_eq(fx.n, 3);
    ck_assert_int_eq(fx.v[0].time_ms, iso("2026-12-31T23:59:59Z"));
    ck_assert(fx.v[1].flags & NMEA_FIX_DATE);
    ck_assert_int_eq(fx.v[1].time_ms, iso("2027-01-01T00:00:00Z"));
    ck_assert_uint_eq(fx.v[1].flags & NMEA_FIX_FROM_RMC, 0);
    ck_assert_int_eq(fx.v[2].time_ms, iso("2027-01-01T00:00:01Z"));
    ck_assert_uint_eq(fx.v[2].flags & (NMEA_FIX_FROM_RMC | NMEA_FIX_FROM_GGA),
                      NMEA_FIX_FROM_RMC | NMEA_FIX_FROM_GGA);
    free(fx.v);
}
END_TEST

START_TEST(test_stream_gga_only_has_no_date)
{
    struct fixes fx = {0};
    nmea_parser_t p;
    nmea_parser_init(&p, collect, &fx);
    const char *s = mk("GPGGA,235959.5,3114.8770,N,12135.2463,E,1,07,1.1,12.0,M,8.3,M,,");
    char text[256];
    int n = snprintf(text, sizeof text, "%s\r\n", s);
    feed_all(&p, text, (size_t)n, 0);
    ck_assert_uint_eq(fx.n, 1);
    ck_assert_uint_eq(fx.v[0].flags & NMEA_FIX_DATE, 0);
    ck_assert_int_eq(fx.v[0].time_ms, 86399500);
    /* The caller dates it with its own clock: just after midnight means yesterday's 23:59. */
    ck_assert_int_eq(nmea_time_from_tod(fx.v[0].tod_ms, iso("2026-01-02T00:00:05Z")),
                     iso("2026-01-01T23:59:59.500Z"));
    ck_assert_int_eq(nmea_time_from_tod(fx.v[0].tod_ms, iso("2026-01-01T23:59:58Z")),
                     iso("2026-01-01T23:59:59.500Z"));
    ck_assert_int_eq(nmea_time_from_tod(1000, iso("2026-01-01T23:59:58Z")),
                     iso("2026-01-02T00:00:01Z"));
    free(fx.v);
}
END_TEST

START_TEST(test_stream_late_sentence_ignored)
{
    struct fixes fx = {0};
    nmea_parser_t p;
    nmea_parser_init(&p, collect, &fx);
    char text[1024];
    int n = snprintf(text, sizeof text, "%s\n%s\n%s\n",
                     mk("GPRMC,100000,A,3114.8770,N,12135.2463,E,0.0,0.0,011126,,"),
                     mk("GPGGA,100000,3114.8770,N,12135.2463,E,1,07,1.1,12.0,M,8.3,M,,"),
                     mk("GNRMC,100000,A,3114.8770,N,12135.2463,E,0.0,0.0,011126,,"));
    feed_all(&p, text, (size_t)n, 0);
    ck_assert_uint_eq(fx.n, 1);
    ck_assert_uint_eq(p.stats.late, 1);
    free(fx.v);
}
END_TEST

START_TEST(test_stream_random_bytes_never_crash)
{
    /* Random bytes mixed with pieces of valid sentences: the parser must not crash, and every
     * '$' must end up in exactly one of the scanner's counters. */
    const char *piece = mk("GNRMC,100000.00,A,3114.8770,N,12135.2463,E,10.0,90.0,011126,,,A");
    size_t plen = strlen(piece);
    unsigned seed = 12345;
    nmea_parser_t p;
    nmea_parser_init(&p, NULL, NULL);
    unsigned long dollars = 0;
    char buf[512];
    for (int round = 0; round < 2000; round++) {
        size_t len = 0;
        while (len < sizeof buf) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = (seed >> 16) & 0x7fff;
            if (r % 50 == 0 && len + plen + 2 < sizeof buf) {
                size_t cut = r % 7 == 0 ? r % plen : plen; /* sometimes cut short */
                memcpy(buf + len, piece, cut);
                len += cut;
                buf[len++] = r % 3 ? '\n' : '\r';
            } else {
                buf[len++] = (char)(r & 0xff);
            }
        }
        for (size_t i = 0; i < len; i++)
            dollars += buf[i] == '$';
        nmea_parser_feed(&p, buf, len);
    }
    nmea_parser_flush(&p);
    nmea_stats_t st;
    nmea_parser_get_stats(&p, &st);
    ck_assert_uint_eq(st.sentences + st.bad_checksum + st.garbled + st.too_long + st.resync +
                          st.truncated,
                      dollars);
    ck_assert_uint_gt(st.rmc, 0);
    ck_assert_uint_eq(st.sentences, st.ignored + st.malformed + st.no_fix + st.rmc + st.gga);
}
END_TEST

/* ---- Reference: gpsd's decoding of real logs ------------------------------------------- */

/* What SOURCE.txt's analysis of each log justifies (see the comments). */
struct ref_case {
    const char *name;
    unsigned long sentences, bad_checksum, garbled, resync, rmc, gga, no_fix, fixes;
    size_t untimed; /* fixes that gpsd reported without a time (it had no date yet) */
};

static const struct ref_case ref_cases[] = {
    /* 79 sentences; the '#' header names "$BDGSA." (a '$' without checksum: 1 garbled).
     * 10 RMC + 10 GGA: 5 epochs of V / quality 0, 5 with a fix; leading-space RMC accepted.
     * gpsd reports the first fixed epoch (07:41:55.799) before it trusts a date: untimed. */
    {"beidou-bd.log", 79, 0, 1, 0, 5, 5, 10, 5, 1},
    /* 68 sentences, 5 RMC + 5 GGA, of which 2 epochs have a fix; as in beidou-bd, gpsd
     * reports the first of them (05:32:32.438) without a time. */
    {"beidou-gb.log", 68, 0, 0, 0, 2, 2, 6, 2, 1},
    /* Every GGA has a bad checksum (23); RMC and ZDA are valid: 23 RMC-only fixes. */
    {"firefly-II.log", 46, 23, 0, 0, 23, 0, 0, 23, 0},
    /* 7 epochs of RMC + GGA (DGPS), Garmin proprietary sentences ignored. */
    {"garmin15x.log", 57, 0, 0, 0, 7, 7, 0, 7, 0},
    /* 122 epochs at 10 Hz, GN then GP talker, RTK qualities 2 and 4. */
    {"nmea-rtk.log", 244, 0, 0, 0, 122, 122, 0, 122, 0},
    /* The header line "# Note: Quectel Querks: $PQGSV and $PQGSA" holds two '$': the first
     * fragment is dropped when the second begins (resync), the second has no checksum. */
    {"quectel-eg25-g-2.log", 60, 0, 1, 1, 3, 3, 0, 3, 0},
    /* Line 19 "$GPGGA,030130$GPGLL,...": the cut GGA is a resync, the GLL is valid (ignored),
     * so the 03:01:30 epoch has no RMC/GGA: 4 fixes where gpsd has 5 epochs (one from GLL). */
    {"triton400.log", 28, 0, 0, 1, 4, 4, 0, 4, 0},
    /* Line 11's binary garbage has no '$' and is followed on the same line by a valid RMC;
     * the truncated last RMC ends in CRLF without a checksum (1 garbled). */
    {"ublox-8.log", 1008, 0, 1, 0, 72, 72, 0, 72, 0},
};

/* One gpsd TPV report that carries a position. */
struct tpv {
    int64_t time_ms; /* -1 when the report had no time */
    double lat, lon;
    int has_speed, has_track, has_alt;
    double speed, track, alt;
    int matched;
};

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)size, fp), (size_t)size);
    buf[size] = '\0';
    fclose(fp);
    *len = (size_t)size;
    return buf;
}

/* Time of day (ms) of field 1 of an echoed "$ttRMC,hhmmss.ss,..." / GGA line, or -1. */
static int64_t echoed_tod(const char *line)
{
    while (*line == ' ')
        line++;
    if (line[0] != '$' || strlen(line) < 8 ||
        (strncmp(line + 3, "RMC,", 4) != 0 && strncmp(line + 3, "GGA,", 4) != 0))
        return -1;
    int hh, mm;
    double ss;
    if (sscanf(line + 7, "%2d%2d%lf", &hh, &mm, &ss) != 3)
        return -1;
    return ((int64_t)hh * 3600 + mm * 60) * 1000 + (int64_t)llround(ss * 1000.0);
}

/*
 * Reads a .chk: the last TPV of each time (gpsd's state after all sentences of that epoch),
 * the TPVs without a time, and the times of day of the RMC/GGA sentences gpsd echoed.
 */
static size_t load_chk(const char *path, struct tpv **out, int64_t **tods, size_t *ntods)
{
    size_t len;
    char *text = read_file(path, &len);
    struct tpv *v = NULL;
    size_t n = 0, cap = 0;
    *tods = NULL;
    *ntods = 0;
    size_t tcap = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] != '{') {
            int64_t tod = echoed_tod(line);
            if (tod >= 0) {
                if (*ntods == tcap) {
                    tcap = tcap ? tcap * 2 : 64;
                    *tods = realloc(*tods, tcap * sizeof **tods);
                }
                (*tods)[(*ntods)++] = tod;
            }
            continue;
        }
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        ck_assert_msg(o != NULL, "%s: bad JSON: %s", path, jerr.text);
        const char *cls = json_string_value(json_object_get(o, "class"));
        json_t *lat = json_object_get(o, "lat"), *lon = json_object_get(o, "lon");
        if (!cls || strcmp(cls, "TPV") != 0 || !json_is_number(lat) || !json_is_number(lon) ||
            json_integer_value(json_object_get(o, "mode")) < 2) {
            json_decref(o);
            continue;
        }
        struct tpv t = {.time_ms = -1, .lat = json_number_value(lat),
                        .lon = json_number_value(lon)};
        const char *ts = json_string_value(json_object_get(o, "time"));
        if (ts)
            ck_assert_int_eq(gl_time_parse(ts, &t.time_ms), 0);
        json_t *j;
        if ((j = json_object_get(o, "speed")) && json_is_number(j))
            t.has_speed = 1, t.speed = json_number_value(j);
        if ((j = json_object_get(o, "track")) && json_is_number(j))
            t.has_track = 1, t.track = json_number_value(j);
        if ((j = json_object_get(o, "altMSL")) && json_is_number(j))
            t.has_alt = 1, t.alt = json_number_value(j);
        json_decref(o);
        size_t slot = n;
        if (t.time_ms >= 0)
            for (size_t i = 0; i < n; i++)
                if (v[i].time_ms == t.time_ms)
                    slot = i;
        if (slot == n) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                v = realloc(v, cap * sizeof *v);
                ck_assert_ptr_nonnull(v);
            }
            n++;
        }
        v[slot] = t;
    }
    free(text);
    *out = v;
    return n;
}

static int near_pos(const struct tpv *t, const nmea_fix_t *f)
{
    /* gpsd prints 9 decimals of a degree (0.1 mm); 1e-8 deg is about 1 mm. */
    return fabs(t->lat - f->lat) <= 1e-8 && fabs(t->lon - f->lon) <= 1e-8;
}

static void check_log(const struct ref_case *rc, const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rc->name);
    size_t len;
    char *log = read_file(path, &len);
    struct fixes fx = {0};
    nmea_parser_t p;
    nmea_parser_init(&p, collect, &fx);
    feed_all(&p, log, len, 13); /* an odd chunk size: sentences split anywhere */
    free(log);

    const nmea_stats_t *st = &p.stats;
    ck_assert_msg(st->sentences == rc->sentences && st->bad_checksum == rc->bad_checksum &&
                      st->garbled == rc->garbled && st->resync == rc->resync &&
                      st->rmc == rc->rmc && st->gga == rc->gga && st->no_fix == rc->no_fix &&
                      st->fixes == rc->fixes && fx.n == rc->fixes,
                  "%s: sentences %lu bad %lu garbled %lu resync %lu rmc %lu gga %lu nofix %lu "
                  "fixes %lu",
                  rc->name, st->sentences, st->bad_checksum, st->garbled, st->resync, st->rmc,
                  st->gga, st->no_fix, st->fixes);
    ck_assert_uint_eq(st->malformed, 0);
    ck_assert_uint_eq(st->too_long, 0);

    snprintf(path, sizeof path, "%s/%s.chk", dir, rc->name);
    struct tpv *ref;
    int64_t *tods;
    size_t ntods;
    size_t nref = load_chk(path, &ref, &tods, &ntods);
    size_t untimed = 0;
    for (size_t i = 0; i < fx.n; i++) {
        const nmea_fix_t *f = &fx.v[i];
        ck_assert_msg(f->flags & NMEA_FIX_DATE, "%s: fix %zu has no date", rc->name, i);
        struct tpv *t = NULL;
        for (size_t k = 0; k < nref && !t; k++)
            if (ref[k].time_ms == f->time_ms)
                t = &ref[k];
        if (!t) {
            /* gpsd had no date yet: the same position must be among its untimed reports. */
            for (size_t k = 0; k < nref && !t; k++)
                if (ref[k].time_ms < 0 && near_pos(&ref[k], f))
                    t = &ref[k];
            ck_assert_msg(t != NULL, "%s: fix at %lld not in gpsd's output", rc->name,
                          (long long)f->time_ms);
            untimed++;
            t->matched = 1;
            continue;
        }
        t->matched = 1;
        ck_assert_msg(near_pos(t, f), "%s @%lld: lat/lon %.9f %.9f, gpsd %.9f %.9f", rc->name,
                      (long long)f->time_ms, f->lat, f->lon, t->lat, t->lon);
        if (f->flags & NMEA_FIX_SPEED) {
            /* gpsd prints speed with 3 decimals of m/s. */
            ck_assert_msg(t->has_speed && fabs(t->speed - f->speed_mps) <= 0.0015,
                          "%s @%lld: speed %.4f, gpsd %.4f", rc->name, (long long)f->time_ms,
                          f->speed_mps, t->speed);
        }
        if (f->flags & NMEA_FIX_COURSE) {
            /* track with 4 decimals. */
            ck_assert_msg(t->has_track && fabs(t->track - f->course_deg) <= 0.0002,
                          "%s @%lld: course %.4f, gpsd %.4f", rc->name, (long long)f->time_ms,
                          f->course_deg, t->track);
        }
        if (f->flags & NMEA_FIX_ALT) {
            ck_assert_msg(t->has_alt && fabs(t->alt - f->alt_m) <= 0.0002,
                          "%s @%lld: alt %.4f, gpsd %.4f", rc->name, (long long)f->time_ms,
                          f->alt_m, t->alt);
        } else {
            ck_assert_uint_eq(f->flags & NMEA_FIX_FROM_GGA, 0);
        }
    }
    ck_assert_uint_eq(untimed, rc->untimed);
    /* Every epoch gpsd reported with a time and built from an RMC or GGA we also saw must be
     * one of ours (epochs from GLL/GNS/ZDA only are gpsd's business). */
    for (size_t k = 0; k < nref; k++) {
        if (ref[k].time_ms < 0 || ref[k].matched)
            continue;
        int64_t tod = ref[k].time_ms % 86400000;
        for (size_t j = 0; j < ntods; j++)
            ck_assert_msg(tods[j] != tod, "%s: gpsd epoch %lld missing from our fixes",
                          rc->name, (long long)ref[k].time_ms);
    }
    size_t timed = 0;
    for (size_t k = 0; k < nref; k++)
        timed += ref[k].time_ms >= 0;
    printf("check_nmea: %-22s %4lu fixes match gpsd (gpsd: %zu timed epochs with a position)\n",
           rc->name, st->fixes, timed);
    free(ref);
    free(tods);
    free(fx.v);
}

START_TEST(test_reference_logs)
{
    const char *dir = GL_SHARED_DATA "/nmea";
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        printf("check_nmea: SKIP reference logs: %s not found\n", dir);
        return;
    }
    check_log(&ref_cases[_i], dir);
}
END_TEST

static Suite *nmea_suite(void)
{
    Suite *s = suite_create("nmea");
    TCase *tc = tcase_create("Sentences");
    tcase_add_test(tc, test_rmc_classic_example);
    tcase_add_test(tc, test_gga_classic_example);
    tcase_add_test(tc, test_hemispheres_and_fractions);
    tcase_add_test(tc, test_talkers);
    tcase_add_test(tc, test_no_fix_reports);
    suite_add_tcase(s, tc);
    tc = tcase_create("Errors");
    tcase_add_test(tc, test_checksums);
    tcase_add_test(tc, test_malformed_fields);
    suite_add_tcase(s, tc);
    tc = tcase_create("Stream");
    tcase_add_test(tc, test_stream_fusion_any_chunking);
    tcase_add_test(tc, test_stream_garbage_and_broken_sentences);
    tcase_add_test(tc, test_stream_contradicting_epoch_dropped);
    tcase_add_test(tc, test_stream_midnight_rollover);
    tcase_add_test(tc, test_stream_gga_only_has_no_date);
    tcase_add_test(tc, test_stream_late_sentence_ignored);
    tcase_add_test(tc, test_stream_random_bytes_never_crash);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("Reference");
    tcase_add_loop_test(tc, test_reference_logs, 0,
                        (int)(sizeof ref_cases / sizeof ref_cases[0]));
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(nmea_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
