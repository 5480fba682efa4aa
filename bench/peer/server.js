// server.js - the Socket.IO peer of bench/run: Node's official socket.io 4.8
// server with the gateway's client semantics, in one process without Redis.
// A CONNECT needs auth.apiKey (or ?apiKey=) equal to SSE_BENCH_KEY; `listen`
// joins the room and answers system_message Success; POST
// /v1/publishers/events/publish (Bearer SSE_BENCH_PUBLISH_KEY) emits `event`
// {channelName, payload} to the room. Usage: node server.js [port].
'use strict';

const http = require('node:http');
const { Server } = require('socket.io');

const PORT = Number(process.argv[2] || process.env.PORT || 8070);
const KEY = process.env.SSE_BENCH_KEY || 'peer';
const PUBLISH_KEY = process.env.SSE_BENCH_PUBLISH_KEY || KEY;
const MAX_BODY = 1 << 20;
let nextId = 0;

function reply(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function fail(res, status, error, message) {
  reply(res, status, { statusCode: status, error, message });
}

// The REST publish: the same checks, in the same order, as the contract's
// section 3 (route, auth, body), and one room emit per event.
function publish(req, res) {
  if (req.url !== '/v1/publishers/events/publish') return fail(res, 404, 'Not Found', 'no route');
  if (req.method !== 'POST') return fail(res, 405, 'Method Not Allowed', 'POST only');
  if (req.headers.authorization !== `Bearer ${PUBLISH_KEY}`) return fail(res, 401, 'Unauthorized', 'bad key');
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size <= MAX_BODY) chunks.push(c);
  });
  req.on('end', () => {
    if (size > MAX_BODY) return fail(res, 413, 'Payload Too Large', 'body too large');
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return fail(res, 400, 'Bad Request', 'body is not JSON');
    }
    if (!body || typeof body.channelName !== 'string' || !('payload' in body)) {
      return fail(res, 400, 'Bad Request', 'channelName and payload are required');
    }
    io.to(body.channelName).emit('event', { channelName: body.channelName, payload: body.payload });
    reply(res, 201, { id: String(++nextId), channelName: body.channelName });
  });
}

const server = http.createServer(publish);
server.keepAliveTimeout = 60000;
const io = new Server(server, { cors: { origin: '*' } });

io.use((socket, next) => {
  const key = (socket.handshake.auth && socket.handshake.auth.apiKey) || socket.handshake.query.apiKey;
  if (key !== KEY) return next(new Error('invalid api key'));
  next();
});

io.on('connection', (socket) => {
  socket.on('listen', (arg, ack) => {
    const ok = arg && typeof arg.channelName === 'string';
    const msg = ok
      ? { code: 'Success', message: `listening to ${arg.channelName}` }
      : { code: 'Error', message: 'channelName is required' };
    if (ok) socket.join(arg.channelName);
    socket.emit('system_message', msg);
    if (typeof ack === 'function') ack(msg);
  });
  socket.on('remove', (arg, ack) => {
    const msg = { code: 'Success', message: 'removed' };
    if (arg && typeof arg.channelName === 'string') socket.leave(arg.channelName);
    socket.emit('system_message', msg);
    if (typeof ack === 'function') ack(msg);
  });
});

server.listen(PORT, '127.0.0.1', () => process.stderr.write(`peer: socket.io listening on 127.0.0.1:${PORT}\n`));
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    io.close();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
