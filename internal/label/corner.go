package label

import "fmt"

// ParseCorner parses "bottom-right" (also ""), "bottom-left", "top-right" or "top-left".
func ParseCorner(s string) (Corner, error) {
	switch s {
	case "", "bottom-right":
		return BottomRight, nil
	case "bottom-left":
		return BottomLeft, nil
	case "top-right":
		return TopRight, nil
	case "top-left":
		return TopLeft, nil
	}
	return 0, fmt.Errorf("label: corner %q: want bottom-right, bottom-left, top-right or top-left", s)
}
