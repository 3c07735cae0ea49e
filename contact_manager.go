package duet

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/duet-rtc/duet/protocol"
)

// ContactManager keeps the logged-in user's contact list on the server (the seed's
// IEMContactManager: add, delete, list). Get it from Client.ContactManager. A contact list
// is one-way: adding bob does not add you to bob's list. Under the app's presence policy
// "contacts", the users who have you as a contact are those who may see your presence.
type ContactManager struct{ c *Client }

// ContactManager returns the client's contact manager.
func (c *Client) ContactManager() *ContactManager { return &ContactManager{c} }

// contactsPath is the REST path of the user's list, or of one contact in it.
func (m *ContactManager) contactsPath(contact string) (string, string, error) {
	m.c.mu.Lock()
	user, token := m.c.username, m.c.token
	m.c.mu.Unlock()
	if token == "" {
		return "", "", &Error{Code: protocol.CodeUserNotLogin, Message: "not logged in"}
	}
	p := "/users/" + url.PathEscape(user) + "/contacts/users"
	if contact != "" {
		if err := protocol.CheckUsername(contact); err != nil {
			return "", "", err
		}
		p += "/" + url.PathEscape(protocol.NormalizeUsername(contact))
	}
	return p, token, nil
}

// AddContact puts username in the user's list (adding one already there is not an error).
// ErrorUserNotFound (204) when there is no such user.
func (m *ContactManager) AddContact(ctx context.Context, username string) error {
	p, token, err := m.contactsPath(username)
	if err != nil {
		return err
	}
	return m.c.doREST(ctx, http.MethodPost, p, token, nil, nil)
}

// DeleteContact takes username out of the list; code 907 (NotFound) if it was not there.
func (m *ContactManager) DeleteContact(ctx context.Context, username string) error {
	p, token, err := m.contactsPath(username)
	if err != nil {
		return err
	}
	return m.c.doREST(ctx, http.MethodDelete, p, token, nil, nil)
}

// ContactPage is one page of a contact list; Cursor fetches the next ("" on the last).
type ContactPage struct {
	Usernames []string
	Cursor    string
}

// GetContacts returns a page of up to limit (1–100) contacts after cursor ("" for the
// first), in username order.
func (m *ContactManager) GetContacts(ctx context.Context, cursor string, limit int) (ContactPage, error) {
	p, token, err := m.contactsPath("")
	if err != nil {
		return ContactPage{}, err
	}
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var out struct {
		Data   []string `json:"data"`
		Cursor string   `json:"cursor"`
	}
	if err := m.c.doREST(ctx, http.MethodGet, p+"?"+q.Encode(), token, nil, &out); err != nil {
		return ContactPage{}, err
	}
	return ContactPage{Usernames: out.Data, Cursor: out.Cursor}, nil
}

// GetAllContacts reads the whole list, page by page: the seed's getContactsFromServer.
func (m *ContactManager) GetAllContacts(ctx context.Context) ([]string, error) {
	var all []string
	cursor := ""
	for {
		page, err := m.GetContacts(ctx, cursor, 100)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Usernames...)
		if page.Cursor == "" {
			return all, nil
		}
		cursor = page.Cursor
	}
}
