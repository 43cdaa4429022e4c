/*
 * goldlinectl's output (see ctl_format.h). A small table type collects cells as sanitised,
 * malloc'd strings, measures each column in terminal columns and prints it padded; one
 * function per kind of result fills a table from the JSON. Width comes from wcwidth() under a
 * private C.UTF-8 locale (uselocale, so the process locale is untouched): the JSON is always
 * UTF-8, whatever LANG the operator's shell has.
 */
#include "ctl_format.h"

#include "err.h"
#include "timeutil.h"

#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#define TRUNC_MARK "..."
#define MAX_COLS 10

/* Decodes one UTF-8 sequence at s; returns its length (>= 1) and sets *cp (-1 if invalid). */
static int utf8_next(const unsigned char *s, long *cp)
{
    int len;
    long c;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    } else if ((s[0] & 0xe0) == 0xc0) {
        len = 2, c = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3, c = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4, c = s[0] & 0x07;
    } else {
        *cp = -1;
        return 1;
    }
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *cp = -1;
            return 1;
        }
        c = (c << 6) | (s[i] & 0x3f);
    }
    *cp = c;
    return len;
}

static int is_control(long cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}

static locale_t utf8_locale(void)
{
    static locale_t loc;
    if (!loc)
        loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    return loc;
}

/* Columns of one code point; wide CJK characters are 2. */
static int cp_width(long cp)
{
    if (cp < 0 || is_control(cp))
        return 1;
    if (cp < 0x7f)
        return 1;
    locale_t loc = utf8_locale();
    if (!loc) /* no C.UTF-8: guess from the main CJK and Hangul blocks */
        return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
                       (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
                       (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
                       (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x20000 && cp <= 0x3fffd)
                   ? 2
                   : 1;
    locale_t old = uselocale(loc);
    int w = wcwidth((wchar_t)cp);
    uselocale(old);
    return w < 0 ? 1 : w;
}

int ctl_text_width(const char *utf8)
{
    const unsigned char *s = (const unsigned char *)utf8;
    int w = 0;
    while (*s) {
        long cp;
        s += utf8_next(s, &cp);
        w += cp_width(cp);
    }
    return w;
}

/*
 * Returns a malloc'd copy of text fit for one table cell: control characters become '?'
 * (newlines and tabs a space) and, when max_width > 0, text wider than that is cut and ends
 * in "...".
 */
static char *cell_text(const char *text, int max_width)
{
    size_t n = strlen(text);
    char *out = malloc(n + sizeof TRUNC_MARK + 1);
    if (!out)
        abort();
    int full = ctl_text_width(text);
    int limit = max_width > 0 && full > max_width ? max_width - (int)strlen(TRUNC_MARK) : -1;
    const unsigned char *s = (const unsigned char *)text;
    size_t o = 0;
    int w = 0;
    while (*s) {
        long cp;
        int len = utf8_next(s, &cp);
        int cw = cp_width(cp);
        if (limit >= 0 && w + cw > limit) {
            memcpy(out + o, TRUNC_MARK, strlen(TRUNC_MARK));
            o += strlen(TRUNC_MARK);
            break;
        }
        if (cp < 0 || is_control(cp)) {
            out[o++] = (cp == '\n' || cp == '\t' || cp == '\r') ? ' ' : '?';
        } else {
            memcpy(out + o, s, (size_t)len);
            o += (size_t)len;
        }
        w += cw;
        s += len;
    }
    out[o] = '\0';
    return out;
}

/* ---- a table of text cells ---------------------------------------------------------------- */

struct table {
    int ncols;               /* columns */
    int nrows;               /* rows including the header */
    int cap;                 /* rows allocated */
    char **cells;            /* nrows * ncols malloc'd strings */
    int right[MAX_COLS];     /* 1: right-align this column (numbers) */
    int max_width[MAX_COLS]; /* 0, or the width beyond which cells are cut */
};

static void table_init(struct table *t, int ncols)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
}

/* Adds a row of ncols cells (NULL means "-"). */
static void table_add(struct table *t, const char *const *row)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = realloc(t->cells, (size_t)t->cap * (size_t)t->ncols * sizeof *t->cells);
        if (!t->cells)
            abort();
    }
    for (int c = 0; c < t->ncols; c++)
        t->cells[t->nrows * t->ncols + c] =
            cell_text(row[c] && row[c][0] ? row[c] : "-", t->nrows ? t->max_width[c] : 0);
    t->nrows++;
}

