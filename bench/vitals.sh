#!/usr/bin/env bash
# bench-needs: postgis
#
# The live-vitals benchmark (issue 6): 200 units stream a 12-lead 500 Hz ECG (100 ms EcgFrames,
# 50 samples per lead) and VitalsNumerics at 1 Hz; 50 ED websocket clients receive them. We
# measure the end-to-end latency from the unit's send to the ED client's receive (p50, p99,
# max), the frames delivered per second and the relay's CPU share (utime+stime of all its
# threads over the measured window / wall time; 1.0 = one core), for the real goldline-dispatcher
# (Release, pinned to one core) and, side by side in the same run, for a reference relay written
# with node's `ws` package (bench/ws_relay/relay.js, pinned to the same core). The goal: p99
# under 20 ms on loopback with the dispatcher under one core.
#
#   bench/run vitals          (about 2 minutes)
#
# Fan-out (the same for both relays): 200 incidents, each bound for one of 10 hospitals (20
# patients per hospital); 5 ED users per hospital = 50 ED clients, each subscribed to its
# hospital's patients, so every frame goes to 5 clients: 2,000 frames/s in, 10,000 frames/s out.
#
# One load program, bench_vitals_load (bench/vitals_load.c), plays the units and the ED clients
# (one libwebsockets client context, 50 connections, subprotocol goldline.v1) on CPU 0: send and
# receive times come from one monotonic clock, frames are matched by (vehicle, first_sample_index).
# Its own CPU is not in the relay's figure (it is printed on its own line).
#   - ws relay: units are websocket clients of the relay (one connection each) and send the very
#     binary frame the dispatcher delivers (docs/api.md, "Live vitals and ECG") and the numerics
#     as JSON text; ED clients subscribe to their hospital's units; the relay forwards bytes.
#   - dispatcher: a fresh database goldline_vitals in the private cluster (never goldline or
#     goldline_it); a first dispatcher start applies the schema; then plain SQL seeds 10
#     hospitals, 200 vehicles (VIT-001..) transporting 200 open incidents, each with a
#     `destination` event naming its hospital (what binds it to the ED), and 50 ED users (ed01..,
#     role ed, argon2id hash of a random password made by `bench_vitals_load hash`). The
#     dispatcher starts again, pinned with taskset to the last CPU, with its own var dir and
#     ports; the private cluster's PostgreSQL processes are pinned to the load program's CPU for
#     the run (and given every CPU back at the end), so that the relay's core is the relay's, as
#     node's is. Units send Uplink envelopes (EcgFrame, VitalsNumerics) over one nanomsg PUSH socket;
#     ED clients log in with username/password and send `vitals.subscribe`; at the end every
#     session's `vitals.stats` is read. The dispatcher also persists every frame and numeric to
#     PostGIS (the relay does nothing of the kind): its PostgreSQL backends' CPU is shown apart.
# Each run: 5 s warm-up, then the 30 s window (only frames sent in it count), then 2 s more of
# load while the window's last frames arrive. Every received frame is checked (right hospital,
# samples equal to what the unit sent, no reordering); frames that never arrived are "lost" (the
# dispatcher says so with `ecg.gap` markers when it drops for a slow client).
# Table, ratios, then the headlines `vitals_p99_ms` (the dispatcher's p99), `vitals_p99_ratio_ws`
# (ws relay p99 / ours) and `vitals_cpu_ratio_ws` (ws relay CPU / ours). Exit 1 when a frame
# reached the wrong hospital or arrived damaged or out of order, a frame of the window never
# arrived without an ecg.gap marker saying it was dropped, or a client failed.
# Everything started is stopped and the database dropped on exit, also on failure or Ctrl-C.
#
# Environment (optional): VITALS_WARM_S (5), VITALS_WINDOW_S (30), VITALS_DRAIN_S (2),
# VITALS_ONLY (ws or dispatcher: run one relay only; no ratios then), VITALS_DUMP_DIR (write
# every measured frame's send time, latency and unit to DIR/latency-MODE.txt, to see when the
# slow ones happen), VITALS_QUIET_WAIT_S (30: how long to wait before each run for other work
# to leave the machine), VITALS_PERF=1 (profile each relay with perf over the window and print
# it; perf's overhead then inflates that run's figures), VITALS_KEEP=1 (keep the temporary
# folder with the logs and the load program's output).
set -euo pipefail

