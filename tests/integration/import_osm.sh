#!/usr/bin/env bash
# Integration test of deploy/import-osm.sh against the private PostGIS + pgRouting cluster, in
# its own database goldline_import (dropped at the start and at the end).
#
# Checks, with the real extracts of ../shared/data/osm (expected values are read from their
# SOURCE.txt, not written here): edge, vertex, one-way and place counts; pgr_dijkstra between the
# OSM nodes quoted there gives exactly the quoted time on osm2pgrouting's own costs and a
# plausible one on the ambulance costs; Ninghua's hospital lands in hospitals; a second import
# changes no row; --town-polygon makes places town inside a polygon and countryside outside (a
# repeat changes nothing, non-polygons are refused, an import without it restores the place
# types); an operator's edit or deletion of a hospital survives an import; migrations are
# recorded like the dispatcher's; every Guixi place has its pinyin initials (places.initials), and
# three names have the initials checked by hand (pinyin_initials_test.py, run first, tests the
# conversion on a hand-made dictionary). With a small synthetic extract and its own speed table: the
# exact speed of each road (class, ambulance factor, unpaved factor, maxspeed, undrivable class),
# one-way in both senses, places and stations. Bad input fails with a message and leaves the
# database as it was.
#
# usage: tests/integration/import_osm.sh     prints ok/not ok lines, then "N passed, M failed";
#        exit 0 when all passed (or skipped: no ../shared/data/osm).
set -uo pipefail

root=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
data="${GOLDLINE_SHARED_DATA:-$root/../shared/data}/osm"
db=goldline_import
guixi="$data/cn-jiangxi-guixi-center"
ninghua="$data/cn-fujian-ninghua-seat"

if [ ! -f "$guixi/SOURCE.txt" ] || [ ! -f "$ninghua/SOURCE.txt" ]; then
    echo "skip: import_osm: no OSM extracts in $data (../shared/data is absent)"
    echo "0 passed, 0 failed"
    exit 0
fi
for tool in osmium osm2pgrouting; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "not ok - $tool is installed (deploy/setup.sh: osmium-tool, osm2pgrouting)"
        echo "0 passed, 1 failed"
        exit 1
    fi
done

pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $1"; fail=$((fail + 1)); }
# check_eq NAME GOT WANT
check_eq() {
    if [ "$2" = "$3" ] && [ -n "$3" ]; then ok "$1 ($2)"; else not_ok "$1: got '$2', want '$3'"; fi
}
# check NAME COMMAND...: ok when the command succeeds
check() {
    local name="$1"
    shift
    if "$@"; then ok "$name"; else not_ok "$name"; fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/goldline-import-test.XXXXXX")
cleanup() {
    GOLDLINE_PG_DB=$db "$root/deploy/pg.sh" drop-db >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

"$root/deploy/pg.sh" start >/dev/null || { echo "not ok - deploy/pg.sh start"; echo "0 passed, 1 failed"; exit 1; }
GOLDLINE_PG_DB=$db "$root/deploy/pg.sh" drop-db >/dev/null 2>&1 || true

q() { GOLDLINE_PG_DB=$db "$root/deploy/pg.sh" psql -X -q -At -v ON_ERROR_STOP=1 -c "$1" 2>&1; }
import() { "$root/deploy/import-osm.sh" "$@" --db "$db" >"$tmp/out" 2>&1; }
# A fingerprint of every table the import writes.
fingerprint() {
    local t out=""
    for t in ways ways_vertices_pgr configuration places hospitals stations osm_pois road_graph \
        road_speeds road_speed_factors schema_migrations; do
        out+="$t:$(q "SELECT count(*) || '/' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '-') FROM $t x") "
    done
    echo "$out" | md5sum | cut -c1-16  # short, for the ok line; any row change alters it
}
num() { tr -d ','; }  # "1,402" -> 1402

# pgr_dijkstra total cost between two OSM nodes on the given cost columns.
route() {  # route FROM_OSM TO_OSM COST REVERSE_COST
    q "SELECT round(sum(d.cost)::numeric, 1) FROM pgr_dijkstra(
         'SELECT gid AS id, source, target, $3 AS cost, $4 AS reverse_cost FROM ways',
         (SELECT id FROM ways_vertices_pgr WHERE osm_id = $1),
         (SELECT id FROM ways_vertices_pgr WHERE osm_id = $2), true) d"
}
route_len() {  # route_len FROM_OSM TO_OSM: length in m of the ambulance route
    q "SELECT round(sum(w.length_m)::numeric) FROM pgr_dijkstra(
         'SELECT gid AS id, source, target, cost_s AS cost, reverse_cost_s AS reverse_cost FROM ways',
         (SELECT id FROM ways_vertices_pgr WHERE osm_id = $1),
         (SELECT id FROM ways_vertices_pgr WHERE osm_id = $2), true) d JOIN ways w ON w.gid = d.edge"
}

