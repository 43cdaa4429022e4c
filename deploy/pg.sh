#!/usr/bin/env bash
# goldline's private PostgreSQL 15 + PostGIS + pgRouting cluster, for development and tests.
#
#   deploy/pg.sh start          initdb if needed, start, ensure role/database/extensions
#   deploy/pg.sh stop           fast shutdown (idempotent)
#   deploy/pg.sh status         exit 0 if running, 3 if stopped
#   deploy/pg.sh psql [args]    psql on the goldline database as role goldline
#   deploy/pg.sh url            print the libpq conninfo (with the password)
#   deploy/pg.sh drop-db        drop the database (GOLDLINE_PG_DB; refuses the default one)
#
# GOLDLINE_PG_DB=NAME works on another database of the same cluster (created with PostGIS and
# pgRouting by `start`); the integration test uses goldline_it so a demo's data is left alone.
#
# The cluster lives in <repo>/var/pg (data/, run/ = unix socket, log/postgres.log) and listens
# on 127.0.0.1 only, port 5433 (GOLDLINE_PG_PORT overrides). TCP logins use scram-sha-256 with
# the generated password in <repo>/var/pg.password (0600); the unix socket (private directory)
# uses peer auth and is only used by this script for administration.
#
# As root: PostgreSQL refuses to run as root, so the server runs as the `postgres` system user
# (GOLDLINE_PG_USER overrides). If that user cannot reach <repo>/var (e.g. a clone under the
# 0700 /root), the cluster goes to /var/lib/goldline-pg/<hash of the repo path>/ and
# <repo>/var/pg is a symlink to it. See deploy/README.md.
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
EXT_BASE=/var/lib/goldline-pg  # home of clusters the server user cannot reach inside the repo
DB_NAME="${GOLDLINE_PG_DB:-goldline}"  # the integration test uses its own database
DB_ROLE=goldline

prog="pg.sh"
die() { echo "$prog: $*" >&2; exit 1; }
say() { echo "$prog: $*"; }

root=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
var="$root/var"
link="$var/pg"             # the cluster directory, or a symlink to it
pwfile="$var/pg.password"
lockfile="$var/pg.lock"

case "$DB_NAME" in
    '' | *[!a-z0-9_]*) die "GOLDLINE_PG_DB must be lower-case letters, digits and _, not '$DB_NAME'" ;;
esac

port="${GOLDLINE_PG_PORT:-5433}"
case "$port" in
    '' | *[!0-9]*) die "GOLDLINE_PG_PORT must be a port number, not '$port'" ;;
esac
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    die "GOLDLINE_PG_PORT out of range: $port"
fi

is_root=0
[ "$(id -u)" -eq 0 ] && is_root=1

# --- the cluster directory and the user the server runs as --------------------------------------

cl=""       # real path of the cluster directory (set by find_cluster / make_cluster)
su_user=""  # the user the server runs as

# Sets cl/su_user from an existing var/pg. Returns 1 when there is none.
find_cluster() {
    if [ -L "$link" ] && [ ! -e "$link" ]; then
        return 1  # dangling symlink: the external directory was removed; make_cluster redoes it
    fi
    [ -d "$link" ] || return 1
    cl=$(readlink -f "$link")
    su_user=$(stat -c %U "$cl")
    return 0
}

# Runs a command as the server user, with a clean environment (no stray PGHOST, PGOPTIONS...)
# and / as working directory (the server user may not be able to enter the caller's).
as_su() {
    local envv=(env -i -C / PATH=/usr/bin:/bin LC_ALL=C.UTF-8 LANG=C.UTF-8 HOME=/nonexistent)
    if [ "$is_root" -eq 1 ]; then
        runuser -u "$su_user" -- "${envv[@]}" "$@"
    else
        "${envv[@]}" "$@"
    fi
}

