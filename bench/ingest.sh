#!/usr/bin/env bash
# bench-needs: postgis
#
# The ingest benchmark: how many uplink GpsFix envelopes the real goldline-dispatcher (Release,
# pinned to one core) takes in, checks, indexes and persists, and what 10,000 units at 1 Hz cost
# it in CPU and memory. The goal: 10,000 units at 1 Hz under a quarter of one core.
#
#   bench/run ingest [UNITS]          (default 10000; about 3 minutes)
#
# Steps: a fresh database goldline_bench in the private cluster (never goldline or goldline_it);
# a first dispatcher start applies the schema; UNITS vehicles are seeded with plain SQL; the
# dispatcher is started again with its own var dir, ports and that database, pinned with taskset
# to the last CPU; bench_ingest_load (bench/ingest_load.c) plays the units from CPU 0.
#   1. Realistic load: every unit sends one fix a second, spread evenly over the second, for
#      WARM + WINDOW seconds. Over the WINDOW: the dispatcher's CPU share (utime+stime of all its
#      threads from /proc/PID/stat, as a fraction of one core), VmRSS, context switches, the CPU
#      of its PostgreSQL backend, and the rates of its `stats` API. Twice during the window and
#      every 10 s after it, the Acks the units heard are compared with the rows PostGIS holds (an
#      Ack for a fix that is not in PostGIS yet is a durability failure). Then we wait until
#      every fix is in vehicle_positions and acknowledged, and compare both with what was sent.
#   2. Saturation: a bounded burst (INGEST_BURST fixes) sent as fast as the dispatcher takes
#      it; received/s, accepted/s and good fixes/s from `stats`, from just before the first send
#      to when the dispatcher has received the last one. The burst stays below the dispatcher's
#      500,000-fix position buffer (full, it spends a memmove of the whole buffer on every new
#      fix, and we would measure that). Then the database's pace with that backlog: positions
#      written per second over INGEST_PERSIST_S seconds.
# Table, then the headlines `ingest_fixes_per_s` (the smaller of the burst's good fixes/s and the
# persisted/s with a backlog: what the dispatcher sustains end to end), `ingest_cpu_share_10k_units`
# (fraction of one core at 1 Hz) and `ingest_rss_mb` (VmRSS at the end of the 1 Hz window).
# Exit 0 only if phase 1 is exact (rows = Acks = fixes sent) and nothing was acknowledged early.
# Everything started is stopped and the database dropped on exit, also on failure or Ctrl-C.
#
# Environment (optional): INGEST_WARM_S (5), INGEST_WINDOW_S (30), INGEST_FLOOD_S (30),
# INGEST_DRAIN_S (120: the longest wait for phase 1's fixes to be durable), INGEST_BURST (400000
# fixes in phase 2), INGEST_PERSIST_S (20), INGEST_TICK_MS (0.5: phase 1's units send what is due
# every this many ms; 100 sends bursts, to see what the wake-ups cost), INGEST_PERF=1 (profile the
# dispatcher with perf during phase 1 and print it; perf's overhead then inflates the CPU share).
set -euo pipefail

root=${GOLDLINE_ROOT:?run through bench/run ingest}
build=${GOLDLINE_BENCH_BUILD:?run through bench/run ingest}
units=${1:-10000}
case "$units" in '' | *[!0-9]*) echo "usage: bench/run ingest [UNITS]" >&2; exit 2 ;; esac
if [ "$units" -lt 1 ] || [ "$units" -gt 99999 ]; then echo "ingest: UNITS is 1..99999" >&2; exit 2; fi
warm=${INGEST_WARM_S:-5}
window=${INGEST_WINDOW_S:-30}
flood_n=${INGEST_BURST:-400000}
persist_s=${INGEST_PERSIST_S:-20}
drain_max=${INGEST_DRAIN_S:-120}

export GOLDLINE_PG_DB=goldline_bench  # our own database: pg.sh start creates it, drop-db drops it
pg="$root/deploy/pg.sh"
tick=$(getconf CLK_TCK)
ncpu=$(nproc)
dcpu=$((ncpu - 1))        # the dispatcher's core
lcpu=0                    # the load generator's
[ "$ncpu" -ge 2 ] || echo "ingest: one CPU only: the load generator shares the dispatcher's core"

