package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Export writes records of every chain as JSON Lines, one Record per line, ordered by chain
// and seq, and returns how many it wrote. For each chain it writes the contiguous seq range
// from its first record with Time >= from to its last record with Time < to, so a record
// with an out-of-order time inside that range is included, and any gap in an export is a
// deletion. Each line carries seq, prev_hash and hash; byte fields are lowercase hex, times
// RFC 3339 in UTC.
func Export(ctx context.Context, st Store, w io.Writer, from, to time.Time) (int64, error) {
	if !from.Before(to) {
		return 0, fmt.Errorf("audit: export: --from %s is not before --to %s",
			from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	// Pass 1: the seq range of each chain within the time range.
	type span struct{ lo, hi uint64 }
	spans := map[string]*span{}
	var chains []string
	err := st.RecordsByTime(ctx, from, to, func(r Record) error {
		sp := spans[r.Chain]
		if sp == nil {
			spans[r.Chain] = &span{r.Seq, r.Seq}
			chains = append(chains, r.Chain)
			return nil
		}
		sp.lo, sp.hi = min(sp.lo, r.Seq), max(sp.hi, r.Seq)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("audit: export: %w", err)
	}
	// Pass 2: each range in seq order.
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	var n int64
	for _, c := range chains {
		sp := spans[c]
		err := st.Records(ctx, c, sp.lo, func(r Record) error {
			if r.Seq > sp.hi {
				return errStop
			}
			r.Time = r.Time.UTC()
			if err := enc.Encode(&r); err != nil {
				return err
			}
			n++
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			return n, fmt.Errorf("audit: export %q: %w", c, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("audit: export: %w", err)
	}
	return n, nil
}

var errStop = errors.New("audit: stop iteration")

// ExportCheckpoints writes every checkpoint and anchor of every chain as JSON Lines, so that
// an export can be checked against signatures (VerifyExport) by someone without database
// access. It returns how many it wrote.
func ExportCheckpoints(ctx context.Context, st Store, w io.Writer) (int64, error) {
	chains, err := st.Chains(ctx)
	if err != nil {
		return 0, fmt.Errorf("audit: export checkpoints: %w", err)
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	var n int64
	for _, c := range chains {
		cps, err := st.Checkpoints(ctx, c)
		if err != nil {
			return n, fmt.Errorf("audit: export checkpoints: %w", err)
		}
		for _, cp := range cps {
			cp.Time = cp.Time.UTC()
			if err := enc.Encode(&cp); err != nil {
				return n, fmt.Errorf("audit: export checkpoints: %w", err)
			}
			n++
		}
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("audit: export checkpoints: %w", err)
	}
	return n, nil
}

// ExportReport is the outcome of VerifyExport.
type ExportReport struct {
	Records int64 `json:"records"`
	// Links is the number of records whose predecessor is also in the export and matched.
	Links int64 `json:"links"`
	// Signed is the number of exported records whose hash a valid checkpoint confirms.
	Signed   int64     `json:"signed"`
	Problems []Problem `json:"problems"`
}

// OK reports whether no problem was found.
func (r *ExportReport) OK() bool { return len(r.Problems) == 0 }

// VerifyExport checks an export offline: every record re-hashes to its hash; the records of
// each chain are contiguous in seq and each links to the one before it; and, if checkpoints
// (from ExportCheckpoints) are given, every checkpoint signature verifies against keys and
// every exported record at a checkpoint's seq has the signed hash. The first record of each
// chain cannot be linked to the records before the export; checkpoints inside the range are
// what tie the export to the signed log.
func VerifyExport(records io.Reader, checkpoints io.Reader, keys ...ed25519.PublicKey) (ExportReport, error) {
	var rep ExportReport
	add := func(chain string, seq uint64, kind ProblemKind, format string, args ...any) {
		if len(rep.Problems) < maxProblems {
			rep.Problems = append(rep.Problems, Problem{Chain: chain, Seq: seq, Kind: kind, Message: fmt.Sprintf(format, args...)})
		}
	}
	signed := map[string]map[uint64]Hash{}
	if checkpoints != nil {
		if len(keys) == 0 {
			return rep, errors.New("audit: verify export: checkpoints need the public key")
		}
		sc := bufio.NewScanner(checkpoints)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for line := 1; sc.Scan(); line++ {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			var cp Checkpoint
			if err := json.Unmarshal(sc.Bytes(), &cp); err != nil {
				return rep, fmt.Errorf("audit: verify export: checkpoints line %d: %w", line, err)
			}
			if !cp.VerifySignature(keys...) {
				add(cp.Chain, cp.Seq, BadCheckpoint, "the checkpoint's signature does not verify")
				continue
			}
			if signed[cp.Chain] == nil {
				signed[cp.Chain] = map[uint64]Hash{}
			}
			signed[cp.Chain][cp.Seq] = cp.Hash
		}
		if err := sc.Err(); err != nil {
			return rep, fmt.Errorf("audit: verify export: checkpoints: %w", err)
		}
	}
	last := map[string]Record{} // the previous record seen of each chain
	sc := bufio.NewScanner(records)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return rep, fmt.Errorf("audit: verify export: line %d: %w", line, err)
		}
		rep.Records++
		if h, err := r.ComputeHash(); err != nil || !bytes.Equal(h, r.Hash) {
			add(r.Chain, r.Seq, Edited, "line %d: the record does not match its hash", line)
		}
		if p, ok := last[r.Chain]; ok {
			switch {
			case r.Seq <= p.Seq:
				add(r.Chain, r.Seq, Reordered, "line %d: seq %d comes after seq %d", line, r.Seq, p.Seq)
			case r.Seq > p.Seq+1:
				add(r.Chain, p.Seq+1, Deleted, "line %d: records %d..%d are missing from the export", line, p.Seq+1, r.Seq-1)
			case bytes.Equal(r.PrevHash, p.Hash):
				rep.Links++
			default:
				add(r.Chain, r.Seq, Deleted, "line %d: the record does not link to record %d before it", line, p.Seq)
			}
		}
		if h, ok := signed[r.Chain][r.Seq]; ok {
			if bytes.Equal(h, r.Hash) {
				rep.Signed++
			} else {
				add(r.Chain, r.Seq, BadCheckpoint, "line %d: the record's hash differs from the signed checkpoint", line)
			}
		}
		last[r.Chain] = r
	}
	if err := sc.Err(); err != nil {
		return rep, fmt.Errorf("audit: verify export: %w", err)
	}
	return rep, nil
}
