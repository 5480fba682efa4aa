// writes.test.mjs - the gateway's write path (gw_ws.c): shared frames sent
// straight from their buffers while a socket has no backlog, a partly sent
// frame's tail and everything behind it queued when the socket buffer fills,
// and a burst of more frames in one loop pass than the inline slots hold.
// Every frame must arrive whole and in order, and no reader may be dropped
// while its backlog stays under SSE_CLIENT_QUEUE_MAX.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  startRedis, startService, setupProject, publish, stopAll, waitFor, sleep, http,
} from './lib/harness.mjs';

const QUEUE_MAX = 64 * 1024 * 1024; // SSE_CLIENT_QUEUE_MAX: room for 200 x 60 KB
let redis, pub, gw, listen, pubKey;

before(async () => {
  redis = await startRedis();
  pub = await startService('publisher', { redis });
  gw = await startService('gateway', { redis, env: { SSE_CLIENT_QUEUE_MAX: String(QUEUE_MAX) } });
  listen = await setupProject(pub, 'wr1', ['listen']);
  pubKey = await setupProject(pub, 'wr1', ['publish_event']);
});

after(stopAll);

async function metric(name) {
  const r = await http('GET', `${gw.url}/metrics`);
  let sum = 0;
  for (const line of r.text.split('\n')) {
    if (line.startsWith(name + '{') || line.startsWith(name + ' ')) sum += Number(line.split(' ').pop());
  }
  return sum;
}

function maskedText(text) {
  const payload = Buffer.from(text);
  const n = payload.length;
  const head = n < 126 ? [0x81, 0x80 | n] : [0x81, 0x80 | 126, n >> 8, n & 255];
  const key = randomBytes(4);
  return Buffer.concat([Buffer.from(head), key, Buffer.from(payload.map((b, i) => b ^ key[i % 4]))]);
}

