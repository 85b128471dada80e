package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func fullRecord() Record {
	return Record{
		Chain: "cn-gw-1", Time: time.Date(2026, 11, 23, 12, 30, 0, 123456789, time.UTC), Kind: KindRequest,
		Request: "req-1", Tenant: "acme", KeyID: "key_0123456789ab", Region: "CN", Provider: "dashscope",
		Model: "qwen-plus", Route: "chat>qwen-plus", Privacy: map[string]int64{"phone": 2, "id_card": 1},
		Safety: []SafetyOutcome{{Stage: "input", Rule: "lex-42", Category: "A.1", PackVersion: "2026.11.1", Action: "allow"}},
		Usage:  Usage{PromptTokens: 12, CompletionTokens: 34}, LatencyMS: 456, Status: 200,
		ProduceID: "P-1", PromptMAC: ContentMAC([]byte("key"), "你好 <b>&"), AnswerMAC: ContentMAC([]byte("key"), "answer"),
		Details: map[string]string{"b": "2", "a": "1"}, PrevHash: bytes.Repeat([]byte{0xab}, 32),
	}
}

// TestCanonicalGolden pins the canonical encoding and hash: any change to them breaks every
// existing log, so it must be deliberate (bump canonicalVersion) and show up here.
func TestCanonicalGolden(t *testing.T) {
	tests := []struct {
		name string
		rec  Record
	}{
		{name: "full", rec: fullRecord()},
		{name: "genesis-minimal", rec: Record{Chain: "c", Time: time.Unix(0, 1).UTC(), Kind: KindAdmin}},
		{name: "complaint", rec: Record{Chain: "c", Time: time.Unix(1700000000, 0).UTC(), Kind: KindComplaint,
			Details: map[string]string{"complaint_id": "cmp_1", "to": "received"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.rec.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			h, err := tc.rec.ComputeHash()
			if err != nil {
				t.Fatal(err)
			}
			got := string(c) + "\n" + hex.EncodeToString(h) + "\n"
			path := filepath.Join("testdata", "canonical-"+tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("canonical form changed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCanonicalIgnoresSeqHashAndEmptyness(t *testing.T) {
	a := fullRecord()
	b := fullRecord()
	b.Seq, b.Hash = 99, []byte{1}
	b.Time = a.Time.In(time.FixedZone("CST", 8*3600)) // same instant, other zone
	ha, _ := a.ComputeHash()
	hb, _ := b.ComputeHash()
	if !bytes.Equal(ha, hb) {
		t.Error("seq, hash or time zone changed the hash")
	}
	c := Record{Chain: "c", Kind: KindAdmin, Privacy: map[string]int64{}, Details: map[string]string{}, Safety: []SafetyOutcome{}}
	d := Record{Chain: "c", Kind: KindAdmin}
	hc, _ := c.ComputeHash()
	hd, _ := d.ComputeHash()
	if !bytes.Equal(hc, hd) {
		t.Error("empty and nil maps hash differently")
	}
}

// TestEveryFieldIsHashed changes each hashed field in turn and expects a different hash.
func TestEveryFieldIsHashed(t *testing.T) {
	base := fullRecord()
	h0, _ := base.ComputeHash()
	edits := map[string]func(r *Record){
		"chain":      func(r *Record) { r.Chain = "x" },
		"time":       func(r *Record) { r.Time = r.Time.Add(time.Nanosecond) },
		"kind":       func(r *Record) { r.Kind = KindAdmin },
		"request":    func(r *Record) { r.Request = "x" },
		"tenant":     func(r *Record) { r.Tenant = "x" },
		"key":        func(r *Record) { r.KeyID = "x" },
		"region":     func(r *Record) { r.Region = "x" },
		"provider":   func(r *Record) { r.Provider = "x" },
		"model":      func(r *Record) { r.Model = "x" },
		"route":      func(r *Record) { r.Route = "x" },
		"privacy":    func(r *Record) { r.Privacy["phone"] = 3 },
		"safety":     func(r *Record) { r.Safety[0].PackVersion = "x" },
		"prompt":     func(r *Record) { r.Usage.PromptTokens++ },
		"completion": func(r *Record) { r.Usage.CompletionTokens++ },
		"latency":    func(r *Record) { r.LatencyMS++ },
		"status":     func(r *Record) { r.Status = 400 },
		"error":      func(r *Record) { r.ErrorCode = "x" },
		"produce":    func(r *Record) { r.ProduceID = "x" },
		"promptmac":  func(r *Record) { r.PromptMAC = r.AnswerMAC },
		"answermac":  func(r *Record) { r.AnswerMAC = nil },
		"details":    func(r *Record) { r.Details["a"] = "x" },
		"prev":       func(r *Record) { r.PrevHash = nil },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			r := fullRecord()
			edit(&r)
			h, _ := r.ComputeHash()
			if bytes.Equal(h, h0) {
				t.Errorf("changing %s did not change the hash", name)
			}
		})
	}
}

func TestContentMAC(t *testing.T) {
	// RFC 4231 test case 2.
	got := hex.EncodeToString(ContentMAC([]byte("Jefe"), "what do ya want for nothing?"))
	if want := "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"; got != want {
		t.Errorf("ContentMAC = %s, want %s", got, want)
	}
}

func TestRecordJSONRoundTrip(t *testing.T) {
	r := fullRecord()
	r.Seq = 7
	r.Hash, _ = r.ComputeHash()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"prompt_hmac":"`+hex.EncodeToString(r.PromptMAC)+`"`) {
		t.Errorf("MACs are not hex in JSON: %s", b)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestValidateAndClean(t *testing.T) {
	tests := []struct {
		name    string
		rec     Record
		wantErr string
	}{
		{name: "ok", rec: fullRecord()},
		{name: "no kind", rec: Record{}, wantErr: "kind"},
		{name: "long model", rec: Record{Kind: KindRequest, Model: strings.Repeat("m", 300)}, wantErr: "model"},
		{name: "long request id", rec: Record{Kind: KindRequest, Request: strings.Repeat("r", 300)}, wantErr: "request_id"},
		{name: "long produce id", rec: Record{Kind: KindRequest, ProduceID: strings.Repeat("p", 300)}, wantErr: "produce_id"},
		{name: "short MAC", rec: Record{Kind: KindRequest, PromptMAC: []byte{1, 2}}, wantErr: "MAC"},
		{name: "too many safety", rec: Record{Kind: KindRequest, Safety: make([]SafetyOutcome, 65)}, wantErr: "safety"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.rec
			r.clean()
			err := r.validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("validate = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
	r := Record{Kind: KindRequest, Model: "qwen\xff\x00-plus", Details: map[string]string{"k\xfe": "v\x00"}}
	r.clean()
	if r.Model != "qwen\uFFFD-plus" || r.Details["k\uFFFD"] != "v" {
		t.Errorf("clean: model %q details %q", r.Model, r.Details)
	}
	// Only the field that needs it is cleaned; the caller's map and outcomes are copied,
	// never changed.
	privacy := map[string]int64{"phone\x00": 1, "name": 2}
	safety := []SafetyOutcome{{Stage: "output", Rule: "r\xff"}}
	r = Record{Kind: KindRequest, Privacy: privacy, Safety: safety}
	r.clean()
	if len(r.Privacy) != 2 || r.Privacy["phone"] != 1 || r.Privacy["name"] != 2 || r.Safety[0].Rule != "r\uFFFD" {
		t.Errorf("clean: privacy %v safety %+v", r.Privacy, r.Safety)
	}
	if privacy["phone\x00"] != 1 || safety[0].Rule != "r\xff" {
		t.Errorf("clean changed the caller's values: %v %+v", privacy, safety)
	}
}

func TestMACer(t *testing.T) {
	key := []byte("0123456789abcdef")
	m := NewMACer(key)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				text := strings.Repeat("内容", g*50+i)
				if got, want := m.MAC(text), ContentMAC(key, text); !bytes.Equal(got, want) {
					t.Errorf("MAC(%d runes) = %x, want %x", len([]rune(text)), got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
