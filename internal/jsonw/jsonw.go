// Package jsonw writes JSON without reflection for the few shapes on the request path that
// are hot enough to need it (stream chunks, audit records). Its output is byte for byte what
// encoding/json writes in the default build, which the fuzzers check. (Under
// GOEXPERIMENT=jsonv2, encoding/json writes invalid UTF-8 differently and those reference
// tests fail; the output here, which the audit log's hashes depend on, does not change.)
package jsonw

import "unicode/utf8"

// AppendString appends s as a JSON string, escaped byte for byte as encoding/json escapes
// it: quotes, backslashes and control characters; with html, also <, > and & (json.Marshal's
// default; an Encoder with SetEscapeHTML(false) leaves them); U+2028 and U+2029; invalid
// UTF-8 as U+FFFD.
func AppendString(b []byte, s string, html bool) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (!html || c != '<' && c != '>' && c != '&') {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(b, s[start:]...), '"')
}
