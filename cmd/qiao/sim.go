package main

import (
	"context"
	"fmt"
	"time"

	"github.com/qiao-gateway/qiao/internal/provider/sim"
)

type simCmd struct {
	kind, addr string
	knobs      sim.Knobs
	keys       listFlag
}

func parseSim(m *Main, args []string) (command, error) {
	c := &simCmd{}
	fs := m.newFlagSet("sim", "sim [--kind dashscope|openai] [--addr HOST:PORT] [knobs]")
	fs.StringVar(&c.kind, "kind", sim.KindDashScope, "protocol to speak: dashscope (native) or openai (OpenAI-compatible)")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:9090", "listen address (loopback only is recommended)")
	fs.Var(&c.keys, "key", "accepted API key; repeat for several (default: any non-empty key)")
	fs.DurationVar(&c.knobs.FirstByteDelay, "first-byte-delay", 0, "wait before the first byte of each answer")
	fs.DurationVar(&c.knobs.ChunkDelay, "chunk-delay", 20*time.Millisecond, "wait between streamed events")
	fs.IntVar(&c.knobs.ChunkRunes, "chunk-runes", 4, "runes per streamed delta")
	fs.BoolVar(&c.knobs.Reasoning, "reasoning", false, "start every answer with reasoning_content")
	fs.StringVar(&c.knobs.Throttle, "throttle", "", "fail with this throttling code (Throttling.RateQuota, Throttling.AllocationQuota, ...)")
	fs.IntVar(&c.knobs.ServerError, "server-error", 0, "fail with this HTTP status (500, 503, ...)")
	fs.IntVar(&c.knobs.FailCount, "fail-count", 0, "limit forced failures to the next N requests (0: all)")
	fs.BoolVar(&c.knobs.ErrorsIn200, "errors-in-200", false, "send streaming failures as HTTP 200 error events, as DashScope often does")
	fs.IntVar(&c.knobs.CutAfter, "cut-after", 0, "cut the connection after N streamed events")
	fs.IntVar(&c.knobs.BlockAfter, "block-after", 0, "end answers with an output-moderation error after N events")
	return c, fs.Parse(args)
}

func (c *simCmd) run(ctx context.Context, m *Main) error {
	return sim.ListenAndServe(ctx, c.addr, c.kind, sim.Options{APIKeys: c.keys, Knobs: c.knobs}, func(s *sim.Server) {
		fmt.Fprintf(m.Stdout, "qiao sim: a %s simulator (not a real model) is listening; base URL %s\n", c.kind, s.URL())
		fmt.Fprintln(m.Stdout, "Magic markers in the last user message change one answer: see docs/providers.md.")
		if m.Listening != nil {
			m.Listening(s.URL())
		}
	})
}
