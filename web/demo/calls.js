// The call screens: ringing, in call, the controls, the statistics panel, the outage
// overlay, and the test hook's accept → first remote frame measurement.
import {
  CallStatus, CallType, ConnectType, EndReason, ErrorCode, NetworkStatus, StreamStatus, enumName,
} from '/sdk/duet.js';
import { $, avatar, show, toast } from './ui.js';
import { startTone, stopTone } from './tones.js';
import { endMessage } from './words.js';
import { callRinging, callSettled, refreshMissed } from './alerts.js';

/** State and hooks the tests read (window.duetDemo). */
export const demo = { client: null, session: null, events: [], calls: [] };
window.duetDemo = demo;

let callTimer = 0;
let statsTimer = 0;
let noticeTimer = 0;
const endedLocally = new Set(); // call ids this user ended (to word the end message)
let onEnded = () => {}; // the app goes back home

export function log(event, s, extra = {}) {
  demo.events.push({ event, callId: s ? s.callId : '', t: performance.now(), ...extra });
}

/** Per-call record for the tests: accept → first remote frame. */
function trackCall(s, role) {
  const rec = { callId: s.callId, role, type: s.type, acceptAt: 0, firstFrameAt: 0, endReason: null };
  demo.calls.push(rec);
  return rec;
}

const currentRecord = (s) => demo.calls.find((c) => c.callId === s.callId);

function startCallError(err, peer) {
  const c = err && err.code;
  if (c === ErrorCode.CallRemoteOffline) return toast('Offline', `${peer} is offline`, EndReason.RemoteOffline);
  if (c === ErrorCode.CallBusy) return toast('Busy', 'You are already in a call', EndReason.Busy);
  if (c === ErrorCode.UserNotFound) return toast('No such user', `There is no one called “${peer}”`, null);
  if (c === ErrorCode.InvalidUsername || c === ErrorCode.UsernameTooLong) return toast('Not a username', 'Usernames use letters, digits, _ . and - only', null);
  if (c === ErrorCode.CallSelf) return toast('Not possible', 'You cannot call yourself', null);
  return toast('Call failed', err.message || String(err), EndReason.Failed);
}

/** Calls name (a video or voice call). */
export async function dial(name, type) {
  const client = demo.client;
  if (!client || demo.session) return;
  prepareCallScreen(name, type, 'Calling…');
  show('call');
  try {
    const record = $('opt-record').checked;
    const s = await client.callManager.startCall(type, name, '', { record });
    demo.session = s;
    trackCall(s, 'caller');
    attach(s);
    startTone('ringback');
    log('callStarted', s);
  } catch (err) {
    show('home');
    startCallError(err, name);
  }
}

function prepareCallScreen(name, type, state) {
  $('call-peer').textContent = name;
  $('call-name').textContent = name;
  avatar($('call-avatar'), name);
  $('call-state').textContent = state;
  $('call-timer').textContent = type === CallType.Video ? 'Video call' : 'Voice call';
  $('call-rec').hidden = true;
  $('call-net').dataset.status = '';
  $('call-net').setAttribute('aria-label', 'Connection quality: unknown');
  $('screen-call').classList.toggle('voice', type === CallType.Voice);
  $('screen-call').classList.remove('has-remote', 'remote-paused', 'local-paused', 'in-outage');
  $('call-outage').hidden = true;
  $('stats').textContent = '';
  notice('');
  setControl('btn-mute', 'i-mic', 'Mute', 'Mute microphone', false);
  setControl('btn-camera', 'i-video', 'Camera', 'Turn camera off', false);
  setControl('btn-speaker', 'i-speaker', 'Speaker', 'Turn sound off', false);
  setStatsButton();
  // Switch only where there is another camera to switch to.
  $('btn-switch').hidden = true;
  if (navigator.mediaDevices && navigator.mediaDevices.enumerateDevices) {
    navigator.mediaDevices.enumerateDevices().then((ds) => {
      $('btn-switch').hidden = ds.filter((d) => d.kind === 'videoinput').length < 2;
    }).catch(() => {});
  }
}

/**
 * Sets a call control: its icon, visible label, accessible name (which says what a tap
 * does now) and whether it is shown as engaged.
 */
function setControl(id, icon, text, name, engaged) {
  const b = $(id);
  b.classList.toggle('active', engaged);
  b.querySelector('use').setAttribute('href', '#' + icon);
  b.querySelector('span').textContent = text;
  b.setAttribute('aria-label', name);
  b.title = name;
}

