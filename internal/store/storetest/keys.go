package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/qiao-gateway/qiao/internal/tenant"
)

func testKeys(t *testing.T, h Harness) {
	st := h.New(t)
	now := time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.UTC)
	secretA, a, err := tenant.NewSecret("acme", []string{"CN"}, now)
	if err != nil {
		t.Fatal(err)
	}
	_, b, err := tenant.NewSecret("globex", []string{"EU", "US"}, now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []tenant.Key{a, b} {
		if err := st.CreateKey(ctx(t), k); err != nil {
			t.Fatalf("CreateKey(%s): %v", k.ID, err)
		}
	}
	if err := st.CreateKey(ctx(t), a); err == nil {
		t.Error("CreateKey of a duplicate id succeeded")
	}

	got, err := st.KeyByHash(ctx(t), tenant.Hash(secretA))
	if err != nil {
		t.Fatalf("KeyByHash: %v", err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("KeyByHash (-want +got):\n%s", diff)
	}
	if _, err := st.KeyByHash(ctx(t), tenant.Hash("qk-wrong")); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("KeyByHash(unknown) = %v, want ErrNotFound", err)
	}

	revokedAt := now.Add(time.Hour)
	if err := st.RevokeKey(ctx(t), a.ID, revokedAt); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	if err := st.RevokeKey(ctx(t), a.ID, revokedAt.Add(time.Hour)); err != nil {
		t.Fatalf("RevokeKey again: %v", err)
	}
	if err := st.RevokeKey(ctx(t), "key_nope", revokedAt); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("RevokeKey(unknown) = %v, want ErrNotFound", err)
	}
	a.RevokedAt = &revokedAt // the first revocation time is kept
	list, err := st.ListKeys(ctx(t))
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	if diff := cmp.Diff([]tenant.Key{a, b}, list); diff != "" {
		t.Errorf("ListKeys (-want +got):\n%s", diff)
	}
}
