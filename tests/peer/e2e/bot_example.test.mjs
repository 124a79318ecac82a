// examples/host_peer_bot in Chromium: the 50-line program of the README
// serves the chat page, and two pages that open it mesh with each other and
// with its bot (user 0), get the bot's greeting over their data channels and
// an answer to their own line only; SIGTERM stops it cleanly. Run through
// tests/e2e/run.sh with SB_HOST_PEER_BOT set to the example's path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startListening, launchBrowser, newContext, openChat, waitConnectedTo, say, waitLines, linesOf,
} from '../../e2e/support/harness.mjs';

const BOT = 0;

test('two pages chat with the host peer bot of examples/host_peer_bot', { timeout: 120000 }, async () => {
  const exe = process.env.SB_HOST_PEER_BOT;
  assert.ok(exe, 'SB_HOST_PEER_BOT names the example (tests/peer/CMakeLists.txt sets it)');
  const bot = await startListening(exe, ['--port', '0']);
  const browser = await launchBrowser();
  try {
    const context = await newContext(browser, bot.url);
    const a = await openChat(context, bot.url);
    const b = await openChat(context, bot.url);
    await Promise.all([waitConnectedTo(a.page, [BOT, b.id]), waitConnectedTo(b.page, [BOT, a.id])]);
    for (const c of [a, b]) await waitLines(c.page, [{ from: BOT, text: `Hello, user ${c.id}! Say something.` }]);

    await say(a.page, 'hi there ✓');
    await waitLines(a.page, [{ from: BOT, text: 'You said: hi there ✓' }]);
    await waitLines(b.page, [{ from: a.id, text: 'hi there ✓' }]);
    const answersToB = (await linesOf(b.page)).filter((l) => l.from === BOT && l.text.startsWith('You said'));
    assert.deepEqual(answersToB, [], 'the bot answers the sender only');
  } finally {
    await browser.close();
    await bot.stop();
  }
  assert.equal(bot.process.exitCode, 0, `SIGTERM stops the example cleanly (signal ${bot.process.signalCode})`);
});
