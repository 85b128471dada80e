package privacy

import (
	"sort"
	"strconv"
	"strings"
)

// Receipt tells the client what was protected in its request, without any value: the
// number of distinct values per type name ({"id_card":1,"phone":2}). Replaced and masked
// values both count.
type Receipt map[string]int

// Total returns the number of distinct values protected.
func (r Receipt) Total() int {
	n := 0
	for _, c := range r {
		n += c
	}
	return n
}

// Header returns the receipt as compact JSON with keys in sorted order, for the
// X-Qiao-Privacy response header and the response body field. An empty receipt is "{}".
func (r Receipt) Header() string {
	keys := make([]string, 0, len(r))
	for k, c := range r {
		if c > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(k)) // type names are plain ASCII
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(r[k]))
	}
	b.WriteByte('}')
	return b.String()
}
