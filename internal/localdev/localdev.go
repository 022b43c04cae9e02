// Package localdev assembles the whole service on one machine for local
// development, as `make run` serves it and the end-to-end tests drive it: the
// table created from template.yaml in DynamoDB Local, the local OpenID
// Provider (package issuer) that stands in for Cognito's managed login, the
// local keys that stand in for GitHub's secret scanning keys, and the local
// gateway in front of the same authorizer and function handlers Lambda
// runs. No Lambda links it.
package localdev

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokensmith/tokensmith"
	consolebundle "github.com/tokensmith/tokensmith/console"
	"github.com/tokensmith/tokensmith/internal/apitokens"
	"github.com/tokensmith/tokensmith/internal/assertion"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/ddbclient"
	"github.com/tokensmith/tokensmith/internal/eventbus"
	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/localdev/defaults"
	"github.com/tokensmith/tokensmith/internal/localdev/democms"
	"github.com/tokensmith/tokensmith/internal/localdev/gateway"
	"github.com/tokensmith/tokensmith/internal/localdev/issuer"
	"github.com/tokensmith/tokensmith/internal/localdev/keyfile"
	"github.com/tokensmith/tokensmith/internal/localdev/scanner"
	"github.com/tokensmith/tokensmith/internal/localdev/streamer"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/operator"
	"github.com/tokensmith/tokensmith/internal/people"
	"github.com/tokensmith/tokensmith/internal/ratelimit"
	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/samtemplate"
	"github.com/tokensmith/tokensmith/internal/secretscanning"
	"github.com/tokensmith/tokensmith/internal/sites"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/upstream"
	"github.com/tokensmith/tokensmith/internal/upstream/upstreamyaml"
	"github.com/tokensmith/tokensmith/internal/usertoken"
	"github.com/tokensmith/tokensmith/internal/webconsole"
	"github.com/tokensmith/tokensmith/internal/workloadtoken"
)

// Config says where the stack's parts are.
type Config struct {
	Endpoint string // DynamoDB
	Table    string
	Dir      string // holds the local issuer's key and the local GitHub key
	// BaseURL is where the stack is served, on a loopback address: the local
	// issuer is BaseURL+defaults.IssuerPath and the console BaseURL+defaults.ConsolePath.
	BaseURL string
	// CacheTTL is the authorizer cache TTL; negative uses the template's default.
	CacheTTL time.Duration
	// Now is the clock of the authorizer and the functions; nil is time.Now.
	Now func() time.Time
	// ClientOptions adjust the DynamoDB client (benchmarks count calls).
	ClientOptions []func(*dynamodb.Options)
	// GitHubKeysURL is where the secret scanning endpoint fetches GitHub's
	// keys; empty is the local key of package scanner, kept in Dir and
	// published at BaseURL+defaults.GitHubKeysPath, with which
	// `tokenctl dev-leak-report` signs reports.
	GitHubKeysURL string
	// GitHubKeysTimeout bounds a fetch of the keys; zero is
	// secretscanning.KeysTimeout.
	GitHubKeysTimeout time.Duration
	Log               *slog.Logger
	// Metrics, when set, receives each invocation's metrics record, as
	// the functions write them to their logs in AWS (package metrics).
	Metrics io.Writer
	// WorkloadIssuers are issuers on this machine (tests' OpenID
	// Providers) that trusted workloads may name although they are not
	// public https URLs.
	WorkloadIssuers []string
	// Getenv is the environment of the upstream declaration: the file
	// upstreamyaml.EnvFile names (else the repository's) and the variables of
	// its URLs. Unless it sets CMS_UPSTREAM_URL, the stack starts the demo
	// CMS (package democms) on a loopback port of its own and sets it to
	// that. Nil is an empty environment.
	Getenv func(string) (string, bool)
	// Events, when set, is the file every audit event is published to as
	// one JSON line (`make run`: .local/events.jsonl): the stack follows
	// the table's stream and hands it to the event bus publisher's handler,
	// as the deployed AuditPublishFunction is handed it.
	Events string
}

