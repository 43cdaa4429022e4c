'use strict';
/*
 * The reference relay of `bench/run vitals` (bench/vitals.sh): the same fan-out as the
 * dispatcher's live-vitals relay, written the way one would with node and the `ws` package, as
 * the baseline the dispatcher is compared with. It does nothing but forward: no decoding, no
 * checks, no persistence, no authentication, no bounded per-client queue (ws buffers without
 * limit), so it is the cheapest honest relay, not a feature-equal one.
 *
 *   node relay.js PORT
 *
 * Endpoints (websocket, subprotocol goldline.v1 accepted when offered, no compression):
 *   /unit/VEHICLE  a unit: every message it sends (binary ECG frames, text numerics) is forwarded
 *                  unchanged, binary as binary, to every ED client subscribed to VEHICLE.
 *   /ed            an ED client: it sends {"op":"subscribe","units":["VIT-001",...]} (text) and
 *                  gets {"ok":true,"units":N}; from then on it receives what those units send.
 *                  {"op":"stats"} answers {"ok":true,"forwarded":N,"units":N,"eds":N}.
 * Once listening it prints `listening PORT` on stdout. SIGTERM or SIGINT: a `forwarded=N` line
 * on stderr, then exit 0.
 */
const http = require('http');
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write('usage: node relay.js PORT\n');
  process.exit(2);
}

const subscribers = new Map(); // vehicle id -> Set of ED sockets
let forwarded = 0; // messages handed to ED sockets
let units = 0;
let eds = 0;

function subscribersOf(vehicle) {
  let set = subscribers.get(vehicle);
  if (!set) {
    set = new Set();
    subscribers.set(vehicle, set);
  }
  return set;
}

function onUnit(ws, vehicle) {
  units++;
  const subs = subscribersOf(vehicle);
  ws.on('message', (data, isBinary) => {
    for (const c of subs) {
      c.send(data, { binary: isBinary });
      forwarded++;
    }
  });
  ws.on('close', () => units--);
}

function onEd(ws) {
  eds++;
  const mine = [];
  ws.on('message', (data, isBinary) => {
    let req;
    try {
      req = isBinary ? null : JSON.parse(data.toString('utf8'));
    } catch (e) {
      req = null;
    }
    if (req && req.op === 'subscribe' && Array.isArray(req.units)) {
      for (const v of req.units) {
        if (typeof v === 'string') {
          subscribersOf(v).add(ws);
          mine.push(v);
        }
      }
      ws.send(JSON.stringify({ ok: true, units: req.units.length }));
    } else if (req && req.op === 'stats') {
      ws.send(JSON.stringify({ ok: true, forwarded, units, eds }));
    } else {
      ws.send(JSON.stringify({ ok: false, error: 'expected {"op":"subscribe","units":[...]}' }));
    }
  });
  ws.on('close', () => {
    eds--;
    for (const v of mine) subscribersOf(v).delete(ws);
  });
}

const server = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});
const wss = new WebSocketServer({
  server,
  perMessageDeflate: false,
  handleProtocols: (protocols) => (protocols.has('goldline.v1') ? 'goldline.v1' : false),
});
wss.on('connection', (ws, req) => {
  const path = req.url || '';
  if (path.startsWith('/unit/') && path.length > 6) {
    onUnit(ws, decodeURIComponent(path.slice(6)));
  } else if (path === '/ed') {
    onEd(ws);
  } else {
    ws.close(1008, 'unknown endpoint');
  }
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));

function stop() {
  process.stderr.write(`forwarded=${forwarded}\n`);
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
