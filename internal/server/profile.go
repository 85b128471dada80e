package server

import (
	"context"
	"time"

	"github.com/qiao-gateway/qiao/internal/chat"
)

// Profile is one region's policy, as the server needs it. Every stage is optional: a nil
// function means the region does not use it. Stages are plain functions so the server does
// not depend on how privacy, safety or labelling are implemented; the gateway package
// adapts the real packages into them.
type Profile struct {
	Region string

	// Protect pseudonymizes the request in place and says how to undo it. An error refuses
	// the request.
	Protect func(req *chat.Request) (Protection, error)

	// CheckInput moderates the request (after Protect: ex.Pseudonyms gives back what the
	// client wrote). A non-nil refusal stream is sent as the answer; an error refuses the
	// request with that error.
	CheckInput func(ctx context.Context, ex *Exchange, req *chat.Request) (refusal chat.Stream, err error)

	// Moderate wraps the answer stream with output moderation. It sees the answer as the
	// client will read it, the originals restored (ex.Pseudonyms pseudonymizes it again for
	// anything that leaves the gateway). req is the request as it went upstream
	// (pseudonymized): a guard model judges the answer as a reply to it. cancel stops the
	// upstream call.
	Moderate func(ctx context.Context, ex *Exchange, req *chat.Request, s chat.Stream, cancel context.CancelFunc) chat.Stream

	// ContentFilterText is said when the upstream blocks an answer and no Moderate stage
	// is configured to say it better.
	ContentFilterText string

	// Label returns the implicit label for one answer (added to the response envelope
	// under "aigc") and a wrapper that adds the explicit label to the text. It runs on its
	// own goroutine while the request is routed, and may outlive a request that fails: it
	// must not change ex, and may read only what is set before the pipeline runs
	// (RequestID, Start, Key, Region, Profile, Locale).
	Label func(ex *Exchange) (implicit any, produceID string, wrap func(chat.Stream) chat.Stream)

	// Standing tells whether a key may be served: "" or "ok", "warn", "limited", "suspended".
	Standing func(keyID string) string

	// Limit counts one request for a key against the region's rate limit. It returns how
	// long to wait when the key is over its limit (0: go ahead). An error means the limit
	// could not be checked; the request is refused (fail closed).
	Limit func(ctx context.Context, keyID string) (retryAfter time.Duration, err error)

	// ExtraModels are model aliases served by other endpoints (image generation), listed by
	// GET /v1/models next to the chat aliases.
	ExtraModels []string

	// Filing is the model filing number shown to users in this region (header
	// X-Qiao-Filing), empty if none.
	Filing string
	// Compliance is returned by GET /v1/compliance.
	Compliance any
}

// Protection is what Protect did to one request.
type Protection struct {
	// Counts are the values replaced, by type.
	Counts map[string]int
	// Restore wraps the answer stream, putting the originals back.
	Restore func(chat.Stream) chat.Stream
	// Pseudonyms undoes and redoes the replacement; nil if nothing was replaced.
	// Moderation needs it: its lexicon judges what the client wrote and will read — a name
	// the privacy stage replaced must not slip past it as [NAME_1] — while a guard model, a
	// remote provider, gets only pseudonymized text.
	Pseudonyms Pseudonyms
}

// Pseudonyms undoes and redoes one request's pseudonymization (a privacy.Vault).
type Pseudonyms interface {
	RestoreString(s string) string
	ConcealString(s string) string
	SafeCut(s string, cut int) int
}
