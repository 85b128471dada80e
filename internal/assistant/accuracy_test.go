package assistant

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// utterance is one labelled line of testdata/utterances.jsonl.
type utterance struct {
	Text    string   `json:"text"`
	Locale  string   `json:"locale"`
	Now     string   `json:"now"`
	TZ      string   `json:"tz"`
	Intents []string `json:"intents"`
	// Set is "holdout" or "blind2" for items written after the rules and labelled before
	// they were first run.
	Set    string `json:"set"`
	Expect struct {
		Path   string         `json:"path"`
		Intent string         `json:"intent"`
		Slots  map[string]any `json:"slots"`
	} `json:"expect"`
}

// catalog is the device's intents for the utterance set: the canonical intents with the
// parameters the docs define.
var catalog = map[string]string{
	IntentSetAlarm:       `{"type":"object","properties":{"time":{"type":"string"},"recurrence":{"type":"string"},"label":{"type":"string"}},"required":["time"]}`,
	IntentSetTimer:       `{"type":"object","properties":{"duration_seconds":{"type":"integer"},"label":{"type":"string"}},"required":["duration_seconds"]}`,
	IntentCreateReminder: `{"type":"object","properties":{"text":{"type":"string"},"time":{"type":"string"},"date":{"type":"string"},"recurrence":{"type":"string"}},"required":["text"]}`,
	IntentCreateEvent:    `{"type":"object","properties":{"title":{"type":"string"},"start":{"type":"string"},"end":{"type":"string"},"all_day":{"type":"boolean"}},"required":["title","start"]}`,
	IntentCall:           `{"type":"object","properties":{"contact":{"type":"string"},"number":{"type":"string"}}}`,
	IntentSendMessage:    `{"type":"object","properties":{"contact":{"type":"string"},"text":{"type":"string"},"app":{"type":"string"}},"required":["contact","text"]}`,
	IntentOpenApp:        `{"type":"object","properties":{"app":{"type":"string"}},"required":["app"]}`,
	IntentChangeSetting:  `{"type":"object","properties":{"setting":{"type":"string"},"value":{}},"required":["setting","value"]}`,
}

