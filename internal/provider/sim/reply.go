package sim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Markers are the per-request controls a prompt may carry in its last user message. They are
// removed from the echoed text.
//
//	[[sim:block]]        stream some text, then fail with output moderation (DataInspectionFailed)
//	[[sim:block-input]]  refuse at once with input moderation (400 DataInspectionFailed)
//	[[sim:429]]          429 Throttling.RateQuota (retryable)
//	[[sim:quota]]        429 Throttling.AllocationQuota (quota used up)
//	[[sim:500]]          500 InternalError
//	[[sim:err200]]       send the failures above as HTTP 200 + error event (streaming only)
//	[[sim:cut]]          cut the connection after two answer events
//	[[sim:think]]        answer with reasoning first
//	[[sim:tool]]         call the first offered tool (a tool is also called when the message names it)
//	[[sim:delay=DUR]]    wait DUR (Go duration, at most 1m) before the first byte
//	[[sim:chunk=N]]      N runes per streamed delta
//	[[sim:say=TEXT]]     answer exactly TEXT (no "]]" inside) instead of the echo
var Markers = []string{"block", "block-input", "429", "quota", "500", "err200", "cut", "think", "tool",
	"delay=DUR", "chunk=N", "say=TEXT"}

var markerRE = regexp.MustCompile(`\[\[sim:([a-z0-9-]+)(?:=((?:[^\]]|\][^\]])*))?\]\]`)

// tool is an offered tool as the simulator needs it.
type tool struct {
	Name       string
	Parameters json.RawMessage
}

// conversation is the protocol-neutral view of a request.
type conversation struct {
	Model      string
	Messages   []Message
	Tools      []tool
	Thinking   bool // enable_thinking asked for
	Multimodal bool
}

// failure is an error the simulator answers with.
type failure struct {
	Status  int
	Code    string // DashScope native code
	Message string
}

