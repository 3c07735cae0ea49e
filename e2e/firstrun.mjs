// Scenarios of issue 16's first run and Web Push: the browser SDK imported from another
// origin (CORS), and the demo's service worker showing pushed calls. run.mjs registers
// them; h carries its helpers and settings.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Starts `duet server` with args; resolves once /healthz answers. */
async function startServer(h, port, args) {
  const proc = spawn(h.DUET_BIN, ['server', '--addr', `127.0.0.1:${port}`, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + h.TIMEOUT;
  for (;;) {
    try { if ((await fetch(base + '/healthz')).ok) break; } catch { /* not up yet */ }
    if (proc.exitCode != null || Date.now() > deadline) throw new Error(`server on ${port} did not start: ${log}`);
    await sleep(100);
  }
  return { base, stop: () => { proc.kill('SIGTERM'); return new Promise((r) => (proc.exitCode != null ? r() : proc.on('exit', r))); } };
}

/** Serves one HTML page at / on port: another origin than the duet server's. */
function servePage(port, html) {
  const srv = createServer((req, res) => {
    res.writeHead(req.url === '/' ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(req.url === '/' ? html : '');
  });
  return new Promise((resolve) => srv.listen(port, '127.0.0.1', () => resolve({ origin: `http://127.0.0.1:${port}`, close: () => srv.close() })));
}

/**
 * A page of another origin (an app's own site, :PORT+1) imports the SDK from a duet server
 * started with --allowed-origins naming it, registers, logs in (REST and WebSocket), and two
 * such pages make a call; a page of a third origin, not allowed, cannot even load the SDK.
 */
export async function crossOriginSDK(contexts, h) {
  const port = 18090;
  const appOrigin = `http://127.0.0.1:${port + 1}`;
  const server = await startServer(h, port, ['--data', join(h.TMP_DIR, 'data-cors'), '--turn-addr', '', '--relay-ports', 'any',
    '--media-loopback', '--log-level', 'warn', '--allowed-origins', appOrigin]);
  const html = `<!doctype html><meta charset="utf-8"><title>another origin</title><body><script type="module">
    window.result = import('${server.base}/sdk/duet.js').then(async ({ DuetClient, CallType }) => {
      window.sdk = { DuetClient, CallType };
      return 'loaded';
    }, (err) => 'import failed: ' + err.message);
  </script></body>`;
  const allowed = await servePage(port + 1, html);
  const denied = await servePage(port + 2, html);
  try {
    const pages = [];
    for (const name of ['corsa', 'corsb']) {
      const ctx = await h.browser.newContext({ permissions: ['camera', 'microphone'] });
      contexts.push(ctx);
      const page = await ctx.newPage();
      page.on('pageerror', (e) => console.log(`[${name}] page error: ${e.message}`));
      await page.goto(allowed.origin + '/');
      const loaded = await page.evaluate(() => window.result);
      h.assert(loaded === 'loaded', `${name}: the SDK did not load from ${server.base} on ${allowed.origin}: ${loaded}`);
      await page.evaluate(async ({ base, name, pw }) => {
        const c = new window.sdk.DuetClient({ appKey: 'demo#duet', serverURL: base });
        window.client = c;
        window.events = [];
        c.callManager.addDelegate({
          callDidReceive: (s) => { window.events.push('receive'); c.callManager.answerIncomingCall(s.callId); },
          callDidAccept: () => window.events.push('accept'),
          callDidConnect: () => window.events.push('connect'),
          callDidEnd: (s, reason) => window.events.push('end:' + reason),
        });
        await c.register(name, pw);
        await c.login(name, pw);
        const recs = await c.fetchCallRecords({ limit: 5 }); // the client REST API, cross-origin
        if (!Array.isArray(recs.entities)) throw new Error('call records: ' + JSON.stringify(recs));
      }, { base: server.base, name, pw: h.PASSWORD });
      pages.push(page);
    }
    const [a, b] = pages;
    await a.evaluate(async () => { window.session = await window.client.callManager.startCall(window.sdk.CallType.Voice, 'corsb'); });
    await a.waitForFunction(() => window.events.includes('connect'), null, { timeout: h.TIMEOUT });
    await b.waitForFunction(() => window.events.includes('connect'), null, { timeout: h.TIMEOUT });
    await a.evaluate(() => window.client.callManager.endCall(window.session.callId, 0));
    await b.waitForFunction(() => window.events.some((e) => e.startsWith('end:')), null, { timeout: h.TIMEOUT });

    const ctx = await h.browser.newContext();
    contexts.push(ctx);
    const page = await ctx.newPage();
    await page.goto(denied.origin + '/');
    const res = await page.evaluate(() => window.result);
    h.assert(res.startsWith('import failed'), `a page of an origin not allowed loaded the SDK: ${res}`);
    h.notes.push(`cross-origin SDK: ${allowed.origin} imported ${server.base}/sdk/duet.js, logged in and called; ${denied.origin} was refused`);
  } finally {
    allowed.close();
    denied.close();
    await server.stop();
  }
}

/**
 * The demo's Web Push: bob turns "Call alerts" on (the permission asked then, the service
 * worker registered, the subscription bound on the server) and closes his tab. Alice calls.
 * Chromium's own push service (FCM) is not reachable here, so the subscription is one the
 * test makes (pushManager.subscribe is replaced before the page loads) and the push is
 * delivered straight to the service worker over CDP (ServiceWorker.deliverPushMessage) with
 * the payload the server sends (the Go test server/push TestWebPush checks the server's
 * side, encryption and VAPID included). The worker shows "alice is calling"; the URL the
 * notification opens brings the demo up signed in, on alice's ringing call; the call's cancel
 * replaces the notification with a missed call.
 */
export async function webPushNotification(contexts, h) {
  const ctx = await h.browser.newContext({ viewport: h.PHONE, permissions: ['camera', 'microphone', 'notifications'] });
  contexts.push(ctx);
  await ctx.addInitScript(() => {
    // A subscription like a browser's (a P-256 key and a 16-byte auth secret), at an
    // endpoint that stands for the push service.
    const b64u = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    let sub = null;
    PushManager.prototype.subscribe = async function subscribe(opts) {
      window.__applicationServerKey = opts && opts.applicationServerKey;
      const kp = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
      const raw = await crypto.subtle.exportKey('raw', kp.publicKey);
      const json = { endpoint: 'https://push.test.invalid/sub/' + Math.random().toString(36).slice(2), expirationTime: null,
        keys: { p256dh: b64u(raw), auth: b64u(crypto.getRandomValues(new Uint8Array(16))) } };
      sub = { endpoint: json.endpoint, toJSON: () => json, unsubscribe: async () => { sub = null; return true; } };
      return sub;
    };
    PushManager.prototype.getSubscription = async function getSubscription() { return sub; };
  });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`[bobwp] page error: ${e.message}`));
  await page.goto(h.BASE + '/');
  await page.waitForSelector('body[data-ready="1"]', { timeout: h.TIMEOUT });
  await page.fill('#username', 'bobwp');
  await page.fill('#password', h.PASSWORD);
  await page.click('#btn-register');
  await page.waitForSelector('#screen-home:not([hidden])', { timeout: h.TIMEOUT });
  await page.waitForSelector('#btn-webpush[aria-pressed="false"]', { timeout: h.TIMEOUT });
  await page.click('#btn-webpush');
  await page.waitForSelector('#btn-webpush[aria-pressed="true"]', { timeout: h.TIMEOUT });
  const key = await page.evaluate(() => window.__applicationServerKey);
  h.assert(typeof key === 'string' && key.length === 87, `subscribed with applicationServerKey ${key}`);

  // The service worker's registration, for CDP, through a blank page that stays open when
  // the demo's tab closes (a CDP session ends with its page).
  const blank = await ctx.newPage();
  const cdp = await ctx.newCDPSession(blank);
  const regs = new Map();
  cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => { for (const r of e.registrations) regs.set(r.scopeURL, r.registrationId); });
  await cdp.send('ServiceWorker.enable');
  const scope = h.BASE + '/demo/';
  const deadline = Date.now() + h.TIMEOUT;
  while (!regs.has(scope)) {
    h.assert(Date.now() < deadline, `no service worker registration for ${scope}: ${[...regs.keys()]}`);
    await sleep(100);
  }
  const registrationId = regs.get(scope);
  const worker = ctx.serviceWorkers()[0] || await ctx.waitForEvent('serviceworker', { timeout: h.TIMEOUT });
  const notifications = () => worker.evaluate(async () => (await self.registration.getNotifications())
    .map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })));

  // Bob closes the demo; a device of his that is not a browser (the CLI, answering after a
  // minute) keeps the call ringing, as an offline browser's pushed call does.
  await page.close();
  const bobCLI = spawn(h.DUET_BIN, ['call', '--server', h.BASE, '--user', 'bobwp', '--password', h.PASSWORD, '--answer',
    '--after', '60s', '--loopback', '--json', '--timeout', '90s'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let bobOut = '';
  bobCLI.stdout.on('data', (d) => { bobOut += d; });
  for (const end = Date.now() + h.TIMEOUT; !bobOut.includes('"event":"loggedIn"'); await sleep(100)) {
    h.assert(Date.now() < end, `bob's CLI device did not log in: ${bobOut}`);
  }
  const alice = spawn(h.DUET_BIN, ['call', '--server', h.BASE, '--user', 'alicewp', '--password', h.PASSWORD, '--register',
    '--to', 'bobwp', '--video', '--duration', '1s', '--loopback', '--json', '--timeout', '90s'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    let out = '';
    alice.stdout.on('data', (d) => { out += d; });
    const callIdDeadline = Date.now() + h.TIMEOUT;
    let callId = '';
    while (!callId) {
      const m = out.match(/"event":"callStarted","callId":"([A-Z0-9]+)"/);
      if (m) callId = m[1];
      h.assert(Date.now() < callIdDeadline, `alice's call did not start: ${out}`);
      await sleep(100);
    }
    const deliver = (data) => cdp.send('ServiceWorker.deliverPushMessage', { origin: h.BASE, registrationId, data: JSON.stringify(data) });
    await deliver({ app: 'demo#duet', title: 'alice', body: 'Tap to answer', expires: Date.now() + 45000,
      data: { type: 'call.incoming', callId, from: 'alicewp', callType: '1' } });
    let shown = [];
    for (const end = Date.now() + h.TIMEOUT; Date.now() < end && !shown.length; await sleep(100)) shown = await notifications();
    h.assert(shown.length === 1 && shown[0].title === 'alicewp is calling' && shown[0].tag === 'call-' + callId &&
      shown[0].data.url === `${h.BASE}/?call=${callId}`, `notifications after the call's push: ${JSON.stringify(shown)}`);

    // What a click opens (sw.js's notificationclick: no tab of the demo is open, so a new
    // window at the call's URL): the demo, signed in from the kept session, ringing.
    const opened = await ctx.newPage();
    await opened.goto(shown[0].data.url);
    await opened.waitForSelector('#screen-incoming:not([hidden])', { timeout: h.TIMEOUT });
    const ringing = await opened.evaluate(() => document.querySelector('#screen-incoming').textContent);
    h.assert(ringing.includes('alicewp'), `the incoming screen does not show alice: ${ringing}`);
    await opened.screenshot({ path: join(h.OUT, 'webpush-opened-incoming.png') });
    await opened.close();

    await deliver({ app: 'demo#duet', title: 'alice', body: 'Missed call from alicewp',
      data: { type: 'call.cancel', callId, from: 'alicewp', reason: '1' } });
    let after = [];
    for (const end = Date.now() + h.TIMEOUT; Date.now() < end; await sleep(100)) {
      after = await notifications();
      if (after.length === 1 && after[0].tag === 'missed-' + callId) break;
    }
    h.assert(after.length === 1 && after[0].tag === 'missed-' + callId && after[0].title === 'Missed call',
      `notifications after the cancel: ${JSON.stringify(after)}`);
    h.notes.push(`web push: the service worker showed call ${callId}, its URL opened the demo on the ringing call, the cancel left a missed call`);
  } finally {
    alice.kill('SIGKILL');
    bobCLI.kill('SIGKILL');
  }
}
