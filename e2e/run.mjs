// Browser end-to-end tests of the duet web SDK and demo app: real Debian Chromium driven by
// playwright-core against a real `duet server`, all inside the network namespace that
// scripts/test.d/60-browser.sh makes (loopback only). One browser, one scenario at a time.
//
// Environment: DUET_URL (http://127.0.0.1:PORT), DUET_BIN (the duet binary, for the Go peer),
// OUT_DIR (screenshots and logs), REPO_ROOT (for testdata/media), LATENCY_CALLS (default 10),
// LATENCY_RECORD=1 (the latency calls are recorded: through the server's relay).
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { demoScenarios } from './demo.mjs';
import { consoleTour } from './console.mjs';
import { crossOriginSDK, recordedCallSurvivesRestart, webPushEndToEnd } from './firstrun.mjs';

const BASE = process.env.DUET_URL || 'http://127.0.0.1:18080';
// A second server with a 3 s ring timeout, for the no-answer scenario only: every other
// scenario runs against BASE, whose ring timeout leaves room for a loaded machine.
const SHORT_RING = process.env.DUET_URL_SHORT_RING || 'http://127.0.0.1:18081';
const DUET_BIN = process.env.DUET_BIN || 'duet';
const OUT = process.env.OUT_DIR || 'test-output';
const REPO = process.env.REPO_ROOT || '..';
// The main server's data folder: the CLI reads the admin token from it.
const DATA_DIR = process.env.DATA_DIR || join(process.env.TMP_DIR || '.', 'data');
const LATENCY_CALLS = Number(process.env.LATENCY_CALLS || 10);
const LATENCY_RECORD = process.env.LATENCY_RECORD === '1';
const TIMEOUT = 20000; // connect and UI waits: generous, Chromium is CPU-hungry on 2 cores
const PASSWORD = 'pw-e2e-1';

// Exactly the launch recipe of shared/reference/test-environment.md.
const LAUNCH = {
  executablePath: '/usr/bin/chromium', headless: true, args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    '--allow-loopback-in-peer-connection',
    '--autoplay-policy=no-user-gesture-required'],
};
const PHONE = { width: 390, height: 780 };
const DESKTOP = { width: 960, height: 640 };

mkdirSync(OUT, { recursive: true });
const results = [];
const notes = [];
let browser;

function assert(cond, msg) { if (!cond) throw new Error(msg); }

/** Runs one scenario with an overall time limit and records pass/fail. */
async function scenario(name, fn, limitMs = 180000) {
  if (process.env.ONLY && !name.includes(process.env.ONLY)) return;
  const t0 = Date.now();
  const contexts = [];
  let timer;
  try {
    await Promise.race([
      fn(contexts),
      new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`scenario took longer than ${limitMs / 1000} s`)), limitMs); }),
    ]);
    results.push({ name, ok: true });
    console.log(`PASS ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (err) {
    results.push({ name, ok: false, err });
    console.log(`FAIL ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s): ${err.stack || err}`);
    for (const [i, c] of contexts.entries()) {
      for (const [j, p] of c.pages().entries()) {
        await p.screenshot({ path: join(OUT, `fail-${name.replace(/\W+/g, '_')}-${i}-${j}.png`) }).catch(() => {});
      }
    }
  } finally {
    clearTimeout(timer);
    for (const c of contexts) await c.close().catch(() => {});
  }
}

/** A user in their own browser context: opens the demo, registers and logs in. */
async function openUser(contexts, name, { viewport = PHONE, shot, login = false, base = BASE, permissions = ['camera', 'microphone'] } = {}) {
  const ctx = await browser.newContext({ viewport, permissions });
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`[${name}] page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') console.log(`[${name}] console: ${m.text()}`); });
  await page.goto(base + '/');
  await page.waitForSelector('body[data-ready="1"]', { timeout: TIMEOUT });
  if (shot) {
    await page.fill('#username', name);
    await page.screenshot({ path: join(OUT, shot) });
  }
  await page.fill('#username', name);
  await page.fill('#password', PASSWORD);
  await page.click(login ? '#btn-login' : '#btn-register');
  await page.waitForSelector('#screen-home:not([hidden])', { timeout: TIMEOUT });
  return page;
}

/** Waits until `who` is listed (and online) in page's people, searched by name. */
async function waitContact(page, who) {
  await page.fill('#search', who);
  await page.waitForFunction((w) => {
    const li = document.querySelector(`#contacts li[data-user="${w}"]`);
    if (li && li.classList.contains('online')) return true;
    if (!window.__lastRefresh || Date.now() - window.__lastRefresh > 1000) {
      window.__lastRefresh = Date.now();
      document.querySelector('.tabs button[data-tab="contacts"]').click();
    }
    return false;
  }, who, { timeout: TIMEOUT, polling: 250 });
}

async function dial(page, who, kind = 'video') {
  await waitContact(page, who);
  await page.click(`#contacts li[data-user="${who}"] button.${kind}`);
}

async function waitIncoming(page) {
  await page.waitForSelector('#screen-incoming:not([hidden])', { timeout: TIMEOUT });
}

