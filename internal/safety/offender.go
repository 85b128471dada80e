package safety

import (
	"sort"
	"sync"
	"time"
)

// Standing is where an API key stands after its recent blocks.
type Standing string

// Standings, in order of severity.
const (
	StandingOK        Standing = "ok"
	StandingWarn      Standing = "warn"
	StandingLimited   Standing = "limited"
	StandingSuspended Standing = "suspended"
)

// offenders counts blocks per key in a sliding window. It is in-memory and per replica:
// a key that offends on several replicas is counted on each separately (documented limit).
// To bound memory it tracks at most MaxKeys keys and forgets the least recently blocked.
type offenders struct {
	cfg OffenderConfig
	now func() time.Time

	mu   sync.Mutex
	keys map[string]*offRecord
}

type offRecord struct {
	times          []time.Time // block times within the window, oldest first
	suspendedUntil time.Time
	last           time.Time
}

func newOffenders(cfg OffenderConfig, now func() time.Time) *offenders {
	return &offenders{cfg: cfg, now: now, keys: map[string]*offRecord{}}
}

func (o *offenders) enabled() bool {
	return o.cfg.Warn > 0 || o.cfg.Limit > 0 || o.cfg.Suspend > 0
}

// record counts one block for key and returns the key's new standing.
func (o *offenders) record(key string) Standing {
	if !o.enabled() || key == "" {
		return StandingOK
	}
	now := o.now()
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.keys[key]
	if r == nil {
		if len(o.keys) >= o.cfg.MaxKeys {
			o.evict(now)
		}
		r = &offRecord{}
		o.keys[key] = r
	}
	o.prune(r, now)
	r.times = append(r.times, now)
	r.last = now
	// Counts beyond the highest threshold add nothing: keep the slice bounded.
	if top := o.top(); top > 0 && len(r.times) > top {
		r.times = append(r.times[:0], r.times[len(r.times)-top:]...)
	}
	if o.cfg.Suspend > 0 && len(r.times) >= o.cfg.Suspend {
		r.suspendedUntil = now.Add(o.cfg.SuspendFor)
	}
	return o.standing(r, now)
}

// get returns key's standing.
func (o *offenders) get(key string) Standing {
	if !o.enabled() {
		return StandingOK
	}
	now := o.now()
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.keys[key]
	if r == nil {
		return StandingOK
	}
	o.prune(r, now)
	return o.standing(r, now)
}

func (o *offenders) top() int {
	m := o.cfg.Warn
	if o.cfg.Limit > m {
		m = o.cfg.Limit
	}
	if o.cfg.Suspend > m {
		m = o.cfg.Suspend
	}
	return m
}

func (o *offenders) prune(r *offRecord, now time.Time) {
	cut := now.Add(-o.cfg.Window)
	i := 0
	for i < len(r.times) && !r.times[i].After(cut) {
		i++
	}
	r.times = r.times[i:]
}

func (o *offenders) standing(r *offRecord, now time.Time) Standing {
	n := len(r.times)
	switch {
	case now.Before(r.suspendedUntil):
		return StandingSuspended
	case o.cfg.Limit > 0 && n >= o.cfg.Limit:
		return StandingLimited
	case o.cfg.Warn > 0 && n >= o.cfg.Warn:
		return StandingWarn
	}
	return StandingOK
}

// evict drops keys with nothing left in the window, then the least recently blocked
// tenth, so eviction cost is amortized.
func (o *offenders) evict(now time.Time) {
	for k, r := range o.keys {
		o.prune(r, now)
		if len(r.times) == 0 && !now.Before(r.suspendedUntil) {
			delete(o.keys, k)
		}
	}
	if len(o.keys) < o.cfg.MaxKeys {
		return
	}
	type kv struct {
		k string
		t time.Time
	}
	all := make([]kv, 0, len(o.keys))
	for k, r := range o.keys {
		all = append(all, kv{k, r.last})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].t.Before(all[j].t) })
	for _, e := range all[:len(all)/10+1] {
		delete(o.keys, e.k)
	}
}
