// client.mjs - helpers around the official socket.io-client for the
// gateway's tests: connect with a key and wait for connect or
// connect_error, wait for one event, emit with an ack and a timeout.

import { createRequire } from 'node:module';
import { once } from 'node:events';

const require = createRequire(import.meta.url);
// socket.io-client lives in tests/node_modules (CommonJS build).
export const { io } = require('../../node_modules/socket.io-client');

// Open a socket. opts: { key, via: 'auth'|'query', transports, ...io opts }.
// Does not wait; see connected().
export function open(url, { key, via = 'auth', transports, ...rest } = {}) {
  const o = { forceNew: true, reconnection: false, timeout: 5000, ...rest };
  if (transports) o.transports = transports;
  if (key !== undefined && via === 'auth') o.auth = { apiKey: key };
  if (key !== undefined && via === 'query') o.query = { apiKey: key };
  return io(url, o);
}

// Resolve with the socket on 'connect'; reject with the connect_error's
// Error (its .message is the server's) or on timeout.
export function connected(sock, ms = 5000) {
  return new Promise((res, rej) => {
    const t = setTimeout(() => { cleanup(); rej(new Error('connect timeout')); }, ms);
    const ok = () => { cleanup(); res(sock); };
    const bad = (err) => { cleanup(); rej(err); };
    function cleanup() {
      clearTimeout(t);
      sock.off('connect', ok);
      sock.off('connect_error', bad);
    }
    sock.on('connect', ok);
    sock.on('connect_error', bad);
  });
}

// Open and wait: resolves with a connected socket or rejects.
export async function connect(url, opts = {}) {
  const sock = open(url, opts);
  try {
    return await connected(sock, opts.waitMs || 5000);
  } catch (e) {
    sock.close();
    throw e;
  }
}

// Resolve with the connect_error's message (rejects if it connects).
export async function connectError(url, opts = {}) {
  const sock = open(url, opts);
  try {
    await connected(sock, opts.waitMs || 5000);
  } catch (e) {
    sock.close();
    return e.message;
  }
  sock.close();
  throw new Error('connected, but a connect_error was expected');
}

// Wait for one event; resolves with its first argument (all with all=true).
export async function next(sock, event, ms = 5000, all = false) {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), ms);
  try {
    const args = await once(sock, event, { signal: ac.signal });
    return all ? args : args[0];
  } catch (e) {
    if (e.name === 'AbortError') throw new Error(`no '${event}' within ${ms} ms`);
    throw e;
  } finally {
    clearTimeout(t);
  }
}

// Emit with an ack; resolves with the ack's argument or rejects on timeout.
export function request(sock, event, arg, ms = 5000) {
  return sock.timeout(ms).emitWithAck(event, arg);
}

// A connected socket that records what it receives: { sock, events, sys,
// sid, tag, close() }. Each is pushed on list (when given) so an after()
// hook can close what a failed test left open.
export async function recorder(gw, key, list) {
  const sock = open(gw.url, { key });
  const c = { sock, events: [], sys: [], close: () => sock.close() };
  if (list) list.push(c);
  sock.on('event', (m) => c.events.push(m));
  sock.on('system_message', (m) => c.sys.push(m));
  await connected(sock);
  c.sid = sock.id;
  c.tag = sock.id.slice(0, 8); // the gateway's tag (proto/REDIS.md)
  return c;
}

// listen with an ack; the ack's argument (the system_message object).
export const listenAck = (c, channelName, authToken) =>
  c.sock.timeout(5000).emitWithAck('listen', authToken ? { channelName, authToken } : { channelName });

// A channel token from the publisher API's sign route; throws unless 201.
export async function channelToken(pub, key, channelName) {
  const res = await fetch(`${pub.url}/v1/publishers/sign`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channelName }),
  });
  const body = await res.json();
  if (res.status !== 201) throw new Error(`sign ${channelName}: ${res.status} ${JSON.stringify(body)}`);
  return body.token;
}

// The members of a Redis set, sorted.
export const smembers = async (redis, key) =>
  (await redis.cliRaw('SMEMBERS', key)).split('\n').filter(Boolean).sort();
