// tracking.test.mjs - connection tracking and the gateway control channel
// (CONTRACT.md section 5, proto/REDIS.md): private joins appear in both
// indexes and the gateway's socket set, leave them on remove and
// disconnect; a control "remove" published by redis-cli reaches a socket
// on either gateway; the channels-per-socket bound; heartbeat and the
// cleanup at shutdown. Real Redis, publisher API and two gateways.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { recorder, listenAck, channelToken, smembers } from './lib/client.mjs';
import {
  startRedis, startService, setupProject, publish, sign, stopAll, waitFor, sleep,
} from './lib/harness.mjs';

const ALL = ['publish_event', 'sign_token', 'listen', 'client_publish'];
const MAX_CH = 4;
let redis, pub, gw1, gw2, A, K2;
const open = [];

before(async () => {
  redis = await startRedis();
  pub = await startService('publisher', { redis });
  const env = { SSE_MAX_CHANNELS_PER_SOCKET: String(MAX_CH) };
  gw1 = await startService('gateway', { redis, env });
  gw2 = await startService('gateway', { redis, env });
  A = await setupProject(pub, 'alpha', ALL);
  K2 = await setupProject(pub, 'alpha', ['sign_token']);
});

after(async () => {
  for (const c of open) c.sock.close();
  await stopAll();
});

const client = (gw, key) => recorder(gw, key, open);

const listen = listenAck;

const token = (key, ch) => channelToken(pub, key, ch);

const smembersOf = (key) => smembers(redis, key);
const sockKey = (sid) => `sse:{p:alpha}:sock:${sid}`;
const keySocks = (kid) => `sse:{p:alpha}:keysocks:${kid}`;
const gwSocks = (tag) => `sse:gw:${tag}:socks`;

test('private joins are tracked in both indexes; remove and disconnect forget them', async () => {
  const c = await client(gw1, A.key);
  assert.equal((await listen(c, 'private-a', await token(A.key, 'private-a'))).code, 'Success');
  assert.equal((await listen(c, 'private-b', await token(K2.key, 'private-b'))).code, 'Success');
  assert.equal((await listen(c, 'public-x')).code, 'Success');
  assert.deepEqual(await smembersOf(sockKey(c.sid)), [`${A.id}|private-a`, `${K2.id}|private-b`].sort());
  assert.deepEqual(await smembersOf(keySocks(A.id)), [`${c.sid}|private-a`]);
  assert.deepEqual(await smembersOf(keySocks(K2.id)), [`${c.sid}|private-b`]);
  assert.ok((await smembersOf(gwSocks(c.tag))).includes(`alpha|${c.sid}`));

  assert.equal((await c.sock.timeout(5000).emitWithAck('remove', { channelName: 'private-a' })).code, 'Success');
  await waitFor(async () => (await smembersOf(keySocks(A.id))).length === 0, { what: 'untracked on remove' });
  assert.deepEqual(await smembersOf(sockKey(c.sid)), [`${K2.id}|private-b`]);

  c.sock.close();
  await waitFor(async () => (await smembersOf(sockKey(c.sid))).length === 0
    && (await smembersOf(keySocks(K2.id))).length === 0
    && !(await smembersOf(gwSocks(c.tag))).includes(`alpha|${c.sid}`), { what: 'untracked on disconnect' });
});

