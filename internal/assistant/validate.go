package assistant

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/qiao-gateway/qiao/internal/apierr"
)

// Error codes of bad turns.
const (
	CodeInvalidUtterance = "invalid_utterance"
	CodeUnsupported      = "unsupported_locale"
	CodeInvalidDevice    = "invalid_device_context"
	CodeInvalidIntent    = "invalid_intent"
	CodeInvalidConvID    = "invalid_conversation_id"
	CodeInvalidBody      = "invalid_body"
)

var (
	intentName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	convID     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// schema is the part of an intent's JSON schema the assistant checks and uses.
type schema struct {
	Type                 string                     `json:"type"`
	Properties           map[string]json.RawMessage `json:"properties"`
	Required             []string                   `json:"required"`
	AdditionalProperties *bool                      `json:"additionalProperties"`
}

// decodeTurn decodes and validates a request body.
func (h *Handler) decodeTurn(body []byte) (*TurnRequest, error) {
	var req TurnRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return nil, apierr.BadRequest(CodeInvalidBody, "request body is not a valid turn object").WithCause(err)
	}
	if dec.More() {
		return nil, apierr.BadRequest(CodeInvalidBody, "request body has trailing data")
	}
	return &req, nil
}

// validate checks a turn and resolves its locale, clock and intents.
func (h *Handler) validate(req *TurnRequest) (*turn, error) {
	u := strings.TrimSpace(req.Utterance)
	switch {
	case !utf8.ValidString(req.Utterance):
		return nil, apierr.BadRequest(CodeInvalidUtterance, "utterance is not valid UTF-8").WithParam("utterance")
	case u == "":
		return nil, apierr.BadRequest(CodeInvalidUtterance, "utterance is empty").WithParam("utterance")
	case utf8.RuneCountInString(u) > h.cfg.MaxUtteranceRunes:
		return nil, apierr.BadRequest(CodeInvalidUtterance,
			fmt.Sprintf("utterance is longer than %d characters", h.cfg.MaxUtteranceRunes)).WithParam("utterance")
	}
	req.Utterance = u
	t := &turn{req: req, declared: map[string]*Intent{}, schemas: map[string]*schema{}}

	loc := req.Locale
	if loc == "" {
		loc = h.cfg.DefaultLocale
	}
	tag, err := language.Parse(loc)
	if err != nil {
		return nil, apierr.BadRequest(CodeUnsupported, fmt.Sprintf("locale %q is not a valid language tag", truncate(loc, 40))).WithParam("locale")
	}
	if _, _, conf := h.matcher.Match(tag); conf < language.High {
		return nil, apierr.BadRequest(CodeUnsupported,
			fmt.Sprintf("locale %q is not supported here; supported: %s", truncate(loc, 40), strings.Join(h.cfg.Locales, ", "))).WithParam("locale")
	}
	base, _ := tag.Base()
	t.lang = base.String()

	if req.Device.TimeZone == "" {
		return nil, apierr.BadRequest(CodeInvalidDevice, "device.time_zone is required (an IANA zone such as Asia/Shanghai)").WithParam("device.time_zone")
	}
	tz, err := time.LoadLocation(req.Device.TimeZone)
	if err != nil || req.Device.TimeZone == "Local" {
		return nil, apierr.BadRequest(CodeInvalidDevice, fmt.Sprintf("device.time_zone %q is not a known IANA time zone", truncate(req.Device.TimeZone, 40))).WithParam("device.time_zone")
	}
	now := h.now()
	if req.Device.Now != "" {
		if now, err = time.Parse(time.RFC3339, req.Device.Now); err != nil {
			return nil, apierr.BadRequest(CodeInvalidDevice, "device.now must be an RFC 3339 time").WithParam("device.now")
		}
	}
	t.now = now.In(tz)
	if l := req.Device.Location; l != nil && (l.Latitude < -90 || l.Latitude > 90 || l.Longitude < -180 || l.Longitude > 180) {
		return nil, apierr.BadRequest(CodeInvalidDevice, "device.location is out of range").WithParam("device.location")
	}

	if req.ConversationID != "" && !convID.MatchString(req.ConversationID) {
		return nil, apierr.BadRequest(CodeInvalidConvID, "conversation_id must be 1-64 letters, digits, '-' or '_'").WithParam("conversation_id")
	}

	if len(req.Intents) > h.cfg.MaxIntents {
		return nil, apierr.BadRequest(CodeInvalidIntent, fmt.Sprintf("at most %d intents", h.cfg.MaxIntents)).WithParam("intents")
	}
	for i := range req.Intents {
		in := &req.Intents[i]
		param := fmt.Sprintf("intents[%d]", i)
		if !intentName.MatchString(in.Name) {
			return nil, apierr.BadRequest(CodeInvalidIntent, param+".name must be 1-64 letters, digits, '-' or '_'").WithParam(param + ".name")
		}
		if _, dup := t.declared[in.Name]; dup {
			return nil, apierr.BadRequest(CodeInvalidIntent, fmt.Sprintf("intent %q is declared twice", in.Name)).WithParam(param + ".name")
		}
		if utf8.RuneCountInString(in.Description) > 1000 {
			return nil, apierr.BadRequest(CodeInvalidIntent, param+".description is longer than 1000 characters").WithParam(param + ".description")
		}
		s, err := parseSchema(in.Parameters)
		if err != nil {
			return nil, apierr.BadRequest(CodeInvalidIntent, fmt.Sprintf("%s.parameters: %v", param, err)).WithParam(param + ".parameters")
		}
		t.declared[in.Name] = in
		t.schemas[in.Name] = s
	}
	return t, nil
}

// parseSchema checks that raw is a JSON schema of an object.
func parseSchema(raw json.RawMessage) (*schema, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return &schema{Type: "object"}, nil
	}
	if len(raw) > 16<<10 {
		return nil, fmt.Errorf("schema is larger than 16 KiB")
	}
	var s schema
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("not a JSON schema object")
	}
	if s.Type != "object" {
		return nil, fmt.Errorf(`type must be "object"`)
	}
	for name, p := range s.Properties {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(p, &obj); err != nil {
			return nil, fmt.Errorf("property %q is not a schema object", truncate(name, 40))
		}
	}
	for _, r := range s.Required {
		if _, ok := s.Properties[r]; !ok {
			return nil, fmt.Errorf("required property %q is not in properties", truncate(r, 40))
		}
	}
	return &s, nil
}

// fits reports whether params satisfy the declared schema's shape: every required
// property present and, when the schema lists properties, no property it does not list.
func (s *schema) fits(params map[string]any) bool {
	for _, r := range s.Required {
		if _, ok := params[r]; !ok {
			return false
		}
	}
	if len(s.Properties) == 0 {
		return s.AdditionalProperties == nil || *s.AdditionalProperties || len(params) == 0
	}
	for k := range params {
		if _, ok := s.Properties[k]; !ok {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
