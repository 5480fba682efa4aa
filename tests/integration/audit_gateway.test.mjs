// audit_gateway.test.mjs - regressions found by the outside-in gateway
// audit, checked the way the Engine.IO protocol test suite checks a server:
// raw HTTP long-polling and raw WebSocket frames (the `ws` package that
// socket.io-client itself uses), plus the gateway's startup errors.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import {
  startRedis, startService, setupProject, stopAll, sleep, BIN,
} from './lib/harness.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');

let redis, pub, gw, listenKey;

before(async () => {
  redis = await startRedis();
  pub = await startService('publisher', { redis });
  gw = await startService('gateway', { redis });
  listenKey = (await setupProject(pub, 'audgw', ['listen'])).key;
});

after(stopAll);

const poll = (sid) => `${gw.url}/socket.io/?EIO=4&transport=polling${sid ? `&sid=${sid}` : ''}`;

async function pollingSession() {
  const text = await (await fetch(poll())).text();
  const { sid } = JSON.parse(text.slice(1));
  const r = await fetch(poll(sid), { method: 'POST', body: `40${JSON.stringify({ apiKey: listenKey })}` });
  assert.equal(await r.text(), 'ok');
  const connected = await (await fetch(poll(sid))).text();
  assert.match(connected, /^40\{"sid":/);
  return sid;
}

// A probe WebSocket on sid; messages collects every text frame.
async function probe(sid) {
  const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
  ws.messages = [];
  ws.on('message', (d) => ws.messages.push(d.toString()));
  await new Promise((res, rej) => { ws.on('open', res); ws.on('error', rej); });
  return ws;
}

async function nextMessages(ws, n, ms = 3000) {
  const end = Date.now() + ms;
  while (ws.messages.length < n && Date.now() < end) await sleep(10);
  return ws.messages.slice(0, n);
}

test('upgrade: the noop ends the poll but never reaches the WebSocket', async () => {
  // "2probe" and "5" back to back with no GET held (the reference suite's
  // "ignores HTTP requests with same sid after upgrade"): after "3probe"
  // the next frame must be the answer, not a stray noop.
  const sid = await pollingSession();
  const ws = await probe(sid);
  ws.send('2probe');
  ws.send('5');
  await sleep(100);
  assert.equal((await fetch(poll(sid))).status, 400, 'polling refused after the upgrade');
  ws.send('42["listen",{"channelName":"aud1"}]');
  const [first, second] = await nextMessages(ws, 2);
  assert.equal(first, '3probe');
  assert.match(second ?? '', /^42\["system_message",\{"code":"Success"/);
  ws.close();
});

test('upgrade: a GET sent after the probe is answered with a noop at once', async () => {
  const sid = await pollingSession();
  const ws = await probe(sid);
  ws.send('2probe');
  assert.deepEqual(await nextMessages(ws, 1), ['3probe']);
  const t0 = Date.now();
  const r = await fetch(poll(sid), { signal: AbortSignal.timeout(5000) });
  assert.equal(await r.text(), '6');
  assert.ok(Date.now() - t0 < 1000, 'the poll was not held');
  ws.send('5');
  ws.send('42["listen",{"channelName":"aud2"}]');
  const msgs = await nextMessages(ws, 2);
  assert.match(msgs[1] ?? '', /^42\["system_message"/, `frames: ${JSON.stringify(msgs)}`);
  ws.close();
});

test('polling: a client close ends the held GET with a noop; the session is gone', async () => {
  const sid = await pollingSession();
  const held = fetch(poll(sid)).then((r) => r.text());
  await sleep(100);
  const post = await fetch(poll(sid), { method: 'POST', body: '1' });
  assert.equal(post.status, 200);
  assert.equal(await held, '6');
  assert.equal((await fetch(poll(sid))).status, 400);
});

test('a listen address that cannot be used names SSE_GATEWAY_ADDR', async () => {
  for (const addr of ['not-an-address', `127.0.0.1:${gw.port}`]) {
    const p = spawn(BIN.gateway, [], {
      env: { PATH: process.env.PATH, SSE_REDIS_URL: redis.url, SSE_GATEWAY_ADDR: addr },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    const code = await new Promise((res) => p.on('exit', res));
    assert.notEqual(code, 0, `exit status for ${addr}`);
    // the error line itself, not only the effective-configuration dump
    const line = err.split('\n').find((l) => l.includes('cannot listen')) ?? '';
    assert.match(line, /SSE_GATEWAY_ADDR/, `stderr for ${addr}: ${err}`);
  }
});
