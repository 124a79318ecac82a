// switchboard-server --host-peer: the C++ host as one more WebRTC peer. Browser
// pages (Chromium, and a Firefox page driven over WebDriver BiDi) and the host
// form one mesh in the default room; the host's greeting, its answers and its
// goodbye reach the pages over their data channels (the server routes only
// signalling: its routed-message counter stands still while they chat). Run
// through tests/e2e/run.sh, which puts everything in a loopback-only network
// namespace.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newContext, openChat, waitConnectedTo, say, linesOf, httpGet, until,
} from '../../e2e/support/harness.mjs';
import {
  launchChatFirefox, ffOpenChat, ffWaitConnectedTo, ffSay, ffLines,
} from '../../e2e/support/firefox_chat.mjs';

const HOST = 0;
const GREETING = /^Welcome! I am Host, the host \(user 0\)/;
const TIME = /^It is \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/;

/** The server's switchboard_messages_routed_total. */
async function routed(base) {
  const { status, body } = await httpGet(new URL('/metrics', base).href);
  assert.equal(status, 200);
  const m = /^switchboard_messages_routed_total (\d+)$/m.exec(body);
  assert.ok(m, 'the metrics list switchboard_messages_routed_total');
  return Number(m[1]);
}

/** The routed-message counter once it stood still for a second: trickle signalling has settled. */
async function settledRouted(base) {
  let settled = await routed(base);
  await until(async () => {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await routed(base);
    const same = now === settled;
    settled = now;
    return same;
  }, { timeout: 20000, what: 'signalling to settle' });
  return settled;
}

// Run inside the page (Chromium's or Firefox's), so self-contained.
/** Whether the page shows a chat line from user `from` whose text matches `source`. */
function hasLine({ source, from }) {
  const re = new RegExp(source);
  return [...document.querySelectorAll('#log .line')].some(
    (li) => Number(li.dataset.from) === from && re.test(li.querySelector('.text').textContent));
}

/** The names the page's users list shows. */
function userNames() {
  return [...document.querySelectorAll('#users li')].map((li) => li.textContent);
}

// A member is one chat page, whichever browser shows it:
// { who, id, waitConnectedTo(ids), say(text), lines(), names(), waitLine(from, pattern, timeout), leave() }.

/** Opens the chat page in a Chromium context; resolves to its member. */
async function openChromium(context, base, mode) {
  const { page, id } = await openChat(context, base, { mode });
  return {
    who: `Chromium page ${id}${mode ? ` (${mode})` : ''}`,
    id,
    waitConnectedTo: (ids) => waitConnectedTo(page, ids),
    say: (text) => say(page, text),
    lines: () => linesOf(page),
    names: () => page.evaluate(userNames),
    waitLine: (from, pattern, timeout) => page.waitForFunction(hasLine, { source: pattern.source, from }, { timeout, polling: 100 }),
    leave: () => page.close(),
  };
}

/** Opens the chat page in a new tab of `firefox`; resolves to its member. */
async function openFirefox(firefox, base, mode) {
  const tab = await firefox.newTab();
  const id = await ffOpenChat(tab, base, { mode });
  return {
    who: `Firefox page ${id}${mode ? ` (${mode})` : ''}`,
    id,
    waitConnectedTo: (ids) => ffWaitConnectedTo(tab, ids),
    say: (text) => ffSay(tab, text),
    lines: () => ffLines(tab),
    names: () => tab.call(userNames),
    waitLine: (from, pattern, timeout) => tab.waitFor(hasLine, [{ source: pattern.source, from }],
      { timeout, what: `a line from ${from} matching ${pattern}` }),
    leave: () => tab.close(),
  };
}

/** Waits until the member shows a chat line from the host whose text matches `pattern`. */
async function waitHostLine(member, pattern, timeout = 15000) {
  try {
    await member.waitLine(HOST, pattern, timeout);
  } catch (err) {
    const lines = (await member.lines().catch(() => [])).map((l) => `${l.from}: ${l.text}`);
    throw new Error(`${member.who} got no line from the host matching ${pattern}; lines: ${JSON.stringify(lines)}: ${err.message}`);
  }
}

