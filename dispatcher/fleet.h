/*
 * The fleet: every ambulance the dispatcher knows, its crew status and its live position.
 *
 * Vehicles live in a dense array (slot 0..n-1) so that the spatial index and the matcher can
 * refer to them by a small integer; a hash table maps the text id to the slot. The status state
 * machine (which status may follow which) lives here too, so that every path that changes a
 * status (unit uplink, operator, assignment) obeys the same rules.
 */
#ifndef GL_FLEET_H
#define GL_FLEET_H

#include "geo_index.h"
#include "gps_check.h"

#include <stddef.h>
#include <stdint.h>

#define FLEET_ID_LEN 32
#define FLEET_MAX_CAPS 8

/* XX(NAME, wire value = proto VehicleStatus, text) */
#define VEHICLE_STATUS_MAP(XX)                                                                    \
    XX(AVAILABLE, 1, "available")                                                                 \
    XX(DISPATCHED, 2, "dispatched")                                                               \
    XX(EN_ROUTE, 3, "en_route")                                                                   \
    XX(ON_SCENE, 4, "on_scene")                                                                   \
    XX(TRANSPORTING, 5, "transporting")                                                           \
    XX(AT_HOSPITAL, 6, "at_hospital")                                                             \
    XX(RETURNING, 7, "returning")                                                                 \
    XX(OUT_OF_SERVICE, 8, "out_of_service")

typedef enum vehicle_status {
    VEHICLE_STATUS_UNKNOWN = 0,
#define XX(name, value, text) VEHICLE_STATUS_##name = value,
    VEHICLE_STATUS_MAP(XX)
#undef XX
} vehicle_status_t;

const char *vehicle_status_name(vehicle_status_t st);
/* Parses "en_route" etc.; returns 0 or GL_EINVAL. */
int vehicle_status_parse(const char *text, vehicle_status_t *out);
/* 1 if a unit may go from `from` to `to` (see fleet.c for the table), else 0. */
int vehicle_status_transition_ok(vehicle_status_t from, vehicle_status_t to);

#define VEHICLE_MAX_PENDING_DOWNLINK 4

/*
 * A unit resends what was not acknowledged, newest position first and each message on its own
 * timer, so envelopes arrive out of order. Which seqs were processed is therefore kept exactly:
 * every seq up to `uplink_seq`, plus a bitmap of the next VEHICLE_SEQ_WINDOW. The cumulative
 * acknowledgement never passes a hole, so a unit never drops what the dispatcher did not get.
 * A seq more than VEHICLE_SEQ_JUMP ahead is a unit that restarted without its spool (its seqs
 * start at the wall clock): the gap is given up.
 */
#define VEHICLE_SEQ_WINDOW 4096
#define VEHICLE_SEQ_JUMP 1000000ULL

/* A downlink message the unit has not acknowledged yet; it is sent again until it does. The
 * assignment's details (scene, complaint) and the hospital's are read each time it is sent. */
typedef enum downlink_kind {
    DOWNLINK_ASSIGNMENT = 1,
    DOWNLINK_CANCEL,
    DOWNLINK_DESTINATION,                /* the hospital's details are read when it is sent */
} downlink_kind_t;
typedef struct downlink_msg {
    uint64_t seq;
    downlink_kind_t kind;
    char incident[24];
    char reason[64];                     /* Cancel and Destination (cut; the event has it all) */
    char hospital[40];                   /* Destination only */
    int64_t at_ms;                       /* when the dispatcher decided it */
} downlink_msg_t;

typedef struct vehicle {
    char id[FLEET_ID_LEN];
    char call_sign[64];
    char station[FLEET_ID_LEN];
    char kind[4];                        /* "ALS" or "BLS" */
    char caps[FLEET_MAX_CAPS][24];       /* capability names, e.g. "ecg12", "incubator" */
    int ncaps;
    vehicle_status_t status;
    int64_t status_at_ms;
    char incident[24];                   /* incident it serves, "" if none */
    /* live position: the newest good fix */
    int has_fix;
    double lat, lon;
    int64_t fix_at_ms;                   /* receiver time of the fix */
    int64_t fix_rx_ms;                   /* dispatcher time it arrived; 0 if not since start */
    float speed_mps, heading_deg;
    gps_anchor_t gps;                    /* sanity state for the next fix */
    /* wire sequence numbers */
    uint64_t uplink_seq;                 /* every uplink seq up to this one is processed */
    uint64_t seen[VEHICLE_SEQ_WINDOW / 64]; /* which seqs above uplink_seq are (ring bitmap) */
    uint64_t restored_seq;               /* uplink_seq as restored at start (see dispatch.c) */
    uint64_t durable_seq;                /* highest uplink seq whose effects are durable */
    uint64_t acked_seq;                  /* highest uplink seq acknowledged to the unit */
    uint64_t downlink_seq;               /* last downlink seq used */
    uint64_t downlink_acked;             /* the unit acknowledged downlink seqs up to this */
    int64_t downlink_sent_ms;            /* when the unacknowledged downlink was last sent */
    downlink_msg_t pending[VEHICLE_MAX_PENDING_DOWNLINK]; /* unacknowledged, oldest first */
    int npending;
    int stale;                           /* last stale verdict told to the console */
    int sealed;                          /* the unit has a key: it must seal everything */
    unsigned char seal_key[32];          /* its key (common/seal.h), when sealed */
    uint32_t slot;                       /* index in the fleet array */
} vehicle_t;

typedef struct fleet fleet_t;

/* Creates an empty fleet (NULL on out of memory); fleet_free(NULL) is a no-op. */
fleet_t *fleet_new(void);
void fleet_free(fleet_t *f);

/*
 * Adds a copy of `tmpl` (id must be non-empty and new). Its slot is assigned here. If it has a
 * fix, it enters the spatial index. Returns 0 and the stored vehicle in *out (may be NULL),
 * GL_EEXIST, GL_EINVAL or GL_ENOMEM. Stored vehicles never move in memory.
 */
int fleet_add(fleet_t *f, const vehicle_t *tmpl, vehicle_t **out);

vehicle_t *fleet_find(const fleet_t *f, const char *id);
vehicle_t *fleet_at(const fleet_t *f, uint32_t slot);
size_t fleet_count(const fleet_t *f);

/* Moves the live position of `v` (already checked for sanity) and updates the index. */
int fleet_set_position(fleet_t *f, vehicle_t *v, double lat, double lon, int64_t fix_at_ms,
                       int64_t rx_ms, float speed_mps, float heading_deg);

/* 1 if the unit has had no fix for `stale_ms` at `now_ms` (or none since start). */
int fleet_is_stale(const vehicle_t *v, int64_t now_ms, int64_t stale_ms);

int vehicle_has_cap(const vehicle_t *v, const char *cap);

/* 1 if uplink `seq` of `v` was processed already. */
int vehicle_seq_seen(const vehicle_t *v, uint64_t seq);

/* 1 if `seq` can be recorded now: within the window above uplink_seq, or a restart's jump (or
 * the unit's first message). 0: too far ahead for the window (defer it: the unit resends). */
int vehicle_seq_fits(const vehicle_t *v, uint64_t seq);

/* Records `seq` as processed and moves uplink_seq over every seq now contiguous. */
void vehicle_seq_mark(vehicle_t *v, uint64_t seq);

/* Raises uplink_seq to at least `seq` (state restored from the journal or the database). */
void vehicle_seq_raise(vehicle_t *v, uint64_t seq);

const geo_index_t *fleet_index(const fleet_t *f);

#endif
