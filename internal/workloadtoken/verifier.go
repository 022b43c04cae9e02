package workloadtoken

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/usertoken"
)

// Errors of Verify.
var (
	// ErrInvalid means the token is not one any trusted issuer signed, or
	// its times do not hold.
	ErrInvalid = errors.New("workloadtoken: invalid")
	// ErrIssuerUnavailable means the issuer's discovery document or keys
	// could not be fetched: a dependency failure, not a verdict.
	ErrIssuerUnavailable = errors.New("workloadtoken: issuer keys unavailable")
)

// MaxIssuers bounds the issuers whose keys a Verifier keeps; past it, the
// one used longest ago is forgotten.
const MaxIssuers = 64

// Claims is what a verified workload token says.
type Claims struct {
	Issuer   string
	Subject  string
	Audience []string
	// ID is the token's jti, "" when it has none.
	ID       string
	IssuedAt time.Time
	Expiry   time.Time
	// Strings holds every claim whose value is a string, the registered
	// ones too.
	Strings map[string]string
}

// Verifier checks the signatures and times of workload tokens, with the
// keys of each issuer found through its discovery document and cached as
// user tokens' are (package usertoken, keyage).
type Verifier struct {
	client *http.Client
	now    func() time.Time

	mu   sync.Mutex
	keys map[string]*issuerKeys
}

type issuerKeys struct {
	keys *usertoken.Keys
	used time.Time
}

// NewVerifier returns a Verifier that fetches with client (NewClient's) on
// the clock now.
func NewVerifier(client *http.Client, now func() time.Time) *Verifier {
	return &Verifier{client: client, now: now, keys: map[string]*issuerKeys{}}
}

// Issuer returns the iss claim of raw, unverified: what decides whether
// raw is worth verifying at all, before anything is fetched.
func Issuer(raw string) (string, error) {
	if !canonical(raw) {
		return "", ErrInvalid
	}
	jws, err := jose.ParseSignedCompact(raw, usertoken.Algorithms)
	if err != nil || len(jws.Signatures) != 1 {
		return "", ErrInvalid
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c); err != nil || c.Issuer == "" {
		return "", ErrInvalid
	}
	return c.Issuer, nil
}

// canonical reports whether raw is a compact JWS written the one way its
// bytes can be: three segments of unpadded base64url, each with its unused
// trailing bits zero. Go's decoder skips CR and LF and ignores those bits,
// so without this one signed token could be sent as many strings, and a
// token without a jti, accepted once by its text, many times.
func canonical(raw string) bool {
	segments := strings.Split(raw, ".")
	if len(segments) != 3 {
		return false
	}
	for _, seg := range segments {
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
		if _, err := base64.RawURLEncoding.Strict().DecodeString(seg); err != nil {
			return false
		}
	}
	return true
}

// Verify checks that issuer, which the caller trusts, signed raw, and
// raw's times at now: exp (required), nbf and iat (required) within
// tokensmith.WorkloadTokenSkew, iat at most tokensmith.MaxWorkloadTokenAge
// ago. Audience, subject and other claims are the caller's to match.
func (v *Verifier) Verify(ctx context.Context, issuer, raw string) (Claims, error) {
	payload, err := v.keysOf(issuer).Verify(ctx, raw)
	switch {
	case errors.Is(err, ErrNotPublic):
		// An issuer, or its keys, at an address the service must not
		// reach: the token is refused as any other.
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	case errors.Is(err, usertoken.ErrIssuerUnavailable):
		return Claims{}, fmt.Errorf("%w: %v", ErrIssuerUnavailable, err)
	case err != nil:
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	c, err := parseClaims(payload)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if c.Issuer != issuer {
		return Claims{}, fmt.Errorf("%w: issued by %q, not %q", ErrInvalid, c.Issuer, issuer)
	}
	if err := checkTimes(c, v.now()); err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return c.Claims, nil
}

func (v *Verifier) keysOf(issuer string) *usertoken.Keys {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	if k, ok := v.keys[issuer]; ok {
		k.used = now
		return k.keys
	}
	if len(v.keys) >= MaxIssuers {
		oldest := ""
		for iss, k := range v.keys {
			if oldest == "" || k.used.Before(v.keys[oldest].used) {
				oldest = iss
			}
		}
		delete(v.keys, oldest)
	}
	k := &issuerKeys{keys: usertoken.NewKeys(issuer, v.client, v.now), used: now}
	v.keys[issuer] = k
	return k.keys
}

// parsed is Claims with the times only verification reads.
type parsed struct {
	Claims
	notBefore *time.Time
}

// parseClaims reads a token's payload: sub, exp and iat are required; aud
// is a string or an array of strings.
func parseClaims(payload []byte) (parsed, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return parsed{}, fmt.Errorf("claims: %w", err)
	}
	var c parsed
	c.Strings = map[string]string{}
	for k, v := range m {
		if s, ok := v.(string); ok {
			c.Strings[k] = s
		}
	}
	c.Issuer, c.Subject, c.ID = c.Strings["iss"], c.Strings["sub"], c.Strings["jti"]
	if c.Subject == "" {
		return parsed{}, errors.New("no sub")
	}
	switch aud := m["aud"].(type) {
	case string:
		c.Audience = []string{aud}
	case []any:
		for _, a := range aud {
			s, ok := a.(string)
			if !ok {
				return parsed{}, errors.New("aud is not strings")
			}
			c.Audience = append(c.Audience, s)
		}
	default:
		return parsed{}, errors.New("no aud")
	}
	var err error
	if c.Expiry, err = unixClaim(m, "exp"); err != nil {
		return parsed{}, err
	}
	if c.IssuedAt, err = unixClaim(m, "iat"); err != nil {
		return parsed{}, err
	}
	if _, ok := m["nbf"]; ok {
		nbf, err := unixClaim(m, "nbf")
		if err != nil {
			return parsed{}, err
		}
		c.notBefore = &nbf
	}
	return c, nil
}

// unixClaim reads the NumericDate claim name (RFC 7519: seconds, perhaps
// with a fraction).
func unixClaim(m map[string]any, name string) (time.Time, error) {
	n, ok := m[name].(json.Number)
	if !ok {
		return time.Time{}, fmt.Errorf("no numeric %s", name)
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1e11 {
		return time.Time{}, fmt.Errorf("%s out of range", name)
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
}

// checkTimes holds c's times to now, allowing tokensmith.WorkloadTokenSkew
// of clock skew: not expired, valid already, issued not in the future and
// at most tokensmith.MaxWorkloadTokenAge ago.
func checkTimes(c parsed, now time.Time) error {
	skew := tokensmith.WorkloadTokenSkew
	switch {
	case !now.Before(c.Expiry.Add(skew)):
		return fmt.Errorf("expired at %s", c.Expiry)
	case c.notBefore != nil && now.Add(skew).Before(*c.notBefore):
		return fmt.Errorf("not valid before %s", *c.notBefore)
	case now.Add(skew).Before(c.IssuedAt):
		return fmt.Errorf("issued in the future, at %s", c.IssuedAt)
	case now.Sub(c.IssuedAt) > tokensmith.MaxWorkloadTokenAge:
		return fmt.Errorf("issued at %s, more than %s ago", c.IssuedAt, tokensmith.MaxWorkloadTokenAge)
	}
	return nil
}
