// publisher.test.mjs - sse-publisher-api against a real Redis: every route
// and status of CONTRACT.md sections 2, 3 and 6, the order of checks, that
// a 4xx publishes nothing, byte-exact payloads on the Redis bus (read with
// a raw RESP socket), channel tokens checked with the project secret,
// expiry and deletion, the per-key rate limit, a Redis outage and SIGTERM.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createHmac } from 'node:crypto';
import {
  startRedis, startService, admin, setupProject, publish, sign, http,
  stopAll, waitFor, sleep, allLogs, ADMIN_TOKEN,
} from './lib/harness.mjs';

let redis;
let pub;
const secrets = []; // every key and token handed out: none may be logged

before(async () => {
  redis = await startRedis();
  pub = await startService('publisher', { redis });
});
after(stopAll);

const REASON = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 409: 'Conflict', 413: 'Payload Too Large',
  429: 'Too Many Requests', 503: 'Service Unavailable',
};

function assertError(res, status, what = '') {
  assert.equal(res.status, status, `${what}: ${res.status} ${res.text}`);
  assert.equal(res.body.statusCode, status, what);
  assert.equal(res.body.error, REASON[status], what);
  assert.equal(typeof res.body.message, 'string', what);
  assert.ok(res.body.message.length > 0, what);
}

const adminHdr = { authorization: `Bearer ${ADMIN_TOKEN}` };
const postRaw = (path, raw, headers = {}) => http('POST', `${pub.url}${path}`,
  { raw, headers: { 'content-type': 'application/json', ...headers } });

// ---- a raw RESP subscriber: the bytes exactly as Redis delivers them ----

function parseResp(buf, i = 0) {
  const crlf = buf.indexOf('\r\n', i);
  if (i >= buf.length || crlf < 0) return null;
  const type = String.fromCharCode(buf[i]);
  const line = buf.toString('latin1', i + 1, crlf);
  const next = crlf + 2;
  if (type === '+' || type === '-' || type === ':') return { value: line, end: next };
  if (type === '$') {
    const n = Number(line);
    if (n < 0) return { value: null, end: next };
    if (buf.length < next + n + 2) return null;
    return { value: buf.subarray(next, next + n), end: next + n + 2 };
  }
  if (type !== '*') throw new Error(`RESP type ${type}`);
  const items = [];
  let at = next;
  for (let k = 0; k < Number(line); k++) {
    const r = parseResp(buf, at);
    if (!r) return null;
    items.push(r.value);
    at = r.end;
  }
  return { value: items, end: at };
}

// PSUBSCRIBE pattern; resolves once confirmed with { msgs, close }.
function psubscribe(pattern) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(redis.port, '127.0.0.1');
    const msgs = [];
    let buf = Buffer.alloc(0);
    sock.on('error', reject);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (let r = parseResp(buf); r; r = parseResp(buf)) {
        buf = buf.subarray(r.end);
        const kind = r.value[0].toString();
        if (kind === 'psubscribe') resolve({ msgs, close: () => sock.destroy() });
        if (kind === 'pmessage') msgs.push({ channel: r.value[2].toString(), data: r.value[3] });
      }
    });
    const p = Buffer.from(pattern);
    sock.write(Buffer.concat([Buffer.from(`*2\r\n$10\r\nPSUBSCRIBE\r\n$${p.length}\r\n`), p, Buffer.from('\r\n')]));
  });
}

// The bus message the publisher must have sent for (id, channel, payload).
const busMessage = (id, channel, payload) => Buffer.concat([
  Buffer.from(`e1 ${id} -\n2["event",{"channelName":"${channel}","payload":`),
  Buffer.from(payload), Buffer.from('}]')]);

async function project(id, scopes, extra) {
  const p = await setupProject(pub, id, scopes, extra);
  secrets.push(p.key);
  return p;
}

// ---- built-ins and routing ----

