#!/usr/bin/env bash
# Integration test of the whole dispatch path on real parts: the private PostGIS cluster
# (database goldline_it), goldline-dispatcher, goldline-fleet with 20 units at known positions,
# goldline-vehicle replaying a real GPS receiver log, and goldlinectl over the websocket API.
#
#   tests/integration/run.sh BUILD_DIR
#
# Prints one "ok"/"not ok" line per check and closes with "N passed, M failed"; exits non-zero
# when a check failed. Called by deploy/test.sh after the unit tests. Uses its own ports
# (uplink 17401, downlink 17402, websocket 18080) so a running demo is left alone.
set -uo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
art="$root/tests/artifacts/integration"
var="$art/var"
shared="$root/../shared/data"
export GOLDLINE_PG_DB=goldline_it
UP=tcp://127.0.0.1:17401
DOWN=tcp://127.0.0.1:17402
WSPORT=18080
CENTER_LAT=28.2948
CENTER_LON=117.2401

. "$root/tests/integration/lib.sh"
DISPATCHER_ARGS=(--auto-assign-s 4 --stale-s 30)

rm -rf "$art"
mkdir -p "$var"
fresh_database

# ---- the fleet: 20 units at known bearings and distances from the scene ---------------------
python3 - "$art" "$CENTER_LAT" "$CENTER_LON" <<'PY'
import csv, math, sys
out, lat0, lon0 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
R = 6371008.8
def dest(d, brg):
    p1, l1, b, a = math.radians(lat0), math.radians(lon0), math.radians(brg), d / R
    p2 = math.asin(math.sin(p1) * math.cos(a) + math.cos(p1) * math.sin(a) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(a) * math.cos(p1), math.cos(a) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), math.degrees(l2)
with open(f"{out}/units.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["id", "lat", "lon", "kind", "capabilities", "call_sign"])
    for i in range(20):
        d = 300 + 450 * i              # T-01 300 m ... T-20 8.85 km
        kind = "BLS" if i % 4 == 0 else "ALS"
        caps = "ecg12|incubator" if i == 9 else ("ecg12" if kind == "ALS" else "")
        lat, lon = dest(d, (i * 137) % 360)
        w.writerow([f"T-{i + 1:02d}", f"{lat:.7f}", f"{lon:.7f}", kind, caps, f"贵溪{i + 1:02d}"])
with open(f"{out}/hospitals.csv", "w", newline="") as f:
    lat, lon = dest(1500, 180)
    csv.writer(f).writerows([["id", "lat", "lon", "name"], ["H1", f"{lat:.7f}", f"{lon:.7f}", "贵溪市人民医院 (test)"]])
PY

# The first start applies the schema to the fresh database; then the fleet is seeded (the
# dispatcher reads vehicles at start) and the dispatcher started again.
check "dispatcher starts on an empty database, applies the schema and serves /healthz" start_dispatcher
kill -TERM "$dpid"
wait "$dpid"
"$build/vehicle/goldline-fleet" --units "$art/units.csv" --print-sql | "$root/deploy/pg.sh" psql -q >/dev/null
# Two units no simulator drives: PROBE (out of service, never recommended) takes the hostile
# input, NMEA-1 is goldline-vehicle's.
psql_q "INSERT INTO vehicles (id, call_sign, kind) VALUES ('NMEA-1', '回放', 'ALS')" >/dev/null
psql_q "INSERT INTO vehicles (id, call_sign, kind, status) VALUES ('PROBE', '探针', 'ALS', 'out_of_service')" >/dev/null
# The hospital the simulator drives to (hospitals.csv), a PCI and stroke centre.
IFS=, read -r _ hlat hlon _ < <(sed -n 2p "$art/hospitals.csv")
psql_q "INSERT INTO hospitals (id, name, geom, capabilities) VALUES ('H1', '贵溪市人民医院 (test)',
        ST_SetSRID(ST_MakePoint($hlon, $hlat), 4326)::geography, '{pci,stroke_ivt,trauma}')" >/dev/null
# A second PCI centre 2.5 km north of the centre (not in the simulator's hospitals.csv: a unit
# goes there only because the dispatcher says so), for the diversion below.
read -r h2lat h2lon < <(python3 -c "
import math
p1, l1 = math.radians($CENTER_LAT), math.radians($CENTER_LON)
print(f'{math.degrees(p1 + 2500 / 6371008.8):.7f} {$CENTER_LON:.7f}')")
psql_q "INSERT INTO hospitals (id, name, geom, capabilities) VALUES ('H2', '鹰潭市人民医院 (test)',
        ST_SetSRID(ST_MakePoint($h2lon, $h2lat), 4326)::geography, '{pci}')" >/dev/null
