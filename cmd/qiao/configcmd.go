package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/qiao-gateway/qiao/internal/config"
)

type configCheckCmd struct {
	file string
	dump bool
}

func parseConfig(m *Main, args []string) (command, error) {
	if len(args) == 0 || (args[0] != "check" && args[0] != "default") {
		fmt.Fprintln(m.Stderr, "Usage: qiao config check [FILE]   (no FILE: the built-in configuration)\n       qiao config default        (print the built-in configuration)")
		return nil, errSilent
	}
	c := &configCheckCmd{dump: args[0] == "default"}
	fs := m.newFlagSet("config "+args[0], "config check [FILE]")
	if err := fs.Parse(args[1:]); err != nil {
		return nil, err
	}
	if fs.NArg() > 1 {
		return nil, errors.New("config check: give at most one file")
	}
	c.file = fs.Arg(0)
	return c, nil
}

func (c *configCheckCmd) run(_ context.Context, m *Main) error {
	if c.dump {
		_, err := m.Stdout.Write(config.Default())
		return err
	}
	raw, name := config.Default(), "built-in configuration"
	if c.file != "" {
		b, err := os.ReadFile(c.file)
		if err != nil {
			return err
		}
		raw, name = b, c.file
	}
	cfg, err := config.Parse(raw)
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			if e.Line > 0 {
				fmt.Fprintf(m.Stderr, "%s:%d: %s\n", name, e.Line, e.Msg)
			} else {
				fmt.Fprintf(m.Stderr, "%s: %s\n", name, e.Msg)
			}
		}
		fmt.Fprintf(m.Stderr, "%d problem(s) found\n", len(errs))
		return errSilent
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%s: OK — %d provider(s), %d region(s)\n", name, len(cfg.Providers), len(cfg.Regions))
	for _, r := range sortedRegions(cfg.Regions) {
		rc := cfg.Regions[r]
		fmt.Fprintf(m.Stdout, "  %s: data may be processed in %v; aliases %v\n", r, rc.Jurisdictions, sortedRegions(rc.Models))
	}
	return nil
}
