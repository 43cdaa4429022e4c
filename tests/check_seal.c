/*
 * Tests of common/seal: the sealed envelope round trip in both directions, refusal of forged
 * (wrong key), tampered (every single bit flipped in turn) and truncated messages, a replay
 * that opens (the receiver's seq check refuses it: see check_unit_link.c), and the key files
 * (hex and raw, mode 0600 enforced, malformed content, no overwrite).
 */
#include "err.h"
#include "seal.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char plain[] = "\x0a\x02" "A1\x10\x07 a packed Uplink envelope stands here";

static seal_key_t key_of(unsigned char b)
{
    seal_key_t k;
    memset(k.k, b, sizeof k.k);
    return k;
}

START_TEST(test_round_trip_both_directions)
{
    seal_key_t k;
    ck_assert_int_eq(seal_key_generate(&k), 0);
    unsigned char out[256], back[256];
    size_t n = 0, m = 0;
    ck_assert_int_eq(seal_seal(&k, SEAL_UPLINK, "A1", plain, sizeof plain, out, sizeof out, &n),
                     0);
    ck_assert_uint_eq(n, sizeof plain + seal_overhead(SEAL_UPLINK, 2));
    ck_assert_int_eq(out[0], SEAL_MAGIC);
    ck_assert_int_eq(seal_is_sealed(SEAL_UPLINK, out, n), 1);
    ck_assert_int_eq(seal_is_sealed(SEAL_UPLINK, plain, sizeof plain), 0);
    /* The plaintext does not appear in the sealed bytes. */
    ck_assert_ptr_null(memmem(out, n, "packed Uplink", 13));
    char id[SEAL_ID_MAX + 1];
    ck_assert_int_eq(seal_peek(SEAL_UPLINK, out, n, id), 0);
    ck_assert_str_eq(id, "A1");
    ck_assert_int_eq(seal_open(&k, SEAL_UPLINK, out, n, back, sizeof back, &m), 0);
    ck_assert_uint_eq(m, sizeof plain);
    ck_assert_int_eq(memcmp(back, plain, m), 0);
    /* A second seal of the same bytes draws another nonce. */
    unsigned char out2[256];
    size_t n2;
    ck_assert_int_eq(
        seal_seal(&k, SEAL_UPLINK, "A1", plain, sizeof plain, out2, sizeof out2, &n2), 0);
    ck_assert_uint_eq(n2, n);
    ck_assert_int_ne(memcmp(out, out2, n), 0);

    /* Downlink: topic "<id>\0" first, then the sealed body. */
    ck_assert_int_eq(
        seal_seal(&k, SEAL_DOWNLINK, "AMB-17", plain, sizeof plain, out, sizeof out, &n), 0);
    ck_assert_uint_eq(n, sizeof plain + seal_overhead(SEAL_DOWNLINK, 6));
    ck_assert_int_eq(memcmp(out, "AMB-17\0", 7), 0);
    ck_assert_int_eq(seal_peek(SEAL_DOWNLINK, out, n, id), 0);
    ck_assert_str_eq(id, "AMB-17");
    ck_assert_int_eq(seal_open(&k, SEAL_DOWNLINK, out, n, back, sizeof back, &m), 0);
    ck_assert_int_eq(memcmp(back, plain, m), 0);
    /* A downlink is no uplink (direction is authenticated and checked). */
    ck_assert_int_eq(seal_open(&k, SEAL_UPLINK, out + 7, n - 7, back, sizeof back, &m),
                     GL_EPROTO);
    /* An empty plaintext seals too (an envelope is never empty, but the layer does not care). */
    ck_assert_int_eq(seal_seal(&k, SEAL_UPLINK, "A1", "", 0, out, sizeof out, &n), 0);
    ck_assert_int_eq(seal_open(&k, SEAL_UPLINK, out, n, back, sizeof back, &m), 0);
    ck_assert_uint_eq(m, 0);
}
END_TEST

