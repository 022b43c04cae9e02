package people

import (
	"context"
	"fmt"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// Limits of a workspace's token lifetime policy (API.md section 14), in
// days: those of a token's lifetime.
const (
	MinPolicyDays = 1
	MaxPolicyDays = 366
)

// WorkspaceSettings returns the settings of workspace id to anyone who
// belongs to it: its members and the administrators of its sites, who make
// tokens under its policy. Anyone else is told it does not exist.
func (s *Service) WorkspaceSettings(ctx context.Context, c tokensmith.Caller, id string) (tokensmith.Workspace, error) {
	if !token.ValidID(id) {
		return tokensmith.Workspace{}, tokensmith.NotFound()
	}
	a, err := s.SignIn(ctx, c)
	if err != nil {
		return tokensmith.Workspace{}, err
	}
	ws, err := s.Store.Workspace(ctx, id)
	if err != nil {
		return tokensmith.Workspace{}, err
	}
	if ws.ID != id || !a.Belongs(ws.ID) {
		return tokensmith.Workspace{}, tokensmith.NotFound()
	}
	return ws, nil
}

// UpdateWorkspaceSettings changes the settings of workspace id, as its
// admin c, and records each change with its old and new value in the same
// transaction. Setting a value it already has records nothing.
func (s *Service) UpdateWorkspaceSettings(ctx context.Context, c tokensmith.Caller, id string, in tokensmith.SettingsInput) (tokensmith.Workspace, error) {
	if d := in.MaxTokenLifetimeDays; d != nil && *d != 0 && (*d < MinPolicyDays || *d > MaxPolicyDays) {
		return tokensmith.Workspace{}, tokensmith.Invalid(tokensmith.ErrorDetail{Field: "maxTokenLifetimeDays",
			Message: fmt.Sprintf("must be from %d to %d, or null for no maximum", MinPolicyDays, MaxPolicyDays)})
	}
	a, ws, _, err := s.adminOf(ctx, c, tokensmith.Place{WorkspaceID: id}, "Only workspace admins may change the workspace's settings")
	if err != nil {
		return tokensmith.Workspace{}, err
	}
	if in.MaxTokenLifetimeDays == nil {
		return ws, nil
	}
	days := *in.MaxTokenLifetimeDays
	err = store.Retry(ctx, func() error {
		if ws, err = s.Store.Workspace(ctx, ws.ID); err != nil {
			return err
		}
		if ws.MaxTokenLifetimeDays == days {
			return nil
		}
		o, err := audit.NewOrigin(s.Now(), s.Rand, a.User.Actor(), ws)
		if err != nil {
			return err
		}
		if err := s.Store.SetTokenLifetimePolicy(ctx, ws, days, audit.LifetimePolicyChanged(o, days, ws.MaxTokenLifetimeDays)); err != nil {
			return err
		}
		ws.MaxTokenLifetimeDays = days
		return nil
	})
	return ws, err
}
