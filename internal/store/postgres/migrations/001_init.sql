-- Keys: only the SHA-256 of each secret is stored.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL,
    regions     TEXT NOT NULL,          -- JSON array
    hash        BYTEA NOT NULL UNIQUE,
    created_ns  BIGINT NOT NULL,
    revoked_ns  BIGINT                 -- NULL while active
);

-- Audit records, one hash chain per replica (chain). Times are Unix nanoseconds.
CREATE TABLE audit_records (
    chain             TEXT NOT NULL,
    seq               BIGINT NOT NULL,
    time_ns           BIGINT NOT NULL,
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
    prompt_tokens     BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    latency_ms        BIGINT NOT NULL DEFAULT 0,
    status            INTEGER NOT NULL DEFAULT 0,
    error_code        TEXT NOT NULL DEFAULT '',
    produce_id        TEXT NOT NULL DEFAULT '',
    prompt_hmac       BYTEA,
    answer_hmac       BYTEA,
    details           TEXT NOT NULL DEFAULT '',
    prev_hash         BYTEA,
    hash              BYTEA NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX audit_records_time ON audit_records (time_ns);

CREATE TABLE audit_checkpoints (
    chain     TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    hash      BYTEA,
    time_ns   BIGINT NOT NULL,
    anchor    BOOLEAN NOT NULL DEFAULT false,
    signature BYTEA NOT NULL,
    PRIMARY KEY (chain, seq)
);

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
    created_ns  BIGINT NOT NULL,
    updated_ns  BIGINT NOT NULL,
    deadline_ns BIGINT NOT NULL,
    closed_ns   BIGINT,
    note        TEXT NOT NULL DEFAULT ''
);
