/*
 * Unit tests of `goldlinectl report` and `import-calls` (console/ctl_report.c, ctl_import.c):
 * which events start and end an interval (earliest start, first end at or after it, status and
 * onset references, not-applicable and incomplete cases), percentiles, the per-metric figures on
 * hand-made incidents with hand-computed answers (exactly at the target is met), compliance
 * rules as stored in golden_metrics (parsed, judged, or shown as text), the output forms, the
 * source time formats (12-hour clock, daylight saving), CSV quoting, and the import of small
 * hand-made SF and NYC files: grouping of unit rows by call, --limit and --medical, every
 * rejection reason, the stage → event mapping. The "Real data" case reads the real files in
 * ../shared/data/calls when present and checks the volumes PROFILE.md states.
 */
#include "ctl_db.h"
#include "ctl_import.h"
#include "ctl_report.h"
#include "err.h"
#include "timeutil.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S 1000LL /* ms per second */

static rep_metric_t metric(const char *name, const char *applies, const char *start,
                           const char *end, int64_t target_s, const char *rule)
{
    rep_metric_t m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "%s", name);
    snprintf(m.applies_to, sizeof m.applies_to, "%s", applies);
    snprintf(m.start_event, sizeof m.start_event, "%s", start);
    snprintf(m.end_event, sizeof m.end_event, "%s", end);
    m.target_ms = target_s * S;
    snprintf(m.compliance, sizeof m.compliance, "%s", rule);
    return m;
}

static rep_event_t ev(int64_t at_s, const char *kind, const char *status)
{
    rep_event_t e;
    memset(&e, 0, sizeof e);
    e.at_ms = at_s * S;
    snprintf(e.kind, sizeof e.kind, "%s", kind);
    snprintf(e.status, sizeof e.status, "%s", status ? status : "");
    return e;
}

static rep_incident_t incident(const char *id, const char *complaint, rep_event_t *events, size_t n)
{
    rep_incident_t inc;
    memset(&inc, 0, sizeof inc);
    snprintf(inc.id, sizeof inc.id, "%s", id);
    snprintf(inc.complaint, sizeof inc.complaint, "%s", complaint);
    inc.events = events;
    inc.nevents = n;
    return inc;
}

/* ==== intervals ============================================================================== */

START_TEST(test_find_event)
{
    rep_event_t e[] = {ev(500, "assigned", NULL), ev(300, "auto_assigned", NULL),
                       ev(700, "status", "en_route"), ev(650, "status", "on_scene"),
                       ev(900, "status", "en_route")};
    rep_incident_t inc = incident("20180101-0001", "other", e, 5);
    int64_t at;
    ck_assert_int_eq(rep_find_event(&inc, "assigned|auto_assigned", INT64_MIN, &at), 1);
    ck_assert_int_eq(at, 300 * S); /* the earliest of both alternatives, not the first listed */
    ck_assert_int_eq(rep_find_event(&inc, "status:en_route", INT64_MIN, &at), 1);
    ck_assert_int_eq(at, 700 * S);
    ck_assert_int_eq(rep_find_event(&inc, "status:en_route", 701 * S, &at), 1);
    ck_assert_int_eq(at, 900 * S);
    ck_assert_int_eq(rep_find_event(&inc, "status:en_route", 901 * S, &at), 0);
    ck_assert_int_eq(rep_find_event(&inc, "status:en_rout", INT64_MIN, &at), 0);
    ck_assert_int_eq(rep_find_event(&inc, "status", INT64_MIN, &at), 1); /* the kind itself */
    ck_assert_int_eq(at, 650 * S);
    ck_assert_int_eq(rep_find_event(&inc, "onset", INT64_MIN, &at), 0);
    inc.onset_ms = 100 * S;
    ck_assert_int_eq(rep_find_event(&inc, "door|onset", INT64_MIN, &at), 1);
    ck_assert_int_eq(at, 100 * S);
}
END_TEST

START_TEST(test_case_states)
{
    rep_metric_t m = metric("call_to_scene_town", "town", "call_received",
                            "status:on_scene|first_medical_contact", 900, ">= 90% within 15 min");
    /* start: the earliest call_received (out of order in the list); end: the first end event at
     * or after it, although an earlier (bogus) on_scene exists */
    rep_event_t e1[] = {ev(120, "call_received", NULL), ev(100, "call_received", NULL),
                        ev(90, "status", "on_scene"), ev(400, "status", "on_scene"),
                        ev(350, "first_medical_contact", NULL)};
    rep_incident_t inc = incident("20180101-0001", "other", e1, 5);
    int64_t ms = -1;
    ck_assert_int_eq(rep_case(&m, &inc, &ms), REP_COMPLETE);
    ck_assert_int_eq(ms, 250 * S);

    rep_event_t e2[] = {ev(100, "status", "on_scene"), ev(90, "call_received", NULL)};
    inc = incident("20180101-0002", "other", e2, 1); /* only the end: no start */
    ck_assert_int_eq(rep_case(&m, &inc, &ms), REP_NO_START);
    rep_event_t e3[] = {ev(200, "call_received", NULL), ev(100, "status", "on_scene")};
    inc = incident("20180101-0003", "other", e3, 2);
    ck_assert_int_eq(rep_case(&m, &inc, &ms), REP_OUT_OF_ORDER);
    inc.nevents = 1;
    ck_assert_int_eq(rep_case(&m, &inc, &ms), REP_NO_END);

    rep_metric_t cp = metric("fmc_to_ecg", "chest_pain", "first_medical_contact|status:on_scene",
                             "first_ecg", 600, "monthly mean < 10 min and >= 75% of cases");
    ck_assert_int_eq(rep_case(&cp, &inc, &ms), REP_NOT_APPLICABLE);
    snprintf(inc.complaint, sizeof inc.complaint, "chest_pain");
    ck_assert_int_eq(rep_case(&cp, &inc, &ms), REP_NO_START);
    rep_metric_t st = metric("door_to_wire", "stemi", "door", "wire", 5400, "x");
    ck_assert_int_eq(rep_applies(&st, &inc), 0);
    rep_event_t e4[] = {ev(10, "stemi_confirmed", NULL)};
    inc = incident("20180101-0004", "chest_pain", e4, 1);
    ck_assert_int_eq(rep_applies(&st, &inc), 1);
    rep_metric_t cs = metric("c", "countryside", "a", "b", 1, "x");
    ck_assert_int_eq(rep_applies(&cs, &inc), 0);
}
END_TEST

