package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/duet-rtc/duet/server/store"
)

// writers is how many goroutines race in the concurrency cases.
const writers = 8

// testConcurrentCreateUsers races writers creating the same username (in different case):
// exactly one wins, every other gets ErrDuplicate.
func testConcurrentCreateUsers(t *testing.T, s store.Backend) {
	ctx := context.Background()
	app := CreateApp(t, s, "org#app").Key
	errs := make([]error, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range writers {
		wg.Go(func() {
			u := User(app, "alice")
			if i%2 == 1 {
				u.Username = "ALICE"
			}
			u.UUID = fmt.Sprintf("uuid-%d", i)
			<-start
			errs[i] = s.CreateUsers(ctx, []store.User{u})
		})
	}
	close(start)
	wg.Wait()
	ok, dup := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrDuplicate):
			dup++
		default:
			t.Errorf("CreateUsers: %v", err)
		}
	}
	if ok != 1 || dup != writers-1 {
		t.Fatalf("%d created, %d ErrDuplicate; want 1 and %d", ok, dup, writers-1)
	}
}

// testConcurrentAddMessage races senders to one recipient: every message gets its own
// seq, and together they are 1..n with none lost.
func testConcurrentAddMessage(t *testing.T, s store.Backend) {
	ctx := context.Background()
	app := CreateApp(t, s, "org#app").Key
	users := []store.User{User(app, "bob")}
	for i := range writers {
		users = append(users, User(app, fmt.Sprintf("sender%d", i)))
	}
	if err := s.CreateUsers(ctx, users); err != nil {
		t.Fatal(err)
	}
	const each = 10
	seqs := make(chan int64, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				m, dup, err := s.AddMessage(ctx, msg(app, fmt.Sprintf("m%d", i), fmt.Sprintf("sender%d", w), "bob", "hi"))
				if err != nil || dup {
					t.Errorf("AddMessage = dup %v, %v", dup, err)
					return
				}
				seqs <- m.Seq
			}
		})
	}
	wg.Wait()
	close(seqs)
	var got []int64
	for q := range seqs {
		got = append(got, q)
	}
	slices.Sort(got)
	for i, q := range got {
		if q != int64(i+1) {
			t.Fatalf("seqs = %v; want 1..%d, each once", got, writers*each)
		}
	}
	if len(got) != writers*each {
		t.Fatalf("%d messages stored; want %d", len(got), writers*each)
	}
	stored, err := s.Messages(ctx, app, "bob", 0, 1000)
	if err != nil || len(stored) != writers*each {
		t.Fatalf("Messages = %d, %v", len(stored), err)
	}
}

// testConcurrentResend races sends of one message id (a client's retry and its original):
// one message is stored, and every send returns it, all but one as a duplicate.
func testConcurrentResend(t *testing.T, s store.Backend) {
	ctx := context.Background()
	app := CreateApp(t, s, "org#app").Key
	if err := s.CreateUsers(ctx, []store.User{User(app, "alice"), User(app, "bob")}); err != nil {
		t.Fatal(err)
	}
	type result struct {
		m   store.Message
		dup bool
		err error
	}
	results := make([]result, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range writers {
		wg.Go(func() {
			<-start
			m, dup, err := s.AddMessage(ctx, msg(app, "same", "alice", "bob", "hello"))
			results[i] = result{m, dup, err}
		})
	}
	close(start)
	wg.Wait()
	fresh := 0
	for _, r := range results {
		if r.err != nil || r.m.Seq != 1 {
			t.Fatalf("AddMessage = seq %d, %v", r.m.Seq, r.err)
		}
		if !r.dup {
			fresh++
		}
	}
	if fresh != 1 {
		t.Fatalf("%d sends stored the message; want 1", fresh)
	}
	if _, last, err := s.DeliveryState(ctx, app, "bob", "d"); err != nil || last != 1 {
		t.Fatalf("last seq = %d, %v; want 1", last, err)
	}
}
