/*
 * Tests of vehicle/spool: append, ack and compaction; a child appending as fast as it can is
 * SIGKILLed and everything it was told was stored is found again, with a torn tail cut; the
 * byte bound drops the oldest GPS fix first and never a status change; and through
 * unit_session: seqs continue across a restart, restored entries are resent newest fix first,
 * and the first Ack after a silence starts a resend round in that order.
 */
#include "err.h"
#include "goldline.pb-c.h"
#include "spool.h"
#include "unit_session.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0 1764000000000LL

static char dir[64];
static char path[128];

static void setup(void)
{
    strcpy(dir, "/tmp/gl-spool-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/A1.spool", dir);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static off_t file_size(const char *p)
{
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    return st.st_size;
}

/* Pushes entry `seq` whose payload is "e<seq>" padded with the seq's low byte to `len`. */
static int push(spool_t *sp, uint64_t seq, uplink_kind_t kind, size_t len)
{
    unsigned char buf[512];
    ck_assert_uint_le(len, sizeof buf);
    memset(buf, (int)(seq & 0xFF), len);
    snprintf((char *)buf, len, "e%llu", (unsigned long long)seq);
    return spool_push(sp, seq, T0 + (int64_t)seq, T0 + (int64_t)seq, kind, buf, len, NULL, NULL);
}

static void assert_entry(const spool_t *sp, size_t i, uint64_t seq, uplink_kind_t kind,
                         size_t len)
{
    const uplink_entry_t *e = spool_at(sp, i);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->seq, seq);
    ck_assert_int_eq(e->kind, kind);
    ck_assert_uint_eq(e->len, len);
    ck_assert_int_eq(e->sent_at_ms, T0 + (int64_t)seq);
    char want[32];
    snprintf(want, sizeof want, "e%llu", (unsigned long long)seq);
    ck_assert_int_eq(memcmp(e->data, want, strlen(want)), 0);
    ck_assert_int_eq(e->data[len - 1], (len > strlen(want) + 1) ? (int)(seq & 0xFF) : 0);
}

/* ------------------------------------------------------------------ spool alone */

