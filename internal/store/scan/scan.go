// Package scan decodes rows of the store schema (keys, audit records, complaints) into
// domain values. The SQLite and PostgreSQL stores have the same columns and share it, so both
// read their data the same way.
package scan

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/qiao-gateway/qiao/internal/audit"
	"github.com/qiao-gateway/qiao/internal/complaint"
	"github.com/qiao-gateway/qiao/internal/tenant"
)

// Scanner is a row: *sql.Row, *sql.Rows and pgx.Rows all have this method.
type Scanner interface{ Scan(dest ...any) error }

// Time converts stored Unix nanoseconds to UTC.
func Time(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// NilIfEmpty stores an empty hash or MAC as NULL.
func NilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func timePtr(ns *int64) *time.Time {
	if ns == nil {
		return nil
	}
	t := Time(*ns)
	return &t
}

// KeyColumns are the columns Key reads, in order.
const KeyColumns = "id, tenant, regions, hash, created_ns, revoked_ns"

// Key decodes a key row (KeyColumns).
func Key(row Scanner) (tenant.Key, error) {
	var k tenant.Key
	var regions string
	var created int64
	var revoked *int64
	if err := row.Scan(&k.ID, &k.Tenant, &regions, &k.Hash, &created, &revoked); err != nil {
		return k, err
	}
	if err := json.Unmarshal([]byte(regions), &k.Regions); err != nil {
		return k, fmt.Errorf("key %s: decode regions: %w", k.ID, err)
	}
	k.CreatedAt, k.RevokedAt = Time(created), timePtr(revoked)
	return k, nil
}

// Record decodes an audit record row in the stores' recordCols order.
func Record(row Scanner) (audit.Record, error) {
	var r audit.Record
	var seq, timeNS int64
	var kind, privacy, safety, details string
	var pm, am, prev, hash []byte
	err := row.Scan(&r.Chain, &seq, &timeNS, &kind, &r.Request, &r.Tenant, &r.KeyID, &r.Region,
		&r.Provider, &r.Model, &r.Route, &privacy, &safety, &r.Usage.PromptTokens,
		&r.Usage.CompletionTokens, &r.LatencyMS, &r.Status, &r.ErrorCode, &r.ProduceID, &pm, &am,
		&details, &prev, &hash)
	if err != nil {
		return r, err
	}
	r.Seq, r.Time, r.Kind = uint64(seq), Time(timeNS), audit.Kind(kind)
	r.PromptMAC, r.AnswerMAC, r.PrevHash, r.Hash = NilIfEmpty(pm), NilIfEmpty(am), NilIfEmpty(prev), hash
	audit.DecodeFields(&r, privacy, safety, details)
	return r, nil
}

// ComplaintColumns are the columns Complaint reads, in order.
const ComplaintColumns = `id, tenant, key_id, region, request_id, produce_id, category, body,
	state, created_ns, updated_ns, deadline_ns, closed_ns, note`

// Complaint decodes a complaint row (ComplaintColumns).
func Complaint(row Scanner) (complaint.Complaint, error) {
	var c complaint.Complaint
	var state string
	var created, updated, deadline int64
	var closed *int64
	err := row.Scan(&c.ID, &c.Tenant, &c.KeyID, &c.Region, &c.RequestID, &c.ProduceID, &c.Category, &c.Body,
		&state, &created, &updated, &deadline, &closed, &c.Note)
	if err != nil {
		return c, err
	}
	c.State = complaint.State(state)
	c.CreatedAt, c.UpdatedAt, c.Deadline, c.ClosedAt = Time(created), Time(updated), Time(deadline), timePtr(closed)
	return c, nil
}
