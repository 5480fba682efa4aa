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
