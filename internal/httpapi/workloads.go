package httpapi

import (
	"net/http"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/scope"
)

// trustedWorkload is a workload as the API shows it (API.md section 15).
type trustedWorkload struct {
	ID                   string            `json:"id"`
	SiteID               string            `json:"siteId"`
	Name                 string            `json:"name"`
	Issuer               string            `json:"issuer"`
	Audience             string            `json:"audience"`
	Subject              string            `json:"subject"`
	Claims               map[string]string `json:"claims"`
	Permissions          scope.Permissions `json:"permissions"`
	Scope                string            `json:"scope"`
	TokenLifetimeSeconds int64             `json:"tokenLifetimeSeconds"`
	CreatedOn            string            `json:"createdOn"`
	CreatedBy            ref               `json:"createdBy"`
	// LiveTokens counts the live tokens the workload's exchanges minted; a
	// read of one workload shows it.
	LiveTokens *int64 `json:"liveTokens,omitempty"`
}

func newTrustedWorkload(w tokensmith.Workload) trustedWorkload {
	claims := w.Claims
	if claims == nil {
		claims = map[string]string{}
	}
	return trustedWorkload{
		ID: w.ID, SiteID: w.SiteID, Name: w.Name, Issuer: w.Issuer, Audience: w.Audience, Subject: w.Subject,
		Claims: claims, Permissions: w.Permissions, Scope: w.Scope,
		TokenLifetimeSeconds: int64(w.TokenLifetime / time.Second), CreatedOn: formatTime(w.CreatedOn),
		CreatedBy: ref{ID: w.CreatedBy.ID, Email: w.CreatedBy.Email},
	}
}

// createWorkloadRequest is the body of a create of a trusted workload.
type createWorkloadRequest struct {
	Name                 string            `json:"name"`
	Issuer               string            `json:"issuer"`
	Audience             string            `json:"audience"`
	Subject              string            `json:"subject"`
	Claims               map[string]string `json:"claims,omitempty"`
	Permissions          scope.Permissions `json:"permissions"`
	TokenLifetimeSeconds *int64            `json:"tokenLifetimeSeconds,omitempty"`
}

func (h *tokensHandler) createWorkload(w http.ResponseWriter, r *http.Request, p tokensmith.Caller) error {
	var in createWorkloadRequest
	if err := decode(r, &in, false); err != nil {
		return err
	}
	wl, err := h.svc.CreateWorkload(r.Context(), p, r.PathValue("site_id"), tokensmith.WorkloadInput(in))
	if err != nil {
		return err
	}
	h.log.InfoContext(r.Context(), "trusted workload created", "workloadId", wl.ID, "siteId", wl.SiteID)
	writeJSON(w, http.StatusCreated, newTrustedWorkload(wl))
	return nil
}

func (h *tokensHandler) listWorkloads(w http.ResponseWriter, r *http.Request, p tokensmith.Caller) error {
	ws, err := h.svc.Workloads(r.Context(), p, r.PathValue("site_id"))
	if err != nil {
		return err
	}
	out := make([]trustedWorkload, 0, len(ws))
	for _, wl := range ws {
		out = append(out, newTrustedWorkload(wl))
	}
	writeJSON(w, http.StatusOK, map[string]any{"trustedWorkloads": out})
	return nil
}

func (h *tokensHandler) getWorkload(w http.ResponseWriter, r *http.Request, p tokensmith.Caller) error {
	wl, live, err := h.svc.Workload(r.Context(), p, r.PathValue("site_id"), r.PathValue("workload_id"))
	if err != nil {
		return err
	}
	out := newTrustedWorkload(wl)
	out.LiveTokens = &live
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *tokensHandler) deleteWorkload(w http.ResponseWriter, r *http.Request, p tokensmith.Caller) error {
	id := r.PathValue("workload_id")
	if err := h.svc.DeleteWorkload(r.Context(), p, r.PathValue("site_id"), id); err != nil {
		return err
	}
	h.log.InfoContext(r.Context(), "trusted workload deleted", "workloadId", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
