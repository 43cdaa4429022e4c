/*
 * Unit tests of the dispatcher's domain: the incident and vehicle state machines, GPS sanity,
 * candidate ranking, and the core's verbs (calls, assignments, unit reports) including the
 * rebuild of the same state from the journal after a restart. No sockets, no database.
 */
#include "dispatch.h"
#include "err.h"
#include "geo.h"
#include "journal.h"
#include "timeutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1795564800000LL /* 2026-11-25T00:00:00Z */

/* ---- the incident state machine ----------------------------------------------------------- */

static incident_t make_incident(incident_state_t st)
{
    incident_t inc;
    memset(&inc, 0, sizeof inc);
    inc.state = st;
    return inc;
}

START_TEST(test_incident_happy_path)
{
    incident_t inc = make_incident(INCIDENT_STATE_NEW);
    incident_state_t next;
    ck_assert_int_eq(incident_next_state(&inc, INCIDENT_IN_ASSIGN, 0, &next), 0);
    ck_assert_int_eq(next, INCIDENT_STATE_DISPATCHED);
    const vehicle_status_t steps[] = {VEHICLE_STATUS_EN_ROUTE, VEHICLE_STATUS_ON_SCENE,
                                      VEHICLE_STATUS_TRANSPORTING, VEHICLE_STATUS_AT_HOSPITAL,
                                      VEHICLE_STATUS_RETURNING};
    const incident_state_t want[] = {INCIDENT_STATE_EN_ROUTE, INCIDENT_STATE_ON_SCENE,
                                     INCIDENT_STATE_TRANSPORTING, INCIDENT_STATE_AT_HOSPITAL,
                                     INCIDENT_STATE_CLOSED};
    inc.state = next;
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(incident_next_state(&inc, INCIDENT_IN_UNIT_STATUS, steps[i], &next), 0);
        ck_assert_int_eq(next, want[i]);
        inc.state = next;
    }
}
END_TEST

START_TEST(test_incident_illegal_transitions)
{
    incident_state_t next = INCIDENT_STATE_NEW;
    incident_t inc = make_incident(INCIDENT_STATE_NEW);
    /* a unit cannot report progress on a call nobody assigned */
    ck_assert_int_eq(incident_next_state(&inc, INCIDENT_IN_UNIT_STATUS, VEHICLE_STATUS_ON_SCENE,
                                         &next),
                     GL_ESTATE);
    inc.state = INCIDENT_STATE_DISPATCHED;
    /* transporting before the scene, at hospital before transporting */
    ck_assert_int_eq(incident_next_state(&inc, INCIDENT_IN_UNIT_STATUS,
                                         VEHICLE_STATUS_TRANSPORTING, &next),
                     GL_ESTATE);
    ck_assert_int_eq(incident_next_state(&inc, INCIDENT_IN_UNIT_STATUS,
                                         VEHICLE_STATUS_AT_HOSPITAL, &next),
                     GL_ESTATE);
    /* standing down before the scene is the operator's decision (cancel), not the unit's */
    ck_assert_int_eq(incident_next_state(&inc, INCIDENT_IN_UNIT_STATUS, VEHICLE_STATUS_AVAILABLE,
                                         &next),
                     GL_ESTATE);
    inc.state = INCIDENT_STATE_ON_SCENE;
    ck_assert_int_eq(incident_next_state(&inc, INCIDENT_IN_ASSIGN, 0, &next), GL_ESTATE);
    inc.state = INCIDENT_STATE_CLOSED;
    ck_assert_int_eq(incident_next_state(&inc, INCIDENT_IN_CANCEL, 0, &next), GL_ESTATE);
    inc.state = INCIDENT_STATE_CANCELLED;
    ck_assert_int_eq(incident_next_state(&inc, INCIDENT_IN_ASSIGN, 0, &next), GL_ESTATE);
}
END_TEST

START_TEST(test_vehicle_status_table)
{
    ck_assert(vehicle_status_transition_ok(VEHICLE_STATUS_AVAILABLE, VEHICLE_STATUS_DISPATCHED));
    ck_assert(!vehicle_status_transition_ok(VEHICLE_STATUS_AVAILABLE, VEHICLE_STATUS_ON_SCENE));
    ck_assert(!vehicle_status_transition_ok(VEHICLE_STATUS_TRANSPORTING,
                                            VEHICLE_STATUS_AVAILABLE));
    ck_assert(vehicle_status_transition_ok(VEHICLE_STATUS_TRANSPORTING,
                                           VEHICLE_STATUS_OUT_OF_SERVICE));
    vehicle_status_t st;
    ck_assert_int_eq(vehicle_status_parse("en_route", &st), 0);
    ck_assert_int_eq(st, VEHICLE_STATUS_EN_ROUTE);
    ck_assert_int_eq(vehicle_status_parse("flying", &st), GL_EINVAL);
}
END_TEST

