/*
 * Compliance reports of the golden-time metrics over a period (`goldlinectl report`, see
 * docs/reports.md). The computation is pure and lives here so that tests/check_report.c can
 * check it against hand-computed answers: which events start and end a case's interval, the
 * per-metric figures (n, complete, incomplete, compliance %, mean, median, p90, the worst
 * cases), and the evaluation of a metric's compliance rule as stored in golden_metrics
 * ("monthly mean <= 90 min and >= 75% of cases"). ctl_db.c only fetches the metrics, the
 * incidents and their events; ctl_report_run() ties the two together for the command line.
 *
 * An interval starts at the earliest event matching the metric's start reference and ends at
 * the earliest event matching the end reference at or after that start. References are
 * dispatcher/golden.h's: alternatives separated by '|', each an event kind ("first_ecg"), a
 * unit status ("status:on_scene") or "onset" (the incident's symptom onset).
 */
#ifndef GL_CTL_REPORT_H
#define GL_CTL_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define REP_WORST 5 /* worst cases listed per metric */

typedef struct rep_event {
    int64_t at_ms;   /* when it happened, ms since the epoch */
    char kind[32];   /* "call_received", "status", ... */
    char status[24]; /* the unit status of a "status" event, else "" */
} rep_event_t;

typedef struct rep_incident {
    char id[24];         /* incident number, "20180101-0001" */
    char ref[48];        /* the source's key of an imported incident ("sf:180014214"), or "" */
    char complaint[16];  /* chest_pain, stroke, trauma, obstetric, newborn, other */
    int64_t onset_ms;    /* symptom onset / last known well, 0 if unknown */
    rep_event_t *events; /* the timeline, any order; owned by whoever filled it */
    size_t nevents;
} rep_incident_t;

typedef struct rep_metric {
    char name[48];
    char applies_to[24]; /* all | chest_pain | stroke | stemi | town | countryside */
    char start_event[96];
    char end_event[96];
    int64_t target_ms;
    char compliance[256]; /* the rule as stored, e.g. ">= 95% within 10 s" */
} rep_metric_t;

/* How one case stands against one metric. */
typedef enum rep_case {
    REP_NOT_APPLICABLE = 0,
    REP_NO_START,     /* applies, the start event was never recorded */
    REP_NO_END,       /* started, no end event at all */
    REP_OUT_OF_ORDER, /* started, but every end event lies before the start */
    REP_COMPLETE,     /* start and end found: *interval_ms is set */
} rep_case_t;

/* 1 if metric `m` applies to `inc`: its complaint, a stemi_confirmed event, its area class
 * (until incidents carry one, every call is held to the town target, as the dispatcher does). */
int rep_applies(const rep_metric_t *m, const rep_incident_t *inc);

/*
 * The earliest time of an event of `inc` matching `ref` that is at or after `not_before_ms`
 * (pass INT64_MIN for any). Returns 1 and sets *at_ms, or 0 if none matched.
 */
int rep_find_event(const rep_incident_t *inc, const char *ref, int64_t not_before_ms,
                   int64_t *at_ms);

/* How `inc` stands against `m`; on REP_COMPLETE sets *interval_ms (end - start, >= 0). */
rep_case_t rep_case(const rep_metric_t *m, const rep_incident_t *inc, int64_t *interval_ms);

/*
 * The p-quantile (0 <= p <= 1) of n sorted values by linear interpolation between closest
 * ranks (rank p*(n-1), numpy's default and ../shared/data/calls/PROFILE.md's method). n > 0.
 */
double rep_percentile(const double *sorted, size_t n, double p);

/* One clause of a compliance rule. */
typedef struct rep_clause {
    int what;        /* REP_RULE_MEAN, REP_RULE_SHARE_WITHIN, REP_RULE_SHARE_MET */
    int op;          /* REP_OP_LT, REP_OP_LE, REP_OP_GE, REP_OP_GT */
    double value;    /* seconds for a mean, percent for a share */
    double within_s; /* REP_RULE_SHARE_WITHIN: the bound of each case */
} rep_clause_t;

