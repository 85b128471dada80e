// Package journal puts an append-only file in front of an audit store, so that a request
// waits for a copy into a file's pages instead of a database transaction.
//
// A Journal is an audit.Store. AppendBatch frames the batch, appends it to the current
// segment file (a copy into its mapping, or a write(2): segment.go) and returns: from then on
// the records survive the process being killed, as a record committed to SQLite with
// synchronous=NORMAL does (both are in the kernel's hands; with Options.Sync the segment is
// also fdatasync'ed, as synchronous=FULL would). A single
// goroutine copies journaled batches into the database store in order, several per
// transaction, and deletes a segment once all of it is in the store. Open replays whatever a
// crash left in the journal before anything else is written.
//
// The journal never serves unlogged and never grows without bound:
//   - while the store refuses writes, AppendBatch refuses too (the audit writer then answers
//     503 audit_unavailable), and the ingester retries what it holds until the store takes it;
//   - at most Options.MaxBacklog records wait for the store; AppendBatch blocks beyond that;
//   - the read methods first wait until everything journaled is in the store, so a reader of
//     the journal sees what a reader of the store would have seen without it.
package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/qiao-gateway/qiao/internal/audit"
)

// Options configure a Journal.
type Options struct {
	// Dir holds the segment files and the lock. It is created if missing. One journal per
	// directory: Open fails if another process holds it.
	Dir string
	// Sync makes every append wait for fdatasync, so that journaled records survive a power
	// cut too. Without it they survive the process dying, not the machine.
	Sync bool
	// SegmentBytes is the size after which the next append starts a new segment file
	// (default 4 MiB). Segments are deleted once the store holds all they contain.
	SegmentBytes int64
	// StaleBytes is the size after which a segment the store holds all of is replaced
	// before the next append, so that at low traffic a segment does not keep long-stored
	// records for months (default 1 MiB). Opening a file is on an append's path: at
	// ~1 KiB per record, 1 MiB makes it one append in a thousand.
	StaleBytes int64
	// MaxBacklog is the most records journaled but not yet in the store (default 8192).
	MaxBacklog int
	// MaxBatch is the most records per store transaction (default 1024).
	MaxBatch int
	// RetryInterval is how long the ingester waits after the store refused a batch before
	// it tries again (default 1s).
	RetryInterval time.Duration
	// Linger is how long the ingester lets records gather before it stores them, unless
	// MaxBatch are waiting or someone reads (default 100ms; negative: not at all). A SQLite
	// transaction costs ~0.25 ms of CPU however few records it holds (the begin alone is
	// half of it): one per 100 ms instead of one per few records cut a CN request's CPU by
	// ~50-100 µs at 300/s (BENCHMARKS.md). The records are durable in the journal meanwhile.
	Linger time.Duration
}

func (o Options) withDefaults() Options {
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 4 << 20
	}
	if o.StaleBytes <= 0 {
		o.StaleBytes = 1 << 20
	}
	if o.MaxBacklog <= 0 {
		o.MaxBacklog = 8192
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1024
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = time.Second
	}
	if o.Linger == 0 {
		o.Linger = 100 * time.Millisecond
	}
	return o
}

// ErrClosed is returned by AppendBatch after Close.
var ErrClosed = errors.New("journal: closed")

// batch is one journaled AppendBatch waiting for the store.
type batch struct {
	recs []audit.Record
	cps  []audit.Checkpoint
	seg  uint64 // the segment it was written to
}

// Journal is an audit.Store that journals writes and copies them into Inner.
type Journal struct {
	inner audit.Store
	opts  Options
	lock  *os.File

	wmu  sync.Mutex // serialises appends: one writer of the current segment
	file *os.File
	seg  uint64 // current segment number
	size int64  // bytes in the current segment
	// mm maps the current segment while appends are copies into it (segment.go); prealloc
	// says the file was given its full size up front and must be cut to size when done.
	mm       []byte
	prealloc bool

	mu      sync.Mutex
	pending []batch // journaled, not yet in the store, in order
	backlog int     // records in pending
	failed  error   // the store's last refusal; nil once it takes a batch again
	broken  error   // a write that could not be undone: the journal takes nothing more
	closed  bool
	changed chan struct{} // closed and replaced whenever pending, failed or broken change

	replayed int    // records Open found in the journal
	kept     uint64 // ingester: the oldest segment not yet removed

	wake    chan struct{} // ingester: there is work
	hurry   chan struct{} // ingester: store it now, without lingering
	stop    chan struct{}
	stopped chan struct{}
}

