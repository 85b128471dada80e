package upstream

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
)

func TestDoConnectTimeout(t *testing.T) {
	// A dialer that never connects: only the connect timer can end the call.
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}}
	req, _ := http.NewRequest(http.MethodPost, "http://upstream.invalid/x", nil)
	_, err := Do(context.Background(), hc, req, Timeouts{Connect: 20 * time.Millisecond}, "p")
	e, ok := apierr.As(err)
	if !ok || e.Status != http.StatusGatewayTimeout || !e.Retryable || !strings.Contains(e.Message, "connect") {
		t.Fatalf("err = %v", err)
	}
}

func TestDoTotalTimeoutWhileStreaming(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for {
			w.Write([]byte(": keep-alive\n\n"))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-release:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}))
	defer srv.Close()
	defer close(release)
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	c, err := Do(context.Background(), srv.Client(), req, Timeouts{Total: 60 * time.Millisecond}, "p")
	if err != nil {
		t.Fatal(err)
	}
	s := NewEventStream(c, nopDecoder{})
	defer s.Close()
	// Keep-alives reset the between-chunks timer, but not the total one.
	_, err = s.Recv()
	e, ok := apierr.As(err)
	if !ok || e.Status != http.StatusGatewayTimeout || !strings.Contains(e.Message, "total") {
		t.Fatalf("err = %v", err)
	}
}

type nopDecoder struct{}

func (nopDecoder) Event(*Event) ([]chat.Chunk, bool, error) { return nil, false, nil }
func (nopDecoder) End() ([]chat.Chunk, error)               { return nil, nil }

func TestTimeoutsValidate(t *testing.T) {
	if err := (Timeouts{BetweenChunks: -1}).Validate(); err == nil || !strings.Contains(err.Error(), "between_chunks") {
		t.Errorf("err = %v", err)
	}
	d := Timeouts{}.WithDefaults()
	if d.Connect != DefaultConnect || d.FirstByte != DefaultFirstByte || d.BetweenChunks != DefaultBetweenChunks || d.Total != DefaultTotal {
		t.Errorf("defaults = %+v", d)
	}
}

// TestBetweenChunksFollowsProgress: the between-chunks bound follows the latest event (the
// timer checks it when it goes off, see Call.idleCheck). A stream whose events come more
// often than between_chunks runs for several times that bound; once it falls silent it is cut
// after about between_chunks, not before.
func TestBetweenChunksFollowsProgress(t *testing.T) {
	const between = 60 * time.Millisecond
	silent := make(chan time.Time, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 12 { // 12 × 20 ms = 4 × between
			if i > 0 {
				time.Sleep(20 * time.Millisecond)
			}
			w.Write([]byte(": keep-alive\n\n"))
			w.(http.Flusher).Flush()
		}
		silent <- time.Now()
		<-r.Context().Done()
	}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	c, err := Do(context.Background(), srv.Client(), req, Timeouts{BetweenChunks: between}, "p")
	if err != nil {
		t.Fatal(err)
	}
	s := NewEventStream(c, nopDecoder{})
	defer s.Close()
	_, err = s.Recv()
	cut := time.Now()
	e, ok := apierr.As(err)
	if !ok || e.Status != http.StatusGatewayTimeout || !strings.Contains(e.Message, "between chunks") {
		t.Fatalf("err = %v", err)
	}
	var since time.Time
	select {
	case since = <-silent:
	default:
		t.Fatal("cut while the upstream was still sending")
	}
	// Not before between after the last event (a busy machine may fire the timer late).
	if d := cut.Sub(since); d < between-5*time.Millisecond || d > time.Second {
		t.Fatalf("cut %v after the upstream fell silent, want about %v", d, between)
	}
}

