// Package upstream is the declaration of the operator's own APIs that
// tokensmith puts behind its tokens (API.md section 13): upstreams (a base
// URL, the assertion's audience, a timeout and routes, each with the scope it
// needs) and APIs added to the scope catalogue, and its validation.
//
// The operator writes it as YAML, in the repository's upstreams.yaml, which
// package upstreamyaml reads (`make run`, the tests). The functions link no
// YAML parser: they embed declaration.json, the same declaration as
// cmd/upstreamgen writes it from upstreams.yaml (the Makefile runs it before
// every build; its test fails when the two differ), and validate it again at
// cold start, with the URLs' ${NAME} read from their environment.
package upstream

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/token"
)

// RepositoryFile is the repository's own declaration, which the functions
// are built with.
const RepositoryFile = "upstreams.yaml"

// built is RepositoryFile as cmd/upstreamgen writes it.
//
//go:embed declaration.json
var built []byte

// Timeouts of an upstream, in seconds: API Gateway answers 504 itself after
// 29 s, and the function's own work (the decision, the count, the use, each
// bounded by the DynamoDB client's retries) comes before the upstream's.
const (
	DefaultTimeout = 10
	MaxTimeout     = 25
	gatewayTimeout = 29
)

// Methods are the methods an upstream route may take.
var Methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}

// Declaration is the file's content, validated, with every ${NAME} of a
// URL expanded.
type Declaration struct {
	Upstreams []Upstream `yaml:"upstreams" json:"upstreams"`
	APIs      []API      `yaml:"apis" json:"apis"`
}

// Upstream is one API behind tokensmith.
type Upstream struct {
	Name           string  `yaml:"name" json:"name"`
	URL            string  `yaml:"url" json:"url"`
	Audience       string  `yaml:"audience" json:"audience"`
	TimeoutSeconds int     `yaml:"timeoutSeconds" json:"timeoutSeconds"`
	Routes         []Route `yaml:"routes" json:"routes"`
}

// Served reports whether the upstream has a URL: a url that is a lone
// ${NAME} set empty leaves it unserved, its routes answered 502.
func (u Upstream) Served() bool { return u.URL != "" }

// Timeout is how long the upstream has to answer.
func (u Upstream) Timeout() time.Duration { return time.Duration(u.TimeoutSeconds) * time.Second }

// Route is one method and path of an upstream, and the scope it needs.
type Route struct {
	Method string `yaml:"method" json:"method"`
	Path   string `yaml:"path" json:"path"`
	Scope  string `yaml:"scope" json:"scope"`
}

// API is an API added to the catalogue of site tokens.
type API struct {
	Name     string      `yaml:"name" json:"name"`
	Label    string      `yaml:"label" json:"label"`
	MaxLevel scope.Level `yaml:"maxLevel" json:"maxLevel"`
}

var (
	upstreamName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	apiName      = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	literal      = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)
	parameter    = regexp.MustCompile(`^\{[a-z][a-z0-9_]*\+?\}$`)
	variable     = regexp.MustCompile(`\$\{([^}]*)\}`)
	variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Validate checks d, read from the file named name, fills in its defaults
