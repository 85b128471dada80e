package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/audit"
	"github.com/qiao-gateway/qiao/internal/store/sqlite"
	"github.com/qiao-gateway/qiao/internal/store/storetest"
)

// openCrash opens the crash child's store; "DIR#normal" selects synchronous=NORMAL (the
// gateway's default audit.sync), plain "DIR" the package default synchronous=FULL.
func openCrash(_ context.Context, arg string) (storetest.Store, error) {
	if dir, ok := strings.CutSuffix(arg, "#normal"); ok {
		return sqlite.OpenWith(dir, sqlite.Options{Pragmas: []string{"synchronous(NORMAL)"}})
	}
	return sqlite.Open(arg)
}

func TestMain(m *testing.M) {
	storetest.CrashChild(openCrash)
	os.Exit(m.Run())
}

var dirs = map[storetest.Store]string{}

func open(t *testing.T, dir string, o sqlite.Options) *sqlite.DB {
	t.Helper()
	db, err := sqlite.OpenWith(dir, o)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { db.Close() })
	dirs[db] = dir
	return db
}

var placeholder = regexp.MustCompile(`\$(\d+)`)

var harness = storetest.Harness{
	New: func(t *testing.T) storetest.Store { return open(t, t.TempDir(), sqlite.Options{}) },
	Reopen: func(t *testing.T, st storetest.Store, readOnly bool) storetest.Store {
		var o sqlite.Options
		if readOnly {
			o.Pragmas = []string{"query_only(1)"}
		}
		return open(t, dirs[st], o)
	},
	Exec: func(t *testing.T, st storetest.Store, query string, args ...any) {
		t.Helper()
		// SQLite numbers parameters ?1, ?2, …
		if _, err := st.(*sqlite.DB).SQL().ExecContext(t.Context(), placeholder.ReplaceAllString(query, "?$1"), args...); err != nil {
			t.Fatalf("exec %q: %v", query, err)
		}
	},
}

func TestContract(t *testing.T) { storetest.Run(t, harness) }

func TestCrashKill9(t *testing.T) {
	dir := t.TempDir()
	storetest.Crash(t, openCrash, dir, 3000)
}

// TestCrashKill9SyncNormal: with synchronous=NORMAL (no fsync per commit) a record whose
// Append returned still survives kill -9 of the process: at commit its WAL frames have been
// written to the operating system.
func TestCrashKill9SyncNormal(t *testing.T) {
	dir := t.TempDir()
	storetest.Crash(t, openCrash, dir+"#normal", 3000)
}

func TestOpenCreatesDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	db := open(t, dir, sqlite.Options{})
	if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err != nil || db.Path() != filepath.Join(dir, sqlite.FileName) {
		t.Fatalf("database file: %v", err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode %v, %v; want 0700 (it holds keys)", fi.Mode(), err)
	}
	var mode string
	if err := db.SQL().QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var sync int
	if err := db.SQL().QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous = %d, %v; want 2 (FULL)", sync, err)
	}
	// Options override the defaults, busy_timeout included (the driver would keep the
	// first of two).
	over := open(t, t.TempDir(), sqlite.Options{Pragmas: []string{"busy_timeout(20)", "synchronous(NORMAL)"}})
	var busy int
	if err := over.SQL().QueryRow(`PRAGMA busy_timeout`).Scan(&busy); err != nil || busy != 20 {
		t.Errorf("busy_timeout = %d, %v; want the option's 20", busy, err)
	}
	if err := over.SQL().QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil || sync != 1 {
		t.Errorf("synchronous = %d, %v; want the option's 1 (NORMAL)", sync, err)
	}
	// Migrations are recorded and not applied twice.
	db.Close()
	db = open(t, dir, sqlite.Options{})
	var n int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != 1 {
		t.Errorf("schema_migrations has %d rows (%v), want 1", n, err)
	}
}

func TestOpenBadDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Open(filepath.Join(file, "data")); err == nil {
		t.Fatal("Open under a regular file succeeded")
	}
	if _, err := sqlite.Open(""); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
}