check "dispatcher starts with the seeded fleet" start_dispatcher
check "GET /healthz needs no token and says the database is up" \
    bash -c "curl -fs http://127.0.0.1:$WSPORT/healthz | grep -q '\"database\":\"up\"'"

"$build/vehicle/goldline-fleet" --units "$art/units.csv" --hospitals "$art/hospitals.csv" \
    --uplink-url $UP --downlink-url $DOWN --time-scale 4 --speed-kmh 55 --scene-min 0.3 \
    --hospital-min 0.3 >>"$art/fleet.log" 2>&1 &
pids+=($!)

fleet_live() { ctl fleet | py "sum(1 for v in r['vehicles'] if v['id'].startswith('T-') and not v['stale'] and 'lat' in v) == 20" | grep -q True; }
check "all 20 simulated units report positions" wait_for 30 fleet_live

# ---- authentication ------------------------------------------------------------------------
"$build/console/goldlinectl" --url "ws://127.0.0.1:$WSPORT" --token 0123456789abcdef0123456789abcdef --compact fleet >/dev/null 2>"$art/badtoken.err"
rc=$?
check "a wrong token is refused (exit 3, EACCES)" bash -c "[ $rc -eq 3 ] && grep -q EACCES '$art/badtoken.err'"

# ---- a chest-pain call: ranking -------------------------------------------------------------
ctl call new --lat $CENTER_LAT --lon $CENTER_LON --complaint chest_pain --priority 2 \
    --caller 13800138000 --address "贵溪市 花园街道" >"$art/call1.json"
inc1=$(py "r['incident']['id']" <"$art/call1.json")
expected=$(python3 - "$art/units.csv" "$CENTER_LAT" "$CENTER_LON" <<'PY'
import csv, math, sys
lat0, lon0 = float(sys.argv[2]), float(sys.argv[3])
def hav(a, b, c, d):
    p1, p2, dp, dl = map(math.radians, (a, c, c - a, d - b))
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h))
units = [u for u in csv.DictReader(open(sys.argv[1])) if u["kind"] == "ALS"]
units.sort(key=lambda u: hav(lat0, lon0, float(u["lat"]), float(u["lon"])))
print(" ".join(u["id"] for u in units[:5]))
PY
)
got=$(py "' '.join(c['vehicle'] for c in r['candidates'])" <"$art/call1.json")
check "call accepted with a readable number ($inc1)" bash -c "[[ '$inc1' =~ ^[0-9]{8}-[0-9]{4}$ ]]"
check "candidates are the 5 nearest ALS units, nearest first ($got)" [ "$got" = "$expected" ]
check "the nearest unit (T-01, BLS) is not recommended for chest pain" bash -c "! grep -q '\"T-01\"' '$art/call1.json'"
check "candidates are ordered by ETA" bash -c "py \"all(a['eta_s'] <= b['eta_s'] for a, b in zip(r['candidates'], r['candidates'][1:]))\" <'$art/call1.json' | grep -q True"
ctl call new --lat $CENTER_LAT --lon $CENTER_LON --complaint newborn --priority 3 >"$art/call_nb.json"
check "a newborn call recommends the unit with the incubator (T-10)" \
    bash -c "py \"r['candidates'][0]['vehicle']\" <'$art/call_nb.json' | grep -qx T-10"
inc_nb=$(py "r['incident']['id']" <"$art/call_nb.json")

# ---- refused requests ------------------------------------------------------------------------
ctl assign "$inc1" T-01 >/dev/null 2>"$art/refuse1.err"
rc=$?
check "assigning a BLS unit to chest pain is refused (exit 4, ECAPABILITY)" bash -c "[ $rc -eq 4 ] && grep -q ECAPABILITY '$art/refuse1.err'"
ctl assign 20000101-0001 T-02 >/dev/null 2>&1
check "assigning to an unknown incident is refused (exit 4)" [ $? -eq 4 ]

