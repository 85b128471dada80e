package label

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestImageHandler(t *testing.T) {
	l := newTestLabeler(t, Config{})
	srv := httptest.NewServer(l.ImageHandler(ImageOptions{MaxBytes: 64 << 10}))
	defer srv.Close()
	tests := []struct {
		name, query string
		body        []byte
		status      int
		code        string
	}{
		{"png", "", readFixture(t, "meta.png"), 200, ""},
		{"jpeg top-left", "?corner=top-left", readFixture(t, "meta.jpg"), 200, ""},
		{"metadata only", "?visible=false", readFixture(t, "plain.png"), 200, ""},
		{"bad corner", "?corner=middle", readFixture(t, "plain.png"), 400, "invalid_parameter"},
		{"gif", "", []byte("GIF89a...."), 415, CodeUnsupportedImage},
		{"truncated", "", readFixture(t, "meta.png")[:300], 400, CodeInvalidImage},
		{"too large", "", bytes.Repeat([]byte{0}, 65<<10), 413, CodeImageTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+tt.query, "application/octet-stream", bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status != 200 {
				var e struct {
					Error struct{ Code string } `json:"error"`
				}
				if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != tt.code {
					t.Fatalf("error body %s, want code %s", body, tt.code)
				}
				return
			}
			imp, err := ReadImageLabel(body)
			if err != nil {
				t.Fatal(err)
			}
			if hdr := resp.Header.Get("X-AIGC"); hdr != string(imp.JSON()) {
				t.Errorf("X-AIGC %s, want %s", hdr, imp.JSON())
			}
			if err := l.Verify(imp); err != nil {
				t.Error(err)
			}
		})
	}
}
