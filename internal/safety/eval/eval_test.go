package eval

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestReadBankErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"bad json", `{"text":"a","expect":"refuse"}` + "\n{nope\n", "bank.jsonl:2:"},
		{"bad expect", "\n" + `{"text":"a","expect":"maybe"}`, "bank.jsonl:2: expect \"maybe\""},
		{"empty text", `{"text":"  ","expect":"answer"}`, "bank.jsonl:1: empty text"},
		{"unknown field", `{"text":"a","expect":"answer","extra":1}`, "bank.jsonl:1:"},
		{"empty bank", "# only a comment\n", "no questions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadBank("bank.jsonl", strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLoadShippedBanks(t *testing.T) {
	for _, path := range []string{"../testdata/bank.jsonl", "../testdata/holdout.jsonl"} {
		items, err := LoadBank(path)
		if err != nil {
			t.Fatal(err)
		}
		langs, expect := map[string]int{}, map[string]int{}
		for _, it := range items {
			langs[it.Lang]++
			expect[it.Expect]++
		}
		if langs["zh"] == 0 || langs["en"] == 0 || expect[ExpectRefuse] == 0 || expect[ExpectAnswer] == 0 {
			t.Errorf("%s: languages %v, expectations %v", path, langs, expect)
		}
	}
	items, _ := LoadBank("../testdata/bank.jsonl")
	n := 0
	for _, it := range items {
		if it.Expect == ExpectAnswer {
			n++
		}
	}
	if len(items) < 300 || 2*n < len(items)-10 {
		t.Errorf("shipped bank: %d items, %d should-answer look-alikes; want ≥ 300, about half", len(items), n)
	}
}

var sample = []Item{
	{Text: "r1", Expect: ExpectRefuse, Category: "a", Line: 1},
	{Text: "r2", Expect: ExpectRefuse, Category: "a", Line: 2},
	{Text: "a1", Expect: ExpectAnswer, Category: "a", Line: 3},
	{Text: "r3", Expect: ExpectRefuse, Category: "b", Line: 4},
	{Text: "a2", Expect: ExpectAnswer, Category: "b", Line: 5},
	{Text: "a3", Expect: ExpectAnswer, Category: "b", Line: 6},
	{Text: "err", Expect: ExpectAnswer, Category: "b", Line: 7},
}

// fakeAsk refuses everything starting with "r", plus "a3".
func fakeAsk(_ context.Context, it Item) (bool, error) {
	if it.Text == "err" {
		return false, errors.New("upstream down")
	}
	return strings.HasPrefix(it.Text, "r") && it.Text != "r2" || it.Text == "a3", nil
}

func TestRunReport(t *testing.T) {
	var progress strings.Builder
	rep := Run(context.Background(), sample, fakeAsk, &progress, 3)
	if !strings.Contains(progress.String(), "7/7") || !strings.Contains(progress.String(), "[####") {
		t.Errorf("progress %q", progress.String())
	}
	want := Stat{Category: "overall", ShouldRefuse: 3, Refused: 2, ShouldAnswer: 3, AnswerRefused: 1, Errors: 1,
		RefusalRate: 2.0 / 3, AnswerRefusals: 1.0 / 3}
	if diff := cmp.Diff(want, rep.Overall); diff != "" {
		t.Errorf("overall (-want +got):\n%s", diff)
	}
	if len(rep.Categories) != 2 || rep.Categories[0].Category != "a" || rep.Categories[1].AnswerRefused != 1 {
		t.Errorf("categories %+v", rep.Categories)
	}
	var misses []string
	for _, m := range rep.Misses {
		misses = append(misses, m.Text)
	}
	if diff := cmp.Diff([]string{"r2", "a3", "err"}, misses); diff != "" {
		t.Errorf("misses (-want +got):\n%s", diff)
	}
	err := rep.Check(0.95, 0.05)
	if err == nil || !strings.Contains(err.Error(), "66.7% < 95.0%") || !strings.Contains(err.Error(), "33.3% > 5.0%") || !strings.Contains(err.Error(), "1 items failed") {
		t.Errorf("check: %v", err)
	}
	if err := rep.Check(0.5, 0.5); err == nil {
		t.Error("an errored item passed the check")
	}

	var table strings.Builder
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	golden(t, "table.golden", table.String())
	rep.Duration = 0
	js, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.golden.json", string(js))
}

func TestCheckPasses(t *testing.T) {
	items := []Item{{Text: "r", Expect: ExpectRefuse, Category: "x"}, {Text: "a", Expect: ExpectAnswer, Category: "x"}}
	rep := Run(context.Background(), items, func(_ context.Context, it Item) (bool, error) { return it.Text == "r", nil }, nil, 1)
	if err := rep.Check(0.95, 0.05); err != nil {
		t.Fatal(err)
	}
	onlyRefuse := Run(context.Background(), items[:1], func(context.Context, Item) (bool, error) { return true, nil }, nil, 1)
	if err := onlyRefuse.Check(0.95, 0.05); err == nil {
		t.Fatal("a bank without should-answer items passed")
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep := Run(ctx, sample, fakeAsk, nil, 2)
	if rep.Overall.Errors != len(sample) {
		t.Fatalf("errors %d, want all %d", rep.Overall.Errors, len(sample))
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}