root=${GOLDLINE_ROOT:?run through bench/run vitals}
build=${GOLDLINE_BENCH_BUILD:?run through bench/run vitals}
warm=${VITALS_WARM_S:-5}
window=${VITALS_WINDOW_S:-30}
drain=${VITALS_DRAIN_S:-2}
only=${VITALS_ONLY:-}
case "$only" in '' | ws | dispatcher) ;; *) echo "vitals: VITALS_ONLY is ws or dispatcher" >&2; exit 2 ;; esac
[ $# -eq 0 ] || { echo "usage: bench/run vitals" >&2; exit 2; }
units=200
hospitals=10
eds_per_hospital=5

export GOLDLINE_PG_DB=goldline_vitals # our own database: pg.sh start creates it, drop-db drops it
pg="$root/deploy/pg.sh"
relay_dir="$root/bench/ws_relay"
ncpu=$(nproc)
rcpu=$((ncpu - 1)) # the relay's core (dispatcher or node)
lcpu=0             # the load program's
[ "$ncpu" -ge 2 ] || echo "vitals: one CPU only: the load program shares the relay's core"

echo "== building goldline-dispatcher, goldlinectl, bench_vitals_load"
targets=(bench_vitals_load)
[ "$only" = ws ] || targets+=(goldline-dispatcher goldlinectl)
cmake --build "$build" --target "${targets[@]}" -j2 >"$build/bench-vitals-build.log" 2>&1 ||
    { cat "$build/bench-vitals-build.log" >&2; exit 1; }
dispatcher="$build/dispatcher/goldline-dispatcher"
ctl="$build/console/goldlinectl"
loadgen="$build/bench/bench_vitals_load"

if [ "$only" != dispatcher ] && [ ! -f "$relay_dir/node_modules/ws/package.json" ]; then
    echo "== npm ci in bench/ws_relay (the ws package)"
    (cd "$relay_dir" && npm ci --no-audit --no-fund --loglevel=error) ||
        { echo "vitals: npm ci failed in $relay_dir" >&2; exit 1; }
fi

tmp=$(mktemp -d /tmp/goldline-bench-vitals.XXXXXX)
dpid=""
rpid=""
lpid=""
db_made=0
reported=0

. "$root/bench/lib.sh"

stop_dispatcher() { bench_stop_pid "$dpid" "the dispatcher"; dpid=""; }
stop_relay() { bench_stop_pid "$rpid" "the ws relay"; rpid=""; }

# pin_postgres CPUS: the private cluster's server processes onto CPUS (taskset list). Backends
# forked later inherit the postmaster's affinity, so the dispatcher's connections do too.
pg_pinned=0
pin_postgres() {
    local pm p
    pm=$(head -n 1 "$root/var/pg/data/postmaster.pid" 2>/dev/null) || return 1
    [ -n "$pm" ] || return 1
    for p in "$pm" $(pgrep -P "$pm"); do
        taskset -a -p -c "$1" "$p" >/dev/null 2>&1 || return 1
    done
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$lpid" ]; then
        kill "$lpid" 2>/dev/null || true
        wait "$lpid" 2>/dev/null || true
    fi
    stop_dispatcher || true
    stop_relay || true
    if [ "$pg_pinned" = 1 ]; then
        pin_postgres "0-$((ncpu - 1))" || echo "vitals: could not give PostgreSQL every CPU back" >&2
    fi
    if [ "$db_made" = 1 ]; then
        "$pg" drop-db >/dev/null 2>&1 || echo "vitals: could not drop $GOLDLINE_PG_DB" >&2
    fi
    if [ "$rc" -ne 0 ] && [ "$reported" = 0 ]; then
        for f in dispatcher.log relay.err load-ws.err load-dispatcher.err; do
            if [ -s "$tmp/$f" ]; then
                echo "vitals: failed; $f (first and last lines):" >&2
                awk 'NR <= 5' "$tmp/$f" >&2
                [ "$(wc -l <"$tmp/$f")" -le 5 ] || { echo "..."; tail -n 10 "$tmp/$f"; } >&2
            fi
        done
    fi
    if [ "${VITALS_KEEP:-0}" = 1 ]; then
        echo "vitals: logs and results kept in $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "vitals: $*" >&2; exit 1; }


# The incident ids: the county's date and a sequence, as the dispatcher numbers them.
day=$(TZ=Asia/Shanghai date +%Y%m%d)
prefix="$day-"

# busy_cores: cores the whole machine kept busy over the last second (/proc/stat).
busy_cores() {
    local a b
    a=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)
    awk -v a="$a" -v b="$b" -v n="$ncpu" 'BEGIN {split(a, x, " "); split(b, y, " ");
        printf "%.2f", (y[1] - x[1]) / (y[2] - x[2]) * n}'
}
# wait_quiet: waits up to VITALS_QUIET_WAIT_S (30) for other work to leave the machine (under
# half a core busy), so that the run measures the relay rather than its neighbours.
wait_quiet() {
    local busy waited=0 limit=${VITALS_QUIET_WAIT_S:-30}
    busy=$(busy_cores)
    while awk -v b="$busy" 'BEGIN {exit !(b > 0.5)}' && [ "$waited" -lt "$limit" ]; do
        [ "$waited" = 0 ] && echo "   the machine is busy ($busy cores): waiting up to $limit s for it to calm down"
        sleep 1
        waited=$((waited + 2))
        busy=$(busy_cores)
    done
    echo "   machine busy before the run: $busy cores of $ncpu"
}

