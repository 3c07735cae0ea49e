package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/duet-rtc/duet/server/api"
)

// appWebhookCommand is `duet app webhook set|list|delete|deadletters`.
func appWebhookCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "webhook", Short: "Manage the endpoints that receive an app's call events"}
	var appKey string
	cmd.PersistentFlags().StringVar(&appKey, "app", envOr("DUET_APPKEY", "demo#duet"), "app key ORG#APP (DUET_APPKEY)")
	var url, secret string
	set := &cobra.Command{
		Use:   "set --url URL [--secret S]",
		Short: "Add an endpoint, or change the secret of the endpoint with this URL",
		Long: `Call events (call.invited, call.offline, call.ringing, call.connected, call.accepted,
call.ended) are POSTed to the URL as JSON, signed in X-Duet-Signature: sha256=<hex HMAC-SHA256 of
the body with the secret>. Without --secret a new endpoint gets a generated one, printed once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAdmin(cmd, func(ctx context.Context, c *api.AdminClient, af *adminFlags) error {
				w, err := c.SetWebhook(ctx, appKey, url, secret)
				if err != nil {
					return err
				}
				af.print(w, func() {
					fmt.Printf("webhook %s -> %s\n", w.ID, w.URL)
					if w.Secret != "" {
						fmt.Printf("secret %s (shown only now)\n", w.Secret)
					}
				})
				return nil
			})
		},
	}
	set.Flags().StringVar(&url, "url", "", "the endpoint's URL")
	set.Flags().StringVar(&secret, "secret", envOr("DUET_WEBHOOK_SECRET", ""), "the signing secret, 16-256 characters (DUET_WEBHOOK_SECRET)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the app's endpoints",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAdmin(cmd, func(ctx context.Context, c *api.AdminClient, af *adminFlags) error {
				all, err := c.ListWebhooks(ctx, appKey)
				if err != nil {
					return err
				}
				af.print(all, func() {
					for _, w := range all {
						fmt.Printf("%s\t%s\n", w.ID, w.URL)
					}
				})
				return nil
			})
		},
	}
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete an endpoint and the deliveries queued for it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAdmin(cmd, func(ctx context.Context, c *api.AdminClient, _ *adminFlags) error {
				if err := c.DeleteWebhook(ctx, appKey, args[0]); err != nil {
					return err
				}
				fmt.Printf("deleted webhook %s\n", args[0])
				return nil
			})
		},
	}
	var retry bool
	var limit int
	dead := &cobra.Command{
		Use:   "deadletters [--retry]",
		Short: "List the deliveries given up after every attempt failed, or retry them all",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAdmin(cmd, func(ctx context.Context, c *api.AdminClient, af *adminFlags) error {
				if retry {
					n, err := c.RetryDeadLetters(ctx, appKey)
					if err != nil {
						return err
					}
					af.print(map[string]int64{"retried": n}, func() { fmt.Printf("retrying %d deliveries\n", n) })
					return nil
				}
				all, err := c.DeadLetters(ctx, appKey, limit)
				if err != nil {
					return err
				}
				af.print(all, func() {
					for _, d := range all {
						fmt.Printf("%s\t%s\t%s\tattempts=%d\t%s\t%s\n", time.UnixMilli(d.DeadAt).UTC().Format(time.RFC3339),
							d.EventID, d.EventType, d.Attempts, d.URL, d.LastError)
					}
				})
				return nil
			})
		},
	}
	dead.Flags().BoolVar(&retry, "retry", false, "make every dead letter pending again")
	dead.Flags().IntVar(&limit, "limit", 100, "at most this many, newest first (1-100)")
	cmd.AddCommand(set, list, del, dead)
	return cmd
}
