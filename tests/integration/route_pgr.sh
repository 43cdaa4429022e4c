#!/usr/bin/env bash
# Correctness of our road routing against pgRouting on a real city graph (issue 4, "Correctness"):
# Nanjing (146,839 vertices) is loaded by our loader (geo/roads_file.c) and the same arcs go into
# a pgRouting edge table of the private cluster, in this test's own database goldline_route
# (created at the start, dropped at the end; no other database is touched). The helper
# gl-route-pgr (tests/integration/route_pgr.c, built from tests/CMakeLists.txt) then checks, for
# 1,000 random vertex pairs, that our travel time (Dijkstra and contraction hierarchy) equals
# pgr_dijkstraCost's within 1e-6 relative, and for 10 random sources that the vertices within
# 15 min are exactly pgr_drivingDistance's, with the same costs. About 1 minute on 2 cores
# under ASan.
#
# usage: tests/integration/route_pgr.sh [BUILD_DIR]    (default: <repo>/build)
#        prints ok/not ok lines, then "N passed, M failed"; exit 0 when all passed or skipped
#        (no ../shared/data/roads). GOLDLINE_SHARED_DATA overrides the data directory;
#        ROUTE_PGR_CITY (Nanjing, Xian, Haikou), ROUTE_PGR_PAIRS, ROUTE_PGR_ISO the workload.
set -uo pipefail

root=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
build=${1:-$root/build}
data="${GOLDLINE_SHARED_DATA:-$root/../shared/data}/roads/cn-osm-cities-2021"
city=${ROUTE_PGR_CITY:-Nanjing}
db=goldline_route

if [ ! -f "$data/$city.road-t.tar.gz" ]; then
    echo "skip: route_pgr: no $city road graph in $data (../shared/data is absent)"
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

if ! GOLDLINE_PG_DB=$db "$root/deploy/pg.sh" start >/dev/null; then
    not_ok "the private cluster runs and has the database $db (deploy/pg.sh start)"
    finish
fi
trap 'GOLDLINE_PG_DB=$db "$root/deploy/pg.sh" drop-db >/dev/null 2>&1 || true' EXIT
url=$(GOLDLINE_PG_DB=$db "$root/deploy/pg.sh" url)

out=$(mktemp)
GOLDLINE_PG_URL=$url "$helper" "$data" "$city" "${ROUTE_PGR_PAIRS:-1000}" "${ROUTE_PGR_ISO:-10}" 900 \
    >"$out" 2>&1
rc=$?
grep -v '^\(ok\|not ok\) - ' "$out"
while IFS= read -r line; do
    case "$line" in
        'ok - '*) ok "route_pgr: ${line#ok - }" ;;
        'not ok - '*) not_ok "route_pgr: ${line#not ok - }" ;;
    esac
done <"$out"
rm -f "$out"
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
    not_ok "route_pgr: gl-route-pgr exits 0 (status $rc)"
fi
[ "$pass" -gt 0 ] || not_ok "route_pgr: gl-route-pgr ran its checks"
finish
