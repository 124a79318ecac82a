// The chat page in Firefox: a Firefox page (Debian's firefox-esr, driven over
// WebDriver BiDi by support/bidi.mjs) and two Chromium pages in one room form
// a full mesh, and lines typed in every page reach every other page, in
// trickle and in seed mode. Saves artifacts/firefox.png.
//
// Firefox on a loopback-only host gathers ICE candidates only when both hold:
//   - media.peerconnection.ice.loopback is true (loopback addresses are
//     dropped from gathering otherwise);
//   - the page has camera or microphone permission (or an active capture).
//     Without it Firefox gathers on the "default address" only, the one of
//     the interface with the default route, and in run.sh's namespace there
//     is no route but lo: the page gets no candidate at all and ICE fails.
//     BiDi's permissions.setPermission does not take "camera" in Firefox 153,
//     so the profile's permission defaults file grants it (support/bidi.mjs).
// With the permission, host addresses are not hidden behind mDNS names
// either, so Chromium (which cannot resolve them here) gets 127.0.0.1.
// Checked on 153 ESR: obfuscate_host_addresses, link_local, default_address_only,
// no_host and media.navigator.permission.disabled change nothing here.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  artifacts, chatUrl, launchBrowser, newContext, openChat, say, sharedServerUrl, waitConnectedTo, waitLines, linesOf,
} from '../support/harness.mjs';
import { launchFirefox } from '../support/bidi.mjs';

const FIREFOX = process.env.SB_FIREFOX || '/usr/bin/firefox-esr';

const FIREFOX_PREFS = {
  'media.peerconnection.ice.loopback': true,
};

let base;
let chromium;
let firefox;

before(async () => {
  base = sharedServerUrl();
  assert.ok(fs.existsSync(FIREFOX), `${FIREFOX} is missing (run.sh installs firefox-esr)`);
  chromium = await launchBrowser();
  firefox = await launchFirefox({
    executable: FIREFOX,
    prefs: FIREFOX_PREFS,
    permissions: [{ origin: base, type: 'camera' }, { origin: base, type: 'microphone' }],
  });
  await firefox.onConsole(({ level, text }) => {
    if (level === 'error' || level === 'warn') console.error(`[firefox ${level}] ${text}`);
  });
});

after(async () => {
  await Promise.allSettled([firefox?.close(), chromium?.close()]);
});

function randomRoom(mode) {
  return `ff-${mode}-${crypto.randomBytes(6).toString('hex')}`;
}

// ---- the chat page in Firefox, through BiDi ---------------------------------

async function ffOpenChat(tab, options) {
  await tab.navigate(chatUrl(base, options));
  const id = await tab.waitFor(() => Number(document.querySelector('#me')?.dataset.userId) || 0, [],
    { timeout: 15000, what: 'the login (#me[data-user-id])' });
  return id;
}

function ffUsers(tab) {
  return tab.call(() => [...document.querySelectorAll('#users li')].map((li) => ({ id: Number(li.dataset.peerId), state: li.dataset.state })));
}

function ffLines(tab) {
  return tab.call(() => [...document.querySelectorAll('#log .line')].map((li) => ({
    from: Number(li.dataset.from),
    text: li.querySelector('.text').textContent,
    self: li.classList.contains('self'),
  })));
}

/** What Firefox's connections look like from getStats(): for a failure message. */
function ffWebRtcReport(tab) {
  return tab.call(async () => {
    const sb = window.switchboard;
    const out = [];
    for (const [id, peer] of sb._peers || []) {
      const pc = peer.pc;
      const stats = [];
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'local-candidate' || s.type === 'remote-candidate') {
          stats.push(`${s.type} ${s.protocol} ${s.address}:${s.port} ${s.candidateType}`);
        } else if (s.type === 'candidate-pair') {
          stats.push(`pair ${s.localCandidateId}->${s.remoteCandidateId} ${s.state}${s.nominated ? ' nominated' : ''}`);
        }
      });
      out.push({
        peer: id,
        state: peer.state,
        connection: pc.connectionState,
        ice: pc.iceConnectionState,
        gathering: pc.iceGatheringState,
        channel: peer.channel?.readyState,
        stats,
      });
    }
    return out;
  }).catch((err) => `getStats failed: ${err.message}`);
}

/**
 * What ICE candidates a fresh RTCPeerConnection in the Firefox page gathers
 * (within 5 s): with none, no peer can ever connect, whatever the signalling.
 */
function ffIceProbe(tab) {
  return tab.call(async () => {
    const pc = new RTCPeerConnection();
    const candidates = [];
    pc.createDataChannel('probe');
    const done = new Promise((resolve) => {
      pc.onicecandidate = (e) => { if (e.candidate?.candidate) candidates.push(e.candidate.candidate); else if (!e.candidate) resolve(); };
      setTimeout(resolve, 5000);
    });
    await pc.setLocalDescription(await pc.createOffer());
    await done;
    const gathering = pc.iceGatheringState;
    pc.close();
    return { gathering, candidates };
  }).catch((err) => `probe failed: ${err.message}`);
}

async function ffWaitConnectedTo(tab, ids, timeout = 20000) {
  const want = [...ids].sort((a, b) => a - b).join(',');
  try {
    await tab.waitFor((w) => {
      const items = [...document.querySelectorAll('#users li[data-peer-id][data-state]')];
      const got = items.map((li) => Number(li.dataset.peerId)).sort((a, b) => a - b).join(',');
      return got === w && items.every((li) => li.dataset.state === 'connected');
    }, [want], { timeout, what: `[${want}] connected` });
  } catch (err) {
    throw new Error(`Firefox never listed [${want}] as connected; it lists ${JSON.stringify(await ffUsers(tab).catch(() => '?'))}; `
      + `its connections: ${JSON.stringify(await ffWebRtcReport(tab), null, 1)}; `
      + `a fresh RTCPeerConnection there gathers ${JSON.stringify(await ffIceProbe(tab))}: ${err.message}`);
  }
}

