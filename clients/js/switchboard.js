/**
 * Switchboard browser client: joins a room of a Switchboard signalling server
 * and keeps a full mesh of WebRTC data channels with everybody in it.
 *
 * The server only introduces peers and relays their session descriptions
 * (docs/protocol.md); application messages travel peer to peer over data
 * channels and never through the server.
 *
 * **Example**
 *
 * ```js
 * import { Switchboard, roomUrl } from './switchboard.js';
 *
 * const sb = new Switchboard(roomUrl('lobby'));          // ws://<this host>/room/lobby
 * sb.on('login', ({ userId }) => console.log('I am', userId));
 * sb.on('message', ({ from, data }) => console.log(from, 'says', data));
 * sb.on('peer', ({ peerId, state }) => console.log(peerId, 'is', state));
 * sb.on('error', ({ code, message }) => console.warn(code, message));
 * sb.connect();
 * sb.send('hello everybody');   // any JSON value; queued per peer until its channel is ready
 * ```
 *
 * **Options** (second argument of the constructor, all optional)
 * - `trickle` (boolean, default `true`): send ICE candidates one by one with
 *   `peer-candidate`. `false` is the seed-compatible style: wait for ICE
 *   gathering to complete and send the full description in `peer-connect` /
 *   `peer-response`, never sending `peer-candidate`. Either style accepts
 *   what the other sends.
 * - `iceServers` (RTCIceServer[], default `null`): the STUN/TURN servers for
 *   peer connections. `null` uses the ones the server's `login` offers
 *   (`iceServers`, with TURN credentials made for this user), or none, as on
 *   a LAN, when it offers none. An array, even empty, is used instead.
 * - `rtcConfiguration` (RTCConfiguration, default `{}`): more settings for
 *   every RTCPeerConnection, e.g. `{ iceTransportPolicy: 'relay' }` to allow
 *   only TURN relays; its `iceServers` is replaced by the above.
 * - `name` (string, default `null`): the display name to ask for, sent as the
 *   `name` query parameter; the server uses it only if it allows client
 *   names, and a name from a token wins (see `profile`).
 * - `token` (string, default `null`): an access token, sent as the `token`
 *   query parameter.
 * - `reconnect` (boolean, default `true`): after the server connection drops,
 *   connect again with exponential backoff and rejoin the mesh.
 * - `resume` (boolean, default `true`): when the server connection breaks
 *   (ends without a close frame), come back with the resume token of the last `login`, keeping the same ID
 *   and every peer connection (chat goes on over the data channels
 *   meanwhile). Only if the server does not resume the session (`login`
 *   without `resumed`) are the peers dropped and the mesh built afresh.
 * - `resumeWindow` (ms, default 15000): how long to keep trying to resume
 *   (the server's window; `switchboard-server --resume-window`).
 * - `backoffMin`, `backoffMax` (ms, default 500 and 10000): reconnect delays.
 * - `gatherTimeout` (ms, default 5000): in non-trickle mode, the longest wait
 *   for ICE gathering before the description is sent as it is.
 * - `peerTimeout` (ms, default 20000): a peer that is not connected by then
 *   counts as failed.
 * - `peerRetries` (number, default 2): how many times the initiating side
 *   starts a failed peer connection again.
 * - `channelLabel` (string, default `'switchboard'`): label of the data channel.
 *
 * **Properties**
 * - `state`: `'idle'` (before `connect()`), `'connecting'`, `'online'`
 *   (logged in), `'reconnecting'` (dropped, waiting to try again), `'closed'`.
 * - `userId`: this client's ID in the room, or `null` before `login`. It
 *   stays while a resume is under way; a new login after a reconnect that
 *   did not resume gives a new ID.
 * - `profile`: this user's public profile as the server gave it (an object,
 *   `{}` before `login` or when it has none); `profile.name` is the name the
 *   others see.
 * - `iceServers`: the RTCIceServer array peer connections use now.
 * - `peers`: array of `{ peerId, state, profile }` for every other user of the room,
 *   ascending by ID. Peer states: `'waiting'` (in the room, its offer has not
 *   arrived yet), `'connecting'`, `'connected'` (channel ready both ways),
 *   `'failed'`.
 * - `url`, `options`.
 *
 * **Methods**
 * - `connect()`: open the server connection (idempotent).
 * - `send(data)`: send `data` (any JSON-serialisable value) to every peer;
 *   peers still connecting get it once their channel is ready. Returns the
 *   number of peers it was sent or queued to.
 * - `sendTo(peerId, data)`: the same for one peer; returns `false` if there
 *   is no such peer.
 * - `profileOf(userId)`: the public profile of a user of the room (`{}` if
 *   it has none or is unknown).
 * - `nameOf(userId)`: its profile's `name` when that is a non-empty string,
 *   else `null`.
 * - `peerConnection(peerId)`: the RTCPeerConnection to a peer (for
 *   `getStats()`, say), or `null`.
 * - `close()`: leave the room and close every peer connection for good.
 * - `on(type, listener)`: add a listener that receives the event's detail;
 *   returns a function that removes it. The object is also an `EventTarget`:
 *   `addEventListener(type, e => e.detail)` works too.
 *
 * **Events** (the listener of `on()` receives the detail object)
 * - `state` `{ state, previous }`: the server connection state changed.
 * - `login` `{ userId, users, profile, profiles, resumed }`: logged in to the
 *   room; `profiles` maps each ID of `users` to its profile. `resumed` is
 *   `true` when this login resumed the previous one: the same ID, peers kept
 *   (those no longer in `users` left meanwhile and get `peer-left`).
 * - `user-joined` `{ userId, profile }`, `user-left` `{ userId }`: the server's notices.
 * - `peer` `{ peerId, state }`: a peer's state changed (see `peers`).
 * - `peer-connected` `{ peerId }`: its data channel is ready both ways.
 * - `peer-left` `{ peerId, reason }`: the peer is gone (`'left'`, `'failed'`,
 *   `'disconnected'` when our own server connection dropped, `'closed'`).
 * - `message` `{ from, data }`: a peer sent `data`.
 * - `error` `{ code, message, request?, source }`: `source` `'server'` for the
 *   server's `error` messages (codes as in docs/protocol.md) and for
 *   `'removed'` (the server application closed us with 4000: the client
 *   does not reconnect, its state becomes `'closed'`), `'client'` for
 *   local ones: `'peer-failed'`, `'signalling-failed'`, `'bad-frame'`.
 *
 * **Data channel framing**: every frame is one JSON text, either
 * `{"type":"ready"}` or `{"type":"message","data":<JSON value>}`. Each side
 * sends `ready` when its channel opens and answers the first `ready` it
 * receives with another `ready`; a peer counts as connected only after its
 * `ready` arrived. Application messages wait until then. This guards against a
 * Chromium behaviour where a frame sent the moment the answering side's channel
 * reports open is lost because the offering side has not opened yet: the
 * answering side's first `ready` may be lost that way, but its answer to the
 * offering side's `ready` cannot be.
 *
 * @module switchboard
 */

