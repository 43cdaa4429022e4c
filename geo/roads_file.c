/*
 * Reading the road graph files: line by line from a stdio stream, which is a plain file or the
 * output of `tar -xOzf` / `gzip -dc` for compressed ones (popen, so the data never lands on disk
 * and geo/ needs no zlib). Numbers are parsed by hand: strtod would round the 6-decimal weights,
 * while digits-only parsing keeps them exact integers, and it is several times faster on the
 * 300k-line files.
 */
#include "roads_file.h"
#include "err.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LINE_MAX_LEN 512

typedef struct stream {
    FILE *f;
    int is_pipe;
    const char *path; /* for messages */
    unsigned long line;
} stream_t;

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int stream_open(stream_t *st, const char *path)
{
    memset(st, 0, sizeof(*st));
    st->path = path;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return GL_ENOENT;
    if (ends_with(path, ".tar.gz") || ends_with(path, ".gz")) {
        /* Single-quote the path for the shell; a path with a quote is refused. */
        if (strchr(path, '\''))
            return GL_EINVAL;
        char cmd[4096];
        int n = snprintf(cmd, sizeof(cmd), "%s '%s'",
                         ends_with(path, ".tar.gz") ? "tar -xOzf" : "gzip -dc", path);
        if (n < 0 || (size_t)n >= sizeof(cmd))
            return GL_EINVAL;
        st->f = popen(cmd, "r");
        st->is_pipe = 1;
    } else {
        st->f = fopen(path, "r");
    }
    return st->f ? 0 : GL_EIO;
}

/* Closes; returns GL_EIO if the decompressor failed. */
static int stream_close(stream_t *st)
{
    if (!st->f)
        return 0;
    int rc = 0;
    if (st->is_pipe) {
        int status = pclose(st->f);
        if (status != 0)
            rc = GL_EIO;
    } else if (fclose(st->f) != 0) {
        rc = GL_EIO;
    }
    st->f = NULL;
    return rc;
}

/* Reads the next line into buf; returns 1, or 0 at end of input. */
static int stream_line(stream_t *st, char *buf, size_t size)
{
    if (!fgets(buf, (int)size, st->f))
        return 0;
    st->line++;
    return 1;
}

static int bad(const stream_t *st, const char *what)
{
    LOG_ERR("roads", "%s:%lu: %s", st->path, st->line, what);
    return GL_EPROTO;
}

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Parses an unsigned integer; returns 0 or GL_EPROTO. */
static int parse_u64(const char *s, const char **end, uint64_t *out)
{
    s = skip_ws(s);
    if (*s < '0' || *s > '9')
        return GL_EPROTO;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - 9) / 10)
            return GL_EPROTO;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *end = s;
    *out = v;
    return 0;
}

/* Parses a signed integer. */
static int parse_i64(const char *s, const char **end, int64_t *out)
{
    s = skip_ws(s);
    int neg = *s == '-';
    if (neg)
        s++;
    uint64_t v;
    if (parse_u64(s, end, &v) < 0 || v > (uint64_t)INT64_MAX)
        return GL_EPROTO;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

int roads_parse_micro(const char *s, const char **end, int64_t *out)
{
    uint64_t ip;
    if (parse_u64(s, &s, &ip) < 0 || ip > (uint64_t)INT64_MAX / 1000000)
        return GL_EPROTO;
    int64_t frac = 0;
    int digits = 0;
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++) {
            if (++digits > 6)
                return GL_EPROTO;
            frac = frac * 10 + (*s - '0');
        }
    }
    for (; digits < 6; digits++)
        frac *= 10;
    *out = (int64_t)ip * 1000000 + frac;
    if (end)
        *end = s;
    return 0;
}

/* The end of a line: only blanks and the newline may follow. */
static int at_eol(const char *s)
{
    s = skip_ws(s);
    return *s == '\0' || *s == '\n' || *s == '\r';
}

/* A growable arc array. */
typedef struct edges {
    graph_edge_t *a;
    size_t n, cap;
} edges_t;

static int edges_push(edges_t *e, const graph_edge_t *x)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 65536;
        graph_edge_t *a = realloc(e->a, cap * sizeof(*a));
        if (!a)
            return GL_ENOMEM;
        e->a = a;
        e->cap = cap;
    }
    e->a[e->n++] = *x;
    return 0;
}

/* ---- cn-osm-cities ------------------------------------------------------------------------- */

