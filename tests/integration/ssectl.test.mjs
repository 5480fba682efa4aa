// ssectl.test.mjs - ssectl (CONTRACT.md section 7) and the libssepub
// example program against the real publisher API (and the task worker for
// the jobs commands) on a real Redis: each command's round trip, exit
// statuses, the server's message on stderr, and events reaching Redis.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startRedis, startService, stopAll, waitFor, BIN, BUILD, ADMIN_TOKEN, INTERNAL_TOKEN,
} from './lib/harness.mjs';

const EXAMPLE = join(BUILD, 'publisher-api', 'sdk', 'ssepub-example');
const haveWorker = existsSync(BIN.worker);

let redis;
let pub;
let worker;
let tmp;

before(async () => {
  redis = await startRedis();
  pub = await startService('publisher', { redis });
  if (haveWorker) worker = await startService('worker', { redis });
  tmp = mkdtempSync(join(tmpdir(), 'ssectl-'));
});
after(async () => {
  await stopAll();
  rmSync(tmp, { recursive: true, force: true });
});

// Run a program with only the given environment; { code, out, err }.
function run(bin, args, env = {}) {
  return new Promise((resolve) => {
    execFile(bin, args, { env: { PATH: process.env.PATH, ...env }, timeout: 15000 },
      (e, out, err) => resolve({ code: e ? e.code : 0, out, err }));
  });
}

const ctl = (args, env = {}) => run(BIN.ssectl, args, {
  SSE_PUBLISHER_URL: pub.url,
  SSE_WORKER_URL: worker ? worker.url : 'http://127.0.0.1:1',
  SSE_ADMIN_TOKEN: ADMIN_TOKEN,
  SSE_INTERNAL_TOKEN: INTERNAL_TOKEN,
  ...env,
});

// Messages on a Redis pattern, through redis-cli (text is enough here).
function listen(pattern) {
  const p = spawn('redis-cli', ['-p', String(redis.port), '--raw', 'PSUBSCRIBE', pattern]);
  const l = { text: '', close: () => p.kill() };
  p.stdout.on('data', (d) => { l.text += d; });
  return waitFor(() => l.text.includes(pattern), { what: 'psubscribe' }).then(() => l);
}

test('--help and --version exit 0; usage errors exit 2', async () => {
  const h = await ctl(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.out, /project create ID/);
  assert.match(h.out, /jobs retry ID/);
  const v = await ctl(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.out, /^ssectl \d+\.\d+\.\d+/);
  assert.equal((await ctl([])).code, 2);
  assert.equal((await ctl(['frobnicate'])).code, 2);
  assert.equal((await ctl(['key', 'create', '--project', 'x'])).code, 2, 'no --scopes');
  assert.equal((await ctl(['key', 'list', '--bogus', 'x'])).code, 2);
  assert.equal((await ctl(['publish', 'c', '{bad json'])).code, 2);
});

test('project create, key create/list/delete, publish and sign round trips', async () => {
  const p = await ctl(['project', 'create', 'cli', '--name', 'CLI project']);
  assert.equal(p.code, 0, p.err);
  assert.deepEqual(JSON.parse(p.out), { id: 'cli', name: 'CLI project' });
  const p2 = await ctl(['project', 'create', 'cli2']);
  assert.deepEqual(JSON.parse(p2.out), { id: 'cli2', name: 'cli2' }, 'name defaults to the id');
  const dup = await ctl(['project', 'create', 'cli']);
  assert.equal(dup.code, 1);
  assert.equal(dup.out, '');
  assert.match(dup.err, /409.*already exists/);

  const k = await ctl(['key', 'create', '--project', 'cli', '--scopes', 'publish_event,sign_token',
    '--ttl', '3600', '--name', 'ops']);
  assert.equal(k.code, 0, k.err);
  const key = JSON.parse(k.out);
  assert.deepEqual(key.scopes, ['publish_event', 'sign_token']);
  assert.equal(key.name, 'ops');
  assert.equal(key.expiresAt, key.createdAt + 3600);
  const badTtl = await ctl(['key', 'create', '--project', 'cli', '--scopes', 'listen', '--ttl', '0']);
  assert.equal(badTtl.code, 1);
  assert.match(badTtl.err, /ttlSeconds/);
  const badScope = await ctl(['key', 'create', '--project=cli', '--scopes=root']);
  assert.equal(badScope.code, 1);
  assert.match(badScope.err, /400/);

  const l = await ctl(['key', 'list', '--project', 'cli']);
  assert.equal(l.code, 0, l.err);
  assert.deepEqual(JSON.parse(l.out).map((x) => x.id), [key.id]);
  const none = await ctl(['key', 'list', '--project', 'nope']);
  assert.equal(none.code, 1);
  assert.match(none.err, /not found/);

  const sub = await listen('sse:{p:cli}:ch:*');
  const e = await ctl(['publish', 'news', '{"n":1,"s":"é"}'], { SSE_API_KEY: key.key });
  assert.equal(e.code, 0, e.err);
  const ev = JSON.parse(e.out);
  assert.equal(ev.channelName, 'news');
  await waitFor(() => sub.text.includes(`e1 ${ev.id} -`), { what: 'the event in Redis' });
  assert.ok(sub.text.includes('2["event",{"channelName":"news","payload":{"n":1,"s":"é"}}]'));
  sub.close();

  const s = await ctl(['sign', 'private-room'], { SSE_API_KEY: key.key });
  assert.equal(s.code, 0, s.err);
  const tok = JSON.parse(s.out);
  assert.equal(tok.channelName, 'private-room');
  assert.equal(tok.token.split('.').length, 3);
  const pubSign = await ctl(['sign', 'room'], { SSE_API_KEY: key.key });
  assert.equal(pubSign.code, 1);
  assert.match(pubSign.err, /not private/);

  const d = await ctl(['key', 'delete', key.id]);
  assert.equal(d.code, 0, d.err);
  assert.equal(d.out, '');
  const after = await ctl(['publish', 'news', '1'], { SSE_API_KEY: key.key });
  assert.equal(after.code, 1);
  assert.match(after.err, /401/);
  const unknown = await ctl(['key', 'delete', 'a'.repeat(24)]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /not found/);
});

