package assistant

import (
	"errors"
	"strings"
	"time"

	"github.com/qiao-gateway/qiao/internal/when"
)

// fastResult is what the fast path understood.
type fastResult struct {
	// intent is an action intent (params become an Action) or an answer intent.
	intent string
	params map[string]any
	// text is the answer to show and speak.
	text string
	// clarify marks a question back; pending says how the reply completes the request.
	clarify bool
	pending *pending
}

func (r *fastResult) isAction() bool {
	switch r.intent {
	case AnswerCalculate, AnswerConvert, AnswerDateTime, AnswerClarify, "":
		return false
	}
	return true
}

// pending is a request waiting for the user's reply to a clarifying question. The reply is
// inserted into Text at At (with Sep around it) and the result understood again, so the
// follow-up goes through the same rules as a first utterance.
type pending struct {
	Lang string `json:"lang"`
	Text string `json:"text"`
	At   int    `json:"at"`
	Sep  string `json:"sep,omitempty"`
	// Need is "time", "ampm" or "text".
	Need string `json:"need"`
}

// understand runs the fast path. ok is false when the fast path is not sure: the turn then
// goes to the model.
func (h *Handler) understand(t *turn, text string) (*fastResult, bool) {
	return h.understandWith(t, text, h.res)
}

func (h *Handler) understandWith(t *turn, text string, res *when.Resolver) (*fastResult, bool) {
	u := &understander{h: h, t: t, res: res}
	var r *fastResult
	switch t.lang {
	case "zh":
		r = u.zh(text)
	case "en":
		r = u.en(text)
	}
	if r == nil {
		return nil, false
	}
	if r.isAction() {
		// Only intents the device declared, with parameters its schema accepts.
		s, ok := t.schemas[r.intent]
		if !ok || !s.fits(r.params) {
			return nil, false
		}
	}
	return r, true
}

// followUp completes a pending request with the user's reply. ok is false when the reply
// does not complete it (it is then understood as a new request).
func (h *Handler) followUp(t *turn, p *pending, reply string) (*fastResult, bool) {
	if p.Lang != t.lang || p.At < 0 || p.At > len(p.Text) {
		return nil, false
	}
	r := when.Fold(strings.TrimSpace(reply))
	lr := strings.ToLower(strings.Trim(r, "。.!！?？ "))
	for _, c := range []string{"算了", "取消", "不用了", "不要了", "不用", "cancel", "never mind", "nevermind", "forget it"} {
		if lr == c {
			return &fastResult{intent: AnswerClarify, text: h.word("cancelled", t.lang, nil)}, true
		}
	}
	switch p.Need {
	case "ampm":
		period := ""
		switch {
		case containsAny(lr, "上午", "早上", "早晨", "凌晨", "morning", "am", "a.m."):
			period = "morning"
		case containsAny(lr, "晚上", "evening", "night"):
			period = "evening"
		case containsAny(lr, "下午", "afternoon", "pm", "p.m."):
			period = "afternoon"
		}
		if period == "" {
			return nil, false
		}
		res := h.res.WithPeriod(period)
		return h.understandWith(t, p.Text, res)
	case "time":
		// The reply must be a time expression.
		if _, ok := h.findTime(t, r); !ok {
			return nil, false
		}
	}
	text := strings.TrimSpace(p.Text[:p.At] + p.Sep + r + p.Sep + p.Text[p.At:])
	if p.Need == "text" {
		text = p.Text[:p.At] + p.Sep + r
	}
	return h.understand(t, text)
}

type timeMatch struct {
	when.Match
	err error
}

func (h *Handler) findTime(t *turn, s string) (timeMatch, bool) {
	var m when.Match
	var ok bool
	var err error
	if t.lang == "zh" {
		m, ok, err = h.res.FindZH(s, t.now)
	} else {
		m, ok, err = h.res.FindEN(s, t.now)
	}
	return timeMatch{m, err}, ok
}

type understander struct {
	h   *Handler
	t   *turn
	res *when.Resolver

	// The domains of one utterance search the same text for a time; remember the last.
	memoText string
	memo     when.Match
	memoOK   bool
	memoErr  error
}

func (u *understander) lang() string { return u.t.lang }

// declared reports whether the device offers intent. Domains of undeclared intents are
// skipped, so the fast path neither acts nor asks a clarifying question for them.
func (u *understander) declared(intent string) bool {
	_, ok := u.t.schemas[intent]
	return ok
}

func (u *understander) word(key string, args map[string]string) string {
	return u.h.word(key, u.t.lang, args)
}

func (u *understander) find(s string) (when.Match, bool, error) {
	if s == u.memoText && s != "" {
		return u.memo, u.memoOK, u.memoErr
	}
	var m when.Match
	var ok bool
	var err error
	if u.t.lang == "zh" {
		m, ok, err = u.res.FindZH(s, u.t.now)
	} else {
		m, ok, err = u.res.FindEN(s, u.t.now)
	}
	u.memoText, u.memo, u.memoOK, u.memoErr = s, m, ok, err
	return m, ok, err
}

