package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/token"
)

// This file holds the items as the table stores them, and their conversion
// to and from the model of the root package. The attribute names are the
// table's format: changing one changes what is already stored.

// keys are the key attributes every item carries.
type keys struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	GSI1PK string `dynamodbav:"GSI1PK,omitempty"`
	GSI1SK string `dynamodbav:"GSI1SK,omitempty"`
}

type actorItem struct {
	Type  string `dynamodbav:"type"`
	ID    string `dynamodbav:"id,omitempty"`
	Email string `dynamodbav:"email,omitempty"`
}

func toActorItem(a tokensmith.Actor) actorItem {
	return actorItem{Type: string(a.Type), ID: a.ID, Email: a.Email}
}

func (a actorItem) actor() tokensmith.Actor {
	return tokensmith.Actor{Type: tokensmith.ActorType(a.Type), ID: a.ID, Email: a.Email}
}

type tokenItem struct {
	keys
	ID             string            `dynamodbav:"id"`
	Kind           token.Kind        `dynamodbav:"kind"`
	Name           string            `dynamodbav:"name"`
	SiteID         string            `dynamodbav:"siteId,omitempty"`
	WorkspaceID    string            `dynamodbav:"workspaceId"`
	Permissions    scope.Permissions `dynamodbav:"permissions"`
	Scope          string            `dynamodbav:"scope"`
	DisplayHint    string            `dynamodbav:"displayHint"`
	SecretHash     string            `dynamodbav:"secretHash"`
	PrevSecretHash string            `dynamodbav:"prevSecretHash,omitempty"`
	CreatedOn      time.Time         `dynamodbav:"createdOn"`
	CreatedBy      actorItem         `dynamodbav:"createdBy"`
	LastUsed       *time.Time        `dynamodbav:"lastUsed,omitempty"`
	UseCount       int64             `dynamodbav:"useCount"`
	ExpiresOn      time.Time         `dynamodbav:"expiresOn"`
	FixedExpiry    *time.Time        `dynamodbav:"fixedExpiry,omitempty"`
	LifetimeDays   int64             `dynamodbav:"lifetimeDays,omitempty"`
	TTL            int64             `dynamodbav:"expiresAt"`
	AllowedIPs     []string          `dynamodbav:"allowedIps,omitempty"`
	// ScopeLastUsed is written as an empty map when the token is created, so
	// that a usage write can set one scope's time in it (RecordUse).
	ScopeLastUsed map[string]time.Time `dynamodbav:"scopeLastUsed"`
	WorkloadID    string               `dynamodbav:"workloadId,omitempty"`
}

func toTokenItem(t tokensmith.Token) tokenItem {
	pk, sk := recordKey(t)
	it := tokenItem{
		keys: keys{PK: pk, SK: sk}, WorkloadID: t.WorkloadID,
		ID: t.ID, Kind: t.Kind, Name: t.Name, SiteID: t.SiteID, WorkspaceID: t.WorkspaceID,
		Permissions: t.Permissions, Scope: t.Scope, DisplayHint: t.DisplayHint,
		SecretHash: t.SecretHash, PrevSecretHash: t.PrevSecretHash, CreatedOn: t.CreatedOn,
		CreatedBy: toActorItem(t.CreatedBy), LastUsed: t.LastUsed, UseCount: t.UseCount,
		ExpiresOn: t.ExpiresOn, FixedExpiry: t.ExpiresAt, LifetimeDays: t.LifetimeDays, TTL: ttl(t.ExpiresOn),
		AllowedIPs: t.AllowedIPs, ScopeLastUsed: t.ScopeLastUsed,
	}
	if it.ScopeLastUsed == nil {
		it.ScopeLastUsed = map[string]time.Time{}
	}
	return it
}

