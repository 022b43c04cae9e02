package localdev_test

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"
)

// This file is a reference model of the contract (/docs/API.md, sections 4
// to 17) for the tokens of a few workspaces and sites: who may mint, the
// limit of 5, secrets and regenerate grace periods, revoke by id and by
// secret, workspace plans, site plans and the rate limits they set, IP
// allowlists, an upstream route, expiry after 365 days without a recorded
// use or at the fixed end chosen (expiresInDays, API.md 14), workspaces'
// maximum token lifetime (the policy) and sites' settings, scopeLastUsed, idempotent creates, rate limits per window and the
// audit events of every change; and invitations by consent (API.md 4 and
// 7): a workspace admin invites a guest through the API, who holds nothing
// until they accept, may decline, and whose invitations lapse after 30
// days, removed by the next call that meets them; at most 50 a workspace a
// UTC day. It knows nothing of HTTP or DynamoDB: TestModelAgreesWithService
// feeds it the same operations as the local stack and compares the answers.

// Model constants, as the contract states them.
const (
	mMaxActive   = 5
	mInactivity  = 365 * 24 * time.Hour
	mIdemTTL     = 24 * time.Hour
	mMaxGrace    = 604800 // seconds
	mMaxDays     = 366    // expiresInDays at most
	mWindow      = time.Minute
	mUseInterval = time.Minute // a function instance writes a token's usage at most this often
	mWSLimit     = 120         // requests a minute of a workspace token
	mSource      = "127.0.0.1" // where a call comes from unless it says otherwise
	mLapse       = 30 * 24 * time.Hour
	mInvitesADay = 50
	mGuest       = "guest" // the person the API's invitations are for
)

// siteLimit is the rate limit a site plan gives each of the site's tokens
// (API.md 15); custom is an enterprise site's own limit, 0 for the default.
func siteLimit(plan string, custom int64) int64 {
	switch plan {
	case "starter", "basic":
		return 60
	case "enterprise":
		if custom > 0 {
			return custom
		}
		return 600
	}
	return 120
}

// Function instances that serve API-token routes; each notes usage on its own.
const (
	fnTokens    = "tokens"
	fnSites     = "sites"
	fnAuditLogs = "auditlogs"
	fnUpstream  = "upstream"
)

// mPerson is someone with a user token and what they hold.
type mPerson struct {
	name, userID string
	wsRole       map[string]string // workspace id -> admin | member
	siteAdmin    map[string]bool   // site ids
}

// mInvite is an invitation made through the API to the guest. key is the
// model's own name for it, known before the service names it by id.
type mInvite struct {
	key         int
	id          string
	kind, place string // site | workspace, and its id
	ws          string
	role        string
	addedOn     time.Time
	gone        bool // accepted, declined or lapsed (and removed)
}

// pending is whether the invitation waits for the guest at now.
func (v *mInvite) pending(now time.Time) bool { return !v.gone && now.Before(v.addedOn.Add(mLapse)) }

// mSite is a site with its plan, its own rate limit (custom, 0 for the
// plan's) and the rate limit of its tokens.
type mSite struct {
	id, ws    string
	plan      string
	custom    int64
	rateLimit int64
}

// mToken is a token as the contract describes it. key is the model's own
// name for it, known before the service names it by id.
type mToken struct {
	key         int
	id          string
	kind        string // site | workspace
	name        string
	site, ws    string
	perms       map[string]string
	scope       string
	createdOn   time.Time
	createdBy   string // user id
	lastUsed    *time.Time
	useCount    int64
	expiresOn   time.Time  // the earlier of expiresAt and the inactivity expiry
	expiresAt   *time.Time // the fixed end of the current secret, nil for none
	lifetime    int64      // expiresInDays chosen at creation, 0 for none
	secrets     []string   // every secret it was given, in order; the last is current
	hints       []string
	prev        string // the previous secret while in its grace period
	graceUntil  time.Time
	rateLimit   int64
	allowedIPs  []string             // canonical ranges; none allows any address
	scopeUsed   map[string]time.Time // scope -> its last recorded use
	granted     bool                 // the create was answered; id and secret are known
	createdBody string
}

func (t *mToken) current() string { return t.secrets[len(t.secrets)-1] }
func (t *mToken) hint() string    { return t.hints[len(t.hints)-1] }

// active: a token lives until 365 days after its last recorded use (API.md
// 10), or until its fixed end, whichever comes first (API.md 14).
func (t *mToken) active(now time.Time) bool { return now.Before(t.expiresOn) }