// TestDeadlinesInTurn: the call's one timer goes off first at the connect deadline; the
// call is connected by then, so it waits on for the first-byte deadline, which cuts it as a
// first-byte timeout, not earlier and not as a connect timeout.
func TestDeadlinesInTurn(t *testing.T) {
	const connect, firstByte = 20 * time.Millisecond, 100 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.(http.Flusher).Flush() // headers, then nothing
		<-r.Context().Done()
	}))
	defer srv.Close()
	start := time.Now()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	c, err := Do(context.Background(), srv.Client(), req, Timeouts{Connect: connect, FirstByte: firstByte}, "p")
	if err != nil {
		t.Fatal(err)
	}
	s := NewEventStream(c, nopDecoder{})
	defer s.Close()
	_, err = s.Recv()
	took := time.Since(start)
	e, ok := apierr.As(err)
	if !ok || e.Status != http.StatusGatewayTimeout || !strings.Contains(e.Message, "first byte") {
		t.Fatalf("err = %v", err)
	}
	// Not before the first-byte deadline (a busy machine may fire the timer late).
	if took < firstByte || took > 10*time.Second {
		t.Fatalf("cut after %v, want about %v", took, firstByte)
	}
}

// TestDoDoesNotFollowRedirects: a redirect is the upstream's answer, not a new call: it could
// lead to a host outside the region's jurisdictions.
func TestDoDoesNotFollowRedirects(t *testing.T) {
	var reached atomic.Int64
	abroad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
	defer abroad.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, abroad.URL+"/v1/chat/completions", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	for _, hc := range []*http.Client{NewHTTPClient(), srv.Client()} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(`{"model":"m"}`))
		c, err := Do(context.Background(), hc, req, Timeouts{}, "p")
		if err != nil {
			t.Fatal(err)
		}
		if c.Resp.StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("status %d, want the 307 itself", c.Resp.StatusCode)
		}
		c.Close()
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("the redirect was followed %d times", n)
	}
}

// finishDecoder emits each event's data as content and ends the answer at "stop".
type finishDecoder struct{ one [1]chat.Chunk }

func (d *finishDecoder) Event(ev *Event) ([]chat.Chunk, bool, error) {
	if string(ev.Data) == "stop" {
		d.one[0] = chat.Chunk{FinishReason: chat.FinishStop}
		return d.one[:], true, nil
	}
	d.one[0] = chat.Chunk{Delta: chat.Delta{Content: string(ev.Data)}}
	return d.one[:], false, nil
}

func (*finishDecoder) End() ([]chat.Chunk, error) { return nil, nil }

// TestCloseAfterBodyEnded: when the end of the body came with the answer's last read, Close
// has nothing to drain and starts no goroutine for it; the connection is reused either way.
func TestCloseAfterBodyEnded(t *testing.T) {
	var conns atomic.Int64
	body := "data: a\n\ndata: b\n\ndata: stop\n\n"
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		if r.URL.Path == "/whole" {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			io.WriteString(w, body) // one write: the end of the body arrives with the answer
			return
		}
		io.WriteString(w, body)
		w.(http.Flusher).Flush()
		time.Sleep(20 * time.Millisecond) // the end of the body comes later
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	hc := NewHTTPClient()
	defer hc.CloseIdleConnections()
	created := func() uint64 {
		s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	for _, tc := range []struct {
		path    string
		drained bool
	}{{"/whole", false}, {"/late", true}, {"/whole", false}} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+tc.path, strings.NewReader("{}"))
		c, err := Do(context.Background(), hc, req, Timeouts{}, "p")
		if err != nil {
			t.Fatal(err)
		}
		s := NewEventStream(c, &finishDecoder{})
		var text string
		for {
			ch, err := s.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			text += ch.Delta.Content
		}
		if text != "ab" {
			t.Fatalf("%s: answer %q", tc.path, text)
		}
		before := created()
		s.Close()
		if spawned := created() > before; spawned != tc.drained {
			t.Fatalf("%s: Close started a goroutine: %v, want %v", tc.path, spawned, tc.drained)
		}
		if tc.drained {
			time.Sleep(100 * time.Millisecond) // the drain takes the end of the body
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 3 sequential calls, want 1", n)
	}
}
