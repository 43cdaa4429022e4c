/*
 * Unit tests of vehicle/monitor_bridge.c, the monitor-bridge line protocol.
 *
 * "Parse" drives monitor_line_parse() with good lines of each command and with bad ones, each
 * refused with the reason naming the field. "Socket" runs the server on a fresh loop with a
 * libuv client on the same loop: pipelined lines get their answers in order, the callback sees
 * exactly the good NUM/ECG lines, a callback error becomes an "err" answer, and a line over the
 * limit is refused and the connection closed.
 */
#include "monitor_bridge.h"

#include "err.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static monitor_msg_t msg;

static int parse(const char *text, char *err)
{
    char line[4096];
    snprintf(line, sizeof line, "%s", text);
    return monitor_line_parse(line, &msg, err, 200);
}

/* ---- Parse ------------------------------------------------------------------------------ */

START_TEST(test_parse_num)
{
    char err[200];
    ck_assert_int_eq(parse("NUM 147842 72 1764316800123", err), 0);
    ck_assert_int_eq(msg.kind, MONITOR_MSG_NUM);
    ck_assert_uint_eq(msg.mdc_code, 147842);
    ck_assert(msg.has_value);
    ck_assert_double_eq(msg.value, 72.0);
    ck_assert_int_eq(msg.at_ms, 1764316800123LL);

    ck_assert_int_eq(parse("NUM  150456   -\r", err), 0); /* probe off, no time, CRLF */
    ck_assert(!msg.has_value);
    ck_assert_int_eq(msg.at_ms, 0);
    ck_assert_int_eq(parse("NUM 150364 36.85 -", err), 0);
    ck_assert_double_eq_tol(msg.value, 36.85, 1e-12);
}
END_TEST

START_TEST(test_parse_ecg)
{
    char err[200];
    ck_assert_int_eq(parse("ECG 500 2.5 - I,II,V1 10,12,15/20,21,-32768/0,32767,-1", err), 0);
    ck_assert_int_eq(msg.kind, MONITOR_MSG_ECG);
    ck_assert_uint_eq(msg.rate_hz, 500);
    ck_assert_double_eq(msg.uv_per_lsb, 2.5);
    ck_assert_int_eq(msg.at_ms, 0);
    ck_assert_int_eq(msg.n_leads, 3);
    ck_assert_str_eq(msg.lead_names[2], "V1");
    ck_assert_uint_eq(msg.lead_codes[0], 131329);
    ck_assert_uint_eq(msg.lead_codes[2], 131331);
    ck_assert_uint_eq(msg.per_lead, 3);
    const int16_t want[9] = {10, 12, 15, 20, 21, -32768, 0, 32767, -1};
    ck_assert_mem_eq(msg.samples, want, sizeof want);

    ck_assert_int_eq(parse("ECG 250 5 1764316800000 MLII 1", err), 0);
    ck_assert_int_eq(msg.at_ms, 1764316800000LL);
    ck_assert_uint_eq(msg.lead_codes[0], 131330); /* MLII is lead II */
    ck_assert_int_eq(parse("PING", err), 0);
    ck_assert_int_eq(msg.kind, MONITOR_MSG_PING);
}
END_TEST

