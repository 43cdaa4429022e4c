/*
 * JT/T 808 (2013 and 2019) messages: framing, escaping, the check code, the header and the
 * bodies a positioning gateway needs. Pure functions on byte buffers: no sockets, no clock, no
 * logging, no allocation, so the same code is unit-tested on real terminal frames and fuzzed.
 *
 * A message on the wire is 0x7e, then the escaped bytes of header + body + check code, then
 * 0x7e. Escaping turns 0x7d into 7d 01 and 0x7e into 7d 02. The check code is the XOR of every
 * unescaped byte from the message id to the last body byte. The header is
 *   msg id u16, body properties u16 (bits 0-9 body length, 10-12 encryption, 13 subpackets,
 *   14 the 2019 version flag, 15 reserved), [2019: protocol version u8], terminal phone number in
 * BCD (6 bytes in 2013, 10 in 2019), msg serial u16, [bit 13: packet total u16, packet index u16].
 * All integers are big-endian.
 *
 * Decisions beyond the standard, each forced by frames real devices send:
 *  - The layout follows the frame length, not bit 14 alone: a frame with bit 14 set whose length
 *    only fits the 2013 layout is read as 2013 (seen from real terminals; `version_flag` keeps
 *    the bit so that re-encoding gives the same bytes).
 *  - The phone number is kept as the hex digits of its BCD bytes (leading zeros included), so a
 *    terminal with a non-BCD id (Jimi JC371: 4eb6fb4ad628) still has a stable name.
 *    jt808_phone_key() strips the leading zeros: "013511221122" (2013) and
 *    "00000000013511221122" (2019) are the same terminal "13511221122".
 *  - A 0x0100 body shorter than the 2013 fixed part (37 bytes) is the 2011 layout (8-byte model).
 *  - Times are BCD YYMMDDhhmmss in UTC+8 (the standard's "GMT+8"); years are 2000 + YY.
 *    An all-zero time (a terminal with no fix yet) is "no time", not an error.
 */
#ifndef GL_JT808_CODEC_H
#define GL_JT808_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define JT808_FLAG 0x7e
#define JT808_ESC 0x7d
#define JT808_BODY_MAX 1023                                   /* 10 bits of length */
#define JT808_HEADER_MAX 21                                   /* 2019 + subpackets */
#define JT808_MSG_MAX (JT808_HEADER_MAX + JT808_BODY_MAX + 1) /* unescaped, + check */
#define JT808_FRAME_MAX (2 * JT808_MSG_MAX + 2)               /* escaped, + flags */
#define JT808_PHONE_MAX 21                                    /* 20 digits + NUL */
#define JT808_AUTH_MAX 64                                     /* auth code + NUL */
#define JT808_TZ_OFFSET_MIN 480                               /* UTC+8 */

/* Message ids this codec knows. */
enum jt808_msg_id {
    JT808_MSG_TERMINAL_ACK = 0x0001, /* terminal general response */
    JT808_MSG_HEARTBEAT = 0x0002,
    JT808_MSG_LOGOUT = 0x0003,
    JT808_MSG_REGISTER = 0x0100,
    JT808_MSG_AUTH = 0x0102,
    JT808_MSG_LOCATION = 0x0200,
    JT808_MSG_BATCH = 0x0704,
    JT808_MSG_PLATFORM_ACK = 0x8001, /* platform general response */
    JT808_MSG_REGISTER_REPLY = 0x8100,
};

/* 0x8001 result codes. */
enum jt808_ack_result {
    JT808_ACK_OK = 0,
    JT808_ACK_FAILURE = 1,
    JT808_ACK_MSG_ERROR = 2,
    JT808_ACK_UNSUPPORTED = 3,
    JT808_ACK_ALARM_CONFIRMED = 4,
};

/* 0x8100 result codes. */
enum jt808_register_result {
    JT808_REG_OK = 0,
    JT808_REG_VEHICLE_TAKEN = 1,  /* vehicle already registered */
    JT808_REG_NO_VEHICLE = 2,     /* no such vehicle in the database */
    JT808_REG_TERMINAL_TAKEN = 3, /* terminal already registered */
    JT808_REG_NO_TERMINAL = 4,    /* no such terminal in the database */
};

/* 0x0200 status bits the gateway reads (alarm bits are passed on as a word). */
#define JT808_STATUS_ACC (1u << 0)
#define JT808_STATUS_FIXED (1u << 1) /* positioned */
#define JT808_STATUS_SOUTH (1u << 2)
#define JT808_STATUS_WEST (1u << 3)
#define JT808_ALARM_EMERGENCY (1u << 0)