/** Waits for the end toast with reason, and checks the SDK reported the same reason. */
async function waitEnded(page, reason, who, { sdk = true } = {}) {
  try {
    await page.waitForSelector(`#ended:not([hidden])[data-reason="${reason}"]`, { timeout: TIMEOUT });
  } catch (err) {
    const got = await page.evaluate(() => ({ toast: document.getElementById('ended').dataset.reason, text: document.getElementById('ended').innerText, calls: window.duetDemo.calls.slice(-1) }));
    throw new Error(`${who}: no end toast with reason ${reason}; saw ${JSON.stringify(got)}`);
  }
  const rec = await page.evaluate(() => window.duetDemo.calls[window.duetDemo.calls.length - 1]);
  assert(!sdk || (rec && rec.endReason === reason), `${who}: callDidEnd reason ${rec && rec.endReason}, want ${reason}`);
  const text = await page.innerText('#ended');
  // Let the toast go so the next wait does not see a stale one.
  await page.evaluate(() => { document.getElementById('ended').hidden = true; });
  return text.replace(/\s+/g, ' ').trim();
}

async function waitEvent(page, event, pred = {}, timeout = TIMEOUT) {
  await page.waitForFunction(([e, p]) => window.duetDemo.events.some((x) => x.event === e && Object.entries(p).every(([k, v]) => x[k] === v)), [event, pred], { timeout, polling: 100 });
}

/** What the remote <video> and getStats show right now. */
function media(page) {
  return page.evaluate(async () => {
    const v = document.getElementById('remote-video');
    const out = { videoWidth: v.videoWidth, videoHeight: v.videoHeight, currentTime: v.currentTime,
      painted: v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : -1,
      audio: { bytes: 0, packets: 0, samples: 0 }, video: { bytes: 0, frames: 0 } };
    const s = window.duetDemo.session;
    const report = s ? await s.getStats() : null;
    if (report) {
      report.forEach((r) => {
        if (r.type !== 'inbound-rtp') return;
        if (r.kind === 'audio') { out.audio.bytes += r.bytesReceived || 0; out.audio.packets += r.packetsReceived || 0; out.audio.samples += r.totalSamplesReceived || 0; }
        if (r.kind === 'video') { out.video.bytes += r.bytesReceived || 0; out.video.frames += r.framesDecoded || 0; }
      });
    }
    return out;
  });
}

/** Checks that remote audio and video flow and the remote <video> plays. */
async function assertPlaying(page, who, { audio = true } = {}) {
  await page.waitForFunction(() => document.getElementById('remote-video').videoWidth > 0, null, { timeout: TIMEOUT });
  const a = await media(page);
  await sleep(1500);
  const b = await media(page);
  assert(b.videoWidth > 0, `${who}: remote videoWidth ${b.videoWidth}`);
  assert(b.currentTime > a.currentTime, `${who}: remote currentTime did not advance (${a.currentTime} → ${b.currentTime})`);
  assert(b.video.bytes > a.video.bytes, `${who}: inbound video bytes did not grow (${a.video.bytes} → ${b.video.bytes})`);
  assert(b.video.frames > a.video.frames, `${who}: video framesDecoded did not grow (${a.video.frames} → ${b.video.frames})`);
  if (audio) {
    assert(b.audio.bytes > a.audio.bytes, `${who}: inbound audio bytes did not grow (${a.audio.bytes} → ${b.audio.bytes})`);
    assert(b.audio.samples > a.audio.samples, `${who}: audio totalSamplesReceived did not grow`);
  }
  return { a, b, fps: (b.video.frames - a.video.frames) / 1.5 };
}

function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function waitHealthy(base) {
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    try {
      const r = await fetch(base + '/healthz');
      if (r.ok) return;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error('server not healthy within 20 s');
    await sleep(100);
  }
}

// ---------------- scenarios ----------------

async function videoCall(contexts) {
  const alice = await openUser(contexts, 'alice', { viewport: DESKTOP });
  const bob = await openUser(contexts, 'bob', { shot: 'login.png' });
  await bob.screenshot({ path: join(OUT, 'home.png') });
  await dial(alice, 'bob', 'video');
  await waitIncoming(bob);
  await bob.waitForTimeout(300); // the ring animation settles for the screenshot
  await bob.screenshot({ path: join(OUT, 'incoming.png') });
  await bob.click('#btn-accept');
  await waitEvent(alice, 'callDidAccept');
  const pa = await assertPlaying(alice, 'caller');
  const pb = await assertPlaying(bob, 'callee');
  notes.push(`video call: caller receives ${pa.fps.toFixed(1)} fps, callee ${pb.fps.toFixed(1)} fps`);
  await alice.click('#btn-stats');
  await alice.waitForTimeout(2500); // one stats refresh for the overlay
  await alice.screenshot({ path: join(OUT, 'in-call-caller.png') });
  await bob.screenshot({ path: join(OUT, 'in-call.png') });

  // Callee pauses video: the caller hears of it and the remote video stops advancing.
  await bob.click('#btn-camera');
  await waitEvent(alice, 'callStateDidChange', { status: 2 }, 5000);
  await sleep(800); // frames in flight drain
  const p1 = await media(alice);
  await sleep(1500);
  const p2 = await media(alice);
  assert(p2.video.frames - p1.video.frames <= 1, `caller: video still decoding while paused (${p1.video.frames} → ${p2.video.frames})`);
  assert(p2.painted - p1.painted <= 1, `caller: remote <video> still painting while paused (${p1.painted} → ${p2.painted})`);
  assert(p2.audio.bytes > p1.audio.bytes, 'caller: audio stopped with the video');
  await alice.screenshot({ path: join(OUT, 'in-call-remote-paused.png') });
  // Resume: frames flow again.
  await bob.click('#btn-camera');
  await waitEvent(alice, 'callStateDidChange', { status: 3 }, 5000);
  await alice.waitForFunction((f) => window.duetDemo.session && document.getElementById('remote-video').getVideoPlaybackQuality().totalVideoFrames > f + 5, p2.painted, { timeout: 10000 });
  const r = await assertPlaying(alice, 'caller after resume');
  notes.push(`after resume: caller receives ${r.fps.toFixed(1)} fps`);

  // Caller hangs up: both show the end with Hangup.
  await alice.click('#btn-hangup');
  const ta = await waitEnded(alice, 0, 'caller');
  const tb = await waitEnded(bob, 0, 'callee');
  notes.push(`hang-up messages: caller "${ta}", callee "${tb}"`);
}

