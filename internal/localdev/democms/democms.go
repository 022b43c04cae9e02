// Package democms is the demo upstream that `make run` puts behind
// tokensmith (upstreams.yaml): a small CMS of collections and their items,
// in memory, written as an operator's own API would be, knowing nothing of
// tokensmith but its assertion. Every request must carry a valid
// Tokensmith-Assertion, verified with an ordinary JWT library
// (golang-jwt) against the JWKS tokensmith publishes: signed by a published
// key, for this audience, unexpired, for this very method and path, and
// never seen before. What a caller sees is its site's alone.
package democms

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// Audience is the demo's audience, as upstreams.yaml declares it.
const Audience = "cms-backend"

// CMS is the demo upstream.
type CMS struct {
	// JWKSURL is where tokensmith publishes the assertion keys; Issuer is
	// the API's base URL, the assertions' iss.
	JWKSURL string
	Issuer  string
	Client  *http.Client
	Now     func() time.Time

	mu          sync.Mutex
	keys        map[string]any // by kid
	fetched     time.Time
	seen        map[string]time.Time // jti: until when it is remembered
	collections map[string]*collection
}

type collection struct {
	ID          string  `json:"id"`
	SiteID      string  `json:"siteId"`
	DisplayName string  `json:"displayName"`
	CreatedOn   string  `json:"createdOn"`
	items       []*item // newest last
}

type item struct {
	ID        string         `json:"id"`
	FieldData map[string]any `json:"fieldData"`
	CreatedOn string         `json:"createdOn"`
	CreatedBy string         `json:"createdBy"`
}

// claims are what the CMS reads of an assertion.
type claims struct {
	jwt.RegisteredClaims
	SiteID string `json:"site_id"`
	Method string `json:"htm"`
	URL    string `json:"htu"`
}

// ServeHTTP serves the CMS's routes, each after the assertion is verified.
func (c *CMS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cl, err := c.verify(r)
	if err != nil {
		writeError(w, http.StatusUnauthorized, "not_authorized", "Request not authorized")
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/sites/{site_id}/collections", func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		defer c.mu.Unlock()
		out := []*collection{}
		for _, col := range c.collections {
			if col.SiteID == cl.SiteID {
				out = append(out, col)
			}
		}
		slices.SortFunc(out, func(a, b *collection) int { return strings.Compare(a.CreatedOn+a.ID, b.CreatedOn+b.ID) })
		writeJSON(w, http.StatusOK, map[string]any{"collections": out})
	})
	mux.HandleFunc("POST /v2/sites/{site_id}/collections", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			DisplayName string `json:"displayName"`
		}
		if err := decode(r, &in); err != nil || in.DisplayName == "" {
			writeError(w, http.StatusBadRequest, "validation_error", "displayName is required")
			return
		}
		col := &collection{ID: newID(), SiteID: cl.SiteID, DisplayName: in.DisplayName, CreatedOn: c.Now().UTC().Format(time.RFC3339Nano)}
		c.mu.Lock()
		if c.collections == nil {
			c.collections = map[string]*collection{}
		}
		c.collections[col.ID] = col
		c.mu.Unlock()
		writeJSON(w, http.StatusCreated, col)
	})
	mux.HandleFunc("GET /v2/collections/{collection_id}/items", func(w http.ResponseWriter, r *http.Request) {
		c.inCollection(w, r, cl, func(col *collection) {
			writeJSON(w, http.StatusOK, map[string]any{"items": append([]*item{}, col.items...)})
		})
	})
	mux.HandleFunc("POST /v2/collections/{collection_id}/items", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			FieldData map[string]any `json:"fieldData"`
		}
		if err := decode(r, &in); err != nil || len(in.FieldData) == 0 {
			writeError(w, http.StatusBadRequest, "validation_error", "fieldData is required")
			return
		}
		c.inCollection(w, r, cl, func(col *collection) {
			it := &item{ID: newID(), FieldData: in.FieldData, CreatedOn: c.Now().UTC().Format(time.RFC3339Nano), CreatedBy: cl.Subject}
			col.items = append(col.items, it)
			writeJSON(w, http.StatusCreated, it)
		})
	})
	mux.HandleFunc("GET /v2/collections/{collection_id}/items/{item_id}", func(w http.ResponseWriter, r *http.Request) {
		c.inCollection(w, r, cl, func(col *collection) {
			for _, it := range col.items {
				if it.ID == r.PathValue("item_id") {
					writeJSON(w, http.StatusOK, it)
					return
				}
			}
			notFound(w)
		})
	})
	mux.HandleFunc("DELETE /v2/collections/{collection_id}/items/{item_id}", func(w http.ResponseWriter, r *http.Request) {
		c.inCollection(w, r, cl, func(col *collection) {
			for i, it := range col.items {
				if it.ID == r.PathValue("item_id") {
					col.items = slices.Delete(col.items, i, i+1)
					w.WriteHeader(http.StatusNoContent)
					return
				}
			}
			notFound(w)
		})
	})
	mux.ServeHTTP(w, r)
}

