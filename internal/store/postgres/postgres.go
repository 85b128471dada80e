// Package postgres is the store for deployments with several replicas: API keys, the audit
// log and complaints in PostgreSQL through pgx. Every replica writes its own audit chain
// (its replica name), so replicas never contend for one chain head; all chains verify
// independently.
//
// Durability: a COMMIT returns after PostgreSQL has flushed its WAL (synchronous_commit on,
// the server default); the audit writer's group commit pays one commit per batch.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the PostgreSQL store. It implements tenant.Store, audit.Store and complaint.Store.
type DB struct {
	pool *pgxpool.Pool
}

// Open connects with dsn (a URL or key=value string; "search_path" may select a schema)
// and applies pending migrations.
func Open(ctx context.Context, dsn string) (*DB, error) {
	if dsn == "" {
		return nil, errors.New("postgres: DSN is empty")
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message may echo the DSN, which can hold a password: say only what failed.
		return nil, errors.New("postgres: the DSN does not parse")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s := &DB{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool.
func (s *DB) Close() error { s.pool.Close(); return nil }

// Pool returns the underlying pool, for administration and tests.
func (s *DB) Pool() *pgxpool.Pool { return s.pool }

// migrate applies every embedded migration not yet recorded in schema_migrations. Each runs
// in a transaction holding an advisory lock, so replicas starting together apply it once.
func (s *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("postgres: list migrations: %w", err)
	}
	sort.Strings(names)
	// Read what is applied without writing, so that an up-to-date database opens even
	// read-only (for verify and export on a replica or a restored copy).
	applied := map[int]bool{}
	if rows, err := s.pool.Query(ctx, `SELECT version FROM schema_migrations`); err == nil {
		for rows.Next() {
			var v int
			if rows.Scan(&v) == nil {
				applied[v] = true
			}
		}
		rows.Close()
	}
	for _, name := range names {
		base := filepath.Base(name)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("postgres: migration %s: name must start with a number", base)
		}
		if applied[v] {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("postgres: read migration %s: %w", base, err)
		}
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('qiao_migrations:' || current_schema()))`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, v).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, v, base)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", base, err)
		}
	}
	return nil
}

// ErrReadOnly is wrapped into errors from a read-only database or transaction.
var ErrReadOnly = errors.New("postgres: the database is read-only")

// ErrFull is wrapped into errors when PostgreSQL has no disk space left.
var ErrFull = errors.New("postgres: the database disk is full")

// classify adds ErrReadOnly or ErrFull to err when PostgreSQL says so.
func classify(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "25006": // read_only_sql_transaction
			return fmt.Errorf("%w: %w", ErrReadOnly, err)
		case "53100": // disk_full
			return fmt.Errorf("%w: %w", ErrFull, err)
		}
	}
	return err
}
