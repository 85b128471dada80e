package privacy

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

type found struct {
	Type Type
	Text string
}

func detected(e *Engine, s string) []found {
	var out []found
	for _, m := range e.Detect(s) {
		out = append(out, found{m.Type, m.Text})
	}
	return out
}

func TestDetect(t *testing.T) {
	e := cnEngine(t)
	tests := []struct {
		name string
		text string
		want []found
	}{
		{"id inside a longer digit run", "1110105194912310023X", nil},
		{"phone inside a longer digit run", "913812345678", nil},
		{"phone glued to letters", "SO13812345678", nil},
		{"phone continued by a dash group", "138-1234-5678-9", nil},
		{"phone in a 4-4-4 sequence", "138 1234 5678 1234", nil},
		{"phone then unrelated number", "拨 13812345678 2 次", []found{{Phone, "13812345678"}}},
		{"decimal", "3.13812345678", nil},
		{"full-width digits", "电话：１３８１２３４５６７８。", []found{{Phone, "１３８１２３４５６７８"}}},
		{"full-width plus and dash", "＋８６－１３８－１２３４－５６７８", []found{{Phone, "＋８６－１３８－１２３４－５６７８"}}},
		{"email wins over its phone-shaped local part", "13812345678@qq.com", []found{{Email, "13812345678@qq.com"}}},
		{"landline extension", "(010)65529988转123", []found{{Landline, "(010)65529988转123"}}},
		{"landline +86", "+86 10 6552 9988", []found{{Landline, "+86 10 6552 9988"}}},
		{"bare subscriber needs a cue", "电话 65529988，另外库存数量是 65529988 件", []found{{Landline, "65529988"}}},
		{"Luhn-valid card without BIN or cue", "1234567812345670", nil},
		{"Luhn-valid card without BIN with cue", "卡号 1234567812345670", []found{{BankCard, "1234567812345670"}}},
		{"card after order cue", "订单号 4111111111111111", nil},
		{"passport needs a cue", "E12345678", nil},
		{"ipv4 leading zero", "010.001.001.001", nil},
		{"ipv4 in version context", "firmware 1.2.3.4", nil},
		{"time is not ipv6", "12:30:45", nil},
		{"plate with I is not a plate", "京I12345", nil},
		{"name compound surname", "我叫上官婉儿", []found{{Name, "上官婉儿"}}},
		{"address needs street level", "地址：北京市朝阳区", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, detected(e, tt.text)); diff != "" {
				t.Errorf("Detect(%q) mismatch (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func TestDetectProfiles(t *testing.T) {
	us, err := New(DefaultConfig("US"))
	if err != nil {
		t.Fatal(err)
	}
	us.Now = fixedNow
	// A UnionPay card is a payment card where bank_card is off; CN types are not found.
	got := detected(us, "card 6217000012345670, 身份证 11010519491231002X, 13812345678")
	want := []found{{PaymentCard, "6217000012345670"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("US profile (-want +got):\n%s", diff)
	}
}

func TestNamesAggressive(t *testing.T) {
	cfg := DefaultConfig("CN")
	cfg.Names = NamesAggressive
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := "昨天，王芳和李强去了公园。"
	if got := detected(cnEngine(t), text); got != nil {
		t.Errorf("precise mode found %v in %q without a cue", got, text)
	}
	want := []found{{Name, "王芳"}, {Name, "李强"}}
	if diff := cmp.Diff(want, detected(e, text)); diff != "" {
		t.Errorf("aggressive mode (-want +got):\n%s", diff)
	}
}

// TestDetectBadInput: nothing panics, spans stay inside the text, and hostile sizes finish.
func TestDetectBadInput(t *testing.T) {
	e := cnEngine(t)
	tests := []struct {
		name string
		text string
		want []found
	}{
		{"invalid UTF-8 around a phone", "\xff\xfe13812345678\xc3", []found{{Phone, "13812345678"}}},
		{"truncated full-width digit", "１３８\xef\xbc", nil},
		{"100k-digit run", strings.Repeat("1", 100_000), nil},
		{"100k digits joined by spaces", strings.Repeat("1 ", 50_000), nil},
		{"100k digits joined by dashes", strings.Repeat("12-", 33_000), nil},
		{"enormous single token", strings.Repeat("a", 1<<20), nil},
		{"many at signs", strings.Repeat("a@", 100_000), nil},
		{"many colons", strings.Repeat("a:", 100_000), nil},
		{"long Han run with cues", strings.Repeat("我叫先生地址路", 20_000), nil},
		{"divisions without a street, repeated", strings.Repeat("北京市朝阳区", 40_000), nil},
		{"road suffixes before a number, repeated", strings.Repeat("路路路路1", 40_000), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := detected(e, tt.text)
			if diff := cmp.Diff(tt.want, got); diff != "" && len(tt.text) < 100 {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			} else if diff != "" && tt.want == nil {
				t.Errorf("found %d matches in hostile input, want none", len(got))
			}
			checkSpans(t, tt.text, e.Detect(tt.text))
		})
	}
}

func checkSpans(t *testing.T, text string, ms []Match) {
	t.Helper()
	end := 0
	for _, m := range ms {
		if m.Start < end || m.End <= m.Start || m.End > len(text) || text[m.Start:m.End] != m.Text {
			t.Fatalf("bad span %+v in text of length %d", m, len(text))
		}
		end = m.End
	}
}

func FuzzDetect(f *testing.F) {
	for _, s := range []string{"我的身份证号是11010519491231002X，电话13812345678。",
		"卡号 6222 6002 6000 1072 444 +86 138-1234-5678 a@b.cn fe80::1",
		"我叫张伟，住在北京市朝阳区建国路88号院3号楼2单元401室", "１３８１２３４５６７８", "\xff\xfe"} {
		f.Add(s)
	}
	cfg := DefaultConfig("CN")
	cfg.Names = NamesAggressive
	e, err := New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms := e.Detect(s)
		checkSpans(t, s, ms)
		for _, m := range ms {
			if utf8.ValidString(s) && !utf8.ValidString(m.Text) {
				t.Fatalf("span %+v splits a rune", m)
			}
		}
	})
}
