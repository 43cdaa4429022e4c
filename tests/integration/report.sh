#!/usr/bin/env bash
# Integration test of `goldlinectl report` and `goldlinectl import-calls` on the private PostGIS
# cluster (its own database, goldline_report): the schema is applied as the dispatcher applies
# it (every deploy/schema/*.sql in name order, one transaction each, recorded in
# schema_migrations); a synthetic set of hand-made incidents gives hand-computed figures; then
# the first 1,000 calls (about 2,100 unit rows) of the real San Francisco Fire Dept file and the
# first 600 NYC EMS incidents are imported, and every figure of the report is checked against an
# independent recomputation from the raw file (Python's csv, datetime and zoneinfo) and against
# counts in SQL. The real-data part is skipped, with a message, when ../shared/data is absent.
#
#   tests/integration/report.sh BUILD_DIR
#
# Prints one "ok"/"not ok" line per check and closes with "N passed, M failed"; exits non-zero
# when a check failed.
set -uo pipefail
build=$(cd "${1:?usage: report.sh BUILD_DIR}" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
art="$root/tests/artifacts/report"
var="$art/var"
shared="${GOLDLINE_SHARED_DATA:-$root/../shared/data}" # overridable, to try the skip path
export GOLDLINE_PG_DB=goldline_report
WSPORT=0 # lib.sh's websocket helpers are not used here
UP=
DOWN=
SF_CALLS=1000
NYC_CALLS=600

. "$root/tests/integration/lib.sh"

rm -rf "$art"
mkdir -p "$var"
fresh_database
export pgurl
ctl() { "$build/console/goldlinectl" "$@" --pg "$pgurl"; }

# ---- schema, as the dispatcher applies it ------------------------------------------------------
apply_schema() {
    psql_q "SET client_min_messages = warning; CREATE TABLE IF NOT EXISTS schema_migrations
            (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())" >/dev/null || return 1
    local f n
    for f in "$root"/deploy/schema/*.sql; do
        n=$(basename "$f")
        "$root/deploy/pg.sh" psql -qX -v ON_ERROR_STOP=1 --single-transaction \
            -c "SET client_min_messages = warning" -f "$f" \
            -c "INSERT INTO schema_migrations (name) VALUES ('$n')" >>"$art/schema.log" 2>&1 || {
            echo "migration $n failed, see $art/schema.log"
            return 1
        }
    done
}
check "the schema (deploy/schema/*.sql) applies to a fresh database" apply_schema
check "migration 008 adds incidents.import_key" \
    test "$(psql_q "SELECT count(*) FROM information_schema.columns WHERE table_name = 'incidents' AND column_name = 'import_key'")" = 1
nmetrics=$(psql_q "SELECT count(*) FROM golden_metrics WHERE active")

# ---- synthetic incidents with hand-computed answers --------------------------------------------
# Day 2017-12-25, call → dispatch of 30, 60 (exactly the 60 s target), 90 and 300 s; one call
# never dispatched (incomplete); one still open (left out). call_to_dispatch must give n 5,
# complete 4, incomplete 1, met 2, compliance 50 %, mean 120 s, median 75 s, p90 237 s
# (rank 0.9 x 3 = 2.7: 90 + 0.7 x 210), worst first 20171225-0004 (300 s). Destinations: 0001
# and 0003 go to H1; 0002 went to H1 and was then re-routed to H2.
psql_q "
INSERT INTO incidents (id, day, day_seq, created_at, geom, complaint, priority, state, updated_at)
SELECT '20171225-000' || k, 20171225, k, t, ST_SetSRID(ST_MakePoint(117.24, 28.29), 4326)::geography,
       'stroke', 1, CASE WHEN k = 6 THEN 'new' ELSE 'closed' END, t
  FROM (SELECT k, timestamptz '2017-12-25 10:00:00+08' + k * interval '1 hour' AS t
          FROM generate_series(1, 6) k) s;
INSERT INTO incident_events (incident_id, seq, at, kind, source, detail)
SELECT '20171225-000' || k, 1, timestamptz '2017-12-25 10:00:00+08' + k * interval '1 hour',
       'call_received', 'operator', NULL FROM generate_series(1, 6) k;
INSERT INTO incident_events (incident_id, seq, at, kind, source, detail)
SELECT '20171225-000' || k, 2, timestamptz '2017-12-25 10:00:00+08' + k * interval '1 hour' + d * interval '1 second',
       'assigned', 'operator', NULL
  FROM (VALUES (1, 30), (2, 60), (3, 90), (4, 300), (6, 10)) v(k, d);
INSERT INTO incident_events (incident_id, seq, at, kind, source, detail) VALUES
 ('20171225-0001', 3, '2017-12-25 11:30:00+08', 'destination', 'dispatcher', '{\"hospital\":\"H1\"}'),
 ('20171225-0002', 3, '2017-12-25 12:30:00+08', 'destination', 'dispatcher', '{\"hospital\":\"H1\"}'),
 ('20171225-0002', 4, '2017-12-25 12:40:00+08', 'destination', 'dispatcher', '{\"hospital\":\"H2\"}'),
 ('20171225-0003', 3, '2017-12-25 13:30:00+08', 'destination', 'dispatcher', '{\"hospital\":\"H1\"}');
" >/dev/null || nok "synthetic incidents inserted"

ctl report --from 2017-12-25 --to 2017-12-25 --metric call_to_dispatch >"$art/synthetic.json" 2>"$art/synthetic.err"
check "synthetic: n 5, complete 4, incomplete 1, met 2, compliance 50 %" \
    test "$(py "[(m['n'], m['complete'], m['incomplete'], m['met'], m['compliance_pct']) for m in r['metrics']]" <"$art/synthetic.json")" = "[(5, 4, 1, 2, 50.0)]"
check "synthetic: mean 120 s, median 75 s, p90 237 s" \
    test "$(py "[(m['mean_s'], m['median_s'], m['p90_s']) for m in r['metrics']]" <"$art/synthetic.json")" = "[(120.0, 75.0, 237.0)]"
check "synthetic: worst case first is 20171225-0004 at 300 s, four listed, the open incident left out" \
    test "$(py "(r['metrics'][0]['worst'][0]['incident'], r['metrics'][0]['worst'][0]['interval_s'], len(r['metrics'][0]['worst']), r['open_excluded'], r['incidents'])" <"$art/synthetic.json")" = "('20171225-0004', 300.0, 4, 1, 5)"
check "synthetic: rule '>= 90% within 60 s' judged not met" \
    test "$(py "r['metrics'][0]['rule_met']" <"$art/synthetic.json")" = False
ctl report --from 2017-12-25 --to 2017-12-25 --metric call_to_dispatch --hospital H1 >"$art/synthetic_h1.json" 2>&1
check "synthetic: --hospital H1 keeps the incidents whose latest destination is H1 (0001, 0003)" \
    test "$(py "(r['metrics'][0]['n'], sorted(w['incident'] for w in r['metrics'][0]['worst']))" <"$art/synthetic_h1.json")" = "(2, ['20171225-0001', '20171225-0003'])"
check "report refuses --from after --to (usage, exit 2)" \
    bash -c '"$0/console/goldlinectl" report --from 2018-02-01 --to 2018-01-01 --pg x 2>/dev/null; test $? = 2' "$build"
check "report on an unreachable database exits 3" \
    bash -c '"$0/console/goldlinectl" report --from 2018-01-01 --to 2018-01-02 --pg "host=127.0.0.1 port=1 connect_timeout=2" 2>/dev/null; test $? = 3' "$build"

# ---- real San Francisco calls ------------------------------------------------------------------
sf="$shared/calls/sf_fd_calls_2018H1_6nbhd.csv"
nyc="$shared/calls/nyc_ems_2013-01-01_to_03.tsv"
if [ ! -r "$sf" ] || [ ! -r "$nyc" ]; then
    echo "# SKIP real-data checks: $shared/calls is absent (the synthetic checks above still ran)"
else
    # The independent recomputation: same row rules as docs/reports.md, written afresh.
    python3 - "$sf" "$SF_CALLS" >"$art/sf_expected.json" <<'PY'
import csv, json, sys
from datetime import datetime
from zoneinfo import ZoneInfo
path, limit = sys.argv[1], int(sys.argv[2])
tz = ZoneInfo("America/Los_Angeles")
def t(s):
    if s == "":
        return None
    return int(datetime.strptime(s, "%m/%d/%Y %I:%M:%S %p").replace(tzinfo=tz).timestamp())
stages = ["Received DtTm", "Dispatch DtTm", "Response DtTm", "On Scene DtTm",
          "Transport DtTm", "Hospital DtTm", "Available DtTm"]
order, rows = [], {}
with open(path, newline="") as f:
    for row in csv.DictReader(f):
        c = row["Call Number"]
        if c not in rows:
            if len(order) == limit:
                continue
            order.append(c)
            rows[c] = []
        rows[c].append(row)
calls = {}
nrows = rejected = 0
for c in order:
    good, units, received = [], set(), None
    for row in rows[c]:
        nrows += 1
        try:
            ts = [t(row[s]) for s in stages]
        except ValueError:
            rejected += 1
            continue
        present = [x for x in ts if x is not None]
        if ts[0] is None or present != sorted(present) or max(present) - ts[0] > 86400 \
                or row["Unit ID"] in units or (received is not None and ts[0] != received):
            rejected += 1
            continue
        units.add(row["Unit ID"])
        received = ts[0]
        good.append(ts)
    if good:
        calls[c] = good
def first_after(times, start):
    later = [x for x in times if x is not None and x >= start]
    return min(later) if later else None
def stats(iv, target):
    iv = sorted(iv)
    def pct(p):
        r = p * (len(iv) - 1); lo = int(r)
        return iv[-1] if lo + 1 >= len(iv) else iv[lo] + (r - lo) * (iv[lo + 1] - iv[lo])
    return {"complete": len(iv), "met": sum(x <= target for x in iv),
            "compliance_pct": 100.0 * sum(x <= target for x in iv) / len(iv),
            "mean_s": sum(iv) / len(iv), "median_s": pct(0.5), "p90_s": pct(0.9)}
out = {"rows": nrows, "rejected": rejected, "calls": len(calls), "metrics": {}}
c2d, d2r, c2s = [], [], []
for c, good in calls.items():
    rec = good[0][0]
    e = first_after([g[1] for g in good], rec)
    if e is not None: c2d.append(e - rec)
    disp = [g[1] for g in good if g[1] is not None]
    if disp:
        e = first_after([g[2] for g in good], min(disp))
        if e is not None: d2r.append(e - min(disp))
    e = first_after([g[3] for g in good], rec)
    if e is not None: c2s.append(e - rec)
for name, iv, target in (("call_to_dispatch", c2d, 60), ("dispatch_to_rolling", d2r, 180),
                         ("call_to_scene_town", c2s, 900)):
    out["metrics"][name] = dict(stats(iv, target), n=len(calls))
print(json.dumps(out))
PY
    exp() { python3 -c "import json, sys; r = json.load(open('$art/sf_expected.json')); print($1)"; }

    ctl import-calls "$sf" --source sf --limit "$SF_CALLS" >"$art/import1.txt" 2>&1
    check "import-calls sf exits 0" test $? = 0
    added=$(sed -n 's/^incidents added: \([0-9]*\).*/\1/p' "$art/import1.txt")
    check "rows read and rejected equal the independent count ($(exp "r['rows']") rows, $(exp "r['rejected']") rejected)" \
        test "$(sed -n 's/^rows read: //p' "$art/import1.txt") $(sed -n 's/^rows rejected: //p' "$art/import1.txt")" = "$(exp "r['rows']") $(exp "r['rejected']")"
    check "incidents added ($added) equal the independent count of calls with a valid row" \
        test "$added" = "$(exp "r['calls']")"
    check "SQL holds as many sf: incidents, all closed, each with call_received and closed events" \
        test "$(psql_q "SELECT count(*) || ' ' || count(*) FILTER (WHERE state = 'closed') || ' ' ||
                count(*) FILTER (WHERE EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = i.id AND e.kind = 'call_received'))
                || ' ' || count(*) FILTER (WHERE EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = i.id AND e.kind = 'closed'))
                FROM incidents i WHERE import_key LIKE 'sf:%'")" = "$added $added $added $added"
    before=$(psql_q "SELECT (SELECT count(*) FROM incidents) || '/' || (SELECT count(*) FROM incident_events)")
    ctl import-calls "$sf" --source sf --limit "$SF_CALLS" >"$art/import2.txt" 2>&1
    check "re-import adds 0 incidents and 0 events ($before)" \
        test "$(grep '^incidents added' "$art/import2.txt") $(psql_q "SELECT (SELECT count(*) FROM incidents) || '/' || (SELECT count(*) FROM incident_events)")" = "incidents added: 0 (0 events); already there: $added $before"

    ctl report --from 2018-01-01 --to 2018-06-30 --format json >"$art/sf.json" 2>"$art/sf.err"
    check "report --format json exits 0 with every active metric ($nmetrics)" \
        test "$(py "len(r['metrics'])" <"$art/sf.json")" = "$nmetrics"
    for m in call_to_dispatch dispatch_to_rolling call_to_scene_town; do
        got=$(py "next((m['n'], m['complete'], m['met']) for m in r['metrics'] if m['name'] == '$m')" <"$art/sf.json")
        want=$(exp "(r['metrics']['$m']['n'], r['metrics']['$m']['complete'], r['metrics']['$m']['met'])")
        check "$m: n, complete, met $got equal the recomputation from the raw file $want" test "$got" = "$want"
        check "$m: compliance, mean, median, p90 equal the recomputation (within rounding)" \
            python3 -c "
