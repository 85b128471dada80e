package privacy

import (
	"testing"
	"time"
)

func TestChecksums(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		ok   bool
		got  bool
	}{
		{"GB 11643 vector", true, validIDCard18("11010519491231002X", now)},
		{"GB 11643 lower-case x", true, validIDCard18("11010519491231002x", now)},
		{"GB 11643 wrong check", false, validIDCard18("110105194912310029", now)},
		{"GB 11643 29 Feb in a non-leap year", false, validIDCard18("510107200102291117", now)},
		{"GB 11643 future birth date", false, validIDCard18("110105203001010010", now)},
		{"GB 11643 unknown province 99", false, validIDCard18("990105194912310025", now)},
		{"legacy 15-digit", true, validIDCard15("110105491231002", now)},
		{"legacy 15-digit bad month", false, validIDCard15("110105491331002", now)},
		{"GB 32100 vector 1", true, validUSCC("91350100M000100Y43")},
		{"GB 32100 vector 2", true, validUSCC("91110000600037341L")},
		{"GB 32100 wrong check", false, validUSCC("91350100M000100Y44")},
		{"GB 32100 all digits with GB 11714 code", true, validUSCC("911100001000123405")},
		{"GB 11714 vector 1", true, validOrgCode("M000100Y4")},
		{"GB 11714 vector 2", true, validOrgCode("600037341")},
		{"GB 11714 wrong check", false, validOrgCode("600037342")},
		{"GB 32100 letter outside alphabet", false, validUSCC("91350100M0001O0Y43")},
		{"Luhn UnionPay vector", true, luhn("6222600260001072444")},
		{"Luhn Visa test number", true, luhn("4111111111111111")},
		{"Luhn off by one", false, luhn("4111111111111112")},
		{"IBAN DE", true, validIBAN("DE89370400440532013000")},
		{"IBAN GB", true, validIBAN("GB29NWBK60161331926819")},
		{"IBAN wrong length for country", false, validIBAN("DE8937040044053201300")},
		{"IBAN wrong check", false, validIBAN("DE89370400440532013001")},
		{"SSN valid", true, validSSN("123456789")},
		{"SSN area 666", false, validSSN("666121234")},
		{"SSN area 9xx", false, validSSN("900121234")},
		{"SSN group 00", false, validSSN("123001234")},
		{"mobile 138", true, validMobile("13812345678")},
		{"mobile 199", true, validMobile("19912345678")},
		{"mobile 140 unallocated", false, validMobile("14012345678")},
		{"mobile 154 unallocated", false, validMobile("15412345678")},
		{"mobile 12x", false, validMobile("12345678901")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.ok {
				t.Errorf("got %v, want %v", tt.got, tt.ok)
			}
		})
	}
}
