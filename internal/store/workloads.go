package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/scope"
)

// ErrWorkloadLimit means the site already trusts tokensmith.MaxWorkloads
// workloads.
var ErrWorkloadLimit = errors.New("store: the site trusts as many workloads as it may")

// attrWorkloads is the site item's count of the workloads it trusts, which
// a create adds to under the condition that it stays within the limit, so
// that concurrent creates never exceed it.
const attrWorkloads = "workloads"

type workloadItem struct {
	keys
	ID                   string            `dynamodbav:"id"`
	SiteID               string            `dynamodbav:"siteId"`
	WorkspaceID          string            `dynamodbav:"workspaceId"`
	Name                 string            `dynamodbav:"name"`
	Issuer               string            `dynamodbav:"issuer"`
	Audience             string            `dynamodbav:"audience"`
	Subject              string            `dynamodbav:"subject"`
	Claims               map[string]string `dynamodbav:"claims,omitempty"`
	Permissions          scope.Permissions `dynamodbav:"permissions"`
	Scope                string            `dynamodbav:"scope"`
	TokenLifetimeSeconds int64             `dynamodbav:"tokenLifetimeSeconds"`
	CreatedOn            time.Time         `dynamodbav:"createdOn"`
	CreatedBy            actorItem         `dynamodbav:"createdBy"`
	Window               int64             `dynamodbav:"window"`
	Exchanges            int64             `dynamodbav:"exchanges"`
	Version              int64             `dynamodbav:"version"`
}

func toWorkloadItem(w tokensmith.Workload) workloadItem {
	return workloadItem{
		keys: keys{PK: sitePK(w.SiteID), SK: workloadSK(w.ID)},
		ID:   w.ID, SiteID: w.SiteID, WorkspaceID: w.WorkspaceID, Name: w.Name,
		Issuer: w.Issuer, Audience: w.Audience, Subject: w.Subject, Claims: w.Claims,
		Permissions: w.Permissions, Scope: w.Scope, TokenLifetimeSeconds: int64(w.TokenLifetime / time.Second),
		CreatedOn: w.CreatedOn, CreatedBy: toActorItem(w.CreatedBy),
		Window: w.Window, Exchanges: w.Exchanges, Version: w.Version,
	}
}

func (it workloadItem) workload() tokensmith.Workload {
	return tokensmith.Workload{
		ID: it.ID, SiteID: it.SiteID, WorkspaceID: it.WorkspaceID, Name: it.Name,
		Issuer: it.Issuer, Audience: it.Audience, Subject: it.Subject, Claims: it.Claims,
		Permissions: it.Permissions, Scope: it.Scope, TokenLifetime: time.Duration(it.TokenLifetimeSeconds) * time.Second,
		CreatedOn: it.CreatedOn, CreatedBy: it.CreatedBy.actor(),
		Window: it.Window, Exchanges: it.Exchanges, Version: it.Version,
	}
}

// Workloads lists the workloads site siteID trusts, strongly consistent.
func (s *Store) Workloads(ctx context.Context, siteID string) ([]tokensmith.Workload, error) {
	var out []tokensmith.Workload
	err := s.queryPrefix(ctx, sitePK(siteID), workloadSK(""), func(item map[string]types.AttributeValue) error {
		var it workloadItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return fmt.Errorf("decode workload: %w", err)
		}
		out = append(out, it.workload())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("workloads of site %s: %w", siteID, err)
	}
	return out, nil
}

// Workload reads one workload of site siteID.
func (s *Store) Workload(ctx context.Context, siteID, id string) (tokensmith.Workload, error) {
	var it workloadItem
	if err := s.get(ctx, sitePK(siteID), workloadSK(id), &it); err != nil {
		return tokensmith.Workload{}, fmt.Errorf("workload %s: %w", id, err)
	}
	return it.workload(), nil
}

// CreateWorkload stores w and ev in one transaction, counting w on its
// site: ErrWorkloadLimit when the site already trusts
// tokensmith.MaxWorkloads.
func (s *Store) CreateWorkload(ctx context.Context, w tokensmith.Workload, ev tokensmith.Event) error {
	var b build
	b.add(s.put(toWorkloadItem(w), absent()))
	within := expression.AttributeNotExists(expression.Name(attrWorkloads)).
		Or(expression.Name(attrWorkloads).LessThan(expression.Value(tokensmith.MaxWorkloads)))
	limit := b.add(s.update(sitePK(w.SiteID), metaSK, expression.Add(expression.Name(attrWorkloads), expression.Value(1)),
		condition(expression.AttributeExists(expression.Name(AttrPK)).And(within))))
	b.addAll(s.audit(ctx, ev, nil, nil))
	if b.err != nil {
		return b.err
	}
	if err := s.transact(ctx, b.items, map[int]error{limit: ErrWorkloadLimit}); err != nil {
		return fmt.Errorf("create workload %s: %w", w.ID, err)
	}
	return nil
}

