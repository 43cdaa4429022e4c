/*
 * Users, sessions, login rate limits and the permission table (see auth.h).
 *
 * Tables are small arrays searched linearly: a county has tens to hundreds of console users and
 * sessions, and a login is rare next to everything else the loop does. The failure table is
 * bounded (FAIL_MAX entries): when full, the entry whose window started first is reused, so a
 * flood of made-up names cannot grow memory.
 */
#include "auth.h"

#include "err.h"
#include "log.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL_MAX 4096
#define PASSWORD_MAX 1024

const auth_params_t auth_default_params = {
    .session_ttl_ms = 12 * 3600 * 1000LL,
    .idle_ms = 30 * 60 * 1000LL,
    .fail_max_user = 5,
    .fail_max_addr = 20,
    .fail_window_ms = 15 * 60 * 1000LL,
};

/* An argon2id string (interactive limits) of a random password nobody knows, thrown away when
 * this was written: what an unknown user's attempt is checked against, so it costs the same. */
static const char NOBODY_HASH[] = "$argon2id$v=19$m=65536,t=2,p=1$aCyQ2heVIKIB7QUtN0mxVQ$E13bh/"
                                  "ChfNunBDAPyJzEIs32l9r2SeFCqKWTMyrFod8";

struct user {
    char name[AUTH_NAME_LEN];
    char hash[AUTH_HASH_LEN];
    auth_role_t role;
    char hospital[AUTH_HOSPITAL_LEN];
    int active;
};

struct session {
    unsigned char token_hash[crypto_generichash_BYTES]; /* BLAKE2b of the hex token */
    auth_identity_t who;
    int64_t last_ms; /* last use, for the idle timeout */
};

struct fail {
    char key[72];      /* "u:<name>" or "a:<address>" */
    int count;         /* failures since window_ms */
    int64_t window_ms; /* when the first failure of the window happened */
};

struct auth {
    auth_params_t p;
    struct user *users;
    size_t nusers, cap_users;
    struct session *sessions;
    size_t nsessions, cap_sessions;
    struct fail *fails;
    size_t nfails;
};

static const char *const role_names[] = {
#define XX(name, text) text,
    AUTH_ROLE_MAP(XX)
#undef XX
};

const char *auth_role_name(auth_role_t r)
{
    return r >= 0 && r < AUTH_ROLE_COUNT ? role_names[r] : "?";
}

int auth_role_parse(const char *text, auth_role_t *out)
{
    for (int i = 0; text && i < AUTH_ROLE_COUNT; i++) {
        if (!strcmp(text, role_names[i])) {
            *out = (auth_role_t)i;
            return 0;
        }
    }
    return GL_EINVAL;
}

int auth_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= AUTH_NAME_LEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return 0;
    }
    return 1;
}

int auth_hospital_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= AUTH_HOSPITAL_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || strchr("._:/-", s[i])))
            return 0;
    return 1;
}

auth_t *auth_new(const auth_params_t *p)
{
    auth_t *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->p = p ? *p : auth_default_params;
    a->fails = calloc(FAIL_MAX, sizeof *a->fails);
    if (!a->fails) {
        free(a);
        return NULL;
    }
    return a;
}

void auth_free(auth_t *a)
{
    if (!a)
        return;
    sodium_memzero(a->users, a->cap_users * sizeof *a->users);
    sodium_memzero(a->sessions, a->cap_sessions * sizeof *a->sessions);
    free(a->users);
    free(a->sessions);
    free(a->fails);
    free(a);
}

static struct user *find_user(const auth_t *a, const char *name)
{
    for (size_t i = 0; name && i < a->nusers; i++)
        if (!strcmp(a->users[i].name, name))
            return &a->users[i];
    return NULL;
}

static void end_sessions_of(auth_t *a, const char *name)
{
    for (size_t i = 0; i < a->nsessions;) {
        if (!strcmp(a->sessions[i].who.user, name))
            a->sessions[i] = a->sessions[--a->nsessions];
        else
            i++;
    }
}

