// Scenarios of issue 16's first run and Web Push: the browser SDK imported from another
// origin (CORS), and the demo's service worker showing pushed calls. run.mjs registers
// them; h carries its helpers and settings.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Starts `duet server` with args; resolves once /healthz answers. */
async function startServer(h, port, args, env = {}) {
  const proc = spawn(h.DUET_BIN, ['server', '--addr', `127.0.0.1:${port}`, ...args],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
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
 * A local push service in the role of the browser vendor's: HTTPS (the duet server trusts
 * its certificate through SSL_CERT_FILE), one subscription whose keys it holds, and each push
 * decrypted as the browser would (RFC 8291 aes128gcm), for the test to hand to the service
 * worker.
 */
async function startPushService(h, port) {
  const { execFileSync } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  const { createServer: createHTTPS } = await import('node:https');
  const { createECDH, createDecipheriv, hkdfSync, randomBytes } = await import('node:crypto');
  const dir = join(h.TMP_DIR, 'pushsvc');
  execFileSync('mkdir', ['-p', dir]);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const p256dh = ecdh.getPublicKey();
  const auth = randomBytes(16);
  const b64u = (b) => Buffer.from(b).toString('base64url');
  const received = [];
  const decrypt = (body) => {
    const salt = body.subarray(0, 16);
    const idLen = body[20];
    const asPublic = body.subarray(21, 21 + idLen);
    const ct = body.subarray(21 + idLen);
    const secret = ecdh.computeSecret(asPublic);
    const info = Buffer.concat([Buffer.from('WebPush: info\0'), p256dh, asPublic]);
    const ikm = Buffer.from(hkdfSync('sha256', secret, auth, info, 32));
    const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
    const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
    const d = createDecipheriv('aes-128-gcm', cek, nonce);
    d.setAuthTag(ct.subarray(ct.length - 16));
    const plain = Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    if (plain[end] !== 2) throw new Error('no last-record delimiter');
    return plain.subarray(0, end).toString('utf8');
  };
  const srv = createHTTPS({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        if (!/^vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=[\w-]+$/.test(req.headers.authorization || '')) throw new Error('no VAPID authorization');
        received.push({ headers: req.headers, payload: decrypt(Buffer.concat(chunks)) });
        res.writeHead(201).end();
      } catch (err) {
        received.push({ error: String(err) });
        res.writeHead(400).end(String(err));
      }
    });
  });
  await new Promise((r) => srv.listen(port, '127.0.0.1', r));
  const endpoint = `https://127.0.0.1:${port}/sub/1`;
  return {
    certFile: join(dir, 'cert.pem'), received, close: () => srv.close(),
    subscription: { endpoint, expirationTime: null, keys: { p256dh: b64u(p256dh), auth: b64u(auth) } },
    async next(from) {
      for (const end = Date.now() + h.TIMEOUT; Date.now() < end; await sleep(100)) {
        if (received.length > from) return received[from];
      }
      throw new Error('no push reached the push service');
    },
  };
}

/**
 * The demo's Web Push end to end: bob taps "Turn on" in the notification offer, which turns
 * "Call alerts" on (permission asked then, the service worker registered, the subscription
 * bound), and closes the demo. Alice calls with
 * push-if-offline: the duet server pushes the call to the subscription's push service (a
 * local one, as Chromium's own, FCM, is unreachable here; pushManager.subscribe is made to
 * return its subscription), which decrypts it with the subscription's keys; the test hands
 * the payload to the service worker as the browser would (CDP ServiceWorker.deliverPushMessage).
 * The worker shows "alicewp is calling"; the URL its click opens brings the demo up signed
 * in on the ringing call; bob declines there, and the server's cancel push closes the
 * notification.
 */
