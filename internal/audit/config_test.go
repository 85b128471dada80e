package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestConfigDecodeAndValidate(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		min     time.Duration
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "zero value gets defaults", yaml: "{}", min: MinRetentionCN, check: func(t *testing.T, c Config) {
			if c.Store != "sqlite" || c.DataDir != "data" || c.RetentionDays != 180 || c.OnFailure != "refuse" ||
				c.CheckpointEvery != 1000 || c.CheckpointInterval != 10*time.Second || c.Replica == "" || c.Journal != "on" {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{name: "full", yaml: "store: postgres\ndsn_env: PG\nreplica: gw-2\ncheckpoint_every: 50\ncheckpoint_interval: 3s\nretention_days: 365\non_failure: serve\n",
			min: MinRetentionCN, check: func(t *testing.T, c Config) {
				if c.Store != "postgres" || c.DSNEnv != "PG" || c.Replica != "gw-2" || c.CheckpointEvery != 50 ||
					c.CheckpointInterval != 3*time.Second || c.Retention() != 365*24*time.Hour || c.OnFailure != "serve" ||
					c.Journal != "off" {
					t.Errorf("decoded: %+v", c)
				}
			}},
		{name: "CN retention below minimum", yaml: "retention_days: 90", min: MinRetentionCN, wantErr: "below this profile's minimum of 180 days"},
		{name: "no minimum elsewhere", yaml: "retention_days: 30", min: 0},
		{name: "unknown store", yaml: "store: mysql", wantErr: `audit.store "mysql"`},
		{name: "journal on postgres", yaml: "store: postgres\njournal: on", check: func(t *testing.T, c Config) {
			if c.Journal != "on" {
				t.Errorf("journal %q, want on", c.Journal)
			}
		}},
		{name: "bad journal", yaml: "journal: yes", wantErr: `audit.journal "yes"`},
		{name: "bad failure policy", yaml: "on_failure: ignore", wantErr: "audit.on_failure"},
		{name: "unknown field", yaml: "retention: 5", wantErr: "field retention not found"},
		{name: "negative checkpoint", yaml: "checkpoint_every: -1", wantErr: "checkpoint_every"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			dec := yaml.NewDecoder(strings.NewReader(tc.yaml))
			dec.KnownFields(true)
			err := dec.Decode(&c)
			if err == nil {
				c = c.WithDefaults(tc.min)
				err = c.Validate(tc.min)
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func TestConfigLoadKeys(t *testing.T) {
	dir := t.TempDir()
	c := Config{DataDir: dir, SigningKeyEnv: "QIAO_TEST_SIGNING", HMACKeyEnv: "QIAO_TEST_HMAC"}.WithDefaults(0)
	k, err := c.LoadKeys(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, SigningKeyFile)); err != nil {
		t.Errorf("no key file generated: %v", err)
	}
	seed := bytes.Repeat([]byte{3}, 32)
	t.Setenv("QIAO_TEST_SIGNING", EncodeKey(seed))
	t.Setenv("QIAO_TEST_HMAC", EncodeKey(bytes.Repeat([]byte{4}, 32)))
	k2, err := c.LoadKeys(nil)
	if err != nil {
		t.Fatal(err)
	}
	if k2.Signing.Equal(k.Signing) || !bytes.Equal(k2.HMAC, bytes.Repeat([]byte{4}, 32)) {
		t.Error("environment keys were not used")
	}
	t.Setenv("QIAO_TEST_HMAC", "c2hvcnQ=") // "short"
	if _, err := c.LoadKeys(nil); err == nil || strings.Contains(err.Error(), "c2hvcnQ") {
		t.Errorf("short HMAC key: %v (must fail without echoing the key)", err)
	}
	o := c.WriterOptions(k2)
	if o.Chain != c.Replica || o.MinRetention != c.Retention() || !o.Signer.Equal(k2.Signing) {
		t.Errorf("writer options %+v", o)
	}
}