// clarifyTime turns a time problem into a clarifying question, or reports false when the
// error is not one the user can fix by saying the time again.
func (u *understander) clarifyTime(full string, m when.Match, err error) (*fastResult, bool) {
	sep := ""
	if u.lang() == "en" {
		sep = " "
	}
	without := strings.TrimSpace(full[:m.Start] + sep + full[m.End:])
	switch {
	case errors.Is(err, when.ErrAmbiguous):
		h := hourOf(err)
		return &fastResult{intent: AnswerClarify, clarify: true,
				text:    u.word("clarify_ampm", map[string]string{"h": h}),
				pending: &pending{Lang: u.lang(), Text: full, Need: "ampm"}},
			true
	case errors.Is(err, when.ErrNonexistent):
		detail := strings.TrimPrefix(err.Error(), when.ErrNonexistent.Error()+": ")
		return &fastResult{intent: AnswerClarify, clarify: true,
			text:    u.word("clarify_nonexistent", map[string]string{"detail": detail}),
			pending: &pending{Lang: u.lang(), Text: without, At: m.Start, Sep: sep, Need: "time"}}, true
	case errors.Is(err, when.ErrNotCovered):
		return &fastResult{intent: AnswerClarify, text: u.word("not_covered", map[string]string{"years": u.res.Cal.YearsText()})}, true
	}
	return nil, false
}

func hourOf(err error) string {
	s := err.Error()
	if i := strings.Index(s, "ambiguous time: "); i >= 0 {
		s = s[i+len("ambiguous time: "):]
		if j := strings.IndexByte(s, ' '); j > 0 {
			return s[:j]
		}
	}
	return ""
}

// timeParams builds the time parameters of an alarm or reminder, or a clarifying
// question when the time is missing, past or impossible.
//
// full is the utterance, m the time expression found in it (ok false when none).
func (u *understander) timeParams(full string, m when.Match, ok bool, err error, needClock bool, params map[string]any) *fastResult {
	sep := ""
	if u.lang() == "en" {
		sep = " "
	}
	if !ok {
		return &fastResult{intent: AnswerClarify, clarify: true, text: u.word("clarify_time", nil),
			pending: &pending{Lang: u.lang(), Text: full, At: 0, Sep: sep, Need: "time"}}
	}
	if err != nil {
		if r, ok := u.clarifyTime(full, m, err); ok {
			return r
		}
		return nil
	}
	v := m.Value
	if !v.HasClock {
		if needClock || v.Recur != nil || v.Period != "" {
			return &fastResult{intent: AnswerClarify, clarify: true, text: u.word("clarify_time", nil),
				pending: &pending{Lang: u.lang(), Text: full, At: m.End, Sep: sep, Need: "time"}}
		}
		if when.DateOf(v.Time).Before(when.DateOf(u.t.now)) {
			return u.past(full, m)
		}
		params["date"] = when.DateOf(v.Time).String()
		return nil
	}
	if !v.Time.After(u.t.now) {
		return u.past(full, m)
	}
	params["time"] = v.Time.Format(time.RFC3339)
	if v.Recur != nil {
		params["recurrence"] = v.Recur.RRULE()
	}
	return nil
}

func (u *understander) past(full string, m when.Match) *fastResult {
	sep := ""
	if u.lang() == "en" {
		sep = " "
	}
	return &fastResult{intent: AnswerClarify, clarify: true,
		text:    u.word("clarify_past", map[string]string{"when": strings.TrimSpace(full[m.Start:m.End])}),
		pending: &pending{Lang: u.lang(), Text: strings.TrimSpace(full[:m.Start] + sep + full[m.End:]), At: m.Start, Sep: sep, Need: "time"}}
}

// whenText describes the resolved time of params for an answer.
func (u *understander) whenText(m when.Match) string {
	v := m.Value
	if v.Recur != nil && v.HasClock {
		return describeRecurrence(v.Recur, v.Time, u.lang())
	}
	return describeTime(v.Time, u.t.now, v.HasClock, u.lang())
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// withZai widens a Chinese time match to the 在 before it ("提醒我在周日上午十点…").
func withZai(s string, m when.Match) when.Match {
	if strings.HasSuffix(s[:m.Start], "在") {
		m.Start -= len("在")
	}
	return m
}

// cutEN removes the English time expression m from s together with a preposition just
// before it ("set a reminder for 3pm to …" → "set a reminder to …").
func cutEN(s string, m when.Match) string {
	before := strings.TrimRight(s[:m.Start], " ")
	lb := strings.ToLower(before)
	for _, p := range []string{" for", " at", " on", " in", " by"} {
		if strings.HasSuffix(lb, p) {
			before = before[:len(before)-len(p)]
			break
		}
	}
	return strings.Join(strings.Fields(before+" "+s[m.End:]), " ")
}

// cut removes s[a:b] and joins the rest with sep.
func cut(s string, a, b int, sep string) string {
	return strings.TrimSpace(strings.TrimSpace(s[:a]) + sep + strings.TrimSpace(s[b:]))
}