/* ---- GPS sanity --------------------------------------------------------------------------- */

START_TEST(test_gps_rules)
{
    gps_anchor_t a;
    memset(&a, 0, sizeof a);
    ck_assert_int_eq(gps_check(&a, 91, 117, T0, T0), GPS_OUT_OF_RANGE);
    ck_assert_int_eq(gps_check(&a, 28.3, 181, T0, T0), GPS_OUT_OF_RANGE);
    ck_assert_int_eq(gps_check(&a, 28.3, 117.2, T0 + 60000, T0), GPS_FUTURE);
    ck_assert_int_eq(gps_check(&a, 28.3, 117.2, T0, T0), GPS_OK);
    /* 1 km in 10 s = 360 km/h: refused, and the last good fix stays */
    double lat2, lon2;
    geo_destination(28.3, 117.2, 90, 1000, &lat2, &lon2);
    ck_assert_int_eq(gps_check(&a, lat2, lon2, T0 + 10000, T0 + 10000), GPS_TOO_FAST);
    ck_assert(a.lat == 28.3 && a.lon == 117.2);
    /* 250 m in 10 s = 90 km/h: fine */
    geo_destination(28.3, 117.2, 90, 250, &lat2, &lon2);
    ck_assert_int_eq(gps_check(&a, lat2, lon2, T0 + 11000, T0 + 11000), GPS_OK);
    /* an older fix is history, not the live position */
    ck_assert_int_eq(gps_check(&a, 28.3, 117.2, T0 + 5000, T0 + 12000), GPS_LATE);
}
END_TEST

START_TEST(test_gps_reanchor_after_consistent_jump)
{
    gps_anchor_t a;
    memset(&a, 0, sizeof a);
    ck_assert_int_eq(gps_check(&a, 28.3, 117.2, T0, T0), GPS_OK); /* a bad first fix, say */
    double lat, lon;
    int verdicts[GPS_REANCHOR_AFTER];
    for (int i = 0; i < GPS_REANCHOR_AFTER; i++) {
        geo_destination(28.5, 117.2, 0, 10.0 * i, &lat, &lon); /* 22 km away, moving slowly */
        int64_t t = T0 + 1000 * (i + 1);
        verdicts[i] = gps_check(&a, lat, lon, t, t);
    }
    for (int i = 0; i < GPS_REANCHOR_AFTER - 1; i++)
        ck_assert_int_eq(verdicts[i], GPS_TOO_FAST);
    ck_assert_int_eq(verdicts[GPS_REANCHOR_AFTER - 1], GPS_OK);
    ck_assert_double_eq_tol(a.lat, lat, 1e-9);
}
END_TEST

/* ---- the core ----------------------------------------------------------------------------- */

static int n_downlinks, n_records, n_positions;
static downlink_msg_t last_downlink;
static char last_downlink_vehicle[32];

static void on_downlink(void *ctx, const vehicle_t *v, const downlink_msg_t *m,
                        const incident_t *inc)
{
    n_downlinks++;
    last_downlink = *m;
    snprintf(last_downlink_vehicle, sizeof last_downlink_vehicle, "%s", v->id);
}

static void on_record(void *ctx, uint64_t lsn, const char *payload, size_t len)
{
    n_records++;
}

static int position_room = 1; /* 0: the position buffer is full */

static int on_position(void *ctx, const vehicle_t *v, uint64_t seq, double lat, double lon,
                       int64_t fix_ms, int64_t rx_ms, float speed, float heading, float hdop,
                       int late)
{
    if (!position_room)
        return GL_ENOSPC;
    n_positions++;
    return 0;
}

static const dispatch_hooks_t hooks = {.send_downlink = on_downlink,
                                       .record_appended = on_record,
                                       .position = on_position};