var (
	_ audit.Store           = (*Journal)(nil)
	_ audit.EncodedAppender = (*Journal)(nil)
)

// Open locks o.Dir, copies any batches a previous process journaled but did not store into
// inner (checking that they continue inner's chains), deletes the old segments and starts
// the ingester. A journal that cannot be replayed is an error: the caller must not write to
// the chain until an operator has looked.
func Open(ctx context.Context, inner audit.Store, o Options) (*Journal, error) {
	o = o.withDefaults()
	if o.Dir == "" {
		return nil, errors.New("journal: no directory")
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	lock, err := lockDir(o.Dir)
	if err != nil {
		return nil, err
	}
	j := &Journal{
		inner: inner, opts: o, lock: lock,
		changed: make(chan struct{}),
		wake:    make(chan struct{}, 1),
		hurry:   make(chan struct{}, 1),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	last, err := j.replay(ctx)
	if err != nil {
		lock.Close()
		return nil, err
	}
	if err := j.openSegment(last + 1); err != nil {
		lock.Close()
		return nil, err
	}
	j.kept = j.seg
	go j.ingest()
	return j, nil
}

func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("journal: %s is in use by another process", dir)
		}
		return nil, fmt.Errorf("journal: lock: %w", err)
	}
	return f, nil
}

// AppendBatch journals recs and cps and returns once they are written (and synced, with
// Options.Sync). It fails at once while the store is refusing batches, and waits while
// Options.MaxBacklog records are already waiting for the store.
func (j *Journal) AppendBatch(ctx context.Context, recs []audit.Record, cps []audit.Checkpoint) error {
	return j.AppendEncoded(ctx, recs, nil, cps)
}

// AppendEncoded is AppendBatch with each record's canonical encoding already made
// (audit.EncodedAppender); canon may be nil, and then the journal encodes them itself.
func (j *Journal) AppendEncoded(ctx context.Context, recs []audit.Record, canon [][]byte, cps []audit.Checkpoint) error {
	frame, err := encodeFrame(recs, canon, cps)
	if err != nil {
		return err
	}
	j.wmu.Lock()
	defer j.wmu.Unlock()
	if err := j.room(ctx, len(recs)); err != nil {
		return err
	}
	if err := j.rotate(); err != nil {
		j.mu.Lock()
		j.setBroken(err)
		j.mu.Unlock()
		return err
	}
	seg := j.seg
	if err := j.write(frame); err != nil {
		return err
	}
	j.mu.Lock()
	j.pending = append(j.pending, batch{recs: recs, cps: cps, seg: seg})
	j.backlog += len(recs)
	full := j.backlog >= j.opts.MaxBatch
	j.mu.Unlock()
	signal(j.wake)
	if full {
		signal(j.hurry)
	}
	return nil
}

// room waits until n more records fit in the backlog (a batch larger than the whole backlog
// waits for an empty one), and fails if the journal cannot take writes.
func (j *Journal) room(ctx context.Context, n int) error {
	for {
		j.mu.Lock()
		err := j.refusal()
		fits := j.backlog == 0 || j.backlog+n <= j.opts.MaxBacklog
		changed := j.changed
		j.mu.Unlock()
		if err != nil {
			return err
		}
		if fits {
			return nil
		}
		signal(j.hurry)
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("journal: waiting for the store to take the backlog: %w", ctx.Err())
		}
	}
}

// refusal is why the journal takes no writes now, or nil. j.mu is held.
func (j *Journal) refusal() error {
	switch {
	case j.closed:
		return ErrClosed
	case j.broken != nil:
		return j.broken
	case j.failed != nil:
		return fmt.Errorf("journal: the store refuses audit records: %w", j.failed)
	}
	return nil
}

