package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strconv"
	"time"
)

// PurgeChain deletes chain's records older than before, keeping the rest verifiable: the
// hash of the last deleted record is kept in an anchor checkpoint signed with signer, so
// the remaining chain may start there. Only a prefix of the chain is deleted: a record
// older than before that follows a younger one is kept until that one expires too.
// It returns the number of records deleted and the anchor's seq (0 if nothing was old enough).
func PurgeChain(ctx context.Context, st Store, signer ed25519.PrivateKey, chain string, before, now time.Time) (int64, uint64, error) {
	seq, hash, err := st.PurgePoint(ctx, chain, before)
	if err != nil {
		return 0, 0, fmt.Errorf("audit: purge %q: %w", chain, err)
	}
	if seq == 0 {
		return 0, 0, nil
	}
	a := Checkpoint{Chain: chain, Seq: seq, Hash: hash, Time: now.UTC(), Anchor: true}
	a.Sign(signer)
	n, err := st.Purge(ctx, a)
	if err != nil {
		return 0, 0, fmt.Errorf("audit: purge %q through seq %d: %w", chain, seq, err)
	}
	return n, seq, nil
}

// Purge deletes the records of every chain older than before, refusing a cut-off that would
// delete records younger than the writer's MinRetention, and appends an admin record of the
// purge to the writer's chain. Chains of other replicas are purged too (their writers keep
// running: only records at or before the anchor are touched). It returns the number of
// records deleted; a purge that deletes nothing is not recorded.
func (w *Writer) Purge(ctx context.Context, before time.Time) (int64, error) {
	now := w.opts.Now()
	if limit := now.Add(-w.opts.MinRetention); before.After(limit) {
		return 0, fmt.Errorf("audit: purge refused: records must be kept at least %s; the cut-off %s is later than %s",
			fmtDays(w.opts.MinRetention), before.UTC().Format(time.RFC3339), limit.UTC().Format(time.RFC3339))
	}
	chains, err := w.st.Chains(ctx)
	if err != nil {
		return 0, fmt.Errorf("audit: purge: %w", err)
	}
	var total int64
	details := map[string]string{"action": "retention_purge", "before": before.UTC().Format(time.RFC3339Nano)}
	for _, c := range chains {
		n, seq, err := PurgeChain(ctx, w.st, w.opts.Signer, c, before, now)
		if err != nil {
			return total, err
		}
		total += n
		if n > 0 && len(details) < maxDetails-1 {
			details["anchor:"+c] = strconv.FormatUint(seq, 10)
		}
	}
	if total == 0 {
		return 0, nil // nothing changed, nothing to record
	}
	details["deleted"] = strconv.FormatInt(total, 10)
	if err := w.Append(ctx, Record{Kind: KindAdmin, Details: details}); err != nil {
		return total, fmt.Errorf("audit: record the purge: %w", err)
	}
	return total, nil
}

func fmtDays(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + " days"
	}
	return d.String()
}

// PurgeExpired purges the records older than the writer's MinRetention (the configured
// retention). Run it periodically, e.g. daily.
func (w *Writer) PurgeExpired(ctx context.Context) (int64, error) {
	if w.opts.MinRetention <= 0 {
		return 0, fmt.Errorf("audit: purge refused: no retention period is configured")
	}
	return w.Purge(ctx, w.opts.Now().Add(-w.opts.MinRetention))
}
