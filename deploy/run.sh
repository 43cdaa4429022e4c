#!/usr/bin/env bash
# Sets up, builds and starts the whole goldline system on this machine, in the foreground:
#   the private PostGIS cluster, goldline-dispatcher, and a simulated fleet (goldline-fleet)
#   placed at the real places of a Chinese town from ../shared/data/osm when it is there.
# Prints where to connect; Ctrl-C stops the dispatcher and the fleet (the cluster keeps running:
# deploy/pg.sh stop). This is the README's first command.
#
# GOLDLINE_DEMO_OSM=FILE.osm picks another extract; without one (no ../shared/data) 20 units are
# placed at random around Guixi, Jiangxi.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

"$root/deploy/setup.sh"
build="$root/build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
# The browser console's vendored libraries (Leaflet from npm, no CDN at run time).
(cd "$root/console/web" && npm ci --no-audit --no-fund --loglevel=error >/dev/null && npm run --silent build)
"$root/deploy/pg.sh" start

demo="$root/var/demo"
logs="$root/var/log"
mkdir -p "$demo" "$logs"
osm="${GOLDLINE_DEMO_OSM:-$root/../shared/data/osm/cn-jiangxi-guixi-center/cn-jiangxi-guixi-center.osm}"
fleet_args=()
if [ -f "$osm" ]; then
    echo "run.sh: placing the fleet at the places of $(basename "$osm")"
    python3 "$root/deploy/osm_demo_fleet.py" "$osm" "$demo"
    # The roads too, so that candidates are ranked by road ETA (deploy/import-osm.sh).
    pbf="${osm%.osm}.osm.pbf"
    [ -f "$pbf" ] || pbf="$osm"
    "$root/deploy/import-osm.sh" "$pbf" | tail -n 1
    fleet_args=(--units "$demo/units.csv" --hospitals "$demo/hospitals.csv")
else
    echo "run.sh: no OSM extract at $osm: 20 units at random around Guixi"
    fleet_args=(--random 20 --center 28.2948,117.2401 --radius-km 8)
fi
"$build/vehicle/goldline-fleet" "${fleet_args[@]}" --print-sql | "$root/deploy/pg.sh" psql -q >/dev/null
# Hospitals for the destination choice: those of the extract, or the stand-ins of
# osm_demo_fleet.py (central Guixi tags none); the first is taken as the county hospital with
# every capability, the others as township health centres without any.
if [ -f "$demo/hospitals.csv" ]; then
    first=1
    while IFS=, read -r id lat lon name; do
        name=${name%$'\r'} # Python's csv ends lines with CRLF
        [ "$id" = id ] && continue
        caps='{}'
        [ $first -eq 1 ] && caps='{pci,stroke_ivt,stroke_evt,trauma,obstetric,neonatal}'
        first=0
        name=${name//\'/\'\'}
        "$root/deploy/pg.sh" psql -q -c "INSERT INTO hospitals (id, name, geom, capabilities)
            VALUES ('demo-$id', '${name//\"/}', ST_SetSRID(ST_MakePoint($lon, $lat), 4326)::geography,
            '$caps') ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name" >/dev/null
    done <"$demo/hospitals.csv"
fi

pids=()
stop() {
    trap - INT TERM EXIT
    echo
    echo "run.sh: stopping"
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait || true
}
trap stop INT TERM EXIT

"$build/dispatcher/goldline-dispatcher" --var-dir "$root/var" >>"$logs/dispatcher.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do
    curl -fs http://127.0.0.1:8080/healthz >/dev/null 2>&1 && break
    kill -0 "${pids[0]}" 2>/dev/null || { tail -n 20 "$logs/dispatcher.log"; exit 1; }
    sleep 0.5
done
"$build/vehicle/goldline-fleet" "${fleet_args[@]}" >>"$logs/fleet.log" 2>&1 &
pids+=($!)

cat <<MSG

goldline is running.
  console      http://127.0.0.1:8080/console/ (log in with the token in $root/var/api-token)
  dispatcher   ws://127.0.0.1:8080/api, health: http://127.0.0.1:8080/healthz
  units        nanomsg uplink tcp://127.0.0.1:7401, downlink tcp://127.0.0.1:7402
  PostGIS      deploy/pg.sh psql
  logs         $logs/dispatcher.log, $logs/fleet.log
Try (from $root):
  $build/console/goldlinectl fleet --table
  $build/console/goldlinectl call new --lat 28.2950 --lon 117.2300 --complaint chest_pain --priority 1 --table
  $build/console/goldlinectl incidents --table
Ctrl-C stops the dispatcher and the fleet.
MSG
wait -n "${pids[@]}" || true