START_TEST(test_forged_and_tampered_are_refused)
{
    seal_key_t k = key_of(7), other = key_of(8);
    unsigned char out[256], back[256];
    size_t n, m;
    ck_assert_int_eq(
        seal_seal(&k, SEAL_DOWNLINK, "A1", plain, sizeof plain, out, sizeof out, &n), 0);
    /* Forged: sealed with another key. */
    ck_assert_int_eq(seal_open(&other, SEAL_DOWNLINK, out, n, back, sizeof back, &m),
                     GL_EACCES);
    /* Tampered: every single bit of the message, flipped in turn, is refused; the topic and
     * header bits as malformed (they are checked before decryption), the rest as forged. */
    int protos = 0, forged = 0;
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            out[i] ^= (unsigned char)(1u << bit);
            int rc = seal_open(&k, SEAL_DOWNLINK, out, n, back, sizeof back, &m);
            out[i] ^= (unsigned char)(1u << bit);
            ck_assert_msg(rc == GL_EACCES || rc == GL_EPROTO, "byte %zu bit %d opened", i, bit);
            protos += rc == GL_EPROTO;
            forged += rc == GL_EACCES;
        }
    /* Topic (3 bytes) and header (4 + 2): malformed; nonce, ciphertext and tag: forged. */
    ck_assert_int_eq(protos, 8 * (3 + 4 + 2));
    ck_assert_int_eq(forged, (int)(8 * (n - 3 - 4 - 2)));
    /* Header bits that stay well-formed reach the AEAD and fail it: the id byte 'A' -> 'B' in
     * the header and the topic both (the id is associated data). */
    unsigned char t[256];
    memcpy(t, out, n);
    t[0] = 'B';
    t[3 + 4] = 'B';
    ck_assert_int_eq(seal_open(&k, SEAL_DOWNLINK, t, n, back, sizeof back, &m), GL_EACCES);
    /* The untouched message still opens. */
    ck_assert_int_eq(seal_open(&k, SEAL_DOWNLINK, out, n, back, sizeof back, &m), 0);

    /* Uplink: flipping any bit of the id in the header is refused. */
    ck_assert_int_eq(seal_seal(&k, SEAL_UPLINK, "A1", plain, sizeof plain, out, sizeof out, &n),
                     0);
    for (size_t i = 4; i < 6; i++)
        for (int bit = 0; bit < 8; bit++) {
            out[i] ^= (unsigned char)(1u << bit);
            int rc = seal_open(&k, SEAL_UPLINK, out, n, back, sizeof back, &m);
            out[i] ^= (unsigned char)(1u << bit);
            ck_assert_msg(rc == GL_EACCES, "id byte %zu bit %d: %d", i, bit, rc);
        }
}
END_TEST

