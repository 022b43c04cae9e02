// Package route is the one table of routes: method, path, the function that
// serves it and what a caller needs. The functions' routers, the authorizer,
// the local gateway, template.yaml and the tests all read it or are checked
// against it.
package route

import "strings"

// Auth says which credential a route accepts.
type Auth string

const (
	// User routes take an OIDC user token; what the person may do is decided
	// by the function from stored memberships.
	User Auth = "user"
	// APIToken routes take an API token holding Scope ("" for any valid token).
	APIToken Auth = "api_token"
	// APITokenOrUser routes take either: an API token holding Scope, or a
	// user token, with what the person may see decided by the function from
	// stored memberships (the audit log, for workspace admins).
	APITokenOrUser Auth = "api_token_or_user"
	// Public routes take no credential.
	Public Auth = "none"
)

// TakesAPIToken reports whether routes of a accept an API token.
func (a Auth) TakesAPIToken() bool { return a == APIToken || a == APITokenOrUser }

// TakesUserToken reports whether routes of a accept a user token.
func (a Auth) TakesUserToken() bool { return a == User || a == APITokenOrUser }

// Function names: each is one Lambda under functions/.
const (
	Tokens    = "tokens"
	Sites     = "sites"
	AuditLogs = "auditlogs"
	People    = "people"
	Console   = "console"
	// SecretScanning receives GitHub's reports of leaked tokens.
	SecretScanning = "secretscanning"
	// Upstream serves the upstream routes (API.md section 13), forwarding
	// them to the operator's own APIs, and the assertion key set.
	Upstream = "upstream"
)

// Route is one method and path of the API.
type Route struct {
	Method   string
	Path     string // API Gateway resource path, parameters as {name}, a greedy last one as {name+}
	Function string
	Op       string // operation name, unique
	Auth     Auth
	Scope    string // needed of an API token on APIToken and APITokenOrUser routes
}

// Table lists every route of the API.
var Table = []Route{
	{"POST", "/v2/sites/{site_id}/tokens", Tokens, "createSiteToken", User, ""},
	{"GET", "/v2/sites/{site_id}/tokens", Tokens, "listSiteTokens", User, ""},
	{"GET", "/v2/sites/{site_id}/tokens/{token_id}", Tokens, "getSiteToken", User, ""},
	{"DELETE", "/v2/sites/{site_id}/tokens/{token_id}", Tokens, "revokeSiteToken", User, ""},
	{"POST", "/v2/sites/{site_id}/tokens/{token_id}/regenerate", Tokens, "regenerateSiteToken", User, ""},
	{"POST", "/v2/workspaces/{workspace_id}/tokens", Tokens, "createWorkspaceToken", User, ""},
	{"GET", "/v2/workspaces/{workspace_id}/tokens", Tokens, "listWorkspaceTokens", User, ""},
	{"GET", "/v2/workspaces/{workspace_id}/tokens/{token_id}", Tokens, "getWorkspaceToken", User, ""},
	{"DELETE", "/v2/workspaces/{workspace_id}/tokens/{token_id}", Tokens, "revokeWorkspaceToken", User, ""},
	// The workloads a site trusts to exchange their OIDC tokens for its
	// short-lived tokens (API.md section 15), managed as its tokens are.
	{"POST", "/v2/sites/{site_id}/trusted_workloads", Tokens, "createTrustedWorkload", User, ""},
	{"GET", "/v2/sites/{site_id}/trusted_workloads", Tokens, "listTrustedWorkloads", User, ""},
	{"GET", "/v2/sites/{site_id}/trusted_workloads/{workload_id}", Tokens, "getTrustedWorkload", User, ""},
	{"DELETE", "/v2/sites/{site_id}/trusted_workloads/{workload_id}", Tokens, "deleteTrustedWorkload", User, ""},
	{"GET", "/v2/token/introspect", Tokens, "introspectToken", APIToken, ""},
	{"POST", "/v2/token/revoke", Tokens, "revokeTokenBySecret", Public, ""},
	// A trusted workload's OIDC token is the exchange's credential
	// (API.md section 15), checked by the function.
	{"POST", "/v2/token/exchange", Tokens, "exchangeToken", Public, ""},
	{"GET", "/v2/sites", Sites, "listSites", APIToken, "sites:read"},
	{"GET", "/v2/sites/{site_id}", Sites, "getSite", APIToken, "sites:read"},
	// API Gateway allows one parameter name per path level, so the audit
	// log's {workspace_id} also takes the workspace's slug. Workspace admins
	// read it with their user token too (the console's audit log page).
	{"GET", "/v2/workspaces/{workspace_id}/audit_logs", AuditLogs, "listAuditLogs", APITokenOrUser, "workspace_activity:read"},
	{"GET", "/v2/me", People, "getMe", User, ""},
	{"POST", "/v2/me/invitations/{invitation_id}/accept", People, "acceptInvitation", User, ""},
	{"POST", "/v2/me/invitations/{invitation_id}/decline", People, "declineInvitation", User, ""},
	{"GET", "/v2/workspaces/{workspace_id}/members", People, "listWorkspaceMembers", User, ""},
	{"POST", "/v2/workspaces/{workspace_id}/members", People, "addWorkspaceMember", User, ""},
	{"PATCH", "/v2/workspaces/{workspace_id}/members/{member_id}", People, "updateWorkspaceMember", User, ""},
	{"DELETE", "/v2/workspaces/{workspace_id}/members/{member_id}", People, "removeWorkspaceMember", User, ""},
	{"GET", "/v2/sites/{site_id}/members", People, "listSiteMembers", User, ""},
	{"POST", "/v2/sites/{site_id}/members", People, "addSiteMember", User, ""},
	{"DELETE", "/v2/sites/{site_id}/members/{member_id}", People, "removeSiteMember", User, ""},
	{"GET", "/v2/workspaces/{workspace_id}/settings", People, "getWorkspaceSettings", User, ""},
	{"PATCH", "/v2/workspaces/{workspace_id}/settings", People, "updateWorkspaceSettings", User, ""},
	// GitHub's secret scanning partner endpoint: the report's signature,
	// checked by the function, is its credential.
	{"POST", "/v2/secret-scanning/github", SecretScanning, "reportGitHubSecrets", Public, ""},
	// The console: /console redirects to /console/, which API Gateway routes
	// to /console as well; {file+} is the rest of the path (config.json,
	// assets/...).
	{"GET", "/console", Console, "consolePage", Public, ""},
	{"GET", "/console/{file+}", Console, "consoleFile", Public, ""},
	// The public keys of the assertions the upstream routes carry.
	{"GET", "/.well-known/jwks.json", Upstream, "getAssertionKeys", Public, ""},
}

