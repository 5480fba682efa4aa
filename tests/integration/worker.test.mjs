// worker.test.mjs - the task worker as an operator and a crash see it
// (CONTRACT.md sections 5 and 6): intake answers 400/401/403 in the
// contract's order; a job failing every attempt (a tracking key of the
// wrong Redis type: a real WRONGTYPE error) lands in the failed list with
// its error and attempts and runs again once fixed and retried (HTTP and
// ssectl); one job revokes 10,000 memberships within 5 s; a worker killed
// with SIGKILL mid-job loses nothing (another worker completes the job);
// SIGTERM exits 0; a dead gateway's sockets are swept from both indexes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { recorder, smembers } from './lib/client.mjs';
import {
  startRedis, startService, setupProject, sign, http, stopAll, waitFor, sleep,
  BIN, INTERNAL_TOKEN,
} from './lib/harness.mjs';

const PID = 'wrk';
let redis, pub, gw1, gw2, w1, C;
const open = [];

before(async () => {
  redis = await startRedis();
  pub = await startService('publisher', { redis });
  gw1 = await startService('gateway', { redis });
  gw2 = await startService('gateway', { redis });
  w1 = await startService('worker', { redis, env: { SSE_NODE_ID: 'wk-1' } });
  C = await setupProject(pub, PID, ['listen']);
});

after(async () => {
  for (const c of open) c.close();
  await stopAll();
});

// ---- a minimal RESP client: fast polling and SUBSCRIBE without redis-cli

function parseResp(buf, off) {
  if (off >= buf.length) return null;
  const end = buf.indexOf('\r\n', off);
  if (end < 0) return null;
  const t = String.fromCharCode(buf[off]);
  const line = buf.toString('utf8', off + 1, end);
  if (t === '+') return [line, end + 2];
  if (t === '-') return [new Error(line), end + 2];
  if (t === ':') return [Number(line), end + 2];
  if (t === '$') {
    const n = Number(line);
    if (n < 0) return [null, end + 2];
    if (buf.length < end + 2 + n + 2) return null;
    return [buf.toString('utf8', end + 2, end + 2 + n), end + 2 + n + 2];
  }
  if (t === '*') {
    const n = Number(line);
    if (n < 0) return [null, end + 2];
    const out = [];
    let o = end + 2;
    for (let i = 0; i < n; i++) {
      const r = parseResp(buf, o);
      if (!r) return null;
      out.push(r[0]);
      o = r[1];
    }
    return [out, o];
  }
  throw new Error(`bad RESP type ${t}`);
}

async function resp(port) {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((res, rej) => { s.once('connect', res); s.once('error', rej); });
  let buf = Buffer.alloc(0);
  const waiting = [];
  const c = { messages: [], close: () => s.destroy() };
  s.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const r = parseResp(buf, 0);
      if (!r) break;
      buf = buf.subarray(r[1]);
      const v = r[0];
      if (Array.isArray(v) && v[0] === 'message') c.messages.push({ channel: v[1], data: v[2] });
      else if (waiting.length) waiting.shift()(v);
    }
  });
  c.cmd = (...args) => new Promise((res) => {
    waiting.push(res);
    let out = `*${args.length}\r\n`;
    for (const a of args) out += `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`;
    s.write(out);
  });
  open.push(c);
  return c;
}

// ---- helpers

const auth = (tok = INTERNAL_TOKEN) => (tok === null ? {} : { authorization: `Bearer ${tok}` });
const intake = (w, body, tok, raw) => http('POST', `${w.url}/v1/tasks/events`,
  raw !== undefined ? { raw, headers: { ...auth(tok), 'content-type': 'application/json' } }
    : { body, headers: auth(tok) });
const failedList = (w, tok) => http('GET', `${w.url}/v1/tasks/jobs/failed`, { headers: auth(tok) });
const retry = (w, id, tok) => http('POST', `${w.url}/v1/tasks/jobs/${id}/retry`, { headers: auth(tok) });
const jobField = async (id, f) => (await redis.cliRaw('HGET', `sse:job:${id}`, f)).trim();
const smembersOf = (key) => smembers(redis, key);