START_TEST(test_truncated_and_malformed)
{
    seal_key_t k = key_of(1);
    unsigned char out[256], back[256];
    size_t n, m;
    ck_assert_int_eq(seal_seal(&k, SEAL_UPLINK, "A1", plain, sizeof plain, out, sizeof out, &n),
                     0);
    /* Every shorter prefix is refused: malformed while the header, nonce and tag cannot fit,
     * forged (the tag does not match) once they can. */
    for (size_t len = 0; len < n; len++) {
        int rc = seal_open(&k, SEAL_UPLINK, out, len, back, sizeof back, &m);
        if (len < 4 + 2 + SEAL_NONCE_BYTES + SEAL_TAG_BYTES)
            ck_assert_int_eq(rc, GL_EPROTO);
        else
            ck_assert_int_eq(rc, GL_EACCES);
    }
    /* A byte appended is refused too. */
    out[n] = 0;
    ck_assert_int_eq(seal_open(&k, SEAL_UPLINK, out, n + 1, back, sizeof back, &m), GL_EACCES);
    /* Output too small, plain bytes, a bad version, an id length of 0 or 32. */
    ck_assert_int_eq(seal_open(&k, SEAL_UPLINK, out, n, back, sizeof plain - 1, &m), GL_ENOSPC);
    ck_assert_int_eq(seal_open(&k, SEAL_UPLINK, plain, sizeof plain, back, sizeof back, &m),
                     GL_EPROTO);
    out[1] = 2;
    ck_assert_int_eq(seal_open(&k, SEAL_UPLINK, out, n, back, sizeof back, &m), GL_EPROTO);
    out[1] = SEAL_VERSION;
    out[3] = 0;
    ck_assert_int_eq(seal_open(&k, SEAL_UPLINK, out, n, back, sizeof back, &m), GL_EPROTO);
    out[3] = 32;
    ck_assert_int_eq(seal_open(&k, SEAL_UPLINK, out, n, back, sizeof back, &m), GL_EPROTO);
    /* Downlink whose topic differs from the sealed id; downlink without a topic. */
    ck_assert_int_eq(
        seal_seal(&k, SEAL_DOWNLINK, "A1", plain, sizeof plain, out, sizeof out, &n), 0);
    out[1] = '2';
    char id[SEAL_ID_MAX + 1];
    ck_assert_int_eq(seal_peek(SEAL_DOWNLINK, out, n, id), GL_EPROTO);
    ck_assert_int_eq(seal_peek(SEAL_DOWNLINK, out + 3, n - 3, id), GL_EPROTO);
    /* Sealing: bad ids, small output. */
    ck_assert_int_eq(seal_seal(&k, SEAL_UPLINK, "", plain, 1, out, sizeof out, &n), GL_EINVAL);
    ck_assert_int_eq(seal_seal(&k, SEAL_UPLINK, "0123456789012345678901234567890123", plain, 1,
                               out, sizeof out, &n),
                     GL_EINVAL);
    ck_assert_int_eq(seal_seal(&k, SEAL_UPLINK, "A1", plain, sizeof plain, out,
                               sizeof plain + seal_overhead(SEAL_UPLINK, 2) - 1, &n),
                     GL_ENOSPC);
}
END_TEST

START_TEST(test_replay_opens_identically)
{
    /* The layer cannot know a replay: the same bytes open twice to the same envelope, seq
     * included. The receiver's seq check refuses it (check_unit_link.c: test_sealed_session). */
    seal_key_t k = key_of(3);
    unsigned char out[256], a[256], b[256];
    size_t n, ma, mb;
    ck_assert_int_eq(seal_seal(&k, SEAL_UPLINK, "A1", plain, sizeof plain, out, sizeof out, &n),
                     0);
    ck_assert_int_eq(seal_open(&k, SEAL_UPLINK, out, n, a, sizeof a, &ma), 0);
    ck_assert_int_eq(seal_open(&k, SEAL_UPLINK, out, n, b, sizeof b, &mb), 0);
    ck_assert_uint_eq(ma, mb);
    ck_assert_int_eq(memcmp(a, b, ma), 0);
}
END_TEST

static char dir[64];

