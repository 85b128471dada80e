package privacy

import "strings"

// Digit recognizers: resident IDs, mobile and fixed-line numbers, bank and payment cards,
// SSNs, all-digit credit codes and E.164 numbers. They work on a sequence of digit groups
// joined by spaces, dashes or parentheses ("138 1234 5678", "(010) 6552-9988"), and a
// candidate is always made of whole groups: a digit run inside a longer digit run never
// matches.

// group is one digit run in a sequence.
type group struct {
	start, end int    // byte span in the folded text; end includes a trailing X
	x          bool   // 17 digits and an X
	join       string // the joiner before this group; "" for the first
}

// maxGroups bounds the groups one candidate may span (a card printed 4-4-4-4-3 is five).
const maxGroups = 6

// numeric handles the digit token s[i:j] and the groups joined to it, and returns where
// scanning resumes.
func (d *detector) numeric(i, j int, x bool) int {
	s := d.s
	var buf [16]group
	gs := append(buf[:0], group{start: i, end: j, x: x})
	pos := j
	for len(gs) < len(buf) {
		k := pos
		for k < len(s) && k-pos < 3 && isJoiner(s[k]) {
			k++
		}
		if k == pos || k >= len(s) || !isDigit(s[k]) {
			break
		}
		e := k
		for e < len(s) && isAlnum(s[e]) {
			e++
		}
		dg, gx := digitToken(s[k:e])
		if !dg {
			break
		}
		gs = append(gs, group{start: k, end: e, x: gx, join: s[pos:k]})
		pos = e
	}
	if j < len(s) && s[j] == '.' && !x {
		// IPv4 shares digit tokens; try it first from this token.
		// A version cue must stand right before (version 1.2.3.4, 版本1.2.3.4); an IP cue wins.
		if end, ok := d.ipv4(i); ok && (!d.contextIn(i, 12, versionCues) || d.contextIn(i, 12, ipCues)) {
			d.add(IP, i, end)
			return end
		}
	}
	for a := 0; a < len(gs); a++ {
		for b := min(len(gs)-1, a+maxGroups-1); b >= a; b-- {
			if t, start, end, ok := d.classify(gs, a, b); ok {
				d.add(t, start, end)
				a = b
				break
			}
		}
	}
	return gs[len(gs)-1].end
}

func isJoiner(c byte) bool { return c == ' ' || c == '-' || c == '(' || c == ')' }

// continues reports whether the joiner j ties the neighbouring digits to a candidate whose
// own groups are joined by inner: then the candidate is part of a longer number.
func continues(j, inner string) bool {
	if j == "" {
		return false
	}
	return strings.IndexByte(j, '-') >= 0 || j == inner
}

