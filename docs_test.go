package tokensmith_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/openapitest"
	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/scope"
	tokenkind "github.com/tokensmith/tokensmith/internal/token"
)

// apiDoc is the project's own account of its API, which these tests hold to
// the code.
const apiDoc = "docs/API.md"

// docTable returns the rows of the Markdown table of file whose header
// cells are header, each row's cells trimmed and without backticks. It
// fails the test when there is no such table, or more than one.
func docTable(t *testing.T, file string, header ...string) [][]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	found := 0
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		if strings.Join(cells(lines[i]), "|") != strings.Join(header, "|") {
			continue
		}
		found++
		for i += 2; i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "|"); i++ {
			rows = append(rows, cells(lines[i]))
		}
	}
	if found != 1 {
		t.Fatalf("%s has %d tables with the header %q; want 1", file, found, header)
	}
	return rows
}

// cells splits a Markdown table row. A pipe escaped as \| stays in its cell.
func cells(line string) []string {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") {
		return nil
	}
	line = strings.ReplaceAll(line, `\|`, "\x00")
	parts := strings.Split(strings.Trim(line, "|"), "|")
	for i, p := range parts {
		p = strings.ReplaceAll(p, "\x00", "|")
		parts[i] = strings.TrimSpace(strings.ReplaceAll(p, "`", ""))
	}
	return parts
}

// compareSets reports, in got/want form, what doc lists that code does not
// and what code has that doc does not.
func compareSets(t *testing.T, what string, doc, code []string) {
	t.Helper()
	inDoc, inCode := map[string]int{}, map[string]bool{}
	for _, d := range doc {
		inDoc[d]++
	}
	for _, c := range code {
		inCode[c] = true
	}
	var extra, missing, twice []string
	for d, n := range inDoc {
		if !inCode[d] {
			extra = append(extra, d)
		}
		if n > 1 {
			twice = append(twice, d)
		}
	}
	for c := range inCode {
		if inDoc[c] == 0 {
			missing = append(missing, c)
		}
	}
	sort.Strings(extra)
	sort.Strings(missing)
	sort.Strings(twice)
	for _, e := range extra {
		t.Errorf("%s documents %s %q; the code has no such %s", apiDoc, what, e, what)
	}
	for _, m := range missing {
		t.Errorf("%s does not document %s %q, which the code has", apiDoc, what, m)
	}
	for _, d := range twice {
		t.Errorf("%s documents %s %q more than once", apiDoc, what, d)
	}
}

// TestDocRoutes holds the routes table of docs/API.md to route.Table, both
// ways: method and path, and the credential and scope each route needs.
func TestDocRoutes(t *testing.T) {
	credential := map[route.Auth]string{route.User: "user token", route.APIToken: "API token", route.APITokenOrUser: "API token or user token", route.Public: "none"}
	rows := docTable(t, apiDoc, "method", "path", "credential", "scope", "success")
	documented := map[string][]string{}
	var doc []string
	for _, r := range rows {
		if len(r) != 5 {
			t.Errorf("routes table row %q has %d cells; want 5", r, len(r))
			continue
		}
		key := r[0] + " " + r[1]
		doc = append(doc, key)
		documented[key] = r
	}
	var code []string
	for _, r := range route.Table {
		key := r.Method + " " + r.Path
		code = append(code, key)
		row, ok := documented[key]
		if !ok {
			continue
		}
		if got, want := row[2], credential[r.Auth]; got != want {
			t.Errorf("%s: credential %q in %s; want %q", key, got, apiDoc, want)
		}
		want := r.Scope
		if want == "" {
			want = "—"
		}
		if got := row[3]; got != want {
			t.Errorf("%s: scope %q in %s; want %q", key, got, apiDoc, want)
		}
		if !regexp.MustCompile(`^[1-5][0-9][0-9]\b`).MatchString(row[4]) {
			t.Errorf("%s: success %q in %s does not start with a status", key, row[4], apiDoc)
		}
	}
	compareSets(t, "route", doc, code)
}

