package gateway

import (
	"context"
	"log/slog"

	"github.com/qiao-gateway/qiao/internal/audit"
	"github.com/qiao-gateway/qiao/internal/config"
	"github.com/qiao-gateway/qiao/internal/server"
)

// recorder turns a finished exchange into an audit record. Prompt and answer are kept only
// as keyed hashes.
type recorder struct {
	w        *audit.Writer
	mac      *audit.MACer
	policies map[string]config.AuditPolicy
	log      *slog.Logger
}

func (r *recorder) record(ctx context.Context, ex *server.Exchange) error {
	rec := audit.Record{
		Time:      ex.Start,
		Kind:      audit.KindRequest,
		Request:   ex.RequestID,
		Tenant:    ex.Key.Tenant,
		KeyID:     ex.Key.ID,
		Region:    ex.Region,
		Provider:  ex.Provider,
		Model:     ex.Model,
		Route:     ex.Alias,
		LatencyMS: ex.Latency.Milliseconds(),
		Status:    ex.Status,
		ErrorCode: ex.ErrCode,
		ProduceID: ex.ProduceID,
	}
	if len(ex.Privacy) > 0 {
		rec.Privacy = make(map[string]int64, len(ex.Privacy))
		for k, v := range ex.Privacy {
			rec.Privacy[k] = int64(v)
		}
	}
	for _, o := range ex.Safety {
		rec.Safety = append(rec.Safety, audit.SafetyOutcome{Stage: o.Stage, Rule: o.Rule, Category: o.Category, PackVersion: o.PackVersion, Action: o.Action})
	}
	if ex.Usage != nil {
		rec.Usage = audit.Usage{PromptTokens: int64(ex.Usage.PromptTokens), CompletionTokens: int64(ex.Usage.CompletionTokens)}
	}
	// The server hashes the content as it goes (server.Options.ContentMAC); an exchange
	// built without it still carries the texts.
	rec.PromptMAC, rec.AnswerMAC = ex.PromptMAC, ex.AnswerMAC
	if rec.PromptMAC == nil && ex.PromptText != "" {
		rec.PromptMAC = r.mac.MAC(ex.PromptText)
	}
	if rec.AnswerMAC == nil && ex.AnswerText != "" {
		rec.AnswerMAC = r.mac.MAC(ex.AnswerText)
	}
	err := r.w.Append(ctx, rec)
	if err != nil && r.policies[ex.Region].OnFailure == audit.OnFailureServe {
		// The region's profile chose availability over the log; say so loudly.
		r.log.Error("audit record lost (profile says serve anyway)", "request_id", ex.RequestID, "region", ex.Region, "err", err)
		return nil
	}
	return err
}
