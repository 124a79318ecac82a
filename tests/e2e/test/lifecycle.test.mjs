// Users come and go: a closed page leaves the others' lists, a reloaded page
// rejoins under a new ID, and server errors reach the page.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useBrowser, uniqueRoom, openChat, openMesh, waitConnectedTo, waitMesh, waitForLogin, say, waitLines,
  usersOf,
} from '../support/harness.mjs';

const session = useBrowser();

test('a page that closes disappears from the others\' user lists', { timeout: 60000 }, async () => {
  await session.withContext(async (context, base) => {
    const room = uniqueRoom('close');
    const [a, b, c] = await openMesh(context, base, [{ room }, { room }, { room }]);

    await c.page.close();
    await waitConnectedTo(a.page, [b.id]);
    await waitConnectedTo(b.page, [a.id]);
    await a.page.waitForSelector(`#log .notice:has-text("User ${c.id} left.")`, { timeout: 5000 });

    // The two left still talk.
    await say(a.page, 'still here?');
    await say(b.page, 'yes');
    await waitLines(b.page, [{ from: a.id, text: 'still here?' }]);
    await waitLines(a.page, [{ from: b.id, text: 'yes' }]);
  });
});

test('a page that reloads rejoins the mesh under a new ID', { timeout: 60000 }, async () => {
  await session.withContext(async (context, base) => {
    const room = uniqueRoom('reload');
    const [a, b, c] = await openMesh(context, base, [{ room }, { room }, { room }]);

    for (let i = 0; i < 2; i++) {
      const old = b.id;
      await b.page.reload();
      b.id = await waitForLogin(b.page);
      assert.notEqual(b.id, old, 'a new login gives a new ID');
      await waitMesh([a, b, c]);
      const ids = (await usersOf(a.page)).map((u) => u.id);
      assert.ok(!ids.includes(old), 'the old ID is gone');

      const text = `back after reload ${i}`;
      await say(b.page, text);
      await say(a.page, `welcome back ${i}`);
      await waitLines(a.page, [{ from: b.id, text }]);
      await waitLines(c.page, [{ from: b.id, text }, { from: a.id, text: `welcome back ${i}` }]);
      await waitLines(b.page, [{ from: a.id, text: `welcome back ${i}` }]);
    }
  });
});

test('a server error shows on the page and the connection stays usable', { timeout: 30000 }, async () => {
  await session.withContext(async (context, base) => {
    const room = uniqueRoom('error');
    const a = await openChat(context, base, { room });
    const codes = await a.page.evaluate(() => new Promise((resolve) => {
      const got = [];
      const off = window.switchboard.on('error', ({ code, source }) => {
        if (source !== 'server') return;
        got.push(code);
        if (got.length === 2) { off(); resolve(got); }
      });
      window.switchboard._signal({ type: 'no-such-type', to: 1 });
      window.switchboard._signal({ type: 'peer-connect', to: 9007199254740991, desc: { type: 'offer', sdp: 'v=0\r\n' } });
      setTimeout(() => resolve(got), 5000);
    }));
    assert.deepEqual(codes, ['unknown-type', 'unknown-recipient']);
    await a.page.waitForSelector('#banner:not([hidden])', { timeout: 2000 });
    assert.match(await a.page.textContent('#banner'), /unknown-type/);

    // Still online: a newcomer connects and chats.
    const b = await openChat(context, base, { room });
    await waitMesh([a, b]);
    await say(b.page, 'hi after an error');
    await waitLines(a.page, [{ from: b.id, text: 'hi after an error' }]);
    assert.equal(await a.page.getAttribute('#status', 'data-state'), 'online');
  });
});
