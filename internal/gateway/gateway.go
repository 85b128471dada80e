// Package gateway assembles a running Qiao from a configuration: it opens the store, builds
// the providers (or simulators standing in for them), the router, each region's policy
// stages and the audit log, and hands them to the server. The command line and the
// end-to-end tests share it.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiao-gateway/qiao/internal/audit"
	"github.com/qiao-gateway/qiao/internal/complaint"
	"github.com/qiao-gateway/qiao/internal/config"
	"github.com/qiao-gateway/qiao/internal/label"
	"github.com/qiao-gateway/qiao/internal/limit"
	"github.com/qiao-gateway/qiao/internal/privacy"
	"github.com/qiao-gateway/qiao/internal/route"
	"github.com/qiao-gateway/qiao/internal/safety"
	"github.com/qiao-gateway/qiao/internal/server"
	"github.com/qiao-gateway/qiao/internal/tenant"
)

// Options configure Build.
type Options struct {
	Config *config.File
	// Getenv reads provider keys and secrets. Default os.Getenv.
	Getenv func(string) string
	// Simulate starts a built-in simulator for every provider whose key is not set, and
	// points the provider at it.
	Simulate bool
	Logger   *slog.Logger
	Now      func() time.Time
}

// Gateway is a built gateway, ready to serve.
type Gateway struct {
	Server *server.Server
	Keys   tenant.Store
	Audit  *audit.Writer
	Router *route.Router
	// Notices are things an operator should read at start: which providers are simulated,
	// which keys were generated, which keys are missing.
	Notices []string
	// Redis is the shared Redis client when server.redis is configured.
	Redis *redis.Client
	// Simulators maps provider names to the simulator serving them.
	Simulators map[string]string

	checkers map[string]*safety.Checker
	labelers map[string]*label.Labeler
	closers  []func() error
}

