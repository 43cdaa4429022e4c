/*
 * Unit tests of goldlinectl (console/): argument parsing into request JSON for every command,
 * refusal of bad input with the right message, token resolution, table formatting (Chinese
 * call signs, missing optional fields, time zones, hostile text, golden-time clocks and their
 * durations) and error lines. The "Socket"
 * case runs a tiny libwebsockets server in a forked child that speaks docs/api.md's
 * hello/request/reply protocol, and drives ctl_run() against it over a real TCP socket: good
 * path, bad token, error reply, server closing, silence (timeout), garbage, nothing listening,
 * fragmented large replies, pushed events, and event.add / clocks as tables.
 */
#include "ctl.h"
#include "ctl_args.h"
#include "ctl_format.h"
#include "ctl_ws.h"
#include "err.h"
#include "timeutil.h"

#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* ==== helpers ================================================================================ */

#define ARGV(...) ((char *[]){"goldlinectl", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"goldlinectl", __VA_ARGS__}) / sizeof(char *)))

static const ctl_env_t no_env = {NULL, NULL, NULL};

/* Parses argv and checks the request equals the JSON text `want` (an object, keys any order). */
static void expect_request(int argc, char **argv, const char *want)
{
    ctl_args_t a;
    char err[256];
    int rc = ctl_args_parse(argc, argv, &no_env, &a, err, sizeof err);
    ck_assert_msg(rc == 0, "parse failed: %s", err);
    json_error_t jerr;
    json_t *expected = json_loads(want, 0, &jerr);
    ck_assert_msg(expected != NULL, "bad expected JSON: %s", jerr.text);
    char *got = json_dumps(a.request, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_msg(json_equal(a.request, expected), "request %s, wanted %s", got, want);
    free(got);
    json_decref(expected);
    ctl_args_free(&a);
}

/* Parses argv and checks it is refused with a message containing `want`. */
static void expect_refused(int argc, char **argv, const char *want)
{
    ctl_args_t a;
    char err[256];
    int rc = ctl_args_parse(argc, argv, &no_env, &a, err, sizeof err);
    ck_assert_msg(rc == GL_EINVAL, "accepted: %s ...", argc > 1 ? argv[1] : "");
    ck_assert_msg(strstr(err, want) != NULL, "message '%s' lacks '%s'", err, want);
    ctl_args_free(&a);
}

/* Formats `json_text` as the table of `op` into a malloc'd string. */
static char *table_of(const char *op, const char *json_text, const char *tz, int *rc)
{
    json_error_t jerr;
    json_t *result = json_loads(json_text, 0, &jerr);
    ck_assert_msg(result != NULL, "bad test JSON: %s", jerr.text);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    *rc = ctl_format_table(f, op, result, tz);
    fclose(f);
    json_decref(result);
    return buf;
}

/* The display column at which `needle` starts in `line` (its first occurrence), or -1. */
static int column_of(const char *line, const char *needle)
{
    const char *p = strstr(line, needle);
    if (!p)
        return -1;
    char *prefix = strndup(line, (size_t)(p - line));
    int w = ctl_text_width(prefix);
    free(prefix);
    return w;
}

/* The display column just after " value" in line (a right-aligned cell), or -1. */
static int end_of_value(const char *line, const char *value)
{
    char needle[64];
    snprintf(needle, sizeof needle, " %s", value);
    int c = column_of(line, needle);
    return c < 0 ? -1 : c + ctl_text_width(needle);
}

/* Returns a malloc'd copy of the line of text that contains needle, or NULL. */
static char *line_with(const char *text, const char *needle)
{
    const char *p = strstr(text, needle);
    if (!p)
        return NULL;
    const char *start = p, *end = strchr(p, '\n');
    while (start > text && start[-1] != '\n')
        start--;
    return strndup(start, end ? (size_t)(end - start) : strlen(start));
}

/* ==== Parsing ================================================================================ */

START_TEST(test_parse_every_command)
{
    expect_request(ARGC("call", "new", "--lat", "28.297", "--lon", "117.215", "--complaint",
                        "chest_pain", "--priority", "1"),
                   ARGV("call", "new", "--lat", "28.297", "--lon", "117.215", "--complaint",
                        "chest_pain", "--priority", "1"),
                   "{\"op\":\"call.new\",\"lat\":28.297,\"lon\":117.215,"
                   "\"complaint\":\"chest_pain\",\"priority\":1}");
    /* All optional fields; onset given in +08:00 is sent as UTC; --opt=value works too. */
    expect_request(ARGC("call", "new", "--lat=28.3", "--lon", "-117.5", "--complaint", "stroke",
                        "--onset", "2020-01-02T07:40:00+08:00", "--caller", "+86 138-0000-0000",
                        "--address", "贵溪市 雄石街道 1号", "--notes", "fell at home"),
                   ARGV("call", "new", "--lat=28.3", "--lon", "-117.5", "--complaint", "stroke",
                        "--onset", "2020-01-02T07:40:00+08:00", "--caller", "+86 138-0000-0000",
                        "--address", "贵溪市 雄石街道 1号", "--notes", "fell at home"),
                   "{\"op\":\"call.new\",\"lat\":28.3,\"lon\":-117.5,\"complaint\":\"stroke\","
                   "\"onset\":\"2020-01-01T23:40:00.000Z\",\"caller\":\"+86 138-0000-0000\","
                   "\"address\":\"贵溪市 雄石街道 1号\",\"notes\":\"fell at home\"}");
    expect_request(ARGC("assign", "20261125-0001", "GX-03"),
                   ARGV("assign", "20261125-0001", "GX-03"),
                   "{\"op\":\"assign\",\"incident\":\"20261125-0001\",\"vehicle\":\"GX-03\"}");
    expect_request(ARGC("cancel", "20261125-0001", "--reason", "duplicate call"),
                   ARGV("cancel", "20261125-0001", "--reason", "duplicate call"),
                   "{\"op\":\"cancel\",\"incident\":\"20261125-0001\","
                   "\"reason\":\"duplicate call\"}");
    expect_request(ARGC("cancel", "20261125-0001"), ARGV("cancel", "20261125-0001"),
                   "{\"op\":\"cancel\",\"incident\":\"20261125-0001\"}");
    expect_request(ARGC("incidents"), ARGV("incidents"), "{\"op\":\"incidents\",\"all\":false}");
    expect_request(ARGC("incidents", "--all"), ARGV("incidents", "--all"),
                   "{\"op\":\"incidents\",\"all\":true}");
    expect_request(ARGC("incident", "20261125-0012"), ARGV("incident", "20261125-0012"),
                   "{\"op\":\"incident\",\"incident\":\"20261125-0012\"}");
    expect_request(ARGC("fleet"), ARGV("fleet"), "{\"op\":\"fleet\"}");
    expect_request(ARGC("timeline", "20261125-0001", "--table"),
                   ARGV("timeline", "20261125-0001", "--table"),
                   "{\"op\":\"timeline\",\"incident\":\"20261125-0001\"}");
    expect_request(ARGC("stats"), ARGV("stats"), "{\"op\":\"stats\"}");
    expect_request(ARGC("candidates", "20261125-0001"), ARGV("candidates", "20261125-0001"),
                   "{\"op\":\"candidates\",\"incident\":\"20261125-0001\"}");
    expect_request(ARGC("watch"), ARGV("watch"), "{\"op\":\"subscribe\"}");
}
END_TEST

START_TEST(test_parse_golden_time)
{
    /* --ringing is converted to UTC like --onset, and both may be given. */
    expect_request(
        ARGC("call", "new", "--lat", "28.3", "--lon", "117.2", "--complaint", "stroke", "--ringing",
             "2020-01-02T07:41:05+08:00", "--onset", "2020-01-02T07:10:00+08:00"),
        ARGV("call", "new", "--lat", "28.3", "--lon", "117.2", "--complaint", "stroke", "--ringing",
             "2020-01-02T07:41:05+08:00", "--onset", "2020-01-02T07:10:00+08:00"),
        "{\"op\":\"call.new\",\"lat\":28.3,\"lon\":117.2,\"complaint\":\"stroke\","
        "\"ringing\":\"2020-01-01T23:41:05.000Z\","
        "\"onset\":\"2020-01-01T23:10:00.000Z\"}");
    /* event: the kind, the time in UTC, the detail as an object (not a string). */
    expect_request(ARGC("event", "20261125-0001", "first_ecg", "--at", "2020-01-02T08:00:30-01:00",
                        "--detail", "{\"leads\":12,\"note\":\"ST 抬高\",\"st\":[\"V1\",\"V2\"]}"),
                   ARGV("event", "20261125-0001", "first_ecg", "--at", "2020-01-02T08:00:30-01:00",
                        "--detail", "{\"leads\":12,\"note\":\"ST 抬高\",\"st\":[\"V1\",\"V2\"]}"),
                   "{\"op\":\"event.add\",\"incident\":\"20261125-0001\",\"kind\":\"first_ecg\","
                   "\"at\":\"2020-01-02T09:00:30.000Z\","
                   "\"detail\":{\"leads\":12,\"note\":\"ST 抬高\",\"st\":[\"V1\",\"V2\"]}}");
    /* Without options: no "at" (the dispatcher uses its own now), no "detail". */
    expect_request(ARGC("event", "20261125-0001", "door"), ARGV("event", "20261125-0001", "door"),
                   "{\"op\":\"event.add\",\"incident\":\"20261125-0001\",\"kind\":\"door\"}");
    expect_request(ARGC("event", "20261125-0001", "stroke_team_activated", "--detail={}"),
                   ARGV("event", "20261125-0001", "stroke_team_activated", "--detail={}"),
                   "{\"op\":\"event.add\",\"incident\":\"20261125-0001\","
                   "\"kind\":\"stroke_team_activated\",\"detail\":{}}");
    expect_request(ARGC("clocks", "20261125-0003", "--table"),
                   ARGV("clocks", "20261125-0003", "--table"),
                   "{\"op\":\"clocks\",\"incident\":\"20261125-0003\"}");

    /* An --at a few seconds ago is fine; the request carries exactly that instant in UTC. */
    char at[40], want[200];
    int64_t t = gl_now_ms() - 30000;
    t -= t % 1000;
    gl_time_format_utc(t, at, sizeof at);
    snprintf(want, sizeof want,
             "{\"op\":\"event.add\",\"incident\":\"20261125-0001\",\"kind\":\"needle\","
             "\"at\":\"%s\"}",
             at);
    expect_request(ARGC("event", "20261125-0001", "needle", "--at", at),
                   ARGV("event", "20261125-0001", "needle", "--at", at), want);
}
END_TEST

/* Issue 7: hospital status, destination (choose again or override) and the crew's patient record. */
START_TEST(test_parse_hospital_destination_patient)
{
    expect_request(ARGC("hospital", "status", "H1", "--cath-lab-ready", "no"),
                   ARGV("hospital", "status", "H1", "--cath-lab-ready", "no"),
                   "{\"op\":\"hospital.status\",\"hospital\":\"H1\",\"cath_lab_ready\":false}");
    /* Only the switches given are sent: the dispatcher keeps the others as they are. */
    expect_request(ARGC("hospital", "status", "GX-H2", "--ct-ready=yes", "--diversion", "on",
                        "--cath-lab-ready", "yes"),
                   ARGV("hospital", "status", "GX-H2", "--ct-ready=yes", "--diversion", "on",
                        "--cath-lab-ready", "yes"),
                   "{\"op\":\"hospital.status\",\"hospital\":\"GX-H2\",\"ct_ready\":true,"
                   "\"on_diversion\":true,\"cath_lab_ready\":true}");
    expect_request(ARGC("hospital", "status", "H1", "--diversion", "off"),
                   ARGV("hospital", "status", "H1", "--diversion", "off"),
                   "{\"op\":\"hospital.status\",\"hospital\":\"H1\",\"on_diversion\":false}");
    expect_request(ARGC("destination", "20261125-0001"), ARGV("destination", "20261125-0001"),
                   "{\"op\":\"destination\",\"incident\":\"20261125-0001\"}");
    expect_request(ARGC("destination", "20261125-0001", "--hospital", "H2", "--reason",
                        "家属要求 family request"),
                   ARGV("destination", "20261125-0001", "--hospital", "H2", "--reason",
                        "家属要求 family request"),
                   "{\"op\":\"destination\",\"incident\":\"20261125-0001\",\"hospital\":\"H2\","
                   "\"reason\":\"家属要求 family request\"}");
    expect_request(ARGC("event", "20261125-0001", "patient", "--detail",
                        "{\"age\":62,\"sex\":\"M\",\"triage\":\"1\"}"),
                   ARGV("event", "20261125-0001", "patient", "--detail",
                        "{\"age\":62,\"sex\":\"M\",\"triage\":\"1\"}"),
                   "{\"op\":\"event.add\",\"incident\":\"20261125-0001\",\"kind\":\"patient\","
                   "\"detail\":{\"age\":62,\"sex\":\"M\",\"triage\":\"1\"}}");

    expect_refused(ARGC("hospital", "status", "H1"), ARGV("hospital", "status", "H1"),
                   "needs at least one of");
    expect_refused(ARGC("hospital", "status", "H1", "--cath-lab-ready", "true"),
                   ARGV("hospital", "status", "H1", "--cath-lab-ready", "true"),
                   "--cath-lab-ready true: say yes or no");
    expect_refused(ARGC("hospital", "status", "H1", "--diversion", "yes"),
                   ARGV("hospital", "status", "H1", "--diversion", "yes"),
                   "--diversion yes: say on or off");
    expect_refused(ARGC("hospital", "status", "H 1", "--ct-ready", "no"),
                   ARGV("hospital", "status", "H 1", "--ct-ready", "no"), "not a hospital id");
    expect_refused(ARGC("hospital", "status", "--ct-ready", "no"),
                   ARGV("hospital", "status", "--ct-ready", "no"), "needs HOSPITAL");
    expect_refused(ARGC("hospital", "H1"), ARGV("hospital", "H1"), "expected 'hospital status'");
    expect_refused(ARGC("destination", "20261125-0001", "--diversion", "on"),
                   ARGV("destination", "20261125-0001", "--diversion", "on"),
                   "--diversion is not an option of destination");
    expect_refused(ARGC("destination", "20261125-0001", "--hospital", "H2"),
                   ARGV("destination", "20261125-0001", "--hospital", "H2"), "needs --reason");
    expect_refused(ARGC("destination", "20261125-0001", "--reason", "closer"),
                   ARGV("destination", "20261125-0001", "--reason", "closer"),
                   "--reason goes with --hospital");
    expect_refused(ARGC("destination", "20261125-0001", "--hospital", "H2", "--reason", ""),
                   ARGV("destination", "20261125-0001", "--hospital", "H2", "--reason", ""),
                   "--reason: empty");
    expect_refused(ARGC("destination", "H2"), ARGV("destination", "H2"), "not an incident number");
    expect_refused(ARGC("event", "20261125-0001", "patient", "--detail", "[62]"),
                   ARGV("event", "20261125-0001", "patient", "--detail", "[62]"),
                   "must be a JSON object");
}
END_TEST

START_TEST(test_parse_globals)
{
    ctl_args_t a;
    char err[256];
    ctl_env_t env = {"ws://10.0.0.5:9000/x", "envtoken", "/nonexistent/file"};

    /* Defaults. */
    ck_assert_int_eq(ctl_args_parse(ARGC("fleet"), ARGV("fleet"), &no_env, &a, err, sizeof err), 0);
    ck_assert_str_eq(a.host, "127.0.0.1");
    ck_assert_int_eq(a.port, 8080);
    ck_assert_str_eq(a.path, "/api");
    ck_assert_int_eq(a.timeout_ms, 10000);
    ck_assert_int_eq(a.output, CTL_OUTPUT_JSON);
    ck_assert_ptr_null(a.token);
    ck_assert_str_eq(a.token_file, "./var/api-token");
    ctl_args_free(&a);

    /* Environment. */
    ck_assert_int_eq(ctl_args_parse(ARGC("fleet"), ARGV("fleet"), &env, &a, err, sizeof err), 0);
    ck_assert_str_eq(a.host, "10.0.0.5");
    ck_assert_int_eq(a.port, 9000);
    ck_assert_str_eq(a.path, "/x");
    ck_assert_str_eq(a.token, "envtoken");
    ctl_args_free(&a);

    /* The command line beats the environment, options may come after the command. */
    ck_assert_int_eq(ctl_args_parse(ARGC("fleet", "--url", "ws://[::1]:81", "--token", "t1",
                                         "--timeout", "0.25", "--compact"),
                                    ARGV("fleet", "--url", "ws://[::1]:81", "--token", "t1",
                                         "--timeout", "0.25", "--compact"),
                                    &env, &a, err, sizeof err),
                     0);
    ck_assert_str_eq(a.host, "::1");
    ck_assert_int_eq(a.port, 81);
    ck_assert_str_eq(a.token, "t1");
    ck_assert_int_eq(a.timeout_ms, 250);
    ck_assert_int_eq(a.output, CTL_OUTPUT_COMPACT);
    ctl_args_free(&a);

    /* A token file on the command line beats GOLDLINE_TOKEN. */
    ck_assert_int_eq(ctl_args_parse(ARGC("fleet", "--token-file", "/tmp/t"),
                                    ARGV("fleet", "--token-file", "/tmp/t"), &env, &a, err,
                                    sizeof err),
                     0);
    ck_assert_ptr_null(a.token);
    ck_assert_str_eq(a.token_file, "/tmp/t");
    ctl_args_free(&a);

    /* watch --count, --help. */
    ck_assert_int_eq(ctl_args_parse(ARGC("watch", "--count", "3"), ARGV("watch", "--count", "3"),
                                    &no_env, &a, err, sizeof err),
                     0);
    ck_assert_int_eq(a.watch_count, 3);
    ctl_args_free(&a);
    ck_assert_int_eq(ctl_args_parse(ARGC("-h"), ARGV("-h"), &no_env, &a, err, sizeof err), 0);
    ck_assert_int_eq(a.help, 1);
    ctl_args_free(&a);
}
END_TEST

START_TEST(test_parse_refuses_bad_input)
{
    static const struct {
        char *argv[12];
        const char *msg;
    } cases[] = {
        {{"call", "new", "--lat", "91", "--lon", "117", "--complaint", "stroke"}, "--lat 91"},
        {{"call", "new", "--lat", "28", "--lon", "-181", "--complaint", "stroke"}, "--lon -181"},
        {{"call", "new", "--lat", "28x", "--lon", "117", "--complaint", "stroke"}, "--lat 28x"},
        {{"call", "new", "--lat", "nan", "--lon", "117", "--complaint", "stroke"}, "--lat nan"},
        {{"call", "new", "--lat", "0", "--lon", "0", "--complaint", "stroke"}, "not a real"},
        {{"call", "new", "--lat", "28", "--lon", "117", "--complaint", "headache"},
         "--complaint headache: unknown"},
        {{"call", "new", "--lat", "28", "--lon", "117"}, "needs --lat, --lon and --complaint"},
        {{"call", "new", "--lat", "28", "--lon", "117", "--complaint", "other", "--priority", "5"},
         "--priority 5"},
        {{"call", "new", "--lat", "28", "--lon", "117", "--complaint", "other", "--priority", "0"},
         "--priority 0"},
        {{"call", "new", "--lat", "28", "--lon", "117", "--complaint", "other", "--priority",
          "1.5"},
         "--priority 1.5"},
        {{"call", "new", "--lat", "28", "--lon", "117", "--complaint", "other", "--onset",
          "yesterday"},
         "--onset yesterday: not an ISO 8601"},
        {{"call", "new", "--lat", "28", "--lon", "117", "--complaint", "other", "--onset",
          "2999-01-01T00:00:00Z"},
         "in the future"},
        {{"call", "new", "--lat", "28", "--lon", "117", "--complaint", "other", "--caller",
          "call me"},
         "--caller call me"},
        {{"call", "new", "--lat", "28", "--lon", "117", "--complaint", "other", "--address",
          "\xc3\x28"},
         "--address: not valid UTF-8"},
        {{"call", "new", "--lat", "28", "--lon", "117", "--complaint", "other", "--notes", ""},
         "--notes: empty"},
        {{"call", "new", "--lat", "28", "--lat", "29"}, "--lat given twice"},
        {{"call", "old"}, "expected 'call new'"},
        {{"call"}, "expected 'call new'"},
        {{"assign", "20261125-0001"}, "assign needs INCIDENT VEHICLE"},
        {{"assign", "2026-11-25", "GX-03"}, "2026-11-25: not an incident number"},
        {{"assign", "20261125-0001", "GX 03"}, "GX 03: not a vehicle id"},
        {{"incident", "20261125-0001", "extra"}, "unexpected argument 'extra'"},
        {{"fleet", "--lat", "28"}, "--lat is not an option of fleet"},
        {{"incidents", "--reason", "x"}, "--reason is not an option of incidents"},
        {{"fleet", "--bogus"}, "--bogus: unknown option"},
        {{"fleet", "-x"}, "-x: unknown option"},
        {{"fleet", "--table=yes"}, "--table takes no value"},
        {{"fleet", "--timeout"}, "--timeout needs a value"},
        {{"fleet", "--timeout", "0"}, "--timeout 0"},
        {{"fleet", "--timeout", "-3"}, "--timeout -3"},
        {{"fleet", "--url", "http://x"}, "--url http://x"},
        {{"fleet", "--url", "ws://h:99999"}, "--url ws://h:99999"},
        {{"fleet", "--table", "--compact"}, "exclude each other"},
        {{"watch", "--count", "0"}, "--count 0"},
        {{"call", "new", "--lat", "28", "--lon", "117", "--complaint", "other", "--ringing",
          "07:40"},
         "--ringing 07:40: not an ISO 8601"},
        {{"call", "new", "--lat", "28", "--lon", "117", "--complaint", "other", "--ringing",
          "2999-01-01T00:00:00Z"},
         "--ringing 2999-01-01T00:00:00Z: is in the future"},
        {{"event", "20261125-0001"}, "event.add needs INCIDENT EVENT"},
        {{"event", "20261125-0001", "ecg"}, "ecg: unknown event"},
        {{"event", "20261125-0001", "call_received"}, "call_received: unknown event"},
        {{"event", "20261125-0001", "DOOR"}, "DOOR: unknown event"},
        {{"event", "2026112-0001", "door"}, "2026112-0001: not an incident number"},
        {{"event", "20261125-0001", "door", "extra"}, "unexpected argument 'extra'"},
        {{"event", "20261125-0001", "door", "--at", "now"}, "--at now: not an ISO 8601"},
        {{"event", "20261125-0001", "door", "--at", "2999-01-01T00:00:00+08:00"},
         "--at 2999-01-01T00:00:00+08:00: is in the future"},
        {{"event", "20261125-0001", "door", "--detail", "[1,2]"},
         "--detail: must be a JSON object"},
        {{"event", "20261125-0001", "door", "--detail", "\"x\""},
         "--detail: must be a JSON object"},
        {{"event", "20261125-0001", "door", "--detail", "{\"a\":1"}, "--detail: not valid JSON"},
        {{"event", "20261125-0001", "door", "--detail", "{\"a\":1} x"}, "--detail: not valid JSON"},
        {{"event", "20261125-0001", "door", "--detail", "{\"a\":1,\"a\":2}"},
         "--detail: not valid JSON (duplicate object key"},
        {{"event", "20261125-0001", "door", "--detail", "{\"a\":\"\xc3\x28\"}"},
         "--detail: not valid JSON"},
        {{"event", "20261125-0001", "door", "--detail", ""}, "--detail: not valid JSON"},
        {{"event", "20261125-0001", "door", "--ringing", "2020-01-01T00:00:00Z"},
         "--ringing is not an option of event.add"},
        {{"call", "new", "--lat", "28", "--lon", "117", "--complaint", "other", "--at",
          "2020-01-01T00:00:00Z"},
         "--at is not an option of call.new"},
        {{"clocks"}, "clocks needs INCIDENT"},
        {{"clocks", "20261125-0001", "--detail", "{}"}, "--detail is not an option of clocks"},
        {{"clocks", "20261125-0001", "20261125-0002"}, "unexpected argument '20261125-0002'"},
        {{"watch", "--table"}, "--table is not available"},
        {{"dispatch"}, "dispatch: unknown command"},
        {{"--table"}, "no command given"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int argc = 1;
        char *argv[14] = {"goldlinectl"};
        while (cases[i].argv[argc - 1])
            argv[argc] = cases[i].argv[argc - 1], argc++;
        expect_refused(argc, argv, cases[i].msg);
    }
}
END_TEST

START_TEST(test_url_parts)
{
    char *host, *path;
    int port;
    ck_assert_int_eq(ctl_args_parse_url("ws://dispatch.local", &host, &port, &path), 0);
    ck_assert_str_eq(host, "dispatch.local");
    ck_assert_int_eq(port, 8080);
    ck_assert_str_eq(path, "/api");
    free(host);
    free(path);
    ck_assert_int_eq(ctl_args_parse_url("ws://10.1.2.3:1234/other/api", &host, &port, &path), 0);
    ck_assert_str_eq(host, "10.1.2.3");
    ck_assert_int_eq(port, 1234);
    ck_assert_str_eq(path, "/other/api");
    free(host);
    free(path);
    const char *bad[] = {"",         "ws://",    "ws://:80",  "wss://h",  "ws://h:",
                         "ws://h:0", "ws://h:x", "ws://[::1", "ws://h h", "ws://h/a b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(ctl_args_parse_url(bad[i], &host, &port, &path) == GL_EINVAL, "accepted '%s'",
                      bad[i]);
}
END_TEST

START_TEST(test_token_sources)
{
    ctl_args_t a;
    char err[256], path[] = "/tmp/check_ctl_token_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "  abc123\n", 9), 9);
    close(fd);

    ck_assert_int_eq(ctl_args_parse(ARGC("fleet", "--token-file", path),
                                    ARGV("fleet", "--token-file", path), &no_env, &a, err,
                                    sizeof err),
                     0);
    ck_assert_int_eq(ctl_args_load_token(&a, err, sizeof err), 0);
    ck_assert_str_eq(a.token, "abc123");
    ctl_args_free(&a);

    /* Empty file. */
    fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "\n", 1), 1);
    close(fd);
    ck_assert_int_eq(ctl_args_parse(ARGC("fleet", "--token-file", path),
                                    ARGV("fleet", "--token-file", path), &no_env, &a, err,
                                    sizeof err),
                     0);
    ck_assert_int_eq(ctl_args_load_token(&a, err, sizeof err), GL_EINVAL);
    ck_assert_msg(strstr(err, "is empty") != NULL, "%s", err);
    ctl_args_free(&a);
    unlink(path);

    /* Missing file. */
    ck_assert_int_eq(ctl_args_parse(ARGC("fleet", "--token-file", path),
                                    ARGV("fleet", "--token-file", path), &no_env, &a, err,
                                    sizeof err),
                     0);
    ck_assert_int_eq(ctl_args_load_token(&a, err, sizeof err), GL_ENOENT);
    ck_assert_msg(strstr(err, "no API token") && strstr(err, path), "%s", err);
    ctl_args_free(&a);

    /* A token with a control character is refused before it reaches the wire. */
    ck_assert_int_eq(ctl_args_parse(ARGC("fleet", "--token", "ab\x01"),
                                    ARGV("fleet", "--token", "ab\x01"), &no_env, &a, err,
                                    sizeof err),
                     0);
    ck_assert_int_eq(ctl_args_load_token(&a, err, sizeof err), GL_EINVAL);
    ctl_args_free(&a);
}
END_TEST

