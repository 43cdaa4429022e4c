/*
 * User and audit journal ops (see access.h).
 */
#include "access.h"

#include "api.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"

#include <sodium.h>
#include <string.h>

static const char *get_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* A "user" op, live or replayed: into the user table. */
static int apply_user(void *ctx, json_t *op)
{
    auth_t *a = ctx;
    auth_role_t role;
    if (auth_role_parse(get_str(op, "role"), &role) != 0)
        return GL_EPROTO;
    int rc = auth_user_set(a, get_str(op, "username"), get_str(op, "hash"), role,
                           get_str(op, "hospital"), json_is_true(json_object_get(op, "active")));
    return rc == GL_EINVAL ? GL_EPROTO : rc;
}

int access_attach(dispatch_t *d, auth_t *a)
{
    int rc = dispatch_register_op(d, "user", apply_user, a);
    return rc ? rc : dispatch_register_op(d, "audit", NULL, NULL);
}

json_t *access_user_add(dispatch_t *d, auth_t *a, json_t *req, json_t *id)
{
    const char *name = get_str(req, "username"), *role_text = get_str(req, "role");
    const char *hospital = get_str(req, "hospital"), *password = get_str(req, "password");
    const char *given_hash = get_str(req, "password_hash");
    json_t *active = json_object_get(req, "active");
    auth_role_t role;
    if (!auth_name_valid(name))
        return api_error(id, GL_EINVAL,
                         "\"username\": 1-32 of a-z 0-9 . _ -, starting with a "
                         "letter or digit");
    if (auth_role_parse(role_text, &role) != 0)
        return api_error(id, GL_EINVAL,
                         "\"role\" must be call_taker, dispatcher, supervisor, "
                         "ed, crew or admin");
    if (hospital && hospital[0] && !auth_hospital_valid(hospital))
        return api_error(id, GL_EINVAL, "\"hospital\": 1-32 of A-Z a-z 0-9 . _ : / -");
    if (role == AUTH_ROLE_ED && !(hospital && hospital[0]))
        return api_error(id, GL_EINVAL, "an ed user needs a \"hospital\"");
    if (active && !json_is_boolean(active))
        return api_error(id, GL_EINVAL, "\"active\" must be true or false");
    if (!password == !given_hash)
        return api_error(id, GL_EINVAL, "give one of \"password\" and \"password_hash\"");
    char hash[AUTH_HASH_LEN];
    if (given_hash) {
        if (!auth_hash_valid(given_hash))
            return api_error(id, GL_EINVAL, "\"password_hash\" must be an argon2id string");
        snprintf(hash, sizeof hash, "%s", given_hash);
    } else if (auth_hash_password(password, hash) != 0) {
        return api_error(id, GL_EINVAL, "\"password\": 1-1024 bytes");
    }
    int is_active = !active || json_is_true(active);
    json_t *op = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:I}", "t", "user", "username", name, "hash",
                           hash, "role", auth_role_name(role), "hospital", hospital ? hospital : "",
                           "active", is_active, "at", (json_int_t)gl_now_ms());
    sodium_memzero(hash, sizeof hash);
    int rc = dispatch_commit_ops(d, json_pack("[o]", op ? op : json_null()));
    if (rc)
        return api_error(id, rc, "the user could not be recorded");
    LOG_INFO("access", "user %s set: role %s%s%s%s", name, auth_role_name(role),
             hospital && hospital[0] ? ", hospital " : "", hospital ? hospital : "",
             is_active ? "" : ", inactive");
    json_t *u = json_pack("{s:s,s:s,s:b}", "username", name, "role", auth_role_name(role), "active",
                          is_active);
    if (hospital && hospital[0])
        json_object_set_new(u, "hospital", json_string(hospital));
    return json_pack("{s:O,s:b,s:{s:o}}", "id", id, "ok", 1, "result", "user", u);
}

int access_audit(dispatch_t *d, const char *actor, const char *action, const char *target, int ok,
                 json_t *detail)
{
    if (!detail)
        detail = json_object();
    json_object_set_new(detail, "ok", json_boolean(ok));
    json_t *op =
        json_pack("{s:s,s:I,s:s,s:s,s:s?,s:o}", "t", "audit", "at", (json_int_t)gl_now_ms(),
                  "actor", actor, "action", action, "target", target, "detail", detail);
    int rc = dispatch_commit_ops(d, json_pack("[o]", op ? op : json_null()));
    if (rc)
        LOG_ERR("access", "audit line for %s %s not recorded: %s", actor, action, gl_strerror(rc));
    return rc;
}
