// Package push reaches users who have no online device: it keeps the push tokens devices
// bind (push.bind, push.unbind) and the providers' credentials of each app, and sends
//
//   - call pushes for the call flow's Pusher: a VoIP push to APNs PushKit tokens (an alert
//     to plain APNs tokens), a high-priority data message to FCM tokens, a POST to the app's
//     push webhook; the call keeps ringing when at least one went out;
//   - a cancel push to the same targets when such a call ends, so no device keeps ringing;
//   - alert pushes for text messages to offline users, honouring the seed's em_apns_ext and
//     em_android_push_ext keys.
//
// Tokens that a provider reports invalid (APNs 410 / BadDeviceToken, FCM UNREGISTERED, 410
// from the app's webhook) are unbound. Credentials never appear in logs.
package push

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/turn"
	"github.com/duet-rtc/duet/server/webhook"
)

// Defaults of Config fields left zero.
const (
	DefaultCallTTL     = 45 * time.Second
	DefaultCallTimeout = 5 * time.Second
	DefaultHTTPTimeout = 15 * time.Second
)

// DefaultRetryDelays are the waits between the attempts of a push sent in the background
// (cancels, messages) after a transient failure.
var DefaultRetryDelays = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}

// callRetryDelays are the waits between the attempts of a call push, which the caller waits
// for: short, and bounded by CallTimeout anyway.
var callRetryDelays = []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}

// Config tunes a Service.
type Config struct {
	Store  store.PushStore
	Clock  clock.Clock  // default clock.Real{}
	Logger *slog.Logger // default slog.Default()
	// TLS is the base TLS configuration of connections to the providers (tests set RootCAs
	// to trust local servers). nil: the system's roots.
	TLS *tls.Config
	// CallTTL is how long a call push stays deliverable: the ring timeout. Default 45s.
	CallTTL time.Duration
	// CallTimeout bounds the pushes of one invite, which the caller waits for. Default 5s.
	CallTimeout time.Duration
	// RetryDelays are the waits between attempts of background pushes; default
	// DefaultRetryDelays.
	RetryDelays []time.Duration
	// WebPushAllow lists networks Web Push endpoints may be in besides public addresses.
	// Endpoints come from clients: without it the server never connects to loopback,
	// private, link-local (cloud metadata) or other special addresses for them.
	WebPushAllow []netip.Prefix
}

// Service sends pushes and handles push.bind and push.unbind. Create it with New; stop it
// with Close.
type Service struct {
	cfg   Config
	log   *slog.Logger
	st    store.PushStore
	apns  *apnsSender
	fcm   *fcmSender
	hook  *hookSender
	web   *webPushSender
	tr    *webhook.Transport // FCM's and the webhook provider's
	webTr *webhook.Transport // Web Push's: public addresses and WebPushAllow only

	ctx    context.Context // cancelled by Close: background pushes stop
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	calls  map[string]*pushedCall // calls that were pushed, until they end
	closed bool
}

// pushedCall remembers where a call was pushed, to cancel it there when it ends.
type pushedCall struct {
	app, callee, caller string
	targets             []store.PushBinding
	pushing             bool            // the Pusher is still sending
	ended               *callflow.Event // the call ended while the Pusher was sending
}

// New returns a Service over cfg.Store.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CallTTL <= 0 {
		cfg.CallTTL = DefaultCallTTL
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.RetryDelays == nil {
		cfg.RetryDelays = DefaultRetryDelays
	}
	tr := webhook.NewTransport(cfg.TLS)
	// The TURN relay's address policy fits Web Push endpoints as well: public unicast
	// addresses, and the special ones only when listed.
	webTr := webhook.NewGuardedTransport(cfg.TLS, turn.PeerPolicy{Allow: cfg.WebPushAllow}.Allows)
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{
		cfg: cfg, log: cfg.Logger, st: cfg.Store,
		apns: newAPNsSender(cfg.TLS, DefaultHTTPTimeout),
		fcm:  newFCMSender(&http.Client{Transport: tr, Timeout: DefaultHTTPTimeout}, cfg.Clock.Now),
		hook: &hookSender{hc: webhook.NewHTTPClient(tr, DefaultHTTPTimeout), now: cfg.Clock.Now},
		web:  &webPushSender{hc: webhook.NewHTTPClient(webTr, DefaultHTTPTimeout), now: cfg.Clock.Now},
		tr:   tr, webTr: webTr, ctx: ctx, cancel: cancel, calls: map[string]*pushedCall{},
	}
}

