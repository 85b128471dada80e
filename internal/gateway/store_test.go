package gateway

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/audit"
	"github.com/qiao-gateway/qiao/internal/audit/journal"
	"github.com/qiao-gateway/qiao/internal/store"
)

// held holds every AppendBatch until release is closed, then refuses it.
type held struct {
	audit.Store
	release chan struct{}
}

func (h held) AppendBatch(ctx context.Context, _ []audit.Record, _ []audit.Checkpoint) error {
	<-h.release
	return errors.New("refused")
}

var testSigner = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

func testAuditConfig(t *testing.T, journalSetting string) audit.Config {
	c := audit.Config{DataDir: t.TempDir(), Replica: "gw-1", Journal: journalSetting}.WithDefaults(0)
	if err := c.Validate(0); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAuditLogJournal(t *testing.T) {
	c := testAuditConfig(t, audit.JournalOn)
	st, err := store.Open(t.Context(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g := &Gateway{}
	log, err := g.auditLog(t.Context(), st, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := log.(*journal.Journal); !ok {
		t.Fatalf("audit log is %T with journal: on", log)
	}
	if len(g.closers) != 1 {
		t.Fatalf("%d closers: the journal must be closed with the gateway", len(g.closers))
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestAuditLogLeftoverJournal: records a run with the journal on acknowledged but did not
// store reach the store when the next run has the journal off.
func TestAuditLogLeftoverJournal(t *testing.T) {
	c := testAuditConfig(t, audit.JournalOff)
	st, err := store.Open(t.Context(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir := JournalDir(c.DataDir, c.Replica)
	h := held{Store: st, release: make(chan struct{})}
	j, err := journal.Open(t.Context(), h, journal.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	w, err := audit.NewWriter(t.Context(), j, audit.WriterOptions{Chain: c.Replica, Signer: testSigner})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := w.Append(t.Context(), audit.Record{Kind: audit.KindRequest, Request: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	time.AfterFunc(100*time.Millisecond, func() { close(h.release) })
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := j.Close(ctx); err == nil {
		t.Fatal("the journal closed cleanly: nothing is left over, the test tests nothing")
	}

	g := &Gateway{}
	log, err := g.auditLog(t.Context(), st, c)
	if err != nil {
		t.Fatal(err)
	}
	if log != audit.Store(st) {
		t.Errorf("audit log is %T with journal: off, want the store", log)
	}
	if len(g.Notices) != 1 || !strings.Contains(g.Notices[0], "3 records") {
		t.Errorf("notices %q, want one about 3 replayed records", g.Notices)
	}
	n := 0
	st.Records(t.Context(), c.Replica, 0, func(audit.Record) error { n++; return nil })
	if n != 3 {
		t.Errorf("%d records in the store, want 3", n)
	}
	if left, err := journal.Leftover(dir); err != nil || left {
		t.Errorf("segments left after the replay: %v %v", left, err)
	}
}