static dispatch_params_t params(void)
{
    dispatch_params_t p = {.match = {.eta = {1.3, 40 / 3.6}, .stale_ms = 30000},
                           .auto_assign_ms = 60000,
                           .downlink_resend_ms = 3000};
    return p;
}

static char journal_path[256];

static void add_unit(dispatch_t *d, const char *id, const char *kind, const char *cap)
{
    vehicle_t t;
    memset(&t, 0, sizeof t);
    snprintf(t.id, sizeof t.id, "%s", id);
    snprintf(t.call_sign, sizeof t.call_sign, "贵溪%s", id);
    snprintf(t.kind, sizeof t.kind, "%s", kind);
    if (cap)
        snprintf(t.caps[t.ncaps++], sizeof t.caps[0], "%s", cap);
    t.status = VEHICLE_STATUS_AVAILABLE;
    ck_assert_int_eq(fleet_add(dispatch_fleet(d), &t, NULL), 0);
}

/* A fleet around Guixi: unit i sits i km north of the scene at 28.30, 117.20. */
static dispatch_t *make_core(journal_t **j)
{
    snprintf(journal_path, sizeof journal_path, "/tmp/gl-check-dispatch-%d.log", (int)getpid());
    unlink(journal_path);
    ck_assert_int_eq(journal_open(journal_path, 0, NULL, NULL, j), 0);
    dispatch_params_t p = params();
    dispatch_t *d = dispatch_new(&p, &hooks, NULL, *j);
    ck_assert_ptr_nonnull(d);
    gl_time_set_zone("Asia/Shanghai");
    const char *ids[] = {"U1", "U2", "U3", "U4", "U5", "U6", "U7"};
    const char *kinds[] = {"BLS", "ALS", "ALS", "ALS", "ALS", "ALS", "BLS"};
    for (int i = 0; i < 7; i++) {
        add_unit(d, ids[i], kinds[i], i == 6 ? "incubator" : NULL);
        vehicle_t *v;
        ck_assert_int_eq(dispatch_uplink_begin(d, ids[i], 1, 1, &v), 0);
        double lat, lon;
        geo_destination(28.30, 117.20, 0, 1000.0 * (i + 1), &lat, &lon);
        ck_assert_int_eq(dispatch_uplink_fix(d, v, 1, lat, lon, T0, 0, 0, 1, T0), GPS_OK);
    }
    n_downlinks = n_records = 0;
    return d;
}

static incident_t *new_call(dispatch_t *d, complaint_t c, int priority, int64_t now)
{
    call_input_t in = {.lat = 28.30, .lon = 117.20, .complaint = c, .priority = priority,
                       .caller = "13800000000", .address = "贵溪市 雄石街道"};
    incident_t *inc = NULL;
    char err[160];
    ck_assert_int_eq(dispatch_call_new(d, &in, now, &inc, err, sizeof err), 0);
    return inc;
}

START_TEST(test_ranking_nearest_capable_available)
{
    journal_t *j;
    dispatch_t *d = make_core(&j);
    incident_t *inc = new_call(d, COMPLAINT_CHEST_PAIN, 2, T0 + 1000);
    ck_assert_str_eq(inc->id, "20261125-0001");
    candidate_t c[MATCH_MAX_CANDIDATES];
    int n = dispatch_candidates(d, inc, T0 + 1000, c);
    /* U1 is nearest but BLS: chest pain needs ALS. U7 (BLS) is out too. */
    ck_assert_int_eq(n, 5);
    ck_assert_str_eq(c[0].vehicle->id, "U2");
    ck_assert_str_eq(c[4].vehicle->id, "U6");
    for (int i = 1; i < n; i++)
        ck_assert(c[i].eta_s >= c[i - 1].eta_s);
    ck_assert_double_eq_tol(c[0].distance_m, 2000, 1);
    ck_assert_double_eq_tol(c[0].eta_s, 2000 * 1.3 / (40 / 3.6), 0.5);
    /* stale units are not recommended: 31 s after the last fix nobody is */
    ck_assert_int_eq(dispatch_candidates(d, inc, T0 + 31000, c), 0);
    /* a newborn needs the incubator */
    incident_t *nb = new_call(d, COMPLAINT_NEWBORN, 2, T0 + 2000);
    ck_assert_str_eq(nb->id, "20261125-0002");
    ck_assert_int_eq(dispatch_candidates(d, nb, T0 + 2000, c), 1);
    ck_assert_str_eq(c[0].vehicle->id, "U7");
    dispatch_free(d);
    journal_close(j);
    unlink(journal_path);
}
END_TEST