func (it tokenItem) token() tokensmith.Token {
	return tokensmith.Token{
		ID: it.ID, Kind: it.Kind, Name: it.Name, SiteID: it.SiteID, WorkspaceID: it.WorkspaceID,
		Permissions: it.Permissions, Scope: it.Scope, DisplayHint: it.DisplayHint,
		SecretHash: it.SecretHash, PrevSecretHash: it.PrevSecretHash, CreatedOn: it.CreatedOn,
		CreatedBy: it.CreatedBy.actor(), LastUsed: it.LastUsed, UseCount: it.UseCount, ExpiresOn: it.ExpiresOn,
		ExpiresAt: it.FixedExpiry, LifetimeDays: it.LifetimeDays, AllowedIPs: it.AllowedIPs, ScopeLastUsed: it.ScopeLastUsed,
		WorkloadID: it.WorkloadID,
	}
}

type secretItem struct {
	keys
	Hash        string     `dynamodbav:"hash"`
	TokenID     string     `dynamodbav:"tokenId"`
	Kind        token.Kind `dynamodbav:"kind"`
	SiteID      string     `dynamodbav:"siteId,omitempty"`
	WorkspaceID string     `dynamodbav:"workspaceId"`
	Scope       string     `dynamodbav:"scope"`
	CreatedOn   time.Time  `dynamodbav:"createdOn"`
	LastUsed    *time.Time `dynamodbav:"lastUsed,omitempty"`
	ExpiresOn   time.Time  `dynamodbav:"expiresOn"`
	FixedExpiry *time.Time `dynamodbav:"fixedExpiry,omitempty"`
	GraceUntil  *time.Time `dynamodbav:"graceUntil,omitempty"`
	Plan        string     `dynamodbav:"plan,omitempty"`
	RateLimit   int64      `dynamodbav:"rateLimit,omitempty"`
	TTL         int64      `dynamodbav:"expiresAt"`
	AllowedIPs  []string   `dynamodbav:"allowedIps,omitempty"`
	WorkloadID  string     `dynamodbav:"workloadId,omitempty"`
}

// toSecretItem is the item of t's current secret. It carries what
// introspection shows of t, so that the authorizer's one read answers it,
// and plan, the workspace's plan, which only a workspace token's secret
// carries, and rateLimit, the site's, which only a site token's carries.
func toSecretItem(t tokensmith.Token, plan tokensmith.Plan, rateLimit int64) secretItem {
	it := secretItem{
		keys: keys{PK: secretPK(t.SecretHash), SK: metaSK},
		Hash: t.SecretHash, TokenID: t.ID, Kind: t.Kind, SiteID: t.SiteID, WorkspaceID: t.WorkspaceID,
		Scope: t.Scope, CreatedOn: t.CreatedOn, LastUsed: t.LastUsed, ExpiresOn: t.ExpiresOn, FixedExpiry: t.ExpiresAt,
		TTL: ttl(t.ExpiresOn), AllowedIPs: t.AllowedIPs, WorkloadID: t.WorkloadID,
	}
	if t.Kind == token.KindWorkspace {
		it.Plan = string(plan)
	} else {
		it.RateLimit = rateLimit
	}
	return it
}

func (it secretItem) secret() tokensmith.Secret {
	return tokensmith.Secret{
		Hash: it.Hash, TokenID: it.TokenID, Kind: it.Kind, SiteID: it.SiteID, WorkspaceID: it.WorkspaceID,
		Scope: it.Scope, CreatedOn: it.CreatedOn, LastUsed: it.LastUsed, ExpiresOn: it.ExpiresOn, ExpiresAt: it.FixedExpiry, GraceUntil: it.GraceUntil,
		Plan: tokensmith.Plan(it.Plan), RateLimit: it.RateLimit, AllowedIPs: it.AllowedIPs, WorkloadID: it.WorkloadID,
	}
}

