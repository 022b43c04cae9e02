package tokensmith_test

import (
	"encoding/json"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tokensmith/tokensmith/internal/localdev/defaults"
	"github.com/tokensmith/tokensmith/internal/serversecret"
)

// samconfig returns the parameters of one section of samconfig.toml
// ([default.<command>.parameters]), as their raw TOML values.
func samconfig(t *testing.T, command string) map[string]string {
	t.Helper()
	b, err := os.ReadFile("samconfig.toml")
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{}
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			in = line == "[default."+command+".parameters]"
			continue
		}
		if k, v, ok := strings.Cut(line, "="); in && ok && !strings.HasPrefix(line, "#") {
			params[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return params
}

// TestSamLocalReachesTheHost holds `sam local invoke` and `sam local
// start-api` to what runs on the host: the functions reach DynamoDB Local as
// host.docker.internal, which Docker Engine on Linux resolves only when
// mapped to the host's gateway; the authorizer trusts the issuer of `make
// run` (whose tokens name it); and start-api does not take make run's port.
func TestSamLocalReachesTheHost(t *testing.T) {
	var env map[string]map[string]string
	b, err := os.ReadFile("events/env.json")
	if err != nil || json.Unmarshal(b, &env) != nil {
		t.Fatalf("events/env.json: %v", err)
	}
	hosts := map[string]bool{}
	for fn, vars := range env {
		if ep, ok := vars["DYNAMODB_ENDPOINT"]; ok {
			u, err := url.Parse(ep)
			if err != nil || u.Hostname() != "host.docker.internal" {
				t.Errorf("%s: DYNAMODB_ENDPOINT = %q; want DynamoDB Local on host.docker.internal", fn, ep)
			}
			hosts[u.Hostname()] = true
		}
	}
	if got, want := env["AuthorizerFunction"]["OIDC_ISSUER"], "http://"+defaults.Addr+defaults.IssuerPath; got != want {
		t.Errorf("AuthorizerFunction OIDC_ISSUER = %q; want make run's issuer %q", got, want)
	}
	// The tokens function keys idempotency records with make run's secret,
	// so that both replay the same creates on the shared table.
	if got := env["TokensFunction"][serversecret.EnvValue]; got != defaults.IdempotencySecret {
		t.Errorf("TokensFunction %s = %q; want make run's %q", serversecret.EnvValue, got, defaults.IdempotencySecret)
	}
	for _, cmd := range []string{"local_invoke", "local_start_api"} {
		p := samconfig(t, cmd)
		if p["env_vars"] != `"events/env.json"` {
			t.Errorf("%s env_vars = %s; want events/env.json", cmd, p["env_vars"])
		}
		for host := range hosts {
			if !strings.Contains(p["add_host"], `"`+host+`:host-gateway"`) {
				t.Errorf("%s add_host = %s; want %s mapped to host-gateway", cmd, p["add_host"], host)
			}
		}
	}
	_, makeRunPort, _ := net.SplitHostPort(defaults.Addr)
	port := samconfig(t, "local_start_api")["port"]
	if !regexp.MustCompile(`^[0-9]+$`).MatchString(port) || port == makeRunPort || port == "3000" {
		t.Errorf("local_start_api port = %q; want a port other than make run's %s (and SAM's default 3000)", port, makeRunPort)
	}
}
