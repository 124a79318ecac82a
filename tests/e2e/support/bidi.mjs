// A small WebDriver BiDi client for driving Debian's Firefox (firefox-esr),
// which Playwright cannot drive (it needs its own patched Firefox build).
//
// Firefox speaks BiDi natively: started with --remote-debugging-port=0 it
// prints "WebDriver BiDi listening on ws://127.0.0.1:PORT" on stderr, and a
// WebSocket to ws://127.0.0.1:PORT/session is a BiDi session endpoint.
//
//   const firefox = await launchFirefox({ prefs: { ... } });
//   const tab = await firefox.newTab();
//   await tab.navigate('http://127.0.0.1:8080/');
//   const title = await tab.call(() => document.title);
//   await tab.screenshot('shot.png');
//   await firefox.close();
//
// Only what the tests need: sessions, browsing contexts, script evaluation
// with JSON-like arguments and results, screenshots and console logging.

import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';

/** Prefs that keep a test profile from talking to the outside world or showing first-run UI. */
export const QUIET_PREFS = {
  'app.normandy.enabled': false,
  'app.shield.optoutstudies.enabled': false,
  'app.update.auto': false,
  'app.update.checkInstallTime': false,
  'app.update.disabledForTesting': true,
  'app.update.enabled': false,
  'browser.aboutwelcome.enabled': false,
  'browser.backup.enabled': false,
  'browser.backup.scheduled.enabled': false,
  'browser.discovery.enabled': false,
  'browser.newtabpage.enabled': false,
  'browser.newtabpage.activity-stream.feeds.system.topstories': false,
  'browser.newtabpage.activity-stream.feeds.telemetry': false,
  'browser.newtabpage.activity-stream.telemetry': false,
  'browser.ping-centre.telemetry': false,
  'browser.region.network.url': '',
  'browser.region.update.enabled': false,
  'browser.safebrowsing.blockedURIs.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'browser.safebrowsing.downloads.remote.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.provider.mozilla.updateURL': '',
  'browser.safebrowsing.provider.google4.updateURL': '',
  'browser.search.update': false,
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.startup.page': 0,
  'browser.tabs.warnOnClose': false,
  'browser.topsites.contile.enabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.usage.uploadEnabled': false,
  'extensions.getAddons.cache.enabled': false,
  'extensions.update.enabled': false,
  'extensions.systemAddon.update.enabled': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'network.proxy.type': 0,
  'nimbus.telemetry.targetingContextEnabled': false,
  'services.settings.server': 'http://127.0.0.1:9/remote-settings-disabled',
  'startup.homepage_welcome_url': '',
  'startup.homepage_welcome_url.additional': '',
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.server': '',
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.archive.enabled': false,
};

function userJs(prefs) {
  return Object.entries(prefs).map(([name, value]) => `user_pref(${JSON.stringify(name)}, ${JSON.stringify(value)});\n`).join('');
}

// ---- values across the wire -----------------------------------------------

/** A JSON-like JS value as a BiDi LocalValue. */
export function toLocalValue(value) {
  if (value === undefined) return { type: 'undefined' };
  if (value === null) return { type: 'null' };
  switch (typeof value) {
    case 'string': return { type: 'string', value };
    case 'boolean': return { type: 'boolean', value };
    case 'bigint': return { type: 'bigint', value: value.toString() };
    case 'number':
      if (Number.isNaN(value)) return { type: 'number', value: 'NaN' };
      if (Object.is(value, -0)) return { type: 'number', value: '-0' };
      if (value === Infinity) return { type: 'number', value: 'Infinity' };
      if (value === -Infinity) return { type: 'number', value: '-Infinity' };
      return { type: 'number', value };
    default: break;
  }
  if (Array.isArray(value)) return { type: 'array', value: value.map(toLocalValue) };
  if (value instanceof Date) return { type: 'date', value: value.toISOString() };
  if (typeof value === 'object') {
    return { type: 'object', value: Object.entries(value).map(([k, v]) => [k, toLocalValue(v)]) };
  }
  throw new TypeError(`cannot pass a ${typeof value} to the page`);
}

