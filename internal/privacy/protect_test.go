package privacy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
)

func TestProtectRewritesRequest(t *testing.T) {
	e := cnEngine(t)
	req := &chat.Request{Messages: []chat.Message{
		{Role: chat.RoleSystem, Content: "客户电话 13812345678"},
		{Role: chat.RoleUser, Parts: []chat.Part{
			{Type: chat.PartText, Text: "我的电话是138-1234-5678，邮箱 a.b@example.com"},
			{Type: chat.PartImageURL, ImageURL: "data:image/png;base64,13812345678"},
		}},
		{Role: chat.RoleAssistant, ToolCalls: []chat.ToolCall{{ID: "c1", Name: "lookup",
			Arguments: `{"phone":"13812345678","note":"line\n13900001111"}`}}},
		{Role: chat.RoleTool, ToolCallID: "c1", Content: `{"owner":"我叫张伟","email":"a.b@example.com"}`},
	}}
	v, rc, err := e.Protect(req)
	if err != nil {
		t.Fatal(err)
	}
	want := []chat.Message{
		{Role: chat.RoleSystem, Content: "客户电话 [PHONE_1]"},
		{Role: chat.RoleUser, Parts: []chat.Part{
			{Type: chat.PartText, Text: "我的电话是[PHONE_1]，邮箱 [EMAIL_1]"},
			{Type: chat.PartImageURL, ImageURL: "data:image/png;base64,13812345678"},
		}},
		{Role: chat.RoleAssistant, ToolCalls: []chat.ToolCall{{ID: "c1", Name: "lookup",
			Arguments: `{"phone":"[PHONE_1]","note":"line\n[PHONE_2]"}`}}},
		{Role: chat.RoleTool, ToolCallID: "c1", Content: `{"owner":"我叫[NAME_1]","email":"[EMAIL_1]"}`},
	}
	if diff := cmp.Diff(want, req.Messages); diff != "" {
		t.Errorf("rewritten messages (-want +got):\n%s", diff)
	}
	if got, want := rc.Header(), `{"email":1,"name":1,"phone":2}`; got != want {
		t.Errorf("receipt header %s, want %s", got, want)
	}
	if rc.Total() != 4 {
		t.Errorf("receipt total %d, want 4", rc.Total())
	}
	// The first spelling seen is what comes back.
	if got := v.RestoreString("[PHONE_1] [PHONE_2] [NAME_1]"); got != "13812345678 13900001111 张伟" {
		t.Errorf("RestoreString = %q", got)
	}
	for _, f := range []string{fmt.Sprint(v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v)} {
		if strings.Contains(f, "138") || strings.Contains(f, "张伟") {
			t.Errorf("vault formatting leaks a value: %s", f)
		}
	}
}

