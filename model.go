package tokensmith

import (
	"strings"
	"time"

	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/token"
)

// The model below is tokensmith's domain: plain values with the methods that
// follow from their meaning alone. The store keeps them in DynamoDB items of
// its own, and the HTTP edge renders them as JSON types of its own, so that
// neither the table's format nor the wire format is fixed by these types.
// The root imports only the leaf packages token and scope, which import
// nothing of the repository's, so every package may import the root.

// Plan is a workspace's plan.
type Plan string

// Plans of a workspace.
const (
	PlanFree       Plan = "free"
	PlanEnterprise Plan = "enterprise"
)

// SitePlan is a site's plan, which sets the rate limit of its tokens.
type SitePlan string

// Plans of a site.
const (
	SitePlanStarter    SitePlan = "starter"
	SitePlanBasic      SitePlan = "basic"
	SitePlanCMS        SitePlan = "cms"
	SitePlanEcommerce  SitePlan = "ecommerce"
	SitePlanBusiness   SitePlan = "business"
	SitePlanEnterprise SitePlan = "enterprise"
)

// SitePlans lists every site plan, cheapest first.
var SitePlans = []SitePlan{SitePlanStarter, SitePlanBasic, SitePlanCMS, SitePlanEcommerce, SitePlanBusiness, SitePlanEnterprise}

// Rate limits in requests per window (a minute) of one token, as Webflow
// sets them by plan.
const (
	// DefaultSitePlan is the plan of a site created without one, and of a
	// site stored before sites had plans.
	DefaultSitePlan = SitePlanCMS
	// DefaultEnterpriseRateLimit is an enterprise site's limit until one is set.
	DefaultEnterpriseRateLimit int64 = 600
	// MaxRateLimit bounds an enterprise site's limit: the most a single
	// counter item takes in a minute (DynamoDB's 1,000 writes a second per
	// partition).
	MaxRateLimit int64 = 60000
	// WorkspaceTokenRateLimit is every workspace token's limit.
	WorkspaceTokenRateLimit int64 = 120
)

// Valid reports whether p is a site plan.
func (p SitePlan) Valid() bool {
	for _, q := range SitePlans {
		if p == q {
			return true
		}
	}
	return false
}

// RateLimit returns the limit of a token of a site on plan p; custom is an
// enterprise site's own limit, 0 for the default.
func (p SitePlan) RateLimit(custom int64) int64 {
	switch p {
	case SitePlanStarter, SitePlanBasic:
		return 60
	case SitePlanEnterprise:
		if custom > 0 {
			return custom
		}
		return DefaultEnterpriseRateLimit
	}
	return 120
}

// Role is what a person may do in a workspace or on a site.
type Role string