# run_load MODE ARGS...: the load program on CPU $lcpu; key=value results in $tmp/load-MODE.out.
run_load() {
    local mode=$1
    shift
    wait_quiet
    taskset -c "$lcpu" "$loadgen" --mode "$mode" --host 127.0.0.1 --incident-prefix "$prefix" \
        --units "$units" --hospitals "$hospitals" --eds-per-hospital "$eds_per_hospital" \
        --warm-s "$warm" --window-s "$window" --drain-s "$drain" \
        ${VITALS_DUMP_DIR:+--dump "$VITALS_DUMP_DIR/latency-$mode.txt"} "$@" \
        >"$tmp/load-$mode.out" 2>"$tmp/load-$mode.err" &
    lpid=$!
    if [ "${VITALS_PERF:-0}" = 1 ] && [ -n "${perf_target:-}" ]; then
        # Where the relay's time goes over the window (perf's own cost lands on this run's
        # figures: read the profile, not the headline).
        while kill -0 "$lpid" 2>/dev/null && ! grep -q 'window open' "$tmp/load-$mode.err"; do
            sleep 0.05
        done
        perf record -q -e cpu-clock -F 997 -p "$perf_target" -o "$tmp/perf-$mode.data" \
            -- sleep "$window" >/dev/null 2>&1 || true
        { perf report -q -i "$tmp/perf-$mode.data" --sort dso --stdio 2>/dev/null
          perf report -q -i "$tmp/perf-$mode.data" --sort dso,symbol --percent-limit 0.7 \
            --stdio 2>/dev/null; } | sed -e '/^$/d' -e 's/ *- *- *$//' >"$tmp/perf-$mode.txt" || true
    fi
    wait "$lpid" || { lpid=""; die "the load program failed ($mode)"; }
    lpid=""
    local others
    others=$(kv "$mode" cpu_others)
    if awk -v o="$others" 'BEGIN {exit !(o > 0.25)}'; then
        echo "vitals: other processes kept $others cores busy during the $mode run: its" \
            "latencies say more about them than about the relay" >&2
    fi
}
kv() { sed -n "s/^$2=//p" "$tmp/load-$1.out"; }

# ---- 1. the reference relay (node + ws) ---------------------------------------------------------
if [ "$only" != dispatcher ]; then
    ws_port=$(free_port)
    echo "== 1. ws relay (node $(node --version), ws $(node -p "require('$relay_dir/node_modules/ws/package.json').version")) on CPU $rcpu, port $ws_port"
    (cd "$relay_dir" && exec taskset -c "$rcpu" node relay.js "$ws_port") \
        >"$tmp/relay.out" 2>"$tmp/relay.err" &
    rpid=$!
    for _ in $(seq 1 100); do
        grep -q '^listening' "$tmp/relay.out" 2>/dev/null && break
        kill -0 "$rpid" 2>/dev/null || die "the ws relay exited"
        sleep 0.1
    done
    grep -q '^listening' "$tmp/relay.out" || die "the ws relay did not listen within 10 s"
    echo "   $units units, $((hospitals * eds_per_hospital)) ED clients: ${warm} s warm-up, ${window} s measured"
    perf_target=$rpid
    run_load ws --port "$ws_port" --watch "relay:$rpid"
    stop_relay
