// CallManager: starts, answers and ends calls (IEMCallManager), and runs the call side of
// the protocol — the browser twin of the Go SDK's call_manager.go. The callee pre-connects
// when the call rings; the caller pre-connects one peer connection per ringing device;
// media flows once the call is accepted and connected.
import { CallStatus, CallType, ConnectType, DuetError, EndReason, ErrorCode } from './enums.js';
import { defaultCallOptions, validateCallOptions } from './call_options.js';
import { CallSession } from './call_session.js';
import { Peer } from './peer.js';
import { loadWatermarkImage } from './watermark.js';

/** Bounds the messages kept for calls whose session does not exist yet. */
const MAX_EARLY_CALLS = 16;
/** End reasons a client may send. */
const CLIENT_REASONS = [EndReason.Hangup, EndReason.NoResponse, EndReason.Decline, EndReason.Busy, EndReason.Failed, EndReason.Unsupported];
const USERNAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** The caller's relay leg's key before accept; device ids cannot contain '#'. */
const RELAY_KEY = '#relay';

/** The call.signal fields asking the peer for warm-up video: on video calls only. */
const warm = (s) => (s.type === CallType.Video ? { warmVideo: true } : {});

/**
 * @typedef {Object} CallManagerDelegate every method is optional
 * @property {(s: CallSession) => void} [callDidReceive] a call rings this device; the SDK is already pre-connecting
 * @property {(s: CallSession) => void} [callDidConnect] the media transport is up (usually while ringing); once per call, before or after callDidAccept
 * @property {(s: CallSession) => void} [callDidAccept] the callee accepted (both sides)
 * @property {(s: CallSession, reason: number, error: DuetError|null) => void} [callDidEnd] the call ended; error when it failed
 * @property {(s: CallSession, status: number) => void} [callStateDidChange] the peer paused or resumed a stream ({@link StreamStatus})
 * @property {(s: CallSession, status: number) => void} [callNetworkDidChange] the network quality changed ({@link NetworkStatus}; needs enableReportQuality)
 */

/**
 * @typedef {Object} CallBuilderDelegate
 * @property {(remoteName: string) => void} callRemoteOffline the callee is offline; the server pushed and keeps ringing
 */

/**
 * @typedef {Object} MediaOptions
 * @property {(s: CallSession) => (MediaStream|Promise<MediaStream>|null)} [localStream] returns the
 *   app's own audio/video tracks for a call (custom media); null or absent: the SDK opens the
 *   camera and microphone with getUserMedia and the call options' constraints
 */

/** The calls of one client. Get it from {@link DuetClient#callManager}. */
export class CallManager {
  /** @param {import('./duet.js').DuetClient} client */
  constructor(client) {
    this._client = client;
    this._delegates = [];
    this._builder = null;
    this._options = defaultCallOptions();
    this._media = {};
    this._sessions = new Map();
    this._early = new Map();
    this._watermark = null; // {option, image}
  }

  /**
   * Registers a delegate. Its methods run asynchronously (in a microtask), never inside
   * an SDK call.
   * @param {CallManagerDelegate} d
   */
  addDelegate(d) { if (!this._delegates.includes(d)) this._delegates.push(d); }

  /** Unregisters a delegate. @param {CallManagerDelegate} d */
  removeDelegate(d) { this._delegates = this._delegates.filter((x) => x !== d); }

  /** Sets the one builder delegate (callRemoteOffline). @param {CallBuilderDelegate|null} d */
  setBuilderDelegate(d) { this._builder = d; }

  /** @type {import('./call_options.js').CallOptions} a copy of the options for calls */
  get callOptions() { return { ...this._options }; }

  /**
   * Validates and sets call options; fields left out keep their values. The new options
   * also apply to a call in progress (sender bitrate, frame rate, clarity-first).
   * @param {Partial<import('./call_options.js').CallOptions>} o
   * @throws {DuetError} UserIllegalArgument when a field is out of range
   */
  setCallOptions(o) {
    const next = { ...this._options, ...o };
    validateCallOptions(next);
    this._options = next;
    for (const s of this._sessions.values()) s._reapplyOptions().catch(() => {});
  }

  /** Sets how calls get their local media. @param {MediaOptions} o */
  setMediaOptions(o) { this._media = { ...o }; }

  /**
   * The live session with callId, or undefined.
   * @param {string} callId
   * @returns {CallSession|undefined}
   */
  getSession(callId) { return this._sessions.get(callId); }

