package store_test

import (
	"strings"
	"testing"

	"github.com/qiao-gateway/qiao/internal/audit"
	"github.com/qiao-gateway/qiao/internal/store"
	"github.com/qiao-gateway/qiao/internal/store/sqlite"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(t.Context(), audit.Config{DataDir: dir}.WithDefaults(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if db, ok := st.(*sqlite.DB); !ok || !strings.HasPrefix(db.Path(), dir) {
		t.Errorf("Open(sqlite) = %T", st)
	}

	tests := []struct {
		name    string
		cfg     audit.Config
		wantErr string
	}{
		{name: "postgres without DSN", cfg: audit.Config{Store: audit.StorePostgres, DSNEnv: "QIAO_TEST_NO_SUCH_VAR"}, wantErr: "$QIAO_TEST_NO_SUCH_VAR is empty"},
		{name: "unknown store", cfg: audit.Config{Store: "mongo"}, wantErr: "unknown store"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := store.Open(t.Context(), tc.cfg, func(string) string { return "" })
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Open = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