// and expands each ${NAME} of a URL with getenv. Every problem is reported,
// each naming the file, the entry and the field. A nil getenv leaves URLs
// as written, unchecked: what a function that forwards nothing needs of
// the declaration is its routes and APIs.
func (d *Declaration) Validate(name string, getenv func(string) (string, bool)) error {
	var problems []string
	report := func(entry, field, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s: %s: %s: %s", name, entry, field, fmt.Sprintf(format, args...)))
	}
	d.validateAPIs(report)
	added := map[string]scope.Level{}
	for _, a := range d.APIs {
		added[a.Name] = a.MaxLevel
	}
	seen := map[string]string{} // by method and path shape: where it was declared
	for _, r := range route.Builtin() {
		seen[r.Method+" "+route.Shape(r.Path)] = "the built-in route " + r.Method + " " + r.Path
		// API Gateway routes a path to the resource that declares it,
		// whatever the method, so an upstream route on the path of a
		// built-in route would never reach the upstream.
		seen["* "+route.Shape(r.Path)] = "the built-in route " + r.Method + " " + r.Path
	}
	names := map[string]bool{}
	for i := range d.Upstreams {
		u := &d.Upstreams[i]
		entry := fmt.Sprintf("upstreams[%d]", i)
		if u.Name != "" {
			entry += fmt.Sprintf(" (%s)", u.Name)
		}
		switch {
		case !upstreamName.MatchString(u.Name):
			report(entry, "name", "must match [a-z][a-z0-9-]{0,31}; got %q", u.Name)
		case names[u.Name]:
			report(entry, "name", "%q is declared twice", u.Name)
		}
		names[u.Name] = true
		if getenv == nil {
			// Nothing is forwarded: the URL is not needed.
		} else if expanded, err := expand(u.URL, getenv); err != nil {
			report(entry, "url", "%v", err)
		} else if expanded == "" && variable.FindString(u.URL) == u.URL {
			// A lone ${NAME} set empty: the upstream is unserved.
			u.URL = ""
		} else if err := baseURL(expanded); err != nil {
			report(entry, "url", "%v", err)
		} else {
			u.URL = strings.TrimSuffix(expanded, "/")
		}
		if strings.TrimSpace(u.Audience) == "" {
			report(entry, "audience", "is required")
		}
		switch {
		case u.TimeoutSeconds == 0:
			u.TimeoutSeconds = DefaultTimeout
		case u.TimeoutSeconds < 1 || u.TimeoutSeconds > MaxTimeout:
			report(entry, "timeoutSeconds", "must be 1 to %d (API Gateway's own limit is %d s, the function's work included); got %d", MaxTimeout, gatewayTimeout, u.TimeoutSeconds)
		}
		if len(u.Routes) == 0 {
			report(entry, "routes", "must declare at least one route")
		}
		for j, r := range u.Routes {
			field := fmt.Sprintf("routes[%d]", j)
			if !slices.Contains(Methods, r.Method) {
				report(entry, field+".method", "must be one of %s; got %q", strings.Join(Methods, " "), r.Method)
			}
			if err := checkPath(r.Path); err != nil {
				report(entry, field+".path", "%v", err)
			} else {
				key := r.Method + " " + route.Shape(r.Path)
				if prev, ok := seen[key]; ok {
					report(entry, field+".path", "%s %s collides with %s", r.Method, r.Path, prev)
				} else if prev, ok := seen["* "+route.Shape(r.Path)]; ok {
					report(entry, field+".path", "%s is the path of %s, which API Gateway serves alone", r.Path, prev)
				} else {
					seen[key] = fmt.Sprintf("%s %s of upstream %q", r.Method, r.Path, u.Name)
				}
			}
			if !scopeExists(r.Scope, added) {
				report(entry, field+".scope", "%q is no scope of the catalogue (API.md section 3, or an API of apis) ", r.Scope)
			}
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

func (d *Declaration) validateAPIs(report func(entry, field, format string, args ...any)) {
	names := map[string]bool{}
	for _, k := range []token.Kind{token.KindSite, token.KindWorkspace} {
		for _, a := range scope.Builtin(k) {
			names[a.Name] = true
		}
	}
	for i, a := range d.APIs {
		entry := fmt.Sprintf("apis[%d]", i)
		if a.Name != "" {
			entry += fmt.Sprintf(" (%s)", a.Name)
		}
		switch {
		case !apiName.MatchString(a.Name):
			report(entry, "name", "must match [a-z][a-z0-9_]{0,31}; got %q", a.Name)
		case names[a.Name]:
			report(entry, "name", "%q is already an API of the catalogue", a.Name)
		}
		names[a.Name] = true
		if strings.TrimSpace(a.Label) == "" || len(a.Label) > 64 {
			report(entry, "label", "must be 1 to 64 characters")
		}
		if a.MaxLevel != scope.Read && a.MaxLevel != scope.ReadWrite {
			report(entry, "maxLevel", "must be read or read_write; got %q", a.MaxLevel)
		}
	}
}

// scopeExists reports whether sc is a scope of the built-in catalogue or
// of the added APIs.
func scopeExists(sc string, added map[string]scope.Level) bool {
	name, level, ok := strings.Cut(sc, ":")
	if !ok {
		return false
	}
	max, isAdded := added[name]
	if !isAdded {
		for _, k := range []token.Kind{token.KindSite, token.KindWorkspace} {
			for _, a := range scope.Builtin(k) {
				if a.Name == name {
					max, isAdded = a.Max, true
				}
			}
		}
	}
	return isAdded && (level == "read" || (level == "write" && max == scope.ReadWrite))
}

// expand replaces each ${NAME} of s with the variable's value; an unset
// variable, a name that is no variable name or an AWS_ one, is an error. A variable
// set empty expands to "".
func expand(s string, getenv func(string) (string, bool)) (string, error) {
	var err error
	out := variable.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		if !variableName.MatchString(name) {
			err = fmt.Errorf("%q is not a variable name", name)
			return ""
		}
		// The runtime's own variables hold its credentials.
		if strings.HasPrefix(strings.ToUpper(name), "AWS_") {
			err = fmt.Errorf("${%s} is the runtime's: a url may name no AWS_ variable", name)
			return ""
		}
		v, ok := getenv(name)
		if !ok && err == nil {
			err = fmt.Errorf("${%s} is not set", name)
		}
		return v
	})
	return out, err
}

// baseURL checks that s is an absolute http or https URL without a query,
// fragment or credentials.
func baseURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || s == "":
		return fmt.Errorf("must be an absolute http or https URL; got %q", s)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("must be an http or https URL; got scheme %q", u.Scheme)
	case u.Host == "":
		return fmt.Errorf("must name a host; got %q", s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("must have no credentials, query or fragment")
	}
	return nil
}

