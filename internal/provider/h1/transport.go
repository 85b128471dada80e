// Package h1 is an HTTP/1.1 client transport for plain-HTTP upstreams: model servers next to
// the gateway (vLLM, SGLang, Ollama, a simulator), where the time a call spends in the client
// itself is a visible part of what the gateway adds to a request.
//
// net/http's Transport hands every request to two goroutines per connection (one writes the
// request, one reads the response headers) and back, and wakes the reader once more when a
// body ends. On a loopback call that is tens of microseconds of goroutine switches. This
// transport writes the request and reads the response on the caller's goroutine, with the
// standard library's own wire code (http.Request.Write, http.ReadResponse), and keeps idle
// connections in a pool. Whatever it does not do — TLS, proxies, Expect or Upgrade requests,
// other schemes — goes to Fallback, so the remote providers keep HTTP/2 and net/http's TLS.
package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"time"
)

// Defaults for the zero fields of Transport.
const (
	DefaultMaxIdlePerHost         = 256
	DefaultIdleTimeout            = 90 * time.Second
	DefaultMaxResponseHeaderBytes = 1 << 20
)

// Buffer sizes of a connection. The reader's is net/http's: the caller reads the body through
// its own buffer (an SSE reader) anyway. A request of a few messages is written in one write
// when it fits in writeBuf.
const (
	readBuf  = 4 << 10
	writeBuf = 8 << 10
)

// Transport is an http.RoundTripper for plain-HTTP/1.1 upstreams. Without a Fallback, the
// requests it does not send itself fail. A Transport is safe for concurrent use.
type Transport struct {
	// Fallback sends the requests this transport does not: https and other schemes, requests
	// that go through a proxy, requests with Expect or Upgrade headers.
	Fallback http.RoundTripper
	// Proxy, if set, says which requests go through a proxy (http.ProxyFromEnvironment);
	// those go to Fallback. It is asked once per host and port: the answer of
	// http.ProxyFromEnvironment does not change while the process runs.
	Proxy func(*http.Request) (*url.URL, error)
	// DialContext opens connections; nil uses a net.Dialer with a 30 s timeout and TCP
	// keep-alives.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// MaxIdlePerHost bounds the idle connections kept per host (default 256).
	MaxIdlePerHost int
	// IdleTimeout closes connections idle for longer (default 90 s).
	IdleTimeout time.Duration
	// MaxResponseHeaderBytes bounds a response's status line and headers (default 1 MiB).
	MaxResponseHeaderBytes int64
	// Now is the clock for idle times; nil uses time.Now.
	Now func() time.Time

	mu     sync.Mutex
	idle   map[string][]*conn // per host:port, oldest first; the newest is reused first
	nidle  int
	sweep  *time.Timer     // closes connections idle for too long; armed while any are idle
	direct map[string]bool // per host:port, whether Proxy sends it direct (asked once)
}

var _ http.RoundTripper = (*Transport)(nil)

// errHeaderTooLarge ends a response whose headers exceed MaxResponseHeaderBytes.
var errHeaderTooLarge = errors.New("h1: response headers too large")

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.handles(req) {
		if t.Fallback == nil {
			closeBody(req)
			return nil, fmt.Errorf("h1: no fallback transport for %s", req.URL.Redacted())
		}
		return t.Fallback.RoundTrip(req)
	}
	if req.URL.Host == "" {
		closeBody(req)
		return nil, errors.New("h1: request has no host")
	}
	ctx := req.Context()
	key := hostPort(req.URL)
	for attempt := 0; ; attempt++ {
		c, err := t.conn(ctx, key, attempt > 0)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		resp, err := c.roundTrip(req)
		if err == nil {
			return resp, nil
		}
		// A connection that sat idle may have been closed by the server just before it was
		// reused (the liveness check narrows this to a short race). The request is sent once
		// more, on a new connection, only if the server cannot have acted on it: writing it
		// failed, or nothing of an answer came back to a request that may be repeated (a
		// POST the server read in full may have been processed: a generation run, and
		// billed, twice). The router decides about the rest.
		if attempt == 0 && c.reused && ctx.Err() == nil && (c.werr != nil || c.nothingRead() && replayable(req)) {
			if again, ok := rewind(req); ok {
				req = again
				continue
			}
		}
		return nil, err
	}
}