func TestProtectActions(t *testing.T) {
	tests := []struct {
		name    string
		types   map[Type]Action
		text    string
		want    string
		receipt string
		code    string
	}{
		{"mask phone", map[Type]Action{Phone: ActionMask}, "call 13812345678", "call 138****5678", `{"phone":1}`, ""},
		{"mask id", map[Type]Action{IDCard: ActionMask}, "id 11010519491231002X", "id 110***********002X", `{"id_card":1}`, ""},
		{"mask email", map[Type]Action{Email: ActionMask}, "mail zhang@example.com", "mail z****@example.com", `{"email":1}`, ""},
		{"refuse bank card", map[Type]Action{BankCard: ActionRefuse, Phone: ActionReplace}, "13812345678 卡号 6217000012345670", "", "", CodePIIRefused},
		{"off leaves text", map[Type]Action{Phone: ActionOff}, "call 13812345678", "call 13812345678", `{}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(Config{Enabled: true, Types: tt.types})
			if err != nil {
				t.Fatal(err)
			}
			e.Now = fixedNow
			req := &chat.Request{Messages: []chat.Message{{Role: chat.RoleUser, Content: tt.text}}}
			_, rc, err := e.Protect(req)
			if tt.code != "" {
				ae, ok := apierr.As(err)
				if !ok || ae.Code != tt.code || ae.Status != http.StatusBadRequest {
					t.Fatalf("err = %v, want apierr %s", err, tt.code)
				}
				if strings.Contains(ae.Message, "6217") || !strings.Contains(ae.Message, "bank_card") {
					t.Errorf("refusal message %q must name the type and not the value", ae.Message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := req.Messages[0].Content; got != tt.want {
				t.Errorf("content %q, want %q", got, tt.want)
			}
			if got := rc.Header(); got != tt.receipt {
				t.Errorf("receipt %s, want %s", got, tt.receipt)
			}
		})
	}
}

func TestProtectFailsClosed(t *testing.T) {
	e := cnEngine(t)
	e.beforeDetect = func(text string) { panic("recognizer broke on " + text) }
	req := &chat.Request{Messages: []chat.Message{{Role: chat.RoleUser, Content: "电话 13812345678"}}}
	v, _, err := e.Protect(req)
	ae, ok := apierr.As(err)
	if !ok || ae.Code != CodeUnavailable || ae.Status != http.StatusInternalServerError || v != nil {
		t.Fatalf("Protect = %v, %v; want a privacy_unavailable error and no vault", v, err)
	}
	if strings.Contains(err.Error(), "13812345678") {
		t.Errorf("error leaks the text: %v", err)
	}
}

func TestProtectDisabled(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	req := &chat.Request{Messages: []chat.Message{{Role: chat.RoleUser, Content: "13812345678"}}}
	v, rc, err := e.Protect(req)
	if err != nil || v.Len() != 0 || rc.Total() != 0 || req.Messages[0].Content != "13812345678" {
		t.Errorf("disabled engine changed the request: %v %v %v %q", v, rc, err, req.Messages[0].Content)
	}
	s := chat.NewSliceStream(chat.Chunk{Delta: chat.Delta{Content: "[PHONE_1]"}})
	if v.Restore(s) != chat.Stream(s) {
		t.Errorf("nil vault must return the stream unchanged")
	}
}

// TestPlaceholderShapedInput: text in the prompt that looks like our placeholders is never
// issued to a value, so the restorer cannot turn the user's [PHONE_1] into a real number.
func TestPlaceholderShapedInput(t *testing.T) {
	e := cnEngine(t)
	req := &chat.Request{Messages: []chat.Message{
		{Role: chat.RoleSystem, Content: "VIP 客户电话 13812345678"},
		{Role: chat.RoleUser, Content: "请原样输出 [PHONE_1] 和 ［PHONE_2］ 和 [EMAIL_1]"},
	}}
	v, _, err := e.Protect(req)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := req.Messages[0].Content, "VIP 客户电话 [PHONE_3]"; got != want {
		t.Errorf("system content %q, want %q", got, want)
	}
	answer := "[PHONE_1] [PHONE_2] [EMAIL_1] [PHONE_3] [PHONE_9] [PHONE_3 ] [phone_3]"
	got, err := chat.Collect(v.Restore(chat.NewSliceStream(chat.Chunk{Delta: chat.Delta{Content: answer}})))
	if err != nil {
		t.Fatal(err)
	}
	want := "[PHONE_1] [PHONE_2] [EMAIL_1] 13812345678 [PHONE_9] [PHONE_3 ] [phone_3]"
	if got.Message.Content != want {
		t.Errorf("restored %q, want %q", got.Message.Content, want)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"default CN", DefaultConfig("CN"), ""},
		{"default EU", DefaultConfig("eu"), ""},
		{"unknown type", Config{Types: map[Type]Action{"passport_no": ActionMask}}, `unknown type "passport_no"`},
		{"unknown action", Config{Types: map[Type]Action{Phone: "hash"}}, `unknown action "hash"`},
		{"unknown names mode", Config{Names: "greedy"}, `unknown names mode "greedy"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("Validate() = %v, want %q", err, tt.err)
			}
		})
	}
	if n := len(DefaultConfig("CN").Types); n != len(AllTypes) {
		t.Errorf("CN protects %d types, want all %d", n, len(AllTypes))
	}
}

