package udpbatch

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"
)

func listen(t *testing.T, network, ip string) *Conn {
	t.Helper()
	uc, err := net.ListenUDP(network, &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	_ = uc.SetReadBuffer(4 << 20)
	_ = uc.SetWriteBuffer(4 << 20)
	c := New(uc)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestRoundTrip sends datagrams from concurrent writers and checks that every one arrives
// whole, once, in each writer's order, from the sender's address, and that on Linux they
// moved in batches.
func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct{ network, ip string }{{"udp4", "127.0.0.1"}, {"udp6", "::1"}} {
		t.Run(tc.network, func(t *testing.T) {
			a, z := listen(t, tc.network, tc.ip), listen(t, tc.network, tc.ip)
			to := z.LocalAddr().(*net.UDPAddr).AddrPort()
			const writers, each = 8, 250
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					b := make([]byte, 160)
					for i := range each {
						binary.BigEndian.PutUint32(b, uint32(w*each+i))
						b[len(b)-1] = byte(i)
						if _, err := a.WriteToAddrPort(b, to); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			seen := make(map[uint32]bool)
			next := make([]int, writers) // each writer's next datagram: order is kept
			buf := make([]byte, 2048)
			_ = z.SetReadDeadline(time.Now().Add(5 * time.Second))
			for len(seen) < writers*each {
				n, from, err := z.ReadFromAddrPort(buf)
				if err != nil {
					t.Fatalf("after %d datagrams: %v", len(seen), err)
				}
				id := binary.BigEndian.Uint32(buf)
				if n != 160 || buf[n-1] != byte(id%each) || seen[id] {
					t.Fatalf("datagram %d: %d bytes, last byte %d, seen before %v", id, n, buf[n-1], seen[id])
				}
				if want := a.LocalAddr().(*net.UDPAddr).AddrPort(); from != want {
					t.Fatalf("from %v, want %v", from, want)
				}
				if w, i := int(id)/each, int(id)%each; i != next[w] {
					t.Fatalf("writer %d: datagram %d arrived when %d was due", w, i, next[w])
				}
				next[int(id)/each]++
				seen[id] = true
			}
			if !batching {
				return
			}
			rs, ws := z.Stats(), a.Stats()
			if rs.Read != writers*each || rs.ReadBatches >= rs.Read {
				t.Errorf("read %d datagrams in %d batches: want %d in fewer", rs.Read, rs.ReadBatches, writers*each)
			}
			if ws.Written != writers*each || ws.WriteBatches >= ws.Written {
				t.Errorf("wrote %d datagrams in %d batches", ws.Written, ws.WriteBatches)
			}
			t.Logf("read %d in %d batches; wrote %d in %d batches", rs.Read, rs.ReadBatches, ws.Written, ws.WriteBatches)
		})
	}
}

// TestPacketConn checks the net.PacketConn side: ReadFrom and WriteTo with net.Addr, the
// read deadline, and Close ending a blocked read.
func TestPacketConn(t *testing.T) {
	a, z := listen(t, "udp4", "127.0.0.1"), listen(t, "udp4", "127.0.0.1")
	if _, err := a.WriteTo([]byte("hello"), z.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, from, err := z.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "hello" || from.String() != a.LocalAddr().String() {
		t.Fatalf("ReadFrom: %q from %v, %v", buf[:n], from, err)
	}

	_ = z.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, _, err := z.ReadFrom(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v", err)
	}
	_ = z.SetReadDeadline(time.Time{})

	done := make(chan error)
	go func() { _, _, err := z.ReadFrom(buf); done <- err }()
	time.Sleep(20 * time.Millisecond)
	z.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a blocked read")
	}
}

// TestDualStack: a wildcard socket (IPv6, taking IPv4 too on Linux) batches to and from an
// IPv4 peer, whose address it reports IPv4-mapped, as net.UDPConn does.
func TestDualStack(t *testing.T) {
	uc, err := net.ListenUDP("udp", &net.UDPAddr{})
	if err != nil {
		t.Skip(err)
	}
	w := New(uc)
	defer w.Close()
	v4 := listen(t, "udp4", "127.0.0.1")
	port := w.LocalAddr().(*net.UDPAddr).Port
	if _, err := v4.WriteTo([]byte("ping"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = w.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := w.ReadFromAddrPort(buf)
	if err != nil || string(buf[:n]) != "ping" || from.Addr().Unmap() != v4.LocalAddr().(*net.UDPAddr).AddrPort().Addr() {
		t.Fatalf("read %q from %v: %v", buf[:n], from, err)
	}
	unmapped := netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	for _, to := range []netip.AddrPort{from, unmapped} {
		if _, err := w.WriteToAddrPort([]byte("pong"), to); err != nil {
			t.Fatal(err)
		}
		_ = v4.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, _, err := v4.ReadFromAddrPort(buf); err != nil || string(buf[:n]) != "pong" {
			t.Fatalf("reply to %v: %q, %v", to, buf[:n], err)
		}
	}
}

// TestQueueFlush queues more datagrams than one batch holds, flushes once, and reads them
// back in order; Buffered counts what the last read batch still holds.
func TestQueueFlush(t *testing.T) {
	a, z := listen(t, "udp4", "127.0.0.1"), listen(t, "udp4", "127.0.0.1")
	to := z.LocalAddr().(*net.UDPAddr).AddrPort()
	const count = writeBatch + 10
	b := make([]byte, 100)
	for i := range count {
		binary.BigEndian.PutUint32(b, uint32(i))
		if err := a.QueueToAddrPort(b, to); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	_ = z.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := range count {
		n, _, err := z.ReadFromAddrPort(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if got := binary.BigEndian.Uint32(buf[:n]); got != uint32(i) {
			t.Fatalf("datagram %d carries %d", i, got)
		}
		if batching && i == 0 && z.Buffered() == 0 {
			t.Fatal("Buffered is 0 right after the first datagram of a full batch")
		}
	}
	if z.Buffered() != 0 {
		t.Fatalf("Buffered = %d after reading everything", z.Buffered())
	}
}