function ssectl(w, ...args) {
  return new Promise((res) => {
    const p = spawn(BIN.ssectl, args, {
      env: { PATH: process.env.PATH, SSE_WORKER_URL: w.url, SSE_INTERNAL_TOKEN: INTERNAL_TOKEN },
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('exit', (code) => res({ code, out, err }));
  });
}

const client = (gw) => recorder(gw, C.key, open);

// n fake memberships of key kid for sockets of gateway tag, on channel ch,
// written in both indexes by one script (the way a gateway would).
const FAKE_LUA = `
local pid, kid, tag, ch, n = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local ks = 'sse:{p:' .. pid .. '}:keysocks:' .. kid
for i = 1, n do
  local sid = tag .. string.format('%012d', i)
  redis.call('SADD', ks, sid .. '|' .. ch)
  redis.call('SADD', 'sse:{p:' .. pid .. '}:sock:' .. sid, kid .. '|' .. ch)
  redis.call('SADD', 'sse:gw:' .. tag .. ':socks', pid .. '|' .. sid)
end
return n`;
const fake = (kid, tag, ch, n) => redis.cli('EVAL', FAKE_LUA, '0', PID, kid, tag, ch, String(n));
// How many of those n fake sockets still have a sock set.
const COUNT_LUA = `
local n, left = tonumber(ARGV[3]), 0
for i = 1, n do
  left = left + redis.call('EXISTS', 'sse:{p:' .. ARGV[1] .. '}:sock:' .. ARGV[2] .. string.format('%012d', i))
end
return left`;
const fakeLeft = async (tag, n) => Number((await redis.cliRaw('EVAL', COUNT_LUA, '0', PID, tag, String(n))).trim());

const metric = async (w, re) => {
  const r = await http('GET', `${w.url}/metrics`);
  const m = r.text.match(re);
  return m ? Number(m[1]) : NaN;
};

// ---- tests

test('intake: 400 for malformed events, 401 for a bad token, 403 when no token is set', async () => {
  const good = { type: 'ApiKeyDeleted', apiKeyRecordId: 'abcdefghij0123456789abcd', projectId: PID };
  const bad = [
    'not json', '[]', '"x"', '{}', '{"type":"ApiKeyDeleted"',
    JSON.stringify({ ...good, type: 'KeyDeleted' }),
    JSON.stringify({ ...good, type: 7 }),
    JSON.stringify({ type: good.type, projectId: PID }),
    JSON.stringify({ type: good.type, apiKeyRecordId: good.apiKeyRecordId }),
    JSON.stringify({ ...good, apiKeyRecordId: 42 }),
    JSON.stringify({ ...good, apiKeyRecordId: 'has|pipe' }),
    JSON.stringify({ ...good, apiKeyRecordId: '' }),
    JSON.stringify({ ...good, projectId: 'Not A Project' }),
    JSON.stringify({ ...good, projectId: null }),
  ];
  for (const raw of bad) {
    const r = await intake(w1, undefined, INTERNAL_TOKEN, raw);
    assert.equal(r.status, 400, `${raw} -> ${r.status} ${r.text}`);
    assert.equal(r.body.statusCode, 400);
    assert.equal(typeof r.body.message, 'string');
  }
  for (const tok of [null, 'wrong-token', `${INTERNAL_TOKEN}x`]) {
    assert.equal((await intake(w1, good, tok)).status, 401);
    assert.equal((await intake(w1, undefined, tok, 'not json')).status, 401, 'token checked before body');
    assert.equal((await failedList(w1, tok)).status, 401);
    assert.equal((await retry(w1, 'rev-d-x', tok)).status, 401);
  }
  assert.equal((await http('GET', `${w1.url}/v1/tasks/nope`, { headers: auth() })).status, 404);
  assert.equal((await http('GET', `${w1.url}/v1/tasks/events`, { headers: auth() })).status, 405);

  const w0 = await startService('worker', { redis, env: { SSE_INTERNAL_TOKEN: undefined } });
  assert.equal((await intake(w0, good)).status, 403);
  assert.equal((await intake(w0, good, null)).status, 403);
  assert.equal((await failedList(w0)).status, 403);
  assert.equal((await retry(w0, 'rev-d-x')).status, 403);
  assert.deepEqual(await w0.stop(), { code: 0, sig: null });
});

test('a job failing every attempt is kept as failed; once fixed, retry completes it', async () => {
  const kids = ['wrongtype000000000000001', 'wrongtype000000000000002'];
  // A tracking set of the wrong type: SMEMBERS fails with WRONGTYPE, always.
  for (const kid of kids) await redis.cli('SET', `sse:{p:${PID}}:keysocks:${kid}`, 'not-a-set');
  const ids = [];
  for (const kid of kids) {
    const r = await intake(w1, { type: 'ApiKeyDeleted', apiKeyRecordId: kid, projectId: PID });
    assert.equal(r.status, 202, r.text);
    ids.push(r.body.jobId);
  }
  let listed;
  await waitFor(async () => {
    listed = (await failedList(w1)).body;
    return ids.every((id) => listed.some((j) => j.id === id));
  }, { timeout: 15000, interval: 200, what: 'both jobs failed' });
  for (const [i, id] of ids.entries()) {
    const j = listed.find((x) => x.id === id);
    assert.equal(j.type, 'ApiKeyDeleted');
    assert.equal(j.apiKeyRecordId, kids[i]);
    assert.equal(j.projectId, PID);
    assert.equal(j.state, 'failed');
    assert.equal(j.attempts, 5);
    assert.equal(j.maxAttempts, 5);
    assert.match(j.lastError, /WRONGTYPE/);
    assert.ok(Number.isInteger(j.createdAt) && j.updatedAt >= j.createdAt);
  }
  assert.ok(await metric(w1, /sse_jobs_total\{[^}]*outcome="failed"\} (\d+)/) >= 2);
  assert.ok(await metric(w1, /sse_jobs_total\{[^}]*outcome="retried"\} (\d+)/) >= 8);

  const listedByCtl = await ssectl(w1, 'jobs', 'failed');
  assert.equal(listedByCtl.code, 0, listedByCtl.err);
  const ctlIds = JSON.parse(listedByCtl.out).map((j) => j.id);
  for (const id of ids) assert.ok(ctlIds.includes(id));

  // Retrying before the fix fails again; a job that is not failed is 404.
  assert.equal((await retry(w1, 'rev-d-nosuchjob')).status, 404);
  for (const kid of kids) await redis.cli('DEL', `sse:{p:${PID}}:keysocks:${kid}`);
  const r = await retry(w1, ids[0]);
  assert.equal(r.status, 202, r.text);
  assert.deepEqual(r.body, { jobId: ids[0] });
  const byCtl = await ssectl(w1, 'jobs', 'retry', ids[1]);
  assert.equal(byCtl.code, 0, byCtl.err);
  assert.equal(JSON.parse(byCtl.out).jobId, ids[1]);
  await waitFor(async () => (await jobField(ids[0], 'state')) === 'completed'
    && (await jobField(ids[1], 'state')) === 'completed', { timeout: 5000, what: 'retried jobs completed' });
  assert.equal((await retry(w1, ids[0])).status, 404, 'a completed job is not retried');
  const after = (await failedList(w1)).body;
  assert.ok(!after.some((j) => ids.includes(j.id)));
  const bad = await ssectl(w1, 'jobs', 'retry', 'rev-d-nosuchjob');
  assert.notEqual(bad.code, 0);
});

