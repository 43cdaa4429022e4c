/*
 * Golden-time clocks on scripted timelines with known answers: exactly at the target, one
 * second over, events missing, late and out of order, alerts raised once, clock skew, and the
 * same clocks after a restart (replay of the journal).
 */
#include "dispatch.h"
#include "err.h"
#include "golden.h"
#include "journal.h"
#include "timeutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1795564800000LL
#define MIN 60000LL

static const golden_metric_t fmc_to_ecg = {"fmc_to_ecg", "chest_pain",
                                           "first_medical_contact|status:on_scene", "first_ecg",
                                           10 * MIN, 7 * MIN};
static const golden_metric_t door_to_wire = {"door_to_wire", "stemi", "door|status:at_hospital",
                                             "wire", 90 * MIN, 75 * MIN};
static const golden_metric_t onset_to_needle = {"onset_to_needle", "stroke", "onset", "needle",
                                                270 * MIN, 210 * MIN};

static incident_t incident(complaint_t c, incident_state_t st)
{
    incident_t inc;
    memset(&inc, 0, sizeof inc);
    snprintf(inc.id, sizeof inc.id, "20261125-0001");
    inc.complaint = c;
    inc.state = st;
    inc.created_ms = T0;
    return inc;
}

static void ev(incident_t *inc, int64_t at, const char *kind, const char *detail)
{
    ck_assert_ptr_nonnull(incident_add_event(inc, at, kind, "unit", NULL, detail));
}

START_TEST(test_exactly_at_target_is_met_one_second_over_is_missed)
{
    incident_t inc = incident(COMPLAINT_CHEST_PAIN, INCIDENT_STATE_ON_SCENE);
    ev(&inc, T0 + 5 * MIN, "status", "{\"status\":\"on_scene\"}");
    ev(&inc, T0 + 15 * MIN, "first_ecg", NULL);
    golden_clock_t c = golden_evaluate(&fmc_to_ecg, &inc, T0 + 60 * MIN);
    ck_assert_int_eq(c.state, GOLDEN_MET);
    ck_assert_int_eq(c.elapsed_ms, 10 * MIN);
    incident_clear(&inc);

    inc = incident(COMPLAINT_CHEST_PAIN, INCIDENT_STATE_ON_SCENE);
    ev(&inc, T0 + 5 * MIN, "status", "{\"status\":\"on_scene\"}");
    ev(&inc, T0 + 15 * MIN + 1000, "first_ecg", NULL);
    c = golden_evaluate(&fmc_to_ecg, &inc, T0 + 60 * MIN);
    ck_assert_int_eq(c.state, GOLDEN_MISSED);
    ck_assert_int_eq(c.elapsed_ms, 10 * MIN + 1000);
    incident_clear(&inc);
}
END_TEST

START_TEST(test_running_warning_breach_and_incomplete)
{
    incident_t inc = incident(COMPLAINT_CHEST_PAIN, INCIDENT_STATE_ON_SCENE);
    ck_assert_int_eq(golden_evaluate(&fmc_to_ecg, &inc, T0).state, GOLDEN_WAITING);
    ev(&inc, T0, "status", "{\"status\":\"on_scene\"}");
    ck_assert_int_eq(golden_evaluate(&fmc_to_ecg, &inc, T0 + 6 * MIN).state, GOLDEN_RUNNING);
    ck_assert_int_eq(golden_evaluate(&fmc_to_ecg, &inc, T0 + 7 * MIN).state, GOLDEN_WARNING);
    ck_assert_int_eq(golden_evaluate(&fmc_to_ecg, &inc, T0 + 10 * MIN).state, GOLDEN_WARNING);
    ck_assert_int_eq(golden_evaluate(&fmc_to_ecg, &inc, T0 + 10 * MIN + 1).state,
                     GOLDEN_BREACHED);
    /* the case ends with no ECG recorded: incomplete, not zero and not met */
    inc.state = INCIDENT_STATE_CLOSED;
    ck_assert_int_eq(golden_evaluate(&fmc_to_ecg, &inc, T0 + 20 * MIN).state, GOLDEN_INCOMPLETE);
    incident_clear(&inc);
    /* a metric of another case type does not apply */
    inc = incident(COMPLAINT_TRAUMA, INCIDENT_STATE_ON_SCENE);
    ck_assert_int_eq(golden_evaluate(&fmc_to_ecg, &inc, T0).state, GOLDEN_NOT_APPLICABLE);
    /* STEMI metrics apply once a STEMI is confirmed */
    inc.complaint = COMPLAINT_CHEST_PAIN;
    ck_assert_int_eq(golden_evaluate(&door_to_wire, &inc, T0).state, GOLDEN_NOT_APPLICABLE);
    ev(&inc, T0, "stemi_confirmed", NULL);
    ck_assert_int_eq(golden_evaluate(&door_to_wire, &inc, T0).state, GOLDEN_WAITING);
    incident_clear(&inc);
}
END_TEST