const ROOM_NAME = /^[A-Za-z0-9._~-]{1,64}$/;

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

const DEFAULTS = Object.freeze({
  trickle: true,
  iceServers: null,
  rtcConfiguration: {},
  name: null,
  token: null,
  reconnect: true,
  resume: true,
  resumeWindow: 15000,
  backoffMin: 500,
  backoffMax: 10000,
  gatherTimeout: 5000,
  peerTimeout: 20000,
  peerRetries: 2,
  channelLabel: 'switchboard',
});

/**
 * The WebSocket URL of a room on the server this page came from (or on
 * `base`, an http(s) or ws(s) URL).
 * @param {string} [room] room name; empty or absent for the default room
 * @param {string|URL|Location} [base] defaults to `location`
 * @returns {string}
 */
export function roomUrl(room, base = globalThis.location) {
  const url = new URL(String(base));
  url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';
  if (room) {
    if (!ROOM_NAME.test(room)) {
      throw new RangeError(`invalid room name ${JSON.stringify(room)}: 1 to 64 of A-Z a-z 0-9 . _ ~ -`);
    }
    url.pathname = `/room/${room}`;
  } else {
    url.pathname = '/';
  }
  return url.href;
}

/** One RTCPeerConnection and its data channel to another user of the room. */
class Peer {
  constructor(id, initiator) {
    this.id = id;
    this.initiator = initiator;
    this.state = 'connecting';
    this.pc = null;
    this.channel = null;
    this.readySent = false;
    this.readyReceived = false;
    this.outbox = [];             // serialised app frames waiting for ready
    this.remoteCandidates = [];   // candidates that came before the remote description
    this.hasRemoteDescription = false;
    this.localCandidates = [];    // trickled before our description went out
    this.descriptionSent = false;
    this.timer = null;
  }
}

