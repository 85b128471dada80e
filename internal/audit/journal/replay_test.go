package journal_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/audit"
	"github.com/qiao-gateway/qiao/internal/audit/journal"
	"github.com/qiao-gateway/qiao/internal/store/storetest"
)

// refusing holds every AppendBatch until open is closed, then refuses it.
type refusing struct {
	audit.Store
	open chan struct{}
}

func (r refusing) AppendBatch(ctx context.Context, _ []audit.Record, _ []audit.Checkpoint) error {
	select {
	case <-r.open:
	case <-ctx.Done():
	}
	return errors.New("refused")
}

// crashed journals n records (one frame each) that never reach db, then crashes. It
// returns the journal directory.
func crashed(t *testing.T, db audit.Store, n int) string {
	t.Helper()
	dir := t.TempDir()
	st := refusing{Store: db, open: make(chan struct{})}
	defer close(st.open)
	j, err := journal.Open(t.Context(), st, journal.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	w, err := audit.NewWriter(t.Context(), j, audit.WriterOptions{Chain: "r1", Signer: signer, CheckpointEvery: 4})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.Append(t.Context(), record(i)); err != nil {
			t.Fatal(err)
		}
	}
	j.Crash()
	return dir
}

func TestReplay(t *testing.T) {
	db := openDB(t)
	dir := crashed(t, db, 10)
	if got := stored(t, db); len(got) != 0 {
		t.Fatalf("the store holds %d records before replay: the test does not test anything", len(got))
	}
	j := open(t, db, journal.Options{Dir: dir})
	if j.Replayed() != 10 {
		t.Errorf("Replayed() = %d, want 10", j.Replayed())
	}
	if got := stored(t, db); len(got) != 10 || got[9] != "req-0009" {
		t.Fatalf("after replay the store holds %v, want req-0000..req-0009", got)
	}
	if s := segments(t, dir); len(s) != 1 {
		t.Errorf("segments after replay: %v, want only the new one", s)
	}
	// The chain goes on from the replayed head.
	w := writer(t, j, 0)
	if err := w.Append(t.Context(), record(10)); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, j); len(got) != 11 {
		t.Fatalf("%d records, want 11", len(got))
	}
}