// WorkloadTokens lists the tokens w's exchanges minted that are live at
// now, strongly consistent.
func (s *Store) WorkloadTokens(ctx context.Context, w tokensmith.Workload, now time.Time) ([]tokensmith.Token, error) {
	var out []tokensmith.Token
	err := s.queryPrefix(ctx, sitePK(w.SiteID), workloadTokenSK(w.ID, ""), func(item map[string]types.AttributeValue) error {
		var it tokenItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return fmt.Errorf("decode token: %w", err)
		}
		if t := it.token(); t.Active(now) {
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tokens of workload %s: %w", w.ID, err)
	}
	return out, nil
}

// SiteWorkloadTokens lists every token the exchanges of site siteID's
// workloads minted and TTL has not removed yet, strongly consistent: what a
// revoke-all of the site ends besides its own tokens.
func (s *Store) SiteWorkloadTokens(ctx context.Context, siteID string) ([]tokensmith.Token, error) {
	var out []tokensmith.Token
	err := s.queryPrefix(ctx, sitePK(siteID), prefixWLToken, func(item map[string]types.AttributeValue) error {
		var it tokenItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return fmt.Errorf("decode token: %w", err)
		}
		out = append(out, it.token())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("workload tokens of site %s: %w", siteID, err)
	}
	return out, nil
}

// tokensPerTransaction is how many tokens (a record and a secret each) a
// transaction of DeleteWorkload ends besides the workload and its event,
// within DynamoDB's 100 items.
const tokensPerTransaction = 10

// DeleteWorkload deletes w, as read at its Version, with live, the tokens
// its exchanges minted that were live then, and records ev. The workload,
// its event and the last of its tokens go in one transaction, conditioned
// on w's version: an exchange since the read bumped it, and the delete
// fails with ErrConflict rather than leave the token it minted alive. When
// there are more tokens than one transaction holds, the others are
// deleted first, which is harmless whatever happens next.
func (s *Store) DeleteWorkload(ctx context.Context, w tokensmith.Workload, live []tokensmith.Token, ev tokensmith.Event) error {
	for len(live) > tokensPerTransaction {
		var b build
		for _, t := range live[:tokensPerTransaction] {
			s.endWorkloadToken(&b, t)
		}
		if b.err != nil {
			return b.err
		}
		if err := s.transact(ctx, b.items, nil); err != nil {
			return fmt.Errorf("end tokens of workload %s: %w", w.ID, err)
		}
		live = live[tokensPerTransaction:]
	}
	var b build
	b.add(s.del(sitePK(w.SiteID), workloadSK(w.ID), condition(expression.Name("version").Equal(expression.Value(w.Version)))))
	b.add(s.update(sitePK(w.SiteID), metaSK, expression.Add(expression.Name(attrWorkloads), expression.Value(-1)), exists()))
	for _, t := range live {
		s.endWorkloadToken(&b, t)
	}
	b.addAll(s.audit(ctx, ev, nil, nil))
	if b.err != nil {
		return b.err
	}
	if err := s.transact(ctx, b.items, nil); err != nil {
		return fmt.Errorf("delete workload %s: %w", w.ID, err)
	}
	return nil
}

// endWorkloadToken adds the deletion of t, a token an exchange minted, to b:
// its record and its secret, whatever became of them meanwhile.
func (s *Store) endWorkloadToken(b *build, t tokensmith.Token) {
	pk, sk := recordKey(t)
	b.add(s.del(pk, sk, nil))
	b.add(s.del(secretPK(t.SecretHash), metaSK, nil))
}

// ErrUsed means a workload token was exchanged before: it is accepted once.
var ErrUsed = errors.New("store: the workload token was exchanged before")

// Use is the one exchange of a workload token: Key names the token (a hash
// of its issuer and jti, or of the token), remembered until Until.
type Use struct {
	Key   string
	Until time.Time
}

type usedItem struct {
	keys
	TTL int64 `dynamodbav:"expiresAt"`
}

func toUsedItem(u Use) usedItem {
	return usedItem{keys: keys{PK: usedPK(u.Key), SK: metaSK}, TTL: ttl(u.Until)}
}

// Exchange stores t, the token an exchange of workload w minted, its
// secret (with the site's rateLimit) and ev, marks use, and moves w to
// next (its next version and exchange window), in one transaction: ErrUsed
// when the workload token was exchanged before, ErrConflict when w changed
// or was deleted since it was read.
func (s *Store) Exchange(ctx context.Context, w, next tokensmith.Workload, t tokensmith.Token, rateLimit int64, use Use, ev tokensmith.Event) error {
	var b build
	b.add(s.put(toTokenItem(t), absent()))
	b.add(s.put(toSecretItem(t, "", rateLimit), absent()))
	b.add(s.update(sitePK(w.SiteID), workloadSK(w.ID),
		expression.Set(expression.Name("version"), expression.Value(next.Version)).
			Set(expression.Name("window"), expression.Value(next.Window)).
			Set(expression.Name("exchanges"), expression.Value(next.Exchanges)),
		condition(expression.AttributeExists(expression.Name(AttrPK)).And(expression.Name("version").Equal(expression.Value(w.Version))))))
	used := b.add(s.put(toUsedItem(use), absent()))
	b.addAll(s.audit(ctx, ev, nil, nil))
	if b.err != nil {
		return b.err
	}
	if err := s.transact(ctx, b.items, map[int]error{used: ErrUsed}); err != nil {
		return fmt.Errorf("exchange for workload %s: %w", w.ID, err)
	}
	return nil
}
