package mock

import (
	"context"

	"github.com/tokensmith/tokensmith"
)

// TokenService fakes tokensmith.TokenService.
type TokenService struct {
	CreateFn         func(ctx context.Context, c tokensmith.Caller, owner tokensmith.Owner, in tokensmith.TokenInput, idemKey string) (tokensmith.Minted, bool, error)
	ListFn           func(ctx context.Context, c tokensmith.Caller, owner tokensmith.Owner) ([]tokensmith.Token, error)
	GetFn            func(ctx context.Context, c tokensmith.Caller, owner tokensmith.Owner, id string) (tokensmith.Token, error)
	RevokeFn         func(ctx context.Context, c tokensmith.Caller, owner tokensmith.Owner, id string) error
	RegenerateFn     func(ctx context.Context, c tokensmith.Caller, owner tokensmith.Owner, id string, in tokensmith.RegenerateInput) (tokensmith.Minted, error)
	IntrospectFn     func(ctx context.Context, owner tokensmith.Owner, id string) (tokensmith.Token, error)
	RevokeBySecretFn func(ctx context.Context, secret string) (bool, error)
	RevokeLeakedFn   func(ctx context.Context, partner, secret, url string) (bool, error)
	CreateWorkloadFn func(ctx context.Context, c tokensmith.Caller, siteID string, in tokensmith.WorkloadInput) (tokensmith.Workload, error)
	WorkloadsFn      func(ctx context.Context, c tokensmith.Caller, siteID string) ([]tokensmith.Workload, error)
	WorkloadFn       func(ctx context.Context, c tokensmith.Caller, siteID, id string) (tokensmith.Workload, int64, error)
	DeleteWorkloadFn func(ctx context.Context, c tokensmith.Caller, siteID, id string) error
	ExchangeFn       func(ctx context.Context, in tokensmith.ExchangeInput) (tokensmith.Exchanged, error)
}

var _ tokensmith.TokenService = (*TokenService)(nil)

func (s *TokenService) Create(ctx context.Context, c tokensmith.Caller, owner tokensmith.Owner, in tokensmith.TokenInput, idemKey string) (tokensmith.Minted, bool, error) {
	return s.CreateFn(ctx, c, owner, in, idemKey)
}

func (s *TokenService) List(ctx context.Context, c tokensmith.Caller, owner tokensmith.Owner) ([]tokensmith.Token, error) {
	return s.ListFn(ctx, c, owner)
}

func (s *TokenService) Get(ctx context.Context, c tokensmith.Caller, owner tokensmith.Owner, id string) (tokensmith.Token, error) {
	return s.GetFn(ctx, c, owner, id)
}

func (s *TokenService) Revoke(ctx context.Context, c tokensmith.Caller, owner tokensmith.Owner, id string) error {
	return s.RevokeFn(ctx, c, owner, id)
}

func (s *TokenService) Regenerate(ctx context.Context, c tokensmith.Caller, owner tokensmith.Owner, id string, in tokensmith.RegenerateInput) (tokensmith.Minted, error) {
	return s.RegenerateFn(ctx, c, owner, id, in)
}

func (s *TokenService) Introspect(ctx context.Context, owner tokensmith.Owner, id string) (tokensmith.Token, error) {
	return s.IntrospectFn(ctx, owner, id)
}

func (s *TokenService) RevokeBySecret(ctx context.Context, secret string) (bool, error) {
	return s.RevokeBySecretFn(ctx, secret)
}

func (s *TokenService) RevokeLeaked(ctx context.Context, partner, secret, url string) (bool, error) {
	return s.RevokeLeakedFn(ctx, partner, secret, url)
}

func (s *TokenService) CreateWorkload(ctx context.Context, c tokensmith.Caller, siteID string, in tokensmith.WorkloadInput) (tokensmith.Workload, error) {
	return s.CreateWorkloadFn(ctx, c, siteID, in)
}

func (s *TokenService) Workloads(ctx context.Context, c tokensmith.Caller, siteID string) ([]tokensmith.Workload, error) {
	return s.WorkloadsFn(ctx, c, siteID)
}

func (s *TokenService) Workload(ctx context.Context, c tokensmith.Caller, siteID, id string) (tokensmith.Workload, int64, error) {
	return s.WorkloadFn(ctx, c, siteID, id)
}

func (s *TokenService) DeleteWorkload(ctx context.Context, c tokensmith.Caller, siteID, id string) error {
	return s.DeleteWorkloadFn(ctx, c, siteID, id)
}

