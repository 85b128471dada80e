package label

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

const testJSON = `{"Label":"1","ContentProducer":"001191440300MA5G49LC9K1YO01","ProduceID":"p-1","ReservedCode1":"s","ContentPropagator":"","PropagateID":"","ReservedCode2":""}`

func wellFormed(t *testing.T, packet []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(packet))
	for {
		_, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return
			}
			t.Fatalf("packet not well-formed: %v\n%s", err, packet)
		}
	}
}

func TestSetXMP(t *testing.T) {
	other := `<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title><rdf:Alt><rdf:li xml:lang="x-default">Harbour &amp; dusk</rdf:li></rdf:Alt></dc:title></rdf:Description>`
	wrap := func(body string) string {
		return `<?xpacket begin="` + "\ufeff" + `" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` + body + `</rdf:RDF></x:xmpmeta><?xpacket end="w"?>`
	}
	old := `{"Label":"1","ContentProducer":"001191330100716105852F10000","ProduceID":"q","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}`
	tests := []struct {
		name         string
		in           string
		wantReplaced bool
		wantKept     []string // substrings that must survive
		wantGone     []string
	}{
		{"no AIGC: new description added", wrap(other), false, []string{other}, nil},
		{"element form with another prefix: updated in place",
			wrap(`<rdf:Description rdf:about="" xmlns:aigc="` + NamespaceAIGC + `"><aigc:AIGC>` + old + `</aigc:AIGC></rdf:Description>` + other),
			false, []string{other, `xmlns:aigc="` + NamespaceAIGC + `"`, "<aigc:AIGC>"}, []string{`"ProduceID":"q"`}},
		{"attribute form: value replaced",
			wrap(`<rdf:Description rdf:about="" xmlns:TC260="` + NamespaceAIGC + `" TC260:AIGC='` + old + `'/>` + other),
			false, []string{other}, []string{`"ProduceID":"q"`}},
		{"two records become one",
			wrap(`<rdf:Description rdf:about="" xmlns:TC260="` + NamespaceAIGC + `"><TC260:AIGC>` + old + `</TC260:AIGC></rdf:Description><rdf:Description rdf:about="" xmlns:T="` + NamespaceAIGC + `" T:AIGC="x"/>`),
			false, nil, []string{`"ProduceID":"q"`, `T:AIGC="x"`}},
		{"malformed packet replaced", `<x:xmpmeta><rdf:RDF>`, true, nil, nil},
		{"empty packet replaced", ``, true, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, replaced := setXMP([]byte(tt.in), []byte(testJSON))
			if replaced != tt.wantReplaced {
				t.Errorf("replaced = %v, want %v", replaced, tt.wantReplaced)
			}
			wellFormed(t, out)
			imps, err := xmpLabels(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(imps) != 1 || imps[0].ProduceID != "p-1" {
				t.Fatalf("labels after set = %+v\n%s", imps, out)
			}
			for _, s := range tt.wantKept {
				if !strings.Contains(string(out), s) {
					t.Errorf("lost %q:\n%s", s, out)
				}
			}
			for _, s := range tt.wantGone {
				if strings.Contains(string(out), s) {
					t.Errorf("still has %q:\n%s", s, out)
				}
			}
		})
	}
}

func TestSetXMPRemove(t *testing.T) {
	in := newXMP([]byte(testJSON))
	out, _ := setXMP(in, nil)
	if imps, err := xmpLabels(out); err != nil || len(imps) != 0 {
		t.Fatalf("after remove: %v %+v", err, imps)
	}
	wellFormed(t, out)
}

func FuzzSetXMP(f *testing.F) {
	f.Add([]byte(newXMP([]byte(testJSON))))
	f.Add([]byte(`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:a="http://www.tc260.org.cn/ns/AIGC/1.0/" a:AIGC="1"/></rdf:RDF></x:xmpmeta>`))
	f.Add([]byte(`<a`))
	f.Fuzz(func(t *testing.T, packet []byte) {
		out, _ := setXMP(packet, []byte(testJSON))
		imps, err := xmpLabels(out)
		if err != nil {
			t.Fatalf("setXMP output unreadable: %v\nin:  %q\nout: %q", err, packet, out)
		}
		if len(imps) != 1 || imps[0].ProduceID != "p-1" {
			t.Fatalf("setXMP output has %d labels: %+v\nin:  %q\nout: %q", len(imps), imps, packet, out)
		}
	})
}
