package webconsole

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

var bundle = fstest.MapFS{
	"manifest.json": {Data: []byte(`{"entry":"index.html","files":[
		{"path":"index.html","contentType":"text/html; charset=utf-8"},
		{"path":"assets/app-ABC.js","contentType":"text/javascript; charset=utf-8"}]}`)},
	"index.html":        {Data: []byte("<!doctype html>page")},
	"assets/app-ABC.js": {Data: []byte("js")},
}

var cognito = Config{
	Issuer:      "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC",
	ClientID:    "client",
	TokenOrigin: "https://tokensmith.auth.eu-west-1.amazoncognito.com",
	APIBaseURL:  "https://abc.execute-api.eu-west-1.amazonaws.com/prod",
	RedirectURI: "https://abc.execute-api.eu-west-1.amazonaws.com/prod/console/", PostLogoutRedirectURI: "https://abc.execute-api.eu-west-1.amazonaws.com/prod/console/",
}

func TestServe(t *testing.T) {
	h, err := New(bundle, cognito)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		status       int
		cache, ctype string
		body         string
	}{
		{"GET", "/console/", 200, NoStore, "text/html; charset=utf-8", "<!doctype html>page"},
		{"GET", "/console/assets/app-ABC.js", 200, Immutable, "text/javascript; charset=utf-8", "js"},
		{"GET", "/console/config.json", 200, NoStore, "application/json", `"clientId":"client"`},
		{"GET", "/console", 301, NoStore, "", ""},
		{"GET", "/console/manifest.json", 404, NoStore, "application/json", `"code":"resource_not_found"`},
		{"GET", "/console/assets/app-OTHER.js", 404, NoStore, "application/json", `"code":"resource_not_found"`},
		{"GET", "/console/index.html", 404, NoStore, "application/json", "resource_not_found"},
		{"POST", "/console/", 404, NoStore, "application/json", "resource_not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
			got := w.Result()
			if got.StatusCode != tc.status || got.Header.Get("Cache-Control") != tc.cache || got.Header.Get("Content-Type") != tc.ctype || !strings.Contains(w.Body.String(), tc.body) {
				t.Errorf("got %d %q %q %q; want %d %q %q containing %q", got.StatusCode, got.Header.Get("Cache-Control"), got.Header.Get("Content-Type"), w.Body.String(), tc.status, tc.cache, tc.ctype, tc.body)
			}
			if tc.status == 301 && got.Header.Get("Location") != "console/" {
				t.Errorf("Location = %q; want console/", got.Header.Get("Location"))
			}
			for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
				if got.Header.Get(k) != want {
					t.Errorf("%s = %q; want %q", k, got.Header.Get(k), want)
				}
			}
			csp := got.Header.Get("Content-Security-Policy")
			for _, want := range []string{"script-src 'self';", "frame-ancestors 'none'",
				"connect-src 'self' https://cognito-idp.eu-west-1.amazonaws.com https://tokensmith.auth.eu-west-1.amazoncognito.com https://abc.execute-api.eu-west-1.amazonaws.com;"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe") {
				t.Errorf("CSP %q allows unsafe sources", csp)
			}
		})
	}
}

func TestConnectSrc(t *testing.T) {
	local := Config{Issuer: "http://127.0.0.1:3000/dev-issuer", ClientID: "c", APIBaseURL: "http://127.0.0.1:3000",
		RedirectURI: "http://127.0.0.1:3000/console/", PostLogoutRedirectURI: "http://127.0.0.1:3000/console/"}
	h, err := New(bundle, local)
	if err != nil {
		t.Fatal(err)
	}
	got := h.(*handler).csp
	if want := "connect-src 'self' http://127.0.0.1:3000;"; !strings.Contains(got, want) {
		t.Errorf("CSP = %q; want %q (each origin once)", got, want)
	}
}

func TestNewRefuses(t *testing.T) {
	with := func(f func(*Config)) Config { c := cognito; f(&c); return c }
	tests := []struct {
		name  string
		files fstest.MapFS
		cfg   Config
		want  error
	}{
		{"no issuer", bundle, with(func(c *Config) { c.Issuer = "" }), ErrConfig},
		{"issuer not http", bundle, with(func(c *Config) { c.Issuer = "javascript:alert(1)" }), ErrConfig},
		{"no client id", bundle, with(func(c *Config) { c.ClientID = "" }), ErrConfig},
		{"relative redirect", bundle, with(func(c *Config) { c.RedirectURI = "/console/" }), ErrConfig},
		{"API base with a slash", bundle, with(func(c *Config) { c.APIBaseURL += "/" }), ErrConfig},
		{"token origin not a URL", bundle, with(func(c *Config) { c.TokenOrigin = "tokensmith.auth" }), ErrConfig},
		{"no manifest", fstest.MapFS{}, cognito, ErrBundle},
		{"listed file missing", fstest.MapFS{"manifest.json": bundle["manifest.json"], "index.html": bundle["index.html"]}, cognito, ErrBundle},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.files, tc.cfg); !errors.Is(err, tc.want) {
				t.Errorf("New = %v; want %v", err, tc.want)
			}
		})
	}
}

var _ http.Handler = (*handler)(nil)
