// Shared helpers of the end-to-end tests: the server under test, the browser,
// and the chat page as a user sees it.
//
// Environment (set by run.sh):
//   SB_SERVER    the server executable (switchboard-server)
//   SB_URL       http://127.0.0.1:PORT/ of the server run.sh started
//   SB_WEB_ROOT  the chat page's folder, served as web root
//   SB_ARTIFACTS where screenshots go

import { before, after } from 'node:test';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');
export const webRoot = process.env.SB_WEB_ROOT || path.join(repoRoot, 'examples/chat/web');
export const artifacts = process.env.SB_ARTIFACTS || path.resolve(here, '../artifacts');
export const clientJs = path.join(repoRoot, 'clients/js/switchboard.js');

export function sharedServerUrl() {
  const url = process.env.SB_URL;
  if (!url) throw new Error('SB_URL is not set: run the suite through tests/e2e/run.sh');
  return url;
}

/** A unique room name per call, so tests sharing a server never meet. */
let roomCounter = 0;
export function uniqueRoom(prefix) {
  return `${prefix}-${process.pid}-${++roomCounter}`;
}

/**
 * Starts a server of its own (for tests that stop and restart it, or need
 * other flags: `args` are appended to the usual ones). Resolves to
 * { url, port, stop() } once it printed its listening line; `url` is
 * https:// when the server speaks TLS.
 */
export function startServer({ port = 0, timeout = 15000, args = [] } = {}) {
  const exe = process.env.SB_SERVER;
  if (!exe) throw new Error('SB_SERVER is not set: run the suite through tests/e2e/run.sh');
  return startListening(exe, ['--host', '127.0.0.1', '--port', String(port), '--web-root', webRoot,
    '--threads', '2', '--log-level', 'warn', ...args], { timeout });
}

/**
 * Starts `exe` with `args`, a program whose first line on stdout is
 * "listening on ws://127.0.0.1:PORT/" (or wss://), as switchboard-server's
 * and the examples' is; resolves as startServer does.
 */
export function startListening(exe, args, { timeout = 15000 } = {}) {
  const child = spawn(exe, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(exe)} did not print its listening line within ${timeout} ms`));
    }, timeout);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${path.basename(exe)} exited early (code ${code}, signal ${signal})`));
    });
    const lines = readline.createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      clearTimeout(timer);
      const m = /^listening on (wss?):\/\/([^/]+):(\d+)\/$/.exec(line.trim());
      if (!m) {
        child.kill('SIGKILL');
        reject(new Error(`unexpected first line from ${path.basename(exe)}: ${line}`));
        return;
      }
      child.removeAllListeners('exit');
      lines.on('line', () => {}); // keep draining stdout
      const stop = () => new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => { clearTimeout(kill); done(); });
        child.kill('SIGTERM');
      });
      const scheme = m[1] === 'wss' ? 'https' : 'http';
      resolve({ url: `${scheme}://127.0.0.1:${m[3]}/`, port: Number(m[3]), stop, process: child });
    });
  });
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--allow-loopback-in-peer-connection',
  '--use-fake-ui-for-media-stream',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.SB_CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    timeout: 60000,
  });
}

/**
 * For a test file against the shared server (SB_URL): registers node:test
 * hooks that launch the browser before the file's tests and close it after
 * them. Returns the session; its `browser` and `base` (the server's URL) are
 * set once the tests run.
 */
export function useBrowser() {
  const session = {
    browser: undefined,
    base: undefined,
    /** Runs `fn(context, base)` in a fresh context (see newContext), closed afterwards. */
    async withContext(fn) {
      const context = await newContext(session.browser, session.base);
      try {
        return await fn(context, session.base);
      } finally {
        await context.close();
      }
    },
  };
  before(async () => {
    session.base = sharedServerUrl();
    session.browser = await launchBrowser();
  });
  after(async () => {
    await session.browser?.close();
  });
  return session;
}

/**
 * GET `url` (http or https; a self-signed certificate is accepted, as the
 * TLS tests use one). Resolves to { status, headers, body }.
 */
