// Two switchboard-server nodes on one redis-server, behind a plain TCP load
// balancer (as an operator would run them): four pages on the two nodes
// form one mesh and chat; one node is killed; the pages on the other see
// its users leave, the killed node's pages reconnect (the balancer sends
// them to the survivor) and the mesh is whole again.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import {
  startServer, uniqueRoom, launchBrowser, newContext, openChat, waitMesh, say, waitLines,
  httpGet, screenshot,
} from '../support/harness.mjs';

/** A free port on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** redis-server on a free loopback port, no persistence; resolves once it answers PING. */
async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    const pong = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => c.write('PING\r\n'));
      c.once('data', (d) => { c.destroy(); resolve(d.toString()); });
      c.once('error', () => resolve(''));
    });
    if (pong.startsWith('+PONG')) return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill('SIGKILL');
  throw new Error('redis-server did not answer');
}

/**
 * A TCP load balancer: each WebSocket upgrade goes to the next backend in
 * turn that accepts the connection, plain HTTP to the first that does. No
 * stickiness, as the cluster needs none.
 */
async function startBalancer(backends) {
  let turn = 0;
  const sockets = new Set();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.once('data', (first) => {
      client.pause();
      const upgrade = /\r\nupgrade:\s*websocket/i.test(first.toString('latin1'));
      const order = backends.map((_, i) => (upgrade ? (turn + i) % backends.length : i));
      if (upgrade) turn = (turn + 1) % backends.length;
      const attempt = (k) => {
        if (k >= order.length) return client.destroy();
        const upstream = net.connect(backends[order[k]], '127.0.0.1');
        upstream.once('error', () => { upstream.destroy(); attempt(k + 1); });
        upstream.once('connect', () => {
          upstream.removeAllListeners('error');
          sockets.add(upstream);
          upstream.once('close', () => { sockets.delete(upstream); client.destroy(); });
          client.once('close', () => upstream.destroy());
          upstream.on('error', () => client.destroy());
          client.on('error', () => upstream.destroy());
          upstream.write(first);
          client.pipe(upstream);
          upstream.pipe(client);
          client.resume();
        });
      };
      attempt(0);
    });
    client.on('error', () => client.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    stop: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

async function usersOpen(url) {
  const { body } = await httpGet(new URL('/metrics', url));
  const m = /\nswitchboard_connections_open (\d+)/.exec(body);
  return m ? Number(m[1]) : -1;
}

let redis;
let nodes = [];
let balancer;
let browser;

after(async () => {
  await browser?.close();
  await balancer?.stop();
  for (const node of nodes) await node.stop();
  redis?.stop();
});

test('four pages on two nodes form one mesh; when a node dies its pages move to the other', { timeout: 120000 },
  async () => {
    redis = await startRedis();
    const cluster = ['--redis', redis.url, '--node-lease', '1'];
    nodes = [await startServer({ args: cluster }), await startServer({ args: cluster })];
    balancer = await startBalancer(nodes.map((n) => n.port));
    browser = await launchBrowser();
    const context = await newContext(browser, balancer.url);
    const room = uniqueRoom('cluster');

    const chats = [];
    for (let i = 0; i < 4; i++) chats.push(await openChat(context, balancer.url, { room }));
    await waitMesh(chats, 30000);
    assert.deepEqual(await Promise.all(nodes.map((n) => usersOpen(n.url))), [2, 2], 'two pages on each node');
    await say(chats[0].page, 'hello from the first node');
    await waitLines(chats[1].page, [{ from: chats[0].id, text: 'hello from the first node' }]);
    await say(chats[1].page, 'and from the second');
    await waitLines(chats[0].page, [{ from: chats[1].id, text: 'and from the second' }]);
    await screenshot(chats[0].page, 'cluster-mesh.png');

    // The balancer sent pages 0 and 2 to the first node: kill it.
    const moved = [chats[0], chats[2]];
    const survivors = [chats[1], chats[3]];
    const gone = moved.map((c) => c.id);
    nodes[0].process.kill('SIGKILL');
    // Within the lease the survivors see the dead node's users leave...
    for (const { page } of survivors) {
      await page.waitForFunction((ids) => ![...document.querySelectorAll('#users li')]
        .some((li) => ids.includes(Number(li.dataset.peerId))), gone, { timeout: 15000, polling: 100 });
    }
    // ...and its pages reconnect, through the balancer to the second node, as new users.
    for (const chat of moved) {
      await chat.page.waitForFunction((old) => {
        const id = document.querySelector('#me')?.dataset.userId;
        return id && Number(id) !== old;
      }, chat.id, { timeout: 30000, polling: 100 });
      chat.id = Number(await chat.page.getAttribute('#me', 'data-user-id'));
    }
    await waitMesh(chats, 30000);
    assert.equal(await usersOpen(nodes[1].url), 4, 'every page on the surviving node');
    await say(chats[2].page, 'back, on the other node');
    await waitLines(chats[3].page, [{ from: chats[2].id, text: 'back, on the other node' }]);
    await context.close();
  });