START_TEST(test_append_ack_compact_reopen)
{
    spool_opts_t o = {.compact_min_bytes = 200};
    spool_t *sp;
    ck_assert_int_eq(spool_open(path, "A1", &o, &sp), 0);
    ck_assert_uint_eq(spool_next_seq(sp), 0); /* brand new */
    ck_assert_int_eq(file_size(path), SPOOL_HEADER_BYTES);
    for (uint64_t q = 1; q <= 10; q++)
        ck_assert_int_eq(push(sp, q, q % 3 ? UPLINK_KIND_GPS : UPLINK_KIND_STATUS, 40), 0);
    ck_assert_int_eq(push(sp, 10, UPLINK_KIND_GPS, 40), GL_EINVAL); /* not increasing */
    ck_assert_uint_eq(spool_count(sp), 10);
    ck_assert_int_eq(file_size(path), SPOOL_HEADER_BYTES + 10 * (SPOOL_ENTRY_OVERHEAD + 40));
    /* Acking 4: 264 dead bytes + the ACK record, but live (396) is larger: no compaction. */
    ck_assert_uint_eq(spool_ack(sp, 4), 4);
    ck_assert_uint_eq(spool_ack(sp, 4), 0);
    spool_stats_t st;
    spool_get_stats(sp, &st);
    ck_assert_uint_eq(st.compactions, 0);
    ck_assert_uint_eq(st.live_bytes, 6 * (SPOOL_ENTRY_OVERHEAD + 40));
    /* Acking 8: dead > live and > 200: the file is rewritten with seq record + 2 entries. */
    ck_assert_uint_eq(spool_ack(sp, 8), 4);
    spool_get_stats(sp, &st);
    ck_assert_uint_eq(st.compactions, 1);
    ck_assert_uint_eq(st.acked, 8);
    ck_assert_int_eq(file_size(path),
                     SPOOL_HEADER_BYTES + (SPOOL_RECORD_OVERHEAD + 9) +
                         2 * (SPOOL_ENTRY_OVERHEAD + 40));
    ck_assert_uint_eq(st.file_bytes, (size_t)file_size(path));
    /* Appending after compaction goes to the new file. */
    ck_assert_int_eq(push(sp, 11, UPLINK_KIND_STATUS, 60), 0);
    spool_close(sp);

    ck_assert_int_eq(spool_open(path, "A1", &o, &sp), 0);
    ck_assert_uint_eq(spool_count(sp), 3);
    assert_entry(sp, 0, 9, UPLINK_KIND_STATUS, 40);
    assert_entry(sp, 1, 10, UPLINK_KIND_GPS, 40);
    assert_entry(sp, 2, 11, UPLINK_KIND_STATUS, 60);
    ck_assert_uint_eq(spool_next_seq(sp), 12);
    spool_get_stats(sp, &st);
    ck_assert_uint_eq(st.restored, 3);
    ck_assert_uint_eq(st.torn_bytes, 0);
    /* Everything acknowledged: the seq survives in a SEQ record of the compacted file. */
    ck_assert_uint_eq(spool_ack(sp, 11), 3);
    ck_assert_int_eq(spool_note_seq(sp, 15), 0);
    spool_close(sp);
    ck_assert_int_eq(spool_open(path, "A1", &o, &sp), 0);
    ck_assert_uint_eq(spool_count(sp), 0);
    ck_assert_uint_eq(spool_next_seq(sp), 15);
    spool_close(sp);

    /* Another vehicle's spool, and a file that is no spool, are refused and left untouched. */
    ck_assert_int_eq(spool_open(path, "A2", &o, &sp), GL_EINVAL);
    char other[160];
    snprintf(other, sizeof other, "%s/notes.txt", dir);
    FILE *f = fopen(other, "w");
    fputs("this file is something else entirely, and longer than a header", f);
    fclose(f);
    off_t before = file_size(other);
    ck_assert_int_eq(spool_open(other, "A1", &o, &sp), GL_EPROTO);
    ck_assert_int_eq(file_size(other), before);
}
END_TEST

