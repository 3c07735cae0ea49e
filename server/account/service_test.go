package account

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/sqlite"
)

// fastHash keeps tests quick; verifying reads the parameters from each hash anyway.
var fastHash = HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type env struct {
	svc *Service
	st  *sqlite.Store
	clk *clock.Fake
	ctx context.Context
}

func newEnv(t testing.TB) *env {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "duet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(start)
	svc := New(st, clk)
	svc.Hash = fastHash
	return &env{svc: svc, st: st, clk: clk, ctx: context.Background()}
}

func (e *env) app(t testing.TB, org, name, reg string) store.App {
	t.Helper()
	a, err := e.svc.CreateApp(e.ctx, org, name, reg)
	if err != nil {
		t.Fatalf("CreateApp(%s#%s): %v", org, name, err)
	}
	return a
}

func (e *env) users(t testing.TB, app string, names ...string) {
	t.Helper()
	var reqs []NewUser
	for _, n := range names {
		reqs = append(reqs, NewUser{Username: n, Password: "pw-" + n})
	}
	if _, err := e.svc.CreateUsers(e.ctx, app, reqs); err != nil {
		t.Fatalf("CreateUsers(%v): %v", names, err)
	}
}

func (e *env) login(t testing.TB, app, name string) Issued {
	t.Helper()
	iss, err := e.svc.PasswordToken(e.ctx, app, name, "pw-"+name, 0)
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return iss
}

// wantCode fails unless err carries code.
func wantCode(t testing.TB, what string, err error, code protocol.ErrorCode) {
	t.Helper()
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != code {
		t.Errorf("%s: error %v; want code %d", what, err, code)
	}
}
