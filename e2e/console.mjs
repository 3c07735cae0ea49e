// Browser tests of the operator's console (web/console) beyond run.mjs's live-call scenario:
// a call between two browsers with packet loss on one side, found among the records by its
// quality and shown on its page with the loss in the charts; the dashboard's quality
// distribution; recordings played in the page; a webhook's dead letter retried; 1,000 users
// paged and searched; every page shot on a laptop and a phone.
//
// run.mjs registers consoleTour with its helpers (h): the browser, the server's URL and data
// folder, and the demo-app helpers (openUser, dial, waitIncoming, waitEvent, waitEnded).
import { createServer } from 'node:http';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const LOSS_PERCENT = 20;
const LOSSY_SECONDS = 12;
const PAGING_APP = 'ops#paging';
const PAGING_USERS = 1000;

/** Drops LOSS_PERCENT % of the UDP packets to port, at the input hook of this namespace. */
function addLoss(port) {
  const nft = (...args) => execFileSync('nft', args, { stdio: 'pipe' });
  nft('add', 'table', 'inet', 'duet_loss');
  nft('add', 'chain', 'inet', 'duet_loss', 'input', '{ type filter hook input priority 0; }');
  nft('add', 'rule', 'inet', 'duet_loss', 'input', 'udp', 'dport', String(port), 'numgen', 'random', 'mod', '100', '<', String(LOSS_PERCENT), 'drop');
  return () => execFileSync('nft', ['delete', 'table', 'inet', 'duet_loss'], { stdio: 'pipe' });
}

/** The local UDP port of the page's call (the selected candidate pair), from getStats. */
function mediaPort(page) {
  return page.evaluate(async () => {
    const r = await window.duetDemo.session.getStats();
    let pair = null;
    r.forEach((x) => { if (x.type === 'transport' && x.selectedCandidatePairId) pair = r.get(x.selectedCandidatePairId); });
    if (!pair) r.forEach((x) => { if (x.type === 'candidate-pair' && x.nominated && x.state === 'succeeded') pair = x; });
    return pair ? r.get(pair.localCandidateId).port : 0;
  });
}

/** A port nothing listens on (yet): the webhook endpoint is dead until listen() is called. */
async function deadEndpoint() {
  const got = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => { got.push({ id: req.headers['x-duet-event-id'], type: req.headers['x-duet-event'], body }); res.end('ok'); });
  });
  await new Promise((res) => srv.listen(0, '127.0.0.1', res));
  const { port } = srv.address();
  await new Promise((res) => srv.close(res));
  return {
    url: `http://127.0.0.1:${port}/hook`, got,
    listen: () => new Promise((res) => srv.listen(port, '127.0.0.1', res)),
    close: () => new Promise((res) => srv.close(() => res())),
  };
}