// classify decides whether groups gs[a..b] form a number of a known type.
func (d *detector) classify(gs []group, a, b int) (Type, int, int, bool) {
	s := d.s
	start, end := gs[a].start, gs[b].end
	inner := ""
	if b > a {
		inner = gs[b].join
	}
	// Neighbouring groups that continue the number rule the candidate out.
	if a > 0 {
		if continues(gs[a].join, inner) {
			return "", 0, 0, false
		}
	} else if jb, ok := joinerBefore(s, start); ok && continues(jb, inner) {
		return "", 0, 0, false
	}
	if b+1 < len(gs) {
		if continues(gs[b+1].join, inner) {
			return "", 0, 0, false
		}
	} else if ja, ok := joinerAfter(s, end); ok && continues(ja, inner) {
		return "", 0, 0, false
	}
	// Codes: SKU-13812345678, 13812345678-A. A dash glued to letters makes one identifier.
	if start >= 2 && s[start-1] == '-' && isAlnum(s[start-2]) && !isDigit(s[start-2]) ||
		end+1 < len(s) && s[end] == '-' && isAlnum(s[end+1]) && !isDigit(s[end+1]) {
		return "", 0, 0, false
	}
	// Decimals: 3.14159265358 and 13812345678.5 are numbers, not identifiers.
	if start >= 2 && s[start-1] == '.' && isDigit(s[start-2]) || end+1 < len(s) && s[end] == '.' && isDigit(s[end+1]) {
		return "", 0, 0, false
	}
	for k := a; k < b; k++ {
		if gs[k].x {
			return "", 0, 0, false
		}
	}
	var dbuf [40]byte
	var lens [maxGroups]int
	dg := dbuf[:0]
	for k := a; k <= b; k++ {
		t := s[gs[k].start:gs[k].end]
		if len(dg)+len(t) > len(dbuf) {
			return "", 0, 0, false
		}
		dg = append(dg, t...)
		lens[k-a] = len(t)
	}
	L := lens[:b-a+1]
	D := string(dg)
	plus := a == 0 && start > 0 && s[start-1] == '+'

	// Resident ID.
	if !plus && (len(D) == 18 && (shape(L, 18) || shape(L, 6, 8, 4)) && validIDCard18(D, d.now) ||
		len(D) == 15 && shape(L, 15) && validIDCard15(D, d.now) && d.context(start, idCues)) {
		return IDCard, start, end, true
	}
	// A credit code may be all digits, or digits and a final X like an ID.
	if !plus && len(D) == 18 && shape(L, 18) && validUSCC(upperASCII(D)) {
		return USCC, start, end, true
	}
	if gs[b].x {
		return "", 0, 0, false
	}
	// Mobile, with an optional +86 / 0086 / 86 country code. An order or tracking cue with no
	// phone cue makes it an order number.
	if rest, rl, ok := cnNational(D, L, plus); ok && validMobile(rest) &&
		(shape(rl, 11) || shape(rl, 3, 4, 4) || shape(rl, 3, 8)) &&
		(plus || d.context(start, phoneCues) || !d.context(start, notCardCues)) {
		if plus {
			start--
		}
		return Phone, start, end, true
	}
	// Fixed line with area code.
	if t, st, en, ok := d.landline(gs, a, b, D, L, plus); ok {
		return t, st, en, true
	}
	// US SSN: 123-45-6789, or nine digits next to a cue.
	if !plus && validSSN(D) && (shape(L, 3, 2, 4) && inner == "-" && gs[a+1].join == "-" ||
		shape(L, 9) && d.context(start, ssnCues)) {
		return SSN, start, end, true
	}
	// Cards.
	if !plus && len(D) >= 13 && len(D) <= 19 && cardShape(L) && luhn(D) {
		pos := d.context(start, cardCues)
		neg := !pos && d.context(start, notCardCues)
		switch {
		case neg:
		case D[0] == '6' && D[1] == '2' && len(D) >= 16:
			return BankCard, start, end, true
		case cardScheme(D) != "":
			return PaymentCard, start, end, true
		case pos && len(D) >= 16:
			return BankCard, start, end, true
		}
	}
	// Other international numbers.
	if plus && len(D) >= 8 && len(D) <= 15 && D[0] != '0' {
		return E164, start - 1, end, true
	}
	// A bare subscriber number right after 电话/座机/tel.
	if !plus && (len(D) == 7 || len(D) == 8) && D[0] >= '2' && D[0] <= '8' &&
		(shape(L, len(D)) || shape(L, 3, 4) || shape(L, 4, 4)) && d.context(start, landlineCues) {
		return Landline, start, d.extension(end), true
	}
	return "", 0, 0, false
}

// cnNational strips a Chinese country code: +86 (plus), a separate 86 or 0086 group, or a
// 0086 prefix glued to the number. It returns the national digits and their group lengths.
func cnNational(D string, L []int, plus bool) (string, []int, bool) {
	switch {
	case plus:
		if !strings.HasPrefix(D, "86") {
			return "", nil, false
		}
		if L[0] == 2 {
			return D[2:], L[1:], true
		}
		l := append([]int{L[0] - 2}, L[1:]...)
		return D[2:], l, true
	case len(L) > 1 && L[0] == 4 && strings.HasPrefix(D, "0086"):
		return D[4:], L[1:], true
	case len(L) > 1 && L[0] == 2 && strings.HasPrefix(D, "86"):
		return D[2:], L[1:], true
	case len(L) == 1 && len(D) == 15 && strings.HasPrefix(D, "0086"):
		return D[4:], []int{11}, true
	}
	return D, L, true
}

// landline recognizes 010-65529988, (0755) 2345 6789, 075523456789, +86 10 6552 9988 and
// extensions (-123, 转123, 分机123, ext. 123).
func (d *detector) landline(gs []group, a, b int, D string, L []int, plus bool) (Type, int, int, bool) {
	s := d.s
	start, end := gs[a].start, gs[b].end
	nat := D
	if plus {
		if !strings.HasPrefix(D, "86") || L[0] != 2 {
			return "", 0, 0, false
		}
		nat = "0" + D[2:]
		L = L[1:]
	}
	if len(nat) < 10 {
		return "", 0, 0, false
	}
	al := areaLen(nat)
	if al == 0 {
		return "", 0, 0, false
	}
	first := L[0]
	if plus {
		first++ // the area group lost its leading zero
	}
	var subLens []int
	switch {
	case len(L) == 1:
		// 01065529988 with nothing between area and number: only next to a phone cue.
		if !plus && !(start > 0 && s[start-1] == '(') && !d.context(start, landlineCues) && !d.context(start, phoneCues) {
			return "", 0, 0, false
		}
		subLens = []int{len(nat) - al}
	case first == al:
		subLens = L[1:]
	default:
		return "", 0, 0, false
	}
	sub := nat[al:]
	ext := 0
	if len(subLens) >= 2 && subLens[len(subLens)-1] <= 5 && len(sub)-subLens[len(subLens)-1] >= 7 &&
		!(shape(subLens, 3, 4) || shape(subLens, 4, 4)) {
		// A short last group after the subscriber number is an extension.
		ext = subLens[len(subLens)-1]
		subLens = subLens[:len(subLens)-1]
	}
	sub = sub[:len(sub)-ext]
	if len(sub) != 7 && len(sub) != 8 || sub[0] < '2' || sub[0] > '8' {
		return "", 0, 0, false
	}
	if !(len(subLens) == 1 || shape(subLens, 3, 4) || shape(subLens, 4, 4)) {
		return "", 0, 0, false
	}
	if plus {
		start--
	} else if start > 0 && s[start-1] == '(' {
		start--
	}
	return Landline, start, d.extension(end), true
}