function setStatsButton() {
  const open = !$('stats').hidden;
  $('btn-stats').setAttribute('aria-expanded', String(open));
  $('btn-stats').setAttribute('aria-label', open ? 'Hide call details' : 'Show call details');
}

/** Shows a session's media in the call screen's video elements. */
function attach(s) {
  s.localVideoView = $('local-video');
  s.remoteVideoView = $('remote-video');
  // The local stream may open after attach (the callee opens it while ringing).
  const retry = setInterval(() => {
    if (s.ended) { clearInterval(retry); return; }
    if (s.localStream) { s.localVideoView = $('local-video'); clearInterval(retry); }
  }, 100);
}

/**
 * Times the first remote camera frame shown after accept. Each requestVideoFrameCallback
 * describes one frame, and drawing the video inside the callback draws that same frame: so
 * the frame whose pixels are checked is the frame whose metadata dates it. A frame counts
 * when it was presented after the accept and is not black (frames of the peer's warm-up
 * video, docs/PROTOCOL.md "Warm-up video", are black; after 2 s any frame counts, for a
 * camera that really shows black). Its time is meta.expectedDisplayTime: when it appears.
 */
function watchFirstFrame(s) {
  const v = $('remote-video');
  const rec = currentRecord(s);
  const seen = (t, meta) => {
    if (rec && !rec.firstFrameAt && rec.acceptAt) {
      rec.firstFrameAt = t;
      // Where the time went, on the clock every page shares (ms since the epoch): when the
      // frame's last packet arrived here (receiveTime, WebRTC frames only).
      rec.epoch = performance.timeOrigin;
      if (meta && meta.receiveTime) rec.frameReceivedAt = meta.receiveTime;
    }
    $('screen-call').classList.add('has-remote');
  };
  if (s.type !== CallType.Video) return;
  if (!v.requestVideoFrameCallback) {
    v.addEventListener('resize', () => seen(performance.now()), { once: true });
    return;
  }
  const probe = document.createElement('canvas');
  probe.width = 8; probe.height = 6;
  const ctx = probe.getContext('2d', { willReadFrequently: true });
  const notBlack = () => {
    ctx.drawImage(v, 0, 0, probe.width, probe.height);
    const px = ctx.getImageData(0, 0, probe.width, probe.height).data;
    for (let i = 0; i < px.length; i += 4) if (px[i] > 24 || px[i + 1] > 24 || px[i + 2] > 24) return true;
    return false;
  };
  const since = rec && rec.acceptAt ? rec.acceptAt : performance.now();
  const cb = (now, meta) => {
    if (s.ended) return;
    const shown = meta.expectedDisplayTime || now;
    const lit = notBlack();
    // What the demo measured before (kept for comparison in the e2e notes): the first lit
    // frame, whenever it was presented, dated min(callback time, presentation time).
    if (rec && lit && !rec.firstFrameAtOld) rec.firstFrameAtOld = Math.min(now, meta.presentationTime || now);
    if (meta.presentationTime >= since && (lit || shown - since > 2000)) seen(shown, meta);
    else v.requestVideoFrameCallback(cb);
  };
  v.requestVideoFrameCallback(cb);
}

