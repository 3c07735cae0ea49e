package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/push"
)

// pushCommand is `duet push bind|unbind`: a device's push token, as the SDK registers it.
func pushCommand() *cobra.Command {
	var f userFlags
	cmd := &cobra.Command{Use: "push", Short: "Bind or unbind a device's push token as a user"}
	f.registerFlags(cmd)
	var provider, token, topic string
	var voip bool
	bind := &cobra.Command{
		Use:     "bind --provider apns|fcm|webhook --token TOKEN",
		Short:   "Bind this device's push token (use the device id of the phone it belongs to)",
		Example: `  duet push bind --user bob --password pw --device bob-iphone --provider apns --token 0f3a... --voip`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var opts []duet.PushOption
			if voip {
				opts = append(opts, duet.WithVoIP())
			}
			if topic != "" {
				opts = append(opts, duet.WithTopic(topic))
			}
			return withUser(cmd.Context(), &f, func(ctx context.Context, c *duet.Client) error {
				if err := c.BindDeviceToken(ctx, provider, token, opts...); err != nil {
					return err
				}
				fmt.Printf("bound %s token for %s on device %s\n", provider, f.user, c.Options().DeviceID)
				return nil
			})
		},
	}
	bind.Flags().StringVar(&provider, "provider", "", "apns, fcm or webhook")
	bind.Flags().StringVar(&token, "token", "", "the device token the provider issued")
	bind.Flags().BoolVar(&voip, "voip", false, "apns: a PushKit (VoIP) token; incoming calls are pushed to it")
	bind.Flags().StringVar(&topic, "topic", "", "apns: the bundle id, when it differs from the app's configured topic")
	unbind := &cobra.Command{
		Use:   "unbind [--provider P] [--token T]",
		Short: "Unbind this device's push tokens (all of them, or of one provider, or one token)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withUser(cmd.Context(), &f, func(ctx context.Context, c *duet.Client) error {
				if err := c.UnbindDeviceToken(ctx, provider, token); err != nil {
					return err
				}
				fmt.Printf("unbound push tokens of %s on device %s\n", f.user, c.Options().DeviceID)
				return nil
			})
		},
	}
	unbind.Flags().StringVar(&provider, "provider", "", "apns, fcm or webhook (default: all)")
	unbind.Flags().StringVar(&token, "token", "", "only this token")
	cmd.AddCommand(bind, unbind)
	return cmd
}

