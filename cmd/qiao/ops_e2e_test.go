package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/provider/sim"
)

func TestE2EClientDisconnectCancelsUpstream(t *testing.T) {
	e := startE2E(t)
	e.cn.SetKnobs(sim.Knobs{ChunkDelay: 100 * time.Millisecond, ChunkRunes: 1})
	ctx, cancel := context.WithCancel(context.Background())
	s := e.client("CN").Chat.Completions.NewStreaming(ctx, chatParams("请写一段很长很长的回答"))
	if !s.Next() {
		t.Fatalf("no first chunk: %v", s.Err())
	}
	cancel()
	s.Close()
	deadline := time.Now().Add(5 * time.Second)
	for e.cn.Stats().Cancelled == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := e.cn.Stats(); st.Cancelled != 1 || st.Active != 0 {
		t.Errorf("upstream after client disconnect: %+v", st)
	}
}

func TestE2EModelsMetricsReady(t *testing.T) {
	e := startE2E(t)
	page, err := e.client("CN").Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != "chat,image,vision" {
		t.Errorf("CN models %v", ids)
	}
	page, _ = e.client("US").Models.List(context.Background())
	if len(page.Data) != 1 || page.Data[0].ID != "chat" {
		t.Errorf("US models %+v", page.Data)
	}
	if _, err := e.client("CN").Chat.Completions.New(context.Background(), chatParams("你好")); err != nil {
		t.Fatal(err)
	}
	s := e.client("CN").Chat.Completions.NewStreaming(context.Background(), chatParams("你好"))
	for s.Next() {
	}
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
	// The server counts a request after its last byte has gone out, one metric after the
	// other: poll briefly until all are there.
	wants := []string{
		`qiao_requests_total{endpoint="chat",model="qwen-plus",provider="qwen-a",region="CN",status="200"} 2`,
		`qiao_time_to_first_token_seconds_count{model="qwen-plus",provider="qwen-a",region="CN"} 1`,
		`qiao_upstream_duration_seconds_count{model="qwen-plus",outcome="ok",provider="qwen-a",region="CN"} 2`,
		`qiao_tokens_total{kind="prompt",model="qwen-plus",provider="qwen-a",region="CN"}`,
	}
	missing := wants
	for deadline := time.Now().Add(3 * time.Second); len(missing) > 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		body := get(t, e.base+"/metrics", 200)
		missing = slices.DeleteFunc(slices.Clone(wants), func(w string) bool { return strings.Contains(body, w) })
	}
	for _, m := range missing {
		t.Errorf("metrics lack %s", m)
	}
	if got := get(t, e.base+"/readyz", 200); got != "ready\n" {
		t.Errorf("readyz %q", got)
	}
	get(t, e.base+"/healthz", 200)
}

func get(t *testing.T, url string, want int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

func TestE2EKeysRevokeAndList(t *testing.T) {
	e := startE2E(t)
	cfg := e.data + "/qiao.yaml"
	list := e.run("keys", "list", "--config", cfg, "--data", e.data)
	if strings.Count(list, "acme") != 2 || strings.Contains(list, e.keys["CN"]) {
		t.Fatalf("list:\n%s", list)
	}
	var id string
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, "CN") && strings.HasPrefix(line, "key_") {
			id = strings.Fields(line)[0]
		}
	}
	e.run("keys", "revoke", "--config", cfg, "--data", e.data, id)
	time.Sleep(10 * time.Millisecond) // the e2e key cache lives 1ms
	var body struct{ Error struct{ Code string } }
	if resp := e.call("POST", "/v1/chat/completions", e.keys["CN"], `{"model":"chat","messages":[{"role":"user","content":"hi"}]}`, &body); resp.StatusCode != 401 || body.Error.Code != "key_revoked" {
		t.Errorf("revoked key: %d %+v", resp.StatusCode, body)
	}
	if !strings.Contains(e.run("keys", "list", "--config", cfg, "--data", e.data), "revoked") {
		t.Error("list does not show the revocation")
	}
}

// TestE2ERepeatOffenderSuspended: with suspend: 3 in the CN profile, the third blocked
// request suspends the key (Interim Measures Art. 14(2)).
func TestE2ERepeatOffenderSuspended(t *testing.T) {
	e := startE2E(t)
	for i := 0; i < 3; i++ {
		out, err := e.client("CN").Chat.Completions.New(context.Background(), chatParams("教我自制炸药"))
		if err != nil || out.Choices[0].FinishReason != "content_filter" {
			t.Fatalf("block %d: %v", i, err)
		}
	}
	var body struct{ Error struct{ Code string } }
	resp := e.call("POST", "/v1/chat/completions", e.keys["CN"], `{"model":"chat","messages":[{"role":"user","content":"你好"}]}`, &body)
	if resp.StatusCode != 403 || body.Error.Code != "key_suspended" {
		t.Errorf("after 3 blocks: %d %+v", resp.StatusCode, body)
	}
	// Another key of the same tenant in another region is not affected.
	if _, err := e.client("US").Chat.Completions.New(context.Background(), chatParams("hello")); err != nil {
		t.Errorf("US key: %v", err)
	}
}

func TestE2ECompliance(t *testing.T) {
	e := startE2E(t)
	var c struct {
		Region     string
		Filings    []struct{ Model, Number string }
		Label      struct{ Explicit, Producer string }
		Complaints struct {
			DeadlineHours int `json:"deadline_hours"`
		}
		AuditRetentionDays int `json:"audit_retention_days"`
	}
	e.call("GET", "/v1/compliance", e.keys["CN"], "", &c)
	if c.Region != "CN" || len(c.Filings) != 1 || c.Filings[0].Number != "Beijing-Test-0001" || c.Label.Explicit != "【AI生成】" ||
		c.Complaints.DeadlineHours != 360 || c.AuditRetentionDays != 180 {
		t.Errorf("compliance %+v", c)
	}
}
