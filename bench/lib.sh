# Shared by the shell benchmarks (bench/ingest.sh, bench/vitals.sh): a free TCP port,
# goldline-dispatcher started pinned to one CPU and waited for until its API answers, a process
# stopped. Only functions: they use die(), dispatcher, ctl, tmp and pgurl, which the caller
# defines and sets before calling them.

# A TCP port nobody listens on (the dispatcher's bind fails loudly if we raced someone).
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 30000))
        if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return 0
        fi
    done
    die "no free port found"
}

# bench_ctl_stats WS_PORT: the dispatcher's `stats`, compact JSON.
bench_ctl_stats() {
    "$ctl" --url "ws://127.0.0.1:$1" --token-file "$tmp/var/api-token" --timeout 10 \
        stats --compact
}

# bench_start_dispatcher CPU UP_PORT DOWN_PORT WS_PORT: starts it (pid in dpid, log in
# $tmp/dispatcher.log) and waits until its API answers (it loads the fleet first).
bench_start_dispatcher() {
    GOLDLINE_PG="$pgurl" taskset -c "$1" "$dispatcher" --var-dir "$tmp/var" \
        --uplink-url "tcp://127.0.0.1:$2" --downlink-url "tcp://127.0.0.1:$3" \
        --ws-port "$4" --auto-assign-s 0 --db-wait-s 10 --log-level warn \
        >>"$tmp/dispatcher.log" 2>&1 &
    dpid=$!
    for _ in $(seq 1 300); do
        kill -0 "$dpid" 2>/dev/null || { wait "$dpid" || true; dpid=""; die "the dispatcher exited"; }
        bench_ctl_stats "$4" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    die "the dispatcher did not answer within 60 s"
}

# bench_stop_pid PID NAME: TERM, up to 10 s for it to go, then KILL; reaps it. No PID: nothing.
bench_stop_pid() {
    local p=$1
    [ -n "$p" ] || return 0
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$p" 2>/dev/null; then
        echo "$(basename "$0" .sh): $2 did not stop in 10 s: killing it" >&2
        kill -KILL "$p" 2>/dev/null || true
    fi
    wait "$p" 2>/dev/null || true
}
