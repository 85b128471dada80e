package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/qiao-gateway/qiao/internal/config"
)

// TestGatewayConfig checks the generated configurations with the gateway's own parser and
// compares what matters for the measurement: one provider at the simulator, one region, and
// the policy stages on (cn) or off (min).
func TestGatewayConfig(t *testing.T) {
	type shape struct {
		Providers    []string
		BaseURL      string
		KeyEnv       string
		Regions      []string
		Chat         []string
		Privacy      bool
		Label        bool
		Filing       bool
		Addr, Data   string
		AuditStore   string
		Jurisdiction string
	}
	tests := []struct {
		profile string
		want    shape
	}{
		{profile: profileCN, want: shape{Privacy: true, Label: true, Filing: true}},
		{profile: profileMinimal, want: shape{}},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			raw, err := checkedGatewayConfig(tt.profile, "127.0.0.1:18080", "/tmp/d", "http://127.0.0.1:19090/v1")
			if err != nil {
				t.Fatal(err)
			}
			f, err := config.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			cn := f.Regions["CN"]
			got := shape{
				BaseURL: f.Providers["sim"].BaseURL, KeyEnv: f.Providers["sim"].APIKeyEnv,
				Jurisdiction: f.Providers["sim"].Jurisdiction, Chat: cn.Models["chat"],
				Privacy: cn.Privacy != nil && cn.Privacy.Enabled, Label: cn.Label.Enabled(), Filing: len(cn.Filings) > 0,
				Addr: f.Server.Addr, Data: f.Server.DataDir, AuditStore: f.Audit.Store,
			}
			for p := range f.Providers {
				got.Providers = append(got.Providers, p)
			}
			for r := range f.Regions {
				got.Regions = append(got.Regions, r)
			}
			want := tt.want
			want.Providers, want.Regions = []string{"sim"}, []string{"CN"}
			want.BaseURL, want.KeyEnv, want.Jurisdiction = "http://127.0.0.1:19090/v1", simKeyEnv, "CN"
			want.Chat = []string{"sim/" + upstreamModel}
			want.Addr, want.Data, want.AuditStore = "127.0.0.1:18080", "/tmp/d", "sqlite"
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := gatewayConfig(config.Default(), "xx", "a", "b", "c"); err == nil || !strings.Contains(err.Error(), "unknown profile") {
		t.Errorf("unknown profile: err = %v", err)
	}
	if _, err := gatewayConfig([]byte("regions: {}\n"), profileCN, "a", "b", "c"); err == nil {
		t.Error("a base without a CN region was accepted")
	}
}
