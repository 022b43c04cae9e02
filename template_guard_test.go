package tokensmith_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// deployed is the expanded template (what CloudFormation evaluates) as
// plain JSON, for the parameters, rules and conditions a deployment checks.
type deployed struct {
	Parameters map[string]struct {
		Default        any    `json:"Default"`
		MinValue       *int64 `json:"MinValue"`
		MaxValue       *int64 `json:"MaxValue"`
		AllowedPattern string `json:"AllowedPattern"`
		AllowedValues  []any  `json:"AllowedValues"`
	} `json:"Parameters"`
	Rules map[string]struct {
		RuleCondition any `json:"RuleCondition"`
		Assertions    []struct {
			Assert any `json:"Assert"`
		} `json:"Assertions"`
	} `json:"Rules"`
	Conditions map[string]any `json:"Conditions"`
	Resources  map[string]struct {
		Type       string         `json:"Type"`
		Condition  string         `json:"Condition"`
		Properties map[string]any `json:"Properties"`
	} `json:"Resources"`
}

func loadDeployed(t *testing.T) deployed {
	t.Helper()
	expand(t)
	var d deployed
	if err := json.Unmarshal(expansion.out, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// stack is a deployment of d with parameters: the defaults, overridden.
type stack struct {
	d      deployed
	params map[string]string
}

func (d deployed) with(overrides map[string]string) stack {
	params := map[string]string{}
	for name, p := range d.Parameters {
		if p.Default != nil {
			params[name] = fmt.Sprint(p.Default)
		}
	}
	for k, v := range overrides {
		params[k] = v
	}
	return stack{d, params}
}

// eval evaluates the intrinsic functions a rule or condition may use;
// anything else it returns as is.
func (s stack) eval(v any) any {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return v
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Ref":
			if p, ok := s.params[arg.(string)]; ok {
				return p
			}
			return "Ref:" + arg.(string)
		case "Condition":
			return s.eval(s.d.Conditions[arg.(string)])
		case "Fn::Equals":
			return fmt.Sprint(s.eval(args[0])) == fmt.Sprint(s.eval(args[1]))
		case "Fn::Not":
			return !s.eval(args[0]).(bool)
		case "Fn::And", "Fn::Or":
			all, anyTrue := true, false
			for _, a := range args {
				b := s.eval(a).(bool)
				all, anyTrue = all && b, anyTrue || b
			}
			return (fn == "Fn::And" && all) || (fn == "Fn::Or" && anyTrue)
		case "Fn::If":
			if s.eval(map[string]any{"Condition": args[0]}).(bool) {
				return s.eval(args[1])
			}
			return s.eval(args[2])
		}
	}
	return v
}

// refused returns why CloudFormation would refuse the stack's parameters
// before deploying anything: a value outside its parameter's pattern or
// bounds, or a rule whose assertion fails; "" when it would deploy.
func (s stack) refused() string {
	var why []string
	for name, p := range s.d.Parameters {
		v := s.params[name]
		if p.AllowedPattern != "" && !regexp.MustCompile(`^(?:`+p.AllowedPattern+`)$`).MatchString(v) {
			why = append(why, name+" pattern")
		}
		if len(p.AllowedValues) > 0 && !slices.ContainsFunc(p.AllowedValues, func(a any) bool { return fmt.Sprint(a) == v }) {
			why = append(why, name+" allowed values")
		}
		var n int64
		if _, err := fmt.Sscan(v, &n); err == nil {
			if (p.MinValue != nil && n < *p.MinValue) || (p.MaxValue != nil && n > *p.MaxValue) {
				why = append(why, name+" bounds")
			}
		}
	}
	for name, r := range s.d.Rules {
		if r.RuleCondition != nil && !s.eval(r.RuleCondition).(bool) {
			continue
		}
		for _, a := range r.Assertions {
			if !s.eval(a.Assert).(bool) {
				why = append(why, "rule "+name)
			}
		}
	}
	return strings.Join(why, ", ")
}

// TestParametersGuarded holds the template's parameters to what a working
// stack needs: a custom issuer is https and comes with its audience, and
// the throttle cannot be set to refuse everything.
func TestParametersGuarded(t *testing.T) {
	d := loadDeployed(t)
	tests := []struct {
		name    string
		params  map[string]string
		refused bool
	}{
		{"defaults (Cognito)", nil, false},
		{"custom issuer and audience", map[string]string{"OidcIssuer": "https://issuer.example.com", "OidcAudience": "tokensmith"}, false},
		{"custom issuer with a path", map[string]string{"OidcIssuer": "https://login.example.com/realms/acme", "OidcAudience": "tokensmith"}, false},
		{"custom issuer without audience", map[string]string{"OidcIssuer": "https://issuer.example.com"}, true},
		{"audience without issuer", map[string]string{"OidcAudience": "tokensmith"}, true},
		{"http issuer", map[string]string{"OidcIssuer": "http://issuer.example.com", "OidcAudience": "tokensmith"}, true},
		{"issuer without host", map[string]string{"OidcIssuer": "https://", "OidcAudience": "tokensmith"}, true},
		{"issuer with a query", map[string]string{"OidcIssuer": "https://issuer.example.com/?tenant=1", "OidcAudience": "tokensmith"}, true},
		{"issuer with a space", map[string]string{"OidcIssuer": "https://issuer.example.com/ x", "OidcAudience": "tokensmith"}, true},
		{"no steady rate", map[string]string{"ThrottleRateLimit": "0"}, true},
		{"no burst", map[string]string{"ThrottleBurstLimit": "0"}, true},
		{"rate of one", map[string]string{"ThrottleRateLimit": "1", "ThrottleBurstLimit": "1"}, false},
		{"negative reserved concurrency", map[string]string{"AuthorizerReservedConcurrency": "-1"}, true},
		{"WAF rate under its minimum", map[string]string{"WafWebAcl": "Enabled", "WafRateLimit": "9"}, true},
		{"WAF with an unknown switch", map[string]string{"WafWebAcl": "yes"}, true},
		{"WAF enabled", map[string]string{"WafWebAcl": "Enabled", "WafRateLimit": "100"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			why := d.with(tc.params).refused()
			if (why != "") != tc.refused {
				t.Errorf("refused = %q; want refused %v", why, tc.refused)
			}
		})
	}
	if p := d.Parameters["OidcIssuer"]; p.AllowedPattern == "" {
		t.Error("OidcIssuer has no AllowedPattern")
	}
}

