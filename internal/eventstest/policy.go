package eventstest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tokensmith/tokensmith/internal/assertion"
	"github.com/tokensmith/tokensmith/internal/serversecret"
)

// recorded are the services whose actions the fixture records: DynamoDB
// (through the proxy), Secrets Manager (Fixture.Secrets) and EventBridge
// (Fixture.Bus).
var recorded = []string{"dynamodb:", "secretsmanager:", "events:"}

// CheckPolicy holds the DynamoDB and Secrets Manager actions the fixture's
// function called (on the table, one of its indexes, or the idempotency
// secret) to those its IAM policy in template.yaml grants, both ways:
// nothing missing, nothing extra.
func CheckPolicy(t *testing.T, fx *Fixture) {
	t.Helper()
	_, fn := function(t, fx.LogicalID)
	granted := map[string]bool{}
	for _, p := range fn.Policies {
		for _, st := range p.Statement {
			if st.Effect != "Allow" {
				continue
			}
			for _, a := range st.Action {
				if !slices.ContainsFunc(recorded, func(p string) bool { return strings.HasPrefix(a, p) }) {
					continue
				}
				for _, r := range st.Resource {
					granted[a+" on "+resource(r)] = true
				}
			}
		}
	}
	called := fx.calls.grants()
	for _, p := range fx.Bus.Problems() {
		t.Errorf("%s sent EventBridge a request against its contract: %s", fx.LogicalID, p)
	}
	for _, e := range fx.Bus.Entries() {
		bus := e.EventBusName
		if bus == BusName {
			bus = "EventBus"
		}
		called["events:PutEvents on "+bus] = true
	}
	for _, g := range sortedKeys(called) {
		if !granted[g] {
			t.Errorf("%s calls %s, which its policy in template.yaml does not grant", fx.LogicalID, g)
		}
	}
	for _, g := range sortedKeys(granted) {
		if !called[g] {
			t.Errorf("%s is granted %s, which it never calls", fx.LogicalID, g)
		}
	}
}

// resource names a policy resource as the recorder does: Table for the
// table's ARN (!GetAtt Table.Arn), Table/index/NAME for an index's
// (!Sub "${Table.Arn}/index/NAME"), a secret by its logical id (!Ref),
// the event bus as EventBus (!GetAtt EventBus.Arn).
func resource(r string) string {
	r = strings.Replace(r, "EventBus.Arn", "EventBus", 1)
	r = strings.Replace(r, "${Table.Arn}", "Table", 1)
	return strings.Replace(r, "Table.Arn", "Table", 1)
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// recorder is a proxy in front of DynamoDB Local that records, for every
// call, the IAM actions it needs and on what: a transaction needs the
// action of each of its items (there is no IAM action for a transaction).
type recorder struct {
	proxy *httputil.ReverseProxy
	table string

	mu     sync.Mutex
	called map[string]bool
}

func newRecorder(endpoint, table string) (*recorder, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	return &recorder{proxy: httputil.NewSingleHostReverseProxy(u), table: table, called: map[string]bool{}}, nil
}

// transactActions are the IAM actions of the kinds of transaction item.
var transactActions = map[string]string{
	"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem", "Delete": "dynamodb:DeleteItem",
	"ConditionCheck": "dynamodb:ConditionCheckItem", "Get": "dynamodb:GetItem",
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	_, op, _ := strings.Cut(req.Header.Get("X-Amz-Target"), ".")
	var in struct {
		TableName     string
		IndexName     string
		TransactItems []map[string]struct{ TableName string }
		RequestItems  map[string]json.RawMessage
	}
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	switch {
	case len(in.TransactItems) > 0:
		for _, item := range in.TransactItems {
			for kind, x := range item {
				r.called[transactActions[kind]+" on "+r.name(x.TableName, "")] = true
			}
		}
	case len(in.RequestItems) > 0:
		for table := range in.RequestItems {
			r.called["dynamodb:"+op+" on "+r.name(table, "")] = true
		}
	default:
		r.called["dynamodb:"+op+" on "+r.name(in.TableName, in.IndexName)] = true
	}
	r.mu.Unlock()
	r.proxy.ServeHTTP(w, req)
}

// name is how a policy names the table (or index) of a call.
func (r *recorder) name(table, index string) string {
	n := table
	if table == r.table {
		n = "Table"
	}
	if index != "" {
		n += "/index/" + index
	}
	return n
}

func (r *recorder) grants() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.called)
}

