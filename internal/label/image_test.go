package label

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qiao-gateway/qiao/internal/apierr"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// solid returns a w×h image of one grey level, encoded as format.
func solid(t testing.TB, format string, w, h int, grey uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = grey
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	return encode(t, format, img)
}

func encode(t testing.TB, format string, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	if format == FormatPNG {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 90})
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func testImplicit(t testing.TB) Implicit {
	t.Helper()
	return newTestLabeler(t, Config{}).New()
}

// metadataOf returns every metadata chunk or segment of a PNG or JPEG except the XMP packet,
// as raw bytes in file order: what LabelImage must keep.
func metadataOf(t *testing.T, data []byte) []string {
	t.Helper()
	var out []string
	if DetectFormat(data) == FormatPNG {
		chunks, err := parsePNG(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range chunks {
			if isCritical(c.typ) || c.typ == "IDAT" || droppedOnReencode[c.typ] {
				continue
			}
			if tx, ok, _ := parsePNGText(c); ok && tx.keyword == xmpKeyword {
				continue
			}
			out = append(out, c.typ+":"+string(c.data))
		}
		return out
	}
	segs, _, err := parseJPEG(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs {
		if (s.isAPP() || s.marker == mCOM) && !s.isXMP() {
			out = append(out, string(s.raw))
		}
	}
	return out
}

func xmpPacket(t *testing.T, data []byte) string {
	t.Helper()
	if DetectFormat(data) == FormatPNG {
		chunks, _ := parsePNG(data)
		for _, c := range chunks {
			if tx, ok, _ := parsePNGText(c); ok && tx.keyword == xmpKeyword {
				return string(tx.text)
			}
		}
		return ""
	}
	segs, _, _ := parseJPEG(data)
	for _, s := range segs {
		if s.isXMP() {
			return string(s.payload[len(sigXMP):])
		}
	}
	return ""
}

func TestLabelImageRoundTrip(t *testing.T) {
	imp := testImplicit(t)
	for _, fixture := range []string{"plain.png", "plain.jpg", "meta.png", "meta.jpg"} {
		for _, visible := range []bool{false, true} {
			name := fixture
			if visible {
				name += "/visible"
			}
			t.Run(name, func(t *testing.T) {
				in := readFixture(t, fixture)
				out, err := LabelImage(in, imp, ImageOptions{Visible: visible})
				if err != nil {
					t.Fatal(err)
				}
				got, err := ReadImageLabels(out)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]Implicit{imp}, got); diff != "" {
					t.Fatalf("labels (-want +got):\n%s", diff)
				}
				// Every other metadata chunk/segment survives byte for byte, in order.
				if diff := cmp.Diff(metadataOf(t, in), metadataOf(t, out)); diff != "" {
					t.Errorf("metadata lost or changed (-in +out):\n%s", diff)
				}
				// Other XMP properties survive.
				if strings.HasPrefix(fixture, "meta") {
					packet := xmpPacket(t, out)
					for _, s := range []string{"Harbour at dusk", "Li Wei", "QiaoFixture"} {
						if !strings.Contains(packet, s) {
							t.Errorf("XMP lost %q:\n%s", s, packet)
						}
					}
				}
				cfgIn, _, err := image.DecodeConfig(bytes.NewReader(in))
				if err != nil {
					t.Fatal(err)
				}
				img, _, err := image.Decode(bytes.NewReader(out))
				if err != nil {
					t.Fatalf("labelled image does not decode: %v", err)
				}
				if img.Bounds().Dx() != cfgIn.Width || img.Bounds().Dy() != cfgIn.Height {
					t.Errorf("size changed to %v", img.Bounds())
				}
				if !visible && DetectFormat(in) == FormatJPEG {
					// Without the mark, the scan data is untouched.
					if !bytes.HasSuffix(out, in[bytes.LastIndex(in, []byte{0xFF, 0xDA}):]) {
						t.Errorf("JPEG scan data changed without a visible mark")
					}
				}
			})
		}
	}
}

