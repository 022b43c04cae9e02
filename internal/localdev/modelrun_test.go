package localdev_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/localdev"
	"github.com/tokensmith/tokensmith/internal/localdev/issuer"
	"github.com/tokensmith/tokensmith/internal/token"
)

// modelSettings reads MODEL_OPS and MODEL_SEED: `make test` runs a short
// run with a fresh seed, `make stress` a long one; a seed printed by a
// failure replays its run.
func modelSettings() (int, uint64) {
	ops, seed := 500, uint64(time.Now().UnixNano())
	if v, err := strconv.Atoi(os.Getenv("MODEL_OPS")); err == nil {
		ops = v
	}
	if v, err := strconv.ParseUint(os.Getenv("MODEL_SEED"), 10, 64); err == nil {
		seed = v
	}
	return ops, seed
}

// world is the local stack seeded for the model: two workspaces, three
// sites with small rate limits, five people.
type world struct {
	e       *env
	clk     *clock
	m       *model
	bearer  map[string]string       // person -> user token
	w1, w2  string                  // workspace ids: enterprise (its plan changes), free
	a, b, c string                  // site ids: a and b in w1, c in w2
	seen    map[string]int          // workspace id -> audit events compared so far
	log     []string                // the operations so far, one a line
	stats   map[string]int          // op and status -> count
	clients map[string]*http.Client // source address -> a client whose calls come from it
	sources []string                // the addresses uses come from, mSource first
}

// via returns a client whose connections go to addr, whatever the URL says.
func via(addr string) *http.Client {
	var d net.Dialer
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	return &http.Client{Transport: &http.Transport{DialContext: dial}}
}

// modelStart is where the model's clock starts: a whole minute, so windows
// and the clock's whole-second steps line up.
var modelStart = time.Date(2026, time.November, 24, 12, 0, 0, 0, time.UTC)

func newWorld(t *testing.T) *world {
	clk := &clock{now: modelStart}
	e := newEnvWith(t, 0, clk.Now)
	ctx := context.Background()
	ops := e.stack.Operator
	w := &world{e: e, clk: clk, m: newModel(modelStart), bearer: map[string]string{}, w1: e.demo.WorkspaceID, a: e.demo.SiteID,
		seen: map[string]int{}, stats: map[string]int{}, clients: map[string]*http.Client{}}
	// Uses come from the default address, two other loopback addresses and,
	// where the machine has IPv6, ::1, through a second listener of the same
	// server (API.md 16: the local gateway takes the TCP peer as the source).
	for _, s := range []string{mSource, "127.0.0.2", "127.0.0.3"} {
		w.sources, w.clients[s] = append(w.sources, s), from(s)
	}
	if l, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		t.Cleanup(func() { l.Close() })
		go e.srv.Config.Serve(l)
		w.sources, w.clients["::1"] = append(w.sources, "::1"), via(l.Addr().String())
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := ops.SetSitePlan(ctx, w.a, tokensmith.SitePlanEnterprise, 4)
	must(err)
	b, err := ops.CreateSite(ctx, w.w1, "Bistromath", "bistromath", tokensmith.SitePlanEnterprise)
	must(err)
	_, err = ops.SetSitePlan(ctx, b.ID, tokensmith.SitePlanEnterprise, 3)
	must(err)
	ws2, err := ops.CreateWorkspace(ctx, "vogons", "Vogons", tokensmith.PlanFree)
	must(err)
	c, err := ops.CreateSite(ctx, ws2.ID, "Constructor Fleet", "constructor-fleet", tokensmith.SitePlanEnterprise)
	must(err)
	_, err = ops.SetSitePlan(ctx, c.ID, tokensmith.SitePlanEnterprise, 5)
	must(err)
	w.b, w.w2, w.c = b.ID, ws2.ID, c.ID
	_, err = ops.AddMember(ctx, w.w1, w.a, "zaphod@example.com", tokensmith.RoleAdmin)
	must(err)
	_, err = ops.AddMember(ctx, w.w2, "", "jeltz@example.com", tokensmith.RoleAdmin)
	must(err)

	m := w.m
	m.plans[w.w1], m.plans[w.w2] = "enterprise", "free"
	m.sites[w.a] = mSite{id: w.a, ws: w.w1, plan: "enterprise", custom: 4, rateLimit: 4}
	m.sites[w.b] = mSite{id: w.b, ws: w.w1, plan: "enterprise", custom: 3, rateLimit: 3}
	m.sites[w.c] = mSite{id: w.c, ws: w.w2, plan: "enterprise", custom: 5, rateLimit: 5}
	for _, p := range []struct {
		name, email string
		ws          map[string]string
		sites       map[string]bool
	}{
		{"admin", localdev.DemoAdminEmail, map[string]string{w.w1: "admin"}, nil},
		{"member", localdev.DemoMemberEmail, map[string]string{w.w1: "member"}, nil},
		{"siteadmin", "zaphod@example.com", nil, map[string]bool{w.a: true}},
		{"vogon", "jeltz@example.com", map[string]string{w.w2: "admin"}, nil},
		{"stranger", "marvin@example.com", nil, nil},
		{mGuest, "guest@example.com", map[string]string{}, map[string]bool{}},
	} {
		tok, err := e.stack.Issuer.Sign(issuer.Claims{Email: p.email}, time.Now(), 12*time.Hour)
		must(err)
		w.bearer[p.name] = tok
		// The first call binds the person's invitations (and writes
		// invitation_accepted): done here, before the events are compared.
		me := e.do("GET", "/v2/me", tok, "")
		if me.status != 200 {
			t.Fatalf("GET /v2/me as %s = %d %s", p.name, me.status, me.raw)
		}
		m.people[p.name] = &mPerson{name: p.name, userID: me.str("user", "id"), wsRole: p.ws, siteAdmin: p.sites}
	}
	for _, ws := range []string{w.w1, w.w2} {
		c, err := e.stack.Store.AuditCounters(ctx, ws)
		must(err)
		w.seen[ws] = int(c.Seq)
	}
	return w
}

