/*
 * The monitor-bridge socket: a small line protocol on a local unix stream socket through which
 * a bridge to a real patient monitor (a vendor SDK, an HL7 or IEEE 11073 SDC listener, a serial
 * parser, a script) hands the unit its numerics and ECG without linking into goldline.
 *
 * Protocol (ASCII, one command a line ending in LF, CR before it ignored, fields separated by
 * single or repeated spaces, at most MONITOR_LINE_MAX bytes with the LF). Each line gets one
 * answer line, "ok" or "err <CODE> <reason>", in order, so a bridge can pipeline.
 *
 *   NUM <mdc_code> <value>|- [<epoch_ms>|-]
 *       One numeric: its ISO/IEEE 11073 code (decimal, e.g. 147842 HR, 150456 SpO2, 150021
 *       NIBP systolic; proto/goldline.proto lists them), the value as a decimal number ("-" =
 *       not available, e.g. probe off) and the measurement time in ms since the epoch (absent:
 *       the unit's clock when the line arrives).
 *   ECG <rate_hz> <uv_per_lsb> <epoch_ms>|- <lead>[,<lead>...] <samples>
 *       A slice of ECG: the sample rate (1..10000), microvolts per sample unit (> 0), the time
 *       of the first sample ("-": the unit continues from the end of the previous slice, or
 *       uses its clock minus the slice duration for the first), the lead names (I, II, V1, ...;
 *       1..MONITOR_ECG_MAX_LEADS of them; codes come from wfdb_lead_mdc_code(), 0 for a name it
 *       does not know) and the samples: per lead a comma-separated list of int16 values, the
 *       leads separated by '/', every lead with the same count (1..MONITOR_ECG_MAX_SAMPLES).
 *       Example: "ECG 500 2.5 - I,II 10,12,15/20,21,19".
 *   PING
 *       Answered "ok pong" (a liveness check).
 *
 * Refusals name the field: "err EINVAL NUM: value 'abc' is not a number". A line longer than
 * the limit is answered "err ERANGE line too long" and the connection is closed (the rest of
 * the line cannot be told from the next command). The parser is pure (monitor_line_parse) so
 * tests drive it without a socket; the server part accepts any number of local clients.
 * Values are patient data: nothing here logs them.
 */
#ifndef GL_MONITOR_BRIDGE_H
#define GL_MONITOR_BRIDGE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define MONITOR_LINE_MAX 65536
#define MONITOR_ECG_MAX_LEADS 16
#define MONITOR_ECG_MAX_SAMPLES 1000 /* per lead in one line */
#define MONITOR_LEAD_NAME_MAX 16

enum monitor_msg_kind { MONITOR_MSG_NUM = 1, MONITOR_MSG_ECG, MONITOR_MSG_PING };

/* One parsed line. Large (the ECG samples are inside): keep it off small stacks. */
typedef struct monitor_msg {
    enum monitor_msg_kind kind;
    /* NUM */
    uint32_t mdc_code;
    int has_value; /* 0: "-" (not available) */
    double value;
    int64_t at_ms; /* NUM: measurement time; ECG: first sample time; 0 = not given */
    /* ECG */
    unsigned rate_hz;
    double uv_per_lsb;
    int n_leads;
    char lead_names[MONITOR_ECG_MAX_LEADS][MONITOR_LEAD_NAME_MAX];
    uint32_t lead_codes[MONITOR_ECG_MAX_LEADS];
    unsigned per_lead;                                                /* samples per lead */
    int16_t samples[MONITOR_ECG_MAX_LEADS * MONITOR_ECG_MAX_SAMPLES]; /* lead after lead */
} monitor_msg_t;

/*
 * Parses one line (without its LF; a trailing CR is ignored; `line` is modified) into *out.
 * Returns 0, or GL_EINVAL with a one-line reason in `err` ("NUM: ..."): unknown command,
 * missing or extra fields, numbers that do not parse or are out of range, uneven leads.
 */
int monitor_line_parse(char *line, monitor_msg_t *out, char *err, size_t errlen);

typedef struct monitor_bridge monitor_bridge_t;

/*
 * Called once per good line, `m` borrowed for the call. Return 0 to answer "ok", or a negative
 * GL_E* code to answer "err <NAME> <message>" (e.g. GL_EAGAIN when the unit cannot take it).
 */
typedef int (*monitor_on_msg)(const monitor_msg_t *m, void *ctx);

/*
 * Listens on the unix socket `path` (a stale socket file is replaced; any other file there is
 * refused with GL_EEXIST) on `loop`. Returns 0 and the bridge in *out, or GL_EINVAL (path too
 * long), GL_EEXIST, GL_ENOMEM or a UV_E* code; nothing is left open on failure.
 */
int monitor_bridge_new(uv_loop_t *loop, const char *path, monitor_on_msg cb, void *ctx,
                       monitor_bridge_t **out);

/* Counters since the bridge opened. */
typedef struct monitor_bridge_stats {
    uint64_t lines;   /* lines answered ok */
    uint64_t refused; /* lines answered err */
    uint64_t clients; /* connections accepted */
} monitor_bridge_stats_t;

void monitor_bridge_get_stats(const monitor_bridge_t *b, monitor_bridge_stats_t *out);

/* Closes the socket and every client, removes the socket file; `cb` (may be NULL) runs when all
 * handles are released and the bridge freed. NULL is a no-op. */
void monitor_bridge_close(monitor_bridge_t *b, void (*cb)(void *ctx), void *ctx);

#endif