func TestRelabelLeavesOneRecord(t *testing.T) {
	gw := newTestLabeler(t, Config{})
	for _, fixture := range []string{"meta.png", "meta.jpg"} {
		t.Run(fixture, func(t *testing.T) {
			first, err := LabelImage(readFixture(t, fixture), gw.New(), ImageOptions{Visible: true})
			if err != nil {
				t.Fatal(err)
			}
			second := gw.New()
			out, err := LabelImage(first, second, ImageOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := ReadImageLabel(out)
			if err != nil {
				t.Fatal(err)
			}
			if got != second {
				t.Fatalf("label = %+v, want the second one", got)
			}
			if n := strings.Count(xmpPacket(t, out), ":AIGC"); n != 2 { // open and close tag
				t.Errorf("packet has %d AIGC tags, want one element", n)
			}
		})
	}
}

// foreignPNG returns plain.png carrying a partner's label in attribute form with its own prefix.
func foreignPNG(t *testing.T, partner Implicit) []byte {
	t.Helper()
	chunks, err := parsePNG(readFixture(t, "plain.png"))
	if err != nil {
		t.Fatal(err)
	}
	packet := `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
		`<rdf:Description rdf:about="" xmlns:aigc="` + NamespaceAIGC + `" xmlns:dc="http://purl.org/dc/elements/1.1/" aigc:AIGC='` +
		string(partner.JSON()) + `' dc:format="image/png"/></rdf:RDF></x:xmpmeta>`
	out := []pngChunk{chunks[0], {typ: "iTXt", data: xmpITXt([]byte(packet))}}
	return writePNG(append(out, chunks[1:]...))
}

func TestLabelerPropagatesForeignLabel(t *testing.T) {
	partner := newTestLabeler(t, Config{Producer: testPropagator})
	gw := newTestLabeler(t, Config{})
	theirs := partner.New()
	out, imp, err := gw.LabelImage(foreignPNG(t, theirs), ImageOptions{Visible: true})
	if err != nil {
		t.Fatal(err)
	}
	if imp.ProduceID != theirs.ProduceID || imp.ContentPropagator != testProducer || imp.PropagateID == "" {
		t.Fatalf("label written = %+v", imp)
	}
	got, err := gw.VerifyImage(out)
	if err != nil {
		t.Fatalf("VerifyImage: %v", err)
	}
	if got != imp {
		t.Fatalf("read back %+v, want %+v", got, imp)
	}
	packet := xmpPacket(t, out)
	if !strings.Contains(packet, `aigc:AIGC="`) || !strings.Contains(packet, `dc:format="image/png"`) {
		t.Errorf("the label was not updated in place:\n%s", packet)
	}
	// The partner can still verify its own signature.
	if err := partner.Verify(got); err != nil {
		t.Errorf("partner's signature broken: %v", err)
	}
}

func TestLabelImageFormats(t *testing.T) {
	pal := image.NewPaletted(image.Rect(0, 0, 80, 60), color.Palette{color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 128}})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(i % 2)
	}
	g16 := image.NewGray16(image.Rect(0, 0, 80, 60))
	nrgba := image.NewNRGBA(image.Rect(0, 0, 80, 60))
	gray := image.NewGray(image.Rect(0, 0, 80, 60))
	tests := []struct {
		name, format string
		img          image.Image
	}{
		{"paletted PNG with transparency", FormatPNG, pal},
		{"16-bit grey PNG", FormatPNG, g16},
		{"transparent NRGBA PNG", FormatPNG, nrgba},
		{"grey JPEG", FormatJPEG, gray},
	}
	imp := testImplicit(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := LabelImage(encode(t, tt.format, tt.img), imp, ImageOptions{Visible: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := image.Decode(bytes.NewReader(out)); err != nil {
				t.Fatal(err)
			}
			if got, err := ReadImageLabel(out); err != nil || got != imp {
				t.Fatalf("ReadImageLabel = %+v, %v", got, err)
			}
		})
	}
}

