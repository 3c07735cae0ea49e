// duet browser SDK: 1-on-1 audio/video calls against a duet server. ES modules, no build
// step. The API has the shape of the Go SDK (and of the seed, the Easemob 1v1 call SDK):
//
//   import { DuetClient, CallType } from '/sdk/duet.js';
//   const client = new DuetClient({ appKey: 'demo#duet' });
//   await client.login('alice', 'secret');
//   client.callManager.addDelegate({ callDidReceive: (s) => client.callManager.answerIncomingCall(s.callId) });
//   const s = await client.callManager.startCall(CallType.Video, 'bob');
//
// The wire protocol is docs/PROTOCOL.md; REST is docs/REST.md.
import { ConnectionState, DuetError, ErrorCode } from './enums.js';
import { DeviceConnection } from './connection.js';
import { CallManager } from './call_manager.js';
import { ChatManager } from './chat_manager.js';
import { PresenceManager } from './presence_manager.js';
import { ContactManager } from './contact_manager.js';

export * from './enums.js';
export { CallManager } from './call_manager.js';
export { CallSession } from './call_session.js';
export { ChatManager, MAX_TEXT_BYTES, MAX_EXT_BYTES } from './chat_manager.js';
export { PresenceManager } from './presence_manager.js';
export { ContactManager } from './contact_manager.js';
export { defaultCallOptions, validateCallOptions } from './call_options.js';
export { WatermarkPoint } from './watermark.js';
export {
  STATS_INTERVAL_MS, UNSTABLE_LOSS_PERCENT, UNSTABLE_RTT_MS, UNSTABLE_JITTER_MS, NODATA_INTERVALS,
} from './stats.js';

/**
 * @typedef {Object} ClientOptions
 * @property {string} appKey "org#app" as issued by the server (required)
 * @property {string|string[]} [serverURL] base URL of the duet server; default the page's origin.
 *   A cluster is a list of its nodes' URLs (an array or a comma-separated string): the client
 *   starts at a random node and moves to the next when its node goes away.
 * @property {string|string[]} [webSocketURL] device endpoint; default serverURL with ws(s) and /ws
 *   (with several nodes: a list as long as serverURL's)
 * @property {string} [deviceId] this device among the user's devices; default a random id per
 *   client (a second login with the same id replaces the first)
 * @property {number} [pingInterval] heartbeat in seconds, 10–3600; default 30
 * @property {boolean} [autoReconnect] reconnect after a lost connection; default true
 * @property {boolean} [video] announce that this device takes video calls; default true
 * @property {RTCIceTransportPolicy} [iceTransportPolicy] "relay" forces media through TURN
 * @property {'debug'|'info'|'warn'|'error'|'none'} [logLevel] console logging; default "warn"
 */

/**
 * @typedef {Object} ConnectionDelegate every method is optional
 * @property {(state: number) => void} [connectionStateDidChange] the device connection went up or down ({@link ConnectionState})
 * @property {() => void} [userAccountDidLoginFromOtherDevice] another login with this device id replaced this one (7)
 * @property {() => void} [userAccountDidRemoveFromServer] the user was deleted (8)
 * @property {() => void} [userDidForbidByServer] an operator kicked the user (9)
 * @property {(code: number) => void} [tokenDidExpire] the server refused the token on reconnect, or
 *   revoked it (kicked, reason 11: a logout or password change elsewhere); log in again
 * @property {() => void} [upgradeRequired] the server no longer speaks this SDK's protocol (911); the app must be upgraded
 */

/** Error codes that mean the node could not be reached or is going away: try another. */
const NODE_GONE = new Set([ErrorCode.ServerNotReachable, ErrorCode.ServerBusy, ErrorCode.ServerShutdown, ErrorCode.NetworkUnavailable]);

/**
 * Reads serverURL (and webSocketURL): one URL, or the nodes of a cluster as an array or a
 * comma-separated string.
 * @param {string|string[]} serverURL
 * @param {string|string[]} [webSocketURL]
 * @returns {{rest: string, ws: string}[]}
 */
