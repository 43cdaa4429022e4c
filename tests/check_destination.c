/*
 * Destination choice by capability and live status (dispatcher/destination.c), on scripted
 * cases with known answers, and through the core: the destination is recorded when the unit
 * reaches the scene, and chosen again when a hospital goes on diversion.
 */
#include "destination.h"
#include "dispatch.h"
#include "err.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1795564800000LL
#define MIN 60000LL

/* 0: county hospital (PCI, IVT, trauma), 1: township centre (nothing), 2: city hospital (PCI,
 * IVT, EVT, neonatal), 3: maternity hospital */
static hospital_t hs[4];
static double t[4] = {20 * 60, 5 * 60, 40 * 60, 15 * 60};

static void setup(void)
{
    memset(hs, 0, sizeof hs);
    const char *ids[] = {"H-county", "H-town", "H-city", "H-mat"};
    unsigned caps[] = {HOSPITAL_CAP(PCI) | HOSPITAL_CAP(STROKE_IVT) | HOSPITAL_CAP(TRAUMA), 0,
                       HOSPITAL_CAP(PCI) | HOSPITAL_CAP(STROKE_IVT) | HOSPITAL_CAP(STROKE_EVT) |
                           HOSPITAL_CAP(NEONATAL),
                       HOSPITAL_CAP(OBSTETRIC)};
    for (int i = 0; i < 4; i++) {
        snprintf(hs[i].id, sizeof hs[i].id, "%s", ids[i]);
        hs[i].caps = caps[i];
        hs[i].cath_lab_ready = hs[i].ct_ready = 1;
    }
}

static incident_t make(complaint_t c)
{
    incident_t inc;
    memset(&inc, 0, sizeof inc);
    inc.complaint = c;
    inc.state = INCIDENT_STATE_ON_SCENE;
    return inc;
}

START_TEST(test_by_capability)
{
    incident_t inc = make(COMPLAINT_CHEST_PAIN);
    ck_assert_str_eq(hs[destination_choose(&inc, hs, 4, t, T0).hospital].id, "H-county");
    /* a confirmed STEMI needs a ready cath lab: the county's is not, the city's is */
    ck_assert_ptr_nonnull(incident_add_event(&inc, T0, "stemi_confirmed", "unit", NULL, NULL));
    hs[0].cath_lab_ready = 0;
    destination_choice_t c = destination_choose(&inc, hs, 4, t, T0);
    ck_assert_str_eq(hs[c.hospital].id, "H-city");
    ck_assert_ptr_nonnull(strstr(c.reason, "STEMI"));
    incident_clear(&inc);
    inc = make(COMPLAINT_TRAUMA);
    ck_assert_str_eq(hs[destination_choose(&inc, hs, 4, t, T0).hospital].id, "H-county");
    inc = make(COMPLAINT_OBSTETRIC);
    ck_assert_str_eq(hs[destination_choose(&inc, hs, 4, t, T0).hospital].id, "H-mat");
    inc = make(COMPLAINT_NEWBORN);
    ck_assert_str_eq(hs[destination_choose(&inc, hs, 4, t, T0).hospital].id, "H-city");
    inc = make(COMPLAINT_OTHER);
    ck_assert_str_eq(hs[destination_choose(&inc, hs, 4, t, T0).hospital].id, "H-town");
}
END_TEST

START_TEST(test_diversion_and_nothing_capable)
{
    incident_t inc = make(COMPLAINT_TRAUMA);
    hs[0].on_diversion = 1;
    destination_choice_t c = destination_choose(&inc, hs, 4, t, T0);
    ck_assert_str_eq(hs[c.hospital].id, "H-town"); /* no trauma centre left: the nearest */
    ck_assert_ptr_nonnull(strstr(c.reason, "no capable hospital"));
    for (int i = 0; i < 4; i++)
        hs[i].on_diversion = 1;
    ck_assert_int_eq(destination_choose(&inc, hs, 4, t, T0).hospital, -1);
}
END_TEST

START_TEST(test_stroke_lvo_window_and_extra_time)
{
    incident_t inc = make(COMPLAINT_STROKE);
    inc.onset_ms = T0 - 60 * MIN;
    ck_assert_str_eq(hs[destination_choose(&inc, hs, 4, t, T0).hospital].id, "H-county");
    ck_assert_ptr_nonnull(incident_add_event(&inc, T0, "lvo_suspected", "unit", NULL, NULL));
    /* 20 more minutes to thrombectomy: worth it within 6 h */
    ck_assert_str_eq(hs[destination_choose(&inc, hs, 4, t, T0).hospital].id, "H-city");
    /* 31 more minutes: not */
    double far[4] = {20 * 60, 5 * 60, 51 * 60, 15 * 60};
    ck_assert_str_eq(hs[destination_choose(&inc, hs, 4, far, T0).hospital].id, "H-county");
    /* last known well 7 h ago: out of the window */
    inc.onset_ms = T0 - 7 * 60 * MIN;
    ck_assert_str_eq(hs[destination_choose(&inc, hs, 4, t, T0).hospital].id, "H-county");
    /* CT down at the county: the city */
    inc.onset_ms = T0 - 60 * MIN;
    hs[0].ct_ready = 0;
    ck_assert_str_eq(hs[destination_choose(&inc, hs, 4, far, T0).hospital].id, "H-city");
    incident_clear(&inc);
}
END_TEST

