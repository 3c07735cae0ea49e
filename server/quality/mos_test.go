package quality

import (
	"math"
	"testing"
)

// MOS against values worked out by hand from the formula in mos.go, and its bounds.
func TestMOS(t *testing.T) {
	cases := []struct {
		rtt, jitter, loss float64
		want              float64
	}{
		// d = 20 + 20 = 40 ms: Id = 0.96, R = 92.24: MOS = 1 + 3.2284 + 7e-6·92.24·32.24·7.76 = 4.3900
		{40, 0, 0, 4.3900},
		// d = 150 + 20 + 20 = 190: Id = 4.56 + 0.11·12.7 = 5.957, R = 87.243:
		// MOS = 1 + 3.0535 + 7e-6·87.243·27.243·12.757 (0.2122) = 4.2657
		{300, 10, 0, 4.2657},
		// 5 % loss: Ie = 95·5/15 = 31.667; d = 40: R = 60.573:
		// MOS = 1 + 2.1201 + 7e-6·60.573·0.573·39.427 (0.0096) = 3.1297
		{40, 0, 0.05, 3.1297},
		// 20 % loss: Ie = 95·20/30 = 63.333, R = 28.907:
		// MOS = 1 + 1.0117 + 7e-6·28.907·(−31.093)·71.093 (−0.4473) = 1.5644
		{40, 0, 0.20, 1.5644},
	}
	for _, c := range cases {
		if got := MOS(c.rtt, c.jitter, c.loss); math.Abs(got-c.want) > 0.001 {
			t.Errorf("MOS(rtt %v, jitter %v, loss %v) = %.4f, want %.4f", c.rtt, c.jitter, c.loss, got, c.want)
		}
	}
	if got := MOS(60_000, 60_000, 1); got != 1 {
		t.Errorf("MOS of a dead line = %v, want 1", got)
	}
	if a, b := MOS(40, 0, 0), MOS(40, 0, 0.01); !(b < a) {
		t.Errorf("loss does not lower the score: %v then %v", a, b)
	}
}