func TestLabelImageBadInput(t *testing.T) {
	imp := testImplicit(t)
	png0 := readFixture(t, "meta.png")
	jpg0 := readFixture(t, "meta.jpg")
	badCRC := bytes.Clone(png0)
	badCRC[len(pngSignature)+8+5] ^= 0xFF // inside IHDR data
	apng := func() []byte {
		chunks, _ := parsePNG(png0)
		out := []pngChunk{chunks[0], {typ: "acTL", data: []byte{0, 0, 0, 1, 0, 0, 0, 0}}}
		return writePNG(append(out, chunks[1:]...))
	}()
	tests := []struct {
		name     string
		data     []byte
		opts     ImageOptions
		status   int
		code     string
		sentinel error
	}{
		{"empty", nil, ImageOptions{}, 400, CodeInvalidImage, ErrCorruptImage},
		{"truncated PNG", png0[:len(png0)/2], ImageOptions{}, 400, CodeInvalidImage, ErrCorruptImage},
		{"PNG without IEND", png0[:len(png0)-12], ImageOptions{Visible: true}, 400, CodeInvalidImage, ErrCorruptImage},
		{"PNG with a bad CRC", badCRC, ImageOptions{}, 400, CodeInvalidImage, ErrCorruptImage},
		{"PNG signature only", []byte(pngSignature), ImageOptions{}, 400, CodeInvalidImage, ErrCorruptImage},
		{"truncated JPEG", jpg0[:len(jpg0)-200], ImageOptions{}, 400, CodeInvalidImage, ErrCorruptImage},
		{"truncated JPEG visible", jpg0[:len(jpg0)-200], ImageOptions{Visible: true}, 400, CodeInvalidImage, ErrCorruptImage},
		{"JPEG header only", jpg0[:3], ImageOptions{}, 400, CodeInvalidImage, ErrCorruptImage},
		{"garbage after SOI", append([]byte{0xFF, 0xD8, 0xFF}, bytes.Repeat([]byte{0x41}, 64)...), ImageOptions{}, 400, CodeInvalidImage, ErrCorruptImage},
		{"GIF", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), ImageOptions{}, 415, CodeUnsupportedImage, ErrUnsupportedFormat},
		{"WebP", []byte("RIFF\x24\x00\x00\x00WEBPVP8 "), ImageOptions{}, 415, CodeUnsupportedImage, ErrUnsupportedFormat},
		{"plain text", []byte("hello, not an image"), ImageOptions{}, 415, CodeUnsupportedImage, ErrUnsupportedFormat},
		{"animated PNG with visible mark", apng, ImageOptions{Visible: true}, 415, CodeUnsupportedImage, ErrUnsupportedFormat},
		{"over the byte limit", png0, ImageOptions{MaxBytes: 100}, 413, CodeImageTooLarge, ErrTooLarge},
		{"over the pixel limit", png0, ImageOptions{MaxPixels: 96*64 - 1}, 413, CodeImageTooLarge, ErrTooLarge},
		{"too small for the mark", solid(t, FormatPNG, 8, 3, 128), ImageOptions{Visible: true}, 400, CodeInvalidImage, ErrImageTooSmall},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := LabelImage(tt.data, imp, tt.opts)
			if err == nil {
				t.Fatalf("LabelImage succeeded (%d bytes)", len(out))
			}
			ae, ok := apierr.As(err)
			if !ok {
				t.Fatalf("error %v is not an *apierr.Error", err)
			}
			if ae.Status != tt.status || ae.Code != tt.code {
				t.Errorf("got %d %s (%v), want %d %s", ae.Status, ae.Code, err, tt.status, tt.code)
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("error %v does not wrap %v", err, tt.sentinel)
			}
			if ae.Message == "" || strings.Contains(ae.Message, "\n") {
				t.Errorf("public message %q", ae.Message)
			}
		})
	}
	// An invalid label is the caller's bug, not the client's: a plain error, not a 4xx.
	_, err := LabelImage(png0, Implicit{}, ImageOptions{})
	if _, isAPI := apierr.As(err); !errors.Is(err, ErrInvalidImplicit) || isAPI {
		t.Errorf("LabelImage with an empty label = %v", err)
	}
}