export function consoleTour(h) {
  const { BASE, OUT, TIMEOUT, DESKTOP, PHONE, assert, notes } = h;
  const token = () => readFileSync(join(h.DATA_DIR, 'admin-token'), 'utf8').trim();
  const adminAPI = async (method, path, body) => {
    const r = await fetch(`${BASE}/admin/v1${path}`, {
      method, headers: { Authorization: `Bearer ${token()}`, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body),
    });
    const data = await r.json().catch(() => null);
    assert(r.ok, `${method} ${path}: ${r.status} ${JSON.stringify(data)}`);
    return data;
  };
  const shots = [];
  const shoot = async (page, name, opts = {}) => {
    await page.screenshot({ path: join(OUT, name), ...opts });
    shots.push(name);
  };

  /** 1,000 users in an app of their own (the demo's contacts stay short), through the admin API. */
  async function createUsers() {
    await adminAPI('POST', '/apps', { org: 'ops', name: 'paging', registration: 'authorized' }).catch(() => {});
    const t0 = Date.now();
    for (let i = 0; i < PAGING_USERS; i += 50) {
      const batch = Array.from({ length: 50 }, (_, j) => ({ username: `pg${String(i + j).padStart(4, '0')}`, password: 'pw-paging' }));
      await adminAPI('POST', '/apps/ops/paging/users', batch);
    }
    return Date.now() - t0;
  }

  return async function tour(contexts) {
    const users = createUsers(); // password hashes take a while: meanwhile, the call
    users.catch(() => {});
    const hook = await deadEndpoint();

    const ctx = await h.browser().newContext({ viewport: DESKTOP });
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => console.log(`[console] page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') console.log(`[console] ${m.text()}`); });
    page.on('dialog', (d) => d.accept());
    await page.goto(`${BASE}/console/`);
    await page.fill('input[name="token"]', token());
    await page.click('button[type="submit"]');
    await page.waitForSelector('h1:text("Dashboard")', { timeout: TIMEOUT });

    // A call webhook to an endpoint that is down, added in the console.
    const demo = encodeURIComponent('demo#duet');
    await page.goto(`${BASE}/console/#/app/${demo}`);
    await page.fill('input[name="url"]', hook.url);
    await page.click('button:text("Add")');
    await page.waitForSelector(`td:text("${hook.url}")`, { timeout: TIMEOUT });

    // A recorded video call with LOSS_PERCENT % of the packets to the callee's port dropped.
    const alice = await h.openUser(contexts, 'lossy-a', { viewport: DESKTOP });
    const bob = await h.openUser(contexts, 'lossy-b');
    await alice.check('#opt-record');
    await h.dial(alice, 'lossy-b', 'video');
    await h.waitIncoming(bob);
    await bob.click('#btn-accept');
    await h.waitEvent(alice, 'callDidAccept');
    const callId = await alice.evaluate(() => window.duetDemo.session.callId);
    await bob.waitForFunction(() => document.getElementById('remote-video').currentTime > 0.5, null, { timeout: TIMEOUT });
    const port = await mediaPort(bob);
    assert(port > 0, 'no media port at the callee');
    const removeLoss = addLoss(port);
    try {
      await sleep(LOSSY_SECONDS * 1000);
    } finally {
      removeLoss();
    }
    await sleep(2500); // one clean sample after the loss
    await alice.click('#btn-hangup');
    await h.waitEnded(alice, 0, 'caller');
    await h.waitEnded(bob, 0, 'callee');

    // The caller's page lists her browser, connected; the operator kicks it, and the demo
    // shows it was disconnected by the operator (reason 9), signed out.
    await page.goto(`${BASE}/console/#/user/${demo}/lossy-a`);
    await page.waitForSelector('tr[data-device]', { timeout: TIMEOUT });
    const kicked = await page.locator('tr[data-device]').first().getAttribute('data-device');
    await shoot(page, 'console-user-devices.png');
    await page.click(`button[aria-label="Kick ${kicked}"]`);
    await alice.waitForFunction(() => document.getElementById('ended').dataset.reason === '9', null, { timeout: TIMEOUT });
    await page.waitForFunction((id) => !document.querySelector(`tr[data-device="${id}"]`), kicked, { timeout: TIMEOUT });
    notes.push(`console: kicked lossy-a's device ${kicked}; her demo showed reason 9`);

    // The call among the records, by its quality.
    await page.goto(`${BASE}/console/#/calls/${demo}?quality=lossy`);
    await page.waitForSelector(`tr[data-call="${callId}"]`, { timeout: TIMEOUT });
    await shoot(page, 'console-calls-lossy.png');

    // Its page: the callee's charts show the loss, the caller's do not.
    await page.click(`a:text("${callId}")`);
    await page.waitForSelector('section.party[data-user="lossy-b"] figure[aria-label="Packet loss"]', { timeout: TIMEOUT });
    const q = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('section.party')].map((s) => {
      const heard = JSON.parse(s.querySelector('figure[aria-label="Packet loss"] path[data-series="heard"]').dataset.values);
      const dl = s.querySelector('dl.summary');
      return [s.dataset.user, { heardMax: Math.max(...heard), points: heard.length, lossInMax: Number(dl.dataset.lossInMax), mos: Number(dl.dataset.mos) }];
    })));
    const b = q['lossy-b'];
    const a = q['lossy-a'];
    assert(b && a, `parties on the call page: ${JSON.stringify(q)}`);
    assert(b.points >= 4 && b.heardMax >= 5 && b.lossInMax >= 0.05, `the callee's loss is not in its chart: ${JSON.stringify(b)}`);
    assert(a.heardMax < b.heardMax, `the caller heard more loss than the callee: ${JSON.stringify(q)}`);
    notes.push(`console: call ${callId} with ${LOSS_PERCENT} % drop to the callee for ${LOSSY_SECONDS} s: callee's chart peaks at ${b.heardMax.toFixed(1)} % loss heard over ${b.points} samples (MOS ${b.mos.toFixed(2)}), caller's at ${a.heardMax.toFixed(1)} % (MOS ${a.mos.toFixed(2)})`);
    await shoot(page, 'console-call-quality.png', { fullPage: true });

    // Its recordings, played in the page.
    await page.waitForSelector('button[aria-label^="Play "]', { timeout: TIMEOUT });
    await page.locator('button[aria-label^="Play "]').first().click();
    await page.waitForFunction(() => {
      const v = document.querySelector('.player video');
      return v && v.currentTime > 0;
    }, null, { timeout: TIMEOUT, polling: 200 });
    await shoot(page, 'console-call-recording.png', { fullPage: true });
    await page.goto(`${BASE}/console/#/recordings/${demo}`);
    await page.waitForSelector('tr[data-recording]', { timeout: TIMEOUT });
    await shoot(page, 'console-recordings.png');

    // The dashboard counts the call in a band.
    await page.goto(`${BASE}/console/#/dashboard`);
    await page.waitForSelector('table.quality', { timeout: TIMEOUT });
    const dist = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('table.quality tr[data-band]')].map((r) => [r.dataset.band, Number(r.dataset.day)])));
    const rated = dist.good + dist.fair + dist.poor + dist.bad;
    assert(rated >= 1, `no rated call in the day's distribution: ${JSON.stringify(dist)}`);
    notes.push(`console: dashboard quality of the day ${JSON.stringify(dist)}`);
    await shoot(page, 'console-dashboard-quality.png', { fullPage: true });

    // The webhook's events went dead (the server's short retry policy); retry one once the
    // endpoint is up: it is delivered and leaves the list.
    await page.goto(`${BASE}/console/#/app/${demo}`);
    const deadline = Date.now() + TIMEOUT;
    let dead = 0;
    while (Date.now() < deadline) {
      dead = await page.locator('tr[data-dead]').count();
      if (dead > 0) break;
      await sleep(500);
      await page.goto(`${BASE}/console/#/apps`);
      await page.goto(`${BASE}/console/#/app/${demo}`);
      await page.waitForSelector('h1:text("App demo#duet")', { timeout: TIMEOUT });
    }
    assert(dead > 0, 'no dead letter for the dead endpoint');
    await shoot(page, 'console-app-deadletters.png', { fullPage: true });
    await hook.listen();
    const retried = await page.locator('tr[data-dead] button[aria-label^="Retry "]').first().getAttribute('aria-label');
    const eventId = retried.replace('Retry ', '');
    await page.click(`button[aria-label="${retried}"]`);
    await page.waitForFunction((id) => !document.querySelector(`button[aria-label="Retry ${id}"]`), eventId, { timeout: TIMEOUT });
    for (let i = 0; i < 50 && !hook.got.some((g) => g.id === eventId); i++) await sleep(100);
    assert(hook.got.some((g) => g.id === eventId), `the retried ${eventId} did not reach the endpoint: ${JSON.stringify(hook.got.map((g) => g.id))}`);
    notes.push(`console: ${dead} dead letters for the dead endpoint; retried ${eventId}, delivered`);
    const hooks = await adminAPI('GET', '/apps/demo/duet/webhooks');
    for (const w of hooks.entities) await adminAPI('DELETE', `/apps/demo/duet/webhooks/${w.id}`);
    await hook.close();

    // Apps.
    await page.goto(`${BASE}/console/#/apps`);
    await page.waitForSelector('tr[data-app]', { timeout: TIMEOUT });
    await shoot(page, 'console-apps.png');
    // The paging app's registration, opened from its page.
    await page.goto(`${BASE}/console/#/app/${encodeURIComponent(PAGING_APP)}`);
    await page.waitForSelector('p:has-text("Registration authorized")', { timeout: TIMEOUT });
    await page.selectOption('select[name="registration"]', 'open');
    await page.click('button:text("Change")');
    await page.waitForSelector('p:has-text("Registration open")', { timeout: TIMEOUT });
    const reg = (await adminAPI('GET', '/apps')).entities.find((a) => a.key === PAGING_APP).registration;
    assert(reg === 'open', `${PAGING_APP}'s registration after the change: ${reg}`);

    // 1,000 users: pages forward and back, and a search.
    const took = await users;
    notes.push(`console: ${PAGING_USERS} users created through the admin API in ${(took / 1000).toFixed(1)} s`);
    const pagingApp = encodeURIComponent(PAGING_APP);
    await page.goto(`${BASE}/console/#/users/${pagingApp}`);
    const firstUsers = async () => {
      await page.waitForSelector('tr[data-user]', { timeout: TIMEOUT });
      return page.evaluate(() => ({
        names: [...document.querySelectorAll('tr[data-user]')].map((r) => r.dataset.user),
        label: document.querySelector('.pager span').textContent,
      }));
    };
    let seen = await firstUsers();
    assert(seen.names.length === 20 && seen.names[0] === 'pg0000' && seen.label === 'users 1–20', `first page ${JSON.stringify(seen)}`);
    for (let i = 0; i < 3; i++) {
      await page.click('button:text("Next page")');
      await page.waitForFunction((n) => document.querySelector('.pager span').textContent.startsWith(`users ${n}`), 21 + 20 * i, { timeout: TIMEOUT });
    }
    seen = await firstUsers();
    assert(seen.names[0] === 'pg0060' && seen.label === 'users 61–80', `fourth page ${JSON.stringify(seen)}`);
    await page.click('button:text("Previous page")');
    await page.waitForFunction(() => document.querySelector('.pager span').textContent === 'users 41–60', null, { timeout: TIMEOUT });
    seen = await firstUsers();
    assert(seen.names[0] === 'pg0040', `back a page ${JSON.stringify(seen)}`);
    await shoot(page, 'console-users.png', { fullPage: true });
    await page.fill('input[name="q"]', 'pg09');
    await page.click('button:text("Search")');
    await page.waitForFunction(() => document.querySelector('tr[data-user]')?.dataset.user === 'pg0900', null, { timeout: TIMEOUT });
    await page.click('button:text("Next page")');
    await page.waitForFunction(() => document.querySelector('tr[data-user]')?.dataset.user === 'pg0920', null, { timeout: TIMEOUT });
    seen = await firstUsers();
    assert(seen.names.length === 20 && seen.names.every((n) => n.startsWith('pg09')), `search page 2 ${JSON.stringify(seen)}`);
    await shoot(page, 'console-users-search.png');

    // A phone: the same pages.
    await page.setViewportSize(PHONE);
    for (const [route, ready, name] of [
      ['#/dashboard', 'table.quality', 'console-phone-dashboard.png'],
      [`#/call/${demo}/${encodeURIComponent(callId)}`, 'section.party', 'console-phone-call.png'],
      [`#/calls/${demo}?quality=lossy`, 'tr[data-call]', 'console-phone-calls.png'],
      [`#/app/${demo}`, 'h1', 'console-phone-app.png'],
      [`#/users/${pagingApp}`, 'tr[data-user]', 'console-phone-users.png'],
      [`#/recordings/${demo}`, 'tr[data-recording]', 'console-phone-recordings.png'],
    ]) {
      await page.goto(`${BASE}/console/${route}`);
      await page.waitForSelector(ready, { timeout: TIMEOUT });
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      assert(wide <= PHONE.width + 1, `${route} is ${wide} px wide on a ${PHONE.width} px phone`);
      await shoot(page, name, { fullPage: true });
    }
    notes.push(`console screenshots: ${shots.join(' ')}`);
  };
}
