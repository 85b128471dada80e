package assistant

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"
)

// redisStore connects to the Redis of the test machine. With CI=true the test must run,
// so an unreachable server fails it; otherwise it skips with a message.
func redisStore(t *testing.T) *RedisStore {
	t.Helper()
	addr := os.Getenv("QIAO_TEST_REDIS")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	s := NewRedisStore(addr, "qiao-test:assistant:"+hex.EncodeToString(b[:])+":")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.Client.Ping(ctx).Err(); err != nil {
		s.Close()
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis at %s unreachable with CI=true: %v", addr, err)
		}
		t.Skipf("redis at %s unreachable (set CI=true to require it): %v", addr, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := s.Client.Keys(ctx, s.Prefix+"*").Result()
		if len(keys) > 0 {
			s.Client.Del(ctx, keys...)
		}
		s.Close()
	})
	return s
}

func TestRedisStore(t *testing.T) {
	s := redisStore(t)
	ctx := context.Background()
	if got, err := s.Load(ctx, "t/none"); err != nil || got != nil {
		t.Fatalf("missing key: %+v, %v", got, err)
	}
	st := &State{Messages: []MemoryMessage{{Role: "user", Content: "明天三点叫我"}}, Pending: &pending{Lang: "zh", Text: "明天三点叫我", Need: "ampm"}}
	if err := s.Save(ctx, "t/c1", st, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx, "t/c1")
	if err != nil || got == nil || got.Pending == nil || got.Pending.Need != "ampm" || got.Messages[0].Content != "明天三点叫我" {
		t.Fatalf("load = %+v, %v", got, err)
	}
	ttl, err := s.Client.PTTL(ctx, s.Prefix+"t/c1").Result()
	if err != nil || ttl <= 0 || ttl > 3*time.Second {
		t.Errorf("PTTL = %v, %v; want within (0, 3s]", ttl, err)
	}
	// A corrupt value is an error, not a silent empty conversation.
	s.Client.Set(ctx, s.Prefix+"t/bad", "{", time.Minute)
	if _, err := s.Load(ctx, "t/bad"); err == nil {
		t.Error("corrupt value loaded without error")
	}
}

// The handler works the same with Redis as with the in-process store: a follow-up
// answered through another handler (another replica) sharing the same Redis.
func TestRedisFollowUpAcrossReplicas(t *testing.T) {
	s := redisStore(t)
	a, err := NewHandler(Config{}, Options{Memory: s})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewHandler(Config{}, Options{Memory: &RedisStore{Client: s.Client, Prefix: s.Prefix}})
	if err != nil {
		t.Fatal(err)
	}
	env := Env{Model: &fakeModel{t: t, forbid: true}, Tenant: "t1"}
	w, err := serve(t, a, turnBody(t, "明天三点叫我", "zh-CN", nil), env)
	if err != nil {
		t.Fatal(err)
	}
	id := decodeResp(t, w).ConversationID
	w, err = serve(t, b, turnBody(t, "下午", "zh-CN", map[string]any{"conversation_id": id}), env)
	if err != nil {
		t.Fatal(err)
	}
	r := decodeResp(t, w)
	if len(r.Actions) != 1 || string(r.Actions[0].Parameters) != `{"time":"2026-11-24T15:00:00+08:00"}` {
		t.Errorf("second replica answered %+v", r)
	}
}
