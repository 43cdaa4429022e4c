#!/usr/bin/env bash
# Imports an OpenStreetMap extract into goldline's private PostGIS + pgRouting cluster: the road
# graph with ambulance travel times, and the places, hospitals and ambulance stations.
#
#   deploy/import-osm.sh FILE.osm.pbf|FILE.osm [--bbox minlon,minlat,maxlon,maxlat] [--db NAME]
#                        [--town-polygon FILE.geojson]
#
# Steps: osmium clips the extract to the bbox (whole ways kept) and writes OSM XML for
# osm2pgrouting, which builds the graph (ways, ways_vertices_pgr, configuration) in a staging
# schema; deploy/osm/import.sql then costs every edge from deploy/osm/speeds.conf (cost_s and
# reverse_cost_s in seconds, -1 = closed: one-way streets and undrivable classes), swaps the new
# graph in for the old one, and upserts places (with the pinyin initials of their names, from
# deploy/osm/pinyin_initials.py), hospitals and stations (rows the operator edited are left
# alone). One transaction: a failed import leaves the previous state. Running it twice on the
# same input changes nothing. Turn restrictions are not imported.
#
# The database (default GOLDLINE_PG_DB, else goldline) is created by `deploy/pg.sh start` when
# missing, and deploy/schema/*.sql migrations it lacks are applied first, exactly as the
# dispatcher does (schema_migrations, name order, one transaction each).
#
# --town-polygon: the area class of every imported place (the 15 min town / 30 min countryside
# limit of the golden rescue circle) comes from this polygon instead of the place type: 'town'
# inside it (boundary included), 'countryside' outside. GeoJSON in WGS-84 lon/lat: a Polygon or
# MultiPolygon, a Feature of one, or a FeatureCollection of them (their union). An import
# without the option goes back to the place types (place_types).
#
# GOLDLINE_OSM_SPEEDS / GOLDLINE_OSM_MAPCONFIG override deploy/osm/speeds.conf / mapconfig.xml.
set -euo pipefail

prog="import-osm.sh"
die() { echo "$prog: error: $*" >&2; exit 1; }
say() { echo "$prog: $*"; }

root=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
speeds="${GOLDLINE_OSM_SPEEDS:-$root/deploy/osm/speeds.conf}"
mapconfig="${GOLDLINE_OSM_MAPCONFIG:-$root/deploy/osm/mapconfig.xml}"
PG_BIN=/usr/lib/postgresql/15/bin

usage() {
    echo "usage: $prog FILE.osm.pbf|FILE.osm [--bbox minlon,minlat,maxlon,maxlat] [--db NAME]" \
        "[--town-polygon FILE.geojson]" >&2
    exit 2
}

# ---- arguments ------------------------------------------------------------------------------------

input="" bbox="" db="${GOLDLINE_PG_DB:-goldline}" town_polygon=""
while [ $# -gt 0 ]; do
    case "$1" in
        --bbox) [ $# -ge 2 ] || usage; bbox="$2"; shift 2 ;;
        --bbox=*) bbox="${1#--bbox=}"; shift ;;
        --db) [ $# -ge 2 ] || usage; db="$2"; shift 2 ;;
        --db=*) db="${1#--db=}"; shift ;;
        --town-polygon) [ $# -ge 2 ] || usage; town_polygon="$2"; shift 2 ;;
        --town-polygon=*) town_polygon="${1#--town-polygon=}"; shift ;;
        -h | --help) usage ;;
        -*) echo "$prog: unknown option $1" >&2; usage ;;
        *) [ -z "$input" ] || usage; input="$1"; shift ;;
    esac
done
[ -n "$input" ] || usage

case "$db" in
    '' | *[!a-z0-9_]*) die "--db must be lower-case letters, digits and _, not '$db'" ;;
esac
[ -e "$input" ] || die "no such file: $input"
[ -f "$input" ] && [ -r "$input" ] || die "not a readable file: $input"
[ -s "$input" ] || die "empty file: $input"
case "$input" in
    *.osm.pbf | *.pbf | *.osm) ;;
    *) die "$input: expected an OSM extract named *.osm.pbf, *.pbf or *.osm" ;;
