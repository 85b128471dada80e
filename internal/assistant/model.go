package assistant

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/qiao-gateway/qiao/internal/chat"
)

// Model is the gateway pipeline as the assistant sees it: residency, privacy, safety,
// routing, labels and audit all happen behind Chat. The assistant knows nothing of them;
// it receives the (already restored, moderated) answer stream and what the gateway
// decided about it.
type Model interface {
	// Chat runs req through the gateway pipeline for the caller's tenant and region.
	// Errors should be *apierr.Error; they are returned to the device unchanged.
	Chat(ctx context.Context, req *chat.Request) (chat.Stream, Meta, error)
}

// Meta is what the gateway decided about an answer. It is copied into the turn's answer.
type Meta struct {
	// Label is the implicit AIGC label object (GB 45438), as JSON.
	Label json.RawMessage
	// PrivacyReceipt is the privacy receipt the gateway sends as a header on chat answers.
	PrivacyReceipt string
	// Filing is the filing number to show with answers (e.g. the CAC filing).
	Filing string
}

// LocalMeta is an optional capability of a Model: the Meta for answers Qiao composed
// without a model (the fast path), typically just the filing number.
type LocalMeta interface {
	LocalMeta() Meta
}

var defaultPrompts = map[string]string{
	"zh": "你是手机上的语音助手“乔”。用简体中文简短回答，适合朗读，不用 Markdown。" +
		"当用户的请求可以由设备完成时，调用提供的工具；时间参数使用带时区偏移的 RFC 3339 格式。" +
		"需要确认或信息不足时先问清楚。现在是{now}，时区{time_zone}。{location}",
	"en": "You are Qiao, a voice assistant on the user's phone. Answer briefly in plain text suitable " +
		"for speaking, without Markdown. When the device can do what the user asks, call one of the " +
		"provided tools; give times in RFC 3339 with the UTC offset. Ask when something is missing. " +
		"It is now {now}, time zone {time_zone}. {location}",
}

// prompt returns the system prompt for the turn.
func (h *Handler) prompt(t *turn) string {
	tpl := h.cfg.Prompts[t.req.Locale]
	if tpl == "" {
		tpl = h.cfg.Prompts[t.lang]
	}
	if tpl == "" {
		tpl = defaultPrompts[t.lang]
	}
	if tpl == "" {
		tpl = defaultPrompts["en"] + " Answer in the user's language (" + t.req.Locale + ")."
	}
	loc := ""
	if l := t.req.Device.Location; l != nil && l.Consent {
		// Coarse only: 0.1° is about 10 km.
		lat, lon := math.Round(l.Latitude*10)/10, math.Round(l.Longitude*10)/10
		if t.lang == "zh" {
			loc = fmt.Sprintf("用户大致位置：%.1f, %.1f", lat, lon)
		} else {
			loc = fmt.Sprintf("The user is near %.1f, %.1f", lat, lon)
		}
		if l.City != "" {
			loc += "（" + truncate(l.City, 40) + "）"
			if t.lang != "zh" {
				loc = strings.Replace(loc, "（", " (", 1)
				loc = strings.Replace(loc, "）", ")", 1)
			}
		}
		loc += map[bool]string{true: "。", false: "."}[t.lang == "zh"]
	}
	return strings.NewReplacer("{now}", t.now.Format("2006-01-02 15:04 Monday"), "{time_zone}", t.req.Device.TimeZone,
		"{location}", loc).Replace(tpl)
}

// modelRequest builds the chat request of a model turn.
func (h *Handler) modelRequest(t *turn, history []chat.Message) *chat.Request {
	msgs := make([]chat.Message, 0, len(history)+2)
	msgs = append(msgs, chat.Message{Role: chat.RoleSystem, Content: h.prompt(t)})
	msgs = append(msgs, history...)
	msgs = append(msgs, chat.Message{Role: chat.RoleUser, Content: t.req.Utterance})
	req := &chat.Request{Model: h.cfg.Model, Messages: msgs, Stream: t.req.Stream}
	for _, in := range t.req.Intents {
		params := in.Parameters
		if len(params) == 0 || string(params) == "null" {
			params = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		req.Tools = append(req.Tools, chat.Tool{Type: "function", Function: chat.Function{
			Name: in.Name, Description: in.Description, Parameters: params}})
	}
	if len(req.Tools) > 0 {
		req.ToolChoice = json.RawMessage(`"auto"`)
	}
	return req
}

// actions turns the model's tool calls into actions. Calls of undeclared intents, with
// arguments that are not a JSON object, or that miss required parameters are dropped:
// the device never receives an action it did not offer.
func (h *Handler) actions(t *turn, calls []chat.ToolCall) (acts []Action, dropped int) {
	for _, c := range calls {
		s, ok := t.schemas[c.Name]
		if !ok {
			dropped++
			continue
		}
		args := strings.TrimSpace(c.Arguments)
		if args == "" {
			args = "{}"
		}
		var params map[string]any
		if err := json.Unmarshal([]byte(args), &params); err != nil || params == nil {
			dropped++
			continue
		}
		missing := false
		for _, r := range s.Required {
			if _, ok := params[r]; !ok {
				missing = true
			}
		}
		if missing {
			dropped++
			continue
		}
		raw, _ := json.Marshal(params) // re-encoded: compact, no trailing garbage
		acts = append(acts, Action{Intent: c.Name, Parameters: raw, NeedsConfirmation: h.confirm[c.Name]})
	}
	return acts, dropped
}

var (
	mdLink   = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	mdMarks  = regexp.MustCompile("(\\*\\*|__|\\*|`+|~~)")
	mdPrefix = regexp.MustCompile(`(?m)^\s*(#{1,6}\s+|[-*+]\s+|>\s*|\d+\.\s+)`)
	spaces   = regexp.MustCompile(`\s+`)
)

// speech makes a short, plain text to speak from a model answer: no markdown, at most
// max runes, cut at a sentence end when possible.
func speech(text string, max int) string {
	s := mdLink.ReplaceAllString(text, "$1")
	s = mdPrefix.ReplaceAllString(s, "")
	s = mdMarks.ReplaceAllString(s, "")
	s = strings.TrimSpace(spaces.ReplaceAllString(s, " "))
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)[:max]
	for i := len(r) - 1; i > max/2; i-- {
		if strings.ContainsRune("。！？.!?；;", r[i]) {
			return string(r[:i+1])
		}
	}
	return string(r) + "…"
}
