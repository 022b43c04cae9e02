package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Plans of a workspace.
const (
	PlanFree       = "free"
	PlanEnterprise = "enterprise"
)

// Roles a person can hold.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// Workspace is a tenant: it owns sites, people and workspace tokens.
type Workspace struct {
	ID           string    `dynamodbav:"id"`
	Slug         string    `dynamodbav:"slug"`
	Name         string    `dynamodbav:"name"`
	Plan         string    `dynamodbav:"plan"`
	CreatedOn    time.Time `dynamodbav:"createdOn"`
	TokenVersion int64     `dynamodbav:"tokenVersion"`
	auditCounters
}

// Site belongs to one workspace and owns site tokens.
type Site struct {
	ID            string     `dynamodbav:"id"`
	WorkspaceID   string     `dynamodbav:"workspaceId"`
	DisplayName   string     `dynamodbav:"displayName"`
	ShortName     string     `dynamodbav:"shortName"`
	TimeZone      string     `dynamodbav:"timeZone"`
	CreatedOn     time.Time  `dynamodbav:"createdOn"`
	LastUpdated   time.Time  `dynamodbav:"lastUpdated"`
	LastPublished *time.Time `dynamodbav:"lastPublished"`
	TokenVersion  int64      `dynamodbav:"tokenVersion"`
}

// User is a person, known by email.
type User struct {
	ID    string `dynamodbav:"id"`
	Email string `dynamodbav:"email"`
}

// Scope names what a membership is of: a workspace, or one site.
type Scope struct {
	WorkspaceID string
	SiteID      string // empty for a workspace membership
}

func (m Scope) pk() string {
	if m.SiteID != "" {
		return "SITE#" + m.SiteID
	}
	return "WS#" + m.WorkspaceID
}

type workspaceItem struct {
	keys
	Workspace
}

type slugItem struct {
	keys
	WorkspaceID string `dynamodbav:"workspaceId"`
}

type siteItem struct {
	keys
	Site
}

type userItem struct {
	keys
	User
}

type emailItem struct {
	keys
	UserID string `dynamodbav:"userId"`
}

type membershipItem struct {
	keys
	UserID string `dynamodbav:"userId"`
	Role   string `dynamodbav:"role"`
}

// NormalizeEmail is the form in which emails are stored and looked up.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CreateWorkspace stores ws; ErrExists when its id or slug is taken.
func (s *Store) CreateWorkspace(ctx context.Context, ws Workspace) error {
	if ws.AuditSeqs == nil {
		ws.AuditSeqs = map[string]int64{}
	}
	var b build
	b.add(s.put(workspaceItem{keys{PK: "WS#" + ws.ID, SK: metaSK}, ws}, absent()))
	b.add(s.put(slugItem{keys{PK: "SLUG#" + ws.Slug, SK: metaSK}, ws.ID}, absent()))
	if b.err != nil {
		return b.err
	}
	return s.transact(ctx, b.items, map[int]error{0: ErrExists, 1: ErrExists})
}

// Workspace reads a workspace by id.
func (s *Store) Workspace(ctx context.Context, id string) (Workspace, error) {
	var it workspaceItem
	if err := s.get(ctx, "WS#"+id, metaSK, &it); err != nil {
		return Workspace{}, fmt.Errorf("workspace %s: %w", id, err)
	}
	return it.Workspace, nil
}

// WorkspaceBySlug reads a workspace by slug.
func (s *Store) WorkspaceBySlug(ctx context.Context, slug string) (Workspace, error) {
	var it slugItem
	if err := s.get(ctx, "SLUG#"+slug, metaSK, &it); err != nil {
		return Workspace{}, fmt.Errorf("workspace slug %s: %w", slug, err)
	}
	return s.Workspace(ctx, it.WorkspaceID)
}

// SetPlan changes a workspace's plan and records ev with it.
func (s *Store) SetPlan(ctx context.Context, wsID, plan string, ev AuditEvent) error {
	var b build
	b.addAll(s.audit(ctx, ev, func(u expression.UpdateBuilder) expression.UpdateBuilder {
		return u.Set(expression.Name("plan"), expression.Value(plan))
	}, nil))
	if b.err != nil {
		return b.err
	}
	return s.transact(ctx, b.items, nil)
}

