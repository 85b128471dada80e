package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// newTransport returns a transport whose Fallback fails the test: every request in these
// tests is one the transport must send itself, unless a test says otherwise.
func newTransport(t *testing.T) *Transport {
	t.Helper()
	tr := &Transport{Fallback: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("unexpected fallback for %s", r.URL)
		return nil, errors.New("fallback")
	})}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// countingServer is an httptest server that counts the connections it accepted.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	s := httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s, &conns
}

func post(t *testing.T, tr http.RoundTripper, ctx context.Context, u, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return tr.RoundTrip(req)
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

// TestBodies: every way an HTTP/1.1 server can end a body is read in full, and the
// connection is reused exactly when the protocol allows it.
func TestBodies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		method  string
		want    string
		reused  bool
	}{
		{"content-length", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hello")
		}, http.MethodPost, "hello", true},
		{"chunked", func(w http.ResponseWriter, r *http.Request) {
			for i := range 5 {
				fmt.Fprintf(w, "data: %d\n\n", i)
				w.(http.Flusher).Flush()
			}
		}, http.MethodPost, "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n", true},
		{"no content", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}, http.MethodPost, "", true},
		{"head", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
		}, http.MethodHead, "", true},
		{"connection close", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			io.WriteString(w, "bye")
		}, http.MethodPost, "bye", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, conns := countingServer(t, tc.handler)
			tr := newTransport(t)
			for range 3 {
				req, _ := http.NewRequest(tc.method, s.URL+"/x", strings.NewReader(`{"a":1}`))
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				if got := readAll(t, resp); got != tc.want {
					t.Fatalf("body %q, want %q", got, tc.want)
				}
			}
			want := int64(3)
			if tc.reused {
				want = 1
			}
			if got := conns.Load(); got != want {
				t.Fatalf("%d connections for 3 requests, want %d", got, want)
			}
		})
	}
}

// TestRequestOnTheWire: the server gets what net/http's client would send.
func TestRequestOnTheWire(t *testing.T) {
	var got struct {
		method, path, host, auth, ctype, body string
		length                                int64
	}
	s, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.method, got.path, got.host, got.auth, got.ctype, got.body, got.length =
			r.Method, r.URL.RequestURI(), r.Host, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b), r.ContentLength
	})
	tr := newTransport(t)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1/chat/completions?x=1", strings.NewReader(`{"model":"m"}`))
	req.Header.Set("Authorization", "Bearer k")
	req.Header.Set("Content-Type", "application/json")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	u, _ := url.Parse(s.URL)
	if got.method != "POST" || got.path != "/v1/chat/completions?x=1" || got.host != u.Host || got.auth != "Bearer k" ||
		got.ctype != "application/json" || got.body != `{"model":"m"}` || got.length != 13 {
		t.Fatalf("server saw %+v", got)
	}
}

// TestGotConn: the trace hook says whether a connection was reused, which upstream.Do uses
// to stop its connect timer.
func TestGotConn(t *testing.T) {
	s, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	tr := newTransport(t)
	var reused []bool
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) },
	})
	for range 2 {
		resp, err := post(t, tr, ctx, s.URL, "{}")
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
	}
	if len(reused) != 2 || reused[0] || !reused[1] {
		t.Fatalf("GotConn reused = %v, want [false true]", reused)
	}
}

// TestServerClosedIdle: a connection the server closed while it sat idle is not used (the
// peek finds it closed); the request goes on a new one. A POST is not sent again after it
// was written, so without the peek these requests would fail.
func TestServerClosedIdle(t *testing.T) {
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	s.Config.IdleTimeout = 20 * time.Millisecond
	s.Start()
	defer s.Close()
	tr := newTransport(t)
	for i := range 3 {
		var reused bool
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
		})
		resp, err := post(t, tr, ctx, s.URL, "{}")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if got := readAll(t, resp); got != "ok" {
			t.Fatalf("request %d: %q", i, got)
		}
		if reused {
			t.Fatalf("request %d went on a connection the server had closed", i)
		}
		time.Sleep(100 * time.Millisecond) // the server closes the idle connection
	}
}

