/*
 * Users, sessions, login rate limits and the permission table of dispatcher/auth.h, driven
 * directly with chosen clocks: argon2id verification, wrong passwords, per-user and per-address
 * lockouts that start and end, session expiry and idle timeout, sessions ended by a changed
 * user, and who may call which op.
 */
#include "auth.h"
#include "err.h"

#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1795564800000LL
#define MIN 60000LL

static auth_params_t params(void)
{
    auth_params_t p = {.session_ttl_ms = 120 * MIN,
                       .idle_ms = 20 * MIN,
                       .fail_max_user = 3,
                       .fail_max_addr = 5,
                       .fail_window_ms = 10 * MIN};
    return p;
}

/* A table with user `name` whose password is `pw`. */
static auth_t *with_user(const char *name, const char *pw, auth_role_t role, const char *hosp)
{
    auth_params_t p = params();
    auth_t *a = auth_new(&p);
    ck_assert_ptr_nonnull(a);
    char hash[AUTH_HASH_LEN];
    ck_assert_int_eq(auth_hash_password(pw, hash), 0);
    ck_assert_int_eq(strncmp(hash, "$argon2id$", 10), 0);
    ck_assert_int_eq(auth_user_set(a, name, hash, role, hosp, 1), 0);
    return a;
}

START_TEST(test_argon2id_verify_and_wrong_password)
{
    auth_t *a = with_user("li.na", "correct horse", AUTH_ROLE_ED, "gxph");
    char token[AUTH_TOKEN_HEX_LEN + 1] = "";
    auth_identity_t who;
    ck_assert_int_eq(auth_login(a, "li.na", "correct horse", "10.0.0.1", T0, token, &who), 0);
    ck_assert_uint_eq(strlen(token), AUTH_TOKEN_HEX_LEN);
    ck_assert_str_eq(who.user, "li.na");
    ck_assert_int_eq(who.role, AUTH_ROLE_ED);
    ck_assert_str_eq(who.hospital, "gxph");
    ck_assert_int_eq(who.expires_ms, T0 + 120 * MIN);
    ck_assert_uint_eq(auth_session_count(a), 1);

    char t2[AUTH_TOKEN_HEX_LEN + 1] = "";
    ck_assert_int_eq(auth_login(a, "li.na", "correct horsE", "10.0.0.1", T0, t2, &who), GL_EACCES);
    ck_assert_int_eq(auth_login(a, "li.na", "", "10.0.0.1", T0, t2, &who), GL_EACCES);
    ck_assert_int_eq(auth_login(a, "nobody", "correct horse", "10.0.0.1", T0, t2, &who), GL_EACCES);
    ck_assert_str_eq(t2, "");
    ck_assert_uint_eq(auth_session_count(a), 1);

    /* The same password hashes differently each time (salted), and both verify. */
    char h1[AUTH_HASH_LEN], h2[AUTH_HASH_LEN];
    ck_assert_int_eq(auth_hash_password("pw-1", h1), 0);
    ck_assert_int_eq(auth_hash_password("pw-1", h2), 0);
    ck_assert_str_ne(h1, h2);
    ck_assert_int_eq(auth_verify(h1, "pw-1"), 1);
    ck_assert_int_eq(auth_verify(h2, "pw-1"), 1);
    ck_assert_int_eq(auth_verify(h1, "pw-2"), 0);

    /* An inactive user cannot log in even with the right password. */
    ck_assert_int_eq(auth_user_set(a, "li.na", h1, AUTH_ROLE_ED, "gxph", 0), 0);
    ck_assert_int_eq(auth_login(a, "li.na", "pw-1", "10.0.0.2", T0, t2, &who), GL_EACCES);
    auth_free(a);
}
END_TEST

START_TEST(test_user_table_refuses_bad_input)
{
    auth_t *a = auth_new(NULL);
    char hash[AUTH_HASH_LEN];
    ck_assert_int_eq(auth_hash_password("pw", hash), 0);
    ck_assert_int_eq(auth_user_set(a, "ok_name", "plain-text", AUTH_ROLE_CREW, NULL, 1), GL_EINVAL);
    ck_assert_int_eq(auth_user_set(a, "Upper", hash, AUTH_ROLE_CREW, NULL, 1), GL_EINVAL);
    ck_assert_int_eq(auth_user_set(a, "new\nline", hash, AUTH_ROLE_CREW, NULL, 1), GL_EINVAL);
    ck_assert_int_eq(auth_user_set(a, "-dash", hash, AUTH_ROLE_CREW, NULL, 1), GL_EINVAL);
    ck_assert_int_eq(auth_user_set(a, "ok", hash, AUTH_ROLE_CREW, "bad hospital", 1), GL_EINVAL);
    ck_assert_int_eq(auth_user_set(a, "ok", hash, AUTH_ROLE_COUNT, NULL, 1), GL_EINVAL);
    ck_assert_uint_eq(auth_user_count(a), 0);
    ck_assert_int_eq(auth_user_set(a, "ok", hash, AUTH_ROLE_CREW, NULL, 1), 0);
    ck_assert_int_eq(auth_user_set(a, "ok", hash, AUTH_ROLE_ADMIN, NULL, 1), 0);
    ck_assert_uint_eq(auth_user_count(a), 1);
    ck_assert_int_eq(auth_hash_password("", hash), GL_EINVAL);

    auth_role_t r;
    for (int i = 0; i < AUTH_ROLE_COUNT; i++) {
        ck_assert_int_eq(auth_role_parse(auth_role_name((auth_role_t)i), &r), 0);
        ck_assert_int_eq(r, i);
    }
    ck_assert_int_eq(auth_role_parse("operator", &r), GL_EINVAL);
    auth_free(a);
}
END_TEST

