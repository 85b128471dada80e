package audit

import (
	"encoding/json"
	"fmt"
)

// EncodeFields returns the JSON text that stores keep for a record's structured fields
// (privacy counts, safety outcomes, details); "" for an empty field.
func EncodeFields(r *Record) (privacy, safety, details string, err error) {
	enc := func(name string, empty bool, v any) (string, error) {
		if empty {
			return "", nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("audit: encode %s: %w", name, err)
		}
		return string(b), nil
	}
	if privacy, err = enc("privacy", len(r.Privacy) == 0, r.Privacy); err != nil {
		return
	}
	if safety, err = enc("safety", len(r.Safety) == 0, r.Safety); err != nil {
		return
	}
	details, err = enc("details", len(r.Details) == 0, r.Details)
	return
}

// DecodeFields is the inverse of EncodeFields. A field that does not decode is not an error:
// it marks the record Corrupt, which Verify reports as an edited record, so that a damaged
// row cannot stop verification of the rest of the chain.
func DecodeFields(r *Record, privacy, safety, details string) {
	dec := func(name, s string, v any) {
		if s == "" {
			return
		}
		if err := json.Unmarshal([]byte(s), v); err != nil && r.Corrupt == "" {
			r.Corrupt = fmt.Sprintf("stored %s field is not valid JSON", name)
		}
	}
	dec("privacy", privacy, &r.Privacy)
	dec("safety", safety, &r.Safety)
	dec("details", details, &r.Details)
}
