// duet demo app: log in, find people (search, paging, contacts, live presence), call anyone
// by username, take calls, see the history. It uses only the public browser SDK
// (/sdk/duet.js) plus two demo endpoints of the server (/demo/*). The parts: people.js (the
// People tab), calls.js (the call screens), alerts.js (notifications, title, missed calls),
// words.js, tones.js, ui.js; webpush.js registers for Web Push (calls while the tab is closed). window.duetDemo exposes the client, the live session and an
// event log for the e2e tests.
import { CallType, DuetClient, EndReason, ErrorCode } from '/sdk/duet.js';
import { $, avatar, iconButton, show, toast } from './ui.js';
import { endMessage, fmtDuration, shortReason } from './words.js';
import { callDelegate, connectionChanged, demo, dial, log, wireCalls } from './calls.js';
import { reload, startPeople, stopPeople, wirePeople } from './people.js';
import { isMissed, missedSeen, offerNotifications, refreshMissed, wireAlerts } from './alerts.js';
import { attachWebPush, detachWebPush, turnOnCallAlerts } from '/demo/webpush.js';

let client = null;
let config = { appKey: '', serverURL: '' };

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
  c.callManager.setBuilderDelegate({ callRemoteOffline: (name) => toast('Calling…', `${name} is offline; they were notified`, null) });
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

function leaveHome() {
  sessionStorage.removeItem('duet-login');
  stopPeople();
  client = null;
  demo.client = null;
  show('login');
}

function signedOut(reason) {
  leaveHome();
  if (reason != null) {
    const [t, d] = endMessage({ remoteName: '', acceptedAt: 0, isCaller: false, callId: '' }, reason, null);
    toast(t, d, reason);
  } else {
    toast('Signed out', 'Your session expired; log in again', null);
  }
}

async function logout() {
  const c = client;
  leaveHome();
  if (!c) return;
  await detachWebPush(c);
  await c.logout();
}

function renderConnection(state) {
  const el = $('conn-state');
  el.textContent = state === 1 ? 'online' : 'reconnecting…';
  el.classList.toggle('up', state === 1);
  connectionChanged(state === 1);
}

// ---------- home ----------

function enterHome() {
  demo.client = client;
  $('me').textContent = client.currentUsername;
  avatar($('me-avatar'), client.currentUsername);
  renderConnection(client.connectionState);
  show('home');
  offerNotifications();
  selectTab('contacts');
  startPeople(client, dial);
  refreshMissed(client);
  attachWebPush(client).catch((err) => console.warn('web push:', err));
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
    li.className = 'call-record' + (isMissed(c, me) ? ' missed' : '');
    const dir = document.createElement('span');
    dir.className = 'dir';
    dir.innerHTML = `<svg aria-hidden="true"><use href="#${out ? 'i-out' : 'i-in'}"/></svg>`;
    const who = document.createElement('div');
    who.className = 'who';
    const name = document.createElement('strong');
    name.textContent = peer;
    const detail = document.createElement('small');
    const when = new Date(c.invitedAt).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
    const what = c.acceptedAt ? fmtDuration(c.endedAt - c.acceptedAt) : shortReason(c.endReason, out);
    detail.textContent = `${out ? 'Outgoing' : 'Incoming'} ${c.type === CallType.Video ? 'video' : 'voice'} · ${when} · ${what}`;
    who.append(name, detail);
    const again = iconButton(c.type === CallType.Video ? 'i-video' : 'i-phone', `Call ${peer} back`, 'dial', () => dial(peer, c.type));
    li.append(dir, who, again);
    return li;
  }));
  const empty = $('home-empty');
  empty.hidden = records.length > 0;
  empty.textContent = 'No calls yet.';
}

function selectTab(tab) {
  for (const b of document.querySelectorAll('.tabs button')) {
    b.classList.toggle('active', b.dataset.tab === tab);
    b.setAttribute('aria-selected', String(b.dataset.tab === tab));
  }
  $('people').hidden = tab !== 'contacts';
  $('contacts').hidden = tab !== 'contacts';
  $('history').hidden = tab !== 'history';
  $('more').hidden = true;
  if (tab === 'history') {
    refreshHistory();
    missedSeen(client);
  } else {
    reload();
  }
}

/** The dial box: call anyone by username, listed or not. */
function dialTyped(type) {
  const name = $('dial-name').value.trim();
  if (!name) { $('dial-name').focus(); return; }
  dial(name.toLowerCase(), type);
}

// ---------- wiring ----------

function wire() {
  $('login-form').addEventListener('submit', (e) => { e.preventDefault(); submitLogin(false); });
  $('btn-register').addEventListener('click', () => submitLogin(true));
  $('btn-logout').addEventListener('click', logout);
  for (const b of document.querySelectorAll('.tabs button')) b.addEventListener('click', () => selectTab(b.dataset.tab));
  $('dial-form').addEventListener('submit', (e) => { e.preventDefault(); dialTyped(CallType.Video); });
  $('btn-dial-voice').addEventListener('click', () => dialTyped(CallType.Voice));
  $('opt-record').checked = localStorage.getItem('duet-record') === '1';
  $('opt-record').addEventListener('change', () => localStorage.setItem('duet-record', $('opt-record').checked ? '1' : '0'));
  $('ended').addEventListener('click', () => { $('ended').hidden = true; });
  wirePeople();
  wireAlerts(turnOnCallAlerts);
  wireCalls(() => {
    if (!client) return;
    show('home');
    selectTab(document.querySelector('.tabs .active').dataset.tab);
  });
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