func TestReadImageLabelErrors(t *testing.T) {
	if _, err := ReadImageLabel(readFixture(t, "meta.png")); !errors.Is(err, ErrNoLabel) {
		t.Errorf("unlabelled PNG: %v", err)
	}
	// Two records: one in XMP and one in a PNG text chunk keyed AIGC.
	imp := testImplicit(t)
	out, err := LabelImage(readFixture(t, "plain.png"), imp, ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	chunks, _ := parsePNG(out)
	extra := append([]byte("AIGC\x00"), imp.JSON()...)
	two := writePNG(append([]pngChunk{chunks[0], {typ: "tEXt", data: extra}}, chunks[1:]...))
	if _, err := ReadImageLabel(two); !errors.Is(err, ErrManyLabels) {
		t.Errorf("two records: %v", err)
	}
	// Labelling it again folds both into one.
	fixed, err := LabelImage(two, imp, ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ReadImageLabels(fixed); err != nil || len(got) != 1 {
		t.Errorf("after relabel: %d records, %v", len(got), err)
	}
}

func TestVisibleMark(t *testing.T) {
	sizes := []struct{ w, h int }{{400, 300}, {1024, 1024}, {300, 2000}, {2000, 120}, {64, 64}, {40, 30}}
	corners := []struct {
		name   string
		corner Corner
	}{{"bottom-right", BottomRight}, {"bottom-left", BottomLeft}, {"top-right", TopRight}, {"top-left", TopLeft}}
	imp := testImplicit(t)
	for _, sz := range sizes {
		for _, c := range corners {
			for _, format := range []string{FormatPNG, FormatJPEG} {
				name := format + "/" + strconv.Itoa(sz.w) + "x" + strconv.Itoa(sz.h) + "/" + c.name
				t.Run(name, func(t *testing.T) {
					out, lay, err := LabelImageLayout(solid(t, format, sz.w, sz.h, 128), imp, ImageOptions{Visible: true, Corner: c.corner})
					if err != nil {
						t.Fatal(err)
					}
					b := image.Rect(0, 0, sz.w, sz.h)
					if !lay.Box.In(b) || !lay.Text.In(lay.Box) {
						t.Fatalf("mark %v / text %v outside the image %v", lay.Box, lay.Text, b)
					}
					atLeft, atTop := lay.Box.Min.X == 0, lay.Box.Min.Y == 0
					atRight, atBottom := lay.Box.Max.X == sz.w, lay.Box.Max.Y == sz.h
					wantLeft, wantTop := c.corner == BottomLeft || c.corner == TopLeft, c.corner == TopLeft || c.corner == TopRight
					if (wantLeft && !atLeft) || (!wantLeft && !atRight) || (wantTop && !atTop) || (!wantTop && !atBottom) {
						t.Errorf("box %v is not flush with the %s corner", lay.Box, c.name)
					}
					need := int(math.Ceil(0.05 * float64(min(sz.w, sz.h))))
					if lay.GlyphHeight < need {
						t.Errorf("glyph height %d < 5%% of %d", lay.GlyphHeight, min(sz.w, sz.h))
					}
					// Measure the ink in the pixels themselves: every glyph's bright rows must
					// span at least 5 % of the shorter side.
					img, _, err := image.Decode(bytes.NewReader(out))
					if err != nil {
						t.Fatal(err)
					}
					if len(lay.Glyphs) != 4 {
						t.Fatalf("%d glyph boxes", len(lay.Glyphs))
					}
					for i, g := range lay.Glyphs {
						top, bottom := -1, -1
						for y := lay.Box.Min.Y; y < lay.Box.Max.Y; y++ {
							for x := g.Min.X; x < g.Max.X; x++ {
								if luma(img.At(x, y)) > 170 {
									if top < 0 {
										top = y
									}
									bottom = y
									break
								}
							}
						}
						if top < 0 {
							t.Fatalf("glyph %d has no ink", i)
						}
						if ink := bottom - top + 1; ink < need {
							t.Errorf("glyph %d: measured ink height %d < %d", i, ink, need)
						}
					}
					// The backing box is dark where there is no ink.
					corner := lay.Box.Min
					if l := luma(img.At(corner.X, corner.Y)); l > 80 {
						t.Errorf("box corner luma %d, want dark", l)
					}
					// Pixels outside the box are untouched (PNG) or close (JPEG).
					var far image.Point
					if wantLeft {
						far.X = sz.w - 1
					}
					if wantTop {
						far.Y = sz.h - 1
					}
					if l := luma(img.At(far.X, far.Y)); l < 120 || l > 136 {
						t.Errorf("pixel far from the mark changed: luma %d", l)
					}
				})
			}
		}
	}
}

func luma(c color.Color) int {
	r, g, b, _ := c.RGBA()
	return int((299*r + 587*g + 114*b) / 1000 >> 8)
}

func TestFixturesCarryMetadata(t *testing.T) {
	// Guards the round-trip test: it proves nothing if the fixtures had no metadata.
	for _, f := range []string{"meta.png", "meta.jpg"} {
		md := metadataOf(t, readFixture(t, f))
		joined := strings.Join(md, "|")
		if len(md) < 2 || !strings.Contains(joined, "Exif") && !strings.Contains(joined, "eXIf") {
			t.Errorf("%s: metadata %q", f, md)
		}
		if !strings.Contains(joined, "kept comment") {
			t.Errorf("%s has no comment", f)
		}
	}
}

func appSegment(marker byte, payload string) jpegSeg {
	raw := []byte{0xFF, marker, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	raw = append(raw, payload...)
	return jpegSeg{marker: marker, raw: raw, payload: raw[4:]}
}

// TestReencodeKeepsWhatStillApplies: with the visible mark, metadata that describes the
// picture survives; what describes the old encoding is dropped.
func TestReencodeKeepsWhatStillApplies(t *testing.T) {
	imp := testImplicit(t)
	t.Run("jpeg", func(t *testing.T) {
		segs, trailer, err := parseJPEG(readFixture(t, "plain.jpg"))
		if err != nil {
			t.Fatal(err)
		}
		icc := appSegment(mAPP2, "ICC_PROFILE\x00\x01\x01fake-profile")
		adobe := appSegment(mAPP14, "Adobe\x00\x64\x00\x00\x00\x00\x01")
		mpf := appSegment(mAPP2, "MPF\x00II*\x00")
		c2pa := appSegment(0xEB, "JP\x00\x01c2pa-manifest")
		in := writeJPEG(append([]jpegSeg{segs[0], icc, adobe, mpf, c2pa}, segs[1:]...), append(trailer, "trailer"...))
		out, err := LabelImage(in, imp, ImageOptions{Visible: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, keep := range []jpegSeg{icc, c2pa} {
			if !bytes.Contains(out, keep.raw) {
				t.Errorf("lost %q", keep.payload)
			}
		}
		for _, drop := range []jpegSeg{adobe, mpf} {
			if bytes.Contains(out, drop.raw) {
				t.Errorf("kept %q", drop.payload)
			}
		}
		if bytes.HasSuffix(out, []byte("trailer")) {
			t.Error("kept the trailer of the old encoding")
		}
		// Without the mark, everything stays, trailer included.
		same, err := LabelImage(in, imp, ImageOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(same, adobe.raw) || !bytes.Contains(same, mpf.raw) || !bytes.HasSuffix(same, []byte("trailer")) {
			t.Error("metadata-only labelling dropped something")
		}
	})
	t.Run("png", func(t *testing.T) {
		chunks, err := parsePNG(readFixture(t, "plain.png"))
		if err != nil {
			t.Fatal(err)
		}
		keep := []pngChunk{{"gAMA", []byte{0, 0, 0xB1, 0x8F}}, {"pHYs", []byte{0, 0, 0x0B, 0x13, 0, 0, 0x0B, 0x13, 1}},
			{"eXIf", []byte("MM\x00*\x00\x00\x00\x08\x00\x00")}, {"caBX", []byte("c2pa-manifest")}}
		drop := []pngChunk{{"bKGD", []byte{0, 1, 0, 2, 0, 3}}, {"sBIT", []byte{8, 8, 8}}}
		var all []pngChunk
		all = append(append(append(all, chunks[0]), keep...), drop...)
		all = append(all, chunks[1:len(chunks)-1]...)
		all = append(all, pngChunk{"tEXt", []byte("Comment\x00after the image")}, chunks[len(chunks)-1])
		out, err := LabelImage(writePNG(all), imp, ImageOptions{Visible: true})
		if err != nil {
			t.Fatal(err)
		}
		got, err := parsePNG(out)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, c := range got {
			types = append(types, c.typ)
		}
		want := []string{"IHDR", "gAMA", "pHYs", "eXIf", "caBX", "iTXt", "IDAT", "tEXt", "IEND"}
		if diff := cmp.Diff(want, types); diff != "" {
			t.Errorf("chunk order (-want +got):\n%s", diff)
		}
	})
}