// inCollection runs f on the collection the path names, under the lock,
// when it is the caller's site's; any other is not found.
func (c *CMS) inCollection(w http.ResponseWriter, r *http.Request, cl *claims, f func(*collection)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	col, ok := c.collections[r.PathValue("collection_id")]
	if !ok || col.SiteID != cl.SiteID {
		notFound(w)
		return
	}
	f(col)
}

// verify checks r's assertion: ES256 by a published key, this issuer and
// audience, unexpired (a minute at most), for r's method and path, and its
// jti never seen before.
func (c *CMS) verify(r *http.Request) (*claims, error) {
	raw := r.Header.Get("Tokensmith-Assertion")
	if raw == "" {
		return nil, errors.New("no Tokensmith-Assertion header")
	}
	var cl claims
	_, err := jwt.ParseWithClaims(raw, &cl, c.key,
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithAudience(Audience), jwt.WithIssuer(c.Issuer),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(c.Now))
	if err != nil {
		return nil, err
	}
	if cl.Method != r.Method || cl.URL != r.URL.EscapedPath() {
		return nil, fmt.Errorf("the assertion is for %s %s", cl.Method, cl.URL)
	}
	if cl.IssuedAt == nil || cl.ExpiresAt.Sub(cl.IssuedAt.Time) > time.Minute {
		return nil, errors.New("the assertion lives longer than a minute")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.Now()
	for jti, until := range c.seen {
		if now.After(until) {
			delete(c.seen, jti)
		}
	}
	if _, ok := c.seen[cl.ID]; ok || cl.ID == "" {
		return nil, errors.New("the assertion was used before")
	}
	if c.seen == nil {
		c.seen = map[string]time.Time{}
	}
	c.seen[cl.ID] = cl.ExpiresAt.Time
	return &cl, nil
}

// key finds the public key of t's kid in the JWKS, fetching it again when
// the kid is unknown (a rotation), at most every ten seconds.
func (c *CMS) key(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	c.mu.Lock()
	k, ok := c.keys[kid]
	wait := c.Now().Sub(c.fetched) < 10*time.Second
	if !ok && !wait {
		c.fetched = c.Now()
	}
	c.mu.Unlock()
	switch {
	case ok:
		return k, nil
	case wait:
		return nil, fmt.Errorf("no published key %q", kid)
	}
	// Fetched without the lock: the other requests go on meanwhile.
	resp, err := c.Client.Get(c.JWKSURL)
	if err != nil {
		return nil, fmt.Errorf("fetch the JWKS: %w", err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&set); err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch the JWKS: status %d", resp.StatusCode)
	}
	keys := map[string]any{}
	for _, k := range set.Keys {
		keys[k.KeyID] = k.Key
	}
	c.mu.Lock()
	c.keys = keys
	c.mu.Unlock()
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("no published key %q", kid)
}

func decode(r *http.Request, v any) error {
	return json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "resource_not_found", "Requested resource not found")
}

// writeError answers in tokensmith's error shape, so that a client sees one
// shape whichever side refused.
func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"code": code, "message": message, "externalReference": nil, "details": []any{}})
}

func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
