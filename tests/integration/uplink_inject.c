/*
 * gl-uplink-inject: sends hostile or broken uplink messages to a dispatcher, for the
 * integration test: what a faulty modem, a spoofing sender or a confused unit could send.
 *
 *   gl-uplink-inject URL KIND [VEHICLE [SEQ [INCIDENT]]]
 *
 * KIND: good (a plausible fix at Guixi, to anchor a unit), garbage (random-looking bytes), truncated (a valid envelope cut in half), empty (a
 * zero-length message), no_body (a valid header without a body), unknown_vehicle (a GPS fix
 * from an id the dispatcher does not know), out_of_range (lat 123), future (a fix stamped one
 * hour ahead), teleport (a fix 500 km from Guixi, one second after "now"), bad_status (a
 * status value outside the enum), huge_seq (a seq above 2^63), ancient_fix (a fix stamped
 * -9e18 ms), far_status (available, stamped +9e18 ms), oos_now (out_of_service, stamped now),
 * vitals (HR 88, SpO2 97, NIBP systolic 135 for INCIDENT), vitals_big_code (the same with a
 * code above 2^31, which no 11073 code is), ecg (one 12-lead 500 Hz frame of
 * 100 ms, a ramp per lead, for INCIDENT; its first sample index is GL_INJECT_ECG_INDEX, default
 * 1000, and each lead l starts at l*10 + index % 1000). VEHICLE and SEQ default to GL-01 and the wall clock in ms
 * (above anything the simulator sent).
 *
 * With GL_INJECT_KEY_FILE=PATH in the environment the envelope is sealed with that key file
 * (common/seal.h), as a provisioned unit does.
 *
 * It talks to nanomsg directly (not through common/nnuv) because it sends one message and
 * exits: no event loop is involved.
 */
