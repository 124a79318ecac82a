// switchboard-server --host-peer: the C++ host as one more WebRTC peer. Three
// Chromium pages and the host form one mesh in the default room; the host's
// greeting, its answers and its goodbye reach the pages over their data
// channels (the server routes only signalling: its routed-message counter
// stands still while they chat). Run through tests/e2e/run.sh, which puts
// everything in a loopback-only network namespace.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newContext, openChat, waitConnectedTo, say, httpGet, until,
} from '../../e2e/support/harness.mjs';

const HOST = 0;

/** The server's switchboard_messages_routed_total. */
async function routed(base) {
  const { status, body } = await httpGet(new URL('/metrics', base).href);
  assert.equal(status, 200);
  const m = /^switchboard_messages_routed_total (\d+)$/m.exec(body);
  assert.ok(m, 'the metrics list switchboard_messages_routed_total');
  return Number(m[1]);
}

/** Waits until the page shows a chat line from the host whose text matches `pattern`. */
async function waitHostLine(page, pattern, timeout = 15000) {
  try {
    await page.waitForFunction(({ source, from }) => {
      const re = new RegExp(source);
      return [...document.querySelectorAll('#log .line')].some(
        (li) => Number(li.dataset.from) === from && re.test(li.querySelector('.text').textContent));
    }, { source: pattern.source, from: HOST }, { timeout, polling: 100 });
  } catch (err) {
    const lines = await page.$$eval('#log .line', (items) => items.map((li) => `${li.dataset.from}: ${li.querySelector('.text').textContent}`));
    throw new Error(`no line from the host matching ${pattern}; lines: ${JSON.stringify(lines)}: ${err.message}`);
  }
}

test('three pages and the host peer form one mesh and chat peer to peer', { timeout: 180000 }, async () => {
  const server = await startServer({ args: ['--host-peer', 'Host'] });
  const browser = await launchBrowser();
  try {
    const context = await newContext(browser, server.url);
    // One page in seed mode: the host answers a full description in kind.
    const chats = [];
    for (const mode of [undefined, 'seed', undefined]) chats.push(await openChat(context, server.url, { mode }));
    await Promise.all(chats.map((c) => waitConnectedTo(c.page, [HOST, ...chats.filter((o) => o !== c).map((o) => o.id)])));
    const names = await chats[0].page.$$eval('#users li', (items) => items.map((li) => li.textContent));
    assert.ok(names.some((n) => n.includes('Host')), `the host is listed by its name: ${JSON.stringify(names)}`);

    for (const c of chats) await waitHostLine(c.page, /^Welcome! I am Host, the host \(user 0\)/);

    // Let trickle signalling settle, then chat: nothing more goes through the server.
    let settled = await routed(server.url);
    await until(async () => {
      await new Promise((r) => setTimeout(r, 1000));
      const now = await routed(server.url);
      const same = now === settled;
      settled = now;
      return same;
    }, { timeout: 20000, what: 'signalling to settle' });
    for (const c of chats) await say(c.page, '/time');
    for (const c of chats) await waitHostLine(c.page, /^It is \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    // Each page asked once, and each got its own answer only.
    for (const c of chats) {
      const answers = await c.page.$$eval('#log .line', (items, from) => items.filter(
        (li) => Number(li.dataset.from) === from && li.querySelector('.text').textContent.startsWith('It is ')).length, HOST);
      assert.equal(answers, 1, `page ${c.id} got exactly its own answer`);
    }
    assert.equal(await routed(server.url), settled, 'greetings, chat and answers went over data channels, not the server');

    // A page that leaves: the host's peer-left event makes it say goodbye to the others.
    const [a, b, gone] = chats;
    await gone.page.close();
    for (const c of [a, b]) await waitHostLine(c.page, new RegExp(`^Goodbye, user ${gone.id}\\.$`));
    await waitConnectedTo(a.page, [HOST, b.id]);
  } finally {
    await browser.close();
    await server.stop();
  }
});
