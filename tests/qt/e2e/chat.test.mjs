// Chromium pages chat through the Qt-hosted example (examples/qt_host): the
// page and /switchboard.js come from the application's own QTcpServer, the
// WebSockets from the Qt adapter it hands them to. Run by tests/qt/e2e/run.sh.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useBrowser, uniqueRoom, openChat, openMesh, say, waitLines, linesOf, httpGet, until,
} from '../../e2e/support/harness.mjs';

const session = useBrowser();

test('the Qt host serves the chat page and the client module', async () => {
  const page = await httpGet(session.base);
  assert.equal(page.status, 200);
  assert.match(page.body, /<html/i);
  const client = await httpGet(new URL('/switchboard.js', session.base));
  assert.equal(client.status, 200);
  assert.match(client.body, /export class Switchboard/);
  assert.equal((await httpGet(new URL('/nothing-here', session.base))).status, 404);
});

test('three pages form a full mesh over the Qt adapter and every line arrives', { timeout: 120000 }, async () => {
  await session.withContext(async (context, base) => {
    const room = uniqueRoom('qt');
    const chats = await openMesh(context, base, [{ room }, { room, mode: 'seed' }, { room }]);
    const sent = [];
    for (const [i, c] of chats.entries()) {
      for (let k = 0; k < 2; k++) {
        const text = `qt page ${i} line ${k}`;
        sent.push({ from: c.id, text });
        await say(c.page, text);
      }
    }
    for (const c of chats) {
      await waitLines(c.page, sent);
      assert.equal((await linesOf(c.page)).length, sent.length, `page ${c.id} shows each line once`);
    }
    // A closed page leaves the others' lists.
    await chats[2].page.close();
    await until(async () => {
      const ids = await chats[0].page.$$eval('#users li', (items) => items.map((li) => Number(li.dataset.peerId)));
      return !ids.includes(chats[2].id);
    }, { timeout: 15000, what: 'the closed page to leave the list' });
  });
});

test('a page in the host\'s room sees the host as user 0 and gets an answer to a chat message', { timeout: 60000 }, async () => {
  await session.withContext(async (context, base) => {
    const { page } = await openChat(context, base, { name: 'Ann' });
    await until(() => page.evaluate(() => window.switchboard.peers.some((p) => p.peerId === 0)),
      { what: 'user 0 in the page\'s peers' });
    assert.equal(await page.evaluate(() => window.switchboard.nameOf(0)), 'Host');
    const answer = await page.evaluate(() => new Promise((resolve, reject) => {
      const ws = window.switchboard._ws;
      const timer = setTimeout(() => reject(new Error('no answer from the host within 10 s')), 10000);
      ws.addEventListener('message', (event) => {
        const m = JSON.parse(event.data);
        if (m.type === 'chat') { clearTimeout(timer); resolve(m); }
      });
      ws.send(JSON.stringify({ type: 'chat', to: 0, text: 'hello host' }));
    }));
    assert.equal(answer.from, 0);
    assert.equal(answer.text, 'Host heard you: hello host');
  });
});