// bodies are the create bodies the run draws from, with what the contract
// makes of each.
var bodies = []*bodyCase{
	{json: `{"name":"CMS sync","permissions":{"sites":"read","cms":"read_write"}}`, kind: "site", name: "CMS sync",
		perms: map[string]string{"sites": "read", "cms": "read_write"}, scope: "cms:read,cms:write,sites:read"},
	{json: `{"name":"  CMS sync ","permissions":{"cms":"read_write","sites":"read","forms":"none"}}`, kind: "site", name: "CMS sync",
		perms: map[string]string{"sites": "read", "cms": "read_write"}, scope: "cms:read,cms:write,sites:read"},
	{json: `{"name":"Forms","permissions":{"forms":"read"}}`, kind: "site", name: "Forms",
		perms: map[string]string{"forms": "read"}, scope: "forms:read"},
	{json: `{"name":"Reader","permissions":{"sites":"read"}}`, kind: "site", name: "Reader",
		perms: map[string]string{"sites": "read"}, scope: "sites:read"},
	{json: `{"name":"","permissions":{"sites":"read"}}`, kind: "site", invalid: "name"},
	{json: `{"name":"x","permissions":{"workspace_activity":"read"}}`, kind: "site", invalid: "permissions.workspace_activity"},
	{json: `{"name":"x","permissions":{"sites":"none"}}`, kind: "site", invalid: "permissions"},
	{json: `{"name":`, kind: "site", badRequest: true},
	{json: `{"name":"Pinned","permissions":{"sites":"read"},"allowedIps":["127.0.0.1/32"]}`, kind: "site", name: "Pinned",
		perms: map[string]string{"sites": "read"}, scope: "sites:read", allowedIPs: []string{"127.0.0.1/32"}},
	{json: `{"name":"Pinned","permissions":{"sites":"read"},"allowedIps":["127.0.0.0/31","2001:DB8::/32","0:0::1/128","127.0.0.0/31"]}`,
		kind: "site", name: "Pinned", perms: map[string]string{"sites": "read"}, scope: "sites:read",
		allowedIPs: []string{"127.0.0.0/31", "2001:db8::/32", "::1/128"}},
	{json: `{"name":"Pinned elsewhere","permissions":{"sites":"read","cms":"read"},"allowedIps":["10.0.0.0/8","127.0.0.2/32"]}`, kind: "site",
		name: "Pinned elsewhere", perms: map[string]string{"sites": "read", "cms": "read"}, scope: "cms:read,sites:read",
		allowedIPs: []string{"10.0.0.0/8", "127.0.0.2/32"}},
	{json: `{"name":"Reader","permissions":{"sites":"read"},"allowedIps":[]}`, kind: "site", name: "Reader",
		perms: map[string]string{"sites": "read"}, scope: "sites:read"},
	{json: `{"name":"x","permissions":{"sites":"read"},"allowedIps":["127.0.0.1/24"]}`, kind: "site", invalid: "allowedIps[0]"},
	{json: `{"name":"x","permissions":{"sites":"read"},"allowedIps":"127.0.0.1/32"}`, kind: "site", wrongType: "allowedIps"},
	{json: `{"name":"Day","permissions":{"sites":"read"},"expiresInDays":1}`, kind: "site", name: "Day",
		perms: map[string]string{"sites": "read"}, scope: "sites:read", days: 1},
	{json: `{"name":"Week","permissions":{"sites":"read","cms":"read"},"expiresInDays":7}`, kind: "site", name: "Week",
		perms: map[string]string{"sites": "read", "cms": "read"}, scope: "cms:read,sites:read", days: 7},
	{json: `{"name":"Leap year","permissions":{"sites":"read"},"expiresInDays":366}`, kind: "site", name: "Leap year",
		perms: map[string]string{"sites": "read"}, scope: "sites:read", days: 366},
	{json: `{"name":"Reader","permissions":{"sites":"read"},"expiresInDays":null}`, kind: "site", name: "Reader",
		perms: map[string]string{"sites": "read"}, scope: "sites:read"},
	{json: `{"name":"x","permissions":{"sites":"read"},"expiresInDays":0}`, kind: "site", invalid: "expiresInDays"},
	{json: `{"name":"x","permissions":{"sites":"read"},"expiresInDays":367}`, kind: "site", invalid: "expiresInDays"},
	{json: `{"name":"x","permissions":{"sites":"read"},"expiresInDays":"7"}`, kind: "site", wrongType: "expiresInDays"},
	{json: `{"name":"Audit week","permissions":{"workspace_activity":"read"},"expiresInDays":7}`, kind: "workspace", name: "Audit week",
		perms: map[string]string{"workspace_activity": "read"}, scope: "workspace_activity:read", days: 7},
	{json: `{"name":"Audit export","permissions":{"workspace_activity":"read"}}`, kind: "workspace", name: "Audit export",
		perms: map[string]string{"workspace_activity": "read"}, scope: "workspace_activity:read"},
	{json: `{"name":" Audit export","permissions":{"workspace_activity":"read"}}`, kind: "workspace", name: "Audit export",
		perms: map[string]string{"workspace_activity": "read"}, scope: "workspace_activity:read"},
	{json: `{"name":"Audit two","permissions":{"workspace_activity":"read"}}`, kind: "workspace", name: "Audit two",
		perms: map[string]string{"workspace_activity": "read"}, scope: "workspace_activity:read"},
	{json: `{"name":"Audit pinned","permissions":{"workspace_activity":"read"},"allowedIps":["127.0.0.2/32"]}`, kind: "workspace",
		name: "Audit pinned", perms: map[string]string{"workspace_activity": "read"}, scope: "workspace_activity:read",
		allowedIPs: []string{"127.0.0.2/32"}},
	{json: `{"name":"x","permissions":{"workspace_activity":"read"},"allowedIps":["127.0.0.1/32","::ffff:127.0.0.0/104"]}`, kind: "workspace",
		invalid: "allowedIps[1]"},
	{json: `{"name":"x","permissions":{"sites":"read"}}`, kind: "workspace", invalid: "permissions.sites"},
	{json: `{"name":"x","permissions":{"workspace_activity":"read_write"}}`, kind: "workspace", invalid: "permissions.workspace_activity"},
}

