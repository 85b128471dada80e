package privacy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

// corpusLine is one labelled prompt of testdata/corpus.jsonl. pii lists [type, value]
// pairs: every value a correct detector must find, by exact text.
type corpusLine struct {
	Lang string      `json:"lang"`
	Text string      `json:"text"`
	PII  [][2]string `json:"pii"`
}

func loadCorpus(t testing.TB, name string) []corpusLine {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var l corpusLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("corpus line %d: %v", n, err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// fixedNow keeps birth-date validation deterministic.
func fixedNow() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

func cnEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := New(DefaultConfig("CN"))
	if err != nil {
		t.Fatal(err)
	}
	e.Now = fixedNow
	return e
}

type score struct{ tp, fp, fn int }

func (s score) precision() float64 {
	if s.tp+s.fp == 0 {
		return 1
	}
	return float64(s.tp) / float64(s.tp+s.fp)
}

func (s score) recall() float64 {
	if s.tp+s.fn == 0 {
		return 1
	}
	return float64(s.tp) / float64(s.tp+s.fn)
}

// evalCorpus scores e on the corpus per type (exact type and text), logging each error.
func evalCorpus(t *testing.T, e *Engine, lines []corpusLine) map[Type]*score {
	t.Helper()
	return evalCorpusLog(t.Logf, e, lines)
}

func evalCorpusLog(logf func(string, ...any), e *Engine, lines []corpusLine) map[Type]*score {
	scores := make(map[Type]*score)
	get := func(ty Type) *score {
		if scores[ty] == nil {
			scores[ty] = &score{}
		}
		return scores[ty]
	}
	for _, l := range lines {
		want := make(map[string]int)
		for _, p := range l.PII {
			want[p[0]+"\x00"+p[1]]++
		}
		for _, m := range e.Detect(l.Text) {
			k := string(m.Type) + "\x00" + m.Text
			if want[k] > 0 {
				want[k]--
				get(m.Type).tp++
				continue
			}
			get(m.Type).fp++
			logf("false positive %s %q in %q", m.Type, m.Text, l.Text)
		}
		for k, n := range want {
			ty, v, _ := strings.Cut(k, "\x00")
			for ; n > 0; n-- {
				get(Type(ty)).fn++
				logf("missed %s %q in %q", ty, v, l.Text)
			}
		}
	}
	return scores
}

func report(scores map[Type]*score) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-13s %4s %4s %4s %9s %7s\n", "type", "tp", "fp", "fn", "precision", "recall")
	keys := make([]string, 0, len(scores))
	for k := range scores {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	var all score
	for _, k := range keys {
		s := scores[Type(k)]
		all.tp, all.fp, all.fn = all.tp+s.tp, all.fp+s.fp, all.fn+s.fn
		fmt.Fprintf(&b, "%-13s %4d %4d %4d %9.3f %7.3f\n", k, s.tp, s.fp, s.fn, s.precision(), s.recall())
	}
	fmt.Fprintf(&b, "%-13s %4d %4d %4d %9.3f %7.3f\n", "all", all.tp, all.fp, all.fn, all.precision(), all.recall())
	return b.String()
}

// corpusBars are the precision and recall each type must reach on the corpus. Checksum-
// backed types must be at least 0.99; names and addresses carry the bar we reached and
// document in docs/privacy.md.
var corpusBars = map[Type][2]float64{
	IDCard: {0.99, 0.99}, BankCard: {0.99, 0.99}, PaymentCard: {0.99, 0.99}, USCC: {0.99, 0.99},
	IBAN: {0.99, 0.99}, SSN: {0.99, 0.99},
	Phone: {0.99, 0.99}, Landline: {0.99, 0.99}, Email: {0.99, 0.99}, IP: {0.99, 0.99},
	Passport: {0.99, 0.99}, Plate: {0.99, 0.99}, E164: {0.99, 0.99},
	Name: {0.90, 0.90}, Address: {0.85, 0.85},
}

func TestCorpusPrecisionRecall(t *testing.T) {
	lines := loadCorpus(t, "corpus.jsonl")
	scores := evalCorpus(t, cnEngine(t), lines)
	t.Logf("corpus: %d prompts\n%s", len(lines), report(scores))
	for ty, bar := range corpusBars {
		s := scores[ty]
		if s == nil || s.tp+s.fn == 0 {
			t.Errorf("%s: no labelled examples in the corpus", ty)
			continue
		}
		if p, r := s.precision(), s.recall(); p < bar[0] || r < bar[1] {
			t.Errorf("%s: precision %.3f recall %.3f, want at least %.2f / %.2f", ty, p, r, bar[0], bar[1])
		}
	}
}

// TestHoldoutPrecisionRecall scores testdata/holdout.jsonl, prompts written after the
// recognizers and never used to tune them. Its numbers are the honest estimate reported in
// docs/privacy.md; the bars are what the first run reached, so a regression fails.
func TestHoldoutPrecisionRecall(t *testing.T) {
	lines := loadCorpus(t, "holdout.jsonl")
	scores := evalCorpus(t, cnEngine(t), lines)
	t.Logf("holdout: %d prompts\n%s", len(lines), report(scores))
	var all score
	for _, s := range scores {
		all.tp, all.fp, all.fn = all.tp+s.tp, all.fp+s.fp, all.fn+s.fn
	}
	if p, r := all.precision(), all.recall(); p < holdoutBar[0] || r < holdoutBar[1] {
		t.Errorf("holdout overall precision %.3f recall %.3f, want at least %.2f / %.2f", p, r, holdoutBar[0], holdoutBar[1])
	}
}

// The first run on the holdout (before any change made after reading it) reached precision
// 0.895 and recall 0.872 overall; docs/privacy.md records it per type.
var holdoutBar = [2]float64{0.89, 0.87}

// TestHoldout2PrecisionRecall scores testdata/holdout2.jsonl, written after every change
// prompted by holdout.jsonl and never used to tune anything. Bars: its first run.
func TestHoldout2PrecisionRecall(t *testing.T) {
	lines := loadCorpus(t, "holdout2.jsonl")
	scores := evalCorpus(t, cnEngine(t), lines)
	t.Logf("holdout2: %d prompts\n%s", len(lines), report(scores))
	var all score
	for _, s := range scores {
		all.tp, all.fp, all.fn = all.tp+s.tp, all.fp+s.fp, all.fn+s.fn
	}
	if p, r := all.precision(), all.recall(); p < holdout2Bar[0] || r < holdout2Bar[1] {
		t.Errorf("holdout2 overall precision %.3f recall %.3f, want at least %.2f / %.2f", p, r, holdout2Bar[0], holdout2Bar[1])
	}
}

// The first run reached precision 0.921 and recall 0.897 overall (docs/privacy.md has the
// table). One bug it exposed was fixed afterwards (a version cue 30 bytes back suppressed an
// IP address), so later runs score higher; the bar stays at the first run.
var holdout2Bar = [2]float64{0.92, 0.89}

// TestCorpusAggressiveNames reports the opt-in aggressive name mode on both corpora. It finds
// names without a cue, at a cost in precision; the test asserts only that it finds at least
// what precise mode finds.
func TestCorpusAggressiveNames(t *testing.T) {
	cfg := DefaultConfig("CN")
	cfg.Names = NamesAggressive
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.Now = fixedNow
	for _, name := range []string{"corpus.jsonl", "holdout.jsonl", "holdout2.jsonl"} {
		lines := loadCorpus(t, name)
		quiet := func(string, ...any) {}
		agg := evalCorpusLog(quiet, e, lines)[Name]
		pre := evalCorpusLog(quiet, cnEngine(t), lines)[Name]
		t.Logf("%s names: precise P %.3f R %.3f; aggressive P %.3f R %.3f (tp %d fp %d fn %d)",
			name, pre.precision(), pre.recall(), agg.precision(), agg.recall(), agg.tp, agg.fp, agg.fn)
		if agg.recall() < pre.recall() {
			t.Errorf("%s: aggressive recall %.3f below precise %.3f", name, agg.recall(), pre.recall())
		}
	}
}
