// Resume in a real browser: three pages chat; one page's WebSocket (only
// that socket: it goes through a TCP relay the test controls) is cut and
// stays cut for a few seconds. The chat goes on over the data channels, the
// page resumes with the same ID, the others never see it leave, and a
// fourth page that joins afterwards connects to all three.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  useBrowser, uniqueRoom, openChat, waitMesh, say, waitLines, httpGet, until, startServer,
} from '../support/harness.mjs';

const session = useBrowser();

/**
 * A TCP relay to 127.0.0.1:`port`. cut(ms) destroys every connection
 * through it, and for `ms` destroys new ones at once, as a network outage
 * would; the server sees the sockets end without a close frame.
 */
async function startRelay(port) {
  const sockets = new Set();
  let blockedUntil = 0;
  const server = net.createServer((client) => {
    if (Date.now() < blockedUntil) return client.destroy();
    const upstream = net.connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    cut(ms) {
      blockedUntil = Date.now() + ms;
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** Records on the page every user-left its client reports. */
function recordDepartures(page) {
  return page.evaluate(() => {
    window.__left = [];
    window.switchboard.on('user-left', ({ userId }) => window.__left.push(userId));
  });
}

async function metric(base, name) {
  const { body } = await httpGet(new URL('/metrics', base).href);
  const line = body.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

test('a page whose WebSocket is cut resumes with its ID; its peers stay connected and see no user-left',
  { timeout: 90000 }, async () => {
    await session.withContext(async (context, base) => {
      const relay = await startRelay(Number(new URL(base).port));
      try {
        const room = uniqueRoom('resume');
        const resumedBefore = await metric(base, 'switchboard_sessions_resumed_total');
        const a = await openChat(context, base, { room, name: 'Ann' });
        const b = await openChat(context, base, { room, name: 'Bo' });
        const c = await openChat(context, relay.url, { room, name: 'Cy' });  // its socket goes through the relay
        await waitMesh([a, b, c]);
        await recordDepartures(a.page);
        await recordDepartures(b.page);

        relay.cut(4000);
        await c.page.waitForFunction(() => window.switchboard.state === 'reconnecting', null, { timeout: 5000 });
        // The server is out of reach for C, but the data channels are not.
        assert.equal(await c.page.getAttribute('#me', 'data-user-id'), String(c.id));
        await say(a.page, 'while Cy is cut off');
        await say(c.page, 'Cy, still talking');
        await waitLines(c.page, [{ from: a.id, text: 'while Cy is cut off' }]);
        await waitLines(a.page, [{ from: c.id, text: 'Cy, still talking' }]);
        await waitLines(b.page, [{ from: c.id, text: 'Cy, still talking' }]);
        assert.equal(await c.page.evaluate(() => window.switchboard.state), 'reconnecting',
          'the lines above crossed while the server connection was down');

        // Once the outage is over, C resumes: the same ID, online again.
        await c.page.waitForFunction(() => window.switchboard.state === 'online', null, { timeout: 20000 });
        assert.equal(await c.page.evaluate(() => window.switchboard.userId), c.id);
        await c.page.waitForSelector('#log .notice:has-text("the session was resumed")', { timeout: 5000 });
        assert.equal(await metric(base, 'switchboard_sessions_resumed_total'), resumedBefore + 1);
        for (const other of [a, b]) {
          assert.deepEqual(await other.page.evaluate(() => window.__left), [], `page ${other.id} saw no user-left`);
          assert.equal(await other.page.locator('#log .notice', { hasText: 'Cy left.' }).count(), 0);
        }

        // A newcomer meets all three, the resumed one included (its offer reaches C through the server).
        const d = await openChat(context, base, { room, name: 'Di' });
        await waitMesh([a, b, c, d]);
        await say(d.page, 'hello from Di');
        for (const other of [a, b, c]) await waitLines(other.page, [{ from: d.id, text: 'hello from Di' }]);
      } finally {
        await relay.close();
      }
    });
  });

test('a page cut off for longer than the resume window comes back as a new user; the others see it leave',
  { timeout: 90000 }, async () => {
    const server = await startServer({ args: ['--allow-client-names', '--resume-window', '1'] });
    const relay = await startRelay(server.port);
    try {
      await session.withContext(async (context) => {
        const room = uniqueRoom('noresume');
        const a = await openChat(context, server.url, { room, name: 'Ann' });
        const c = await openChat(context, relay.url, { room, name: 'Cy' });
        await waitMesh([a, c]);
        await recordDepartures(a.page);
        relay.cut(2500);
        await until(() => a.page.evaluate((id) => window.__left.includes(id), c.id),
          { timeout: 10000, what: 'Ann hearing that Cy left after the 1 s window' });
        // C comes back as someone new, told why, and the mesh is whole again.
        await c.page.waitForSelector('#log .notice:has-text("Could not resume")', { timeout: 20000 });
        const newId = Number(await c.page.getAttribute('#me', 'data-user-id'));
        assert.notEqual(newId, c.id);
        await waitMesh([a, { page: c.page, id: newId }]);
      });
    } finally {
      await relay.close();
      await server.stop();
    }
  });