// TestReservedConcurrency: the authorizer and the upstream function have
// reserved concurrency by default, and none (not zero, which would stop
// them) when their parameter is 0.
func TestReservedConcurrency(t *testing.T) {
	d := loadDeployed(t)
	tests := []struct {
		function, param, value, want string
	}{
		{"AuthorizerFunction", "AuthorizerReservedConcurrency", "", "100"},
		{"AuthorizerFunction", "AuthorizerReservedConcurrency", "0", "Ref:AWS::NoValue"},
		{"AuthorizerFunction", "AuthorizerReservedConcurrency", "25", "25"},
		{"UpstreamFunction", "UpstreamReservedConcurrency", "", "50"},
		{"UpstreamFunction", "UpstreamReservedConcurrency", "0", "Ref:AWS::NoValue"},
		{"UpstreamFunction", "UpstreamReservedConcurrency", "20", "20"},
	}
	for _, tc := range tests {
		params := map[string]string{}
		if tc.value != "" {
			params[tc.param] = tc.value
		}
		fn := d.Resources[tc.function].Properties
		if got := fmt.Sprint(d.with(params).eval(fn["ReservedConcurrentExecutions"])); got != tc.want {
			t.Errorf("%s=%q: %s ReservedConcurrentExecutions = %s; want %s", tc.param, tc.value, tc.function, got, tc.want)
		}
	}
}

// TestWebAcl: the WAF web ACL and its association exist only when enabled;
// the ACL is regional, limits each IP at WafRateLimit with a 429 in the
// API's error shape, and is associated with the API's prod stage.
func TestWebAcl(t *testing.T) {
	d := loadDeployed(t)
	var acls, assocs []string
	for id, r := range d.Resources {
		switch r.Type {
		case "AWS::WAFv2::WebACL":
			acls = append(acls, id)
		case "AWS::WAFv2::WebACLAssociation":
			assocs = append(assocs, id)
		}
	}
	if len(acls) != 1 || len(assocs) != 1 {
		t.Fatalf("web ACLs %v, associations %v; want one of each", acls, assocs)
	}
	acl, assoc := d.Resources[acls[0]], d.Resources[assocs[0]]
	for _, tc := range []struct {
		switchValue string
		want        bool
	}{{"", false}, {"Disabled", false}, {"Enabled", true}} {
		s := d.with(map[string]string{"WafWebAcl": tc.switchValue})
		if tc.switchValue == "" {
			s = d.with(nil)
		}
		for id, r := range map[string]string{acls[0]: acl.Condition, assocs[0]: assoc.Condition} {
			if r == "" || s.eval(map[string]any{"Condition": r}) != tc.want {
				t.Errorf("WafWebAcl=%q: %s created = %v; want %v", tc.switchValue, id, r != "" && s.eval(map[string]any{"Condition": r}) == true, tc.want)
			}
		}
	}
	var p struct {
		Scope string
		Rules []struct {
			Statement struct {
				RateBasedStatement struct {
					AggregateKeyType string
					Limit            map[string]string
				}
			}
			Action struct {
				Block struct {
					CustomResponse struct {
						ResponseCode          int
						CustomResponseBodyKey string
					}
				}
			}
		}
		CustomResponseBodies map[string]struct{ Content string }
	}
	b, _ := json.Marshal(acl.Properties)
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Scope != "REGIONAL" || len(p.Rules) != 1 {
		t.Fatalf("web ACL = %+v; want REGIONAL with one rule", p)
	}
	r := p.Rules[0]
	if r.Statement.RateBasedStatement.AggregateKeyType != "IP" || r.Statement.RateBasedStatement.Limit["Ref"] != "WafRateLimit" {
		t.Errorf("rule statement = %+v; want a per-IP rate of WafRateLimit", r.Statement)
	}
	if r.Action.Block.CustomResponse.ResponseCode != 429 || !strings.Contains(p.CustomResponseBodies[r.Action.Block.CustomResponse.CustomResponseBodyKey].Content, `"too_many_requests"`) {
		t.Errorf("rule action = %+v; want 429 too_many_requests", r.Action)
	}
	arn, _ := assoc.Properties["ResourceArn"].(map[string]any)["Fn::Sub"].(string)
	m := regexp.MustCompile(`^arn:\$\{AWS::Partition\}:apigateway:\$\{AWS::Region\}::/restapis/\$\{(\w+)\}/stages/\$\{(\w+)\}$`).FindStringSubmatch(arn)
	if m == nil || d.Resources[m[1]].Type != "AWS::ApiGateway::RestApi" || d.Resources[m[2]].Type != "AWS::ApiGateway::Stage" || d.Resources[m[2]].Properties["StageName"] != "prod" {
		t.Errorf("association ResourceArn = %q; want the API's prod stage, named by its resources", arn)
	}
	if got := fmt.Sprint(assoc.Properties["WebACLArn"]); got != fmt.Sprintf("map[Fn::GetAtt:[%s Arn]]", acls[0]) {
		t.Errorf("association WebACLArn = %s", got)
	}
}
