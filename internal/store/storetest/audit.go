package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/audit"
)

func newWriter(t *testing.T, st Store, chain string, every int, clk *clock) *audit.Writer {
	t.Helper()
	w, err := audit.NewWriter(ctx(t), st, audit.WriterOptions{
		Chain: chain, Signer: testKey, CheckpointEvery: every,
		CheckpointInterval: time.Hour, // count-based checkpoints only: deterministic tests
		MinRetention:       audit.MinRetentionCN, Now: clk.now,
	})
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// sample returns a realistic request record, distinct per i.
func sample(i int) audit.Record {
	r := audit.Record{
		Kind: audit.KindRequest, Request: fmt.Sprintf("req-%04d", i), Tenant: "acme", KeyID: "key_0123456789ab",
		Region: "CN", Provider: "dashscope", Model: "qwen-plus", Route: "chat>qwen-plus",
		Usage:     audit.Usage{PromptTokens: int64(10 + i), CompletionTokens: int64(20 + i)},
		LatencyMS: int64(100 + i), Status: http.StatusOK, ProduceID: fmt.Sprintf("P%06d", i),
		PromptMAC: audit.ContentMAC([]byte("k"), fmt.Sprintf("prompt %d", i)),
		AnswerMAC: audit.ContentMAC([]byte("k"), fmt.Sprintf("answer %d", i)),
		Details:   map[string]string{"i": strconv.Itoa(i)},
	}
	if i%3 == 0 {
		r.Privacy = map[string]int64{"phone": 1, "id_card": int64(i % 5)}
		r.Safety = []audit.SafetyOutcome{{Stage: "input", Rule: "lex-42", Category: "A.1", PackVersion: "2026.11.1", Action: "allow"}}
	}
	if i%7 == 0 {
		r.Status, r.ErrorCode = http.StatusBadRequest, "content_filter"
		r.Safety = append(r.Safety, audit.SafetyOutcome{Stage: "output", Rule: "guard", Category: "A.2", PackVersion: "2026.11.1", Action: "retract"})
	}
	return r
}

// fill appends n sample records one at a time (one record per batch) and closes the writer.
func fill(t *testing.T, st Store, chain string, n, every int) {
	t.Helper()
	w := newWriter(t, st, chain, every, newClock())
	for i := 1; i <= n; i++ {
		if err := w.Append(ctx(t), sample(i)); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func verifyOK(t *testing.T, st Store) audit.Report {
	t.Helper()
	rep, err := audit.Verify(ctx(t), st, TestPublicKey())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !rep.OK() {
		t.Fatalf("Verify found problems in an untouched log:\n%s", rep.String())
	}
	return rep
}

func readAll(t *testing.T, st Store, chain string) []audit.Record {
	t.Helper()
	var out []audit.Record
	if err := st.Records(ctx(t), chain, 0, func(r audit.Record) error { out = append(out, r); return nil }); err != nil {
		t.Fatalf("Records: %v", err)
	}
	return out
}

func testAppendVerify(t *testing.T, h Harness) {
	st := h.New(t)
	fill(t, st, "r1", 12, 5)
	recs := readAll(t, st, "r1")
	if len(recs) != 12 {
		t.Fatalf("%d records, want 12", len(recs))
	}
	// Round trip: what was appended is what is read, field for field.
	for i, r := range recs {
		want := sample(i + 1)
		want.Chain, want.Seq, want.Time, want.PrevHash, want.Hash = "r1", uint64(i+1), r.Time, r.PrevHash, r.Hash
		if diff := cmp.Diff(want, r); diff != "" {
			t.Fatalf("record %d (-want +got):\n%s", i+1, diff)
		}
		if h, _ := r.ComputeHash(); !bytes.Equal(h, r.Hash) {
			t.Errorf("record %d: stored hash is not the hash of its content", i+1)
		}
		if i > 0 && !bytes.Equal(r.PrevHash, recs[i-1].Hash) {
			t.Errorf("record %d does not link to record %d", i+1, i)
		}
	}
	if len(recs[0].PrevHash) != 0 {
		t.Errorf("genesis prev_hash = %x, want empty", recs[0].PrevHash)
	}
	cps, err := st.Checkpoints(ctx(t), "r1")
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, cp := range cps {
		seqs = append(seqs, cp.Seq)
		if !cp.VerifySignature(TestPublicKey()) || !bytes.Equal(cp.Hash, recs[cp.Seq-1].Hash) {
			t.Errorf("checkpoint %d: bad signature or hash", cp.Seq)
		}
	}
	// every 5 records, and the final one written by Close
	if diff := cmp.Diff([]uint64{5, 10, 12}, seqs); diff != "" {
		t.Errorf("checkpoint seqs (-want +got):\n%s", diff)
	}
	rep := verifyOK(t, st)
	if diff := cmp.Diff([]audit.ChainReport{{Chain: "r1", Records: 12, FirstSeq: 1, LastSeq: 12, Checkpoints: 3, SignedSeq: 12}}, rep.Chains); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	// A different public key does not verify the checkpoints.
	other, _, _ := ed25519GenerateKey()
	rep, err = audit.Verify(ctx(t), st, other)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := rep.First(); !ok || p.Kind != audit.BadCheckpoint {
		t.Errorf("Verify with a wrong key: first problem %+v, want a checkpoint problem", p)
	}
}

func testConcurrent(t *testing.T, h Harness) {
	st := h.New(t)
	w := newWriter(t, st, "busy", 50, newClock())
	const goroutines, each = 16, 40
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := w.Append(ctx(t), sample(g*each+i)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Append: %v", err)
	}
	if err := w.Healthy(); err != nil {
		t.Errorf("Healthy = %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	recs := readAll(t, st, "busy")
	seen := map[string]bool{}
	for _, r := range recs {
		seen[r.Request] = true
	}
	if len(recs) != goroutines*each || len(seen) != goroutines*each {
		t.Errorf("%d records (%d distinct), want %d", len(recs), len(seen), goroutines*each)
	}
	verifyOK(t, st)
	if err := w.Append(ctx(t), sample(1)); err == nil {
		t.Error("Append after Close succeeded")
	} else if e, ok := apierr.As(err); !ok || e.Code != audit.CodeAuditUnavailable || !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Append after Close = %v, want audit_unavailable wrapping ErrClosed", err)
	}
}

func testReopen(t *testing.T, h Harness) {
	st := h.New(t)
	fill(t, st, "r1", 4, 100)
	st2 := h.Reopen(t, st, false)
	fill(t, st2, "r1", 3, 100) // a restarted replica continues its chain
	recs := readAll(t, st2, "r1")
	if len(recs) != 7 || recs[6].Seq != 7 {
		t.Fatalf("%d records after reopen, want 7", len(recs))
	}
	verifyOK(t, st2)
}

func testReplicas(t *testing.T, h Harness) {
	st := h.New(t)
	st2 := h.Reopen(t, st, false)
	clk := newClock()
	w1, w2 := newWriter(t, st, "replica-a", 10, clk), newWriter(t, st2, "replica-b", 10, newClock())
	var wg sync.WaitGroup
	for _, w := range []*audit.Writer{w1, w2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				if err := w.Append(ctx(t), sample(i)); err != nil {
					t.Errorf("%s: Append: %v", w.Chain(), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	w1.Close()
	w2.Close()
	rep := verifyOK(t, st)
	if len(rep.Chains) != 2 || rep.Chains[0].Records != 30 || rep.Chains[1].Records != 30 {
		t.Errorf("chains %+v, want two of 30 records", rep.Chains)
	}
}

func testExport(t *testing.T, h Harness) {
	st := h.New(t)
	w := newWriter(t, st, "r1", 3, newClock())
	base := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= 10; i++ {
		r := sample(i)
		r.Time = base.Add(time.Duration(i) * time.Minute)
		if i == 5 {
			r.Time = base.Add(100 * time.Minute) // a late timestamp inside the seq order
		}
		if err := w.Append(ctx(t), r); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	recs := readAll(t, st, "r1")
	// Records 3, 4, 6, 7 are in [3m, 8m); record 5 lies between them in the chain and is
	// exported too, so that the export has no holes.
	var buf bytes.Buffer
	n, err := audit.Export(ctx(t), st, &buf, base.Add(3*time.Minute), base.Add(8*time.Minute))
	if err != nil || n != 5 {
		t.Fatalf("Export = %d, %v; want 5", n, err)
	}
	exported := buf.String()
	lines := strings.Split(strings.TrimSuffix(exported, "\n"), "\n")
	for i, line := range lines {
		var got audit.Record
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if diff := cmp.Diff(recs[i+2], got); diff != "" {
			t.Errorf("exported record (-want +got):\n%s", diff)
		}
	}
	var cps bytes.Buffer
	if n, err := audit.ExportCheckpoints(ctx(t), st, &cps); err != nil || n != 4 { // 3, 6, 9, 10
		t.Fatalf("ExportCheckpoints = %d, %v", n, err)
	}
	rep, err := audit.VerifyExport(strings.NewReader(exported), bytes.NewReader(cps.Bytes()), TestPublicKey())
	if err != nil || !rep.OK() || rep.Records != 5 || rep.Links != 4 || rep.Signed != 2 {
		t.Fatalf("VerifyExport = %+v, %v", rep, err)
	}

	tampered := []struct {
		name  string
		lines func() []string
		seq   uint64
		kind  audit.ProblemKind
	}{
		{name: "line removed", seq: 5, kind: audit.Deleted, lines: func() []string {
			return append(append([]string{}, lines[:2]...), lines[3:]...)
		}},
		{name: "field edited", seq: 4, kind: audit.Edited, lines: func() []string {
			l := append([]string{}, lines...)
			l[1] = strings.Replace(l[1], `"model":"qwen-plus"`, `"model":"qwen-max"`, 1)
			return l
		}},
		{name: "lines swapped", seq: 3, kind: audit.Reordered, lines: func() []string {
			l := append([]string{}, lines...)
			l[0], l[1] = l[1], l[0]
			return l
		}},
	}
	for _, tc := range tampered {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := audit.VerifyExport(strings.NewReader(strings.Join(tc.lines(), "\n")), bytes.NewReader(cps.Bytes()), TestPublicKey())
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Problems) == 0 || rep.Problems[0].Seq != tc.seq || rep.Problems[0].Kind != tc.kind {
				t.Errorf("problems %v, want %s at %d first", rep.Problems, tc.kind, tc.seq)
			}
		})
	}
	other, _, _ := ed25519GenerateKey()
	if rep, _ := audit.VerifyExport(strings.NewReader(exported), bytes.NewReader(cps.Bytes()), other); rep.OK() {
		t.Error("VerifyExport accepted checkpoints signed by another key")
	}
	if _, err := audit.Export(ctx(t), st, &buf, base, base); err == nil {
		t.Error("Export with an empty time range succeeded")
	}
}

func testRetention(t *testing.T, h Harness) {
	st := h.New(t)
	clk := newClock()
	w := newWriter(t, st, "r1", 4, clk)
	for i := 1; i <= 10; i++ {
		if err := w.Append(ctx(t), sample(i)); err != nil {
			t.Fatal(err)
		}
	}
	recs := readAll(t, st, "r1")
	// Too young: the CN profile keeps 180 days.
	if _, err := w.Purge(ctx(t), recs[5].Time); err == nil {
		t.Fatal("Purge of records younger than the minimum retention succeeded")
	}
	// Half a year later, purge the first six records.
	clk.set(recs[5].Time.Add(audit.MinRetentionCN + time.Hour))
	n, err := w.Purge(ctx(t), recs[6].Time)
	if err != nil || n != 6 {
		t.Fatalf("Purge = %d, %v; want 6", n, err)
	}
	for i := 11; i <= 13; i++ { // the chain goes on after the purge
		if err := w.Append(ctx(t), sample(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	left := readAll(t, st, "r1")
	if len(left) != 8 || left[0].Seq != 7 { // 7..10, the purge's admin record, 11..13
		t.Fatalf("after purge: %d records starting at %d", len(left), left[0].Seq)
	}
	if left[4].Kind != audit.KindAdmin || left[4].Details["deleted"] != "6" {
		t.Errorf("purge not recorded: %+v", left[4])
	}
	rep := verifyOK(t, st)
	if rep.Chains[0].AnchorSeq != 6 {
		t.Errorf("anchor seq %d, want 6", rep.Chains[0].AnchorSeq)
	}
	// An attacker who deletes more of the head is still caught: the anchor only covers 1..6.
	h.Exec(t, st, `DELETE FROM audit_records WHERE chain = $1 AND seq = $2`, "r1", 7)
	rep, err = audit.Verify(ctx(t), st, TestPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := rep.First(); !ok || p.Kind != audit.Deleted || p.Seq != 8 {
		t.Errorf("after deleting past the anchor: %+v, want deleted at 8", p)
	}
	// Purging everything leaves an empty chain that still verifies and continues.
	st2 := h.New(t)
	clk2 := newClock()
	w2 := newWriter(t, st2, "r2", 100, clk2)
	for i := 1; i <= 3; i++ {
		if err := w2.Append(ctx(t), sample(i)); err != nil {
			t.Fatal(err)
		}
	}
	later := clk2.now().Add(audit.MinRetentionCN + time.Hour)
	clk2.set(later)
	if _, _, err := audit.PurgeChain(ctx(t), st2, testKey, "r2", later.Add(-audit.MinRetentionCN), clk2.now()); err != nil {
		t.Fatal(err)
	}
	if seq, _, err := st2.Head(ctx(t), "r2"); err != nil || seq != 3 {
		t.Fatalf("Head after purging all = %d, %v; want 3 from the anchor", seq, err)
	}
	if err := w2.Append(ctx(t), sample(4)); err != nil {
		t.Fatal(err)
	}
	w2.Close()
	verifyOK(t, st2)
}

func testReadOnly(t *testing.T, h Harness) {
	st := h.New(t)
	fill(t, st, "r1", 3, 100)
	ro := h.Reopen(t, st, true)
	w, err := audit.NewWriter(ctx(t), ro, audit.WriterOptions{Chain: "r1", Signer: testKey, RetryInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("NewWriter on a read-only database: %v (reading the head must work)", err)
	}
	defer w.Close()
	err = w.Append(ctx(t), sample(4))
	e, ok := apierr.As(err)
	if !ok || e.Status != http.StatusServiceUnavailable || e.Code != audit.CodeAuditUnavailable {
		t.Fatalf("Append on a read-only database = %v, want 503 audit_unavailable", err)
	}
	t.Logf("error: %v", err)
	if w.Healthy() == nil {
		t.Error("Healthy() = nil after a failed commit")
	}
	// The log as it was is intact and can still be verified through the read-only handle.
	rep, err := audit.Verify(ctx(t), ro, TestPublicKey())
	if err != nil || !rep.OK() || rep.Chains[0].Records != 3 {
		t.Fatalf("Verify read-only: %v\n%s", err, rep.String())
	}
}
