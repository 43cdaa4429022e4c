#!/usr/bin/env node
// Drives the ED arrivals board (console/web/pages/ed.html) in Debian's chromium, headless,
// through playwright-core, against the real dispatcher and PostGIS that ed_run.sh prepared:
// two hospitals, an ED user for each, patients bound for hospital A. The ECG comes from
// gl-ecg-sender (tests/browser/ecg_sender.c), started here so that the board is already
// subscribed when the first frame leaves the unit; the checksum and sample count the sender
// prints must equal what the page received (window.__edTest).
//
// Environment (set by ed_run.sh): GL_URL, GL_ART (screenshots ed-NN-step.png), GL_SENDER (the
// sender binary), GL_UPLINK (uplink URL), GL_CTL (a command that runs goldlinectl with the
// operator token), GL_USER_A / GL_PASS_A / GL_USER_B / GL_PASS_B, GL_STREAMS (JSON array of
// {incident, vehicle, key, source, args}: one sender each), GL_STEMI (incident with a STEMI
// pre-alert), GL_LVO (incident with an LVO pre-alert), GL_SECONDS (stream length), GL_HOSP_A /
// GL_HOSP_B (the two hospitals' ids); the exported shell function psql_q (tests/integration/
// lib.sh) reads the hospitals' rows.
//
// At the end, the hospital's own status bar (issue 7): going on diversion asks first (Cancel
// changes nothing), then re-routes A's patients to B (B's inbound lists them, A's board drops
// them, vitals.stop reaches A); "cath lab not ready" changes A's row; goldlinectl hospital
// status (the operator) changes it back and the bar follows; A may not set B's status (EACCES).
//
// Golden time (issue 7, "Clocks"; GL_ALERT_METRIC is the short test metric ed_run.sh seeded,
// first_medical_contact -> handover, warning at 4 s, target 10 s): each card's clocks are the
// ones op `clocks` reports running or waiting, with matching elapsed times, and the not
// applicable ones are not shown; first_medical_contact recorded for the STEMI patient brings the
// warning, then the breach, to A's board within seconds (pushed, on the card and in the list at
// the top), never to B's; A's "acknowledge" is recorded by the dispatcher (an alert_ack event by
// eda; the board would keep it locally only if refused); the operator's acknowledgement (an
// alert_ack event) shows on A's board with who. The exported shell function api (ed_run.sh)
// sends the operator's alert.ack.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn, execFileSync } = require('child_process');
const { chromium } = require('playwright-core');

const URL_BASE = process.env.GL_URL || 'http://127.0.0.1:22080';
const ART = process.env.GL_ART || path.join(__dirname, '../artifacts/browser');
const STREAMS = JSON.parse(process.env.GL_STREAMS || '[]');
const SECONDS = +(process.env.GL_SECONDS || 20);
const STEMI = process.env.GL_STEMI;
const LVO = process.env.GL_LVO;
const METRIC = process.env.GL_ALERT_METRIC || 'ed_test_fmc_to_handover';
const LIVE = ['running', 'warning', 'breached'];

let passed = 0;
let failed = 0;
let step = 0;
function ok(desc) { passed++; console.log(`ok - ${desc}`); }
function nok(desc, why) { failed++; console.log(`not ok - ${desc}${why ? `: ${why}` : ''}`); }

async function shot(page, name) {
  step++;
  await page.screenshot({ path: path.join(ART, `ed-${String(step).padStart(2, '0')}-${name}.png`) });
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

/* goldlinectl with the operator token (GL_CTL is "path/to/goldlinectl --url ... --token-file ..."). */
function ctl(...args) {
  const [cmd, ...base] = process.env.GL_CTL.split(' ');
  return JSON.parse(execFileSync(cmd, [...base, ...args], { encoding: 'utf8' }));
}

/* One value from the database (psql_q of tests/integration/lib.sh, exported by ed_run.sh). */
function db(sql) {
  return execFileSync('bash', ['-c', 'psql_q "$1"', '_', sql], { encoding: 'utf8' }).trim();
}
/* One API request as the operator (api of ed_run.sh); the reply, or a throw when refused. */
function opApi(op, args) {
  return JSON.parse(execFileSync('bash', ['-c', 'api "$1" "$2"', '_', op, JSON.stringify(args)], { encoding: 'utf8' }));
}
/* HA's status row as "cath_lab_ready/ct_ready/on_diversion", e.g. "t/t/f". */
function hospitalRow(id) {
  return db(`SELECT cath_lab_ready || '/' || ct_ready || '/' || on_diversion FROM hospitals WHERE id = '${id}'`)
    .replace(/true/g, 't').replace(/false/g, 'f');
}
/* Polls fn() every 250 ms until it returns true or `ms` pass; then returns its last value. */
async function until(fn, ms) {
  const end = Date.now() + ms;
  let v = await fn();
  while (v !== true && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 250));
    v = await fn();
  }
  return v;
}

