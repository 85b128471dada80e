package journal_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/audit"
	"github.com/qiao-gateway/qiao/internal/audit/journal"
	"github.com/qiao-gateway/qiao/internal/store/sqlite"
	"github.com/qiao-gateway/qiao/internal/store/storetest"
)

func TestMain(m *testing.M) {
	storetest.CrashChild(openCrash)
	os.Exit(m.Run())
}

// journaled is a whole store whose audit log goes through a journal, as the gateway
// builds it.
type journaled struct {
	storetest.Store
	j *journal.Journal
}

func (s journaled) AppendBatch(ctx context.Context, recs []audit.Record, cps []audit.Checkpoint) error {
	return s.j.AppendBatch(ctx, recs, cps)
}
func (s journaled) AppendEncoded(ctx context.Context, recs []audit.Record, canon [][]byte, cps []audit.Checkpoint) error {
	return s.j.AppendEncoded(ctx, recs, canon, cps)
}
func (s journaled) Head(ctx context.Context, chain string) (uint64, audit.Hash, error) {
	return s.j.Head(ctx, chain)
}
func (s journaled) Records(ctx context.Context, chain string, from uint64, fn func(audit.Record) error) error {
	return s.j.Records(ctx, chain, from, fn)
}
func (s journaled) RecordsByTime(ctx context.Context, from, to time.Time, fn func(audit.Record) error) error {
	return s.j.RecordsByTime(ctx, from, to, fn)
}
func (s journaled) Checkpoints(ctx context.Context, chain string) ([]audit.Checkpoint, error) {
	return s.j.Checkpoints(ctx, chain)
}
func (s journaled) Chains(ctx context.Context) ([]string, error) { return s.j.Chains(ctx) }
func (s journaled) PurgePoint(ctx context.Context, chain string, before time.Time) (uint64, audit.Hash, error) {
	return s.j.PurgePoint(ctx, chain, before)
}
func (s journaled) Purge(ctx context.Context, anchor audit.Checkpoint) (int64, error) {
	return s.j.Purge(ctx, anchor)
}
func (s journaled) LockChain(ctx context.Context, chain string) (func(), error) {
	return s.j.LockChain(ctx, chain)
}
func (s journaled) CheapAppends() bool { return s.j.CheapAppends() }
func (s journaled) Healthy() error     { return s.j.Healthy() }
func (s journaled) Close() error {
	return errors.Join(s.j.Close(context.Background()), s.Store.Close())
}

// openCrash opens SQLite (synchronous=NORMAL, the gateway's default) in dir behind a
// journal in dir/journal: the crash test's store.
func openCrash(ctx context.Context, dir string) (storetest.Store, error) {
	db, err := sqlite.OpenWith(dir, sqlite.Options{Pragmas: []string{"synchronous(NORMAL)"}})
	if err != nil {
		return nil, err
	}
	j, err := journal.Open(ctx, db, journal.Options{Dir: filepath.Join(dir, "journal"), SegmentBytes: 64 << 10})
	if err != nil {
		db.Close()
		return nil, err
	}
	return journaled{db, j}, nil
}

// TestCrashKill9 kills a process appending from 32 goroutines through the journal and
// checks that every acknowledged record reaches the store when the journal is reopened.
func TestCrashKill9(t *testing.T) {
	storetest.Crash(t, openCrash, t.TempDir(), 3000)
}

var signer = storetest.TestSigningKey()

func record(i int) audit.Record {
	return audit.Record{Kind: audit.KindRequest, Request: fmt.Sprintf("req-%04d", i), Tenant: "acme",
		Region: "CN", Status: 200, Privacy: map[string]int64{"phone": int64(i % 3)},
		Time: time.Date(2026, 11, 1, 8, 0, 0, i, time.UTC)}
}

func openDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func open(t *testing.T, inner audit.Store, o journal.Options) *journal.Journal {
	t.Helper()
	j, err := journal.Open(t.Context(), inner, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close(context.Background()) })
	return j
}

func writer(t *testing.T, st audit.Store, retry time.Duration) *audit.Writer {
	t.Helper()
	w, err := audit.NewWriter(t.Context(), st, audit.WriterOptions{Chain: "r1", Signer: signer, CheckpointEvery: 50, RetryInterval: retry})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// stored returns the request ids of chain r1 in the store, in order, and checks the log
// verifies.
func stored(t *testing.T, st audit.Store) []string {
	t.Helper()
	var ids []string
	if err := st.Records(t.Context(), "r1", 0, func(r audit.Record) error { ids = append(ids, r.Request); return nil }); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(t.Context(), st, storetest.TestPublicKey())
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %v\n%s", err, rep.String())
	}
	return ids
}

