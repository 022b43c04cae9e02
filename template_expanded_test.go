package tokensmith_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/tokensmith/tokensmith/internal/route"
)

// expanded is template.yaml as the SAM transform expands it
// (.ci/expand-template), the CloudFormation template that is deployed.
type expanded struct {
	Resources map[string]struct {
		Type       string          `json:"Type"`
		DependsOn  any             `json:"DependsOn"`
		Properties json.RawMessage `json:"Properties"`
	} `json:"Resources"`
}

var expansion struct {
	once   sync.Once
	skip   string
	out    []byte
	err    error
	stderr []byte
}

// expand runs the SAM translator, once for all the tests. They are skipped
// under -short (the translator takes most of a minute) and where python3
// lacks aws-sam-translator or cfn-lint; .ci/run requires them.
func expand(t *testing.T) expanded {
	t.Helper()
	if testing.Short() {
		t.Skip("the SAM translator runs in the full tier")
	}
	x := &expansion
	x.once.Do(func() {
		if out, err := exec.Command("python3", "-c", "import samtranslator, cfnlint").CombinedOutput(); err != nil {
			x.skip = fmt.Sprintf("python3 with aws-sam-translator and cfn-lint is needed to expand the template: %v %s", err, out)
			return
		}
		x.out, x.err = exec.Command("python3", ".ci/expand-template", "template.yaml").Output()
		var ee *exec.ExitError
		if errors.As(x.err, &ee) {
			x.stderr = ee.Stderr
		}
	})
	if x.skip != "" {
		t.Skip(x.skip)
	}
	if x.err != nil {
		t.Fatalf(".ci/expand-template: %v\n%s", x.err, x.stderr)
	}
	var e expanded
	if err := json.Unmarshal(x.out, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestExpandedTemplateHasOneStage holds the deployed API to one stage, prod:
// SAM adds a stage named Stage unless the API's OpenApiVersion is set.
func TestExpandedTemplateHasOneStage(t *testing.T) {
	var stages []string
	for id, r := range expand(t).Resources {
		var p struct {
			StageName string `json:"StageName"`
		}
		switch r.Type {
		case "AWS::ApiGateway::Stage", "AWS::ApiGateway::Deployment":
			if err := json.Unmarshal(r.Properties, &p); err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			if p.StageName != "" {
				stages = append(stages, p.StageName+" ("+r.Type+")")
			}
		}
	}
	if want := []string{"prod (AWS::ApiGateway::Stage)"}; !slices.Equal(stages, want) {
		t.Errorf("stages = %v; want %v", stages, want)
	}
}

// TestExpandedTemplateHasNoCycle follows every Ref, GetAtt, Sub variable and
// DependsOn between the expanded template's resources: CloudFormation refuses
// a template whose resources depend on each other in a circle (the app
// client's callback URLs name the API, the authorizer's environment names the
// app client, so the API must not depend on the authorizer).
func TestExpandedTemplateHasNoCycle(t *testing.T) {
	e := expand(t)
	deps := map[string][]string{}
	for id, r := range e.Resources {
		var props any
		if err := json.Unmarshal(r.Properties, &props); err != nil && len(r.Properties) > 0 {
			t.Fatalf("%s: %v", id, err)
		}
		found := map[string]bool{}
		references(props, found)
		switch d := r.DependsOn.(type) {
		case string:
			found[d] = true
		case []any:
			for _, x := range d {
				found[x.(string)] = true
			}
		}
		for name := range found {
			if _, ok := e.Resources[name]; ok {
				deps[id] = append(deps[id], name)
			}
		}
		sort.Strings(deps[id])
	}
	if !slices.Contains(deps["AuthorizerPermission"], "AuthorizerFunction") || !slices.Contains(deps["AuthorizerPermission"], "Api") {
		t.Errorf("AuthorizerPermission depends on %v; want the API and the authorizer function", deps["AuthorizerPermission"])
	}
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var visit func(id string, path []string)
	visit = func(id string, path []string) {
		switch state[id] {
		case open:
			t.Errorf("dependency cycle: %s", strings.Join(append(path, id), " -> "))
			return
		case done:
			return
		}
		state[id] = open
		for _, d := range deps[id] {
			visit(d, append(path, id))
		}
		state[id] = done
	}
	ids := make([]string, 0, len(e.Resources))
	for id := range e.Resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		visit(id, nil)
	}
}

// references collects the logical ids a CloudFormation value names.
func references(v any, found map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			switch k {
			case "Ref":
				if s, ok := x.(string); ok {
					found[s] = true
				}
			case "Fn::GetAtt":
				switch a := x.(type) {
				case []any:
					if s, ok := a[0].(string); ok {
						found[s] = true
					}
				case string:
					found[strings.SplitN(a, ".", 2)[0]] = true
				}
			case "Fn::Sub":
				s, _ := x.(string)
				if a, ok := x.([]any); ok {
					s, _ = a[0].(string)
				}
				for _, part := range strings.Split(s, "${")[1:] {
					found[strings.SplitN(strings.SplitN(part, "}", 2)[0], ".", 2)[0]] = true
				}
			}
			references(x, found)
		}
	case []any:
		for _, x := range v {
			references(x, found)
		}
	}
}

// TestExpandedApiServesEveryRoute holds the deployed API's definition, as
// the SAM transform writes it (the events' routes merged into the console's
// DefinitionBody), to the route table: every route, and nothing else, with
// the authorizer unless public.
func TestExpandedApiServesEveryRoute(t *testing.T) {
	var got []string
	for id, r := range expand(t).Resources {
		if r.Type != "AWS::ApiGateway::RestApi" {
			continue
		}
		var p struct {
			Body struct {
				Paths map[string]map[string]struct {
					Security []map[string]any `json:"security"`
				} `json:"paths"`
			} `json:"Body"`
		}
		if err := json.Unmarshal(r.Properties, &p); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		for path, methods := range p.Body.Paths {
			for method, op := range methods {
				var auth []string
				for _, s := range op.Security {
					for k := range s {
						auth = append(auth, k)
					}
				}
				got = append(got, gatewayMethod(method)+" "+path+" "+strings.Join(auth, ","))
			}
		}
	}
	var want []string
	for _, r := range route.Resources() {
		auth := "CredentialAuthorizer"
		if r.Auth == route.Public {
			auth = "NONE"
		}
		want = append(want, r.Method+" "+r.Path+" "+auth)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("the expanded API's routes:\n%s\nwant (the route table):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