// errorCodes returns every error code the code can answer with: the E...
// constants of error.go, read from its source so that a new one cannot be
// missed, and the codes of template.yaml's gateway responses.
func errorCodes(t *testing.T) []string {
	t.Helper()
	var codes []string
	fset := token.NewFileSet()
	for _, name := range []string{"error.go"} {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if !regexp.MustCompile(`^E[A-Z]+$`).MatchString(vs.Names[0].Name) {
					continue
				}
				for _, v := range vs.Values {
					lit, ok := v.(*ast.BasicLit)
					if !ok {
						t.Fatalf("%s: an error code that is not a string literal: %T", fset.Position(v.Pos()), v)
					}
					s, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					codes = append(codes, s)
				}
			}
		}
	}
	if len(codes) == 0 {
		t.Fatal("found no error codes in error.go")
	}
	api, err := load(t).API()
	if err != nil {
		t.Fatal(err)
	}
	codeField := regexp.MustCompile(`"code":"([a-z_]+)"`)
	for typ, gr := range api.GatewayResponses {
		for _, body := range gr.ResponseTemplates {
			m := codeField.FindStringSubmatch(body)
			if m == nil && !strings.Contains(body, "$context.authorizer.code") {
				t.Errorf("gateway response %s has no code: %s", typ, body)
			}
			if m != nil {
				codes = append(codes, m[1])
			}
		}
	}
	return codes
}

// TestDocErrorCodes holds the errors table of docs/API.md to the codes the
// code can produce, both ways, and each code's status to httpapi.Status.
func TestDocErrorCodes(t *testing.T) {
	rows := docTable(t, apiDoc, "status", "code", "when")
	var doc []string
	for _, r := range rows {
		if len(r) != 3 {
			t.Errorf("errors table row %q has %d cells; want 3", r, len(r))
			continue
		}
		doc = append(doc, r[1])
		status, err := strconv.Atoi(r[0])
		if err != nil {
			t.Errorf("%s: status %q is not a number", r[1], r[0])
			continue
		}
		if want := httpapi.Status(r[1]); status != want {
			t.Errorf("%s: status %d in %s; want %d (httpapi.Status)", r[1], status, apiDoc, want)
		}
		if r[2] == "" {
			t.Errorf("%s: no explanation of when it happens", r[1])
		}
	}
	compareSets(t, "error code", doc, unique(errorCodes(t)))
}

// TestDocScopes holds the scope catalogue table of docs/API.md to
// internal/scope, both ways: every API of each token kind with its maximum
// level and the scopes that level grants, and nothing else.
func TestDocScopes(t *testing.T) {
	rows := docTable(t, apiDoc, "API", "token kind", "maximum level", "scopes")
	var doc []string
	for _, r := range rows {
		if len(r) != 4 {
			t.Errorf("scopes table row %q has %d cells; want 4", r, len(r))
			continue
		}
		doc = append(doc, fmt.Sprintf("%s %s up to %s grants %s", r[1], r[0], r[2], strings.ReplaceAll(r[3], " ", "")))
	}
	var code []string
	for _, k := range []tokenkind.Kind{tokenkind.KindSite, tokenkind.KindWorkspace} {
		for _, api := range scope.APIs(k) {
			max := maxLevel(t, k, api)
			code = append(code, fmt.Sprintf("%s %s up to %s grants %s", k, api, max, scope.Join(scope.Expand(scope.Permissions{api: max}))))
		}
	}
	compareSets(t, "scope grant", doc, code)
}

// maxLevel finds the highest level scope.Validate lets a token of kind k
// hold on api.
func maxLevel(t *testing.T, k tokenkind.Kind, api string) scope.Level {
	t.Helper()
	for _, l := range []scope.Level{scope.ReadWrite, scope.Read} {
		if len(scope.Validate(k, scope.Permissions{api: l})) == 0 {
			return l
		}
	}
	t.Fatalf("%s tokens cannot hold %s even at read", k, api)
	return ""
}

