// The demo's service worker: it receives the server's Web Push messages (incoming calls,
// their cancels, message alerts) while no tab of the demo is open, shows them as system
// notifications, and opens the demo on the call when one is clicked. The payload is the
// server's (docs/PROTOCOL.md, "Web Push"): {app, title, body, expires?, data: {type,
// callId?, from?, callType?, reason?, answered?, messageId?}}.
/* eslint-env serviceworker */

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let msg = null;
  try { msg = event.data ? event.data.json() : null; } catch { /* not ours */ }
  if (!msg || !msg.data) return;
  event.waitUntil(handlePush(msg));
});

/** What the demo opens for a call: its page with the call's id (webpush.js reads it). */
const callURL = (callId) => new URL('/?call=' + encodeURIComponent(callId), self.location.origin).href;

async function handlePush(msg) {
  const d = msg.data;
  const reg = self.registration;
  switch (d.type) {
    case 'call.incoming': {
      const video = d.callType === '1';
      // Past the ring timeout (a push delivered late) the call is over: say it was missed.
      if (msg.expires && Date.now() > msg.expires) return showMissed(d.callId, d.from);
      await reg.showNotification(`${d.from} is calling`, {
        body: `Incoming ${video ? 'video' : 'voice'} call` + (msg.body ? ` — ${msg.body}` : ''),
        tag: 'call-' + d.callId, renotify: true, requireInteraction: true,
        data: { kind: 'call', callId: d.callId, from: d.from, url: callURL(d.callId) },
      });
      return;
    }
    case 'call.cancel': {
      for (const n of await reg.getNotifications({ tag: 'call-' + d.callId })) n.close();
      // Answered on another device or declined there (reason 2): nothing was missed.
      if (d.answered !== 'true' && d.reason !== '2') await showMissed(d.callId, d.from);
      return;
    }
    case 'message':
      await reg.showNotification(msg.title || d.from, {
        body: msg.body || '', tag: 'message-' + (d.messageId || ''),
        data: { kind: 'message', url: new URL('/', self.location.origin).href },
      });
      return;
  }
}

function showMissed(callId, from) {
  return self.registration.showNotification('Missed call', {
    body: `${from} called you`, tag: 'missed-' + callId,
    data: { kind: 'missed', url: new URL('/', self.location.origin).href },
  });
}

// A click opens the demo on the call: a tab of the demo already open is focused (its device
// is being rung if it is signed in), otherwise a new one opens at the call's URL.
self.addEventListener('notificationclick', (event) => {
  const data = event.notification.data || {};
  event.notification.close();
  event.waitUntil((async () => {
    const tabs = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const open = tabs.find((c) => new URL(c.url).origin === self.location.origin);
    if (open) {
      open.postMessage({ type: 'duet-notification', ...data });
      return open.focus();
    }
    return self.clients.openWindow(data.url || '/');
  })());
});
