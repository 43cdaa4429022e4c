// Structured triage for call intake: per complaint a short protocol of yes/no and number
// questions, and the rules that turn the answers into a suggested priority 1-4. Protocols and
// rules are one data table (PROTOCOLS, documented in console/web/README.md); evaluate() reads
// it, nothing else decides. The call-taker may still choose another priority: the call carries
// `triage` {protocol, answers, priority (the suggestion), rule} next to the chosen priority.
//
// Keyboard: each question is one Tab stop; on a yes/no question y or n answers it (and moves to
// the next), Delete or Backspace clears it; number questions are plain inputs.
(function () {
'use strict';

const YES = true;
const NO = false;
const FAST = { face: YES, arm: YES, speech: YES };   // any positive FAST sign

/* Per protocol: questions (id, type 'yn' or 'number', for numbers the unit) and rules, tried in
 * order; the first whose conditions all hold wins. A rule holds when every condition in `all`
 * holds and, if it has `any`, at least one of those does. A condition is the answer itself
 * (true/false) or a comparison ['>', 20]; an unanswered question never satisfies one. No rule
 * matching: `fallback`. The question texts are i18n keys tri_q_<id>, the reasons tri_why_<why>. */
const PROTOCOLS = {
  chest_pain: {
    questions: [
      { id: 'conscious', type: 'yn' },
      { id: 'breathing', type: 'yn' },
      { id: 'chest_pain_minutes', type: 'number', unit: 'min' },
      { id: 'sweating_breathless', type: 'yn' },
      { id: 'heart_disease', type: 'yn' },
    ],
    rules: [
      { p: 1, why: 'unconscious', all: { conscious: NO } },
      { p: 1, why: 'not_breathing', all: { breathing: NO } },
      { p: 1, why: 'acs_signs', all: { sweating_breathless: YES } },
      { p: 1, why: 'long_pain_heart', all: { chest_pain_minutes: ['>', 20], heart_disease: YES } },
      { p: 2, why: 'long_pain', all: { chest_pain_minutes: ['>', 20] } },
      { p: 3, why: 'reassuring', all: { conscious: YES, breathing: YES, chest_pain_minutes: ['<=', 20], sweating_breathless: NO, heart_disease: NO } },
    ],
    fallback: 2,
  },
  stroke: {
    questions: [
      { id: 'conscious', type: 'yn' },
      { id: 'face', type: 'yn' },
      { id: 'arm', type: 'yn' },
      { id: 'speech', type: 'yn' },
      { id: 'lkw_minutes', type: 'number', unit: 'min' },
    ],
    rules: [
      { p: 1, why: 'unconscious', all: { conscious: NO } },
      { p: 2, why: 'fast_late', all: { lkw_minutes: ['>', 1440] }, any: FAST },
      { p: 1, why: 'fast_positive', any: FAST },
      { p: 3, why: 'fast_negative', all: { conscious: YES, face: NO, arm: NO, speech: NO } },
    ],
    fallback: 2,
  },
  trauma: {
    questions: [
      { id: 'conscious', type: 'yn' },
      { id: 'breathing', type: 'yn' },
      { id: 'severe_bleeding', type: 'yn' },
      { id: 'high_energy', type: 'yn' },
      { id: 'can_walk', type: 'yn' },
    ],
    rules: [
      { p: 1, why: 'unconscious', all: { conscious: NO } },
      { p: 1, why: 'not_breathing', all: { breathing: NO } },
      { p: 1, why: 'severe_bleeding', all: { severe_bleeding: YES } },
      { p: 2, why: 'high_energy', all: { high_energy: YES } },
      { p: 4, why: 'minor', all: { conscious: YES, breathing: YES, severe_bleeding: NO, high_energy: NO, can_walk: YES } },
      { p: 3, why: 'reassuring', all: { conscious: YES, breathing: YES, severe_bleeding: NO, high_energy: NO } },
    ],
    fallback: 2,
  },
  obstetric: {
    questions: [
      { id: 'baby_coming', type: 'yn' },
      { id: 'heavy_bleeding', type: 'yn' },
      { id: 'convulsions', type: 'yn' },
      { id: 'contractions', type: 'yn' },
      { id: 'weeks', type: 'number', unit: 'weeks' },
    ],
    rules: [
      { p: 1, why: 'baby_coming', all: { baby_coming: YES } },
      { p: 1, why: 'heavy_bleeding', all: { heavy_bleeding: YES } },
      { p: 1, why: 'convulsions', all: { convulsions: YES } },
      { p: 2, why: 'preterm_labour', all: { contractions: YES, weeks: ['<', 37] } },
      { p: 2, why: 'labour', all: { contractions: YES } },
      { p: 3, why: 'reassuring', all: { baby_coming: NO, heavy_bleeding: NO, convulsions: NO, contractions: NO } },
    ],
    fallback: 2,
  },
  newborn: {
    questions: [
      { id: 'breathing', type: 'yn' },
      { id: 'blue_or_pale', type: 'yn' },
      { id: 'responsive', type: 'yn' },
      { id: 'weeks', type: 'number', unit: 'weeks' },
    ],
    rules: [
      { p: 1, why: 'not_breathing', all: { breathing: NO } },
      { p: 1, why: 'blue_or_pale', all: { blue_or_pale: YES } },
      { p: 1, why: 'unresponsive', all: { responsive: NO } },
      { p: 1, why: 'very_preterm', all: { weeks: ['<', 32] } },
      { p: 3, why: 'reassuring', all: { breathing: YES, blue_or_pale: NO, responsive: YES } },
    ],
    fallback: 2,
  },
  other: {
    questions: [
      { id: 'conscious', type: 'yn' },
      { id: 'breathing', type: 'yn' },
      { id: 'can_walk', type: 'yn' },
    ],
    rules: [
      { p: 1, why: 'unconscious', all: { conscious: NO } },
      { p: 1, why: 'not_breathing', all: { breathing: NO } },
      { p: 4, why: 'minor', all: { conscious: YES, breathing: YES, can_walk: YES } },
      { p: 3, why: 'reassuring', all: { conscious: YES, breathing: YES } },
    ],
    fallback: 2,
  },
};

function holds(cond, answer) {
  if (answer === undefined || answer === null) return false;
  if (typeof cond === 'boolean') return answer === cond;
  const [op, n] = cond;
  if (typeof answer !== 'number') return false;
  switch (op) {
    case '>': return answer > n;
    case '>=': return answer >= n;
    case '<': return answer < n;
    case '<=': return answer <= n;
    default: return false;
  }
}

/* evaluate(protocol, answers): the suggestion {priority, why} for these answers ({id: true,
 * false or a number}), or null when nothing is answered yet (no suggestion). An unknown
 * protocol gives null. */
function evaluate(protocol, answers) {
  const p = PROTOCOLS[protocol];
  if (!p || !answers || Object.keys(answers).length === 0) return null;
  for (const r of p.rules) {
    const all = Object.entries(r.all || {}).every(([q, c]) => holds(c, answers[q]));
    const any = !r.any || Object.entries(r.any).some(([q, c]) => holds(c, answers[q]));
    if (all && any) return { priority: r.p, why: r.why };
  }
  return { priority: p.fallback, why: 'fallback' };
}

/* The questions of the intake form. `el` is the container; onChange(suggestion) is called after
 * every answer. The protocol follows the complaint (setProtocol). */
class TriageForm {
  constructor(el, onChange) {
    this.el = el;
    this.onChange = onChange;
    this.protocol = null;
    this.answers = {};
    el.addEventListener('keydown', (e) => this.onKey(e));
  }

  setProtocol(protocol) {
    this.protocol = PROTOCOLS[protocol] ? protocol : null;
    this.answers = {};
    this.render();
    this.onChange(null);
  }

  reset() { this.setProtocol(this.protocol); }

  suggestion() { return this.protocol ? evaluate(this.protocol, this.answers) : null; }

  /* What call.new carries: {protocol, answers, priority, rule}, or null when nothing was asked. */
  payload() {
    const s = this.suggestion();
    if (!s) return null;
    return { protocol: this.protocol, answers: Object.assign({}, this.answers), priority: s.priority, rule: s.why };
  }

  render() {
    const { t } = I18N;
    this.el.textContent = '';
    if (!this.protocol) return;
    for (const q of PROTOCOLS[this.protocol].questions) {
      const row = document.createElement('div');
      row.className = `tq tq-${q.type}`;
      row.dataset.q = q.id;
      const label = document.createElement('span');
      label.className = 'qtext';
      label.textContent = t(`tri_q_${q.id}`);
      row.appendChild(label);
      if (q.type === 'yn') {
        row.tabIndex = 0;
        row.setAttribute('role', 'radiogroup');
        row.setAttribute('aria-label', label.textContent);
        for (const [val, key] of [[true, 'tri_yes'], [false, 'tri_no']]) {
          const b = document.createElement('button');
          b.type = 'button';
          b.tabIndex = -1;
          b.className = val ? 'yes' : 'no';
          b.textContent = t(key);
          b.addEventListener('click', () => this.answer(q.id, this.answers[q.id] === val ? undefined : val));
          row.appendChild(b);
        }
      } else {
        const inp = document.createElement('input');
        inp.inputMode = 'numeric';
        inp.className = 'tnum';
        inp.dataset.q = q.id;
        inp.setAttribute('aria-label', label.textContent);
        if (this.answers[q.id] !== undefined) inp.value = String(this.answers[q.id]);
        inp.addEventListener('input', () => {
          const v = inp.value.trim() === '' ? undefined : Number(inp.value.replace(',', '.'));
          this.answer(q.id, Number.isFinite(v) && v >= 0 ? v : undefined, true);
        });
        row.appendChild(inp);
        const u = document.createElement('span');
        u.className = 'unit';
        u.textContent = t(`tri_unit_${q.unit}`);
        row.appendChild(u);
      }
      this.el.appendChild(row);
    }
    this.paint();
  }

  /* Records one answer (undefined clears it), repaints and reports the new suggestion. */
  answer(id, value, fromInput) {
    if (value === undefined) delete this.answers[id];
    else this.answers[id] = value;
    if (!fromInput) this.paint();
    this.onChange(this.suggestion());
  }

  paint() {
    this.el.querySelectorAll('.tq-yn').forEach((row) => {
      const a = this.answers[row.dataset.q];
      row.dataset.answer = a === true ? 'yes' : a === false ? 'no' : '';
      row.querySelector('.yes').classList.toggle('on', a === true);
      row.querySelector('.no').classList.toggle('on', a === false);
    });
  }

  onKey(e) {
    const row = e.target.closest && e.target.closest('.tq-yn');
    if (!row || e.target !== row || e.altKey || e.ctrlKey || e.metaKey) return;
    const k = e.key.toLowerCase();
    let v;
    if (k === 'y') v = true;
    else if (k === 'n') v = false;
    else if (k === 'delete' || k === 'backspace') v = undefined;
    else if (k === 'enter') { e.preventDefault(); row.closest('form').requestSubmit(); return; }
    else return;
    e.preventDefault();
    this.answer(row.dataset.q, v);
    if (v !== undefined) {
      const stops = [...this.el.querySelectorAll('.tq-yn, .tnum')];
      const next = stops[stops.indexOf(row) + 1];
      if (next) next.focus();
    }
  }
}

window.Triage = { PROTOCOLS, evaluate, TriageForm };
})();
