// Package sqlite is the embedded store: API keys, the audit log and complaints in one SQLite
// file (data_dir/qiao.db), through the pure-Go modernc.org/sqlite driver.
//
// Durability: the database runs in WAL mode with synchronous=FULL, so a committed
// transaction's WAL frames are fsynced before COMMIT returns. That survives both kill -9 of
// the process (the pages are in the OS either way) and power loss or a kernel crash (they
// are on disk). The audit writer's group commit pays one fsync per batch, not per record.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// FileName is the database file inside the data directory.
const FileName = "qiao.db"

// DB is the SQLite store. It implements tenant.Store, audit.Store and complaint.Store.
type DB struct {
	db   *sql.DB
	path string
	// insertRecord is prepared once: at low traffic each group commit holds one record,
	// and parsing the INSERT per batch showed in profiles.
	insertRecord *sql.Stmt
}

// Options tune Open. The zero value is the production setting.
type Options struct {
	// Pragmas are extra "name(value)" pragmas applied to every connection, after the
	// defaults. Tests use them to simulate a full or read-only database
	// ("max_page_count(…)", "query_only(1)").
	Pragmas []string
}

// Open opens (creating if needed) dataDir/qiao.db and applies pending migrations.
func Open(dataDir string) (*DB, error) { return OpenWith(dataDir, Options{}) }

// OpenWith is Open with options.
func OpenWith(dataDir string, o Options) (*DB, error) {
	if dataDir == "" {
		return nil, errors.New("sqlite: data directory is empty")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create data directory: %w", err)
	}
	path := filepath.Join(dataDir, FileName)
	q := url.Values{}
	for _, p := range pragmas([]string{"busy_timeout(10000)", "journal_mode(WAL)",
		"synchronous(FULL)", "foreign_keys(1)"}, o.Pragmas) {
		q.Add("_pragma", p)
	}
	// BEGIN IMMEDIATE takes the write lock at the start of every transaction, so two
	// writers wait on busy_timeout instead of failing with SQLITE_BUSY on lock upgrade.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// SQLite has one writer at a time; a few connections let readers (verify, export,
	// key lookups) run beside the writer under WAL.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(0)
	s := &DB{db: db, path: path}
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	if s.insertRecord, err = db.Prepare(insertRecordSQL); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: prepare audit insert: %w", classify(err))
	}
	return s, nil
}

// pragmas returns defaults followed by extra, leaving out each default that extra sets
// again: the driver keeps the first busy_timeout it is given, so an override must replace
// the default rather than follow it.
func pragmas(defaults, extra []string) []string {
	name := func(p string) string { n, _, _ := strings.Cut(p, "("); return strings.TrimSpace(n) }
	set := map[string]bool{}
	for _, p := range extra {
		set[name(p)] = true
	}
	var out []string
	for _, p := range defaults {
		if !set[name(p)] {
			out = append(out, p)
		}
	}
	return append(out, extra...)
}

// Close closes the database.
func (s *DB) Close() error {
	s.insertRecord.Close()
	return s.db.Close()
}

// Path returns the database file path.
func (s *DB) Path() string { return s.path }

// SQL returns the underlying handle, for administration and tests.
func (s *DB) SQL() *sql.DB { return s.db }

// migrate applies every embedded migration not yet recorded in schema_migrations, each in
// its own transaction together with its record.
func (s *DB) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ns INTEGER NOT NULL)`); err != nil {
		// A read-only database that is already migrated can still be read (verify, export).
		if !s.migrated(ctx) {
			return fmt.Errorf("sqlite: create migrations table: %w", classify(err))
		}
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("sqlite: list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := filepath.Base(name)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("sqlite: migration %s: name must start with a number", base)
		}
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil {
			return fmt.Errorf("sqlite: read migrations: %w", err)
		}
		if n > 0 {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("sqlite: read migration %s: %w", base, err)
		}
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", base, classify(err))
		}
		// Another process may have applied it while we waited for the write lock.
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil || n > 0 {
			tx.Rollback()
			if err != nil {
				return fmt.Errorf("sqlite: migration %s: %w", base, err)
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migration %s: %w", base, classify(err))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_ns) VALUES (?, ?, ?)`,
			v, base, time.Now().UnixNano()); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: record migration %s: %w", base, classify(err))
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlite: commit migration %s: %w", base, classify(err))
		}
	}
	return nil
}

func (s *DB) migrated(ctx context.Context) bool {
	var n int
	return s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n) == nil
}

// SQLite result codes we explain (https://sqlite.org/rescode.html).
const (
	codeReadOnly = 8
	codeFull     = 13
)

// ErrFull and ErrReadOnly are wrapped into errors from a full or read-only database.
var (
	ErrFull     = errors.New("sqlite: the database or disk is full")
	ErrReadOnly = errors.New("sqlite: the database is read-only")
)

// classify adds ErrFull or ErrReadOnly to err when SQLite says so.
func classify(err error) error {
	var se *sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case codeFull:
			return fmt.Errorf("%w: %w", ErrFull, err)
		case codeReadOnly:
			return fmt.Errorf("%w: %w", ErrReadOnly, err)
		}
	}
	return err
}
