/*
 * Where the patient goes: the capable hospital with the shortest travel time that is not on
 * diversion (issue "Golden-time engine ... destination choice by capability"). STEMI → a PCI
 * centre with its cath lab ready; stroke → a stroke centre (IVT) with CT ready, or a
 * thrombectomy (EVT) centre when an LVO is suspected, last known well is within 6 h and the
 * extra time stays within a bound (default 30 min); trauma → trauma centre; obstetric,
 * newborn → obstetric / neonatal care. No capable hospital reachable: the nearest one not on
 * diversion, and the reason says so.
 *
 * Pure: the caller passes each hospital's travel time from the scene.
 */
#ifndef GL_DESTINATION_H
#define GL_DESTINATION_H

#include "incident.h"

#include <stddef.h>
#include <stdint.h>

/* XX(NAME, text) — hospital capabilities as in the hospitals table */
#define HOSPITAL_CAP_MAP(XX)                                                                      \
    XX(PCI, "pci")                                                                                \
    XX(STROKE_IVT, "stroke_ivt")                                                                  \
    XX(STROKE_EVT, "stroke_evt")                                                                  \
    XX(TRAUMA, "trauma")                                                                          \
    XX(OBSTETRIC, "obstetric")                                                                    \
    XX(NEONATAL, "neonatal")

enum hospital_cap {
#define XX(name, text) HOSPITAL_CAP_##name##_BIT,
    HOSPITAL_CAP_MAP(XX)
#undef XX
};
#define HOSPITAL_CAP(name) (1u << HOSPITAL_CAP_##name##_BIT)

typedef struct hospital {
    char id[40];
    char name[128];
    double lat, lon;
    unsigned caps;             /* HOSPITAL_CAP(...) bits */
    int cath_lab_ready, ct_ready, on_diversion;
} hospital_t;

/* Parses a capability name ("pci") into its bit; 0 for an unknown name. */
unsigned hospital_cap_parse(const char *name);

typedef struct destination_choice {
    int hospital;              /* index into the array, -1 when there is no hospital at all */
    double travel_s;           /* its travel time */
    char reason[200];          /* why, for the timeline and the console */
} destination_choice_t;

#define DESTINATION_EVT_EXTRA_S 1800.0 /* an LVO goes to thrombectomy if it costs no more */
#define DESTINATION_EVT_WINDOW_MS (6LL * 3600 * 1000)

/*
 * Chooses for incident `inc` at `now_ms` among `n` hospitals, `travel_s[i]` being hospital i's
 * travel time from the scene (negative: unreachable). STEMI and LVO are read from the
 * incident's timeline (stemi_confirmed, lvo_suspected).
 */
destination_choice_t destination_choose(const incident_t *inc, const hospital_t *h, size_t n,
                                        const double *travel_s, int64_t now_ms);

#endif
