package label

import (
	"sync"
	"time"
)

// Signing ahead. An Ed25519 signature is the costliest step of a text answer's label (about
// 40 µs with the key's tables in cache, two to three times that when a request finds them
// cold), and a producer label does not depend on the answer: its fields are "1", the
// configured producer and a new ProduceID. So while requests keep coming, Fresh hands out
// labels signed ahead of time, in batches, by a goroutine that runs only to sign a batch.
const (
	// mintMaxAge bounds how long a label waits to be handed out: a ProduceID (a UUIDv7)
	// carries the millisecond it was made, which must stay close to when the content was
	// produced.
	mintMaxAge = time.Second
	// mintMaxBatch bounds the labels kept ready.
	mintMaxBatch = 64
	// mintBurst is the demand within one window from which labels are signed ahead before
	// the window is over: a burst is served from the pool after its first few requests
	// rather than after a whole second, and a trickle of requests is signed as it comes.
	mintBurst = 8
)

// minter is the pool of labels signed ahead. Its zero value is ready to use.
type minter struct {
	mu        sync.Mutex
	ready     []minted  // oldest first
	window    time.Time // start of the current demand window (mintMaxAge long)
	taken     int       // labels handed out in the current window
	want      int       // labels to keep ready: the demand of the last window, bounded
	refilling bool
}

type minted struct {
	imp Implicit
	at  time.Time
}

// Fresh returns a new producer label, as New does: Label "1", the configured producer, a new
// ProduceID and its signature. Under demand (a busy last window, or mintBurst requests in
// this one) it was signed less than a second before, off the request's path; otherwise it is
// signed now.
func (l *Labeler) Fresh() Implicit {
	now := l.now()
	m := &l.mint
	m.mu.Lock()
	// Demand: labels taken per mintMaxAge. A window with no demand before it keeps none
	// ready, so an idle gateway signs nothing ahead.
	if since := now.Sub(m.window); since >= mintMaxAge || since < 0 {
		m.want = 0
		if since < 2*mintMaxAge && since >= 0 {
			m.want = min(m.taken, mintMaxBatch)
		}
		m.window, m.taken = now, 0
	}
	m.taken++
	if m.taken >= mintBurst {
		m.want = max(m.want, min(m.taken, mintMaxBatch))
	}
	// Labels too old to hand out are dropped.
	drop := 0
	for drop < len(m.ready) && now.Sub(m.ready[drop].at) >= mintMaxAge {
		drop++
	}
	m.ready = m.ready[drop:]
	imp, ok := Implicit{}, false
	if len(m.ready) > 0 {
		imp, ok = m.ready[0].imp, true
		m.ready[0] = minted{}
		m.ready = m.ready[1:]
	}
	n := 0
	if !m.refilling && m.want > 0 && len(m.ready) <= m.want/2 {
		n = m.want - len(m.ready)
		m.refilling = true
	}
	m.mu.Unlock()
	if n > 0 {
		go l.refill(n)
	}
	if ok {
		return imp
	}
	return l.New()
}

// refill signs n labels and adds them to the pool.
func (l *Labeler) refill(n int) {
	batch := make([]minted, n)
	for i := range batch {
		at := l.now() // not after the ProduceID's own time
		batch[i] = minted{imp: l.New(), at: at}
	}
	m := &l.mint
	m.mu.Lock()
	m.ready = append(m.ready, batch...)
	m.refilling = false
	m.mu.Unlock()
}