echo "== building goldline-dispatcher, goldlinectl, bench_ingest_load"
cmake --build "$build" --target goldline-dispatcher goldlinectl bench_ingest_load -j2 \
    >"$build/bench-ingest-build.log" 2>&1 || { cat "$build/bench-ingest-build.log" >&2; exit 1; }
dispatcher="$build/dispatcher/goldline-dispatcher"
ctl="$build/console/goldlinectl"
loadgen="$build/bench/bench_ingest_load"

tmp=$(mktemp -d /tmp/goldline-bench-ingest.XXXXXX)
dpid=""
lpid=""
db_made=0
reported=0

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$lpid" ]; then
        kill "$lpid" 2>/dev/null || true
        wait "$lpid" 2>/dev/null || true
    fi
    stop_dispatcher || true
    if [ "$db_made" = 1 ]; then
        "$pg" drop-db >/dev/null 2>&1 || echo "ingest: could not drop $GOLDLINE_PG_DB" >&2
    fi
    if [ "$rc" -ne 0 ] && [ "$reported" = 0 ] && [ -f "$tmp/dispatcher.log" ]; then
        echo "ingest: failed; end of the dispatcher's log:" >&2
        tail -n 20 "$tmp/dispatcher.log" >&2
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "ingest: $*" >&2; exit 1; }

. "$root/bench/lib.sh"
up_port=$(free_port)
down_port=$(free_port)
ws_port=$(free_port)

ctl_stats() { bench_ctl_stats "$ws_port"; }
# start_dispatcher: pinned to $dcpu; waits until its API answers (it loads the fleet first).
start_dispatcher() { bench_start_dispatcher "$dcpu" "$up_port" "$down_port" "$ws_port"; }

stop_dispatcher() { bench_stop_pid "$dpid" "the dispatcher"; dpid=""; }

sql() { "$pg" psql -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }

