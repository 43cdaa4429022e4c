/*
 * Candidate filtering and ranking (see matching.h).
 */
#include "matching.h"

#include <stdlib.h>
#include <string.h>

typedef struct requirement {
    const char *kind; /* "ALS" required, or NULL for any kind */
    const char *cap;  /* a capability required, or NULL */
    const char *text;
} requirement_t;

/* Indexed by complaint_t. Chest pain and stroke need a crew that can take and transmit a
 * 12-lead ECG and give advanced drugs (ALS); a newborn needs a transport incubator. */
static const requirement_t requirements[] = {
    [COMPLAINT_CHEST_PAIN] = {"ALS", NULL, "ALS"},
    [COMPLAINT_STROKE] = {"ALS", NULL, "ALS"},
    [COMPLAINT_TRAUMA] = {NULL, NULL, ""},
    [COMPLAINT_OBSTETRIC] = {NULL, NULL, ""},
    [COMPLAINT_NEWBORN] = {NULL, "incubator", "incubator"},
    [COMPLAINT_OTHER] = {NULL, NULL, ""},
};

int match_capable(const vehicle_t *v, complaint_t c)
{
    const requirement_t *r = &requirements[c];
    if (r->kind && strcmp(v->kind, r->kind) != 0)
        return 0;
    if (r->cap && !vehicle_has_cap(v, r->cap))
        return 0;
    return 1;
}

const char *match_requirement(complaint_t c)
{
    return requirements[c].text;
}

struct filter_ctx {
    const fleet_t *fleet;
    complaint_t complaint;
    int64_t now_ms, stale_ms;
};

static int accept_unit(uint32_t id, void *ctx)
{
    const struct filter_ctx *fc = ctx;
    const vehicle_t *v = fleet_at(fc->fleet, id);
    return v && v->status == VEHICLE_STATUS_AVAILABLE &&
           !fleet_is_stale(v, fc->now_ms, fc->stale_ms) && match_capable(v, fc->complaint);
}

/* Inserts `cand` into the ranked list out[0..*n) (at most MATCH_MAX_CANDIDATES), by ETA. */
static void insert_ranked(candidate_t *out, int *n, const candidate_t *cand)
{
    int i = *n < MATCH_MAX_CANDIDATES ? (*n)++ : MATCH_MAX_CANDIDATES;
    if (i == MATCH_MAX_CANDIDATES) {
        if (cand->eta_s >= out[MATCH_MAX_CANDIDATES - 1].eta_s)
            return;
        i = MATCH_MAX_CANDIDATES - 1;
    }
    while (i > 0 && out[i - 1].eta_s > cand->eta_s) {
        out[i] = out[i - 1];
        i--;
    }
    out[i] = *cand;
}

/* Names, on each candidate by road, the closures on its road (roads_route_closures). */
static void explain_closures(roads_t *roads, double lat, double lon, candidate_t *out, int found)
{
    closures_t *t = roads_closures(roads);
    if (closures_count(t) == 0 || found == 0)
        return;
    uint32_t slots[MATCH_MAX_CANDIDATES];
    roads_closure_hits_t hits[MATCH_MAX_CANDIDATES];
    for (int i = 0; i < found; i++)
        slots[i] = out[i].vehicle->slot;
    if (roads_route_closures(roads, lat, lon, slots, (size_t)found, hits) != 0)
        return;
    for (int i = 0; i < found; i++) {
        if (strcmp(out[i].eta_method, "road"))
            continue;
        for (size_t k = 0; k < hits[i].n; k++) {
            const closure_t *c = closures_at(t, hits[i].idx[k]);
            candidate_closure_t *cc = &out[i].closures[out[i].nclosures++];
            memcpy(cc->id, c->id, sizeof cc->id);
            memcpy(cc->reason, c->reason, sizeof cc->reason);
            cc->factor = c->factor;
        }
    }
}

/*
 * With a road graph: one reverse search from the scene gives every placed unit's road ETA at
 * once; a unit off the network gets the straight-line estimate, flagged. Returns -1 when the
 * scene itself is off the network (the caller falls back to straight line for everyone).
 */
static int rank_by_road(const fleet_t *f, const match_params_t *p, complaint_t c, double lat,
                        double lon, int64_t now_ms, candidate_t *out)
{
    size_t n = fleet_count(f);
    double *eta = malloc((n ? n : 1) * sizeof *eta);
    roads_expire(p->roads, now_ms);
    if (!eta || roads_eta_to(p->roads, lat, lon, eta, n) != 0) {
        free(eta);
        return -1;
    }
    struct filter_ctx fc = {f, c, now_ms, p->stale_ms};
    int found = 0;
    for (uint32_t s = 0; s < n; s++) {
        if (!accept_unit(s, &fc))
            continue;
        vehicle_t *v = fleet_at(f, s);
        candidate_t cand = {.vehicle = v, .eta_method = "road"};
        double straight;
        if (geo_eta_seconds(&p->eta, v->lat, v->lon, lat, lon, &straight, &cand.distance_m))
            continue;
        if (roads_unit_placed(p->roads, s) && eta[s] >= 0) {
            cand.eta_s = eta[s];
        } else {
            cand.eta_s = straight;
            cand.eta_method = "straight_line";
        }
        cand.coverage_loss = roads_coverage_loss(p->roads, s);
        insert_ranked(out, &found, &cand);
    }
    free(eta);
    /* The county's golden circle: of the units within the margin of the fastest, the one whose
     * departure uncovers the fewest people goes first (ties keep ETA order). */
    int best = 0;
    for (int i = 1; i < found && out[i].eta_s - out[0].eta_s <= p->tie_margin_s; i++)
        if (out[i].coverage_loss < out[best].coverage_loss)
            best = i;
    if (best > 0) {
        candidate_t b = out[best];
        memmove(&out[1], &out[0], (size_t)best * sizeof out[0]);
        out[0] = b;
    }
    explain_closures(p->roads, lat, lon, out, found);
    return found;
}

int match_rank(const fleet_t *f, const match_params_t *p, complaint_t c, double lat, double lon,
               int64_t now_ms, candidate_t *out)
{
    if (p->roads) {
        int n = rank_by_road(f, p, c, lat, lon, now_ms, out);
        if (n >= 0)
            return n;
    }
    struct filter_ctx fc = {f, c, now_ms, p->stale_ms};
    geo_hit_t hits[MATCH_MAX_CANDIDATES];
    size_t n = geo_index_nearest(fleet_index(f), lat, lon, MATCH_MAX_CANDIDATES, accept_unit,
                                 &fc, hits);
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        vehicle_t *v = fleet_at(f, hits[i].id);
        candidate_t *cand = &out[found];
        if (geo_eta_seconds(&p->eta, v->lat, v->lon, lat, lon, &cand->eta_s, &cand->distance_m))
            continue;
        cand->vehicle = v;
        cand->coverage_loss = 0;
        cand->eta_method = "straight_line";
        cand->nclosures = 0;
        found++;
    }
    /* The index returns them by distance; keep the order stable by ETA for when the ETA is no
     * longer a function of distance alone. Insertion sort: at most five. */
    for (int i = 1; i < found; i++) {
        candidate_t x = out[i];
        int j = i - 1;
        while (j >= 0 && out[j].eta_s > x.eta_s) {
            out[j + 1] = out[j];
            j--;
        }
        out[j + 1] = x;
    }
    return found;
}
