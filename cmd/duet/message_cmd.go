package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/duet-rtc/duet"
)

// userFlags log a user in, as `duet call` does.
type userFlags struct {
	server, appKey, user, password, device string
	register                               bool
}

func (f *userFlags) registerFlags(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.server, "server", envOr("DUET_SERVER", "http://127.0.0.1:8080"), "server URL (DUET_SERVER)")
	pf.StringVar(&f.appKey, "appkey", envOr("DUET_APPKEY", "demo#duet"), "app key org#app (DUET_APPKEY)")
	pf.StringVar(&f.user, "user", envOr("DUET_USER", ""), "username (DUET_USER)")
	pf.StringVar(&f.password, "password", envOr("DUET_PASSWORD", ""), "password (DUET_PASSWORD)")
	pf.StringVar(&f.device, "device", "", "device id (default: random; push tokens and message cursors belong to a device)")
	pf.BoolVar(&f.register, "register", false, "register the user first if it does not exist (open-registration apps)")
}

// login returns a logged-in client; before runs between NewClient and Login (delegates that
// must see what arrives at connect).
func (f *userFlags) login(ctx context.Context, before func(*duet.Client)) (*duet.Client, error) {
	if f.user == "" || f.password == "" {
		return nil, errors.New("--user and --password are required")
	}
	c, err := duet.NewClient(duet.Options{AppKey: f.appKey, ServerURL: f.server, DeviceID: f.device})
	if err != nil {
		return nil, err
	}
	if f.register {
		if err := c.Register(ctx, f.user, f.password); err != nil && duet.ErrorCodeOf(err) != duet.ErrorUserAlreadyExist {
			c.Close()
			return nil, fmt.Errorf("register: %w", err)
		}
	}
	if before != nil {
		before(c)
	}
	if err := c.Login(ctx, f.user, f.password); err != nil {
		c.Close()
		return nil, fmt.Errorf("login: %w", err)
	}
	return c, nil
}

// messageLine is one JSON line of `duet message send` and `duet message listen`.
type messageLine struct {
	ID   string         `json:"id"`
	From string         `json:"from"`
	To   string         `json:"to"`
	Text string         `json:"text"`
	Ext  map[string]any `json:"ext,omitempty"`
	Time int64          `json:"time"` // unix milliseconds, when the server stored it
}

func lineOf(m duet.Message) messageLine {
	return messageLine{ID: m.ID, From: m.From, To: m.To, Text: m.Text, Ext: m.Ext, Time: m.Time.UnixMilli()}
}

func printJSONLine(v any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

// printMessage prints one message: a JSON line with --json, else a line for people.
func printMessage(m duet.Message, jsonOut bool) {
	if jsonOut {
		printJSONLine(lineOf(m))
		return
	}
	fmt.Printf("%s  %s → %s: %s\n", m.Time.UTC().Format(time.RFC3339), m.From, m.To, m.Text)
}

func messageCommand() *cobra.Command {
	var f userFlags
	var jsonOut bool
	cmd := &cobra.Command{Use: "message", Short: "Send and receive text messages as a user"}
	f.registerFlags(cmd)
	cmd.PersistentFlags().BoolVar(&jsonOut, "json", false, "print each message as a JSON line {id, from, to, text, ext, time}")

	var to, ext string
	send := &cobra.Command{
		Use:   "send --to USER TEXT",
		Short: "Send a text message; prints it as stored",
		Example: `  duet message send --user alice --password pw --to bob "call me"
  duet message send --user alice --password pw --to bob "ring" --ext '{"em_apns_ext":{"em_push_title":"Incoming call","em_push_sound":"ring.caf"}}'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return errors.New("--to is required")
			}
			var extMap map[string]any
			if ext != "" {
				if err := json.Unmarshal([]byte(ext), &extMap); err != nil {
					return fmt.Errorf("--ext must be a JSON object: %w", err)
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			c, err := f.login(ctx, nil)
			if err != nil {
				return err
			}
			defer c.Close()
			m, err := c.ChatManager().SendMessage(ctx, to, args[0], extMap)
			if err != nil {
				return err
			}
			printMessage(m, jsonOut)
			return nil
		},
	}
	send.Flags().StringVar(&to, "to", "", "recipient username")
	send.Flags().StringVar(&ext, "ext", "", "extension, a JSON object (e.g. the seed's em_apns_ext push keys)")

	var count int
	var timeout time.Duration
	listen := &cobra.Command{
		Use:   "listen",
		Short: "Print received text messages until interrupted",
		Long: `Logs in and prints every text message this device receives, one line each (--json: a JSON line), including
the messages kept for it while it was offline. With a stable --device a new run resumes where
the last one stopped; a new device id receives every message the server still keeps.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			p := &messagePrinter{done: make(chan struct{}), want: count, json: jsonOut}
			lctx, lcancel := context.WithTimeout(ctx, 30*time.Second)
			c, err := f.login(lctx, func(c *duet.Client) { c.ChatManager().AddDelegate(p, nil) })
			lcancel()
			if err != nil {
				return err
			}
			defer c.Close()
			select {
			case <-p.done:
			case <-ctx.Done():
				if count > 0 && timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return &exitError{code: 5, err: fmt.Errorf("%d of %d messages within --timeout %v", p.printed(), count, timeout)}
				}
			}
			return nil
		},
	}
	listen.Flags().IntVar(&count, "count", 0, "exit after this many messages (0: run until interrupted)")
	listen.Flags().DurationVar(&timeout, "timeout", 0, "exit after this long (0: no limit); with --count, fewer messages is an error")
	cmd.AddCommand(send, listen)
	return cmd
}

// messagePrinter prints messages as they arrive, on the SDK's delegate queue.
type messagePrinter struct {
	want int
	json bool
	n    atomic.Int64
	done chan struct{}
}

func (p *messagePrinter) MessagesDidReceive(ms []duet.Message) {
	for _, m := range ms {
		if p.want > 0 && p.n.Load() >= int64(p.want) {
			return
		}
		printMessage(m, p.json)
		if n := p.n.Add(1); p.want > 0 && n == int64(p.want) {
			close(p.done)
		}
	}
}

func (p *messagePrinter) printed() int64 { return p.n.Load() }
