package privacy

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/qiao-gateway/qiao/internal/chat"
	"go.yaml.in/yaml/v3"
)

func TestProtectToolMessages(t *testing.T) {
	e := cnEngine(t)
	req := &chat.Request{Messages: []chat.Message{
		// Tool result as parts holding JSON with an escaped newline glued to a phone.
		{Role: chat.RoleTool, ToolCallID: "c1", Parts: []chat.Part{{Type: chat.PartText, Text: `{"note":"call\n13812345678","tags":["a<b"]}`}}},
		// Truncated tool-call arguments are not JSON: protected as text.
		{Role: chat.RoleAssistant, ToolCalls: []chat.ToolCall{{ID: "c2", Name: "f", Arguments: `{"phone":"13912345678`}}},
		// Unknown part types pass through untouched.
		{Role: chat.RoleUser, Parts: []chat.Part{{Type: "input_audio", Raw: []byte(`{"data":"13812345678"}`)}}},
	}}
	if _, _, err := e.Protect(req); err != nil {
		t.Fatal(err)
	}
	want := []chat.Message{
		{Role: chat.RoleTool, ToolCallID: "c1", Parts: []chat.Part{{Type: chat.PartText, Text: `{"note":"call\n[PHONE_1]","tags":["a<b"]}`}}},
		{Role: chat.RoleAssistant, ToolCalls: []chat.ToolCall{{ID: "c2", Name: "f", Arguments: `{"phone":"[PHONE_2]`}}},
		{Role: chat.RoleUser, Parts: []chat.Part{{Type: "input_audio", Raw: []byte(`{"data":"13812345678"}`)}}},
	}
	if diff := cmp.Diff(want, req.Messages); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestConfigYAML(t *testing.T) {
	src := "enabled: true\nnames: aggressive\ntypes:\n  phone: mask\n  bank_card: refuse\n  id_card: replace\n"
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	want := Config{Enabled: true, Names: NamesAggressive, Types: map[Type]Action{Phone: ActionMask, BankCard: ActionRefuse, IDCard: ActionReplace}}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	dec = yaml.NewDecoder(strings.NewReader("enable: true\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&Config{}); err == nil {
		t.Error("unknown field accepted")
	}
	if _, err := New(Config{Types: map[Type]Action{"phones": ActionMask}}); err == nil {
		t.Error("New accepted an unknown type")
	}
}

func TestMetricsCountDetections(t *testing.T) {
	e := cnEngine(t)
	c := detections.WithLabelValues(string(Phone), string(ActionReplace))
	before := counterValue(t, c)
	req := &chat.Request{Messages: []chat.Message{{Role: chat.RoleUser, Content: "13812345678 和 13912345678"}}}
	if _, _, err := e.Protect(req); err != nil {
		t.Fatal(err)
	}
	if got := counterValue(t, c) - before; got != 2 {
		t.Errorf("phone detections grew by %v, want 2", got)
	}
	if len(Collectors()) != 2 {
		t.Error("Collectors must return the detection and failure metrics")
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestProtectConcurrent shares one engine between goroutines (run with -race).
func TestProtectConcurrent(t *testing.T) {
	e := cnEngine(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				phone := fmt.Sprintf("138%08d", g*1000+i)
				req := &chat.Request{Messages: []chat.Message{{Role: chat.RoleUser, Content: "电话 " + phone}}}
				v, _, err := e.Protect(req)
				if err != nil {
					t.Error(err)
					return
				}
				r, err := chat.Collect(v.Restore(chat.NewSliceStream(chat.Chunk{Delta: chat.Delta{Content: "[PHONE_1]"}})))
				if err != nil || r.Message.Content != phone {
					t.Errorf("goroutine %d got %q, want %q", g, r.Message.Content, phone)
					return
				}
			}
		})
	}
	wg.Wait()
}

type errStream struct {
	chunks []chat.Chunk
	err    error
	closed bool
}

func (s *errStream) Recv() (chat.Chunk, error) {
	if len(s.chunks) == 0 {
		return chat.Chunk{}, s.err
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	return c, nil
}

func (s *errStream) Close() error { s.closed = true; return nil }

func TestRestoreInterleavedToolCallsAndErrors(t *testing.T) {
	v := testVault(t)
	src := &errStream{chunks: []chat.Chunk{
		{Delta: chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: 0, ID: "a", Name: "f", Arguments: `{"p":"[PHO`}, {Index: 1, ID: "b", Name: "g", Arguments: `{"n":"[NA`}}}},
		{Delta: chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: 1, Arguments: `ME_1]"}`}, {Index: 0, Arguments: `NE_1]"}`}}}},
		{Delta: chat.Delta{Content: "cut off [PHONE"}},
	}, err: errors.New("upstream reset")}
	s := v.Restore(src)
	var acc chat.Accumulator
	var err error
	for {
		var c chat.Chunk
		c, err = s.Recv()
		if err != nil {
			break
		}
		acc.Add(c)
	}
	if err == nil || err.Error() != "upstream reset" {
		t.Fatalf("error %v, want the upstream error passed through", err)
	}
	if got := acc.Response().Message.Content; got != "cut off [PHONE" {
		t.Errorf("content %q: held text must be flushed before the error", got)
	}
	got := acc.Response().Message.ToolCalls
	want := []chat.ToolCall{
		{ID: "a", Type: "function", Name: "f", Arguments: `{"p":"13812345678"}`},
		{ID: "b", Type: "function", Name: "g", Arguments: `{"n":"欧阳娜娜"}`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if s.Close(); !src.closed {
		t.Error("Close did not reach the upstream stream")
	}
	if _, err := v.Restore(&errStream{err: io.EOF}).Recv(); err != io.EOF {
		t.Errorf("empty stream: %v, want io.EOF", err)
	}
}

// TestRandomDigitRuns measures how often uniformly random digit runs, with no context, are
// taken for personal data. Lengths 11 and 16–19 are where phones and cards live; the
// checksum and prefix rules keep the rate at what the formats allow.
func TestRandomDigitRuns(t *testing.T) {
	e := cnEngine(t)
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 20000
	limits := map[int]float64{
		11: 0.07, // mobiles have no checksum: 1 in 10 runs start with 1, ~56% of those have an allocated prefix
		15: 0.01, // legacy ID: region and date
		16: 0.03, // Luhn (1/10) times a known IIN (~23% of prefixes)
		17: 0.01,
		18: 0.01, // GB 11643 (1/11) times region and date; all-digit USCC 1/31 × 1/11
		19: 0.02,
	}
	for length, limit := range limits {
		hits := map[Type]int{}
		for range n {
			b := make([]byte, length)
			for i := range b {
				b[i] = byte('0' + rng.IntN(10))
			}
			for _, m := range e.Detect("见 " + string(b) + " 。") {
				hits[m.Type]++
			}
		}
		total := 0
		for _, c := range hits {
			total += c
		}
		rate := float64(total) / n
		t.Logf("length %d: %.4f of random runs detected %v", length, rate, hits)
		if rate > limit {
			t.Errorf("length %d: %.4f of random runs detected, want at most %.2f", length, rate, limit)
		}
	}
}

func TestSameValueSamePlaceholder(t *testing.T) {
	e := cnEngine(t)
	req := &chat.Request{Messages: []chat.Message{
		{Role: chat.RoleUser, Content: "13812345678 / 138-1234-5678 / １３８１２３４５６７８ / +86 138 1234 5678"},
		{Role: chat.RoleUser, Content: "Zhang@Example.com zhang@example.com 11010519491231002x 11010519491231002X"},
		{Role: chat.RoleUser, Content: "13912345678"},
	}}
	_, rc, err := e.Protect(req)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"[PHONE_1] / [PHONE_1] / [PHONE_1] / [PHONE_1]",
		"[EMAIL_1] [EMAIL_1] [ID_CARD_1] [ID_CARD_1]",
		"[PHONE_2]",
	}
	for i, w := range want {
		if got := req.Messages[i].Content; got != w {
			t.Errorf("message %d: %q, want %q", i, got, w)
		}
	}
	if got := rc.Header(); got != `{"email":1,"id_card":1,"phone":2}` {
		t.Errorf("receipt %s", got)
	}
}

