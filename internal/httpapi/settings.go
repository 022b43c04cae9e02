package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/tokensmith/tokensmith"
)

// settings is a workspace's settings as the API shows them: the token
// lifetime policy in days, null for none.
type settings struct {
	MaxTokenLifetimeDays *int64 `json:"maxTokenLifetimeDays"`
}

func newSettings(ws tokensmith.Workspace) settings {
	var out settings
	if ws.MaxTokenLifetimeDays > 0 {
		d := ws.MaxTokenLifetimeDays
		out.MaxTokenLifetimeDays = &d
	}
	return out
}

func (h *peopleHandler) settings(w http.ResponseWriter, r *http.Request, c tokensmith.Caller) error {
	ws, err := h.svc.WorkspaceSettings(r.Context(), c, r.PathValue("workspace_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newSettings(ws))
	return nil
}

// updateSettings takes {"maxTokenLifetimeDays": N | null}: null removes the
// policy, and a body without the field changes nothing.
func (h *peopleHandler) updateSettings(w http.ResponseWriter, r *http.Request, c tokensmith.Caller) error {
	var in struct {
		// MaxTokenLifetimeDays is raw, so that null (no policy) and an
		// absent field (no change) differ.
		MaxTokenLifetimeDays json.RawMessage `json:"maxTokenLifetimeDays"`
	}
	if err := decode(r, &in, false); err != nil {
		return err
	}
	var change tokensmith.SettingsInput
	if raw := in.MaxTokenLifetimeDays; len(raw) > 0 {
		var days int64
		if !bytes.Equal(raw, []byte("null")) {
			if err := json.Unmarshal(raw, &days); err != nil || days == 0 {
				return tokensmith.Invalid(tokensmith.ErrorDetail{Field: "maxTokenLifetimeDays", Message: "must be a whole number of days from 1 to 366, or null for no maximum"})
			}
		}
		change.MaxTokenLifetimeDays = &days
	}
	ws, err := h.svc.UpdateWorkspaceSettings(r.Context(), c, r.PathValue("workspace_id"), change)
	if err != nil {
		return err
	}
	h.log.InfoContext(r.Context(), "workspace settings updated", "workspaceId", ws.ID, "maxTokenLifetimeDays", ws.MaxTokenLifetimeDays)
	writeJSON(w, http.StatusOK, newSettings(ws))
	return nil
}
