// Package storeurl opens the store that a URL names, so that the server and the CLI take
// one --store setting: "" (the embedded SQLite database in the data folder),
// "sqlite:PATH", or a postgres:// (postgresql://) URL.
package storeurl

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/postgres"
	"github.com/duet-rtc/duet/server/store/sqlite"
)

// Open opens the store spec names: "" is SQLite at dataDir/duet.db (the folder is made if
// missing), "sqlite:PATH" that SQLite file, and "postgres://..." or "postgresql://..." a
// PostgreSQL database, which must answer. Errors never contain the URL's password.
func Open(ctx context.Context, spec, dataDir string) (store.Backend, error) {
	switch {
	case spec == "":
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data folder: %w", err)
		}
		return sqlite.Open(filepath.Join(dataDir, "duet.db")) //nolint:contextcheck // SQLite opens a local file, bounded by its busy timeout
	case strings.HasPrefix(spec, "sqlite:"):
		path := strings.TrimPrefix(spec, "sqlite:")
		if path == "" {
			return nil, errors.New(`store "sqlite:" names no file: use sqlite:PATH`)
		}
		return sqlite.Open(path) //nolint:contextcheck // SQLite opens a local file, bounded by its busy timeout
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		s, err := postgres.Open(ctx, spec)
		if err != nil {
			return nil, redacted(err, spec)
		}
		return s, nil
	}
	return nil, fmt.Errorf("store %q: not sqlite:PATH, postgres:// or postgresql://", Redact(spec))
}

// Redact returns spec with the password of a URL replaced by "xxxxx".
func Redact(spec string) string {
	u, err := url.Parse(spec)
	if err != nil || u.User == nil {
		if i := strings.Index(spec, "://"); i >= 0 && strings.Contains(spec[i:], "@") {
			return spec[:i+3] + "xxxxx@..." // not parseable: show no credentials at all
		}
		return spec
	}
	return u.Redacted()
}

// redacted makes sure err's text does not contain the password of spec (pgx keeps it out
// of its messages; this holds whatever a dependency does).
func redacted(err error, spec string) error {
	u, perr := url.Parse(spec)
	if perr != nil || u.User == nil {
		return err
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return &redactedError{err: err, pw: pw}
}

// redactedError is err with every occurrence of a password masked in its text; errors.Is
// and As still see err.
type redactedError struct {
	err error
	pw  string
}

func (e *redactedError) Error() string { return strings.ReplaceAll(e.err.Error(), e.pw, "xxxxx") }
func (e *redactedError) Unwrap() error { return e.err }
