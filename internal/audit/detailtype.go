package audit

// Event types and subtypes of the audit log that are named here before the
// changes that write them exist everywhere.
const (
	// SubTokenExpiring is a token's announcement that it ends within a
	// threshold of days (API.md section 14).
	SubTokenExpiring = "token_expiring"
)

// DetailType names one kind of event in words, as the event bus carries it
// in an entry's detail-type.
type DetailType struct {
	Type, SubType string
	Name          string
}

// DetailTypes is every kind of audit event with its detail-type: the one
// table of them, which docs/API.md lists and the publisher reads.
var DetailTypes = []DetailType{
	{TypeAPIToken, SubTokenCreated, "API Token Created"},
	{TypeAPIToken, SubTokenRegenerated, "API Token Regenerated"},
	{TypeAPIToken, SubTokenRevoked, "API Token Revoked"},
	{TypeAPIToken, SubTokenExpired, "API Token Expired"},
	{TypeAPIToken, SubTokenExpiring, "API Token Expiring"},
	{TypeAPIToken, SubTokenExchanged, "API Token Exchanged"},
	{TypeWorkspaceMembership, SubUserAdded, "Workspace Membership User Added"},
	{TypeWorkspaceMembership, SubInvitationAccepted, "Workspace Membership Invitation Accepted"},
	{TypeWorkspaceMembership, SubUserRemoved, "Workspace Membership User Removed"},
	{TypeWorkspaceMembership, SubUserRoleUpdated, "Workspace Membership User Role Updated"},
	{TypeSiteMembership, SubUserAdded, "Site Membership User Added"},
	{TypeSiteMembership, SubInvitationAccepted, "Site Membership Invitation Accepted"},
	{TypeSiteMembership, SubUserRemoved, "Site Membership User Removed"},
	{TypeSiteMembership, SubUserRoleUpdated, "Site Membership User Role Updated"},
	{TypeWorkspaceSetting, SubSettingUpdated, "Workspace Setting Updated"},
	{TypeSiteSetting, SubSettingUpdated, "Site Setting Updated"},
	{TypeTrustedWorkload, SubWorkloadCreated, "Trusted Workload Created"},
	{TypeTrustedWorkload, SubWorkloadDeleted, "Trusted Workload Deleted"},
}

// DetailTypeOf returns the detail-type of events of type typ and subtype
// sub, and false for a kind the table does not name.
func DetailTypeOf(typ, sub string) (string, bool) {
	for _, d := range DetailTypes {
		if d.Type == typ && d.SubType == sub {
			return d.Name, true
		}
	}
	return "", false
}
