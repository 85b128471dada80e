package label

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// detRand is a deterministic byte stream for tests (SHA-256 in counter mode).
type detRand struct {
	seed string
	n    int
	buf  []byte
}

func (r *detRand) Read(p []byte) (int, error) {
	for i := range p {
		if len(r.buf) == 0 {
			s := sha256.Sum256([]byte(r.seed + string(rune(r.n))))
			r.n++
			r.buf = s[:]
		}
		p[i], r.buf = r.buf[0], r.buf[1:]
	}
	return len(p), nil
}

func newTestLabeler(t testing.TB, cfg Config) *Labeler {
	t.Helper()
	if cfg.Producer == "" {
		cfg.Producer = testProducer
	}
	if cfg.KeyEnv == "" {
		cfg.KeyEnv = "QIAO_TEST_LABEL_KEY"
	}
	l, err := NewLabeler(cfg, Options{
		Now:    func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) },
		Rand:   &detRand{seed: t.Name()},
		Getenv: func(string) string { return testSeed },
	})
	if err != nil {
		t.Fatalf("NewLabeler: %v", err)
	}
	return l
}

func TestImplicitGolden(t *testing.T) {
	l := newTestLabeler(t, Config{})
	got := l.New().JSON()
	path := filepath.Join("testdata", "implicit.golden.json")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(bytes.TrimSpace(want)), string(got)); diff != "" {
		t.Errorf("implicit label JSON mismatch (-want +got):\n%s", diff)
	}
}

