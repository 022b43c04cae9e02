// Package metrics is the functions' CloudWatch metrics: the one catalogue of
// their names, units and dimensions (Catalog, which the template's
// dashboard and the tests are checked against), and the record each
// invocation writes to standard output in CloudWatch's Embedded Metric
// Format (EMF), from which CloudWatch Logs makes the metrics.
//
// Package metrics writes EMF itself rather than through a library: the
// format is one small JSON object, the maintained Go library
// (github.com/dangrier/aws-embedded-metrics-golang) needs a newer Go than
// this module's, its origin (prozz/aws-embedded-metrics-golang) has not
// changed since 2021, and neither checks dimension values against a closed
// list, which is what keeps ids and emails out of the dimensions here: a
// value a dimension does not list is written as "other".
//
// A Record aggregates everything one invocation counts (counts are added,
// latencies kept as a list) and Flush writes it as one log line, so that a
// request costs one log event whatever it does.
package metrics

import (
	"context"
	"encoding/json"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tokensmith/tokensmith/internal/route"
)

// Namespace is the CloudWatch namespace of every metric.
const Namespace = "tokensmith"

// Unit is a CloudWatch unit.
type Unit string

// Units the metrics use.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
)

// Dimension is a dimension's name, with every value it may take: a closed,
// short list, so that the metrics a dimension makes are bounded.
type Dimension struct {
	Name   string
	Values []string
}

// Other is the value written for a dimension value its Dimension does not
// list.
const Other = "other"

// Dimensions of the metrics. Ids (token, site, workspace), emails and
// request ids are never dimensions: they go into the record's properties,
// which are log fields only.
var (
	Function = Dimension{Name: "function", Values: []string{
		FunctionAuthorizer, FunctionTokens, FunctionSites, FunctionAuditLogs, FunctionPeople, FunctionTokenExpiry,
		FunctionSecretScanning, FunctionUpstream, FunctionAuditPublish,
	}}
	Outcome = Dimension{Name: "outcome", Values: []string{
		OutcomeAllowed, OutcomeDeniedScope, OutcomeUnauthorized, OutcomeFailed,
	}}
	Plan = Dimension{Name: "plan", Values: []string{
		PlanBasic, PlanCMS, PlanEnterprise, PlanWorkspace,
	}}
	ActorType = Dimension{Name: "actorType", Values: []string{
		ActorUser, ActorAPIToken, ActorOperator, ActorSecretScanning, ActorWorkload,
	}}
)

// Values of Function: the functions that write metrics, the ones that
// serve routes named as the route table names them. The console function
// reads no table and decides nothing, so it writes none.
const (
	FunctionAuthorizer     = "authorizer"
	FunctionTokens         = route.Tokens
	FunctionSites          = route.Sites
	FunctionAuditLogs      = route.AuditLogs
	FunctionPeople         = route.People
	FunctionSecretScanning = route.SecretScanning
	FunctionTokenExpiry    = "tokenexpiry"
	FunctionUpstream       = route.Upstream
	FunctionAuditPublish   = "auditpublish"
)

// Values of Outcome. The authorizer allows every live API token (its
// package says why), so denied_scope is decided by the function that
// serves the request (403 missing_scopes or not_enterprise_plan_workspace),
// and counted there; the other three by the authorizer.
const (
	OutcomeAllowed      = "allowed"
	OutcomeDeniedScope  = "denied_scope"
	OutcomeUnauthorized = "unauthorized"
	OutcomeFailed       = "failed"
)

// Values of Plan: a token's rate-limit tier, as the limit its secret
// carries says (site plans that share a limit share a value): basic is 60
// requests a minute (starter, basic), cms 120 (cms, ecommerce, business),
// enterprise any other site limit, workspace the workspace tokens.
const (
	PlanBasic      = "basic"
	PlanCMS        = "cms"
	PlanEnterprise = "enterprise"
	PlanWorkspace  = "workspace"
)

