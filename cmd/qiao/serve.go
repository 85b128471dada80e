package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/qiao-gateway/qiao/internal/config"
	"github.com/qiao-gateway/qiao/internal/gateway"
	"github.com/qiao-gateway/qiao/internal/tenant"
)

// loadConfig reads the file named by --config, or the built-in defaults, and applies the
// --data and --addr overrides.
func loadConfig(file, data, addr string) (*config.File, error) {
	raw := config.Default()
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		raw = b
	}
	cfg, err := config.Parse(raw)
	if err != nil {
		name := file
		if name == "" {
			name = "built-in configuration"
		}
		return nil, fmt.Errorf("%s:\n%w", name, err)
	}
	if data != "" {
		cfg.Server.DataDir = data
		cfg.Audit.DataDir = data
	}
	if addr != "" {
		cfg.Server.Addr = addr
	}
	return cfg, nil
}

type serveCmd struct {
	config, data, addr string
	simulate           bool
	logLevel           string
}

func parseServe(m *Main, args []string) (command, error) {
	c := &serveCmd{}
	fs := m.newFlagSet("serve", "serve [--config FILE] [--addr HOST:PORT] [--data DIR] [--simulate]")
	fs.StringVar(&c.config, "config", "", "configuration file (default: the built-in CN, EU and US profiles)")
	fs.StringVar(&c.addr, "addr", "", "listen address (default: server.addr, 127.0.0.1:8080)")
	fs.StringVar(&c.data, "data", "", "data directory for the embedded store and keys (default: server.data_dir)")
	fs.BoolVar(&c.simulate, "simulate", false, "serve providers whose API key is not set from built-in simulators")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return c, fs.Parse(args)
}

func (c *serveCmd) run(ctx context.Context, m *Main) error {
	cfg, err := loadConfig(c.config, c.data, c.addr)
	if err != nil {
		return err
	}
	return m.serve(ctx, cfg, c.simulate, c.logLevel, nil)
}

// serve builds the gateway and serves until ctx is cancelled. before, if set, runs after the
// gateway is built and before it accepts connections (the demo creates its keys there).
func (m *Main) serve(ctx context.Context, cfg *config.File, simulate bool, logLevel string, before func(*gateway.Gateway) error) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: level}))
	g, err := gateway.Build(ctx, gateway.Options{Config: cfg, Getenv: m.Getenv, Simulate: simulate, Logger: logger})
	if err != nil {
		return err
	}
	m.onClose(g.Close)
	for _, n := range g.Notices {
		logger.Warn(n)
	}
	if before != nil {
		if err := before(g); err != nil {
			return err
		}
	}
	g.PurgeDaily(ctx, logger)
	g.WatchPacks(ctx, func(err error) { logger.Error("safety pack reload failed; the old pack keeps serving", "err", err) })
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := g.ReloadPacks(); err != nil {
					logger.Error("safety pack reload failed; the old pack keeps serving", "err", err)
				} else {
					logger.Info("safety packs reloaded")
				}
			}
		}
	}()
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return err
	}
	logger.Info("qiao is serving", "addr", "http://"+ln.Addr().String(), "regions", len(cfg.Regions), "data", cfg.Server.DataDir, "store", cfg.Audit.Store)
	if m.Listening != nil {
		m.Listening(ln.Addr().String())
	}
	err = g.Server.Serve(ctx, ln, cfg.Server.Grace.Std())
	logger.Info("qiao stopped")
	return err
}

type demoCmd struct {
	addr, data string
}

func parseDemo(m *Main, args []string) (command, error) {
	c := &demoCmd{}
	fs := m.newFlagSet("demo", "demo [--addr HOST:PORT] [--data DIR]")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&c.data, "data", "./qiao-data", "data directory (embedded store, keys, demo-keys.json)")
	return c, fs.Parse(args)
}

func (c *demoCmd) run(ctx context.Context, m *Main) error {
	cfg, err := loadConfig("", c.data, c.addr)
	if err != nil {
		return err
	}
	return m.serve(ctx, cfg, true, "info", func(g *gateway.Gateway) error {
		keys := map[string]string{}
		for _, region := range []string{"CN", "EU", "US"} {
			secret, k, err := tenant.NewSecret("demo-"+region, []string{region}, time.Now())
			if err != nil {
				return err
			}
			if err := g.Keys.CreateKey(ctx, k); err != nil {
				return fmt.Errorf("create demo key: %w", err)
			}
			keys[region] = secret
		}
		b, _ := json.MarshalIndent(keys, "", "  ")
		path := filepath.Join(cfg.Server.DataDir, "demo-keys.json")
		if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
			return err
		}
		base := "http://" + cfg.Server.Addr
		fmt.Fprintf(m.Stdout, `
Qiao demo — the real gateway on built-in defaults (SQLite in %s).

  The model upstreams are SIMULATORS started in this process: answers are simulated and
  echo what the model received, so you can see what privacy protection sent upstream.
  To use real Qwen models in region CN, set DASHSCOPE_API_KEY and run:
      qiao serve --simulate      (providers without keys stay simulated)

Demo keys (also in %s):
  CN  %s
  EU  %s
  US  %s

Try:
  curl -s %s/v1/chat/completions -H "Authorization: Bearer %s" \
    -H 'Content-Type: application/json' \
    -d '{"model":"chat","messages":[{"role":"user","content":"我叫张伟，手机13812345678，帮我写一封请假邮件"}]}'

`, cfg.Server.DataDir, path, keys["CN"], keys["EU"], keys["US"], base, keys["CN"])
		return nil
	})
}