START_TEST(test_bound_drops_oldest_fix_never_status)
{
    /* Records of 100 bytes, room for 5. */
    size_t len = 100 - SPOOL_ENTRY_OVERHEAD;
    spool_opts_t o = {.max_bytes = 500, .compact_min_bytes = 100000};
    spool_t *sp;
    ck_assert_int_eq(spool_open(path, "A1", &o, &sp), 0);
    ck_assert_int_eq(push(sp, 1, UPLINK_KIND_STATUS, len), 0);
    ck_assert_int_eq(push(sp, 2, UPLINK_KIND_GPS, len), 0);
    ck_assert_int_eq(push(sp, 3, UPLINK_KIND_STATUS, len), 0);
    ck_assert_int_eq(push(sp, 4, UPLINK_KIND_GPS, len), 0);
    ck_assert_int_eq(push(sp, 5, UPLINK_KIND_ECG, len), 0);
    uint64_t dropped = 0;
    unsigned char buf[128] = "e6";
    ck_assert_int_eq(spool_push(sp, 6, T0 + 6, T0 + 6, UPLINK_KIND_GPS, buf, len, &dropped, NULL),
                     1);
    ck_assert_uint_eq(dropped, 2); /* the oldest fix, not the older status */
    ck_assert_int_eq(push(sp, 7, UPLINK_KIND_STATUS, len), 1);  /* drops fix 4 */
    ck_assert_int_eq(push(sp, 8, UPLINK_KIND_STATUS, len), 1);  /* drops fix 6 */
    ck_assert_int_eq(push(sp, 9, UPLINK_KIND_STATUS, len), 1);  /* no fix left: ECG 5 */
    uint64_t want[] = {1, 3, 7, 8, 9};
    ck_assert_uint_eq(spool_count(sp), 5);
    for (size_t i = 0; i < 5; i++)
        ck_assert_uint_eq(spool_at(sp, i)->seq, want[i]);
    /* Only status changes left: a new fix (and a new status) is refused, nothing is dropped. */
    ck_assert_int_eq(push(sp, 10, UPLINK_KIND_GPS, len), GL_ENOSPC);
    ck_assert_int_eq(push(sp, 10, UPLINK_KIND_STATUS, len), GL_ENOSPC);
    ck_assert_uint_eq(spool_count(sp), 5);
    /* Bigger than the whole bound. */
    ck_assert_int_eq(push(sp, 10, UPLINK_KIND_GPS, 490), GL_ENOSPC);
    spool_stats_t st;
    spool_get_stats(sp, &st);
    ck_assert_uint_eq(st.dropped, 4);
    ck_assert_uint_eq(st.refused, 3);
    ck_assert_uint_le(st.live_bytes, 500);
    /* Once acknowledged, fixes fit again (dropping nothing). */
    ck_assert_uint_eq(spool_ack(sp, 3), 2);
    ck_assert_int_eq(push(sp, 10, UPLINK_KIND_GPS, len), 0);
    spool_close(sp);
    /* The drops are on disk: the reopened spool holds exactly the same entries. */
    ck_assert_int_eq(spool_open(path, "A1", &o, &sp), 0);
    uint64_t want2[] = {7, 8, 9, 10};
    ck_assert_uint_eq(spool_count(sp), 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_uint_eq(spool_at(sp, i)->seq, want2[i]);
    spool_close(sp);
}
END_TEST

/* The child: appends entries 1, 2, ... and reports each seq on the pipe once spool_push has
 * returned (the app's "stored"), until it is killed. */
static void child_append(int wfd)
{
    spool_opts_t o = {.sync_ms = 100000, .compact_min_bytes = 1u << 30};
    spool_t *sp;
    if (spool_open(path, "A1", &o, &sp) < 0)
        _exit(3);
    for (uint64_t q = 1;; q++) {
        if (push(sp, q, q % 5 ? UPLINK_KIND_GPS : UPLINK_KIND_STATUS, 20 + q % 200) < 0)
            _exit(4);
        if (write(wfd, &q, sizeof q) != sizeof q)
            _exit(5);
        if (q % 7 == 0)
            spool_ack(sp, q - 5);
    }
}

START_TEST(test_kill9_loses_nothing_stored_and_cuts_torn_tail)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        child_append(p[1]);
    }
    close(p[1]);
    uint64_t got = 0, q;
    while (got < 3000 && read(p[0], &q, sizeof q) == sizeof q)
        got = q;
    ck_assert_uint_eq(got, 3000);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* Whatever else the child reported before it died counts as stored too. */
    while (read(p[0], &q, sizeof q) == sizeof q)
        got = q;
    close(p[0]);

    /* A torn last write on top: a record header promising 300 bytes and 11 of them. */
    off_t whole = file_size(path);
    int fd = open(path, O_WRONLY | O_APPEND);
    unsigned char torn[8 + 11] = {44, 1, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 0};
    ck_assert_int_eq(write(fd, torn, sizeof torn), (ssize_t)sizeof torn);
    close(fd);

    spool_t *sp;
    ck_assert_int_eq(spool_open(path, "A1", NULL, &sp), 0);
    spool_stats_t st;
    spool_get_stats(sp, &st);
    ck_assert_uint_ge(st.torn_bytes, sizeof torn); /* more if the kill tore a write too */
    ck_assert_int_le(file_size(path), whole);
    /* Every entry reported stored and not acknowledged is there, in order, intact. The last
     * Ack the child wrote is (got / 7) * 7 - 5, or the one before if it died between
     * reporting seq (got / 7) * 7 and recording its Ack. */
    ck_assert_uint_gt(spool_count(sp), 0);
    uint64_t acked_to = spool_at(sp, 0)->seq - 1;
    ck_assert(acked_to == (got / 7) * 7 - 5 || (got % 7 == 0 && acked_to == got - 12));
    ck_assert_uint_ge(spool_next_seq(sp), got + 1);
    ck_assert_uint_ge(spool_count(sp), got - acked_to);
    for (size_t i = 0; i < spool_count(sp); i++) {
        uint64_t seq = acked_to + 1 + i;
        assert_entry(sp, i, seq, seq % 5 ? UPLINK_KIND_GPS : UPLINK_KIND_STATUS,
                     20 + seq % 200);
    }
    /* It goes on from there, and the next open finds nothing torn. */
    uint64_t next = spool_next_seq(sp);
    ck_assert_int_eq(push(sp, next, UPLINK_KIND_STATUS, 30), 0);
    spool_close(sp);

    /* A write torn inside the last entry: that entry goes, the ones before stay. (No compaction
     * on these opens: it would end the file with a seq record, and the bit flipped below must
     * land in the last entry, whatever the kill above left to compact.) */
    spool_opts_t keep = {.compact_min_bytes = (size_t)1 << 40};
    whole = file_size(path);
    ck_assert_int_eq(truncate(path, whole - 7), 0);
    ck_assert_int_eq(spool_open(path, "A1", &keep, &sp), 0);
    spool_get_stats(sp, &st);
    ck_assert_uint_eq(st.torn_bytes, SPOOL_ENTRY_OVERHEAD + 30 - 7);
    ck_assert_uint_eq(spool_at(sp, spool_count(sp) - 1)->seq, next - 1);
    spool_close(sp);
    ck_assert_int_eq(spool_open(path, "A1", &keep, &sp), 0);
    spool_get_stats(sp, &st);
    ck_assert_uint_eq(st.torn_bytes, 0);
    spool_close(sp);

    /* A flipped bit in the last record fails its CRC: it is cut like a torn write. */
    whole = file_size(path);
    fd = open(path, O_RDWR);
    unsigned char b;
    ck_assert_int_eq(pread(fd, &b, 1, whole - 3), 1);
    b ^= 0x10;
    ck_assert_int_eq(pwrite(fd, &b, 1, whole - 3), 1);
    close(fd);
    ck_assert_int_eq(spool_open(path, "A1", &keep, &sp), 0);
    spool_get_stats(sp, &st);
    ck_assert_uint_gt(st.torn_bytes, 0);
    ck_assert_uint_eq(spool_at(sp, spool_count(sp) - 1)->seq, next - 2);
    spool_close(sp);
}
END_TEST