# The first "OSM node A (...) -> OSM node B (...):" of a SOURCE.txt and its times on the next line.
source_route() {  # prints: A B forward_s reverse_s
    awk '/OSM node [0-9]+ \(.*\) -> OSM node [0-9]+ \(/ && !done {
             match($0, /OSM node [0-9]+/); a = substr($0, RSTART + 9, RLENGTH - 9)
             rest = substr($0, RSTART + RLENGTH)
             match(rest, /OSM node [0-9]+/); b = substr(rest, RSTART + 9, RLENGTH - 9)
             getline; f = $1
             match($0, /reverse[a-z ]* [0-9.]+ s/); r = substr($0, RSTART, RLENGTH)
             gsub(/[^0-9.]/, "", r); print a, b, f, r; done = 1 }' "$1"
}

check_route() {  # check_route NAME SOURCE.txt
    local a b fwd rev got glen
    read -r a b fwd rev < <(source_route "$2")
    check_eq "$1: default-cost route $a -> $b equals SOURCE.txt" \
        "$(route "$a" "$b" osm2pgr_cost_s osm2pgr_reverse_cost_s)" "$fwd"
    check_eq "$1: default-cost route $b -> $a (one-way streets) equals SOURCE.txt" \
        "$(route "$b" "$a" osm2pgr_cost_s osm2pgr_reverse_cost_s)" "$rev"
    got=$(route "$a" "$b" cost_s reverse_cost_s)
    glen=$(route_len "$a" "$b")
    # plausible for an ambulance in a Chinese town: 15..90 km/h on average, and not the 50 km/h
    # default costs
    if awk -v t="$got" -v l="$glen" -v d="$fwd" \
        'BEGIN { v = l / t * 3.6; exit !(t > 0 && v >= 15 && v <= 90 && t != d) }'; then
        ok "$1: ambulance route $a -> $b ${got} s over ${glen} m (default costs ${fwd} s)"
    else
        not_ok "$1: ambulance route $a -> $b implausible: '${got}' s over '${glen}' m"
    fi
}

# ---- pinyin initials: the conversion on a hand-made dictionary -----------------------------------

if python3 "$root/tests/integration/pinyin_initials_test.py" >"$tmp/pinyin_test.out" 2>&1; then
    ok "pinyin_initials.py unit test ($(grep -oE '^Ran [0-9]+ tests' "$tmp/pinyin_test.out"))"
else
    not_ok "pinyin_initials.py unit test"; cat "$tmp/pinyin_test.out"
fi
[ -r /usr/share/rime-data/pinyin_simp.dict.yaml ] ||
    echo "# the places' initials checks below need rime-data-pinyin-simp (deploy/setup.sh)"

# ---- Guixi -------------------------------------------------------------------------------------

src="$guixi/SOURCE.txt"
if import "$guixi/cn-jiangxi-guixi-center.osm.pbf"; then ok "import Guixi"; else
    not_ok "import Guixi"; cat "$tmp/out"; fi
check_eq "Guixi: edges as in SOURCE.txt" "$(q 'SELECT count(*) FROM ways')" \
    "$(grep -oP 'ways \(edges\) \K[0-9,]+' "$src" | num)"
