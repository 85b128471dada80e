package label

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"sync"
)

// The explicit image label: "AI生成" rendered from WenQuanYi Micro Hei by internal/glyphgen
// (see NOTICE). Only these four glyphs are embedded, as an 8-bit alpha mask.
var (
	//go:embed glyphs.png
	glyphsPNG []byte
	//go:embed glyphs.json
	glyphsJSON []byte
)

// MarkText is the explicit label drawn on images.
const MarkText = "AI生成"

// Corner says where the visible mark goes. The zero value is the bottom-right corner.
type Corner int

// Corners.
const (
	BottomRight Corner = iota
	BottomLeft
	TopRight
	TopLeft
)

// Mark sizing. GB 45438 asks for text at least 5 % of the shorter side; we aim at 6 % of it
// for the smallest glyph (the Latin capitals), so rounding and resampling never take the mark
// below the line, and at least minGlyphPx where the image has room, so it stays legible.
const (
	markRatio    = 0.06
	minimumRatio = 0.05
	minGlyphPx   = 12
	// The backing box: black at this opacity behind white text reads on any background.
	boxAlpha = 176
)

type glyphMask struct {
	mask   *image.Gray
	minInk int // ink height of the shortest glyph, in mask pixels
	glyphs []glyphBox
}

type glyphBox struct {
	Rune           string
	X0, Y0, X1, Y1 int
}

var loadMask = sync.OnceValues(func() (*glyphMask, error) {
	img, err := png.Decode(bytes.NewReader(glyphsPNG))
	if err != nil {
		return nil, fmt.Errorf("label: embedded glyph mask: %w", err)
	}
	g, ok := img.(*image.Gray)
	if !ok {
		return nil, errors.New("label: embedded glyph mask is not 8-bit gray")
	}
	var lay struct {
		Text   string
		Glyphs []glyphBox
	}
	if err := json.Unmarshal(glyphsJSON, &lay); err != nil {
		return nil, fmt.Errorf("label: embedded glyph layout: %w", err)
	}
	m := &glyphMask{mask: g, minInk: g.Bounds().Dy(), glyphs: lay.Glyphs}
	for _, gl := range lay.Glyphs {
		m.minInk = min(m.minInk, gl.Y1-gl.Y0)
	}
	if lay.Text != MarkText || m.minInk <= 0 {
		return nil, errors.New("label: embedded glyph layout does not match the mark text")
	}
	return m, nil
})

// MarkLayout describes where the visible mark was drawn.
type MarkLayout struct {
	Box  image.Rectangle // the backing box, flush with the chosen corner
	Text image.Rectangle // the rendered text inside it
	// GlyphHeight is the ink height of the shortest glyph, in image pixels. It is at least
	// 5 % of the image's shorter side.
	GlyphHeight int
	// Glyphs are the ink boxes of "A", "I", "生", "成" in image coordinates.
	Glyphs []image.Rectangle
}

// ErrImageTooSmall is returned when the mark cannot fit at the required size.
var ErrImageTooSmall = errors.New("label: image too small for the visible label")

// layoutMark places the mark in an image with bounds b.
func layoutMark(b image.Rectangle, corner Corner, gm *glyphMask) (MarkLayout, float64, error) {
	short := min(b.Dx(), b.Dy())
	need := int(math.Ceil(minimumRatio * float64(short)))
	want := max(int(math.Ceil(markRatio*float64(short))), minGlyphPx)
	mw, mh := gm.mask.Bounds().Dx(), gm.mask.Bounds().Dy()
	for h := want; h >= max(need, 1); h-- {
		s := float64(h) / float64(gm.minInk)
		tw, th := int(math.Ceil(float64(mw)*s)), int(math.Ceil(float64(mh)*s))
		pad := max(2, int(math.Round(float64(th)*0.3)))
		bw, bh := tw+2*pad, th+2*pad
		if bw > b.Dx() || bh > b.Dy() {
			continue
		}
		box := image.Rect(0, 0, bw, bh)
		switch corner {
		case TopLeft:
			box = box.Add(b.Min)
		case TopRight:
			box = box.Add(image.Pt(b.Max.X-bw, b.Min.Y))
		case BottomLeft:
			box = box.Add(image.Pt(b.Min.X, b.Max.Y-bh))
		default:
			box = box.Add(image.Pt(b.Max.X-bw, b.Max.Y-bh))
		}
		text := image.Rect(0, 0, tw, th).Add(box.Min.Add(image.Pt(pad, pad)))
		lay := MarkLayout{Box: box, Text: text}
		lay.GlyphHeight = math.MaxInt
		for _, g := range gm.glyphs {
			r := image.Rect(int(math.Floor(float64(g.X0)*s)), int(math.Floor(float64(g.Y0)*s)),
				int(math.Ceil(float64(g.X1)*s)), int(math.Ceil(float64(g.Y1)*s))).Add(text.Min)
			lay.Glyphs = append(lay.Glyphs, r)
			lay.GlyphHeight = min(lay.GlyphHeight, int(math.Floor(float64(g.Y1-g.Y0)*s)))
		}
		return lay, s, nil
	}
	return MarkLayout{}, 0, fmt.Errorf("%w: %dx%d", ErrImageTooSmall, b.Dx(), b.Dy())
}

