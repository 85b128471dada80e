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
	// timer restarts on every event, keep-alive comments included. Default 60s.
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
// arms no first-byte timer when FirstByte is not below Total).
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

// timeoutError is the cancellation cause a Call's timers use.
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
// of the answer arrives; Close releases the connection. A Call's timers cancel the request's
// context, which makes the transport abort the read in progress.
type Call struct {
	Provider string
	Resp     *http.Response

	parent    context.Context
	ctx       context.Context
	cancel    context.CancelCauseFunc
	unlink    func() bool // stops following parent's cancellation
	t         Timeouts
	connect   *time.Timer
	firstByte *time.Timer
	idle      *time.Timer
	total     *time.Timer

	// base is when the call began (with the monotonic clock); last is the time since base of
	// the latest progress. Progress only stores last: the between-chunks timer, when it goes
	// off, checks it and waits again for what is left, instead of being reset on every event.
	base time.Time
	last atomic.Int64

	mu      sync.Mutex // guards started, stopped and idle: Close may run on another goroutine
	started bool
	stopped bool // the timers are stopped: the idle timer must not arm itself again
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
	c.total = time.AfterFunc(t.Total, func() { cancel(errTotalTimeout) })
	if t.FirstByte < t.Total {
		// Otherwise total bounds the first byte too (a whole-answer call), and a timeout is
		// reported as what it is.
		c.firstByte = time.AfterFunc(t.FirstByte, func() { cancel(errFirstByteTimeout) })
	}
	c.connect = time.AfterFunc(t.Connect, func() { cancel(errConnectTimeout) })
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { c.connect.Stop() }}
	req = req.WithContext(httptrace.WithClientTrace(cctx, trace))
	resp, err := roundTrip(client, req)
	if err != nil {
		c.stopTimers()
		e := c.mapErr(err, false)
		unlink()
		cancel(errClosed)
		return nil, e
	}
	c.connect.Stop()
	c.Resp = resp
	return c, nil
}

// Progress records that a piece of the answer arrived: the first call stops the first-byte
// timer and starts the between-chunks timer, every call moves its deadline.
func (c *Call) Progress() {
	c.last.Store(int64(time.Since(c.base)))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.stopped {
		return
	}
	c.started = true
	if c.firstByte != nil {
		c.firstByte.Stop()
	}
	c.idle = time.AfterFunc(c.t.BetweenChunks, c.idleCheck)
}

// idleCheck runs when the between-chunks timer goes off: the call is cut if nothing arrived
// for BetweenChunks, otherwise the timer waits for the rest of that time after the latest
// piece.
func (c *Call) idleCheck() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return // the call was closed while the timer went off
	}
	silent := time.Since(c.base) - time.Duration(c.last.Load())
	if silent >= c.t.BetweenChunks {
		c.cancel(errBetweenTimeout)
		return
	}
	c.idle.Reset(c.t.BetweenChunks - silent)
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

// Close stops the timers, cancels the request and closes the body. It is safe to call twice.
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
	c.total.Stop()
	if c.firstByte != nil {
		c.firstByte.Stop()
	}
	c.connect.Stop()
	if c.idle != nil {
		c.idle.Stop()
	}
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
