/*
 * Round trips of the wire envelopes through protobuf-c, and what unpacking does with damaged
 * bytes (it must refuse them, never crash).
 */
#include "goldline.pb-c.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *pack_uplink(const Goldline__Uplink *up, size_t *len)
{
    *len = goldline__uplink__get_packed_size(up);
    uint8_t *buf = malloc(*len);
    ck_assert_uint_eq(goldline__uplink__pack(up, buf), *len);
    return buf;
}

START_TEST(test_uplink_gps_roundtrip)
{
    Goldline__Uplink up = GOLDLINE__UPLINK__INIT;
    Goldline__GpsFix fix = GOLDLINE__GPS_FIX__INIT;
    up.vehicle_id = "GX-01";
    up.seq = 42;
    up.sent_at_ms = 1795564800123LL;
    fix.lat = 28.3001234;
    fix.lon = 117.2205678;
    fix.fix_time_ms = 1795564800000LL;
    fix.has_speed_mps = 1;
    fix.speed_mps = 12.5f;
    up.body_case = GOLDLINE__UPLINK__BODY_GPS;
    up.gps = &fix;
    size_t len;
    uint8_t *buf = pack_uplink(&up, &len);
    Goldline__Uplink *got = goldline__uplink__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got->vehicle_id, "GX-01");
    ck_assert_uint_eq(got->seq, 42);
    ck_assert_int_eq(got->sent_at_ms, 1795564800123LL);
    ck_assert_int_eq(got->body_case, GOLDLINE__UPLINK__BODY_GPS);
    ck_assert(got->gps->lat == 28.3001234 && got->gps->lon == 117.2205678);
    ck_assert_int_eq(got->gps->has_speed_mps, 1);
    ck_assert(got->gps->speed_mps == 12.5f);
    ck_assert_int_eq(got->gps->has_heading_deg, 0);
    goldline__uplink__free_unpacked(got, NULL);
    free(buf);
}
END_TEST

START_TEST(test_uplink_status_and_ack_roundtrip)
{
    Goldline__Uplink up = GOLDLINE__UPLINK__INIT;
    Goldline__StatusChange st = GOLDLINE__STATUS_CHANGE__INIT;
    up.vehicle_id = "GX-02";
    up.seq = 7;
    up.sent_at_ms = 1;
    st.status = GOLDLINE__VEHICLE_STATUS__ON_SCENE;
    st.incident_id = "20261125-0001";
    st.at_ms = 2;
    up.body_case = GOLDLINE__UPLINK__BODY_STATUS;
    up.status = &st;
    size_t len;
    uint8_t *buf = pack_uplink(&up, &len);
    Goldline__Uplink *got = goldline__uplink__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(got->status->status, GOLDLINE__VEHICLE_STATUS__ON_SCENE);
    ck_assert_str_eq(got->status->incident_id, "20261125-0001");
    goldline__uplink__free_unpacked(got, NULL);
    free(buf);

    Goldline__Ack ack = GOLDLINE__ACK__INIT;
    ack.up_to_seq = 99;
    up.body_case = GOLDLINE__UPLINK__BODY_ACK;
    up.ack = &ack;
    buf = pack_uplink(&up, &len);
    got = goldline__uplink__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(got->body_case, GOLDLINE__UPLINK__BODY_ACK);
    ck_assert_uint_eq(got->ack->up_to_seq, 99);
    goldline__uplink__free_unpacked(got, NULL);
    free(buf);
}
END_TEST

START_TEST(test_downlink_assignment_roundtrip)
{
    Goldline__Downlink dl = GOLDLINE__DOWNLINK__INIT;
    Goldline__Assignment as = GOLDLINE__ASSIGNMENT__INIT;
    dl.vehicle_id = "GX-03";
    dl.seq = 3;
    dl.sent_at_ms = 5;
    as.incident_id = "20261125-0002";
    as.lat = 28.29;
    as.lon = 117.21;
    as.complaint = "chest_pain";
    as.priority = 1;
    as.assigned_at_ms = 4;
    dl.body_case = GOLDLINE__DOWNLINK__BODY_ASSIGNMENT;
    dl.assignment = &as;
    size_t len = goldline__downlink__get_packed_size(&dl);
    uint8_t *buf = malloc(len);
    goldline__downlink__pack(&dl, buf);
    Goldline__Downlink *got = goldline__downlink__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got->assignment->complaint, "chest_pain");
    ck_assert_uint_eq(got->assignment->priority, 1);
    ck_assert_ptr_null(got->assignment->address);
    goldline__downlink__free_unpacked(got, NULL);
    free(buf);
}
END_TEST

START_TEST(test_damaged_bytes_are_refused)
{
    Goldline__Uplink up = GOLDLINE__UPLINK__INIT;
    Goldline__GpsFix fix = GOLDLINE__GPS_FIX__INIT;
    up.vehicle_id = "GX-01";
    up.seq = 1;
    up.body_case = GOLDLINE__UPLINK__BODY_GPS;
    up.gps = &fix;
    size_t len;
    uint8_t *buf = pack_uplink(&up, &len);
    /*
     * A strict prefix either fails to decode or, when it ends on a field boundary after the
     * header, decodes without its body: the dispatcher refuses envelopes with no body.
     */
    size_t decoded = 0;
    for (size_t cut = 0; cut < len; cut++) {
        Goldline__Uplink *got = goldline__uplink__unpack(NULL, cut, buf);
        if (got) {
            decoded++;
            int body = got->body_case;
            goldline__uplink__free_unpacked(got, NULL);
            ck_assert_msg(body == GOLDLINE__UPLINK__BODY__NOT_SET,
                          "truncated envelope of %zu/%zu bytes decoded with a body", cut, len);
        }
    }
    ck_assert_uint_le(decoded, 1);
    free(buf);
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03};
    ck_assert_ptr_null(goldline__uplink__unpack(NULL, sizeof garbage, garbage));
    /* A message missing its required vehicle id is refused. */
    const uint8_t no_vehicle[] = {0x10, 0x01, 0x18, 0x01};
    ck_assert_ptr_null(goldline__uplink__unpack(NULL, sizeof no_vehicle, no_vehicle));
}
END_TEST

static Suite *proto_suite(void)
{
    Suite *s = suite_create("proto");
    TCase *core = tcase_create("Core");
    tcase_add_test(core, test_uplink_gps_roundtrip);
    tcase_add_test(core, test_uplink_status_and_ack_roundtrip);
    tcase_add_test(core, test_downlink_assignment_roundtrip);
    suite_add_tcase(s, core);
    TCase *errors = tcase_create("Errors");
    tcase_add_test(errors, test_damaged_bytes_are_refused);
    suite_add_tcase(s, errors);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(proto_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
