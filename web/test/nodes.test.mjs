// Unit tests of the browser SDK given several server nodes, in Node (node --test) with a
// fake WebSocket: it connects to one and moves to the next when that one goes away.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuetClient, parseNodes } from '../sdk/duet.js';

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
      queueMicrotask(() => this.onmessage({ data: JSON.stringify({ type: 'reply', id: env.id, data: { username: 'alice', pingInterval: 30 } }) }));
    }
  }
  close() { if (!this.closed) { this.closed = true; this.onclose && this.onclose(); } }
}

test('parseNodes takes a string, a comma-separated list or an array', () => {
  assert.deepEqual(parseNodes('http://a:1/'), [{ rest: 'http://a:1', ws: 'ws://a:1/ws' }]);
  assert.deepEqual(parseNodes('http://a:1, https://b:2').map((n) => n.ws), ['ws://a:1/ws', 'wss://b:2/ws']);
  assert.deepEqual(parseNodes(['http://a:1', 'http://b:2'], 'ws://x/ws,ws://y/ws').map((n) => n.ws), ['ws://x/ws', 'ws://y/ws']);
  assert.throws(() => parseNodes('http://a:1,ftp://b'));
  assert.throws(() => parseNodes('http://a:1,http://b:2', 'ws://x/ws'));
});

test('a lost node sends the client to the next one', async () => {
  const saved = { setTimeout: globalThis.setTimeout, setInterval: globalThis.setInterval, clearInterval: globalThis.clearInterval };
  const timers = [];
  globalThis.setTimeout = (fn) => { timers.push(fn); return timers.length; };
  globalThis.setInterval = () => 0;
  globalThis.clearInterval = () => {};
  try {
    globalThis.WebSocket = FakeSocket;
    FakeSocket.all = [];
    const c = new DuetClient({ appKey: 'demo#duet', serverURL: ['http://a:1', 'http://b:2'], logLevel: 'none' });
    await c.loginWithToken('alice', 'tok');
    const first = FakeSocket.all[0].url;
    FakeSocket.all[0].close();
    await timers.at(-1)();
    const second = FakeSocket.all[1].url;
    assert.notEqual(second, first);
    assert.ok(['ws://a:1/ws', 'ws://b:2/ws'].includes(second), second);
    assert.equal(c.isConnected, true);
  } finally {
    Object.assign(globalThis, saved);
  }
});
