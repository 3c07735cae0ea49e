// Quality samples for the server (call.quality, docs/PROTOCOL.md "Call quality"): what one
// device measures of its call over each statistics interval, from RTCPeerConnection.getStats,
// with the same fields and bounds as the Go SDK's samples.

/** The most samples one device sends for one call (the server keeps 3,600). */
export const MAX_QUALITY_SAMPLES = 3600;

const MAX_KBPS = 100000;
const MAX_MS = 60000;
// Opus decodes at 48 kHz: concealed samples over 48 are concealed milliseconds.
const AUDIO_SAMPLES_PER_MS = 48;

const clamp = (v, hi) => Math.min(Math.max(Number.isFinite(v) ? v : 0, 0), hi);

/** Cumulative counters of one report: what the samples difference. */
function countersOf(report) {
  const c = {
    t: 0, inPackets: 0, inLost: 0, bytesIn: { audio: 0, video: 0 }, bytesOut: { audio: 0, video: 0 },
    freezes: 0, freezeSec: 0, concealed: 0, jitterMs: 0, fpsIn: 0, widthIn: 0, heightIn: 0,
    rttMs: 0, lossOut: 0, pair: null,
  };
  report.forEach((r) => {
    c.t = Math.max(c.t, r.timestamp || 0);
    if (r.type === 'transport' && r.selectedCandidatePairId) c.pair = report.get(r.selectedCandidatePairId);
  });
  report.forEach((r) => {
    const kind = r.kind || r.mediaType;
    if (r.type === 'inbound-rtp') {
      c.inPackets += r.packetsReceived || 0;
      c.inLost += Math.max(0, r.packetsLost || 0);
      c.bytesIn[kind] = (c.bytesIn[kind] || 0) + (r.bytesReceived || 0);
      if (kind === 'audio') {
        if (r.jitter != null) c.jitterMs = r.jitter * 1000;
        c.concealed += r.concealedSamples || 0;
      } else if (kind === 'video') {
        c.freezes += r.freezeCount || 0;
        c.freezeSec += r.totalFreezesDuration || 0;
        if (r.framesPerSecond != null) c.fpsIn = r.framesPerSecond;
        if (r.frameWidth) { c.widthIn = r.frameWidth; c.heightIn = r.frameHeight; }
      }
    } else if (r.type === 'outbound-rtp') {
      c.bytesOut[kind] = (c.bytesOut[kind] || 0) + (r.bytesSent || 0);
    } else if (r.type === 'remote-inbound-rtp') {
      // The peer's receiver reports: how much of what we send it lost.
      if (r.fractionLost != null) c.lossOut = Math.max(c.lossOut, r.fractionLost);
      if (!c.rttMs && r.roundTripTime) c.rttMs = r.roundTripTime * 1000;
    } else if (r.type === 'candidate-pair' && !c.pair && r.nominated && r.state === 'succeeded') {
      c.pair = r;
    }
  });
  if (c.pair && c.pair.currentRoundTripTime != null) c.rttMs = c.pair.currentRoundTripTime * 1000;
  return c;
}

/**
 * Turns successive getStats reports of one call into call.quality samples. Keep one per
 * call; the first report only sets the baseline.
 */
export class QualitySampler {
  constructor() {
    this._prev = null;
    this.sent = 0;
  }

  /**
   * @param {RTCStatsReport} report
   * @param {number} networkStatus the session's NetworkStatus now
   * @param {number} connectType the session's ConnectType now
   * @returns {object|null} a protocol QualitySample over the interval since the previous
   *   report, or null (the first report, a report not newer than the last, or the bound reached)
   */
  sample(report, networkStatus, connectType) {
    const cur = countersOf(report);
    const p = this._prev;
    if (p && cur.t <= p.t) return null;
    this._prev = cur;
    if (!p || this.sent >= MAX_QUALITY_SAMPLES) return null;
    const sec = (cur.t - p.t) / 1000;
    const kbps = (a, b) => clamp(((b - a) * 8) / sec / 1000, MAX_KBPS);
    const got = cur.inPackets - p.inPackets;
    const lost = cur.inLost - p.inLost;
    const smp = {
      at: Date.now(),
      rttMs: clamp(cur.rttMs, MAX_MS),
      lossIn: got + lost > 0 ? clamp(lost / (got + lost), 1) : 0,
      lossOut: clamp(cur.lossOut, 1),
      jitterMs: clamp(cur.jitterMs, MAX_MS),
      audioKbpsIn: kbps(p.bytesIn.audio, cur.bytesIn.audio),
      audioKbpsOut: kbps(p.bytesOut.audio, cur.bytesOut.audio),
      networkStatus, connectType,
    };
    const videoIn = kbps(p.bytesIn.video, cur.bytesIn.video);
    const videoOut = kbps(p.bytesOut.video, cur.bytesOut.video);
    if (videoIn) smp.videoKbpsIn = videoIn;
    if (videoOut) smp.videoKbpsOut = videoOut;
    if (cur.fpsIn) smp.fpsIn = clamp(cur.fpsIn, 240);
    if (cur.widthIn) { smp.widthIn = Math.min(cur.widthIn, 8192); smp.heightIn = Math.min(cur.heightIn, 8192); }
    const freezes = cur.freezes - p.freezes;
    if (freezes > 0) smp.freezes = Math.min(freezes, 10000);
    const freezeMs = Math.round((cur.freezeSec - p.freezeSec) * 1000);
    if (freezeMs > 0) smp.freezeMs = Math.min(freezeMs, MAX_MS);
    const concealedMs = Math.round((cur.concealed - p.concealed) / AUDIO_SAMPLES_PER_MS);
    if (concealedMs > 0) smp.concealedMs = Math.min(concealedMs, MAX_MS);
    this.sent++;
    return smp;
  }
}

/**
 * The accept-to-first-media time for a sample's firstMediaMs, in whole ms (at least 1,
 * at most 60 s), or 0 while either is unknown.
 * @param {number} acceptedAt performance.now() of the accept
 * @param {number} firstMediaAt performance.now() of the first remote media
 */
export function firstMediaMs(acceptedAt, firstMediaAt) {
  if (!acceptedAt || !firstMediaAt) return 0;
  return Math.min(Math.max(Math.round(firstMediaAt - acceptedAt), 1), MAX_MS);
}