// EnvCMSURL is the variable of the repository's upstreams.yaml that names
// the demo CMS.
const EnvCMSURL = "CMS_UPSTREAM_URL"

// Stack is the running service.
type Stack struct {
	Handler  http.Handler
	Gateway  *gateway.Gateway
	Store    *store.Store
	Sites    *sites.Service
	Operator *operator.Service
	Issuer   *issuer.Issuer
	DB       *dynamodb.Client
	// Upstreams is the upstream declaration in force; DemoCMS the demo
	// CMS's address when the stack started it.
	Upstreams *upstream.Declaration
	DemoCMS   string
	closers   []func() error
}

// Close stops what the stack started besides its handler: the demo CMS.
func (s *Stack) Close() error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// upstreams returns the upstream declaration of cfg's environment and the
// closers of what it started: the demo CMS unless the environment names
// CMS_UPSTREAM_URL.
func upstreams(cfg Config, now func() time.Time) (*upstream.Declaration, string, []func() error, error) {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = func(string) (string, bool) { return "", false }
	}
	var demoURL string
	var closers []func() error
	if v, ok := getenv(EnvCMSURL); !ok || v == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, "", nil, fmt.Errorf("demo CMS: %w", err)
		}
		demoURL = "http://" + ln.Addr().String()
		cms := &democms.CMS{JWKSURL: cfg.BaseURL + "/.well-known/jwks.json", Issuer: cfg.BaseURL, Client: &http.Client{Timeout: 5 * time.Second}, Now: now}
		srv := &http.Server{Handler: cms, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		closers = append(closers, srv.Close)
		outer := getenv
		getenv = func(k string) (string, bool) {
			if k == EnvCMSURL {
				return demoURL, true
			}
			return outer(k)
		}
	}
	d, err := upstreamyaml.FromEnv(getenv)
	if err != nil {
		for _, c := range closers {
			c()
		}
		return nil, "", nil, err
	}
	return d, demoURL, closers, nil
}

