package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// Store is what the audit log needs from a database. Implementations: store/sqlite and
// store/postgres; both pass the contract suite in store/storetest.
//
// A chain is the sequence of records written by one replica. Seq starts at 1 and has no gaps
// unless records were purged (then a signed anchor checkpoint marks where the chain resumes).
type Store interface {
	// Head returns the last record's seq and hash of chain. If the chain has no records left
	// (new, or everything purged) it returns the anchor checkpoint's seq and hash, or 0, nil.
	Head(ctx context.Context, chain string) (seq uint64, hash Hash, err error)
	// AppendBatch stores records and checkpoints in one transaction: all or nothing. Records
	// arrive with Chain, Seq, PrevHash and Hash set. A (chain, seq) that already exists is an
	// error. A checkpoint whose (chain, seq) exists replaces it.
	AppendBatch(ctx context.Context, recs []Record, cps []Checkpoint) error
	// Records calls fn for each record of chain with seq >= from, in seq order. If fn returns
	// an error, iteration stops and that error is returned.
	Records(ctx context.Context, chain string, from uint64, fn func(Record) error) error
	// RecordsByTime calls fn for each record of every chain with from <= Time < to, ordered
	// by chain, seq (so that consecutive records of a chain can be checked for their links).
	RecordsByTime(ctx context.Context, from, to time.Time, fn func(Record) error) error
	// Checkpoints returns chain's checkpoints in seq order.
	Checkpoints(ctx context.Context, chain string) ([]Checkpoint, error)
	// Chains lists every chain that has records or checkpoints, sorted.
	Chains(ctx context.Context) ([]string, error)
	// PurgePoint returns the highest seq S of chain such that every record with seq <= S
	// has Time < before, with that record's hash; 0, nil if there is none.
	PurgePoint(ctx context.Context, chain string, before time.Time) (seq uint64, hash Hash, err error)
	// Purge stores anchor (an anchor checkpoint at seq S), then deletes chain's records with
	// seq <= S and its checkpoints with seq < S, in one transaction. It returns the number
	// of records deleted.
	Purge(ctx context.Context, anchor Checkpoint) (int64, error)
}

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("audit: writer closed")

// ChainLocker is implemented by stores that several processes share (PostgreSQL). NewWriter
// calls LockChain so that two writers never append to one chain, which would make both
// fail on every other batch; release is called by Close.
type ChainLocker interface {
	LockChain(ctx context.Context, chain string) (release func(), err error)
}

// ChainFileName names chain in file names (lock files, journal directories): a replica name
// may hold any character, so it is the hex of the first 8 bytes of its SHA-256.
func ChainFileName(chain string) string {
	sum := sha256.Sum256([]byte(chain))
	return hex.EncodeToString(sum[:8])
}

// ErrChainInUse is returned by NewWriter when another process holds the chain.
var ErrChainInUse = errors.New("audit: the chain is in use by another writer (replica names must be unique)")

// EncodedAppender is implemented by stores that keep each record's canonical encoding
// (journal.Journal). The writer encodes every record to hash it and hands the encodings
// over, so they are not made twice: canon[i] is recs[i].Canonical().
type EncodedAppender interface {
	AppendEncoded(ctx context.Context, recs []Record, canon [][]byte, cps []Checkpoint) error
}

// CheapAppender is implemented by stores whose AppendBatch costs a file append rather than
// a database transaction (journal.Journal, unless it syncs every append). The writer then
// commits each record on the appending goroutine: group commit, which hands records to one
// goroutine and back, pays only where a commit is expensive.
//
// A CheapAppender promises that an AppendBatch that fails because its context ended stored
// nothing: the writer then treats it as the appender giving up, not as the store failing.
type CheapAppender interface {
	CheapAppends() bool
}
