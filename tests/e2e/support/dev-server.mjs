#!/usr/bin/env node
// A stand-in for switchboard-server, for working on the client and the tests
// without the C++ build: same command line, same first stdout line, the
// protocol of docs/protocol.md (built-in types only) and static files from
// --web-root, plus /switchboard.js from clients/js. CTest runs the suite
// against the real server, never this one.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
const clientJs = path.resolve(here, '../../../clients/js/switchboard.js');

const args = { host: '127.0.0.1', port: '8080', 'web-root': '' };
for (let i = 2; i < process.argv.length; i++) {
  const m = /^--([a-z-]+)(?:=(.*))?$/.exec(process.argv[i]);
  if (!m) continue;
  args[m[1]] = m[2] ?? process.argv[++i];
}

const TYPES = { 'text/html': /\.html$/, 'text/javascript': /\.m?js$/, 'text/css': /\.css$/, 'image/png': /\.png$/ };
const mime = (file) => Object.entries(TYPES).find(([, re]) => re.test(file))?.[0] ?? 'application/octet-stream';

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  let file = null;
  if (url.pathname === '/switchboard.js') file = clientJs;
  else if (args['web-root']) {
    const root = path.resolve(args['web-root']);
    const rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname).replace(/^\/+/, '');
    const candidate = path.resolve(root, rel);
    if (candidate.startsWith(root + path.sep)) file = candidate;
  }
  fs.readFile(file ?? '', (err, body) => {
    if (err) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': mime(file), 'cache-control': 'no-store' }).end(body);
  });
});

const ROOM = /^\/room\/([A-Za-z0-9._~-]{1,64})$/;
const rooms = new Map(); // name -> Map<id, ws>
let nextId = 1;
const wss = new WebSocketServer({ noServer: true });

server.on('upgrade', (req, socket, head) => {
  const { pathname } = new URL(req.url, 'http://x');
  const m = ROOM.exec(pathname);
  if (pathname !== '/' && !m) {
    socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => join(ws, m ? m[1] : ''));
});

function join(ws, roomName) {
  const id = nextId++;
  if (!rooms.has(roomName)) rooms.set(roomName, new Map());
  const room = rooms.get(roomName);
  const send = (to, msg) => to.readyState === 1 && to.send(JSON.stringify(msg));
  send(ws, { type: 'login', userId: id, users: [...room.keys()].sort((a, b) => a - b) });
  for (const other of room.values()) send(other, { type: 'user-joined', userId: id });
  room.set(id, ws);

  ws.on('message', (data, isBinary) => {
    if (isBinary) return ws.close(1003);
    const error = (code, message, request) => send(ws, { type: 'error', code, message, ...(request && { request }) });
    let msg;
    try {
      msg = JSON.parse(data.toString());
    } catch {
      return error('invalid-json', 'not JSON');
    }
    if (!msg || typeof msg !== 'object' || Array.isArray(msg) || typeof msg.type !== 'string') {
      return error('invalid-message', 'not an object with a string type');
    }
    const request = { type: msg.type, ...(Number.isSafeInteger(msg.to) && { to: msg.to }) };
    if (['login', 'user-joined', 'user-left', 'error'].includes(msg.type)) {
      return error('forbidden', `${msg.type} comes only from the server`, request);
    }
    if (!['peer-connect', 'peer-response', 'peer-candidate'].includes(msg.type)) {
      return error('unknown-type', `unknown type ${msg.type}`, request);
    }
    if (!Number.isSafeInteger(msg.to) || msg.to < 0) return error('invalid-message', 'missing or invalid to', request);
    const target = room.get(msg.to);
    if (!target) return error('unknown-recipient', `user ${msg.to} is not in this room`, request);
    const { to, from, ...rest } = msg;
    send(target, { from: id, ...rest });
  });
  ws.on('close', () => {
    room.delete(id);
    for (const other of room.values()) send(other, { type: 'user-left', userId: id });
    if (room.size === 0) rooms.delete(roomName);
  });
}

server.listen(Number(args.port), args.host, () => {
  const { address, port } = server.address();
  process.stdout.write(`listening on ws://${address}:${port}/\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    for (const ws of wss.clients) ws.close(1001);
    server.close();
    process.exit(0);
  });
}