// TestReplayAlreadyStored: a crash after the store took the records but before their
// segment was deleted replays nothing twice.
func TestReplayAlreadyStored(t *testing.T) {
	db := openDB(t)
	dir := t.TempDir()
	j, err := journal.Open(t.Context(), db, journal.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	w, err := audit.NewWriter(t.Context(), j, audit.WriterOptions{Chain: "r1", Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if err := w.Append(t.Context(), record(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	j.Crash()
	if s := segments(t, dir); len(s) == 0 {
		t.Fatal("no segment left to replay: the test does not test anything")
	}
	open(t, db, journal.Options{Dir: dir})
	if got := stored(t, db); len(got) != 6 {
		t.Fatalf("%d records after replaying stored ones, want 6", len(got))
	}
}

// editNewest replaces the newest segment in dir with what edit makes of it.
func editNewest(t *testing.T, dir string, edit func(data []byte) []byte) {
	t.Helper()
	segs := segments(t, dir)
	path := segs[len(segs)-1]
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, edit(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// frameEnds returns the offset just past each whole frame at the start of data (a header
// of zeros ends them: the preallocated tail). The tests here journal five.
func frameEnds(data []byte) []int {
	var ends []int
	for end := 0; end+8 <= len(data); {
		n := int(binary.LittleEndian.Uint32(data[end:]))
		if n == 0 {
			break
		}
		end += 8 + n
		ends = append(ends, end)
	}
	return ends
}

// TestReplayTornTail: what a crash can leave after the last whole frame of the newest
// segment is cut off, and every whole frame before it is replayed: a frame cut short (a
// header announcing 100 bytes and 20 of them) at the end of the file, as a write(2) leaves
// it, or followed by the zeros of a preallocated segment, as a copy into the mapping leaves
// it; or zeros only, where a power cut left the file extended over an unsynced write.
func TestReplayTornTail(t *testing.T) {
	cut := append([]byte{100, 0, 0, 0, 1, 2, 3, 4}, `{"records":[{"seq":6`...)
	for _, tc := range []struct {
		name  string
		tail  []byte
		zeros int // after the tail
	}{
		{"cut short", cut, 0},
		{"cut short, preallocated", cut, 4096},
		{"header cut short, preallocated", cut[:2], 4096},
		{"zeros", nil, 700},
	} {
		db := openDB(t)
		dir := crashed(t, db, 5)
		editNewest(t, dir, func(data []byte) []byte {
			data = data[:frameEnds(data)[4]] // the frames the journal wrote
			return append(append(data, tc.tail...), make([]byte, tc.zeros)...)
		})
		open(t, db, journal.Options{Dir: dir})
		if got := stored(t, db); len(got) != 5 {
			t.Errorf("%s: %d records after a torn tail, want the 5 whole ones", tc.name, len(got))
		}
	}
}

// TestReplayCopyCutShortOutOfOrder: an append into a mapped segment that kill -9 cut short
// can leave the frame's body without its header (copy does not store in address order;
// copyFrame stores the header last), followed by the preallocated zeros. The frame was never
// acknowledged and the five before it were: replay keeps the five and starts.
func TestReplayCopyCutShortOutOfOrder(t *testing.T) {
	db := openDB(t)
	dir := crashed(t, db, 5)
	editNewest(t, dir, func(data []byte) []byte {
		ends := frameEnds(data)
		last, end := data[ends[3]:ends[4]], ends[4] // end: where the next copy would go
		if end+len(last) > len(data) {
			t.Fatalf("no room after the frames in a %d-byte segment: the test does not test anything", len(data))
		}
		// A sixth frame like the last, every byte but its header and its last 128 stored.
		copy(data[end+8:end+len(last)-128], last[8:len(last)-128])
		return data
	})
	open(t, db, journal.Options{Dir: dir})
	if got := stored(t, db); len(got) != 5 {
		t.Errorf("%d records, want the 5 acknowledged ones", len(got))
	}
}

// TestReplayZeroedHeaderIsDamage: a header of zeros with whole frames after it is not a copy
// cut short (that is always the last frame) but damage: replay stops with an error naming
// it rather than drop the acknowledged frames that follow.
func TestReplayZeroedHeaderIsDamage(t *testing.T) {
	db := openDB(t)
	dir := crashed(t, db, 5)
	editNewest(t, dir, func(data []byte) []byte {
		third := frameEnds(data)[1]
		clear(data[third : third+8]) // its header
		return data
	})
	_, err := journal.Open(t.Context(), db, journal.Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "header of zeros") {
		t.Fatalf("Open with a zeroed header before whole frames = %v, want an error naming it", err)
	}
}

// TestLeftoverIdleCrash: a process killed before its first append leaves a preallocated
// segment of zeros, which holds no record to replay.
func TestLeftoverIdleCrash(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(t.Context(), openDB(t), journal.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	j.Crash()
	if len(segments(t, dir)) == 0 {
		t.Fatal("no segment left behind: the test does not test anything")
	}
	if left, err := journal.Leftover(dir); err != nil || left {
		t.Errorf("Leftover after an idle crash = %v, %v; want false", left, err)
	}
}

// TestSegmentsPreallocated: a segment is given its full size when it starts (appends are
// copies into its mapping) and is cut to its data when the next one starts, so only the
// newest one ends in zeros; what was copied into it is in the file for anyone reading it.
func TestSegmentsPreallocated(t *testing.T) {
	dir := t.TempDir()
	// The store holds every batch back, so no segment is stored and removed meanwhile.
	st := refusing{Store: openDB(t), open: make(chan struct{})}
	defer close(st.open)
	j, err := journal.Open(t.Context(), st, journal.Options{Dir: dir, SegmentBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Crash()
	w, err := audit.NewWriter(t.Context(), j, audit.WriterOptions{Chain: "r1", Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; len(segments(t, dir)) < 3; i++ {
		if i > 10000 {
			t.Fatal("no third segment after 10000 appends")
		}
		if err := w.Append(t.Context(), record(i)); err != nil {
			t.Fatal(err)
		}
	}
	segs := segments(t, dir)
	for i, s := range segs {
		data, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if i < len(segs)-1 && (len(data) < 64<<10 || data[len(data)-1] != '}') {
			t.Errorf("%s: %d bytes ending in %q; want at least a full segment, cut after its last frame", s, len(data), data[len(data)-1:])
		}
		if i == len(segs)-1 {
			if len(data) != 64<<10 {
				t.Errorf("newest segment %s is %d bytes, want preallocated to %d", s, len(data), 64<<10)
			}
			if !bytes.Contains(data, []byte(`"req-`)) {
				t.Errorf("newest segment %s does not hold its records", s)
			}
		}
	}
}

func TestReplayDamaged(t *testing.T) {
	db := openDB(t)
	dir := crashed(t, db, 5)
	seg := segments(t, dir)[0]
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	data[20] ^= 0x20 // inside the first of five frames
	if err := os.WriteFile(seg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = journal.Open(t.Context(), db, journal.Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "checksum") || !strings.Contains(err.Error(), seg) {
		t.Fatalf("Open on a damaged segment = %v, want a checksum error naming %s", err, seg)
	}
}

// TestReplayForked: if the chain moved on in the store without the journaled records (two
// processes wrote it), replay refuses rather than interleave two histories: whether the
// store's head is among the journaled records' positions or past all of them.
func TestReplayForked(t *testing.T) {
	for _, others := range []int{2, 5} {
		db := openDB(t)
		dir := crashed(t, db, 3)
		w := writer(t, db, 0)
		for i := range others {
			if err := w.Append(t.Context(), record(100+i)); err != nil {
				t.Fatal(err)
			}
		}
		w.Close()
		_, err := journal.Open(t.Context(), db, journal.Options{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), "two processes wrote the chain") {
			t.Errorf("%d other records: Open over a forked chain = %v, want a refusal", others, err)
		}
	}
}

// TestReplayAfterPurge: replaying a segment whose records and checkpoints a retention purge
// has since deleted leaves the purge's anchor as it is: the log still verifies.
func TestReplayAfterPurge(t *testing.T) {
	db := openDB(t)
	dir := t.TempDir()
	j, err := journal.Open(t.Context(), db, journal.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
	w, err := audit.NewWriter(t.Context(), j, audit.WriterOptions{Chain: "r1", Signer: signer,
		CheckpointEvery: 2, MinRetention: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if err := w.Append(t.Context(), record(i)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := w.Purge(t.Context(), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)); err != nil || n != 6 {
		t.Fatalf("purge = %d, %v", n, err)
	}
	j.Crash()
	j = open(t, db, journal.Options{Dir: dir})
	if j.Replayed() > 1 { // at most the purge's own admin record
		t.Errorf("Replayed() = %d: purged records came back", j.Replayed())
	}
	if rep, err := audit.Verify(t.Context(), db, storetest.TestPublicKey()); err != nil || !rep.OK() {
		t.Fatalf("verify after replay: %v\n%s", err, rep.String())
	}
}

func TestLeftover(t *testing.T) {
	db := openDB(t)
	dir := crashed(t, db, 2)
	if left, err := journal.Leftover(dir); err != nil || !left {
		t.Fatalf("Leftover after a crash = %v, %v; want true", left, err)
	}
	j := open(t, db, journal.Options{Dir: dir})
	w := writer(t, j, 0)
	if err := w.Append(t.Context(), record(5)); err != nil {
		t.Fatal(err)
	}
	if left, err := journal.Leftover(dir); err != nil || left {
		t.Errorf("Leftover while a journal is open = %v, %v; want false (its process stores them)", left, err)
	}
	w.Close()
	if err := j.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if left, err := journal.Leftover(dir); err != nil || left {
		t.Errorf("Leftover after a clean close = %v, %v; want false", left, err)
	}
	if left, err := journal.Leftover(t.TempDir() + "/none"); err != nil || left {
		t.Errorf("Leftover of a missing directory = %v, %v", left, err)
	}
}
