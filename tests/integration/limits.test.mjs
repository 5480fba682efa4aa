// limits.test.mjs - every bound of the gateway is a named setting and trips
// where it says: connections per gateway, HTTP head size, polling payload,
// handshake timeout (slowloris and a session that never CONNECTs). The
// publish rate, channels per socket and the slow-consumer bound are tested
// beside their features (publisher, tracking, hostile).

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { io } from 'socket.io-client';
import {
  startRedis, startService, setupProject, http, stopAll, waitFor, sleep,
} from './lib/harness.mjs';

let redis; let pub; let key;
before(async () => {
  redis = await startRedis();
  pub = await startService('publisher', { redis });
  key = (await setupProject(pub, 'limits', ['listen'])).key;
});
after(stopAll);

const connect = (url, opts = {}) => new Promise((res) => {
  const c = io(url, { auth: { apiKey: key }, transports: ['websocket'], reconnection: false, ...opts });
  c.once('connect', () => res({ c, ok: true }));
  c.once('connect_error', (e) => res({ c, ok: false, err: e }));
});

test('SSE_MAX_CONNECTIONS: sessions past the bound are refused, then admitted again', async () => {
  const gw = await startService('gateway', { redis, env: { SSE_MAX_CONNECTIONS: '5' } });
  // One after another: a handshake in flight holds an HTTP connection too,
  // and those are bounded by the same setting.
  const first = [];
  for (let i = 0; i < 5; i++) first.push(await connect(gw.url));
  assert.ok(first.every((r) => r.ok), 'five sessions connect');
  const extra = await connect(gw.url);
  assert.equal(extra.ok, false, 'the sixth is refused');
  extra.c.close();
  const hs = await http('GET', `${gw.url}/socket.io/?EIO=4&transport=polling`);
  assert.equal(hs.status, 503);
  assert.equal(hs.body.statusCode, 503);
  first[0].c.close();
  await waitFor(async () => {
    const again = await connect(gw.url);
    again.c.close();
    return again.ok;
  }, { timeout: 3000, what: 'a freed slot is usable' });
  first.forEach((r) => r.c.close());
  await gw.stop();
});

test('SSE_HTTP_MAX_HEAD: a larger request head gets 431', async () => {
  const gw = await startService('gateway', { redis, env: { SSE_HTTP_MAX_HEAD: '1024' } });
  const r = await http('GET', `${gw.url}/socket.io/?EIO=4&transport=polling`, { headers: { 'x-big': 'a'.repeat(2048) } });
  assert.equal(r.status, 431);
  assert.equal(r.body.statusCode, 431);
  assert.equal((await http('GET', `${gw.url}/healthz`)).status, 200);
  await gw.stop();
});

test('SSE_MAX_HTTP_BUFFER_SIZE: a polling POST over it gets 413, and the limit is advertised', async () => {
  const gw = await startService('gateway', { redis, env: { SSE_MAX_HTTP_BUFFER_SIZE: '2048' } });
  const open = await http('GET', `${gw.url}/socket.io/?EIO=4&transport=polling`);
  assert.equal(open.status, 200);
  const hs = JSON.parse(open.text.slice(1));
  assert.equal(hs.maxPayload, 2048);
  const big = `4${'x'.repeat(4096)}`;
  const r = await http('POST', `${gw.url}/socket.io/?EIO=4&transport=polling&sid=${hs.sid}`,
    { raw: big, headers: { 'content-type': 'text/plain;charset=UTF-8' } });
  assert.equal(r.status, 413);
  await gw.stop();
});

test('SSE_HANDSHAKE_TIMEOUT: a slow head is cut (slowloris), and so is a session that never CONNECTs', async () => {
  const gw = await startService('gateway', { redis, env: { SSE_HANDSHAKE_TIMEOUT: '500' } });
  const t0 = Date.now();
  const closed = await new Promise((res) => {
    const s = net.connect(gw.port, '127.0.0.1', () => s.write('GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n'));
    const timer = setInterval(() => s.writable && s.write('X-a: b\r\n'), 100);
    s.on('close', () => { clearInterval(timer); res(Date.now() - t0); });
    s.on('error', () => {});
    setTimeout(() => { clearInterval(timer); s.destroy(); res(-1); }, 5000);
  });
  assert.ok(closed > 0 && closed < 3000, `slow head closed after ${closed} ms`);

  // Engine.IO open without a Socket.IO CONNECT: the session is closed.
  const open = await http('GET', `${gw.url}/socket.io/?EIO=4&transport=polling`);
  const { sid } = JSON.parse(open.text.slice(1));
  await sleep(1200);
  const poll = await http('GET', `${gw.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`);
  assert.ok(poll.status === 400 || poll.text.startsWith('1'), `session closed (${poll.status} ${poll.text})`);
  await gw.stop();
});
