// Golden time on the ED arrivals board (issue 7, "Clocks"): for every patient on the board,
// the clocks that matter to the receiving team, and the golden-time alerts of those patients
// with their acknowledgement. Used by js/ed.js, which owns the cards; this file owns the data
// and fills the three places it is shown: a card's clock strip (.golden), a card's alerts
// (.galerts) and the short list of unacknowledged alerts at the top of the page (#galerts).
//
// Clocks: op `clocks` per patient, read when the patient appears, every REFRESH_MS and soon
// after any pushed timeline event of that patient (an event may start or stop a clock); in
// between, a running clock's elapsed time ticks each second from the server's elapsed_s. The
// board shows the running ones (running, warning, breached: elapsed / target, what is left, a
// bar, the state's colour; for the onset → needle / puncture clocks what is left is the
// treatment window) and, on one line, the waiting ones with their target. Not shown: the
// not_applicable ones, the finished ones (met, missed, incomplete), and the waiting clocks of the
// call centre's own work (call_*, dispatch_*: nothing the ED waits for). REFRESH_MS is 10 s, not
// 5 s, because every request of a session is written to audit_log.
//
// Alerts: a `golden_alert` timeline event {metric, level warning|breach, elapsed_s, target_s}
// pushed for one of our patients (the dispatcher pushes an ED session only the events of the
// patients bound for its hospital), or found in the patient's timeline when it first appears on
// the board (alerts raised before we looked). "Acknowledge" calls op `alert.ack` {incident,
// alert: the alert's seq}; an `alert_ack` event {alert, by} (ours or another console's) marks it
// acknowledged, by whom. While the dispatcher refuses alert.ack to the ED role (EACCES), the
// acknowledgement stays on this board (kept in localStorage per hospital, so a reload keeps it)
// and says so; after one refusal the session stops asking.
(function () {
'use strict';

const { t, tWord } = I18N;
const REFRESH_MS = 10000;
const LIVE = ['running', 'warning', 'breached'];
const RANK = { breached: 0, warning: 1, running: 2 };
const WINDOWS = ['onset_to_needle', 'onset_to_puncture'];   // a treatment window, not a task
const KEEP_LOCAL = 300;                                      // local acknowledgements kept
const TOP_MAX = 6;                                           // alerts in the list at the top
const CARD_MAX = 4;                                          // alerts on one card

/* Seconds as m:ss, or h:mm:ss from an hour on; negative with a minus sign. */
function fmtDur(s) {
  if (s === undefined || s === null || Number.isNaN(s)) return '';
  const neg = s < 0;
  s = Math.round(Math.abs(s));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  const txt = h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
  return neg ? `−${txt}` : txt;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/* "operator session 3" -> "operator": who acknowledged, without the session number. */
function who(by) { return String(by || '').replace(/ session \d+$/, ''); }

class GoldenBoard {
  /* hooks: request(op, args) -> Promise of the result (rejects with {code, message});
   * toast(text, bad); fmtTime(iso) -> "HH:MM"; changed(incident or null): redraw what shows
   * that patient's alerts (null: every patient). */
  constructor(hooks) {
    this.hooks = hooks;
    this.ids = [];               // the board's patients, in board order
    this.clocks = new Map();     // incident -> {list: clocks reply, at: ms of our clock}
    this.loading = new Set();    // incidents whose clocks request is in flight
    this.soon = new Map();       // incident -> timeout of a clocks refresh after an event
    this.timelines = new Set();  // incidents whose timeline was read for earlier alerts
    this.alerts = new Map();     // "incident/seq" -> alert (below)
    this.acks = new Map();       // "incident/seq" -> by, for an alert_ack read before its alert
    this.local = new Map();      // "incident/seq" -> ms: acknowledged on this board only
    this.busy = new Set();       // alerts whose alert.ack is in flight
    this.serverAck = null;       // alert.ack: null untried, true taken, false refused (EACCES)
    this.storeKey = null;
    this.timer = null;
  }

  /* A signed-in session for `hospital`: local acknowledgements from localStorage, the refresh. */
  start(hospital) {
    this.storeKey = `goldline.ed.acks.${hospital || '-'}`;
    this.local.clear();
    try {
      for (const [k, at] of JSON.parse(localStorage.getItem(this.storeKey) || '[]')) this.local.set(k, at);
    } catch (e) { /* private mode or garbage: nothing kept */ }
    this.serverAck = null;
    this.timelines.clear();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.ids.forEach((id) => this.refresh(id)), REFRESH_MS);
  }

  /* After a reconnect: what was pushed while we were away is in the timelines. */
  reconnected() {
    this.timelines.clear();
    this.serverAck = null;
    this.setPatients(this.ids);
  }

  /* The board's patients now (ids in board order): new ones get their clocks and their
   * earlier alerts; gone ones are forgotten (their alerts stay, unseen, until they return). */
  setPatients(ids) {
    this.ids = ids.slice();
    for (const id of this.ids) {
      if (!this.clocks.has(id)) this.refresh(id);
      if (!this.timelines.has(id)) this.readTimeline(id);
    }
    for (const id of [...this.clocks.keys()]) if (!this.ids.includes(id)) this.clocks.delete(id);
    for (const id of [...this.timelines]) if (!this.ids.includes(id)) this.timelines.delete(id);
  }

  async refresh(id) {
    if (this.loading.has(id)) return;
    this.loading.add(id);
    try {
      const r = await this.hooks.request('clocks', { incident: id });
      if (this.ids.includes(id)) this.clocks.set(id, { list: r.clocks || [], at: Date.now() });
    } catch (e) { /* the next refresh tries again (ENOENT: the patient left the board) */ }
    this.loading.delete(id);
  }

  refreshSoon(id) {
    clearTimeout(this.soon.get(id));
    this.soon.set(id, setTimeout(() => { this.soon.delete(id); if (this.ids.includes(id)) this.refresh(id); }, 300));
  }

  async readTimeline(id) {
    this.timelines.add(id);
    try {
      const r = await this.hooks.request('timeline', { incident: id });
      (r.events || []).forEach((e) => this.note(id, e, false));
      this.hooks.changed(id);
    } catch (e) {
      this.timelines.delete(id);   // tried again at the next setPatients
    }
  }

  /* A pushed {event:"timeline", incident, entry}. */
  onTimeline(m) {
    if (!m || !m.incident || !m.entry) return;
    if (this.note(m.incident, m.entry, true)) this.hooks.changed(m.incident);
    if (this.ids.includes(m.incident)) this.refreshSoon(m.incident);
  }

  /* Records a golden_alert or alert_ack event of `id`; true when something changed. */
  note(id, e, pushed) {
    if (e.kind === 'alert_ack' && e.detail) {
      const key = `${id}/${e.detail.alert}`;
      const a = this.alerts.get(key);
      if (!a) { this.acks.set(key, e.detail.by); return false; }
      if (a.acked && !a.local && a.by) return false;
      Object.assign(a, { acked: true, by: e.detail.by || a.by, local: false });
      return true;
    }
    if (e.kind !== 'golden_alert' || !e.detail) return false;
    const key = `${id}/${e.seq}`;
    if (this.alerts.has(key)) return false;
    const d = e.detail;
    const a = { key, incident: id, seq: e.seq, metric: d.metric, level: d.level, elapsed_s: d.elapsed_s,
      target_s: d.target_s, at: e.at, pushed, seenAt: Date.now(), acked: false, by: null, local: false };
    if (this.acks.has(key)) Object.assign(a, { acked: true, by: this.acks.get(key) });
    else if (this.local.has(key)) Object.assign(a, { acked: true, local: true });
    this.alerts.set(key, a);
    if (pushed && !a.acked && this.ids.includes(id)) this.hooks.toast(this.toastText(a), true);
    return true;
  }

  /* "Acknowledge": at the dispatcher when it lets us, else on this board. */
  async ack(key) {
    const a = this.alerts.get(key);
    if (!a || a.acked || this.busy.has(key)) return;
    if (this.serverAck === false) { this.ackLocal(a); return; }
    this.busy.add(key);
    this.hooks.changed(a.incident);
    try {
      await this.hooks.request('alert.ack', { incident: a.incident, alert: a.seq });
      this.serverAck = true;
      a.acked = true;           // who: from the alert_ack event the dispatcher pushes
    } catch (e) {
      if (e && e.code === 'EDUP') a.acked = true;
      else if (e && e.code === 'EACCES') {
        this.serverAck = false;
        this.ackLocal(a);
        this.hooks.toast(t('ed_gt_ack_local_note'), false);
      } else this.hooks.toast(t('error', { msg: e && e.message ? `${e.code || ''} ${e.message}` : String(e) }), true);
    }
    this.busy.delete(key);
    this.hooks.changed(a.incident);
  }

  ackLocal(a) {
    Object.assign(a, { acked: true, local: true });
    this.local.set(a.key, Date.now());
    const keep = [...this.local].sort((x, y) => y[1] - x[1]).slice(0, KEEP_LOCAL);
    try { localStorage.setItem(this.storeKey, JSON.stringify(keep)); } catch (e) { /* kept for this page only */ }
    this.hooks.changed(a.incident);
  }

  alertsOf(id) {
    return [...this.alerts.values()].filter((a) => a.incident === id).sort((x, y) => y.seq - x.seq);
  }

  /* The clocks of `id` as shown now: {live: [...], waiting: [...]}, each {metric, state,
   * target_s, elapsed (s, ticking), left (s)}. */
  view(id) {
    const c = this.clocks.get(id);
    if (!c) return null;
    const since = (Date.now() - c.at) / 1000;
    const live = [];
    const waiting = [];
    for (const k of c.list) {
      if (LIVE.includes(k.state)) {
        const elapsed = (k.elapsed_s || 0) + since;
        const state = elapsed > k.target_s ? 'breached' : k.state;
        live.push({ metric: k.metric, state, target_s: k.target_s, elapsed, left: k.target_s - elapsed });
      } else if (k.state === 'waiting' && !/^(call|dispatch)_/.test(k.metric)) {
        waiting.push({ metric: k.metric, state: 'waiting', target_s: k.target_s });
      }
    }
    live.sort((x, y) => RANK[x.state] - RANK[y.state] || x.left - y.left);
    return { live, waiting };
  }

  /* Fills a card's clock strip (called each second). */
  renderClocks(box, id) {
    box.textContent = '';
    const v = this.view(id);
    if (!v) return;
    box.append(el('span', 'gtitle', t('clocks')));
    for (const c of v.live) {
      const d = el('div', `gclock st-${c.state}${WINDOWS.includes(c.metric) ? ' window' : ''}`);
      d.dataset.metric = c.metric;
      d.dataset.state = c.state;
      d.dataset.elapsed = String(Math.floor(c.elapsed));
      d.title = tWord('clock', c.state);
      const left = c.left >= 0
        ? t(WINDOWS.includes(c.metric) ? 'ed_gt_window_left' : 'ed_gt_left', { d: fmtDur(c.left) })
        : t('ed_gt_over', { d: fmtDur(-c.left) });
      const bar = el('span', 'gbar');
      const fill = el('i');
      fill.style.width = `${Math.min(100, (100 * c.elapsed) / c.target_s).toFixed(0)}%`;
      bar.append(fill);
      d.append(el('span', 'gname', tWord('metric', c.metric)),
        el('span', 'gval', `${fmtDur(c.elapsed)} / ${fmtDur(c.target_s)}`), el('span', 'gleft', left), bar);
      box.append(d);
    }
    if (v.waiting.length) {
      const w = el('div', 'gwait');
      w.append(el('span', 'gwl', tWord('clock', 'waiting')));
      for (const c of v.waiting) {
        const s = el('span', 'gw', `${tWord('metric', c.metric)} ${fmtDur(c.target_s)}`);
        s.dataset.metric = c.metric;
        s.dataset.state = 'waiting';
        w.append(s);
      }
      box.append(w);
    }
    if (!v.live.length && !v.waiting.length) box.append(el('span', 'gnone', t('ed_gt_none')));
  }

  /* One alert as a row: level, text, time, and the button or who acknowledged it. */
  alertRow(a, withId) {
    const d = el(withId ? 'li' : 'div', `galert lvl-${a.level}${a.acked ? ' acked' : ''}${a.local ? ' local' : ''}`);
    d.dataset.incident = a.incident;
    d.dataset.metric = a.metric;
    d.dataset.level = a.level;
    d.dataset.seq = String(a.seq);
    d.append(el('strong', 'glvl', t(`alert_${a.level}`, null, a.level)));
    if (withId) d.append(el('span', 'gid', a.incident));
    d.append(el('span', 'gtxt', this.alertText(a)), el('span', 'gtime', this.hooks.fmtTime(a.at)));
    if (a.acked) {
      d.append(el('span', 'gacked', a.local ? t('ed_gt_acked_local')
        : a.by ? t('ed_gt_acked_by', { by: who(a.by) }) : t('ed_gt_acked')));
    } else {
      const b = el('button', 'gack', t('ed_gt_ack'));
      b.type = 'button';
      b.disabled = this.busy.has(a.key);
      b.addEventListener('click', () => this.ack(a.key));
      d.append(b);
    }
    return d;
  }

  /* Fills a card's alerts: the newest CARD_MAX, acknowledged ones greyed. */
  renderCardAlerts(box, id) {
    box.textContent = '';
    for (const a of this.alertsOf(id).slice(0, CARD_MAX)) box.append(this.alertRow(a, false));
  }

  /* Fills the list at the top: the unacknowledged alerts of the board's patients, newest first. */
  renderTop(section) {
    const open = [...this.alerts.values()].filter((a) => !a.acked && this.ids.includes(a.incident))
      .sort((x, y) => Date.parse(y.at) - Date.parse(x.at) || y.seq - x.seq);
    const ul = section.querySelector('ul');
    ul.textContent = '';
    for (const a of open.slice(0, TOP_MAX)) ul.append(this.alertRow(a, true));
    section.querySelector('.gcount').textContent = open.length > TOP_MAX ? t('ed_gt_more', { n: open.length - TOP_MAX }) : '';
    section.hidden = open.length === 0;
  }

  alertText(a) {
    return t('ed_gt_alert', { metric: tWord('metric', a.metric), elapsed: fmtDur(a.elapsed_s), target: fmtDur(a.target_s) });
  }

  toastText(a) {
    return t('ed_gt_toast', { id: a.incident, level: t(`alert_${a.level}`, null, a.level), metric: tWord('metric', a.metric) });
  }

  /* For the test hook: every alert as plain data. */
  list() {
    return [...this.alerts.values()].map((a) => ({ incident: a.incident, seq: a.seq, metric: a.metric, level: a.level,
      pushed: a.pushed, seenAt: a.seenAt, acked: a.acked, by: a.by, local: a.local }));
  }
}

window.EdGolden = { GoldenBoard, fmtDur, REFRESH_MS };
})();