# ---- assignment reaches the unit, its statuses come back, the timeline is in PostGIS ---------
first=${got%% *}
check "operator assigns $inc1 to $first" bash -c "ctl assign $inc1 $first | grep -q '\"state\":\"dispatched\"'"
ctl assign "$inc_nb" "$first" >/dev/null 2>&1
check "a dispatched unit cannot take a second call (exit 4)" [ $? -eq 4 ]
check "the fleet simulator received the assignment" wait_for 10 grep -q "veh=$first inc=$inc1 assigned" "$art/fleet.log"
inc_state() { ctl incident "$1" | py "r['incident']['state']"; }
closed() { [ "$(inc_state "$1")" = "$2" ]; }
check "the unit's statuses drive $inc1 to closed" wait_for 120 closed "$inc1" closed
ctl timeline "$inc1" >"$art/timeline1.json"
kinds=$(py "' '.join(e['kind'] + ('/' + e['detail']['status'] if e['kind'] == 'status' else '') for e in r['events'])" <"$art/timeline1.json")
check "timeline: $kinds" [ "$kinds" = "call_received assigned status/en_route status/on_scene destination status/transporting status/at_hospital status/returning closed" ]
check "the destination (the PCI centre) was chosen when the unit reached the patient" \
    bash -c "py \"[e['detail']['hospital'] + '/' + e['source'] for e in r['events'] if e['kind'] == 'destination']\" <'$art/timeline1.json' | grep -q \"H1/dispatcher\""
check "the crew was told the destination (Destination downlink, acknowledged)" \
    grep -q "veh=$first inc=$inc1 destination H1" "$art/fleet.log"
nev=$(py "len(r['events'])" <"$art/timeline1.json")
in_pg() { [ "$(psql_q "SELECT count(*) FROM incident_events WHERE incident_id = '$inc1'")" = "$nev" ]; }
check "the same $nev events are in PostGIS" wait_for 10 in_pg
check "the unit's driven track is in PostGIS (vehicle_positions)" \
    bash -c "[ \$('$root/deploy/pg.sh' psql -qAtX -c \"SELECT count(DISTINCT geom::text) FROM vehicle_positions WHERE vehicle_id = '$first'\") -gt 10 ]"
check "times are stored as timestamptz in UTC" \
    bash -c "'$root/deploy/pg.sh' psql -qAtX -c \"SELECT pg_typeof(at) FROM incident_events LIMIT 1\" | grep -qx 'timestamp with time zone'"

# ---- diversion while the patient is on the way --------------------------------------------
# H1 goes on diversion while a unit carries a chest-pain patient there: the dispatcher chooses
# H2, the crew is told, and the unit (which does not know H2 otherwise) arrives at H2.
api() { python3 "$root/tests/integration/api_call.py" $WSPORT "$(cat "$var/api-token")" "$@"; }
ctl call new --lat $CENTER_LAT --lon $CENTER_LON --complaint chest_pain --priority 2 >"$art/call_div.json"
inc_div=$(py "r['incident']['id']" <"$art/call_div.json")
unit_div=$(py "r['candidates'][0]['vehicle']" <"$art/call_div.json")
ctl assign "$inc_div" "$unit_div" >/dev/null
check "$unit_div carries the $inc_div patient towards H1" wait_for 90 closed "$inc_div" transporting
api hospital.status '{"hospital":"H1","on_diversion":true}' >"$art/divert.json"
check "H1 goes on diversion (op hospital.status)" [ $? -eq 0 ]
check "the patient's destination is now H2" bash -c "[ \"\$(ctl incident $inc_div | py \"r['incident'].get('destination')\")\" = H2 ]"
check "the crew was told (fleet log: destination H2)" \
    wait_for 10 grep -q "veh=$unit_div inc=$inc_div destination H2" "$art/fleet.log"
arrived() { case "$(inc_state "$inc_div")" in at_hospital | closed) return 0 ;; esac; return 1; }
check "the unit arrives at H2 (at_hospital)" wait_for 120 arrived
at_h2() { [ "$(psql_q "SELECT count(*) FROM vehicle_positions p, hospitals h WHERE p.vehicle_id = '$unit_div' AND h.id = 'H2' AND ST_DWithin(p.geom, h.geom, 60)")" -gt 0 ]; }
check "its track ends at H2 (PostGIS: a fix within 60 m of H2)" wait_for 15 at_h2
api hospital.status '{"hospital":"H1","on_diversion":false}' >/dev/null
api destination "{\"incident\":\"$inc_div\",\"hospital\":\"H1\"}" >"$art/override_noreason.json"
check "an override without a reason is refused (EINVAL)" grep -q EINVAL "$art/override_noreason.json"