START_TEST(test_percentile)
{
    double v[] = {10, 20, 30, 40};
    ck_assert(fabs(rep_percentile(v, 4, 0.5) - 25) < 1e-9);
    ck_assert(fabs(rep_percentile(v, 4, 0.9) - 37) < 1e-9); /* rank 2.7: 30 + 0.7 * 10 */
    ck_assert(fabs(rep_percentile(v, 4, 0) - 10) < 1e-9);
    ck_assert(fabs(rep_percentile(v, 4, 1) - 40) < 1e-9);
    ck_assert(fabs(rep_percentile(v, 1, 0.9) - 10) < 1e-9);
    double w[] = {60, 120, 180, 600, 601};
    ck_assert(fabs(rep_percentile(w, 5, 0.5) - 180) < 1e-9);
    ck_assert(fabs(rep_percentile(w, 5, 0.9) - 600.6) < 1e-9); /* rank 3.6 */
}
END_TEST

/* ==== figures ================================================================================ */

/* Four complete cases of 60, 120, 180 (exactly at the 3-min target) and 600 s, one without an
 * end, one whose only end is before its start, one not applicable. */
static rep_event_t fx_ev[7][2];
static rep_incident_t fx[7];

static void make_fixture(void)
{
    static const struct {
        const char *id, *complaint;
        int64_t start, end;
        const char *end_kind;
    } d[7] = {
        {"20171225-0001", "stroke", 1000, 1060, "ct"},
        {"20171225-0002", "stroke", 2000, 2600, "ct"},
        {"20171225-0003", "stroke", 3000, 3180, "ct"},
        {"20171225-0004", "stroke", 4000, 4120, "ct"},
        {"20171225-0005", "stroke", 5000, 0, NULL},
        {"20171225-0006", "stroke", 6000, 5900, "ct"},
        {"20171225-0007", "trauma", 7000, 7010, "ct"},
    };
    for (int i = 0; i < 7; i++) {
        fx_ev[i][0] = ev(d[i].start, "door", NULL);
        fx_ev[i][1] = ev(d[i].end, d[i].end_kind ? d[i].end_kind : "handover", NULL);
        fx[i] = incident(d[i].id, d[i].complaint, fx_ev[i], 2);
    }
}

START_TEST(test_compute)
{
    make_fixture();
    rep_metric_t m =
        metric("door_to_ct", "stroke", "door|status:at_hospital", "ct", 180, ">= 75% within 3 min");
    rep_result_t r;
    ck_assert_int_eq(rep_compute(&m, fx, 7, &r), 0);
    ck_assert_uint_eq(r.n, 6);
    ck_assert_uint_eq(r.complete, 4);
    ck_assert_uint_eq(r.incomplete, 2);
    ck_assert_uint_eq(r.out_of_order, 1);
    ck_assert_uint_eq(r.met, 3); /* 60, 120 and 180 (at the target) */
    ck_assert(fabs(r.compliance_pct - 75.0) < 1e-9);
    ck_assert(fabs(r.mean_s - 240.0) < 1e-9);   /* (60+120+180+600)/4 */
    ck_assert(fabs(r.median_s - 150.0) < 1e-9); /* (120+180)/2 */
    ck_assert(fabs(r.p90_s - 474.0) < 1e-9);    /* rank 2.7: 180 + 0.7 * 420 */
    ck_assert_uint_eq(r.nworst, 4);
    ck_assert_str_eq(r.worst[0].inc->id, "20171225-0002");
    ck_assert(fabs(r.worst[0].interval_s - 600) < 1e-9);
    ck_assert_str_eq(r.worst[1].inc->id, "20171225-0003");
    ck_assert_str_eq(r.worst[2].inc->id, "20171225-0004");
    ck_assert_str_eq(r.worst[3].inc->id, "20171225-0001");
    ck_assert_int_eq(r.rule_state, 1);
    ck_assert_msg(strstr(r.rule_detail, "75.0% within 03:00 >= 75%: yes"), "%s", r.rule_detail);

    /* one second less of target: the 180 s case is now missed */
    m.target_ms = 179 * S;
    ck_assert_int_eq(rep_compute(&m, fx, 7, &r), 0);
    ck_assert_uint_eq(r.met, 2);
    ck_assert(fabs(r.compliance_pct - 50.0) < 1e-9);

    /* no applicable case */
    rep_metric_t none = metric("x", "chest_pain", "door", "ct", 60, ">= 75% of cases");
    ck_assert_int_eq(rep_compute(&none, fx, 7, &r), 0);
    ck_assert_uint_eq(r.n, 0);
    ck_assert(isnan(r.compliance_pct) && isnan(r.mean_s) && isnan(r.p90_s));
    ck_assert_int_eq(r.rule_state, -2);
}
END_TEST

