// The server serves the chat page and, at /switchboard.js, the client module
// it imports.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sharedServerUrl, webRoot, clientJs } from '../support/harness.mjs';

async function get(pathname) {
  const res = await fetch(new URL(pathname, sharedServerUrl()), { signal: AbortSignal.timeout(5000) });
  return { status: res.status, type: res.headers.get('content-type') || '', body: await res.text() };
}

test('the chat page and its files are served', async () => {
  const index = await get('/');
  assert.equal(index.status, 200);
  assert.match(index.type, /^text\/html/);
  assert.equal(index.body, fs.readFileSync(path.join(webRoot, 'index.html'), 'utf8'));
  for (const [file, type] of [['chat.js', /javascript/], ['style.css', /^text\/css/]]) {
    const res = await get(`/${file}`);
    assert.equal(res.status, 200, file);
    assert.match(res.type, type, file);
    assert.equal(res.body, fs.readFileSync(path.join(webRoot, file), 'utf8'), file);
  }
});

test('the client module is served at /switchboard.js', async () => {
  const res = await get('/switchboard.js');
  assert.equal(res.status, 200,
    'the server must serve clients/js/switchboard.js at /switchboard.js (the chat page imports ./switchboard.js); '
    + 'the other tests fall back to serving it from the browser context');
  assert.match(res.type, /javascript/, 'a module script needs a JavaScript MIME type');
  assert.equal(res.body, fs.readFileSync(clientJs, 'utf8'));
});
