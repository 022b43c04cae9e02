package issuer

import (
	"fmt"
	"html/template"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"

	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The sign-in page's paths below the issuer URL. The library redirects an
// authorization request to loginPath?id=<request id> (the client's LoginURL);
// the page posts the chosen email back to it.
const (
	loginPath = "/login"
	stylePath = "/login.css"
)

var page = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · tokensmith (local)</title>
<link rel="stylesheet" href="{{.Base}}/login.css">
</head>
<body>
<main>
<h1>Sign in to tokensmith</h1>
<p class="note">This is the local development issuer: there is no password. Choose a person, or type any
email, and you are signed in as them. It runs only on this computer, never in AWS.</p>
{{- if .Expired}}
<p role="alert">This sign-in has expired or was already used. Start again from the console.</p>
{{- else}}
{{- if .Error}}
<p id="email-error" role="alert">{{.Error}}</p>
{{- end}}
{{- if .People}}
<h2 id="people">People</h2>
<form method="post" action="{{.Action}}">
<input type="hidden" name="id" value="{{.ID}}">
<ul aria-labelledby="people">
{{- range $i, $p := .People}}
<li><button type="submit" name="email" value="{{$p.Email}}"{{if $p.Name}} aria-describedby="person-{{$i}}"{{end}}>{{$p.Email}}</button>{{if $p.Name}} <span id="person-{{$i}}">{{$p.Name}}</span>{{end}}</li>
{{- end}}
</ul>
</form>
{{- end}}
<h2>Another email</h2>
<form method="post" action="{{.Action}}">
<input type="hidden" name="id" value="{{.ID}}">
<label for="email">Email</label>
<input id="email" name="email" type="email" required autocomplete="email" value="{{.Typed}}"{{if .Error}} aria-invalid="true" aria-describedby="email-error"{{end}}>
<button type="submit">Sign in</button>
</form>
{{- end}}
</main>
</body>
</html>
`))

// style is the page's only styling, served from the issuer's own origin so
// that the Content-Security-Policy needs no inline style.
const style = `body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1d21}
main{max-width:32rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:.5rem}
.note{background:#fff6d6;padding:.75rem;border-radius:.25rem}
ul{list-style:none;padding:0}li{margin:.5rem 0}
button{font:inherit;padding:.4rem .8rem;cursor:pointer}
label{display:block;margin-bottom:.25rem}input[type=email]{font:inherit;padding:.4rem;width:60%}
[role=alert]{color:#a4000f}
`

type pageData struct {
	Base, Action, ID, Typed, Error string
	People                         []Person
	Expired                        bool
}

// login shows the sign-in page (GET) and signs in the chosen or typed email
// (POST), then hands the request back to the library's callback, which
// redirects to the client with the code.
func (i *Issuer) login(w http.ResponseWriter, r *http.Request) {
	i.pageHeaders(w)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		id := r.URL.Query().Get("id")
		if _, err := i.storage.AuthRequestByID(r.Context(), id); err != nil {
			i.render(w, http.StatusBadRequest, pageData{Expired: true})
			return
		}
		i.render(w, http.StatusOK, pageData{ID: id})
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		id, email := r.PostForm.Get("id"), strings.TrimSpace(r.PostForm.Get("email"))
		if !validEmail(email) {
			i.render(w, http.StatusBadRequest, pageData{ID: id, Typed: email, Error: "Type an email address such as someone@example.com."})
			return
		}
		if err := i.storage.complete(id, i.subjectOf(email), email); err != nil {
			i.render(w, http.StatusBadRequest, pageData{Expired: true})
			return
		}
		callback := op.AuthCallbackURL(i.provider)(op.ContextWithIssuer(r.Context(), i.cfg.URL), id)
		http.Redirect(w, r, callback, http.StatusSeeOther)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (i *Issuer) render(w http.ResponseWriter, status int, d pageData) {
	d.Base, d.Action, d.People = i.base, i.base+loginPath, i.cfg.People
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	// The status is written; a failure here is a closed connection.
	_ = page.Execute(w, d)
}

// contentSecurityPolicy forbids scripts, framing and every origin but the
// issuer's own for styles; forms may post to the issuer, and the redirects
// that follow a post may reach the client's redirect URIs.
func contentSecurityPolicy(origins []string) string {
	return "default-src 'none'; style-src 'self'; form-action 'self' " + strings.Join(origins, " ") +
		"; frame-ancestors 'none'; base-uri 'none'"
}

func (i *Issuer) pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", i.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func serveStyle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(style))
}

// validEmail accepts a bare address ("a@example.com"), not a display name.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s && len(s) <= 254
}

// redirectOrigins are the origins of the client's redirect URIs.
func redirectOrigins(cfg Config) ([]string, error) {
	var origins []string
	for _, raw := range cfg.RedirectURIs {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("%w: redirect URI %q is not absolute", ErrConfig, raw)
		}
		o := u.Scheme + "://" + u.Host
		if !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	return origins, nil
}

// corsOptions let the client's pages call the token and userinfo endpoints
// from their origins, and no other page.
func corsOptions(origins []string) *cors.Options {
	return &cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{"Authorization", "Content-Type"},
	}
}