check_eq "Guixi: vertices as in SOURCE.txt" "$(q 'SELECT count(*) FROM ways_vertices_pgr')" \
    "$(grep -oP 'ways_vertices_pgr \K[0-9,]+' "$src" | num)"
want_oneway=$(grep -oP 'reverse_cost<0 \(one-way\) \K[0-9,]+' "$src" | num)
check_eq "Guixi: one-way edges as in SOURCE.txt (reverse closed)" \
    "$(q 'SELECT count(*) FROM ways WHERE reverse_cost_s < 0 AND cost_s > 0')" "$want_oneway"
check_eq "Guixi: places as in SOURCE.txt" "$(q "SELECT count(*) FROM places WHERE source = 'osm'")" \
    "$(grep -oP 'place nodes \K[0-9,]+' "$src" | num)"
check_eq "Guixi: the city's population is the tagged one" \
    "$(q "SELECT population FROM places WHERE place = 'city'")" \
    "$(grep -oP 'city 1 \(.*population=\K[0-9]+' "$src")"
check_eq "Guixi: villages are countryside, quarters town" \
    "$(q "SELECT string_agg(DISTINCT place || '=' || area_class, ',' ORDER BY place || '=' || area_class) FROM places WHERE place IN ('village', 'quarter')")" \
    "quarter=town,village=countryside"
check_eq "Guixi: every edge's cost_s is its length at its speed" \
    "$(q "SELECT count(*) FROM ways WHERE cost_s > 0 AND abs(cost_s * speed_kmh / 3.6 - length_m) > 1e-6 * length_m")" 0
check_eq "Guixi: every speed lies between the class speed x the unpaved factors and x the ambulance factor" \
    "$(q "SELECT count(*) FROM ways w JOIN road_speeds s USING (highway)
            WHERE w.speed_kmh > s.speed_kmh * (SELECT exp(sum(ln(factor))) FROM road_speed_factors WHERE tag = '*') + 1e-9
               OR w.speed_kmh < s.speed_kmh * (SELECT exp(sum(ln(factor))) FROM road_speed_factors WHERE tag = '*')
                                            * (SELECT min(factor) FROM road_speed_factors) - 1e-9")" 0
