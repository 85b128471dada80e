package safety

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/qiao-gateway/qiao/internal/chat"
)

// Verdict is a guard model's judgement of one text.
type Verdict struct {
	// Unsafe is true when the text should be blocked under the configured policy.
	Unsafe bool `json:"unsafe"`
	// Controversial is Qwen3Guard's middle severity.
	Controversial bool `json:"controversial,omitempty"`
	// Labels are the model's own category names or codes ("Violent", "S9").
	Labels []string `json:"labels,omitempty"`
	// Category is the first label mapped to a TC260-003 risk type.
	Category Category `json:"category,omitempty"`
	// Refusal is Qwen3Guard's "Refusal: Yes|No" for a judged answer, if present.
	Refusal string `json:"refusal,omitempty"`
}

// ErrGuardGarbage is returned when the guard model's answer cannot be parsed.
var ErrGuardGarbage = errors.New("safety: guard model answer not understood")

var (
	qwenSafety  = regexp.MustCompile(`(?m)^\s*Safety:\s*(Safe|Unsafe|Controversial)\s*$`)
	qwenCats    = regexp.MustCompile(`(?m)^\s*Categories:\s*(.*?)\s*$`)
	qwenRefusal = regexp.MustCompile(`(?m)^\s*Refusal:\s*(Yes|No)\s*$`)
)

// qwenCategories maps Qwen3Guard's categories to TC260-003 risk types.
var qwenCategories = map[string]Category{
	"Violent":                       "A.1.6",
	"Non-violent Illegal Acts":      "A.1.8",
	"Sexual Content or Sexual Acts": "A.1.6",
	"PII":                           "A.4.6",
	"Suicide & Self-Harm":           "A.4.1",
	"Unethical Acts":                "A.1.8",
	"Politically Sensitive Topics":  "A.1.2",
	"Copyright Violation":           "A.3.1",
	"Jailbreak":                     "A.1.8",
}

// llamaCategories maps Llama Guard 3/4 hazard codes to TC260-003 risk types.
var llamaCategories = map[string]Category{
	"S1": "A.1.6", "S2": "A.1.8", "S3": "A.1.6", "S4": "A.1.6", "S5": "A.4.3", "S6": "A.5.2",
	"S7": "A.4.5", "S8": "A.3.1", "S9": "A.1.6", "S10": "A.2.9", "S11": "A.4.1", "S12": "A.1.6",
	"S13": "A.1.7", "S14": "A.1.8",
}

// ParseQwen3Guard parses a Qwen3Guard-Gen answer ("Safety: Unsafe\nCategories: Violent" and,
// when an answer was judged, "Refusal: Yes|No"). strictControversial treats Controversial
// as unsafe.
func ParseQwen3Guard(s string, strictControversial bool) (Verdict, error) {
	m := qwenSafety.FindStringSubmatch(s)
	if m == nil {
		return Verdict{}, fmt.Errorf("%w: no \"Safety:\" line", ErrGuardGarbage)
	}
	v := Verdict{}
	switch m[1] {
	case "Unsafe":
		v.Unsafe = true
	case "Controversial":
		v.Controversial = true
		v.Unsafe = strictControversial
	}
	if c := qwenCats.FindStringSubmatch(s); c != nil {
		for _, l := range strings.Split(c[1], ",") {
			l = strings.TrimSpace(l)
			if l == "" || l == "None" {
				continue
			}
			if _, ok := qwenCategories[l]; !ok {
				return Verdict{}, fmt.Errorf("%w: unknown category %q", ErrGuardGarbage, clip(l, 40))
			}
			v.Labels = append(v.Labels, l)
		}
	}
	if r := qwenRefusal.FindStringSubmatch(s); r != nil {
		v.Refusal = r[1]
	}
	if len(v.Labels) > 0 {
		v.Category = qwenCategories[v.Labels[0]]
	} else if v.Unsafe {
		v.Category = "A.1.8"
	}
	return v, nil
}

