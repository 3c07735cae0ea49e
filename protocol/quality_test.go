package protocol

import (
	"math"
	"testing"
)

func TestCallQualityCheck(t *testing.T) {
	ok := QualitySample{At: 1, RTTMs: 40, LossIn: 0.1, ConnectType: ConnectRelay, NetworkStatus: NetworkNoData}
	if err := (&CallQuality{CallID: "c", Samples: []QualitySample{ok}}).Check(); err != nil {
		t.Fatalf("a good sample: %v", err)
	}
	bad := map[string]func(*QualitySample){
		"no time":          func(s *QualitySample) { s.At = 0 },
		"loss above 1":     func(s *QualitySample) { s.LossOut = 1.5 },
		"negative rtt":     func(s *QualitySample) { s.RTTMs = -1 },
		"NaN jitter":       func(s *QualitySample) { s.JitterMs = math.NaN() },
		"huge bitrate":     func(s *QualitySample) { s.VideoKbpsIn = MaxQualityKbps + 1 },
		"unknown status":   func(s *QualitySample) { s.NetworkStatus = 3 },
		"unknown connect":  func(s *QualitySample) { s.ConnectType = 7 },
		"negative freezes": func(s *QualitySample) { s.FreezeMs = -1 },
		"giant picture":    func(s *QualitySample) { s.WidthIn = 10000 },
	}
	for name, mod := range bad {
		s := ok
		mod(&s)
		err := (&CallQuality{CallID: "c", Samples: []QualitySample{s}}).Check()
		if CodeOf(err) != CodeBadMessage {
			t.Errorf("%s: %v, want 900", name, err)
		}
	}
	later := ok
	later.At = 5
	if err := (&CallQuality{CallID: "c", Samples: []QualitySample{later, ok}}).Check(); CodeOf(err) != CodeBadMessage {
		t.Errorf("out of order: %v", err)
	}
	if err := (&CallQuality{CallID: "c"}).Check(); CodeOf(err) != CodeBadMessage {
		t.Errorf("no samples: %v", err)
	}
	if err := (&CallQuality{Samples: []QualitySample{ok}}).Check(); CodeOf(err) != CodeCallInvalidID {
		t.Errorf("no call id: %v", err)
	}
}
