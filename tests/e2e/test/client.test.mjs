// The client module on its own, without the chat page: a message sent the very
// moment a peer counts as connected, and a burst right behind it, must all
// arrive, in order, every time (the ready handshake at work).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, uniqueRoom } from '../support/harness.mjs';

const ROUNDS = Number(process.env.SB_EAGER_ROUNDS || 10);
const PAGES = 3;
const BURST = 20;
const session = useBrowser();

/** A bare page of the server's origin, with a Switchboard client in it. */
async function eagerClient(context, room, trickle) {
  const page = await context.newPage();
  await page.goto(new URL('/switchboard.js', session.base).href);
  const id = await page.evaluate(async ({ room, trickle, burst }) => {
    const { Switchboard, roomUrl } = await import('/switchboard.js');
    const sb = new Switchboard(roomUrl(room, location.href), { trickle });
    window.received = [];
    window.errors = [];
    sb.on('message', ({ from, data }) => window.received.push([from, data]));
    sb.on('error', (e) => window.errors.push(e));
    sb.on('peer-connected', ({ peerId }) => {
      for (let i = 0; i < burst; i++) sb.sendTo(peerId, `${sb.userId}->${peerId} #${i}`);
    });
    const login = new Promise((resolve) => sb.on('login', ({ userId }) => resolve(userId)));
    sb.connect();
    window.sb = sb;
    return login;
  }, { room, trickle, burst: BURST });
  return { page, id };
}

for (const trickle of [true, false]) {
  test(`messages sent at the moment of connection all arrive in order (${trickle ? 'trickle' : 'seed'}, ${ROUNDS} rounds)`,
    { timeout: 30000 * ROUNDS }, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        await session.withContext(async (context) => {
          const room = uniqueRoom(`eager${round}`);
          const clients = [];
          for (let i = 0; i < PAGES; i++) clients.push(await eagerClient(context, room, trickle));
          for (const c of clients) {
            const expected = clients.filter((o) => o !== c).flatMap((o) =>
              Array.from({ length: BURST }, (_, i) => [o.id, `${o.id}->${c.id} #${i}`]));
            await c.page.waitForFunction((n) => window.received.length >= n, expected.length, { timeout: 20000 })
              .catch(() => {});
            const got = await c.page.evaluate(() => window.received);
            const sorted = (list) => list.map((x) => JSON.stringify(x)).sort();
            assert.deepEqual(sorted(got), sorted(expected), `round ${round}: client ${c.id} got every message once`);
            for (const o of clients.filter((x) => x !== c)) {
              const fromO = got.filter(([from]) => from === o.id).map(([, text]) => text);
              assert.deepEqual(fromO, expected.filter(([from]) => from === o.id).map(([, t]) => t), 'in order');
            }
            assert.deepEqual(await c.page.evaluate(() => window.errors), []);
          }
        });
      }
    });
}
