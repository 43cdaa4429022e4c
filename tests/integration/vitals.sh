#!/usr/bin/env bash
# The live vitals relay end to end over real sockets: the private PostGIS cluster (database
# goldline_vitals), goldline-dispatcher on its own ports (websocket 23080, uplink 23401,
# downlink 23402), two hospitals (HA near the scene, HB farther, both PCI centres), four users
# (ED of HA, ED of HB, a supervisor, a dispatcher), and the assigned unit's numerics and ECG
# frames sent by gl-uplink-inject over nanomsg. vitals_checks.py checks who receives what (only
# the destination's ED and the supervisor), the binary frames bit for bit and in order, the
# 10 s backlog of a late screen, that another unit cannot inject into the patient, that the
# stream moves to HB when HA goes on diversion, and the audit rows of every subscription.
#
#   tests/integration/vitals.sh BUILD_DIR
#
# Prints one "ok"/"not ok" line per check and closes with "N passed, M failed".
set -uo pipefail
build=$(cd "${1:?usage: vitals.sh BUILD_DIR}" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$root/tests/integration"
art="$root/tests/artifacts/vitals"
var="$art/var"
export GOLDLINE_PG_DB=goldline_vitals
UP=tcp://127.0.0.1:23401
DOWN=tcp://127.0.0.1:23402
WSPORT=23080
. "$here/lib.sh"
inj="$build/tests/gl-uplink-inject"
# The scene and the hospitals, in Guixi (where gl-uplink-inject's "good" fix puts the units).
SCENE_LAT=28.2950
SCENE_LON=117.2300

rm -rf "$art"
mkdir -p "$var"
fresh_database
check "dispatcher starts on an empty database" start_dispatcher
kill -TERM "$dpid"
wait "$dpid"
psql_q "INSERT INTO vehicles (id, call_sign, kind) VALUES ('VT-1', '监护01', 'ALS'), ('VT-2', '监护02', 'ALS')" >/dev/null
psql_q "INSERT INTO hospitals (id, name, geom, capabilities) VALUES
        ('HA', 'Hospital A (test)', ST_SetSRID(ST_MakePoint(117.2350, 28.2990), 4326)::geography, '{pci}'),
        ('HB', 'Hospital B (test)', ST_SetSRID(ST_MakePoint(117.3500, 28.2000), 4326)::geography, '{pci}')" >/dev/null
check "dispatcher starts with two hospitals and two units" start_dispatcher
"$inj" "$UP" good VT-1 >/dev/null
"$inj" "$UP" good VT-2 >/dev/null
echo ed-a-pw | ctl user add ed_a --role ed --hospital HA >/dev/null
echo ed-b-pw | ctl user add ed_b --role ed --hospital HB >/dev/null
echo sup-pw | ctl user add sup --role supervisor >/dev/null
echo disp-pw | ctl user add disp --role dispatcher >/dev/null
placed() { ctl fleet | py "sum(1 for v in r['vehicles'] if 'lat' in v) == 2" | grep -q True; }
check "both units have a position" wait_for 10 placed

python3 "$here/vitals_checks.py" $WSPORT "$(cat "$var/api-token")" "$inj" "$UP" VT-1 VT-2 \
    $SCENE_LAT $SCENE_LON 2>"$art/checks.err" | tee "$art/checks.log"
passed=$((passed + $(grep -c '^ok' "$art/checks.log")))
failed=$((failed + $(grep -c '^not ok' "$art/checks.log")))
if [ -s "$art/checks.err" ]; then
    nok "vitals_checks.py ran to the end (see $art/checks.err)"
    cat "$art/checks.err"
fi

# Audit rows reach PostGIS through the journal within a second or two.
audited() { [ "$(psql_q "SELECT count(DISTINCT actor) FROM audit_log WHERE action = 'vitals.stream'")" = 3 ]; }
check "audit_log: every session that started receiving the patient (ed_a, sup, ed_b)" wait_for 10 audited
check "audit_log: the dispatcher's refused vitals.subscribe (EACCES)" \
    [ "$(psql_q "SELECT count(*) FROM audit_log WHERE actor = 'disp' AND action = 'vitals.subscribe' AND detail->>'code' = 'EACCES'")" = 1 ]
check "the ECG frames and numerics are stored for the incident as well" \
    [ "$(psql_q "SELECT (SELECT count(*) FROM ecg_strips) > 0 AND (SELECT count(*) FROM vitals_numerics) >= 3")" = t ]
check "no vital-sign value in the dispatcher's log" \
    bash -c "! grep -Eq '147842|150456|\"numerics\"' '$art/dispatcher.log'"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