check_eq "migrations recorded like the dispatcher's" \
    "$(q "SELECT string_agg(name, ' ' ORDER BY name COLLATE \"C\") FROM schema_migrations")" \
    "$(cd "$root/deploy/schema" && ls -- *.sql | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')"
check_route "Guixi" "$src"
# Initials checked by hand against the names in the extract (贵 gui, 溪 xi, 市 shi; 大 da, 岩 yan,
# 苏 su, 家 jia; 发 fa, 电 dian, 厂 chang (not an), 社 she, 区 qu (not ou)).
check_eq "Guixi: every place has its pinyin initials (places.initials)" \
    "$(q "SELECT count(*) FILTER (WHERE initials ~ '^[a-z]+$') || '/' || count(*) FROM places WHERE source = 'osm'")" \
    "$(grep -oP 'place nodes \K[0-9,]+' "$src" | num)/$(grep -oP 'place nodes \K[0-9,]+' "$src" | num)"
check_eq "Guixi: initials of 贵溪市, 大岩苏家, 发电厂社区" \
    "$(q "SELECT string_agg(name || '=' || initials, ' ' ORDER BY initials) FROM places WHERE name IN ('贵溪市', '大岩苏家', '发电厂社区')")" \
    "大岩苏家=dysj 发电厂社区=fdcsq 贵溪市=gxs"
check_eq "Guixi: the prefix 'gx' finds the city and the town hall" \
    "$(q "SELECT string_agg(name, ' ' ORDER BY name) FROM places WHERE initials LIKE 'gx%'")" \
    "贵溪市 贵溪市滨江镇人民政府"

before=$(fingerprint)
if import "$guixi/cn-jiangxi-guixi-center.osm.pbf"; then ok "import Guixi again"; else
    not_ok "import Guixi again"; cat "$tmp/out"; fi
check_eq "Guixi: a second import changes no row" "$(fingerprint)" "$before"

# ---- bad input: clear failure, nothing changed ----------------------------------------------------

printf 'this is not OSM data\n' >"$tmp/garbage.osm"
osmium tags-filter "$ninghua/cn-fujian-ninghua-seat.osm.pbf" w/amenity -o "$tmp/noroads.osm.pbf" 2>/dev/null
bad_case() {  # bad_case NAME EXPECTED_MESSAGE_REGEX ARGS...
    local name="$1" re="$2"
    shift 2
    if import "$@"; then
        not_ok "$name: the import succeeded"
    elif grep -q -E "$re" "$tmp/out"; then
        ok "$name: fails with: $(grep -E "$re" "$tmp/out" | head -n 1)"
    else
        not_ok "$name: unexpected message: $(tail -n 3 "$tmp/out")"
    fi
}
bad_case "missing file" "error: no such file" "$tmp/missing.osm.pbf"
bad_case "not OSM data" "error: osmium could not read" "$tmp/garbage.osm"
bad_case "bbox outside the data" "error: empty extract" "$guixi/cn-jiangxi-guixi-center.osm.pbf" \
    --bbox 10,10,10.1,10.1
bad_case "malformed bbox" "error: --bbox must be" "$guixi/cn-jiangxi-guixi-center.osm.pbf" --bbox 1,2,3
bad_case "extract without roads" "error: no roads" "$tmp/noroads.osm.pbf"
printf '<configuration><tag_name' >"$tmp/broken.xml"
GOLDLINE_OSM_MAPCONFIG="$tmp/broken.xml" bad_case "osm2pgrouting failure" "error: osm2pgrouting failed" \
    "$guixi/cn-jiangxi-guixi-center.osm.pbf"
check_eq "failed imports left every table as it was" "$(fingerprint)" "$before"

# ---- --town-polygon: the area class from a polygon ------------------------------------------------

# A rectangle over the west of central Guixi. Inside or outside is decided here by comparing
# coordinates, independently of the ST_Covers the import uses.
by_type=$(q "SELECT md5(string_agg(id || '=' || area_class, ',' ORDER BY id)) FROM places WHERE source = 'osm'")
cat >"$tmp/town.geojson" <<'EOF'
{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "west"},
 "geometry": {"type": "Polygon", "coordinates": [[[117.19, 28.28], [117.225, 28.28],
   [117.225, 28.335], [117.19, 28.335], [117.19, 28.28]]]}}]}
EOF
inside="ST_X(p.geom::geometry) BETWEEN 117.19 AND 117.225 AND ST_Y(p.geom::geometry) BETWEEN 28.28 AND 28.335"
if import "$guixi/cn-jiangxi-guixi-center.osm.pbf" --town-polygon "$tmp/town.geojson"; then
    ok "import Guixi with --town-polygon"; else not_ok "import Guixi with --town-polygon"; cat "$tmp/out"; fi
check_eq "--town-polygon: every place is town inside the rectangle and countryside outside" \
    "$(q "SELECT count(*) FILTER (WHERE p.area_class = CASE WHEN $inside THEN 'town' ELSE 'countryside' END) || '/' || count(*) FROM places p WHERE p.source = 'osm'")" \
    "$(q "SELECT count(*) || '/' || count(*) FROM places WHERE source = 'osm'")"
check_eq "--town-polygon: places on both sides, some of them now unlike their place type" \
    "$(q "SELECT count(*) FILTER (WHERE $inside) > 0 AND count(*) FILTER (WHERE NOT ($inside)) > 0 AND count(*) FILTER (WHERE p.area_class <> pt.area_class) > 0 FROM places p JOIN place_types pt ON pt.place = p.place WHERE p.source = 'osm'")" t
before=$(fingerprint)
import "$guixi/cn-jiangxi-guixi-center.osm.pbf" --town-polygon "$tmp/town.geojson" ||
    not_ok "import Guixi with --town-polygon again"
