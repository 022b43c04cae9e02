package httpapi

import (
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/scope"
)

// Token exchange (RFC 8693) names, as API.md section 15 takes them.
const (
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeIDToken   = "urn:ietf:params:oauth:token-type:id_token"
	tokenTypeJWT       = "urn:ietf:params:oauth:token-type:jwt"
	tokenTypeAccess    = "urn:ietf:params:oauth:token-type:access_token"
)

// oauthError is RFC 6749 section 5.2's error body, which the exchange
// route answers with instead of API.md's.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// writeOAuthError is writeError for the exchange route: the same codes
// and statuses, in RFC 6749 section 5.2's body. A request the edge finds
// malformed is an invalid_request; anything that is not a client's error
// is a server_error, with the detail in the log only.
func writeOAuthError(w http.ResponseWriter, r *http.Request, h *tokensHandler, err error) {
	e := tokensmith.ErrorOf(err)
	switch e.Code {
	case tokensmith.EBADREQUEST:
		e = &tokensmith.Error{Code: tokensmith.EINVALIDREQUEST, Message: e.Message}
	case tokensmith.EINTERNAL:
		h.log.ErrorContext(r.Context(), "exchange failed", "error", err)
		e = &tokensmith.Error{Code: "server_error", Message: tokensmith.MsgInternal}
	}
	if e.RetryAfter > 0 {
		w.Header().Set(HeaderRetryAfter, strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, Status(e.Code), oauthError{Error: e.Code, Description: e.Message})
}

// exchangeParams reads the form of an exchange: each parameter once (RFC
// 6749 section 3.2); unknown ones are ignored, as RFC 6749 says.
func exchangeParams(r *http.Request) (tokensmith.ExchangeInput, error) {
	bad := func(msg string) error { return tokensmith.Errorf(tokensmith.EINVALIDREQUEST, "%s", msg) }
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return tokensmith.ExchangeInput{}, bad("The request must be sent with Content-Type: application/x-www-form-urlencoded")
	}
	body, err := readBody(r, maxBody)
	if err != nil {
		return tokensmith.ExchangeInput{}, bad(tokensmith.ErrorOf(err).Message)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return tokensmith.ExchangeInput{}, bad("The request body is not a valid form")
	}
	for k, vs := range form {
		if len(vs) > 1 {
			return tokensmith.ExchangeInput{}, bad("The parameter " + strconv.Quote(k) + " is given more than once")
		}
	}
	switch {
	case form.Get("grant_type") == "":
		return tokensmith.ExchangeInput{}, bad("grant_type is required")
	case form.Get("grant_type") != grantTokenExchange:
		return tokensmith.ExchangeInput{}, tokensmith.Errorf(tokensmith.EUNSUPPORTEDGRANT, "grant_type must be %s", grantTokenExchange)
	case form.Get("subject_token") == "":
		return tokensmith.ExchangeInput{}, bad("subject_token is required")
	case form.Get("subject_token_type") != tokenTypeIDToken && form.Get("subject_token_type") != tokenTypeJWT:
		return tokensmith.ExchangeInput{}, bad("subject_token_type must be " + tokenTypeIDToken + " or " + tokenTypeJWT)
	case form.Get("resource") == "":
		return tokensmith.ExchangeInput{}, bad("resource is required: the id of the site")
	}
	in := tokensmith.ExchangeInput{SubjectToken: form.Get("subject_token"), Resource: form.Get("resource")}
	if _, ok := form["scope"]; ok {
		in.Scope = strings.Fields(form.Get("scope"))
		if len(in.Scope) == 0 {
			return tokensmith.ExchangeInput{}, tokensmith.Errorf(tokensmith.EINVALIDSCOPE, "scope names no scope")
		}
	}
	return in, nil
}

// exchange serves POST /v2/token/exchange.
func (h *tokensHandler) exchange(w http.ResponseWriter, r *http.Request) {
	in, err := exchangeParams(r)
	if err == nil {
		var x tokensmith.Exchanged
		if x, err = h.svc.Exchange(r.Context(), in); err == nil {
			h.log.InfoContext(r.Context(), "token exchanged", "tokenId", x.Token.ID, "displayHint", x.Token.DisplayHint, "workloadId", x.Token.WorkloadID)
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Pragma", "no-cache")
			writeJSON(w, http.StatusOK, map[string]any{
				"access_token": x.Secret, "issued_token_type": tokenTypeAccess, "token_type": "Bearer",
				"expires_in": int64(x.Token.ExpiresOn.Sub(x.Token.CreatedOn) / time.Second),
				"scope":      strings.Join(scope.Split(x.Token.Scope), " "),
			})
			return
		}
	}
	writeOAuthError(w, r, h, err)
}
