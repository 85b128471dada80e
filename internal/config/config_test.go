package config

import (
	"errors"
	"strings"
	"testing"
)

func TestDefaultParses(t *testing.T) {
	f, err := Parse(Default())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Regions) != 3 || f.Regions["CN"].Audit.RetentionDays < 180 || !f.Regions["CN"].Privacy.Enabled {
		t.Errorf("unexpected defaults: %+v", f.Regions["CN"])
	}
	if f.Audit.RetentionDays < 180 {
		t.Errorf("audit retention %d < CN minimum", f.Audit.RetentionDays)
	}
}

const base = `providers:
  qwen: {kind: dashscope, base_url: "https://dashscope.example", api_key_env: K, jurisdiction: CN}
  us: {kind: openai, base_url: "https://api.example/v1", api_key_env: U, jurisdiction: US}
regions:
  CN:
    jurisdictions: [CN]
    models:
      chat: [qwen/qwen-plus]
`

func TestErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		line       int
		want       string
	}{
		{"unknown field", base + "    colour: blue\n", 9, "field colour not found"},
		{"cross-border route", strings.Replace(base, "[qwen/qwen-plus]", "[qwen/qwen-plus, us/gpt-4o]", 1), 8, "sends data to US, but the region allows only CN"},
		{"unknown provider", strings.Replace(base, "[qwen/qwen-plus]", "[nope/m]", 1), 8, `unknown provider "nope"`},
		{"target without model", strings.Replace(base, "[qwen/qwen-plus]", "[qwen]", 1), 8, "must be provider/model"},
		{"bad duration", "server:\n  grace: soon\n" + base, 2, "not a duration"},
		{"retention below minimum", base + "    audit: {retention_days: 30}\n", 9, "below the minimum of 180"},
		{"bad kind", strings.Replace(base, "kind: dashscope", "kind: carrier-pigeon", 1), 2, "unknown kind"},
		{"lower-case region", strings.Replace(base, "  CN:", "  cn:", 1), 5, "upper case"},
		{"no jurisdictions", strings.Replace(base, "    jurisdictions: [CN]\n", "", 1), 5, "jurisdictions is empty"},
		{"bad label text", base + "    label: {explicit: \"AI助手\", producer: \"001191350100M000100Y4310000\", key_env: L}\n", 9, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("err = %v, want config.Errors", err)
			}
			found := false
			for _, e := range errs {
				if e.Line == tc.line && strings.Contains(e.Msg, tc.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("no error on line %d containing %q; got:\n%v", tc.line, tc.want, errs)
			}
		})
	}
}

func TestLine(t *testing.T) {
	f, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Line("regions", "CN", "models", "chat"); got != 8 {
		t.Errorf("Line = %d, want 8", got)
	}
	if got := f.Line("regions", "XX"); got != 4 {
		t.Errorf("Line of a missing key = %d, want its parent's line 4", got)
	}
}
