package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/account"
	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/cors"
	"github.com/duet-rtc/duet/server/quality"
	"github.com/duet-rtc/duet/server/signal"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/sqlite"
	"github.com/duet-rtc/duet/server/turn"
	"github.com/duet-rtc/duet/web"
)

// Server is one duet node.
type Server struct {
	cfg        Config
	store      store.Backend
	ownStore   bool // opened by New, so closed by Shutdown
	accounts   *account.Service
	hub        *signal.Hub
	calls      *callflow.Engine // nil on a node of a cluster (see cluster)
	steps      *stepCommitter   // makes the call flow's steps durable, then delivers them
	cluster    *clusterCalls    // nil unless Config.Cluster is set
	msg        *messaging
	observer   *callObserver // call logs and metrics, from stored steps
	quality    *quality.Service
	turn       *turn.Server // nil when TURN is off
	media      *mediaParts  // recorded calls: relay, recordings, gateway
	registry   *prometheus.Registry
	mux        *http.ServeMux
	httpServer *http.Server
	adminToken string
	demoApp    store.App
	demoNew    bool
}

// New opens the data folder and assembles a server. It does not serve HTTP yet; the TURN
// server, when configured, is already listening.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := secureDir(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	st, own := cfg.Store, false
	if st == nil {
		db, err := sqlite.Open(filepath.Join(cfg.DataDir, "duet.db")) //nolint:contextcheck // opening the database is bounded by SQLite's own busy timeout
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		st, own = db, true
	}
	st, err := sealStore(ctx, cfg, st)
	if err != nil {
		if own {
			st.Close()
		}
		return nil, err
	}
	s := &Server{cfg: cfg, store: st, ownStore: own, registry: prometheus.NewRegistry(), mux: http.NewServeMux()}
	if slices.Contains(cfg.AllowedOrigins, "*") {
		cfg.Logger.Warn("pages of any origin may use this server's SDK and client API (--allowed-origins *); list your apps' origins instead")
	}
	// Made here, not in Serve, so that Shutdown never races Serve for the field.
	s.httpServer = s.newHTTPServer()
	if err := s.startTURN(); err != nil { //nolint:contextcheck // start-up secrets are read with their own 10 s bound
		_ = s.closeStore()
		return nil, err
	}
	if err := s.assemble(ctx); err != nil {
		if s.turn != nil {
			_ = s.turn.Close()
		}
		_ = s.closeStore()
		return nil, err
	}
	return s, nil
}

func (s *Server) assemble(ctx context.Context) error {
	cfg := s.cfg
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.accounts = account.New(s.store, cfg.Clock)
	s.observer = newCallObserver(cfg.Logger, s.registry)
	s.quality = quality.New(quality.Config{Store: s.store, Clock: cfg.Clock, Logger: cfg.Logger, Retention: cfg.QualityRetention})
	s.msg = s.newMessaging()               //nolint:contextcheck // the outbox runs for the server's life, not the caller's
	if err := s.startMedia(); err != nil { //nolint:contextcheck // the relay's sockets live as long as the server
		return err
	}
	if cfg.clustered() {
		if err := s.assembleNode(); err != nil {
			return err
		}
	} else if err := s.assembleSingle(ctx); err != nil {
		return err
	}
	s.accounts.OnUserDeleted = func(app, user string) { //nolint:contextcheck // kicks run after the request that caused them
		s.kickRevoked(account.Revocation{App: app, User: user}, protocol.EndDestroy)
	}
	s.accounts.OnTokensRevoked = func(r account.Revocation) { s.kickRevoked(r, revokedReason(r)) } //nolint:contextcheck // kicks run after the request that caused them
	if n, err := s.accounts.HashClientSecrets(ctx); err != nil {
		return fmt.Errorf("hash client secrets: %w", err)
	} else if n > 0 {
		cfg.Logger.Info("client secrets stored in clear are now hashed", "apps", n)
	}

	token, err := s.loadAdminToken() //nolint:contextcheck // start-up secrets are read with their own 10 s bound
	if err != nil {
		return err
	}
	s.adminToken = token
	if !cfg.NoDemoApp {
		org, name, _ := strings.Cut(cfg.DemoApp, "#")
		if s.demoApp, s.demoNew, err = s.accounts.EnsureApp(ctx, org, name, store.RegistrationOpen); err != nil {
			return fmt.Errorf("demo app: %w", err)
		}
	}
	s.routes()
	if s.cluster != nil {
		return s.startCluster()
	}
	return nil
}

