// Interop with an independent WebRTC stack: a peer built on aiortc (Python)
// joins a room with Chromium pages and exchanges chat lines with them over
// data channels, in both directions of the offer/answer and with both
// signalling styles on the browser side.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import {
  useBrowser, uniqueRoom, openChat, openMesh, waitConnectedTo, say, waitLines, until, repoRoot,
} from '../support/harness.mjs';

const PYTHON = process.env.SB_PYTHON || '/usr/bin/python3';
const peerScript = path.join(repoRoot, 'tests/e2e/support/aiortc_peer.py');

const session = useBrowser();

/** Runs the aiortc peer; its events collect in `events`. */
function startPythonPeer(room) {
  const ws = new URL(`/room/${room}`, session.base);
  ws.protocol = 'ws:';
  const child = spawn(PYTHON, [peerScript, ws.href], { stdio: ['pipe', 'pipe', 'pipe'] });
  const events = [];
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    try { events.push(JSON.parse(line)); } catch { stderr += `${line}\n`; }
  });
  const python = {
    events,
    get stderr() { return stderr; },
    send(data) { child.stdin.write(`${JSON.stringify({ send: data })}\n`); },
    async waitFor(predicate, what, timeout = 20000) {
      try {
        return await until(() => events.find(predicate), { timeout, what });
      } catch (err) {
        throw new Error(`${err.message}\naiortc peer events: ${JSON.stringify(events)}\nstderr: ${stderr}`);
      }
    },
    stop() {
      return new Promise((done) => {
        if (child.exitCode !== null) return done();
        const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => { clearTimeout(kill); done(); });
        child.stdin.end(`${JSON.stringify({ quit: true })}\n`);
      });
    },
  };
  return python;
}

test('an aiortc peer chats with Chromium pages (trickle and seed)', { timeout: 120000 }, async () => {
  const room = uniqueRoom('interop');
  await session.withContext(async (context, base) => {
    let python;
    try {
      // Two pages first, so the Python peer is the newcomer and offers to both.
      const [trickle, seed] = await openMesh(context, base, [{ room }, { room, mode: 'seed' }]);

      python = startPythonPeer(room);
      const login = await python.waitFor((e) => e.event === 'login', 'aiortc login');
      const py = login.userId;
      assert.deepEqual(login.users.slice().sort(), [trickle.id, seed.id].sort());

      // Then a page after it, so the Python peer also answers (with trickled
      // candidates coming in).
      const late = await openChat(context, base, { room });
      const pages = [trickle, seed, late];
      for (const p of pages) {
        await python.waitFor((e) => e.event === 'connected' && e.peerId === p.id, `aiortc connected to ${p.id}`);
      }
      for (const p of pages) {
        await waitConnectedTo(p.page, [py, ...pages.filter((o) => o !== p).map((o) => o.id)]);
      }

      for (let round = 0; round < 3; round++) {
        const fromPython = `aiortc says hello, round ${round}`;
        python.send(fromPython);
        const fromPages = [];
        for (const [i, p] of pages.entries()) {
          const text = `page ${i} to everybody, round ${round}`;
          fromPages.push({ from: p.id, text });
          await say(p.page, text);
        }
        for (const p of pages) await waitLines(p.page, [{ from: py, text: fromPython }, ...fromPages]);
        for (const { from, text } of fromPages) {
          await python.waitFor((e) => e.event === 'message' && e.from === from && e.data === text, `"${text}" at aiortc`);
        }
      }
      const errors = python.events.filter((e) => e.event === 'error');
      assert.deepEqual(errors, [], 'the aiortc peer saw no errors');
    } finally {
      await python?.stop();
    }
  });
});