func init() {
	for _, b := range bodies {
		if b.invalid == "" && b.wrongType == "" && !b.badRequest {
			keys := make([]string, 0, len(b.perms))
			for k := range b.perms {
				keys = append(keys, k+"="+b.perms[k])
			}
			sort.Strings(keys)
			b.canon = b.name + "|" + strings.Join(keys, ",") + "|" + strings.Join(b.allowedIPs, ",") + "|" + fmt.Sprint(b.days)
		}
	}
}

// pick returns one of choices, weighted.
func pick[T any](r *mrand.Rand, choices ...weighted[T]) T {
	total := 0
	for _, c := range choices {
		total += c.w
	}
	n := r.IntN(total)
	for _, c := range choices {
		if n < c.w {
			return c.v
		}
		n -= c.w
	}
	panic("unreachable")
}

type weighted[T any] struct {
	w int
	v T
}

func wt[T any](weight int, v T) weighted[T] { return weighted[T]{weight, v} }

// gen draws operations from the model's state.
type gen struct {
	r   *mrand.Rand
	w   *world
	ids int
}

func (g *gen) owner() (string, string) {
	w := g.w
	o := pick(g.r, wt(35, "a"), wt(15, "b"), wt(25, "w1"), wt(10, "c"), wt(10, "w2"), wt(3, "site?"), wt(2, "ws?"))
	switch o {
	case "a":
		return "site", w.a
	case "b":
		return "site", w.b
	case "c":
		return "site", w.c
	case "w1":
		return "workspace", w.w1
	case "w2":
		return "workspace", w.w2
	case "site?":
		return "site", "0000000a00000000000000ff"
	}
	return "workspace", "0000000a00000000000000fe"
}

// person is mostly someone who may act on the owner, else anyone.
func (g *gen) person(owner string) string {
	if g.r.IntN(100) < 65 {
		switch owner {
		case g.w.a:
			return pick(g.r, wt(2, "admin"), wt(1, "siteadmin"))
		case g.w.b, g.w.w1:
			return "admin"
		case g.w.c, g.w.w2:
			return "vogon"
		}
	}
	return pick(g.r, wt(40, "admin"), wt(15, "siteadmin"), wt(15, "member"), wt(15, "vogon"), wt(15, "stranger"), wt(10, mGuest))
}

// invitation is mostly one that waits for the guest, else any the model
// knows of, else an id of nothing.
func (g *gen) invitation() (string, int) {
	m := g.w.m
	var pool, waiting []*mInvite
	for _, v := range m.invitesInOrder() {
		if v.id != "" {
			pool = append(pool, v)
			if v.pending(m.now) {
				waiting = append(waiting, v)
			}
		}
	}
	if len(waiting) > 0 && g.r.IntN(4) > 0 {
		pool = waiting
	}
	if len(pool) == 0 || g.r.IntN(10) == 0 {
		return fmt.Sprintf("0000000b%016x", g.r.Uint64()), 0
	}
	v := pool[g.r.IntN(len(pool))]
	return v.id, v.key
}

