package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/qiao-gateway/qiao/internal/audit"
	"github.com/qiao-gateway/qiao/internal/audit/journal"
	"github.com/qiao-gateway/qiao/internal/config"
	"github.com/qiao-gateway/qiao/internal/store"
)

// OpenStore opens the store the configuration selects (see store.Open).
func OpenStore(ctx context.Context, cfg *config.File, getenv func(string) string) (store.Store, error) {
	return store.Open(ctx, cfg.Audit, getenv)
}

// JournalDir is where the audit journal of chain (the replica name) lives under dataDir:
// one directory per chain, named by a hash because a replica name may hold any character.
func JournalDir(dataDir, chain string) string {
	sum := sha256.Sum256([]byte(chain))
	return filepath.Join(dataDir, "journal", "chain-"+hex.EncodeToString(sum[:8]))
}

// openJournal opens the audit journal in front of st, replaying what a previous run left.
func openJournal(ctx context.Context, st audit.Store, c audit.Config) (*journal.Journal, error) {
	j, err := journal.Open(ctx, st, journal.Options{
		Dir:      JournalDir(c.DataDir, c.Replica),
		Sync:     c.Sync == audit.SyncFull,
		MaxBatch: c.MaxBatch,
	})
	if err != nil {
		return nil, fmt.Errorf("gateway: audit journal: %w", err)
	}
	return j, nil
}
