#!/usr/bin/env bash
# Browser test of the operator console on real parts: the private PostGIS cluster (database
# goldline_web), goldline-dispatcher serving console/web, goldline-fleet driving 12 simulated
# units, and Debian's chromium (headless) driven by playwright-core (console.test.js).
#
#   tests/browser/run.sh BUILD_DIR
#
# Needs: chromium and fonts-wqy-microhei (Debian), node + npm, `npm ci && npm run build` done in
# console/web (Leaflet vendored) and `npm ci` in tests/browser (playwright-core); this script
# runs both npm steps when their folders are missing. Uses its own ports (websocket 21080,
# uplink 21401, downlink 21402) and var dir, so a demo or the integration test is left alone.
#
# A golden-time warning within seconds: before the dispatcher starts, one extra metric is
# inserted into goldline_web's golden_metrics, web_test_call_to_dispatch (call_received ->
# assigned, target 12 s, warning at 5 s). It exists only in this test database.
#
# The map layers and the gazetteer need geography, so the test database also gets (SQL made
# by the Python below, all of it synthetic): a road grid of 25 x 25 crossings 500 m apart
# around the centre (tables ways / ways_vertices_pgr as deploy/import-osm.sh would leave them;
# every unit and every call is on it), two hospitals (H1 with every capability, H2 trauma only,
# which the test puts on diversion), and places with Chinese names and pinyin initials
# (places.csv: the test reads the expected coordinates from it), two of them 30-40 km out,
# off the grid, so that the coverage has uncovered demand; and unit W-99, out of service with
# its last fix an hour old (drawn stale).
#
# Screenshots of every step: tests/artifacts/browser/NN-step.png. Prints one ok/not ok line per
# check and closes with "N passed, M failed"; exits non-zero when a check failed.
set -uo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$root/tests/browser"
web="$root/console/web"
art="$root/tests/artifacts/browser"
var="$art/var"
export GOLDLINE_PG_DB=goldline_web
UP=tcp://127.0.0.1:21401
DOWN=tcp://127.0.0.1:21402
WSPORT=21080
CENTER_LAT=28.2948
CENTER_LON=117.2401
UNITS=12
ALERT_METRIC=web_test_call_to_dispatch

. "$root/tests/integration/lib.sh"
DISPATCHER_ARGS=(--auto-assign-s 15 --stale-s 30)

if [ ! -x /usr/bin/chromium ]; then
    echo "# SKIP browser test: /usr/bin/chromium is absent (apt-get install chromium fonts-wqy-microhei)"
    exit 0
fi
if ! command -v npm >/dev/null; then
    echo "# SKIP browser test: npm is absent"
    exit 0
fi
[ -d "$web/node_modules/leaflet" ] || (cd "$web" && npm ci --no-audit --no-fund >/dev/null) || { echo "npm ci failed in console/web"; exit 1; }
(cd "$web" && npm run --silent build) || { echo "console/web build failed"; exit 1; }
[ -d "$here/node_modules/playwright-core" ] || (cd "$here" && npm ci --no-audit --no-fund >/dev/null) || { echo "npm ci failed in tests/browser"; exit 1; }

rm -rf "$art"
mkdir -p "$var"
fresh_database

# 12 units at known bearings and distances from the centre (every 4th one BLS); none within
# 600 m, so a click on the centre lands on the empty map, not on a marker.
python3 - "$art" "$CENTER_LAT" "$CENTER_LON" "$UNITS" <<'PY'
import csv, math, sys
out, lat0, lon0, n = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
R = 6371008.8
def dest(d, brg):
    p1, l1, b, a = math.radians(lat0), math.radians(lon0), math.radians(brg), d / R
    p2 = math.asin(math.sin(p1) * math.cos(a) + math.cos(p1) * math.sin(a) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(a) * math.cos(p1), math.cos(a) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), math.degrees(l2)