// ends sets the token's fixed end to days from now (none for 0) and its
// expiresOn to the earlier of that and inactive.
func (t *mToken) ends(now time.Time, days int64, inactive time.Time) {
	t.expiresAt = nil
	if days > 0 {
		at := now.Add(time.Duration(days) * 24 * time.Hour)
		t.expiresAt = &at
	}
	t.expiresOn = inactive
	if t.expiresAt != nil && t.expiresAt.Before(inactive) {
		t.expiresOn = *t.expiresAt
	}
}

// inactiveUntil is the token's inactivity expiry.
func (t *mToken) inactiveUntil() time.Time {
	if t.lastUsed != nil {
		return t.lastUsed.Add(mInactivity)
	}
	return t.createdOn.Add(mInactivity)
}

// idemRecord is a create made with an Idempotency-Key, replayed for 24 hours.
type idemRecord struct {
	body    string
	expires time.Time
	tok     int // the key of the token it minted
	snap    mTokenView
	secret  string
}

// usage is one function instance's unwritten uses of a token.
type usage struct {
	written time.Time
	has     bool
	pending int64
	scopes  map[string]time.Time // scope -> its last counted use since the last write
}

// rateCount is a token's count in its current window.
type rateCount struct {
	window time.Time
	n      int64
}

// mEvent is an audit event as far as the model predicts it.
type mEvent struct {
	ws, typ, sub, actorType, actorID string
	tok                              int // token key, 0 for none
	gen                              int // index into the token's hints
	previous                         bool
	allowedIPs                       []string // token_created's payload.allowedIps
	detail                           string   // what a setting's event says of its change
}

// model is the state the contract implies.
type model struct {
	now     time.Time
	plans   map[string]string // workspace id -> plan
	policy  map[string]int64  // workspace id -> maximum token lifetime in days, 0 for none
	sites   map[string]mSite
	people  map[string]*mPerson
	tokens  map[int]*mToken // minted and not revoked (expired ones stay)
	all     map[int]*mToken // every token ever minted, revoked ones too
	nextKey int
	idem    map[string]*idemRecord
	rate    map[int]rateCount
	usage   map[string]map[int]*usage // function -> token key -> usage
	events  []mEvent                  // written since the last check
	invites map[int]*mInvite          // every invitation to the guest, by key
	invited map[string]int            // workspace id and UTC day -> invitations made through the API
}

func newModel(now time.Time) *model {
	return &model{now: now, plans: map[string]string{}, policy: map[string]int64{}, sites: map[string]mSite{}, people: map[string]*mPerson{},
		tokens: map[int]*mToken{}, all: map[int]*mToken{}, idem: map[string]*idemRecord{}, rate: map[int]rateCount{},
		usage: map[string]map[int]*usage{}, invites: map[int]*mInvite{}, invited: map[string]int{}}
}

// clone copies the model deeply, to try another order of concurrent operations.
func (m *model) clone() *model {
	c := *m
	c.plans = maps.Clone(m.plans)
	c.policy = maps.Clone(m.policy)
	c.sites = maps.Clone(m.sites)
	c.all = map[int]*mToken{}
	for k, t := range m.all {
		ct := *t
		ct.secrets = append([]string(nil), t.secrets...)
		ct.hints = append([]string(nil), t.hints...)
		ct.scopeUsed = maps.Clone(t.scopeUsed)
		c.all[k] = &ct
	}
	c.tokens = map[int]*mToken{}
	for k := range m.tokens {
		c.tokens[k] = c.all[k]
	}
	c.idem = map[string]*idemRecord{}
	for k, r := range m.idem {
		cr := *r
		c.idem[k] = &cr
	}
	c.rate = maps.Clone(m.rate)
	c.usage = map[string]map[int]*usage{}
	for fn, us := range m.usage {
		c.usage[fn] = map[int]*usage{}
		for k, u := range us {
			cu := *u
			cu.scopes = maps.Clone(u.scopes)
			c.usage[fn][k] = &cu
		}
	}
	c.events = append([]mEvent(nil), m.events...)
	c.people = map[string]*mPerson{}
	for k, p := range m.people {
		cp := *p
		cp.wsRole, cp.siteAdmin = maps.Clone(p.wsRole), maps.Clone(p.siteAdmin)
		c.people[k] = &cp
	}
	c.invites = map[int]*mInvite{}
	for k, v := range m.invites {
		cv := *v
		c.invites[k] = &cv
	}
	c.invited = maps.Clone(m.invited)
	return &c
}

// opKind names what an operation does.
type opKind string

