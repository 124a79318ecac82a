// The chat page in Firefox: a Firefox page (Debian's firefox-esr, driven over
// WebDriver BiDi by support/bidi.mjs) and two Chromium pages in one room form
// a full mesh, and lines typed in every page reach every other page, in
// trickle and in seed mode. Saves artifacts/firefox.png.
//
// Firefox needs a pref and camera/microphone permission to gather ICE
// candidates here: see support/firefox_chat.mjs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import {
  artifacts, launchBrowser, newContext, openChat, say, sharedServerUrl, waitConnectedTo, waitLines, linesOf,
} from '../support/harness.mjs';
import {
  launchChatFirefox, ffOpenChat, ffUsers, ffLines, ffWebRtcReport, ffWaitConnectedTo, ffSay, ffWaitLines,
} from '../support/firefox_chat.mjs';

let base;
let chromium;
let firefox;

before(async () => {
  base = sharedServerUrl();
  chromium = await launchBrowser();
  firefox = await launchChatFirefox(base);
});

after(async () => {
  await Promise.allSettled([firefox?.close(), chromium?.close()]);
});

function randomRoom(mode) {
  return `ff-${mode}-${crypto.randomBytes(6).toString('hex')}`;
}

// ---- one room: Chromium, Firefox, Chromium --------------------------------------

/**
 * Opens Chromium page A, then the Firefox page (it offers to A), then
 * Chromium page B (it offers to A and to Firefox), so Firefox is offerer
 * and answerer once each. Waits for the full mesh, then every page says a
 * line per round and every line shows once in every page.
 */
async function mixedRoom(mode, { rounds = 2, shot = null } = {}) {
  const room = randomRoom(mode);
  const options = { room, mode: mode === 'seed' ? 'seed' : undefined };
  const context = await newContext(chromium, base);
  const tab = await firefox.newTab();
  try {
    const a = await openChat(context, base, options);
    const ffId = await ffOpenChat(tab, base, options);
    const b = await openChat(context, base, options);
    const ids = [a.id, ffId, b.id];
    assert.equal(new Set(ids).size, 3, `three distinct user IDs: ${ids}`);

    const mesh = await Promise.allSettled([
      waitConnectedTo(a.page, [ffId, b.id]),
      ffWaitConnectedTo(tab, [a.id, b.id]),
      waitConnectedTo(b.page, [a.id, ffId]),
    ]);
    const failed = mesh.map((r, i) => r.status === 'rejected' && `${['Chromium A', 'Firefox', 'Chromium B'][i]}: ${r.reason.message}`).filter(Boolean);
    if (failed.length > 0) {
      if (mesh[1].status === 'fulfilled') failed.push(`Firefox's connections: ${JSON.stringify(await ffWebRtcReport(tab), null, 1)}`);
      throw new Error(`no full mesh (users A ${a.id}, Firefox ${ffId}, B ${b.id}):\n${failed.join('\n')}`);
    }

    const expected = [];
    for (let round = 1; round <= rounds; round++) {
      const lines = [
        { from: a.id, text: `${mode} ${round}: hello from Chromium A ✓` },
        { from: ffId, text: `${mode} ${round}: hello from Firefox 🦊` },
        { from: b.id, text: `${mode} ${round}: hello from Chromium B <b>not bold</b>` },
      ];
      await say(a.page, lines[0].text);
      await ffSay(tab, lines[1].text);
      await say(b.page, lines[2].text);
      expected.push(...lines);
      await Promise.all([waitLines(a.page, expected), ffWaitLines(tab, expected), waitLines(b.page, expected)]);
    }

    // Each line exactly once everywhere, own lines marked as such.
    const pages = [
      { who: 'Chromium A', id: a.id, lines: await linesOf(a.page) },
      { who: 'Firefox', id: ffId, lines: await ffLines(tab) },
      { who: 'Chromium B', id: b.id, lines: await linesOf(b.page) },
    ];
    for (const { who, id, lines } of pages) {
      assert.equal(lines.length, expected.length, `${who} shows ${lines.length} lines, want ${expected.length}: ${JSON.stringify(lines)}`);
      for (const { from, text } of expected) {
        const found = lines.filter((l) => l.from === from && l.text === text);
        assert.equal(found.length, 1, `${who}: "${text}" shown ${found.length} times`);
        assert.equal(found[0].self, from === id, `${who}: "${text}" self flag`);
      }
    }
    // The page still lists the two others as connected after the chat.
    assert.deepEqual((await ffUsers(tab)).map((u) => u.state), ['connected', 'connected']);

    if (shot) {
      const file = path.join(artifacts, shot);
      const png = await tab.screenshot(file);
      assert.ok(png.length > 1000 && png.subarray(1, 4).toString() === 'PNG', 'the screenshot is a PNG');
    }
  } finally {
    await tab.close();
    await context.close();
  }
}

test('Firefox and two Chromium pages: full mesh and chat, trickle mode', { timeout: 120000 }, async () => {
  await mixedRoom('trickle', { rounds: 3, shot: 'firefox.png' });
});

test('Firefox and two Chromium pages: full mesh and chat, seed mode', { timeout: 120000 }, async () => {
  await mixedRoom('seed', { rounds: 2 });
});
