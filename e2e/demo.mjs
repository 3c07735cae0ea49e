// Browser scenarios of the demo app as a calling app (issue 16): people with search and
// paging over 1,000 users, dial by name, presence pushed within a second, a background
// tab's notification and title, the missed-call badge, the outage overlay, accessible names
// that follow state, and phone-size screenshots. run.mjs registers them with its helpers.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

function assert(cond, msg) { if (!cond) throw new Error(msg); }

/** Registers the demo scenarios; h holds run.mjs's helpers and settings. */
export async function demoScenarios(h) {
  const { scenario } = h;
  await scenario('demo: 1,000 users with search and paging, dial by name, presence within 1 s', (cs) => peopleAndDial(h, cs), 300000);
  await scenario('demo: background-tab call notifies and retitles, missed-call badge', (cs) => backgroundAndMissed(h, cs));
  await scenario('demo: accessible names follow state, outage overlay, phone screenshots', (cs) => inCall(h, cs));
}

/** Creates n users named prefix0000… through the admin API, 60 a request, 4 requests at once. */
async function createUsers(h, prefix, n) {
  const token = readFileSync(join(h.DATA_DIR, 'admin-token'), 'utf8').trim();
  const names = Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);
  const batches = [];
  for (let i = 0; i < n; i += 60) batches.push(names.slice(i, i + 60));
  const t0 = Date.now();
  let next = 0;
  await Promise.all([0, 1, 2, 3].map(async () => {
    while (next < batches.length) {
      const b = batches[next++];
      const r = await fetch(`${h.BASE}/admin/v1/apps/demo/duet/users`, {
        method: 'POST', headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
        body: JSON.stringify(b.map((u) => ({ username: u, password: 'pw-bulk' }))),
      });
      if (!r.ok && r.status !== 409) throw new Error(`creating users: HTTP ${r.status} ${await r.text()}`);
    }
  }));
  return { names, ms: Date.now() - t0 };
}

const rowCount = (page) => page.evaluate(() => document.querySelectorAll('#contacts li').length);

async function search(page, q) {
  await page.fill('#search', q);
  await page.waitForFunction((x) => {
    const lis = [...document.querySelectorAll('#contacts li')];
    return lis.length > 0 && lis.every((li) => li.dataset.user.startsWith(x));
  }, q, { timeout: 20000 });
}