const (
	opCreate       opKind = "create"
	opList         opKind = "list"
	opGet          opKind = "get"
	opRevoke       opKind = "revoke"
	opRegenerate   opKind = "regenerate"
	opUse          opKind = "use"
	opRevokeSecret opKind = "revoke-by-secret"
	opClock        opKind = "clock"
	opPlan         opKind = "plan"
	opSitePlan     opKind = "site-plan"
	opPolicy       opKind = "policy"
	opInvite       opKind = "invite"
	opAccept       opKind = "accept"
	opDecline      opKind = "decline"
)

// op is one operation; which fields count depends on kind.
type op struct {
	kind      opKind
	person    string
	ownerKind string // site | workspace
	ownerID   string
	body      *bodyCase
	idemKey   string
	tokenID   string
	tokenKey  int // the model's key of the token tokenID names, 0 if none
	grace     *int64
	days      *int64 // regenerate: expiresInDays; policy: maxTokenLifetimeDays (0 for null)
	secret    string
	route     string // use: sites, site, introspect, audit
	routeID   string // use: the site or workspace in the path
	advance   time.Duration
	plan      string
	rateLimit int64  // site-plan: an enterprise site's own limit, 0 for the default
	source    string // use: the source address, mSource if empty
	role      string // invite: the role (a site's is admin)
	invite    int    // accept, decline: the model's key of the invitation tokenID names, 0 if none
}

func (o op) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", o.kind)
	if o.person != "" {
		fmt.Fprintf(&b, " by=%s", o.person)
	}
	if o.ownerID != "" {
		fmt.Fprintf(&b, " %s=%s", o.ownerKind, o.ownerID)
	}
	if o.body != nil {
		fmt.Fprintf(&b, " body=%s", o.body.json)
	}
	if o.idemKey != "" {
		fmt.Fprintf(&b, " key=%s", o.idemKey)
	}
	if o.tokenID != "" {
		fmt.Fprintf(&b, " token=%s", o.tokenID)
	}
	if o.grace != nil {
		fmt.Fprintf(&b, " grace=%d", *o.grace)
	}
	if o.days != nil {
		fmt.Fprintf(&b, " days=%d", *o.days)
	}
	if o.secret != "" {
		fmt.Fprintf(&b, " secret=…%s", o.secret[max(len(o.secret)-6, 0):])
	}
	if o.route != "" {
		fmt.Fprintf(&b, " route=%s/%s", o.route, o.routeID)
	}
	if o.advance != 0 {
		fmt.Fprintf(&b, " +%s", o.advance)
	}
	if o.plan != "" {
		fmt.Fprintf(&b, " plan=%s", o.plan)
	}
	if o.rateLimit != 0 {
		fmt.Fprintf(&b, " rateLimit=%d", o.rateLimit)
	}
	if o.source != "" {
		fmt.Fprintf(&b, " from=%s", o.source)
	}
	if o.role != "" {
		fmt.Fprintf(&b, " role=%s", o.role)
	}
	return b.String()
}

// bodyCase is a create body with what the contract makes of it.
type bodyCase struct {
	json       string
	kind       string // the token kind it is written for
	canon      string // trimmed name and granted levels: equal requests are equal here
	name       string
	perms      map[string]string
	scope      string
	allowedIPs []string // canonical, each once
	days       int64    // expiresInDays, 0 for none
	badRequest bool     // 400 bad_request
	wrongType  string   // the field of a 400 validation_error found on decoding, before who may act
	invalid    string   // the field of a 400 validation_error
}

// mTokenView is what an ApiToken shows.
type mTokenView struct {
	id, kind, name, site, ws, scope, createdBy, hint string
	perms                                            map[string]string
	createdOn, expiresOn                             time.Time
	lastUsed, expiresAt                              *time.Time
	useCount                                         int64
	allowedIPs                                       []string
	scopeUsed                                        map[string]time.Time
	exceeds                                          *bool // lists only: exceedsPolicy
}

func (t *mToken) view() mTokenView {
	return mTokenView{id: t.id, kind: t.kind, name: t.name, site: t.site, ws: t.ws, scope: t.scope, createdBy: t.createdBy,
		hint: t.hint(), perms: t.perms, createdOn: t.createdOn, expiresOn: t.expiresOn, lastUsed: t.lastUsed, expiresAt: t.expiresAt, useCount: t.useCount,
		allowedIPs: t.allowedIPs, scopeUsed: maps.Clone(t.scopeUsed)}
}

// allows is whether a call from the address source may use the token
// (API.md 16): any address without an allowlist, else one in its ranges.
func (t *mToken) allows(source string) bool {
	if len(t.allowedIPs) == 0 {
		return true
	}
	addr := netip.MustParseAddr(source).Unmap()
	return slices.ContainsFunc(t.allowedIPs, func(r string) bool { return netip.MustParsePrefix(r).Contains(addr) })
}