  /** @type {CallSession[]} the live sessions */
  get sessions() { return [...this._sessions.values()]; }

  /**
   * Calls remoteName (startCall:remoteName:ext:). Opens the local media first (so the
   * permission prompt comes before the ringing), then invites. Resolves once the server
   * took the invite; the callee's devices are ringing then and the delegates report the rest.
   * @param {number} type a {@link CallType}
   * @param {string} remoteName
   * @param {string} [ext] free-form text for the callee (≤ 4096 bytes)
   * @param {{record?: boolean, mergeStream?: boolean, localStream?: MediaStream}} [opts]
   *   record asks the server to record the call, mergeStream to merge both parties;
   *   localStream sends the app's own tracks in this call
   * @returns {Promise<CallSession>}
   * @throws {DuetError} CallBusy (this device is in a call), CallRemoteOffline, UserNotFound, ...
   */
  async startCall(type, remoteName, ext = '', opts = {}) {
    this._client._requireLogin();
    // A call from remoteName still ringing here is no reason to refuse: the server answers it
    // with this invite (glare, PROTOCOL.md rule 7) and the reply names it.
    const remote = String(remoteName || '').toLowerCase();
    const busy = [...this._sessions.values()].some((o) => o.isCaller || o.remoteName !== remote || o.status === CallStatus.Accepted || o.ended);
    if (busy) throw new DuetError(ErrorCode.CallBusy, 'this device is already in a call');
    if (type !== CallType.Voice && type !== CallType.Video) throw new DuetError(ErrorCode.BadMessage, `unknown call type ${type}`);
    if (!USERNAME.test(remoteName || '')) throw new DuetError(ErrorCode.InvalidUsername, 'bad callee username');
    if (new TextEncoder().encode(ext).length > 4096) throw new DuetError(ErrorCode.BadMessage, 'ext longer than 4096 bytes');
    // The media opens before the invite; a session object exists from here so that the
    // media code has one, but it is registered only once the server gave it an id.
    const s = new CallSession(this, {
      callId: '', localName: this._client.currentUsername, remoteName: remoteName.toLowerCase(), type, isCaller: true, ext,
      willRecord: !!opts.record,
    });
    try {
      await s._openMedia(opts.localStream);
    } catch (err) {
      throw new DuetError(ErrorCode.General, `cannot open the ${type === CallType.Video ? 'camera or ' : ''}microphone: ${err.message || err}`);
    }
    const o = this._options;
    const invite = { to: remoteName, type, ext: ext || undefined, record: opts.record || undefined, mergeStream: opts.mergeStream || undefined };
    if (o.isSendPushIfOffline) { invite.pushIfOffline = true; invite.offlineText = o.offlineMessageText; }
    let reply;
    try {
      reply = await this._client._request('call.invite', invite);
    } catch (err) {
      s._ended = true;
      s._release();
      throw err;
    }
    if (reply.glare) {
      // Our invite answered the callee's call to us, which is ringing here.
      const existing = this._sessions.get(reply.callId);
      s._ended = true;
      s._release();
      if (existing) return existing;
    }
    s.callId = reply.callId;
    s._iceServers = reply.iceServers || [];
    this._register(s);
    // A recorded call goes through the server's media relay: one leg to the server, made
    // at once so that it pre-connects while the callee's devices ring.
    if (s.willRecord) this._newRelayPeer(s, RELAY_KEY);
    return s;
  }

  /**
   * Accepts a ringing call (answerIncomingCall:). Media flows at once: the transport came up
   * while ringing.
   * @param {string} callId
   * @param {{localStream?: MediaStream}} [opts] localStream replaces the media the SDK opened when the call rang
   * @returns {Promise<CallSession>}
   */
  async answerIncomingCall(callId, opts = {}) {
    const s = this._sessions.get(callId);
    if (!s || s.isCaller) throw new DuetError(ErrorCode.CallInvalidId, `no incoming call ${callId}`);
    if (opts.localStream) {
      for (const t of opts.localStream.getTracks()) await s.replaceLocalTrack(t);
    }
    await this._client._request('call.answer', { callId });
    this._accepted(s, s.remoteDevice);
    return s;
  }