START_TEST(test_rate_limit_per_user_kicks_in_and_expires)
{
    auth_t *a = with_user("wang", "s3cret", AUTH_ROLE_DISPATCHER, NULL);
    char token[AUTH_TOKEN_HEX_LEN + 1];
    auth_identity_t who;
    for (int i = 0; i < 3; i++) /* three wrong, each from its own address */
        ck_assert_int_eq(auth_login(a, "wang", "guess",
                                    i == 0   ? "a1"
                                    : i == 1 ? "a2"
                                             : "a3",
                                    T0 + i * 1000, token, &who),
                         GL_EACCES);
    /* Locked: even the right password is refused, without being checked. */
    ck_assert_int_eq(auth_login(a, "wang", "s3cret", "a4", T0 + 5000, token, &who), GL_EAGAIN);
    ck_assert_int_eq(auth_login(a, "wang", "s3cret", "a4", T0 + 10 * MIN - 1, token, &who),
                     GL_EAGAIN);
    ck_assert_uint_eq(auth_session_count(a), 0);
    /* The window is over: the right password works again and resets the count. */
    ck_assert_int_eq(auth_login(a, "wang", "s3cret", "a4", T0 + 10 * MIN, token, &who), 0);
    ck_assert_int_eq(auth_login(a, "wang", "x", "a4", T0 + 11 * MIN, token, &who), GL_EACCES);
    ck_assert_int_eq(auth_login(a, "wang", "x", "a4", T0 + 11 * MIN, token, &who), GL_EACCES);
    ck_assert_int_eq(auth_login(a, "wang", "s3cret", "a4", T0 + 11 * MIN, token, &who), 0);
    /* Pruning forgets finished windows but not running ones. */
    auth_prune(a, T0 + 30 * MIN);
    ck_assert_int_eq(auth_login(a, "wang", "s3cret", "a4", T0 + 30 * MIN, token, &who), 0);
    auth_free(a);
}
END_TEST

START_TEST(test_rate_limit_per_address)
{
    auth_t *a = with_user("zhao", "pw", AUTH_ROLE_SUPERVISOR, NULL);
    char token[AUTH_TOKEN_HEX_LEN + 1];
    auth_identity_t who;
    char name[16];
    for (int i = 0; i < 5; i++) { /* five different made-up names from one address */
        snprintf(name, sizeof name, "u%d", i);
        ck_assert_int_eq(auth_login(a, name, "pw", "192.0.2.7", T0, token, &who), GL_EACCES);
    }
    ck_assert_int_eq(auth_login(a, "zhao", "pw", "192.0.2.7", T0 + 1000, token, &who), GL_EAGAIN);
    ck_assert_int_eq(auth_login(a, "zhao", "pw", "192.0.2.8", T0 + 1000, token, &who), 0);
    ck_assert_int_eq(auth_login(a, "zhao", "pw", "192.0.2.7", T0 + 10 * MIN, token, &who), 0);
    auth_free(a);
}
END_TEST

