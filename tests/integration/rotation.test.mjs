// rotation.test.mjs - rotating SSE_MASTER_KEY as the README says: run the
// services with the new key and the old one as SSE_MASTER_KEY_PREVIOUS,
// run sse-reseal, then drop the old key. Tokens verify at every step.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import {
  BUILD, startRedis, startService, setupProject, sign, stopAll,
} from './lib/harness.mjs';

after(stopAll);

const OLD = '1'.repeat(64);
const NEW = '2'.repeat(64);

const reseal = (redis, env) => new Promise((res) => {
  execFile(join(BUILD, 'publisher-api', 'sse-reseal'), [], {
    env: { PATH: process.env.PATH, SSE_REDIS_URL: redis.url, ...env },
  }, (err, stdout, stderr) => res({ code: err ? err.code : 0, out: stdout, err: stderr }));
});

test('master key rotation: previous key, sse-reseal, new key alone', async () => {
  const redis = await startRedis();
  let pub = await startService('publisher', { redis, env: { SSE_MASTER_KEY: OLD } });
  const a = await setupProject(pub, 'rot-a', ['sign_token']);
  assert.equal((await sign(pub, a.key, 'private-x')).status, 201);
  const sealedOld = await redis.cliRaw('HGET', 'sse:{p:rot-a}:project', 'secret');
  await pub.stop();

  pub = await startService('publisher', { redis, env: { SSE_MASTER_KEY: NEW, SSE_MASTER_KEY_PREVIOUS: OLD } });
  assert.equal((await sign(pub, a.key, 'private-x')).status, 201, 'the previous key still opens old seals');
  const b = await setupProject(pub, 'rot-b', ['sign_token']);
  assert.equal((await sign(pub, b.key, 'private-x')).status, 201);

  const dry = await reseal(redis, { SSE_MASTER_KEY: NEW, SSE_MASTER_KEY_PREVIOUS: OLD, SSE_RESEAL_DRY_RUN: '1' });
  assert.equal(dry.code, 0, dry.err);
  assert.deepEqual(JSON.parse(dry.out), { scanned: 2, resealed: 1, current: 1, unreadable: 0, changedMeanwhile: 0, dryRun: true });
  assert.equal(await redis.cliRaw('HGET', 'sse:{p:rot-a}:project', 'secret'), sealedOld, 'a dry run writes nothing');

  const wet = await reseal(redis, { SSE_MASTER_KEY: NEW, SSE_MASTER_KEY_PREVIOUS: OLD });
  assert.equal(wet.code, 0, wet.err);
  assert.deepEqual(JSON.parse(wet.out), { scanned: 2, resealed: 1, current: 1, unreadable: 0, changedMeanwhile: 0, dryRun: false });
  const sealedNew = await redis.cliRaw('HGET', 'sse:{p:rot-a}:project', 'secret');
  assert.notEqual(sealedNew, sealedOld);
  assert.match(sealedNew, /^v1:/);
  await pub.stop();

  pub = await startService('publisher', { redis, env: { SSE_MASTER_KEY: NEW } });
  for (const k of [a, b]) assert.equal((await sign(pub, k.key, 'private-x')).status, 201, 'the new key alone opens every secret');
  const again = await reseal(redis, { SSE_MASTER_KEY: NEW });
  assert.deepEqual(JSON.parse(again.out).current, 2, 'running it again changes nothing');
  const wrong = await reseal(redis, { SSE_MASTER_KEY: OLD });
  assert.equal(wrong.code, 1, 'secrets it cannot open are reported, not overwritten');
  assert.equal(JSON.parse(wrong.out).unreadable, 2);
});
