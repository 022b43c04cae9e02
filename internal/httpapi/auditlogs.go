package httpapi

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/route"
)

// Limits of the audit log's query parameters.
const (
	maxAuditLimit     = 100
	defaultAuditLimit = 100
)

type pagination struct {
	Limit  int   `json:"limit"`
	Offset int   `json:"offset"`
	Total  int64 `json:"total"`
}

// parseAuditQuery reads the audit log's query parameters; every invalid one
// is a detail naming it.
func parseAuditQuery(values url.Values) (tokensmith.AuditQuery, error) {
	q := tokensmith.AuditQuery{Limit: defaultAuditLimit, Desc: true}
	var details []tokensmith.ErrorDetail
	bad := func(field, msg string) { details = append(details, tokensmith.ErrorDetail{Field: field, Message: msg}) }
	one := func(name string) (string, bool) {
		vs, ok := values[name]
		if !ok {
			return "", false
		}
		if len(vs) != 1 {
			bad(name, "must be given once")
			return "", false
		}
		return vs[0], true
	}
	integer := func(name string, min, max int64) (int, bool) {
		v, ok := one(name)
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < min || n > max {
			bad(name, fmt.Sprintf("must be a whole number from %d to %d", min, max))
			return 0, false
		}
		return int(n), true
	}
	instant := func(name string) *time.Time {
		v, ok := one(name)
		if !ok {
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			bad(name, "must be an RFC 3339 instant, such as 2026-11-22T12:00:00Z")
			return nil
		}
		return &t
	}
	if n, ok := integer("limit", 1, maxAuditLimit); ok {
		q.Limit = n
	}
	// Offset is any whole number an int holds (64 bits on every target of
	// the template): one at or past the total is an empty page, as API.md's
	// "0 or more" promises, and the store's page arithmetic cannot overflow
	// on it.
	if n, ok := integer("offset", 0, math.MaxInt); ok {
		q.Offset = n
	}
	if v, ok := one("sortOrder"); ok {
		switch v {
		case "asc":
			q.Desc = false
		case "desc":
		default:
			bad("sortOrder", "must be asc or desc")
		}
	}
	if v, ok := one("eventType"); ok {
		if slices.Contains(audit.Types, v) {
			q.EventType = v
		} else {
			bad("eventType", "must be one of "+strings.Join(audit.Types, ", "))
		}
	}
	q.From, q.To = instant("from"), instant("to")
	if q.From != nil && q.To != nil && !q.From.Before(*q.To) {
		bad("to", "must be after from")
	}
	if len(details) > 0 {
		return tokensmith.AuditQuery{}, tokensmith.Invalid(details...)
	}
	return q, nil
}

// AuditLogs serves the audit log route of the route table.
func AuditLogs(svc tokensmith.AuditService, g *Guard, log *slog.Logger) *Router {
	return mux(route.AuditLogs, map[string]http.HandlerFunc{
		"listAuditLogs": func(w http.ResponseWriter, r *http.Request) {
			p, err := caller(r)
			if err != nil {
				writeError(w, r, log, tokensmith.Unauthorized())
				return
			}
			q, err := parseAuditQuery(r.URL.Query())
			if err != nil {
				writeError(w, r, log, err)
				return
			}
			page, err := svc.List(r.Context(), p, r.PathValue("workspace_id"), q)
			if err != nil {
				writeError(w, r, log, err)
				return
			}
			items := make([]audit.View, 0, len(page.Events))
			for _, e := range page.Events {
				items = append(items, audit.NewView(e))
			}
			writeJSON(w, http.StatusOK, map[string]any{
				"items":      items,
				"pagination": pagination{Limit: q.Limit, Offset: q.Offset, Total: page.Total},
			})
		},
	}, g, log)
}
