package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/keyage"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/secretscanning"
	"github.com/tokensmith/tokensmith/internal/token"
)

// Bounds of a leak report: GitHub sends matches in batches, each a token,
// its type, a URL and a source; these are far above what it sends.
const (
	maxReportBody    = 1 << 20
	maxReportMatches = 1000
	maxReportURL     = 2048
)

// Labels of GitHub's feedback on a match.
const (
	labelTruePositive  = "true_positive"
	labelFalsePositive = "false_positive"
)

// LeakRevoker revokes the secrets partners report leaked
// (apitokens.Service.RevokeLeaked).
type LeakRevoker interface {
	RevokeLeaked(ctx context.Context, partner, secret, url string) (bool, error)
}

// SignatureVerifier checks a report's signature (secretscanning.Verifier).
type SignatureVerifier interface {
	Verify(ctx context.Context, keyID, signature string, body []byte) error
}

// feedback is GitHub's expected answer for one match: the token by its
// SHA-256 (hex), never in plaintext.
type feedback struct {
	TokenHash string `json:"token_hash"`
	TokenType string `json:"token_type"`
	Label     string `json:"label"`
}

// SecretScanning serves GitHub's secret scanning partner endpoint: a
// signed report of matches of the token format, each revoked when it is a
// live token.
func SecretScanning(svc LeakRevoker, v SignatureVerifier, log *slog.Logger) *Router {
	h := &scanHandler{svc: svc, verify: v, log: log}
	return mux(route.SecretScanning, map[string]http.HandlerFunc{"reportGitHubSecrets": h.report}, nil, log)
}

type scanHandler struct {
	svc    LeakRevoker
	verify SignatureVerifier
	log    *slog.Logger
}

// report checks the signature over the raw body before reading anything of
// it, then the whole report, and only then revokes: a report refused
// changes nothing. Each match is answered in the order given.
func (h *scanHandler) report(w http.ResponseWriter, r *http.Request) {
	keyID, sig := r.Header.Get(secretscanning.HeaderKeyID), r.Header.Get(secretscanning.HeaderSignature)
	if keyID == "" || sig == "" {
		writeError(w, r, h.log, tokensmith.Unauthorized())
		return
	}
	body, err := readBody(r, maxReportBody)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	rec := metrics.FromContext(r.Context())
	switch err := h.verify.Verify(r.Context(), keyID, sig, body); {
	case errors.Is(err, secretscanning.ErrBadSignature):
		rec.Add(metrics.Decisions, 1, metrics.OutcomeUnauthorized)
		h.log.WarnContext(r.Context(), "secret scanning report refused", "keyId", truncate(keyID, maxLoggedKeyID), "error", err)
		writeError(w, r, h.log, tokensmith.Unauthorized())
		return
	case err != nil:
		// The keys could not be fetched: fail closed, as a 503 that GitHub
		// delivers again once the keys may be fetched again; counted, so
		// that it pages.
		rec.Add(metrics.Decisions, 1, metrics.OutcomeFailed)
		h.log.ErrorContext(r.Context(), "secret scanning report not checked", "error", err)
		w.Header().Set(HeaderRetryAfter, strconv.Itoa(int(keyage.MinRefresh/time.Second)))
		writeError(w, r, h.log, tokensmith.Errorf(tokensmith.EUNAVAILABLE, msgKeysUnavailable))
		return
	}
	matches, err := parseReport(body)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	out := make([]feedback, 0, len(matches))
	for _, m := range matches {
		live, err := h.svc.RevokeLeaked(r.Context(), tokensmith.PartnerGitHub, m.Token, m.URL)
		if err != nil {
			rec.Add(metrics.Decisions, 1, metrics.OutcomeFailed)
			// What was revoked stays revoked, and the report delivered
			// again answers it alike.
			writeError(w, r, h.log, err)
			return
		}
		f := feedback{TokenHash: token.Hash(m.Token), TokenType: m.Type, Label: labelFalsePositive}
		if live {
			f.Label = labelTruePositive
			h.log.InfoContext(r.Context(), "leaked token revoked", "partner", tokensmith.PartnerGitHub,
				"tokenHash", f.TokenHash, "displayHint", token.DisplayHint(m.Token), "url", m.URL)
		}
		out = append(out, f)
	}
	rec.Add(metrics.Decisions, 1, metrics.OutcomeAllowed)
	writeJSON(w, http.StatusOK, out)
}

// msgKeysUnavailable is the message of a report that cannot be checked.
const msgKeysUnavailable = "The report cannot be checked now; deliver it again later"

// maxLoggedKeyID bounds the key identifier a refused report's log line
// names: it is the sender's to choose.
const maxLoggedKeyID = 128

// truncate returns s cut to at most n bytes.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// parseReport reads GitHub's report: a JSON array of matches, each with a
// token string and a URL of bounded length. Fields GitHub may add are
// ignored.
func parseReport(body []byte) ([]secretscanning.Match, error) {
	if err := plainJSON(body); err != nil {
		return nil, err
	}
	var raw []map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil || dec.More() || raw == nil {
		return nil, tokensmith.Errorf(tokensmith.EBADREQUEST, "The request body must be one JSON array of matches")
	}
	if len(raw) > maxReportMatches {
		return nil, tokensmith.Invalid(tokensmith.ErrorDetail{Field: "matches", Message: fmt.Sprintf("must be at most %d", maxReportMatches)})
	}
	var details []tokensmith.ErrorDetail
	out := make([]secretscanning.Match, len(raw))
	for i, m := range raw {
		b, _ := json.Marshal(m)
		var typeErr *json.UnmarshalTypeError
		if err := json.Unmarshal(b, &out[i]); errors.As(err, &typeErr) {
			details = append(details, tokensmith.ErrorDetail{Field: fmt.Sprintf("[%d].%s", i, typeErr.Field), Message: "must be a string"})
			continue
		}
		if _, ok := m["token"]; !ok {
			details = append(details, tokensmith.ErrorDetail{Field: fmt.Sprintf("[%d].token", i), Message: "is required"})
		}
		if len(out[i].URL) > maxReportURL {
			details = append(details, tokensmith.ErrorDetail{Field: fmt.Sprintf("[%d].url", i), Message: fmt.Sprintf("must be at most %d bytes", maxReportURL)})
		}
	}
	if len(details) > 0 {
		return nil, tokensmith.Invalid(details...)
	}
	return out, nil
}
