// Package audit is the audit log: its event types and subtypes, the
// builders with which every change makes its event, and the service that
// reads a workspace's log for its workspace tokens. The store writes each
// event in the same transaction as the change it records.
package audit

import (
	"io"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/token"
)

// Event types of the audit log.
const (
	TypeAPIToken            = "api_token"
	TypeWorkspaceMembership = "workspace_membership"
	TypeSiteMembership      = "site_membership"
	TypeWorkspaceSetting    = "workspace_setting"
	TypeTrustedWorkload     = "trusted_workload"
	TypeSiteSetting         = "site_setting"
)

// Types lists every event type.
var Types = []string{TypeAPIToken, TypeWorkspaceMembership, TypeSiteMembership, TypeWorkspaceSetting, TypeSiteSetting, TypeTrustedWorkload}

// Event subtypes, by type.
const (
	// api_token
	SubTokenCreated     = "token_created"
	SubTokenRegenerated = "token_regenerated"
	SubTokenRevoked     = "token_revoked"
	SubTokenExpired     = "token_expired"
	// SubTokenExchanged is a trusted workload's exchange of its OIDC token
	// for a short-lived token.
	SubTokenExchanged = "token_exchanged"
	// workspace_membership and site_membership
	SubUserAdded       = "user_added"
	SubUserRoleUpdated = "user_role_updated"
	SubUserRemoved     = "user_removed"
	// SubInvitationAccepted is a membership granted to an email binding to
	// the person who first signed in with it.
	SubInvitationAccepted = "invitation_accepted"
	// workspace_setting and site_setting
	SubSettingUpdated = "setting_updated"
	// trusted_workload
	SubWorkloadCreated = "workload_created"
	SubWorkloadDeleted = "workload_deleted"
)

// Origin is what every event says of its change besides the change itself:
// its id, when, by whom, in which workspace.
type Origin struct {
	ID        string
	Time      time.Time
	Actor     tokensmith.Actor
	Workspace tokensmith.WorkspaceRef
}

// NewOrigin returns the origin of a change made at now by actor in ws, with
// a new event id read from rnd (crypto/rand.Reader in production).
func NewOrigin(now time.Time, rnd io.Reader, actor tokensmith.Actor, ws tokensmith.Workspace) (Origin, error) {
	now = now.UTC()
	id, err := token.NewID(now, rnd)
	if err != nil {
		return Origin{}, err
	}
	return Origin{ID: id, Time: now, Actor: actor, Workspace: ws.Ref()}, nil
}

func (o Origin) event(typ, sub string, payload map[string]any) tokensmith.Event {
	return tokensmith.Event{
		ID: o.ID, Type: typ, SubType: sub, Timestamp: o.Time,
		Actor: o.Actor, Workspace: o.Workspace, Payload: payload,
	}
}

// TokenCreated is the event of t's creation. site is t's site, for site
// tokens. It records t's IP allowlist, when it has one.
func TokenCreated(o Origin, t tokensmith.Token, site *tokensmith.Site) tokensmith.Event {
	payload := tokenPayload(t, site)
	if len(t.AllowedIPs) > 0 {
		payload["allowedIps"] = t.AllowedIPs
	}
	return o.event(TypeAPIToken, SubTokenCreated, payload)
}

// TokenRegenerated is the event of t's new secret; t shows its new hint.
func TokenRegenerated(o Origin, t tokensmith.Token, site *tokensmith.Site) tokensmith.Event {
	return o.event(TypeAPIToken, SubTokenRegenerated, tokenPayload(t, site))
}

// TokenRevoked is the event of t's revocation.
func TokenRevoked(o Origin, t tokensmith.Token, site *tokensmith.Site) tokensmith.Event {
	return o.event(TypeAPIToken, SubTokenRevoked, tokenPayload(t, site))
}

// LeakRevoked is the event of t's revocation on a leak report: the
// reporting partner is the origin's actor, and url is where the partner
// found the token.
func LeakRevoked(o Origin, t tokensmith.Token, site *tokensmith.Site, url string) tokensmith.Event {
	payload := tokenPayload(t, site)
	payload["url"] = url
	return o.event(TypeAPIToken, SubTokenRevoked, payload)
}

// PreviousSecretRevoked is the event of the end of the grace period of t's
// previous secret, revoked by whoever held it; t itself keeps working.
func PreviousSecretRevoked(o Origin, t tokensmith.Token, site *tokensmith.Site) tokensmith.Event {
	payload := tokenPayload(t, site)
	payload["secret"] = "previous"
	return o.event(TypeAPIToken, SubTokenRevoked, payload)
}

// TokenExpired is the event of t's expiry, whose payload.reason says why:
// tokensmith.ExpiryFixed at its fixed end, tokensmith.ExpiryInactive after
// inactivity. site is nil when the site is not found; the payload then
// names it by id alone.
func TokenExpired(o Origin, t tokensmith.Token, site *tokensmith.Site) tokensmith.Event {
	payload := tokenPayload(t, site)
	payload["reason"] = t.ExpiryReason()
	return o.event(TypeAPIToken, SubTokenExpired, payload)
}

// tokenPayload names t, never its secret, and the site of a site token.
func tokenPayload(t tokensmith.Token, site *tokensmith.Site) map[string]any {
	payload := map[string]any{
		"token": map[string]any{"id": t.ID, "kind": string(t.Kind), "name": t.Name, "displayHint": t.DisplayHint},
		"scope": t.Scope,
	}
	if t.SiteID != "" {
		s := map[string]any{"id": t.SiteID}
		if site != nil {
			s["shortName"] = site.ShortName
		}
		payload["site"] = s
	}
	return payload
}