// Values of ActorType: who changed a token. secret_scanning is for
// revocations reported by a secret-scanning partner; workload for the
// tokens trusted workloads' exchanges mint.
const (
	ActorUser           = "user"
	ActorAPIToken       = "api_token"
	ActorOperator       = "operator"
	ActorSecretScanning = "secret_scanning"
	ActorWorkload       = "workload"
)

// Metric is one metric of the catalogue: its name, unit and dimensions, the
// first of which is always Function.
type Metric struct {
	Name       string
	Unit       Unit
	Dimensions []Dimension
	// Doc says what it counts, for docs/OPERATIONS.md and the reader.
	Doc string
}

// The metrics.
var (
	Decisions = Metric{"Decisions", Count, []Dimension{Function, Outcome},
		"requests decided, by outcome: by the authorizer (allowed, unauthorized, failed), by the function's scope and plan check (denied_scope), and leak reports by the secret scanning endpoint (allowed: signed and answered; unauthorized: not signed by GitHub; failed: GitHub's keys or the table unreachable)"}
	DecisionLatency = Metric{"DecisionLatency", Milliseconds, []Dimension{Function, Outcome},
		"time the authorizer's handler took to decide, by outcome"}
	DynamoDBCalls = Metric{"DynamoDBCalls", Count, []Dimension{Function},
		"DynamoDB operations called (one per call, whatever its retries)"}
	DynamoDBRetries = Metric{"DynamoDBRetries", Count, []Dimension{Function},
		"DynamoDB attempts beyond each call's first"}
	DynamoDBThrottles = Metric{"DynamoDBThrottles", Count, []Dimension{Function},
		"DynamoDB attempts refused for throughput, as the SDK's retryer tells them (ProvisionedThroughputExceeded, Throttling, RequestLimitExceeded and the like)"}
	RateLimited = Metric{"RateLimited", Count, []Dimension{Function, Plan},
		"requests answered 429 too_many_requests by a token's rate limit, by the token's plan"}
	TokensMinted = Metric{"TokensMinted", Count, []Dimension{Function, ActorType},
		"tokens created (an idempotent replay creates none)"}
	TokensRegenerated = Metric{"TokensRegenerated", Count, []Dimension{Function, ActorType},
		"tokens given a new secret"}
	TokensRevoked = Metric{"TokensRevoked", Count, []Dimension{Function, ActorType},
		"tokens revoked, or a previous secret's grace ended, by who did it"}
	TokensExpired = Metric{"TokensExpired", Count, []Dimension{Function},
		"token_expired events written for TTL removals (a redelivered removal counts once)"}
	EventsPublished = Metric{"EventsPublished", Count, []Dimension{Function},
		"audit events the event bus accepted (a redelivered stream record counts again)"}
	StreamBatchFailures = Metric{"StreamBatchFailures", Count, []Dimension{Function},
		"stream records reported as failed, to be retried and at last sent to the dead-letter queue"}
	AccountsNotCreated = Metric{"AccountsNotCreated", Count, []Dimension{Function},
		"invited emails whose account the stack's user pool failed to create or to send a new temporary password (the invitation is written and answered as any other; the record's accountNotCreated field names the member and Cognito's error code)"}
)

// Catalog is every metric the functions write: the one list the dashboard,
// the documentation and the tests are held to.
var Catalog = []Metric{
	Decisions, DecisionLatency,
	DynamoDBCalls, DynamoDBRetries, DynamoDBThrottles,
	RateLimited,
	TokensMinted, TokensRegenerated, TokensRevoked, TokensExpired,
	StreamBatchFailures, EventsPublished,
	AccountsNotCreated,
}

// maxValues is EMF's limit of values in one metric's list.
const maxValues = 100

// key is one metric with its dimension values (Function's excluded).
type key struct {
	name   string
	values string // the other dimensions' values, joined by "\x00"
}

// Record is what one invocation of one function measured. Its methods are
// safe for concurrent use, and a nil *Record records nothing, so code that
// runs outside a measured invocation (tokenctl, tests) needs no care.
type Record struct {
	function string

	mu      sync.Mutex
	metrics map[key]*entry
	props   map[string]any
}

type entry struct {
	metric Metric
	set    string // dimensionSet(metric)
	values []string
	sum    float64
	list   []float64
}