test('healthz, readyz, 404 and 405 in the error shape', async () => {
  assert.equal((await http('GET', `${pub.url}/healthz`)).status, 200);
  assert.equal((await http('GET', `${pub.url}/readyz`)).status, 200);
  assertError(await http('GET', `${pub.url}/v1/nope`), 404, 'unknown path');
  assertError(await http('GET', `${pub.url}/v1/publishers/events/publish`), 405, 'GET publish');
  assertError(await http('DELETE', `${pub.url}/v1/admin/projects`, { headers: adminHdr }), 405, 'DELETE projects');
});

// ---- admin API ----

test('admin: 401 without or with a wrong token, 403 when disabled', async () => {
  const body = { id: 'adm', name: 'x' };
  assertError(await http('POST', `${pub.url}/v1/admin/projects`, { body }), 401, 'no token');
  assertError(await http('POST', `${pub.url}/v1/admin/projects`,
    { body, headers: { authorization: 'Bearer wrong' } }), 401, 'wrong token');
  assertError(await http('GET', `${pub.url}/v1/admin/projects/adm`,
    { headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } }), 401, 'longer token');
  const off = await startService('publisher', { redis, env: { SSE_ADMIN_TOKEN: undefined } });
  const routes = [['POST', '/v1/admin/projects'], ['GET', '/v1/admin/projects/adm'],
    ['POST', '/v1/admin/projects/adm/api-keys'], ['GET', '/v1/admin/projects/adm/api-keys'],
    ['DELETE', '/v1/admin/api-keys/abc']];
  for (const [m, p] of routes) {
    assertError(await http(m, `${off.url}${p}`, { body: m === 'POST' ? body : undefined, headers: adminHdr }), 403, `${m} ${p}`);
  }
  assert.deepEqual(await off.stop(), { code: 0, sig: null });
});

test('admin: projects create, conflict, get, validation', async () => {
  const a = admin(pub);
  const c = await a.createProject('proj-a', 'Project A');
  assert.equal(c.status, 201);
  assert.deepEqual(c.body, { id: 'proj-a', name: 'Project A' });
  assertError(await a.createProject('proj-a', 'again'), 409, 'exists');
  const g = await http('GET', `${pub.url}/v1/admin/projects/proj-a`, { headers: adminHdr });
  assert.equal(g.status, 200);
  assert.deepEqual(g.body, { id: 'proj-a', name: 'Project A' });
  assertError(await http('GET', `${pub.url}/v1/admin/projects/nope`, { headers: adminHdr }), 404, 'unknown');
  for (const id of ['Upper', '-x', '_x', 'a'.repeat(65), '', 'a b', 'a|b']) {
    assertError(await a.createProject(id, 'n'), 400, `id ${JSON.stringify(id)}`);
  }
  assert.equal((await a.createProject('a'.repeat(64), 'n')).status, 201);
  const bad = [{ id: 'p1' }, { id: 'p1', name: '' }, { id: 'p1', name: 5 },
    { id: 'p1', name: 'n'.repeat(129) }, { name: 'n' }, { id: 7, name: 'n' }];
  for (const b of bad) {
    assertError(await http('POST', `${pub.url}/v1/admin/projects`, { body: b, headers: adminHdr }), 400, JSON.stringify(b));
  }
  assertError(await postRaw('/v1/admin/projects', '{"id":', adminHdr), 400, 'not JSON');
  assertError(await postRaw('/v1/admin/projects', '[1]', adminHdr), 400, 'array');
  assert.equal((await a.createProject('p-long', 'n'.repeat(128))).status, 201);
});