test('one job revokes 10,000 memberships and tells every gateway within 5 s', async () => {
  const N = 10000;
  const TAG = 'fakegw01';
  const K = await setupProject(pub, PID, ['sign_token']);
  const tok = (await sign(pub, K.key, 'private-big')).body.token;
  const real = [await client(gw1), await client(gw2)];
  for (const c of real) {
    const a = await c.sock.timeout(5000).emitWithAck('listen', { channelName: 'private-big', authToken: tok });
    assert.equal(a.code, 'Success');
  }
  await fake(K.id, TAG, 'private-big', N);
  assert.equal(Number((await redis.cliRaw('SCARD', `sse:{p:${PID}}:keysocks:${K.id}`)).trim()), N + 2);
  const sub = await resp(redis.port);
  await sub.cmd('SUBSCRIBE', `sse:gw:${TAG}`);

  const t0 = Date.now();
  const r = await intake(w1, { type: 'ApiKeyDeleted', apiKeyRecordId: K.id, projectId: PID });
  assert.equal(r.status, 202, r.text);
  await waitFor(async () => (await jobField(r.body.jobId, 'state')) === 'completed',
    { timeout: 6000, what: 'the big job completed' });
  const took = Date.now() - t0;
  assert.ok(took < 5000, `10,000 memberships took ${took} ms`);

  await waitFor(() => real.every((c) => c.sys.some((m) => m.code === 'RemovedFromChannel')),
    { what: 'real clients told' });
  for (const c of real) {
    assert.deepEqual(c.sys.filter((m) => m.code === 'RemovedFromChannel').map((m) => m.data),
      [{ channels: ['private-big'] }]);
  }
  // The fake gateway got every one of its sockets, in messages under 1 MB.
  await waitFor(() => sub.messages.reduce((n, m) => n + JSON.parse(m.data).sockets.length, 0) >= N,
    { what: 'control messages for the fake gateway' });
  const sids = new Set();
  for (const m of sub.messages) {
    assert.ok(Buffer.byteLength(m.data) < 1024 * 1024, `message of ${m.data.length} bytes`);
    const msg = JSON.parse(m.data);
    assert.equal(msg.op, 'remove');
    assert.equal(msg.projectId, PID);
    assert.equal(msg.reason, 'ApiKeyDeleted');
    for (const s of msg.sockets) {
      assert.ok(s.sid.startsWith(TAG));
      assert.deepEqual(s.channels, ['private-big']);
      sids.add(s.sid);
    }
  }
  assert.equal(sids.size, N);
  assert.ok(sub.messages.length > 1, 'split into several messages');
  assert.deepEqual(await smembersOf(`sse:{p:${PID}}:keysocks:${K.id}`), []);
  assert.equal(await fakeLeft(TAG, N), 0);
  for (const c of real) assert.deepEqual(await smembersOf(`sse:{p:${PID}}:sock:${c.sock.id}`), []);
  assert.ok(await metric(w1, /sse_memberships_revoked_total\{[^}]*\} (\d+)/) >= N);
});

