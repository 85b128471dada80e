// Package server is Qiao's HTTP front: the OpenAI-compatible API, authentication and region
// resolution, the per-request pipeline (privacy, safety, routing, moderation, restore,
// labels, audit) and the server lifecycle.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/route"
	"github.com/qiao-gateway/qiao/internal/tenant"
)

// Router is what the server needs from the router.
type Router interface {
	Chat(ctx context.Context, region string, req *chat.Request) (chat.Stream, route.Target, error)
	Aliases(region string) []string
}

// Options configure a Server.
type Options struct {
	Router   Router
	Keys     tenant.Store
	Profiles map[string]*Profile // by region
	Metrics  *Metrics
	Logger   *slog.Logger
	Now      func() time.Time

	// Audit is called once per request, after the answer is complete and before its last
	// bytes are sent. An error means the record could not be kept: the request is refused
	// (non-streaming) or its stream ends with an error instead of [DONE].
	Audit func(ctx context.Context, ex *Exchange) error
	// ContentMAC, if set, keys the audit record's content hashes: the server fills
	// Exchange.PromptMAC and AnswerMAC before calling Audit. It hashes a streamed answer as
	// it arrives, and the prompt while the upstream has not answered yet, so that little is
	// left to do between the answer's end and its last bytes.
	ContentMAC ContentMACer
	// Ready reports whether dependencies (store, audit) are usable, for /readyz.
	Ready func(ctx context.Context) error

	// MaxBodyBytes limits request bodies. Default 8 MiB.
	MaxBodyBytes int64
	// MaxMessages limits messages per request. Default 1024.
	MaxMessages int
	// KeyCacheTTL is how long a looked-up key is trusted before the store is asked again;
	// it bounds how late a revocation takes effect. Default 5s; negative disables the cache.
	KeyCacheTTL time.Duration

	// Extra handlers mounted behind authentication (assistant, images, labels, ...). The
	// pattern is a net/http ServeMux pattern; the handler finds the Exchange in the context.
	Routes map[string]HandlerFunc
	// Public handlers mounted without authentication (admin endpoints do their own).
	Public map[string]http.Handler
}

// ContentMACer computes keyed content hashes (audit.MACer).
type ContentMACer interface {
	MAC(text string) []byte
	// New returns a keyed hash to write into; Sum returns its MAC and takes it back.
	New() hash.Hash
	Sum(h hash.Hash) []byte
}

// HandlerFunc is an authenticated handler. Errors are written in the OpenAI shape.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, ex *Exchange) error

// Server serves the API.
type Server struct {
	opts     Options
	mux      *http.ServeMux
	log      *slog.Logger
	now      func() time.Time
	keyCache sync.Map // hash hex -> cachedKey
	draining atomic.Bool
}

type cachedKey struct {
	key tenant.Key
	err error
	at  time.Time
}

