/*
 * Unit tests of vehicle/gpsd_client.c, the gpsd JSON client.
 *
 * "Parse" decodes hand-written TPV objects in gpsd's format (fixes, no-fix mode 0/1, missing
 * fields, wrong types, other classes, broken JSON) and every TPV line of gpsd's own regression
 * outputs, the .chk files of $GL_SHARED_DATA/nmea (skipped with a message when absent): a TPV
 * with mode >= 2 and a time becomes a fix with gpsd's lat, lon and altitude, every other one is
 * refused.
 * "Address" covers HOST[:PORT]. "Connection" runs a fake gpsd on a local TCP port (a test peer
 * speaking gpsd's side of the protocol): the client must send ?WATCH, deliver the fixes, refuse
 * the no-fix TPV, and reconnect (sending ?WATCH again) after the peer closes the connection.
 */
#include "gpsd_client.h"

#include "err.h"

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *s, nmea_fix_t *f)
{
    return gpsd_parse_tpv(s, strlen(s), f);
}

/* ---- Parse ------------------------------------------------------------------------------ */

START_TEST(test_parse_fix)
{
    nmea_fix_t f;
    /* The TPV example of gpsd's JSON protocol documentation. */
    const char *doc =
        "{\"class\":\"TPV\",\"device\":\"/dev/pts/1\",\"time\":\"2005-06-08T10:34:48.283Z\","
        "\"ept\":0.005,\"lat\":46.498293369,\"lon\":7.567411672,\"alt\":1343.127,"
        "\"eph\":36.000,\"epv\":32.321,\"track\":10.3788,\"speed\":0.091,"
        "\"climb\":-0.085,\"mode\":3}";
    ck_assert_int_eq(parse(doc, &f), 0);
    ck_assert_int_eq(f.time_ms, 1118226888283LL);
    ck_assert_int_eq(f.tod_ms, (10 * 3600 + 34 * 60 + 48) * 1000 + 283);
    ck_assert_double_eq(f.lat, 46.498293369);
    ck_assert_double_eq(f.lon, 7.567411672);
    ck_assert_double_eq(f.alt_m, 1343.127);
    ck_assert_double_eq(f.speed_mps, 0.091);
    ck_assert_double_eq(f.course_deg, 10.3788);
    ck_assert_uint_eq(f.flags, NMEA_FIX_DATE | NMEA_FIX_SPEED | NMEA_FIX_COURSE | NMEA_FIX_ALT);

    /* 2D, newer gpsd: altMSL wins over altHAE; no speed or track. */
    ck_assert_int_eq(parse("{\"class\":\"TPV\",\"mode\":2,\"time\":\"2026-11-28T08:00:00.000Z\","
                           "\"lat\":-26.5,\"lon\":116.25,\"altHAE\":20.5,\"altMSL\":12.25}",
                           &f),
                     0);
    ck_assert_double_eq(f.alt_m, 12.25);
    ck_assert_uint_eq(f.flags, NMEA_FIX_DATE | NMEA_FIX_ALT);
    ck_assert_double_eq(f.lat, -26.5);
}
END_TEST