int auth_hash_valid(const char *hash)
{
    return hash && strlen(hash) < AUTH_HASH_LEN && !strncmp(hash, "$argon2id$", 10) &&
           crypto_pwhash_str_needs_rehash(hash, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != -1;
}

int auth_user_set(auth_t *a, const char *name, const char *hash, auth_role_t role,
                  const char *hospital, int active)
{
    if (!auth_name_valid(name) || !auth_hash_valid(hash) || role < 0 || role >= AUTH_ROLE_COUNT ||
        (hospital && hospital[0] && !auth_hospital_valid(hospital)))
        return GL_EINVAL;
    struct user *u = find_user(a, name);
    if (u) {
        end_sessions_of(a, name);
    } else {
        if (a->nusers == a->cap_users) {
            size_t cap = a->cap_users ? a->cap_users * 2 : 16;
            struct user *nu = realloc(a->users, cap * sizeof *nu);
            if (!nu)
                return GL_ENOMEM;
            a->users = nu;
            a->cap_users = cap;
        }
        u = &a->users[a->nusers++];
        memset(u, 0, sizeof *u);
        snprintf(u->name, sizeof u->name, "%s", name);
    }
    snprintf(u->hash, sizeof u->hash, "%s", hash);
    u->role = role;
    snprintf(u->hospital, sizeof u->hospital, "%s", hospital ? hospital : "");
    u->active = active;
    return 0;
}

size_t auth_user_count(const auth_t *a)
{
    return a->nusers;
}

int auth_hash_password(const char *password, char *out)
{
    size_t n = password ? strlen(password) : 0;
    if (n == 0 || n > PASSWORD_MAX)
        return GL_EINVAL;
    if (crypto_pwhash_str(out, password, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return GL_ENOMEM; /* libsodium's only failure here: the memory could not be had */
    return 0;
}

/* ---- failed logins ------------------------------------------------------------------------- */

static struct fail *find_fail(auth_t *a, const char *prefix, const char *what, int64_t now_ms,
                              int create)
{
    char key[sizeof a->fails[0].key];
    snprintf(key, sizeof key, "%s%s", prefix, what ? what : "");
    struct fail *oldest = NULL;
    for (size_t i = 0; i < a->nfails; i++) {
        struct fail *f = &a->fails[i];
        if (!strcmp(f->key, key)) {
            if (now_ms - f->window_ms >= a->p.fail_window_ms) { /* the window is over */
                f->count = 0;
                f->window_ms = now_ms;
            }
            return f;
        }
        if (!oldest || f->window_ms < oldest->window_ms)
            oldest = f;
    }
    if (!create)
        return NULL;
    struct fail *f = a->nfails < FAIL_MAX ? &a->fails[a->nfails++] : oldest;
    snprintf(f->key, sizeof f->key, "%s", key);
    f->count = 0;
    f->window_ms = now_ms;
    return f;
}

static int over_limit(auth_t *a, const char *user, const char *addr, int64_t now_ms)
{
    struct fail *fu = find_fail(a, "u:", user, now_ms, 0);
    struct fail *fa = find_fail(a, "a:", addr, now_ms, 0);
    return (fu && fu->count >= a->p.fail_max_user) || (fa && fa->count >= a->p.fail_max_addr);
}

int auth_addr_blocked(auth_t *a, const char *addr, int64_t now_ms)
{
    struct fail *fa = find_fail(a, "a:", addr, now_ms, 0);
    return fa && fa->count >= a->p.fail_max_addr;
}

void auth_addr_failed(auth_t *a, const char *addr, int64_t now_ms)
{
    find_fail(a, "a:", addr, now_ms, 1)->count++;
}

int auth_login_begin(auth_t *a, const char *user, const char *addr, int64_t now_ms, char *hash)
{
    if (over_limit(a, user, addr, now_ms))
        return GL_EAGAIN;
    const struct user *u = auth_name_valid(user) ? find_user(a, user) : NULL;
    snprintf(hash, AUTH_HASH_LEN, "%s", u && u->active ? u->hash : NOBODY_HASH);
    return 0;
}

int auth_verify(const char *hash, const char *password)
{
    size_t n = password ? strlen(password) : 0;
    return n > 0 && n <= PASSWORD_MAX && crypto_pwhash_str_verify(hash, password, n) == 0;
}

int auth_login_finish(auth_t *a, const char *user, const char *addr, int verified, int64_t now_ms,
                      char *token, auth_identity_t *who)
{
    const struct user *u = auth_name_valid(user) ? find_user(a, user) : NULL;
    if (!verified || !u || !u->active) {
        struct fail *fu = find_fail(a, "u:", user, now_ms, 1);
        struct fail *fa = find_fail(a, "a:", addr, now_ms, 1);
        fu->count++;
        fa->count++;
        return GL_EACCES;
    }
    struct fail *fu = find_fail(a, "u:", user, now_ms, 0);
    if (fu)
        fu->count = 0; /* the address keeps its count: one good account must not reset it */
    if (a->nsessions == a->cap_sessions) {
        size_t cap = a->cap_sessions ? a->cap_sessions * 2 : 16;
        struct session *ns = realloc(a->sessions, cap * sizeof *ns);
        if (!ns)
            return GL_ENOMEM;
        a->sessions = ns;
        a->cap_sessions = cap;
    }
    struct session *s = &a->sessions[a->nsessions++];
    memset(s, 0, sizeof *s);
    unsigned char raw[AUTH_TOKEN_HEX_LEN / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(token, AUTH_TOKEN_HEX_LEN + 1, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    crypto_generichash(s->token_hash, sizeof s->token_hash, (const unsigned char *)token,
                       AUTH_TOKEN_HEX_LEN, NULL, 0);
    snprintf(s->who.user, sizeof s->who.user, "%s", u->name);
    s->who.role = u->role;
    snprintf(s->who.hospital, sizeof s->who.hospital, "%s", u->hospital);
    s->who.expires_ms = now_ms + a->p.session_ttl_ms;
    s->last_ms = now_ms;
    *who = s->who;
    return 0;
}

int auth_login(auth_t *a, const char *user, const char *password, const char *addr, int64_t now_ms,
               char *token, auth_identity_t *who)
{
    char hash[AUTH_HASH_LEN];
    int rc = auth_login_begin(a, user, addr, now_ms, hash);
    if (rc)
        return rc;
    return auth_login_finish(a, user, addr, auth_verify(hash, password), now_ms, token, who);
}

/* ---- sessions ------------------------------------------------------------------------------ */

static struct session *find_session(auth_t *a, const char *token)
{
    if (!token || strlen(token) != AUTH_TOKEN_HEX_LEN)
        return NULL;
    unsigned char h[crypto_generichash_BYTES];
    crypto_generichash(h, sizeof h, (const unsigned char *)token, AUTH_TOKEN_HEX_LEN, NULL, 0);
    for (size_t i = 0; i < a->nsessions; i++)
        if (sodium_memcmp(a->sessions[i].token_hash, h, sizeof h) == 0)
            return &a->sessions[i];
    return NULL;
}

static int session_dead(const auth_t *a, const struct session *s, int64_t now_ms)
{
    return now_ms >= s->who.expires_ms || now_ms - s->last_ms >= a->p.idle_ms;
}

int auth_session_check(auth_t *a, const char *token, int64_t now_ms, auth_identity_t *who)
{
    struct session *s = find_session(a, token);
    if (!s)
        return GL_EACCES;
    if (session_dead(a, s, now_ms)) {
        *s = a->sessions[--a->nsessions];
        return GL_EACCES;
    }
    s->last_ms = now_ms;
    *who = s->who;
    return 0;
}

int auth_session_alive(auth_t *a, const char *token, int64_t now_ms)
{
    struct session *s = find_session(a, token);
    return s && !session_dead(a, s, now_ms);
}

int auth_session_end(auth_t *a, const char *token)
{
    struct session *s = find_session(a, token);
    if (!s)
        return GL_ENOENT;
    *s = a->sessions[--a->nsessions];
    return 0;
}

size_t auth_session_count(const auth_t *a)
{
    return a->nsessions;
}

void auth_prune(auth_t *a, int64_t now_ms)
{
    for (size_t i = 0; i < a->nsessions;) {
        if (session_dead(a, &a->sessions[i], now_ms))
            a->sessions[i] = a->sessions[--a->nsessions];
        else
            i++;
    }
    for (size_t i = 0; i < a->nfails;) {
        if (now_ms - a->fails[i].window_ms >= a->p.fail_window_ms)
            a->fails[i] = a->fails[--a->nfails];
        else
            i++;
    }
}

/* ---- permissions --------------------------------------------------------------------------- */

#define R(x) (1u << AUTH_ROLE_##x)
#define ALL (R(CALL_TAKER) | R(DISPATCHER) | R(SUPERVISOR) | R(ED) | R(CREW) | R(ADMIN))
#define OPS (R(CALL_TAKER) | R(DISPATCHER) | R(SUPERVISOR) | R(ADMIN))
#define DISP (R(DISPATCHER) | R(SUPERVISOR) | R(ADMIN))

/* Who may call what. An ED user's reads are further narrowed to its hospital's patients (ws.c). */
static const struct {
    const char *op;
    unsigned roles;
} permissions[] = {
    {"call.new", OPS},
    {"candidates", OPS},
    {"assign", DISP},
    {"cancel", DISP},
    {"event.add", ALL},
    {"clocks", ALL},
    {"coverage", OPS},
    {"destination", DISP},
    {"hospital.status", DISP | R(ED)}, /* an ED user: its own hospital only (ws.c) */
    {"road.close", DISP},
    {"road.slow", DISP},
    {"road.open", DISP},
    {"roads.closures", DISP},
    {"incident", ALL},
    {"incidents", ALL},
    {"timeline", ALL},
    {"fleet", ALL},
    {"subscribe", ALL},
    {"logout", ALL},
    {"stats", R(SUPERVISOR) | R(ADMIN)},
    {"inbound", R(DISPATCHER) | R(SUPERVISOR) | R(ED) | R(ADMIN)},
    {"alert.ack", OPS | R(ED)}, /* an ED user: its hospital's patients (ws.c) */
    {"map.layers", ALL},
    {"map.roads", ALL},
    {"route", ALL},
    {"places.search", ALL},
    {"vitals.subscribe", R(SUPERVISOR) | R(ED) | R(ADMIN)},
    {"vitals.unsubscribe", R(SUPERVISOR) | R(ED) | R(ADMIN)},
    {"vitals.stats", R(SUPERVISOR) | R(ED) | R(ADMIN)},
    {"vehicle.add", R(ADMIN)},
    {"user.add", R(ADMIN)},
};

int auth_permits(auth_role_t role, const char *op)
{
    if (role == AUTH_ROLE_ADMIN)
        return 1;
    if (role < 0 || role >= AUTH_ROLE_COUNT || !op)
        return 0;
    for (size_t i = 0; i < sizeof permissions / sizeof permissions[0]; i++)
        if (!strcmp(permissions[i].op, op))
            return (permissions[i].roles & (1u << role)) != 0;
    return 0;
}