test('missing or wrong credentials and an unreachable server', async () => {
  const noTok = await ctl(['project', 'create', 'x'], { SSE_ADMIN_TOKEN: '' });
  assert.equal(noTok.code, 1);
  assert.match(noTok.err, /401/);
  const noKey = await ctl(['publish', 'c', '1']);
  assert.equal(noKey.code, 1);
  assert.match(noKey.err, /401/);
  const down = await ctl(['project', 'create', 'x'], { SSE_PUBLISHER_URL: 'http://127.0.0.1:1' });
  assert.equal(down.code, 3);
  assert.match(down.err, /cannot connect/);
  const badUrl = await ctl(['project', 'create', 'x'], { SSE_PUBLISHER_URL: 'ftp://x' });
  assert.equal(badUrl.code, 2);
});

test('jobs failed and jobs retry talk to the task worker', { skip: !haveWorker && 'task worker not built' }, async () => {
  // A job in the failed set, as the queue leaves one after its last attempt.
  const jid = `rev-d-${'f'.repeat(24)}`;
  const now = String(Date.now());
  await redis.cli('HSET', `sse:job:${jid}`, 'id', jid, 'type', 'ApiKeyDeleted', 'kid', 'f'.repeat(24),
    'pid', 'cli', 'state', 'failed', 'priority', '0', 'attempts', '5', 'max_attempts', '5',
    'created_ms', now, 'updated_ms', now, 'last_error', 'boom', 'worker', 'w');
  await redis.cli('ZADD', 'sse:q:failed', now, jid);
  const f = await ctl(['jobs', 'failed']);
  assert.equal(f.code, 0, f.err);
  const jobs = JSON.parse(f.out);
  assert.ok(Array.isArray(jobs));
  assert.ok(JSON.stringify(jobs).includes(jid), f.out);
  const ok = await ctl(['jobs', 'retry', jid]);
  assert.equal(ok.code, 0, ok.err);
  assert.equal(await redis.cli('ZSCORE', 'sse:q:failed', jid), '(nil)');
  const r = await ctl(['jobs', 'retry', 'no-such-job']);
  assert.equal(r.code, 1);
  assert.match(r.err, /404/);
  const bad = await ctl(['jobs', 'failed'], { SSE_INTERNAL_TOKEN: 'wrong' });
  assert.equal(bad.code, 1);
  assert.match(bad.err, /401/);
});

test('the libssepub example publishes once (key from env and from a file)', async () => {
  const k = await ctl(['key', 'create', '--project', 'cli2', '--scopes', 'publish_event,sign_token']);
  const key = JSON.parse(k.out).key;
  const sub = await listen('sse:{p:cli2}:ch:*');
  const r = await run(EXAMPLE, ['private-sdk', '{"from":"sdk"}'],
    { SSE_API_KEY: key, SSE_PUBLISHER_URL: pub.url });
  assert.equal(r.code, 0, r.err);
  const id = r.out.match(/^published ([a-z0-9]{20})$/m)[1];
  assert.match(r.out, /token expires at \d+/, 'a second request on the kept connection');
  assert.ok(!r.out.includes(key));
  await waitFor(() => sub.text.includes(`e1 ${id} -`), { what: 'the SDK event' });
  assert.equal(sub.text.split('\n').filter((x) => x.startsWith('e1 ')).length, 1, 'exactly once');

  const file = join(tmp, 'key');
  writeFileSync(file, `${key}\n`);
  const f = await run(EXAMPLE, ['sdk-file'], { SSE_API_KEY_FILE: file, SSE_PUBLISHER_URL: pub.url });
  assert.equal(f.code, 0, f.err);
  assert.match(f.out, /^published [a-z0-9]{20}$/m);
  const none = await run(EXAMPLE, ['x'], { SSE_PUBLISHER_URL: pub.url });
  assert.equal(none.code, 1);
  assert.match(none.err, /SSE_API_KEY/);
  sub.close();
});
