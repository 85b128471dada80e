// Package route picks the upstream for a request: the ordered targets of the region's model
// alias, only inside the jurisdictions the region allows, with circuit breakers, retries of
// throttled calls and fallback on retryable failures — never after the first byte has gone
// to the client, and never across a border.
package route

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
)

// Provider is what the router calls. provider.Provider satisfies it.
type Provider interface {
	Chat(ctx context.Context, req *chat.Request) (chat.Stream, error)
}

// Target is one upstream choice for an alias: a provider and the model name it knows.
type Target struct {
	Provider     string // provider name from the config
	Model        string // upstream model name
	Jurisdiction string // where the provider processes data
}

func (t Target) String() string { return t.Provider + "/" + t.Model }

// Region is one region's routing table.
type Region struct {
	Name          string
	Jurisdictions []string
	// Aliases maps a model alias ("chat", "vision") to its ordered targets.
	Aliases map[string][]Target
}

// Options tune the router. Zero values mean the defaults.
type Options struct {
	// BreakerThreshold is the number of consecutive retryable failures that opens a
	// provider's breaker. Default 5.
	BreakerThreshold int
	// BreakerCooldown is how long an open breaker refuses calls. Default 30s.
	BreakerCooldown time.Duration
	// ThrottleRetries is how many times a throttled (retryable 429) call is retried on the
	// same target before moving on. Default 1.
	ThrottleRetries int
	// Backoff is the first retry delay; it doubles per retry, with jitter. Default 200ms.
	Backoff time.Duration
	Now     func() time.Time
	// Observe, if set, is told about every upstream attempt (for metrics and logs).
	Observe func(Attempt)
}

// Attempt describes one upstream call, for observers.
type Attempt struct {
	Region  string
	Target  Target
	Err     error // nil on success (first chunk received)
	Elapsed time.Duration
}

// Errors the router returns.
var (
	ErrUnknownRegion = errors.New("route: unknown region")
	ErrUnknownModel  = errors.New("route: unknown model alias")
)

// Router routes requests. It is safe for concurrent use.
type Router struct {
	regions   map[string]Region
	providers map[string]Provider
	breakers  map[string]*breaker
	opts      Options
}

