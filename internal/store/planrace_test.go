package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/dynamotest"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// beforeSecretRead runs hook once, before the first read of a secret item.
type beforeSecretRead struct {
	store.DB
	hook func()
}

func (h *beforeSecretRead) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if pk, ok := in.Key["PK"].(*types.AttributeValueMemberS); ok && strings.HasPrefix(pk.Value, "SECRET#") && h.hook != nil {
		f := h.hook
		h.hook = nil
		f()
	}
	return h.DB.GetItem(ctx, in, o...)
}

// TestRegenerateDuringPlanChange: a regenerate that commits after a plan
// change listed the site's tokens makes the plan change lose (ErrConflict),
// so that its retry writes the new limit on the new secret, rather than
// both committing and the new secret keeping the old plan's limit.
func TestRegenerateDuringPlanChange(t *testing.T) {
	for _, withGrace := range []bool{false, true} {
		db, name := dynamotest.NewTable(t)
		st := store.New(db, name)
		ctx := context.Background()
		ws, site := seedSite(t, st)
		tok := newToken("0000000b0000000000000001", site, "tss_first")
		if err := st.CreateToken(ctx, 0, "", site.TokenRateLimit(), tok, event(ws, audit.SubTokenCreated), nil, t0); err != nil {
			t.Fatal(err)
		}
		h := &beforeSecretRead{DB: db}
		read := readSite(t, st, site.ID)
		h.hook = func() {
			var grace *time.Time
			if withGrace {
				g := t0.Add(time.Hour)
				grace = &g
			}
			if _, err := st.RegenerateToken(ctx, tok, readSite(t, st, site.ID), token.Hash("tss_second"), "x", nil, grace, event(ws, audit.SubTokenRegenerated)); err != nil {
				t.Fatal(err)
			}
		}
		err := store.New(h, name).SetSitePlan(ctx, read, tokensmith.SitePlanStarter, 0, nil)
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("grace %v: plan change racing a regenerate = %v; want ErrConflict", withGrace, err)
		}
		if err := st.SetSitePlan(ctx, readSite(t, st, site.ID), tokensmith.SitePlanStarter, 0, nil); err != nil {
			t.Fatal(err)
		}
		if sec, err := st.Secret(ctx, token.Hash("tss_second")); err != nil || sec.TokenRateLimit() != 60 {
			t.Errorf("grace %v: regenerated secret after the plan change = limit %d, %v; want 60", withGrace, sec.TokenRateLimit(), err)
		}
	}
}
