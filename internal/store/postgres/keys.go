package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"
	"github.com/qiao-gateway/qiao/internal/store/scan"
	"time"

	"github.com/qiao-gateway/qiao/internal/tenant"
)

var _ tenant.Store = (*DB)(nil)

// CreateKey stores k (its hash, never a secret).
func (s *DB) CreateKey(ctx context.Context, k tenant.Key) error {
	regions, err := json.Marshal(k.Regions)
	if err != nil {
		return fmt.Errorf("postgres: encode regions: %w", err)
	}
	var revoked *int64
	if k.RevokedAt != nil {
		ns := k.RevokedAt.UnixNano()
		revoked = &ns
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO api_keys (id, tenant, regions, hash, created_ns, revoked_ns) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, k.Tenant, string(regions), k.Hash, k.CreatedAt.UnixNano(), revoked)
	if err != nil {
		return fmt.Errorf("postgres: create key %s: %w", k.ID, classify(err))
	}
	return nil
}

const keyCols = scan.KeyColumns

// KeyByHash returns the key with that hash, revoked or not; tenant.ErrNotFound if none.
func (s *DB) KeyByHash(ctx context.Context, hash []byte) (tenant.Key, error) {
	k, err := scan.Key(s.pool.QueryRow(ctx, `SELECT `+keyCols+` FROM api_keys WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return k, tenant.ErrNotFound
	}
	if err != nil {
		return k, fmt.Errorf("postgres: key by hash: %w", err)
	}
	return k, nil
}

// ListKeys returns every key, oldest first.
func (s *DB) ListKeys(ctx context.Context) ([]tenant.Key, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+keyCols+` FROM api_keys ORDER BY created_ns, id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list keys: %w", err)
	}
	defer rows.Close()
	var out []tenant.Key
	for rows.Next() {
		k, err := scan.Key(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list keys: %w", err)
	}
	return out, nil
}

// RevokeKey marks the key revoked at t (keeping the first revocation time if it was already
// revoked); tenant.ErrNotFound if no such id.
func (s *DB) RevokeKey(ctx context.Context, id string, t time.Time) error {
	res, err := s.pool.Exec(ctx, `UPDATE api_keys SET revoked_ns = COALESCE(revoked_ns, $1) WHERE id = $2`, t.UnixNano(), id)
	if err != nil {
		return fmt.Errorf("postgres: revoke key %s: %w", id, classify(err))
	}
	if res.RowsAffected() == 0 {
		return tenant.ErrNotFound
	}
	return nil
}
