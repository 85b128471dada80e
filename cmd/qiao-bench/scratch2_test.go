package main

import (
	"io"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"runtime/debug"
	"sync"
	"testing"
	"time"
)

type dbgBody struct{ io.ReadCloser }

func (b dbgBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		stacks.Store("BODY ERR "+err.Error(), true)
	}
	return n, err
}

type dbgConn struct {
	net.Conn
}

var stacks sync.Map

func (c dbgConn) Close() error {
	return c.Conn.Close()
}

func (c dbgConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil {
		stacks.Store("WRITE ERR "+err.Error(), true)
	}
	return n, err
}

var _ = debug.Stack

func TestScratch2(t *testing.T) {
	cmd := exec.Command("/tmp/qb/qiao-bench", "-key", "k")
	cmd.Env = append(os.Environ(), "QIAO_BENCH_ROLE=sim")
	p, simURL, _, err := startProc(cmd, t.TempDir(), "sim", true, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	u, _ := url.Parse(simURL)
	u.Path = ""
	d := &net.Dialer{}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u); if r.Out.Body != nil { r.Out.Body = dbgBody{r.Out.Body} } }, FlushInterval: -1,
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, DialContext: func(ctx context.Context, n, a string) (net.Conn, error) {
			c, err := d.DialContext(ctx, n, a)
			if err != nil {
				return nil, err
			}
			return dbgConn{c}, nil
		}}}
	px := httptest.NewServer(rp)
	defer px.Close()
	hit(t, px.URL)
	stacks.Range(func(k, v any) bool { t.Log(k); return true })
}
