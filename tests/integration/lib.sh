# Shared helpers of the shell tests that drive a real dispatcher (tests/integration/run.sh,
# linkcut.sh, tests/browser/run.sh). Source it after setting: root, build, art, var, WSPORT,
# UP, DOWN and GOLDLINE_PG_DB; a script sets DISPATCHER_ARGS (an array) for its own options.
# Every check prints "ok - ..." or "not ok - ..."; the script ends with "$passed passed,
# $failed failed".

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
nok() { failed=$((failed + 1)); echo "not ok - $1"; }
check() { # check DESCRIPTION COMMAND...
    local d=$1
    shift
    if "$@"; then ok "$d"; else nok "$d"; fi
}
# py EXPR: evaluates a Python expression over the JSON on stdin (bound to r).
py() { python3 -c "import json, sys; r = json.load(sys.stdin); print($1)"; }
ctl() { "$build/console/goldlinectl" --url "ws://127.0.0.1:$WSPORT" --token-file "$var/api-token" --compact "$@"; }
psql_q() { "$root/deploy/pg.sh" psql -qAtX -c "$1"; }
export build root var WSPORT GOLDLINE_PG_DB
export -f py ctl psql_q # for the checks that run in `bash -c`
# wait_for SECONDS COMMAND...: retries COMMAND every 0.5 s until it succeeds.
wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.5
    done
}

# Every process a test starts goes into pids; they are stopped when the script exits.
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

# Starts PostGIS with a fresh, empty $GOLDLINE_PG_DB and sets pgurl.
fresh_database() {
    "$root/deploy/pg.sh" start >/dev/null
    "$root/deploy/pg.sh" drop-db >/dev/null
    "$root/deploy/pg.sh" start >/dev/null || { echo "cannot start PostGIS"; exit 1; }
    pgurl=$("$root/deploy/pg.sh" url)
}

# Starts the dispatcher (pid in dpid) and waits until it serves /healthz.
DISPATCHER_ARGS=()
start_dispatcher() {
    "$build/dispatcher/goldline-dispatcher" --var-dir "$var" --pg "$pgurl" --ws-port "$WSPORT" \
        --uplink-url "$UP" --downlink-url "$DOWN" --db-wait-s 30 "${DISPATCHER_ARGS[@]}" \
        >>"$art/dispatcher.log" 2>&1 &
    dpid=$!
    pids+=($dpid)
    wait_for 60 curl -fs "http://127.0.0.1:$WSPORT/healthz"
}
