package gateway

import (
	"context"
	"fmt"
	"strings"

	"github.com/qiao-gateway/qiao/internal/config"
	"github.com/qiao-gateway/qiao/internal/provider"
	"github.com/qiao-gateway/qiao/internal/provider/sim"
	"github.com/qiao-gateway/qiao/internal/provider/upstream"
	"github.com/qiao-gateway/qiao/internal/route"
)

// buildProviders makes one provider per configured entry. A provider whose key is missing is
// pointed at a fresh in-process simulator when opts.Simulate is set; otherwise it is kept,
// and every call to it fails with a clear "credential not configured" error. Either way the
// operator is told at start.
func (g *Gateway) buildProviders(ctx context.Context, cfg *config.File, opts Options) (map[string]route.Provider, error) {
	out := map[string]route.Provider{}
	shared := upstream.NewHTTPClient()
	for _, name := range sortedKeys(cfg.Providers) {
		pc := cfg.Providers[name]
		getenv := opts.Getenv
		if strings.TrimSpace(opts.Getenv(pc.APIKeyEnv)) == "" {
			if opts.Simulate {
				s, err := startSim(pc.Kind)
				if err != nil {
					return nil, fmt.Errorf("gateway: simulator for %s: %w", name, err)
				}
				g.onClose(func() error { s.Close(); return nil })
				pc.BaseURL = s.URL()
				// The simulator accepts any key; give it one so the adapter sends a header.
				getenv = func(k string) string {
					if k == pc.APIKeyEnv {
						return "sk-simulated"
					}
					return opts.Getenv(k)
				}
				g.Simulators[name] = s.URL()
				g.notice("provider %s (%s, %s): $%s is not set, so it is served by the built-in %s simulator at %s — answers are simulated, not from a model",
					name, pc.Kind, pc.Jurisdiction, pc.APIKeyEnv, pc.Kind, s.URL())
			} else {
				g.notice("provider %s: $%s is not set: calls to it will fail with 502 upstream_credential_missing (run with --simulate to use the built-in simulator)",
					name, pc.APIKeyEnv)
			}
		}
		p, err := provider.New(name, pc, provider.Options{HTTPClient: shared, Getenv: getenv})
		if err != nil {
			return nil, fmt.Errorf("gateway: provider %s: %w", name, err)
		}
		out[name] = p
	}
	return out, nil
}

func startSim(kind string) (*sim.Server, error) {
	switch kind {
	case sim.KindDashScope:
		return sim.NewDashScope(sim.Options{}), nil
	case sim.KindOpenAI:
		return sim.NewOpenAI(sim.Options{}), nil
	}
	return nil, fmt.Errorf("no simulator for provider kind %q", kind)
}

func cut(target string) (provider, model string, ok bool) {
	return strings.Cut(target, "/")
}
