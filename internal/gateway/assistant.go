package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/qiao-gateway/qiao/internal/assistant"
	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/config"
	"github.com/qiao-gateway/qiao/internal/server"
)

// assistants serves POST /v1/assistant/turns with one handler per region.
type assistants struct {
	handlers map[string]*assistant.Handler
	srv      func() *server.Server
	log      *slog.Logger
}

func (g *Gateway) buildAssistants(cfg *config.File, opts Options) (*assistants, error) {
	a := &assistants{handlers: map[string]*assistant.Handler{}, srv: func() *server.Server { return g.Server }, log: opts.Logger}
	for _, name := range sortedKeys(cfg.Regions) {
		ac := cfg.Regions[name].Assistant
		if ac.Redis == "" && cfg.Server.Redis != "" {
			ac.Redis = cfg.Server.Redis
		}
		h, err := assistant.NewHandler(ac, assistant.Options{Now: opts.Now, Logf: func(format string, args ...any) {
			opts.Logger.Info(fmt.Sprintf(format, args...), "region", name)
		}})
		if err != nil {
			return nil, fmt.Errorf("gateway: region %s: %w", name, err)
		}
		g.onClose(h.Close)
		a.handlers[name] = h
	}
	return a, nil
}

func (a *assistants) turn(w http.ResponseWriter, r *http.Request, ex *server.Exchange) error {
	ex.MarkAuditable()
	m := &pipelineModel{srv: a.srv(), ex: ex, w: w}
	err := a.handlers[ex.Region].ServeTurn(w, r, assistant.Env{Model: m, Region: ex.Region, Tenant: ex.Key.Tenant})
	if err == nil && !m.used {
		// A fast-path turn: no model was called and no content was generated. Record it
		// too (one record per request); the answer is already sent, so a failure is logged.
		ex.Status = http.StatusOK
		if aerr := a.srv().Record(r.Context(), ex); aerr != nil {
			a.log.Error("audit record lost for a fast-path turn", "request_id", ex.RequestID, "err", aerr)
		}
	}
	return err
}

// pipelineModel is the gateway pipeline as the assistant sees it.
type pipelineModel struct {
	srv  *server.Server
	ex   *server.Exchange
	w    http.ResponseWriter
	used bool
}

func (m *pipelineModel) Chat(ctx context.Context, req *chat.Request) (chat.Stream, assistant.Meta, error) {
	m.used = true
	m.ex.Alias = req.Model
	m.ex.PromptText = lastUserText(req)
	s, meta, err := m.srv.Pipeline(ctx, m.w, m.ex, req)
	if err != nil {
		return nil, assistant.Meta{}, err
	}
	out := assistant.Meta{Filing: m.ex.Profile.Filing, PrivacyReceipt: m.w.Header().Get("X-Qiao-Privacy")}
	if imp, ok := meta.Extra["aigc"]; ok {
		out.Label, _ = json.Marshal(imp)
	}
	return &auditOnEOF{Stream: s, ctx: ctx, srv: m.srv, ex: m.ex}, out, nil
}

// LocalMeta implements assistant.LocalMeta: fast-path answers carry the filing number.
func (m *pipelineModel) LocalMeta() assistant.Meta {
	return assistant.Meta{Filing: m.ex.Profile.Filing}
}

// auditOnEOF records the exchange when the answer ends, before the assistant sends its last
// bytes; if the record cannot be kept, the end of the stream becomes that error.
type auditOnEOF struct {
	chat.Stream
	ctx    context.Context
	srv    *server.Server
	ex     *server.Exchange
	answer strings.Builder
	acc    chat.Accumulator
	done   bool
}

func (s *auditOnEOF) Recv() (chat.Chunk, error) {
	c, err := s.Stream.Recv()
	if err == nil {
		s.answer.WriteString(c.Delta.Content)
		s.acc.Add(c)
		return c, nil
	}
	if errors.Is(err, io.EOF) && !s.done {
		s.done = true
		resp := s.acc.Response()
		s.ex.Usage, s.ex.Finish, s.ex.AnswerText, s.ex.Status = resp.Usage, resp.FinishReason, s.answer.String(), http.StatusOK
		if aerr := s.srv.Record(s.ctx, s.ex); aerr != nil {
			s.ex.Status = 0
			return chat.Chunk{}, aerr
		}
	}
	return c, err
}

var (
	_ assistant.Model     = (*pipelineModel)(nil)
	_ assistant.LocalMeta = (*pipelineModel)(nil)
)
