package assertion_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/assertion"
)

// verify checks raw against the published key set with go-jose, a JWT
// library of its own, as an upstream would: signature, kid, aud, exp, htm
// and htu.
func verify(t *testing.T, jwks []byte, raw string, now time.Time, aud, method, path string) map[string]any {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatal(err)
	}
	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q is not published in %s", tok.Headers[0].KeyID, jwks)
	}
	var std josejwt.Claims
	var all map[string]any
	if err := tok.Claims(keys[0].Key, &std, &all); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if err := std.ValidateWithLeeway(josejwt.Expected{AnyAudience: josejwt.Audience{aud}, Time: now}, 0); err != nil {
		t.Errorf("claims: %v", err)
	}
	if all["htm"] != method || all["htu"] != path {
		t.Errorf("htm, htu = %v, %v; want %s, %s", all["htm"], all["htu"], method, path)
	}
	return all
}

func TestSign(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	k, err := assertion.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s := &assertion.Signer{Issuer: "https://api.example.com", Keys: []assertion.Key{k}, Now: func() time.Time { return now }}
	caller := tokensmith.Caller{Kind: tokensmith.CallerSite, TokenID: "65f0c0ffee0123456789abcd", SiteID: "s1", WorkspaceID: "w1", Scope: "cms:read,cms:write"}
	raw, err := s.Sign(assertion.Request{Caller: caller, Audience: "cms-backend", Method: "POST", Path: "/v2/collections/c1/items"})
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := s.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	claims := verify(t, jwks, raw, now.Add(59*time.Second), "cms-backend", "POST", "/v2/collections/c1/items")
	want := map[string]any{"iss": "https://api.example.com", "sub": caller.TokenID, "token_kind": "site", "site_id": "s1", "workspace_id": "w1", "scope": "cms:read,cms:write"}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v; want %v", k, claims[k], v)
		}
	}
	if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 60 {
		t.Errorf("exp - iat = %v; want 60", exp-iat)
	}
	again, _ := s.Sign(assertion.Request{Caller: caller, Audience: "cms-backend", Method: "POST", Path: "/v2/collections/c1/items"})
	if verify(t, jwks, again, now, "cms-backend", "POST", "/v2/collections/c1/items")["jti"] == claims["jti"] {
		t.Error("two assertions share a jti")
	}

	// Expired after 60 s, and for another audience it is refused.
	tok, _ := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	var std josejwt.Claims
	tok.UnsafeClaimsWithoutVerification(&std)
	if err := std.ValidateWithLeeway(josejwt.Expected{AnyAudience: josejwt.Audience{"cms-backend"}, Time: now.Add(61 * time.Second)}, 0); err == nil {
		t.Error("an assertion 61 s old validates")
	}
	if err := std.ValidateWithLeeway(josejwt.Expected{AnyAudience: josejwt.Audience{"billing"}, Time: now}, 0); err == nil {
		t.Error("an assertion validates for another audience")
	}
}

// fakeSecrets is Secrets Manager holding one secret, with its version
// tokens.
type fakeSecrets struct {
	value  string
	tokens map[string]string
	// beforePut runs before each write, to race one.
	beforePut func()
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, _ *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(f.value)}, nil
}

func (f *fakeSecrets) PutSecretValue(_ context.Context, in *secretsmanager.PutSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	if f.beforePut != nil {
		f.beforePut()
	}
	if tok := aws.ToString(in.ClientRequestToken); tok != "" {
		if prev, ok := f.tokens[tok]; ok && prev != aws.ToString(in.SecretString) {
			return nil, &smtypes.ResourceExistsException{Message: aws.String("a version with this token exists")}
		}
		f.tokens[tok] = aws.ToString(in.SecretString)
	}
	f.value = aws.ToString(in.SecretString)
	return &secretsmanager.PutSecretValueOutput{}, nil
}

