// The multi-user chat page: every line goes peer to peer over WebRTC data
// channels; the server only introduces the peers.
//
// Page URL parameters: ?room=<name> joins /room/<name> (else the default
// room), ?mode=seed uses non-trickle signalling as the seed chat did,
// ?name=<name> joins under that name without asking (empty: without a name),
// ?ice=relay allows only TURN relays (to try the server's TURN settings).
// Without ?name= the page asks for a name, and remembers it.

import { Switchboard, roomUrl } from './switchboard.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const room = params.get('room') || '';
const seedMode = params.get('mode') === 'seed';
const relayOnly = params.get('ice') === 'relay';
const NAME_KEY = 'switchboard-chat-name';

const STATUS_TEXT = {
  idle: 'starting',
  connecting: 'connecting…',
  online: 'online',
  reconnecting: 'reconnecting…',
  closed: 'offline',
};
const PEER_TEXT = {
  waiting: 'waiting for offer',
  connecting: 'connecting',
  connected: 'connected',
  failed: 'failed',
};

$('room').textContent = room ? `#${room}` : 'default room';
$('mode').textContent = seedMode ? 'Signalling: full descriptions (seed mode)' : 'Signalling: trickle ICE';
document.title = room ? `#${room} · Switchboard chat` : 'Switchboard chat';

let sb;

/** The name to show for a user: its profile's name, else "User <id>". */
function displayName(id) {
  return (sb && sb.nameOf(id)) || `User ${id}`;
}

// ---- status and banner ----------------------------------------------------

let bannerTimer = null;

function showBanner(text, kind) {
  const banner = $('banner');
  clearTimeout(bannerTimer);
  banner.textContent = text;
  banner.dataset.kind = kind;
  banner.hidden = false;
  if (kind === 'error') bannerTimer = setTimeout(hideBanner, 6000);
}

function hideBanner() {
  clearTimeout(bannerTimer);
  $('banner').hidden = true;
  delete $('banner').dataset.kind;
}

// ---- people -----------------------------------------------------------------

function renderUsers() {
  const list = $('users');
  const peers = sb.peers;
  const items = peers.map(({ peerId, state }) => {
    const li = document.createElement('li');
    li.dataset.peerId = String(peerId);
    li.dataset.state = state;
    const dot = document.createElement('span');
    dot.className = 'dot';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = displayName(peerId);
    name.title = `User ${peerId}`;
    const label = document.createElement('span');
    label.className = 'state';
    label.textContent = PEER_TEXT[state] || state;
    li.append(dot, name, label);
    return li;
  });
  list.replaceChildren(...items);
  const connected = peers.filter((p) => p.state === 'connected').length;
  $('count').textContent = String(connected);
  $('alone').hidden = peers.length > 0 || sb.state !== 'online';
  // Lines go peer to peer: while the server is away, connected peers still get them.
  const canSend = sb.state === 'online' || connected > 0;
  $('input').disabled = !canSend;
  $('send').disabled = !canSend;
}

/** What the page does with the client's events. */
function listen() {
  sb.on('state', ({ state, previous }) => {
    const status = $('status');
    status.dataset.state = state;
    status.textContent = STATUS_TEXT[state] || state;
    if (state === 'reconnecting') {
      if (previous === 'online') notice('Lost the connection to the server.');
      if (sb.userId !== null) {
        // Resuming: the same ID, and the peers stay connected meanwhile.
        showBanner('Lost the connection to the server. Resuming… (chat goes on peer to peer)', 'reconnecting');
      } else {
        showBanner('Lost the connection to the server. Reconnecting…', 'reconnecting');
        $('me').textContent = '…';
        $('me').dataset.userId = '';
      }
    } else if (state === 'closed') {
      showBanner('Disconnected from the server.', 'closed');
    } else if (state === 'online' && $('banner').dataset.kind !== 'error') {
      hideBanner();
    }
    renderUsers();
  });

  sb.on('error', ({ code, message, source }) => {
    console.warn(`switchboard ${source} error ${code}: ${message}`);
    // A peer that fails is shown in the user list; the banner is for the rest.
    if (code === 'peer-failed') return;
    // A message to a user who left a moment ago is a harmless race.
    if (code === 'unknown-recipient') return;
    if (code === 'resume-failed') {
      notice(`Could not resume the previous session: ${message}.`);
      return;
    }
    showBanner(`Server error (${code}): ${message}`, 'error');
  });

  sb.on('login', ({ userId, resumed }) => {
    $('me').textContent = displayName(userId);
    $('me').dataset.userId = String(userId);
    if (resumed) {
      notice('Back online: the session was resumed.');
    } else if (sb.options.name && sb.nameOf(userId) === null) {
      notice(`You joined as User ${userId}: this server does not take names.`);
    } else {
      notice(`You joined as ${displayName(userId)}.`);
    }
    renderUsers();
  });
  sb.on('user-joined', ({ userId }) => notice(`${displayName(userId)} joined.`));
  sb.on('peer', renderUsers);
  sb.on('peer-connected', ({ peerId }) => notice(`${displayName(peerId)} is connected.`));
  sb.on('peer-left', ({ peerId, reason }) => {
    if (reason === 'left') notice(`${displayName(peerId)} left.`);
    renderUsers();
  });
  sb.on('message', ({ from, data }) => {
    const text = typeof data === 'string' ? data : data && typeof data.text === 'string' ? data.text : null;
    if (text !== null) line(from, text, false);
  });
}

// ---- conversation -------------------------------------------------------------

function appendToLog(node) {
  const log = $('log');
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(node);
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function notice(text) {
  const li = document.createElement('li');
  li.className = 'notice';
  li.textContent = text;
  appendToLog(li);
}

function line(from, text, self) {
  const li = document.createElement('li');
  li.className = self ? 'line self' : 'line';
  li.dataset.from = String(from);
  const author = document.createElement('span');
  author.className = 'author';
  author.textContent = self ? `You (${displayName(from)})` : displayName(from);
  author.title = `User ${from}`;
  const body = document.createElement('span');
  body.className = 'text';
  body.textContent = text;
  const time = document.createElement('time');
  const now = new Date();
  time.dateTime = now.toISOString();
  time.textContent = now.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  li.append(author, time, body);
  appendToLog(li);
}

$('compose').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('input');
  const text = input.value.trim();
  if (!text || !sb || $('send').disabled) return;
  sb.send(text);
  line(sb.userId, text, true);
  input.value = '';
  input.focus();
});

// ---- joining ------------------------------------------------------------------

function join(name) {
  try {
    sb = new Switchboard(roomUrl(room), {
      trickle: !seedMode,
      name: name || null,
      rtcConfiguration: relayOnly ? { iceTransportPolicy: 'relay' } : {},
    });
  } catch (err) {
    showBanner(err.message, 'error');
    throw err;
  }
  // Exposed for debugging from the console and for the end-to-end tests.
  window.switchboard = sb;
  listen();
  sb.connect();
}

function askName() {
  const form = $('ask-name');
  const input = $('name-input');
  input.value = localStorage.getItem(NAME_KEY) || '';
  form.hidden = false;
  input.focus();
  const done = (name) => {
    form.hidden = true;
    if (name) localStorage.setItem(NAME_KEY, name);
    join(name);
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    done(input.value.trim());
  }, { once: true });
  $('no-name').addEventListener('click', () => done(''), { once: true });
}

if (params.has('name')) {
  join(params.get('name').trim());
} else {
  askName();
}
