package privacy

// Validators for the checksum-backed types. Each takes the compact ASCII form (digits and
// upper-case letters only, separators removed).

import "time"

// idWeights are the GB 11643-1999 weights 2^(17-i) mod 11.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// validIDCard18 checks an 18-character resident ID: region code, a real past birth date and
// the check character.
func validIDCard18(s string, now time.Time) bool {
	if len(s) != 18 {
		return false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		sum += int(c-'0') * idWeights[i]
	}
	if "10X98765432"[sum%11] != upper(s[17]) {
		return false
	}
	return validRegion(s[:6]) && validBirth(atoi(s[6:10]), atoi(s[10:12]), atoi(s[12:14]), now)
}

// validIDCard15 checks a legacy 15-digit ID (region, YYMMDD birth in the 1900s, sequence).
// It has no check digit, so the date and region carry the weight.
func validIDCard15(s string, now time.Time) bool {
	if len(s) != 15 || !allDigits(s) {
		return false
	}
	return validRegion(s[:6]) && validBirth(1900+atoi(s[6:8]), atoi(s[8:10]), atoi(s[10:12]), now)
}

// validRegion checks the shape of a GB/T 2260 region code: the province part is one of the
// assigned two-digit codes (11–15, 21–23, 31–37, 41–46, 50–54, 61–65, 71, 81–83).
func validRegion(s string) bool {
	p := atoi(s[:2])
	switch {
	case p >= 11 && p <= 15, p >= 21 && p <= 23, p >= 31 && p <= 37, p >= 41 && p <= 46,
		p >= 50 && p <= 54, p >= 61 && p <= 65, p == 71, p >= 81 && p <= 83:
	default:
		return false
	}
	return s[2:] != "0000" || p >= 71
}

func validBirth(y, m, d int, now time.Time) bool {
	if y < 1900 || m < 1 || m > 12 || d < 1 {
		return false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d || t.Month() != time.Month(m) { // 2月30日 normalizes to March
		return false
	}
	return !t.After(now)
}

// luhn reports whether a digit string passes the Luhn check.
func luhn(s string) bool {
	sum, dbl := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if dbl {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		dbl = !dbl
	}
	return sum%10 == 0
}

// usccAlphabet is the GB 32100-2015 alphabet; a character's value is its index.
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// validUSCC checks an 18-character unified social credit code: registration department
// and organization class, a digit region code, and the check character.
func validUSCC(s string) bool {
	if len(s) != 18 {
		return false
	}
	// Registering department (1–9, A, N, Y) and a class digit or Y/1-9.
	switch s[0] {
	case '1', '2', '3', '4', '5', '6', '7', '8', '9', 'A', 'N', 'Y':
	default:
		return false
	}
	if !allDigits(s[2:8]) {
		return false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := usccValue(s[i])
		if v < 0 {
			return false
		}
		sum += v * usccWeights[i]
	}
	want := (31 - sum%31) % 31
	if usccValue(s[17]) != want {
		return false
	}
	// An all-digit code has nothing but the check character to set it apart from any other
	// 18-digit number (1 in 31 pass), so it must also carry a valid GB 11714 organization
	// code in characters 9–17 (1 in 11 more).
	return !allDigits(s) || validOrgCode(s[8:17])
}

var orgWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

// validOrgCode checks a 9-character GB 11714 organization code: weights 3 7 9 10 5 8 4 2,
// check 11 − Σ mod 11 (10 → X, 11 → 0), letters valued A=10 … Z=35.
func validOrgCode(s string) bool {
	sum := 0
	for i := 0; i < 8; i++ {
		c := s[i]
		switch {
		case isDigit(c):
			sum += int(c-'0') * orgWeights[i]
		case isUpper(c):
			sum += int(c-'A'+10) * orgWeights[i]
		default:
			return false
		}
	}
	want := byte('0' + (11-sum%11)%11)
	if (11-sum%11)%11 == 10 {
		want = 'X'
	}
	return s[8] == want
}

func usccValue(c byte) int {
	for i := 0; i < len(usccAlphabet); i++ {
		if usccAlphabet[i] == c {
			return i
		}
	}
	return -1
}

// ibanLengths is the IBAN length of each country that issues them (SWIFT IBAN registry).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
	"BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
	"EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
	"GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
	"IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
	"LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
	"NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
	"SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
	"TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

// validIBAN checks country, length and the ISO 13616 mod-97 check.
func validIBAN(s string) bool {
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	if n, ok := ibanLengths[s[:2]]; !ok || n != len(s) {
		return false
	}
	if s[2] < '0' || s[2] > '9' || s[3] < '0' || s[3] > '9' {
		return false
	}
	rem := 0
	for i := 0; i < len(s); i++ {
		c := s[(i+4)%len(s)]
		switch {
		case c >= '0' && c <= '9':
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			rem = (rem*100 + int(c-'A') + 10) % 97
		default:
			return false
		}
	}
	return rem == 1
}

// validSSN checks a 9-digit US social security number against the never-issued ranges.
func validSSN(s string) bool {
	if len(s) != 9 || !allDigits(s) {
		return false
	}
	area, group, serial := atoi(s[:3]), atoi(s[3:5]), atoi(s[5:])
	return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

// validMobile checks an 11-digit mainland mobile number against the allocated prefixes.
func validMobile(s string) bool {
	if len(s) != 11 || s[0] != '1' || !allDigits(s) {
		return false
	}
	switch s[1] {
	case '3', '8':
		return true
	case '4':
		return s[2] >= '5' && s[2] <= '9'
	case '5':
		return s[2] != '4'
	case '6':
		return s[2] == '2' || s[2] == '5' || s[2] == '6' || s[2] == '7'
	case '7':
		return s[2] <= '8'
	case '9':
		return s[2] != '4'
	}
	return false
}

// cardScheme names the international scheme of a card number by its IIN, or "".
func cardScheme(s string) string {
	n := len(s)
	p2, p4 := atoi(s[:2]), atoi(s[:4])
	p3 := atoi(s[:3])
	switch {
	case s[0] == '4' && (n == 13 || n == 16 || n == 19):
		return "visa"
	case (p2 >= 51 && p2 <= 55 || p4 >= 2221 && p4 <= 2720) && n == 16:
		return "mastercard"
	case (p2 == 34 || p2 == 37) && n == 15:
		return "amex"
	case (p4 == 6011 || p2 == 65 || p3 >= 644 && p3 <= 649) && n >= 16:
		return "discover"
	case p4 >= 3528 && p4 <= 3589 && n >= 16:
		return "jcb"
	case (p2 == 36 || p3 >= 300 && p3 <= 305 || p2 == 38) && n == 14:
		return "diners"
	case p2 == 62 && n >= 16:
		return "unionpay"
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atoi converts a short digit string; callers check the digits first.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 32
	}
	return c
}
