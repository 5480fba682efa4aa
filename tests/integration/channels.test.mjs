// channels.test.mjs - the client protocol of CONTRACT.md section 4 on two
// real gateways, a real publisher API and a real Redis: CONNECT auth,
// listen / remove / event with and without acks, private-channel token
// checks one by one, tenancy, cross-gateway delivery, order and
// exactly-once, byte-exact payloads, and the python-socketio client.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import {
  ROOT, startRedis, startService, admin, setupProject, publish, sign, http,
  stopAll, waitFor, sleep, allLogs,
} from './lib/harness.mjs';

const ALL = ['publish_event', 'sign_token', 'listen', 'client_publish'];
let redis, pub, gw1, gw2, A, B, listenOnly, noListen;
const open = [];

before(async () => {
  redis = await startRedis();
  pub = await startService('publisher', { redis });
  gw1 = await startService('gateway', { redis });
  gw2 = await startService('gateway', { redis });
  A = await setupProject(pub, 'alpha', ALL);
  B = await setupProject(pub, 'beta', ALL);
  listenOnly = await setupProject(pub, 'alpha', ['listen']);
  noListen = await setupProject(pub, 'alpha', ['publish_event', 'sign_token']);
});

after(async () => {
  for (const c of open) c.sock.close();
  await stopAll();
});

// A socket.io-client socket that records what it receives.
async function client(gw, key, opts = {}) {
  const sock = io(gw.url, {
    auth: key === undefined ? undefined : { apiKey: key },
    reconnection: false, forceNew: true, ...opts,
  });
  const c = { sock, events: [], sys: [] };
  open.push(c);
  sock.on('event', (m) => c.events.push(m));
  sock.on('system_message', (m) => c.sys.push(m));
  await new Promise((res, rej) => {
    sock.once('connect', res);
    sock.once('connect_error', (e) => { sock.close(); rej(e); });
  });
  return c;
}

async function connectError(gw, key, opts = {}) {
  const err = await client(gw, key, opts).then(() => null, (e) => e);
  assert.ok(err, 'connect must fail');
  return err.message;
}

// Send a request with an ack; the ack and the system_message must be the
// same object.
async function ask(c, name, arg) {
  const before = c.sys.length;
  const ack = await c.sock.timeout(5000).emitWithAck(name, arg);
  await waitFor(() => c.sys.length > before, { what: 'system_message' });
  assert.deepEqual(c.sys[before], ack);
  return ack;
}

// The same request without an ack: only the system_message comes.
async function tell(c, name, arg) {
  const before = c.sys.length;
  c.sock.emit(name, arg);
  await waitFor(() => c.sys.length > before, { what: 'system_message' });
  return c.sys[before];
}

const listen = (c, channelName, authToken) =>
  ask(c, 'listen', authToken === undefined ? { channelName } : { channelName, authToken });

async function token(key, ch) {
  const r = await sign(pub, key, ch);
  assert.equal(r.status, 201, r.text);
  return r.body.token;
}

const b64u = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

