package tokensmith_test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tokensmith/tokensmith/internal/metrics"
)

// opsResource is a resource of the expanded template, with the policies
// the operations resources must state.
type opsResource struct {
	Type           string         `json:"Type"`
	Condition      string         `json:"Condition"`
	DeletionPolicy string         `json:"DeletionPolicy"`
	Properties     map[string]any `json:"Properties"`
}

func opsResources(t *testing.T) map[string]opsResource {
	t.Helper()
	expand(t)
	var d struct {
		Resources map[string]opsResource `json:"Resources"`
	}
	if err := json.Unmarshal(expansion.out, &d); err != nil {
		t.Fatal(err)
	}
	return d.Resources
}

func ofType(rs map[string]opsResource, typ string) []string {
	var ids []string
	for id, r := range rs {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// dashboardMetric is one line of a dashboard widget: namespace, name and
// dimensions.
type dashboardMetric struct {
	namespace, name string
	dims            map[string]string
}

// dashboardMetrics reads the metrics the dashboard's widgets name, with the
// template's ${...} references replaced by placeholders.
func dashboardMetrics(t *testing.T, rs map[string]opsResource) []dashboardMetric {
	t.Helper()
	ids := ofType(rs, "AWS::CloudWatch::Dashboard")
	if len(ids) != 1 {
		t.Fatalf("dashboards %v; want one", ids)
	}
	sub, _ := rs[ids[0]].Properties["DashboardBody"].(map[string]any)["Fn::Sub"].(string)
	body := regexp.MustCompile(`\$\{[^}]+\}`).ReplaceAllString(sub, "ref")
	var d struct {
		Widgets []struct {
			Properties struct {
				Metrics [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("DashboardBody is not JSON: %v", err)
	}
	var out []dashboardMetric
	for _, w := range d.Widgets {
		for _, line := range w.Properties.Metrics {
			var parts []string
			for _, p := range line {
				if s, ok := p.(string); ok {
					parts = append(parts, s)
				}
			}
			if len(parts) < 2 || len(parts)%2 != 0 {
				t.Fatalf("dashboard metric %v: want namespace, name and name/value pairs (no \".\" shorthand)", line)
			}
			m := dashboardMetric{namespace: parts[0], name: parts[1], dims: map[string]string{}}
			for i := 2; i < len(parts); i += 2 {
				m.dims[parts[i]] = parts[i+1]
			}
			out = append(out, m)
		}
	}
	return out
}

// TestDashboardMetrics: every tokensmith metric the dashboard names is one
// the code writes (internal/metrics' catalogue), with exactly its
// dimensions and values those dimensions list; and every metric of the
// catalogue is on the dashboard.
func TestDashboardMetrics(t *testing.T) {
	onDashboard := map[string]bool{}
	for _, m := range dashboardMetrics(t, opsResources(t)) {
		if m.namespace != metrics.Namespace {
			continue
		}
		c, ok := metrics.Lookup(m.name)
		if !ok {
			t.Errorf("the dashboard names %s, which no function writes", m.name)
			continue
		}
		onDashboard[m.name] = true
		if len(m.dims) != len(c.Dimensions) {
			t.Errorf("dashboard %s %v; the catalogue's dimensions are %v", m.name, m.dims, c.Dimensions)
		}
		for _, d := range c.Dimensions {
			v, ok := m.dims[d.Name]
			if !ok || !slices.Contains(d.Values, v) {
				t.Errorf("dashboard %s: %s = %q; want one of %v", m.name, d.Name, v, d.Values)
			}
		}
	}
	for _, c := range metrics.Catalog {
		if !onDashboard[c.Name] {
			t.Errorf("%s is written by the functions but not on the dashboard", c.Name)
		}
	}
}

// TestAlarms: the alarms the operations guide names exist, send to the
// topic, and the topic's email subscription exists only with AlarmEmail.
func TestAlarms(t *testing.T) {
	rs := opsResources(t)
	topics := ofType(rs, "AWS::SNS::Topic")
	if len(topics) != 1 {
		t.Fatalf("SNS topics %v; want one", topics)
	}
	// watched lists what each alarm watches: namespace/metric, and the
	// function or other dimension it names.
	watched := map[string]bool{}
	for _, id := range ofType(rs, "AWS::CloudWatch::Alarm") {
		p := rs[id].Properties
		for _, key := range []string{"AlarmActions", "OKActions"} {
			if got := fmt.Sprint(p[key]); got != fmt.Sprintf("[map[Ref:%s]]", topics[0]) {
				t.Errorf("%s %s = %s; want the topic %s", id, key, got, topics[0])
			}
		}
		if desc, _ := p["AlarmDescription"].(string); !strings.Contains(desc, "docs/OPERATIONS.md") || !regexp.MustCompile(`\d`).MatchString(desc) {
			t.Errorf("%s: description %q does not state its threshold and point to docs/OPERATIONS.md", id, desc)
		}
		if p["Threshold"] == nil {
			t.Errorf("%s has no threshold", id)
		}
		stats := []map[string]any{p}
		if ms, ok := p["Metrics"].([]any); ok {
			stats = nil
			for _, m := range ms {
				if st, ok := m.(map[string]any)["MetricStat"].(map[string]any); ok {
					stats = append(stats, st["Metric"].(map[string]any))
				}
			}
		}
		for _, st := range stats {
			what := fmt.Sprint(st["Namespace"], "/", st["MetricName"])
			dims, _ := st["Dimensions"].([]any)
			for _, d := range dims {
				dm := d.(map[string]any)
				what += fmt.Sprint(" ", dm["Name"], "=", dm["Value"])
			}
			watched[what] = true
			if st["Namespace"] == metrics.Namespace {
				if _, ok := metrics.Lookup(fmt.Sprint(st["MetricName"])); !ok {
					t.Errorf("%s watches %s, which no function writes", id, what)
				}
			}
		}
	}
	// decisions is how a Decisions metric of function with outcome reads.
	decisions := func(function, outcome string) string {
		return fmt.Sprintf("%s/%s %s=%s %s=%s", metrics.Namespace, metrics.Decisions.Name, metrics.Function.Name, function, metrics.Outcome.Name, outcome)
	}
	want := []string{
		decisions(metrics.FunctionAuthorizer, metrics.OutcomeFailed),
		"AWS/ApiGateway/5XXError ApiName=map[Ref:AWS::StackName] Stage=prod",
		"AWS/ApiGateway/4XXError ApiName=map[Ref:AWS::StackName] Stage=prod",
		"AWS/ApiGateway/Count ApiName=map[Ref:AWS::StackName] Stage=prod",
		"AWS/DynamoDB/ReadThrottleEvents TableName=map[Ref:Table]",
		"AWS/DynamoDB/WriteThrottleEvents TableName=map[Ref:Table]",
		"AWS/Lambda/IteratorAge FunctionName=map[Ref:TokenExpiryFunction]",
		"AWS/SQS/NumberOfMessagesSent QueueName=map[Fn::GetAtt:[ExpiryDeadLetterQueue QueueName]]",
		decisions(metrics.FunctionSecretScanning, metrics.OutcomeFailed),
		// The authorizer's crashes: its errors less its 401s.
		"AWS/Lambda/Errors FunctionName=map[Ref:AuthorizerFunction]",
		decisions(metrics.FunctionAuthorizer, metrics.OutcomeUnauthorized),
	}
	for _, fn := range ofType(rs, "AWS::Lambda::Function") {
		want = append(want, "AWS/Lambda/Throttles FunctionName=map[Ref:"+fn+"]")
		// The authorizer fails every 401 as Lambda counts errors, so its
		// failures are watched by its own Decisions metric, and its errors
		// less its 401s (above).
		if fn != "AuthorizerFunction" {
			want = append(want, "AWS/Lambda/Errors FunctionName=map[Ref:"+fn+"]")
		}
	}
	for _, w := range want {
		if !watched[w] {
			t.Errorf("no alarm watches %s", w)
		}
	}

	d := loadDeployed(t)
	subs := ofType(rs, "AWS::SNS::Subscription")
	if len(subs) != 1 || rs[subs[0]].Properties["Endpoint"].(map[string]any)["Ref"] != "AlarmEmail" {
		t.Fatalf("subscriptions %v; want one, of AlarmEmail", subs)
	}
	for _, tc := range []struct {
		email string
		want  bool
	}{{"", false}, {"ops@example.com", true}} {
		cond := rs[subs[0]].Condition
		if got := cond != "" && d.with(map[string]string{"AlarmEmail": tc.email}).eval(map[string]any{"Condition": cond}) == true; got != tc.want {
			t.Errorf("AlarmEmail=%q: subscription created = %v; want %v", tc.email, got, tc.want)
		}
	}
	if why := d.with(map[string]string{"AlarmEmail": "not an address"}).refused(); why == "" {
		t.Error("AlarmEmail accepts something that is not an address")
	}
}

// TestAccessLogs: the stage writes a JSON access log line per request to a
// log group with a retention parameter and a stated deletion policy; the
// line has the fields operators look for and never a credential or a body.
func TestAccessLogs(t *testing.T) {
	rs := opsResources(t)
	stages := ofType(rs, "AWS::ApiGateway::Stage")
	if len(stages) != 1 {
		t.Fatalf("stages %v; want one", stages)
	}
	setting, _ := rs[stages[0]].Properties["AccessLogSetting"].(map[string]any)
	if setting == nil {
		t.Fatal("the stage has no AccessLogSetting")
	}
	dest := fmt.Sprint(setting["DestinationArn"])
	m := regexp.MustCompile(`^map\[Fn::GetAtt:\[(\w+) Arn\]\]$`).FindStringSubmatch(dest)
	if m == nil || rs[m[1]].Type != "AWS::Logs::LogGroup" {
		t.Fatalf("access logs go to %s; want a log group of the stack", dest)
	}
	group := rs[m[1]]
	if fmt.Sprint(group.Properties["RetentionInDays"]) != "map[Ref:AccessLogRetentionDays]" {
		t.Errorf("access log retention = %v; want the AccessLogRetentionDays parameter", group.Properties["RetentionInDays"])
	}
	if group.DeletionPolicy == "" {
		t.Error("the access log group states no DeletionPolicy")
	}
	format, _ := setting["Format"].(string)
	// Every variable is quoted, so the line is JSON whatever its values.
	var line map[string]string
	if err := json.Unmarshal([]byte(regexp.MustCompile(`\$context\.[A-Za-z.]+`).ReplaceAllString(format, "x")), &line); err != nil {
		t.Fatalf("access log format is not JSON with quoted values: %v\n%s", err, format)
	}
	for field, variable := range map[string]string{
		"requestId": "$context.requestId", "resourcePath": "$context.resourcePath", "status": "$context.status",
		"responseLatency": "$context.responseLatency", "principalId": "$context.authorizer.principalId",
		"sourceIp": "$context.identity.sourceIp", "rateLimit": "$context.authorizer.rateLimit",
	} {
		if !strings.Contains(format, fmt.Sprintf("%q:%q", field, variable)) {
			t.Errorf("access log has no %s (%s)", field, variable)
		}
	}
	for _, never := range []string{"Authorization", "authorization", "$input", "body", "requestOverride", "$context.authorizer.email", "secretHash"} {
		if strings.Contains(format, never) {
			t.Errorf("access log format holds %q", never)
		}
	}
}

// TestOperationsDoc: docs/OPERATIONS.md describes every metric the
// functions write and has a section for every alarm of the template (the
// per-function ones under <Function>ErrorsAlarm and <Function>ThrottlesAlarm).
func TestOperationsDoc(t *testing.T) {
	b, err := os.ReadFile("docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, m := range metrics.Catalog {
		if !strings.Contains(doc, "| `"+m.Name+"` | "+string(m.Unit)+" | ") {
			t.Errorf("docs/OPERATIONS.md has no row for %s (%s)", m.Name, m.Unit)
		}
	}
	rs := opsResources(t)
	for _, id := range ofType(rs, "AWS::CloudWatch::Alarm") {
		heading := "### " + id + ":"
		for _, suffix := range []string{"ErrorsAlarm", "ThrottlesAlarm"} {
			if fn := strings.TrimSuffix(id, suffix); fn != id && rs[fn+"Function"].Type == "AWS::Lambda::Function" {
				heading = "### <Function>" + suffix + ":"
			}
		}
		if !strings.Contains(doc, heading) {
			t.Errorf("docs/OPERATIONS.md has no section %q for alarm %s", heading, id)
		}
	}
}
