package democms

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// TestVerify: the CMS takes a well-formed assertion and refuses, without
// failing, one that lacks a claim it checks.
func TestVerify(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &priv.PublicKey, KeyID: "k1", Algorithm: "ES256"}}})
	}))
	defer jwks.Close()
	now := time.Unix(1_800_000_000, 0)
	c := &CMS{JWKSURL: jwks.URL, Issuer: "https://api.example.com", Client: jwks.Client(), Now: func() time.Time { return now }}
	sign := func(without string) string {
		cl := jwt.MapClaims{"iss": c.Issuer, "aud": Audience, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
			"jti": without + "-jti", "site_id": "s1", "htm": "GET", "htu": "/v2/sites/s1/collections"}
		delete(cl, without)
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, cl)
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(priv)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name, without string
		want          int
	}{
		{"well formed", "", http.StatusOK},
		{"no iat", "iat", http.StatusUnauthorized},
		{"no exp", "exp", http.StatusUnauthorized},
		{"no jti", "jti", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v2/sites/s1/collections", nil)
			r.Header.Set("Tokensmith-Assertion", sign(tc.without))
			w := httptest.NewRecorder()
			c.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Errorf("status = %d %s; want %d", w.Code, w.Body, tc.want)
			}
		})
	}
}