// expect is the answer the contract gives to an operation.
type expect struct {
	status    int
	code      string
	field     string       // validation_error's detail field
	token     *mTokenView  // an ApiToken in the body (get, create, regenerate)
	list      []mTokenView // list
	minted    *mToken      // create or regenerate: the token whose new secret the answer holds
	replay    *idemRecord  // an idempotent replay
	didRevoke *bool
	rate      *rateView // rate-limit headers
	intro     *mTokenView
	introRate int64
	siteID    string   // the site a sites route answers with
	invite    *mInvite // invite: the invitation the answer names
	waiting   *int     // accept: the invitations Me lists
	nextDay   int64    // invite's 429: Retry-After, the seconds to the next UTC day
	policy    *int64   // policy: the maximum token lifetime answered, 0 for null
}

type rateView struct{ limit, remaining, reset, retryAfter int64 }

func errorAnswer(status int, code string) expect { return expect{status: status, code: code} }

// step applies o to the model and returns the answer the contract gives.
// For a create or regenerate the new secret is unknown until the answer
// arrives: learn records it.
func (m *model) step(o op) expect {
	switch o.kind {
	case opClock:
		m.now = m.now.Add(o.advance)
		return expect{}
	case opPlan:
		ws := o.ownerID
		m.events = append(m.events, mEvent{ws: ws, typ: "workspace_setting", sub: "setting_updated", actorType: "system"})
		m.plans[ws] = o.plan
		return expect{}
	case opSitePlan:
		// A change of the plan or the site's own limit is recorded
		// (site_setting); the new limit is on every secret of the site's
		// tokens at once (API.md 15).
		s := m.sites[o.ownerID]
		if s.plan != o.plan || s.custom != o.rateLimit {
			m.events = append(m.events, mEvent{ws: s.ws, typ: "site_setting", sub: "setting_updated", actorType: "system",
				detail: fmt.Sprintf("site=%s plan=%s->%s rateLimit=%d->%d", s.id, s.plan, o.plan, s.rateLimit, siteLimit(o.plan, o.rateLimit))})
		}
		s.plan, s.custom, s.rateLimit = o.plan, o.rateLimit, siteLimit(o.plan, o.rateLimit)
		m.sites[o.ownerID] = s
		for _, t := range m.tokens {
			if t.kind == "site" && t.site == s.id {
				t.rateLimit = s.rateLimit
			}
		}
		return expect{}
	case opUse:
		return m.use(o)
	case opRevokeSecret:
		return m.revokeBySecret(o.secret)
	case opInvite:
		return m.invite(o)
	case opPolicy:
		return m.setPolicy(o)
	case opAccept, opDecline:
		return m.consent(o)
	case opRegenerate:
		if o.grace != nil && (*o.grace < 0 || *o.grace > mMaxGrace) {
			return expect{status: 400, code: "validation_error", field: "gracePeriodSeconds"}
		}
		if o.days != nil && (*o.days < 1 || *o.days > mMaxDays) {
			return expect{status: 400, code: "validation_error", field: "expiresInDays"}
		}
	case opCreate:
		if o.idemKey != "" && (len(o.idemKey) < 16 || len(o.idemKey) > 255) {
			return expect{status: 400, code: "validation_error", field: "Idempotency-Key"}
		}
		if o.body.badRequest {
			return errorAnswer(400, "bad_request")
		}
		if o.body.wrongType != "" {
			// A value of the wrong type is the body's shape (API.md 6).
			return expect{status: 400, code: "validation_error", field: o.body.wrongType}
		}
	}
	if e, ok := m.authorize(o); !ok {
		return e
	}
	switch o.kind {
	case opCreate:
		return m.create(o)
	case opList:
		var out []mTokenView
		max := m.policy[m.workspaceOf(o.ownerKind, o.ownerID)]
		for _, t := range m.owned(o.ownerKind, o.ownerID) {
			v := t.view()
			// Longer than the policy: no fixed end, or one further away.
			over := max > 0 && (t.expiresAt == nil || t.expiresAt.After(m.now.Add(time.Duration(max)*24*time.Hour)))
			v.exceeds = &over
			out = append(out, v)
		}
		sort.Slice(out, func(i, j int) bool {
			if !out[i].createdOn.Equal(out[j].createdOn) {
				return out[i].createdOn.After(out[j].createdOn)
			}
			return out[i].id > out[j].id
		})
		return expect{status: 200, list: out}
	}
	t := m.find(o.ownerKind, o.ownerID, o.tokenID)
	if t == nil {
		return errorAnswer(404, "resource_not_found")
	}
	switch o.kind {
	case opGet:
		v := t.view()
		return expect{status: 200, token: &v}
	case opRevoke:
		m.revoke(t, "person", m.people[o.person].userID, false)
		return expect{status: 204}
	case opRegenerate:
		if e, ok := m.withinPolicy(t.ws, o.days); !ok {
			return e
		}
		m.events = append(m.events, mEvent{ws: t.ws, typ: "api_token", sub: "token_regenerated", actorType: "person",
			actorID: m.people[o.person].userID, tok: t.key, gen: len(t.hints)})
		if o.grace != nil && *o.grace > 0 {
			// The old secret's grace ends at its own fixed end at the latest.
			t.prev, t.graceUntil = t.current(), m.now.Add(time.Duration(*o.grace)*time.Second)
			if t.expiresAt != nil && t.graceUntil.After(*t.expiresAt) {
				t.graceUntil = *t.expiresAt
			}
		} else {
			t.prev, t.graceUntil = "", time.Time{}
		}
		// The new secret's lifetime: the one asked for, else the one the
		// token was created with, from now.
		days := t.lifetime
		if o.days != nil {
			days = *o.days
		}
		t.ends(m.now, days, t.inactiveUntil())
		t.secrets = append(t.secrets, "")
		t.hints = append(t.hints, "")
		return expect{status: 200, minted: t}
	}
	panic("model: unknown operation " + string(o.kind))
}

