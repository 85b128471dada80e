package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// target is one thing the workload is sent to.
type target struct {
	name  string
	url   string // the chat-completions URL
	key   string // bearer token
	model string // model field of the request body
	proc  *proc  // the gateway or proxy process; nil for direct
	// start, if set, starts a fresh process for this target and returns it with its URL.
	start func() (*proc, string, error)
	// client and tt are kept for the whole run, so connections opened during warm-up are
	// reused by the measured phases, as a device fleet's connections would be.
	client *http.Client
	tt     *ttftTransport
}

func newTarget(name, url, key, model string, p *proc) *target {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tt := newTTFTTransport(&http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConns:        0, // no total limit
		MaxIdleConnsPerHost: vegeta.DefaultConnections,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	})
	return &target{name: name, url: url, key: key, model: model, proc: p, tt: tt,
		client: &http.Client{Transport: tt, Timeout: vegeta.DefaultTimeout}}
}

// chatBody is the request body: the same prompt for every target; only the model differs
// (the gateway takes the alias "chat", the simulator the upstream model name).
func chatBody(model, prompt string, stream bool) []byte {
	type msg struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	type opts struct {
		IncludeUsage bool `json:"include_usage"`
	}
	b := struct {
		Model         string `json:"model"`
		Messages      []msg  `json:"messages"`
		Stream        bool   `json:"stream,omitempty"`
		StreamOptions *opts  `json:"stream_options,omitempty"`
	}{Model: model, Messages: []msg{{"user", prompt}}}
	if stream {
		b.Stream, b.StreamOptions = true, &opts{IncludeUsage: true}
	}
	out, _ := json.Marshal(b) // plain strings and bools: cannot fail
	return out
}

// maxWorkers bounds the load generator's concurrency. Vegeta adds a worker whenever all are
// busy, so the arrival rate stays fixed (an open workload) until this bound; beyond it the
// achieved rate drops, which the report shows.
const maxWorkers = 10000

// attack sends body to t at ph.Rate for dur, checks every answer and aggregates the phase.
func (t *target) attack(ctx context.Context, ph Phase, dur time.Duration, prompt string) Summary {
	c := newCollector(ph)
	t.attackInto(ctx, c, vegeta.Rate{Freq: ph.Rate, Per: time.Second}, dur, prompt)
	return c.summary()
}

// attackInto sends one slice of c's phase and adds the outcomes to c.
func (t *target) attackInto(ctx context.Context, c *collector, pacer vegeta.Pacer, dur time.Duration, prompt string) {
	ph := c.phase
	t.tt.reset()
	atk := vegeta.NewAttacker(vegeta.Client(t.client), vegeta.MaxWorkers(maxWorkers))
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()
	model := t.model
	tgt := vegeta.Target{Method: http.MethodPost, URL: t.url, Body: chatBody(model, prompt, ph.Stream),
		Header: http.Header{"Authorization": {"Bearer " + t.key}, "Content-Type": {"application/json"}}}
	results := atk.Attack(vegeta.NewStaticTargeter(tgt), pacer, dur, t.name)
	for r := range results {
		c.add(t.check(r, ph.Stream))
	}
	c.endSlice()
}

var loopbackPort = regexp.MustCompile(`127\.0\.0\.1:\d+`)

// check turns a vegeta result into an outcome: an answer counts only if it is complete.
func (t *target) check(r *vegeta.Result, stream bool) outcome {
	o := outcome{Sent: r.Timestamp, Latency: r.Latency}
	first, sawContent := t.tt.take(r.Seq)
	if sawContent {
		o.TTFT = first.Sub(r.Timestamp)
	}
	body := bytes.TrimSpace(r.Body)
	switch {
	case r.Code == 0:
		o.Err = loopbackPort.ReplaceAllString(r.Error, "127.0.0.1:PORT")
	case r.Code != http.StatusOK:
		o.Err = fmt.Sprintf("HTTP %d: %.120s", r.Code, body)
	case stream && !bytes.HasSuffix(body, []byte("data: [DONE]")):
		o.Err = "stream ended without data: [DONE]"
	case stream && !sawContent:
		o.Err = "stream without a content delta"
	case !stream && !bytes.Contains(body, contentKey):
		o.Err = "answer without content"
	}
	return o
}

// probe sends one request of each mode and returns an error describing the first answer
// that is not a complete success, so a misconfigured target fails the run at once instead
// of filling a table with errors.
func (t *target) probe(ctx context.Context, prompt string) error {
	for _, stream := range []bool{false, true} {
		ph := Phase{Target: t.name, Stream: stream, Rate: 1}
		c := newCollector(ph)
		t.attackInto(ctx, c, oncePacer{}, 0, prompt)
		s := c.summary()
		if s.Requests == 0 {
			return fmt.Errorf("%s: probe sent nothing", t.name)
		}
		if s.Errors > 0 {
			return fmt.Errorf("%s: %s probe failed: %v", t.name, ph.Mode(), s.topErrors(1))
		}
	}
	return nil
}

// oncePacer sends one request at once, then stops.
type oncePacer struct{}

func (oncePacer) Pace(_ time.Duration, hits uint64) (time.Duration, bool) { return 0, hits >= 1 }
func (oncePacer) Rate(time.Duration) float64                              { return 0 }
