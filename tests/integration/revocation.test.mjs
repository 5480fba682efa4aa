// revocation.test.mjs - API key revocation end to end (CONTRACT.md
// section 5): a client on each of two gateways joins a private channel
// with a token of key K, a public channel, and a private channel with a
// token of key L. Revoking K (admin DELETE, intake ApiKeyDeleted, intake
// ApiKeyExpired, or K's ttl running out with no outside call) removes each
// client from the K channel only, with exactly one RemovedFromChannel
// within 2 s; K's channel stops delivering, the others go on; both tracking
// indexes forget K; a token K signed earlier is refused. Idempotent intake.
// Real Redis, publisher API, two gateways, two task workers.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { recorder, listenAck, channelToken, smembers } from './lib/client.mjs';
import {
  startRedis, startService, setupProject, admin, publish, sign, http, stopAll,
  waitFor, sleep, INTERNAL_TOKEN,
} from './lib/harness.mjs';

const PID = 'revo';
let redis, pub, gw1, gw2, w1, w2, C, L, P;
const open = [];
let round = 0;

before(async () => {
  redis = await startRedis();
  pub = await startService('publisher', { redis });
  gw1 = await startService('gateway', { redis });
  gw2 = await startService('gateway', { redis });
  w1 = await startService('worker', { redis, env: { SSE_NODE_ID: 'rev-w1' } });
  w2 = await startService('worker', { redis, env: { SSE_NODE_ID: 'rev-w2' } });
  C = await setupProject(pub, PID, ['listen']);          // connection key
  L = await setupProject(pub, PID, ['sign_token']);      // survives
  P = await setupProject(pub, PID, ['publish_event']);   // publisher
});

after(async () => {
  for (const c of open) c.sock.close();
  await stopAll();
});

const client = (gw) => recorder(gw, C.key, open);

const listen = listenAck;

const token = (key, ch) => channelToken(pub, key, ch);

const smembersOf = (key) => smembers(redis, key);

const intake = (body, tok = INTERNAL_TOKEN, w = w1) => http('POST', `${w.url}/v1/tasks/events`,
  { body, headers: { authorization: `Bearer ${tok}` } });

const removals = (c) => c.sys.filter((m) => m.code === 'RemovedFromChannel');

// Two clients (one per gateway) in a K channel, a public one and an L one.
async function arrange(kExtra = {}) {
  const n = ++round;
  const K = await setupProject(pub, PID, ['sign_token'], kExtra);
  const ch = { k: `private-k.${n}`, pub: `pub-${n}`, l: `private-l.${n}`, k2: `private-k2.${n}` };
  const kTok = await token(K.key, ch.k);
  const lTok = await token(L.key, ch.l);
  const laterTok = await token(K.key, ch.k2); // signed before the revocation
  const cs = [await client(gw1), await client(gw2)];
  for (const c of cs) {
    assert.equal((await listen(c, ch.k, kTok)).code, 'Success');
    assert.equal((await listen(c, ch.pub)).code, 'Success');
    assert.equal((await listen(c, ch.l, lTok)).code, 'Success');
  }
  assert.equal((await smembersOf(`sse:{p:${PID}}:keysocks:${K.id}`)).length, 2);
  return { K, ch, cs, laterTok };
}

