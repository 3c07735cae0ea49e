// CallSession: one call as this device sees it (EMCallSession). The CallManager creates
// sessions and drives their state; the app reads the fields, shows the streams and calls
// the media methods.
import { CallStatus, CallType, ConnectType, DuetError, ErrorCode, NetworkStatus, StreamStatus } from './enums.js';
import { applySenderOptions, mediaConstraints } from './call_options.js';
import { StatsSampler, STATS_INTERVAL_MS, unknownStats } from './stats.js';
import { QualitySampler, firstMediaMs } from './quality.js';
import { WatermarkedTrack } from './watermark.js';
import { WarmUpTrack } from './warmup.js';

/** One call. Fields are read-only for the app; change them through the methods. */
export class CallSession {
  /**
   * @param {import('./call_manager.js').CallManager} manager
   * @param {Object} init
   * @param {string} init.callId
   * @param {string} init.localName
   * @param {string} init.remoteName
   * @param {number} init.type a {@link CallType}
   * @param {boolean} init.isCaller
   * @param {string} [init.ext]
   * @param {boolean} [init.willRecord]
   * @param {Array} [init.iceServers]
   * @param {string} [init.remoteDevice]
   */
  constructor(manager, init) {
    this._m = manager;
    /** @type {string} the server-assigned call id */
    this.callId = init.callId;
    /** @type {string} this user's name */
    this.localName = init.localName;
    /** @type {string} the other party's name */
    this.remoteName = init.remoteName;
    /** @type {number} a {@link CallType} */
    this.type = init.type;
    /** @type {boolean} whether this device started the call */
    this.isCaller = init.isCaller;
    /** @type {string} the caller's free-form extension string */
    this.ext = init.ext || '';
    /** @type {boolean} whether the server records the call */
    this.willRecord = !!init.willRecord;
    /** @type {string} the id of the server recording ("" until there is one) */
    this.serverVideoId = '';
    /** @type {string} the peer's device id once known (the callee knows the caller's at once) */
    this.remoteDevice = init.remoteDevice || '';
    /** @type {MediaStream|null} what this device captures (camera and microphone, or the app's tracks) */
    this.localStream = null;
    /** @type {MediaStream} the peer's audio and video; its tracks are live from pre-connect on */
    this.remoteStream = new MediaStream();
    /** @type {number} a {@link NetworkStatus}, refreshed with the statistics */
    this.networkStatus = NetworkStatus.Normal;
    /** @type {{audio: boolean, video: boolean}} streams the peer has paused (from call.stream) */
    this.remotePaused = { audio: false, video: false };
    /** @type {number} performance.now() when this device saw the call accepted (0 before) */
    this.acceptedAt = 0;
    this._iceServers = init.iceServers || [];
    this._status = CallStatus.Connecting;
    this._connectType = ConnectType.None;
    this._peers = new Map(); // remote device id → Peer
    this._sending = false;
    this._ended = false;
    this._paused = { audio: false, video: false }; // this side's pauses
    this._ownsLocal = false; // the SDK opened localStream, so it stops it
    this._media = null; // promise of localStream
    this._stats = unknownStats();
    this._sampler = null;
    this._statsTimer = 0;
    this._audioEl = null;
    this._speakerOn = true;
    this._localView = null;
    this._remoteView = null;
    this._remoteVideoStream = new MediaStream();
    this._watermark = null; // WatermarkedTrack
    this._warm = null; // WarmUpTrack while the call rings (docs/PROTOCOL.md "Warm-up video")
  }

  /** @type {number} the {@link CallStatus}: 2 Connecting, 3 Connected, 4 Accepted, 0 after the end */
  get status() { return this._status; }

  /** @type {number} the {@link ConnectType}: Direct or Relay once connected, None before */
  get connectType() { return this._connectType; }

  /** @type {boolean} whether the call has ended */
  get ended() { return this._ended; }

  /** @type {number} round-trip time of the media path in ms; -1 until known */
  get videoLatency() { return this._stats.videoLatency; }

  /** @type {number} video frames per second sent; -1 until known */
  get localVideoFrameRate() { return this._stats.localVideoFrameRate; }

  /** @type {number} video frames per second received and decoded; -1 until known */
  get remoteVideoFrameRate() { return this._stats.remoteVideoFrameRate; }

  /** @type {number} video kbit/s sent; -1 until known */
  get localVideoBitrate() { return this._stats.localVideoBitrate; }

  /** @type {number} video kbit/s received; -1 until known */
  get remoteVideoBitrate() { return this._stats.remoteVideoBitrate; }

  /** @type {number} loss of the sent video as the peer reports it, in percent; -1 until known */
  get localVideoLostRateInPercent() { return this._stats.localVideoLostRateInPercent; }

  /** @type {number} loss of the received video in percent; -1 until known */
  get remoteVideoLostRateInPercent() { return this._stats.remoteVideoLostRateInPercent; }