func catalogIntents(names []string) []Intent {
	if names == nil {
		for n := range catalog {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	var out []Intent
	for _, n := range names {
		out = append(out, Intent{Name: n, Description: n, Parameters: json.RawMessage(catalog[n])})
	}
	return out
}

func loadUtterances(t testing.TB) []utterance {
	t.Helper()
	f, err := os.Open("testdata/utterances.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []utterance
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		var u utterance
		if err := json.Unmarshal(sc.Bytes(), &u); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		out = append(out, u)
	}
	return out
}

// normalize makes params comparable with labels decoded from JSON (numbers as float64).
func normalize(t testing.TB, m map[string]any) map[string]any {
	t.Helper()
	if m == nil {
		return map[string]any{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

type prediction struct {
	path, intent string
	slots        map[string]any
}

func predict(t testing.TB, h *Handler, u utterance) prediction {
	t.Helper()
	req := &TurnRequest{Utterance: u.Text, Locale: u.Locale, Device: Device{TimeZone: u.TZ, Now: u.Now}, Intents: catalogIntents(u.Intents)}
	tr, err := h.validate(req)
	if err != nil {
		t.Fatalf("%q: validate: %v", u.Text, err)
	}
	r, ok := h.understand(tr, req.Utterance)
	if !ok {
		return prediction{path: PathModel}
	}
	slots := map[string]any{}
	if r.intent != AnswerClarify {
		slots = normalize(t, r.params)
	}
	return prediction{path: PathFast, intent: r.intent, slots: slots}
}

// TestUtteranceAccuracy measures the fast path on the labelled set and asserts the bar:
// intent accuracy (path and intent right), slot exactness (all parameters equal, among
// fast-path items with the right intent) and the rate of wrong fast-path answers (the
// fast path answered but should have handed over, or answered with the wrong intent or
// parameters), over all items.
func TestUtteranceAccuracy(t *testing.T) {
	h := newTestHandler(t)
	items := loadUtterances(t)
	if len(items) < 400 {
		t.Fatalf("only %d labelled utterances", len(items))
	}
	var total, intentOK, slotTotal, slotOK, wrongFast int
	byLang := map[string][2]int{}
	type subset struct{ total, right, wrongFast int }
	sets := map[string]*subset{}
	var misses []string
	for _, u := range items {
		total++
		p := predict(t, h, u)
		lang := u.Locale[:2]
		c := byLang[lang]
		c[1]++
		right := p.path == u.Expect.Path && (p.path == PathModel || p.intent == u.Expect.Intent)
		if right {
			intentOK++
			c[0]++
		}
		byLang[lang] = c
		slotsRight := true
		if right && p.path == PathFast {
			slotTotal++
			want := normalize(t, u.Expect.Slots)
			if d := cmp.Diff(want, p.slots); d != "" {
				slotsRight = false
				misses = append(misses, fmt.Sprintf("SLOTS %q: -want +got\n%s", u.Text, d))
			} else {
				slotOK++
			}
		}
		if p.path == PathFast && (!right || !slotsRight) {
			wrongFast++
		}
		if u.Set != "" {
			ss := sets[u.Set]
			if ss == nil {
				ss = &subset{}
				sets[u.Set] = ss
			}
			ss.total++
			if right && slotsRight {
				ss.right++
			}
			if p.path == PathFast && (!right || !slotsRight) {
				ss.wrongFast++
			}
		}
		if !right {
			misses = append(misses, fmt.Sprintf("INTENT %q (%s): want %s/%s, got %s/%s %v", u.Text, u.Now, u.Expect.Path, u.Expect.Intent, p.path, p.intent, p.slots))
		}
	}
	intentAcc := float64(intentOK) / float64(total)
	slotAcc := float64(slotOK) / float64(slotTotal)
	wrongRate := float64(wrongFast) / float64(total)
	t.Logf("utterances: %d (zh %d, en %d)", total, byLang["zh"][1], byLang["en"][1])
	t.Logf("intent accuracy: %.2f%% (%d/%d; zh %d/%d, en %d/%d)", 100*intentAcc, intentOK, total,
		byLang["zh"][0], byLang["zh"][1], byLang["en"][0], byLang["en"][1])
	t.Logf("slot exactness: %.2f%% (%d/%d)", 100*slotAcc, slotOK, slotTotal)
	t.Logf("wrong fast-path answers: %.2f%% (%d/%d)", 100*wrongRate, wrongFast, total)
	for _, name := range []string{"holdout", "blind2"} {
		if ss := sets[name]; ss != nil {
			t.Logf("subset %s: %d items, fully right (path, intent and slots) %.2f%%, wrong fast-path answers %.2f%% (%d)",
				name, ss.total, 100*float64(ss.right)/float64(ss.total), 100*float64(ss.wrongFast)/float64(ss.total), ss.wrongFast)
		}
	}
	if testing.Verbose() || len(misses) > 0 {
		t.Logf("misses:\n%s", strings.Join(misses, "\n"))
	}
	// The bar reached and asserted (see docs/assistant.md); the goal was ≥ 95 % intent
	// accuracy, ≥ 90 % exact slots and ≤ 1 % wrong fast-path answers.
	if intentAcc < 0.99 {
		t.Errorf("intent accuracy %.2f%% is below the 99%% reached", 100*intentAcc)
	}
	if slotAcc < 0.99 {
		t.Errorf("slot exactness %.2f%% is below the 99%% reached", 100*slotAcc)
	}
	if wrongRate > 0.005 {
		t.Errorf("wrong fast-path answers %.2f%% is above the 0.5%% reached", 100*wrongRate)
	}
}

func newTestHandler(t testing.TB) *Handler {
	t.Helper()
	h, err := NewHandler(Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return h
}
