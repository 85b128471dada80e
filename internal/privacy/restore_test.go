package privacy

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qiao-gateway/qiao/internal/chat"
)

// testVault protects a request holding a phone, a name with a quote and an ID, and returns
// the vault.
func testVault(t testing.TB) *Vault {
	t.Helper()
	e, err := New(DefaultConfig("CN"))
	if err != nil {
		t.Fatal(err)
	}
	e.Now = fixedNow
	req := &chat.Request{Messages: []chat.Message{{Role: chat.RoleUser,
		Content: "电话 13812345678，我叫欧阳娜娜，身份证 11010519491231002X"}}}
	v, _, err := e.Protect(req)
	if err != nil {
		t.Fatal(err)
	}
	// A value with characters JSON must escape (quote, backslash, newline), issued directly:
	// no recognizer produces one, but tool-call arguments must survive it.
	v.placeholderFor(Email, "\"x\\y\"\n@example.com")
	v.seal()
	if v.Len() != 4 {
		t.Fatalf("vault has %d entries, want 4: %q", v.Len(), req.Messages[0].Content)
	}
	return v
}

const answerText = "好的，[NAME_1]，您的电话[PHONE_1]已登记；身份证[ID_CARD_1]。[PHONE_9]是编的，[[PHONE_1]]，[PHONE_1"

// split returns the answer as chunks cut at the given byte offsets of each channel.
func chunksAt(content, reasoning, args string, cut int) []chat.Chunk {
	part := func(s string) (string, string) {
		if cut > len(s) {
			return s, ""
		}
		return s[:cut], s[cut:]
	}
	c1, c2 := part(content)
	r1, r2 := part(reasoning)
	a1, a2 := part(args)
	return []chat.Chunk{
		{Delta: chat.Delta{Role: chat.RoleAssistant, ReasoningContent: r1}},
		{Delta: chat.Delta{ReasoningContent: r2, Content: c1}},
		{Delta: chat.Delta{Content: c2, ToolCalls: []chat.ToolCallDelta{{Index: 0, ID: "call_1", Type: "function", Name: "save", Arguments: a1}}}},
		{Delta: chat.Delta{ToolCalls: []chat.ToolCallDelta{{Index: 0, Arguments: a2}}}},
		{FinishReason: chat.FinishToolCalls, Usage: &chat.Usage{TotalTokens: 9}},
	}
}

func TestRestoreSplitAtEveryByte(t *testing.T) {
	v := testVault(t)
	args := `{"name":"[NAME_1]","phone":"[PHONE_1]","who":"[EMAIL_1]"}`
	reasoning := "用户[NAME_1]想保存[PHONE_1]"
	whole, err := chat.Collect(v.Restore(chat.NewSliceStream(chunksAt(answerText, reasoning, args, 1<<20)...)))
	if err != nil {
		t.Fatal(err)
	}
	wantContent := "好的，欧阳娜娜，您的电话13812345678已登记；身份证11010519491231002X。[PHONE_9]是编的，[13812345678]，[PHONE_1"
	if whole.Message.Content != wantContent {
		t.Fatalf("content %q\nwant    %q", whole.Message.Content, wantContent)
	}
	if whole.Message.ReasoningContent != "用户欧阳娜娜想保存13812345678" {
		t.Fatalf("reasoning %q", whole.Message.ReasoningContent)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(whole.Message.ToolCalls[0].Arguments), &got); err != nil {
		t.Fatalf("restored arguments are not JSON: %v: %s", err, whole.Message.ToolCalls[0].Arguments)
	}
	if diff := cmp.Diff(map[string]string{"name": "欧阳娜娜", "phone": "13812345678", "who": "\"x\\y\"\n@example.com"}, got); diff != "" {
		t.Fatalf("arguments (-want +got):\n%s", diff)
	}
	maxLen := max(len(answerText), len(args), len(reasoning))
	for cut := 0; cut <= maxLen; cut++ {
		r, err := chat.Collect(v.Restore(chat.NewSliceStream(chunksAt(answerText, reasoning, args, cut)...)))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(whole, r); diff != "" {
			t.Fatalf("split at %d differs from the unsplit answer (-whole +split):\n%s", cut, diff)
		}
	}
}

// TestRestoreHoldsBackOnlyAPrefix: text is released as soon as it cannot be a placeholder,
// so the first token is not delayed.
func TestRestoreHoldsBackOnlyAPrefix(t *testing.T) {
	v := testVault(t)
	tests := []struct{ in, out string }{
		{"你好", "你好"},
		{"电话是[", "电话是"},
		{"电话是[PH", "电话是"},
		{"数组[0", "数组[0"},
		{"标签[PHONE_9", "标签[PHONE_9"},
		{"[PHONE_1", ""},
		{"[PHONE_1]", "13812345678"},
		{"a[b[PHONE_", "a[b"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s := v.Restore(chat.NewSliceStream(
				chat.Chunk{Delta: chat.Delta{Content: tt.in}},
				chat.Chunk{Delta: chat.Delta{Content: "!"}},
			))
			c, err := s.Recv()
			if tt.out == "" {
				// Everything was held: the first chunk out is the second one, merged.
				if err != nil || c.Delta.Content != tt.in+"!" {
					t.Fatalf("got %q, %v; want held text released with the next chunk", c.Delta.Content, err)
				}
				return
			}
			if err != nil || c.Delta.Content != tt.out {
				t.Fatalf("first chunk %q, %v; want %q", c.Delta.Content, err, tt.out)
			}
		})
	}
}

func TestRestoreFlushesAtEOF(t *testing.T) {
	v := testVault(t)
	r, err := chat.Collect(v.Restore(chat.NewSliceStream(chat.Chunk{Delta: chat.Delta{Content: "结尾[PHONE_"}})))
	if err != nil || r.Message.Content != "结尾[PHONE_" {
		t.Fatalf("got %q, %v", r.Message.Content, err)
	}
}

// FuzzRestore splits a streamed answer at arbitrary byte positions (also inside multi-byte
// runes) and checks the restored text equals the restore of the unsplit text.
func FuzzRestore(f *testing.F) {
	f.Add(answerText, 3, 7)
	f.Add("[[[PHONE_1][NAME_1]]]", 1, 2)
	f.Add("欧阳[ID_CARD_1]\xff[", 4, 1)
	v := testVault(f)
	f.Fuzz(func(t *testing.T, text string, a, b int) {
		want := v.RestoreString(text)
		var chunks []chat.Chunk
		rest := text
		for i, step := 0, 0; rest != ""; i++ {
			step = a
			if i%2 == 1 {
				step = b
			}
			n := 1 + (step%len(rest)+len(rest))%len(rest)
			chunks = append(chunks, chat.Chunk{Delta: chat.Delta{Content: rest[:n],
				ToolCalls: []chat.ToolCallDelta{{Index: 1, Arguments: rest[:n]}}}})
			rest = rest[n:]
		}
		r, err := chat.Collect(v.Restore(chat.NewSliceStream(chunks...)))
		if err != nil {
			t.Fatal(err)
		}
		if r.Message.Content != want {
			t.Fatalf("split restore %q, want %q", r.Message.Content, want)
		}
		var args string
		if len(r.Message.ToolCalls) > 0 {
			args = r.Message.ToolCalls[0].Arguments
		}
		wantArgs, _ := v.restore(text, true, true)
		if args != wantArgs {
			t.Fatalf("split args %q, want %q", args, wantArgs)
		}
	})
}