fi

# ---- 2. the dispatcher --------------------------------------------------------------------------
if [ "$only" != ws ]; then
    up_port=$(free_port)
    down_port=$(free_port)
    api_port=$(free_port)
    ctl_stats() { bench_ctl_stats "$api_port"; }
    start_dispatcher() { bench_start_dispatcher "$rcpu" "$up_port" "$down_port" "$api_port"; }
    sql() { "$pg" psql -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }

    echo "== 2. dispatcher: database $GOLDLINE_PG_DB (fresh), schema, seed"
    "$pg" drop-db >/dev/null 2>&1 || true
    db_made=1
    "$pg" start >/dev/null
    pgurl="$("$pg" url) application_name=goldline-bench-vitals"
    mkdir -p "$tmp/var"
    start_dispatcher
    stop_dispatcher
    password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    hash=$("$loadgen" hash "$password")
    # Unit i (1..200) carries incident i, bound for hospital H((i-1)/20+1); ED user j (1..50)
    # belongs to hospital H((j-1)/5+1).
    sql <<EOF
INSERT INTO hospitals (id, name, geom, capabilities)
SELECT 'H' || lpad(h::text, 2, '0'), 'Bench hospital ' || h,
       ST_SetSRID(ST_MakePoint(119.8 + 0.08 * h, 30.2 + 0.03 * h), 4326)::geography,
       '{pci,stroke_ivt,trauma}'
  FROM generate_series(1, $hospitals) AS h;
INSERT INTO stations (id, name, geom)
SELECT 'st-VIT-' || lpad(i::text, 3, '0'), 'Bench station ' || i,
       ST_SetSRID(ST_MakePoint(119.7 + 1.0 * random(), 30.0 + 0.9 * random()), 4326)::geography
  FROM generate_series(1, $units) AS i;
INSERT INTO vehicles (id, call_sign, station_id, kind, capabilities, status, status_at)
SELECT 'VIT-' || lpad(i::text, 3, '0'), 'Vitals ' || i, 'st-VIT-' || lpad(i::text, 3, '0'),
       'ALS', '{ecg12}', 'transporting', now()
  FROM generate_series(1, $units) AS i;
INSERT INTO incidents (id, day, day_seq, created_at, geom, complaint, priority, state,
                       vehicle_id, updated_at)
SELECT '$prefix' || lpad(i::text, 4, '0'), $day, i, now() - interval '20 minutes',
       ST_SetSRID(ST_MakePoint(119.7 + 1.0 * random(), 30.0 + 0.9 * random()), 4326)::geography,
       'chest_pain', 1, 'transporting', 'VIT-' || lpad(i::text, 3, '0'), now()
  FROM generate_series(1, $units) AS i;
