package h1

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// serverEnv makes the test binary a loopback event-stream server (TestHelperServer), so that
// BenchmarkRoundTrip calls a server in another process, as a gateway calls a model server.
const serverEnv = "H1_BENCH_SERVER"

// TestHelperServer is the server process of BenchmarkRoundTrip; it does nothing in a normal
// test run. It prints its address and serves until its standard input closes.
func TestHelperServer(t *testing.T) {
	if os.Getenv(serverEnv) == "" {
		t.Skip("helper process for BenchmarkRoundTrip")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	event := []byte("data: {\"choices\":[{\"delta\":{\"content\":\"abcd\"}}]}\n\n")
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		for range 8 {
			w.Write(event)
			w.(http.Flusher).Flush()
		}
	}))
	os.Stdout.WriteString(ln.Addr().String() + "\n")
	io.Copy(io.Discard, os.Stdin)
}

// BenchmarkRoundTrip compares one sequential call (a small POST, a streamed answer of eight
// events) through this transport and through net/http's, against a server in another
// process with one CPU.
//
//	go test -run '^$' -bench RoundTrip -benchmem ./internal/provider/h1/
func BenchmarkRoundTrip(b *testing.B) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServer$")
	cmd.Env = append(os.Environ(), serverEnv+"=1", "GOMAXPROCS=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	url := "http://" + strings.TrimSpace(addr) + "/v1/chat/completions"
	body := `{"model":"m","stream":true,"messages":[{"role":"user","content":"` + strings.Repeat("x", 200) + `"}]}`
	for _, tc := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"h1", &Transport{Fallback: http.DefaultTransport}},
		{"net-http", &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			defer tc.rt.(interface{ CloseIdleConnections() }).CloseIdleConnections()
			buf := make([]byte, 4096)
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := tc.rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := resp.Body.Read(buf); err != nil {
						if err != io.EOF {
							b.Fatal(err)
						}
						break
					}
				}
				resp.Body.Close()
			}
		})
	}
}