import json, sys
g = next(m for m in json.load(open('$art/sf.json'))['metrics'] if m['name'] == '$m')
w = json.load(open('$art/sf_expected.json'))['metrics']['$m']
bad = [k for k in ('compliance_pct', 'mean_s', 'median_s', 'p90_s') if abs(g[k] - w[k]) > 0.051]
print('  got', {k: g[k] for k in w if k in g}, 'wanted', {k: round(w[k], 2) for k in w}) if bad else None
sys.exit(1 if bad else 0)"
    done
    check "call_to_dispatch n equals a count in SQL of the imported incidents" \
        test "$(py "next(m['n'] for m in r['metrics'] if m['name'] == 'call_to_dispatch')" <"$art/sf.json")" = \
             "$(psql_q "SELECT count(*) FROM incidents WHERE day BETWEEN 20180101 AND 20180630 AND state = 'closed'")"
    check "call_to_scene_town complete equals a count in SQL of incidents with an on_scene status" \
        test "$(py "next(m['complete'] for m in r['metrics'] if m['name'] == 'call_to_scene_town')" <"$art/sf.json")" = \
             "$(psql_q "SELECT count(DISTINCT incident_id) FROM incident_events WHERE kind = 'status' AND detail->>'status' = 'on_scene' AND incident_id LIKE '2018%'")"
    check "every compliance % is in [0, 100]" \
        test "$(py "all(m['compliance_pct'] is None or 0 <= m['compliance_pct'] <= 100 for m in r['metrics'])" <"$art/sf.json")" = True
    check "call_answer is incomplete for every SF call (the source has no ringing time)" \
        test "$(py "next((m['n'] == m['incomplete'] > 0, m['compliance_pct']) for m in r['metrics'] if m['name'] == 'call_answer')" <"$art/sf.json")" = "(True, None)"
    worst=$(py "next(m['worst'][0]['incident'] + ' ' + str(int(m['worst'][0]['interval_s'])) for m in r['metrics'] if m['name'] == 'call_to_dispatch')" <"$art/sf.json")
    check "the worst call_to_dispatch case ($worst) has that interval in SQL" \
        test "$worst" = "$(psql_q "SELECT i.id || ' ' || extract(epoch FROM min(a.at) - r.at)::int FROM incidents i
            JOIN incident_events r ON r.incident_id = i.id AND r.kind = 'call_received'
            JOIN incident_events a ON a.incident_id = i.id AND a.kind = 'assigned' AND a.at >= r.at
            WHERE i.id = '${worst%% *}' GROUP BY i.id, r.at")"

    ctl report --from 2018-01-01 --to 2018-06-30 --format csv >"$art/sf.csv" 2>&1
    check "report --format csv: a header and one row per metric, n as in the JSON" \
        python3 -c "
