/*
 * NMEA 0183 stream parser: bytes from a GNSS receiver in, one fused position fix per epoch out.
 *
 * The parser is fed arbitrary chunks of bytes (a file, a serial device, stdin) and finds the
 * sentences itself: a sentence starts at '$' and ends at CR or LF; bytes outside a sentence
 * (binary garbage, blanks, '#' comment lines of a recorded log) are skipped, and a '$' inside a
 * sentence drops the fragment before it and starts over, so a receiver that cuts a sentence
 * short resynchronises on the next one. A sentence longer than NMEA_MAX_SENTENCE is refused.
 *
 * Every sentence must end in "*hh", the XOR of the bytes between '$' and '*'; one without a
 * valid checksum is refused and counted. Of the checksummed sentences, RMC and GGA from any
 * two-letter talker (GP, GN, GL, GA, BD, GB, ...) are decoded; the rest are counted as ignored.
 * Fields are parsed strictly: a malformed number or an out-of-range value makes the sentence
 * invalid, and an RMC with status V (or NMEA 2.3 mode N, M or S) or a GGA with fix quality 0
 * (or 7 = manual, 8 = simulator) says "no fix".
 *
 * Fusion. RMC and GGA sentences with the same UTC time of day belong to one epoch, whose fields
 * are merged into one nmea_fix_t. The epoch is delivered to the callback when both an RMC and a
 * GGA of it have been seen, when a sentence of another epoch arrives, or on nmea_parser_flush()
 * (end of file, or an idle line: receivers send an epoch as one burst). It is delivered only if
 * some sentence gave a valid position and no sentence of the same epoch said "no fix":
 * contradictory receivers are not trusted with an ambulance's position.
 *
 * Dates. Only RMC carries a date. An epoch with an RMC takes the RMC's date. A GGA-only epoch
 * takes the date of the last valid RMC, moved by one day when its time of day is more than 12 h
 * before (or after) that RMC's, which handles the midnight rollover between the two. Before any
 * valid RMC has been seen a GGA-only fix has no date: NMEA_FIX_DATE is clear, time_ms holds only
 * the time of day, and the caller decides (nmea_time_from_tod() picks the day nearest a clock).
 */
#ifndef GL_NMEA_H
#define GL_NMEA_H

#include <stddef.h>
#include <stdint.h>

/* Longest sentence accepted, '$' to checksum inclusive. NMEA says 82; real receivers (RTK,
 * NMEA 4.x extra fields) exceed that, so we allow more but still bound the buffer. */
#define NMEA_MAX_SENTENCE 256

/* Bits of nmea_fix_t.flags: which fields hold a value, and which sentences contributed. */
enum nmea_fix_flag {
    NMEA_FIX_DATE = 1u << 0,   /* time_ms is a full UTC time; otherwise only the time of day */
    NMEA_FIX_SPEED = 1u << 1,  /* speed_mps (RMC) */
    NMEA_FIX_COURSE = 1u << 2, /* course_deg (RMC) */
    NMEA_FIX_ALT = 1u << 3,    /* alt_m (GGA) */
    NMEA_FIX_HDOP = 1u << 4,   /* hdop (GGA) */
    NMEA_FIX_SATS = 1u << 5,   /* satellites (GGA) */
    NMEA_FIX_QUALITY = 1u << 6, /* quality (GGA) */
    NMEA_FIX_FROM_RMC = 1u << 8, /* a valid RMC of this epoch was seen */
    NMEA_FIX_FROM_GGA = 1u << 9, /* a valid GGA of this epoch was seen */
};

/* One fused epoch. Only fields whose flag is set hold a value; the others are 0. */
typedef struct nmea_fix {
    int64_t time_ms;   /* UTC ms since the epoch (NMEA_FIX_DATE), else ms since midnight UTC */
    int32_t tod_ms;    /* UTC time of day in ms, always set (0 .. 86 400 999) */
    double lat;        /* WGS-84 degrees, south negative, always set */
    double lon;        /* WGS-84 degrees, west negative, always set */
    double speed_mps;  /* ground speed, m/s */
    double course_deg; /* course over ground, degrees true, [0, 360) */
    double alt_m;      /* antenna altitude above mean sea level, m */
    double hdop;       /* horizontal dilution of precision */
    int satellites;    /* satellites in use */
    int quality;       /* GGA fix quality: 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float, 6 estimated */
    unsigned flags;    /* nmea_fix_flag bits */
    char talker[3];    /* talker of the last sentence merged ("GN", "BD", ...) */
} nmea_fix_t;