#include "goldline.pb-c.h"
#include "seal.h"

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s URL KIND [VEHICLE [SEQ]]\n", argv[0]);
        return 2;
    }
    const char *url = argv[1], *kind = argv[2];
    const char *vehicle = argc > 3 ? argv[3] : "GL-01";
    uint64_t seq = argc > 4 && strcmp(argv[4], "-") ? strtoull(argv[4], NULL, 10)
                                                    : (uint64_t)now_ms();
    char *incident = argc > 5 ? argv[5] : NULL;

    Goldline__Uplink up = GOLDLINE__UPLINK__INIT;
    Goldline__GpsFix fix = GOLDLINE__GPS_FIX__INIT;
    Goldline__StatusChange st = GOLDLINE__STATUS_CHANGE__INIT;
    up.vehicle_id = (char *)vehicle;
    up.seq = seq;
    up.sent_at_ms = now_ms();
    fix.lat = 28.2948;
    fix.lon = 117.2401;
    fix.fix_time_ms = now_ms();
    up.body_case = GOLDLINE__UPLINK__BODY_GPS;
    up.gps = &fix;
    if (!strcmp(kind, "unknown_vehicle")) {
        up.vehicle_id = "NO-SUCH-UNIT";
    } else if (!strcmp(kind, "out_of_range")) {
        fix.lat = 123.0;
    } else if (!strcmp(kind, "future")) {
        fix.fix_time_ms = now_ms() + 3600 * 1000;
    } else if (!strcmp(kind, "teleport")) {
        fix.lat = 32.5;
        fix.fix_time_ms = now_ms() + 1000;
    } else if (!strcmp(kind, "no_body")) {
        up.body_case = GOLDLINE__UPLINK__BODY__NOT_SET;
    } else if (!strcmp(kind, "huge_seq")) {
        up.seq = (1ULL << 63) + 5;
    } else if (!strcmp(kind, "ancient_fix")) {
        fix.fix_time_ms = -9000000000000000000LL;
    } else if (!strcmp(kind, "far_status") || !strcmp(kind, "oos_now")) {
        int far = !strcmp(kind, "far_status");
        st.status = far ? GOLDLINE__VEHICLE_STATUS__AVAILABLE
                        : GOLDLINE__VEHICLE_STATUS__OUT_OF_SERVICE;
        st.at_ms = far ? 9000000000000000000LL : now_ms();
        up.body_case = GOLDLINE__UPLINK__BODY_STATUS;
        up.status = &st;
    } else if (!strcmp(kind, "vitals") || !strcmp(kind, "vitals_big_code")) {
        static Goldline__VitalsNumerics vit = GOLDLINE__VITALS_NUMERICS__INIT;
        static Goldline__VitalsNumerics__Numeric nums[3];
        static Goldline__VitalsNumerics__Numeric *ptrs[3];
        uint32_t codes[3] = {147842, 150456, 150021}; /* HR, SpO2, NIBP systolic */
        if (!strcmp(kind, "vitals_big_code"))
            codes[1] = 0x80000001u; /* no 11073 code is that large: refused */
        const float values[3] = {88, 97, 135};
        for (int i = 0; i < 3; i++) {
            goldline__vitals_numerics__numeric__init(&nums[i]);
            nums[i].mdc_code = codes[i];
            nums[i].measured_at_ms = now_ms() - 500;
            nums[i].has_value = 1;
            nums[i].value = values[i];
            ptrs[i] = &nums[i];
        }
        vit.incident_id = incident;
        vit.n_numerics = 3;
        vit.numerics = ptrs;
        up.body_case = GOLDLINE__UPLINK__BODY_VITALS;
        up.vitals = &vit;
    } else if (!strcmp(kind, "ecg")) {
        static Goldline__EcgFrame ecg = GOLDLINE__ECG_FRAME__INIT;
        static uint32_t codes[12];
        static int32_t samples[12 * 50];
        const char *idx = getenv("GL_INJECT_ECG_INDEX");
        uint64_t first = idx ? strtoull(idx, NULL, 10) : 1000;
        for (int l = 0; l < 12; l++) {
            codes[l] = 131329 + (uint32_t)l;
            /* first sample, then deltas of 1: a ramp per lead from l*10 + first % 1000 */
            samples[l * 50] = l * 10 + (int32_t)(first % 1000);
            for (int k = 1; k < 50; k++)
                samples[l * 50 + k] = 1;
        }
        ecg.incident_id = incident;
        ecg.n_lead_codes = 12;
        ecg.lead_codes = codes;
        ecg.sample_rate_hz = 500;
        ecg.uv_per_lsb = 5;
        ecg.first_sample_ms = now_ms() - 200;
        ecg.samples_per_lead = 50;
        ecg.n_samples = 12 * 50;
        ecg.samples = samples;
        ecg.has_first_sample_index = 1;
        ecg.first_sample_index = first;
        up.body_case = GOLDLINE__UPLINK__BODY_ECG;
        up.ecg = &ecg;
    } else if (!strcmp(kind, "bad_status")) {
        st.status = 77;
        st.at_ms = now_ms();
        up.body_case = GOLDLINE__UPLINK__BODY_STATUS;
        up.status = &st;
    } else if (strcmp(kind, "good") && strcmp(kind, "garbage") && strcmp(kind, "truncated") &&
               strcmp(kind, "empty")) {
        fprintf(stderr, "%s: unknown kind %s\n", argv[0], kind);
        return 2;
    }
    size_t len = goldline__uplink__get_packed_size(&up);
    uint8_t *buf = malloc(len + 64);
    if (!buf)
        return 1;
    goldline__uplink__pack(&up, buf);
    if (!strcmp(kind, "garbage")) {
        for (size_t i = 0; i < 48; i++)
            buf[i] = (uint8_t)(0xF7 ^ (i * 37));
        len = 48;
    } else if (!strcmp(kind, "truncated")) {
        len /= 2;
    } else if (!strcmp(kind, "empty")) {
        len = 0;
    }
    const char *key_file = getenv("GL_INJECT_KEY_FILE");
    if (key_file) {
        seal_key_t key;
        char why[256];
        size_t sealed_len = 0, cap = len + seal_overhead(SEAL_UPLINK, strlen(up.vehicle_id));
        uint8_t *sealed = malloc(cap);
        if (!sealed || seal_key_read_file(key_file, &key, why, sizeof why) != 0 ||
            seal_seal(&key, SEAL_UPLINK, up.vehicle_id, buf, len, sealed, cap, &sealed_len) != 0) {
            fprintf(stderr, "%s: cannot seal with %s: %s\n", argv[0], key_file, why);
            return 1;
        }
        free(buf);
        buf = sealed;
        len = sealed_len;
    }
    int s = nn_socket(AF_SP, NN_PUSH);
    int linger = 2000;
    if (s < 0 || nn_setsockopt(s, NN_SOL_SOCKET, NN_LINGER, &linger, sizeof linger) < 0 ||
        nn_connect(s, url) < 0) {
        fprintf(stderr, "%s: %s\n", argv[0], nn_strerror(nn_errno()));
        return 1;
    }
    int timeout = 5000;
    nn_setsockopt(s, NN_SOL_SOCKET, NN_SNDTIMEO, &timeout, sizeof timeout);
    int rc = nn_send(s, buf, len, 0);
    free(buf);
    if (rc < 0) {
        fprintf(stderr, "%s: send: %s\n", argv[0], nn_strerror(nn_errno()));
        nn_close(s);
        return 1;
    }
    usleep(200 * 1000); /* let nanomsg flush before close (linger is not honoured everywhere) */
    nn_close(s);
    return 0;
}
