package label

import (
	"bytes"
	"image"
	"testing"
)

// fuzzImage is the property of every writer: on any input, LabelImage either fails with an
// error or returns a file that decodes and carries exactly the label it was given.
func fuzzImage(t *testing.T, data []byte, visible bool) {
	imp := Implicit{Label: "1", ContentProducer: testProducer, ProduceID: "fuzz-1", ReservedCode1: "sig"}
	out, err := LabelImage(data, imp, ImageOptions{Visible: visible, MaxBytes: 1 << 20, MaxPixels: 1 << 20})
	if err != nil {
		return
	}
	imps, err := ReadImageLabels(out)
	if err != nil {
		t.Fatalf("labelled output unreadable: %v", err)
	}
	if len(imps) != 1 || imps[0] != imp {
		t.Fatalf("labelled output has %+v", imps)
	}
	if visible {
		if _, _, err := image.Decode(bytes.NewReader(out)); err != nil {
			t.Fatalf("labelled output does not decode: %v", err)
		}
	}
}

func addCorruptions(f *testing.F, seed []byte) {
	f.Add(seed, false)
	f.Add(seed, true)
	f.Add(seed[:len(seed)/2], false)
	f.Add(seed[:len(seed)-3], true)
	flipped := bytes.Clone(seed)
	flipped[len(flipped)/3] ^= 0x5A
	f.Add(flipped, true)
}

func FuzzLabelPNG(f *testing.F) {
	for _, name := range []string{"plain.png", "meta.png"} {
		addCorruptions(f, readFixture(f, name))
	}
	f.Fuzz(fuzzImage)
}

func FuzzLabelJPEG(f *testing.F) {
	for _, name := range []string{"plain.jpg", "meta.jpg"} {
		addCorruptions(f, readFixture(f, name))
	}
	f.Fuzz(fuzzImage)
}
