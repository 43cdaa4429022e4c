// The console's behaviour: login, the call intake form (gazetteer search, js/places.js;
// structured triage that suggests the priority, js/triage.js), candidates with one-key
// assignment and the priority-1 auto-assign countdown, the incident list and detail (timeline,
// golden-time clocks refreshed every 5 s and ticking each second in between), the alerts panel
// fed by golden_alert timeline events, the fleet on the map moving with pushed vehicle events,
// and the map's other layers (js/layers.js). The selected candidate's road route is drawn on
// the map (click, hover, ↑/↓; the first by default); the detail shows where the patient goes
// and why (the newest `destination` event), and lets a dispatcher have it chosen again or
// override it with a reason (F9). What the page offers follows the role hello
// returned (ROLE_CAN, mirroring dispatcher/auth.c; the server refuses anyway). State lives in
// the maps below, filled from replies and pushed events (docs/api.md).
(function () {
'use strict';

const { t, tWord } = I18N;
const { TriageForm } = Triage;
const $ = (id) => document.getElementById(id);
const DEFAULT_CENTER = [28.2948, 117.2401];   // Guixi; the map zooms to the fleet once known
const CLOCKS_REFRESH_MS = 5000;

/* The operations each role may ask for that change what the page offers (dispatcher/auth.c's
 * permission table; admin may do everything). Reads are open to every role. */
const OPS = ['call.new', 'candidates', 'coverage'];
const DISP = OPS.concat(['assign', 'cancel', 'destination', 'hospital.status']);
const ROLE_CAN = { call_taker: OPS, dispatcher: DISP, supervisor: DISP, ed: [], crew: [] };

const state = {
  api: null,
  tz: 'Asia/Shanghai',
  skewMs: 0,                 // server clock minus ours, estimated from replies
  vehicles: new Map(),
  incidents: new Map(),
  current: null,             // {incident, candidates}: the call just taken
  selected: null,            // incident id shown in the detail
  timeline: [],              // events of the selected incident
  clocks: [],                // clocks of the selected incident, with receivedAt
  clocksAt: 0,
  alerts: [],                // {key, incident, metric, level, elapsed_s, target_s, at, acked}
  seenAlerts: new Set(),
  showAll: false,
  role: null,
  priorityTouched: false,    // the call-taker chose the priority: triage no longer sets it
  placePicked: null,         // the gazetteer name put into the address field (replaced by the next pick)
  onsetFromTriage: null,     // the onset text the stroke triage's "last known well" wrote
  candSel: 0,                // the candidate whose route is drawn (index into current.candidates)
  candHover: null,           // the candidate row under the mouse: its route while hovered
  destBusy: false,           // a destination request is on its way
};

let map;
let layers;
let places;
let triage;

/* can(op): the signed-in role may ask for `op`. */
function can(op) {
  if (!state.role) return false;
  if (state.role === 'admin') return true;
  return (ROLE_CAN[state.role] || []).includes(op);
}

/* ---- formatting -------------------------------------------------------------------------- */
function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleTimeString(I18N.getLang() === 'zh' ? 'zh-CN' : 'en-GB', { timeZone: state.tz, hour12: false });
}
function fmtDur(s) {
  if (s === undefined || s === null) return '';
  const neg = s < 0;
  s = Math.round(Math.abs(s));
  const txt = s < 60 ? t('seconds', { n: s }) : t('minutes', { m: Math.floor(s / 60), s: s % 60 });
  return neg ? `−${txt}` : txt;
}
function fmtDist(m) { return m >= 1000 ? t('km', { n: (m / 1000).toFixed(1) }) : t('meters', { n: Math.round(m) }); }
function serverNow() { return Date.now() + state.skewMs; }
function noteServerTime(iso) {
  // A fresh server timestamp (a reply just received) bounds our skew from below.
  const ms = Date.parse(iso);
  if (!Number.isNaN(ms)) state.skewMs = ms - Date.now();
}
function toast(msg, bad) {
  const el = $('toast');
  el.textContent = msg;
  el.className = bad ? 'toast bad' : 'toast';
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 4000);
}
function errText(e) { return e && e.message ? `${e.code || ''} ${e.message}`.trim() : String(e); }

/* County wall time "YYYY-MM-DD HH:MM" -> UTC ms, in state.tz (not the browser's zone). */
function countyToUtc(y, mo, d, h, mi) {
  const guess = Date.UTC(y, mo - 1, d, h, mi);
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: state.tz, hourCycle: 'h23', year: 'numeric', month: 'numeric',
    day: 'numeric', hour: 'numeric', minute: 'numeric' }).formatToParts(new Date(guess));
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  const asCounty = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute);
  return guess - (asCounty - guess);
}
/* The onset field: "" (none), "-N" (N minutes ago), "HH:MM" (today in the county, yesterday if
 * that is in the future) or "YYYY-MM-DD HH:MM". Returns ISO, null (none) or undefined (bad). */