async function declineBusyElsewhereOffline(contexts) {
  const alice = await openUser(contexts, 'alice2');
  const bob = await openUser(contexts, 'bob2');
  // Decline.
  await dial(alice, 'bob2', 'voice');
  await waitIncoming(bob);
  await bob.click('#btn-decline');
  const d1 = await waitEnded(alice, 2, 'caller (decline)');
  await waitEnded(bob, 2, 'callee (decline)');
  // Busy: carol calls bob while bob talks to alice.
  const carol = await openUser(contexts, 'carol2');
  await dial(alice, 'bob2', 'voice');
  await waitIncoming(bob);
  await bob.click('#btn-accept');
  await waitEvent(alice, 'callDidAccept');
  await dial(carol, 'bob2', 'voice');
  const d3 = await waitEnded(carol, 3, 'third caller (busy)');
  assert((await alice.evaluate(() => window.duetDemo.session && window.duetDemo.session.status)) === 4, 'the call in progress did not survive the busy attempt');
  await alice.click('#btn-hangup');
  await waitEnded(alice, 0, 'caller');
  await waitEnded(bob, 0, 'callee');
  // Answered elsewhere: bob2 on a second device; the first device answers, the second
  // stops ringing with reason 10.
  const bobPhone = await openUser(contexts, 'bob2', { login: true });
  await dial(alice, 'bob2', 'voice');
  await waitIncoming(bob);
  await waitIncoming(bobPhone);
  await bob.click('#btn-accept');
  const d4 = await waitEnded(bobPhone, 10, 'second device (answered elsewhere)');
  await waitEvent(alice, 'callDidAccept');
  await alice.click('#btn-hangup');
  await waitEnded(alice, 0, 'caller');
  await waitEnded(bob, 0, 'callee');
  // Offline: a user with no device online.
  const dave = await openUser(contexts, 'dave2');
  await dave.click('#btn-logout');
  await dave.waitForSelector('#screen-login:not([hidden])');
  await alice.fill('#search', 'dave2');
  await alice.waitForFunction(() => {
    const li = document.querySelector('#contacts li[data-user="dave2"]');
    if (li && !li.classList.contains('online')) return true;
    document.querySelector('.tabs button[data-tab="contacts"]').click();
    return false;
  }, null, { timeout: TIMEOUT, polling: 1000 });
  await alice.click('#contacts li[data-user="dave2"] button.voice');
  // startCall itself fails with 802 (no call id, so no callDidEnd); the app shows reason 6.
  const d5 = await waitEnded(alice, 6, 'caller (offline)', { sdk: false });
  // The history lists these calls.
  await alice.click('.tabs button[data-tab="history"]');
  await alice.waitForFunction(() => document.querySelectorAll('#history li').length >= 4, null, { timeout: TIMEOUT });
  await alice.screenshot({ path: join(OUT, 'history.png') });
  notes.push(`end messages: decline "${d1}", busy "${d3}", answered elsewhere "${d4}", offline "${d5}"`);
}

async function noAnswer(contexts) {
  const alice = await openUser(contexts, 'alice7', { base: SHORT_RING });
  const bob = await openUser(contexts, 'bob7', { base: SHORT_RING });
  await dial(alice, 'bob7', 'voice');
  await waitIncoming(bob);
  const t0 = Date.now();
  const d2 = await waitEnded(alice, 1, 'caller (no answer)');
  await waitEnded(bob, 1, 'callee (no answer)');
  const rang = Date.now() - t0;
  assert(await bob.isHidden('#screen-incoming'), 'callee: incoming screen still up after NoResponse');
  notes.push(`no answer: "${d2}" after ${(rang / 1000).toFixed(1)} s of ringing (server --ring-timeout 3s)`);
}

/** Starts `duet call --answer` as user; returns its JSON lines and a way to wait for its exit. */
function spawnGoAnswerer(user, prefix) {
  const args = ['call', '--answer', '--loopback', '--json', '--send', join(REPO, 'testdata/media/tone-440.ogg'),
    '--send', join(REPO, 'testdata/media/pattern-320x240.ivf'), '--save-remote', prefix,
    '--user', user, '--password', 'pw', '--register', '--server', BASE, '--timeout', '90s'];
  const go = spawn(DUET_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const g = { proc: go, lines: [], stderr: '' };
  go.stdout.setEncoding('utf8');
  let buf = '';
  go.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i); buf = buf.slice(i + 1);
      try { g.lines.push(JSON.parse(line)); } catch { /* not JSON */ }
    }
  });
  go.stderr.on('data', (d) => { g.stderr += d; });
  g.exited = new Promise((res) => go.on('exit', (code) => res(code)));
  g.loggedIn = async () => {
    const t0 = Date.now();
    while (!g.lines.some((l) => l.event === 'loggedIn')) {
      assert(Date.now() - t0 < TIMEOUT, `duet call did not log in: ${g.stderr}`);
      await sleep(100);
    }
  };
  g.stop = (log) => {
    if (go.exitCode === null) go.kill('SIGTERM');
    writeFileSync(join(OUT, log), g.lines.map((l) => JSON.stringify(l)).join('\n') + '\n' + g.stderr);
  };
  return g;
}