static void table_print(struct table *t, FILE *out)
{
    int width[MAX_COLS] = {0};
    for (int r = 0; r < t->nrows; r++)
        for (int c = 0; c < t->ncols; c++) {
            int w = ctl_text_width(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (int r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            int pad = width[c] - ctl_text_width(cell);
            int last = c == t->ncols - 1;
            if (t->right[c])
                fprintf(out, "%*s%s", pad, "", cell);
            else if (last)
                fputs(cell, out);
            else
                fprintf(out, "%s%*s", cell, pad, "");
            fputs(last ? "\n" : "  ", out);
        }
    }
}

static void table_free(struct table *t)
{
    for (int i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

/* ---- field helpers ------------------------------------------------------------------------ */

/* The string value of key, or NULL if absent or not a string. */
static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* Prints a JSON scalar into buf: strings as they are, numbers plainly; NULL if absent. */
static const char *scalar(const json_t *obj, const char *key, char *buf, size_t len)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, len, "%g", json_real_value(v));
    else if (json_is_true(v))
        snprintf(buf, len, "yes");
    else if (json_is_false(v))
        snprintf(buf, len, "no");
    else
        return NULL;
    return buf;
}

/* An ISO 8601 time from key shown in local time ("2026-11-25 08:00:00"); raw if unparsable. */
static const char *local_time(const json_t *obj, const char *key, char *buf, size_t len)
{
    const char *iso = str(obj, key);
    int64_t ms;
    if (!iso)
        return NULL;
    if (gl_time_parse(iso, &ms) != 0)
        return iso;
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&secs, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

static const char *position(const json_t *obj, char *buf, size_t len)
{
    const json_t *lat = json_object_get(obj, "lat"), *lon = json_object_get(obj, "lon");
    if (!json_is_number(lat) || !json_is_number(lon))
        return NULL;
    snprintf(buf, len, "%.5f,%.5f", json_number_value(lat), json_number_value(lon));
    return buf;
}

/* ---- one printer per result --------------------------------------------------------------- */

static int print_incident(FILE *out, const json_t *inc)
{
    char b[6][64];
    if (!json_is_object(inc) || !str(inc, "id"))
        return GL_EPROTO;
    struct table t;
    table_init(&t, 2);
    const char *rows[][2] = {
        {"incident", str(inc, "id")},
        {"state", str(inc, "state")},
        {"priority", scalar(inc, "priority", b[0], sizeof b[0])},
        {"complaint", str(inc, "complaint")},
        {"location", position(inc, b[1], sizeof b[1])},
        {"address", str(inc, "address")},
        {"caller", str(inc, "caller")},
        {"onset", local_time(inc, "onset", b[2], sizeof b[2])},
        {"created", local_time(inc, "created_at", b[3], sizeof b[3])},
        {"vehicle", str(inc, "vehicle")},
        {"auto-assign at", local_time(inc, "auto_assign_at", b[4], sizeof b[4])},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        table_add(&t, rows[i]);
    table_print(&t, out);
    table_free(&t);
    return 0;
}

static int print_candidates(FILE *out, const json_t *cands)
{
    if (!json_is_array(cands))
        return GL_EPROTO;
    if (json_array_size(cands) == 0) {
        fputs("no candidates: no suitable vehicle is available\n", out);
        return 0;
    }
    struct table t;
    table_init(&t, 7);
    t.right[0] = t.right[4] = t.right[5] = 1;
    table_add(
        &t, (const char *[]){"#", "VEHICLE", "CALL SIGN", "KIND", "ETA(s)", "DIST(km)", "METHOD"});
    size_t i;
    const json_t *c;
    json_array_foreach (cands, i, c) {
        char rank[24], eta[32] = "", dist[32] = "";
        const json_t *e = json_object_get(c, "eta_s"), *d = json_object_get(c, "distance_m");
        snprintf(rank, sizeof rank, "%zu", i + 1);
        if (json_is_number(e))
            snprintf(eta, sizeof eta, "%.0f", json_number_value(e));
        if (json_is_number(d))
            snprintf(dist, sizeof dist, "%.2f", json_number_value(d) / 1000.0);
        table_add(&t, (const char *[]){rank, str(c, "vehicle"), str(c, "call_sign"), str(c, "kind"),
                                       eta, dist, str(c, "eta_method")});
    }
    table_print(&t, out);
    table_free(&t);
    return 0;
}

static int print_incidents(FILE *out, const json_t *list)
{
    if (!json_is_array(list))
        return GL_EPROTO;
    if (json_array_size(list) == 0) {
        fputs("no incidents\n", out);
        return 0;
    }
    struct table t;
    table_init(&t, 7);
    t.right[2] = 1;
    t.max_width[6] = 30;
    table_add(&t, (const char *[]){"INCIDENT", "STATE", "PRI", "COMPLAINT", "CREATED", "VEHICLE",
                                   "ADDRESS"});
    size_t i;
    const json_t *inc;
    json_array_foreach (list, i, inc) {
        char prio[32], created[64];
        table_add(&t, (const char *[]){str(inc, "id"), str(inc, "state"),
                                       scalar(inc, "priority", prio, sizeof prio),
                                       str(inc, "complaint"),
                                       local_time(inc, "created_at", created, sizeof created),
                                       str(inc, "vehicle"), str(inc, "address")});
    }
    table_print(&t, out);
    table_free(&t);
    return 0;
}

static int print_fleet(FILE *out, const json_t *list)
{
    if (!json_is_array(list))
        return GL_EPROTO;
    if (json_array_size(list) == 0) {
        fputs("no vehicles\n", out);
        return 0;
    }
    struct table t;
    table_init(&t, 9);
    t.max_width[3] = 20;
    table_add(&t, (const char *[]){"VEHICLE", "CALL SIGN", "KIND", "STATION", "STATUS", "INCIDENT",
                                   "POSITION", "FIX AT", "STALE"});
    size_t i;
    const json_t *v;
    json_array_foreach (list, i, v) {
        char pos[64], fix[64], stale[8];
        table_add(&t, (const char *[]){str(v, "id"), str(v, "call_sign"), str(v, "kind"),
                                       str(v, "station"), str(v, "status"), str(v, "incident"),
                                       position(v, pos, sizeof pos),
                                       local_time(v, "fix_at", fix, sizeof fix),
                                       scalar(v, "stale", stale, sizeof stale)});
    }
    table_print(&t, out);
    table_free(&t);
    return 0;
}

static int print_events(FILE *out, const json_t *list)
{
    if (!json_is_array(list))
        return GL_EPROTO;
    struct table t;
    table_init(&t, 6);
    t.right[0] = 1;
    t.max_width[5] = 50;
    table_add(&t, (const char *[]){"SEQ", "TIME", "KIND", "SOURCE", "VEHICLE", "DETAIL"});
    size_t i;
    const json_t *e;
    json_array_foreach (list, i, e) {
        char seq[32], at[64];
        const json_t *detail = json_object_get(e, "detail");
        char *dtext = detail
                          ? json_dumps(detail, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)
                          : NULL;
        table_add(&t, (const char *[]){scalar(e, "seq", seq, sizeof seq),
                                       local_time(e, "at", at, sizeof at), str(e, "kind"),
                                       str(e, "source"), str(e, "vehicle"), dtext});
        free(dtext);
    }
    table_print(&t, out);
    table_free(&t);
    return 0;
}

/* The result of event.add: the incident's id and state, then the new entry as a timeline row. */
static int print_event_added(FILE *out, const json_t *result)
{
    const json_t *inc = json_object_get(result, "incident"),
                 *entry = json_object_get(result, "entry");
    if (!json_is_object(inc) || !str(inc, "id") || !json_is_object(entry))
        return GL_EPROTO;
    char *id = cell_text(str(inc, "id"), 0),
         *state = cell_text(str(inc, "state") ? str(inc, "state") : "-", 0);
    fprintf(out, "incident %s (%s)\n\n", id, state);
    free(id);
    free(state);
    json_t *one = json_pack("[O]", entry);
    int rc = print_events(out, one);
    json_decref(one);
    return rc;
}

int ctl_format_duration(double secs, char *buf, size_t len)
{
    if (!isfinite(secs) || fabs(secs) > 1e9) {
        snprintf(buf, len, "?");
        return -1;
    }
    long long s = (long long)(secs < 0 ? -secs : secs);
    const char *sign = secs < 0 && s > 0 ? "-" : "";
    if (s >= 3600)
        return snprintf(buf, len, "%s%lld:%02lld:%02lld", sign, s / 3600, s / 60 % 60, s % 60);
    return snprintf(buf, len, "%s%02lld:%02lld", sign, s / 60, s % 60);
}

/*
 * The clocks result: one row per metric. Elapsed time is rounded down and remaining time up,
 * as a stopwatch and a countdown show them, so ELAPSED + REMAINING = TARGET on every row.
 */
static int print_clocks(FILE *out, const json_t *result)
{
    const json_t *list = json_object_get(result, "clocks");
    if (!json_is_array(list))
        return GL_EPROTO;
    if (json_array_size(list) == 0) {
        fputs("no golden-time metric applies to this incident\n", out);
        return 0;
    }
    if (str(result, "incident")) {
        char *id = cell_text(str(result, "incident"), 0);
        fprintf(out, "incident %s\n\n", id);
        free(id);
    }
    struct table t;
    table_init(&t, 7);
    t.right[4] = t.right[5] = t.right[6] = 1;
    table_add(
        &t, (const char *[]){"METRIC", "STATE", "START", "END", "ELAPSED", "TARGET", "REMAINING"});
    size_t i;
    const json_t *c;
    json_array_foreach (list, i, c) {
        char start[64], end[64], elapsed[32] = "", target[32] = "", remaining[32] = "";
        const json_t *e = json_object_get(c, "elapsed_s"), *g = json_object_get(c, "target_s"),
                     *r = json_object_get(c, "remaining_s");
        if (json_is_number(e))
            ctl_format_duration(floor(json_number_value(e)), elapsed, sizeof elapsed);
        if (json_is_number(g))
            ctl_format_duration(json_number_value(g), target, sizeof target);
        if (json_is_number(r))
            ctl_format_duration(ceil(json_number_value(r)), remaining, sizeof remaining);
        table_add(&t, (const char *[]){str(c, "metric"), str(c, "state"),
                                       local_time(c, "start", start, sizeof start),
                                       local_time(c, "end", end, sizeof end), elapsed, target,
                                       remaining});
    }
    table_print(&t, out);
    table_free(&t);
    return 0;
}

/* Flattens nested objects into "a.b  value" lines (stats has no fixed shape). */
static void flatten(struct table *t, const char *prefix, const json_t *obj)
{
    const char *key;
    const json_t *v;
    json_object_foreach ((json_t *)obj, key, v) {
        char name[256], buf[64];
        snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "." : "", key);
        if (json_is_object(v)) {
            flatten(t, name, v);
        } else if (json_is_array(v)) {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            table_add(t, (const char *[]){name, s});
            free(s);
        } else {
            json_t *wrap = json_pack("{sO}", "v", v);
            table_add(t, (const char *[]){name, scalar(wrap, "v", buf, sizeof buf)});
            json_decref(wrap);
        }
    }
}

static int print_stats(FILE *out, const json_t *result)
{
    struct table t;
    table_init(&t, 2);
    t.right[1] = 1;
    flatten(&t, "", result);
    table_print(&t, out);
    table_free(&t);
    return 0;
}

int ctl_format_table(FILE *out, const char *op, const json_t *result, const char *tz)
{
    int rc;
    if (!json_is_object(result))
        return GL_EPROTO;
    if (tz)
        gl_time_set_zone(tz);
    const json_t *inc = json_object_get(result, "incident");

    if (strcmp(op, "call.new") == 0) {
        /* Validate both parts before printing either, so a fallback to JSON is clean. */
        if (!json_is_object(inc) || !str(inc, "id") ||
            !json_is_array(json_object_get(result, "candidates")))
            return GL_EPROTO;
        if ((rc = print_incident(out, inc)) == 0) {
            fputc('\n', out);
            rc = print_candidates(out, json_object_get(result, "candidates"));
        }
    } else if (strcmp(op, "candidates") == 0) {
        rc = print_candidates(out, json_object_get(result, "candidates"));
    } else if (strcmp(op, "timeline") == 0) {
        if (!json_is_object(inc) || !str(inc, "id") ||
            !json_is_array(json_object_get(result, "events")))
            return GL_EPROTO;
        if ((rc = print_incident(out, inc)) == 0) {
            fputc('\n', out);
            rc = print_events(out, json_object_get(result, "events"));
        }
    } else if (strcmp(op, "incident") == 0 || strcmp(op, "assign") == 0 ||
               strcmp(op, "cancel") == 0) {
        rc = print_incident(out, inc);
    } else if (strcmp(op, "incidents") == 0) {
        rc = print_incidents(out, json_object_get(result, "incidents"));
    } else if (strcmp(op, "fleet") == 0) {
        rc = print_fleet(out, json_object_get(result, "vehicles"));
    } else if (strcmp(op, "event.add") == 0 || strcmp(op, "destination") == 0) {
        /* destination answers like event.add: the incident and its new destination event */
        rc = print_event_added(out, result);
    } else if (strcmp(op, "clocks") == 0) {
        rc = print_clocks(out, result);
    } else {
        rc = print_stats(out, result);
    }
    if (rc == 0 && strcmp(op, "stats") != 0 && strcmp(op, "candidates") != 0)
        fprintf(out, "(times in %s)\n", tz ? tz : "the local time zone");
    return rc;
}

int ctl_format_json(FILE *out, const json_t *result, int compact)
{
    size_t flags =
        JSON_PRESERVE_ORDER | JSON_ENCODE_ANY | (compact ? JSON_COMPACT : JSON_INDENT(2));
    if (json_dumpf(result, out, flags) != 0 || fputc('\n', out) == EOF)
        return GL_EIO;
    return 0;
}

void ctl_format_error(FILE *err, const char *context, const json_t *error)
{
    const char *code = str(error, "code"), *msg = str(error, "message");
    char *c = cell_text(code ? code : "EUNKNOWN", 40);
    char *m = cell_text(msg ? msg : "(no message)", 500);
    fprintf(err, "goldlinectl: %s%s%s: %s\n", context ? context : "", context ? ": " : "", c, m);
    free(c);
    free(m);
}