/** A BiDi RemoteValue as a plain JS value (nodes, windows etc. stay descriptors). */
export function fromRemoteValue(remote) {
  switch (remote.type) {
    case 'undefined': return undefined;
    case 'null': return null;
    case 'string':
    case 'boolean':
      return remote.value;
    case 'number':
      if (typeof remote.value === 'number') return remote.value;
      return { NaN, '-0': -0, Infinity, '-Infinity': -Infinity }[remote.value];
    case 'bigint': return BigInt(remote.value);
    case 'date': return new Date(remote.value);
    case 'array':
    case 'set':
      return (remote.value || []).map(fromRemoteValue);
    case 'object': {
      const out = {};
      for (const [k, v] of remote.value || []) out[typeof k === 'string' ? k : String(fromRemoteValue(k))] = fromRemoteValue(v);
      return out;
    }
    case 'map':
      return new Map((remote.value || []).map(([k, v]) => [typeof k === 'string' ? k : fromRemoteValue(k), fromRemoteValue(v)]));
    default:
      return { type: remote.type, handle: remote.handle, sharedId: remote.sharedId };
  }
}

// ---- the protocol -----------------------------------------------------------

export class BidiError extends Error {
  constructor(method, error, message) {
    super(`${method}: ${error}: ${message}`);
    this.error = error;
  }
}

/** One BiDi WebSocket connection: commands with replies, and events. */
export class BidiConnection extends EventEmitter {
  constructor(ws) {
    super();
    this.ws = ws;
    this.nextId = 1;
    this.pending = new Map(); // id -> { resolve, reject, method, timer }
    ws.on('message', (data) => this._onMessage(String(data)));
    ws.on('close', () => this._failAll(new Error('BiDi connection closed')));
    ws.on('error', (err) => this._failAll(err));
  }

