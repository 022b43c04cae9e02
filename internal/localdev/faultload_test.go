package localdev_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/token"
)

// faultInjector stands between the stack's DynamoDB client and DynamoDB
// Local and, while on, fails a share of the attempts as DynamoDB fails:
// throttling (ProvisionedThroughputExceededException, ThrottlingException)
// and timeouts, before the request is sent or after DynamoDB applied it
// (the answer lost on the way back). The SDK's retryer sees each attempt,
// so a call fails only when every attempt of it does.
type faultInjector struct {
	next interface {
		Do(*http.Request) (*http.Response, error)
	}
	on   atomic.Bool
	rate float64 // share of attempts that fail while on

	mu     sync.Mutex
	r      *mrand.Rand
	counts map[string]int
}

// Injected faults.
const (
	faultThrottled     = "ProvisionedThroughputExceededException"
	faultThrottling    = "ThrottlingException"
	faultTimeoutBefore = "timeout before the request"
	faultTimeoutAfter  = "timeout after DynamoDB applied the request"
)

var faultKinds = []string{faultThrottled, faultThrottling, faultTimeoutBefore, faultTimeoutAfter}

// injectedTimeout is what a client whose attempt timed out sees.
type injectedTimeout struct{}

func (injectedTimeout) Error() string   { return "injected: i/o timeout" }
func (injectedTimeout) Timeout() bool   { return true }
func (injectedTimeout) Temporary() bool { return true }

func (f *faultInjector) Do(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	kind := ""
	if f.on.Load() && f.r.Float64() < f.rate {
		kind = faultKinds[f.r.IntN(len(faultKinds))]
		f.counts[kind]++
	}
	f.counts["attempts"]++
	f.mu.Unlock()
	switch kind {
	case faultThrottled, faultThrottling:
		body := fmt.Sprintf(`{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":"injected"}`, kind)
		if req.Body != nil {
			io.Copy(io.Discard, req.Body)
			req.Body.Close()
		}
		return &http.Response{StatusCode: 400, Status: "400 Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amzn-Requestid": {"injected"}},
			Body:   io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req}, nil
	case faultTimeoutBefore:
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, injectedTimeout{}
	case faultTimeoutAfter:
		resp, err := f.next.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return nil, injectedTimeout{}
	}
	return f.next.Do(req)
}

func (f *faultInjector) snapshot() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.counts {
		out[k] = v
	}
	return out
}

// faultRate reads FAULT_RATE, the share of DynamoDB attempts that fail.
func faultRate() float64 {
	if v, err := strconv.ParseFloat(os.Getenv("FAULT_RATE"), 64); err == nil {
		return v
	}
	return 0.5
}

// answer is one request of the load and what it got.
type answer struct {
	op         string
	status     int
	code       string
	start, end time.Time
	secret     string // the secret used, revoked or returned
	id         string // the token created, regenerated or revoked
	hint       string // a regenerate's new display hint
	replay     bool
	idemKey    string
	grace      int  // a regenerate's grace period
	revoked    bool // a revoke by secret's didRevoke
}

