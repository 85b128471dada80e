package audit

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheckpointSignature(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	pub := key.Public().(ed25519.PublicKey)
	other, _, _ := ed25519.GenerateKey(nil)
	cp := Checkpoint{Chain: "gw-1", Seq: 42, Hash: bytes.Repeat([]byte{1}, 32), Time: time.Unix(1700000000, 5)}
	cp.Sign(key)
	if !cp.VerifySignature(pub) || !cp.VerifySignature(other, pub) {
		t.Fatal("a fresh signature does not verify")
	}
	if cp.VerifySignature(other) || cp.VerifySignature() {
		t.Error("verified against the wrong key")
	}
	edits := map[string]func(c *Checkpoint){
		"chain":  func(c *Checkpoint) { c.Chain = "gw-2" },
		"seq":    func(c *Checkpoint) { c.Seq++ },
		"hash":   func(c *Checkpoint) { c.Hash = bytes.Repeat([]byte{2}, 32) },
		"time":   func(c *Checkpoint) { c.Time = c.Time.Add(1) },
		"anchor": func(c *Checkpoint) { c.Anchor = true },
	}
	for name, edit := range edits {
		c := cp
		edit(&c)
		if c.VerifySignature(pub) {
			t.Errorf("changing %s kept the signature valid", name)
		}
	}
	if want := "qiao-audit-checkpoint-v1\ngw-1\n42\n" + strings.Repeat("01", 32) + "\n1700000000000000005\n"; string(cp.SignedBytes()) != want {
		t.Errorf("signed bytes %q, want %q", cp.SignedBytes(), want)
	}
}

func TestLoadOrCreateKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := LoadOrCreateSigningKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, SigningKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", fi.Mode(), err)
	}
	k2, err := LoadOrCreateSigningKey(dir)
	if err != nil || !k1.Equal(k2) {
		t.Fatalf("second load returned another key (%v)", err)
	}
	pubText, err := os.ReadFile(filepath.Join(dir, PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(string(pubText))
	if err != nil || !pub.Equal(k1.Public()) {
		t.Fatalf("public key file: %v", err)
	}
	h1, err := LoadOrCreateHMACKey(dir)
	if err != nil || len(h1) != 32 {
		t.Fatalf("hmac key: %d bytes, %v", len(h1), err)
	}
	h2, _ := LoadOrCreateHMACKey(dir)
	if !bytes.Equal(h1, h2) {
		t.Error("hmac key changed between loads")
	}
	if err := os.WriteFile(filepath.Join(dir, SigningKeyFile), []byte("not base64!"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateSigningKey(dir); err == nil {
		t.Error("a corrupt key file was accepted")
	}
}

func TestParseKeys(t *testing.T) {
	seed := bytes.Repeat([]byte{9}, 32)
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{name: "std", in: EncodeKey(seed), ok: true},
		{name: "raw url with spaces", in: "  " + strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(EncodeKey(seed)), "=") + "\n", ok: true},
		{name: "full private key", in: EncodeKey(ed25519.NewKeyFromSeed(seed)), ok: true},
		{name: "short", in: EncodeKey(seed[:16])},
		{name: "garbage", in: "%%%"},
		{name: "empty", in: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseSigningKey(tc.in)
			if tc.ok != (err == nil) {
				t.Fatalf("ParseSigningKey = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && !k.Equal(ed25519.NewKeyFromSeed(seed)) {
				t.Error("wrong key")
			}
		})
	}
	if _, err := ParsePublicKey(EncodeKey(seed[:31])); err == nil {
		t.Error("31-byte public key accepted")
	}
}
