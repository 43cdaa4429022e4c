/*
 * Loading the console users at start (see db_users.h).
 */
#include "db_users.h"

#include "err.h"
#include "log.h"

#include <libpq-fe.h>
#include <string.h>

static const char SQL_USERS[] =
    "SELECT username, password_hash, role, coalesce(hospital_id, ''), active FROM users "
    "ORDER BY username";

int db_users_load(const char *conninfo, auth_t *a)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        LOG_ERR("db", "users: cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return GL_EDB;
    }
    PGresult *r = PQexec(c, SQL_USERS);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        LOG_ERR("db", "users: %s", PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        return GL_EDB;
    }
    int n = PQntuples(r), loaded = 0;
    for (int i = 0; i < n; i++) {
        auth_role_t role;
        const char *name = PQgetvalue(r, i, 0);
        if (auth_role_parse(PQgetvalue(r, i, 2), &role) != 0 ||
            auth_user_set(a, name, PQgetvalue(r, i, 1), role, PQgetvalue(r, i, 3),
                          !strcmp(PQgetvalue(r, i, 4), "t")) != 0) {
            LOG_WARN("db", "users: row %d refused (bad role, hospital or hash): skipped", i);
            continue;
        }
        loaded++;
    }
    PQclear(r);
    PQfinish(c);
    LOG_INFO("db", "users: %d loaded", loaded);
    return 0;
}