/**
 * Starts the server with `--host-peer Host` and opens `pages` (each
 * { browser: 'chromium' | 'firefox', mode }) in its default room, in that
 * order: each page offers to the host and to the pages before it. Then
 * checks the full mesh with the host, its greeting in every page, one
 * `/time` answer per page with the server's counter still, and the host's
 * goodbye in the others when page `leaves` (an index) closes.
 */
async function hostRoom(pages, leaves) {
  const server = await startServer({ args: ['--host-peer', 'Host'] });
  let chromium = null;
  let firefox = null;
  try {
    chromium = await launchBrowser();
    const context = await newContext(chromium, server.url);
    if (pages.some((p) => p.browser === 'firefox')) firefox = await launchChatFirefox(server.url);
    const members = [];
    for (const { browser, mode } of pages) {
      members.push(browser === 'firefox' ? await openFirefox(firefox, server.url, mode) : await openChromium(context, server.url, mode));
    }
    const others = (m, among = members) => among.filter((o) => o !== m).map((o) => o.id);
    await Promise.all(members.map((m) => m.waitConnectedTo([HOST, ...others(m)])));
    for (const m of members) {
      const names = await m.names();
      assert.ok(names.some((n) => n.includes('Host')), `${m.who} lists the host by its name: ${JSON.stringify(names)}`);
    }

    for (const m of members) await waitHostLine(m, GREETING);

    // Once trickle signalling settled, nothing more goes through the server.
    const settled = await settledRouted(server.url);
    for (const m of members) await m.say('/time');
    for (const m of members) await waitHostLine(m, TIME);
    // Each page asked once, and each got its own answer only.
    for (const m of members) {
      const answers = (await m.lines()).filter((l) => l.from === HOST && l.text.startsWith('It is ')).length;
      assert.equal(answers, 1, `${m.who} got exactly its own answer`);
    }
    assert.equal(await routed(server.url), settled, 'greetings, chat and answers went over data channels, not the server');

    // A page that leaves: the host's peer-left event makes it say goodbye to the others.
    const gone = members[leaves];
    const stay = members.filter((m) => m !== gone);
    await gone.leave();
    const goodbye = new RegExp(`^Goodbye, user ${gone.id}\\.$`);
    for (const m of stay) await waitHostLine(m, goodbye);
    await Promise.all(stay.map((m) => m.waitConnectedTo([HOST, ...others(m, stay)])));
    // Once, though both its connection closing and its user leaving tell the host.
    for (const m of stay) {
      const goodbyes = (await m.lines()).filter((l) => l.from === HOST && goodbye.test(l.text)).length;
      assert.equal(goodbyes, 1, `${m.who} got the goodbye once`);
    }
  } finally {
    await Promise.allSettled([firefox?.close(), chromium?.close()]);
    await server.stop();
  }
}

test('three pages and the host peer form one mesh and chat peer to peer', { timeout: 180000 }, async () => {
  // One page in seed mode: the host answers a full description in kind.
  await hostRoom([{ browser: 'chromium' }, { browser: 'chromium', mode: 'seed' }, { browser: 'chromium' }], 2);
});

test('a Firefox page, two Chromium pages and the host peer: one mesh, trickle mode; a Chromium page leaves',
  { timeout: 180000 }, async () => {
    // Firefox offers to the host and to the first Chromium page, and answers the second.
    await hostRoom([{ browser: 'chromium' }, { browser: 'firefox' }, { browser: 'chromium' }], 2);
  });

test('a Firefox page in seed mode, a Chromium page and the host peer: one mesh; the Firefox page leaves',
  { timeout: 180000 }, async () => {
    await hostRoom([{ browser: 'chromium' }, { browser: 'firefox', mode: 'seed' }], 1);
  });