// rotate starts a new segment before the next write if the current one is full, or if it
// is past StaleBytes and the store holds everything in it (the ingester deletes the old one).
func (j *Journal) rotate() error {
	if j.size == 0 {
		return nil
	}
	if j.size < j.opts.SegmentBytes {
		j.mu.Lock()
		stored := len(j.pending) == 0
		j.mu.Unlock()
		if !stored || j.size < j.opts.StaleBytes {
			return nil
		}
	}
	if err := j.closeSegment(); err != nil {
		return err
	}
	return j.openSegment(j.seg + 1)
}

// write appends one frame to the current segment: a copy into its mapping if it fits there,
// else a write(2) at its end. A failed write is cut off again, so the segment never holds
// half a frame that later frames would follow; only if that fails too (or a copy faulted)
// does the journal stop taking writes.
func (j *Journal) write(frame []byte) error {
	if end := j.size + int64(len(frame)); end <= int64(len(j.mm)) {
		if err := copyFrame(j.mm[j.size:end], frame); err != nil {
			j.mu.Lock()
			j.setBroken(err)
			j.mu.Unlock()
			return err
		}
		j.size = end
		return nil
	}
	// Past the mapping: from here on this segment is written with write(2), and a failed
	// write may cut the file below what the mapping covers.
	if err := j.unmap(); err != nil {
		j.mu.Lock()
		j.setBroken(err)
		j.mu.Unlock()
		return err
	}
	if _, err := j.file.WriteAt(frame, j.size); err != nil {
		if terr := j.file.Truncate(j.size); terr != nil {
			err = fmt.Errorf("journal: write %s: %w (and removing the partial frame failed: %v)", j.file.Name(), err, terr)
			j.mu.Lock()
			j.setBroken(err)
			j.mu.Unlock()
			return err
		}
		return fmt.Errorf("journal: write %s: %w", j.file.Name(), err)
	}
	if j.opts.Sync {
		if err := syscall.Fdatasync(int(j.file.Fd())); err != nil {
			// Whether the frame reached the disk is unknown: its records may reappear at
			// replay, so their sequence numbers must not be given out again.
			err = fmt.Errorf("journal: sync %s: %w", j.file.Name(), err)
			j.mu.Lock()
			j.setBroken(err)
			j.mu.Unlock()
			return err
		}
	}
	j.size += int64(len(frame))
	return nil
}

func (j *Journal) openSegment(n uint64) error {
	f, err := os.OpenFile(segmentPath(j.opts.Dir, n), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("journal: new segment: %w", err)
	}
	if j.opts.Sync {
		if err := syncDir(j.opts.Dir); err != nil {
			f.Close()
			return err
		}
	}
	j.file, j.seg, j.size, j.mm = f, n, 0, nil
	if !j.opts.Sync {
		j.mm = mapSegment(f, j.opts.SegmentBytes)
	}
	j.prealloc = j.mm != nil
	return nil
}

func segmentPath(dir string, n uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d.seg", n))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("journal: sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("journal: sync directory: %w", err)
	}
	return nil
}

// notify wakes everyone waiting for a change. j.mu is held.
func (j *Journal) notify() {
	close(j.changed)
	j.changed = make(chan struct{})
}

// setBroken stops the journal taking writes. j.mu is held.
func (j *Journal) setBroken(err error) {
	j.broken = fmt.Errorf("journal: unusable until restart: %w", err)
	j.notify()
}

// CheapAppends reports that an append is one write(2), unless every append is synced: the
// audit writer then appends on the caller's goroutine instead of batching (audit.CheapAppender).
func (j *Journal) CheapAppends() bool { return !j.opts.Sync }

// Healthy returns why the journal cannot take records now, or nil. The audit writer reports
// it on /readyz.
func (j *Journal) Healthy() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.refusal()
}

// Backlog returns the number of records journaled but not yet in the store.
func (j *Journal) Backlog() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.backlog
}

