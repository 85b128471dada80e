package label

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"net/http"

	"github.com/qiao-gateway/qiao/internal/apierr"
)

// Image formats.
const (
	FormatPNG  = "png"
	FormatJPEG = "jpeg"
)

// Defaults of ImageOptions.
const (
	DefaultMaxBytes    = 20 << 20
	DefaultMaxPixels   = 40_000_000
	DefaultJPEGQuality = 92
)

// Error codes of the typed API errors this package returns.
const (
	CodeInvalidImage     = "invalid_image"
	CodeImageTooLarge    = "image_too_large"
	CodeUnsupportedImage = "unsupported_image_format"
	CodeNoLabel          = "no_aigc_label"
)

// Sentinel causes; the *apierr.Error returned wraps one of them, so errors.Is works.
var (
	ErrCorruptImage      = errors.New("label: corrupt image")
	ErrTooLarge          = errors.New("label: image too large")
	ErrUnsupportedFormat = errors.New("label: unsupported image format")
	ErrNoLabel           = errors.New("label: no AIGC label")
	ErrManyLabels        = errors.New("label: more than one AIGC label")
)

// ImageOptions control LabelImage.
type ImageOptions struct {
	// MaxBytes refuses larger input (413). Default DefaultMaxBytes.
	MaxBytes int
	// MaxPixels refuses images with more pixels (413), before decoding them. Default
	// DefaultMaxPixels.
	MaxPixels int
	// Visible draws the explicit label "AI生成" on the image. This re-encodes the pixels:
	// PNG losslessly, JPEG at JPEGQuality.
	Visible bool
	// Corner is where the visible label goes; default bottom-right.
	Corner Corner
	// JPEGQuality is used when a JPEG is re-encoded (1-100). Default DefaultJPEGQuality.
	JPEGQuality int
	// PNGCompression is the zlib effort when a PNG is re-encoded. The zero value is
	// png.DefaultCompression; png.BestSpeed is about three times faster but the file can be
	// much larger (1.8× on the detailed benchmark picture; see docs/labels.md).
	PNGCompression png.CompressionLevel
}

func (o ImageOptions) withDefaults() ImageOptions {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.JPEGQuality <= 0 || o.JPEGQuality > 100 {
		o.JPEGQuality = DefaultJPEGQuality
	}
	return o
}

// DetectFormat names the format of data from its first bytes: FormatPNG, FormatJPEG, another
// well-known name ("gif", "webp", "bmp", "tiff", "heif/avif") or "" if unknown.
func DetectFormat(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte(pngSignature)):
		return FormatPNG
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return FormatJPEG
	case bytes.HasPrefix(data, []byte("GIF8")):
		return "gif"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "webp"
	case bytes.HasPrefix(data, []byte("BM")):
		return "bmp"
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return "tiff"
	case len(data) >= 12 && string(data[4:8]) == "ftyp":
		return "heif/avif"
	}
	return ""
}

func corrupt(format string, err error) *apierr.Error {
	return apierr.BadRequest(CodeInvalidImage, "the image is corrupt or truncated ("+format+")").
		WithCause(fmt.Errorf("%w: %w", ErrCorruptImage, err))
}

func tooLarge(msg string) *apierr.Error {
	return apierr.New(http.StatusRequestEntityTooLarge, apierr.TypeInvalidRequest, CodeImageTooLarge, msg).
		WithCause(fmt.Errorf("%w: %s", ErrTooLarge, msg))
}

func unsupported(what string) *apierr.Error {
	return apierr.New(http.StatusUnsupportedMediaType, apierr.TypeInvalidRequest, CodeUnsupportedImage,
		what+" is not supported; send PNG or JPEG").WithCause(fmt.Errorf("%w: %s", ErrUnsupportedFormat, what))
}

func detect(data []byte) (string, error) {
	switch f := DetectFormat(data); f {
	case FormatPNG, FormatJPEG:
		return f, nil
	case "":
		if len(data) == 0 {
			return "", apierr.BadRequest(CodeInvalidImage, "the image is empty").WithCause(fmt.Errorf("%w: empty", ErrCorruptImage))
		}
		return "", unsupported("this file type (not a recognised image)")
	default:
		return "", unsupported("image format " + f)
	}
}

// LabelImage writes imp into a PNG or JPEG as its one implicit label (XMP TC260:AIGC) and,
// with opts.Visible, draws the explicit label "AI生成" at a corner. All other metadata is
// kept: without Visible the file changes only in its XMP; with Visible the pixels are
// re-encoded and the original metadata chunks or segments are put back, except those that
// described the old encoding (PNG tRNS/bKGD/sBIT/hIST/sPLT, JPEG Adobe APP14 and MPF).
//
// Errors are *apierr.Error: 400 invalid_image (corrupt, truncated, too small for the mark),
// 413 image_too_large, 415 unsupported_image_format.
func LabelImage(data []byte, imp Implicit, opts ImageOptions) ([]byte, error) {
	out, _, err := labelImage(data, imp, opts)
	return out, err
}

