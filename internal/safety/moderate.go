package safety

import (
	"context"
	"errors"
	"io"
	"unicode/utf8"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
)

// Moderate wraps an answer stream with hold-and-release output moderation. Content and
// reasoning_content are each scanned as they arrive; text is released as soon as it can
// no longer become part of a match, and never more than OutputWindow characters are held
// back. With a guard model on output, released text is further held until the end of a
// sentence (at most guard.output_hold characters) and judged before it goes out.
//
// On a block, or when the upstream reports its own moderation block mid-stream (an
// apierr content_filter error such as DashScope's DataInspectionFailed), Moderate calls
// cancel, closes the upstream, drops everything held, and ends the answer with one chunk
// carrying the refusal and finish_reason content_filter, then io.EOF. Nothing that took
// part in the block is ever returned. Tool-call deltas pass through unchanged.
func (c *Checker) Moderate(ctx context.Context, meta Meta, s chat.Stream, cancel context.CancelFunc) chat.Stream {
	lx := c.lex.Load()
	m := &modStream{
		c: c, ctx: ctx, lx: lx, meta: meta, up: s, cancel: cancel,
		window:  c.cfg.OutputWindow,
		content: channel{lx: lx}, reasoning: channel{lx: lx},
	}
	m.content.scanner() // the reasoning channel's waits for reasoning text: most answers have none
	m.useGuard = c.guard != nil && c.cfg.Guard.Output
	return m
}

type channel struct {
	lx   *lexicon
	sc   *scanner // nil until scanner is called
	held []byte   // raw text not yet released; held[0] is at raw offset base
	base int64
}

// scanner returns the channel's scanner, made on first use.
func (ch *channel) scanner() *scanner {
	if ch.sc == nil {
		ch.sc = newScanner(ch.lx)
		ch.sc.deferCombos = true
	}
	return ch.sc
}

// push scans text and holds it.
func (ch *channel) push(text string) {
	if text == "" {
		return
	}
	ch.held = append(ch.held, text...)
	ch.scanner().feed(text)
}

// windowCut returns where the output window cuts the held text: everything before it would
// leave the hold at more than window runes.
func (ch *channel) windowCut(window int) int64 {
	// Every rune the walk back steps over is at least one byte: with no more than window
	// bytes held the bound cannot cut, and the walk (on every chunk) is skipped.
	if len(ch.held) <= window {
		return 0
	}
	// Count back from what the scanner consumed: the first bytes of a rune split across
	// chunks are not a rune yet (each would count as one).
	i, n := int(ch.sc.raw-ch.base), 0
	for i > 0 && n < window {
		_, size := utf8.DecodeLastRune(ch.held[:i])
		i -= size
		n++
	}
	return int64(i)
}

// decideAtWindow makes the scanner decide, failing closed, whatever holds text the output
// window is about to release undecided: a match still waiting for its word boundary, a
// combo still waiting for an unless term.
func (ch *channel) decideAtWindow(window int) {
	if ch.sc == nil {
		return
	}
	if i := ch.windowCut(window); i > ch.sc.holdFrom()-ch.base {
		ch.sc.decideBefore(ch.base + i)
	}
}

// finish tells the scanner, if there is one, that the text has ended.
func (ch *channel) finish() {
	if ch.sc != nil {
		ch.sc.finish()
	}
}

// release returns the text that can go out: everything before the scanner's hold point,
// and more if more than window characters would stay held.
func (ch *channel) release(window int, all bool) string {
	if ch.sc == nil {
		return "" // no text yet
	}
	cut := int64(len(ch.held))
	if !all {
		cut = ch.sc.holdFrom() - ch.base
		if i := ch.windowCut(window); i > cut {
			cut = i
		}
		if consumed := ch.sc.raw - ch.base; cut > consumed {
			cut = consumed
		}
	}
	if cut <= 0 {
		return ""
	}
	out := string(ch.held[:cut])
	ch.held = append(ch.held[:0], ch.held[cut:]...)
	ch.base += cut
	return out
}

