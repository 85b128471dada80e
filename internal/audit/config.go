package audit

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"time"
	"unicode/utf8"
)

// Failure policies: what the server does when a record cannot be stored.
const (
	OnFailureRefuse = "refuse" // answer 503 audit_unavailable; never serve unlogged (default)
	OnFailureServe  = "serve"  // serve anyway and count the loss (only where no rule requires the log)
)

// Store kinds.
const (
	StoreSQLite   = "sqlite"
	StorePostgres = "postgres"
)

// Config is the audit and storage section of a region profile (YAML). The zero value is
// usable: SQLite in ./data, keys generated in the data directory, refuse on failure.
type Config struct {
	// Store is "sqlite" (default; one file data_dir/qiao.db) or "postgres".
	Store string `yaml:"store"`
	// DataDir holds qiao.db and the generated key files. Default "data".
	DataDir string `yaml:"data_dir"`
	// DSNEnv names the environment variable holding the PostgreSQL DSN (the DSN is a secret
	// and never in the file). Default "QIAO_POSTGRES_DSN".
	DSNEnv string `yaml:"dsn_env"`
	// Replica is this replica's chain id. Default: the host name. Must be unique per replica
	// sharing a PostgreSQL database.
	Replica string `yaml:"replica"`
	// HMACKeyEnv names the variable holding the content HMAC key (base64, ≥16 bytes).
	// Default "QIAO_AUDIT_HMAC_KEY"; if unset, data_dir/audit-hmac.key is used (created on
	// first start). Replicas that must produce comparable MACs share the variable.
	HMACKeyEnv string `yaml:"hmac_key_env"`
	// SigningKeyEnv names the variable holding the Ed25519 checkpoint key (base64 32-byte
	// seed). Default "QIAO_AUDIT_SIGNING_KEY"; if unset, data_dir/audit-signing.key is used
	// (created on first start, 0600; the public key is written to audit-signing.pub).
	SigningKeyEnv string `yaml:"signing_key_env"`
	// CheckpointEvery is the number of records between signed checkpoints. Default 1000.
	CheckpointEvery int `yaml:"checkpoint_every"`
	// CheckpointInterval is the longest time records stay unsigned, e.g. "10s". Default 10s.
	CheckpointInterval time.Duration `yaml:"checkpoint_interval"`
	// RetentionDays is how long records are kept before Purge may delete them. Default: the
	// profile minimum (180 for CN). A value below the profile minimum is refused.
	RetentionDays int `yaml:"retention_days"`
	// OnFailure is "refuse" (default) or "serve".
	OnFailure string `yaml:"on_failure"`
	// MaxBatch is the most records per group commit. Default 1024.
	MaxBatch int `yaml:"max_batch"`
	// Sync is how hard a commit is pushed to disk (SQLite). "normal" (default): a committed
	// record survives the process being killed (kill -9, a crash), because the WAL is in the
	// operating system's hands at commit; a power cut or kernel crash may lose the last
	// commits since the previous WAL checkpoint. "full": every commit is fsynced and survives
	// power loss too, at the price of one fsync per group commit (about 1–2 ms each on a
	// virtual disk, paid by every request at low traffic). PostgreSQL follows its own
	// synchronous_commit setting.
	Sync string `yaml:"sync"`
	// Journal is "on" or "off". On, a record counts as stored once it is appended to a
	// journal file under data_dir/journal (one write; with sync: full, also an fdatasync),
	// and one goroutine copies journaled records into the store in the background. A
	// request then waits microseconds instead of a database transaction, with the same
	// durability as sync: normal (or full). Default: on for sqlite; off for postgres, where
	// a replica's local disk may not outlive it (turn it on where data_dir is persistent).
	Journal string `yaml:"journal"`
}

// Journal settings.
const (
	JournalOn  = "on"
	JournalOff = "off"
)

// Sync modes.
const (
	SyncNormal = "normal"
	SyncFull   = "full"
)

// MinRetentionCN is the shortest retention the CN profile allows: logs are kept at least six
// months (Cybersecurity Law Art. 21; Labeling Measures Art. 9), counted as 180 days.
const MinRetentionCN = 180 * 24 * time.Hour

// WithDefaults returns c with zero fields set to their defaults. minRetention is the
// profile's minimum (0 if none).
func (c Config) WithDefaults(minRetention time.Duration) Config {
	if c.Store == "" {
		c.Store = StoreSQLite
	}
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if c.DSNEnv == "" {
		c.DSNEnv = "QIAO_POSTGRES_DSN"
	}
	if c.Replica == "" {
		if h, err := os.Hostname(); err == nil && h != "" {
			c.Replica = h
		} else {
			c.Replica = "qiao"
		}
	}
	if c.HMACKeyEnv == "" {
		c.HMACKeyEnv = "QIAO_AUDIT_HMAC_KEY"
	}
	if c.SigningKeyEnv == "" {
		c.SigningKeyEnv = "QIAO_AUDIT_SIGNING_KEY"
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = 1000
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = 10 * time.Second
	}
	if c.RetentionDays == 0 {
		c.RetentionDays = int((minRetention + 24*time.Hour - 1) / (24 * time.Hour))
	}
	if c.OnFailure == "" {
		c.OnFailure = OnFailureRefuse
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 1024
	}
	if c.Sync == "" {
		c.Sync = SyncNormal
	}
	if c.Journal == "" {
		c.Journal = JournalOff
		if c.Store == StoreSQLite {
			c.Journal = JournalOn
		}
	}
	return c
}

