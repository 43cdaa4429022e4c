/*
 * Users, roles, sessions and login rate limits of the console API (docs/api.md,
 * "Authentication"), with no socket and no database in sight: ws.c asks, db_users.c fills the
 * user table at start, access.c carries user changes through the journal.
 *
 * Passwords are stored only as libsodium argon2id strings ("$argon2id$v=19$m=...") and checked
 * with crypto_pwhash_str_verify, which costs tens of milliseconds and 64 MiB on purpose: ws.c
 * runs it on libuv's thread pool, between auth_login_begin() and auth_login_finish(), so the
 * loop never waits for it. Sessions live in memory only (a restart logs everyone out): a
 * random 256-bit token, of which only the BLAKE2b hash is kept, with an absolute expiry and an
 * idle timeout. Failed logins are counted per user name and per client address in a fixed
 * window; past the limit further attempts are refused without even checking the password until
 * the window ends.
 *
 * The permission table (which role may call which API op) is here too, so one place answers
 * "who may do what". The operator token of var/api-token is the role admin.
 */
#ifndef GL_AUTH_H
#define GL_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_ROLE_MAP(XX)                                                                          \
    XX(CALL_TAKER, "call_taker")                                                                   \
    XX(DISPATCHER, "dispatcher")                                                                   \
    XX(SUPERVISOR, "supervisor")                                                                   \
    XX(ED, "ed")                                                                                   \
    XX(CREW, "crew")                                                                               \
    XX(ADMIN, "admin")

typedef enum auth_role {
#define XX(name, text) AUTH_ROLE_##name,
    AUTH_ROLE_MAP(XX)
#undef XX
        AUTH_ROLE_COUNT
} auth_role_t;

const char *auth_role_name(auth_role_t r);
/* Returns 0 and *out for a role name, GL_EINVAL otherwise. */
int auth_role_parse(const char *text, auth_role_t *out);

#define AUTH_NAME_LEN 33      /* user names: 1-32 of [a-z0-9._-], starting alphanumeric */
#define AUTH_HOSPITAL_LEN 33  /* hospital ids: 1-32 characters */
#define AUTH_HASH_LEN 128     /* crypto_pwhash_STRBYTES */
#define AUTH_TOKEN_HEX_LEN 64 /* session tokens: 32 random bytes in hex */

/* 1 if `s` is a valid user name / hospital id (1-32 characters of [a-z0-9._-], starting
 * alphanumeric / of [A-Za-z0-9._:/-]): short and harmless, fit for logs and audit lines. */
int auth_name_valid(const char *s);
int auth_hospital_valid(const char *s);

/* Who is behind a session or a connection. */
typedef struct auth_identity {
    char user[AUTH_NAME_LEN]; /* "" for the operator token */
    auth_role_t role;
    char hospital[AUTH_HOSPITAL_LEN]; /* "" unless the user belongs to a hospital */
    int64_t expires_ms;               /* absolute end of the session; 0 for the operator token */
} auth_identity_t;

typedef struct auth_params {
    int64_t session_ttl_ms; /* a session ends this long after login, used or not */
    int64_t idle_ms;        /* ... or this long after its last request */
    int fail_max_user;      /* failed logins per user name per window */
    int fail_max_addr;      /* failed logins per client address per window */
    int64_t fail_window_ms; /* the counting window; also how long a lockout lasts */
} auth_params_t;

/* 12 h sessions, 30 min idle, 5 failures per user and 20 per address in 15 min. */
extern const auth_params_t auth_default_params;

typedef struct auth auth_t;

/* Creates an empty user table (params copied; NULL: auth_default_params). NULL on ENOMEM. */
auth_t *auth_new(const auth_params_t *p);
void auth_free(auth_t *a);

/*
 * Adds or replaces user `name` with argon2id string `hash`, `role`, `hospital` (NULL or "" for
 * none) and `active`. A replaced user's sessions end (a new password or role takes effect at
 * once). Returns 0, GL_EINVAL (bad name, hospital, or a hash that is not argon2id) or
 * GL_ENOMEM.
 */
int auth_user_set(auth_t *a, const char *name, const char *hash, auth_role_t role,
                  const char *hospital, int active);

/* Number of users known. */
size_t auth_user_count(const auth_t *a);

/*
 * Hashes `password` into out[AUTH_HASH_LEN] with argon2id at libsodium's interactive limits.
 * Slow on purpose (tens of ms, 64 MiB). Returns 0, GL_EINVAL (empty or over 1024 bytes) or
 * GL_ENOMEM.
 */
int auth_hash_password(const char *password, char *out);

/* 1 if `hash` is an argon2id string libsodium can verify against. */
int auth_hash_valid(const char *hash);

/*
 * A login in two steps, so that the slow verification can run off the loop.
 * auth_login_begin(): refuses at once (GL_EAGAIN) when `user` or `addr` is over its failure
 * limit, else copies into hash[AUTH_HASH_LEN] what the password is to be checked against (for
 * an unknown or inactive user, a hash no password matches, so timing does not tell them apart)
 * and returns 0. Then call auth_verify(hash, password) anywhere, and pass its result to
 * auth_login_finish(): on success (verified and the user still active) a session is created,
 * its token written to token[AUTH_TOKEN_HEX_LEN + 1], the identity to *who, and 0 returned;
 * on failure the attempt is counted against both `user` and `addr` and GL_EACCES returned.
 */
int auth_login_begin(auth_t *a, const char *user, const char *addr, int64_t now_ms, char *hash);
int auth_verify(const char *hash, const char *password);
int auth_login_finish(auth_t *a, const char *user, const char *addr, int verified, int64_t now_ms,
                      char *token, auth_identity_t *who);

/* The three steps at once (tests, tools): returns 0, GL_EAGAIN or GL_EACCES as above. */
int auth_login(auth_t *a, const char *user, const char *password, const char *addr, int64_t now_ms,
               char *token, auth_identity_t *who);

/* The per-address limit alone, for the other ways in (a wrong operator token or session
 * token): auth_addr_blocked() says whether `addr` is over it, auth_addr_failed() counts one
 * failure against it. */
int auth_addr_blocked(auth_t *a, const char *addr, int64_t now_ms);
void auth_addr_failed(auth_t *a, const char *addr, int64_t now_ms);

/*
 * Checks session `token` at `now_ms`: 0 and *who if it is valid (its idle clock restarts),
 * GL_EACCES if unknown, expired or idle too long (it is then forgotten).
 */
int auth_session_check(auth_t *a, const char *token, int64_t now_ms, auth_identity_t *who);

/* 1 if session `token` is still valid at now_ms; unlike auth_session_check it does not count
 * as activity (a screen that only watches does not keep a login alive). */
int auth_session_alive(auth_t *a, const char *token, int64_t now_ms);

/* Ends session `token` (logout). Returns 0 or GL_ENOENT. */
int auth_session_end(auth_t *a, const char *token);

/* Sessions now open. */
size_t auth_session_count(const auth_t *a);

/* Forgets expired sessions and finished failure windows (call about once a minute). */
void auth_prune(auth_t *a, int64_t now_ms);

/*
 * 1 if `role` may call API op `op`. Deny by default: an op missing from the table is refused
 * to every role but admin (new ops are opened to other roles by adding them to auth.c).
 */
int auth_permits(auth_role_t role, const char *op);

#endif