// CreateSite stores site; ErrExists when its id is taken.
func (s *Store) CreateSite(ctx context.Context, site Site) error {
	var b build
	b.add(s.put(siteItem{keys{PK: "SITE#" + site.ID, SK: metaSK, GSI1PK: "WS#" + site.WorkspaceID + "#SITES", GSI1SK: "SITE#" + site.ID}, site}, absent()))
	b.add(s.check("WS#"+site.WorkspaceID, metaSK, exists()))
	if b.err != nil {
		return b.err
	}
	return s.transact(ctx, b.items, map[int]error{0: ErrExists, 1: ErrNotFound})
}

// Site reads a site by id.
func (s *Store) Site(ctx context.Context, id string) (Site, error) {
	var it siteItem
	if err := s.get(ctx, "SITE#"+id, metaSK, &it); err != nil {
		return Site{}, fmt.Errorf("site %s: %w", id, err)
	}
	return it.Site, nil
}

// Sites lists the sites of a workspace.
func (s *Store) Sites(ctx context.Context, wsID string) ([]Site, error) {
	kc := expression.Key(AttrGSI1PK).Equal(expression.Value("WS#" + wsID + "#SITES"))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, fmt.Errorf("build query: %w", err)
	}
	var sites []Site
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
		sites = append(sites, it.Site)
		return nil
	})
	return sites, err
}

// UserByEmail finds a person by email.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	email = NormalizeEmail(email)
	var it emailItem
	if err := s.get(ctx, "EMAIL#"+email, metaSK, &it); err != nil {
		return User{}, fmt.Errorf("user %s: %w", email, err)
	}
	return User{ID: it.UserID, Email: email}, nil
}

// EnsureUser returns the person with email, creating them with newID when
// there is none.
func (s *Store) EnsureUser(ctx context.Context, email, newID string) (User, error) {
	email = NormalizeEmail(email)
	u, err := s.UserByEmail(ctx, email)
	if !errors.Is(err, ErrNotFound) {
		return u, err
	}
	u = User{ID: newID, Email: email}
	var b build
	b.add(s.put(emailItem{keys{PK: "EMAIL#" + email, SK: metaSK}, u.ID}, absent()))
	b.add(s.put(userItem{keys{PK: "USER#" + u.ID, SK: metaSK}, u}, absent()))
	if b.err != nil {
		return User{}, b.err
	}
	switch err := s.transact(ctx, b.items, map[int]error{0: ErrExists}); {
	case errors.Is(err, ErrExists):
		// Another request created the person first; theirs is the one.
		return s.UserByEmail(ctx, email)
	case err != nil:
		return User{}, fmt.Errorf("create user %s: %w", email, err)
	}
	return u, nil
}

// Role returns the role userID holds in m, or ErrNotFound.
func (s *Store) Role(ctx context.Context, m Scope, userID string) (string, error) {
	var it membershipItem
	if err := s.get(ctx, m.pk(), "MEMBER#"+userID, &it); err != nil {
		return "", fmt.Errorf("membership of %s in %s: %w", userID, m.pk(), err)
	}
	return it.Role, nil
}

// PutMembership gives userID role in m and records ev with it. prevRole is
// the role read before ("" for none); a concurrent change is ErrConflict.
func (s *Store) PutMembership(ctx context.Context, m Scope, userID, role, prevRole string, ev AuditEvent) error {
	cond := absent()
	if prevRole != "" {
		cond = condition(expression.Name("role").Equal(expression.Value(prevRole)))
	}
	var b build
	b.add(s.put(membershipItem{keys{PK: m.pk(), SK: "MEMBER#" + userID, GSI1PK: "USER#" + userID, GSI1SK: m.pk()}, userID, role}, cond))
	reasons := map[int]error{}
	if m.SiteID != "" {
		reasons[b.add(s.check(m.pk(), metaSK, exists()))] = ErrNotFound
	}
	b.addAll(s.audit(ctx, ev, nil, nil))
	if b.err != nil {
		return b.err
	}
	return s.transact(ctx, b.items, reasons)
}

// DeleteMembership removes userID from m and records ev with it.
func (s *Store) DeleteMembership(ctx context.Context, m Scope, userID string, ev AuditEvent) error {
	var b build
	b.add(s.del(m.pk(), "MEMBER#"+userID, exists()))
	b.addAll(s.audit(ctx, ev, nil, nil))
	if b.err != nil {
		return b.err
	}
	return s.transact(ctx, b.items, map[int]error{0: ErrNotFound})
}
