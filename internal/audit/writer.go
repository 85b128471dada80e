package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
)

// CodeAuditUnavailable is the apierr code of a request refused because its audit record
// could not be stored.
const CodeAuditUnavailable = "audit_unavailable"

// Unavailable wraps err as the 503 the server sends when it refuses to serve unlogged.
func Unavailable(err error) *apierr.Error {
	return apierr.New(http.StatusServiceUnavailable, apierr.TypeAPI, CodeAuditUnavailable,
		"The audit log cannot record this request right now, so it was not served. Try again later.").
		WithCause(err)
}

// WriterOptions configure a Writer.
type WriterOptions struct {
	// Chain is this replica's chain id (Config.Replica). Required.
	Chain string
	// Signer signs checkpoints. Required.
	Signer ed25519.PrivateKey
	// CheckpointEvery is the number of records between checkpoints (default 1000).
	CheckpointEvery int
	// CheckpointInterval is the longest time records stay without a checkpoint (default 10s).
	CheckpointInterval time.Duration
	// MaxBatch is the most records committed in one transaction (default 1024).
	MaxBatch int
	// RetryInterval is how often a writer whose last commit failed probes the store, so that
	// Healthy recovers without traffic (default 1s).
	RetryInterval time.Duration
	// MinRetention is the shortest time a record must be kept (the profile minimum);
	// Purge refuses to delete younger records.
	MinRetention time.Duration
	// Now is the clock (default time.Now). It is called from several goroutines.
	Now func() time.Time
}

type appendReq struct {
	rec  Record
	done chan error // nil for a direct append: commit returns its error
}

// storeTimeout bounds one store call.
const storeTimeout = 30 * time.Second

// Writer appends records to one chain with group commit: a single goroutine takes every
// record queued while the previous transaction was committing and commits them together, so
// one fsync serves many requests. Append returns only after its record's transaction has
// committed. Over a store whose appends are cheap (CheapAppender: the journal) each Append
// commits on its own goroutine instead, taking turns with the others.
type Writer struct {
	st   Store
	opts WriterOptions

	reqs    chan appendReq
	stop    chan struct{}
	stopped chan struct{}

	mu       sync.Mutex // guards closed, lastErr
	closed   bool
	lastErr  error
	inflight sync.WaitGroup // Appends between enqueue check and enqueue

	release func() // chain lock, if the store has one

	records, batches, failures atomic.Uint64

	// direct: appends are committed on the caller's goroutine (the store's appends are
	// cheap), not handed to the loop.
	direct bool
	// turn is held (a one-slot channel, so waiting for it can be cancelled) by whoever
	// commits: the loop, or in direct mode an appender. It guards the fields below.
	turn chan struct{}

	seq       uint64
	head      Hash
	resync    bool
	sinceCP   int
	lastCP    time.Time
	lastCPSeq uint64
}