/* --------------------------------------------------------------- through the session */

#define MAX_SENT 64

static struct {
    int64_t now;
    int fail;
    int n;
    Goldline__Uplink *up[MAX_SENT];
} io;

static int fake_send(void *ctx, const void *buf, size_t len)
{
    if (io.fail)
        return GL_EAGAIN;
    ck_assert_int_lt(io.n, MAX_SENT);
    io.up[io.n] = goldline__uplink__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(io.up[io.n]);
    io.n++;
    return 0;
}

static int64_t fake_now(void *ctx)
{
    return io.now;
}

static void io_reset(void)
{
    for (int i = 0; i < io.n; i++)
        goldline__uplink__free_unpacked(io.up[i], NULL);
    memset(&io, 0, sizeof io);
    io.now = T0;
}

static void session_setup(void)
{
    setup();
    io_reset();
}

static void session_teardown(void)
{
    io_reset();
    teardown();
}

static unit_session_t *open_session(uint64_t first_seq)
{
    unit_session_io_t fio = {fake_send, fake_now, NULL};
    unit_session_opts_t o = {.first_seq = first_seq, .spool_path = path};
    unit_session_t *s = NULL;
    ck_assert_int_eq(unit_session_new_opts("A1", &o, &fio, NULL, NULL, &s), 0);
    return s;
}

