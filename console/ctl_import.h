/*
 * `goldlinectl import-calls`: real emergency call records (../shared/data/calls: San Francisco
 * Fire Department calls, one row per responding unit; New York City EMS incidents, one row per
 * incident) turned into closed historical incidents with their timelines, so that
 * `goldlinectl report` computes the golden-time metrics on real stage times (docs/reports.md).
 *
 * This part is pure: it parses the file held in memory, checks every row, groups the SF unit
 * rows by call, and maps each stage column onto our event kinds:
 *
 *   SF Received DtTm / NYC INCIDENT_DATETIME        -> call_received
 *   SF Dispatch DtTm / NYC FIRST_ASSIGNMENT         -> assigned (SF: with the unit)
 *   SF Response DtTm / NYC FIRST_ACTIVATION         -> status en_route (wheels rolling)
 *   SF On Scene DtTm / NYC FIRST_ON_SCENE           -> status on_scene
 *   SF Transport DtTm / NYC FIRST_TO_HOSP           -> status transporting
 *   SF Hospital DtTm / NYC FIRST_HOSP_ARRIVAL       -> status at_hospital
 *   SF Available DtTm                               -> status available
 *   the call's last stage / NYC INCIDENT_CLOSE      -> closed
 *
 * A row is taken whole or not at all: a row with a missing call time, an unparsable time, stages
 * out of order, a stage more than 24 h after the call, or a repeated unit (SF) / incident (NYC)
 * is rejected and counted by reason. Times are local wall-clock times of the source, read in
 * the process time zone, which ctl_import_run() sets to the source's (America/Los_Angeles,
 * America/New_York) before parsing.
 */
#ifndef GL_CTL_IMPORT_H
#define GL_CTL_IMPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum imp_source { IMP_SF = 0, IMP_NYC } imp_source_t;

/* XX(NAME, text): why a row was rejected. */
#define IMP_REASON_MAP(XX)                                                                         \
    XX(SHORT_ROW, "fewer fields than the header")                                                  \
    XX(NO_CALL_TIME, "no call time (Received / INCIDENT_DATETIME)")                                \
    XX(BAD_TIME, "a time that does not parse")                                                     \
    XX(OUT_OF_ORDER, "stages out of order")                                                        \
    XX(TOO_LATE, "a stage more than 24 h after the call")                                          \
    XX(DUPLICATE, "the same unit twice in a call, or the same incident twice")                     \
    XX(CALL_MISMATCH, "call time differs from the call's other rows")

typedef enum imp_reason {
#define XX(name, text) IMP_R_##name,
    IMP_REASON_MAP(XX)
#undef XX
        IMP_R__COUNT
} imp_reason_t;

const char *imp_reason_text(imp_reason_t r);

typedef struct imp_event {
    int64_t at_ms;
    char kind[24];    /* call_received, assigned, status, closed */
    char vehicle[24]; /* the unit (SF), or "" */
    char detail[96];  /* JSON object text ({"status":"on_scene"}), or "" */
} imp_event_t;

typedef struct imp_call {
    char key[48];       /* "sf:<Call Number>" / "nyc:<CAD_INCIDENT_ID>": the import's unique key */
    int day;            /* the source's local date of the call, YYYYMMDD */
    int64_t created_ms; /* the call time */
    int64_t closed_ms;  /* the last stage (NYC: INCIDENT_CLOSE when present) */
    char complaint[16]; /* our complaint class */
    int priority;       /* 1 (most urgent) .. 4 */
    int has_geom;       /* SF has a (block-level) location; NYC has none */
    double lat, lon;
    char notes[128];     /* the source's call type and group */
    imp_event_t *events; /* sorted by time; malloc'd */
    size_t nevents, cap;
    size_t rows; /* valid rows that made it */
} imp_call_t;

typedef struct imp_stats {
    size_t rows;                  /* data rows read (within --limit) */
    size_t rejected;              /* rows rejected */
    size_t reasons[IMP_R__COUNT]; /* rejected rows by reason */
    size_t calls;                 /* calls kept (each becomes an incident) */
    size_t empty_calls;           /* calls whose every row was rejected */
    size_t filtered_calls;        /* calls left out by --medical */
} imp_stats_t;

/*
 * Parses "MM/DD/YYYY hh:mm:ss AM|PM" as a local time of the process time zone. Returns 0 and
 * sets *ms; GL_ENOENT for an empty field; GL_EINVAL for anything else.
 */
int imp_parse_time(const char *text, int64_t *ms);

/*
 * Splits one line in place into at most max fields: sep ',' follows RFC 4180 quoting ("a, b"
 * and "" inside quotes), sep '\t' splits plainly. Returns the number of fields.
 */
int imp_split(char *line, char sep, char **fields, int max);

/*
 * Parses a whole file (buf[0..len-1], modified in place, NUL-terminated by the caller) of
 * `src`. limit > 0 keeps the first `limit` calls in file order (every row of each, wherever it
 * is in the file); medical_only keeps SF calls whose Call Type is "Medical Incident" or whose
 * Call Type Group is a medical one. `rejects` (may be NULL) gets one line per rejected row (its
 * line number, call number, unit and reason: identifiers only, no patient data). On success *calls
 * (malloc'd, free with imp_free) holds the calls that have at least one valid row, and *st the
 * counts. `unmapped` (may be NULL) receives the header columns that are not mapped to anything,
 * comma-separated. Returns 0, GL_EINVAL (a header without the needed columns; message in err) or
 * GL_ENOMEM.
 */
int imp_load(char *buf, size_t len, imp_source_t src, long limit, int medical_only, FILE *rejects,
             imp_call_t **calls, size_t *ncalls, imp_stats_t *st, char *unmapped,
             size_t unmapped_len, char *err, size_t errlen);

void imp_free(imp_call_t *calls, size_t n);

/*
 * `goldlinectl import-calls FILE [--source sf|nyc] [--limit N] [--medical] [--batch N]
 * [--dry-run] [--rejects] [--pg CONNINFO]`: parses, then writes the calls in transactions of
 * --batch calls (default 500) unless --dry-run; --rejects lists every rejected row. Prints a
 * summary on out. Returns an exit code (0 ok, 1 internal, 2 usage or unreadable file, 3 database).
 */
int ctl_import_run(int argc, char **argv, FILE *out, FILE *err);

#endif