START_TEST(test_parse_refused)
{
    nmea_fix_t f;
    static const struct {
        const char *json;
        int rc;
    } cases[] = {
        {"{\"class\":\"TPV\",\"mode\":1}", GL_ENOENT},
        {"{\"class\":\"TPV\",\"mode\":1,\"time\":\"2026-11-28T08:00:00Z\",\"lat\":1,\"lon\":2}",
         GL_ENOENT}, /* mode 1 says no fix even with a position */
        {"{\"class\":\"TPV\",\"mode\":0,\"time\":\"2026-11-28T08:00:00Z\",\"lat\":1,\"lon\":2}",
         GL_ENOENT},
        {"{\"class\":\"TPV\",\"time\":\"2026-11-28T08:00:00Z\",\"lat\":1,\"lon\":2}", GL_ENOENT},
        {"{\"class\":\"TPV\",\"mode\":3,\"lat\":1,\"lon\":2}", GL_ENOENT}, /* no time */
        {"{\"class\":\"TPV\",\"mode\":3,\"time\":\"2026-11-28T08:00:00Z\",\"lat\":1}", GL_ENOENT},
        {"{\"class\":\"TPV\",\"mode\":\"3\",\"time\":\"2026-11-28T08:00:00Z\",\"lat\":1,\"lon\":2}",
         GL_EPROTO},
        {"{\"class\":\"TPV\",\"mode\":3,\"time\":\"yesterday\",\"lat\":1,\"lon\":2}", GL_EPROTO},
        {"{\"class\":\"TPV\",\"mode\":3,\"time\":\"2026-11-28T08:00:00Z\",\"lat\":91,\"lon\":2}",
         GL_EPROTO},
        {"{\"class\":\"TPV\",\"mode\":3,\"time\":\"2026-11-28T08:00:00Z\",\"lat\":1,\"lon\":\"2\"}",
         GL_EPROTO},
        {"{\"class\":\"TPV\",\"mode\":3,\"time\":\"2026-11-28T08:00:00Z\",\"lat\":1,\"lon\":2,"
         "\"speed\":-4}",
         GL_EPROTO},
        {"{\"class\":\"TPV\",\"mode\":7,\"time\":\"2026-11-28T08:00:00Z\",\"lat\":1,\"lon\":2}",
         GL_EPROTO},
        {"{\"class\":\"SKY\",\"satellites\":[]}", GL_EAGAIN},
        {"{\"class\":\"VERSION\",\"release\":\"3.22\",\"proto_major\":3,\"proto_minor\":14}",
         GL_EAGAIN},
        {"{\"mode\":3}", GL_EPROTO},
        {"[1,2]", GL_EPROTO},
        {"{\"class\":\"TPV\",", GL_EPROTO},
        {"", GL_EPROTO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = parse(cases[i].json, &f);
        if (rc != cases[i].rc)
            ck_abort_msg("%s: got %d, want %d", cases[i].json, rc, cases[i].rc);
    }
}
END_TEST

START_TEST(test_parse_gpsd_regressions)
{
    DIR *d = opendir(GL_SHARED_DATA "/nmea");
    if (!d) {
        printf("check_gpsd_client: SKIP gpsd regression TPVs: %s/nmea absent\n", GL_SHARED_DATA);
        return;
    }
    size_t tpv = 0, fixes = 0, no_fix = 0;
    struct dirent *e;
    char line[8192];
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".chk") != 0)
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/nmea/%s", GL_SHARED_DATA, e->d_name);
        FILE *f = fopen(path, "r");
        ck_assert_ptr_nonnull(f);
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "{\"class\":\"TPV\"", 14) != 0)
                continue;
            tpv++;
            /* What gpsd's own output says, read by string search, not by our parser. */
            const char *m = strstr(line, "\"mode\":");
            int mode = m ? atoi(m + 7) : 0;
            int has_time = strstr(line, "\"time\":\"") != NULL;
            int has_pos = strstr(line, "\"lat\":") && strstr(line, "\"lon\":");
            nmea_fix_t fix;
            int rc = gpsd_parse_tpv(line, strlen(line), &fix);
            if (mode >= 2 && has_time && has_pos) {
                if (rc != 0)
                    ck_abort_msg("%s: refused (%d): %s", e->d_name, rc, line);
                ck_assert_double_eq(fix.lat, strtod(strstr(line, "\"lat\":") + 6, NULL));
                ck_assert_double_eq(fix.lon, strtod(strstr(line, "\"lon\":") + 6, NULL));
                const char *alt = strstr(line, "\"altMSL\":");
                if (alt)
                    ck_assert_double_eq(fix.alt_m, strtod(alt + 9, NULL));
                fixes++;
            } else {
                if (rc != GL_ENOENT)
                    ck_abort_msg("%s: no-fix TPV gave %d: %s", e->d_name, rc, line);
                no_fix++;
            }
        }
        fclose(f);
    }
    closedir(d);
    printf("check_gpsd_client: gpsd regression outputs: %zu TPV, %zu fixes, %zu without a fix\n",
           tpv, fixes, no_fix);
    ck_assert_uint_gt(fixes, 0);
    ck_assert_uint_gt(no_fix, 0);
}
END_TEST

