package journal

import (
	"errors"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/audit"
)

// FuzzDecodeFrames: replay reads whatever a crash or a disk left; it must never panic, and
// what it accepts must be what was framed.
func FuzzDecodeFrames(f *testing.F) {
	rec := audit.Record{Seq: 1, Chain: "c", Kind: audit.KindRequest, Request: "r", Time: time.Unix(1764000000, 5).UTC()}
	rec.Hash, _ = rec.ComputeHash()
	whole, _ := encodeFrame([]audit.Record{rec}, nil, []audit.Checkpoint{{Chain: "c", Seq: 1, Hash: rec.Hash, Time: rec.Time}})
	if batches, _, err := decodeFrames(whole); err != nil || len(batches) != 1 || len(batches[0].recs) != 1 {
		f.Fatalf("a whole frame does not decode: %v", err)
	}
	f.Add(whole)
	f.Add(append(append([]byte{}, whole...), whole[:11]...))
	f.Add([]byte{255, 255, 255, 255, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		batches, good, err := decodeFrames(data)
		if good > len(data) || (err == nil && good != len(data)) {
			t.Fatalf("good = %d of %d bytes, err %v", good, len(data), err)
		}
		if errors.Is(err, errTorn) && good == len(data) {
			t.Fatal("torn with nothing left over")
		}
		// Re-framing what was decoded decodes to the same batches.
		var again []byte
		for _, b := range batches {
			fr, err := encodeFrame(b.recs, nil, b.cps)
			if err != nil {
				t.Fatal(err)
			}
			again = append(again, fr...)
		}
		back, _, err := decodeFrames(again)
		if err != nil || len(back) != len(batches) {
			t.Fatalf("re-framed %d batches decode to %d: %v", len(batches), len(back), err)
		}
	})
}
