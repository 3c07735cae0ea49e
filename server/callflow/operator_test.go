package callflow

import (
	"testing"

	"github.com/duet-rtc/duet/protocol"
)

// An operator ends a ringing call: every device is told, with the reason and no ender, and
// the record says so; another app's call and a reason that is not the operator's are
// refused and change nothing.
func TestEndByOperator(t *testing.T) {
	h := newHarness(t)
	a, b1, b2, id := ringTwo(h)
	if err := h.e.EndByOperator("other#app", id, protocol.EndServiceForbidden); protocol.CodeOf(err) != protocol.CodeCallInvalidID {
		t.Fatalf("another app's call: %v", err)
	}
	if err := h.e.EndByOperator(app, id, protocol.EndHangup); protocol.CodeOf(err) != protocol.CodeUserIllegalArgument {
		t.Fatalf("reason Hangup: %v", err)
	}
	h.quiet()
	if err := h.e.EndByOperator(app, id, protocol.EndServiceForbidden); err != nil {
		t.Fatal(err)
	}
	h.expect(a, ended(id, protocol.EndServiceForbidden, ""))
	h.expect(b1, ended(id, protocol.EndServiceForbidden, ""))
	h.expect(b2, ended(id, protocol.EndServiceForbidden, ""))
	if rec := h.records(1)[0]; rec.EndReason != protocol.EndServiceForbidden || rec.EndedBy != "" {
		t.Fatalf("record %+v", rec)
	}
	h.settled()
}