START_TEST(test_address)
{
    struct sockaddr_storage ss;
    ck_assert_int_eq(gpsd_parse_address("", &ss), 0);
    ck_assert_int_eq(ss.ss_family, AF_INET);
    ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 2947);
    ck_assert_int_eq(gpsd_parse_address("localhost:3000", &ss), 0);
    ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 3000);
    ck_assert_int_eq(gpsd_parse_address("[::1]:2948", &ss), 0);
    ck_assert_int_eq(ss.ss_family, AF_INET6);
    ck_assert_int_eq(gpsd_parse_address("10.1.2.3", &ss), 0);
    ck_assert_int_eq(gpsd_parse_address("gps.example.com", &ss), GL_EINVAL);
    ck_assert_int_eq(gpsd_parse_address("127.0.0.1:0", &ss), GL_EINVAL);
    ck_assert_int_eq(gpsd_parse_address("127.0.0.1:70000", &ss), GL_EINVAL);
    ck_assert_int_eq(gpsd_parse_address("127.0.0.1:x", &ss), GL_EINVAL);
    ck_assert_int_eq(gpsd_parse_address("[::1", &ss), GL_EINVAL);
}
END_TEST

/* ---- Connection: a fake gpsd ------------------------------------------------------------ */

static uv_loop_t loop;
static uv_tcp_t server;
static uv_timer_t guard;
static gpsd_client_t *client;
static int n_accepted, n_watch, n_fixes, client_freed;
static nmea_fix_t fixes[4];

struct peer {
    uv_tcp_t tcp;
    char buf[1024];
    size_t len;
    int session; /* 1: first connection, 2: after the reconnect */
    uv_write_t w;
};

static const char session1[] =
    "{\"class\":\"VERSION\",\"release\":\"3.22\",\"rev\":\"3.22\",\"proto_major\":3,"
    "\"proto_minor\":14}\n"
    "{\"class\":\"TPV\",\"device\":\"/dev/ttyACM0\",\"mode\":1}\n"
    "{\"class\":\"TPV\",\"device\":\"/dev/ttyACM0\",\"mode\":3,\"time\":"
    "\"2026-11-28T08:00:01.000Z\",\"lat\":26.2670,\"lon\":116.6540,\"altMSL\":210.5,"
    "\"speed\":12.5,\"track\":90.0}\n"
    "{\"class\":\"SKY\",\"device\":\"/dev/ttyACM0\",\"satellites\":[]}\n"
    "{\"class\":\"TPV\",\"mode\":3,\"lat\":\n"
    "{\"class\":\"TPV\",\"device\":\"/dev/ttyACM0\",\"mode\":2,\"time\":"
    "\"2026-11-28T08:00:02.000Z\",\"lat\":26.2671,";
/* The TPV above is split across writes: the client must join it. */
static const char session1_tail[] = "\"lon\":116.6541}\r\n";
static const char session2[] =
    "{\"class\":\"TPV\",\"mode\":3,\"time\":\"2026-11-28T08:00:09.000Z\","
    "\"lat\":26.2700,\"lon\":116.6600}\n";

static void on_peer_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_client_freed(void *ctx)
{
    client_freed = 1;
    uv_close((uv_handle_t *)&server, NULL);
    uv_close((uv_handle_t *)&guard, NULL);
}

static void on_fix(const nmea_fix_t *f, void *ctx)
{
    ck_assert_int_lt(n_fixes, 4);
    fixes[n_fixes++] = *f;
    if (n_fixes == 3)
        gpsd_client_close(client, on_client_freed, NULL);
}

