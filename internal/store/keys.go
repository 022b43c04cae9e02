package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/token"
)

// This file builds and parses every key of the table; no other file, and no
// other package, spells a key prefix. The package comment's table of items
// is held against these builders by a test.

// Prefixes of partition and sort keys.
const (
	prefixWorkspace = "WS#"
	prefixSite      = "SITE#"
	prefixSlug      = "SLUG#"
	prefixUser      = "USER#"
	prefixEmail     = "EMAIL#"
	prefixIdentity  = "IDENTITY#"
	prefixSecret    = "SECRET#"
	prefixAudit     = "AUDIT#"
	prefixIdem      = "IDEM#"
	prefixExpired   = "EXPIRED#"
	prefixToken     = "TOKEN#"
	prefixMember    = "MEMBER#"
	prefixSeq       = "SEQ#"
	prefixRate      = "RATE#"
	prefixWindow    = "WINDOW#"
	prefixLeaked    = "LEAKED#"
	prefixResend    = "RESEND#"
	prefixWorkload  = "WORKLOAD#"
	prefixWLToken   = "WLTOKEN#"
	prefixUsed      = "USED#"

	// metaSK is the sort key of an entity's own item.
	metaSK = "#META"
	// sitesSuffix ends the index key under which a workspace's sites are listed.
	sitesSuffix = "#SITES"
)

func workspacePK(id string) string    { return prefixWorkspace + id }
func sitePK(id string) string         { return prefixSite + id }
func slugPK(slug string) string       { return prefixSlug + slug }
func userPK(id string) string         { return prefixUser + id }
func emailPK(email string) string     { return prefixEmail + email }
func secretPK(hash string) string     { return prefixSecret + hash }
func idemPK(keyHash string) string    { return prefixIdem + keyHash }
func expiredPK(tokenID string) string { return prefixExpired + tokenID }
func leakedPK(hash string) string     { return prefixLeaked + hash }
func resendPK(hash string) string     { return prefixResend + hash }
func tokenSK(id string) string        { return prefixToken + id }
func memberSK(memberID string) string { return prefixMember + memberID }
func workloadSK(id string) string     { return prefixWorkload + id }
func usedPK(key string) string        { return prefixUsed + key }

// workloadTokenSK is the sort key, in its site's partition, of a token an
// exchange of workload wl minted: under the workload, so that the site's
// tokens (TOKEN#) never list it and its workload finds it.
func workloadTokenSK(wl, id string) string { return prefixWLToken + wl + "#" + id }

// recordKey is the partition and sort key of t's record.
func recordKey(t tokensmith.Token) (pk, sk string) {
	if t.WorkloadID != "" {
		return sitePK(t.SiteID), workloadTokenSK(t.WorkloadID, t.ID)
	}
	return ownerPK(t.Owner()), tokenSK(t.ID)
}

// secretRecordKey is the key of the record of the token of sec.
func secretRecordKey(sec tokensmith.Secret) (pk, sk string) {
	return recordKey(tokensmith.Token{ID: sec.TokenID, Kind: sec.Kind, SiteID: sec.SiteID, WorkspaceID: sec.WorkspaceID, WorkloadID: sec.WorkloadID})
}

// identityPK is the partition of the person an issuer names by sub: a hash,
// since issuer URLs and subjects are free text that may hold '#'.
func identityPK(issuer, sub string) string {
	sum := sha256.Sum256([]byte(issuer + "\x00" + sub))
	return prefixIdentity + hex.EncodeToString(sum[:])
}

// workspaceSitesGSI1PK is the index key under which a workspace's sites are listed.
func workspaceSitesGSI1PK(wsID string) string { return workspacePK(wsID) + sitesSuffix }

// auditPK is the partition of a workspace's whole audit log.
func auditPK(wsID string) string { return prefixAudit + wsID }

// auditTypePK is the index partition of one event type's log.
func auditTypePK(wsID, eventType string) string { return auditPK(wsID) + "#" + eventType }

// seqKey is the sort key of the event at place n of a log: zero-padded, so
// that the keys sort as the numbers do.
func seqKey(n int64) string { return fmt.Sprintf("%s%012d", prefixSeq, n) }

// rateSK is the sort key of a token's counter for the window that starts at
// Unix second start: zero-padded, so that the keys sort as the times do.
func rateSK(start int64) string { return fmt.Sprintf("%s%012d", prefixWindow, start) }

// ratePK is the partition of a token's request counters, one item a window.
func ratePK(tokenID string) string { return prefixRate + tokenID }

// RateKeysLike matches, as IAM's StringLike does, the partition key of
// every rate-limit counter and of no other item: the authorizer's grant of
// UpdateItem is held to it (template.yaml, dynamodb:LeadingKeys).
const RateKeysLike = prefixRate + "*"

// invitationsPK is the partition of workspace wsID's daily counts of
// invitations made through the API, one item a day keyed as rateSK keys a
// window. Token ids are lower-case hex, so it never meets a token's.
func invitationsPK(wsID string) string { return prefixRate + "INVITATIONS#" + wsID }

// ownerPK is the partition of a token's owner, where its record is kept.
func ownerPK(o tokensmith.Owner) string {
	if o.Kind == token.KindSite {
		return sitePK(o.ID)
	}
	return workspacePK(o.ID)
}

// placePK is the partition of a membership's place.
func placePK(p tokensmith.Place) string {
	if p.IsSite() {
		return sitePK(p.SiteID)
	}
	return workspacePK(p.WorkspaceID)
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrPK: &types.AttributeValueMemberS{Value: pk},
		AttrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

// SecretKey is the key of the item the authorizer reads for a secret's hash.
func SecretKey(hash string) map[string]types.AttributeValue { return key(secretPK(hash), metaSK) }

// TokenKey is the key of the record of token id of owner.
func TokenKey(owner tokensmith.Owner, id string) map[string]types.AttributeValue {
	return key(ownerPK(owner), tokenSK(id))
}

// SiteKey is the key of a site's item.
func SiteKey(id string) map[string]types.AttributeValue { return key(sitePK(id), metaSK) }

// WorkspaceKey is the key of workspace id's record.
func WorkspaceKey(id string) map[string]types.AttributeValue { return key(workspacePK(id), metaSK) }

// IsTokenSortKey reports whether sk is the sort key of a token record, as a
// stream record's keys show it.
func IsTokenSortKey(sk string) bool { return strings.HasPrefix(sk, prefixToken) }

// AuditKeysPrefix begins the partition key of every audit event and of no
// other item: the event bus publisher's stream filter is held to it.
const AuditKeysPrefix = prefixAudit

// IsAuditKey reports whether pk and sk are the keys of an audit event, as a
// stream record's keys show them.
func IsAuditKey(pk, sk string) bool {
	return strings.HasPrefix(pk, prefixAudit) && strings.HasPrefix(sk, prefixSeq)
}
