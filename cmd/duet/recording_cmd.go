package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/server/api"
)

// recordingFlags locate the server and an app token: --token, or one issued through the
// admin API (admin token from --admin-token or the data folder).
type recordingFlags struct {
	adminFlags
	appKey, appToken string
}

func (f *recordingFlags) client() (*api.RecordingClient, error) {
	tok := f.appToken
	if tok == "" {
		admin, err := f.adminFlags.client()
		if err != nil {
			return nil, fmt.Errorf("give --token (an app token) or an admin token: %w", err)
		}
		ctx, cancel := ctx10()
		defer cancel()
		resp, err := admin.AppToken(ctx, f.appKey, time.Hour)
		if err != nil {
			return nil, fmt.Errorf("app token: %w", err)
		}
		tok = resp.AccessToken
	}
	return &api.RecordingClient{BaseURL: strings.TrimRight(f.server, "/"), AppKey: f.appKey, Token: tok}, nil
}

func recordingCommand() *cobra.Command {
	var f recordingFlags
	cmd := &cobra.Command{Use: "recording", Short: "List, inspect, download and delete call recordings (REST, app token)"}
	f.register(cmd)
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.appKey, "appkey", envOr("DUET_APPKEY", "demo#duet"), "app key org#app (DUET_APPKEY)")
	pf.StringVar(&f.appToken, "token", envOr("DUET_APP_TOKEN", ""), "app token (DUET_APP_TOKEN; default: issue one with the admin token)")

	var q api.RecordingQuery
	var since, until string
	var all bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List recordings, newest first: by --server-video-id, --type, time range",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			var err error
			if q.Since, err = parseWhen(since); err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			if q.Until, err = parseWhen(until); err != nil {
				return fmt.Errorf("--until: %w", err)
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			var out []api.Recording
			for {
				ctx, cancel := ctx10()
				page, next, err := c.List(ctx, q)
				cancel()
				if err != nil {
					return err
				}
				out = append(out, page...)
				if !all || next == "" {
					if !all && next != "" && !f.jsonOut {
						defer fmt.Printf("more: --cursor %s\n", next)
					}
					break
				}
				q.Cursor = next
			}
			f.print(out, func() {
				for _, r := range out {
					printRecording(r)
				}
			})
			return nil
		},
	}
	lf := list.Flags()
	lf.StringVar(&q.ServerVideoID, "server-video-id", "", "the call's serverVideoId")
	lf.StringVar(&q.Type, "type", "", "ONLY_REC_ONE_AV (per party) or MERGE_ALL")
	lf.StringVar(&since, "since", "", "began at or after: RFC 3339 or unix milliseconds")
	lf.StringVar(&until, "until", "", "began before: RFC 3339 or unix milliseconds")
	lf.IntVar(&q.Limit, "limit", 20, "page size, 1-100")
	lf.StringVar(&q.Cursor, "cursor", "", "the next page's cursor, from a previous list")
	lf.BoolVar(&all, "all", false, "follow cursors to the last page")

	get := &cobra.Command{
		Use:   "get ID",
		Short: "Show one recording",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return withClient(f.client, func(ctx context.Context, c *api.RecordingClient) error {
				r, err := c.Get(ctx, args[0])
				if err != nil {
					return err
				}
				f.print(r, func() { printRecording(r) })
				return nil
			})
		},
	}

	var output string
	var resume, force bool
	download := &cobra.Command{
		Use:   "download ID",
		Short: "Download a recording's WebM file (--resume continues a partial file with a Range request)",
		Long: `Downloads a recording's WebM file, to ID.webm unless -o says otherwise (- for standard
output). An existing file is kept unless --force (replace it) or --resume (append the rest
of a partial download) is given. On a terminal a line shows the progress.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			path := output
			if path == "" {
				path = args[0] + ".webm"
			}
			var w io.Writer
			var offset int64
			if path == "-" {
				w = os.Stdout
			} else {
				flags := os.O_CREATE | os.O_WRONLY | os.O_EXCL
				switch {
				case resume:
					flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
				case force:
					flags = os.O_CREATE | os.O_WRONLY | os.O_TRUNC
				}
				file, err := os.OpenFile(path, flags, 0o600)
				if errors.Is(err, os.ErrExist) {
					return fmt.Errorf("%s exists: --force replaces it, --resume continues it", path)
				}
				if err != nil {
					return err
				}
				defer file.Close()
				if resume {
					st, err := file.Stat()
					if err != nil {
						return err
					}
					offset = st.Size()
				}
				w = file
			}
			var total int64
			if path != "-" && isTerminal(os.Stderr) {
				ctx, cancel := ctx10()
				if r, err := c.Get(ctx, args[0]); err == nil {
					total = r.Size
				}
				cancel()
			}
			pw := newProgress(w, os.Stderr, path, offset, total)
			if path == "-" {
				pw.tty = false // the file is the output
			}
			n, err := c.Download(cmd.Context(), args[0], offset, pw)
			pw.Done()
			if err != nil {
				return err
			}
			if path != "-" {
				f.print(map[string]any{"id": args[0], "file": path, "bytes": n, "offset": offset},
					func() { fmt.Fprintf(os.Stderr, "%s: %d bytes written\n", path, n) })
			}
			return nil
		},
	}
	download.Flags().StringVarP(&output, "output", "o", "", "file to write (default ID.webm; - for standard output)")
	download.Flags().BoolVar(&resume, "resume", false, "append to an existing partial file, fetching only the rest")
	download.Flags().BoolVar(&force, "force", false, "replace an existing file")

	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a recording and its file",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return withClient(f.client, func(ctx context.Context, c *api.RecordingClient) error {
				if err := c.Delete(ctx, args[0]); err != nil {
					return err
				}
				f.print(map[string]string{"deleted": args[0]}, func() { fmt.Println("deleted", args[0]) })
				return nil
			})
		},
	}
	cmd.AddCommand(list, get, download, del)
	return cmd
}

func printRecording(r api.Recording) {
	fmt.Printf("%s  %-15s %-17s owner=%s call=%s serverVideoId=%s begin=%s duration=%.1fs size=%d",
		r.ID, r.RecordType, r.Status, r.Owner, r.CallID, r.ServerVideoID,
		time.UnixMilli(r.Begin).UTC().Format(time.RFC3339), float64(r.Duration)/1000, r.Size)
	if r.Width > 0 {
		fmt.Printf(" %dx%d", r.Width, r.Height)
	}
	if r.Detail != "" {
		fmt.Printf(" (%s)", r.Detail)
	}
	fmt.Println()
}

// parseWhen reads RFC 3339 or unix milliseconds; "" is the zero time.
func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(n), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("want RFC 3339 (2026-01-02T15:04:05Z) or unix milliseconds")
	}
	return t, nil
}

// recordOptions turns `duet call --record [--merge]` into StartCall options.
func recordOptions(record, merge bool) []duet.StartCallOption {
	if !record {
		return nil
	}
	return []duet.StartCallOption{duet.WithRecord(merge)}
}
