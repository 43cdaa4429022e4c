// The gazetteer search of call intake: a text box that asks the dispatcher (op places.search,
// docs/api.md) for places whose name contains what was typed, or whose pinyin initials start
// with it (the dispatcher does the matching), 200 ms after the last key. Arrow keys move through
// the list, Enter (or a click) picks a place: onPick(place) then sets the call's location.
// Only the newest request's answer is shown, so a slow reply cannot overwrite a newer one.
(function () {
'use strict';

const DEBOUNCE_MS = 200;
const LIMIT = 8;

class PlaceSearch {
  /* input: the text box; list: the <ul> below it; request(op, args): the API call (a promise);
   * onPick(place): a place was chosen ({name, kind, lat, lon, population?, initials?}). */
  constructor(input, list, request, onPick) {
    this.input = input;
    this.list = list;
    this.request = request;
    this.onPick = onPick;
    this.places = [];
    this.active = -1;
    this.seq = 0;
    this.timer = null;
    this.status = '';            // '', 'searching', 'none', 'error' (for the hint line)
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-controls', list.id);
    list.setAttribute('role', 'listbox');
    input.addEventListener('input', () => this.schedule());
    input.addEventListener('keydown', (e) => this.onKey(e));
    input.addEventListener('blur', () => setTimeout(() => this.close(), 150));
  }

  schedule() {
    clearTimeout(this.timer);
    const q = this.input.value.trim();
    if (!q) { this.seq++; this.show([]); return; }
    this.timer = setTimeout(() => this.search(q), DEBOUNCE_MS);
  }

  async search(q) {
    const seq = ++this.seq;
    this.status = 'searching';
    try {
      const r = await this.request('places.search', { q, limit: LIMIT });
      if (seq !== this.seq) return;
      this.status = r.places.length ? '' : 'none';
      this.show(r.places);
    } catch (e) {
      if (seq !== this.seq) return;
      this.status = 'error';
      this.error = e;
      this.show([]);
    }
  }

  show(places) {
    const { t, tWord } = I18N;
    this.places = places;
    this.active = places.length ? 0 : -1;
    this.list.textContent = '';
    places.forEach((p, i) => {
      const li = document.createElement('li');
      li.className = 'place';
      li.id = `${this.list.id}-${i}`;
      li.setAttribute('role', 'option');
      li.dataset.name = p.name;
      li.innerHTML = `<b>${escapeHtml(p.name)}</b> <small>${escapeHtml(tWord('place_kind', p.kind))}` +
        `${p.population ? ' · ' + escapeHtml(t('place_pop', { n: p.population.toLocaleString() })) : ''}` +
        `${p.initials ? ' · ' + escapeHtml(p.initials) : ''}</small>`;
      li.addEventListener('mousedown', (e) => { e.preventDefault(); this.pick(i); });
      this.list.appendChild(li);
    });
    if (!places.length && this.status === 'none' && this.input.value.trim()) {
      this.list.innerHTML = `<li class="hint">${escapeHtml(t('place_none'))}</li>`;
    } else if (!places.length && this.status === 'error') {
      this.list.innerHTML = `<li class="hint error">${escapeHtml(t('error', { msg: `${this.error.code || ''} ${this.error.message || ''}` }))}</li>`;
    }
    this.list.hidden = this.list.children.length === 0;
    this.input.setAttribute('aria-expanded', String(!this.list.hidden));
    this.mark();
  }

  mark() {
    [...this.list.querySelectorAll('li.place')].forEach((li, i) => {
      li.classList.toggle('active', i === this.active);
      li.setAttribute('aria-selected', String(i === this.active));
    });
    if (this.active >= 0) this.input.setAttribute('aria-activedescendant', `${this.list.id}-${this.active}`);
    else this.input.removeAttribute('aria-activedescendant');
  }

  isOpen() { return !this.list.hidden && this.places.length > 0; }

  onKey(e) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (!this.places.length) return;
      e.preventDefault();
      const n = this.places.length;
      this.active = (this.active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
      this.mark();
    } else if (e.key === 'Enter') {
      // With a list open, Enter picks; a search still running is finished first.
      if (this.isOpen()) { e.preventDefault(); this.pick(this.active); }
      else if (this.input.value.trim()) { e.preventDefault(); this.flush(); }
    } else if (e.key === 'Escape' && !this.list.hidden) {
      e.preventDefault();
      e.stopPropagation();
      this.close();
    }
  }

  /* Enter before the debounce fired: search now and pick the first hit. */
  async flush() {
    clearTimeout(this.timer);
    await this.search(this.input.value.trim());
    if (this.places.length) this.pick(0);
  }

  pick(i) {
    const p = this.places[i];
    if (!p) return;
    this.input.value = p.name;
    this.close();
    this.onPick(p);
  }

  close() {
    this.list.hidden = true;
    this.input.setAttribute('aria-expanded', 'false');
  }

  clear() { this.seq++; this.input.value = ''; this.show([]); }
}

window.PlaceSearch = PlaceSearch;
})();
