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

START_TEST(test_uplink_vitals_roundtrip)
{
    Goldline__Uplink up = GOLDLINE__UPLINK__INIT;
    Goldline__VitalsNumerics vn = GOLDLINE__VITALS_NUMERICS__INIT;
    Goldline__VitalsNumerics__Numeric hr = GOLDLINE__VITALS_NUMERICS__NUMERIC__INIT;
    Goldline__VitalsNumerics__Numeric spo2 = GOLDLINE__VITALS_NUMERICS__NUMERIC__INIT;
    Goldline__VitalsNumerics__Numeric temp = GOLDLINE__VITALS_NUMERICS__NUMERIC__INIT;
    hr.mdc_code = 147842; /* MDC_ECG_HEART_RATE */
    hr.measured_at_ms = 1795564800000LL;
    hr.has_value = 1;
    hr.value = 112.0f;
    spo2.mdc_code = 150456; /* MDC_PULS_OXIM_SAT_O2, probe off: no value */
    spo2.measured_at_ms = 1795564800400LL;
    temp.mdc_code = 150364; /* MDC_TEMP_BODY */
    temp.measured_at_ms = 1795564790000LL;
    temp.has_value = 1;
    temp.value = 37.4f;
    temp.has_unit_code = 1;
    temp.unit_code = 268192; /* MDC_DIM_DEGC */
    Goldline__VitalsNumerics__Numeric *list[] = {&hr, &spo2, &temp};
    vn.incident_id = "20261125-0009";
    vn.n_numerics = 3;
    vn.numerics = list;
    up.vehicle_id = "GX-04";
    up.seq = 11;
    up.sent_at_ms = 1795564800500LL;
    up.body_case = GOLDLINE__UPLINK__BODY_VITALS;
    up.vitals = &vn;
    size_t len;
    uint8_t *buf = pack_uplink(&up, &len);
    Goldline__Uplink *got = goldline__uplink__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(got->body_case, GOLDLINE__UPLINK__BODY_VITALS);
    ck_assert_str_eq(got->vitals->incident_id, "20261125-0009");
    ck_assert_uint_eq(got->vitals->n_numerics, 3);
    for (size_t i = 0; i < 3; i++) {
        const Goldline__VitalsNumerics__Numeric *g = got->vitals->numerics[i];
        ck_assert_uint_eq(g->mdc_code, list[i]->mdc_code);
        ck_assert_int_eq(g->measured_at_ms, list[i]->measured_at_ms);
        ck_assert_int_eq(g->has_value, list[i]->has_value);
        ck_assert(g->value == list[i]->value);
        ck_assert_int_eq(g->has_unit_code, list[i]->has_unit_code);
    }
    ck_assert_uint_eq(got->vitals->numerics[2]->unit_code, 268192);
    goldline__uplink__free_unpacked(got, NULL);
    free(buf);
    /* A numeric without its code or its time is refused. */
    const uint8_t no_code[] = {0x0a, 0x02, 'A',  '1',  0x10, 0x01, 0x18,
                               0x01, 0x6a, 0x04, 0x12, 0x02, 0x10, 0x05};
    ck_assert_ptr_null(goldline__uplink__unpack(NULL, sizeof no_code, no_code));
}
END_TEST

/*
 * A 100 ms 12-lead frame at 500 Hz with an ECG-like shape (a QRS-sized 1.2 mV triangle 40 ms
 * wide, a slow T-wave-like ramp, +-10 uV of noise), 5 uV per LSB, delta coded as the .proto
 * describes: it must come back sample for sample and pack smaller than the same samples as raw
 * int16.
 */