// withUser logs in, runs f and logs out, all within 30 s.
func withUser(parent context.Context, uf *userFlags, f func(context.Context, *duet.Client) error) error {
	ctx, cancel := context.WithTimeout(parent, 30*time.Second)
	defer cancel()
	c, err := uf.login(ctx, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(ctx, c)
}

// appMessagingCommands adds `push` and `webhook` to `duet app`, sharing its admin flags.
func appMessagingCommands(app *cobra.Command) *cobra.Command {
	app.AddCommand(appPushCommand(), appWebhookCommand())
	return app
}

// inheritedAdmin reads the admin flags that `duet app` declares, as its subcommands see them.
func inheritedAdmin(cmd *cobra.Command) *adminFlags {
	fl := cmd.Flags()
	var f adminFlags
	f.server, _ = fl.GetString("server")
	f.token, _ = fl.GetString("admin-token")
	f.data, _ = fl.GetString("data")
	f.jsonOut, _ = fl.GetBool("json")
	return &f
}

// pushCredFlags are the flags of `duet app push set`.
type pushCredFlags struct {
	appKey, provider                      string
	keyFile, keyID, teamID, topic, host   string
	certFile, certPassword                string
	sandbox                               bool
	serviceAccount, endpoint, url, secret string
}

func appPushCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "push", Short: "Set, list and delete an app's push provider credentials"}
	var appKey string
	cmd.PersistentFlags().StringVar(&appKey, "app", envOr("DUET_APPKEY", "demo#duet"), "app key ORG#APP (DUET_APPKEY)")
	var pf pushCredFlags
	set := &cobra.Command{
		Use:   "set --provider apns|fcm|webhook ...",
		Short: "Set the credentials of one provider (secrets are stored on the server and never shown again)",
		Example: `  duet app push set --app demo#duet --provider apns --key-file AuthKey_ABC123.p8 --key-id ABC123 --team-id TEAM12345 --topic com.example.app
  duet app push set --app demo#duet --provider apns --cert-file voip.p12 --cert-password pw --topic com.example.app --sandbox
  duet app push set --app demo#duet --provider fcm --service-account firebase-adminsdk.json
  duet app push set --app demo#duet --provider webhook --url https://push.example.com/duet --secret "$SECRET"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			doc, err := pf.document()
			if err != nil {
				return err
			}
			return runAdmin(cmd, func(ctx context.Context, c *api.AdminClient, af *adminFlags) error {
				got, err := c.SetPushCredentials(ctx, appKey, pf.provider, doc)
				if err != nil {
					return err
				}
				af.print(got, func() { fmt.Printf("%s credentials set for %s\n", got.Provider, appKey) })
				return nil
			})
		},
	}
	fl := set.Flags()
	fl.StringVar(&pf.provider, "provider", "", "apns, fcm or webhook")
	fl.StringVar(&pf.keyFile, "key-file", "", "apns token auth: the .p8 signing key")
	fl.StringVar(&pf.keyID, "key-id", "", "apns token auth: the key id")
	fl.StringVar(&pf.teamID, "team-id", "", "apns token auth: the team id")
	fl.StringVar(&pf.certFile, "cert-file", "", "apns certificate auth: a .p12 file, or PEM with certificate and key")
	fl.StringVar(&pf.certPassword, "cert-password", envOr("DUET_APNS_CERT_PASSWORD", ""), "apns certificate auth: the .p12 or key password (DUET_APNS_CERT_PASSWORD)")
	fl.StringVar(&pf.topic, "topic", "", "apns: the app's bundle id (VoIP pushes use TOPIC.voip)")
	fl.BoolVar(&pf.sandbox, "sandbox", false, "apns: the development environment")
	fl.StringVar(&pf.host, "host", "", "apns: another APNs server URL (a proxy)")
	fl.StringVar(&pf.serviceAccount, "service-account", "", "fcm: the service account's JSON key file")
	fl.StringVar(&pf.endpoint, "endpoint", "", "fcm: another FCM server URL")
	fl.StringVar(&pf.url, "url", "", "webhook: the app's push service URL")
	fl.StringVar(&pf.secret, "secret", envOr("DUET_PUSH_WEBHOOK_SECRET", ""), "webhook: the signing secret, 16+ characters (DUET_PUSH_WEBHOOK_SECRET)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the app's push credentials (secrets redacted)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAdmin(cmd, func(ctx context.Context, c *api.AdminClient, af *adminFlags) error {
				all, err := c.ListPushCredentials(ctx, appKey)
				if err != nil {
					return err
				}
				af.print(all, func() {
					for _, p := range all {
						b, _ := json.Marshal(p.Config)
						fmt.Printf("%s\t%s\n", p.Provider, b)
					}
				})
				return nil
			})
		},
	}
	var delProvider string
	del := &cobra.Command{
		Use:   "delete --provider P",
		Short: "Delete the app's credentials of one provider",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAdmin(cmd, func(ctx context.Context, c *api.AdminClient, _ *adminFlags) error {
				if err := c.DeletePushCredentials(ctx, appKey, delProvider); err != nil {
					return err
				}
				fmt.Printf("deleted %s credentials of %s\n", delProvider, appKey)
				return nil
			})
		},
	}
	del.Flags().StringVar(&delProvider, "provider", "", "apns, fcm or webhook")
	cmd.AddCommand(set, list, del)
	return cmd
}

// document builds the provider's credentials document from the flags and files.
func (pf *pushCredFlags) document() (any, error) {
	switch pf.provider {
	case "apns":
		c := push.APNsConfig{Topic: pf.topic, Sandbox: pf.sandbox, Host: pf.host}
		switch {
		case pf.keyFile != "" && pf.certFile != "":
			return nil, errors.New("--key-file (token auth) and --cert-file (certificate auth) exclude each other")
		case pf.keyFile != "":
			key, err := os.ReadFile(pf.keyFile)
			if err != nil {
				return nil, err
			}
			c.AuthType, c.Key, c.KeyID, c.TeamID = push.APNsTokenAuth, string(key), pf.keyID, pf.teamID
		case pf.certFile != "":
			cert, err := os.ReadFile(pf.certFile)
			if err != nil {
				return nil, err
			}
			c.AuthType, c.Password = push.APNsCertificateAuth, pf.certPassword
			if strings.Contains(string(cert), "-----BEGIN") {
				c.Cert = string(cert)
			} else {
				c.Cert = base64.StdEncoding.EncodeToString(cert)
			}
		default:
			return nil, errors.New("apns needs --key-file with --key-id and --team-id, or --cert-file")
		}
		return c, nil
	case "fcm":
		if pf.serviceAccount == "" {
			return nil, errors.New("fcm needs --service-account")
		}
		sa, err := os.ReadFile(pf.serviceAccount)
		if err != nil {
			return nil, err
		}
		if !json.Valid(sa) {
			return nil, fmt.Errorf("%s is not JSON", pf.serviceAccount)
		}
		return push.FCMConfig{ServiceAccount: sa, Endpoint: pf.endpoint}, nil
	case "webhook":
		return push.WebhookConfig{URL: pf.url, Secret: pf.secret}, nil
	}
	return nil, errors.New("--provider must be apns, fcm or webhook")
}
