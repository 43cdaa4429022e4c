/*
 * Real call records into incidents (see ctl_import.h and docs/reports.md). Parsing and the
 * stage → event mapping first, then the command, which writes through ctl_db.c.
 */
#include "ctl_import.h"

#include "ctl_db.h"
#include "err.h"
#include "timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS (24LL * 3600 * 1000)

const char *imp_reason_text(imp_reason_t r)
{
    switch (r) {
#define XX(name, text)                                                                             \
    case IMP_R_##name:                                                                             \
        return text;
        IMP_REASON_MAP(XX)
#undef XX
    case IMP_R__COUNT:
        break;
    }
    return "unknown";
}

int imp_parse_time(const char *text, int64_t *ms)
{
    if (!text || !*text)
        return GL_ENOENT;
    int mo, d, y, h, mi, s, n = 0;
    char ampm[3] = "";
    if (sscanf(text, "%2d/%2d/%4d %2d:%2d:%2d %2[AMP]%n", &mo, &d, &y, &h, &mi, &s, ampm, &n) !=
            7 ||
        text[n] != '\0' || strlen(ampm) != 2 || ampm[1] != 'M')
        return GL_EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || y < 1970 || h < 1 || h > 12 || mi > 59 || s > 60 ||
        mi < 0 || s < 0)
        return GL_EINVAL;
    if (ampm[0] == 'A')
        h = h == 12 ? 0 : h;
    else if (ampm[0] == 'P')
        h = h == 12 ? 12 : h + 12;
    else
        return GL_EINVAL;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s,
                    .tm_isdst = -1};
    time_t t = mktime(&tm);
    if (t == (time_t)-1 || tm.tm_mday != d) /* 02/30 rolls over into March: not a date */
        return GL_EINVAL;
    *ms = (int64_t)t * 1000;
    return 0;
}

int imp_split(char *line, char sep, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        if (sep == ',' && *p == '"') {
            char *w = ++p, *start = p;
            for (;;) {
                if (*p == '\0')
                    break;
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            char *next = strchr(p, sep);
            *w = '\0';
            fields[n++] = start;
            if (!next)
                break;
            p = next + 1;
        } else {
            fields[n++] = p;
            char *next = strchr(p, sep);
            if (!next)
                break;
            *next = '\0';
            p = next + 1;
        }
    }
    return n;
}

/* ==== calls =================================================================================== */

static int add_event(imp_call_t *c, int64_t at, const char *kind, const char *vehicle,
                     const char *status, const char *extra_key, const char *extra_val)
{
    if (c->nevents == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        imp_event_t *e = realloc(c->events, cap * sizeof *e);
        if (!e)
            return GL_ENOMEM;
        c->events = e;
        c->cap = cap;
    }
    imp_event_t *e = &c->events[c->nevents++];
    memset(e, 0, sizeof *e);
    e->at_ms = at;
    snprintf(e->kind, sizeof e->kind, "%s", kind);
    snprintf(e->vehicle, sizeof e->vehicle, "%s", vehicle ? vehicle : "");
    if (status || extra_key) {
        json_t *o = json_object();
        if (status)
            json_object_set_new(o, "status", json_string(status));
        if (extra_key && extra_val && *extra_val)
            json_object_set_new(o, extra_key, json_string(extra_val));
        char *txt = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (!txt)
            return GL_ENOMEM;
        snprintf(e->detail, sizeof e->detail, "%s", txt);
        free(txt);
    }
    return 0;
}

/* Sorts the timeline by time, keeping the mapping order for equal times. */
static void sort_events(imp_call_t *c)
{
    /* insertion sort: stable, and timelines are short and nearly sorted */
    for (size_t i = 1; i < c->nevents; i++) {
        imp_event_t e = c->events[i];
        size_t j = i;
        while (j > 0 && c->events[j - 1].at_ms > e.at_ms) {
            c->events[j] = c->events[j - 1];
            j--;
        }
        c->events[j] = e;
    }
}

/* Checks that the present stages t[0..n-1] (0 = absent) are in order and within 24 h of the
 * call t[0]. Returns -1 if fine, else the reason. */
