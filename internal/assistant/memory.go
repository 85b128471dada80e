package assistant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Memory keeps short conversation state between turns. Keys are already scoped to the
// tenant; values expire after ttl. Memory is never written to the audit log.
type Memory interface {
	// Load returns the state stored under key, or nil when there is none.
	Load(ctx context.Context, key string) (*State, error)
	// Save stores st under key for ttl.
	Save(ctx context.Context, key string, st *State, ttl time.Duration) error
}

// State is what a conversation remembers: recent text turns and a pending question.
type State struct {
	Messages []MemoryMessage `json:"messages,omitempty"`
	Pending  *pending        `json:"pending,omitempty"`
}

// MemoryMessage is one remembered message (text only; actions are summarised in the text).
type MemoryMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// MemStore is an in-process Memory with expiry. To bound memory it holds at most Max
// conversations (default 100 000); when full it first drops expired entries, then the
// entry closest to expiry.
type MemStore struct {
	Max int
	Now func() time.Time

	mu sync.Mutex
	m  map[string]memEntry
}

type memEntry struct {
	data    []byte
	expires time.Time
}

// NewMemStore returns an empty in-process store.
func NewMemStore() *MemStore { return &MemStore{m: map[string]memEntry{}} }

func (s *MemStore) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Load implements Memory.
func (s *MemStore) Load(_ context.Context, key string) (*State, error) {
	s.mu.Lock()
	e, ok := s.m[key]
	if ok && !s.now().Before(e.expires) {
		delete(s.m, key)
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		return nil, nil
	}
	var st State
	if err := json.Unmarshal(e.data, &st); err != nil {
		return nil, fmt.Errorf("assistant: memory: decode: %w", err)
	}
	return &st, nil
}

// Save implements Memory.
func (s *MemStore) Save(_ context.Context, key string, st *State, ttl time.Duration) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("assistant: memory: encode: %w", err)
	}
	max := s.Max
	if max <= 0 {
		max = 100000
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]memEntry{}
	}
	if _, exists := s.m[key]; !exists && len(s.m) >= max {
		var victim string
		var soonest time.Time
		for k, e := range s.m {
			if !now.Before(e.expires) {
				delete(s.m, k)
				continue
			}
			if victim == "" || e.expires.Before(soonest) {
				victim, soonest = k, e.expires
			}
		}
		if len(s.m) >= max && victim != "" {
			delete(s.m, victim)
		}
	}
	s.m[key] = memEntry{data: b, expires: now.Add(ttl)}
	return nil
}

// Len reports how many conversations are held (expired ones included until touched).
func (s *MemStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// RedisStore is a Memory in Redis, shared by all replicas. Each conversation is one
// string key holding JSON, with the TTL set by Redis (SET … PX).
type RedisStore struct {
	Client *redis.Client
	Prefix string
}

// NewRedisStore connects to addr (host:port). It does not dial until first use.
func NewRedisStore(addr, prefix string) *RedisStore {
	return &RedisStore{Client: redis.NewClient(&redis.Options{Addr: addr}), Prefix: prefix}
}

// Load implements Memory.
func (s *RedisStore) Load(ctx context.Context, key string) (*State, error) {
	b, err := s.Client.Get(ctx, s.Prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("assistant: redis memory: get: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("assistant: redis memory: decode: %w", err)
	}
	return &st, nil
}

// Save implements Memory.
func (s *RedisStore) Save(ctx context.Context, key string, st *State, ttl time.Duration) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("assistant: redis memory: encode: %w", err)
	}
	if err := s.Client.Set(ctx, s.Prefix+key, b, ttl).Err(); err != nil {
		return fmt.Errorf("assistant: redis memory: set: %w", err)
	}
	return nil
}

// Close closes the Redis client.
func (s *RedisStore) Close() error { return s.Client.Close() }

var (
	_ Memory = (*MemStore)(nil)
	_ Memory = (*RedisStore)(nil)
)