export function parseNodes(serverURL, webSocketURL) {
  const list = (v) => (Array.isArray(v) ? v : String(v).split(',')).map((s) => String(s).trim()).filter((s) => s);
  const rests = list(serverURL);
  const wss = webSocketURL ? list(webSocketURL) : [];
  if (rests.length === 0) throw new DuetError(ErrorCode.General, 'no server URL');
  if (wss.length && wss.length !== rests.length) throw new DuetError(ErrorCode.General, `${wss.length} WebSocket URLs for ${rests.length} server URLs`);
  return rests.map((s, i) => {
    let u;
    try { u = new URL(s); } catch { u = null; }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) throw new DuetError(ErrorCode.General, `server URL "${s}" must be http(s)://host[:port]`);
    const rest = s.replace(/\/+$/, '');
    const ws = wss[i] || `${u.protocol === 'https:' ? 'wss:' : 'ws:'}//${u.host}${u.pathname.replace(/\/+$/, '')}/ws`;
    return { rest, ws };
  });
}

/** The protocol versions this SDK speaks, oldest first (docs/PROTOCOL.md, "Compatibility"). */
const PROTOCOL_VERSIONS = [1];

const LEVELS = { debug: 0, info: 1, warn: 2, error: 3, none: 9 };

/** The largest random delay added to a server's retryAfter. */
const MAX_SPREAD_MS = 1000;

/**
 * ms plus a random delay of up to half of it (at most MAX_SPREAD_MS), so that the devices a
 * draining server lets go do not all come back in the same millisecond.
 * @param {number} ms
 * @returns {number}
 */
export function withSpread(ms) {
  return ms + Math.random() * Math.min(ms / 2, MAX_SPREAD_MS);
}

