// TURN for real: coturn (use-auth-secret) on loopback in the suite's network
// namespace, a server that hands out TURN REST credentials in `login`, and
// chat pages that may only use relays (?ice=relay, iceTransportPolicy
// 'relay'). They form the mesh through coturn, and getStats() shows the
// selected pair is relay to relay. With the wrong secret, coturn refuses the
// allocation with 401 and no page connects.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  launchBrowser, newContext, openChat, startServer, uniqueRoom, waitMesh, say, waitLines, until,
} from '../support/harness.mjs';

const SECRET = 'correct-turn-secret';
let browser;
let coturn;
let dir;

/** A UDP port nobody uses on 127.0.0.1 now (coturn takes the same TCP port too). */
function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** Resolves once a STUN binding request to 127.0.0.1:port is answered (bounded). */
async function stunAnswers(port) {
  const request = Buffer.alloc(20);
  request.writeUInt16BE(0x0001, 0);       // Binding request
  request.writeUInt32BE(0x2112a442, 4);   // magic cookie
  for (let i = 8; i < 20; i++) request[i] = i;
  const socket = dgram.createSocket('udp4');
  try {
    await until(() => new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), 200);
      socket.once('message', (msg) => {
        clearTimeout(timer);
        resolve(msg.length >= 20 && msg.readUInt16BE(0) === 0x0101);
      });
      socket.send(request, port, '127.0.0.1');
    }), { timeout: 10000, interval: 50, what: `coturn answering STUN on 127.0.0.1:${port}` });
  } finally {
    socket.close();
  }
}

async function startCoturn() {
  const port = await freeUdpPort();
  const minPort = 40000 + (port % 1000) * 20;
  const child = spawn('/usr/bin/turnserver', [
    '--listening-ip', '127.0.0.1', '--relay-ip', '127.0.0.1', '--listening-port', String(port),
    '--min-port', String(minPort), '--max-port', String(minPort + 19),
    '--use-auth-secret', '--static-auth-secret', SECRET, '--realm', 'switchboard.test',
    '--allow-loopback-peers', '--no-cli', '--no-tls', '--no-dtls', '--fingerprint',
    '--pidfile', path.join(dir, 'turnserver.pid'), '--userdb', path.join(dir, 'turndb'),
    '--log-file', 'stdout', '--no-stdout-log',
  ], { stdio: 'ignore' });
  await stunAnswers(port);
  return { port, child };
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-turn-'));
  coturn = await startCoturn();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  coturn?.child.kill('SIGKILL');
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A switchboard-server whose logins carry coturn with credentials made from `secret`. */
async function serverWithTurn(secret) {
  const file = path.join(dir, `secret-${secret}`);
  fs.writeFileSync(file, `${secret}\n`);
  return startServer({
    args: ['--turn', `turn:127.0.0.1:${coturn.port}?transport=udp`, '--turn-secret-file', file, '--turn-ttl', '600'],
  });
}

/** The types of the local and remote candidates of each peer's selected pair, as page `page` sees them. */
function selectedPairs(page) {
  return page.evaluate(async () => {
    const sb = window.switchboard;
    const out = {};
    for (const { peerId } of sb.peers) {
      const pc = sb.peerConnection(peerId);
      if (!pc) continue;
      const stats = await pc.getStats();
      let pairId = null;
      stats.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId; });
      const pair = pairId && stats.get(pairId);
      if (!pair) { out[peerId] = null; continue; }
      out[peerId] = { local: stats.get(pair.localCandidateId)?.candidateType, remote: stats.get(pair.remoteCandidateId)?.candidateType };
    }
    return out;
  });
}

test('relay-only pages form the chat mesh through coturn with the credentials from login', { timeout: 90000 }, async () => {
  const server = await serverWithTurn(SECRET);
  const context = await newContext(browser, server.url);
  try {
    const room = uniqueRoom('turn');
    const chats = [];
    for (const name of ['Ann', 'Bo', 'Cy']) chats.push(await openChat(context, server.url, { room, name, ice: 'relay' }));
    const ice = await chats[0].page.evaluate(() => window.switchboard.iceServers);
    assert.equal(ice.length, 1);
    assert.match(ice[0].username, new RegExp(`^\\d+:${chats[0].id}$`));
    await waitMesh(chats, 45000);
    for (const c of chats) {
      const pairs = await selectedPairs(c.page);
      const others = chats.filter((o) => o !== c).map((o) => String(o.id)).sort();
      assert.deepEqual(Object.keys(pairs).sort(), others);
      for (const [peer, pair] of Object.entries(pairs)) {
        assert.deepEqual(pair, { local: 'relay', remote: 'relay' }, `page ${c.id} to ${peer} goes through the relay`);
      }
    }
    const sent = chats.map((c, i) => ({ from: c.id, text: `relayed line ${i}` }));
    for (const [i, c] of chats.entries()) await say(c.page, sent[i].text);
    for (const c of chats) await waitLines(c.page, sent);
  } finally {
    await context.close();
    await server.stop();
  }
});

test('with the wrong secret coturn answers 401 and relay-only pages never connect', { timeout: 60000 }, async () => {
  const server = await serverWithTurn('not-the-secret');
  const context = await newContext(browser, server.url);
  try {
    const room = uniqueRoom('turnbad');
    const a = await openChat(context, server.url, { room, ice: 'relay' });
    // What the browser's ICE agent hears from coturn with these credentials.
    const error = await a.page.evaluate(() => new Promise((resolve) => {
      const pc = new RTCPeerConnection({ iceServers: window.switchboard.iceServers, iceTransportPolicy: 'relay' });
      const timer = setTimeout(() => resolve({ timeout: true }), 15000);
      pc.onicecandidateerror = (e) => { clearTimeout(timer); resolve({ code: e.errorCode, text: e.errorText }); pc.close(); };
      pc.createDataChannel('probe');
      pc.createOffer().then((o) => pc.setLocalDescription(o));
    }));
    assert.equal(error.code, 401, `coturn refused the allocation: ${JSON.stringify(error)}`);
    const b = await openChat(context, server.url, { room, ice: 'relay' });
    // Neither side ever has a connected peer: with relays only, there is no path.
    await new Promise((r) => setTimeout(r, 8000));
    for (const c of [a, b]) {
      const states = await c.page.evaluate(() => window.switchboard.peers.map((p) => p.state));
      assert.equal(states.length, 1);
      assert.notEqual(states[0], 'connected');
    }
  } finally {
    await context.close();
    await server.stop();
  }
});