// Retention returns RetentionDays as a duration.
func (c Config) Retention() time.Duration { return time.Duration(c.RetentionDays) * 24 * time.Hour }

// Validate checks c (after WithDefaults) against the profile's minimum retention.
func (c Config) Validate(minRetention time.Duration) error {
	var errs []error
	switch c.Store {
	case StoreSQLite, StorePostgres:
	default:
		errs = append(errs, fmt.Errorf("audit.store %q: want %q or %q", c.Store, StoreSQLite, StorePostgres))
	}
	if c.Store == StoreSQLite && c.DataDir == "" {
		errs = append(errs, errors.New("audit.data_dir: required for the sqlite store"))
	}
	if c.Replica == "" || len(c.Replica) > 128 || !utf8.ValidString(c.Replica) {
		errs = append(errs, errors.New("audit.replica: want 1 to 128 characters of UTF-8"))
	}
	if c.CheckpointEvery < 1 {
		errs = append(errs, fmt.Errorf("audit.checkpoint_every %d: want at least 1", c.CheckpointEvery))
	}
	if c.CheckpointInterval < 0 {
		errs = append(errs, fmt.Errorf("audit.checkpoint_interval %s: want a positive duration", c.CheckpointInterval))
	}
	if c.RetentionDays < 0 {
		errs = append(errs, fmt.Errorf("audit.retention_days %d: want a positive number of days", c.RetentionDays))
	} else if c.Retention() < minRetention {
		errs = append(errs, fmt.Errorf("audit.retention_days %d is below this profile's minimum of %s", c.RetentionDays, fmtDays(minRetention)))
	}
	switch c.OnFailure {
	case OnFailureRefuse, OnFailureServe:
	default:
		errs = append(errs, fmt.Errorf("audit.on_failure %q: want %q or %q", c.OnFailure, OnFailureRefuse, OnFailureServe))
	}
	if c.Sync != SyncNormal && c.Sync != SyncFull {
		errs = append(errs, fmt.Errorf("audit.sync %q: want %q or %q", c.Sync, SyncNormal, SyncFull))
	}
	if c.Journal != JournalOn && c.Journal != JournalOff {
		errs = append(errs, fmt.Errorf("audit.journal %q: want %q or %q", c.Journal, JournalOn, JournalOff))
	}
	if c.MaxBatch < 1 || c.MaxBatch > 100000 {
		errs = append(errs, fmt.Errorf("audit.max_batch %d: want 1..100000", c.MaxBatch))
	}
	return errors.Join(errs...)
}

// Keys are the secrets the audit log needs.
type Keys struct {
	Signing ed25519.PrivateKey // signs checkpoints and anchors
	HMAC    []byte             // keys ContentMAC
}

// Public returns the checkpoint verification key.
func (k Keys) Public() ed25519.PublicKey { return k.Signing.Public().(ed25519.PublicKey) }

// LoadKeys reads the keys from the environment variables named in c (through getenv; nil
// means os.Getenv), or else from (or newly into) files in c.DataDir.
func (c Config) LoadKeys(getenv func(string) string) (Keys, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var k Keys
	var err error
	if v := getenv(c.SigningKeyEnv); c.SigningKeyEnv != "" && v != "" {
		if k.Signing, err = ParseSigningKey(v); err != nil {
			return k, fmt.Errorf("audit: $%s: %w", c.SigningKeyEnv, err)
		}
	} else if k.Signing, err = LoadOrCreateSigningKey(c.DataDir); err != nil {
		return k, err
	}
	if v := getenv(c.HMACKeyEnv); c.HMACKeyEnv != "" && v != "" {
		b, err := decodeB64(v)
		if err != nil || len(b) < 16 {
			return k, fmt.Errorf("audit: $%s: want base64 of at least 16 bytes", c.HMACKeyEnv)
		}
		k.HMAC = b
	} else if k.HMAC, err = LoadOrCreateHMACKey(c.DataDir); err != nil {
		return k, err
	}
	return k, nil
}

// WriterOptions returns the writer options for c.
func (c Config) WriterOptions(k Keys) WriterOptions {
	return WriterOptions{
		Chain: c.Replica, Signer: k.Signing, CheckpointEvery: c.CheckpointEvery,
		CheckpointInterval: c.CheckpointInterval, MaxBatch: c.MaxBatch, MinRetention: c.Retention(),
	}
}