// NewWriter reads chain's head from st and starts the commit goroutine.
func NewWriter(ctx context.Context, st Store, o WriterOptions) (*Writer, error) {
	if o.Chain == "" {
		return nil, errors.New("audit: writer needs a chain id (replica name)")
	}
	if len(o.Signer) != ed25519.PrivateKeySize {
		return nil, errors.New("audit: writer needs an Ed25519 signing key")
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = 1000
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = 10 * time.Second
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1024
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	var release func()
	if l, ok := st.(ChainLocker); ok {
		r, err := l.LockChain(ctx, o.Chain)
		if err != nil {
			return nil, fmt.Errorf("audit: chain %q: %w", o.Chain, err)
		}
		release = r
	}
	seq, head, err := st.Head(ctx, o.Chain)
	if err != nil {
		if release != nil {
			release()
		}
		return nil, fmt.Errorf("audit: read head of chain %q: %w", o.Chain, err)
	}
	w := &Writer{
		st: st, opts: o,
		reqs:    make(chan appendReq, 4*o.MaxBatch),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
		seq:     seq, head: head, release: release,
		lastCP: o.Now(), lastCPSeq: seq,
		turn: make(chan struct{}, 1),
	}
	if c, ok := st.(CheapAppender); ok && c.CheapAppends() {
		w.direct = true
	}
	go w.loop()
	return w, nil
}

// Chain returns the writer's chain id.
func (w *Writer) Chain() string { return w.opts.Chain }

// Append stores rec and returns once the store has it durably. Any failure (store down, disk
// full, read-only database, writer closed) is an *apierr.Error with status 503 and code
// audit_unavailable: the caller must not deliver a response whose record was not stored.
//
// If ctx ends first Append returns an error, but the record may still be committed. Servers
// should pass a context that outlives a client disconnect (context.WithoutCancel) so the
// records of abandoned requests are kept too.
//
// rec's maps and slices are kept, not copied, until the store holds the record (a journal
// stores them later): the caller must not change them after Append.
func (w *Writer) Append(ctx context.Context, rec Record) error {
	rec.clean()
	if err := rec.validate(); err != nil {
		return Unavailable(err)
	}
	if rec.Time.IsZero() {
		rec.Time = w.opts.Now()
	}
	rec.Time = rec.Time.UTC()
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return Unavailable(ErrClosed)
	}
	w.inflight.Add(1)
	w.mu.Unlock()
	if w.direct {
		defer w.inflight.Done()
		select {
		case w.turn <- struct{}{}:
		case <-ctx.Done():
			return Unavailable(fmt.Errorf("audit: append: %w", ctx.Err()))
		}
		var err error
		w.withTurn(func() { err = w.commit(ctx, []appendReq{{rec: rec}}) })
		if err != nil {
			return Unavailable(err)
		}
		return nil
	}
	req := appendReq{rec: rec, done: make(chan error, 1)}
	select {
	case w.reqs <- req:
		w.inflight.Done()
	case <-ctx.Done():
		w.inflight.Done()
		return Unavailable(fmt.Errorf("audit: append: %w", ctx.Err()))
	}
	select {
	case err := <-req.done:
		if err != nil {
			return Unavailable(err)
		}
		return nil
	case <-ctx.Done():
		return Unavailable(fmt.Errorf("audit: waiting for commit: %w", ctx.Err()))
	}
}

// Stats are counters for metrics.
type Stats struct {
	Records  uint64 // records committed
	Batches  uint64 // transactions committed (Records/Batches is the group-commit factor)
	Failures uint64 // batches that failed (their appends returned audit_unavailable)
}

// Stats returns the counters since NewWriter.
func (w *Writer) Stats() Stats {
	return Stats{Records: w.records.Load(), Batches: w.batches.Load(), Failures: w.failures.Load()}
}

// Healthy returns nil if the last commit succeeded (or none was tried), else the error
// that made it fail. For /readyz.
func (w *Writer) Healthy() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return Unavailable(ErrClosed)
	}
	if w.lastErr != nil {
		return Unavailable(w.lastErr)
	}
	// A store that acknowledges before its data reaches the database (journal.Journal)
	// knows of a failure before the writer's next commit does.
	if h, ok := w.st.(interface{ Healthy() error }); ok {
		if err := h.Healthy(); err != nil {
			return Unavailable(err)
		}
	}
	return nil
}

// Close stops accepting records, commits everything queued, writes a final checkpoint and
// stops the commit goroutine. It returns the error of the final commit, if any.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.stopped
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	w.inflight.Wait() // no Append is between the closed check and the channel send
	close(w.stop)
	<-w.stopped
	if w.release != nil {
		w.release()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}

func (w *Writer) setErr(err error) {
	w.mu.Lock()
	w.lastErr = err
	w.mu.Unlock()
}

func (w *Writer) failing() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr != nil
}

func (w *Writer) loop() {
	defer close(w.stopped)
	tick := time.NewTicker(min(w.opts.CheckpointInterval, w.opts.RetryInterval))
	defer tick.Stop()
	batch := make([]appendReq, 0, w.opts.MaxBatch)
	for {
		select {
		case r := <-w.reqs:
			batch = append(batch[:0], r)
			batch = w.drain(batch)
			w.turn <- struct{}{}
			w.withTurn(func() { w.commit(context.Background(), batch) })
		case <-tick.C:
			w.turn <- struct{}{}
			w.withTurn(w.idle)
		case <-w.stop:
			// Close waited for every append: nothing else takes a turn any more.
			for {
				batch = w.drain(batch[:0])
				if len(batch) == 0 {
					break
				}
				w.commit(context.Background(), batch)
			}
			if w.seq > w.lastCPSeq {
				w.setErr(w.checkpointOnly())
			}
			return
		}
	}
}