type modStream struct {
	c      *Checker
	ctx    context.Context
	lx     *lexicon
	meta   Meta
	up     chat.Stream
	cancel context.CancelFunc
	window int

	content, reasoning channel

	useGuard bool
	gheld    []byte // content released by the lexicon, waiting for the guard
	approved []byte // content the guard passed, most recent part, for context

	roleSent bool
	out      []chat.Chunk
	done     bool
	err      error // returned after out drains; nil means io.EOF
	closed   bool
}

var _ chat.Stream = (*modStream)(nil)

func (m *modStream) Recv() (chat.Chunk, error) {
	for {
		if len(m.out) > 0 {
			c := m.out[0]
			m.out = m.out[1:]
			if c.Delta.Role != "" {
				m.roleSent = true
			}
			return c, nil
		}
		if m.done {
			if m.err != nil {
				return chat.Chunk{}, m.err
			}
			return chat.Chunk{}, io.EOF
		}
		c, err := m.up.Recv()
		switch {
		case errors.Is(err, io.EOF):
			m.finish(chat.Chunk{})
			m.done = true
		case err != nil && apierr.IsContentFilter(err):
			m.block(Decision{Stage: "upstream", Source: "upstream", Rule: "upstream/data_inspection"})
		case err != nil:
			// Held text was never fully checked; it goes nowhere.
			m.stop()
			m.done, m.err = true, err
		default:
			m.step(c)
		}
	}
}

// step scans one upstream chunk and queues what may go out.
func (m *modStream) step(c chat.Chunk) {
	m.content.push(c.Delta.Content)
	m.reasoning.push(c.Delta.ReasoningContent)
	m.content.decideAtWindow(m.window)
	m.reasoning.decideAtWindow(m.window)
	if m.checkBlock() {
		return
	}
	if c.FinishReason != "" {
		m.finish(c)
		m.done = true
		return
	}
	out := chat.Chunk{Delta: chat.Delta{Role: c.Delta.Role, ToolCalls: c.Delta.ToolCalls}, Usage: c.Usage}
	out.Delta.ReasoningContent = m.reasoning.release(m.window, false)
	text := m.content.release(m.window, false)
	if m.useGuard {
		var ok bool
		if text, ok = m.guardStep(text, false); !ok {
			return
		}
	}
	out.Delta.Content = text
	if !out.Delta.Empty() || out.Usage != nil {
		m.out = append(m.out, out)
	}
}

// finish ends the answer: the scanners see the end of text, and everything held that
// passes goes out with the final chunk's finish reason and usage.
func (m *modStream) finish(last chat.Chunk) {
	m.content.finish()
	m.reasoning.finish()
	if m.checkBlock() {
		return
	}
	out := chat.Chunk{Delta: chat.Delta{Role: last.Delta.Role, ToolCalls: last.Delta.ToolCalls}, FinishReason: last.FinishReason, Usage: last.Usage}
	out.Delta.ReasoningContent = m.reasoning.release(m.window, true)
	text := m.content.release(m.window, true)
	if m.useGuard {
		var ok bool
		if text, ok = m.guardStep(text, true); !ok {
			return
		}
	}
	out.Delta.Content = text
	if !out.Delta.Empty() || out.Usage != nil || out.FinishReason != "" {
		m.out = append(m.out, out)
	}
	m.reportFlags()
}

// checkBlock turns a lexicon block in either channel into the end of the answer.
func (m *modStream) checkBlock() bool {
	for _, sc := range [2]*scanner{m.content.sc, m.reasoning.sc} {
		if sc == nil {
			continue
		}
		if h := sc.block; h != nil {
			d := Decision{Stage: "output", Source: "lexicon", Rule: h.Rule, Category: h.Category}
			if m.c.cfg.RecordTerm {
				d.Term = h.Term
			}
			m.block(d)
			return true
		}
	}
	return false
}