esac

if [ -n "$bbox" ]; then
    num='-?[0-9]+(\.[0-9]+)?'
    [[ "$bbox" =~ ^($num),($num),($num),($num)$ ]] ||
        die "--bbox must be minlon,minlat,maxlon,maxlat in degrees, not '$bbox'"
    awk -v b="$bbox" 'BEGIN { split(b, v, ",");
        exit !(v[1] >= -180 && v[3] <= 180 && v[2] >= -90 && v[4] <= 90 &&
               v[1] < v[3] && v[2] < v[4]) }' ||
        die "--bbox $bbox: need -180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90"
fi

for tool in osmium osm2pgrouting sha256sum flock; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "$tool not found (Debian packages osmium-tool, osm2pgrouting: deploy/setup.sh)"
done
[ -x "$PG_BIN/psql" ] || die "$PG_BIN/psql not found: run deploy/setup.sh"
[ -r "$speeds" ] || die "speed table not found: $speeds"
[ -r "$mapconfig" ] || die "osm2pgrouting configuration not found: $mapconfig"
case "$root" in *"'"*) die "the repository path must not contain a quote: $root" ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/goldline-import.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ---- speed table -> SQL ---------------------------------------------------------------------------

# Checks speeds.conf line by line and writes the statements that load it.
awk -v file="$speeds" '
    function bad(msg) { printf "%s:%d: %s\n", file, NR, msg > "/dev/stderr"; err = 1 }
    function isnum(s) { return s ~ /^[0-9]+(\.[0-9]+)?$/ }
    BEGIN { print "DELETE FROM road_speeds; DELETE FROM road_speed_factors;" }
    { sub(/#.*/, "") }
    NF == 0 { next }
    NF != 3 { bad("expected three fields: highway CLASS KMH or factor TAG X"); next }
    $1 == "highway" {
        if ($2 !~ /^[a-z0-9_]+$/) bad("bad highway class " $2)
        else if (!isnum($3) || $3 + 0 > 200) bad("speed must be 0..200 km/h, not " $3)
        else if ($2 in hw) bad("highway " $2 " given twice")
        else { hw[$2] = 1; n++
               printf "INSERT INTO road_speeds VALUES ('\''%s'\'', %s);\n", $2, $3 }
        next }
    $1 == "factor" {
        if ($2 != "*" && $2 !~ /^[a-z0-9_:]+=[A-Za-z0-9_:.;-]+$/) bad("factor tag must be * or key=value, not " $2)
        else if (!isnum($3) || $3 + 0 <= 0 || $3 + 0 > 3) bad("factor must be in (0, 3], not " $3)
        else if ($2 in fa) bad("factor " $2 " given twice")
        else { fa[$2] = 1
               printf "INSERT INTO road_speed_factors VALUES ('\''%s'\'', %s);\n", $2, $3 }
        next }
    { bad("unknown keyword " $1 " (highway or factor)") }
    END { if (!err && n == 0) { printf "%s: no highway speeds\n", file > "/dev/stderr"; err = 1 }
          exit err }
' "$speeds" >"$tmp/speeds.sql" || die "bad speed table $speeds"

# ---- town polygon -> one line of JSON (an array of geometries) for town_polygon -------------------

: >"$tmp/town.sql"
if [ -n "$town_polygon" ]; then
    [ -f "$town_polygon" ] && [ -r "$town_polygon" ] || die "--town-polygon: not a readable file: $town_polygon"
    python3 "$root/deploy/osm/town_polygon.py" "$town_polygon" >"$tmp/town.json" 2>"$tmp/town.log" ||
        die "--town-polygon $town_polygon: $(cat "$tmp/town.log")"
    printf '%s\n' \
        "CREATE TEMP TABLE town_polygon_doc (doc jsonb) ON COMMIT DROP;" \
        "\\copy town_polygon_doc (doc) FROM '$tmp/town.json' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')" \
        "INSERT INTO town_polygon SELECT ST_SetSRID(ST_GeomFromGeoJSON(g::text), 4326)" \
        "  FROM town_polygon_doc, jsonb_array_elements(doc) g;" >"$tmp/town.sql"
fi

# ---- osmium: clip, convert, pick the points ------------------------------------------------------

say "reading $input${bbox:+ (bbox $bbox)}"
if [ -n "$bbox" ]; then
    osmium extract -b "$bbox" -s smart "$input" -o "$tmp/clip.osm.pbf" >"$tmp/osmium.log" 2>&1 ||
        { cat "$tmp/osmium.log" >&2; die "osmium could not read or clip $input"; }
else
    osmium cat "$input" -o "$tmp/clip.osm.pbf" >"$tmp/osmium.log" 2>&1 ||
        { cat "$tmp/osmium.log" >&2; die "osmium could not read $input (not an OSM file?)"; }
fi
nodes=$(osmium fileinfo -e -g data.count.nodes "$tmp/clip.osm.pbf")
ways=$(osmium fileinfo -e -g data.count.ways "$tmp/clip.osm.pbf")
if [ "${nodes:-0}" -eq 0 ] || [ "${ways:-0}" -eq 0 ]; then
    die "empty extract: $nodes nodes, $ways ways in $input${bbox:+ inside bbox $bbox}"
fi
osmium cat "$tmp/clip.osm.pbf" -o "$tmp/net.osm" 2>"$tmp/osmium.log" ||
    { cat "$tmp/osmium.log" >&2; die "osmium could not write OSM XML"; }
# Roads (for their surface/maxspeed tags), places, hospitals, stations, as GeoJSON lines.
osmium tags-filter "$tmp/clip.osm.pbf" w/highway nw/place \
    nwr/amenity=hospital,clinic,doctors nwr/emergency=ambulance_station \
    -o "$tmp/features.osm.pbf" 2>"$tmp/osmium.log" &&
    osmium export "$tmp/features.osm.pbf" -f geojsonseq -a type,id \
        --format-option print_record_separator=false -o "$tmp/features.json" \
        2>"$tmp/osmium.log" ||
    { cat "$tmp/osmium.log" >&2; die "osmium could not export the places and hospitals"; }
# Pinyin initials of every name a place may get (places.initials, for the gazetteer search).
# Without the dictionary (Debian rime-data-pinyin-simp) the import goes on, initials left NULL.
if ! python3 "$root/deploy/osm/pinyin_initials.py" "$tmp/features.json" >"$tmp/initials.csv" \
    2>"$tmp/pinyin.log"; then
    cat "$tmp/pinyin.log" >&2
    say "warning: no pinyin initials for the places (install rime-data-pinyin-simp: deploy/setup.sh)"
    : >"$tmp/initials.csv"
fi

# ---- database -------------------------------------------------------------------------------------

GOLDLINE_PG_DB="$db" "$root/deploy/pg.sh" start >"$tmp/pg.log" 2>&1 ||
    { cat "$tmp/pg.log" >&2; die "cannot start the private cluster or create database $db"; }

# Connection: the password goes to a private passfile (never on a command line or the screen).
conninfo=$(GOLDLINE_PG_DB="$db" "$root/deploy/pg.sh" url) || die "deploy/pg.sh url failed"
host="" port="" user="" pw=""
for kv in $conninfo; do
    case "$kv" in
        host=*) host="${kv#host=}" ;;
        port=*) port="${kv#port=}" ;;
        user=*) user="${kv#user=}" ;;
        password=*) pw="${kv#password=}" ;;
    esac