START_TEST(test_assign_and_unit_reports)
{
    journal_t *j;
    dispatch_t *d = make_core(&j);
    incident_t *inc = new_call(d, COMPLAINT_STROKE, 1, T0 + 1000);
    ck_assert_int_eq(inc->auto_assign_at_ms, T0 + 1000 + 60000);
    char err[160];
    ck_assert_int_eq(dispatch_assign(d, inc, "U1", "operator", 0, T0 + 2000, err, sizeof err),
                     GL_ECAPABILITY);
    ck_assert_int_eq(dispatch_assign(d, inc, "nope", "operator", 0, T0 + 2000, err, sizeof err),
                     GL_ENOENT);
    ck_assert_int_eq(dispatch_assign(d, inc, "U2", "operator", 0, T0 + 2000, err, sizeof err), 0);
    ck_assert_int_eq(inc->state, INCIDENT_STATE_DISPATCHED);
    ck_assert_str_eq(inc->vehicle, "U2");
    vehicle_t *u2 = fleet_find(dispatch_fleet(d), "U2");
    ck_assert_int_eq(u2->status, VEHICLE_STATUS_DISPATCHED);
    ck_assert_int_eq(n_downlinks, 1);
    ck_assert_int_eq(last_downlink.kind, DOWNLINK_ASSIGNMENT);
    ck_assert_str_eq(last_downlink.incident, inc->id);
    /* a dispatched unit cannot take a second call */
    incident_t *other = new_call(d, COMPLAINT_OTHER, 3, T0 + 2500);
    ck_assert_int_eq(dispatch_assign(d, other, "U2", "operator", 0, T0 + 2600, err, sizeof err),
                     GL_EUNAVAILABLE);
    /* the unit's reports drive the incident; an illegal one is refused and changes nothing */
    vehicle_t *v;
    ck_assert_int_eq(dispatch_uplink_begin(d, "U2", 2, 0, &v), 0);
    ck_assert_int_eq(dispatch_uplink_status(d, v, 2, VEHICLE_STATUS_TRANSPORTING, inc->id,
                                            T0 + 3000, T0 + 3000),
                     GL_ESTATE);
    ck_assert_int_eq(inc->state, INCIDENT_STATE_DISPATCHED);
    const vehicle_status_t steps[] = {VEHICLE_STATUS_EN_ROUTE, VEHICLE_STATUS_ON_SCENE,
                                      VEHICLE_STATUS_TRANSPORTING, VEHICLE_STATUS_AT_HOSPITAL,
                                      VEHICLE_STATUS_AVAILABLE};
    for (int i = 0; i < 5; i++) {
        uint64_t seq = 3 + (uint64_t)i;
        ck_assert_int_eq(dispatch_uplink_begin(d, "U2", seq, 0, &v), 0);
        ck_assert_int_eq(dispatch_uplink_status(d, v, seq, steps[i], inc->id, T0 + 4000 + i,
                                                T0 + 4000 + i),
                         0);
    }
    ck_assert_int_eq(inc->state, INCIDENT_STATE_CLOSED);
    ck_assert_int_eq(v->status, VEHICLE_STATUS_AVAILABLE);
    ck_assert_str_eq(v->incident, "");
    /* call_received, assigned, 5 statuses, closed */
    ck_assert_int_eq(inc->nevents, 8);
    ck_assert_str_eq(inc->events[7].kind, "closed");
    /* a resent envelope is a duplicate */
    ck_assert_int_eq(dispatch_uplink_begin(d, "U2", 4, 0, &v), GL_EDUP);
    ck_assert_int_eq(dispatch_uplink_begin(d, "ghost", 1, 0, &v), GL_ENOENT);
    dispatch_free(d);
    journal_close(j);
    unlink(journal_path);
}
END_TEST

