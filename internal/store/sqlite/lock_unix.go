//go:build unix

package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/qiao-gateway/qiao/internal/audit"
)

var _ audit.ChainLocker = (*DB)(nil)

// LockChain takes an exclusive flock on a lock file next to the database, one per chain, so
// that two processes on one data directory never append to one chain. The kernel drops the
// lock when the process dies, so a restart after kill -9 is not blocked.
func (s *DB) LockChain(_ context.Context, chain string) (func(), error) {
	path := s.path + ".chain-" + audit.ChainFileName(chain) + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: lock chain: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, audit.ErrChainInUse
		}
		return nil, fmt.Errorf("sqlite: lock chain: %w", err)
	}
	return func() { f.Close() }, nil // closing the file releases the lock
}
