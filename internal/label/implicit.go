// Package label attaches the AI-generated-content labels that China's Labeling Measures and
// GB 45438-2025 require: an explicit label people can see (a text notice at the start or end
// of an answer, the mark "AI生成" drawn on an image) and an implicit, machine-readable one (the
// seven Annex E fields, carried in the API response envelope for text and as XMP TC260:AIGC
// in PNG and JPEG files). The implicit label is signed (Ed25519) so that `qiao label verify`
// can tell a label this gateway issued from a forged or edited one.
package label

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/qiao-gateway/qiao/internal/jsonw"
)

// Label values (Annex E): content that is generated, possibly generated (the user declared
// it), or suspected of being generated (traces detected).
const (
	LabelGenerated = "1"
	LabelPossibly  = "2"
	LabelSuspected = "3"
)

// Implicit is the implicit label of GB 45438-2025 Annex E: seven string fields, in this order,
// with these exact JSON names. Producer fields are filled by the service that generated the
// content, propagator fields by a platform that passes it on.
type Implicit struct {
	Label             string `json:"Label"`
	ContentProducer   string `json:"ContentProducer"`
	ProduceID         string `json:"ProduceID"`
	ReservedCode1     string `json:"ReservedCode1"`
	ContentPropagator string `json:"ContentPropagator"`
	PropagateID       string `json:"PropagateID"`
	ReservedCode2     string `json:"ReservedCode2"`
}

// AppendJSON appends imp as json.Marshal writes it (FuzzImplicitJSON): the label rides on
// every answer of a labelling region, and its encoder skips reflection.
func (imp Implicit) AppendJSON(b []byte) []byte {
	for _, f := range [...]struct{ name, v string }{
		{`{"Label":`, imp.Label}, {`,"ContentProducer":`, imp.ContentProducer}, {`,"ProduceID":`, imp.ProduceID},
		{`,"ReservedCode1":`, imp.ReservedCode1}, {`,"ContentPropagator":`, imp.ContentPropagator},
		{`,"PropagateID":`, imp.PropagateID}, {`,"ReservedCode2":`, imp.ReservedCode2},
	} {
		b = jsonw.AppendString(append(b, f.name...), f.v, true)
	}
	return append(b, '}')
}

// ErrInvalidImplicit is wrapped by every structural problem Check finds.
var ErrInvalidImplicit = errors.New("label: invalid implicit label")

// Check reports whether imp is well formed: Label is "1", "2" or "3"; ContentProducer and
// ProduceID are set; every value is printable ASCII without spaces (0x21-0x7E), as the
// practice guides ask so that values survive every metadata carrier unchanged.
func (imp Implicit) Check() error {
	switch imp.Label {
	case LabelGenerated, LabelPossibly, LabelSuspected:
	default:
		return fmt.Errorf("%w: Label %q is not \"1\", \"2\" or \"3\"", ErrInvalidImplicit, imp.Label)
	}
	if imp.ContentProducer == "" {
		return fmt.Errorf("%w: ContentProducer is empty", ErrInvalidImplicit)
	}
	if imp.ProduceID == "" {
		return fmt.Errorf("%w: ProduceID is empty", ErrInvalidImplicit)
	}
	for _, f := range imp.fields() {
		if i := nonPrintable(f.value); i >= 0 {
			return fmt.Errorf("%w: %s has a byte outside 0x21-0x7E at offset %d", ErrInvalidImplicit, f.name, i)
		}
	}
	return nil
}

type field struct{ name, value string }

func (imp Implicit) fields() [7]field {
	return [7]field{
		{"Label", imp.Label},
		{"ContentProducer", imp.ContentProducer},
		{"ProduceID", imp.ProduceID},
		{"ReservedCode1", imp.ReservedCode1},
		{"ContentPropagator", imp.ContentPropagator},
		{"PropagateID", imp.PropagateID},
		{"ReservedCode2", imp.ReservedCode2},
	}
}

// nonPrintable returns the index of the first byte outside 0x21-0x7E, or -1.
func nonPrintable(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return i
		}
	}
	return -1
}

// JSON returns the compact JSON object of the seven fields in Annex E order, without HTML
// escaping (the carriers escape for their own syntax). It is the value of TC260:AIGC.
func (imp Implicit) JSON() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(imp) // a struct of strings always encodes
	return bytes.TrimRight(b.Bytes(), "\n")
}

// ParseImplicit decodes an AIGC JSON object. It is lenient about what other producers write:
// unknown keys are ignored, but every one of the seven keys must be present and a string,
// and the result must pass Check.
func ParseImplicit(data []byte) (Implicit, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Implicit{}, fmt.Errorf("%w: not a JSON object: %v", ErrInvalidImplicit, err)
	}
	var imp Implicit
	dst := map[string]*string{
		"Label": &imp.Label, "ContentProducer": &imp.ContentProducer, "ProduceID": &imp.ProduceID,
		"ReservedCode1": &imp.ReservedCode1, "ContentPropagator": &imp.ContentPropagator,
		"PropagateID": &imp.PropagateID, "ReservedCode2": &imp.ReservedCode2,
	}
	for _, f := range imp.fields() {
		v, ok := raw[f.name]
		if !ok {
			return Implicit{}, fmt.Errorf("%w: key %s is missing", ErrInvalidImplicit, f.name)
		}
		if err := json.Unmarshal(v, dst[f.name]); err != nil {
			return Implicit{}, fmt.Errorf("%w: %s is not a string", ErrInvalidImplicit, f.name)
		}
	}
	if err := imp.Check(); err != nil {
		return Implicit{}, err
	}
	return imp, nil
}