// sentenceEnd reports whether b ends with, or contains, the end of a sentence; it returns
// the offset just past the last one.
func sentenceEnd(b []byte) int {
	for i := len(b); i > 0; {
		r, size := utf8.DecodeLastRune(b[:i])
		switch r {
		case '。', '！', '？', '!', '?', '.', '\n', '；', ';', '…':
			return i
		}
		i -= size
	}
	return -1
}

// guardStep adds lexicon-released text to the guard's hold and returns what the guard
// let through. ok is false when the answer was stopped.
func (m *modStream) guardStep(text string, final bool) (string, bool) {
	m.gheld = append(m.gheld, text...)
	cut := len(m.gheld)
	if !final {
		cut = sentenceEnd(m.gheld)
		if cut < 0 {
			if utf8.RuneCount(m.gheld) < m.c.cfg.Guard.OutputHold {
				return "", true
			}
			cut = len(m.gheld)
		}
	}
	ps := m.meta.Pseudonyms
	if ps != nil && !final {
		cut = ps.SafeCut(string(m.gheld), cut) // a value split here would reach the guard in part
	}
	if cut == 0 {
		return "", true
	}
	piece := string(m.gheld[:cut])
	if ps != nil {
		piece = ps.ConcealString(piece)
	}
	// approved holds what the guard passed, already pseudonymized.
	v, err := m.c.guard.check(m.ctx, m.meta.Prompt, string(m.approved)+piece, true)
	switch {
	case err != nil && (m.c.cfg.FailOpen || m.c.cfg.Guard.FailOpen):
		m.c.notify(m.meta, Decision{Action: ActionFlag, Stage: "output", Source: "guard", Rule: "guard/unavailable", PackVersion: m.lx.version})
	case err != nil:
		m.stop()
		m.done, m.err = true, unavailable(err)
		return "", false
	case v.Unsafe:
		m.block(Decision{Stage: "output", Source: "guard", Rule: guardRule(v), Category: v.Category})
		return "", false
	}
	out := string(m.gheld[:cut])
	m.approved = append(m.approved, piece...)
	if max := 4 * m.c.cfg.Guard.MaxChars; len(m.approved) > 2*max {
		m.approved = append(m.approved[:0], m.approved[len(m.approved)-max:]...)
	}
	m.gheld = append(m.gheld[:0], m.gheld[cut:]...)
	return out, true
}

// block stops the answer with the refusal.
func (m *modStream) block(d Decision) {
	m.stop()
	d.Action = ActionBlock
	d.PackVersion = m.lx.version
	d.refusal = m.c.Refusal(m.meta.Locale)
	d = m.c.record(m.meta, d)
	end := chat.Chunk{Delta: chat.Delta{Content: d.refusal}, FinishReason: chat.FinishContentFilter}
	if !m.roleSent {
		end.Delta.Role = chat.RoleAssistant
	}
	m.out = append(m.out[:0], end)
	m.done = true
}

// stop cancels and closes the upstream and drops everything held.
func (m *modStream) stop() {
	if m.cancel != nil {
		m.cancel()
	}
	m.closeUp()
	m.content.held, m.reasoning.held, m.gheld = nil, nil, nil
}

func (m *modStream) reportFlags() {
	var flags []Hit
	for _, sc := range [2]*scanner{m.content.sc, m.reasoning.sc} {
		if sc != nil {
			flags = m.c.appendFlags(flags, sc.flags)
		}
	}
	if len(flags) > 0 {
		m.c.notify(m.meta, Decision{Action: ActionFlag, Stage: "output", Source: "lexicon", Flags: flags, PackVersion: m.lx.version})
	}
}

func (m *modStream) closeUp() {
	if !m.closed {
		m.closed = true
		m.up.Close()
	}
}

// Close releases the upstream.
func (m *modStream) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	return m.up.Close()
}
