// The map's data layers beyond the fleet and the incidents (js/map.js), and the layer control
// that switches all of them: the road network (op map.roads, asked for the visible box after
// every move and drawn as one thin multi-line on its own canvas: a county is ~100k segments),
// stations and hospitals with their live status (op map.layers, every 30 s and after this
// page's own hospital.status), the road route of each assigned unit (op route, every 10 s for
// every open incident with a unit, and at once for the selected one), and the 15/30-minute
// coverage (op coverage with points: each demand point covered or not, the share in the
// legend; every 60 s while shown). Which layers are shown is remembered in localStorage.
// Apart from the switched layers: the route of the candidate selected in the candidates list
// (op route with its vehicle; dashed blue), drawn and removed as js/app.js asks.
(function () {
'use strict';

const ROADS_MAX = 50000;
const LAYERS_POLL_MS = 30000;
const ROUTES_POLL_MS = 10000;
const COVERAGE_POLL_MS = 60000;
const ROUTE_STATES = ['dispatched', 'en_route', 'on_scene', 'transporting'];
const NAMES = ['roads', 'stations', 'hospitals', 'vehicles', 'incidents', 'routes', 'coverage'];
const DEFAULT_ON = { roads: true, stations: true, hospitals: true, vehicles: true, incidents: true, routes: true, coverage: false };
const STORE_KEY = 'goldline.layers';

class MapLayers {
  /* cmap: the ConsoleMap; opts: request(op, args) -> promise, can(op) -> bool (the role's
   * rights), incidents() -> the known incidents, selected() -> the selected incident's id,
   * onChange() -> the legend should be redrawn. */
  constructor(cmap, opts) {
    this.cmap = cmap;
    this.map = cmap.map;
    this.opts = opts;
    this.map.createPane('roads').style.zIndex = 250;
    this.map.createPane('coverage').style.zIndex = 390;
    this.roadRenderer = L.canvas({ pane: 'roads', padding: 0.3 });
    this.coverageRenderer = L.canvas({ pane: 'coverage', padding: 0.3 });
    this.groups = {
      roads: L.layerGroup(), stations: L.layerGroup(), hospitals: L.layerGroup(),
      vehicles: cmap.vehicleLayer, incidents: cmap.incidentLayer, routes: L.layerGroup(), coverage: L.layerGroup(),
    };
    this.on = Object.assign({}, DEFAULT_ON, loadChoice());
    this.roads = { line: null, box: null, truncated: false, total: 0, shown: 0, seq: 0, error: null };
    this.hospitals = new Map();   // id -> {marker, data}
    this.stations = new Map();    // id -> marker
    this.routes = new Map();      // incident id -> {line, data}
    this.coverage = { result: null, points: 0, error: null, seq: 0 };
    this.previewGroup = L.layerGroup().addTo(this.map);   // a candidate's route (not switched)
    this.preview = { key: null, seq: 0, line: null, data: null, pending: false };
    this.layersError = null;
    this.bounds = null;           // of the road graph (map.layers)
    this.timers = [];
    this.control = null;
    this.map.on('moveend', () => this.loadRoads());
  }

  available(name) { return name !== 'coverage' || this.opts.can('coverage'); }

  /* Starts the layers after a login: draws what is switched on, polls, adds the control. */
  start() {
    this.stop();
    for (const n of NAMES) this.apply(n);
    this.addControl();
    this.refreshLayers();
    this.loadRoads(true);
    this.refreshRoutes();
    if (this.on.coverage && this.available('coverage')) this.refreshCoverage();
    this.timers.push(setInterval(() => this.refreshLayers(), LAYERS_POLL_MS));
    this.timers.push(setInterval(() => this.refreshRoutes(), ROUTES_POLL_MS));
    this.timers.push(setInterval(() => { if (this.on.coverage && this.available('coverage')) this.refreshCoverage(); }, COVERAGE_POLL_MS));
  }

  stop() { this.timers.forEach(clearInterval); this.timers = []; }

  /* A reconnect: everything again, the roads of the view included. */
  refreshAll() { this.roads.box = null; this.start(); }

  apply(name) {
    const show = this.on[name] && this.available(name);
    const g = this.groups[name];
    if (show && !this.map.hasLayer(g)) g.addTo(this.map);
    if (!show && this.map.hasLayer(g)) g.remove();
  }

  /* Switches layer `name` on or off (the control's checkboxes call this). */
  setVisible(name, show) {
    this.on[name] = !!show;
    saveChoice(this.on);
    this.apply(name);
    if (show && name === 'roads') this.loadRoads(true);
    if (show && name === 'coverage') this.refreshCoverage();
    if (show && name === 'routes') this.refreshRoutes();
    this.paintControl();
    this.opts.onChange();
  }

  /* ---- the layer control ------------------------------------------------------------------ */
  addControl() {
    if (this.control) this.control.remove();
    const self = this;
    const Ctl = L.Control.extend({
      onAdd() {
        const div = L.DomUtil.create('div', 'layer-ctl');
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        self.ctlEl = div;
        self.paintControl();
        return div;
      },
    });
    this.control = new Ctl({ position: 'topright' }).addTo(this.map);
  }

  /* Redraws the control's rows (also after a language switch). */
  paintControl() {
    const div = this.ctlEl;
    if (!div) return;
    const { t } = I18N;
    div.textContent = '';
    const h = document.createElement('div');
    h.className = 'ctl-title';
    h.textContent = t('layers');
    div.appendChild(h);
    for (const n of NAMES) {
      if (!this.available(n)) continue;
      const label = document.createElement('label');
      label.dataset.layer = n;
      const cb = document.createElement('input');
      cb.type = 'checkbox';
      cb.checked = !!this.on[n];
      cb.dataset.layer = n;
      cb.addEventListener('change', () => this.setVisible(n, cb.checked));
      label.appendChild(cb);
      label.appendChild(document.createTextNode(` ${t(`layer_${n}`)}`));
      const info = this.info(n);
      if (info) {
        const s = document.createElement('small');
        s.className = `info info-${n}`;
        s.textContent = info;
        label.appendChild(s);
      }
      div.appendChild(label);
    }
  }

  info(n) {
    const { t } = I18N;
    if (n === 'roads') {
      if (this.roads.error) return t('layer_unavailable', { msg: this.roads.error });
      if (this.roads.total === 0 && this.roads.box) return t('roads_none');
      if (this.roads.truncated) return t('roads_truncated', { n: this.roads.shown, total: this.roads.total });
      return '';
    }
    if ((n === 'hospitals' || n === 'stations') && this.layersError) return t('layer_unavailable', { msg: this.layersError });
    if (n === 'coverage' && this.on.coverage) {
      if (this.coverage.error) return t('layer_unavailable', { msg: this.coverage.error });
      if (this.coverage.result) return t('coverage_share', { pct: pct(this.coverage.result.share) });
    }
    return '';
  }

  /* Legend entries of the layers shown (appended to the status legend by js/app.js). */
  legendHtml() {
    const { t } = I18N;
    let h = '';
    if (this.on.hospitals) {
      h += `<span><i class="lg-hosp"></i>${escapeHtml(t('legend_hospital'))}</span>` +
        `<span><i class="lg-hosp diversion"></i>${escapeHtml(t('legend_diversion'))}</span>` +
        `<span><i class="lg-ready ok"></i>${escapeHtml(t('legend_ready'))}</span>` +
        `<span><i class="lg-ready no"></i>${escapeHtml(t('legend_not_ready'))}</span>`;
    }
    if (this.on.stations) h += `<span><i class="lg-station"></i>${escapeHtml(t('legend_station'))}</span>`;
    if (this.on.routes) h += `<span><i class="lg-route"></i>${escapeHtml(t('legend_route_scene'))}</span>` +
      `<span><i class="lg-route dest"></i>${escapeHtml(t('legend_route_destination'))}</span>`;
    if (this.preview.line) h += `<span><i class="lg-route cand"></i>${escapeHtml(t('legend_route_candidate'))}</span>`;
    if (this.on.coverage && this.available('coverage') && this.coverage.result) {
      const r = this.coverage.result;
      h += `<span class="lg-coverage" data-share="${r.share}"><i style="background:#1a9641"></i>${escapeHtml(t('legend_covered'))} ` +
        `<i style="background:#d7191c"></i>${escapeHtml(t('legend_uncovered'))} ` +
        `<b>${escapeHtml(t('coverage_share', { pct: pct(r.share) }))}</b></span>`;
    }
    return h;
  }

  /* ---- roads -------------------------------------------------------------------------------- */
  /* Asks for the roads of the view (padded by a quarter) unless the last answer holds them all. */
  loadRoads(force) {
    if (!this.on.roads || !this.opts.ready()) return;
    const view = this.map.getBounds();
    if (!force && this.roads.box && !this.roads.truncated && this.roads.box.contains(view)) return;
    clearTimeout(this.roads.timer);
    this.roads.timer = setTimeout(() => this.fetchRoads(), force ? 0 : 150);
  }

  async fetchRoads() {
    const b = this.map.getBounds().pad(0.25);
    const seq = ++this.roads.seq;
    try {
      const r = await this.opts.request('map.roads', { bbox: [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()], max: ROADS_MAX });
      if (seq !== this.roads.seq) return;
      const parts = r.segments.map((s) => [[s[0], s[1]], [s[2], s[3]]]);
      if (this.roads.line) this.roads.line.remove();
      this.roads.line = parts.length ? L.polyline(parts, { renderer: this.roadRenderer, color: '#7d8590', weight: 1.2 * remScale(), opacity: 0.9, interactive: false }) : null;
      if (this.roads.line) this.roads.line.addTo(this.groups.roads);
      Object.assign(this.roads, { box: b, truncated: !!r.truncated, total: r.total !== undefined ? r.total : parts.length, shown: parts.length, error: null });
    } catch (e) {
      if (seq !== this.roads.seq) return;
      this.roads.error = e.code || 'error';
    }
    this.paintControl();
  }

  /* ---- hospitals and stations ---------------------------------------------------------------- */
  async refreshLayers() {
    if (!this.opts.ready()) return;
    try {
      const r = await this.opts.request('map.layers');
      this.layersError = null;
      this.bounds = r.bounds || null;
      this.drawStations(r.stations || []);
      this.drawHospitals(r.hospitals || []);
    } catch (e) {
      this.layersError = e.code || 'error';
    }
    this.paintControl();
  }

  drawStations(list) {
    const seen = new Set();
    for (const s of list) {
      seen.add(s.id);
      let m = this.stations.get(s.id);
      if (!m) {
        m = L.marker([s.lat, s.lon], { icon: L.divIcon({ className: 'station', html: '<span class="st">✚</span>', iconSize: [14, 14], iconAnchor: [7, 7] }),
          keyboard: false, zIndexOffset: -200 }).addTo(this.groups.stations);
        this.stations.set(s.id, m);
      } else m.setLatLng([s.lat, s.lon]);
      const el = m.getElement();
      if (el) { el.dataset.station = s.id; el.title = `${I18N.t('legend_station')}: ${s.name || s.id}`; }
    }
    for (const [id, m] of this.stations) if (!seen.has(id)) { m.remove(); this.stations.delete(id); }
  }

  hospitalIcon(h) {
    const caps = h.capabilities || [];
    const badges = [];
    if (caps.includes('pci')) badges.push(`<b class="rd ${h.cath_lab_ready ? 'ok' : 'no'}">PCI</b>`);
    if (caps.includes('stroke_ivt') || caps.includes('stroke_evt')) badges.push(`<b class="rd ${h.ct_ready ? 'ok' : 'no'}">CT</b>`);
    return L.divIcon({
      className: `hosp${h.on_diversion ? ' diversion' : ''}`,
      html: `<span class="h">H</span><span class="badges">${badges.join('')}</span>` +
        `<span class="lbl">${escapeHtml(h.name || h.id)}${h.on_diversion ? ' · ' + escapeHtml(I18N.t('hosp_diversion')) : ''}</span>`,
      iconSize: [18, 18], iconAnchor: [9, 9],
    });
  }

  drawHospitals(list) {
    const seen = new Set();
    for (const h of list) {
      seen.add(h.id);
      let rec = this.hospitals.get(h.id);
      const key = JSON.stringify([h.name, h.capabilities, h.cath_lab_ready, h.ct_ready, h.on_diversion, I18N.getLang()]);
      if (!rec) {
        const marker = L.marker([h.lat, h.lon], { icon: this.hospitalIcon(h), keyboard: false, zIndexOffset: 200 }).addTo(this.groups.hospitals);
        marker.on('click', (e) => { L.DomEvent.stopPropagation(e); this.openHospital(h.id); });
        rec = { marker, data: h, key };
        this.hospitals.set(h.id, rec);
      } else {
        rec.marker.setLatLng([h.lat, h.lon]);
        if (rec.key !== key) { rec.marker.setIcon(this.hospitalIcon(h)); rec.key = key; }
        rec.data = h;
      }
      const el = rec.marker.getElement();
      if (el) {
        el.dataset.hospital = h.id;
        el.dataset.diversion = String(!!h.on_diversion);
        el.title = hospitalTitle(h);
      }
    }
    for (const [id, rec] of this.hospitals) if (!seen.has(id)) { rec.marker.remove(); this.hospitals.delete(id); }
  }

  /* The hospital's popup: its status, and for a role that may change it, the switches. */
  openHospital(id) {
    const rec = this.hospitals.get(id);
    if (!rec) return;
    const h = rec.data;
    const { t } = I18N;
    const div = document.createElement('div');
    div.className = 'hosp-pop';
    div.dataset.hospital = id;
    div.innerHTML = `<b>${escapeHtml(h.name || h.id)}</b> <small>${escapeHtml(h.id)}</small><br>` +
      `${escapeHtml((h.capabilities || []).map((c) => I18N.tWord('cap', c)).join(' · '))}<br>` +
      `<span class="${h.on_diversion ? 'bad' : 'good'}">${escapeHtml(t(h.on_diversion ? 'hosp_diversion' : 'hosp_open'))}</span> · ` +
      `${escapeHtml(t('hosp_cath'))}: ${escapeHtml(t(h.cath_lab_ready ? 'hosp_ready' : 'hosp_not_ready'))} · ` +
      `${escapeHtml(t('hosp_ct'))}: ${escapeHtml(t(h.ct_ready ? 'hosp_ready' : 'hosp_not_ready'))}`;
    if (this.opts.can('hospital.status')) {
      const row = document.createElement('div');
      row.className = 'pop-actions';
      // Each button flips one field: [field, its label while the field is true, while false].
      for (const [field, whenTrue, whenFalse] of [['on_diversion', 'hosp_end_diversion', 'hosp_set_diversion'],
        ['cath_lab_ready', 'hosp_set_cath_down', 'hosp_set_cath_up'], ['ct_ready', 'hosp_set_ct_down', 'hosp_set_ct_up']]) {
        const b = document.createElement('button');
        b.type = 'button';
        b.dataset.field = field;
        b.textContent = t(h[field] ? whenTrue : whenFalse);
        b.addEventListener('click', () => this.setHospital(id, field, !h[field]));
        row.appendChild(b);
      }
      div.appendChild(row);
    }
    L.popup({ autoPan: true, className: 'hosp-popup' }).setLatLng([h.lat, h.lon]).setContent(div).openOn(this.map);
  }

  async setHospital(id, field, value) {
    try {
      await this.opts.request('hospital.status', { hospital: id, [field]: value });
      this.map.closePopup();
      await this.refreshLayers();
    } catch (e) {
      this.opts.toast(I18N.t('error', { msg: `${e.code || ''} ${e.message || ''}` }), true);
    }
  }

  /* ---- routes ------------------------------------------------------------------------------ */
  /* Asks for the route of every open incident with a unit on the way (or `only` that one). */
  async refreshRoutes(only) {
    if (!this.opts.ready() || !this.on.routes) return;
    const want = new Map();
    for (const inc of this.opts.incidents()) {
      if (inc.vehicle && ROUTE_STATES.includes(inc.state)) want.set(inc.id, inc);
    }
    if (!only) {
      for (const id of [...this.routes.keys()]) if (!want.has(id)) this.dropRoute(id);
    }
    const ids = only ? (want.has(only) ? [only] : []) : [...want.keys()];
    if (only && !want.has(only)) this.dropRoute(only);
    await Promise.all(ids.map(async (id) => {
      try {
        const r = await this.opts.request('route', { incident: id });
        if (!this.on.routes) return;
        this.drawRoute(id, r);
      } catch (e) {
        this.dropRoute(id);
      }
    }));
  }

  drawRoute(id, r) {
    if (!r.path || r.path.length < 2) { this.dropRoute(id); return; }
    const sel = this.opts.selected() === id;
    const style = {
      color: r.to === 'destination' ? '#7b3294' : '#e66101', weight: (sel ? 6 : 4) * remScale(), opacity: sel ? 0.95 : 0.75,
      dashArray: r.eta_method === 'straight_line' ? '8 6' : null, interactive: false,
      className: `route route-${r.to}${sel ? ' selected' : ''}`,
    };
    let rec = this.routes.get(id);
    if (rec && rec.data.to !== r.to) { this.dropRoute(id); rec = null; }
    if (!rec) {
      const line = L.polyline(r.path, style).addTo(this.groups.routes);
      rec = { line, data: r };
      this.routes.set(id, rec);
    } else {
      rec.line.setLatLngs(r.path);
      rec.line.setStyle(style);
      rec.data = r;
    }
    const el = rec.line.getElement();
    if (el) {
      el.dataset.incident = id;
      el.dataset.vehicle = r.vehicle || '';
      el.setAttribute('class', style.className);   // setStyle() leaves the class as created
    }
    this.cmap.setRouted(id, true);
  }

  dropRoute(id) {
    const rec = this.routes.get(id);
    if (rec) { rec.line.remove(); this.routes.delete(id); }
    this.cmap.setRouted(id, false);
  }

  /* The selected incident changed or one incident changed: its route now. */
  routeChanged(id) { if (id) this.refreshRoutes(id); }

  /* ---- a candidate's route ----------------------------------------------------------------- */
  /* Draws the road route of candidate unit `vehicle` to the scene of incident `incident` (op
   * route with that vehicle), dashed blue so that it is not taken for an assigned unit's route;
   * one at a time: a new one replaces it, and null (or no argument) removes it. Drawn whatever
   * the routes layer shows, as part of the candidates list. Resolves when drawn or dropped. */
  async previewRoute(incident, vehicle) {
    const key = incident && vehicle ? `${incident}/${vehicle}` : null;
    const p = this.preview;
    if (key === p.key && (p.line || p.pending)) return;
    p.key = key;
    const seq = ++p.seq;
    if (!key) { this.dropPreview(); return; }
    if (!this.opts.ready()) return;
    p.pending = true;
    let r = null;
    try { r = await this.opts.request('route', { incident, vehicle }); } catch (e) { r = null; }
    if (seq !== p.seq) return;
    p.pending = false;
    this.dropPreview();
    if (!r || !r.path || r.path.length < 2) return;
    p.line = L.polyline(r.path, { color: '#2c7bb6', weight: 4 * remScale(), opacity: 0.9, dashArray: '10 7',
      interactive: false, className: 'route route-candidate' }).addTo(this.previewGroup);
    p.data = r;
    const el = p.line.getElement();
    if (el) { el.dataset.incident = incident; el.dataset.vehicle = vehicle; }
    this.opts.onChange();
  }

  dropPreview() {
    const p = this.preview;
    if (p.line) { p.line.remove(); p.line = null; p.data = null; this.opts.onChange(); }
  }

  /* For the browser test: the candidate route drawn now, or null. */
  previewShown() {
    const p = this.preview;
    return p.line ? { vehicle: p.data.vehicle, incident: p.data.incident, eta_method: p.data.eta_method,
      path: p.line.getLatLngs().map((q) => [q.lat, q.lng]) } : null;
  }

  /* The hospitals as map.layers last gave them (for the destination picker). */
  hospitalList() { return [...this.hospitals.values()].map((r) => r.data); }

  /* ---- coverage ---------------------------------------------------------------------------- */
  async refreshCoverage() {
    if (!this.opts.ready() || !this.available('coverage')) return;
    const seq = ++this.coverage.seq;
    try {
      const r = await this.opts.request('coverage', { points: true });
      if (seq !== this.coverage.seq) return;
      this.coverage.result = r;
      this.coverage.error = null;
      this.groups.coverage.clearLayers();
      const pts = r.points_detail || [];
      const { t } = I18N;
      for (const p of pts) {
        const radius = 3 + Math.min(7, Math.log10(1 + (p.population || 0)) * 1.6);
        const c = L.circleMarker([p.lat, p.lon], { renderer: this.coverageRenderer, radius, weight: 1, color: '#fff',
          fillColor: p.covered ? '#1a9641' : '#d7191c', fillOpacity: 0.85 });
        c.bindTooltip(`${p.name} · ${t(p.covered ? 'legend_covered' : 'legend_uncovered')}` +
          `${p.population ? ' · ' + t('place_pop', { n: p.population.toLocaleString() }) : ''}` +
          `${p.best_eta_s !== undefined && p.best_eta_s !== null ? ' · ' + t('coverage_eta', { m: Math.round(p.best_eta_s / 60) }) : ''}`);
        c.covered = !!p.covered;
        c.addTo(this.groups.coverage);
      }
      this.coverage.points = pts.length;
    } catch (e) {
      if (seq !== this.coverage.seq) return;
      this.coverage.error = e.code || 'error';
      this.coverage.result = null;
    }
    this.paintControl();
    this.opts.onChange();
  }

  /* For the browser test: what each layer holds now. */
  counts() {
    let covered = 0;
    let uncovered = 0;
    this.groups.coverage.eachLayer((l) => { if (l.covered) covered++; else uncovered++; });
    return {
      roads: this.roads.line && this.map.hasLayer(this.groups.roads) ? this.roads.shown : 0,
      roadsTotal: this.roads.total,
      hospitals: this.hospitals.size, stations: this.stations.size, routes: this.routes.size,
      covered: this.map.hasLayer(this.groups.coverage) ? covered : 0,
      uncovered: this.map.hasLayer(this.groups.coverage) ? uncovered : 0,
    };
  }

  /* For the browser test: how many pixels of the roads' canvas are drawn on. */
  roadPixels() {
    const c = this.map.getPane('roads').querySelector('canvas');
    if (!c || !c.width) return 0;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  }
}

/* Line widths follow the root font size (13 px at 1366x768, up to 30 px on a 4K wall). */
function remScale() { return (parseFloat(getComputedStyle(document.documentElement).fontSize) || 13) / 13; }

function pct(share) { return `${(100 * share).toFixed(1)}%`; }

function hospitalTitle(h) {
  const { t } = I18N;
  return `${h.name || h.id} (${h.id}) · ${t(h.on_diversion ? 'hosp_diversion' : 'hosp_open')} · ` +
    `${t('hosp_cath')} ${t(h.cath_lab_ready ? 'hosp_ready' : 'hosp_not_ready')} · ${t('hosp_ct')} ${t(h.ct_ready ? 'hosp_ready' : 'hosp_not_ready')}`;
}

function loadChoice() {
  try { return JSON.parse(localStorage.getItem(STORE_KEY) || '{}') || {}; } catch (e) { return {}; }
}

function saveChoice(on) {
  try { localStorage.setItem(STORE_KEY, JSON.stringify(on)); } catch (e) { /* private mode */ }
}

window.MapLayers = MapLayers;
})();
