package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// FuzzDecodeFields feeds arbitrary stored JSON to the decoder: it never panics, and a record
// it decodes without marking corrupt encodes back to JSON that decodes to the same record.
func FuzzDecodeFields(f *testing.F) {
	f.Add(`{"phone":2}`, `[{"stage":"input","rule":"r","action":"block"}]`, `{"a":"b"}`)
	f.Add(`{`, `null`, `[]`)
	f.Add(``, `[{"stage":1}]`, `{"a":null}`)
	f.Fuzz(func(t *testing.T, privacy, safety, details string) {
		var r Record
		r.Kind = KindRequest
		DecodeFields(&r, privacy, safety, details)
		if r.Corrupt != "" {
			return
		}
		p, s, d := EncodeFields(&r)
		var back Record
		back.Kind = KindRequest
		DecodeFields(&back, p, s, d)
		h1, err1 := r.ComputeHash()
		h2, err2 := back.ComputeHash()
		if err1 != nil || err2 != nil || !bytes.Equal(h1, h2) {
			t.Fatalf("re-encoding changed the record: %v %v", err1, err2)
		}
	})
}

// FuzzEncodeFields holds the hand-written EncodeFields to json.Marshal, byte for byte: keys to
// sort, strings to escape (HTML included, as json.Marshal does), outcomes with members left
// out.
func FuzzEncodeFields(f *testing.F) {
	f.Add("phone", int64(2), "name", int64(-1), "input", "r<1>", "", "baseline&2026", "block", "k", "v\u2028")
	f.Add("", int64(0), "\xff", int64(7), "", "", "", "", "", "\x00", "")
	f.Fuzz(func(t *testing.T, pk1 string, pv1 int64, pk2 string, pv2 int64, stage, rule, category, pack, action, dk, dv string) {
		r := Record{Kind: KindRequest, Privacy: map[string]int64{pk1: pv1, pk2: pv2},
			Safety:  []SafetyOutcome{{Stage: stage, Rule: rule, Category: category, PackVersion: pack, Action: action}, {Action: action}},
			Details: map[string]string{dk: dv, "z": rule}}
		r.clean() // as the writer does before a store sees the record
		p, s, d := EncodeFields(&r)
		for _, c := range []struct {
			name, got string
			v         any
		}{{"privacy", p, r.Privacy}, {"safety", s, r.Safety}, {"details", d, r.Details}} {
			want, err := json.Marshal(c.v)
			if err != nil {
				t.Fatal(err)
			}
			if c.got != string(want) {
				t.Fatalf("%s: %s, want %s", c.name, c.got, want)
			}
		}
	})
}

// FuzzExportRoundTrip builds a record from arbitrary strings, cleans it as the writer does,
// and checks that its JSON export re-hashes to the same hash: a regulator can check every
// exported record.
func FuzzExportRoundTrip(f *testing.F) {
	f.Add("req-1", "qwen-plus", "phone", "k", "v", int64(5), int64(1700000000000000000))
	f.Add("\xff\x00", "<b>&", "", "\u2028", "\"", int64(-1), int64(0))
	f.Fuzz(func(t *testing.T, req, model, pii, dk, dv string, n, ns int64) {
		r := Record{Chain: "c", Kind: KindRequest, Request: req, Model: model, Time: time.Unix(0, ns).UTC(),
			Privacy: map[string]int64{pii: n}, Details: map[string]string{dk: dv}, Usage: Usage{PromptTokens: n}}
		r.clean()
		h, err := r.ComputeHash()
		if err != nil {
			t.Fatal(err)
		}
		r.Hash = h
		b, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		var back Record
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		h2, err := back.ComputeHash()
		if err != nil || !bytes.Equal(h2, back.Hash) {
			t.Fatalf("exported record does not re-hash: %s", b)
		}
	})
}

// FuzzParseSigningKey: arbitrary text never panics and never yields a key of the wrong size.
func FuzzParseSigningKey(f *testing.F) {
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, s string) {
		if k, err := ParseSigningKey(s); err == nil && len(k) != 64 {
			t.Fatalf("key of %d bytes", len(k))
		}
		if k, err := ParsePublicKey(s); err == nil && len(k) != 32 {
			t.Fatalf("public key of %d bytes", len(k))
		}
	})
}

// FuzzVerifyExport: arbitrary export and checkpoint text never panics; it either fails to
// parse with an error or yields a report.
func FuzzVerifyExport(f *testing.F) {
	r := Record{Chain: "c", Seq: 1, Kind: KindRequest, Time: time.Unix(1, 0).UTC()}
	r.Hash, _ = r.ComputeHash()
	line, _ := json.Marshal(&r)
	f.Add(string(line)+"\n", `{"chain":"c","seq":1,"hash":"00","time":"2026-01-01T00:00:00Z","signature":"AA=="}`)
	f.Add(`{"seq":-1}`, `{`)
	f.Add("\n\n", "")
	pub := make([]byte, 32)
	f.Fuzz(func(t *testing.T, recs, cps string) {
		rep, err := VerifyExport(strings.NewReader(recs), strings.NewReader(cps), pub)
		if err == nil && rep.Records < 0 {
			t.Fatal("negative count")
		}
	})
}