// assembleSingle makes the calls of a server that is alone: one engine decides every call,
// its steps stored by one committer, and the live calls of the last run restored.
func (s *Server) assembleSingle(ctx context.Context) error {
	var calls *callflow.Engine
	engine := func() *callflow.Engine { return calls }
	s.hub = signal.NewHub(s.hubConfig(), tokenAuth{s.accounts}, s.withMedia(s.msg.handler(s.withQuality(callRequests{engine, s.healthyStore}, engine))))
	s.steps = s.newStepCommitter() //nolint:contextcheck // the committer runs for the server's life; Shutdown stops it
	calls = callflow.New(s.engineConfig(), s.steps, s.hub, userDirectory{s.store})
	s.calls = calls
	s.startGateway(calls, s.hub)
	return s.restoreCalls(ctx)
}

// assembleNode makes the calls of a node of a cluster: the hub hands every device's call
// requests to clusterCalls, which has them decided by their partition's owner.
func (s *Server) assembleNode() error {
	s.cluster = &clusterCalls{s: s, parts: make(map[int]*partitionCalls), audit: newSessionAudit(s)}
	hc := s.hubConfig()
	hc.DevicesElsewhere = s.cluster.devicesElsewhere
	s.hub = signal.NewHub(hc, tokenAuth{s.accounts}, s.msg.handler(s.cluster))
	s.startGateway(s.cluster, s.cluster)
	return nil
}

func (s *Server) hubConfig() signal.Config {
	cfg := s.cfg
	return signal.Config{Clock: cfg.Clock, Logger: cfg.Logger, Metrics: s.registry, RateLimit: cfg.DeviceRateLimit,
		Boot: rand.Text(), DrainRetryAfter: cfg.DrainRetryAfter,
		MaxDevices: cfg.MaxDevicesPerUser, SendQueue: sendQueueFor(cfg.MaxDevicesPerUser)}
}

// engineConfig is the configuration of every call engine of the server.
func (s *Server) engineConfig() callflow.Config {
	cfg := s.cfg
	return callflow.Config{
		RingTimeout: cfg.RingTimeout, ReconnectGrace: cfg.ReconnectGrace, Clock: cfg.Clock, Logger: cfg.Logger,
		Pusher: asyncPusher(s.pushCall), ICEServers: s.iceServers(),
	}
}

// pushCall is the call flow's Pusher: the push service's, counted.
func (s *Server) pushCall(app, callee string, inv protocol.CallIncoming, offlineText string) bool {
	ok := s.msg.push.PushCall(app, callee, inv, offlineText)
	s.observer.pushed(ok)
	return ok
}

func (s *Server) routes() {
	s.mux.Handle("GET /ws", s.hub)
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.Handle("GET /metrics", s.guardMetrics(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})))
	s.messagingRoutes()
	apis := api.New(s.accounts, s.store, s.adminToken, s.cfg.Logger)
	apis.Limits = s.apiLimits()
	apis.Routes(s.mux)
	apis.QualityRoutes(s.mux, s.quality)
	apis.WebPushRoutes(s.mux, s.msg.push.VAPIDPublicKey)
	apis.LiveCallRoutes(s.mux, liveCallAdmin{s})
	apis.ContactRoutes(s.mux, api.Contacts{Store: s.store, Changed: s.contactsChanged, Now: s.cfg.Clock.Now})
	apis.DeviceRoutes(s.mux, deviceAdmin{s})
	s.recordingRoutes(apis)
	// The web app (demo and browser SDK) takes every other GET; the routes above are more
	// specific patterns, so they still win.
	s.mux.Handle("GET /", web.Handler(web.Config{AppKey: s.demoApp.Key, ListUsers: s.demoUsers}))
}

// contactsChanged has the presence subscriptions that watch owner's contacts reload them:
// here, or on every node of a cluster.
func (s *Server) contactsChanged(app, owner string) {
	if s.cluster != nil {
		s.cluster.contactsChanged(app, owner)
		return
	}
	s.msg.presence.ContactsChanged(app, owner)
}