START_TEST(test_late_and_out_of_order_events)
{
    incident_t inc = incident(COMPLAINT_CHEST_PAIN, INCIDENT_STATE_AT_HOSPITAL);
    ev(&inc, T0 + 40 * MIN, "status", "{\"status\":\"at_hospital\"}");
    ev(&inc, T0 + 100 * MIN, "wire", NULL);
    /* the diagnosis was made in the ambulance but recorded late */
    ev(&inc, T0 + 20 * MIN, "stemi_confirmed", NULL);
    /* the ED records the real door time later, a minute before the unit's status */
    ev(&inc, T0 + 39 * MIN, "door", NULL);
    golden_clock_t c = golden_evaluate(&door_to_wire, &inc, T0 + 120 * MIN);
    ck_assert_int_eq(c.state, GOLDEN_MET);
    ck_assert_int_eq(c.start_ms, T0 + 39 * MIN); /* the earliest alternative wins */
    ck_assert_int_eq(c.elapsed_ms, 61 * MIN);
    incident_clear(&inc);
    /* onset is the incident's last-known-well time */
    inc = incident(COMPLAINT_STROKE, INCIDENT_STATE_AT_HOSPITAL);
    ck_assert_int_eq(golden_evaluate(&onset_to_needle, &inc, T0).state, GOLDEN_WAITING);
    inc.onset_ms = T0 - 60 * MIN;
    golden_clock_t r = golden_evaluate(&onset_to_needle, &inc, T0 + 30 * MIN);
    ck_assert_int_eq(r.state, GOLDEN_RUNNING);
    ck_assert_int_eq(r.elapsed_ms, 90 * MIN);
    incident_clear(&inc);
}
END_TEST

/* ---- through the core: alerts once, skew, restart ------------------------------------------ */

static char journal_path[256];
static dispatch_t *replay_target;
static int replay(uint64_t lsn, const char *payload, size_t len, void *ctx)
{
    return dispatch_apply_record(replay_target, payload, len);
}

static dispatch_t *core(journal_t *j)
{
    dispatch_params_t p = {.match = {.eta = {1.3, 11.1}, .stale_ms = 30000},
                           .downlink_resend_ms = 3000};
    dispatch_t *d = dispatch_new(&p, NULL, NULL, j);
    golden_metric_t m[2] = {fmc_to_ecg, door_to_wire};
    ck_assert_int_eq(dispatch_set_metrics(d, m, 2), 0);
    vehicle_t t;
    memset(&t, 0, sizeof t);
    snprintf(t.id, sizeof t.id, "A1");
    snprintf(t.kind, sizeof t.kind, "ALS");
    t.status = VEHICLE_STATUS_AVAILABLE;
    ck_assert_int_eq(fleet_add(dispatch_fleet(d), &t, NULL), 0);
    return d;
}

static int count_alerts(const incident_t *inc, const char *level)
{
    int n = 0;
    for (size_t i = 0; i < inc->nevents; i++)
        if (!strcmp(inc->events[i].kind, "golden_alert") && strstr(inc->events[i].detail, level))
            n++;
    return n;
}

