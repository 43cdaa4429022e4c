/*
 * goldlinectl's argument parser and request builder (see ctl_args.h). Two passes: the first
 * sorts argv into global options, command options and positional words without judging them;
 * the second picks the command from the words, checks that every option belongs to it, and
 * validates each value while building the JSON request. Messages name the offending option and
 * value so an operator under pressure can fix the line at once.
 *
 * The event kinds `event` accepts are a copy of dispatcher/golden.c's golden_event_kinds (the
 * console does not link the dispatcher); the dispatcher checks them again, so a kind added
 * there and not here is refused locally until this list catches up, never silently accepted.
 */
#include "ctl_args.h"

#include "err.h"
#include "timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_URL "ws://127.0.0.1:8080"
#define DEFAULT_TOKEN_FILE "./var/api-token"
#define DEFAULT_TIMEOUT_MS 10000
#define MAX_TEXT_BYTES 2000   /* address, notes, reason */
#define MAX_DETAIL_BYTES 4000 /* event --detail, as typed */
#define MAX_TOKEN_BYTES 1024
#define FUTURE_SLACK_MS (5 * 60 * 1000) /* tolerated clock skew for --onset, --ringing, --at */

const char ctl_usage[] =
    "usage: goldlinectl [global options] COMMAND [arguments]\n"
    "\n"
    "commands:\n"
    "  call new --lat LAT --lon LON --complaint KIND [--priority 1-4] [--onset ISO8601]\n"
    "           [--ringing ISO8601] [--caller NUMBER] [--address TEXT] [--notes TEXT]\n"
    "                               open an incident; prints it and the ranked candidates\n"
    "                               (--onset: symptom onset / last known well;\n"
    "                               --ringing: when the 120 phone rang)\n"
    "  candidates INCIDENT          recompute the candidates of an incident\n"
    "  assign INCIDENT VEHICLE      assign a vehicle to an incident\n"
    "  cancel INCIDENT [--reason TEXT]\n"
    "  incidents [--all]            open incidents (all of them with --all)\n"
    "  incident INCIDENT            one incident\n"
    "  timeline INCIDENT            an incident and its events, oldest first\n"
    "  event INCIDENT EVENT [--at ISO8601] [--detail JSON-OBJECT]\n"
    "                               record a clinical event (default: now)\n"
    "  vehicle add VEHICLE --kind ALS|BLS --key-file PATH [--call-sign TEXT] [--station ID]\n"
    "              [--caps a,b]    provision a unit: the dispatcher draws its sealing key,\n"
    "                               written once to PATH (mode 0600) for the unit\n"
    "  user add NAME --role ROLE [--hospital ID]\n"
    "                               add (or replace) a console user; the password is read\n"
    "                               from stdin and only its argon2id hash is sent. ROLE is\n"
    "                               call_taker, dispatcher, supervisor, ed, crew or admin\n"
    "                               (ed needs --hospital)\n"
    "  coverage [--what-if VEHICLE]  the 15/30-min golden circle: share covered, uncovered\n"
    "                               places, the cost of a unit leaving, move-up advice\n"
    "  road close (--way ID[,ID..] | --line LAT,LON;LAT,LON[;..]) --reason TEXT\n"
    "             [--minutes N | --until ISO8601] [--forward]\n"
    "                               close a road (an OSM way, or every road along a line\n"
    "                               drawn on the map; --forward: only the direction drawn);\n"
    "                               the next recommendation goes round it\n"
    "  road slow (--way .. | --line ..) --factor F --reason TEXT [--minutes N | --until ..]\n"
    "                               slow a road down: its travel times x F (F > 1)\n"
    "  road open CLOSURE            reopen a closure or slowdown (its id, RC...)\n"
    "  road list                    the active closures and slowdowns\n"
    "  hospital status HOSPITAL [--cath-lab-ready yes|no] [--ct-ready yes|no]\n"
    "                  [--diversion on|off]\n"
    "                               set a hospital's readiness or diversion (at least one);\n"
    "                               patients on their way there are re-routed if need be\n"
    "  destination INCIDENT [--hospital ID --reason TEXT]\n"
    "                               choose again where the patient goes; with --hospital,\n"
    "                               the operator's choice (the reason is required)\n"
    "  clocks INCIDENT              golden-time clocks: state, elapsed, target, remaining\n"
    "  fleet                        every vehicle with its status and last position\n"
    "  stats                        dispatcher counters\n"
    "  watch [--count N]            print pushed events as JSON lines until interrupted\n"
    "\n"
    "  on PostGIS directly (--pg CONNINFO, else GOLDLINE_PG, else deploy/pg.sh's cluster):\n"
    "  report --from YYYY-MM-DD --to YYYY-MM-DD [--hospital ID] [--format json|csv|table]\n"
    "         [--metric NAME]       golden-time compliance per metric (docs/reports.md)\n"
    "  import-calls FILE [--source sf|nyc] [--limit CALLS] [--medical] [--dry-run]\n"
    "                               real call records as closed incidents (idempotent)\n"
    "\n"
    "  KIND is chest_pain, stroke, trauma, obstetric, newborn or other.\n"
    "  EVENT is call_ringing, first_medical_contact, first_ecg, ecg_transmitted,\n"
    "  stemi_confirmed, diagnosis, stroke_scale, lvo_suspected, left_scene, door, handover,\n"
    "  door_out, ct, needle, puncture, wire, cath_lab_activated, stroke_team_activated or\n"
    "  patient (the crew's record: --detail '{\"age\":62,\"sex\":\"M\",\"triage\":\"1\"}')\n"
    "  (docs/golden-time.md). Times without an offset are read in this machine's zone.\n"
    "\n"
    "global options:\n"
    "  --url URL           dispatcher, default ws://127.0.0.1:8080 (env GOLDLINE_URL)\n"
    "  --token TOKEN       API token (env GOLDLINE_TOKEN)\n"
    "  --token-file FILE   read the token from FILE (env GOLDLINE_TOKEN_FILE),\n"
    "                      default ./var/api-token\n"
    "  --timeout SECONDS   for connecting and for each reply, default 10\n"
    "  --table             print a table instead of JSON\n"
    "  --compact           print JSON on one line instead of indented\n"
    "  --verbose           show libwebsockets warnings\n"
    "  -h, --help          this text\n"
    "\n"
    "exit codes: 0 ok, 1 internal error, 2 usage, 3 connection or authentication failed\n"
    "            (incl. timeout), 4 the dispatcher refused the request, 5 malformed reply\n";