// New builds a Server.
func New(opts Options) *Server {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 8 << 20
	}
	if opts.MaxMessages <= 0 {
		opts.MaxMessages = 1024
	}
	if opts.KeyCacheTTL == 0 {
		opts.KeyCacheTTL = 5 * time.Second
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), log: opts.Logger, now: opts.Now}
	s.mux.Handle("POST /v1/chat/completions", s.authed("chat", s.handleChat))
	s.mux.Handle("GET /v1/models", s.authed("models", s.handleModels))
	s.mux.Handle("GET /v1/compliance", s.authed("compliance", s.handleCompliance))
	for pattern, h := range opts.Routes {
		s.mux.Handle(pattern, s.authed(endpointOf(pattern), h))
	}
	for pattern, h := range opts.Public {
		s.mux.Handle(pattern, h)
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Metrics.Registry, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apierr.Write(w, apierr.New(http.StatusNotFound, apierr.TypeNotFound, "unknown_url",
			fmt.Sprintf("unknown request URL: %s %s", r.Method, r.URL.Path)))
	})
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		// A panic in one request must not take the process down or leak a stack trace to
		// the client. http.ErrAbortHandler is the one panic net/http uses on purpose.
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving request", "path", r.URL.Path, "panic", fmt.Sprint(v))
			apierr.Write(w, apierr.New(http.StatusInternalServerError, apierr.TypeAPI, "internal_error", "internal error"))
		}
	}()
	// Every response carries the three headers; authenticated handlers refine them.
	setBaseHeaders(w, newRequestID(), "", "")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		http.Error(w, "draining\n", http.StatusServiceUnavailable)
		return
	}
	if s.opts.Ready != nil {
		if err := s.opts.Ready(r.Context()); err != nil {
			s.log.Warn("not ready", "err", err)
			http.Error(w, "not ready\n", http.StatusServiceUnavailable)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ready\n")
}

// endpointOf names a route for metrics and the audit log: the first path segment after /v1/
// ("POST /v1/complaints/{id}" → "complaints").
func endpointOf(pattern string) string {
	_, path, _ := strings.Cut(pattern, " ")
	path = strings.TrimPrefix(strings.TrimPrefix(path, "/"), "v1/")
	name, _, _ := strings.Cut(path, "/")
	return name
}

func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

func setBaseHeaders(w http.ResponseWriter, id, region, provider string) {
	h := w.Header()
	h.Set("X-Request-Id", id)
	h.Set("X-Qiao-Region", orNone(region))
	h.Set("X-Qiao-Provider", orNone(provider))
}

// authed wraps an authenticated endpoint: request id, key, region, profile, standing,
// metrics and the one place errors are written.
func (s *Server) authed(endpoint string, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := &Exchange{RequestID: w.Header().Get("X-Request-Id"), Start: s.now(), Endpoint: endpoint}
		if ex.RequestID == "" {
			ex.RequestID = newRequestID()
			setBaseHeaders(w, ex.RequestID, "", "")
		}
		s.opts.Metrics.inflight.Inc()
		defer s.opts.Metrics.inflight.Dec()
		sw := &statusWriter{ResponseWriter: w}
		err := s.authenticate(r, ex)
		if err == nil {
			setBaseHeaders(w, ex.RequestID, ex.Region, "")
			if ex.Profile.Filing != "" {
				w.Header().Set("X-Qiao-Filing", ex.Profile.Filing)
			}
			r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
			err = h(sw, r.WithContext(withExchange(r.Context(), ex)), ex)
		}
		if err != nil {
			if e, ok := apierr.As(err); ok {
				ex.ErrCode = e.Code
			} else {
				ex.ErrCode = "internal_error"
			}
			if sw.wrote {
				// Headers are gone; the handler already ended the body as best it could.
				s.log.Warn("error after response started", "request_id", ex.RequestID, "err", err)
			} else {
				status, _ := apierr.Public(err)
				if status >= 500 {
					s.log.Error("request failed", "request_id", ex.RequestID, "region", ex.Region, "err", err)
				}
				apierr.Write(sw, err)
			}
		}
		if ex.Status == 0 {
			ex.Status = sw.status()
		}
		if err != nil && ex.auditable && !ex.audited {
			// Refusals and failures are audited too; nothing was completed for the client,
			// so a failure to record is logged rather than changing the answer.
			if aerr := s.audit(r.Context(), ex); aerr != nil {
				s.log.Error("audit record lost for a failed request", "request_id", ex.RequestID, "err", aerr)
			}
		}
		ex.Latency = s.now().Sub(ex.Start)
		s.opts.Metrics.observeExchange(ex)
	})
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.code, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// Unwrap lets http.ResponseController reach Flush on the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// authenticate resolves key → tenant → region → profile, failing closed.
func (s *Server) authenticate(r *http.Request, ex *Exchange) error {
	auth := r.Header.Get("Authorization")
	secret, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || strings.TrimSpace(secret) == "" {
		return apierr.New(http.StatusUnauthorized, apierr.TypeAuthentication, "missing_api_key",
			"missing API key: send it as \"Authorization: Bearer <key>\"")
	}
	key, err := s.lookupKey(r.Context(), secret)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		return apierr.New(http.StatusUnauthorized, apierr.TypeAuthentication, "invalid_api_key", "invalid API key")
	case err != nil:
		return apierr.New(http.StatusServiceUnavailable, apierr.TypeAPI, "key_store_unavailable",
			"cannot check the API key right now; try again").WithCause(err)
	case key.RevokedAt != nil:
		return apierr.New(http.StatusUnauthorized, apierr.TypeAuthentication, "key_revoked", "this API key has been revoked")
	}
	ex.Key = key
	region := strings.ToUpper(strings.TrimSpace(r.Header.Get("X-Qiao-Region")))
	switch {
	case region == "" && len(key.Regions) == 1:
		region = key.Regions[0]
	case region == "":
		return apierr.BadRequest("missing_region", fmt.Sprintf(
			"this key is bound to several regions (%s); name one with the X-Qiao-Region header", strings.Join(key.Regions, ", "))).WithParam("X-Qiao-Region")
	case !slices.Contains(key.Regions, region):
		return apierr.New(http.StatusForbidden, apierr.TypePermission, "region_not_allowed",
			fmt.Sprintf("this key may not be used in region %q", region))
	}
	p, ok := s.opts.Profiles[region]
	if !ok {
		return apierr.New(http.StatusForbidden, apierr.TypePermission, "region_not_allowed",
			fmt.Sprintf("region %q is not served by this gateway", region))
	}
	ex.Region, ex.Profile = region, p
	if p.Standing != nil {
		switch p.Standing(key.ID) {
		case "suspended":
			return apierr.New(http.StatusForbidden, apierr.TypePermission, "key_suspended",
				"this API key is suspended after repeated policy violations; contact the operator")
		case "limited":
			return apierr.New(http.StatusTooManyRequests, apierr.TypeRateLimit, "key_limited",
				"this API key is limited after repeated policy violations; try again later")
		}
	}
	if p.Limit != nil {
		wait, err := p.Limit(r.Context(), key.ID)
		if err != nil {
			return apierr.New(http.StatusServiceUnavailable, apierr.TypeAPI, "limit_unavailable",
				"cannot check the rate limit right now; try again").WithCause(err)
		}
		if wait > 0 {
			secs := int(math.Ceil(wait.Seconds()))
			e := apierr.New(http.StatusTooManyRequests, apierr.TypeRateLimit, "rate_limit_exceeded",
				fmt.Sprintf("rate limit reached for this key in region %s; retry in %ds", region, secs))
			e.Header = http.Header{"Retry-After": {strconv.Itoa(secs)}}
			return e
		}
	}
	return nil
}