test('admin: keys create, list, delete and their validation', async () => {
  const a = admin(pub);
  await a.createProject('keys');
  const k = await a.createKey('keys', ['publish_event', 'sign_token'], { name: 'main' });
  assert.equal(k.status, 201, k.text);
  secrets.push(k.body.key);
  assert.deepEqual(Object.keys(k.body).sort(),
    ['createdAt', 'expiresAt', 'id', 'key', 'name', 'projectId', 'scopes']);
  assert.match(k.body.id, /^[a-z0-9]{24}$/);
  assert.ok(k.body.key.includes(k.body.id), 'the key embeds its record id');
  assert.equal(k.body.projectId, 'keys');
  assert.equal(k.body.name, 'main');
  assert.deepEqual(k.body.scopes, ['publish_event', 'sign_token']);
  assert.ok(Math.abs(k.body.createdAt - Date.now() / 1000) < 5);
  assert.equal(k.body.expiresAt, null);
  const t = await a.createKey('keys', ['listen'], { ttlSeconds: 100 });
  assert.equal(t.status, 201);
  assert.equal(t.body.expiresAt, t.body.createdAt + 100);

  const l = await a.listKeys('keys');
  assert.equal(l.status, 200);
  const ids = l.body.map((x) => x.id).sort();
  assert.deepEqual(ids, [k.body.id, t.body.id].sort());
  for (const x of l.body) {
    assert.deepEqual(Object.keys(x).sort(), ['createdAt', 'expiresAt', 'id', 'name', 'projectId', 'scopes']);
  }
  assertError(await a.listKeys('nope'), 404, 'list unknown project');
  assertError(await a.createKey('nope', ['listen']), 404, 'create in unknown project');

  const bad = [
    { scopes: ['listen'] }, { name: '', scopes: ['listen'] }, { name: 3, scopes: ['listen'] },
    { name: 'n' }, { name: 'n', scopes: [] }, { name: 'n', scopes: 'listen' },
    { name: 'n', scopes: ['root'] }, { name: 'n', scopes: [1] },
    { name: 'n', scopes: ['listen'], ttlSeconds: 0 }, { name: 'n', scopes: ['listen'], ttlSeconds: -5 },
    { name: 'n', scopes: ['listen'], ttlSeconds: 1.5 }, { name: 'n', scopes: ['listen'], ttlSeconds: '10' },
    { name: 'n', scopes: ['listen'], ttlSeconds: null },
  ];
  for (const b of bad) {
    assertError(await http('POST', `${pub.url}/v1/admin/projects/keys/api-keys`,
      { body: b, headers: adminHdr }), 400, JSON.stringify(b));
  }

  const d = await a.deleteKey(t.body.id);
  assert.equal(d.status, 204);
  assert.equal(d.text, '');
  // The revocation went into the same queue the worker's intake uses.
  assert.equal(await redis.cli('HGET', `sse:job:rev-d-${t.body.id}`, 'type'), '"ApiKeyDeleted"');
  assert.equal(await redis.cli('HGET', `sse:job:rev-d-${t.body.id}`, 'kid'), `"${t.body.id}"`);
  assertError(await a.deleteKey('a'.repeat(24)), 404, 'unknown key');
  assertError(await a.deleteKey('x'), 404, 'malformed id');
  assert.deepEqual((await a.listKeys('keys')).body.map((x) => x.id), [k.body.id]);
});

// ---- authentication, scope and the order of checks ----

test('publish: 401 for missing, malformed, unknown and wrong keys; both headers', async () => {
  const p = await project('auth', ['publish_event']);
  const body = { channelName: 'c', payload: 1 };
  const url = `${pub.url}/v1/publishers/events/publish`;
  assertError(await http('POST', url, { body }), 401, 'no key');
  assertError(await publish(pub, 'garbage', 'c', 1), 401, 'malformed');
  const unknown = p.key.replace(p.id, 'z'.repeat(24));
  assertError(await publish(pub, unknown, 'c', 1), 401, 'unknown id');
  const last = p.key.at(-1) === 'A' ? 'B' : 'A';
  assertError(await publish(pub, p.key.slice(0, -1) + last, 'c', 1), 401, 'wrong secret');
  assert.equal((await publish(pub, p.key, 'c', 1)).status, 201, 'Bearer');
  const x = await http('POST', url, { body, headers: { 'x-api-key': p.key } });
  assert.equal(x.status, 201, 'X-API-Key');
  assertError(await http('POST', url, { body, headers: { 'x-api-key': 'nope' } }), 401, 'bad X-API-Key');
});

