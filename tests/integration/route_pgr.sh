#!/usr/bin/env bash
# Correctness of our road routing against pgRouting on a real city graph (issue 4, "Correctness"):
# Nanjing (146,839 vertices) is loaded by our loader (geo/roads_file.c) and the same arcs go into
# a pgRouting edge table of the private cluster, in this test's own database goldline_route_pgr
# (created at the start, dropped at the end; no other database is touched: bench/route has
# goldline_route). The helper gl-route-pgr (tests/integration/route_pgr.c, built from
# tests/CMakeLists.txt) then checks, for 1,000 random vertex pairs, that our travel time (Dijkstra
# and contraction hierarchy) equals pgr_dijkstraCost's within 1e-6 relative, and for 10 random
# sources that the vertices within 15 min are exactly pgr_drivingDistance's, with the same costs.
#
# Then the same on real Chinese OSM extracts of ../shared/data/osm (default Shenzhen Henggang,
# with its expressways' one-way carriageways and interchanges, and central Guixi), each imported
# by deploy/import-osm.sh into its own database goldline_route_osm (dropped before and after):
# gl-route-pgr --osm reads the imported graph as the dispatcher does and pgRouting searches the
# imported ways table (cost_s / reverse_cost_s) itself; pairs without a route (one-way streets,
# the clip border) must be without one on both sides. About 1.5 minutes on 2 cores under ASan.
#
# usage: tests/integration/route_pgr.sh [BUILD_DIR]    (default: <repo>/build)
#        prints ok/not ok lines, then "N passed, M failed"; exit 0 when all passed or skipped
#        (no ../shared/data/roads, no ../shared/data/osm: each part skips on its own, with a
#        message). GOLDLINE_SHARED_DATA overrides the data directory; ROUTE_PGR_CITY (Nanjing,
#        Xian, Haikou), ROUTE_PGR_PAIRS, ROUTE_PGR_ISO the workload; ROUTE_PGR_OSM the extracts
#        (names of ../shared/data/osm folders, space-separated; "none" skips that part).
set -uo pipefail

root=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
build=${1:-$root/build}
shared="${GOLDLINE_SHARED_DATA:-$root/../shared/data}"
data="$shared/roads/cn-osm-cities-2021"
city=${ROUTE_PGR_CITY:-Nanjing}
db=goldline_route_pgr
osm_db=goldline_route_osm
extracts=${ROUTE_PGR_OSM:-cn-shenzhen-henggang cn-jiangxi-guixi-center}
[ "$extracts" = none ] && extracts=""

have_city=1 have_osm=""
if [ ! -f "$data/$city.road-t.tar.gz" ]; then
    echo "skip: route_pgr: no $city road graph in $data (../shared/data is absent)"
    have_city=0
fi
for x in $extracts; do
    if [ -f "$shared/osm/$x/$x.osm.pbf" ]; then
        have_osm="$have_osm $x"
    else
        echo "skip: route_pgr: no OSM extract $shared/osm/$x/$x.osm.pbf (../shared/data is absent)"
    fi
done
if [ "$have_city" -eq 0 ] && [ -z "$have_osm" ]; then
    echo "0 passed, 0 failed"
    exit 0
fi

pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $1"; fail=$((fail + 1)); }
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit
}

helper="$build/tests/gl-route-pgr"
if [ ! -x "$helper" ]; then
    if ! cmake --build "$build" --target gl-route-pgr -j2 >/dev/null 2>&1 || [ ! -x "$helper" ]; then
        not_ok "the helper gl-route-pgr is built in $build (cmake --build $build --target gl-route-pgr)"
        finish
    fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/goldline-route-pgr.XXXXXX")
cleanup() {
    GOLDLINE_PG_DB=$db "$root/deploy/pg.sh" drop-db >/dev/null 2>&1 || true
    GOLDLINE_PG_DB=$osm_db "$root/deploy/pg.sh" drop-db >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# run_helper LABEL ARGS...: runs gl-route-pgr against $url, its ok/not ok lines become ours.
run_helper() {
    local label=$1 before=$pass rc
    shift
    GOLDLINE_PG_URL=$url "$helper" "$@" >"$tmp/out" 2>&1
    rc=$?
    grep -v '^\(ok\|not ok\) - ' "$tmp/out"
    while IFS= read -r line; do
        case "$line" in
            'ok - '*) ok "$label: ${line#ok - }" ;;
            'not ok - '*) not_ok "$label: ${line#not ok - }" ;;
        esac
    done <"$tmp/out"
    if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
        not_ok "$label: gl-route-pgr exits 0 (status $rc)"
    fi
    [ "$pass" -gt "$before" ] || not_ok "$label: gl-route-pgr ran its checks"
}

if [ "$have_city" -eq 1 ]; then
    if ! GOLDLINE_PG_DB=$db "$root/deploy/pg.sh" start >/dev/null; then
        not_ok "the private cluster runs and has the database $db (deploy/pg.sh start)"
        finish
    fi
    url=$(GOLDLINE_PG_DB=$db "$root/deploy/pg.sh" url)
    run_helper route_pgr "$data" "$city" "${ROUTE_PGR_PAIRS:-1000}" "${ROUTE_PGR_ISO:-10}" 900
    GOLDLINE_PG_DB=$db "$root/deploy/pg.sh" drop-db >/dev/null 2>&1 || true
fi

# ---- imported OSM extracts ------------------------------------------------------------------
for x in $have_osm; do
    for tool in osmium osm2pgrouting; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            not_ok "route_pgr $x: $tool is installed (deploy/setup.sh: osmium-tool, osm2pgrouting)"
            finish
        fi
    done
    GOLDLINE_PG_DB=$osm_db "$root/deploy/pg.sh" drop-db >/dev/null 2>&1 || true
    if ! "$root/deploy/import-osm.sh" "$shared/osm/$x/$x.osm.pbf" --db "$osm_db" >"$tmp/import.log" 2>&1; then
        cat "$tmp/import.log"
        not_ok "route_pgr $x: deploy/import-osm.sh imports the extract into $osm_db"
        continue
    fi
    ok "route_pgr $x: deploy/import-osm.sh imports the extract into $osm_db"
    url=$(GOLDLINE_PG_DB=$osm_db "$root/deploy/pg.sh" url)
    run_helper "route_pgr $x" --osm "$x" "${ROUTE_PGR_PAIRS:-1000}" "${ROUTE_PGR_ISO:-10}" 900
    GOLDLINE_PG_DB=$osm_db "$root/deploy/pg.sh" drop-db >/dev/null 2>&1 || true
done
finish