# sample NAME: wall time, the dispatcher's CPU ticks, RSS and context switches, and its stats
# JSON into $tmp/NAME.*; the CPU ticks of its PostgreSQL backends into $tmp/NAME.pg ("pid ticks").
sample() {
    local t c rss hwm cs p
    t=$(date +%s.%N)
    c=$(awk '{print $14 + $15}' "/proc/$dpid/stat")
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$dpid/status")
    hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$dpid/status")
    cs=$(cat "/proc/$dpid"/task/*/status | awk '/ctxt_switches/ {s += $2} END {print s}')
    ctl_stats >"$tmp/$1.json" || die "stats failed"
    echo "$t $c $rss $hwm 0 $cs" >"$tmp/$1.proc"
    : >"$tmp/$1.pg"
    for p in $(sql -c "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
                         AND application_name = 'goldline-bench-ingest'"); do
        if [ -r "/proc/$p/stat" ]; then
            awk -v p="$p" '{print p, $14 + $15}' "/proc/$p/stat" >>"$tmp/$1.pg" || true
        fi
    done
}
# pg_share A B: CPU share of one core of the dispatcher's PostgreSQL backends between two
# samples (backends present in both).
pg_share() {
    awk -v ta="$(proc "$1" 1)" -v tb="$(proc "$2" 1)" -v hz="$tick" '
        FNR == NR {a[$1] = $2; next}
        ($1 in a) {s += $2 - a[$1]; n++}
        END {if (n) printf "%.3f", s / hz / (tb - ta); else printf "n/a (it reconnected)"}' \
        "$tmp/$1.pg" "$tmp/$2.pg"
}
# field NAME JQPATH: a number from a sample's stats.
field() { jq -r "$2" "$tmp/$1.json"; }
# proc NAME COLUMN: 1 time, 2 cpu ticks, 3 rss kB, 4 hwm kB, 5 unused, 6 context switches of
# all the dispatcher's threads.
proc() { awk -v k="$2" '{print $k}' "$tmp/$1.proc"; }
# rate A B JQPATH: per second between two samples.
rate() {
    awk -v a="$(field "$1" "$3")" -v b="$(field "$2" "$3")" -v ta="$(proc "$1" 1)" \
        -v tb="$(proc "$2" 1)" 'BEGIN {printf "%.0f", (b - a) / (tb - ta)}'
}
# share A B COLUMN: CPU share of one core between two samples.
share() {
    awk -v a="$(proc "$1" "$3")" -v b="$(proc "$2" "$3")" -v ta="$(proc "$1" 1)" \
        -v tb="$(proc "$2" 1)" -v hz="$tick" 'BEGIN {printf "%.3f", (b - a) / hz / (tb - ta)}'
}
kv() { sed -n "s/^$2=//p" "$tmp/$1"; }

# ---- database --------------------------------------------------------------------------------
echo "== database $GOLDLINE_PG_DB (fresh)"
"$pg" drop-db >/dev/null 2>&1 || true
db_made=1
"$pg" start >/dev/null
pgurl="$("$pg" url) application_name=goldline-bench-ingest"
mkdir -p "$tmp/var"

echo "== schema (first dispatcher start), then $units vehicles"
start_dispatcher
stop_dispatcher
sql <<EOF
INSERT INTO stations (id, name, geom)
SELECT 'st-BEN-' || lpad(i::text, 5, '0'), 'Bench station ' || i,
       ST_SetSRID(ST_MakePoint(119.7 + 1.04 * random(), 30.0 + 0.9 * random()), 4326)::geography
  FROM generate_series(1, $units) AS i;
INSERT INTO vehicles (id, call_sign, station_id, kind, capabilities)
SELECT 'BEN-' || lpad(i::text, 5, '0'), 'Bench ' || i, 'st-BEN-' || lpad(i::text, 5, '0'),
       CASE WHEN i % 3 = 0 THEN 'BLS' ELSE 'ALS' END,
       CASE WHEN i % 3 = 0 THEN '{}'::text[] ELSE '{ecg12}'::text[] END
  FROM generate_series(1, $units) AS i;
EOF

echo "== dispatcher on CPU $dcpu (uplink :$up_port, downlink :$down_port, ws :$ws_port)"
start_dispatcher
[ "$(ctl_stats | jq -r .vehicles)" = "$units" ] || die "the dispatcher did not load $units vehicles"
sleep 1
sample idle

# ack_check NAME: PostGIS must already hold every fix the units heard an Ack for. The newest
# progress line of the load generator is read first, the rows are counted after, so an honest
# dispatcher can only show rows >= acked. Appends "acked rows" to $tmp/acks.
ack_check() {
    local acked rows
    acked=$(sed -n 's/^progress .* acked_fixes=//p' "$tmp/load1.err" | tail -n 1)
    rows=$(sql -c "SELECT count(*) FROM vehicle_positions WHERE seq >= $seq1")
    echo "${acked:-0} $rows" >>"$tmp/acks"
}

# ---- 1. realistic load: 1 Hz per unit ----------------------------------------------------------
echo "== 1. $units units at 1 Hz for $((warm + window)) s (measured over the last $window s)"
seq1=$(date +%s%6N)
: >"$tmp/acks"
taskset -c "$lcpu" "$loadgen" --uplink "tcp://127.0.0.1:$up_port" \
    --downlink "tcp://127.0.0.1:$down_port" --units "$units" --first-seq "$seq1" --rate 1 \
    --tick-ms "${INGEST_TICK_MS:-0.5}" --seconds "$((warm + window))" --ack-wait-s "$drain_max" >"$tmp/load1.out" 2>"$tmp/load1.err" &
lpid=$!
sleep "$warm"
sample p1a
if [ "${INGEST_PERF:-0}" = 1 ]; then
    # Where the dispatcher's time goes at 1 Hz (perf's own cost lands on the dispatcher's
    # figures of this run: use it to read the profile, not the headline).
    perf record -q -e cpu-clock -F 997 -p "$dpid" -o "$tmp/perf.data" -- sleep "$window" \
        >/dev/null 2>&1 &
    perf_pid=$!
fi
sleep "$((window / 2))"
ack_check
sleep "$((window - window / 2))"
sample p1b
if [ -n "${perf_pid:-}" ]; then
    wait "$perf_pid" || true
    { perf report -q -i "$tmp/perf.data" --sort dso --stdio 2>/dev/null
      perf report -q -i "$tmp/perf.data" --sort dso,symbol --percent-limit 0.7 --stdio \
        2>/dev/null; } | sed -e '/^$/d' -e 's/ *- *- *$//' >"$tmp/perf.txt" || true
fi
ack_check
t_end1=$(proc p1b 1)
# Durable: every fix in vehicle_positions and acknowledged (the load generator waits for Acks).
for i in $(seq 1 "$drain_max"); do
    ctl_stats >"$tmp/now.json"
    pending=$(jq -r .database.positions_pending "$tmp/now.json")
    kill -0 "$lpid" 2>/dev/null || [ "$pending" != 0 ] || break
    [ $((i % 10)) = 0 ] && ack_check
    sleep 1
done
wait "$lpid" || die "the load generator failed"
lpid=""
sample p1c
drain_s=$(awk -v a="$t_end1" -v b="$(proc p1c 1)" 'BEGIN {printf "%.0f", b - a}')
sent1=$(kv load1.out sent)
acked1=$(kv load1.out acked_fixes)
read -r rows1 veh1 < <(sql -F ' ' -c "SELECT count(*), count(DISTINCT vehicle_id)
                                        FROM vehicle_positions WHERE seq >= $seq1")
# The largest number of fixes acknowledged before PostGIS held them (0 when honest).
early_acks=$(awk '{d = $1 - $2; if (d > m) m = d} END {print m + 0}' "$tmp/acks")

# ---- 2. saturation ---------------------------------------------------------------------------
# A bounded burst (the dispatcher buffers at most 500,000 unwritten fixes; past that every new
# fix costs a memmove of the whole buffer, which would measure that instead), sent as fast as
# the dispatcher takes it; the window ends when the dispatcher has received all of it.
echo "== 2. $flood_n fixes as fast as the dispatcher takes them"
seq2=$(date +%s%6N)
sample p2a
taskset -c "$lcpu" "$loadgen" --uplink "tcp://127.0.0.1:$up_port" \
    --downlink "tcp://127.0.0.1:$down_port" --units "$units" --first-seq "$seq2" --rate 0 \
    --seconds 120 --max-msgs "$flood_n" >"$tmp/load2.out" 2>/dev/null &
lpid=$!
base=$(field p2a .uplink.received)
for _ in $(seq 1 1200); do
    ctl_stats >"$tmp/now.json"
    [ $(($(jq -r .uplink.received "$tmp/now.json") - base)) -ge "$flood_n" ] && break
    sleep 0.1
done
sample p2b
wait "$lpid" || die "the load generator failed"
lpid=""
# The database's pace with a backlog: positions written over the next seconds.
sleep "$persist_s"
sample p2c
stale_lines=$(grep -c ' stale: no fix' "$tmp/dispatcher.log" || true)
other_lines=$(grep -vc ' stale: no fix' "$tmp/dispatcher.log" || true)
stop_dispatcher

# ---- report ----------------------------------------------------------------------------------
cpu1=$(share p1a p1b 2)
pgcpu1=$(pg_share p1a p1b)
rss1=$(awk -v k="$(proc p1b 3)" 'BEGIN {printf "%.1f", k / 1024}')
idle_rss=$(awk -v k="$(proc idle 3)" 'BEGIN {printf "%.1f", k / 1024}')
hwm=$(awk -v k="$(proc p2c 4)" 'BEGIN {printf "%.1f", k / 1024}')
ok2=$(rate p2a p2b .fixes.ok)
wr2=$(rate p2b p2c .database.positions_written)
headline=$((ok2 < wr2 ? ok2 : wr2))

printf '\n%-56s %s\n' "ingest, $units units, dispatcher pinned to CPU $dcpu" "value"
printf '%-56s %s\n' "--------------------------------------------------------" "------------"
r() { printf '%-56s %s\n' "$1" "$2"; }
r "idle (fleet loaded): RSS MB" "$idle_rss"
r "1 Hz: fixes sent by the units" "$sent1"
r "1 Hz: received/s (window)" "$(rate p1a p1b .uplink.received)"
r "1 Hz: accepted as good (fixes.ok)/s (window)" "$(rate p1a p1b .fixes.ok)"
r "1 Hz: persisted/s (positions_written, window)" "$(rate p1a p1b .database.positions_written)"
r "1 Hz: fixes waiting for PostGIS at window start / end" \
    "$(field p1a .database.positions_pending) / $(field p1b .database.positions_pending)"
r "1 Hz: dispatcher CPU share of one core" "$cpu1"
r "1 Hz: dispatcher context switches per received fix" \
    "$(awk -v a="$(proc p1a 6)" -v b="$(proc p1b 6)" -v ra="$(field p1a .uplink.received)" \
        -v rb="$(field p1b .uplink.received)" 'BEGIN {printf "%.2f", (b - a) / (rb - ra)}')"
r "1 Hz: its PostgreSQL backend's CPU share of one core" "$pgcpu1"
r "1 Hz: dispatcher RSS MB (window end)" "$rss1"
r "1 Hz: seconds after the window until all durable" "$drain_s"
r "1 Hz: rows in vehicle_positions / sent" "$rows1 / $sent1 ($veh1 units)"
r "1 Hz: fixes acknowledged on the downlink / sent" "$acked1 / $sent1"
r "1 Hz: units with every fix acknowledged" "$(kv load1.out units_fully_acked) / $units"
r "1 Hz: most fixes acknowledged before PostGIS had them" "$early_acks"
r "1 Hz: refused fixes (late+future+range+too_fast)" \
    "$(field p1c '.fixes.late + .fixes.future + .fixes.out_of_range + .fixes.too_fast')"
r "1 Hz: refused envelopes (malformed/dup/unknown)" "$(field p1c '[.uplink.rejected[]] | add')"
r "1 Hz: envelopes deferred (buffer full, the unit resends)" "$(field p1c '.uplink.deferred // "-"')"
r "burst: fixes sent / units' send rate per s" "$(kv load2.out sent) / $(kv load2.out send_per_s)"
r "burst: received/s" "$(rate p2a p2b .uplink.received)"
r "burst: accepted/s (uplink.accepted)" "$(rate p2a p2b .uplink.accepted)"
r "burst: accepted as good (fixes.ok)/s" "$ok2"
r "burst: dispatcher CPU share of one core" "$(share p2a p2b 2)"
r "backlog: persisted/s (positions_written, next ${persist_s} s)" "$wr2"
r "backlog: fixes waiting / dropped / deferred at the end" \
    "$(field p2c .database.positions_pending) / $(field p2c .database.positions_dropped) / $(field p2c '.database.positions_deferred // "-"')"
r "burst: refused fixes (late+future+range+too_fast)" \
    "$(field p2c '.fixes.late + .fixes.future + .fixes.out_of_range + .fixes.too_fast')"
r "peak RSS MB (VmHWM)" "$hwm"
r "dispatcher log: 'stale' lines / other lines" "$stale_lines / $other_lines"

if [ -s "$tmp/perf.txt" ]; then
    echo
    echo "perf, dispatcher at 1 Hz (share of its samples: by library, then symbols above 0.7 %):"
    head -n 50 "$tmp/perf.txt"
fi
other=$(grep -v ' stale: no fix' "$tmp/dispatcher.log" | head -n 5 || true)
if [ -n "$other" ]; then
    echo
    echo "dispatcher log (first lines other than 'stale'):"
    echo "$other"
fi
reported=1

# Phase 1 must be complete and exact, or the numbers above measure a broken run.
[ "$rows1" = "$sent1" ] || echo "ingest: MISMATCH: $rows1 rows in PostGIS for $sent1 fixes sent" >&2
[ "$acked1" = "$sent1" ] || echo "ingest: MISMATCH: $acked1 fixes acknowledged of $sent1 sent" >&2
[ "$early_acks" = 0 ] ||
    echo "ingest: DURABILITY: up to $early_acks fixes were acknowledged before PostGIS held them" >&2

echo
echo "ingest_fixes_per_s: $headline"
echo "ingest_cpu_share_10k_units: $cpu1"
echo "ingest_rss_mb: $rss1"
[ "$rows1" = "$sent1" ] && [ "$acked1" = "$sent1" ] && [ "$early_acks" = 0 ]
