package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith/internal/metrics"
)

var at = time.Date(2026, time.November, 22, 12, 0, 0, 0, time.UTC)

// parse reads every line of a record, failing the test on one the catalogue
// does not hold.
func parse(t *testing.T, r *metrics.Record) ([]map[string]any, [][]metrics.Datum) {
	t.Helper()
	var objs []map[string]any
	var data [][]metrics.Datum
	for _, line := range r.Lines(at) {
		d, err := metrics.Parse(line)
		if err != nil {
			t.Fatalf("Parse(%s): %v", line, err)
		}
		var obj map[string]any
		if err := json.Unmarshal(line, &obj); err != nil {
			t.Fatal(err)
		}
		objs, data = append(objs, obj), append(data, d)
	}
	return objs, data
}

// TestOneRecordPerInvocation: what an invocation counts is added up in one
// line, latencies kept as a list, properties as fields.
func TestOneRecordPerInvocation(t *testing.T) {
	r := metrics.New(metrics.FunctionAuthorizer)
	for range 3 {
		r.Add(metrics.DynamoDBCalls, 1)
	}
	r.Add(metrics.DynamoDBRetries, 2)
	r.Add(metrics.Decisions, 1, metrics.OutcomeAllowed)
	r.Observe(metrics.DecisionLatency, 1.5, metrics.OutcomeAllowed)
	r.Observe(metrics.DecisionLatency, 0.5, metrics.OutcomeAllowed)
	r.Set("tokenId", "65f0c0ffee00000000000010")
	objs, _ := parse(t, r)
	if len(objs) != 1 {
		t.Fatalf("%d lines; want 1", len(objs))
	}
	got := objs[0]
	for k, want := range map[string]any{
		"function": "authorizer", "outcome": "allowed", "DynamoDBCalls": 3.0, "DynamoDBRetries": 2.0, "Decisions": 1.0,
		"tokenId": "65f0c0ffee00000000000010",
	} {
		if got[k] != want {
			t.Errorf("%s = %v; want %v", k, got[k], want)
		}
	}
	if l, _ := got["DecisionLatency"].([]any); len(l) != 2 || l[0] != 1.5 || l[1] != 0.5 {
		t.Errorf("DecisionLatency = %v; want [1.5 0.5]", got["DecisionLatency"])
	}
	aws := got["_aws"].(map[string]any)
	if aws["Timestamp"] != float64(at.UnixMilli()) {
		t.Errorf("Timestamp = %v; want %d", aws["Timestamp"], at.UnixMilli())
	}
	// The id is a field, never a dimension.
	for _, d := range aws["CloudWatchMetrics"].([]any) {
		for _, set := range d.(map[string]any)["Dimensions"].([]any) {
			for _, name := range set.([]any) {
				if name == "tokenId" {
					t.Errorf("tokenId is a dimension: %v", d)
				}
			}
		}
	}
}

// TestDimensionsBounded: a value a dimension does not list is written as
// "other", so an id, an email or a plan nobody listed never becomes a
// dimension.
func TestDimensionsBounded(t *testing.T) {
	tests := []struct {
		name   string
		metric metrics.Metric
		value  string
		want   string
	}{
		{"listed outcome", metrics.Decisions, metrics.OutcomeFailed, metrics.OutcomeFailed},
		{"token id as outcome", metrics.Decisions, "65f0c0ffee00000000000010", metrics.Other},
		{"email as actor type", metrics.TokensRevoked, "admin@example.com", metrics.Other},
		{"site id as plan", metrics.RateLimited, "65f0c0ffee00000000000002", metrics.Other},
		{"missing value", metrics.RateLimited, "", metrics.Other},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := metrics.New(metrics.FunctionTokens)
			r.Add(tc.metric, 1, tc.value)
			_, data := parse(t, r)
			dim := tc.metric.Dimensions[1].Name
			if got := data[0][0].Dimensions[dim]; got != tc.want {
				t.Errorf("%s = %q; want %q", dim, got, tc.want)
			}
		})
	}
}

// TestFunctionBounded: the function dimension too takes only the values
// Function lists.
func TestFunctionBounded(t *testing.T) {
	for _, tc := range []struct{ function, want string }{
		{metrics.FunctionSites, metrics.FunctionSites},
		{"65f0c0ffee00000000000010", metrics.Other},
		{"", metrics.Other},
	} {
		r := metrics.New(tc.function)
		r.Add(metrics.DynamoDBCalls, 1)
		_, data := parse(t, r)
		if got := data[0][0].Dimensions[metrics.Function.Name]; got != tc.want {
			t.Errorf("New(%q): function = %q; want %q", tc.function, got, tc.want)
		}
	}
}

// TestConflictingValuesSplit: one metric counted under two values of a
// dimension needs a line for each, as a line holds one value per dimension.
func TestConflictingValuesSplit(t *testing.T) {
	r := metrics.New(metrics.FunctionTokens)
	r.Add(metrics.TokensRevoked, 1, metrics.ActorUser)
	r.Add(metrics.TokensRevoked, 2, metrics.ActorAPIToken)
	r.Add(metrics.DynamoDBCalls, 4)
	objs, _ := parse(t, r)
	if len(objs) != 2 {
		t.Fatalf("%d lines; want 2", len(objs))
	}
	got := map[string]float64{}
	calls := 0.0
	for _, o := range objs {
		got[o["actorType"].(string)] = o["TokensRevoked"].(float64)
		if c, ok := o["DynamoDBCalls"].(float64); ok {
			calls += c
		}
	}
	if got[metrics.ActorUser] != 1 || got[metrics.ActorAPIToken] != 2 || calls != 4 {
		t.Errorf("revoked = %v, calls %v; want user 1, api_token 2, calls 4 once", got, calls)
	}
}