# ---- automatic assignment of a priority-1 call ---------------------------------------------
ctl call new --lat $CENTER_LAT --lon $CENTER_LON --complaint stroke --priority 1 >"$art/call_p1.json"
inc_p1=$(py "r['incident']['id']" <"$art/call_p1.json")
auto_done() { ctl timeline "$inc_p1" | py "[e['kind'] for e in r['events']]" | grep -q auto_assigned; }
check "a priority-1 call nobody handles is auto-assigned after 4 s" wait_for 15 auto_done

# ---- hostile and broken uplink input ---------------------------------------------------------
inj="$build/tests/gl-uplink-inject"
# PROBE's seqs: 1 anchors it in Guixi, 2-4 are impossible fixes, then the rest (whose default
# seq, the wall clock in ms, is above them all).
"$inj" $UP good PROBE 1 && sleep 0.5
seq=1
for kind in out_of_range future teleport; do seq=$((seq + 1)); "$inj" $UP $kind PROBE $seq; done
"$inj" $UP ancient_fix PROBE 5
"$inj" $UP huge_seq PROBE
for kind in garbage truncated empty no_body unknown_vehicle bad_status; do "$inj" $UP $kind PROBE; done
"$inj" $UP far_status PROBE
sleep 0.3
stamped=$(ctl fleet | py "[v.get('status_at', '')[:4] for v in r['vehicles'] if v['id'] == 'PROBE'][0]")
"$inj" $UP oos_now PROBE   # back out of service, so it is never recommended
sleep 1
ctl stats >"$art/stats.json"
check "malformed uplink messages are counted (garbage, truncated, empty, bad status, huge seq)" \
    bash -c "py \"r['uplink']['rejected']['malformed'] >= 5\" <'$art/stats.json' | grep -q True"
check "an envelope without a body is counted" bash -c "py \"r['uplink']['rejected']['no_body'] >= 1\" <'$art/stats.json' | grep -q True"
check "an unknown vehicle is counted" bash -c "py \"r['uplink']['rejected']['unknown_vehicle'] >= 1\" <'$art/stats.json' | grep -q True"
check "impossible fixes are refused by reason (out of range, future, too fast)" \
    bash -c "py \"r['fixes']['out_of_range'] >= 2 and r['fixes']['future'] >= 1 and r['fixes']['too_fast'] >= 1\" <'$art/stats.json' | grep -q True"
check "a refused fix does not move the unit (PROBE stays in Guixi)" \
    bash -c "ctl fleet | py \"[abs(v['lat'] - 28.2948) < 0.001 for v in r['vehicles'] if v['id'] == 'PROBE']\" | grep -qx '\[True\]'"
"$inj" $UP vitals PROBE - "$inc1"
"$inj" $UP ecg PROBE - "$inc1"
vitals_in_pg() {
    [ "$(psql_q "SELECT count(*) FROM vitals_numerics WHERE incident_id = '$inc1' AND vehicle_id = 'PROBE'")" = 3 ] &&
        [ "$(psql_q "SELECT leads || '/' || samples_per_lead || '/' || sample_rate_hz || '/' || first_sample_index FROM ecg_strips WHERE incident_id = '$inc1'")" = "12/50/500/1000" ]
}
check "vitals and a 12-lead ECG frame are stored per incident in PostGIS" wait_for 15 vitals_in_pg
copy_goes_on() { ctl stats | py "r['database']['records_pending'] == 0 and r['database']['positions_pending'] < 100 and r['database']['records_dead_lettered'] == 0" | grep -q True; }
check "extreme times and seqs do not stop the copy into PostGIS" wait_for 15 copy_goes_on
check "a unit's status stamped in year 285 million gets the receive time ($stamped)" [ "$stamped" = "$(date -u +%Y)" ]
check "the dispatcher keeps serving after hostile input" curl -fso /dev/null "http://127.0.0.1:$WSPORT/healthz"
check "refused input is logged" grep -q "uplink refused" "$art/dispatcher.log"

