package gateway

import (
	"context"
	"fmt"
	"strings"

	"github.com/qiao-gateway/qiao/internal/audit"
	"github.com/qiao-gateway/qiao/internal/complaint"
	"github.com/qiao-gateway/qiao/internal/config"
	"github.com/qiao-gateway/qiao/internal/store/postgres"
	"github.com/qiao-gateway/qiao/internal/store/sqlite"
	"github.com/qiao-gateway/qiao/internal/tenant"
)

// Store is everything the gateway keeps: keys, the audit log, complaints.
type Store interface {
	tenant.Store
	audit.Store
	complaint.Store
	Close() error
}

// OpenStore opens the configured store (SQLite in the data directory, or PostgreSQL).
func OpenStore(ctx context.Context, cfg *config.File, getenv func(string) string) (Store, error) {
	return openStore(ctx, cfg, getenv)
}

func openStore(ctx context.Context, cfg *config.File, getenv func(string) string) (Store, error) {
	switch cfg.Audit.Store {
	case audit.StorePostgres:
		dsn := strings.TrimSpace(getenv(cfg.Audit.DSNEnv))
		if dsn == "" {
			return nil, fmt.Errorf("gateway: store is postgres but $%s is empty: set it to a PostgreSQL DSN such as postgres://user@host:5432/db", cfg.Audit.DSNEnv)
		}
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("gateway: open PostgreSQL store (from $%s): %w", cfg.Audit.DSNEnv, err)
		}
		return db, nil
	default:
		var o sqlite.Options
		if cfg.Audit.Sync == audit.SyncNormal {
			o.Pragmas = append(o.Pragmas, "synchronous(NORMAL)")
		}
		db, err := sqlite.OpenWith(cfg.Audit.DataDir, o)
		if err != nil {
			return nil, fmt.Errorf("gateway: open SQLite store in %s: %w", cfg.Audit.DataDir, err)
		}
		return db, nil
	}
}