enum cmd {
    CMD_NONE = 0,
    CMD_CALL_NEW,
    CMD_CANDIDATES,
    CMD_ASSIGN,
    CMD_CANCEL,
    CMD_INCIDENTS,
    CMD_INCIDENT,
    CMD_TIMELINE,
    CMD_FLEET,
    CMD_STATS,
    CMD_WATCH,
    CMD_EVENT,
    CMD_CLOCKS,
    CMD_VEHICLE_ADD,
    CMD_USER_ADD,
    CMD_COVERAGE,
    CMD_ROAD_CLOSE,
    CMD_ROAD_SLOW,
    CMD_ROAD_OPEN,
    CMD_ROAD_LIST,
    CMD_HOSPITAL_STATUS,
    CMD_DESTINATION,
};

#define BIT(c) (1u << (c))
#define ALL_CMDS 0xffffffffu

/* Option slots, in the order of the table below. */
enum opt_id {
    O_URL,
    O_TOKEN,
    O_TOKEN_FILE,
    O_TIMEOUT,
    O_TABLE,
    O_COMPACT,
    O_VERBOSE,
    O_HELP,
    O_LAT,
    O_LON,
    O_COMPLAINT,
    O_PRIORITY,
    O_ONSET,
    O_RINGING,
    O_CALLER,
    O_ADDRESS,
    O_NOTES,
    O_REASON,
    O_ALL,
    O_COUNT,
    O_AT,
    O_DETAIL,
    O_KIND,
    O_CALL_SIGN,
    O_STATION,
    O_CAPS,
    O_KEY_FILE,
    O_WHAT_IF,
    O_ROLE,
    O_HOSPITAL,
    O_WAY,
    O_LINE,
    O_FACTOR,
    O_MINUTES,
    O_UNTIL,
    O_FORWARD,
    O_CATH_LAB_READY,
    O_CT_READY,
    O_DIVERSION,
    O__COUNT
};

static const struct opt {
    const char *name; /* without the leading "--" */
    int takes_value;  /* 1: "--name VALUE" or "--name=VALUE"; 0: a flag */
    unsigned cmds;    /* BIT(cmd) of the commands that accept it */
} opts[O__COUNT] = {
    [O_URL] = {"url", 1, ALL_CMDS},
    [O_TOKEN] = {"token", 1, ALL_CMDS},
    [O_TOKEN_FILE] = {"token-file", 1, ALL_CMDS},
    [O_TIMEOUT] = {"timeout", 1, ALL_CMDS},
    [O_TABLE] = {"table", 0, ALL_CMDS},
    [O_COMPACT] = {"compact", 0, ALL_CMDS},
    [O_VERBOSE] = {"verbose", 0, ALL_CMDS},
    [O_HELP] = {"help", 0, ALL_CMDS},
    [O_LAT] = {"lat", 1, BIT(CMD_CALL_NEW)},
    [O_LON] = {"lon", 1, BIT(CMD_CALL_NEW)},
    [O_COMPLAINT] = {"complaint", 1, BIT(CMD_CALL_NEW)},
    [O_PRIORITY] = {"priority", 1, BIT(CMD_CALL_NEW)},
    [O_ONSET] = {"onset", 1, BIT(CMD_CALL_NEW)},
    [O_RINGING] = {"ringing", 1, BIT(CMD_CALL_NEW)},
    [O_CALLER] = {"caller", 1, BIT(CMD_CALL_NEW)},
    [O_ADDRESS] = {"address", 1, BIT(CMD_CALL_NEW)},
    [O_NOTES] = {"notes", 1, BIT(CMD_CALL_NEW)},
    [O_REASON] = {"reason", 1,
                  BIT(CMD_CANCEL) | BIT(CMD_ROAD_CLOSE) | BIT(CMD_ROAD_SLOW) |
                      BIT(CMD_DESTINATION)},
    [O_ALL] = {"all", 0, BIT(CMD_INCIDENTS)},
    [O_COUNT] = {"count", 1, BIT(CMD_WATCH)},
    [O_KIND] = {"kind", 1, BIT(CMD_VEHICLE_ADD)},
    [O_CALL_SIGN] = {"call-sign", 1, BIT(CMD_VEHICLE_ADD)},
    [O_STATION] = {"station", 1, BIT(CMD_VEHICLE_ADD)},
    [O_CAPS] = {"caps", 1, BIT(CMD_VEHICLE_ADD)},
    [O_KEY_FILE] = {"key-file", 1, BIT(CMD_VEHICLE_ADD)},
    [O_WHAT_IF] = {"what-if", 1, BIT(CMD_COVERAGE)},
    [O_ROLE] = {"role", 1, BIT(CMD_USER_ADD)},
    [O_HOSPITAL] = {"hospital", 1, BIT(CMD_USER_ADD) | BIT(CMD_DESTINATION)},
    [O_WAY] = {"way", 1, BIT(CMD_ROAD_CLOSE) | BIT(CMD_ROAD_SLOW)},
    [O_LINE] = {"line", 1, BIT(CMD_ROAD_CLOSE) | BIT(CMD_ROAD_SLOW)},
    [O_FACTOR] = {"factor", 1, BIT(CMD_ROAD_SLOW)},
    [O_MINUTES] = {"minutes", 1, BIT(CMD_ROAD_CLOSE) | BIT(CMD_ROAD_SLOW)},
    [O_UNTIL] = {"until", 1, BIT(CMD_ROAD_CLOSE) | BIT(CMD_ROAD_SLOW)},
    [O_FORWARD] = {"forward", 0, BIT(CMD_ROAD_CLOSE) | BIT(CMD_ROAD_SLOW)},
    [O_CATH_LAB_READY] = {"cath-lab-ready", 1, BIT(CMD_HOSPITAL_STATUS)},
    [O_CT_READY] = {"ct-ready", 1, BIT(CMD_HOSPITAL_STATUS)},
    [O_DIVERSION] = {"diversion", 1, BIT(CMD_HOSPITAL_STATUS)},
    [O_AT] = {"at", 1, BIT(CMD_EVENT)},
    [O_DETAIL] = {"detail", 1, BIT(CMD_EVENT)},
};