  /** @type {{width: number, height: number}} the received video size; -1 × -1 until known */
  get remoteVideoResolution() { return { ...this._stats.remoteVideoResolution }; }

  /**
   * Shows the local video in a <video> element (the seed's localVideoView); null detaches.
   * The element is muted so the microphone does not echo.
   * @param {HTMLVideoElement|null} el
   */
  set localVideoView(el) {
    if (this._localView && this._localView !== el) this._localView.srcObject = null;
    this._localView = el;
    if (!el) return;
    el.muted = true;
    el.playsInline = true;
    el.autoplay = true;
    el.srcObject = this.localStream ? new MediaStream(this.localStream.getVideoTracks()) : null;
    el.play().catch(() => {});
  }

  /** @type {HTMLVideoElement|null} */
  get localVideoView() { return this._localView; }

  /**
   * Shows the peer's video in a <video> element (the seed's remoteVideoView); null detaches.
   * The SDK plays the peer's audio itself (see setSpeaker), so the element only gets video.
   * @param {HTMLVideoElement|null} el
   */
  set remoteVideoView(el) {
    if (this._remoteView && this._remoteView !== el) this._remoteView.srcObject = null;
    this._remoteView = el;
    if (!el) return;
    el.muted = true;
    el.playsInline = true;
    el.autoplay = true;
    el.srcObject = this._remoteVideoStream;
    el.play().catch(() => {});
  }

  /** @type {HTMLVideoElement|null} */
  get remoteVideoView() { return this._remoteView; }

  /** Stops sending audio and tells the peer (its callStateDidChange gets VoicePause). @returns {Promise<void>} */
  pauseVoice() { return this._setStream(StreamStatus.VoicePause); }

  /** Restarts sending audio and tells the peer. @returns {Promise<void>} */
  resumeVoice() { return this._setStream(StreamStatus.VoiceResume); }

  /** Stops sending video (no packets at all, not black frames) and tells the peer. @returns {Promise<void>} */
  pauseVideo() { return this._setStream(StreamStatus.VideoPause); }

  /** Restarts sending video, beginning with a keyframe, and tells the peer. @returns {Promise<void>} */
  resumeVideo() { return this._setStream(StreamStatus.VideoResume); }

  /** @type {boolean} whether this side has paused its voice */
  get isVoicePaused() { return this._paused.audio; }

  /** @type {boolean} whether this side has paused its video */
  get isVideoPaused() { return this._paused.video; }

  async _setStream(st) {
    if (this._ended) throw new DuetError(ErrorCode.CallInvalidId, 'call has ended');
    const kind = st <= StreamStatus.VoiceResume ? 'audio' : 'video';
    this._paused[kind] = st % 2 === 0; // pauses are even, resumes odd
    if (this._sending) await this._refreshSenders();
    // The server relays call.stream only in an accepted call; earlier pauses are announced
    // when sending starts.
    if (this._status === CallStatus.Accepted) this._m._client._send('call.stream', { callId: this.callId, status: st });
  }