// areaLen returns the length of the mainland area code at the start of a national number
// (010, 02x: three digits; 0[3-9]xx: four), or 0.
func areaLen(n string) int {
	if len(n) < 4 || n[0] != '0' {
		return 0
	}
	switch {
	case n[1] == '1' && n[2] == '0':
		return 3
	case n[1] == '2':
		return 3
	case n[1] >= '3' && n[1] <= '9':
		return 4
	}
	return 0
}

// extension extends a phone number over 转123, 分机123, ext. 123 or x123.
func (d *detector) extension(end int) int {
	s := d.s
	k := end
	for _, p := range []string{"转", "分机", " ext. ", " ext.", " ext ", "ext", " x", "x"} {
		if strings.HasPrefix(s[k:], p) {
			k += len(p)
			break
		}
	}
	if k == end {
		return end
	}
	e := k
	for e < len(s) && e-k < 6 && isDigit(s[e]) {
		e++
	}
	if e == k || e-k > 5 || e < len(s) && isAlnum(s[e]) {
		return end
	}
	return e
}

// cardShape accepts 16 digits in one run, groups of four with a shorter tail, Amex 4-6-5
// and 6-13.
func cardShape(L []int) bool {
	if len(L) == 1 {
		return true
	}
	if shape(L, 4, 6, 5) || len(L) == 2 && L[0] == 6 {
		return true
	}
	for _, l := range L[:len(L)-1] {
		if l != 4 {
			return false
		}
	}
	return L[len(L)-1] >= 1 && L[len(L)-1] <= 4
}

func shape(L []int, want ...int) bool {
	if len(L) != len(want) {
		return false
	}
	for i := range L {
		if L[i] != want[i] {
			return false
		}
	}
	return true
}

// joinerBefore returns the joiner that ends at pos when a digit precedes it.
func joinerBefore(s string, pos int) (string, bool) {
	k := pos
	for k > 0 && pos-k < 3 && isJoiner(s[k-1]) {
		k--
	}
	if k == pos || k == 0 || !isDigit(s[k-1]) {
		return "", false
	}
	return s[k:pos], true
}

// joinerAfter returns the joiner that starts at pos when a digit follows it.
func joinerAfter(s string, pos int) (string, bool) {
	k := pos
	for k < len(s) && k-pos < 3 && isJoiner(s[k]) {
		k++
	}
	if k == pos || k >= len(s) || !isDigit(s[k]) {
		return "", false
	}
	return s[pos:k], true
}

// Context cues, looked for in the few characters before a candidate.
var (
	cardCues     = []string{"卡号", "银行卡", "储蓄卡", "信用卡", "借记卡", "账号", "帐号", "卡", "card", "Card", "CARD", "account", "Account"}
	notCardCues  = []string{"订单", "单号", "运单", "快递", "流水", "编号", "order", "Order", "tracking", "Tracking", "invoice", "Invoice"}
	ssnCues      = []string{"SSN", "ssn", "social security", "Social Security", "Social security"}
	ipCues       = []string{"IP", "ip", "地址", "address", "Address", "server", "Server", "服务器", "host", "Host"}
	idCues       = []string{"身份证", "证件", "身份", "ID", "id card", "Id card", "ID card"}
	phoneCues    = []string{"电话", "手机", "联系", "号码", "致电", "拨打", "tel", "Tel", "TEL", "phone", "Phone", "mobile", "Mobile", "call", "Call"}
	landlineCues = []string{"电话", "座机", "固话", "tel", "Tel", "TEL", "phone", "Phone", "传真", "fax", "Fax"}
	versionCues  = []string{"version", "Version", "VERSION", "版本", "build", "Build", "固件", "firmware"}
	passportCues = []string{"护照", "passport", "Passport", "PASSPORT", "通行证", "回乡证", "证件号"}
)

// contextWindow is how far back (in bytes; ten Han characters) a cue may stand.
const contextWindow = 30

// passportWindow is wider: people write 回乡证号码是……, and the shapes are rare without a cue.
const passportWindow = 48

// context reports whether one of the cues occurs shortly before pos.
func (d *detector) context(pos int, cues []string) bool {
	return d.contextIn(pos, contextWindow, cues)
}

// contextIn reports whether one of the cues occurs within window bytes before pos.
func (d *detector) contextIn(pos, window int, cues []string) bool {
	w := d.s[max(0, pos-window):pos]
	for _, c := range cues {
		if strings.Contains(w, c) {
			return true
		}
	}
	return false
}