// TestMixedLoadUnderFaults runs a mixed load of creates (some with an
// Idempotency-Key, retried on a 5xx as a client would), uses, regenerates,
// revokes by id and by secret and bad input from many clients, with a
// share of DynamoDB attempts failing half of every second (FAULT_RATE: throttling and timeouts,
// some after DynamoDB applied the write). It then checks, with the faults
// off:
//   - every answer is one the contract allows, or a 500 internal_error;
//   - no use succeeded that started after a 2xx answer had ended its
//     secret, and no unknown secret was ever let through;
//   - every token in the table has its token_created event and no
//     token_revoked one, and shows the display hint of its latest
//     created or regenerated event; every token with a created event that
//     is gone has exactly one token_revoked event; every stored secret
//     belongs to a stored token and every token's secret is stored;
//   - every 2xx change has its event; the audit counter matches the events;
//   - retries of one Idempotency-Key were all answered with one token;
//   - at most 5 tokens are active.
func TestMixedLoadUnderFaults(t *testing.T) {
	d, clients := stressSettings()
	f := &faultInjector{rate: faultRate(), r: mrand.New(mrand.NewPCG(1, 2)), counts: map[string]int{}}
	e := newFaultyEnv(t, func(o *dynamodb.Options) {
		f.next = o.HTTPClient
		o.HTTPClient = f
	})
	ctx := context.Background()
	if _, err := e.stack.Operator.SetSitePlan(ctx, e.demo.SiteID, tokensmith.SitePlanEnterprise, tokensmith.MaxRateLimit); err != nil {
		t.Fatal(err)
	}
	siteBase := "/v2/sites/" + e.demo.SiteID + "/tokens"
	wsBase := "/v2/workspaces/" + e.demo.WorkspaceID + "/tokens"
	if r := e.do("GET", siteBase, e.demo.AdminToken, ""); r.status != 200 {
		t.Fatalf("admin's first call = %d", r.status)
	}

	var mu sync.Mutex
	var answers []answer
	var known []answer // 201 and 200 regenerate answers: secrets to use
	record := func(a answer) {
		mu.Lock()
		defer mu.Unlock()
		answers = append(answers, a)
		if (a.op == "create" && a.status == 201) || (a.op == "regenerate" && a.status == 200) {
			known = append(known, a)
		}
	}
	pick := func(r *mrand.Rand) answer {
		mu.Lock()
		defer mu.Unlock()
		if len(known) == 0 {
			return answer{}
		}
		return known[r.IntN(len(known))]
	}
	do := func(a answer, method, path, bearer, body string, h ...string) (answer, response) {
		a.start = time.Now()
		r := e.do(method, path, bearer, body, h...)
		a.end, a.status, a.code = time.Now(), r.status, r.str("code")
		return a, r
	}
	end := time.Now().Add(d)
	// Faults come and go: on for half of every second.
	go func() {
		for time.Now().Before(end) {
			f.on.Store(time.Now().UnixMilli()%1000 < 500)
			time.Sleep(10 * time.Millisecond)
		}
		f.on.Store(false)
	}()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := mrand.New(mrand.NewPCG(uint64(c), 11))
			for n := 0; time.Now().Before(end); n++ {
				k := pick(r)
				switch op := r.IntN(100); {
				case op < 22 || k.secret == "":
					base, perms := siteBase, `{"sites":"read"}`
					if r.IntN(5) == 0 {
						base, perms = wsBase, `{"workspace_activity":"read"}`
					}
					var h []string
					key := ""
					if r.IntN(2) == 0 {
						key = fmt.Sprintf("fault-load-%d-%d-key", c, n)
						h = []string{"Idempotency-Key", key}
					}
					// A client retries a 5xx with the same key, as Idempotency-Key is for.
					for attempt := 0; attempt < 3; attempt++ {
						a, resp := do(answer{op: "create", idemKey: key}, "POST", base, e.demo.AdminToken, `{"name":"load","permissions":`+perms+`}`, h...)
						a.secret, a.id, a.replay = resp.str("token"), resp.str("apiToken", "id"), resp.header.Get("Idempotent-Replayed") == "true"
						record(a)
						if a.status < 500 || key == "" {
							break
						}
					}
				case op < 57:
					a, _ := do(answer{op: "use", secret: k.secret, id: k.id}, "GET", "/v2/token/introspect", k.secret, "")
					record(a)
				case op < 62:
					s, _ := token.Generate(token.KindSite, rand.Reader)
					a, _ := do(answer{op: "use unknown", secret: s}, "GET", "/v2/sites", s, "")
					record(a)
				case op < 74:
					if strings.HasPrefix(k.secret, "tsw_") {
						continue // workspace tokens have no regenerate route
					}
					grace, body := 0, ""
					if r.IntN(3) == 0 {
						grace, body = 3600, `{"gracePeriodSeconds":3600}`
					}
					a, resp := do(answer{op: "regenerate", id: k.id}, "POST", siteBase+"/"+k.id+"/regenerate", e.demo.AdminToken, body)
					a.secret, a.hint = resp.str("token"), resp.str("apiToken", "displayHint")
					a.grace = grace
					record(a)
				case op < 86:
					base := siteBase
					if strings.HasPrefix(k.secret, "tsw_") {
						base = wsBase
					}
					a, _ := do(answer{op: "revoke", id: k.id, secret: k.secret}, "DELETE", base+"/"+k.id, e.demo.AdminToken, "")
					record(a)
				case op < 92:
					a, resp := do(answer{op: "revoke by secret", secret: k.secret, id: k.id}, "POST", "/v2/token/revoke", "", `{"token":"`+k.secret+`"}`)
					a.revoked = resp.body["didRevoke"] == true
					record(a)
				default:
					a, _ := do(answer{op: "bad input"}, "POST", siteBase, e.demo.AdminToken, `{"name":"","permissions":{}}`)
					record(a)
				}
			}
		}()
	}
	wg.Wait()
	for time.Now().Before(end.Add(20 * time.Millisecond)) {
		time.Sleep(10 * time.Millisecond)
	}
	injected := f.snapshot()

	// Every answer is one the contract allows for the operation, or a 500.
	allowed := map[string]map[int]bool{
		"create": {201: true, 409: true}, "use": {200: true, 401: true}, "use unknown": {401: true},
		"regenerate": {200: true, 404: true}, "revoke": {204: true, 404: true}, "revoke by secret": {200: true}, "bad input": {400: true},
	}
	statuses := map[string]map[string]int{}
	faultAnswers := 0
	for _, a := range answers {
		if statuses[a.op] == nil {
			statuses[a.op] = map[string]int{}
		}
		statuses[a.op][strconv.Itoa(a.status)]++
		switch {
		case a.status >= 500:
			faultAnswers++
			if a.status != 500 || a.code != "internal_error" {
				t.Errorf("%s under faults answered %d %s; want 500 internal_error", a.op, a.status, a.code)
			}
		case !allowed[a.op][a.status]:
			t.Errorf("%s answered %d %s", a.op, a.status, a.code)
		}
	}

	// No use succeeded that started after a 2xx answer ended its secret: a
	// revoke ends every secret of its token, a regenerate without grace every
	// secret but the new one, a revoke by secret that one secret, each
	// counting only secrets given out before the ending request started.
	issued := map[string][]answer{}
	for _, a := range answers {
		if a.status < 300 && a.secret != "" && (a.op == "create" || a.op == "regenerate") {
			issued[a.id] = append(issued[a.id], a)
		}
	}
	killed := map[string]time.Time{}
	kill := func(s string, at time.Time) {
		if was, ok := killed[s]; !ok || at.Before(was) {
			killed[s] = at
		}
	}
	for _, a := range answers {
		switch {
		case a.op == "revoke" && a.status == 204, a.op == "regenerate" && a.status == 200 && a.grace == 0:
			for _, b := range issued[a.id] {
				if b.end.Before(a.start) && b.secret != a.secret {
					kill(b.secret, a.end)
				}
			}
		case a.op == "revoke by secret" && a.revoked:
			kill(a.secret, a.end)
		}
	}
	allowsAfterKill := 0
	for _, a := range answers {
		if a.op == "use" && a.status == 200 {
			if at, ok := killed[a.secret]; ok && a.start.After(at) {
				allowsAfterKill++
				t.Errorf("a use started %v after its secret was ended was allowed", a.start.Sub(at))
			}
		}
	}

	// The table and the audit log agree, and with every 2xx change.
	created, revoked := map[string]int{}, map[string]int{}
	lastHint := map[string]string{}
	regenHints := map[string]bool{}
	events := 0
	for _, it := range e.items("AUDIT#") {
		var ev struct {
			EventType    string         `json:"eventType"`
			EventSubType string         `json:"eventSubType"`
			Payload      map[string]any `json:"payload"`
		}
		if err := json.Unmarshal([]byte(it), &ev); err != nil {
			t.Fatal(err)
		}
		events++
		if ev.EventType != "api_token" {
			continue
		}
		tok, _ := ev.Payload["token"].(map[string]any)
		id, _ := tok["id"].(string)
		hint, _ := tok["displayHint"].(string)
		_, previous := ev.Payload["secret"]
		switch {
		case ev.EventSubType == "token_created":
			created[id]++
			lastHint[id] = hint
		case ev.EventSubType == "token_regenerated":
			regenHints[id+hint] = true
			lastHint[id] = hint // events of one token are ordered by the token's own changes
		case ev.EventSubType == "token_revoked" && !previous:
			revoked[id]++
		}
	}
	if c, err := e.stack.Store.AuditCounters(ctx, e.demo.WorkspaceID); err != nil || c.Seq != int64(events) {
		t.Errorf("audit counter %d, %v; %d events stored", c.Seq, err, events)
	}
	stored := map[string]tokensmith.Token{}
	hashes := map[string]bool{}
	for _, owner := range []tokensmith.Owner{{Kind: token.KindSite, ID: e.demo.SiteID}, {Kind: token.KindWorkspace, ID: e.demo.WorkspaceID}} {
		toks, err := e.stack.Store.Tokens(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		if len(toks) > 5 {
			t.Errorf("%s %s holds %d tokens; the limit is 5", owner.Kind, owner.ID, len(toks))
		}
		for _, tk := range toks {
			stored[tk.ID] = tk
			hashes[tk.SecretHash] = true
			if tk.PrevSecretHash != "" {
				hashes[tk.PrevSecretHash] = true
			}
			if _, err := e.stack.Store.Secret(ctx, tk.SecretHash); err != nil {
				t.Errorf("token %s: its current secret is not stored (%v)", tk.ID, err)
			}
			if created[tk.ID] != 1 || revoked[tk.ID] != 0 || lastHint[tk.ID] != tk.DisplayHint {
				t.Errorf("token %s (hint %s): %d created and %d revoked events, last hint %s", tk.ID, tk.DisplayHint, created[tk.ID], revoked[tk.ID], lastHint[tk.ID])
			}
		}
	}
	for id, n := range created {
		if _, ok := stored[id]; n != 1 || (!ok && revoked[id] != 1) {
			t.Errorf("token %s: %d created events, stored %v, %d revoked events", id, n, ok, revoked[id])
		}
	}
	for _, it := range e.items("SECRET#") {
		var raw map[string]any
		if err := json.Unmarshal([]byte(it), &raw); err != nil {
			t.Fatal(err)
		}
		if h, _ := raw["hash"].(string); !hashes[h] {
			t.Errorf("a stored secret of token %v belongs to no stored token", raw["tokenId"])
		}
	}
	answered := map[string]bool{}
	byKey := map[string]map[string]bool{}
	for _, a := range answers {
		switch {
		case a.op == "create" && a.status == 201:
			answered[a.id] = true
			if created[a.id] != 1 {
				t.Errorf("create answered 201 with %s; %d created events", a.id, created[a.id])
			}
			if a.idemKey != "" {
				if byKey[a.idemKey] == nil {
					byKey[a.idemKey] = map[string]bool{}
				}
				byKey[a.idemKey][a.id] = true
			}
		case a.op == "revoke" && a.status == 204 && revoked[a.id] != 1:
			t.Errorf("revoke answered 204 for %s; %d revoked events", a.id, revoked[a.id])
		case a.op == "regenerate" && a.status == 200 && !regenHints[a.id+a.hint]:
			t.Errorf("regenerate answered 200 for %s (%s) without its event", a.id, a.hint)
		}
	}
	for key, ids := range byKey {
		if len(ids) != 1 {
			t.Errorf("Idempotency-Key %s answered with %d tokens", key, len(ids))
		}
	}
	unanswered := 0
	for id := range created {
		if !answered[id] {
			unanswered++
		}
	}
	// Each secret a 2xx answer gave works now exactly when the table says so.
	working := 0
	for _, a := range answers {
		if a.secret == "" || a.status >= 300 || a.op == "use" || a.op == "use unknown" || a.op == "revoke" || a.op == "revoke by secret" {
			continue
		}
		_, live := stored[a.id]
		sec, err := e.stack.Store.Secret(ctx, token.Hash(a.secret))
		want := live && err == nil && sec.Active(time.Now())
		if _, dead := killed[a.secret]; dead && want {
			t.Errorf("a secret ended by a 2xx answer is still stored as live (token %s)", a.id)
		}
		got := e.do("GET", "/v2/token/introspect", a.secret, "").status == 200
		if got != want {
			t.Errorf("secret of token %s works %v; the table says %v", a.id, got, want)
		}
		if got {
			working++
		}
	}
	// The load ran under faults: every kind was injected, so the checks
	// above held through them and not for want of any.
	for _, k := range faultKinds {
		if injected[k] == 0 {
			t.Errorf("no %q was injected in %d DynamoDB attempts; the load ran without faults", k, injected["attempts"])
		}
	}
	ops := make([]string, 0, len(statuses))
	for op, s := range statuses {
		ops = append(ops, fmt.Sprintf("%s %v", op, s))
	}
	sort.Strings(ops)
	t.Logf("faults: %s, %d clients, rate %.2f: %d requests (%s); DynamoDB attempts %d, injected %v; %d answers were 500; "+
		"%d uses allowed after their secret ended; %d tokens stored, %d created events, %d tokens minted that no answer named; %d live secrets checked",
		d, clients, f.rate, len(answers), strings.Join(ops, "; "), injected["attempts"], map[string]int{
			"throttled": injected[faultThrottled], "throttling": injected[faultThrottling],
			"timeout before": injected[faultTimeoutBefore], "timeout after": injected[faultTimeoutAfter]},
		faultAnswers, allowsAfterKill, len(stored), len(created), unanswered, working)
}