async function peopleAndDial(h, contexts) {
  const { names, ms } = await createUsers(h, 'pp', 1000);
  h.notes.push(`demo: 1,000 users created through the admin API in ${(ms / 1000).toFixed(1)} s`);
  const dana = await h.openUser(contexts, 'dana16');
  // The first page (50 users, dana herself left out), then more pages, in name order.
  await dana.waitForSelector('#more:not([hidden])', { timeout: 20000 });
  assert((await rowCount(dana)) >= 49, `first page: ${await rowCount(dana)} rows`);
  await dana.screenshot({ path: join(h.OUT, 'demo-home.png') });
  for (let i = 0; i < 3; i++) {
    const n = await rowCount(dana);
    await dana.click('#more');
    await dana.waitForFunction((k) => document.querySelectorAll('#contacts li').length > k, n, { timeout: 20000 });
  }
  assert((await rowCount(dana)) === 199, `after three "Show more": ${await rowCount(dana)} rows; want 49 + 3 × 50`);
  await dana.screenshot({ path: join(h.OUT, 'demo-home-scrolled.png') });
  // Search: the 1,000th user, beyond any first page, is found and listed alone.
  await search(dana, names[999]);
  assert((await rowCount(dana)) === 1, `search for ${names[999]}: ${await rowCount(dana)} rows`);
  // A prefix with 100 matches: two pages, then no more.
  await search(dana, 'pp05');
  assert((await rowCount(dana)) === 50, `pp05, first page: ${await rowCount(dana)} rows`);
  await dana.click('#more');
  await dana.waitForFunction(() => document.querySelectorAll('#contacts li').length === 100, null, { timeout: 20000 });
  await dana.waitForSelector('#more', { state: 'hidden', timeout: 5000 });
  // The 1,000th user can be called (offline: the call says so).
  await search(dana, names[999]);
  await dana.click(`#contacts li[data-user="${names[999]}"] button.voice`);
  await h.waitEnded(dana, 6, 'dana → the 1,000th user (offline)', { sdk: false });

  // Presence is pushed: erin logs in and out; dana, searching for her, sees each within 1 s.
  await dana.fill('#search', '');
  const erin = await h.openUser(contexts, 'erin16');
  await search(dana, 'erin16');
  await dana.waitForSelector('#contacts li[data-user="erin16"].online', { timeout: 5000 });
  const watch = () => dana.evaluate(() => new Promise((resolve) => {
    const li = document.querySelector('#contacts li[data-user="erin16"]');
    const was = li.classList.contains('online');
    const mo = new MutationObserver(() => { if (li.classList.contains('online') !== was) { mo.disconnect(); resolve(Date.now()); } });
    mo.observe(li, { attributes: true, attributeFilter: ['class'] });
    setTimeout(() => { mo.disconnect(); resolve(0); }, 10000);
  }));
  let seen = watch();
  const tOff = await erin.evaluate(() => { const t = Date.now(); document.getElementById('btn-logout').click(); return t; });
  const offAt = await seen;
  assert(offAt > 0, 'dana never saw erin go offline');
  seen = watch();
  await erin.fill('#username', 'erin16');
  await erin.fill('#password', 'pw-e2e-1');
  const tOn = await erin.evaluate(() => { const t = Date.now(); document.getElementById('btn-login').click(); return t; });
  const onAt = await seen;
  assert(onAt > 0, 'dana never saw erin come back');
  await erin.waitForSelector('#screen-home:not([hidden])', { timeout: 20000 });
  h.notes.push(`demo: presence seen by another browser ${offAt - tOff} ms after a logout click, ${onAt - tOn} ms after a login click (login included)`);
  assert(offAt - tOff <= 1000, `logout seen after ${offAt - tOff} ms (> 1 s)`);
  assert(onAt - tOn <= 1000 + 1500, `login seen after ${onAt - tOn} ms`);

  // Dial by name: a user typed in the dial box, not picked from the list.
  await dana.fill('#dial-name', 'Erin16');
  await dana.press('#dial-name', 'Enter');
  await h.waitIncoming(erin);
  await erin.click('#btn-decline');
  await h.waitEnded(dana, 2, 'dana (declined)');
  await h.waitEnded(erin, 2, 'erin (declined)');
  await dana.fill('#dial-name', 'no-such-user-16');
  await dana.click('#btn-dial-voice');
  await dana.waitForSelector('#ended:not([hidden]) >> text=No such user', { timeout: 20000 });

  // Contacts kept on the server: erin stars dana, the "My contacts" filter lists her.
  await search(erin, 'dana16');
  await erin.getByRole('button', { name: 'Add dana16 to contacts' }).click();
  await erin.getByRole('button', { name: 'Remove dana16 from contacts', pressed: true }).waitFor({ timeout: 5000 });
  await erin.fill('#search', '');
  await erin.click('.filter button[data-filter="mine"]');
  await erin.waitForFunction(() => [...document.querySelectorAll('#contacts li')].map((li) => li.dataset.user).join() === 'dana16', null, { timeout: 10000 });
}

