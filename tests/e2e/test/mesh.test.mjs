// Four pages in one room form a full mesh and every line reaches every page,
// round after round, in trickle and in seed (non-trickle) signalling.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useBrowser, uniqueRoom, openMesh, say, waitLines, linesOf, screenshot,
} from '../support/harness.mjs';

const ROUNDS = Number(process.env.SB_MESH_ROUNDS || 5);
const PAGES = 4;
const session = useBrowser();

async function meshRound(round, modes) {
  await session.withContext(async (context, base) => {
    const room = uniqueRoom(`mesh${round}`);
    const chats = await openMesh(context, base,
      Array.from({ length: PAGES }, (_, i) => ({ room, mode: modes[i % modes.length] })));

    // Everybody talks at once, a few lines each.
    const sent = [];
    await Promise.all(chats.map(async (c, i) => {
      for (let k = 0; k < 3; k++) {
        const text = `round ${round} page ${i} line ${k}`;
        sent.push({ from: c.id, text });
        await say(c.page, text);
      }
    }));
    for (const c of chats) {
      await waitLines(c.page, sent);
      const lines = await linesOf(c.page);
      assert.equal(lines.length, sent.length, `page ${c.id} shows each line once`);
      for (const line of lines) assert.equal(line.self, line.from === c.id);
    }
    if (round === 1 && modes.length === 1 && modes[0] === undefined) {
      await screenshot(chats[0].page, 'chat.png');
    }
  });
}

test(`trickle ICE: ${PAGES} pages, full mesh, every line arrives (${ROUNDS} rounds)`, { timeout: 60000 * ROUNDS }, async () => {
  for (let round = 1; round <= ROUNDS; round++) await meshRound(round, [undefined]);
});

test(`seed mode (non-trickle): ${PAGES} pages, full mesh, every line arrives (2 rounds)`, { timeout: 120000 }, async () => {
  for (let round = 1; round <= 2; round++) await meshRound(100 + round, ['seed']);
});

test('seed and trickle pages in one room interoperate', { timeout: 60000 }, async () => {
  await meshRound(200, ['seed', undefined]);
});
