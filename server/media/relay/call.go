package relay

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/duet-rtc/duet/protocol"
)

// Side is a party of a call.
type Side int

// The two parties.
const (
	Caller Side = 0
	Callee Side = 1
)

func (s Side) other() Side { return 1 - s }

// String names the side.
func (s Side) String() string {
	if s == Caller {
		return "caller"
	}
	return "callee"
}

// Kind is a media kind.
type Kind int

// The media kinds.
const (
	Audio Kind = 0
	Video Kind = 1
)

// String names the kind as WebRTC does.
func (k Kind) String() string {
	if k == Audio {
		return "audio"
	}
	return "video"
}

// Tap sees the media of a call's active legs, for recording. Its methods run on the legs'
// reader goroutines and must not block: they hold up forwarding.
type Tap interface {
	// RTP is called for every packet forwarded from the active leg of side (none before
	// the call is answered), after it has been forwarded. pkt and its payload are valid only
	// during the call: copy what you keep.
	RTP(side Side, kind Kind, pkt *rtp.Packet, at time.Time)
	// SenderReport is called for every RTCP sender report from the active leg of side.
	SenderReport(side Side, kind Kind, sr *rtcp.SenderReport, at time.Time)
}

// CallConfig shapes a Call.
type CallConfig struct {
	// Audio and Video are the kinds the call carries.
	Audio, Video bool
	// Tap, if set, sees the active legs' media.
	Tap Tap
	// Active returns the callee device whose leg is forwarded (the answering device), or ""
	// while the call is not answered. It is asked when media needs a target and none is
	// known; while it answers "", at most every activeRetry.
	Active func() string
}

// activeRetry throttles asking CallConfig.Active while a call is not answered (Active
// takes the call engine's lock), by the side whose packet asks: a ringing caller's warm-up
// asks about every other packet; a callee's device sends only once it has answered, so its
// first packets, which the relay must not hold up, ask again after a millisecond. What
// arrives before the relay knows of the answer waits in the leg's unsent video (held.go).
var activeRetry = [2]time.Duration{Caller: 5 * time.Millisecond, Callee: time.Millisecond}

// keyframeThrottle is the least time between two PLIs the relay sends one sender.
const keyframeThrottle = 200 * time.Millisecond

// LegEvents are a leg's callbacks; any may be nil. They run on the leg's ICE and DTLS
// goroutines and must not block, nor close the leg's call before returning (closing waits
// for those goroutines): do that from another goroutine.
type LegEvents struct {
	// OnCandidate trickles a local candidate to the device.
	OnCandidate func(protocol.ICECandidate)
	// OnConnected fires once, when the leg's ICE and DTLS are up.
	OnConnected func()
	// OnClosed fires once, when the leg fails or is closed (not replaced by a new offer
	// from the same device).
	OnClosed func()
}

// Call is one relayed call.
type Call struct {
	r   *Relay
	id  string
	cfg CallConfig

	mu     sync.Mutex
	legs   map[legKey]*leg
	closed bool
	done   chan struct{} // closed when Close has closed every leg

	active      [2]atomic.Pointer[leg] // by Side
	nextResolve [2]atomic.Int64        // by asking Side: unix nanos before which Active is not asked again
}

type legKey struct {
	side   Side
	device string
}

func newCall(r *Relay, id string, cfg CallConfig) *Call {
	return &Call{r: r, id: id, cfg: cfg, legs: make(map[legKey]*leg), done: make(chan struct{})}
}

// carries reports whether the call has media of kind k.
func (c *Call) carries(k Kind) bool {
	return (k == Audio && c.cfg.Audio) || (k == Video && c.cfg.Video)
}

// ID is the call's id.
func (c *Call) ID() string { return c.id }

// Offer answers a device's offer with a new leg for (side, device). An earlier leg of the
// same device is closed first (the device restarted its connection). The caller side has
// one device: its leg is active at once.
func (c *Call) Offer(side Side, device string, offer protocol.SessionDescription, ev LegEvents) (protocol.SessionDescription, error) {
	if offer.Type != "offer" || len(offer.SDP) == 0 || len(offer.SDP) > protocol.MaxSDPBytes {
		return protocol.SessionDescription{}, errors.New("relay: not an offer")
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return protocol.SessionDescription{}, ErrClosed
	}
	key := legKey{side, device}
	old := c.legs[key]
	if old == nil && len(c.legs) >= c.r.cfg.MaxLegsPerCall {
		c.mu.Unlock()
		return protocol.SessionDescription{}, errors.New("relay: too many legs in this call")
	}
	l, err := newLeg(c, side, device, ev)
	if err != nil {
		c.mu.Unlock()
		return protocol.SessionDescription{}, err
	}
	c.legs[key] = l
	c.mu.Unlock()
	if old != nil {
		old.close(false)
	}
	answer, err := l.answer(offer)
	if err != nil {
		c.dropLeg(l)
		l.close(false)
		return protocol.SessionDescription{}, err
	}
	if side == Caller {
		c.setActive(Caller, l)
	}
	return answer, nil
}