// rawServer accepts connections and hands each, with its number, to serve.
func rawServer(t *testing.T, serve func(n int, c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(n, c)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// readRequest reads one request and its body from br.
func readRequest(br *bufio.Reader) (*http.Request, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, req.Body)
	return req, err
}

const okResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

// requestServer serves raw HTTP/1.1: for the i-th request on the n-th connection it calls
// answer, which writes to c what it likes and returns false to drop the connection. It
// returns the server's URL and the counts of connections and requests it saw.
func requestServer(t *testing.T, answer func(n, i int, c net.Conn) bool) (u string, conns, reqs *atomic.Int64) {
	t.Helper()
	conns, reqs = new(atomic.Int64), new(atomic.Int64)
	u = rawServer(t, func(n int, c net.Conn) {
		conns.Add(1)
		br := bufio.NewReader(c)
		for i := 0; ; i++ {
			if _, err := readRequest(br); err != nil {
				return
			}
			reqs.Add(1)
			if !answer(n, i, c) {
				return
			}
		}
	})
	return u, conns, reqs
}

// TestNoSecondPOST: a reused connection that the server closes after reading a POST in
// full, without answering (a model server restarting mid-generation), is an error: the
// server may have acted on the request, so it is not sent again. A GET in the same spot is.
func TestNoSecondPOST(t *testing.T) {
	for _, tc := range []struct {
		method    string
		wantErr   bool
		wantConns int64
		wantReqs  int64
	}{
		{http.MethodPost, true, 1, 2},
		{http.MethodGet, false, 2, 3},
	} {
		t.Run(tc.method, func(t *testing.T) {
			u, conns, reqs := requestServer(t, func(n, i int, c net.Conn) bool {
				if n == 0 && i == 1 {
					return false // the first connection dies after reading its second request
				}
				io.WriteString(c, okResponse)
				return true
			})
			tr := newTransport(t)
			send := func() error {
				req, _ := http.NewRequest(tc.method, u, strings.NewReader("{}"))
				resp, err := tr.RoundTrip(req)
				if err == nil {
					readAll(t, resp)
				}
				return err
			}
			if err := send(); err != nil {
				t.Fatal(err)
			}
			if err := send(); (err != nil) != tc.wantErr {
				t.Fatalf("second %s: err = %v, want error %v", tc.method, err, tc.wantErr)
			}
			if c, r := conns.Load(), reqs.Load(); c != tc.wantConns || r != tc.wantReqs {
				t.Fatalf("server saw %d connections and %d requests, want %d and %d", c, r, tc.wantConns, tc.wantReqs)
			}
		})
	}
}

// failingConn refuses writes while fail is set, as a connection the server reset does.
type failingConn struct {
	net.Conn
	fail *atomic.Bool
}

func (c failingConn) Write(p []byte) (int, error) {
	if c.fail.Load() {
		return 0, syscall.EPIPE
	}
	return c.Conn.Write(p)
}

// TestRetryWhenWriteFails: a request that could not be written on a reused connection, and
// got no answer, goes once more on a new connection (the server never saw it); one whose
// body cannot be had again does not.
func TestRetryWhenWriteFails(t *testing.T) {
	s, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	var fail atomic.Bool
	tr := newTransport(t)
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		fail.Store(false) // a new connection works
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		return failingConn{nc, &fail}, err
	}
	resp, err := post(t, tr, context.Background(), s.URL, "{}")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	fail.Store(true)
	resp, err = post(t, tr, context.Background(), s.URL, "{}")
	if err != nil {
		t.Fatalf("not retried: %v", err)
	}
	if got := readAll(t, resp); got != "ok" || conns.Load() != 2 {
		t.Fatalf("answer %q on %d connections, want ok on 2", got, conns.Load())
	}
	fail.Store(true)
	req, _ := http.NewRequest(http.MethodPost, s.URL, io.NopCloser(strings.NewReader("{}")))
	req.ContentLength = 2
	if _, err := tr.RoundTrip(req); err == nil {
		t.Fatal("a request whose body cannot be had again was sent again")
	}
}

