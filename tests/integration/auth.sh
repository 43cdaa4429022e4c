#!/usr/bin/env bash
# End-to-end check of users, roles, sessions, rate limits and the audit log over the real
# websocket: the private PostGIS cluster (database goldline_auth), goldline-dispatcher on its
# own ports (websocket 20080, uplink 20401, downlink 20402), goldlinectl for `user add`, and a
# plain-Python websocket client (ws_client.py) for logins.
#
#   tests/integration/auth.sh BUILD_DIR
#
# Prints one "ok"/"not ok" line per check and closes with "N passed, M failed".
set -uo pipefail
build=$(cd "${1:?usage: auth.sh BUILD_DIR}" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$root/tests/integration"
art="$root/tests/artifacts/auth"
var="$art/var"
export GOLDLINE_PG_DB=goldline_auth
WSPORT=20080

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
nok() { failed=$((failed + 1)); echo "not ok - $1"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }
psql_q() { "$root/deploy/pg.sh" psql -qAtX -c "$1"; }
ctl() { "$build/console/goldlinectl" --url "ws://127.0.0.1:$WSPORT" --token-file "$var/api-token" --compact "$@"; }
wait_for() {
    local end=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $end ] || return 1; sleep 0.5; done
}
dpid=
stop_dispatcher() { [ -n "$dpid" ] && kill -TERM "$dpid" 2>/dev/null && wait "$dpid"; dpid=; }
trap stop_dispatcher EXIT
start_dispatcher() {
    "$build/dispatcher/goldline-dispatcher" --var-dir "$var" --pg "$pgurl" --ws-port $WSPORT \
        --uplink-url tcp://127.0.0.1:20401 --downlink-url tcp://127.0.0.1:20402 --db-wait-s 30 \
        >>"$art/dispatcher.log" 2>&1 &
    dpid=$!
    wait_for 60 curl -fs "http://127.0.0.1:$WSPORT/healthz"
}

rm -rf "$art"
mkdir -p "$var"
"$root/deploy/pg.sh" start >/dev/null
"$root/deploy/pg.sh" drop-db >/dev/null
"$root/deploy/pg.sh" start >/dev/null || { echo "cannot start PostGIS"; exit 1; }
pgurl=$("$root/deploy/pg.sh" url)

check "dispatcher starts on an empty database (migration 007 applied)" start_dispatcher
check "users table exists and is empty" [ "$(psql_q 'SELECT count(*) FROM users')" = 0 ]
echo alice-pw-1 | ctl user add alice --role dispatcher >"$art/alice.json"
check "goldlinectl user add alice --role dispatcher (password on stdin)" [ $? -eq 0 ]
echo edu-pw | ctl user add edu --role ed --hospital H1 >/dev/null
echo carl-pw | ctl user add carl --role call_taker >/dev/null
echo x | ctl user add eve --role ed >/dev/null 2>"$art/eve.err"
rc=$?
check "an ed user without --hospital is refused before sending (exit 2)" [ $rc -eq 2 ]
echo bad | ctl user add BadName --role crew >/dev/null 2>&1
check "a bad user name is refused (exit 2)" [ $? -eq 2 ]
check "user add prints the user, not the password or its hash" \
    bash -c "grep -q '\"username\":\"alice\"' '$art/alice.json' && ! grep -q 'alice-pw-1\|argon2' '$art/alice.json'"
users_copied() { [ "$(psql_q 'SELECT count(*) FROM users')" = 3 ]; }
wait_for 10 users_copied
check "the three users are in PostGIS with argon2id hashes and their roles" \
    [ "$(psql_q "SELECT string_agg(username || ':' || role || ':' || coalesce(hospital_id, '-') || ':' || (password_hash LIKE '\$argon2id\$%')::text, ' ' ORDER BY username) FROM users")" = "alice:dispatcher:-:true carl:call_taker:-:true edu:ed:H1:true" ]

python3 "$here/auth_checks.py" $WSPORT "$(cat "$var/api-token")" "$art/tokens" | tee "$art/checks.log"
passed=$((passed + $(grep -c '^ok' "$art/checks.log")))
failed=$((failed + $(grep -c '^not ok' "$art/checks.log")))
alice_session=$(sed -n 1p "$art/tokens")
inc=$(sed -n 2p "$art/tokens")

check "goldlinectl takes a session token in --token (alice: fleet)" \
    bash -c "'$build/console/goldlinectl' --url ws://127.0.0.1:$WSPORT --token '$alice_session' --compact fleet >/dev/null"

# The audit log (copied from the journal within a second or two).
sleep 2
check "audit_log: alice's call.new with its incident" \
    [ "$(psql_q "SELECT count(*) FROM audit_log WHERE actor = 'alice' AND action = 'call.new' AND target = '$inc' AND detail->>'ok' = 'true'")" = 1 ]
check "audit_log: alice's denied vehicle.add (EACCES)" \
    [ "$(psql_q "SELECT count(*) FROM audit_log WHERE actor = 'alice' AND action = 'vehicle.add' AND detail->>'code' = 'EACCES'")" = 1 ]
check "audit_log: the ED user's refused timeline (ENOENT)" \
    [ "$(psql_q "SELECT count(*) FROM audit_log WHERE actor = 'edu' AND action = 'timeline' AND detail->>'code' = 'ENOENT'")" = 1 ]
check "audit_log: logins, good and bad, with the client address" \
    [ "$(psql_q "SELECT count(*) FILTER (WHERE detail->>'ok' = 'true') > 3 AND count(*) FILTER (WHERE detail->>'ok' = 'false' AND actor = 'alice') = 1 AND bool_and(detail->>'addr' = '127.0.0.1') FROM audit_log WHERE action = 'login'")" = t ]
check "audit_log: the admin's user.add lines" \
    [ "$(psql_q "SELECT count(*) FROM audit_log WHERE actor = 'operator' AND action = 'user.add' AND detail->>'ok' = 'true'")" = 3 ]
check "no password, session token or hash in audit_log" \
    [ "$(psql_q "SELECT count(*) FROM audit_log WHERE (actor || action || coalesce(target, '') || coalesce(detail::text, '')) ~ '(alice-pw-1|edu-pw|carl-pw|guess-|argon2|$alice_session)'")" = 0 ]
check "no password or session token in the journal or the dispatcher's log" \
    bash -c "! grep -rq 'alice-pw-1\|edu-pw\|carl-pw\|$alice_session' '$var/journal' '$art/dispatcher.log'"

# A restart: users come back from PostGIS, sessions do not (they are in memory only).
stop_dispatcher
check "dispatcher restarts" start_dispatcher
cat >"$art/after_restart.py" <<PY
import sys
sys.path.insert(0, "$here")
from ws_client import WS
a = WS("127.0.0.1", $WSPORT); r = a.call("hello", username="alice", password="alice-pw-1")
b = WS("127.0.0.1", $WSPORT); s = b.call("hello", session="$alice_session")
print("login", r.get("ok"), "old_session", s.get("ok"))
PY
check "after a restart alice logs in again (users loaded from PostGIS) and her old session is gone" \
    bash -c "python3 '$art/after_restart.py' | grep -q 'login True old_session False'"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