// AddCandidate adds a remote candidate to the leg of (side, device).
func (c *Call) AddCandidate(side Side, device string, cand protocol.ICECandidate) error {
	c.mu.Lock()
	l := c.legs[legKey{side, device}]
	c.mu.Unlock()
	if l == nil {
		return errors.New("relay: no such leg")
	}
	return l.addCandidate(cand)
}

// Close closes every leg: no Tap method runs after it returns, whichever of concurrent
// calls returns. It is idempotent.
func (c *Call) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.done
		return
	}
	c.closed = true
	legs := make([]*leg, 0, len(c.legs))
	for _, l := range c.legs {
		legs = append(legs, l)
	}
	c.legs = map[legKey]*leg{}
	c.mu.Unlock()
	c.active[Caller].Store(nil)
	c.active[Callee].Store(nil)
	for _, l := range legs {
		l.close(true)
	}
	c.r.forget(c)
	close(c.done)
}

// Legs returns how many legs the call has.
func (c *Call) Legs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.legs)
}

// dropLeg removes l from the call if it is still there, and from the active slots.
func (c *Call) dropLeg(l *leg) {
	c.mu.Lock()
	if c.legs[legKey{l.side, l.device}] == l {
		delete(c.legs, legKey{l.side, l.device})
	}
	c.mu.Unlock()
	c.active[l.side].CompareAndSwap(l, nil)
}

// setActive makes l the forwarded leg of side, closes the side's other legs when it is the
// callee's (the call is answered: they will never carry media), and asks both senders for
// a keyframe so that the new path starts with a decodable picture.
func (c *Call) setActive(side Side, l *leg) {
	if c.active[side].Swap(l) == l {
		return
	}
	if side == Callee {
		var losers []*leg
		c.mu.Lock()
		for k, o := range c.legs {
			if k.side == Callee && o != l {
				losers = append(losers, o)
				delete(c.legs, k)
			}
		}
		c.mu.Unlock()
		for _, o := range losers {
			go o.close(true)
		}
	}
	l.requestKeyframe(false)
	if o := c.active[side.other()].Load(); o != nil {
		o.requestKeyframe(false)
	}
}

// knownActive asks CallConfig.Active for a packet from side asker. Only a negative answer
// is throttled: media flows only after the call is answered, so the first packets'
// questions get a positive one, and a device that sends without having answered is not
// asked about on every packet.
func (c *Call) knownActive(asker Side) string {
	if c.cfg.Active == nil {
		return ""
	}
	now := time.Now().UnixNano()
	if next := c.nextResolve[asker].Load(); now < next {
		return ""
	}
	dev := c.cfg.Active()
	if dev == "" {
		c.nextResolve[asker].Store(now + int64(activeRetry[asker]))
	}
	return dev
}

// resolveCallee finds the callee's active leg when it is not known yet, for a packet from
// side asker.
func (c *Call) resolveCallee(asker Side) *leg {
	if l := c.active[Callee].Load(); l != nil {
		return l
	}
	dev := c.knownActive(asker)
	if dev == "" {
		return nil
	}
	c.mu.Lock()
	l := c.legs[legKey{Callee, dev}]
	c.mu.Unlock()
	if l != nil {
		c.setActive(Callee, l)
	}
	return l
}

// isActive reports whether packets from l are forwarded and tapped.
func (c *Call) isActive(l *leg) bool {
	cur := c.active[l.side].Load()
	if cur == l {
		return true
	}
	if l.side == Callee && cur == nil {
		return c.resolveCallee(Callee) == l
	}
	return false
}

// target returns the leg packets from side go to, or nil.
func (c *Call) target(side Side) *leg {
	if side == Caller {
		return c.resolveCallee(Caller)
	}
	return c.active[Caller].Load()
}
