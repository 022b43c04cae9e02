package localdev_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// stressSettings reads STRESS_DURATION and STRESS_CLIENTS: `make test` runs
// the short form, `make stress` the long one.
func stressSettings() (time.Duration, int) {
	d, clients := 3*time.Second, 8
	if v, err := time.ParseDuration(os.Getenv("STRESS_DURATION")); err == nil {
		d = v
	}
	if v, err := strconv.Atoi(os.Getenv("STRESS_CLIENTS")); err == nil {
		clients = v
	}
	return d, clients
}

// TestMixedLoadKeepsInvariants mixes mint, use, regenerate, revoke and bad
// input on one site from many clients, through the gateway, then checks what
// must hold whatever the interleaving:
//   - no answer is a 5xx;
//   - at most 5 tokens are active;
//   - a listed token has exactly one working secret of those ever returned
//     for it, and a revoked one has none;
//   - the audit log has exactly one api_token event per successful change;
//   - no secret is in any table item or log line.
func TestMixedLoadKeepsInvariants(t *testing.T) {
	d, clients := stressSettings()
	e := newEnv(t)
	base := "/v2/sites/" + e.demo.SiteID + "/tokens"
	auditBefore := strings.Count(fmt.Sprint(e.items("AUDIT#")), `"api_token"`)

	var mu sync.Mutex
	secrets := map[string][]string{} // token id -> every secret returned for it
	var ids []string
	statuses := map[string]map[int]int{}
	changes := 0
	note := func(op string, status int) {
		mu.Lock()
		defer mu.Unlock()
		if statuses[op] == nil {
			statuses[op] = map[int]int{}
		}
		statuses[op][status]++
		if status == 201 || (op == "regenerate" && status == 200) || status == 204 {
			changes++
		}
	}
	pick := func(r *rand.Rand) (string, string) {
		mu.Lock()
		defer mu.Unlock()
		if len(ids) == 0 {
			return "", ""
		}
		id := ids[r.IntN(len(ids))]
		s := secrets[id]
		return id, s[len(s)-1]
	}
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 7))
			for time.Now().Before(end) {
				id, secret := pick(r)
				switch op := r.IntN(10); {
				case op < 2 || id == "":
					resp := e.do("POST", base, e.demo.AdminToken, `{"name":"load","permissions":{"sites":"read"}}`)
					note("mint", resp.status)
					if resp.status == 201 {
						mu.Lock()
						nid := resp.str("apiToken", "id")
						ids = append(ids, nid)
						secrets[nid] = append(secrets[nid], resp.str("token"))
						mu.Unlock()
					}
				case op < 6:
					note("use", e.do("GET", "/v2/sites", secret, "").status)
				case op < 7:
					resp := e.do("POST", base+"/"+id+"/regenerate", e.demo.AdminToken, "")
					note("regenerate", resp.status)
					if resp.status == 200 {
						mu.Lock()
						secrets[id] = append(secrets[id], resp.str("token"))
						mu.Unlock()
					}
				case op < 8:
					note("revoke", e.do("DELETE", base+"/"+id, e.demo.AdminToken, "").status)
				default:
					bad := []string{`{"name":`, `{"name":"x","name":"y","permissions":{"sites":"read"}}`, `{"name":"","permissions":{}}`}
					note("bad input", e.do("POST", base, e.demo.AdminToken, bad[r.IntN(len(bad))]).status)
				}
			}
		}()
	}
	wg.Wait()

	requests := 0
	for op, byStatus := range statuses {
		for status, n := range byStatus {
			requests += n
			if status >= 500 {
				t.Errorf("%s answered %d %d times", op, status, n)
			}
			if op == "bad input" && status != 400 {
				t.Errorf("bad input answered %d", status)
			}
		}
	}
	listed := map[string]bool{}
	list := e.do("GET", base, e.demo.AdminToken, "")
	toks, _ := list.body["apiTokens"].([]any)
	for _, tk := range toks {
		listed[tk.(map[string]any)["id"].(string)] = true
	}
	if len(toks) > 5 {
		t.Errorf("%d active tokens; the limit is 5", len(toks))
	}
	violations := 0
	for id, ss := range secrets {
		working := 0
		for _, s := range ss {
			if e.do("GET", "/v2/token/introspect", s, "").status == 200 {
				working++
			}
		}
		if (listed[id] && working != 1) || (!listed[id] && working != 0) {
			violations++
			t.Errorf("token %s (listed %v) has %d working secrets of %d", id, listed[id], working, len(ss))
		}
	}
	items := fmt.Sprint(e.items(""))
	if got := strings.Count(fmt.Sprint(e.items("AUDIT#")), `"api_token"`) - auditBefore; got != changes {
		t.Errorf("%d api_token audit events for %d successful changes", got, changes)
	}
	logs := e.logs.String()
	for _, ss := range secrets {
		for _, s := range ss {
			if strings.Contains(items, s[4:44]) || strings.Contains(logs, s[4:44]) {
				t.Errorf("a secret is stored or logged in plaintext")
			}
		}
	}
	t.Logf("stress: %s, %d clients: %d requests %v; %d tokens minted, %d successful changes, %d invariant violations",
		d, clients, requests, statuses, len(secrets), changes, violations)
}

// TestKilledSecretNeverAcceptedAfterTheResponse races uses of a secret
// against the revoke or regenerate that kills it: no use that starts after
// the killing response has arrived may succeed (the authorizer cache is off).
func TestKilledSecretNeverAcceptedAfterTheResponse(t *testing.T) {
	e := newEnv(t)
	base := "/v2/sites/" + e.demo.SiteID + "/tokens/"
	type use struct {
		start  time.Time
		status int
	}
	for _, kill := range []string{"revoke", "regenerate"} {
		for round := 0; round < 5; round++ {
			secret, id := e.mint("site", `{"sites":"read"}`)
			var mu sync.Mutex
			var uses []use
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						start := time.Now()
						status := e.do("GET", "/v2/sites", secret, "").status
						mu.Lock()
						uses = append(uses, use{start, status})
						mu.Unlock()
					}
				}()
			}
			time.Sleep(20 * time.Millisecond) // uses under way before the kill
			var killed time.Time
			if kill == "revoke" {
				if r := e.do("DELETE", base+id, e.demo.AdminToken, ""); r.status != 204 {
					t.Fatalf("revoke = %d", r.status)
				}
			} else if r := e.do("POST", base+id+"/regenerate", e.demo.AdminToken, ""); r.status != 200 {
				t.Fatalf("regenerate = %d", r.status)
			}
			killed = time.Now()
			// Let the clients make some uses that start after the response.
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				mu.Lock()
				n := 0
				for _, u := range uses {
					if u.start.After(killed) {
						n++
					}
				}
				mu.Unlock()
				if n >= 8 {
					break
				}
			}
			close(stop)
			wg.Wait()
			after := 0
			for _, u := range uses {
				if u.start.After(killed) {
					after++
					if u.status != 401 {
						t.Errorf("%s round %d: a use starting %v after the response got %d", kill, round, u.start.Sub(killed), u.status)
					}
				}
			}
			if after == 0 {
				t.Errorf("%s round %d: no use started after the response; the race was not run", kill, round)
			}
			if kill == "regenerate" {
				e.do("DELETE", base+id, e.demo.AdminToken, "") // stay under the limit
			}
		}
	}
}
