package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/qiao-gateway/qiao/internal/audit"
	"github.com/qiao-gateway/qiao/internal/store/postgres"
	"github.com/qiao-gateway/qiao/internal/store/storetest"
)

func TestMain(m *testing.M) {
	storetest.CrashChild(func(ctx context.Context, dsn string) (storetest.Store, error) { return postgres.Open(ctx, dsn) })
	os.Exit(m.Run())
}

func baseDSN() string {
	if v := os.Getenv("QIAO_TEST_POSTGRES_DSN"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// withParam adds a run-time parameter to a URL or key=value DSN.
func withParam(dsn, key, value string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return dsn
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " " + key + "='" + value + "'"
}

// schema creates a schema of its own for t and returns a DSN that uses it. When PostgreSQL
// is unreachable the test is skipped, except under CI=true, where it fails.
func schema(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, baseDSN())
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required under CI=true: %v", err)
		}
		t.Skipf("PostgreSQL not reachable (set QIAO_TEST_POSTGRES_DSN): %v", err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	name := "qiao_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, baseDSN()); err == nil {
			c.Exec(ctx, "DROP SCHEMA "+name+" CASCADE")
			c.Close(ctx)
		}
	})
	return withParam(baseDSN(), "search_path", name)
}

var dsns = map[storetest.Store]string{}

func open(t *testing.T, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	dsns[db] = dsn
	return db
}

var harness = storetest.Harness{
	New: func(t *testing.T) storetest.Store { return open(t, schema(t)) },
	Reopen: func(t *testing.T, st storetest.Store, readOnly bool) storetest.Store {
		dsn := dsns[st]
		if readOnly {
			dsn = withParam(dsn, "default_transaction_read_only", "on")
		}
		return open(t, dsn)
	},
	Exec: func(t *testing.T, st storetest.Store, query string, args ...any) {
		t.Helper()
		if _, err := st.(*postgres.DB).Pool().Exec(t.Context(), query, args...); err != nil {
			t.Fatalf("exec %q: %v", query, err)
		}
	},
}

func TestContract(t *testing.T) { storetest.Run(t, harness) }

func TestCrashKill9(t *testing.T) {
	storetest.Crash(t, func(ctx context.Context, dsn string) (storetest.Store, error) { return postgres.Open(ctx, dsn) },
		schema(t), 2000)
}

func TestReadOnlyError(t *testing.T) {
	dsn := schema(t)
	open(t, dsn)
	ro := open(t, withParam(dsn, "default_transaction_read_only", "on"))
	w, err := audit.NewWriter(t.Context(), ro, audit.WriterOptions{Chain: "r1", Signer: storetest.TestSigningKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Append(t.Context(), audit.Record{Kind: audit.KindRequest}); !errors.Is(err, postgres.ErrReadOnly) {
		t.Fatalf("Append = %v, want ErrReadOnly in the chain", err)
	}
}

func TestMigrationsOnce(t *testing.T) {
	dsn := schema(t)
	open(t, dsn)
	db := open(t, dsn)
	var n int
	if err := db.Pool().QueryRow(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != 1 {
		t.Errorf("schema_migrations has %d rows (%v), want 1", n, err)
	}
}

func TestOpenBadDSN(t *testing.T) {
	_, err := postgres.Open(t.Context(), "postgres://user:s3cret@[::1")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Open(bad DSN) = %v; want an error that does not echo the password", err)
	}
}

func BenchmarkWriter64(b *testing.B) {
	db, err := postgres.Open(context.Background(), schema(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	storetest.BenchmarkWriter(b, db, 64)
}

// TestChainLock: a second writer for the same chain is refused while the first runs, and
// takes over once it is closed.
func TestChainLock(t *testing.T) {
	dsn := schema(t)
	db := open(t, dsn)
	w1, err := audit.NewWriter(t.Context(), db, audit.WriterOptions{Chain: "gw", Signer: storetest.TestSigningKey()})
	if err != nil {
		t.Fatal(err)
	}
	other := open(t, dsn)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := audit.NewWriter(ctx, other, audit.WriterOptions{Chain: "gw", Signer: storetest.TestSigningKey()}); err == nil {
		t.Fatal("a second writer on the same chain started")
	}
	// Another chain in the same database is independent.
	w3, err := audit.NewWriter(t.Context(), other, audit.WriterOptions{Chain: "gw-2", Signer: storetest.TestSigningKey()})
	if err != nil {
		t.Fatal(err)
	}
	w3.Close()
	w1.Close()
	w2, err := audit.NewWriter(t.Context(), other, audit.WriterOptions{Chain: "gw", Signer: storetest.TestSigningKey()})
	if err != nil {
		t.Fatalf("after the first writer closed: %v", err)
	}
	w2.Close()
}
