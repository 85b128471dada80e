package dashscope

import (
	"strconv"
	"strings"
)

// IsMultimodal reports whether DashScope serves model only on the multimodal-generation
// endpoint. The rule, from Model Studio's documentation (and Higress's qwen provider):
//
//   - vision, audio and omni models: names containing "-vl", "-audio" or "-omni", and the QVQ
//     family ("qvq-max", "qwen-vl-plus", "qwen2.5-vl-72b-instruct", "qwen3-omni-flash");
//   - Qwen 3.5 and later ("qwen3.5-plus", "qwen3.6-flash", "qwen4-max"): these are natively
//     multimodal, and the text endpoint answers them with "url error".
//
// Everything else ("qwen-plus", "qwen-max", "qwen3-max", "qwq-plus", "qwen2.5-72b-instruct")
// is a text model. A request with image parts goes to the multimodal endpoint whatever the
// model (see Client.Chat).
func IsMultimodal(model string) bool {
	m := strings.ToLower(strings.TrimSpace(model))
	if strings.HasPrefix(m, "qvq") || strings.Contains(m, "-vl") || strings.Contains(m, "-omni") ||
		strings.Contains(m, "-audio") {
		return true
	}
	major, minor, ok := qwenVersion(m)
	return ok && (major > 3 || major == 3 && minor >= 5)
}

// qwenVersion parses the generation number after "qwen": "qwen3.5-plus" → 3, 5;
// "qwen3-max" → 3, 0; "qwen-plus" → not ok.
func qwenVersion(m string) (major, minor int, ok bool) {
	rest, found := strings.CutPrefix(m, "qwen")
	if !found {
		return 0, 0, false
	}
	end := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if end < 0 {
		end = len(rest)
	}
	ver := rest[:end]
	if ver == "" {
		return 0, 0, false
	}
	maj, min, _ := strings.Cut(ver, ".")
	major, err := strconv.Atoi(maj)
	if err != nil {
		return 0, 0, false
	}
	if min != "" {
		if minor, err = strconv.Atoi(min); err != nil {
			return 0, 0, false
		}
	}
	return major, minor, true
}