// ParseLlamaGuard parses a Llama Guard 3/4 answer: "safe", or "unsafe" and a line of
// comma-separated hazard codes ("S1,S10").
func ParseLlamaGuard(s string) (Verdict, error) {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return Verdict{}, fmt.Errorf("%w: empty answer", ErrGuardGarbage)
	}
	switch strings.ToLower(lines[0]) {
	case "safe":
		return Verdict{}, nil
	case "unsafe":
	default:
		return Verdict{}, fmt.Errorf("%w: first line %q is neither safe nor unsafe", ErrGuardGarbage, clip(lines[0], 40))
	}
	v := Verdict{Unsafe: true, Category: "A.1.8"}
	if len(lines) > 1 {
		for _, code := range strings.Split(lines[1], ",") {
			code = strings.ToUpper(strings.TrimSpace(code))
			if code == "" {
				continue
			}
			if _, ok := llamaCategories[code]; !ok {
				return Verdict{}, fmt.Errorf("%w: unknown hazard code %q", ErrGuardGarbage, clip(code, 40))
			}
			v.Labels = append(v.Labels, code)
		}
	}
	if len(v.Labels) > 0 {
		v.Category = llamaCategories[v.Labels[0]]
	}
	return v, nil
}

// clip shortens a model's text for an error message.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// guardClient calls a guard model behind an OpenAI-compatible endpoint.
type guardClient struct {
	cfg    GuardConfig
	url    string
	key    string
	client *http.Client
}

type guardMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type guardRequest struct {
	Model       string         `json:"model"`
	Messages    []guardMessage `json:"messages"`
	Temperature float64        `json:"temperature"`
	MaxTokens   int            `json:"max_tokens"`
	Stream      bool           `json:"stream"`
}

type guardResponse struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
	} `json:"choices"`
}

// maxGuardBody bounds what is read from the guard model.
const maxGuardBody = 1 << 20

// check asks the guard model about prompt, or about answer as a reply to prompt when
// judgeAnswer is set. Texts longer than MaxChars are cut to their most recent part.
func (g *guardClient) check(ctx context.Context, prompt, answer string, judgeAnswer bool) (Verdict, error) {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
	defer cancel()
	msgs := []guardMessage{{Role: "user", Content: tail(prompt, g.cfg.MaxChars)}}
	if judgeAnswer {
		msgs = append(msgs, guardMessage{Role: "assistant", Content: tail(answer, g.cfg.MaxChars)})
	}
	body, err := json.Marshal(guardRequest{Model: g.cfg.Model, Messages: msgs, MaxTokens: 64})
	if err != nil {
		return Verdict{}, fmt.Errorf("safety: guard: encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(body))
	if err != nil {
		return Verdict{}, fmt.Errorf("safety: guard: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if g.key != "" {
		req.Header.Set("Authorization", "Bearer "+g.key)
	}
	chat.Wait(ctx) // what the client was already given goes out before the guard is asked
	resp, err := g.client.Do(req)
	if err != nil {
		return Verdict{}, fmt.Errorf("safety: guard: call: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxGuardBody))
	if err != nil {
		return Verdict{}, fmt.Errorf("safety: guard: read answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return Verdict{}, fmt.Errorf("safety: guard: HTTP %d", resp.StatusCode)
	}
	var gr guardResponse
	if err := json.Unmarshal(data, &gr); err != nil {
		return Verdict{}, fmt.Errorf("%w: body is not a chat completion: %v", ErrGuardGarbage, err)
	}
	if len(gr.Choices) == 0 {
		return Verdict{}, fmt.Errorf("%w: no choices", ErrGuardGarbage)
	}
	content := gr.Choices[0].Message.Content
	if g.cfg.Format == FormatLlamaGuard {
		return ParseLlamaGuard(content)
	}
	return ParseQwen3Guard(content, g.cfg.Controversial == "block")
}

// tail returns the last n runes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s)
	for k := 0; k < n && i > 0; k++ {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return s[i:]
}
