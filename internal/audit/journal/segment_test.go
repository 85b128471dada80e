package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/audit"
)

// memStore is enough of a store for a journal whose records are never ingested here.
type memStore struct{ audit.Store }

func (memStore) AppendBatch(context.Context, []audit.Record, []audit.Checkpoint) error {
	return nil
}

// TestMappedFaultIsAnError: a copy into a mapped segment that faults (here the file was cut
// under the mapping, which is what an I/O error looks like to the process) fails that append
// and stops the journal taking more, instead of crashing the process.
func TestMappedFaultIsAnError(t *testing.T) {
	j, err := Open(t.Context(), memStore{}, Options{Dir: t.TempDir(), Linger: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Crash()
	if j.mm == nil {
		t.Fatal("the segment is not mapped: the test does not test anything")
	}
	rec := audit.Record{Seq: 1, Chain: "c", Kind: audit.KindRequest, Time: time.Unix(1, 0), Hash: make(audit.Hash, audit.HashSize)}
	if err := j.AppendBatch(t.Context(), []audit.Record{rec}, nil); err != nil {
		t.Fatal(err)
	}
	if err := j.file.Truncate(0); err != nil {
		t.Fatal(err)
	}
	rec.Seq = 2
	if err := j.AppendBatch(t.Context(), []audit.Record{rec}, nil); !errors.Is(err, errFault) {
		t.Fatalf("append into a faulting mapping = %v, want %v", err, errFault)
	}
	if err := j.Healthy(); err == nil {
		t.Error("the journal still takes records after a faulted copy")
	}
}

// killChildEnv makes the test binary the child of TestKillDuringMappedCopies: it appends
// through a mapped segment in the directory named until it is killed.
const killChildEnv = "QIAO_JOURNAL_KILL_CHILD"

// TestKillDuringMappedCopies kills a process appending one-record frames (the gateway's
// case) through a mapped segment with kill -9, again and again, and checks what each
// leaves: every segment decodes, the newest up to a torn tail, so the journal replays.
// Before copyFrame stored the header last, about one kill in four left a frame that did not.
func TestKillDuringMappedCopies(t *testing.T) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		appendUntilKilled(dir)
		return
	}
	if testing.Short() {
		t.Skip("kills 40 child processes")
	}
	for i := range 40 {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringMappedCopies$")
		cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(out, make([]byte, len("ready\n"))); err != nil {
			t.Fatalf("child: %v", err)
		}
		time.Sleep(time.Duration(2+rand.IntN(20)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		segs, err := listSegments(dir)
		if err != nil {
			t.Fatal(err)
		}
		for k, s := range segs {
			data, err := os.ReadFile(segmentPath(dir, s))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := decodeFrames(data); err != nil && !(errors.Is(err, errTorn) && k == len(segs)-1) {
				t.Fatalf("kill %d: segment %d of %d does not replay: %v", i, k+1, len(segs), err)
			}
		}
	}
}

// appendUntilKilled journals ~1 KiB frames through a mapped segment as fast as it can.
func appendUntilKilled(dir string) {
	rec := audit.Record{Seq: 1, Chain: "c", Kind: audit.KindRequest, Time: time.Unix(1, 0).UTC(),
		Details: map[string]string{"a": strings.Repeat("a", 200), "b": strings.Repeat("b", 200), "c": strings.Repeat("c", 200)}}
	canon, _ := rec.Canonical()
	rec.Hash, _ = rec.ComputeHash()
	j, err := Open(context.Background(), memStore{}, Options{Dir: dir, SegmentBytes: 64 << 20, StaleBytes: 1 << 30, Linger: time.Hour})
	if err != nil || j.mm == nil {
		panic(fmt.Sprintf("journal not mapped: %v", err))
	}
	os.Stdout.WriteString("ready\n")
	for {
		if err := j.AppendEncoded(context.Background(), []audit.Record{rec}, [][]byte{canon}, nil); err != nil {
			panic(err)
		}
	}
}
