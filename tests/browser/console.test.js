#!/usr/bin/env node
// Drives the operator console (console/web) in Debian's chromium, headless, through
// playwright-core, against the real dispatcher, PostGIS and simulated fleet that run.sh starts.
// Each step saves a screenshot to $GL_ART/NN-step.png and prints "ok - ..." or "not ok - ...";
// run.sh counts them. Environment: GL_URL (http://127.0.0.1:PORT), GL_TOKEN_FILE (the operator
// token), GL_ART (the artefacts folder), GL_UNITS (how many simulated units), GL_CENTER
// ("lat,lon": where the first call is placed), GL_ALERT_METRIC (the short golden metric that
// run.sh inserted: it must warn within seconds of a call nobody assigns), GL_PLACES (the
// places.csv run.sh seeded: name, kind, population, initials, lat, lon), GL_NO_INITIALS=1 when
// the database has no pinyin initials (the initials search is then skipped).
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const URL_BASE = process.env.GL_URL || 'http://127.0.0.1:21080';
const ART = process.env.GL_ART || path.join(__dirname, '../artifacts/browser');
const TOKEN = fs.readFileSync(process.env.GL_TOKEN_FILE, 'utf8').trim();
const UNITS = +(process.env.GL_UNITS || 12);
const [CLAT, CLON] = (process.env.GL_CENTER || '28.2948,117.2401').split(',').map(Number);
const METRIC = process.env.GL_ALERT_METRIC || 'web_test_call_to_dispatch';
const PLACES = process.env.GL_PLACES ? fs.readFileSync(process.env.GL_PLACES, 'utf8').trim().split('\n').slice(1)
  .map((l) => { const [name, kind, population, initials, lat, lon] = l.split(','); return { name, kind, population: +population, initials, lat: +lat, lon: +lon }; }) : [];
const NO_INITIALS = process.env.GL_NO_INITIALS === '1';

/* Metres between two points (haversine). */
function metres(a, b) {
  const R = 6371008.8;
  const r = (d) => (d * Math.PI) / 180;
  const dl = r(b[0] - a[0]);
  const dn = r(b[1] - a[1]);
  const h = Math.sin(dl / 2) ** 2 + Math.cos(r(a[0])) * Math.cos(r(b[0])) * Math.sin(dn / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(h));
}

let passed = 0;
let failed = 0;
let step = 0;
function ok(desc) { passed++; console.log(`ok - ${desc}`); }
function nok(desc, why) { failed++; console.log(`not ok - ${desc}${why ? `: ${why}` : ''}`); }

