package store

import (
	"go/parser"
	"go/token"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	kinds "github.com/tokensmith/tokensmith/internal/token"
)

// sample is the value each placeholder of the package comment's table
// stands for in TestKeyTable.
var sample = map[string]string{
	"ws": "0000000a0000000000000001", "site": "0000000a0000000000000002", "user": "0000000a0000000000000003",
	"token": "0000000b0000000000000001", "member": "0000000c0000000000000001", "slug": "hitchhikers", "email": "arthur@example.com", "sha256": "5e3c",
	"seq": "000000000007", "typeSeq": "000000000003", "eventType": "api_token",
	"start": "001795348800", "workload": "0000000d0000000000000001",
}

// The identity placeholder is the hash the builder makes of the sample
// person's issuer and subject.
func init() {
	sample["identity"] = strings.TrimPrefix(identityPK("https://issuer.example", "sub"), prefixIdentity)
}

// keyRow is one item's keys: PK SK, and GSI1PK / GSI1SK or empty.
type keyRow struct{ pk, sk, gsi1pk, gsi1sk string }

// commentTable reads the table of items from the package comment of
// store.go, with its placeholders replaced by their samples.
func commentTable(t *testing.T) []keyRow {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "store.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	placeholder := regexp.MustCompile(`<(\w+)>`)
	subst := func(s string) string {
		return placeholder.ReplaceAllStringFunc(s, func(m string) string {
			v, ok := sample[m[1:len(m)-1]]
			if !ok {
				t.Fatalf("placeholder %s in the package comment has no sample", m)
			}
			return v
		})
	}
	gsi := regexp.MustCompile(`GSI1: (\S+) / (\S+)`)
	var rows []keyRow
	for _, line := range strings.Split(f.Doc.Text(), "\n") {
		if !strings.HasPrefix(line, "\t") {
			continue // the table is the comment's indented block
		}
		fields := strings.Fields(line)
		if len(fields) < 3 {
			t.Fatalf("table row %q has no PK, SK and description", line)
		}
		r := keyRow{pk: subst(fields[0]), sk: subst(fields[1])}
		if m := gsi.FindStringSubmatch(line); m != nil {
			r.gsi1pk, r.gsi1sk = subst(m[1]), subst(m[2])
		}
		rows = append(rows, r)
	}
	return rows
}

// builtTable is the keys of every kind of item, as the builders make them
// for the samples.
func builtTable() []keyRow {
	ws := tokensmith.Workspace{ID: sample["ws"], Slug: sample["slug"]}
	site := tokensmith.Site{ID: sample["site"], WorkspaceID: ws.ID}
	user := tokensmith.User{ID: sample["user"], Email: sample["email"], Issuer: "https://issuer.example", Subject: "sub"}
	wsPlace := tokensmith.Place{WorkspaceID: ws.ID}
	sitePlace := tokensmith.Place{WorkspaceID: ws.ID, SiteID: site.ID}
	wsMember := tokensmith.Member{ID: sample["member"], Place: wsPlace, Email: user.Email}
	siteMember := tokensmith.Member{ID: sample["member"], Place: sitePlace, Email: user.Email}
	siteToken := tokensmith.Token{ID: sample["token"], Kind: kinds.KindSite, SiteID: site.ID, WorkspaceID: ws.ID, SecretHash: sample["sha256"]}
	wsToken := tokensmith.Token{ID: sample["token"], Kind: kinds.KindWorkspace, WorkspaceID: ws.ID}
	ev := tokensmith.Event{Seq: 7, TypeSeq: 3, Type: sample["eventType"], Workspace: ws.Ref()}
	var rows []keyRow
	for _, k := range []keys{
		toWorkspaceItem(ws).keys,
		toMemberItem(wsMember).keys,
		toInvitationItem(wsMember).keys,
		toHolderItem(tokensmith.Membership{Place: wsPlace, UserID: user.ID}).keys,
		toTokenItem(wsToken).keys,
		toSlugItem(ws).keys,
		toSiteItem(site).keys,
		toMemberItem(siteMember).keys,
		toInvitationItem(siteMember).keys,
		toHolderItem(tokensmith.Membership{Place: sitePlace, UserID: user.ID}).keys,
		toTokenItem(siteToken).keys,
		toUserItem(user).keys,
		toIdentityItem(user).keys,
		toSecretItem(siteToken, "", 0).keys,
		toAuditItem(ev, ev.Timestamp).keys,
		toIdempotencyItem(Idempotency{KeyHash: sample["sha256"]}).keys,
		toExpiredItem(sample["token"], time.Time{}).keys,
		toLeakedItem(sample["sha256"], sample["token"], time.Time{}, time.Time{}).keys,
		rateKeys(sample["token"], 1795348800),
		{PK: invitationsPK(ws.ID), SK: rateSK(1795348800)},
		{PK: resendPK(sample["sha256"]), SK: metaSK},
		toWorkloadItem(tokensmith.Workload{ID: sample["workload"], SiteID: site.ID}).keys,
		toTokenItem(tokensmith.Token{ID: sample["token"], Kind: kinds.KindSite, SiteID: site.ID, WorkspaceID: ws.ID, WorkloadID: sample["workload"]}).keys,
		toUsedItem(Use{Key: sample["sha256"]}).keys,
	} {
		rows = append(rows, keyRow{k.PK, k.SK, k.GSI1PK, k.GSI1SK})
	}
	return rows
}

// TestKeyTable holds the package comment's table of items to the keys the
// builders make, row for row.
func TestKeyTable(t *testing.T) {
	str := func(rows []keyRow) []string {
		var out []string
		for _, r := range rows {
			out = append(out, r.pk+" "+r.sk+" "+r.gsi1pk+" "+r.gsi1sk)
		}
		sort.Strings(out)
		return out
	}
	got, want := str(commentTable(t)), str(builtTable())
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("package comment's items:\n%s\nwant (as keys.go builds them):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTokenSortKey(t *testing.T) {
	for _, tc := range []struct {
		sk   string
		want bool
	}{
		{tokenSK("0000000b0000000000000001"), true},
		{metaSK, false},
		{memberSK("u"), false},
		{seqKey(1), false},
	} {
		if got := IsTokenSortKey(tc.sk); got != tc.want {
			t.Errorf("IsTokenSortKey(%q) = %v; want %v", tc.sk, got, tc.want)
		}
	}
}