// markImage draws the visible label on img and returns the image to encode: img itself when
// it can be drawn on in place (YCbCr from JPEG is composited plane by plane, which spares a
// full-frame colour conversion), else a drawable copy.
func markImage(img image.Image, corner Corner) (image.Image, MarkLayout, error) {
	if y, ok := img.(*image.YCbCr); ok {
		lay, err := drawMarkYCbCr(y, corner)
		return y, lay, err
	}
	dst := drawable(img)
	lay, err := drawMark(dst, corner)
	return dst, lay, err
}

// drawMarkYCbCr composites the mark straight into the planes. The mark is white on black, both
// neutral, so luma blends towards 0 then 255 and chroma only moves towards neutral (128) by the
// combined coverage; with subsampled chroma, each sample takes the coverage of its first pixel.
func drawMarkYCbCr(m *image.YCbCr, corner Corner) (MarkLayout, error) {
	gm, err := loadMask()
	if err != nil {
		return MarkLayout{}, err
	}
	lay, s, err := layoutMark(m.Bounds(), corner, gm)
	if err != nil {
		return MarkLayout{}, err
	}
	alpha := scaleMask(gm.mask, lay.Text.Dx(), lay.Text.Dy(), s)
	const keepBox = 255 - boxAlpha // luma and chroma kept under the box, of 255
	for y := lay.Box.Min.Y; y < lay.Box.Max.Y; y++ {
		for x := lay.Box.Min.X; x < lay.Box.Max.X; x++ {
			var at int // text coverage, 0-255
			if p := image.Pt(x, y); p.In(lay.Text) {
				at = int(alpha.Pix[(y-lay.Text.Min.Y)*alpha.Stride+(x-lay.Text.Min.X)])
			}
			yi := m.YOffset(x, y)
			v := int(m.Y[yi]) * keepBox / 255
			m.Y[yi] = uint8((v*(255-at) + 255*at + 127) / 255)
			ci := m.COffset(x, y)
			if (x > lay.Box.Min.X && m.COffset(x-1, y) == ci) || (y > lay.Box.Min.Y && m.COffset(x, y-1) == ci) {
				continue // this chroma sample was done at its first pixel
			}
			keep := keepBox * (255 - at) // of 255*255
			m.Cb[ci] = uint8(128 + (int(m.Cb[ci])-128)*keep/(255*255))
			m.Cr[ci] = uint8(128 + (int(m.Cr[ci])-128)*keep/(255*255))
		}
	}
	return lay, nil
}

// drawMark draws the visible label "AI生成" on dst: white text on a dark, mostly opaque box,
// flush with the given corner.
func drawMark(dst draw.Image, corner Corner) (MarkLayout, error) {
	gm, err := loadMask()
	if err != nil {
		return MarkLayout{}, err
	}
	lay, s, err := layoutMark(dst.Bounds(), corner, gm)
	if err != nil {
		return MarkLayout{}, err
	}
	alpha := scaleMask(gm.mask, lay.Text.Dx(), lay.Text.Dy(), s)
	draw.Draw(dst, lay.Box, image.NewUniform(color.NRGBA{A: boxAlpha}), image.Point{}, draw.Over)
	draw.DrawMask(dst, lay.Text, image.White, image.Point{}, alpha, image.Point{}, draw.Over)
	return lay, nil
}

// scaleMask resamples the mask to w×h by factor s: bilinear when enlarging, area averaging
// when shrinking (bilinear alone would drop strokes thinner than the step).
func scaleMask(src *image.Gray, w, h int, s float64) *image.Alpha {
	dst := image.NewAlpha(image.Rect(0, 0, w, h))
	sw, sh := src.Bounds().Dx(), src.Bounds().Dy()
	at := func(x, y int) float64 {
		if x < 0 || y < 0 || x >= sw || y >= sh {
			return 0
		}
		return float64(src.Pix[y*src.Stride+x])
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var v float64
			if s >= 1 {
				fx, fy := (float64(x)+0.5)/s-0.5, (float64(y)+0.5)/s-0.5
				x0, y0 := int(math.Floor(fx)), int(math.Floor(fy))
				ax, ay := fx-float64(x0), fy-float64(y0)
				v = (at(x0, y0)*(1-ax)+at(x0+1, y0)*ax)*(1-ay) + (at(x0, y0+1)*(1-ax)+at(x0+1, y0+1)*ax)*ay
			} else {
				// Average the source pixels whose centres fall in this destination pixel.
				x0, x1 := int(float64(x)/s), max(int(float64(x+1)/s), int(float64(x)/s)+1)
				y0, y1 := int(float64(y)/s), max(int(float64(y+1)/s), int(float64(y)/s)+1)
				var sum float64
				for yy := y0; yy < y1; yy++ {
					for xx := x0; xx < x1; xx++ {
						sum += at(xx, yy)
					}
				}
				v = sum / float64((x1-x0)*(y1-y0))
			}
			dst.Pix[y*dst.Stride+x] = uint8(min(255, math.Round(v)))
		}
	}
	return dst
}