test('order of checks: 401 before 413, 413 after auth, 403 before 400', async () => {
  const p = await project('order', ['publish_event']);
  const s = await project('order', ['sign_token']);
  const big = JSON.stringify({ channelName: 'c', payload: 'x'.repeat(80000) });
  assertError(await postRaw('/v1/publishers/events/publish', big), 401, 'no key, big body');
  assertError(await postRaw('/v1/publishers/events/publish', big,
    { authorization: 'Bearer nope' }), 401, 'bad key, big body');
  assertError(await postRaw('/v1/publishers/events/publish', big,
    { authorization: `Bearer ${p.key}` }), 413, 'good key, big body');
  assertError(await postRaw('/v1/publishers/events/publish', '{not json',
    { authorization: `Bearer ${s.key}` }), 403, 'wrong scope, bad body');
  assertError(await postRaw('/v1/publishers/sign', '{not json',
    { authorization: `Bearer ${p.key}` }), 403, 'sign without sign_token');
  assertError(await postRaw('/v1/admin/projects', big), 401, 'admin: no token, big body');
  assertError(await postRaw('/v1/admin/projects', big, adminHdr), 413, 'admin: big body');
});

test('a 4xx publishes nothing; valid publishes arrive', async () => {
  const p = await project('quiet', ['publish_event']);
  const other = await project('quiet', ['sign_token']);
  const sub = await psubscribe('sse:{p:quiet}:ch:*');
  const auth = { authorization: `Bearer ${p.key}` };
  const cases = [
    ['{not json', 400], ['[]', 400], ['"s"', 400], ['{}', 400],
    ['{"payload":1}', 400], ['{"channelName":5,"payload":1}', 400],
    ['{"channelName":"a b","payload":1}', 400], ['{"channelName":"","payload":1}', 400],
    [`{"channelName":"${'c'.repeat(201)}","payload":1}`, 400],
    ['{"channelName":"ok"}', 400], ['{"channelName":"ok","payload":}', 400],
    ['{"channelName":"ok","payload":1} x', 400],
    [JSON.stringify({ channelName: 'ok', payload: 'x'.repeat(65535) }), 413],
  ];
  for (const [raw, status] of cases) {
    assertError(await postRaw('/v1/publishers/events/publish', raw, auth), status, raw.slice(0, 60));
  }
  assertError(await postRaw('/v1/publishers/events/publish', '{"channelName":"ok","payload":1}',
    { authorization: `Bearer ${other.key}` }), 403, 'scope');
  assertError(await postRaw('/v1/publishers/events/publish', '{"channelName":"ok","payload":1}'), 401, 'no key');
  const ok = await publish(pub, p.key, 'ok', null);
  assert.equal(ok.status, 201);
  await waitFor(() => sub.msgs.length >= 1, { what: 'the valid publish' });
  await sleep(200);
  assert.equal(sub.msgs.length, 1, 'only the valid publish reached Redis');
  assert.deepEqual(sub.msgs[0].data, busMessage(ok.body.id, 'ok', 'null'));
  sub.close();
});

