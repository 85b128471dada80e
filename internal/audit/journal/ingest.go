package journal

import (
	"bytes"
	"context"
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
		for {
			group, n := j.next()
			if n == 0 {
				break
			}
			ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
			err := j.store(ctx, group, uncertain)
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

// store writes one group into the store. If the previous attempt failed (uncertain), the
// store may nonetheless have committed it (a connection lost during COMMIT), so records the
// store already holds are dropped first; they must be the very records journaled, or the
// chain was forked.
func (j *Journal) store(ctx context.Context, b batch, uncertain bool) error {
	recs := b.recs
	if uncertain {
		var err error
		if recs, err = j.unstored(ctx, recs); err != nil {
			return err
		}
	}
	if len(recs) == 0 && len(b.cps) == 0 {
		return nil
	}
	if err := j.inner.AppendBatch(ctx, recs, b.cps); err != nil {
		return fmt.Errorf("journal: store %d records: %w", len(recs), err)
	}
	return nil
}

// unstored returns the records of recs the store does not hold yet, reading the head of
// each chain recs touch. The records of a chain are consecutive, so what is stored is a
// prefix of each chain's records.
func (j *Journal) unstored(ctx context.Context, recs []audit.Record) ([]audit.Record, error) {
	heads := map[string]uint64{}
	out := recs[:0:0]
	for _, r := range recs {
		head, ok := heads[r.Chain]
		if !ok {
			seq, hash, err := j.inner.Head(ctx, r.Chain)
			if err != nil {
				return nil, fmt.Errorf("journal: read head of chain %q: %w", r.Chain, err)
			}
			if err := continues(r, seq, hash, recs); err != nil {
				return nil, err
			}
			head, heads[r.Chain] = seq, seq
		}
		if r.Seq > head {
			out = append(out, r)
		}
	}
	return out, nil
}

// continues checks that first, the earliest journaled record of its chain, fits the store's
// head (seq, hash): either it is the next record, or the store already holds it and the
// record at the head is the one journaled.
func continues(first audit.Record, seq uint64, hash audit.Hash, recs []audit.Record) error {
	switch {
	case first.Seq == seq+1:
		if !bytes.Equal(first.PrevHash, hash) {
			return fmt.Errorf("journal: chain %q: journaled record %d does not link to the stored head (the chain was written by someone else)", first.Chain, first.Seq)
		}
		return nil
	case first.Seq > seq+1:
		return fmt.Errorf("journal: chain %q: the store ends at record %d but the journal continues at %d (records are missing)", first.Chain, seq, first.Seq)
	}
	for _, r := range recs {
		if r.Chain == first.Chain && r.Seq == seq {
			if !bytes.Equal(r.Hash, hash) {
				return fmt.Errorf("journal: chain %q: the stored record %d differs from the journaled one (the chain was written by someone else)", first.Chain, seq)
			}
			return nil
		}
	}
	return nil // the store is past every journaled record of the chain
}