/* ==== Format ================================================================================= */

static const char fleet_json[] =
    "{\"vehicles\":["
    "{\"id\":\"GX-01\",\"call_sign\":\"贵溪01\",\"kind\":\"ALS\",\"station\":\"贵溪市人民医院\","
    "\"capabilities\":[],\"status\":\"available\",\"lat\":28.29,\"lon\":117.21,"
    "\"fix_at\":\"2026-11-25T00:00:00.000Z\",\"stale\":false},"
    "{\"id\":\"GX-03\",\"call_sign\":\"Unit3\",\"kind\":\"BLS\",\"station\":\"North\","
    "\"capabilities\":[],\"status\":\"dispatched\",\"incident\":\"20261125-0001\","
    "\"stale\":true}]}";

START_TEST(test_text_width)
{
    ck_assert_int_eq(ctl_text_width("GX-03"), 5);
    ck_assert_int_eq(ctl_text_width("贵溪01"), 6);
    ck_assert_int_eq(ctl_text_width("贵溪市人民医院"), 14);
    ck_assert_int_eq(ctl_text_width("é"), 1);
    ck_assert_int_eq(ctl_text_width(""), 0);
}
END_TEST

START_TEST(test_fleet_table_aligns_chinese)
{
    int rc;
    char *t = table_of("fleet", fleet_json, "Asia/Shanghai", &rc);
    ck_assert_int_eq(rc, 0);
    char *header = line_with(t, "VEHICLE"), *l1 = line_with(t, "GX-01"),
         *l2 = line_with(t, "GX-03");
    ck_assert_ptr_nonnull(header);
    ck_assert_ptr_nonnull(l1);
    ck_assert_ptr_nonnull(l2);
    /* The column after the call sign starts at the same display column on every line. */
    int c = column_of(header, "KIND");
    ck_assert_int_gt(c, 0);
    ck_assert_int_eq(column_of(l1, "ALS"), c);
    ck_assert_int_eq(column_of(l2, "BLS"), c);
    ck_assert_int_eq(column_of(l1, "available"), column_of(header, "STATUS"));
    ck_assert_int_eq(column_of(l2, "dispatched"), column_of(header, "STATUS"));
    /* Local time of the fix; a missing position, fix or incident prints "-". */
    ck_assert_ptr_nonnull(strstr(l1, "2026-11-25 08:00:00"));
    ck_assert_ptr_nonnull(strstr(l1, "28.29000,117.21000"));
    ck_assert_int_eq(column_of(l2, " - "), column_of(header, "POSITION") - 1);
    ck_assert_ptr_nonnull(strstr(t, "(times in Asia/Shanghai)"));
    free(header);
    free(l1);
    free(l2);
    free(t);
}
END_TEST