START_TEST(test_session_expiry_and_idle_timeout)
{
    auth_t *a = with_user("crew1", "pw", AUTH_ROLE_CREW, NULL);
    char t[AUTH_TOKEN_HEX_LEN + 1], t2[AUTH_TOKEN_HEX_LEN + 1];
    auth_identity_t who;
    ck_assert_int_eq(auth_login(a, "crew1", "pw", "a", T0, t, &who), 0);
    /* Used every 15 min (under the 20 min idle limit): alive until the 120 min expiry. */
    for (int64_t m = 15; m < 120; m += 15) {
        memset(&who, 0, sizeof who);
        ck_assert_int_eq(auth_session_check(a, t, T0 + m * MIN, &who), 0);
        ck_assert_str_eq(who.user, "crew1");
        ck_assert_int_eq(who.role, AUTH_ROLE_CREW);
    }
    ck_assert_int_eq(auth_session_check(a, t, T0 + 120 * MIN, &who), GL_EACCES);
    ck_assert_uint_eq(auth_session_count(a), 0);

    /* Idle: 20 min without a request ends it, 19:59 does not. */
    ck_assert_int_eq(auth_login(a, "crew1", "pw", "a", T0, t, &who), 0);
    ck_assert_int_eq(auth_session_check(a, t, T0 + 20 * MIN - 1, &who), 0);
    ck_assert_int_eq(auth_session_check(a, t, T0 + 40 * MIN - 1, &who), GL_EACCES);
    ck_assert_int_eq(auth_session_check(a, t, T0 + 40 * MIN - 2, &who), GL_EACCES); /* gone */

    /* Unknown and malformed tokens; logout; a changed user's sessions end. */
    ck_assert_int_eq(auth_login(a, "crew1", "pw", "a", T0, t, &who), 0);
    ck_assert_int_eq(auth_login(a, "crew1", "pw", "a", T0, t2, &who), 0);
    ck_assert_str_ne(t, t2);
    char forged[AUTH_TOKEN_HEX_LEN + 1];
    memcpy(forged, t, sizeof forged);
    forged[0] = forged[0] == 'a' ? 'b' : 'a';
    ck_assert_int_eq(auth_session_check(a, forged, T0, &who), GL_EACCES);
    ck_assert_int_eq(auth_session_check(a, "short", T0, &who), GL_EACCES);
    ck_assert_int_eq(auth_session_end(a, t), 0);
    ck_assert_int_eq(auth_session_check(a, t, T0, &who), GL_EACCES);
    ck_assert_int_eq(auth_session_check(a, t2, T0, &who), 0);
    char hash[AUTH_HASH_LEN];
    ck_assert_int_eq(auth_hash_password("new", hash), 0);
    ck_assert_int_eq(auth_user_set(a, "crew1", hash, AUTH_ROLE_CREW, NULL, 1), 0);
    ck_assert_int_eq(auth_session_check(a, t2, T0, &who), GL_EACCES);
    auth_free(a);
}
END_TEST

START_TEST(test_permission_table)
{
    /* An ED user reads and records events, but neither takes calls nor dispatches. */
    ck_assert(!auth_permits(AUTH_ROLE_ED, "call.new"));
    ck_assert(!auth_permits(AUTH_ROLE_ED, "assign"));
    ck_assert(!auth_permits(AUTH_ROLE_ED, "cancel"));
    ck_assert(!auth_permits(AUTH_ROLE_ED, "candidates"));
    ck_assert(auth_permits(AUTH_ROLE_ED, "timeline"));
    ck_assert(auth_permits(AUTH_ROLE_ED, "event.add"));
    ck_assert(auth_permits(AUTH_ROLE_ED, "subscribe"));
    /* A call-taker takes calls but neither assigns nor provisions. */
    ck_assert(auth_permits(AUTH_ROLE_CALL_TAKER, "call.new"));
    ck_assert(!auth_permits(AUTH_ROLE_CALL_TAKER, "assign"));
    ck_assert(!auth_permits(AUTH_ROLE_CALL_TAKER, "vehicle.add"));
    ck_assert(!auth_permits(AUTH_ROLE_CALL_TAKER, "user.add"));
    ck_assert(auth_permits(AUTH_ROLE_DISPATCHER, "assign"));
    ck_assert(!auth_permits(AUTH_ROLE_DISPATCHER, "stats"));
    ck_assert(auth_permits(AUTH_ROLE_SUPERVISOR, "stats"));
    ck_assert(!auth_permits(AUTH_ROLE_SUPERVISOR, "user.add"));
    ck_assert(!auth_permits(AUTH_ROLE_CREW, "call.new"));
    ck_assert(auth_permits(AUTH_ROLE_ADMIN, "user.add"));
    ck_assert(auth_permits(AUTH_ROLE_ADMIN, "vehicle.add"));
    /* Deny by default, except for admin. */
    ck_assert(!auth_permits(AUTH_ROLE_SUPERVISOR, "some.future.op"));
    ck_assert(auth_permits(AUTH_ROLE_ADMIN, "some.future.op"));
    ck_assert(!auth_permits(AUTH_ROLE_COUNT, "incidents"));
    ck_assert(!auth_permits(AUTH_ROLE_DISPATCHER, NULL));
}
END_TEST

int main(void)
{
    if (sodium_init() < 0)
        return EXIT_FAILURE;
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("Core");
    tcase_add_test(tc, test_argon2id_verify_and_wrong_password);
    tcase_add_test(tc, test_user_table_refuses_bad_input);
    tcase_add_test(tc, test_session_expiry_and_idle_timeout);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("Limits");
    tcase_add_test(tc, test_rate_limit_per_user_kicks_in_and_expires);
    tcase_add_test(tc, test_rate_limit_per_address);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("Permissions");
    tcase_add_test(tc, test_permission_table);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