export async function webPushEndToEnd(contexts, h) {
  const push = await startPushService(h, 18095);
  const server = await startServer(h, 18096, ['--data', join(h.TMP_DIR, 'data-webpush'), '--turn-addr', '', '--relay-ports', 'any',
    '--media-loopback', '--log-level', 'warn', '--webpush-allow', '127.0.0.0/8'], { SSL_CERT_FILE: push.certFile });
  const ctx = await h.browser.newContext({ viewport: h.PHONE, permissions: ['camera', 'microphone', 'notifications'] });
  contexts.push(ctx);
  await ctx.addInitScript((json) => {
    let sub = null;
    PushManager.prototype.subscribe = async function subscribe(opts) {
      window.__applicationServerKey = opts && opts.applicationServerKey;
      sub = { endpoint: json.endpoint, toJSON: () => json, unsubscribe: async () => { sub = null; return true; } };
      return sub;
    };
    PushManager.prototype.getSubscription = async function getSubscription() { return sub; };
    // The user has not decided on notifications yet (headless Chromium cannot be in that
    // state: it answers prompts itself), until the page asks; the context's grant then
    // answers the prompt as the user would.
    let asked = false;
    const permission = Object.getOwnPropertyDescriptor(Notification, 'permission').get;
    Object.defineProperty(Notification, 'permission', { get: () => (asked ? permission.call(Notification) : 'default') });
    const request = Notification.requestPermission.bind(Notification);
    Notification.requestPermission = async () => { asked = true; return request(); };
  }, push.subscription);
  const children = [];
  try {
    const page = await ctx.newPage();
    page.on('pageerror', (e) => console.log(`[bobwp] page error: ${e.message}`));
    await page.goto(server.base + '/');
    await page.waitForSelector('body[data-ready="1"]', { timeout: h.TIMEOUT });
    await page.fill('#username', 'bobwp');
    await page.fill('#password', h.PASSWORD);
    await page.click('#btn-register');
    await page.waitForSelector('#screen-home:not([hidden])', { timeout: h.TIMEOUT });
    await page.waitForSelector('#btn-webpush[aria-pressed="false"]', { timeout: h.TIMEOUT });
    // One decision: the offer's "Turn on" gives the permission and turns call alerts on.
    await page.waitForSelector('#notify-offer:not([hidden])', { timeout: h.TIMEOUT });
    await page.screenshot({ path: join(h.OUT, 'webpush-home-alerts-off.png') });
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.waitForSelector('#btn-webpush[aria-pressed="true"]', { timeout: h.TIMEOUT });
    await page.waitForSelector('#notify-offer', { state: 'hidden', timeout: h.TIMEOUT });
    const key = await page.evaluate(() => window.__applicationServerKey);
    h.assert(typeof key === 'string' && key.length === 87, `subscribed with applicationServerKey ${key}`);

    // CDP through a blank page that outlives the demo's tab (a CDP session ends with its page).
    const blank = await ctx.newPage();
    const cdp = await ctx.newCDPSession(blank);
    const regs = new Map();
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => { for (const r of e.registrations) regs.set(r.scopeURL, r.registrationId); });
    await cdp.send('ServiceWorker.enable');
    const scope = server.base + '/demo/';
    for (const end = Date.now() + h.TIMEOUT; !regs.has(scope); await sleep(100)) {
      h.assert(Date.now() < end, `no service worker registration for ${scope}: ${[...regs.keys()]}`);
    }
    const worker = ctx.serviceWorkers()[0] || await ctx.waitForEvent('serviceworker', { timeout: h.TIMEOUT });
    const notifications = () => worker.evaluate(async () => (await self.registration.getNotifications())
      .map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })));
    const deliver = (payload) => cdp.send('ServiceWorker.deliverPushMessage', { origin: server.base, registrationId: regs.get(scope), data: payload });

    await page.close(); // bob has no device online now
    const alice = spawn(h.DUET_BIN, ['call', '--server', server.base, '--user', 'alicewp', '--password', h.PASSWORD, '--register',
      '--to', 'bobwp', '--video', '--push-if-offline', '--loopback', '--json', '--timeout', '90s', '--expect-reason', '2'],
    { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(alice);
    let out = '';
    alice.stdout.on('data', (d) => { out += d; });
    const call = await push.next(0);
    h.assert(!call.error, `the push service refused the call's push: ${call.error}`);
    h.assert(call.headers.urgency === 'high' && Number(call.headers.ttl) > 0, `call push headers ${JSON.stringify(call.headers)}`);
    const callMsg = JSON.parse(call.payload);
    const callId = callMsg.data.callId;
    h.assert(callMsg.data.type === 'call.incoming' && callMsg.data.from === 'alicewp' && callId, `call push ${call.payload}`);
    await deliver(call.payload);
    let shown = [];
    for (const end = Date.now() + h.TIMEOUT; Date.now() < end && !shown.length; await sleep(100)) shown = await notifications();
    h.assert(shown.length === 1 && shown[0].title === 'alicewp is calling' && shown[0].tag === 'call-' + callId &&
      shown[0].data.url === `${server.base}/?call=${callId}`, `notifications after the call's push: ${JSON.stringify(shown)}`);
    h.assert(out.includes('"event":"callRemoteOffline"'), `alice was not told that bob is offline and pushed: ${out}`);

    // What a click opens (sw.js's notificationclick, no tab of the demo being open: a new
    // window at the call's URL): the demo, signed in from the kept session, ringing.
    const opened = await ctx.newPage();
    await opened.goto(shown[0].data.url);
    await opened.waitForSelector('#screen-incoming:not([hidden])', { timeout: h.TIMEOUT });
    const ringing = await opened.evaluate(() => document.querySelector('#screen-incoming').textContent);
    h.assert(ringing.includes('alicewp'), `the incoming screen does not show alice: ${ringing}`);
    await opened.screenshot({ path: join(h.OUT, 'webpush-opened-incoming.png') });
    await opened.click('#btn-decline');

    const cancel = await push.next(1);
    h.assert(!cancel.error, `the push service refused the cancel: ${cancel.error}`);
    const cancelMsg = JSON.parse(cancel.payload);
    h.assert(cancelMsg.data.type === 'call.cancel' && cancelMsg.data.callId === callId, `cancel push ${cancel.payload}`);
    await deliver(cancel.payload);
    let after = shown;
    for (const end = Date.now() + h.TIMEOUT; Date.now() < end && after.length; await sleep(100)) after = await notifications();
    h.assert(after.length === 0, `notifications after the cancel of a declined call: ${JSON.stringify(after)}`);
    // Logging out forgets the kept session (a later window must not be signed in with it).
    await opened.waitForSelector('#btn-logout', { state: 'visible', timeout: h.TIMEOUT });
    await opened.click('#btn-logout');
    await opened.waitForFunction(() => localStorage.getItem('duet-webpush-login') === null, null, { timeout: h.TIMEOUT });
    h.notes.push(`web push: call ${callId} went server → push service (decrypted) → service worker → notification; its URL opened the demo ringing; the cancel closed it; logging out forgot the kept session`);
  } finally {
    for (const c of children) c.kill('SIGKILL');
    push.close();
    await server.stop();
  }
}

