package operator_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/dynamotest"
	"github.com/tokensmith/tokensmith/internal/mock"
	"github.com/tokensmith/tokensmith/internal/operator"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

const operatorARN = "arn:aws:sts::123456789012:assumed-role/Operators/zaphod"

// world is a table with two enterprise workspaces: the first with two
// sites, the second with one.
type world struct {
	dir          *operator.Service
	st           *store.Store
	ws, other    tokensmith.Workspace
	siteA, siteB tokensmith.Site
	otherSite    tokensmith.Site
	authz        *authorizer.Authorizer
	now          time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	db, table := dynamotest.NewTable(t)
	st := store.New(db, table)
	dir := operator.New(st)
	dir.Operator = operatorARN
	ctx := context.Background()
	w := &world{dir: dir, st: st, now: time.Now().UTC()}
	var err error
	if w.ws, err = dir.CreateWorkspace(ctx, "hitchhikers", "Hitchhikers", tokensmith.PlanEnterprise); err != nil {
		t.Fatal(err)
	}
	if w.other, err = dir.CreateWorkspace(ctx, "vogons", "Vogons", tokensmith.PlanEnterprise); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		into  *tokensmith.Site
		ws    string
		short string
	}{{&w.siteA, "hitchhikers", "heart-of-gold"}, {&w.siteB, "hitchhikers", "bistromath"}, {&w.otherSite, "vogons", "poetry"}} {
		if *s.into, err = dir.CreateSite(ctx, s.ws, s.short, s.short, ""); err != nil {
			t.Fatal(err)
		}
	}
	// The authorizer as deployed, with its cache off: every decision reads
	// the table.
	w.authz = &authorizer.Authorizer{Users: mock.NoUsers(), Secrets: st, Now: time.Now, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	return w
}

