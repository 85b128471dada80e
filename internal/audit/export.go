package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Export writes the records with from <= Time < to, of every chain, as JSON Lines (one
// Record per line, ordered by time, chain, seq) and returns how many it wrote. Each line
// carries seq, prev_hash and hash, so a reader can re-check the links of consecutive
// records of a chain; byte fields are lowercase hex, times RFC 3339 in UTC.
func Export(ctx context.Context, st Store, w io.Writer, from, to time.Time) (int64, error) {
	if !from.Before(to) {
		return 0, fmt.Errorf("audit: export: --from %s is not before --to %s",
			from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	var n int64
	err := st.RecordsByTime(ctx, from, to, func(r Record) error {
		r.Time = r.Time.UTC()
		if err := enc.Encode(&r); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("audit: export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("audit: export: %w", err)
	}
	return n, nil
}