// TestEarlyAnswer: a server that answers before reading a large body (413) and closes gets
// its answer to the caller, not the broken write.
func TestEarlyAnswer(t *testing.T) {
	s, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
	})
	tr := newTransport(t)
	resp, err := post(t, tr, context.Background(), s.URL, strings.Repeat("x", 16<<20))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(readAll(t, resp), "too large") {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// TestNoRetryAfterAnswerStarted: a connection that breaks after part of the answer came is
// an error, not a retry (the server did take the request).
func TestNoRetryAfterAnswerStarted(t *testing.T) {
	u, _, requests := requestServer(t, func(n, i int, c net.Conn) bool {
		if i == 1 {
			io.WriteString(c, "HTTP/1.1 200 O") // cut in the status line
			return false
		}
		io.WriteString(c, okResponse)
		return true
	})
	tr := newTransport(t)
	resp, err := post(t, tr, context.Background(), u, "{}")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if _, err := post(t, tr, context.Background(), u, "{}"); err == nil {
		t.Fatal("a cut status line was not an error")
	}
	if got := requests.Load(); got != 2 {
		t.Fatalf("server saw %d requests, want 2", got)
	}
}

// TestCancel: cancelling the request ends the wait for the headers and a read of the body,
// and closes the connection, so the server sees the client go.
func TestCancel(t *testing.T) {
	closed := make(chan struct{}, 2)
	release := make(chan struct{})
	defer close(release)
	u := rawServer(t, func(n int, c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := readRequest(br); err != nil {
			return
		}
		if n == 1 {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := br.ReadByte(); err == io.EOF {
			closed <- struct{}{}
		}
		<-release
	})
	tr := newTransport(t)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := post(t, tr, ctx, u, "{}"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled while waiting for headers: %v", err)
	}
	waitClosed(t, closed)

	ctx, cancel = context.WithCancel(context.Background())
	resp, err := post(t, tr, ctx, u, "{}")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("first chunk %q, %v", buf, err)
	}
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := resp.Body.Read(buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled while reading the body: %v", err)
	}
	resp.Body.Close()
	waitClosed(t, closed)
}

func waitClosed(t *testing.T, closed <-chan struct{}) {
	t.Helper()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not see the connection close")
	}
}

// TestCloseBeforeEnd: a body closed before its end closes the connection (what is left on
// it is unknown); the next request gets a new one. Close during a Read ends the Read.
func TestCloseBeforeEnd(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	s, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "part")
		w.(http.Flusher).Flush()
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	tr := newTransport(t)
	for range 2 {
		resp, err := post(t, tr, context.Background(), s.URL, "{}")
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() { _, err := resp.Body.Read(buf); done <- err }()
		time.Sleep(10 * time.Millisecond)
		resp.Body.Close()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("Read in progress returned no error after Close")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not end the Read in progress")
		}
		if _, err := resp.Body.Read(buf); err == nil {
			t.Fatal("Read after Close returned no error")
		}
	}
	if got := conns.Load(); got != 2 {
		t.Fatalf("%d connections, want 2", got)
	}
}

// TestInformational: 1xx answers before the real one are skipped; a 101 nobody asked for is
// an error.
func TestInformational(t *testing.T) {
	u := rawServer(t, func(n int, c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := readRequest(br); err != nil {
			return
		}
		if n == 0 {
			io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"+okResponse)
		} else {
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n")
		}
		io.Copy(io.Discard, br)
	})
	tr := newTransport(t)
	resp, err := post(t, tr, context.Background(), u, "{}")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || readAll(t, resp) != "ok" {
		t.Fatalf("status %d", resp.StatusCode)
	}
	tr.CloseIdleConnections()
	if _, err := post(t, tr, context.Background(), u, "{}"); err == nil || !strings.Contains(err.Error(), "101") {
		t.Fatalf("unexpected 101: %v", err)
	}
}