var (
	failRate       = failure{429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later."}
	failQuota      = failure{429, "Throttling.AllocationQuota", "Allocated quota exceeded, please increase your quota limit."}
	failInternal   = failure{500, "InternalError", "An internal error has occured, please try again later or contact service support."}
	failInputBlock = failure{400, "DataInspectionFailed", "Input data may contain inappropriate content."}
	failOutBlock   = failure{400, "DataInspectionFailed", "Output data may contain inappropriate content."}
)

func throttleFailure(code string) failure {
	switch code {
	case "Throttling.AllocationQuota":
		return failQuota
	case "Throttling.BurstRate":
		return failure{429, code, "Request rate increased too quickly, please try again later."}
	case "Throttling":
		return failure{429, code, "Requests throttling triggered."}
	}
	return failRate
}

// plan is what one answer will be.
type plan struct {
	Reasoning   string
	Text        string
	Call        *plannedCall
	Fail        *failure // before any output
	ErrorsIn200 bool
	BlockAfter  int // > 0: output moderation after that many events
	CutAfter    int // > 0: cut after that many events
	FirstDelay  time.Duration
	ChunkDelay  time.Duration
	EndDelay    time.Duration
	ChunkRunes  int
	InputTokens int
}

type plannedCall struct {
	ID, Name, Arguments string
}

// makePlan decides the answer from the conversation, the knobs and the markers.
func (s *Server) makePlan(c *conversation) plan {
	k := s.Knobs()
	p := plan{ErrorsIn200: k.ErrorsIn200, BlockAfter: k.BlockAfter, CutAfter: k.CutAfter,
		FirstDelay: k.FirstByteDelay, ChunkDelay: k.ChunkDelay, EndDelay: k.EndDelay, ChunkRunes: k.ChunkRunes}
	if throttle, status := s.forcedFailure(); throttle != "" {
		f := throttleFailure(throttle)
		p.Fail = &f
	} else if status != 0 {
		f := failInternal
		f.Status = status
		p.Fail = &f
	}
	last := lastUser(c.Messages)
	thinking := k.Reasoning || c.Thinking
	var say *string
	for _, m := range markerRE.FindAllStringSubmatch(last.Text, -1) {
		switch name, arg := m[1], m[2]; name {
		case "block":
			p.BlockAfter = 2
		case "block-input":
			p.Fail = &failInputBlock
		case "429":
			p.Fail = &failRate
		case "quota":
			p.Fail = &failQuota
		case "500":
			p.Fail = &failInternal
		case "err200":
			p.ErrorsIn200 = true
		case "cut":
			p.CutAfter = 2
		case "think":
			thinking = true
		case "delay":
			if d, err := time.ParseDuration(arg); err == nil && d >= 0 && d <= time.Minute {
				p.FirstDelay = d
			}
		case "chunk":
			if n, err := strconv.Atoi(arg); err == nil && n > 0 {
				p.ChunkRunes = n
			}
		case "say":
			a := arg
			say = &a
		}
	}
	if p.ChunkRunes <= 0 {
		p.ChunkRunes = 4
	}
	n := 0
	for _, m := range c.Messages {
		n += utf8.RuneCountInString(m.Text) + 4
	}
	p.InputTokens = n/2 + 1

	zh := hasHan(last.Text)
	if say == nil && last.Role == "user" && len(c.Tools) > 0 {
		if t := pickTool(c.Tools, last.Text); t != nil {
			p.Call = &plannedCall{ID: fmt.Sprintf("call_%016x", s.seq.Add(1)), Name: t.Name,
				Arguments: toolArguments(t.Parameters, clip(stripMarkers(last.Text), 60))}
		}
	}
	if thinking {
		if zh {
			p.Reasoning = fmt.Sprintf("模拟思考：用户发来 %d 条消息，我将复述最后一条。", len(c.Messages))
		} else {
			p.Reasoning = fmt.Sprintf("Simulated thinking: the user sent %d messages; I will echo the last one.", len(c.Messages))
		}
	}
	switch {
	case say != nil:
		p.Text = *say
	case p.Call != nil:
		// A tool call answer carries no text, as real models usually do.
	case last.Role == "tool":
		if zh {
			p.Text = fmt.Sprintf("模拟回复（%s）：收到工具结果：«%s»。这是 Qiao 模拟器的回答，不是真实模型。", c.Model, clip(last.Text, 200))
		} else {
			p.Text = fmt.Sprintf("Simulated reply (%s): got the tool result «%s». This answer comes from the Qiao simulator, not a real model.", c.Model, clip(last.Text, 200))
		}
	default:
		echo := clip(stripMarkers(last.Text), 200)
		if zh {
			img := ""
			if len(last.Images) > 0 {
				img = fmt.Sprintf("（含 %d 张图片）", len(last.Images))
			}
			p.Text = fmt.Sprintf("模拟回复（%s）：收到 %d 条消息，最后一条%s：«%s»。这是 Qiao 模拟器的回答，不是真实模型。",
				c.Model, len(c.Messages), img, echo)
		} else {
			img := ""
			if len(last.Images) > 0 {
				img = fmt.Sprintf(" (with %d images)", len(last.Images))
			}
			p.Text = fmt.Sprintf("Simulated reply (%s): received %d messages; the last one%s: «%s». This answer comes from the Qiao simulator, not a real model.",
				c.Model, len(c.Messages), img, echo)
		}
	}
	return p
}

func lastUser(ms []Message) Message {
	if len(ms) == 0 {
		return Message{}
	}
	// The last message decides: a tool result asks for a summary, a user turn for an echo.
	return ms[len(ms)-1]
}

func stripMarkers(s string) string {
	return strings.TrimSpace(markerRE.ReplaceAllString(s, ""))
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// clip shortens s to about n runes without cutting a placeholder in two: the privacy
// restorer must find whole placeholders ("[PHONE_1]", or "⟦PHONE_1⟧") in the echo. A cut
// inside a bracket extends to its closing bracket, if that is near, or moves before it.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	end := n
	for _, br := range [][2]rune{{'[', ']'}, {'⟦', '⟧'}} {
		open := lastIndexRune(r[:end], br[0])
		if open < 0 || lastIndexRune(r[:end], br[1]) > open || end-open > maxPlaceholderRunes {
			continue
		}
		if close := indexRune(r[end:], br[1]); close >= 0 && end+close-open < maxPlaceholderRunes {
			end += close + 1
		} else {
			end = open
		}
		break
	}
	return string(r[:end]) + "…"
}

// maxPlaceholderRunes bounds what clip treats as a placeholder.
const maxPlaceholderRunes = 40

func lastIndexRune(r []rune, x rune) int {
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] == x {
			return i
		}
	}
	return -1
}

