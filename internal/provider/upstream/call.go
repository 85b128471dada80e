package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/provider/h1"
)

// Timeouts bound one upstream call. Zero fields take the defaults below. Durations are written
// in YAML as Go durations ("5s", "1m30s").
type Timeouts struct {
	// Connect bounds getting a connection (DNS, TCP, TLS). Default 5s.
	Connect time.Duration `yaml:"connect"`
	// FirstByte bounds the time from sending the request to the first event of a streamed
	// answer. (An upstream that ignores streaming and sends one JSON body must deliver all of
	// it in this time.) Default 60s: reasoning models can think for a while before they say
	// anything. A call that asks for a whole answer (see StreamMode) gets its first byte only
	// when the model has finished, so Total bounds it instead.
	FirstByte time.Duration `yaml:"first_byte"`
	// BetweenChunks bounds the silence between two events once the answer has started; the
	// deadline moves with every event, keep-alive comments included. Default 60s.
	BetweenChunks time.Duration `yaml:"between_chunks"`
	// Total bounds the whole call, reading the last event included. Default 10m.
	Total time.Duration `yaml:"total"`
}

// Default timeouts.
const (
	DefaultConnect       = 5 * time.Second
	DefaultFirstByte     = 60 * time.Second
	DefaultBetweenChunks = 60 * time.Second
	DefaultTotal         = 10 * time.Minute
)

// WithDefaults returns t with zero fields set to the defaults.
func (t Timeouts) WithDefaults() Timeouts {
	if t.Connect <= 0 {
		t.Connect = DefaultConnect
	}
	if t.FirstByte <= 0 {
		t.FirstByte = DefaultFirstByte
	}
	if t.BetweenChunks <= 0 {
		t.BetweenChunks = DefaultBetweenChunks
	}
	if t.Total <= 0 {
		t.Total = DefaultTotal
	}
	return t
}

// ForWhole returns the timeouts of a call that asks for a whole (non-streamed) answer: its
// first byte comes when the whole answer is ready, so only Total bounds the wait for it (Do
// has no first-byte deadline when FirstByte is not below Total).
func (t Timeouts) ForWhole() Timeouts {
	t = t.WithDefaults()
	t.FirstByte = t.Total
	return t
}

// StreamMode says when an adapter asks its upstream for a streamed answer.
type StreamMode string

// Stream modes. The empty mode is the adapter's default.
const (
	// StreamAlways streams every call; a client that asked for a whole answer gets the
	// stream collected. Needed for streaming-only models (DashScope's QwQ, QVQ, Omni,
	// open-source Qwen3), and it lets between_chunks watch every call.
	StreamAlways StreamMode = "always"
	// StreamAsRequested streams a call only when the client asked for a stream: the
	// upstream gets the request the client sent and sends a whole answer as one body.
	StreamAsRequested StreamMode = "as_requested"
)

// Validate rejects unknown modes; empty is valid (the adapter's default).
func (m StreamMode) Validate() error {
	switch m {
	case "", StreamAlways, StreamAsRequested:
		return nil
	}
	return fmt.Errorf("stream must be %q or %q, got %q", StreamAlways, StreamAsRequested, string(m))
}

// Streams reports whether a call streams, for a client that asked for a stream or not;
// def is the adapter's default mode.
func (m StreamMode) Streams(clientStream bool, def StreamMode) bool {
	if m == "" {
		m = def
	}
	return clientStream || m == StreamAlways
}

// Validate rejects negative timeouts.
func (t Timeouts) Validate() error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"connect", t.Connect}, {"first_byte", t.FirstByte}, {"between_chunks", t.BetweenChunks}, {"total", t.Total}} {
		if f.d < 0 {
			return fmt.Errorf("timeouts.%s must not be negative, got %s", f.name, f.d)
		}
	}
	return nil
}

// NewHTTPClient returns a client tuned for a gateway: many idle connections per upstream host
// (each streamed answer holds one for its whole length), no transparent gzip (it would buffer
// event streams), and no client-level timeout (a Call sets its own, per phase).
//
// Plain-HTTP upstreams (model servers beside the gateway) are called through h1.Transport,
// which sends a request and reads its answer on the caller's goroutine; TLS upstreams, and any
// upstream reached through a proxy, go through net/http's Transport, with HTTP/2 when the
// upstream offers it.
func NewHTTPClient() *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	std := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
	return &http.Client{Transport: &h1.Transport{
		Fallback:       std,
		Proxy:          http.ProxyFromEnvironment,
		DialContext:    d.DialContext,
		MaxIdlePerHost: 256,
		IdleTimeout:    90 * time.Second,
	}}
}

