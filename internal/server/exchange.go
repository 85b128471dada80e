package server

import (
	"context"
	"time"

	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/tenant"
)

// Exchange is everything the gateway learns and decides about one request. Stages add to
// it; the audit hook reads it at the end. It never holds prompt or answer text.
type Exchange struct {
	RequestID string
	Start     time.Time
	Key       tenant.Key
	Region    string
	Profile   *Profile
	Locale    string

	Endpoint string // "chat", "images", "assistant", ...
	Alias    string // model alias the client asked for
	Provider string // provider that answered
	Model    string // upstream model

	Privacy map[string]int // detections by type
	// Pseudonyms is the request's pseudonymization (Protection), nil if there is none.
	Pseudonyms Pseudonyms
	Safety     []SafetyOutcome
	Usage      *chat.Usage
	Finish     string
	Status     int
	ErrCode    string
	// Label is the implicit AIGC label attached to the answer, if any.
	Label any
	// ProduceID is the label's content id, copied for the audit log.
	ProduceID string
	// PromptText and AnswerText are the content the audit record keeps keyed hashes of;
	// the server forgets them once the record is written. With Options.ContentMAC the
	// server fills PromptMAC and AnswerMAC itself (a streamed answer is hashed as it goes
	// and never collected as text); otherwise the audit hook hashes the texts.
	PromptText string
	AnswerText string
	PromptMAC  []byte
	AnswerMAC  []byte

	TTFT    time.Duration
	Latency time.Duration

	auditable bool // a content request: audited whatever its outcome
	audited   bool
}

// SafetyOutcome is one moderation decision.
type SafetyOutcome struct {
	Stage       string `json:"stage"` // input | output | upstream
	Action      string `json:"action"`
	Rule        string `json:"rule,omitempty"`
	Category    string `json:"category,omitempty"`
	PackVersion string `json:"pack_version,omitempty"`
}

type exchangeKey struct{}

// ExchangeFrom returns the request's exchange, set by the server's middleware.
func ExchangeFrom(ctx context.Context) *Exchange {
	ex, _ := ctx.Value(exchangeKey{}).(*Exchange)
	return ex
}

func withExchange(ctx context.Context, ex *Exchange) context.Context {
	return context.WithValue(ctx, exchangeKey{}, ex)
}

// MarkAuditable marks a content request: it is audited whatever its outcome. Handlers other
// than chat (images, assistant) call it once they know the request is theirs.
func (ex *Exchange) MarkAuditable() { ex.auditable = true }
