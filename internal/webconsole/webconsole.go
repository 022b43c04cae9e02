// Package webconsole serves the built console (package console's files)
// below /console/: index.html, its hashed assets and config.json, the
// run-time configuration the page reads, each with a strict
// Content-Security-Policy.
package webconsole

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tokensmith/tokensmith"
)

// Prefix is the path the console is served under; /console without the
// slash redirects there, since the page names its assets relative to itself.
const Prefix = "/console/"

// Config is the page's run-time configuration, served as config.json (the
// ConsoleConfig of console/src/config.ts).
type Config struct {
	Issuer                string `json:"issuer"`
	ClientID              string `json:"clientId"`
	APIBaseURL            string `json:"apiBaseUrl"`
	RedirectURI           string `json:"redirectUri"`
	PostLogoutRedirectURI string `json:"postLogoutRedirectUri"`
	// TokenOrigin is the origin of the issuer's token endpoint when it is not
	// the issuer's (Cognito's is the user pool domain); the page calls it
	// from the browser, so the policy must let it connect there.
	TokenOrigin string `json:"-"`
}

// ErrConfig is returned by New for a configuration the page could not use.
var ErrConfig = errors.New("webconsole: invalid configuration")

// ErrBundle is returned by New for files without a usable manifest.json.
var ErrBundle = errors.New("webconsole: invalid bundle")

// Cache policies: index.html and config.json change with every deployment,
// the assets never change under their hashed names.
const (
	NoStore   = "no-store"
	Immutable = "public, max-age=31536000, immutable"
)

type manifest struct {
	Entry string `json:"entry"`
	Files []struct {
		Path        string `json:"path"`
		ContentType string `json:"contentType"`
	} `json:"files"`
}

type file struct {
	body        []byte
	contentType string
	cache       string
}

type handler struct {
	files  map[string]file // by path below Prefix; "" is index.html
	config []byte
	csp    string
}

// New returns the handler of the console's routes, serving the files that
// files' manifest.json lists, and config.json from cfg.
func New(files fs.FS, cfg Config) (http.Handler, error) {
	origins, err := cfg.origins()
	if err != nil {
		return nil, err
	}
	b, err := fs.ReadFile(files, "manifest.json")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBundle, err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil || m.Entry == "" {
		return nil, fmt.Errorf("%w: manifest.json: %v", ErrBundle, err)
	}
	h := &handler{files: map[string]file{}}
	for _, f := range m.Files {
		body, err := fs.ReadFile(files, f.Path)
		if err != nil || f.ContentType == "" {
			return nil, fmt.Errorf("%w: %s: %v", ErrBundle, f.Path, err)
		}
		switch {
		case f.Path == m.Entry:
			h.files[""] = file{body, f.ContentType, NoStore}
		case strings.HasPrefix(f.Path, "assets/"):
			h.files[f.Path] = file{body, f.ContentType, Immutable}
		default:
			return nil, fmt.Errorf("%w: %s is neither the entry nor an asset", ErrBundle, f.Path)
		}
	}
	if _, ok := h.files[""]; !ok {
		return nil, fmt.Errorf("%w: the entry %s is not listed", ErrBundle, m.Entry)
	}
	if h.config, err = json.Marshal(cfg); err != nil {
		return nil, err
	}
	connect := strings.Join(append([]string{"'self'"}, origins...), " ")
	h.csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src " + connect +
		"; frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self' " + origins[0]
	return h, nil
}

// origins checks cfg and returns the origins the page connects to besides
// its own: the issuer's first, then the token endpoint's and the API's when
// they differ from it.
func (c Config) origins() ([]string, error) {
	issuer, err := origin(c.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: issuer: %v", ErrConfig, err)
	}
	if c.ClientID == "" {
		return nil, fmt.Errorf("%w: no client id", ErrConfig)
	}
	type named struct{ name, url string }
	for _, n := range []named{{"redirect URI", c.RedirectURI}, {"post-logout redirect URI", c.PostLogoutRedirectURI}} {
		if _, err := origin(n.url); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrConfig, n.name, err)
		}
	}
	out := []string{issuer}
	// In this order, so that the policy is the same on every instance.
	for _, n := range []named{{"token endpoint origin", c.TokenOrigin}, {"API base URL", c.APIBaseURL}} {
		name, u := n.name, n.url
		if u == "" {
			continue
		}
		o, err := origin(u)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrConfig, name, err)
		}
		if name == "API base URL" && strings.HasSuffix(u, "/") {
			return nil, fmt.Errorf("%w: API base URL %q ends in a slash", ErrConfig, u)
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out, nil
}

// origin returns the scheme and host of an absolute http(s) URL.
func origin(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	return u.Scheme + "://" + u.Host, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	path := r.URL.Path
	if r.Method != http.MethodGet {
		path = "" // the route table has GET routes only
	}
	if path == strings.TrimSuffix(Prefix, "/") {
		// Relative, so that it holds below any stage or base path.
		hd.Set("Location", "console/")
		hd.Set("Cache-Control", NoStore)
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	rest, ok := strings.CutPrefix(path, Prefix)
	if !ok {
		notFound(w)
		return
	}
	if rest == "config.json" {
		write(w, file{h.config, "application/json", NoStore})
		return
	}
	f, ok := h.files[rest]
	if !ok {
		notFound(w)
		return
	}
	write(w, f)
}

func write(w http.ResponseWriter, f file) {
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Cache-Control", f.cache)
	w.WriteHeader(http.StatusOK)
	w.Write(f.body)
}

// notFound answers 404 in the API's error shape (API.md section 8).
func notFound(w http.ResponseWriter) {
	b, _ := json.Marshal(map[string]any{"code": tokensmith.ENOTFOUND, "message": tokensmith.MsgNotFound, "externalReference": nil, "details": []any{}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", NoStore)
	w.WriteHeader(http.StatusNotFound)
	w.Write(append(b, '\n'))
}