check_eq "--town-polygon: a second import with the same polygon changes no row" "$(fingerprint)" "$before"
printf '{"type": "Point", "coordinates": [117.2, 28.3]}\n' >"$tmp/point.geojson"
printf '{"type": "Polygon", "coordinates": [[[117.19, 28.28], [117.2, 28.28], [117.2, 28.3]]]}\n' \
    >"$tmp/open.geojson"
printf '{"type": "Polygon",\n' >"$tmp/cut.geojson"
bad_case "--town-polygon of a Point" "error: --town-polygon .*not a polygon" \
    "$guixi/cn-jiangxi-guixi-center.osm.pbf" --town-polygon "$tmp/point.geojson"
bad_case "--town-polygon with an unclosed ring" "error: --town-polygon .*(at least 4|end where it starts)" \
    "$guixi/cn-jiangxi-guixi-center.osm.pbf" --town-polygon "$tmp/open.geojson"
bad_case "--town-polygon of broken JSON" "error: --town-polygon .*not readable GeoJSON" \
    "$guixi/cn-jiangxi-guixi-center.osm.pbf" --town-polygon "$tmp/cut.geojson"
bad_case "--town-polygon of a missing file" "error: --town-polygon: not a readable file" \
    "$guixi/cn-jiangxi-guixi-center.osm.pbf" --town-polygon "$tmp/missing.geojson"
check_eq "--town-polygon: refused polygons left every table as it was" "$(fingerprint)" "$before"
import "$guixi/cn-jiangxi-guixi-center.osm.pbf" || not_ok "import Guixi without --town-polygon"
check_eq "--town-polygon: an import without it goes back to the place types" \
    "$(q "SELECT md5(string_agg(id || '=' || area_class, ',' ORDER BY id)) FROM places WHERE source = 'osm'")" \
    "$by_type"

# ---- Ninghua -------------------------------------------------------------------------------------

src="$ninghua/SOURCE.txt"
if import "$ninghua/cn-fujian-ninghua-seat.osm.pbf"; then ok "import Ninghua"; else
    not_ok "import Ninghua"; cat "$tmp/out"; fi
check_eq "Ninghua: edges as in SOURCE.txt" "$(q 'SELECT count(*) FROM ways')" \
    "$(grep -oP 'mapconfig: \K[0-9,]+(?= edges)' "$src" | num)"
check_eq "Ninghua: vertices as in SOURCE.txt" "$(q 'SELECT count(*) FROM ways_vertices_pgr')" \
    "$(grep -oP '[0-9,]+(?= vertices)' "$src" | head -n 1 | num)"
check_eq "Ninghua: one-way edges as in SOURCE.txt" \
    "$(q 'SELECT count(*) FROM ways WHERE reverse_cost_s < 0 AND cost_s > 0')" \
    "$(grep -oP '[0-9,]+(?= one-way edges)' "$src" | num)"
check_eq "Ninghua: places as in SOURCE.txt (Guixi's are gone)" \
    "$(q "SELECT count(*) FROM places WHERE source = 'osm'")" \
    "$(grep -oP 'place nodes \K[0-9,]+' "$src" | num)"
hosp_way=$(grep -oP '\(way \K[0-9]+(?=, )' "$src" | head -n 1)
hosp_name=$(grep -oP "way $hosp_way, \K[^,]+" "$src")
check_eq "Ninghua: the hospital (way $hosp_way) is in hospitals" \
    "$(q "SELECT name FROM hospitals WHERE id = 'osm:w$hosp_way'")" "$hosp_name"
check_eq "Ninghua: the hospital's point lies inside its building" \
    "$(q "SELECT ST_X(geom::geometry) BETWEEN 116.654 AND 116.6548 AND ST_Y(geom::geometry) BETWEEN 26.2629 AND 26.2638 FROM hospitals WHERE id = 'osm:w$hosp_way'")" t
check_route "Ninghua" "$src"

q "UPDATE hospitals SET name = 'operator edit' WHERE id = 'osm:w$hosp_way'" >/dev/null
import "$ninghua/cn-fujian-ninghua-seat.osm.pbf" || not_ok "re-import Ninghua"
check_eq "an operator's edit of a hospital survives an import" \
    "$(q "SELECT name FROM hospitals WHERE id = 'osm:w$hosp_way'")" "operator edit"
