package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"syscall"
)

// Mapped segments. Unless every append is synced, a new segment file is given its full size
// up front (fallocate) and mapped into memory, and an append copies its frame into the
// mapping: the frame is then in the kernel's page cache, the file's own pages, exactly where
// a write(2) would have put it, so it survives the process dying just the same, at a fraction
// of a system call's cost on the request's path (BENCHMARKS.md, Session 7). Space is reserved
// by the fallocate, so a full disk cannot fault a copy; other I/O trouble that faults one is
// recovered as a failed append (copyFrame).
//
// A frame that does not fit in what is left of the mapping, a filesystem that cannot
// preallocate or map, and synced appends all use write(2) at the segment's end instead.
//
// The preallocated tail is zeros, which replay reads as the end of the data (decodeFrames);
// a segment is cut to its data when the next one starts or the journal closes, so only the
// newest segment can end in zeros.

// mapSegment preallocates f to size and maps it, or returns nil if either fails (f is then
// left empty).
func mapSegment(f *os.File, size int64) []byte {
	if size < int64(os.Getpagesize()) || size > 1<<30 {
		return nil // tiny segments (tests) rotate on every append; huge ones are not mapped
	}
	fd := int(f.Fd())
	if err := syscall.Fallocate(fd, 0, 0, size); err != nil {
		return nil
	}
	m, err := syscall.Mmap(fd, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		f.Truncate(0) //nolint:errcheck // zeros would read as the end of the data anyway
		return nil
	}
	return m
}

// errFault reports a copy into a mapped segment that faulted: the page cache could not take
// the page (an I/O error).
var errFault = errors.New("journal: writing to the mapped segment faulted")

// copyFrame copies a frame into dst, its place in a mapped segment: the body first, then the
// 8-byte header in one store. copy (runtime.memmove) does not store in address order (on
// amd64 a copy of a few hundred bytes stores the middle first and the first and last bytes
// last), so a copy cut short by kill -9 could leave body bytes behind a header of zeros.
// Header last, a frame whose header is in the file is whole, and one cut short has a header
// of zeros, which decodeFrames reads as torn. A memory fault is returned as an error rather
// than crashing the process.
func copyFrame(dst, frame []byte) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: %v", errFault, v)
		}
	}()
	copy(dst[headerSize:], frame[headerSize:])
	binary.LittleEndian.PutUint64(dst, binary.LittleEndian.Uint64(frame)) // one 8-byte store
	return nil
}

// unmap drops the current segment's mapping; later appends to it use write(2).
func (j *Journal) unmap() error {
	if j.mm == nil {
		return nil
	}
	err := syscall.Munmap(j.mm)
	j.mm = nil
	if err != nil {
		return fmt.Errorf("journal: unmap %s: %w", j.file.Name(), err)
	}
	return nil
}

// closeSegment unmaps the current segment, cuts its preallocated tail and closes it.
func (j *Journal) closeSegment() error {
	err := j.unmap()
	if j.prealloc {
		if terr := j.file.Truncate(j.size); terr != nil {
			err = errors.Join(err, fmt.Errorf("journal: cut %s to its data: %w", j.file.Name(), terr))
		}
	}
	if cerr := j.file.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("journal: close %s: %w", j.file.Name(), cerr))
	}
	return err
}
