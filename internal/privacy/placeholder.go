package privacy

import "strconv"

// Placeholders look like [PHONE_1]: an ASCII bracket, the upper-case type label, an
// underscore, a decimal index from 1, and a closing bracket. docs/privacy.md explains the
// choice: ASCII survives every JSON encoder unescaped (Go escapes < and >, Python escapes
// non-ASCII such as ⟦⟧ by default), every tokenizer has these pieces as stable tokens, and
// models copy bracketed upper-case tags verbatim because redacted training data uses them.

// placeholder formats the placeholder of type t with index n.
func placeholder(t Type, n int) string {
	return "[" + t.label() + "_" + strconv.Itoa(n) + "]"
}

// maxPlaceholder bounds the length of anything placeholder-shaped we look at.
const maxPlaceholder = 32

// placeholderAt reports whether s has a placeholder-shaped string at i (any upper-case
// label, not only ours) and returns its end. It is used to find text in a prompt that
// already looks like a placeholder, so the vault never issues that exact string.
func placeholderAt(s string, i int) (int, bool) {
	if i >= len(s) || s[i] != '[' {
		return 0, false
	}
	k := i + 1
	for k < len(s) && k-i < maxPlaceholder && (isUpper(s[k]) || s[k] == '_') {
		k++
	}
	if k == i+1 || s[k-1] != '_' || !isUpper(s[i+1]) {
		return 0, false
	}
	d := k
	for k < len(s) && k-i < maxPlaceholder && isDigit(s[k]) {
		k++
	}
	if k == d || k >= len(s) || s[k] != ']' {
		return 0, false
	}
	return k + 1, true
}