UPDATE vehicles v SET incident_id = i.id FROM incidents i WHERE i.vehicle_id = v.id;
-- A plausible timeline (so the golden-time clocks are met, not breached): call, assignment,
-- en route, on scene, first ECG, destination (what binds the patient to the hospital's ED),
-- transporting.
INSERT INTO incident_events (incident_id, seq, at, kind, source, vehicle_id, detail)
SELECT '$prefix' || lpad(i::text, 4, '0'), e.seq, now() - e.ago * interval '1 minute', e.kind,
       e.source, CASE WHEN e.seq > 1 THEN 'VIT-' || lpad(i::text, 3, '0') END,
       CASE e.kind
           WHEN 'status' THEN jsonb_build_object('status', e.status)
           WHEN 'destination' THEN jsonb_build_object(
               'hospital', 'H' || lpad(((i - 1) / 20 + 1)::text, 2, '0'),
               'name', 'Bench hospital ' || ((i - 1) / 20 + 1), 'reason', 'bench',
               'eta_s', 900, 'eta_method', 'straight_line')
       END
  FROM generate_series(1, $units) AS i,
       (VALUES (1, 20.0, 'call_received', 'operator', NULL),
               (2, 19.8, 'assigned', 'operator', NULL),
               (3, 19.0, 'status', 'unit', 'en_route'),
               (4, 10.0, 'status', 'unit', 'on_scene'),
               (5, 8.0, 'first_ecg', 'unit', NULL),
               (6, 5.0, 'destination', 'dispatcher', NULL),
               (7, 4.9, 'status', 'unit', 'transporting')) AS e(seq, ago, kind, source, status);
INSERT INTO users (username, password_hash, role, hospital_id)
SELECT 'ed' || lpad(j::text, 2, '0'), '$hash', 'ed',
       'H' || lpad(((j - 1) / $eds_per_hospital + 1)::text, 2, '0')
  FROM generate_series(1, $((hospitals * eds_per_hospital))) AS j;
EOF
    # The relay's core is the relay's, as node's is in run 1: PostgreSQL goes to the load
    # program's core (it stores every frame; on the relay's core it delayed the relay by a
    # millisecond or two after each batch: p99 1.9-3.3 ms, against 0.6 ms off it). Its work then
    # shares CPU 0 with the load program, which can only make our figures worse.
    if [ "$ncpu" -ge 2 ] && pin_postgres "$lcpu"; then
        pg_pinned=1
        echo "   PostgreSQL on CPU $lcpu (with the load program, off the relay's core)"
    else
        echo "   PostgreSQL not pinned (one CPU, or taskset refused): it may share the relay's core"
    fi
    echo "   dispatcher on CPU $rcpu (uplink :$up_port, api :$api_port)"
    start_dispatcher
    ctl_stats >"$tmp/stats0.json"
    [ "$(jq -r .vehicles "$tmp/stats0.json")" = "$units" ] ||
        die "the dispatcher did not load $units vehicles"
    [ "$(jq -r .incidents "$tmp/stats0.json")" = "$units" ] ||
        die "the dispatcher did not load $units open incidents"
    watch=(--watch "dispatcher:$dpid")
    n=0
    for p in $(sql -c "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
                         AND application_name = 'goldline-bench-vitals'"); do
        n=$((n + 1))
        [ "$n" -le 6 ] && watch+=(--watch "pg$n:$p")
    done
    echo "   $units units, $((hospitals * eds_per_hospital)) ED clients: ${warm} s warm-up, ${window} s measured"
    perf_target=$dpid
    run_load dispatcher --port "$api_port" --uplink "tcp://127.0.0.1:$up_port" \
        --password "$password" --first-seq "$(date +%s%6N)" "${watch[@]}"
    ctl_stats >"$tmp/stats1.json"
    rss_mb=$(awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$dpid/status")
    stop_dispatcher
    db_rows=$(sql -c "SELECT (SELECT count(*) FROM ecg_strips) || ' ' ||
                             (SELECT count(*) FROM vitals_numerics)" 2>/dev/null || echo "? ?")
fi

# ---- report -------------------------------------------------------------------------------------
has() { [ -s "$tmp/load-$1.out" ]; }
col() { if has "$1"; then kv "$1" "$2"; else echo "-"; fi; }
pgcpu() {
    has dispatcher || { echo "-"; return; }
    awk -F= '/^cpu_pg[0-9]+=/ {s += $2; n++} END {if (n) printf "%.3f", s; else print "n/a"}' \
        "$tmp/load-dispatcher.out"
}
row() { printf '%-50s %14s %14s\n' "$1" "$2" "$3"; }
pair() { row "$1" "$(col dispatcher "$2")" "$(col ws "$2")"; }
both() { # both LABEL KEY1 KEY2: "a / b" per side
    row "$1" "$(col dispatcher "$2") / $(col dispatcher "$3")" "$(col ws "$2") / $(col ws "$3")"
}
echo
row "vitals: $units units -> $((hospitals * eds_per_hospital)) ED clients (x$eds_per_hospital)" \
    "dispatcher" "ws relay"
row "--------------------------------------------------" "--------------" "--------------"
pair "ECG frames sent per s (units)" sent_per_s
pair "ECG frames delivered per s (all clients)" delivered_per_s
both "frames delivered / expected (window)" frames_received_window frames_expected
pair "frames not arrived ${drain} s after the window" frames_lost
pair "latency p50 ms" lat_p50_ms
pair "latency p90 ms" lat_p90_ms
pair "latency p99 ms" lat_p99_ms
pair "latency p99.9 ms" lat_p999_ms
pair "latency max ms" lat_max_ms
row "relay CPU share of one core" "$(col dispatcher cpu_dispatcher)" "$(col ws cpu_relay)"
row "its PostgreSQL backends' CPU share" "$(pgcpu)" "-"
both "numerics delivered / expected (whole run)" numerics_received_all numerics_expected_all
both "ecg.gap markers / samples per lead in them" gaps gap_samples
row "frames dropped per vitals.stats (all sessions)" "$(col dispatcher stats_frames_dropped)" "-"
row "sessions that did not answer vitals.stats" "$(col dispatcher stats_missing)" "-"
pair "frames of history (before the window)" frames_history
pair "frames with damaged samples" bad_samples
row "frames at the wrong hospital" "$(col dispatcher wrong_hospital)" "$(col ws wrong_hospital)"
row "frames reordered or duplicated" "$(col dispatcher reordered)" "$(col ws reordered)"
row "frames malformed or unknown" "$(col dispatcher bad_frames)" "$(col ws bad_frames)"
pair "ED clients: subscribe time s" connect_s
pair "load program CPU share (CPU $lcpu, not counted)" cpu_load
both "units' sends >5 ms late / worst lateness ms" sender_late_5ms sender_worst_late_ms
pair "cores busy, whole machine (of $ncpu)" cpu_machine
pair "  of which other processes (noise)" cpu_others
if has dispatcher; then
    row "dispatcher RSS MB (end)" "$rss_mb" "-"
    row "dispatcher: ECG frames received (stats)" \
        "$(jq -r '.uplink.ecg_frames // "-"' "$tmp/stats1.json")" "-"
    row "dispatcher: uplink deferred (buffer full)" \
        "$(jq -r '(.uplink.deferred // 0) - 0' "$tmp/stats1.json")" "-"
    row "PostGIS rows: ecg_strips / vitals_numerics" "${db_rows% *} / ${db_rows#* }" "-"
    other=$(grep -v ' stale: no fix' "$tmp/dispatcher.log" | head -n 5 || true)
    if [ -n "$other" ]; then
        echo
        echo "dispatcher log (first lines other than 'stale'):"
        echo "$other"
    fi
fi
for m in dispatcher ws; do
    if [ -s "$tmp/perf-$m.txt" ]; then
        echo
        echo "perf, $m relay over the window (share of its samples: by library, then symbols above 0.7 %):"
        head -n 40 "$tmp/perf-$m.txt"
    fi
done
reported=1

bad=0
for m in dispatcher ws; do
    has "$m" || continue
    for k in bad_samples wrong_hospital reordered bad_frames clients_failed; do
        v=$(kv "$m" "$k")
        if [ "$v" != 0 ]; then
            echo "vitals: $m: $k=$v" >&2
            bad=1
        fi
    done
    # Frames may be dropped for a slow client, but only with an ecg.gap marker saying so.
    unexplained=$(awk -v l="$(kv "$m" frames_lost)" -v g="$(kv "$m" gap_samples)" \
        'BEGIN {print l - int(g / 50)}')
    if [ "$unexplained" -gt 0 ]; then
        echo "vitals: $m: $unexplained frames of the window never arrived and no ecg.gap said so" >&2
        bad=1
    fi
done

echo
if has dispatcher && has ws; then
    p99=$(kv dispatcher lat_p99_ms)
    p99_ratio=$(awk -v a="$(kv ws lat_p99_ms)" -v b="$p99" 'BEGIN {printf "%.2f", a / b}')
    cpu_ratio=$(awk -v a="$(kv ws cpu_relay)" -v b="$(kv dispatcher cpu_dispatcher)" \
        'BEGIN {printf "%.2f", a / b}')
    echo "ratios (ws relay / dispatcher): p99 $p99_ratio, CPU $cpu_ratio"
    echo
    echo "vitals_p99_ms: $p99"
    echo "vitals_p99_ratio_ws: $p99_ratio"
    echo "vitals_cpu_ratio_ws: $cpu_ratio"
elif has dispatcher; then
    echo "vitals_p99_ms: $(kv dispatcher lat_p99_ms)"
fi
[ "$bad" = 0 ]