  /**
   * Switches to the next camera: the next video input when there are several, otherwise the
   * other facingMode (front/back on phones). Sending continues without renegotiation.
   * @returns {Promise<boolean>} whether the camera changed
   */
  async switchCameraPosition() {
    if (this._ended) throw new DuetError(ErrorCode.CallInvalidId, 'call has ended');
    if (this.type !== CallType.Video) return false;
    await this._media;
    if (!this._ownsLocal) throw new DuetError(ErrorCode.General, 'the app supplies the video track; switch it with replaceLocalTrack');
    const cur = this.localStream && this.localStream.getVideoTracks()[0];
    const base = mediaConstraints(this._m.callOptions, true).video;
    const settings = cur ? cur.getSettings() : {};
    const inputs = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput');
    let video;
    if (inputs.length > 1) {
      const i = inputs.findIndex((d) => d.deviceId === settings.deviceId);
      video = { ...base, facingMode: undefined, deviceId: { exact: inputs[(i + 1) % inputs.length].deviceId } };
    } else {
      video = { ...base, facingMode: { exact: settings.facingMode === 'environment' ? 'user' : 'environment' } };
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video });
    } catch (err) {
      if (inputs.length <= 1) return false; // one camera without a facingMode to switch to
      // Some phones cannot open two cameras at once: release the current one and retry.
      if (cur) cur.stop();
      stream = await navigator.mediaDevices.getUserMedia({ video });
    }
    await this.replaceLocalTrack(stream.getVideoTracks()[0]);
    if (cur) cur.stop();
    return true;
  }

  /**
   * Replaces the local audio or video track (custom media, another camera or microphone).
   * The session then owns nothing new: the caller stops the old track if it wants to.
   * @param {MediaStreamTrack} track
   * @returns {Promise<void>}
   */
  async replaceLocalTrack(track) {
    if (!this.localStream) this.localStream = new MediaStream();
    for (const t of this.localStream.getTracks()) if (t.kind === track.kind) this.localStream.removeTrack(t);
    this.localStream.addTrack(track);
    if (track.kind === 'video') {
      if (this._localView) this.localVideoView = this._localView;
      this._restartWatermark();
    }
    if (this._sending) await this._refreshSenders();
  }

  /**
   * Speaker (true) or earpiece (false). Where the browser can choose the audio output
   * (setSinkId) and an earpiece or headset output exists, the peer's audio moves there;
   * otherwise "earpiece" mutes the peer's audio and "speaker" unmutes it.
   * @param {boolean} on
   * @returns {Promise<'output'|'mute'>} how it was done
   */
  async setSpeaker(on) {
    this._speakerOn = on;
    const el = this._ensureAudioElement();
    if (typeof el.setSinkId === 'function' && navigator.mediaDevices && navigator.mediaDevices.enumerateDevices) {
      try {
        const outs = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audiooutput');
        const ear = outs.find((d) => /earpiece|handset|receiver|headset|headphone/i.test(d.label));
        if (ear) {
          const speaker = outs.find((d) => /speaker/i.test(d.label)) || { deviceId: 'default' };
          await el.setSinkId(on ? speaker.deviceId : ear.deviceId);
          el.muted = false;
          return 'output';
        }
      } catch { /* fall back to muting */ }
    }
    el.muted = !on;
    return 'mute';
  }

  /** @type {boolean} whether the speaker is on (see setSpeaker) */
  get isSpeakerOn() { return this._speakerOn; }

  /**
   * The raw WebRTC statistics of the call's media connection (null without one).
   * @returns {Promise<RTCStatsReport|null>}
   */
  async getStats() {
    const p = this._currentPeer();
    return p ? p.pc.getStats() : null;
  }

  // ---- driven by the CallManager ----

  _currentPeer() {
    return this._peers.get(this.remoteDevice) || this._peers.values().next().value || null;
  }

  /** Opens the local media once; the CallManager calls it when the call starts or rings. */
  _openMedia(provided) {
    if (this._media) return this._media;
    this._media = (async () => {
      let stream = provided || null;
      if (!stream) stream = await this._m._localStreamFor(this);
      if (!stream) {
        stream = await navigator.mediaDevices.getUserMedia(mediaConstraints(this._m.callOptions, this.type === CallType.Video));
        this._ownsLocal = true;
      }
      if (this._ended) {
        if (this._ownsLocal) stream.getTracks().forEach((t) => t.stop());
        return stream;
      }
      this.localStream = stream;
      if (this._localView) this.localVideoView = this._localView;
      this._restartWatermark();
      await this._refreshSenders();
      return stream;
    })();
    return this._media;
  }

  /** The track each sender carries now: null when paused or before media is open. */
  _sendTrack(kind) {
    return this._paused[kind] ? null : this._localTrack(kind);
  }

  _kinds() { return this.type === CallType.Video ? ['audio', 'video'] : ['audio']; }

  /** The track kind would carry when not paused (the watermarked one if any), or null. */
  _localTrack(kind) {
    if (!this.localStream) return null;
    if (kind === 'video' && this._watermark) return this._watermark.track;
    return (kind === 'audio' ? this.localStream.getAudioTracks() : this.localStream.getVideoTracks())[0] || null;
  }

  /** Applies the call options to one sender of a leg, once per track (or none yet). */
  async _applyOptions(p, kind, track) {
    const key = track ? track.id : '';
    if (p.optionsFor[kind] === key) return;
    p.optionsFor[kind] = key;
    const sender = p.sender(kind);
    if (!sender) return;
    const err = await applySenderOptions(sender, kind, this._m.callOptions, track);
    if (err) this._m._log('warn', 'sender options not applied', kind, err.message);
  }

  /**
   * Applies the call options to a leg once it is negotiated, while the call still rings, so
   * that accepting only attaches the tracks: one fewer round trip before the first frame.
   */
  async _prepareSenders(p) {
    if (this._ended || p.closed || this._sending) return;
    await Promise.all(this._kinds().map((kind) => this._applyOptions(p, kind, this._localTrack(kind))));
  }

  async _refreshSenders() {
    if (this._ended) return;
    if (!this._sending) {
      await Promise.all([...this._peers.values()].filter((p) => p.negotiated).map((p) => this._prepareSenders(p)));
      return;
    }
    const p = this._peers.get(this.remoteDevice);
    if (!p) return;
    await Promise.all(this._kinds().map(async (kind) => {
      const track = this._sendTrack(kind);
      // Parameters first, so that the encoder starts with them (bitrate cap, degradation).
      if (track) await this._applyOptions(p, kind, track);
      await p.setSendTrack(kind, track);
    }));
  }

  /**
   * Sends warm-up video on leg p while the call rings, when its device asked for it: black
   * frames, never the camera.
   */
  async _warmUp(p) {
    if (this._ended || this._sending || p.closed || !p.connected || !p.warmWanted || this.type !== CallType.Video) return;
    if (!this._warm) this._warm = new WarmUpTrack(this.localStream && this.localStream.getVideoTracks()[0]);
    await p.setSendTrack('video', this._warm.track);
  }

  _stopWarmUp() {
    if (this._warm) { this._warm.stop(); this._warm = null; }
  }

  /** Starts sending: the call is accepted and connected. */
  async _startSending() {
    this._sending = true;
    this._syncRemote();
    await this._refreshSenders();
    this._stopWarmUp(); // the camera has replaced it on the accepted leg
    for (const [kind, st] of [['audio', StreamStatus.VoicePause], ['video', StreamStatus.VideoPause]]) {
      if (this._paused[kind]) this._m._client._send('call.stream', { callId: this.callId, status: st });
    }
  }

  async _reapplyOptions() {
    for (const p of this._peers.values()) p.optionsFor = { audio: null, video: null };
    await this._refreshSenders();
  }

  _restartWatermark() {
    const wm = this._m._watermark;
    if (this._watermark) { this._watermark.stop(); this._watermark = null; }
    const cam = this.localStream && this.localStream.getVideoTracks()[0];
    if (wm && cam && this.type === CallType.Video && !this._ended) this._watermark = new WatermarkedTrack(cam, wm.option, wm.image);
    if (this._sending) this._refreshSenders().catch(() => {});
  }

  /** Points remoteStream (and the views) at the tracks of the current media connection. */
  _syncRemote() {
    const p = this._currentPeer();
    if (!p) return;
    const want = p.remoteStream.getTracks();
    for (const [stream, filter] of [[this.remoteStream, null], [this._remoteVideoStream, 'video']]) {
      for (const t of stream.getTracks()) if (!want.includes(t)) stream.removeTrack(t);
      for (const t of want) if ((!filter || t.kind === filter) && !stream.getTracks().includes(t)) stream.addTrack(t);
    }
    const audio = want.filter((t) => t.kind === 'audio');
    if (audio.length) {
      const el = this._ensureAudioElement();
      const cur = el.srcObject ? el.srcObject.getAudioTracks()[0] : null;
      if (cur !== audio[0]) {
        el.srcObject = new MediaStream([audio[0]]);
        el.play().catch(() => {});
      }
    }
  }

  _ensureAudioElement() {
    if (!this._audioEl) {
      this._audioEl = new Audio();
      this._audioEl.autoplay = true;
      this._audioEl.muted = !this._speakerOn;
    }
    return this._audioEl;
  }

  _startStats() {
    if (this._statsTimer || !this._m.callOptions.enableReportQuality) return;
    this._sampler = new StatsSampler();
    this._quality = new QualitySampler();
    const tick = async () => {
      const p = this._currentPeer();
      if (!p || this._ended) return;
      try {
        const report = await p.pc.getStats();
        if (this._ended) return;
        const expect = { audio: !this.remotePaused.audio, video: this.type === CallType.Video && !this.remotePaused.video };
        const { stats, network } = this._sampler.sample(report, expect, p.pc.connectionState);
        this._stats = stats;
        if (network !== this.networkStatus) {
          this.networkStatus = network;
          this._m._notify('callNetworkDidChange', this, network);
        }
        this._reportQuality(report, p);
      } catch { /* the connection closed under us */ }
    };
    this._statsTimer = setInterval(tick, STATS_INTERVAL_MS);
    tick();
  }

  // Sends the server this interval's quality sample (call.quality: one-way, best effort;
  // a sample that finds the connection down is not sent again), with the accept-to-first-
  // media time once it is known.
  _reportQuality(report, peer) {
    const smp = this._quality.sample(report, this.networkStatus, this._connectType);
    if (!smp) return;
    if (!this._firstMediaSent) {
      const ms = firstMediaMs(this.acceptedAt, peer.firstMediaAt);
      if (ms) { smp.firstMediaMs = ms; this._firstMediaSent = true; }
    }
    this._m._client._send('call.quality', { callId: this.callId, samples: [smp] });
  }

  _release() {
    clearInterval(this._statsTimer);
    this._statsTimer = 0;
    for (const p of this._peers.values()) p.close();
    this._peers.clear();
    if (this._watermark) { this._watermark.stop(); this._watermark = null; }
    this._stopWarmUp();
    if (this._ownsLocal && this.localStream) this.localStream.getTracks().forEach((t) => t.stop());
    if (this._audioEl) { this._audioEl.pause(); this._audioEl.srcObject = null; }
  }
}
