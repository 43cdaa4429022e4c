/*
 * The console users of PostGIS (deploy/schema/007_users.sql) loaded at start, blocking like
 * db_load() (nothing is served yet). Only this file and db_users.c know the users table's SQL
 * for reading; changes while running go through the journal (access.c, db_writer.c).
 */
#ifndef GL_DB_USERS_H
#define GL_DB_USERS_H

#include "auth.h"

/*
 * Connects to `conninfo` (the server is up: db_load() waited for it), reads every row of
 * `users` into `a` and logs how many. A row auth_user_set() refuses is skipped with a warning.
 * Returns 0 or GL_EDB (message logged).
 */
int db_users_load(const char *conninfo, auth_t *a);

#endif
