package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/audit"
	"github.com/qiao-gateway/qiao/internal/store/sqlite"
)

var key = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, 32))

func openDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// waitFor polls cond until it holds; the test fails only if it never does within a minute
// (a bound for a hung writer, not a speed assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("never happened: %s", what)
}

func TestNewWriterNeedsChainAndKey(t *testing.T) {
	db := openDB(t)
	if _, err := audit.NewWriter(t.Context(), db, audit.WriterOptions{Signer: key}); err == nil {
		t.Error("NewWriter without a chain succeeded")
	}
	if _, err := audit.NewWriter(t.Context(), db, audit.WriterOptions{Chain: "c"}); err == nil {
		t.Error("NewWriter without a key succeeded")
	}
}

func TestIdleCheckpoint(t *testing.T) {
	db := openDB(t)
	w, err := audit.NewWriter(t.Context(), db, audit.WriterOptions{Chain: "c", Signer: key,
		CheckpointEvery: 1000, CheckpointInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := 0; i < 3; i++ {
		if err := w.Append(t.Context(), audit.Record{Kind: audit.KindRequest}); err != nil {
			t.Fatal(err)
		}
	}
	// Three records are far from 1000, but the interval passes: a checkpoint covers them.
	waitFor(t, "a time-based checkpoint at seq 3", func() bool {
		cps, err := db.Checkpoints(t.Context(), "c")
		return err == nil && len(cps) > 0 && cps[len(cps)-1].Seq == 3
	})
}

// TestWriterRecoversAfterFailure: while another connection holds the database's write lock
// (longer than the writer's busy timeout), appends fail with 503 and Healthy says so; once the
// lock is gone the writer recovers by itself.
func TestWriterRecoversAfterFailure(t *testing.T) {
	dir := t.TempDir()
	db, err := sqlite.OpenWith(dir, sqlite.Options{Pragmas: []string{"busy_timeout(20)"}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w, err := audit.NewWriter(t.Context(), db, audit.WriterOptions{Chain: "c", Signer: key, RetryInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Append(t.Context(), audit.Record{Kind: audit.KindRequest, Request: "1"}); err != nil {
		t.Fatal(err)
	}
	other, err := sqlite.OpenWith(dir, sqlite.Options{Pragmas: []string{"busy_timeout(50)"}})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	blocker, err := other.SQL().Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Close()
	if _, err := blocker.ExecContext(t.Context(), `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	err = w.Append(t.Context(), audit.Record{Kind: audit.KindRequest, Request: "2"})
	if e, ok := apierr.As(err); !ok || e.Status != http.StatusServiceUnavailable || e.Code != audit.CodeAuditUnavailable {
		t.Fatalf("Append while the database is locked = %v", err)
	}
	if status, body := apierr.Public(err); status != 503 || strings.Contains(body.Error.Message, "sqlite") {
		t.Errorf("public error %d %q leaks internals", status, body.Error.Message)
	}
	if w.Healthy() == nil {
		t.Fatal("Healthy() = nil while writes fail")
	}
	blocker.Close()
	other.Close() // closing the connection releases the lock
	waitFor(t, "Healthy() == nil after the database became writable", func() bool { return w.Healthy() == nil })
	if err := w.Append(t.Context(), audit.Record{Kind: audit.KindRequest, Request: "3"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(t.Context(), db, key.Public().(ed25519.PublicKey))
	if err != nil || !rep.OK() || rep.Chains[0].Records != 2 {
		t.Fatalf("after recovery: %v\n%s", err, rep.String())
	}
}

func TestCloseFlushesAndStops(t *testing.T) {
	db := openDB(t)
	before := runtime.NumGoroutine()
	w, err := audit.NewWriter(t.Context(), db, audit.WriterOptions{Chain: "c", Signer: key})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				err := w.Append(t.Context(), audit.Record{Kind: audit.KindRequest})
				if errors.Is(err, audit.ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked++
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Millisecond) // let some appends start; correctness does not depend on it
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := w.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	var stored int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM audit_records`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != acked {
		t.Errorf("%d records stored, %d acknowledged", stored, acked)
	}
	cps, _ := db.Checkpoints(t.Context(), "c")
	if stored > 0 && (len(cps) == 0 || cps[len(cps)-1].Seq != uint64(stored)) {
		t.Errorf("Close did not checkpoint the head (checkpoints %v)", cps)
	}
	waitFor(t, "the writer goroutine to exit", func() bool { return runtime.NumGoroutine() <= before })
}

func TestPurgeExpired(t *testing.T) {
	db := openDB(t)
	var mu sync.Mutex // the writer reads the clock from its own goroutine too
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	w, err := audit.NewWriter(t.Context(), db, audit.WriterOptions{Chain: "c", Signer: key,
		MinRetention: audit.MinRetentionCN, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := 0; i < 5; i++ {
		if err := w.Append(t.Context(), audit.Record{Kind: audit.KindRequest}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := w.PurgeExpired(t.Context()); err != nil || n != 0 {
		t.Fatalf("PurgeExpired on fresh records = %d, %v", n, err)
	}
	advance(audit.MinRetentionCN - time.Second)
	if n, _ := w.PurgeExpired(t.Context()); n != 0 {
		t.Fatalf("purged %d records one second before they expire", n)
	}
	advance(2 * time.Second)
	if n, err := w.PurgeExpired(t.Context()); err != nil || n != 5 {
		t.Fatalf("PurgeExpired after 180 days = %d, %v; want 5", n, err)
	}
	w.Close()
	rep, err := audit.Verify(t.Context(), db, key.Public().(ed25519.PublicKey))
	if err != nil || !rep.OK() {
		t.Fatalf("%v\n%s", err, rep.String())
	}
}

// encoded is a store that takes the writer's canonical encodings (as the journal does) and
// checks each against the record it comes with.
type encoded struct {
	*sqlite.DB
	t     *testing.T
	calls atomic.Int64
}

func (e *encoded) AppendEncoded(ctx context.Context, recs []audit.Record, canon [][]byte, cps []audit.Checkpoint) error {
	e.calls.Add(1)
	if len(canon) != len(recs) {
		e.t.Errorf("%d encodings for %d records", len(canon), len(recs))
	}
	for i := range recs {
		want, _ := recs[i].Canonical()
		if !bytes.Equal(canon[i], want) {
			e.t.Errorf("record %d: encoding handed over\n%s\nwant\n%s", recs[i].Seq, canon[i], want)
		}
		if h, _ := recs[i].ComputeHash(); !bytes.Equal(h, recs[i].Hash) {
			e.t.Errorf("record %d: hash does not cover its encoding", recs[i].Seq)
		}
	}
	return e.DB.AppendBatch(ctx, recs, cps)
}

// TestEncodedAppender: a store that keeps the canonical encoding gets the one the writer
// hashed, for every record, and the chain it stores verifies.
func TestEncodedAppender(t *testing.T) {
	st := &encoded{DB: openDB(t), t: t}
	w, err := audit.NewWriter(t.Context(), st, audit.WriterOptions{Chain: "c", Signer: key, CheckpointEvery: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		rec := audit.Record{Kind: audit.KindRequest, Request: fmt.Sprintf("r%d", i), Region: "CN", Status: 200,
			Privacy: map[string]int64{"phone": 1}, PromptMAC: audit.ContentMAC([]byte("k"), "p")}
		if err := w.Append(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st.calls.Load() == 0 {
		t.Fatal("the writer never used AppendEncoded")
	}
	rep, err := audit.Verify(t.Context(), st.DB, key.Public().(ed25519.PublicKey))
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %v\n%s", err, rep.String())
	}
}