with open(f"{out}/units.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["id", "lat", "lon", "kind", "capabilities", "call_sign"])
    for i in range(n):
        kind = "BLS" if i % 4 == 0 else "ALS"
        lat, lon = dest(600 + 450 * i, (i * 137) % 360)
        w.writerow([f"W-{i + 1:02d}", f"{lat:.7f}", f"{lon:.7f}", kind, "ecg12" if kind == "ALS" else "", f"贵溪{i + 1:02d}"])
with open(f"{out}/hospitals.csv", "w", newline="") as f:
    lat, lon = dest(2500, 200)
    csv.writer(f).writerows([["id", "lat", "lon", "name"], ["H1", f"{lat:.7f}", f"{lon:.7f}", "贵溪市人民医院 (test)"]])
sql = open(f"{out}/geography.sql", "w")
h2 = dest(4000, 90)
sql.write(f"INSERT INTO hospitals (id, name, geom, capabilities) VALUES "
          f"('H1', '贵溪市人民医院 (test)', ST_SetSRID(ST_MakePoint({lon:.7f}, {lat:.7f}), 4326)::geography, "
          f"'{{pci,stroke_ivt,stroke_evt,trauma,obstetric,neonatal}}'), "
          f"('H2', '贵溪创伤中心 (test)', ST_SetSRID(ST_MakePoint({h2[1]:.7f}, {h2[0]:.7f}), 4326)::geography, '{{trauma}}');\n")
# The road grid: vertex (i, j) is id i*N+j+1; roads east and north between neighbours, 40 km/h.
N, STEP = 25, 500.0
grid = {}
for i in range(N):
    for j in range(N):
        dn, de = (i - N // 2) * STEP, (j - N // 2) * STEP
        la, _ = dest(abs(dn), 0 if dn >= 0 else 180)
        _, lo = dest(abs(de), 90 if de >= 0 else 270)
        grid[i, j] = (la, lo)
sql.write("CREATE TABLE ways_vertices_pgr (id bigint PRIMARY KEY, the_geom geometry(Point, 4326));\n")
sql.write("CREATE TABLE ways (gid bigserial PRIMARY KEY, osm_id bigint, source bigint, target bigint, "
          "cost_s double precision, reverse_cost_s double precision, length_m double precision, "
          "the_geom geometry(LineString, 4326));\n")
sql.write("INSERT INTO ways_vertices_pgr (id, the_geom) VALUES " + ",".join(
    f"({i * N + j + 1}, ST_SetSRID(ST_MakePoint({lo:.7f}, {la:.7f}), 4326))" for (i, j), (la, lo) in grid.items()) + ";\n")
rows, way = [], 900000
for (i, j), (la, lo) in grid.items():
    for (k, l) in ((i + 1, j), (i, j + 1)):
        if (k, l) in grid:
            way += 1
            la2, lo2 = grid[k, l]
            rows.append(f"({way}, {i * N + j + 1}, {k * N + l + 1}, 45, 45, {STEP}, "
                        f"ST_SetSRID(ST_MakeLine(ST_MakePoint({lo:.7f}, {la:.7f}), ST_MakePoint({lo2:.7f}, {la2:.7f})), 4326))")
sql.write("INSERT INTO ways (osm_id, source, target, cost_s, reverse_cost_s, length_m, the_geom) VALUES " + ",".join(rows) + ";\n")
# Places: name, OSM place type, population, area class, pinyin initials, distance, bearing.
places = [("贵溪市", "city", 120000, "town", "gxs", 300, 45), ("雄石街道", "suburb", 40000, "town", "xsjd", 1500, 300),
          ("塘湾镇", "town", 30000, "town", "twz", 4500, 120), ("塘湾村", "village", 1200, "countryside", "twc", 5200, 135),
          ("罗河镇", "town", 20000, "town", "lhz", 5000, 250), ("鸿塘镇", "town", 18000, "town", "htz", 3500, 20),
          ("耳口乡", "village", 3000, "countryside", "ekx", 30000, 160), ("上清镇", "town", 25000, "town", "sqz", 40000, 100)]
with open(f"{out}/places.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["name", "kind", "population", "initials", "lat", "lon"])
    for k, (name, kind, pop, area, ini, d, b) in enumerate(places):
        la, lo = dest(d, b)
        w.writerow([name, kind, pop, ini, f"{la:.7f}", f"{lo:.7f}"])
        sql.write(f"INSERT INTO places (id, name, place, population, area_class, geom, initials) VALUES "
                  f"('test:{k}', '{name}', '{kind}', {pop}, '{area}', "
                  f"ST_SetSRID(ST_MakePoint({lo:.7f}, {la:.7f}), 4326)::geography, '{ini}');\n")
# One more unit, out of service and silent for an hour: the map must draw it stale.
la, lo = dest(5800, 10)
sql.write(f"INSERT INTO vehicles (id, call_sign, kind, status, last_geom, last_fix_at) VALUES ('W-99', '贵溪99', 'ALS', "
          f"'out_of_service', ST_SetSRID(ST_MakePoint({lo:.7f}, {la:.7f}), 4326)::geography, now() - interval '1 hour');\n")
sql.close()
PY


# The first start applies the schema; then the fleet and the short metric are seeded and the
# dispatcher started again (it reads both at start).
check "dispatcher starts on an empty database (goldline_web)" start_dispatcher
kill -TERM "$dpid"
wait "$dpid"
"$build/vehicle/goldline-fleet" --units "$art/units.csv" --print-sql | "$root/deploy/pg.sh" psql -q >/dev/null
psql_q "INSERT INTO golden_metrics (name, applies_to, start_event, end_event, target_s, warning_s, compliance, standard)
        VALUES ('$ALERT_METRIC', 'all', 'call_received', 'assigned|auto_assigned', 12, 5,
                'browser test only', 'tests/browser/run.sh: warns 5 s after a call nobody assigns')" >/dev/null
# Before migration 010 the places have no initials column: seed them without (substring only).
if [ "$(psql_q "SELECT count(*) FROM information_schema.columns WHERE table_name = 'places' AND column_name = 'initials'")" != 1 ]; then
    echo "# places.initials is absent (migration 010): the pinyin search cannot be tested"
    sed -i -E "s/(INSERT INTO places \([^)]*), initials\)/\1)/; s/, '[a-z]+'\);\$/);/" "$art/geography.sql"
fi
check "the test geography (road grid, hospitals H1 and H2, places) is loaded" \
    bash -c "'$root/deploy/pg.sh' psql -q -v ON_ERROR_STOP=1 -f '$art/geography.sql' >/dev/null"
check "dispatcher starts with the seeded fleet and the 5-second test metric" start_dispatcher
check "GET /console/ serves the page and the vendored Leaflet" \
    bash -c "curl -fs http://127.0.0.1:$WSPORT/console/ | grep -q 'vendor/leaflet/leaflet.js' && curl -fso /dev/null http://127.0.0.1:$WSPORT/console/vendor/leaflet/leaflet.js"

"$build/vehicle/goldline-fleet" --units "$art/units.csv" --hospitals "$art/hospitals.csv" \
    --uplink-url $UP --downlink-url $DOWN --time-scale 4 --speed-kmh 55 --scene-min 0.3 \
    --hospital-min 0.3 >>"$art/fleet.log" 2>&1 &
pids+=($!)

GL_URL="http://127.0.0.1:$WSPORT" GL_TOKEN_FILE="$var/api-token" GL_ART="$art" GL_UNITS=$UNITS \
    GL_CENTER="$CENTER_LAT,$CENTER_LON" GL_ALERT_METRIC=$ALERT_METRIC GL_PLACES="$art/places.csv" \
    NODE_PATH="$here/node_modules" node "$here/console.test.js" | tee "$art/browser.out"
p=$(grep -c '^ok - ' "$art/browser.out")
f=$(grep -c '^not ok - ' "$art/browser.out")
passed=$((passed + p))
failed=$((failed + f))
[ "$p" -gt 0 ] || nok "the browser test ran"

kill -TERM "$dpid"
wait "$dpid"
check "SIGTERM: the dispatcher exits 0" [ $? -eq 0 ]
check "no sanitizer report in the logs" bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' '$art'/*.log"
check "no patient data in the dispatcher log (caller numbers, address)" \
    bash -c "! grep -qE '13800138000|13900139000|测试地址' '$art/dispatcher.log'"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
"$here/ed_run.sh" "$build" && [ "$failed" -eq 0 ] # then the ED arrivals board (ed_run.sh), on its own ports and database