// TestDiskFull fills the database to its page limit: the request whose record does not fit
// is refused with 503 audit_unavailable naming the full disk, and what was stored still
// verifies.
func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, sqlite.Options{})
	var pages int
	if err := db.SQL().QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	full := open(t, dir, sqlite.Options{Pragmas: []string{fmt.Sprintf("max_page_count(%d)", pages+2)}})
	w, err := audit.NewWriter(t.Context(), full, audit.WriterOptions{Chain: "r1", Signer: storetest.TestSigningKey(), RetryInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	stored := 0
	for i := 0; ; i++ {
		if i == 10000 {
			t.Fatal("the database never filled up")
		}
		err := w.Append(t.Context(), audit.Record{Kind: audit.KindRequest, Request: fmt.Sprintf("req-%05d", i), Tenant: "acme", Model: "qwen-plus"})
		if err == nil {
			stored++
			continue
		}
		e, ok := apierr.As(err)
		if !ok || e.Status != http.StatusServiceUnavailable || e.Code != audit.CodeAuditUnavailable || !errors.Is(err, sqlite.ErrFull) {
			t.Fatalf("Append on a full database = %v, want 503 audit_unavailable wrapping ErrFull", err)
		}
		t.Logf("after %d records: %v", stored, err)
		break
	}
	if w.Healthy() == nil {
		t.Error("Healthy() = nil on a full database")
	}
	rep, err := audit.Verify(t.Context(), db, storetest.TestPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Chains[0].Records != int64(stored) {
		t.Errorf("%d records stored, %d acknowledged", rep.Chains[0].Records, stored)
	}
	for _, p := range rep.Problems { // only checkpoint coverage may lag; nothing may be broken
		t.Errorf("problem: %v", p)
	}
}

func TestReadOnlyError(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, sqlite.Options{})
	ro := open(t, dir, sqlite.Options{Pragmas: []string{"query_only(1)"}})
	w, err := audit.NewWriter(t.Context(), ro, audit.WriterOptions{Chain: "r1", Signer: storetest.TestSigningKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	err = w.Append(t.Context(), audit.Record{Kind: audit.KindRequest})
	if !errors.Is(err, sqlite.ErrReadOnly) {
		t.Fatalf("Append = %v, want ErrReadOnly in the chain", err)
	}
}

func BenchmarkWriter64(b *testing.B) {
	db, err := sqlite.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	storetest.BenchmarkWriter(b, db, 64)
}

func BenchmarkWriter1(b *testing.B) {
	db, err := sqlite.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	storetest.BenchmarkWriter(b, db, 1)
}

// TestChainLock: a second writer for the same chain on the same data directory is refused
// while the first runs (flock is per open file, so this holds within one process too).
func TestChainLock(t *testing.T) {
	dir := t.TempDir()
	a, b := open(t, dir, sqlite.Options{}), open(t, dir, sqlite.Options{})
	w1, err := audit.NewWriter(t.Context(), a, audit.WriterOptions{Chain: "gw", Signer: storetest.TestSigningKey()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.NewWriter(t.Context(), b, audit.WriterOptions{Chain: "gw", Signer: storetest.TestSigningKey()}); !errors.Is(err, audit.ErrChainInUse) {
		t.Fatalf("second writer: %v, want ErrChainInUse", err)
	}
	w3, err := audit.NewWriter(t.Context(), b, audit.WriterOptions{Chain: "gw-cli", Signer: storetest.TestSigningKey()})
	if err != nil {
		t.Fatal(err)
	}
	w3.Close()
	w1.Close()
	w2, err := audit.NewWriter(t.Context(), b, audit.WriterOptions{Chain: "gw", Signer: storetest.TestSigningKey()})
	if err != nil {
		t.Fatalf("after the first writer closed: %v", err)
	}
	w2.Close()
}

// TestAppendBatchGoroutines: a batch costs a few goroutines, not one per record (the driver
// starts one for every statement run under a cancellable context).
func TestAppendBatchGoroutines(t *testing.T) {
	db := open(t, t.TempDir(), sqlite.Options{})
	recs := make([]audit.Record, 200)
	for i := range recs {
		recs[i] = audit.Record{Chain: "c", Seq: uint64(i + 1), Time: time.Unix(1_800_000_000, 0), Kind: audit.KindRequest,
			Request: fmt.Sprintf("req-%d", i), Status: 200, Hash: audit.Hash(fmt.Sprintf("%064d", i))}
	}
	created := func() uint64 {
		s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := created()
	if err := db.AppendBatch(ctx, recs, nil); err != nil {
		t.Fatal(err)
	}
	if n := created() - before; n > 20 {
		t.Fatalf("%d goroutines started to store %d records", n, len(recs))
	}
	// Still bounded by the context: a cancelled one stores nothing.
	cancel()
	more := []audit.Record{recs[0]}
	more[0].Seq, more[0].Request = 1000, "late"
	if err := db.AppendBatch(ctx, more, nil); err == nil {
		t.Fatal("AppendBatch with a cancelled context succeeded")
	}
	seq, _, err := db.Head(context.Background(), "c")
	if err != nil || seq != uint64(len(recs)) {
		t.Fatalf("head after the cancelled batch: %d, %v; want %d", seq, err, len(recs))
	}
}