// New builds a router. It refuses any target whose jurisdiction the region does not allow,
// or that names an unknown provider: residency is checked before the first request.
func New(regions []Region, providers map[string]Provider, opts Options) (*Router, error) {
	if opts.BreakerThreshold <= 0 {
		opts.BreakerThreshold = 5
	}
	if opts.BreakerCooldown <= 0 {
		opts.BreakerCooldown = 30 * time.Second
	}
	if opts.ThrottleRetries < 0 {
		opts.ThrottleRetries = 0
	} else if opts.ThrottleRetries == 0 {
		opts.ThrottleRetries = 1
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 200 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Router{regions: map[string]Region{}, providers: providers, breakers: map[string]*breaker{}, opts: opts}
	for _, reg := range regions {
		for alias, targets := range reg.Aliases {
			if len(targets) == 0 {
				return nil, fmt.Errorf("route: region %s: alias %q has no targets", reg.Name, alias)
			}
			for _, t := range targets {
				if _, ok := providers[t.Provider]; !ok {
					return nil, fmt.Errorf("route: region %s: alias %q: unknown provider %q", reg.Name, alias, t.Provider)
				}
				if !slices.Contains(reg.Jurisdictions, t.Jurisdiction) {
					return nil, fmt.Errorf("route: region %s: alias %q: provider %q processes data in %s, which the region does not allow (allowed: %s)",
						reg.Name, alias, t.Provider, t.Jurisdiction, strings.Join(reg.Jurisdictions, ", "))
				}
			}
		}
		r.regions[reg.Name] = reg
	}
	for name := range providers {
		r.breakers[name] = &breaker{threshold: opts.BreakerThreshold, cooldown: opts.BreakerCooldown, now: opts.Now}
	}
	return r, nil
}

// Aliases returns the model aliases a region offers, sorted.
func (r *Router) Aliases(region string) []string {
	reg, ok := r.regions[region]
	if !ok {
		return nil
	}
	out := make([]string, 0, len(reg.Aliases))
	for a := range reg.Aliases {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// Targets returns the targets of an alias in a region.
func (r *Router) Targets(region, alias string) ([]Target, error) {
	reg, ok := r.regions[region]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownRegion, region)
	}
	ts, ok := reg.Aliases[alias]
	if !ok {
		return nil, fmt.Errorf("%w %q in region %s", ErrUnknownModel, alias, region)
	}
	return ts, nil
}

// BreakerState returns the state of a provider's breaker: closed, open or half_open.
func (r *Router) BreakerState(provider string) string {
	if b, ok := r.breakers[provider]; ok {
		return b.state()
	}
	return ""
}

// Chat sends req to the first healthy target of req.Model (an alias) in region. It returns
// the stream and the target that answered. The stream's first chunk has already been read
// from the upstream (and is replayed), so an upstream that fails before its first chunk —
// including DashScope's error events sent with HTTP 200 — still falls back.
//
// req.Model is rewritten per attempt; the caller's value is restored before Chat returns.
func (r *Router) Chat(ctx context.Context, region string, req *chat.Request) (chat.Stream, Target, error) {
	alias := req.Model
	targets, err := r.Targets(region, alias)
	if err != nil {
		if errors.Is(err, ErrUnknownModel) {
			return nil, Target{}, apierr.New(http.StatusNotFound, apierr.TypeNotFound, "model_not_found",
				fmt.Sprintf("the model %q does not exist in region %s; GET /v1/models lists the available ones", alias, region)).WithParam("model")
		}
		return nil, Target{}, apierr.New(http.StatusForbidden, apierr.TypePermission, "region_not_allowed", err.Error())
	}
	defer func() { req.Model = alias }()
	reg := r.regions[region]
	var failures []string
	var lastErr error
	for _, t := range targets {
		// Defence in depth: New already refused such routes.
		if !slices.Contains(reg.Jurisdictions, t.Jurisdiction) {
			continue
		}
		b := r.breakers[t.Provider]
		if !b.allow() {
			failures = append(failures, t.String()+": circuit open")
			continue
		}
		req.Model = t.Model
		s, err := r.attempt(ctx, region, t, req)
		switch {
		case err == nil:
			b.success()
			return s, t, nil
		case ctx.Err() != nil:
			b.release()
			return nil, t, apierr.New(499, apierr.TypeInvalidRequest, "client_closed", "the client closed the request").WithCause(ctx.Err())
		case apierr.IsRetryable(err):
			b.failure()
			lastErr = err
			failures = append(failures, t.String()+": "+publicMessage(err))
		default:
			// Not a provider-health problem (a 400, a content-filter block, a used-up
			// quota): the answer is final; another provider would not change it. (A rejected
			// credential is retryable: it is this provider's account that failed.)
			b.release()
			return nil, t, err
		}
	}
	return nil, Target{}, apierr.New(http.StatusServiceUnavailable, apierr.TypeAPI, apierr.CodeNoEligibleProvider,
		fmt.Sprintf("no provider allowed for region %s could serve %q: %s", region, alias, strings.Join(failures, "; "))).WithCause(lastErr)
}

func publicMessage(err error) string {
	if e, ok := apierr.As(err); ok {
		return fmt.Sprintf("%s (%d)", e.Message, e.Status)
	}
	return "error"
}

// attempt calls one target, retrying throttled calls with backoff, and reads the first chunk.
func (r *Router) attempt(ctx context.Context, region string, t Target, req *chat.Request) (chat.Stream, error) {
	p := r.providers[t.Provider]
	var err error
	for try := 0; ; try++ {
		start := r.opts.Now()
		var s chat.Stream
		s, err = p.Chat(ctx, req)
		if err == nil {
			s, err = peek(s)
		}
		if r.opts.Observe != nil {
			r.opts.Observe(Attempt{Region: region, Target: t, Err: err, Elapsed: r.opts.Now().Sub(start)})
		}
		if err == nil {
			return s, nil
		}
		e, ok := apierr.As(err)
		if !ok || e.Status != http.StatusTooManyRequests || !e.Retryable || try >= r.opts.ThrottleRetries {
			return nil, err
		}
		// Exponential backoff with ±50% jitter, so synchronized clients spread out.
		d := r.opts.Backoff << try
		d = d/2 + time.Duration(rand.Int64N(int64(d)))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(d):
		}
	}
}

// peek reads the first chunk so that failures before it can still fall back.
func peek(s chat.Stream) (chat.Stream, error) {
	c, err := s.Recv()
	if err != nil && !errors.Is(err, io.EOF) {
		s.Close()
		return nil, err
	}
	return &peeked{Stream: s, first: c, firstErr: err, has: true}, nil
}

type peeked struct {
	chat.Stream
	first    chat.Chunk
	firstErr error
	has      bool
}

func (p *peeked) Recv() (chat.Chunk, error) {
	if p.has {
		p.has = false
		return p.first, p.firstErr
	}
	return p.Stream.Recv()
}

var _ chat.Stream = (*peeked)(nil)
