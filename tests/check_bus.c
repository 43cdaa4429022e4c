/*
 * The dispatcher's uplink checks on sealed and plain envelopes (dispatcher/bus.c): a sealed
 * fix from a provisioned unit is taken; forged, tampered, truncated, replayed, plain-from-a-
 * sealed-unit and sealed-for-another-unit envelopes are refused and counted by reason. Real
 * nanomsg sockets (ipc:// in a temporary folder) back the bus; messages are handed to it
 * directly so each verdict can be checked.
 */
#include "bus.h"
#include "dispatch.h"
#include "err.h"
#include "goldline.pb-c.h"
#include "seal.h"
#include "timeutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

static uv_loop_t loop;
static dispatch_t *d;
static bus_t *bus;
static char dir[64];

static void setup(void)
{
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    dispatch_params_t p = {.match = {.eta = {1.3, 11.1}, .stale_ms = 30000},
                           .downlink_resend_ms = 3000};
    d = dispatch_new(&p, NULL, NULL, NULL);
    vehicle_t t;
    memset(&t, 0, sizeof t);
    snprintf(t.id, sizeof t.id, "PLAIN-1");
    snprintf(t.kind, sizeof t.kind, "ALS");
    t.status = VEHICLE_STATUS_AVAILABLE;
    ck_assert_int_eq(fleet_add(dispatch_fleet(d), &t, NULL), 0);
    snprintf(dir, sizeof dir, "/tmp/gl-check-bus-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char up[128], down[128];
    snprintf(up, sizeof up, "ipc://%s/up", dir);
    snprintf(down, sizeof down, "ipc://%s/down", dir);
    ck_assert_int_eq(bus_open(&loop, up, down, d, 1, &bus), 0);
}

static void teardown(void)
{
    bus_close(bus, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    dispatch_free(d);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* A packed GpsFix envelope of `id` at Guixi. */
static size_t fix_envelope(const char *id, uint64_t seq, uint8_t *buf)
{
    Goldline__Uplink up = GOLDLINE__UPLINK__INIT;
    Goldline__GpsFix fix = GOLDLINE__GPS_FIX__INIT;
    up.vehicle_id = (char *)id;
    up.seq = seq;
    up.sent_at_ms = gl_now_ms();
    fix.lat = 28.2948;
    fix.lon = 117.2401;
    fix.fix_time_ms = gl_now_ms() - 1000 + (int64_t)seq;
    up.body_case = GOLDLINE__UPLINK__BODY_GPS;
    up.gps = &fix;
    return goldline__uplink__pack(&up, buf);
}

static size_t sealed_fix(const seal_key_t *key, const char *header_id, const char *inner_id,
                         uint64_t seq, uint8_t *out)
{
    uint8_t plain[256];
    size_t n = fix_envelope(inner_id, seq, plain), len = 0;
    ck_assert_int_eq(seal_seal(key, SEAL_UPLINK, header_id, plain, n, out, 512, &len), 0);
    return len;
}

START_TEST(test_sealed_uplink_verdicts)
{
    const char *caps[] = {"ecg12"};
    vehicle_def_t def = {"GX-01", "贵溪01", "ALS", NULL, caps, 1};
    char hex[SEAL_KEY_HEX_LEN + 1], err[160];
    ck_assert_int_eq(dispatch_vehicle_define(d, &def, hex, err, sizeof err), 0);
    seal_key_t key, wrong;
    ck_assert_int_eq(seal_key_from_hex(hex, &key), 0);
    ck_assert_int_eq(seal_key_generate(&wrong), 0);
    vehicle_t *v = fleet_find(dispatch_fleet(d), "GX-01");
    ck_assert_ptr_nonnull(v);
    ck_assert(v->sealed);
    int64_t now = gl_now_ms();
    bus_stats_t st;
    uint8_t msg[512];

    /* a good sealed fix moves the unit */
    size_t n = sealed_fix(&key, "GX-01", "GX-01", 1, msg);
    bus_handle_uplink(bus, msg, n, now);
    ck_assert_uint_eq(v->uplink_seq, 1);
    ck_assert(v->has_fix);
    /* the same bytes again: a replay, refused by the seq check */
    bus_handle_uplink(bus, msg, n, now);
    bus_get_stats(bus, &st);
    ck_assert_uint_eq(st.rejected[BUS_REJECT_DUPLICATE], 1);
    /* a flipped bit anywhere is forged; a cut message is malformed or forged, never taken */
    n = sealed_fix(&key, "GX-01", "GX-01", 2, msg);
    unsigned bad_sent = 0;
    for (size_t i = 0; i < n; i += 7, bad_sent++) {
        uint8_t bad[512];
        memcpy(bad, msg, n);
        bad[i] ^= 0x10;
        bus_handle_uplink(bus, bad, n, now);
    }
    bus_handle_uplink(bus, msg, n / 2, now);
    bad_sent++;
    ck_assert_uint_eq(v->uplink_seq, 1);
    /* sealed with another key */
    n = sealed_fix(&wrong, "GX-01", "GX-01", 3, msg);
    bus_handle_uplink(bus, msg, n, now);
    /* a provisioned unit's key used to speak for another unit */
    n = sealed_fix(&key, "GX-01", "PLAIN-1", 4, msg);
    bus_handle_uplink(bus, msg, n, now);
    bad_sent += 2;
    bus_get_stats(bus, &st);
    /* every one refused: forged (authentication failed), or malformed / unknown when the
     * flipped bit was in the clear header */
    ck_assert_uint_eq(st.rejected[BUS_REJECT_FORGED] + st.rejected[BUS_REJECT_MALFORMED] +
                          st.rejected[BUS_REJECT_UNKNOWN_VEHICLE],
                      bad_sent);
    ck_assert_uint_ge(st.rejected[BUS_REJECT_FORGED], 2);
    ck_assert_uint_eq(v->uplink_seq, 1);
    ck_assert_uint_eq(fleet_find(dispatch_fleet(d), "PLAIN-1")->uplink_seq, 0);
    /* a provisioned unit must seal: a plain envelope from it is refused */
    n = fix_envelope("GX-01", 5, msg);
    bus_handle_uplink(bus, msg, n, now);
    bus_get_stats(bus, &st);
    ck_assert_uint_eq(st.rejected[BUS_REJECT_UNSEALED], 1);
    ck_assert_uint_eq(v->uplink_seq, 1);
    /* a unit without a key may still speak plainly while that is allowed */
    n = fix_envelope("PLAIN-1", 1, msg);
    bus_handle_uplink(bus, msg, n, now);
    ck_assert_uint_eq(fleet_find(dispatch_fleet(d), "PLAIN-1")->uplink_seq, 1);
    /* and the good one after all that is taken */
    n = sealed_fix(&key, "GX-01", "GX-01", 6, msg);
    bus_handle_uplink(bus, msg, n, now);
    ck_assert(vehicle_seq_seen(v, 6));
    /* refused envelopes are not processed: 2..5 stay holes until the unit's own resends come,
     * so the acknowledgement does not tell the unit to drop them */
    ck_assert_uint_eq(v->uplink_seq, 1);
    ck_assert(!vehicle_seq_seen(v, 3));
}
END_TEST

START_TEST(test_vehicle_define_refuses_bad_input)
{
    char hex[SEAL_KEY_HEX_LEN + 1], err[160];
    vehicle_def_t bad_kind = {"GX-02", NULL, "XLS", NULL, NULL, 0};
    ck_assert_int_eq(dispatch_vehicle_define(d, &bad_kind, hex, err, sizeof err), GL_EINVAL);
    vehicle_def_t bad_id = {"GX 02\n", NULL, "ALS", NULL, NULL, 0};
    ck_assert_int_eq(dispatch_vehicle_define(d, &bad_id, hex, err, sizeof err), GL_EINVAL);
    vehicle_def_t long_id = {"GX-0123456789012345678901234567890", NULL, "ALS", NULL, NULL, 0};
    ck_assert_int_eq(dispatch_vehicle_define(d, &long_id, hex, err, sizeof err), GL_EINVAL);
    ck_assert_ptr_null(fleet_find(dispatch_fleet(d), "GX-02"));
    /* re-keying an existing unit gives a new key */
    vehicle_def_t ok = {"PLAIN-1", "P1", "ALS", NULL, NULL, 0};
    char first[SEAL_KEY_HEX_LEN + 1];
    ck_assert_int_eq(dispatch_vehicle_define(d, &ok, first, err, sizeof err), 0);
    ck_assert_int_eq(dispatch_vehicle_define(d, &ok, hex, err, sizeof err), 0);
    ck_assert_str_ne(first, hex);
    ck_assert_int_eq(fleet_count(dispatch_fleet(d)), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bus");
    TCase *tc = tcase_create("Sealing");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_sealed_uplink_verdicts);
    tcase_add_test(tc, test_vehicle_define_refuses_bad_input);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
