// audit_api.test.mjs - an outside-in audit of sse-publisher-api and
// sse-task-worker against CONTRACT.md sections 1, 2, 3 and 6, on what no
// other file checks: metrics labels of 405 answers, listen-address errors
// naming their variable, key fields, SSE_REDIS_URL with a password and
// over a unix socket, JSON log lines carrying SSE_NODE_ID, and CORS lists.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startRedis, startService, stopAll, http, admin, setupProject, publish, waitFor,
  freePort, BIN, ADMIN_TOKEN, INTERNAL_TOKEN,
} from './lib/harness.mjs';

let redis;
let pub;
let worker;
const own = []; // processes started here rather than by the harness
let tmp;

before(async () => {
  redis = await startRedis();
  pub = await startService('publisher', { redis, env: { SSE_NODE_ID: 'audit-pub-1' } });
  worker = await startService('worker', { redis, env: { SSE_NODE_ID: 'audit-tw-1' } });
  tmp = mkdtempSync(join(tmpdir(), 'sse-audit-'));
});
after(async () => {
  for (const p of own) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await stopAll();
  rmSync(tmp, { recursive: true, force: true });
});

// Run a binary to its exit with only env; { code, err }.
function runToExit(bin, env, ms = 5000) {
  return new Promise((resolve) => {
    const p = spawn(bin, [], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    own.push(p);
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    const t = setTimeout(() => p.kill('SIGKILL'), ms);
    p.on('exit', (code) => { clearTimeout(t); resolve({ code, err }); });
  });
}

// One raw request on a fresh socket; resolves with everything read.
function rawRequest(port, text) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    let out = '';
    s.on('data', (d) => { out += d; });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

// Every sample line of a Prometheus text body must parse: name{labels} value.
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? \S+$/;

test('405 on a parameterised path: the metrics label is the route pattern, never the raw path', async () => {
  for (const id of ['r1', 'r2']) {
    const r = await http('PUT', `${pub.url}/v1/admin/projects/${id}`);
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET');
    assert.equal(r.body.error, 'Method Not Allowed');
  }
  // a quote and a backslash, raw on the wire (fetch would encode them)
  const raw = await rawRequest(pub.port, 'PUT /v1/admin/projects/a"b\\c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(raw, /^HTTP\/1\.1 405 /);
  const m = await http('GET', `${pub.url}/metrics`);
  assert.equal(m.status, 200);
  const lines405 = m.text.split('\n').filter((l) => l.startsWith('sse_http_requests_total') && l.includes('status="405"'));
  assert.equal(lines405.length, 1, lines405.join('\n'));
  assert.match(lines405[0], /route="\/v1\/admin\/projects\/\{\}",status="405"\} 3$/);
  for (const l of m.text.split('\n')) {
    if (l === '' || l.startsWith('#')) continue;
    assert.match(l, SAMPLE, `unparseable metrics line: ${l}`);
  }
  // the task worker shares the server: same rule
  await http('GET', `${worker.url}/v1/tasks/jobs/x1/retry`);
  await http('GET', `${worker.url}/v1/tasks/jobs/x2/retry`);
  const w = await http('GET', `${worker.url}/metrics`);
  assert.match(w.text, /route="\/v1\/tasks\/jobs\/\{\}\/retry",status="405"\} 2$/m);
  assert.ok(!w.text.includes('route="/v1/tasks/jobs/x1/retry"'));
});

test('a bad listen address is a configuration error naming its variable', async () => {
  const base = { SSE_REDIS_URL: redis.url };
  const p = await runToExit(BIN.publisher, { ...base, SSE_PUBLISHER_ADDR: 'nonsense' });
  assert.notEqual(p.code, 0);
  assert.match(p.err, /SSE_PUBLISHER_ADDR/);
  const w = await runToExit(BIN.worker, { ...base, SSE_WORKER_ADDR: 'nonsense' });
  assert.notEqual(w.code, 0);
  assert.match(w.err, /SSE_WORKER_ADDR/);
  // and the same for a port already taken
  const busy = await runToExit(BIN.publisher, { ...base, SSE_PUBLISHER_ADDR: `127.0.0.1:${pub.port}` });
  assert.notEqual(busy.code, 0);
  assert.match(busy.err, /SSE_PUBLISHER_ADDR.*in use|in use.*SSE_PUBLISHER_ADDR/);
});