static const struct cmd_def {
    enum cmd cmd;
    const char *word;  /* first word on the command line */
    const char *word2; /* second word, or NULL */
    const char *op;    /* API op */
    int npos;          /* positional arguments after the words */
    const char *posname[2];
} cmds[] = {
    {CMD_CALL_NEW, "call", "new", "call.new", 0, {NULL, NULL}},
    {CMD_CANDIDATES, "candidates", NULL, "candidates", 1, {"INCIDENT", NULL}},
    {CMD_ASSIGN, "assign", NULL, "assign", 2, {"INCIDENT", "VEHICLE"}},
    {CMD_CANCEL, "cancel", NULL, "cancel", 1, {"INCIDENT", NULL}},
    {CMD_INCIDENTS, "incidents", NULL, "incidents", 0, {NULL, NULL}},
    {CMD_INCIDENT, "incident", NULL, "incident", 1, {"INCIDENT", NULL}},
    {CMD_TIMELINE, "timeline", NULL, "timeline", 1, {"INCIDENT", NULL}},
    {CMD_FLEET, "fleet", NULL, "fleet", 0, {NULL, NULL}},
    {CMD_STATS, "stats", NULL, "stats", 0, {NULL, NULL}},
    {CMD_WATCH, "watch", NULL, "subscribe", 0, {NULL, NULL}},
    {CMD_EVENT, "event", NULL, "event.add", 2, {"INCIDENT", "EVENT"}},
    {CMD_CLOCKS, "clocks", NULL, "clocks", 1, {"INCIDENT", NULL}},
    {CMD_VEHICLE_ADD, "vehicle", "add", "vehicle.add", 1, {"VEHICLE", NULL}},
    {CMD_COVERAGE, "coverage", NULL, "coverage", 0, {NULL, NULL}},
    {CMD_USER_ADD, "user", "add", "user.add", 1, {"NAME", NULL}},
    {CMD_ROAD_CLOSE, "road", "close", "road.close", 0, {NULL, NULL}},
    {CMD_ROAD_SLOW, "road", "slow", "road.slow", 0, {NULL, NULL}},
    {CMD_ROAD_OPEN, "road", "open", "road.open", 1, {"CLOSURE", NULL}},
    {CMD_ROAD_LIST, "road", "list", "roads.closures", 0, {NULL, NULL}},
    {CMD_HOSPITAL_STATUS, "hospital", "status", "hospital.status", 1, {"HOSPITAL", NULL}},
    {CMD_DESTINATION, "destination", NULL, "destination", 1, {"INCIDENT", NULL}},
};

static const char *const complaints[] = {"chest_pain", "stroke",  "trauma",
                                         "obstetric",  "newborn", "other"};

/* Kept in step with golden_event_kinds in dispatcher/golden.c and docs/golden-time.md. */
static const char *const event_kinds[] = {
    "call_ringing",
    "first_medical_contact",
    "first_ecg",
    "ecg_transmitted",
    "stemi_confirmed",
    "stroke_scale",
    "lvo_suspected",
    "left_scene",
    "door",
    "handover",
    "door_out",
    "ct",
    "needle",
    "puncture",
    "wire",
    "cath_lab_activated",
    "stroke_team_activated",
    "diagnosis",
    "patient",
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return GL_EINVAL;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v))
        return GL_EINVAL;
    *out = v;
    return 0;
}

static int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)s[0]) && s[0] != '-')
        return GL_EINVAL;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0)
        return GL_EINVAL;
    *out = v;
    return 0;
}