// authorize is who may act (API.md 4): workspace admins on the site and
// workspace tokens of their workspace, site admins on their site's;
// someone who belongs to the workspace otherwise gets 403, anyone else 404.
func (m *model) authorize(o op) (expect, bool) {
	m.signIn(o.person)
	p := m.people[o.person]
	ws := o.ownerID
	if o.ownerKind == "site" {
		s, ok := m.sites[o.ownerID]
		if !ok {
			return errorAnswer(404, "resource_not_found"), false
		}
		ws = s.ws
		if p.siteAdmin[s.id] {
			return expect{}, true
		}
	} else if _, ok := m.plans[ws]; !ok {
		return errorAnswer(404, "resource_not_found"), false
	}
	return m.wsAdmin(p, ws)
}

// owned is the active tokens of an owner.
func (m *model) owned(kind, id string) []*mToken {
	var out []*mToken
	for _, t := range m.tokens {
		if t.kind == kind && ownerOf(t) == id && t.active(m.now) {
			out = append(out, t)
		}
	}
	return out
}

func ownerOf(t *mToken) string {
	if t.kind == "site" {
		return t.site
	}
	return t.ws
}

// find is the active token id of an owner, or nil.
func (m *model) find(kind, owner, id string) *mToken {
	for _, t := range m.owned(kind, owner) {
		if t.id == id {
			return t
		}
	}
	return nil
}

func (m *model) create(o op) expect {
	p := m.people[o.person]
	ws := o.ownerID
	if o.ownerKind == "site" {
		ws = m.sites[o.ownerID].ws
	} else if m.plans[ws] != "enterprise" {
		return errorAnswer(403, "not_enterprise_plan_workspace")
	}
	if o.body.kind != o.ownerKind {
		// The body's APIs are those of the other kind of token.
		return expect{status: 400, code: "validation_error"}
	}
	if o.body.invalid != "" {
		return expect{status: 400, code: "validation_error", field: o.body.invalid}
	}
	var days *int64
	if o.body.days > 0 {
		days = &o.body.days
	}
	if e, ok := m.withinPolicy(ws, days); !ok {
		return e
	}
	idemKey := p.userID + "\x00" + o.ownerKind + "\x00" + o.ownerID + "\x00" + o.idemKey
	if o.idemKey != "" {
		if r := m.idem[idemKey]; r != nil && m.now.Before(r.expires) {
			if r.body != o.body.canon {
				return errorAnswer(409, "conflict")
			}
			return expect{status: 201, replay: r}
		}
	}
	if len(m.owned(o.ownerKind, o.ownerID)) >= mMaxActive {
		return errorAnswer(409, "token_limit_reached")
	}
	m.nextKey++
	t := &mToken{key: m.nextKey, kind: o.ownerKind, name: o.body.name, ws: ws, perms: o.body.perms, scope: o.body.scope,
		createdOn: m.now, createdBy: p.userID, secrets: []string{""}, hints: []string{""},
		createdBody: o.body.canon, rateLimit: mWSLimit, allowedIPs: o.body.allowedIPs, lifetime: o.body.days}
	t.ends(m.now, t.lifetime, t.inactiveUntil())
	if o.ownerKind == "site" {
		t.site, t.rateLimit = o.ownerID, m.sites[o.ownerID].rateLimit
	}
	m.tokens[t.key], m.all[t.key] = t, t
	m.events = append(m.events, mEvent{ws: ws, typ: "api_token", sub: "token_created", actorType: "person", actorID: p.userID, tok: t.key,
		allowedIPs: t.allowedIPs})
	if o.idemKey != "" {
		m.idem[idemKey] = &idemRecord{body: o.body.canon, expires: m.now.Add(mIdemTTL), tok: t.key}
	}
	return expect{status: 201, minted: t}
}