START_TEST(test_times_follow_tz)
{
    int rc;
    char *t = table_of("fleet", fleet_json, "UTC", &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(strstr(t, "2026-11-25 00:00:00"));
    ck_assert_ptr_null(strstr(t, "08:00:00"));
    free(t);
}
END_TEST

START_TEST(test_call_new_table)
{
    int rc;
    char *t = table_of("call.new",
                       "{\"incident\":{\"id\":\"20261125-0007\",\"state\":\"new\",\"lat\":28.297,"
                       "\"lon\":117.215,\"complaint\":\"chest_pain\",\"priority\":1,"
                       "\"created_at\":\"2026-11-25T01:02:03.000Z\"},"
                       "\"candidates\":["
                       "{\"vehicle\":\"GX-03\",\"call_sign\":\"贵溪03\",\"kind\":\"ALS\","
                       "\"eta_s\":312.4,\"distance_m\":2870.5,\"eta_method\":\"straight_line\"},"
                       "{\"vehicle\":\"GX-11\",\"call_sign\":\"Y11\",\"kind\":\"BLS\","
                       "\"eta_s\":1290,\"distance_m\":14000,\"eta_method\":\"road\"}]}",
                       "Asia/Shanghai", &rc);
    ck_assert_int_eq(rc, 0);
    char *inc = line_with(t, "incident"), *created = line_with(t, "created"),
         *addr = line_with(t, "address"), *c1 = line_with(t, "GX-03"), *c2 = line_with(t, "GX-11"),
         *hdr = line_with(t, "ETA(s)");
    ck_assert_ptr_nonnull(strstr(inc, "20261125-0007"));
    ck_assert_ptr_nonnull(strstr(created, "2026-11-25 09:02:03"));
    /* A missing optional field shows as "-". */
    ck_assert_ptr_nonnull(addr);
    ck_assert_str_eq(addr + strlen(addr) - 1, "-");
    ck_assert_ptr_nonnull(strstr(c1, "312"));
    ck_assert_ptr_nonnull(strstr(c1, "2.87"));
    ck_assert_ptr_nonnull(strstr(c2, "14.00"));
    /* Right-aligned numbers end in the same column as their header. */
    ck_assert_int_eq(column_of(c1, "312") + 3, column_of(hdr, "ETA(s)") + 6);
    ck_assert_int_eq(column_of(c2, "1290") + 4, column_of(hdr, "ETA(s)") + 6);
    ck_assert_int_eq(column_of(c1, "ALS"), column_of(hdr, "KIND"));
    ck_assert_int_eq(column_of(c2, "BLS"), column_of(hdr, "KIND"));
    ck_assert_int_eq(c1[0], '1'); /* the rank */
    ck_assert_int_eq(c2[0], '2');
    free(inc);
    free(created);
    free(addr);
    free(c1);
    free(c2);
    free(hdr);
    free(t);

    /* No candidates is said in words. */
    t = table_of("candidates", "{\"candidates\":[]}", NULL, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(strstr(t, "no candidates"));
    free(t);
}
END_TEST

START_TEST(test_timeline_and_incidents_tables)
{
    int rc;
    char *t =
        table_of("timeline",
                 "{\"incident\":{\"id\":\"20261125-0001\",\"state\":\"dispatched\"},"
                 "\"events\":[{\"seq\":1,\"at\":\"2026-11-25T00:00:00.000Z\","
                 "\"kind\":\"call_received\",\"source\":\"operator\"},"
                 "{\"seq\":2,\"at\":\"2026-11-25T00:01:00.000Z\",\"kind\":\"assigned\","
                 "\"source\":\"operator\",\"vehicle\":\"GX-03\",\"detail\":{\"eta_s\":300}}]}",
                 "Asia/Shanghai", &rc);
    ck_assert_int_eq(rc, 0);
    char *e1 = line_with(t, "call_received"), *e2 = line_with(t, "assigned");
    ck_assert_ptr_nonnull(strstr(e1, "2026-11-25 08:00:00"));
    ck_assert_ptr_nonnull(strstr(e2, "2026-11-25 08:01:00"));
    ck_assert_ptr_nonnull(strstr(e2, "{\"eta_s\":300}"));
    ck_assert_int_eq(column_of(e1, "operator"), column_of(e2, "operator"));
    free(e1);
    free(e2);
    free(t);

    /* Long addresses are cut to the column's width; escape sequences in text are defused. */
    t = table_of(
        "incidents",
        "{\"incidents\":[{\"id\":\"20261125-0001\",\"state\":\"new\",\"priority\":2,"
        "\"complaint\":\"trauma\",\"address\":\"江西省鹰潭市贵溪市雄石街道建设路一百二十三号"
        "院内\"},{\"id\":\"20261125-0002\",\"state\":\"new\",\"priority\":1,"
        "\"complaint\":\"other\",\"address\":\"\\u001b[2Jcleared\"}]}",
        "Asia/Shanghai", &rc);
    ck_assert_int_eq(rc, 0);
    char *l1 = line_with(t, "-0001"), *l2 = line_with(t, "-0002");
    ck_assert_ptr_nonnull(strstr(l1, "..."));
    ck_assert_int_le(ctl_text_width(strstr(l1, "江西")), 30);
    ck_assert_ptr_null(strchr(t, '\x1b'));
    ck_assert_ptr_nonnull(strstr(l2, "?[2Jcleared"));
    free(l1);
    free(l2);
    free(t);

    /* A result without the expected parts is refused, so the caller falls back to JSON. */
    t = table_of("timeline", "{\"incident\":{\"id\":\"x\"}}", NULL, &rc);
    ck_assert_int_eq(rc, GL_EPROTO);
    free(t);
    t = table_of("fleet", "{\"vehicles\":7}", NULL, &rc);
    ck_assert_int_eq(rc, GL_EPROTO);
    free(t);
}
END_TEST

START_TEST(test_durations)
{
    static const struct {
        double secs;
        const char *want;
    } cases[] = {
        {0, "00:00"},        {9.99, "00:09"},   {65, "01:05"},       {599, "09:59"},
        {3599.9, "59:59"},   {3600, "1:00:00"}, {3725, "1:02:05"},   {16200, "4:30:00"},
        {36000, "10:00:00"}, {-30, "-00:30"},   {-3725, "-1:02:05"}, {-0.4, "00:00"},
    };
    char buf[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(ctl_format_duration(cases[i].secs, buf, sizeof buf),
                         (int)strlen(cases[i].want));
        ck_assert_msg(strcmp(buf, cases[i].want) == 0, "%g s: '%s', wanted '%s'", cases[i].secs,
                      buf, cases[i].want);
    }
    ck_assert_int_eq(ctl_format_duration(NAN, buf, sizeof buf), -1);
    ck_assert_str_eq(buf, "?");
    ck_assert_int_eq(ctl_format_duration(1e12, buf, sizeof buf), -1);
}
END_TEST

/* A clocks reply as the dispatcher sends it (dispatcher/api.c api_clocks_json). */
static const char clocks_json[] =
    "{\"incident\":\"20261125-0003\",\"clocks\":["
    "{\"metric\":\"call_answer\",\"state\":\"met\",\"target_s\":10,"
    "\"start\":\"2026-11-25T00:00:00.000Z\",\"end\":\"2026-11-25T00:00:07.000Z\","
    "\"elapsed_s\":7.0},"
    "{\"metric\":\"call_to_dispatch\",\"state\":\"warning\",\"target_s\":60,"
    "\"start\":\"2026-11-25T00:00:07.000Z\",\"elapsed_s\":50.4,\"remaining_s\":9.6},"
    "{\"metric\":\"onset_to_needle\",\"state\":\"running\",\"target_s\":16200,"
    "\"start\":\"2026-11-24T23:10:00.000Z\",\"elapsed_s\":3057.5,\"remaining_s\":13142.5},"
    "{\"metric\":\"door_to_ct\",\"state\":\"waiting\",\"target_s\":1500},"
    "{\"metric\":\"call_to_scene_town\",\"state\":\"breached\",\"target_s\":900,"
    "\"start\":\"2026-11-25T00:00:07.000Z\",\"elapsed_s\":3725.2},"
    "{\"metric\":\"door_to_needle\",\"state\":\"incomplete\",\"target_s\":3600,"
    "\"end\":\"2026-11-25T01:00:00.000Z\"}]}";

START_TEST(test_clocks_table)
{
    int rc;
    char *t = table_of("clocks", clocks_json, "Asia/Shanghai", &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(strstr(t, "incident 20261125-0003\n"));
    char *hdr = line_with(t, "METRIC"), *met = line_with(t, "call_answer"),
         *warn = line_with(t, "call_to_dispatch"), *run = line_with(t, "onset_to_needle"),
         *wait = line_with(t, "door_to_ct"), *brk = line_with(t, "call_to_scene_town"),
         *inc = line_with(t, "door_to_needle");
    ck_assert_ptr_nonnull(hdr);
    ck_assert_ptr_nonnull(met);
    ck_assert_ptr_nonnull(warn);
    ck_assert_ptr_nonnull(run);
    ck_assert_ptr_nonnull(wait);
    ck_assert_ptr_nonnull(brk);
    ck_assert_ptr_nonnull(inc);
    ck_assert_int_eq(column_of(hdr, "METRIC"), 0);
    int c_state = column_of(hdr, "STATE"), c_start = column_of(hdr, "START"),
        c_end = column_of(hdr, "END"), c_el_end = column_of(hdr, "ELAPSED") + 7,
        c_tg_end = column_of(hdr, "TARGET") + 6, c_rm_end = column_of(hdr, "REMAINING") + 9;

    /* Ended: both times in county time, no remaining. */
    ck_assert_int_eq(column_of(met, "met"), c_state);
    ck_assert_int_eq(column_of(met, "2026-11-25 08:00:00"), c_start);
    ck_assert_int_eq(column_of(met, "2026-11-25 08:00:07"), c_end);
    ck_assert_int_eq(end_of_value(met, "00:07"), c_el_end);
    ck_assert_int_eq(end_of_value(met, "00:10"), c_tg_end);
    ck_assert_str_eq(met + strlen(met) - 2, " -");
    /* Running: elapsed rounded down, remaining up, so they add up to the target. */
    ck_assert_int_eq(column_of(warn, "warning"), c_state);
    ck_assert_int_eq(end_of_value(warn, "00:50"), c_el_end);
    ck_assert_int_eq(end_of_value(warn, "01:00"), c_tg_end);
    ck_assert_int_eq(end_of_value(warn, "00:10"), c_rm_end);
    ck_assert_int_eq(column_of(warn, " - ") + 1, c_end); /* no end yet */
    /* Hours: h:mm:ss, right-aligned; a start on the previous UTC day is the same county day. */
    ck_assert_int_eq(column_of(run, "2026-11-25 07:10:00"), c_start);
    ck_assert_int_eq(end_of_value(run, "50:57"), c_el_end);
    ck_assert_int_eq(end_of_value(run, "4:30:00"), c_tg_end);
    ck_assert_int_eq(end_of_value(run, "3:39:03"), c_rm_end);
    ck_assert_int_eq(end_of_value(brk, "1:02:05"), c_el_end);
    ck_assert_int_eq(end_of_value(brk, "15:00"), c_tg_end);
    /* Waiting: no start, no end, no elapsed, no remaining; only the target. */
    ck_assert_int_eq(column_of(wait, "waiting"), c_state);
    ck_assert_int_eq(column_of(wait, " - ") + 1, c_start);
    ck_assert_int_eq(end_of_value(wait, "25:00"), c_tg_end);
    int dashes = 0;
    for (const char *p = wait; (p = strstr(p, " -")) != NULL; p += 2)
        dashes++;
    ck_assert_int_eq(dashes, 4);
    /* Incomplete with an end but no start: start "-", end shown. */
    ck_assert_int_eq(column_of(inc, " - ") + 1, c_start);
    ck_assert_int_eq(column_of(inc, "2026-11-25 09:00:00"), c_end);
    ck_assert_ptr_nonnull(strstr(t, "(times in Asia/Shanghai)"));
    free(hdr);
    free(met);
    free(warn);
    free(run);
    free(wait);
    free(brk);
    free(inc);
    free(t);

    /* The zone is the one announced, not a fixed +08:00. */
    t = table_of("clocks", clocks_json, "UTC", &rc);
    ck_assert_int_eq(rc, 0);
    char *l = line_with(t, "call_answer");
    ck_assert_ptr_nonnull(strstr(l, "2026-11-25 00:00:07"));
    free(l);
    free(t);

    t = table_of("clocks", "{\"incident\":\"20261125-0003\",\"clocks\":[]}", NULL, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(strstr(t, "no golden-time metric applies"));
    free(t);
    t = table_of("clocks", "{\"incident\":\"20261125-0003\"}", NULL, &rc);
    ck_assert_int_eq(rc, GL_EPROTO);
    free(t);
}
END_TEST

START_TEST(test_event_added_table)
{
    int rc;
    char *t = table_of("event.add",
                       "{\"incident\":{\"id\":\"20261125-0003\",\"state\":\"on_scene\"},"
                       "\"entry\":{\"seq\":7,\"at\":\"2026-11-25T00:12:30.000Z\","
                       "\"kind\":\"first_ecg\",\"source\":\"operator\","
                       "\"detail\":{\"leads\":12}}}",
                       "Asia/Shanghai", &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(strstr(t, "incident 20261125-0003 (on_scene)\n"));
    char *hdr = line_with(t, "SEQ"), *row = line_with(t, "first_ecg");
    ck_assert_ptr_nonnull(hdr);
    ck_assert_ptr_nonnull(row);
    ck_assert_int_eq(column_of(row, "2026-11-25 08:12:30"), column_of(hdr, "TIME"));
    ck_assert_int_eq(column_of(row, "operator"), column_of(hdr, "SOURCE"));
    ck_assert_int_eq(column_of(row, "{\"leads\":12}"), column_of(hdr, "DETAIL"));
    ck_assert_int_eq(column_of(row, "7") + 1, column_of(hdr, "SEQ") + 3);
    free(hdr);
    free(row);
    free(t);
    t = table_of("event.add", "{\"incident\":{\"id\":\"20261125-0003\"}}", NULL, &rc);
    ck_assert_int_eq(rc, GL_EPROTO);
    free(t);
}
END_TEST

/* destination answers with the incident and the new destination event, shown like event.add. */
START_TEST(test_destination_table)
{
    int rc;
    char *t = table_of("destination",
                       "{\"incident\":{\"id\":\"20261125-0004\",\"state\":\"transporting\","
                       "\"destination\":\"H2\"},\"entry\":{\"seq\":9,"
                       "\"at\":\"2026-11-25T01:00:00.000Z\",\"kind\":\"destination\","
                       "\"source\":\"operator\",\"detail\":{\"hospital\":\"H2\","
                       "\"override\":true}}}",
                       "Asia/Shanghai", &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(strstr(t, "incident 20261125-0004 (transporting)\n"));
    char *hdr = line_with(t, "SEQ"), *row = line_with(t, "\"hospital\":\"H2\"");
    ck_assert_ptr_nonnull(hdr);
    ck_assert_ptr_nonnull(row);
    ck_assert_int_eq(column_of(row, "2026-11-25 09:00:00"), column_of(hdr, "TIME"));
    free(hdr);
    free(row);
    free(t);
}
END_TEST

START_TEST(test_error_lines)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    json_t *e = json_pack("{ssss}", "code", "ESTATE", "message", "incident is closed");
    ctl_format_error(f, NULL, e);
    json_decref(e);
    e = json_pack("{ss}", "message", "odd\x1b]0;x");
    ctl_format_error(f, "authentication failed", e);
    json_decref(e);
    ctl_format_error(f, NULL, NULL);
    fclose(f);
    ck_assert_str_eq(buf, "goldlinectl: ESTATE: incident is closed\n"
                          "goldlinectl: authentication failed: EUNKNOWN: odd?]0;x\n"
                          "goldlinectl: EUNKNOWN: (no message)\n");
    free(buf);
}
END_TEST

START_TEST(test_json_output)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    json_t *r = json_loads("{\"b\":1,\"a\":\"贵溪\"}", 0, NULL);
    ck_assert_int_eq(ctl_format_json(f, r, 1), 0);
    ck_assert_int_eq(ctl_format_json(f, r, 0), 0);
    json_decref(r);
    fclose(f);
    ck_assert_str_eq(buf, "{\"b\":1,\"a\":\"贵溪\"}\n{\n  \"b\": 1,\n  \"a\": \"贵溪\"\n}\n");
    free(buf);
}
END_TEST

/* ==== Socket: a tiny API server in a child process =========================================== */

enum srv_mode {
    SRV_NORMAL,  /* answers hello, call.new, incident, fleet, subscribe */
    SRV_CLOSE,   /* closes the connection when the request (after hello) arrives */
    SRV_SILENT,  /* never answers the request */
    SRV_GARBAGE, /* answers the request with text that is not JSON */
    SRV_NOSUB,   /* like NORMAL, but ends the connection after pushing the events */
};

#define GOOD_TOKEN "good-token"
#define FLEET_SIZE 400 /* about 60 KB of reply: arrives in many fragments */
#define PUSHED_EVENTS 3

struct srv_pss {
    char *queue[16]; /* messages waiting for WRITEABLE; malloc'd */
    int nq;          /* how many */
    int close_after; /* close once the queue is empty */
    int authed;      /* hello accepted */
};

static enum srv_mode srv_mode;
static volatile sig_atomic_t srv_stop;

static void srv_queue(struct lws *wsi, struct srv_pss *p, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    ck_assert_int_lt(p->nq, 16);
    p->queue[p->nq++] = text;
    lws_callback_on_writable(wsi);
}

static json_t *srv_fleet(void)
{
    json_t *v = json_array();
    for (int i = 0; i < FLEET_SIZE; i++)
        json_array_append_new(v, json_pack("{s:s+,s:s+,s:s,s:s,s:[],s:s,s:b}", "id", "GX-",
                                           i % 2 ? "1" : "2", "call_sign", "贵溪",
                                           i % 2 ? "01" : "02", "kind", "ALS", "station", "North",
                                           "capabilities", "status", "available", "stale", 0));
    return json_pack("{so}", "vehicles", v);
}

/* Answers one request according to srv_mode; returns -1 to close the connection. */
static int srv_request(struct lws *wsi, struct srv_pss *p, json_t *req)
{
    json_t *id = json_object_get(req, "id");
    const char *op = json_string_value(json_object_get(req, "op"));
    if (!p->authed) {
        const char *tok = json_string_value(json_object_get(req, "token"));
        int good = op && strcmp(op, "hello") == 0 && tok && strcmp(tok, GOOD_TOKEN) == 0;
        if (good) {
            p->authed = 1;
            srv_queue(wsi, p,
                      json_pack("{sOsbs{ssssssss}}", "id", id, "ok", 1, "result", "server",
                                "goldline-test", "version", "0.1.0", "role", "operator", "tz",
                                "Asia/Shanghai"));
        } else {
            srv_queue(wsi, p,
                      json_pack("{sOsbs{ssss}}", "id", id, "ok", 0, "error", "code", "EACCES",
                                "message", "bad token"));
            p->close_after = 1;
        }
        return 0;
    }
    switch (srv_mode) {
    case SRV_CLOSE:
        return -1;
    case SRV_SILENT:
        return 0;
    case SRV_GARBAGE:
        p->queue[p->nq++] = strdup("this is not json");
        lws_callback_on_writable(wsi);
        return 0;
    case SRV_NORMAL:
    case SRV_NOSUB:
        break;
    }
    json_t *result = NULL;
    if (strcmp(op, "call.new") == 0) {
        /* Echo what arrived, so the test sees the wire request. */
        result =
            json_pack("{s{sssssO}s[]sO}", "incident", "id", "20261125-0042", "state", "new",
                      "complaint", json_object_get(req, "complaint"), "candidates", "echo", req);
    } else if (strcmp(op, "incident") == 0) {
        const char *inc = json_string_value(json_object_get(req, "incident"));
        if (strcmp(inc, "20261125-0001") != 0) {
            srv_queue(wsi, p,
                      json_pack("{sOsbs{ssss}}", "id", id, "ok", 0, "error", "code", "ENOENT",
                                "message", "no such incident"));
            return 0;
        }
        result = json_pack("{s{ssss}}", "incident", "id", inc, "state", "new");
    } else if (strcmp(op, "fleet") == 0) {
        result = srv_fleet();
    } else if (strcmp(op, "event.add") == 0) {
        /* The entry is built from the request, so the table shows what went over the wire. */
        const char *at = json_string_value(json_object_get(req, "at"));
        json_t *detail = json_object_get(req, "detail");
        json_t *entry =
            json_pack("{sisssOss}", "seq", 4, "at", at ? at : "2026-11-25T00:00:00.000Z", "kind",
                      json_object_get(req, "kind"), "source", "operator");
        if (detail)
            json_object_set(entry, "detail", detail);
        result = json_pack("{s{sOss}so}", "incident", "id", json_object_get(req, "incident"),
                           "state", "on_scene", "entry", entry);
    } else if (strcmp(op, "clocks") == 0) {
        result = json_loads(clocks_json, 0, NULL);
    } else if (strcmp(op, "subscribe") == 0) {
        srv_queue(wsi, p, json_pack("{sOsbs{}}", "id", id, "ok", 1, "result"));
        for (int i = 0; i < PUSHED_EVENTS; i++)
            srv_queue(
                wsi, p,
                json_pack("{sss{sssi}}", "event", "vehicle", "vehicle", "id", "GX-03", "n", i));
        p->close_after = srv_mode == SRV_NOSUB;
        return 0;
    } else {
        srv_queue(wsi, p,
                  json_pack("{sOsbs{ssss}}", "id", id, "ok", 0, "error", "code", "EINVAL",
                            "message", "unknown op"));
        return 0;
    }
    srv_queue(wsi, p, json_pack("{sOsbso}", "id", id, "ok", 1, "result", result));
    return 0;
}

static int srv_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    struct srv_pss *p = user;
    switch (reason) {
    case LWS_CALLBACK_RECEIVE: {
        json_t *req = json_loadb(in, len, 0, NULL);
        int rc = req ? srv_request(wsi, p, req) : -1;
        json_decref(req);
        return rc;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        if (p->nq == 0)
            return p->close_after ? -1 : 0;
        size_t n = strlen(p->queue[0]);
        unsigned char *buf = malloc(LWS_PRE + n);
        memcpy(buf + LWS_PRE, p->queue[0], n);
        int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
        free(buf);
        free(p->queue[0]);
        memmove(p->queue, p->queue + 1, (size_t)--p->nq * sizeof p->queue[0]);
        if (w < (int)n)
            return -1;
        if (p->nq > 0 || p->close_after)
            lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_CLOSED:
        while (p->nq > 0)
            free(p->queue[--p->nq]);
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols srv_protocols[] = {
    {"goldline.v1", srv_callback, sizeof(struct srv_pss), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void srv_on_term(int sig)
{
    (void)sig;
    srv_stop = 1;
}

/* Forks the server; returns its pid and puts its ephemeral port in *port. */
static pid_t srv_start(enum srv_mode mode, int *port)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        srv_mode = mode;
        signal(SIGTERM, srv_on_term);
        lws_set_log_level(LLL_ERR, NULL);
        struct lws_context_creation_info info;
        memset(&info, 0, sizeof info);
        info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DISABLE_IPV6;
        info.protocols = srv_protocols;
        info.gid = -1;
        info.uid = -1;
        struct lws_context *ctx = lws_create_context(&info);
        if (!ctx)
            _exit(10);
        info.port = 0;
        info.iface = "127.0.0.1";
        struct lws_vhost *vh = lws_create_vhost(ctx, &info);
        int p = vh ? lws_get_vhost_listen_port(vh) : -1;
        if (write(fds[1], &p, sizeof p) != sizeof p || p <= 0)
            _exit(11);
        close(fds[1]);
        while (!srv_stop && lws_service(ctx, 0) >= 0)
            ;
        lws_context_destroy(ctx);
        _exit(0);
    }
    close(fds[1]);
    int p = 0;
    ck_assert_int_eq(read(fds[0], &p, sizeof p), (ssize_t)sizeof p);
    close(fds[0]);
    ck_assert_int_gt(p, 0);
    *port = p;
    return pid;
}

static void srv_stop_child(pid_t pid)
{
    int status;
    kill(pid, SIGTERM);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "server exit status %d", status);
}

struct run_out {
    int code;  /* ctl_run's exit code */
    char *out; /* stdout text; malloc'd */
    char *err; /* stderr text; malloc'd */
};

/* Runs goldlinectl against ws://127.0.0.1:port with the given token and arguments. */
static struct run_out run_ctl(int port, const char *token, int argc, char **argv)
{
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", port);
    char *full[32];
    int n = 0;
    full[n++] = "goldlinectl";
    full[n++] = "--url";
    full[n++] = url;
    full[n++] = "--token";
    full[n++] = (char *)token;
    for (int i = 1; i < argc; i++)
        full[n++] = argv[i];
    full[n] = NULL;
    struct run_out r;
    size_t lo, le;
    FILE *o = open_memstream(&r.out, &lo), *e = open_memstream(&r.err, &le);
    r.code = ctl_run(n, full, &no_env, o, e);
    fclose(o);
    fclose(e);
    return r;
}

static void run_free(struct run_out *r)
{
    free(r->out);
    free(r->err);
}

START_TEST(test_socket_call_new_round_trip)
{
    int port;
    pid_t pid = srv_start(SRV_NORMAL, &port);
    struct run_out r = run_ctl(port, GOOD_TOKEN,
                               ARGC("call", "new", "--lat", "28.297", "--lon", "117.215",
                                    "--complaint", "stroke", "--priority", "1", "--compact"),
                               ARGV("call", "new", "--lat", "28.297", "--lon", "117.215",
                                    "--complaint", "stroke", "--priority", "1", "--compact"));
    ck_assert_msg(r.code == 0, "exit %d: %s", r.code, r.err);
    json_t *res = json_loads(r.out, 0, NULL);
    ck_assert_ptr_nonnull(res);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(res, "incident"), "id")),
                     "20261125-0042");
    json_t *want = json_loads("{\"id\":2,\"op\":\"call.new\",\"lat\":28.297,\"lon\":117.215,"
                              "\"complaint\":\"stroke\",\"priority\":1}",
                              0, NULL);
    ck_assert_msg(json_equal(json_object_get(res, "echo"), want), "wire request: %s", r.out);
    json_decref(want);
    json_decref(res);
    ck_assert_str_eq(r.err, "");
    run_free(&r);
    srv_stop_child(pid);
}
END_TEST

START_TEST(test_socket_large_reply_as_table)
{
    int port;
    pid_t pid = srv_start(SRV_NORMAL, &port);
    struct run_out r =
        run_ctl(port, GOOD_TOKEN, ARGC("fleet", "--table"), ARGV("fleet", "--table"));
    ck_assert_msg(r.code == 0, "exit %d: %s", r.code, r.err);
    int lines = 0;
    for (const char *p = r.out; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, FLEET_SIZE + 2); /* header, vehicles, time zone footer */
    ck_assert_ptr_nonnull(strstr(r.out, "贵溪01"));
    ck_assert_ptr_nonnull(strstr(r.out, "(times in Asia/Shanghai)"));
    run_free(&r);
    srv_stop_child(pid);
}
END_TEST

START_TEST(test_socket_golden_time)
{
    int port;
    pid_t pid = srv_start(SRV_NORMAL, &port);
    /* event --table: the entry as the server returned it, in county time, with its detail. */
    struct run_out r =
        run_ctl(port, GOOD_TOKEN,
                ARGC("event", "20261125-0003", "stemi_confirmed", "--at",
                     "2026-11-25T08:20:00+08:00", "--detail", "{\"by\":\"心内科\"}", "--table"),
                ARGV("event", "20261125-0003", "stemi_confirmed", "--at",
                     "2026-11-25T08:20:00+08:00", "--detail", "{\"by\":\"心内科\"}", "--table"));
    ck_assert_msg(r.code == 0, "exit %d: %s", r.code, r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "incident 20261125-0003 (on_scene)"));
    char *row = line_with(r.out, "stemi_confirmed");
    ck_assert_ptr_nonnull(row);
    ck_assert_ptr_nonnull(strstr(row, "2026-11-25 08:20:00"));
    ck_assert_ptr_nonnull(strstr(row, "{\"by\":\"心内科\"}"));
    ck_assert_ptr_nonnull(strstr(r.out, "(times in Asia/Shanghai)"));
    free(row);
    run_free(&r);

    /* clocks --table: one line per metric between the header and the zone footer. */
    r = run_ctl(port, GOOD_TOKEN, ARGC("clocks", "20261125-0003", "--table"),
                ARGV("clocks", "20261125-0003", "--table"));
    ck_assert_msg(r.code == 0, "exit %d: %s", r.code, r.err);
    int lines = 0;
    for (const char *p = r.out; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, 2 + 1 + 6 + 1); /* incident, blank, header, 6 metrics, footer */
    row = line_with(r.out, "call_to_dispatch");
    ck_assert_ptr_nonnull(row);
    ck_assert_ptr_nonnull(strstr(row, "warning"));
    ck_assert_ptr_nonnull(strstr(row, "2026-11-25 08:00:07"));
    free(row);
    run_free(&r);
    srv_stop_child(pid);
}
END_TEST

START_TEST(test_socket_error_reply)
{
    int port;
    pid_t pid = srv_start(SRV_NORMAL, &port);
    struct run_out r = run_ctl(port, GOOD_TOKEN, ARGC("incident", "20261125-0099"),
                               ARGV("incident", "20261125-0099"));
    ck_assert_int_eq(r.code, CTL_EXIT_REFUSED);
    ck_assert_str_eq(r.err, "goldlinectl: ENOENT: no such incident\n");
    ck_assert_str_eq(r.out, "");
    run_free(&r);
    r = run_ctl(port, GOOD_TOKEN, ARGC("incident", "20261125-0001"),
                ARGV("incident", "20261125-0001"));
    ck_assert_int_eq(r.code, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "\"state\": \"new\""));
    run_free(&r);
    srv_stop_child(pid);
}
END_TEST