static void on_peer_written(uv_write_t *w, int status)
{
    struct peer *p = w->data;
    if (p->session == 1) /* everything sent: hang up, as a restarting gpsd does */
        uv_close((uv_handle_t *)&p->tcp, on_peer_closed);
}

static void peer_send(struct peer *p)
{
    uv_buf_t b[2];
    unsigned nb = 0;
    if (p->session == 1) {
        b[nb++] = uv_buf_init((char *)session1, sizeof session1 - 1);
        b[nb++] = uv_buf_init((char *)session1_tail, sizeof session1_tail - 1);
    } else {
        b[nb++] = uv_buf_init((char *)session2, sizeof session2 - 1);
    }
    p->w.data = p;
    ck_assert_int_eq(uv_write(&p->w, (uv_stream_t *)&p->tcp, b, nb, on_peer_written), 0);
}

static void peer_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    struct peer *p = h->data;
    b->base = p->buf + p->len;
    b->len = sizeof p->buf - 1 - p->len;
}

static void peer_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct peer *p = s->data;
    if (n < 0) {
        if (!uv_is_closing((uv_handle_t *)&p->tcp))
            uv_close((uv_handle_t *)&p->tcp, on_peer_closed);
        return;
    }
    p->len += (size_t)n;
    p->buf[p->len] = '\0';
    if (strchr(p->buf, '\n')) {
        ck_assert_str_eq(p->buf, GPSD_WATCH_REQUEST);
        n_watch++;
        p->len = 0;
        peer_send(p); /* and keep reading, to see the client hang up */
    }
}

