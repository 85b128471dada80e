package label

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// poolState waits for a refill in progress to end and returns the labels ready.
func poolState(t *testing.T, l *Labeler) []minted {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l.mint.mu.Lock()
		refilling, ready := l.mint.refilling, append([]minted(nil), l.mint.ready...)
		l.mint.mu.Unlock()
		if !refilling {
			return ready
		}
		if time.Now().After(deadline) {
			t.Fatal("refill did not finish")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFresh: labels are signed ahead only under demand, handed out oldest first while
// younger than mintMaxAge, and every label Fresh returns is valid and unique.
func TestFresh(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC).UnixNano())
	l, err := NewLabeler(Config{Producer: testProducer, KeyEnv: "K"}, Options{
		Now:    func() time.Time { return time.Unix(0, clock.Load()).UTC() },
		Getenv: func(string) string { return testSeed },
	})
	if err != nil {
		t.Fatal(err)
	}
	advance := func(d time.Duration) { clock.Add(int64(d)) }
	seen := map[string]bool{}
	fresh := func() Implicit {
		t.Helper()
		imp := l.Fresh()
		if err := l.Verify(imp); err != nil {
			t.Fatalf("Fresh returned an invalid label: %v", err)
		}
		if seen[imp.ProduceID] {
			t.Fatalf("ProduceID %s handed out twice", imp.ProduceID)
		}
		seen[imp.ProduceID] = true
		return imp
	}

	// A trickle (fewer than mintBurst in a window): signed on the spot, nothing ahead.
	for range mintBurst - 1 {
		fresh()
		advance(50 * time.Millisecond)
	}
	if ready := poolState(t, l); len(ready) != 0 {
		t.Fatalf("%d labels signed ahead before any demand was known", len(ready))
	}
	// The burst-th request of the window: as many as the window has asked for are signed
	// ahead, without waiting for the window to end.
	fresh()
	if ready := poolState(t, l); len(ready) != mintBurst {
		t.Fatalf("%d labels ready after a burst of %d, want %d", len(ready), mintBurst, mintBurst)
	}
	advance(50 * time.Millisecond)
	for range 2 { // taken from the pool; half of it is left, so no refill yet
		fresh()
	}

	// A window later, the demand of the last one (10) is kept ready.
	advance(650 * time.Millisecond)
	fresh()
	ready := poolState(t, l)
	if len(ready) != 10 {
		t.Fatalf("%d labels ready, want the last window's demand, 10", len(ready))
	}
	if got := fresh(); got.ProduceID != ready[0].imp.ProduceID {
		t.Fatalf("handed out %s, want the oldest ready, %s", got.ProduceID, ready[0].imp.ProduceID)
	}

	// Too old to hand out: dropped, and the label is signed now.
	advance(mintMaxAge)
	stale := map[string]bool{}
	for _, m := range poolState(t, l) {
		stale[m.imp.ProduceID] = true
	}
	if got := fresh(); stale[got.ProduceID] {
		t.Fatalf("handed out %s, signed more than %v ago", got.ProduceID, mintMaxAge)
	}

	// Idle for a while: nothing is signed ahead any more. (The refill the last call started
	// ends first: it would stamp its labels with the clock moved on.)
	poolState(t, l)
	advance(10 * time.Second)
	fresh()
	if ready := poolState(t, l); len(ready) != 0 {
		t.Fatalf("%d labels signed ahead after an idle spell", len(ready))
	}
}

// TestFreshConcurrent (run with -race): many requests at once, with refills under way and
// labels expiring, get valid labels, none twice, and some from the pool.
func TestFreshConcurrent(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC).UnixNano())
	l, err := NewLabeler(Config{Producer: testProducer, KeyEnv: "K"}, Options{
		// Every reading moves the clock 2 ms on: windows roll over and labels expire while
		// the goroutines run.
		Now:    func() time.Time { return time.Unix(0, clock.Add(int64(2*time.Millisecond))).UTC() },
		Getenv: func(string) string { return testSeed },
	})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	var pooled atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				l.mint.mu.Lock()
				var next string
				if len(l.mint.ready) > 0 {
					next = l.mint.ready[0].imp.ProduceID
				}
				l.mint.mu.Unlock()
				imp := l.Fresh()
				if imp.ProduceID == next {
					pooled.Add(1) // (or another goroutine took next first: then it is not counted)
				}
				if err := l.Verify(imp); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				dup := seen[imp.ProduceID]
				seen[imp.ProduceID] = true
				mu.Unlock()
				if dup {
					t.Errorf("ProduceID %s handed out twice", imp.ProduceID)
					return
				}
			}
		})
	}
	wg.Wait()
	poolState(t, l)
	if pooled.Load() == 0 {
		t.Fatal("no label came from the pool")
	}
}