  /**
   * Ends, cancels or declines a call (endCall:reason:): Decline for a ringing call, Hangup
   * otherwise. The local delegates get callDidEnd with the same reason. Ending an ended
   * call succeeds.
   * @param {string} callId
   * @param {number} [reason] an {@link EndReason} a client may send (0–5)
   * @returns {Promise<void>}
   */
  async endCall(callId, reason = EndReason.Hangup) {
    if (!CLIENT_REASONS.includes(reason)) throw new DuetError(ErrorCode.BadMessage, `a client cannot end a call with reason ${reason}`);
    const s = this._sessions.get(callId);
    let error = null;
    try {
      await this._client._request('call.end', { callId, reason });
    } catch (err) {
      error = err;
    }
    if (s) { this._finish(s, reason, null); return; }
    if (error) throw error;
  }

  /**
   * Draws a picture on the video this client sends, in this and later calls.
   * @param {import('./watermark.js').WatermarkOption} option
   * @returns {Promise<void>}
   */
  async addVideoWatermark(option) {
    const image = await loadWatermarkImage(option);
    this._watermark = { option: { ...option }, image };
    for (const s of this._sessions.values()) s._restartWatermark();
  }

  /** Removes the watermark. */
  clearVideoWatermark() {
    this._watermark = null;
    for (const s of this._sessions.values()) s._restartWatermark();
  }

  // ---- internals ----

  _log(level, ...args) { this._client._log(level, ...args); }

  _notify(name, ...args) {
    for (const d of [...this._delegates]) {
      if (typeof d[name] !== 'function') continue;
      queueMicrotask(() => {
        try { d[name](...args); } catch (err) { console.error(`duet: delegate ${name} threw`, err); }
      });
    }
  }

  async _localStreamFor(s) {
    return this._media.localStream ? (await this._media.localStream(s)) || null : null;
  }

  _liveCallIds() { return [...this._sessions.keys()].slice(0, 8); }

  _register(s) {
    this._sessions.set(s.callId, s);
    const early = this._early.get(s.callId) || [];
    this._early.delete(s.callId);
    for (const env of early) this._handleMessage(env);
  }

  _keepEarly(callId, env) {
    if (!this._early.has(callId)) {
      this._early.set(callId, []);
      if (this._early.size > MAX_EARLY_CALLS) this._early.delete(this._early.keys().next().value);
    }
    const list = this._early.get(callId);
    if (list.length < 64) list.push(env);
  }

  /** Handles one server message (everything but replies and connection-level ones). */
  _handleMessage(env) {
    const d = env.data || {};
    if (env.type === 'call.incoming') { this._onIncoming(d); return; }
    if (!env.type.startsWith('call.')) { this._log('info', 'server message', env.type, env.error || d); return; }
    if (!d.callId) return;
    const s = this._sessions.get(d.callId);
    if (!s) { this._keepEarly(d.callId, env); return; }
    switch (env.type) {
      case 'call.ringing': this._onRinging(s, d.device); break;
      case 'call.signal': this._onSignal(s, d); break;
      case 'call.accepted': this._accepted(s, s.isCaller ? d.device : s.remoteDevice); break;
      case 'call.ended': this._finish(s, d.reason, null); break;
      case 'call.stream':
        if (d.status >= 0 && d.status <= 3) {
          s.remotePaused[d.status <= 1 ? 'audio' : 'video'] = d.status % 2 === 0;
          this._notify('callStateDidChange', s, d.status);
        }
        break;
      case 'call.offline':
        if (this._builder && this._builder.callRemoteOffline) {
          const b = this._builder;
          queueMicrotask(() => b.callRemoteOffline(s.remoteName));
        }
        break;
      case 'call.peer': this._log('info', 'peer connection', s.callId, d.present ? 'back' : 'lost'); break;
      case 'call.media': this._onRelayMedia(s, d); break;
      case 'call.relay': this._restartRelay(s, "the call's relay moved to another node"); break;
      default: break;
    }
  }

  _onIncoming(d) {
    const known = this._sessions.get(d.callId);
    if (known) { this._reRung(known, d); return; }
    const s = new CallSession(this, {
      callId: d.callId, localName: this._client.currentUsername, remoteName: d.from, type: d.type, isCaller: false,
      ext: d.ext, willRecord: d.record, iceServers: d.iceServers, remoteDevice: d.fromDevice,
    });
    if (s.willRecord) this._newRelayPeer(s, d.fromDevice);
    else this._newPeer(s, d.fromDevice);
    this._register(s);
    // The camera and microphone open while it rings, so that accepting sends at once;
    // nothing is sent before accept.
    s._openMedia().catch((err) => this._log('warn', 'cannot open local media', err.message || err));
    this._notify('callDidReceive', s);
  }