/**
 * A recorded call between two browsers survives a server restart (SIGTERM, then a new
 * server on the same data and address, as in a deploy): the server drains (goodbye with
 * retryAfter), both pages reconnect to the new server, see a new welcome.boot, and offer
 * their relay legs again; media flows both ways through the new relay, the call is never
 * ended, and the hang-up reaches both.
 */
export async function recordedCallSurvivesRestart(contexts, h) {
  const port = 18097;
  const args = ['--data', join(h.TMP_DIR, 'data-restart'), '--turn-addr', '', '--relay-ports', 'any',
    '--media-loopback', '--log-level', 'warn'];
  let server = await startServer(h, port, args);
  try {
    const alice = await h.openUser(contexts, 'alicers', { base: server.base });
    const bob = await h.openUser(contexts, 'bobrs', { base: server.base });
    await alice.check('#opt-record');
    await h.dial(alice, 'bobrs', 'video');
    await h.waitIncoming(bob);
    await bob.click('#btn-accept');
    await h.waitEvent(alice, 'callDidAccept');
    await h.assertPlaying(alice, 'caller before the restart');
    await h.assertPlaying(bob, 'callee before the restart');
    const restarted = Date.now();
    await server.stop();
    server = await startServer(h, port, args);
    for (const [page, who] of [[alice, 'caller'], [bob, 'callee']]) {
      await page.waitForFunction(() => {
        const ev = window.duetDemo.events.filter((e) => e.event === 'connectionStateDidChange');
        return ev.length >= 2 && ev.at(-2).state === 0 && ev.at(-1).state === 1;
      }, null, { timeout: h.TIMEOUT, polling: 100 });
      await flowing(h, page, `${who} after the restart`);
    }
    const back = Date.now() - restarted;
    for (const page of [alice, bob]) {
      const st = await page.evaluate(() => ({ status: window.duetDemo.session && window.duetDemo.session.status, ended: window.duetDemo.events.some((e) => e.event === 'callDidEnd') }));
      h.assert(st.status === 4 && !st.ended, `the restart ended the call: ${JSON.stringify(st)}`);
    }
    await alice.click('#btn-hangup');
    await h.waitEnded(alice, 0, 'caller');
    await h.waitEnded(bob, 0, 'callee');
    h.notes.push(`recorded call across a server restart: media both ways through the new relay ${back} ms after the SIGTERM (server start included)`);
  } finally {
    await server.stop();
  }
}

/** Waits until page's remote media plays (assertPlaying passes), within the timeout. */
async function flowing(h, page, who) {
  const deadline = Date.now() + h.TIMEOUT;
  for (;;) {
    try {
      await h.assertPlaying(page, who);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
  }
}
