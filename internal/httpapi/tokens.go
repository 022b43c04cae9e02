package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/token"
)

// timeFormat is RFC 3339 UTC with milliseconds, as every time in the API.
const timeFormat = audit.TimeFormat

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// apiToken is a token as the API shows it: never its secret.
type apiToken struct {
	ID          string            `json:"id"`
	Kind        token.Kind        `json:"kind"`
	Name        string            `json:"name"`
	DisplayHint string            `json:"displayHint"`
	SiteID      string            `json:"siteId,omitempty"`
	WorkspaceID string            `json:"workspaceId"`
	Permissions scope.Permissions `json:"permissions"`
	Scope       string            `json:"scope"`
	CreatedOn   string            `json:"createdOn"`
	CreatedBy   ref               `json:"createdBy"`
	LastUsed    *string           `json:"lastUsed"`
	UseCount    int64             `json:"useCount"`
	ExpiresOn   string            `json:"expiresOn"`
	// ExpiresAt is the fixed end chosen for the current secret; null for none.
	ExpiresAt *string `json:"expiresAt"`
	// AllowedIPs is the IP allowlist; empty allows any address.
	AllowedIPs []string `json:"allowedIps"`
	// ScopeLastUsed maps each of the token's scopes to its last use, null
	// for never.
	ScopeLastUsed map[string]*string `json:"scopeLastUsed"`
	// ExceedsPolicy is shown by lists only: whether the token outlives
	// its workspace's maximum token lifetime.
	ExceedsPolicy *bool `json:"exceedsPolicy,omitempty"`
}

// newAPIToken renders a stored token.
func newAPIToken(t tokensmith.Token) apiToken {
	out := apiToken{
		ID: t.ID, Kind: t.Kind, Name: t.Name, DisplayHint: t.DisplayHint, SiteID: t.SiteID, WorkspaceID: t.WorkspaceID,
		Permissions: t.Permissions, Scope: t.Scope, CreatedOn: formatTime(t.CreatedOn),
		CreatedBy: ref{ID: t.CreatedBy.ID, Email: t.CreatedBy.Email},
		UseCount:  t.UseCount, ExpiresOn: formatTime(t.ExpiresOn),
	}
	if t.LastUsed != nil {
		s := formatTime(*t.LastUsed)
		out.LastUsed = &s
	}
	if t.ExpiresAt != nil {
		s := formatTime(*t.ExpiresAt)
		out.ExpiresAt = &s
	}
	out.AllowedIPs = allowedIPs(t.AllowedIPs)
	out.ScopeLastUsed = map[string]*string{}
	for _, sc := range scope.Split(t.Scope) {
		out.ScopeLastUsed[sc] = nil
		if at, ok := t.ScopeLastUsed[sc]; ok {
			s := formatTime(at)
			out.ScopeLastUsed[sc] = &s
		}
	}
	return out
}

// allowedIPs is an allowlist as the API shows it: an array, empty for none.
func allowedIPs(ranges []string) []string {
	if ranges == nil {
		return []string{}
	}
	return ranges
}

// createRequest is the body of a create.
type createRequest struct {
	Name        string            `json:"name"`
	Permissions scope.Permissions `json:"permissions"`
	AllowedIPs  []string          `json:"allowedIps,omitempty"`
	// ExpiresInDays is the token's lifetime; absent or null for none.
	ExpiresInDays *int64 `json:"expiresInDays,omitempty"`
}

// minted is the one response that carries a secret.
type minted struct {
	Token    string   `json:"token"`
	APIToken apiToken `json:"apiToken"`
}

// Tokens serves the token management routes of the route table.
func Tokens(svc tokensmith.TokenService, g *Guard, log *slog.Logger) *Router {
	h := &tokensHandler{svc: svc, log: log}
	site := func(r *http.Request) tokensmith.Owner {
		return tokensmith.Owner{Kind: token.KindSite, ID: r.PathValue("site_id")}
	}
	ws := func(r *http.Request) tokensmith.Owner {
		return tokensmith.Owner{Kind: token.KindWorkspace, ID: r.PathValue("workspace_id")}
	}
	return mux(route.Tokens, map[string]http.HandlerFunc{
		"createSiteToken":       h.create(site),
		"listSiteTokens":        h.list(site),
		"getSiteToken":          h.get(site),
		"revokeSiteToken":       h.revoke(site),
		"regenerateSiteToken":   h.regenerate(site),
		"createWorkspaceToken":  h.create(ws),
		"listWorkspaceTokens":   h.list(ws),
		"getWorkspaceToken":     h.get(ws),
		"revokeWorkspaceToken":  h.revoke(ws),
		"introspectToken":       h.introspect,
		"revokeTokenBySecret":   h.revokeBySecret,
		"createTrustedWorkload": asPerson(log, h.createWorkload),
		"listTrustedWorkloads":  asPerson(log, h.listWorkloads),
		"getTrustedWorkload":    asPerson(log, h.getWorkload),
		"deleteTrustedWorkload": asPerson(log, h.deleteWorkload),
		"exchangeToken":         h.exchange,
	}, g, log)
}

type tokensHandler struct {
	svc tokensmith.TokenService
	log *slog.Logger
}

// idempotencyKey validates the Idempotency-Key header: 16 to 255 printable
// ASCII characters, or absent.
func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get("Idempotency-Key")
	if k == "" {
		return "", nil
	}
	ok := len(k) >= 16 && len(k) <= 255
	for i := 0; ok && i < len(k); i++ {
		ok = k[i] >= 0x20 && k[i] < 0x7f
	}
	if !ok {
		return "", tokensmith.Invalid(tokensmith.ErrorDetail{Field: "Idempotency-Key", Message: "must be 16 to 255 printable ASCII characters"})
	}
	return k, nil
}