static int check_stages(const int64_t *t, const int *present, int n)
{
    int64_t last = t[0];
    for (int i = 1; i < n; i++) {
        if (!present[i])
            continue;
        if (t[i] < last)
            return IMP_R_OUT_OF_ORDER;
        if (t[i] - t[0] > DAY_MS)
            return IMP_R_TOO_LATE;
        last = t[i];
    }
    return -1;
}

/* A small open-addressing map from call number to call index. */
typedef struct call_map {
    char **keys;
    long *idx;
    size_t cap;
} call_map_t;

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Returns the slot of key (empty slot if absent). */
static size_t map_slot(const call_map_t *m, const char *key)
{
    size_t i = hash_str(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key))
        i = (i + 1) & (m->cap - 1);
    return i;
}

/* Column indices by header name; -1 when absent. */
static int col(char **hdr, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(hdr[i], name))
            return i;
    return -1;
}

#define MAX_FIELDS 64

enum sf_col {
    SF_CALL,
    SF_UNIT,
    SF_TYPE,
    SF_RECEIVED,
    SF_DISPATCH,
    SF_RESPONSE,
    SF_ON_SCENE,
    SF_TRANSPORT,
    SF_HOSPITAL,
    SF_AVAILABLE,
    SF_FINAL_PRIO,
    SF_GROUP,
    SF_LOCATION,
    SF_UNIT_TYPE,
    SF__COUNT
};
static const char *const sf_names[SF__COUNT] = {
    "Call Number",    "Unit ID",         "Call Type",      "Received DtTm", "Dispatch DtTm",
    "Response DtTm",  "On Scene DtTm",   "Transport DtTm", "Hospital DtTm", "Available DtTm",
    "Final Priority", "Call Type Group", "Location",       "Unit Type"};

enum nyc_col {
    NY_ID,
    NY_CALL,
    NY_TYPE,
    NY_SEVERITY,
    NY_ASSIGN,
    NY_ACTIVATE,
    NY_ON_SCENE,
    NY_TO_HOSP,
    NY_AT_HOSP,
    NY_CLOSE,
    NY__COUNT
};
static const char *const nyc_names[NY__COUNT] = {"CAD_INCIDENT_ID",
                                                 "INCIDENT_DATETIME",
                                                 "INITIAL_CALL_TYPE",
                                                 "INITIAL_SEVERITY_LEVEL_CODE",
                                                 "FIRST_ASSIGNMENT_DATETIME",
                                                 "FIRST_ACTIVATION_DATETIME",
                                                 "FIRST_ON_SCENE_DATETIME",
                                                 "FIRST_TO_HOSP_DATETIME",
                                                 "FIRST_HOSP_ARRIVAL_DATETIME",
                                                 "INCIDENT_CLOSE_DATETIME"};

/* NYC EMS initial call types onto our complaint classes. */
static const char *nyc_complaint(const char *t)
{
    static const char *const trauma[] = {"INJURY", "MVAINJ", "PEDSTR", "TRAUMA", "STAB",
                                         "INJMIN", "INJMAJ", "SHOT",   "JUMPDN", "JUMPUP",
                                         "MVA",    "BURNMI", "BURNMA", "AMPMIN"};
    if (!strcmp(t, "CARD"))
        return "chest_pain";
    if (!strcmp(t, "CVA") || !strcmp(t, "CVAC"))
        return "stroke";
    if (!strncmp(t, "OB", 2))
        return "obstetric";
    for (size_t i = 0; i < sizeof trauma / sizeof trauma[0]; i++)
        if (!strcmp(t, trauma[i]))
            return "trauma";
    return "other";
}

