package server

import (
	"context"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/openai"
)

// readBody reads a request body under the MaxBytesReader the middleware installed.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, apierr.New(http.StatusRequestEntityTooLarge, apierr.TypeInvalidRequest, "request_too_large",
			"request body is larger than the limit of "+byteSize(mbe.Limit)).WithCause(err)
	}
	if err != nil {
		return nil, apierr.BadRequest("body_read_failed", "could not read the request body").WithCause(err)
	}
	return body, nil
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return itoa(n>>10) + " KiB"
	}
	return itoa(n) + " bytes"
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request, ex *Exchange) error {
	ex.auditable = true
	body, err := readBody(r)
	if err != nil {
		return err
	}
	req, err := openai.DecodeRequest(body, openai.Limits{MaxMessages: s.opts.MaxMessages})
	if err != nil {
		return err
	}
	ex.Alias = req.Model
	ex.PromptText = promptText(req)
	ctx := r.Context()
	var out *sseWriter
	if req.Stream {
		// Events are flushed when the answer's producer is about to wait, not one by one;
		// a wait is also a moment to hash the prompt for the audit record.
		out = newSSEWriter(w)
		ctx = chat.BeforeWait(ctx, func() {
			out.flush()
			s.hashPrompt(ex)
		})
	}
	stream, meta, err := s.Pipeline(ctx, w, ex, req)
	if err != nil {
		return err
	}
	if req.Stream {
		// The first and the last event carry the extra members: encode them once.
		if err := meta.Freeze(); err != nil {
			stream.Close()
			return err
		}
		return s.writeSSE(out, r, ex, req, stream, meta)
	}
	return s.writeCollected(w, r, ex, stream, meta)
}

// Pipeline runs the request side of the flow (privacy, input safety, routing) and wraps the
// answer stream with the response side (output moderation, restore, labels). It sets the
// per-answer headers on w. Other endpoints (the assistant) reuse it.
func (s *Server) Pipeline(ctx context.Context, w http.ResponseWriter, ex *Exchange, req *chat.Request) (chat.Stream, openai.Meta, error) {
	p := ex.Profile
	meta := openai.Meta{ID: "chatcmpl-" + strings.TrimPrefix(ex.RequestID, "req_"), Created: ex.Start.Unix(), Model: req.Model, Extra: map[string]any{}}
	var restore func(chat.Stream) chat.Stream
	if p.Protect != nil {
		prot, err := p.Protect(req)
		ex.Privacy = prot.Counts
		if err != nil {
			return nil, meta, err
		}
		restore, ex.Pseudonyms = prot.Restore, prot.Pseudonyms
		receipt := prot.Counts
		if receipt == nil {
			receipt = map[string]int{}
		}
		w.Header().Set("X-Qiao-Privacy", string(openai.AppendCounts(nil, receipt))) // keys sorted: a stable header
		meta.Extra["privacy"] = receipt
	}
	var stream chat.Stream
	if p.CheckInput != nil {
		refusal, err := p.CheckInput(ctx, ex, req)
		if err != nil {
			return nil, meta, err
		}
		stream = refusal
	}
	if stream == nil {
		// The upstream call lives as long as the client's request, and output moderation
		// can cut it short.
		uctx, cancel := context.WithCancel(ctx)
		up, target, err := s.opts.Router.Chat(uctx, ex.Region, req)
		if err != nil {
			cancel()
			return nil, meta, err
		}
		ex.Provider, ex.Model = target.Provider, target.Model
		meta.Model = target.Model
		w.Header().Set("X-Qiao-Provider", target.Provider)
		stream = &cancelOnClose{Stream: up, cancel: cancel}
		// Restored before moderation: the lexicon judges what the client will read.
		if restore != nil {
			stream = restore(stream)
		}
		if p.Moderate != nil {
			stream = p.Moderate(uctx, ex, req, stream, cancel)
		} else {
			stream = &upstreamBlock{Stream: stream, ex: ex, text: p.ContentFilterText}
		}
	}
	if p.Label != nil {
		stream = s.label(ex, &meta, stream)
	}
	return stream, meta, nil
}