/* Incident numbers are the county's date and a per-day sequence: "20261125-0001". */
static int valid_incident(const char *s)
{
    size_t n = strlen(s);
    if (n < 10 || n > 16 || s[8] != '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (i != 8 && !isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Vehicle ids are short ASCII codes such as "GX-03" (call signs, which may be Chinese, are not). */
static int valid_vehicle(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return 0;
    return 1;
}

/* Hospital ids as the dispatcher stores them (dispatcher/auth.h): 1-32 of A-Z a-z 0-9 . _ : / -. */
static int valid_hospital(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._:/-", s[i]))
            return 0;
    return 1;
}

/* A caller number: digits with an optional leading '+', and '-' or spaces between groups. */
static int valid_caller(const char *s)
{
    size_t n = strlen(s), digits = 0;
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (isdigit((unsigned char)s[i]))
            digits++;
        else if (!(s[i] == '+' && i == 0) && s[i] != '-' && s[i] != ' ')
            return 0;
    }
    return digits >= 3;
}

/* Sets key to a string in obj; jansson refuses invalid UTF-8, which we report. */
static int set_text(json_t *obj, const char *key, const char *opt, const char *val, char *err,
                    size_t errlen)
{
    if (val[0] == '\0')
        return fail(err, errlen, "--%s: empty text", opt);
    if (strlen(val) > MAX_TEXT_BYTES)
        return fail(err, errlen, "--%s: longer than %d bytes", opt, MAX_TEXT_BYTES);
    json_t *s = json_string(val);
    if (!s)
        return fail(err, errlen, "--%s: not valid UTF-8 text", opt);
    json_object_set_new(obj, key, s);
    return 0;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort(); /* a command-line tool has nothing sensible to do without memory */
    return d;
}

int ctl_args_parse_url(const char *url, char **host, int *port, char **path)
{
    const char *p;
    if (strncmp(url, "ws://", 5) != 0)
        return GL_EINVAL;
    p = url + 5;
    const char *host_start = p, *host_end;
    if (*p == '[') { /* an IPv6 literal */
        host_start = ++p;
        while (*p && *p != ']')
            p++;
        if (*p != ']')
            return GL_EINVAL;
        host_end = p++;
    } else {
        while (*p && *p != ':' && *p != '/')
            p++;
        host_end = p;
    }
    if (host_end == host_start)
        return GL_EINVAL;
    long portnum = 8080;
    if (*p == ':') {
        p++;
        char *end;
        if (!isdigit((unsigned char)*p))
            return GL_EINVAL;
        portnum = strtol(p, &end, 10);
        if (portnum < 1 || portnum > 65535 || (*end != '\0' && *end != '/'))
            return GL_EINVAL;
        p = end;
    } else if (*p != '\0' && *p != '/') {
        return GL_EINVAL;
    }
    for (const char *c = host_start; c < host_end; c++)
        if (!isalnum((unsigned char)*c) && !strchr(".-_:", *c))
            return GL_EINVAL;
    for (const char *c = p; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return GL_EINVAL;
    *host = strndup(host_start, (size_t)(host_end - host_start));
    *path = xstrdup(*p == '/' && p[1] != '\0' ? p : "/api");
    if (!*host)
        abort();
    *port = (int)portnum;
    return 0;
}

/*
 * Validates the ISO 8601 time of option `opt` (not more than FUTURE_SLACK_MS ahead of this
 * machine's clock) and sets key to it in UTC, so the dispatcher never has to guess our zone.
 */
static int set_time(json_t *req, const char *key, const char *opt, const char *val, char *err,
                    size_t errlen)
{
    int64_t ms;
    char buf[40];
    if (gl_time_parse(val, &ms) != 0)
        return fail(err, errlen, "--%s %s: not an ISO 8601 time (e.g. 2026-11-25T07:40:00+08:00)",
                    opt, val);
    if (ms > gl_now_ms() + FUTURE_SLACK_MS)
        return fail(err, errlen, "--%s %s: is in the future", opt, val);
    json_object_set_new(req, key, json_string(gl_time_format_utc(ms, buf, sizeof buf)));
    return 0;
}

/* Builds the call.new request from its options. */
static int build_call_new(json_t *req, const char *const *ov, char *err, size_t errlen)
{
    double lat, lon;
    if (!ov[O_LAT] || !ov[O_LON] || !ov[O_COMPLAINT])
        return fail(err, errlen, "call new needs --lat, --lon and --complaint");
    if (parse_double(ov[O_LAT], &lat) || lat < -90 || lat > 90)
        return fail(err, errlen, "--lat %s: not a latitude between -90 and 90", ov[O_LAT]);
    if (parse_double(ov[O_LON], &lon) || lon < -180 || lon > 180)
        return fail(err, errlen, "--lon %s: not a longitude between -180 and 180", ov[O_LON]);
    if (lat == 0 && lon == 0)
        return fail(err, errlen, "--lat 0 --lon 0 is not a real location (missing fix?)");
    json_object_set_new(req, "lat", json_real(lat));
    json_object_set_new(req, "lon", json_real(lon));

    size_t i;
    for (i = 0; i < sizeof complaints / sizeof complaints[0]; i++)
        if (strcmp(ov[O_COMPLAINT], complaints[i]) == 0)
            break;
    if (i == sizeof complaints / sizeof complaints[0])
        return fail(err, errlen,
                    "--complaint %s: unknown; use chest_pain, stroke, trauma, obstetric, "
                    "newborn or other",
                    ov[O_COMPLAINT]);
    json_object_set_new(req, "complaint", json_string(complaints[i]));

    if (ov[O_PRIORITY]) {
        long prio;
        if (parse_long(ov[O_PRIORITY], &prio) || prio < 1 || prio > 4)
            return fail(err, errlen, "--priority %s: must be 1, 2, 3 or 4", ov[O_PRIORITY]);
        json_object_set_new(req, "priority", json_integer(prio));
    }
    if (ov[O_ONSET] && set_time(req, "onset", "onset", ov[O_ONSET], err, errlen))
        return GL_EINVAL;
    if (ov[O_RINGING] && set_time(req, "ringing", "ringing", ov[O_RINGING], err, errlen))
        return GL_EINVAL;
    if (ov[O_CALLER]) {
        if (!valid_caller(ov[O_CALLER]))
            return fail(err, errlen, "--caller %s: not a telephone number", ov[O_CALLER]);
        json_object_set_new(req, "caller", json_string(ov[O_CALLER]));
    }
    if (ov[O_ADDRESS] && set_text(req, "address", "address", ov[O_ADDRESS], err, errlen))
        return GL_EINVAL;
    if (ov[O_NOTES] && set_text(req, "notes", "notes", ov[O_NOTES], err, errlen))
        return GL_EINVAL;
    return 0;
}

/* Builds the event.add request: a known kind, an optional time and an optional detail object. */
static int build_event(json_t *req, const char *const *pos, const char *const *ov, char *err,
                       size_t errlen)
{
    size_t i, n = sizeof event_kinds / sizeof event_kinds[0];
    for (i = 0; i < n; i++)
        if (strcmp(pos[1], event_kinds[i]) == 0)
            break;
    if (i == n)
        return fail(err, errlen, "%s: unknown event; see --help or docs/golden-time.md", pos[1]);
    json_object_set_new(req, "incident", json_string(pos[0]));
    json_object_set_new(req, "kind", json_string(event_kinds[i]));
    if (ov[O_AT] && set_time(req, "at", "at", ov[O_AT], err, errlen))
        return GL_EINVAL;
    if (ov[O_DETAIL]) {
        json_error_t jerr;
        if (strlen(ov[O_DETAIL]) > MAX_DETAIL_BYTES)
            return fail(err, errlen, "--detail: longer than %d bytes", MAX_DETAIL_BYTES);
        /* Duplicate keys are refused: which of two values the dispatcher keeps is a guess. */
        json_t *d = json_loads(ov[O_DETAIL], JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (!d)
            return fail(err, errlen, "--detail: not valid JSON (%s, column %d)", jerr.text,
                        jerr.column);
        if (!json_is_object(d)) {
            json_decref(d);
            return fail(err, errlen,
                        "--detail: must be a JSON object, like '{\"scale\":\"FAST\"}'");
        }
        json_object_set_new(req, "detail", d);
    }
    return 0;
}

/* vehicle add: the unit's fixed data; the key comes back once and goes into --key-file, which
 * must not exist yet (checked before anything is sent, so a key is never drawn for nothing). */
static int build_vehicle_add(json_t *req, const char *const *pos, const char *const *ov,
                             ctl_args_t *out, char *err, size_t errlen)
{
    if (!valid_vehicle(pos[0]))
        return fail(err, errlen, "%s: not a vehicle id (letters, digits, '-', '_')", pos[0]);
    if (!ov[O_KIND] || (strcmp(ov[O_KIND], "ALS") && strcmp(ov[O_KIND], "BLS")))
        return fail(err, errlen, "vehicle add needs --kind ALS or --kind BLS");
    if (!ov[O_KEY_FILE])
        return fail(err, errlen, "vehicle add needs --key-file PATH (the unit's key goes there)");
    if (access(ov[O_KEY_FILE], F_OK) == 0)
        return fail(err, errlen, "--key-file %s exists: a provisioned key is never overwritten",
                    ov[O_KEY_FILE]);
    json_object_set_new(req, "vehicle", json_string(pos[0]));
    json_object_set_new(req, "kind", json_string(ov[O_KIND]));
    if (ov[O_CALL_SIGN] && set_text(req, "call_sign", "call-sign", ov[O_CALL_SIGN], err, errlen))
        return GL_EINVAL;
    if (ov[O_STATION] && set_text(req, "station", "station", ov[O_STATION], err, errlen))
        return GL_EINVAL;
    json_t *caps = json_array();
    json_object_set_new(req, "capabilities", caps);
    if (ov[O_CAPS]) {
        char *list = xstrdup(ov[O_CAPS]), *save = NULL;
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
            json_array_append_new(caps, json_string(t));
        free(list);
    }
    out->key_file = xstrdup(ov[O_KEY_FILE]);
    return 0;
}

/* user add: name, role and hospital checked as the dispatcher will (dispatcher/auth.h); the
 * password is read and hashed by ctl_run(), never put on the command line. */
static int build_user_add(json_t *req, const char *const *pos, const char *const *ov,
                          char *err, size_t errlen)
{
    static const char *const roles[] = {"call_taker", "dispatcher", "supervisor",
                                        "ed",         "crew",       "admin"};
    const char *name = pos[0], *role = ov[O_ROLE], *hosp = ov[O_HOSPITAL];
    size_t n = strlen(name);
    int ok = n > 0 && n <= 32 && (islower((unsigned char)name[0]) || isdigit((unsigned char)name[0]));
    for (size_t i = 0; ok && i < n; i++)
        ok = islower((unsigned char)name[i]) || isdigit((unsigned char)name[i]) ||
             strchr("._-", name[i]);
    if (!ok)
        return fail(err, errlen, "%s: not a user name (1-32 of a-z 0-9 . _ -)", name);
    int known = 0;
    for (size_t i = 0; role && i < sizeof roles / sizeof roles[0]; i++)
        known |= !strcmp(role, roles[i]);
    if (!known)
        return fail(err, errlen, "user add needs --role call_taker, dispatcher, supervisor, ed, "
                                 "crew or admin");
    if (hosp && !valid_hospital(hosp))
        return fail(err, errlen, "--hospital %s: not a hospital id", hosp);
    if (!strcmp(role, "ed") && !hosp)
        return fail(err, errlen, "an ed user needs --hospital");
    json_object_set_new(req, "username", json_string(name));
    json_object_set_new(req, "role", json_string(role));
    if (hosp)
        json_object_set_new(req, "hospital", json_string(hosp));
    return 0;
}

/*
 * road close / road slow: what to mark (--way ids, or --line points "LAT,LON;LAT,LON;.."), the
 * reason, the factor of a slowdown and the expiry (--minutes or --until, in the future).
 */
static int build_road_mark(json_t *req, const char *const *ov, int slow, char *err,
                           size_t errlen)
{
    if (!ov[O_WAY] == !ov[O_LINE])
        return fail(err, errlen, "give one of --way ID[,ID..] and --line LAT,LON;LAT,LON[;..]");
    if (ov[O_FORWARD] && !ov[O_LINE])
        return fail(err, errlen, "--forward applies to --line only");
    if (!ov[O_REASON])
        return fail(err, errlen, "road %s needs --reason TEXT", slow ? "slow" : "close");
    if (set_text(req, "reason", "reason", ov[O_REASON], err, errlen))
        return GL_EINVAL;
    char *list = xstrdup(ov[O_WAY] ? ov[O_WAY] : ov[O_LINE]), *save = NULL;
    json_t *arr = json_array();
    int rc = 0;
    for (char *t = strtok_r(list, ov[O_WAY] ? "," : ";", &save); t && !rc;
         t = strtok_r(NULL, ov[O_WAY] ? "," : ";", &save)) {
        long way;
        double lat, lon;
        char *comma = strchr(t, ',');
        if (ov[O_WAY] && (parse_long(t, &way) || way <= 0))
            rc = fail(err, errlen, "--way %s: OSM way ids are positive integers", t);
        else if (ov[O_WAY])
            json_array_append_new(arr, json_integer(way));
        else if (!comma || (*comma = '\0', parse_double(t, &lat)) || parse_double(comma + 1, &lon) ||
                 lat < -90 || lat > 90 || lon < -180 || lon > 180)
            rc = fail(err, errlen, "--line: each point is LAT,LON in degrees, points split by ';'");
        else
            json_array_append_new(arr, json_pack("[f,f]", lat, lon));
    }
    free(list);
    if (!rc && ov[O_LINE] && json_array_size(arr) < 2)
        rc = fail(err, errlen, "--line needs at least two points");
    if (!rc && json_array_size(arr) == 0)
        rc = fail(err, errlen, "--way needs at least one id");
    if (rc) {
        json_decref(arr);
        return rc;
    }
    json_object_set_new(req, ov[O_WAY] ? "way" : "line", arr);
    if (ov[O_FORWARD])
        json_object_set_new(req, "direction", json_string("forward"));
    if (slow) {
        double f;
        if (!ov[O_FACTOR] || parse_double(ov[O_FACTOR], &f) || f <= 1 || f > 100)
            return fail(err, errlen, "road slow needs --factor F, a travel-time multiplier above "
                                     "1, at most 100");
        json_object_set_new(req, "factor", json_real(f));
    }
    if (ov[O_MINUTES] && ov[O_UNTIL])
        return fail(err, errlen, "--minutes and --until exclude each other");
    if (ov[O_MINUTES]) {
        double m;
        if (parse_double(ov[O_MINUTES], &m) || m <= 0 || m > 30 * 24 * 60)
            return fail(err, errlen, "--minutes %s: above 0, at most a month", ov[O_MINUTES]);
        json_object_set_new(req, "minutes", json_real(m));
    }
    if (ov[O_UNTIL]) {
        int64_t ms;
        char buf[40];
        if (gl_time_parse(ov[O_UNTIL], &ms) != 0 || ms <= gl_now_ms())
            return fail(err, errlen, "--until %s: an ISO 8601 time in the future", ov[O_UNTIL]);
        json_object_set_new(req, "expires_at", json_string(gl_time_format_utc(ms, buf, sizeof buf)));
    }
    return 0;
}

/*
 * One switch of hospital status: `val` must be `yes_word` or `no_word` (the words an operator
 * says: yes/no for readiness, on/off for diversion); sets key to true or false. Absent: nothing.
 */
static int set_switch(json_t *req, const char *key, const char *opt, const char *val,
                      const char *yes_word, const char *no_word, char *err, size_t errlen)
{
    if (!val)
        return 0;
    if (strcmp(val, yes_word) && strcmp(val, no_word))
        return fail(err, errlen, "--%s %s: say %s or %s", opt, val, yes_word, no_word);
    json_object_set_new(req, key, json_boolean(!strcmp(val, yes_word)));
    return 0;
}

/* hospital status HOSPITAL: at least one of the three switches. */
static int build_hospital_status(json_t *req, const char *const *pos, const char *const *ov,
                                 char *err, size_t errlen)
{
    if (!valid_hospital(pos[0]))
        return fail(err, errlen, "%s: not a hospital id (like H1)", pos[0]);
    if (!ov[O_CATH_LAB_READY] && !ov[O_CT_READY] && !ov[O_DIVERSION])
        return fail(err, errlen, "hospital status needs at least one of --cath-lab-ready yes|no, "
                                 "--ct-ready yes|no and --diversion on|off");
    json_object_set_new(req, "hospital", json_string(pos[0]));
    if (set_switch(req, "cath_lab_ready", "cath-lab-ready", ov[O_CATH_LAB_READY], "yes", "no",
                   err, errlen) ||
        set_switch(req, "ct_ready", "ct-ready", ov[O_CT_READY], "yes", "no", err, errlen) ||
        set_switch(req, "on_diversion", "diversion", ov[O_DIVERSION], "on", "off", err, errlen))
        return GL_EINVAL;
    return 0;
}

/* destination INCIDENT: the dispatcher chooses; with --hospital, the operator's choice, which
 * the dispatcher refuses without a reason (checked here first, before anything is sent). */
static int build_destination(json_t *req, const char *const *pos, const char *const *ov,
                             char *err, size_t errlen)
{
    json_object_set_new(req, "incident", json_string(pos[0]));
    if (!ov[O_HOSPITAL]) {
        if (ov[O_REASON])
            return fail(err, errlen, "--reason goes with --hospital (an override); without it "
                                     "the dispatcher chooses");
        return 0;
    }
    if (!valid_hospital(ov[O_HOSPITAL]))
        return fail(err, errlen, "--hospital %s: not a hospital id", ov[O_HOSPITAL]);
    if (!ov[O_REASON])
        return fail(err, errlen, "--hospital overrides the rules and needs --reason TEXT");
    json_object_set_new(req, "hospital", json_string(ov[O_HOSPITAL]));
    return set_text(req, "reason", "reason", ov[O_REASON], err, errlen);
}

static int build_request(const struct cmd_def *c, const char *const *pos, const char *const *ov,
                         ctl_args_t *out, char *err, size_t errlen)
{
    json_t *req = out->request;
    json_object_set_new(req, "op", json_string(c->op));
    for (int i = 0; i < c->npos; i++) {
        if (strcmp(c->posname[i], "INCIDENT") == 0 && !valid_incident(pos[i]))
            return fail(err, errlen, "%s: not an incident number (like 20261125-0001)", pos[i]);
        if (strcmp(c->posname[i], "VEHICLE") == 0 && !valid_vehicle(pos[i]))
            return fail(err, errlen, "%s: not a vehicle id (like GX-03)", pos[i]);
    }
    switch (c->cmd) {
    case CMD_CALL_NEW:
        return build_call_new(req, ov, err, errlen);
    case CMD_VEHICLE_ADD:
        return build_vehicle_add(req, pos, ov, out, err, errlen);
    case CMD_COVERAGE:
        if (ov[O_WHAT_IF]) {
            if (!valid_vehicle(ov[O_WHAT_IF]))
                return fail(err, errlen, "--what-if %s: not a vehicle id", ov[O_WHAT_IF]);
            json_object_set_new(req, "what_if", json_string(ov[O_WHAT_IF]));
        }
        return 0;
    case CMD_USER_ADD:
        return build_user_add(req, pos, ov, err, errlen);
    case CMD_ROAD_CLOSE:
    case CMD_ROAD_SLOW:
        return build_road_mark(req, ov, c->cmd == CMD_ROAD_SLOW, err, errlen);
    case CMD_ROAD_OPEN:
        if (!valid_vehicle(pos[0])) /* closure ids are short ASCII codes too */
            return fail(err, errlen, "%s: not a closure id (like RC1795860295022)", pos[0]);
        json_object_set_new(req, "closure", json_string(pos[0]));
        return 0;
    case CMD_ROAD_LIST:
        return 0;
    case CMD_HOSPITAL_STATUS:
        return build_hospital_status(req, pos, ov, err, errlen);
    case CMD_DESTINATION:
        return build_destination(req, pos, ov, err, errlen);
    case CMD_ASSIGN:
        json_object_set_new(req, "incident", json_string(pos[0]));
        json_object_set_new(req, "vehicle", json_string(pos[1]));
        return 0;
    case CMD_CANCEL:
        json_object_set_new(req, "incident", json_string(pos[0]));
        if (ov[O_REASON])
            return set_text(req, "reason", "reason", ov[O_REASON], err, errlen);
        return 0;
    case CMD_EVENT:
        return build_event(req, pos, ov, err, errlen);
    case CMD_CANDIDATES:
    case CMD_INCIDENT:
    case CMD_TIMELINE:
    case CMD_CLOCKS:
        json_object_set_new(req, "incident", json_string(pos[0]));
        return 0;
    case CMD_INCIDENTS:
        json_object_set_new(req, "all", json_boolean(ov[O_ALL] != NULL));
        return 0;
    case CMD_WATCH:
        if (ov[O_COUNT]) {
            long n;
            if (parse_long(ov[O_COUNT], &n) || n < 1)
                return fail(err, errlen, "--count %s: must be a positive number", ov[O_COUNT]);
            out->watch_count = n;
        }
        if (out->output == CTL_OUTPUT_TABLE)
            return fail(err, errlen, "watch prints JSON lines; --table is not available");
        return 0;
    case CMD_FLEET:
    case CMD_STATS:
    case CMD_NONE:
        return 0;
    }
    return 0;
}

static int apply_globals(const char *const *ov, const ctl_env_t *env, ctl_args_t *out, char *err,
                         size_t errlen)
{
    const char *url = ov[O_URL] ? ov[O_URL] : env && env->url ? env->url : DEFAULT_URL;
    if (ctl_args_parse_url(url, &out->host, &out->port, &out->path) != 0)
        return fail(err, errlen, "--url %s: expected ws://HOST[:PORT][/PATH]", url);

    out->timeout_ms = DEFAULT_TIMEOUT_MS;
    if (ov[O_TIMEOUT]) {
        double secs;
        if (parse_double(ov[O_TIMEOUT], &secs) || secs <= 0 || secs > 3600)
            return fail(err, errlen, "--timeout %s: seconds, more than 0 and at most 3600",
                        ov[O_TIMEOUT]);
        out->timeout_ms = (long)ceil(secs * 1000);
    }
    if (ov[O_TABLE] && ov[O_COMPACT])
        return fail(err, errlen, "--table and --compact exclude each other");
    out->output = ov[O_TABLE]     ? CTL_OUTPUT_TABLE
                  : ov[O_COMPACT] ? CTL_OUTPUT_COMPACT
                                  : CTL_OUTPUT_JSON;
    out->verbose = ov[O_VERBOSE] != NULL;

    /* Command line before environment, a direct token before a file (house rule). */
    if (ov[O_TOKEN])
        out->token = xstrdup(ov[O_TOKEN]);
    else if (!ov[O_TOKEN_FILE] && env && env->token)
        out->token = xstrdup(env->token);
    out->token_file = xstrdup(ov[O_TOKEN_FILE]         ? ov[O_TOKEN_FILE]
                              : env && env->token_file ? env->token_file
                                                       : DEFAULT_TOKEN_FILE);
    return 0;
}

int ctl_args_parse(int argc, char **argv, const ctl_env_t *env, ctl_args_t *out, char *err,
                   size_t errlen)
{
    const char *ov[O__COUNT] = {0}; /* option values; flags point at their own name */
    const char *words[8];
    int nwords = 0, only_words = 0;

    memset(out, 0, sizeof *out);
    out->request = json_object();
    if (!out->request)
        abort();
    err[0] = '\0';

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_words || a[0] != '-' || a[1] == '\0') {
            if (nwords == (int)(sizeof words / sizeof words[0]))
                return fail(err, errlen, "too many arguments");
            words[nwords++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_words = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0) {
            ov[O_HELP] = a;
            continue;
        }
        if (a[1] != '-')
            return fail(err, errlen, "%s: unknown option", a);
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        int id;
        for (id = 0; id < O__COUNT; id++)
            if (strlen(opts[id].name) == nlen && strncmp(opts[id].name, name, nlen) == 0)
                break;
        if (id == O__COUNT)
            return fail(err, errlen, "%s: unknown option", a);
        if (ov[id])
            return fail(err, errlen, "--%s given twice", opts[id].name);
        if (!opts[id].takes_value) {
            if (eq)
                return fail(err, errlen, "--%s takes no value", opts[id].name);
            ov[id] = opts[id].name;
        } else if (eq) {
            ov[id] = eq + 1;
        } else if (i + 1 < argc) {
            ov[id] = argv[++i];
        } else {
            return fail(err, errlen, "--%s needs a value", opts[id].name);
        }
    }

    if (ov[O_HELP]) {
        out->help = 1;
        return 0;
    }
    if (nwords == 0)
        return fail(err, errlen, "no command given (try --help)");

    const struct cmd_def *c = NULL;
    int used = 0;
    char subs[80] = ""; /* the second words a first word takes, for the message */
    for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++) {
        if (strcmp(words[0], cmds[k].word) != 0)
            continue;
        if (cmds[k].word2 && (nwords < 2 || strcmp(words[1], cmds[k].word2) != 0)) {
            size_t len = strlen(subs);
            snprintf(subs + len, sizeof subs - len, "%s%s", len ? "|" : "", cmds[k].word2);
            continue;
        }
        c = &cmds[k];
        used = cmds[k].word2 ? 2 : 1;
        break;
    }
    if (!c && subs[0])
        return fail(err, errlen, "%s: expected '%s %s'", words[0], words[0], subs);
    if (!c)
        return fail(err, errlen, "%s: unknown command (try --help)", words[0]);
    if (nwords - used < c->npos)
        return fail(err, errlen, "%s needs %s%s%s", c->op, c->posname[0], c->npos > 1 ? " " : "",
                    c->npos > 1 ? c->posname[1] : "");
    if (nwords - used > c->npos)
        return fail(err, errlen, "%s: unexpected argument '%s'", c->op, words[used + c->npos]);
    for (int id = 0; id < O__COUNT; id++)
        if (ov[id] && !(opts[id].cmds & BIT(c->cmd)))
            return fail(err, errlen, "--%s is not an option of %s", opts[id].name, c->op);

    out->op = xstrdup(c->op);
    int rc = apply_globals(ov, env, out, err, errlen);
    if (rc == 0)
        rc = build_request(c, words + used, ov, out, err, errlen);
    return rc;
}

/* Reads the first line of path into a malloc'd, trimmed string. */
static int read_token_file(const char *path, char **token, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        snprintf(err, errlen,
                 "no API token: cannot read %s (%s); give --token, GOLDLINE_TOKEN or "
                 "--token-file",
                 path, strerror(e));
        return e == EACCES ? GL_EACCES : GL_ENOENT;
    }
    char buf[MAX_TOKEN_BYTES + 2];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = '\0';
    *token = xstrdup(buf);
    return 0;
}

