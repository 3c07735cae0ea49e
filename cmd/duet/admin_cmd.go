package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/duet-rtc/duet/server/api"
)

// adminFlags locate the server and its admin token.
type adminFlags struct {
	server, token, data string
	jsonOut             bool
}

func (f *adminFlags) register(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.server, "server", envOr("DUET_SERVER", "http://127.0.0.1:8080"), "server URL, or a comma-separated list of a cluster's nodes (DUET_SERVER)")
	pf.StringVar(&f.token, "admin-token", envOr("DUET_ADMIN_TOKEN", ""), "admin token (DUET_ADMIN_TOKEN; default: read DATA/admin-token)")
	pf.StringVar(&f.data, "data", envOr("DUET_DATA", "./duet-data"), "the server's data folder, to read the admin token from (DUET_DATA)")
	pf.BoolVar(&f.jsonOut, "json", false, "print JSON")
}

func (f *adminFlags) client() (*api.AdminClient, error) {
	token := f.token
	if token == "" {
		b, err := os.ReadFile(filepath.Join(f.data, "admin-token"))
		if err != nil {
			return nil, fmt.Errorf("no --admin-token and none readable in %s: %w", f.data, err)
		}
		token = strings.TrimSpace(string(b))
	}
	return &api.AdminClient{BaseURL: firstNode(f.server), Token: token}, nil
}

func (f *adminFlags) print(v any, text func()) {
	if f.jsonOut {
		b, _ := json.MarshalIndent(v, "", "  ")
		fmt.Println(string(b))
		return
	}
	text()
}

func ctx10() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// withClient runs do with the client newClient makes and a 10 s context: the frame of the
// admin and recording subcommands.
func withClient[C any](newClient func() (C, error), do func(ctx context.Context, c C) error) error {
	c, err := newClient()
	if err != nil {
		return err
	}
	ctx, cancel := ctx10()
	defer cancel()
	return do(ctx, c)
}

// runAdmin is withClient for the `duet app push|webhook` subcommands, whose admin flags are
// inherited from their parent command.
func runAdmin(cmd *cobra.Command, do func(ctx context.Context, c *api.AdminClient, f *adminFlags) error) error {
	f := inheritedAdmin(cmd)
	return withClient(f.client, func(ctx context.Context, c *api.AdminClient) error { return do(ctx, c, f) })
}

func appCommand() *cobra.Command {
	var f adminFlags
	cmd := &cobra.Command{Use: "app", Short: "Create and list apps, and change their settings (admin API)"}
	f.register(cmd)
	var registration string
	create := &cobra.Command{
		Use:   "create ORG#APP",
		Short: "Create an app; prints its client_id and client_secret",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			org, name, ok := strings.Cut(args[0], "#")
			if !ok {
				return errors.New("the app key must be ORG#APP")
			}
			return withClient(f.client, func(ctx context.Context, c *api.AdminClient) error {
				app, err := c.CreateApp(ctx, org, name, registration)
				if err != nil {
					return err
				}
				f.print(app, func() {
					fmt.Printf("appkey %s\nregistration %s\nclient_id %s\nclient_secret %s\n", app.Key, app.Registration, app.ClientID, app.ClientSecret)
				})
				return nil
			})
		},
	}
	create.Flags().StringVar(&registration, "registration", "open", "open (anyone may register) or authorized (app token needed)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List apps",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return withClient(f.client, func(ctx context.Context, c *api.AdminClient) error {
				apps, err := c.ListApps(ctx)
				if err != nil {
					return err
				}
				f.print(apps, func() {
					for _, a := range apps {
						fmt.Printf("%s\t%s\n", a.Key, a.Registration)
					}
				})
				return nil
			})
		},
	}
	var presence string
	settings := &cobra.Command{
		Use:   "settings ORG#APP",
		Short: "Show the app's settings, or change them with a flag (--presence app|contacts)",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return withClient(f.client, func(ctx context.Context, ac *api.AdminClient) error {
				var s api.AppSettings
				var err error
				if c.Flags().Changed("presence") {
					s, err = ac.SetAppSettings(ctx, args[0], api.AppSettings{Presence: presence})
				} else {
					s, err = ac.AppSettings(ctx, args[0])
				}
				if err != nil {
					return err
				}
				f.print(s, func() { fmt.Printf("presence %s\n", s.Presence) })
				return nil
			})
		},
	}
	settings.Flags().StringVar(&presence, "presence", "", `who sees whose presence: "app" (every user of the app) or "contacts" (those who have them as a contact)`)
	cmd.AddCommand(create, list, settings)
	return cmd
}

func userCommand() *cobra.Command {
	var f adminFlags
	var appKey string
	cmd := &cobra.Command{Use: "user", Short: "Add, list and delete users of an app (admin API)"}
	f.register(cmd)
	cmd.PersistentFlags().StringVar(&appKey, "app", envOr("DUET_APPKEY", "demo#duet"), "app key ORG#APP (DUET_APPKEY)")
	var password, nickname string
	add := &cobra.Command{
		Use:   "add USERNAME",
		Short: "Add a user",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if password == "" {
				return errors.New("--password is required")
			}
			return withClient(f.client, func(ctx context.Context, c *api.AdminClient) error {
				u, err := c.AddUser(ctx, appKey, args[0], password, nickname)
				if err != nil {
					return err
				}
				f.print(u, func() { fmt.Printf("added %s to %s\n", u.Username, appKey) })
				return nil
			})
		},
	}
	add.Flags().StringVar(&password, "password", "", "the user's password")
	add.Flags().StringVar(&nickname, "nickname", "", "display name")
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List users, in username order",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return withClient(f.client, func(ctx context.Context, c *api.AdminClient) error {
				var all []api.User
				cursor := ""
				for {
					users, next, err := c.ListUsers(ctx, appKey, cursor, limit)
					if err != nil {
						return err
					}
					all = append(all, users...)
					if next == "" {
						break
					}
					cursor = next
				}
				f.print(all, func() {
					for _, u := range all {
						fmt.Println(u.Username)
					}
				})
				return nil
			})
		},
	}
	list.Flags().IntVar(&limit, "page-size", 100, "users per request")
	del := &cobra.Command{
		Use:   "delete USERNAME",
		Short: "Delete a user and log out its devices",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return withClient(f.client, func(ctx context.Context, c *api.AdminClient) error {
				if err := c.DeleteUser(ctx, appKey, args[0]); err != nil {
					return err
				}
				fmt.Printf("deleted %s from %s\n", args[0], appKey)
				return nil
			})
		},
	}
	cmd.AddCommand(add, list, del)
	return cmd
}
