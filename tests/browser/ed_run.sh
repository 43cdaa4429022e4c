#!/usr/bin/env bash
# Browser test of the ED arrivals board (console/web/pages/ed.html) on real parts: the private
# PostGIS cluster (database goldline_ed), goldline-dispatcher serving console/web, units played
# by gl-ecg-sender (tests/browser/ecg_sender.c, sealed with the keys `vehicle add` provisions),
# and Debian's chromium (headless) driven by playwright-core (ed.test.js).
#
#   tests/browser/ed_run.sh BUILD_DIR
#
# BUILD_DIR must hold goldline-dispatcher, goldlinectl and gl-ecg-sender. Uses its own ports
# (websocket 22080, uplink 22401, downlink 22402) and var dir (tests/artifacts/browser/ed/var),
# so the console test (21080), the integration test and a demo are left alone.
#
# The scene: hospitals HA (1.5 km from the call, every capability) and HB (12 km away, every
# capability); ED users eda (HA) and edb (HB); units ED-1 and ED-2 at the scene. Call 1 is chest
# pain with a STEMI confirmed and the crew's patient record (62, male); call 2, when the PTB
# myocardial-infarction record is in the shared data folder, a stroke with BE-FAST and a
# suspected LVO (71, female). Both units report en_route, on_scene and transporting, so the
# dispatcher sends both patients to HA (the nearest capable hospital). Then ed.test.js: eda's
# board shows them, the units stream 20 s of ECG and numerics (the generator for call 1, HR 140,
# SpO2 86 and anterior ST elevation; the MI record for call 2), and the page's sample count and
# FNV-1a checksum must equal the senders'; edb (a second browser context) receives nothing;
# "activate" and "patient arrived" land in the timeline. Last, the hospital's own status bar:
# eda puts HA on diversion (asked first; Cancel changes nothing) and the patients go to HB (edb's
# inbound and board, vitals.stop on eda's page); eda's "cath lab not ready" changes HA's row;
# `goldlinectl hospital status HA` (the operator) sets it back and the bar follows; eda setting
# HB's status is refused (EACCES).
#
# Golden time (issue 7, "Clocks"): before the dispatcher starts for the second time, one extra
# metric is inserted into goldline_ed's golden_metrics, ed_test_fmc_to_handover (first medical
# contact -> handover, warning at 4 s, target 10 s; it exists only in this test database). The
# test records first_medical_contact for call 1 while both boards are open: the warning and the
# breach must reach eda's board within seconds (pushed), never edb's; each card's clocks must be
# those op `clocks` reports running or waiting, with elapsed times that match it.
#
# Screenshots: tests/artifacts/browser/ed-NN-step.png; logs in tests/artifacts/browser/ed/.
# Prints one ok/not ok line per check and "N passed, M failed"; exits non-zero on a failure.
set -uo pipefail
build=$(cd "${1:?usage: ed_run.sh BUILD_DIR}" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$root/tests/browser"
shots="$root/tests/artifacts/browser"
art="$shots/ed"
var="$art/var"
export GOLDLINE_PG_DB=goldline_ed
UP=tcp://127.0.0.1:22401
DOWN=tcp://127.0.0.1:22402
WSPORT=22080
SCENE_LAT=28.2948
SCENE_LON=117.2401
SECONDS_STREAM=${GL_ED_SECONDS:-20}
ALERT_METRIC=ed_test_fmc_to_handover
PASS_A=ed-a-pass-1
PASS_B=ed-b-pass-1
sender="$build/tests/gl-ecg-sender"

. "$root/tests/integration/lib.sh"
DISPATCHER_ARGS=(--auto-assign-s 600 --stale-s 120)

if [ ! -x /usr/bin/chromium ]; then
    echo "# SKIP ED browser test: /usr/bin/chromium is absent (apt-get install chromium fonts-wqy-microhei)"
    exit 0
fi
if ! command -v npm >/dev/null; then
    echo "# SKIP ED browser test: npm is absent"
    exit 0
fi
for b in "$build/dispatcher/goldline-dispatcher" "$build/console/goldlinectl" "$sender"; do
    [ -x "$b" ] || { echo "missing $b: build goldline-dispatcher, goldlinectl and gl-ecg-sender first"; exit 1; }
done
[ -d "$here/node_modules/playwright-core" ] || (cd "$here" && npm ci --no-audit --no-fund >/dev/null) || { echo "npm ci failed in tests/browser"; exit 1; }

rm -rf "$art"
rm -f "$shots"/ed-*.png
mkdir -p "$var"
fresh_database

# A point `d` metres from the scene at bearing `brg` degrees.
dest() {
    python3 - "$SCENE_LAT" "$SCENE_LON" "$1" "$2" <<'PY'
import math, sys
lat0, lon0, d, brg = map(float, sys.argv[1:])
R = 6371008.8
p1, l1, b, a = math.radians(lat0), math.radians(lon0), math.radians(brg), d / R
p2 = math.asin(math.sin(p1) * math.cos(a) + math.cos(p1) * math.sin(a) * math.cos(b))
l2 = l1 + math.atan2(math.sin(b) * math.sin(a) * math.cos(p1), math.cos(a) - math.sin(p1) * math.sin(p2))
print(f"{math.degrees(p2):.7f} {math.degrees(l2):.7f}")
PY
}
read -r ha_lat ha_lon < <(dest 1500 60)
read -r hb_lat hb_lon < <(dest 12000 240)
caps='{pci,stroke_ivt,stroke_evt,trauma,obstetric,neonatal}'

# The first start applies the schema; the hospitals are read at start, so it starts again.
check "dispatcher starts on an empty database (goldline_ed)" start_dispatcher
kill -TERM "$dpid"
wait "$dpid"
psql_q "INSERT INTO hospitals (id, name, geom, capabilities) VALUES
        ('HA', 'ED test hospital A', ST_SetSRID(ST_MakePoint($ha_lon, $ha_lat), 4326)::geography, '$caps'),
        ('HB', 'ED test hospital B', ST_SetSRID(ST_MakePoint($hb_lon, $hb_lat), 4326)::geography, '$caps')" >/dev/null
psql_q "INSERT INTO golden_metrics (name, applies_to, start_event, end_event, target_s, warning_s, compliance, standard)
        VALUES ('$ALERT_METRIC', 'all', 'first_medical_contact', 'handover', 10, 4,
                'ED browser test only', 'tests/browser/ed_run.sh: warns 4 s after first medical contact')" >/dev/null
check "dispatcher starts with hospitals HA and HB and the 4-second test metric" start_dispatcher
check "GET /console/ed.html serves the board and its scripts" \
    bash -c "curl -fs http://127.0.0.1:$WSPORT/console/ed.html | grep -q 'js/ed.js' &&
             curl -fso /dev/null http://127.0.0.1:$WSPORT/console/js/ed_ecg.js &&
             curl -fso /dev/null http://127.0.0.1:$WSPORT/console/css/ed.css"

# api OP JSON: one request as the operator (admin), for what goldlinectl has no command for.
api() {
    PYTHONPATH="$root/tests/integration" python3 - "$WSPORT" "$var/api-token" "$1" "$2" <<'PY'
import json, sys
from ws_client import WS
port, tokfile, op, args = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
ws = WS("127.0.0.1", int(port))
assert ws.call("hello", token=open(tokfile).read().strip())["ok"]
r = ws.call(op, **args)
print(json.dumps(r))
sys.exit(0 if r.get("ok") else 1)
PY
}
export -f api   # ed.test.js: the operator's alert.ack

echo "$PASS_A" | ctl user add eda --role ed --hospital HA >"$art/user-a.json"
echo "$PASS_B" | ctl user add edb --role ed --hospital HB >"$art/user-b.json"
check "two ED users, one per hospital (goldlinectl user add)" \
    bash -c "grep -q HA '$art/user-a.json' && grep -q HB '$art/user-b.json'"
ctl vehicle add ED-1 --kind ALS --call-sign 急救01 --caps ecg12 --key-file "$art/ed-1.key" >/dev/null
ctl vehicle add ED-2 --kind ALS --call-sign 急救02 --caps ecg12 --key-file "$art/ed-2.key" >/dev/null
check "two units provisioned with sealing keys (goldlinectl vehicle add)" \
    bash -c "[ -s '$art/ed-1.key' ] && [ -s '$art/ed-2.key' ]"
for v in 1 2; do
    "$sender" --uplink $UP --vehicle ED-$v --key-file "$art/ed-$v.key" --seq-file "$art/ed-$v.seq" --fix "$SCENE_LAT,$SCENE_LON" --seconds 0 >/dev/null
done
placed() { ctl fleet | py "sorted(v['id'] for v in r['vehicles'] if 'lat' in v and v['id'].startswith('ED-'))" | grep -q "'ED-1', 'ED-2'"; }
check "the units' sealed fixes are taken (both placed at the scene)" wait_for 15 placed

have_mi=1
[ -f "$root/../shared/data/ecg/s0010_re.hea" ] || have_mi=0
ctl call new --lat $SCENE_LAT --lon $SCENE_LON --complaint chest_pain --priority 1 >"$art/call1.json"
inc1=$(py "r['incident']['id']" <"$art/call1.json")
ctl assign "$inc1" ED-1 >/dev/null
api event.add "{\"incident\":\"$inc1\",\"kind\":\"patient\",\"detail\":{\"age\":62,\"sex\":\"male\",\"triage\":\"1\"}}" >"$art/patient1.json"
check "event.add kind patient (age, sex, triage) is taken" [ $? -eq 0 ]
ctl event "$inc1" stemi_confirmed >/dev/null
units=(ED-1)
if [ $have_mi -eq 1 ]; then
    onset=$(date -u -d '-40 min' +%Y-%m-%dT%H:%M:%S.000Z)
    ctl call new --lat $SCENE_LAT --lon $SCENE_LON --complaint stroke --priority 1 --onset "$onset" >"$art/call2.json"
    inc2=$(py "r['incident']['id']" <"$art/call2.json")
    ctl assign "$inc2" ED-2 >/dev/null
    api event.add "{\"incident\":\"$inc2\",\"kind\":\"patient\",\"detail\":{\"age\":71,\"sex\":\"female\"}}" >/dev/null
    ctl event "$inc2" stroke_scale --detail '{"scale":"BE-FAST","positive":true,"score":4}' >/dev/null
    ctl event "$inc2" lvo_suspected --detail '{"scale":"RACE","score":7}' >/dev/null
    units+=(ED-2)
else
    echo "# SKIP the MI-record stream: $root/../shared/data/ecg/s0010_re.hea is absent (the generator stream still runs)"
    inc2=
fi
for v in "${units[@]}"; do
    "$sender" --uplink $UP --vehicle "$v" --key-file "$art/${v,,}.key" --seq-file "$art/${v,,}.seq" --fix "$SCENE_LAT,$SCENE_LON" \
        --status en_route,on_scene,transporting --seconds 0 >/dev/null
done
dest_of() { ctl incident "$1" | py "r['incident'].get('destination', '')"; }
bound_a() { for i in "$inc1" $inc2; do [ "$(dest_of "$i")" = HA ] || return 1; done; }
check "the units report on scene and the dispatcher sends the patients to HA" wait_for 15 bound_a

streams="[{\"incident\":\"$inc1\",\"vehicle\":\"ED-1\",\"key\":\"$art/ed-1.key\",\"source\":\"gen\",\"alarm\":true,
           \"args\":[\"--seq-file\",\"$art/ed-1.seq\",\"--hr\",\"140\",\"--spo2\",\"86\",\"--st\",\"anterior\",\"--fix\",\"$SCENE_LAT,$SCENE_LON\"]}"
[ -n "$inc2" ] && streams+=",{\"incident\":\"$inc2\",\"vehicle\":\"ED-2\",\"key\":\"$art/ed-2.key\",\"source\":\"mi\",
           \"args\":[\"--seq-file\",\"$art/ed-2.seq\",\"--fix\",\"$SCENE_LAT,$SCENE_LON\"]}"
streams+="]"

GL_URL="http://127.0.0.1:$WSPORT" GL_ART="$shots" GL_SENDER="$sender" GL_UPLINK=$UP \
    GL_CTL="$build/console/goldlinectl --url ws://127.0.0.1:$WSPORT --token-file $var/api-token --compact" \
    GL_USER_A=eda GL_PASS_A=$PASS_A GL_USER_B=edb GL_PASS_B=$PASS_B GL_STREAMS="$streams" \
    GL_STEMI="$inc1" GL_LVO="$inc2" GL_SECONDS=$SECONDS_STREAM GL_HOSP_A=HA GL_HOSP_B=HB \
    GL_ALERT_METRIC=$ALERT_METRIC \
    NODE_PATH="$here/node_modules" node "$here/ed.test.js" | tee "$art/browser.out"
p=$(grep -c '^ok - ' "$art/browser.out")
f=$(grep -c '^not ok - ' "$art/browser.out")
passed=$((passed + p))
failed=$((failed + f))
[ "$p" -gt 0 ] || nok "the ED browser test ran"

check "audit_log: eda's vitals subscription is recorded" \
    bash -c "[ \"\$(psql_q \"SELECT count(*) FROM audit_log WHERE actor = 'eda' AND action = 'vitals.subscribe'\")\" -ge 1 ]"
kill -TERM "$dpid"
wait "$dpid"
check "SIGTERM: the dispatcher exits 0" [ $? -eq 0 ]
check "no sanitizer report in the dispatcher log" bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' '$art'/*.log"
check "no patient data in the dispatcher log (the patient record's age and sex)" \
    bash -c "! grep -qE '\"age\"|\"sex\"|BE-FAST|RACE' '$art/dispatcher.log'"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
