// CallOptions: per-client call settings (EMCallOptions), validated like the Go SDK's
// CallOptions.Validate in call_options.go, and their translation into getUserMedia
// constraints and RTCRtpSender parameters.
import { DuetError, ErrorCode, VideoResolution } from './enums.js';

/**
 * @typedef {Object} CallOptions
 * @property {number} pingInterval heartbeat in seconds; default 30, minimum 10 (applies at the next login)
 * @property {boolean} isSendPushIfOffline ask the server to push to an offline callee and keep ringing
 * @property {string} offlineMessageText push text for an offline callee
 * @property {number} videoResolution a {@link VideoResolution}; the camera is opened at that size
 * @property {number} maxVideoKbps video bitrate cap, 50–5000, or 0 for adaptive (RTCRtpSender maxBitrate)
 * @property {number} minVideoKbps floor of adaptive video bitrate, 0–maxVideoKbps (browsers offer no
 *   control for it: it is validated and kept, not applied)
 * @property {number} maxVideoFrameRate frame rate cap 0–60, 0 for the camera's rate (constraint and maxFramerate)
 * @property {number} maxAudioKbps audio bitrate cap 6–510, default 32 (RTCRtpSender maxBitrate)
 * @property {boolean} enableCustomizeVideoData the app supplies its own video track (see CallManager.setMediaOptions)
 * @property {boolean} enableReportQuality refresh the session's statistics every 2 s, report callNetworkDidChange and send the server quality samples (call.quality)
 * @property {boolean} enableCustomAudioData the app supplies its own audio track
 * @property {number} audioCustomSamples custom audio sample rate; default 48000
 * @property {number} audioCustomChannels must be 1
 * @property {boolean} isClarityFirst keep the resolution and drop frame rate on a weak network
 *   (degradationPreference "maintain-resolution")
 */

/**
 * Returns the seed's default options.
 * @returns {CallOptions}
 */
export function defaultCallOptions() {
  return {
    pingInterval: 30, isSendPushIfOffline: false, offlineMessageText: 'You have incoming call...',
    videoResolution: VideoResolution.Adaptive, maxVideoKbps: 0, minVideoKbps: 0, maxVideoFrameRate: 0,
    maxAudioKbps: 32, enableCustomizeVideoData: false, enableReportQuality: false, enableCustomAudioData: false,
    audioCustomSamples: 48000, audioCustomChannels: 1, isClarityFirst: false,
  };
}

/**
 * Checks every range the seed documents and throws a DuetError (UserIllegalArgument) naming
 * the first field out of range. Unknown fields are errors too, so typos do not pass silently.
 * @param {CallOptions} o
 * @throws {DuetError}
 */
export function validateCallOptions(o) {
  const bad = (msg) => new DuetError(ErrorCode.UserIllegalArgument, msg);
  const known = defaultCallOptions();
  for (const k of Object.keys(o)) {
    if (!(k in known)) throw bad(`unknown call option ${k}`);
    if (typeof o[k] !== typeof known[k]) throw bad(`${k} must be a ${typeof known[k]}`);
  }
  const int = (k) => Number.isInteger(o[k]);
  for (const k of Object.keys(known)) {
    if (typeof known[k] === 'number' && !int(k)) throw bad(`${k} must be an integer`);
  }
  if (o.pingInterval !== 0 && o.pingInterval < 10) throw bad(`pingInterval ${o.pingInterval}: the minimum is 10 seconds`);
  if (o.maxVideoKbps !== 0 && (o.maxVideoKbps < 50 || o.maxVideoKbps > 5000)) throw bad(`maxVideoKbps ${o.maxVideoKbps}: must be 0 (adaptive) or 50-5000`);
  if (o.minVideoKbps < 0 || (o.maxVideoKbps !== 0 && o.minVideoKbps > o.maxVideoKbps)) throw bad(`minVideoKbps ${o.minVideoKbps}: must be 0-maxVideoKbps`);
  if (o.maxVideoFrameRate < 0 || o.maxVideoFrameRate > 60) throw bad(`maxVideoFrameRate ${o.maxVideoFrameRate}: must be 0-60`);
  if (o.maxAudioKbps !== 0 && (o.maxAudioKbps < 6 || o.maxAudioKbps > 510)) throw bad(`maxAudioKbps ${o.maxAudioKbps}: must be 6-510`);
  if (o.videoResolution < VideoResolution.Adaptive || o.videoResolution > VideoResolution.Custom) throw bad(`videoResolution ${o.videoResolution}: unknown`);
  if (o.audioCustomChannels !== 0 && o.audioCustomChannels !== 1) throw bad(`audioCustomChannels ${o.audioCustomChannels}: must be 1`);
  if (o.audioCustomSamples < 0) throw bad(`audioCustomSamples ${o.audioCustomSamples}: must be positive`);
}

/** Target sizes of the VideoResolution values; Adaptive asks for 640x480 and takes what comes. */
const sizes = { 0: [640, 480], 1: [352, 288], 2: [640, 480], 3: [1280, 720] };

/**
 * getUserMedia constraints for a call of the given type under the options.
 * @param {CallOptions} o
 * @param {boolean} video whether the call is a video call
 * @returns {MediaStreamConstraints}
 */
export function mediaConstraints(o, video) {
  /** @type {MediaStreamConstraints} */
  const c = { audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true }, video: false };
  if (video) {
    const [w, h] = sizes[o.videoResolution] || sizes[0];
    // ideal, not exact: a camera that cannot do the size still opens (OverconstrainedError otherwise).
    c.video = { width: { ideal: w }, height: { ideal: h }, facingMode: 'user' };
    if (o.maxVideoFrameRate > 0) c.video.frameRate = { max: o.maxVideoFrameRate };
  }
  return c;
}

/**
 * Applies the options to a sender with RTCRtpSender.setParameters: maxBitrate, maxFramerate,
 * scaleResolutionDownBy (when the track is larger than the chosen resolution, e.g. a custom
 * track) and degradationPreference. Failures are returned, not thrown: a browser without one
 * of the knobs still makes calls.
 * @param {RTCRtpSender} sender
 * @param {'audio'|'video'} kind
 * @param {CallOptions} o
 * @param {MediaStreamTrack|null} track the track being sent, for its size
 * @returns {Promise<Error|null>}
 */
export async function applySenderOptions(sender, kind, o, track) {
  try {
    const p = sender.getParameters();
    if (!p.encodings || p.encodings.length === 0) p.encodings = [{}];
    const e = p.encodings[0];
    if (kind === 'audio') {
      if (o.maxAudioKbps > 0) e.maxBitrate = o.maxAudioKbps * 1000;
    } else {
      if (o.maxVideoKbps > 0) e.maxBitrate = o.maxVideoKbps * 1000; else delete e.maxBitrate;
      if (o.maxVideoFrameRate > 0) e.maxFramerate = o.maxVideoFrameRate; else delete e.maxFramerate;
      const target = sizes[o.videoResolution];
      const w = track && track.getSettings ? track.getSettings().width : 0;
      e.scaleResolutionDownBy = (o.videoResolution !== VideoResolution.Adaptive && target && w > target[0]) ? w / target[0] : 1;
      p.degradationPreference = o.isClarityFirst ? 'maintain-resolution' : 'balanced';
    }
    await sender.setParameters(p);
    return null;
  } catch (err) {
    return err;
  }
}
