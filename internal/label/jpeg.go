package label

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// APP segment signatures.
var (
	sigXMP     = []byte("http://ns.adobe.com/xap/1.0/\x00")
	sigExif    = []byte("Exif\x00\x00")
	sigMPF     = []byte("MPF\x00")
	sigAdobe   = []byte("Adobe")
	sigICC     = []byte("ICC_PROFILE\x00")
	maxJPEGSeg = 0xFFFF - 2 // payload bytes after the length field
)

const (
	mSOI   = 0xD8
	mEOI   = 0xD9
	mSOS   = 0xDA
	mAPP0  = 0xE0
	mAPP1  = 0xE1
	mAPP2  = 0xE2
	mAPP14 = 0xEE
	mCOM   = 0xFE
)

// jpegSeg is one marker segment. raw holds the marker, the length and the payload; for SOS it
// also holds the entropy-coded data that follows, so writing raw back reproduces the file.
type jpegSeg struct {
	marker  byte
	raw     []byte
	payload []byte
}

func (s jpegSeg) isAPP() bool { return s.marker >= mAPP0 && s.marker <= 0xEF }

func (s jpegSeg) isXMP() bool { return s.marker == mAPP1 && bytes.HasPrefix(s.payload, sigXMP) }

// parseJPEG splits a JPEG file into segments from SOI through EOI, following the
// entropy-coded data of every scan (so progressive files parse too). Bytes after EOI are
// returned as trailer and kept when only metadata changes.
func parseJPEG(b []byte) (segs []jpegSeg, trailer []byte, err error) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != mSOI {
		return nil, nil, errors.New("jpeg: no SOI marker")
	}
	segs = append(segs, jpegSeg{marker: mSOI, raw: b[:2]})
	p := 2
	for {
		if p >= len(b) {
			return nil, nil, fmt.Errorf("jpeg: truncated at byte %d (no EOI marker)", p)
		}
		if b[p] != 0xFF {
			return nil, nil, fmt.Errorf("jpeg: expected a marker at byte %d, found 0x%02x", p, b[p])
		}
		for p+1 < len(b) && b[p+1] == 0xFF { // fill bytes
			p++
		}
		if p+1 >= len(b) {
			return nil, nil, fmt.Errorf("jpeg: truncated at byte %d", p)
		}
		start, m := p, b[p+1]
		switch {
		case m == mEOI:
			segs = append(segs, jpegSeg{marker: m, raw: b[start : p+2]})
			return segs, b[p+2:], nil
		case m == 0x00 || m == mSOI:
			return nil, nil, fmt.Errorf("jpeg: unexpected marker 0x%02x at byte %d", m, p)
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7):
			segs = append(segs, jpegSeg{marker: m, raw: b[start : p+2]})
			p += 2
			continue
		}
		if p+4 > len(b) {
			return nil, nil, fmt.Errorf("jpeg: truncated segment header at byte %d", p)
		}
		n := int(binary.BigEndian.Uint16(b[p+2:]))
		if n < 2 || p+2+n > len(b) {
			return nil, nil, fmt.Errorf("jpeg: segment 0x%02x at byte %d is truncated or has a bad length", m, p)
		}
		seg := jpegSeg{marker: m, payload: b[p+4 : p+2+n]}
		p += 2 + n
		if m == mSOS {
			for {
				i := bytes.IndexByte(b[p:], 0xFF)
				if i < 0 || p+i+1 >= len(b) {
					return nil, nil, errors.New("jpeg: truncated scan data (no EOI marker)")
				}
				p += i
				if next := b[p+1]; next != 0x00 && (next < 0xD0 || next > 0xD7) {
					break // a marker: stuffed zero bytes and restart markers belong to the scan
				}
				p += 2
			}
		}
		seg.raw = b[start:p]
		segs = append(segs, seg)
	}
}

func xmpSegment(packet []byte) (jpegSeg, error) {
	n := len(sigXMP) + len(packet)
	if n > maxJPEGSeg {
		return jpegSeg{}, fmt.Errorf("jpeg: XMP packet of %d bytes does not fit in one APP1 segment", len(packet))
	}
	raw := make([]byte, 0, 4+n)
	raw = append(raw, 0xFF, mAPP1)
	raw = binary.BigEndian.AppendUint16(raw, uint16(n+2))
	raw = append(raw, sigXMP...)
	raw = append(raw, packet...)
	return jpegSeg{marker: mAPP1, raw: raw, payload: raw[4:]}, nil
}

func jpegLabels(segs []jpegSeg) ([]Implicit, error) {
	var out []Implicit
	for _, s := range segs {
		if !s.isXMP() {
			continue
		}
		imps, err := xmpLabels(s.payload[len(sigXMP):])
		if err != nil {
			return nil, fmt.Errorf("jpeg: %w", err)
		}
		out = append(out, imps...)
	}
	return out, nil
}

// relabelJPEG returns segs with exactly one AIGC record, js: the first XMP segment is updated
// in place (other XMP properties kept), AIGC is removed from any other, and with no XMP
// segment a new one goes after the leading JFIF/Exif segments. All else is kept in place.
func relabelJPEG(segs []jpegSeg, js []byte) ([]jpegSeg, error) {
	hasXMP := false
	for _, s := range segs {
		hasXMP = hasXMP || s.isXMP()
	}
	out := make([]jpegSeg, 0, len(segs)+1)
	placed := false
	for i, s := range segs {
		if s.isXMP() {
			var packet []byte
			if placed {
				packet, _ = setXMP(s.payload[len(sigXMP):], nil)
			} else {
				packet, _ = setXMP(s.payload[len(sigXMP):], js)
				placed = true
			}
			seg, err := xmpSegment(packet)
			if err != nil {
				return nil, err
			}
			out = append(out, seg)
			continue
		}
		out = append(out, s)
		if !hasXMP && !placed && i+1 < len(segs) {
			next := segs[i+1]
			leading := next.marker == mAPP0 || (next.marker == mAPP1 && bytes.HasPrefix(next.payload, sigExif))
			if !leading {
				seg, err := xmpSegment(newXMP(js))
				if err != nil {
					return nil, err
				}
				out = append(out, seg)
				placed = true
			}
		}
	}
	if !placed {
		return nil, errors.New("jpeg: nowhere to put the XMP segment")
	}
	return out, nil
}

func writeJPEG(segs []jpegSeg, trailer []byte) []byte {
	n := len(trailer)
	for _, s := range segs {
		n += len(s.raw)
	}
	out := make([]byte, 0, n)
	for _, s := range segs {
		out = append(out, s.raw...)
	}
	return append(out, trailer...)
}

// keepAfterReencode reports whether an original APP/COM segment still describes the image
// after its pixels were decoded and encoded again. Adobe APP14 is dropped because it states
// the colour transform of the old encoding (a wrong one would swap colours); MPF APP2 because
// its offsets point into the old file; with dropICC (a CMYK original, re-encoded as YCbCr) the
// ICC profile too, as it describes the old colour space.
func keepAfterReencode(s jpegSeg, dropICC bool) bool {
	switch {
	case dropICC && s.marker == mAPP2 && bytes.HasPrefix(s.payload, sigICC):
		return false
	case s.marker == mAPP14 && bytes.HasPrefix(s.payload, sigAdobe):
		return false
	case s.marker == mAPP2 && bytes.HasPrefix(s.payload, sigMPF):
		return false
	}
	return s.isAPP() || s.marker == mCOM
}