func TestNewLabel(t *testing.T) {
	l := newTestLabeler(t, Config{})
	imp := l.New()
	if imp.Label != "1" || imp.ContentProducer != testProducer {
		t.Fatalf("New() = %+v", imp)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(imp.ProduceID) {
		t.Errorf("ProduceID %q is not a UUIDv7", imp.ProduceID)
	}
	if imp.ContentPropagator != "" || imp.PropagateID != "" || imp.ReservedCode2 != "" {
		t.Errorf("propagator fields set on a fresh label: %+v", imp)
	}
	if err := imp.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
	// Compliance §7.4/§7.6: producer pattern and printable ASCII, compact JSON.
	if !regexp.MustCompile(`^00[0-9A-Z]{25}$`).MatchString(imp.ContentProducer) {
		t.Errorf("ContentProducer %q", imp.ContentProducer)
	}
	js := imp.JSON()
	if bytes.ContainsAny(js, " \n\t") {
		t.Errorf("JSON is not compact: %s", js)
	}
	if err := l.Verify(imp); err != nil {
		t.Errorf("Verify(New()) = %v", err)
	}
}

func TestProduceIDUnique(t *testing.T) {
	// Real randomness and clock: the property must hold for the production configuration.
	l, err := NewLabeler(Config{Producer: testProducer, KeyEnv: "K"}, Options{Getenv: func(string) string { return testSeed }})
	if err != nil {
		t.Fatal(err)
	}
	const n = 100_000
	seen := make(map[string]struct{}, n)
	for i := 0; i < n; i++ {
		id := l.newID()
		if _, dup := seen[id]; dup {
			t.Fatalf("duplicate ProduceID %s after %d", id, i)
		}
		seen[id] = struct{}{}
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	l := newTestLabeler(t, Config{})
	other, err := NewLabeler(Config{Producer: testProducer, KeyEnv: "K"}, Options{
		Getenv: func(string) string { return "HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4=" }})
	if err != nil {
		t.Fatal(err)
	}
	good := l.New()
	tests := []struct {
		name   string
		mutate func(*Implicit)
		want   error
	}{
		{"untouched", func(*Implicit) {}, nil},
		{"ProduceID changed", func(i *Implicit) { i.ProduceID = "00000000-0000-7000-8000-000000000000" }, ErrBadSignature},
		{"Label changed", func(i *Implicit) { i.Label = "3" }, ErrBadSignature},
		{"signature truncated", func(i *Implicit) { i.ReservedCode1 = i.ReservedCode1[:40] }, ErrBadSignature},
		{"signature by another key", func(i *Implicit) { i.ReservedCode1 = other.New().ReservedCode1 }, ErrBadSignature},
		{"foreign producer", func(i *Implicit) { i.ContentProducer = testPropagator }, ErrNotOurs},
		{"space in a value", func(i *Implicit) { i.PropagateID = "a b" }, ErrInvalidImplicit},
		{"Label not 1-3", func(i *Implicit) { i.Label = "4" }, ErrInvalidImplicit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp := good
			tt.mutate(&imp)
			err := l.Verify(imp)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestPropagateAndVerifyWithPublicKey(t *testing.T) {
	partner := newTestLabeler(t, Config{Producer: testPropagator})
	gw := newTestLabeler(t, Config{Propagator: testPropagator[:22] + "20000"})
	foreign := partner.New()
	got := gw.Relabel(&foreign)
	if got.ProduceID != foreign.ProduceID || got.ReservedCode1 != foreign.ReservedCode1 || got.ContentProducer != foreign.ContentProducer {
		t.Fatalf("Relabel changed the producer's fields: %+v", got)
	}
	if got.ContentPropagator != gw.Config().Propagator || got.PropagateID == "" || got.ReservedCode2 == "" {
		t.Fatalf("Relabel did not fill propagator fields: %+v", got)
	}
	pub, err := ParsePublicKey(gw.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyWithKey(got, pub, gw.Config().Producer, gw.Config().Propagator); err != nil {
		t.Fatalf("VerifyWithKey: %v", err)
	}
	tampered := got
	tampered.PropagateID = "x"
	if err := gw.Verify(tampered); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("Verify(tampered PropagateID) = %v", err)
	}
	// Our own label is re-issued, not propagated.
	own := gw.New()
	if again := gw.Relabel(&own); again.ContentPropagator != "" || again.ProduceID == own.ProduceID {
		t.Fatalf("Relabel(own) = %+v", again)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestNewSurvivesFailingRandom(t *testing.T) {
	l, err := NewLabeler(Config{Producer: testProducer, KeyEnv: "K"}, Options{Rand: failingReader{}, Getenv: func(string) string { return testSeed }})
	if err != nil {
		t.Fatal(err)
	}
	a, b := l.New(), l.New()
	if a.ProduceID == b.ProduceID {
		t.Fatalf("duplicate IDs from a failing random source: %s", a.ProduceID)
	}
}

func TestGenerateKey(t *testing.T) {
	seed, pub, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLabeler(Config{Producer: testProducer, KeyEnv: "K"}, Options{Getenv: func(string) string { return seed }})
	if err != nil {
		t.Fatal(err)
	}
	if l.PublicKey() != pub {
		t.Fatalf("public key %s, want %s", l.PublicKey(), pub)
	}
}

func TestParseImplicit(t *testing.T) {
	tests := []struct {
		name, in string
		wantErr  bool
	}{
		{"complete", `{"Label":"1","ContentProducer":"P","ProduceID":"I","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}`, false},
		{"extra key ignored", `{"Label":"2","ContentProducer":"P","ProduceID":"I","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":"","X":1}`, false},
		{"missing key", `{"Label":"1","ContentProducer":"P","ProduceID":"I"}`, true},
		{"number not string", `{"Label":1,"ContentProducer":"P","ProduceID":"I","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}`, true},
		{"base64 instead of JSON", `eyJMYWJlbCI6IjEifQ==`, true},
		{"non-ASCII value", `{"Label":"1","ContentProducer":"阿里","ProduceID":"I","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseImplicit([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseImplicit = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func FuzzParseImplicit(f *testing.F) {
	f.Add([]byte(`{"Label":"1","ContentProducer":"P","ProduceID":"I","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}`))
	f.Add([]byte(`{"Label":"1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		imp, err := ParseImplicit(data)
		if err != nil {
			return
		}
		// What parses must survive its own encoding.
		again, err := ParseImplicit(imp.JSON())
		if err != nil || again != imp {
			t.Fatalf("round trip: %+v -> %v %+v", imp, err, again)
		}
	})
}
