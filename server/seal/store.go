package seal

import (
	"context"
	"fmt"
	"time"

	"github.com/duet-rtc/duet/server/store"
)

// Store is a store.Backend whose webhook secrets and push credentials are sealed on the way
// in and opened on the way out; everything else passes through.
type Store struct {
	store.Backend
	key *Key
}

// NewStore wraps st.
func NewStore(st store.Backend, key *Key) *Store { return &Store{Backend: st, key: key} }

// Unwrap returns the wrapped store.
func (s *Store) Unwrap() store.Backend { return s.Backend }

// The contexts bind each sealed value to its row.
func webhookContext(app, endpoint string) string { return "webhook\x00" + app + "\x00" + endpoint }
func pushContext(app, provider string) string    { return "push\x00" + app + "\x00" + provider }

func settingContext(name string) string { return "setting\x00" + name }

// Setting is store.SettingStore's Setting with the value sealed: the admin token and TURN
// secret a cluster shares through the store. A value an older server stored in clear is
// returned as it is (there is no update to seal it with; rotate it to seal it).
func (s *Store) Setting(ctx context.Context, name, initial string) (string, error) {
	v, err := s.Backend.Setting(ctx, name, s.key.Seal(initial, settingContext(name)))
	if err != nil {
		return "", err
	}
	return s.key.Open(v, settingContext(name))
}

// PutWebhookEndpoint stores e with its secret sealed.
func (s *Store) PutWebhookEndpoint(ctx context.Context, e store.WebhookEndpoint) error {
	e.Secret = s.key.Seal(e.Secret, webhookContext(e.App, e.ID))
	return s.Backend.PutWebhookEndpoint(ctx, e)
}

// ListWebhookEndpoints returns the endpoints with their secrets opened.
func (s *Store) ListWebhookEndpoints(ctx context.Context, app string) ([]store.WebhookEndpoint, error) {
	list, err := s.Backend.ListWebhookEndpoints(ctx, app)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].Secret, err = s.key.Open(list[i].Secret, webhookContext(list[i].App, list[i].ID)); err != nil {
			return nil, fmt.Errorf("webhook endpoint %s: %w", list[i].ID, err)
		}
	}
	return list, nil
}

// DueWebhookDeliveries returns the due deliveries with their endpoints' secrets opened.
func (s *Store) DueWebhookDeliveries(ctx context.Context, now time.Time, limit int) ([]store.WebhookDelivery, error) {
	list, err := s.Backend.DueWebhookDeliveries(ctx, now, limit)
	return s.openDeliveries(list, err)
}

// ListWebhookDeliveries returns deliveries with their endpoints' secrets opened.
func (s *Store) ListWebhookDeliveries(ctx context.Context, app string, state, limit int) ([]store.WebhookDelivery, error) {
	list, err := s.Backend.ListWebhookDeliveries(ctx, app, state, limit)
	return s.openDeliveries(list, err)
}

func (s *Store) openDeliveries(list []store.WebhookDelivery, err error) ([]store.WebhookDelivery, error) {
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].Secret, err = s.key.Open(list[i].Secret, webhookContext(list[i].App, list[i].Endpoint)); err != nil {
			return nil, fmt.Errorf("webhook delivery %d: %w", list[i].ID, err)
		}
	}
	return list, nil
}

// PutPushCredentials stores c with its document sealed.
func (s *Store) PutPushCredentials(ctx context.Context, c store.PushCredentials) error {
	c.Config = []byte(s.key.Seal(string(c.Config), pushContext(c.App, c.Provider)))
	return s.Backend.PutPushCredentials(ctx, c)
}

// AddPushCredentials stores c with its document sealed, unless there are credentials.
func (s *Store) AddPushCredentials(ctx context.Context, c store.PushCredentials) (bool, error) {
	c.Config = []byte(s.key.Seal(string(c.Config), pushContext(c.App, c.Provider)))
	return s.Backend.AddPushCredentials(ctx, c)
}

// GetPushCredentials returns the credentials with their document opened.
func (s *Store) GetPushCredentials(ctx context.Context, app, provider string) (store.PushCredentials, error) {
	c, err := s.Backend.GetPushCredentials(ctx, app, provider)
	if err != nil {
		return c, err
	}
	return c, s.openPush(&c)
}

// ListPushCredentials returns the credentials with their documents opened.
func (s *Store) ListPushCredentials(ctx context.Context, app string) ([]store.PushCredentials, error) {
	list, err := s.Backend.ListPushCredentials(ctx, app)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if err := s.openPush(&list[i]); err != nil {
			return nil, err
		}
	}
	return list, nil
}

func (s *Store) openPush(c *store.PushCredentials) error {
	plain, err := s.key.Open(string(c.Config), pushContext(c.App, c.Provider))
	if err != nil {
		return fmt.Errorf("push credentials %s of %s: %w", c.Provider, c.App, err)
	}
	c.Config = []byte(plain)
	return nil
}

// Reseal seals the secrets stored in clear by a server from before sealing, and reports how
// many it sealed. The server runs it at every start.
func (s *Store) Reseal(ctx context.Context) (int, error) {
	apps, err := s.Backend.ListApps(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, app := range apps {
		eps, err := s.Backend.ListWebhookEndpoints(ctx, app.Key)
		if err != nil {
			return n, err
		}
		for _, e := range eps {
			if e.Secret != "" && !Sealed(e.Secret) {
				if err := s.PutWebhookEndpoint(ctx, e); err != nil {
					return n, err
				}
				n++
			}
		}
		creds, err := s.Backend.ListPushCredentials(ctx, app.Key)
		if err != nil {
			return n, err
		}
		for _, c := range creds {
			if len(c.Config) > 0 && !Sealed(string(c.Config)) {
				if err := s.PutPushCredentials(ctx, c); err != nil {
					return n, err
				}
				n++
			}
		}
	}
	return n, nil
}

// DeleteExpiredTokens passes through to a store that can purge tokens (see
// account.Service.PurgeExpiredTokens).
func (s *Store) DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error) {
	if d, ok := s.Backend.(interface {
		DeleteExpiredTokens(context.Context, time.Time) (int64, error)
	}); ok {
		return d.DeleteExpiredTokens(ctx, now)
	}
	return 0, nil
}