  /** The server rang this device again for a known call (it reconnected): start a new leg. */
  _reRung(s, d) {
    if (s._ended || s._status === CallStatus.Accepted) return;
    const old = s._peers.get(d.fromDevice);
    if (old) { old.close(); s._peers.delete(d.fromDevice); }
    if (s.willRecord) this._newRelayPeer(s, d.fromDevice);
    else this._newPeer(s, d.fromDevice);
  }

  async _onRinging(s, device) {
    if (s._ended || s._status === CallStatus.Accepted || s.willRecord) return; // recorded: the relay leg serves every device
    const old = s._peers.get(device);
    if (old) { old.close(); s._peers.delete(device); } // rung again: its old leg is dead
    const p = this._newPeer(s, device);
    try {
      const offer = await p.createOffer();
      if (!p.closed) this._client._send('call.signal', { callId: s.callId, device, description: offer, ...warm(s) });
    } catch (err) {
      this._log('error', 'cannot create offer', s.callId, err.message || err);
    }
  }

  async _onSignal(s, sig) {
    const p = s.isCaller ? s._peers.get(sig.device) : s._peers.get(s.remoteDevice);
    if (!p || p.closed) return;
    try {
      if (sig.candidate) { await p.addCandidate(sig.candidate); return; }
      if (!sig.description) return;
      if (sig.warmVideo) p.warmWanted = true;
      const answer = await p.handleDescription(sig.description);
      if (answer && !p.closed) this._client._send('call.signal', { callId: s.callId, description: answer, ...warm(s) });
      await s._prepareSenders(p);
      await s._warmUp(p);
    } catch (err) {
      this._log('warn', 'bad remote signal', s.callId, err.message || err);
    }
  }

  _newPeer(s, device) {
    const target = s.isCaller ? device : undefined;
    const p = new Peer({
      iceServers: s._iceServers, iceTransportPolicy: this._client._iceTransportPolicy,
      video: s.type === CallType.Video, offerer: s.isCaller,
    }, {
      onCandidate: (c) => this._client._send('call.signal', { callId: s.callId, device: target, candidate: c }),
      onConnected: (ct) => this._peerConnected(s, device, ct),
      onFailed: (err) => this._peerFailed(s, device, err),
      onTrack: () => { if (s._currentPeer() === p) s._syncRemote(); },
    });
    s._peers.set(device, p);
    return p;
  }

  /**
   * Creates a relay leg (recorded calls, docs/PROTOCOL.md "Recorded calls"): it offers to
   * the server with a call.media request, whose reply brings the answer and the
   * serverVideoId; candidates trickle as call.media messages, ours only once the offer is
   * in (the server has no leg to add them to before).
   */
  _newRelayPeer(s, key) {
    let offered = false;
    const early = [];
    const sendCandidate = (c) => this._client._send('call.media', { callId: s.callId, candidate: c });
    const keyOf = () => { for (const [k, q] of s._peers) if (q === p) return k; return ''; };
    const p = new Peer({
      iceServers: s._iceServers, iceTransportPolicy: this._client._iceTransportPolicy,
      video: s.type === CallType.Video, offerer: true,
    }, {
      onCandidate: (c) => { if (offered) sendCandidate(c); else early.push(c); },
      onConnected: () => { const k = keyOf(); if (k) this._peerConnected(s, k, ConnectType.Relay); },
      onFailed: (err) => { const k = keyOf(); if (k) this._peerFailed(s, k, err); },
      onTrack: () => { if (s._currentPeer() === p) s._syncRemote(); },
    });
    const old = s._peers.get(key);
    s._peers.set(key, p);
    if (old) old.close();
    (async () => {
      const offer = await p.createOffer();
      const reply = await this._client._request('call.media', { callId: s.callId, description: offer });
      if (!reply.description) throw new DuetError(ErrorCode.ServerUnknown, 'the relay sent no answer');
      s.serverVideoId = reply.serverVideoId || '';
      offered = true;
      for (const c of early.splice(0)) sendCandidate(c);
      await p.handleDescription(reply.description);
      await s._prepareSenders(p);
    })().catch((err) => {
      this._log('warn', 'relay leg failed', s.callId, err.message || err);
      const k = keyOf();
      if (k) this._peerFailed(s, k, err);
    });
    return p;
  }