func TestLoadGeneratesTheFirstKeyOnce(t *testing.T) {
	sm := &fakeSecrets{value: `{"keys":[]}`, tokens: map[string]string{}}
	first, err := assertion.Load(context.Background(), sm, "arn")
	if err != nil || len(first) != 1 {
		t.Fatalf("Load = %v, %v; want one key", first, err)
	}
	// A second cold start reads the key written.
	second, err := assertion.Load(context.Background(), sm, "arn")
	if err != nil || len(second) != 1 || second[0].ID != first[0].ID {
		t.Errorf("second Load = %v, %v; want the first key %s", second, err, first[0].ID)
	}

	// Two cold starts racing on an empty secret end with one key.
	race := &fakeSecrets{value: `{"keys":[]}`, tokens: map[string]string{}}
	var winner []assertion.Key
	race.beforePut = func() {
		race.beforePut = nil
		winner, err = assertion.Load(context.Background(), race, "arn")
	}
	loser, err2 := assertion.Load(context.Background(), race, "arn")
	if err != nil || err2 != nil || len(loser) != 1 || loser[0].ID != winner[0].ID {
		t.Errorf("racing Loads = %v (%v), %v (%v); want the same one key", winner, err, loser, err2)
	}
}

func TestRotateKeepsThePreviousKeyPublishedForADay(t *testing.T) {
	ctx := context.Background()
	sm := &fakeSecrets{value: `{"keys":[]}`, tokens: map[string]string{}}
	old, _ := assertion.Load(ctx, sm, "arn")
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	next, err := assertion.Rotate(ctx, sm, "arn", at, false)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := assertion.Load(ctx, sm, "arn")
	published := func(now time.Time) []string {
		s := &assertion.Signer{Keys: keys, Now: func() time.Time { return now }}
		b, _ := s.JWKS()
		var set jose.JSONWebKeySet
		json.Unmarshal(b, &set)
		var ids []string
		for _, k := range set.Keys {
			ids = append(ids, k.KeyID)
		}
		return ids
	}
	if got := published(at.Add(23 * time.Hour)); len(got) != 2 || got[0] != next.ID || got[1] != old[0].ID {
		t.Errorf("published a day after rotating = %v; want %s then %s", got, next.ID, old[0].ID)
	}
	if got := published(at.Add(25 * time.Hour)); len(got) != 1 || got[0] != next.ID {
		t.Errorf("published 25 hours after rotating = %v; want %s alone", got, next.ID)
	}
	// A second rotation more than a day later drops the first key.
	assertion.Rotate(ctx, sm, "arn", at.Add(48*time.Hour), false)
	if keys, _ = assertion.Load(ctx, sm, "arn"); len(keys) != 2 || keys[1].ID != next.ID {
		t.Errorf("after two rotations the ring is %v; want the new key and %s", keys, next.ID)
	}
	// After a leak every previous key goes at once.
	leakFree, _ := assertion.Rotate(ctx, sm, "arn", at.Add(49*time.Hour), true)
	if keys, _ = assertion.Load(ctx, sm, "arn"); len(keys) != 1 || keys[0].ID != leakFree.ID {
		t.Errorf("after a rotation dropping the previous keys the ring is %v; want %s alone", keys, leakFree.ID)
	}
}

// BenchmarkSign is the CPU of one assertion (ES256): what each upstream
// request costs to sign.
func BenchmarkSign(b *testing.B) {
	k, err := assertion.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	s := &assertion.Signer{Issuer: "https://api.example.com", Keys: []assertion.Key{k}, Now: time.Now}
	req := assertion.Request{Caller: tokensmith.Caller{Kind: tokensmith.CallerSite, TokenID: "65f0c0ffee0123456789abcd", SiteID: "s1", WorkspaceID: "w1", Scope: "cms:read,cms:write"},
		Audience: "cms-backend", Method: "GET", Path: "/v2/collections/c1/items"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(req); err != nil {
			b.Fatal(err)
		}
	}
}
