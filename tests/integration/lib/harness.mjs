// harness.mjs - what every integration test starts with: a private
// redis-server on a free port in a temp dir, the real binaries from the
// build dir, and helpers to call their HTTP APIs. Everything started here is
// stopped by stopAll() (call it in an after() hook), also on failure.
//
// Environment (set by tests/run): SSE_BUILD_DIR, the meson build directory.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '..', '..', '..');
export const BUILD = process.env.SSE_BUILD_DIR
  ? resolve(process.env.SSE_BUILD_DIR) : join(ROOT, 'build');

export const BIN = {
  gateway: join(BUILD, 'gateway', 'sse-gateway'),
  publisher: join(BUILD, 'publisher-api', 'sse-publisher-api'),
  worker: join(BUILD, 'task-worker', 'sse-task-worker'),
  ssectl: join(BUILD, 'publisher-api', 'ssectl'),
};

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const INTERNAL_TOKEN = 'test-internal-token-0123456789';

const started = [];
const tmpdirs = [];
// Every log line of every process, so a test can grep them for secrets.
export const allLogs = [];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export async function waitFor(fn, { timeout = 5000, interval = 25, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      if (await fn()) return true;
    } catch (e) { last = e; }
    await sleep(interval);
  }
  throw new Error(`timed out waiting for ${what}${last ? ': ' + last.message : ''}`);
}

function track(proc, name) {
  const rec = { proc, name, out: [], exited: null };
  const onData = (d) => {
    const s = d.toString();
    rec.out.push(s);
    allLogs.push(s);
    if (process.env.SSE_TEST_VERBOSE) process.stderr.write(`[${name}] ${s}`);
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  proc.on('exit', (code, sig) => { rec.exited = { code, sig }; });
  started.push(rec);
  return rec;
}

function waitExit(rec, ms) {
  if (rec.exited) return Promise.resolve(rec.exited);
  return new Promise((res) => {
    const t = setTimeout(() => res(null), ms);
    rec.proc.once('exit', (code, sig) => { clearTimeout(t); res({ code, sig }); });
  });
}

// A private redis-server. Returns { port, url, dir, stop(), start(), cli(...) }.
export async function startRedis({ port } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sse-redis-'));
  tmpdirs.push(dir);
  port = port || await freePort();
  const r = { port, dir, url: `redis://127.0.0.1:${port}/0`, rec: null };
  r.start = async () => {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1',
      '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no',
      '--unixsocket', join(dir, 'redis.sock'), '--loglevel', 'warning'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    r.rec = track(proc, `redis:${port}`);
    await waitFor(() => r.ping(), { what: 'redis up' });
  };
  r.ping = () => new Promise((res) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => res(false));
    s.on('data', (d) => { s.destroy(); res(d.toString().startsWith('+PONG')); });
    s.write('PING\r\n');
  });
  // Stop it (SIGKILL when hard, for outage tests).
  r.stop = async (hard = false) => {
    if (!r.rec || r.rec.exited) return;
    r.rec.proc.kill(hard ? 'SIGKILL' : 'SIGTERM');
    await waitExit(r.rec, 5000);
  };
  // One command through redis-cli; returns its stdout trimmed.
  r.cli = (...args) => new Promise((res, rej) => {
    const p = spawn('redis-cli', ['-p', String(port), '--no-raw', ...args]);
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('exit', (code) => (code === 0 ? res(out.trim()) : rej(new Error(`redis-cli ${args.join(' ')}: ${code}`))));
  });
  r.cliRaw = (...args) => new Promise((res, rej) => {
    const p = spawn('redis-cli', ['-p', String(port), '--raw', ...args]);
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('exit', (code) => (code === 0 ? res(out) : rej(new Error(`redis-cli ${args.join(' ')}: ${code}`))));
  });
  await r.start();
  return r;
}

// Start one service binary: kind is 'gateway' | 'publisher' | 'worker'.
// Returns { url, port, stop(signal), kill(), logs(), rec, exited() }.
const ADDR_VAR = { gateway: 'SSE_GATEWAY_ADDR', publisher: 'SSE_PUBLISHER_ADDR', worker: 'SSE_WORKER_ADDR' };