/* Starts one gl-ecg-sender; resolves with {code, samples, checksum, out}. */
function runSender(s) {
  const args = ['--uplink', process.env.GL_UPLINK, '--vehicle', s.vehicle, '--incident', s.incident,
    '--source', s.source, '--seconds', String(SECONDS), ...(s.key ? ['--key-file', s.key] : []), ...(s.args || [])];
  return new Promise((resolve) => {
    const p = spawn(process.env.GL_SENDER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code) => {
      const m = /samples (\d+) checksum (0x[0-9a-f]{8})/.exec(out);
      resolve({ code, out: out.trim(), err: err.trim(), samples: m ? +m[1] : null, checksum: m ? m[2] : null });
    });
  });
}

async function login(page, user, pass) {
  await page.goto(`${URL_BASE}/console/ed.html`);
  await page.waitForSelector('#login-form', { state: 'visible' });
  await page.fill('#login-user', user);
  await page.fill('#login-password', pass);
  await page.click('#login-submit');
  await page.waitForSelector('#login', { state: 'hidden', timeout: 10000 });
}

/* Dark ink pixels of a patient's ECG canvas (the trace is #111; the grid is light red). */
function inkPixels(page, incident) {
  return page.evaluate((id) => {
    const c = document.querySelector(`article[data-incident="${id}"] canvas`);
    if (!c) return -1;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] < 80 && d[i + 1] < 80 && d[i + 2] < 80) n++;
    return n;
  }, incident);
}