func segments(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAppendReachesStore(t *testing.T) {
	for _, syncs := range []bool{false, true} {
		t.Run(fmt.Sprintf("sync=%v", syncs), func(t *testing.T) {
			db := openDB(t)
			dir := t.TempDir()
			j := open(t, db, journal.Options{Dir: dir, Sync: syncs})
			w := writer(t, j, 0)
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 25 {
						if err := w.Append(t.Context(), record(g*100+i)); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := j.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := stored(t, db); len(got) != 200 {
				t.Fatalf("store holds %d records, want 200", len(got))
			}
			if s := segments(t, dir); len(s) != 0 {
				t.Errorf("segments left after a clean close: %v", s)
			}
		})
	}
}

// TestReadsSeeJournaled: a reader of the journal sees every record journaled so far.
func TestReadsSeeJournaled(t *testing.T) {
	gate := &gated{Store: openDB(t), open: make(chan struct{})}
	j := open(t, gate, journal.Options{Dir: t.TempDir()})
	w := writer(t, j, 0)
	for i := range 5 {
		if err := w.Append(t.Context(), record(i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := j.Backlog(); n == 0 {
		t.Fatal("backlog is empty while the store is held: the test does not test anything")
	}
	time.AfterFunc(50*time.Millisecond, func() { close(gate.open) })
	if got := stored(t, j); len(got) != 5 {
		t.Fatalf("Records through the journal saw %d records, want 5", len(got))
	}
}

// gated holds every AppendBatch until open is closed.
type gated struct {
	audit.Store
	open  chan struct{}
	calls atomic.Int32
}

func (g *gated) AppendBatch(ctx context.Context, recs []audit.Record, cps []audit.Checkpoint) error {
	g.calls.Add(1)
	select {
	case <-g.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.Store.AppendBatch(ctx, recs, cps)
}

// TestBacklogBound: at most MaxBacklog records wait for the store; the next append waits.
func TestBacklogBound(t *testing.T) {
	gate := &gated{Store: openDB(t), open: make(chan struct{})}
	j := open(t, gate, journal.Options{Dir: t.TempDir(), MaxBacklog: 4})
	w := writer(t, j, 0)
	for i := range 4 {
		if err := w.Append(t.Context(), record(i)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := w.Append(ctx, record(4)); err == nil {
		t.Fatal("a fifth record was accepted with a backlog of 4 held by the store")
	}
	close(gate.open)
	if err := w.Append(t.Context(), record(5)); err != nil {
		t.Fatalf("append after the store caught up: %v", err)
	}
	// The timed-out record may or may not have been journaled; the rest must be there.
	got := strings.Join(stored(t, j), ",")
	for _, id := range []string{"req-0000", "req-0003", "req-0005"} {
		if !strings.Contains(got, id) {
			t.Errorf("%s missing from %s", id, got)
		}
	}
}

// TestAppendHonoursContextWhileResyncing: after a failed append the writer re-reads the
// chain head, which over the journal waits for the backlog to drain; an append whose
// context ends meanwhile returns then, not when the store is back.
func TestAppendHonoursContextWhileResyncing(t *testing.T) {
	gate := &gated{Store: openDB(t), open: make(chan struct{})}
	j := open(t, gate, journal.Options{Dir: t.TempDir(), MaxBacklog: 4})
	t.Cleanup(func() { close(gate.open) }) // before the journal's cleanup closes it
	w := writer(t, j, time.Hour)
	for i := range 4 {
		if err := w.Append(t.Context(), record(i)); err != nil {
			t.Fatal(err)
		}
	}
	short := func() (time.Duration, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := w.Append(ctx, record(9))
		return time.Since(start), err
	}
	short() // times out waiting for room in the backlog: the writer must resync
	if d, err := short(); err == nil || d > 2*time.Second {
		t.Fatalf("append with a 100ms context while resyncing: %v after %v", err, d)
	}
}

// flaky fails AppendBatch while failing is set, or for the next failNext calls. With
// landed, a failing call commits the batch before it returns its error (a connection lost
// during COMMIT).
type flaky struct {
	audit.Store
	failing, landed atomic.Bool
	failNext        atomic.Int32
}

var errDown = errors.New("store down")

func (f *flaky) AppendBatch(ctx context.Context, recs []audit.Record, cps []audit.Checkpoint) error {
	if f.failing.Load() || f.failNext.Add(-1) >= 0 {
		if f.landed.Load() {
			if err := f.Store.AppendBatch(ctx, recs, cps); err != nil {
				return err
			}
		}
		return errDown
	}
	return f.Store.AppendBatch(ctx, recs, cps)
}

// TestStoreFailureRefusesAndRecovers: once the store refuses a batch, appends are refused
// (503) and /readyz fails; what was journaled is kept and stored when the store is back.
func TestStoreFailureRefusesAndRecovers(t *testing.T) {
	db := openDB(t)
	st := &flaky{Store: db}
	j := open(t, st, journal.Options{Dir: t.TempDir(), RetryInterval: 20 * time.Millisecond})
	w := writer(t, j, 20*time.Millisecond)
	if err := w.Append(t.Context(), record(0)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the store to take the first record", func() bool { return j.Backlog() == 0 })
	st.failing.Store(true)
	// Journaled before the failure is known: acknowledged, so it must reach the store.
	if err := w.Append(t.Context(), record(1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the journal to report the failure", func() bool { return w.Healthy() != nil })
	err := w.Append(t.Context(), record(2))
	if e, ok := apierr.As(err); !ok || e.Status != http.StatusServiceUnavailable || e.Code != audit.CodeAuditUnavailable {
		t.Fatalf("append while the store is down = %v, want 503 audit_unavailable", err)
	}
	if !strings.Contains(w.Healthy().Error(), "store down") {
		t.Errorf("Healthy() = %v, want the store's error", w.Healthy())
	}
	st.failing.Store(false)
	waitFor(t, "recovery", func() bool { return w.Healthy() == nil })
	if err := w.Append(t.Context(), record(3)); err != nil {
		t.Fatalf("append after recovery: %v", err)
	}
	got := strings.Join(stored(t, j), ",")
	if got != "req-0000,req-0001,req-0003" {
		t.Fatalf("stored %s, want req-0000,req-0001,req-0003", got)
	}
}

// TestCommitLandedThenFailed: a batch the store committed but reported as failed is not
// stored twice (which the store would refuse forever as a duplicate).
func TestCommitLandedThenFailed(t *testing.T) {
	db := openDB(t)
	st := &flaky{Store: db}
	st.landed.Store(true)
	st.failNext.Store(1)
	j := open(t, st, journal.Options{Dir: t.TempDir(), RetryInterval: 10 * time.Millisecond})
	w := writer(t, j, 10*time.Millisecond)
	for i := range 3 {
		// Appends are refused while the ingester has not yet retried the failed batch.
		waitFor(t, fmt.Sprintf("record %d to be taken", i), func() bool { return w.Append(t.Context(), record(i)) == nil })
	}
	waitFor(t, "the store to take the backlog", func() bool { return j.Backlog() == 0 })
	if got := strings.Join(stored(t, j), ","); got != "req-0000,req-0001,req-0002" {
		t.Fatalf("stored %s, want req-0000,req-0001,req-0002", got)
	}
	if st.failNext.Load() == 1 {
		t.Error("the store never failed: the test does not test anything")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSegmentsRotateAndGo: with tiny segments every append after the first starts a new
// file, and files are deleted as the store takes their records.
func TestSegmentsRotateAndGo(t *testing.T) {
	db := openDB(t)
	dir := t.TempDir()
	j := open(t, db, journal.Options{Dir: dir, SegmentBytes: 1})
	w := writer(t, j, 0)
	for i := range 40 {
		if err := w.Append(t.Context(), record(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The segment written last remains, and at most the one before it.
	if s := segments(t, dir); len(s) > 2 {
		t.Errorf("%d segments remain after the store took everything, want ≤ 2", len(s))
	}
	if got := stored(t, j); len(got) != 40 {
		t.Fatalf("%d records stored, want 40", len(got))
	}
}

// TestStoredSegmentReplaced: at low traffic a segment never fills up; once the store holds
// all of a segment past StaleBytes, the next append starts a new one and the old one goes.
func TestStoredSegmentReplaced(t *testing.T) {
	db := openDB(t)
	dir := t.TempDir()
	j := open(t, db, journal.Options{Dir: dir, StaleBytes: 64 << 10})
	w := writer(t, j, 0)
	for i := range 300 {
		if err := w.Append(t.Context(), record(i)); err != nil {
			t.Fatal(err)
		}
		if err := j.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	segs := segments(t, dir)
	if len(segs) > 2 || filepath.Base(segs[0]) == "00000000000000000001.seg" {
		t.Errorf("segments %v: the first, stored long ago, should be gone", segs)
	}
}

func TestDirectoryLocked(t *testing.T) {
	dir := t.TempDir()
	open(t, openDB(t), journal.Options{Dir: dir})
	if _, err := journal.Open(t.Context(), openDB(t), journal.Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open of one directory = %v, want in use", err)
	}
}

// BenchmarkWriter measures appends through a Writer over the journal over SQLite
// (synchronous=NORMAL, as the gateway runs it), with 1 and 64 appenders: compare with the
// sqlite package's BenchmarkWriter1 and BenchmarkWriter64, which commit every batch.
func BenchmarkWriter(b *testing.B) {
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dir := b.TempDir()
			st, err := openCrash(context.Background(), dir)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			storetest.BenchmarkWriter(b, st, n)
		})
	}
}
