package api

import (
	"context"
	"net/http"
	"time"
)

// VAPIDKeys gives an app's VAPID public key, making the key pair on first use
// (push.Service.VAPIDPublicKey).
type VAPIDKeys func(ctx context.Context, app string) (string, error)

// WebPushKey is the entity of GET /{org}/{app}/push/webpush.
type WebPushKey struct {
	// PublicKey is the app's VAPID public key (an uncompressed P-256 point, base64url): a
	// page passes it to pushManager.subscribe as applicationServerKey, then binds the
	// subscription as a "webpush" push token.
	PublicKey string `json:"publicKey"`
}

// WebPushRoutes serves GET /{org}/{app}/push/webpush, with any token of the app: the VAPID
// public key a page subscribes to Web Push with.
func (a *API) WebPushRoutes(mux *http.ServeMux, keys VAPIDKeys) {
	mux.Handle("GET /{org}/{app}/push/webpush", a.serve(func(w http.ResponseWriter, r *http.Request, start time.Time) error {
		app, err := a.pathApp(r)
		if err != nil {
			return err
		}
		if _, err := a.authAny(r, app); err != nil {
			return err
		}
		key, err := keys(r.Context(), app.Key)
		if err != nil {
			return errDB(err)
		}
		writeJSON(w, http.StatusOK, respond(a, r, app, "get", "/push/webpush", start, []WebPushKey{{PublicKey: key}}))
		return nil
	}))
}