test('key create: the exact 201 fields, key only at creation, ttlSeconds a positive integer', async () => {
  await admin(pub).createProject('aud-ttl');
  const k = await admin(pub).createKey('aud-ttl', ['publish_event']);
  assert.equal(k.status, 201, k.text);
  assert.equal(k.headers.get('content-type'), 'application/json');
  assert.equal(k.body.expiresAt, null);
  assert.equal(typeof k.body.createdAt, 'number');
  assert.deepEqual(Object.keys(k.body), ['id', 'key', 'projectId', 'name', 'scopes', 'createdAt', 'expiresAt']);
  assert.ok(k.body.key.includes(k.body.id), 'the key holds its record id verbatim');
  for (const bad of [0, -1, 1.5, '60', true, null, [], {}]) {
    const r = await admin(pub).createKey('aud-ttl', ['publish_event'], { ttlSeconds: bad });
    assert.equal(r.status, 400, `ttlSeconds ${JSON.stringify(bad)}: ${r.text}`);
    assert.equal(r.body.statusCode, 400);
  }
  const list = await admin(pub).listKeys('aud-ttl');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.map((x) => x.id), [k.body.id]);
  assert.deepEqual(Object.keys(list.body[0]), ['id', 'projectId', 'name', 'scopes', 'createdAt', 'expiresAt']);
});

test('SSE_REDIS_URL with a password (percent-encoded) and over a unix socket', async () => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmp, 'redis-pw-'));
  const rs = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--save', '', '--appendonly', 'no', '--requirepass', 'p@ss:w/rd', '--loglevel', 'warning'],
  { stdio: 'ignore' });
  own.push(rs);
  const url = `redis://:${encodeURIComponent('p@ss:w/rd')}@127.0.0.1:${port}/2`;
  const p2 = await startService('publisher', { env: { SSE_REDIS_URL: url } });
  const w2 = await startService('worker', { env: { SSE_REDIS_URL: url } });
  const kp = await setupProject(p2, 'aud-pw', ['publish_event']);
  assert.equal((await publish(p2, kp.key, 'c', { a: 1 })).status, 201);
  const del = await admin(p2).deleteKey(kp.id);
  assert.equal(del.status, 204);
  const failed = await http('GET', `${w2.url}/v1/tasks/jobs/failed`,
    { headers: { authorization: `Bearer ${INTERNAL_TOKEN}` } });
  assert.equal(failed.status, 200);
  assert.ok(!p2.logs().includes('p@ss') && !w2.logs().includes('p%40ss'), 'the password is never logged');
  // a wrong password: alive (healthz) but not ready
  const bad = await startService('publisher', {
    env: { SSE_REDIS_URL: `redis://:nope@127.0.0.1:${port}/0` }, waitReady: false,
  });
  assert.equal((await http('GET', `${bad.url}/readyz`)).status, 503);
  assert.equal((await http('GET', `${bad.url}/healthz`)).status, 200);
  await bad.stop();
  await p2.stop();
  await w2.stop();

  const sock = `unix://${join(redis.dir, 'redis.sock')}`;
  const p3 = await startService('publisher', { env: { SSE_REDIS_URL: sock } });
  const kq = await setupProject(p3, 'aud-unix', ['publish_event']);
  assert.equal((await publish(p3, kq.key, 'c', 1)).status, 201);
  await p3.stop();
});

test('SSE_LOG_FORMAT=json: every stderr line is JSON and carries SSE_NODE_ID; metrics carry it too', async () => {
  const env = { SSE_LOG_FORMAT: 'json', SSE_NODE_ID: 'audit-json-1' };
  const p = await startService('publisher', { redis, env });
  const w = await startService('worker', { redis, env: { ...env, SSE_NODE_ID: 'audit-json-2' } });
  const k = await setupProject(p, 'aud-json', ['publish_event']);
  await publish(p, k.key, 'c', 1);
  await admin(p).deleteKey(k.id);
  // either worker on this Redis may take the job: only the publisher's
  // side is awaited here
  await waitFor(() => p.logs().includes('api key deleted'), { what: 'the delete logged' });
  assert.match((await http('GET', `${p.url}/metrics`)).text, /node="audit-json-1"/);
  assert.match((await http('GET', `${w.url}/metrics`)).text, /sse_queue_depth\{[^}]*node="audit-json-2"/);
  assert.equal((await p.stop()).code, 0);
  assert.equal((await w.stop()).code, 0);
  for (const [svc, node] of [[p, 'audit-json-1'], [w, 'audit-json-2']]) {
    const lines = svc.logs().split('\n').filter(Boolean);
    assert.ok(lines.length > 3);
    for (const l of lines) {
      const o = JSON.parse(l);
      assert.equal(o.node, node, l);
      assert.equal(typeof o.msg, 'string');
      assert.ok(['debug', 'info', 'warn', 'error'].includes(o.level), l);
    }
  }
});