// label runs the profile's label stage on the answer. Its costliest step, the implicit
// label's signature, is usually made ahead of time (label.Labeler.Fresh). A panic in it
// closes the upstream call before it goes on to ServeHTTP, which answers 500.
func (s *Server) label(ex *Exchange, meta *openai.Meta, stream chat.Stream) chat.Stream {
	defer func() {
		if v := recover(); v != nil {
			stream.Close()
			panic(v)
		}
	}()
	implicit, produceID, wrap := ex.Profile.Label(ex)
	ex.Label, ex.ProduceID = implicit, produceID
	meta.Extra["aigc"] = implicit
	if wrap != nil {
		stream = wrap(stream)
	}
	return stream
}

// promptText is what the prompt HMAC in the audit log covers: the text of every message.
func promptText(req *chat.Request) string {
	var b strings.Builder
	for i := range req.Messages {
		b.WriteString(req.Messages[i].Role)
		b.WriteByte(':')
		b.WriteString(req.Messages[i].Text())
		b.WriteByte('\n')
	}
	return b.String()
}

// hashPrompt fills ex.PromptMAC, unless it is done or the server has no ContentMAC.
func (s *Server) hashPrompt(ex *Exchange) {
	if s.opts.ContentMAC != nil && ex.PromptMAC == nil && ex.PromptText != "" {
		ex.PromptMAC = s.opts.ContentMAC.MAC(ex.PromptText)
	}
}

// answerSink keeps a streamed answer for the audit record: as a keyed hash written as the
// answer arrives when the server has a ContentMAC, else as text for the audit hook.
type answerSink struct {
	mac  ContentMACer
	h    hash.Hash
	buf  []byte // the chunk's text for h.Write: io.WriteString would allocate per chunk
	text strings.Builder
	n    int
}

func (s *Server) newAnswerSink() *answerSink {
	a := &answerSink{mac: s.opts.ContentMAC}
	if a.mac != nil {
		a.h = a.mac.New()
	}
	return a
}

func (a *answerSink) write(text string) {
	if a.h == nil {
		a.text.WriteString(text)
		return
	}
	a.n += len(text)
	a.buf = append(a.buf[:0], text...)
	a.h.Write(a.buf)
}

// done hands the answer to ex. The sink is not used afterwards.
func (a *answerSink) done(ex *Exchange) {
	if a.h == nil {
		ex.AnswerText = a.text.String()
		return
	}
	sum := a.mac.Sum(a.h)
	a.h = nil
	if a.n > 0 { // an empty answer has no hash, as with AnswerText ""
		ex.AnswerMAC = sum
	}
}

// Record writes the request's audit record. Handlers call it once the answer is complete
// and before its last bytes are sent; an error means the answer must not be served.
func (s *Server) Record(ctx context.Context, ex *Exchange) error { return s.audit(ctx, ex) }

func (s *Server) audit(ctx context.Context, ex *Exchange) error {
	ex.audited = true
	if s.opts.Audit == nil {
		return nil
	}
	// The record is written before the last bytes go out: its latency is the time to the
	// completed answer (the metrics measure again after the response).
	ex.Latency = s.now().Sub(ex.Start)
	s.hashPrompt(ex)
	if s.opts.ContentMAC != nil && ex.AnswerMAC == nil && ex.AnswerText != "" {
		ex.AnswerMAC = s.opts.ContentMAC.MAC(ex.AnswerText)
	}
	// The record is kept even if the client has gone: detach from its cancellation.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := s.opts.Audit(actx, ex)
	ex.PromptText, ex.AnswerText = "", ""
	if err == nil {
		return nil
	}
	if _, ok := apierr.As(err); ok {
		return err
	}
	return apierr.New(http.StatusServiceUnavailable, apierr.TypeAPI, "audit_unavailable",
		"the audit log cannot record this request, so it is not served; try again later").WithCause(err)
}