export async function startService(kind, { redis, env = {}, args = [], port, waitReady = true } = {}) {
  const bin = BIN[kind];
  if (!existsSync(bin)) throw new Error(`${bin} not built`);
  port = port || await freePort();
  const fullEnv = {
    PATH: process.env.PATH,
    SSE_REDIS_URL: redis ? redis.url : 'redis://127.0.0.1:1/0',
    SSE_ADMIN_TOKEN: ADMIN_TOKEN,
    SSE_INTERNAL_TOKEN: INTERNAL_TOKEN,
    SSE_LOG_LEVEL: 'debug',
    [ADDR_VAR[kind]]: `127.0.0.1:${port}`,
    ...env,
  };
  for (const k of Object.keys(fullEnv)) if (fullEnv[k] === undefined) delete fullEnv[k];
  const proc = spawn(bin, args, { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const rec = track(proc, `${kind}:${port}`);
  const svc = {
    kind, port, rec, proc,
    url: `http://127.0.0.1:${port}`,
    logs: () => rec.out.join(''),
    exited: () => rec.exited,
    stop: async (signal = 'SIGTERM', ms = 11000) => {
      if (rec.exited) return rec.exited;
      proc.kill(signal);
      return waitExit(rec, ms);
    },
  };
  await waitFor(async () => {
    if (rec.exited) throw new Error(`${kind} exited: ${JSON.stringify(rec.exited)}\n${svc.logs()}`);
    const r = await fetch(`${svc.url}/${waitReady ? 'readyz' : 'healthz'}`).catch(() => null);
    return r && r.status === 200;
  }, { timeout: 10000, what: `${kind} ready` });
  return svc;
}

// HTTP helper: returns { status, headers, body (parsed JSON or text), text }.
export async function http(method, url, { body, headers = {}, raw } = {}) {
  const opts = { method, headers: { ...headers } };
  if (raw !== undefined) opts.body = raw;
  else if (body !== undefined) {
    opts.body = JSON.stringify(body);
    opts.headers['content-type'] = 'application/json';
  }
  const res = await fetch(url, opts);
  const text = await res.text();
  let parsed = text;
  try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

export const admin = (pub) => ({
  createProject: (id, name = id) => http('POST', `${pub.url}/v1/admin/projects`,
    { body: { id, name }, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
  createKey: (projectId, scopes, extra = {}) => http('POST',
    `${pub.url}/v1/admin/projects/${projectId}/api-keys`,
    { body: { name: extra.name || 'k', scopes, ...extra }, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
  listKeys: (projectId) => http('GET', `${pub.url}/v1/admin/projects/${projectId}/api-keys`,
    { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
  deleteKey: (id) => http('DELETE', `${pub.url}/v1/admin/api-keys/${id}`,
    { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
});

// Create a project and a key with the given scopes; returns { project, key, id }.
export async function setupProject(pub, projectId, scopes, extra = {}) {
  const a = admin(pub);
  const p = await a.createProject(projectId);
  if (p.status !== 201 && p.status !== 409) throw new Error(`create project: ${p.status} ${p.text}`);
  const k = await a.createKey(projectId, scopes, extra);
  if (k.status !== 201) throw new Error(`create key: ${k.status} ${k.text}`);
  return { projectId, key: k.body.key, id: k.body.id, record: k.body };
}

export const publish = (pub, key, channelName, payload) => http('POST',
  `${pub.url}/v1/publishers/events/publish`,
  { body: { channelName, payload }, headers: { authorization: `Bearer ${key}` } });

export const sign = (pub, key, channelName) => http('POST', `${pub.url}/v1/publishers/sign`,
  { body: { channelName }, headers: { authorization: `Bearer ${key}` } });

// Stop everything this file started. A sanitizer report in any process's
// output (tests/run --asan builds with ASan + UBSan) fails the file here,
// after every process has exited and printed its leak report.
const SANITIZER = /ERROR: (Address|Leak)Sanitizer|runtime error:|WARNING: ThreadSanitizer/;

export async function stopAll() {
  const live = started.filter((r) => !r.exited);
  for (const r of live) r.proc.kill('SIGTERM');
  await Promise.all(live.map((r) => waitExit(r, 3000)));
  for (const r of started) if (!r.exited) r.proc.kill('SIGKILL');
  const reports = started.filter((r) => SANITIZER.test(r.out.join('')));
  started.length = 0;
  for (const d of tmpdirs.splice(0)) rmSync(d, { recursive: true, force: true });
  if (reports.length > 0) {
    const text = reports.map((r) => `--- ${r.name}\n${r.out.join('').slice(-4000)}`).join('\n');
    throw new Error(`sanitizer reports from ${reports.map((r) => r.name).join(', ')}:\n${text}`);
  }
}
