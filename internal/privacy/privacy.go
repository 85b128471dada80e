// Package privacy finds personal data in chat requests, replaces it with typed placeholders
// that it can restore, and puts the original values back into the answer — also when the
// answer is streamed and a placeholder arrives split across chunks.
//
// The flow for one request is:
//
//	vault, receipt, err := engine.Protect(req) // rewrite req in place; refuse or fail closed
//	stream = vault.Restore(stream)             // put originals back, chunk by chunk
//
// The vault lives in memory for one request and is never logged.
package privacy

// Type is the canonical name of a kind of personal data, as used in Config, receipts,
// metrics and errors.
type Type string

// The recognized types.
const (
	IDCard      Type = "id_card"      // mainland resident ID, 18-digit (GB 11643) or legacy 15-digit
	Phone       Type = "phone"        // mainland mobile number
	Landline    Type = "landline"     // mainland fixed-line number with area code
	BankCard    Type = "bank_card"    // mainland bank card (UnionPay BIN 62, or Luhn with context)
	USCC        Type = "uscc"         // unified social credit code (GB 32100)
	Passport    Type = "passport"     // PRC passport, HK/Macau permits (context required)
	Plate       Type = "plate"        // mainland licence plate, incl. new-energy
	Email       Type = "email"        // e-mail address
	IP          Type = "ip"           // IPv4 or IPv6 address
	Name        Type = "name"         // Chinese personal name
	Address     Type = "address"      // mainland street address
	PaymentCard Type = "payment_card" // international payment card (Visa, Mastercard, Amex, ...)
	SSN         Type = "ssn"          // US social security number
	IBAN        Type = "iban"         // international bank account number (mod-97)
	E164        Type = "e164"         // international phone number in +<country> form
)

// AllTypes lists every type in a stable order.
var AllTypes = []Type{IDCard, Phone, Landline, BankCard, USCC, Passport, Plate, Email, IP,
	Name, Address, PaymentCard, SSN, IBAN, E164}

// label is the upper-case word used inside placeholders: [PHONE_1].
func (t Type) label() string {
	switch t {
	case IDCard:
		return "ID_CARD"
	case Phone:
		return "PHONE"
	case Landline:
		return "LANDLINE"
	case BankCard:
		return "BANK_CARD"
	case USCC:
		return "USCC"
	case Passport:
		return "PASSPORT"
	case Plate:
		return "PLATE"
	case Email:
		return "EMAIL"
	case IP:
		return "IP"
	case Name:
		return "NAME"
	case Address:
		return "ADDRESS"
	case PaymentCard:
		return "PAYMENT_CARD"
	case SSN:
		return "SSN"
	case IBAN:
		return "IBAN"
	case E164:
		return "INTL_PHONE"
	}
	return "PII"
}

func (t Type) valid() bool {
	for _, k := range AllTypes {
		if k == t {
			return true
		}
	}
	return false
}

// Match is one piece of personal data found in a text. Start and End are byte offsets into
// the text given to Detect; Text is text[Start:End].
type Match struct {
	Type  Type
	Start int
	End   int
	Text  string
}