func (s *TokenService) Exchange(ctx context.Context, in tokensmith.ExchangeInput) (tokensmith.Exchanged, error) {
	return s.ExchangeFn(ctx, in)
}

// PeopleService fakes tokensmith.PeopleService.
type PeopleService struct {
	MeFn             func(ctx context.Context, c tokensmith.Caller) (tokensmith.Me, error)
	MembersFn        func(ctx context.Context, c tokensmith.Caller, where tokensmith.Place) ([]tokensmith.Member, error)
	AddMemberFn      func(ctx context.Context, c tokensmith.Caller, where tokensmith.Place, email string, role tokensmith.Role) (tokensmith.Member, error)
	UpdateMemberFn   func(ctx context.Context, c tokensmith.Caller, where tokensmith.Place, id string, role tokensmith.Role) (tokensmith.Member, error)
	RemoveMemberFn   func(ctx context.Context, c tokensmith.Caller, where tokensmith.Place, id string) error
	AcceptFn         func(ctx context.Context, c tokensmith.Caller, id string) (tokensmith.Me, error)
	DeclineFn        func(ctx context.Context, c tokensmith.Caller, id string) error
	SettingsFn       func(ctx context.Context, c tokensmith.Caller, id string) (tokensmith.Workspace, error)
	UpdateSettingsFn func(ctx context.Context, c tokensmith.Caller, id string, in tokensmith.SettingsInput) (tokensmith.Workspace, error)
}

var _ tokensmith.PeopleService = (*PeopleService)(nil)

func (s *PeopleService) Me(ctx context.Context, c tokensmith.Caller) (tokensmith.Me, error) {
	return s.MeFn(ctx, c)
}

func (s *PeopleService) Members(ctx context.Context, c tokensmith.Caller, where tokensmith.Place) ([]tokensmith.Member, error) {
	return s.MembersFn(ctx, c, where)
}

func (s *PeopleService) AddMember(ctx context.Context, c tokensmith.Caller, where tokensmith.Place, email string, role tokensmith.Role) (tokensmith.Member, error) {
	return s.AddMemberFn(ctx, c, where, email, role)
}

func (s *PeopleService) UpdateMember(ctx context.Context, c tokensmith.Caller, where tokensmith.Place, id string, role tokensmith.Role) (tokensmith.Member, error) {
	return s.UpdateMemberFn(ctx, c, where, id, role)
}

func (s *PeopleService) RemoveMember(ctx context.Context, c tokensmith.Caller, where tokensmith.Place, id string) error {
	return s.RemoveMemberFn(ctx, c, where, id)
}

func (s *PeopleService) AcceptInvitation(ctx context.Context, c tokensmith.Caller, id string) (tokensmith.Me, error) {
	return s.AcceptFn(ctx, c, id)
}

func (s *PeopleService) DeclineInvitation(ctx context.Context, c tokensmith.Caller, id string) error {
	return s.DeclineFn(ctx, c, id)
}

func (s *PeopleService) WorkspaceSettings(ctx context.Context, c tokensmith.Caller, id string) (tokensmith.Workspace, error) {
	return s.SettingsFn(ctx, c, id)
}

func (s *PeopleService) UpdateWorkspaceSettings(ctx context.Context, c tokensmith.Caller, id string, in tokensmith.SettingsInput) (tokensmith.Workspace, error) {
	return s.UpdateSettingsFn(ctx, c, id, in)
}

// SiteService fakes tokensmith.SiteService.
type SiteService struct {
	ListFn func(ctx context.Context, c tokensmith.Caller) ([]tokensmith.Site, error)
	GetFn  func(ctx context.Context, c tokensmith.Caller, id string) (tokensmith.Site, error)
}

var _ tokensmith.SiteService = (*SiteService)(nil)

func (s *SiteService) List(ctx context.Context, c tokensmith.Caller) ([]tokensmith.Site, error) {
	return s.ListFn(ctx, c)
}

func (s *SiteService) Get(ctx context.Context, c tokensmith.Caller, id string) (tokensmith.Site, error) {
	return s.GetFn(ctx, c, id)
}

// AuditService fakes tokensmith.AuditService.
type AuditService struct {
	ListFn func(ctx context.Context, c tokensmith.Caller, workspaceIDOrSlug string, q tokensmith.AuditQuery) (tokensmith.AuditPage, error)
}

var _ tokensmith.AuditService = (*AuditService)(nil)

func (s *AuditService) List(ctx context.Context, c tokensmith.Caller, workspaceIDOrSlug string, q tokensmith.AuditQuery) (tokensmith.AuditPage, error) {
	return s.ListFn(ctx, c, workspaceIDOrSlug, q)
}
