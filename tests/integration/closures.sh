#!/usr/bin/env bash
# Integration test of road closures on real parts: the Guixi OSM extract imported into its own
# database (goldline_closure) by deploy/import-osm.sh, goldline-dispatcher with the road graph,
# goldline-fleet with six standing units on the road network, and goldlinectl.
#
#   tests/integration/closures.sh BUILD_DIR
#
# A call is made; the OSM way on the best unit's road (pgr_dijkstra over the same costs, a way
# whose loss leaves the scene reachable) is closed with `goldlinectl road close`, and within 1 s
# the candidates change (the unit's ETA grows or another unit wins) and the closure is named in
# the candidates' explanation; reopened, the first candidates come back. A slowdown by a line
# drawn along the same road, the list, and a restart (the journal keeps the closure) follow.
# Prints "ok"/"not ok" lines and "N passed, M failed"; exit 0 when all passed or skipped (no
# ../shared/data/osm). Own ports: uplink 24401, downlink 24402, websocket 24080.
set -uo pipefail
build=$(cd "${1:?usage: closures.sh BUILD_DIR}" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
art="$root/tests/artifacts/closures"
var="$art/var"
osm="${GOLDLINE_SHARED_DATA:-$root/../shared/data}/osm/cn-jiangxi-guixi-center/cn-jiangxi-guixi-center.osm.pbf"
export GOLDLINE_PG_DB=goldline_closure
UP=tcp://127.0.0.1:24401
DOWN=tcp://127.0.0.1:24402
WSPORT=24080
SCENE_LAT=28.2948
SCENE_LON=117.2401

if [ ! -f "$osm" ]; then
    echo "skip: closures: $osm is absent (../shared/data is not here)"
    echo "0 passed, 0 failed"
    exit 0
fi

. "$root/tests/integration/lib.sh"
DISPATCHER_ARGS=(--auto-assign-s 0 --stale-s 60)
rm -rf "$art"
mkdir -p "$var"
fresh_database
q() { psql_q "$1"; }

check "dispatcher starts on an empty database and applies the schema" start_dispatcher
kill -TERM "$dpid"
wait "$dpid"
"$root/deploy/import-osm.sh" "$osm" --db "$GOLDLINE_PG_DB" >"$art/import.log" 2>&1
check "the Guixi road network imports" [ $? -eq 0 ]

# ---- the scene and six units on road vertices 1-4 km away ---------------------------------------
scene=$(q "SELECT v.id FROM ways_vertices_pgr v JOIN ways w ON w.source = v.id OR w.target = v.id
           WHERE w.cost_s > 0 AND w.reverse_cost_s > 0 GROUP BY v.id, v.the_geom
           HAVING count(*) >= 3
           ORDER BY v.the_geom::geography <-> ST_SetSRID(ST_MakePoint($SCENE_LON, $SCENE_LAT), 4326)::geography
           LIMIT 1")
IFS='|' read -r slat slon < <(q "SELECT ST_Y(the_geom), ST_X(the_geom) FROM ways_vertices_pgr WHERE id = $scene")
# Units where the scene is reachable by road (a reverse search from it over the same costs).
q "SELECT v.id, ST_Y(v.the_geom), ST_X(v.the_geom), d.agg_cost
   FROM pgr_drivingDistance('SELECT gid AS id, target AS source, source AS target, cost_s AS cost,
                             reverse_cost_s AS reverse_cost FROM ways', $scene, 1200, true) d
   JOIN ways_vertices_pgr v ON v.id = d.node
   WHERE ST_Distance(v.the_geom::geography, (SELECT the_geom::geography FROM ways_vertices_pgr
                                              WHERE id = $scene)) BETWEEN 1000 AND 4000
   ORDER BY md5(v.id::text) LIMIT 6" >"$art/units.txt"
python3 - "$art" <<'PY'
import csv, sys
art = sys.argv[1]
rows = [l.split("|") for l in open(f"{art}/units.txt").read().split("\n") if l]
with open(f"{art}/units.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["id", "lat", "lon", "kind", "capabilities", "call_sign"])
    for i, (vid, lat, lon, _) in enumerate(rows):
        w.writerow([f"RD-{i + 1}", lat, lon, "ALS", "ecg12", f"路{i + 1}"])
PY
nunits=$(($(wc -l <"$art/units.csv") - 1))
check "six units on the road network, 1-4 km from the scene, can reach it ($nunits)" [ "$nunits" -eq 6 ]
"$build/vehicle/goldline-fleet" --units "$art/units.csv" --print-sql | "$root/deploy/pg.sh" psql -q >/dev/null

check "the dispatcher starts and loads the road graph" start_dispatcher
check "the log says ETAs are by road" grep -q "ETAs by road" "$art/dispatcher.log"
"$build/vehicle/goldline-fleet" --units "$art/units.csv" --uplink-url $UP --downlink-url $DOWN \
    --jitter-m 0 >>"$art/fleet.log" 2>&1 &
pids+=($!)
fleet_live() { ctl fleet | py "sum(1 for v in r['vehicles'] if v['id'].startswith('RD-') and not v['stale'] and 'lat' in v) == $nunits" | grep -q True; }
check "all units report positions" wait_for 30 fleet_live

# ---- a call, and the road of the best unit closed ---------------------------------------------
ctl call new --lat "$slat" --lon "$slon" --complaint trauma --priority 2 >"$art/call.json"
inc=$(py "r['incident']['id']" <"$art/call.json")
best=$(py "r['candidates'][0]['vehicle']" <"$art/call.json")
best_eta=$(py "r['candidates'][0]['eta_s']" <"$art/call.json")
check "the best candidate ($best, ${best_eta} s) has a road ETA and no closure" \
    bash -c "py \"r['candidates'][0]['eta_method'] == 'road' and r['candidates'][0]['closures'] == []\" <'$art/call.json' | grep -q True"
IFS=, read -r blat blon < <(python3 -c "
import csv; print(next(f'{r[\"lat\"]},{r[\"lon\"]}' for r in csv.DictReader(open('$art/units.csv')) if r['id'] == '$best'))")
bvertex=$(q "SELECT id FROM ways_vertices_pgr ORDER BY the_geom <-> ST_SetSRID(ST_MakePoint($blon, $blat), 4326) LIMIT 1")
# The ways of its shortest road to the scene, middle first; the first whose closure leaves the
# scene reachable is closed (a closure that cuts the unit off entirely is tested elsewhere).
edges="SELECT gid AS id, source, target, cost_s AS cost, reverse_cost_s AS reverse_cost FROM ways"
ways=$(q "SELECT w.osm_id FROM pgr_dijkstra('$edges', $bvertex, $scene, true) d JOIN ways w ON w.gid = d.edge
          ORDER BY abs(d.seq - (SELECT count(*) FROM pgr_dijkstra('$edges', $bvertex, $scene, true)) / 2)")
way=""
for w in $ways; do
    n=$(q "SELECT count(*) FROM pgr_dijkstra('$edges WHERE osm_id <> $w', $bvertex, $scene, true)")
    if [ "$n" -gt 0 ]; then way=$w; break; fi
done
check "a way on $best's road whose closure leaves a detour (way $way)" [ -n "$way" ]

t0=$(date +%s%N)
ctl road close --way "$way" --reason "积水 flooding (test)" --minutes 30 >"$art/close.json"
ctl candidates "$inc" >"$art/cand_closed.json"
t1=$(date +%s%N)
apply_ms=$(((t1 - t0) / 1000000))
cid=$(py "r['closure']['id']" <"$art/close.json")
check "road close answers with the closure ($cid, $(py "r['closure']['arcs']" <"$art/close.json") arcs)" [ -n "$cid" ]
check "within 1 s the candidates honour it (${apply_ms} ms from road close to the new candidates, two goldlinectl runs)" \
    [ "$apply_ms" -lt 1000 ]
check "the candidates changed: $best's ETA grew or another unit leads" python3 - "$art/cand_closed.json" "$best" "$best_eta" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["candidates"]
best, eta = sys.argv[2], float(sys.argv[3])
mine = [x for x in c if x["vehicle"] == best]
print([(x["vehicle"], x["eta_s"], x["eta_method"], [k["id"] for k in x["closures"]]) for x in c])
sys.exit(0 if c[0]["vehicle"] != best or (mine and mine[0]["eta_s"] > eta + 0.05) else 1)
PY
check "the closure and its reason are in $best's explanation" python3 - "$art/cand_closed.json" "$best" "$cid" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["candidates"]
mine = [x for x in c if x["vehicle"] == sys.argv[2]]
named = [k for x in mine for k in x["closures"] if k["id"] == sys.argv[3]]
sys.exit(0 if named and named[0]["reason"] == "积水 flooding (test)" and named[0]["kind"] == "closed" else 1)
PY
check "road list shows it" bash -c "ctl road list | py \"[x['id'] for x in r['closures']] == ['$cid']\" | grep -q True"

ctl road open "$cid" >/dev/null
ctl candidates "$inc" >"$art/cand_open.json"
check "reopened: $best leads again with its first ETA, nothing named" python3 - "$art/cand_open.json" "$best" "$best_eta" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["candidates"]
sys.exit(0 if c[0]["vehicle"] == sys.argv[2] and abs(c[0]["eta_s"] - float(sys.argv[3])) < 0.05
          and all(x["closures"] == [] for x in c) else 1)
PY

# ---- a slowdown drawn as a line along the same road; kept over a restart -------------------------
# The line follows the piece of that way the unit drives (one row of ways, between crossings).
gid=$(q "SELECT d.edge FROM pgr_dijkstra('$edges', $bvertex, $scene, true) d JOIN ways w ON w.gid = d.edge
         WHERE w.osm_id = $way LIMIT 1")
line=$(q "SELECT string_agg(ST_Y(p.geom) || ',' || ST_X(p.geom), ';' ORDER BY p.path)
          FROM (SELECT (ST_DumpPoints(the_geom)).* FROM ways WHERE gid = $gid) p")
ctl road slow --line "$line" --factor 3 --reason "road works (test)" >"$art/slow.json"
sid=$(py "r['closure']['id']" <"$art/slow.json" 2>/dev/null)
check "road slow by a line drawn along the way ($sid, $(py "r['closure']['arcs']" <"$art/slow.json" 2>/dev/null) arcs)" [ -n "$sid" ]
ctl candidates "$inc" >"$art/cand_slow.json"
check "the slowdown is named, and no ETA got shorter" python3 - "$art/cand_slow.json" "$art/cand_open.json" "$sid" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["candidates"]
before = {x["vehicle"]: x["eta_s"] for x in json.load(open(sys.argv[2]))["candidates"]}
named = any(k["id"] == sys.argv[3] and k["kind"] == "slow" for x in c for k in x["closures"])
sys.exit(0 if named and all(x["eta_s"] >= before.get(x["vehicle"], 0) - 0.05 for x in c) else 1)
PY
# ---- what the console's map draws and searches, on the same real graph ------------------------
api() { python3 "$root/tests/integration/api_call.py" $WSPORT "$(cat "$var/api-token")" "$@"; }
api map.layers >"$art/layers.json"
check "map.layers: the imported hospitals and stations, and the graph's bounds" python3 - "$art/layers.json" \
    "$(q 'SELECT count(*) FROM hospitals')" "$(q 'SELECT count(*) FROM stations')" "$slat" "$slon" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["result"]
s, w, n, e = r["bounds"]
lat, lon = float(sys.argv[4]), float(sys.argv[5])
sys.exit(0 if len(r["hospitals"]) == int(sys.argv[2]) and len(r["stations"]) == int(sys.argv[3])
          and s < lat < n and w < lon < e else 1)
PY
nways=$(q "SELECT count(*) FROM ways WHERE cost_s > 0 OR reverse_cost_s > 0")
api map.roads '{"max": 400000}' >"$art/roads_all.json"
box=$(python3 -c "print(f'{$slat - 0.01}, {$slon - 0.01}, {$slat + 0.01}, {$slon + 0.01}')")
api map.roads "{\"bbox\": [$box]}" >"$art/roads_box.json"
api map.roads '{"max": 10}' >"$art/roads_10.json"
check "map.roads: every road once (two-way roads once: between half and all of the $nways ways), a box fewer, max honoured" \
    python3 - "$art" "$nways" <<'PY'
import json, sys
art, nways = sys.argv[1], int(sys.argv[2])
a = json.load(open(f"{art}/roads_all.json"))["result"]
b = json.load(open(f"{art}/roads_box.json"))["result"]
t = json.load(open(f"{art}/roads_10.json"))["result"]
print(a["total"], b["total"], len(t["segments"]), t["truncated"])
sys.exit(0 if nways / 2 <= a["total"] <= nways and len(a["segments"]) == a["total"] and not a["truncated"]
          and 0 < b["total"] < a["total"] and len(t["segments"]) == 10 and t["truncated"] else 1)
PY
ctl assign "$inc" "$best" >/dev/null
api route "{\"incident\":\"$inc\"}" >"$art/route.json"
ctl candidates "$inc" >"$art/cand_route.json" 2>/dev/null
check "route: $best's road to the scene, from the unit to the scene, by road" python3 - "$art/route.json" "$blat" "$blon" "$slat" "$slon" <<'PY'
import json, math, sys
r = json.load(open(sys.argv[1]))["result"]
blat, blon, slat, slon = map(float, sys.argv[2:6])
def m(a, b, c, d):
    return 6371008.8 * math.hypot(math.radians(c - a), math.radians(d - b) * math.cos(math.radians(a)))
p = r["path"]
print(r["eta_method"], r["to"], len(p), round(r["eta_s"], 1), round(r["distance_m"]))
sys.exit(0 if r["eta_method"] == "road" and r["to"] == "scene" and len(p) >= 3
          and m(p[0][0], p[0][1], blat, blon) < 50 and m(p[-1][0], p[-1][1], slat, slon) < 50
          and r["distance_m"] >= m(blat, blon, slat, slon) - 1 else 1)
PY
check "route: its travel time equals the road ETA the unit was recommended with (slowdown included)" \
    python3 - "$art/route.json" "$art/cand_slow.json" "$best" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["result"]
c = [x for x in json.load(open(sys.argv[2]))["candidates"] if x["vehicle"] == sys.argv[3]]
print(r["eta_s"], c[0]["eta_s"] if c else None)
sys.exit(0 if c and abs(r["eta_s"] - c[0]["eta_s"]) < 1.0 else 1)
PY
pname=$(q "SELECT name FROM places WHERE char_length(name) >= 2 ORDER BY coalesce(population, 0) DESC, id LIMIT 1")
psub=$(python3 -c "import sys; print(sys.argv[1][:2])" "$pname")
api places.search "{\"q\":\"$psub\",\"limit\":50}" >"$art/search.json"
check "places.search: '$psub' finds the imported place $pname" \
    bash -c "py \"'$pname' in [p['name'] for p in r['result']['places']]\" <'$art/search.json' | grep -q True"

kill -TERM "$dpid"
wait "$dpid"
check "SIGTERM: the dispatcher exits 0" [ $? -eq 0 ]
check "the dispatcher starts again" start_dispatcher
check "the slowdown survived the restart (road_closures in PostGIS, journal tail)" \
    bash -c "ctl road list | py \"[x['id'] for x in r['closures']] == ['$sid']\" | grep -q True"
ctl road open "$sid" >/dev/null
check "and reopens" bash -c "ctl road list | py \"r['closures'] == []\" | grep -q True"
check "the hierarchy was rebuilt on the thread pool at least once" grep -q "hierarchy rebuilt" "$art/dispatcher.log"

kill -TERM "$dpid"
wait "$dpid"
check "every journal record reached PostGIS (closure ops included)" \
    bash -c "! grep -qE 'could not be queued|refused by the database' '$art/dispatcher.log'"
check "no sanitizer report in the logs" bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' '$art'/*.log"
echo "closure_apply_ms $apply_ms (road close to honoured candidates, incl. two goldlinectl starts)"
GOLDLINE_PG_DB=$GOLDLINE_PG_DB "$root/deploy/pg.sh" drop-db >/dev/null 2>&1 || true
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
