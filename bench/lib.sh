# Shared by the shell benchmarks (bench/ingest.sh, bench/vitals.sh): a free TCP port, and
# goldline-dispatcher started pinned to one CPU, waited for until its API answers. Source it
# after defining die() and setting dispatcher, ctl and tmp; pgurl must be set before starting.

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
