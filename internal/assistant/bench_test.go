package assistant

import (
	"sort"
	"testing"
	"time"
)

// BenchmarkFastPath measures understanding one utterance of the labelled set that the
// fast path answers (validation excluded); ns/op is the mean per utterance. It also
// reports p99-ns and max-ns: the 99th percentile and maximum, over the utterances, of each
// utterance's median time (the median filters out scheduler and GC noise on a shared
// machine; the percentile then shows the slowest phrasings).
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
	samples := make([][]time.Duration, len(turns))
	for k := range samples {
		samples[k] = make([]time.Duration, 0, b.N/len(turns)+1)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(turns)
		start := time.Now()
		h.understand(turns[k], turns[k].req.Utterance)
		samples[k] = append(samples[k], time.Since(start))
	}
	b.StopTimer()
	if b.N < 5*len(turns) {
		return
	}
	med := make([]time.Duration, len(turns))
	for k, s := range samples {
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		med[k] = s[len(s)/2]
	}
	sort.Slice(med, func(i, j int) bool { return med[i] < med[j] })
	b.ReportMetric(float64(med[len(med)*99/100]), "p99-ns")
	b.ReportMetric(float64(med[len(med)-1]), "max-ns")
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