// tokens returns the model's tokens in key order, so that a seed replays.
func (g *gen) tokens(filter func(*mToken) bool) []*mToken {
	var out []*mToken
	for _, t := range g.w.m.all {
		if t.granted && (filter == nil || filter(t)) {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func (g *gen) tokenID(kind, owner string) (string, int) {
	m := g.w.m
	var pool []*mToken
	switch g.r.IntN(10) {
	case 0:
		return fmt.Sprintf("0000000b%016x", g.r.Uint64()), 0
	case 1, 2:
		pool = g.tokens(nil)
	default:
		pool = g.tokens(func(t *mToken) bool { return t.kind == kind && ownerOf(t) == owner })
		// Mostly live ones: dead ones are a 404 each time.
		if live := g.tokens(func(t *mToken) bool {
			return t.kind == kind && ownerOf(t) == owner && m.tokens[t.key] != nil && t.active(m.now)
		}); len(live) > 0 && g.r.IntN(4) > 0 {
			pool = live
		}
	}
	if len(pool) == 0 {
		return fmt.Sprintf("0000000b%016x", g.r.Uint64()), 0
	}
	t := pool[g.r.IntN(len(pool))]
	return t.id, t.key
}

func (g *gen) secret() string {
	m := g.w.m
	switch pick(g.r, wt(60, "current"), wt(20, "previous"), wt(10, "dead"), wt(10, "garbage")) {
	case "current":
		if live := g.tokens(func(t *mToken) bool { return m.tokens[t.key] != nil && t.active(m.now) }); len(live) > 0 {
			return live[g.r.IntN(len(live))].current()
		}
	case "previous":
		if ts := g.tokens(func(t *mToken) bool { return len(t.secrets) > 1 }); len(ts) > 0 {
			t := ts[g.r.IntN(len(ts))]
			if t.prev != "" && g.r.IntN(2) == 0 {
				return t.prev
			}
			return t.secrets[g.r.IntN(len(t.secrets)-1)]
		}
	case "dead":
		if ts := g.tokens(func(t *mToken) bool { return m.tokens[t.key] == nil || !t.active(m.now) }); len(ts) > 0 {
			return ts[g.r.IntN(len(ts))].current()
		}
	}
	if g.r.IntN(3) == 0 {
		return "tss_garbage"
	}
	s, _ := token.Generate(token.Kind(pick(g.r, wt(1, "site"), wt(1, "workspace"))), rand.Reader)
	return s
}

func (g *gen) advance() time.Duration {
	m := g.w.m
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	switch pick(g.r, wt(35, "small"), wt(30, "window"), wt(12, "hours"), wt(3, "big"), wt(20, "edge")) {
	case "small":
		return sec(1 + g.r.IntN(59))
	case "window":
		return sec(60 + g.r.IntN(60))
	case "hours":
		return sec(3600 * (1 + g.r.IntN(72)))
	case "big":
		if m.now.Sub(modelStart) > 20*365*24*time.Hour {
			return time.Hour
		}
		return pick(g.r, wt(1, 30*24*time.Hour), wt(1, 200*24*time.Hour), wt(1, 364*24*time.Hour), wt(1, 366*24*time.Hour))
	}
	// An edge the model knows of: a second before or at the expiry of a
	// token, the end of a grace period, an idempotency record's end, the
	// next window. Expiries come seldom, as each ends a year.
	var edges []time.Time
	switch pick(g.r, wt(2, "expiry"), wt(6, "grace"), wt(3, "idempotency"), wt(6, "window"), wt(3, "lapse")) {
	case "lapse":
		for _, v := range m.invitesInOrder() {
			if v.pending(m.now) {
				edges = append(edges, v.addedOn.Add(mLapse))
			}
		}
	case "expiry":
		for _, t := range g.tokens(func(t *mToken) bool { return m.tokens[t.key] != nil }) {
			edges = append(edges, t.expiresOn)
		}
	case "grace":
		for _, t := range g.tokens(func(t *mToken) bool { return m.tokens[t.key] != nil && t.prev != "" }) {
			edges = append(edges, t.graceUntil)
		}
	case "idempotency":
		keys := make([]string, 0, len(m.idem))
		for k := range m.idem {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			edges = append(edges, m.idem[k].expires)
		}
	}
	edges = append(edges, m.now.Truncate(mWindow).Add(mWindow))
	var future []time.Time
	for _, e := range edges {
		if e.After(m.now.Add(time.Second)) {
			future = append(future, e)
		}
	}
	if len(future) == 0 {
		return time.Second
	}
	to := future[g.r.IntN(len(future))]
	if g.r.IntN(2) == 0 {
		to = to.Add(-time.Second)
	}
	return to.Sub(m.now)
}

var graces = []int64{0, 60, 3600, 86400, mMaxGrace}

// lifetimes are the expiresInDays a regenerate asks for, some refused.
var lifetimes = []int64{1, 7, 30, 366, 0, 367}

// next draws one operation.
func (g *gen) next() op {
	o := op{kind: pick(g.r, wt(20, opCreate), wt(7, opList), wt(7, opGet), wt(8, opRevoke), wt(12, opRegenerate),
		wt(30, opUse), wt(6, opRevokeSecret), wt(8, opClock), wt(2, opPlan), wt(2, opSitePlan),
		wt(3, opInvite), wt(3, opAccept), wt(2, opDecline), wt(3, opPolicy))}
	switch o.kind {
	case opPolicy:
		// Mostly the enterprise workspace's admin, whose tokens are made
		// the most; a policy set is often lifted again.
		o.ownerKind, o.ownerID = "workspace", pick(g.r, wt(5, g.w.w1), wt(1, g.w.w2))
		o.person = g.person(o.ownerID)
		if g.r.IntN(4) > 0 {
			o.person = map[string]string{g.w.w1: "admin", g.w.w2: "vogon"}[o.ownerID]
		}
		d := pick(g.r, wt(4, int64(0)), wt(2, int64(7)), wt(2, int64(30)), wt(1, int64(1)), wt(1, int64(366)), wt(1, int64(367)))
		o.days = &d
		return o
	case opInvite:
		o.ownerKind, o.ownerID = g.owner()
		if o.person = g.person(o.ownerID); o.person == mGuest {
			o.person = "admin"
		}
		o.role = "admin"
		if o.ownerKind == "workspace" && g.r.IntN(2) == 0 {
			o.role = "member"
		}
		return o
	case opAccept, opDecline:
		o.person = mGuest
		if g.r.IntN(10) == 0 {
			o.person = g.person("")
		}
		o.tokenID, o.invite = g.invitation()
		return o
	case opClock:
		o.advance = g.advance()
		return o
	case opPlan:
		o.ownerKind, o.ownerID, o.plan = "workspace", g.w.w1, "free"
		if g.w.m.plans[g.w.w1] == "free" {
			o.plan = "enterprise"
		}
		return o
	case opSitePlan:
		// Mostly enterprise with a limit small enough to reach, now and
		// then another plan's 60, 120 or enterprise's default of 600.
		o.ownerKind, o.ownerID = "site", pick(g.r, wt(2, g.w.a), wt(2, g.w.b), wt(1, g.w.c))
		o.plan = pick(g.r, wt(12, "enterprise"), wt(1, "starter"), wt(1, "basic"), wt(1, "cms"), wt(1, "ecommerce"), wt(1, "business"))
		if o.plan == "enterprise" && g.r.IntN(6) > 0 {
			o.rateLimit = int64(1 + g.r.IntN(6))
		}
		return o
	case opUse:
		o.secret = g.secret()
		if g.r.IntN(100) < 25 {
			o.source = g.w.sources[1+g.r.IntN(len(g.w.sources)-1)]
		}
		o.route = pick(g.r, wt(35, "sites"), wt(20, "site"), wt(30, "introspect"), wt(15, "audit"), wt(10, "cms"))
		switch o.route {
		case "site", "cms":
			o.routeID = pick(g.r, wt(3, g.w.a), wt(1, g.w.b), wt(1, g.w.c))
		case "audit":
			o.routeID = pick(g.r, wt(3, g.w.w1), wt(1, g.w.w2))
		}
		return o
	case opRevokeSecret:
		o.secret = g.secret()
		return o
	}
	o.ownerKind, o.ownerID = g.owner()
	if o.kind == opRegenerate && o.ownerKind == "workspace" {
		o.ownerKind, o.ownerID = "site", g.w.a // workspace tokens have no regenerate route
	}
	o.person = g.person(o.ownerID)
	switch o.kind {
	case opCreate:
		var fit []*bodyCase
		for _, b := range bodies {
			if b.kind == o.ownerKind || (b.canon != "" && g.r.IntN(10) == 0) {
				fit = append(fit, b)
			}
		}
		o.body = fit[g.r.IntN(len(fit))]
		switch n := g.r.IntN(100); {
		case n < 3:
			o.idemKey = "too-short"
		case n < 35:
			o.idemKey = fmt.Sprintf("model-idempotency-%d", g.r.IntN(4))
		}
	case opGet, opRevoke, opRegenerate:
		o.tokenID, o.tokenKey = g.tokenID(o.ownerKind, o.ownerID)
		if o.kind == opRegenerate && g.r.IntN(10) < 7 {
			gr := graces[g.r.IntN(len(graces))]
			if g.r.IntN(20) == 0 {
				gr = pick(g.r, wt(1, int64(-1)), wt(1, int64(mMaxGrace+1)))
			}
			o.grace = &gr
		}
		if o.kind == opRegenerate && g.r.IntN(10) < 3 {
			d := lifetimes[g.r.IntN(len(lifetimes))]
			o.days = &d
		}
	}
	return o
}

// send performs o against the stack and returns its answer; a clock or
// plan change answers nothing.
func (w *world) send(o op) response {
	e := w.e
	base := "/v2/sites/" + o.ownerID + "/tokens"
	if o.ownerKind == "workspace" {
		base = "/v2/workspaces/" + o.ownerID + "/tokens"
	}
	bearer := w.bearer[o.person]
	switch o.kind {
	case opClock:
		w.clk.Add(o.advance)
		return response{}
	case opPlan:
		if _, err := e.stack.Operator.SetPlan(context.Background(), o.ownerID, tokensmith.Plan(o.plan)); err != nil {
			e.t.Fatalf("set plan: %v", err)
		}
		return response{}
	case opSitePlan:
		if _, err := e.stack.Operator.SetSitePlan(context.Background(), o.ownerID, tokensmith.SitePlan(o.plan), o.rateLimit); err != nil {
			e.t.Fatalf("set site plan: %v", err)
		}
		return response{}
	case opCreate:
		var h []string
		if o.idemKey != "" {
			h = []string{"Idempotency-Key", o.idemKey}
		}
		return e.do("POST", base, bearer, o.body.json, h...)
	case opList:
		return e.do("GET", base, bearer, "")
	case opGet:
		return e.do("GET", base+"/"+o.tokenID, bearer, "")
	case opRevoke:
		return e.do("DELETE", base+"/"+o.tokenID, bearer, "")
	case opRegenerate:
		var fields []string
		if o.grace != nil {
			fields = append(fields, fmt.Sprintf(`"gracePeriodSeconds":%d`, *o.grace))
		}
		if o.days != nil {
			fields = append(fields, fmt.Sprintf(`"expiresInDays":%d`, *o.days))
		}
		body := ""
		if fields != nil {
			body = "{" + strings.Join(fields, ",") + "}"
		}
		return e.do("POST", base+"/"+o.tokenID+"/regenerate", bearer, body)
	case opUse:
		path := map[string]string{"sites": "/v2/sites", "site": "/v2/sites/" + o.routeID, "introspect": "/v2/token/introspect",
			"audit": "/v2/workspaces/" + o.routeID + "/audit_logs?limit=1", "cms": "/v2/sites/" + o.routeID + "/collections"}[o.route]
		src := o.source
		if src == "" {
			src = mSource
		}
		return e.send(w.clients[src], "GET", path, o.secret, "")
	case opRevokeSecret:
		b, _ := json.Marshal(map[string]string{"token": o.secret})
		return e.do("POST", "/v2/token/revoke", "", string(b))
	case opPolicy:
		v := "null"
		if *o.days != 0 {
			v = strconv.FormatInt(*o.days, 10)
		}
		return e.do("PATCH", "/v2/workspaces/"+o.ownerID+"/settings", bearer, `{"maxTokenLifetimeDays":`+v+`}`)
	case opInvite:
		if o.ownerKind == "site" {
			return e.do("POST", "/v2/sites/"+o.ownerID+"/members", bearer, `{"email":"guest@example.com"}`)
		}
		return e.do("POST", "/v2/workspaces/"+o.ownerID+"/members", bearer, `{"email":"guest@example.com","role":"`+o.role+`"}`)
	case opAccept:
		return e.do("POST", "/v2/me/invitations/"+o.tokenID+"/accept", bearer, "")
	case opDecline:
		return e.do("POST", "/v2/me/invitations/"+o.tokenID+"/decline", bearer, "")
	}
	panic("unknown op")
}

func mTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// diffView compares an ApiToken the service shows with the model's.
func diffView(want mTokenView, got map[string]any) []string {
	var d []string
	str := func(k string) string { s, _ := got[k].(string); return s }
	check := func(field, g, w string) {
		if g != w {
			d = append(d, fmt.Sprintf("%s = %q; want %q", field, g, w))
		}
	}
	if want.id != "" {
		check("id", str("id"), want.id)
	}
	check("kind", str("kind"), want.kind)
	check("name", str("name"), want.name)
	check("workspaceId", str("workspaceId"), want.ws)
	if _, ok := got["siteId"]; want.kind == "workspace" && ok {
		d = append(d, "a workspace token shows siteId")
	}
	if want.kind == "site" {
		check("siteId", str("siteId"), want.site)
	}
	check("scope", str("scope"), want.scope)
	if want.hint != "" {
		check("displayHint", str("displayHint"), want.hint)
	}
	check("createdOn", str("createdOn"), mTime(want.createdOn))
	check("expiresOn", str("expiresOn"), mTime(want.expiresOn))
	wantAt := "<nil>"
	if want.expiresAt != nil {
		wantAt = mTime(*want.expiresAt)
	}
	check("expiresAt", fmt.Sprint(got["expiresAt"]), wantAt)
	if want.exceeds != nil {
		check("exceedsPolicy", fmt.Sprint(got["exceedsPolicy"]), fmt.Sprint(*want.exceeds))
	} else if v, ok := got["exceedsPolicy"]; ok {
		d = append(d, fmt.Sprintf("exceedsPolicy = %v outside a list", v))
	}
	by, _ := got["createdBy"].(map[string]any)
	check("createdBy.id", fmt.Sprint(by["id"]), want.createdBy)
	wantLast := "<nil>"
	if want.lastUsed != nil {
		wantLast = mTime(*want.lastUsed)
	}
	check("lastUsed", fmt.Sprint(got["lastUsed"]), wantLast)
	check("useCount", fmt.Sprint(got["useCount"]), fmt.Sprint(want.useCount))
	check("allowedIps", fmt.Sprint(got["allowedIps"]), fmt.Sprint(append([]string{}, want.allowedIPs...)))
	if _, ok := got["allowedIps"].([]any); !ok {
		d = append(d, fmt.Sprintf("allowedIps = %v; want an array", got["allowedIps"]))
	}
	wantScopes := map[string]string{}
	for _, sc := range strings.Split(want.scope, ",") {
		wantScopes[sc] = "<nil>"
		if at, ok := want.scopeUsed[sc]; ok {
			wantScopes[sc] = mTime(at)
		}
	}
	gotScopes := map[string]string{}
	if m, ok := got["scopeLastUsed"].(map[string]any); ok {
		for k, v := range m {
			gotScopes[k] = fmt.Sprint(v)
		}
	}
	if !reflect.DeepEqual(gotScopes, wantScopes) {
		d = append(d, fmt.Sprintf("scopeLastUsed = %v; want %v", gotScopes, wantScopes))
	}
	perms := map[string]string{}
	if p, ok := got["permissions"].(map[string]any); ok {
		for k, v := range p {
			perms[k] = fmt.Sprint(v)
		}
	}
	if !reflect.DeepEqual(perms, want.perms) {
		d = append(d, fmt.Sprintf("permissions = %v; want %v", perms, want.perms))
	}
	return d
}

// diff compares the service's answer with the model's.
func diff(want expect, got response) []string {
	var d []string
	if got.status != want.status {
		return []string{fmt.Sprintf("status %d %s; want %d %s (body %s)", got.status, got.str("code"), want.status, want.code, got.raw)}
	}
	if want.code != "" && got.str("code") != want.code {
		d = append(d, fmt.Sprintf("code %q; want %q (body %s)", got.str("code"), want.code, got.raw))
	}
	if want.field != "" {
		found := false
		details, _ := got.body["details"].([]any)
		for _, x := range details {
			if m, _ := x.(map[string]any); m["field"] == want.field {
				found = true
			}
		}
		if !found {
			d = append(d, fmt.Sprintf("details %v; want one on %s", details, want.field))
		}
	}
	limit, remaining, reset, retry := rateHeaders(got)
	if want.nextDay > 0 {
		if limit != "" || retry != fmt.Sprint(want.nextDay) {
			d = append(d, fmt.Sprintf("X-RateLimit-Limit %q, Retry-After %q; want none, %d (the next UTC day)", limit, retry, want.nextDay))
		}
	} else if want.rate == nil {
		if limit != "" || retry != "" {
			d = append(d, fmt.Sprintf("rate-limit headers %q %q on an answer that carries none", limit, retry))
		}
	} else {
		r := want.rate
		if limit != fmt.Sprint(r.limit) || remaining != fmt.Sprint(r.remaining) || reset != fmt.Sprint(r.reset) {
			d = append(d, fmt.Sprintf("X-RateLimit-Limit %s, -Remaining %s, -Reset %s; want %d, %d, %d", limit, remaining, reset, r.limit, r.remaining, r.reset))
		}
		if want.status == 429 && retry != fmt.Sprint(r.retryAfter) {
			d = append(d, fmt.Sprintf("Retry-After %q; want %d", retry, r.retryAfter))
		}
	}
	if want.token != nil {
		d = append(d, diffView(*want.token, got.body)...)
	}
	if want.list != nil || (want.status == 200 && got.body["apiTokens"] != nil) {
		items, _ := got.body["apiTokens"].([]any)
		if len(items) != len(want.list) {
			d = append(d, fmt.Sprintf("%d tokens listed; want %d", len(items), len(want.list)))
		} else {
			for i, it := range items {
				m, _ := it.(map[string]any)
				for _, x := range diffView(want.list[i], m) {
					d = append(d, fmt.Sprintf("listed[%d] %s", i, x))
				}
			}
		}
	}
	api, _ := got.body["apiToken"].(map[string]any)
	if want.replay != nil {
		if got.header.Get("Idempotent-Replayed") != "true" {
			d = append(d, "a replay without Idempotent-Replayed: true")
		}
		if got.str("token") != want.replay.secret {
			d = append(d, "a replay with another secret")
		}
		d = append(d, diffView(want.replay.snap, api)...)
	}
	if t := want.minted; t != nil {
		if got.header.Get("Idempotent-Replayed") != "" {
			d = append(d, "a new token marked Idempotent-Replayed")
		}
		secret := got.str("token")
		prefix := map[string]string{"site": "tss_", "workspace": "tsw_"}[t.kind]
		if _, err := token.Parse(secret); err != nil || !strings.HasPrefix(secret, prefix) {
			d = append(d, fmt.Sprintf("secret %q is not a %s token", secret, t.kind))
		}
		for _, s := range t.secrets[:len(t.secrets)-1] {
			if s == secret {
				d = append(d, "regenerate answered an old secret")
			}
		}
		v := t.view()
		v.hint = secret[:4] + "…" + secret[len(secret)-4:] // the contract's display hint
		d = append(d, diffView(v, api)...)
	}
	if (want.minted != nil || want.replay != nil) && got.header.Get("Cache-Control") != "no-store" {
		d = append(d, "a secret without Cache-Control: no-store")
	}
	if v := want.invite; v != nil && (got.str("email") != "guest@example.com" || got.str("role") != v.role || got.body["userId"] != nil) {
		d = append(d, fmt.Sprintf("invitation %s; want guest@example.com as %s, userId null", got.raw, v.role))
	}
	if want.policy != nil {
		wantDays := "<nil>"
		if *want.policy != 0 {
			wantDays = strconv.FormatInt(*want.policy, 10)
		}
		if v, ok := got.body["maxTokenLifetimeDays"]; !ok || fmt.Sprint(v) != wantDays {
			d = append(d, fmt.Sprintf("settings %s; want maxTokenLifetimeDays %s", got.raw, wantDays))
		}
	}
	if want.waiting != nil {
		if invs, _ := got.body["invitations"].([]any); len(invs) != *want.waiting {
			d = append(d, fmt.Sprintf("%d invitations waiting; want %d (body %s)", len(invs), *want.waiting, got.raw))
		}
	}
	if want.didRevoke != nil && got.body["didRevoke"] != *want.didRevoke {
		d = append(d, fmt.Sprintf("didRevoke %v; want %v", got.body["didRevoke"], *want.didRevoke))
	}
	if want.siteID != "" {
		id := got.str("id")
		if sites, ok := got.body["sites"].([]any); ok {
			id = ""
			if len(sites) == 1 {
				id, _ = sites[0].(map[string]any)["id"].(string)
			}
		}
		if id != want.siteID {
			d = append(d, fmt.Sprintf("site %q; want %q (body %s)", id, want.siteID, got.raw))
		}
	}
	if in := want.intro; in != nil {
		a, _ := got.body["authorization"].(map[string]any)
		to, _ := a["authorizedTo"].(map[string]any)
		wantSites := "[]"
		if in.kind == "site" {
			wantSites = "[" + in.site + "]"
		}
		if a["id"] != in.id || a["kind"] != in.kind || a["scope"] != in.scope || fmt.Sprint(a["rateLimit"]) != fmt.Sprint(want.introRate) ||
			fmt.Sprint(a["allowedIps"]) != fmt.Sprint(append([]string{}, in.allowedIPs...)) ||
			fmt.Sprint(to["siteIds"]) != wantSites || fmt.Sprint(to["workspaceIds"]) != "["+in.ws+"]" {
			d = append(d, fmt.Sprintf("introspect %s; want id %s kind %s scope %s rateLimit %d", got.raw, in.id, in.kind, in.scope, want.introRate))
		}
		if !in.createdOn.IsZero() {
			wantLast := "<nil>"
			if in.lastUsed != nil {
				wantLast = mTime(*in.lastUsed)
			}
			if fmt.Sprint(a["lastUsed"]) != wantLast || a["expiresOn"] != mTime(in.expiresOn) || a["createdOn"] != mTime(in.createdOn) {
				d = append(d, fmt.Sprintf("introspect times %v %v %v; want %s %s %s", a["createdOn"], a["lastUsed"], a["expiresOn"], mTime(in.createdOn), wantLast, mTime(in.expiresOn)))
			}
		}
	}
	return d
}

// events returns the service's audit events written since the last call,
// described as the model describes its own.
func (w *world) events() []string {
	var out []string
	for _, ws := range []string{w.w1, w.w2} {
		page, err := w.e.stack.Store.AuditEvents(context.Background(), ws, tokensmith.AuditQuery{Limit: 100, Offset: w.seen[ws]})
		if err != nil {
			w.e.t.Fatalf("audit events: %v", err)
		}
		w.seen[ws] += len(page.Events)
		for _, ev := range page.Events {
			s := fmt.Sprintf("%s %s/%s actor=%s:%s", ev.Workspace.ID, ev.Type, ev.SubType, ev.Actor.Type, ev.Actor.ID)
			if tok, ok := ev.Payload["token"].(map[string]any); ok {
				s += fmt.Sprintf(" token=%v hint=%v", tok["id"], tok["displayHint"])
			}
			if ev.Payload["secret"] == "previous" {
				s += " secret=previous"
			}
			if ips, ok := ev.Payload["allowedIps"]; ok {
				s += fmt.Sprintf(" allowedIps=%v", ips)
			}
			s += settingDetail(ev)
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// settingDetail describes the change a setting's event records as the
// model does: a site's plan and rate limit, a workspace's policy (null as
// 0); the plan's own events say nothing more.
func settingDetail(ev tokensmith.Event) string {
	p := ev.Payload
	switch {
	case ev.Type == "site_setting":
		site, _ := p["site"].(map[string]any)
		plan, _ := p["plan"].(map[string]any)
		limit, _ := p["rateLimit"].(map[string]any)
		return fmt.Sprintf(" site=%v plan=%v->%v rateLimit=%v->%v", site["id"], plan["previousValue"], plan["value"], limit["previousValue"], limit["value"])
	case p["setting"] == "maxTokenLifetimeDays":
		days := func(v any) string {
			if v == nil {
				return "0"
			}
			return fmt.Sprint(v)
		}
		return fmt.Sprintf(" maxTokenLifetimeDays=%s->%s", days(p["previousValue"]), days(p["value"]))
	}
	return ""
}

func (w *world) modelEvents(m *model) []string {
	var out []string
	for _, e := range m.takeEvents() {
		out = append(out, m.describe(e))
	}
	sort.Strings(out)
	return out
}

// apply runs o on the model with the service's answer: the differences, if
// any, and the model learns what only the answer can tell.
func apply(m *model, o op, got response) []string {
	want := m.step(o)
	if o.kind == opClock || o.kind == opPlan || o.kind == opSitePlan {
		return nil
	}
	d := diff(want, got)
	if len(d) == 0 && want.minted != nil {
		m.learn(want, got.str("apiToken", "id"), got.str("token"), got.str("apiToken", "displayHint"))
	}
	if len(d) == 0 && want.invite != nil {
		want.invite.id = got.str("id")
	}
	return d
}

func (w *world) note(o op, got response) {
	key := string(o.kind)
	if got.status != 0 {
		key += " " + strconv.Itoa(got.status) + " " + got.str("code")
	}
	switch {
	case got.header.Get("Idempotent-Replayed") == "true":
		key += "(replayed)"
	case o.kind == opRevokeSecret:
		key += fmt.Sprintf("(didRevoke %v)", got.body["didRevoke"])
	case o.kind == opRegenerate && got.status == 200 && o.grace != nil && *o.grace > 0:
		key += "(with grace)"
	case o.kind == opSitePlan:
		key += " " + o.plan
		if o.rateLimit > 0 {
			key += "(own limit)"
		}
	case o.kind == opUse && o.source != "":
		key += "(from " + o.source + ")"
	}
	if t, _ := w.m.bySecret(o.secret); o.kind == opUse && got.status == 401 && t != nil && !t.allows(cmp.Or(o.source, mSource)) {
		key += "(outside its allowlist)"
	}
	w.stats[key]++
}

// TestModelAgreesWithService drives MODEL_OPS random operations through
// the local stack and the reference model side by side: statuses, error
// codes, the tokens shown, rate-limit headers and the audit events of
// every change must agree, through workspace and site plan changes and
// uses from addresses inside and outside tokens' allowlists. Now and then a few operations run at once, and
// their answers must be those of some order of them. The clock moves in
// whole seconds, to the edges the model knows of (expiry, grace, windows,
// idempotency records, invitations' lapse) among others. A guest is invited
// through the API, accepts, declines and lets invitations lapse, and what
// they accepted decides what they may do with tokens.
func TestModelAgreesWithService(t *testing.T) {
	n, seed := modelSettings()
	w := newWorld(t)
	g := &gen{r: mrand.New(mrand.NewPCG(seed, 0x6d6f64656c)), w: w}
	fail := func(i int, what string, d []string) {
		t.Helper()
		from := max(len(w.log)-80, 0)
		t.Fatalf("seed %d (MODEL_SEED=%d MODEL_OPS=%d to replay), op %d: %s disagrees:\n  %s\nlast operations:\n%s",
			seed, seed, n, i+1, what, strings.Join(d, "\n  "), strings.Join(w.log[from:], "\n"))
	}
	batches := 0
	for i := 0; i < n; i++ {
		if g.r.IntN(100) < 5 {
			ops := g.batch()
			if len(ops) > 1 {
				batches++
				w.runBatch(i, ops, fail)
				continue
			}
		}
		o := g.next()
		w.log = append(w.log, fmt.Sprintf("%5d %s @%s", i+1, o, w.m.now.Format(time.RFC3339)))
		got := w.send(o)
		w.note(o, got)
		if d := apply(w.m, o, got); len(d) > 0 {
			fail(i, o.String(), d)
		}
		if gotEv, wantEv := w.events(), w.modelEvents(w.m); !reflect.DeepEqual(gotEv, wantEv) {
			fail(i, o.String()+" (audit events)", []string{fmt.Sprintf("service wrote %q", gotEv), fmt.Sprintf("model wants %q", wantEv)})
		}
	}
	w.checkTable(t)
	keys := make([]string, 0, len(w.stats))
	for k := range w.stats {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s ×%d; ", k, w.stats[k])
	}
	t.Logf("model: seed %d, %d operations (%d concurrent batches), clock moved %s, %d tokens minted: %s",
		seed, n, batches, w.m.now.Sub(modelStart).Round(time.Hour), len(w.m.all), b.String())
}

// batch draws 2 to 4 operations to run at once. Operations on an existing
// token name distinct tokens, so that each answer depends only on the
// order of the creates and on the counts they share. At most one is a site
// plan change, which must reach the tokens created or regenerated beside it
// whichever commits first (API.md 15).
func (g *gen) batch() []op {
	var ops []op
	taken := map[int]bool{}
	sitePlan := false
	for k := 2 + g.r.IntN(3); len(ops) < k; {
		o := g.next()
		switch o.kind {
		case opClock, opPlan, opRevokeSecret, opList, opInvite, opAccept, opDecline:
			continue
		case opSitePlan:
			if sitePlan {
				continue
			}
			sitePlan = true
		case opUse:
			t, _ := g.w.m.bySecret(o.secret)
			if t == nil || taken[t.key] {
				continue
			}
			taken[t.key] = true
		case opGet, opRevoke, opRegenerate:
			if o.tokenKey == 0 || taken[o.tokenKey] {
				continue
			}
			taken[o.tokenKey] = true
		}
		ops = append(ops, o)
	}
	return ops
}

// runBatch sends ops at once and finds an order of them whose model
// answers are the service's, events included; the model goes on from it.
func (w *world) runBatch(i int, ops []op, fail func(int, string, []string)) {
	got := make([]response, len(ops))
	var wg sync.WaitGroup
	for j := range ops {
		w.log = append(w.log, fmt.Sprintf("%5d %s @%s (at once)", i+1, ops[j], w.m.now.Format(time.RFC3339)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[j] = w.send(ops[j])
		}()
	}
	wg.Wait()
	gotEv := w.events()
	var first []string
	for _, order := range permutations(len(ops)) {
		m := w.m.clone()
		var d []string
		for _, j := range order {
			for _, x := range apply(m, ops[j], got[j]) {
				d = append(d, fmt.Sprintf("%s: %s", ops[j], x))
			}
		}
		if len(d) == 0 {
			if wantEv := w.modelEvents(m); !reflect.DeepEqual(gotEv, wantEv) {
				d = append(d, fmt.Sprintf("service wrote %q; model wants %q", gotEv, wantEv))
			}
		}
		if first == nil {
			first = d
		}
		if len(d) == 0 {
			w.m = m
			for j := range ops {
				w.note(ops[j], got[j])
			}
			return
		}
	}
	fail(i, fmt.Sprintf("%d operations at once (no order explains the answers; the first order's differences follow)", len(ops)), first)
}

func permutations(n int) [][]int {
	if n == 1 {
		return [][]int{{0}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for at := 0; at <= len(p); at++ {
			q := append(append(append([]int{}, p[:at]...), n-1), p[at:]...)
			out = append(out, q)
		}
	}
	return out
}

// checkTable holds the table to the model at the end: every token the
// model holds is stored with its live secrets, each carrying the token's
// rate limit (its site's plan's, for a site token) and allowlist; every
// revoked one is gone with all its secrets.
func (w *world) checkTable(t *testing.T) {
	ctx := context.Background()
	st := w.e.stack.Store
	m := w.m
	for _, tk := range w.tokensInOrder() {
		owner := tokensmith.Owner{Kind: token.Kind(tk.kind), ID: ownerOf(tk)}
		rec, err := st.Token(ctx, owner, tk.id)
		if m.tokens[tk.key] == nil {
			if tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
				t.Errorf("revoked token %s: record %v, %v; want none", tk.id, rec.ID, err)
			}
			for _, s := range tk.secrets {
				if _, err := st.Secret(ctx, token.Hash(s)); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
					t.Errorf("revoked token %s: a secret is still stored (%v)", tk.id, err)
				}
			}
			continue
		}
		if err != nil || rec.Active(m.now) != tk.active(m.now) || rec.SecretHash != token.Hash(tk.current()) {
			t.Errorf("token %s: record %+v, %v; want active %v", tk.id, rec, err, tk.active(m.now))
		}
		for _, s := range tk.secrets {
			live, _ := m.bySecret(s)
			sec, err := st.Secret(ctx, token.Hash(s))
			if live != nil && (err != nil || !sec.Active(m.now)) {
				t.Errorf("token %s: a live secret is not stored as live (%v)", tk.id, err)
			}
			if live != nil && err == nil && (sec.TokenRateLimit() != tk.rateLimit || !slices.Equal(sec.AllowedIPs, tk.allowedIPs)) {
				t.Errorf("token %s: a live secret carries rate limit %d and allowlist %v; want %d and %v", tk.id, sec.TokenRateLimit(),
					sec.AllowedIPs, tk.rateLimit, tk.allowedIPs)
			}
		}
	}
}

func (w *world) tokensInOrder() []*mToken {
	var out []*mToken
	for _, t := range w.m.all {
		if t.granted {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}
