package journal

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"

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

type payload struct {
	Records     []audit.Record     `json:"records,omitempty"`
	Checkpoints []audit.Checkpoint `json:"checkpoints,omitempty"`
}

func encodeFrame(recs []audit.Record, cps []audit.Checkpoint) ([]byte, error) {
	body, err := json.Marshal(payload{Records: recs, Checkpoints: cps})
	if err != nil {
		return nil, fmt.Errorf("journal: encode batch: %w", err)
	}
	if len(body) > maxFrame {
		return nil, fmt.Errorf("journal: batch of %d bytes is larger than a frame may be", len(body))
	}
	frame := make([]byte, headerSize, headerSize+len(body))
	binary.LittleEndian.PutUint32(frame, uint32(len(body)))
	binary.LittleEndian.PutUint32(frame[4:], crc32.Checksum(body, castagnoli))
	return append(frame, body...), nil
}

// errTorn marks data that ends inside a frame, as a crash during a write leaves it.
var errTorn = errors.New("journal: segment ends inside a frame")

// decodeFrames decodes the frames of one segment. It returns the batches before the first
// frame it cannot decode and that frame's offset; err is errTorn if that frame is cut short
// by the end of data (what a crash mid-write leaves), another error if it is damaged.
func decodeFrames(data []byte) (batches []batch, good int, err error) {
	for good < len(data) {
		rest := data[good:]
		if allZero(rest) {
			// A file extended but never written: what a power cut can leave where an
			// unsynced write was going.
			return batches, good, errTorn
		}
		if len(rest) < headerSize {
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
			if headerSize+n == len(rest) {
				return batches, good, errTorn // the last frame, not all of it written
			}
			return batches, good, fmt.Errorf("journal: frame at offset %d fails its checksum", good)
		}
		var p payload
		if err := json.Unmarshal(body, &p); err != nil {
			return batches, good, fmt.Errorf("journal: frame at offset %d: %w", good, err)
		}
		batches = append(batches, batch{recs: p.Records, cps: p.Checkpoints})
		good += headerSize + n
	}
	return batches, good, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