/** ffprobe's view of one stream of a media file. */
function probe(file, stream) {
  return JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', stream,
    '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'json', file], { encoding: 'utf8' })).streams[0];
}

/** Runs the duet CLI against BASE (admin token from the main server's data folder), returns its JSON. */
function duetJSON(...args) {
  return JSON.parse(execFileSync(DUET_BIN, [...args, '--server', BASE, '--data', DATA_DIR, '--json'], { encoding: 'utf8' }));
}

async function browserToGo(contexts) {
  const prefix = join(OUT, 'go-got');
  const go = spawnGoAnswerer('gouser', prefix);
  try {
    await go.loggedIn();
    const alice = await openUser(contexts, 'alice3', { viewport: DESKTOP });
    await dial(alice, 'gouser', 'video');
    await waitEvent(alice, 'callDidAccept'); // duet call answers after --after (1 s)
    const p = await assertPlaying(alice, 'browser (from Go)');
    const size = await alice.evaluate(() => [document.getElementById('remote-video').videoWidth, document.getElementById('remote-video').videoHeight]);
    notes.push(`browser↔Go: the browser decodes the Go side's ${size[0]}x${size[1]} VP8 at ${p.fps.toFixed(1)} fps`);
    await sleep(2000); // more media for the Go side's files
    await alice.screenshot({ path: join(OUT, 'in-call-go.png') });
    await alice.click('#btn-hangup');
    await waitEnded(alice, 0, 'browser');
    const code = await Promise.race([go.exited, sleep(TIMEOUT).then(() => 'timeout')]);
    assert(code === 0, `duet call exited ${code}: ${go.stderr}\n${JSON.stringify(go.lines)}`);
    const end = go.lines.find((l) => l.event === 'callDidEnd');
    assert(end && end.reason === 0, `Go side: callDidEnd ${JSON.stringify(end)}`);
    const ogg = statSync(prefix + '.ogg').size;
    const ivf = statSync(prefix + '.ivf').size;
    assert(ogg > 1000 && ivf > 1000, `Go side saved ${ogg} bytes of audio and ${ivf} of video`);
    const v = probe(prefix + '.ivf', 'v:0');
    assert(v && v.codec_name === 'vp8' && Number(v.nb_read_frames) > 20, `ffprobe of the Go side's video: ${JSON.stringify(v)}`);
    const a = probe(prefix + '.ogg', 'a:0');
    assert(a && a.codec_name === 'opus' && Number(a.nb_read_frames) > 50, `ffprobe of the Go side's audio: ${JSON.stringify(a)}`);
    notes.push(`browser↔Go: the Go side saved ${v.nb_read_frames} VP8 frames (${v.width}x${v.height}) and ${a.nb_read_frames} Opus frames; ffprobe decodes both`);
  } finally {
    go.stop('go-call.log');
  }
}

/**
 * A recorded browser↔Go call: media goes through the server's relay, each party's
 * recording is listed under the call's serverVideoId, downloads, and ffprobe decodes an
 * Opus and a VP8 stream from each file for about as long as the call lasted.
 */
async function recordedBrowserToGo(contexts) {
  const go = spawnGoAnswerer('gorec', join(OUT, 'go-rec-got'));
  try {
    await go.loggedIn();
    const alice = await openUser(contexts, 'alice8', { viewport: DESKTOP });
    await alice.check('#opt-record');
    await dial(alice, 'gorec', 'video');
    await waitEvent(alice, 'callDidAccept');
    const acceptedAt = Date.now();
    await assertPlaying(alice, 'browser (from Go, through the relay)');
    const svid = await alice.evaluate(() => window.duetDemo.session.serverVideoId);
    assert(svid, 'no serverVideoId at the browser');
    const connected = go.lines.find((l) => l.event === 'callDidConnect' && l.serverVideoId);
    assert(connected && connected.serverVideoId === svid, `Go side's serverVideoId ${JSON.stringify(connected)} vs ${svid}`);
    const t0 = Date.now();
    await sleep(4000);
    await alice.click('#btn-hangup');
    const callMs = Date.now() - t0;
    const sinceAccept = Date.now() - acceptedAt;
    await waitEnded(alice, 0, 'browser');
    await Promise.race([go.exited, sleep(TIMEOUT)]);

    let recs = [];
    const deadline = Date.now() + TIMEOUT;
    for (;;) {
      recs = duetJSON('recording', 'list', '--server-video-id', svid, '--type', 'ONLY_REC_ONE_AV');
      if (recs.length === 2 && recs.every((r) => r.status === 'ready')) break;
      assert(Date.now() < deadline, `recordings of ${svid}: ${JSON.stringify(recs)}`);
      await sleep(250);
    }
    const owners = recs.map((r) => r.owner).sort();
    assert(owners.join() === 'alice8,gorec', `owners ${owners}`);
    const seen = [];
    for (const r of recs) {
      const file = join(OUT, `recording-${r.owner}.webm`);
      execFileSync(DUET_BIN, ['recording', 'download', r.id, '-o', file, '--server', BASE, '--data', DATA_DIR]);
      assert(statSync(file).size === r.size, `${r.owner}: downloaded ${statSync(file).size} bytes, listed ${r.size}`);
      const v = probe(file, 'v:0');
      const a = probe(file, 'a:0');
      assert(v && v.codec_name === 'vp8' && Number(v.nb_read_frames) > 30, `${r.owner}'s video: ${JSON.stringify(v)}`);
      assert(a && a.codec_name === 'opus' && Number(a.nb_read_frames) > 100, `${r.owner}'s audio: ${JSON.stringify(a)}`);
      const dur = Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { encoding: 'utf8' }));
      // At least the time media was seen playing, at most the time since accept (+ slack).
      assert(dur > callMs / 1000 - 0.5 && dur < sinceAccept / 1000 + 1, `${r.owner}'s recording lasts ${dur} s; media played ${callMs} ms, accepted ${sinceAccept} ms before the hang-up`);
      seen.push(`${r.owner} ${v.width}x${v.height} ${v.nb_read_frames} VP8 + ${a.nb_read_frames} Opus frames, ${dur.toFixed(1)} s`);
    }
    notes.push(`recorded browser↔Go call (${(callMs / 1000).toFixed(1)} s after media): ${seen.join('; ')}`);
  } finally {
    go.stop('go-rec-call.log');
  }
}