static int local_day(int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* Fills the SF call fields that are the same on every row of a call (from its first row). */
static void sf_call_init(imp_call_t *c, char **f, int64_t received)
{
    snprintf(c->key, sizeof c->key, "sf:%s", f[0]);
    c->created_ms = received;
    c->day = local_day(received);
    snprintf(c->complaint, sizeof c->complaint, "%s",
             !strcmp(f[1], "Traffic Collision") ? "trauma" : "other");
    c->priority = !strcmp(f[2], "3") ? 1 : !strcmp(f[2], "2") ? 2 : 3;
    c->has_geom = sscanf(f[3], "(%lf, %lf)", &c->lat, &c->lon) == 2 && c->lat >= -90 &&
                  c->lat <= 90 && c->lon >= -180 && c->lon <= 180;
    snprintf(c->notes, sizeof c->notes, "SFFD %s; %s", f[1], f[4]);
}

/* Counts a rejected row and, when asked, says which one and why (ids only, no patient data). */
static void reject(imp_stats_t *st, FILE *rejects, size_t line, imp_source_t src, const char *id,
                   const char *unit, imp_reason_t reason)
{
    st->rejected++;
    st->reasons[reason]++;
    if (rejects)
        fprintf(rejects, "rejected line %zu: %s:%s%s%s: %s\n", line + 1,
                src == IMP_SF ? "sf" : "nyc", id, unit ? " unit " : "", unit ? unit : "",
                imp_reason_text(reason));
}

int imp_load(char *buf, size_t len, imp_source_t src, long limit, int medical_only, FILE *rejects,
             imp_call_t **calls_out, size_t *ncalls_out, imp_stats_t *st, char *unmapped,
             size_t unmapped_len, char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    *calls_out = NULL;
    *ncalls_out = 0;
    char sep = src == IMP_SF ? ',' : '\t';
    if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) /* the NYC header starts with a BOM */
        buf += 3;

    /* lines */
    size_t nlines = 0, cap_lines = 1024;
    char **lines = malloc(cap_lines * sizeof *lines);
    if (!lines)
        return GL_ENOMEM;
    for (char *p = buf; p && *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r')
            p[l - 1] = '\0';
        if (nlines == cap_lines) {
            char **nl2 = realloc(lines, (cap_lines *= 2) * sizeof *lines);
            if (!nl2) {
                free(lines);
                return GL_ENOMEM;
            }
            lines = nl2;
        }
        if (*p)
            lines[nlines++] = p;
        p = nl ? nl + 1 : NULL;
    }
    if (nlines == 0) {
        free(lines);
        snprintf(err, errlen, "the file is empty");
        return GL_EINVAL;
    }

    /* header */
    char *hdr[MAX_FIELDS];
    int nh = imp_split(lines[0], sep, hdr, MAX_FIELDS);
    const char *const *names = src == IMP_SF ? sf_names : nyc_names;
    int ncols = src == IMP_SF ? SF__COUNT : NY__COUNT, ci[MAX_FIELDS];
    for (int k = 0; k < ncols; k++) {
        ci[k] = col(hdr, nh, names[k]);
        if (ci[k] < 0) {
            free(lines);
            snprintf(err, errlen, "no column \"%s\" in the header: not a %s file", names[k],
                     src == IMP_SF ? "SF Fire Dept calls" : "NYC EMS incidents");
            return GL_EINVAL;
        }
    }
    if (unmapped) {
        size_t used = 0;
        unmapped[0] = '\0';
        for (int i = 0; i < nh && used < unmapped_len; i++) {
            int mapped = 0;
            for (int k = 0; k < ncols; k++)
                mapped |= ci[k] == i;
            if (!mapped)
                used += (size_t)snprintf(unmapped + used, unmapped_len - used, "%s%s",
                                         used ? ", " : "", hdr[i]);
        }
    }

    call_map_t map = {NULL, NULL, 1};
    while (map.cap < 2 * nlines)
        map.cap <<= 1;
    map.keys = calloc(map.cap, sizeof *map.keys);
    map.idx = calloc(map.cap, sizeof *map.idx);
    size_t ncalls = 0;
    imp_call_t *calls = calloc(nlines, sizeof *calls);
    int rc = 0;
    if (!map.keys || !map.idx || !calls) {
        rc = GL_ENOMEM;
        goto done;
    }

    for (size_t li = 1; li < nlines && rc == 0; li++) {
        char *f[MAX_FIELDS];
        int nf = imp_split(lines[li], sep, f, MAX_FIELDS);
        const char *id = nf > ci[0] ? f[ci[0]] : "";
        /* which call: the first `limit` calls in file order, every row of each */
        size_t slot = map_slot(&map, id);
        long ix = map.keys[slot] ? map.idx[slot] : -2;
        if (ix == -2) {
            if (limit > 0 && (long)ncalls >= limit) {
                if (src == IMP_NYC)
                    break; /* one row per incident: nothing further belongs to a kept call */
                continue;
            }
            int filtered = 0;
            if (src == IMP_SF && medical_only && nf >= nh) {
                const char *type = f[ci[SF_TYPE]], *group = f[ci[SF_GROUP]];
                filtered = strcmp(type, "Medical Incident") &&
                           strcmp(group, "Potentially Life-Threatening") &&
                           strcmp(group, "Non Life-threatening");
            }
            map.keys[slot] = (char *)id;
            map.idx[slot] = ix = filtered ? -1 : (long)ncalls++;
            if (filtered)
                st->filtered_calls++;
            else
                st->empty_calls++; /* until a row of it is taken */
        } else if (src == IMP_NYC && ix >= 0) {
            st->rows++;
            reject(st, rejects, li, src, id, NULL, IMP_R_DUPLICATE);
            continue;
        }
        if (ix < 0)
            continue; /* filtered out */
        st->rows++;
        imp_call_t *c = &calls[ix];
        int reason = -1;
        if (nf < nh)
            reason = IMP_R_SHORT_ROW;

        enum { MAXST = 8 };
        int64_t t[MAXST] = {0};
        int present[MAXST] = {0}, nst = 0;
        static const int sf_stage[] = {SF_RECEIVED,  SF_DISPATCH, SF_RESPONSE, SF_ON_SCENE,
                                       SF_TRANSPORT, SF_HOSPITAL, SF_AVAILABLE};
        static const int ny_stage[] = {NY_CALL,    NY_ASSIGN,  NY_ACTIVATE, NY_ON_SCENE,
                                       NY_TO_HOSP, NY_AT_HOSP, NY_CLOSE};
        const int *stage = src == IMP_SF ? sf_stage : ny_stage;
        nst = 7;
        for (int k = 0; k < nst && reason < 0; k++) {
            int r = imp_parse_time(f[ci[stage[k]]], &t[k]);
            present[k] = r == 0;
            if (r == GL_EINVAL)
                reason = IMP_R_BAD_TIME;
            else if (k == 0 && r == GL_ENOENT)
                reason = IMP_R_NO_CALL_TIME;
        }
        if (reason < 0)
            reason = check_stages(t, present, nst);
        if (reason < 0 && src == IMP_SF && c->rows > 0) {
            if (c->created_ms != t[0])
                reason = IMP_R_CALL_MISMATCH;
            for (size_t e = 0; reason < 0 && e < c->nevents; e++)
                if (!strcmp(c->events[e].kind, "assigned") &&
                    !strcmp(c->events[e].vehicle, f[ci[SF_UNIT]]))
                    reason = IMP_R_DUPLICATE;
        }
        if (reason >= 0) {
            reject(st, rejects, li, src, id,
                   src == IMP_SF && nf > ci[SF_UNIT] ? f[ci[SF_UNIT]] : NULL, (imp_reason_t)reason);
            continue;
        }

        if (c->rows == 0) {
            st->empty_calls--;
            st->calls++;
            if (src == IMP_SF) {
                char *cf[5] = {f[ci[SF_CALL]], f[ci[SF_TYPE]], f[ci[SF_FINAL_PRIO]],
                               f[ci[SF_LOCATION]], f[ci[SF_GROUP]]};
                sf_call_init(c, cf, t[0]);
            } else {
                snprintf(c->key, sizeof c->key, "nyc:%s", f[ci[NY_ID]]);
                c->created_ms = t[0];
                c->day = local_day(t[0]);
                snprintf(c->complaint, sizeof c->complaint, "%s", nyc_complaint(f[ci[NY_TYPE]]));
                int sev = atoi(f[ci[NY_SEVERITY]]);
                c->priority = sev <= 2 ? 1 : sev <= 4 ? 2 : sev <= 6 ? 3 : 4;
                snprintf(c->notes, sizeof c->notes, "NYC EMS %s, severity %s", f[ci[NY_TYPE]],
                         f[ci[NY_SEVERITY]]);
            }
            rc = add_event(c, t[0], "call_received", NULL, NULL, NULL, NULL);
        }
        c->rows++;
        const char *unit = src == IMP_SF ? f[ci[SF_UNIT]] : NULL;
        static const char *const status[] = {NULL,           NULL,          "en_route", "on_scene",
                                             "transporting", "at_hospital", "available"};
        if (!rc && present[1])
            rc = add_event(c, t[1], "assigned", unit, NULL, "unit_type",
                           src == IMP_SF ? f[ci[SF_UNIT_TYPE]] : NULL);
        for (int k = 2; k < nst && !rc; k++) {
            if (!present[k])
                continue;
            if (k == 6 && src == IMP_NYC) /* INCIDENT_CLOSE: the closing time, not a unit status */
                c->closed_ms = t[k];
            else
                rc = add_event(c, t[k], "status", unit, status[k], NULL, NULL);
        }
    }

    /* keep the calls with a valid row; close each at its last stage */
    size_t kept = 0;
    for (size_t i = 0; i < ncalls && !rc; i++) {
        imp_call_t *c = &calls[i];
        if (!c->rows) {
            free(c->events);
            continue;
        }
        sort_events(c);
        int64_t last = c->events[c->nevents - 1].at_ms;
        if (c->closed_ms < last)
            c->closed_ms = last;
        rc = add_event(c, c->closed_ms, "closed", NULL, NULL, NULL, NULL);
        calls[kept++] = *c;
    }
    if (rc) {
        imp_free(calls, ncalls);
        calls = NULL;
        kept = 0;
    }
    *calls_out = calls;
    *ncalls_out = kept;
done:
    free(map.keys);
    free(map.idx);
    free(lines);
    if (rc == GL_ENOMEM && calls) {
        imp_free(calls, ncalls);
        *calls_out = NULL;
        *ncalls_out = 0;
    }
    return rc;
}

