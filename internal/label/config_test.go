package label

import (
	"errors"
	"strings"
	"testing"
)

const (
	testProducer   = "001191440300MA5G49LC9K1YO01"
	testPropagator = "001191330100716105852F20000"
	// testSeed is a fixed Ed25519 seed for tests (32 bytes, base64).
	testSeed = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
)

func TestValidExplicit(t *testing.T) {
	tests := []struct {
		name, text string
		ok         bool
	}{
		{"AI生成", "AI生成", true},
		{"人工智能生成合成", "本内容由人工智能生成合成", true},
		{"AI合成", "AI合成内容", true},
		{"AI助手 has no generation element", "AI助手", false},
		{"bare AI", "AI", false},
		{"generation only", "内容生成", false},
		{"lower-case ai does not count", "ai生成", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidExplicit(tt.text)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidExplicit(%q) = %v, want ok=%v", tt.text, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrExplicit) {
				t.Errorf("error %v does not wrap ErrExplicit", err)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{Producer: testProducer, KeyEnv: "QIAO_LABEL_KEY"}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"defaults are valid", func(*Config) {}, ""},
		{"zero value means off", func(c *Config) { *c = Config{} }, ""},
		{"explicit AI助手 refused", func(c *Config) { c.Explicit = "AI助手" }, "no generation element"},
		{"position middle refused", func(c *Config) { c.Position = "middle" }, "position"},
		{"producer missing", func(c *Config) { c.Producer = "" }, "producer is required"},
		{"producer with bad checksum", func(c *Config) { c.Producer = "001191440300MA5G49LC9X1YO01" }, "check character"},
		{"propagator invalid", func(c *Config) { c.Propagator = "XYZ" }, "propagator"},
		{"key_env missing", func(c *Config) { c.KeyEnv = "" }, "key_env is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate() = %v, want ErrConfig containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewLabelerRefusesAtStart(t *testing.T) {
	env := map[string]string{"GOOD": testSeed, "SHORT": "AAEC", "JUNK": "not base64 !!"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"bad producer checksum", Config{Producer: "001191440300MA5G49LC9X1YO01", KeyEnv: "GOOD"}, "check character"},
		{"labels off", Config{}, "not configured"},
		{"key variable unset", Config{Producer: testProducer, KeyEnv: "MISSING"}, "key_env MISSING: not set"},
		{"key too short", Config{Producer: testProducer, KeyEnv: "SHORT"}, "want 32"},
		{"key not base64", Config{Producer: testProducer, KeyEnv: "JUNK"}, "not valid base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewLabeler(tt.cfg, Options{Getenv: getenv})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewLabeler() = %v, want error containing %q", err, tt.wantErr)
			}
			for _, secret := range env {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q leaks the key value", err)
				}
			}
		})
	}
}