q "DELETE FROM hospitals WHERE id = 'osm:w$hosp_way'" >/dev/null
import "$ninghua/cn-fujian-ninghua-seat.osm.pbf" || not_ok "re-import Ninghua"
check_eq "a hospital the operator deleted is not brought back" \
    "$(q "SELECT count(*) FROM hospitals WHERE id = 'osm:w$hosp_way'")" 0

# ---- synthetic extract with its own speed table: exact speeds ---------------------------------------

# Nodes every 0.01 degree along the equator; speeds computed by hand from speeds below.
cat >"$tmp/speeds.conf" <<'EOF'
highway residential 25
highway track       15
highway primary     60
highway secondary   50
highway footway      0
factor * 1.2
factor surface=dirt 0.5
EOF
{
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo '<osm version="0.6" generator="goldline test">'
    for i in 1 2 3 4 5 6; do
        echo "  <node id=\"$i\" version=\"1\" lat=\"0.0\" lon=\"0.0$i\"/>"
    done
    echo '  <node id="7" version="1" lat="0.001" lon="0.015"><tag k="place" v="village"/><tag k="name" v="V"/><tag k="population" v="1,234"/></node>'
    echo '  <node id="8" version="1" lat="0.001" lon="0.025"><tag k="emergency" v="ambulance_station"/><tag k="name" v="S"/></node>'
    way() {  # way ID FROM TO k=v...
        local id=$1 a=$2 b=$3 kv
        shift 3
        echo "  <way id=\"$id\" version=\"1\"><nd ref=\"$a\"/><nd ref=\"$b\"/>"
        for kv in "$@"; do echo "    <tag k=\"${kv%%=*}\" v=\"${kv#*=}\"/>"; done
        echo "  </way>"
    }
    way 101 1 2 highway=residential
    way 102 2 3 highway=track surface=dirt
    way 103 3 4 highway=primary maxspeed=30 oneway=yes
    way 104 4 5 highway=footway
    way 105 5 6 highway=secondary oneway=-1
    echo '</osm>'
} >"$tmp/synthetic.osm"
if GOLDLINE_OSM_SPEEDS="$tmp/speeds.conf" import "$tmp/synthetic.osm"; then ok "import the synthetic extract"
else not_ok "import the synthetic extract"; cat "$tmp/out"; fi
speeds=$(q "SELECT string_agg(osm_id || ':' || round(speed_kmh::numeric, 6)::float8, ' ' ORDER BY osm_id) FROM ways")
check_eq "synthetic: speed = class x ambulance factor (x unpaved factor, capped by maxspeed, 0 when undrivable)" \
    "$speeds" "101:30 102:9 103:36 104:0 105:60"
check_eq "synthetic: directions (oneway=yes, footway, oneway=-1)" \
    "$(q "SELECT string_agg(osm_id || ':' || (cost_s > 0) || (reverse_cost_s > 0), ' ' ORDER BY osm_id) FROM ways")" \
    "101:truetrue 102:truetrue 103:truefalse 104:falsefalse 105:falsetrue"
check_eq "synthetic: cost_s = length / speed (111 m per 0.001 degree)" \
    "$(q "SELECT count(*) FROM ways WHERE speed_kmh > 0 AND abs(greatest(cost_s, reverse_cost_s) - length_m * 3.6 / speed_kmh) < 1e-9 AND length_m BETWEEN 1100 AND 1125")" 4
check_eq "synthetic: the village, population '1,234', countryside" \
    "$(q "SELECT name || ' ' || population || ' ' || area_class FROM places WHERE id = 'osm:n7'")" "V 1234 countryside"
check_eq "synthetic: the ambulance station is in stations" \
    "$(q "SELECT name FROM stations WHERE id = 'osm:n8'")" "S"
check_eq "synthetic: the speed table is in road_speeds" \
    "$(q "SELECT count(*) || ' ' || (SELECT factor FROM road_speed_factors WHERE tag = '*') FROM road_speeds")" "5 1.2"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