test('payload bytes arrive verbatim: nested, unicode, escapes, numbers, near the limit', async () => {
  const p = await project('exact', ['publish_event']);
  const sub = await psubscribe('sse:{p:exact}:ch:*');
  const nested = '['.repeat(40) + '{"z":1,"a":{"m":[true,false,null]}}' + ']'.repeat(40);
  const big = `"${'y'.repeat(65534)}"`; // exactly SSE_MAX_PAYLOAD bytes
  const payloads = [
    '{"b":1,"a":2,"c":{"y":[1.50,2e10,-0.0,1E-7,12345678901234567890]}}',
    '"\\u00e9\\ud83d\\ude00 \\"q\\" \\\\ \\/ \\n"',
    '{"raw":"é😀中文","esc":"\\u00E9"}',
    nested, big, '0', 'false', '{}',
  ];
  const sent = [];
  for (const [i, payload] of payloads.entries()) {
    const ch = `room.${i}:x`;
    const raw = Buffer.from(`{"channelName":"${ch}","payload":  ${payload}  }`);
    const r = await postRaw('/v1/publishers/events/publish', raw, { authorization: `Bearer ${p.key}` });
    assert.equal(r.status, 201, `${i}: ${r.text.slice(0, 200)}`);
    assert.deepEqual(Object.keys(r.body).sort(), ['channelName', 'id']);
    assert.match(r.body.id, /^[a-z0-9]{20}$/);
    assert.equal(r.body.channelName, ch);
    sent.push({ ch, id: r.body.id, payload });
  }
  await waitFor(() => sub.msgs.length >= payloads.length, { what: 'all messages' });
  sent.forEach(({ ch, id, payload }, i) => {
    assert.equal(sub.msgs[i].channel, `sse:{p:exact}:ch:${ch}`);
    assert.ok(sub.msgs[i].data.equals(busMessage(id, ch, payload)), `payload ${i} byte-exact`);
  });
  sub.close();
  const m = await http('GET', `${pub.url}/metrics`);
  assert.match(m.text, /sse_events_published_total\{[^}]*\} \d+/);
  assert.match(m.text, /sse_publish_seconds_bucket/);
  assert.ok(m.text.includes('/v1/publishers/events/publish'), 'request counters by route');
});

test('deleted and expired keys are refused with 401', async () => {
  const a = admin(pub);
  const d = await project('gone', ['publish_event']);
  assert.equal((await publish(pub, d.key, 'c', 1)).status, 201);
  assert.equal((await a.deleteKey(d.id)).status, 204);
  assertError(await publish(pub, d.key, 'c', 1), 401, 'deleted');
  const e = await project('gone', ['publish_event', 'sign_token'], { ttlSeconds: 1 });
  assert.equal(e.record.expiresAt, e.record.createdAt + 1);
  const wait = e.record.expiresAt * 1000 - Date.now();
  if (wait > 0) await sleep(wait + 50);
  assertError(await publish(pub, e.key, 'c', 1), 401, 'expired publish');
  assertError(await sign(pub, e.key, 'private-c'), 401, 'expired sign');
});

// ---- channel tokens ----

const b64json = (s) => JSON.parse(Buffer.from(s, 'base64url').toString());

async function projectSecret(pid) {
  return Buffer.from(await redis.cliRaw('HGET', `sse:{p:${pid}}:project`, 'secret').then((s) => s.trim()), 'hex');
}

test('sign: header, claims and signature; exp capped by the key; 400s', async () => {
  const p = await project('signer', ['sign_token']);
  const r = await sign(pub, p.key, 'private-orders.42');
  assert.equal(r.status, 201, r.text);
  secrets.push(r.body.token);
  assert.deepEqual(Object.keys(r.body).sort(), ['channelName', 'expiresAt', 'token']);
  assert.equal(r.body.channelName, 'private-orders.42');
  const [h, c, s] = r.body.token.split('.');
  assert.deepEqual(b64json(h), { alg: 'HS256', typ: 'JWT', kid: p.id });
  const claims = b64json(c);
  assert.deepEqual(Object.keys(claims).sort(), ['aud', 'channel', 'exp', 'iat', 'pid']);
  assert.equal(claims.aud, 'sse-channel-auth');
  assert.equal(claims.channel, 'private-orders.42');
  assert.equal(claims.pid, 'signer');
  assert.ok(Math.abs(claims.iat - Date.now() / 1000) < 5);
  assert.equal(claims.exp, claims.iat + 600);
  assert.equal(r.body.expiresAt, claims.exp);
  const mac = createHmac('sha256', await projectSecret('signer')).update(`${h}.${c}`).digest('base64url');
  assert.equal(s, mac, 'signed with the project secret');
  assert.equal((await sign(pub, p.key, 'private')).status, 201, 'the bare name private');

  const short = await project('signer', ['sign_token'], { ttlSeconds: 100 });
  const t = await sign(pub, short.key, 'private-x');
  assert.equal(t.status, 201);
  assert.equal(b64json(t.body.token.split('.')[1]).exp, short.record.expiresAt);
  assert.equal(t.body.expiresAt, short.record.expiresAt);

  assertError(await sign(pub, p.key, 'public-x'), 400, 'public channel');
  assertError(await sign(pub, p.key, 'Private-x'), 400, 'upper-case Private is public');
  assertError(await sign(pub, p.key, 'private x'), 400, 'invalid name');
  assertError(await postRaw('/v1/publishers/sign', '{}', { authorization: `Bearer ${p.key}` }), 400, 'no channel');
  assertError(await postRaw('/v1/publishers/sign', '{"channelName":1}', { authorization: `Bearer ${p.key}` }), 400, 'number');
  assertError(await sign(pub, 'nope', 'private-x'), 401, 'bad key');
});