START_TEST(test_worst_top5)
{
    enum { N = 9 };
    static const int secs[N] = {50, 900, 30, 900, 70, 10, 400, 800, 20};
    rep_event_t e[N][2];
    rep_incident_t incs[N];
    for (int i = 0; i < N; i++) {
        char id[24];
        snprintf(id, sizeof id, "20180101-%04d", i + 1);
        e[i][0] = ev(1000, "call_received", NULL);
        e[i][1] = ev(1000 + secs[i], "assigned", NULL);
        incs[i] = incident(id, "other", e[i], 2);
    }
    rep_metric_t m = metric("call_to_dispatch", "all", "call_received", "assigned|auto_assigned",
                            60, ">= 90% within 60 s");
    rep_result_t r;
    ck_assert_int_eq(rep_compute(&m, incs, N, &r), 0);
    ck_assert_uint_eq(r.nworst, 5);
    /* 900 (0002), 900 (0004, tie after the lower number), 800, 400, 70 */
    ck_assert_str_eq(r.worst[0].inc->id, "20180101-0002");
    ck_assert_str_eq(r.worst[1].inc->id, "20180101-0004");
    ck_assert_str_eq(r.worst[2].inc->id, "20180101-0008");
    ck_assert_str_eq(r.worst[3].inc->id, "20180101-0007");
    ck_assert_str_eq(r.worst[4].inc->id, "20180101-0005");
    ck_assert_uint_eq(r.met, 4); /* 50, 30, 10, 20 */
    ck_assert_int_eq(r.rule_state, 0);
}
END_TEST

/* ==== rules ================================================================================== */

START_TEST(test_rule_parse)
{
    rep_clause_t c[REP_MAX_CLAUSES];
    ck_assert_int_eq(rep_rule_parse(">= 95% within 10 s", c), 1);
    ck_assert_int_eq(c[0].what, REP_RULE_SHARE_WITHIN);
    ck_assert_int_eq(c[0].op, REP_OP_GE);
    ck_assert(c[0].value == 95 && c[0].within_s == 10);

    ck_assert_int_eq(rep_rule_parse("monthly mean <= 90 min and >= 75% of cases", c), 2);
    ck_assert_int_eq(c[0].what, REP_RULE_MEAN);
    ck_assert_int_eq(c[0].op, REP_OP_LE);
    ck_assert(c[0].value == 5400);
    ck_assert_int_eq(c[1].what, REP_RULE_SHARE_MET);
    ck_assert(c[1].value == 75);

    ck_assert_int_eq(rep_rule_parse(">= 75% within 60 min and >= 50% within 45 min", c), 2);
    ck_assert(c[0].within_s == 3600 && c[1].within_s == 2700 && c[1].value == 50);
    ck_assert_int_eq(rep_rule_parse("monthly mean < 10 min", c), 1);
    ck_assert_int_eq(c[0].op, REP_OP_LT);
    ck_assert(c[0].value == 600);
    ck_assert_int_eq(rep_rule_parse("\xe2\x89\xa5 90 % within 4.5 h", c), 1); /* "≥ 90 %" */
    ck_assert(c[0].op == REP_OP_GE && c[0].within_s == 16200);
    ck_assert_int_eq(rep_rule_parse(">= 75% of thrombolysed cases", c), 1);

    /* not entirely machine-readable: shown as text, not judged */
    ck_assert_int_eq(rep_rule_parse(">= 75% of cases (90 min when taken straight to a PCI "
                                    "centre)",
                                    c),
                     0);
    ck_assert_int_eq(rep_rule_parse("IVT within 4.5 h of last known well", c), 0);
    ck_assert_int_eq(rep_rule_parse("EVT within 6 h (24 h with imaging selection)", c), 0);
    ck_assert_int_eq(rep_rule_parse("mean <= 90", c), 0);
    ck_assert_int_eq(rep_rule_parse(">= 95% within 10 s and", c), 0);
    ck_assert_int_eq(rep_rule_parse("", c), 0);
    ck_assert_int_eq(rep_rule_parse("monthly >= 95% within 10 s", c), 0);
}
END_TEST

