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

if [ -x "$root/tests/integration/run.sh" ]; then
    echo "== integration tests (PostGIS, dispatcher, fleet, goldlinectl)"
    "$root/tests/integration/run.sh" "$build"
fi
