// Command glyphgen renders the visible AIGC label text ("AI生成") from a TrueType/OpenType
// font into the small alpha mask that package label embeds (../../glyphs.png and
// ../../glyphs.json). It runs only when the mask must be regenerated, never at build or run
// time, so the gateway does not depend on any installed font:
//
//	cd internal/label/internal/glyphgen
//	go run . -font /usr/share/fonts/truetype/wqy/wqy-microhei.ttc -out ../..
//
// It lives in its own module so that golang.org/x/image is not a dependency of the gateway.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// Layout mirrors label.glyphLayout: where each glyph's ink sits in the mask.
type Layout struct {
	Text   string  `json:"text"`
	Font   string  `json:"font"`
	Width  int     `json:"width"`
	Height int     `json:"height"`
	Glyphs []Glyph `json:"glyphs"`
}

// Glyph is one rendered rune and its ink bounds in the mask.
type Glyph struct {
	Rune string `json:"rune"`
	X0   int    `json:"x0"`
	Y0   int    `json:"y0"`
	X1   int    `json:"x1"`
	Y1   int    `json:"y1"`
}

func main() {
	fontPath := flag.String("font", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "font file (.ttf, .otf or .ttc)")
	index := flag.Int("index", 0, "face index inside a .ttc collection")
	text := flag.String("text", "AI生成", "label text")
	size := flag.Float64("size", 112, "font size in pixels")
	out := flag.String("out", "../..", "directory for glyphs.png and glyphs.json")
	flag.Parse()
	if err := run(*fontPath, *index, *text, *size, *out); err != nil {
		log.Fatal(err)
	}
}

func run(fontPath string, index int, text string, size float64, out string) error {
	raw, err := os.ReadFile(fontPath)
	if err != nil {
		return err
	}
	if raw, err = extractFace(raw, index); err != nil {
		return err
	}
	f, err := opentype.Parse(raw)
	if err != nil {
		return err
	}
	var name sfnt.Buffer
	family, _ := f.Name(&name, sfnt.NameIDFamily)
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return err
	}
	defer face.Close()

	// Render each rune on a generous canvas, then crop to the union of the ink.
	gap := int(math.Round(size * 0.08))
	m := face.Metrics()
	canvasH := (m.Ascent + m.Descent).Ceil() + 4
	canvas := image.NewAlpha(image.Rect(0, 0, int(size)*len([]rune(text))*2, canvasH))
	x := 2
	var glyphs []Glyph
	for _, r := range text {
		dot := fixed.P(x, 2+m.Ascent.Ceil())
		dr, mask, mp, adv, ok := face.Glyph(dot, r)
		if !ok {
			return fmt.Errorf("font has no glyph for %q", r)
		}
		draw.DrawMask(canvas, dr, image.Opaque, image.Point{}, mask, mp, draw.Over)
		b := inkBounds(canvas, dr)
		glyphs = append(glyphs, Glyph{Rune: string(r), X0: b.Min.X, Y0: b.Min.Y, X1: b.Max.X, Y1: b.Max.Y})
		// Advance by the ink width plus a fixed gap: tighter and more even than the
		// font's advance for this mixed Latin/CJK string.
		x = b.Max.X + gap
		_ = adv
	}
	union := image.Rectangle{}
	for _, g := range glyphs {
		union = union.Union(image.Rect(g.X0, g.Y0, g.X1, g.Y1))
	}
	crop := image.NewGray(image.Rect(0, 0, union.Dx(), union.Dy()))
	for y := 0; y < union.Dy(); y++ {
		for x := 0; x < union.Dx(); x++ {
			crop.Pix[y*crop.Stride+x] = canvas.AlphaAt(union.Min.X+x, union.Min.Y+y).A
		}
	}
	for i := range glyphs {
		glyphs[i].X0 -= union.Min.X
		glyphs[i].X1 -= union.Min.X
		glyphs[i].Y0 -= union.Min.Y
		glyphs[i].Y1 -= union.Min.Y
	}
	pf, err := os.Create(filepath.Join(out, "glyphs.png"))
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(pf, crop); err != nil {
		pf.Close()
		return err
	}
	if err := pf.Close(); err != nil {
		return err
	}
	lay := Layout{Text: text, Font: family, Width: union.Dx(), Height: union.Dy(), Glyphs: glyphs}
	js, err := json.MarshalIndent(lay, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "glyphs.json"), append(js, '\n'), 0o644)
}

// extractFace returns face index of a TrueType collection (or the font itself) as a standalone
// font whose tables start at 4-byte aligned offsets. WenQuanYi Micro Hei's .ttc has unaligned
// tables, which golang.org/x/image/font/sfnt rejects ("invalid table offset").
func extractFace(raw []byte, index int) ([]byte, error) {
	be := binary.BigEndian
	off := 0
	if len(raw) >= 12 && string(raw[:4]) == "ttcf" {
		n := int(be.Uint32(raw[8:12]))
		if index >= n || len(raw) < 12+4*n {
			return nil, fmt.Errorf("collection has %d faces", n)
		}
		off = int(be.Uint32(raw[12+4*index:]))
	}
	if len(raw) < off+12 {
		return nil, fmt.Errorf("short font header")
	}
	numTables := int(be.Uint16(raw[off+4:]))
	dir := off + 12
	if len(raw) < dir+16*numTables {
		return nil, fmt.Errorf("short table directory")
	}
	out := make([]byte, 12+16*numTables)
	copy(out, raw[off:off+12])
	for i := 0; i < numTables; i++ {
		rec := raw[dir+16*i : dir+16*i+16]
		tOff, tLen := int(be.Uint32(rec[8:])), int(be.Uint32(rec[12:]))
		if tOff+tLen > len(raw) {
			return nil, fmt.Errorf("table %q out of range", rec[:4])
		}
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
		copy(out[12+16*i:], rec[:8])
		be.PutUint32(out[12+16*i+8:], uint32(len(out)))
		be.PutUint32(out[12+16*i+12:], uint32(tLen))
		out = append(out, raw[tOff:tOff+tLen]...)
	}
	return out, nil
}

// inkBounds returns the bounds of the non-zero alpha inside r.
func inkBounds(a *image.Alpha, r image.Rectangle) image.Rectangle {
	r = r.Intersect(a.Bounds())
	b := image.Rectangle{Min: r.Max, Max: r.Min}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.AlphaAt(x, y).A > 16 {
				b.Min.X = min(b.Min.X, x)
				b.Min.Y = min(b.Min.Y, y)
				b.Max.X = max(b.Max.X, x+1)
				b.Max.Y = max(b.Max.Y, y+1)
			}
		}
	}
	return b
}