/* Reads <city>.co: '#' lines, a count line, then "lat lon" per vertex. */
static int read_city_co(const char *path, uint32_t *n_out, double **lat, double **lon)
{
    stream_t st;
    int rc = stream_open(&st, path);
    if (rc < 0)
        return rc;
    char buf[LINE_MAX_LEN];
    uint64_t n = 0;
    int have_n = 0;
    uint32_t k = 0;
    *lat = *lon = NULL;
    while (stream_line(&st, buf, sizeof(buf))) {
        if (buf[0] == '#' || at_eol(buf))
            continue;
        const char *s = buf;
        if (!have_n) {
            if (parse_u64(s, &s, &n) < 0 || !at_eol(s) || n == 0 || n >= GRAPH_NONE) {
                rc = bad(&st, "expected the vertex count");
                goto out;
            }
            have_n = 1;
            *lat = malloc(n * sizeof(double));
            *lon = malloc(n * sizeof(double));
            if (!*lat || !*lon) {
                rc = GL_ENOMEM;
                goto out;
            }
            continue;
        }
        char *e1, *e2;
        double la = strtod(s, &e1);
        double lo = strtod(e1, &e2);
        if (e1 == s || e2 == e1 || !at_eol(e2) || k >= n) {
            rc = bad(&st, "expected \"lat lon\"");
            goto out;
        }
        (*lat)[k] = la;
        (*lon)[k] = lo;
        k++;
    }
    if (!have_n || k != n) {
        rc = bad(&st, "fewer coordinate lines than the count");
        goto out;
    }
    *n_out = (uint32_t)n;
out : {
    int crc = stream_close(&st);
    if (rc == 0)
        rc = crc;
}
    if (rc < 0) {
        free(*lat);
        free(*lon);
        *lat = *lon = NULL;
    }
    return rc;
}

/* Parses "u v w" with w in millionths. */
static int parse_city_arc(const char *s, uint64_t *u, uint64_t *v, int64_t *w)
{
    if (parse_u64(s, &s, u) < 0 || parse_u64(s, &s, v) < 0)
        return GL_EPROTO;
    if (roads_parse_micro(skip_ws(s), &s, w) < 0 || !at_eol(s))
        return GL_EPROTO;
    return 0;
}

int roads_load_city(const char *dir, const char *city, roads_metric_t metric, graph_t **out)
{
    if (!dir || !city || !out || (metric != ROADS_COST_TIME && metric != ROADS_COST_LENGTH))
        return GL_EINVAL;
    char pt[2048], pd[2048], pc[2048];
    if (snprintf(pt, sizeof(pt), "%s/%s.road-t.tar.gz", dir, city) >= (int)sizeof(pt) ||
        snprintf(pd, sizeof(pd), "%s/%s.road-d.tar.gz", dir, city) >= (int)sizeof(pd) ||
        snprintf(pc, sizeof(pc), "%s/%s.co.tar.gz", dir, city) >= (int)sizeof(pc))
        return GL_EINVAL;
    uint32_t n = 0;
    double *lat = NULL, *lon = NULL;
    int rc = read_city_co(pc, &n, &lat, &lon);
    if (rc < 0)
        return rc;

    stream_t st, sd;
    edges_t e = {0};
    rc = stream_open(&st, pt);
    if (rc < 0) {
        free(lat);
        free(lon);
        return rc;
    }
    rc = stream_open(&sd, pd);
    if (rc < 0) {
        stream_close(&st);
        free(lat);
        free(lon);
        return rc;
    }
    /* The two files hold the same arcs in the same line order: read them in lockstep. */
    char bt[LINE_MAX_LEN], bd[LINE_MAX_LEN];
    for (;;) {
        int ht = stream_line(&st, bt, sizeof(bt)), hd = stream_line(&sd, bd, sizeof(bd));
        if (!ht && !hd)
            break;
        if (ht != hd) {
            rc = bad(&st, "road-t and road-d differ in length");
            break;
        }
        if (bt[0] == '#' || bd[0] == '#') {
            if (bt[0] != bd[0]) {
                rc = bad(&st, "road-t and road-d headers differ");
                break;
            }
            continue;
        }
        if (at_eol(bt) && at_eol(bd))
            continue;
        uint64_t u, v, u2, v2;
        int64_t t, d;
        if (parse_city_arc(bt, &u, &v, &t) < 0) {
            rc = bad(&st, "expected \"u v seconds\"");
            break;
        }
        if (parse_city_arc(bd, &u2, &v2, &d) < 0) {
            rc = bad(&sd, "expected \"u v metres\"");
            break;
        }
        if (u != u2 || v != v2 || u >= n || v >= n) {
            rc = bad(&st, "arc differs from road-d or vertex out of range");
            break;
        }
        graph_edge_t x = {.from = (uint32_t)u,
                          .to = (uint32_t)v,
                          .cost = metric == ROADS_COST_TIME ? t : d,
                          .length_m = (double)d / 1e6};
        if ((rc = edges_push(&e, &x)) < 0)
            break;
    }
    int c1 = stream_close(&st), c2 = stream_close(&sd);
    if (rc == 0)
        rc = c1 < 0 ? c1 : c2;
    if (rc == 0) {
        rc = graph_new(n, lat, lon, e.a, e.n, NULL, out);
        if (rc < 0)
            LOG_ERR("roads", "%s: cannot build the graph: %s", city, gl_strerror(rc));
    }
    free(e.a);
    free(lat);
    free(lon);
    return rc;
}