func indexRune(r []rune, x rune) int {
	for i, c := range r {
		if c == x {
			return i
		}
	}
	return -1
}

// pickTool returns the tool the message names, or the first tool with [[sim:tool]].
func pickTool(tools []tool, text string) *tool {
	low := strings.ToLower(text)
	for i := range tools {
		if tools[i].Name != "" && strings.Contains(low, strings.ToLower(tools[i].Name)) {
			return &tools[i]
		}
	}
	if strings.Contains(text, "[[sim:tool]]") {
		return &tools[0]
	}
	return nil
}

// toolArguments builds arguments that satisfy the schema's required properties: strings get
// value (the echoed message), numbers 1, booleans true, arrays and objects empty. Without
// required properties the first string property is filled.
func toolArguments(schema json.RawMessage, value string) string {
	var sc struct {
		Properties map[string]struct {
			Type any `json:"type"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	_ = json.Unmarshal(schema, &sc) // a schema we cannot read gets {}
	typeOf := func(name string) string {
		p, ok := sc.Properties[name]
		if !ok {
			return "string"
		}
		switch t := p.Type.(type) {
		case string:
			return t
		case []any:
			for _, x := range t {
				if s, ok := x.(string); ok && s != "null" {
					return s
				}
			}
		}
		return "string"
	}
	names := sc.Required
	if len(names) == 0 {
		keys := make([]string, 0, len(sc.Properties))
		for k := range sc.Properties {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if typeOf(k) == "string" {
				names = []string{k}
				break
			}
		}
	}
	args := map[string]any{}
	for _, n := range names {
		switch typeOf(n) {
		case "integer", "number":
			args[n] = 1
		case "boolean":
			args[n] = true
		case "array":
			args[n] = []any{}
		case "object":
			args[n] = map[string]any{}
		default:
			args[n] = value
		}
	}
	b, _ := json.Marshal(args) // maps of plain values always encode
	return string(b)
}

// pieces splits s into deltas of n runes.
func pieces(s string, n int) []string {
	var out []string
	for s != "" {
		i, count := 0, 0
		for i < len(s) && count < n {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			count++
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}

// step is one streamed event of an answer, protocol-neutral.
type step struct {
	Reasoning string
	Text      string
	CallFirst bool   // first fragment of the tool call (id and name)
	CallArgs  string // arguments fragment
	Finish    string // "stop", "tool_calls"; empty while streaming
	// Cumulative token counts after this step.
	OutputTokens, ReasoningTokens int
}

// steps lays the plan out as events.
func (p *plan) steps() []step {
	var out []step
	outRunes, reasonRunes := 0, 0
	tok := func() (int, int) { return (outRunes+reasonRunes+1)/2 + 0, (reasonRunes + 1) / 2 }
	add := func(st step) {
		st.OutputTokens, st.ReasoningTokens = tok()
		out = append(out, st)
	}
	for _, r := range pieces(p.Reasoning, p.ChunkRunes) {
		reasonRunes += utf8.RuneCountInString(r)
		add(step{Reasoning: r})
	}
	finish := "stop"
	if p.Call != nil {
		finish = "tool_calls"
		args := pieces(p.Call.Arguments, p.ChunkRunes*4)
		if len(args) == 0 {
			args = []string{""}
		}
		for i, a := range args {
			outRunes += utf8.RuneCountInString(a)
			add(step{CallFirst: i == 0, CallArgs: a})
		}
	}
	for _, t := range pieces(p.Text, p.ChunkRunes) {
		outRunes += utf8.RuneCountInString(t)
		add(step{Text: t})
	}
	add(step{Finish: finish})
	return out
}