# Creates var/pg (directory or symlink) when missing and sets cl/su_user.
make_cluster() {
    if [ "$is_root" -eq 0 ]; then
        su_user=$(id -un)
        mkdir -p "$link"
        chmod 0700 "$link"
        cl=$(readlink -f "$link")
        return 0
    fi

    su_user="${GOLDLINE_PG_USER:-postgres}"
    id -u "$su_user" >/dev/null 2>&1 ||
        die "user '$su_user' does not exist (run deploy/setup.sh: postgresql-15 creates it)"
    [ "$(id -u "$su_user")" -ne 0 ] || die "the server cannot run as root (GOLDLINE_PG_USER)"
    command -v runuser >/dev/null 2>&1 || die "runuser (util-linux) is needed when run as root"

    if [ -L "$link" ]; then
        # Dangling symlink to an external cluster directory that was removed: recreate it.
        local target
        target=$(readlink "$link")
        case "$target" in
            "$EXT_BASE"/*) ;;
            *) die "$link is a symlink to $target, which does not exist; remove it" ;;
        esac
        rm -f "$link"
    fi

    if runuser -u "$su_user" -- test -x "$var" 2>/dev/null; then
        mkdir "$link"
        chown "$su_user:" "$link"
        chmod 0700 "$link"
        cl="$link"
    else
        # The server user cannot traverse to the repository (e.g. it is under the 0700 /root):
        # keep the cluster where it can, and point var/pg at it.
        local hash ext
        hash=$(printf '%s' "$root" | sha256sum | cut -c1-16)
        ext="$EXT_BASE/$hash"
        mkdir -p "$EXT_BASE"
        chmod 0755 "$EXT_BASE"
        mkdir -p "$ext"
        chown "$su_user:" "$ext"
        chmod 0700 "$ext"
        printf '%s\n' "$root" >"$ext/REPOSITORY"  # which clone this cluster belongs to
        ln -s "$ext" "$link"
        cl="$ext"
        say "$su_user cannot reach $var: cluster directory is $ext ($link links to it)"
    fi
}

# Checks that the current user may manage the cluster owned by su_user.
check_owner() {
    if [ "$su_user" = root ]; then
        die "$cl belongs to root; PostgreSQL cannot run as root. Remove it (rm -rf $link) and retry"
    fi
    if [ "$is_root" -eq 0 ] && [ "$su_user" != "$(id -un)" ]; then
        die "$cl belongs to $su_user, not $(id -un): run this as root or $su_user"
    fi
}

# --- server state --------------------------------------------------------------------------------

# Prints the postmaster's pid if this cluster's postmaster is running. A postmaster.pid whose
# process is gone, or is some other process that reused the pid after a crash or reboot, does
# not count (the postmaster's working directory is its data directory: that is the test).
running_pid() {
    local pidfile="$cl/data/postmaster.pid" pid cwd
    [ -f "$pidfile" ] || return 1
    pid=$(head -n 1 "$pidfile" 2>/dev/null) || return 1
    case "$pid" in '' | *[!0-9]*) return 1 ;; esac
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
    [ "$cwd" = "$cl/data" ] || return 1
    echo "$pid"
}

# Port the running postmaster listens on (4th line of postmaster.pid).
running_port() {
    sed -n 4p "$cl/data/postmaster.pid" 2>/dev/null || true
}

# Pids of leftover processes of this cluster (backends of a postmaster that was killed).
leftover_pids() {
    local d pid
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        [ "$(readlink "$d/cwd" 2>/dev/null)" = "$cl/data" ] && echo "$pid"
    done
    return 0
}

# After a crash: removes a stale postmaster.pid / socket lock and waits for orphans to exit.
clean_stale() {
    [ -f "$cl/data/postmaster.pid" ] || return 0
    say "removing stale postmaster.pid (server crashed or machine rebooted)"
    local i left
    for i in $(seq 1 30); do
        left=$(leftover_pids | tr '\n' ' ')
        [ -z "$left" ] && break
        if [ "$i" -eq 20 ]; then
            say "killing orphaned processes of the crashed server: $left"
            # shellcheck disable=SC2086
            kill -KILL $left 2>/dev/null || true
        fi
        sleep 0.5
    done
    left=$(leftover_pids | tr '\n' ' ')
    [ -z "$left" ] || die "orphaned processes of the crashed server still running: $left"
    as_su rm -f "$cl/data/postmaster.pid"
    as_su find "$cl/run" -maxdepth 1 -name '.s.PGSQL.*' -delete
}

# Fails with a clear message if something else listens on the port.
check_port_free() {
    command -v ss >/dev/null 2>&1 || return 0  # the server's own bind error will tell
    local listeners
    listeners=$(ss -Hltnp "sport = :$port" 2>/dev/null || true)
    if [ -n "$listeners" ]; then
        echo "$prog: port $port is already in use by something else:" >&2
        echo "$listeners" >&2
        die "stop it, or choose another port with GOLDLINE_PG_PORT=..."
    fi
}

# --- configuration -------------------------------------------------------------------------------

# Writes our settings and access rules; rewritten on every start so that changes here apply.
write_config() {
    as_su tee "$cl/data/goldline.conf" >/dev/null <<EOF
# Written by deploy/pg.sh on every start: edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$cl/run'
unix_socket_permissions = 0700
max_connections = 50
shared_buffers = 128MB
fsync = on
synchronous_commit = on
password_encryption = 'scram-sha-256'
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    as_su tee "$cl/data/pg_hba.conf" >/dev/null <<EOF
# Written by deploy/pg.sh on every start: edit the script, not this file.
# Unix socket (in the private directory $cl/run): administration by the server user.
local   all   all                  peer
# TCP on loopback only: password (scram-sha-256), see var/pg.password.
host    all   all   127.0.0.1/32   scram-sha-256
EOF
}

init_cluster() {
    say "initialising a new cluster in $cl/data (server user: $su_user)"
    as_su mkdir -p -m 0700 "$cl/data" "$cl/run" "$cl/log"
    as_su "$PG_BIN/initdb" -D "$cl/data" -U "$su_user" -E UTF8 --locale=C.UTF-8 \
        --auth-local=peer --auth-host=scram-sha-256 >"$cl/initdb.log" 2>&1 || {
        cat "$cl/initdb.log" >&2
        die "initdb failed"
    }
    echo "include 'goldline.conf'" | as_su tee -a "$cl/data/postgresql.conf" >/dev/null
}

# Creates the password file if missing; prints the password.
password() {
    if [ ! -s "$pwfile" ]; then
        [ "${1:-}" = create ] || die "no $pwfile: run '$0 start' first"
        (umask 077 && od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$pwfile.tmp")
        mv "$pwfile.tmp" "$pwfile"
    fi
    chmod 0600 "$pwfile"
    local pw
    pw=$(cat "$pwfile")
    case "$pw" in
        '' | *[!0-9a-f]*) die "$pwfile is not a password written by this script; remove it" ;;
    esac
    echo "$pw"
}

conninfo_nopw() {
    echo "host=127.0.0.1 port=$port dbname=$DB_NAME user=$DB_ROLE sslmode=disable gssencmode=disable"
}

admin_psql() {  # admin_psql DB: runs SQL from stdin as the superuser over the private socket
    as_su "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$cl/run" -p "$port" -U "$su_user" -d "$1"
}

# Role, database and extensions; also resets the role's password to the one in var/pg.password
# (so a fresh clone that reuses an external cluster directory, or a deleted file, just works).
ensure_db() {
    local pw
    pw=$(password create)
    admin_psql postgres <<EOF
SELECT format('CREATE ROLE %I LOGIN CREATEDB', '$DB_ROLE')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$DB_ROLE') \gexec
ALTER ROLE $DB_ROLE WITH LOGIN PASSWORD '$pw';
SELECT format('CREATE DATABASE %I OWNER %I ENCODING ''UTF8''', '$DB_NAME', '$DB_ROLE')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB_NAME') \gexec
EOF
    admin_psql "$DB_NAME" <<EOF
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pgrouting;
EOF
}

# --- commands ------------------------------------------------------------------------------------

cmd_start() {
    [ -x "$PG_BIN/postgres" ] || die "$PG_BIN/postgres not found: run deploy/setup.sh"
    [ -f /usr/share/postgresql/15/extension/postgis.control ] ||
        die "PostGIS for PostgreSQL 15 is not installed: run deploy/setup.sh"
    mkdir -p "$var"
    exec 9>"$lockfile"
    flock 9  # one start at a time per clone (parallel test runners)

    if ! find_cluster; then
        make_cluster
    fi
    check_owner

    local pid
    if pid=$(running_pid); then
        local rport
        rport=$(running_port)
        if [ "$rport" != "$port" ]; then
            die "already running on port $rport (pid $pid), not $port: '$0 stop' first"
        fi
        say "already running (pid $pid, port $port, $cl/data)"
        ensure_db
        return 0
    fi

    as_su mkdir -p -m 0700 "$cl/run" "$cl/log"
    [ -f "$cl/data/PG_VERSION" ] || init_cluster
    clean_stale
    check_port_free
    write_config

    local log="$cl/log/postgres.log"
    # 9>&-: the postmaster must not inherit the start lock, or the next start waits for ever.
    if ! as_su "$PG_BIN/pg_ctl" -D "$cl/data" -l "$log" -w -t 60 -s start 9>&-; then
        echo "$prog: the server did not start; end of $log:" >&2
        tail -n 20 "$log" >&2 || true
        exit 1
    fi
    ensure_db
    say "running on 127.0.0.1:$port (data: $cl/data, log: $log)"
}

cmd_stop() {
    if ! find_cluster; then
        say "no cluster ($link does not exist)"
        return 0
    fi
    check_owner
    local pid
    if ! pid=$(running_pid); then
        say "not running"
        return 0
    fi
    as_su "$PG_BIN/pg_ctl" -D "$cl/data" -m fast -w -t 60 -s stop
    say "stopped (was pid $pid)"
}

cmd_status() {
    if ! find_cluster || [ ! -f "$cl/data/PG_VERSION" ]; then
        echo "stopped (not initialised: no $link)"
        exit 3
    fi
    check_owner
    local pid
    if pid=$(running_pid); then
        echo "running: pid $pid, 127.0.0.1:$(running_port), data $cl/data, server user $su_user"
        exit 0
    fi
    echo "stopped: port $port, data $cl/data, server user $su_user"
    exit 3
}

cmd_url() {
    local pw
    pw=$(password)
    echo "$(conninfo_nopw) password=$pw"
}

cmd_psql() {
    local pw
    pw=$(password)
    # The password goes through the environment, not the command line (visible in ps).
    PGPASSWORD="$pw" exec "$PG_BIN/psql" "$(conninfo_nopw)" "$@"
}

cmd_drop_db() {
    [ "$DB_NAME" != goldline ] || die "refusing to drop the default database"
    find_cluster || die "no cluster"
    check_owner
    running_pid >/dev/null || die "not running"
    echo "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE);" | admin_psql postgres
}

case "${1:-}" in
    start) cmd_start ;;
    drop-db) cmd_drop_db ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    url) cmd_url ;;
    psql) shift; cmd_psql "$@" ;;
    *)
        echo "usage: $0 start|stop|status|psql [args...]|url|drop-db" >&2
        exit 2
        ;;
esac
