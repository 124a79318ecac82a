// The server goes away and comes back on the same port: the page says so
// plainly, then rejoins by itself and the mesh forms again.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, uniqueRoom, launchBrowser, newContext, openChat, waitMesh, waitForLogin, say,
  waitLines, screenshot, usersOf,
} from '../support/harness.mjs';

let browser;
let server;

after(async () => {
  await server?.stop();
  await browser?.close();
});

test('the page shows the server is gone and recovers when it is back', { timeout: 90000 }, async () => {
  server = await startServer();
  const { url, port } = server;
  browser = await launchBrowser();
  const context = await newContext(browser, url);
  const room = uniqueRoom('restart');
  const a = await openChat(context, url, { room });
  const b = await openChat(context, url);
  const c = await openChat(context, url);
  await waitMesh([b, c]);
  await say(b.page, 'before the restart');
  await waitLines(c.page, [{ from: b.id, text: 'before the restart' }]);

  await server.stop();
  for (const { page } of [a, b, c]) {
    await page.waitForSelector('#status[data-state="reconnecting"]', { timeout: 10000 });
    await page.waitForSelector('#banner:not([hidden])', { timeout: 2000 });
    assert.match(await page.textContent('#banner'), /reconnecting/i);
    assert.equal(await page.getAttribute('#me', 'data-user-id'), '');
    assert.ok(await page.isDisabled('#send'), 'sending is off while offline');
  }
  await screenshot(b.page, 'reconnecting.png');
  // Peer connections of the old mesh are dropped with the server connection.
  assert.deepEqual(await usersOf(b.page), []);

  server = await startServer({ port });
  const ids = [];
  for (const chat of [a, b, c]) {
    chat.id = await waitForLogin(chat.page, 30000);
    ids.push(chat.id);
    await chat.page.waitForSelector('#status[data-state="online"]', { timeout: 5000 });
    await chat.page.waitForSelector('#banner', { state: 'hidden', timeout: 5000 });
  }
  await waitMesh([b, c]);
  assert.deepEqual(await usersOf(a.page), [], 'the room page is alone in its room');
  await say(c.page, 'after the restart');
  await waitLines(b.page, [{ from: c.id, text: 'after the restart' }]);
  await context.close();
});