// FuzzProtectRoundTrip: with every type replaced, restoring the protected text gives back the
// original exactly, whatever the text holds (invalid UTF-8, placeholder-shaped strings), as
// long as each value is spelled one way (two spellings share a placeholder and come back as
// the first).
func FuzzProtectRoundTrip(f *testing.F) {
	for _, s := range []string{"电话13812345678，[PHONE_1]，我叫张伟", "[PHONE_13812345678]", "\xff13812345678\xfe", "a@b.cn [EMAIL_1] ［ＥＭＡＩＬ＿２］"} {
		f.Add(s)
	}
	e := cnEngine(f)
	f.Fuzz(func(t *testing.T, s string) {
		spell := map[string]string{}
		for _, m := range e.Detect(s) {
			k := string(appendKey(nil, m.Type, m.Text))
			if prev, ok := spell[k]; ok && prev != m.Text {
				t.Skip("a value with two spellings")
			}
			spell[k] = m.Text
		}
		req := &chat.Request{Messages: []chat.Message{{Role: chat.RoleUser, Content: s}}}
		v, _, err := e.Protect(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.RestoreString(req.Messages[0].Content); got != s {
			t.Fatalf("round trip %q → %q → %q", s, req.Messages[0].Content, got)
		}
	})
}

func TestProtectBadInput(t *testing.T) {
	e := cnEngine(t)
	in := "\xff电话\xc313812345678\xfe" + strings.Repeat("9", 100_000) + " [PHONE_1]"
	req := &chat.Request{Messages: []chat.Message{{Role: chat.RoleUser, Content: in}}}
	v, rc, err := e.Protect(req)
	if err != nil {
		t.Fatal(err)
	}
	want := "\xff电话\xc3[PHONE_2]\xfe" + strings.Repeat("9", 100_000) + " [PHONE_1]"
	if req.Messages[0].Content != want {
		t.Errorf("protected text differs around the phone (length %d, want %d)", len(req.Messages[0].Content), len(want))
	}
	if rc.Total() != 1 || v.RestoreString(req.Messages[0].Content) != in {
		t.Errorf("receipt %v; round trip failed", rc)
	}
}

func TestMask(t *testing.T) {
	tests := []struct {
		typ      Type
		in, want string
	}{
		{Phone, "138-1234-5678", "138-****-5678"},
		{BankCard, "6222 0210 0112 2334 3", "622* **** **** *334 3"},
		{Name, "欧阳娜娜", "欧阳**"},
		{Name, "王", "王"},
		{Address, "北京市朝阳区建国路88号", "北京市朝阳区******"},
		{Plate, "京A12345", "京A***45"},
		{IP, "192.168.10.25", "192.168.*.*"},
		{IP, "fe80::1", "fe80:*"},
		{Email, "zhang@example.com", "z****@example.com"},
		{Passport, "E12345678", "E1*****78"},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ)+" "+tt.in, func(t *testing.T) {
			if got := mask(tt.typ, tt.in); got != tt.want {
				t.Errorf("mask(%s, %q) = %q, want %q", tt.typ, tt.in, got, tt.want)
			}
		})
	}
}

// TestPlaceholderShapedInputJSONEscaped: a model echoing JSON may decode escapes, so an
// escaped bracket in a tool result reserves the placeholder too.
func TestPlaceholderShapedInputJSONEscaped(t *testing.T) {
	e := cnEngine(t)
	req := &chat.Request{Messages: []chat.Message{
		{Role: chat.RoleSystem, Content: "客户电话 13812345678"},
		{Role: chat.RoleTool, ToolCallID: "c1", Content: `{"note":"\u005bPHONE_1]"}`},
	}}
	if _, _, err := e.Protect(req); err != nil {
		t.Fatal(err)
	}
	if got := req.Messages[0].Content; got != "客户电话 [PHONE_2]" {
		t.Errorf("system content %q, want [PHONE_2]: [PHONE_1] is taken by the tool result", got)
	}
}
