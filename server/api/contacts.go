package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/account"
	"github.com/duet-rtc/duet/server/store"
)

// Contacts is what the contact and presence-policy endpoints need.
type Contacts struct {
	Store store.ContactStore
	// Changed is told that owner's contact list changed (presence subscriptions follow it).
	Changed func(app, owner string)
	Now     func() time.Time
}

// ContactList is the reply of GET …/contacts/users: Easemob's `data` array of usernames.
type ContactList struct {
	Action    string   `json:"action"`
	URI       string   `json:"uri,omitempty"`
	Data      []string `json:"data"`
	Count     int      `json:"count"`
	Cursor    string   `json:"cursor,omitempty"` // next page; absent on the last
	Timestamp int64    `json:"timestamp"`
	Duration  int64    `json:"duration"`
}

// AppSettings is the body of GET/PUT /admin/v1/apps/{org}/{app}/settings.
type AppSettings struct {
	// Presence is whose presence a user may see: "app" (every user of the app, the default)
	// or "contacts" (those who have them as a contact).
	Presence string `json:"presence"`
}

// ContactRoutes serves each user's contact list (the seed's Contact module) and the app's
// presence policy:
//
//	GET    /{org}/{app}/users/{name}/contacts/users?limit=&cursor=   the user's or app token
//	POST   /{org}/{app}/users/{name}/contacts/users/{contact}        the user's or app token
//	DELETE /{org}/{app}/users/{name}/contacts/users/{contact}        the user's or app token
//	GET    /admin/v1/apps/{org}/{app}/settings
//	PUT    /admin/v1/apps/{org}/{app}/settings                       {presence}
func (a *API) ContactRoutes(mux *http.ServeMux, c Contacts) {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Changed == nil {
		c.Changed = func(string, string) {}
	}
	h := &contactsAPI{a: a, c: c}
	for _, rt := range []route{
		{"GET /{org}/{app}/users/{name}/contacts/users", h.list},
		{"POST /{org}/{app}/users/{name}/contacts/users/{contact}", h.add},
		{"DELETE /{org}/{app}/users/{name}/contacts/users/{contact}", h.remove},
		{"GET /admin/v1/apps/{org}/{app}/settings", h.getSettings},
		{"PUT /admin/v1/apps/{org}/{app}/settings", h.putSettings},
	} {
		mux.Handle(rt.pattern, a.serve(rt.h))
		a.mux.Handle(rt.pattern, a.serve(rt.h))
	}
}

type contactsAPI struct {
	a *API
	c Contacts
}

// owner authorizes a request on the contact list of the path's user.
func (h *contactsAPI) owner(r *http.Request) (store.App, string, error) {
	app, err := h.a.pathApp(r)
	if err != nil {
		return app, "", err
	}
	name, err := account.NormalizeUsername(r.PathValue("name"))
	if err != nil {
		return app, "", err
	}
	return app, name, h.a.authAppOrSelf(r, app, name)
}

func (h *contactsAPI) list(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, owner, err := h.owner(r)
	if err != nil {
		return err
	}
	limit, err := queryLimit(r, account.MaxListLimit)
	if err != nil {
		return err
	}
	names, err := h.c.Store.ListContacts(r.Context(), app.Key, owner, r.URL.Query().Get("cursor"), limit+1)
	if err != nil {
		return err
	}
	out := ContactList{Action: "get", URI: r.URL.Path, Data: names, Timestamp: h.c.Now().UnixMilli()}
	if len(names) > limit {
		out.Data = names[:limit]
		out.Cursor = names[limit-1]
	}
	if out.Data == nil {
		out.Data = []string{}
	}
	out.Count = len(out.Data)
	out.Duration = h.c.Now().Sub(start).Milliseconds()
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ownerAndContact is owner with the path's {contact}, normalized.
func (h *contactsAPI) ownerAndContact(r *http.Request) (store.App, string, string, error) {
	app, owner, err := h.owner(r)
	if err != nil {
		return store.App{}, "", "", err
	}
	contact, err := account.NormalizeUsername(r.PathValue("contact"))
	return app, owner, contact, err
}

func (h *contactsAPI) add(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, owner, contact, err := h.ownerAndContact(r)
	if err != nil {
		return err
	}
	if contact == owner {
		return badParam("contact", "a user cannot be their own contact")
	}
	if n, err := h.c.Store.CountContacts(r.Context(), app.Key, owner); err != nil {
		return err
	} else if n >= store.MaxContacts {
		return badParam("contact", "a contact list holds at most %d users", store.MaxContacts)
	}
	err = h.c.Store.AddContact(r.Context(), app.Key, owner, contact, h.c.Now())
	if errors.Is(err, store.ErrNotFound) {
		return protocol.NewError(protocol.CodeUserNotFound, "no user %q", contact)
	}
	if err != nil {
		return err
	}
	h.c.Changed(app.Key, owner)
	return h.reply(w, "post", r.URL.Path, start, contact)
}

func (h *contactsAPI) remove(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, owner, contact, err := h.ownerAndContact(r)
	if err != nil {
		return err
	}
	err = h.c.Store.RemoveContact(r.Context(), app.Key, owner, contact)
	if errors.Is(err, store.ErrNotFound) {
		return protocol.NewError(protocol.CodeNotFound, "%q is not a contact of %q", contact, owner)
	}
	if err != nil {
		return err
	}
	h.c.Changed(app.Key, owner)
	return h.reply(w, "delete", r.URL.Path, start, contact)
}

func (h *contactsAPI) reply(w http.ResponseWriter, action, uri string, start time.Time, contact string) error {
	writeJSON(w, http.StatusOK, ContactList{Action: action, URI: uri, Data: []string{contact}, Count: 1,
		Timestamp: h.c.Now().UnixMilli(), Duration: h.c.Now().Sub(start).Milliseconds()})
	return nil
}

func (h *contactsAPI) getSettings(w http.ResponseWriter, r *http.Request, _ time.Time) error {
	app, err := h.a.adminApp(r)
	if err != nil {
		return err
	}
	p, err := h.c.Store.PresencePolicy(r.Context(), app.Key)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, AppSettings{Presence: p})
	return nil
}

func (h *contactsAPI) putSettings(w http.ResponseWriter, r *http.Request, _ time.Time) error {
	app, err := h.a.adminApp(r)
	if err != nil {
		return err
	}
	var body AppSettings
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	if !store.ValidPresencePolicy(body.Presence) {
		return badParam("presence", `must be "app" or "contacts"`)
	}
	if err := h.c.Store.SetPresencePolicy(r.Context(), app.Key, body.Presence); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// AppSettings returns the app's settings.
func (c *AdminClient) AppSettings(ctx context.Context, appKey string) (AppSettings, error) {
	var out AppSettings
	path, err := appPath(appKey, "/settings")
	if err != nil {
		return out, err
	}
	return out, c.do(ctx, http.MethodGet, path, nil, &out)
}

// SetAppSettings replaces the app's settings and returns them.
func (c *AdminClient) SetAppSettings(ctx context.Context, appKey string, s AppSettings) (AppSettings, error) {
	var out AppSettings
	path, err := appPath(appKey, "/settings")
	if err != nil {
		return out, err
	}
	return out, c.do(ctx, http.MethodPut, path, s, &out)
}
