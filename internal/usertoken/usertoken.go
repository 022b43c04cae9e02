// Package usertoken verifies OIDC user tokens: JWTs signed by the configured
// issuer (Cognito by default, or any standard OpenID Provider), whose keys
// are found through the issuer's discovery document.
package usertoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Errors of Verify.
var (
	// ErrInvalid means the token is not one this service accepts: bad
	// signature, unknown key, wrong issuer or audience, expired, or without a
	// verified email.
	ErrInvalid = errors.New("usertoken: invalid")
	// ErrIssuerUnavailable means the issuer's discovery document or keys
	// could not be fetched: a dependency failure, not a verdict on the token.
	ErrIssuerUnavailable = errors.New("usertoken: issuer keys unavailable")
)

// Claims is who a verified user token names.
type Claims struct {
	// Issuer is the configured issuer that signed the token; with Subject it
	// identifies the person.
	Issuer  string
	Subject string
	// Email is the address the issuer says is verified, as the token spells it.
	Email string
}

// Config configures a Verifier.
type Config struct {
	// Issuer is the OIDC issuer URL; its discovery document is
	// <Issuer>/.well-known/openid-configuration and must name the same issuer.
	Issuer   string
	Audience string
	// Client fetches the discovery document and the JWKS; nil uses a client
	// with a 3-second timeout.
	Client *http.Client
	// Now is the clock for expiry and for bounding fetches; nil uses time.Now.
	Now func() time.Time
}

// Verifier checks signature (by the issuer's JWKS), issuer, audience, expiry
// and verified email of user tokens. Nothing is fetched until the first
// verification, so a Verifier can be built while the issuer is down; keySet
// says how often the issuer is asked.
type Verifier struct {
	issuer   string
	audience string
	now      func() time.Time
	keys     *keySet
	verified *verifiedTokens
}

// algorithms are the signature algorithms accepted: those of the issuers
// this service supports. Anything else, "none" and the HMAC family above
// all, is refused before a key is looked at.
var algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// leeway is the clock skew allowed between the issuer and this service for
// exp, nbf and iat.
const leeway = jwt.DefaultLeeway

// NewVerifier returns a Verifier for cfg. It makes no network call.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("usertoken: issuer and audience are required")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 3 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Verifier{issuer: cfg.Issuer, audience: cfg.Audience, now: cfg.Now, keys: newKeySet(cfg.Issuer, cfg.Client, cfg.Now),
		verified: newVerifiedTokens()}, nil
}

// idToken is what Verify reads of a token's claims.
type idToken struct {
	jwt.Claims
	Email         string `json:"email"`
	EmailVerified any    `json:"email_verified"`
	// AuthorizedParty (azp) is the client the token was issued to.
	AuthorizedParty string `json:"azp"`
	// TokenUse is Cognito's kind of token: "id" or "access".
	TokenUse string `json:"token_use"`
}

// Verify checks raw and returns its claims. A token without an email, or
// whose email the issuer does not say is verified, is invalid: people are
// matched to their memberships by email. A token verified in the last
// verifiedTTL is answered from memory while its claims hold.
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	now := v.now()
	sum, remember := cacheKey(raw)
	if remember {
		if c, ok := v.verified.get(sum, now, v.keys.current()); ok {
			return c, nil
		}
	}
	c, err := v.verify(ctx, raw, now)
	if err != nil {
		return Claims{}, err
	}
	if remember {
		v.verified.put(sum, c, now)
	}
	return c.claims, nil
}