export const callDelegate = {
  callDidReceive(s) {
    log('callDidReceive', s);
    if (demo.session) return; // the server would have said Busy; be safe
    demo.session = s;
    trackCall(s, 'callee');
    $('in-name').textContent = s.remoteName;
    avatar($('in-avatar'), s.remoteName);
    $('in-type').textContent = s.type === CallType.Video ? 'Incoming video call' : 'Incoming voice call';
    $('in-ext').textContent = s.ext;
    prepareCallScreen(s.remoteName, s.type, 'Connecting…');
    attach(s);
    show('incoming');
    startTone('incoming');
    callRinging(s);
  },
  callDidConnect(s) {
    log('callDidConnect', s, { connectType: s.connectType });
    if (s !== demo.session) return;
    $('call-rec').hidden = !s.willRecord;
    if (s.status !== CallStatus.Accepted && s.isCaller) $('call-state').textContent = 'Ringing…';
  },
  callDidAccept(s) {
    log('callDidAccept', s);
    if (s !== demo.session) return;
    stopTone();
    callSettled();
    const rec = currentRecord(s);
    if (rec && !rec.acceptAt) rec.acceptAt = performance.now();
    $('call-state').textContent = s.type === CallType.Video ? 'Waiting for video…' : 'Connected';
    show('call');
    watchFirstFrame(s);
    const start = Date.now();
    clearInterval(callTimer);
    callTimer = setInterval(() => { $('call-timer').textContent = fmtTimer(Date.now() - start); }, 500);
    $('call-timer').textContent = '00:00';
    clearInterval(statsTimer);
    statsTimer = setInterval(() => renderStats(s), 1000);
  },
  callDidEnd(s, reason, error) {
    log('callDidEnd', s, { reason, error: error ? error.message : '' });
    const rec = currentRecord(s);
    if (rec) rec.endReason = reason;
    if (s !== demo.session) return;
    stopTone();
    callSettled();
    demo.session = null;
    clearInterval(callTimer);
    clearInterval(statsTimer);
    $('remote-video').srcObject = null;
    $('local-video').srcObject = null;
    const [title, detail] = endMessage(s, reason, error, endedLocally.has(s.callId));
    toast(title, detail, reason);
    refreshMissed(demo.client);
    onEnded();
  },
  callStateDidChange(s, status) {
    log('callStateDidChange', s, { status });
    if (s !== demo.session) return;
    const paused = s.remotePaused;
    $('screen-call').classList.toggle('remote-paused', paused.video && s.type === CallType.Video);
    const msgs = [];
    if (paused.audio) msgs.push(`${s.remoteName} muted`);
    if (paused.video && s.type === CallType.Video) msgs.push(`${s.remoteName} turned the camera off`);
    notice(msgs.join(' · '));
    if (status === StreamStatus.VideoPause) $('call-state').textContent = 'Camera off';
    if (status === StreamStatus.VideoResume) $('call-state').textContent = '';
  },
  callNetworkDidChange(s, status) {
    log('callNetworkDidChange', s, { status });
    if (s !== demo.session) return;
    const name = enumName(NetworkStatus, status).toLowerCase();
    $('call-net').dataset.status = name;
    $('call-net').setAttribute('aria-label', `Connection quality: ${{ normal: 'good', unstable: 'poor', nodata: 'lost' }[name] || name}`);
    outage(status === NetworkStatus.NoData || !demo.client || !demo.client.isConnected);
    renderStats(s);
  },
};

/** Shows or clears "Reconnecting…" over the frozen picture. */
export function outage(on) {
  const s = demo.session;
  const show = !!(on && s && s.status === CallStatus.Accepted);
  $('call-outage').hidden = !show;
  $('screen-call').classList.toggle('in-outage', show);
}

/** The device connection went down or came back during a call. */
export function connectionChanged(up) {
  const s = demo.session;
  if (!s) return;
  outage(!up || s.networkStatus === NetworkStatus.NoData);
}