// withinPolicy is whether a new secret of days (nil for no fixed end) may
// be made in workspace ws (API.md 14): while a policy is set, only with a
// lifetime of at most it.
func (m *model) withinPolicy(ws string, days *int64) (expect, bool) {
	if max := m.policy[ws]; max > 0 && (days == nil || *days > max) {
		return expect{status: 400, code: "validation_error", field: "expiresInDays"}, false
	}
	return expect{}, true
}

// workspaceOf is the workspace of a token owner.
func (m *model) workspaceOf(kind, id string) string {
	if kind == "site" {
		return m.sites[id].ws
	}
	return id
}

// wsAdmin is whether p is an admin of workspace ws: someone who belongs
// to it otherwise is forbidden, anyone else told it is not there.
func (m *model) wsAdmin(p *mPerson, ws string) (expect, bool) {
	if p.wsRole[ws] == "admin" {
		return expect{}, true
	}
	belongs := p.wsRole[ws] != ""
	for id := range p.siteAdmin {
		belongs = belongs || m.sites[id].ws == ws
	}
	if belongs {
		return errorAnswer(403, "forbidden"), false
	}
	return errorAnswer(404, "resource_not_found"), false
}

// setPolicy is a PATCH of a workspace's settings (API.md 14): a value out
// of range is refused first; then only its admins may, and someone who
// belongs to it is forbidden, anyone else told it is not there; a change
// is recorded with its old and new value.
func (m *model) setPolicy(o op) expect {
	days := *o.days
	if days != 0 && (days < 1 || days > mMaxDays) {
		return expect{status: 400, code: "validation_error", field: "maxTokenLifetimeDays"}
	}
	p := m.people[o.person]
	ws := o.ownerID
	if e, ok := m.wsAdmin(p, ws); !ok {
		return e
	}
	if prev := m.policy[ws]; prev != days {
		m.events = append(m.events, mEvent{ws: ws, typ: "workspace_setting", sub: "setting_updated", actorType: "person", actorID: p.userID,
			detail: fmt.Sprintf("maxTokenLifetimeDays=%d->%d", prev, days)})
		m.policy[ws] = days
	}
	return expect{status: 200, policy: &days}
}

// learn records what the service answered a create or regenerate with: the
// token's id and new secret, which the model cannot foresee.
func (m *model) learn(e expect, id, secret, hint string) {
	t := e.minted
	if t == nil {
		return
	}
	if t.id == "" {
		t.id = id
	}
	t.secrets[len(t.secrets)-1], t.hints[len(t.hints)-1] = secret, hint
	t.granted = true
	for _, r := range m.idem {
		if r.tok == t.key && r.secret == "" {
			r.secret, r.snap = secret, t.view()
		}
	}
}

func (m *model) revoke(t *mToken, actorType, actorID string, previous bool) {
	m.events = append(m.events, mEvent{ws: t.ws, typ: "api_token", sub: "token_revoked", actorType: actorType, actorID: actorID,
		tok: t.key, gen: len(t.hints) - 1, previous: previous})
	if previous {
		t.prev, t.graceUntil = "", time.Time{}
		return
	}
	delete(m.tokens, t.key)
}

// bySecret is the token a secret works for, and whether it is the previous
// one in its grace period: a secret works while its token is active, and a
// previous secret only until its grace period ends (API.md 11).
func (m *model) bySecret(secret string) (*mToken, bool) {
	if secret == "" {
		return nil, false
	}
	for _, t := range m.tokens {
		if !t.active(m.now) {
			continue
		}
		if t.current() == secret {
			return t, false
		}
		if t.prev == secret && m.now.Before(t.graceUntil) {
			return t, true
		}
	}
	return nil, false
}

func (m *model) revokeBySecret(secret string) expect {
	t, previous := m.bySecret(secret)
	yes, no := true, false
	if t == nil {
		return expect{status: 200, didRevoke: &no}
	}
	m.revoke(t, "token", t.id, previous)
	return expect{status: 200, didRevoke: &yes}
}

