package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ControlPrefix is the path prefix of the simulator's control API, served next to the
// provider API so a demo or a test in another process can turn knobs:
//
//	GET  /_sim/knobs      the knobs as JSON
//	PUT  /_sim/knobs      replace the knobs (JSON; durations as "250ms"; absent fields are zero)
//	GET  /_sim/stats      request counters
//	GET  /_sim/received   the request log (bodies included); DELETE clears it
//
// The control API needs no key: the simulator listens on loopback and is a test tool.
const ControlPrefix = "/_sim/"

// knobsJSON is Knobs with durations written as Go duration strings.
type knobsJSON struct {
	FirstByteDelay string `json:"first_byte_delay,omitempty"`
	ChunkDelay     string `json:"chunk_delay,omitempty"`
	EndDelay       string `json:"end_delay,omitempty"`
	ChunkRunes     int    `json:"chunk_runes,omitempty"`
	Reasoning      bool   `json:"reasoning,omitempty"`
	Throttle       string `json:"throttle,omitempty"`
	ServerError    int    `json:"server_error,omitempty"`
	FailCount      int    `json:"fail_count,omitempty"`
	ErrorsIn200    bool   `json:"errors_in_200,omitempty"`
	CutAfter       int    `json:"cut_after,omitempty"`
	BlockAfter     int    `json:"block_after,omitempty"`
}

// MarshalJSON writes durations as strings ("250ms").
func (k Knobs) MarshalJSON() ([]byte, error) {
	j := knobsJSON{ChunkRunes: k.ChunkRunes, Reasoning: k.Reasoning, Throttle: k.Throttle, ServerError: k.ServerError,
		FailCount: k.FailCount, ErrorsIn200: k.ErrorsIn200, CutAfter: k.CutAfter, BlockAfter: k.BlockAfter}
	if k.FirstByteDelay != 0 {
		j.FirstByteDelay = k.FirstByteDelay.String()
	}
	if k.ChunkDelay != 0 {
		j.ChunkDelay = k.ChunkDelay.String()
	}
	if k.EndDelay != 0 {
		j.EndDelay = k.EndDelay.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the form MarshalJSON writes and validates it.
func (k *Knobs) UnmarshalJSON(b []byte) error {
	var j knobsJSON
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("sim: knobs: %w", err)
	}
	out := Knobs{ChunkRunes: j.ChunkRunes, Reasoning: j.Reasoning, Throttle: j.Throttle, ServerError: j.ServerError,
		FailCount: j.FailCount, ErrorsIn200: j.ErrorsIn200, CutAfter: j.CutAfter, BlockAfter: j.BlockAfter}
	for _, d := range []struct {
		s   string
		dst *time.Duration
	}{{j.FirstByteDelay, &out.FirstByteDelay}, {j.ChunkDelay, &out.ChunkDelay}, {j.EndDelay, &out.EndDelay}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil || v < 0 {
			return fmt.Errorf("sim: knobs: bad duration %q", d.s)
		}
		*d.dst = v
	}
	if err := out.Validate(); err != nil {
		return err
	}
	*k = out
	return nil
}

// Validate rejects knobs the simulator cannot honour.
func (k Knobs) Validate() error {
	switch k.Throttle {
	case "", "Throttling", "Throttling.RateQuota", "Throttling.BurstRate", "Throttling.AllocationQuota":
	default:
		return fmt.Errorf("sim: knobs: unknown throttle code %q", k.Throttle)
	}
	if k.ServerError != 0 && (k.ServerError < 500 || k.ServerError > 599) {
		return fmt.Errorf("sim: knobs: server_error must be a 5xx status, got %d", k.ServerError)
	}
	if k.ChunkRunes < 0 || k.FailCount < 0 || k.CutAfter < 0 || k.BlockAfter < 0 || k.FirstByteDelay < 0 || k.ChunkDelay < 0 {
		return fmt.Errorf("sim: knobs: values must not be negative")
	}
	return nil
}

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	switch path := strings.TrimPrefix(r.URL.Path, ControlPrefix); {
	case path == "knobs" && r.Method == http.MethodGet:
		enc.Encode(s.Knobs())
	case path == "knobs" && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		var k Knobs
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&k); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			enc.Encode(map[string]string{"error": err.Error()})
			return
		}
		s.SetKnobs(k)
		enc.Encode(k)
	case path == "stats" && r.Method == http.MethodGet:
		enc.Encode(s.Stats())
	case path == "received" && r.Method == http.MethodGet:
		enc.Encode(s.Received())
	case path == "received" && r.Method == http.MethodDelete:
		s.ResetReceived()
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusNotFound)
		enc.Encode(map[string]string{"error": "unknown control endpoint " + r.Method + " " + r.URL.Path})
	}
}
