package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/config"
	"github.com/qiao-gateway/qiao/internal/label"
	"github.com/qiao-gateway/qiao/internal/privacy"
	"github.com/qiao-gateway/qiao/internal/safety"
	"github.com/qiao-gateway/qiao/internal/server"
)

// buildProfile turns a region's configuration into the server's policy hooks.
func (g *Gateway) buildProfile(cfg *config.File, name string, opts Options) (*server.Profile, error) {
	rc := cfg.Regions[name]
	p := &server.Profile{Region: name}

	if rc.Privacy != nil && rc.Privacy.Enabled {
		eng, err := privacy.New(*rc.Privacy)
		if err != nil {
			return nil, fmt.Errorf("gateway: region %s: privacy: %w", name, err)
		}
		p.Protect = func(req *chat.Request) (server.Protection, error) {
			vault, receipt, err := eng.Protect(req)
			if err != nil {
				return server.Protection{}, err
			}
			prot := server.Protection{Counts: receipt, Restore: vault.Restore}
			if vault.Len() > 0 {
				prot.Pseudonyms = vault
			}
			return prot, nil
		}
	}

	chk, err := safety.New(rc.Safety, safety.Options{
		Getenv: opts.Getenv, Now: opts.Now,
		OnIncident: func(in safety.Incident) {
			opts.Logger.Warn("safety block", "request_id", in.RequestID, "region", in.Region, "key_id", in.KeyID,
				"stage", in.Stage, "source", in.Source, "rule", in.Rule, "category", in.Category,
				"pack_version", in.PackVersion, "standing", in.Standing)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("gateway: region %s: %w", name, err)
	}
	g.checkers[name] = chk
	meta := func(ex *server.Exchange, req *chat.Request) safety.Meta {
		return safety.Meta{
			RequestID: ex.RequestID, KeyID: ex.Key.ID, Tenant: ex.Key.Tenant, Region: ex.Region,
			Locale: rc.Locale, Prompt: lastUserText(req), Pseudonyms: ex.Pseudonyms,
			OnDecision: func(d safety.Decision) {
				ex.Safety = append(ex.Safety, server.SafetyOutcome{Stage: d.Stage, Action: string(d.Action),
					Rule: d.Rule, Category: string(d.Category), PackVersion: d.PackVersion})
			},
		}
	}
	p.CheckInput = func(ctx context.Context, ex *server.Exchange, req *chat.Request) (chat.Stream, error) {
		d, err := chk.CheckInput(ctx, meta(ex, req), req)
		if err != nil {
			return nil, err
		}
		return d.Stream(), nil
	}
	p.Moderate = func(ctx context.Context, ex *server.Exchange, req *chat.Request, s chat.Stream, cancel context.CancelFunc) chat.Stream {
		return chk.Moderate(ctx, meta(ex, req), s, cancel)
	}
	p.Standing = func(keyID string) string { return string(chk.Standing(keyID)) }

	if rc.Label.Enabled() {
		lab, notice, err := NewLabeler(cfg, name, opts.Getenv, opts.Now)
		if err != nil {
			return nil, err
		}
		if notice != "" {
			g.notice("%s", notice)
		}
		g.labelers[name] = lab
		p.Label = func(ex *server.Exchange) (any, string, func(chat.Stream) chat.Stream) {
			imp := lab.Fresh()
			return imp, imp.ProduceID, lab.WrapStream
		}
	}

	p.ContentFilterText = refusalText(rc.Locale)
	comp := compliance{Region: name, Filings: []filing{}}
	for _, f := range rc.Filings {
		comp.Filings = append(comp.Filings, filing{Model: f.Model, Name: f.Name, Number: f.Number, URL: f.URL})
	}
	if len(rc.Filings) > 0 {
		p.Filing = rc.Filings[0].Number
	}
	comp.Complaints = complaintInfo{DeadlineHours: int(rc.Complaints.Deadline.Std().Hours()), Contact: rc.Complaints.Contact}
	if rc.Label.Enabled() {
		comp.Label = &labelInfo{Explicit: rc.Label.Explicit, Position: rc.Label.Position, Producer: rc.Label.Producer}
	}
	comp.AuditRetentionDays = rc.Audit.RetentionDays
	comp.Jurisdictions = rc.Jurisdictions
	p.Compliance = comp
	return p, nil
}

// compliance is the body of GET /v1/compliance: what a device shows users about the
// service in their region.
type compliance struct {
	Region             string        `json:"region"`
	Jurisdictions      []string      `json:"jurisdictions"`
	Filings            []filing      `json:"filings"`
	Label              *labelInfo    `json:"label,omitempty"`
	Complaints         complaintInfo `json:"complaints"`
	AuditRetentionDays int           `json:"audit_retention_days"`
}

type filing struct {
	Model  string `json:"model"`
	Name   string `json:"name,omitempty"`
	Number string `json:"number"`
	URL    string `json:"url,omitempty"`
}

type labelInfo struct {
	Explicit string `json:"explicit"`
	Position string `json:"position,omitempty"`
	Producer string `json:"producer"`
}

type complaintInfo struct {
	DeadlineHours int    `json:"deadline_hours"`
	Contact       string `json:"contact,omitempty"`
}

// lastUserText is the text of the request's last user message, for the guard model's
// output check (it judges the answer as a reply to it). It is never stored.
func lastUserText(req *chat.Request) string {
	if req == nil {
		return ""
	}
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == chat.RoleUser {
			return req.Messages[i].Text()
		}
	}
	return ""
}

func refusalText(locale string) string {
	if strings.HasPrefix(locale, "zh") {
		return "抱歉，这个回答因内容安全原因已停止。"
	}
	return "Sorry, this answer was stopped for content-safety reasons."
}

// NewLabeler builds a region's labeler. Its signing key comes from the variable the profile
// names; if that is unset, from label-signing.key in the data directory (created on first
// use), and the returned notice says so.
func NewLabeler(cfg *config.File, region string, getenv func(string) string, now func() time.Time) (*label.Labeler, string, error) {
	rc, ok := cfg.Regions[region]
	if !ok || !rc.Label.Enabled() {
		return nil, "", fmt.Errorf("region %s has no label profile", region)
	}
	lc := rc.Label
	notice := ""
	if strings.TrimSpace(getenv(lc.KeyEnv)) == "" {
		key, created, path, err := loadOrCreateLabelKey(cfg.Server.DataDir)
		if err != nil {
			return nil, "", err
		}
		if created {
			notice = fmt.Sprintf("region %s: $%s is not set; generated a label signing key in %s (keep it, or labels signed now cannot be verified later)", region, lc.KeyEnv, path)
		} else {
			notice = fmt.Sprintf("region %s: $%s is not set; labels are signed with the key in %s", region, lc.KeyEnv, path)
		}
		base := getenv
		getenv = func(k string) string {
			if k == lc.KeyEnv {
				return key
			}
			return base(k)
		}
	}
	lab, err := label.NewLabeler(lc, label.Options{Getenv: getenv, Now: now})
	if err != nil {
		return nil, "", fmt.Errorf("gateway: region %s: %w", region, err)
	}
	return lab, notice, nil
}

func loadOrCreateLabelKey(dir string) (key string, created bool, path string, err error) {
	path = filepath.Join(dir, "label-signing.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		seed := make([]byte, 32)
		if _, err := rand.Read(seed); err != nil {
			return "", false, path, err
		}
		b = []byte(base64.StdEncoding.EncodeToString(seed) + "\n")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", false, path, err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return "", false, path, fmt.Errorf("gateway: write label signing key: %w", err)
		}
		created = true
	} else if err != nil {
		return "", false, path, fmt.Errorf("gateway: read label signing key: %w", err)
	}
	return strings.TrimSpace(string(b)), created, path, nil
}
