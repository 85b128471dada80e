package assistant

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	_ "time/tzdata" // device time zones must resolve even on hosts without a zoneinfo database

	"golang.org/x/text/language"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/when"
)

// MaxBodyBytes bounds a turn request body.
const MaxBodyBytes = 1 << 20

// Options are the process-level dependencies of a Handler.
type Options struct {
	// Memory overrides the store chosen from Config (Redis when Config.Redis is set,
	// else in-process).
	Memory Memory
	// Now is the server clock, used when a device sends no time. Default time.Now.
	Now func() time.Time
	// Logf receives operational messages (never utterances). Default: discard.
	Logf func(format string, args ...any)
}

// Env is the per-request context the server supplies after authentication.
type Env struct {
	// Model is the gateway pipeline for this tenant and region. Nil means the model path
	// is unavailable: turns the fast path cannot answer get a 503.
	Model Model
	// Region is the region the request is served in (for logs).
	Region string
	// Tenant scopes conversation memory, so one tenant never sees another's.
	Tenant string
}

// Handler serves assistant turns for one region profile.
type Handler struct {
	cfg     Config
	res     *when.Resolver
	mem     Memory
	closer  io.Closer
	matcher language.Matcher
	now     func() time.Time
	logf    func(string, ...any)
	confirm map[string]bool
}

// NewHandler returns a handler for cfg. It validates cfg.
func NewHandler(cfg Config, opts Options) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	calID := cfg.Calendar
	if calID == "none" {
		calID = ""
	}
	cal, err := when.LoadCalendar(calID)
	if err != nil {
		return nil, fmt.Errorf("assistant: %w", err)
	}
	h := &Handler{cfg: cfg, res: when.NewResolver(cal), now: opts.Now, logf: opts.Logf, confirm: map[string]bool{}}
	if h.now == nil {
		h.now = time.Now
	}
	if h.logf == nil {
		h.logf = func(string, ...any) {}
	}
	for _, n := range cfg.ConfirmIntents {
		h.confirm[n] = true
	}
	tags := make([]language.Tag, 0, len(cfg.Locales))
	for _, l := range cfg.Locales {
		tags = append(tags, language.MustParse(l))
	}
	h.matcher = language.NewMatcher(tags)
	switch {
	case opts.Memory != nil:
		h.mem = opts.Memory
	case cfg.Redis != "":
		rs := NewRedisStore(cfg.Redis, cfg.RedisPrefix)
		h.mem, h.closer = rs, rs
	default:
		h.mem = NewMemStore()
	}
	return h, nil
}

// Close releases the memory store's connections.
func (h *Handler) Close() error {
	if h.closer != nil {
		return h.closer.Close()
	}
	return nil
}

// ServeTurn handles POST /v1/assistant/turns for an authenticated caller. It returns
// *apierr.Error values for bad input and model failures before any byte was written; the
// caller writes them with apierr.Write. With "stream": true the answer is Server-Sent
// Events (see docs/assistant.md); errors after the stream started are sent as an
// "error" event and ServeTurn returns nil.
func (h *Handler) ServeTurn(w http.ResponseWriter, r *http.Request, env Env) error {
	if r.Method != http.MethodPost {
		return apierr.New(http.StatusMethodNotAllowed, apierr.TypeInvalidRequest, "method_not_allowed", "use POST")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apierr.New(http.StatusRequestEntityTooLarge, apierr.TypeInvalidRequest, "body_too_large",
				fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes))
		}
		return apierr.BadRequest(CodeInvalidBody, "could not read the request body").WithCause(err)
	}
	req, err := h.decodeTurn(body)
	if err != nil {
		return err
	}
	if !req.Stream {
		resp, err := h.Turn(r.Context(), req, env)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/json")
		return json.NewEncoder(w).Encode(resp)
	}
	sse := &sseWriter{w: w}
	resp, err := h.turn(r.Context(), req, env, sse.delta)
	if err != nil {
		if !sse.started {
			return err
		}
		_, pub := apierr.Public(err)
		sse.event("error", pub)
		return nil
	}
	sse.event("turn", resp)
	return nil
}

// sseWriter writes Server-Sent Events, sending the headers with the first event.
type sseWriter struct {
	w       http.ResponseWriter
	started bool
}

func (s *sseWriter) start() {
	if s.started {
		return
	}
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	s.w.WriteHeader(http.StatusOK)
}

func (s *sseWriter) event(name string, v any) error {
	s.start()
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", name, b); err != nil {
		return err
	}
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

func (s *sseWriter) delta(text string) error {
	return s.event("delta", map[string]string{"text": text})
}

// Turn answers one turn without streaming. It is what ServeTurn does for "stream": false,
// for callers that are not HTTP (CLI demo, tests).
func (h *Handler) Turn(ctx context.Context, req *TurnRequest, env Env) (*TurnResponse, error) {
	return h.turn(ctx, req, env, nil)
}

