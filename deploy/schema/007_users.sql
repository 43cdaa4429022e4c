-- Console users and their roles (docs/api.md, "Authentication"; dispatcher/auth.h). Passwords
-- are stored only as libsodium argon2id strings. Sessions are NOT stored: they live in the
-- dispatcher's memory only, so a restart logs everyone out and no session token is ever on
-- disk. Rows are written by the dispatcher (op `user.add`, through its journal) and read back
-- at start; every API action goes to audit_log (001_core.sql).
-- hospital_id is plain text, not a foreign key: the dispatcher does not know the hospitals
-- table, and a row refused here would only end in the journal's dead-letter file.
CREATE TABLE users (
    username        text PRIMARY KEY CHECK (username ~ '^[a-z0-9][a-z0-9._-]{0,31}$'),
    password_hash   text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    role            text NOT NULL CHECK (role IN ('call_taker', 'dispatcher', 'supervisor',
                                                  'ed', 'crew', 'admin')),
    hospital_id     text CHECK (hospital_id IS NULL OR hospital_id ~ '^[A-Za-z0-9._:/-]{1,32}$'),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- Audit lines are looked up by who and when.
CREATE INDEX audit_log_actor_at_idx ON audit_log (actor, at);
