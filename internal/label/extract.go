package label

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Kinds of input ExtractLabels understands.
const (
	KindImage = "image"
	KindJSON  = "json"
	KindSSE   = "sse"
)

// ExtractLabels finds the implicit labels in a file handed to `qiao label verify`: a PNG or
// JPEG (its XMP), a JSON response body, or an SSE transcript (each data: line). In JSON, every
// object that has the seven Annex E keys counts, wherever the envelope puts it; the same label
// repeated (first and last SSE event) is reported once.
func ExtractLabels(data []byte) (labels []Implicit, kind string, err error) {
	switch DetectFormat(data) {
	case FormatPNG, FormatJPEG:
		imps, err := ReadImageLabels(data)
		return imps, KindImage, err
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		var v any
		if err := json.Unmarshal(trimmed, &v); err != nil {
			return nil, KindJSON, fmt.Errorf("label: input is not valid JSON: %w", err)
		}
		return collect(nil, v), KindJSON, nil
	}
	var out []Implicit
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	events := 0
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data:")
		if !ok {
			continue
		}
		events++
		var v any
		if json.Unmarshal([]byte(strings.TrimSpace(line)), &v) == nil {
			out = collect(out, v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, KindSSE, fmt.Errorf("label: read SSE: %w", err)
	}
	if events == 0 {
		return nil, "", errors.New("label: input is neither a PNG/JPEG image, JSON, nor an SSE transcript")
	}
	return out, KindSSE, nil
}

func collect(out []Implicit, v any) []Implicit {
	switch t := v.(type) {
	case map[string]any:
		if imp, ok := asImplicit(t); ok {
			for _, seen := range out {
				if seen == imp {
					return out
				}
			}
			return append(out, imp)
		}
		for _, c := range t {
			out = collect(out, c)
		}
	case []any:
		for _, c := range t {
			out = collect(out, c)
		}
	}
	return out
}

func asImplicit(m map[string]any) (Implicit, bool) {
	if _, ok := m["ProduceID"]; !ok {
		return Implicit{}, false
	}
	b, err := json.Marshal(m)
	if err != nil {
		return Implicit{}, false
	}
	imp, err := ParseImplicit(b)
	return imp, err == nil
}