/** Types `text` into the page's input and clicks Send, as a user would. */
async function ffSay(tab, text) {
  await tab.waitFor(() => !document.querySelector('#input').disabled && !document.querySelector('#send').disabled, [],
    { timeout: 10000, what: 'the input to be enabled' });
  await tab.call((t) => {
    const input = document.querySelector('#input');
    input.focus();
    input.value = t;
    input.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertText', data: t }));
    document.querySelector('#send').click();
  }, text);
}

async function ffWaitLines(tab, expected, timeout = 15000) {
  const want = expected.map(({ from, text }) => `${from}\u0000${text}`);
  try {
    await tab.waitFor((w) => {
      const have = new Set([...document.querySelectorAll('#log .line')].map(
        (li) => `${li.dataset.from}\u0000${li.querySelector('.text').textContent}`));
      return w.every((x) => have.has(x));
    }, [want], { timeout, what: `${want.length} lines` });
  } catch (err) {
    const have = await ffLines(tab).catch(() => []);
    const missing = expected.filter(({ from, text }) => !have.some((l) => l.from === from && l.text === text));
    throw new Error(`Firefox misses lines ${JSON.stringify(missing)}: ${err.message}`);
  }
}

// ---- one room: Chromium, Firefox, Chromium --------------------------------------

/**
 * Opens Chromium page A, then the Firefox page (it offers to A), then
 * Chromium page B (it offers to A and to Firefox), so Firefox is offerer
 * and answerer once each. Waits for the full mesh, then every page says a
 * line per round and every line shows once in every page.
 */
async function mixedRoom(mode, { rounds = 2, shot = null } = {}) {
  const room = randomRoom(mode);
  const options = { room, mode: mode === 'seed' ? 'seed' : undefined };
  const context = await newContext(chromium, base);
  const tab = await firefox.newTab();
  try {
    const a = await openChat(context, base, options);
    const ffId = await ffOpenChat(tab, options);
    const b = await openChat(context, base, options);
    const ids = [a.id, ffId, b.id];
    assert.equal(new Set(ids).size, 3, `three distinct user IDs: ${ids}`);

    const mesh = await Promise.allSettled([
      waitConnectedTo(a.page, [ffId, b.id]),
      ffWaitConnectedTo(tab, [a.id, b.id]),
      waitConnectedTo(b.page, [a.id, ffId]),
    ]);
    const failed = mesh.map((r, i) => r.status === 'rejected' && `${['Chromium A', 'Firefox', 'Chromium B'][i]}: ${r.reason.message}`).filter(Boolean);
    if (failed.length > 0) {
      if (mesh[1].status === 'fulfilled') failed.push(`Firefox's connections: ${JSON.stringify(await ffWebRtcReport(tab), null, 1)}`);
      throw new Error(`no full mesh (users A ${a.id}, Firefox ${ffId}, B ${b.id}):\n${failed.join('\n')}`);
    }

    const expected = [];
    for (let round = 1; round <= rounds; round++) {
      const lines = [
        { from: a.id, text: `${mode} ${round}: hello from Chromium A ✓` },
        { from: ffId, text: `${mode} ${round}: hello from Firefox 🦊` },
        { from: b.id, text: `${mode} ${round}: hello from Chromium B <b>not bold</b>` },
      ];
      await say(a.page, lines[0].text);
      await ffSay(tab, lines[1].text);
      await say(b.page, lines[2].text);
      expected.push(...lines);
      await Promise.all([waitLines(a.page, expected), ffWaitLines(tab, expected), waitLines(b.page, expected)]);
    }

    // Each line exactly once everywhere, own lines marked as such.
    const pages = [
      { who: 'Chromium A', id: a.id, lines: await linesOf(a.page) },
      { who: 'Firefox', id: ffId, lines: await ffLines(tab) },
      { who: 'Chromium B', id: b.id, lines: await linesOf(b.page) },
    ];
    for (const { who, id, lines } of pages) {
      assert.equal(lines.length, expected.length, `${who} shows ${lines.length} lines, want ${expected.length}: ${JSON.stringify(lines)}`);
      for (const { from, text } of expected) {
        const found = lines.filter((l) => l.from === from && l.text === text);
        assert.equal(found.length, 1, `${who}: "${text}" shown ${found.length} times`);
        assert.equal(found[0].self, from === id, `${who}: "${text}" self flag`);
      }
    }
    // The page still lists the two others as connected after the chat.
    assert.deepEqual((await ffUsers(tab)).map((u) => u.state), ['connected', 'connected']);

    if (shot) {
      const file = path.join(artifacts, shot);
      const png = await tab.screenshot(file);
      assert.ok(png.length > 1000 && png.subarray(1, 4).toString() === 'PNG', 'the screenshot is a PNG');
    }
  } finally {
    await tab.close();
    await context.close();
  }
}

test('Firefox and two Chromium pages: full mesh and chat, trickle mode', { timeout: 120000 }, async () => {
  await mixedRoom('trickle', { rounds: 3, shot: 'firefox.png' });
});

test('Firefox and two Chromium pages: full mesh and chat, seed mode', { timeout: 120000 }, async () => {
  await mixedRoom('seed', { rounds: 2 });
});
