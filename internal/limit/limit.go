// Package limit enforces per-key request rates with GCRA (the generic cell rate algorithm:
// a token bucket expressed as one timestamp per key). Local keeps the state in this process;
// Redis keeps it in Redis so any number of replicas enforce one shared limit.
package limit

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Rate is a limit: Per requests per second sustained, Burst at once.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Decision is the outcome of one check.
type Decision struct {
	Allowed bool
	// RetryAfter is how long until a request would be allowed (0 when allowed).
	RetryAfter time.Duration
}

// gcra returns the new theoretical arrival time and the decision for a request arriving at
// now, given the stored theoretical arrival time tat (zero: none).
func gcra(tat, now time.Time, r Rate) (time.Time, Decision) {
	interval := time.Duration(float64(time.Second) / r.PerSecond)
	burst := time.Duration(max(r.Burst, 1)) * interval
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(interval)
	allowAt := next.Add(-burst)
	if now.Before(allowAt) {
		return tat, Decision{RetryAfter: allowAt.Sub(now)}
	}
	return next, Decision{Allowed: true}
}

// Local is an in-process limiter. To bound memory it forgets keys whose bucket is full again
// (they would be allowed anyway), sweeping when the table grows past MaxKeys.
type Local struct {
	Now     func() time.Time
	MaxKeys int // default 100,000

	mu  sync.Mutex
	tat map[string]time.Time
}

// Allow checks and counts one request for key.
func (l *Local) Allow(_ context.Context, key string, r Rate) (Decision, error) {
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tat == nil {
		l.tat = make(map[string]time.Time)
	}
	if limit := l.MaxKeys; len(l.tat) >= max(limit, 1) || (limit == 0 && len(l.tat) >= 100_000) {
		for k, t := range l.tat {
			if !t.After(now) {
				delete(l.tat, k)
			}
		}
	}
	next, d := gcra(l.tat[key], now, r)
	if d.Allowed {
		l.tat[key] = next
	}
	return d, nil
}

// Redis is a limiter whose state lives in Redis, shared by every replica. The check is one
// Lua script, so it is atomic, and it uses Redis's clock, so replicas' clocks do not matter.
type Redis struct {
	Client *redis.Client
	// Prefix namespaces the keys. Default "qiao:limit:".
	Prefix string
}

var gcraScript = redis.NewScript(`
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2]) * interval
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call("GET", KEYS[1]) or "0")
if tat < now then tat = now end
local nxt = tat + interval
local allow_at = nxt - burst
if now < allow_at then
  return allow_at - now
end
redis.call("SET", KEYS[1], tostring(nxt), "PX", math.ceil((nxt - now) / 1000) + 1)
return 0
`)

// Allow checks and counts one request for key.
func (l *Redis) Allow(ctx context.Context, key string, r Rate) (Decision, error) {
	prefix := l.Prefix
	if prefix == "" {
		prefix = "qiao:limit:"
	}
	intervalUS := int64(math.Ceil(1e6 / r.PerSecond))
	wait, err := gcraScript.Run(ctx, l.Client, []string{prefix + key}, intervalUS, max(r.Burst, 1)).Int64()
	if err != nil {
		return Decision{}, fmt.Errorf("limit: redis: %w", err)
	}
	if wait > 0 {
		return Decision{RetryAfter: time.Duration(wait) * time.Microsecond}, nil
	}
	return Decision{Allowed: true}, nil
}