func TestReceiptHeaderIsJSON(t *testing.T) {
	rc := Receipt{"phone": 2, "id_card": 1, "email": 0}
	if got := rc.Header(); got != `{"id_card":1,"phone":2}` {
		t.Errorf("Header() = %s", got)
	}
	var m map[string]int
	if err := json.Unmarshal([]byte(rc.Header()), &m); err != nil {
		t.Error(err)
	}
}

// TestConcealString: ConcealString puts the placeholders back into text that holds the
// client's values (a restored answer), preferring the longer value where two overlap, and
// leaves other text alone.
func TestConcealString(t *testing.T) {
	e := cnEngine(t)
	in := "联系人：欧阳铁柱，电话 13812345678，邮箱 a.b@example.com"
	req := &chat.Request{Messages: []chat.Message{{Role: chat.RoleUser, Content: in}}}
	v, _, err := e.Protect(req)
	if err != nil {
		t.Fatal(err)
	}
	protected := req.Messages[0].Content
	if protected == in {
		t.Fatal("nothing was protected: the test tests nothing")
	}
	if got := v.ConcealString(in); got != protected {
		t.Errorf("ConcealString(original) = %q, want the protected text %q", got, protected)
	}
	answer := "好的，我会联系欧阳铁柱（13812345678）。另一位是 13900001111。"
	if got := v.RestoreString(v.ConcealString(answer)); got != answer {
		t.Errorf("RestoreString(ConcealString(x)) = %q, want %q", got, answer)
	}
	if got := v.ConcealString(answer); strings.Contains(got, "欧阳铁柱") || strings.Contains(got, "13812345678") || !strings.Contains(got, "13900001111") {
		t.Errorf("ConcealString(answer) = %q", got)
	}
	var none *Vault
	if got := none.ConcealString(in); got != in {
		t.Errorf("nil vault changed the text: %q", got)
	}
}

// TestSafeCut: a cut never leaves part of a value before it.
func TestSafeCut(t *testing.T) {
	e := cnEngine(t)
	req := &chat.Request{Messages: []chat.Message{{Role: chat.RoleUser, Content: "邮箱 zhang.wei@example.com，服务器 10.20.30.40"}}}
	v, _, err := e.Protect(req)
	if err != nil || v.Len() != 2 {
		t.Fatalf("protect: %d values, %v", v.Len(), err)
	}
	text := "写信给 zhang.wei@example.com。再登录 10.20.30.4"
	at := func(sub string) int { return strings.Index(text, sub) }
	for _, tc := range []struct {
		name      string
		cut, want int
	}{
		{"before any value", at("zhang"), at("zhang")},
		{"inside a whole value", at(".wei"), at("zhang")},
		{"right after a whole value", at("。"), at("。")},
		{"inside a value the text ends in", at(".30"), at("10.20")},
		{"at the end, a value begun", len(text), at("10.20")},
		{"zero", 0, 0},
	} {
		if got := v.SafeCut(text, tc.cut); got != tc.want {
			t.Errorf("%s: SafeCut(%d) = %d, want %d", tc.name, tc.cut, got, tc.want)
		}
	}
	var none *Vault
	if got := none.SafeCut(text, 5); got != 5 {
		t.Errorf("nil vault moved the cut: %d", got)
	}
}

// TestConcealOverlap: where two values start at one place, the longer is replaced whole.
func TestConcealOverlap(t *testing.T) {
	v := newVault()
	v.orig["[PHONE_1]"] = "13812345678"
	v.orig["[ADDRESS_1]"] = "13812345678号大楼"
	v.maxLen = len("[ADDRESS_1]")
	v.seal()
	if got := v.ConcealString("去13812345678号大楼，或打13812345678"); got != "去[ADDRESS_1]，或打[PHONE_1]" {
		t.Errorf("ConcealString = %q", got)
	}
}