void imp_free(imp_call_t *calls, size_t n)
{
    if (!calls)
        return;
    for (size_t i = 0; i < n; i++)
        free(calls[i].events);
    free(calls);
}

/* ==== the command ============================================================================= */

static const char import_usage[] =
    "usage: goldlinectl import-calls FILE [--source sf|nyc] [--limit CALLS] [--medical]\n"
    "                                [--batch CALLS] [--dry-run] [--rejects] [--pg CONNINFO]\n";

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        char *b = realloc(buf, (cap *= 2) + 1);
        if (!b) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = b;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int ctl_import_run(int argc, char **argv, FILE *out, FILE *err)
{
    const char *file = NULL, *source = NULL, *limit_s = NULL, *batch_s = NULL, *pg = NULL;
    int medical = 0, dry = 0, seen_cmd = 0, show_rejects = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--source") || !strcmp(a, "--format") ? &source
                            : !strcmp(a, "--limit")                          ? &limit_s
                            : !strcmp(a, "--batch")                          ? &batch_s
                            : !strcmp(a, "--pg")                             ? &pg
                                                                             : NULL;
        if (!seen_cmd && !strcmp(a, "import-calls")) {
            seen_cmd = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(import_usage, out);
            return 0;
        } else if (!strcmp(a, "--medical")) {
            medical = 1;
        } else if (!strcmp(a, "--dry-run")) {
            dry = 1;
        } else if (!strcmp(a, "--rejects")) {
            show_rejects = 1;
        } else if (slot && i + 1 < argc) {
            *slot = argv[++i];
        } else if (a[0] != '-' && !file) {
            file = a;
        } else {
            fprintf(err, "goldlinectl: import-calls: %s: %s\n%s", a,
                    slot ? "needs a value" : "unexpected argument", import_usage);
            return 2;
        }
    }
    if (!file) {
        fprintf(err, "goldlinectl: import-calls needs a FILE\n%s", import_usage);
        return 2;
    }
    imp_source_t src;
    if (!source) /* by the file's form: NYC's is tab-separated */
        source = strstr(file, ".tsv") ? "nyc" : "sf";
    if (!strcmp(source, "sf"))
        src = IMP_SF;
    else if (!strcmp(source, "nyc"))
        src = IMP_NYC;
    else {
        fprintf(err, "goldlinectl: --source %s: sf or nyc\n", source);
        return 2;
    }
    long limit = 0, batch = 500;
    char *end;
    if (limit_s && ((limit = strtol(limit_s, &end, 10)) < 1 || *end)) {
        fprintf(err, "goldlinectl: --limit %s: a positive number of calls\n", limit_s);
        return 2;
    }
    if (batch_s && ((batch = strtol(batch_s, &end, 10)) < 1 || *end || batch > 100000)) {
        fprintf(err, "goldlinectl: --batch %s: 1 .. 100000 calls\n", batch_s);
        return 2;
    }

    size_t len = 0;
    char *buf = read_all(file, &len);
    if (!buf) {
        fprintf(err, "goldlinectl: import-calls: cannot read %s: %s\n", file, strerror(errno));
        return 2;
    }
    /* the source's wall-clock times are read in the source's zone */
    gl_time_set_zone(src == IMP_SF ? "America/Los_Angeles" : "America/New_York");

    imp_call_t *calls = NULL;
    size_t ncalls = 0;
    imp_stats_t st;
    char unmapped[1024], msg[512];
    int rc = imp_load(buf, len, src, limit, medical, show_rejects ? out : NULL, &calls, &ncalls,
                      &st, unmapped, sizeof unmapped, msg, sizeof msg);
    if (rc) {
        free(buf);
        fprintf(err, "goldlinectl: import-calls: %s\n", rc == GL_ENOMEM ? "out of memory" : msg);
        return rc == GL_ENOMEM ? 1 : 2;
    }
    size_t nevents = 0;
    for (size_t i = 0; i < ncalls; i++)
        nevents += calls[i].nevents;
    fprintf(out, "source: %s (%s time)\n", src == IMP_SF ? "sf" : "nyc",
            src == IMP_SF ? "America/Los_Angeles" : "America/New_York");
    fprintf(out, "rows read: %zu\n", st.rows);
    fprintf(out, "rows rejected: %zu\n", st.rejected);
    for (int r = 0; r < IMP_R__COUNT; r++)
        if (st.reasons[r])
            fprintf(out, "  %zu: %s\n", st.reasons[r], imp_reason_text((imp_reason_t)r));
    fprintf(out, "calls: %zu (%zu events)\n", ncalls, nevents);
    if (st.empty_calls)
        fprintf(out, "calls skipped, every row rejected: %zu\n", st.empty_calls);
    if (st.filtered_calls)
        fprintf(out, "calls left out by --medical: %zu\n", st.filtered_calls);
    fprintf(out, "columns not mapped: %s\n", unmapped);

    int code = 0;
    if (!dry) {
        ctl_db_t *db = NULL;
        size_t inserted = 0, ev = 0;
        rc = ctl_db_open(pg, &db, msg, sizeof msg);
        for (size_t i = 0; !rc && i < ncalls; i += (size_t)batch) {
            size_t n = ncalls - i < (size_t)batch ? ncalls - i : (size_t)batch;
            rc = ctl_db_import(db, calls + i, n, &inserted, &ev, msg, sizeof msg);
        }
        ctl_db_close(db);
        fprintf(out, "incidents added: %zu (%zu events); already there: %zu\n", inserted, ev,
                rc ? 0 : ncalls - inserted);
        if (rc) {
            fprintf(err,
                    "goldlinectl: import-calls: %s (the failing batch was rolled back; "
                    "batches before it stay, and a rerun adds only what is missing)\n",
                    msg);
            code = 3;
        }
    }
    imp_free(calls, ncalls);
    free(buf);
    return code;
}