async function shot(page, name) {
  step++;
  const file = path.join(ART, `${String(step).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
}

/* check(desc, fn): runs the async assertion fn; a throw or a false result is a failure. */
async function check(desc, fn) {
  try {
    const r = await fn();
    if (r === false) nok(desc); else ok(desc);
    return r !== false;
  } catch (e) {
    nok(desc, String(e.message || e).split('\n')[0]);
    return false;
  }
}

async function main() {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const foreign = [];
  const pageErrors = [];
  page.on('request', (r) => { const u = new URL(r.url()); if (!['127.0.0.1', 'localhost'].includes(u.hostname) && u.protocol !== 'data:') foreign.push(r.url()); });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });

  try {
    await check('the console page loads from the dispatcher with the vendored Leaflet', async () => {
      const resp = await page.goto(`${URL_BASE}/console/`);
      if (!resp.ok()) throw new Error(`HTTP ${resp.status()}`);
      await page.waitForSelector('#login-form', { state: 'visible' });
      return await page.evaluate(() => typeof L === 'object' && typeof L.map === 'function' && !!window.goldline);
    });
    await shot(page, 'login');

    await check('a wrong token is refused (EACCES) and the login stays up', async () => {
      await page.fill('#login-token', 'ab'.repeat(32));
      await page.press('#login-token', 'Enter');
      await page.waitForFunction(() => /EACCES/.test(document.getElementById('login-error').textContent), null, { timeout: 5000 });
      return await page.isVisible('#login');
    });
    await shot(page, 'wrong-token');

    await check('a wrong user name and password are refused and the login stays up', async () => {
      await page.fill('#login-token', '');
      await page.fill('#login-user', 'nobody');
      await page.fill('#login-password', 'not-the-password');
      await page.evaluate(() => { document.getElementById('login-error').textContent = ''; });
      await page.press('#login-password', 'Enter');
      await page.waitForFunction(() => /EACCES|EAGAIN/.test(document.getElementById('login-error').textContent), null, { timeout: 10000 });
      return await page.isVisible('#login');
    });
    await shot(page, 'wrong-password');

    await check(`the operator token logs in and the fleet (${UNITS} units) appears on the map`, async () => {
      await page.fill('#login-user', '');
      await page.fill('#login-password', '');
      await page.fill('#login-token', TOKEN);
      await page.press('#login-token', 'Enter');
      await page.waitForSelector('#login', { state: 'hidden', timeout: 5000 });
      await page.waitForFunction((n) => document.querySelectorAll('.veh[data-vehicle]').length >= n, UNITS, { timeout: 20000 });
      return await page.isVisible('.conn.up');
    });
    await shot(page, 'fleet');

    await check('a unit silent for an hour (W-99) is drawn stale: faded and dashed, said in its title', async () => {
      await page.waitForSelector('.veh.stale[data-vehicle="W-99"]', { timeout: 5000 });
      const r = await page.evaluate(() => {
        const el = document.querySelector('.veh[data-vehicle="W-99"]');
        const fresh = document.querySelector('.veh:not(.stale)[data-vehicle] .dot');
        const dot = getComputedStyle(el.querySelector('.dot'));
        return { opacity: +dot.opacity, border: dot.borderTopStyle, fresh: +getComputedStyle(fresh).opacity, title: el.title,
          stale: goldline.state.vehicles.get('W-99').stale };
      });
      if (!(r.stale && r.opacity < r.fresh && r.border === 'dashed')) throw new Error(JSON.stringify(r));
      return r.title.includes(await page.evaluate(() => I18N.t('stale')));
    });

    // ---- map layers ------------------------------------------------------------------------
    const api = (op, args) => page.evaluate(([o, a]) => goldline.state.api.request(o, a).then((r) => r, (e) => ({ error: e })), [op, args]);
    const layersReply = await api('map.layers');
    await check('hospitals (H1, H2) and stations from map.layers are drawn on the map', async () => {
      if (layersReply.error) throw new Error(`map.layers: ${JSON.stringify(layersReply.error)}`);
      const nh = layersReply.hospitals.length;
      const ns = layersReply.stations.length;
      if (!layersReply.hospitals.some((h) => h.id === 'H2') || nh < 2) throw new Error(`hospitals ${JSON.stringify(layersReply.hospitals.map((h) => h.id))}`);
      await page.waitForFunction(([a, b]) => document.querySelectorAll('.hosp[data-hospital]').length === a &&
        document.querySelectorAll('.station[data-station]').length === b, [nh, ns], { timeout: 10000 });
      return ns > 0;
    });
    const roadsReply = await api('map.roads', { max: 1 });
    if (roadsReply.error && roadsReply.error.code === 'EUNAVAILABLE') {
      console.log('# SKIP road layer: the test database has no road graph');
    } else {
      await check('the road layer is drawn from map.roads on its canvas (segments of the view, pixels on the canvas)', async () => {
        if (roadsReply.error) throw new Error(JSON.stringify(roadsReply.error));
        await page.waitForFunction(() => goldline.layers.counts().roads > 0, null, { timeout: 10000 });
        const c = await page.evaluate(() => goldline.layers.counts());
        const px = await page.evaluate(() => goldline.layers.roadPixels());
        if (!(c.roads <= roadsReply.total)) throw new Error(`${c.roads} segments drawn of ${roadsReply.total}`);
        if (!(px > 500)) throw new Error(`only ${px} road pixels on the canvas`);
        return true;
      });
    }
    await shot(page, 'layers');

    await check('a hospital put on diversion from its popup is drawn differently (and the server says so)', async () => {
      const h2 = layersReply.hospitals.find((h) => h.id === 'H2');
      await page.evaluate(([la, lo]) => goldline.map.map.setView([la, lo], 14), [h2.lat, h2.lon]);
      await page.click('.hosp[data-hospital="H2"] .h');
      await page.click('.hosp-pop button[data-field="on_diversion"]');
      await page.waitForSelector('.hosp.diversion[data-hospital="H2"][data-diversion="true"]', { timeout: 5000 });
      const look = await page.evaluate(() => {
        const st = (id) => getComputedStyle(document.querySelector(`.hosp[data-hospital="${id}"] .h`)).backgroundImage;
        return { h1: st('H1'), h2: st('H2'), h1div: document.querySelector('.hosp[data-hospital="H1"]').classList.contains('diversion') };
      });
      if (look.h1 === look.h2 || look.h1div) throw new Error(JSON.stringify(look));
      const after = await api('map.layers');
      return after.hospitals.find((h) => h.id === 'H2').on_diversion === true && after.hospitals.find((h) => h.id === 'H1').on_diversion === false;
    });
    await shot(page, 'diversion');

    await check('the coverage layer toggles: covered and uncovered demand points, the share in the legend', async () => {
      await page.evaluate(() => goldline.map.fitFleet.call(Object.assign(goldline.map, { fitted: false })));
      await page.check('.layer-ctl input[data-layer="coverage"]');
      await page.waitForFunction(() => { const c = goldline.layers.counts(); return c.covered + c.uncovered > 0; }, null, { timeout: 10000 });
      const c = await page.evaluate(() => goldline.layers.counts());
      const cov = await api('coverage', { points: true });
      if (cov.error) throw new Error(JSON.stringify(cov.error));
      const detail = cov.points_detail || [];
      const want = [detail.filter((p) => p.covered).length, detail.filter((p) => !p.covered).length];
      if (c.covered !== want[0] || c.uncovered !== want[1]) throw new Error(`drawn ${c.covered}/${c.uncovered}, API ${want}`);
      if (!(want[0] > 0 && want[1] > 0)) throw new Error(`covered ${want[0]}, uncovered ${want[1]}`);
      const legend = await page.$eval('#legend .lg-coverage', (el) => ({ share: +el.dataset.share, text: el.textContent }));
      if (Math.abs(legend.share - cov.share) > 1e-9 || !legend.text.includes(`${(100 * cov.share).toFixed(1)}%`)) throw new Error(JSON.stringify(legend));
      await shot(page, 'coverage');
      await page.uncheck('.layer-ctl input[data-layer="coverage"]');
      const off = await page.evaluate(() => goldline.layers.counts());
      return off.covered + off.uncovered === 0 && (await page.$('#legend .lg-coverage')) === null;
    });

    // ---- a call placed by clicking the map -------------------------------------------------
    const incidentId = await (async () => {
      let id = null;
      await check('clicking the map fills the location of the call', async () => {
        const box = await page.locator('#map').boundingBox();
        const pt = await page.evaluate(([la, lo]) => goldline.map.map.latLngToContainerPoint([la, lo]), [CLAT, CLON]);
        await page.mouse.click(box.x + pt.x, box.y + pt.y);
        const lat = parseFloat(await page.inputValue('#f-lat'));
        const lon = parseFloat(await page.inputValue('#f-lon'));
        if (!(Math.abs(lat - CLAT) < 0.002 && Math.abs(lon - CLON) < 0.002)) throw new Error(`got ${lat},${lon}`);
        return true;
      });
      await check('the call is created from the keyboard and ranked candidates are shown', async () => {
        await page.focus('#f-caller');
        await page.keyboard.type('13800138000');
        await page.selectOption('#f-priority', '2');
        await page.selectOption('#f-complaint', 'chest_pain');
        await page.fill('#f-address', '贵溪市 测试地址');
        await page.focus('#f-notes');
        await page.keyboard.press('Enter');
        await page.waitForSelector('#cand-body tr', { timeout: 5000 });
        const c = await page.evaluate(() => goldline.state.current);
        id = c.incident.id;
        const rows = await page.$$eval('#cand-body tr', (trs) => trs.map((tr) => tr.dataset.vehicle));
        const etas = c.candidates.map((x) => x.eta_s);
        if (!/^\d{8}-\d{4}$/.test(id)) throw new Error(`incident id ${id}`);
        if (rows.length < 1 || rows.length > 5) throw new Error(`${rows.length} rows`);
        if (rows.join() !== c.candidates.map((x) => x.vehicle).join()) throw new Error('rows differ from the reply');
        if (!etas.every((e, i) => i === 0 || etas[i - 1] <= e)) throw new Error('not ranked by ETA');
        if (!c.candidates.every((x) => x.kind === 'ALS')) throw new Error('a BLS unit recommended for chest pain');
        return (await page.textContent('#cand-for')).includes(id);
      });
      return id;
    })();
    await shot(page, 'candidates');

    // ---- candidate routes (issue 4: the recommendation shows the route) ---------------------
    await check('the first candidate\'s road route is drawn when the list appears (dashed blue, unlike assigned routes)', async () => {
      const first = await page.evaluate(() => goldline.state.current.candidates[0].vehicle);
      await page.waitForFunction((v) => { const p = goldline.layers.previewShown(); return p && p.vehicle === v; }, first, { timeout: 10000 });
      const els = await page.$$eval('path.route-candidate', (l) => l.map((e) => ({ v: e.dataset.vehicle, dash: e.getAttribute('stroke-dasharray'), stroke: e.getAttribute('stroke') })));
      if (els.length !== 1 || els[0].v !== first) throw new Error(`candidate routes drawn: ${JSON.stringify(els)}`);
      if (!els[0].dash || ['#e66101', '#7b3294'].includes(els[0].stroke)) throw new Error(`looks like an assigned route: ${JSON.stringify(els[0])}`);
      return (await page.$(`#cand-body tr.sel[data-vehicle="${first}"]`)) !== null;
    });
    await check('selecting the second candidate draws its route instead: from that unit along the roads to the scene', async () => {
      const c = await page.evaluate(() => goldline.state.current);
      if (c.candidates.length < 2) throw new Error(`only ${c.candidates.length} candidate(s)`);
      const v2 = c.candidates[1].vehicle;
      await page.click(`#cand-body tr[data-vehicle="${v2}"] td.unit`);
      await page.waitForFunction((v) => { const p = goldline.layers.previewShown(); return p && p.vehicle === v; }, v2, { timeout: 10000 });
      const p = await page.evaluate(() => goldline.layers.previewShown());
      const veh = await page.evaluate((v) => goldline.state.vehicles.get(v), v2);
      const d0 = metres(p.path[0], [veh.lat, veh.lon]);
      const d1 = metres(p.path[p.path.length - 1], [c.incident.lat, c.incident.lon]);
      if (!(d0 < 300 && d1 < 300)) throw new Error(`starts ${d0.toFixed(0)} m from ${v2}, ends ${d1.toFixed(0)} m from the scene`);
      if (!roadsReply.error && !(p.eta_method === 'road' && p.path.length > 2)) throw new Error(`${p.eta_method}, ${p.path.length} points: not along the roads`);
      const drawn = await page.$$eval('path.route-candidate', (l) => l.map((e) => e.dataset.vehicle));
      if (drawn.join() !== v2) throw new Error(`candidate routes on the map: ${drawn}`);
      return (await page.$(`#cand-body tr.sel[data-vehicle="${v2}"]`)) !== null && p.incident === c.incident.id;
    });
    // Closer, for the picture: the candidate's route, the scene and the units around it.
    await page.evaluate(() => { const p = goldline.layers.previewShown(); if (p) goldline.map.map.fitBounds(L.latLngBounds(p.path).pad(0.8)); });
    await page.waitForTimeout(400);
    await shot(page, 'candidate-route');

    await check(`a golden-time warning (${METRIC}) appears in the alerts panel and the clocks`, async () => {
      await page.waitForSelector(`#alerts li.alert.lvl-warning[data-metric="${METRIC}"][data-incident="${incidentId}"]`, { timeout: 20000 });
      await page.waitForSelector(`#clocks tr.clock-warning[data-metric="${METRIC}"], #clocks tr.clock-breached[data-metric="${METRIC}"]`, { timeout: 10000 });
      await page.waitForSelector('#timeline li.ev-golden_alert', { timeout: 5000 });
      return true;
    });
    await shot(page, 'golden-warning');

    let unit = null;
    let before = null;
    await check('key 1 assigns the first candidate', async () => {
      await page.focus('#cand-panel');
      await page.keyboard.press('1');
      await page.waitForFunction((id) => { const i = goldline.state.incidents.get(id); return i && i.state !== 'new' && i.vehicle; }, incidentId, { timeout: 5000 });
      const r = await page.evaluate((id) => ({ inc: goldline.state.incidents.get(id), first: goldline.state.current.candidates[0].vehicle }), incidentId);
      unit = r.inc.vehicle;
      before = await page.evaluate((v) => { const m = goldline.map.vehicles.get(v).marker; return { ll: m.getLatLng(), tr: m.getElement().style.transform }; }, unit);
      await page.waitForSelector('#cand-body tr.chosen', { timeout: 3000 });
      return unit === r.first;
    });
    await shot(page, 'assigned');

    await check('once a unit is assigned the candidate route is removed', async () => {
      await page.waitForFunction(() => goldline.layers.previewShown() === null && !document.querySelector('path.route-candidate'), null, { timeout: 5000 });
      return true;
    });

    await check('the road route of the assigned unit is drawn (to the scene, or on to the hospital)', async () => {
      await page.waitForSelector(`path.route[data-incident="${incidentId}"]`, { timeout: 15000 });
      const r = await page.evaluate((id) => { const rec = goldline.layers.routes.get(id); return { data: rec.data, pts: rec.line.getLatLngs().map((p) => [p.lat, p.lng]) }; }, incidentId);
      const inc = await page.evaluate((id) => goldline.state.incidents.get(id), incidentId);
      const h1 = layersReply.hospitals.find((h) => h.id === 'H1');
      const end = r.data.to === 'scene' ? [inc.lat, inc.lon] : [h1.lat, h1.lon];
      if (r.data.vehicle !== unit) throw new Error(`route of ${r.data.vehicle}, not ${unit}`);
      if (!(metres(r.pts[r.pts.length - 1], end) < 300)) throw new Error(`route ends ${metres(r.pts[r.pts.length - 1], end)} m from its ${r.data.to}`);
      if (!roadsReply.error && !(r.data.eta_method === 'road' && r.pts.length > 2)) throw new Error(`${r.data.eta_method}, ${r.pts.length} points: not along the roads`);
      return true;
    });
    await shot(page, 'route');

    await check('the assigned unit moves on the map (its marker changes position)', async () => {
      // Its position, not its drawing: a pan or zoom of the map moves the marker's pixels too,
      // and a standing unit's GPS jitter is a few metres.
      await page.waitForFunction(([v, ll]) => {
        const p = goldline.map.vehicles.get(v).marker.getLatLng();
        return Math.hypot(p.lat - ll.lat, p.lng - ll.lng) > 1e-5;
      }, [unit, before.ll], { timeout: 30000 }).catch(() => {});
      const after = await page.evaluate((v) => goldline.map.vehicles.get(v).marker.getLatLng(), unit);
      const moved = Math.hypot(after.lat - before.ll.lat, after.lng - before.ll.lng);
      if (!(moved > 1e-5)) throw new Error(`moved only ${moved} degrees`);
      return true;
    });
    await shot(page, 'unit-moving');

    await check('the unit\'s status events (en route, on scene) grow the timeline', async () => {
      const n0 = await page.$$eval('#timeline li', (l) => l.length);
      await page.waitForSelector('#timeline li.ev-status', { timeout: 20000 });
      await page.waitForFunction((n) => document.querySelectorAll('#timeline li').length > n, n0, { timeout: 40000 });
      return await page.evaluate((id) => goldline.state.timeline.filter((e) => e.kind === 'status').length >= 2, incidentId);
    });
    await shot(page, 'timeline');

    // ---- the destination and the operator's override (issue 8) ------------------------------
    const destEvents = async () => (await api('timeline', { incident: incidentId })).events.filter((e) => e.kind === 'destination');
    let dest0 = null;
    await check('once the chest-pain unit is on scene the detail shows the destination (H1, the PCI centre) and its reason; the timeline the event', async () => {
      await page.waitForFunction(() => goldline.state.timeline.some((e) => e.kind === 'destination'), null, { timeout: 60000 });
      const inc = await page.evaluate((id) => goldline.state.incidents.get(id), incidentId);
      if (!['on_scene', 'transporting', 'at_hospital'].includes(inc.state)) throw new Error(`incident ${inc.state}`);
      const evs = await destEvents();
      dest0 = evs[evs.length - 1];
      if (!dest0 || dest0.detail.override || dest0.detail.hospital !== 'H1' || !dest0.detail.reason) throw new Error(JSON.stringify(dest0));
      await page.waitForFunction(([h, why]) => { const el = document.getElementById('dest'); return el && el.dataset.hospital === h && el.textContent.includes(why); },
        [dest0.detail.hospital, dest0.detail.reason], { timeout: 5000 });
      const box = await page.$eval('#dest', (el) => ({ text: el.textContent, override: el.classList.contains('override') }));
      if (!box.text.includes(dest0.detail.name) || box.override) throw new Error(JSON.stringify(box));
      const li = await page.textContent('#timeline li.ev-destination');
      if (!li.includes(`→ ${dest0.detail.name}`) || !li.includes(dest0.detail.reason)) throw new Error(`timeline: ${li}`);
      return true;
    });
    await shot(page, 'destination');

    await check('F9 opens the destination form: every hospital of map.layers, the one on diversion (H2) marked', async () => {
      await page.focus('#cand-panel');
      await page.keyboard.press('F9');
      await page.waitForSelector('#dest-form:not([hidden])', { timeout: 3000 });
      if (!(await page.evaluate(() => document.activeElement.id === 'dest-hospital'))) throw new Error('F9 did not focus the hospital picker');
      await page.waitForFunction(() => { const o = document.querySelector('#dest-hospital option[value="H2"]'); return o && o.dataset.diversion === 'true'; }, null, { timeout: 5000 });
      const opts = await page.$$eval('#dest-hospital option', (l) => l.map((o) => ({ v: o.value, div: o.dataset.diversion, text: o.textContent })));
      if (opts.map((o) => o.v).sort().join() !== layersReply.hospitals.map((h) => h.id).sort().join()) throw new Error(`options ${opts.map((o) => o.v)}`);
      const mark = await page.evaluate(() => I18N.t('hosp_diversion'));
      const h2 = opts.find((o) => o.v === 'H2');
      const h1 = opts.find((o) => o.v === 'H1');
      return h2.text.includes(mark) && !h1.text.includes(mark) && h1.div === 'false';
    });

    await check('an override without a reason is refused: the page shows EINVAL and no destination event is recorded', async () => {
      const n0 = (await destEvents()).length;
      await page.selectOption('#dest-hospital', 'H2');
      await page.fill('#dest-reason', '');
      await page.press('#dest-reason', 'Enter');
      await page.waitForFunction(() => /EINVAL/.test(document.getElementById('dest-error').textContent), null, { timeout: 5000 });
      await page.waitForTimeout(500);
      const n1 = (await destEvents()).length;
      if (n1 !== n0) throw new Error(`${n1 - n0} destination event(s) recorded`);
      return (await page.isVisible('#dest-form')) && (await page.getAttribute('#dest', 'data-hospital')) === dest0.detail.hospital;
    });
    await shot(page, 'destination-no-reason');

    const REASON = '家属要求 (browser test)';
    await check('an override with a reason is recorded (override true, H2, what the rules recommended) and the detail shows it as an override', async () => {
      await page.fill('#dest-reason', REASON);
      await page.press('#dest-reason', 'Enter');
      await page.waitForSelector('#dest-form', { state: 'hidden', timeout: 5000 });
      const evs = await destEvents();
      const last = evs[evs.length - 1];
      if (!last || last.detail.hospital !== 'H2' || last.detail.override !== true || !String(last.detail.reason).includes(REASON)) throw new Error(JSON.stringify(last));
      if (last.detail.recommended !== dest0.detail.hospital) throw new Error(`recommended ${last.detail.recommended}`);
      await page.waitForSelector('#dest.override[data-hospital="H2"]', { timeout: 5000 });
      const mark = await page.evaluate(() => I18N.t('dest_override'));
      const text = await page.textContent('#dest');
      if (!text.includes(last.detail.name) || !text.includes(REASON) || !text.includes(mark)) throw new Error(`detail: ${text}`);
      const li = await page.textContent('#timeline li.ev-destination');   // newest first
      return li.includes(`→ ${last.detail.name}`) && li.includes(mark);
    });
    await shot(page, 'destination-override');

    await check('the crew is told: the fleet log has the Destination order (H2) for the unit', async () => {
      const log = path.join(ART, 'fleet.log');
      const want = `veh=${unit} inc=${incidentId} destination H2`;
      for (const until = Date.now() + 15000; Date.now() < until; await page.waitForTimeout(300)) {
        if (fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes(want)) return true;
      }
      throw new Error(`no "${want}" in ${log}`);
    });
    await shot(page, 'destination-crew-told');

    await check('"let the dispatcher choose again" records a new choice by the rules (H1, no override)', async () => {
      const n0 = (await destEvents()).length;
      await page.click('#dest-change');
      await page.click('#dest-rechoose');
      await page.waitForSelector('#dest:not(.override)[data-hospital="H1"]', { timeout: 5000 });
      const evs = await destEvents();
      const last = evs[evs.length - 1];
      if (evs.length !== n0 + 1 || last.detail.hospital !== 'H1' || last.detail.override) throw new Error(JSON.stringify(last));
      return await page.isHidden('#dest-form');
    });

    // ---- gazetteer and triage ------------------------------------------------------------------
    const placeAt = (name) => PLACES.find((p) => p.name === name);
    await check('gazetteer: F3, a Chinese substring, arrow down and Enter set the call\'s location to that place', async () => {
      await page.keyboard.press('F2');
      await page.keyboard.press('F3');
      if (!(await page.evaluate(() => document.activeElement.id === 'f-place'))) throw new Error('F3 did not focus the search');
      await page.keyboard.type('塘湾');
      await page.waitForFunction(() => document.querySelectorAll('#place-list li.place').length >= 2, null, { timeout: 5000 });
      const names = await page.$$eval('#place-list li.place', (l) => l.map((li) => li.dataset.name));
      const reply = await api('places.search', { q: '塘湾', limit: 8 });
      if (names.join() !== reply.places.map((p) => p.name).join()) throw new Error(`list ${names} vs reply ${reply.places.map((p) => p.name)}`);
      if (!names.every((n) => n.includes('塘湾'))) throw new Error(`not all contain 塘湾: ${names}`);
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      const want = placeAt(names[1]);
      const got = [parseFloat(await page.inputValue('#f-lat')), parseFloat(await page.inputValue('#f-lon'))];
      const pin = await page.evaluate(() => { const p = goldline.map.pin && goldline.map.pin.getLatLng(); return p && [p.lat, p.lng]; });
      if (!want || !(metres(got, [want.lat, want.lon]) < 2) || !pin || !(metres(pin, got) < 2)) throw new Error(`picked ${got}, pin ${pin}, want ${names[1]} ${want && [want.lat, want.lon]}`);
      return (await page.inputValue('#f-address')) === names[1];
    });
    await shot(page, 'gazetteer-substring');

    if (NO_INITIALS) {
      console.log('# SKIP gazetteer by pinyin initials: the database has no places.initials (migration 010)');
    } else {
      await check('gazetteer: pinyin initials (lhz) and Enter set the location to 罗河镇', async () => {
        await page.keyboard.press('F3');
        await page.keyboard.type('lhz');
        await page.waitForFunction(() => { const li = document.querySelector('#place-list li.place.active'); return li && li.dataset.name === '罗河镇'; }, null, { timeout: 5000 });
        await page.keyboard.press('Enter');
        const want = placeAt('罗河镇');
        const got = [parseFloat(await page.inputValue('#f-lat')), parseFloat(await page.inputValue('#f-lon'))];
        if (!(metres(got, [want.lat, want.lon]) < 2)) throw new Error(`picked ${got}`);
        return true;
      });
    }

    let triageId = null;
    await check('triage: y/n keys and Tab through the chest-pain questions set the suggested priority (P1, then P2)', async () => {
      await page.selectOption('#f-complaint', 'chest_pain');
      await page.focus('#triage .tq[data-q="conscious"]');
      await page.keyboard.press('y');
      await page.keyboard.press('y');
      const onNumber = await page.evaluate(() => document.activeElement.dataset.q);
      if (onNumber !== 'chest_pain_minutes') throw new Error(`focus on ${onNumber} after two answers`);
      await page.keyboard.type('40');
      await page.keyboard.press('Tab');
      await page.keyboard.press('y');
      const p1 = { select: await page.inputValue('#f-priority'), shown: await page.getAttribute('#triage-suggest', 'data-priority') };
      if (p1.select !== '1' || p1.shown !== '1') throw new Error(`with sweating: ${JSON.stringify(p1)}`);
      await page.keyboard.press('n');                  // heart disease: no (focus moved there)
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.press('n');                  // sweating or breathless: no
      const p2 = { select: await page.inputValue('#f-priority'), shown: await page.getAttribute('#triage-suggest', 'data-priority') };
      if (p2.select !== '2' || p2.shown !== '2') throw new Error(`without: ${JSON.stringify(p2)}`);
      return true;
    });
    await shot(page, 'triage');

    await check('the call carries the triage (protocol, answers, suggested priority) into its call_received event', async () => {
      await page.fill('#f-caller', '13700137000');
      await page.press('#f-caller', 'Enter');
      await page.waitForFunction((prev) => goldline.state.current && goldline.state.current.incident.id !== prev, incidentId, { timeout: 5000 });
      triageId = await page.evaluate(() => goldline.state.current.incident.id);
      const tl = await api('timeline', { incident: triageId });
      const ev = tl.events.find((e) => e.kind === 'call_received');
      const tri = ev && ev.detail && ev.detail.triage;
      const want = { conscious: true, breathing: true, chest_pain_minutes: 40, sweating_breathless: false, heart_disease: false };
      if (!tri) throw new Error(`call_received detail ${JSON.stringify(ev && ev.detail)}`);
      const canon = (o) => JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));
      if (tri.protocol !== 'chest_pain' || tri.priority !== 2 || canon(tri.answers || {}) !== canon(want)) throw new Error(JSON.stringify(tri));
      if (tl.incident.priority !== 2) throw new Error(`incident priority ${tl.incident.priority}`);
      return (await page.$$eval('#triage .tq[data-answer="yes"], #triage .tq[data-answer="no"]', (l) => l.length)) === 0;
    });

    // ---- a priority-1 call typed in: the auto-assign countdown --------------------------------
    await check('a priority-1 call shows an auto-assign countdown that counts down', async () => {
      await page.keyboard.press('F2');
      await page.keyboard.type('13900139000');
      await page.fill('#f-lat', `${(CLAT - 0.01).toFixed(5)}, ${(CLON + 0.01).toFixed(5)}`);
      await page.selectOption('#f-priority', '1');
      await page.selectOption('#f-complaint', 'stroke');
      await page.fill('#f-onset', '-20');
      await page.press('#f-onset', 'Enter');
      await page.waitForSelector('#countdown:not([hidden])', { timeout: 5000 });
      const num = async () => parseInt((await page.textContent('#countdown')).replace(/\D+/g, ' ').trim(), 10);
      const a = await num();
      await page.waitForTimeout(2200);
      const b = await num();
      if (!(a > 0 && b < a)) throw new Error(`countdown ${a} then ${b}`);
      const inc = await page.evaluate(() => goldline.state.current.incident);
      if (!inc.onset) throw new Error('onset not sent');
      return true;
    });
    await shot(page, 'countdown');

    await check('nobody acts: the call is auto-assigned and the timeline says so', async () => {
      await page.waitForSelector('#timeline li.ev-auto_assigned', { timeout: 30000 });
      return await page.isHidden('#countdown');
    });
    await shot(page, 'auto-assigned');

    await check('an alert is acknowledged at the dispatcher (alert_ack event with who), once', async () => {
      const n = await page.$$eval('#alerts li.alert:not(.acked)', (l) => l.length);
      const inc = await page.$eval('#alerts li.alert:not(.acked)', (li) => li.dataset.incident);
      await page.click('#alerts li.alert:not(.acked) button.ack');
      await page.waitForFunction((k) => document.querySelectorAll('#alerts li.alert:not(.acked)').length === k, n - 1);
      const tl = await page.evaluate((i) => goldline.state.api.request('timeline', { incident: i }), inc);
      const acks = tl.events.filter((e) => e.kind === 'alert_ack');
      const alert = acks.length === 1 && tl.events.find((e) => e.seq === acks[0].detail.alert);
      if (!alert || alert.kind !== 'golden_alert' || !/^operator/.test(acks[0].detail.by))
        throw new Error(`alert_ack events ${JSON.stringify(acks)}`);
      // A second acknowledgement of the same alert is refused: it was handled once.
      const again = await page.evaluate(([i, a]) => goldline.state.api.request('alert.ack', { incident: i, alert: a })
        .then(() => 'ok', (e) => e.code), [inc, acks[0].detail.alert]);
      return again === 'EDUP';
    });

    await check('F4 switches to English; the layout fits 1366x768 without scrolling', async () => {
      await page.focus('#cand-panel');
      await page.keyboard.press('F4');
      const title = await page.textContent('header h1');
      const fits = await page.evaluate(() => document.documentElement.scrollWidth <= 1366 && document.documentElement.scrollHeight <= 768);
      if (title !== '120 Dispatch Console') throw new Error(`title "${title}"`);
      return fits;
    });
    await shot(page, 'english');

    await check('a 4K wall display (3840x2160): scaled up, fits without scrolling', async () => {
      await page.setViewportSize({ width: 3840, height: 2160 });
      await page.waitForTimeout(800);
      const r = await page.evaluate(() => ({
        font: parseFloat(getComputedStyle(document.documentElement).fontSize),
        fits: document.documentElement.scrollWidth <= 3840 && document.documentElement.scrollHeight <= 2160,
        map: document.getElementById('map').getBoundingClientRect().width,
        dot: document.querySelector('.veh .dot').getBoundingClientRect().width,
      }));
      await shot(page, 'wall-3840x2160');
      await page.setViewportSize({ width: 1366, height: 768 });
      await page.waitForTimeout(300);
      await shot(page, 'console-1366x768');
      if (!(r.font >= 26 && r.map > 1800 && r.dot >= 28)) throw new Error(JSON.stringify(r));
      return r.fits;
    });

    // ---- users and roles (when the dispatcher has them: op user.add) -------------------------
    const pw = `pw-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const added = await page.evaluate(async (password) => {
      try {
        await goldline.state.api.request('user.add', { username: 'web-disp', password, role: 'dispatcher' });
        await goldline.state.api.request('user.add', { username: 'web-crew', password, role: 'crew' });
        await goldline.state.api.request('user.add', { username: 'web-ct', password, role: 'call_taker' });
        await goldline.state.api.request('user.add', { username: 'web-ed', password, role: 'ed', hospital: 'H1' });
        return 'ok';
      } catch (e) { return `${e.code} ${e.message}`; }
    }, pw);
    const loginAs = async (user) => {
      await page.click('#logout');
      await page.waitForSelector('#login-form', { state: 'visible' });
      await page.fill('#login-user', user);
      await page.fill('#login-password', pw);
      await page.press('#login-password', 'Enter');
      await page.waitForSelector('#login', { state: 'hidden', timeout: 10000 });
    };
    if (added !== 'ok') {
      console.log(`# SKIP user name and password logins: user.add refused (${added})`);
    } else {
      await check('a dispatcher logs in with user name and password and gets a session token', async () => {
        await loginAs('web-disp');
        const r = await page.evaluate(() => ({ info: goldline.state.api.info, cred: goldline.state.api.cred }));
        if (r.info.role !== 'dispatcher' || r.info.user !== 'web-disp') throw new Error(JSON.stringify(r.info));
        if (!r.cred || !r.cred.session || r.cred.password) throw new Error('no session token kept (or the password kept)');
        return (await page.textContent('#who')).includes('dispatcher');
      });
      await shot(page, 'dispatcher-login');
      await check('a crew user (a role without call-taking rights) gets a read-only view, and the server refuses its call.new', async () => {
        await loginAs('web-crew');
        const ui = await page.evaluate(() => ({ intake: !document.getElementById('intake').hidden, note: !document.getElementById('readonly-note').hidden,
          assign: document.querySelectorAll('button.assign, #cancel-inc, #dest-change').length }));
        if (ui.intake || !ui.note || ui.assign) throw new Error(JSON.stringify(ui));
        const r = await api('call.new', { lat: CLAT, lon: CLON, complaint: 'other' });
        if (!r.error || r.error.code !== 'EACCES') throw new Error(`call.new: ${JSON.stringify(r)}`);
        return true;
      });
      await shot(page, 'crew-readonly');

      await check('a call-taker takes a call and sees candidates, but no assign button, and key 1 assigns nothing (no destination change: F9)', async () => {
        await loginAs('web-ct');
        await page.keyboard.press('F2');
        await page.keyboard.type('13600136000');
        await page.fill('#f-lat', `${(CLAT + 0.006).toFixed(5)}, ${(CLON - 0.006).toFixed(5)}`);
        await page.selectOption('#f-complaint', 'other');
        await page.selectOption('#f-priority', '3');
        await page.press('#f-lat', 'Enter');
        await page.waitForSelector('#cand-body tr', { timeout: 5000 });
        const id = await page.evaluate(() => goldline.state.current.incident.id);
        if ((await page.$$('#cand-body button.assign')).length !== 0) throw new Error('an assign button is offered');
        await page.evaluate(() => {
          const a = goldline.state.api;
          const orig = a.request.bind(a);
          window.__ops = [];
          a.request = (op, args) => { window.__ops.push(op); return orig(op, args); };
        });
        await page.focus('#cand-panel');
        await page.keyboard.press('1');
        await page.keyboard.press('Alt+1');
        await page.keyboard.press('F9');
        await page.waitForTimeout(1500);
        const ops = await page.evaluate(() => window.__ops);
        const inc = await api('incident', { incident: id });
        if (ops.includes('assign')) throw new Error('an assign request was sent');
        if ((await page.$('#dest-change')) || !(await page.isHidden('#dest-form'))) throw new Error('a call-taker is offered the destination change');
        if (inc.incident.state !== 'new' || inc.incident.vehicle) throw new Error(`incident ${inc.incident.state} ${inc.incident.vehicle}`);
        return true;
      });
      await shot(page, 'call-taker');

      await check('an ED user signing in at the console is sent to the ED board (ed.html)', async () => {
        await loginAs('web-ed').catch(() => {});
        await page.waitForURL(/\/console\/ed\.html$/, { timeout: 10000 });
        return true;
      });
    }

    await check('nothing was fetched from another host (no CDN, no tiles)', async () => {
      if (foreign.length) throw new Error(foreign.slice(0, 3).join(' '));
      return true;
    });
    await check('no script errors in the page', async () => {
      if (pageErrors.length) throw new Error(pageErrors.slice(0, 3).join(' | '));
      return true;
    });
  } finally {
    await browser.close();
  }
}

main().then(() => {
  console.log(`# console.test.js: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}, (e) => {
  console.log(`not ok - the browser test crashed: ${e.message}`);
  process.exit(1);
});