type idempotencyItem struct {
	keys
	KeyHash   string `dynamodbav:"keyHash"`
	BodyHash  string `dynamodbav:"bodyHash"`
	Sealed    []byte `dynamodbav:"sealed"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
}

func toIdempotencyItem(i Idempotency) idempotencyItem {
	return idempotencyItem{
		keys:    keys{PK: idemPK(i.KeyHash), SK: metaSK},
		KeyHash: i.KeyHash, BodyHash: i.BodyHash, Sealed: i.Sealed, ExpiresAt: i.ExpiresAt,
	}
}

// expiredItem marks a token whose expiry is recorded.
type expiredItem struct {
	keys
	TokenID string `dynamodbav:"tokenId"`
	TTL     int64  `dynamodbav:"expiresAt"`
}

// toExpiredItem is the mark of tokenID's expiry, recorded at. Stream records
// live 24 hours; the mark outlives every redelivery.
func toExpiredItem(tokenID string, at time.Time) expiredItem {
	return expiredItem{keys: keys{PK: expiredPK(tokenID), SK: metaSK}, TokenID: tokenID, TTL: ttl(at.Add(30 * 24 * time.Hour))}
}

// leakedItem marks a secret revoked on a leak report, by its hash, for as
// long as the reporter may deliver the report again.
type leakedItem struct {
	keys
	TokenID   string    `dynamodbav:"tokenId"`
	RevokedOn time.Time `dynamodbav:"revokedOn"`
	TTL       int64     `dynamodbav:"expiresAt"`
}

// toLeakedItem marks the secret hash of tokenID revoked at on a leak
// report, until until.
func toLeakedItem(hash, tokenID string, at, until time.Time) leakedItem {
	return leakedItem{keys: keys{PK: leakedPK(hash), SK: metaSK}, TokenID: tokenID, RevokedOn: at, TTL: ttl(until)}
}

// auditCounters is what the workspace item keeps of its audit log.
type auditCounters struct {
	AuditSeq  int64            `dynamodbav:"auditSeq"`
	AuditSeqs map[string]int64 `dynamodbav:"auditSeqs"`
	AuditTime time.Time        `dynamodbav:"auditTime"`
}

type workspaceItem struct {
	keys
	ID           string    `dynamodbav:"id"`
	Slug         string    `dynamodbav:"slug"`
	Name         string    `dynamodbav:"name"`
	Plan         string    `dynamodbav:"plan"`
	CreatedOn    time.Time `dynamodbav:"createdOn"`
	TokenVersion int64     `dynamodbav:"tokenVersion"`
	Admins       int64     `dynamodbav:"admins"`
	MaxLifetime  int64     `dynamodbav:"maxTokenLifetimeDays,omitempty"`
	auditCounters
}

func toWorkspaceItem(ws tokensmith.Workspace) workspaceItem {
	return workspaceItem{
		keys: keys{PK: workspacePK(ws.ID), SK: metaSK},
		ID:   ws.ID, Slug: ws.Slug, Name: ws.Name, Plan: string(ws.Plan), CreatedOn: ws.CreatedOn,
		TokenVersion: ws.TokenVersion, Admins: ws.Admins, MaxLifetime: ws.MaxTokenLifetimeDays,
		auditCounters: auditCounters{AuditSeqs: map[string]int64{}},
	}
}

func (it workspaceItem) workspace() tokensmith.Workspace {
	return tokensmith.Workspace{
		ID: it.ID, Slug: it.Slug, Name: it.Name, Plan: tokensmith.Plan(it.Plan), CreatedOn: it.CreatedOn,
		TokenVersion: it.TokenVersion, Admins: it.Admins, MaxTokenLifetimeDays: it.MaxLifetime,
	}
}

type slugItem struct {
	keys
	WorkspaceID string `dynamodbav:"workspaceId"`
}

func toSlugItem(ws tokensmith.Workspace) slugItem {
	return slugItem{keys: keys{PK: slugPK(ws.Slug), SK: metaSK}, WorkspaceID: ws.ID}
}

type siteItem struct {
	keys
	ID            string     `dynamodbav:"id"`
	WorkspaceID   string     `dynamodbav:"workspaceId"`
	DisplayName   string     `dynamodbav:"displayName"`
	ShortName     string     `dynamodbav:"shortName"`
	TimeZone      string     `dynamodbav:"timeZone"`
	CreatedOn     time.Time  `dynamodbav:"createdOn"`
	LastUpdated   time.Time  `dynamodbav:"lastUpdated"`
	LastPublished *time.Time `dynamodbav:"lastPublished"`
	Plan          string     `dynamodbav:"plan,omitempty"`
	RateLimit     int64      `dynamodbav:"rateLimit,omitempty"`
	TokenVersion  int64      `dynamodbav:"tokenVersion"`
}

func toSiteItem(s tokensmith.Site) siteItem {
	return siteItem{
		keys: keys{PK: sitePK(s.ID), SK: metaSK, GSI1PK: workspaceSitesGSI1PK(s.WorkspaceID), GSI1SK: sitePK(s.ID)},
		ID:   s.ID, WorkspaceID: s.WorkspaceID, DisplayName: s.DisplayName, ShortName: s.ShortName,
		TimeZone: s.TimeZone, CreatedOn: s.CreatedOn, LastUpdated: s.LastUpdated, LastPublished: s.LastPublished,
		Plan: string(s.Plan), RateLimit: s.RateLimit, TokenVersion: s.TokenVersion,
	}
}

func (it siteItem) site() tokensmith.Site {
	return tokensmith.Site{
		ID: it.ID, WorkspaceID: it.WorkspaceID, DisplayName: it.DisplayName, ShortName: it.ShortName,
		TimeZone: it.TimeZone, CreatedOn: it.CreatedOn, LastUpdated: it.LastUpdated, LastPublished: it.LastPublished,
		Plan: tokensmith.SitePlan(it.Plan), RateLimit: it.RateLimit, TokenVersion: it.TokenVersion,
	}
}

type userItem struct {
	keys
	ID      string `dynamodbav:"id"`
	Issuer  string `dynamodbav:"issuer"`
	Subject string `dynamodbav:"sub"`
	Email   string `dynamodbav:"email"`
}

func toUserItem(u tokensmith.User) userItem {
	return userItem{keys: keys{PK: userPK(u.ID), SK: metaSK}, ID: u.ID, Issuer: u.Issuer, Subject: u.Subject, Email: u.Email}
}

func (it userItem) user() tokensmith.User {
	return tokensmith.User{ID: it.ID, Issuer: it.Issuer, Subject: it.Subject, Email: it.Email}
}

// identityItem finds a person by the issuer and subject of their user tokens.
type identityItem struct {
	keys
	UserID string `dynamodbav:"userId"`
}

func toIdentityItem(u tokensmith.User) identityItem {
	return identityItem{keys: keys{PK: identityPK(u.Issuer, u.Subject), SK: metaSK}, UserID: u.ID}
}

// memberItem is a membership as granted, in its place's partition.
type memberItem struct {
	keys
	ID          string    `dynamodbav:"memberId"`
	WorkspaceID string    `dynamodbav:"workspaceId"`
	SiteID      string    `dynamodbav:"siteId,omitempty"`
	Email       string    `dynamodbav:"email"`
	Role        string    `dynamodbav:"role"`
	UserID      string    `dynamodbav:"userId,omitempty"`
	AddedOn     time.Time `dynamodbav:"addedOn"`
	AddedBy     actorItem `dynamodbav:"addedBy"`
}

func toMemberItem(m tokensmith.Member) memberItem {
	return memberItem{
		keys: keys{PK: placePK(m.Place), SK: memberSK(m.ID)},
		ID:   m.ID, WorkspaceID: m.Place.WorkspaceID, SiteID: m.Place.SiteID, Email: m.Email, Role: string(m.Role),
		UserID: m.UserID, AddedOn: m.AddedOn, AddedBy: toActorItem(m.AddedBy),
	}
}

func (it memberItem) member() tokensmith.Member {
	return tokensmith.Member{
		ID: it.ID, Place: tokensmith.Place{WorkspaceID: it.WorkspaceID, SiteID: it.SiteID}, Email: it.Email,
		Role: tokensmith.Role(it.Role), UserID: it.UserID, AddedOn: it.AddedOn, AddedBy: it.AddedBy.actor(),
	}
}

// invitationItem is a member by email, in the email's partition: it keeps
// an email to one membership per place, and lets a person who signs in find
// the invitations waiting for their email. UserID is set when bound.
type invitationItem struct {
	keys
	MemberID    string `dynamodbav:"memberId"`
	WorkspaceID string `dynamodbav:"workspaceId"`
	SiteID      string `dynamodbav:"siteId,omitempty"`
	UserID      string `dynamodbav:"userId,omitempty"`
}

func toInvitationItem(m tokensmith.Member) invitationItem {
	return invitationItem{
		keys:     keys{PK: emailPK(m.Email), SK: placePK(m.Place)},
		MemberID: m.ID, WorkspaceID: m.Place.WorkspaceID, SiteID: m.Place.SiteID, UserID: m.UserID,
	}
}

// holderItem is what a bound person holds in a place, in the person's
// partition, so that one strongly consistent read answers who may do what.
type holderItem struct {
	keys
	MemberID    string `dynamodbav:"memberId"`
	WorkspaceID string `dynamodbav:"workspaceId"`
	SiteID      string `dynamodbav:"siteId,omitempty"`
	Role        string `dynamodbav:"role"`
}

func toHolderItem(m tokensmith.Membership) holderItem {
	return holderItem{
		keys:     keys{PK: userPK(m.UserID), SK: placePK(m.Place)},
		MemberID: m.MemberID, WorkspaceID: m.Place.WorkspaceID, SiteID: m.Place.SiteID, Role: string(m.Role),
	}
}

func (it holderItem) membership(userID string) tokensmith.Membership {
	return tokensmith.Membership{
		Place:  tokensmith.Place{WorkspaceID: it.WorkspaceID, SiteID: it.SiteID},
		UserID: userID, MemberID: it.MemberID, Role: tokensmith.Role(it.Role),
	}
}

type workspaceRefItem struct {
	ID   string `dynamodbav:"id"`
	Slug string `dynamodbav:"slug"`
}

type auditItem struct {
	keys
	ID        string    `dynamodbav:"eventId"`
	Seq       int64     `dynamodbav:"seq"`
	TypeSeq   int64     `dynamodbav:"typeSeq"`
	Type      string    `dynamodbav:"eventType"`
	SubType   string    `dynamodbav:"eventSubType"`
	Timestamp time.Time `dynamodbav:"timestamp"`
	// LogTime is the log's time at the event (see LogTime), which from and
	// to search; Timestamp is the event's own.
	LogTime   time.Time        `dynamodbav:"logTime"`
	Actor     actorItem        `dynamodbav:"actor"`
	Workspace workspaceRefItem `dynamodbav:"workspace"`
	Payload   map[string]any   `dynamodbav:"payload"`
}

// toAuditItem is the item of ev at its places ev.Seq and ev.TypeSeq, at
// the log time logTime.
func toAuditItem(ev tokensmith.Event, logTime time.Time) auditItem {
	ws := ev.Workspace.ID
	return auditItem{
		keys: keys{PK: auditPK(ws), SK: seqKey(ev.Seq), GSI1PK: auditTypePK(ws, ev.Type), GSI1SK: seqKey(ev.TypeSeq)},
		ID:   ev.ID, Seq: ev.Seq, TypeSeq: ev.TypeSeq, Type: ev.Type, SubType: ev.SubType, Timestamp: ev.Timestamp, LogTime: logTime,
		Actor: toActorItem(ev.Actor), Workspace: workspaceRefItem{ID: ws, Slug: ev.Workspace.Slug}, Payload: ev.Payload,
	}
}

func (it auditItem) event() tokensmith.Event {
	id := it.ID
	if id == "" {
		id = placeID(it.Workspace.ID, it.Seq)
	}
	return tokensmith.Event{
		ID: id, Seq: it.Seq, TypeSeq: it.TypeSeq, Type: it.Type, SubType: it.SubType, Timestamp: it.Timestamp,
		Actor: it.Actor.actor(), Workspace: tokensmith.WorkspaceRef{ID: it.Workspace.ID, Slug: it.Workspace.Slug},
		Payload: it.Payload,
	}
}

// placeID is the id of an event stored without one (a bulk load of history
// may write such events): 24 lowercase hex characters drawn from its place
// in its workspace's log, which never changes, so that it is the same
// wherever the event is read or published.
func placeID(wsID string, seq int64) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s#%d", wsID, seq))
	return hex.EncodeToString(sum[:12])
}

// ttl returns the value of the table's TTL attribute for an item that
// expires at t: Unix seconds, rounded up so that TTL never removes an item
// before it has expired.
func ttl(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}