/*
 * The core with the four hospitals placed around a chest-pain call at (28.30, 117.20): county
 * (PCI) about 1 km north, city (PCI) 11 km; unit A1 (ALS) assigned to the call.
 */
static dispatch_t *county_with_call(const dispatch_hooks_t *hooks, incident_t **inc)
{
    dispatch_params_t p = {.match = {.eta = {1.3, 11.1}, .stale_ms = 30000},
                           .downlink_resend_ms = 3000};
    dispatch_t *d = dispatch_new(&p, hooks, NULL, NULL);
    hs[0].lat = 28.31, hs[0].lon = 117.20; /* about 1 km north */
    hs[2].lat = 28.40, hs[2].lon = 117.20;
    hs[1].lat = 28.30, hs[1].lon = 117.21;
    hs[3].lat = 28.29, hs[3].lon = 117.20;
    ck_assert_int_eq(dispatch_set_hospitals(d, hs, 4), 0);
    vehicle_t tv;
    memset(&tv, 0, sizeof tv);
    snprintf(tv.id, sizeof tv.id, "A1");
    snprintf(tv.kind, sizeof tv.kind, "ALS");
    tv.status = VEHICLE_STATUS_AVAILABLE;
    ck_assert_int_eq(fleet_add(dispatch_fleet(d), &tv, NULL), 0);
    call_input_t in = {.lat = 28.30, .lon = 117.20, .complaint = COMPLAINT_CHEST_PAIN,
                       .priority = 2};
    char err[160];
    ck_assert_int_eq(dispatch_call_new(d, &in, T0, inc, err, sizeof err), 0);
    ck_assert_int_eq(dispatch_assign(d, *inc, "A1", "operator", 0, T0 + 1000, err, sizeof err),
                     0);
    return d;
}

START_TEST(test_recorded_on_scene)
{
    incident_t *inc;
    dispatch_t *d = county_with_call(NULL, &inc);
    char err[160];
    vehicle_t *v;
    ck_assert_int_eq(dispatch_uplink_begin(d, "A1", 1, 0, &v), 0);
    ck_assert_int_eq(dispatch_uplink_status(d, v, 1, VEHICLE_STATUS_ON_SCENE, inc->id, T0 + 60000,
                                            T0 + 60000),
                     0);
    const incident_event_t *e = &inc->events[inc->nevents - 1];
    ck_assert_str_eq(e->kind, "destination");
    ck_assert_ptr_nonnull(strstr(e->detail, "H-county"));
    /* the county hospital goes on diversion while the patient is on the way: chosen again */
    ck_assert_int_eq(dispatch_uplink_begin(d, "A1", 2, 0, &v), 0);
    ck_assert_int_eq(dispatch_uplink_status(d, v, 2, VEHICLE_STATUS_TRANSPORTING, inc->id,
                                            T0 + 65000, T0 + 65000),
                     0);
    size_t before = inc->nevents;
    ck_assert_int_eq(dispatch_hospital_status(d, "H-county", -1, -1, 1, "ed H-county", T0 + 70000,
                                              err, sizeof err),
                     0);
    ck_assert_int_eq(inc->nevents, before + 1);
    const incident_event_t *r = &inc->events[inc->nevents - 1];
    ck_assert_str_eq(r->kind, "destination");
    ck_assert_str_eq(r->source, "dispatcher");
    ck_assert_ptr_nonnull(strstr(r->detail, "H-city"));
    /* a status change of a hospital nobody is bound for changes no incident */
    before = inc->nevents;
    ck_assert_int_eq(dispatch_hospital_status(d, "H-mat", -1, -1, 1, "ed", T0 + 80000, err,
                                              sizeof err),
                     0);
    ck_assert_int_eq(inc->nevents, before);
    ck_assert_int_eq(dispatch_hospital_status(d, "H-none", 1, 1, 0, "ed", T0, err, sizeof err),
                     GL_ENOENT);
    dispatch_free(d);
}
END_TEST

/* What the core asked the bus to send (the test's downlink). */
static downlink_msg_t sent[32];
static int nsent;

static void capture_downlink(void *ctx, const vehicle_t *v, const downlink_msg_t *m,
                             const incident_t *inc)
{
    (void)ctx, (void)v, (void)inc;
    ck_assert_int_lt(nsent, 32);
    sent[nsent++] = *m;
}

static const downlink_msg_t *last_destination(void)
{
    for (int i = nsent; i-- > 0;)
        if (sent[i].kind == DOWNLINK_DESTINATION)
            return &sent[i];
    return NULL;
}

