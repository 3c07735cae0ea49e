package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// SetPushCredentials sets the app's credentials for provider ("apns", "fcm" or "webhook");
// config is the provider's document (push.APNsConfig, push.FCMConfig, push.WebhookConfig or
// raw JSON). The reply is redacted.
func (c *AdminClient) SetPushCredentials(ctx context.Context, appKey, provider string, config any) (PushCredentials, error) {
	path, err := appPath(appKey, "/push/"+url.PathEscape(provider))
	if err != nil {
		return PushCredentials{}, err
	}
	if raw, ok := config.([]byte); ok {
		config = json.RawMessage(raw)
	}
	var resp Response[PushCredentials]
	if err := c.do(ctx, http.MethodPut, path, config, &resp); err != nil {
		return PushCredentials{}, err
	}
	if len(resp.Entities) != 1 {
		return PushCredentials{}, fmt.Errorf("duet api: set push credentials: %d entities in reply", len(resp.Entities))
	}
	return resp.Entities[0], nil
}

// ListPushCredentials returns the app's push credentials, redacted.
func (c *AdminClient) ListPushCredentials(ctx context.Context, appKey string) ([]PushCredentials, error) {
	path, err := appPath(appKey, "/push")
	if err != nil {
		return nil, err
	}
	var resp Response[PushCredentials]
	if err := c.do(ctx, http.MethodGet, path, nil, &resp); err != nil {
		return nil, err
	}
	return resp.Entities, nil
}

// DeletePushCredentials removes the app's credentials for provider.
func (c *AdminClient) DeletePushCredentials(ctx context.Context, appKey, provider string) error {
	path, err := appPath(appKey, "/push/"+url.PathEscape(provider))
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, path, nil, nil)
}

// SetWebhook adds a webhook endpoint to the app, or updates the secret of the endpoint with
// the same URL. An empty secret keeps the existing one or, for a new endpoint, has the
// server generate one, which this reply (only) shows.
func (c *AdminClient) SetWebhook(ctx context.Context, appKey, webhookURL, secret string) (Webhook, error) {
	path, err := appPath(appKey, "/webhooks")
	if err != nil {
		return Webhook{}, err
	}
	var resp Response[Webhook]
	if err := c.do(ctx, http.MethodPost, path, NewWebhook{URL: webhookURL, Secret: secret}, &resp); err != nil {
		return Webhook{}, err
	}
	if len(resp.Entities) != 1 {
		return Webhook{}, fmt.Errorf("duet api: set webhook: %d entities in reply", len(resp.Entities))
	}
	return resp.Entities[0], nil
}

// ListWebhooks returns the app's webhook endpoints (without secrets).
func (c *AdminClient) ListWebhooks(ctx context.Context, appKey string) ([]Webhook, error) {
	path, err := appPath(appKey, "/webhooks")
	if err != nil {
		return nil, err
	}
	var resp Response[Webhook]
	if err := c.do(ctx, http.MethodGet, path, nil, &resp); err != nil {
		return nil, err
	}
	return resp.Entities, nil
}

// DeleteWebhook removes a webhook endpoint and its queued deliveries.
func (c *AdminClient) DeleteWebhook(ctx context.Context, appKey, id string) error {
	path, err := appPath(appKey, "/webhooks/"+url.PathEscape(id))
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, path, nil, nil)
}

// DeadLetters returns up to limit (1-100; 0: 100) of the app's dead webhook deliveries,
// newest first.
func (c *AdminClient) DeadLetters(ctx context.Context, appKey string, limit int) ([]DeadLetter, error) {
	path, err := appPath(appKey, "/webhooks/deadletters")
	if err != nil {
		return nil, err
	}
	if limit > 0 {
		path += "?limit=" + strconv.Itoa(limit)
	}
	var resp Response[DeadLetter]
	if err := c.do(ctx, http.MethodGet, path, nil, &resp); err != nil {
		return nil, err
	}
	return resp.Entities, nil
}

// RetryDeadLetters makes the app's dead letters pending again and returns how many.
func (c *AdminClient) RetryDeadLetters(ctx context.Context, appKey string) (int64, error) {
	path, err := appPath(appKey, "/webhooks/deadletters/retry")
	if err != nil {
		return 0, err
	}
	var resp Response[RetryResult]
	if err := c.do(ctx, http.MethodPost, path, nil, &resp); err != nil {
		return 0, err
	}
	if len(resp.Entities) != 1 {
		return 0, fmt.Errorf("duet api: retry dead letters: %d entities in reply", len(resp.Entities))
	}
	return resp.Entities[0].Retried, nil
}

// RetryDeadLetter makes one dead letter (DeadLetter.ID) of the app pending again.
func (c *AdminClient) RetryDeadLetter(ctx context.Context, appKey string, id int64) error {
	path, err := appPath(appKey, fmt.Sprintf("/webhooks/deadletters/%d/retry", id))
	if err != nil {
		return err
	}
	var resp Response[RetryResult]
	return c.do(ctx, http.MethodPost, path, nil, &resp)
}
