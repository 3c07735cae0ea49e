// DeviceConnection: one WebSocket to the server's /ws, speaking the envelope protocol of
// docs/PROTOCOL.md: hello first, requests matched to replies by id, everything else handed
// to the owner. It never reconnects by itself; DuetClient supervises it.
import { DuetError, ErrorCode } from './enums.js';

/** How long a request waits for its reply. */
const REQUEST_TIMEOUT_MS = 10000;

/** The longest retryAfter a goodbye may carry (PROTOCOL.md, "Restarts and drains"). */
export const MAX_RETRY_AFTER_MS = 60000;

/**
 * The retryAfter of a goodbye body, or -1 when it has none or one out of range (the device
 * then reconnects with its backoff, as with a server that predates the field).
 * @param {Object} [data] the goodbye body: {reason, retryAfter?}
 * @returns {number} milliseconds, or -1
 */
export function goodbyeRetryAfter(data) {
  const ms = data ? data.retryAfter : undefined;
  return Number.isInteger(ms) && ms > 0 && ms <= MAX_RETRY_AFTER_MS ? ms : -1;
}

/**
 * One device connection. Create it with {@link DeviceConnection.open}.
 */
export class DeviceConnection {
  /**
   * @param {WebSocket} ws an open socket
   * @param {(env: Object) => void} onMessage called with each server message that is not a reply
   * @param {(conn: DeviceConnection) => void} onClose called once when the socket closes
   */
  constructor(ws, onMessage, onClose) {
    /** @type {WebSocket} */
    this.ws = ws;
    /** @type {Object|null} the hello reply: {version, appKey, username, deviceId, pingInterval, serverTime} */
    this.welcome = null;
    /** @type {number} the server's kick reason, or -1 if the server did not kick this device */
    this.kickReason = -1;
    /**
     * @type {number} the retryAfter (ms) of the server's goodbye: it drains for a restart and
     * asks the device to come back after that long. -1 without one.
     */
    this.retryAfterMs = -1;
    /** @type {boolean} */
    this.closed = false;
    this._onMessage = onMessage;
    this._onClose = onClose;
    this._pending = new Map();
    this._nextId = 1;
    ws.onmessage = (ev) => this._receive(ev.data);
    ws.onclose = () => this._closedNow();
    ws.onerror = () => {}; // onclose follows and says the rest
  }

  /**
   * Dials url, sends hello and resolves with the connection once the server welcomed it.
   * Messages that follow the welcome (call.incoming for a ringing call...) go to onMessage.
   * @param {string} url ws(s)://host/ws
   * @param {Object} hello the hello body: {version, token, deviceId, pingInterval, capabilities, calls?}
   * @param {(env: Object) => void} onMessage
   * @param {(conn: DeviceConnection) => void} onClose
   * @returns {Promise<DeviceConnection>}
   */
  static open(url, hello, onMessage, onClose) {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(url);
      } catch (err) {
        reject(new DuetError(ErrorCode.ServerNotReachable, String(err)));
        return;
      }
      let settled = false;
      const fail = (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        try { ws.close(); } catch { /* already closed */ }
        reject(err);
      };
      const timer = setTimeout(() => fail(new DuetError(ErrorCode.ServerTimeout, 'no welcome within 10 s')), REQUEST_TIMEOUT_MS);
      ws.onerror = () => fail(new DuetError(ErrorCode.ServerNotReachable, `cannot connect to ${url}`));
      ws.onclose = () => fail(new DuetError(ErrorCode.ServerNotReachable, 'connection closed before welcome'));
      ws.onopen = () => {
        const conn = new DeviceConnection(ws, onMessage, (c) => {
          if (!settled) fail(new DuetError(ErrorCode.ServerNotReachable, 'connection closed before welcome'));
          else onClose(c);
        });
        conn.request('hello', hello).then((welcome) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          conn.welcome = welcome;
          resolve(conn);
        }, fail);
      };
    });
  }

  /**
   * Sends a request and resolves with the reply's data, or rejects with a DuetError.
   * @param {string} type message type, e.g. "call.invite"
   * @param {Object} [data] body
   * @returns {Promise<Object>}
   */
  request(type, data) {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new DuetError(ErrorCode.NetworkUnavailable, 'not connected to the server'));
        return;
      }
      const id = type === 'hello' ? 'h' : String(this._nextId++);
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new DuetError(ErrorCode.ServerTimeout, `no reply to ${type} within 10 s`));
      }, REQUEST_TIMEOUT_MS);
      this._pending.set(id, { resolve, reject, timer });
      this._write({ type, id, data });
    });
  }

  /**
   * Sends a one-way message (no reply unless it fails).
   * @param {string} type
   * @param {Object} data
   * @returns {boolean} whether it was handed to the socket
   */
  send(type, data) {
    if (this.closed) return false;
    return this._write({ type, data });
  }

  /** Closes the socket; pending requests fail. */
  close() {
    try { this.ws.close(1000); } catch { /* ignore */ }
    this._closedNow();
  }

  _write(env) {
    try {
      if (env.data === undefined) delete env.data;
      this.ws.send(JSON.stringify(env));
      return true;
    } catch {
      return false;
    }
  }

  _receive(text) {
    let env;
    try {
      env = JSON.parse(text);
    } catch {
      return; // the server only sends JSON; ignore anything else
    }
    if (env.type === 'reply') {
      const p = this._pending.get(env.id);
      if (!p) return;
      this._pending.delete(env.id);
      clearTimeout(p.timer);
      if (env.error) p.reject(new DuetError(env.error.code || ErrorCode.General, env.error.message || 'request failed'));
      else p.resolve(env.data || {});
      return;
    }
    if (env.type === 'kicked') this.kickReason = env.data ? env.data.reason : 9;
    if (env.type === 'goodbye') this.retryAfterMs = goodbyeRetryAfter(env.data);
    this._onMessage(env);
  }

  _closedNow() {
    if (this.closed) return;
    this.closed = true;
    for (const p of this._pending.values()) {
      clearTimeout(p.timer);
      p.reject(new DuetError(ErrorCode.NetworkUnavailable, 'connection closed'));
    }
    this._pending.clear();
    this._onClose(this);
  }
}