done
unset conninfo
[ -n "$host" ] && [ -n "$port" ] && [ -n "$user" ] && [ -n "$pw" ] ||
    die "cannot understand the output of deploy/pg.sh url"
(umask 077 && printf '%s:%s:%s:%s:%s\n' "$host" "$port" "$db" "$user" "$pw" >"$tmp/pgpass")
unset pw
export PGPASSFILE="$tmp/pgpass"
unset PGPASSWORD PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE PGOPTIONS
psql_db() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
        "host=$host port=$port dbname=$db user=$user sslmode=disable gssencmode=disable" "$@"
}

# One import per database at a time (the staging schema is shared).
exec 8>"$root/var/import-osm.$db.lock"
flock -n 8 || { say "another import into $db is running: waiting"; flock 8; }

# Migrations, as dispatcher/db_load.c applies them: schema_migrations, file names in strcmp
# order, each file in one transaction together with its schema_migrations row.
psql_db -c "SET client_min_messages = warning; CREATE TABLE IF NOT EXISTS schema_migrations \
(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())" ||
    die "cannot create schema_migrations in $db"
while IFS= read -r name; do
    case "$name" in *[!A-Za-z0-9_.-]*) die "unexpected migration file name: $name" ;; esac
    have=$(psql_db -At -c "SELECT 1 FROM schema_migrations WHERE name = '$name'")
    [ "$have" = 1 ] && continue
    {
        echo "SET client_min_messages = warning;"
        echo "BEGIN;"
        cat "$root/deploy/schema/$name"
        printf '\n;\nINSERT INTO schema_migrations (name) VALUES (%s);\nCOMMIT;\n' "'$name'"
    } | psql_db -f - >"$tmp/migrate.log" 2>&1 ||
        { cat "$tmp/migrate.log" >&2; die "migration $name failed in $db"; }
    say "applied migration $name"
