package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/qiao-gateway/qiao/internal/audit"
)

var _ audit.ChainLocker = (*DB)(nil)

// lockWait is how long LockChain keeps trying: a replica restarted right after a crash may
// find its old session still holding the lock until PostgreSQL notices the dead connection.
const lockWait = 15 * time.Second

// LockChain takes a session advisory lock on (schema, chain) on a connection of its own, so
// that no two writers append to one chain. The lock lives as long as that connection:
// release (or the process dying) frees it.
func (s *DB) LockChain(ctx context.Context, chain string) (func(), error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres: lock chain: connect: %w", err)
	}
	const q = `SELECT pg_try_advisory_lock(hashtext('qiao_audit_chain'), hashtext(current_schema() || ':' || $1))`
	deadline := time.Now().Add(lockWait)
	for {
		var ok bool
		if err := conn.QueryRow(ctx, q, chain).Scan(&ok); err != nil {
			conn.Close(context.Background())
			return nil, fmt.Errorf("postgres: lock chain: %w", err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			conn.Close(context.Background())
			return nil, audit.ErrChainInUse
		}
		select {
		case <-ctx.Done():
			conn.Close(context.Background())
			return nil, fmt.Errorf("postgres: lock chain: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return func() {
		// Closing the session releases its advisory locks.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.Close(ctx)
	}, nil
}