// signal sends on a one-slot channel unless a signal is already waiting there.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Flush waits until the store holds everything journaled so far. It fails at once if the
// store is refusing batches.
func (j *Journal) Flush(ctx context.Context) error {
	signal(j.hurry)
	for {
		j.mu.Lock()
		empty, failed, changed := len(j.pending) == 0, j.failed, j.changed
		j.mu.Unlock()
		if empty {
			return nil
		}
		if failed != nil {
			return fmt.Errorf("journal: the store refuses audit records: %w", failed)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("journal: flush: %w", ctx.Err())
		}
	}
}

// Close stops taking records, waits up to the context's end for the store to take what is
// journaled, stops the ingester and deletes the segments if nothing is left in them. What
// the store did not take stays in the journal for the next Open.
func (j *Journal) Close(ctx context.Context) error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	j.notify()
	j.mu.Unlock()
	j.wmu.Lock() // no append is half done
	defer j.wmu.Unlock()
	flushErr := j.Flush(ctx)
	close(j.stop)
	<-j.stopped
	err := errors.Join(flushErr, j.closeSegment())
	j.mu.Lock()
	left := len(j.pending)
	j.mu.Unlock()
	if left == 0 && err == nil {
		err = j.removeSegments(j.seg + 1)
	}
	return errors.Join(err, j.lock.Close())
}

// removeSegments deletes every segment numbered below n.
func (j *Journal) removeSegments(n uint64) error {
	segs, err := listSegments(j.opts.Dir)
	if err != nil {
		return err
	}
	for _, s := range segs {
		if s < n {
			if err := os.Remove(segmentPath(j.opts.Dir, s)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("journal: remove segment: %w", err)
			}
		}
	}
	return nil
}

// The read methods see the store once it holds everything journaled.

// Head returns chain's head in the store, after Flush.
func (j *Journal) Head(ctx context.Context, chain string) (uint64, audit.Hash, error) {
	if err := j.Flush(ctx); err != nil {
		return 0, nil, err
	}
	return j.inner.Head(ctx, chain)
}

// Records reads from the store, after Flush.
func (j *Journal) Records(ctx context.Context, chain string, from uint64, fn func(audit.Record) error) error {
	if err := j.Flush(ctx); err != nil {
		return err
	}
	return j.inner.Records(ctx, chain, from, fn)
}

// RecordsByTime reads from the store, after Flush.
func (j *Journal) RecordsByTime(ctx context.Context, from, to time.Time, fn func(audit.Record) error) error {
	if err := j.Flush(ctx); err != nil {
		return err
	}
	return j.inner.RecordsByTime(ctx, from, to, fn)
}

// Checkpoints reads from the store, after Flush.
func (j *Journal) Checkpoints(ctx context.Context, chain string) ([]audit.Checkpoint, error) {
	if err := j.Flush(ctx); err != nil {
		return nil, err
	}
	return j.inner.Checkpoints(ctx, chain)
}

// Chains reads from the store, after Flush.
func (j *Journal) Chains(ctx context.Context) ([]string, error) {
	if err := j.Flush(ctx); err != nil {
		return nil, err
	}
	return j.inner.Chains(ctx)
}

// PurgePoint reads from the store, after Flush.
func (j *Journal) PurgePoint(ctx context.Context, chain string, before time.Time) (uint64, audit.Hash, error) {
	if err := j.Flush(ctx); err != nil {
		return 0, nil, err
	}
	return j.inner.PurgePoint(ctx, chain, before)
}

// Purge purges in the store, after Flush (so the anchor never overtakes journaled records).
func (j *Journal) Purge(ctx context.Context, anchor audit.Checkpoint) (int64, error) {
	if err := j.Flush(ctx); err != nil {
		return 0, err
	}
	return j.inner.Purge(ctx, anchor)
}

// LockChain passes the chain lock on to the store, if it has one.
func (j *Journal) LockChain(ctx context.Context, chain string) (func(), error) {
	if l, ok := j.inner.(audit.ChainLocker); ok {
		return l.LockChain(ctx, chain)
	}
	return func() {}, nil
}