// TestNothingMeasured: a record that counted nothing writes nothing, and a
// nil record (outside an invocation) records nothing without failing.
func TestNothingMeasured(t *testing.T) {
	var buf bytes.Buffer
	if err := metrics.New(metrics.FunctionSites).Flush(&buf, at); err != nil || buf.Len() != 0 {
		t.Errorf("Flush of an empty record wrote %q, %v", buf.String(), err)
	}
	var r *metrics.Record
	r.Add(metrics.DynamoDBCalls, 1)
	r.Set("x", 1)
	if metrics.FromContext(context.Background()) != nil {
		t.Error("FromContext of a bare context is not nil")
	}
}

// TestInvocations: each invocation writes its own record, as one line,
// after its handler returns.
func TestInvocations(t *testing.T) {
	var buf bytes.Buffer
	h := metrics.Invocations(metrics.FunctionSites, &buf, func() time.Time { return at }, func(ctx context.Context, n int) (int, error) {
		metrics.FromContext(ctx).Add(metrics.DynamoDBCalls, float64(n))
		return n, nil
	})
	h(context.Background(), 2)
	h(context.Background(), 5)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"DynamoDBCalls":2`) || !strings.Contains(lines[1], `"DynamoDBCalls":5`) {
		t.Errorf("wrote %q; want one line per invocation, 2 then 5", buf.String())
	}
}

// TestParseRefuses: lines that do not follow the catalogue are refused.
func TestParseRefuses(t *testing.T) {
	tests := []struct{ name, line string }{
		{"not JSON", `nope`},
		{"no metadata", `{"function":"sites"}`},
		{"unknown metric", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"tokensmith","Dimensions":[["function"]],"Metrics":[{"Name":"Nope","Unit":"Count"}]}]},"function":"sites","Nope":1}`},
		{"wrong unit", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"tokensmith","Dimensions":[["function"]],"Metrics":[{"Name":"DynamoDBCalls","Unit":"Seconds"}]}]},"function":"sites","DynamoDBCalls":1}`},
		{"extra dimension", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"tokensmith","Dimensions":[["function","tokenId"]],"Metrics":[{"Name":"DynamoDBCalls","Unit":"Count"}]}]},"function":"sites","tokenId":"65f0c0ffee00000000000010","DynamoDBCalls":1}`},
		{"unlisted value", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"tokensmith","Dimensions":[["function"]],"Metrics":[{"Name":"DynamoDBCalls","Unit":"Count"}]}]},"function":"admin@example.com","DynamoDBCalls":1}`},
		{"other namespace", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"x","Dimensions":[["function"]],"Metrics":[{"Name":"DynamoDBCalls","Unit":"Count"}]}]},"function":"sites","DynamoDBCalls":1}`},
		{"no value", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"tokensmith","Dimensions":[["function"]],"Metrics":[{"Name":"DynamoDBCalls","Unit":"Count"}]}]},"function":"sites"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := metrics.Parse([]byte(tc.line)); !errors.Is(err, metrics.ErrInvalid) {
				t.Errorf("Parse = %v; want ErrInvalid", err)
			}
		})
	}
}

// TestCatalog: every metric's first dimension is the function, names are
// unique, and no dimension lists a value shaped like an id or an email.
func TestCatalog(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range metrics.Catalog {
		if seen[m.Name] {
			t.Errorf("%s listed twice", m.Name)
		}
		seen[m.Name] = true
		if len(m.Dimensions) == 0 || m.Dimensions[0].Name != metrics.Function.Name {
			t.Errorf("%s: first dimension is not function", m.Name)
		}
		if len(m.Dimensions) > 2 {
			t.Errorf("%s: %d dimensions; keep them few", m.Name, len(m.Dimensions))
		}
		for _, d := range m.Dimensions {
			if len(d.Values) == 0 || len(d.Values) > 10 {
				t.Errorf("%s: dimension %s lists %d values; want a short closed list", m.Name, d.Name, len(d.Values))
			}
			for _, v := range d.Values {
				if strings.ContainsAny(v, "@0123456789") {
					t.Errorf("%s: dimension %s lists %q", m.Name, d.Name, v)
				}
			}
		}
	}
}

// BenchmarkAuthorizerRecord is what the authorizer's metrics cost an
// invocation besides its decision: the record, its counts and the line.
func BenchmarkAuthorizerRecord(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		r := metrics.New(metrics.FunctionAuthorizer)
		r.Add(metrics.DynamoDBCalls, 1)
		r.Add(metrics.Decisions, 1, metrics.OutcomeAllowed)
		r.Observe(metrics.DecisionLatency, 1.234, metrics.OutcomeAllowed)
		r.Set("principalId", "0000000b0000000000000001")
		r.Flush(io.Discard, at)
	}
}