// TestBadResponses: what is not HTTP/1.1 is an error, and the connection is not reused.
func TestBadResponses(t *testing.T) {
	for _, tc := range []struct{ name, resp string }{
		{"garbage", "hello\r\n\r\n"},
		{"huge headers", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: " + strings.Repeat("a", 2<<20) + "\r\n\r\n"},
		{"endless 1xx", strings.Repeat("HTTP/1.1 103 Early Hints\r\nLink: </"+strings.Repeat("a", 1000)+">\r\n\r\n", 2000) + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"},
		{"extra bytes after body", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, conns, _ := requestServer(t, func(n, i int, c net.Conn) bool {
				if n > 0 || i > 0 {
					io.WriteString(c, okResponse)
					return true
				}
				io.WriteString(c, tc.resp)
				if tc.name == "short body" || tc.name == "extra bytes after body" {
					time.Sleep(20 * time.Millisecond)
				}
				return tc.name != "short body"
			})
			tr := newTransport(t)
			tr.MaxResponseHeaderBytes = 1 << 20
			resp, err := post(t, tr, context.Background(), u, "{}")
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if tc.name == "extra bytes after body" {
				if err != nil {
					t.Fatalf("the answer itself is fine: %v", err)
				}
			} else if err == nil {
				t.Fatal("no error")
			}
			// The next request works, on a new connection.
			resp, err = post(t, tr, context.Background(), u, "{}")
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, resp); got != "ok" {
				t.Fatalf("next answer %q", got)
			}
			if got := conns.Load(); got != 2 {
				t.Fatalf("%d connections, want 2", got)
			}
		})
	}
}

// TestFallback: https, proxied requests and Expect requests go to Fallback.
func TestFallback(t *testing.T) {
	var fell []string
	tr := &Transport{
		Fallback: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			fell = append(fell, r.URL.String())
			return &http.Response{StatusCode: 299, Body: http.NoBody, Request: r}, nil
		}),
		Proxy: func(r *http.Request) (*url.URL, error) {
			if r.URL.Hostname() == "proxied.example" {
				return url.Parse("http://proxy.example:3128")
			}
			return nil, nil
		},
	}
	for _, u := range []string{"https://api.example/v1", "http://proxied.example/v1", "http://proxied.example/v2"} {
		resp, err := post(t, tr, context.Background(), u, "{}")
		if err != nil || resp.StatusCode != 299 {
			t.Fatalf("%s: %v", u, err)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, "http://other.example/v1", strings.NewReader("{}"))
	req.Header.Set("Expect", "100-continue")
	if _, err := tr.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	want := []string{"https://api.example/v1", "http://proxied.example/v1", "http://proxied.example/v2", "http://other.example/v1"}
	if fmt.Sprint(fell) != fmt.Sprint(want) {
		t.Fatalf("fell back for %v, want %v", fell, want)
	}
}

// TestIdleLimits: at most MaxIdlePerHost connections stay idle, and those idle for longer
// than IdleTimeout are closed, whether or not the pool is used again.
func TestIdleLimits(t *testing.T) {
	var open atomic.Int64
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // so that the requests below overlap
		io.WriteString(w, "ok")
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	s.Start()
	defer s.Close()
	load := func(tr *Transport) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				resp, err := post(t, tr, context.Background(), s.URL, "{}")
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		wg.Wait()
	}
	tr := newTransport(t)
	tr.MaxIdlePerHost = 3
	tr.IdleTimeout = time.Hour
	load(tr)
	waitFor(t, func() bool { return open.Load() == 3 }, "not MaxIdlePerHost connections left open")
	time.Sleep(50 * time.Millisecond)
	if n := open.Load(); n != 3 {
		t.Fatalf("%d connections open, want the 3 idle ones", n)
	}
	tr.CloseIdleConnections()
	waitFor(t, func() bool { return open.Load() == 0 }, "CloseIdleConnections left connections open")

	tr = newTransport(t)
	tr.IdleTimeout = 100 * time.Millisecond
	load(tr)
	waitFor(t, func() bool { return open.Load() == 0 }, "idle connections outlived IdleTimeout")
}

func waitFor(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestNoGoroutines: the transport runs no goroutine of its own, for a request or for an
// idle connection, and nothing is left once idle connections are closed.
func TestNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	s, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, strings.Repeat("x", 10000)) })
	tr := newTransport(t)
	for range 3 {
		resp, err := post(t, tr, context.Background(), s.URL, "{}")
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
	}
	buf := make([]byte, 1<<20)
	if stacks := string(buf[:runtime.Stack(buf, true)]); strings.Count(stacks, "provider/h1.") != strings.Count(stacks, "provider/h1.Test") {
		t.Fatalf("a goroutine of the transport runs with a connection idle:\n%s", stacks)
	}
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := post(t, tr, ctx, s.URL, "{}")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	tr.CloseIdleConnections()
	s.Close()
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before }, "goroutines left behind")
}

