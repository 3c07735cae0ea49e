// ContactManager: the user's contact list kept on the server (the seed's IEMContactManager:
// add, delete, list), through the REST API (docs/REST.md "Contacts"). A list is one-way;
// under the app's presence policy "contacts", the users who have you as a contact are those
// who may see your presence.
import { DuetError, ErrorCode } from './enums.js';

const USERNAME = /^[A-Za-z0-9_.-]{1,64}$/;

export class ContactManager {
  /** @param {import('./duet.js').DuetClient} client */
  constructor(client) { this._client = client; }

  _path(contact) {
    const c = this._client;
    if (!c.accessToken) throw new DuetError(ErrorCode.UserNotLogin, 'not logged in');
    let p = `/users/${encodeURIComponent(c.currentUsername)}/contacts/users`;
    if (contact !== undefined) {
      if (!USERNAME.test(contact)) throw new DuetError(ErrorCode.InvalidUsername, `"${contact}" is not a username`);
      p += '/' + encodeURIComponent(contact.toLowerCase());
    }
    return p;
  }

  /** Adds a user to the list (again: no error); UserNotFound (204) if there is none. @param {string} username */
  async addContact(username) { await this._client._rest('POST', this._path(username), this._client.accessToken); }

  /** Removes a user from the list; NotFound (907) if not there. @param {string} username */
  async deleteContact(username) { await this._client._rest('DELETE', this._path(username), this._client.accessToken); }

  /**
   * A page of the list in username order.
   * @param {{cursor?: string, limit?: number}} [q] limit 1–100 (default 100)
   * @returns {Promise<{usernames: string[], cursor: string}>} cursor "" on the last page
   */
  async getContacts(q = {}) {
    const qs = new URLSearchParams({ limit: String(q.limit || 100) });
    if (q.cursor) qs.set('cursor', q.cursor);
    const r = await this._client._rest('GET', this._path() + '?' + qs, this._client.accessToken);
    return { usernames: r.data || [], cursor: r.cursor || '' };
  }

  /** The whole list (getContactsFromServer). @returns {Promise<string[]>} */
  async getAllContacts() {
    const all = [];
    let cursor = '';
    do {
      const page = await this.getContacts({ cursor });
      all.push(...page.usernames);
      cursor = page.cursor;
    } while (cursor);
    return all;
  }
}