// roundTrip sends req through client's transport, not through client.Do: a model API answers
// a call itself, and a redirect must not be followed, since it could lead to a host outside
// the region's jurisdictions (http.Client follows 307 and 308 with the body). A redirect is an
// answer like any other non-2xx status: the adapter maps it to an error. Client.Timeout, Jar
// and CheckRedirect play no part (a Call has its own timeouts). Skipping the client also skips
// its per-request copies of the headers and URL, kept for redirects.
func roundTrip(client *http.Client, req *http.Request) (*http.Response, error) {
	rt := client.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	return rt.RoundTrip(req)
}

// timeoutError is the cancellation cause a Call's timer uses.
type timeoutError struct{ phase string }

func (e *timeoutError) Error() string { return "upstream: " + e.phase + " timeout" }

var (
	errConnectTimeout   = &timeoutError{"connect"}
	errFirstByteTimeout = &timeoutError{"first byte"}
	errBetweenTimeout   = &timeoutError{"between chunks"}
	errTotalTimeout     = &timeoutError{"total"}
	errClosed           = errors.New("upstream: call closed")
)

// Call is one upstream HTTP exchange under Timeouts. Progress must be called each time a piece
// of the answer arrives; Close releases the connection. A Call's timer cancels the request's
// context, which makes the transport abort the read in progress.
type Call struct {
	Provider string
	Resp     *http.Response

	parent context.Context
	ctx    context.Context
	cancel context.CancelCauseFunc
	unlink func() bool // stops following parent's cancellation
	t      Timeouts
	// timer is the call's one timer. It goes off at the nearest deadline of the call's
	// phase (connect, first byte, between chunks, total), and check either cancels the call
	// or waits again for the next: one timer per call instead of one per deadline, and no
	// reset per event.
	timer *time.Timer

	// base is when the call began (with the monotonic clock); last is the time since base of
	// the latest progress. Progress only stores last; check reads it.
	base      time.Time
	last      atomic.Int64
	connected atomic.Bool // the transport has a connection (the connect deadline is over)

	mu      sync.Mutex // guards started, stopped and timer resets: Close may run on another goroutine
	started bool       // a piece of the answer arrived (the first-byte deadline is over)
	stopped bool       // the timer is stopped and must not arm itself again
}

// Do sends req (whose context is replaced) under the timeouts and returns the call once the
// response headers have arrived, whatever the status. The error is an *apierr.Error (502 for
// connection failures, 504 for timeouts, both retryable) or, when ctx was cancelled by the
// caller, the context's error.
func Do(ctx context.Context, client *http.Client, req *http.Request, t Timeouts, provider string) (*Call, error) {
	t = t.WithDefaults()
	// The call follows the caller's cancellation until a finished answer is closed (detach):
	// after that, what is left of the body is drained in the background, under its own
	// timer, even though the caller has moved on.
	cctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	unlink := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	c := &Call{Provider: provider, parent: ctx, ctx: cctx, cancel: cancel, unlink: unlink, t: t, base: time.Now()}
	c.mu.Lock() // check must not run before c.timer is set
	c.timer = time.AfterFunc(c.wait(0), c.check)
	c.mu.Unlock()
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { c.connected.Store(true) }}
	req = req.WithContext(httptrace.WithClientTrace(cctx, trace))
	resp, err := roundTrip(client, req)
	if err != nil {
		c.stopTimers()
		e := c.mapErr(err, false)
		unlink()
		cancel(errClosed)
		return nil, e
	}
	c.connected.Store(true)
	c.Resp = resp
	return c, nil
}

// Progress records that a piece of the answer arrived: the first call ends the first-byte
// deadline and starts the between-chunks one, every call moves the latter.
func (c *Call) Progress() {
	el := time.Since(c.base)
	c.last.Store(int64(el))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.stopped {
		return
	}
	c.started = true
	c.connected.Store(true)
	c.timer.Reset(c.wait(el)) // the between-chunks deadline may be nearer than the one armed
}

// check runs when the call's timer goes off: it cancels the call with the deadline that
// passed, or waits again for the nearest one left.
func (c *Call) check() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return // the call was closed while the timer went off
	}
	el := time.Since(c.base)
	if err := c.expired(el); err != nil {
		c.cancel(err)
		return
	}
	c.timer.Reset(c.wait(el))
}