// TestConcurrent runs many requests at once (run with -race): every answer is whole and
// belongs to its request.
func TestConcurrent(t *testing.T) {
	s, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		for range 3 {
			w.Write(b)
			w.(http.Flusher).Flush()
		}
	})
	tr := newTransport(t)
	tr.MaxIdlePerHost = 4
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 20 {
				body := fmt.Sprintf("[%d-%d]", g, i)
				resp, err := post(t, tr, context.Background(), s.URL, body)
				if err != nil {
					t.Error(err)
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(b) != strings.Repeat(body, 3) {
					t.Errorf("answer %q (%v) to %s", b, err, body)
					return
				}
			}
		})
	}
	wg.Wait()
}

// FuzzResponse feeds arbitrary bytes as a server's answer. The transport must not panic;
// when net/http's own parser takes the bytes as a final answer, the transport returns the
// same status and body; and a connection is reused only if a second request on it gets the
// second answer, not left-over bytes of the first.
func FuzzResponse(f *testing.F) {
	for _, s := range []string{
		okResponse,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nTrailer: x\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\n\r\n" + okResponse,
		"HTTP/1.0 200 OK\r\n\r\nbody until close",
		"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokgarbage",
		"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbad",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
		"garbage",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, answer []byte) {
		// The first connection answers answer, then second; any later one answers second.
		second := []byte("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")
		var dials int
		tr := &Transport{
			Fallback: roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("fallback") }),
			DialContext: func(context.Context, string, string) (net.Conn, error) {
				c := &scriptedConn{answers: [][]byte{second, second}}
				if dials == 0 {
					c.answers[0] = answer
				}
				dials++
				return c, nil
			},
		}
		defer tr.CloseIdleConnections()
		resp, err := post(t, tr, context.Background(), "http://upstream.test/x", "{}")
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			want, werr := http.ReadResponse(bufio.NewReader(bytes.NewReader(answer)), nil)
			if werr == nil && want.StatusCode >= 200 {
				if want.StatusCode != resp.StatusCode {
					t.Fatalf("status %d, net/http reads %d", resp.StatusCode, want.StatusCode)
				}
				if wbody, wrerr := io.ReadAll(want.Body); rerr == nil && wrerr == nil && !bytes.Equal(body, wbody) {
					t.Fatalf("body %q, net/http reads %q", body, wbody)
				}
			}
		}
		resp, err = post(t, tr, context.Background(), "http://upstream.test/x", "{}")
		if err != nil {
			t.Fatalf("second request: %v", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(body) != "second" {
			// Whether the first connection was reused or not, the second answer is whole.
			t.Fatalf("second answer %q, %v", body, err)
		}
	})
}

// scriptedConn is a connection to a server that answers each request (each Write: the
// transport writes a small request in one) with the next of answers, and closes the
// connection when it has no more to say.
type scriptedConn struct {
	answers [][]byte
	out     []byte
	closed  bool
}

func (c *scriptedConn) Write(p []byte) (int, error) {
	if c.closed {
		return 0, net.ErrClosed
	}
	if len(c.answers) > 0 {
		c.out = append(c.out, c.answers[0]...)
		c.answers = c.answers[1:]
	}
	return len(p), nil
}

func (c *scriptedConn) Read(p []byte) (int, error) {
	if c.closed {
		return 0, net.ErrClosed
	}
	if len(c.out) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// usableIdle is what a peek at a socket would find: nothing to read, not closed.
func (c *scriptedConn) usableIdle() bool { return !c.closed && len(c.out) == 0 }

func (c *scriptedConn) Close() error                     { c.closed = true; return nil }
func (c *scriptedConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *scriptedConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *scriptedConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptedConn) SetWriteDeadline(time.Time) error { return nil }
