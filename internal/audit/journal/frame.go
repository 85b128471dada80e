package journal

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"

	"github.com/qiao-gateway/qiao/internal/audit"
)

// A frame is one AppendBatch: an 8-byte header (payload length and CRC-32C of the payload,
// both little-endian uint32) and the payload, the batch as JSON. The CRC tells a frame cut
// short by a crash from a whole one.
const headerSize = 8

// maxFrame bounds the payload length a header may claim, so a damaged header cannot make
// replay allocate gigabytes.
const maxFrame = 256 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// payload is a frame's JSON: each record as its canonical encoding (what its hash covers,
// so replay can check it) with the two fields the encoding leaves out.
type payload struct {
	Records     []framedRecord     `json:"records,omitempty"`
	Checkpoints []audit.Checkpoint `json:"checkpoints,omitempty"`
}

type framedRecord struct {
	Seq    uint64          `json:"seq"`
	Hash   audit.Hash      `json:"hash"`
	Record json.RawMessage `json:"record"`
}

// encodeFrame frames a batch; canon, if not nil, holds each record's canonical encoding.
func encodeFrame(recs []audit.Record, canon [][]byte, cps []audit.Checkpoint) ([]byte, error) {
	// Each record's wrapper (seq, hash) is under 128 bytes.
	size := headerSize + 16 + 300*len(cps)
	for i := range recs {
		if canon != nil {
			size += len(canon[i]) + 128
		} else {
			size += 1024 + 128
		}
	}
	b := make([]byte, headerSize, size)
	b = append(b, '{')
	if len(recs) > 0 {
		b = append(b, `"records":[`...)
		for i := range recs {
			r := &recs[i]
			if i > 0 {
				b = append(b, ',')
			}
			var c []byte
			if canon != nil {
				c = canon[i]
			} else {
				var err error
				if c, err = r.Canonical(); err != nil {
					return nil, fmt.Errorf("journal: encode record: %w", err)
				}
			}
			b = append(b, `{"seq":`...)
			b = strconv.AppendUint(b, r.Seq, 10)
			b = append(b, `,"hash":"`...)
			b = hex.AppendEncode(b, r.Hash)
			b = append(b, `","record":`...)
			b = append(append(b, c...), '}')
		}
		b = append(b, ']')
	}
	if len(cps) > 0 {
		raw, err := json.Marshal(cps)
		if err != nil {
			return nil, fmt.Errorf("journal: encode checkpoints: %w", err)
		}
		if len(recs) > 0 {
			b = append(b, ',')
		}
		b = append(append(b, `"checkpoints":`...), raw...)
	}
	b = append(b, '}')
	body := b[headerSize:]
	if len(body) > maxFrame {
		return nil, fmt.Errorf("journal: batch of %d bytes is larger than a frame may be", len(body))
	}
	binary.LittleEndian.PutUint32(b, uint32(len(body)))
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(body, castagnoli))
	return b, nil
}

// decodePayload reads a frame's batch back, checking each record against its hash.
func decodePayload(body []byte) (batch, error) {
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return batch{}, err
	}
	b := batch{cps: p.Checkpoints}
	for _, f := range p.Records {
		r, err := audit.FromCanonical(f.Seq, f.Hash, f.Record)
		if err != nil {
			return batch{}, fmt.Errorf("record %d: %w", f.Seq, err)
		}
		b.recs = append(b.recs, r)
	}
	return b, nil
}

// errTorn marks data that ends inside a frame, as a crash during a write leaves it. Zeros
// where a frame would start end the data too: a preallocated segment's unwritten tail, or
// what a power cut can leave where an unsynced write was going.
var errTorn = errors.New("journal: segment ends inside a frame")

// decodeFrames decodes the frames of one segment. It returns the batches before the first
// frame it cannot decode and that frame's offset; err is errTorn if that frame is cut short
// by the end of data (what a crash mid-write leaves), another error if it is damaged.
func decodeFrames(data []byte) (batches []batch, good int, err error) {
	for good < len(data) {
		rest := data[good:]
		if allZero(rest) {
			return batches, good, errTorn
		}
		if len(rest) < headerSize {
			return batches, good, errTorn
		}
		if binary.LittleEndian.Uint64(rest) == 0 {
			// A header of zeros (no whole frame has an empty body) followed by data: a frame
			// being copied into a mapped segment when the process died (copyFrame stores the
			// header last), never acknowledged; replay accepts that only at the end of the
			// newest segment. A whole frame after it means something else zeroed a header:
			// damage, which must not drop the acknowledged frames that follow.
			if frameFollows(rest[headerSize:]) {
				return batches, good, fmt.Errorf("journal: frame at offset %d has a header of zeros", good)
			}
			return batches, good, errTorn
		}
		n := int(binary.LittleEndian.Uint32(rest))
		if n > maxFrame {
			return batches, good, fmt.Errorf("journal: frame at offset %d claims %d bytes", good, n)
		}
		if len(rest) < headerSize+n {
			return batches, good, errTorn
		}
		body := rest[headerSize : headerSize+n]
		if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(rest[4:]) {
			if allZero(rest[headerSize+n:]) {
				// The last frame, not all of it written: it ends the data, or only the zeros
				// of a preallocated segment follow (a copy cut short by the process dying).
				return batches, good, errTorn
			}
			return batches, good, fmt.Errorf("journal: frame at offset %d fails its checksum", good)
		}
		b, err := decodePayload(body)
		if err != nil {
			return batches, good, fmt.Errorf("journal: frame at offset %d: %w", good, err)
		}
		batches = append(batches, b)
		good += headerSize + n
	}
	return batches, good, nil
}

// frameFollows reports whether a whole frame (a header whose length fits, a body in braces,
// a matching CRC) starts anywhere in data. It runs only at replay, over at most one segment.
func frameFollows(data []byte) bool {
	for p := 0; p+headerSize+2 <= len(data); p++ {
		n := int(binary.LittleEndian.Uint32(data[p:]))
		if n < 2 || n > len(data)-p-headerSize {
			continue
		}
		body := data[p+headerSize : p+headerSize+n]
		if body[0] == '{' && body[n-1] == '}' && crc32.Checksum(body, castagnoli) == binary.LittleEndian.Uint32(data[p+4:]) {
			return true
		}
	}
	return false
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
