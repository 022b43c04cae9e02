// Package authorizer decides, for every API Gateway request, whether its
// Bearer credential may call the route: valid API tokens for the data routes;
// OIDC user tokens for the management routes. It is the REQUEST authorizer's
// handler, written against aws-lambda-go's event types.
//
// A token with an IP allowlist is refused (401, as any unusable
// credential) from a source address outside it.
//
// A valid API token is allowed to reach the function whatever its scopes:
// every request of a valid token counts against the token's rate limit, a
// 403 missing_scopes too, and a Deny here would answer the request
// (ACCESS_DENIED) with no function in between to set its rate-limit
// headers. The function then refuses what the token's scopes or its
// workspace's plan do not allow (httpapi.Guard), so a cached Allow never
// grants a route the token's scopes do not.
//
// With a Limiter, the authorizer counts the request itself and passes the
// decision, with the request it was made for, in the context; the function
// counts only a request whose decision API Gateway served from its cache.
// For a secret this instance recently read valid, the count runs beside the
// read, so that an authorized request costs one DynamoDB round trip; any
// other secret is read first, so that a string with a valid checksum that
// names no token costs one read and no write.
package authorizer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/allowlist"
	"github.com/tokensmith/tokensmith/internal/principal"
	"github.com/tokensmith/tokensmith/internal/ratelimit"
	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/token"
	"github.com/tokensmith/tokensmith/internal/usertoken"
)

// ErrUnauthorized is the error API Gateway turns into a 401: Lambda
// authorizers signal "no valid credential" by failing with exactly this message.
var ErrUnauthorized = errors.New("Unauthorized")

// UserVerifier verifies OIDC user tokens.
type UserVerifier interface {
	Verify(ctx context.Context, raw string) (usertoken.Claims, error)
}

// Secrets is the part of the store the authorizer calls: one read per
// decision.
type Secrets interface {
	Secret(ctx context.Context, hash string) (tokensmith.Secret, error)
}

// Authorizer is the REQUEST authorizer.
type Authorizer struct {
	Users   UserVerifier
	Secrets Secrets
	Now     func() time.Time
	Log     *slog.Logger
	// IPs decides tokens' IP allowlists, keeping them parsed.
	IPs allowlist.Cache
	// Limiter, when set, counts each request of a valid API token against
	// its limit here; when nil, the function that serves it counts it.
	Limiter *ratelimit.Limiter

	seen seen
}

// maxCredential bounds what is read of a credential; user tokens are a few
// hundred bytes to a few kilobytes.
const maxCredential = 8192

// Handle decides one request. A request without a valid credential for its
// route fails with ErrUnauthorized; a dependency that fails makes it fail
// with another error, which API Gateway answers with a 500: never an allow.
func (a *Authorizer) Handle(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	r, ok := route.Lookup(req.HTTPMethod, req.Resource)
	if !ok {
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
	}
	cred, ok := Bearer(req.Headers, req.MultiValueHeaders)
	if !ok {
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
	}
	switch r.Auth {
	case route.User:
		return a.user(ctx, req, r, cred)
	case route.APIToken:
		return a.apiToken(ctx, req, r, cred)
	case route.APITokenOrUser:
		// The credential's shape says which it is: anything that is not an
		// API token is tried as a user token, and fails as one.
		if _, err := token.Parse(cred); err == nil {
			return a.apiToken(ctx, req, r, cred)
		}
		return a.user(ctx, req, r, cred)
	}
	return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
}

// apiToken decides for an API token: its shape and checksum first, without
// touching the table; then one read by its hash, with the request's count
// beside it when the secret was recently read valid here, after it
// otherwise. A live token is allowed, with what the function needs to
// decide the rest (its scopes, its workspace's plan, its rate limit and the
// count's decision) in the context. A request refused here keeps no count.
func (a *Authorizer) apiToken(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest, r route.Route, cred string) (events.APIGatewayCustomAuthorizerResponse, error) {
	kind, err := token.Parse(cred)
	if err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
	}
	hash, now := token.Hash(cred), a.Now()
	// The source address is the connection's, as API Gateway saw it, never
	// a header the client sent. API Gateway caches decisions by it too (an
	// identity source), so an allow is never reused for another address.
	ip, requestID := req.RequestContext.Identity.SourceIP, req.RequestContext.RequestID
	counts := a.Limiter != nil && requestID != ""
	var early <-chan earlyCount
	if s, ok := a.seen.get(hash, now); counts && ok && a.IPs.Allows(s.tokenID, s.allowedIPs, ip) {
		ch := make(chan earlyCount, 1)
		go func() {
			d, err := a.Limiter.Take(ctx, s.tokenID, s.limit, now)
			ch <- earlyCount{s.tokenID, d, err}
		}()
		early = ch
	}
	sec, err := a.Secrets.Secret(ctx, hash)
	var c earlyCount
	if early != nil {
		c = <-early
	}
	// refuse refuses the request, taking back its count; a secret that is
	// not valid any more is forgotten (one refused for its address is not).
	refuse := func(invalid bool) (events.APIGatewayCustomAuthorizerResponse, error) {
		if invalid {
			a.seen.forget(hash)
		}
		if c.err == nil && c.tokenID != "" {
			if err := a.Limiter.Undo(ctx, c.tokenID, c.d); err != nil {
				a.Log.ErrorContext(ctx, "taking back a refused request's count failed", "tokenId", c.tokenID, "error", err)
			}
		}
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
	}
	switch {
	case tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND:
		return refuse(true)
	case err != nil:
		// Fail closed. A count made beside the failed read stays: it only
		// ever refuses sooner.
		a.Log.ErrorContext(ctx, "token lookup failed", "error", err)
		return events.APIGatewayCustomAuthorizerResponse{}, fmt.Errorf("authorizer: %w", err)
	}
	if !sec.Active(now) || sec.Kind != kind {
		a.Log.InfoContext(ctx, "token rejected", "tokenId", sec.TokenID, "displayHint", token.DisplayHint(cred))
		return refuse(true)
	}
	if !a.IPs.Allows(sec.TokenID, sec.AllowedIPs, ip) {
		a.Log.InfoContext(ctx, "token refused from this address", "tokenId", sec.TokenID, "displayHint", token.DisplayHint(cred), "sourceIp", ip)
		return refuse(false)
	}
	a.seen.remember(hash, sec, now)
	resp := events.APIGatewayCustomAuthorizerResponse{
		PrincipalID:    sec.TokenID,
		PolicyDocument: Policy(req.MethodArn, r),
		Context:        principal.Context(sec.Caller()),
	}
	if counts {
		if d, ok := a.count(ctx, sec, c, now); ok {
			d.AddToContext(resp.Context, requestID)
		}
	}
	return resp, nil
}

