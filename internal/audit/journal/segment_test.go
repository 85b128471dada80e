package journal

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/audit"
)

// memStore is enough of a store for a journal whose records are never ingested here.
type memStore struct{ audit.Store }

func (memStore) AppendBatch(context.Context, []audit.Record, []audit.Checkpoint) error {
	return nil
}

// TestMappedFaultIsAnError: a copy into a mapped segment that faults (here the file was cut
// under the mapping, which is what an I/O error looks like to the process) fails that append
// and stops the journal taking more, instead of crashing the process.
func TestMappedFaultIsAnError(t *testing.T) {
	j, err := Open(t.Context(), memStore{}, Options{Dir: t.TempDir(), Linger: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Crash()
	if j.mm == nil {
		t.Fatal("the segment is not mapped: the test does not test anything")
	}
	rec := audit.Record{Seq: 1, Chain: "c", Kind: audit.KindRequest, Time: time.Unix(1, 0), Hash: make(audit.Hash, audit.HashSize)}
	if err := j.AppendBatch(t.Context(), []audit.Record{rec}, nil); err != nil {
		t.Fatal(err)
	}
	if err := j.file.Truncate(0); err != nil {
		t.Fatal(err)
	}
	rec.Seq = 2
	if err := j.AppendBatch(t.Context(), []audit.Record{rec}, nil); !errors.Is(err, errFault) {
		t.Fatalf("append into a faulting mapping = %v, want %v", err, errFault)
	}
	if err := j.Healthy(); err == nil {
		t.Error("the journal still takes records after a faulted copy")
	}
}
