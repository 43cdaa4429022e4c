// The console's map: Leaflet with vector layers only (no tile server, no CDN): the fleet as
// coloured markers (status colour, faded and dashed when stale), the open incidents, a dashed
// line from each assigned unit to its incident (until js/layers.js has its road route), and the
// pin of the call being taken. Fleet and incidents are layer groups the layer control
// (js/layers.js) switches. Markers are DOM elements carrying data-vehicle / data-incident,
// which the browser test reads.
(function () {
'use strict';

const STATUS_COLOURS = {
  available: '#1a9641', dispatched: '#f29e00', en_route: '#e66101', on_scene: '#d7191c',
  transporting: '#7b3294', at_hospital: '#2c7bb6', returning: '#4dac26', out_of_service: '#777777',
};

class ConsoleMap {
  /* el: the map's element; center: [lat, lon]; onPick(lat, lon): a click on empty map. */
  constructor(el, center, onPick) {
    this.map = L.map(el, { zoomControl: true, attributionControl: false, preferCanvas: false })
      .setView(center, 12);
    L.control.scale({ imperial: false, position: 'topleft' }).addTo(this.map);   // the legend covers the bottom
    // A much larger (or smaller) window, e.g. the page moved to a 4K wall: zoom so that about the
    // same area fills it, not the same area at the same scale in the middle.
    this.map.on('resize', (e) => {
      const k = Math.min(e.newSize.x / e.oldSize.x, e.newSize.y / e.oldSize.y);
      if (e.oldSize.x > 0 && (k >= 1.8 || k <= 0.55)) this.map.setZoom(this.map.getZoom() + Math.trunc(Math.log2(k)), { animate: false });
    });
    this.vehicles = new Map();   // id -> {marker, data}
    this.incidents = new Map();  // id -> {marker, line, data}
    this.vehicleLayer = L.layerGroup().addTo(this.map);
    this.incidentLayer = L.layerGroup().addTo(this.map);
    this.routed = new Set();     // incidents whose road route is drawn (js/layers.js): no dashed line
    this.pin = null;
    this.fitted = false;
    this.map.on('click', (e) => onPick(e.latlng.lat, e.latlng.lng));
  }

  vehicleIcon(v) {
    const stale = v.stale ? ' stale' : '';
    const label = escapeHtml(v.call_sign || v.id);
    return L.divIcon({
      className: `veh veh-${v.status}${stale}`,
      html: `<span class="dot" style="background:${STATUS_COLOURS[v.status] || '#555'}"></span>` +
            `<span class="lbl">${label}</span>`,
      iconSize: [14, 14], iconAnchor: [7, 7],
    });
  }

  /* Adds or moves the marker of vehicle `v` (an API vehicle object). */
  setVehicle(v) {
    let rec = this.vehicles.get(v.id);
    if (v.lat === undefined || v.lon === undefined) return;
    if (!rec) {
      const marker = L.marker([v.lat, v.lon], { icon: this.vehicleIcon(v), keyboard: false, zIndexOffset: 1000 });
      marker.addTo(this.vehicleLayer);
      rec = { marker, data: v, key: '' };
      this.vehicles.set(v.id, rec);
    } else {
      rec.marker.setLatLng([v.lat, v.lon]);
    }
    const key = `${v.status}|${v.stale}|${v.call_sign}`;
    if (key !== rec.key) { rec.marker.setIcon(this.vehicleIcon(v)); rec.key = key; }
    rec.data = v;
    const el = rec.marker.getElement();
    if (el) { el.dataset.vehicle = v.id; el.title = vehicleTitle(v); }
    this.updateLinesFor(v.id);
  }

  /* Zooms to the fleet once, the first time positions are known. */
  fitFleet() {
    if (this.fitted) return;
    const pts = [...this.vehicles.values()].map((r) => r.marker.getLatLng());
    if (pts.length === 0) return;
    this.map.fitBounds(L.latLngBounds(pts).pad(0.1), { maxZoom: 14 });
    this.fitted = true;
  }

  /* Adds, updates or (closed/cancelled) removes incident `inc`. onSelect(id) on a click. */
  setIncident(inc, onSelect, selected) {
    let rec = this.incidents.get(inc.id);
    const over = inc.state === 'closed' || inc.state === 'cancelled';
    if (over) {
      if (rec) { rec.marker.remove(); if (rec.line) rec.line.remove(); this.incidents.delete(inc.id); }
      return;
    }
    const icon = L.divIcon({
      className: `inc inc-p${inc.priority} inc-${inc.state}${selected ? ' selected' : ''}`,
      html: `<span class="cross">✚</span><span class="lbl">${escapeHtml(inc.id.slice(-4))}</span>`,
      iconSize: [20, 20], iconAnchor: [10, 10],
    });
    if (!rec) {
      const marker = L.marker([inc.lat, inc.lon], { icon, zIndexOffset: 500 }).addTo(this.incidentLayer);
      marker.on('click', (e) => { L.DomEvent.stopPropagation(e); onSelect(inc.id); });
      rec = { marker, line: null, data: inc };
      this.incidents.set(inc.id, rec);
    } else {
      rec.marker.setIcon(icon);
      rec.marker.setLatLng([inc.lat, inc.lon]);
    }
    rec.data = inc;
    const el = rec.marker.getElement();
    if (el) el.dataset.incident = inc.id;
    this.updateLine(rec);
  }

  updateLine(rec) {
    const v = rec.data.vehicle && this.vehicles.get(rec.data.vehicle);
    if (!v || this.routed.has(rec.data.id)) { if (rec.line) { rec.line.remove(); rec.line = null; } return; }
    const pts = [v.marker.getLatLng(), [rec.data.lat, rec.data.lon]];
    if (!rec.line) rec.line = L.polyline(pts, { color: '#e66101', weight: 2, dashArray: '6 6', interactive: false }).addTo(this.incidentLayer);
    else rec.line.setLatLngs(pts);
  }

  /* The road route of incident `id` is drawn (true) or gone (false): the dashed line gives way. */
  setRouted(id, routed) {
    if (routed) this.routed.add(id); else this.routed.delete(id);
    const rec = this.incidents.get(id);
    if (rec) this.updateLine(rec);
  }

  updateLinesFor(vehicleId) {
    for (const rec of this.incidents.values()) if (rec.data.vehicle === vehicleId) this.updateLine(rec);
  }

  /* The pin of the call being taken; null removes it. */
  setPin(lat, lon) {
    if (lat === null) { if (this.pin) { this.pin.remove(); this.pin = null; } return; }
    if (!this.pin) {
      this.pin = L.circleMarker([lat, lon], { radius: 9, color: '#c00', weight: 3, fillColor: '#fff', fillOpacity: 0.6, interactive: false }).addTo(this.map);
    } else this.pin.setLatLng([lat, lon]);
    if (!this.map.getBounds().contains([lat, lon])) this.map.panTo([lat, lon]);
  }

  flyTo(lat, lon) { this.map.panTo([lat, lon]); }

  invalidate() { this.map.invalidateSize(); }
}

function vehicleTitle(v) {
  const st = I18N.tWord('status', v.status);
  return `${v.call_sign || ''} ${v.id} ${v.kind || ''} · ${st}${v.stale ? ' · ' + I18N.t('stale') : ''}` +
    (v.incident ? ` · ${v.incident}` : '');
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

window.ConsoleMap = ConsoleMap;
window.STATUS_COLOURS = STATUS_COLOURS;
window.escapeHtml = escapeHtml;
})();
