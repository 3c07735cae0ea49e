// Unit test of the browser SDK's handling of a revoked token (kicked, reason 11), in Node
// (node --test) with a fake WebSocket: no browser, no server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuetClient } from '../sdk/duet.js';

class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    FakeSocket.all.push(this);
    queueMicrotask(() => this.onopen && this.onopen());
  }
  send(text) {
    const env = JSON.parse(text);
    if (env.type === 'hello') {
      queueMicrotask(() => this.receive({ type: 'reply', id: env.id, data: { username: 'alice', pingInterval: 30 } }));
    }
  }
  receive(env) { this.onmessage({ data: JSON.stringify(env) }); }
  close() { if (!this.closed) { this.closed = true; this.onclose && this.onclose(); } }
}

const flush = () => new Promise((r) => setImmediate(r));

for (const [reason, delegate, args] of [
  [11, 'tokenDidExpire', [104]], [9, 'userDidForbidByServer', []], [8, 'userAccountDidRemoveFromServer', []],
]) {
  test(`kicked with reason ${reason} reports ${delegate} and logs out`, async () => {
    globalThis.WebSocket = FakeSocket;
    FakeSocket.all = [];
    const c = new DuetClient({ appKey: 'demo#duet', serverURL: 'http://127.0.0.1:1', logLevel: 'none', autoReconnect: true });
    await c.loginWithToken('alice', 'tok');
    const calls = [];
    c.addDelegate({ [delegate]: (...a) => calls.push(a) });
    const ws = FakeSocket.all[0];
    ws.receive({ type: 'kicked', data: { reason } });
    ws.close();
    await flush();
    assert.deepEqual(calls, [args]);
    assert.equal(c.isLoggedIn, false);
    assert.equal(FakeSocket.all.length, 1, 'no reconnect after a kick');
  });
}
