// The emergency department's arrivals board (pages/ed.html): an ED user signs in with a user
// name and password and sees every patient bound for the hospital (op `inbound`, polled every
// 5 s and again on pushed `incident` / `timeline` events): the ETA counting down from the
// server's eta_s at eta_at, case, age and sex, triage and stroke-scale results, the live
// numerics with alarm colours, the 12-lead ECG scrolling on a canvas (js/ed_ecg.js, from the
// binary frames of `vitals.subscribe`), STEMI and LVO pre-alerts with the button that calls in
// the team (event.add cath_lab_activated / stroke_team_activated) and "patient arrived"
// (event.add door). Words come from js/i18n.js; the connection is js/api.js's, with binary
// messages routed to the ECG decoder.
//
// The hospital's own status (issue 7), in the bar under the header, for an ED user (hello's
// `hospital`): cath lab ready, CT ready, on diversion, each set with op `hospital.status`
// {hospital, <that one switch>} (the server lets an ED user set its own hospital only). Going on
// diversion asks first: the dispatcher then sends the patients on their way here elsewhere. The
// state shown is the server's from op `map.layers` (read at sign-in, every poll and after each
// change, so a change made with goldlinectl shows too); while the server has no such op (or
// refuses it), the board shows what it last set itself and says so (nothing before the first set).
//
// Alarm limits (a numeric outside them is shown in the alarm colour; ALARMS below):
//   HR and pulse < 50 or > 120 /min, SpO2 < 90 %, NIBP systolic < 90 or > 180 mmHg,
//   diastolic > 110 mmHg, RR < 8 or > 30 /min, EtCO2 < 25 or > 50 mmHg, temperature < 35 or
//   > 38.5 °C. A value the device reported as unavailable shows "--". A numeric older than
//   60 s (NIBP: 15 min, a cuff cycle is 5 min) is greyed as stale.
//
// Golden time (issue 7, "Clocks"): each card's running and waiting clocks (op `clocks`) and the
// golden-time alerts of the board's patients, with "acknowledge" (op `alert.ack`, or on this
// board while the dispatcher refuses it to the ED role), on the card and in a short list at the
// top; js/ed_golden.js holds the data and draws them.
//
// window.__edTest = {checksum(incident), samples(incident), frames(incident), gaps(incident),
// holes(incident), late(incident), board(), vitals(incident), streaming(), subscribed(),
// hospitalStatus(), stops(), alerts(), clocks(incident)} is the test hook of
// tests/browser/ed.test.js.
(function () {
'use strict';

const { t, tWord } = I18N;
const $ = (id) => document.getElementById(id);
const POLL_MS = 5000;
const EMPTY_TRACE = new EdEcg.EcgTrace();   // the grid of a patient without ECG yet

const CODES = { HR: 147842, SPO2: 150456, PULSE: 149530, SYS: 150021, DIA: 150022, MEAN: 150023,
  RR: 151562, ETCO2: 151708, TEMP: 150364, TEMP2: 150344 };
const ALARMS = {
  [CODES.HR]: [50, 120], [CODES.PULSE]: [50, 120], [CODES.SPO2]: [90, null],
  [CODES.SYS]: [90, 180], [CODES.DIA]: [null, 110], [CODES.RR]: [8, 30],
  [CODES.ETCO2]: [25, 50], [CODES.TEMP]: [35, 38.5], [CODES.TEMP2]: [35, 38.5],
};
const STALE_MS = 60000;
const QUIET_S = 3;            // no ECG frame for this long: the strip is marked as not live
const STALE_NIBP_MS = 15 * 60000;
// The tiles of a patient: label key, the code(s) shown, unit text, decimals.
const TILES = [
  { key: 'ed_hr', codes: [CODES.HR, CODES.PULSE], unit: '/min', dp: 0 },
  { key: 'ed_spo2', codes: [CODES.SPO2], unit: '%', dp: 0 },
  { key: 'ed_nibp', codes: [CODES.SYS, CODES.DIA, CODES.MEAN], unit: 'mmHg', dp: 0, nibp: true },
  { key: 'ed_rr', codes: [CODES.RR], unit: '/min', dp: 0 },
  { key: 'ed_etco2', codes: [CODES.ETCO2], unit: 'mmHg', dp: 0 },
  { key: 'ed_temp', codes: [CODES.TEMP, CODES.TEMP2], unit: '°C', dp: 1 },
];

/* The API client, with the binary ECG frames the base class does not read. */
class EdApi extends GoldlineApi {
  open(hello) {
    const p = super.open(hello);
    if (this.ws) this.ws.binaryType = 'arraybuffer';
    return p;
  }

  onMessage(data) {
    if (data instanceof ArrayBuffer) { this.emit('ecg.frame', data); return; }
    super.onMessage(data);
  }
}

const state = {
  api: null,
  info: null,
  tz: 'Asia/Shanghai',
  skewMs: 0,                  // server clock minus ours
  patients: new Map(),        // incident id -> inbound entry
  order: [],                  // incident ids, soonest first
  vitals: new Map(),          // incident id -> Map(code -> {value, measured_at, at})
  traces: new Map(),          // incident id -> EdEcg.EcgTrace
  stopped: new Map(),         // incident id -> reason of vitals.stop
  cards: new Map(),           // incident id -> card element
  streaming: new Set(),       // ids streaming to us (vitals.subscribe's reply, then data)
  vitalsOk: false,            // vitals.subscribe was accepted
  pollTimer: null,
  refreshTimer: null,
  busy: new Set(),            // "incident/kind" of event.add requests in flight
  stopLog: [],                // every vitals.stop received: {incident, reason}
  hs: {                       // the hospital's own status
    values: {},               // cath_lab_ready / ct_ready / on_diversion -> bool (absent: unknown)
    source: 'none',           // 'server' (map.layers), 'local' (as this board last set it), 'none'
    at: 0,                    // when the values were read or set (ms, our clock)
    layers: null,             // map.layers: null untried, true works, false absent or refused
    busy: null,               // the switch whose hospital.status request is in flight
  },
};
const HS_KEYS = ['cath_lab_ready', 'ct_ready', 'on_diversion'];
// Golden time: clocks and alerts of the board's patients (js/ed_golden.js).
const golden = new EdGolden.GoldenBoard({
  request: (op, args) => (state.api ? state.api.request(op, args) : Promise.reject({ code: 'ECONN', message: 'not connected' })),
  toast: (msg, bad) => toast(msg, bad),
  fmtTime: (iso) => fmtTime(iso),
  changed: (id) => renderGolden(id),
});

/* ---- formatting --------------------------------------------------------------------------- */
function fmtTime(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleTimeString(I18N.getLang() === 'zh' ? 'zh-CN' : 'en-GB',
    { timeZone: state.tz, hour12: false, hour: '2-digit', minute: '2-digit' });
}
function fmtClock(s) {
  const neg = s < 0;
  s = Math.round(Math.abs(s));
  const txt = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  return neg ? `−${txt}` : txt;
}
function serverNow() { return Date.now() + state.skewMs; }
function errText(e) { return e && e.message ? `${e.code || ''} ${e.message}`.trim() : String(e); }
function toast(msg, bad) {
  const el = $('toast');
  el.textContent = msg;
  el.className = bad ? 'toast bad' : 'toast';
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 4000);
}
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function trace(id) {
  let tr = state.traces.get(id);
  if (!tr) { tr = new EdEcg.EcgTrace(); state.traces.set(id, tr); }
  return tr;
}

/* ---- login -------------------------------------------------------------------------------- */
function wsUrl() { return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api`; }

function showLogin(msg) {
  $('login').hidden = false;
  $('login-error').textContent = msg || '';
  $('login-user').focus();
}

async function doLogin(ev) {
  ev.preventDefault();
  const username = $('login-user').value.trim();
  const password = $('login-password').value;
  if (!username || !password) { $('login-error').textContent = t('ed_login_need'); return; }
  $('login-error').textContent = '';
  const api = new EdApi(wsUrl());
  try {
    const info = await api.login({ username, password });
    $('login-password').value = '';
    startSession(api, info);
  } catch (e) {
    $('login-error').textContent = e.code === 'ECONN' ? t('login_no_server') : t('login_refused', { msg: errText(e) });
  }
}

function startSession(api, info) {
  state.api = api;
  state.info = info;
  state.tz = info.tz || state.tz;
  $('login').hidden = true;
  $('who').textContent = `${info.user || ''} · ${info.hospital ? t('ed_hospital', { h: info.hospital }) : info.role}`;
  state.hospitalName = '';
  setConn(true);
  api.on('incident', () => refreshSoon());
  api.on('timeline', (m) => { golden.onTimeline(m); refreshSoon(); });
  api.on('vitals', onVitals);
  api.on('ecg.gap', (m) => trace(m.incident).addGap(m));
  api.on('vitals.stop', (m) => {
    state.stopLog.push({ incident: m.incident, reason: m.reason });
    state.stopped.set(m.incident, m.reason);
    state.streaming.delete(m.incident);
    render();
  });
  api.on('ecg.frame', onFrame);
  api.on('down', () => setConn(false));
  api.on('up', () => { setConn(true); state.hs.layers = null; subscribeAll(); loadHospitalStatus(); golden.reconnected(); });
  api.on('refused', (e) => showLogin(t('login_refused', { msg: errText(e) })));
  $('hstatus').hidden = !info.hospital;
  golden.start(info.hospital);
  subscribeAll();
  loadHospitalStatus();
  clearInterval(state.pollTimer);
  state.pollTimer = setInterval(() => { loadInbound(); loadHospitalStatus(); }, POLL_MS);
}

/* ---- the hospital's own status ------------------------------------------------------------ */

/* Reads the status of our hospital from op map.layers, unless the server lacks the op. */
async function loadHospitalStatus() {
  const hs = state.hs;
  if (!state.api || !state.info || !state.info.hospital || hs.layers === false) { renderStatus(); return; }
  try {
    const r = await state.api.request('map.layers');
    const h = (r.hospitals || []).find((x) => x.id === state.info.hospital);
    hs.layers = true;
    if (h) {
      for (const k of HS_KEYS) if (typeof h[k] === 'boolean') hs.values[k] = h[k];
      hs.source = 'server';
      hs.at = Date.now();
    }
  } catch (e) {
    // No such op yet, or not for this role: keep what this board last set (never guess).
    if (e.code !== 'ECONN') hs.layers = false;
  }
  renderStatus();
}

function renderStatus() {
  const hs = state.hs;
  const sec = $('hstatus');
  sec.querySelectorAll('.hs-item').forEach((item) => {
    const key = item.dataset.key;
    const v = hs.values[key];
    item.querySelectorAll('.hs-opt').forEach((b) => {
      const on = v !== undefined && String(v) === b.dataset.value;
      b.classList.toggle('on', on);
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
      b.disabled = !!hs.busy;
    });
    item.classList.toggle('unknown', v === undefined);
  });
  sec.classList.toggle('diverting', hs.values.on_diversion === true);
  const time = hs.at ? fmtTime(new Date(hs.at + state.skewMs).toISOString()) : '';
  $('hs-note').textContent = hs.source === 'server' ? t('ed_hs_note_server', { time })
    : hs.source === 'local' ? t('ed_hs_note_local', { time }) : t('ed_hs_note_unknown');
  sec.classList.toggle('local', hs.source !== 'server');
}

/* A click on one option of a switch. Going on diversion asks first (confirmDiversion). */
function onStatusClick(key, value) {
  if (state.hs.busy || state.hs.values[key] === value) return;
  if (key === 'on_diversion' && value) { openDivertConfirm(); return; }
  setStatus(key, value);
}

async function setStatus(key, value) {
  const hs = state.hs;
  hs.busy = key;
  renderStatus();
  try {
    await state.api.request('hospital.status', { hospital: state.info.hospital, [key]: value });
    hs.values[key] = value;
    if (hs.source !== 'server' || hs.layers !== true) hs.source = 'local';
    hs.at = Date.now();
    toast(t('ed_hs_done', { what: `${t(`ed_hs_${key}`)}: ${statusWord(key, value)}` }));
  } catch (e) {
    toast(t('error', { msg: errText(e) }), true);
  }
  hs.busy = null;
  await loadHospitalStatus();
  loadInbound();   // patients re-routed by a diversion leave the board now, not at the next poll
}

function statusWord(key, value) {
  if (key === 'on_diversion') return t(value ? 'ed_hs_diverting' : 'ed_hs_open');
  return t(value ? 'ed_hs_ready' : 'ed_hs_not_ready');
}

function openDivertConfirm() {
  $('divert-text').textContent = t('ed_hs_confirm_text', { n: state.patients.size });
  $('divert-confirm').hidden = false;
  $('divert-no').focus();   // the safe choice has the focus: Enter does not divert
}

function closeDivertConfirm(go) {
  if ($('divert-confirm').hidden) return;
  $('divert-confirm').hidden = true;
  if (go) setStatus('on_diversion', true);
}

function setConn(up) {
  const c = $('conn');
  c.textContent = up ? t('conn_up') : t('conn_down');
  c.className = `conn ${up ? 'up' : 'down'}`;
}

/* subscribe (incident and timeline events) and vitals.subscribe (every patient this session
 * may see, now and later), then the board. */
async function subscribeAll() {
  const api = state.api;
  try {
    await api.request('subscribe');
  } catch (e) { toast(t('error', { msg: errText(e) }), true); }
  try {
    const r = await api.request('vitals.subscribe');
    state.vitalsOk = true;
    (r.incidents || []).forEach((id) => state.streaming.add(id));
  } catch (e) { toast(t('ed_no_vitals', { msg: errText(e) }), true); }
  loadInbound();
}

function refreshSoon() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(loadInbound, 200);
}

async function loadInbound() {
  if (!state.api) return;
  let r;
  try { r = await state.api.request('inbound'); } catch (e) {
    if (e.code !== 'ECONN') toast(t('error', { msg: errText(e) }), true);
    return;
  }
  if (r.name && r.name !== state.hospitalName) {
    state.hospitalName = r.name;
    $('who').textContent = `${state.info.user || ''} · ${r.name}`;
  }
  const fresh = new Map();
  for (const p of r.patients || []) {
    if (!p.incident || !p.incident.id) continue;
    p.receivedAt = Date.now();
    if (p.eta_at) {
      // eta_at is "now" on the server when it answered: our skew, from above.
      const ms = Date.parse(p.eta_at);
      if (!Number.isNaN(ms)) state.skewMs = ms - p.receivedAt;
    }
    fresh.set(p.incident.id, p);
  }
  state.patients = fresh;
  state.order = [...fresh.keys()].sort((a, b) => etaLeft(fresh.get(a)) - etaLeft(fresh.get(b)));
  golden.setPatients(state.order);
  render();
}

/* Seconds until the unit reaches the door (Infinity when the server gave no ETA). */
function etaLeft(p) {
  if (p.eta_s === undefined || p.eta_s === null) return Infinity;
  const at = p.eta_at ? Date.parse(p.eta_at) : p.receivedAt + state.skewMs;
  return p.eta_s - (serverNow() - at) / 1000;
}

/* ---- live data ---------------------------------------------------------------------------- */
function onVitals(m) {
  let v = state.vitals.get(m.incident);
  if (!v) { v = new Map(); state.vitals.set(m.incident, v); }
  for (const n of m.numerics || []) v.set(n.code, { value: n.value, measured_at: n.measured_at, at: Date.now() });
  state.stopped.delete(m.incident);
  state.streaming.add(m.incident);
  const card = state.cards.get(m.incident);
  if (card) fillNumerics(card, m.incident);
}

function onFrame(buf) {
  const f = EdEcg.decodeFrame(buf);
  if (!f) return;
  state.stopped.delete(f.incident);
  state.streaming.add(f.incident);
  trace(f.incident).add(f);
}

async function addEvent(id, kind) {
  const key = `${id}/${kind}`;
  if (state.busy.has(key)) return;
  state.busy.add(key);
  render();
  try {
    await state.api.request('event.add', { incident: id, kind });
    toast(t(`ed_done_${kind}`, { id }));
  } catch (e) {
    toast(t('error', { msg: errText(e) }), true);
  }
  state.busy.delete(key);
  loadInbound();
}

/* ---- the board ---------------------------------------------------------------------------- */
function render() {
  const board = $('board');
  for (const [id, card] of state.cards) {
    if (!state.patients.has(id)) { card.remove(); state.cards.delete(id); }
  }
  $('empty').hidden = state.patients.size > 0;
  $('count').textContent = state.patients.size ? String(state.patients.size) : '';
  state.order.forEach((id, i) => {
    let card = state.cards.get(id);
    if (!card) { card = makeCard(id); state.cards.set(id, card); }
    if (board.children[i] !== card) board.insertBefore(card, board.children[i] || null);
    fillCard(card, state.patients.get(id));
  });
  renderGolden(null);
  tick();
}

function makeCard(id) {
  const c = el('article', 'patient');
  c.dataset.incident = id;
  c.innerHTML = `
    <div class="info">
      <div class="top"><div class="eta"><span class="eta-v"></span><small class="eta-l"></small></div>
        <div class="who"><div class="case"></div><div class="pt"></div><div class="unit"></div></div></div>
      <div class="alerts"></div>
      <div class="galerts"></div>
      <ul class="scales"></ul>
      <div class="tiles"></div>
      <div class="actions"><button type="button" class="arrived"></button><span class="door"></span></div>
      <div class="stream"></div>
    </div>
    <div class="ecg"><canvas></canvas><div class="golden"></div></div>`;
  c.querySelector('.arrived').addEventListener('click', () => addEvent(id, 'door'));
  const tiles = c.querySelector('.tiles');
  for (const tile of TILES) {
    const d = el('div', 'tile');
    d.dataset.code = tile.codes[0];
    d.append(el('span', 'label'), el('span', 'value'), el('span', 'unit', tile.unit));
    tiles.append(d);
  }
  return c;
}

function fillCard(c, p) {
  const inc = p.incident;
  const id = inc.id;
  c.querySelector('.case').textContent =
    `${id} · ${tWord('complaint', inc.complaint)} · P${inc.priority || ''} · ${tWord('state', inc.state)}`;
  const pt = p.patient || {};
  const bits = [];
  if (pt.age !== undefined && pt.age !== null) bits.push(t('ed_age', { n: pt.age }));
  if (pt.sex) bits.push(tWord('ed_sex', pt.sex));
  for (const [k, v] of Object.entries(pt)) {
    if (k !== 'age' && k !== 'sex' && v !== null && typeof v !== 'object') bits.push(`${t(`ed_field_${k}`, null, k)}: ${v}`);
  }
  c.querySelector('.pt').textContent = bits.length ? bits.join(' · ') : t('ed_patient_unknown');
  const veh = p.vehicle || {};
  const via = p.eta_method ? ` (${tWord('method', p.eta_method)})` : '';
  c.querySelector('.unit').textContent = veh.id
    ? `${t('ed_unit')}: ${veh.call_sign || ''} ${veh.id}${via}` : (inc.vehicle ? `${t('ed_unit')}: ${inc.vehicle}` : '');

  // Pre-alerts and their team buttons.
  const al = c.querySelector('.alerts');
  al.textContent = '';
  const pre = [];
  if (p.stemi) pre.push(['stemi', 'cath_lab_activated']);
  if (p.lvo) pre.push(['lvo', 'stroke_team_activated']);
  for (const [what, kind] of pre) {
    const box = el('div', `prealert ${what}`);
    box.append(el('strong', null, t(`ed_prealert_${what}`)));
    if (p[kind]) {
      box.append(el('span', 'done', t(`ed_done_at_${kind}`, { time: fmtTime(p[kind]) })));
    } else {
      const b = el('button', `activate ${kind}`, t(`ed_activate_${kind}`));
      b.type = 'button';
      b.disabled = state.busy.has(`${id}/${kind}`);
      b.addEventListener('click', () => addEvent(id, kind));
      box.append(b);
    }
    al.append(box);
  }

  const sc = c.querySelector('.scales');
  sc.textContent = '';
  for (const s of p.scales || []) {
    const li = el('li');
    li.append(el('span', 'k', tWord('ed_scale', s.kind)), el('span', 'v', scaleText(s.detail)),
      el('span', 't', fmtTime(s.at)));
    sc.append(li);
  }
  if (!(p.scales || []).length) sc.append(el('li', 'none', t('ed_no_scales')));

  const btn = c.querySelector('.arrived');
  btn.textContent = t('ed_arrived');
  btn.hidden = !!p.door;
  btn.disabled = state.busy.has(`${id}/door`);
  c.querySelector('.door').textContent = p.door ? t('ed_done_at_door', { time: fmtTime(p.door) }) : '';
  c.classList.toggle('at-door', !!p.door);
  fillNumerics(c, id);
  golden.renderClocks(c.querySelector('.golden'), id);   // its alerts: renderGolden, after the cards
}

/* Redraws the golden-time alerts of one patient's card (null: every card) and the top list. */
function renderGolden(id) {
  for (const [cid, c] of state.cards) {
    if (id && cid !== id) continue;
    golden.renderCardAlerts(c.querySelector('.galerts'), cid);
    c.classList.toggle('g-alert', golden.alertsOf(cid).some((a) => !a.acked));
  }
  golden.renderTop($('galerts'));
}

/* A scale's detail object as short text: "FAST: positive · score 4" (known names translated). */
function scaleText(d) {
  if (d === undefined || d === null) return '';
  if (typeof d !== 'object') return String(d);
  return Object.entries(d).map(([k, v]) => {
    const val = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return `${t(`ed_field_${k}`, null, k)}: ${typeof v === 'boolean' ? t(v ? 'ed_yes' : 'ed_no') : val}`;
  }).join(' · ');
}

function alarmOf(code, value) {
  const lim = ALARMS[code];
  if (!lim || value === null || value === undefined) return false;
  return (lim[0] !== null && value < lim[0]) || (lim[1] !== null && value > lim[1]);
}

function fillNumerics(c, id) {
  const v = state.vitals.get(id) || new Map();
  const now = serverNow();
  c.querySelectorAll('.tile').forEach((d, i) => {
    const tile = TILES[i];
    d.querySelector('.label').textContent = t(tile.key);
    const got = tile.codes.map((code) => [code, v.get(code)]).filter(([, n]) => n);
    let text = '';
    let alarm = false;
    let stale = false;
    let shown = null;
    const fmt = (x) => (x === null || x === undefined ? '--' : Number(x).toFixed(tile.dp));
    if (tile.nibp) {
      const s = v.get(CODES.SYS), di = v.get(CODES.DIA), m = v.get(CODES.MEAN);
      if (s || di) {
        text = `${fmt(s && s.value)}/${fmt(di && di.value)}` + (m ? ` (${fmt(m.value)})` : '');
        alarm = (s && alarmOf(CODES.SYS, s.value)) || (di && alarmOf(CODES.DIA, di.value));
        shown = s || di;
      }
    } else if (got.length) {
      const [code, n] = got[0];
      text = fmt(n.value);
      alarm = alarmOf(code, n.value);
      shown = n;
    }
    if (shown) {
      const age = now - Date.parse(shown.measured_at);
      stale = age > (tile.nibp ? STALE_NIBP_MS : STALE_MS);
      d.title = t('ed_measured', { time: fmtTime(shown.measured_at) });
    }
    d.querySelector('.value').textContent = text || '—';
    d.classList.toggle('alarm', !!alarm);
    d.classList.toggle('stale', stale);
  });
  const s = c.querySelector('.stream');
  const reason = state.stopped.get(id);
  const tr = state.traces.get(id);
  const quiet = tr && tr.nframes ? Math.round((Date.now() - tr.lastRx) / 1000) : 0;
  s.textContent = reason ? t('ed_stream_stopped', { reason: tWord('ed_stop', reason) })
    : !tr || !tr.nframes ? t('ed_stream_waiting')
      : quiet >= QUIET_S ? t('ed_stream_quiet', { s: quiet, gaps: tr.gapMarkers + tr.holes })
        : t('ed_stream_live', { gaps: tr.gapMarkers + tr.holes });
  c.classList.toggle('ecg-quiet', quiet >= QUIET_S);
  s.classList.toggle('gappy', !!(tr && tr.gapMarkers + tr.holes));
}

/* Each second: the ETA countdowns, the county clock and the numerics' staleness. */
function tick() {
  $('clock').textContent = new Date(serverNow()).toLocaleTimeString(I18N.getLang() === 'zh' ? 'zh-CN' : 'en-GB',
    { timeZone: state.tz, hour12: false });
  for (const [id, c] of state.cards) {
    const p = state.patients.get(id);
    if (!p) continue;
    golden.renderClocks(c.querySelector('.golden'), id);
    const left = etaLeft(p);
    const v = c.querySelector('.eta-v');
    const l = c.querySelector('.eta-l');
    if (p.door) { v.textContent = '✓'; l.textContent = t('ed_at_door'); }
    else if (left === Infinity) { v.textContent = '--:--'; l.textContent = t('ed_eta_unknown'); }
    else if (left <= 0) { v.textContent = '0:00'; l.textContent = t('ed_eta_due'); }
    else { v.textContent = fmtClock(left); l.textContent = t('ed_eta'); }
    c.classList.toggle('soon', !p.door && left < 300);
  }
}

/* Each animation frame: every patient's strip, scrolled to the wall clock. */
function frame() {
  const now = performance.now();
  for (const [id, c] of state.cards) {
    EdEcg.drawTrace(c.querySelector('canvas'), state.traces.get(id) || EMPTY_TRACE, now);
  }
  requestAnimationFrame(frame);
}

function applyAll() {
  I18N.applyI18n();
  document.title = t('ed_title');
  if (state.api) { setConn(!!state.api.ws); render(); renderStatus(); }
}

function init() {
  applyAll();
  $('login-form').addEventListener('submit', doLogin);
  document.querySelectorAll('button.lang').forEach((b) => b.addEventListener('click', () => {
    I18N.setLang(I18N.getLang() === 'zh' ? 'en' : 'zh');
    applyAll();
  }));
  document.querySelectorAll('#hstatus .hs-item').forEach((item) => {
    item.querySelectorAll('.hs-opt').forEach((b) => b.addEventListener('click',
      () => onStatusClick(item.dataset.key, b.dataset.value === 'true')));
  });
  $('divert-yes').addEventListener('click', () => closeDivertConfirm(true));
  $('divert-no').addEventListener('click', () => closeDivertConfirm(false));
  document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') closeDivertConfirm(false); });
  $('logout').addEventListener('click', async () => {
    clearInterval(state.pollTimer);
    if (state.api) await state.api.logout();
    location.reload();
  });
  setInterval(() => {
    tick();
    for (const [id, c] of state.cards) fillNumerics(c, id);
  }, 1000);
  requestAnimationFrame(frame);
  showLogin();
}

const num = (id, k) => { const tr = state.traces.get(id); return tr ? tr[k] : 0; };
window.__edTest = {
  checksum: (id) => { const tr = state.traces.get(id); return tr ? tr.checksum() : null; },
  samples: (id) => num(id, 'samples'),
  frames: (id) => num(id, 'nframes'),
  gaps: (id) => num(id, 'gapMarkers'),
  holes: (id) => num(id, 'holes'),
  late: (id) => num(id, 'late'),
  board: () => [...state.cards.keys()],
  vitals: (id) => Object.fromEntries([...(state.vitals.get(id) || new Map())].map(([k, v]) => [k, v.value])),
  streaming: () => [...state.streaming],
  subscribed: () => state.vitalsOk,
  hospitalStatus: () => ({ ...state.hs.values, source: state.hs.source, layers: state.hs.layers }),
  stops: () => state.stopLog.slice(),
  alerts: () => golden.list(),
  clocks: (id) => golden.view(id),
  state,
};

init();
})();
