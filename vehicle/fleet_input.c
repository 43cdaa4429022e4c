/*
 * Placement and hospital CSV files, random placement, and the SQL that seeds the database with
 * the simulated fleet (see fleet_input.h).
 */
#include "fleet_input.h"

#include "err.h"
#include "geo.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FIELDS 8
#define LINE_MAX_LEN 1024

/* Splits `buf` in place at commas into at most MAX_FIELDS trimmed fields; a field may be
 * double-quoted as spreadsheets and Python's csv module write it ("a, b" and "" for a quote).
 * Returns the count, or -1 when there are more fields or a quote is not closed. */
static int split(char *buf, char **f)
{
    int n = 0;
    char *p = buf;
    for (;;) {
        if (n == MAX_FIELDS)
            return -1;
        while (*p == ' ' || *p == '\t')
            p++;
        char *start = p, *end;
        if (*p == '"') {
            char *w = start;
            for (p++;; p++) {
                if (*p == '\0')
                    return -1;
                if (*p == '"' && p[1] == '"')
                    p++;
                else if (*p == '"')
                    break;
                *w++ = *p;
            }
            end = w;
            p++;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p != ',' && *p != '\0')
                return -1;
        } else {
            p += strcspn(p, ",");
            end = p;
            while (end > start && isspace((unsigned char)end[-1]))
                end--;
        }
        int last = *p == '\0';
        *end = '\0';
        f[n++] = start;
        if (last)
            return n;
        p++;
    }
}

/* 1 when the line is blank or a comment. */
static int skippable(const char *line)
{
    while (isspace((unsigned char)*line))
        line++;
    return *line == '\0' || *line == '#';
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > FLEET_INPUT_ID_MAX)
        return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
            return 0;
    return 1;
}

