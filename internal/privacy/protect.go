package privacy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
)

// Error codes.
const (
	// CodePIIRefused: the request contains a type whose action is refuse (400).
	CodePIIRefused = "pii_refused"
	// CodeUnavailable: detection failed, so the request was not sent (500).
	CodeUnavailable = "privacy_unavailable"
)

// ErrDetection is the internal cause of a fail-closed refusal.
var ErrDetection = errors.New("privacy: detection failed")

// Protect finds personal data in req and rewrites req in place: message text, text parts,
// reasoning content, tool-call arguments and tool results (image and unknown parts are left
// alone). It returns the vault to restore the answer with and the receipt for the client.
//
// A type configured as refuse yields a 400 apierr with code pii_refused that names the type
// and never the value. If detection fails for any reason (a recognizer panics) Protect
// returns a 500 apierr with code privacy_unavailable: the request must not be sent on. A
// disabled engine returns a nil vault (which restores nothing) and an empty receipt.
func (e *Engine) Protect(req *chat.Request) (v *Vault, rc Receipt, err error) {
	if !e.cfg.Enabled || req == nil {
		return nil, Receipt{}, nil
	}
	defer func() {
		if r := recover(); r != nil {
			failures.Inc()
			// The panic value may quote the text being scanned; keep it out of the error.
			v, rc = nil, nil
			err = apierr.New(http.StatusInternalServerError, apierr.TypeAPI, CodeUnavailable,
				"personal-data protection is unavailable; the request was not sent").
				WithCause(fmt.Errorf("%w: recovered panic of type %T", ErrDetection, r))
		}
	}()
	v = newVault()
	forEachText(req, func(s *string, isJSON bool) error {
		v.reserve(*s)
		if isJSON && strings.IndexByte(*s, '\\') >= 0 {
			// A model that echoes JSON may decode its escapes: \u005bPHONE_1] can come
			// back as [PHONE_1], so reserve the decoded strings too.
			forEachJSONString(*s, v.reserve)
		}
		return nil
	})
	err = forEachText(req, func(s *string, isJSON bool) error {
		var out string
		var err error
		if isJSON {
			out, err = e.protectJSON(v, *s)
		} else {
			out, err = e.protectText(v, *s)
		}
		if err != nil {
			return err
		}
		*s = out
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	v.seal()
	return v, v.receipt, nil
}

// forEachText calls fn on every text of req that goes to the model. isJSON marks tool-call
// arguments, which are JSON text.
func forEachText(req *chat.Request, fn func(s *string, isJSON bool) error) error {
	for mi := range req.Messages {
		m := &req.Messages[mi]
		tool := m.Role == chat.RoleTool
		if err := fn(&m.Content, tool && looksJSON(m.Content)); err != nil {
			return err
		}
		if err := fn(&m.ReasoningContent, false); err != nil {
			return err
		}
		for pi := range m.Parts {
			p := &m.Parts[pi]
			if p.Type != chat.PartText {
				continue
			}
			if err := fn(&p.Text, tool && looksJSON(p.Text)); err != nil {
				return err
			}
		}
		for ti := range m.ToolCalls {
			if err := fn(&m.ToolCalls[ti].Arguments, true); err != nil {
				return err
			}
		}
	}
	return nil
}

func looksJSON(s string) bool {
	t := strings.TrimSpace(s)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

// detect runs the recognizers for the engine (the test hook first).
func (e *Engine) detect(text string) []Match {
	if e.beforeDetect != nil {
		e.beforeDetect(text)
	}
	return e.Detect(text)
}

// protectText applies the configured action to each match in s.
func (e *Engine) protectText(v *Vault, s string) (string, error) {
	if s == "" {
		return s, nil
	}
	ms := e.detect(s)
	if len(ms) == 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, m := range ms {
		a := e.cfg.action(m.Type)
		e.counters[m.Type].Inc()
		b.WriteString(s[last:m.Start])
		switch a {
		case ActionRefuse:
			return "", apierr.BadRequest(CodePIIRefused,
				fmt.Sprintf("the request contains personal data of type %s, which this service does not accept; remove it and try again", m.Type)).
				WithCause(fmt.Errorf("privacy: refused type %s", m.Type))
		case ActionMask:
			v.noteMasked(m.Type, m.Text)
			b.WriteString(mask(m.Type, m.Text))
		default:
			b.WriteString(v.placeholderFor(m.Type, m.Text))
		}
		last = m.End
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// protectJSON protects the string values of a JSON document and leaves everything else
// byte for byte: detection runs on the decoded string (so \n and \u escapes do not hide or
// glue values), and a changed string is re-encoded in place. Text that is not valid JSON
// (a truncated tool call) is protected as plain text.
func (e *Engine) protectJSON(v *Vault, s string) (string, error) {
	if !json.Valid([]byte(s)) {
		return e.protectText(v, s)
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '"' {
			continue
		}
		j := i + 1
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(s) {
			break // cannot happen in valid JSON
		}
		lit := s[i : j+1]
		var str string
		if err := json.Unmarshal([]byte(lit), &str); err != nil {
			return "", fmt.Errorf("privacy: decode JSON string: %w", err)
		}
		out, err := e.protectText(v, str)
		if err != nil {
			return "", err
		}
		if out != str {
			b.WriteString(s[last:i])
			b.WriteString(encodeJSONString(out))
			last = j + 1
		}
		i = j
	}
	if last == 0 {
		return s, nil
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// forEachJSONString calls fn with each decoded string literal of the JSON text s; it does
// nothing when s is not valid JSON.
func forEachJSONString(s string, fn func(string)) {
	if !json.Valid([]byte(s)) {
		return
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '"' {
			continue
		}
		j := i + 1
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(s) {
			return
		}
		var str string
		if json.Unmarshal([]byte(s[i:j+1]), &str) == nil {
			fn(str)
		}
		i = j
	}
}

func encodeJSONString(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(buf.String(), "\n")
}