# ---- provisioning a unit with a sealing key -----------------------------------------------------
ctl vehicle add SEAL-1 --kind ALS --call-sign 密封01 --caps ecg12 --key-file "$art/seal-1.key" >"$art/vadd.json"
check "goldlinectl vehicle add provisions a unit and writes its key file (mode 600, key not printed)" \
    bash -c "[ \"\$(stat -c %a '$art/seal-1.key')\" = 600 ] && ! grep -q '\"key\"' '$art/vadd.json' && grep -q SEAL-1 '$art/vadd.json'"
check "a second vehicle add never overwrites the key file (exit 2)" \
    bash -c "ctl vehicle add SEAL-1 --kind ALS --key-file '$art/seal-1.key' 2>/dev/null; [ \$? -eq 2 ]"
key_in_pg() { [ "$(psql_q "SELECT length(seal_key) FROM vehicles WHERE id = 'SEAL-1'")" = 64 ]; }
check "the unit and its key are in PostGIS" wait_for 10 key_in_pg
GL_INJECT_KEY_FILE="$art/seal-1.key" "$inj" $UP good SEAL-1 1
sealed_fix() { ctl fleet | py "[v.get('lat') for v in r['vehicles'] if v['id'] == 'SEAL-1']" | grep -q 28.29; }
check "a sealed fix from the provisioned unit is taken" wait_for 5 sealed_fix
"$inj" $UP good SEAL-1 2
printf '%064d\n' 7 >"$art/wrong.key"; chmod 600 "$art/wrong.key"
GL_INJECT_KEY_FILE="$art/wrong.key" "$inj" $UP good SEAL-1 3
sleep 0.5
ctl stats >"$art/stats_seal.json"
check "a plain envelope from a provisioned unit is refused (unsealed)" \
    bash -c "py \"r['uplink']['rejected']['unsealed'] >= 1\" <'$art/stats_seal.json' | grep -q True"
check "an envelope sealed with another key is refused (forged)" \
    bash -c "py \"r['uplink']['rejected']['forged'] >= 1\" <'$art/stats_seal.json' | grep -q True"
# nobody drives SEAL-1: out of service (sealed, as it must), so it is never recommended
GL_INJECT_KEY_FILE="$art/seal-1.key" "$inj" $UP oos_now SEAL-1 4

# ---- goldline-vehicle on a real receiver log ---------------------------------------------------
nmea="$shared/nmea/ublox-8.log"
if [ -f "$nmea" ]; then
    "$build/vehicle/goldline-vehicle" --id NMEA-1 --uplink-url $UP --downlink-url $DOWN --nmea "$nmea" \
        --control "$art/nmea-1.sock" >>"$art/vehicle.log" 2>&1 &
    pids+=($!)
    nmea_fix() { ctl fleet | py "[v.get('fix_at', '')[:10] for v in r['vehicles'] if v['id'] == 'NMEA-1']" | grep -q "2017-01-10"; }
    check "goldline-vehicle sends the fixes of a real u-blox log (dated 2017-01-10)" wait_for 20 nmea_fix
    "$build/vehicle/goldline-vehicle" --control "$art/nmea-1.sock" status out_of_service >/dev/null
    oos() { ctl fleet | py "[v['status'] for v in r['vehicles'] if v['id'] == 'NMEA-1']" | grep -q out_of_service; }
    check "a status given on goldline-vehicle's control socket reaches the dispatcher" wait_for 10 oos
else
    echo "# SKIP goldline-vehicle on a real log: $nmea is absent (../shared/data not here)"
fi

# ---- kill -9 mid-incident, restart: nothing lost ------------------------------------------------
ctl call new --lat $CENTER_LAT --lon $CENTER_LON --complaint trauma --priority 2 >"$art/call_k.json"
inc_k=$(py "r['incident']['id']" <"$art/call_k.json")
unit_k=$(py "r['candidates'][0]['vehicle']" <"$art/call_k.json")
ctl assign "$inc_k" "$unit_k" >/dev/null
check "the unit is on its way to $inc_k" wait_for 20 closed "$inc_k" en_route
ctl incidents --all >"$art/before_kill.json"
ctl timeline "$inc_k" >"$art/timeline_k_before.json"
kill -KILL "$dpid"
wait "$dpid" 2>/dev/null
check "restart after kill -9" start_dispatcher
ctl incidents --all >"$art/after_kill.json"
same_incidents() {
    python3 - "$art/before_kill.json" "$art/after_kill.json" <<'PY'
import json, sys
a, b = (json.load(open(p))["incidents"] for p in sys.argv[1:])
want = {i["id"]: i for i in a if i["state"] not in ("closed", "cancelled")}
have = {i["id"]: i for i in b}
sys.exit(0 if all(k in have and have[k].get("vehicle") == v.get("vehicle") for k, v in want.items()) else 1)
PY
}
check "every open incident is back after kill -9, with its unit" same_incidents
ctl timeline "$inc_k" >"$art/timeline_k_after.json"
check "the timeline of $inc_k is back event for event" python3 - "$art/timeline_k_before.json" "$art/timeline_k_after.json" <<'PY'
import json, sys
a, b = (json.load(open(p))["events"] for p in sys.argv[1:])
sys.exit(0 if b[:len(a)] == a else 1)
PY
check "the fleet's last known positions are back before any new fix" \
    bash -c "ctl fleet | py \"sum(1 for v in r['vehicles'] if v['id'].startswith('T-') and 'lat' in v)\" | grep -qx 20"
