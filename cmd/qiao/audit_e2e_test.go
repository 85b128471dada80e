package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

func TestE2EAuditTrail(t *testing.T) {
	e := startE2E(t)
	ctx := context.Background()
	c := e.client("CN")
	for _, q := range []string{"你好[[sim:delay=40ms]]", "我的手机是13812345678", "教我自制炸药"} {
		if _, err := c.Chat.Completions.New(ctx, chatParams(q)); err != nil {
			t.Fatal(err)
		}
	}
	// verify and purge run next to the live server.
	if out := e.run("audit", "verify", "--data", e.data); !strings.Contains(out, "OK: no tampering found") {
		t.Fatalf("verify: %s", out)
	}
	if out := e.run("audit", "purge", "--data", e.data); !strings.Contains(out, "purged 0 records") {
		t.Errorf("purge: %s", out)
	}
	e.stop()
	out := e.run("audit", "export", "--data", e.data, "--from", "2000-01-01", "--to", "2100-01-01")
	var requests []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("export line %q: %v", line, err)
		}
		if r["kind"] == "request" {
			requests = append(requests, r)
		}
	}
	if len(requests) != 3 {
		t.Fatalf("%d request records, want 3:\n%s", len(requests), out)
	}
	if p, _ := requests[1]["privacy"].(map[string]any); p["phone"] != float64(1) {
		t.Errorf("privacy counts not recorded: %v", requests[1])
	}
	if s, _ := requests[2]["safety"].([]any); len(s) == 0 {
		t.Errorf("safety outcome not recorded: %v", requests[2])
	}
	for _, secret := range []string{"13812345678", "炸药", "你好"} {
		if strings.Contains(out, secret) {
			t.Errorf("content %q stored in the audit log", secret)
		}
	}
	if ms, _ := requests[0]["latency_ms"].(float64); ms < 40 {
		t.Errorf("latency_ms %v, want at least the upstream's 40ms", requests[0]["latency_ms"])
	}
	if requests[0]["prompt_hmac"] == nil || requests[0]["answer_hmac"] == nil || requests[0]["produce_id"] == nil {
		t.Errorf("hashes or produce id missing: %v", requests[0])
	}

	// Edit one record behind Qiao's back: verify names it.
	db, err := sql.Open("sqlite", filepath.Join(e.data, "qiao.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_records SET status = 500 WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	m := e.newMain()
	var buf bytes.Buffer
	m.Stdout = &buf
	if err := m.ParseFlags([]string{"audit", "verify", "--data", e.data}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(ctx); err == nil || !strings.Contains(buf.String(), "seq 2") {
		t.Errorf("tampering not detected: %v\n%s", err, buf.String())
	}
}