async function recordedCall(contexts) {
  const alice = await openUser(contexts, 'alice5', { viewport: DESKTOP });
  const bob = await openUser(contexts, 'bob5');
  await alice.check('#opt-record');
  await dial(alice, 'bob5', 'video');
  await waitIncoming(bob);
  await bob.click('#btn-accept');
  await waitEvent(alice, 'callDidAccept');
  await assertPlaying(alice, 'caller (through the relay)');
  await assertPlaying(bob, 'callee (through the relay)');
  const ids = await Promise.all([alice, bob].map((p) => p.evaluate(() => {
    const s = window.duetDemo.session;
    return { id: s.serverVideoId, ct: s.connectType, rec: s.willRecord };
  })));
  assert(ids[0].id && ids[0].id === ids[1].id, `serverVideoId: caller ${ids[0].id}, callee ${ids[1].id}`);
  assert(ids[0].ct === 2 && ids[1].ct === 2 && ids[0].rec && ids[1].rec, `recorded call: ${JSON.stringify(ids)}`);
  await alice.screenshot({ path: join(OUT, 'in-call-recorded.png') });
  await alice.click('#btn-hangup');
  await waitEnded(alice, 0, 'caller');
  await waitEnded(bob, 0, 'callee');
  notes.push(`recorded call through the server relay: serverVideoId ${ids[0].id}, connectType Relay on both sides`);
}

/**
 * Text messages with the web SDK's ChatManager: browser→browser in order with ext, an
 * unknown recipient refused with 204, browser→Go (`duet message listen`) and Go→browser
 * (`duet message send`).
 */