START_TEST(test_auto_assign_and_reassign_cancel)
{
    journal_t *j;
    dispatch_t *d = make_core(&j);
    incident_t *inc = new_call(d, COMPLAINT_CHEST_PAIN, 1, T0 + 1000);
    /* keep the fleet fresh */
    fleet_t *f = dispatch_fleet(d);
    for (uint32_t s = 0; s < fleet_count(f); s++)
        fleet_at(f, s)->fix_rx_ms = T0 + 60000;
    dispatch_tick(d, T0 + 60000);
    ck_assert_int_eq(inc->state, INCIDENT_STATE_NEW);
    dispatch_tick(d, T0 + 61000);
    ck_assert_int_eq(inc->state, INCIDENT_STATE_DISPATCHED);
    ck_assert_str_eq(inc->vehicle, "U2");
    ck_assert_str_eq(inc->events[1].kind, "auto_assigned");
    ck_assert_str_eq(inc->events[1].source, "dispatcher");
    /* the operator moves it to U3: U2 is stood down with a Cancel */
    char err[160];
    ck_assert_int_eq(dispatch_assign(d, inc, "U3", "operator", 0, T0 + 62000, err, sizeof err),
                     0);
    vehicle_t *u2 = fleet_find(f, "U2");
    ck_assert_int_eq(u2->status, VEHICLE_STATUS_AVAILABLE);
    ck_assert_int_eq(u2->npending, 2); /* assignment and cancel, neither acknowledged */
    dispatch_uplink_ack(d, u2, 2, u2->downlink_seq);
    ck_assert_int_eq(u2->npending, 0);
    /* unacknowledged downlinks are repeated */
    int before = n_downlinks;
    dispatch_tick(d, T0 + 62000 + 3000);
    ck_assert_int_eq(n_downlinks, before + 1); /* U3's assignment again */
    ck_assert_str_eq(last_downlink_vehicle, "U3");
    ck_assert_int_eq(dispatch_cancel(d, inc, "caller recovered", "operator", T0 + 70000, err,
                                     sizeof err),
                     0);
    ck_assert_int_eq(inc->state, INCIDENT_STATE_CANCELLED);
    ck_assert_int_eq(fleet_find(f, "U3")->status, VEHICLE_STATUS_AVAILABLE);
    ck_assert_int_eq(dispatch_cancel(d, inc, NULL, "operator", T0 + 71000, err, sizeof err),
                     GL_ESTATE);
    dispatch_free(d);
    journal_close(j);
    unlink(journal_path);
}
END_TEST

static dispatch_t *replay_target;
static int replay_record(uint64_t lsn, const char *payload, size_t len, void *ctx)
{
    return dispatch_apply_record(replay_target, payload, len);
}

START_TEST(test_restart_rebuilds_from_journal)
{
    journal_t *j;
    dispatch_t *d = make_core(&j);
    incident_t *inc = new_call(d, COMPLAINT_STROKE, 2, T0 + 1000);
    char err[160];
    ck_assert_int_eq(dispatch_assign(d, inc, "U4", "operator", 0, T0 + 2000, err, sizeof err), 0);
    vehicle_t *v;
    ck_assert_int_eq(dispatch_uplink_begin(d, "U4", 2, 0, &v), 0);
    ck_assert_int_eq(dispatch_uplink_status(d, v, 2, VEHICLE_STATUS_EN_ROUTE, inc->id, T0 + 3000,
                                            T0 + 3000),
                     0);
    new_call(d, COMPLAINT_TRAUMA, 3, T0 + 4000);
    uint64_t last = journal_last_lsn(j);
    ck_assert_uint_eq(last, 4);
    ck_assert_int_eq(n_records, 4);
    journal_close(j);

    /* a new process: the fleet comes from the database, everything else from the journal */
    dispatch_params_t p = params();
    dispatch_t *d2 = dispatch_new(&p, NULL, NULL, NULL);
    const char *ids[] = {"U1", "U2", "U3", "U4", "U5", "U6", "U7"};
    for (int i = 0; i < 7; i++)
        add_unit(d2, ids[i], "ALS", NULL);
    replay_target = d2;
    journal_t *j2;
    ck_assert_int_eq(journal_open(journal_path, 0, replay_record, NULL, &j2), 0);
    ck_assert_uint_eq(journal_last_lsn(j2), last);
    incident_table_t *t = dispatch_incidents(d2);
    ck_assert_int_eq(incident_table_count(t), 2);
    incident_t *r = incident_table_find(t, inc->id);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->state, INCIDENT_STATE_EN_ROUTE);
    ck_assert_str_eq(r->vehicle, "U4");
    ck_assert_str_eq(r->address, "贵溪市 雄石街道");
    ck_assert_int_eq(r->nevents, inc->nevents);
    for (size_t i = 0; i < r->nevents; i++) {
        ck_assert_str_eq(r->events[i].kind, inc->events[i].kind);
        ck_assert_int_eq(r->events[i].at_ms, inc->events[i].at_ms);
    }
    vehicle_t *v2 = fleet_find(dispatch_fleet(d2), "U4");
    ck_assert_int_eq(v2->status, VEHICLE_STATUS_EN_ROUTE);
    ck_assert_uint_eq(v2->uplink_seq, 2);
    ck_assert_int_eq(v2->npending, 1); /* the assignment was never acknowledged */
    /* numbering continues after the replayed calls */
    dispatch_set_journal(d2, j2);
    call_input_t in = {.lat = 28.3, .lon = 117.2, .complaint = COMPLAINT_OTHER, .priority = 4};
    incident_t *n3;
    ck_assert_int_eq(dispatch_call_new(d2, &in, T0 + 5000, &n3, err, sizeof err), 0);
    ck_assert_str_eq(n3->id, "20261125-0003");
    /* replaying the same records again changes nothing (idempotent) */
    journal_close(j2);
    ck_assert_int_eq(journal_open(journal_path, 0, replay_record, NULL, &j2), 0);
    ck_assert_int_eq(incident_table_count(t), 3);
    ck_assert_int_eq(incident_table_find(t, inc->id)->nevents, inc->nevents);
    journal_close(j2);
    dispatch_free(d2);
    dispatch_free(d);
    unlink(journal_path);
}
END_TEST

