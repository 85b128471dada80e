package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/qiao-gateway/qiao/internal/store/scan"
	"time"

	"github.com/qiao-gateway/qiao/internal/audit"
)

var _ audit.Store = (*DB)(nil)

const recordCols = `chain, seq, time_ns, kind, request_id, tenant, key_id, region, provider, model,
	route, privacy, safety, prompt_tokens, completion_tokens, latency_ms, status, error_code,
	produce_id, prompt_hmac, answer_hmac, details, prev_hash, hash`

// Head returns the last record's seq and hash, or the retention anchor's, or 0, nil.
func (s *DB) Head(ctx context.Context, chain string) (uint64, audit.Hash, error) {
	var seq int64
	var hash []byte
	err := s.db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_records WHERE chain = ? ORDER BY seq DESC LIMIT 1`, chain).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		err = s.db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_checkpoints WHERE chain = ? AND anchor = 1 ORDER BY seq DESC LIMIT 1`, chain).Scan(&seq, &hash)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil, nil
		}
	}
	if err != nil {
		return 0, nil, fmt.Errorf("sqlite: audit head: %w", err)
	}
	return uint64(seq), hash, nil
}

const insertRecordSQL = `INSERT INTO audit_records (` + recordCols + `)
	VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

// AppendBatch stores records and checkpoints in one transaction.
func (s *DB) AppendBatch(ctx context.Context, recs []audit.Record, cps []audit.Checkpoint) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: audit begin: %w", classify(err))
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if len(recs) > 0 {
		stmt := tx.StmtContext(ctx, s.insertRecord)
		defer stmt.Close()
		// The driver watches a cancellable context with a goroutine per statement: one per
		// record. The transaction already follows ctx (database/sql rolls it back when ctx
		// ends), so each insert runs without it and ctx is checked between them.
		ectx := context.WithoutCancel(ctx)
		for i := range recs {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("sqlite: audit insert: %w", err)
			}
			r := &recs[i]
			privacy, safety, details := audit.EncodeFields(r)
			_, err = stmt.ExecContext(ectx, r.Chain, int64(r.Seq), r.Time.UnixNano(), string(r.Kind),
				r.Request, r.Tenant, r.KeyID, r.Region, r.Provider, r.Model, r.Route, privacy, safety,
				r.Usage.PromptTokens, r.Usage.CompletionTokens, r.LatencyMS, r.Status, r.ErrorCode,
				r.ProduceID, scan.NilIfEmpty(r.PromptMAC), scan.NilIfEmpty(r.AnswerMAC), details,
				scan.NilIfEmpty(r.PrevHash), []byte(r.Hash))
			if err != nil {
				return fmt.Errorf("sqlite: audit insert %s/%d: %w", r.Chain, r.Seq, classify(err))
			}
		}
	}
	for _, cp := range cps {
		if err := upsertCheckpoint(ctx, tx, cp); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: audit commit: %w", classify(err))
	}
	return nil
}

func upsertCheckpoint(ctx context.Context, tx *sql.Tx, cp audit.Checkpoint) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (chain, seq, hash, time_ns, anchor, signature)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (chain, seq) DO UPDATE SET hash = excluded.hash, time_ns = excluded.time_ns,
			anchor = excluded.anchor, signature = excluded.signature`,
		cp.Chain, int64(cp.Seq), scan.NilIfEmpty(cp.Hash), cp.Time.UnixNano(), cp.Anchor, cp.Signature)
	if err != nil {
		return fmt.Errorf("sqlite: audit checkpoint %s/%d: %w", cp.Chain, cp.Seq, classify(err))
	}
	return nil
}

func (s *DB) eachRecord(ctx context.Context, fn func(audit.Record) error, query string, args ...any) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("sqlite: audit read: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scan.Record(rows)
		if err != nil {
			return fmt.Errorf("sqlite: audit read: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: audit read: %w", err)
	}
	return nil
}