// replayable reports whether req may be sent twice, as net/http judges it: a method without
// side effects, or a request that carries an idempotency key.
func replayable(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, key := req.Header["Idempotency-Key"]
	_, xkey := req.Header["X-Idempotency-Key"]
	return key || xkey
}

// handles reports whether the request is sent by this transport rather than Fallback.
func (t *Transport) handles(req *http.Request) bool {
	if req.URL == nil || req.URL.Scheme != "http" || req.Header.Get("Expect") != "" || req.Header.Get("Upgrade") != "" {
		return false
	}
	if t.Proxy == nil {
		return true
	}
	// Whether a host goes through a proxy depends only on the environment read once by
	// http.ProxyFromEnvironment: remember it per host.
	key := hostPort(req.URL)
	t.mu.Lock()
	direct, ok := t.direct[key]
	t.mu.Unlock()
	if ok {
		return direct
	}
	u, err := t.Proxy(req)
	direct = err == nil && u == nil
	t.mu.Lock()
	if t.direct == nil {
		t.direct = map[string]bool{}
	}
	t.direct[key] = direct
	t.mu.Unlock()
	return direct
}

// rewind returns req to be sent again, a copy with a fresh body; false if the body cannot be
// had again. The caller's request is not changed.
func rewind(req *http.Request) (*http.Request, bool) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	again := *req
	again.Body = body
	return &again, true
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// hostPort is the pool key and dial address of u: host:port, port 80 when absent.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// CloseIdleConnections closes the idle connections of this transport and of Fallback.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle, t.nidle = nil, 0
	if t.sweep != nil {
		t.sweep.Stop()
	}
	t.mu.Unlock()
	for _, cs := range idle {
		for _, c := range cs {
			c.nc.Close()
		}
	}
	if ci, ok := t.Fallback.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

func (t *Transport) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *Transport) idleTimeout() time.Duration {
	if t.IdleTimeout > 0 {
		return t.IdleTimeout
	}
	return DefaultIdleTimeout
}

// conn returns an idle connection to key that is still open, or a new one (always a new one
// if fresh).
func (t *Transport) conn(ctx context.Context, key string, fresh bool) (*conn, error) {
	for !fresh {
		c := t.takeIdle(key)
		if c == nil {
			break
		}
		if usable(c.nc) {
			c.gotConn(ctx, true)
			return c, nil
		}
		c.nc.Close()
	}
	dial := t.DialContext
	if dial == nil {
		dial = defaultDialer.DialContext
	}
	nc, err := dial(ctx, "tcp", key)
	if err != nil {
		return nil, fmt.Errorf("h1: dial %s: %w", key, err)
	}
	c := &conn{t: t, key: key, nc: nc}
	c.cr = &countReader{r: nc}
	c.br = bufio.NewReaderSize(c.cr, readBuf)
	c.bw = bufio.NewWriterSize(connWriter{c}, writeBuf)
	c.gotConn(ctx, false)
	return c, nil
}

// usable reports whether an idle connection can carry a request: alive checks a socket; a
// connection that is not one (a test's scripted connection) may say so itself.
func usable(nc net.Conn) bool {
	if u, ok := nc.(interface{ usableIdle() bool }); ok {
		return u.usableIdle()
	}
	return alive(nc)
}

var defaultDialer = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}

// takeIdle removes and returns the newest idle connection to key that has not been idle for
// too long, closing the ones that have; nil if there is none.
func (t *Transport) takeIdle(key string) *conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	cs := t.idle[key]
	if len(cs) == 0 {
		return nil
	}
	c := cs[len(cs)-1]
	cs[len(cs)-1] = nil
	t.idle[key] = cs[:len(cs)-1]
	t.nidle--
	if t.now().Sub(c.idleAt) > t.idleTimeout() {
		// It is the newest: all the others are older still.
		for _, old := range t.idle[key] {
			old.nc.Close()
		}
		t.nidle -= len(t.idle[key])
		delete(t.idle, key)
		c.nc.Close()
		return nil
	}
	return c
}