// secrets is Fixture.Secrets: it answers the fixture's secrets and records
// the calls, naming a secret by the last part of its ARN (its logical id).
// The assertion key secret starts holding no key, as the template creates
// it, and keeps what is written to it, one version per ClientRequestToken.
type secrets struct {
	calls *recorder
	keys  *keySecret
}

type keySecret struct {
	mu       sync.Mutex
	value    string
	versions map[string]string
}

func (s secrets) record(action, id string) {
	s.calls.mu.Lock()
	s.calls.called["secretsmanager:"+action+" on "+id[strings.LastIndex(id, ":")+1:]] = true
	s.calls.mu.Unlock()
}

func (s secrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	id := aws.ToString(in.SecretId)
	s.record("GetSecretValue", id)
	switch id {
	case secretARN:
		return &secretsmanager.GetSecretValueOutput{ARN: in.SecretId, SecretString: aws.String(SecretValue)}, nil
	case assertionKeyARN:
		s.keys.mu.Lock()
		defer s.keys.mu.Unlock()
		return &secretsmanager.GetSecretValueOutput{ARN: in.SecretId, SecretString: aws.String(s.keys.value)}, nil
	}
	return nil, fmt.Errorf("eventstest: no secret %s", id)
}

func (s secrets) PutSecretValue(_ context.Context, in *secretsmanager.PutSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	id := aws.ToString(in.SecretId)
	s.record("PutSecretValue", id)
	if id != assertionKeyARN {
		return nil, fmt.Errorf("eventstest: no writable secret %s", id)
	}
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	if tok := aws.ToString(in.ClientRequestToken); tok != "" {
		if prev, ok := s.keys.versions[tok]; ok && prev != aws.ToString(in.SecretString) {
			return nil, &smtypes.ResourceExistsException{Message: aws.String("a version with this ClientRequestToken exists")}
		}
		s.keys.versions[tok] = aws.ToString(in.SecretString)
	}
	s.keys.value = aws.ToString(in.SecretString)
	return &secretsmanager.PutSecretValueOutput{ARN: in.SecretId}, nil
}

// assertionKeyARN is the ARN the fixture gives the assertion key secret.
const assertionKeyARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:AssertionKeySecret"

// AssertionSecrets returns the Secrets Manager a wiring should keep its
// assertion keys in under ctx: the fixture's when Run wires the function,
// otherwise one that cannot be reached.
func AssertionSecrets(ctx context.Context) assertion.API {
	if s, ok := ctx.Value(secretsKey{}).(assertion.API); ok {
		return s
	}
	return unreachable{}
}

// secretsKey is the context key under which Run gives the wiring the
// fixture's Secrets.
type secretsKey struct{}

// Secrets returns the Secrets Manager a wiring should read from under ctx:
// the fixture's (Fixture.Secrets) when Run wires the function, otherwise
// (CheckEnv, which reads no secret from AWS) one that cannot be reached.
func Secrets(ctx context.Context) serversecret.API {
	if s, ok := ctx.Value(secretsKey{}).(serversecret.API); ok {
		return s
	}
	return unreachable{}
}

// unreachable is a Secrets Manager that cannot be reached.
type unreachable struct{}

func (unreachable) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return nil, errors.New("eventstest: secrets manager unreachable")
}

func (unreachable) PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	return nil, errors.New("eventstest: secrets manager unreachable")
}
