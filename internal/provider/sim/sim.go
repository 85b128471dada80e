// Package sim holds loopback simulators of the model providers the gateway calls: DashScope's
// native protocol and the OpenAI-compatible protocol (as DashScope's compatible mode, vLLM or
// Ollama speak it). They speak the real wire protocols, quirks included, so the adapters are
// tested against what they will meet, and `qiao sim` lets a person run the whole gateway
// without a model account. Replies echo what the simulator received, so a privacy test can
// see that the model got placeholders, and the demo shows the restored originals.
//
// Behaviour is controlled by runtime knobs (Server.SetKnobs) and by magic markers in the last
// user message, such as [[sim:block]] (see Markers).
package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Kinds of simulator.
const (
	KindDashScope = "dashscope"
	KindOpenAI    = "openai"
)

// Knobs change the simulator's behaviour for every request. The zero value is a healthy,
// fast upstream.
type Knobs struct {
	// FirstByteDelay is the wait before the first byte of the answer (headers included).
	FirstByteDelay time.Duration
	// ChunkDelay is the wait between two streamed events.
	ChunkDelay time.Duration
	// EndDelay is the wait, after the last event of a streamed answer, before the body ends
	// (OpenAI kind: before [DONE]), as with upstreams slow to close their side.
	EndDelay time.Duration
	// ChunkRunes is how many runes each streamed delta carries. Default 4.
	ChunkRunes int
	// Reasoning makes every answer start with reasoning_content, as thinking models do. A
	// request with enable_thinking:true gets reasoning anyway.
	Reasoning bool
	// Throttle, if set, fails requests with this DashScope throttling code:
	// "Throttling", "Throttling.RateQuota", "Throttling.BurstRate" (429, retryable) or
	// "Throttling.AllocationQuota" (429, quota used up).
	Throttle string
	// ServerError, if set (500, 503, ...), fails requests with this status and InternalError.
	ServerError int
	// FailCount limits Throttle and ServerError to the next FailCount requests (then the
	// simulator recovers); 0 means every request fails while they are set.
	FailCount int
	// ErrorsIn200 sends the failures above, on streaming requests, the way DashScope often
	// does: HTTP 200 with an event:error frame (OpenAI kind: a data: {"error":...} event).
	ErrorsIn200 bool
	// CutAfter, if > 0, cuts the connection after that many streamed answer events.
	CutAfter int
	// BlockAfter, if > 0, ends every answer after that many events with an output-moderation
	// error (DataInspectionFailed / data_inspection_failed), as DashScope's Green check does.
	BlockAfter int
}

// Options configure a simulator.
type Options struct {
	// APIKeys are the accepted bearer tokens. Empty accepts any non-empty token. A wrong key
	// gets the provider's real 401 answer.
	APIKeys []string
	// Knobs are the initial knobs.
	Knobs Knobs
	// Now is the clock for timestamps; nil uses time.Now.
	Now func() time.Time
	// MaxReceived bounds the Received log (oldest dropped first). Default 1000.
	MaxReceived int
}

// Message is one message of a received request, decoded for assertions.
type Message struct {
	Role string
	// Text is the text content (text parts joined with "\n").
	Text string
	// Images are the image URLs or data URIs the message carried.
	Images []string
	// ToolCalls are the tool calls of an assistant message, as "name(arguments)".
	ToolCalls []string
}

// Received is one request as the simulator saw it.
type Received struct {
	Time   time.Time
	Method string
	Path   string
	// Header is the request's headers; Authorization is replaced by "Bearer <redacted>"
	// (AuthOK says whether the key was accepted).
	Header http.Header
	AuthOK bool
	// Body is the raw request body.
	Body     []byte
	Model    string
	Stream   bool
	Messages []Message
	// Tools are the names of the offered tools.
	Tools []string
	// Parameters are the native parameters (DashScope) or the top-level fields other than
	// model, messages and tools (OpenAI), raw.
	Parameters map[string]json.RawMessage
}

// Stats count requests.
type Stats struct {
	Requests  int64 `json:"requests"`  // all requests received
	Active    int64 `json:"active"`    // being answered now
	Completed int64 `json:"completed"` // answers written to the end
	Cancelled int64 `json:"cancelled"` // the client went away before the answer ended
	Cut       int64 `json:"cut"`       // connections cut on purpose (CutAfter, [[sim:cut]])
	// Connections counts TCP connections accepted: with a pooling client it stays low.
	Connections int64 `json:"connections"`
}

// Server is a running simulator.
type Server struct {
	kind string
	opts Options
	now  func() time.Time
	srv  *http.Server
	ln   net.Listener
	url  string

	mu       sync.Mutex
	knobs    Knobs
	failLeft int
	received []Received

	seq                                                atomic.Int64
	requests, active, completed, cancelled, cut, conns atomic.Int64
}

// NewDashScope starts a DashScope simulator on a loopback port. URL() is the base URL to
// configure (the adapter appends /api/v1/services/...).
func NewDashScope(opts Options) *Server { return start(KindDashScope, opts) }