START_TEST(test_alerts_once_skew_and_restart)
{
    snprintf(journal_path, sizeof journal_path, "/tmp/gl-check-golden-%d.log", (int)getpid());
    unlink(journal_path);
    journal_t *j;
    ck_assert_int_eq(journal_open(journal_path, 0, NULL, NULL, &j), 0);
    gl_time_set_zone("Asia/Shanghai");
    dispatch_t *d = core(j);
    call_input_t in = {.lat = 28.3, .lon = 117.2, .complaint = COMPLAINT_CHEST_PAIN,
                       .priority = 2, .ringing_ms = T0 - 8000};
    incident_t *inc;
    char err[160];
    ck_assert_int_eq(dispatch_call_new(d, &in, T0, &inc, err, sizeof err), 0);
    ck_assert_str_eq(inc->events[0].kind, "call_ringing");
    ck_assert_int_eq(inc->events[0].at_ms, T0 - 8000);
    ck_assert_int_eq(dispatch_assign(d, inc, "A1", "operator", 0, T0 + 30000, err, sizeof err),
                     0);
    vehicle_t *v = fleet_find(dispatch_fleet(d), "A1");
    vehicle_t *vv;
    ck_assert_int_eq(dispatch_uplink_begin(d, "A1", 1, 0, &vv), 0);
    ck_assert_int_eq(dispatch_uplink_status(d, v, 1, VEHICLE_STATUS_ON_SCENE, inc->id,
                                            T0 + 5 * MIN, T0 + 5 * MIN),
                     0);
    /* warning at 7 min after first contact, once; breach after 10 min, once */
    dispatch_tick(d, T0 + 10 * MIN);
    dispatch_tick(d, T0 + 12 * MIN - 1000); /* 6:59 after first contact */
    ck_assert_int_eq(count_alerts(inc, "\"breach\""), 0);
    ck_assert_int_eq(count_alerts(inc, "\"warning\""), 0);
    dispatch_tick(d, T0 + 5 * MIN + 7 * MIN);
    dispatch_tick(d, T0 + 5 * MIN + 8 * MIN);
    ck_assert_int_eq(count_alerts(inc, "\"warning\""), 1);
    dispatch_tick(d, T0 + 5 * MIN + 10 * MIN + 1000);
    dispatch_tick(d, T0 + 5 * MIN + 11 * MIN);
    ck_assert_int_eq(count_alerts(inc, "\"breach\""), 1);
    /* the breach acknowledged at a console: recorded once, with who; not a non-alert */
    int breach_seq = 0;
    for (size_t i = 0; i < inc->nevents; i++)
        if (!strcmp(inc->events[i].kind, "golden_alert") &&
            strstr(inc->events[i].detail, "\"breach\""))
            breach_seq = inc->events[i].seq;
    ck_assert_int_eq(dispatch_ack_alert(d, inc, 1, "li.na session 3", T0 + 16 * MIN, err,
                                        sizeof err),
                     GL_ENOENT); /* event 1 is the ringing */
    ck_assert_int_eq(dispatch_ack_alert(d, inc, breach_seq, "li.na session 3", T0 + 16 * MIN,
                                        err, sizeof err),
                     0);
    ck_assert_str_eq(inc->events[inc->nevents - 1].kind, "alert_ack");
    ck_assert_ptr_nonnull(strstr(inc->events[inc->nevents - 1].detail, "li.na session 3"));
    ck_assert_int_eq(dispatch_ack_alert(d, inc, breach_seq, "wang session 4", T0 + 17 * MIN, err,
                                        sizeof err),
                     GL_EDUP);
    /* the ECG is recorded late, with its own time inside the target: the metric is met */
    ck_assert_int_eq(dispatch_add_event(d, inc, "first_ecg", T0 + 14 * MIN, "operator", NULL,
                                        T0 + 20 * MIN, err, sizeof err),
                     0);
    ck_assert_int_eq(golden_evaluate(&fmc_to_ecg, inc, T0 + 20 * MIN).state, GOLDEN_MET);
    ck_assert_int_eq(dispatch_add_event(d, inc, "coffee", T0, "operator", NULL, T0, err,
                                        sizeof err),
                     GL_EINVAL);
    ck_assert_int_eq(dispatch_add_event(d, inc, "door", T0 + 90 * MIN, "operator", NULL,
                                        T0 + 20 * MIN, err, sizeof err),
                     GL_EINVAL); /* in the future */
    /* a unit whose clock is an hour fast: its time is replaced and the event says so */
    ck_assert_int_eq(dispatch_uplink_begin(d, "A1", 2, 0, &vv), 0);
    ck_assert_int_eq(dispatch_uplink_status(d, v, 2, VEHICLE_STATUS_TRANSPORTING, inc->id,
                                            T0 + 80 * MIN, T0 + 21 * MIN),
                     0);
    const incident_event_t *last = &inc->events[inc->nevents - 1];
    ck_assert_int_eq(last->at_ms, T0 + 21 * MIN);
    ck_assert_ptr_nonnull(strstr(last->detail, "clock_skew_ms"));
    size_t nevents = inc->nevents;
    journal_close(j);

    /* restart: the same timeline, so the same clocks, and no alert raised twice */
    dispatch_t *d2 = core(NULL);
    replay_target = d2;
    ck_assert_int_eq(journal_open(journal_path, 0, replay, NULL, &j), 0);
    incident_t *r = incident_table_find(dispatch_incidents(d2), inc->id);
    ck_assert_int_eq(r->nevents, nevents);
    golden_clock_t a = golden_evaluate(&fmc_to_ecg, inc, T0 + 30 * MIN);
    golden_clock_t b = golden_evaluate(&fmc_to_ecg, r, T0 + 30 * MIN);
    ck_assert_int_eq(a.state, b.state);
    ck_assert_int_eq(a.elapsed_ms, b.elapsed_ms);
    dispatch_set_journal(d2, j);
    dispatch_tick(d2, T0 + 30 * MIN);
    ck_assert_int_eq(r->nevents, nevents);
    journal_close(j);
    dispatch_free(d2);
    dispatch_free(d);
    unlink(journal_path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("golden");
    TCase *tc = tcase_create("Clocks");
    tcase_add_test(tc, test_exactly_at_target_is_met_one_second_over_is_missed);
    tcase_add_test(tc, test_running_warning_breach_and_incomplete);
    tcase_add_test(tc, test_late_and_out_of_order_events);
    suite_add_tcase(s, tc);
    tc = tcase_create("Core");
    tcase_add_test(tc, test_alerts_once_skew_and_restart);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
