package audit

import (
	"encoding/json"
	"fmt"
)

// EncodeFields returns the JSON text that stores keep for a record's structured fields
// (privacy counts, safety outcomes, details); "" for an empty field. It writes by hand what
// json.Marshal writes (FuzzEncodeFields): the journal's ingester stores every record with it.
func EncodeFields(r *Record) (privacy, safety, details string) {
	if len(r.Privacy) > 0 {
		privacy = string(appendCounts(nil, r.Privacy, true))
	}
	if len(r.Safety) > 0 {
		safety = string(appendSafety(nil, r.Safety, true))
	}
	if len(r.Details) > 0 {
		details = string(appendDetails(nil, r.Details, true))
	}
	return privacy, safety, details
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
