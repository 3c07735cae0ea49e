package abuse_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/limit"
	"github.com/duet-rtc/duet/server/servertest"
)

// client posts from one local address, so that tests can be several sources on loopback.
type client struct {
	s    *servertest.Server
	http *http.Client
}

func from(s *servertest.Server, src string) *client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: wait}
	return &client{s: s, http: &http.Client{Timeout: wait, Transport: &http.Transport{DialContext: d.DialContext}}}
}

// post sends a JSON body and returns the status, the Retry-After header and the error code.
func (c *client) post(t testing.TB, path, token string, body any) (int, string, protocol.ErrorCode) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, c.s.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	var e struct {
		Code protocol.ErrorCode `json:"code"`
	}
	json.Unmarshal(reply, &e)
	return resp.StatusCode, resp.Header.Get("Retry-After"), e.Code
}

func (c *client) login(t testing.TB, user, password string) (int, string, protocol.ErrorCode) {
	t.Helper()
	return c.post(t, appPath(c.s)+"/token", "", map[string]string{"grant_type": "password", "username": user, "password": password})
}

// guess logs in with a wrong password and reports whether the server tried it (401) rather
// than throttled it (429, with Retry-After and code 912).
func (c *client) guess(t testing.TB, user string) (tried bool, retryAfter time.Duration) {
	t.Helper()
	status, ra, code := c.login(t, user, "wrong")
	switch status {
	case http.StatusUnauthorized:
		return true, 0
	case http.StatusTooManyRequests:
		secs, err := strconv.Atoi(ra)
		if err != nil || secs < 1 || code != protocol.CodeTooManyAttempts {
			t.Fatalf("429 with Retry-After %q and code %d", ra, code)
		}
		return false, time.Duration(secs) * time.Second
	}
	t.Fatalf("guess: HTTP %d", status)
	return false, 0
}

// stuff guesses user's password for d of fake time, each guess as soon as the server
// allows, and returns how many the server tried.
func stuff(t testing.TB, clk *clock.Fake, c *client, user string, d time.Duration) int {
	tried := 0
	for end := clk.Now().Add(d); clk.Now().Before(end); {
		ok, wait := c.guess(t, user)
		if ok {
			tried++
			continue
		}
		clk.Advance(wait)
	}
	return tried
}

func TestCredentialStuffingOneAccount(t *testing.T) {
	clk := clock.NewFake(time.Now())
	s := servertest.Start(t, servertest.WithClock(clk))
	s.AddUser("victim", "right-password")
	attacker := from(s, "127.0.0.2")
	owner := from(s, "127.0.0.4") // the victim's usual address
	if status, _, _ := owner.login(t, "victim", "right-password"); status != http.StatusOK {
		t.Fatalf("the owner's first login: HTTP %d", status)
	}

	// 200 guesses in a row, no waiting: only the free ones are tried.
	tried := 0
	for range 200 {
		if ok, _ := attacker.guess(t, "victim"); ok {
			tried++
		}
	}
	if tried > 5 {
		t.Fatalf("%d of 200 back-to-back guesses were tried", tried)
	}
	// Even the right password waits for the backoff: a guess that happens to be right must
	// not get through.
	if status, _, _ := attacker.login(t, "victim", "right-password"); status != http.StatusTooManyRequests {
		t.Fatalf("the right password during the backoff: HTTP %d", status)
	}

	// An hour of guessing as fast as the server lets.
	hour := stuff(t, clk, attacker, "victim", time.Hour)
	rate := float64(hour) / 3600
	t.Logf("one account, one address: %d guesses in an hour of (fake) time: %.4f guesses/s", hour, rate)
	if rate > 0.05 {
		t.Fatalf("%.3f guesses/s against one account", rate)
	}
	// From many addresses the account's own backoff holds.
	tried = 0
	for i := range 50 {
		if ok, _ := from(s, fmt.Sprintf("127.0.1.%d", i+1)).guess(t, "victim"); ok {
			tried++
		}
	}
	if tried > 1 {
		t.Fatalf("%d guesses from 50 fresh addresses were tried", tried)
	}

	// Meanwhile the owner, on the address it logged in from before, is not locked out.
	if status, _, _ := owner.login(t, "victim", "right-password"); status != http.StatusOK {
		t.Fatalf("the owner during the attack: HTTP %d", status)
	}

	// Not a permanent lockout: once the wait is over, the victim logs in, and that clears
	// the account's record.
	clk.Advance(time.Minute)
	victim := from(s, "127.0.0.3")
	if status, _, _ := victim.login(t, "victim", "right-password"); status != http.StatusOK {
		t.Fatalf("the victim after the wait: HTTP %d", status)
	}
	if ok, _ := victim.guess(t, "victim"); !ok {
		t.Fatal("a typo right after a good login was throttled")
	}
	// Operators see it.
	if _, body := s.Do(http.MethodGet, "/metrics", "", nil); !bytes.Contains(body, []byte(`duet_throttled_total{limit="login_account"}`)) {
		t.Error("/metrics lacks duet_throttled_total{limit=\"login_account\"}")
	}
}