// expired returns the cause for the first of the call's deadlines that has passed at el
// (time since base), or nil. c.mu is held.
func (c *Call) expired(el time.Duration) error {
	switch {
	case el >= c.t.Total:
		return errTotalTimeout
	case !c.connected.Load() && el >= c.t.Connect:
		return errConnectTimeout
	case !c.started && c.t.FirstByte < c.t.Total && el >= c.t.FirstByte:
		// (With FirstByte not below Total, a whole-answer call, Total bounds the first byte
		// too, and a timeout is reported as what it is.)
		return errFirstByteTimeout
	case c.started && el-time.Duration(c.last.Load()) >= c.t.BetweenChunks:
		return errBetweenTimeout
	}
	return nil
}

// wait returns the time from el (since base) to the nearest deadline of the call's phase.
// c.mu is held.
func (c *Call) wait(el time.Duration) time.Duration {
	next := c.t.Total
	if !c.connected.Load() {
		next = min(next, c.t.Connect)
	}
	if !c.started {
		next = min(next, c.t.FirstByte)
	} else {
		next = min(next, time.Duration(c.last.Load())+c.t.BetweenChunks)
	}
	return max(next-el, 0)
}

// drainLimit and drainTime bound the read of what follows the end of an answer (OpenAI's
// [DONE] comes before the end of the HTTP body). Reading the body to its end lets the
// transport reuse the connection instead of closing it; an upstream that keeps talking is cut.
const (
	drainLimit = 64 << 10
	drainTime  = 100 * time.Millisecond
)

// detach stops the call from following the caller's cancellation: the answer is complete and
// closed, and drain may still read the end of the body after the caller has gone.
func (c *Call) detach() { c.unlink() }

// bodyEnded reports whether the body is known to have been read to its end already (the
// transport says so: h1's bodies do), so there is nothing to drain.
func (c *Call) bodyEnded() bool {
	if c.Resp == nil {
		return false
	}
	e, ok := c.Resp.Body.(interface{ Ended() bool })
	return ok && e.Ended()
}

// drain reads the rest of a finished answer's body, briefly, so the connection can be reused.
func (c *Call) drain() {
	if c.Resp == nil {
		return
	}
	t := time.AfterFunc(drainTime, func() { c.cancel(errClosed) })
	defer t.Stop()
	io.Copy(io.Discard, io.LimitReader(c.Resp.Body, drainLimit)) //nolint:errcheck // best effort
}

// Close stops the timer, cancels the request and closes the body. It is safe to call twice.
func (c *Call) Close() error {
	c.stopTimers()
	c.unlink()
	c.cancel(errClosed)
	if c.Resp != nil {
		return c.Resp.Body.Close()
	}
	return nil
}

func (c *Call) stopTimers() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	c.timer.Stop()
}

// ReadErr maps an error met while reading the body. delivered says whether any chunk has
// already gone to the caller: after that, nothing is retryable, since the router cannot take
// back what the client has seen.
func (c *Call) ReadErr(err error, delivered bool) error {
	return c.mapErr(err, delivered)
}

func (c *Call) mapErr(err error, delivered bool) error {
	if c.parent.Err() != nil {
		// The caller went away (client disconnected, or its own deadline): not an upstream
		// failure, so no apierr and no retry.
		return fmt.Errorf("%s: request cancelled: %w", c.Provider, context.Cause(c.parent))
	}
	cause := context.Cause(c.ctx)
	var te *timeoutError
	if errors.As(cause, &te) {
		e := apierr.New(http.StatusGatewayTimeout, apierr.TypeAPI, CodeUpstreamTimeout,
			fmt.Sprintf("the model provider did not answer in time (%s)", te.phase)).WithCause(fmt.Errorf("%s: %w: %w", c.Provider, te, err))
		e.Retryable = !delivered
		return e
	}
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	if delivered || started {
		e := apierr.New(http.StatusBadGateway, apierr.TypeAPI, CodeUpstreamStreamBroken,
			"the connection to the model provider broke while the answer was streaming").WithCause(fmt.Errorf("%s: %w", c.Provider, err))
		e.Retryable = !delivered
		return e
	}
	e := apierr.New(http.StatusBadGateway, apierr.TypeAPI, CodeUpstreamUnavailable,
		"the model provider could not be reached").WithCause(fmt.Errorf("%s: %w", c.Provider, err))
	e.Retryable = true
	return e
}