// Everything a revocation must leave behind; t0 is when it was asked for.
async function expectRevoked({ K, ch, cs, laterTok }, t0, limitMs = 2000) {
  await waitFor(() => cs.every((c) => removals(c).length >= 1),
    { timeout: limitMs + 3000, what: 'RemovedFromChannel on both gateways' });
  const took = Date.now() - t0;
  assert.ok(took <= limitMs, `removal took ${took} ms`);
  for (const c of cs) {
    const [m] = removals(c);
    assert.deepEqual(m.data, { channels: [ch.k] });
    assert.equal(typeof m.message, 'string');
  }
  // Both tracking indexes forget K, and keep L.
  assert.deepEqual(await smembersOf(`sse:{p:${PID}}:keysocks:${K.id}`), []);
  for (const c of cs) {
    assert.deepEqual(await smembersOf(`sse:{p:${PID}}:sock:${c.sid}`), [`${L.id}|${ch.l}`]);
  }
  // K's channel is silent for them; the public and L channels deliver.
  for (const name of [ch.k, ch.pub, ch.l]) {
    const r = await publish(pub, P.key, name, { on: name });
    assert.equal(r.status, 201, r.text);
  }
  await waitFor(() => cs.every((c) => c.events.some((e) => e.channelName === ch.l)
    && c.events.some((e) => e.channelName === ch.pub)), { what: 'public and L events' });
  await sleep(200);
  for (const c of cs) {
    assert.equal(c.events.filter((e) => e.channelName === ch.k).length, 0);
    assert.equal(removals(c).length, 1, 'exactly one removal message');
    // A token K signed before the revocation no longer opens a channel.
    const r = await listen(c, ch.k2, laterTok);
    assert.equal(r.code, 'Error');
  }
}

test('admin DELETE of K removes K channels only, on both gateways, within 2 s', async () => {
  const a = await arrange();
  const t0 = Date.now();
  const r = await admin(pub).deleteKey(a.K.id);
  assert.equal(r.status, 204, r.text);
  await expectRevoked(a, t0);
});

test('intake ApiKeyDeleted: the same revocation, through the worker', async () => {
  const a = await arrange();
  const t0 = Date.now();
  const r = await intake({ type: 'ApiKeyDeleted', apiKeyRecordId: a.K.id, projectId: PID });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.body.jobId, `rev-d-${a.K.id}`);
  await expectRevoked(a, t0);
  const rec = await redis.cliRaw('HGET', `sse:apikey:${a.K.id}`, 'revoked');
  assert.equal(rec.trim(), '1');
});

test('intake ApiKeyExpired: the same revocation, with the expired reason', async () => {
  const a = await arrange();
  const t0 = Date.now();
  const r = await intake({ type: 'ApiKeyExpired', apiKeyRecordId: a.K.id, projectId: PID }, INTERNAL_TOKEN, w2);
  assert.equal(r.status, 202, r.text);
  assert.equal(r.body.jobId, `rev-e-${a.K.id}`);
  await expectRevoked(a, t0);
  assert.match(removals(a.cs[0])[0].message, /expired/i);
});

test('a key whose ttl runs out is revoked with no outside call', async () => {
  const a = await arrange({ ttlSeconds: 3 });
  const expiresMs = a.K.record.expiresAt * 1000;
  assert.ok(expiresMs > Date.now(), 'joined before the expiry');
  // Due at expiresAt; the sweep runs every second: allow one more second.
  await expectRevoked(a, expiresMs, 3000);
  assert.match(removals(a.cs[1])[0].message, /expired/i);
  const job = await redis.cliRaw('HGET', `sse:job:rev-e-${a.K.id}`, 'state');
  assert.equal(job.trim(), 'completed');
});

test('the same intake twice: one job id, one removal message', async () => {
  const a = await arrange();
  const t0 = Date.now();
  const body = { type: 'ApiKeyDeleted', apiKeyRecordId: a.K.id, projectId: PID };
  const [r1, r2] = await Promise.all([intake(body, INTERNAL_TOKEN, w1), intake(body, INTERNAL_TOKEN, w2)]);
  assert.equal(r1.status, 202, r1.text);
  assert.equal(r2.status, 202, r2.text);
  assert.equal(r1.body.jobId, r2.body.jobId);
  await expectRevoked(a, t0);
  const r3 = await intake(body);
  assert.equal(r3.body.jobId, r1.body.jobId);
  await sleep(800);
  for (const c of a.cs) assert.equal(removals(c).length, 1);
});