int ctl_args_load_token(ctl_args_t *a, char *err, size_t errlen)
{
    const char *from = a->token ? "the given token" : a->token_file;
    if (!a->token) {
        int rc = read_token_file(a->token_file, &a->token, err, errlen);
        if (rc)
            return rc;
    }
    /* Trim surrounding whitespace (a trailing newline from `echo > file` is common). */
    char *t = a->token;
    size_t n = strlen(t);
    while (n > 0 && isspace((unsigned char)t[n - 1]))
        t[--n] = '\0';
    size_t skip = 0;
    while (isspace((unsigned char)t[skip]))
        skip++;
    memmove(t, t + skip, n - skip + 1);
    n -= skip;
    if (n == 0)
        return fail(err, errlen, "no API token: %s is empty", from);
    if (n > MAX_TOKEN_BYTES)
        return fail(err, errlen, "API token from %s is longer than %d bytes", from,
                    MAX_TOKEN_BYTES);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] < 0x21 || t[i] == 0x7f)
            return fail(err, errlen, "API token from %s contains spaces or control characters",
                        from);
    return 0;
}

void ctl_args_free(ctl_args_t *a)
{
    free(a->op);
    json_decref(a->request);
    free(a->host);
    free(a->path);
    free(a->token);
    free(a->token_file);
    free(a->key_file);
    memset(a, 0, sizeof *a);
}