function parseOnset(text) {
  const s = text.trim();
  if (!s) return null;
  let m = /^-\s*(\d{1,4})$/.exec(s);
  if (m) return new Date(serverNow() - m[1] * 60000).toISOString();
  m = /^(\d{1,2})[:：](\d{2})$/.exec(s);
  if (m) {
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: state.tz }).format(new Date(serverNow())).split('-');
    let ms = countyToUtc(+today[0], +today[1], +today[2], +m[1], +m[2]);
    if (ms > serverNow() + 60000) ms -= 86400000;
    return +m[1] < 24 && +m[2] < 60 ? new Date(ms).toISOString() : undefined;
  }
  m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})$/.exec(s);
  if (m) return new Date(countyToUtc(+m[1], +m[2], +m[3], +m[4], +m[5])).toISOString();
  return undefined;
}

/* ---- login -------------------------------------------------------------------------------- */
function showLogin(msg) {
  $('login').hidden = false;
  $('login-error').textContent = msg || '';
  $('login-token').focus();
}

function wsUrl() {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api`;
}

async function doLogin(ev) {
  ev.preventDefault();
  const token = $('login-token').value.trim();
  const username = $('login-user').value.trim();
  const password = $('login-password').value;
  let hello;
  if (username && password) hello = { username, password };
  else if (token) hello = { token };
  else { $('login-error').textContent = t('login_need'); return; }
  $('login-error').textContent = '';
  const api = new GoldlineApi(wsUrl());
  try {
    const info = await api.login(hello);
    $('login-password').value = '';
    $('login-token').value = '';
    startSession(api, info);
  } catch (e) {
    $('login-error').textContent = e.code === 'ECONN' ? t('login_no_server') : t('login_refused', { msg: errText(e) });
  }
}

function startSession(api, info) {
  if (info.role === 'ed') {
    // The emergency department has its own board (pages/ed.html), with its own sign-in.
    api.logout().then(() => location.replace('ed.html'));
    return;
  }
  state.api = api;
  state.tz = info.tz || state.tz;
  state.role = info.role;
  applyRole();
  $('login').hidden = true;
  $('who').textContent = `${info.user || ''} ${t('role')}: ${info.role}`.trim();
  setConn(true);
  api.on('vehicle', (m) => onVehicle(m.vehicle));
  api.on('incident', (m) => onIncident(m.incident));
  api.on('timeline', (m) => onTimeline(m.incident, m.entry));
  api.on('down', () => setConn(false));
  api.on('up', () => { setConn(true); loadAll(); layers.refreshAll(); });
  api.on('refused', (e) => showLogin(t('login_refused', { msg: errText(e) })));
  loadAll();
  layers.start();
  if (can('call.new')) $('f-caller').focus();
}

/* Shows only what the role can do: intake for call-takers and up, assignment and cancelling
 * for dispatchers and up, a read-only view for crews. */
function applyRole() {
  document.body.dataset.role = state.role;
  const intake = can('call.new');
  $('intake').hidden = !intake;
  $('readonly-note').hidden = intake;
  $('cand-panel').hidden = !can('candidates');
  renderCandidates();
  renderDetail();
  renderKeysHelp();
}

function renderKeysHelp() {
  let s = !state.role || can('assign') ? t('keys_help') : can('call.new') ? t('keys_help_call_taker') : t('keys_help_readonly');
  if (state.role && can('candidates')) s += ` · ${t('keys_help_cand')}`;
  if (state.role && can('destination')) s += ` · ${t('keys_help_dest')}`;
  $('keys-help').textContent = s;
}

function setConn(up) {
  const el = $('conn');
  el.textContent = up ? t('conn_up') : t('conn_down');
  el.className = up ? 'conn up' : 'conn down';
}

async function loadAll() {
  const api = state.api;
  try {
    await api.request('subscribe');
    const [fleet, incs] = await Promise.all([api.request('fleet'), api.request('incidents', { all: state.showAll })]);
    fleet.vehicles.forEach(onVehicle);
    map.fitFleet();
    state.incidents.clear();
    incs.incidents.forEach((i) => onIncident(i, true));
    renderIncidents();
    // Alerts raised while we were away are in the open incidents' timelines.
    for (const inc of incs.incidents) {
      if (inc.state === 'closed' || inc.state === 'cancelled') continue;
      api.request('timeline', { incident: inc.id }).then((r) => r.events.forEach((e) => noteAlert(inc.id, e, true)), () => {});
    }
    if (state.selected) selectIncident(state.selected);
  } catch (e) {
    toast(t('error', { msg: errText(e) }), true);
  }
}

/* ---- pushed events ------------------------------------------------------------------------ */
function onVehicle(v) {
  state.vehicles.set(v.id, v);
  map.setVehicle(v);
}

function onIncident(inc, bulk) {
  const old = state.incidents.get(inc.id);
  state.incidents.set(inc.id, inc);
  if (!bulk && (!old || old.state !== inc.state || old.vehicle !== inc.vehicle || old.destination !== inc.destination)) layers.routeChanged(inc.id);
  map.setIncident(inc, selectIncident, inc.id === state.selected);
  if (state.current && state.current.incident.id === inc.id) {
    state.current.incident = inc;
    renderCandidates();
  }
  if (!bulk) renderIncidents();
  if (inc.id === state.selected) renderDetail();
}

function onTimeline(incidentId, entry) {
  noteAlert(incidentId, entry, false);
  if (incidentId === state.selected) {
    if (!state.timeline.some((e) => e.seq === entry.seq)) state.timeline.push(entry);
    renderDetail();
    refreshClocks();
  }
}

function noteAlert(incidentId, e, old) {
  if (e.kind === 'alert_ack' && e.detail) { // someone (maybe at another console) saw it
    const a = state.alerts.find((x) => x.key === `${incidentId}/${e.detail.alert}`);
    if (a && !a.acked) { a.acked = true; a.ackedBy = e.detail.by; renderAlerts(); }
    return;
  }
  if (e.kind !== 'golden_alert' || !e.detail) return;
  const key = `${incidentId}/${e.seq}`;
  if (state.seenAlerts.has(key)) return;
  state.seenAlerts.add(key);
  state.alerts.unshift({ key, incident: incidentId, seq: e.seq, metric: e.detail.metric, level: e.detail.level,
    elapsed_s: e.detail.elapsed_s, target_s: e.detail.target_s, at: e.at, acked: false });
  renderAlerts();
  if (!old) toast(alertText(state.alerts[0]), true);
}

/* ---- intake ------------------------------------------------------------------------------- */
function pick(lat, lon) {
  $('f-lat').value = lat.toFixed(6);
  $('f-lon').value = lon.toFixed(6);
  map.setPin(lat, lon);
}

function typedLocation() {
  // "lat, lon" pasted into the latitude field is split.
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*[,，\s]\s*(-?\d+(?:\.\d+)?)\s*$/.exec($('f-lat').value);
  if (m) { $('f-lat').value = m[1]; $('f-lon').value = m[2]; }
  const lat = parseFloat($('f-lat').value);
  const lon = parseFloat($('f-lon').value);
  if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) || $('f-lat').value === '' || $('f-lon').value === '') return null;
  return [lat, lon];
}

/* The form back to empty: fields, place search, triage answers, the chosen priority. */
function resetIntake() {
  $('intake').reset();
  places.clear();
  state.priorityTouched = false;
  state.placePicked = null;
  state.onsetFromTriage = null;
  triage.setProtocol($('f-complaint').value);
  map.setPin(null);
}

function clearIntake() {
  resetIntake();
  $('intake-error').textContent = '';
  if (can('call.new')) $('f-caller').focus();
}

/* A place chosen in the gazetteer: the call's location, and its name as the address unless
 * one was typed. */
function pickPlace(p) {
  pick(p.lat, p.lon);
  map.flyTo(p.lat, p.lon);
  const addr = $('f-address');
  if (!addr.value.trim() || addr.value === state.placePicked) addr.value = p.name;
  state.placePicked = p.name;
  $('f-caller').value ? $('f-complaint').focus() : $('f-caller').focus();
}

/* Triage answered: the suggested priority, which sets the priority field until the call-taker
 * chooses one by hand. */
function onTriage(s) {
  const el = $('triage-suggest');
  if (!s) { el.textContent = ''; el.dataset.priority = ''; return; }
  if (!state.priorityTouched) $('f-priority').value = String(s.priority);
  el.dataset.priority = String(s.priority);
  const chosen = +$('f-priority').value;
  el.innerHTML = `${escapeHtml(t('tri_suggested'))} <span class="prio p${s.priority}">P${s.priority}</span> ` +
    `${escapeHtml(t(`tri_why_${s.why}`))}${chosen !== s.priority ? ` · <b>${escapeHtml(t('tri_overridden', { p: chosen }))}</b>` : ''}`;
}

async function submitCall(ev) {
  ev.preventDefault();
  const loc = typedLocation();
  if (!loc) { $('intake-error').textContent = t('bad_location'); $('f-lat').focus(); return; }
  const onset = parseOnset($('f-onset').value);
  if (onset === undefined) { $('intake-error').textContent = t('bad_onset'); $('f-onset').focus(); return; }
  const args = { lat: loc[0], lon: loc[1], complaint: $('f-complaint').value, priority: +$('f-priority').value };
  if (onset) args.onset = onset;
  const tri = triage.payload();
  if (tri) args.triage = tri;
  for (const [k, id] of [['caller', 'f-caller'], ['address', 'f-address'], ['notes', 'f-notes']]) {
    const v = $(id).value.trim();
    if (v) args[k] = v;
  }
  $('intake-error').textContent = '';
  $('submit-call').disabled = true;
  try {
    const r = await state.api.request('call.new', args);
    noteServerTime(r.incident.created_at);
    state.current = { incident: r.incident, candidates: r.candidates };
    state.candSel = 0;
    state.candHover = null;
    onIncident(r.incident);
    selectIncident(r.incident.id);
    renderCandidates();
    resetIntake();
    $('cand-panel').focus();
  } catch (e) {
    $('intake-error').textContent = t('error', { msg: errText(e) });
  } finally {
    $('submit-call').disabled = false;
  }
}

/* ---- candidates and assignment ------------------------------------------------------------- */
function renderCandidates() {
  const body = $('cand-body');
  body.textContent = '';
  const cur = state.current;
  $('cand-for').textContent = cur ? t('cand_for', { id: cur.incident.id }) : '';
  $('cand-msg').textContent = '';
  if (!cur) { renderCountdown(); updateCandidateRoute(); return; }
  const open = cur.incident.state === 'new';
  const mayAssign = can('assign');
  cur.candidates.forEach((c, i) => {
    const tr = document.createElement('tr');
    tr.dataset.vehicle = c.vehicle;
    tr.innerHTML = `<td class="key">${i + 1}</td><td class="unit"><b>${escapeHtml(c.call_sign || c.vehicle)}</b> <small>${escapeHtml(c.vehicle)} ${escapeHtml(c.kind || '')}</small></td>` +
      `<td class="num">${fmtDur(c.eta_s)}</td><td class="num">${fmtDist(c.distance_m)}</td><td>${escapeHtml(tWord('method', c.eta_method))}</td>`;
    if (cur.incident.vehicle === c.vehicle) tr.className = 'chosen';
    if (open && i === state.candSel) tr.classList.add('sel');
    // Click (not on its button) or hover: that unit's road route to the scene on the map.
    tr.addEventListener('click', (e) => { if (!e.target.closest('button')) selectCandidate(i); });
    tr.addEventListener('mouseenter', () => { state.candHover = i; updateCandidateRoute(); });
    body.appendChild(tr);
    if (!mayAssign) return;
    const td = document.createElement('td');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'assign';
    b.textContent = t('assign');
    b.disabled = !open;
    b.addEventListener('click', () => assign(i));
    td.appendChild(b);
    tr.appendChild(td);
  });
  if (!cur.candidates.length) $('cand-msg').textContent = t('cand_none');
  else if (open) $('cand-msg').textContent = mayAssign ? t('assign_key') : t('assign_by_dispatcher');
  else if (cur.incident.vehicle) $('cand-msg').textContent = t('assigned_ok', { id: cur.incident.id, vehicle: cur.incident.vehicle });
  renderCountdown();
  updateCandidateRoute();
}

/* The route drawn for the candidates: the hovered row's, else the selected one's (the first
 * by default), while the call waits for a unit; none once it has one (its own route shows). */
function updateCandidateRoute() {
  const cur = state.current;
  const list = cur && cur.incident.state === 'new' ? cur.candidates : [];
  if (state.candSel >= list.length) state.candSel = 0;
  const c = list[state.candHover !== null && list[state.candHover] ? state.candHover : state.candSel];
  if (layers) layers.previewRoute(c ? cur.incident.id : null, c ? c.vehicle : null);
}

function selectCandidate(i) {
  const cur = state.current;
  if (!cur || !cur.candidates[i]) return;
  state.candSel = i;
  state.candHover = null;
  renderCandidates();
}

function renderCountdown() {
  const el = $('countdown');
  const inc = state.current && state.current.incident;
  if (!inc || inc.state !== 'new' || !inc.auto_assign_at) { el.hidden = true; return; }
  const at = typeof inc.auto_assign_at === 'number' ? inc.auto_assign_at : Date.parse(inc.auto_assign_at);
  const left = Math.ceil((at - serverNow()) / 1000);
  el.hidden = false;
  el.textContent = left > 0 ? t('auto_in', { s: left }) : t('auto_now');
}

async function assign(i) {
  const cur = state.current;
  if (!can('assign') || !cur || cur.incident.state !== 'new' || !cur.candidates[i]) return;
  const c = cur.candidates[i];
  try {
    const r = await state.api.request('assign', { incident: cur.incident.id, vehicle: c.vehicle });
    onIncident(r.incident);
    toast(t('assigned_ok', { id: r.incident.id, vehicle: c.call_sign || c.vehicle }));
  } catch (e) {
    toast(t('error', { msg: errText(e) }), true);
  }
}

/* ---- incidents and detail ----------------------------------------------------------------- */
function renderIncidents() {
  const ul = $('inc-list');
  ul.textContent = '';
  const list = [...state.incidents.values()]
    .filter((i) => state.showAll || (i.state !== 'closed' && i.state !== 'cancelled'))
    .sort((a, b) => (a.priority - b.priority) || (a.created_at < b.created_at ? 1 : -1));
  if (!list.length) { ul.innerHTML = `<li class="hint">${escapeHtml(t('inc_none'))}</li>`; return; }
  for (const inc of list) {
    const li = document.createElement('li');
    li.dataset.incident = inc.id;
    li.className = `inc-row p${inc.priority} st-${inc.state}${inc.id === state.selected ? ' selected' : ''}`;
    li.tabIndex = 0;
    const v = inc.vehicle && state.vehicles.get(inc.vehicle);
    li.innerHTML = `<span class="prio">P${inc.priority}</span> <b>${escapeHtml(inc.id)}</b> ` +
      `<span class="state">${escapeHtml(tWord('state', inc.state))}</span> ` +
      `<span>${escapeHtml(tWord('complaint', inc.complaint))}</span> ` +
      `<span class="veh">${escapeHtml(v ? v.call_sign || v.id : inc.vehicle || '')}</span> ` +
      `<span class="time">${fmtTime(inc.created_at)}</span>`;
    li.addEventListener('click', () => selectIncident(inc.id));
    li.addEventListener('keydown', (e) => { if (e.key === 'Enter') selectIncident(inc.id); });
    ul.appendChild(li);
  }
}

async function selectIncident(id) {
  const prev = state.selected;
  state.selected = id;
  if (prev && state.incidents.has(prev)) map.setIncident(state.incidents.get(prev), selectIncident, false);
  const inc = state.incidents.get(id);
  if (inc) { map.setIncident(inc, selectIncident, true); }
  if (prev !== id) { state.timeline = []; state.clocks = []; }
  renderIncidents();
  renderDetail();
  layers.routeChanged(prev);
  layers.routeChanged(id);
  try {
    const r = await state.api.request('timeline', { incident: id });
    if (state.selected !== id) return;
    state.timeline = r.events;
    onIncident(r.incident);
    r.events.forEach((e) => noteAlert(id, e, true));
    renderDetail();
  } catch (e) { toast(t('error', { msg: errText(e) }), true); }
  refreshClocks();
}

async function refreshClocks() {
  const id = state.selected;
  if (!id || !state.api) return;
  try {
    const r = await state.api.request('clocks', { incident: id });
    if (state.selected !== id) return;
    state.clocks = r.clocks.filter((c) => c.state !== 'not_applicable');
    state.clocksAt = Date.now();
    renderClocks();
  } catch (e) { /* the next refresh tries again */ }
}

function eventText(e) {
  if (e.kind === 'status') return t('event_status', { status: tWord('status', e.detail && e.detail.status) });
  if (e.kind === 'golden_alert' && e.detail)
    return t('event_golden_alert', { level: t(`alert_${e.detail.level}`), metric: tWord('metric', e.detail.metric) });
  if (e.kind === 'alert_ack' && e.detail)
    return t('event_alert_ack', { alert: e.detail.alert, by: String(e.detail.by || '').replace(/ session \d+$/, '') });
  if (e.kind === 'destination' && e.detail)
    return t('event_destination', { name: e.detail.name || e.detail.hospital || '?', reason: e.detail.reason || '' });
  return tWord('event', e.kind);
}

/* The newest destination event of the selected incident's timeline, or null. */
function latestDestination() {
  let best = null;
  for (const e of state.timeline) if (e.kind === 'destination' && e.detail && (!best || e.seq > best.seq)) best = e;
  return best;
}

function hospitalName(id) {
  const h = layers.hospitalList().find((x) => x.id === id);
  return h ? h.name || h.id : id;
}

/* The incident's destination: hospital, why, the travel time from the scene, and whether an
 * operator chose it (what the rules recommended then). From the newest destination event, or
 * the incident's own destination while its timeline is not read yet. */
function destinationHtml(inc) {
  const ev = latestDestination();
  const d = ev && (!inc.destination || ev.detail.hospital === inc.destination) ? ev.detail : null;
  const hid = d ? d.hospital : inc.destination;
  if (!hid) return `<div id="dest" class="dest none"><b>${escapeHtml(t('dest_label'))}</b>: ${escapeHtml(t('dest_none'))}</div>`;
  const name = d ? d.name || d.hospital : inc.destination_name || inc.destination;
  const extra = [];
  if (d && d.eta_s !== undefined && d.eta_s !== null) extra.push(t('dest_eta', { eta: fmtDur(d.eta_s), method: tWord('method', d.eta_method) }));
  if (d && d.override && d.recommended) extra.push(t('dest_recommended', { name: hospitalName(d.recommended) }));
  if (d && d.on_diversion) extra.push(t('hosp_diversion'));
  return `<div id="dest" class="dest${d && d.override ? ' override' : ''}" data-hospital="${escapeHtml(hid)}" data-override="${!!(d && d.override)}">` +
    `<b>${escapeHtml(t('dest_label'))}</b>: <span class="dest-name">${escapeHtml(name)}</span>` +
    `${d && d.override ? ` <span class="tag override">${escapeHtml(t('dest_override'))}</span>` : ''}` +
    `${d && d.reason ? `<div class="dest-why">${escapeHtml(d.reason)}</div>` : ''}` +
    `${extra.length ? `<div class="dest-more">${escapeHtml(extra.join(' · '))}</div>` : ''}</div>`;
}

function renderDetail() {
  const el = $('detail');
  const inc = state.selected && state.incidents.get(state.selected);
  if (!inc) { el.innerHTML = `<div class="hint">${escapeHtml(t('detail_none'))}</div>`; closeDestForm(); return; }
  const v = inc.vehicle && state.vehicles.get(inc.vehicle);
  // Newest first, so the latest event is in sight without scrolling (numbered by seq order).
  const rows = state.timeline.slice().reverse().map((e) => `<li class="ev ev-${escapeHtml(e.kind)}${e.detail && e.detail.level ? ' lvl-' + escapeHtml(e.detail.level) : ''}">` +
    `<span class="time">${fmtTime(e.at)}</span> ${escapeHtml(eventText(e))}` +
    `${e.kind === 'destination' && e.detail && e.detail.override ? ` <span class="tag override">${escapeHtml(t('dest_override'))}</span>` : ''}` +
    `${e.vehicle ? ' <small>' + escapeHtml(e.vehicle) + '</small>' : ''}</li>`).join('');
  const over = inc.state === 'closed' || inc.state === 'cancelled';
  el.innerHTML =
    `<div class="fields"><b>${escapeHtml(inc.id)}</b> <span class="prio p${inc.priority}">P${inc.priority}</span> ` +
    `${escapeHtml(tWord('complaint', inc.complaint))}<br>` +
    `${escapeHtml(t('field_state'))}: <span class="state st-${escapeHtml(inc.state)}">${escapeHtml(tWord('state', inc.state))}</span> · ` +
    `${escapeHtml(t('field_vehicle'))}: ${escapeHtml(v ? `${v.call_sign || ''} ${v.id}` : inc.vehicle || '—')} · ` +
    `${escapeHtml(t('field_created'))}: ${fmtTime(inc.created_at)}` +
    `${inc.address ? '<br>' + escapeHtml(inc.address) : ''}</div>` + destinationHtml(inc) +
    `<div class="actions">${inc.state === 'new' && can('candidates') ? `<button type="button" id="recompute">${escapeHtml(t('recompute'))}</button>` : ''}` +
    `${over || !can('destination') ? '' : `<button type="button" id="dest-change">${escapeHtml(t('dest_change'))}</button>`}` +
    `${over || !can('cancel') ? '' : `<button type="button" id="cancel-inc" class="danger">${escapeHtml(t('cancel_inc'))}</button>`}</div>` +
    `<h3>${escapeHtml(t('clocks'))}</h3><table id="clocks" class="clocks"></table>` +
    `<h3>${escapeHtml(t('timeline'))}</h3><ol id="timeline" class="timeline" reversed>${rows}</ol>`;
  const rc = $('recompute');
  if (rc) rc.addEventListener('click', () => recompute(inc.id));
  const cb = $('cancel-inc');
  if (cb) cb.addEventListener('click', () => cancelIncident(inc.id));
  const dc = $('dest-change');
  if (dc) dc.addEventListener('click', openDestForm);
  if (over || !can('destination')) closeDestForm();
  else if (!$('dest-form').hidden) fillHospitals();
  renderClocks();
}

/* ---- destination: chosen again, or an operator's override with a reason ------------------- */
/* The hospital picker: every hospital map.layers gave, those on diversion marked, the current
 * destination marked; the choice made so far kept. */
function fillHospitals() {
  const sel = $('dest-hospital');
  const inc = state.selected && state.incidents.get(state.selected);
  const cur = inc && inc.destination;
  const keep = sel.value;
  const list = layers.hospitalList().slice().sort((a, b) => (a.on_diversion - b.on_diversion) || String(a.id).localeCompare(String(b.id)));
  const key = JSON.stringify([list.map((h) => [h.id, h.name, h.on_diversion, h.cath_lab_ready, h.ct_ready]), cur, I18N.getLang()]);
  if (sel.dataset.key === key) return;
  sel.dataset.key = key;
  sel.textContent = '';
  for (const h of list) {
    const o = document.createElement('option');
    o.value = h.id;
    const caps = (h.capabilities || []).map((c) => tWord('cap', c)).join('/');
    o.textContent = `${h.name || h.id} (${h.id})${caps ? ' · ' + caps : ''}${h.on_diversion ? ` · 【${t('hosp_diversion')}】` : ''}${h.id === cur ? ' · ' + t('dest_current') : ''}`;
    o.dataset.diversion = String(!!h.on_diversion);
    if (h.on_diversion) o.className = 'diversion';
    sel.appendChild(o);
  }
  const pickable = list.find((h) => h.id === keep) || list.find((h) => h.id !== cur && !h.on_diversion) || list[0];
  if (pickable) sel.value = pickable.id;
  if (!list.length) $('dest-error').textContent = t('dest_no_hospitals');
}

/* F9 or the detail's button: the destination form for the selected incident. */
function openDestForm() {
  const inc = state.selected && state.incidents.get(state.selected);
  if (!inc || !can('destination') || inc.state === 'closed' || inc.state === 'cancelled') return;
  const form = $('dest-form');
  if (form.hidden || form.dataset.incident !== inc.id) {
    form.reset();
    $('dest-error').textContent = '';
    $('dest-hospital').dataset.key = '';
  }
  form.dataset.incident = inc.id;
  $('dest-for').textContent = inc.id;
  form.hidden = false;
  fillHospitals();
  layers.refreshLayers().then(fillHospitals, () => {});   // the hospitals' status now, not 30 s ago
  $('dest-hospital').focus();
}

function closeDestForm() {
  const form = $('dest-form');
  if (!form || form.hidden) return;
  form.hidden = true;
  $('dest-error').textContent = '';
}

/* Sends op destination for the form's incident: `override` with the picked hospital and the
 * typed reason (the dispatcher refuses an override without one: its error is shown), or
 * without a hospital (the dispatcher chooses again). */
async function sendDestination(override) {
  const id = $('dest-form').dataset.incident;
  if (!id || state.destBusy) return;
  const args = { incident: id };
  if (override) {
    args.hospital = $('dest-hospital').value;
    args.reason = $('dest-reason').value.trim();
  }
  $('dest-error').textContent = '';
  state.destBusy = true;
  try {
    const r = await state.api.request('destination', args);
    if (r.entry) onTimeline(id, r.entry);
    if (r.incident) onIncident(r.incident);
    const d = (r.entry && r.entry.detail) || {};
    toast(t(d.override ? 'dest_overridden' : 'dest_chosen', { id, name: d.name || d.hospital || '' }));
    closeDestForm();
  } catch (e) {
    $('dest-error').textContent = t('error', { msg: errText(e) });
    if (override && e.code === 'EINVAL') $('dest-reason').focus();
  } finally {
    state.destBusy = false;
  }
}

function renderClocks() {
  const table = $('clocks');
  if (!table) return;
  if (!state.clocks.length) { table.innerHTML = `<tr><td class="hint">${escapeHtml(t('clocks_none'))}</td></tr>`; return; }
  const since = (Date.now() - state.clocksAt) / 1000;
  const live = (c) => ['running', 'warning', 'breached'].includes(c.state);
  const waiting = state.clocks.filter((c) => c.state === 'waiting');
  const shown = state.clocks.filter((c) => c.state !== 'waiting');
  const waitRow = waiting.length ? `<tr class="clock clock-waiting"><td class="state">${escapeHtml(tWord('clock', 'waiting'))}</td>` +
    `<td colspan="3" class="names">${waiting.map((c) => `<span data-metric="${escapeHtml(c.metric)}">${escapeHtml(tWord('metric', c.metric))} ${fmtDur(c.target_s)}</span>`).join(' · ')}</td></tr>` : '';
  table.innerHTML = shown.map((c) => {
    const el = c.elapsed_s !== undefined ? c.elapsed_s + (live(c) ? since : 0) : undefined;
    let st = c.state;
    if (live(c) && el !== undefined && el > c.target_s) st = 'breached';
    const pct = el !== undefined ? Math.min(100, (100 * el) / c.target_s) : 0;
    return `<tr class="clock clock-${st}" data-metric="${escapeHtml(c.metric)}"><td>${escapeHtml(tWord('metric', c.metric))}</td>` +
      `<td class="state">${escapeHtml(tWord('clock', st))}</td>` +
      `<td class="num">${el !== undefined ? fmtDur(el) : ''} / ${fmtDur(c.target_s)}</td>` +
      `<td class="bar"><span style="width:${pct.toFixed(0)}%"></span></td></tr>`;
  }).join('') + waitRow;
}

async function recompute(id) {
  try {
    const r = await state.api.request('candidates', { incident: id });
    state.current = { incident: state.incidents.get(id), candidates: r.candidates };
    state.candSel = 0;
    state.candHover = null;
    renderCandidates();
  } catch (e) { toast(t('error', { msg: errText(e) }), true); }
}

async function cancelIncident(id) {
  if (!window.confirm(t('cancel_confirm', { id }))) return;
  try { onIncident((await state.api.request('cancel', { incident: id })).incident); }
  catch (e) { toast(t('error', { msg: errText(e) }), true); }
}

/* ---- alerts ------------------------------------------------------------------------------- */
function alertText(a) {
  return t('alert_text', { incident: a.incident, metric: tWord('metric', a.metric), elapsed: fmtDur(a.elapsed_s), target: fmtDur(a.target_s) });
}

function renderAlerts() {
  const ul = $('alerts');
  ul.textContent = '';
  const open = state.alerts.filter((a) => !a.acked);
  $('alert-count').hidden = open.length === 0;
  $('alert-count').textContent = String(open.length);
  if (!state.alerts.length) { ul.innerHTML = `<li class="hint">${escapeHtml(t('alerts_none'))}</li>`; return; }
  for (const a of state.alerts.slice(0, 30)) {
    const li = document.createElement('li');
    li.className = `alert lvl-${a.level}${a.acked ? ' acked' : ''}`;
    li.dataset.metric = a.metric;
    li.dataset.incident = a.incident;
    li.innerHTML = `<span class="lvl">${escapeHtml(t(`alert_${a.level}`, null, a.level))}</span> ` +
      `<span class="time">${fmtTime(a.at)}</span> <a href="#" class="txt">${escapeHtml(alertText(a))}</a> `;
    li.querySelector('.txt').addEventListener('click', (e) => { e.preventDefault(); selectIncident(a.incident); });
    if (!a.acked) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'ack';
      b.textContent = t('ack');
      // Recorded by the dispatcher (op alert.ack): every console sees it handled, and who did.
      b.addEventListener('click', () => {
        b.disabled = true;
        state.api.request('alert.ack', { incident: a.incident, alert: a.seq }).then(() => {
          a.acked = true;
          renderAlerts();
        }, (err) => {
          if (err && err.code === 'EDUP') { a.acked = true; renderAlerts(); return; }
          b.disabled = false;
          toast(t('error', { msg: errText(err) }), true);
        });
      });
      li.appendChild(b);
    }
    ul.appendChild(li);
  }
}

/* ---- legend, clock, keys ------------------------------------------------------------------ */
function renderLegend() {
  $('legend').innerHTML = `<b>${escapeHtml(t('legend'))}</b> ` + Object.entries(STATUS_COLOURS)
    .map(([s, c]) => `<span><i style="background:${c}"></i>${escapeHtml(tWord('status', s))}</span>`).join('') +
    `<span><i class="stale-i"></i>${escapeHtml(t('stale'))}</span>` + (layers ? layers.legendHtml() : '');
}

function tickSecond() {
  $('clock').textContent = `${t('county_time')} ${new Date(serverNow()).toLocaleTimeString('zh-CN', { timeZone: state.tz, hour12: false })}`;
  renderCountdown();
  renderClocks();
}

function inTextField(el) {
  return el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT');
}

function onKey(e) {
  if (!$('login').hidden) return;
  if (e.key === 'F2') { e.preventDefault(); clearIntake(); return; }
  if (e.key === 'F3') {
    e.preventDefault();
    if (can('call.new')) { $('f-place').focus(); $('f-place').select(); }
    return;
  }
  if (e.key === 'F4') { e.preventDefault(); toggleLang(); return; }
  if (e.key === 'F9') { e.preventDefault(); openDestForm(); return; }
  if (e.key === 'Escape' && $('dest-form').contains(document.activeElement) && !$('dest-form').hidden) {
    closeDestForm();
    if ($('dest-change')) $('dest-change').focus();
    return;
  }
  // ↑/↓ in the candidates panel: the next or previous unit's route.
  if ((e.key === 'ArrowDown' || e.key === 'ArrowUp') && $('cand-panel').contains(document.activeElement) && !inTextField(document.activeElement)) {
    const n = state.current && state.current.incident.state === 'new' ? state.current.candidates.length : 0;
    if (n) { e.preventDefault(); selectCandidate((state.candSel + (e.key === 'ArrowDown' ? 1 : n - 1)) % n); }
    return;
  }
  if (e.key === 'Escape') { if (inTextField(document.activeElement) || state.current) { clearIntake(); } return; }
  // 1-5 assign the n-th candidate: anywhere outside a text field, or with Alt from inside one.
  if (/^[1-5]$/.test(e.key) && (e.altKey || !inTextField(document.activeElement)) && can('assign')) {
    if (state.current && state.current.incident.state === 'new') { e.preventDefault(); assign(+e.key - 1); }
  }
}

function toggleLang() {
  I18N.setLang(I18N.getLang() === 'zh' ? 'en' : 'zh');
  setConn($('conn').classList.contains('up') || !state.api);
  if (state.api) $('who').textContent = `${(state.api.info && state.api.info.user) || ''} ${t('role')}: ${state.api.info ? state.api.info.role : ''}`.trim();
  renderLegend();
  renderKeysHelp();
  renderCandidates();
  renderIncidents();
  renderDetail();
  renderAlerts();
  triage.render();
  onTriage(triage.suggestion());
  layers.paintControl();
  if (state.api) layers.refreshLayers();
}

function init() {
  I18N.applyI18n();
  map = new ConsoleMap($('map'), DEFAULT_CENTER, (lat, lon) => { if (state.api && can('call.new')) pick(lat, lon); });
  const request = (op, args) => (state.api ? state.api.request(op, args) : Promise.reject({ code: 'ECONN', message: 'not connected' }));
  layers = new MapLayers(map, {
    request, can, toast,
    ready: () => !!(state.api && state.api.ws),
    incidents: () => state.incidents.values(),
    selected: () => state.selected,
    onChange: renderLegend,
  });
  places = new PlaceSearch($('f-place'), $('place-list'), request, pickPlace);
  triage = new TriageForm($('triage'), onTriage);
  triage.setProtocol($('f-complaint').value);
  $('f-complaint').addEventListener('change', () => triage.setProtocol($('f-complaint').value));
  // Stroke: "last known well N min ago" is also the call's onset, unless one was typed.
  $('triage').addEventListener('input', (e) => {
    if (e.target.dataset.q !== 'lkw_minutes') return;
    const onset = $('f-onset');
    if (onset.value && onset.value !== state.onsetFromTriage) return;
    const n = parseInt(e.target.value, 10);
    onset.value = state.onsetFromTriage = n >= 0 ? `-${n}` : '';
  });
  $('f-priority').addEventListener('change', () => { state.priorityTouched = true; onTriage(triage.suggestion()); });
  window.goldline = { state, map, layers, places, triage, can };  // for the browser test and the curious operator
  $('login-form').addEventListener('submit', doLogin);
  document.querySelectorAll('button.lang').forEach((b) => b.addEventListener('click', toggleLang));
  $('logout').addEventListener('click', async () => { if (state.api) await state.api.logout(); location.reload(); });
  $('intake').addEventListener('submit', submitCall);
  $('clear-call').addEventListener('click', clearIntake);
  for (const id of ['f-lat', 'f-lon']) $(id).addEventListener('change', () => { const l = typedLocation(); if (l) map.setPin(l[0], l[1]); });
  $('show-all').addEventListener('change', (e) => { state.showAll = e.target.checked; if (state.api) loadAll(); });
  $('cand-body').addEventListener('mouseleave', () => { state.candHover = null; updateCandidateRoute(); });
  $('dest-form').addEventListener('submit', (e) => { e.preventDefault(); sendDestination(true); });
  $('dest-rechoose').addEventListener('click', () => sendDestination(false));
  $('dest-close').addEventListener('click', closeDestForm);
  document.addEventListener('keydown', onKey);
  $('cand-panel').tabIndex = -1;
  renderKeysHelp();
  renderLegend();
  renderAlerts();
  renderIncidents();
  renderDetail();
  setInterval(tickSecond, 1000);
  setInterval(refreshClocks, CLOCKS_REFRESH_MS);
  tickSecond();
  showLogin();
}

document.addEventListener('DOMContentLoaded', init);
})();