test('SSE_CHANNEL_AUTH_AUDIENCE sets aud', async () => {
  const svc = await startService('publisher', { redis, env: { SSE_CHANNEL_AUTH_AUDIENCE: 'my-aud' } });
  const p = await setupProject(svc, 'aud', ['sign_token']);
  secrets.push(p.key);
  const r = await sign(svc, p.key, 'private-a');
  assert.equal(r.status, 201);
  assert.equal(b64json(r.body.token.split('.')[1]).aud, 'my-aud');
  await svc.stop();
});

// ---- rate limit, logs, outage, shutdown ----

test('SSE_PUBLISH_RATE: 429 with Retry-After past the per-key rate', async () => {
  const svc = await startService('publisher', { redis, env: { SSE_PUBLISH_RATE: '2' } });
  const p = await setupProject(svc, 'rate', ['publish_event']);
  const q = await setupProject(svc, 'rate', ['publish_event']);
  secrets.push(p.key, q.key);
  const codes = [];
  for (let i = 0; i < 3; i++) codes.push((await publish(svc, p.key, 'c', i)).status);
  assert.deepEqual(codes.slice(0, 2), [201, 201]);
  const r = await publish(svc, p.key, 'c', 3);
  assertError(r, 429, 'over the rate');
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
  assert.equal((await publish(svc, q.key, 'c', 1)).status, 201, 'another key has its own bucket');
  await sleep(1100);
  assert.equal((await publish(svc, p.key, 'c', 4)).status, 201, 'refilled');
  await svc.stop();
});

test('503 while Redis is down, 201 again after it returns', async () => {
  const p = await project('outage', ['publish_event']);
  assert.equal((await publish(pub, p.key, 'c', 1)).status, 201);
  await redis.stop(true);
  await waitFor(async () => (await http('GET', `${pub.url}/readyz`)).status === 503, { what: 'readyz 503' });
  assertError(await publish(pub, p.key, 'c', 1), 503, 'publish while down');
  assertError(await admin(pub).createProject('outage2'), 503, 'admin while down');
  assert.equal((await http('GET', `${pub.url}/healthz`)).status, 200);
  await redis.start();
  await waitFor(async () => (await http('GET', `${pub.url}/readyz`)).status === 200,
    { timeout: 10000, what: 'readyz 200 again' });
  // Redis started empty (no persistence): set the project up again.
  const again = await project('outage', ['publish_event']);
  assert.equal((await publish(pub, again.key, 'c', 1)).status, 201);
});

test('no key, token or admin token in any log line; SIGTERM exits 0', async () => {
  const logs = allLogs.join('');
  assert.ok(logs.length > 0);
  for (const s of [...secrets, ADMIN_TOKEN]) assert.ok(!logs.includes(s), 'a secret was logged');
  const t0 = Date.now();
  assert.deepEqual(await pub.stop('SIGTERM'), { code: 0, sig: null });
  assert.ok(Date.now() - t0 < 10000);
});