// LabelImageLayout is LabelImage that also reports where the visible mark was drawn.
func LabelImageLayout(data []byte, imp Implicit, opts ImageOptions) ([]byte, MarkLayout, error) {
	return labelImage(data, imp, opts)
}

func labelImage(data []byte, imp Implicit, opts ImageOptions) ([]byte, MarkLayout, error) {
	opts = opts.withDefaults()
	if len(data) > opts.MaxBytes {
		return nil, MarkLayout{}, tooLarge(fmt.Sprintf("the image is %d bytes; the limit is %d", len(data), opts.MaxBytes))
	}
	if err := imp.Check(); err != nil {
		return nil, MarkLayout{}, fmt.Errorf("label: refusing to write: %w", err)
	}
	format, err := detect(data)
	if err != nil {
		return nil, MarkLayout{}, err
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, MarkLayout{}, corrupt(format, err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(opts.MaxPixels) {
		return nil, MarkLayout{}, tooLarge(fmt.Sprintf("the image is %dx%d pixels; the limit is %d pixels", cfg.Width, cfg.Height, opts.MaxPixels))
	}
	if format == FormatPNG {
		return labelPNG(data, imp.JSON(), opts)
	}
	return labelJPEG(data, imp.JSON(), opts)
}

func labelPNG(data, js []byte, opts ImageOptions) ([]byte, MarkLayout, error) {
	chunks, err := parsePNG(data)
	if err != nil {
		return nil, MarkLayout{}, corrupt(FormatPNG, err)
	}
	var lay MarkLayout
	if opts.Visible {
		for _, c := range chunks {
			if c.typ == "acTL" {
				return nil, MarkLayout{}, unsupported("animated PNG (APNG)")
			}
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, MarkLayout{}, corrupt(FormatPNG, err)
		}
		dst, l, err := markImage(img, opts.Corner)
		if err != nil {
			return nil, MarkLayout{}, markError(err)
		}
		lay = l
		var buf bytes.Buffer
		buf.Grow(len(data) + len(data)/4)
		enc := png.Encoder{CompressionLevel: opts.PNGCompression}
		if err := enc.Encode(&buf, dst); err != nil {
			return nil, MarkLayout{}, fmt.Errorf("label: encode png: %w", err)
		}
		fresh, err := parsePNG(buf.Bytes())
		if err != nil {
			return nil, MarkLayout{}, fmt.Errorf("label: re-read encoded png: %w", err)
		}
		chunks = mergePNG(chunks, fresh)
	}
	chunks, err = relabelPNG(chunks, js)
	if err != nil {
		return nil, MarkLayout{}, corrupt(FormatPNG, err)
	}
	return writePNG(chunks), lay, nil
}

func markError(err error) error {
	if errors.Is(err, ErrImageTooSmall) {
		return apierr.BadRequest(CodeInvalidImage, "the image is too small for the visible AI label").WithCause(err)
	}
	return err // the embedded glyphs failed to load: our fault, a 500
}

// droppedOnReencode are PNG chunks that describe the old encoding (palette, bit depth,
// transparency key) or an animation; the freshly encoded image brings its own.
var droppedOnReencode = map[string]bool{
	"tRNS": true, "bKGD": true, "sBIT": true, "hIST": true, "sPLT": true,
	"acTL": true, "fcTL": true, "fdAT": true,
}

// mergePNG takes the image chunks of fresh (IHDR, PLTE, tRNS, IDAT) and the metadata chunks of
// orig, in their original places relative to the image data.
func mergePNG(orig, fresh []pngChunk) []pngChunk {
	out := make([]pngChunk, 0, len(orig)+len(fresh))
	out = append(out, fresh[0]) // IHDR
	beforeIDAT := true
	var after []pngChunk
	for _, c := range orig {
		if c.typ == "IDAT" {
			beforeIDAT = false
		}
		if isCritical(c.typ) || droppedOnReencode[c.typ] {
			continue
		}
		if beforeIDAT {
			out = append(out, c) // colour space, pHYs, eXIf, text: all valid before PLTE
		} else {
			after = append(after, c)
		}
	}
	for _, c := range fresh[1:] {
		if c.typ != "IEND" {
			out = append(out, c)
		}
	}
	out = append(out, after...)
	return append(out, pngChunk{typ: "IEND"})
}

func isCritical(typ string) bool { return typ[0] >= 'A' && typ[0] <= 'Z' }

func labelJPEG(data, js []byte, opts ImageOptions) ([]byte, MarkLayout, error) {
	segs, trailer, err := parseJPEG(data)
	if err != nil {
		return nil, MarkLayout{}, corrupt(FormatJPEG, err)
	}
	var lay MarkLayout
	if opts.Visible {
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, MarkLayout{}, corrupt(FormatJPEG, err)
		}
		dst, l, err := markImage(img, opts.Corner)
		if err != nil {
			return nil, MarkLayout{}, markError(err)
		}
		lay = l
		var buf bytes.Buffer
		buf.Grow(len(data))
		if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: opts.JPEGQuality}); err != nil {
			return nil, MarkLayout{}, fmt.Errorf("label: encode jpeg: %w", err)
		}
		fresh, _, err := parseJPEG(buf.Bytes())
		if err != nil {
			return nil, MarkLayout{}, fmt.Errorf("label: re-read encoded jpeg: %w", err)
		}
		// A CMYK original's ICC profile describes CMYK; the new file is YCbCr.
		_, wasCMYK := img.(*image.CMYK)
		merged := []jpegSeg{fresh[0]}
		for _, s := range segs {
			if s.marker == mSOS {
				break
			}
			if keepAfterReencode(s, wasCMYK) {
				merged = append(merged, s)
			}
		}
		merged = append(merged, fresh[1:]...)
		// Bytes after EOI (other pictures of an MPF file, vendor trailers) belonged to the old
		// encoding; they are not carried over.
		segs, trailer = merged, nil
	}
	segs, err = relabelJPEG(segs, js)
	if err != nil {
		return nil, MarkLayout{}, apierr.BadRequest(CodeInvalidImage, "the image's metadata cannot hold the label").WithCause(err)
	}
	return writeJPEG(segs, trailer), lay, nil
}

