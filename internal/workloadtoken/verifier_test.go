package workloadtoken

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// TestIssuerRefusesOtherWritings: a signed token is read only as written
// canonically; the same bytes written with CR or LF inside a segment, with
// padding, or with unused trailing bits set are refused, so that one token
// cannot be sent as many strings.
func TestIssuerRefusesOtherWritings(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A payload whose base64url length leaves unused bits in its last
	// character (not a multiple of 3 bytes).
	payload := []byte(`{"iss":"https://ci.example","sub":"repo:octo/site:ref:refs/heads/main"}`)
	if len(payload)%3 == 0 {
		payload = append(payload[:len(payload)-1], ' ', '}')
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	if iss, err := Issuer(raw); err != nil || iss != "https://ci.example" {
		t.Fatalf("Issuer(canonical) = %q, %v", iss, err)
	}
	parts := strings.Split(raw, ".")
	last := parts[1][len(parts[1])-1]
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	bumped := alphabet[strings.IndexByte(alphabet, last)+1] // same decoded bytes, a trailing bit set
	for name, other := range map[string]string{
		"LF in the payload":     parts[0] + "." + parts[1][:5] + "\n" + parts[1][5:] + "." + parts[2],
		"CRLF in the payload":   parts[0] + "." + parts[1][:5] + "\r\n" + parts[1][5:] + "." + parts[2],
		"padding":               parts[0] + "." + parts[1] + "=." + parts[2],
		"trailing bits set":     parts[0] + "." + parts[1][:len(parts[1])-1] + string(bumped) + "." + parts[2],
		"a fourth segment":      raw + ".x",
		"a space":               raw[:10] + " " + raw[10:],
		"standard base64 chars": strings.NewReplacer("-", "+", "_", "/").Replace(raw),
	} {
		if other == raw {
			continue
		}
		if _, err := Issuer(other); !errors.Is(err, ErrInvalid) {
			t.Errorf("Issuer(%s) = %v; want %v", name, err, ErrInvalid)
		}
	}
}
