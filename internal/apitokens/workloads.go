package apitokens

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
	"github.com/tokensmith/tokensmith/internal/workloadtoken"
)

// Limits of a trusted workload's fields (API.md section 15 gives the
// audience's; the others bound what a person may store).
const (
	MaxAudienceLen   = 255
	MaxSubjectLen    = 1000
	MaxClaims        = 20
	MaxClaimNameLen  = 100
	MaxClaimValueLen = 1000
)

// registeredClaims are the claims the exchange checks itself: a workload's
// claims may not name them.
var registeredClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

// ValidateWorkload checks a trusted workload's input; localIssuers are
// the issuers `make run` serves, which may be http.
func ValidateWorkload(in tokensmith.WorkloadInput, localIssuers []string) []tokensmith.ErrorDetail {
	details := Validate(token.KindSite, tokensmith.TokenInput{Name: in.Name, Permissions: in.Permissions})
	bad := func(field, msg string) { details = append(details, tokensmith.ErrorDetail{Field: field, Message: msg}) }
	if in.Issuer == "" {
		bad("issuer", "is required")
	} else if msg := workloadtoken.CheckIssuer(in.Issuer, localIssuers); msg != "" {
		bad("issuer", msg)
	}
	if msg := checkText(in.Audience, MaxAudienceLen); msg != "" {
		bad("audience", msg)
	}
	if msg := checkText(in.Subject, MaxSubjectLen); msg != "" {
		bad("subject", msg)
	}
	if len(in.Claims) > MaxClaims {
		bad("claims", fmt.Sprintf("must hold at most %d claims", MaxClaims))
	} else {
		for _, k := range sortedKeys(in.Claims) {
			switch {
			case checkText(k, MaxClaimNameLen) != "":
				bad("claims", fmt.Sprintf("claim names must be 1 to %d characters without control characters", MaxClaimNameLen))
			case containsFold(registeredClaims, k):
				bad("claims."+k, "is checked by the exchange itself: use issuer, audience and subject")
			case checkText(in.Claims[k], MaxClaimValueLen) != "":
				bad("claims."+k, fmt.Sprintf("must be 1 to %d characters without control characters", MaxClaimValueLen))
			}
		}
	}
	if n := in.TokenLifetimeSeconds; n != nil && (*n < int64(tokensmith.MinWorkloadTokenLifetime/time.Second) || *n > int64(tokensmith.MaxWorkloadTokenLifetime/time.Second)) {
		bad("tokenLifetimeSeconds", fmt.Sprintf("must be from %d to %d", int64(tokensmith.MinWorkloadTokenLifetime/time.Second), int64(tokensmith.MaxWorkloadTokenLifetime/time.Second)))
	}
	return details
}

// checkText says what is wrong with a required text field of at most max
// characters, or "".
func checkText(s string, max int) string {
	switch n := utf8.RuneCountInString(s); {
	case !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError):
		return "must be valid UTF-8"
	case n == 0:
		return "is required"
	case n > max:
		return fmt.Sprintf("must be at most %d characters", max)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "must not contain control characters"
	}
	return ""
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func siteOwner(siteID string) tokensmith.Owner {
	return tokensmith.Owner{Kind: token.KindSite, ID: siteID}
}

