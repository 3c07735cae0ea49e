// ChatManager: text messages (docs/PROTOCOL.md "Text messages"), the browser twin of the Go
// SDK's ChatManager — what the seed's callRemoteOffline example sends to reach a callee.
// Messages arrive in order on every device of the recipient; this side drops repeats (the
// server resends whatever a device has not acknowledged) and acknowledges what it handed
// to its delegates.
import { DuetError, ErrorCode } from './enums.js';

/** Text is 1–4096 bytes of UTF-8; ext a JSON object of at most 4096 bytes. */
export const MAX_TEXT_BYTES = 4096;
export const MAX_EXT_BYTES = 4096;
const ACK_EVERY = 16; // messages per acknowledgement at most …
const ACK_DELAY_MS = 50; // … or this long after the last one
const MAX_SEEN = 1024; // recent from/id keys kept to drop repeats

/**
 * @typedef {Object} Message
 * @property {string} id unique per sender
 * @property {string} from
 * @property {string} to
 * @property {string} text
 * @property {Object} [ext] the app's extension; em_apns_ext etc. shape an offline push
 * @property {number} timestamp when the server stored it, ms since the epoch
 */

/**
 * @typedef {Object} ChatManagerDelegate
 * @property {(messages: Message[]) => void} [messagesDidReceive] new messages, in order
 */

function messageId() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** Sends and receives text messages (IEMChatManager, text only). */
export class ChatManager {
  /** @param {import('./duet.js').DuetClient} client */
  constructor(client) {
    this._client = client;
    this._delegates = [];
    this._lastSeq = 0;
    this._seen = new Set();
    this._ackUpTo = 0;
    this._unacked = 0;
    this._ackTimer = 0;
  }

  /** @param {ChatManagerDelegate} d */
  addDelegate(d) { if (!this._delegates.includes(d)) this._delegates.push(d); }

  /** @param {ChatManagerDelegate} d */
  removeDelegate(d) { this._delegates = this._delegates.filter((x) => x !== d); }

  /**
   * Sends a text message to the user to. It is stored before this resolves; an unknown
   * recipient rejects with UserNotFound (204), bad text or ext with UserIllegalArgument (205).
   * @param {string} to
   * @param {string} text
   * @param {Object} [ext]
   * @returns {Promise<Message>}
   */
  async sendMessage(to, text, ext) {
    const enc = new TextEncoder();
    if (typeof text !== 'string' || text.length === 0 || enc.encode(text).length > MAX_TEXT_BYTES) {
      throw new DuetError(ErrorCode.UserIllegalArgument, `text must be 1-${MAX_TEXT_BYTES} bytes`);
    }
    if (ext !== undefined && (ext === null || typeof ext !== 'object' || Array.isArray(ext) || enc.encode(JSON.stringify(ext)).length > MAX_EXT_BYTES)) {
      throw new DuetError(ErrorCode.UserIllegalArgument, `ext must be a JSON object of at most ${MAX_EXT_BYTES} bytes`);
    }
    const req = { id: messageId(), to, text };
    if (ext !== undefined) req.ext = ext;
    const sent = await this._client._request('chat.send', req);
    return { id: sent.id, from: this._client.currentUsername, to: String(to).toLowerCase(), text, ext, timestamp: sent.timestamp };
  }

  /** A chat.* message from the server. */
  _handleMessage(env) {
    if (env.type !== 'chat.message') return;
    const m = env.data || {};
    if (!m.id || !(m.seq > 0)) return;
    if (this._delegates.length === 0) return; // not acknowledged: it comes again once someone listens
    const key = `${m.from}/${m.id}`;
    const repeat = this._seen.has(key) || m.seq <= this._lastSeq;
    if (!repeat) {
      this._lastSeq = m.seq;
      this._seen.add(key);
      if (this._seen.size > MAX_SEEN) this._seen.delete(this._seen.values().next().value);
      const msg = { id: m.id, from: m.from, to: m.to, text: m.text, timestamp: m.timestamp };
      if (m.ext && typeof m.ext === 'object') msg.ext = m.ext;
      for (const d of [...this._delegates]) {
        try { if (d.messagesDidReceive) d.messagesDidReceive([msg]); } catch (err) { this._client._log('error', 'messagesDidReceive threw', err); }
      }
    }
    this._ack(m.seq); // repeats too: the server resent them because it lacks the ack
  }

  _ack(seq) {
    this._ackUpTo = Math.max(this._ackUpTo, seq);
    this._unacked++;
    if (this._unacked >= ACK_EVERY) { this._flushAck(); return; }
    if (!this._ackTimer) this._ackTimer = setTimeout(() => this._flushAck(), ACK_DELAY_MS);
  }

  _flushAck() {
    clearTimeout(this._ackTimer);
    this._ackTimer = 0;
    if (this._unacked === 0) return;
    this._unacked = 0;
    // Unsent (offline): the server resends after the reconnect, and the repeats are dropped.
    this._client._send('chat.ack', { upTo: this._ackUpTo });
  }

  /** A new login starts over: another user's (or a recreated user's) seqs start at 1. */
  _reset() {
    clearTimeout(this._ackTimer);
    this._ackTimer = 0;
    this._lastSeq = 0;
    this._ackUpTo = 0;
    this._unacked = 0;
    this._seen.clear();
  }
}
