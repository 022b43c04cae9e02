package usertoken

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Algorithms are the signature algorithms accepted of any issuer's tokens.
var Algorithms = algorithms

// Keys is one issuer's signing keys, found through its discovery document
// and cached, fetched again and aged out as user tokens' are (keySet,
// package keyage): the key sets of the issuers trusted workloads name
// (package workloadtoken) are these.
type Keys struct{ set *keySet }

// NewKeys returns the keys of issuer, fetched with client on the clock now.
// It makes no network call.
func NewKeys(issuer string, client *http.Client, now func() time.Time) *Keys {
	return &Keys{set: newKeySet(issuer, client, now)}
}

// Verify checks that one of the issuer's keys signed raw, with one of
// Algorithms, and returns its payload, unread: ErrInvalid when no key
// does, ErrIssuerUnavailable (wrapping the fetch's error) when the keys
// cannot be had.
func (k *Keys) Verify(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, algorithms)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	header := jws.Signatures[0].Header
	keys, err := k.set.keys(ctx, header.KeyID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIssuerUnavailable, err)
	}
	payload, _, ok := verifySignature(jws, header, keys)
	if !ok {
		return nil, fmt.Errorf("%w: no key of the issuer verifies the token", ErrInvalid)
	}
	return payload, nil
}
