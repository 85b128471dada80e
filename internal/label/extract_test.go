package label

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExtractLabels(t *testing.T) {
	l := newTestLabeler(t, Config{})
	imp := l.New()
	js := string(imp.JSON())
	img, err := LabelImage(readFixture(t, "plain.png"), imp, ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		in       string
		wantKind string
		want     []Implicit
		wantErr  bool
	}{
		{"image", string(img), KindImage, []Implicit{imp}, false},
		{"bare label", js, KindJSON, []Implicit{imp}, false},
		{"chat body", `{"id":"c1","choices":[{"message":{"content":"hi"}}],"aigc":` + js + `}`, KindJSON, []Implicit{imp}, false},
		{"SSE first and last event", "data: {\"aigc\":" + js + ",\"choices\":[]}\n\ndata: {\"choices\":[]}\n\ndata: {\"aigc\":" + js + "}\n\ndata: [DONE]\n\n", KindSSE, []Implicit{imp}, false},
		{"JSON without a label", `{"choices":[]}`, KindJSON, nil, false},
		{"garbage", "hello", "", nil, true},
		{"broken JSON", `{"aigc":`, KindJSON, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, kind, err := ExtractLabels([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if kind != tt.wantKind {
				t.Errorf("kind %q, want %q", kind, tt.wantKind)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			for _, g := range got {
				if err := l.Verify(g); err != nil {
					t.Errorf("Verify: %v", err)
				}
			}
		})
	}
}

func FuzzExtractLabels(f *testing.F) {
	f.Add([]byte(`{"aigc":{"Label":"1","ContentProducer":"P","ProduceID":"I","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}}`))
	f.Add([]byte("data: {}\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		labels, _, err := ExtractLabels(data)
		if err != nil {
			return
		}
		for _, l := range labels {
			if err := l.Check(); err != nil {
				t.Fatalf("extracted an invalid label: %v", err)
			}
		}
	})
}
