// PresenceManager: the online state of users, pushed by the server over the device
// connection (docs/PROTOCOL.md "Presence"), the browser twin of the Go SDK's
// PresenceManager. A subscription lasts while the client is logged in: after a reconnect
// this side subscribes again and reports what changed meanwhile.
import { DuetError, ErrorCode } from './enums.js';

/** Usernames per presence.subscribe (the server's bound). */
export const MAX_PRESENCE_USERS_PER_REQUEST = 200;

/**
 * @typedef {Object} Presence
 * @property {string} username
 * @property {boolean} online
 */

/**
 * @typedef {Object} PresenceResult
 * @property {Presence[]} presence the present state of the users the subscription covers
 * @property {Object<string, number>} refused users the app's policy hides, by name: code 914
 * @property {boolean} truncated subscribeApp listed the first 1,000 online users only
 */

/**
 * @typedef {Object} PresenceDelegate
 * @property {(username: string, online: boolean) => void} [presenceDidChange]
 */

/** Subscribes to users' presence (EMPresenceManager, online and offline only). */
export class PresenceManager {
  /** @param {import('./duet.js').DuetClient} client */
  constructor(client) {
    this._client = client;
    this._delegates = [];
    this._users = new Set();
    this._contacts = false;
    this._app = false;
    /** @type {Map<string, boolean>} the last state reported */
    this._known = new Map();
  }

  /** @param {PresenceDelegate} d */
  addDelegate(d) { if (!this._delegates.includes(d)) this._delegates.push(d); }

  /** @param {PresenceDelegate} d */
  removeDelegate(d) { this._delegates = this._delegates.filter((x) => x !== d); }

  /**
   * The last known state of a user subscribed to, or undefined.
   * @param {string} username
   * @returns {boolean|undefined}
   */
  isOnline(username) { return this._known.get(String(username).toLowerCase()); }

  /**
   * Watches users by name (at most 200 a call, 1,000 in all).
   * @param {string[]} users
   * @returns {Promise<PresenceResult>}
   */
  subscribe(users) {
    if (!Array.isArray(users) || users.length > MAX_PRESENCE_USERS_PER_REQUEST) {
      return Promise.reject(new DuetError(ErrorCode.UserIllegalArgument, `subscribe takes at most ${MAX_PRESENCE_USERS_PER_REQUEST} usernames`));
    }
    return this._subscribe({ users });
  }

  /** Watches everyone in the user's contact list. @returns {Promise<PresenceResult>} */
  subscribeContacts() { return this._subscribe({ contacts: true }); }

  /** Watches every user of the app the policy shows. @returns {Promise<PresenceResult>} */
  subscribeApp() { return this._subscribe({ app: true }); }

  /** Stops watching users by name. @param {string[]} users */
  async unsubscribe(users) {
    for (const u of users) { this._users.delete(String(u).toLowerCase()); this._known.delete(String(u).toLowerCase()); }
    await this._client._request('presence.unsubscribe', { users });
  }

  /** Stops every subscription. */
  async unsubscribeAll() {
    this._users.clear();
    this._contacts = this._app = false;
    this._known.clear();
    await this._client._request('presence.unsubscribe', { all: true });
  }

  async _subscribe(req) {
    const out = await this._client._request('presence.subscribe', req);
    for (const u of req.users || []) this._users.add(String(u).toLowerCase());
    const refused = {};
    for (const r of out.refused || []) { this._users.delete(r.username); refused[r.username] = r.code; }
    this._contacts ||= !!req.contacts;
    this._app ||= !!req.app;
    const presence = (out.presence || []).map((p) => ({ username: p.username, online: !!p.online }));
    for (const p of presence) this._known.set(p.username, p.online);
    return { presence, refused, truncated: !!out.truncated };
  }

  /** A presence push from the server. */
  _handleMessage(env) {
    const p = env.data || {};
    if (typeof p.username !== 'string' || !p.username) return;
    this._report([{ username: p.username, online: !!p.online }]);
  }

  _report(list) {
    for (const p of list) {
      if (this._known.get(p.username) === p.online) continue;
      this._known.set(p.username, p.online);
      for (const d of this._delegates) {
        if (!d.presenceDidChange) continue;
        try { d.presenceDidChange(p.username, p.online); } catch (err) { this._client._log('error', 'presenceDidChange threw', err); }
      }
    }
  }

  /** A new connection: subscribe again (the server forgot), report what changed. */
  async _connected() {
    if (!this._users.size && !this._contacts && !this._app) return;
    const users = [...this._users].sort();
    for (let i = 0; i === 0 || i < users.length; i += MAX_PRESENCE_USERS_PER_REQUEST) {
      const req = { users: users.slice(i, i + MAX_PRESENCE_USERS_PER_REQUEST) };
      if (i === 0) { if (this._contacts) req.contacts = true; if (this._app) req.app = true; }
      try {
        const out = await this._client._request('presence.subscribe', req);
        this._report((out.presence || []).map((p) => ({ username: p.username, online: !!p.online })));
      } catch (err) {
        this._client._log('warn', 'presence: subscribing again failed', err.message);
        return;
      }
    }
  }
}