func (h *Handler) turn(ctx context.Context, req *TurnRequest, env Env, onDelta func(string) error) (*TurnResponse, error) {
	t, err := h.validate(req)
	if err != nil {
		return nil, err
	}
	id := req.ConversationID
	if id == "" {
		id = newConversationID()
	}
	key := env.Tenant + "/" + id
	st, err := h.mem.Load(ctx, key)
	if err != nil {
		// Memory is a convenience: answer without it rather than fail the turn.
		h.logf("assistant: region %s: load conversation memory: %v", env.Region, err)
	}
	if st == nil {
		st = &State{}
	}

	var fr *fastResult
	ok := false
	if st.Pending != nil {
		fr, ok = h.followUp(t, st.Pending, req.Utterance)
	}
	if !ok {
		fr, ok = h.understand(t, req.Utterance)
	}
	var resp *TurnResponse
	if ok {
		resp = h.fastResponse(t, fr, env)
		st.Pending = fr.pending
	} else {
		if env.Model == nil {
			return nil, apierr.New(http.StatusServiceUnavailable, apierr.TypeAPI, "model_unavailable",
				"this request needs the model, which is not available")
		}
		resp, err = h.modelTurn(ctx, t, env.Model, st, onDelta)
		if err != nil {
			return nil, err
		}
		st.Pending = nil
	}
	resp.ConversationID = id
	st.Messages = append(st.Messages, MemoryMessage{Role: chat.RoleUser, Content: req.Utterance}, MemoryMessage{Role: chat.RoleAssistant, Content: memoryText(resp)})
	if n := h.cfg.MemoryTurns; len(st.Messages) > n {
		st.Messages = st.Messages[len(st.Messages)-n:]
	}
	if err := h.mem.Save(ctx, key, st, h.cfg.MemoryTTL); err != nil {
		h.logf("assistant: region %s: save conversation memory: %v", env.Region, err)
	}
	return resp, nil
}

// memoryText is what the conversation remembers of an answer.
func memoryText(r *TurnResponse) string {
	s := r.DisplayText
	if len(r.Actions) > 0 {
		names := make([]string, len(r.Actions))
		for i, a := range r.Actions {
			names[i] = a.Intent
		}
		s += " [actions: " + strings.Join(names, ", ") + "]"
	}
	return s
}

func newConversationID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "c_" + hex.EncodeToString(b[:])
}

func (h *Handler) fastResponse(t *turn, r *fastResult, env Env) *TurnResponse {
	resp := &TurnResponse{Path: PathFast, Intent: r.intent, DisplayText: r.text, SpeechText: speech(r.text, h.cfg.SpeechMaxRunes),
		Actions: []Action{}, ExpectFollowUp: r.clarify}
	if r.isAction() {
		raw, _ := json.Marshal(r.params)
		resp.Actions = append(resp.Actions, Action{Intent: r.intent, Parameters: raw, NeedsConfirmation: h.confirm[r.intent]})
	}
	if lm, ok := env.Model.(LocalMeta); ok {
		m := lm.LocalMeta()
		resp.Label, resp.PrivacyReceipt, resp.Filing = m.Label, m.PrivacyReceipt, m.Filing
	}
	return resp
}

// modelTurn sends the turn through the gateway pipeline.
func (h *Handler) modelTurn(ctx context.Context, t *turn, m Model, st *State, onDelta func(string) error) (*TurnResponse, error) {
	history := make([]chat.Message, 0, len(st.Messages))
	for _, x := range st.Messages {
		history = append(history, chat.Message{Role: x.Role, Content: x.Content})
	}
	req := h.modelRequest(t, history)
	stream, meta, err := m.Chat(ctx, req)
	if err != nil {
		return nil, err
	}
	defer stream.Close()
	var acc chat.Accumulator
	for {
		c, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		acc.Add(c)
		if onDelta != nil && c.Delta.Content != "" {
			if err := onDelta(c.Delta.Content); err != nil {
				return nil, fmt.Errorf("assistant: write stream: %w", err)
			}
		}
	}
	res := acc.Response()
	acts, dropped := h.actions(t, res.Message.ToolCalls)
	if dropped > 0 {
		h.logf("assistant: dropped %d tool calls that did not match a declared intent", dropped)
	}
	text := strings.TrimSpace(res.Message.Content)
	if text == "" && len(acts) > 0 {
		text = h.word("done", t.lang, nil)
	}
	if text == "" {
		text = h.word("no_model", t.lang, nil)
	}
	if acts == nil {
		acts = []Action{}
	}
	return &TurnResponse{Path: PathModel, DisplayText: text, SpeechText: speech(text, h.cfg.SpeechMaxRunes), Actions: acts,
		ExpectFollowUp: len(acts) == 0 && endsWithQuestion(text),
		Label:          meta.Label, PrivacyReceipt: meta.PrivacyReceipt, Filing: meta.Filing}, nil
}

func endsWithQuestion(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasSuffix(s, "?") || strings.HasSuffix(s, "？") || strings.HasSuffix(s, "吗") || strings.HasSuffix(s, "呢")
}