async function main() {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
  const ctxA = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const ctxB = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const pageA = await ctxA.newPage();
  const pageB = await ctxB.newPage();
  const foreign = [];
  const pageErrors = [];
  for (const p of [pageA, pageB]) {
    p.on('request', (r) => { const u = new URL(r.url()); if (!['127.0.0.1', 'localhost'].includes(u.hostname) && u.protocol !== 'data:') foreign.push(r.url()); });
    p.on('pageerror', (e) => pageErrors.push(String(e)));
    p.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  }
  const ids = STREAMS.map((s) => s.incident);

  try {
    await check('the ED board page is served with its scripts and i18n', async () => {
      const resp = await pageA.goto(`${URL_BASE}/console/ed.html`);
      if (!resp.ok()) throw new Error(`HTTP ${resp.status()}`);
      await pageA.waitForSelector('#login-form', { state: 'visible' });
      return await pageA.evaluate(() => !!window.__edTest && !!window.EdEcg && document.title.length > 0);
    });

    await check('a wrong password is refused and the login stays up', async () => {
      await pageA.fill('#login-user', process.env.GL_USER_A);
      await pageA.fill('#login-password', 'not-the-password');
      await pageA.click('#login-submit');
      await pageA.waitForFunction(() => /EACCES|EAGAIN/.test(document.getElementById('login-error').textContent), null, { timeout: 10000 });
      return await pageA.isVisible('#login');
    });
    await shot(pageA, 'login-refused');

    await check('ED user A logs in and the board lists the inbound patients', async () => {
      await login(pageA, process.env.GL_USER_A, process.env.GL_PASS_A);
      await pageA.waitForFunction((want) => want.every((id) => window.__edTest.board().includes(id)), ids, { timeout: 10000 });
      return true;
    });
    await check('vitals.subscribe (every patient bound for A) is accepted', async () => {
      await pageA.waitForFunction(() => window.__edTest.subscribed(), null, { timeout: 5000 });
      return true;
    });
    await check('each card shows an ETA countdown that counts down', async () => {
      const read = () => pageA.evaluate((want) => want.map((id) => document.querySelector(`article[data-incident="${id}"] .eta-v`).textContent), ids);
      // The server recomputes the ETA at every poll (5 s) from the unit's fix: a pair of
      // readings across a poll may go up; one within a poll must go down.
      const secs = (s) => { const m = /^(\d+):(\d\d)$/.exec(s); return m ? +m[1] * 60 + +m[2] : NaN; };
      const seen = [];
      for (let k = 0; k < 4; k++) {
        const a = await read();
        await pageA.waitForTimeout(1200);
        const b = await read();
        seen.push(`${a} -> ${b}`);
        if (a.every((x, i) => secs(x) > 0 && secs(b[i]) < secs(x))) return true;
      }
      throw new Error(seen.join('; '));
    });
    await check('the case, age and sex from the crew\'s patient record are shown', async () => {
      const txt = await pageA.evaluate((id) => document.querySelector(`article[data-incident="${id}"] .who`).textContent, STEMI);
      if (!/62/.test(txt) || !/男|male/.test(txt) || !/胸痛|Chest pain/.test(txt)) throw new Error(txt);
      return true;
    });
    if (LVO) {
      await check('stroke scale results are listed', async () => {
        const txt = await pageA.evaluate((id) => document.querySelector(`article[data-incident="${id}"] .scales`).textContent, LVO);
        if (!/BE-FAST/.test(txt) || !/RACE/.test(txt)) throw new Error(txt);
        return true;
      });
    }
    await check('STEMI pre-alert with the cath lab button', () =>
      pageA.isVisible(`article[data-incident="${STEMI}"] .prealert.stemi button.cath_lab_activated`));
    if (LVO) {
      await check('LVO pre-alert with the stroke team button', () =>
        pageA.isVisible(`article[data-incident="${LVO}"] .prealert.lvo button.stroke_team_activated`));
    }
    await shot(pageA, 'board');

    await check('ED user B (the other hospital) logs in to an empty board', async () => {
      await login(pageB, process.env.GL_USER_B, process.env.GL_PASS_B);
      await pageB.waitForTimeout(1500);
      const board = await pageB.evaluate(() => window.__edTest.board());
      if (board.length) throw new Error(`B lists ${board}`);
      return await pageB.isVisible('#empty');
    });

    // The units stream; the boards watch.
    const senders = Promise.all(STREAMS.map(runSender));
    await pageA.waitForTimeout(Math.min(8000, SECONDS * 500));
    await check('the relay streams both patients to A once the units send', async () => {
      await pageA.waitForFunction((want) => want.every((id) => window.__edTest.streaming().includes(id)), ids, { timeout: 5000 });
      return true;
    });
    await check('numerics arrive and are shown (HR, SpO2, RR, EtCO2)', async () => {
      for (const id of ids) {
        const v = await pageA.evaluate((i) => window.__edTest.vitals(i), id);
        for (const code of [147842, 150456, 151562, 151708]) if (typeof v[code] !== 'number') throw new Error(`${id}: no ${code}`);
        const hr = await pageA.evaluate((i) => document.querySelector(`article[data-incident="${i}"] .tile[data-code="147842"] .value`).textContent, id);
        if (!/^\d+$/.test(hr)) throw new Error(`${id}: HR tile "${hr}"`);
      }
      return true;
    });
    const alarmed = STREAMS.find((s) => s.alarm);
    if (alarmed) {
      await check('HR > 120 and SpO2 < 90 are in the alarm colour, normal values are not', async () => {
        const cls = await pageA.evaluate((i) => [...document.querySelectorAll(`article[data-incident="${i}"] .tile`)]
          .map((t) => [t.dataset.code, t.classList.contains('alarm'), t.querySelector('.value').textContent]), alarmed.incident);
        const v = await pageA.evaluate((i) => window.__edTest.vitals(i), alarmed.incident);
        const get = (c) => cls.find((x) => x[0] === String(c));
        // the tile is an alarm exactly when the value is outside the documented limits
        const hrOut = v[147842] < 50 || v[147842] > 120;
        const spo2Out = v[150456] < 90;
        const rrOut = v[151562] < 8 || v[151562] > 30;
        if (get(147842)[1] !== hrOut || get(150456)[1] !== spo2Out || get(151562)[1] !== rrOut) throw new Error(JSON.stringify({ cls, v }));
        return hrOut && spo2Out;
      });
    }
    await check('the 12-lead ECG is drawn on the canvas at 25 mm/s, 10 mm/mV (3.78 px/mm)', async () => {
      const scale = await pageA.evaluate(() => [window.EdEcg.PX_PER_MM, window.EdEcg.MM_PER_S, window.EdEcg.MM_PER_MV]);
      if (Math.abs(scale[0] - 3.7795) > 0.001 || scale[1] !== 25 || scale[2] !== 10) throw new Error(String(scale));
      for (const id of ids) {
        const ink = await inkPixels(pageA, id);
        if (ink < 2000) throw new Error(`${id}: ${ink} ink pixels`);
      }
      return true;
    });
    await shot(pageA, 'streaming');
    if (STREAMS.length) {
      await pageA.evaluate((id) => document.querySelector(`article[data-incident="${id}"]`).scrollIntoView(), STREAMS[0].incident);
      await pageA.locator(`article[data-incident="${STREAMS[0].incident}"] canvas`).screenshot({ path: path.join(ART, `ed-${String(++step).padStart(2, '0')}-ecg-${STREAMS[0].source}.png`) });
    }

    const results = await senders;
    await pageA.waitForTimeout(1500);
    for (let i = 0; i < STREAMS.length; i++) {
      const s = STREAMS[i];
      const r = results[i];
      await check(`gl-ecg-sender (${s.source}, ${s.incident}) streamed ${SECONDS} s and printed its checksum`, () => {
        if (r.code !== 0 || r.samples === null) throw new Error(`exit ${r.code}: ${r.out} ${r.err}`);
        return r.samples > 0;
      });
      await check(`A's page got every sample of ${s.incident} (${s.source}): count and FNV-1a checksum equal the sender's`, async () => {
        const got = await pageA.evaluate((id) => ({ samples: window.__edTest.samples(id), checksum: window.__edTest.checksum(id),
          frames: window.__edTest.frames(id), gaps: window.__edTest.gaps(id), holes: window.__edTest.holes(id) }), s.incident);
        if (got.samples !== r.samples || got.checksum !== r.checksum)
          throw new Error(`page ${JSON.stringify(got)} vs sender ${r.samples} ${r.checksum}`);
        return got.gaps === 0 && got.holes === 0;
      });
      await check(`B's page got nothing of ${s.incident}`, async () => {
        const n = await pageB.evaluate((id) => window.__edTest.samples(id) + window.__edTest.frames(id), s.incident);
        const v = await pageB.evaluate((id) => Object.keys(window.__edTest.vitals(id)).length, s.incident);
        if (n || v) throw new Error(`${n} samples+frames, ${v} numerics`);
        return !(await pageB.evaluate((id) => window.__edTest.board().includes(id), s.incident));
      });
    }
    await check('when the frames stop, the strip says so (not shown as live)', async () => {
      await pageA.waitForFunction((id) => document.querySelector(`article[data-incident="${id}"]`).classList.contains('ecg-quiet'), STEMI, { timeout: 6000 });
      return true;
    });
    await check('an ecg.gap marker is drawn as a shaded gap on the strip', async () => {
      // A marker as the relay sends it to a session that fell behind (this session did not fall
      // behind, so it is handed to the page's event handler): 0.5 s, 1.5 s before the newest.
      const rects = await pageA.evaluate(async (id) => {
        const tr = window.__edTest.state.traces.get(id);
        const before = window.__edTest.gaps(id);
        window.__edTest.state.api.emit('ecg.gap', { event: 'ecg.gap', incident: id, vehicle: 'x',
          first_sample_index: tr.newest - 1.5 * tr.fs, first_sample_ms: 0, samples: tr.fs / 2 });
        await new Promise((r) => setTimeout(r, 300));
        const c = document.querySelector(`article[data-incident="${id}"] canvas`);
        return { n: window.__edTest.gaps(id) - before, rects: c._gapRects, mm: window.EdEcg.PX_PER_MM * 25 / 2 };
      }, STEMI);
      // two columns, each 0.5 s wide at 25 mm/s (12.5 mm = 47 px)
      if (rects.n !== 1 || rects.rects.length !== 2 || rects.rects.some(([, w]) => Math.abs(w - rects.mm) > 1))
        throw new Error(JSON.stringify(rects));
      await pageA.locator(`article[data-incident="${STEMI}"] canvas`).screenshot({ path: path.join(ART, `ed-${String(++step).padStart(2, '0')}-ecg-gap.png`) });
      return true;
    });
    await check('vitals.stats: the relay sent A what the page counted and dropped nothing', async () => {
      const st = await pageA.evaluate(() => window.__edTest.state.api.request('vitals.stats'));
      const frames = await pageA.evaluate((want) => want.reduce((a, id) => a + window.__edTest.frames(id), 0), ids);
      if (st.frames_sent !== frames || st.frames_dropped !== 0) throw new Error(JSON.stringify(st) + ` page frames ${frames}`);
      return true;
    });
    await check('B\'s relay counters are zero', async () => {
      const st = await pageB.evaluate(() => window.__edTest.state.api.request('vitals.stats'));
      if (st.frames_sent !== 0 || st.numerics_sent !== 0) throw new Error(JSON.stringify(st));
      return true;
    });
    await shot(pageB, 'board-b-empty');

    // ---- golden time (issue 7, "Clocks") ----
    /* The clocks a card shows: [{metric, state, elapsed (s, live ones), cls}]. */
    const shownClocks = (page, id) => page.evaluate((i) => [...document.querySelectorAll(`article[data-incident="${i}"] .golden [data-metric]`)]
      .map((e) => ({ metric: e.dataset.metric, state: e.dataset.state, elapsed: e.dataset.elapsed === undefined ? null : +e.dataset.elapsed,
        cls: e.className, text: e.textContent })), id);
    /* Compares a card with op clocks (asked as the operator now): the running and waiting
     * metrics (not the call centre's own waiting ones), none else, elapsed within 3 s. */
    const sameClocks = async (id) => {
      await pageA.waitForSelector(`article[data-incident="${id}"] .golden .gclock`, { timeout: 12000 });
      const t0 = Date.now();
      const srv = ctl('clocks', id).clocks;
      const dom = await shownClocks(pageA, id);
      const lag = (Date.now() - t0) / 1000;
      const want = srv.filter((c) => LIVE.includes(c.state) || (c.state === 'waiting' && !/^(call|dispatch)_/.test(c.metric)))
        .map((c) => c.metric).sort();
      const got = dom.map((d) => d.metric).sort();
      if (JSON.stringify(want) !== JSON.stringify(got)) throw new Error(`page ${got}, op clocks ${want}`);
      for (const c of srv.filter((x) => LIVE.includes(x.state))) {
        const d = dom.find((x) => x.metric === c.metric);
        if (d.state === 'waiting' || Math.abs(d.elapsed - c.elapsed_s) > 3 + lag)
          throw new Error(`${c.metric}: page ${d.state} ${d.elapsed} s, op clocks ${c.state} ${c.elapsed_s} s`);
      }
      return { srv, dom };
    };
    await check('the STEMI card shows its clocks as op clocks has them (FMC to ECG and to wire running, door to wire waiting, stroke ones hidden)', async () => {
      const { srv, dom } = await sameClocks(STEMI);
      const st = (m) => (dom.find((d) => d.metric === m) || {}).state;
      const fmc = srv.find((c) => c.metric === 'fmc_to_ecg');
      if (!LIVE.includes(st('fmc_to_ecg')) || !LIVE.includes(st('fmc_to_wire')) || st('door_to_wire') !== 'waiting')
        throw new Error(JSON.stringify(dom));
      // a metric that does not apply is absent from the reply or not_applicable, and never shown
      if (dom.some((d) => d.metric === 'door_to_ct') || !['not_applicable', undefined].includes((srv.find((c) => c.metric === 'door_to_ct') || {}).state))
        throw new Error('door_to_ct is shown or applies to the STEMI case');
      // since the unit reported on scene (before the boards opened), not a made-up number
      return fmc.elapsed_s > 0 && fmc.elapsed_s < 900;
    });
    if (LVO) {
      await check('the stroke card shows onset to needle / puncture (the treatment window left) and door to CT waiting', async () => {
        const { dom } = await sameClocks(LVO);
        const needle = dom.find((d) => d.metric === 'onset_to_needle');
        const ct = dom.find((d) => d.metric === 'door_to_ct');
        // the onset was set 40 minutes before the call
        if (!needle || needle.elapsed < 2400 || needle.elapsed > 2400 + 900 || !/window|时间窗/.test(needle.text) || !/\bwindow\b/.test(needle.cls))
          throw new Error(JSON.stringify(needle));
        if (!ct || ct.state !== 'waiting' || !dom.some((d) => d.metric === 'onset_to_puncture')) throw new Error(JSON.stringify(dom));
        return !dom.some((d) => d.metric === 'fmc_to_wire');
      });
    }
    await check('a running clock ticks each second between refreshes', async () => {
      const one = async () => (await shownClocks(pageA, STEMI)).find((d) => d.metric === 'fmc_to_ecg').elapsed;
      const a = await one();
      await pageA.waitForTimeout(2100);
      const b = await one();
      if (!(b - a >= 1 && b - a <= 4)) throw new Error(`${a} -> ${b}`);
      return true;
    });
    const alertSel = (level) => `article[data-incident="${STEMI}"] .galert.lvl-${level}[data-metric="${METRIC}"]`;
    let fmcAt = 0;
    await check(`first medical contact: the golden-time warning (${METRIC}) reaches A's board within seconds, pushed, on the card and at the top`, async () => {
      fmcAt = Date.now();
      ctl('event', STEMI, 'first_medical_contact');
      await pageA.waitForSelector(alertSel('warning'), { timeout: 15000 });
      const secs = (Date.now() - fmcAt) / 1000;
      await pageA.waitForSelector(`#galerts li.galert.lvl-warning[data-incident="${STEMI}"][data-metric="${METRIC}"] button.gack`, { timeout: 3000 });
      const a = (await pageA.evaluate(() => window.__edTest.alerts())).find((x) => x.metric === METRIC && x.level === 'warning');
      const ev = ctl('timeline', STEMI).events.find((e) => e.kind === 'golden_alert' && e.detail.metric === METRIC && e.detail.level === 'warning');
      if (!a || !ev || a.seq !== ev.seq || !a.pushed) throw new Error(`page ${JSON.stringify(a)}, timeline ${JSON.stringify(ev)}`);
      if (secs > 12) throw new Error(`${secs} s after first medical contact`);
      console.log(`# the warning was on A's board ${secs.toFixed(1)} s after first medical contact (warning threshold 4 s)`);
      return true;
    });
    await check('then the breach, and the card\'s clock of that metric turns breached', async () => {
      await pageA.waitForSelector(alertSel('breach'), { timeout: 15000 });
      await pageA.waitForSelector(`article[data-incident="${STEMI}"] .golden .gclock.st-breached[data-metric="${METRIC}"]`, { timeout: 5000 });
      const d = (await shownClocks(pageA, STEMI)).find((x) => x.metric === METRIC);
      const since = (Date.now() - fmcAt) / 1000;
      if (d.elapsed < 10 || d.elapsed > since + 2) throw new Error(`elapsed ${d.elapsed} s, ${since} s since first medical contact`);
      return await pageA.isVisible(`#galerts li.galert.lvl-breach[data-incident="${STEMI}"]`);
    });
    await check('B\'s board shows no golden-time alert of A\'s patient', async () => {
      const n = await pageB.evaluate(() => window.__edTest.alerts().length);
      const dom = await pageB.evaluate(() => document.querySelectorAll('.galert').length);
      if (n || dom) throw new Error(`${n} alerts, ${dom} shown`);
      return await pageB.isHidden('#galerts');
    });
    await pageA.evaluate((id) => document.querySelector(`article[data-incident="${id}"]`).scrollIntoView(), STEMI);
    await shot(pageA, 'clocks');
    await check('A acknowledges the warning: recorded by the dispatcher (alert_ack by eda)', async () => {
      await pageA.click(`#galerts li.galert.lvl-warning[data-incident="${STEMI}"] button.gack`);
      await pageA.waitForSelector(`${alertSel('warning')}.acked`, { timeout: 5000 });
      await pageA.waitForTimeout(500);
      const a = (await pageA.evaluate(() => window.__edTest.alerts())).find((x) => x.metric === METRIC && x.level === 'warning');
      const ack = ctl('timeline', STEMI).events.find((e) => e.kind === 'alert_ack' && e.detail.alert === a.seq);
      const txt = await pageA.textContent(`${alertSel('warning')} .gacked`);
      // alert.ack is permitted to ED users for their hospital's patients (dispatcher/auth.c);
      // the board's local fallback (an EACCES) must not be what happened.
      if (!ack) throw new Error(`no alert_ack event for seq ${a.seq}; board says "${txt}"`);
      return !a.local && /^eda/.test(ack.detail.by);
    });
    await check('B may not acknowledge an alert of A\'s patient (ENOENT: not even that it exists)', async () => {
      const a = (await pageA.evaluate(() => window.__edTest.alerts())).find((x) => x.metric === METRIC && x.level === 'breach');
      const code = await pageB.evaluate(([inc, seq]) => window.__edTest.state.api.request('alert.ack', { incident: inc, alert: seq })
        .then(() => 'accepted', (e) => e.code), [STEMI, a.seq]);
      if (code !== 'ENOENT') throw new Error(code);
      return !ctl('timeline', STEMI).events.some((e) => e.kind === 'alert_ack' && e.detail.alert === a.seq);
    });
    await check('the operator acknowledges the breach (alert.ack): A\'s board shows it acknowledged, by whom', async () => {
      const a = (await pageA.evaluate(() => window.__edTest.alerts())).find((x) => x.metric === METRIC && x.level === 'breach');
      const r = opApi('alert.ack', { incident: STEMI, alert: a.seq });
      if (!r.ok) throw new Error(JSON.stringify(r));
      await pageA.waitForSelector(`${alertSel('breach')}.acked`, { timeout: 5000 });
      const got = (await pageA.evaluate(() => window.__edTest.alerts())).find((x) => x.seq === a.seq);
      const txt = await pageA.textContent(`${alertSel('breach')} .gacked`);
      if (got.local || !/^operator/.test(got.by || '') || !/operator/.test(txt)) throw new Error(`${JSON.stringify(got)} "${txt}"`);
      return await pageA.isHidden('#galerts');
    });
    await shot(pageA, 'clocks-acked');

    await check('"activate cath lab" records cath_lab_activated in the timeline', async () => {
      await pageA.click(`article[data-incident="${STEMI}"] button.cath_lab_activated`);
      await pageA.waitForSelector(`article[data-incident="${STEMI}"] .prealert.stemi .done`, { timeout: 8000 });
      const tl = ctl('timeline', STEMI);
      const e = tl.events.find((x) => x.kind === 'cath_lab_activated');
      if (!e) throw new Error('no cath_lab_activated event');
      return true;
    });
    if (LVO) {
      await check('"activate stroke team" records stroke_team_activated in the timeline', async () => {
        await pageA.click(`article[data-incident="${LVO}"] button.stroke_team_activated`);
        await pageA.waitForSelector(`article[data-incident="${LVO}"] .prealert.lvo .done`, { timeout: 8000 });
        return !!ctl('timeline', LVO).events.find((x) => x.kind === 'stroke_team_activated');
      });
    }
    await shot(pageA, 'activated');
    await check('"patient arrived" records a door event in the timeline', async () => {
      await pageA.click(`article[data-incident="${STEMI}"] button.arrived`);
      await pageA.waitForFunction((id) => /\d/.test(document.querySelector(`article[data-incident="${id}"] .door`)?.textContent || ''), STEMI, { timeout: 8000 });
      return !!ctl('timeline', STEMI).events.find((x) => x.kind === 'door');
    });
    await shot(pageA, 'arrived');

    await check('the language switch shows the board in English', async () => {
      await pageA.click('header button.lang');
      await pageA.waitForFunction(() => document.title === 'ED arrivals board', null, { timeout: 3000 });
      const txt = await pageA.textContent('#board');
      return /HR/.test(txt) && /Cath lab activated/.test(txt);
    });
    await shot(pageA, 'english');

    // ---- the hospital's own status (issue 7) ----
    const HA = process.env.GL_HOSP_A || 'HA';
    const HB = process.env.GL_HOSP_B || 'HB';
    const opt = (key, value) => `#hstatus .hs-item[data-key="${key}"] .hs-opt[data-value="${value}"]`;
    const hs = (page) => page.evaluate(() => window.__edTest.hospitalStatus());
    const destOf = (id) => ctl('incident', id).incident.destination;
    await check('the status bar shows A\'s cath lab, CT and diversion as the server has them', async () => {
      await pageA.waitForSelector('#hstatus', { state: 'visible', timeout: 3000 });
      const row = hospitalRow(HA);
      const st = await until(async () => (await hs(pageA)).source === 'server', 8000);
      const got = await hs(pageA);
      const want = row.split('/').map((x) => x === 't');
      if (st !== true || got.cath_lab_ready !== want[0] || got.ct_ready !== want[1] || got.on_diversion !== want[2])
        throw new Error(`page ${JSON.stringify(got)}, row ${row}`);
      return await pageA.evaluate((sel) => document.querySelector(sel).getAttribute('aria-pressed') === 'true', opt('on_diversion', 'false'));
    });
    await check('going on diversion asks first; Cancel changes nothing', async () => {
      await pageA.click(opt('on_diversion', 'true'));
      await pageA.waitForSelector('#divert-confirm', { state: 'visible', timeout: 3000 });
      const txt = await pageA.textContent('#divert-text');
      const n = await pageA.evaluate(() => window.__edTest.board().length);
      if (!txt.includes(String(n))) throw new Error(`confirmation "${txt}" does not count the ${n} patients`);
      await shot(pageA, 'divert-confirm');
      await pageA.click('#divert-no');
      await pageA.waitForSelector('#divert-confirm', { state: 'hidden', timeout: 3000 });
      await pageA.waitForTimeout(1000);
      const row = hospitalRow(HA);
      if (!row.endsWith('/f') || (await hs(pageA)).on_diversion !== false || destOf(STEMI) !== HA)
        throw new Error(`after Cancel: row ${row}, page ${JSON.stringify(await hs(pageA))}, ${STEMI} -> ${destOf(STEMI)}`);
      return true;
    });
    const moved = ids.filter((id) => destOf(id) === HA);
    const stopsBefore = (await pageA.evaluate(() => window.__edTest.stops())).length;
    await check('confirmed diversion: A\'s row is on diversion and its patients go to B', async () => {
      await pageA.click(opt('on_diversion', 'true'));
      await pageA.waitForSelector('#divert-confirm', { state: 'visible', timeout: 3000 });
      await pageA.click('#divert-yes');
      const row = await until(() => hospitalRow(HA).endsWith('/t'), 10000);
      const dest = await until(() => moved.every((id) => destOf(id) === HB), 10000);
      if (row !== true || dest !== true || !moved.length)
        throw new Error(`row ${hospitalRow(HA)}; ${moved.map((id) => `${id} -> ${destOf(id)}`).join(', ')}`);
      return (await until(async () => (await hs(pageA)).on_diversion === true, 8000)) === true;
    });
    await check('B\'s inbound lists the re-routed patients and B\'s board shows them', async () => {
      const r = await pageB.evaluate(() => window.__edTest.state.api.request('inbound'));
      const got = (r.patients || []).map((p) => p.incident.id);
      if (!moved.every((id) => got.includes(id))) throw new Error(`B's inbound: ${got}`);
      await pageB.waitForFunction((want) => want.every((id) => window.__edTest.board().includes(id)), moved, { timeout: 8000 });
      return true;
    });
    await check('A\'s board drops them and A gets vitals.stop (destination_changed) for each', async () => {
      await pageA.waitForFunction((gone) => gone.every((id) => !window.__edTest.board().includes(id)), moved, { timeout: 8000 });
      const stops = (await pageA.evaluate(() => window.__edTest.stops())).slice(stopsBefore);
      if (!moved.every((id) => stops.some((x) => x.incident === id && x.reason === 'destination_changed')))
        throw new Error(JSON.stringify(stops));
      return await pageA.isVisible('#hstatus.diverting');
    });
    await shot(pageA, 'diversion');
    await shot(pageB, 'board-b-diverted');
    await check('A sets "cath lab not ready": hospital.status is taken and A\'s row changes, B\'s does not', async () => {
      const before = hospitalRow(HA);
      const beforeB = hospitalRow(HB);
      if (!before.startsWith('t/')) throw new Error(`cath lab not ready already: ${before}`);
      await pageA.click(opt('cath_lab_ready', 'false'));
      const row = await until(() => hospitalRow(HA).startsWith('f/'), 10000);
      if (row !== true || hospitalRow(HB) !== beforeB) throw new Error(`A ${hospitalRow(HA)}, B ${hospitalRow(HB)} (was ${beforeB})`);
      return (await until(async () => (await hs(pageA)).cath_lab_ready === false, 8000)) === true;
    });
    await check('goldlinectl hospital status (the operator) sets A back; the bar follows', async () => {
      const r = ctl('hospital', 'status', HA, '--cath-lab-ready', 'yes', '--diversion', 'off');
      if (r.hospital !== HA) throw new Error(JSON.stringify(r));
      const row = await until(() => hospitalRow(HA) === 't/t/f', 10000);
      if (row !== true) throw new Error(`row ${hospitalRow(HA)}`);
      // the board reads map.layers at every poll (5 s)
      const st = await until(async () => { const h = await hs(pageA); return h.cath_lab_ready === true && h.on_diversion === false; }, 8000);
      if (st !== true) throw new Error(`page ${JSON.stringify(await hs(pageA))}`);
      return await pageA.evaluate((sel) => document.querySelector(sel).classList.contains('on'), opt('cath_lab_ready', 'true'));
    });
    await check('A may not set B\'s status: hospital.status for B is refused with EACCES', async () => {
      const beforeB = hospitalRow(HB);
      const code = await pageA.evaluate((hb) => window.__edTest.state.api.request('hospital.status', { hospital: hb, on_diversion: true })
        .then(() => 'accepted', (e) => e.code), HB);
      await pageA.waitForTimeout(500);
      if (code !== 'EACCES' || hospitalRow(HB) !== beforeB) throw new Error(`${code}, B's row ${hospitalRow(HB)} (was ${beforeB})`);
      // the session goes on: a request after the refusal is answered
      const r = await pageA.evaluate(() => window.__edTest.state.api.request('inbound'));
      return Array.isArray(r.patients);
    });

    await check('no request left 127.0.0.1', () => foreign.length === 0 || (() => { throw new Error(foreign.join(' ')); })());
    await check('no script errors on either page', () => pageErrors.length === 0 || (() => { throw new Error(pageErrors.join(' | ')); })());
  } catch (e) {
    nok('the ED browser test ran to the end', String(e.message || e));
  } finally {
    await browser.close();
  }
  console.log(`# ed.test.js: ${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main();
