// Peer: one RTCPeerConnection for one call leg (this device ↔ one remote device), the
// browser twin of the Go SDK's internal/rtc.Peer: transceivers are added at once so ICE and
// DTLS come up while the call rings, but nothing is sent until startSending — the senders
// carry no track until then (replaceTrack(null): a disabled track would still send black
// frames and silence). Remote candidates are queued until the remote description is set.
import { ConnectType } from './enums.js';

/**
 * @typedef {Object} PeerEvents
 * @property {(c: {candidate: string, sdpMid?: string, sdpMLineIndex?: number}) => void} onCandidate a local candidate to trickle
 * @property {(connectType: number) => void} onConnected ICE and DTLS are up (once)
 * @property {(err: Error) => void} onFailed the transport failed for good (once)
 * @property {(track: MediaStreamTrack) => void} onTrack a remote track arrived
 * @property {(state: string) => void} [onStateChange] every connectionState change
 */

/** One call leg. */
export class Peer {
  /**
   * @param {Object} cfg
   * @param {RTCIceServer[]} [cfg.iceServers] STUN/TURN servers from the server's invite reply
   * @param {RTCIceTransportPolicy} [cfg.iceTransportPolicy] "relay" forces TURN
   * @param {boolean} cfg.video whether the call has video
   * @param {boolean} cfg.offerer whether this side sends the offer (the caller)
   * @param {PeerEvents} ev
   */
  constructor(cfg, ev) {
    this.ev = ev;
    this.video = cfg.video;
    /** @type {RTCPeerConnection} */
    this.pc = new RTCPeerConnection({
      iceServers: (cfg.iceServers || []).map((s) => ({ urls: s.urls, username: s.username, credential: s.credential })),
      iceTransportPolicy: cfg.iceTransportPolicy || 'all',
      bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require',
    });
    /** @type {MediaStream} the remote tracks of this leg */
    this.remoteStream = new MediaStream();
    /** @type {boolean} */
    this.connected = false;
    /** @type {number} a {@link ConnectType} */
    this.connectType = ConnectType.None;
    this.closed = false;
    /** @type {boolean} whether offer and answer are both applied */
    this.negotiated = false;
    /** @type {{audio: ?string, video: ?string}} the track id the call options were applied for, per kind */
    this.optionsFor = { audio: null, video: null };
    /** @type {boolean} whether the remote device asked for warm-up video (call.signal warmVideo) */
    this.warmWanted = false;
    this._queued = [];
    this._failed = false;
    this._sending = { audio: null, video: null }; // the track each sender should carry once sending
    if (cfg.offerer) {
      this._addTransceiver('audio');
      if (cfg.video) this._addTransceiver('video');
    }
    this.pc.onicecandidate = (e) => {
      // A null or empty candidate marks the end of gathering: nothing to relay.
      if (!e.candidate || !e.candidate.candidate) return;
      const c = { candidate: e.candidate.candidate };
      if (e.candidate.sdpMid != null) c.sdpMid = e.candidate.sdpMid;
      if (e.candidate.sdpMLineIndex != null) c.sdpMLineIndex = e.candidate.sdpMLineIndex;
      this.ev.onCandidate(c);
    };
    this.pc.ontrack = (e) => {
      if (!this.remoteStream.getTracks().includes(e.track)) this.remoteStream.addTrack(e.track);
      // A remote track unmutes when its first packet arrives: the call's first media.
      const first = () => { if (!this.firstMediaAt) this.firstMediaAt = performance.now(); };
      if (!e.track.muted) first();
      else e.track.addEventListener('unmute', first, { once: true });
      this.ev.onTrack(e.track);
    };
    this.pc.onconnectionstatechange = () => this._stateChanged();
  }

  _addTransceiver(kind) {
    const t = this.pc.addTransceiver(kind, { direction: 'sendrecv' });
    this._preferCodecs(t, kind);
    return t;
  }

  // VP8 first (the Go SDK and pion speak VP8; Debian's Chromium may lack H.264), Opus
  // first for audio; the rest stay offered for other browsers.
  _preferCodecs(t, kind) {
    if (!t.setCodecPreferences || !RTCRtpReceiver.getCapabilities) return;
    const caps = RTCRtpReceiver.getCapabilities(kind);
    if (!caps) return;
    const first = kind === 'video' ? 'video/vp8' : 'audio/opus';
    const codecs = [...caps.codecs].sort((a, b) => (b.mimeType.toLowerCase() === first) - (a.mimeType.toLowerCase() === first));
    try { t.setCodecPreferences(codecs); } catch { /* keep the browser's order */ }
  }