// drain adds every request already queued, up to MaxBatch.
func (w *Writer) drain(batch []appendReq) []appendReq {
	for len(batch) < w.opts.MaxBatch {
		select {
		case r := <-w.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// idle writes a time-based checkpoint, or probes the store after a failure.
func (w *Writer) idle() {
	now := w.opts.Now()
	if w.failing() {
		if err := w.sync(context.Background()); err != nil {
			w.setErr(err)
			return
		}
		if w.seq > 0 {
			w.setErr(w.checkpointOnly()) // a real write: proves the store accepts writes again
		} else {
			w.setErr(nil)
		}
		return
	}
	if w.seq > w.lastCPSeq && now.Sub(w.lastCP) >= w.opts.CheckpointInterval {
		w.setErr(w.checkpointOnly())
	}
}

// sync re-reads the head after a failed commit: the commit may have succeeded after all
// (a connection lost during COMMIT), or another writer may have moved the chain.
func (w *Writer) sync(ctx context.Context) error {
	if !w.resync {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	seq, head, err := w.st.Head(ctx, w.opts.Chain)
	if err != nil {
		return fmt.Errorf("audit: re-read head: %w", err)
	}
	w.seq, w.head, w.resync = seq, head, false
	return nil
}

func (w *Writer) checkpoint(seq uint64, hash Hash, now time.Time) Checkpoint {
	cp := Checkpoint{Chain: w.opts.Chain, Seq: seq, Hash: hash, Time: now.UTC()}
	cp.Sign(w.opts.Signer)
	return cp
}

func (w *Writer) checkpointOnly() error {
	now := w.opts.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cp := w.checkpoint(w.seq, w.head, now)
	if err := w.st.AppendBatch(ctx, nil, []Checkpoint{cp}); err != nil {
		return fmt.Errorf("audit: write checkpoint: %w", err)
	}
	w.sinceCP, w.lastCP, w.lastCPSeq = 0, now, w.seq
	return nil
}

// withTurn runs f, which the caller took the turn for, and gives the turn back even if f
// panics (a store that panics inside a server's recovered handler must not leave every
// later append waiting for a turn that never comes).
func (w *Writer) withTurn(f func()) {
	defer func() { <-w.turn }()
	f()
}

// commit chains, stores and acknowledges one batch; ctx bounds the store call. It returns
// the batch's error too, for a direct append (whose request has no done channel).
func (w *Writer) commit(ctx context.Context, batch []appendReq) error {
	err := w.sync(ctx)
	if err == nil {
		err = w.commitChained(ctx, batch)
	}
	switch {
	case err != nil && w.direct && ctx.Err() != nil && errors.Is(err, ctx.Err()):
		// The appender gave up waiting (its context ended while the store was busy, e.g.
		// a full journal backlog): its record was not stored, which a cheap store
		// guarantees (CheapAppender), and the store is not failing. Nothing to resync, no
		// failure to report on /readyz.
	case err != nil:
		w.resync = true
		w.failures.Add(1)
		w.setErr(err)
	default:
		w.records.Add(uint64(len(batch)))
		w.batches.Add(1)
		w.setErr(nil)
	}
	for _, r := range batch {
		if r.done != nil {
			r.done <- err
		}
	}
	return err
}

func (w *Writer) commitChained(ctx context.Context, batch []appendReq) error {
	recs := make([]Record, len(batch))
	canon := make([][]byte, len(batch))
	seq, prev := w.seq, w.head
	for i, r := range batch {
		rec := r.rec
		seq++
		rec.Chain, rec.Seq, rec.PrevHash = w.opts.Chain, seq, prev
		canon[i] = rec.appendCanonical(make([]byte, 0, canonicalCap))
		h := sha256.Sum256(canon[i])
		rec.Hash = h[:]
		recs[i] = rec
		prev = rec.Hash
	}
	now := w.opts.Now()
	var cps []Checkpoint
	if w.sinceCP+len(recs) >= w.opts.CheckpointEvery || now.Sub(w.lastCP) >= w.opts.CheckpointInterval {
		cps = []Checkpoint{w.checkpoint(seq, prev, now)}
	}
	if d, ok := ctx.Deadline(); !ok || time.Until(d) > storeTimeout {
		// (An appender's context has its own, shorter bound: no second timer for it.)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, storeTimeout)
		defer cancel()
	}
	var err error
	if e, ok := w.st.(EncodedAppender); ok {
		err = e.AppendEncoded(ctx, recs, canon, cps)
	} else {
		err = w.st.AppendBatch(ctx, recs, cps)
	}
	if err != nil {
		return fmt.Errorf("audit: commit %d records: %w", len(recs), err)
	}
	w.seq, w.head = seq, prev
	w.sinceCP += len(recs)
	if cps != nil {
		w.sinceCP, w.lastCP, w.lastCPSeq = 0, now, seq
	}
	return nil
}
