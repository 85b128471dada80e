package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/qiao-gateway/qiao/internal/gateway"
	"github.com/qiao-gateway/qiao/internal/tenant"
)

type keysCmd struct {
	action       string
	config, data string
	tenant       string
	regions      listFlag
	id           string
}

// listFlag collects a repeated flag (--region CN --region EU) or a comma list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.ToUpper(strings.TrimSpace(s)); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func parseKeys(m *Main, args []string) (command, error) {
	c := &keysCmd{}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(m.Stderr, "Usage: qiao keys create --tenant T --region R [--region R2] | qiao keys list | qiao keys revoke KEY_ID")
		return nil, errSilent
	}
	c.action, args = args[0], args[1:]
	fs := m.newFlagSet("keys "+c.action, "keys create --tenant T --region CN [--region EU] | list | revoke KEY_ID")
	fs.StringVar(&c.config, "config", "", "configuration file (default: built-in)")
	fs.StringVar(&c.data, "data", "", "data directory (default: server.data_dir)")
	switch c.action {
	case "create":
		fs.StringVar(&c.tenant, "tenant", "", "tenant the key belongs to (required)")
		fs.Var(&c.regions, "region", "region the key may be used in; repeat for several (required)")
	case "list":
	case "revoke":
	default:
		return nil, fmt.Errorf("keys: unknown action %q (create, list or revoke)", c.action)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if c.action == "revoke" {
		if fs.NArg() != 1 {
			return nil, errors.New("keys revoke: give exactly one key id (see qiao keys list)")
		}
		c.id = fs.Arg(0)
	}
	if c.action == "create" && (c.tenant == "" || len(c.regions) == 0) {
		return nil, errors.New("keys create: --tenant and at least one --region are required")
	}
	return c, nil
}

func (c *keysCmd) run(ctx context.Context, m *Main) error {
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
	case "create":
		for _, r := range c.regions {
			if _, ok := cfg.Regions[r]; !ok {
				return fmt.Errorf("keys create: region %q is not configured (have: %s)", r, strings.Join(sortedRegions(cfg.Regions), ", "))
			}
		}
		secret, k, err := tenant.NewSecret(c.tenant, c.regions, time.Now())
		if err != nil {
			return err
		}
		if err := st.CreateKey(ctx, k); err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "created %s for tenant %s, regions %s. The key is shown once; only its hash is stored:\n", k.ID, k.Tenant, strings.Join(k.Regions, ","))
		fmt.Fprintln(m.Stdout, secret)
	case "list":
		keys, err := st.ListKeys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTENANT\tREGIONS\tCREATED\tSTATUS")
		for _, k := range keys {
			status := "active"
			if k.RevokedAt != nil {
				status = "revoked " + k.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Tenant, strings.Join(k.Regions, ","), k.CreatedAt.Format(time.RFC3339), status)
		}
		return tw.Flush()
	case "revoke":
		if err := st.RevokeKey(ctx, c.id, time.Now()); err != nil {
			if errors.Is(err, tenant.ErrNotFound) {
				return fmt.Errorf("keys revoke: no key %q", c.id)
			}
			return err
		}
		fmt.Fprintf(m.Stdout, "revoked %s\n", c.id)
	}
	return nil
}

func sortedRegions[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
