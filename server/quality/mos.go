package quality

// The audio score: an estimate of the mean opinion score (MOS, 1–4.5) from what the device
// measured, by the ITU-T G.107 E-model reduced to the terms a WebRTC device can measure,
// the way network monitoring tools commonly apply it:
//
//	d     = RTT/2 + 2·jitter + 20 ms            one-way mouth-to-ear delay: network, a jitter
//	                                            buffer of twice the jitter, one Opus frame
//	Id    = 0.024·d + 0.11·(d − 177.3)·H(d − 177.3)       delay impairment (H: step function)
//	Ie,eff = Ie + (95 − Ie)·Ppl / (Ppl + Bpl)   loss impairment, Ppl the packet loss in %
//	R     = 93.2 − Id − Ie,eff
//	MOS   = 1 + 0.035·R + 7·10⁻⁶·R·(R − 60)·(100 − R), 1 below R = 0, 4.5 above R = 100
//
// Opus has no G.113 table entry; duet takes Ie = 0 (a wideband codec without loss is not
// impaired) and Bpl = 10 (packet-loss robustness with concealment, between G.711 with PLC at
// 25.1 and codecs without it at 4.3). The score ignores echo, noise and talker overlap, which
// a device does not measure: it grades the network, not the conversation.
const (
	ieOpus  = 0.0
	bplOpus = 10.0
)

// MOS returns the E-model estimate for a round trip and jitter in ms and a loss fraction.
func MOS(rttMs, jitterMs, loss float64) float64 {
	d := rttMs/2 + 2*jitterMs + 20
	id := 0.024 * d
	if d > 177.3 {
		id += 0.11 * (d - 177.3)
	}
	ppl := loss * 100
	ie := ieOpus
	if ppl > 0 {
		ie += (95 - ieOpus) * ppl / (ppl + bplOpus)
	}
	r := 93.2 - id - ie
	switch {
	case r <= 0:
		return 1
	case r >= 100:
		return 4.5
	}
	return 1 + 0.035*r + 7e-6*r*(r-60)*(100-r)
}