import csv, json, sys
rows = list(csv.DictReader(open('$art/sf.csv')))
js = {m['name']: m for m in json.load(open('$art/sf.json'))['metrics']}
sys.exit(0 if len(rows) == $nmetrics and all(int(r['n']) == js[r['metric']]['n'] and
         (r['compliance_pct'] == '' or abs(float(r['compliance_pct']) - js[r['metric']]['compliance_pct']) < 0.006)
         for r in rows) else 1)"
    ctl report --from 2018-01-01 --to 2018-06-30 --format table >"$art/sf.txt" 2>&1
    check "report --format table names every metric and the number of incidents" \
        bash -c "grep -q '$added closed incidents' '$art/sf.txt' && test \$(grep -cE '^(call_|dispatch_|door_|dido|ecg_|fmc_|onset_)' '$art/sf.txt') -ge $nmetrics"
    ctl report --from 2018-01-01 --to 2018-01-31 --metric call_to_dispatch >"$art/sf_jan.json" 2>&1
    check "a one-month window counts only that month's calls" \
        test "$(py "r['metrics'][0]['n']" <"$art/sf_jan.json")" = "$(psql_q "SELECT count(*) FROM incidents WHERE day BETWEEN 20180101 AND 20180131 AND import_key LIKE 'sf:%'")"

    # ---- NYC EMS: complaints from call types, no ECG times -------------------------------------
    ctl import-calls "$nyc" --source nyc --limit "$NYC_CALLS" >"$art/nyc.txt" 2>&1
    check "import-calls nyc exits 0" test $? = 0
    card=$(python3 -c "
import csv, sys
from datetime import datetime
rows = list(csv.DictReader(open('$nyc', encoding='utf-8-sig'), delimiter='\t'))[:$NYC_CALLS]
st = ['INCIDENT_DATETIME', 'FIRST_ASSIGNMENT_DATETIME', 'FIRST_ACTIVATION_DATETIME', 'FIRST_ON_SCENE_DATETIME',
      'FIRST_TO_HOSP_DATETIME', 'FIRST_HOSP_ARRIVAL_DATETIME', 'INCIDENT_CLOSE_DATETIME']
def ok(r):
    ts = [datetime.strptime(r[s], '%m/%d/%Y %I:%M:%S %p') for s in st if r[s]]
    return r[st[0]] != '' and ts == sorted(ts) and (ts[-1] - ts[0]).total_seconds() <= 86400
print(sum(1 for r in rows if r['INITIAL_CALL_TYPE'] == 'CARD' and ok(r)))")
    ctl report --from 2013-01-01 --to 2013-01-03 --metric fmc_to_ecg >"$art/nyc.json" 2>&1
    check "fmc_to_ecg applies to the $card NYC cardiac (CARD) calls, all incomplete (no ECG times)" \
        test "$(py "(r['metrics'][0]['n'], r['metrics'][0]['incomplete'])" <"$art/nyc.json")" = "($card, $card)"
    check "NYC incidents have no location, SF ones all have one" \
        test "$(psql_q "SELECT count(*) FILTER (WHERE import_key LIKE 'nyc:%' AND geom IS NOT NULL) || ' ' || count(*) FILTER (WHERE import_key LIKE 'sf:%' AND geom IS NULL) FROM incidents")" = "0 0"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