func TestCredentialStuffingManyAccounts(t *testing.T) {
	clk := clock.NewFake(time.Now())
	s := servertest.Start(t, servertest.WithClock(clk))
	const accounts = 35
	for i := range accounts {
		s.AddUser(fmt.Sprintf("user%d", i), "right-password")
	}
	attacker := from(s, "127.0.0.2")
	// One guess per account (under every account's free count): the address's backoff
	// stops it.
	tried := 0
	for i := range accounts {
		if ok, _ := attacker.guess(t, fmt.Sprintf("user%d", i)); ok {
			tried++
		}
	}
	if tried > 30 {
		t.Fatalf("%d guesses over %d accounts from one address were tried", tried, accounts)
	}
	// Spreading over accounts for an hour gains nothing over one account.
	n := 0
	for end := clk.Now().Add(time.Hour); clk.Now().Before(end); {
		ok, wait := attacker.guess(t, fmt.Sprintf("user%d", n%accounts))
		if ok {
			n++
			continue
		}
		clk.Advance(wait)
	}
	t.Logf("many accounts, one address: %d guesses in an hour of (fake) time: %.4f guesses/s", n, float64(n)/3600)
	if rate := float64(n) / 3600; rate > 0.05 {
		t.Fatalf("%.3f guesses/s over many accounts from one address", rate)
	}
	// Another address, and a user who knows the password, are not affected.
	if status, _, _ := from(s, "127.0.0.3").login(t, "user1", "right-password"); status != http.StatusOK {
		t.Fatalf("a user on another address: HTTP %d", status)
	}
}

// TestLoginFlood: 16 parallel wrong passwords for one account hash only the free ones; the
// rest are refused before any work, so that a real user's login on another account stays
// fast.
func TestLoginFlood(t *testing.T) {
	s := servertest.Start(t)
	s.AddUser("victim", "right-password")
	s.AddUser("alice", "secret-1")
	attacker := from(s, "127.0.0.2")
	var mu sync.Mutex
	tried := 0
	var wg sync.WaitGroup
	flooding := time.Now()
	for range 16 {
		wg.Go(func() {
			for range 10 {
				if ok, _ := attacker.guess(t, "victim"); ok {
					mu.Lock()
					tried++
					mu.Unlock()
				}
			}
		})
	}
	start := time.Now()
	login(t, s, "alice", "secret-1")
	took := time.Since(start)
	wg.Wait()
	flood := time.Since(flooding)
	t.Logf("a real login during a 16-way flood took %v; %d of 160 guesses were tried in %v", took, tried, flood)
	// 5 free, then one after 1 s, 2 s more, 4 s more...: what the flood's length allows.
	if allowed := 5 + 1 + int(math.Log2(flood.Seconds()+1)); tried > allowed {
		t.Fatalf("%d of 160 parallel guesses were tried in %v, more than %d", tried, flood, allowed)
	}
}

func TestRegistrationCost(t *testing.T) {
	clk := clock.NewFake(time.Now())
	s := servertest.Start(t, servertest.WithClock(clk))
	c := from(s, "127.0.0.2")
	batch := func(n, from int) []map[string]string {
		var b []map[string]string
		for i := range n {
			b = append(b, map[string]string{"username": fmt.Sprintf("u%d", from+i), "password": "pw"})
		}
		return b
	}
	// A batch of 60 without the app token is refused before any hashing.
	if status, _, _ := c.post(t, appPath(s)+"/users", "", batch(60, 0)); status != http.StatusBadRequest {
		t.Fatalf("60 users without the app token: HTTP %d", status)
	}
	// 30 at once, then one every 10 s.
	for i := range 3 {
		if status, _, _ := c.post(t, appPath(s)+"/users", "", batch(10, 10*i)); status != http.StatusOK {
			t.Fatalf("batch %d: HTTP %d", i, status)
		}
	}
	status, ra, code := c.post(t, appPath(s)+"/users", "", batch(1, 100))
	if status != http.StatusTooManyRequests || ra != "10" || code != protocol.CodeTooManyAttempts {
		t.Fatalf("registration over the bound: HTTP %d, Retry-After %q, code %d", status, ra, code)
	}
	clk.Advance(10 * time.Second)
	if status, _, _ := c.post(t, appPath(s)+"/users", "", batch(1, 100)); status != http.StatusOK {
		t.Fatalf("after Retry-After: HTTP %d", status)
	}
	// Another address is not affected.
	if status, _, _ := from(s, "127.0.0.3").post(t, appPath(s)+"/users", "", batch(1, 200)); status != http.StatusOK {
		t.Fatalf("another address: HTTP %d", status)
	}
}

// TestThrottleBehindProxy: behind a trusted proxy the per-address backoff follows the
// client address in X-Forwarded-For, so that one guesser does not throttle everyone else
// who comes through the same proxy.
func TestThrottleBehindProxy(t *testing.T) {
	clk := clock.NewFake(time.Now())
	s := servertest.Start(t, servertest.WithClock(clk), func(c *server.Config) {
		c.TrustedProxies, _ = limit.ParseProxies("127.0.0.1")
	})
	for i := range 40 {
		s.AddUser(fmt.Sprintf("user%d", i), "right-password")
	}
	guessVia := func(client, user, password string) int {
		b, _ := json.Marshal(map[string]string{"grant_type": "password", "username": user, "password": password})
		req, _ := http.NewRequest(http.MethodPost, s.URL+appPath(s)+"/token", bytes.NewReader(b))
		req.Header.Set("X-Forwarded-For", client)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	throttled := false
	for i := range 40 {
		if guessVia("203.0.113.7", fmt.Sprintf("user%d", i), "wrong") == http.StatusTooManyRequests {
			throttled = true
		}
	}
	if !throttled {
		t.Fatal("40 failed logins over 40 accounts from one client behind the proxy were never throttled")
	}
	if status := guessVia("198.51.100.9", "user1", "right-password"); status != http.StatusOK {
		t.Fatalf("another client behind the same proxy: HTTP %d", status)
	}
}