START_TEST(test_socket_bad_token)
{
    int port;
    pid_t pid = srv_start(SRV_NORMAL, &port);
    struct run_out r = run_ctl(port, "wrong-token", ARGC("fleet"), ARGV("fleet"));
    ck_assert_int_eq(r.code, CTL_EXIT_CONNECT);
    ck_assert_msg(strstr(r.err, "EACCES: bad token") != NULL, "%s", r.err);
    ck_assert_str_eq(r.out, "");
    run_free(&r);
    srv_stop_child(pid);
}
END_TEST

START_TEST(test_socket_server_closes)
{
    int port;
    pid_t pid = srv_start(SRV_CLOSE, &port);
    struct run_out r = run_ctl(port, GOOD_TOKEN, ARGC("fleet"), ARGV("fleet"));
    ck_assert_int_eq(r.code, CTL_EXIT_CONNECT);
    ck_assert_msg(strstr(r.err, "closed the connection before replying") != NULL, "%s", r.err);
    run_free(&r);
    srv_stop_child(pid);
}
END_TEST

START_TEST(test_socket_timeout)
{
    int port;
    pid_t pid = srv_start(SRV_SILENT, &port);
    int64_t t0 = gl_mono_ms();
    struct run_out r =
        run_ctl(port, GOOD_TOKEN, ARGC("assign", "20261125-0001", "GX-03", "--timeout", "0.5"),
                ARGV("assign", "20261125-0001", "GX-03", "--timeout", "0.5"));
    int64_t elapsed = gl_mono_ms() - t0;
    ck_assert_int_eq(r.code, CTL_EXIT_CONNECT);
    ck_assert_msg(strstr(r.err, "no reply to assign within 0.5 s") != NULL, "%s", r.err);
    ck_assert_msg(strstr(r.err, "may still have carried it out") != NULL, "%s", r.err);
    ck_assert_int_ge(elapsed, 450);
    ck_assert_int_lt(elapsed, 5000);
    run_free(&r);
    srv_stop_child(pid);
}
END_TEST

