package limit

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestLocalGCRA(t *testing.T) {
	now := time.Unix(1000, 0)
	l := &Local{Now: func() time.Time { return now }}
	r := Rate{PerSecond: 10, Burst: 3}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if d, _ := l.Allow(ctx, "k", r); !d.Allowed {
			t.Fatalf("burst request %d refused", i)
		}
	}
	d, _ := l.Allow(ctx, "k", r)
	if d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 100*time.Millisecond {
		t.Fatalf("4th request: %+v, want refused with retry ≤100ms", d)
	}
	if d, _ := l.Allow(ctx, "other", r); !d.Allowed {
		t.Fatal("keys are not independent")
	}
	now = now.Add(100 * time.Millisecond)
	if d, _ := l.Allow(ctx, "k", r); !d.Allowed {
		t.Fatal("not allowed after one interval")
	}
	if d, _ := l.Allow(ctx, "k", r); d.Allowed {
		t.Fatal("second request in the same interval allowed")
	}
	// Sustained: over 10 simulated seconds at 50 req/s offered, about 10/s pass.
	allowed := 0
	for i := 0; i < 500; i++ {
		now = now.Add(20 * time.Millisecond)
		if d, _ := l.Allow(ctx, "s", r); d.Allowed {
			allowed++
		}
	}
	if allowed < 100 || allowed > 104 {
		t.Errorf("sustained: %d allowed in 10s at 10/s (burst 3)", allowed)
	}
}

func TestLocalForgetsIdleKeys(t *testing.T) {
	now := time.Unix(1000, 0)
	l := &Local{Now: func() time.Time { return now }, MaxKeys: 10}
	for i := 0; i < 100; i++ {
		l.Allow(context.Background(), fmt.Sprint(i), Rate{PerSecond: 1, Burst: 1})
		now = now.Add(2 * time.Second)
	}
	if n := len(l.tat); n > 10 {
		t.Errorf("%d keys kept, want at most 10", n)
	}
}

// TestRedisShared checks the Redis limiter against a real Redis: two limiters (two
// replicas) share one budget.
func TestRedisShared(t *testing.T) {
	addr := os.Getenv("QIAO_TEST_REDIS")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	ctx := context.Background()
	if err := client.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis at %s is required under CI: %v", addr, err)
		}
		t.Skipf("Redis at %s unreachable: %v", addr, err)
	}
	prefix := fmt.Sprintf("qiao-test:%d:", time.Now().UnixNano())
	a, b := &Redis{Client: client, Prefix: prefix}, &Redis{Client: client, Prefix: prefix}
	r := Rate{PerSecond: 1, Burst: 4}
	allowed := 0
	for i := 0; i < 10; i++ {
		l := a
		if i%2 == 1 {
			l = b
		}
		d, err := l.Allow(ctx, "key1", r)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			allowed++
		} else if d.RetryAfter <= 0 || d.RetryAfter > time.Second {
			t.Errorf("retry after %v", d.RetryAfter)
		}
	}
	if allowed != 4 {
		t.Errorf("%d of 10 allowed across two replicas, want the shared burst of 4", allowed)
	}
	if d, _ := a.Allow(ctx, "key2", r); !d.Allowed {
		t.Error("another key was limited")
	}
	keys, _ := client.Keys(ctx, prefix+"*").Result()
	for _, k := range keys {
		ttl, _ := client.PTTL(ctx, k).Result()
		if ttl <= 0 || ttl > 5*time.Second {
			t.Errorf("key %s has ttl %v; state must expire", k, ttl)
		}
	}
	client.Del(ctx, keys...)
}