START_TEST(test_uplink_ecg_roundtrip_and_size)
{
    enum { LEADS = 12, N = 50 };
    static const char *names[LEADS] = {"I",  "II", "III", "aVR", "aVL", "aVF",
                                       "V1", "V2", "V3",  "V4",  "V5",  "V6"};
    static const uint32_t codes[LEADS] = {131329, 131330, 131389, 131390, 131391, 131392,
                                          131331, 131332, 131333, 131334, 131335, 131336};
    int16_t x[LEADS][N];
    int32_t deltas[LEADS * N];
    unsigned lcg = 12345;
    for (int l = 0; l < LEADS; l++) {
        for (int i = 0; i < N; i++) {
            double t = i / 500.0;
            double d = t > 0.05 ? t - 0.05 : 0.05 - t;
            double spike = d < 0.02 ? 1200.0 * (1.0 - d / 0.02) : 0.0;
            double ramp = 300.0 * t / 0.1 - 40.0 * l;
            lcg = lcg * 1103515245u + 12345u;
            double noise = (double)((lcg >> 16) % 21) - 10.0;
            double uv = spike * (l % 3 == 0 ? -1 : 1) + ramp + noise;
            x[l][i] = (int16_t)(uv >= 0 ? uv / 5.0 + 0.5 : uv / 5.0 - 0.5);
            deltas[l * N + i] = i == 0 ? x[l][0] : x[l][i] - x[l][i - 1];
        }
    }
    Goldline__EcgFrame ecg = GOLDLINE__ECG_FRAME__INIT;
    ecg.incident_id = "20261125-0010";
    ecg.n_lead_codes = LEADS;
    ecg.lead_codes = (uint32_t *)codes;
    ecg.n_lead_names = LEADS;
    ecg.lead_names = (char **)names;
    ecg.sample_rate_hz = 500;
    ecg.uv_per_lsb = 5.0f;
    ecg.first_sample_ms = 1795564800000LL;
    ecg.samples_per_lead = N;
    ecg.n_samples = LEADS * N;
    ecg.samples = deltas;
    ecg.has_first_sample_index = 1;
    ecg.first_sample_index = 500000;
    Goldline__Uplink up = GOLDLINE__UPLINK__INIT;
    up.vehicle_id = "GX-05";
    up.seq = 12;
    up.sent_at_ms = 1795564800100LL;
    up.body_case = GOLDLINE__UPLINK__BODY_ECG;
    up.ecg = &ecg;
    size_t frame_len = goldline__ecg_frame__get_packed_size(&ecg);
    ck_assert_msg(frame_len < LEADS * N * 2, "ECG frame packs in %zu bytes, raw int16 is %d",
                  frame_len, LEADS * N * 2);
    size_t len;
    uint8_t *buf = pack_uplink(&up, &len);
    Goldline__Uplink *got = goldline__uplink__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(got->body_case, GOLDLINE__UPLINK__BODY_ECG);
    const Goldline__EcgFrame *g = got->ecg;
    ck_assert_str_eq(g->incident_id, "20261125-0010");
    ck_assert_uint_eq(g->sample_rate_hz, 500);
    ck_assert(g->uv_per_lsb == 5.0f);
    ck_assert_int_eq(g->first_sample_ms, 1795564800000LL);
    ck_assert_uint_eq(g->first_sample_index, 500000);
    ck_assert_uint_eq(g->n_lead_codes, LEADS);
    ck_assert_uint_eq(g->n_lead_names, LEADS);
    ck_assert_uint_eq(g->samples_per_lead, N);
    ck_assert_uint_eq(g->n_samples, LEADS * N);
    for (int l = 0; l < LEADS; l++) {
        ck_assert_uint_eq(g->lead_codes[l], codes[l]);
        ck_assert_str_eq(g->lead_names[l], names[l]);
        int32_t acc = 0;
        for (int i = 0; i < N; i++) {
            acc += g->samples[l * N + i];
            ck_assert_int_eq(acc, x[l][i]);
        }
    }
    goldline__uplink__free_unpacked(got, NULL);
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
    tcase_add_test(core, test_uplink_vitals_roundtrip);
    tcase_add_test(core, test_uplink_ecg_roundtrip_and_size);
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
