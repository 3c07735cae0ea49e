// duet demo app: log in, see the app's users, call them, take calls. It uses only the
// public browser SDK (/sdk/duet.js) plus two demo endpoints of the server (/demo/*).
// window.duetDemo exposes the client, the live session and an event log for the e2e tests.
import {
  CallStatus, CallType, ConnectType, DuetClient, EndReason, ErrorCode, NetworkStatus, StreamStatus, enumName,
} from '/sdk/duet.js';
import { attachWebPush } from '/demo/webpush.js';

const $ = (id) => document.getElementById(id);
const screens = ['login', 'home', 'incoming', 'call'];

/** State and hooks the tests read. */
const demo = { client: null, session: null, events: [], calls: [] };
window.duetDemo = demo;

let client = null;
let config = { appKey: '', serverURL: '' };
let contactsTimer = 0;
let callTimer = 0;
let statsTimer = 0;
let toastTimer = 0;
let endedLocally = new Set(); // call ids this user ended (to word the end message)
let ring = null;

function show(name) {
  for (const s of screens) $('screen-' + s).hidden = s !== name;
  document.body.dataset.screen = name;
}

function log(event, s, extra = {}) {
  demo.events.push({ event, callId: s ? s.callId : '', t: performance.now(), ...extra });
}

function initials(name) { return (name || '?').slice(0, 2).toUpperCase(); }

function avatar(el, name) {
  el.textContent = initials(name);
  // A stable hue per name, so each contact keeps its colour.
  let h = 0;
  for (const c of name || '') h = (h * 31 + c.charCodeAt(0)) % 360;
  el.style.setProperty('--hue', String(h));
}