// Start creates the table if needed and assembles the stack.
func Start(ctx context.Context, cfg Config) (*Stack, error) {
	db := ddbclient.Local(cfg.Endpoint, cfg.ClientOptions...)
	tmpl, err := samtemplate.Load()
	if err != nil {
		return nil, err
	}
	def, err := tmpl.Table()
	if err != nil {
		return nil, err
	}
	if err := store.EnsureTable(ctx, db, def.CreateTableInput(cfg.Table), def.TimeToLiveSpecification.AttributeName); err != nil {
		return nil, fmt.Errorf("DynamoDB at %s: %w", cfg.Endpoint, err)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	console := cfg.BaseURL + defaults.ConsolePath
	iss, err := issuer.New(issuer.Config{
		URL:                    cfg.BaseURL + defaults.IssuerPath,
		KeyFile:                filepath.Join(cfg.Dir, defaults.IssuerKeyFile),
		RedirectURIs:           []string{console, console + "callback"},
		PostLogoutRedirectURIs: []string{console},
		People:                 DemoPeople,
		Now:                    now,
	})
	if err != nil {
		return nil, err
	}
	// The API's audience is the console's client id, as in AWS it is the
	// Cognito app client's.
	verifier, err := usertoken.NewVerifier(usertoken.Config{Issuer: iss.URL(), Audience: issuer.DefaultClientID})
	if err != nil {
		return nil, err
	}
	// The services are built as the functions' mains build them
	// (functions/*/main.go), on the stack's clock.
	st := store.New(db, cfg.Table)
	authz := &authorizer.Authorizer{Users: verifier, Secrets: st, Now: now, Log: cfg.Log, Limiter: &ratelimit.Limiter{Counter: st}}
	members := &people.Service{Store: st, Now: now, Rand: rand.Reader}
	localIssuers := cfg.WorkloadIssuers
	tokens := &apitokens.Service{Store: st, People: members, Now: now, Rand: rand.Reader, IdempotencySecret: apitokens.StaticSecret(defaults.IdempotencySecret),
		LocalIssuers: localIssuers, Verifier: workloadtoken.NewVerifier(workloadtoken.NewClient(localIssuers), now)}
	siteSvc, err := sites.New(st, now, sites.CacheSize)
	if err != nil {
		return nil, err
	}
	page, err := webconsole.New(consolebundle.Files(), webconsole.Config{
		Issuer: iss.URL(), ClientID: issuer.DefaultClientID, APIBaseURL: cfg.BaseURL,
		RedirectURI: console, PostLogoutRedirectURI: console,
	})
	if err != nil {
		return nil, err
	}
	keysURL, localKeys := cfg.GitHubKeysURL, http.Handler(nil)
	if keysURL == "" {
		localKeys, err = scanner.Keys(cfg.Dir)
		if err != nil {
			return nil, err
		}
		keysURL = cfg.BaseURL + defaults.GitHubKeysPath
	}
	leaks := &apitokens.Service{Store: st, Now: now, Rand: rand.Reader}
	github := secretscanning.NewVerifier(keysURL, now)
	github.Timeout = cfg.GitHubKeysTimeout
	// measured writes each invocation's metrics record to cfg.Metrics, as
	// the function's main does to its standard output.
	measured := func(function string, h gateway.Proxy) gateway.Proxy {
		if cfg.Metrics == nil {
			return h
		}
		return metrics.Invocations(function, cfg.Metrics, now, h)
	}
	decl, demoURL, closers, err := upstreams(cfg, now)
	if err != nil {
		return nil, err
	}
	decl.Install()
	assertionKey, err := keyfile.LoadOrCreate(filepath.Join(cfg.Dir, defaults.AssertionKeyFile))
	if err != nil {
		return nil, err
	}
	key, err := assertion.NewKey(assertionKey)
	if err != nil {
		return nil, err
	}
	forwarder := &httpapi.Upstreams{
		Declaration: decl, Decide: authz.Handle, Guard: httpapi.NewGuard(st, now, cfg.Log), Log: cfg.Log,
		Assertions: &assertion.Signer{Issuer: cfg.BaseURL, Keys: []assertion.Key{key}, Now: now},
		Client:     httpapi.NewUpstreamClient(),
	}
	decide := authz.Handle
	if cfg.Metrics != nil {
		decide = metrics.Invocations(metrics.FunctionAuthorizer, cfg.Metrics, now, authorizer.Measure(authz.Handle))
	}
	gw, err := gateway.New(tmpl, decide, map[string]gateway.Proxy{
		route.Console:        httpapi.Adapt(page),
		route.Tokens:         measured(metrics.FunctionTokens, httpapi.Tokens(tokens, httpapi.NewGuard(st, now, cfg.Log), cfg.Log).Proxy()),
		route.Sites:          measured(metrics.FunctionSites, httpapi.Sites(siteSvc, httpapi.NewGuard(st, now, cfg.Log), cfg.Log).Proxy()),
		route.AuditLogs:      measured(metrics.FunctionAuditLogs, httpapi.AuditLogs(audit.New(st), httpapi.NewGuard(st, now, cfg.Log), cfg.Log).Proxy()),
		route.People:         measured(metrics.FunctionPeople, httpapi.People(members, cfg.Log).Proxy()),
		route.SecretScanning: measured(metrics.FunctionSecretScanning, httpapi.SecretScanning(leaks, github, cfg.Log).Proxy()),
		route.Upstream:       measured(metrics.FunctionUpstream, forwarder.Proxy()),
	}, cfg.CacheTTL, cfg.Log)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(iss.Path()+"/", iss)
	if localKeys != nil {
		mux.Handle("GET "+defaults.GitHubKeysPath, localKeys)
	}
	mux.Handle("/", gw)
	gw.Now = now
	if cfg.Events != "" {
		stop, err := publishEvents(ctx, db, cfg)
		if err != nil {
			for _, c := range closers {
				c()
			}
			return nil, err
		}
		closers = append(closers, stop)
	}
	ops := operator.New(st)
	ops.Now = now
	return &Stack{Handler: mux, Gateway: gw, Store: st, Sites: siteSvc, Operator: ops, Issuer: iss, DB: db,
		Upstreams: decl, DemoCMS: demoURL, closers: closers}, nil
}

// Demo is what `make run` seeds and writes to .local/demo.json.
type Demo struct {
	BaseURL       string `json:"baseUrl"`
	WorkspaceID   string `json:"workspaceId"`
	WorkspaceSlug string `json:"workspaceSlug"`
	SiteID        string `json:"siteId"`
	AdminToken    string `json:"adminToken"`
	MemberToken   string `json:"memberToken"`
}

// Demo people and names.
const (
	DemoSlug        = "hitchhikers"
	DemoAdminEmail  = "admin@example.com"
	DemoMemberEmail = "member@example.com"
)

// DemoPeople are the seeded people, as the local issuer's sign-in page lists
// them; their subjects are issuer.SubjectFor(email).
var DemoPeople = []issuer.Person{
	{Name: "Workspace admin", Email: DemoAdminEmail},
	{Name: "Workspace member", Email: DemoMemberEmail},
}

// SeedDemo creates the demo workspace, site and people unless they exist,
// and signs fresh user tokens for the two people.
func (s *Stack) SeedDemo(ctx context.Context, baseURL string, now time.Time) (Demo, error) {
	ws, err := s.Store.Workspace(ctx, DemoSlug)
	if tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND {
		ws, err = s.Operator.CreateWorkspace(ctx, DemoSlug, "Hitchhikers", tokensmith.PlanEnterprise)
	}
	if err != nil {
		return Demo{}, fmt.Errorf("seed workspace: %w", err)
	}
	sites, err := s.Store.Sites(ctx, ws.ID)
	if err != nil {
		return Demo{}, err
	}
	var siteID string
	for _, site := range sites {
		if site.ShortName == "heart-of-gold" {
			siteID = site.ID
		}
	}
	if siteID == "" {
		site, err := s.Operator.CreateSite(ctx, ws.ID, "Heart of Gold Spaceship", "heart-of-gold", tokensmith.SitePlanCMS)
		if err != nil {
			return Demo{}, fmt.Errorf("seed site: %w", err)
		}
		siteID = site.ID
	}
	demo := Demo{BaseURL: baseURL, WorkspaceID: ws.ID, WorkspaceSlug: ws.Slug, SiteID: siteID}
	for _, p := range []struct {
		email string
		role  tokensmith.Role
		out   *string
	}{{DemoAdminEmail, tokensmith.RoleAdmin, &demo.AdminToken}, {DemoMemberEmail, tokensmith.RoleMember, &demo.MemberToken}} {
		if _, err := s.Operator.AddMember(ctx, ws.ID, "", p.email, p.role); err != nil {
			return Demo{}, fmt.Errorf("seed %s: %w", p.email, err)
		}
		if *p.out, err = s.Issuer.Sign(issuer.Claims{Email: p.email}, now, defaults.TokenTTL); err != nil {
			return Demo{}, err
		}
	}
	return demo, nil
}

// publishEvents follows the table's stream from now on and publishes its
// audit events to cfg.Events; the function it returns stops it.
func publishEvents(ctx context.Context, db *dynamodb.Client, cfg Config) (func() error, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &eventbus.Handler{Publisher: &eventbus.File{Path: cfg.Events}, Log: log}
	s, err := streamer.Start(ctx, db, cfg.Endpoint, cfg.Table, h.Handle, log)
	if err != nil {
		return nil, fmt.Errorf("audit event publication: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(runCtx)
	}()
	return func() error {
		cancel()
		<-done
		return nil
	}, nil
}
