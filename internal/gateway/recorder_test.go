package gateway

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/audit"
	"github.com/qiao-gateway/qiao/internal/config"
	"github.com/qiao-gateway/qiao/internal/server"
)

// brokenStore is an audit store whose writes all fail, like a full or read-only disk.
type brokenStore struct{}

var errDiskFull = errors.New("database or disk is full")

func (brokenStore) Head(context.Context, string) (uint64, audit.Hash, error) { return 0, nil, nil }
func (brokenStore) AppendBatch(context.Context, []audit.Record, []audit.Checkpoint) error {
	return errDiskFull
}
func (brokenStore) Records(context.Context, string, uint64, func(audit.Record) error) error {
	return nil
}
func (brokenStore) RecordsByTime(context.Context, time.Time, time.Time, func(audit.Record) error) error {
	return nil
}
func (brokenStore) Checkpoints(context.Context, string) ([]audit.Checkpoint, error) { return nil, nil }
func (brokenStore) Chains(context.Context) ([]string, error)                        { return nil, nil }
func (brokenStore) PurgePoint(context.Context, string, time.Time) (uint64, audit.Hash, error) {
	return 0, nil, nil
}
func (brokenStore) Purge(context.Context, audit.Checkpoint) (int64, error) { return 0, nil }

// TestRecorderFailurePolicy: when the audit log cannot write, a region with on_failure:
// refuse refuses the request (503 audit_unavailable); one with serve lets it through.
func TestRecorderFailurePolicy(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	w, err := audit.NewWriter(context.Background(), brokenStore{}, audit.WriterOptions{Chain: "test", Signer: key})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r := &recorder{w: w, mac: audit.NewMACer([]byte("0123456789abcdef")), log: discardLogger(),
		policies: map[string]config.AuditPolicy{"CN": {OnFailure: "refuse"}, "US": {OnFailure: "serve"}}}
	for region, wantErr := range map[string]bool{"CN": true, "US": false} {
		err := r.record(context.Background(), &server.Exchange{RequestID: "req_1", Region: region, Start: time.Now(), Status: 200})
		if wantErr {
			e, ok := apierr.As(err)
			if !ok || e.Status != 503 || e.Code != "audit_unavailable" {
				t.Errorf("%s: err = %v, want 503 audit_unavailable", region, err)
			}
		} else if err != nil {
			t.Errorf("%s: err = %v, want the request served", region, err)
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
