/*
 * The golden-time engine: how each case is doing against the chest-pain, stroke and 120-centre
 * time targets (docs/golden-time.md).
 *
 * Metrics are data (table golden_metrics, seeded by a migration): a name, the cases it applies
 * to, a start and an end event, a target and a warning threshold. An event reference is a list
 * of alternatives separated by '|', each the kind of a timeline event ("first_ecg"), a unit
 * status ("status:on_scene") or the incident's onset time ("onset"); the earliest matching
 * event counts, by its own timestamp, so late and out-of-order events are handled by
 * construction. Everything is computed from the incident's timeline, never stored twice, so a
 * restart recomputes every clock.
 *
 * Pure: no I/O, no clock of its own (the caller passes now_ms).
 */
#ifndef GL_GOLDEN_H
#define GL_GOLDEN_H

#include "incident.h"

#include <stdint.h>

#define GOLDEN_NAME_LEN 48
#define GOLDEN_EVENT_LEN 96

typedef struct golden_metric {
    char name[GOLDEN_NAME_LEN];        /* "fmc_to_ecg" */
    char applies_to[24];               /* all | chest_pain | stroke | stemi | town | countryside */
    char start_event[GOLDEN_EVENT_LEN];
    char end_event[GOLDEN_EVENT_LEN];
    int64_t target_ms;                 /* the end must come within this of the start */
    int64_t warning_ms;                /* a running clock warns from here (0: no warning) */
} golden_metric_t;

/* XX(NAME, text) */
#define GOLDEN_STATE_MAP(XX)                                                                      \
    XX(NOT_APPLICABLE, "not_applicable")                                                          \
    XX(WAITING, "waiting")       /* the start event has not happened */                           \
    XX(RUNNING, "running")       /* started, not ended, within the warning threshold */           \
    XX(WARNING, "warning")       /* running past the warning threshold */                         \
    XX(BREACHED, "breached")     /* running past the target */                                    \
    XX(MET, "met")                                                                                \
    XX(MISSED, "missed")         /* ended, after the target */                                    \
    XX(INCOMPLETE, "incomplete") /* the case is over and the start or end was never recorded */

typedef enum golden_state {
#define XX(name, text) GOLDEN_##name,
    GOLDEN_STATE_MAP(XX)
#undef XX
} golden_state_t;

const char *golden_state_name(golden_state_t st);

typedef struct golden_clock {
    golden_state_t state;
    int64_t start_ms, end_ms;          /* 0 when not (yet) known */
    int64_t elapsed_ms;                /* end - start, or now - start while running */
} golden_clock_t;

/* 1 if `m` applies to `inc` (its complaint, a confirmed STEMI, its area class). */
int golden_applies(const golden_metric_t *m, const incident_t *inc);

/*
 * The earliest time of an event matching `ref` ("a|status:b|onset") in the timeline of `inc`;
 * returns 1 and sets *at_ms, or 0 if none matched.
 */
int golden_find_event(const incident_t *inc, const char *ref, int64_t *at_ms);

/* The clock of metric `m` for `inc` at `now_ms`. */
golden_clock_t golden_evaluate(const golden_metric_t *m, const incident_t *inc, int64_t now_ms);

/*
 * The alert level a clock calls for: 2 for a breach, 1 for a warning, 0 for none. An alert
 * already recorded in the timeline (event "golden_alert" with this metric and level) is not
 * asked for again, which makes alerts once-only across restarts.
 */
int golden_alert_due(const golden_metric_t *m, const incident_t *inc, const golden_clock_t *c);

/* Event kinds a crew, an ED or an operator may record on an incident (NULL-terminated). */
extern const char *const golden_event_kinds[];
int golden_event_kind_ok(const char *kind);

#endif
