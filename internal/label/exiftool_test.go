package label

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// exiftool returns the path of ExifTool, the independent reader these tests check against.
// Under CI=true it must be installed (Debian package libimage-exiftool-perl); elsewhere the
// tests skip without it.
func exiftool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("exiftool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("exiftool not found; CI must install libimage-exiftool-perl")
		}
		t.Skip("exiftool not installed (apt-get install libimage-exiftool-perl)")
	}
	return p
}

// exifRead runs exiftool -j -G1 -a on data and returns its one JSON object.
func exifRead(t *testing.T, tool string, data []byte, ext string) map[string]any {
	t.Helper()
	path := filepath.Join(t.TempDir(), "img."+ext)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-j", "-G1", "-a", "-struct", path).Output()
	if err != nil {
		t.Fatalf("exiftool: %v", err)
	}
	var objs []map[string]any
	if err := json.Unmarshal(out, &objs); err != nil || len(objs) != 1 {
		t.Fatalf("exiftool output %q: %v", out, err)
	}
	return objs[0]
}

func TestExiftoolReadsLabel(t *testing.T) {
	tool := exiftool(t)
	gw := newTestLabeler(t, Config{})
	tests := []struct {
		fixture, ext string
		keep         map[string]string // exiftool tag -> value that must survive
	}{
		{"meta.png", "png", map[string]string{"XMP-dc:Title": "Harbour at dusk", "XMP-dc:Creator": "[Li Wei]",
			"XMP-xmp:CreatorTool": "QiaoFixture", "PNG:Comment": "kept comment", "IFD0:Artist": "Li Wei", "IFD0:Copyright": "CC0"}},
		{"meta.jpg", "jpg", map[string]string{"XMP-dc:Title": "Harbour at dusk", "XMP-dc:Creator": "[Li Wei]",
			"XMP-xmp:CreatorTool": "QiaoFixture", "File:Comment": "kept comment", "IFD0:Artist": "Li Wei", "IFD0:Make": "QiaoCam"}},
		{"plain.png", "png", nil},
		{"plain.jpg", "jpg", nil},
	}
	for _, tt := range tests {
		for _, visible := range []bool{false, true} {
			name := tt.fixture
			if visible {
				name += "/visible"
			}
			t.Run(name, func(t *testing.T) {
				// Label twice: the second label must replace the first, not sit beside it.
				once, err := LabelImage(readFixture(t, tt.fixture), gw.New(), ImageOptions{Visible: visible})
				if err != nil {
					t.Fatal(err)
				}
				imp := gw.New()
				out, err := LabelImage(once, imp, ImageOptions{})
				if err != nil {
					t.Fatal(err)
				}
				got := exifRead(t, tool, out, tt.ext)
				if w, ok := got["ExifTool:Warning"]; ok {
					t.Errorf("exiftool warns: %v", w)
				}
				if e, ok := got["ExifTool:Error"]; ok {
					t.Fatalf("exiftool error: %v", e)
				}
				var aigc []string
				for k, v := range got {
					if strings.HasSuffix(strings.ToLower(k), ":aigc") {
						if !strings.HasPrefix(k, "XMP-TC260:") {
							t.Errorf("AIGC found as %s, want XMP-TC260", k)
						}
						s, _ := v.(string)
						aigc = append(aigc, s)
					}
				}
				if len(aigc) != 1 {
					t.Fatalf("exiftool sees %d AIGC records: %q", len(aigc), aigc)
				}
				if aigc[0] != string(imp.JSON()) {
					t.Errorf("exiftool AIGC = %s\nwant           %s", aigc[0], imp.JSON())
				}
				// Exactly the seven Annex E keys, all strings, and the label verifies.
				var fields map[string]any
				if err := json.Unmarshal([]byte(aigc[0]), &fields); err != nil {
					t.Fatal(err)
				}
				if len(fields) != 7 {
					t.Errorf("%d keys", len(fields))
				}
				for k, v := range fields {
					if _, ok := v.(string); !ok {
						t.Errorf("%s is %T, not a string", k, v)
					}
				}
				parsed, err := ParseImplicit([]byte(aigc[0]))
				if err != nil {
					t.Fatal(err)
				}
				if err := gw.Verify(parsed); err != nil {
					t.Errorf("label read by exiftool does not verify: %v", err)
				}
				for tag, want := range tt.keep {
					if v := fmt.Sprint(got[tag]); v != want {
						t.Errorf("%s = %v, want %q (metadata lost)", tag, v, want)
					}
				}
			})
		}
	}
}