START_TEST(test_socket_garbage)
{
    int port;
    pid_t pid = srv_start(SRV_GARBAGE, &port);
    struct run_out r = run_ctl(port, GOOD_TOKEN, ARGC("stats"), ARGV("stats"));
    ck_assert_int_eq(r.code, CTL_EXIT_PROTOCOL);
    ck_assert_msg(strstr(r.err, "not a JSON object") != NULL, "%s", r.err);
    run_free(&r);
    srv_stop_child(pid);
}
END_TEST

START_TEST(test_socket_nothing_listening)
{
    /* Take a free port from the kernel and close it again. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    int port = ntohs(sa.sin_port);
    close(fd);
    struct run_out r = run_ctl(port, GOOD_TOKEN, ARGC("fleet"), ARGV("fleet"));
    ck_assert_int_eq(r.code, CTL_EXIT_CONNECT);
    ck_assert_msg(strstr(r.err, "cannot connect to ws://127.0.0.1:") != NULL, "%s", r.err);
    run_free(&r);
}
END_TEST

START_TEST(test_socket_watch)
{
    int port;
    pid_t pid = srv_start(SRV_NORMAL, &port);
    struct run_out r =
        run_ctl(port, GOOD_TOKEN, ARGC("watch", "--count", "2"), ARGV("watch", "--count", "2"));
    ck_assert_msg(r.code == 0, "exit %d: %s", r.code, r.err);
    ck_assert_str_eq(r.out, "{\"event\":\"vehicle\",\"vehicle\":{\"id\":\"GX-03\",\"n\":0}}\n"
                            "{\"event\":\"vehicle\",\"vehicle\":{\"id\":\"GX-03\",\"n\":1}}\n");
    run_free(&r);
    srv_stop_child(pid);

    /* Without --count the stream runs until the server ends it: every event, then exit 3. */
    pid = srv_start(SRV_NOSUB, &port);
    r = run_ctl(port, GOOD_TOKEN, ARGC("watch"), ARGV("watch"));
    ck_assert_int_eq(r.code, CTL_EXIT_CONNECT);
    int lines = 0;
    for (const char *p = r.out; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, PUSHED_EVENTS);
    ck_assert_msg(strstr(r.err, "ended the event stream") != NULL, "%s", r.err);
    run_free(&r);
    srv_stop_child(pid);
}
END_TEST