// A raw WebSocket client that parses every frame strictly: a frame cut or
// spliced anywhere fails the parse (bad opcode, length or JSON).
function wsOpen() {
  return new Promise((res, rej) => {
    const sock = net.connect(gw.port, '127.0.0.1');
    const c = { sock, frames: [], chunks: [], have: 0, head: null, bad: null };
    sock.on('error', () => {});
    sock.on('data', (d) => {
      c.chunks.push(d);
      c.have += d.length;
      if (c.have < 2) return;
      let b = Buffer.concat(c.chunks);
      c.chunks = [];
      if (c.head === null) {
        const i = b.indexOf('\r\n\r\n');
        if (i < 0) { c.chunks.push(b); return; }
        c.head = b.subarray(0, i).toString();
        b = b.subarray(i + 4);
        if (!c.head.startsWith('HTTP/1.1 101')) { rej(new Error(c.head)); return; }
        res(c);
      }
      for (;;) {
        if (b.length < 2) break;
        if ((b[0] & 0xf0) !== 0x80 || ![1, 8, 9, 10].includes(b[0] & 15) || (b[1] & 0x80)) {
          c.bad = c.bad ?? `bad frame header ${b[0]} ${b[1]} after ${c.frames.length} frames`;
          break;
        }
        let n = b[1] & 127, off = 2;
        if (n === 126) { if (b.length < 4) break; n = b.readUInt16BE(2); off = 4; }
        else if (n === 127) { if (b.length < 10) break; n = Number(b.readBigUInt64BE(2)); off = 10; }
        if (b.length < off + n) break;
        c.frames.push({ op: b[0] & 15, text: b.subarray(off, off + n).toString() });
        b = b.subarray(off + n);
      }
      if (b.length > 0) c.chunks.push(b);
      c.have = b.length;
    });
    const key = randomBytes(16).toString('base64');
    sock.write('GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n'
      + `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  });
}

const texts = (c) => c.frames.filter((f) => f.op === 1).map((f) => f.text);

async function joined(channelName) {
  const c = await wsOpen();
  c.sock.write(maskedText(`40${JSON.stringify({ apiKey: listen.key })}`));
  await waitFor(() => texts(c).some((t) => t.startsWith('40{"sid"')), { what: 'connected' });
  c.sock.write(maskedText(`420["listen",{"channelName":"${channelName}"}]`));
  await waitFor(() => texts(c).some((t) => t.startsWith('430[')), { what: 'joined' });
  return c;
}

// The published events of a socket, in arrival order: { seq, blob }.
function events(c) {
  const out = [];
  for (const t of texts(c)) {
    if (!t.startsWith('42[')) continue;
    const ev = JSON.parse(t.slice(2)); // throws on a frame cut or spliced
    const body = JSON.stringify(ev);
    const seq = /"seq":(\d+)/.exec(body);
    const blob = /"blob":"([a-z]*)"/.exec(body);
    if (seq) out.push({ seq: Number(seq[1]), blob: blob ? blob[1] : '' }); // not system_message
  }
  return out;
}

const blobOf = (seq) => String.fromCharCode(97 + (seq % 26)).repeat(10000 + ((seq * 7919) % 50001));

test('a reader that stops while 200 events of 10-60 KB pour in gets every byte, in order', async () => {
  const c = await joined('big');
  const fast = await joined('big'); // reads all along: the order the gateway sent
  const slow0 = await metric('sse_slow_consumer_disconnects_total');
  c.sock.pause(); // the socket buffers fill: frames are cut mid-way by the kernel
  // groups of 10 at once: several frames per loop pass, past the inline
  // slots, behind a partly sent one
  for (let seq = 0; seq < 200; seq += 10) {
    const rs = await Promise.all(Array.from({ length: 10 },
      (_, k) => publish(pub, pubKey.key, 'big', { seq: seq + k, blob: blobOf(seq + k) })));
    for (const r of rs) assert.equal(r.status, 201);
  }
  await waitFor(() => events(fast).length >= 200, { timeout: 30000, what: '200 events (fast)' });
  await sleep(200); // let the gateway queue what the kernel did not take
  c.sock.resume();
  await waitFor(() => events(c).length >= 200 || c.bad !== null,
    { timeout: 30000, what: '200 events' });
  assert.equal(c.bad, null);
  assert.equal(fast.bad, null);
  const evs = events(c);
  assert.equal(evs.length, 200);
  assert.deepEqual(evs.map((e) => e.seq), events(fast).map((e) => e.seq), 'same order as the fast reader');
  assert.deepEqual(evs.map((e) => e.seq).sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i));
  for (const e of evs) assert.ok(e.blob === blobOf(e.seq), `event ${e.seq} whole (${e.blob.length} bytes)`);
  // the socket is still served after its backlog drained, directly again
  const r = await publish(pub, pubKey.key, 'big', { seq: 200, blob: 'tail' });
  assert.equal(r.status, 201);
  await waitFor(() => events(c).length === 201, { what: 'event after the drain' });
  assert.equal(events(c)[200].blob, 'tail');
  assert.equal(await metric('sse_slow_consumer_disconnects_total'), slow0);
  c.sock.destroy();
  fast.sock.destroy();
});

test('bursts of more events per loop pass than the inline slots: every socket sees one order', async () => {
  const socks = await Promise.all(Array.from({ length: 20 }, () => joined('burst')));
  const lag = socks[19];
  lag.sock.pause(); // fills up mid-burst: a partial send with frames behind it
  const rounds = 60, per = 25, total = rounds * per;
  for (let round = 0; round < rounds; round++) {
    // and a batch of requests in one write: their answers are packets for
    // this socket alone, many in one loop pass
    lag.sock.write(Buffer.concat(Array.from({ length: 8 },
      (_, k) => maskedText(`42${round * 8 + k}["listen",{"channelName":"b${k}"}]`))));
    const rs = await Promise.all(Array.from({ length: per },
      (_, k) => publish(pub, pubKey.key, 'burst', { seq: round * per + k, blob: 'x'.repeat(k * 160) })));
    for (const r of rs) assert.equal(r.status, 201);
  }
  await waitFor(() => socks.slice(0, 19).every((c) => events(c).length >= total || c.bad !== null),
    { timeout: 20000, what: `${total} events on every reading socket` });
  lag.sock.resume();
  await waitFor(() => events(lag).length >= total || lag.bad !== null,
    { timeout: 20000, what: `${total} events on the lagging socket` });
  const acks = texts(lag).filter((t) => /^43\d/.test(t)).map((t) => Number(/^43(\d+)/.exec(t)[1]));
  assert.deepEqual(acks.slice(1), Array.from({ length: rounds * 8 }, (_, i) => i), 'every answer, in order');
  const order = events(socks[0]).map((e) => e.seq);
  assert.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i));
  for (const c of socks) {
    assert.equal(c.bad, null);
    assert.deepEqual(events(c).map((e) => e.seq), order, 'the same order on every socket');
    for (const e of events(c)) assert.equal(e.blob.length, (e.seq % per) * 160);
  }
  // an ack (a packet for one socket) still arrives behind the shared frames
  const c = socks[0];
  c.sock.write(maskedText('421["listen",{"channelName":"burst2"}]'));
  await waitFor(() => texts(c).some((t) => t.startsWith('431[')), { what: 'ack' });
  for (const s of socks) s.sock.destroy();
  await waitFor(async () => (await metric('sse_connections')) === 0, { what: 'connections 0' });
});