/* Counters since nmea_parser_init(). Each '$' the scanner sees lands in exactly one of
 * sentences, bad_checksum, garbled, too_long, resync, truncated (or is still pending); each
 * valid sentence in exactly one of ignored, malformed, no_fix, rmc, gga. */
typedef struct nmea_stats {
    unsigned long sentences;    /* checksum-valid sentences of any type */
    unsigned long bad_checksum; /* "*hh" present but the XOR differs */
    unsigned long garbled;      /* no well-formed "*hh" at the end, or a byte NMEA forbids */
    unsigned long too_long;     /* longer than NMEA_MAX_SENTENCE */
    unsigned long resync;       /* fragments dropped because a new '$' began inside them */
    unsigned long truncated;    /* fragment pending at flush (stream ended mid-sentence) */
    unsigned long ignored;      /* valid sentences of other types (GSV, VTG, P..., ...) */
    unsigned long malformed;    /* RMC/GGA with a bad address or a field that does not parse */
    unsigned long no_fix;       /* RMC/GGA that parsed but reported no fix */
    unsigned long rmc, gga;     /* RMC/GGA sentences that gave a valid position */
    unsigned long fixes;        /* fused fixes delivered to the callback */
    unsigned long dropped_epochs; /* epochs with a position discarded because a sentence of
                                   * the same epoch said "no fix" */
    unsigned long late;         /* RMC/GGA of an epoch already delivered (ignored) */
} nmea_stats_t;

typedef struct nmea_parser nmea_parser_t;

/* Called once per fused fix; `fix` is borrowed for the duration of the call. */
typedef void (*nmea_on_fix)(const nmea_fix_t *fix, void *ctx);

/* The parser's state; embed it and treat the fields as private (tests read `stats`). */
struct nmea_parser {
    char buf[NMEA_MAX_SENTENCE + 1]; /* the sentence being collected, from '$' */
    size_t len;                      /* bytes in buf */
    int state;                       /* scanner state (nmea.c) */
    nmea_fix_t epoch;                /* the epoch being fused */
    int epoch_open;                  /* 1 while `epoch` has at least one sentence */
    int epoch_rmc, epoch_gga;        /* RMC / GGA of this epoch seen (valid or not) */
    int epoch_pos;                   /* a valid position was merged */
    int epoch_nofix;                 /* some sentence of this epoch said "no fix" */
    int32_t epoch_date_days;         /* date of this epoch's own RMC, -1 if none */
    int have_closed;                 /* an epoch has been closed */
    int32_t closed_tod_ms;           /* the time of day of the last closed epoch */
    int32_t date_days;               /* days since 1970-01-01 of the last valid RMC, -1 if none */
    int32_t date_tod_ms;             /* that RMC's time of day */
    nmea_on_fix on_fix;              /* callback, may be NULL */
    void *ctx;                       /* passed to on_fix */
    nmea_stats_t stats;              /* counters */
};

/* Initialises `p` (no allocation; nothing to close). `on_fix` may be NULL to only count. */
void nmea_parser_init(nmea_parser_t *p, nmea_on_fix on_fix, void *ctx);

/*
 * Feeds `len` bytes of the stream; any split is fine (one byte at a time, a whole file). Calls
 * on_fix for each epoch completed by these bytes. Never fails: bad input is counted in stats.
 */
void nmea_parser_feed(nmea_parser_t *p, const void *data, size_t len);

/*
 * Declares the stream idle or ended: a partial sentence is dropped (counted as truncated) and
 * the open epoch, if it holds a fix, is delivered now instead of waiting for the next epoch.
 */
void nmea_parser_flush(nmea_parser_t *p);

/* Copies the counters into *out. */
void nmea_parser_get_stats(const nmea_parser_t *p, nmea_stats_t *out);

/*
 * Parses one complete sentence ("$GPRMC,...*hh", no line end) on its own, without fusion.
 * On success fills *fix (flags say which fields) and returns 0. Returns GL_EPROTO for a bad or
 * missing checksum or a malformed field, GL_ENOENT for a valid sentence that is not RMC/GGA,
 * GL_EAGAIN for a valid RMC/GGA that reports no fix. A GGA's time_ms is its time of day.
 */
int nmea_parse_sentence(const char *sentence, size_t len, nmea_fix_t *fix);

/*
 * Turns a UTC time of day into a full time: the one of (day before, same day, day after) of
 * `ref_ms` that is nearest to `ref_ms`. Used for fixes without NMEA_FIX_DATE, with the unit's
 * clock as reference.
 */
int64_t nmea_time_from_tod(int32_t tod_ms, int64_t ref_ms);

#endif
