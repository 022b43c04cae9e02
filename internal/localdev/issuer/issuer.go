// Package issuer is the OpenID Provider of the local stack: it stands in for
// Cognito's managed login on 127.0.0.1, answering the console's authorization
// code flow with PKCE with a sign-in page that lists the seeded people, and
// signing user tokens for tokenctl with the same key. It speaks plain http
// and asks for no password, so it must never run anywhere but a developer's
// machine.
package issuer

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/crypto"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// DefaultClientID is the console's client id when Config.ClientID is empty.
// It is also the audience of every token the issuer signs.
const DefaultClientID = "tokensmith-console"

// Default lifetimes.
const (
	DefaultTokenTTL = time.Hour
	// requestTTL bounds how long a sign-in may take, from the authorization
	// request to the code exchange.
	requestTTL = 10 * time.Minute
)

// JWKSPath is where the keys are served below the issuer URL: Cognito's
// place, so a verifier that assumes it finds them without discovery.
const JWKSPath = "/.well-known/jwks.json"

// Errors.
var (
	// ErrNoKey means the key file does not exist: Sign does not create one,
	// since the running issuer would not serve it.
	ErrNoKey     = errors.New("issuer: no signing key")
	ErrConfig    = errors.New("issuer: invalid configuration")
	ErrNoEmail   = errors.New("issuer: email is required")
	errNotFound  = errors.New("issuer: sign-in request not found or expired")
	errNoClient  = errors.New("issuer: unknown client")
	errNoSupport = errors.New("issuer: not supported by the local issuer")
)

// Person is someone the sign-in page offers as a button.
type Person struct {
	// Name describes the person beside the button, for example
	// "Workspace admin"; it may be empty.
	Name  string
	Email string
	// Subject is the sub of their tokens; empty means SubjectFor(Email).
	Subject string
}

// Config configures an Issuer.
type Config struct {
	// URL is the issuer identifier, such as http://127.0.0.1:3000/dev-issuer:
	// the iss of every token, with the endpoints below its path.
	URL string
	// KeyFile is the PEM file of the ES256 signing key. New creates it when
	// missing; Sign only reads it.
	KeyFile string
	// ClientID is the console's (public) client id; empty means DefaultClientID.
	ClientID string
	// RedirectURIs are the redirect URIs the client may use, exactly.
	RedirectURIs []string
	// PostLogoutRedirectURIs are where end_session may return to; nil means
	// RedirectURIs.
	PostLogoutRedirectURIs []string
	// People are listed on the sign-in page.
	People []Person
	// TokenTTL is the lifetime of the ID and access tokens; zero means
	// DefaultTokenTTL.
	TokenTTL time.Duration
	// Now is the clock for sign-in request expiry; nil means time.Now.
	Now func() time.Time
}

func (c Config) clientID() string {
	if c.ClientID == "" {
		return DefaultClientID
	}
	return c.ClientID
}

// Issuer serves the provider's endpoints and its sign-in page below the path
// of its URL.
type Issuer struct {
	cfg      Config
	key      *signingKey
	base     string // the path of cfg.URL, without a trailing slash
	csp      string // the sign-in page's Content-Security-Policy
	storage  *storage
	provider *op.Provider
	handler  http.Handler
}

// New loads (or creates) the key and builds the issuer.
func New(cfg Config) (*Issuer, error) {
	cfg.URL = strings.TrimSuffix(cfg.URL, "/")
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: URL %q is not an absolute http URL", ErrConfig, cfg.URL)
	}
	// The issuer signs in anyone without a password, so it answers only on
	// this computer.
	if _, loopback := op.HTTPLoopbackOrLocalhost(cfg.URL); !loopback {
		return nil, fmt.Errorf("%w: URL %q is not on a loopback address", ErrConfig, cfg.URL)
	}
	if cfg.KeyFile == "" {
		return nil, fmt.Errorf("%w: KeyFile is required", ErrConfig)
	}
	if len(cfg.RedirectURIs) == 0 {
		return nil, fmt.Errorf("%w: at least one redirect URI is required", ErrConfig)
	}
	for _, p := range cfg.People {
		if !validEmail(p.Email) {
			return nil, fmt.Errorf("%w: person %q has no valid email", ErrConfig, p.Email)
		}
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PostLogoutRedirectURIs == nil {
		cfg.PostLogoutRedirectURIs = cfg.RedirectURIs
	}
	key, err := loadKey(cfg.KeyFile, true)
	if err != nil {
		return nil, err
	}
	origins, err := redirectOrigins(cfg)
	if err != nil {
		return nil, err
	}
	iss := &Issuer{cfg: cfg, key: key, base: u.EscapedPath(), csp: contentSecurityPolicy(origins)}
	iss.storage = newStorage(key, &client{
		id:              cfg.clientID(),
		redirectURIs:    cfg.RedirectURIs,
		postLogoutURIs:  cfg.PostLogoutRedirectURIs,
		loginURL:        cfg.URL + loginPath + "?id=",
		idTokenLifetime: cfg.TokenTTL,
	}, cfg.TokenTTL, cfg.Now)

	// The codes the library hands out are the sign-in request id encrypted
	// with this key; a fresh key per process is enough, since a sign-in does
	// not outlive the process that started it.
	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return nil, fmt.Errorf("issuer: code key: %w", err)
	}
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:      cryptoKey,
		CodeMethodS256: true,
		// Refresh tokens, as Cognito's managed login gives them, so that the
		// console renews its ID token and revokes the refresh token on sign-out.
		GrantTypeRefreshToken:    true,
		DefaultLogoutRedirectURI: cfg.PostLogoutRedirectURIs[0],
		SupportedScopes:          []string{oidc.ScopeOpenID, oidc.ScopeEmail},
		SupportedClaims:          []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "email", "email_verified"},
	}, iss.storage, op.StaticIssuer(cfg.URL),
		// Plain http on 127.0.0.1 is the point of this issuer.
		op.WithAllowInsecure(),
		op.WithCustomKeysEndpoint(op.NewEndpoint(strings.TrimPrefix(JWKSPath, "/"))),
		op.WithAccessTokenVerifierOpts(op.WithSupportedAccessTokenSigningAlgorithms(string(key.SignatureAlgorithm()))),
		op.WithIDTokenHintVerifierOpts(op.WithSupportedIDTokenHintSigningAlgorithms(string(key.SignatureAlgorithm()))),
		op.WithCORSOptions(corsOptions(origins)),
	)
	if err != nil {
		return nil, fmt.Errorf("issuer: provider: %w", err)
	}
	iss.provider = provider

	mux := http.NewServeMux()
	mux.Handle(loginPath, http.HandlerFunc(iss.login))
	mux.Handle(stylePath, http.HandlerFunc(serveStyle))
	mux.Handle("/", provider)
	iss.handler = http.StripPrefix(iss.base, mux)
	return iss, nil
}