START_TEST(test_parse_refused)
{
    static const struct {
        const char *line, *reason;
    } bad[] = {
        {"", "empty line"},
        {"HELLO", "unknown command 'HELLO'"},
        {"num 147842 72", "unknown command 'num'"},
        {"NUM 147842", "usage NUM"},
        {"NUM 147842 72 1 2", "usage NUM"},
        {"NUM abc 72", "code 'abc'"},
        {"NUM -5 72", "code '-5'"},
        {"NUM 4294967296 72", "code '4294967296'"},
        {"NUM 147842 7x2", "value '7x2'"},
        {"NUM 147842 nan", "value 'nan'"},
        {"NUM 147842 inf", "value 'inf'"},
        {"NUM 147842 0x10", "value '0x10'"},
        {"NUM 147842 72 yesterday", "time 'yesterday'"},
        {"NUM 147842 72 0", "time '0'"},
        {"NUM 147842\t72", "not printable"},
        {"ECG 500 2.5 - I", "usage ECG"},
        {"ECG 0 2.5 - I 1", "rate '0'"},
        {"ECG 500 0 - I 1", "uv_per_lsb '0'"},
        {"ECG 500 -1 - I 1", "uv_per_lsb '-1'"},
        {"ECG 500 2.5 soon I 1", "time 'soon'"},
        {"ECG 500 2.5 - I,II 1,2/3", "lead II has 1 samples, lead I has 2"},
        {"ECG 500 2.5 - I,II 1,2", "2 leads named, 1 sample lists"},
        {"ECG 500 2.5 - I 1/2", "more sample lists"},
        {"ECG 500 2.5 - I 1,40000", "sample '40000' of lead I"},
        {"ECG 500 2.5 - I 1,,2", "empty sample in lead I"},
        {"ECG 500 2.5 - I,II 1/", "empty sample in lead II"},
        {"ECG 500 2.5 - I,,V1 1/2/3", "empty lead name"},
        {"ECG 500 2.5 - AVERYLONGLEADNAME 1", "too long"},
        {"PING 1", "PING takes no fields"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[200] = "";
        int rc = parse(bad[i].line, err);
        if (rc != GL_EINVAL || !strstr(err, bad[i].reason))
            ck_abort_msg("'%s': rc %d, reason '%s', want '%s'", bad[i].line, rc, err,
                         bad[i].reason);
    }
}
END_TEST

START_TEST(test_parse_limits)
{
    /* 16 leads of 1000 samples is the most a line holds; one more sample is refused. */
    size_t cap = MONITOR_LINE_MAX * 2;
    char *line = malloc(cap);
    char err[200];
    for (int extra = 0; extra < 2; extra++) {
        size_t n = (size_t)snprintf(line, cap, "ECG 1000 1 - ");
        for (int l = 0; l < 1; l++)
            n += (size_t)snprintf(line + n, cap - n, "V%d", l + 1);
        n += (size_t)snprintf(line + n, cap - n, " ");
        for (int i = 0; i < MONITOR_ECG_MAX_SAMPLES + extra; i++)
            n += (size_t)snprintf(line + n, cap - n, "%s%d", i ? "," : "", i % 7 - 3);
        int rc = monitor_line_parse(line, &msg, err, sizeof err);
        ck_assert_int_eq(rc, extra ? GL_EINVAL : 0);
        if (!extra) {
            ck_assert_uint_eq(msg.per_lead, MONITOR_ECG_MAX_SAMPLES);
            ck_assert_int_eq(msg.samples[999], 999 % 7 - 3);
        } else {
            ck_assert_ptr_nonnull(strstr(err, "more than 1000 samples"));
        }
    }
    free(line);
}
END_TEST

/* ---- Socket ----------------------------------------------------------------------------- */

static uv_loop_t loop;
static char sock_path[108];
static monitor_bridge_t *bridge;
static uv_pipe_t client;
static uv_connect_t conn;
static char replies[8192];
static size_t replies_len;
static int got_num, got_ecg, eof_seen, bridge_closed;
static int16_t last_ecg_sample;

static int on_msg(const monitor_msg_t *m, void *ctx)
{
    if (m->kind == MONITOR_MSG_NUM) {
        got_num++;
        if (m->mdc_code == 150456 && !m->has_value)
            return GL_EAGAIN; /* the test's "unit" refuses this one */
    } else if (m->kind == MONITOR_MSG_ECG) {
        got_ecg++;
        last_ecg_sample = m->samples[m->n_leads * m->per_lead - 1];
    }
    return 0;
}

static void on_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    b->base = replies + replies_len;
    b->len = sizeof replies - 1 - replies_len;
}

static void on_bridge_closed(void *ctx)
{
    bridge_closed++;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    if (n < 0) {
        eof_seen = 1;
        uv_close((uv_handle_t *)&client, NULL);
        monitor_bridge_close(bridge, on_bridge_closed, NULL);
        return;
    }
    replies_len += (size_t)n;
    replies[replies_len] = '\0';
}

