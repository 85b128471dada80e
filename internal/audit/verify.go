package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ProblemKind names what verification found.
type ProblemKind string

// Kinds of problems Verify reports.
const (
	Edited        ProblemKind = "edited"     // a record's content no longer matches its hash
	Deleted       ProblemKind = "deleted"    // records are missing (gap, cut prefix or tail)
	Inserted      ProblemKind = "inserted"   // a record that no other record links to
	Reordered     ProblemKind = "reordered"  // a record links to one stored elsewhere
	BadCheckpoint ProblemKind = "checkpoint" // a signed checkpoint is invalid or does not match
)

// Problem is one finding, located by chain and seq.
type Problem struct {
	Chain   string      `json:"chain"`
	Seq     uint64      `json:"seq"`
	Kind    ProblemKind `json:"kind"`
	Message string      `json:"message"`
}

func (p Problem) String() string {
	return fmt.Sprintf("chain %q seq %d: %s: %s", p.Chain, p.Seq, p.Kind, p.Message)
}

// ChainReport summarises one chain.
type ChainReport struct {
	Chain    string `json:"chain"`
	Records  int64  `json:"records"`
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	// AnchorSeq is the seq of the signed retention anchor the chain resumes after (0: none).
	AnchorSeq   uint64 `json:"anchor_seq,omitempty"`
	Checkpoints int    `json:"checkpoints"`
	// SignedSeq is the highest seq covered by a valid checkpoint. Records after it are
	// protected by the hash chain only: someone with write access to the database could cut
	// or rewrite them undetected until the next checkpoint.
	SignedSeq uint64 `json:"signed_seq"`
}

// Report is the outcome of Verify.
type Report struct {
	Chains   []ChainReport `json:"chains"`
	Problems []Problem     `json:"problems"`
	// Truncated is set when more problems were found than are listed.
	Truncated bool `json:"truncated,omitempty"`
}

// OK reports whether no problem was found.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// First returns the first problem (lowest chain, then seq).
func (r *Report) First() (Problem, bool) {
	if len(r.Problems) == 0 {
		return Problem{}, false
	}
	return r.Problems[0], true
}

// String is a human summary: one line per chain, then one per problem.
func (r *Report) String() string {
	var b strings.Builder
	for _, c := range r.Chains {
		fmt.Fprintf(&b, "chain %q: %d records, seq %d..%d, %d checkpoints, signed through %d",
			c.Chain, c.Records, c.FirstSeq, c.LastSeq, c.Checkpoints, c.SignedSeq)
		if c.AnchorSeq > 0 {
			fmt.Fprintf(&b, ", resumes after retention anchor at %d", c.AnchorSeq)
		}
		b.WriteByte('\n')
	}
	if r.OK() {
		b.WriteString("OK: no tampering found\n")
	}
	for _, p := range r.Problems {
		b.WriteString("FAIL " + p.String() + "\n")
	}
	if r.Truncated {
		b.WriteString("(more problems not listed)\n")
	}
	return b.String()
}

// maxProblems bounds a report (and the memory of the second pass).
const maxProblems = 100

// Verify checks every chain in st: each record's hash, each link, the seq sequence, and every
// checkpoint's signature (against keys) and hash. It returns an error only if the store
// cannot be read; tampering is reported in Report.Problems.
func Verify(ctx context.Context, st Store, keys ...ed25519.PublicKey) (Report, error) {
	var rep Report
	if len(keys) == 0 {
		return rep, errors.New("audit: verify needs the checkpoint public key")
	}
	chains, err := st.Chains(ctx)
	if err != nil {
		return rep, fmt.Errorf("audit: verify: list chains: %w", err)
	}
	for _, chain := range chains {
		cr, probs, err := verifyChain(ctx, st, chain, keys)
		if err != nil {
			return rep, err
		}
		rep.Chains = append(rep.Chains, cr)
		for _, p := range probs {
			if len(rep.Problems) >= maxProblems {
				rep.Truncated = true
				break
			}
			rep.Problems = append(rep.Problems, p)
		}
	}
	return rep, nil
}

// pendingLink is a broken link resolved by the second pass: is the record it points to
// somewhere else in the chain (reordered) or nowhere (deleted)?
type pendingLink struct {
	seq  uint64
	prev Hash
}