async function backgroundAndMissed(h, contexts) {
  const fay = await h.openUser(contexts, 'fay16', { permissions: ['camera', 'microphone', 'notifications'] });
  // Record every notification the page raises (the real constructor still runs).
  await fay.evaluate(() => {
    const Real = window.Notification;
    window.__notes = [];
    window.Notification = class extends Real {
      constructor(title, opts) { super(title, opts); window.__notes.push({ title, body: opts && opts.body }); }
    };
    Object.defineProperty(window.Notification, 'permission', { get: () => Real.permission });
  });
  assert(await fay.evaluate(() => Notification.permission) === 'granted', 'notification permission not granted');
  assert(await fay.isHidden('#notify-offer'), 'the notification offer shows although permission is granted');
  const gus = await h.openUser(contexts, 'gus16');
  // Another tab in front: fay's tab is in the background. (Playwright emulates focus for
  // every page; turned off, the page in front has the focus as in a real browser.
  // Headless Chromium keeps every tab "visible", so the focus is what tells.)
  const cdp = await fay.context().newCDPSession(fay);
  await cdp.send('Emulation.setFocusEmulationEnabled', { enabled: false });
  const other = await fay.context().newPage();
  await other.goto('about:blank');
  await other.bringToFront();
  await fay.waitForFunction(() => !document.hasFocus(), null, { timeout: 5000 });
  await h.dial(gus, 'fay16', 'video');
  await fay.waitForFunction(() => window.__notes.length > 0, null, { timeout: 20000 });
  const n = await fay.evaluate(() => window.__notes[0]);
  assert(n.title === 'Incoming video call' && n.body.includes('gus16'), `notification ${JSON.stringify(n)}`);
  const title = await fay.title();
  assert(title.includes('gus16 is calling'), `tab title while ringing: "${title}"`);
  // gus gives up: a missed call for fay, badge on History until she opens it.
  await gus.click('#btn-hangup');
  await h.waitEnded(gus, 0, 'gus (cancelled)');
  await fay.bringToFront();
  await h.waitEnded(fay, 0, 'fay (missed)');
  assert((await fay.title()) === 'duet', `title after the ring: "${await fay.title()}"`);
  await fay.getByRole('tab', { name: 'History, 1 missed call' }).waitFor({ timeout: 10000 });
  assert(await fay.isVisible('#missed-badge'), 'no missed-call badge');
  await fay.screenshot({ path: join(h.OUT, 'demo-missed-badge.png') });
  await fay.getByRole('tab', { name: 'History, 1 missed call' }).click();
  await fay.waitForSelector('#missed-badge', { state: 'hidden', timeout: 5000 });
  await fay.waitForSelector('#history li.missed', { timeout: 10000 });
  // A browser that denies notifications (headless Chromium answers every prompt "denied",
  // so the "ask" state cannot be reached here) gets no offer to turn them on.
  const hal = await h.openUser(contexts, 'hal16');
  assert(await hal.evaluate(() => Notification.permission) === 'denied' && await hal.isHidden('#notify-offer'), 'an offer shows although notifications are denied');
  h.notes.push(`demo: background tab got notification "${n.title}: ${n.body}", title "${title}"`);
}

/** Names of the call controls, through the accessibility tree. */
async function controlNames(page) {
  const snap = await page.locator('#screen-call .controls').ariaSnapshot();
  return snap.replace(/\s+/g, ' ');
}