async function textMessages(contexts) {
  const listen = spawn(DUET_BIN, ['message', 'listen', '--json', '--user', 'golisten', '--password', 'pw', '--register',
    '--server', BASE, '--count', '2', '--timeout', '60s'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  listen.stdout.setEncoding('utf8');
  listen.stdout.on('data', (d) => { out += d; });
  listen.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((res) => listen.on('exit', (code) => res(code)));
  try {
    const alice = await openUser(contexts, 'alice9');
    const bob = await openUser(contexts, 'bob9');
    await bob.evaluate(() => {
      window.__msgs = [];
      window.duetDemo.client.chatManager.addDelegate({ messagesDidReceive: (ms) => window.__msgs.push(...ms) });
    });
    const sent = await alice.evaluate(async () => {
      const chat = window.duetDemo.client.chatManager;
      const out = [];
      for (let i = 1; i <= 3; i++) out.push(await chat.sendMessage('bob9', `hello ${i}`, i === 2 ? { em_apns_ext: { em_push_title: 'Hi' } } : undefined));
      let code = 0;
      try { await chat.sendMessage('nobody-here', 'x'); } catch (e) { code = e.code; }
      await chat.sendMessage('golisten', 'to go 1');
      await chat.sendMessage('golisten', 'to go 2', { n: 2 });
      return { ids: out.map((m) => m.id), code };
    });
    assert(sent.code === 204, `unknown recipient: code ${sent.code}, want 204`);
    await bob.waitForFunction(() => window.__msgs.length >= 3, null, { timeout: TIMEOUT });
    const got = await bob.evaluate(() => window.__msgs);
    assert(got.map((m) => m.text).join('|') === 'hello 1|hello 2|hello 3', `bob got ${JSON.stringify(got)}`);
    assert(got.every((m, i) => m.from === 'alice9' && m.id === sent.ids[i]), `ids/from: ${JSON.stringify(got)}`);
    assert(got[1].ext && got[1].ext.em_apns_ext && got[1].ext.em_apns_ext.em_push_title === 'Hi', `ext: ${JSON.stringify(got[1])}`);
    const code = await Promise.race([exited, sleep(TIMEOUT).then(() => 'timeout')]);
    const lines = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert(code === 0 && lines.length === 2 && lines[0].text === 'to go 1' && lines[1].ext && lines[1].ext.n === 2,
      `duet message listen exited ${code}: ${out} ${err}`);
    execFileSync(DUET_BIN, ['message', 'send', '--user', 'gosend', '--password', 'pw', '--register', '--server', BASE,
      '--to', 'bob9', '--ext', '{"from":"go"}', 'hello from Go']);
    await bob.waitForFunction(() => window.__msgs.length >= 4, null, { timeout: TIMEOUT });
    const last = await bob.evaluate(() => window.__msgs[3]);
    assert(last.from === 'gosend' && last.text === 'hello from Go' && last.ext.from === 'go', `from Go: ${JSON.stringify(last)}`);
    notes.push('text messages: browser→browser 3 in order with ext, unknown recipient 204, browser→Go 2, Go→browser 1');
  } finally {
    if (listen.exitCode === null) listen.kill('SIGTERM');
  }
}

/** Reads the remote video's pixel at (x, y), in video pixels. */
function remotePixel(page, x, y) {
  return page.evaluate(([px, py]) => {
    const v = document.getElementById('remote-video');
    const c = document.createElement('canvas');
    c.width = v.videoWidth; c.height = v.videoHeight;
    const g = c.getContext('2d');
    g.drawImage(v, 0, 0);
    return [...g.getImageData(px, py, 1, 1).data.slice(0, 3)];
  }, [x, y]);
}

async function sdkOptions(contexts) {
  const alice = await openUser(contexts, 'alice6');
  const bob = await openUser(contexts, 'bob6');
  await dial(alice, 'bob6', 'video');
  await waitIncoming(bob);
  await bob.click('#btn-accept');
  await waitEvent(alice, 'callDidAccept');
  await assertPlaying(bob, 'callee');

  // Options: ranges are validated; valid ones reach the sender's parameters mid-call.
  const opt = await alice.evaluate(async () => {
    const m = window.duetDemo.client.callManager;
    let bad = null;
    try { m.setCallOptions({ maxVideoKbps: 10 }); } catch (e) { bad = e.code; }
    m.setCallOptions({ maxVideoKbps: 800, maxVideoFrameRate: 15, isClarityFirst: true });
    await new Promise((r) => setTimeout(r, 300));
    const p = window.duetDemo.session.getStats && window.duetDemo.session._currentPeer().sender('video').getParameters();
    return { bad, maxBitrate: p.encodings[0].maxBitrate, maxFramerate: p.encodings[0].maxFramerate, degradation: p.degradationPreference };
  });
  assert(opt.bad === 205, `an out-of-range option was not refused with 205: ${opt.bad}`);
  assert(opt.maxBitrate === 800000 && opt.maxFramerate === 15, `sender parameters ${JSON.stringify(opt)}`);

  // Watermark: a red block at 16,16 from the top left appears in what the callee receives.
  await alice.evaluate(async () => {
    const c = document.createElement('canvas');
    c.width = 96; c.height = 64;
    const g = c.getContext('2d');
    g.fillStyle = '#ff0000';
    g.fillRect(0, 0, 96, 64);
    await window.duetDemo.client.callManager.addVideoWatermark({ image: c, marginX: 16, marginY: 16, startPoint: 0 });
  });
  await bob.waitForFunction(() => {
    const v = document.getElementById('remote-video');
    const c = document.createElement('canvas');
    c.width = v.videoWidth; c.height = v.videoHeight;
    const g = c.getContext('2d');
    g.drawImage(v, 0, 0);
    const [r, gr, b] = g.getImageData(60, 44, 1, 1).data;
    return r > 180 && gr < 90 && b < 90;
  }, null, { timeout: 10000, polling: 200 });
  const withMark = await remotePixel(bob, 60, 44);
  await alice.evaluate(() => window.duetDemo.client.callManager.clearVideoWatermark());
  await bob.waitForFunction(() => {
    const v = document.getElementById('remote-video');
    const c = document.createElement('canvas');
    c.width = v.videoWidth; c.height = v.videoHeight;
    const g = c.getContext('2d');
    g.drawImage(v, 0, 0);
    return g.getImageData(60, 44, 1, 1).data[0] < 120;
  }, null, { timeout: 10000, polling: 200 });
  await assertPlaying(bob, 'callee after the watermark');

  // Speaker and camera switch on a machine with one camera and one output.
  const dev = await bob.evaluate(async () => {
    const s = window.duetDemo.session;
    const how = await s.setSpeaker(false);
    const muted = s._audioEl.muted;
    await s.setSpeaker(true);
    const switched = await s.switchCameraPosition();
    return { how, muted, unmuted: !s._audioEl.muted, switched };
  });
  assert(dev.how === 'mute' && dev.muted && dev.unmuted, `speaker toggle: ${JSON.stringify(dev)}`);
  await assertPlaying(alice, 'caller after the callee switched cameras');

  // The callee's signalling connection drops: the SDK reconnects (hello with the live call),
  // the call and its media carry on, and hanging up still reaches both sides.
  const t0 = Date.now();
  await bob.evaluate(() => window.duetDemo.client._conn.ws.close());
  await waitEvent(bob, 'connectionStateDidChange', { state: 0 }, 5000);
  await waitEvent(bob, 'connectionStateDidChange', { state: 1 }, 15000);
  const back = Date.now() - t0;
  assert((await bob.evaluate(() => window.duetDemo.session && window.duetDemo.session.status)) === 4, 'callee: the call did not survive the reconnect');
  await assertPlaying(alice, 'caller after the callee reconnected');
  await alice.click('#btn-hangup');
  await waitEnded(alice, 0, 'caller');
  await waitEnded(bob, 0, 'callee');
  notes.push(`SDK options: 205 for maxVideoKbps 10; maxBitrate/maxFramerate/degradation on the sender ${opt.maxBitrate}/${opt.maxFramerate}/${opt.degradation}; watermark pixel at the callee ${withMark.join(',')}; speaker off → ${dev.how}; switchCameraPosition → ${dev.switched}; signalling reconnect in ${back} ms with the call kept`);
}

/**
 * Before accept: the caller's warm-up video arrives (frames decoded) and shows nothing but
 * black — no camera content leaves a device before the call is accepted.
 */
async function assertWarmUpOnly(page) {
  await page.waitForFunction(() => document.getElementById('remote-video').videoWidth > 0, null, { timeout: TIMEOUT });
  const m = await media(page);
  assert(m.video.frames > 0, `no warm-up frames decoded before accept: ${JSON.stringify(m)}`);
  assert(m.audio.bytes === 0, `audio received before accept: ${JSON.stringify(m.audio)}`);
  const max = await page.evaluate(() => {
    const v = document.getElementById('remote-video');
    const c = document.createElement('canvas');
    c.width = v.videoWidth; c.height = v.videoHeight;
    const g = c.getContext('2d');
    g.drawImage(v, 0, 0);
    const px = g.getImageData(0, 0, c.width, c.height).data;
    let m = 0;
    for (let i = 0; i < px.length; i += 4) m = Math.max(m, px[i], px[i + 1], px[i + 2]);
    return m;
  });
  assert(max <= 24, `the picture before accept is not black: max channel value ${max}`);
  notes.push(`before accept: ${m.video.frames} warm-up frames (${m.video.bytes} bytes) decoded at the callee, all black (max channel ${max}), no audio`);
}

async function acceptLatency(contexts) {
  const alice = await openUser(contexts, 'alice4');
  const bob = await openUser(contexts, 'bob4');
  const callee = [];
  const caller = [];
  const calleeOld = []; // the same calls as the demo timed them before the fix
  const parts = { told: [], sent: [], shown: [], calleeSent: [], callerShown: [] }; // where the time went
  if (LATENCY_RECORD) await alice.check('#opt-record');
  for (let i = 0; i < LATENCY_CALLS; i++) {
    await dial(alice, 'bob4', 'video');
    await waitIncoming(bob);
    // A person takes a moment to answer; by then the call is pre-connected.
    await waitEvent(bob, 'callDidConnect', { callId: await bob.evaluate(() => window.duetDemo.session.callId) });
    await sleep(300);
    if (i === 0 && !LATENCY_RECORD) await assertWarmUpOnly(bob);
    await bob.click('#btn-accept');
    await bob.waitForFunction(() => { const c = window.duetDemo.calls.at(-1); return c.firstFrameAt > 0; }, null, { timeout: TIMEOUT });
    await alice.waitForFunction(() => { const c = window.duetDemo.calls.at(-1); return c.firstFrameAt > 0; }, null, { timeout: TIMEOUT });
    const b = await bob.evaluate(() => window.duetDemo.calls.at(-1));
    const a = await alice.evaluate(() => window.duetDemo.calls.at(-1));
    callee.push(b.firstFrameAt - b.acceptAt);
    caller.push(a.firstFrameAt - a.acceptAt);
    if (b.firstFrameAtOld) calleeOld.push(b.firstFrameAtOld - b.acceptAt);
    if (a.frameReceivedAt && b.frameReceivedAt) {
      // On the clock both pages share (epoch ms): the callee's tap, the caller told, the
      // frame's last packet in at the callee, the frame shown there; and the other way.
      const tap = b.epoch + b.acceptAt, told = a.epoch + a.acceptAt;
      parts.told.push(told - tap);
      parts.sent.push(b.epoch + b.frameReceivedAt - told);
      parts.shown.push(b.firstFrameAt - b.frameReceivedAt);
      parts.calleeSent.push(a.epoch + a.frameReceivedAt - tap);
      parts.callerShown.push(a.firstFrameAt - a.frameReceivedAt);
    }
    await alice.click('#btn-hangup');
    await waitEnded(alice, 0, 'caller');
    await waitEnded(bob, 0, 'callee');
  }
  const fmt = (xs) => {
    const s = [...xs].sort((x, y) => x - y);
    return `p50 ${pct(s, 50).toFixed(0)} ms, p95 ${pct(s, 95).toFixed(0)} ms (n=${s.length}; min ${s[0].toFixed(0)}, max ${s.at(-1).toFixed(0)})`;
  };
  const how = LATENCY_RECORD ? ' (recorded: through the relay)' : '';
  notes.push(`accept click → first remote frame at the callee${how}: ${fmt(callee)}`);
  notes.push(`callDidAccept → first remote frame at the caller${how}: ${fmt(caller)}`);
  notes.push(`callee samples (ms): ${callee.map((x) => x.toFixed(0)).join(' ')}`);
  if (parts.told.length) {
    const med = (xs) => pct([...xs].sort((x, y) => x - y), 50).toFixed(0);
    notes.push(`where the callee's time goes (medians, n=${parts.told.length}): tap → caller told (callDidAccept) ${med(parts.told)} ms; ` +
      `→ the caller's first camera frame in at the callee (swap, capture, encode, send) ${med(parts.sent)} ms; → shown (jitter buffer, decode, render) ${med(parts.shown)} ms`);
    notes.push(`and the caller's: tap → the callee's first camera frame in at the caller ${med(parts.calleeSent)} ms; → shown ${med(parts.callerShown)} ms`);
  }
  if (calleeOld.length) {
    notes.push(`the same calls timed the old way (first lit frame, any presentation time): ${fmt(calleeOld)}; ${calleeOld.filter((x) => x < 0).length} dated before the accept`);
  }
}

// ---------------- main ----------------

const started = Date.now();

/** The operator's console: log in with the admin token, see the dashboard, end a live call
 * between two browsers (both show it ended, reason 103), then find it among the call records
 * and open its page; users with paging. Screenshots of each page. */
async function operatorConsole(contexts) {
  const alice = await openUser(contexts, 'opal', { viewport: DESKTOP });
  const bob = await openUser(contexts, 'otto');
  await dial(alice, 'otto', 'video');
  await waitIncoming(bob);
  await bob.click('#btn-accept');
  await waitEvent(alice, 'callDidAccept');

  const ctx = await browser.newContext({ viewport: DESKTOP });
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`[console] page error: ${e.message}`));
  page.on('dialog', (d) => d.accept());
  await page.goto(BASE + '/console/');
  await page.waitForSelector('input[name="token"]', { timeout: TIMEOUT });
  await page.fill('input[name="token"]', readFileSync(join(DATA_DIR, 'admin-token'), 'utf8').trim());
  await page.click('button[type="submit"]');
  await page.waitForSelector('h1:text("Dashboard")', { timeout: TIMEOUT });
  await page.waitForSelector('.card', { timeout: TIMEOUT });
  await page.screenshot({ path: join(OUT, 'console-dashboard.png') });

  const app = encodeURIComponent('demo#duet');
  await page.goto(`${BASE}/console/#/live/${app}`);
  const row = await page.waitForSelector('tr[data-call]', { timeout: TIMEOUT });
  const callId = await row.getAttribute('data-call');
  await page.screenshot({ path: join(OUT, 'console-live.png') });
  await page.click(`button[aria-label="End call ${callId}"]`);
  await waitEnded(alice, 103, 'caller');
  await waitEnded(bob, 103, 'callee');
  await page.waitForSelector('td:text("Nothing here yet.")', { timeout: TIMEOUT });

  await page.goto(`${BASE}/console/#/calls/${app}/user/opal`);
  await page.waitForSelector(`a:text("${callId}")`, { timeout: TIMEOUT });
  await page.screenshot({ path: join(OUT, 'console-calls.png') });
  await page.click(`a:text("${callId}")`);
  await page.waitForSelector('.timeline li:has-text("service-forbidden")', { timeout: TIMEOUT });
  await page.screenshot({ path: join(OUT, 'console-call.png'), fullPage: true });

  await page.goto(`${BASE}/console/#/users/${app}`);
  await page.waitForSelector('button:text("Next page"), td', { timeout: TIMEOUT });
  await page.screenshot({ path: join(OUT, 'console-users.png') });
  await page.setViewportSize(PHONE);
  await page.goto(`${BASE}/console/#/dashboard`);
  await page.waitForSelector('.card', { timeout: TIMEOUT });
  await page.screenshot({ path: join(OUT, 'console-dashboard-phone.png') });
  notes.push(`console: ended call ${callId} from the live calls page; both browsers showed reason 103`);
}

