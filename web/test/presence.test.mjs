// Unit tests of the browser SDK's presence manager, in Node with a fake WebSocket that
// plays the server: pushes reach the delegate once per change, refused users are reported,
// and a new connection subscribes again and reports what changed meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuetClient } from '../sdk/duet.js';

/** A WebSocket that welcomes every hello and answers presence.subscribe from `online`. */
class FakeSocket {
  static all = [];
  static online = new Set();
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
    if (env.type === 'presence.subscribe') {
      const users = env.data.users || [];
      const presence = users.filter((u) => u !== 'hidden').map((u) => ({ username: u, online: FakeSocket.online.has(u) }));
      const refused = users.filter((u) => u === 'hidden').map((u) => ({ username: u, code: 914 }));
      queueMicrotask(() => this.receive({ type: 'reply', id: env.id, data: { presence, refused } }));
    }
  }
  receive(env) { this.onmessage({ data: JSON.stringify(env) }); }
  close() { if (!this.closed) { this.closed = true; this.onclose && this.onclose(); } }
}

const flush = () => new Promise((r) => setImmediate(r));

test('presence: subscribe, pushes once per change, refusals, and again after a reconnect', async () => {
  globalThis.WebSocket = FakeSocket;
  FakeSocket.all = [];
  FakeSocket.online = new Set(['bob']);
  const c = new DuetClient({ appKey: 'demo#duet', serverURL: 'http://127.0.0.1:1', logLevel: 'none' });
  await c.loginWithToken('alice', 'tok');
  const seen = [];
  c.presenceManager.addDelegate({ presenceDidChange: (u, on) => seen.push(`${u}:${on}`) });
  const res = await c.presenceManager.subscribe(['bob', 'carol', 'hidden']);
  assert.deepEqual(res.presence, [{ username: 'bob', online: true }, { username: 'carol', online: false }]);
  assert.deepEqual(res.refused, { hidden: 914 });
  assert.equal(c.presenceManager.isOnline('bob'), true);
  const ws = FakeSocket.all[0];
  ws.receive({ type: 'presence', data: { username: 'carol', online: true } });
  ws.receive({ type: 'presence', data: { username: 'carol', online: true } }); // no change: no callback
  ws.receive({ type: 'presence', data: { online: true } }); // malformed: ignored
  assert.deepEqual(seen, ['carol:true']);

  // The connection drops; meanwhile bob leaves. The new connection subscribes again (only
  // the users that were not refused) and reports bob's change.
  FakeSocket.online = new Set(['carol']);
  c._reconnectNow = null;
  ws.close();
  for (let i = 0; i < 50 && FakeSocket.all.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(FakeSocket.all.length, 2, 'no reconnect');
  for (let i = 0; i < 50 && !seen.includes('bob:false'); i++) await flush();
  const again = FakeSocket.all[1].sent.find((e) => e.type === 'presence.subscribe');
  assert.deepEqual(again.data.users, ['bob', 'carol']);
  assert.deepEqual(seen, ['carol:true', 'bob:false']);
  await c.logout().catch(() => {});
});