/* Why a frame or body was refused: XX(NAME, text). */
#define JT808_FAULT_MAP(XX)                                                                        \
    XX(NONE, "no fault")                                                                           \
    XX(GARBAGE, "bytes outside 0x7e flags")                                                        \
    XX(ESCAPE, "0x7d not followed by 01 or 02")                                                    \
    XX(OVERSIZE, "frame longer than the largest message")                                          \
    XX(SHORT, "shorter than a header and check code")                                              \
    XX(LENGTH, "body length disagrees with the frame")                                             \
    XX(CHECK, "check code mismatch")                                                               \
    XX(BODY, "body too short or inconsistent for its message id")                                  \
    XX(TIME, "impossible BCD time")                                                                \
    XX(ITEM, "additional item runs past the body")                                                 \
    XX(COUNT, "batch count disagrees with the items present")                                      \
    XX(TOO_BIG, "value does not fit the message")

typedef enum jt808_fault {
#define XX(name, text) JT808_FAULT_##name,
    JT808_FAULT_MAP(XX)
#undef XX
} jt808_fault_t;

/* A static description of a fault. */
const char *jt808_fault_text(jt808_fault_t f);

typedef enum jt808_version { JT808_V2013 = 0, JT808_V2019 = 1 } jt808_version_t;

typedef struct jt808_header {
    uint16_t msg_id;
    uint16_t body_len;           /* from the body properties (bits 0-9) */
    uint8_t encryption;          /* bits 10-12; 0 = none */
    uint8_t subpacket;           /* bit 13 */
    uint8_t version_flag;        /* bit 14 as sent */
    uint8_t reserved;            /* bit 15 as sent (kept so that re-encoding is exact) */
    jt808_version_t version;     /* the layout actually used */
    uint8_t proto_version;       /* 2019 only: the protocol version byte */
    char phone[JT808_PHONE_MAX]; /* hex digits of the BCD number, leading zeros kept */
    uint16_t serial;             /* message serial number */
    uint16_t pkt_total;          /* subpackets only: total packets, and this packet's index */
    uint16_t pkt_index;          /* (1-based) */
} jt808_header_t;

typedef struct jt808_msg {
    jt808_header_t h;
    const uint8_t *body; /* borrowed from the decoded buffer */
    size_t body_len;
} jt808_msg_t;

/* XOR of n bytes. */
uint8_t jt808_xor(const uint8_t *p, size_t n);

/*
 * Escapes `n` bytes (header + body + check code) and frames them: writes 0x7e, the escaped
 * bytes, 0x7e into `out` (`cap` bytes). Returns the frame length, or 0 when `cap` is too small.
 */
