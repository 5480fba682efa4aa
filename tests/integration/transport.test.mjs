// transport.test.mjs - the gateway's transports with the official
// socket.io-client 4.x: WebSocket only, polling only and polling with the
// upgrade; keys via auth and via query; CONNECT_ERROR reasons; acks; binary
// emits; liveness past pingTimeout; clean disconnect; reconnect after a
// restart on the same port; the SIGTERM drain.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRedis, startService, setupProject, publish, stopAll, waitFor, sleep, http,
} from './lib/harness.mjs';
import { mkdtempSync, copyFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, connect, connected, connectError, next, request } from './lib/client.mjs';

const PING = { SSE_PING_INTERVAL: '300', SSE_PING_TIMEOUT: '200' };
let redis, pub, gw, listen, pubKey;

// sse_connections by transport, from the gateway's /metrics.
export async function conns(svc) {
  const r = await http('GET', `${svc.url}/metrics`);
  const out = {};
  for (const m of r.text.matchAll(/^sse_connections\{[^}]*transport="(\w+)"[^}]*\} (\S+)$/gm)) {
    out[m[1]] = Number(m[2]);
  }
  return out;
}

before(async () => {
  redis = await startRedis();
  pub = await startService('publisher', { redis });
  gw = await startService('gateway', { redis, env: PING });
  listen = await setupProject(pub, 'tp1', ['listen', 'client_publish']);
  pubKey = await setupProject(pub, 'tp1', ['publish_event']);
});

after(stopAll);

const MODES = [
  ['websocket', { transports: ['websocket'] }],
  ['polling', { transports: ['polling'] }],
  ['polling+upgrade', {}],
];

for (const [name, opts] of MODES) {
  test(`${name}: connect via auth, ack, binary, liveness past pingTimeout, disconnect`, async () => {
    const s = await connect(gw.url, { key: listen.key, ...opts });
    assert.match(s.id, /^[a-z0-9]{20}$/);

    const a = await request(s, 'no-such-event', { x: 1 });
    assert.equal(a.code, 'Error');

    const b = await request(s, 'event', Buffer.from([0, 1, 2, 255]));
    assert.equal(typeof b.code, 'string', 'a binary emit is answered');

    // pingInterval 300 + pingTimeout 200: 1.5 s is three ping cycles.
    await sleep(1500);
    assert.equal(s.connected, true);
    const want = name === 'polling' ? 'polling' : 'websocket';
    assert.equal(s.io.engine.transport.name, want);

    // events published over REST reach the socket on this transport
    const joined = await request(s, 'listen', { channelName: 'room-1' });
    assert.equal(joined.code, 'Success');
    const got = next(s, 'event');
    const r = await publish(pub, pubKey.key, 'room-1', { n: name, big: 'x'.repeat(3000) });
    assert.equal(r.status, 201);
    assert.deepEqual(await got, { channelName: 'room-1', payload: { n: name, big: 'x'.repeat(3000) } });

    s.disconnect();
    await waitFor(async () => {
      const c = await conns(gw);
      return (c.websocket || 0) + (c.polling || 0) === 0;
    }, { what: 'sse_connections back to 0' });
  });

  test(`${name}: key via query`, async () => {
    const s = await connect(gw.url, { key: listen.key, via: 'query', ...opts });
    assert.equal(s.connected, true);
    s.disconnect();
  });
}

test('CONNECT_ERROR for missing, unknown, expired and wrong-scope keys', async () => {
  assert.match(await connectError(gw.url, {}), /missing/i);
  assert.match(await connectError(gw.url, { transports: ['websocket'] }), /missing/i);
  const unknown = 'ssek_aaaaaaaaaaaaaaaaaaaaaaaa_' + 'A'.repeat(43);
  assert.match(await connectError(gw.url, { key: unknown }), /invalid/i);
  assert.match(await connectError(gw.url, { key: 'garbage' }), /invalid/i);
  const wrong = await setupProject(pub, 'tp1', ['publish_event']);
  assert.match(await connectError(gw.url, { key: wrong.key, transports: ['websocket'] }),
    /scope/i);
  const exp = await setupProject(pub, 'tp1', ['listen'], { ttlSeconds: 1 });
  await sleep(1500);
  assert.match(await connectError(gw.url, { key: exp.key }), /expired|invalid/i);
});

test('a refused socket may retry on the same session after connect_error', async () => {
  const s = open(gw.url, { key: 'nope', transports: ['websocket'] });
  await assert.rejects(connected(s), /invalid/i);
  s.auth = { apiKey: listen.key };
  s.connect();
  await connected(s);
  s.disconnect();
});

test('reconnects after the gateway restarts on the same port; SIGTERM exits 0 in time', async () => {
  const g2 = await startService('gateway', { redis, env: PING });
  const ws = open(g2.url, { key: listen.key, transports: ['websocket'], reconnection: true,
    reconnectionDelay: 100, reconnectionDelayMax: 200 });
  const pl = open(g2.url, { key: listen.key, transports: ['polling'], reconnection: true,
    reconnectionDelay: 100, reconnectionDelayMax: 200 });
  await connected(ws);
  await connected(pl);
  const firstIds = [ws.id, pl.id];
  const gone = [next(ws, 'disconnect', 10000), next(pl, 'disconnect', 10000)];
  const t0 = Date.now();
  const ex = await g2.stop('SIGTERM', 11000);
  assert.deepEqual(ex, { code: 0, sig: null }, 'exit 0 on SIGTERM');
  assert.ok(Date.now() - t0 < 10000, 'within 10 s');
  const reasons = await Promise.all(gone);
  for (const r of reasons) assert.notEqual(r, 'io server disconnect', 'clients must reconnect');

  const back = Promise.all([next(ws, 'connect', 10000), next(pl, 'connect', 10000)]);
  const g3 = await startService('gateway', { redis, env: PING, port: g2.port });
  await back;
  assert.notDeepEqual([ws.id, pl.id], firstIds);
  const a = await request(ws, 'no-such-event', {});
  assert.equal(a.code, 'Error');
  ws.close();
  pl.close();
  await g3.stop();
});

test('serves /socket.io/socket.io.js and the demo page from SSE_STATIC_DIR', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sse-static-'));
  const js = new URL('../node_modules/socket.io-client/dist/socket.io.js', import.meta.url);
  copyFileSync(js, join(dir, 'socket.io.js'));
  copyFileSync(new URL('../../gateway/static/index.html', import.meta.url), join(dir, 'index.html'));
  const g = await startService('gateway', { redis, env: { SSE_STATIC_DIR: dir } });
  const r = await http('GET', `${g.url}/socket.io/socket.io.js`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /javascript/);
  assert.equal(r.text, readFileSync(js, 'utf8'));
  const i = await http('GET', `${g.url}/`);
  assert.equal(i.status, 200);
  assert.match(i.text, /socket\.io\.js/);
  assert.equal((await http('GET', `${gw.url}/socket.io/socket.io.js`)).status, 404, 'absent without the dir');
  await g.stop();
});
