package label

import "testing"

func TestParseCorner(t *testing.T) {
	for in, want := range map[string]Corner{"": BottomRight, "bottom-right": BottomRight, "bottom-left": BottomLeft, "top-right": TopRight, "top-left": TopLeft} {
		if got, err := ParseCorner(in); err != nil || got != want {
			t.Errorf("ParseCorner(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseCorner("middle"); err == nil {
		t.Error("ParseCorner accepted middle")
	}
}
