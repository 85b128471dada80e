package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/qiao-gateway/qiao/internal/gateway"
	"github.com/qiao-gateway/qiao/internal/label"
)

type labelCmd struct {
	action       string
	config, data string
	region       string
	visible      bool
	pubkey       string
	in, out      string
}

func parseLabel(m *Main, args []string) (command, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(m.Stderr, "Usage: qiao label image IN OUT | verify FILE | keygen")
		return nil, errSilent
	}
	c := &labelCmd{action: args[0]}
	fs := m.newFlagSet("label "+c.action, "label image IN OUT | verify FILE | keygen")
	fs.StringVar(&c.config, "config", "", "configuration file (default: built-in)")
	fs.StringVar(&c.data, "data", "", "data directory holding label-signing.key (default: server.data_dir)")
	fs.StringVar(&c.region, "region", "CN", "region whose label profile to use")
	switch c.action {
	case "image":
		fs.BoolVar(&c.visible, "visible", true, `also draw the visible "AI生成" mark`)
	case "verify":
		fs.StringVar(&c.pubkey, "pubkey", "", "verify with this Ed25519 public key (base64) instead of the region's key")
	case "keygen":
	default:
		return nil, fmt.Errorf("label: unknown action %q (image, verify or keygen)", c.action)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return nil, err
	}
	want := map[string]int{"image": 2, "verify": 1, "keygen": 0}[c.action]
	if fs.NArg() != want {
		return nil, fmt.Errorf("label %s: want %d file argument(s), got %d", c.action, want, fs.NArg())
	}
	c.in, c.out = fs.Arg(0), fs.Arg(1)
	c.region = strings.ToUpper(c.region)
	return c, nil
}

func (c *labelCmd) run(ctx context.Context, m *Main) error {
	if c.action == "keygen" {
		seed, pub, err := label.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "Put the seed in the variable your label profile names (key_env, default QIAO_LABEL_KEY); publish the public key.\n")
		fmt.Fprintf(m.Stdout, "seed   %s\npublic %s\n", seed, pub)
		return nil
	}
	cfg, err := loadConfig(c.config, c.data, "")
	if err != nil {
		return err
	}
	lab, notice, err := gateway.NewLabeler(cfg, c.region, m.Getenv, time.Now)
	if err != nil {
		return err
	}
	if notice != "" {
		fmt.Fprintln(m.Stderr, notice)
	}
	data, err := os.ReadFile(c.in)
	if err != nil {
		return err
	}
	switch c.action {
	case "image":
		out, imp, err := lab.LabelImage(data, label.ImageOptions{Visible: c.visible})
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.out, out, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "labelled %s → %s\n%s\n", c.in, c.out, imp.JSON())
	case "verify":
		labels, kind, err := label.ExtractLabels(data)
		if err != nil {
			return err
		}
		rc := cfg.Regions[c.region]
		bad := 0
		for _, imp := range labels {
			var verr error
			if c.pubkey != "" {
				pub, err := label.ParsePublicKey(c.pubkey)
				if err != nil {
					return err
				}
				verr = label.VerifyWithKey(imp, pub, rc.Label.Producer, rc.Label.Propagator)
			} else {
				verr = lab.Verify(imp)
			}
			if verr != nil {
				bad++
				fmt.Fprintf(m.Stdout, "FAIL %s ProduceID %s: %v\n", kind, imp.ProduceID, verr)
				continue
			}
			fmt.Fprintf(m.Stdout, "OK   %s ProduceID %s, producer %s: signature valid\n", kind, imp.ProduceID, imp.ContentProducer)
		}
		if bad > 0 {
			return errSilent
		}
	}
	return nil
}