test('CORS list: an allowed origin is echoed with credentials, a foreign one is not', async () => {
  const p = await startService('publisher', {
    redis, env: { SSE_CORS_ORIGINS: 'https://a.example, https://b.example' },
  });
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const ok = await http('GET', `${p.url}/healthz`, { headers: { origin: 'https://b.example', ...auth } });
  assert.equal(ok.headers.get('access-control-allow-origin'), 'https://b.example');
  assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
  const err = await http('POST', `${p.url}/v1/publishers/events/publish`, { headers: { origin: 'https://a.example' } });
  assert.equal(err.status, 401);
  assert.equal(err.headers.get('access-control-allow-origin'), 'https://a.example', 'errors are readable too');
  const foreign = await http('GET', `${p.url}/healthz`, { headers: { origin: 'https://evil.example' } });
  assert.equal(foreign.headers.get('access-control-allow-origin'), null);
  assert.equal(foreign.headers.get('vary'), 'Origin', 'the answer varies by Origin even when refused');
  const pre = await http('OPTIONS', `${p.url}/v1/publishers/events/publish`, {
    headers: { origin: 'https://a.example', 'access-control-request-method': 'POST',
      'access-control-request-headers': 'x-api-key,content-type' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'https://a.example');
  assert.match(pre.headers.get('access-control-allow-methods'), /POST/);
  assert.match(pre.headers.get('access-control-allow-headers'), /x-api-key/i);
  const preBad = await http('OPTIONS', `${p.url}/v1/publishers/events/publish`, {
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
  });
  assert.equal(preBad.headers.get('access-control-allow-origin'), null);
  await p.stop();
});

test('ssectl: flags override the environment (--publisher-url, --admin-token, --api-key, --worker-url, --internal-token)', async () => {
  const run = (args, env = {}) => new Promise((resolve) => {
    const p = spawn(BIN.ssectl, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('exit', (code) => resolve({ code, out, err }));
  });
  const deadEnv = { SSE_PUBLISHER_URL: 'http://127.0.0.1:1', SSE_WORKER_URL: 'http://127.0.0.1:1',
    SSE_ADMIN_TOKEN: 'wrong', SSE_INTERNAL_TOKEN: 'wrong', SSE_API_KEY: 'wrong' };
  const pc = await run(['--publisher-url', pub.url, '--admin-token', ADMIN_TOKEN,
    'project', 'create', 'aud-ctl', '--name', 'CTL'], deadEnv);
  assert.equal(pc.code, 0, pc.err);
  assert.deepEqual(JSON.parse(pc.out), { id: 'aud-ctl', name: 'CTL' });
  const kc = await run(['key', 'create', '--project', 'aud-ctl', '--scopes', 'publish_event',
    `--publisher-url=${pub.url}`, `--admin-token=${ADMIN_TOKEN}`], deadEnv);
  assert.equal(kc.code, 0, kc.err);
  const key = JSON.parse(kc.out).key;
  const pb = await run(['publish', 'news', '{"a":1}', '--publisher-url', pub.url, '--api-key', key], deadEnv);
  assert.equal(pb.code, 0, pb.err);
  assert.equal(JSON.parse(pb.out).channelName, 'news');
  const jf = await run(['--worker-url', worker.url, '--internal-token', INTERNAL_TOKEN, 'jobs', 'failed'], deadEnv);
  assert.equal(jf.code, 0, jf.err);
  assert.ok(Array.isArray(JSON.parse(jf.out)));
  // without the flags the (dead) environment decides
  assert.equal((await run(['jobs', 'failed'], deadEnv)).code, 3);
  assert.equal((await run(['--admin-token'], deadEnv)).code, 2, 'a flag without its value');
});

test('listen addresses: a host name (localhost:PORT) and every interface (:PORT)', async () => {
  const p1 = await freePort();
  const byName = await startService('publisher', { redis, port: p1, env: { SSE_PUBLISHER_ADDR: `localhost:${p1}` } });
  assert.equal((await http('GET', `http://127.0.0.1:${p1}/healthz`)).status, 200);
  await byName.stop();
  const p2 = await freePort();
  const any = await startService('worker', { redis, port: p2, env: { SSE_WORKER_ADDR: `:${p2}` } });
  assert.equal((await http('GET', `http://127.0.0.1:${p2}/healthz`)).status, 200);
  await any.stop();
});
