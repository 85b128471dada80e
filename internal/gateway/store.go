package gateway

import (
	"context"

	"github.com/qiao-gateway/qiao/internal/config"
	"github.com/qiao-gateway/qiao/internal/store"
)

// OpenStore opens the store the configuration selects (see store.Open).
func OpenStore(ctx context.Context, cfg *config.File, getenv func(string) string) (store.Store, error) {
	return store.Open(ctx, cfg.Audit, getenv)
}