static void on_peer(uv_stream_t *srv, int status)
{
    ck_assert_int_eq(status, 0);
    struct peer *p = calloc(1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    uv_tcp_init(&loop, &p->tcp);
    p->tcp.data = p;
    p->session = ++n_accepted;
    ck_assert_int_eq(uv_accept(srv, (uv_stream_t *)&p->tcp), 0);
    ck_assert_int_eq(uv_read_start((uv_stream_t *)&p->tcp, peer_alloc, peer_read), 0);
}

static void on_guard(uv_timer_t *t)
{
    ck_abort_msg("timed out: %d connections, %d watches, %d fixes", n_accepted, n_watch, n_fixes);
}

START_TEST(test_connection_and_reconnect)
{
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", 0, &sa);
    uv_tcp_init(&loop, &server);
    ck_assert_int_eq(uv_tcp_bind(&server, (struct sockaddr *)&sa, 0), 0);
    ck_assert_int_eq(uv_listen((uv_stream_t *)&server, 4, on_peer), 0);
    struct sockaddr_in bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &blen);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", ntohs(bound.sin_port));
    uv_timer_init(&loop, &guard);
    uv_timer_start(&guard, on_guard, 10000, 0);

    gpsd_client_config_t cfg = {.address = addr, .backoff_min_ms = 50, .backoff_max_ms = 200};
    ck_assert_int_eq(gpsd_client_new(&loop, &cfg, on_fix, NULL, &client), 0);
    gpsd_client_stats_t st;
    gpsd_client_get_stats(client, &st);
    ck_assert_uint_eq(st.connects, 0); /* connecting happens on the loop */
    /* Stats are read just before the third fix closes the client. */
    uv_run(&loop, UV_RUN_DEFAULT);

    ck_assert(client_freed);
    ck_assert_int_eq(n_accepted, 2);
    ck_assert_int_eq(n_watch, 2); /* ?WATCH again after the reconnect */
    ck_assert_int_eq(n_fixes, 3);
    ck_assert_int_eq(fixes[0].time_ms, 1795852801000LL);
    ck_assert_double_eq(fixes[0].lat, 26.2670);
    ck_assert_double_eq(fixes[0].speed_mps, 12.5);
    ck_assert_double_eq(fixes[0].alt_m, 210.5);
    ck_assert_double_eq(fixes[1].lon, 116.6541); /* joined across writes, CRLF */
    ck_assert_uint_eq(fixes[1].flags, NMEA_FIX_DATE);
    ck_assert_int_eq(fixes[2].time_ms, 1795852809000LL);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* The stats of a client that sees the fake gpsd's first session and nothing else. */
static gpsd_client_stats_t seen;

static void on_fix_stats(const nmea_fix_t *f, void *ctx)
{
    if (++n_fixes == 2) {
        gpsd_client_get_stats(client, &seen);
        gpsd_client_close(client, on_client_freed, NULL);
    }
}

START_TEST(test_connection_counts)
{
    n_accepted = n_watch = n_fixes = client_freed = 0;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", 0, &sa);
    uv_tcp_init(&loop, &server);
    ck_assert_int_eq(uv_tcp_bind(&server, (struct sockaddr *)&sa, 0), 0);
    ck_assert_int_eq(uv_listen((uv_stream_t *)&server, 4, on_peer), 0);
    struct sockaddr_in bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &blen);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", ntohs(bound.sin_port));
    uv_timer_init(&loop, &guard);
    uv_timer_start(&guard, on_guard, 10000, 0);
    gpsd_client_config_t cfg = {.address = addr, .backoff_min_ms = 50};
    ck_assert_int_eq(gpsd_client_new(&loop, &cfg, on_fix_stats, NULL, &client), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_uint_eq(seen.connects, 1);
    ck_assert_uint_eq(seen.fixes, 2);
    ck_assert_uint_eq(seen.no_fix, 1);    /* mode 1 */
    ck_assert_uint_eq(seen.ignored, 2);   /* VERSION, SKY */
    ck_assert_uint_eq(seen.malformed, 1); /* the truncated object */
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

static void on_stop(uv_timer_t *t)
{
    uv_stop(&loop);
}

START_TEST(test_connection_refused_retries)
{
    /* Nothing listens: the client keeps retrying with backoff and closes cleanly. */
    n_fixes = client_freed = 0;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    uv_tcp_t probe;
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", 0, &sa);
    uv_tcp_init(&loop, &probe);
    ck_assert_int_eq(uv_tcp_bind(&probe, (struct sockaddr *)&sa, 0), 0);
    struct sockaddr_in bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&probe, (struct sockaddr *)&bound, &blen);
    uv_close((uv_handle_t *)&probe, NULL); /* a port that was free a moment ago */
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", ntohs(bound.sin_port));
    gpsd_client_config_t cfg = {.address = addr, .backoff_min_ms = 10, .backoff_max_ms = 40};
    ck_assert_int_eq(gpsd_client_new(&loop, &cfg, on_fix, NULL, &client), 0);
    uv_timer_init(&loop, &guard);
    uv_timer_start(&guard, on_guard, 10000, 0);
    uv_timer_t stop;
    uv_timer_init(&loop, &stop);
    uv_timer_start(&stop, on_stop, 300, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    gpsd_client_stats_t st;
    gpsd_client_get_stats(client, &st);
    /* 10, 20, 40, 40, ... ms: about 8 attempts in 300 ms; at least 4 whatever the load. */
    ck_assert_uint_ge(st.failures, 4);
    ck_assert_uint_le(st.failures, 31);
    ck_assert_uint_eq(st.connects, 0);
    uv_close((uv_handle_t *)&stop, NULL);
    uv_tcp_init(&loop, &server); /* on_client_freed closes it */
    gpsd_client_close(client, on_client_freed, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert(client_freed);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

static Suite *gpsd_suite(void)
{
    Suite *s = suite_create("gpsd_client");
    TCase *p = tcase_create("Parse");
    tcase_add_test(p, test_parse_fix);
    tcase_add_test(p, test_parse_refused);
    tcase_add_test(p, test_parse_gpsd_regressions);
    tcase_add_test(p, test_address);
    suite_add_tcase(s, p);
    TCase *c = tcase_create("Connection");
    tcase_add_test(c, test_connection_and_reconnect);
    tcase_add_test(c, test_connection_counts);
    tcase_add_test(c, test_connection_refused_retries);
    tcase_set_timeout(c, 30);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(gpsd_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