// Roles a person can hold.
const (
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Workspace is a tenant: it owns sites, people and workspace tokens.
type Workspace struct {
	ID        string
	Slug      string
	Name      string
	Plan      Plan
	CreatedOn time.Time
	// TokenVersion changes with every token created for the workspace; a
	// create that counted tokens at an older version loses.
	TokenVersion int64
	// Admins counts the workspace's accepted admins (Member.AcceptedAdmin);
	// a change that would take it from 1 to 0 is refused.
	Admins int64
	// MaxTokenLifetimeDays is the workspace's token lifetime policy: every
	// new secret of its site and workspace tokens must end within that
	// many days. 0 for no policy.
	MaxTokenLifetimeDays int64
}

// ExceedsPolicy reports whether t, at now, outlives what the workspace's
// policy allows a token made now: it has no fixed end, or one further than
// maxDays away. Without a policy (0) nothing exceeds it.
func (t Token) ExceedsPolicy(now time.Time, maxDays int64) bool {
	if maxDays <= 0 {
		return false
	}
	return t.ExpiresAt == nil || t.ExpiresAt.After(now.Add(time.Duration(maxDays)*24*time.Hour))
}

// Ref returns how audit events name w.
func (w Workspace) Ref() WorkspaceRef { return WorkspaceRef{ID: w.ID, Slug: w.Slug} }

// Site belongs to one workspace and owns site tokens.
type Site struct {
	ID            string
	WorkspaceID   string
	DisplayName   string
	ShortName     string
	TimeZone      string
	CreatedOn     time.Time
	LastUpdated   time.Time
	LastPublished *time.Time
	// Plan sets the rate limit of the site's tokens; empty is DefaultSitePlan.
	// API tokens never see it.
	Plan SitePlan
	// RateLimit is an enterprise site's own limit; 0 is the default.
	RateLimit int64
	// TokenVersion changes with every token created for the site and with
	// every plan change.
	TokenVersion int64
}

// TokenRateLimit returns the rate limit of the site's tokens.
func (s Site) TokenRateLimit() int64 {
	plan := s.Plan
	if plan == "" {
		plan = DefaultSitePlan
	}
	return plan.RateLimit(s.RateLimit)
}

// User is a person, known by the issuer of their user tokens and its
// subject (sub). Email is the verified address they last signed in with.
type User struct {
	ID      string
	Issuer  string
	Subject string
	Email   string
}

// Actor is the person as the actor of a change.
func (u User) Actor() Actor {
	return Actor{Type: ActorPerson, ID: u.ID, Email: u.Email}
}

// Person is a signed-in person as the services see them: who they are, and
// what they hold.
type Person struct {
	User        User
	Memberships []Membership
	// Invitations are the invitations made through the API to the
	// person's verified email that wait for their consent (Member.Pending).
	Invitations []Member
}

// Role returns the role the person holds in p, or "".
func (pn Person) Role(p Place) Role {
	for _, m := range pn.Memberships {
		if m.Place == p {
			return m.Role
		}
	}
	return ""
}

// Belongs reports whether the person is a member of workspace wsID or an
// administrator of one of its sites: someone who lacks a role there is
// told so (403) rather than told it does not exist (404).
func (pn Person) Belongs(wsID string) bool {
	for _, m := range pn.Memberships {
		if m.Place.WorkspaceID == wsID {
			return true
		}
	}
	return false
}

// Place is where a person acts: a workspace, or one of its sites, always
// with its workspace, since roles in a workspace reach its sites. It keys
// memberships. A token's owner is an Owner instead: one kind and one id,
// part of the store's keys, named by the route before the site's workspace
// is read.
type Place struct {
	WorkspaceID string
	SiteID      string // empty for a workspace membership
}

// IsSite reports whether p is a site rather than a workspace.
func (p Place) IsSite() bool { return p.SiteID != "" }

// Member is a membership as it is granted: to an email, an invitation,
// bound to a person (UserID) the first time someone with that verified email
// signs in. From then on only that person holds it.
type Member struct {
	ID      string
	Place   Place
	Email   string
	Role    Role
	UserID  string // empty until bound
	AddedOn time.Time
	AddedBy Actor
}

// Bound reports whether the invitation has been bound to a person.
func (m Member) Bound() bool { return m.UserID != "" }

// Limits of invitations made through the API (API.md section 10).
const (
	// InvitationLapse is how long an invitation made through the API waits
	// for its invitee; after it, the invitation lapses.
	InvitationLapse = 30 * 24 * time.Hour
	// InvitationsPerDay is how many invitations a workspace may make
	// through the API in a UTC day; an operator's are not counted.
	InvitationsPerDay = 50
)

// ByConsent reports whether m was granted through the API, by a person:
// it binds only when its invitee accepts it. An operator's invitation
// (tokenctl, the seeds) binds on the invitee's first sign-in instead, as
// the operator vouches for it.
func (m Member) ByConsent() bool { return m.AddedBy.Type == ActorPerson }

// Pending reports whether m waits for its invitee's consent at now: made
// through the API, unbound, and not lapsed.
func (m Member) Pending(now time.Time) bool {
	return m.ByConsent() && !m.Bound() && now.Before(m.AddedOn.Add(InvitationLapse))
}

// Lapsed reports whether m is an invitation through the API that its
// invitee left unaccepted for InvitationLapse.
func (m Member) Lapsed(now time.Time) bool {
	return m.ByConsent() && !m.Bound() && !now.Before(m.AddedOn.Add(InvitationLapse))
}

// AcceptedAdmin reports whether m is an admin of a workspace, bound to a
// person: what the workspace's last-admin guard counts. An invitation no
// one has accepted cannot act, so it does not keep a workspace administered.
func (m Member) AcceptedAdmin() bool {
	return m.Role == RoleAdmin && !m.Place.IsSite() && m.Bound()
}

// Membership is what a bound person holds: their role in a place, by way
// of the member MemberID. It is the read shape of the index of what a
// person holds, kept in the person's partition beside the grants (Member)
// it mirrors, so that sign-in reads their roles in one consistent query.
type Membership struct {
	Place    Place
	UserID   string
	MemberID string
	Role     Role
}

// Owner is what a token belongs to: a site or a workspace, as one kind and
// one id, as the store keys a token and the route names it. It is not a
// Place: a site's workspace is known only once the site is read.
type Owner struct {
	Kind token.Kind
	ID   string
}

// Token is a token's record: everything about it but the secret, which is
// kept only as the SHA-256 in SecretHash.
type Token struct {
	ID          string
	Kind        token.Kind
	Name        string
	SiteID      string // site tokens
	WorkspaceID string
	Permissions scope.Permissions
	Scope       string
	DisplayHint string
	SecretHash  string
	// PrevSecretHash is the secret a regenerate with a grace period replaced.
	PrevSecretHash string
	CreatedOn      time.Time
	CreatedBy      Actor
	LastUsed       *time.Time
	UseCount       int64
	// ExpiresOn is when the token stops working unless used again: the
	// earlier of ExpiresAt and the inactivity expiry (InactiveUntil).
	ExpiresOn time.Time
	// ExpiresAt is the fixed end of the token's current secret, chosen when
	// it was created or regenerated; nil for none.
	ExpiresAt *time.Time
	// LifetimeDays is the lifetime chosen when the token was created, in
	// days; 0 for none. A regenerate that chooses none gives the new secret
	// as long a lifetime, from then.
	LifetimeDays int64
	// AllowedIPs are the CIDR ranges (canonical, as allowlist.Parse writes
	// them) the token may be used from; empty allows any address. They are
	// set when the token is created and never change.
	AllowedIPs []string
	// ScopeLastUsed is when each scope of the token was last exercised by a
	// successful call, as of the last usage write; a scope never used is
	// absent.
	ScopeLastUsed map[string]time.Time
	// WorkloadID names the trusted workload whose exchange minted the token
	// (API.md section 15): such a token is kept under its workload, not
	// among the site's tokens, and its ExpiresOn is fixed.
	WorkloadID string
	// OverPolicy is set on the tokens a list returns: whether the token
	// exceeds its workspace's lifetime policy (ExceedsPolicy) as of then.
	OverPolicy bool
}

// Owner returns the site or workspace the token belongs to.
func (t Token) Owner() Owner { return ownerOf(t.Kind, t.SiteID, t.WorkspaceID) }

// Active reports whether the token works at now. Expiry is checked on every
// read, since TTL removes expired items only eventually.
func (t Token) Active(now time.Time) bool { return live(now, t.ExpiresOn, t.ExpiresAt) }

// InactiveUntil returns when the token expires for inactivity: Inactivity
// after its last recorded use, or after its creation while unused.
func (t Token) InactiveUntil() time.Time {
	if t.LastUsed != nil {
		return t.LastUsed.Add(token.Inactivity)
	}
	return t.CreatedOn.Add(token.Inactivity)
}

// Reasons a token expired, as token_expired's payload.reason names them.
const (
	ExpiryFixed    = "fixed"    // its ExpiresAt was reached
	ExpiryInactive = "inactive" // unused for token.Inactivity
)

// ExpiryReason returns why t expires at ExpiresOn: ExpiryFixed when that is
// its fixed end, ExpiryInactive otherwise.
func (t Token) ExpiryReason() string {
	if t.ExpiresAt != nil && !t.ExpiresOn.Before(*t.ExpiresAt) {
		return ExpiryFixed
	}
	return ExpiryInactive
}

// EarlierEnd returns the end of a token whose inactivity expiry is
// inactive and whose fixed end is fixed (nil for none): the earlier.
func EarlierEnd(inactive time.Time, fixed *time.Time) time.Time {
	if fixed != nil && fixed.Before(inactive) {
		return *fixed
	}
	return inactive
}

// live reports whether something that ends at expiresOn, and at fixed
// (nil for never), still works at now. Both are checked, although
// expiresOn is never after fixed, so that a record written by a usage
// write that missed the fixed end still stops at it.
func live(now, expiresOn time.Time, fixed *time.Time) bool {
	return now.Before(expiresOn) && (fixed == nil || now.Before(*fixed))
}

// Secret is what the authorizer reads, in one lookup, for a presented
// secret: the token's identity and scopes, which never change, its expiry,
// and what introspection shows of it (createdOn, lastUsed), so that a
// decision carries everything an introspection answers.
type Secret struct {
	Hash        string
	TokenID     string
	Kind        token.Kind
	SiteID      string // site tokens
	WorkspaceID string
	Scope       string
	// CreatedOn is the token's; zero on a secret stored before secrets
	// carried it.
	CreatedOn time.Time
	// LastUsed is the token's last recorded use, as of the last usage write.
	LastUsed  *time.Time
	ExpiresOn time.Time
	// ExpiresAt is the token's fixed end as of this secret; nil for none.
	ExpiresAt *time.Time
	// GraceUntil is set on a secret replaced by a regenerate with a grace period.
	GraceUntil *time.Time
	// Plan is the plan of a workspace token's workspace, written on its
	// secrets when the token is created and by every plan change, so that
	// the authorizer learns it from the one read it makes. Site tokens'
	// secrets carry none.
	Plan Plan
	// RateLimit is a site token's limit, written on its secrets when the
	// token is created or regenerated and by every plan change of its site;
	// 0 on a secret stored before secrets carried it.
	RateLimit int64
	// AllowedIPs is the token's IP allowlist, carried by each of its
	// secrets so that the authorizer enforces it from the one read it makes.
	AllowedIPs []string
	// WorkloadID is the trusted workload of a token an exchange minted.
	WorkloadID string
}

// TokenRateLimit returns the rate limit of the secret's token: its site's,
// as the secret carries it (a secret stored before secrets carried it has
// the default plan's), or the workspace tokens' one limit.
func (s Secret) TokenRateLimit() int64 {
	if s.Kind == token.KindWorkspace {
		return WorkspaceTokenRateLimit
	}
	if s.RateLimit > 0 {
		return s.RateLimit
	}
	return DefaultSitePlan.RateLimit(0)
}

// Owner returns the site or workspace the secret's token belongs to.
func (s Secret) Owner() Owner { return ownerOf(s.Kind, s.SiteID, s.WorkspaceID) }

// Active reports whether the secret works at now: not expired, and not past
// the grace period of a regenerate.
func (s Secret) Active(now time.Time) bool {
	return live(now, s.ExpiresOn, s.ExpiresAt) && (s.GraceUntil == nil || now.Before(*s.GraceUntil))
}

func ownerOf(k token.Kind, siteID, workspaceID string) Owner {
	if k == token.KindSite {
		return Owner{token.KindSite, siteID}
	}
	return Owner{token.KindWorkspace, workspaceID}
}

// ActorType says who made a change.
type ActorType string

// Actor types of audit events.
const (
	ActorPerson ActorType = "person"
	ActorToken  ActorType = "token"
	ActorSystem ActorType = "system"
	// ActorPartner is a secret-scanning partner reporting a leaked token;
	// its id names the partner (PartnerGitHub).
	ActorPartner ActorType = "partner"
	// ActorWorkload is a trusted workload exchanging its OIDC token for a
	// token of its site; its id is the workload's.
	ActorWorkload ActorType = "workload"
)

// PartnerGitHub is the id of GitHub as a secret-scanning partner.
const PartnerGitHub = "github"

// Actor is who made a change: a person, a token (revoking itself), a
// secret-scanning partner (revoking a leaked token), or the system
// (operators and expiry).
type Actor struct {
	Type  ActorType
	ID    string
	Email string
}

// WorkspaceRef names a workspace in an audit event.
type WorkspaceRef struct {
	ID   string
	Slug string
}

// Event is one entry of a workspace's audit log. It is only ever written in
// the same transaction as the change it records.
//
// Each event has a place in its workspace's log, Seq (1, 2, ...), and in the
// log of its type, TypeSeq, both assigned when it is written; timestamps
// never go backwards in either.
type Event struct {
	ID        string
	Seq       int64
	TypeSeq   int64
	Type      string
	SubType   string
	Timestamp time.Time
	Actor     Actor
	Workspace WorkspaceRef
	Payload   map[string]any
}

// Limits of trusted workloads and their exchanges (API.md section 15).
const (
	// MaxWorkloads is how many workloads a site may trust.
	MaxWorkloads = 20
	// MinWorkloadTokenLifetime, MaxWorkloadTokenLifetime and
	// DefaultWorkloadTokenLifetime bound the life of a token an exchange mints.
	MinWorkloadTokenLifetime     = 300 * time.Second
	MaxWorkloadTokenLifetime     = 3600 * time.Second
	DefaultWorkloadTokenLifetime = 900 * time.Second
	// ExchangesPerMinute is how many exchanges a workload may make in a window.
	ExchangesPerMinute = 60
	// WorkloadTokenSkew is the clock skew allowed for a workload token's
	// exp, nbf and iat.
	WorkloadTokenSkew = 60 * time.Second
	// MaxWorkloadTokenAge is how long after its iat a workload token is
	// still exchanged.
	MaxWorkloadTokenAge = 15 * time.Minute
)

// Workload is a workload a site trusts: what its platform's OIDC tokens
// must say (issuer, audience, subject, claims) to be exchanged for a
// short-lived token of the site with Permissions.
type Workload struct {
	ID          string
	SiteID      string
	WorkspaceID string
	Name        string
	Issuer      string
	Audience    string
	// Subject is the exact sub, or a pattern in which '*' matches any run
	// of characters other than ':' (MatchSubject).
	Subject string
	// Claims are exact matches on other string claims; none for nil.
	Claims      map[string]string
	Permissions scope.Permissions
	Scope       string
	// TokenLifetime is how long a token an exchange mints works.
	TokenLifetime time.Duration
	CreatedOn     time.Time
	CreatedBy     Actor
	// Window is the Unix second the workload's current exchange window
	// began, and Exchanges how many exchanges it counted; Version changes
	// with every exchange, so that one that counted at an older version
	// loses, and a delete that found the live tokens at an older version
	// too.
	Window    int64
	Exchanges int64
	Version   int64
}

// MatchSubject reports whether sub matches pattern: equal, where '*'
// stands for any run (empty too) of characters other than ':', so that
// "repo:octo/site:ref:refs/heads/*" matches every branch of that
// repository and no other repository.
func MatchSubject(pattern, sub string) bool {
	// A '*' never matches ':', so the two have their ':' in the same
	// places, and each part between them matches on its own.
	ps, ss := strings.Split(pattern, ":"), strings.Split(sub, ":")
	if len(ps) != len(ss) {
		return false
	}
	for i := range ps {
		if !glob(ps[i], ss[i]) {
			return false
		}
	}
	return true
}

// glob reports whether s matches p, where '*' in p matches any run of
// characters: the greedy match that returns to the last '*', in time
// bounded by len(p)*len(s).
func glob(p, s string) bool {
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			mark++
			pi, si = star+1, mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
