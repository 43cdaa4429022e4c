/*
 * Routino driver for bench/route.c: the graph written out as OSM XML, planetsplitter, one
 * routino-router process per query, its route re-costed on our graph. See routino.h for the
 * choices (maxspeed per way, --prune-none, --exact-nodes-only, the two timings).
 */
#include "routino.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define ROUTER "routino-router"
#define SPLITTER "planetsplitter"
#define COORD_TOL_DEG 2e-6

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int on_path(const char *prog)
{
    const char *path = getenv("PATH");
    char buf[4096];
    while (path != NULL && *path != '\0') {
        size_t len = strcspn(path, ":");
        snprintf(buf, sizeof buf, "%.*s/%s", (int)len, path, prog);
        if (access(buf, X_OK) == 0)
            return 1;
        path += len + (path[len] == ':');
    }
    return 0;
}

int routino_available(void)
{
    return on_path(ROUTER) && on_path(SPLITTER);
}

/* Great-circle distance in metres (spherical, R = 6371 km). */
static double distance_m(double lat1, double lon1, double lat2, double lon2)
{
    const double r = 6371008.8, d2r = M_PI / 180.0;
    double dlat = (lat2 - lat1) * d2r, dlon = (lon2 - lon1) * d2r;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * d2r) * cos(lat2 * d2r) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * r * asin(fmin(1.0, sqrt(a)));
}

/* maxspeed of arc a in whole km/h (1..255), what Routino stores. */
static int arc_kmh(const graph_t *g, uint32_t a)
{
    uint32_t u = g->arc_tail[a], v = g->arc_head[a];
    double d = distance_m(g->lat[u], g->lon[u], g->lat[v], g->lon[v]);
    double s = (double)g->arc_cost[a] / GRAPH_COST_US_PER_S;
    if (s <= 0 || d <= 0)
        return 255;
    long k = lround(d / s * 3.6);
    return k < 1 ? 1 : k > 255 ? 255 : (int)k;
}

/* Runs argv with stdout and stderr to `out_path`, or to a pipe read into *out when out_path is
 * NULL. Returns the exit status (or -1); *wall_ms gets spawn-to-exit time. */
