package operator_test

import (
	"context"
	"testing"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/dynamotest"
	"github.com/tokensmith/tokensmith/internal/operator"
	"github.com/tokensmith/tokensmith/internal/store"
)

func TestSlugShapedLikeAnIDIsRefused(t *testing.T) {
	db, table := dynamotest.NewTable(t)
	dir := operator.New(store.New(db, table))
	ctx := context.Background()
	for _, tc := range []struct {
		slug string
		ok   bool
	}{
		{"65f0c0ffee00000000000001", false},
		{"0123456789abcdef01234567", false},
		{"65f0c0ffee0000000000000", true},   // 23 characters
		{"65f0c0ffee000000000000001", true}, // 25 characters
		{"65f0c0ffee0000000000000g", true},  // not hexadecimal
		{"hitchhikers", true},
	} {
		ws, err := dir.CreateWorkspace(ctx, tc.slug, "Name", tokensmith.PlanFree)
		if tc.ok != (err == nil) || !tc.ok && tokensmith.ErrorCode(err) != tokensmith.EINVALID {
			t.Errorf("CreateWorkspace(slug %q) = %v; want ok %v", tc.slug, err, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		for _, ref := range []string{ws.ID, ws.Slug} {
			if got, err := dir.Workspace(ctx, ref); err != nil || got.ID != ws.ID {
				t.Errorf("Workspace(%q) = %+v, %v; want %s", ref, got, err, ws.ID)
			}
		}
	}
	if _, err := dir.Workspace(ctx, "65f0c0ffee00000000000001"); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
		t.Errorf("Workspace(refused slug) = %v; want %s (no such workspace)", err, tokensmith.ENOTFOUND)
	}
}