START_TEST(test_call_validation)
{
    journal_t *j;
    dispatch_t *d = make_core(&j);
    char err[160];
    incident_t *inc;
    call_input_t in = {.lat = 95, .lon = 117.2, .complaint = COMPLAINT_OTHER, .priority = 2};
    ck_assert_int_eq(dispatch_call_new(d, &in, T0, &inc, err, sizeof err), GL_EINVAL);
    in.lat = 28.3;
    in.priority = 0;
    ck_assert_int_eq(dispatch_call_new(d, &in, T0, &inc, err, sizeof err), GL_EINVAL);
    ck_assert_int_eq(incident_table_count(dispatch_incidents(d)), 0);
    ck_assert_uint_eq(journal_last_lsn(j), 0);
    dispatch_free(d);
    journal_close(j);
    unlink(journal_path);
}
END_TEST


/* ---- what review found: regressions ------------------------------------------------------- */

START_TEST(test_long_chinese_cancel_reason_reaches_the_unit)
{
    journal_t *j;
    dispatch_t *d = make_core(&j);
    incident_t *inc = new_call(d, COMPLAINT_CHEST_PAIN, 2, T0 + 1000);
    char err[160];
    ck_assert_int_eq(dispatch_assign(d, inc, "U2", "operator", 0, T0 + 2000, err, sizeof err), 0);
    /* 64 bytes of reason cut mid-character used to make the record lose the Cancel */
    const char *reason = "a患者已自行前往医院，家属来电取消，呼叫者表示不再需要救护车服务谢谢";
    ck_assert_int_eq(dispatch_cancel(d, inc, reason, "operator", T0 + 3000, err, sizeof err), 0);
    vehicle_t *v = fleet_find(dispatch_fleet(d), "U2");
    ck_assert_int_eq(v->npending, 2);
    ck_assert_int_eq(v->pending[1].kind, DOWNLINK_CANCEL);
    ck_assert_int_eq(last_downlink.kind, DOWNLINK_CANCEL);
    /* and it survives a replay of the journal */
    journal_close(j);
    dispatch_params_t p = params();
    dispatch_t *d2 = dispatch_new(&p, NULL, NULL, NULL);
    const char *ids[] = {"U1", "U2", "U3", "U4", "U5", "U6", "U7"};
    for (int i = 0; i < 7; i++)
        add_unit(d2, ids[i], "ALS", NULL);
    replay_target = d2;
    ck_assert_int_eq(journal_open(journal_path, 0, replay_record, NULL, &j), 0);
    vehicle_t *v2 = fleet_find(dispatch_fleet(d2), "U2");
    ck_assert_int_eq(v2->npending, 2);
    ck_assert_int_eq(v2->pending[1].kind, DOWNLINK_CANCEL);
    const incident_event_t *e = &incident_table_find(dispatch_incidents(d2), inc->id)
                                     ->events[inc->nevents - 1];
    ck_assert_ptr_nonnull(strstr(e->detail, "谢谢")); /* the whole reason is in the event */
    journal_close(j);
    dispatch_free(d2);
    dispatch_free(d);
    unlink(journal_path);
}
END_TEST