static int run(char *const argv[], const char *out_path, char **out, size_t *out_len,
               double *wall_ms)
{
    posix_spawn_file_actions_t fa;
    int pfd[2] = {-1, -1};
    if (out_path == NULL && pipe2(pfd, O_CLOEXEC) != 0)
        return -1;
    posix_spawn_file_actions_init(&fa);
    if (out_path != NULL) {
        posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    } else {
        posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
        posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
    }
    pid_t pid;
    double t0 = now_ms();
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (pfd[1] >= 0)
        close(pfd[1]);
    if (rc != 0) {
        if (pfd[0] >= 0)
            close(pfd[0]);
        fprintf(stderr, "bench_route: cannot run %s: %s\n", argv[0], strerror(rc));
        return -1;
    }
    size_t cap = 0, len = 0;
    char *buf = NULL;
    if (pfd[0] >= 0) {
        for (;;) {
            if (cap - len < 4096) {
                size_t ncap = cap ? cap * 2 : 65536;
                char *nb = realloc(buf, ncap + 1);
                if (nb == NULL)
                    break;
                buf = nb;
                cap = ncap;
            }
            ssize_t k = read(pfd[0], buf + len, cap - len);
            if (k <= 0)
                break;
            len += (size_t)k;
        }
        close(pfd[0]);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        ;
    *wall_ms = now_ms() - t0;
    if (buf != NULL)
        buf[len] = '\0';
    if (out != NULL) {
        *out = buf;
        *out_len = len;
    } else {
        free(buf);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int routino_prepare(const graph_t *g, const char *dir, double *xml_ms, double *split_ms)
{
    char xml[1200], log[1200], dir_arg[1200], tmp_arg[1200];
    snprintf(xml, sizeof xml, "%s/graph.osm", dir);
    snprintf(log, sizeof log, "%s/planetsplitter.log", dir);
    if (g->lat == NULL) {
        fprintf(stderr, "bench_route: Routino needs coordinates\n");
        return -1;
    }
    double t0 = now_ms();
    FILE *f = fopen(xml, "w");
    if (f == NULL) {
        perror(xml);
        return -1;
    }
    static char iobuf[1 << 20];
    setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
    fprintf(f, "<?xml version='1.0' encoding='UTF-8'?>\n<osm version='0.6' generator='goldline "
               "bench_route'>\n");
    for (uint32_t v = 0; v < g->n_vertices; v++)
        fprintf(f, "<node id='%" PRIu32 "' lat='%.7f' lon='%.7f' version='1'/>\n", v + 1, g->lat[v],
                g->lon[v]);
    uint32_t way = 0;
    for (uint32_t a = 0; a < g->n_arcs; a++) {
        uint32_t u = g->arc_tail[a], v = g->arc_head[a];
        if (u == v)
            continue;
        /* The opposite arc with the same cost makes it one two-way way, written once. */
        uint32_t back = graph_find_arc(g, v, u);
        int twoway = back != GRAPH_NONE && g->arc_cost[back] == g->arc_cost[a];
        if (twoway && (u > v || graph_find_arc(g, u, v) != a))
            continue;
        way++;
        fprintf(f,
                "<way id='%" PRIu32 "' version='1'><nd ref='%" PRIu32 "'/><nd ref='%" PRIu32 "'/>"
                "<tag k='highway' v='unclassified'/><tag k='name' v='r%" PRIu32 "'/>"
                "<tag k='maxspeed' v='%d'/>%s</way>\n",
                way, u + 1, v + 1, way, arc_kmh(g, a), twoway ? "" : "<tag k='oneway' v='yes'/>");
    }
    fprintf(f, "</osm>\n");
    if (fclose(f) != 0) {
        perror(xml);
        return -1;
    }
    *xml_ms = now_ms() - t0;
    snprintf(dir_arg, sizeof dir_arg, "--dir=%s", dir);
    snprintf(tmp_arg, sizeof tmp_arg, "--tmpdir=%s", dir);
    char *argv[] = {SPLITTER,     dir_arg,     tmp_arg, "--prune-none",
                    "--loggable", "--logtime", xml,     NULL};
    int rc = run(argv, log, NULL, NULL, split_ms);
    unlink(xml);
    if (rc != 0) {
        fprintf(stderr, "bench_route: planetsplitter failed (%d); see %s\n", rc, log);
        return -1;
    }
    return 0;
}

/* "[  0:00.000701] Finish Program" -> 0.701 ms. */
static double finish_ms(const char *out)
{
    const char *p = strstr(out, "] Finish Program");
    if (p == NULL)
        return NAN;
    const char *b = p;
    while (b > out && *b != '[')
        b--;
    int min = 0;
    double sec = 0;
    if (sscanf(b, "[ %d:%lf]", &min, &sec) != 2)
        return NAN;
    return (min * 60.0 + sec) * 1e3;
}

int routino_route(const char *dir, double lat1, double lon1, double lat2, double lon2,
                  int want_path, routino_run_t *r)
{
    char dir_arg[1200], a1[48], o1[48], a2[48], o2[48];
    memset(r, 0, sizeof *r);
    r->own_ms = NAN;
    snprintf(dir_arg, sizeof dir_arg, "--dir=%s", dir);
    snprintf(a1, sizeof a1, "--lat1=%.7f", lat1);
    snprintf(o1, sizeof o1, "--lon1=%.7f", lon1);
    snprintf(a2, sizeof a2, "--lat2=%.7f", lat2);
    snprintf(o2, sizeof o2, "--lon2=%.7f", lon2);
    char *argv[] = {ROUTER,
                    dir_arg,
                    "--quickest",
                    "--exact-nodes-only",
                    "--speed-unclassified=255",
                    a1,
                    o1,
                    a2,
                    o2,
                    want_path ? "--output-text-all" : "--output-none",
                    want_path ? "--output-stdout" : "--logtime",
                    NULL};
    char *out = NULL;
    size_t len = 0;
    int rc = run(argv, NULL, &out, &len, &r->wall_ms);
    if (out == NULL)
        return -1;
    if (!want_path) {
        r->own_ms = finish_ms(out);
        r->routed = rc == 0 && strstr(out, "Routed OK") != NULL;
        free(out);
        return 0;
    }
    size_t cap = 0;
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        double la, lo, tot;
        if (line[0] == '#' || sscanf(line, "%lf %lf %*s %*s %*f %*f %*f %lf", &la, &lo, &tot) != 3)
            continue;
        if (r->n_points == cap) {
            cap = cap ? cap * 2 : 256;
            double *nla = realloc(r->lat, cap * sizeof *nla);
            if (nla != NULL)
                r->lat = nla;
            double *nlo = realloc(r->lon, cap * sizeof *nlo);
            if (nlo != NULL)
                r->lon = nlo;
            if (nla == NULL || nlo == NULL) {
                free(out);
                routino_run_free(r);
                return -1;
            }
        }
        r->lat[r->n_points] = la;
        r->lon[r->n_points] = lo;
        r->n_points++;
        r->total_min = tot;
    }
    free(out);
    r->routed = rc == 0 && r->n_points > 0;
    return 0;
}

void routino_run_free(routino_run_t *r)
{
    free(r->lat);
    free(r->lon);
    r->lat = r->lon = NULL;
    r->n_points = 0;
}

int64_t routino_recost(const graph_t *g, uint32_t from, const double *lat, const double *lon,
                       size_t n, uint32_t *end)
{
    uint32_t v = from;
    int64_t cost = 0;
    for (size_t i = 1; i < n; i++) {
        uint32_t best = GRAPH_NONE;
        for (uint32_t a = g->out_first[v]; a < g->out_first[v + 1]; a++) {
            uint32_t w = g->arc_head[a];
            if (fabs(g->lat[w] - lat[i]) <= COORD_TOL_DEG &&
                fabs(g->lon[w] - lon[i]) <= COORD_TOL_DEG &&
                (best == GRAPH_NONE || g->arc_cost[a] < g->arc_cost[best]))
                best = a;
        }
        if (best == GRAPH_NONE)
            return -1;
        cost += g->arc_cost[best];
        v = g->arc_head[best];
    }
    *end = v;
    return cost;
}

void routino_cleanup(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char path[1400];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}
