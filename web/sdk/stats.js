// Call statistics and network status from RTCPeerConnection.getStats, sampled every 2 s.
// The thresholds are documented in docs/PROTOCOL.md, "Browser network status".
import { NetworkStatus } from './enums.js';

/** Sampling interval of the statistics, in ms. */
export const STATS_INTERVAL_MS = 2000;
/** Packet loss (percent, inbound audio+video over one interval) from which the network is Unstable. */
export const UNSTABLE_LOSS_PERCENT = 10;
/** Round-trip time (ms) from which the network is Unstable. */
export const UNSTABLE_RTT_MS = 400;
/** Audio jitter (ms) from which the network is Unstable. */
export const UNSTABLE_JITTER_MS = 100;
/** Intervals without a single inbound byte (on streams the peer has not paused) that mean NoData. */
export const NODATA_INTERVALS = 2;

/**
 * @typedef {Object} CallStats
 * @property {number} videoLatency round-trip time of the selected candidate pair in ms
 * @property {number} localVideoFrameRate frames per second sent
 * @property {number} remoteVideoFrameRate frames per second decoded
 * @property {number} localVideoBitrate kbit/s sent
 * @property {number} remoteVideoBitrate kbit/s received
 * @property {number} localVideoLostRateInPercent loss the peer reports for our video (RTCP receiver reports)
 * @property {number} remoteVideoLostRateInPercent loss of the peer's video as we receive it
 * @property {{width: number, height: number}} remoteVideoResolution
 * Every number is -1 until known.
 */

/** @returns {CallStats} statistics that are not known yet */
export function unknownStats() {
  return {
    videoLatency: -1, localVideoFrameRate: -1, remoteVideoFrameRate: -1, localVideoBitrate: -1,
    remoteVideoBitrate: -1, localVideoLostRateInPercent: -1, remoteVideoLostRateInPercent: -1,
    remoteVideoResolution: { width: -1, height: -1 },
  };
}

/**
 * Turns successive getStats reports into CallStats and a network status. Keep one per
 * peer connection and feed it every report.
 */
export class StatsSampler {
  constructor() {
    this._prev = null; // {t, outVideoBytes, inVideoBytes, inBytes:{audio,video}, inPackets, inLost, videoRecv, videoLost}
    this._quiet = 0; // consecutive intervals with no inbound bytes
  }

  /**
   * @param {RTCStatsReport} report
   * @param {{audio: boolean, video: boolean}} expectInbound which remote streams should be flowing
   *   (false for a stream the peer paused, or video in a voice call)
   * @param {string} connectionState the RTCPeerConnection's connectionState
   * @returns {{stats: CallStats, network: number}}
   */
  sample(report, expectInbound, connectionState) {
    const s = unknownStats();
    const cur = { t: 0, outVideoBytes: 0, inBytes: { audio: 0, video: 0 }, inPackets: 0, inLost: 0, videoRecv: 0, videoLost: 0 };
    let jitterMs = -1;
    let rttMs = -1;
    let pair = null;
    report.forEach((r) => {
      cur.t = Math.max(cur.t, r.timestamp || 0);
      if (r.type === 'transport' && r.selectedCandidatePairId) pair = report.get(r.selectedCandidatePairId);
    });
    report.forEach((r) => {
      const kind = r.kind || r.mediaType;
      if (r.type === 'inbound-rtp') {
        cur.inBytes[kind] = (cur.inBytes[kind] || 0) + (r.bytesReceived || 0);
        cur.inPackets += r.packetsReceived || 0;
        cur.inLost += Math.max(0, r.packetsLost || 0);
        if (kind === 'audio' && r.jitter != null) jitterMs = r.jitter * 1000;
        if (kind === 'video') {
          cur.videoRecv += r.packetsReceived || 0;
          cur.videoLost += Math.max(0, r.packetsLost || 0);
          if (r.framesPerSecond != null) s.remoteVideoFrameRate = Math.round(r.framesPerSecond);
          if (r.frameWidth) s.remoteVideoResolution = { width: r.frameWidth, height: r.frameHeight };
        }
      } else if (r.type === 'outbound-rtp' && kind === 'video') {
        cur.outVideoBytes += r.bytesSent || 0;
        if (r.framesPerSecond != null) s.localVideoFrameRate = Math.round(r.framesPerSecond);
      } else if (r.type === 'remote-inbound-rtp' && kind === 'video') {
        if (r.fractionLost != null) s.localVideoLostRateInPercent = Math.round(r.fractionLost * 100);
      } else if (r.type === 'candidate-pair' && !pair && r.nominated && r.state === 'succeeded') {
        pair = r;
      }
    });
    if (pair && pair.currentRoundTripTime != null) rttMs = Math.round(pair.currentRoundTripTime * 1000);
    s.videoLatency = rttMs;
    const p = this._prev;
    let lossPercent = 0;
    let inboundDelta = 0;
    if (p && cur.t > p.t) {
      const dt = (cur.t - p.t) / 1000;
      s.localVideoBitrate = Math.round(((cur.outVideoBytes - p.outVideoBytes) * 8) / dt / 1000);
      s.remoteVideoBitrate = Math.round(((cur.inBytes.video - p.inBytes.video) * 8) / dt / 1000);
      const vr = cur.videoRecv - p.videoRecv;
      const vl = cur.videoLost - p.videoLost;
      if (vr + vl > 0) s.remoteVideoLostRateInPercent = Math.round((100 * vl) / (vr + vl));
      else if (expectInbound.video) s.remoteVideoLostRateInPercent = 0;
      const got = cur.inPackets - p.inPackets;
      const lost = cur.inLost - p.inLost;
      if (got + lost > 0) lossPercent = (100 * lost) / (got + lost);
      if (expectInbound.audio) inboundDelta += cur.inBytes.audio - p.inBytes.audio;
      if (expectInbound.video) inboundDelta += cur.inBytes.video - p.inBytes.video;
    }
    const expecting = expectInbound.audio || expectInbound.video;
    if (p && expecting && inboundDelta <= 0) this._quiet++;
    else this._quiet = 0;
    this._prev = cur;
    let network = NetworkStatus.Normal;
    if (connectionState === 'disconnected' || connectionState === 'failed' || this._quiet >= NODATA_INTERVALS) {
      network = NetworkStatus.NoData;
    } else if (lossPercent >= UNSTABLE_LOSS_PERCENT || rttMs >= UNSTABLE_RTT_MS || jitterMs >= UNSTABLE_JITTER_MS) {
      network = NetworkStatus.Unstable;
    }
    return { stats: s, network };
  }
}