// Close stops background pushes and waits for them.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	s.apns.close()
	s.tr.Close()
	s.webTr.Close()
}

// go runs f in the background unless the service is closed.
func (s *Service) goBackground(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// PushCall is the call flow's Pusher: it pushes the invite to every device the callee bound
// a token for and reports whether at least one push went out. It waits for the providers,
// at most CallTimeout.
func (s *Service) PushCall(app, callee string, inv protocol.CallIncoming, offlineText string) bool {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.CallTimeout)
	defer cancel()
	bindings, err := s.st.PushBindings(ctx, app, callee)
	if err != nil {
		s.log.Error("push: reading push tokens failed", "app", app, "err", err)
		return false
	}
	targets := callTargets(bindings)
	if len(targets) == 0 {
		return false
	}
	pc := &pushedCall{app: app, callee: callee, caller: inv.From, pushing: true}
	s.mu.Lock()
	s.calls[inv.CallID] = pc
	s.mu.Unlock()

	if offlineText == "" {
		offlineText = "You have an incoming call"
	}
	n := &notification{Kind: KindCall, App: app, User: callee, CallID: inv.CallID, From: inv.From,
		CallType: int(inv.Type), Ext: inv.Ext, Title: inv.From, Body: truncate(offlineText, maxAlertBody),
		Sound: "default", Expires: s.cfg.Clock.Now().Add(s.cfg.CallTTL)}
	sent := s.sendAll(ctx, app, targets, n, callRetryDelays)

	s.mu.Lock()
	pc.pushing, pc.targets = false, cancelTargets(sent, bindings)
	ended := pc.ended
	if len(sent) == 0 || ended != nil {
		delete(s.calls, inv.CallID)
	}
	s.mu.Unlock()
	if ended != nil && len(sent) > 0 {
		s.cancelCall(pc, *ended)
	}
	s.log.Debug("push: call pushed", "app", app, "call", inv.CallID, "targets", len(targets), "sent", len(sent))
	return len(sent) > 0
}

// Observe receives the call flow's events (it never blocks): when a pushed call ends, its
// targets get a cancel push.
func (s *Service) Observe(ev callflow.Event) {
	if ev.Kind != callflow.EventEnded {
		return
	}
	s.mu.Lock()
	pc := s.calls[ev.CallID]
	if pc == nil {
		s.mu.Unlock()
		return
	}
	if pc.pushing {
		pc.ended = &ev // PushCall sends the cancel once it knows where the call went
		s.mu.Unlock()
		return
	}
	delete(s.calls, ev.CallID)
	s.mu.Unlock()
	s.cancelCall(pc, ev)
}

// cancelCall sends the cancel push of an ended call in the background, to every target but
// the devices of the callee that answered it.
func (s *Service) cancelCall(pc *pushedCall, ev callflow.Event) {
	answeredBy := ""
	if ev.Record != nil {
		answeredBy = ev.Record.CalleeDevice
	}
	var targets []store.PushBinding
	for _, b := range pc.targets {
		if b.Device != answeredBy || answeredBy == "" {
			targets = append(targets, b)
		}
	}
	if len(targets) == 0 {
		return
	}
	n := &notification{Kind: KindCancel, App: pc.app, User: pc.callee, CallID: ev.CallID, From: pc.caller,
		Reason: int(ev.Reason), Answered: answeredBy != "", Title: pc.caller,
		Body: "Missed call from " + pc.caller, Sound: "default", Expires: s.cfg.Clock.Now().Add(s.cfg.CallTTL)}
	s.goBackground(func() { s.sendAll(s.ctx, pc.app, targets, n, s.cfg.RetryDelays) })
}

