#!/usr/bin/env bash
# Installs every Debian 12 package goldline needs to build, test and run. Idempotent: silent
# when everything is already there; runs `apt-get update` only when something is missing.
# Works as root (CI) or as a normal user through sudo. Adding a package is a one-line change to
# PACKAGES below.
#
# Note: installing postgresql-15 makes Debian start its own "15/main" cluster on port 5432. We
# do not use it and leave it alone; goldline's private cluster is managed by deploy/pg.sh (5433).
set -euo pipefail

PACKAGES=(
    build-essential            # C compiler, make, libc headers
    cmake                      # build system
    pkg-config                 # CMake finds libuv, nanomsg, libwebsockets... through it
    libuv1-dev                 # event loop of every goldline process
    libnanomsg-dev             # nanomsg sockets between dispatcher, fleet and consoles
    libpq-dev                  # PostgreSQL client library (async libpq driven by libuv)
    postgresql-15              # server binaries for the private cluster of deploy/pg.sh
    postgresql-15-postgis-3    # PostGIS: geometry/geography of incidents, stations, vehicles
    postgresql-15-pgrouting    # pgRouting: road-network routing (ETA of ambulances)
    protobuf-c-compiler        # protoc-c, generates the C code of the wire protocol
    libprotobuf-c-dev          # protobuf-c runtime library and headers
    libwebsockets-dev          # websocket server for the dispatch consoles
    libwebsockets-evlib-uv     # libwebsockets' libuv event-loop plugin
    check                      # unit test framework
    libjansson-dev             # JSON for the console API
    libsodium-dev              # crypto: tokens, password hashing
    valgrind                   # memory checking of tests
    iproute2                   # ss: port checks in deploy/pg.sh and tests
    procps                     # ps/pgrep/pkill used by tests
    curl                       # health checks of the dispatcher in scripts and tests
    python3                    # deploy/osm_demo_fleet.py reads the OSM extract for the demo
    osmium-tool                # deploy/import-osm.sh: clip and convert OSM extracts
    osm2pgrouting              # deploy/import-osm.sh: OSM roads into pgRouting tables
    routino                    # bench/route: Routino's planetsplitter and router, side by side
    rime-data-pinyin-simp      # deploy/osm/pinyin_initials.py: pinyin initials of place names
    clang                      # builds the libFuzzer target of the JT/T 808 codec (tests/fuzz)
    libclang-rt-14-dev         # libFuzzer itself
    util-linux                 # runuser, flock: deploy/pg.sh
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "setup.sh: missing packages: ${missing[*]}" >&2
    echo "setup.sh: not root and sudo is not installed; as root run:" >&2
    echo "    apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "setup.sh: installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