// use is a call of the data API (API.md 6, 9, 15, 16, 17): a live secret
// from an address its allowlist allows first, on an upstream route the
// grant of its site, then its count in this window, the
// workspace's plan, the route's scope; then the use is noted and the route
// answers.
func (m *model) use(o op) expect {
	t, previous := m.bySecret(o.secret)
	source := o.source
	if source == "" {
		source = mSource
	}
	if t == nil || !t.allows(source) {
		return errorAnswer(401, "not_authorized")
	}
	// An upstream route (section 17) refuses a site not the token's own
	// before counting it.
	if o.route == "cms" && (t.kind != "site" || o.routeID != t.site) {
		return errorAnswer(404, "resource_not_found")
	}
	window := m.now.Truncate(mWindow)
	reset := window.Add(mWindow)
	c := m.rate[t.key]
	if !c.window.Equal(window) {
		c = rateCount{window: window}
	}
	limit := t.rateLimit
	if c.n >= limit {
		retry := int64((reset.Sub(m.now) + time.Second - 1) / time.Second)
		e := errorAnswer(429, "too_many_requests")
		e.rate = &rateView{limit: limit, remaining: 0, reset: reset.Unix(), retryAfter: max(retry, 1)}
		return e
	}
	c.n++
	m.rate[t.key] = c
	rv := &rateView{limit: limit, remaining: limit - c.n, reset: reset.Unix()}
	withRate := func(e expect) expect { e.rate = rv; return e }
	if t.kind == "workspace" && m.plans[t.ws] != "enterprise" {
		return withRate(errorAnswer(403, "not_enterprise_plan_workspace"))
	}
	need := map[string]string{"sites": "sites:read", "site": "sites:read", "audit": "workspace_activity:read", "cms": "cms:read"}[o.route]
	if need != "" && !strings.Contains(","+t.scope+",", ","+need+",") {
		return withRate(errorAnswer(403, "missing_scopes"))
	}
	fn := map[string]string{"sites": fnSites, "site": fnSites, "audit": fnAuditLogs, "introspect": fnTokens, "cms": fnUpstream}[o.route]
	m.noteUse(fn, t, previous, need)
	switch o.route {
	case "site":
		if o.routeID != t.site {
			return withRate(errorAnswer(404, "resource_not_found"))
		}
		return withRate(expect{status: 200, siteID: t.site})
	case "sites":
		return withRate(expect{status: 200, siteID: t.site})
	case "cms":
		// An upstream route (section 17): the demo CMS answers for the
		// token's own site alone, and is never asked for another.
		return withRate(expect{status: 200})
	case "audit":
		if o.routeID != t.ws {
			return withRate(errorAnswer(404, "resource_not_found"))
		}
		return withRate(expect{status: 200})
	}
	// Introspection shows the token as of the decision, or of this use
	// when it was written, whichever secret is used.
	v := t.view()
	e := withRate(expect{status: 200, introRate: t.rateLimit, intro: &v})
	return e
}

// noteUse is a function instance noting a use that exercised the scope sc
// ("" for none) (API.md 10): written on the first use it sees of a token
// and then on the first at least a minute after its last write, with every
// use counted meanwhile and the time of each scope's last use among them.
func (m *model) noteUse(fn string, t *mToken, previous bool, sc string) {
	if m.usage[fn] == nil {
		m.usage[fn] = map[int]*usage{}
	}
	u := m.usage[fn][t.key]
	if u == nil {
		u = &usage{}
		m.usage[fn][t.key] = u
	}
	u.pending++
	if sc != "" {
		if u.scopes == nil {
			u.scopes = map[string]time.Time{}
		}
		u.scopes[sc] = m.now
	}
	if u.has && m.now.Sub(u.written) < mUseInterval {
		return
	}
	n := u.pending
	if t.scopeUsed == nil {
		t.scopeUsed = map[string]time.Time{}
	}
	maps.Copy(t.scopeUsed, u.scopes)
	u.pending, u.scopes, u.written, u.has = 0, nil, m.now, true
	now := m.now
	t.lastUsed, t.useCount, t.expiresOn = &now, t.useCount+n, now.Add(mInactivity)
	if t.expiresAt != nil && t.expiresAt.Before(t.expiresOn) {
		// A use never moves the end past the fixed end.
		t.expiresOn = *t.expiresAt
	}
}

// takeEvents returns the events written since the last call.
func (m *model) takeEvents() []mEvent {
	ev := m.events
	m.events = nil
	return ev
}