test('a worker killed mid-job loses nothing; SIGTERM exits 0', async () => {
  // Only the worker about to be killed may take the job.
  assert.deepEqual(await w1.stop('SIGTERM', 10000), { code: 0, sig: null });
  const N = 150000;
  const kid = 'killedmidjob000000000001';
  await fake(kid, 'fakegw02', 'private-kill', N);
  const A = await startService('worker', { redis, env: { SSE_NODE_ID: 'wk-a', SSE_JOB_LEASE_MS: '1000' } });
  const poll = await resp(redis.port);
  const r = await intake(A, { type: 'ApiKeyDeleted', apiKeyRecordId: kid, projectId: PID });
  assert.equal(r.status, 202, r.text);
  const id = r.body.jobId;
  for (;;) {
    const [state, worker] = await poll.cmd('HMGET', `sse:job:${id}`, 'state', 'worker');
    if (state === 'active' && worker === 'wk-a') break;
    assert.notEqual(state, 'completed', 'the job ended before the kill: make it longer');
  }
  A.proc.kill('SIGKILL');
  const ex = await A.stop('SIGKILL', 5000);
  assert.equal(ex.sig, 'SIGKILL');
  assert.equal(await jobField(id, 'state'), 'active', 'killed in the middle of the job');

  const B = await startService('worker', { redis, env: { SSE_NODE_ID: 'wk-b' } });
  await waitFor(async () => (await jobField(id, 'state')) === 'completed',
    { timeout: 10000, interval: 100, what: 'the job completed on the other worker' });
  assert.equal(await jobField(id, 'worker'), 'wk-b');
  assert.equal(await jobField(id, 'attempts'), '2');
  assert.deepEqual(await smembersOf(`sse:{p:${PID}}:keysocks:${kid}`), []);
  assert.equal(await fakeLeft('fakegw02', N), 0);
  w1 = B;
});