done < <(cd "$root/deploy/schema" && find . -maxdepth 1 -name '*.sql' -printf '%f\n' | LC_ALL=C sort)

# osm2pgrouting into the staging schema (the live graph stays untouched until the swap).
psql_db -c "SET client_min_messages = warning; CREATE SCHEMA IF NOT EXISTS osm_import" ||
    die "cannot create the staging schema osm_import in $db"
say "osm2pgrouting: building the road graph"
if ! osm2pgrouting -f "$tmp/net.osm" -c "$mapconfig" --clean --schema osm_import \
    -d "$db" -U "$user" -h "$host" -p "$port" >"$tmp/osm2pgrouting.log" 2>&1 ||
    grep -q -E '^ERROR|terminate called' "$tmp/osm2pgrouting.log"; then
    tail -n 15 "$tmp/osm2pgrouting.log" >&2
    die "osm2pgrouting failed on $input (its output above)"
fi
edges=$(psql_db -At -c "SELECT count(*) FROM osm_import.ways" 2>/dev/null) ||
    { tail -n 15 "$tmp/osm2pgrouting.log" >&2; die "osm2pgrouting wrote no road graph"; }
[ "$edges" -gt 0 ] ||
    die "no roads: $input has no highway=* ways that $(basename "$mapconfig") imports"

src_sha=$(sha256sum "$input" | cut -d' ' -f1)
cfg_sha=$(cat "$mapconfig" "$speeds" | sha256sum | cut -d' ' -f1)
say "costing edges, swapping the graph in, places/hospitals/stations"
summary=$(psql_db -At -v source="$(basename "$input")" -v source_sha256="$src_sha" \
    -v bbox="$bbox" -v config_sha256="$cfg_sha" 2>"$tmp/import.log" <<EOF
SET client_min_messages = warning;
BEGIN;
\i '$tmp/speeds.sql'
CREATE TEMP TABLE osm_features (doc jsonb) ON COMMIT DROP;
\copy osm_features (doc) FROM '$tmp/features.json' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')
CREATE TEMP TABLE name_initials (name text PRIMARY KEY, initials text NOT NULL) ON COMMIT DROP;
\copy name_initials (name, initials) FROM '$tmp/initials.csv' WITH (FORMAT csv)
CREATE TEMP TABLE town_polygon (geom geometry(Geometry, 4326) NOT NULL) ON COMMIT DROP;
\i '$tmp/town.sql'
\i '$root/deploy/osm/import.sql'
COMMIT;
EOF
) || { cat "$tmp/import.log" >&2; die "import into $db failed (nothing was changed)"; }
grep -v '^$' "$tmp/import.log" >&2 || true  # warnings (classes without a speed)
say "imported into $db: $summary"