size_t jt808_escape(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

/*
 * Unescapes the bytes between two flags (`in` must not contain 0x7e) into `out` (may be `in`
 * itself: unescaping only shrinks). Returns the unescaped length, or -1 on a bad escape (0x7d
 * followed by anything but 01 or 02, or at the end) or a raw 0x7e.
 */
long jt808_unescape(const uint8_t *in, size_t n, uint8_t *out);

/*
 * Decodes one unescaped message (header + body + check code, no flags). On success fills *m
 * (its body points into `buf`) and returns 0. Otherwise returns GL_EPROTO and sets *fault (may
 * be NULL) to SHORT, LENGTH or CHECK. The length is checked before the check code, so a
 * truncated frame is reported as such.
 */
int jt808_decode(const uint8_t *buf, size_t n, jt808_msg_t *m, jt808_fault_t *fault);

/*
 * Encodes a whole wire frame: header `h` (its body_len is ignored and taken from `body_len`;
 * subpacket fields are written when h->subpacket), the body, the check code, escaped and
 * framed, into `out`. Returns 0 and the length in *outlen, GL_EINVAL (bad phone digits, body
 * over JT808_BODY_MAX) or GL_ENOSPC (`cap` too small; JT808_FRAME_MAX always suffices).
 */
int jt808_encode(const jt808_header_t *h, const uint8_t *body, size_t body_len, uint8_t *out,
                 size_t cap, size_t *outlen);

/*
 * Fills a header for an outgoing message: `msg_id`, `serial`, phone and version (layout, flag
 * and protocol version byte) copied from `like` (the terminal's message being answered, or a
 * template), no encryption, no subpackets.
 */
void jt808_header_reply(jt808_header_t *h, const jt808_header_t *like, uint16_t msg_id,
                        uint16_t serial);

/*
 * Canonical terminal key: the phone's digits without leading zeros, lower-case ("0" stays
 * "0"). `out` holds JT808_PHONE_MAX bytes. Returns 0, or GL_EINVAL for an empty phone, one
 * longer than 20 digits or one with a character that is not a hex digit.
 */
int jt808_phone_key(const char *phone, char out[JT808_PHONE_MAX]);

/* ---------------------------------------------------------------- stream reassembly */

/*
 * Cuts a TCP byte stream into messages. Every 0x7e is a boundary (a terminal may share one flag
 * between two frames), empty frames are skipped, escapes are undone on the fly, and the buffer
 * is bounded by JT808_MSG_MAX: a longer run is dropped and reported once as OVERSIZE when its
 * closing flag arrives. Bytes before the first flag are reported once as GARBAGE at that flag.
 */
typedef struct jt808_stream {
    uint8_t buf[JT808_MSG_MAX]; /* the unescaped message so far */
    size_t len;
    size_t dropped;     /* bytes dropped in the current run (oversize or garbage) */
    uint8_t synced;     /* a flag has been seen */
    uint8_t esc;        /* the previous byte was 0x7d */
    uint8_t bad_escape; /* the current frame had a bad escape */
    uint8_t oversize;   /* the current frame overflowed */
} jt808_stream_t;

/*
 * Called once per complete frame: `msg`/`len` is the unescaped message (pass it to
 * jt808_decode), fault NONE; or `msg` NULL and a framing fault (GARBAGE, ESCAPE, OVERSIZE) with
 * `len` the number of bytes dropped. `msg` is borrowed for the call. Return non-zero to stop
 * feeding (e.g. the connection is closing); the rest of the chunk is then not consumed.
 */
typedef int (*jt808_on_frame)(void *ctx, const uint8_t *msg, size_t len, jt808_fault_t fault);

void jt808_stream_init(jt808_stream_t *s);

/* Feeds `n` bytes. Returns the bytes consumed (n unless a callback returned non-zero). */
size_t jt808_stream_feed(jt808_stream_t *s, const uint8_t *p, size_t n, jt808_on_frame cb,
                         void *ctx);

/* ---------------------------------------------------------------- bodies */

/* BCD YYMMDDhhmmss in a zone `offset_min` east of UTC → ms since the epoch (UTC). Returns 0,
 * 1 for the all-zero "no time", or GL_EPROTO (non-BCD digit, impossible date or time). */
int jt808_bcd_time_to_ms(const uint8_t bcd[6], int offset_min, int64_t *ms);

/* The reverse, for building messages (tests, simulators). Years 2000..2099 only: GL_ERANGE. */
int jt808_ms_to_bcd_time(int64_t ms, int offset_min, uint8_t bcd[6]);

#define JT808_LOC_MILEAGE (1u << 0)    /* item 0x01 */
#define JT808_LOC_FUEL (1u << 1)       /* item 0x02 */
#define JT808_LOC_TACHO (1u << 2)      /* item 0x03 */
#define JT808_LOC_EXT_STATUS (1u << 3) /* item 0x25 */
#define JT808_LOC_IO (1u << 4)         /* item 0x2A */
#define JT808_LOC_RSSI (1u << 5)       /* item 0x30 */
#define JT808_LOC_SATS (1u << 6)       /* item 0x31 */
#define JT808_LOC_ITEMS_MAX 48         /* item ids remembered; more are parsed but not listed */

/* A 0x0200 body (also each position of a 0x0704). Raw units, as on the wire. */
typedef struct jt808_location {
    uint32_t alarm;           /* alarm flag word */
    uint32_t status;          /* status word (JT808_STATUS_*) */
    int32_t lat_1e6, lon_1e6; /* 1e-6 degree, signed by the SOUTH/WEST status bits */
    uint16_t alt_m;           /* altitude, m */
    uint16_t speed_01kmh;     /* speed, 0.1 km/h */
    uint16_t direction;       /* course, degrees from north, 0-359 */
    uint8_t time_bcd[6];
    int time_valid;                        /* 0: all-zero time */
    int64_t time_ms;                       /* UTC, from UTC+8 (0 when !time_valid) */
    unsigned have;                         /* JT808_LOC_* additional items present */
    uint32_t mileage_01km;                 /* 0x01: 0.1 km */
    uint16_t fuel_01l;                     /* 0x02: 0.1 L */
    uint16_t tacho_01kmh;                  /* 0x03: tachograph speed, 0.1 km/h */
    uint32_t ext_status;                   /* 0x25 */
    uint16_t io_status;                    /* 0x2A */
    uint8_t rssi;                          /* 0x30 */
    uint8_t sats;                          /* 0x31 */
    uint8_t item_ids[JT808_LOC_ITEMS_MAX]; /* every item id, in order */
    size_t n_items;                        /* items present (may exceed JT808_LOC_ITEMS_MAX) */
} jt808_location_t;

/* Parses a 0x0200 body. Returns 0, or GL_EPROTO with *fault BODY, TIME or ITEM. A known item
 * with an unexpected length is listed but its value is not taken. */
int jt808_parse_location(const uint8_t *body, size_t len, jt808_location_t *loc,
                         jt808_fault_t *fault);

/*
 * Writes a 0x0200 body from `loc` (the base fields, time_bcd, and the items flagged in `have`
 * among mileage, tacho speed, rssi and satellites). Returns the length, or 0 if `cap` is short.
 */
size_t jt808_build_location(const jt808_location_t *loc, uint8_t *out, size_t cap);

/* A 0x0704 batch: iterate with jt808_batch_next(). */
typedef struct jt808_batch {
    uint16_t count;         /* positions announced */
    uint8_t type;           /* 0 normal batch, 1 blind-area supplement */
    const uint8_t *p, *end; /* what is left */
    uint16_t done;          /* positions returned so far */
} jt808_batch_t;

/* Reads the batch head. Returns 0 or GL_EPROTO (BODY). */
int jt808_batch_begin(jt808_batch_t *b, const uint8_t *body, size_t len, jt808_fault_t *fault);

/*
 * Parses the next position into *loc. Returns 1 when a position was returned, 0 at the end
 * (all `count` positions read and nothing left over), GL_EPROTO otherwise (COUNT when the count
 * and the bytes disagree, or the position's own fault).
 */
int jt808_batch_next(jt808_batch_t *b, jt808_location_t *loc, jt808_fault_t *fault);

/* A 0x0100 terminal registration body. Strings have trailing NULs and spaces removed. */
typedef struct jt808_register {
    uint16_t province, city;
    char maker[12];       /* 5 bytes (2011/2013), 11 (2019) */
    char model[31];       /* 8 (2011), 20 (2013), 30 (2019) */
    char terminal_id[31]; /* 7 (2011/2013), 30 (2019) */
    uint8_t plate_color;  /* 0: no plate, the plate field is then the VIN */
    uint8_t plate[32];    /* raw bytes (GBK), NUL-terminated, truncated at 31 */
    size_t plate_len;
    int layout; /* 2011, 2013 or 2019 */
} jt808_register_t;

/* Parses a 0x0100 body; `v` is the header's layout. Returns 0 or GL_EPROTO (BODY). */
int jt808_parse_register(const uint8_t *body, size_t len, jt808_version_t v, jt808_register_t *r,
                         jt808_fault_t *fault);

/* Writes a 0x0100 body in the 2013 or 2019 layout. Returns the length, 0 if `cap` is short. */
size_t jt808_build_register(const jt808_register_t *r, jt808_version_t v, uint8_t *out, size_t cap);

/* A 0x0102 authentication body. */
typedef struct jt808_auth {
    char code[JT808_AUTH_MAX]; /* the authentication code */
    char imei[16];             /* 2019 only */
    char sw_version[21];       /* 2019 only */
} jt808_auth_t;

/* Parses a 0x0102 body. Returns 0 or GL_EPROTO (BODY; also a code of JT808_AUTH_MAX or more
 * bytes, or one holding a NUL). */
int jt808_parse_auth(const uint8_t *body, size_t len, jt808_version_t v, jt808_auth_t *a,
                     jt808_fault_t *fault);

/* Writes a 0x0102 body. Returns the length, or 0 if `cap` is short or the code too long. */
size_t jt808_build_auth(const jt808_auth_t *a, jt808_version_t v, uint8_t *out, size_t cap);

/* 0x8001 platform general response. */
typedef struct jt808_platform_ack {
    uint16_t ack_serial; /* serial of the terminal message answered */
    uint16_t ack_msg_id;
    uint8_t result; /* enum jt808_ack_result */
} jt808_platform_ack_t;

int jt808_parse_platform_ack(const uint8_t *body, size_t len, jt808_platform_ack_t *a,
                             jt808_fault_t *fault);
/* Writes the 5-byte body. Returns 5, or 0 if `cap` is short. */
size_t jt808_build_platform_ack(const jt808_platform_ack_t *a, uint8_t *out, size_t cap);

/* 0x8100 registration reply. */
typedef struct jt808_register_reply {
    uint16_t ack_serial;            /* serial of the 0x0100 answered */
    uint8_t result;                 /* enum jt808_register_result */
    char auth_code[JT808_AUTH_MAX]; /* result 0 only */
} jt808_register_reply_t;

int jt808_parse_register_reply(const uint8_t *body, size_t len, jt808_register_reply_t *r,
                               jt808_fault_t *fault);
/* Writes the body (the code only with result 0). Returns the length, or 0 if `cap` is short. */
size_t jt808_build_register_reply(const jt808_register_reply_t *r, uint8_t *out, size_t cap);

#endif
