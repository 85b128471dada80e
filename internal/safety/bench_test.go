package safety

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/qiao-gateway/qiao/internal/chat"
)

// synthTerms makes n distinct synthetic terms: four in five are 2–6 common CJK characters,
// the rest 4–12 Latin letters, so both byte patterns of real packs are exercised.
func synthTerms(n int, rng *rand.Rand) []string {
	seen := make(map[string]bool, n)
	out := make([]string, 0, n)
	for len(out) < n {
		var b strings.Builder
		if rng.Intn(5) > 0 {
			for i := 2 + rng.Intn(5); i > 0; i-- {
				b.WriteRune(rune(0x4E00 + rng.Intn(3500)))
			}
		} else {
			for i := 4 + rng.Intn(9); i > 0; i-- {
				b.WriteByte(byte('a' + rng.Intn(26)))
			}
		}
		if s := b.String(); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// synthText is about size bytes of text over the same alphabet, with punctuation and
// spaces, in which few terms occur: the common case on the request path.
func synthText(size int, rng *rand.Rand) string {
	var b strings.Builder
	for b.Len() < size {
		switch r := rng.Intn(20); {
		case r == 0:
			b.WriteString("，")
		case r == 1:
			b.WriteString(" the model said ")
		default:
			b.WriteRune(rune(0x4E00 + rng.Intn(3500)))
		}
	}
	return b.String()
}

func synthPack(terms []string) string {
	var b strings.Builder
	b.WriteString("pack synth\nversion 1\n")
	for i, t := range terms {
		fmt.Fprintf(&b, "term r%d block A.1.8 : %s\n", i, t)
	}
	return b.String()
}

func benchLexicon(b *testing.B, n int) *lexicon {
	rng := rand.New(rand.NewSource(42))
	p, err := ParsePack("synth", []byte(synthPack(synthTerms(n, rng))))
	if err != nil {
		b.Fatal(err)
	}
	lx, err := compile([]*Pack{p})
	if err != nil {
		b.Fatal(err)
	}
	return lx
}

// benchTexts are about 1 MB each: "natural" is the question bank repeated (Chinese and
// English prose), "uniform" is random characters drawn from the synthetic terms' own
// alphabet, an adversarial worst case where nearly every character starts some term.
func benchTexts(b *testing.B) map[string]string {
	data, err := os.ReadFile("testdata/bank.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	return map[string]string{
		"natural": strings.Repeat(string(data), (1<<20)/len(data)+1),
		"uniform": synthText(1<<20, rand.New(rand.NewSource(7))),
	}
}

// best tracks the fastest iteration. On a machine shared with other work the mean (MB/s)
// measures the neighbours as much as the code; the best iteration (best-MB/s) is closer to
// what one uncontended core does. Both are reported.
type best struct {
	bytes int
	min   time.Duration
}

func newBest(bytes int) *best { return &best{bytes: bytes} }

func (m *best) add(start time.Time) {
	if d := time.Since(start); m.min == 0 || d < m.min {
		m.min = d
	}
}

func (m *best) report(b *testing.B) {
	if m.min > 0 {
		b.ReportMetric(float64(m.bytes)/m.min.Seconds()/1e6, "best-MB/s")
	}
}

// BenchmarkAutomaton is the bare matching loop over normalized text.
func BenchmarkAutomaton(b *testing.B) {
	texts := benchTexts(b)
	for _, n := range []int{10000, 100000} {
		lx := benchLexicon(b, n)
		for _, name := range []string{"natural", "uniform"} {
			norm := []byte(Normalize(texts[name]))
			b.Run(fmt.Sprintf("terms=%d/text=%s", n, name), func(b *testing.B) {
				b.SetBytes(int64(len(norm)))
				b.ReportAllocs()
				best := newBest(len(norm))
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					lx.ac.countMatches(norm)
					best.add(t0)
				}
				best.report(b)
			})
		}
	}
}

// BenchmarkScan is the whole lexicon stage over raw text: normalization, matching, word
// boundaries and rules (hits only flag, so the whole text is scanned).
func BenchmarkScan(b *testing.B) {
	texts := benchTexts(b)
	for _, n := range []int{10000, 100000} {
		lx := benchLexicon(b, n)
		for i := range lx.rules {
			lx.rules[i].Action = ActionFlag
		}
		for _, name := range []string{"natural", "uniform"} {
			text := texts[name]
			b.Run(fmt.Sprintf("terms=%d/text=%s", n, name), func(b *testing.B) {
				sc := newScanner(lx)
				b.SetBytes(int64(len(text)))
				b.ReportAllocs()
				best := newBest(len(text))
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					sc.reset()
					sc.feed(text)
					sc.finish()
					best.add(t0)
				}
				best.report(b)
			})
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		src := []byte(synthPack(synthTerms(n, rand.New(rand.NewSource(42)))))
		b.Run(fmt.Sprintf("terms=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				p, err := ParsePack("synth", src)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := compile([]*Pack{p}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCheckInput is one typical request through the baseline pack.
func BenchmarkCheckInput(b *testing.B) {
	c, err := New(Config{}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	req := userReq("请帮我写一封给客户的邮件，说明我们下周二的产品发布会推迟到周四，并表示歉意。Please keep it short and polite.")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if d, _ := c.CheckInput(context.Background(), Meta{}, req); d.Blocked() {
			b.Fatal("blocked")
		}
	}
}

// BenchmarkModerateFirstToken measures what output moderation adds to the time to first
// token: wrapping an (instant) upstream with the baseline pack and receiving the role chunk
// and the first content chunk. It reports p50 and p99 of that time.
func BenchmarkModerateFirstToken(b *testing.B) {
	c, err := New(Config{}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	chunks := []chat.Chunk{
		{Delta: chat.Delta{Role: chat.RoleAssistant}},
		{Delta: chat.Delta{Content: "你好"}},
		{Delta: chat.Delta{Content: "！我是通义千问，很高兴为你服务。"}},
		{FinishReason: chat.FinishStop},
	}
	durs := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		up := &fakeUpstream{chunks: chunks}
		s := c.Moderate(context.Background(), Meta{}, up, func() {})
		for {
			ch, err := s.Recv()
			if err != nil {
				b.Fatal("no content")
			}
			if ch.Delta.Content != "" {
				break
			}
		}
		durs = append(durs, time.Since(start))
		s.Close()
	}
	b.StopTimer()
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(durs[len(durs)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkModerateStream is a whole 2 KB answer in small chunks through output moderation.
func BenchmarkModerateStream(b *testing.B) {
	c, err := New(Config{}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	text := strings.Repeat("这是一个正常的回答，包含一些说明。It explains how to bake bread at home. ", 20)
	var pieces []string
	for r := []rune(text); len(r) > 0; {
		n := 3
		if n > len(r) {
			n = len(r)
		}
		pieces = append(pieces, string(r[:n]))
		r = r[n:]
	}
	chunks := contentChunks(pieces...)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s := c.Moderate(context.Background(), Meta{}, &fakeUpstream{chunks: chunks}, func() {})
		res, err := chat.Collect(s)
		if err != nil || res.FinishReason != chat.FinishStop {
			b.Fatal(err, res.FinishReason)
		}
	}
}
