// Package scanner stands in locally for GitHub's secret scanning: a key
// kept in the local stack's folder (defaults.GitHubKeyFile), published as
// GitHub publishes its keys, signs leak reports as GitHub signs them, so
// that a report can be tried with no route to GitHub. No Lambda links it.
package scanner

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"

	"github.com/tokensmith/tokensmith/internal/localdev/defaults"
	"github.com/tokensmith/tokensmith/internal/localdev/keyfile"
	"github.com/tokensmith/tokensmith/internal/secretscanning"
)

// ErrNoKey means the folder holds no key yet: the local stack makes it on
// its first start.
var ErrNoKey = keyfile.ErrNoKey

// ErrNotToken means a reported string is not of the token format: GitHub
// reports only whole matches of the registered pattern.
var ErrNotToken = errors.New("not of the token format (" + secretscanning.Pattern + ")")

// DefaultURL is where a report says the token was found when it is told
// no other place.
const DefaultURL = "https://github.com/example/leaky/blob/main/.env"

// Keys returns the keys document of the key in dir, making the key when
// there is none.
func Keys(dir string) (http.Handler, error) {
	key, err := load(dir, keyfile.LoadOrCreate)
	if err != nil {
		return nil, err
	}
	return secretscanning.Document(key), nil
}

// tokenShape is a whole match of the registered pattern.
var tokenShape = regexp.MustCompile(`^(?:` + secretscanning.Pattern + `)$`)

// Report returns GitHub's report of secret found at url (DefaultURL when
// empty), one match, signed by the key in dir, which it never makes
// (ErrNoKey).
func Report(dir, secret, url string) (secretscanning.Delivery, error) {
	if !tokenShape.MatchString(secret) {
		return secretscanning.Delivery{}, ErrNotToken
	}
	if url == "" {
		url = DefaultURL
	}
	key, err := load(dir, keyfile.Load)
	if err != nil {
		return secretscanning.Delivery{}, err
	}
	return key.Deliver([]secretscanning.Match{{Token: secret, Type: secretscanning.SecretType(secret), URL: url, Source: "content"}})
}

func load(dir string, read func(string) (*ecdsa.PrivateKey, error)) (secretscanning.SigningKey, error) {
	private, err := read(filepath.Join(dir, defaults.GitHubKeyFile))
	if err != nil {
		return secretscanning.SigningKey{}, fmt.Errorf("local GitHub key: %w", err)
	}
	return secretscanning.NewSigningKey(private)
}
