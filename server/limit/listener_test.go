package limit

import (
	"bufio"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestListenerBoundsPerAddress(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := NewListener(inner, 2, nil)
	defer l.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func(local string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	dial("127.0.0.1")
	a := <-accepted
	dial("127.0.0.1")
	<-accepted
	// The third from the same address is answered 503 and closed.
	c := dial("127.0.0.1")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(line, "503") {
		t.Fatalf("over the limit: %q, %v", line, err)
	}
	// Another address is not affected.
	dial("127.0.0.2")
	<-accepted
	// An authenticated connection frees its slot.
	a.(*Conn).Authenticated()
	if n := l.Unauthenticated(netip.MustParseAddr("127.0.0.1")); n != 1 {
		t.Fatalf("%d unauthenticated after Authenticated, want 1", n)
	}
	dial("127.0.0.1")
	select {
	case <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("a freed slot was not reused")
	}
	a.Close() // closing after Authenticated does not release twice
	if n := l.Unauthenticated(netip.MustParseAddr("127.0.0.1")); n != 2 {
		t.Fatalf("%d unauthenticated, want 2", n)
	}
}

func TestClientAddr(t *testing.T) {
	p, err := ParseProxies("10.0.0.1, 192.168.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		remote, xff, want string
	}{
		{"1.2.3.4:5", "9.9.9.9", "1.2.3.4"},                        // not a proxy: header ignored
		{"10.0.0.1:5", "9.9.9.9", "9.9.9.9"},                       // a proxy
		{"10.0.0.1:5", "6.6.6.6, 9.9.9.9, 192.168.1.1", "9.9.9.9"}, // forged entry before the real one
		{"10.0.0.1:5", "", "10.0.0.1"},
		{"10.0.0.1:5", "junk", "10.0.0.1"},
	}
	for _, c := range cases {
		r := &http.Request{RemoteAddr: c.remote, Header: http.Header{}}
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := p.ClientAddr(r).String(); got != c.want {
			t.Errorf("ClientAddr(%s, %q) = %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
}