function randomId() {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return 'web-' + [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * One device of one user (EMClient). Create it, then login.
 */
export class DuetClient {
  /** @param {ClientOptions} opts */
  constructor(opts) {
    const o = { serverURL: globalThis.location ? location.origin : '', pingInterval: 30, autoReconnect: true, video: true, logLevel: 'warn', ...opts };
    if (typeof o.appKey !== 'string' || !/^[^#]+#[^#]+$/.test(o.appKey)) throw new DuetError(ErrorCode.InvalidAppKey, `appkey "${o.appKey}" is not org#app`);
    const nodes = parseNodes(o.serverURL, o.webSocketURL);
    if (!Number.isInteger(o.pingInterval) || o.pingInterval < 10 || o.pingInterval > 3600) throw new DuetError(ErrorCode.General, `pingInterval ${o.pingInterval} must be 10-3600 seconds`);
    /** @type {string} */
    this.appKey = o.appKey;
    /** @type {{rest: string, ws: string}[]} the nodes of the deployment */
    this._nodes = nodes;
    /** @type {number} the index of the node this client talks to */
    this._node = Math.floor(Math.random() * nodes.length);
    /** @type {string} */
    this.deviceId = o.deviceId || randomId();
    /** @type {number} heartbeat in seconds */
    this.pingInterval = o.pingInterval;
    this._opts = o;
    this._iceTransportPolicy = o.iceTransportPolicy;
    this._level = LEVELS[o.logLevel] ?? LEVELS.warn;
    this._delegates = [];
    this._username = '';
    this._token = '';
    this._conn = null;
    this._state = ConnectionState.Disconnected;
    this._loggedIn = false;
    this._backoffMs = 250;
    this._retryTimer = 0;
    this._pingTimer = 0;
    this._reconnectNow = null;
    this._calls = new CallManager(this);
    this._chat = new ChatManager(this);
    this._presence = new PresenceManager(this);
    this._contacts = new ContactManager(this);
    // Back online: retry at once instead of waiting out the backoff. Added while logged in.
    this._onOnline = () => { if (this._reconnectNow) this._reconnectNow(); };
  }

  /** @type {CallManager} the client's call manager */
  get callManager() { return this._calls; }

  /** @type {ChatManager} the client's text messages */
  get chatManager() { return this._chat; }

  /** @type {PresenceManager} who is online, pushed by the server */
  get presenceManager() { return this._presence; }

  /** @type {ContactManager} the user's contact list on the server */
  get contactManager() { return this._contacts; }

  /** @type {string} the logged-in user, or "" */
  get currentUsername() { return this._username; }

  /** @type {boolean} whether the device connection is up */
  get isConnected() { return this._conn !== null && !this._conn.closed; }

  /** @type {boolean} whether a user is logged in (the connection may be reconnecting) */
  get isLoggedIn() { return this._loggedIn; }

  /** @type {number} the {@link ConnectionState} */
  get connectionState() { return this._state; }

  /** @type {string} the user token of the login ("" when logged out), for the app's REST calls */
  get accessToken() { return this._token; }

  /** Registers a connection delegate. @param {ConnectionDelegate} d */
  addDelegate(d) { if (!this._delegates.includes(d)) this._delegates.push(d); }

  /** Unregisters a connection delegate. @param {ConnectionDelegate} d */
  removeDelegate(d) { this._delegates = this._delegates.filter((x) => x !== d); }

  /**
   * Creates a user in the app (open registration), like registerWithUsername:password:.
   * @param {string} username
   * @param {string} password
   * @returns {Promise<void>}
   * @throws {DuetError} UserAlreadyExist, InvalidUsername, RegistrationClosed, ...
   */
  async register(username, password) {
    await this._rest('POST', '/users', '', { username, password });
  }

  /**
   * Logs in with a password and connects the device; resolves once the connection is up.
   * @param {string} username
   * @param {string} password
   * @returns {Promise<void>}
   * @throws {DuetError} UserAuthFailed, ServerNotReachable, ...
   */
  async login(username, password) {
    if (this._loggedIn) throw new DuetError(ErrorCode.General, `already logged in as ${this._username}`);
    await this._onSomeNode(async () => {
      const reply = await this._rest('POST', '/token', '', { grant_type: 'password', username, password });
      await this._connect(username, reply.access_token);
    });
  }

  /**
   * Connects the device with a token the server issued (POST /{org}/{app}/token).
   * @param {string} username
   * @param {string} token
   * @returns {Promise<void>}
   */
  async loginWithToken(username, token) {
    if (this._loggedIn) throw new DuetError(ErrorCode.General, `already logged in as ${this._username}`);
    await this._onSomeNode(() => this._connect(username, token));
  }

  /**
   * Connects the device on the current node.
   * @param {string} username
   * @param {string} token
   */
  async _connect(username, token) {
    this._token = token;
    const conn = await this._dial([]);
    this._username = conn.welcome.username || username.toLowerCase();
    this._loggedIn = true;
    this._backoffMs = 250;
    if (globalThis.addEventListener) globalThis.addEventListener('online', this._onOnline);
    this._setConn(conn);
    this._calls._connected(conn.welcome.boot || '');
    this._log('info', 'logged in', this._username, conn.welcome.appKey);
  }

  /**
   * Ends the user's calls, revokes the token and disconnects.
   * @returns {Promise<void>}
   */
  async logout() {
    if (!this._loggedIn) return;
    await this._calls._endAll(0);
    const token = this._token;
    this._endLogin();
    this._calls._endAllLocally(0);
    try { await this._rest('DELETE', '/token', token); } catch (err) { this._log('warn', 'token revoke failed', err.message); }
  }

  /**
   * This user's call records, newest first (GET /{org}/{app}/calls with the user token).
   * @param {{limit?: number, cursor?: string}} [q]
   * @returns {Promise<{entities: Array<Object>, cursor?: string}>}
   */
  async fetchCallRecords(q = {}) {
    this._requireLogin();
    const p = new URLSearchParams();
    if (q.limit) p.set('limit', String(q.limit));
    if (q.cursor) p.set('cursor', q.cursor);
    const qs = p.toString();
    return this._rest('GET', '/calls' + (qs ? '?' + qs : ''), this._token);
  }

  /**
   * The app's VAPID public key (base64url), for
   * `registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey})`
   * (GET /{org}/{app}/push/webpush; the server makes the key pair on first use).
   * @returns {Promise<string>}
   */
  async webPushPublicKey() {
    this._requireLogin();
    const r = await this._rest('GET', '/push/webpush', this._token);
    const key = r.entities && r.entities[0] && r.entities[0].publicKey;
    if (!key) throw new DuetError(ErrorCode.ServerUnknown, 'no VAPID public key in the reply');
    return key;
  }

  /**
   * Binds a Push API subscription as this device's push token (provider "webpush"): while
   * no device of the user is online, the server sends incoming calls (`call.incoming`),
   * their cancels (`call.cancel`) and message alerts to it by Web Push, which the page's
   * service worker receives even when every tab is closed.
   * @param {PushSubscription|{endpoint: string, keys: {p256dh: string, auth: string}}} subscription
   * @returns {Promise<void>}
   */
  async bindWebPush(subscription) {
    await this._request('push.bind', { provider: 'webpush', token: webPushToken(subscription) });
  }

  /**
   * Unbinds this device's web push subscription (all of them when none is given).
   * @param {PushSubscription|Object} [subscription]
   * @returns {Promise<void>}
   */
  async unbindWebPush(subscription) {
    const body = { provider: 'webpush' };
    if (subscription) body.token = webPushToken(subscription);
    await this._request('push.unbind', body);
  }

  // ---- internals ----

  _log(level, ...args) {
    if (LEVELS[level] >= this._level) (console[level] || console.log)('duet:', ...args);
  }

  _requireLogin() {
    if (!this._loggedIn) throw new DuetError(ErrorCode.UserNotLogin, 'not logged in');
  }

  _notify(name, ...args) {
    for (const d of [...this._delegates]) {
      if (typeof d[name] !== 'function') continue;
      queueMicrotask(() => {
        try { d[name](...args); } catch (err) { console.error(`duet: delegate ${name} threw`, err); }
      });
    }
  }

  async _rest(method, path, token, body) {
    const [org, app] = this.appKey.split('#');
    const headers = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    let resp;
    try {
      resp = await fetch(`${this.serverURL}/${encodeURIComponent(org)}/${encodeURIComponent(app)}${path}`, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new DuetError(ErrorCode.ServerNotReachable, String(err.message || err));
    }
    let data = null;
    try { data = await resp.json(); } catch { /* not JSON */ }
    if (!resp.ok) {
      if (data && data.code) throw new DuetError(data.code, data.error_description || data.error || `HTTP ${resp.status}`);
      throw new DuetError(ErrorCode.ServerUnknown, `HTTP ${resp.status}`);
    }
    return data || {};
  }

  /** @type {string} the REST base URL of the node this client talks to */
  get serverURL() { return this._nodes[this._node].rest; }

  /** @type {string} the device endpoint of the node this client talks to */
  get webSocketURL() { return this._nodes[this._node].ws; }

  /** Moves to the next node of the list after the current one went away. */
  _nextNode() {
    if (this._nodes.length < 2) return;
    this._node = (this._node + 1) % this._nodes.length;
    this._log('info', 'moving to server node', this.serverURL);
  }

  /**
   * Runs f on the current node and, while it fails because the node cannot be reached or
   * is going away, on each other node once.
   * @template T
   * @param {() => Promise<T>} f
   * @returns {Promise<T>}
   */
  async _onSomeNode(f) {
    for (let i = 0; ; i++) {
      try {
        return await f();
      } catch (err) {
        if (i >= this._nodes.length - 1 || !NODE_GONE.has(err.code)) throw err;
        this._nextNode();
      }
    }
  }

  _dial(calls) {
    const hello = {
      version: PROTOCOL_VERSIONS[PROTOCOL_VERSIONS.length - 1], versions: PROTOCOL_VERSIONS, token: this._token, deviceId: this.deviceId, pingInterval: this.pingInterval,
      capabilities: { audio: true, video: this._opts.video !== false },
    };
    if (calls.length) hello.calls = calls;
    return DeviceConnection.open(this.webSocketURL, hello, (env) => this._onMessage(env), (conn) => this._onClose(conn));
  }

  _onMessage(env) {
    if (env.type === 'kicked' || env.type === 'goodbye') {
      this._log('info', 'server says', env.type, env.data);
      return; // the server closes next; _onClose decides
    }
    if (env.type === 'error') { this._log('warn', 'server error', env.error); return; }
    if (env.type.startsWith('chat.')) { this._chat._handleMessage(env); return; }
    if (env.type === 'presence') { this._presence._handleMessage(env); return; }
    this._calls._handleMessage(env);
  }

  _setConn(conn) {
    this._conn = conn;
    const state = conn ? ConnectionState.Connected : ConnectionState.Disconnected;
    clearInterval(this._pingTimer);
    if (conn) this._startPinger(conn);
    if (state !== this._state) {
      this._state = state;
      this._notify('connectionStateDidChange', state);
    }
  }

  /** Pings every pingInterval; a ping without a reply drops the connection (and reconnects). */
  _startPinger(conn) {
    const interval = (conn.welcome.pingInterval || this.pingInterval) * 1000;
    this._pingTimer = setInterval(() => {
      conn.request('ping').catch(() => {
        if (this._conn === conn && !conn.closed) {
          this._log('warn', 'heartbeat failed; dropping the connection');
          conn.close();
        }
      });
    }, interval);
  }

  _onClose(conn) {
    if (this._conn !== conn) return; // an old connection
    this._setConn(null);
    if (!this._loggedIn) return;
    if (conn.kickReason >= 0) { this._kicked(conn.kickReason); return; }
    if (!this._opts.autoReconnect) { this._endLogin(); return; }
    if (conn.retryAfterMs > 0) {
      // The server drains for a restart: not a failure. The calls stay as they are and the
      // reconnect's hello resumes them; come back when it said, spread out.
      this._log('info', 'server restarting; reconnecting after', conn.retryAfterMs, 'ms');
      this._nextNode();
      this._backoffMs = 250;
      this._scheduleReconnect(withSpread(conn.retryAfterMs));
      return;
    }
    this._log('warn', 'connection lost; reconnecting');
    this._nextNode();
    this._scheduleReconnect();
  }

  /**
   * Schedules a reconnect after delay ms; by default the next jittered exponential backoff:
   * 250 ms doubling to 10 s, ±50 %. A browser cannot see why an upgrade failed, so a 503 from
   * a draining server also waits the backoff (which a goodbye reset).
   * @param {number} [delay]
   */
  _scheduleReconnect(delay = this._nextBackoff()) {
    const attempt = async () => {
      this._reconnectNow = null;
      clearTimeout(this._retryTimer);
      if (!this._loggedIn || this._conn) return;
      try {
        const conn = await this._dial(this._calls._liveCallIds());
        if (!this._loggedIn) { conn.close(); return; }
        this._backoffMs = 250;
        this._setConn(conn);
        this._log('info', 'reconnected');
        this._calls._connected(conn.welcome.boot || '');
        this._presence._connected();
      } catch (err) {
        if (err.code === ErrorCode.InvalidToken || err.code === ErrorCode.UserAuthFailed || err.code === ErrorCode.UserRemoved) {
          this._log('warn', 'token refused on reconnect', err.message);
          this._calls._endAllLocally(4);
          this._endLogin();
          this._notify('tokenDidExpire', err.code);
          return;
        }
        if (err.code === ErrorCode.UpgradeRequired) {
          this._log('error', 'the server no longer speaks this SDK\'s protocol; upgrade the app', err.message);
          this._calls._endAllLocally(4);
          this._endLogin();
          this._notify('upgradeRequired');
          return;
        }
        this._nextNode();
        this._scheduleReconnect();
      }
    };
    this._retryTimer = setTimeout(attempt, delay);
    this._reconnectNow = attempt;
  }

  /** The next backoff wait (ms), doubling the interval. */
  _nextBackoff() {
    const delay = this._backoffMs / 2 + Math.random() * this._backoffMs;
    this._backoffMs = Math.min(this._backoffMs * 2, 10000);
    return delay;
  }

  _kicked(reason) {
    this._log('warn', 'kicked by the server, reason', reason);
    this._calls._endAllLocally(reason);
    this._endLogin();
    if (reason === 7) this._notify('userAccountDidLoginFromOtherDevice');
    else if (reason === 8) this._notify('userAccountDidRemoveFromServer');
    else if (reason === 11) this._notify('tokenDidExpire', 104); // token revoked: log in again
    else this._notify('userDidForbidByServer');
  }

  _endLogin() {
    this._loggedIn = false;
    this._chat._reset();
    if (globalThis.removeEventListener) globalThis.removeEventListener('online', this._onOnline);
    clearTimeout(this._retryTimer);
    this._reconnectNow = null;
    const conn = this._conn;
    this._setConn(null);
    if (conn) conn.close();
    this._username = '';
    this._token = '';
  }

  _request(type, data) {
    this._requireLogin();
    if (!this.isConnected) return Promise.reject(new DuetError(ErrorCode.NetworkUnavailable, 'not connected to the server (reconnecting)'));
    return this._conn.request(type, data);
  }

  _send(type, data) {
    if (!this.isConnected) return false;
    return this._conn.send(type, data);
  }
}

/** The webpush token of a subscription: its endpoint and keys as JSON. */
function webPushToken(subscription) {
  const j = typeof subscription.toJSON === 'function' ? subscription.toJSON() : subscription;
  if (!j || typeof j.endpoint !== 'string' || !j.keys || !j.keys.p256dh || !j.keys.auth) {
    throw new DuetError(ErrorCode.UserIllegalArgument, 'not a PushSubscription (endpoint, keys.p256dh, keys.auth)');
  }
  return JSON.stringify({ endpoint: j.endpoint, keys: { p256dh: j.keys.p256dh, auth: j.keys.auth } });
}