// ReloadPacks re-reads every region's safety packs (SIGHUP does this). A pack that fails to
// load is reported and the region keeps its old lexicon.
func (g *Gateway) ReloadPacks() error {
	var errs []error
	for _, name := range sortedKeys(g.checkers) {
		if err := g.checkers[name].Reload(); err != nil {
			errs = append(errs, fmt.Errorf("region %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// PurgeDaily deletes audit records past the retention period now and then once a day until
// ctx ends; the rest of the log still verifies (each purge leaves a signed anchor).
func (g *Gateway) PurgeDaily(ctx context.Context, log *slog.Logger) {
	go func() {
		t := time.NewTicker(24 * time.Hour)
		defer t.Stop()
		for {
			n, err := g.Audit.PurgeExpired(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				log.Error("audit retention purge failed", "err", err)
			case n > 0:
				log.Info("audit retention purge", "deleted", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// WatchPacks re-reads changed packs on each region's reload_interval until ctx ends.
func (g *Gateway) WatchPacks(ctx context.Context, onError func(error)) {
	for _, c := range g.checkers {
		go c.Watch(ctx, onError)
	}
}

// Close stops everything Build started, in reverse order.
func (g *Gateway) Close() error {
	var errs []error
	for i := len(g.closers) - 1; i >= 0; i-- {
		errs = append(errs, g.closers[i]())
	}
	g.closers = nil
	return errors.Join(errs...)
}

func (g *Gateway) onClose(f func() error) { g.closers = append(g.closers, f) }

func (g *Gateway) notice(format string, args ...any) {
	g.Notices = append(g.Notices, fmt.Sprintf(format, args...))
}

// Build assembles the gateway. On error, everything already started is stopped.
func Build(ctx context.Context, opts Options) (g *Gateway, err error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg := opts.Config
	g = &Gateway{Simulators: map[string]string{}, checkers: map[string]*safety.Checker{}, labelers: map[string]*label.Labeler{}}
	defer func() {
		if err != nil {
			g.Close()
			g = nil
		}
	}()
	if err := os.MkdirAll(cfg.Server.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("gateway: data directory: %w", err)
	}
	st, err := OpenStore(ctx, cfg, opts.Getenv)
	if err != nil {
		return nil, err
	}
	g.onClose(st.Close)
	g.Keys = st

	providers, err := g.buildProviders(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	metrics := server.NewMetrics()
	metrics.Registry.MustRegister(privacy.Collectors()...)
	regions := make([]route.Region, 0, len(cfg.Regions))
	for _, name := range sortedKeys(cfg.Regions) {
		regions = append(regions, routeRegion(cfg, name))
	}
	g.Router, err = route.New(regions, providers, route.Options{
		Now: opts.Now,
		Observe: func(a route.Attempt) {
			metrics.ObserveUpstream(a.Region, a.Target.Provider, a.Target.Model, a.Err, a.Elapsed)
		},
	})
	if err != nil {
		return nil, err
	}

	keys, err := cfg.Audit.LoadKeys(opts.Getenv)
	if err != nil {
		return nil, err
	}
	log, err := g.auditLog(ctx, st, cfg.Audit)
	if err != nil {
		return nil, err
	}
	g.Audit, err = audit.NewWriter(ctx, log, cfg.Audit.WriterOptions(keys))
	if err != nil {
		return nil, fmt.Errorf("gateway: audit log: %w", err)
	}
	g.onClose(g.Audit.Close)

	limiter, err := g.buildLimiter(ctx, cfg)
	if err != nil {
		return nil, err
	}
	profiles := map[string]*server.Profile{}
	policies := map[string]config.AuditPolicy{}
	for _, name := range sortedKeys(cfg.Regions) {
		p, err := g.buildProfile(cfg, name, opts)
		if err != nil {
			return nil, err
		}
		if l := cfg.Regions[name].Limits; l.RequestsPerSecond > 0 {
			rate := limit.Rate{PerSecond: l.RequestsPerSecond, Burst: l.Burst}
			region := name
			p.Limit = func(ctx context.Context, keyID string) (time.Duration, error) {
				d, err := limiter.Allow(ctx, region+":"+keyID, rate)
				return d.RetryAfter, err
			}
		}
		profiles[name] = p
		policies[name] = cfg.Regions[name].Audit
	}
	comp := &complaints{services: map[string]*complaint.Service{}, contacts: map[string]string{}, token: opts.Getenv(cfg.Server.AdminTokenEnv)}
	for name, rc := range cfg.Regions {
		comp.services[name] = &complaint.Service{Store: st, Audit: g.Audit, TimeLimit: rc.Complaints.Deadline.Std(), Now: opts.Now}
		comp.contacts[name] = rc.Complaints.Contact
	}
	if comp.token == "" {
		g.notice("admin API disabled: $%s is not set", cfg.Server.AdminTokenEnv)
	}
	im, err := g.buildImages(cfg, opts)
	if err != nil {
		return nil, err
	}
	for name, l := range g.labelers {
		im.labelers[name] = l
	}
	im.maxBytes = int(cfg.Server.MaxBodyBytes)
	for region, aliases := range im.routes {
		for alias := range aliases {
			profiles[region].ExtraModels = append(profiles[region].ExtraModels, alias)
		}
	}
	asst, err := g.buildAssistants(cfg, opts)
	if err != nil {
		return nil, err
	}
	rec := &recorder{w: g.Audit, mac: audit.NewMACer(keys.HMAC), policies: policies, log: opts.Logger}
	g.Server = server.New(server.Options{
		Router:       g.Router,
		Keys:         st,
		Profiles:     profiles,
		Metrics:      metrics,
		Logger:       opts.Logger,
		Now:          opts.Now,
		Audit:        rec.record,
		ContentMAC:   rec.mac,
		Ready:        func(ctx context.Context) error { return g.Audit.Healthy() },
		MaxBodyBytes: cfg.Server.MaxBodyBytes,
		MaxMessages:  cfg.Server.MaxMessages,
		KeyCacheTTL:  cfg.Server.KeyCacheTTL.Std(),
		Routes: map[string]server.HandlerFunc{
			"POST /v1/complaints":         comp.file,
			"GET /v1/complaints/{id}":     comp.get,
			"POST /v1/images/generations": im.generate,
			"POST /v1/assistant/turns":    asst.turn,
			"POST /v1/labels/image":       im.labelImage,
		},
		Public: map[string]http.Handler{
			"GET /admin/complaints/{id}":             comp.admin(comp.adminGet),
			"POST /admin/complaints/{id}/transition": comp.admin(comp.adminTransition),
		},
	})
	im.auditHook = g.Server.Record
	return g, nil
}

func routeRegion(cfg *config.File, name string) route.Region {
	r := cfg.Regions[name]
	out := route.Region{Name: name, Jurisdictions: r.Jurisdictions, Aliases: map[string][]route.Target{}}
	for alias, targets := range r.Models {
		if strings.HasPrefix(alias, ImageAlias) {
			continue // image routes are served by the images endpoint, not the chat router
		}
		for _, t := range targets {
			pname, model, _ := cut(t)
			out.Aliases[alias] = append(out.Aliases[alias], route.Target{
				Provider: pname, Model: model, Jurisdiction: cfg.Providers[pname].Jurisdiction,
			})
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// allower is what a profile's rate limit needs: limit.Local or limit.Redis.
type allower interface {
	Allow(ctx context.Context, key string, r limit.Rate) (limit.Decision, error)
}

// buildLimiter returns the shared Redis limiter when server.redis is set (and reachable),
// else an in-process one.
func (g *Gateway) buildLimiter(ctx context.Context, cfg *config.File) (allower, error) {
	if cfg.Server.Redis == "" {
		return &limit.Local{}, nil
	}
	client := redis.NewClient(&redis.Options{Addr: cfg.Server.Redis})
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("gateway: server.redis is %s but Redis does not answer there: %w (remove server.redis to keep limits in memory)", cfg.Server.Redis, err)
	}
	g.onClose(client.Close)
	g.Redis = client
	g.notice("using Redis at %s for shared rate limits and conversation memory", cfg.Server.Redis)
	return &limit.Redis{Client: client}, nil
}
