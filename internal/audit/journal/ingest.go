package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/qiao-gateway/qiao/internal/audit"
)

// storeTimeout bounds one store transaction of the ingester.
const storeTimeout = 30 * time.Second

// ingest copies pending batches into the store, in order, until Close.
func (j *Journal) ingest() {
	defer close(j.stopped)
	var retry <-chan time.Time
	uncertain := false // the last store call failed: what did the store keep?
	for {
		select {
		case <-j.wake:
			if !j.linger() {
				return
			}
		case <-retry:
		case <-j.stop:
			return
		}
		retry = nil
		for !j.stopping() {
			group, n := j.next()
			if n == 0 {
				break
			}
			ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
			_, err := j.store(ctx, group, uncertain)
			cancel()
			if err != nil {
				uncertain = true
				j.mu.Lock()
				j.failed = err
				j.notify()
				j.mu.Unlock()
				retry = time.After(j.opts.RetryInterval)
				break
			}
			uncertain = false
			j.done(n, group.seg)
		}
	}
}

// stopping reports whether Close has told the ingester to stop.
func (j *Journal) stopping() bool {
	select {
	case <-j.stop:
		return true
	default:
		return false
	}
}

// linger lets records gather for Options.Linger, unless a reader or a full batch hurries
// it. It returns false if the journal is stopping.
func (j *Journal) linger() bool {
	if j.opts.Linger < 0 {
		return true
	}
	t := time.NewTimer(j.opts.Linger)
	defer t.Stop()
	select {
	case <-t.C:
	case <-j.hurry:
	case <-j.stop:
		return false
	}
	return true
}

// next returns the oldest pending batches, as many whole ones as fit in MaxBatch records
// (at least one), and how many batches that is.
func (j *Journal) next() (batch, int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return group(j.pending, j.opts.MaxBatch)
}

// group joins the first of batches into one, as many whole batches as fit in max records
// (at least one), and returns how many it took.
func group(batches []batch, max int) (batch, int) {
	if len(batches) == 1 {
		return batches[0], 1
	}
	var g batch
	n := 0
	for _, b := range batches {
		if n > 0 && len(g.recs)+len(b.recs) > max {
			break
		}
		g.recs = append(g.recs, b.recs...)
		g.cps = append(g.cps, b.cps...)
		g.seg = b.seg
		n++
	}
	return g, n
}

// done drops the first n pending batches, which the store now holds (the last of them was
// written to segment seg), and deletes the segments no pending batch is in any more.
func (j *Journal) done(n int, seg uint64) {
	j.mu.Lock()
	oldest := seg
	if len(j.pending) > n {
		oldest = j.pending[n].seg
	}
	j.mu.Unlock()
	// Segments older than the oldest one still needed are fully stored. They go before the
	// batches are marked done, so a Flush that returns leaves no needless files. If removing
	// one fails it stays; replay skips what the store already holds.
	for ; j.kept < oldest; j.kept++ {
		_ = os.Remove(segmentPath(j.opts.Dir, j.kept))
	}
	j.mu.Lock()
	for _, b := range j.pending[:n] {
		j.backlog -= len(b.recs)
	}
	j.pending = append(j.pending[:0], j.pending[n:]...)
	j.failed = nil
	j.notify()
	j.mu.Unlock()
}

// store writes one group into the store and returns how many records it inserted. If the
// previous attempt failed or a crash came before (uncertain), the store may hold part of the
// group already (a connection lost during COMMIT, a crash before a segment was deleted):
// resolve drops that part first.
func (j *Journal) store(ctx context.Context, b batch, uncertain bool) (int, error) {
	if uncertain {
		var err error
		if b, err = j.resolve(ctx, b); err != nil {
			return 0, err
		}
	}
	if len(b.recs) == 0 && len(b.cps) == 0 {
		return 0, nil
	}
	if err := j.inner.AppendBatch(ctx, b.recs, b.cps); err != nil {
		return 0, fmt.Errorf("journal: store %d records: %w", len(b.recs), err)
	}
	return len(b.recs), nil
}

// resolve drops from b the records and checkpoints at or below the head of their chain in
// the store, after checking that the store holds the very records journaled: if it holds
// others, or the journal does not continue where the store ends, two processes wrote the
// chain and nothing is stored. A checkpoint at or below the head was stored with its
// records, or is no longer needed: the next checkpoint signs everything before it, and
// writing an old one back could undo a retention anchor at the same position.
func (j *Journal) resolve(ctx context.Context, b batch) (batch, error) {
	heads := map[string]uint64{}
	head := func(chain string) (uint64, error) {
		if h, ok := heads[chain]; ok {
			return h, nil
		}
		seq, hash, err := j.inner.Head(ctx, chain)
		if err != nil {
			return 0, fmt.Errorf("journal: read head of chain %q: %w", chain, err)
		}
		if err := j.continues(ctx, chain, seq, hash, b.recs); err != nil {
			return 0, err
		}
		heads[chain] = seq
		return seq, nil
	}
	var out batch
	out.seg = b.seg
	for _, r := range b.recs {
		h, err := head(r.Chain)
		if err != nil {
			return batch{}, err
		}
		if r.Seq > h {
			out.recs = append(out.recs, r)
		}
	}
	for _, c := range b.cps {
		h, err := head(c.Chain)
		if err != nil {
			return batch{}, err
		}
		if c.Seq > h {
			out.cps = append(out.cps, c)
		}
	}
	return out, nil
}

// continues checks chain's journaled records in recs (consecutive, ascending) against the
// store's head (seq, hash): the first unstored one must link to the head, and the last one
// the store already holds must be the one journaled.
func (j *Journal) continues(ctx context.Context, chain string, seq uint64, hash audit.Hash, recs []audit.Record) error {
	var first, last *audit.Record
	for i := range recs {
		if recs[i].Chain == chain {
			if first == nil {
				first = &recs[i]
			}
			last = &recs[i]
		}
	}
	if first == nil {
		return nil
	}
	forked := fmt.Errorf("journal: chain %q: the store holds other records than the journal at %d (two processes wrote the chain)", chain, min(seq, last.Seq))
	switch {
	case first.Seq > seq+1:
		return fmt.Errorf("journal: chain %q: the store ends at record %d but the journal continues at %d (records are missing)", chain, seq, first.Seq)
	case first.Seq == seq+1:
		if !bytes.Equal(first.PrevHash, hash) {
			return forked
		}
		return nil
	case last.Seq >= seq:
		// The store ends inside the journaled records: its head must be one of them.
		for _, r := range recs {
			if r.Chain == chain && r.Seq == seq && bytes.Equal(r.Hash, hash) {
				return nil
			}
		}
		return forked
	}
	// The store is past every journaled record: the last of them must be in it.
	stored, found, err := j.storedHash(ctx, chain, last.Seq)
	if err != nil {
		return err
	}
	if found && !bytes.Equal(stored, last.Hash) {
		return forked
	}
	// Not found: deleted by a retention purge, which only deletes stored records.
	return nil
}

var errFound = errors.New("found")

// storedHash returns the hash of chain's record seq in the store, if it has it.
func (j *Journal) storedHash(ctx context.Context, chain string, seq uint64) (audit.Hash, bool, error) {
	var hash audit.Hash
	found := false
	err := j.inner.Records(ctx, chain, seq, func(r audit.Record) error {
		hash, found = r.Hash, r.Seq == seq
		return errFound
	})
	if err != nil && !errors.Is(err, errFound) {
		return nil, false, fmt.Errorf("journal: read record %d of chain %q: %w", seq, chain, err)
	}
	return hash, found, nil
}
