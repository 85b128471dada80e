// Package store opens the configured database: the embedded SQLite file (store/sqlite) or
// PostgreSQL (store/postgres). Both keep API keys (hashed), the audit log and complaints,
// and both pass the same contract suite (store/storetest).
package store

import (
	"context"
	"fmt"
	"os"

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

// Open opens the store cfg selects (call cfg.WithDefaults first): SQLite in cfg.DataDir, or
// PostgreSQL at the DSN in the environment variable cfg.DSNEnv. Migrations are applied.
func Open(ctx context.Context, cfg audit.Config) (Store, error) {
	switch cfg.Store {
	case audit.StoreSQLite, "":
		return sqlite.Open(cfg.DataDir)
	case audit.StorePostgres:
		dsn := os.Getenv(cfg.DSNEnv)
		if dsn == "" {
			return nil, fmt.Errorf("store: postgres selected but $%s is empty", cfg.DSNEnv)
		}
		return postgres.Open(ctx, dsn)
	}
	return nil, fmt.Errorf("store: unknown store %q (want sqlite or postgres)", cfg.Store)
}