START_TEST(test_out_of_service_before_scene_reopens_the_call)
{
    journal_t *j;
    dispatch_t *d = make_core(&j);
    incident_t *inc = new_call(d, COMPLAINT_STROKE, 1, T0 + 1000);
    char err[160];
    ck_assert_int_eq(dispatch_assign(d, inc, "U2", "operator", 0, T0 + 2000, err, sizeof err), 0);
    vehicle_t *v;
    ck_assert_int_eq(dispatch_uplink_begin(d, "U2", 2, 0, &v), 0);
    ck_assert_int_eq(dispatch_uplink_status(d, v, 2, VEHICLE_STATUS_OUT_OF_SERVICE, NULL,
                                            T0 + 3000, T0 + 3000),
                     0);
    ck_assert_int_eq(inc->state, INCIDENT_STATE_NEW);
    ck_assert_str_eq(inc->vehicle, "");
    ck_assert_str_eq(inc->events[inc->nevents - 1].kind, "unit_withdrawn");
    ck_assert_int_eq(inc->auto_assign_at_ms, T0 + 3000); /* priority 1: auto-assign again now */
    /* reassigning does not stand down (make available) the out-of-service unit */
    ck_assert_int_eq(dispatch_assign(d, inc, "U3", "operator", 0, T0 + 4000, err, sizeof err), 0);
    ck_assert_int_eq(v->status, VEHICLE_STATUS_OUT_OF_SERVICE);
    /* once the crew is with the patient, the call cannot be cancelled from under them */
    vehicle_t *u3;
    ck_assert_int_eq(dispatch_uplink_begin(d, "U3", 2, 0, &u3), 0);
    ck_assert_int_eq(dispatch_uplink_status(d, u3, 2, VEHICLE_STATUS_ON_SCENE, inc->id, T0 + 5000,
                                            T0 + 5000),
                     0);
    ck_assert_int_eq(dispatch_cancel(d, inc, NULL, "operator", T0 + 6000, err, sizeof err),
                     GL_ESTATE);
    ck_assert_int_eq(u3->status, VEHICLE_STATUS_ON_SCENE);
    dispatch_free(d);
    journal_close(j);
    unlink(journal_path);
}
END_TEST

START_TEST(test_deferred_fix_go_back_n_and_resend_after_crash)
{
    journal_t *j;
    dispatch_t *d = make_core(&j);
    vehicle_t *v;
    double lat, lon;
    geo_destination(28.30, 117.20, 0, 1000, &lat, &lon);
    /* the position buffer is full: fix 2 is deferred (not processed) */
    position_room = 0;
    ck_assert_int_eq(dispatch_uplink_begin(d, "U1", 2, 1, &v), 0);
    dispatch_uplink_fix(d, v, 2, lat, lon, T0 + 1000, 0, 0, 1, T0 + 1000);
    ck_assert_uint_eq(v->uplink_seq, 1);
    position_room = 1;
    /* 3 and 4 come first (a unit resends newest first): taken, but the hole at 2 holds the
     * contiguous seq, and so the acknowledgement, below it */
    ck_assert_int_eq(dispatch_uplink_begin(d, "U1", 4, 0, &v), 0);
    dispatch_uplink_ack(d, v, 4, 0);
    ck_assert_int_eq(dispatch_uplink_begin(d, "U1", 3, 0, &v), 0);
    dispatch_uplink_ack(d, v, 3, 0);
    ck_assert_uint_eq(v->uplink_seq, 1);
    ck_assert_int_eq(dispatch_uplink_begin(d, "U1", 3, 0, &v), GL_EDUP);
    /* the resend of 2 fills the hole: everything up to 4 is processed */
    ck_assert_int_eq(dispatch_uplink_begin(d, "U1", 2, 1, &v), 0);
    dispatch_uplink_fix(d, v, 2, lat, lon, T0 + 1000, 0, 0, 1, T0 + 1000);
    ck_assert_uint_eq(v->uplink_seq, 4);
    /* far beyond the window (but no restart's jump): deferred until the hole is filled */
    ck_assert_int_eq(dispatch_uplink_begin(d, "U1", 4 + VEHICLE_SEQ_WINDOW + 1, 0, &v),
                     GL_EAGAIN);
    /* a restarted unit without a spool jumps ahead by the clock: taken, the gap given up */
    ck_assert_int_eq(dispatch_uplink_begin(d, "U1", 5000000, 0, &v), 0);
    dispatch_uplink_ack(d, v, 5000000, 0);
    ck_assert_uint_eq(v->uplink_seq, 5000000);
    /* a fix above what is durable is taken again (history lost in a crash); a status is not */
    v->uplink_seq = v->restored_seq = 10; /* as after a restart */
    memset(v->seen, 0, sizeof v->seen);
    v->durable_seq = 5;
    ck_assert_int_eq(dispatch_uplink_begin(d, "U1", 7, 1, &v), 0);
    ck_assert_int_eq(dispatch_uplink_begin(d, "U1", 7, 0, &v), GL_EDUP);
    ck_assert_int_eq(dispatch_uplink_begin(d, "U1", 5, 1, &v), GL_EDUP);
    /* what this process took itself is a duplicate (or a replay), fix or not */
    v->restored_seq = 0;
    ck_assert_int_eq(dispatch_uplink_begin(d, "U1", 7, 1, &v), GL_EDUP);
    dispatch_free(d);
    journal_close(j);
    unlink(journal_path);
}
END_TEST