export class Switchboard extends EventTarget {
  /**
   * @param {string} url ws:// or wss:// URL of a room: `/` or `/room/<name>`
   * @param {object} [options] see the module documentation
   */
  constructor(url, options = {}) {
    super();
    this.url = String(url);
    this.options = { ...DEFAULTS, ...options };
    this.state = 'idle';
    this.userId = null;
    this.profile = {};
    this.iceServers = Array.isArray(this.options.iceServers) ? this.options.iceServers : [];
    this._profiles = new Map();     // id -> profile object, for the users of the room
    this._ws = null;
    this._peers = new Map();        // id -> Peer
    this._idle = new Map();         // id -> 'waiting' | 'failed': in the room, no Peer now
    this._earlyCandidates = new Map(); // id -> candidates that came before its peer-connect
    this._attempts = 0;             // consecutive failed server connections
    this._reconnectTimer = null;
    this._retries = new Map();      // id -> attempts used by the initiating side
    this._resumeToken = null;       // from the last login
    this._resuming = null;          // { token, until } while coming back after a break
  }

  // ---- public API -------------------------------------------------------

  connect() {
    if (this.state === 'idle' || this.state === 'closed') {
      this._attempts = 0;
      this._open();
    }
    return this;
  }

  close() {
    this._resumeToken = null;
    this._resuming = null;
    clearTimeout(this._reconnectTimer);
    this._reconnectTimer = null;
    this._dropAll('closed');
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(1000); } catch { /* already closed */ }
    }
    this.userId = null;
    this._setState('closed');
  }

  get peers() {
    const list = [...this._peers.values()].map((p) => ({ peerId: p.id, state: p.state, profile: this.profileOf(p.id) }));
    for (const [id, state] of this._idle) list.push({ peerId: id, state, profile: this.profileOf(id) });
    return list.sort((a, b) => a.peerId - b.peerId);
  }

  profileOf(userId) {
    if (userId === this.userId) return this.profile;
    return this._profiles.get(userId) || {};
  }

  peerConnection(peerId) {
    const peer = this._peers.get(peerId);
    return peer ? peer.pc : null;
  }

  nameOf(userId) {
    const name = this.profileOf(userId).name;
    return typeof name === 'string' && name !== '' ? name : null;
  }

  send(data) {
    const frame = JSON.stringify({ type: 'message', data });
    let n = 0;
    for (const peer of this._peers.values()) {
      if (this._deliver(peer, frame)) n++;
    }
    return n;
  }

  sendTo(peerId, data) {
    const peer = this._peers.get(peerId);
    if (!peer) return false;
    return this._deliver(peer, JSON.stringify({ type: 'message', data }));
  }

  on(type, listener) {
    const wrapped = (event) => listener(event.detail);
    this.addEventListener(type, wrapped);
    return () => this.removeEventListener(type, wrapped);
  }

  // ---- server connection ------------------------------------------------

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _setState(state) {
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    this._emit('state', { state, previous });
  }

  _open() {
    this._setState(this._attempts > 0 ? 'reconnecting' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(this._connectUrl());
    } catch (err) {
      this._emit('error', { code: 'signalling-failed', message: String(err && err.message || err), source: 'client' });
      this._scheduleReconnect();
      return;
    }
    this._ws = ws;
    ws.onmessage = (event) => {
      if (ws !== this._ws) return;
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return; // the protocol promises JSON; ignore anything else
      }
      if (msg && typeof msg === 'object' && typeof msg.type === 'string') this._onSignal(msg);
    };
    ws.onclose = (event) => {
      if (ws !== this._ws) return;
      this._ws = null;
      if (event.code === 4000) {
        // The server application removed us: coming back on our own would defy it.
        this._emit('error', { code: 'removed', message: event.reason || 'removed by the server', source: 'server' });
        this.close();
        return;
      }
      // Only a broken connection may resume: after a close frame (the server
      // shutting down, refusing, or closing us) the session is over. The
      // keep-alive close is sent to a client presumed gone, which may resume.
      const broken = !event.wasClean || (event.code === 1008 && event.reason === 'keep-alive timeout');
      if (broken && this.options.resume && this.options.reconnect && this._resumeToken && this.userId !== null) {
        // Keep the ID and the peers: the next connection asks to resume.
        this._resuming = { token: this._resumeToken, until: Date.now() + this.options.resumeWindow };
        this._resumeToken = null;
      } else if (!this._resuming || Date.now() >= this._resuming.until) {
        this._resuming = null;
        this.userId = null;
        this._dropAll('disconnected');
      }
      this._scheduleReconnect();
    };
    // onerror is always followed by onclose, which does the work.
    ws.onerror = () => {};
  }

  /** The room URL with this client's `name` and `token` in the query. */
  _connectUrl() {
    const { name, token } = this.options;
    const resume = this._resuming && this._resuming.token;
    if (name == null && token == null && !resume) return this.url;
    const url = new URL(this.url);
    if (name != null && name !== '') url.searchParams.set('name', String(name));
    if (token != null) url.searchParams.set('token', String(token));
    if (resume) url.searchParams.set('resume', resume);
    return url.href;
  }

  _scheduleReconnect() {
    if (!this.options.reconnect) {
      this._setState('closed');
      return;
    }
    const { backoffMin, backoffMax } = this.options;
    const base = Math.min(backoffMax, backoffMin * 2 ** this._attempts);
    const delay = base / 2 + Math.random() * base / 2;
    this._attempts++;
    this._setState('reconnecting');
    clearTimeout(this._reconnectTimer);
    this._reconnectTimer = setTimeout(() => {
      this._reconnectTimer = null;
      if (this.state === 'reconnecting') this._open();
    }, delay);
  }

  _signal(msg) {
    const ws = this._ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  _onSignal(msg) {
    const from = msg.from;
    switch (msg.type) {
      case 'login':
        this._onLogin(msg);
        break;
      case 'user-joined':
        if (Number.isSafeInteger(msg.userId) && msg.userId !== this.userId && !this._peers.has(msg.userId)) {
          const profile = isObject(msg.profile) ? msg.profile : {};
          this._profiles.set(msg.userId, profile);
          this._idle.set(msg.userId, 'waiting');
          this._emit('user-joined', { userId: msg.userId, profile });
          this._emit('peer', { peerId: msg.userId, state: 'waiting' });
        }
        break;
      case 'user-left':
        if (Number.isSafeInteger(msg.userId)) {
          this._emit('user-left', { userId: msg.userId });
          this._retries.delete(msg.userId);
          this._earlyCandidates.delete(msg.userId);
          if (this._idle.delete(msg.userId)) {
            this._emit('peer-left', { peerId: msg.userId, reason: 'left' });
          }
          this._dropPeer(msg.userId, 'left');
          this._profiles.delete(msg.userId);
        }
        break;
      case 'error':
        this._emit('error', {
          code: String(msg.code || 'unknown'),
          message: String(msg.message || ''),
          request: msg.request,
          source: 'server',
        });
        break;
      case 'peer-connect':
        if (Number.isSafeInteger(from) && msg.desc) this._onOffer(from, msg.desc);
        break;
      case 'peer-response':
        if (Number.isSafeInteger(from) && msg.desc) this._onAnswer(from, msg.desc);
        break;
      case 'peer-candidate':
        if (Number.isSafeInteger(from)) this._onRemoteCandidate(from, msg.candidate ?? null);
        break;
      default:
        break; // types this client does not know are not for it
    }
  }

  _onLogin(msg) {
    this._attempts = 0;
    const resumed = msg.resumed === true && this._resuming !== null && msg.userId === this.userId;
    if (this._resuming && !resumed) {
      // The server did not resume us: what we kept belongs to the old session.
      this._dropAll('disconnected');
    }
    this._resuming = null;
    this._resumeToken = typeof msg.resume === 'string' ? msg.resume : null;
    this.userId = msg.userId;
    const users = Array.isArray(msg.users) ? msg.users.filter(Number.isSafeInteger) : [];
    // A seed-era server sends neither profiles nor ICE servers.
    this.profile = isObject(msg.profile) ? msg.profile : {};
    const given = isObject(msg.profiles) ? msg.profiles : {};
    this._profiles.clear();
    const profiles = {};
    for (const id of users) {
      const profile = isObject(given[id]) ? given[id] : {};
      this._profiles.set(id, profile);
      profiles[id] = profile;
    }
    if (!Array.isArray(this.options.iceServers)) {
      this.iceServers = Array.isArray(msg.iceServers) ? msg.iceServers.filter(isObject) : [];
    }
    if (resumed) {
      this._reconcile(users);
      this._setState('online');
      this._emit('login', { userId: msg.userId, users, profile: this.profile, profiles, resumed: true });
      return;
    }
    this._setState('online');
    this._emit('login', { userId: msg.userId, users, profile: this.profile, profiles, resumed: false });
    // The newcomer initiates a connection to everybody already there.
    for (const id of users) {
      if (id !== this.userId) this._startPeer(id);
    }
  }

  /** After a resume: those gone from the room left while we were away; newcomers will send their offers. */
  _reconcile(users) {
    const present = new Set(users);
    for (const id of [...this._peers.keys()]) {
      if (!present.has(id)) this._dropPeer(id, 'left');
    }
    for (const id of [...this._idle.keys()]) {
      if (!present.has(id)) {
        this._idle.delete(id);
        this._emit('peer-left', { peerId: id, reason: 'left' });
      }
    }
    for (const id of users) {
      if (id !== this.userId && !this._peers.has(id) && !this._idle.has(id)) {
        this._idle.set(id, 'waiting');
        this._emit('peer', { peerId: id, state: 'waiting' });
      }
    }
  }

  // ---- peers -------------------------------------------------------------

  _newPeer(id, initiator) {
    this._dropPeer(id, null);
    this._idle.delete(id);
    const peer = new Peer(id, initiator);
    peer.pc = new RTCPeerConnection({ ...this.options.rtcConfiguration, iceServers: this.iceServers });
    this._peers.set(id, peer);

    peer.pc.onicecandidate = (event) => {
      if (!this.options.trickle || this._peers.get(id) !== peer) return;
      const candidate = event.candidate ? event.candidate.toJSON() : null;
      if (peer.descriptionSent) {
        this._signal({ type: 'peer-candidate', to: id, candidate });
      } else {
        peer.localCandidates.push(candidate);
      }
    };
    peer.pc.onconnectionstatechange = () => {
      if (this._peers.get(id) !== peer) return;
      if (peer.pc.connectionState === 'failed') this._peerFailed(peer, 'connection failed');
    };
    peer.timer = setTimeout(() => {
      if (this._peers.get(id) === peer && peer.state !== 'connected') {
        this._peerFailed(peer, `no connection after ${this.options.peerTimeout} ms`);
      }
    }, this.options.peerTimeout);

    this._emit('peer', { peerId: id, state: 'connecting' });
    return peer;
  }

  _attachChannel(peer, channel) {
    peer.channel = channel;
    channel.onopen = () => {
      if (this._peers.get(peer.id) !== peer) return;
      this._sendReady(peer);
      this._maybeConnected(peer);
    };
    channel.onmessage = (event) => {
      if (this._peers.get(peer.id) === peer) this._onFrame(peer, event.data);
    };
    channel.onclose = () => {
      // The other side closed (page gone, or it gave up on us). The server's
      // user-left usually follows at once; fail quietly and let that decide.
      if (this._peers.get(peer.id) === peer) this._peerFailed(peer, 'data channel closed', true);
    };
    if (channel.readyState === 'open') this._sendReady(peer);
  }

  _sendReady(peer) {
    if (peer.readySent || peer.channel.readyState !== 'open') return;
    peer.readySent = true;
    try {
      peer.channel.send(JSON.stringify({ type: 'ready' }));
    } catch {
      peer.readySent = false;
    }
  }

  _onFrame(peer, raw) {
    let frame;
    try {
      frame = JSON.parse(typeof raw === 'string' ? raw : new TextDecoder().decode(raw));
    } catch {
      frame = null;
    }
    if (!frame || typeof frame !== 'object') {
      this._emit('error', { code: 'bad-frame', message: `peer ${peer.id} sent a frame that is not JSON`, source: 'client' });
      return;
    }
    if (frame.type === 'ready') {
      if (peer.readyReceived) return;
      peer.readyReceived = true;
      // Answer the first ready: ours may have gone out too early and been lost.
      peer.readySent = false;
      this._sendReady(peer);
      this._maybeConnected(peer);
    } else if (frame.type === 'message') {
      // A message only ever follows its sender's ready.
      if (!peer.readyReceived) {
        peer.readyReceived = true;
        this._maybeConnected(peer);
      }
      this._emit('message', { from: peer.id, data: frame.data });
    }
  }

  _maybeConnected(peer) {
    if (peer.readyReceived && peer.channel.readyState === 'open') this._peerConnected(peer);
  }

  _peerConnected(peer) {
    if (peer.state === 'connected') return;
    clearTimeout(peer.timer);
    peer.state = 'connected';
    this._retries.delete(peer.id);
    const queued = peer.outbox;
    peer.outbox = [];
    for (const frame of queued) peer.channel.send(frame);
    this._emit('peer', { peerId: peer.id, state: 'connected' });
    this._emit('peer-connected', { peerId: peer.id });
  }

  _deliver(peer, frame) {
    if (peer.state === 'connected' && peer.channel && peer.channel.readyState === 'open') {
      peer.channel.send(frame);
      return true;
    }
    if (peer.state === 'connecting') {
      peer.outbox.push(frame);
      return true;
    }
    return false;
  }

  async _startPeer(id) {
    const peer = this._newPeer(id, true);
    this._attachChannel(peer, peer.pc.createDataChannel(this.options.channelLabel, { ordered: true }));
    try {
      await peer.pc.setLocalDescription(await peer.pc.createOffer());
      await this._sendDescription(peer, 'peer-connect');
    } catch (err) {
      if (this._peers.get(id) === peer) this._peerFailed(peer, `offer: ${err && err.message || err}`);
    }
  }

  async _onOffer(from, desc) {
    // A new offer from a user replaces whatever we had with it (it retried).
    const peer = this._newPeer(from, false);
    peer.pc.ondatachannel = (event) => {
      if (this._peers.get(from) === peer && !peer.channel) this._attachChannel(peer, event.channel);
    };
    const early = this._earlyCandidates.get(from);
    this._earlyCandidates.delete(from);
    if (early) peer.remoteCandidates.push(...early);
    try {
      await peer.pc.setRemoteDescription(desc);
      await this._flushRemoteCandidates(peer);
      await peer.pc.setLocalDescription(await peer.pc.createAnswer());
      await this._sendDescription(peer, 'peer-response');
    } catch (err) {
      if (this._peers.get(from) === peer) this._peerFailed(peer, `answer: ${err && err.message || err}`);
    }
  }

  async _onAnswer(from, desc) {
    const peer = this._peers.get(from);
    if (!peer || !peer.initiator || peer.hasRemoteDescription) return;
    try {
      await peer.pc.setRemoteDescription(desc);
      await this._flushRemoteCandidates(peer);
    } catch (err) {
      if (this._peers.get(from) === peer) this._peerFailed(peer, `remote answer: ${err && err.message || err}`);
    }
  }

  async _onRemoteCandidate(from, candidate) {
    const peer = this._peers.get(from);
    if (!peer) {
      // Can precede nothing we know of only if its peer-connect is still to
      // come; keep a bounded few.
      const list = this._earlyCandidates.get(from) || [];
      if (list.length < 64) list.push(candidate);
      this._earlyCandidates.set(from, list);
      return;
    }
    if (!peer.hasRemoteDescription) {
      peer.remoteCandidates.push(candidate);
      return;
    }
    await this._addCandidate(peer, candidate);
  }

  async _flushRemoteCandidates(peer) {
    peer.hasRemoteDescription = true;
    const list = peer.remoteCandidates;
    peer.remoteCandidates = [];
    for (const c of list) await this._addCandidate(peer, c);
  }

  async _addCandidate(peer, candidate) {
    if (candidate === null) return; // end-of-candidates: nothing to do for a data-only session
    try {
      await peer.pc.addIceCandidate(candidate);
    } catch {
      // A candidate we cannot use (other address family, stale) is not fatal.
    }
  }

  async _sendDescription(peer, type) {
    if (!this.options.trickle) await this._gathered(peer.pc);
    if (this._peers.get(peer.id) !== peer) return;
    const local = peer.pc.localDescription;
    this._signal({ type, to: peer.id, desc: { type: local.type, sdp: local.sdp } });
    peer.descriptionSent = true;
    const held = peer.localCandidates;
    peer.localCandidates = [];
    for (const candidate of held) this._signal({ type: 'peer-candidate', to: peer.id, candidate });
  }

  _gathered(pc) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        pc.removeEventListener('icegatheringstatechange', check);
        resolve();
      };
      const check = () => {
        if (pc.iceGatheringState === 'complete') done();
      };
      const timer = setTimeout(done, this.options.gatherTimeout);
      pc.addEventListener('icegatheringstatechange', check);
    });
  }

  _peerFailed(peer, why, quiet = false) {
    const id = peer.id;
    if (!quiet) this._emit('error', { code: 'peer-failed', message: `peer ${id}: ${why}`, source: 'client' });
    this._dropPeer(id, null);
    this._idle.set(id, 'failed');
    this._emit('peer', { peerId: id, state: 'failed' });
    // Only the initiating side starts again, so the two sides never race. The
    // delay leaves time for a user-left, which cancels the retry.
    const used = this._retries.get(id) || 0;
    if (peer.initiator && used < this.options.peerRetries && this.state === 'online') {
      this._retries.set(id, used + 1);
      setTimeout(() => {
        if (this.state === 'online' && this._idle.get(id) === 'failed') this._startPeer(id);
      }, 1000 * 2 ** used);
    }
  }

  _dropPeer(id, reason) {
    const peer = this._peers.get(id);
    if (!peer) return;
    this._peers.delete(id);
    clearTimeout(peer.timer);
    const { pc, channel } = peer;
    if (channel) channel.onopen = channel.onmessage = channel.onclose = null;
    pc.onicecandidate = pc.onconnectionstatechange = pc.ondatachannel = null;
    try { if (channel) channel.close(); } catch { /* closed */ }
    try { pc.close(); } catch { /* closed */ }
    if (reason) {
      peer.state = 'closed';
      this._emit('peer-left', { peerId: id, reason });
    }
  }

  _dropAll(reason) {
    // Forget everybody first, so that listeners of the events below already
    // see the empty room.
    const peers = [...this._peers.keys()];
    const idle = [...this._idle.keys()];
    for (const id of peers) this._dropPeer(id, null);
    this._idle.clear();
    this._earlyCandidates.clear();
    this._retries.clear();
    for (const id of [...peers, ...idle]) this._emit('peer-left', { peerId: id, reason });
  }
}

export default Switchboard;
