#!/usr/bin/env bash
# The link-cut test of issue 5 ("Nothing lost over a dropping link"), on real parts: the private
# PostGIS cluster (database goldline_linkcut), goldline-dispatcher, goldlinectl, one sealed
# goldline-vehicle with an on-disk spool streaming GPS, vitals and 12-lead ECG, and one sealed,
# spooled goldline-fleet unit.
#
#   tests/integration/linkcut.sh BUILD_DIR
#
# Timeline: provision both units (`goldlinectl vehicle add --key-file`), let them stream ~10 s,
# cut the link for LINKCUT_CUT_S (60) seconds by kill -9 of the dispatcher (nothing listens on
# the uplink), kill -9 the unit itself in the middle of the cut and restart it on the same
# spool, start the dispatcher again, let the units catch up, stop them cleanly. Then PostGIS
# must hold every envelope the unit used a seq for, exactly once: each seq in one of
# vehicle_positions, vitals_numerics, ecg_strips, with continuous ECG sample indices.
#
# Position source: the real u-blox 8 log of ../shared/data/nmea, its RMC/GGA sentences re-timed
# to the wall clock (checksums recomputed) and played forward and backward at one epoch a
# second into the agent's stdin (`--nmea -`). Not `--nmea FILE --replay-realtime`: the log
# is 73 s long, and a looped file's fix times go back at the seam, which the agent (it sends
# only a fix newer than the last) and the dispatcher (history, never the live position) would
# both rightly treat as old. The receiver stood still, so the track is continuous both ways.
#
# Prints one "ok"/"not ok" line per check and "N passed, M failed"; exits non-zero when a check
# failed. Skips (exit 0) with a message when ../shared/data is absent. Ports: websocket 19080,
# uplink 19401, downlink 19402. Artifacts (logs, spools, keys) in tests/artifacts/linkcut/.
set -uo pipefail
build=$(cd "${1:?usage: linkcut.sh BUILD_DIR}" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
art="$root/tests/artifacts/linkcut"
var="$art/var"
shared="${GL_SHARED_DATA:-$root/../shared/data}"
export GOLDLINE_PG_DB=goldline_linkcut
UP=tcp://127.0.0.1:19401
DOWN=tcp://127.0.0.1:19402
WSPORT=19080
ID=LC-1      # the goldline-vehicle unit
FID=LC-F1    # the goldline-fleet unit
CUT_S=${LINKCUT_CUT_S:-60}
nmea="$shared/nmea/ublox-8.log"

if [ ! -f "$nmea" ]; then
    echo "# SKIP linkcut: $nmea is absent (../shared/data not here)"
    echo "0 passed, 0 failed"
    exit 0
fi

. "$root/tests/integration/lib.sh"
DISPATCHER_ARGS=(--stale-s 120 --allow-unsealed=false)
now_ms() { date +%s%3N; }
sleep_until() { # sleep_until EPOCH_MS
    local d=$(($1 - $(now_ms)))
    [ "$d" -le 0 ] || sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
}

rm -rf "$art"
mkdir -p "$var" "$art/keys" "$art/spools"
fresh_database

# ---- helpers ---------------------------------------------------------------------------------
cat >"$art/feed_nmea.py" <<'PY'
# Plays the RMC/GGA epochs of a real NMEA log forward and backward, one a second, re-timed to
# the wall clock (date and time of day, checksums recomputed), until the reader goes away.
import sys, time
from functools import reduce

def cks(body):
    return reduce(lambda a, c: a ^ ord(c), body, 0)

epochs, order = {}, []
for raw in open(sys.argv[1], "rb").read().decode("latin-1").replace("\r", "\n").split("\n"):
    i = raw.find("$")
    if i < 0 or "*" not in raw[i:]:
        continue
    body, tail = raw[i + 1:].split("*", 1)
    if len(tail) < 2 or not all(c in "0123456789ABCDEFabcdef" for c in tail[:2]) or int(tail[:2], 16) != cks(body):
        continue
    f = body.split(",")
    kind = f[0][2:]
    if kind not in ("RMC", "GGA") or len(f) < 10:
        continue
    if f[1] not in epochs:
        epochs[f[1]] = {}
        order.append(f[1])
    epochs[f[1]][kind] = f
good = [epochs[t] for t in order
        if "RMC" in epochs[t] and "GGA" in epochs[t] and epochs[t]["RMC"][2] == "A" and epochs[t]["GGA"][6] not in ("", "0")]
if len(good) < 10:
    sys.exit("feed_nmea: fewer than 10 usable epochs in " + sys.argv[1])
play = good + good[-2:0:-1]
sys.stderr.write("feed_nmea: %d epochs, a cycle of %d s\n" % (len(good), len(play)))
k = 0
while True:
    nxt = int(time.time()) + 1
    time.sleep(max(0.0, nxt + 0.2 - time.time()))
    tm = time.gmtime(nxt)
    tod = time.strftime("%H%M%S", tm) + ".00"
    e = play[k % len(play)]
    k += 1
    rmc, gga = list(e["RMC"]), list(e["GGA"])
    rmc[1], gga[1], rmc[9] = tod, tod, time.strftime("%d%m%y", tm)
    out = ""
    for f in (rmc, gga):
        body = ",".join(f)
        out += "$%s*%02X\r\n" % (body, cks(body))
    try:
        sys.stdout.write(out)
        sys.stdout.flush()
    except BrokenPipeError:
        sys.exit(0)
PY

# Reads a spool file (layout in vehicle/spool.h) and prints JSON: next seq, the live entries
# (seq, kind), and how many of them are sealed envelopes of this vehicle.
cat >"$art/read_spool.py" <<'PY'
import json, struct, sys, zlib
data = open(sys.argv[1], "rb").read()
vid = sys.argv[2].encode()
assert data[:8] == b"GLSPOOL1", "not a spool"
assert data[8:40].rstrip(b"\0") == vid, "another vehicle's spool"
assert struct.unpack("<I", data[40:44])[0] == zlib.crc32(data[:40]), "header CRC"
live, nxt, off, sealed, torn = {}, 0, 44, 0, 0
while off < len(data):
    if off + 8 > len(data):
        torn = len(data) - off; break
    n, crc = struct.unpack("<II", data[off:off + 8])
    body = data[off + 8:off + 8 + n]
    if len(body) < n or zlib.crc32(body) != crc or n == 0:
        torn = len(data) - off; break
    off += 8 + n
    t = body[0]
    if t == 1:
        kind, seq, _sent = struct.unpack("<BQq", body[1:18])
        live[seq] = (kind, body[18:])
        nxt = max(nxt, seq + 1)
    elif t == 2:
        up = struct.unpack("<Q", body[1:9])[0]
        for s in [s for s in live if s <= up]:
            del live[s]
        nxt = max(nxt, up + 1)
    elif t == 3:
        nxt = max(nxt, struct.unpack("<Q", body[1:9])[0])
    elif t == 4:
        live.pop(struct.unpack("<Q", body[1:9])[0], None)
hdr = bytes([0x47, 1, 1, len(vid)]) + vid   # seal.h: magic, version, uplink, id_len, id
sealed = sum(1 for k, env in live.values() if env.startswith(hdr))
print(json.dumps({"next_seq": nxt, "live": sorted([s, k] for s, (k, _) in live.items()),
                  "sealed": sealed, "torn": torn}))
PY

run_no=0
start_unit() { # the unit, its NMEA fed on stdin; $upid is goldline-vehicle's pid
    run_no=$((run_no + 1))
    rm -f "$art/$ID.sock" # a killed agent leaves its socket behind
    python3 "$art/feed_nmea.py" "$nmea" 2>>"$art/feed.log" |
        "$build/vehicle/goldline-vehicle" --id $ID --uplink-url $UP --downlink-url $DOWN --nmea - \
            --vitals gen --spool "$art/spools/$ID.spool" --key-file "$art/keys/$ID.key" \
            --control "$art/$ID.sock" >>"$art/unit-$run_no.log" 2>&1 &
    upid=$!
    pids+=($upid)
    wait_for 10 test -S "$art/$ID.sock"
}
unit_info() { "$build/vehicle/goldline-vehicle" --control "$art/$ID.sock" info; }
info_field() { unit_info | tr ' ' '\n' | sed -n "s/^$1=//p"; }
log_field() { # log_field FILE REGEX: the first capture group of the last matching line
    sed -nE "s/.*$2.*/\1/p" "$1" | tail -1
}

# ---- dispatcher, schema, provisioning ----------------------------------------------------------
check "dispatcher starts on an empty database and applies the schema" start_dispatcher
kill -TERM "$dpid"
wait "$dpid"
psql_q "INSERT INTO vehicles (id, call_sign, kind) VALUES ('$ID', '断链01', 'ALS')" >/dev/null
check "dispatcher starts again with the seeded unit $ID (unsealed uplinks refused)" start_dispatcher
ctl vehicle add $ID --kind ALS --key-file "$art/keys/$ID.key" >"$art/vadd.json" 2>&1
check "goldlinectl vehicle add provisions $ID's key (key file mode 600)" \
    bash -c "[ \"\$(stat -c %a '$art/keys/$ID.key')\" = 600 ] && grep -q '$ID' '$art/vadd.json'"
ctl vehicle add $FID --kind ALS --key-file "$art/keys/$FID.key" >>"$art/vadd.json" 2>&1
check "goldlinectl vehicle add provisions the fleet unit $FID" test -f "$art/keys/$FID.key"

cp "$art/keys/$ID.key" "$art/open.key"
chmod 644 "$art/open.key"
"$build/vehicle/goldline-vehicle" --id $ID --uplink-url $UP --downlink-url $DOWN \
    --key-file "$art/open.key" >"$art/badkey.log" 2>&1
rc=$?
check "goldline-vehicle refuses a key file open to others, with the reason (exit $rc)" \
    bash -c "[ $rc -ne 0 ] && grep -q 'chmod 600' '$art/badkey.log'"

# ---- stream ------------------------------------------------------------------------------------
start_unit
t_start=$(now_ms)
check "goldline-vehicle runs sealed with a spool" \
    bash -c "grep -q 'uplink sealed' '$art/unit-1.log' && grep -q 'spool .*next seq' '$art/unit-1.log'"
first_seq=$(log_field "$art/unit-1.log" 'spool .*: next seq ([0-9]+),')
printf 'id,lat,lon,kind\n%s,44.0690,-121.3143,ALS\n' $FID >"$art/fleet.csv"
"$build/vehicle/goldline-fleet" --units "$art/fleet.csv" --uplink-url $UP --downlink-url $DOWN \
    --spool-dir "$art/spools" --key-dir "$art/keys" >>"$art/fleet.log" 2>&1 &
fpid=$!
pids+=($fpid)
live_pos() { [ "$(psql_q "SELECT count(*) FROM vehicle_positions WHERE vehicle_id = '$1'")" -gt 2 ]; }
check "the unit's sealed fixes reach PostGIS" wait_for 20 live_pos $ID
check "the fleet unit's sealed, spooled fixes reach PostGIS" wait_for 20 live_pos $FID
check "the fleet unit has its own spool file ($FID.spool)" test -s "$art/spools/$FID.spool"
sleep_until $((t_start + 10000))

# ---- the cut: nothing listens for CUT_S seconds ----------------------------------------------------
kill -KILL "$dpid"
wait "$dpid" 2>/dev/null
cut_from=$(now_ms)
echo "# link cut at $cut_from for $CUT_S s (dispatcher killed)"
sleep_until $((cut_from + CUT_S * 500))
# Mid-cut: the unit dies too. What it sent and nobody acknowledged must be in its spool.
kill -KILL "$upid"
wait "$upid" 2>/dev/null
kill_at=$(now_ms)
python3 "$art/read_spool.py" "$art/spools/$ID.spool" $ID >"$art/spool_at_kill.json"
check "the killed unit's spool holds its unacknowledged backlog, every entry sealed" python3 - "$art/spool_at_kill.json" "$CUT_S" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
kinds = [k for _, k in s["live"]]
need = int(sys.argv[2]) // 2 - 3                  # seconds of the cut before the kill, a margin
print("# spool at kill: next seq %d, %d live (%d fixes, %d vitals, %d ECG), %d sealed, %d torn bytes"
      % (s["next_seq"], len(kinds), kinds.count(0), kinds.count(2), kinds.count(3), s["sealed"], s["torn"]))
sys.exit(0 if kinds.count(0) >= need and kinds.count(3) >= 10 * need and kinds.count(2) >= need
         and s["sealed"] == len(kinds) else 1)
PY
start_unit
restart_seq=$(log_field "$art/unit-2.log" 'spool .*: next seq ([0-9]+),')
restored=$(log_field "$art/unit-2.log" 'next seq [0-9]+, ([0-9]+) unacknowledged restored')
check "the restarted unit continues its seqs from the spool ($restart_seq) and restores its backlog ($restored)" \
    python3 -c "import json,sys; s=json.load(open('$art/spool_at_kill.json')); sys.exit(0 if s['next_seq'] == int('${restart_seq:-0}') and len(s['live']) == int('${restored:--1}') else 1)"
sleep_until $((cut_from + CUT_S * 1000))
cut_to=$(now_ms)
check "the link comes back after $(((cut_to - cut_from) / 1000)) s (dispatcher restarted)" start_dispatcher

# ---- catch up, stop cleanly --------------------------------------------------------------------------
caught_up() { [ "$(info_field queued)" = 0 ] && [ "$(info_field resent)" -gt 0 ]; }
check "the unit's backlog is acknowledged after the cut" wait_for 90 caught_up
sleep 3
kill -TERM "$upid" "$fpid"
wait "$upid"
urc=$?
wait "$fpid"
frc=$?
check "SIGTERM: goldline-vehicle and goldline-fleet exit 0 ($urc, $frc)" [ "$urc$frc" = 00 ]
last_next=$(log_field "$art/unit-2.log" 'stopping: next seq ([0-9]+),')
counts2=$(log_field "$art/unit-2.log" 'stopping: next seq [0-9]+, (fixes [0-9]+, vitals [0-9]+, ecg frames [0-9]+),')
unacked=$(log_field "$art/unit-2.log" 'stopping: .*unacknowledged ([0-9]+)')
# What was sent in the last moment before SIGTERM may not be acknowledged yet: it stays in the
# spool for the next start (and may well be stored already); never more than a second's worth.
python3 "$art/read_spool.py" "$art/spools/$ID.spool" $ID >"$art/spool_at_stop.json"
check "the unit stopped with at most its last second unacknowledged, kept in its spool ($unacked)" \
    python3 -c "import json,sys; s=json.load(open('$art/spool_at_stop.json')); sys.exit(0 if len(s['live']) == int('${unacked:--1}') < 15 and s['next_seq'] == int('${last_next:-0}') else 1)"
copied() { ctl stats | python3 -c "import json,sys; d=json.load(sys.stdin)['database']; sys.exit(0 if d['state']=='up' and d['positions_pending']==0 and d['records_pending']==0 else 1)"; }
check "the dispatcher has copied everything into PostGIS" wait_for 30 copied
sleep 2

# ---- what PostGIS holds ---------------------------------------------------------------------------------
q="SELECT 'P', seq, 0, extract(epoch FROM fix_at) * 1000 FROM vehicle_positions WHERE vehicle_id = '$ID'
   UNION ALL SELECT 'V', seq, count(*), extract(epoch FROM max(measured_at)) * 1000 FROM vitals_numerics WHERE vehicle_id = '$ID' GROUP BY seq
   UNION ALL SELECT 'E', seq, first_sample_index, extract(epoch FROM first_sample_at) * 1000 FROM ecg_strips WHERE vehicle_id = '$ID'"
psql_q "$q" >"$art/stored.txt"
psql_q "SELECT count(*) - count(DISTINCT seq) FROM vehicle_positions WHERE vehicle_id = '$ID'" >"$art/pos_dups.txt"
psql_q "SELECT seq, samples_per_lead, leads, sample_rate_hz FROM ecg_strips WHERE vehicle_id = '$ID' ORDER BY seq" >"$art/ecg_meta.txt"
cat >"$art/verify.py" <<'PY'
import json, re, sys
art, first, restart, last, cut_from, cut_to, kill_at = sys.argv[1], *map(int, sys.argv[2:8])
# what the restarted unit said it handed to its session: "fixes F, vitals V, ecg frames E"
sent2 = dict(zip(("P", "V", "E"), map(int, re.findall(r"[0-9]+", sys.argv[8]))))
rows = [l.split("|") for l in open(art + "/stored.txt").read().split()]
by_seq = {}
for kind, seq, x, t in rows:
    by_seq.setdefault(int(seq), []).append((kind, int(x), float(t)))
used = set(range(first, last))
# sent just before SIGTERM and not acknowledged yet: in the spool for the next start, not lost
pending_kind = {s: "PSVE"[k] for s, k in json.load(open(art + "/spool_at_stop.json"))["live"]}
pending = set(pending_kind)
res = []
def out(ok, text):
    res.append((ok, text))
dup = [s for s, v in by_seq.items() if len(v) > 1]
missing = sorted(used - by_seq.keys() - pending)
extra = sorted(by_seq.keys() - used)
out(not missing and not dup and not extra,
    "every seq the unit used (%d..%d, %d envelopes) is stored exactly once or still in its spool (%d) "
    "(missing %d%s, duplicated %d, foreign %d)"
    % (first, last - 1, len(used), len(pending - by_seq.keys()), len(missing),
       (" e.g. %s" % missing[:5]) if missing else "", len(dup), len(extra)))
spool = json.load(open(art + "/spool_at_kill.json"))
lost = [s for s, _ in spool["live"] if s not in by_seq]
out(not lost, "all %d envelopes the unit had sent but not had acknowledged when it was killed are stored (lost %d)"
    % (len(spool["live"]), len(lost)))
pos_dups = int(open(art + "/pos_dups.txt").read())
fixes = sorted((s, v[0][2]) for s, v in by_seq.items() if v[0][0] == "P")
in_cut = [t for _, t in fixes if cut_from <= t <= cut_to]
out(pos_dups == 0 and len(in_cut) >= (cut_to - cut_from) / 1000 - 8,
    "vehicle_positions: %d fixes, none twice on (vehicle_id, seq); %d taken during the %d s cut"
    % (len(fixes), len(in_cut), (cut_to - cut_from) // 1000))
out(all(b[1] > a[1] for a, b in zip(fixes, fixes[1:])), "fix times increase with the seq")
meta = {int(l.split("|")[0]): list(map(int, l.split("|")[1:])) for l in open(art + "/ecg_meta.txt").read().split()}
ok_ecg, notes = True, []
for name, lo, hi in (("before the unit's kill", first, restart), ("after its restart", restart, last)):
    ecg = sorted((s, v[0][1], v[0][2]) for s, v in by_seq.items() if v[0][0] == "E" and lo <= s < hi)
    spl = meta[ecg[0][0]][0] if ecg else 0
    idx_ok = bool(ecg) and all(e[1] == i * spl for i, e in enumerate(ecg))
    t_ok = bool(ecg) and all(abs((b[2] - a[2]) - 100) < 1 for a, b in zip(ecg, ecg[1:]))
    shape_ok = all(meta[e[0]] == [50, 12, 500] for e in ecg)
    n_cut = sum(1 for e in ecg if cut_from <= e[2] <= cut_to)
    # run 1 was killed: its stream must reach the kill (a frame is sent once it is complete)
    # run 2 stopped cleanly: as many frames as it said it sent
    # (the last frame completes up to a frame plus a poll interval before the kill, and the
    # frame being built at SIGKILL was never sent: 1.5 s of slack; no sent frame may be missing,
    # which the seq check above asserts)
    end_ok = (ecg and ecg[-1][2] >= kill_at - 1500) if hi == restart else \
        len(ecg) + sum(1 for s in pending - by_seq.keys() if pending_kind[s] == "E") == sent2["E"]
    ok_ecg &= bool(idx_ok and t_ok and shape_ok and end_ok)
    notes.append("%s: %d frames, index 0..%d step %d, %d during the cut" % (name, len(ecg), ecg[-1][1] if ecg else -1, spl, n_cut))
out(ok_ecg, "ecg_strips: first_sample_index continuous from 0 with no gap or repeat, 100 ms apart, 12 leads x 50 at 500 Hz, "
    "up to the kill and then every frame the restarted unit sent (" + "; ".join(notes) + ")")
got2 = {k: sum(1 for s, v in by_seq.items() if v[0][0] == k and restart <= s < last) +
           sum(1 for s in pending - by_seq.keys() if pending_kind[s] == k) for k in "PVE"}
out(got2 == sent2, "the restarted unit's fixes, vitals and ECG frames are all stored or still spooled "
    "(sent %s, stored %s)" % (sent2, got2))
vit_cut = sum(1 for v in by_seq.values() if v[0][0] == "V" and cut_from <= v[0][2] <= cut_to)
out(vit_cut >= (cut_to - cut_from) / 1000 - 8, "vitals_numerics: %d messages measured during the cut" % vit_cut)
for ok, text in res:
    print(("ok - " if ok else "not ok - ") + text)
PY
if [ -n "$first_seq" ] && [ -n "$restart_seq" ] && [ -n "$last_next" ]; then
    while IFS= read -r line; do
        case "$line" in
        "ok - "*) ok "${line#ok - }" ;;
        *) nok "${line#not ok - }" ;;
        esac
    done < <(python3 "$art/verify.py" "$art" "$first_seq" "$restart_seq" "$last_next" "$cut_from" "$cut_to" "$kill_at" "$counts2" 2>&1)
else
    nok "the unit's seqs could not be read from its logs (first=$first_seq restart=$restart_seq last=$last_next)"
fi
fleet_ok() {
    python3 - "$art/fleet_pos.txt" "$cut_from" "$cut_to" <<'PY'
import sys
rows = [l.split("|") for l in open(sys.argv[1]).read().split()]
seqs = sorted(int(s) for s, _ in rows)
cut = [float(t) for _, t in rows if int(sys.argv[2]) <= float(t) <= int(sys.argv[3])]
# one status at start, then only fixes: their seqs follow each other with no hole
holes = sum(b - a - 1 for a, b in zip(seqs, seqs[1:]))
print("# fleet unit: %d fixes, %d during the cut, %d seqs missing between them" % (len(seqs), len(cut), holes))
sys.exit(0 if len(seqs) == len(set(seqs)) and holes == 0 and len(cut) >= (int(sys.argv[3]) - int(sys.argv[2])) / 1000 - 5 else 1)
PY
}
psql_q "SELECT seq, extract(epoch FROM fix_at) * 1000 FROM vehicle_positions WHERE vehicle_id = '$FID'" >"$art/fleet_pos.txt"
check "the fleet unit's spool carried every fix across the cut, none twice, no seq missing" fleet_ok
ctl stats >"$art/stats.json"
check "no uplink refused as forged or unsealed" python3 -c "import json,sys; r=json.load(open('$art/stats.json'))['uplink']['rejected']; sys.exit(0 if r.get('forged',0)==0 and r.get('unsealed',0)==0 else 1)"

kill -TERM "$dpid"
wait "$dpid"
check "SIGTERM: the dispatcher exits 0" [ $? -eq 0 ]
check "no sanitizer report in the logs" bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' '$art'/*.log"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
