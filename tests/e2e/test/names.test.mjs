// Display names: the chat page asks for one, the server (started with
// --allow-client-names) puts it in the user's profile, and every page shows
// names instead of "User 7", in the people list and on chat lines.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useBrowser, uniqueRoom, openChat, chatUrl, waitForLogin, waitMesh, say, waitLines,
} from '../support/harness.mjs';

const session = useBrowser();

/** The names a page lists for the other users, by ID. */
function listedNames(page) {
  return page.$$eval('#users li', (items) => Object.fromEntries(
    items.map((li) => [li.dataset.peerId, li.querySelector('.name').textContent])));
}

test('pages show the names users chose; the page asks for one when the URL has none', { timeout: 60000 }, async () => {
  await session.withContext(async (context, base) => {
    const room = uniqueRoom('names');
    const ann = await openChat(context, base, { room, name: 'Ann' });
    const bo = await openChat(context, base, { room, name: '  Bo  ' });
    assert.equal(await ann.page.textContent('#me'), 'Ann');

    // Without ?name= the page asks first, and joins once asked.
    const page = await context.newPage();
    await page.goto(chatUrl(base, { room, name: null }));
    await page.waitForSelector('#ask-name:not([hidden])');
    assert.equal(await page.getAttribute('#me', 'data-user-id'), '');
    await page.fill('#name-input', 'Cy Young');
    await page.click('#ask-name button[type=submit]');
    const cy = { page, id: await waitForLogin(page) };
    assert.equal(await page.textContent('#me'), 'Cy Young');

    const chats = [ann, bo, cy];
    await waitMesh(chats);
    const names = { [ann.id]: 'Ann', [bo.id]: 'Bo', [cy.id]: 'Cy Young' };
    for (const c of chats) {
      const want = Object.fromEntries(Object.entries(names).filter(([id]) => Number(id) !== c.id));
      assert.deepEqual(await listedNames(c.page), want);
    }
    await say(bo.page, 'hello from Bo');
    await waitLines(ann.page, [{ from: bo.id, text: 'hello from Bo' }]);
    const author = await ann.page.textContent(`#log .line[data-from="${bo.id}"] .author`);
    assert.equal(author, 'Bo');

    // The name is remembered for the next visit.
    const again = await context.newPage();
    await again.goto(chatUrl(base, { room, name: null }));
    await again.waitForSelector('#ask-name:not([hidden])');
    assert.equal(await again.inputValue('#name-input'), 'Cy Young');
  });
});

test('a page without a name is "User N"; a bad name is refused at the handshake and the page never joins', { timeout: 30000 }, async () => {
  await session.withContext(async (context, base) => {
    const room = uniqueRoom('noname');
    const anon = await openChat(context, base, { room });
    assert.equal(await anon.page.textContent('#me'), `User ${anon.id}`);
    // A name with a right-to-left override: the handshake gets 400, the page keeps retrying, never joins.
    const page = await context.newPage();
    await page.goto(chatUrl(base, { room, name: 'evil\u202egpj.exe' }));
    await page.waitForFunction(() => window.switchboard && window.switchboard.state === 'reconnecting', null,
      { timeout: 10000 });
    assert.equal(await page.getAttribute('#me', 'data-user-id'), '');
    assert.deepEqual(await anon.page.$$eval('#users li', (items) => items.length), 0);
  });
});