START_TEST(test_journal_torn_tail_cut_damage_refused)
{
    char path[256];
    snprintf(path, sizeof path, "/tmp/gl-check-journal-%d.log", (int)getpid());
    unlink(path);
    journal_t *j;
    uint64_t lsn;
    ck_assert_int_eq(journal_open(path, 0, NULL, NULL, &j), 0);
    ck_assert_int_eq(journal_append(j, "{\"a\":1}", 7, &lsn), 0);
    ck_assert_int_eq(journal_append(j, "{\"a\":2}", 7, &lsn), 0);
    ck_assert_int_eq(journal_append(j, "x\ny", 3, &lsn), GL_EINVAL);
    journal_close(j);
    /* a torn last line (a crash mid-write) is cut off */
    FILE *f = fopen(path, "a");
    fputs("3 0123456789abcdef {\"a\"", f);
    fclose(f);
    ck_assert_int_eq(journal_open(path, 0, NULL, NULL, &j), 0);
    ck_assert_uint_eq(journal_last_lsn(j), 2);
    ck_assert_int_eq(journal_append(j, "{\"a\":3}", 7, &lsn), 0);
    ck_assert_uint_eq(lsn, 3);
    journal_close(j);
    /* damage in the middle (a flipped byte in record 2) is refused, not cut */
    f = fopen(path, "r+");
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf, f);
    char *second = memchr(buf, '\n', n) + 1;
    fseek(f, (long)(second - buf) + 25, SEEK_SET);
    fputc('9', f);
    fclose(f);
    ck_assert_int_eq(journal_open(path, 0, NULL, NULL, &j), GL_EPROTO);
    unlink(path);
}
END_TEST

static Suite *dispatch_suite(void)
{
    Suite *s = suite_create("dispatch");
    TCase *tc = tcase_create("Transitions");
    tcase_add_test(tc, test_incident_happy_path);
    tcase_add_test(tc, test_incident_illegal_transitions);
    tcase_add_test(tc, test_vehicle_status_table);
    suite_add_tcase(s, tc);
    tc = tcase_create("GPS");
    tcase_add_test(tc, test_gps_rules);
    tcase_add_test(tc, test_gps_reanchor_after_consistent_jump);
    suite_add_tcase(s, tc);
    tc = tcase_create("Core");
    tcase_add_test(tc, test_ranking_nearest_capable_available);
    tcase_add_test(tc, test_assign_and_unit_reports);
    tcase_add_test(tc, test_auto_assign_and_reassign_cancel);
    tcase_add_test(tc, test_restart_rebuilds_from_journal);
    tcase_add_test(tc, test_call_validation);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tc = tcase_create("Review");
    tcase_add_test(tc, test_long_chinese_cancel_reason_reaches_the_unit);
    tcase_add_test(tc, test_out_of_service_before_scene_reopens_the_call);
    tcase_add_test(tc, test_deferred_fix_go_back_n_and_resend_after_crash);
    tcase_add_test(tc, test_journal_torn_tail_cut_damage_refused);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dispatch_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
