// Package scope is the catalogue of APIs a token can be granted, the
// permission levels per API, and their expansion to scopes.
package scope

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/tokensmith/tokensmith/internal/token"
)

// Level is a permission level for one API.
type Level string

const (
	None      Level = "none"
	Read      Level = "read"
	ReadWrite Level = "read_write"
)

// Permissions maps an API name to the level granted on it.
type Permissions map[string]Level

// API is an API a token may be granted: its name in permissions and scopes,
// the name people see, and the highest level a token may hold on it.
type API struct {
	Name  string
	Label string
	Max   Level
}

// catalogue lists, per token kind, every API a token of that kind may be
// granted, in the order people see them. It is the one source of truth for
// scopes.
var catalogue = map[token.Kind][]API{
	token.KindSite: {
		{"assets", "Assets", ReadWrite},
		{"cms", "CMS", ReadWrite},
		{"comments", "Comments", ReadWrite},
		{"components", "Components", ReadWrite},
		{"ecommerce", "Ecommerce", ReadWrite},
		{"forms", "Forms", ReadWrite},
		{"pages", "Pages", ReadWrite},
		{"sites", "Sites", ReadWrite},
		{"site_activity", "Site activity", Read},
		{"site_config", "Site configuration", ReadWrite},
		{"users", "Users", ReadWrite},
		{"webhooks", "Webhooks", ReadWrite},
	},
	token.KindWorkspace: {
		{"workspace_activity", "Workspace activity", Read},
	},
}

// builtin is the catalogue without the APIs an upstream declaration adds.
var builtin = map[token.Kind][]API{
	token.KindSite:      slices.Clone(catalogue[token.KindSite]),
	token.KindWorkspace: slices.Clone(catalogue[token.KindWorkspace]),
}

// Builtin returns the APIs of the service itself a token of kind k may be
// granted, without added APIs.
func Builtin(k token.Kind) []API { return slices.Clone(builtin[k]) }

// Add makes the catalogue of site tokens the built-in APIs followed by
// apis, the APIs an upstream declaration adds (package upstream validates
// them); they are APIs like the built-in ones everywhere. It is called once
// at start, before any request.
func Add(apis []API) {
	catalogue[token.KindSite] = append(Builtin(token.KindSite), apis...)
}

// Exists reports whether sc is a scope some token may hold: <api>:read of
// any API of the catalogue, <api>:write of one that allows read_write.
func Exists(sc string) bool {
	name, level, ok := strings.Cut(sc, ":")
	if !ok {
		return false
	}
	for _, apis := range catalogue {
		for _, a := range apis {
			if a.Name == name {
				return level == "read" || (level == "write" && a.Max == ReadWrite)
			}
		}
	}
	return false
}

// Catalogue returns the APIs a token of kind k may be granted, in the order
// people see them.
func Catalogue(k token.Kind) []API { return slices.Clone(catalogue[k]) }

// APIs returns the API names a token of kind k may be granted, sorted.
func APIs(k token.Kind) []string {
	names := make([]string, 0, len(catalogue[k]))
	for _, a := range catalogue[k] {
		names = append(names, a.Name)
	}
	sort.Strings(names)
	return names
}

// FieldError names one invalid permission.
type FieldError struct {
	Field   string
	Message string
}

// Validate checks perms against the catalogue for tokens of kind k and
// returns one FieldError per offending entry, sorted by field. Permissions
// that grant no scope at all are reported on the "permissions" field.
func Validate(k token.Kind, perms Permissions) []FieldError {
	var errs []FieldError
	for name, level := range perms {
		field := "permissions." + name
		i := slices.IndexFunc(catalogue[k], func(a API) bool { return a.Name == name })
		switch {
		case i < 0:
			errs = append(errs, FieldError{field, fmt.Sprintf("%s tokens cannot be granted %q", k, name)})
		case level != None && level != Read && level != ReadWrite:
			errs = append(errs, FieldError{field, fmt.Sprintf("must be one of none, read, read_write; got %q", level)})
		case level == ReadWrite && catalogue[k][i].Max == Read:
			errs = append(errs, FieldError{field, fmt.Sprintf("%q can be granted at most read", name)})
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Field < errs[j].Field })
	if len(errs) == 0 && len(Expand(perms)) == 0 {
		errs = append(errs, FieldError{"permissions", "must grant at least one scope"})
	}
	return errs
}

// Expand returns the scopes that perms grant, sorted.
func Expand(perms Permissions) []string {
	var scopes []string
	for name, level := range perms {
		switch level {
		case Read:
			scopes = append(scopes, name+":read")
		case ReadWrite:
			scopes = append(scopes, name+":read", name+":write")
		}
	}
	sort.Strings(scopes)
	return scopes
}

// Granted returns the permissions without the APIs at level none, so that
// what is stored and shown names only what the token can do.
func Granted(perms Permissions) Permissions {
	out := make(Permissions, len(perms))
	for name, level := range perms {
		if level != None {
			out[name] = level
		}
	}
	return out
}

// Join renders scopes as API.md's comma-separated "scope" string.
func Join(scopes []string) string { return strings.Join(scopes, ",") }

// Split parses a "scope" string back into scopes.
func Split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// Missing returns the scopes in need that have does not contain.
func Missing(have []string, need ...string) []string {
	var missing []string
	for _, n := range need {
		found := false
		for _, h := range have {
			if h == n {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, n)
		}
	}
	return missing
}