type chainWalk struct {
	chain   string
	cr      ChainReport
	probs   []Problem
	cps     map[uint64]Checkpoint // valid, non-anchor checkpoints by seq
	anchors map[uint64]Checkpoint // valid anchors by seq
	pending []pendingLink

	p       *Record // last accepted record
	seen    uint64  // seq of the last record judged, accepted or not
	started bool
	// want, when set, overrides p.Hash as the link the next record must carry (after a
	// swapped pair, the record after the pair links to the first of them).
	want Hash
	// skipLink skips the link check of the next record (the second of a swapped pair).
	skipLink bool
	// reloadAnchors re-reads the anchors once.
	reloadAnchors func()
}

func (w *chainWalk) add(seq uint64, kind ProblemKind, format string, args ...any) {
	if len(w.probs) < maxProblems {
		w.probs = append(w.probs, Problem{Chain: w.chain, Seq: seq, Kind: kind, Message: fmt.Sprintf(format, args...)})
	}
}

func verifyChain(ctx context.Context, st Store, chain string, keys []ed25519.PublicKey) (ChainReport, []Problem, error) {
	w := &chainWalk{chain: chain, cr: ChainReport{Chain: chain},
		cps: map[uint64]Checkpoint{}, anchors: map[uint64]Checkpoint{}}
	cps, err := st.Checkpoints(ctx, chain)
	if err != nil {
		return w.cr, nil, fmt.Errorf("audit: verify: read checkpoints of %q: %w", chain, err)
	}
	w.cr.Checkpoints = len(cps)
	for _, cp := range cps {
		if !cp.VerifySignature(keys...) {
			w.add(cp.Seq, BadCheckpoint, "the signature of the checkpoint made at %s does not verify: it was forged or altered, or the public key is wrong",
				cp.Time.UTC().Format("2006-01-02T15:04:05Z"))
			continue
		}
		if cp.Anchor {
			w.anchors[cp.Seq] = cp
		} else {
			w.cps[cp.Seq] = cp
		}
	}

	w.reloadAnchors = func() {
		w.reloadAnchors = nil
		cps, err := st.Checkpoints(ctx, chain)
		if err != nil {
			return // the first read's view stands; the missing anchor is reported
		}
		for _, cp := range cps {
			if cp.Anchor && cp.VerifySignature(keys...) {
				w.anchors[cp.Seq] = cp
			}
		}
	}

	// First pass, with one record of look-ahead: the record at i is judged when i+1 arrives.
	var cur *Record
	err = st.Records(ctx, chain, 0, func(next Record) error {
		if cur != nil {
			w.judge(cur, &next)
		}
		n := next
		cur = &n
		return nil
	})
	if err != nil {
		return w.cr, nil, fmt.Errorf("audit: verify: read records of %q: %w", chain, err)
	}
	if cur != nil {
		w.judge(cur, nil)
	}

	// Checkpoints beyond the last record: the tail was cut.
	for seq := range w.cps {
		if seq > w.cr.LastSeq {
			w.add(seq, Deleted, "a signed checkpoint covers seq %d but the chain ends at seq %d: records were deleted from the end",
				seq, w.cr.LastSeq)
		}
	}
	if w.cr.Records == 0 && len(w.anchors) == 0 && len(w.cps) > 0 {
		w.add(0, Deleted, "the chain has signed checkpoints but no records")
	}

	if err := w.resolve(ctx, st); err != nil {
		return w.cr, nil, err
	}
	// By seq; at one seq the specific finding comes before the checkpoint that it also breaks.
	sort.SliceStable(w.probs, func(i, j int) bool {
		a, b := w.probs[i], w.probs[j]
		if a.Seq != b.Seq {
			return a.Seq < b.Seq
		}
		return a.Kind != BadCheckpoint && b.Kind == BadCheckpoint
	})
	return w.cr, w.probs, nil
}