static size_t downlink_msg(unsigned char *out, size_t cap, Goldline__Downlink *dl)
{
    size_t n = goldline__downlink__get_packed_size(dl);
    ck_assert_uint_le(3 + n, cap);
    memcpy(out, "A1", 3);
    goldline__downlink__pack(dl, out + 3);
    return 3 + n;
}

static size_t ack_msg(unsigned char *out, size_t cap, uint64_t up_to)
{
    Goldline__Ack a = GOLDLINE__ACK__INIT;
    a.up_to_seq = up_to;
    Goldline__Downlink dl = GOLDLINE__DOWNLINK__INIT;
    dl.vehicle_id = "A1";
    dl.sent_at_ms = io.now;
    dl.body_case = GOLDLINE__DOWNLINK__BODY_ACK;
    dl.ack = &a;
    return downlink_msg(out, cap, &dl);
}

static void send_fix(unit_session_t *s, double lat)
{
    unit_fix_t f;
    unit_fix_init(&f, lat, 116.0, io.now);
    ck_assert_int_eq(unit_session_send_fix(s, &f), 0);
}

static void send_vitals(unit_session_t *s, float hr)
{
    Goldline__VitalsNumerics__Numeric n = GOLDLINE__VITALS_NUMERICS__NUMERIC__INIT;
    n.mdc_code = 147842;
    n.measured_at_ms = io.now;
    n.has_value = 1;
    n.value = hr;
    Goldline__VitalsNumerics__Numeric *np = &n;
    Goldline__VitalsNumerics v = GOLDLINE__VITALS_NUMERICS__INIT;
    v.n_numerics = 1;
    v.numerics = &np;
    ck_assert_int_eq(unit_session_send_vitals(s, &v), 0);
}

START_TEST(test_seq_continues_across_restart)
{
    unit_session_t *s = open_session(1);
    ck_assert_uint_eq(unit_session_next_seq(s), 1); /* brand new spool: first_seq */
    ck_assert_int_eq(unit_session_send_status(s, UNIT_STATUS_AVAILABLE, NULL, T0), 0);
    send_fix(s, 26.0);
    /* An Assignment makes the unit send an Ack (seq 3), which is not spooled. */
    Goldline__Assignment a = GOLDLINE__ASSIGNMENT__INIT;
    a.incident_id = "I-1";
    a.lat = 26.1;
    a.lon = 116.1;
    a.complaint = "stroke";
    a.priority = 1;
    Goldline__Downlink dl = GOLDLINE__DOWNLINK__INIT;
    dl.vehicle_id = "A1";
    dl.seq = 1;
    dl.sent_at_ms = T0;
    dl.body_case = GOLDLINE__DOWNLINK__BODY_ASSIGNMENT;
    dl.assignment = &a;
    unsigned char msg[256];
    size_t n = downlink_msg(msg, sizeof msg, &dl);
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), 0);
    ck_assert_int_eq(io.n, 3);
    ck_assert_uint_eq(io.up[2]->seq, 3);
    ck_assert_int_eq(io.up[2]->body_case, GOLDLINE__UPLINK__BODY_ACK);
    unit_session_free(s); /* the unit stops (or dies) here */

    /* Restarted with first_seq 1 again: it continues at 4 and resends 1 and 2 (newest fix
     * first) at its first tick, byte for byte. */
    s = open_session(1);
    ck_assert_uint_eq(unit_session_next_seq(s), 4);
    unit_session_stats_t st;
    unit_session_get_stats(s, &st);
    ck_assert_uint_eq(st.queued, 2);
    unit_session_tick(s);
    ck_assert_int_eq(io.n, 5);
    ck_assert_uint_eq(io.up[3]->seq, 2);
    ck_assert_int_eq(io.up[3]->body_case, GOLDLINE__UPLINK__BODY_GPS);
    ck_assert_int_eq(io.up[3]->sent_at_ms, io.up[1]->sent_at_ms);
    ck_assert_uint_eq(io.up[4]->seq, 1);
    send_fix(s, 26.01);
    ck_assert_uint_eq(io.up[5]->seq, 4);
    /* The dispatcher acknowledges everything; after a restart the seq still continues. */
    n = ack_msg(msg, sizeof msg, 4);
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), 0);
    unit_session_free(s);
    s = open_session(1);
    ck_assert_uint_eq(unit_session_next_seq(s), 5);
    unit_session_get_stats(s, &st);
    ck_assert_uint_eq(st.queued, 0);
    /* A dispatcher acknowledging above anything sent (a lost spool, an earlier run): jump. */
    n = ack_msg(msg, sizeof msg, 900);
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), 0);
    ck_assert_uint_eq(unit_session_next_seq(s), 901);
    unit_session_free(s);
    s = open_session(1);
    ck_assert_uint_eq(unit_session_next_seq(s), 901);
    unit_session_free(s);
}
END_TEST