// PushMessage sends an alert for m to the recipient's alert tokens, in the background. The
// chat service calls it for a recipient without an online device.
func (s *Service) PushMessage(m store.Message) {
	s.goBackground(func() {
		ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
		defer cancel()
		bindings, err := s.st.PushBindings(ctx, m.App, m.To)
		if err != nil {
			s.log.Error("push: reading push tokens failed", "app", m.App, "err", err)
			return
		}
		var targets []store.PushBinding
		for _, b := range bindings {
			if !b.VoIP {
				targets = append(targets, b)
			}
		}
		if len(targets) == 0 {
			return
		}
		n := messageNotification(m.App, m.To, m.From, m.ID, m.Text, m.Ext, time.Time{})
		s.sendAll(s.ctx, m.App, targets, n, s.cfg.RetryDelays)
	})
}

// cancelTargets picks where the cancel of a call pushed to sent goes: the same bindings,
// except that an APNs VoIP token never gets one. Since iOS 13 every VoIP push must report a
// call to CallKit or the system kills the app, so a cancel goes to the device's alert token
// instead (as an alert that replaces the call's, or says the call was missed), and a device
// with a VoIP token only gets none: woken by the call's push, its app connects, and the
// server tells it the call ended.
func cancelTargets(sent, bindings []store.PushBinding) []store.PushBinding {
	var out []store.PushBinding
	for _, b := range sent {
		if b.Provider != protocol.PushAPNs || !b.VoIP {
			out = append(out, b)
			continue
		}
		for _, a := range bindings {
			if a.Provider == protocol.PushAPNs && !a.VoIP && a.Device == b.Device {
				out = append(out, a)
			}
		}
	}
	return out
}

// callTargets picks where a call is pushed: every binding, except that a device with an
// APNs VoIP token is not also sent an alert (it would ring twice).
func callTargets(bindings []store.PushBinding) []store.PushBinding {
	voip := map[string]bool{}
	for _, b := range bindings {
		if b.Provider == protocol.PushAPNs && b.VoIP {
			voip[b.Device] = true
		}
	}
	var out []store.PushBinding
	for _, b := range bindings {
		if b.Provider == protocol.PushAPNs && !b.VoIP && voip[b.Device] {
			continue
		}
		out = append(out, b)
	}
	return out
}

// sendAll sends n to every target at once and returns those it reached. Providers without
// credentials are skipped; tokens a provider reports invalid are unbound.
func (s *Service) sendAll(ctx context.Context, app string, targets []store.PushBinding, n *notification, delays []time.Duration) []store.PushBinding {
	creds := map[string]*store.PushCredentials{}
	for _, b := range targets {
		if _, done := creds[b.Provider]; done {
			continue
		}
		c, err := s.st.GetPushCredentials(ctx, app, b.Provider)
		switch {
		case errors.Is(err, store.ErrNotFound):
			s.log.Debug("push: no credentials for the provider", "app", app, "provider", b.Provider)
			creds[b.Provider] = nil
		case err != nil:
			s.log.Error("push: reading credentials failed", "app", app, "provider", b.Provider, "err", err)
			creds[b.Provider] = nil
		default:
			creds[b.Provider] = &c
		}
	}
	ok := make([]bool, len(targets))
	var wg sync.WaitGroup
	for i, b := range targets {
		c := creds[b.Provider]
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok[i] = s.sendOne(ctx, *c, b, n, delays)
		}()
	}
	wg.Wait()
	var sent []store.PushBinding
	for i, b := range targets {
		if ok[i] {
			sent = append(sent, b)
		}
	}
	return sent
}