// describe is an event as the comparison sees it.
func (m *model) describe(e mEvent) string {
	s := fmt.Sprintf("%s %s/%s actor=%s:%s", e.ws, e.typ, e.sub, e.actorType, e.actorID)
	if t := m.all[e.tok]; t != nil {
		s += fmt.Sprintf(" token=%s hint=%s", t.id, t.hints[e.gen])
	}
	if e.previous {
		s += " secret=previous"
	}
	if len(e.allowedIPs) > 0 {
		s += fmt.Sprintf(" allowedIps=%v", e.allowedIPs)
	}
	if e.detail != "" {
		s += " " + e.detail
	}
	return s
}

// signIn is what every call of the guest that signs them in does first:
// nothing the inviting workspace sees. An invitation that lapsed is absent
// to its invitee and removed only on the inviter's side, by a new
// invitation of the email (API.md 10).
func (m *model) signIn(person string) {}

func (m *model) lapse(v *mInvite) {
	v.gone = true
	m.events = append(m.events, mEvent{ws: v.ws, typ: membershipType(v.kind), sub: "user_removed", actorType: "system"})
}

func membershipType(kind string) string {
	if kind == "site" {
		return "site_membership"
	}
	return "workspace_membership"
}

func (m *model) invitesInOrder() []*mInvite {
	out := make([]*mInvite, 0, len(m.invites))
	for _, v := range m.invites {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// invite is a workspace admin inviting the guest to a workspace or a site
// through the API (API.md 4): only the workspace's admins (a site
// administrator is forbidden, as any other who belongs); the guest's
// membership or pending invitation there is a conflict, a lapsed one is
// removed first; the workspace's 51st of the UTC day is too many.
func (m *model) invite(o op) expect {
	ws := o.ownerID
	if o.ownerKind == "site" {
		s, ok := m.sites[o.ownerID]
		if !ok {
			return errorAnswer(404, "resource_not_found")
		}
		ws = s.ws
	} else if _, ok := m.plans[ws]; !ok {
		return errorAnswer(404, "resource_not_found")
	}
	m.signIn(o.person)
	p := m.people[o.person]
	if e, ok := m.wsAdmin(p, ws); !ok {
		return e
	}
	guest := m.people[mGuest]
	if (o.ownerKind == "site" && guest.siteAdmin[o.ownerID]) || (o.ownerKind == "workspace" && guest.wsRole[ws] != "") {
		return errorAnswer(409, "conflict")
	}
	for _, v := range m.invitesInOrder() {
		if v.place != o.ownerID || v.gone {
			continue
		}
		if v.pending(m.now) {
			return errorAnswer(409, "conflict")
		}
		m.lapse(v)
	}
	day := ws + m.now.UTC().Format(time.DateOnly)
	if m.invited[day] >= mInvitesADay {
		next := m.now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
		return expect{status: 429, code: "too_many_requests", nextDay: int64((next.Sub(m.now) + time.Second - 1) / time.Second)}
	}
	m.invited[day]++
	v := &mInvite{key: len(m.invites) + 1, kind: o.ownerKind, place: o.ownerID, ws: ws, role: o.role, addedOn: m.now}
	m.invites[v.key] = v
	m.events = append(m.events, mEvent{ws: ws, typ: membershipType(v.kind), sub: "user_added", actorType: "person", actorID: p.userID})
	return expect{status: 201, invite: v}
}

// consent is the guest accepting or declining an invitation (API.md 7):
// one that waits for them is bound to them (invitation_accepted by them)
// or removed (user_removed, its actor the invited email alone, no id);
// anything else is not found. Accepting answers Me, with the invitations
// still waiting.
func (m *model) consent(o op) expect {
	m.signIn(o.person)
	v := m.invites[o.invite]
	if o.person != mGuest || v == nil || !v.pending(m.now) {
		return errorAnswer(404, "resource_not_found")
	}
	v.gone = true
	guest := m.people[mGuest]
	if o.kind == opDecline {
		m.events = append(m.events, mEvent{ws: v.ws, typ: membershipType(v.kind), sub: "user_removed", actorType: "person"})
		return expect{status: 204}
	}
	if v.kind == "site" {
		guest.siteAdmin[v.place] = true
	} else {
		guest.wsRole[v.ws] = v.role
	}
	m.events = append(m.events, mEvent{ws: v.ws, typ: membershipType(v.kind), sub: "invitation_accepted", actorType: "person", actorID: guest.userID})
	n := 0
	for _, w := range m.invites {
		if w.pending(m.now) {
			n++
		}
	}
	return expect{status: 200, waiting: &n}
}
