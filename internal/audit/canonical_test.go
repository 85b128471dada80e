package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// canonicalReflect is the canonical encoding as first defined: canonicalRecord through
// encoding/json, HTML escaping off. Canonical must write the same bytes, or every stored
// hash stops verifying.
func canonicalReflect(t testing.TB, r *Record) []byte {
	c := canonicalRecord{
		V: canonicalVersion, Chain: r.Chain, TimeNS: r.Time.UnixNano(), Kind: r.Kind,
		Request: r.Request, Tenant: r.Tenant, KeyID: r.KeyID, Region: r.Region,
		Provider: r.Provider, Model: r.Model, Route: r.Route, Privacy: r.Privacy,
		Safety: r.Safety, Prompt: r.Usage.PromptTokens, Complete: r.Usage.CompletionTokens,
		LatencyMS: r.LatencyMS, Status: r.Status, ErrorCode: r.ErrorCode, ProduceID: r.ProduceID,
		PromptMAC: hex.EncodeToString(r.PromptMAC), AnswerMAC: hex.EncodeToString(r.AnswerMAC),
		Details: r.Details, PrevHash: hex.EncodeToString(r.PrevHash),
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&c); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func canonicalCases() []Record {
	full := Record{
		Chain: "gw-1", Time: time.Date(2026, 11, 24, 1, 2, 3, 456789, time.UTC), Kind: KindRequest,
		Request: "req_<1>&", Tenant: "acme \"corp\"", KeyID: "k1", Region: "CN", Provider: "qwen", Model: "qwen-plus",
		Route: "a>b", Privacy: map[string]int64{"phone": 2, "name": 1, "id\u2028": 3},
		Safety: []SafetyOutcome{{Stage: "output", Action: "allow"}, {}, {Rule: "r", Category: "A.1", PackVersion: "v"}},
		Usage:  Usage{PromptTokens: 5, CompletionTokens: -1}, LatencyMS: 12, Status: 200, ErrorCode: "e",
		ProduceID: "P", PromptMAC: Hash{1, 2}, AnswerMAC: Hash{0xff}, Details: map[string]string{"b": "2", "a": "<x>\n"},
		PrevHash: make(Hash, 32),
	}
	return []Record{full, {Kind: KindAdmin, Time: time.Unix(1, 0).UTC()}, {Chain: "c", Kind: KindKey, Time: time.Unix(0, -5).UTC(), Privacy: map[string]int64{}, Details: map[string]string{}, Safety: []SafetyOutcome{}}}
}

func TestCanonicalMatchesReflect(t *testing.T) {
	for _, r := range canonicalCases() {
		got, _ := r.Canonical()
		if want := canonicalReflect(t, &r); !bytes.Equal(got, want) {
			t.Errorf("Canonical:\n got  %s\n want %s", got, want)
		}
	}
}

func TestFromCanonical(t *testing.T) {
	for _, r := range canonicalCases() {
		r.Seq = 7
		c, _ := r.Canonical()
		r.Hash, _ = r.ComputeHash()
		back, err := FromCanonical(r.Seq, r.Hash, c)
		if err != nil {
			t.Fatal(err)
		}
		// Empty maps and slices come back as nil: they hash alike.
		if d := cmp.Diff(r, back, cmpEmptyAsNil); d != "" {
			t.Errorf("FromCanonical (-want +got):\n%s", d)
		}
		c[len(c)/2] ^= 1
		if _, err := FromCanonical(r.Seq, r.Hash, c); err == nil {
			t.Error("a damaged encoding was accepted")
		}
	}
}

var cmpEmptyAsNil = cmp.FilterValues(func(x, y any) bool {
	return isEmpty(x) && isEmpty(y)
}, cmp.Comparer(func(_, _ any) bool { return true }))

func isEmpty(v any) bool {
	switch v := v.(type) {
	case map[string]int64:
		return len(v) == 0
	case map[string]string:
		return len(v) == 0
	case []SafetyOutcome:
		return len(v) == 0
	case Hash:
		return len(v) == 0
	}
	return false
}

func FuzzCanonical(f *testing.F) {
	f.Add("gw-1", int64(1764000000000000000), "request", "req", "名字 <b>", "k", "phone", int64(2), "output", "rule\u2028", "a", "\xff", int64(200), []byte{1, 2})
	f.Fuzz(func(t *testing.T, chain string, ns int64, kind, request, tenant, key, pk string, pv int64, stage, rule, dk, dv string, status int64, mac []byte) {
		r := Record{
			Chain: chain, Time: time.Unix(0, ns).UTC(), Kind: Kind(kind), Request: request, Tenant: tenant,
			KeyID: key, Privacy: map[string]int64{pk: pv, pk + "x": -pv}, Status: int(int32(status)),
			Safety:  []SafetyOutcome{{Stage: stage, Rule: rule}, {Action: dk}},
			Details: map[string]string{dk: dv}, PromptMAC: mac, PrevHash: mac, Usage: Usage{PromptTokens: pv},
		}
		got, _ := r.Canonical()
		if want := canonicalReflect(t, &r); !bytes.Equal(got, want) {
			t.Fatalf("Canonical:\n got  %s\n want %s", got, want)
		}
	})
}
