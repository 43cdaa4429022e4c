#!/usr/bin/env node
// Drives the operator console (console/web) in Debian's chromium, headless, through
// playwright-core, against the real dispatcher, PostGIS and simulated fleet that run.sh starts.
// Each step saves a screenshot to $GL_ART/NN-step.png and prints "ok - ..." or "not ok - ...";
// run.sh counts them. Environment: GL_URL (http://127.0.0.1:PORT), GL_TOKEN_FILE (the operator
// token), GL_ART (the artefacts folder), GL_UNITS (how many simulated units), GL_CENTER
// ("lat,lon": where the first call is placed), GL_ALERT_METRIC (the short golden metric that
// run.sh inserted: it must warn within seconds of a call nobody assigns).
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

    await check('the assigned unit moves on the map (its marker changes position)', async () => {
      await page.waitForFunction(([v, tr]) => goldline.map.vehicles.get(v).marker.getElement().style.transform !== tr,
        [unit, before.tr], { timeout: 30000 });
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

    await check('an alert can be acknowledged', async () => {
      const n = await page.$$eval('#alerts li.alert:not(.acked)', (l) => l.length);
      await page.click('#alerts li.alert:not(.acked) button.ack');
      return (await page.$$eval('#alerts li.alert:not(.acked)', (l) => l.length)) === n - 1;
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

    // ---- users and roles (when the dispatcher has them: op user.add) -------------------------
    const pw = `pw-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const added = await page.evaluate(async (password) => {
      try {
        await goldline.state.api.request('user.add', { username: 'web-disp', password, role: 'dispatcher' });
        await goldline.state.api.request('user.add', { username: 'web-crew', password, role: 'crew' });
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
      await check('a crew user (a role without call-taking rights) is refused a new call', async () => {
        await loginAs('web-crew');
        await page.fill('#f-lat', `${CLAT}, ${CLON}`);
        await page.press('#f-lat', 'Enter');
        await page.waitForFunction(() => /EACCES/.test(document.getElementById('intake-error').textContent), null, { timeout: 5000 });
        return true;
      });
      await shot(page, 'crew-refused');
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
