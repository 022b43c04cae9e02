package localdev_test

import (
	"encoding/json"
	"testing"
	"time"
)

// TestGraceOutlivesTheOldExpiry: a token regenerated with a grace period
// that ends after the token would have expired, then used with its new
// secret, lives on; its previous secret keeps working until the grace
// period ends (API.md section 11: "until that many seconds have passed, or
// the token expires, if sooner"), and is revocable by itself until then.
func TestGraceOutlivesTheOldExpiry(t *testing.T) {
	c := &clock{now: modelStart}
	e := newEnvWith(t, 0, c.Now)
	old, id := e.mint("site", `{"sites":"read"}`)
	c.Add(365*24*time.Hour - time.Hour) // the unused token has an hour left
	r := e.do("POST", "/v2/sites/"+e.demo.SiteID+"/tokens/"+id+"/regenerate", e.demo.AdminToken, `{"gracePeriodSeconds":7200}`)
	if r.status != 200 {
		t.Fatalf("regenerate = %d %s", r.status, r.raw)
	}
	current := r.str("token")
	// The old secret's item stays until the grace period ends, not until
	// the token's expiry as of the regenerate, which a use may move.
	graceEnd := c.Now().Add(2 * time.Hour).Unix()
	for _, it := range e.items("SECRET#") {
		var sec struct {
			GraceUntil *string `json:"graceUntil"`
			ExpiresAt  int64   `json:"expiresAt"`
		}
		if err := json.Unmarshal([]byte(it), &sec); err != nil {
			t.Fatal(err)
		}
		if sec.GraceUntil != nil && sec.ExpiresAt != graceEnd {
			t.Errorf("the previous secret's TTL is %d; want the end of its grace period, %d", sec.ExpiresAt, graceEnd)
		}
	}
	if got := e.do("GET", "/v2/sites", current, "").status; got != 200 {
		t.Fatalf("use of the new secret = %d; want 200", got)
	}
	c.Add(90 * time.Minute) // past the old expiry, within the grace period
	for _, s := range []struct{ name, secret string }{{"new", current}, {"previous", old}} {
		if got := e.do("GET", "/v2/sites", s.secret, "").status; got != 200 {
			t.Errorf("%s secret after the old expiry, within the grace period = %d; want 200", s.name, got)
		}
	}
	if r := e.do("POST", "/v2/token/revoke", "", `{"token":"`+old+`"}`); r.body["didRevoke"] != true {
		t.Errorf("revoke by the previous secret within its grace period = %s; want didRevoke true", r.raw)
	}
	c.Add(31 * time.Minute) // the grace period is over
	wantError(t, e.do("GET", "/v2/sites", old, ""), 401, "not_authorized")
	if got := e.do("GET", "/v2/sites", current, "").status; got != 200 {
		t.Errorf("new secret after the grace period = %d; want 200", got)
	}
}
