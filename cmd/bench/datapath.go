package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// dataPath serves the whole local stack on loopback, as `make run` does with
// the authorizer cache off, and times one request at a time, interleaved
// with the bare GetItem floor: introspection, GET /v2/sites with the sites
// function's cache warm, and with it cold (emptied before each request).
// Then it counts, with SDK middleware, the DynamoDB operations each data
// route makes per request in steady state.
func dataPath(ctx context.Context, st *store.Store, endpoint, table, siteSecret string, sec tokensmith.Secret, bare func() error, samples int) ([]row, error) {
	wsSecret, err := seedWorkspaceToken(ctx, st, sec.WorkspaceID)
	if err != nil {
		return nil, err
	}
	srv, err := serveStack(ctx, endpoint, table, 4)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	ops, get := srv.ops, srv.get
	introspect := get("/v2/token/introspect", siteSecret)
	sitesWarm := get("/v2/sites", siteSecret)
	sitesCold := func() error {
		srv.Sites.Forget()
		return sitesWarm()
	}
	measured := []func() error{bare, introspect, sitesWarm, sitesCold}
	// The warm-up fills connections and makes the first usage write.
	times, err := warmThenInterleave(samples, measured...)
	if err != nil {
		return nil, err
	}
	floor := percentile(times[0], 50)
	rows := []row{{what: "Bare GetItem (the floor of the rows below), one at a time, same run: p50 / p99",
		figure: fmt.Sprintf("%s / %s", floor, percentile(times[0], 99))}}
	for i, m := range []struct {
		what   string
		target float64
	}{
		{"GET /v2/token/introspect through the local gateway, authorizer cache off", 1.5},
		{"GET /v2/sites through the local gateway, authorizer cache off, site cache warm", 1.5},
		{"GET /v2/sites through the local gateway, authorizer cache off, site cache cold", 2.2},
	} {
		ts := times[i+1]
		ratio := float64(percentile(ts, 50)) / float64(floor)
		rows = append(rows, row{
			what:   m.what + ", one at a time: p50 / p99; p50 / GetItem p50",
			figure: fmt.Sprintf("%s / %s; %.2f", percentile(ts, 50), percentile(ts, 99), ratio),
			target: fmt.Sprintf("<= %.1f", m.target), verdict: verdict(ratio <= m.target),
		})
	}

	// Operations per request of every data route, steady state.
	const perRoute = 50
	cases := []struct {
		name  string
		call  func() error
		reads float64 // most reads a request may make
	}{
		{"GET /v2/sites, site cache cold", sitesCold, 2},
	}
	params := map[string]string{"{site_id}": sec.SiteID, "{workspace_id}": sec.WorkspaceID}
	for _, rt := range route.Table {
		// Upstream routes have their own section (upstreamsSection).
		if !rt.Auth.TakesAPIToken() || rt.IsUpstream() {
			continue
		}
		path := rt.Path
		for k, v := range params {
			path = strings.ReplaceAll(path, k, v)
		}
		secret := siteSecret
		if rt.Scope != "" && !strings.Contains(sec.Scope, rt.Scope) {
			secret = wsSecret
		}
		name := rt.Method + " " + rt.Path
		if rt.Function == route.Sites {
			name += ", site cache warm"
		}
		// The authorizer's one read; the sites function's only on a cold
		// cache; the audit log's workspace read and its page query.
		reads := 1.0
		if rt.Function == route.AuditLogs {
			reads = 3
		}
		cases = append(cases, struct {
			name  string
			call  func() error
			reads float64
		}{name, get(path, secret), reads})
	}
	for _, c := range cases {
		for i := 0; i < 5; i++ { // the route's first usage write, and its cache
			if err := c.call(); err != nil {
				return nil, err
			}
		}
		ops.Reset()
		for i := 0; i < perRoute; i++ {
			if err := c.call(); err != nil {
				return nil, err
			}
		}
		counts := ops.Reset()
		var names []string
		reads, writes := 0.0, 0.0
		for op, n := range counts {
			names = append(names, fmt.Sprintf("%s %.2f", op, float64(n)/perRoute))
			if op == "GetItem" || op == "Query" {
				reads += float64(n) / perRoute
			} else {
				writes += float64(n) / perRoute
			}
		}
		sort.Strings(names)
		if len(names) == 0 {
			names = []string{"none"}
		}
		// The one write is the request's count; a usage write (at most one
		// a minute per token and instance) may fall among them.
		rows = append(rows, row{
			what:   "DynamoDB operations per request (SDK middleware, mean of " + fmt.Sprint(perRoute) + "), " + c.name,
			figure: strings.Join(names, ", "), target: fmt.Sprintf("<= %g reads, 1 write (the count)", c.reads),
			verdict: verdict(reads <= c.reads && writes <= 1+1.0/perRoute),
		})
	}
	return rows, nil
}

// seedWorkspaceToken mints a workspace token that reads the audit log.
func seedWorkspaceToken(ctx context.Context, st *store.Store, wsID string) (string, error) {
	ws, err := st.Workspace(ctx, wsID)
	if err != nil {
		return "", err
	}
	secret, err := token.Generate(token.KindWorkspace, rand.Reader)
	if err != nil {
		return "", err
	}
	now := time.Now().UTC()
	perms := scope.Permissions{"workspace_activity": scope.Read}
	t := tokensmith.Token{ID: "0000000b0000000000000002", Kind: token.KindWorkspace, Name: "bench", WorkspaceID: ws.ID,
		Permissions: perms, Scope: scope.Join(scope.Expand(perms)), DisplayHint: token.DisplayHint(secret),
		SecretHash: token.Hash(secret), CreatedOn: now, ExpiresOn: now.Add(token.Inactivity)}
	ev := tokensmith.Event{ID: "bench-ws", Type: audit.TypeAPIToken, SubType: audit.SubTokenCreated, Timestamp: now, Workspace: ws.Ref()}
	if err := st.CreateToken(ctx, ws.TokenVersion, ws.Plan, 0, t, ev, nil, now); err != nil {
		return "", err
	}
	return secret, nil
}
