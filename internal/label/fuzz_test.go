package label

import (
	"bytes"
	"encoding/json"
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

// FuzzImplicitJSON: Implicit.AppendJSON writes what json.Marshal writes, byte for byte.
func FuzzImplicitJSON(f *testing.F) {
	f.Add("1", testProducer, "0192f1a2-7b3c-7d4e-8f50-123456789abc", "sig", "", "", "")
	f.Add("<&>", "\u2028", "\xff\xfe", "\"\\", "\n\t", "中文", "\x00")
	f.Fuzz(func(t *testing.T, a, b, c, d, e, g, h string) {
		imp := Implicit{Label: a, ContentProducer: b, ProduceID: c, ReservedCode1: d, ContentPropagator: e, PropagateID: g, ReservedCode2: h}
		want, err := json.Marshal(imp)
		if err != nil {
			t.Fatal(err)
		}
		if got := imp.AppendJSON(nil); string(got) != string(want) {
			t.Fatalf("AppendJSON %s\njson.Marshal %s", got, want)
		}
	})
}
