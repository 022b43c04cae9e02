package tokensmith

import (
	"context"
	"time"

	"github.com/tokensmith/tokensmith/internal/scope"
)

// TokenService manages API tokens: what the tokens function's edge calls.
// A person manages the tokens of an owner they administer; an API token
// introspects or revokes itself; a secret-scanning partner reports leaks.
type TokenService interface {
	// Create mints a token for owner. With an idempotency key, a retry with
	// the same input returns the first Minted again (replayed is true).
	Create(ctx context.Context, c Caller, owner Owner, in TokenInput, idemKey string) (m Minted, replayed bool, err error)
	List(ctx context.Context, c Caller, owner Owner) ([]Token, error)
	Get(ctx context.Context, c Caller, owner Owner, id string) (Token, error)
	Revoke(ctx context.Context, c Caller, owner Owner, id string) error
	Regenerate(ctx context.Context, c Caller, owner Owner, id string, in RegenerateInput) (Minted, error)
	// Introspect reads the token the caller's own secret belongs to. It
	// takes no Caller: the authorizer has verified the secret and names the
	// token, which is all it reads, and any API token may introspect itself.
	Introspect(ctx context.Context, owner Owner, id string) (Token, error)
	RevokeBySecret(ctx context.Context, secret string) (bool, error)
	RevokeLeaked(ctx context.Context, partner, secret, url string) (bool, error)

	// CreateWorkload, Workloads, Workload and DeleteWorkload manage the
	// workloads a site trusts (API.md section 15); whoever may manage the
	// site's tokens may manage them. Workload also counts the live tokens
	// the workload's exchanges minted; deleting a workload ends them.
	CreateWorkload(ctx context.Context, c Caller, siteID string, in WorkloadInput) (Workload, error)
	Workloads(ctx context.Context, c Caller, siteID string) ([]Workload, error)
	Workload(ctx context.Context, c Caller, siteID, id string) (w Workload, liveTokens int64, err error)
	DeleteWorkload(ctx context.Context, c Caller, siteID, id string) error
	// Exchange trades a trusted workload's OIDC token for a short-lived
	// token of its site (RFC 8693). It takes no Caller: the workload's
	// token is its credential.
	Exchange(ctx context.Context, in ExchangeInput) (Exchanged, error)
}

// PeopleService is a person's view of people: GET /v2/me and the members
// of the workspaces and sites they administer.
type PeopleService interface {
	Me(ctx context.Context, c Caller) (Me, error)
	Members(ctx context.Context, c Caller, where Place) ([]Member, error)
	AddMember(ctx context.Context, c Caller, where Place, email string, role Role) (Member, error)
	UpdateMember(ctx context.Context, c Caller, where Place, id string, role Role) (Member, error)
	RemoveMember(ctx context.Context, c Caller, where Place, id string) error
	// AcceptInvitation binds the invitation id waiting for the person c,
	// and returns what they then hold; DeclineInvitation drops it.
	AcceptInvitation(ctx context.Context, c Caller, id string) (Me, error)
	DeclineInvitation(ctx context.Context, c Caller, id string) error
	// WorkspaceSettings returns the settings of workspace id, to anyone who
	// belongs to it; UpdateWorkspaceSettings changes them, as its admin.
	WorkspaceSettings(ctx context.Context, c Caller, id string) (Workspace, error)
	UpdateWorkspaceSettings(ctx context.Context, c Caller, id string, in SettingsInput) (Workspace, error)
}

// SettingsInput is a change of a workspace's settings; a nil field is
// left as it is.
type SettingsInput struct {
	// MaxTokenLifetimeDays is the new policy: a number of days, or 0 for
	// none.
	MaxTokenLifetimeDays *int64
}

// SiteService is the data API: the sites an API token may read.
type SiteService interface {
	List(ctx context.Context, c Caller) ([]Site, error)
	Get(ctx context.Context, c Caller, id string) (Site, error)
}

// AuditService reads a workspace's audit log.
type AuditService interface {
	List(ctx context.Context, c Caller, workspaceIDOrSlug string, q AuditQuery) (AuditPage, error)
}

// TokenInput is what a create asks for.
type TokenInput struct {
	Name        string
	Permissions scope.Permissions
	// AllowedIPs are the CIDR ranges the token may be used from; none
	// allows any address.
	AllowedIPs []string
	// ExpiresInDays is the token's lifetime, nil for none: its ExpiresAt
	// is that many days after its creation.
	ExpiresInDays *int64
}

// RegenerateInput is what a regenerate asks for.
type RegenerateInput struct {
	// GracePeriodSeconds is how long the old secret keeps working.
	GracePeriodSeconds int64
	// ExpiresInDays is the new secret's lifetime; nil for the one the
	// token was created with, from now.
	ExpiresInDays *int64
}

// WorkloadInput is what a create of a trusted workload asks for.
// TokenLifetimeSeconds is nil when the request names none.
type WorkloadInput struct {
	Name                 string
	Issuer               string
	Audience             string
	Subject              string
	Claims               map[string]string
	Permissions          scope.Permissions
	TokenLifetimeSeconds *int64
}

// ExchangeInput is a token exchange as API.md section 15 takes it: the
// workload's token, the site it asks a token of, and the scopes it asks
// for (nil for all of its workload's).
type ExchangeInput struct {
	SubjectToken string
	Resource     string
	Scope        []string
}

// Exchanged is the token an exchange minted, with its secret: only ever in
// the exchange's response.
type Exchanged struct {
	Secret string
	Token  Token
}

// Minted is a token with its secret: only ever in the response that
// creates or regenerates it (or an idempotent replay of that response).
type Minted struct {
	Secret string
	Token  Token
}

// Me is what GET /v2/me shows a person.
type Me struct {
	User        User
	Workspaces  []MyWorkspace
	Sites       []MySite
	Invitations []MyInvitation
}

// MyInvitation is an invitation waiting for the person's consent, with
// the workspace it is to and, for a site administrator, the site.
type MyInvitation struct {
	Member    Member
	Workspace Workspace
	Site      *Site
}

// MyWorkspace is a workspace the person belongs to, with their role.
type MyWorkspace struct {
	Workspace Workspace
	Role      Role
}

// MySite is a site the person can see: every site of their workspaces, and
// the sites they administer.
type MySite struct {
	Site            Site
	CanManageTokens bool
}

// AuditQuery selects a page of a workspace's audit log.
type AuditQuery struct {
	EventType string     // "" for every type
	From, To  *time.Time // From inclusive, To exclusive; nil for unbounded
	Desc      bool
	Limit     int
	Offset    int // events to skip, 0 or more; at or past the total, none are read
}

// AuditPage is a page of events and the total the query matches.
type AuditPage struct {
	Events []Event
	Total  int64
	// ReadCapacity is the read capacity the page consumed, as DynamoDB
	// reports it.
	ReadCapacity float64
}
