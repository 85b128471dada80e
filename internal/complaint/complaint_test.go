package complaint_test

import (
	"bytes"
	"crypto/ed25519"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/audit"
	"github.com/qiao-gateway/qiao/internal/complaint"
	"github.com/qiao-gateway/qiao/internal/store/sqlite"
)

func TestAllowed(t *testing.T) {
	states := []complaint.State{complaint.Received, complaint.Processing, complaint.Resolved, complaint.Rejected}
	allowed := map[[2]complaint.State]bool{
		{complaint.Received, complaint.Processing}: true,
		{complaint.Received, complaint.Rejected}:   true,
		{complaint.Processing, complaint.Resolved}: true,
		{complaint.Processing, complaint.Rejected}: true,
	}
	for _, from := range states {
		for _, to := range states {
			if got := complaint.Allowed(from, to); got != allowed[[2]complaint.State{from, to}] {
				t.Errorf("Allowed(%s, %s) = %v", from, to, got)
			}
		}
	}
}

var key = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32))

func TestFilingValidation(t *testing.T) {
	db, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w, err := audit.NewWriter(t.Context(), db, audit.WriterOptions{Chain: "c", Signer: key})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	svc := &complaint.Service{Store: db, Audit: w, TimeLimit: 15 * 24 * time.Hour}
	tests := []struct {
		name  string
		f     complaint.Filing
		param string
	}{
		{name: "empty body", f: complaint.Filing{}, param: "body"},
		{name: "huge body", f: complaint.Filing{Body: strings.Repeat("x", 9000)}, param: "body"},
		{name: "long category", f: complaint.Filing{Body: "b", Category: strings.Repeat("c", 200)}, param: "category"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.File(t.Context(), tc.f)
			e, ok := apierr.As(err)
			if !ok || e.Status != http.StatusBadRequest || e.Param != tc.param {
				t.Fatalf("File = %v, want 400 on %s", err, tc.param)
			}
		})
	}
	noLimit := &complaint.Service{Store: db, Audit: w}
	if _, err := noLimit.File(t.Context(), complaint.Filing{Body: "b"}); err == nil {
		t.Error("filing without a configured time limit succeeded")
	}
}

// TestAuditFailureBlocksChange: when the audit log cannot record a change, the change does
// not happen.
func TestAuditFailureBlocksChange(t *testing.T) {
	dir := t.TempDir()
	db, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w, err := audit.NewWriter(t.Context(), db, audit.WriterOptions{Chain: "c", Signer: key})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	svc := &complaint.Service{Store: db, Audit: w, TimeLimit: time.Hour}
	c, err := svc.File(t.Context(), complaint.Filing{Tenant: "acme", Body: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	// The audit log now goes read-only; the complaints table is still writable.
	ro, err := sqlite.OpenWith(dir, sqlite.Options{Pragmas: []string{"query_only(1)"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	roW, err := audit.NewWriter(t.Context(), ro, audit.WriterOptions{Chain: "c-ro", Signer: key})
	if err != nil {
		t.Fatal(err)
	}
	defer roW.Close()
	svc.Audit = roW
	_, err = svc.Transition(t.Context(), c.ID, complaint.Processing, "staff", "")
	if e, ok := apierr.As(err); !ok || e.Code != audit.CodeAuditUnavailable {
		t.Fatalf("Transition with a failing audit log = %v, want audit_unavailable", err)
	}
	got, err := db.Complaint(t.Context(), c.ID)
	if err != nil || got.State != complaint.Received {
		t.Fatalf("state %s (%v), want it unchanged", got.State, err)
	}
	if _, err := svc.File(t.Context(), complaint.Filing{Body: "another"}); err == nil {
		t.Error("filing succeeded without an audit record")
	}
}
