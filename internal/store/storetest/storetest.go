// Package storetest is the contract every store must pass: keys, audit log (append, chain,
// checkpoints, export, retention, tamper detection of every kind, failure on a read-only
// database) and complaints. store/sqlite and store/postgres run it against their database,
// together with the crash test (kill -9 under load) and the writer benchmark.
package storetest

import (
	"context"
	"crypto/ed25519"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/store"
)

// Store is the store under test.
type Store = store.Store

// Harness adapts a store implementation to the suite.
type Harness struct {
	// New returns a fresh, empty store; it is closed by the test's cleanup.
	New func(t *testing.T) Store
	// Reopen returns another handle on st's database. With readOnly, every write through it
	// must fail the way a read-only database fails. It is closed by the test's cleanup.
	Reopen func(t *testing.T, st Store, readOnly bool) Store
	// Exec runs one SQL statement on st's database, with placeholders written $1, $2, ...
	Exec func(t *testing.T, st Store, query string, args ...any)
}

// Run runs the whole contract suite.
func Run(t *testing.T, h Harness) {
	t.Run("Keys", func(t *testing.T) { testKeys(t, h) })
	t.Run("Complaints", func(t *testing.T) { testComplaints(t, h) })
	t.Run("AuditAppendVerify", func(t *testing.T) { testAppendVerify(t, h) })
	t.Run("AuditConcurrent", func(t *testing.T) { testConcurrent(t, h) })
	t.Run("AuditReopenContinues", func(t *testing.T) { testReopen(t, h) })
	t.Run("AuditReplicas", func(t *testing.T) { testReplicas(t, h) })
	t.Run("AuditExport", func(t *testing.T) { testExport(t, h) })
	t.Run("AuditRetention", func(t *testing.T) { testRetention(t, h) })
	t.Run("AuditTamper", func(t *testing.T) { testTamper(t, h) })
	t.Run("AuditReadOnly", func(t *testing.T) { testReadOnly(t, h) })
}

// testKey is a fixed signing key so failures are reproducible.
var testKey = ed25519.NewKeyFromSeed([]byte("qiao-storetest-signing-key-seed!"))

// TestPublicKey is the public half of the key the suite signs with.
func TestPublicKey() ed25519.PublicKey { return testKey.Public().(ed25519.PublicKey) }

// clock is a deterministic clock that advances one millisecond per reading. It is safe for
// concurrent use, as WriterOptions.Now must be.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	return t.Context()
}

func ed25519GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(nil)
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// TestSigningKey is the key the suite signs checkpoints with, for store-specific tests.
func TestSigningKey() ed25519.PrivateKey { return testKey }