// CreateWorkload makes site siteID trust a workload, as whoever may manage
// its tokens may: at most tokensmith.MaxWorkloads a site.
func (s *Service) CreateWorkload(ctx context.Context, p tokensmith.Caller, siteID string, in tokensmith.WorkloadInput) (tokensmith.Workload, error) {
	a, err := s.authorize(ctx, p, siteOwner(siteID))
	if err != nil {
		return tokensmith.Workload{}, err
	}
	if details := ValidateWorkload(in, s.LocalIssuers); len(details) > 0 {
		return tokensmith.Workload{}, tokensmith.Invalid(details...)
	}
	now := s.Now().UTC()
	id, err := token.NewID(now, s.Rand)
	if err != nil {
		return tokensmith.Workload{}, err
	}
	perms := scope.Granted(in.Permissions)
	w := tokensmith.Workload{
		ID: id, SiteID: a.site.ID, WorkspaceID: a.workspace.ID, Name: strings.TrimSpace(in.Name),
		Issuer: in.Issuer, Audience: in.Audience, Subject: in.Subject, Claims: in.Claims,
		Permissions: perms, Scope: scope.Join(scope.Expand(perms)),
		TokenLifetime: tokensmith.DefaultWorkloadTokenLifetime, CreatedOn: now, CreatedBy: a.actor.Actor(),
	}
	if len(w.Claims) == 0 {
		w.Claims = nil
	}
	if in.TokenLifetimeSeconds != nil {
		w.TokenLifetime = time.Duration(*in.TokenLifetimeSeconds) * time.Second
	}
	o, err := s.origin(a, a.actor.Actor())
	if err != nil {
		return tokensmith.Workload{}, err
	}
	err = store.Retry(ctx, func() error { return s.Store.CreateWorkload(ctx, w, audit.WorkloadCreated(o, w, *a.site)) })
	if errors.Is(err, store.ErrWorkloadLimit) {
		return tokensmith.Workload{}, tokensmith.Errorf(tokensmith.ECONFLICT, "This site already trusts %d workloads; delete one first", tokensmith.MaxWorkloads)
	}
	if err != nil {
		return tokensmith.Workload{}, err
	}
	return w, nil
}

// Workloads lists the workloads site siteID trusts, newest first.
func (s *Service) Workloads(ctx context.Context, p tokensmith.Caller, siteID string) ([]tokensmith.Workload, error) {
	if _, err := s.authorize(ctx, p, siteOwner(siteID)); err != nil {
		return nil, err
	}
	ws, err := s.Store.Workloads(ctx, siteID)
	if err != nil {
		return nil, err
	}
	sort.Slice(ws, func(i, j int) bool {
		if !ws[i].CreatedOn.Equal(ws[j].CreatedOn) {
			return ws[i].CreatedOn.After(ws[j].CreatedOn)
		}
		return ws[i].ID > ws[j].ID
	})
	return ws, nil
}

// Workload returns one workload site siteID trusts, with the number of
// live tokens its exchanges minted.
func (s *Service) Workload(ctx context.Context, p tokensmith.Caller, siteID, id string) (tokensmith.Workload, int64, error) {
	if _, err := s.authorize(ctx, p, siteOwner(siteID)); err != nil {
		return tokensmith.Workload{}, 0, err
	}
	w, err := s.workload(ctx, siteID, id)
	if err != nil {
		return tokensmith.Workload{}, 0, err
	}
	live, err := s.Store.WorkloadTokens(ctx, w, s.Now())
	if err != nil {
		return tokensmith.Workload{}, 0, err
	}
	return w, int64(len(live)), nil
}

func (s *Service) workload(ctx context.Context, siteID, id string) (tokensmith.Workload, error) {
	if !token.ValidID(id) {
		return tokensmith.Workload{}, tokensmith.NotFound()
	}
	return s.Store.Workload(ctx, siteID, id)
}

// DeleteWorkload ends site siteID's trust in a workload, and every live
// token its exchanges minted, in one transaction.
func (s *Service) DeleteWorkload(ctx context.Context, p tokensmith.Caller, siteID, id string) error {
	a, err := s.authorize(ctx, p, siteOwner(siteID))
	if err != nil {
		return err
	}
	return store.Retry(ctx, func() error {
		w, err := s.workload(ctx, siteID, id)
		if err != nil {
			return err
		}
		live, err := s.Store.WorkloadTokens(ctx, w, s.Now())
		if err != nil {
			return err
		}
		o, err := s.origin(a, a.actor.Actor())
		if err != nil {
			return err
		}
		return s.Store.DeleteWorkload(ctx, w, live, audit.WorkloadDeleted(o, w, *a.site, len(live)))
	})
}
