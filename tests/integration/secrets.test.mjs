// secrets.test.mjs - no secret in any log line, whatever a user does: every
// service runs at debug level through good and bad requests, then all their
// logs are searched for every API key, token, project secret and admin or
// internal token this file made. With SSE_MASTER_KEY, project secrets are
// not stored in clear in Redis.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import {
  startRedis, startService, setupProject, publish, sign, http, admin, stopAll, waitFor, sleep,
  allLogs, ADMIN_TOKEN, INTERNAL_TOKEN,
} from './lib/harness.mjs';

after(stopAll);

const MASTER = 'a'.repeat(16) + '0123456789abcdef'.repeat(3);

test('no secret reaches a log line; project secrets sealed at rest', async () => {
  const redis = await startRedis();
  const env = { SSE_MASTER_KEY: MASTER, SSE_LOG_LEVEL: 'debug' };
  const pub = await startService('publisher', { redis, env });
  const gw = await startService('gateway', { redis, env });
  const wk = await startService('worker', { redis, env });
  const secrets = [ADMIN_TOKEN, INTERNAL_TOKEN, MASTER];

  const pk = await setupProject(pub, 'sec', ['publish_event', 'sign_token']);
  const lk = await setupProject(pub, 'sec', ['listen', 'client_publish']);
  secrets.push(pk.key, lk.key, pk.key.slice(30), lk.key.slice(30));

  const t = await sign(pub, pk.key, 'private-sec');
  assert.equal(t.status, 201);
  secrets.push(t.body.token, t.body.token.split('.')[2]);

  // Good and bad uses of each credential.
  await publish(pub, pk.key, 'pub', { a: 1 });
  await publish(pub, `${pk.key}x`, 'pub', { a: 1 });
  await publish(pub, lk.key, 'pub', { a: 1 });
  await http('GET', `${pub.url}/v1/admin/projects/sec`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } });
  await http('POST', `${wk.url}/v1/tasks/events`, { raw: 'nope', headers: { authorization: `Bearer ${INTERNAL_TOKEN}` } });

  const c = io(gw.url, { auth: { apiKey: lk.key }, transports: ['websocket'] });
  const bad = io(gw.url, { auth: { apiKey: `${lk.key}zz` }, transports: ['websocket'], reconnection: false });
  const refused = new Promise((res) => { bad.on('connect_error', res); });
  try {
    await waitFor(() => c.connected, { what: 'client connected' });
    const ok = await c.timeout(3000).emitWithAck('listen', { channelName: 'private-sec', authToken: t.body.token });
    assert.equal(ok.code, 'Success');
    await c.timeout(3000).emitWithAck('listen', { channelName: 'private-sec2', authToken: t.body.token });
    await c.timeout(3000).emitWithAck('listen', { channelName: 'private-sec', authToken: `${t.body.token}x` });
    await refused;
  } finally {
    c.close();
    bad.close();
  }
  const del = await admin(pub).deleteKey(pk.id);
  assert.equal(del.status, 204);
  await sleep(500);

  // Project secrets: the stored field is sealed, not 64 hex chars in clear.
  const stored = await redis.cliRaw('HGET', 'sse:{p:sec}:project', 'secret');
  assert.match(stored.trim(), /^v1:/, 'sealed with the master key');

  await Promise.all([pub.stop(), gw.stop(), wk.stop()]);
  const logs = allLogs.join('');
  assert.ok(logs.length > 1000, 'the services did log');
  for (const s of secrets) {
    assert.ok(!logs.includes(s), `a secret (${s.slice(0, 6)}...) appears in the logs`);
  }
});