// URL is the issuer identifier.
func (i *Issuer) URL() string { return i.cfg.URL }

// Path is the path of the issuer URL ("/dev-issuer"), below which ServeHTTP
// answers: mount the issuer at Path()+"/" of the server of its URL.
func (i *Issuer) Path() string { return i.base }

// ServeHTTP serves discovery, the JWKS, the authorization, token, userinfo,
// revocation and end_session endpoints and the sign-in page, for request paths that
// start with Path(). It strips the prefix itself.
func (i *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i.handler.ServeHTTP(w, r)
}

// Claims are what a signed token says about a person.
type Claims struct {
	Email string
	// Subject is the sub; empty means SubjectFor(Email).
	Subject string
	// Unverified sets email_verified to false, to try the API's refusal.
	Unverified bool
}

// Sign returns an ID token for c, valid for ttl from now, shaped like those of
// the sign-in flow (same iss, aud, azp, kid and algorithm), signed with this
// issuer's key.
func (i *Issuer) Sign(c Claims, now time.Time, ttl time.Duration) (string, error) {
	return sign(i.key, i.cfg.URL, i.cfg.clientID(), c, now, ttl)
}

// Sign signs a token as the issuer cfg describes would, without serving it:
// for tokenctl, while or after make run serves the issuer. It reads
// cfg.KeyFile and never creates it (ErrNoKey). Only URL, KeyFile and ClientID
// of cfg are read.
func Sign(cfg Config, c Claims, now time.Time, ttl time.Duration) (string, error) {
	key, err := loadKey(cfg.KeyFile, false)
	if err != nil {
		return "", err
	}
	return sign(key, strings.TrimSuffix(cfg.URL, "/"), cfg.clientID(), c, now, ttl)
}

func sign(key *signingKey, issuerURL, clientID string, c Claims, now time.Time, ttl time.Duration) (string, error) {
	if c.Email == "" {
		return "", ErrNoEmail
	}
	sub := c.Subject
	if sub == "" {
		sub = SubjectFor(c.Email)
	}
	claims := oidc.NewIDTokenClaims(issuerURL, sub, []string{clientID}, now.Add(ttl), now, "", "", nil, clientID, 0)
	claims.IssuedAt = oidc.FromTime(now)
	claims.SetUserInfo(userInfo(sub, c.Email, !c.Unverified))
	signer, err := op.SignerFromKey(key)
	if err != nil {
		return "", fmt.Errorf("issuer: signer: %w", err)
	}
	raw, err := crypto.Sign(claims, signer)
	if err != nil {
		return "", fmt.Errorf("issuer: sign: %w", err)
	}
	return raw, nil
}

// userInfo is the person's claims in every token. email_verified is a Bool
// with omitempty in the library, so false goes in as an extra claim to be
// said rather than left out.
func userInfo(sub, email string, verified bool) *oidc.UserInfo {
	info := &oidc.UserInfo{Subject: sub, UserInfoEmail: oidc.UserInfoEmail{Email: email, EmailVerified: oidc.Bool(verified)}}
	if !verified {
		info.Claims = map[string]any{"email_verified": false}
	}
	return info
}

// SubjectFor is the stable subject of an email: the same in every process and
// across restarts, and the same for emails that differ only in the case of
// ASCII letters, as the API compares them.
func SubjectFor(email string) string {
	sum := sha256.Sum256([]byte("tokensmith-local:" + asciiLower(email)))
	return "local-" + hex.EncodeToString(sum[:12])
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// subjectOf is the subject of email: a listed person's own, else SubjectFor.
func (i *Issuer) subjectOf(email string) string {
	for _, p := range i.cfg.People {
		if p.Subject != "" && asciiLower(p.Email) == asciiLower(email) {
			return p.Subject
		}
	}
	return SubjectFor(email)
}