func (s *Server) writeCollected(w http.ResponseWriter, r *http.Request, ex *Exchange, stream chat.Stream, meta openai.Meta) error {
	resp, err := chat.Collect(stream)
	if err != nil {
		return err
	}
	ex.Usage, ex.Finish = resp.Usage, resp.FinishReason
	ex.AnswerText = resp.Message.Content
	ex.Status = http.StatusOK
	if err := s.audit(r.Context(), ex); err != nil {
		ex.Status = 0
		return err
	}
	b, err := openai.EncodeResponse(meta, resp)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	return nil
}

// sseWriter writes server-sent events into the response's buffer and sends them on flush.
// The SSE handler flushes when the answer's producer is about to wait (chat.BeforeWait) and at
// the end, so events that are ready together leave in one network write.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	buf     []byte
	pending bool  // written but not flushed
	err     error // the first write or flush error: the client has gone
}

func newSSEWriter(w http.ResponseWriter) *sseWriter {
	return &sseWriter{w: w, rc: http.NewResponseController(w)}
}

// data writes one "data:" event.
func (o *sseWriter) data(b []byte) error {
	if o.err != nil {
		return o.err
	}
	o.buf = append(append(o.buf[:0], "data: "...), b...)
	return o.write()
}

// chunk writes one chunk as a "data:" event, encoded straight into the writer's buffer.
func (o *sseWriter) chunk(meta openai.Meta, c chat.Chunk, withExtra bool) error {
	if o.err != nil {
		return o.err
	}
	var err error
	if o.buf, err = openai.AppendChunk(append(o.buf[:0], "data: "...), meta, c, withExtra); err != nil {
		return err
	}
	return o.write()
}

// write ends the event in the buffer and writes it.
func (o *sseWriter) write() error {
	o.buf = append(o.buf, "\n\n"...)
	if _, err := o.w.Write(o.buf); err != nil {
		o.err = err
		return err
	}
	o.pending = true
	return nil
}

// flush sends what has been written. An error is kept for the next data call.
func (o *sseWriter) flush() {
	if !o.pending || o.err != nil {
		return
	}
	o.pending = false
	if err := o.rc.Flush(); err != nil {
		o.err = err
	}
}

