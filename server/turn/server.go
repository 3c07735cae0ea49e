package turn

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	pionturn "github.com/pion/turn/v5"

	"github.com/duet-rtc/duet/protocol"
)

// Server is a running TURN server.
type Server struct {
	cfg    Config
	creds  *Credentials
	log    *slog.Logger
	pion   *pionturn.Server
	relays *relays
	udp    []*udpListener
	tcp    *tcpListener
	urls   []string
	stats  *metrics

	readers   sync.WaitGroup // listener read loops and TCP connection readers
	closeOnce sync.Once
	closeErr  error
}

// closeWait bounds how long Close waits for pion's goroutines to see their sockets closed.
const closeWait = 5 * time.Second

// New starts a TURN server on cfg.Addr.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:    cfg,
		creds:  NewCredentials(cfg.Secret, cfg.CredentialTTL, cfg.Clock),
		log:    cfg.Logger.With("component", "turn"),
		relays: newRelays(cfg),
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	if !cfg.PlainRelays {
		if s.relays.fast, err = newFastPath(cfg.RelayIP, s.udp); err != nil {
			s.closeSockets()
			return nil, fmt.Errorf("turn: fast path: %w", err)
		}
	}
	pc := make([]pionturn.PacketConnConfig, 0, len(s.udp))
	for _, l := range s.udp {
		pc = append(pc, pionturn.PacketConnConfig{
			PacketConn: l, RelayAddressGenerator: s.relays, PermissionHandler: s.relays.permits,
		})
	}
	var lc []pionturn.ListenerConfig
	if s.tcp != nil {
		lc = append(lc, pionturn.ListenerConfig{
			Listener: s.tcp, RelayAddressGenerator: s.relays, PermissionHandler: s.relays.permits,
		})
	}
	s.stats = newMetrics(s)
	s.pion, err = pionturn.NewServer(pionturn.ServerConfig{
		PacketConnConfigs: pc,
		ListenerConfigs:   lc,
		LoggerFactory:     pionLoggers{s.log},
		Realm:             cfg.Realm,
		AuthHandler:       s.auth,
		QuotaHandler:      func(user, _ string, _ net.Addr) bool { return s.relays.underQuota(user) },
		EventHandler:      s.stats.events(),
	})
	if err != nil {
		s.stopFastPath()
		s.closeSockets()
		return nil, fmt.Errorf("turn: %w", err)
	}
	if cfg.Metrics != nil {
		if err := cfg.Metrics.Register(s.stats); err != nil {
			s.Close()
			return nil, fmt.Errorf("turn: metrics: %w", err)
		}
	}
	host := net.JoinHostPort(cfg.PublicIP.String(), strconv.Itoa(s.Port()))
	s.urls = []string{"turn:" + host + "?transport=udp"}
	if s.tcp != nil {
		s.urls = append(s.urls, "turn:"+host+"?transport=tcp")
	}
	s.log.Info("turn: listening", "addr", s.udp[0].LocalAddr().String(), "udpListeners", len(s.udp), "fastPath", s.relays.fast != nil,
		"tcp", s.tcp != nil, "relayIP", cfg.RelayIP.String(), "publicIP", cfg.PublicIP.String())
	return s, nil
}

// listen opens the UDP sockets and the TCP listener on one port. With port 0 the TCP port
// may be taken although the UDP one was free: then it tries another few.
func (s *Server) listen() error {
	_, port, _ := net.SplitHostPort(s.cfg.Addr)
	tries := 1
	if port == "0" {
		tries = 8
	}
	var err error
	for range tries {
		if s.udp, err = listenUDP(s.cfg.Addr, s.cfg.UDPListeners, s.cfg.SocketBuffer); err != nil {
			return err
		}
		for _, l := range s.udp {
			s.readers.Add(1)
			l.done = s.readers.Done
		}
		if s.cfg.NoTCP {
			return nil
		}
		if s.tcp, err = listenTCP(s.udp[0].LocalAddr().String(), s.cfg.TCPIdleTimeout, &s.readers); err == nil {
			return nil
		}
		s.closeSockets()
		s.readers = sync.WaitGroup{}
	}
	return err
}

// closeSockets closes the listeners when pion never took them over.
func (s *Server) closeSockets() {
	for _, l := range s.udp {
		l.UDPConn.Close()
	}
	s.udp = nil
	if s.tcp != nil {
		s.tcp.Close()
		s.tcp = nil
	}
}

// auth is pion's AuthHandler: it accepts a live credential of this server and returns the
// key pion checks the request's message integrity with, so a request signed with any other
// password (another user's, a forged one) fails there.
func (s *Server) auth(ra *pionturn.RequestAttributes) (string, []byte, bool) {
	id, err := s.creds.Check(ra.Username)
	if err != nil {
		s.log.Debug("turn: credential refused", "from", ra.SrcAddr, "err", err)
		return "", nil, false
	}
	return id.UserID(), pionturn.GenerateAuthKey(ra.Username, ra.Realm, s.creds.Password(ra.Username)), true
}

// ICEServers returns the TURN server for one party of a call: the turn: URLs (UDP, and TCP
// unless it is off) with a credential for user of app in callID. It is what
// callflow.Config.ICEServers hands to each party.
func (s *Server) ICEServers(app, user, callID string) []protocol.ICEServer {
	name, password, _ := s.creds.Issue(app, user, callID)
	return []protocol.ICEServer{{URLs: append([]string(nil), s.urls...), Username: name, Credential: password}}
}

// Credentials returns the server's credential issuer.
func (s *Server) Credentials() *Credentials { return s.creds }

// URLs returns the turn: URLs clients are given.
func (s *Server) URLs() []string { return append([]string(nil), s.urls...) }

// Port is the port the server listens on (UDP and TCP).
func (s *Server) Port() int { return s.udp[0].LocalAddr().(*net.UDPAddr).Port }

// UDPListeners is how many UDP sockets share the port.
func (s *Server) UDPListeners() int { return len(s.udp) }

// Allocations returns the number of live allocations.
func (s *Server) Allocations() int { return s.pion.AllocationCount() }

// UserAllocations returns the number of live allocations of user in app.
func (s *Server) UserAllocations(app, user string) int {
	return s.relays.count(Identity{App: app, User: user}.UserID())
}

// Close stops the server: it closes the listeners, every client connection and every relay,
// and waits until pion's goroutines have seen them closed.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.relays.stop()
		err := s.pion.Close() // closes the listeners; pion then closes its allocations
		// pion closes the allocations of a listener after that listener's read loop ends,
		// in a goroutine of its own: wait for the read loops, then for the relays' readers.
		if !wait(&s.readers, closeWait) {
			err = errors.Join(err, errors.New("turn: listener readers did not stop"))
		}
		if !wait(&s.relays.readers, closeWait) {
			s.relays.closeAll()
			if !wait(&s.relays.readers, closeWait) {
				err = errors.Join(err, errors.New("turn: relay readers did not stop"))
			}
		}
		// pion forgets an allocation just after its reader returned: the last step.
		for deadline := time.Now().Add(closeWait); s.pion.AllocationCount() > 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		s.stopFastPath()
		if s.cfg.Metrics != nil {
			s.cfg.Metrics.Unregister(s.stats)
		}
		s.closeErr = err
	})
	return s.closeErr
}

func (s *Server) stopFastPath() {
	if s.relays.fast != nil {
		s.relays.fast.stop()
	}
}

// wait waits for wg at most d and reports whether it finished.
func wait(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}