// judge checks record r given the last accepted record and the next record (nil at the end).
func (w *chainWalk) judge(r, next *Record) {
	w.cr.Records++
	if !w.started {
		w.cr.FirstSeq = r.Seq
	}
	w.cr.LastSeq = r.Seq

	accept := true
	defer func() {
		w.seen = r.Seq
		if accept {
			w.p = r
			if cp, ok := w.cps[r.Seq]; ok {
				if !bytes.Equal(cp.Hash, r.Hash) {
					w.add(r.Seq, BadCheckpoint, "the record's hash differs from the one signed in the checkpoint made at %s: this record or an earlier one was rewritten and re-hashed",
						cp.Time.UTC().Format("2006-01-02T15:04:05Z"))
				} else if r.Seq > w.cr.SignedSeq {
					w.cr.SignedSeq = r.Seq
				}
			}
		}
	}()

	if r.Corrupt != "" {
		w.add(r.Seq, Edited, "the record was changed: %s", r.Corrupt)
	} else if h, err := r.ComputeHash(); err != nil || !bytes.Equal(h, r.Hash) {
		w.add(r.Seq, Edited, "the record's content was changed: it no longer matches its hash")
	}

	if !w.started {
		w.started = true
		var want Hash
		if r.Seq > 1 {
			a, ok := w.anchors[r.Seq-1]
			if !ok && w.reloadAnchors != nil {
				// A purge may have run between reading the checkpoints and the records.
				w.reloadAnchors()
				a, ok = w.anchors[r.Seq-1]
			}
			if !ok {
				if r.Seq == 2 {
					w.add(r.Seq, Deleted, "record 1 is missing and no signed retention anchor covers it")
				} else {
					w.add(r.Seq, Deleted, "records 1..%d are missing and no signed retention anchor covers them", r.Seq-1)
				}
				return
			}
			w.cr.AnchorSeq = a.Seq
			w.cr.SignedSeq = a.Seq
			want = a.Hash
		}
		w.link(r, next, want, &accept)
		return
	}

	if w.skipLink {
		w.skipLink = false
		return
	}
	if r.Seq != w.seen+1 {
		if r.Seq == w.seen+2 {
			w.add(w.seen+1, Deleted, "record %d is missing", w.seen+1)
		} else {
			w.add(w.seen+1, Deleted, "records %d..%d are missing", w.seen+1, r.Seq-1)
		}
		return
	}
	want := w.p.Hash
	if w.want != nil {
		want, w.want = w.want, nil
	}
	w.link(r, next, want, &accept)
}

// link checks that r links to want (the hash of the record before it).
func (w *chainWalk) link(r, next *Record, want Hash, accept *bool) {
	if bytes.Equal(r.PrevHash, want) {
		return
	}
	if next != nil && next.Seq == r.Seq+1 && bytes.Equal(r.PrevHash, next.Hash) && bytes.Equal(next.PrevHash, want) {
		w.add(r.Seq, Reordered, "records %d and %d are stored in swapped order", r.Seq, next.Seq)
		w.skipLink, w.want = true, r.Hash
		return
	}
	if w.p != nil && w.p.Seq+1 == r.Seq && bytes.Equal(r.PrevHash, w.p.PrevHash) {
		w.add(w.p.Seq, Inserted, "the record does not belong to the chain: record %d links directly to %s", r.Seq, linkName(w.p.Seq-1))
		return
	}
	if next != nil && next.Seq == r.Seq+1 && bytes.Equal(next.PrevHash, want) {
		*accept = false
		w.add(r.Seq, Inserted, "the record does not belong to the chain: record %d links directly to %s", next.Seq, linkName(r.Seq-1))
		return
	}
	if len(w.pending) < maxProblems {
		w.pending = append(w.pending, pendingLink{seq: r.Seq, prev: r.PrevHash})
	}
}

// resolve classifies the broken links found in the first pass with a second pass over the
// chain that looks for the records they point to.
func (w *chainWalk) resolve(ctx context.Context, st Store) error {
	if len(w.pending) == 0 {
		return nil
	}
	where := map[string]uint64{}
	for _, pl := range w.pending {
		where[string(pl.prev)] = 0
	}
	err := st.Records(ctx, w.chain, 0, func(r Record) error {
		if _, ok := where[string(r.Hash)]; ok {
			where[string(r.Hash)] = r.Seq
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("audit: verify: second pass over %q: %w", w.chain, err)
	}
	for _, pl := range w.pending {
		if at := where[string(pl.prev)]; at != 0 {
			w.add(pl.seq, Reordered, "the record links to record %d, not to record %d: records were moved", at, pl.seq-1)
		} else if w.cr.SignedSeq >= pl.seq {
			// A later checkpoint still matches, so nothing was renumbered: the record before
			// this one was rewritten and given a fresh hash.
			w.add(pl.seq-1, Edited, "the record was rewritten and re-hashed: record %d links to its original hash, and a later signed checkpoint rules out deletion", pl.seq)
		} else {
			w.add(pl.seq, Deleted, "the record links to a record that is not in the log: records before it were deleted (and later ones renumbered), or record %d was rewritten and re-hashed", pl.seq-1)
		}
	}
	return nil
}

func linkName(seq uint64) string {
	if seq == 0 {
		return "the start of the chain"
	}
	return fmt.Sprintf("record %d", seq)
}