  /** @returns {RTCRtpTransceiver|undefined} the transceiver of kind */
  transceiver(kind) {
    return this.pc.getTransceivers().find((t) => !t.stopped && (t.receiver.track && t.receiver.track.kind === kind));
  }

  /** @returns {RTCRtpSender|undefined} the sender of kind */
  sender(kind) {
    const t = this.transceiver(kind);
    return t && t.sender;
  }

  /**
   * Creates the offer and sets it locally (caller).
   * @returns {Promise<{type: string, sdp: string}>}
   */
  async createOffer() {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    return { type: this.pc.localDescription.type, sdp: this.pc.localDescription.sdp };
  }

  /**
   * Applies a remote description. For an offer (callee) it answers and returns the answer.
   * Candidates queued meanwhile are applied once it is set.
   * @param {{type: string, sdp: string}} desc
   * @returns {Promise<{type: string, sdp: string}|null>}
   */
  async handleDescription(desc) {
    await this.pc.setRemoteDescription({ type: desc.type, sdp: desc.sdp });
    await this._flushCandidates();
    if (desc.type !== 'offer') {
      this.negotiated = true;
      return null;
    }
    // Transceivers made by the offer are recvonly until told otherwise; this side sends too
    // (later, once accepted), so say so in the answer.
    for (const t of this.pc.getTransceivers()) {
      if (t.stopped || !t.receiver.track) continue;
      const kind = t.receiver.track.kind;
      if (kind === 'audio' || (kind === 'video' && this.video)) {
        t.direction = 'sendrecv';
        this._preferCodecs(t, kind);
      }
    }
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    this.negotiated = true;
    return { type: this.pc.localDescription.type, sdp: this.pc.localDescription.sdp };
  }

  /**
   * Adds a remote candidate, or queues it until the remote description is set.
   * @param {{candidate: string, sdpMid?: string, sdpMLineIndex?: number}} c
   * @returns {Promise<void>}
   */
  async addCandidate(c) {
    if (!c || !c.candidate) return;
    if (!this.pc.remoteDescription) {
      if (this._queued.length < 64) this._queued.push(c);
      return;
    }
    await this.pc.addIceCandidate(c);
  }

  async _flushCandidates() {
    const q = this._queued;
    this._queued = [];
    for (const c of q) {
      try { await this.pc.addIceCandidate(c); } catch { /* a bad candidate costs only itself */ }
    }
  }

  /**
   * Sets what a sender carries: a track starts sending it, null stops sending (no packets).
   * @param {'audio'|'video'} kind
   * @param {MediaStreamTrack|null} track
   * @returns {Promise<void>}
   */
  async setSendTrack(kind, track) {
    const s = this.sender(kind);
    if (!s || this.closed) return;
    if (s.track === track) return;
    await s.replaceTrack(track);
  }

  async _stateChanged() {
    const st = this.pc.connectionState;
    if (this.ev.onStateChange) this.ev.onStateChange(st);
    if (st === 'connected' && !this.connected) {
      this.connected = true;
      this.connectType = await this.readConnectType();
      if (!this.closed) this.ev.onConnected(this.connectType);
    } else if (st === 'failed' && !this._failed && !this.closed) {
      this._failed = true;
      this.ev.onFailed(new Error('ICE/DTLS connection failed'));
    }
  }

  /**
   * Reads how media flows from getStats' selected candidate pair: Relay if either end is a
   * relay candidate, else Direct.
   * @returns {Promise<number>} a {@link ConnectType}
   */
  async readConnectType() {
    try {
      const stats = await this.pc.getStats();
      let pair = null;
      stats.forEach((r) => {
        if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
      });
      if (!pair) stats.forEach((r) => { if (!pair && r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r; });
      if (!pair) return ConnectType.Direct;
      const local = stats.get(pair.localCandidateId);
      const remote = stats.get(pair.remoteCandidateId);
      const relay = (local && local.candidateType === 'relay') || (remote && remote.candidateType === 'relay');
      return relay ? ConnectType.Relay : ConnectType.Direct;
    } catch {
      return ConnectType.Direct;
    }
  }

  /** Closes the connection; no event follows. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.pc.onicecandidate = this.pc.ontrack = this.pc.onconnectionstatechange = null;
    try { this.pc.close(); } catch { /* ignore */ }
  }
}