  static connect(url, timeout = 15000) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
      const timer = setTimeout(() => { ws.terminate(); reject(new Error(`no BiDi connection to ${url} within ${timeout} ms`)); }, timeout);
      ws.once('open', () => { clearTimeout(timer); resolve(new BidiConnection(ws)); });
      ws.once('error', (err) => { clearTimeout(timer); reject(err); });
    });
  }

  /** Sends a command; resolves to its result, rejects on an error reply or after `timeout` ms. */
  send(method, params = {}, timeout = 30000) {
    if (this.ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error(`${method}: BiDi connection is not open`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no reply within ${timeout} ms`));
      }, timeout);
      this.pending.set(id, { resolve, reject, method, timer });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  _onMessage(text) {
    let msg;
    try { msg = JSON.parse(text); } catch { return; }
    if (msg.type === 'event') {
      this.emit('event', msg);
      this.emit(msg.method, msg.params);
      return;
    }
    const waiter = this.pending.get(msg.id);
    if (!waiter) {
      if (msg.type === 'error') this.emit('protocol-error', msg);
      return;
    }
    this.pending.delete(msg.id);
    clearTimeout(waiter.timer);
    if (msg.type === 'success') waiter.resolve(msg.result);
    else waiter.reject(new BidiError(waiter.method, msg.error, msg.message));
  }

  _failAll(err) {
    for (const [id, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`${waiter.method}: ${err.message}`));
      this.pending.delete(id);
    }
  }

  close() {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      const timer = setTimeout(() => { this.ws.terminate(); resolve(); }, 2000);
      this.ws.once('close', () => { clearTimeout(timer); resolve(); });
      this.ws.close();
    });
  }
}

// ---- tabs -----------------------------------------------------------------

/** One top-level browsing context (a tab). */
export class Tab {
  constructor(bidi, context) {
    this.bidi = bidi;
    this.context = context;
  }

  async navigate(url, { wait = 'complete', timeout = 30000 } = {}) {
    await this.bidi.send('browsingContext.navigate', { context: this.context, url, wait }, timeout);
  }

  async setViewport(width, height) {
    await this.bidi.send('browsingContext.setViewport', { context: this.context, viewport: { width, height } });
  }

  _result(reply, what) {
    if (reply.type === 'exception') {
      const d = reply.exceptionDetails || {};
      const frame = d.stackTrace?.callFrames?.[0];
      const where = frame ? ` (${frame.url}:${frame.lineNumber + 1})` : '';
      throw new Error(`${what} threw in the page: ${d.text || 'exception'}${where}`);
    }
    return fromRemoteValue(reply.result);
  }

  /** Evaluates an expression in the page (promises awaited); resolves to its value. */
  async evaluate(expression, { timeout = 30000 } = {}) {
    const reply = await this.bidi.send('script.evaluate', {
      expression,
      target: { context: this.context },
      awaitPromise: true,
      resultOwnership: 'none',
      serializationOptions: { maxObjectDepth: 32, maxDomDepth: 0 },
    }, timeout);
    return this._result(reply, 'script.evaluate');
  }

  /**
   * Calls `fn` (a function or its source) in the page with JSON-like `args`
   * (promises awaited); resolves to its JSON-like result.
   */
  async call(fn, ...args) {
    return this.callWithTimeout(30000, fn, ...args);
  }

  async callWithTimeout(timeout, fn, ...args) {
    const reply = await this.bidi.send('script.callFunction', {
      functionDeclaration: String(fn),
      arguments: args.map(toLocalValue),
      target: { context: this.context },
      awaitPromise: true,
      resultOwnership: 'none',
      serializationOptions: { maxObjectDepth: 32, maxDomDepth: 0 },
    }, timeout);
    return this._result(reply, 'script.callFunction');
  }

  /**
   * Polls `fn(...args)` in the page until it returns something truthy;
   * resolves to that. Rejects after `timeout` ms with `describe()`'s text if
   * given. Errors thrown while the page navigates are retried.
   */
  async waitFor(fn, args = [], { timeout = 15000, interval = 100, what = 'condition' } = {}) {
    const end = Date.now() + timeout;
    let lastError = null;
    for (;;) {
      try {
        const value = await this.callWithTimeout(Math.max(1000, end - Date.now()), fn, ...args);
        if (value) return value;
        lastError = null;
      } catch (err) {
        lastError = err;
      }
      if (Date.now() > end) {
        throw new Error(`timed out after ${timeout} ms waiting for ${what} in Firefox${lastError ? ` (last error: ${lastError.message})` : ''}`);
      }
      await new Promise((r) => setTimeout(r, interval));
    }
  }

  /** A PNG of the viewport, as a Buffer; also written to `file` if given. */
  async screenshot(file) {
    const { data } = await this.bidi.send('browsingContext.captureScreenshot', { context: this.context, origin: 'viewport' });
    const png = Buffer.from(data, 'base64');
    if (file) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, png);
    }
    return png;
  }

  async close() {
    await this.bidi.send('browsingContext.close', { context: this.context }, 10000).catch(() => {});
  }
}

// ---- the browser ------------------------------------------------------------

/**
 * A running Firefox with a fresh profile and one BiDi session. Always call
 * close(): it ends the session, stops the process (its content processes
 * follow it) and removes the profile.
 */
export class Firefox {
  constructor(child, profile, bidi, stderrTail) {
    this.child = child;
    this.profile = profile;
    this.bidi = bidi;
    this.stderrTail = stderrTail;
    this.firstContext = null;
    this._closed = null;
  }

  /**
   * A new tab, in front. (The window's first tab, firstContext, is left
   * alone: closing the last tab would close the window and quit Firefox.)
   */
  async newTab({ width = 1280, height = 800 } = {}) {
    const { context } = await this.bidi.send('browsingContext.create', { type: 'tab' });
    const tab = new Tab(this.bidi, context);
    await tab.setViewport(width, height);
    return tab;
  }

  /** Calls `listener({ level, text, source })` for each console message and uncaught error of any page. */
  async onConsole(listener) {
    this.bidi.on('log.entryAdded', (entry) => {
      listener({ level: entry.level, text: entry.text, type: entry.type, context: entry.source?.context });
    });
    await this.bidi.send('session.subscribe', { events: ['log.entryAdded'] });
  }

  get exited() {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  close() {
    if (!this._closed) this._closed = this._close();
    return this._closed;
  }

  async _close() {
    const exited = new Promise((resolve) => {
      if (this.exited) resolve();
      else this.child.once('exit', () => resolve());
    });
    if (!this.exited) {
      // Polite first: browser.close ends the session and quits Firefox.
      await this.bidi.send('browser.close', {}, 5000).catch(() => {});
    }
    await this.bidi.close();
    const gone = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
    if (!gone) {
      kill(this.child, 'SIGTERM');
      const termed = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 3000))]);
      if (!termed) {
        kill(this.child, 'SIGKILL');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      }
    }
    running.delete(this.child);
    fs.rmSync(this.profile, { recursive: true, force: true });
  }
}

// Firefoxes still running when node exits (a test that threw past its
// cleanup): stop them rather than leave them behind.
const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try { child.kill('SIGKILL'); } catch { /* gone */ }
  }
});

function kill(child, signal) {
  try { child.kill(signal); } catch { /* gone */ }
}

/**
 * Starts Firefox headless with a fresh profile whose user.js holds
 * QUIET_PREFS and `prefs`, connects to its BiDi endpoint and opens a session.
 */
export async function launchFirefox({
  executable = process.env.SB_FIREFOX || '/usr/bin/firefox-esr',
  prefs = {},
  permissions = [], // [{ origin, type }] granted from the start, e.g. { origin: 'http://127.0.0.1:8080', type: 'camera' }
  args = [],
  timeout = 60000,
  log = null, // (line) => void for Firefox's stderr
} = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-firefox-'));
  const allPrefs = { ...QUIET_PREFS, ...prefs };
  if (permissions.length > 0) {
    // The permission manager's defaults file (normally resource://app/defaults/permissions):
    // "matchtype TAB type TAB permission TAB origin", 1 meaning allow.
    const file = path.join(profile, 'default-permissions');
    fs.writeFileSync(file, permissions.map(({ origin, type }) => `origin\t${type}\t1\t${new URL(origin).origin}\n`).join(''));
    allPrefs['permissions.manager.defaultsUrl'] = pathToFileURL(file).href;
  }
  fs.writeFileSync(path.join(profile, 'user.js'), userJs(allPrefs));

  const child = spawn(executable, [
    '--headless', '--no-remote', '--new-instance',
    '--remote-debugging-port=0', '--profile', profile, ...args, 'about:blank',
  ], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: '1', MOZ_HEADLESS: '1' },
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const stderrTail = [];
  const lines = readline.createInterface({ input: child.stderr });

  let firefox = null;
  let earlyExit = null;
  try {
    const endpoint = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Firefox printed no BiDi endpoint within ${timeout} ms`)), timeout);
      child.once('error', (err) => { clearTimeout(timer); reject(err); });
      earlyExit = (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`Firefox exited early (code ${code}, signal ${signal}): ${stderrTail.join('\n')}`));
      };
      child.once('exit', earlyExit);
      lines.on('line', (line) => {
        stderrTail.push(line);
        if (stderrTail.length > 200) stderrTail.shift();
        if (log) log(line);
        const m = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(line);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      });
    });
    child.off('exit', earlyExit);
    const bidi = await BidiConnection.connect(new URL('/session', endpoint).href, timeout);
    firefox = new Firefox(child, profile, bidi, stderrTail);
    await bidi.send('session.new', { capabilities: { alwaysMatch: { acceptInsecureCerts: true, unhandledPromptBehavior: { default: 'dismiss' } } } }, timeout);
    const { contexts } = await bidi.send('browsingContext.getTree', { maxDepth: 0 });
    firefox.firstContext = contexts[0]?.context ?? null;
    return firefox;
  } catch (err) {
    if (firefox) await firefox.close().catch(() => {});
    else {
      kill(child, 'SIGKILL');
      fs.rmSync(profile, { recursive: true, force: true });
    }
    throw err;
  }
}