// verify checks raw's signature and claims at now and returns the window in
// which they hold.
func (v *Verifier) verify(ctx context.Context, raw string, now time.Time) (verifiedToken, error) {
	jws, err := jose.ParseSignedCompact(raw, algorithms)
	if err != nil {
		return verifiedToken{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	header := jws.Signatures[0].Header
	keys, err := v.keys.keys(ctx, header.KeyID)
	if err != nil {
		return verifiedToken{}, fmt.Errorf("%w: %v", ErrIssuerUnavailable, err)
	}
	payload, key, ok := verifySignature(jws, header, keys)
	if !ok {
		return verifiedToken{}, fmt.Errorf("%w: no key of the issuer verifies the token", ErrInvalid)
	}
	var c idToken
	if err := json.Unmarshal(payload, &c); err != nil {
		return verifiedToken{}, fmt.Errorf("%w: claims: %v", ErrInvalid, err)
	}
	if err := v.check(&c.Claims, now); err != nil {
		return verifiedToken{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := v.checkIDToken(header, &c); err != nil {
		return verifiedToken{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if c.Email == "" || !verified(c.EmailVerified) {
		return verifiedToken{}, fmt.Errorf("%w: no verified email", ErrInvalid)
	}
	from := c.NotBefore.Time()
	if iat := c.IssuedAt.Time(); iat.After(from) {
		from = iat
	}
	until := c.Expiry.Time().Add(leeway)
	if limit := now.Add(verifiedTTL); limit.Before(until) {
		until = limit
	}
	return verifiedToken{
		claims: Claims{Issuer: v.issuer, Subject: c.Subject, Email: c.Email},
		from:   from.Add(-leeway), until: until, key: key,
	}, nil
}

// verifySignature tries the keys that may have signed jws, the one its key
// id names or every key when it names none, and returns the payload of the
// first that verifies, with that key's thumbprint.
func verifySignature(jws *jose.JSONWebSignature, header jose.Header, keys *fetchedKeys) ([]byte, string, bool) {
	for i := range keys.keys {
		key := &keys.keys[i]
		if header.KeyID != "" && key.KeyID != header.KeyID {
			continue
		}
		if (key.Use != "" && key.Use != "sig") || (key.Algorithm != "" && key.Algorithm != header.Algorithm) {
			continue
		}
		if payload, err := jws.Verify(key); err == nil {
			return payload, keys.thumbprint[i], true
		}
	}
	return nil, "", false
}

// googleIssuer is the issuer Google also writes without its scheme (OpenID
// Connect Core, section 15.6.2).
const googleIssuer = "https://accounts.google.com"

// check holds the registered claims to the configured issuer and audience
// and to the clock. A token must say when it expires and whom it names.
func (v *Verifier) check(c *jwt.Claims, now time.Time) error {
	if c.Issuer != v.issuer && !(v.issuer == googleIssuer && c.Issuer == "accounts.google.com") {
		return fmt.Errorf("issued by %q, not %q", c.Issuer, v.issuer)
	}
	if c.Expiry == nil || c.Subject == "" {
		return errors.New("no exp or sub")
	}
	return c.ValidateWithLeeway(jwt.Expected{AnyAudience: jwt.Audience{v.audience}, Time: now}, leeway)
}

// checkIDToken holds c to what only an ID token issued to this client
// says: an access token (RFC 9068's typ at+jwt, or Cognito's token_use
// access) is refused, and a token for several audiences must name this
// client as its authorized party (OpenID Connect Core, section 3.1.3.7).
func (v *Verifier) checkIDToken(header jose.Header, c *idToken) error {
	typ, _ := header.ExtraHeaders[jose.HeaderType].(string)
	typ = strings.TrimPrefix(strings.ToLower(typ), "application/")
	if typ == "at+jwt" || c.TokenUse == "access" {
		return errors.New("an access token, not an ID token")
	}
	if len(c.Audience) > 1 && c.AuthorizedParty != v.audience {
		return fmt.Errorf("several audiences, authorized party %q", c.AuthorizedParty)
	}
	return nil
}

// verified reports whether an email_verified claim says true. Some issuers
// (Cognito for federated users among them) send the string "true"; absent,
// false, or anything else is not verified.
func verified(claim any) bool {
	return claim == true || claim == "true"
}