// earlyCount is a request counted beside the read of its secret, against
// the token and limit the secret had when it was last read valid.
type earlyCount struct {
	tokenID string
	d       ratelimit.Decision
	err     error
}

// count decides the count of a request of sec, a valid secret, from c, the
// count made beside its read (none when c.tokenID is empty): corrected to
// the limit the read found, or made now. A count that fails is left to the
// function, which counts the request again and fails closed if it cannot
// (false).
func (a *Authorizer) count(ctx context.Context, sec tokensmith.Secret, c earlyCount, now time.Time) (ratelimit.Decision, bool) {
	limit := sec.TokenRateLimit()
	var d ratelimit.Decision
	var err error
	switch {
	case c.err != nil:
		err = c.err
	case c.tokenID == sec.TokenID:
		d, err = a.Limiter.Retake(ctx, sec.TokenID, c.d, limit, now)
	case c.tokenID != "":
		// The hash named another token when it was last read: never, as a
		// secret belongs to one token, but the count is taken back if so.
		if err = a.Limiter.Undo(ctx, c.tokenID, c.d); err == nil {
			d, err = a.Limiter.Take(ctx, sec.TokenID, limit, now)
		}
	default:
		d, err = a.Limiter.Take(ctx, sec.TokenID, limit, now)
	}
	if err != nil {
		a.Log.ErrorContext(ctx, "counting the request failed; the function counts it", "tokenId", sec.TokenID, "error", err)
		return ratelimit.Decision{}, false
	}
	return d, true
}

func (a *Authorizer) user(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest, r route.Route, cred string) (events.APIGatewayCustomAuthorizerResponse, error) {
	// An API token is never a person's credential; its shape alone says so.
	if _, err := token.Parse(cred); err == nil {
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
	}
	claims, err := a.Users.Verify(ctx, cred)
	switch {
	case errors.Is(err, usertoken.ErrIssuerUnavailable):
		a.Log.ErrorContext(ctx, "user token issuer unavailable", "error", err)
		return events.APIGatewayCustomAuthorizerResponse{}, fmt.Errorf("authorizer: %w", err)
	case err != nil:
		a.Log.InfoContext(ctx, "user token rejected", "error", err)
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
	}
	p := tokensmith.Caller{Kind: tokensmith.CallerPerson, Issuer: claims.Issuer, Subject: claims.Subject, Email: claims.Email}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID:    "user:" + claims.Subject,
		PolicyDocument: Policy(req.MethodArn, r),
		Context:        principal.Context(p),
	}, nil
}

// Bearer returns the credential of the one Authorization header, which must
// use the Bearer scheme. Header names are matched without regard to case,
// and more than one Authorization value is refused.
func Bearer(headers map[string]string, multi map[string][]string) (string, bool) {
	var values []string
	for k, vs := range multi {
		if strings.EqualFold(k, "Authorization") {
			values = append(values, vs...)
		}
	}
	if len(values) == 0 {
		for k, v := range headers {
			if strings.EqualFold(k, "Authorization") {
				values = append(values, v)
			}
		}
	}
	if len(values) != 1 {
		return "", false
	}
	v := values[0]
	const scheme = "bearer "
	if len(v) <= len(scheme) || len(v) > len(scheme)+maxCredential || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", false
	}
	cred := strings.TrimLeft(v[len(scheme):], " ")
	if cred == "" || strings.ContainsAny(cred, " \t\r\n") {
		return "", false
	}
	return cred, true
}