static int valid_cap(const char *s, size_t cap_size)
{
    size_t n = strlen(s);
    if (n == 0 || n >= cap_size)
        return 0;
    for (const char *p = s; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
            return 0;
    return 1;
}

/* Text without control characters. */
static int valid_text(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* Copies a display name, cut to fit `size` at a UTF-8 character boundary (names are cosmetic:
 * a long hospital or call-sign name must not stop the simulator). */
static void copy_name(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size) {
        n = size - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

#define FAIL(...)                                                                                 \
    do {                                                                                          \
        snprintf(err, errlen, __VA_ARGS__);                                                       \
        return GL_EINVAL;                                                                         \
    } while (0)

/* Copies a line and parses the common leading "id,lat,lon" part. */
static int parse_head(const char *line, char *buf, char **f, int *nf, char *id, double *lat,
                      double *lon, char *err, size_t errlen)
{
    if (skippable(line))
        return 1;
    size_t len = strlen(line);
    if (len >= LINE_MAX_LEN)
        FAIL("line longer than %d characters", LINE_MAX_LEN - 1);
    memcpy(buf, line, len + 1);
    buf[strcspn(buf, "\r\n")] = '\0';
    *nf = split(buf, f);
    if (*nf < 3)
        FAIL("expected at least id,lat,lon");
    if (!valid_id(f[0]))
        FAIL("id '%.40s' must be 1..%d characters of A-Z a-z 0-9 . _ -", f[0],
             FLEET_INPUT_ID_MAX);
    if (parse_double(f[1], lat) < 0 || parse_double(f[2], lon) < 0 ||
        !geo_point_valid(*lat, *lon))
        FAIL("bad coordinates for %s", f[0]);
    memcpy(id, f[0], strlen(f[0]) + 1);
    return 0;
}

int fleet_input_parse_unit(const char *line, sim_unit_spec_t *out, char *err, size_t errlen)
{
    char buf[LINE_MAX_LEN];
    char *f[MAX_FIELDS];
    int nf;
    memset(out, 0, sizeof *out);
    int rc = parse_head(line, buf, f, &nf, out->id, &out->lat, &out->lon, err, errlen);
    if (rc != 0)
        return rc;
    if (nf < 4 || nf > 6)
        FAIL("%s: expected id,lat,lon,kind[,caps][,call_sign]", out->id);
    if (strcasecmp(f[3], "ALS") && strcasecmp(f[3], "BLS"))
        FAIL("%s: kind must be ALS or BLS", out->id);
    for (int i = 0; i < 3; i++)
        out->kind[i] = (char)toupper((unsigned char)f[3][i]);
    if (nf >= 5 && f[4][0]) {
        char *save = NULL;
        for (char *c = strtok_r(f[4], "|", &save); c; c = strtok_r(NULL, "|", &save)) {
            if (out->ncaps == (int)(sizeof out->caps / sizeof out->caps[0]))
                FAIL("%s: more than %zu capabilities", out->id,
                     sizeof out->caps / sizeof out->caps[0]);
            if (!valid_cap(c, sizeof out->caps[0]))
                FAIL("%s: capability '%.30s' must be lower-case letters, digits, _", out->id,
                     c);
            memcpy(out->caps[out->ncaps++], c, strlen(c) + 1);
        }
    }
    const char *cs = nf >= 6 && f[5][0] ? f[5] : out->id;
    if (!valid_text(cs))
        FAIL("%s: call sign holds control characters", out->id);
    copy_name(out->call_sign, sizeof out->call_sign, cs);
    return 0;
}

int fleet_input_parse_hospital(const char *line, sim_hospital_t *out, char *err, size_t errlen)
{
    char buf[LINE_MAX_LEN];
    char *f[MAX_FIELDS];
    int nf;
    memset(out, 0, sizeof *out);
    int rc = parse_head(line, buf, f, &nf, out->id, &out->lat, &out->lon, err, errlen);
    if (rc != 0)
        return rc;
    if (nf > 4)
        FAIL("%s: expected id,lat,lon[,name]", out->id);
    const char *name = nf == 4 && f[3][0] ? f[3] : out->id;
    if (!valid_text(name))
        FAIL("%s: name holds control characters", out->id);
    copy_name(out->name, sizeof out->name, name);
    return 0;
}

/* A header is a first line whose second field is not a number. */
static int is_header(const char *line)
{
    const char *c = strchr(line, ',');
    if (!c)
        return 0;
    char *end;
    strtod(c + 1, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    return end == c + 1 || (*end != ',' && *end != '\0' && *end != '\r' && *end != '\n');
}

typedef int (*parse_fn)(const char *line, void *out, char *err, size_t errlen);

static int parse_unit_cb(const char *line, void *out, char *err, size_t errlen)
{
    return fleet_input_parse_unit(line, out, err, errlen);
}

static int parse_hospital_cb(const char *line, void *out, char *err, size_t errlen)
{
    return fleet_input_parse_hospital(line, out, err, errlen);
}

/* Reads every line of `path` through `parse` into a growing array of `size`-byte entries whose
 * first member is the id (checked for duplicates). */
static int load(const char *path, parse_fn parse, size_t size, void **out, size_t *n, char *err,
                size_t errlen)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        FAIL("cannot open %s: %s", path, strerror(errno));
    char line[LINE_MAX_LEN + 2], msg[256];
    char *arr = NULL;
    size_t count = 0, cap = 0;
    int lineno = 0, seen_data = 0, rc = 0;
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        if (skippable(line))
            continue;
        if (!seen_data++ && is_header(line))
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            char *grown = realloc(arr, cap * size);
            if (!grown) {
                rc = GL_ENOMEM;
                snprintf(err, errlen, "out of memory reading %s", path);
                break;
            }
            arr = grown;
        }
        char *slot = arr + count * size;
        if (parse(line, slot, msg, sizeof msg) != 0) {
            rc = GL_EINVAL;
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            break;
        }
        for (size_t i = 0; i < count; i++)
            if (strcmp(arr + i * size, slot) == 0) {
                rc = GL_EINVAL;
                snprintf(err, errlen, "%s:%d: duplicate id %s", path, lineno, slot);
                break;
            }
        if (rc)
            break;
        count++;
    }
    fclose(fp);
    if (rc == 0 && count == 0) {
        rc = GL_EINVAL;
        snprintf(err, errlen, "%s: no entries", path);
    }
    if (rc) {
        free(arr);
        return rc;
    }
    *out = arr;
    *n = count;
    return 0;
}

int fleet_input_load_units(const char *path, sim_unit_spec_t **out, size_t *n, char *err,
                           size_t errlen)
{
    _Static_assert(offsetof(sim_unit_spec_t, id) == 0, "load() finds the id first");
    return load(path, parse_unit_cb, sizeof **out, (void **)out, n, err, errlen);
}

int fleet_input_load_hospitals(const char *path, sim_hospital_t **out, size_t *n, char *err,
                               size_t errlen)
{
    _Static_assert(offsetof(sim_hospital_t, id) == 0, "load() finds the id first");
    return load(path, parse_hospital_cb, sizeof **out, (void **)out, n, err, errlen);
}

int fleet_input_random_units(size_t n, double lat, double lon, double radius_km, uint64_t seed,
                             sim_unit_spec_t **out)
{
    if (n == 0 || n > 99999 || !geo_point_valid(lat, lon) || !(radius_km >= 0))
        return GL_EINVAL;
    sim_unit_spec_t *u = calloc(n, sizeof *u);
    if (!u)
        return GL_ENOMEM;
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        /* splitmix64, two draws per unit: radius and bearing */
        double r[2];
        for (int k = 0; k < 2; k++) {
            uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
            r[k] = (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
        }
        /* sqrt makes the density uniform over the disc, not crowded at the centre */
        geo_destination(lat, lon, 360.0 * r[1], radius_km * 1000.0 * sqrt(r[0]), &u[i].lat,
                        &u[i].lon);
        snprintf(u[i].id, sizeof u[i].id, "SIM-%03zu", i + 1);
        snprintf(u[i].call_sign, sizeof u[i].call_sign, "%s", u[i].id);
        if (i % 3 != 2) {
            memcpy(u[i].kind, "ALS", 4);
            memcpy(u[i].caps[0], "ecg12", 6);
            u[i].ncaps = 1;
        } else {
            memcpy(u[i].kind, "BLS", 4);
        }
    }
    *out = u;
    return 0;
}

int fleet_input_parse_center(const char *text, double *lat, double *lon)
{
    char buf[64];
    size_t len = strlen(text);
    if (len >= sizeof buf)
        return GL_EINVAL;
    memcpy(buf, text, len + 1);
    char *f[MAX_FIELDS];
    if (split(buf, f) != 2 || parse_double(f[0], lat) < 0 || parse_double(f[1], lon) < 0 ||
        !geo_point_valid(*lat, *lon))
        return GL_EINVAL;
    return 0;
}

/* Writes `s` as an SQL string literal (quotes doubled). */
static void sql_str(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

void fleet_input_print_sql(FILE *f, const sim_unit_spec_t *units, size_t n)
{
    fprintf(f, "-- goldline-fleet: %zu simulated units and their stations\nBEGIN;\n", n);
    for (size_t i = 0; i < n; i++) {
        const sim_unit_spec_t *u = &units[i];
        char station[UNIT_ID_MAX + 8], name[sizeof u->call_sign + 16];
        snprintf(station, sizeof station, "st-%s", u->id);
        snprintf(name, sizeof name, "Station %s", u->call_sign);
        fputs("INSERT INTO stations (id, name, geom) VALUES (", f);
        sql_str(f, station);
        fputs(", ", f);
        sql_str(f, name);
        fprintf(f, ", ST_SetSRID(ST_MakePoint(%.7f, %.7f), 4326)::geography) "
                   "ON CONFLICT DO NOTHING;\n",
                u->lon, u->lat);
        fputs("INSERT INTO vehicles (id, call_sign, station_id, kind, capabilities) VALUES (", f);
        sql_str(f, u->id);
        fputs(", ", f);
        sql_str(f, u->call_sign);
        fputs(", ", f);
        sql_str(f, station);
        fputs(", ", f);
        sql_str(f, u->kind);
        fputs(", ARRAY[", f);
        for (int c = 0; c < u->ncaps; c++) {
            if (c)
                fputs(", ", f);
            sql_str(f, u->caps[c]);
        }
        fputs("]::text[]) ON CONFLICT DO NOTHING;\n", f);
    }
    fputs("COMMIT;\n", f);
}
