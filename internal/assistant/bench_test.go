package assistant

import (
	"sort"
	"testing"
	"time"
)

// BenchmarkFastPath measures understanding one utterance of the labelled set that the
// fast path answers (validation excluded). It reports the p99 over the set's utterances,
// each timed over many runs, as p99-ns.
func BenchmarkFastPath(b *testing.B) {
	h := newTestHandler(b)
	var turns []*turn
	for _, u := range loadUtterances(b) {
		if u.Expect.Path != PathFast {
			continue
		}
		tr, err := h.validate(&TurnRequest{Utterance: u.Text, Locale: u.Locale, Device: Device{TimeZone: u.TZ, Now: u.Now}, Intents: catalogIntents(u.Intents)})
		if err != nil {
			b.Fatal(err)
		}
		turns = append(turns, tr)
	}
	per := make([]time.Duration, len(turns))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(turns)
		start := time.Now()
		h.understand(turns[k], turns[k].req.Utterance)
		d := time.Since(start)
		if d > per[k] {
			per[k] = d // worst run of each utterance
		}
	}
	b.StopTimer()
	if b.N >= len(turns) {
		sort.Slice(per, func(i, j int) bool { return per[i] < per[j] })
		b.ReportMetric(float64(per[len(per)*99/100]), "p99-ns")
	}
}

// BenchmarkTurnFast measures a whole fast-path turn: validation of the request with eight
// declared intents, understanding, the answer and the in-process memory write.
func BenchmarkTurnFast(b *testing.B) {
	h := newTestHandler(b)
	env := Env{Model: &fakeModel{t: b, forbid: true}, Tenant: "b"}
	req := TurnRequest{Utterance: "明天早上七点叫我起床", Locale: "zh-CN", Device: Device{TimeZone: "Asia/Shanghai", Now: fixedNow}, Intents: catalogIntents(nil)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r := req
		if _, err := h.Turn(b.Context(), &r, env); err != nil {
			b.Fatal(err)
		}
	}
}