/* ---- DIMACS --------------------------------------------------------------------------------- */

/* Reads a .gr: fills *n, and the arcs (0-based) with cost = weight. */
static int read_dimacs_gr(const char *path, uint32_t *n_out, edges_t *e)
{
    stream_t st;
    int rc = stream_open(&st, path);
    if (rc < 0)
        return rc;
    char buf[LINE_MAX_LEN];
    uint64_t n = 0;
    while (stream_line(&st, buf, sizeof(buf))) {
        const char *s = buf;
        if (buf[0] == 'c' || at_eol(buf))
            continue;
        if (buf[0] == 'p') {
            uint64_t m;
            s = skip_ws(buf + 1);
            if (strncmp(s, "sp", 2) != 0 || parse_u64(s + 2, &s, &n) < 0 ||
                parse_u64(s, &s, &m) < 0 || n >= GRAPH_NONE) {
                rc = bad(&st, "expected \"p sp N M\"");
                break;
            }
            continue;
        }
        uint64_t u, v;
        int64_t w;
        if (buf[0] != 'a' || parse_u64(buf + 1, &s, &u) < 0 || parse_u64(s, &s, &v) < 0 ||
            parse_i64(s, &s, &w) < 0 || !at_eol(s) || w < 0) {
            rc = bad(&st, "expected \"a U V W\"");
            break;
        }
        if (u < 1 || v < 1 || u > n || v > n) {
            rc = bad(&st, "node id out of range (or arc before the p line)");
            break;
        }
        graph_edge_t x = {.from = (uint32_t)(u - 1), .to = (uint32_t)(v - 1), .cost = w};
        if ((rc = edges_push(e, &x)) < 0)
            break;
    }
    int crc = stream_close(&st);
    if (rc == 0)
        rc = crc;
    *n_out = (uint32_t)n;
    return rc;
}

static int read_dimacs_co(const char *path, uint32_t n, double *lat, double *lon)
{
    stream_t st;
    int rc = stream_open(&st, path);
    if (rc < 0)
        return rc;
    char buf[LINE_MAX_LEN];
    uint32_t seen = 0;
    while (stream_line(&st, buf, sizeof(buf))) {
        if (buf[0] != 'v')
            continue;
        const char *s;
        uint64_t id;
        int64_t x, y;
        if (parse_u64(buf + 1, &s, &id) < 0 || parse_i64(s, &s, &x) < 0 ||
            parse_i64(s, &s, &y) < 0 || id < 1 || id > n) {
            rc = bad(&st, "expected \"v ID X Y\"");
            break;
        }
        lon[id - 1] = (double)x / 1e6;
        lat[id - 1] = (double)y / 1e6;
        seen++;
    }
    int crc = stream_close(&st);
    if (rc == 0)
        rc = crc;
    if (rc == 0 && seen != n) {
        LOG_ERR("roads", "%s: %u coordinates for %u nodes", path, seen, n);
        rc = GL_EPROTO;
    }
    return rc;
}

int roads_load_dimacs(const char *gr_path, const char *length_gr_path, const char *co_path,
                      graph_t **out)
{
    if (!gr_path || !out)
        return GL_EINVAL;
    edges_t e = {0}, el = {0};
    double *lat = NULL, *lon = NULL;
    uint32_t n = 0, nl = 0;
    int rc = read_dimacs_gr(gr_path, &n, &e);
    if (rc == 0 && length_gr_path) {
        rc = read_dimacs_gr(length_gr_path, &nl, &el);
        if (rc == 0 && (nl != n || el.n != e.n)) {
            LOG_ERR("roads", "%s does not match %s", length_gr_path, gr_path);
            rc = GL_EPROTO;
        }
        for (size_t i = 0; rc == 0 && i < e.n; i++) {
            if (el.a[i].from != e.a[i].from || el.a[i].to != e.a[i].to) {
                LOG_ERR("roads", "%s: arc %zu differs from %s", length_gr_path, i + 1, gr_path);
                rc = GL_EPROTO;
            } else {
                e.a[i].length_m = (double)el.a[i].cost / 10.0; /* decimetres */
            }
        }
    }
    if (rc == 0 && co_path) {
        lat = malloc(((size_t)n + 1) * sizeof(double));
        lon = malloc(((size_t)n + 1) * sizeof(double));
        rc = lat && lon ? read_dimacs_co(co_path, n, lat, lon) : GL_ENOMEM;
    }
    if (rc == 0)
        rc = graph_new(n, lat, lon, e.a, e.n, NULL, out);
    free(e.a);
    free(el.a);
    free(lat);
    free(lon);
    return rc;
}