function fmtTimer(ms) {
  const t = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(t / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
}

/**
 * A short message over the call. Those that describe the peer's state stay while it lasts;
 * transient ones (transient = true) go after 4 s.
 */
function notice(text, transient = false) {
  const n = $('call-notice');
  n.textContent = text;
  n.hidden = !text;
  clearTimeout(noticeTimer);
  if (transient && text) noticeTimer = setTimeout(() => { n.hidden = true; }, 4000);
}

/** The details panel. While no data arrives, what would be stale shows "—". */
function renderStats(s) {
  if (s.ended) return;
  const net = $('call-net');
  if (!net.dataset.status) net.dataset.status = enumName(NetworkStatus, s.networkStatus).toLowerCase();
  const stale = s.networkStatus === NetworkStatus.NoData || $('screen-call').classList.contains('in-outage');
  const v = (x, unit = '') => (stale || x < 0 ? '—' : `${x}${unit}`);
  const r = s.remoteVideoResolution;
  const how = { [ConnectType.Direct]: 'direct', [ConnectType.Relay]: 'via server' }[s.connectType] || 'connecting';
  $('stats').textContent = [
    `route    ${how}${s.willRecord ? ' · recorded' : ''}`,
    `network  ${{ 0: 'good', 1: 'poor', 2: 'no data' }[s.networkStatus] ?? '—'}`,
    `rtt      ${v(s.videoLatency, ' ms')}`,
    ...(s.type === CallType.Video ? [
      `send     ${v(s.localVideoBitrate, ' kbps')} · ${v(s.localVideoFrameRate, ' fps')}`,
      `         loss ${v(s.localVideoLostRateInPercent, '%')}`,
      `receive  ${v(s.remoteVideoBitrate, ' kbps')} · ${v(s.remoteVideoFrameRate, ' fps')}`,
      `         loss ${v(s.remoteVideoLostRateInPercent, '%')}`,
      `picture  ${stale || r.width < 0 ? '—' : `${r.width}×${r.height}`}`,
    ] : []),
    `call id  ${s.callId}`,
    ...(s.serverVideoId ? [`rec id   ${s.serverVideoId}`] : []),
  ].join('\n');
}

async function accept(ev) {
  const s = demo.session;
  if (!s) return;
  stopTone();
  callSettled();
  const rec = currentRecord(s);
  // The tap's own time (the event's timeStamp, on performance.now()'s clock), not when this
  // handler got to run: a busy page runs it late.
  if (rec) rec.acceptAt = ev && ev.timeStamp > 0 ? Math.min(ev.timeStamp, performance.now()) : performance.now();
  show('call');
  $('call-state').textContent = s.type === CallType.Video ? 'Waiting for video…' : 'Connected';
  watchFirstFrame(s);
  try {
    await demo.client.callManager.answerIncomingCall(s.callId);
  } catch (err) {
    toast('Could not answer', err.message, null);
  }
}

async function endCurrent(reason) {
  const s = demo.session;
  if (!s || !demo.client) return;
  endedLocally.add(s.callId);
  await demo.client.callManager.endCall(s.callId, reason);
}

async function toggleMute() {
  const s = demo.session;
  if (!s) return;
  if (s.isVoicePaused) await s.resumeVoice(); else await s.pauseVoice();
  const m = s.isVoicePaused;
  setControl('btn-mute', m ? 'i-mic-off' : 'i-mic', m ? 'Unmute' : 'Mute', m ? 'Unmute microphone' : 'Mute microphone', m);
}

async function toggleCamera() {
  const s = demo.session;
  if (!s || s.type !== CallType.Video) return;
  if (s.isVideoPaused) await s.resumeVideo(); else await s.pauseVideo();
  const off = s.isVideoPaused;
  setControl('btn-camera', off ? 'i-video-off' : 'i-video', off ? 'Camera off' : 'Camera', off ? 'Turn camera on' : 'Turn camera off', off);
  $('screen-call').classList.toggle('local-paused', off);
}

async function switchCamera() {
  const s = demo.session;
  if (!s) return;
  try {
    if (!(await s.switchCameraPosition())) {
      notice('No other camera on this device', true);
      $('btn-switch').hidden = true;
    }
  } catch (err) {
    notice(err.message, true);
  }
}

async function toggleSpeaker() {
  const s = demo.session;
  if (!s) return;
  const how = await s.setSpeaker(!s.isSpeakerOn);
  const on = s.isSpeakerOn;
  const off = how === 'mute' ? 'Sound off' : 'Earpiece';
  setControl('btn-speaker', on ? 'i-speaker' : 'i-ear', on ? 'Speaker' : off,
    on ? (how === 'mute' ? 'Turn sound off' : 'Switch to earpiece') : (how === 'mute' ? 'Turn sound on' : 'Switch to speaker'), !on);
}

/** Wires the call screens' buttons; ended() runs after each call's end. */
export function wireCalls(ended) {
  onEnded = ended;
  $('btn-accept').addEventListener('click', accept);
  $('btn-decline').addEventListener('click', () => endCurrent(EndReason.Decline));
  $('btn-hangup').addEventListener('click', () => endCurrent(EndReason.Hangup));
  $('btn-mute').addEventListener('click', toggleMute);
  $('btn-camera').addEventListener('click', toggleCamera);
  $('btn-switch').addEventListener('click', switchCamera);
  $('btn-speaker').addEventListener('click', toggleSpeaker);
  $('btn-stats').addEventListener('click', () => {
    $('stats').hidden = !$('stats').hidden;
    setStatsButton();
    if (demo.session) renderStats(demo.session);
  });
  window.addEventListener('beforeunload', () => {
    if (demo.session && demo.client) demo.client.callManager.endCall(demo.session.callId, EndReason.Hangup);
  });
}