// put returns c to the idle pool, or closes it if the pool for its host is full.
func (t *Transport) put(c *conn) {
	max := t.MaxIdlePerHost
	if max <= 0 {
		max = DefaultMaxIdlePerHost
	}
	c.idleAt = t.now()
	c.reused = true
	t.mu.Lock()
	if len(t.idle[c.key]) >= max {
		t.mu.Unlock()
		c.nc.Close()
		return
	}
	if t.idle == nil {
		t.idle = map[string][]*conn{}
	}
	t.idle[c.key] = append(t.idle[c.key], c)
	t.nidle++
	if t.sweep == nil {
		t.sweep = time.AfterFunc(t.idleTimeout(), t.sweepIdle)
	} else if t.nidle == 1 {
		t.sweep.Reset(t.idleTimeout())
	}
	t.mu.Unlock()
}

// sweepIdle closes the connections idle for longer than the idle timeout, so that a pool
// nobody uses does not keep connections the servers have long given up on.
func (t *Transport) sweepIdle() {
	now := t.now()
	var stale []*conn
	t.mu.Lock()
	var next time.Duration
	for key, cs := range t.idle {
		n := 0
		for n < len(cs) && now.Sub(cs[n].idleAt) >= t.idleTimeout() {
			n++
		}
		stale = append(stale, cs[:n]...)
		t.nidle -= n
		if n == len(cs) {
			delete(t.idle, key)
			continue
		}
		t.idle[key] = append(cs[:0:0], cs[n:]...)
		if d := t.idleTimeout() - now.Sub(cs[n].idleAt); next == 0 || d < next {
			next = d
		}
	}
	if next > 0 {
		t.sweep.Reset(next)
	}
	t.mu.Unlock()
	for _, c := range stale {
		c.nc.Close()
	}
}

// conn is one connection with its buffers. It belongs to one request at a time.
type conn struct {
	t      *Transport
	key    string
	nc     net.Conn
	cr     *countReader
	br     *bufio.Reader
	bw     *bufio.Writer
	reused bool // it served a request before this one
	idleAt time.Time
	start  int64 // cr.n when the current request was sent
	werr   error // the connection refused a write of the current request
}

// connWriter writes to the connection and notes a failure: a request that could not be
// written is told apart from one whose body could not be read.
type connWriter struct{ c *conn }

func (w connWriter) Write(p []byte) (int, error) {
	n, err := w.c.nc.Write(p)
	if err != nil {
		w.c.werr = err
	}
	return n, err
}

func (c *conn) gotConn(ctx context.Context, reused bool) {
	if tr := httptrace.ContextClientTrace(ctx); tr != nil && tr.GotConn != nil {
		info := httptrace.GotConnInfo{Conn: c.nc, Reused: reused, WasIdle: reused}
		if reused {
			info.IdleTime = c.t.now().Sub(c.idleAt)
		}
		tr.GotConn(info)
	}
}

// nothingRead reports whether no byte of a response arrived for the current request.
func (c *conn) nothingRead() bool { return c.cr.n == c.start }

// roundTrip sends req on c and reads the response headers. On error c is closed.
func (c *conn) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		c.nc.Close()
		closeBody(req)
		return nil, err
	}
	// The request's cancellation closes the connection, until the body has been read to its
	// end or closed: a read or write in progress returns, and the server sees the client go.
	stop := context.AfterFunc(ctx, func() { c.nc.Close() })
	fail := func(err error) (*http.Response, error) {
		stop()
		c.nc.Close()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	c.start, c.werr = c.cr.n, nil
	err := req.Write(c.bw)
	if err == nil {
		err = c.bw.Flush()
	}
	if err != nil {
		if c.werr == nil || ctx.Err() != nil {
			return fail(fmt.Errorf("h1: write request: %w", err))
		}
		// The server may have answered before reading the whole request (a 413, a 401)
		// and closed: its answer, if it is there, says more than the broken write.
		c.nc.SetReadDeadline(time.Now().Add(earlyAnswerWait))
		resp, rerr := c.readResponse(req)
		c.nc.SetReadDeadline(time.Time{})
		if rerr != nil {
			return fail(fmt.Errorf("h1: write request: %w", err))
		}
		return c.answer(req, resp, stop, false), nil
	}
	resp, err := c.readResponse(req)
	if err != nil {
		return fail(fmt.Errorf("h1: read response: %w", err))
	}
	return c.answer(req, resp, stop, true), nil
}