  /**
   * The device connection is up (login or reconnect). A new welcome.boot means the server
   * restarted: calls go on, but the relay legs of recorded calls are gone, so they are
   * offered again (docs/PROTOCOL.md "Recorded calls").
   * @param {string} boot
   */
  _connected(boot) {
    const restarted = this._boot !== undefined && this._boot !== '' && boot !== '' && boot !== this._boot;
    this._boot = boot;
    if (!restarted) return;
    for (const s of this._sessions.values()) this._restartRelay(s, 'the server restarted');
  }

  /**
   * Offers a recorded call's relay leg again, after a server restart or when the call's
   * relay moved to another node of a cluster (call.relay). The session stays as it is: the
   * new leg takes the old one's key, and media starts again on it once it connects, without
   * callDidConnect a second time.
   */
  _restartRelay(s, why) {
    if (s._ended || !s.willRecord) return;
    const key = s.isCaller && s._status !== CallStatus.Accepted ? RELAY_KEY : s.remoteDevice;
    s._sending = false;
    this._log('info', `${why}: offering the relay leg again`, s.callId);
    this._newRelayPeer(s, key);
  }

  /** A call.media message from the server: a candidate for the call's relay leg. */
  _onRelayMedia(s, d) {
    if (!d.candidate) return;
    const p = s._peers.values().next().value; // a recorded call has one leg: the relay's
    if (p) p.addCandidate(d.candidate).catch(() => {});
  }

  _peerConnected(s, device, ct) {
    if (s._ended) return;
    // The first leg up reports the call connected, once, whether the call was accepted
    // before (an answer on callDidReceive, a glare) or after.
    const first = !s._didConnect && !s._ended;
    if (first) {
      s._didConnect = true;
      if (s._status === CallStatus.Connecting) s._status = CallStatus.Connected;
      s._connectType = ct;
    } else if (device === s.remoteDevice) {
      s._connectType = ct;
    }
    if (first) {
      this._client._send('call.connect', { callId: s.callId, connectType: ct });
      this._notify('callDidConnect', s);
    }
    const p = s._peers.get(device);
    if (p) s._warmUp(p).catch((err) => this._log('warn', 'no warm-up video', err.message || err));
    this._startSendingIfReady(s);
  }

  _peerFailed(s, device, err) {
    const p = s._peers.get(device);
    if (p) { p.close(); s._peers.delete(device); }
    const fatal = !s._ended && (device === s.remoteDevice || s._peers.size === 0);
    if (!fatal) return;
    this._log('warn', 'media connection failed', s.callId, err.message);
    this._client._request('call.end', { callId: s.callId, reason: EndReason.Failed }).catch(() => {});
    this._finish(s, EndReason.Failed, new DuetError(ErrorCode.CallConnectFailed, err.message));
  }

  _accepted(s, device) {
    if (s._ended || s._status === CallStatus.Accepted) return;
    s._status = CallStatus.Accepted;
    s.acceptedAt = performance.now();
    s.remoteDevice = device;
    const relay = s._peers.get(RELAY_KEY);
    if (relay && device) { // the caller's relay leg now carries the call with that device
      s._peers.delete(RELAY_KEY);
      s._peers.set(device, relay);
    }
    for (const [dev, p] of s._peers) {
      if (dev !== device) { p.close(); s._peers.delete(dev); }
    }
    s._syncRemote();
    this._startSendingIfReady(s);
    s._startStats();
    this._notify('callDidAccept', s);
  }

  /** Media starts once the call is both accepted and connected. */
  _startSendingIfReady(s) {
    const p = s._peers.get(s.remoteDevice);
    if (s._status !== CallStatus.Accepted || s._sending || s._ended || !p || !p.connected) return;
    s._startSending().catch((err) => this._log('warn', 'cannot start sending', err.message || err));
  }

  _finish(s, reason, error) {
    if (s._ended) return;
    s._ended = true;
    s._status = CallStatus.Disconnected;
    s._release();
    if (this._sessions.get(s.callId) === s) this._sessions.delete(s.callId);
    this._notify('callDidEnd', s, reason, error);
  }

  /** Ends every call on the server and locally (logout). */
  async _endAll(reason) {
    await Promise.all(this.sessions.map((s) => this.endCall(s.callId, reason).catch(() => {})));
  }

  /** Ends every call locally only (kicked, or the login ended). */
  _endAllLocally(reason) {
    for (const s of this.sessions) this._finish(s, reason, null);
  }
}