export function httpGet(url, timeout = 5000) {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(u, { rejectUnauthorized: false, timeout }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeout} ms`)));
    req.on('error', reject);
  });
}

const clientServed = new Map(); // base url -> boolean

/** Whether the server serves the client module at /switchboard.js. */
export async function servesClient(baseUrl) {
  if (!clientServed.has(baseUrl)) {
    let ok = false;
    try {
      const { status, body } = await httpGet(new URL('/switchboard.js', baseUrl));
      ok = status === 200 && body.includes('export class Switchboard');
    } catch { /* not served */ }
    clientServed.set(baseUrl, ok);
  }
  return clientServed.get(baseUrl);
}

/**
 * A browser context with the media permission that lets Chromium gather
 * loopback candidates. If the server does not serve /switchboard.js yet, the
 * context serves it from clients/js (static.test.mjs fails loudly then).
 */
export async function newContext(browser, baseUrl, viewport = { width: 1280, height: 800 }) {
  // The TLS tests' certificate is self-signed for 127.0.0.1.
  const context = await browser.newContext({ viewport, ignoreHTTPSErrors: true });
  await context.grantPermissions(['camera', 'microphone'], { origin: new URL(baseUrl).origin });
  if (!(await servesClient(baseUrl))) {
    await context.route('**/switchboard.js', (route) => route.fulfill({
      status: 200,
      contentType: 'text/javascript',
      body: fs.readFileSync(clientJs, 'utf8'),
    }));
  }
  return context;
}

/**
 * The chat page's URL. `name` is the name to join under; empty (the
 * default) joins without one, and `null` leaves it out so that the page
 * asks. `ice: 'relay'` allows only TURN relays.
 */
export function chatUrl(baseUrl, { room, mode, name = '', ice } = {}) {
  const url = new URL(baseUrl);
  if (room) url.searchParams.set('room', room);
  if (mode) url.searchParams.set('mode', mode);
  if (name !== null) url.searchParams.set('name', name);
  if (ice) url.searchParams.set('ice', ice);
  return url.href;
}

/** Opens the chat page and waits for its login; returns { page, id }. */
export async function openChat(context, baseUrl, options = {}) {
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  await page.goto(chatUrl(baseUrl, options));
  const id = await waitForLogin(page);
  return { page, id };
}

/**
 * Opens one chat page per entry of `pages` (openChat's options), one after
 * the other, and waits for their full mesh; returns the chats in that order.
 */
export async function openMesh(context, baseUrl, pages) {
  const chats = [];
  for (const options of pages) chats.push(await openChat(context, baseUrl, options));
  await waitMesh(chats);
  return chats;
}

export async function waitForLogin(page, timeout = 15000) {
  await page.waitForFunction(() => document.querySelector('#me')?.dataset.userId, null, { timeout });
  return Number(await page.getAttribute('#me', 'data-user-id'));
}

/** The users list of a page: [{ id, state }]. */
export function usersOf(page) {
  return page.$$eval('#users li', (items) => items.map((li) => ({ id: Number(li.dataset.peerId), state: li.dataset.state })));
}

/** Waits until page lists exactly `ids`, all connected. */
export async function waitConnectedTo(page, ids, timeout = 20000) {
  const want = [...ids].sort((a, b) => a - b).join(',');
  try {
    await page.waitForFunction((w) => {
      const items = [...document.querySelectorAll('#users li')];
      const got = items.map((li) => Number(li.dataset.peerId)).sort((a, b) => a - b).join(',');
      return got === w && items.every((li) => li.dataset.state === 'connected');
    }, want, { timeout, polling: 100 });
  } catch (err) {
    throw new Error(`page never listed [${want}] as connected; it lists ${JSON.stringify(await usersOf(page))}: ${err.message}`);
  }
}

/** Waits for a full mesh among chats ([{ page, id }]). */
export async function waitMesh(chats, timeout = 20000) {
  await Promise.all(chats.map((c) => waitConnectedTo(c.page, chats.filter((o) => o !== c).map((o) => o.id), timeout)));
}

export async function say(page, text) {
  await page.fill('#input', text);
  await page.click('#send');
}

/** The chat lines of a page: [{ from, text, self }]. */
export function linesOf(page) {
  return page.$$eval('#log .line', (items) => items.map((li) => ({
    from: Number(li.dataset.from),
    text: li.querySelector('.text').textContent,
    self: li.classList.contains('self'),
  })));
}

/** Waits until every { from, text } of `expected` is among the page's lines. */
export async function waitLines(page, expected, timeout = 15000) {
  const want = expected.map(({ from, text }) => `${from}\u0000${text}`);
  try {
    await page.waitForFunction((w) => {
      const have = new Set([...document.querySelectorAll('#log .line')].map(
        (li) => `${li.dataset.from}\u0000${li.querySelector('.text').textContent}`));
      return w.every((x) => have.has(x));
    }, want, { timeout, polling: 100 });
  } catch (err) {
    const have = await linesOf(page);
    const missing = expected.filter(({ from, text }) => !have.some((l) => l.from === from && l.text === text));
    throw new Error(`missing lines ${JSON.stringify(missing)}: ${err.message}`);
  }
}

export async function screenshot(page, name) {
  fs.mkdirSync(artifacts, { recursive: true });
  const file = path.join(artifacts, name);
  await page.screenshot({ path: file });
  return file;
}

/** Resolves when `predicate()` is truthy, polling; rejects after `timeout`. */
export async function until(predicate, { timeout = 10000, interval = 100, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}