START_TEST(test_rule_judge)
{
    make_fixture(); /* complete intervals 60, 120, 180, 600; mean 240 */
    rep_result_t r;
    static const struct {
        const char *rule;
        int state;
    } cases[] = {
        {">= 75% within 3 min", 1},
        {">= 76% within 3 min", 0},
        {"> 75% within 3 min", 0},
        {"mean < 4 min", 0},
        {"mean <= 4 min", 1},
        {"monthly mean <= 4 min and >= 75% of cases", 1},
        {"monthly mean <= 4 min and >= 80% of cases", 0},
        {">= 50% within 2 min", 1}, /* 60 and 120 */
        {"< 50% within 2 min", 0},
        {"IVT within 4.5 h of last known well", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rep_metric_t m = metric("door_to_ct", "stroke", "door", "ct", 180, cases[i].rule);
        ck_assert_int_eq(rep_compute(&m, fx, 7, &r), 0);
        ck_assert_msg(r.rule_state == cases[i].state, "%s: state %d, wanted %d (%s)", cases[i].rule,
                      r.rule_state, cases[i].state, r.rule_detail);
    }
}
END_TEST

START_TEST(test_parse_day)
{
    int d;
    ck_assert_int_eq(rep_parse_day("2018-01-31", &d), 0);
    ck_assert_int_eq(d, 20180131);
    ck_assert_int_eq(rep_parse_day("20180630", &d), 0);
    ck_assert_int_eq(d, 20180630);
    ck_assert_int_eq(rep_parse_day("2020-02-29", &d), 0);
    ck_assert_int_eq(rep_parse_day("2018-02-29", &d), GL_EINVAL);
    ck_assert_int_eq(rep_parse_day("2018-13-01", &d), GL_EINVAL);
    ck_assert_int_eq(rep_parse_day("2018-01-01x", &d), GL_EINVAL);
    ck_assert_int_eq(rep_parse_day("yesterday", &d), GL_EINVAL);
}
END_TEST

START_TEST(test_pg_command)
{
    char *a1[] = {"goldlinectl", "report", "--from", "2018-01-01", NULL};
    ck_assert_int_eq(ctl_pg_command(4, a1), 1);
    char *a2[] = {"goldlinectl", "--url", "ws://x:1", "import-calls", "f.csv", NULL};
    ck_assert_int_eq(ctl_pg_command(5, a2), 2);
    char *a3[] = {"goldlinectl", "--token", "report", "fleet", NULL}; /* "report" is a token */
    ck_assert_int_eq(ctl_pg_command(4, a3), 0);
    char *a4[] = {"goldlinectl", "timeline", "report", NULL};
    ck_assert_int_eq(ctl_pg_command(3, a4), 0);
}
END_TEST

START_TEST(test_conninfo)
{
    /* the order: --pg, GOLDLINE_PG, GOLDLINE_PG_URL, deploy/pg.sh's password file, libpq's own */
    char buf[512], dir[] = "/tmp/check_report_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    setenv("GOLDLINE_VAR_DIR", dir, 1);
    unsetenv("GOLDLINE_PG");
    unsetenv("GOLDLINE_PG_URL");
    unsetenv("GOLDLINE_PG_DB");
    unsetenv("GOLDLINE_PG_PORT");
    ck_assert_int_eq(ctl_db_conninfo(NULL, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, ""); /* no password file: libpq's PG* environment */
    char path[600];
    snprintf(path, sizeof path, "%s/pg.password", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("0a1b2c\n", f);
    fclose(f);
    setenv("GOLDLINE_PG_DB", "goldline_report", 1);
    ck_assert_int_eq(ctl_db_conninfo(NULL, buf, sizeof buf), 0);
    ck_assert_msg(strstr(buf, "hostaddr=127.0.0.1 port=5433 dbname=goldline_report user=goldline "
                              "password=0a1b2c "),
                  "%s", buf);
    setenv("GOLDLINE_PG_URL", "dbname=from_url", 1);
    ck_assert_int_eq(ctl_db_conninfo(NULL, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "dbname=from_url");
    setenv("GOLDLINE_PG", "dbname=from_env", 1);
    ck_assert_int_eq(ctl_db_conninfo(NULL, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "dbname=from_env");
    ck_assert_int_eq(ctl_db_conninfo("dbname=from_option", buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "dbname=from_option");
    ck_assert_int_eq(ctl_db_conninfo("dbname=from_option", buf, 8), GL_ERANGE);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* ==== output ================================================================================= */

static char *print_with(int form, const rep_result_t *r, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rep_header_t h = {"2017-12-25", "2017-12-25", NULL, 7, 1};
    int rc = form == 0   ? rep_print_json(f, &h, r, n)
             : form == 1 ? rep_print_csv(f, &h, r, n)
                         : rep_print_table(f, &h, r, n);
    fclose(f);
    ck_assert_int_eq(rc, 0);
    return buf;
}

START_TEST(test_output)
{
    make_fixture();
    snprintf(fx[1].ref, sizeof fx[1].ref, "sf:180000002");
    rep_metric_t m[2] = {metric("door_to_ct", "stroke", "door", "ct", 180, ">= 75% within 3 min"),
                         metric("onset_to_needle", "stroke", "onset", "needle", 16200,
                                "IVT within 4.5 h, of \"last known well\"")};
    rep_result_t r[2];
    ck_assert_int_eq(rep_compute(&m[0], fx, 7, &r[0]), 0);
    ck_assert_int_eq(rep_compute(&m[1], fx, 7, &r[1]), 0);

    char *js = print_with(0, r, 2);
    json_error_t jerr;
    json_t *root = json_loads(js, 0, &jerr);
    ck_assert_msg(root != NULL, "not JSON: %s", jerr.text);
    ck_assert_int_eq(json_integer_value(json_object_get(root, "incidents")), 7);
    json_t *a = json_array_get(json_object_get(root, "metrics"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(a, "name")), "door_to_ct");
    ck_assert_int_eq(json_integer_value(json_object_get(a, "n")), 6);
    ck_assert_int_eq(json_integer_value(json_object_get(a, "incomplete")), 2);
    ck_assert(fabs(json_real_value(json_object_get(a, "compliance_pct")) - 75) < 1e-9);
    ck_assert(fabs(json_real_value(json_object_get(a, "p90_s")) - 474) < 1e-9);
    ck_assert(json_is_true(json_object_get(a, "rule_met")));
    json_t *w0 = json_array_get(json_object_get(a, "worst"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(w0, "incident")), "20171225-0002");
    ck_assert_str_eq(json_string_value(json_object_get(w0, "ref")), "sf:180000002");
    json_t *b = json_array_get(json_object_get(root, "metrics"), 1);
    ck_assert(json_is_null(json_object_get(b, "rule_met")));
    ck_assert(json_is_null(json_object_get(b, "mean_s")));
    ck_assert_str_eq(json_string_value(json_object_get(b, "rule_state")), "not machine-readable");
    json_decref(root);
    free(js);

    char *csv = print_with(1, r, 2);
    ck_assert_msg(strstr(csv, "\ndoor_to_ct,stroke,180,6,4,2,1,3,75.00,240.0,150.0,474.0,"
                              ">= 75% within 3 min,yes,20171225-0002=600 20171225-0003=180 "
                              "20171225-0004=120 20171225-0001=60\n"),
                  "%s", csv);
    /* a rule with a comma and quotes is one quoted field */
    ck_assert_msg(strstr(csv, ",\"IVT within 4.5 h, of \"\"last known well\"\"\",,\n"), "%s", csv);
    free(csv);

    char *tab = print_with(2, r, 2);
    ck_assert_msg(strstr(tab, "7 closed incidents (1 still open, left out)"), "%s", tab);
    ck_assert_msg(strstr(tab, "door_to_ct"), "%s", tab);
    ck_assert_msg(strstr(tab, "   75.0    03:00    04:00    02:30    07:54  met"), "%s", tab);
    ck_assert_msg(strstr(tab, "worst 1: 20171225-0002     10:00  sf:180000002"), "%s", tab);
    free(tab);
}
END_TEST

/* ==== import ================================================================================= */

START_TEST(test_parse_time)
{
    gl_time_set_zone("America/Los_Angeles");
    int64_t ms, want;
    ck_assert_int_eq(imp_parse_time("01/01/2018 11:50:56 PM", &ms), 0);
    ck_assert_int_eq(gl_time_parse("2018-01-02T07:50:56Z", &want), 0); /* PST = UTC-8 */
    ck_assert_int_eq(ms, want);
    ck_assert_int_eq(ms, 1514879456000LL);
    ck_assert_int_eq(imp_parse_time("01/01/2018 12:03:16 AM", &ms), 0); /* 12 AM is 00h */
    gl_time_parse("2018-01-01T08:03:16Z", &want);
    ck_assert_int_eq(ms, want);
    ck_assert_int_eq(imp_parse_time("07/01/2018 12:00:00 PM", &ms), 0); /* PDT = UTC-7 */
    gl_time_parse("2018-07-01T19:00:00Z", &want);
    ck_assert_int_eq(ms, want);
    gl_time_set_zone("America/New_York");
    ck_assert_int_eq(imp_parse_time("01/01/2013 01:04:56 AM", &ms), 0);
    gl_time_parse("2013-01-01T06:04:56Z", &want);
    ck_assert_int_eq(ms, want);

    ck_assert_int_eq(imp_parse_time("", &ms), GL_ENOENT);
    ck_assert_int_eq(imp_parse_time("01/01/2018 11:50:56", &ms), GL_EINVAL);
    ck_assert_int_eq(imp_parse_time("13/01/2018 11:50:56 PM", &ms), GL_EINVAL);
    ck_assert_int_eq(imp_parse_time("02/30/2018 11:50:56 PM", &ms), GL_EINVAL);
    ck_assert_int_eq(imp_parse_time("01/01/2018 13:50:56 PM", &ms), GL_EINVAL);
    ck_assert_int_eq(imp_parse_time("01/01/2018 11:50:56 PMX", &ms), GL_EINVAL);
    ck_assert_int_eq(imp_parse_time("2018-01-01 11:50:56", &ms), GL_EINVAL);
}
END_TEST

START_TEST(test_split)
{
    char line[] = "180014214,E28,\"(37.80, -122.40)\",,\"say \"\"hi\"\"\",end";
    char *f[8];
    ck_assert_int_eq(imp_split(line, ',', f, 8), 6);
    ck_assert_str_eq(f[0], "180014214");
    ck_assert_str_eq(f[2], "(37.80, -122.40)");
    ck_assert_str_eq(f[3], "");
    ck_assert_str_eq(f[4], "say \"hi\"");
    ck_assert_str_eq(f[5], "end");
    char tsv[] = "a\t\"b\"\t\tc";
    ck_assert_int_eq(imp_split(tsv, '\t', f, 8), 4);
    ck_assert_str_eq(f[1], "\"b\"");
    ck_assert_str_eq(f[2], "");
}
END_TEST

static const char sf_text[] =
    "Call Number,Unit ID,Call Type,Received DtTm,Dispatch DtTm,Response DtTm,On Scene DtTm,"
    "Transport DtTm,Hospital DtTm,Available DtTm,Final Priority,Call Type Group,Location,"
    "Unit Type,RowID\n"
    /* call 100: M1 transports */
    "100,M1,Medical Incident,01/01/2018 11:50:00 PM,01/01/2018 11:52:00 PM,01/01/2018 11:53:00 PM,"
    "01/02/2018 12:01:00 AM,01/02/2018 12:20:00 AM,01/02/2018 12:35:00 AM,01/02/2018 01:10:00 AM,"
    "3,Potentially Life-Threatening,\"(37.8, -122.4)\",MEDIC,100-M1\n"
    /* call 200, between the rows of call 100: a fire */
    "200,E1,Structure Fire,01/02/2018 08:00:00 AM,01/02/2018 08:01:00 AM,,,,,"
    "01/02/2018 09:00:00 AM,2,Fire,\"(37.79, -122.41)\",ENGINE,200-E1\n"
    /* call 100: E2 first on scene */
    "100,E2,Medical Incident,01/01/2018 11:50:00 PM,01/01/2018 11:51:30 PM,01/01/2018 11:52:00 PM,"
    "01/01/2018 11:58:00 PM,,,01/02/2018 12:30:00 AM,3,Potentially Life-Threatening,"
    "\"(37.8, -122.4)\",ENGINE,100-E2\n"
    /* call 100: E3 on scene before en route: rejected */
    "100,E3,Medical Incident,01/01/2018 11:50:00 PM,01/01/2018 11:55:00 PM,01/01/2018 11:57:00 PM,"
    "01/01/2018 11:56:00 PM,,,01/02/2018 12:30:00 AM,3,Potentially Life-Threatening,"
    "\"(37.8, -122.4)\",ENGINE,100-E3\n"
    /* call 300: no received time */
    "300,M2,Medical Incident,,01/03/2018 10:00:00 AM,,,,,,2,Non Life-threatening,"
    "\"(37.8, -122.4)\",MEDIC,300-M2\n"
    /* call 100: M1 again */
    "100,M1,Medical Incident,01/01/2018 11:50:00 PM,01/01/2018 11:52:00 PM,,,,,"
    "01/02/2018 01:10:00 AM,3,Potentially Life-Threatening,\"(37.8, -122.4)\",MEDIC,100-M1\n"
    /* call 400: a time that does not parse */
    "400,M3,Traffic Collision,01/03/2018 10:00:00 AM,01/03/2018 10:01:00 AM,"
    "01/03/2018 10:01:30 AM,01/03/2018 25:00:00 PM,,,,2,Non Life-threatening,"
    "\"(37.8, -122.4)\",MEDIC,400-M3\n"
    /* call 500: a collision, medical group */
    "500,M4,Traffic Collision,01/04/2018 10:00:00 AM,01/04/2018 10:02:00 AM,,"
    "01/04/2018 10:09:00 AM,,,01/04/2018 10:30:00 AM,2,Non Life-threatening,"
    "\"(37.78, -122.42)\",MEDIC,500-M4\n";

static void load_sf(long limit, int medical, imp_call_t **calls, size_t *n, imp_stats_t *st)
{
    gl_time_set_zone("America/Los_Angeles");
    char *buf = strdup(sf_text), unmapped[256], err[256];
    ck_assert_int_eq(imp_load(buf, strlen(buf), IMP_SF, limit, medical, NULL, calls, n, st,
                              unmapped, sizeof unmapped, err, sizeof err),
                     0);
    ck_assert_str_eq(unmapped, "RowID");
    free(buf); /* the calls hold copies, nothing points into the buffer */
}

static const imp_call_t *find_call(const imp_call_t *c, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(c[i].key, key))
            return &c[i];
    return NULL;
}

START_TEST(test_import_sf)
{
    imp_call_t *calls;
    size_t n;
    imp_stats_t st;
    load_sf(0, 0, &calls, &n, &st);
    ck_assert_uint_eq(st.rows, 8);
    ck_assert_uint_eq(st.rejected, 4);
    ck_assert_uint_eq(st.reasons[IMP_R_OUT_OF_ORDER], 1);
    ck_assert_uint_eq(st.reasons[IMP_R_NO_CALL_TIME], 1);
    ck_assert_uint_eq(st.reasons[IMP_R_DUPLICATE], 1);
    ck_assert_uint_eq(st.reasons[IMP_R_BAD_TIME], 1);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(st.calls, 3);
    ck_assert_uint_eq(st.empty_calls, 2);     /* 300 and 400 */
    ck_assert_str_eq(calls[0].key, "sf:100"); /* file order */
    ck_assert_str_eq(calls[1].key, "sf:200");
    ck_assert_str_eq(calls[2].key, "sf:500");

    const imp_call_t *c = &calls[0];
    int64_t t;
    gl_time_parse("2018-01-02T07:50:00Z", &t);
    ck_assert_int_eq(c->created_ms, t);
    ck_assert_int_eq(c->day, 20180101); /* the local date, not UTC's */
    ck_assert_str_eq(c->complaint, "other");
    ck_assert_int_eq(c->priority, 1);
    ck_assert(c->has_geom && fabs(c->lat - 37.8) < 1e-9 && fabs(c->lon + 122.4) < 1e-9);
    ck_assert_uint_eq(c->rows, 2);
    ck_assert_uint_eq(c->nevents, 12); /* received, M1 x6, E2 x4, closed */
    static const char *const kinds[12][3] = {
        {"call_received", "", ""},
        {"assigned", "E2", "{\"unit_type\":\"ENGINE\"}"},
        {"assigned", "M1", "{\"unit_type\":\"MEDIC\"}"},
        {"status", "E2", "{\"status\":\"en_route\"}"},
        {"status", "M1", "{\"status\":\"en_route\"}"},
        {"status", "E2", "{\"status\":\"on_scene\"}"},
        {"status", "M1", "{\"status\":\"on_scene\"}"},
        {"status", "M1", "{\"status\":\"transporting\"}"},
        {"status", "E2", "{\"status\":\"available\"}"},
        {"status", "M1", "{\"status\":\"at_hospital\"}"},
        {"status", "M1", "{\"status\":\"available\"}"},
        {"closed", "", ""},
    };
    for (size_t i = 0; i < 12; i++) {
        ck_assert_str_eq(c->events[i].kind, kinds[i][0]);
        ck_assert_str_eq(c->events[i].vehicle, kinds[i][1]);
        ck_assert_str_eq(c->events[i].detail, kinds[i][2]);
        if (i)
            ck_assert(c->events[i].at_ms >= c->events[i - 1].at_ms);
    }
    gl_time_parse("2018-01-02T09:10:00Z", &t); /* M1 available at 01:10 PST */
    ck_assert_int_eq(c->events[11].at_ms, t);
    ck_assert_int_eq(c->closed_ms, t);

    const imp_call_t *e = find_call(calls, n, "sf:500");
    ck_assert_str_eq(e->complaint, "trauma");
    ck_assert_int_eq(e->priority, 2);
    ck_assert_uint_eq(e->nevents, 5); /* received, assigned, on_scene, available, closed */
    imp_free(calls, n);

    /* every rejected row named, with its line, call, unit and reason */
    char *listing = NULL, unmapped[256], err[256];
    size_t listing_len = 0;
    FILE *rej = open_memstream(&listing, &listing_len);
    char *buf = strdup(sf_text);
    ck_assert_int_eq(imp_load(buf, strlen(buf), IMP_SF, 0, 0, rej, &calls, &n, &st, unmapped,
                              sizeof unmapped, err, sizeof err),
                     0);
    fclose(rej);
    free(buf);
    ck_assert_str_eq(listing, "rejected line 5: sf:100 unit E3: stages out of order\n"
                              "rejected line 6: sf:300 unit M2: no call time (Received / "
                              "INCIDENT_DATETIME)\n"
                              "rejected line 7: sf:100 unit M1: the same unit twice in a call, or "
                              "the same incident twice\n"
                              "rejected line 8: sf:400 unit M3: a time that does not parse\n");
    free(listing);
    imp_free(calls, n);

    load_sf(0, 1, &calls, &n, &st); /* --medical: the fire goes */
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(st.filtered_calls, 1);
    ck_assert_ptr_null(find_call(calls, n, "sf:200"));
    ck_assert_ptr_nonnull(find_call(calls, n, "sf:500"));
    imp_free(calls, n);

    load_sf(2, 0, &calls, &n, &st); /* the first two calls, every row of each */
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(st.rows, 5);
    ck_assert_uint_eq(st.rejected, 2);
    ck_assert_uint_eq(calls[0].rows, 2);
    imp_free(calls, n);
}
END_TEST

static const char nyc_text[] =
    "\xef\xbb\xbf"
    "CAD_INCIDENT_ID\tINCIDENT_DATETIME\tINITIAL_CALL_TYPE\tINITIAL_SEVERITY_LEVEL_CODE\t"
    "FIRST_ASSIGNMENT_DATETIME\tFIRST_ACTIVATION_DATETIME\tFIRST_ON_SCENE_DATETIME\t"
    "FIRST_TO_HOSP_DATETIME\tFIRST_HOSP_ARRIVAL_DATETIME\tINCIDENT_CLOSE_DATETIME\tBOROUGH\n"
    "130010001\t01/01/2013 12:00:04 AM\tCARD\t3\t01/01/2013 12:01:45 AM\t01/01/2013 12:01:51 AM\t"
    "01/01/2013 12:13:21 AM\t01/01/2013 12:28:49 AM\t01/01/2013 12:38:15 AM\t"
    "01/01/2013 01:04:56 AM\tBRONX\n"
    "130010002\t01/01/2013 12:05:00 AM\tCVAC\t2\t01/01/2013 12:06:00 AM\t\t\t\t\t"
    "01/01/2013 12:30:00 AM\tQUEENS\n"
    "130010001\t01/01/2013 12:00:04 AM\tCARD\t3\t\t\t\t\t\t\tBRONX\n"
    "130010003\t01/01/2013 12:07:00 AM\tINJURY\t5\t01/01/2013 12:08:00 AM\t01/01/2013 12:09:00 AM\t"
    "01/01/2013 12:08:30 AM\t\t\t01/01/2013 12:40:00 AM\tBRONX\n";

START_TEST(test_import_nyc)
{
    gl_time_set_zone("America/New_York");
    char *buf = strdup(nyc_text), unmapped[256], err[256];
    imp_call_t *calls;
    size_t n;
    imp_stats_t st;
    ck_assert_int_eq(imp_load(buf, strlen(buf), IMP_NYC, 0, 0, NULL, &calls, &n, &st, unmapped,
                              sizeof unmapped, err, sizeof err),
                     0);
    free(buf);
    ck_assert_str_eq(unmapped, "BOROUGH");
    ck_assert_uint_eq(st.rows, 4);
    ck_assert_uint_eq(st.rejected, 2);
    ck_assert_uint_eq(st.reasons[IMP_R_DUPLICATE], 1);
    ck_assert_uint_eq(st.reasons[IMP_R_OUT_OF_ORDER], 1);
    ck_assert_uint_eq(n, 2);
    const imp_call_t *c = &calls[0];
    ck_assert_str_eq(c->key, "nyc:130010001");
    ck_assert_str_eq(c->complaint, "chest_pain");
    ck_assert_int_eq(c->priority, 2);
    ck_assert_int_eq(c->has_geom, 0);
    ck_assert_int_eq(c->day, 20130101);
    ck_assert_uint_eq(c->nevents, 7);
    ck_assert_str_eq(c->events[2].kind, "status");
    ck_assert_str_eq(c->events[2].detail, "{\"status\":\"en_route\"}");
    ck_assert_str_eq(c->events[6].kind, "closed");
    int64_t t;
    gl_time_parse("2013-01-01T06:04:56Z", &t);
    ck_assert_int_eq(c->events[6].at_ms, t);
    ck_assert_str_eq(calls[1].complaint, "stroke");
    ck_assert_int_eq(calls[1].priority, 1);
    ck_assert_uint_eq(calls[1].nevents, 3); /* received, assigned, closed */
    imp_free(calls, n);

    /* a file of the other source is refused by its header */
    buf = strdup(nyc_text);
    ck_assert_int_eq(
        imp_load(buf, strlen(buf), IMP_SF, 0, 0, NULL, &calls, &n, &st, NULL, 0, err, sizeof err),
        GL_EINVAL);
    ck_assert_msg(strstr(err, "Call Number"), "%s", err);
    free(buf);
}
END_TEST

/* ==== real data ============================================================================== */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
}

START_TEST(test_real_files)
{
    size_t len;
    char *buf = slurp(GL_SHARED_DATA "/calls/sf_fd_calls_2018H1_6nbhd.csv", &len);
    if (!buf) {
        printf("check_report: SKIP real data: " GL_SHARED_DATA "/calls not present\n");
        return;
    }
    gl_time_set_zone("America/Los_Angeles");
    imp_call_t *calls;
    size_t n;
    imp_stats_t st;
    char err[256];
    ck_assert_int_eq(
        imp_load(buf, len, IMP_SF, 0, 0, NULL, &calls, &n, &st, NULL, 0, err, sizeof err), 0);
    /* PROFILE.md: 37,869 rows, 18,065 calls, none without a received time */
    ck_assert_uint_eq(st.rows, 37869);
    ck_assert_uint_eq(n + st.empty_calls, 18065);
    ck_assert_uint_eq(st.reasons[IMP_R_NO_CALL_TIME], 0);
    size_t taken = 0;
    for (size_t i = 0; i < n; i++)
        taken += calls[i].rows;
    ck_assert_uint_eq(st.rows - st.rejected, taken);
    for (size_t i = 0; i < n; i++) {
        ck_assert(calls[i].day >= 20180101 && calls[i].day <= 20180630);
        ck_assert(calls[i].has_geom);
    }
    imp_free(calls, n);
    free(buf);

    buf = slurp(GL_SHARED_DATA "/calls/nyc_ems_2013-01-01_to_03.tsv", &len);
    ck_assert_ptr_nonnull(buf);
    gl_time_set_zone("America/New_York");
    ck_assert_int_eq(
        imp_load(buf, len, IMP_NYC, 0, 0, NULL, &calls, &n, &st, NULL, 0, err, sizeof err), 0);
    ck_assert_uint_eq(st.rows, 12642); /* PROFILE.md: 12,642 incidents, ids unique */
    ck_assert_uint_eq(st.reasons[IMP_R_DUPLICATE], 0);
    ck_assert_uint_eq(n + st.rejected, 12642);
    size_t cvac = 0;
    for (size_t i = 0; i < n; i++)
        cvac += !strcmp(calls[i].complaint, "stroke") && strstr(calls[i].notes, " CVAC,");
    ck_assert(cvac > 0 && cvac <= 86); /* PROFILE.md: 86 CVAC incidents */
    imp_free(calls, n);
    free(buf);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("Intervals");
    tcase_add_test(tc, test_find_event);
    tcase_add_test(tc, test_case_states);
    tcase_add_test(tc, test_percentile);
    suite_add_tcase(s, tc);
    tc = tcase_create("Figures");
    tcase_add_test(tc, test_compute);
    tcase_add_test(tc, test_worst_top5);
    tcase_add_test(tc, test_rule_parse);
    tcase_add_test(tc, test_rule_judge);
    tcase_add_test(tc, test_parse_day);
    tcase_add_test(tc, test_pg_command);
    tcase_add_test(tc, test_conninfo);
    tcase_add_test(tc, test_output);
    suite_add_tcase(s, tc);
    tc = tcase_create("Import");
    tcase_add_test(tc, test_parse_time);
    tcase_add_test(tc, test_split);
    tcase_add_test(tc, test_import_sf);
    tcase_add_test(tc, test_import_nyc);
    suite_add_tcase(s, tc);
    tc = tcase_create("Real data");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_real_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(report_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
