package storetest

import (
	"testing"

	"github.com/qiao-gateway/qiao/internal/audit"
)

// testTamper alters a verified log directly in the database, one kind of tampering per case,
// and checks that Verify names the first altered place and the kind of change.
//
// Each case starts from 20 records of chain "c" with checkpoints at 5, 10, 15 and 20.
func testTamper(t *testing.T, h Harness) {
	const chain = "c"
	// shift moves records with seq >= from by delta, through a far-away range so that the
	// primary key never collides mid-statement.
	shift := func(t *testing.T, st Store, from, delta int) {
		h.Exec(t, st, `UPDATE audit_records SET seq = seq + 1000000 WHERE chain = $1 AND seq >= $2`, chain, from)
		h.Exec(t, st, `UPDATE audit_records SET seq = seq - 1000000 + $1 WHERE chain = $2 AND seq >= 1000000`, delta, chain)
	}
	record := func(t *testing.T, st Store, seq uint64) audit.Record {
		for _, r := range readAll(t, st, chain) {
			if r.Seq == seq {
				return r
			}
		}
		t.Fatalf("no record %d", seq)
		return audit.Record{}
	}
	// insertCopy stores a copy of record src at seq at, with another request id, and the
	// given prev_hash; the hash is computed honestly, as a forger would.
	insertCopy := func(t *testing.T, st Store, src, at uint64, prev audit.Hash) {
		r := record(t, st, src)
		r.Request, r.PrevHash = "forged", prev
		hash, err := r.ComputeHash()
		if err != nil {
			t.Fatal(err)
		}
		h.Exec(t, st, `INSERT INTO audit_records (chain, seq, time_ns, kind, request_id, tenant, key_id, region,
			provider, model, route, privacy, safety, prompt_tokens, completion_tokens, latency_ms, status,
			error_code, produce_id, prompt_hmac, answer_hmac, details, prev_hash, hash)
			SELECT chain, $1, time_ns, kind, $2, tenant, key_id, region, provider, model, route, privacy, safety,
			prompt_tokens, completion_tokens, latency_ms, status, error_code, produce_id, prompt_hmac,
			answer_hmac, details, $3, $4 FROM audit_records WHERE chain = $5 AND seq = $6`,
			int64(at), "forged", []byte(prev), []byte(hash), chain, int64(src))
	}
	// rehash recomputes the hash of records from..20 so that every link holds again.
	rehash := func(t *testing.T, st Store, from uint64) {
		recs := readAll(t, st, chain)
		var prev audit.Hash
		for _, r := range recs {
			if r.Seq >= from {
				r.PrevHash = prev
				hash, err := r.ComputeHash()
				if err != nil {
					t.Fatal(err)
				}
				h.Exec(t, st, `UPDATE audit_records SET prev_hash = $1, hash = $2 WHERE chain = $3 AND seq = $4`,
					[]byte(prev), []byte(hash), chain, int64(r.Seq))
				r.Hash = hash
			}
			prev = r.Hash
		}
	}

	cases := []struct {
		name   string
		tamper func(t *testing.T, st Store)
		seq    uint64
		kind   audit.ProblemKind
	}{
		{name: "edit a column", seq: 7, kind: audit.Edited, tamper: func(t *testing.T, st Store) {
			h.Exec(t, st, `UPDATE audit_records SET model = 'qwen-max' WHERE chain = $1 AND seq = 7`, chain)
		}},
		{name: "edit the time", seq: 7, kind: audit.Edited, tamper: func(t *testing.T, st Store) {
			h.Exec(t, st, `UPDATE audit_records SET time_ns = time_ns + 1 WHERE chain = $1 AND seq = 7`, chain)
		}},
		{name: "edit a content MAC", seq: 9, kind: audit.Edited, tamper: func(t *testing.T, st Store) {
			h.Exec(t, st, `UPDATE audit_records SET prompt_hmac = answer_hmac WHERE chain = $1 AND seq = 9`, chain)
		}},
		{name: "edit a decision", seq: 6, kind: audit.Edited, tamper: func(t *testing.T, st Store) {
			h.Exec(t, st, `UPDATE audit_records SET safety = '' WHERE chain = $1 AND seq = 6`, chain)
		}},
		{name: "break a JSON field", seq: 7, kind: audit.Edited, tamper: func(t *testing.T, st Store) {
			h.Exec(t, st, `UPDATE audit_records SET details = '{"i":' WHERE chain = $1 AND seq = 7`, chain)
		}},
		{name: "edit the stored hash", seq: 12, kind: audit.Edited, tamper: func(t *testing.T, st Store) {
			h.Exec(t, st, `UPDATE audit_records SET hash = prev_hash WHERE chain = $1 AND seq = 12`, chain)
		}},
		{name: "edit and re-hash one record", seq: 7, kind: audit.Edited, tamper: func(t *testing.T, st Store) {
			r := record(t, st, 7)
			r.Tenant = "someone-else"
			hash, _ := r.ComputeHash()
			h.Exec(t, st, `UPDATE audit_records SET tenant = $1, hash = $2 WHERE chain = $3 AND seq = 7`, r.Tenant, []byte(hash), chain)
		}},
		{name: "edit and re-hash the rest of the chain", seq: 10, kind: audit.BadCheckpoint, tamper: func(t *testing.T, st Store) {
			h.Exec(t, st, `UPDATE audit_records SET status = 200, error_code = '' WHERE chain = $1 AND seq = 7`, chain)
			rehash(t, st, 7)
		}},
		{name: "move to another chain", seq: 7, kind: audit.Deleted, tamper: func(t *testing.T, st Store) {
			h.Exec(t, st, `UPDATE audit_records SET chain = 'elsewhere' WHERE chain = $1 AND seq = 7`, chain)
		}},
		{name: "delete one", seq: 7, kind: audit.Deleted, tamper: func(t *testing.T, st Store) {
			h.Exec(t, st, `DELETE FROM audit_records WHERE chain = $1 AND seq = 7`, chain)
		}},
		{name: "delete several", seq: 7, kind: audit.Deleted, tamper: func(t *testing.T, st Store) {
			h.Exec(t, st, `DELETE FROM audit_records WHERE chain = $1 AND seq BETWEEN 7 AND 9`, chain)
		}},
		{name: "delete one and renumber", seq: 7, kind: audit.Deleted, tamper: func(t *testing.T, st Store) {
			h.Exec(t, st, `DELETE FROM audit_records WHERE chain = $1 AND seq = 7`, chain)
			shift(t, st, 8, -1)
		}},
		{name: "delete the first", seq: 2, kind: audit.Deleted, tamper: func(t *testing.T, st Store) {
			h.Exec(t, st, `DELETE FROM audit_records WHERE chain = $1 AND seq = 1`, chain)
		}},
		{name: "delete the tail", seq: 20, kind: audit.Deleted, tamper: func(t *testing.T, st Store) {
			h.Exec(t, st, `DELETE FROM audit_records WHERE chain = $1 AND seq > 17`, chain)
		}},
		{name: "insert a forged record", seq: 8, kind: audit.Inserted, tamper: func(t *testing.T, st Store) {
			shift(t, st, 8, 1)
			insertCopy(t, st, 3, 8, record(t, st, 3).Hash) // links to the wrong record
		}},
		{name: "insert a forged record that links correctly", seq: 8, kind: audit.Inserted, tamper: func(t *testing.T, st Store) {
			shift(t, st, 8, 1)
			insertCopy(t, st, 3, 8, record(t, st, 7).Hash)
		}},
		{name: "insert at the start", seq: 1, kind: audit.Inserted, tamper: func(t *testing.T, st Store) {
			shift(t, st, 1, 1)
			insertCopy(t, st, 2, 1, nil)
		}},
		{name: "swap two records", seq: 7, kind: audit.Reordered, tamper: func(t *testing.T, st Store) {
			h.Exec(t, st, `UPDATE audit_records SET seq = 1000007 WHERE chain = $1 AND seq = 7`, chain)
			h.Exec(t, st, `UPDATE audit_records SET seq = 7 WHERE chain = $1 AND seq = 8`, chain)
			h.Exec(t, st, `UPDATE audit_records SET seq = 8 WHERE chain = $1 AND seq = 1000007`, chain)
		}},
		{name: "rotate four records", seq: 5, kind: audit.Reordered, tamper: func(t *testing.T, st Store) {
			// 5,6,7,8 → 6,7,8,5
			h.Exec(t, st, `UPDATE audit_records SET seq = 1000005 WHERE chain = $1 AND seq = 5`, chain)
			for s := 6; s <= 8; s++ {
				h.Exec(t, st, `UPDATE audit_records SET seq = $1 WHERE chain = $2 AND seq = $3`, s-1, chain, s)
			}
			h.Exec(t, st, `UPDATE audit_records SET seq = 8 WHERE chain = $1 AND seq = 1000005`, chain)
		}},
		{name: "forge a checkpoint", seq: 10, kind: audit.BadCheckpoint, tamper: func(t *testing.T, st Store) {
			h.Exec(t, st, `UPDATE audit_checkpoints SET hash = (SELECT hash FROM audit_records WHERE chain = $1 AND seq = 9) WHERE chain = $2 AND seq = 10`, chain, chain)
		}},
		{name: "turn a checkpoint into a retention anchor", seq: 5, kind: audit.BadCheckpoint, tamper: func(t *testing.T, st Store) {
			h.Exec(t, st, `DELETE FROM audit_records WHERE chain = $1 AND seq <= 5`, chain)
			h.Exec(t, st, `UPDATE audit_checkpoints SET anchor = true WHERE chain = $1 AND seq = 5`, chain)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := h.New(t)
			fill(t, st, chain, 20, 5)
			verifyOK(t, st)
			tc.tamper(t, st)
			rep, err := audit.Verify(ctx(t), st, TestPublicKey())
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			p, ok := rep.First()
			if !ok {
				t.Fatalf("tampering not detected:\n%s", rep.String())
			}
			if p.Chain != chain || p.Seq != tc.seq || p.Kind != tc.kind {
				t.Errorf("first problem %v, want %s at seq %d\n%s", p, tc.kind, tc.seq, rep.String())
			}
			t.Log(p)
		})
	}
}
