package tenant

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// MemStore is an in-memory Store, for tests and throwaway setups.
type MemStore struct {
	mu   sync.Mutex
	keys []Key
}

// CreateKey implements Store.
func (m *MemStore) CreateKey(_ context.Context, k Key) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.keys {
		if o.ID == k.ID || bytes.Equal(o.Hash, k.Hash) {
			return fmt.Errorf("tenant: key %s already exists", k.ID)
		}
	}
	m.keys = append(m.keys, k)
	return nil
}

// KeyByHash implements Store.
func (m *MemStore) KeyByHash(_ context.Context, hash []byte) (Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range m.keys {
		if bytes.Equal(k.Hash, hash) {
			return k, nil
		}
	}
	return Key{}, ErrNotFound
}

// ListKeys implements Store.
func (m *MemStore) ListKeys(context.Context) ([]Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := append([]Key(nil), m.keys...)
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// RevokeKey implements Store.
func (m *MemStore) RevokeKey(_ context.Context, id string, t time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.keys {
		if m.keys[i].ID == id {
			t := t.UTC()
			m.keys[i].RevokedAt = &t
			return nil
		}
	}
	return ErrNotFound
}

var _ Store = (*MemStore)(nil)