test('a dead gateway: its sockets leave both indexes, a live gateway keeps its own', async () => {
  const W = await startService('worker', { redis, env: { SSE_GATEWAY_DEAD_MS: '8000', SSE_SWEEP_INTERVAL_MS: '200' } });
  const kid = 'deadgwkey000000000000001';
  await fake(kid, 'deadgw01', 'private-dead', 50);
  const liveSid = 'livegw01000000000001';
  await redis.cli('SADD', `sse:{p:${PID}}:keysocks:${kid}`, `${liveSid}|private-dead`);
  await redis.cli('SADD', `sse:{p:${PID}}:sock:${liveSid}`, `${kid}|private-dead`);
  const liveTags = (await redis.cliRaw('ZRANGE', 'sse:gateways', '0', '-1')).split('\n').filter(Boolean);
  assert.ok(liveTags.length >= 2, 'both real gateways beat');
  await redis.cli('ZADD', 'sse:gateways', '0', 'deadgw01');
  await waitFor(async () => (await redis.cliRaw('EXISTS', 'sse:gw:deadgw01:socks')).trim() === '0'
    && (await fakeLeft('deadgw01', 50)) === 0, { timeout: 5000, what: 'dead gateway swept' });
  assert.deepEqual(await smembersOf(`sse:{p:${PID}}:keysocks:${kid}`), [`${liveSid}|private-dead`]);
  assert.deepEqual(await smembersOf(`sse:{p:${PID}}:sock:${liveSid}`), [`${kid}|private-dead`]);
  assert.equal((await redis.cliRaw('ZSCORE', 'sse:gateways', 'deadgw01')).trim(), '');
  for (const t of liveTags) assert.notEqual((await redis.cliRaw('ZSCORE', 'sse:gateways', t)).trim(), '');
  assert.deepEqual(await W.stop(), { code: 0, sig: null });
});

test('SSE_JOB_ATTEMPTS and SSE_JOB_BACKOFF_MS set the retry policy', async () => {
  const r2 = await startRedis();
  const w = await startService('worker', { redis: r2, env: { SSE_JOB_ATTEMPTS: '2', SSE_JOB_BACKOFF_MS: '20' } });
  const kid = 'policy000000000000000001';
  await r2.cli('SET', `sse:{p:${PID}}:keysocks:${kid}`, 'not-a-set');
  const t0 = Date.now();
  const r = await intake(w, { type: 'ApiKeyDeleted', apiKeyRecordId: kid, projectId: PID });
  assert.equal(r.status, 202, r.text);
  let job;
  await waitFor(async () => {
    job = (await failedList(w)).body.find((j) => j.id === r.body.jobId);
    return job !== undefined;
  }, { timeout: 5000, interval: 50, what: 'the job failed' });
  assert.equal(job.attempts, 2);
  assert.equal(job.maxAttempts, 2);
  // Two attempts with a 20 ms backoff take well under the default policy's
  // 200 + 400 + 800 + 1600 ms.
  assert.ok(Date.now() - t0 < 2500, `failed after ${Date.now() - t0} ms`);
  assert.deepEqual(await w.stop(), { code: 0, sig: null });
});