async function inCall(h, contexts) {
  const ida = await h.openUser(contexts, 'ida16');
  const jon = await h.openUser(contexts, 'jon16');
  await h.dial(ida, 'jon16', 'video');
  await h.waitIncoming(jon);
  await jon.getByRole('alertdialog', { name: 'Incoming video call ida16' }).waitFor({ timeout: 5000 });
  await jon.getByRole('button', { name: 'Accept' }).waitFor({ timeout: 5000 });
  await jon.waitForTimeout(300);
  await jon.screenshot({ path: join(h.OUT, 'demo-incoming.png') });
  await jon.click('#btn-accept');
  await h.waitEvent(ida, 'callDidAccept');
  await h.assertPlaying(ida, 'ida');

  // Accessible names say what a tap does now.
  const before = await controlNames(ida);
  await ida.getByRole('button', { name: 'Mute microphone' }).click();
  await ida.getByRole('button', { name: 'Unmute microphone' }).waitFor({ timeout: 5000 });
  await ida.getByRole('button', { name: 'Turn camera off' }).click();
  await ida.getByRole('button', { name: 'Turn camera on' }).waitFor({ timeout: 5000 });
  const after = await controlNames(ida);
  assert(before !== after && after.includes('Unmute microphone') && after.includes('Turn camera on'), `controls before "${before}" after "${after}"`);
  await ida.getByRole('button', { name: 'Unmute microphone' }).click();
  await ida.getByRole('button', { name: 'Turn camera on' }).click();
  await ida.getByRole('button', { name: 'Show call details' }).click();
  await ida.getByRole('button', { name: 'Hide call details', expanded: true }).waitFor({ timeout: 5000 });
  await ida.waitForTimeout(2200); // a stats refresh
  await ida.screenshot({ path: join(h.OUT, 'demo-in-call-stats.png') });
  // The self-view and the top bar stay clear of the details panel.
  const overlap = await ida.evaluate(() => {
    const r = (id) => document.getElementById(id).getBoundingClientRect();
    const a = r('stats'); const b = r('local-video'); const t = document.querySelector('.call-top').getBoundingClientRect();
    const hit = (x, y) => x.left < y.right && y.left < x.right && x.top < y.bottom && y.top < x.bottom;
    return { self: hit(a, b), top: a.top < t.bottom - 1 };
  });
  assert(!overlap.self && !overlap.top, `details panel overlaps ${JSON.stringify(overlap)}`);

  // An outage: every UDP packet dropped (media), the device connection (TCP) kept.
  nft(['add', 'table', 'inet', 'demo16']);
  nft(['add', 'chain', 'inet', 'demo16', 'out', '{ type filter hook output priority 0 ; }']);
  nft(['add', 'rule', 'inet', 'demo16', 'out', 'meta', 'l4proto', 'udp', 'drop']);
  const t0 = Date.now();
  try {
    await ida.waitForSelector('#call-outage:not([hidden])', { timeout: 20000 });
    h.notes.push(`demo: "Reconnecting…" shown ${Date.now() - t0} ms after media was cut`);
    await ida.waitForFunction(() => /rtt +—/.test(document.getElementById('stats').textContent), null, { timeout: 5000 });
    const w = await ida.evaluate(() => [document.getElementById('screen-call').getBoundingClientRect().width, innerWidth]);
    assert(w[0] === w[1], `the call screen is ${w[0]} px wide in the outage, the window ${w[1]}`);
    await ida.screenshot({ path: join(h.OUT, 'demo-outage.png') });
  } finally {
    nft(['delete', 'table', 'inet', 'demo16']);
  }
  const t1 = Date.now();
  await ida.waitForSelector('#call-outage', { state: 'hidden', timeout: 30000 });
  h.notes.push(`demo: "Reconnecting…" cleared ${Date.now() - t1} ms after media came back`);
  // The picture moves again (the decoder may wait for a keyframe after the loss).
  const frames = () => ida.evaluate(async () => {
    let n = 0;
    (await window.duetDemo.session.getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video') n += r.framesDecoded || 0; });
    return n;
  });
  const f0 = await frames();
  const deadline = Date.now() + 15000;
  while ((await frames()) < f0 + 10) {
    assert(Date.now() < deadline, 'ida: video did not decode again within 15 s of the outage');
    await sleep(250);
  }
  h.notes.push(`demo: video decoding again ${Date.now() - t1} ms after media came back`);

  await ida.click('#btn-hangup');
  await ida.waitForSelector('#ended:not([hidden])', { timeout: 20000 });
  await ida.screenshot({ path: join(h.OUT, 'demo-ended.png') });
  await h.waitEnded(ida, 0, 'ida');
  await h.waitEnded(jon, 0, 'jon');
}

function nft(args) {
  execFileSync('nft', args, { stdio: 'pipe' });
}

