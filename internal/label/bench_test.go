package label

import (
	"image"
	"image/color"
	"image/png"
	"testing"
)

// benchImage is a 1024×1024 picture with enough detail that the encoders have work to do.
func benchImage(b *testing.B, format string) []byte {
	b.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 1024, 1024))
	for y := 0; y < 1024; y++ {
		for x := 0; x < 1024; x++ {
			img.Set(x, y, color.RGBA{uint8(x ^ y), uint8(x * y >> 6), uint8(x + y), 255})
		}
	}
	return encode(b, format, img)
}

func benchLabel(b *testing.B, format string, visible bool) {
	data := benchImage(b, format)
	imp := testImplicit(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := LabelImage(data, imp, ImageOptions{Visible: visible}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLabelPNG1024(b *testing.B)         { benchLabel(b, FormatPNG, false) }
func BenchmarkLabelPNG1024Visible(b *testing.B)  { benchLabel(b, FormatPNG, true) }
func BenchmarkLabelJPEG1024(b *testing.B)        { benchLabel(b, FormatJPEG, false) }
func BenchmarkLabelJPEG1024Visible(b *testing.B) { benchLabel(b, FormatJPEG, true) }

func BenchmarkNewImplicit(b *testing.B) {
	l := newTestLabeler(b, Config{})
	b.ReportAllocs()
	for b.Loop() {
		_ = l.New()
	}
}

func BenchmarkLabelPNG1024VisibleBestSpeed(b *testing.B) {
	data := benchImage(b, FormatPNG)
	imp := testImplicit(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LabelImage(data, imp, ImageOptions{Visible: true, PNGCompression: png.BestSpeed}); err != nil {
			b.Fatal(err)
		}
	}
}
