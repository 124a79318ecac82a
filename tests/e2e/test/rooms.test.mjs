// Rooms are isolated: pages see and reach only the users of their own room.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useBrowser, uniqueRoom, openChat, waitMesh, say, waitLines, linesOf, usersOf,
} from '../support/harness.mjs';

const session = useBrowser();

test('two rooms stay isolated', { timeout: 60000 }, async () => {
  await session.withContext(async (context, base) => {
    const red = uniqueRoom('red');
    const blue = uniqueRoom('blue');
    const r1 = await openChat(context, base, { room: red });
    const b1 = await openChat(context, base, { room: blue });
    const r2 = await openChat(context, base, { room: red });
    const b2 = await openChat(context, base, { room: blue, mode: 'seed' });
    await Promise.all([waitMesh([r1, r2]), waitMesh([b1, b2])]);

    assert.deepEqual((await usersOf(r1.page)).map((u) => u.id), [r2.id]);
    assert.deepEqual((await usersOf(b2.page)).map((u) => u.id), [b1.id]);

    await say(r1.page, 'red line');
    await say(b1.page, 'blue line');
    await waitLines(r2.page, [{ from: r1.id, text: 'red line' }]);
    await waitLines(b2.page, [{ from: b1.id, text: 'blue line' }]);
    // Each page got its room's line by now; the other room's line never came.
    for (const c of [r1, r2]) assert.ok(!(await linesOf(c.page)).some((l) => l.text === 'blue line'));
    for (const c of [b1, b2]) assert.ok(!(await linesOf(c.page)).some((l) => l.text === 'red line'));
    assert.equal((await usersOf(r2.page)).length, 1);
    assert.equal((await usersOf(b1.page)).length, 1);
  });
});
