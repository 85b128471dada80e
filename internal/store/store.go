// Package store opens the configured database: the embedded SQLite file (store/sqlite) or
// PostgreSQL (store/postgres). Both keep API keys (hashed), the audit log and complaints,
// and both pass the same contract suite (store/storetest).
package store

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/qiao-gateway/qiao/internal/audit"
	"github.com/qiao-gateway/qiao/internal/complaint"
	"github.com/qiao-gateway/qiao/internal/store/postgres"
	"github.com/qiao-gateway/qiao/internal/store/sqlite"
	"github.com/qiao-gateway/qiao/internal/tenant"
)

// Store is everything the gateway keeps in its database.
type Store interface {
	tenant.Store
	audit.Store
	complaint.Store
	Close() error
}

var (
	_ Store = (*sqlite.DB)(nil)
	_ Store = (*postgres.DB)(nil)
)

// Open opens the store cfg selects (call cfg.WithDefaults first): SQLite in cfg.DataDir
// (with cfg.Sync's durability), or PostgreSQL at the DSN in the environment variable
// cfg.DSNEnv, read through getenv (nil: os.Getenv). Migrations are applied.
func Open(ctx context.Context, cfg audit.Config, getenv func(string) string) (Store, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	switch cfg.Store {
	case audit.StoreSQLite, "":
		var o sqlite.Options
		if cfg.Sync != audit.SyncFull {
			o.Pragmas = append(o.Pragmas, "synchronous(NORMAL)")
		}
		db, err := sqlite.OpenWith(cfg.DataDir, o)
		if err != nil {
			return nil, fmt.Errorf("store: open SQLite in %s: %w", cfg.DataDir, err)
		}
		return db, nil
	case audit.StorePostgres:
		dsn := strings.TrimSpace(getenv(cfg.DSNEnv))
		if dsn == "" {
			return nil, fmt.Errorf("store: postgres selected but $%s is empty: set it to a PostgreSQL DSN such as postgres://user@host:5432/db", cfg.DSNEnv)
		}
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open PostgreSQL (from $%s): %w", cfg.DSNEnv, err)
		}
		return db, nil
	}
	return nil, fmt.Errorf("store: unknown store %q (want sqlite or postgres)", cfg.Store)
}