START_TEST(test_reconnect_sends_newest_position_first)
{
    unit_session_t *s = open_session(1);
    /* The link is down: a status, fixes, vitals, a status, the newest fix. */
    io.fail = 1;
    ck_assert_int_eq(unit_session_send_status(s, UNIT_STATUS_EN_ROUTE, "I-1", io.now), 0); /* 1 */
    send_fix(s, 26.00);                                                                    /* 2 */
    send_vitals(s, 88);                                                                    /* 3 */
    send_fix(s, 26.01);                                                                    /* 4 */
    ck_assert_int_eq(unit_session_send_status(s, UNIT_STATUS_ON_SCENE, "I-1", io.now), 0); /* 5 */
    send_vitals(s, 92);                                                                    /* 6 */
    send_fix(s, 26.02);                                                                    /* 7 */
    ck_assert_int_eq(io.n, 0);
    /* 60 s of silence; resends fail too. Then the link returns: the first Ack (covering 1,
     * which one resend got through) starts a resend round at once. */
    for (int i = 0; i < 120; i++) {
        io.now += 500;
        unit_session_tick(s);
    }
    io.fail = 0;
    unsigned char msg[128];
    size_t n = ack_msg(msg, sizeof msg, 1);
    ck_assert_int_eq(unit_session_on_downlink(s, msg, n), 0);
    unit_session_stats_t st;
    unit_session_get_stats(s, &st);
    ck_assert_uint_eq(st.reconnects, 1);
    uint64_t want[] = {7, 2, 3, 4, 5, 6};
    ck_assert_int_eq(io.n, 6);
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(io.up[i]->seq, want[i]);
    ck_assert_int_eq(io.up[0]->body_case, GOLDLINE__UPLINK__BODY_GPS);
    ck_assert_double_eq_tol(io.up[0]->gps->lat, 26.02, 1e-9);
    ck_assert_int_eq(io.up[2]->body_case, GOLDLINE__UPLINK__BODY_VITALS);
    ck_assert_float_eq_tol(io.up[2]->vitals->numerics[0]->value, 88, 1e-6);
    ck_assert_int_eq(io.up[4]->body_case, GOLDLINE__UPLINK__BODY_STATUS);
    unit_session_free(s);
}
END_TEST

static Suite *spool_suite(void)
{
    Suite *s = suite_create("spool");
    TCase *core = tcase_create("Core");
    tcase_add_checked_fixture(core, setup, teardown);
    tcase_add_test(core, test_append_ack_compact_reopen);
    tcase_add_test(core, test_bound_drops_oldest_fix_never_status);
    suite_add_tcase(s, core);
    TCase *crash = tcase_create("Crash");
    tcase_add_checked_fixture(crash, setup, teardown);
    tcase_set_timeout(crash, 60);
    tcase_add_test(crash, test_kill9_loses_nothing_stored_and_cuts_torn_tail);
    suite_add_tcase(s, crash);
    TCase *sess = tcase_create("Session");
    tcase_add_checked_fixture(sess, session_setup, session_teardown);
    tcase_add_test(sess, test_seq_continues_across_restart);
    tcase_add_test(sess, test_reconnect_sends_newest_position_first);
    suite_add_tcase(s, sess);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(spool_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
