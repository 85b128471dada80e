-- Keys: only the SHA-256 of each secret is stored.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL,
    regions     TEXT NOT NULL,          -- JSON array
    hash        BLOB NOT NULL UNIQUE,
    created_ns  INTEGER NOT NULL,
    revoked_ns  INTEGER                 -- NULL while active
);

-- Audit records, one hash chain per replica (chain). Times are Unix nanoseconds.
CREATE TABLE audit_records (
    chain             TEXT NOT NULL,
    seq               INTEGER NOT NULL,
    time_ns           INTEGER NOT NULL,
    kind              TEXT NOT NULL,
    request_id        TEXT NOT NULL DEFAULT '',
    tenant            TEXT NOT NULL DEFAULT '',
    key_id            TEXT NOT NULL DEFAULT '',
    region            TEXT NOT NULL DEFAULT '',
    provider          TEXT NOT NULL DEFAULT '',
    model             TEXT NOT NULL DEFAULT '',
    route             TEXT NOT NULL DEFAULT '',
    privacy           TEXT NOT NULL DEFAULT '',
    safety            TEXT NOT NULL DEFAULT '',
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    latency_ms        INTEGER NOT NULL DEFAULT 0,
    status            INTEGER NOT NULL DEFAULT 0,
    error_code        TEXT NOT NULL DEFAULT '',
    produce_id        TEXT NOT NULL DEFAULT '',
    prompt_hmac       BLOB,
    answer_hmac       BLOB,
    details           TEXT NOT NULL DEFAULT '',
    prev_hash         BLOB,
    hash              BLOB NOT NULL,
    PRIMARY KEY (chain, seq)
) WITHOUT ROWID;
CREATE INDEX audit_records_time ON audit_records (time_ns);

CREATE TABLE audit_checkpoints (
    chain     TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    hash      BLOB,
    time_ns   INTEGER NOT NULL,
    anchor    INTEGER NOT NULL DEFAULT 0,
    signature BLOB NOT NULL,
    PRIMARY KEY (chain, seq)
) WITHOUT ROWID;

CREATE TABLE complaints (
    id          TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    region      TEXT NOT NULL,
    request_id  TEXT NOT NULL DEFAULT '',
    produce_id  TEXT NOT NULL DEFAULT '',
    category    TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL,
    state       TEXT NOT NULL,
    created_ns  INTEGER NOT NULL,
    updated_ns  INTEGER NOT NULL,
    deadline_ns INTEGER NOT NULL,
    closed_ns   INTEGER,
    note        TEXT NOT NULL DEFAULT ''
);