static void on_written(uv_write_t *w, int status)
{
    free(w);
}

static void send_text(const char *text, size_t len)
{
    uv_write_t *w = malloc(sizeof *w);
    uv_buf_t b = uv_buf_init((char *)text, (unsigned)len);
    ck_assert_int_eq(uv_write(w, (uv_stream_t *)&client, &b, 1, on_written), 0);
}

static char *long_line;

static void on_connect(uv_connect_t *c, int status)
{
    ck_assert_int_eq(status, 0);
    static const char lines[] = "PING\n"
                                "NUM 147842 72 1764316800123\n"
                                "NUM 150456 -\n"
                                "BOGUS\n"
                                "ECG 500 2.5 - I,II 1,2,3/4,5,-6\r\n"
                                "NUM 147842 x\n";
    ck_assert_int_eq(uv_read_start((uv_stream_t *)&client, on_alloc, on_read), 0);
    send_text(lines, sizeof lines - 1);
    /* Then a line longer than the limit, sent in one go (no LF inside). */
    long_line = malloc(MONITOR_LINE_MAX + 10);
    memset(long_line, '1', MONITOR_LINE_MAX + 10);
    send_text(long_line, MONITOR_LINE_MAX + 10);
}

static void socket_setup(void)
{
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    snprintf(sock_path, sizeof sock_path, "/tmp/check_monitor_bridge.%d.sock", (int)getpid());
    got_num = got_ecg = eof_seen = bridge_closed = 0;
    replies_len = 0;
}

static void socket_teardown(void)
{
    free(long_line);
    long_line = NULL;
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}

START_TEST(test_socket_pipelined)
{
    ck_assert_int_eq(monitor_bridge_new(&loop, sock_path, on_msg, NULL, &bridge), 0);
    ck_assert_int_eq(access(sock_path, F_OK), 0);
    ck_assert_int_eq(uv_pipe_init(&loop, &client, 0), 0);
    uv_pipe_connect(&conn, &client, sock_path, on_connect);
    ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);

    ck_assert(eof_seen); /* the over-long line closed the connection */
    ck_assert_int_eq(bridge_closed, 1);
    ck_assert_int_eq(access(sock_path, F_OK), -1); /* the socket file is gone */
    ck_assert_int_eq(got_num, 2);
    ck_assert_int_eq(got_ecg, 1);
    ck_assert_int_eq(last_ecg_sample, -6);
    const char *want = "ok pong\n"
                       "ok\n"
                       "err EAGAIN try again\n"
                       "err EINVAL unknown command 'BOGUS' (commands: NUM, ECG, PING)\n"
                       "ok\n"
                       "err EINVAL NUM: value 'x' is not a number\n"
                       "err ERANGE line too long (limit 65536 bytes)\n";
    ck_assert_str_eq(replies, want);
}
END_TEST

START_TEST(test_socket_refuses_regular_file)
{
    FILE *f = fopen(sock_path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    monitor_bridge_t *b = NULL;
    ck_assert_int_eq(monitor_bridge_new(&loop, sock_path, on_msg, NULL, &b), GL_EEXIST);
    ck_assert_ptr_null(b);
    unlink(sock_path);
    ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
}
END_TEST

static Suite *monitor_bridge_suite(void)
{
    Suite *s = suite_create("monitor_bridge");
    TCase *p = tcase_create("Parse");
    tcase_add_test(p, test_parse_num);
    tcase_add_test(p, test_parse_ecg);
    tcase_add_test(p, test_parse_refused);
    tcase_add_test(p, test_parse_limits);
    suite_add_tcase(s, p);
    TCase *k = tcase_create("Socket");
    tcase_add_checked_fixture(k, socket_setup, socket_teardown);
    tcase_add_test(k, test_socket_pipelined);
    tcase_add_test(k, test_socket_refuses_regular_file);
    tcase_set_timeout(k, 30);
    suite_add_tcase(s, k);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(monitor_bridge_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