// earlyAnswerWait bounds the wait for an answer the server may have sent before it stopped
// reading the request.
const earlyAnswerWait = 100 * time.Millisecond

// readResponse reads the status line and headers of the final answer to req, skipping 1xx
// answers; all of them together get MaxResponseHeaderBytes.
func (c *conn) readResponse(req *http.Request) (*http.Response, error) {
	max := c.t.MaxResponseHeaderBytes
	if max <= 0 {
		max = DefaultMaxResponseHeaderBytes
	}
	// The budget counts what the buffered reader takes from the connection, which may run
	// a buffer ahead of the headers.
	c.cr.limit = c.cr.n - int64(c.br.Buffered()) + max + readBuf
	defer func() { c.cr.limit = 0 }()
	for {
		resp, err := http.ReadResponse(c.br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			// Never asked for (Upgrade requests go to Fallback): the connection now speaks
			// something else.
			return nil, errors.New("h1: unexpected 101 Switching Protocols")
		}
		// Other 1xx answers (103 Early Hints, a stray 100 Continue) precede the real one.
		if resp.StatusCode >= 200 {
			return resp, nil
		}
	}
}

// answer returns resp with a body that gives the connection back to the pool at its end, if
// reusable and the protocol allows it.
func (c *conn) answer(req *http.Request, resp *http.Response, stop func() bool, reusable bool) *http.Response {
	reuse := reusable && !resp.Close && !req.Close && resp.ProtoAtLeast(1, 1)
	b := &body{c: c, rc: resp.Body, stop: stop, reuse: reuse, ctx: req.Context()}
	if resp.Body == http.NoBody {
		b.finish(io.EOF)
		return resp
	}
	resp.Body = b
	return resp
}

// errBodyClosed is what Read returns after Close.
var errBodyClosed = errors.New("h1: read on closed response body")

// body is a response body that gives its connection back to the pool once read to the end.
type body struct {
	c     *conn
	rc    io.ReadCloser
	stop  func() bool
	reuse bool
	ctx   context.Context

	mu   sync.Mutex
	done bool
	err  error // returned by Read once done
}

// Read implements io.Reader.
func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	done, err := b.done, b.err
	b.mu.Unlock()
	if done {
		return 0, err
	}
	n, err := b.rc.Read(p)
	if err != nil {
		if err != io.EOF {
			if ctxErr := b.ctx.Err(); ctxErr != nil {
				err = ctxErr
			}
		}
		b.finish(err)
	}
	return n, err
}

// Ended reports whether the body has been read to its end, so that its connection is back
// in the pool and nothing is left to drain.
func (b *body) Ended() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.done && b.err == io.EOF
}

// Close implements io.Closer. A body closed before its end closes the connection: what is
// left of it is unknown. Close may be called while another goroutine is in Read, which then
// returns an error.
func (b *body) Close() error {
	b.finish(errBodyClosed)
	return nil
}

// finish ends the body once, with err as what Read returns from then on. The connection goes
// back to the pool if the body was read to its end (err is io.EOF), the response allows it,
// nothing follows the body, and the request's cancellation did not touch the connection;
// otherwise it is closed.
func (b *body) finish(err error) {
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		return
	}
	b.done, b.err = true, err
	b.mu.Unlock()
	stopped := b.stop()
	if err == io.EOF && stopped && b.reuse && b.c.br.Buffered() == 0 {
		b.c.t.put(b.c)
		return
	}
	b.c.nc.Close()
}

// countReader counts the bytes read from a connection and, while limit is set, fails reads
// past it.
type countReader struct {
	r     io.Reader
	n     int64
	limit int64 // 0: none
}

func (r *countReader) Read(p []byte) (int, error) {
	if r.limit > 0 {
		if r.n >= r.limit {
			return 0, errHeaderTooLarge
		}
		if rest := r.limit - r.n; int64(len(p)) > rest {
			p = p[:rest]
		}
	}
	n, err := r.r.Read(p)
	r.n += int64(n)
	return n, err
}
