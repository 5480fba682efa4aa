// outage.test.mjs - Redis going away and coming back under load: gateways
// keep their clients, /readyz goes 503 then 200, the publisher API answers
// 503 during the outage and 201 after, subscriptions come back, workers
// resume their queue, and no process exits.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import {
  startRedis, startService, setupProject, publish, http, stopAll, waitFor, sleep,
  INTERNAL_TOKEN,
} from './lib/harness.mjs';

after(stopAll);

const ready = async (svc) => (await fetch(`${svc.url}/readyz`).catch(() => ({ status: 0 }))).status;

test('Redis outage: 503 while down, everything resumes after, no client lost', async () => {
  const redis = await startRedis();
  const pub = await startService('publisher', { redis });
  const gw = await startService('gateway', { redis });
  const wk = await startService('worker', { redis });
  const lk = await setupProject(pub, 'outage', ['listen']);
  const pk = await setupProject(pub, 'outage', ['publish_event']);

  const N = 20;
  const clients = [];
  const seen = Array.from({ length: N }, () => []);
  for (let i = 0; i < N; i++) {
    const c = io(gw.url, { auth: { apiKey: lk.key }, transports: i % 2 ? ['websocket'] : ['polling', 'websocket'] });
    c.on('event', (e) => seen[i].push(e.payload.n));
    clients.push(c);
  }
  try {
    await waitFor(() => clients.every((c) => c.connected), { timeout: 10000, what: 'clients connected' });
    await Promise.all(clients.map((c) => c.timeout(3000).emitWithAck('listen', { channelName: 'o' })));

    // Load before the outage.
    for (let n = 0; n < 20; n++) assert.equal((await publish(pub, pk.key, 'o', { n })).status, 201);

    // Keep the tenancy data across the restart, as a real deployment would.
    await redis.cli('SAVE');
    const disconnects = [];
    clients.forEach((c, i) => c.on('disconnect', () => disconnects.push(i)));
    await redis.stop(true);

    await waitFor(async () => (await ready(pub)) === 503 && (await ready(gw)) === 503 && (await ready(wk)) === 503,
      { timeout: 5000, what: 'readyz 503 everywhere' });
    const during = await publish(pub, pk.key, 'o', { n: -1 });
    assert.equal(during.status, 503);
    assert.equal(during.body.statusCode, 503);
    const intake = await http('POST', `${wk.url}/v1/tasks/events`, {
      body: { type: 'ApiKeyDeleted', apiKeyRecordId: lk.id, projectId: 'outage' },
      headers: { authorization: `Bearer ${INTERNAL_TOKEN}` },
    });
    assert.equal(intake.status, 503);
    await sleep(1500);
    assert.deepEqual(disconnects, [], 'gateways keep their clients while Redis is away');

    await redis.start();
    await waitFor(async () => (await ready(pub)) === 200 && (await ready(gw)) === 200 && (await ready(wk)) === 200,
      { timeout: 10000, what: 'readyz 200 everywhere' });
    // Subscriptions come back: the same clients get later events without
    // listening again.
    await waitFor(async () => {
      const r = await publish(pub, pk.key, 'o', { n: 1000 });
      assert.equal(r.status, 201);
      await sleep(200);
      return seen.every((s) => s.includes(1000));
    }, { timeout: 10000, interval: 100, what: 'events after the outage' });
    for (let n = 20; n < 40; n++) assert.equal((await publish(pub, pk.key, 'o', { n })).status, 201);
    await waitFor(() => seen.every((s) => s.filter((x) => x >= 20 && x < 40).length === 20),
      { timeout: 5000, what: 'all later events' });
    for (const s of seen) {
      const before = s.filter((x) => x >= 0 && x < 20);
      assert.deepEqual(before, [...Array(20).keys()], 'events before the outage, in order, once');
      const later = s.filter((x) => x >= 20 && x < 40);
      assert.deepEqual(later, [...Array(20).keys()].map((x) => x + 20), 'events after, in order, once');
    }

    // The worker resumes its queue.
    const ok = await http('POST', `${wk.url}/v1/tasks/events`, {
      body: { type: 'ApiKeyExpired', apiKeyRecordId: pk.id, projectId: 'outage' },
      headers: { authorization: `Bearer ${INTERNAL_TOKEN}` },
    });
    assert.equal(ok.status, 202);
    await waitFor(async () => (await publish(pub, pk.key, 'o', { n: 0 })).status === 401,
      { timeout: 5000, what: 'the revocation job ran' });

    for (const svc of [pub, gw, wk]) assert.equal(svc.exited(), null, `${svc.kind} still running`);
  } finally {
    clients.forEach((c) => c.close());
  }
});

test('after a Redis outage longer than SSE_GATEWAY_DEAD_MS, live gateways keep their tracking', async () => {
  const redis = await startRedis();
  const pub = await startService('publisher', { redis });
  const gw = await startService('gateway', { redis });
  // Gateways beat every 5 s: a dead bound of 6 s, and an outage longer.
  await startService('worker', { redis, env: { SSE_GATEWAY_DEAD_MS: '6000', SSE_SWEEP_INTERVAL_MS: '100' } });
  const lk = await setupProject(pub, 'outage2', ['listen']);
  const sk = await setupProject(pub, 'outage2', ['sign_token']);
  const tok = (await http('POST', `${pub.url}/v1/publishers/sign`, {
    body: { channelName: 'private-o' }, headers: { authorization: `Bearer ${sk.key}` },
  })).body.token;
  const c = io(gw.url, { auth: { apiKey: lk.key }, transports: ['websocket'] });
  try {
    await waitFor(() => c.connected, { what: 'connected' });
    const ok = await c.timeout(3000).emitWithAck('listen', { channelName: 'private-o', authToken: tok });
    assert.equal(ok.code, 'Success');
    const tracked = async () => (await redis.cliRaw('SMEMBERS', `sse:{p:outage2}:keysocks:${sk.id}`)).trim();
    assert.equal(await tracked(), `${c.id}|private-o`);
    await redis.cli('SAVE');
    await redis.stop(true);
    await sleep(7000);
    await redis.start();
    await waitFor(async () => (await ready(gw)) === 200, { timeout: 10000, what: 'gateway back' });
    await sleep(2500);
    assert.equal(await tracked(), `${c.id}|private-o`, 'the live gateway was not swept as dead');
  } finally {
    c.close();
  }
});
