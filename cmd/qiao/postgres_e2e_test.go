package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// postgresDSN returns a DSN whose search_path is a fresh schema, dropped after the test.
// Under CI=true PostgreSQL must be there.
func postgresDSN(t *testing.T) string {
	t.Helper()
	base := os.Getenv("QIAO_TEST_POSTGRES_DSN")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required under CI=true: %v", err)
		}
		t.Skipf("PostgreSQL not reachable (set QIAO_TEST_POSTGRES_DSN): %v", err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	schema := "qiao_e2e_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, base); err == nil {
			c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(ctx)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestE2EPostgresReplicas runs two gateway replicas on one PostgreSQL database: they share
// the API keys, each writes its own audit chain, and `qiao audit verify` checks both.
func TestE2EPostgresReplicas(t *testing.T) {
	e := startE2E(t)
	e.env["QIAO_POSTGRES_DSN"] = postgresDSN(t)
	raw, err := os.ReadFile(filepath.Join(e.data, "qiao.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfgs := map[string]string{}
	for _, replica := range []string{"replica-a", "replica-b"} {
		path := filepath.Join(e.data, replica+".yaml")
		cfg := fmt.Sprintf("audit:\n  store: postgres\n  replica: %s\n  signing_key_env: AUDIT_SIGNING\n", replica) + string(raw)
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		cfgs[replica] = path
	}
	// Replicas share one checkpoint key, so one public key verifies every chain.
	e.env["AUDIT_SIGNING"] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	key := strings.TrimSpace(e.run("keys", "create", "--config", cfgs["replica-a"], "--data", e.data, "--tenant", "acme", "--region", "CN"))
	// Each replica has its own data directory (as on separate hosts): what they share is the
	// database and the signing key from the environment.
	dataDirs := map[string]string{"replica-a": e.data, "replica-b": t.TempDir()}
	for _, replica := range []string{"replica-a", "replica-b"} {
		base, cancel, done := e.serve(cfgs[replica], dataDirs[replica])
		for i := 0; i < 3; i++ {
			var out struct {
				Choices []struct {
					FinishReason string `json:"finish_reason"`
				}
			}
			body := `{"model":"chat","messages":[{"role":"user","content":"你好 ` + replica + `"}]}`
			old := e.base
			e.base = base
			resp := e.call("POST", "/v1/chat/completions", key, body, &out)
			e.base = old
			if resp.StatusCode != 200 || len(out.Choices) != 1 {
				t.Fatalf("%s: status %d", replica, resp.StatusCode)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("%s stopped with %v", replica, err)
		}
	}
	// The records are in PostgreSQL (the SQLite file of the data directory is not used).
	ctx, cancelQ := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelQ()
	conn, err := pgx.Connect(ctx, e.env["QIAO_POSTGRES_DSN"])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM audit_records WHERE kind = 'request'").Scan(&n); err != nil || n != 6 {
		t.Fatalf("request records in PostgreSQL: %d (%v), want 6", n, err)
	}
	out := e.run("audit", "verify", "--config", cfgs["replica-a"], "--data", e.data)
	if c := strings.Count(out, "chain \""); c != 2 {
		t.Errorf("%d chains, want 2:\n%s", c, out)
	}
	for _, want := range []string{`chain "replica-a": 3 records`, `chain "replica-b": 3 records`, "OK: no tampering found"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
}
