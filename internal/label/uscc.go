package label

import (
	"errors"
	"fmt"
	"strings"
)

// usccAlphabet is the character set of GB 32100-2015, in value order: digits and the capital
// letters without I, O, S, V and Z.
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// Errors of code validation.
var (
	ErrUSCC         = errors.New("label: invalid unified social credit code")
	ErrProducerCode = errors.New("label: invalid producer code")
)

// ValidUSCC checks an 18-character unified social credit code (统一社会信用代码, GB 32100-2015):
// its alphabet and its check character (weighted sum modulo 31).
func ValidUSCC(code string) error {
	if len(code) != 18 {
		return fmt.Errorf("%w: %d characters, want 18", ErrUSCC, len(code))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(usccAlphabet, code[i])
		if v < 0 {
			return fmt.Errorf("%w: character %d is not in the GB 32100 alphabet", ErrUSCC, i+1)
		}
		sum += v * usccWeights[i]
	}
	want := usccAlphabet[(31-sum%31)%31]
	if code[17] != want {
		return fmt.Errorf("%w: check character is %q, want %q", ErrUSCC, code[17], want)
	}
	if strings.Trim(code[:17], "0") == "" {
		return fmt.Errorf("%w: all zeros is a placeholder", ErrUSCC)
	}
	return nil
}

// ValidProducerCode checks a 27-character producer or propagator code of the TC260 practice
// guide: "00", subject type "1" (organisation), "1" (bound to a USCC), the 18-character USCC,
// a service type character and a 4-character model or application code, all in [0-9A-Z].
func ValidProducerCode(code string) error {
	if len(code) != 27 {
		return fmt.Errorf("%w: %d characters, want 27", ErrProducerCode, len(code))
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return fmt.Errorf("%w: character %d is not 0-9 or A-Z", ErrProducerCode, i+1)
		}
	}
	if code[:4] != "0011" {
		return fmt.Errorf("%w: must start with 0011 (organisation bound to a USCC), got %q", ErrProducerCode, code[:4])
	}
	if err := ValidUSCC(code[4:22]); err != nil {
		return fmt.Errorf("%w: %w", ErrProducerCode, err)
	}
	return nil
}