static void key_setup(void)
{
    strcpy(dir, "/tmp/gl-seal-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void key_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
    ck_assert_int_eq(fchmod(fd, mode), 0);
    close(fd);
}

START_TEST(test_key_files)
{
    char path[128], why[256];
    seal_key_t k, r;
    ck_assert_int_eq(seal_key_generate(&k), 0);
    /* Hex, created 0600 even under a permissive umask; read back equal. */
    mode_t old = umask(0);
    snprintf(path, sizeof path, "%s/A1.key", dir);
    ck_assert_int_eq(seal_key_write_file(path, &k, SEAL_KEY_HEX, why, sizeof why), 0);
    umask(old);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    ck_assert_int_eq(st.st_size, 65);
    ck_assert_int_eq(seal_key_read_file(path, &r, why, sizeof why), 0);
    ck_assert_int_eq(memcmp(k.k, r.k, 32), 0);
    /* Never overwritten. */
    ck_assert_int_eq(seal_key_write_file(path, &k, SEAL_KEY_HEX, why, sizeof why), GL_EEXIST);
    ck_assert_ptr_nonnull(strstr(why, "exists"));
    /* World- or group-readable: refused with the mode in the reason. */
    ck_assert_int_eq(chmod(path, 0644), 0);
    ck_assert_int_eq(seal_key_read_file(path, &r, why, sizeof why), GL_EACCES);
    ck_assert_ptr_nonnull(strstr(why, "0644"));
    ck_assert_int_eq(chmod(path, 0640), 0);
    ck_assert_int_eq(seal_key_read_file(path, &r, why, sizeof why), GL_EACCES);
    ck_assert_int_eq(chmod(path, 0400), 0);
    ck_assert_int_eq(seal_key_read_file(path, &r, why, sizeof why), 0);

    /* Raw. */
    snprintf(path, sizeof path, "%s/A2.key", dir);
    ck_assert_int_eq(seal_key_write_file(path, &k, SEAL_KEY_RAW, why, sizeof why), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 32);
    memset(&r, 0, sizeof r);
    ck_assert_int_eq(seal_key_read_file(path, &r, why, sizeof why), 0);
    ck_assert_int_eq(memcmp(k.k, r.k, 32), 0);

    /* Hex helpers: upper case and CRLF accepted, anything else refused. */
    char hex[SEAL_KEY_HEX_LEN + 1];
    seal_key_to_hex(&k, hex);
    ck_assert_uint_eq(strlen(hex), 64);
    for (char *p = hex; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    char crlf[80];
    snprintf(crlf, sizeof crlf, "%s\r\n", hex);
    ck_assert_int_eq(seal_key_from_hex(crlf, &r), 0);
    ck_assert_int_eq(memcmp(k.k, r.k, 32), 0);
    hex[10] = 'g';
    ck_assert_int_eq(seal_key_from_hex(hex, &r), GL_EPROTO);
    hex[10] = '0';
    hex[63] = '\0';
    ck_assert_int_eq(seal_key_from_hex(hex, &r), GL_EPROTO);

    /* Malformed files: 63 hex digits, 33 raw bytes, hex with garbage after it, empty. */
    snprintf(path, sizeof path, "%s/bad.key", dir);
    write_file(path, hex, 63, 0600);
    ck_assert_int_eq(seal_key_read_file(path, &r, why, sizeof why), GL_EPROTO);
    ck_assert_ptr_nonnull(strstr(why, "malformed"));
    unsigned char raw[33] = {1};
    write_file(path, raw, 33, 0600);
    ck_assert_int_eq(seal_key_read_file(path, &r, why, sizeof why), GL_EPROTO);
    seal_key_to_hex(&k, hex);
    snprintf(crlf, sizeof crlf, "%s x\n", hex);
    write_file(path, crlf, strlen(crlf), 0600);
    ck_assert_int_eq(seal_key_read_file(path, &r, why, sizeof why), GL_EPROTO);
    write_file(path, "", 0, 0600);
    ck_assert_int_eq(seal_key_read_file(path, &r, why, sizeof why), GL_EPROTO);
    /* Missing, and a directory. */
    snprintf(path, sizeof path, "%s/none.key", dir);
    ck_assert_int_eq(seal_key_read_file(path, &r, why, sizeof why), GL_ENOENT);
    ck_assert_int_eq(seal_key_read_file(dir, &r, why, sizeof why), GL_EACCES);
    /* A key file cannot be created in a missing directory; nothing is left behind. */
    snprintf(path, sizeof path, "%s/no/such.key", dir);
    ck_assert_int_eq(seal_key_write_file(path, &k, SEAL_KEY_HEX, why, sizeof why), GL_ENOENT);
}
END_TEST

static Suite *seal_suite(void)
{
    Suite *s = suite_create("seal");
    TCase *core = tcase_create("Core");
    tcase_add_test(core, test_round_trip_both_directions);
    tcase_add_test(core, test_replay_opens_identically);
    suite_add_tcase(s, core);
    TCase *errors = tcase_create("Errors");
    tcase_add_test(errors, test_forged_and_tampered_are_refused);
    tcase_add_test(errors, test_truncated_and_malformed);
    suite_add_tcase(s, errors);
    TCase *keys = tcase_create("Keys");
    tcase_add_checked_fixture(keys, key_setup, key_teardown);
    tcase_add_test(keys, test_key_files);
    suite_add_tcase(s, keys);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(seal_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
