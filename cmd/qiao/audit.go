package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/qiao-gateway/qiao/internal/audit"
	"github.com/qiao-gateway/qiao/internal/audit/journal"
	"github.com/qiao-gateway/qiao/internal/gateway"
)

type auditCmd struct {
	action       string
	config, data string
	from, to     string
	out          string
	pubkey       string
	jsonOut      bool
	before       string
}

func parseAudit(m *Main, args []string) (command, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(m.Stderr, "Usage: qiao audit verify | export --from T --to T [--out FILE] | purge [--before T]")
		return nil, errSilent
	}
	c := &auditCmd{action: args[0]}
	fs := m.newFlagSet("audit "+c.action, "audit verify|export|purge [flags]")
	fs.StringVar(&c.config, "config", "", "configuration file (default: built-in)")
	fs.StringVar(&c.data, "data", "", "data directory (default: server.data_dir)")
	switch c.action {
	case "verify":
		fs.StringVar(&c.pubkey, "pubkey", "", "checkpoint public key (base64); default: the key of this data directory or $QIAO_AUDIT_SIGNING_KEY")
		fs.BoolVar(&c.jsonOut, "json", false, "print the report as JSON")
	case "export":
		fs.StringVar(&c.from, "from", "", "start time, RFC 3339 or YYYY-MM-DD, inclusive (required)")
		fs.StringVar(&c.to, "to", "", "end time, RFC 3339 or YYYY-MM-DD, exclusive (required)")
		fs.StringVar(&c.out, "out", "", "write JSON Lines to this file (default: standard output)")
	case "purge":
		fs.StringVar(&c.before, "before", "", "delete records older than this (default: now minus the configured retention); never later than the minimum retention allows")
	default:
		return nil, fmt.Errorf("audit: unknown action %q (verify, export or purge)", c.action)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return nil, err
	}
	if c.action == "export" && (c.from == "" || c.to == "") {
		return nil, errors.New("audit export: --from and --to are required")
	}
	return c, nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-01-31T00:00:00Z) or a date (2026-01-31)", s)
}

func (c *auditCmd) run(ctx context.Context, m *Main) error {
	cfg, err := loadConfig(c.config, c.data, "")
	if err != nil {
		return err
	}
	st, err := gateway.OpenStore(ctx, cfg, m.Getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	switch c.action {
	case "verify":
		var pub ed25519.PublicKey
		if c.pubkey != "" {
			if pub, err = audit.ParsePublicKey(c.pubkey); err != nil {
				return fmt.Errorf("--pubkey: %w", err)
			}
		} else {
			keys, err := cfg.Audit.LoadKeys(m.Getenv)
			if err != nil {
				return err
			}
			pub = keys.Public()
		}
		rep, err := audit.Verify(ctx, st, pub)
		if err != nil {
			return err
		}
		if c.jsonOut {
			b, _ := json.MarshalIndent(rep, "", "  ")
			fmt.Fprintln(m.Stdout, string(b))
		} else {
			fmt.Fprint(m.Stdout, rep.String())
		}
		dir := filepath.Join(cfg.Audit.DataDir, "journal")
		switch left, err := journal.Leftover(gateway.JournalDir(cfg.Audit.DataDir, cfg.Audit.Replica)); {
		case err != nil:
			fmt.Fprintf(m.Stderr, "note: could not look into the audit journal in %s: %v\n", dir, err)
		case left:
			fmt.Fprintf(m.Stderr, "note: the audit journal in %s holds records a server acknowledged that may not be in the database yet; `qiao serve` stores them when it starts\n", dir)
		}
		if !rep.OK() {
			return errSilent
		}
	case "export":
		from, err := parseTime(c.from)
		if err != nil {
			return fmt.Errorf("--from: %w", err)
		}
		to, err := parseTime(c.to)
		if err != nil {
			return fmt.Errorf("--to: %w", err)
		}
		var w io.Writer = m.Stdout
		if c.out != "" {
			f, err := os.OpenFile(c.out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		n, err := audit.Export(ctx, st, w, from, to)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "exported %d records\n", n)
	case "purge":
		keys, err := cfg.Audit.LoadKeys(m.Getenv)
		if err != nil {
			return err
		}
		// The running server holds its own chain; the purge writes its admin record to a
		// chain of its own, so both can run at once.
		opts := cfg.Audit.WriterOptions(keys)
		opts.Chain += "-admin"
		wr, err := audit.NewWriter(ctx, st, opts)
		if err != nil {
			return err
		}
		defer wr.Close()
		before := time.Now().Add(-cfg.Audit.Retention())
		if c.before != "" {
			if before, err = parseTime(c.before); err != nil {
				return fmt.Errorf("--before: %w", err)
			}
		}
		n, err := wr.Purge(ctx, before)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "purged %d records older than %s; the rest still verifies (qiao audit verify)\n", n, before.UTC().Format(time.RFC3339))
	}
	return nil
}
