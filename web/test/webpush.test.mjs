// Unit test of the browser SDK's Web Push binding, in Node (node --test) with a fake
// WebSocket and fetch: what bindWebPush sends for a PushSubscription, and the VAPID key read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuetClient, DuetError } from '../sdk/duet.js';

class FakeSocket {
  static sent = [];
  constructor() { queueMicrotask(() => this.onopen && this.onopen()); }
  send(text) {
    const env = JSON.parse(text);
    FakeSocket.sent.push(env);
    const data = env.type === 'hello' ? { username: 'alice', pingInterval: 30 } : undefined;
    queueMicrotask(() => this.onmessage({ data: JSON.stringify({ type: 'reply', id: env.id, data }) }));
  }
  close() { this.onclose && this.onclose(); }
}

test('bindWebPush binds the subscription JSON as a webpush token; webPushPublicKey reads the REST key', async () => {
  globalThis.WebSocket = FakeSocket;
  const requests = [];
  globalThis.fetch = async (url, init) => {
    requests.push({ url, init });
    return { ok: true, json: async () => ({ entities: [{ publicKey: 'BPUB' }] }) };
  };
  const c = new DuetClient({ appKey: 'demo#duet', serverURL: 'http://127.0.0.1:1', logLevel: 'none' });
  await c.loginWithToken('alice', 'tok');
  assert.equal(await c.webPushPublicKey(), 'BPUB');
  assert.equal(requests[0].url, 'http://127.0.0.1:1/demo/duet/push/webpush');
  assert.equal(requests[0].init.headers.Authorization, 'Bearer tok');

  const json = { endpoint: 'https://push.example/1', expirationTime: null, keys: { p256dh: 'P', auth: 'A' } };
  await c.bindWebPush({ toJSON: () => json });
  const bind = FakeSocket.sent.find((e) => e.type === 'push.bind');
  assert.deepEqual(bind.data, { provider: 'webpush', token: '{"endpoint":"https://push.example/1","keys":{"p256dh":"P","auth":"A"}}' });

  await assert.rejects(c.bindWebPush({ endpoint: 'https://push.example/2' }), DuetError);
  await c.unbindWebPush();
  assert.deepEqual(FakeSocket.sent.find((e) => e.type === 'push.unbind').data, { provider: 'webpush' });
  await c.logout().catch(() => {});
});
