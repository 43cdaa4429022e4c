/*
 * Users and audit lines on the journal: the glue between auth.h (who may do what, pure), the
 * core's one mutation path (dispatch_commit_ops) and PostGIS (db_writer.c's "user" and "audit"
 * statements).
 *
 * A user change is a journal op {"t":"user","username","hash","role","hospital","active","at"}:
 * appended and fsync'd, then applied to the in-memory user table by the same function that
 * replays it after a restart, and copied to the users table. An audit line is an op
 * {"t":"audit","at","actor","action","target","detail"} that changes nothing in memory and
 * becomes one audit_log row. Neither ever carries a password, a session token or patient data:
 * actors are user names, targets are incident or user ids, details are outcome codes and client
 * addresses.
 */
#ifndef GL_ACCESS_H
#define GL_ACCESS_H

#include "auth.h"
#include "dispatch.h"

#include <jansson.h>

/*
 * Registers the "user" and "audit" op types with the core so that records holding them apply
 * (user ops to `a`, borrowed, which must outlive `d`). Call before the journal is replayed.
 * Returns 0 or GL_ENOSPC.
 */
int access_attach(dispatch_t *d, auth_t *a);

/*
 * The `user.add` op (docs/api.md): {"username","role","hospital"?,"password"|"password_hash",
 * "active"?}. A given password is hashed here with argon2id (tens of ms on the caller's
 * thread: an administrator's rare act); `password_hash` must be an argon2id string (goldlinectl
 * hashes locally, so the password never travels). An existing user is replaced (new password,
 * role or hospital; its sessions end). Returns the reply (new reference) for request id `id`.
 */
json_t *access_user_add(dispatch_t *d, auth_t *a, json_t *req, json_t *id);

/*
 * Journals one audit line: `actor` (user name or "operator"), `action` (the op, or "login"),
 * `target` (an incident or user id, or NULL), `ok`, and `detail` (a JSON object, stolen, or
 * NULL; never patient data) to which "ok" is added. Returns 0, or the journal's error (logged).
 */
int access_audit(dispatch_t *d, const char *actor, const char *action, const char *target, int ok,
                 json_t *detail);

#endif