// checkPath checks an upstream route's path: below /v2/, each segment
// literal or {name}, a greedy {name+} only last, no name twice.
func checkPath(p string) error {
	if !strings.HasPrefix(p, "/v2/") {
		return fmt.Errorf("must start with /v2/; got %q", p)
	}
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	params := map[string]bool{}
	for i, s := range segs {
		switch {
		case parameter.MatchString(s):
			name := strings.TrimSuffix(s[1:len(s)-1], "+")
			if strings.HasSuffix(s, "+}") && i != len(segs)-1 {
				return fmt.Errorf("a greedy %s must be the last segment", s)
			}
			if params[name] {
				return fmt.Errorf("names {%s} twice", name)
			}
			params[name] = true
		case literal.MatchString(s):
		default:
			return fmt.Errorf("segment %q must be literal ([A-Za-z0-9._~-]) or {name}", s)
		}
	}
	return nil
}

// Routes returns the declaration's routes as routes of the route table,
// served by the upstream function.
func (d *Declaration) Routes() []route.Route {
	var out []route.Route
	for _, u := range d.Upstreams {
		for _, r := range u.Routes {
			out = append(out, route.Route{
				Method: r.Method, Path: r.Path, Function: route.Upstream,
				Op: u.Name + ":" + r.Method + " " + r.Path, Auth: route.APIToken, Scope: r.Scope,
			})
		}
	}
	return out
}

// APIsOfCatalogue returns the added APIs as APIs of the scope catalogue.
func (d *Declaration) APIsOfCatalogue() []scope.API {
	var out []scope.API
	for _, a := range d.APIs {
		out = append(out, scope.API{Name: a.Name, Label: a.Label, Max: a.MaxLevel})
	}
	return out
}

// Install puts the declaration in force in this process: its routes join
// the route table and its APIs the scope catalogue. It is called once at
// start, before any request.
func (d *Declaration) Install() {
	scope.Add(d.APIsOfCatalogue())
	route.Join(d.Routes())
}

// Find returns the upstream that declares route r.
func (d *Declaration) Find(r route.Route) (Upstream, bool) {
	for _, u := range d.Upstreams {
		for _, ur := range u.Routes {
			if ur.Method == r.Method && ur.Path == r.Path {
				return u, true
			}
		}
	}
	return Upstream{}, false
}

// Built returns the declaration the functions are built with
// (RepositoryFile, as declaration.json holds it), validated, with URLs
// expanded from getenv (nil: left as written).
func Built(getenv func(string) (string, bool)) (*Declaration, error) {
	var d Declaration
	dec := json.NewDecoder(bytes.NewReader(built))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%s as built: %w", RepositoryFile, err)
	}
	if err := d.Validate(RepositoryFile, getenv); err != nil {
		return nil, err
	}
	return &d, nil
}

// JSON is d as declaration.json holds it.
func (d *Declaration) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	return append(b, '\n'), err
}
