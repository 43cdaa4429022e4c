#!/usr/bin/env bash
# Sets up, builds and runs every goldline test: unit tests (Check, under ASan+UBSan, warnings as
# errors) and the integration tests against a real private PostGIS cluster, real nanomsg sockets
# and a real websocket server. This is the README's test command; .ci/run calls exactly this.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

"$root/deploy/setup.sh"

build="$root/build-test"
cmake -S "$root" -B "$build" -DGL_WERROR=ON -DGL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j"$(nproc)"

echo "== unit tests (ASan+UBSan)"
(cd "$build" && ctest --output-on-failure -j"$(nproc)")

echo "== valgrind on the domain tests (no sanitizers in this build)"
vg="$root/build-valgrind"
cmake -S "$root" -B "$vg" -DGL_WERROR=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
vg_tests="check_common check_dispatch check_golden check_destination check_relay check_map"
# shellcheck disable=SC2086 # a list of target names
cmake --build "$vg" --target $vg_tests -j"$(nproc)" >/dev/null
for t in $vg_tests; do
    CK_FORK=no valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=9 "$vg/tests/$t" >"$vg/$t.valgrind.log" 2>&1 ||
        { tail -n 40 "$vg/$t.valgrind.log"; echo "valgrind: $t is not clean"; exit 1; }
    echo "valgrind: $t clean"
done

echo "== fuzzing the JT/T 808 codec for 30 s (libFuzzer)"
fuzz="$root/build-fuzz"
CC=clang cmake -S "$root" -B "$fuzz" -DGL_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$fuzz" --target fuzz_jt808 -j"$(nproc)" >/dev/null
mkdir -p "$fuzz/corpus-jt808"
"$fuzz/vehicle/fuzz_jt808" -max_total_time=30 -max_len=4096 -rss_limit_mb=1024 \
    "$fuzz/corpus-jt808" 2>"$fuzz/fuzz_jt808.log" || { tail -n 40 "$fuzz/fuzz_jt808.log"; exit 1; }
grep -E '^Done [0-9]+ runs' "$fuzz/fuzz_jt808.log" || true

echo "== OSM import into pgRouting (deploy/import-osm.sh)"
"$root/tests/integration/import_osm.sh"

echo "== routing against pgRouting (Nanjing: 1,000 pairs, isochrones)"
"$root/tests/integration/route_pgr.sh" "$build"

echo "== users, roles and sessions over the real websocket"
"$root/tests/integration/auth.sh" "$build"

echo "== live vitals and ECG to the destination's emergency department"
"$root/tests/integration/vitals.sh" "$build"

echo "== road closures (goldlinectl road close on the best unit's road, Guixi OSM)"
"$root/tests/integration/closures.sh" "$build"

echo "== golden-time reports on real call records (import-calls, report)"
"$root/tests/integration/report.sh" "$build"

echo "== a unit's link cut for 60 s: spool, sealing, nothing lost"
"$root/tests/integration/linkcut.sh" "$build"

if [ -x "$root/tests/integration/run.sh" ]; then
    echo "== integration tests (PostGIS, dispatcher, fleet, goldlinectl)"
    "$root/tests/integration/run.sh" "$build"
fi

echo "== operator console in the browser (chromium, playwright-core)"
(cd "$root/console/web" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
(cd "$root/tests/browser" && npm ci --no-audit --no-fund --loglevel=error)
"$root/tests/browser/run.sh" "$build"
