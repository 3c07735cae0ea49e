// What reaches a user who is not looking at the tab: a system notification and a changed
// tab title for a ringing call, and a badge on History for missed calls until they are seen.
import { CallType, EndReason } from '/sdk/duet.js';
import { $ } from './ui.js';

const TITLE = 'duet';
let ringing = null; // {callId, notification}

/** Whether the browser can show notifications at all. */
const supported = () => typeof Notification !== 'undefined';

/**
 * Shows the "get notified" offer when the user has not decided yet. Asking needs a tap (a
 * prompt on page load is blocked or resented), so the banner asks on the user's tap.
 */
export function offerNotifications() {
  $('notify-offer').hidden = !supported() || Notification.permission !== 'default';
}

/**
 * @param {() => Promise<void>} granted runs when the offer's "Turn on" got the permission
 * (the demo turns call alerts on with it: one decision, not two)
 */
export function wireAlerts(granted) {
  $('btn-notify').addEventListener('click', async () => {
    try { await Notification.requestPermission(); } catch { /* old Safari: callback form only */ }
    offerNotifications();
    if (Notification.permission === 'granted') await granted().catch((err) => console.warn('call alerts:', err));
  });
  $('btn-notify-later').addEventListener('click', () => { $('notify-offer').hidden = true; });
  document.addEventListener('visibilitychange', () => { if (!document.hidden) closeNotification(); });
  window.addEventListener('focus', closeNotification);
}

/** Whether the user is looking elsewhere: the tab is hidden, or another window or tab has the focus. */
const away = () => document.hidden || !document.hasFocus();

/** A call rings: the tab title says who, and a tab in the background raises a system notification. */
export function callRinging(s) {
  const what = s.type === CallType.Video ? 'video call' : 'voice call';
  document.title = `📞 ${s.remoteName} is calling — ${TITLE}`;
  ringing = { callId: s.callId, notification: null };
  if (!away() || !supported() || Notification.permission !== 'granted') return;
  try {
    const n = new Notification(`Incoming ${what}`, {
      body: `${s.remoteName} is calling you`, tag: 'duet-call-' + s.callId, requireInteraction: true,
    });
    n.onclick = () => { window.focus(); n.close(); };
    ringing.notification = n;
  } catch { /* a browser that only notifies from a service worker */ }
}

function closeNotification() {
  if (ringing && ringing.notification) ringing.notification.close();
  if (ringing) ringing.notification = null;
}

/** The ringing is over (answered, declined, ended): title and notification go. */
export function callSettled() {
  closeNotification();
  ringing = null;
  document.title = TITLE;
}

// ---------- missed calls ----------

/** A call record counts as missed by me: incoming, never answered, not declined by me. */
function isMissed(c, me) {
  return c.callee === me && !c.acceptedAt && [EndReason.Hangup, EndReason.NoResponse, EndReason.RemoteOffline].includes(c.endReason);
}

const seenKey = (me) => 'duet-missed-seen-' + me;

/** Counts the missed calls since History was last opened and shows the badge. */
export async function refreshMissed(client) {
  if (!client) return;
  const me = client.currentUsername;
  let records;
  try { records = (await client.fetchCallRecords({ limit: 50 })).entities || []; } catch { return; }
  const seen = Number(localStorage.getItem(seenKey(me)) || 0);
  setBadge(records.filter((c) => isMissed(c, me) && c.invitedAt > seen).length);
}

/** History was opened: its missed calls are seen. */
export function missedSeen(client) {
  if (client) localStorage.setItem(seenKey(client.currentUsername), String(Date.now()));
  setBadge(0);
}

function setBadge(n) {
  const b = $('missed-badge');
  b.textContent = n > 9 ? '9+' : String(n);
  b.hidden = n === 0;
  $('tab-history').setAttribute('aria-label', n ? `History, ${n} missed call${n > 1 ? 's' : ''}` : 'History');
}

export { isMissed };