func unique(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// TestDocMatchesOpenAPI holds docs/API.md to docs/openapi.yaml: the status
// each route of the routes table succeeds with is a response of that
// operation in the OpenAPI document, and the errors table names exactly
// the document's error codes, each a response of that status somewhere.
func TestDocMatchesOpenAPI(t *testing.T) {
	doc, err := openapitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range docTable(t, apiDoc, "method", "path", "credential", "scope", "success") {
		if len(r) != 5 {
			continue // TestDocRoutes reports it
		}
		item := doc.Paths.Value(openapitest.DocPath(r[1]))
		if item == nil || item.GetOperation(r[0]) == nil {
			t.Errorf("%s %s of %s is not in docs/openapi.yaml", r[0], r[1], apiDoc)
			continue
		}
		if status := regexp.MustCompile(`^[1-5][0-9][0-9]`).FindString(r[4]); item.GetOperation(r[0]).Responses.Value(status) == nil {
			t.Errorf("%s %s succeeds with %s in %s; docs/openapi.yaml has no such response", r[0], r[1], status, apiDoc)
		}
	}
	var inOpenAPI []string
	for _, c := range doc.Components.Schemas["ErrorCode"].Value.Enum {
		inOpenAPI = append(inOpenAPI, c.(string))
	}
	var inDoc []string
	for _, r := range docTable(t, apiDoc, "status", "code", "when") {
		if len(r) == 3 {
			inDoc = append(inDoc, r[1])
		}
	}
	compareSets(t, "error code (of docs/openapi.yaml)", inDoc, inOpenAPI)
}

// TestReadmeLayout holds the Layout section of README.md to the tree: one
// row for each Go package, every other path it names present, and every
// top-level folder named (itself, or by a path inside it).
func TestReadmeLayout(t *testing.T) {
	var doc []string
	for _, r := range docTable(t, "README.md", "package", "what it provides") {
		if len(r) != 2 || r[0] == "" || strings.ContainsAny(r[0], " ,") || r[1] == "" {
			t.Errorf("layout row %q: want one package's path and what it provides", r)
			continue
		}
		doc = append(doc, r[0])
	}
	named := slices.Clone(doc)
	for _, r := range docTable(t, "README.md", "file", "what") {
		for _, p := range strings.Split(r[0], ", ") {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("README layout names %s: %v", p, err)
			}
			named = append(named, strings.TrimSuffix(p, "/"))
		}
	}
	seen := map[string]int{}
	for _, p := range doc {
		if seen[p]++; seen[p] == 2 {
			t.Errorf("README layout names the package %s twice", p)
		}
	}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata" || path == "console/dist") {
				return filepath.SkipDir
			}
			if path != "." && !strings.Contains(path, "/") && !slices.ContainsFunc(named, func(p string) bool { return p == path || strings.HasPrefix(p, path+"/") }) {
				t.Errorf("README layout does not name the folder %s", path)
			}
			return nil
		}
		dir := filepath.Dir(path)
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") && seen[dir] >= 0 {
			if seen[dir] == 0 {
				t.Errorf("README layout does not name the package %s", dir)
			}
			seen[dir] = -1
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, n := range seen {
		if n > 0 {
			t.Errorf("README layout names %s, which is no package of the tree", p)
		}
	}
}

// TestDocDetailTypes holds docs/API.md's table of detail-types (section 12,
// Events) to the one the publisher reads (audit.DetailTypes), both ways,
// and that table to docs/openapi.yaml: every event type and subtype the
// API can show has a detail-type, and no two kinds share one.
func TestDocDetailTypes(t *testing.T) {
	var inDoc, inCode []string
	for _, r := range docTable(t, apiDoc, "eventType", "eventSubType", "detail-type") {
		if len(r) != 3 {
			t.Errorf("detail-type row %q", r)
			continue
		}
		inDoc = append(inDoc, strings.Trim(r[0], "`")+"/"+strings.Trim(r[1], "`")+" "+strings.Trim(r[2], "`"))
	}
	names := map[string]bool{}
	types, subtypes := map[string]bool{}, map[string]bool{}
	for _, d := range audit.DetailTypes {
		inCode = append(inCode, d.Type+"/"+d.SubType+" "+d.Name)
		if names[d.Name] {
			t.Errorf("detail-type %q names two kinds of event", d.Name)
		}
		names[d.Name] = true
		types[d.Type], subtypes[d.SubType] = true, true
	}
	compareSets(t, "detail-type (of audit.DetailTypes)", inDoc, inCode)
	doc, err := openapitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range doc.Components.Schemas["EventType"].Value.Enum {
		if !types[v.(string)] {
			t.Errorf("event type %s of docs/openapi.yaml has no detail-type", v)
		}
	}
	for _, v := range doc.Components.Schemas["AuditEvent"].Value.Properties["eventSubType"].Value.Enum {
		if !subtypes[v.(string)] {
			t.Errorf("event subtype %s of docs/openapi.yaml has no detail-type", v)
		}
	}
}
