package jsonw

import (
	"bytes"
	"encoding/json"
	"testing"
)

// reference is what encoding/json writes for s.
func reference(t *testing.T, s string, html bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", "你好", "a\"b\\c\n\r\t\b\f\x00\x1f\x7f", "<a href='x'>&amp;</a>", "\u2028\u2029", "\xff\xc3(", "end\xe4\xbd"} {
		for _, html := range []bool{true, false} {
			if got, want := string(AppendString(nil, s, html)), reference(t, s, html); got != want {
				t.Errorf("AppendString(%q, html=%v) = %s, want %s", s, html, got, want)
			}
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("你好 <b>&\"\\\n\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		for _, html := range []bool{true, false} {
			if got, want := string(AppendString([]byte("x"), s, html)), "x"+reference(t, s, html); got != want {
				t.Fatalf("html=%v: got %s, want %s", html, got, want)
			}
		}
	})
}