test('CONNECT: missing, unknown, wrong-scope keys are refused; auth and query accepted', async () => {
  assert.equal(await connectError(gw1, undefined), 'apiKey is missing');
  assert.equal(await connectError(gw1, 'ssek_nope'), 'apiKey is invalid');
  const fake = A.key.slice(0, -4) + (A.key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  assert.equal(await connectError(gw1, fake), 'apiKey is invalid');
  assert.equal(await connectError(gw1, noListen.key), 'apiKey lacks the listen scope');
  const q = await client(gw2, undefined, { query: { apiKey: A.key }, transports: ['websocket'] });
  assert.match(q.sock.id, /^[a-z0-9]{20}$/);
  const p = await client(gw1, A.key, { transports: ['polling'] });
  assert.equal((await listen(p, 'poll-ch')).code, 'Success');
  q.sock.close(); p.sock.close();
});

test('listen, remove, event: answers with and without ack are the same object', async () => {
  const c = await client(gw1, A.key);
  const ok = await listen(c, 'room.1');
  assert.deepEqual(ok, { code: 'Success', message: 'listening to room.1', data: { channelName: 'room.1' } });
  assert.equal((await listen(c, 'room.1')).code, 'Success', 'listen is idempotent');
  const t = await tell(c, 'listen', { channelName: 'room.2' });
  assert.equal(t.code, 'Success');
  assert.equal((await ask(c, 'remove', { channelName: 'room.2' })).code, 'Success');
  assert.equal((await tell(c, 'remove', { channelName: 'room.1' })).code, 'Success');
  assert.equal((await ask(c, 'remove', { channelName: 'never' })).code, 'Success');
  const u = await ask(c, 'hello', { x: 1 });
  assert.deepEqual(u, { code: 'Error', message: 'unknown event hello' });
  assert.equal((await tell(c, 'hello', 1)).message, 'unknown event hello');
  for (const bad of ['', 'a b', 'x'.repeat(201), 'ch|1', 'é']) {
    assert.equal((await listen(c, bad)).code, 'Error', `channel ${JSON.stringify(bad)}`);
  }
  assert.equal((await ask(c, 'listen', {})).code, 'Error');
  assert.equal((await ask(c, 'listen', 'room')).code, 'Error');
  assert.equal((await listen(c, 'x'.repeat(200))).code, 'Success');
  c.sock.close();
});

test('client event: scope, membership, size bound; not echoed; reaches other members on both gateways', async () => {
  const s = await client(gw1, A.key);
  const r1 = await client(gw1, A.key);
  const r2 = await client(gw2, A.key, { transports: ['websocket'] });
  const lo = await client(gw1, listenOnly.key);
  for (const c of [s, r1, r2, lo]) assert.equal((await listen(c, 'chat')).code, 'Success');

  const none = await ask(s, 'event', { channelName: 'other', payload: 1 });
  assert.equal(none.code, 'Error', 'event without membership');
  const noscope = await ask(lo, 'event', { channelName: 'chat', payload: 1 });
  assert.equal(noscope.code, 'Error');
  assert.match(noscope.message, /client_publish/);
  const big = await ask(s, 'event', { channelName: 'chat', payload: 'x'.repeat(65535) });
  assert.equal(big.code, 'Error', 'payload over SSE_MAX_PAYLOAD');
  const bin = await ask(s, 'event', { channelName: 'chat', payload: Buffer.from([1, 2]) });
  assert.deepEqual(bin, { code: 'Error', message: 'binary payloads are not supported on channels' });

  const payload = { text: 'hi', n: [1, 2.5, null], nested: { 'é': '😀' } };
  assert.equal((await ask(s, 'event', { channelName: 'chat', payload })).code, 'Success');
  const edge = 'y'.repeat(65534); // "..." is exactly 65536 bytes
  assert.equal((await tell(s, 'event', { channelName: 'chat', payload: edge })).code, 'Success');
  for (const r of [r1, r2, lo]) {
    await waitFor(() => r.events.length === 2, { what: 'client events' });
    assert.deepEqual(r.events[0], { channelName: 'chat', payload });
    assert.equal(r.events[1].payload, edge);
  }
  await sleep(200);
  assert.equal(s.events.length, 0, 'the sender gets no echo');
  assert.equal(r1.events.length, 2, 'exactly once');
  for (const c of [s, r1, r2, lo]) c.sock.close();
});

test('private channels: every bad token is refused, a good one joins', async () => {
  const c = await client(gw1, A.key);
  const ch = 'private-orders.42';
  const good = await token(A.key, ch);
  const missing = await listen(c, ch);
  assert.equal(missing.code, 'Error');
  assert.match(missing.message, /authToken/);
  const other = await listen(c, ch, await token(A.key, 'private-other'));
  assert.deepEqual(other, { code: 'Error', message: 'token is for another channel' });
  const foreign = await listen(c, ch, await token(B.key, ch));
  assert.equal(foreign.code, 'Error', 'another project\'s token');
  const [h, p, sig] = good.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  const tampered = await listen(c, ch, `${h}.${b64u({ ...claims, exp: claims.exp + 60 })}.${sig}`);
  assert.deepEqual(tampered, { code: 'Error', message: 'token signature does not verify' });
  const hdr = JSON.parse(Buffer.from(h, 'base64url'));
  const none = await listen(c, ch, `${b64u({ ...hdr, alg: 'none' })}.${p}.`);
  assert.equal(none.code, 'Error', 'alg none');
  assert.equal((await listen(c, ch, 'not-a-jwt')).code, 'Error');
  assert.equal((await listen(c, ch, 42)).code, 'Error');

  // A publisher with another audience signs tokens the gateways refuse.
  const pubAud = await startService('publisher', { redis, env: { SSE_CHANNEL_AUTH_AUDIENCE: 'other-aud' } });
  const r = await sign(pubAud, A.key, ch);
  assert.equal(r.status, 201);
  assert.deepEqual(await listen(c, ch, r.body.token), { code: 'Error', message: 'token audience does not match' });
  await pubAud.stop();

  // The signing key deleted after signing: its tokens stop working.
  const del = await setupProject(pub, 'alpha', ['sign_token']);
  const delTok = await token(del.key, ch);
  assert.equal((await admin(pub).deleteKey(del.id)).status, 204);
  assert.equal((await listen(c, ch, delTok)).code, 'Error', 'deleted signing key');

  assert.equal(c.events.length, 0);
  assert.deepEqual(await listen(c, ch, good), { code: 'Success', message: `listening to ${ch}`, data: { channelName: ch } });
  assert.equal((await publish(pub, A.key, ch, { ok: 1 })).status, 201);
  await waitFor(() => c.events.length === 1, { what: 'private event' });
  assert.deepEqual(c.events[0], { channelName: ch, payload: { ok: 1 } });
  c.sock.close();
});

test('requests take effect in the order sent: a remove right after a private listen wins', async () => {
  // One polling POST carries both packets, so the gateway reads the remove
  // while the listen still waits for its signing key's check in Redis.
  const ch = 'private-race.1';
  const good = await token(A.key, ch);
  const base = `${gw1.url}/socket.io/?EIO=4&transport=polling`;
  const { sid } = JSON.parse((await http('GET', base)).text.slice(1));
  const url = `${base}&sid=${sid}`;
  const post = (body) => http('POST', url, { raw: body, headers: { 'content-type': 'text/plain;charset=UTF-8' } });
  assert.equal((await post(`40${JSON.stringify({ apiKey: A.key })}`)).status, 200);
  assert.match((await http('GET', url)).text, /^40\{"sid"/);
  const listenPkt = `421${JSON.stringify(['listen', { channelName: ch, authToken: good }])}`;
  const removePkt = `422${JSON.stringify(['remove', { channelName: ch }])}`;
  assert.equal((await post(`${listenPkt}\x1e${removePkt}`)).status, 200);
  const got = [];
  await waitFor(async () => {
    got.push(...(await http('GET', url)).text.split('\x1e'));
    return got.some((p) => p.startsWith('431')) && got.some((p) => p.startsWith('432'));
  }, { what: 'both acks' });
  assert.equal(JSON.parse(got.find((p) => p.startsWith('431')).slice(3))[0].code, 'Success');
  assert.equal(JSON.parse(got.find((p) => p.startsWith('432')).slice(3))[0].code, 'Success');
  // Not a member: nothing is tracked for the channel, and a publish sends
  // nothing (the next poll only ends with a noop or a ping).
  const tracked = await redis.cliRaw('EVAL', "local n = 0 for _, k in ipairs(redis.call('KEYS', 'sse:{p:alpha}:keysocks:*')) do for _, m in ipairs(redis.call('SMEMBERS', k)) do if string.find(m, ARGV[1], 1, true) then n = n + 1 end end end return n", '0', ch);
  assert.equal(tracked.trim(), '0', 'nothing tracked for the removed channel');
  await post('41');
});

test('expiry: an expired signing key refuses its tokens and its connections', async () => {
  const c = await client(gw2, A.key);
  const short = await setupProject(pub, 'alpha', ['sign_token', 'listen'], { ttlSeconds: 2 });
  const ch = 'private-exp';
  const tok = await token(short.key, ch);
  await sleep(3100);
  const r = await listen(c, ch, tok);
  assert.equal(r.code, 'Error');
  assert.match(r.message, /expired/);
  assert.equal(await connectError(gw2, short.key), 'apiKey has expired');
  c.sock.close();
});

test('tenancy: the same channel name in two projects gets only its own events', async () => {
  const a = await client(gw1, A.key);
  const b = await client(gw2, B.key);
  assert.equal((await listen(a, 'shared')).code, 'Success');
  assert.equal((await listen(b, 'shared')).code, 'Success');
  assert.equal((await publish(pub, A.key, 'shared', 'for-a')).status, 201);
  assert.equal((await publish(pub, B.key, 'shared', 'for-b')).status, 201);
  await waitFor(() => a.events.length >= 1 && b.events.length >= 1, { what: 'tenant events' });
  await sleep(200);
  assert.deepEqual(a.events.map((e) => e.payload), ['for-a']);
  assert.deepEqual(b.events.map((e) => e.payload), ['for-b']);
  a.sock.close(); b.sock.close();
});

test('delivery: only the second gateway has members; remove stops delivery', async () => {
  const c = await client(gw2, A.key);
  const idle = await client(gw1, A.key);
  assert.equal((await listen(c, 'only2')).code, 'Success');
  assert.equal((await listen(c, 'marker')).code, 'Success');
  assert.equal((await publish(pub, A.key, 'only2', 1)).status, 201);
  await waitFor(() => c.events.length === 1, { what: 'event on gw2' });
  assert.equal((await ask(c, 'remove', { channelName: 'only2' })).code, 'Success');
  assert.equal((await publish(pub, A.key, 'only2', 2)).status, 201);
  assert.equal((await publish(pub, A.key, 'marker', 3)).status, 201);
  await waitFor(() => c.events.some((e) => e.channelName === 'marker'), { what: 'marker' });
  await sleep(200);
  assert.deepEqual(c.events.map((e) => e.payload), [1, 3]);
  assert.equal(idle.events.length, 0);
  c.sock.close(); idle.sock.close();
});

test('order and exactly-once over 1,000 sequential publishes, on both gateways', async () => {
  const c1 = await client(gw1, A.key, { transports: ['websocket'] });
  const c2 = await client(gw2, A.key);
  for (const c of [c1, c2]) assert.equal((await listen(c, 'seq')).code, 'Success');
  for (let i = 0; i < 1000; i++) {
    const r = await publish(pub, A.key, 'seq', { i });
    assert.equal(r.status, 201);
  }
  for (const c of [c1, c2]) await waitFor(() => c.events.length >= 1000, { timeout: 10000, what: '1000 events' });
  await sleep(300);
  const want = Array.from({ length: 1000 }, (_, i) => i);
  for (const c of [c1, c2]) assert.deepEqual(c.events.map((e) => e.payload.i), want);
  c1.sock.close(); c2.sock.close();
});

test('payload bytes arrive exactly as published (raw frame text)', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${gw1.port}/socket.io/?EIO=4&transport=websocket`);
  const frames = [];
  ws.on('message', (d) => { const s = d.toString(); if (s === '2') ws.send('3'); else frames.push(s); });
  await new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); });
  await waitFor(() => frames.some((f) => f.startsWith('0{')), { what: 'eio open' });
  ws.send('40' + JSON.stringify({ apiKey: A.key }));
  await waitFor(() => frames.some((f) => f.startsWith('40{')), { what: 'sio connect' });
  ws.send('427["listen",{"channelName":"raw"}]');
  await waitFor(() => frames.some((f) => f.startsWith('437[')), { what: 'ack' });
  const sm = frames.find((f) => f.startsWith('42["system_message"'));
  assert.equal(frames.find((f) => f.startsWith('437[')), `437[${sm.slice('42["system_message",'.length, -1)}]`);
  const payloads = [
    '{"b":1.0,"a":1e3,"big":123456789012345678901234567890,"neg":-0.0}',
    '{"s":"\\u00e9\\ud83d\\ude00 é😀 \\"q\\" \\\\","deep":[[[{"x":[null,true,false]}]]]}',
    '[ 1 , 2 ]', '"just a string"', '0.10',
  ];
  for (const p of payloads) {
    const r = await http('POST', `${pub.url}/v1/publishers/events/publish`, {
      raw: `{"channelName":"raw","payload":${p}}`,
      headers: { authorization: `Bearer ${A.key}`, 'content-type': 'application/json' },
    });
    assert.equal(r.status, 201, r.text);
  }
  await waitFor(() => frames.filter((f) => f.startsWith('42["event"')).length === payloads.length, { what: 'raw events' });
  const got = frames.filter((f) => f.startsWith('42["event"'));
  // The publisher may trim whitespace around the value, never inside it.
  const want = payloads.map((p) => `42["event",{"channelName":"raw","payload":${p.trim()}}]`);
  assert.deepEqual(got, want);
  ws.close();
});

test('python-socketio client joins and receives', async () => {
  const code = await new Promise((res) => {
    const p = spawn('/usr/bin/python3', [join(ROOT, 'tests/integration/python_client.py'),
      gw2.url, A.key, pub.url, A.key], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    const t = setTimeout(() => p.kill('SIGKILL'), 20000);
    p.on('exit', (c) => { clearTimeout(t); if (c !== 0) console.error(out); res(c); });
  });
  assert.equal(code, 0);
});

test('metrics: events in and out, channels gauge, fan-out histogram', async () => {
  const r = await http('GET', `${gw1.url}/metrics`);
  assert.equal(r.status, 200);
  const value = (name) => {
    const m = r.text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm'));
    return m ? Number(m[1]) : NaN;
  };
  assert.ok(value('sse_events_in_total') >= 1000, 'events in');
  assert.ok(value('sse_events_out_total') >= 1000, 'deliveries');
  assert.ok(value('sse_channels') >= 0, 'channels gauge');
  assert.ok(value('sse_fanout_seconds_count') >= 1000, 'fan-out histogram');
  const errors = (kind) => {
    const m = r.text.match(new RegExp(`^sse_errors_total\\{[^}]*kind="${kind}"[^}]*\\} (\\S+)$`, 'm'));
    return m ? Number(m[1]) : NaN;
  };
  assert.ok(errors('request') >= 5, 'requests answered Error are counted');
  assert.ok(errors('connect_refused') >= 1, 'refused CONNECTs are counted');
});

test('no secret in any log line', () => {
  const logs = allLogs.join('');
  for (const k of [A.key, B.key, listenOnly.key]) assert.ok(!logs.includes(k), 'api key logged');
  assert.ok(!/eyJ[\w-]+\.eyJ/.test(logs), 'a token was logged');
});