// MemberAdded is the event of member m's creation: an invitation.
func MemberAdded(o Origin, m tokensmith.Member) tokensmith.Event {
	return o.event(membershipType(m.Place), SubUserAdded, memberPayload(m))
}

// MemberRoleUpdated is the event of m's role changing from prev to m.Role.
func MemberRoleUpdated(o Origin, m tokensmith.Member, prev tokensmith.Role) tokensmith.Event {
	payload := memberPayload(m)
	payload["previousRole"] = string(prev)
	return o.event(membershipType(m.Place), SubUserRoleUpdated, payload)
}

// MemberRemoved is the event of m's removal.
func MemberRemoved(o Origin, m tokensmith.Member) tokensmith.Event {
	return o.event(membershipType(m.Place), SubUserRemoved, memberPayload(m))
}

// InvitationAccepted is the event of m binding to the person m.UserID, who
// is the origin's actor.
func InvitationAccepted(o Origin, m tokensmith.Member) tokensmith.Event {
	return o.event(membershipType(m.Place), SubInvitationAccepted, memberPayload(m))
}

func membershipType(p tokensmith.Place) string {
	if p.IsSite() {
		return TypeSiteMembership
	}
	return TypeWorkspaceMembership
}

// memberPayload names the member, its email, its person (null until
// bound), its role and, for a site member, its site.
func memberPayload(m tokensmith.Member) map[string]any {
	var userID any
	if m.Bound() {
		userID = m.UserID
	}
	payload := map[string]any{
		"member": map[string]any{"id": m.ID, "email": m.Email, "userId": userID},
		"role":   string(m.Role),
	}
	if m.Place.IsSite() {
		payload["site"] = map[string]any{"id": m.Place.SiteID}
	}
	return payload
}

// LifetimePolicyChanged is the event of a workspace's token lifetime
// policy changing from prev days to days; 0 (none) is null.
func LifetimePolicyChanged(o Origin, days, prev int64) tokensmith.Event {
	value := func(d int64) any {
		if d <= 0 {
			return nil
		}
		return d
	}
	return o.event(TypeWorkspaceSetting, SubSettingUpdated, map[string]any{
		"setting": "maxTokenLifetimeDays", "previousValue": value(prev), "value": value(days),
	})
}

// SitePlanChanged is the event of site's plan and rate limit changing to
// next's: the payload holds each setting's previous and new value, the rate
// limit as the site's tokens have it (requests a minute).
func SitePlanChanged(o Origin, site, next tokensmith.Site) tokensmith.Event {
	plan := func(s tokensmith.Site) string {
		if s.Plan == "" {
			return string(tokensmith.DefaultSitePlan)
		}
		return string(s.Plan)
	}
	return o.event(TypeSiteSetting, SubSettingUpdated, map[string]any{
		"site":      map[string]any{"id": site.ID, "shortName": site.ShortName},
		"plan":      map[string]any{"previousValue": plan(site), "value": plan(next)},
		"rateLimit": map[string]any{"previousValue": site.TokenRateLimit(), "value": next.TokenRateLimit()},
	})
}

// PlanChanged is the event of a workspace's plan changing from prev to plan.
func PlanChanged(o Origin, plan, prev tokensmith.Plan) tokensmith.Event {
	return o.event(TypeWorkspaceSetting, SubSettingUpdated, map[string]any{
		"setting": "plan", "previousValue": string(prev), "value": string(plan),
	})
}

// WorkloadCreated is the event of a site's trust in workload w.
func WorkloadCreated(o Origin, w tokensmith.Workload, site tokensmith.Site) tokensmith.Event {
	return o.event(TypeTrustedWorkload, SubWorkloadCreated, workloadPayload(w, site))
}

// WorkloadDeleted is the event of the end of a site's trust in workload
// w, which ended liveTokens tokens its exchanges had minted.
func WorkloadDeleted(o Origin, w tokensmith.Workload, site tokensmith.Site, liveTokens int) tokensmith.Event {
	payload := workloadPayload(w, site)
	payload["liveTokens"] = liveTokens
	return o.event(TypeTrustedWorkload, SubWorkloadDeleted, payload)
}

// workloadPayload names w and what its tokens must say, and its site.
func workloadPayload(w tokensmith.Workload, site tokensmith.Site) map[string]any {
	claims := map[string]any{}
	for k, v := range w.Claims {
		claims[k] = v
	}
	return map[string]any{
		"workload": map[string]any{
			"id": w.ID, "name": w.Name, "issuer": w.Issuer, "audience": w.Audience, "subject": w.Subject,
			"claims": claims, "tokenLifetimeSeconds": int64(w.TokenLifetime / time.Second),
		},
		"site":  map[string]any{"id": site.ID, "shortName": site.ShortName},
		"scope": w.Scope,
	}
}

// exchangedClaims are the claims of a workload token an exchange's event
// carries, where the token has them: who the workload is and which run.
var exchangedClaims = []string{"sub", "repository", "workflow", "run_id"}

// TokenExchanged is the event of t, minted by an exchange of workload w's
// token, whose string claims are claims.
func TokenExchanged(o Origin, t tokensmith.Token, site tokensmith.Site, w tokensmith.Workload, claims map[string]string) tokensmith.Event {
	payload := tokenPayload(t, &site)
	payload["workload"] = map[string]any{"id": w.ID, "name": w.Name}
	carried := map[string]any{}
	for _, k := range exchangedClaims {
		if v, ok := claims[k]; ok {
			carried[k] = v
		}
	}
	payload["claims"] = carried
	payload["expiresAt"] = t.ExpiresOn.UTC().Format("2006-01-02T15:04:05.000Z")
	return o.event(TypeAPIToken, SubTokenExchanged, payload)
}
