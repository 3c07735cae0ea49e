// Unit tests of the browser SDK's reconnect after a server's goodbye, in Node (node --test)
// with a fake WebSocket and a fake setTimeout: no browser, no server, no waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuetClient, withSpread } from '../sdk/duet.js';
import { goodbyeRetryAfter } from '../sdk/connection.js';

/** A WebSocket that welcomes every hello and lets the test play the server. */
class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.sent = [];
    FakeSocket.all.push(this);
    queueMicrotask(() => this.onopen && this.onopen());
  }
  send(text) {
    const env = JSON.parse(text);
    this.sent.push(env);
    if (env.type === 'hello') {
      queueMicrotask(() => this.receive({ type: 'reply', id: env.id, data: { username: 'alice', pingInterval: 30 } }));
    }
  }
  receive(env) { this.onmessage({ data: JSON.stringify(env) }); }
  close() { if (!this.closed) { this.closed = true; this.onclose && this.onclose(); } }
}

/**
 * Replaces setTimeout so that the test sees each delay and fires timers by hand, and
 * setInterval (the heartbeat) so that it never runs.
 */
function fakeTimers() {
  const timers = [];
  const saved = {
    setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout,
    setInterval: globalThis.setInterval, clearInterval: globalThis.clearInterval,
  };
  globalThis.setTimeout = (fn, ms) => { timers.push({ fn, ms, live: true }); return timers.length; };
  globalThis.clearTimeout = (id) => { if (timers[id - 1]) timers[id - 1].live = false; };
  globalThis.setInterval = () => 0;
  globalThis.clearInterval = () => {};
  return { timers, restore: () => Object.assign(globalThis, saved) };
}

/** Lets pending promise callbacks run (setImmediate is not faked). */
const flush = () => new Promise((r) => setImmediate(r));

async function loggedIn() {
  globalThis.WebSocket = FakeSocket;
  FakeSocket.all = [];
  const c = new DuetClient({ appKey: 'demo#duet', serverURL: 'http://127.0.0.1:1', logLevel: 'none' });
  await c.loginWithToken('alice', 'tok');
  return c;
}

/** The reconnect timer: the last live timer that is not a request timeout (10 s). */
function reconnectTimer(timers) {
  const live = timers.filter((t) => t.live && t.ms !== 10000);
  assert.equal(live.length, 1, `one reconnect timer, got ${JSON.stringify(live.map((t) => t.ms))}`);
  return live[0];
}

test('goodbye with retryAfter reconnects after it plus a spread, resuming the calls', async () => {
  const clock = fakeTimers();
  try {
    const c = await loggedIn();
    c._calls._liveCallIds = () => ['c1'];
    c._backoffMs = 4000; // as after earlier failures: the goodbye resets it
    const ws = FakeSocket.all[0];
    ws.receive({ type: 'goodbye', data: { reason: 'server restart', retryAfter: 1000 } });
    ws.close();
    const t = reconnectTimer(clock.timers);
    assert.ok(t.ms >= 1000 && t.ms < 1500, `delay ${t.ms}`);
    assert.equal(c._backoffMs, 250);
    assert.equal(c.isLoggedIn, true);
    t.live = false;
    await t.fn();
    await flush();
    assert.equal(FakeSocket.all.length, 2);
    const hello = FakeSocket.all[1].sent[0];
    assert.deepEqual(hello.data.calls, ['c1']);
    assert.equal(c.isConnected, true);
  } finally {
    clock.restore();
  }
});

test('goodbye without retryAfter (an older server) reconnects with the backoff', async () => {
  const clock = fakeTimers();
  try {
    await loggedIn();
    const ws = FakeSocket.all[0];
    ws.receive({ type: 'goodbye', data: { reason: 'server shutdown' } });
    ws.close();
    const t = reconnectTimer(clock.timers);
    assert.ok(t.ms >= 125 && t.ms < 375, `delay ${t.ms}`);
  } finally {
    clock.restore();
  }
});

test('goodbyeRetryAfter keeps only values in 1..60000', () => {
  assert.equal(goodbyeRetryAfter({ retryAfter: 1500 }), 1500);
  assert.equal(goodbyeRetryAfter({ retryAfter: 60000 }), 60000);
  for (const bad of [undefined, null, {}, { retryAfter: 0 }, { retryAfter: -1 }, { retryAfter: 60001 }, { retryAfter: 1.5 }, { retryAfter: '1000' }]) {
    assert.equal(goodbyeRetryAfter(bad), -1, JSON.stringify(bad));
  }
});

test('withSpread adds under half, at most a second', () => {
  for (const ms of [1, 1000, 10000]) {
    for (let i = 0; i < 200; i++) {
      const d = withSpread(ms);
      assert.ok(d >= ms && d - ms <= Math.min(ms / 2, 1000), `${ms} -> ${d}`);
    }
  }
});
