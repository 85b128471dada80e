// Package complaint runs the complaint mechanism the CN Interim Measures (Art. 15) require:
// a user files a complaint and gets an id and a deadline from the profile's published time
// limit; staff move it through received → processing → resolved | rejected; every change is
// written to the audit log before it takes effect.
package complaint

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/audit"
)

// State is where a complaint is in its life.
type State string

// States.
const (
	Received   State = "received"
	Processing State = "processing"
	Resolved   State = "resolved"
	Rejected   State = "rejected"
)

// next lists the allowed transitions.
var next = map[State][]State{
	Received:   {Processing, Rejected},
	Processing: {Resolved, Rejected},
}

// Allowed reports whether a complaint may move from one state to another.
func Allowed(from, to State) bool {
	for _, s := range next[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	switch s {
	case Received, Processing, Resolved, Rejected:
		return true
	}
	return false
}

// Errors.
var (
	ErrNotFound = errors.New("complaint: not found")
	// ErrConflict means the complaint was not in the expected state (a concurrent change).
	ErrConflict = errors.New("complaint: state changed concurrently")
)

// Complaint is one filed complaint.
type Complaint struct {
	ID     string
	Tenant string
	KeyID  string
	Region string
	// RequestID and ProduceID point at the answer complained about, if the user gave them.
	RequestID string
	ProduceID string
	Category  string
	// Body is the complaint text. It is personal data: kept in the complaints table to handle
	// the complaint, never in the audit log.
	Body      string
	State     State
	CreatedAt time.Time
	UpdatedAt time.Time
	Deadline  time.Time
	// ClosedAt is set when the complaint reaches resolved or rejected.
	ClosedAt *time.Time
	// Note is staff's latest note (the resolution or the reason for rejection).
	Note string
}

// Store keeps complaints. Implementations: store/sqlite, store/postgres.
type Store interface {
	CreateComplaint(ctx context.Context, c Complaint) error
	// Complaint returns the complaint with id; ErrNotFound if none.
	Complaint(ctx context.Context, id string) (Complaint, error)
	// TransitionComplaint moves id from state from to state to at time at, setting Note and
	// (for a final state) ClosedAt, only if it is still in from: ErrConflict otherwise,
	// ErrNotFound if there is no such complaint.
	TransitionComplaint(ctx context.Context, id string, from, to State, at time.Time, note string) error
}

// Appender is the audit log (an *audit.Writer).
type Appender interface {
	Append(ctx context.Context, rec audit.Record) error
}

// Service files and moves complaints.
type Service struct {
	Store Store
	Audit Appender
	// TimeLimit is the published response time limit; Deadline = filing time + TimeLimit.
	TimeLimit time.Duration
	Now       func() time.Time // default time.Now
}

// Filing is what a user submits.
type Filing struct {
	Tenant, KeyID, Region string
	RequestID, ProduceID  string
	Category              string
	Body                  string
}

// limits keep the table small and stop a complaint from becoming a content store.
const (
	maxBody  = 8 << 10
	maxField = 128
)

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// File records a new complaint and returns it with its id and deadline.
func (s *Service) File(ctx context.Context, f Filing) (Complaint, error) {
	if f.Body == "" {
		return Complaint{}, apierr.BadRequest("invalid_complaint", "The complaint needs a description.").WithParam("body")
	}
	if len(f.Body) > maxBody {
		return Complaint{}, apierr.BadRequest("invalid_complaint", "The complaint description is longer than 8 KiB.").WithParam("body")
	}
	for name, v := range map[string]string{"category": f.Category, "request_id": f.RequestID, "produce_id": f.ProduceID} {
		if len(v) > maxField {
			return Complaint{}, apierr.BadRequest("invalid_complaint", "The field "+name+" is longer than 128 bytes.").WithParam(name)
		}
	}
	if s.TimeLimit <= 0 {
		return Complaint{}, fmt.Errorf("complaint: no time limit configured")
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return Complaint{}, fmt.Errorf("complaint: new id: %w", err)
	}
	now := s.now()
	c := Complaint{
		ID: "cmp_" + hex.EncodeToString(id[:]), Tenant: f.Tenant, KeyID: f.KeyID, Region: f.Region,
		RequestID: f.RequestID, ProduceID: f.ProduceID, Category: f.Category, Body: f.Body,
		State: Received, CreatedAt: now, UpdatedAt: now, Deadline: now.Add(s.TimeLimit),
	}
	if err := s.log(ctx, c, "", Received, "user"); err != nil {
		return Complaint{}, err
	}
	if err := s.Store.CreateComplaint(ctx, c); err != nil {
		return Complaint{}, fmt.Errorf("complaint: store: %w", err)
	}
	return c, nil
}

// Get returns a complaint; a 404 apierr if there is none.
func (s *Service) Get(ctx context.Context, id string) (Complaint, error) {
	c, err := s.Store.Complaint(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return c, apierr.New(http.StatusNotFound, apierr.TypeNotFound, "complaint_not_found", "No complaint with that id.").WithCause(err)
	}
	if err != nil {
		return c, fmt.Errorf("complaint: read %s: %w", id, err)
	}
	return c, nil
}

// Transition moves complaint id to state to, by actor, with a note. The change is written
// to the audit log first: if that fails, nothing changes and a 503 is returned.
func (s *Service) Transition(ctx context.Context, id string, to State, actor, note string) (Complaint, error) {
	if !to.Valid() {
		return Complaint{}, apierr.BadRequest("invalid_state", "Unknown complaint state "+strconv.Quote(string(to))+".").WithParam("state")
	}
	if len(note) > maxBody {
		return Complaint{}, apierr.BadRequest("invalid_complaint", "The note is longer than 8 KiB.").WithParam("note")
	}
	c, err := s.Get(ctx, id)
	if err != nil {
		return c, err
	}
	if !Allowed(c.State, to) {
		return c, apierr.New(http.StatusConflict, apierr.TypeInvalidRequest, "invalid_transition",
			fmt.Sprintf("A %s complaint cannot become %s.", c.State, to))
	}
	if err := s.log(ctx, c, c.State, to, actor); err != nil {
		return c, err
	}
	now := s.now()
	if err := s.Store.TransitionComplaint(ctx, id, c.State, to, now, note); err != nil {
		if errors.Is(err, ErrConflict) {
			return c, apierr.New(http.StatusConflict, apierr.TypeInvalidRequest, "invalid_transition",
				"The complaint changed meanwhile; reload it and try again.").WithCause(err)
		}
		return c, fmt.Errorf("complaint: transition %s: %w", id, err)
	}
	return s.Get(ctx, id)
}

// log writes the audit record of a change. The record names the complaint and the states,
// never the complaint text or note.
func (s *Service) log(ctx context.Context, c Complaint, from, to State, actor string) error {
	d := map[string]string{"complaint_id": c.ID, "to": string(to), "actor": actor,
		"deadline": c.Deadline.UTC().Format(time.RFC3339)}
	if from != "" {
		d["from"] = string(from)
	}
	if c.Category != "" {
		d["category"] = c.Category
	}
	rec := audit.Record{Kind: audit.KindComplaint, Tenant: c.Tenant, KeyID: c.KeyID,
		Region: c.Region, Request: c.RequestID, ProduceID: c.ProduceID, Details: d}
	if err := s.Audit.Append(ctx, rec); err != nil {
		return err // already a 503 audit_unavailable
	}
	return nil
}