// New returns an empty record of function, one of Function's values (any
// other is written as Other, as for every dimension).
func New(function string) *Record {
	if !slices.Contains(Function.Values, function) {
		function = Other
	}
	return &Record{function: function, metrics: map[key]*entry{}, props: map[string]any{}}
}

// Add counts n of m (a Count metric), with the values of m's dimensions
// after Function, in order.
func (r *Record) Add(m Metric, n float64, values ...string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.entry(m, values)
	e.sum += n
}

// Observe notes one value v of m (a Milliseconds metric), with the values
// of m's dimensions after Function, in order. A record keeps at most 100
// values of one metric, EMF's limit; the rest are dropped.
func (r *Record) Observe(m Metric, v float64, values ...string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.entry(m, values)
	if len(e.list) < maxValues {
		e.list = append(e.list, v)
	}
}

// Set adds a property: a field of the log line, never a dimension (the
// token id, the API request id, what is left of a rate limit).
func (r *Record) Set(name string, v any) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.props[name] = v
}

// entry returns m's entry for values, bounded to the values each dimension
// lists.
func (r *Record) entry(m Metric, values []string) *entry {
	dims := m.Dimensions[1:]
	bounded := make([]string, len(dims))
	for i, d := range dims {
		v := ""
		if i < len(values) {
			v = values[i]
		}
		if !slices.Contains(d.Values, v) {
			v = Other
		}
		bounded[i] = v
	}
	k := key{m.Name, strings.Join(bounded, "\x00")}
	e, ok := r.metrics[k]
	if !ok {
		e = &entry{metric: m, set: dimensionSet(m), values: bounded}
		r.metrics[k] = e
	}
	return e
}

// Directive is one entry of an EMF record's CloudWatchMetrics: the metrics
// it declares and the dimension sets they are written with.
type Directive struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []MetricDecl `json:"Metrics"`
}

// MetricDecl declares one metric of a Directive.
type MetricDecl struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit"`
}

// Lines returns the record as EMF log lines, each a JSON object, stamped
// at now: one line, unless the invocation counted one metric under two
// values of a dimension (which a line cannot hold), when each further value
// goes on a line of its own. A record that measured nothing has no lines.
func (r *Record) Lines(now time.Time) [][]byte {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := make([]key, 0, len(r.metrics))
	for k := range r.metrics {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].name != keys[j].name {
			return keys[i].name < keys[j].name
		}
		return keys[i].values < keys[j].values
	})
	// Each line holds one value per dimension name and per metric name.
	type line struct {
		dims    map[string]string
		entries []*entry
	}
	var lines []*line
	fits := func(l *line, e *entry) bool {
		for _, o := range l.entries {
			if o.metric.Name == e.metric.Name {
				return false
			}
		}
		for i, d := range e.metric.Dimensions[1:] {
			if v, ok := l.dims[d.Name]; ok && v != e.values[i] {
				return false
			}
		}
		return true
	}
	for _, k := range keys {
		e := r.metrics[k]
		var into *line
		for _, l := range lines {
			if fits(l, e) {
				into = l
				break
			}
		}
		if into == nil {
			into = &line{dims: map[string]string{}}
			lines = append(lines, into)
		}
		into.entries = append(into.entries, e)
		for i, d := range e.metric.Dimensions[1:] {
			into.dims[d.Name] = e.values[i]
		}
	}
	out := make([][]byte, 0, len(lines))
	for _, l := range lines {
		out = append(out, r.encode(l.dims, l.entries, now))
	}
	return out
}