// NewOpenAI starts an OpenAI-compatible simulator on a loopback port. URL() ends in /v1 and is
// the base URL to configure (the adapter appends /chat/completions). It also answers under
// /compatible-mode/v1.
func NewOpenAI(opts Options) *Server { return start(KindOpenAI, opts) }

func start(kind string, opts Options) *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		// Tests and the CLI both need the port; a machine that cannot open a loopback port
		// cannot run either.
		panic(fmt.Sprintf("sim: listen on loopback: %v", err))
	}
	s := newServer(kind, opts)
	s.serve(ln)
	return s
}

// New returns a simulator that is not listening yet (use Handler with your own server). It
// checks the kind and the knobs; ListenAndServe uses it.
func New(kind string, opts Options) (*Server, error) {
	if kind != KindDashScope && kind != KindOpenAI {
		return nil, fmt.Errorf("sim: unknown kind %q (want %q or %q)", kind, KindDashScope, KindOpenAI)
	}
	if err := opts.Knobs.Validate(); err != nil {
		return nil, err
	}
	return newServer(kind, opts), nil
}

func newServer(kind string, opts Options) *Server {
	s := &Server{kind: kind, opts: opts, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if s.opts.MaxReceived <= 0 {
		s.opts.MaxReceived = 1000
	}
	s.SetKnobs(opts.Knobs)
	return s
}

func (s *Server) serve(ln net.Listener) {
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	if s.kind == KindOpenAI {
		s.url += "/v1"
	}
	// ReadHeaderTimeout keeps a stuck client from holding a goroutine; there is no write
	// timeout because answers are streamed for as long as the knobs say.
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		}}
	go s.srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed on Close
}

// ListenAndServe runs a simulator of kind ("dashscope" or "openai") on addr until ctx ends.
// ready, if not nil, is called with the running server (for its URL and knobs) once it listens.
func ListenAndServe(ctx context.Context, addr, kind string, opts Options, ready func(*Server)) error {
	s, err := New(kind, opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sim: listen on %s: %w", addr, err)
	}
	s.serve(ln)
	if ready != nil {
		ready(s)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sim: shutdown: %w", err)
	}
	s.srv.Close()
	return nil
}

// Kind returns "dashscope" or "openai".
func (s *Server) Kind() string { return s.kind }

// URL returns the base URL to configure in a provider.
func (s *Server) URL() string { return s.url }

// Close stops the server and cuts open connections.
func (s *Server) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

// Handler returns the simulator's HTTP handler.
func (s *Server) Handler() http.Handler {
	api := s.serveOpenAI
	if s.kind == KindDashScope {
		api = s.serveDashScope
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, ControlPrefix) {
			s.serveControl(w, r)
			return
		}
		api(w, r)
	})
}

// SetKnobs replaces the knobs; it also restarts the FailCount budget.
func (s *Server) SetKnobs(k Knobs) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.knobs = k
	s.failLeft = k.FailCount
}

// Knobs returns the current knobs.
func (s *Server) Knobs() Knobs {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.knobs
}

// Received returns a copy of the request log, oldest first.
func (s *Server) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// Last returns the most recent request, or false if none arrived.
func (s *Server) Last() (Received, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.received) == 0 {
		return Received{}, false
	}
	return s.received[len(s.received)-1], true
}

// ResetReceived clears the request log.
func (s *Server) ResetReceived() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = nil
}

// Stats returns the request counters.
func (s *Server) Stats() Stats {
	return Stats{Requests: s.requests.Load(), Active: s.active.Load(), Completed: s.completed.Load(),
		Cancelled: s.cancelled.Load(), Cut: s.cut.Load(), Connections: s.conns.Load()}
}

func (s *Server) record(r Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = append(s.received, r)
	if over := len(s.received) - s.opts.MaxReceived; over > 0 {
		s.received = append([]Received(nil), s.received[over:]...)
	}
}

// forcedFailure returns the knob-forced failure for this request, consuming the FailCount
// budget: a throttling code, or a server-error status.
func (s *Server) forcedFailure() (throttle string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.knobs
	if k.Throttle == "" && k.ServerError == 0 {
		return "", 0
	}
	if k.FailCount > 0 {
		if s.failLeft <= 0 {
			return "", 0
		}
		s.failLeft--
	}
	return k.Throttle, k.ServerError
}

// checkKey reports whether the Authorization header holds an accepted key.
func (s *Server) checkKey(h http.Header) (ok, present bool) {
	tok, found := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	tok = strings.TrimSpace(tok)
	if !found || tok == "" {
		return false, false
	}
	if len(s.opts.APIKeys) == 0 {
		return true, true
	}
	for _, k := range s.opts.APIKeys {
		if k == tok {
			return true, true
		}
	}
	return false, true
}

func redactedHeader(h http.Header) http.Header {
	c := h.Clone()
	if c.Get("Authorization") != "" {
		c.Set("Authorization", "Bearer <redacted>")
	}
	return c
}

func (s *Server) requestID() string {
	n := s.seq.Add(1)
	return fmt.Sprintf("%08x-51a0-4c1e-9d0e-%012x", uint32(s.now().Unix()), n)
}

// sleep waits d or until ctx ends; it reports whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