/* The crew is told every destination (Destination downlink, pending until acknowledged); an
 * operator's override needs a reason, records what the rules recommended, and stands against a
 * readiness change but not against diversion. */
START_TEST(test_override_and_downlink)
{
    nsent = 0;
    dispatch_hooks_t hooks = {.send_downlink = capture_downlink};
    incident_t *inc;
    dispatch_t *d = county_with_call(&hooks, &inc);
    char err[160];
    ck_assert_int_eq(dispatch_choose_destination(d, inc, "operator", T0 + 2000, err, sizeof err),
                     0);
    const downlink_msg_t *m = last_destination();
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(m->hospital, "H-county");
    ck_assert_str_eq(m->incident, inc->id);
    ck_assert_str_eq(inc->destination, "H-county");
    vehicle_t *v = fleet_find(dispatch_fleet(d), "A1");
    ck_assert_int_eq(v->pending[v->npending - 1].kind, DOWNLINK_DESTINATION); /* until acked */

    /* no reason, unknown hospital: refused, nothing recorded */
    size_t before = inc->nevents;
    ck_assert_int_eq(dispatch_override_destination(d, inc, "H-city", "", "operator", T0 + 3000,
                                                   err, sizeof err),
                     GL_EINVAL);
    ck_assert_int_eq(dispatch_override_destination(d, inc, "H-none", "family", "operator",
                                                   T0 + 3000, err, sizeof err),
                     GL_ENOENT);
    ck_assert_int_eq(inc->nevents, before);
    ck_assert_int_eq(dispatch_override_destination(d, inc, "H-city", "cardiologist on the phone",
                                                   "operator", T0 + 3000, err, sizeof err),
                     0);
    const incident_event_t *e = &inc->events[inc->nevents - 1];
    ck_assert_str_eq(e->kind, "destination");
    ck_assert_ptr_nonnull(strstr(e->detail, "\"override\":true"));
    ck_assert_ptr_nonnull(strstr(e->detail, "operator override: cardiologist on the phone"));
    ck_assert_ptr_nonnull(strstr(e->detail, "\"recommended\":\"H-county\""));
    ck_assert_str_eq(inc->destination, "H-city");
    ck_assert_str_eq(last_destination()->hospital, "H-city");

    /* the city's cath lab is not ready: the operator's choice stands */
    before = inc->nevents;
    ck_assert_int_eq(dispatch_hospital_status(d, "H-city", 0, -1, -1, "ed", T0 + 4000, err,
                                              sizeof err),
                     0);
    ck_assert_int_eq(inc->nevents, before);
    /* the city goes on diversion: chosen again, the crew told */
    int sent_before = nsent;
    ck_assert_int_eq(dispatch_hospital_status(d, "H-city", -1, -1, 1, "ed", T0 + 5000, err,
                                              sizeof err),
                     0);
    ck_assert_int_eq(inc->nevents, before + 1);
    ck_assert_str_eq(inc->destination, "H-county");
    ck_assert_int_gt(nsent, sent_before);
    ck_assert_str_eq(last_destination()->hospital, "H-county");
    /* a change that does not alter the choice records nothing */
    before = inc->nevents;
    ck_assert_int_eq(dispatch_hospital_status(d, "H-county", -1, 1, -1, "ed", T0 + 6000, err,
                                              sizeof err),
                     0);
    ck_assert_int_eq(inc->nevents, before);
    /* an override to a hospital known to be on diversion (the operator phoned it) stands when
     * something else about that hospital changes; a reason beyond the limit is refused */
    char longreason[DISPATCH_OVERRIDE_REASON_MAX + 2];
    memset(longreason, 'x', sizeof longreason - 1);
    longreason[sizeof longreason - 1] = '\0';
    ck_assert_int_eq(dispatch_override_destination(d, inc, "H-city", longreason, "operator",
                                                   T0 + 7000, err, sizeof err),
                     GL_EINVAL);
    ck_assert_int_eq(dispatch_override_destination(d, inc, "H-city", "已电话确认 city takes him",
                                                   "operator", T0 + 7000, err, sizeof err),
                     0);
    ck_assert_ptr_nonnull(strstr(inc->events[inc->nevents - 1].detail, "\"on_diversion\":true"));
    before = inc->nevents;
    ck_assert_int_eq(dispatch_hospital_status(d, "H-city", 1, -1, -1, "ed", T0 + 8000, err,
                                              sizeof err),
                     0);
    ck_assert_int_eq(inc->nevents, before);
    ck_assert_str_eq(inc->destination, "H-city");
    dispatch_free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("destination");
    TCase *tc = tcase_create("Core");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_by_capability);
    tcase_add_test(tc, test_diversion_and_nothing_capable);
    tcase_add_test(tc, test_stroke_lvo_window_and_extra_time);
    tcase_add_test(tc, test_recorded_on_scene);
    tcase_add_test(tc, test_override_and_downlink);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