// drawable returns img if it can be drawn on without losing colour, else a copy that can:
// RGBA for opaque JPEG colour models (image/draw converts YCbCr to RGBA on a fast path),
// NRGBA otherwise (a palette with transparency keeps its exact colours).
func drawable(img image.Image) draw.Image {
	switch d := img.(type) {
	case *image.RGBA, *image.NRGBA, *image.RGBA64, *image.NRGBA64, *image.Gray, *image.Gray16:
		return d.(draw.Image)
	}
	b := img.Bounds()
	var dst draw.Image
	switch img.(type) {
	case *image.YCbCr, *image.CMYK:
		dst = image.NewRGBA(b)
	default:
		dst = image.NewNRGBA(b)
	}
	draw.Draw(dst, b, img, b.Min, draw.Src)
	return dst
}

// ReadImageLabels returns every AIGC record in a PNG or JPEG (XMP TC260:AIGC, and PNG text
// chunks keyed "AIGC"). A file labelled by LabelImage has exactly one.
func ReadImageLabels(data []byte) ([]Implicit, error) {
	format, err := detect(data)
	if err != nil {
		return nil, err
	}
	var imps []Implicit
	if format == FormatPNG {
		chunks, err := parsePNG(data)
		if err != nil {
			return nil, corrupt(format, err)
		}
		imps, err = pngLabels(chunks)
		if err != nil {
			return nil, apierr.BadRequest(CodeInvalidImage, "the image's AIGC label is malformed").WithCause(err)
		}
	} else {
		segs, _, err := parseJPEG(data)
		if err != nil {
			return nil, corrupt(format, err)
		}
		imps, err = jpegLabels(segs)
		if err != nil {
			return nil, apierr.BadRequest(CodeInvalidImage, "the image's AIGC label is malformed").WithCause(err)
		}
	}
	return imps, nil
}

// ReadImageLabel returns the one AIGC record of a PNG or JPEG. No record is ErrNoLabel, more
// than one is ErrManyLabels (GB 45438 allows one per file).
func ReadImageLabel(data []byte) (Implicit, error) {
	imps, err := ReadImageLabels(data)
	if err != nil {
		return Implicit{}, err
	}
	switch len(imps) {
	case 0:
		return Implicit{}, apierr.BadRequest(CodeNoLabel, "the image has no AIGC label").WithCause(ErrNoLabel)
	case 1:
		return imps[0], nil
	}
	return Implicit{}, apierr.BadRequest(CodeInvalidImage, "the image has more than one AIGC label").
		WithCause(fmt.Errorf("%w: %d records", ErrManyLabels, len(imps)))
}

// VerifyImage reads the one AIGC record of a PNG or JPEG and verifies it with l.
func (l *Labeler) VerifyImage(data []byte) (Implicit, error) {
	imp, err := ReadImageLabel(data)
	if err != nil {
		return Implicit{}, err
	}
	return imp, l.Verify(imp)
}

// LabelImage labels content on its way to a client: it reads the label already in data (a
// model partner's), chooses the record to write (Relabel: a fresh one, or the partner's with
// this gateway as propagator), and writes it with LabelImage.
func (l *Labeler) LabelImage(data []byte, opts ImageOptions) ([]byte, Implicit, error) {
	if max := opts.withDefaults().MaxBytes; len(data) > max {
		return nil, Implicit{}, tooLarge(fmt.Sprintf("the image is %d bytes; the limit is %d", len(data), max))
	}
	var existing *Implicit
	if imps, err := ReadImageLabels(data); err == nil && len(imps) > 0 {
		existing = &imps[0]
	}
	imp := l.Relabel(existing)
	out, err := LabelImage(data, imp, opts)
	if err != nil {
		return nil, Implicit{}, err
	}
	return out, imp, nil
}
