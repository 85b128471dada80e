package label

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOCRReadsMark has Tesseract read the visible mark back: the corner region (the mark's box
// plus a margin, inverted to dark-on-light, which Tesseract prefers) must read "AI生成". It runs
// when tesseract and its chi_sim data are installed (Debian: tesseract-ocr tesseract-ocr-chi-sim)
// and skips otherwise, also in CI, which does not install them.
func TestOCRReadsMark(t *testing.T) {
	if testing.Short() {
		t.Skip("OCR is slow; skipped with -short")
	}
	tess, err := exec.LookPath("tesseract")
	if err != nil {
		t.Skip("tesseract not installed")
	}
	if langs, err := exec.Command(tess, "--list-langs").CombinedOutput(); err != nil || !strings.Contains(string(langs), "chi_sim") {
		t.Skip("tesseract has no chi_sim data")
	}
	imp := testImplicit(t)
	for _, sz := range [][2]int{{1024, 1024}, {1280, 720}, {300, 300}} {
		for _, format := range []string{FormatPNG, FormatJPEG} {
			name := format + "/" + strconv.Itoa(sz[0]) + "x" + strconv.Itoa(sz[1])
			t.Run(name, func(t *testing.T) {
				out, lay, err := LabelImageLayout(solid(t, format, sz[0], sz[1], 200), imp, ImageOptions{Visible: true})
				if err != nil {
					t.Fatal(err)
				}
				img, _, err := image.Decode(bytes.NewReader(out))
				if err != nil {
					t.Fatal(err)
				}
				r := lay.Box.Inset(-10).Intersect(img.Bounds())
				crop := image.NewGray(image.Rect(0, 0, r.Dx(), r.Dy()))
				for y := 0; y < r.Dy(); y++ {
					for x := 0; x < r.Dx(); x++ {
						g := color.GrayModel.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.Gray)
						crop.SetGray(x, y, color.Gray{Y: 255 - g.Y})
					}
				}
				path := filepath.Join(t.TempDir(), "mark.png")
				var b bytes.Buffer
				if err := png.Encode(&b, crop); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				text, err := exec.Command(tess, path, "-", "-l", "chi_sim", "--psm", "7").Output()
				if err != nil {
					t.Fatalf("tesseract: %v", err)
				}
				if got := strings.Join(strings.Fields(string(text)), ""); !strings.Contains(got, MarkText) {
					t.Errorf("tesseract read %q, want %q", got, MarkText)
				}
			})
		}
	}
}
