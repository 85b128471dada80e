package gateway

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

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
// one directory per chain.
func JournalDir(dataDir, chain string) string {
	return filepath.Join(dataDir, "journal", "chain-"+audit.ChainFileName(chain))
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

// auditLog returns what the audit writer appends to: the journal in front of st if the
// configuration has it on, else st itself. A journal an earlier run left behind is replayed
// even when the journal is now off: its records were acknowledged.
func (g *Gateway) auditLog(ctx context.Context, st audit.Store, c audit.Config) (audit.Store, error) {
	on := c.Journal == audit.JournalOn
	if !on {
		left, err := journal.Leftover(JournalDir(c.DataDir, c.Replica))
		if err != nil {
			return nil, fmt.Errorf("gateway: audit journal: %w", err)
		}
		if !left {
			return st, nil
		}
	}
	j, err := openJournal(ctx, st, c)
	if err != nil {
		return nil, err
	}
	if n := j.Replayed(); n > 0 {
		g.notice("audit journal: %d records a previous run journaled were copied into the store", n)
	}
	closeJournal := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return j.Close(ctx)
	}
	if !on {
		if err := closeJournal(); err != nil {
			return nil, fmt.Errorf("gateway: audit journal: %w", err)
		}
		return st, nil
	}
	g.onClose(closeJournal)
	return j, nil
}