// sendOne pushes to one target, retrying transient failures after delays.
func (s *Service) sendOne(ctx context.Context, creds store.PushCredentials, b store.PushBinding, n *notification, delays []time.Duration) bool {
	for attempt := 0; ; attempt++ {
		err := s.provider(b.Provider).send(ctx, creds, b, n)
		switch {
		case err == nil:
			return true
		case errors.Is(err, errNotForTarget):
			return false
		case isGone(err):
			s.log.Info("push: the provider refused a token; unbinding it", "app", b.App, "user", b.User,
				"device", b.Device, "provider", b.Provider, "token", tokenPrefix(b.Token), "err", err)
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := s.st.RemovePushToken(rctx, b.App, b.Provider, b.Token); err != nil { //nolint:contextcheck // removing a dead token must outlive the push that found it
				s.log.Error("push: unbinding a token failed", "err", err)
			}
			cancel()
			return false
		case !isRetryable(err) || attempt >= len(delays) || ctx.Err() != nil:
			s.log.Warn("push: failed", "app", b.App, "user", b.User, "device", b.Device,
				"provider", b.Provider, "kind", n.Kind, "attempts", attempt+1, "err", err)
			return false
		}
		t := time.NewTimer(delays[attempt])
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false
		}
	}
}

type sender interface {
	send(ctx context.Context, creds store.PushCredentials, b store.PushBinding, n *notification) error
}

func (s *Service) provider(name string) sender {
	switch name {
	case protocol.PushAPNs:
		return s.apns
	case protocol.PushFCM:
		return s.fcm
	case protocol.PushWebPush:
		return s.web
	}
	return s.hook
}

// tokenPrefix shortens a device token for logs.
func tokenPrefix(t string) string {
	if len(t) > 8 {
		return t[:8] + "…"
	}
	return t
}

// HandleMessage handles push.bind and push.unbind from a device.
func (s *Service) HandleMessage(dev route.Device, env *protocol.Envelope) *protocol.Envelope {
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	var err error
	switch env.Type {
	case protocol.TypePushBind:
		var req protocol.PushBind
		if err = env.DecodeData(&req); err == nil && req.Provider == protocol.PushWebPush {
			// One form per subscription, so that binding it again replaces rather than adds.
			sub, _ := protocol.ParseWebPushSubscription(req.Token) // checked by DecodeData
			req.Token = sub.Canonical()
		}
		if err == nil {
			err = s.st.BindPushToken(ctx, store.PushBinding{App: dev.App, User: dev.User, Device: dev.ID,
				Provider: req.Provider, Token: req.Token, VoIP: req.VoIP, Topic: req.Topic, Updated: s.cfg.Clock.Now()})
		}
	case protocol.TypePushUnbind:
		var req protocol.PushUnbind
		if err = env.DecodeData(&req); err == nil {
			if sub, perr := protocol.ParseWebPushSubscription(req.Token); perr == nil && req.Provider == protocol.PushWebPush {
				req.Token = sub.Canonical()
			}
			_, err = s.st.UnbindPushTokens(ctx, dev.App, dev.User, dev.ID, req.Provider, req.Token)
		}
	default:
		err = protocol.NewError(protocol.CodeUnknownMessage, "unknown message type %q", env.Type)
	}
	var pe *protocol.Error
	switch {
	case err == nil:
	case errors.As(err, &pe):
		return protocol.NewErrorReply(env.ID, pe)
	case errors.Is(err, store.ErrNotFound):
		return protocol.NewErrorReply(env.ID, protocol.NewError(protocol.CodeUserNotFound, "no such user"))
	default:
		s.log.Error("push: storing a binding failed", "app", dev.App, "err", err)
		return protocol.NewErrorReply(env.ID, protocol.NewError(protocol.CodeDatabase, "database error"))
	}
	if env.ID == "" {
		return nil
	}
	return protocol.NewReply(env.ID, nil)
}