// demoUsers lists a page of the demo app's users and their presence for /demo/users: the
// holder of a user token of the demo app may see who can be called. Presence here is a
// snapshot; the demo follows changes with presence.subscribe.
func (s *Server) demoUsers(ctx context.Context, token string, q web.Query) ([]web.User, string, error) {
	if s.demoApp.Key == "" {
		return nil, "", protocol.NewError(protocol.CodeInvalidAppKey, "no demo app")
	}
	me, err := s.accounts.AuthenticateUser(ctx, s.demoApp.Key, token)
	if err != nil {
		return nil, "", err
	}
	policy, err := s.store.PresencePolicy(ctx, s.demoApp.Key)
	if err != nil {
		return nil, "", err
	}
	users, err := s.store.SearchUsers(ctx, s.demoApp.Key, q.Prefix, q.Cursor, q.Limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(users) > q.Limit {
		users = users[:q.Limit]
		next = users[q.Limit-1].Username
	}
	dir := hubRef{s}
	out := make([]web.User, len(users))
	for i, u := range users {
		// The app's presence policy holds here too: under "contacts", only those who have me
		// as a contact show as online.
		visible := policy != store.PresenceContacts
		if !visible {
			visible, _ = s.store.HasContact(ctx, s.demoApp.Key, u.Username, me.Username)
		}
		out[i] = web.User{Username: u.Username, Online: visible && len(dir.OnlineDevices(s.demoApp.Key, u.Username)) > 0}
	}
	return out, next, nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.store.ListApps(ctx); err != nil {
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if s.cluster != nil {
		s.clusterHealth(w)
		return
	}
	fmt.Fprintf(w, `{"status":"ok","connections":%d,"calls":%d}`+"\n", s.hub.Count(), s.activeCalls())
}

// kick closes every connection of the user, on every node of a cluster.

// activeCalls is the number of live calls decided here.
func (s *Server) activeCalls() int {
	if s.cluster != nil {
		return s.cluster.active()
	}
	return s.calls.Active()
}

// loadAdminToken uses the configured token, or the one saved in the data folder, or makes
// and saves a new one.
func (s *Server) loadAdminToken() (string, error) {
	if s.cfg.AdminToken != "" {
		return s.cfg.AdminToken, nil
	}
	if s.cfg.clustered() {
		return s.sharedSecret("admin-token", "adm_")
	}
	path := filepath.Join(s.cfg.DataDir, "admin-token")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 16 {
		return strings.TrimSpace(string(b)), nil
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	token := "adm_" + hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("save admin token: %w", err)
	}
	return token, nil
}

// sharedSecret returns the secret every node of a cluster shares under name, made (256
// random bits, hex, after prefix) by the first node that needs it and kept in the store.
func (s *Server) sharedSecret(name, prefix string) (string, error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := s.store.Setting(ctx, name, prefix+hex.EncodeToString(buf))
	if err != nil {
		return "", fmt.Errorf("shared %s: %w", name, err)
	}
	return v, nil
}

// Handler is the server's HTTP handler (REST, /ws, /healthz, /metrics, the web app), with
// the pages of the allowed origins let in (Config.AllowedOrigins).
func (s *Server) Handler() http.Handler {
	return cors.Policy{Origins: s.cfg.AllowedOrigins, PublicURL: s.cfg.PublicURL}.Handler(s.mux)
}

// AdminToken is the token of the admin API.
func (s *Server) AdminToken() string { return s.adminToken }

// DemoApp is the demo app, and whether this start created it.
func (s *Server) DemoApp() (store.App, bool) { return s.demoApp, s.demoNew }

// Store gives tests and tools the server's store.
func (s *Server) Store() store.Backend { return s.store }

// FlushCallRecords waits until every call step so far (records of ended calls, live call
// state, webhook events) is in the store and its messages are delivered.
func (s *Server) FlushCallRecords() {
	if s.cluster != nil {
		s.cluster.flush()
		return
	}
	s.steps.Flush()
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	err := s.httpServer.Serve(s.limitListener(ln))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ListenAndServe listens on Config.Addr and serves until Shutdown.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Shutdown drains the node: the call flow stops deciding (every live call stays in the
// store as it is, for the next start), the steps already decided are stored and delivered,
// then connected devices are told to reconnect (goodbye) and the store is closed.
func (s *Server) Shutdown(ctx context.Context) error {
	var hubErr error
	if s.cluster != nil {
		// A node says goodbye first, while it can still tell the owners that its devices
		// left; then it gives its partitions up for the other nodes to take.
		hubErr = s.hub.Shutdown(ctx)
		s.cluster.node.Close() //nolint:contextcheck // giving partitions up must finish even when the drain's context ended
		s.cluster.audit.close()
	} else {
		s.calls.Close()
		s.steps.Close()
		hubErr = s.hub.Shutdown(ctx)
	}
	_ = s.httpServer.Shutdown(ctx)
	s.msg.close()
	s.quality.Close()
	s.stopMedia() //nolint:contextcheck // recordings are finished even when the drain's context ended
	var turnErr error
	if s.turn != nil {
		turnErr = s.turn.Close()
	}
	return errors.Join(hubErr, turnErr, s.closeStore())
}

// closeStore closes the store if New opened it; a store passed in Config is the caller's.
func (s *Server) closeStore() error {
	if !s.ownStore {
		return nil
	}
	return s.store.Close()
}