async function main() {
  await waitHealthy(BASE);
  await waitHealthy(SHORT_RING);
  browser = await chromium.launch(LAUNCH);
  try {
    await scenario('browser-browser video call: accept, media both ways, pause/resume video, hang up', videoCall);
    await scenario('operator console: dashboard, end a live call between two browsers, its record and page, users', operatorConsole);
    await scenario('console tour: a lossy call\'s quality, recordings, dead letters, 1,000 users, phone', consoleTour({
      BASE, OUT, DATA_DIR, TIMEOUT, DESKTOP, PHONE, assert, notes, browser: () => browser,
      openUser, dial, waitIncoming, waitEvent, waitEnded,
    }), 300000);
    await scenario('decline, busy, answered elsewhere, offline, history', declineBusyElsewhereOffline);
    await scenario('no answer: server ring timeout 3 s', noAnswer);
    await scenario('browser calls Go (duet call --answer): media both ways', browserToGo);
    await scenario('recorded call through the server relay', recordedCall);
    await scenario('recorded browser↔Go call: per-party recordings download and play', recordedBrowserToGo);
    await scenario('SDK call options, watermark, speaker, camera switch', sdkOptions);
    await scenario('text messages: browser↔browser, browser↔Go', textMessages);
    const fr = { browser, BASE, DUET_BIN, TMP_DIR: process.env.TMP_DIR || '.', TIMEOUT, PASSWORD, PHONE, OUT, assert, notes,
      openUser, dial, waitIncoming, waitEvent, waitEnded, assertPlaying };
    await scenario('SDK imported from another origin (--allowed-origins): login, REST, a call', (c) => crossOriginSDK(c, fr));
    await scenario('recorded call across a server restart: both browsers offer their relay legs to the new server', (c) => recordedCallSurvivesRestart(c, fr));
    await scenario('web push: server → push service → service worker notification, opens the demo on the call, the cancel closes it', (c) => webPushEndToEnd(c, fr));
    await demoScenarios({ scenario, openUser, dial, waitIncoming, waitEnded, waitEvent, assertPlaying, notes, BASE, OUT, DATA_DIR });
    await scenario(`accept → first remote frame over ${LATENCY_CALLS} calls`, acceptLatency, 300000);
  } finally {
    await browser.close().catch(() => {});
  }
  console.log('');
  for (const n of notes) console.log('  ' + n);
  console.log(`  screenshots in ${OUT}/: login.png home.png incoming.png in-call.png in-call-caller.png in-call-remote-paused.png in-call-go.png in-call-recorded.png history.png`);
  console.log(`  took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`browser: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.log(`FAIL setup: ${err.stack || err}`);
  console.log(`browser: 0 passed, 1 failed`);
  process.exit(1);
});