function fmtDuration(ms) {
  const t = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(t / 3600);
  const mm = String(Math.floor((t % 3600) / 60)).padStart(2, '0');
  const ss = String(t % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

// ---------- ring tones (WebAudio, no files) ----------

/** Plays a repeating two-tone pattern until stopped: incoming ring or outgoing ringback. */
function startTone(kind) {
  stopTone();
  let ctx;
  try { ctx = new AudioContext(); } catch { return; }
  const pattern = kind === 'incoming'
    ? { freqs: [660, 880], on: [0, 0.4, 0.6, 1.0], period: 3000, gain: 0.15 }
    : { freqs: [440, 480], on: [0, 1.6], period: 4000, gain: 0.08 };
  const beep = () => {
    const t0 = ctx.currentTime + 0.02;
    const g = ctx.createGain();
    g.gain.value = 0;
    g.connect(ctx.destination);
    for (let i = 0; i < pattern.on.length; i += 2) {
      g.gain.setValueAtTime(0, t0 + pattern.on[i]);
      g.gain.linearRampToValueAtTime(pattern.gain, t0 + pattern.on[i] + 0.02);
      g.gain.setValueAtTime(pattern.gain, t0 + pattern.on[i + 1] - 0.02);
      g.gain.linearRampToValueAtTime(0, t0 + pattern.on[i + 1]);
    }
    const end = t0 + pattern.on[pattern.on.length - 1] + 0.05;
    for (const f of pattern.freqs) {
      const o = ctx.createOscillator();
      o.frequency.value = f;
      o.connect(g);
      o.start(t0);
      o.stop(end);
    }
  };
  ctx.resume().catch(() => {});
  beep();
  const timer = setInterval(beep, pattern.period);
  ring = { stop: () => { clearInterval(timer); ctx.close().catch(() => {}); } };
}

function stopTone() {
  if (ring) ring.stop();
  ring = null;
}

// ---------- end messages ----------

/** The words for how a call ended, from this user's point of view. */
function endMessage(s, reason, error) {
  const peer = s.remoteName;
  const accepted = s.acceptedAt > 0;
  const mine = endedLocally.has(s.callId);
  switch (reason) {
    case EndReason.Hangup:
      if (accepted) return ['Call ended', mine ? 'You hung up' : `${peer} hung up`];
      if (s.isCaller) return ['Call cancelled', mine ? 'You cancelled the call' : 'The call was cancelled'];
      return ['Missed call', `${peer} cancelled the call`];
    case EndReason.NoResponse:
      return s.isCaller ? ['No answer', `${peer} did not answer`] : ['Missed call', `You missed a call from ${peer}`];
    case EndReason.Decline:
      return s.isCaller ? ['Call declined', `${peer} declined the call`] : ['Call declined', mine ? 'You declined the call' : `${peer} declined`];
    case EndReason.Busy:
      return ['Busy', s.isCaller ? `${peer} is in another call` : 'You were busy'];
    case EndReason.Failed:
      return ['Call failed', error ? `Connection problem: ${error.message}` : 'The connection was lost'];
    case EndReason.Unsupported:
      return ['Not supported', `${peer}'s devices cannot take ${s.type === CallType.Video ? 'video' : 'this'} call`];
    case EndReason.RemoteOffline:
      return ['Offline', `${peer} is offline`];
    case EndReason.LoginOtherDevice:
      return ['Signed out', 'You logged in on another device'];
    case EndReason.Destroy:
      return ['Account removed', 'This account was deleted'];
    case EndReason.BeenKicked:
      return ['Signed out', 'The server signed you out'];
    case EndReason.AnsweredElsewhere:
      return ['Answered elsewhere', 'You answered on another device'];
    default:
      return ['Call ended', `Reason ${enumName(EndReason, reason)}`];
  }
}

/** A one- or two-word end reason for the history list. */
function shortReason(reason, outgoing) {
  const words = {
    [EndReason.Hangup]: outgoing ? 'Cancelled' : 'Missed', [EndReason.NoResponse]: outgoing ? 'No answer' : 'Missed',
    [EndReason.Decline]: 'Declined', [EndReason.Busy]: 'Busy', [EndReason.Failed]: 'Failed',
    [EndReason.Unsupported]: 'Unsupported', [EndReason.RemoteOffline]: 'Offline', [EndReason.AnsweredElsewhere]: 'Answered elsewhere',
  };
  return words[reason] || enumName(EndReason, reason);
}

function toast(title, detail, reason) {
  const el = $('ended');
  $('ended-title').textContent = title;
  $('ended-detail').textContent = detail;
  el.dataset.reason = reason == null ? '' : String(reason);
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 6000);
}

function startCallError(err, peer) {
  const c = err && err.code;
  if (c === ErrorCode.CallRemoteOffline) return toast('Offline', `${peer} is offline`, EndReason.RemoteOffline);
  if (c === ErrorCode.CallBusy) return toast('Busy', 'You are already in a call', EndReason.Busy);
  if (c === ErrorCode.UserNotFound) return toast('No such user', `${peer} does not exist`, null);
  if (c === ErrorCode.CallSelf) return toast('Not possible', 'You cannot call yourself', null);
  return toast('Call failed', err.message || String(err), EndReason.Failed);
}

// ---------- login ----------

async function loadConfig() {
  const r = await fetch('/demo/config.json');
  config = await r.json();
  $('app-key').textContent = config.appKey || 'none (the server runs without a demo app)';
}

function newClient() {
  const c = new DuetClient({ appKey: config.appKey, serverURL: config.serverURL || location.origin, logLevel: 'warn' });
  c.callManager.setCallOptions({ enableReportQuality: true });
  c.addDelegate({
    connectionStateDidChange: (st) => { log('connectionStateDidChange', null, { state: st }); renderConnection(st); },
    userAccountDidLoginFromOtherDevice: () => signedOut(EndReason.LoginOtherDevice),
    userAccountDidRemoveFromServer: () => signedOut(EndReason.Destroy),
    userDidForbidByServer: () => signedOut(EndReason.BeenKicked),
    tokenDidExpire: () => signedOut(null),
  });
  c.callManager.addDelegate(callDelegate);
  c.callManager.setBuilderDelegate({ callRemoteOffline: (name) => notice(`${name} is offline; they were notified`) });
  return c;
}

async function submitLogin(register) {
  const user = $('username').value.trim();
  const pass = $('password').value;
  $('login-error').textContent = '';
  if (!$('login-form').reportValidity()) return;
  if (!config.appKey) { $('login-error').textContent = 'This server has no demo app.'; return; }
  for (const b of [$('btn-login'), $('btn-register')]) b.disabled = true;
  try {
    client = newClient();
    if (register) await client.register(user, pass);
    await client.login(user, pass);
    sessionStorage.setItem('duet-login', JSON.stringify({ user: client.currentUsername, token: client.accessToken }));
    enterHome();
  } catch (err) {
    const msg = {
      [ErrorCode.UserAlreadyExist]: 'That username is taken. Log in instead?',
      [ErrorCode.UserAuthFailed]: 'Wrong username or password.',
      [ErrorCode.InvalidUsername]: 'Usernames use letters, digits, _ . and - only.',
      [ErrorCode.RegistrationClosed]: 'Registration is closed on this app.',
      [ErrorCode.ServerNotReachable]: 'Cannot reach the server.',
    }[err.code] || err.message || String(err);
    $('login-error').textContent = msg;
    client = null;
  } finally {
    for (const b of [$('btn-login'), $('btn-register')]) b.disabled = false;
  }
}

async function resumeLogin() {
  const saved = JSON.parse(sessionStorage.getItem('duet-login') || 'null');
  if (!saved || !config.appKey) return false;
  try {
    client = newClient();
    await client.loginWithToken(saved.user, saved.token);
    enterHome();
    return true;
  } catch {
    sessionStorage.removeItem('duet-login');
    client = null;
    return false;
  }
}

function signedOut(reason) {
  sessionStorage.removeItem('duet-login');
  stopHome();
  client = null;
  demo.client = null;
  show('login');
  if (reason != null) {
    const [t, d] = endMessage({ remoteName: '', acceptedAt: 0, isCaller: false, callId: '' }, reason, null);
    toast(t, d, reason);
  } else {
    toast('Signed out', 'Your session expired; log in again', null);
  }
}

async function logout() {
  const c = client;
  sessionStorage.removeItem('duet-login');
  stopHome();
  client = null;
  demo.client = null;
  show('login');
  if (c) await c.logout();
}

function renderConnection(state) {
  const el = $('conn-state');
  el.textContent = state === 1 ? 'online' : 'reconnecting…';
  el.classList.toggle('up', state === 1);
}

// ---------- home: contacts and history ----------

function enterHome() {
  demo.client = client;
  $('me').textContent = client.currentUsername;
  avatar($('me-avatar'), client.currentUsername);
  renderConnection(client.connectionState);
  show('home');
  refreshContacts();
  clearInterval(contactsTimer);
  contactsTimer = setInterval(() => { if (!$('screen-home').hidden) refreshContacts(); }, 4000);
  attachWebPush(client).catch((err) => console.warn('web push:', err));
}

function stopHome() {
  clearInterval(contactsTimer);
  contactsTimer = 0;
}

async function refreshContacts() {
  if (!client) return;
  let users = [];
  try {
    const r = await fetch('/demo/users', { headers: { Authorization: 'Bearer ' + client.accessToken } });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    users = (await r.json()).users.filter((u) => client && u.username !== client.currentUsername);
  } catch {
    return; // keep the last list; the next refresh retries
  }
  users.sort((a, b) => (b.online - a.online) || a.username.localeCompare(b.username));
  const ul = $('contacts');
  // Re-render only on a change, so a row is never replaced under the user's finger.
  const key = JSON.stringify(users);
  if (ul.dataset.key !== key) {
    ul.dataset.key = key;
    ul.replaceChildren(...users.map(contactRow));
  }
  ul.dataset.loaded = '1';
  updateEmpty();
}

function contactRow(u) {
  const li = document.createElement('li');
  li.dataset.user = u.username;
  li.className = u.online ? 'online' : '';
  const av = document.createElement('span');
  av.className = 'avatar';
  avatar(av, u.username);
  const who = document.createElement('div');
  who.className = 'who';
  const name = document.createElement('strong');
  name.textContent = u.username;
  const st = document.createElement('small');
  st.textContent = u.online ? 'online' : 'offline';
  who.append(name, st);
  const voice = iconButton('i-phone', `Voice call ${u.username}`, 'dial voice', () => dial(u.username, CallType.Voice));
  const video = iconButton('i-video', `Video call ${u.username}`, 'dial video', () => dial(u.username, CallType.Video));
  li.append(av, who, voice, video);
  return li;
}

function iconButton(icon, label, cls, onClick) {
  const b = document.createElement('button');
  b.className = cls;
  b.setAttribute('aria-label', label);
  b.title = label;
  b.innerHTML = `<svg><use href="#${icon}"/></svg>`;
  b.addEventListener('click', onClick);
  return b;
}

function updateEmpty() {
  const tab = document.querySelector('.tabs .active').dataset.tab;
  const list = $(tab);
  const empty = $('home-empty');
  empty.hidden = list.children.length > 0;
  empty.textContent = tab === 'contacts'
    ? 'No one else is here yet. Open this page in another browser and create a second account to call it.'
    : 'No calls yet.';
}

async function refreshHistory() {
  if (!client) return;
  let records = [];
  try {
    records = (await client.fetchCallRecords({ limit: 50 })).entities || [];
  } catch {
    return;
  }
  const me = client.currentUsername;
  $('history').replaceChildren(...records.map((c) => {
    const li = document.createElement('li');
    const out = c.caller === me;
    const peer = out ? c.callee : c.caller;
    li.className = 'call-record' + (c.acceptedAt ? '' : ' missed');
    const dir = document.createElement('span');
    dir.className = 'dir';
    dir.innerHTML = `<svg><use href="#${out ? 'i-out' : 'i-in'}"/></svg>`;
    const who = document.createElement('div');
    who.className = 'who';
    const name = document.createElement('strong');
    name.textContent = peer;
    const detail = document.createElement('small');
    const when = new Date(c.invitedAt).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
    const what = c.acceptedAt ? fmtDuration(c.endedAt - c.acceptedAt) : shortReason(c.endReason, out);
    detail.textContent = `${c.type === CallType.Video ? 'Video' : 'Voice'} · ${when} · ${what}`;
    who.append(name, detail);
    const again = iconButton(c.type === CallType.Video ? 'i-video' : 'i-phone', `Call ${peer}`, 'dial', () => dial(peer, c.type));
    li.append(dir, who, again);
    return li;
  }));
  updateEmpty();
}

function selectTab(tab) {
  for (const b of document.querySelectorAll('.tabs button')) {
    b.classList.toggle('active', b.dataset.tab === tab);
    b.setAttribute('aria-selected', String(b.dataset.tab === tab));
  }
  $('contacts').hidden = tab !== 'contacts';
  document.querySelector('.record-opt').hidden = tab !== 'contacts';
  $('history').hidden = tab !== 'history';
  if (tab === 'history') refreshHistory(); else refreshContacts();
  updateEmpty();
}

// ---------- calls ----------

/** Per-call record for the tests: accept → first remote frame. */
function trackCall(s, role) {
  const rec = { callId: s.callId, role, type: s.type, acceptAt: 0, firstFrameAt: 0, endReason: null };
  demo.calls.push(rec);
  return rec;
}

function currentRecord(s) { return demo.calls.find((c) => c.callId === s.callId); }

async function dial(name, type) {
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
  $('call-connect').hidden = true;
  $('call-rec').hidden = true;
  $('call-net').dataset.status = '';
  $('screen-call').classList.toggle('voice', type === CallType.Voice);
  $('screen-call').classList.remove('has-remote', 'remote-paused');
  $('stats').textContent = '';
  $('call-notice').hidden = true;
  setControl('btn-mute', false, 'i-mic', 'Mute');
  setControl('btn-camera', false, 'i-video', 'Camera');
  setControl('btn-speaker', false, 'i-speaker', 'Speaker');
  $('screen-call').classList.remove('local-paused');
}

/** Sets a call control's look: active (highlighted) state, icon and label. */
function setControl(id, active, icon, label) {
  const b = $(id);
  b.classList.toggle('active', active);
  b.querySelector('use').setAttribute('href', '#' + icon);
  b.querySelector('span').textContent = label;
  b.setAttribute('aria-pressed', String(active));
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
 * Watches the remote <video> for its first camera frame after accept. Frames of the
 * peer's warm-up video (docs/PROTOCOL.md "Warm-up video") are black and may still be shown
 * just after accept; a frame counts once a sampled pixel is not black (or after 2 s, for a
 * camera that really shows black).
 */
function watchFirstFrame(s) {
  const v = $('remote-video');
  const rec = currentRecord(s);
  const seen = (t) => {
    if (rec && !rec.firstFrameAt && rec.acceptAt) rec.firstFrameAt = t;
    $('screen-call').classList.add('has-remote');
  };
  if (s.type !== CallType.Video) return;
  if (v.requestVideoFrameCallback) {
    const probe = document.createElement('canvas');
    probe.width = 8; probe.height = 6;
    const ctx = probe.getContext('2d', { willReadFrequently: true });
    const since = performance.now();
    const notBlack = () => {
      ctx.drawImage(v, 0, 0, probe.width, probe.height);
      const px = ctx.getImageData(0, 0, probe.width, probe.height).data;
      for (let i = 0; i < px.length; i += 4) if (px[i] > 24 || px[i + 1] > 24 || px[i + 2] > 24) return true;
      return false;
    };
    const cb = (now, meta) => {
      if (s.ended) return;
      const t = Math.min(now, meta.presentationTime || now);
      if ((meta.presentedFrames > 0 || v.videoWidth > 0) && (notBlack() || t - since > 2000)) seen(t);
      else v.requestVideoFrameCallback(cb);
    };
    v.requestVideoFrameCallback(cb);
  } else {
    v.addEventListener('resize', () => seen(performance.now()), { once: true });
  }
}

const callDelegate = {
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
  },
  callDidConnect(s) {
    log('callDidConnect', s, { connectType: s.connectType });
    if (s !== demo.session) return;
    const ct = $('call-connect');
    ct.textContent = s.connectType === ConnectType.Relay ? 'Relay' : 'Direct';
    ct.hidden = false;
    $('call-rec').hidden = !s.willRecord;
    if (s.status !== CallStatus.Accepted && s.isCaller) $('call-state').textContent = 'Ringing…';
  },
  callDidAccept(s) {
    log('callDidAccept', s);
    if (s !== demo.session) return;
    stopTone();
    const rec = currentRecord(s);
    if (rec && !rec.acceptAt) rec.acceptAt = performance.now();
    $('call-state').textContent = s.type === CallType.Video ? 'Waiting for video…' : 'Connected';
    show('call');
    watchFirstFrame(s);
    const start = Date.now();
    clearInterval(callTimer);
    callTimer = setInterval(() => { $('call-timer').textContent = fmtDuration(Date.now() - start); }, 500);
    $('call-timer').textContent = '00:00';
    clearInterval(statsTimer);
    statsTimer = setInterval(() => renderStats(s), 2000);
  },
  callDidEnd(s, reason, error) {
    log('callDidEnd', s, { reason, error: error ? error.message : '' });
    const rec = currentRecord(s);
    if (rec) rec.endReason = reason;
    if (s !== demo.session) return;
    stopTone();
    demo.session = null;
    clearInterval(callTimer);
    clearInterval(statsTimer);
    $('remote-video').srcObject = null;
    $('local-video').srcObject = null;
    const [title, detail] = endMessage(s, reason, error);
    toast(title, detail, reason);
    if (client) {
      show('home');
      selectTab(document.querySelector('.tabs .active').dataset.tab);
    }
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
    if (s === demo.session) $('call-net').dataset.status = enumName(NetworkStatus, status).toLowerCase();
  },
};

function notice(text) {
  const n = $('call-notice');
  n.textContent = text;
  n.hidden = !text;
}

function renderStats(s) {
  if (s.ended) return;
  const net = $('call-net');
  if (!net.dataset.status) net.dataset.status = enumName(NetworkStatus, s.networkStatus).toLowerCase();
  const v = (x, unit = '') => (x < 0 ? '–' : `${x}${unit}`);
  const r = s.remoteVideoResolution;
  $('stats').textContent = [
    `connect      ${enumName(ConnectType, s.connectType)}${s.willRecord ? ` · recording ${s.serverVideoId || '…'}` : ''}`,
    `network      ${enumName(NetworkStatus, s.networkStatus)}`,
    `rtt          ${v(s.videoLatency, ' ms')}`,
    ...(s.type === CallType.Video ? [
      `send         ${v(s.localVideoBitrate, ' kbps')} · ${v(s.localVideoFrameRate, ' fps')} · loss ${v(s.localVideoLostRateInPercent, '%')}`,
      `receive      ${v(s.remoteVideoBitrate, ' kbps')} · ${v(s.remoteVideoFrameRate, ' fps')} · loss ${v(s.remoteVideoLostRateInPercent, '%')}`,
      `resolution   ${r.width < 0 ? '–' : `${r.width}×${r.height}`}`,
    ] : []),
  ].join('\n');
}

async function accept() {
  const s = demo.session;
  if (!s) return;
  stopTone();
  const rec = currentRecord(s);
  if (rec) rec.acceptAt = performance.now();
  show('call');
  $('call-state').textContent = s.type === CallType.Video ? 'Waiting for video…' : 'Connected';
  watchFirstFrame(s);
  try {
    await client.callManager.answerIncomingCall(s.callId);
  } catch (err) {
    toast('Could not answer', err.message, null);
  }
}

async function endCurrent(reason) {
  const s = demo.session;
  if (!s || !client) return;
  endedLocally.add(s.callId);
  await client.callManager.endCall(s.callId, reason);
}

async function toggleMute() {
  const s = demo.session;
  if (!s) return;
  if (s.isVoicePaused) await s.resumeVoice(); else await s.pauseVoice();
  setControl('btn-mute', s.isVoicePaused, s.isVoicePaused ? 'i-mic-off' : 'i-mic', s.isVoicePaused ? 'Unmute' : 'Mute');
}

async function toggleCamera() {
  const s = demo.session;
  if (!s || s.type !== CallType.Video) return;
  if (s.isVideoPaused) await s.resumeVideo(); else await s.pauseVideo();
  setControl('btn-camera', s.isVideoPaused, s.isVideoPaused ? 'i-video-off' : 'i-video', 'Camera');
  $('screen-call').classList.toggle('local-paused', s.isVideoPaused);
}

async function switchCamera() {
  const s = demo.session;
  if (!s) return;
  try {
    if (!(await s.switchCameraPosition())) notice('No other camera on this device');
  } catch (err) {
    notice(err.message);
  }
}

async function toggleSpeaker() {
  const s = demo.session;
  if (!s) return;
  const how = await s.setSpeaker(!s.isSpeakerOn);
  const off = how === 'mute' ? 'Sound off' : 'Earpiece';
  setControl('btn-speaker', !s.isSpeakerOn, s.isSpeakerOn ? 'i-speaker' : 'i-ear', s.isSpeakerOn ? 'Speaker' : off);
}

// ---------- wiring ----------

function wire() {
  $('login-form').addEventListener('submit', (e) => { e.preventDefault(); submitLogin(false); });
  $('btn-register').addEventListener('click', () => submitLogin(true));
  $('btn-logout').addEventListener('click', logout);
  for (const b of document.querySelectorAll('.tabs button')) b.addEventListener('click', () => selectTab(b.dataset.tab));
  $('btn-accept').addEventListener('click', accept);
  $('btn-decline').addEventListener('click', () => endCurrent(EndReason.Decline));
  $('btn-hangup').addEventListener('click', () => endCurrent(EndReason.Hangup));
  $('btn-mute').addEventListener('click', toggleMute);
  $('btn-camera').addEventListener('click', toggleCamera);
  $('btn-switch').addEventListener('click', switchCamera);
  $('btn-speaker').addEventListener('click', toggleSpeaker);
  $('btn-stats').addEventListener('click', () => { $('stats').hidden = !$('stats').hidden; });
  $('opt-record').checked = localStorage.getItem('duet-record') === '1';
  $('opt-record').addEventListener('change', () => localStorage.setItem('duet-record', $('opt-record').checked ? '1' : '0'));
  $('ended').addEventListener('click', () => { $('ended').hidden = true; });
  window.addEventListener('beforeunload', () => { if (demo.session && client) client.callManager.endCall(demo.session.callId, EndReason.Hangup); });
}

async function main() {
  wire();
  show('login');
  try {
    await loadConfig();
  } catch {
    $('login-error').textContent = 'Cannot reach the server.';
    return;
  }
  if (!(await resumeLogin())) show('login');
  document.body.dataset.ready = '1';
}

main();