// builtin is the table without upstream routes.
var builtin = Table

// Builtin returns the routes of the service itself, without upstream routes.
func Builtin() []Route { return builtin[:len(builtin):len(builtin)] }

// ProxyPath is the one API Gateway resource of every upstream route: a
// greedy path that API Gateway matches after every resource of the built-in
// routes, so that declaring an upstream route needs no template change. The
// upstream function matches the path against the table itself.
const ProxyPath = "/v2/{proxy+}"

// Proxy is the template's method of ProxyPath. It takes no API Gateway
// authorizer: the upstream function decides with the authorizer's own code,
// so that a path no route declares is answered 404 as anywhere else, whatever
// the credential.
var Proxy = Route{"ANY", ProxyPath, Upstream, "forwardUpstream", Public, ""}

// Join makes the table the built-in routes followed by rs, the upstream
// routes of the declaration in force (package upstream validates them). It
// is called once at start, before any request.
func Join(rs []Route) {
	Table = append(Builtin(), rs...)
}

// IsUpstream reports whether r is an upstream route: one of the operator's
// API, served through Proxy.
func (r Route) IsUpstream() bool { return r.Function == Upstream && strings.HasPrefix(r.Path, "/v2/") }

// Resource returns the API Gateway method and resource that serve r: Proxy
// for an upstream route, r's own otherwise.
func (r Route) Resource() Route {
	if r.IsUpstream() {
		return Proxy
	}
	return r
}

// Resources returns the API Gateway methods of the API, as template.yaml
// declares them: every route's Resource, once.
func Resources() []Route { return append(Builtin(), Proxy) }

// Shape is path with each parameter's name left out, so that two paths
// API Gateway cannot tell apart have the same shape.
func Shape(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		switch {
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "+}"):
			segs[i] = "{+}"
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			segs[i] = "{}"
		}
	}
	return strings.Join(segs, "/")
}

// Lookup finds the route for a method and API Gateway resource path, as an
// authorizer event names them.
func Lookup(method, resource string) (Route, bool) {
	for _, r := range Table {
		if r.Method == method && r.Path == resource {
			return r, true
		}
	}
	return Route{}, false
}

// Match finds the route for a method and concrete request path, as API
// Gateway's router does, and returns the path parameters. A path that
// matches no resource, or a resource without that method, is not found. One
// trailing slash is ignored, as API Gateway ignores it.
func Match(method, path string) (Route, map[string]string, bool) {
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for _, r := range Table {
		if r.Method != method {
			continue
		}
		if params, ok := matchPath(r.Path, segs); ok {
			return r, params, true
		}
	}
	return Route{}, nil, false
}

// ForFunction returns the routes served by function fn.
func ForFunction(fn string) []Route {
	var out []Route
	for _, r := range Table {
		if r.Function == fn {
			out = append(out, r)
		}
	}
	return out
}

func matchPath(pattern string, segs []string) (map[string]string, bool) {
	pat := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	var params map[string]string
	if last := pat[len(pat)-1]; strings.HasPrefix(last, "{") && strings.HasSuffix(last, "+}") {
		// A greedy parameter takes the rest of the path, at least one segment.
		n := len(pat) - 1
		if len(segs) <= n {
			return nil, false
		}
		rest := strings.Join(segs[n:], "/")
		if rest == "" {
			return nil, false
		}
		params = map[string]string{last[1 : len(last)-2]: rest}
		pat, segs = pat[:n], segs[:n]
	}
	if len(pat) != len(segs) {
		return nil, false
	}
	for i, p := range pat {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if segs[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[p[1:len(p)-1]] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, true
}