check "$inc_k goes on to close with the restarted dispatcher" wait_for 120 closed "$inc_k" closed

# ---- PostGIS down: dispatch goes on, the database catches up ----------------------------------
"$root/deploy/pg.sh" stop >/dev/null
db_down() { curl -fs "http://127.0.0.1:$WSPORT/healthz" | grep -q '"database":"down"'; }
check "the dispatcher notices the database is down" wait_for 20 db_down
ctl call new --lat $CENTER_LAT --lon $CENTER_LON --complaint obstetric --priority 2 >"$art/call_down.json"
check "a call is accepted while PostGIS is down" [ $? -eq 0 ]
inc_d=$(py "r['incident']['id']" <"$art/call_down.json")
unit_d=$(py "r['candidates'][0]['vehicle']" <"$art/call_down.json")
check "and assigned while PostGIS is down" bash -c "ctl assign $inc_d $unit_d >/dev/null"
"$root/deploy/pg.sh" start >/dev/null
caught_up() { ctl stats | py "r['database']['state'] == 'up' and r['database']['records_pending'] == 0" | grep -q True; }
check "when PostGIS returns the journal is copied" wait_for 60 caught_up
check "the call taken during the outage is in PostGIS" \
    bash -c "[ \"\$('$root/deploy/pg.sh' psql -qAtX -c \"SELECT count(*) FROM incident_events WHERE incident_id = '$inc_d'\")\" -ge 2 ]"

# ---- road ETAs once the road network is imported ------------------------------------------------
osm="$shared/osm/cn-jiangxi-guixi-center/cn-jiangxi-guixi-center.osm.pbf"
if [ -f "$osm" ]; then
    "$root/deploy/import-osm.sh" "$osm" --db goldline_it >"$art/import.log" 2>&1
    check "the Guixi road network imports into the dispatcher's database" [ $? -eq 0 ]
    kill -TERM "$dpid"
    wait "$dpid"
    check "the dispatcher restarts and loads the road graph" start_dispatcher
    check "the log says ETAs are by road" grep -q "ETAs by road" "$art/dispatcher.log"
    wait_for 30 fleet_live
    ctl call new --lat 28.2950 --lon 117.2300 --complaint chest_pain --priority 3 >"$art/call_road.json"
    check "candidates carry road ETAs, ranked by them, each possible at 120 km/h" python3 - "$art/call_road.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["candidates"]
road = [x for x in c if x["eta_method"] == "road"]
ok = len(c) == 5 and len(road) >= 2  # units farther than 500 m from a road (sparse OSM) are flagged straight_line
ok = ok and all(a["eta_s"] <= b["eta_s"] for a, b in zip(c, c[1:]))
ok = ok and all(x["eta_s"] * 120 / 3.6 >= x["distance_m"] for x in road)
ok = ok and all(x["eta_method"] in ("road", "straight_line") for x in c)
print([(x["vehicle"], x["eta_s"], x["eta_method"]) for x in c])
sys.exit(0 if ok else 1)
PY
else
    echo "# SKIP road ETAs: $osm is absent (../shared/data not here)"
fi

# ---- clean shutdown -------------------------------------------------------------------------
kill -TERM "$dpid"
wait "$dpid"
check "SIGTERM: the dispatcher exits 0" [ $? -eq 0 ]
check "no sanitizer report in the logs" bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' '$art'/*.log"
check "no patient data in the dispatcher log (caller number, address)" \
    bash -c "! grep -qE '13800138000|花园街道' '$art/dispatcher.log'"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
