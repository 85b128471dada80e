package postgres

import (
	"context"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"
	"github.com/qiao-gateway/qiao/internal/store/scan"
	"time"

	"github.com/qiao-gateway/qiao/internal/complaint"
)

var _ complaint.Store = (*DB)(nil)

// CreateComplaint stores a new complaint.
func (s *DB) CreateComplaint(ctx context.Context, c complaint.Complaint) error {
	var closed *int64
	if c.ClosedAt != nil {
		ns := c.ClosedAt.UnixNano()
		closed = &ns
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO complaints (id, tenant, key_id, region, request_id, produce_id,
		category, body, state, created_ns, updated_ns, deadline_ns, closed_ns, note)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		c.ID, c.Tenant, c.KeyID, c.Region, c.RequestID, c.ProduceID, c.Category, c.Body, string(c.State),
		c.CreatedAt.UnixNano(), c.UpdatedAt.UnixNano(), c.Deadline.UnixNano(), closed, c.Note)
	if err != nil {
		return fmt.Errorf("postgres: create complaint: %w", classify(err))
	}
	return nil
}

// Complaint returns the complaint with id; complaint.ErrNotFound if none.
func (s *DB) Complaint(ctx context.Context, id string) (complaint.Complaint, error) {
	c, err := scan.Complaint(s.pool.QueryRow(ctx, `SELECT `+scan.ComplaintColumns+` FROM complaints WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, complaint.ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("postgres: read complaint: %w", err)
	}
	return c, nil
}

// TransitionComplaint moves id from one state to another if it is still in from.
func (s *DB) TransitionComplaint(ctx context.Context, id string, from, to complaint.State, at time.Time, note string) error {
	var closed *int64
	if to == complaint.Resolved || to == complaint.Rejected {
		ns := at.UnixNano()
		closed = &ns
	}
	res, err := s.pool.Exec(ctx, `UPDATE complaints SET state = $1, updated_ns = $2, closed_ns = COALESCE($3::BIGINT, closed_ns), note = $4
		WHERE id = $5 AND state = $6`, string(to), at.UnixNano(), closed, note, id, string(from))
	if err != nil {
		return fmt.Errorf("postgres: transition complaint: %w", classify(err))
	}
	if res.RowsAffected() == 1 {
		return nil
	}
	if _, err := s.Complaint(ctx, id); err != nil {
		return err
	}
	return complaint.ErrConflict
}