test('a control removal reaches a socket on either gateway and stops its delivery', async () => {
  const x = await client(gw1, A.key);
  const y = await client(gw2, A.key);
  const tok = await token(K2.key, 'private-c');
  for (const c of [x, y]) {
    assert.equal((await listen(c, 'private-c', tok)).code, 'Success');
    assert.equal((await listen(c, 'private-d', await token(K2.key, 'private-d'))).code, 'Success');
    assert.equal((await listen(c, 'pub2')).code, 'Success');
  }
  assert.notEqual(x.tag, y.tag, 'two gateways, two tags');
  const ctl = (c, pid, channels) => redis.cli('PUBLISH', `sse:gw:${c.tag}`, JSON.stringify({
    op: 'remove', projectId: pid, reason: 'ApiKeyDeleted', message: 'signing key deleted',
    sockets: [{ sid: c.sid, channels }],
  }));
  // Another project's removal, and a socket sent to the wrong gateway: no effect.
  await ctl(x, 'beta', ['private-c']);
  await redis.cli('PUBLISH', `sse:gw:${y.tag}`, JSON.stringify({
    op: 'remove', projectId: 'alpha', message: 'm', sockets: [{ sid: x.sid, channels: ['private-c'] }] }));
  for (const c of [x, y]) {
    await ctl(c, 'alpha', ['private-c', 'private-d', 'not-joined']);
    await waitFor(() => c.sys.some((m) => m.code === 'RemovedFromChannel'), { what: 'RemovedFromChannel' });
  }
  await sleep(150);
  for (const c of [x, y]) {
    const removed = c.sys.filter((m) => m.code === 'RemovedFromChannel');
    assert.equal(removed.length, 1, 'one message per socket');
    assert.deepEqual(removed[0], { code: 'RemovedFromChannel', message: 'signing key deleted',
      data: { channels: ['private-c', 'private-d'] } });
    assert.deepEqual(await smembersOf(sockKey(c.sid)), []);
  }
  assert.deepEqual(await smembersOf(keySocks(K2.id)), []);
  // A second identical removal: they lost nothing, so they hear nothing.
  await ctl(x, 'alpha', ['private-c']);
  assert.equal((await publish(pub, A.key, 'private-c', 'gone')).status, 201);
  assert.equal((await publish(pub, A.key, 'pub2', 'still')).status, 201);
  for (const c of [x, y]) await waitFor(() => c.events.length >= 1, { what: 'public event' });
  await sleep(200);
  for (const c of [x, y]) {
    assert.deepEqual(c.events, [{ channelName: 'pub2', payload: 'still' }]);
    assert.equal(c.sys.filter((m) => m.code === 'RemovedFromChannel').length, 1);
  }
  x.sock.close(); y.sock.close();
});

test('the channels-per-socket bound', async () => {
  const c = await client(gw1, A.key);
  for (let i = 0; i < MAX_CH; i++) assert.equal((await listen(c, `b${i}`)).code, 'Success');
  const over = await listen(c, 'one-more');
  assert.equal(over.code, 'Error');
  assert.equal((await listen(c, 'private-z', await token(A.key, 'private-z'))).code, 'Error');
  assert.equal((await listen(c, 'b0')).code, 'Success', 'a channel already joined is fine');
  assert.equal((await c.sock.timeout(5000).emitWithAck('remove', { channelName: 'b0' })).code, 'Success');
  assert.equal((await listen(c, 'one-more')).code, 'Success');
  c.sock.close();
});

test('heartbeat in sse:gateways; SIGTERM removes the gateway and what it tracked', async () => {
  const y = await client(gw2, A.key);
  assert.equal((await listen(y, 'private-s', await token(A.key, 'private-s'))).code, 'Success');
  const score = Number(await redis.cliRaw('ZSCORE', 'sse:gateways', y.tag));
  assert.ok(Math.abs(score - Date.now()) < 10000, 'a recent heartbeat');
  assert.ok(Number(await redis.cliRaw('ZCARD', 'sse:gateways')) >= 2);
  assert.deepEqual(await smembersOf(sockKey(y.sid)), [`${A.id}|private-s`]);
  const ex = await gw2.stop('SIGTERM');
  assert.equal(ex.code, 0);
  assert.equal((await redis.cliRaw('ZSCORE', 'sse:gateways', y.tag)).trim(), '');
  assert.deepEqual(await smembersOf(sockKey(y.sid)), []);
  assert.deepEqual(await smembersOf(gwSocks(y.tag)), []);
  assert.ok(!(await smembersOf(keySocks(A.id))).some((m) => m.startsWith(y.sid)));
});