func (s *Server) lookupKey(ctx context.Context, secret string) (tenant.Key, error) {
	hash := tenant.Hash(secret)
	id := hex.EncodeToString(hash)
	if s.opts.KeyCacheTTL > 0 {
		if v, ok := s.keyCache.Load(id); ok {
			c := v.(cachedKey)
			if s.now().Sub(c.at) < s.opts.KeyCacheTTL {
				return c.key, c.err
			}
		}
	}
	k, err := s.opts.Keys.KeyByHash(ctx, hash)
	if err != nil && !errors.Is(err, tenant.ErrNotFound) {
		return k, err // store trouble is not cached
	}
	if s.opts.KeyCacheTTL > 0 {
		s.keyCache.Store(id, cachedKey{key: k, err: err, at: s.now()})
	}
	return k, err
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request, ex *Exchange) error {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: []model{}}
	aliases := append(s.opts.Router.Aliases(ex.Region), ex.Profile.ExtraModels...)
	slices.Sort(aliases)
	for _, a := range aliases {
		list.Data = append(list.Data, model{ID: a, Object: "model", OwnedBy: "qiao:" + ex.Region})
	}
	return WriteJSON(w, http.StatusOK, list)
}

func (s *Server) handleCompliance(w http.ResponseWriter, r *http.Request, ex *Exchange) error {
	body := ex.Profile.Compliance
	if body == nil {
		body = map[string]any{"region": ex.Region, "filings": []any{}}
	}
	return WriteJSON(w, http.StatusOK, body)
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully: it stops accepting,
// tells open streams to finish (they get up to grace), then closes what is left.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	hs := &http.Server{
		Handler: s,
		// Headers must arrive quickly; slow-loris clients are cut off.
		ReadHeaderTimeout: 10 * time.Second,
		// Bodies are at most MaxBodyBytes; a minute is generous even on a slow phone link.
		ReadTimeout: 60 * time.Second,
		// No WriteTimeout: streamed answers legitimately last minutes; upstream
		// between-chunk timeouts bound a stalled stream instead.
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 64 << 10,
		BaseContext:    func(net.Listener) context.Context { return base },
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.draining.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		// Grace is over: cancel what is still running (upstream calls included) and close.
		cancelBase()
		hs.Close()
	}
	<-errc
	if err != nil {
		return fmt.Errorf("server: shutdown after %s grace: %w", grace, err)
	}
	return nil
}