// Records calls fn for each record of chain with seq >= from, in seq order.
func (s *DB) Records(ctx context.Context, chain string, from uint64, fn func(audit.Record) error) error {
	return s.eachRecord(ctx, fn, `SELECT `+recordCols+` FROM audit_records WHERE chain = ? AND seq >= ? ORDER BY seq`,
		chain, int64(from))
}

// RecordsByTime calls fn for each record with from <= Time < to, by chain, seq.
func (s *DB) RecordsByTime(ctx context.Context, from, to time.Time, fn func(audit.Record) error) error {
	return s.eachRecord(ctx, fn, `SELECT `+recordCols+` FROM audit_records WHERE time_ns >= ? AND time_ns < ?
		ORDER BY chain, seq`, from.UnixNano(), to.UnixNano())
}

// Checkpoints returns chain's checkpoints in seq order.
func (s *DB) Checkpoints(ctx context.Context, chain string) ([]audit.Checkpoint, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT chain, seq, hash, time_ns, anchor, signature
		FROM audit_checkpoints WHERE chain = ? ORDER BY seq`, chain)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit checkpoints: %w", err)
	}
	defer rows.Close()
	var out []audit.Checkpoint
	for rows.Next() {
		var cp audit.Checkpoint
		var seq, ns int64
		var hash []byte
		if err := rows.Scan(&cp.Chain, &seq, &hash, &ns, &cp.Anchor, &cp.Signature); err != nil {
			return nil, fmt.Errorf("sqlite: audit checkpoints: %w", err)
		}
		cp.Seq, cp.Time, cp.Hash = uint64(seq), scan.Time(ns), scan.NilIfEmpty(hash)
		out = append(out, cp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: audit checkpoints: %w", err)
	}
	return out, nil
}

// Chains lists every chain with records or checkpoints.
func (s *DB) Chains(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT chain FROM audit_records
		UNION SELECT DISTINCT chain FROM audit_checkpoints ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit chains: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("sqlite: audit chains: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: audit chains: %w", err)
	}
	return out, nil
}

// PurgePoint returns the highest seq whose record and all before it are older than before.
func (s *DB) PurgePoint(ctx context.Context, chain string, before time.Time) (uint64, audit.Hash, error) {
	var young sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MIN(seq) FROM audit_records WHERE chain = ? AND time_ns >= ?`,
		chain, before.UnixNano()).Scan(&young); err != nil {
		return 0, nil, fmt.Errorf("sqlite: audit purge point: %w", err)
	}
	q := `SELECT seq, hash FROM audit_records WHERE chain = ? ORDER BY seq DESC LIMIT 1`
	args := []any{chain}
	if young.Valid {
		q = `SELECT seq, hash FROM audit_records WHERE chain = ? AND seq < ? ORDER BY seq DESC LIMIT 1`
		args = append(args, young.Int64)
	}
	var seq int64
	var hash []byte
	err := s.db.QueryRowContext(ctx, q, args...).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("sqlite: audit purge point: %w", err)
	}
	return uint64(seq), hash, nil
}

// Purge stores the anchor and deletes what it covers, in one transaction.
func (s *DB) Purge(ctx context.Context, anchor audit.Checkpoint) (n int64, err error) {
	if !anchor.Anchor {
		return 0, errors.New("sqlite: purge needs an anchor checkpoint")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: audit purge: %w", classify(err))
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if err := upsertCheckpoint(ctx, tx, anchor); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM audit_records WHERE chain = ? AND seq <= ?`, anchor.Chain, int64(anchor.Seq))
	if err != nil {
		return 0, fmt.Errorf("sqlite: audit purge: %w", classify(err))
	}
	if n, err = res.RowsAffected(); err != nil {
		return 0, fmt.Errorf("sqlite: audit purge: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM audit_checkpoints WHERE chain = ? AND seq < ?`, anchor.Chain, int64(anchor.Seq)); err != nil {
		return 0, fmt.Errorf("sqlite: audit purge checkpoints: %w", classify(err))
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: audit purge commit: %w", classify(err))
	}
	return n, nil
}
