package quality

import (
	"math"
	"testing"

	"github.com/duet-rtc/duet/protocol"
)

func TestSummarize(t *testing.T) {
	s := Summarize([]protocol.QualitySample{
		{At: 1000, RTTMs: 40, LossIn: 0, LossOut: 0.02, JitterMs: 0, NetworkStatus: protocol.NetworkNormal, ConnectType: protocol.ConnectDirect},
		{At: 3000, RTTMs: 40, LossIn: 0.05, LossOut: 0, JitterMs: 10, Freezes: 1, FreezeMs: 500, ConcealedMs: 120,
			NetworkStatus: protocol.NetworkUnstable, ConnectType: protocol.ConnectDirect},
		{At: 7000, RTTMs: 100, LossIn: 0.01, FreezeMs: 300, ICERestarts: 1, NetworkStatus: protocol.NetworkNormal, ConnectType: protocol.ConnectRelay},
	})
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-3 {
			t.Errorf("%s = %.4f, want %.4f", what, got, want)
		}
	}
	near("mean MOS", s.MOS, (MOS(40, 0, 0)+MOS(40, 10, 0.05)+MOS(100, 0, 0.01))/3)
	near("worst MOS", s.MOSMin, MOS(40, 10, 0.05))
	near("mean RTT", s.RTTAvgMs, 60)
	near("worst RTT", s.RTTMaxMs, 100)
	near("mean loss in", s.LossInAvg, 0.02)
	near("worst loss in", s.LossInMax, 0.05)
	near("worst loss out", s.LossOutMax, 0.02)
	near("freeze ratio", s.FreezeRatio, 800.0/6000)
	if s.Samples != 3 || s.Freezes != 1 || s.ConcealedMs != 120 || s.ICERestarts != 1 || s.CoveredMs != 6000 || s.ConnectType != "relay" {
		t.Errorf("summary %+v", s)
	}
	if s.StatusMs["unstable"] != 2000 || s.StatusMs["normal"] != 4000 {
		t.Errorf("time per status %v, want unstable 2000 and normal 4000", s.StatusMs)
	}
	if empty := Summarize(nil); empty.Samples != 0 || empty.MOS != 0 {
		t.Errorf("no samples: %+v", empty)
	}
}