// mint stores a live token of owner (a site of ws, or ws itself) and
// returns its secret; expired mints one past its expiry.
func (w *world) mint(t *testing.T, ws tokensmith.Workspace, site *tokensmith.Site, expired bool) (tokensmith.Token, string) {
	t.Helper()
	ctx := context.Background()
	kind, version, owner := token.KindWorkspace, int64(0), ws.ID
	perms := scope.Permissions{"workspace_activity": scope.Read}
	if site != nil {
		s, err := w.st.Site(ctx, site.ID)
		if err != nil {
			t.Fatal(err)
		}
		kind, version, owner, perms = token.KindSite, s.TokenVersion, s.ID, scope.Permissions{"sites": scope.Read}
	} else {
		cur, err := w.st.Workspace(ctx, ws.ID)
		if err != nil {
			t.Fatal(err)
		}
		version = cur.TokenVersion
	}
	secret, err := token.Generate(kind, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := token.NewID(w.now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	expires := w.now.Add(token.Inactivity)
	if expired {
		expires = w.now.Add(-time.Minute)
	}
	tok := tokensmith.Token{ID: id, Kind: kind, Name: "t " + id, WorkspaceID: ws.ID, Permissions: perms,
		Scope: scope.Join(scope.Expand(perms)), DisplayHint: token.DisplayHint(secret), SecretHash: token.Hash(secret),
		CreatedOn: w.now, CreatedBy: tokensmith.Actor{Type: tokensmith.ActorSystem}, ExpiresOn: expires}
	rateLimit := int64(0)
	if site != nil {
		tok.SiteID = owner
		rateLimit = site.TokenRateLimit()
	}
	o, err := audit.NewOrigin(w.now, rand.Reader, tokensmith.Actor{Type: tokensmith.ActorSystem}, ws)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.st.CreateToken(ctx, version, ws.Plan, rateLimit, tok, audit.TokenCreated(o, tok, site), nil, w.now); err != nil {
		t.Fatal(err)
	}
	return tok, secret
}

// exchanged stores a live token that an exchange of a workload site
// trusts minted, as the exchange does, and returns it and its secret.
func (w *world) exchanged(t *testing.T, ws tokensmith.Workspace, site tokensmith.Site) (tokensmith.Token, string) {
	t.Helper()
	ctx := context.Background()
	perms := scope.Permissions{"sites": scope.Read}
	id, err := token.NewID(w.now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	o, err := audit.NewOrigin(w.now, rand.Reader, tokensmith.Actor{Type: tokensmith.ActorSystem}, ws)
	if err != nil {
		t.Fatal(err)
	}
	wl := tokensmith.Workload{ID: id, SiteID: site.ID, WorkspaceID: ws.ID, Name: "ci", Issuer: "https://ci.example",
		Audience: "tokensmith", Subject: "repo:octo/site:ref:refs/heads/main", Permissions: perms, Scope: "sites:read",
		TokenLifetime: 15 * time.Minute, CreatedOn: w.now}
	if err := w.st.CreateWorkload(ctx, wl, audit.WorkloadCreated(o, wl, site)); err != nil {
		t.Fatal(err)
	}
	secret, err := token.Generate(token.KindSite, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tokID, err := token.NewID(w.now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tok := tokensmith.Token{ID: tokID, Kind: token.KindSite, Name: "ci", WorkspaceID: ws.ID, SiteID: site.ID, WorkloadID: wl.ID,
		Permissions: perms, Scope: "sites:read", DisplayHint: token.DisplayHint(secret), SecretHash: token.Hash(secret),
		CreatedOn: w.now, CreatedBy: tokensmith.Actor{Type: tokensmith.ActorSystem}, ExpiresOn: w.now.Add(15 * time.Minute)}
	next := wl
	next.Version++
	if err := w.st.Exchange(ctx, wl, next, tok, site.TokenRateLimit(), store.Use{Key: tokID, Until: w.now.Add(time.Hour)},
		audit.TokenExchanged(o, tok, site, wl, nil)); err != nil {
		t.Fatal(err)
	}
	return tok, secret
}

// allowed reports whether the authorizer allows secret on a route it
// takes.
func (w *world) allowed(t *testing.T, secret string) bool {
	t.Helper()
	path := "/v2/sites"
	if kind, _ := token.Parse(secret); kind == token.KindWorkspace {
		path = "/v2/token/introspect"
	}
	resp, err := w.authz.Handle(context.Background(), events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET" + path,
		Resource: path, Path: path, HTTPMethod: "GET",
		Headers: map[string]string{"Authorization": "Bearer " + secret},
	})
	if err != nil {
		if err != authorizer.ErrUnauthorized {
			t.Errorf("decision failed: %v", err)
		}
		return false
	}
	return resp.PolicyDocument.Statement[0].Effect == "Allow"
}

// revokedEvents counts the token_revoked events of ws by the operator.
func (w *world) revokedEvents(t *testing.T, ws tokensmith.Workspace) map[string]int {
	t.Helper()
	page, err := w.st.AuditEvents(context.Background(), ws.ID, tokensmith.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range page.Events {
		if e.SubType != audit.SubTokenRevoked {
			continue
		}
		if e.Actor.Type != tokensmith.ActorSystem || e.Actor.Email != operatorARN {
			t.Errorf("token_revoked actor = %+v; want the operator", e.Actor)
		}
		tok, _ := e.Payload["token"].(map[string]any)
		id, _ := tok["id"].(string)
		got[id]++
	}
	return got
}

// TestRevokeAll: a site's revoke-all revokes its live tokens, one event
// each by the operator, and nothing else; a workspace's, its own tokens and
// every site's; a second run revokes none and writes nothing.
func TestRevokeAll(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	var siteTokens, siteSecrets []string
	for range 3 {
		tok, secret := w.mint(t, w.ws, &w.siteA, false)
		siteTokens, siteSecrets = append(siteTokens, tok.ID), append(siteSecrets, secret)
	}
	w.mint(t, w.ws, &w.siteA, true) // expired: TTL's, not the operator's
	// A token a trusted workload's exchange minted is one of the site's.
	wlTok, wlSecret := w.exchanged(t, w.ws, w.siteA)
	siteTokens, siteSecrets = append(siteTokens, wlTok.ID), append(siteSecrets, wlSecret)
	_, siteBSecret := w.mint(t, w.ws, &w.siteB, false)
	_, siteBWorkloadSecret := w.exchanged(t, w.ws, w.siteB)
	_, wsSecret := w.mint(t, w.ws, nil, false)
	_, otherSecret := w.mint(t, w.other, &w.otherSite, false)

	for _, s := range siteSecrets {
		if !w.allowed(t, s) {
			t.Fatal("a site token is refused before the revoke-all")
		}
	}
	site, n, err := w.dir.RevokeSiteTokens(ctx, w.siteA.ID)
	if err != nil || n != 4 || site.ID != w.siteA.ID {
		t.Fatalf("RevokeSiteTokens = %s, %d, %v; want %s, 4 (3 tokens and one a workload's exchange minted)", site.ID, n, err, w.siteA.ID)
	}
	for _, s := range siteSecrets {
		if w.allowed(t, s) {
			t.Error("a revoked site token is still allowed")
		}
	}
	for name, s := range map[string]string{"other site's": siteBSecret, "other site's workload": siteBWorkloadSecret, "workspace": wsSecret, "other workspace's": otherSecret} {
		if !w.allowed(t, s) {
			t.Errorf("the %s token was revoked by a site's revoke-all", name)
		}
	}
	events := w.revokedEvents(t, w.ws)
	if len(events) != 4 {
		t.Errorf("token_revoked events = %v; want one for each of %v", events, siteTokens)
	}
	for _, id := range siteTokens {
		if events[id] != 1 {
			t.Errorf("token %s has %d token_revoked events; want 1", id, events[id])
		}
	}
	if _, n, err := w.dir.RevokeSiteTokens(ctx, w.siteA.ID); err != nil || n != 0 {
		t.Errorf("second RevokeSiteTokens = %d, %v; want 0", n, err)
	}
	if again := w.revokedEvents(t, w.ws); len(again) != 4 {
		t.Errorf("a second run wrote events: %v", again)
	}

	ws, n, err := w.dir.RevokeWorkspaceTokens(ctx, "hitchhikers")
	if err != nil || n != 3 || ws.ID != w.ws.ID {
		t.Fatalf("RevokeWorkspaceTokens = %s, %d, %v; want %s, 3 (site B's, its workload's and the workspace's)", ws.ID, n, err, w.ws.ID)
	}
	if w.allowed(t, siteBSecret) || w.allowed(t, siteBWorkloadSecret) || w.allowed(t, wsSecret) {
		t.Error("a token of the workspace is allowed after its revoke-all")
	}
	if !w.allowed(t, otherSecret) {
		t.Error("another workspace's token was revoked")
	}
	if _, n, err := w.dir.RevokeWorkspaceTokens(ctx, w.ws.ID); err != nil || n != 0 {
		t.Errorf("second RevokeWorkspaceTokens = %d, %v; want 0", n, err)
	}
	if got := w.revokedEvents(t, w.ws); len(got) != 7 {
		t.Errorf("token_revoked events = %v; want 7", got)
	}
	for _, bad := range []func() error{
		func() error { _, _, err := w.dir.RevokeSiteTokens(ctx, "0000000000000000000000ff"); return err },
		func() error { _, _, err := w.dir.RevokeWorkspaceTokens(ctx, "nobody"); return err },
	} {
		if err := bad(); err == nil {
			t.Error("revoke-all of an unknown site or workspace succeeded")
		}
	}
}

// TestRevokeAllDuringUse: while a site's revoke-all runs, clients keep
// presenting its tokens to the authorizer (cache off). A decision that
// starts after the command returned is never an allow.
func TestRevokeAllDuringUse(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	var secrets []string
	for range 5 {
		_, s := w.mint(t, w.ws, &w.siteA, false)
		secrets = append(secrets, s)
	}
	var returned atomic.Bool
	var lateAllows, decisions atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := i; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				after := returned.Load()
				ok := w.allowed(t, secrets[j%len(secrets)])
				decisions.Add(1)
				if ok && after {
					lateAllows.Add(1)
				}
			}
		}()
	}
	// Let the clients get going before the kill switch.
	for decisions.Load() < 20 {
		time.Sleep(time.Millisecond)
	}
	_, n, err := w.dir.RevokeSiteTokens(ctx, w.siteA.ID)
	returned.Store(true)
	if err != nil || n != 5 {
		t.Errorf("RevokeSiteTokens = %d, %v; want 5", n, err)
	}
	for seen := decisions.Load(); decisions.Load() < seen+40; {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if got := lateAllows.Load(); got != 0 {
		t.Errorf("%d decisions started after revoke-all returned allowed a revoked token", got)
	}
	if _, n, err := w.dir.RevokeSiteTokens(ctx, w.siteA.ID); err != nil || n != 0 {
		t.Errorf("rerun = %d, %v; want 0", n, err)
	}
}