func (h *tokensHandler) create(owner func(*http.Request) tokensmith.Owner) http.HandlerFunc {
	return asPerson(h.log, func(w http.ResponseWriter, r *http.Request, p tokensmith.Caller) error {
		key, err := idempotencyKey(r)
		if err != nil {
			return err
		}
		var in createRequest
		if err := decode(r, &in, false); err != nil {
			return err
		}
		m, replayed, err := h.svc.Create(r.Context(), p, owner(r), tokensmith.TokenInput(in), key)
		if err != nil {
			return err
		}
		if replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		h.log.InfoContext(r.Context(), "token created", "tokenId", m.Token.ID, "displayHint", m.Token.DisplayHint, "replayed", replayed)
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusCreated, minted{Token: m.Secret, APIToken: newAPIToken(m.Token)})
		return nil
	})
}

func (h *tokensHandler) list(owner func(*http.Request) tokensmith.Owner) http.HandlerFunc {
	return asPerson(h.log, func(w http.ResponseWriter, r *http.Request, p tokensmith.Caller) error {
		ts, err := h.svc.List(r.Context(), p, owner(r))
		if err != nil {
			return err
		}
		out := make([]apiToken, 0, len(ts))
		for _, t := range ts {
			api := newAPIToken(t)
			api.ExceedsPolicy = &t.OverPolicy
			out = append(out, api)
		}
		writeJSON(w, http.StatusOK, map[string]any{"apiTokens": out})
		return nil
	})
}

func (h *tokensHandler) get(owner func(*http.Request) tokensmith.Owner) http.HandlerFunc {
	return asPerson(h.log, func(w http.ResponseWriter, r *http.Request, p tokensmith.Caller) error {
		t, err := h.svc.Get(r.Context(), p, owner(r), r.PathValue("token_id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, newAPIToken(t))
		return nil
	})
}

func (h *tokensHandler) revoke(owner func(*http.Request) tokensmith.Owner) http.HandlerFunc {
	return asPerson(h.log, func(w http.ResponseWriter, r *http.Request, p tokensmith.Caller) error {
		id := r.PathValue("token_id")
		if err := h.svc.Revoke(r.Context(), p, owner(r), id); err != nil {
			return err
		}
		h.log.InfoContext(r.Context(), "token revoked", "tokenId", id)
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

func (h *tokensHandler) regenerate(owner func(*http.Request) tokensmith.Owner) http.HandlerFunc {
	return asPerson(h.log, func(w http.ResponseWriter, r *http.Request, p tokensmith.Caller) error {
		var in struct {
			GracePeriodSeconds int64  `json:"gracePeriodSeconds"`
			ExpiresInDays      *int64 `json:"expiresInDays"`
		}
		if err := decode(r, &in, true); err != nil {
			return err
		}
		m, err := h.svc.Regenerate(r.Context(), p, owner(r), r.PathValue("token_id"), tokensmith.RegenerateInput(in))
		if err != nil {
			return err
		}
		h.log.InfoContext(r.Context(), "token regenerated", "tokenId", m.Token.ID, "displayHint", m.Token.DisplayHint)
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, minted{Token: m.Secret, APIToken: newAPIToken(m.Token)})
		return nil
	})
}

type authorizedTo struct {
	SiteIDs      []string `json:"siteIds"`
	WorkspaceIDs []string `json:"workspaceIds"`
	UserIDs      []string `json:"userIds"`
}

type authorization struct {
	ID           string       `json:"id"`
	Kind         token.Kind   `json:"kind"`
	CreatedOn    string       `json:"createdOn"`
	LastUsed     *string      `json:"lastUsed"`
	ExpiresOn    string       `json:"expiresOn"`
	GrantType    string       `json:"grantType"`
	Scope        string       `json:"scope"`
	AuthorizedTo authorizedTo `json:"authorizedTo"`
	RateLimit    int64        `json:"rateLimit"`
	AllowedIPs   []string     `json:"allowedIps"`
}

// introspect answers from the authorizer's decision, which carries what
// introspection shows, so it reads nothing. A decision on a secret stored
// before secrets carried createdOn has none, and the record is read instead.
func (h *tokensHandler) introspect(w http.ResponseWriter, r *http.Request) {
	p, err := apiTokenCaller(r)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	t := p.Token()
	if p.CreatedOn.IsZero() {
		if t, err = h.svc.Introspect(r.Context(), t.Owner(), p.TokenID); err != nil {
			writeError(w, r, h.log, err)
			return
		}
	}
	api := newAPIToken(t)
	to := authorizedTo{SiteIDs: []string{}, WorkspaceIDs: []string{t.WorkspaceID}, UserIDs: []string{}}
	if t.SiteID != "" {
		to.SiteIDs = []string{t.SiteID}
	}
	writeJSON(w, http.StatusOK, map[string]authorization{"authorization": {
		ID: t.ID, Kind: t.Kind, CreatedOn: api.CreatedOn, LastUsed: api.LastUsed, ExpiresOn: api.ExpiresOn,
		GrantType: "client_credentials", Scope: t.Scope, AuthorizedTo: to, RateLimit: p.RateLimit,
		AllowedIPs: allowedIPs(p.AllowedIPs),
	}})
}

func (h *tokensHandler) revokeBySecret(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token string `json:"token"`
	}
	if err := decode(r, &in, false); err != nil {
		writeError(w, r, h.log, err)
		return
	}
	revoked, err := h.svc.RevokeBySecret(r.Context(), in.Token)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	if revoked {
		h.log.InfoContext(r.Context(), "token revoked by its secret", "displayHint", token.DisplayHint(in.Token))
	}
	writeJSON(w, http.StatusOK, map[string]bool{"didRevoke": revoked})
}
