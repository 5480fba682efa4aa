// deploy.test.mjs - what "Run it" promises: the manifests render and name
// every service, a rolling restart of one of two gateways moves every client
// to the other within 5 s, and the demo page works in a real browser.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { io } from 'socket.io-client';
import {
  ROOT, startRedis, startService, setupProject, publish, stopAll, waitFor, freePort, sleep,
} from './lib/harness.mjs';

after(stopAll);

function which(cmd) {
  try { return execFileSync('sh', ['-c', `command -v ${cmd}`]).toString().trim(); } catch { return null; }
}

test('kustomize base renders every workload with probes', { skip: !which('kubectl') && 'kubectl not installed' }, () => {
  const out = execFileSync('kubectl', ['kustomize', join(ROOT, 'deploy/k8s')]).toString();
  for (const name of ['sse-gateway', 'sse-publisher-api', 'sse-task-worker']) {
    assert.match(out, new RegExp(`command:\\n\\s*- ${name}`), `${name} deployment`);
  }
  for (const kind of ['Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'ConfigMap', 'Secret']) {
    assert.match(out, new RegExp(`^kind: ${kind}$`, 'm'), kind);
  }
  assert.match(out, /readinessProbe:\n\s*failureThreshold: \d+\n\s*httpGet:\n\s*path: \/readyz/);
  assert.match(out, /sessionAffinity: ClientIP/);
});

test('docker-compose file parses and names every service', () => {
  const py = '/usr/bin/python3';
  const script = 'import sys, yaml, json; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))';
  const doc = JSON.parse(execFileSync(py, ['-c', script, join(ROOT, 'deploy/docker-compose.yml')]).toString());
  const services = Object.keys(doc.services).sort();
  assert.deepEqual(services, ['gateway1', 'gateway2', 'lb', 'publisher', 'redis', 'worker']);
  for (const s of ['worker', 'publisher', 'gateway1', 'gateway2']) {
    assert.match(JSON.stringify(doc.services[s].healthcheck.test), /readyz/, `${s} healthcheck`);
  }
  assert.ok(existsSync(join(ROOT, 'deploy/docker/Dockerfile')));
});

// A least-surprise TCP balancer for the test: each connection goes to the
// first backend that accepts it, starting from a rotating index.
function balancer(ports) {
  let next = 0;
  const server = net.createServer((client) => {
    client.pause();
    const order = ports.map((_, i) => ports[(next + i) % ports.length]);
    next += 1;
    const tryConnect = (i) => {
      if (i >= order.length) { client.destroy(); return; }
      const up = net.connect(order[i], '127.0.0.1');
      up.once('connect', () => {
        client.pipe(up); up.pipe(client); client.resume();
        up.on('error', () => client.destroy());
        client.on('error', () => up.destroy());
        up.on('close', () => client.destroy());
        client.on('close', () => up.destroy());
      });
      up.once('error', () => tryConnect(i + 1));
    };
    tryConnect(0);
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res(server)));
}

test('rolling restart: every client reconnects through the other gateway within 5 s', async () => {
  const redis = await startRedis();
  const pub = await startService('publisher', { redis });
  const gwA = await startService('gateway', { redis });
  const gwB = await startService('gateway', { redis });
  const lp = await setupProject(pub, 'roll', ['listen']);
  const pp = await setupProject(pub, 'roll', ['publish_event']);
  const lb = await balancer([gwA.port, gwB.port]);
  const url = `http://127.0.0.1:${lb.address().port}`;

  const N = 100;
  const clients = [];
  const got = new Array(N).fill(0);
  for (let i = 0; i < N; i++) {
    const c = io(url, { auth: { apiKey: lp.key }, transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 500 });
    c.on('connect', () => c.emit('listen', { channelName: 'roll' }));
    c.on('event', (e) => { if (e.payload && e.payload.after) got[i] += 1; });
    clients.push(c);
  }
  try {
    await waitFor(() => clients.every((c) => c.connected), { timeout: 10000, what: 'all connected' });
    const disconnected = new Set();
    clients.forEach((c, i) => c.once('disconnect', () => disconnected.add(i)));
    const t0 = Date.now();
    const stopping = gwA.stop('SIGTERM');
    await waitFor(() => disconnected.size > 0, { timeout: 5000, what: 'some clients moved' });
    await waitFor(() => clients.every((c) => c.connected), { timeout: 5000, what: 'all reconnected' });
    const took = Date.now() - t0;
    const exit = await stopping;
    assert.equal(exit.code, 0, 'gateway exits 0 on SIGTERM');
    assert.ok(took <= 5000, `reconnected in ${took} ms`);
    assert.ok(disconnected.size > 0 && disconnected.size < N, `${disconnected.size} clients were on the stopped gateway`);
    // Listening again is the client's own step; give it a moment, then publish.
    await sleep(300);
    const r = await publish(pub, pp.key, 'roll', { after: true });
    assert.equal(r.status, 201);
    await waitFor(() => got.every((n) => n === 1), { timeout: 5000, what: 'every client got the later event' });
  } finally {
    clients.forEach((c) => c.close());
    lb.close();
  }
});

const chromium = which('chromium');
test('demo page in headless Chromium shows a published event', { skip: !chromium && 'chromium not installed' }, async () => {
  const { chromium: pw } = await import('playwright-core');
  const redis = await startRedis();
  const pub = await startService('publisher', { redis });
  const staticDir = mkdtempSync(join(tmpdir(), 'sse-static-'));
  copyFileSync(join(ROOT, 'gateway/static/index.html'), join(staticDir, 'index.html'));
  copyFileSync(join(ROOT, 'tests/node_modules/socket.io-client/dist/socket.io.min.js'), join(staticDir, 'socket.io.js'));
  const gw = await startService('gateway', { redis, env: { SSE_STATIC_DIR: staticDir } });
  const lk = await setupProject(pub, 'demo', ['listen']);
  const pk = await setupProject(pub, 'demo', ['publish_event']);

  const browser = await pw.launch({
    executablePath: chromium,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  const shot = join(tmpdir(), `sse-demo-${Date.now()}.png`);
  try {
    await page.goto(`${gw.url}/#listen=${lk.key}&publish=${pk.key}&publisher=${pub.url}&channel=demo`);
    await page.waitForFunction(() => document.getElementById('status').textContent === 'connected', null, { timeout: 10000 });
    await sleep(300);
    // Publish from the page's own form (browser -> publisher API, CORS) ...
    await page.fill('#payload', '{"text":"from the form"}');
    await page.click('#publish');
    await page.waitForFunction(() => document.getElementById('events').textContent.includes('from the form'), null, { timeout: 10000 });
    // ... and from a backend.
    const r = await publish(pub, pk.key, 'demo', { text: 'from a backend' });
    assert.equal(r.status, 201);
    await page.waitForFunction(() => document.getElementById('events').textContent.includes('from a backend'), null, { timeout: 10000 });
  } catch (e) {
    await page.screenshot({ path: shot }).catch(() => {});
    writeFileSync(`${shot}.html`, await page.content().catch(() => ''));
    throw new Error(`${e.message} (screenshot kept at ${shot})`);
  } finally {
    await browser.close();
  }
});
