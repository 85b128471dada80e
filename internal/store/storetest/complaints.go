package storetest

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/audit"
	"github.com/qiao-gateway/qiao/internal/complaint"
)

func testComplaints(t *testing.T, h Harness) {
	st := h.New(t)
	clk := newClock()
	w := newWriter(t, st, "c1", 100, clk)
	svc := &complaint.Service{Store: st, Audit: w, TimeLimit: 15 * 24 * time.Hour, Now: clk.now}

	c, err := svc.File(ctx(t), complaint.Filing{Tenant: "acme", KeyID: "key_1", Region: "CN",
		RequestID: "req-9", Category: "wrong_answer", Body: "这个回答不对"})
	if err != nil {
		t.Fatalf("File: %v", err)
	}
	if c.State != complaint.Received || !c.Deadline.Equal(c.CreatedAt.Add(15*24*time.Hour)) {
		t.Errorf("filed complaint: state %s deadline %s created %s", c.State, c.Deadline, c.CreatedAt)
	}
	got, err := svc.Get(ctx(t), c.ID)
	if err != nil || got.Body != "这个回答不对" || got.State != complaint.Received {
		t.Fatalf("Get = %+v, %v", got, err)
	}

	steps := []struct {
		name    string
		to      complaint.State
		status  int // 0: success
		wantNow complaint.State
	}{
		{name: "received cannot resolve directly", to: complaint.Resolved, status: http.StatusConflict, wantNow: complaint.Received},
		{name: "unknown state", to: "closed", status: http.StatusBadRequest, wantNow: complaint.Received},
		{name: "start processing", to: complaint.Processing, wantNow: complaint.Processing},
		{name: "processing again", to: complaint.Processing, status: http.StatusConflict, wantNow: complaint.Processing},
		{name: "resolve", to: complaint.Resolved, wantNow: complaint.Resolved},
		{name: "resolved is final", to: complaint.Rejected, status: http.StatusConflict, wantNow: complaint.Resolved},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			_, err := svc.Transition(ctx(t), c.ID, s.to, "staff-1", "checked the answer")
			if s.status == 0 && err != nil {
				t.Fatalf("Transition: %v", err)
			}
			if s.status != 0 {
				e, ok := apierr.As(err)
				if !ok || e.Status != s.status {
					t.Fatalf("Transition = %v, want status %d", err, s.status)
				}
			}
			got, err := st.Complaint(ctx(t), c.ID)
			if err != nil || got.State != s.wantNow {
				t.Fatalf("state now %q (%v), want %q", got.State, err, s.wantNow)
			}
		})
	}
	final, _ := st.Complaint(ctx(t), c.ID)
	if final.ClosedAt == nil || final.Note != "checked the answer" {
		t.Errorf("resolved complaint: closed %v note %q", final.ClosedAt, final.Note)
	}

	if _, err := svc.Get(ctx(t), "cmp_missing"); err == nil {
		t.Error("Get(missing) succeeded")
	} else if e, ok := apierr.As(err); !ok || e.Status != http.StatusNotFound {
		t.Errorf("Get(missing) = %v, want 404", err)
	}
	if err := st.TransitionComplaint(ctx(t), "cmp_missing", complaint.Received, complaint.Processing, clk.now(), ""); !errors.Is(err, complaint.ErrNotFound) {
		t.Errorf("TransitionComplaint(missing) = %v, want ErrNotFound", err)
	}
	if err := st.TransitionComplaint(ctx(t), c.ID, complaint.Received, complaint.Processing, clk.now(), ""); !errors.Is(err, complaint.ErrConflict) {
		t.Errorf("TransitionComplaint(stale from) = %v, want ErrConflict", err)
	}

	// Every change, and only the changes, is in the audit log, without the complaint text.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var moves []string
	err = st.Records(ctx(t), "c1", 0, func(r audit.Record) error {
		if r.Kind != audit.KindComplaint || r.Details["complaint_id"] != c.ID {
			t.Errorf("unexpected record %+v", r)
		}
		for _, v := range r.Details {
			if v == c.Body {
				t.Errorf("complaint text in the audit log: %+v", r)
			}
		}
		moves = append(moves, r.Details["from"]+">"+r.Details["to"])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{">received", "received>processing", "processing>resolved"}
	if len(moves) != len(want) {
		t.Fatalf("audit moves %v, want %v", moves, want)
	}
	for i := range want {
		if moves[i] != want[i] {
			t.Errorf("audit moves %v, want %v", moves, want)
		}
	}
	verifyOK(t, st)
}
