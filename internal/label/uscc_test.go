package label

import (
	"errors"
	"testing"
)

func TestValidUSCC(t *testing.T) {
	tests := []struct {
		name, code string
		ok         bool
	}{
		{"honor", "91440300MA5G49LC9K", true},
		{"second valid code", "91330100716105852F", true},
		{"bad check character", "91440300MA5G49LC9X", false},
		{"letter outside the alphabet (I)", "9144030IMA5G49LC9K", false},
		{"lower case", "91440300ma5g49lc9k", false},
		{"too short", "91440300MA5G49LC9", false},
		{"too long", "91440300MA5G49LC9KK", false},
		{"all zeros placeholder", "000000000000000000", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidUSCC(tt.code)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidUSCC(%q) = %v, want ok=%v", tt.code, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrUSCC) {
				t.Errorf("error %v does not wrap ErrUSCC", err)
			}
		})
	}
}

func TestValidProducerCode(t *testing.T) {
	tests := []struct {
		name, code string
		ok         bool
	}{
		{"honor example", "001191440300MA5G49LC9K1YO01", true},
		{"propagation service", "001191330100716105852F20000", true},
		{"bad USCC checksum", "001191440300MA5G49LC9X1YO01", false},
		{"wrong prefix", "101191440300MA5G49LC9K1YO01", false},
		{"not bound to a USCC", "001291440300MA5G49LC9K1YO01", false},
		{"26 characters", "001191440300MA5G49LC9K1YO0", false},
		{"lower case model code", "001191440300MA5G49LC9K1yo01", false},
		{"space", "001191440300MA5G49LC9K1YO 1", false},
		{"placeholder", "001100000000000000000010000", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidProducerCode(tt.code)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidProducerCode(%q) = %v, want ok=%v", tt.code, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrProducerCode) {
				t.Errorf("error %v does not wrap ErrProducerCode", err)
			}
		})
	}
}
