package label

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

const pngSignature = "\x89PNG\r\n\x1a\n"

// xmpKeyword is the iTXt keyword of an XMP packet in PNG (XMP specification part 3).
const xmpKeyword = "XML:com.adobe.xmp"

// maxXMPInflate bounds the inflated size of a compressed XMP chunk, against zip bombs.
const maxXMPInflate = 4 << 20

type pngChunk struct {
	typ  string
	data []byte
}

// parsePNG splits a PNG file into chunks, checking lengths and CRCs. Bytes after IEND are
// ignored (they are not part of the image).
func parsePNG(b []byte) ([]pngChunk, error) {
	if !bytes.HasPrefix(b, []byte(pngSignature)) {
		return nil, errors.New("png: no signature")
	}
	var chunks []pngChunk
	p := len(pngSignature)
	for {
		if len(b)-p < 12 {
			return nil, fmt.Errorf("png: truncated at byte %d (no IEND chunk)", p)
		}
		n := binary.BigEndian.Uint32(b[p:])
		if n > 1<<31-1 || uint64(n) > uint64(len(b)-p-12) {
			return nil, fmt.Errorf("png: chunk at byte %d is truncated or too long (%d bytes)", p, n)
		}
		typ := b[p+4 : p+8]
		for _, c := range typ {
			if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
				return nil, fmt.Errorf("png: bad chunk type %q at byte %d", typ, p)
			}
		}
		data := b[p+8 : p+8+int(n)]
		sum := binary.BigEndian.Uint32(b[p+8+int(n):])
		if crc32.Update(crc32.ChecksumIEEE(typ), crc32.IEEETable, data) != sum {
			return nil, fmt.Errorf("png: CRC mismatch in %s chunk at byte %d", typ, p)
		}
		if len(chunks) == 0 && (string(typ) != "IHDR" || n != 13) {
			return nil, errors.New("png: first chunk is not IHDR")
		}
		chunks = append(chunks, pngChunk{typ: string(typ), data: data})
		p += 12 + int(n)
		if string(typ) == "IEND" {
			return chunks, nil
		}
	}
}

func appendPNGChunk(out []byte, typ string, data []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	out = append(out, typ...)
	out = append(out, data...)
	crc := crc32.Update(crc32.ChecksumIEEE([]byte(typ)), crc32.IEEETable, data)
	return binary.BigEndian.AppendUint32(out, crc)
}

func writePNG(chunks []pngChunk) []byte {
	n := len(pngSignature)
	for _, c := range chunks {
		n += 12 + len(c.data)
	}
	out := make([]byte, 0, n)
	out = append(out, pngSignature...)
	for _, c := range chunks {
		out = appendPNGChunk(out, c.typ, c.data)
	}
	return out
}

// pngText is a decoded tEXt, zTXt or iTXt chunk: enough to find XMP and AIGC text.
type pngText struct {
	keyword string
	text    []byte
}

// parsePNGText decodes a text chunk. ok is false for other chunk types.
func parsePNGText(c pngChunk) (t pngText, ok bool, err error) {
	switch c.typ {
	case "tEXt", "zTXt", "iTXt":
	default:
		return pngText{}, false, nil
	}
	k := bytes.IndexByte(c.data, 0)
	if k < 1 || k > 79 {
		return pngText{}, true, fmt.Errorf("png: %s chunk without a valid keyword", c.typ)
	}
	t.keyword = string(c.data[:k])
	rest := c.data[k+1:]
	switch c.typ {
	case "tEXt":
		t.text = rest
	case "zTXt":
		if len(rest) < 1 {
			return t, true, errors.New("png: short zTXt chunk")
		}
		t.text, err = inflate(rest[1:])
	case "iTXt":
		if len(rest) < 2 {
			return t, true, errors.New("png: short iTXt chunk")
		}
		compressed := rest[0] == 1
		rest = rest[2:]
		for i := 0; i < 2; i++ { // language tag, translated keyword
			z := bytes.IndexByte(rest, 0)
			if z < 0 {
				return t, true, errors.New("png: iTXt chunk without terminators")
			}
			rest = rest[z+1:]
		}
		t.text = rest
		if compressed {
			t.text, err = inflate(rest)
		}
	}
	if err != nil {
		return t, true, fmt.Errorf("png: %s %q: %w", c.typ, t.keyword, err)
	}
	return t, true, nil
}

func inflate(b []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxXMPInflate+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxXMPInflate {
		return nil, fmt.Errorf("inflates to more than %d bytes", maxXMPInflate)
	}
	return out, nil
}

// xmpITXt returns the data of an uncompressed iTXt chunk holding packet.
func xmpITXt(packet []byte) []byte {
	d := make([]byte, 0, len(xmpKeyword)+5+len(packet))
	d = append(d, xmpKeyword...)
	d = append(d, 0, 0, 0, 0, 0) // keyword end, uncompressed, method, empty language, empty translation
	return append(d, packet...)
}

// pngLabels returns every AIGC record in the chunks: TC260:AIGC in XMP, and text chunks with
// the keyword "AIGC" that some producers write.
func pngLabels(chunks []pngChunk) ([]Implicit, error) {
	var out []Implicit
	for _, c := range chunks {
		t, ok, err := parsePNGText(c)
		if !ok {
			continue
		}
		if err != nil {
			return nil, err
		}
		switch t.keyword {
		case xmpKeyword:
			imps, err := xmpLabels(t.text)
			if err != nil {
				return nil, fmt.Errorf("png: %w", err)
			}
			out = append(out, imps...)
		case "AIGC":
			imp, err := ParseImplicit(t.text)
			if err != nil {
				return nil, fmt.Errorf("png: AIGC text chunk: %w", err)
			}
			out = append(out, imp)
		}
	}
	return out, nil
}

// relabelPNG returns chunks with exactly one AIGC record, js, in the XMP packet: the first
// XMP chunk is updated in place (other XMP properties kept), AIGC is removed from any other
// XMP chunk, "AIGC" text chunks are dropped, and with no XMP chunk a new one goes right before
// the first IDAT. Every other chunk is kept as it is, in its place.
func relabelPNG(chunks []pngChunk, js []byte) ([]pngChunk, error) {
	out := make([]pngChunk, 0, len(chunks)+1)
	hasXMP := false
	for _, c := range chunks {
		if t, ok, err := parsePNGText(c); ok && err == nil && t.keyword == xmpKeyword {
			hasXMP = true
		}
	}
	placed := false
	for _, c := range chunks {
		t, ok, err := parsePNGText(c)
		if ok && err != nil && c.typ != "tEXt" {
			// A text chunk we cannot read might be the XMP packet; refuse rather than
			// leave a second label behind.
			if t.keyword == xmpKeyword || t.keyword == "AIGC" {
				return nil, err
			}
		}
		switch {
		case ok && err == nil && t.keyword == xmpKeyword:
			var packet []byte
			if placed {
				packet, _ = setXMP(t.text, nil)
			} else {
				packet, _ = setXMP(t.text, js)
				placed = true
			}
			out = append(out, pngChunk{typ: "iTXt", data: xmpITXt(packet)})
			continue
		case ok && t.keyword == "AIGC":
			continue
		case c.typ == "IDAT" && !placed && !hasXMP:
			out = append(out, pngChunk{typ: "iTXt", data: xmpITXt(newXMP(js))})
			placed = true
		}
		out = append(out, c)
	}
	if !placed {
		return nil, errors.New("png: no IDAT chunk")
	}
	return out, nil
}
