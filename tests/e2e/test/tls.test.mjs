// The bundled server over TLS (--tls-cert/--tls-key): the page loads over
// https, talks wss, and the mesh, the chat and presence work as over plain
// HTTP. (That a user leaves the hub before the server ends the TLS session
// is checked in tests/beast with a client that never ends it; Chromium ends
// its side at once.)

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  startServer, uniqueRoom, launchBrowser, newContext, openMesh, waitConnectedTo, say, waitLines, httpGet,
} from '../support/harness.mjs';

let browser;
let server;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-e2e-tls-'));

after(async () => {
  await server?.stop();
  await browser?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A self-signed certificate for 127.0.0.1, made with the openssl command. */
function makeCertificate() {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', key, '-out', cert], { encoding: 'utf8' });
  assert.equal(made.status, 0, `openssl failed: ${made.stderr}`);
  return { cert, key };
}

test('over TLS: the page loads over https, the mesh forms over wss, a closed page leaves',
  { timeout: 90000 }, async () => {
    const { cert, key } = makeCertificate();
    server = await startServer({ args: ['--tls-cert', cert, '--tls-key', key] });
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await httpGet(server.url);
    assert.equal(page.status, 200);

    browser = await launchBrowser();
    const context = await newContext(browser, server.url);
    const room = uniqueRoom('tls');
    const [a, b, c] = await openMesh(context, server.url, [{ room }, { room }, { room }]);
    assert.equal(new URL(a.page.url()).protocol, 'https:');

    await say(a.page, 'over wss');
    await waitLines(b.page, [{ from: a.id, text: 'over wss' }]);
    await waitLines(c.page, [{ from: a.id, text: 'over wss' }]);

    await c.page.close();
    await a.page.waitForSelector(`#log .notice:has-text("User ${c.id} left.")`, { timeout: 5000 });
    await waitConnectedTo(a.page, [b.id]);
    await waitConnectedTo(b.page, [a.id]);
    await context.close();
  });
