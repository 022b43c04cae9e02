package localdev_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokensmith/tokensmith/internal/dynamotest"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// TestIntrospectAnswersFromTheDecision holds that introspection makes one
// read, the authorizer's, and shows what reading the token record shows:
// on the first use, within the usage interval, after it, and through a
// secret in its grace period (whose decision reads the record too), and for
// a secret stored before secrets carried what introspection shows (then the
// function reads the record).
func TestIntrospectAnswersFromTheDecision(t *testing.T) {
	c := &clock{now: time.Now().UTC()}
	ops := &dynamotest.Ops{}
	e := newEnvWith(t, 0, c.Now, ops.Option)
	site, siteID := e.mint("site", `{"sites":"read"}`)
	ws, wsID := e.mint("workspace", `{"workspace_activity":"read"}`)
	var regenerated string

	tests := []struct {
		name      string
		before    func(t *testing.T)
		secret    func() string
		tokenPath string
		wantReads int64
	}{
		{"site token, first use", nil, func() string { return site }, "/v2/sites/" + e.demo.SiteID + "/tokens/" + siteID, 1},
		{"site token, again within the minute", func(*testing.T) { c.Add(10 * time.Second) }, func() string { return site }, "/v2/sites/" + e.demo.SiteID + "/tokens/" + siteID, 1},
		{"site token, after the minute", func(*testing.T) { c.Add(time.Minute) }, func() string { return site }, "/v2/sites/" + e.demo.SiteID + "/tokens/" + siteID, 1},
		{"workspace token", nil, func() string { return ws }, "/v2/workspaces/" + e.demo.WorkspaceID + "/tokens/" + wsID, 1},
		{"secret in its grace period", func(t *testing.T) {
			r := e.do("POST", "/v2/sites/"+e.demo.SiteID+"/tokens/"+siteID+"/regenerate", e.demo.AdminToken, `{"gracePeriodSeconds":3600}`)
			if r.status != 200 {
				t.Fatalf("regenerate = %d %s", r.status, r.raw)
			}
			regenerated = r.str("token")
			c.Add(2 * time.Minute)
			// A previous secret takes its expiry from the token's record,
			// which the authorizer reads too (store.Secret).
		}, func() string { return site }, "/v2/sites/" + e.demo.SiteID + "/tokens/" + siteID, 2},
		{"the new secret, after a use of the old one", nil, func() string { return regenerated }, "/v2/sites/" + e.demo.SiteID + "/tokens/" + siteID, 1},
		{"a secret stored before secrets carried createdOn and lastUsed", func(t *testing.T) {
			_, err := e.stack.DB.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
				TableName: aws.String(e.table), Key: store.SecretKey(token.Hash(regenerated)),
				UpdateExpression: aws.String("REMOVE createdOn, lastUsed"),
			})
			if err != nil {
				t.Fatal(err)
			}
		}, func() string { return regenerated }, "/v2/sites/" + e.demo.SiteID + "/tokens/" + siteID, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before(t)
			}
			ops.Reset()
			in := e.do("GET", "/v2/token/introspect", tc.secret(), "")
			counts := ops.Reset()
			if in.status != 200 {
				t.Fatalf("introspect = %d %s", in.status, in.raw)
			}
			reads := counts["GetItem"] + counts["Query"] + counts["Scan"]
			if reads != tc.wantReads {
				t.Errorf("introspect made %d reads (%v); want %d", reads, counts, tc.wantReads)
			}
			rec := e.do("GET", tc.tokenPath, e.demo.AdminToken, "")
			if rec.status != 200 {
				t.Fatalf("token record = %d %s", rec.status, rec.raw)
			}
			auth, _ := in.body["authorization"].(map[string]any)
			for _, field := range []string{"id", "kind", "createdOn", "lastUsed", "expiresOn", "scope"} {
				if got, want := jsonOf(auth[field]), jsonOf(rec.body[field]); got != want {
					t.Errorf("introspect %s = %s; the record shows %s", field, got, want)
				}
			}
		})
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
