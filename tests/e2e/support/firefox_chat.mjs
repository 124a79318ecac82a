// The chat page in Firefox (Debian's firefox-esr, driven over WebDriver BiDi
// by bidi.mjs): a Firefox that can gather ICE candidates in run.sh's
// loopback-only namespace, and the chat page as a user sees it there, the
// counterpart of harness.mjs's Chromium helpers.
//
// Firefox on a loopback-only host gathers ICE candidates only when both hold:
//   - media.peerconnection.ice.loopback is true (loopback addresses are
//     dropped from gathering otherwise);
//   - the page has camera or microphone permission (or an active capture).
//     Without it Firefox gathers on the "default address" only, the one of
//     the interface with the default route, and in run.sh's namespace there
//     is no route but lo: the page gets no candidate at all and ICE fails.
//     BiDi's permissions.setPermission does not take "camera" in Firefox 153,
//     so the profile's permission defaults file grants it (bidi.mjs).
// With the permission, host addresses are not hidden behind mDNS names
// either, so Chromium (which cannot resolve them here) gets 127.0.0.1.
// Checked on 153 ESR: obfuscate_host_addresses, link_local, default_address_only,
// no_host and media.navigator.permission.disabled change nothing here.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { chatUrl } from './harness.mjs';
import { launchFirefox } from './bidi.mjs';

/** The Firefox executable: SB_FIREFOX, or Debian's firefox-esr. */
export const FIREFOX = process.env.SB_FIREFOX || '/usr/bin/firefox-esr';

/** What Firefox needs on top of bidi.mjs's QUIET_PREFS to gather loopback candidates. */
export const FIREFOX_PREFS = {
  'media.peerconnection.ice.loopback': true,
};

/**
 * Starts a Firefox for the chat page of the server at `base`: FIREFOX_PREFS,
 * camera and microphone granted to that origin, and its pages' console
 * errors and warnings on stderr. The caller closes it.
 */
export async function launchChatFirefox(base) {
  assert.ok(fs.existsSync(FIREFOX), `${FIREFOX} is missing (run.sh installs firefox-esr)`);
  const firefox = await launchFirefox({
    executable: FIREFOX,
    prefs: FIREFOX_PREFS,
    permissions: [{ origin: base, type: 'camera' }, { origin: base, type: 'microphone' }],
  });
  try {
    await firefox.onConsole(({ level, text }) => {
      if (level === 'error' || level === 'warn') console.error(`[firefox ${level}] ${text}`);
    });
  } catch (err) {
    await firefox.close();
    throw err;
  }
  return firefox;
}

/** Opens the chat page of `base` (chatUrl's options) in `tab` and waits for its login; resolves to its user ID. */
export async function ffOpenChat(tab, base, options) {
  await tab.navigate(chatUrl(base, options));
  const id = await tab.waitFor(() => Number(document.querySelector('#me')?.dataset.userId) || 0, [],
    { timeout: 15000, what: 'the login (#me[data-user-id])' });
  return id;
}

/** The users list of the page: [{ id, state }]. */
export function ffUsers(tab) {
  return tab.call(() => [...document.querySelectorAll('#users li')].map((li) => ({ id: Number(li.dataset.peerId), state: li.dataset.state })));
}

/** The chat lines of the page: [{ from, text, self }]. */
export function ffLines(tab) {
  return tab.call(() => [...document.querySelectorAll('#log .line')].map((li) => ({
    from: Number(li.dataset.from),
    text: li.querySelector('.text').textContent,
    self: li.classList.contains('self'),
  })));
}

/** What Firefox's connections look like from getStats(): for a failure message. */
export function ffWebRtcReport(tab) {
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
export function ffIceProbe(tab) {
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

/**
 * Waits until the page lists exactly `ids`, all connected; the failure says
 * what the page lists, its connections and what a fresh one gathers.
 */
export async function ffWaitConnectedTo(tab, ids, timeout = 20000) {
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
export async function ffSay(tab, text) {
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

/** Waits until every { from, text } of `expected` is among the page's lines. */
export async function ffWaitLines(tab, expected, timeout = 15000) {
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
