// Unit tests of the browser SDK's quality samples (web/sdk/quality.js): getStats reports in,
// protocol samples (call.quality) out. In Node: no browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QualitySampler, firstMediaMs, MAX_QUALITY_SAMPLES } from '../sdk/quality.js';

// report builds an RTCStatsReport-like map of getStats entries.
function report(t, { audioIn = 0, videoIn = 0, recv = 0, lost = 0, freezes = 0, freezeSec = 0, concealed = 0, rtt = 0.04, remoteLoss = 0 }) {
  const entries = [
    ['T', { type: 'transport', timestamp: t, selectedCandidatePairId: 'P' }],
    ['P', { type: 'candidate-pair', timestamp: t, currentRoundTripTime: rtt }],
    ['IA', { type: 'inbound-rtp', kind: 'audio', timestamp: t, bytesReceived: audioIn, packetsReceived: recv, packetsLost: lost, jitter: 0.012, concealedSamples: concealed }],
    ['IV', { type: 'inbound-rtp', kind: 'video', timestamp: t, bytesReceived: videoIn, packetsReceived: 0, packetsLost: 0, framesPerSecond: 20, frameWidth: 640, frameHeight: 480, freezeCount: freezes, totalFreezesDuration: freezeSec }],
    ['OA', { type: 'outbound-rtp', kind: 'audio', timestamp: t, bytesSent: audioIn }],
    ['RV', { type: 'remote-inbound-rtp', kind: 'video', timestamp: t, fractionLost: remoteLoss }],
  ];
  return new Map(entries);
}

test('a sample is the interval between two reports, in the protocol\'s units and bounds', () => {
  const q = new QualitySampler();
  assert.equal(q.sample(report(1000, {}), 0, 1), null, 'the first report is the baseline');
  const smp = q.sample(report(3000, { audioIn: 8000, videoIn: 100000, recv: 80, lost: 20, freezes: 1, freezeSec: 0.5, concealed: 4800, remoteLoss: 0.25 }), 1, 1);
  assert.equal(smp.rttMs, 40);
  assert.equal(smp.lossIn, 0.2);
  assert.equal(smp.lossOut, 0.25);
  assert.equal(smp.jitterMs, 12);
  assert.equal(smp.audioKbpsIn, 32);
  assert.equal(smp.audioKbpsOut, 32);
  assert.equal(smp.videoKbpsIn, 400);
  assert.equal(smp.fpsIn, 20);
  assert.equal(smp.widthIn, 640);
  assert.equal(smp.freezes, 1);
  assert.equal(smp.freezeMs, 500);
  assert.equal(smp.concealedMs, 100);
  assert.equal(smp.networkStatus, 1);
  assert.equal(smp.connectType, 1);
  assert.ok(smp.at > 0);
  assert.equal(smp.videoKbpsOut, undefined, 'nothing sent: left out, as the Go SDK omits it');
});

test('a report not newer than the last gives no sample; values are clamped', () => {
  const q = new QualitySampler();
  q.sample(report(1000, {}), 0, 1);
  assert.equal(q.sample(report(1000, {}), 0, 1), null);
  const smp = q.sample(report(1001, { audioIn: 1e9, rtt: 120 }), 0, 2);
  assert.equal(smp.audioKbpsIn, 100000);
  assert.equal(smp.rttMs, 60000);
});

test('one device sends at most MAX_QUALITY_SAMPLES samples of a call', () => {
  const q = new QualitySampler();
  let n = 0;
  for (let i = 0; i <= MAX_QUALITY_SAMPLES + 5; i++) if (q.sample(report(1000 + i * 2000, {}), 0, 1)) n++;
  assert.equal(n, MAX_QUALITY_SAMPLES);
});

test('firstMediaMs is whole ms from the accept, at least 1, 0 while unknown', () => {
  assert.equal(firstMediaMs(1000, 1123.6), 124);
  assert.equal(firstMediaMs(1000, 900), 1);
  assert.equal(firstMediaMs(0, 900), 0);
  assert.equal(firstMediaMs(1000, 0), 0);
  assert.equal(firstMediaMs(1, 1e9), 60000);
});
