// Web Push in the demo: a "Call alerts" switch in the top bar. Turning it on asks for the
// notification permission (only then: never on load), registers the service worker
// (/demo/sw.js), subscribes with the app's VAPID key and binds the subscription as this
// device's push token (provider "webpush"). While no tab is signed in, the server then
// sends incoming calls by Web Push, and sw.js shows them even with the browser's tabs closed.
//
// The demo keeps its session in sessionStorage, which a window the notification opens does
// not have: with alerts on, the session is also kept in localStorage, and a window opened
// on a call (/?call=ID) takes it before app.js resumes the login (this module is imported
// first, so its top level runs before app.js's).

const SESSION_KEY = 'duet-login'; // app.js's sessionStorage key
const KEPT_KEY = 'duet-webpush-login';

const callParam = new URLSearchParams(location.search).get('call');
if (callParam && !sessionStorage.getItem(SESSION_KEY) && localStorage.getItem(KEPT_KEY)) {
  sessionStorage.setItem(SESSION_KEY, localStorage.getItem(KEPT_KEY));
}

/** Whether this browser can do Web Push at all (a secure context with the APIs). */
export const webPushSupported = () =>
  window.isSecureContext && 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;

/**
 * Adds the "Call alerts" switch for client's user next to the log-out button, and re-binds
 * an existing subscription (a new login is a new device). Callers' invites ask the server
 * to push to offline callees (isSendPushIfOffline).
 * @param {import('/sdk/duet.js').DuetClient} client
 */
export async function attachWebPush(client) {
  client.callManager.setCallOptions({ isSendPushIfOffline: true, offlineMessageText: 'Tap to answer' });
  if (!webPushSupported()) return;
  let btn = document.getElementById('btn-webpush');
  if (!btn) {
    btn = document.createElement('button');
    btn.id = 'btn-webpush';
    btn.className = 'btn link';
    document.getElementById('btn-logout').before(btn);
  }
  const label = (on, text) => {
    btn.setAttribute('aria-pressed', String(on));
    btn.textContent = text || (on ? 'Call alerts on' : 'Call alerts off');
    btn.title = on ? 'Calls reach this browser while the demo is closed' : 'Get calls while the demo is closed';
  };
  const reg = await navigator.serviceWorker.register('/demo/sw.js', { scope: '/demo/' });
  const existing = Notification.permission === 'granted' ? await reg.pushManager.getSubscription() : null;
  label(false);
  if (existing) {
    try { await enable(client, reg, existing); label(true); } catch (err) { console.warn('web push: re-binding failed', err); }
  }
  const turnOn = async () => {
    btn.disabled = true;
    try {
      if (await Notification.requestPermission() !== 'granted') { label(false, 'Call alerts blocked'); return; }
      await enable(client, reg, null);
      label(true);
    } catch (err) {
      console.warn('web push:', err);
      label(false, 'Call alerts unavailable');
    } finally {
      btn.disabled = false;
    }
  };
  turnOnAlerts = async () => { if (btn.getAttribute('aria-pressed') !== 'true') await turnOn(); };
  btn.onclick = async () => {
    if (btn.getAttribute('aria-pressed') !== 'true') { await turnOn(); return; }
    const sub = await reg.pushManager.getSubscription();
    if (sub) { await client.unbindWebPush(sub).catch(() => {}); await sub.unsubscribe().catch(() => {}); }
    localStorage.removeItem(KEPT_KEY);
    label(false);
  };
}

/** Set by attachWebPush: turns call alerts on for the signed-in user, unless they are. */
let turnOnAlerts = null;

/**
 * The notification offer's "Turn on": one decision for the user, so call alerts come on
 * with the permission (where Web Push works; elsewhere the permission alone serves the
 * in-tab notifications).
 */
export async function turnOnCallAlerts() {
  if (turnOnAlerts && Notification.permission === 'granted') await turnOnAlerts();
}

/**
 * Logging out: this browser stops getting the user's calls (the subscription is unbound from
 * the user; the browser keeps it for the next login to bind) and the kept session is
 * forgotten, so that a window opened later is not signed in with it.
 * @param {import('/sdk/duet.js').DuetClient} client
 */
export async function detachWebPush(client) {
  localStorage.removeItem(KEPT_KEY);
  if (!webPushSupported()) return;
  const reg = await navigator.serviceWorker.getRegistration('/demo/');
  const sub = reg && await reg.pushManager.getSubscription().catch(() => null);
  if (sub) await client.unbindWebPush(sub).catch((err) => console.warn('web push: unbinding failed', err));
}

/** Subscribes (unless sub is given), binds the subscription and keeps the session. */
async function enable(client, reg, sub) {
  if (!sub) {
    const key = await client.webPushPublicKey();
    sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }
  await client.bindWebPush(sub);
  localStorage.setItem(KEPT_KEY, JSON.stringify({ user: client.currentUsername, token: client.accessToken }));
}
