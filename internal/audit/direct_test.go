package audit_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/audit"
	"github.com/qiao-gateway/qiao/internal/store/sqlite"
)

// cheap is a CheapAppender over SQLite (the writer commits on the appender's goroutine)
// whose AppendBatch can panic once, or wait for its context like a journal whose backlog
// is full.
type cheap struct {
	*sqlite.DB
	panicOnce atomic.Bool
	block     atomic.Bool
}

func (c *cheap) CheapAppends() bool { return true }

func (c *cheap) AppendBatch(ctx context.Context, recs []audit.Record, cps []audit.Checkpoint) error {
	if len(recs) > 0 && c.panicOnce.CompareAndSwap(true, false) {
		panic("store bug")
	}
	if len(recs) > 0 && c.block.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return c.DB.AppendBatch(ctx, recs, cps)
}

// TestDirectPanicGivesBackTheTurn: a store that panics inside a recovered handler does not
// leave every later append, and Close, waiting for the commit turn.
func TestDirectPanicGivesBackTheTurn(t *testing.T) {
	st := &cheap{DB: openDB(t)}
	w, err := audit.NewWriter(t.Context(), st, audit.WriterOptions{Chain: "c", Signer: key, RetryInterval: 10 * time.Millisecond, CheckpointInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	st.panicOnce.Store(true)
	func() {
		defer func() { recover() }() // as the server's recovery would
		w.Append(t.Context(), audit.Record{Kind: audit.KindAdmin})
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := w.Append(ctx, audit.Record{Kind: audit.KindAdmin}); err != nil {
		t.Errorf("append after a recovered panic: %v", err)
	}
	done := make(chan error)
	go func() { done <- w.Close() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Error("Close hangs: the panicking append kept the turn")
	}
}

// TestDirectCallerGivingUpIsNotAFailure: an appender whose context ends while the store is
// busy gets its error, and the writer stays healthy: its store did not fail.
func TestDirectCallerGivingUpIsNotAFailure(t *testing.T) {
	st := &cheap{DB: openDB(t)}
	w, err := audit.NewWriter(t.Context(), st, audit.WriterOptions{Chain: "c", Signer: key, RetryInterval: time.Hour, CheckpointInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	st.block.Store(true)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := w.Append(ctx, audit.Record{Kind: audit.KindAdmin}); err == nil {
		t.Fatal("an append whose context ended succeeded: the test tests nothing")
	}
	st.block.Store(false)
	if err := w.Healthy(); err != nil {
		t.Errorf("one caller's deadline made the writer unhealthy: %v", err)
	}
	if err := w.Append(t.Context(), audit.Record{Kind: audit.KindAdmin}); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s.Records != 1 || s.Failures != 0 {
		t.Errorf("stats %+v, want 1 record, no failure", s)
	}
}