enum { REP_RULE_MEAN = 1, REP_RULE_SHARE_WITHIN, REP_RULE_SHARE_MET };
enum { REP_OP_LT = 1, REP_OP_LE, REP_OP_GE, REP_OP_GT };

#define REP_MAX_CLAUSES 4

/*
 * Parses a compliance rule: clauses joined by "and", each "[monthly] mean OP DURATION",
 * "OP PCT% within DURATION" or "OP PCT% of WORDS" (the share of cases within the metric's
 * target); OP is <, <=, >=, >, ≤ or ≥; DURATION is a number with s, sec, min or h. Returns the
 * number of clauses (1..REP_MAX_CLAUSES) written to out, or 0 when the text is not entirely of
 * that form (then it is shown as text, not judged).
 */
int rep_rule_parse(const char *text, rep_clause_t *out);

/* The figures of one metric over a set of incidents. */
typedef struct rep_result {
    const rep_metric_t *metric; /* borrowed */
    size_t n;                   /* cases it applies to */
    size_t complete;            /* cases with both events (end at or after start) */
    size_t incomplete;          /* n - complete: start or end missing, or the end only before it */
    size_t out_of_order;        /* of the incomplete: end events exist, but only before the start */
    size_t met;                 /* complete cases within the target (exactly at it is met) */
    double compliance_pct;      /* met / complete * 100; NAN when complete == 0 */
    double mean_s, median_s, p90_s; /* of the complete intervals; NAN when complete == 0 */
    size_t nworst;
    struct {
        const rep_incident_t *inc; /* borrowed */
        double interval_s;
    } worst[REP_WORST];    /* longest intervals first; ties by incident number */
    int rule_state;        /* 1 met, 0 not met, -1 not machine-readable, -2 no complete case */
    char rule_detail[160]; /* what was judged: "mean 12:30 < 10:00: no; 80.0% within 10:00 >= 75%:
                              yes" */
} rep_result_t;

/* Computes the figures of `m` over incs[0..n-1]. Returns 0, or GL_ENOMEM. */
int rep_compute(const rep_metric_t *m, const rep_incident_t *incs, size_t n, rep_result_t *out);

/* The period and filters a report was made for (printed with it). */
typedef struct rep_header {
    const char *from, *to; /* "2018-01-01" */
    const char *hospital;  /* or NULL */
    size_t incidents;      /* closed or cancelled incidents in the period (and filter) */
    size_t open_excluded;  /* open incidents in the period, left out */
} rep_header_t;

/* Writes the report as JSON (one object, indented), CSV (one line per metric, header first)
 * or a table for people. Returns 0 or GL_EIO. */
int rep_print_json(FILE *out, const rep_header_t *h, const rep_result_t *r, size_t n);
int rep_print_csv(FILE *out, const rep_header_t *h, const rep_result_t *r, size_t n);
int rep_print_table(FILE *out, const rep_header_t *h, const rep_result_t *r, size_t n);

/*
 * Parses a calendar date "YYYY-MM-DD" (or YYYYMMDD) into YYYYMMDD as an int, checking it is a
 * real date. Returns 0 or GL_EINVAL.
 */
int rep_parse_day(const char *text, int *day);

/*
 * `goldlinectl report --from DATE --to DATE [--hospital ID] [--format json|csv|table]
 * [--metric NAME] [--pg CONNINFO]`: argv[0] is the program, the word "report" is somewhere in
 * argv. Connects to PostGIS (ctl_db_conninfo()), fetches, computes, prints to out; messages go
 * to err. Returns a process exit code (0 ok, 1 internal, 2 usage, 3 database unreachable or
 * failing).
 */
int ctl_report_run(int argc, char **argv, FILE *out, FILE *err);

/*
 * Which database command argv holds, if any: 1 for "report", 2 for "import-calls", 0 for
 * another (websocket) command. Skips goldlinectl's global options and their values.
 */
int ctl_pg_command(int argc, char **argv);

#endif
