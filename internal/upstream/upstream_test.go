package upstream_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/token"
	"github.com/tokensmith/tokensmith/internal/upstream"
	"github.com/tokensmith/tokensmith/internal/upstream/upstreamyaml"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// file is one upstream "shop" with the given routes (YAML flow items),
// its URL from ${SHOP_URL}, and the given apis section.
func file(routes, apis string) string {
	return "upstreams:\n  - name: shop\n    url: ${SHOP_URL}/api\n    audience: shop\n    routes:\n" + routes + apis
}

func TestParseRefuses(t *testing.T) {
	vars := env(map[string]string{"SHOP_URL": "https://shop.example.com"})
	tests := []struct {
		name, data string
		getenv     func(string) (string, bool)
		want       string
	}{
		{"collides with a built-in route", file(`      - {method: GET, path: "/v2/sites/{id}", scope: "sites:read"}`+"\n", ""), vars,
			`shop.yaml: upstreams[0] (shop): routes[0].path: GET /v2/sites/{id} collides with the built-in route GET /v2/sites/{site_id}`},
		{"another method on a built-in path", file(`      - {method: DELETE, path: "/v2/sites/{site_id}", scope: "sites:write"}`+"\n", ""), vars,
			`routes[0].path: /v2/sites/{site_id} is the path of the built-in route`},
		{"collides with another upstream's route", file(`      - {method: GET, path: "/v2/orders/{id}", scope: "cms:read"}`+"\n", "") +
			"  - name: other\n    url: https://other.example.com\n    audience: other\n    routes:\n      - {method: GET, path: \"/v2/orders/{order}\", scope: \"cms:read\"}\n", vars,
			`upstreams[1] (other): routes[0].path: GET /v2/orders/{order} collides with GET /v2/orders/{id} of upstream "shop"`},
		{"unknown scope", file(`      - {method: GET, path: "/v2/orders", scope: "orders:read"}`+"\n", ""), vars,
			`upstreams[0] (shop): routes[0].scope: "orders:read" is no scope of the catalogue`},
		{"write of a read-only API", file(`      - {method: GET, path: "/v2/orders", scope: "site_activity:write"}`+"\n", ""), vars,
			`routes[0].scope: "site_activity:write" is no scope`},
		{"bad method", file(`      - {method: CONNECT, path: "/v2/orders", scope: "cms:read"}`+"\n", ""), vars,
			`routes[0].method: must be one of GET HEAD POST PUT PATCH DELETE; got "CONNECT"`},
		{"path outside /v2/", file(`      - {method: GET, path: "/orders", scope: "cms:read"}`+"\n", ""), vars,
			`routes[0].path: must start with /v2/; got "/orders"`},
		{"greedy not last", file(`      - {method: GET, path: "/v2/{rest+}/x", scope: "cms:read"}`+"\n", ""), vars,
			`routes[0].path: a greedy {rest+} must be the last segment`},
		{"bad segment", file(`      - {method: GET, path: "/v2/or ders", scope: "cms:read"}`+"\n", ""), vars,
			`routes[0].path: segment "or ders" must be literal`},
		{"empty segment", file(`      - {method: GET, path: "/v2//orders", scope: "cms:read"}`+"\n", ""), vars,
			`routes[0].path: segment "" must be literal`},
		{"a parameter twice", file(`      - {method: GET, path: "/v2/{a}/x/{a}", scope: "cms:read"}`+"\n", ""), vars,
			`routes[0].path: names {a} twice`},
		{"unset variable", file(`      - {method: GET, path: "/v2/orders", scope: "cms:read"}`+"\n", ""), env(nil),
			`upstreams[0] (shop): url: ${SHOP_URL} is not set`},
		{"not http", "upstreams:\n  - {name: shop, url: \"ftp://x\", audience: a, routes: [{method: GET, path: /v2/orders, scope: \"cms:read\"}]}\n", vars,
			`url: must be an http or https URL; got scheme "ftp"`},
		{"timeout over API Gateway's", "upstreams:\n  - {name: shop, url: \"http://x\", audience: a, timeoutSeconds: 26, routes: [{method: GET, path: /v2/orders, scope: \"cms:read\"}]}\n", vars,
			`timeoutSeconds: must be 1 to 25`},
		{"no audience", "upstreams:\n  - {name: shop, url: \"http://x\", routes: [{method: GET, path: /v2/orders, scope: \"cms:read\"}]}\n", vars,
			`upstreams[0] (shop): audience: is required`},
		{"bad name", "upstreams:\n  - {name: Shop, url: \"http://x\", audience: a, routes: [{method: GET, path: /v2/orders, scope: \"cms:read\"}]}\n", vars,
			`upstreams[0] (Shop): name: must match`},
		{"a name twice", "upstreams:\n  - {name: shop, url: \"http://x\", audience: a, routes: [{method: GET, path: /v2/a, scope: \"cms:read\"}]}\n  - {name: shop, url: \"http://x\", audience: a, routes: [{method: GET, path: /v2/b, scope: \"cms:read\"}]}\n", vars,
			`upstreams[1] (shop): name: "shop" is declared twice`},
		{"no routes", "upstreams:\n  - {name: shop, url: \"http://x\", audience: a}\n", vars,
			`routes: must declare at least one route`},
		{"an added API named as a built-in one", file(`      - {method: GET, path: "/v2/orders", scope: "cms:read"}`+"\n", "apis:\n  - {name: cms, label: CMS, maxLevel: read}\n"), vars,
			`apis[0] (cms): name: "cms" is already an API of the catalogue`},
		{"an added API's level", file(`      - {method: GET, path: "/v2/orders", scope: "cms:read"}`+"\n", "apis:\n  - {name: orders, label: Orders, maxLevel: write}\n"), vars,
			`apis[0] (orders): maxLevel: must be read or read_write; got "write"`},
		{"an unknown field", "upstreams:\n  - {name: shop, urls: \"http://x\"}\n", vars,
			`shop.yaml: yaml: unmarshal errors`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := upstreamyaml.Parse("shop.yaml", []byte(tc.data), tc.getenv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse = %v, %v; want an error holding %q", d, err, tc.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	data := file(`      - {method: GET, path: "/v2/orders/{order_id}", scope: "orders:read"}
      - {method: POST, path: "/v2/sites/{site_id}/orders", scope: "orders:write"}
      - {method: GET, path: "/v2/files/{path+}", scope: "cms:read"}
`, "apis:\n  - {name: orders, label: Orders, maxLevel: read_write}\n")
	d, err := upstreamyaml.Parse("shop.yaml", []byte(data), env(map[string]string{"SHOP_URL": "https://shop.example.com"}))
	if err != nil {
		t.Fatal(err)
	}
	u := d.Upstreams[0]
	if u.URL != "https://shop.example.com/api" || u.TimeoutSeconds != upstream.DefaultTimeout {
		t.Errorf("url, timeout = %q, %d; want https://shop.example.com/api, %d", u.URL, u.TimeoutSeconds, upstream.DefaultTimeout)
	}
	got := d.Routes()
	want := route.Route{Method: "GET", Path: "/v2/orders/{order_id}", Function: route.Upstream, Op: "shop:GET /v2/orders/{order_id}", Auth: route.APIToken, Scope: "orders:read"}
	if len(got) != 3 || got[0] != want {
		t.Errorf("Routes() = %v; want 3 routes, the first %v", got, want)
	}
	if got := d.APIsOfCatalogue(); !slices.Equal(got, []scope.API{{Name: "orders", Label: "Orders", Max: scope.ReadWrite}}) {
		t.Errorf("APIsOfCatalogue() = %v", got)
	}
}

// TestInstall holds the routes and APIs of a declaration to the route
// table and the catalogue: an upstream route is matched (after every
// built-in route), served through the proxy resource, and an added API's
// permissions validate.
func TestInstall(t *testing.T) {
	defer route.Join(nil)
	defer scope.Add(nil)
	data := file(`      - {method: GET, path: "/v2/sites/{site_id}/orders/{order_id}", scope: "orders:read"}
      - {method: GET, path: "/v2/files/{path+}", scope: "cms:read"}
`, "apis:\n  - {name: orders, label: Orders, maxLevel: read}\n")
	d, err := upstreamyaml.Parse("shop.yaml", []byte(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	d.Install()
	tests := []struct {
		method, path, op string
		params           map[string]string
	}{
		{"GET", "/v2/sites/s1/orders/o1", "shop:GET /v2/sites/{site_id}/orders/{order_id}", map[string]string{"site_id": "s1", "order_id": "o1"}},
		{"GET", "/v2/files/a/b.txt", "shop:GET /v2/files/{path+}", map[string]string{"path": "a/b.txt"}},
		{"GET", "/v2/sites/s1", "getSite", map[string]string{"site_id": "s1"}},
	}
	for _, tc := range tests {
		r, params, ok := route.Match(tc.method, tc.path)
		if !ok || r.Op != tc.op || len(params) != len(tc.params) {
			t.Errorf("Match(%s %s) = %v, %v, %v; want %s", tc.method, tc.path, r.Op, params, ok, tc.op)
		}
		for k, v := range tc.params {
			if params[k] != v {
				t.Errorf("Match(%s %s) param %s = %q; want %q", tc.method, tc.path, k, params[k], v)
			}
		}
		if wantProxy := r.Function == route.Upstream; (r.Resource() == route.Proxy) != wantProxy {
			t.Errorf("%s: Resource() = %v", r.Op, r.Resource())
		}
	}
	if errs := scope.Validate(token.KindSite, scope.Permissions{"orders": scope.Read}); len(errs) != 0 {
		t.Errorf("Validate(orders: read) = %v; want no error", errs)
	}
	if errs := scope.Validate(token.KindSite, scope.Permissions{"orders": scope.ReadWrite}); len(errs) != 1 {
		t.Errorf("Validate(orders: read_write) = %v; want one error (at most read)", errs)
	}
	route.Join(nil)
	scope.Add(nil)
	if _, _, ok := route.Match("GET", "/v2/files/a"); ok {
		t.Error("an upstream route outlives Join(nil)")
	}
	if errs := scope.Validate(token.KindSite, scope.Permissions{"orders": scope.Read}); len(errs) == 0 {
		t.Error("an added API outlives Add(nil)")
	}
}

// TestRepositoryFile validates the repository's own declaration, as built
// into the functions and read by make run.
func TestRepositoryFile(t *testing.T) {
	d, err := upstreamyaml.Repository(env(map[string]string{"CMS_UPSTREAM_URL": "http://127.0.0.1:1"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Routes()) == 0 {
		t.Error("the repository's file declares no route")
	}
	if _, err := upstreamyaml.Repository(env(nil)); err == nil || !strings.Contains(err.Error(), "upstreams.yaml: upstreams[0] (cms): url: ${CMS_UPSTREAM_URL} is not set") {
		t.Errorf("Repository without CMS_UPSTREAM_URL = %v", err)
	}
}

// TestBuilt: the functions' declaration is the repository's, and its URLs
// are expanded from the function's environment at cold start.
func TestBuilt(t *testing.T) {
	d, err := upstream.Built(env(map[string]string{"CMS_UPSTREAM_URL": "https://cms.example.com/"}))
	if err != nil {
		t.Fatal(err)
	}
	repo, _ := upstreamyaml.Repository(nil)
	if !slices.Equal(d.Routes(), repo.Routes()) || d.Upstreams[0].URL != "https://cms.example.com" {
		t.Errorf("Built = %+v; want the repository's routes, its URL expanded", d)
	}
	if _, err := upstream.Built(env(nil)); err == nil {
		t.Error("Built without CMS_UPSTREAM_URL succeeds")
	}
}

// TestUnserved: a url that is a lone ${NAME} set empty leaves its upstream
// unserved; one set empty inside a longer url is still refused.
func TestUnserved(t *testing.T) {
	set := func(k string) (string, bool) { return "", true }
	d := &upstream.Declaration{Upstreams: []upstream.Upstream{{Name: "idle", URL: "${IDLE_URL}", Audience: "idle",
		Routes: []upstream.Route{{Method: "GET", Path: "/v2/idle", Scope: "cms:read"}}}}}
	if err := d.Validate("u.yaml", set); err != nil || d.Upstreams[0].Served() {
		t.Errorf("Validate = %v, served %v; want nil, false", err, d.Upstreams[0].Served())
	}
	d.Upstreams[0].URL = "https://${HOST}/api"
	if err := d.Validate("u.yaml", set); err == nil {
		t.Errorf("Validate of an empty host = nil; want an error")
	}
}

// TestNoAWSVariable: a url may not read the runtime's AWS_ variables.
func TestNoAWSVariable(t *testing.T) {
	d := &upstream.Declaration{Upstreams: []upstream.Upstream{{Name: "leak", URL: "https://x.example/${AWS_SECRET_ACCESS_KEY}", Audience: "leak",
		Routes: []upstream.Route{{Method: "GET", Path: "/v2/leak", Scope: "cms:read"}}}}}
	err := d.Validate("u.yaml", func(string) (string, bool) { return "secret", true })
	if err == nil || !strings.Contains(err.Error(), "no AWS_ variable") {
		t.Errorf("Validate = %v; want the AWS_ variable refused", err)
	}
}
