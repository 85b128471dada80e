package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// replay stores what earlier processes journaled, oldest segment first, then deletes the
// segments. It returns the highest segment number found (0 if none). A segment cut short
// inside its last frame (a crash during a write) is cut back to its last whole frame; any
// other damage is an error.
func (j *Journal) replay(ctx context.Context) (uint64, error) {
	segs, err := listSegments(j.opts.Dir)
	if err != nil || len(segs) == 0 {
		return 0, err
	}
	for i, s := range segs {
		path := segmentPath(j.opts.Dir, s)
		data, err := os.ReadFile(path)
		if err != nil {
			return 0, fmt.Errorf("journal: replay: %w", err)
		}
		batches, good, err := decodeFrames(data)
		if errors.Is(err, errTorn) && i == len(segs)-1 {
			// Only the newest segment can end in a frame being written when the process died.
			if err := os.Truncate(path, int64(good)); err != nil {
				return 0, fmt.Errorf("journal: replay: cut torn frame: %w", err)
			}
		} else if err != nil {
			return 0, fmt.Errorf("journal: replay %s: %w; the records after that point cannot be read — move the file aside to start without them (audit verify will then report the gap)", path, err)
		}
		for len(batches) > 0 {
			g, n := group(batches, j.opts.MaxBatch)
			stored, err := j.store(ctx, g, true)
			if err != nil {
				return 0, fmt.Errorf("journal: replay %s: %w", path, err)
			}
			j.replayed += stored
			batches = batches[n:]
		}
	}
	last := segs[len(segs)-1]
	return last, j.removeSegments(last + 1)
}

// Replayed returns the number of records Open found in the journal that the store did not
// hold yet, and stored.
func (j *Journal) Replayed() int { return j.replayed }

// Leftover reports whether dir holds journaled records no running process is taking care
// of: non-empty segments, and nobody holding the journal's lock (a process that stopped
// without closing its journal; Open replays them).
func Leftover(dir string) (bool, error) {
	segs, err := listSegments(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	data := false
	for _, s := range segs {
		if hasFrame(segmentPath(dir, s)) {
			data = true
		}
	}
	if !data {
		return false, nil
	}
	lock, err := lockDir(dir)
	if err != nil {
		return false, nil // in use: its process stores them
	}
	lock.Close()
	return true, nil
}

// hasFrame reports whether the segment at path starts with a frame header: a segment is
// preallocated, so one a process was killed with before its first append is all zeros.
func hasFrame(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var h [headerSize]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return false
	}
	return h != [headerSize]byte{}
}

// listSegments returns the numbers of the segment files in dir, ascending.
func listSegments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("journal: list segments: %w", err)
	}
	var segs []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok || e.IsDir() {
			continue
		}
		n, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("journal: unexpected file %s", filepath.Join(dir, e.Name()))
		}
		segs = append(segs, n)
	}
	slices.Sort(segs)
	return segs, nil
}
