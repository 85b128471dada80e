package postgres

import (
	"context"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"
	"github.com/qiao-gateway/qiao/internal/store/scan"
	"strings"
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
	err := s.pool.QueryRow(ctx, `SELECT seq, hash FROM audit_records WHERE chain = $1 ORDER BY seq DESC LIMIT 1`, chain).Scan(&seq, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		err = s.pool.QueryRow(ctx, `SELECT seq, hash FROM audit_checkpoints WHERE chain = $1 AND anchor ORDER BY seq DESC LIMIT 1`, chain).Scan(&seq, &hash)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, nil, nil
		}
	}
	if err != nil {
		return 0, nil, fmt.Errorf("postgres: audit head: %w", err)
	}
	return uint64(seq), hash, nil
}

// AppendBatch stores records (with COPY) and checkpoints in one transaction.
func (s *DB) AppendBatch(ctx context.Context, recs []audit.Record, cps []audit.Checkpoint) error {
	rows := make([][]any, len(recs))
	for i := range recs {
		r := &recs[i]
		privacy, safety, details := audit.EncodeFields(r)
		rows[i] = []any{r.Chain, int64(r.Seq), r.Time.UnixNano(), string(r.Kind),
			r.Request, r.Tenant, r.KeyID, r.Region, r.Provider, r.Model, r.Route, privacy, safety,
			r.Usage.PromptTokens, r.Usage.CompletionTokens, r.LatencyMS, int32(r.Status), r.ErrorCode,
			r.ProduceID, scan.NilIfEmpty(r.PromptMAC), scan.NilIfEmpty(r.AnswerMAC), details,
			scan.NilIfEmpty(r.PrevHash), []byte(r.Hash)}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if len(rows) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_records"}, recordColumns, pgx.CopyFromRows(rows)); err != nil {
				return fmt.Errorf("insert %d records: %w", len(rows), err)
			}
		}
		for _, cp := range cps {
			if err := upsertCheckpoint(ctx, tx, cp); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: audit append: %w", classify(err))
	}
	return nil
}

var recordColumns = strings.Fields(strings.ReplaceAll(recordCols, ",", " "))

func upsertCheckpoint(ctx context.Context, tx pgx.Tx, cp audit.Checkpoint) error {
	_, err := tx.Exec(ctx, `INSERT INTO audit_checkpoints (chain, seq, hash, time_ns, anchor, signature)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (chain, seq) DO UPDATE SET hash = excluded.hash, time_ns = excluded.time_ns,
			anchor = excluded.anchor, signature = excluded.signature`,
		cp.Chain, int64(cp.Seq), scan.NilIfEmpty(cp.Hash), cp.Time.UnixNano(), cp.Anchor, cp.Signature)
	if err != nil {
		return fmt.Errorf("checkpoint %s/%d: %w", cp.Chain, cp.Seq, err)
	}
	return nil
}

func (s *DB) eachRecord(ctx context.Context, fn func(audit.Record) error, query string, args ...any) error {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("postgres: audit read: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scan.Record(rows)
		if err != nil {
			return fmt.Errorf("postgres: audit read: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: audit read: %w", err)
	}
	return nil
}

// Records calls fn for each record of chain with seq >= from, in seq order.
func (s *DB) Records(ctx context.Context, chain string, from uint64, fn func(audit.Record) error) error {
	return s.eachRecord(ctx, fn, `SELECT `+recordCols+` FROM audit_records WHERE chain = $1 AND seq >= $2 ORDER BY seq`,
		chain, int64(from))
}

// RecordsByTime calls fn for each record with from <= Time < to, by chain, seq.
func (s *DB) RecordsByTime(ctx context.Context, from, to time.Time, fn func(audit.Record) error) error {
	return s.eachRecord(ctx, fn, `SELECT `+recordCols+` FROM audit_records WHERE time_ns >= $1 AND time_ns < $2
		ORDER BY chain, seq`, from.UnixNano(), to.UnixNano())
}

// Checkpoints returns chain's checkpoints in seq order.
func (s *DB) Checkpoints(ctx context.Context, chain string) ([]audit.Checkpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT chain, seq, hash, time_ns, anchor, signature
		FROM audit_checkpoints WHERE chain = $1 ORDER BY seq`, chain)
	if err != nil {
		return nil, fmt.Errorf("postgres: audit checkpoints: %w", err)
	}
	defer rows.Close()
	var out []audit.Checkpoint
	for rows.Next() {
		var cp audit.Checkpoint
		var seq, ns int64
		var hash []byte
		if err := rows.Scan(&cp.Chain, &seq, &hash, &ns, &cp.Anchor, &cp.Signature); err != nil {
			return nil, fmt.Errorf("postgres: audit checkpoints: %w", err)
		}
		cp.Seq, cp.Time, cp.Hash = uint64(seq), scan.Time(ns), scan.NilIfEmpty(hash)
		out = append(out, cp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: audit checkpoints: %w", err)
	}
	return out, nil
}

// Chains lists every chain with records or checkpoints.
func (s *DB) Chains(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT chain FROM audit_records
		UNION SELECT DISTINCT chain FROM audit_checkpoints ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("postgres: audit chains: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("postgres: audit chains: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: audit chains: %w", err)
	}
	return out, nil
}

// PurgePoint returns the highest seq whose record and all before it are older than before.
func (s *DB) PurgePoint(ctx context.Context, chain string, before time.Time) (uint64, audit.Hash, error) {
	var young *int64
	if err := s.pool.QueryRow(ctx, `SELECT MIN(seq) FROM audit_records WHERE chain = $1 AND time_ns >= $2`,
		chain, before.UnixNano()).Scan(&young); err != nil {
		return 0, nil, fmt.Errorf("postgres: audit purge point: %w", err)
	}
	q := `SELECT seq, hash FROM audit_records WHERE chain = $1 ORDER BY seq DESC LIMIT 1`
	args := []any{chain}
	if young != nil {
		q = `SELECT seq, hash FROM audit_records WHERE chain = $1 AND seq < $2 ORDER BY seq DESC LIMIT 1`
		args = append(args, *young)
	}
	var seq int64
	var hash []byte
	err := s.pool.QueryRow(ctx, q, args...).Scan(&seq, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("postgres: audit purge point: %w", err)
	}
	return uint64(seq), hash, nil
}

// Purge stores the anchor and deletes what it covers, in one transaction.
func (s *DB) Purge(ctx context.Context, anchor audit.Checkpoint) (int64, error) {
	if !anchor.Anchor {
		return 0, errors.New("postgres: purge needs an anchor checkpoint")
	}
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := upsertCheckpoint(ctx, tx, anchor); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM audit_records WHERE chain = $1 AND seq <= $2`, anchor.Chain, int64(anchor.Seq))
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, `DELETE FROM audit_checkpoints WHERE chain = $1 AND seq < $2`, anchor.Chain, int64(anchor.Seq))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: audit purge: %w", classify(err))
	}
	return n, nil
}
