package yuv

import (
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// cpuTime is this process's user+system CPU time: benchmarks report CPU per operation,
// which other work on a shared machine does not inflate the way it inflates wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loopCPU runs f in b.Loop and reports the CPU time per call.
func loopCPU(b *testing.B, f func()) {
	start := cpuTime()
	n := 0
	for b.Loop() {
		f()
		n++
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
}

// rgbaFrame returns a w×h RGBA buffer filled with c.
func rgbaFrame(w, h int, c color.NRGBA) []byte {
	b := make([]byte, 4*w*h)
	for i := 0; i < len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = c.R, c.G, c.B, c.A
	}
	return b
}

func TestConvertRGBA(t *testing.T) {
	for _, c := range []struct {
		name      string
		in        color.NRGBA
		y, cb, cr uint8
	}{
		{"black", color.NRGBA{0, 0, 0, 255}, 16, 128, 128},
		{"white", color.NRGBA{255, 255, 255, 255}, 235, 128, 128},
		{"red", color.NRGBA{255, 0, 0, 255}, 82, 90, 240},
		{"blue", color.NRGBA{0, 0, 255, 255}, 41, 240, 110},
	} {
		img, err := Convert(nil, FormatRGBA, 4, 2, 0, rgbaFrame(4, 2, c.in))
		if err != nil {
			t.Fatal(err)
		}
		if y, cb, cr := img.Y[5], img.Cb[1], img.Cr[1]; absDiff(y, c.y) > 1 || absDiff(cb, c.cb) > 1 || absDiff(cr, c.cr) > 1 {
			t.Errorf("%s: Y=%d Cb=%d Cr=%d, want %d %d %d", c.name, y, cb, cr, c.y, c.cb, c.cr)
		}
		// The standard library's conversion is the full-range JFIF one; only check it agrees
		// on the ordering of luma, which catches swapped channels.
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestConvertNV12AndI420(t *testing.T) {
	const w, h, stride = 4, 2, 6
	// NV12 with padded rows: Y rows of 6 bytes, then one UV row of 6 bytes.
	nv12 := []byte{
		1, 2, 3, 4, 0, 0,
		5, 6, 7, 8, 0, 0,
		100, 200, 101, 201, 0, 0,
	}
	img, err := Convert(nil, FormatNV12, w, h, stride, nv12)
	if err != nil {
		t.Fatal(err)
	}
	if string(img.Y) != string([]byte{1, 2, 3, 4, 5, 6, 7, 8}) || string(img.Cb) != string([]byte{100, 101}) || string(img.Cr) != string([]byte{200, 201}) {
		t.Fatalf("NV12: Y=%v Cb=%v Cr=%v", img.Y, img.Cb, img.Cr)
	}
	i420 := []byte{1, 2, 3, 4, 5, 6, 7, 8, 100, 101, 200, 201}
	img2, err := Convert(img, FormatI420, w, h, 0, i420)
	if err != nil || img2 != img {
		t.Fatalf("I420 did not reuse the buffer: %v", err)
	}
	if string(img2.Cb) != string([]byte{100, 101}) || string(img2.Cr) != string([]byte{200, 201}) {
		t.Fatalf("I420: Cb=%v Cr=%v", img2.Cb, img2.Cr)
	}
}

func TestConvertRefusesBadInput(t *testing.T) {
	for _, c := range []struct {
		name         string
		format, w, h int
		stride       int
		n            int
	}{
		{"short I420", FormatI420, 4, 4, 0, 23},
		{"short NV12", FormatNV12, 4, 4, 0, 23},
		{"short RGBA", FormatRGBA, 4, 4, 0, 63},
		{"odd width", FormatI420, 3, 4, 0, 100},
		{"zero height", FormatI420, 4, 0, 0, 100},
		{"huge", FormatI420, 1 << 20, 2, 0, 100},
		{"narrow stride", FormatNV12, 4, 4, 2, 100},
		{"unknown format", 9, 4, 4, 0, 100},
	} {
		if _, err := Convert(nil, c.format, c.w, c.h, c.stride, make([]byte, c.n)); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

// numbered returns a w×h frame whose samples are distinct enough to track moves.
func numbered(w, h int) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = uint8(i)
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = uint8(i), uint8(255-i)
	}
	return img
}

func TestRotate(t *testing.T) {
	src := numbered(6, 4)
	r90, err := Rotate(nil, src, 90)
	if err != nil || r90.Rect.Dx() != 4 || r90.Rect.Dy() != 6 {
		t.Fatalf("90: %v %v", r90.Rect, err)
	}
	// Clockwise: the source's bottom-left pixel lands at the top-left.
	if got, want := r90.Y[0], src.Y[3*src.YStride]; got != want {
		t.Fatalf("90: top-left %d, want %d", got, want)
	}
	img := src
	for range 4 {
		if img, err = Rotate(nil, img, 90); err != nil {
			t.Fatal(err)
		}
	}
	if string(img.Y) != string(src.Y) || string(img.Cb) != string(src.Cb) || string(img.Cr) != string(src.Cr) {
		t.Fatal("four quarter turns are not the identity")
	}
	r180, _ := Rotate(nil, src, 180)
	r270, _ := Rotate(nil, src, 270)
	r180b, _ := Rotate(nil, r90, 90)
	if string(r180.Y) != string(r180b.Y) {
		t.Fatal("180 differs from two quarter turns")
	}
	back, _ := Rotate(nil, r270, 90)
	if string(back.Y) != string(src.Y) {
		t.Fatal("270 then 90 is not the identity")
	}
	if same, _ := Rotate(nil, src, 0); same != src {
		t.Fatal("0 degrees copied")
	}
	if _, err := Rotate(nil, src, 45); err == nil {
		t.Fatal("45 degrees accepted")
	}
}

func TestFitSize(t *testing.T) {
	for _, c := range []struct{ w, h, mw, mh, ww, wh int }{
		{640, 480, 0, 0, 640, 480},
		{640, 480, 1280, 720, 640, 480},
		{1280, 720, 640, 480, 640, 360},
		{1920, 1080, 352, 288, 352, 198},
		{480, 640, 640, 480, 360, 480},
		{640, 480, 352, 288, 352, 264},
		{3, 4000, 640, 480, 2, 480},
	} {
		if w, h := FitSize(c.w, c.h, c.mw, c.mh); w != c.ww || h != c.wh {
			t.Errorf("FitSize(%d,%d,%d,%d) = %d,%d want %d,%d", c.w, c.h, c.mw, c.mh, w, h, c.ww, c.wh)
		}
	}
}

func TestScaleKeepsFlatPicture(t *testing.T) {
	src := NewI420(64, 48)
	for i := range src.Y {
		src.Y[i] = 200
	}
	dst := Scale(nil, src, 32, 24)
	for i, v := range dst.Y {
		if v != 200 {
			t.Fatalf("Y[%d]=%d after scaling a flat picture", i, v)
		}
	}
	for i := range dst.Cb {
		if dst.Cb[i] != 128 || dst.Cr[i] != 128 {
			t.Fatalf("chroma %d: %d %d", i, dst.Cb[i], dst.Cr[i])
		}
	}
	// A left-dark, right-bright picture keeps its halves.
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			src.Y[y*src.YStride+x] = map[bool]uint8{true: 20, false: 220}[x < 32]
		}
	}
	dst = Scale(dst, src, 32, 24)
	if l, r := dst.Y[5*dst.YStride+2], dst.Y[5*dst.YStride+29]; l != 20 || r != 220 {
		t.Fatalf("halves: %d %d", l, r)
	}
}

// square returns a w×h image of colour c.
func square(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

func TestWatermarkCorners(t *testing.T) {
	wm, err := NewWatermark(square(20, 10, color.NRGBA{255, 255, 255, 255}))
	if err != nil {
		t.Fatal(err)
	}
	const fw, fh = 160, 120
	for _, c := range []struct {
		corner Corner
		x, y   int // expected top-left
	}{
		{LeftTop, 8, 6}, {RightTop, 160 - 8 - 20, 6}, {LeftBottom, 8, 120 - 6 - 10}, {RightBottom, 132, 104},
	} {
		frame := NewI420(fw, fh)
		p := wm.Place(fw, fh, 8, 6, c.corner)
		if p.X != c.x || p.Y != c.y || p.Width != 20 || p.Height != 10 {
			t.Fatalf("corner %d: placement %+v, want at %d,%d", c.corner, p, c.x, c.y)
		}
		wm.Blend(frame, p)
		for y := 0; y < fh; y++ {
			for x := 0; x < fw; x++ {
				inside := x >= c.x && x < c.x+20 && y >= c.y && y < c.y+10
				v := frame.Y[y*frame.YStride+x]
				if inside && v != 235 || !inside && v != 16 {
					t.Fatalf("corner %d: Y at %d,%d = %d (inside %v)", c.corner, x, y, v, inside)
				}
			}
		}
	}
}

func TestWatermarkAlphaAndClipping(t *testing.T) {
	half, _ := NewWatermark(square(4, 4, color.NRGBA{255, 255, 255, 128}))
	frame := NewI420(8, 8)
	half.Blend(frame, half.Place(8, 8, 0, 0, LeftTop))
	if v := frame.Y[0]; v < 120 || v > 130 { // halfway between 16 and 235
		t.Fatalf("half-transparent white over black: Y=%d", v)
	}
	clear, _ := NewWatermark(square(4, 4, color.NRGBA{255, 0, 0, 0}))
	frame = NewI420(8, 8)
	clear.Blend(frame, clear.Place(8, 8, 0, 0, LeftTop))
	if frame.Y[0] != 16 || frame.Cb[0] != 128 || frame.Cr[0] != 128 {
		t.Fatal("a transparent watermark changed the frame")
	}
	big, _ := NewWatermark(square(30, 30, color.NRGBA{255, 255, 255, 255}))
	p := big.Place(16, 16, 4, 4, RightBottom)
	if p.X != 0 || p.Y != 0 || p.Width != 12 || p.Height != 12 || p.SrcX != 18 || p.SrcY != 18 {
		t.Fatalf("clipped placement %+v", p)
	}
	big.Blend(NewI420(16, 16), p) // must not panic
	if p := big.Place(16, 16, 40, 40, LeftTop); p.Width != 0 {
		t.Fatalf("outside placement %+v", p)
	}
	if _, err := NewWatermark(image.NewNRGBA(image.Rect(0, 0, 0, 0))); err == nil {
		t.Fatal("empty watermark accepted")
	}
}

func TestSave(t *testing.T) {
	dir := t.TempDir()
	img := numbered(32, 16)
	for _, name := range []string{"a.png", "b.JPG", "c.jpeg"} {
		path := filepath.Join(dir, name)
		if err := Save(path, img); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var got image.Image
		if filepath.Ext(name) == ".png" {
			got, err = png.Decode(f)
		} else {
			got, err = jpeg.Decode(f)
		}
		f.Close()
		if err != nil || got.Bounds().Dx() != 32 || got.Bounds().Dy() != 16 {
			t.Fatalf("%s: %v %v", name, err, got)
		}
	}
	if err := Save(filepath.Join(dir, "x.gif"), img); err == nil {
		t.Fatal("gif accepted")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Fatalf("left %d files behind", len(entries))
	}
}

func BenchmarkNV12ToI420(b *testing.B) {
	data := make([]byte, 640*480*3/2)
	dst := NewI420(640, 480)
	b.SetBytes(int64(len(data)))
	loopCPU(b, func() { dst, _ = Convert(dst, FormatNV12, 640, 480, 0, data) })
}

func BenchmarkRGBAToI420(b *testing.B) {
	data := rgbaFrame(640, 480, color.NRGBA{10, 200, 30, 255})
	dst := NewI420(640, 480)
	b.SetBytes(int64(len(data)))
	loopCPU(b, func() { dst, _ = Convert(dst, FormatRGBA, 640, 480, 0, data) })
}

func BenchmarkI420Copy(b *testing.B) {
	data := make([]byte, 640*480*3/2)
	dst := NewI420(640, 480)
	b.SetBytes(int64(len(data)))
	loopCPU(b, func() { dst, _ = Convert(dst, FormatI420, 640, 480, 0, data) })
}

func BenchmarkRotate90(b *testing.B) {
	src, dst := NewI420(640, 480), NewI420(480, 640)
	loopCPU(b, func() { dst, _ = Rotate(dst, src, 90) })
}

func BenchmarkScale1280x720To640x360(b *testing.B) {
	src, dst := NewI420(1280, 720), NewI420(640, 360)
	loopCPU(b, func() { dst = Scale(dst, src, 640, 360) })
}

// BenchmarkWatermarkBlend: a 200x80 PNG-like watermark into a 640x480 frame, the size the
// test environment's reference numbers use.
func BenchmarkWatermarkBlend(b *testing.B) {
	wm, _ := NewWatermark(square(200, 80, color.NRGBA{255, 255, 255, 160}))
	frame := NewI420(640, 480)
	p := wm.Place(640, 480, 16, 16, RightTop)
	loopCPU(b, func() { wm.Blend(frame, p) })
}
