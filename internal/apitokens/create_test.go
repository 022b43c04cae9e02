package apitokens

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/token"
	"github.com/tokensmith/tokensmith/internal/workloadtoken"
)

// TestSealedShape holds the stored shape of an idempotent create: a record
// as the table keeps it opens to the token it was sealed with, sealing and
// opening give back what went in, and a known input hashes as records keep it.
func TestSealedShape(t *testing.T) {
	created := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	want := tokensmith.Minted{Secret: "tss_secret", Token: tokensmith.Token{
		ID: "t1", Kind: token.KindSite, Name: "CI", SiteID: "s1", WorkspaceID: "w1",
		Permissions: scope.Permissions{"sites": scope.Read}, Scope: "sites:read", DisplayHint: "tss_…cret",
		SecretHash: "5e3c", CreatedOn: created,
		CreatedBy: tokensmith.Actor{Type: tokensmith.ActorPerson, ID: "u1", Email: "a@example.com"},
		ExpiresOn: created.Add(token.Inactivity), AllowedIPs: []string{"203.0.113.0/24"},
	}}
	idem := newIdempotency([]byte("0123456789abcdef0123456789abcdef"), want.Token.Owner(), "u1", "key-0123456789abcdef", tokensmith.TokenInput{})
	stored := `{"secret":"tss_secret","token":{"ID":"t1","Kind":"site","Name":"CI","SiteID":"s1","WorkspaceID":"w1",` +
		`"Permissions":{"sites":"read"},"Scope":"sites:read","DisplayHint":"tss_…cret","SecretHash":"5e3c","PrevSecretHash":"",` +
		`"CreatedOn":"2026-11-22T12:00:00Z","CreatedBy":{"Type":"person","ID":"u1","Email":"a@example.com"},"LastUsed":null,` +
		`"UseCount":0,"ExpiresOn":"` + want.Token.ExpiresOn.Format(time.RFC3339) + `","AllowedIPs":["203.0.113.0/24"],"ScopeLastUsed":null}}`
	gcm, err := idem.gcm()
	if err != nil {
		t.Fatal(err)
	}
	nonce := bytes.Repeat([]byte{7}, gcm.NonceSize())
	got, err := idem.open(gcm.Seal(nonce, nonce, []byte(stored), []byte(idem.keyHash)))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("open(stored record) = %+v, %v; want %+v", got, err, want)
	}
	rec, err := idem.seal(want, created, bytes.NewReader(bytes.Repeat([]byte{1}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := idem.open(rec.Sealed); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("open(seal(m)) = %+v, %v; want %+v", got, err, want)
	}

	// The body hash a stored record keeps: a retry after a deploy must hash
	// the same input alike, or it answers 409 instead of replaying. It is the
	// SHA-256 of {"name":"CI","permissions":{"cms":"read_write","sites":"read"},"allowedIps":["203.0.113.0/24"]}.
	in := tokensmith.TokenInput{Name: "CI", AllowedIPs: []string{"203.0.113.0/24"},
		Permissions: scope.Permissions{"sites": scope.Read, "cms": scope.ReadWrite}}
	const bodyHash = "7e973746d680d74074626e87d0389485f8f1c48c8d80577a7c70bcc1dc3bdb0e"
	if got := newIdempotency([]byte("0123456789abcdef0123456789abcdef"), want.Token.Owner(), "u1", "key-0123456789abcdef", in).bodyHash; got != bodyHash {
		t.Errorf("bodyHash = %s, want %s", got, bodyHash)
	}
}

// TestUseKeyOfATokenWithoutJTI: a workload token without a jti is accepted
// once by its issuer and payload, whatever its signature: the same claims
// signed again (an ECDSA signature has a second valid form) are a replay;
// other claims are not.
func TestUseKeyOfATokenWithoutJTI(t *testing.T) {
	c := workloadtoken.Claims{Issuer: "https://ci.example"}
	first := useKey(c, "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLW9uZQ")
	if again := useKey(c, "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLXR3bw"); again != first {
		t.Error("the same claims with another signature have another use key")
	}
	if other := useKey(c, "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJiIn0.c2lnbmF0dXJlLW9uZQ"); other == first {
		t.Error("other claims have the same use key")
	}
	if otherIssuer := useKey(workloadtoken.Claims{Issuer: "https://other.example"}, "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLW9uZQ"); otherIssuer == first {
		t.Error("another issuer's token has the same use key")
	}
	withJTI := workloadtoken.Claims{Issuer: "https://ci.example", ID: "run-1"}
	if useKey(withJTI, "a.b.c") != useKey(withJTI, "d.e.f") {
		t.Error("a token with a jti is not accepted once by it")
	}
}
