// The ED board's ECG: decoding the dispatcher's binary ECG frames (docs/api.md, "Live vitals and
// ECG": magic GLE1, little-endian header, int16 samples lead after lead), keeping the last
// seconds of each patient's leads, the test checksum, and drawing a scrolling 12-lead strip on
// a <canvas> at paper scale: 25 mm/s and 10 mm/mV on a 1 mm / 5 mm grid, with px/mm taken from
// CSS pixels (96 px per inch: 3.78 px/mm; the canvas backing store is scaled by
// devicePixelRatio so the lines stay sharp). Limb leads (I, II, III, aVR, aVL, aVF) on the left,
// V1–V6 on the right, both over the same seconds, newest at the right edge; a 1 mV / 200 ms
// calibration pulse opens each row. Samples the session never got (an `ecg.gap` marker from the
// server, or a hole in first_sample_index) break the trace and are shaded.
//
// Checksum (window.__edTest.checksum): FNV-1a 32 bit over every received sample's two
// little-endian bytes, frames in first_sample_index order, lead-major within a frame. Frames
// are hashed once they are more than REORDER_S seconds behind the newest one (or when a
// checksum is asked for), in index order, so that frames arriving out of order within that
// window still hash in stream order; a frame already seen (same index) counts once.
(function () {
'use strict';

const PX_PER_MM = 96 / 25.4;           // CSS px per mm
const MM_PER_S = 25;
const MM_PER_MV = 10;
const ROW_MM = 14;                     // height of one lead's row
const ROWS = 6;
const KEEP_S = 12;                     // seconds of samples kept per patient for drawing
const REORDER_S = 3;                   // frames younger than this may still be reordered
const LAG_S = 0.25;                    // the right edge runs this far behind the newest sample

// MDC_ECG_LEAD_* codes and where each lead is drawn: [column, row].
const SLOTS = new Map([
  [131329, [0, 0]], [131330, [0, 1]], [131389, [0, 2]], [131390, [0, 3]], [131391, [0, 4]], [131392, [0, 5]],
  [131331, [1, 0]], [131332, [1, 1]], [131333, [1, 2]], [131334, [1, 3]], [131335, [1, 4]], [131336, [1, 5]],
]);
const NAMES = { 131329: 'I', 131330: 'II', 131389: 'III', 131390: 'aVR', 131391: 'aVL', 131392: 'aVF',
  131331: 'V1', 131332: 'V2', 131333: 'V3', 131334: 'V4', 131335: 'V5', 131336: 'V6' };

/* decodeFrame(buf): the binary frame in ArrayBuffer `buf` as {incident, vehicle, fs, n, leads,
 * uvPerLsb, t0, index, sentAt, codes, names, samples (Int16Array, lead-major), bytes (Uint8Array
 * of the samples, as sent)}; null when it is not a well-formed GLE1 frame. */
function decodeFrame(buf) {
  if (!(buf instanceof ArrayBuffer) || buf.byteLength < 46) return null;
  const dv = new DataView(buf);
  const u8 = new Uint8Array(buf);
  if (u8[0] !== 0x47 || u8[1] !== 0x4c || u8[2] !== 0x45 || u8[3] !== 0x31) return null;   // "GLE1"
  const h = dv.getUint16(4, true);
  const leads = dv.getUint16(6, true);
  const fs = dv.getUint32(8, true);
  const n = dv.getUint32(12, true);
  if (h % 2 || h + 2 * leads * n > buf.byteLength || !leads || !fs) return null;
  const dec = new TextDecoder();
  let off = 44;
  const str = () => {
    const len = u8[off];
    const s = dec.decode(u8.subarray(off + 1, off + 1 + len));
    off += 1 + len;
    return s;
  };
  const incident = str();
  const vehicle = str();
  const codes = [];
  for (let i = 0; i < leads; i++, off += 4) codes.push(dv.getUint32(off, true));
  const names = [];
  for (let i = 0; i < leads; i++) names.push(str());
  if (off > h) return null;
  const samples = new Int16Array(leads * n);
  for (let i = 0; i < leads * n; i++) samples[i] = dv.getInt16(h + 2 * i, true);
  return {
    incident, vehicle, fs, n, leads, codes, names, samples,
    uvPerLsb: dv.getFloat32(16, true),
    t0: dv.getFloat64(20, true),
    index: dv.getFloat64(28, true),
    sentAt: dv.getFloat64(36, true),
    bytes: u8.slice(h, h + 2 * leads * n),
  };
}

function fnv1a(h, bytes) {
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h;
}

/* One patient's ECG: frames kept for drawing, gaps, counters and the running checksum. */
class EcgTrace {
  constructor() {
    this.frames = [];          // kept for drawing, by index
    this.gaps = [];            // {from, to} sample indices (to exclusive) not received
    this.pending = [];         // frames not hashed yet
    this.seen = new Set();     // indices of recent frames (duplicates)
    this.fnv = 2166136261;
    this.samples = 0;          // int16 values received (every lead)
    this.nframes = 0;
    this.gapMarkers = 0;       // ecg.gap events from the server
    this.holes = 0;            // holes in first_sample_index seen here
    this.late = 0;             // frames that came after later ones were already hashed
    this.fs = 500;
    this.newest = -1;          // index one past the newest sample
    this.hashedTo = -1;        // index one past the last hashed frame
    this.play = null;          // sample index at the right edge while drawing
    this.lastDraw = 0;
    this.layout = null;        // lead index -> [col, row, name], from the first frame
    this.lastRx = 0;           // Date.now() of the newest frame
  }

  add(f) {
    if (this.seen.has(f.index)) return;
    this.seen.add(f.index);
    if (this.seen.size > 4000) this.seen = new Set([...this.seen].slice(-2000));
    this.fs = f.fs;
    this.lastRx = Date.now();
    this.samples += f.leads * f.n;
    this.nframes += 1;
    if (f.index < this.hashedTo) this.late += 1;
    if (this.newest >= 0 && f.index > this.newest) {
      this.holes += 1;
      this.gaps.push({ from: this.newest, to: f.index });
    }
    this.pending.push(f);
    this.frames.push(f);
    if (this.frames.length > 1 && f.index < this.frames[this.frames.length - 2].index)
      this.frames.sort((a, b) => a.index - b.index);
    this.newest = Math.max(this.newest, f.index + f.n);
    if (!this.layout || this.layout.length !== f.leads) this.layout = layoutOf(f);
    const keepFrom = this.newest - KEEP_S * f.fs;
    while (this.frames.length && this.frames[0].index + this.frames[0].n < keepFrom) this.frames.shift();
    while (this.gaps.length && this.gaps[0].to < keepFrom) this.gaps.shift();
    this.flush(this.newest - REORDER_S * f.fs);
  }

  addGap(m) {
    this.gapMarkers += 1;
    const from = Number(m.first_sample_index);
    this.gaps.push({ from, to: from + Number(m.samples) });
  }

  /* Hashes, in index order, every pending frame that starts before `upTo` (all: Infinity). */
  flush(upTo) {
    if (!this.pending.length) return;
    this.pending.sort((a, b) => a.index - b.index);
    while (this.pending.length && this.pending[0].index < upTo) {
      const f = this.pending.shift();
      this.fnv = fnv1a(this.fnv, f.bytes);
      this.hashedTo = Math.max(this.hashedTo, f.index + f.n);
      f.bytes = null;
    }
  }

  checksum() {
    this.flush(Infinity);
    return `0x${this.fnv.toString(16).padStart(8, '0')}`;
  }
}

function layoutOf(f) {
  const used = new Set();
  const out = [];
  for (let i = 0; i < f.leads; i++) {
    const slot = SLOTS.get(f.codes[i]);
    const key = slot && `${slot[0]},${slot[1]}`;
    if (slot && !used.has(key)) {
      used.add(key);
      out.push([slot[0], slot[1], NAMES[f.codes[i]]]);
    } else out.push(null);
  }
  // Leads without a standard code (e.g. Frank leads) take the free rows in order.
  for (let i = 0; i < f.leads; i++) {
    if (out[i]) continue;
    for (let k = 0; k < 2 * ROWS; k++) {
      const c = k < ROWS ? 0 : 1;
      const r = k % ROWS;
      if (!used.has(`${c},${r}`)) { used.add(`${c},${r}`); out[i] = [c, r, f.names[i] || `#${i + 1}`]; break; }
    }
  }
  return out;
}

/* The paper: minor lines every 1 mm, major every 5 mm, drawn once per canvas size. */
function drawGrid(ctx, w, h) {
  ctx.fillStyle = '#fffaf7';
  ctx.fillRect(0, 0, w, h);
  const step = PX_PER_MM;
  for (let pass = 0; pass < 2; pass++) {
    ctx.beginPath();
    ctx.strokeStyle = pass ? '#f0a3a3' : '#fbdcdc';
    ctx.lineWidth = pass ? 1 : 0.5;
    for (let i = 0, x = 0; x <= w; i++, x = i * step) {
      if ((i % 5 === 0) !== !!pass) continue;
      ctx.moveTo(Math.round(x) + 0.5, 0);
      ctx.lineTo(Math.round(x) + 0.5, h);
    }
    for (let i = 0, y = 0; y <= h; i++, y = i * step) {
      if ((i % 5 === 0) !== !!pass) continue;
      ctx.moveTo(0, Math.round(y) + 0.5);
      ctx.lineTo(w, Math.round(y) + 0.5);
    }
    ctx.stroke();
  }
}

/* Sizes `canvas` to its CSS width and ROWS rows of ROW_MM, with a sharp backing store. */
function fitCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(200, Math.floor(canvas.clientWidth || canvas.parentNode.clientWidth || 600));
  const h = Math.round(ROWS * ROW_MM * PX_PER_MM);
  if (canvas._w === w && canvas._h === h && canvas._dpr === dpr) return;
  canvas._w = w; canvas._h = h; canvas._dpr = dpr;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  canvas.style.height = `${h}px`;
  const grid = document.createElement('canvas');
  grid.width = canvas.width;
  grid.height = canvas.height;
  const g = grid.getContext('2d');
  g.scale(dpr, dpr);
  drawGrid(g, w, h);
  canvas._grid = grid;
}

/* Draws trace `tr` on `canvas` for wall time `nowMs` (the right edge advances at real time,
 * LAG_S behind the newest sample, and waits when no sample has come). */
function drawTrace(canvas, tr, nowMs) {
  fitCanvas(canvas);
  const ctx = canvas.getContext('2d');
  const dpr = canvas._dpr;
  const w = canvas._w, h = canvas._h;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.drawImage(canvas._grid, 0, 0);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const colW = w / 2;
  const rowH = ROW_MM * PX_PER_MM;
  const calW = 5 * PX_PER_MM;                         // the calibration pulse's room (200 ms)
  const pxPerSample = (MM_PER_S * PX_PER_MM) / tr.fs;
  const span = (colW - calW - 2 * PX_PER_MM) / pxPerSample;   // samples across a column
  // The right edge: sample index, advancing with the wall clock.
  if (tr.newest >= 0) {
    const target = tr.newest - LAG_S * tr.fs;
    if (tr.play === null || target - tr.play > 2 * tr.fs || tr.play > tr.newest) tr.play = target;
    else tr.play = Math.min(tr.newest, tr.play + ((nowMs - tr.lastDraw) / 1000) * tr.fs);
  }
  tr.lastDraw = nowMs;
  ctx.font = `${Math.round(3 * PX_PER_MM)}px sans-serif`;
  for (let c = 0; c < 2; c++) {
    const x0 = c * colW;
    if (c) { ctx.strokeStyle = '#c88'; ctx.lineWidth = 1; ctx.beginPath(); ctx.moveTo(x0 + 0.5, 0); ctx.lineTo(x0 + 0.5, h); ctx.stroke(); }
    for (let r = 0; r < ROWS; r++) {
      const base = r * rowH + rowH * 0.62;
      // 1 mV for 200 ms
      ctx.strokeStyle = '#222';
      ctx.lineWidth = 1.2;
      ctx.beginPath();
      ctx.moveTo(x0 + 0.5 * PX_PER_MM, base);
      ctx.lineTo(x0 + 1 * PX_PER_MM, base);
      ctx.lineTo(x0 + 1 * PX_PER_MM, base - MM_PER_MV * PX_PER_MM);
      ctx.lineTo(x0 + 4 * PX_PER_MM, base - MM_PER_MV * PX_PER_MM);
      ctx.lineTo(x0 + 4 * PX_PER_MM, base);
      ctx.lineTo(x0 + 4.5 * PX_PER_MM, base);
      ctx.stroke();
    }
  }
  if (tr.play === null || !tr.layout) return;
  const right = tr.play;
  const left = right - span;
  const xOf = (c, idx) => c * colW + calW + (idx - left) * pxPerSample;
  // Shaded gaps, across both columns (their CSS-pixel rectangles kept on the canvas for tests).
  ctx.fillStyle = 'rgba(120,120,120,0.28)';
  canvas._gapRects = [];
  for (const g of tr.gaps) {
    if (g.to <= left || g.from >= right) continue;
    for (let c = 0; c < 2; c++) {
      const a = xOf(c, Math.max(g.from, left));
      const b = xOf(c, Math.min(g.to, right));
      ctx.fillRect(a, 0, Math.max(2, b - a), h);
      canvas._gapRects.push([a, Math.max(2, b - a)]);
    }
  }
  const pxPerUv = (MM_PER_MV * PX_PER_MM) / 1000;
  ctx.strokeStyle = '#111';
  ctx.lineWidth = 1.1;
  tr.layout.forEach((slot, lead) => {
    if (!slot) return;
    const [c, r, name] = slot;
    const base = r * rowH + rowH * 0.62;
    ctx.fillStyle = '#333';
    ctx.fillText(name, c * colW + calW + 2, r * rowH + 3.5 * PX_PER_MM);
    ctx.beginPath();
    let pen = false;
    let expect = -1;
    for (const f of tr.frames) {
      if (f.index + f.n <= left || f.index >= right) continue;
      if (f.index !== expect) pen = false;       // a hole: lift the pen
      expect = f.index + f.n;
      const from = Math.max(0, Math.ceil(left - f.index));
      const to = Math.min(f.n, Math.floor(right - f.index) + 1);
      const off = lead * f.n;
      for (let i = from; i < to; i++) {
        const x = xOf(c, f.index + i);
        const y = base - f.samples[off + i] * f.uvPerLsb * pxPerUv;
        if (pen) ctx.lineTo(x, y); else { ctx.moveTo(x, y); pen = true; }
      }
    }
    ctx.stroke();
  });
}

window.EdEcg = { decodeFrame, EcgTrace, drawTrace, fitCanvas, PX_PER_MM, MM_PER_S, MM_PER_MV };
})();