// writeSSE streams the answer as OpenAI server-sent events. Content flows through at once;
// only the finishing chunk is held until the upstream ends, so that usage and the implicit
// label can ride on the last events.
func (s *Server) writeSSE(out *sseWriter, r *http.Request, ex *Exchange, req *chat.Request, stream chat.Stream, meta openai.Meta) error {
	defer stream.Close()
	h := out.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	out.w.WriteHeader(http.StatusOK)
	send := func(c chat.Chunk, withExtra bool) error { return out.chunk(meta, c, withExtra) }
	var (
		usage  *chat.Usage
		final  chat.Chunk
		first  = true
		answer = s.newAnswerSink()
	)
	// clientGone records a stream the client abandoned: the deferred Close cancels the
	// upstream, and the request is still recorded, as cut short by the client.
	clientGone := func() error {
		ex.Status, ex.ErrCode = 499, "client_closed"
		answer.done(ex)
		if aerr := s.audit(r.Context(), ex); aerr != nil {
			s.log.Error("audit record lost for an abandoned stream", "request_id", ex.RequestID, "err", aerr)
		}
		return nil
	}
	for {
		c, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if out.err != nil || (r.Context().Err() != nil && !s.draining.Load()) {
				// The client went away (a failed write, or its connection closed, which
				// cancels the request and so the upstream call): not an upstream failure.
				return clientGone()
			}
			ex.Status, _ = apierr.Public(err)
			if e, ok := apierr.As(err); ok {
				ex.ErrCode = e.Code
			} else {
				ex.ErrCode = "internal_error"
			}
			answer.done(ex)
			out.flush() // what was sent stays sent; only the error waits for the record
			if aerr := s.audit(r.Context(), ex); aerr != nil {
				s.log.Error("audit record lost for a failed stream", "request_id", ex.RequestID, "err", aerr)
			}
			s.writeStreamError(out, err)
			return nil
		}
		if c.Usage != nil {
			usage, c.Usage = c.Usage, nil
		}
		answer.write(c.Delta.Content)
		if c.FinishReason != "" {
			final.FinishReason = c.FinishReason
			final.Delta.Content += c.Delta.Content
			final.Delta.ReasoningContent += c.Delta.ReasoningContent
			final.Delta.ToolCalls = append(final.Delta.ToolCalls, c.Delta.ToolCalls...)
			continue
		}
		if c.Delta.Empty() {
			continue
		}
		if first {
			c.Delta.Role = chat.RoleAssistant
			ex.TTFT = s.now().Sub(ex.Start)
		}
		if err := send(c, first); err != nil {
			return clientGone()
		}
		first = false
	}
	// What came in the upstream's last read leaves with the end of the answer, after the
	// record, in one write: the record is a local append (the journal) or a commit of a
	// few milliseconds, and a write now would only wake the client once more. A client
	// seen gone (its connection closed, a write failed) is recorded as such.
	if out.err != nil || (r.Context().Err() != nil && !s.draining.Load()) {
		return clientGone()
	}
	if final.FinishReason == "" {
		final.FinishReason = chat.FinishStop
	}
	if first {
		final.Delta.Role = chat.RoleAssistant
		ex.TTFT = s.now().Sub(ex.Start)
	}
	ex.Usage, ex.Finish = usage, final.FinishReason
	answer.done(ex)
	ex.Status = http.StatusOK
	if err := s.audit(r.Context(), ex); err != nil {
		ex.Status, _ = apierr.Public(err)
		s.writeStreamError(out, err)
		return nil
	}
	if err := send(final, true); err != nil {
		return nil
	}
	if req.IncludeUsage && usage != nil {
		if err := send(chat.Chunk{Usage: usage}, true); err != nil {
			return nil
		}
	}
	// No flush: net/http sends what is buffered together with the end of the chunked body
	// when the handler returns, in one write instead of two.
	out.data([]byte("[DONE]"))
	return nil
}

// writeStreamError ends a started stream with an OpenAI-style error event (no [DONE]), which
// SDKs surface as a stream error.
func (s *Server) writeStreamError(out *sseWriter, err error) {
	_, body := apierr.Public(err)
	b, _ := json.Marshal(body)
	out.data(b)
	out.flush()
}

// cancelOnClose cancels the upstream context when the stream is closed, so nothing outlives
// the request.
type cancelOnClose struct {
	chat.Stream
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.Stream.Close()
	c.cancel()
	return err
}

// upstreamBlock turns an upstream moderation block (DataInspectionFailed) into a clean end
// of the answer, for regions without an output-moderation stage of their own.
type upstreamBlock struct {
	chat.Stream
	ex   *Exchange
	text string
	done bool
}

func (u *upstreamBlock) Recv() (chat.Chunk, error) {
	if u.done {
		return chat.Chunk{}, io.EOF
	}
	c, err := u.Stream.Recv()
	if err != nil && apierr.IsContentFilter(err) {
		u.done = true
		u.Stream.Close()
		u.ex.Safety = append(u.ex.Safety, SafetyOutcome{Stage: "upstream", Action: "block", Rule: "upstream_data_inspection"})
		text := u.text
		if text == "" {
			text = "This answer was stopped by content moderation."
		}
		return chat.Chunk{Delta: chat.Delta{Content: text}, FinishReason: chat.FinishContentFilter}, nil
	}
	return c, err
}

var (
	_ chat.Stream = (*cancelOnClose)(nil)
	_ chat.Stream = (*upstreamBlock)(nil)
)

// WriteJSON sends v as a JSON response with status. Handlers mounted through Options.Routes
// use it for their answers.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(b)
	return nil
}
