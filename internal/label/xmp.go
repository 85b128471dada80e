package label

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// XMP names of the implicit label (TC260 practice guides, 2025-08-28).
const (
	NamespaceAIGC = "http://www.tc260.org.cn/ns/AIGC/1.0/"
	PrefixAIGC    = "TC260"
	nsRDF         = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
)

// newXMP returns a minimal XMP packet that holds only the AIGC property.
func newXMP(js []byte) []byte {
	var b bytes.Buffer
	b.WriteString("<?xpacket begin=\"\ufeff\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n")
	b.WriteString("<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n <rdf:RDF xmlns:rdf=\"" + nsRDF + "\">\n  ")
	b.Write(aigcDescription(js))
	b.WriteString("\n </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>")
	return b.Bytes()
}

func aigcDescription(js []byte) []byte {
	var b bytes.Buffer
	b.WriteString(`<rdf:Description rdf:about="" xmlns:` + PrefixAIGC + `="` + NamespaceAIGC + `">`)
	b.WriteString("<" + PrefixAIGC + ":AIGC>")
	escapeXML(&b, js, false)
	b.WriteString("</" + PrefixAIGC + ":AIGC></rdf:Description>")
	return b.Bytes()
}

// escapeXML writes s escaped for XML character data (or a double-quoted attribute). Unlike
// xml.EscapeText it leaves double quotes alone in text, so the JSON stays readable as is.
func escapeXML(b *bytes.Buffer, s []byte, attr bool) {
	for _, c := range s {
		switch {
		case c == '&':
			b.WriteString("&amp;")
		case c == '<':
			b.WriteString("&lt;")
		case c == '>':
			b.WriteString("&gt;")
		case c == '"' && attr:
			b.WriteString("&quot;")
		default:
			b.WriteByte(c)
		}
	}
}

// aigcProp is one TC260:AIGC property found in a packet: its value and the byte span to
// replace when updating it (the whole element, or the attribute's quoted value).
type aigcProp struct {
	value      string
	start, end int
	attr       bool   // attribute form: span is the quoted value
	whole      [2]int // attribute form: the whole attribute with its leading space
	prefix     string // element form: the prefix used in the packet
}

// scanXMP returns the AIGC properties of packet and the offset of its closing rdf:RDF tag
// (-1 if none). It fails on a packet that is not well-formed XML.
func scanXMP(packet []byte) (props []aigcProp, rdfEnd int, err error) {
	dec := xml.NewDecoder(bytes.NewReader(packet))
	dec.Strict = true
	rdfEnd = -1
	for {
		off := int(dec.InputOffset())
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return props, rdfEnd, nil
		}
		if err != nil {
			return nil, -1, fmt.Errorf("XMP is not well-formed: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space == NamespaceAIGC && t.Name.Local == "AIGC" {
				var text strings.Builder
				if err := elementText(dec, &text); err != nil {
					return nil, -1, fmt.Errorf("XMP is not well-formed: %w", err)
				}
				m := elemPrefix.FindSubmatch(packet[off:])
				prefix := PrefixAIGC
				if m != nil {
					prefix = string(m[1])
				}
				props = append(props, aigcProp{value: text.String(), start: off, end: int(dec.InputOffset()), prefix: prefix})
				continue
			}
			for _, a := range t.Attr {
				if a.Name.Space != NamespaceAIGC || a.Name.Local != "AIGC" {
					continue
				}
				tag := packet[off:int(dec.InputOffset())]
				loc := attrAIGC.FindSubmatchIndex(tag)
				if loc == nil {
					return nil, -1, errors.New("XMP: cannot locate the AIGC attribute")
				}
				props = append(props, aigcProp{value: a.Value, start: off + loc[2], end: off + loc[3], attr: true,
					whole: [2]int{off + loc[0], off + loc[1]}})
			}
		case xml.EndElement:
			if t.Name.Space == nsRDF && t.Name.Local == "RDF" && rdfEnd < 0 {
				rdfEnd = off
			}
		}
	}
}

var (
	elemPrefix = regexp.MustCompile(`^<([A-Za-z_][\w.-]*):AIGC[\s/>]`)
	attrAIGC   = regexp.MustCompile(`\s[A-Za-z_][\w.-]*:AIGC\s*=\s*("[^"]*"|'[^']*')`)
)

// elementText reads the character data of the element just opened, through its end.
func elementText(dec *xml.Decoder, b *strings.Builder) error {
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			b.Write(t)
		}
	}
	return nil
}

// xmpLabels returns the AIGC values of a packet, parsed.
func xmpLabels(packet []byte) ([]Implicit, error) {
	props, _, err := scanXMP(packet)
	if err != nil {
		return nil, err
	}
	out := make([]Implicit, 0, len(props))
	for _, p := range props {
		imp, err := ParseImplicit([]byte(strings.TrimSpace(p.value)))
		if err != nil {
			return nil, err
		}
		out = append(out, imp)
	}
	return out, nil
}

// setXMP returns packet with exactly one AIGC property whose value is js (js nil: none). The
// first existing property is updated in place, keeping its prefix and form; others are
// removed; with none, a new rdf:Description is added before </rdf:RDF>. Everything else in
// the packet is kept byte for byte. A packet that is not well-formed XMP cannot be edited
// safely and is replaced by a fresh one (replaced reports it).
func setXMP(packet, js []byte) (out []byte, replaced bool) {
	props, rdfEnd, err := scanXMP(packet)
	if err != nil || (len(props) == 0 && rdfEnd < 0) {
		if js == nil {
			return packet, false
		}
		return newXMP(js), true
	}
	var b bytes.Buffer
	b.Grow(len(packet) + len(js) + 200)
	pos := 0
	for i, p := range props {
		if i > 0 || js == nil {
			start, end := p.start, p.end
			if p.attr {
				start, end = p.whole[0], p.whole[1]
			}
			b.Write(packet[pos:start])
			pos = end
			continue
		}
		b.Write(packet[pos:p.start])
		pos = p.end
		if p.attr {
			b.WriteByte('"')
			escapeXML(&b, js, true)
			b.WriteByte('"')
		} else {
			b.WriteString("<" + p.prefix + ":AIGC>")
			escapeXML(&b, js, false)
			b.WriteString("</" + p.prefix + ":AIGC>")
		}
	}
	if len(props) == 0 && js != nil {
		b.Write(packet[:rdfEnd])
		b.Write(aigcDescription(js))
		pos = rdfEnd
	}
	b.Write(packet[pos:])
	out = b.Bytes()
	if _, _, err := scanXMP(out); err != nil {
		// Cannot happen for a packet that scanned cleanly; fail safe all the same.
		return newXMP(js), true
	}
	return out, false
}