// encode writes one line: the metadata with one directive per dimension
// set (in the order first met), the function and the other dimensions'
// values, each metric's value or values, and the properties, in a fixed
// order. It is written by hand, not through a map and encoding/json, which
// cost the authorizer several times as much.
func (r *Record) encode(dims map[string]string, entries []*entry, now time.Time) []byte {
	b := make([]byte, 0, 512)
	b = append(b, `{"_aws":{"Timestamp":`...)
	b = strconv.AppendInt(b, now.UnixMilli(), 10)
	b = append(b, `,"CloudWatchMetrics":[`...)
	var sets []string
	for _, e := range entries {
		if !slices.Contains(sets, e.set) {
			sets = append(sets, e.set)
		}
	}
	for i, set := range sets {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Namespace":"`+Namespace+`","Dimensions":[[`...)
		b = append(b, set...)
		b = append(b, `]],"Metrics":[`...)
		first := true
		for _, e := range entries {
			if e.set != set {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, `{"Name":`...)
			b = appendString(b, e.metric.Name)
			b = append(b, `,"Unit":`...)
			b = appendString(b, string(e.metric.Unit))
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	b = append(b, "]}"...)
	b = append(b, `,"`+Function.Name+`":`...)
	b = appendString(b, r.function)
	for _, name := range sortedKeys(dims) {
		b = append(b, ',')
		b = appendString(b, name)
		b = append(b, ':')
		b = appendString(b, dims[name])
	}
	for _, e := range entries {
		b = append(b, ',')
		b = appendString(b, e.metric.Name)
		b = append(b, ':')
		if e.metric.Unit == Count {
			b = strconv.AppendFloat(b, e.sum, 'f', -1, 64)
		} else {
			b = append(b, '[')
			for i, v := range e.list {
				if i > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendFloat(b, v, 'f', -1, 64)
			}
			b = append(b, ']')
		}
	}
	for _, name := range sortedKeys(r.props) {
		if _, ok := dims[name]; ok || name == Function.Name || name == "_aws" || slices.ContainsFunc(entries, func(e *entry) bool { return e.metric.Name == name }) {
			continue
		}
		var v []byte
		switch x := r.props[name].(type) {
		case string:
			v = appendString(nil, x)
		case int64:
			v = strconv.AppendInt(nil, x, 10)
		default:
			var err error
			if v, err = json.Marshal(x); err != nil {
				continue
			}
		}
		b = append(b, ',')
		b = appendString(b, name)
		b = append(b, ':')
		b = append(b, v...)
	}
	return append(b, '}')
}

// dimensionSet is m's dimension names as a JSON list's elements.
func dimensionSet(m Metric) string {
	var b []byte
	for i, d := range m.Dimensions {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, d.Name)
	}
	return string(b)
}

// appendString appends s as a JSON string. Names and dimension values are
// the catalogue's own; anything else is escaped by encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Flush writes the record's lines to w, each followed by a newline, in one
// write, so that lines from concurrent invocations never interleave.
func (r *Record) Flush(w io.Writer, now time.Time) error {
	var buf []byte
	for _, l := range r.Lines(now) {
		buf = append(append(buf, l...), '\n')
	}
	if len(buf) == 0 {
		return nil
	}
	_, err := w.Write(buf)
	return err
}

type recordKey struct{}

// NewContext returns ctx carrying r, where the code an invocation runs
// finds it (FromContext).
func NewContext(ctx context.Context, r *Record) context.Context {
	return context.WithValue(ctx, recordKey{}, r)
}

// FromContext returns the record ctx carries, or nil (which records
// nothing).
func FromContext(ctx context.Context) *Record {
	r, _ := ctx.Value(recordKey{}).(*Record)
	return r
}

// Millis returns d in milliseconds, with a microsecond's precision.
func Millis(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// Invocations wraps the handler h of function: each invocation gets a new
// record in its context, written to w when h returns, stamped by now. The
// Lambda request id, when the context has one, is a property of the record.
func Invocations[E, R any](function string, w io.Writer, now func() time.Time, h func(context.Context, E) (R, error)) func(context.Context, E) (R, error) {
	return func(ctx context.Context, ev E) (R, error) {
		r := New(function)
		if id := lambdaRequestID(ctx); id != "" {
			r.Set("requestId", id)
		}
		resp, err := h(NewContext(ctx, r), ev)
		r.Flush(w, now())
		return resp, err
	}
}

// lambdaRequestID is the request id of the Lambda invocation ctx belongs
// to, or "" outside Lambda.
func lambdaRequestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}
