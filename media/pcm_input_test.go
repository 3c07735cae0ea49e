package media

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/thesyncim/gopus"
)

// sinePCM returns n samples of a freq Hz sine at rate, starting at sample offset.
func sinePCM(freq float64, rate, offset, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(offset+i)/float64(rate)))
	}
	return out
}

// goertzel returns the power of freq in samples at rate.
func goertzel(samples []float32, freq float64, rate int) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x) + k*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - k*s1*s2
}

func TestPCMInputCarriesTheTone(t *testing.T) {
	in, err := NewPCMInput(48000, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dec, err := gopus.NewDecoder(gopus.DefaultDecoderConfig(48000, 1))
	if err != nil {
		t.Fatal(err)
	}
	// Feed 400 ms of a 1 kHz tone in 20 ms writes, then drain it.
	for off := 0; off < 48000*400/1000; off += 960 {
		if err := in.Write(sinePCM(1000, 48000, off, 960)); err != nil {
			t.Fatal(err)
		}
	}
	if b := in.Buffered(); b != 400*time.Millisecond {
		t.Fatalf("buffered %v", b)
	}
	var decoded []float32
	pcm := make([]float32, 5760)
	for range 20 {
		s, err := in.Next()
		if err != nil || len(s.Data) == 0 || s.Duration != 20*time.Millisecond {
			t.Fatalf("Next: %v %+v", err, s)
		}
		n, err := dec.Decode(s.Data, pcm)
		if err != nil {
			t.Fatal(err)
		}
		decoded = append(decoded, pcm[:n]...)
	}
	tail := decoded[len(decoded)/2:] // past the codec's start-up
	tone, off := goertzel(tail, 1000, 48000), goertzel(tail, 1500, 48000)
	if tone < 100*off {
		t.Fatalf("1 kHz power %.3g not far above 1.5 kHz power %.3g", tone, off)
	}
	// Drained: the next frames are silence until 40 ms are buffered again.
	s, _ := in.Next()
	n, _ := dec.Decode(s.Data, pcm)
	if p := goertzel(pcm[:n], 1000, 48000); p > tone/100 {
		t.Fatalf("underrun frame carries the tone: %.3g", p)
	}
}

func TestPCMInputBufferFull(t *testing.T) {
	in, err := NewPCMInput(16000, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// The capacity is raised to twice the prebuffer, 80 ms... no: 100 ms asked, 100 ms kept.
	if err := in.Write(make([]int16, 1600)); err != nil {
		t.Fatal(err)
	}
	if err := in.Write(make([]int16, 1)); !errors.Is(err, ErrBufferFull) {
		t.Fatalf("overfull write: %v", err)
	}
	if _, err := in.Next(); err != nil {
		t.Fatal(err)
	}
	if err := in.Write(make([]int16, 320)); err != nil { // 20 ms went out: room again
		t.Fatalf("write after a frame went out: %v", err)
	}
	in.SetTargetBitrate(1) // clamped to 6 kbit/s, not an error
	if _, err := in.Next(); err != nil {
		t.Fatal(err)
	}
	in.Close()
	if err := in.Write(make([]int16, 10)); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if _, err := NewPCMInput(44100, time.Second); err == nil {
		t.Fatal("44.1 kHz accepted: Opus does not encode it")
	}
}

// BenchmarkOpusEncode20ms measures gopus encoding one 20 ms mono frame at 48 kHz, 32 kbit/s.
func BenchmarkOpusEncode20ms(b *testing.B) {
	in, err := NewPCMInput(48000, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	pcm := sinePCM(440, 48000, 0, 960)
	start := cpuTime()
	for b.Loop() {
		if err := in.Write(pcm); err != nil {
			b.Fatal(err)
		}
		if _, err := in.Next(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/frame")
}
