// The websocket client of the dispatcher's JSON API (docs/api.md): one connection to
// ws(s)://HOST/api with subprotocol goldline.v1, hello first (an operator or session token, or a
// user name and password), then requests matched to replies by id and pushed events after
// `subscribe`. A dropped connection is re-opened with the same credential (the session token the
// server returned after a password login, never the password), with a growing back-off.
(function () {
'use strict';

class GoldlineApi {
  constructor(url) {
    this.url = url;
    this.ws = null;
    this.nextId = 1;
    this.pending = new Map();     // id -> {resolve, reject}
    this.cred = null;             // {token} or {session}: what a reconnect sends
    this.handlers = {};           // event name -> [fn]
    this.retryMs = 1000;
    this.closing = false;
    this.info = null;             // hello's result
  }

  on(name, fn) { (this.handlers[name] = this.handlers[name] || []).push(fn); }

  emit(name, arg) { (this.handlers[name] || []).forEach((fn) => fn(arg)); }

  /* login(hello): opens the connection and says hello with `hello` ({token} or
   * {username, password}). Resolves with hello's result; rejects with {code, message} when
   * the server refuses or the connection fails. */
  login(hello) {
    this.closing = false;
    return this.open(hello).then((info) => {
      this.cred = info.session ? { session: info.session } : hello.token ? { token: hello.token } : null;
      return info;
    });
  }

  open(hello) {
    return new Promise((resolve, reject) => {
      let ws;
      try { ws = new WebSocket(this.url, 'goldline.v1'); } catch (e) {
        reject({ code: 'ECONN', message: String(e) });
        return;
      }
      this.ws = ws;
      let helloDone = false;
      ws.onopen = () => {
        const id = this.nextId++;
        this.pending.set(id, {
          resolve: (r) => { helloDone = true; this.info = r; this.retryMs = 1000; resolve(r); },
          reject: (e) => { helloDone = true; reject(e); },
        });
        ws.send(JSON.stringify(Object.assign({ id, op: 'hello' }, hello)));
      };
      ws.onmessage = (m) => this.onMessage(m.data);
      ws.onclose = () => {
        this.ws = null;
        for (const p of this.pending.values()) p.reject({ code: 'ECONN', message: 'connection closed' });
        this.pending.clear();
        if (!helloDone) { reject({ code: 'ECONN', message: 'connection closed' }); return; }
        this.emit('down');
        if (!this.closing && this.cred) this.reconnectLater();
      };
    });
  }

  reconnectLater() {
    setTimeout(() => {
      if (this.closing || this.ws) return;
      this.open(this.cred).then(() => this.emit('up'), (e) => {
        if (e.code === 'EACCES') { this.cred = null; this.emit('refused', e); return; }
        this.reconnectLater();
      });
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 15000);
  }

  onMessage(text) {
    let m;
    try { m = JSON.parse(text); } catch (e) { return; }
    if (m.event) { this.emit(m.event, m); return; }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(m.error || { code: 'EPROTO', message: 'bad reply' });
  }

  /* request(op, args): resolves with the result, rejects with the error object. */
  request(op, args) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN)
      return Promise.reject({ code: 'ECONN', message: 'not connected' });
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify(Object.assign({ id, op }, args || {})));
    });
  }

  /* Ends a password login's session on the server too (op logout), then closes. */
  logout() {
    const bySession = this.cred && this.cred.session;
    this.closing = true;
    this.cred = null;
    if (!this.ws) return Promise.resolve();
    const close = () => { if (this.ws) this.ws.close(); };
    if (!bySession) { close(); return Promise.resolve(); }
    return this.request('logout').then(close, close);
  }
}

window.GoldlineApi = GoldlineApi;
})();