static void on_alarm(int sig)
{
    (void)sig;
    ctl_ws_interrupt();
}

/* Arranges for ctl_ws_interrupt() to run from a signal handler after ms milliseconds. */
static void interrupt_after(long ms)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART, like ctl_main.c */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {.it_value = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

START_TEST(test_socket_interrupt)
{
    int port;
    pid_t pid = srv_start(SRV_NORMAL, &port);
    /* Ctrl-C ends a watch normally, after the events that came. */
    interrupt_after(300);
    int64_t t0 = gl_mono_ms();
    struct run_out r = run_ctl(port, GOOD_TOKEN, ARGC("watch"), ARGV("watch"));
    ck_assert_msg(r.code == 0, "exit %d: %s", r.code, r.err);
    ck_assert_int_lt(gl_mono_ms() - t0, 3000);
    int lines = 0;
    for (const char *p = r.out; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, PUSHED_EVENTS);
    run_free(&r);
    srv_stop_child(pid);

    /* Ctrl-C while waiting for a reply: 130, and a warning that the request may have run. */
    pid = srv_start(SRV_SILENT, &port);
    interrupt_after(300);
    t0 = gl_mono_ms();
    r = run_ctl(port, GOOD_TOKEN, ARGC("cancel", "20261125-0001"), ARGV("cancel", "20261125-0001"));
    ck_assert_int_eq(r.code, CTL_EXIT_INTERRUPTED);
    ck_assert_int_lt(gl_mono_ms() - t0, 3000);
    ck_assert_msg(strstr(r.err, "interrupted; the dispatcher may still carry out") != NULL, "%s",
                  r.err);
    run_free(&r);
    srv_stop_child(pid);
}
END_TEST

START_TEST(test_usage_errors_touch_no_socket)
{
    /* Port 1 would fail to connect; a usage error must be reported first, with exit 2. */
    struct run_out r = run_ctl(
        1, GOOD_TOKEN, ARGC("call", "new", "--lat", "28", "--lon", "117", "--complaint", "flu"),
        ARGV("call", "new", "--lat", "28", "--lon", "117", "--complaint", "flu"));
    ck_assert_int_eq(r.code, CTL_EXIT_USAGE);
    ck_assert_msg(strstr(r.err, "--complaint flu: unknown") != NULL, "%s", r.err);
    ck_assert_ptr_null(strstr(r.err, "connect"));
    run_free(&r);
}
END_TEST

static Suite *ctl_suite(void)
{
    Suite *s = suite_create("ctl");
    TCase *tc = tcase_create("Parsing");
    tcase_add_test(tc, test_parse_every_command);
    tcase_add_test(tc, test_parse_golden_time);
    tcase_add_test(tc, test_parse_hospital_destination_patient);
    tcase_add_test(tc, test_parse_globals);
    tcase_add_test(tc, test_parse_refuses_bad_input);
    tcase_add_test(tc, test_url_parts);
    tcase_add_test(tc, test_token_sources);
    suite_add_tcase(s, tc);

    tc = tcase_create("Format");
    tcase_add_test(tc, test_text_width);
    tcase_add_test(tc, test_fleet_table_aligns_chinese);
    tcase_add_test(tc, test_times_follow_tz);
    tcase_add_test(tc, test_call_new_table);
    tcase_add_test(tc, test_durations);
    tcase_add_test(tc, test_clocks_table);
    tcase_add_test(tc, test_event_added_table);
    tcase_add_test(tc, test_destination_table);
    tcase_add_test(tc, test_timeline_and_incidents_tables);
    tcase_add_test(tc, test_error_lines);
    tcase_add_test(tc, test_json_output);
    suite_add_tcase(s, tc);

    tc = tcase_create("Socket");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_socket_call_new_round_trip);
    tcase_add_test(tc, test_socket_large_reply_as_table);
    tcase_add_test(tc, test_socket_golden_time);
    tcase_add_test(tc, test_socket_error_reply);
    tcase_add_test(tc, test_socket_bad_token);
    tcase_add_test(tc, test_socket_server_closes);
    tcase_add_test(tc, test_socket_timeout);
    tcase_add_test(tc, test_socket_garbage);
    tcase_add_test(tc, test_socket_nothing_listening);
    tcase_add_test(tc, test_socket_watch);
    tcase_add_test(tc, test_socket_interrupt);
    tcase_add_test(tc, test_usage_errors_touch_no_socket);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ctl_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
