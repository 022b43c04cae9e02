package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/token"
)

// NormalizeEmail is the form in which emails are stored and looked up:
// trimmed of ASCII white space, with ASCII letters in lower case. Other
// characters are kept as they are: full Unicode case folding would make
// distinct addresses one (the Kelvin sign folds to "k"), and trimming
// Unicode spaces would let "\u00a0a@example.com" take a@example.com's
// memberships.
func NormalizeEmail(email string) string {
	b := []byte(TrimASCIISpace(email))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// TrimASCIISpace is s without the ASCII white space (space, tab, newline,
// vertical tab, form feed, carriage return) around it.
func TrimASCIISpace(s string) string {
	return strings.Trim(s, " \t\n\v\f\r")
}

// CreateWorkspace stores ws; ErrExists when its id or slug is taken.
func (s *Store) CreateWorkspace(ctx context.Context, ws tokensmith.Workspace) error {
	var b build
	b.add(s.put(toWorkspaceItem(ws), absent()))
	b.add(s.put(toSlugItem(ws), absent()))
	if b.err != nil {
		return b.err
	}
	return s.transact(ctx, b.items, map[int]error{0: ErrExists, 1: ErrExists})
}

// Workspace reads a workspace by its id or its slug: a value shaped like an
// id (token.ValidID) is an id, anything else a slug. Slugs shaped like ids
// are refused when a workspace is created, so the two never meet. It is the
// one lookup of a workspace, so every caller reaches the same one.
func (s *Store) Workspace(ctx context.Context, idOrSlug string) (tokensmith.Workspace, error) {
	it, err := s.workspaceItem(ctx, idOrSlug)
	if err != nil {
		return tokensmith.Workspace{}, err
	}
	return it.workspace(), nil
}

func (s *Store) workspaceItem(ctx context.Context, idOrSlug string) (workspaceItem, error) {
	id := idOrSlug
	if !token.ValidID(idOrSlug) {
		var slug slugItem
		if err := s.get(ctx, slugPK(idOrSlug), metaSK, &slug); err != nil {
			return workspaceItem{}, fmt.Errorf("workspace slug %s: %w", idOrSlug, err)
		}
		id = slug.WorkspaceID
	}
	var it workspaceItem
	if err := s.get(ctx, workspacePK(id), metaSK, &it); err != nil {
		return workspaceItem{}, fmt.Errorf("workspace %s: %w", id, err)
	}
	return it, nil
}

// SetPlan changes ws's plan, records ev with it, and writes the plan on
// every secret of the workspace's tokens (previous secrets in their grace
// period included), where the authorizer reads it. ws is the workspace as
// read: the transaction holds it to that tokenVersion and bumps it, so a
// token created meanwhile either is among those written or, having counted
// at the old version, fails to be created and reads the new plan.
// ErrConflict when the workspace or one of those secrets changed meanwhile.
func (s *Store) SetPlan(ctx context.Context, ws tokensmith.Workspace, plan tokensmith.Plan, ev tokensmith.Event) error {
	tokens, err := s.Tokens(ctx, tokensmith.Owner{Kind: token.KindWorkspace, ID: ws.ID})
	if err != nil {
		return err
	}
	var b build
	version := expression.Name("tokenVersion").Equal(expression.Value(ws.TokenVersion))
	b.addAll(s.audit(ctx, ev, func(u expression.UpdateBuilder) expression.UpdateBuilder {
		return u.Set(expression.Name("plan"), expression.Value(string(plan))).
			Set(expression.Name("tokenVersion"), expression.Value(ws.TokenVersion+1))
	}, &version))
	if err := s.updateSecrets(ctx, &b, tokens, expression.Set(expression.Name("plan"), expression.Value(string(plan)))); err != nil {
		return fmt.Errorf("set plan of %s: %w", ws.ID, err)
	}
	if b.err != nil {
		return b.err
	}
	if err := s.transact(ctx, b.items, nil); err != nil {
		return fmt.Errorf("set plan of %s: %w", ws.ID, err)
	}
	return nil
}

// SetTokenLifetimePolicy sets ws's token lifetime policy to days (0
// removes it) and records ev with it. ws is the workspace as read: the
// transaction holds it to the policy it had. ErrConflict when that
// changed meanwhile.
func (s *Store) SetTokenLifetimePolicy(ctx context.Context, ws tokensmith.Workspace, days int64, ev tokensmith.Event) error {
	was := expression.AttributeNotExists(expression.Name(attrMaxLifetime))
	if ws.MaxTokenLifetimeDays > 0 {
		was = expression.Name(attrMaxLifetime).Equal(expression.Value(ws.MaxTokenLifetimeDays))
	}
	items, err := s.audit(ctx, ev, func(u expression.UpdateBuilder) expression.UpdateBuilder {
		if days > 0 {
			return u.Set(expression.Name(attrMaxLifetime), expression.Value(days))
		}
		return u.Remove(expression.Name(attrMaxLifetime))
	}, &was)
	if err != nil {
		return err
	}
	if err := s.transact(ctx, items, nil); err != nil {
		return fmt.Errorf("set token lifetime policy of %s: %w", ws.ID, err)
	}
	return nil
}

// SetSitePlan gives site plan and, for enterprise, its own rate limit
// (rateLimit; 0 for the default), and writes the resulting rate limit on
// every secret of the site's tokens (one in its grace period too) in the
// same transaction, so that the authorizer's one read learns it. The
// transaction holds the site to the tokenVersion it was read at and bumps
// it, so that a create or regenerate that read the old plan loses and reads
// it again. With ev (nil when nothing changes), the change is recorded in
// the same transaction. ErrConflict when the site or one of those secrets
// changed meanwhile.
func (s *Store) SetSitePlan(ctx context.Context, site tokensmith.Site, plan tokensmith.SitePlan, rateLimit int64, ev *tokensmith.Event) error {
	tokens, err := s.Tokens(ctx, tokensmith.Owner{Kind: token.KindSite, ID: site.ID})
	if err != nil {
		return err
	}
	next := site
	next.Plan, next.RateLimit = plan, rateLimit
	limit := next.TokenRateLimit()
	var b build
	upd := expression.Set(expression.Name("plan"), expression.Value(string(plan))).
		Set(expression.Name("tokenVersion"), expression.Value(site.TokenVersion+1))
	if rateLimit > 0 {
		upd = upd.Set(expression.Name("rateLimit"), expression.Value(rateLimit))
	} else {
		upd = upd.Remove(expression.Name("rateLimit"))
	}
	b.add(s.update(sitePK(site.ID), metaSK, upd, condition(expression.Name("tokenVersion").Equal(expression.Value(site.TokenVersion)))))
	if err := s.updateSecrets(ctx, &b, tokens, expression.Set(expression.Name("rateLimit"), expression.Value(limit))); err != nil {
		return fmt.Errorf("set plan of site %s: %w", site.ID, err)
	}
	if ev != nil {
		b.addAll(s.audit(ctx, *ev, nil, nil))
	}
	if b.err != nil {
		return b.err
	}
	if err := s.transact(ctx, b.items, nil); err != nil {
		return fmt.Errorf("set plan of site %s: %w", site.ID, err)
	}
	return nil
}

// updateSecrets adds to b an update upd of every secret of tokens that is
// still stored (one in its grace period too). A secret past its end may be
// gone already (TTL); one still there is updated on the condition that it
// is still there.
func (s *Store) updateSecrets(ctx context.Context, b *build, tokens []tokensmith.Token, upd expression.UpdateBuilder) error {
	for _, t := range tokens {
		for _, hash := range []string{t.SecretHash, t.PrevSecretHash} {
			if hash == "" {
				continue
			}
			var it secretItem
			switch err := s.get(ctx, secretPK(hash), metaSK, &it); {
			case tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND:
				continue
			case err != nil:
				return err
			}
			b.add(s.update(secretPK(hash), metaSK, upd, exists()))
		}
	}
	return nil
}

// CreateSite stores site; ErrExists when its id is taken.
func (s *Store) CreateSite(ctx context.Context, site tokensmith.Site) error {
	var b build
	b.add(s.put(toSiteItem(site), absent()))
	b.add(s.check(workspacePK(site.WorkspaceID), metaSK, exists()))
	if b.err != nil {
		return b.err
	}
	return s.transact(ctx, b.items, map[int]error{0: ErrExists, 1: tokensmith.NotFound()})
}

// Site reads a site by id.
func (s *Store) Site(ctx context.Context, id string) (tokensmith.Site, error) {
	var it siteItem
	if err := s.get(ctx, sitePK(id), metaSK, &it); err != nil {
		return tokensmith.Site{}, fmt.Errorf("site %s: %w", id, err)
	}
	return it.site(), nil
}

// Sites lists the sites of a workspace.
func (s *Store) Sites(ctx context.Context, wsID string) ([]tokensmith.Site, error) {
	kc := expression.Key(AttrGSI1PK).Equal(expression.Value(workspaceSitesGSI1PK(wsID)))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, fmt.Errorf("build query: %w", err)
	}
	var sites []tokensmith.Site
	err = s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(IndexGSI1),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}, func(item map[string]types.AttributeValue) error {
		var it siteItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return fmt.Errorf("decode site: %w", err)
		}
		sites = append(sites, it.site())
		return nil
	})
	return sites, err
}
