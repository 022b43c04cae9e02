package localdev_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/localdev"
)

// published is one line of the events file.
type published struct {
	Source     string     `json:"source"`
	DetailType string     `json:"detail-type"`
	Detail     audit.View `json:"detail"`
}

// readEvents reads the events file: every line, by detail id.
func readEvents(t *testing.T, path string) (map[string]published, int) {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return map[string]published{}, 0
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]published{}
	lines := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines++
		var p published
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatalf("line %d of %s is not an event: %v", lines, path, err)
		}
		// A redelivery repeats an event exactly.
		if prev, ok := out[p.Detail.ID]; ok && !reflect.DeepEqual(prev, p) {
			t.Errorf("event %s published twice, differently:\n%+v\n%+v", p.Detail.ID, prev, p)
		}
		out[p.Detail.ID] = p
	}
	return out, lines
}

// TestEveryAuditEventIsPublished: through an end-to-end run of token and
// membership changes, with failed changes between them, every audit event
// the log holds appears in the events file (after de-duplication by id)
// exactly as the API shows it, with its detail-type, and nothing else does.
func TestEveryAuditEventIsPublished(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	e := newEnvConfig(t, localdev.Config{Events: path})
	ws := "/v2/workspaces/" + e.demo.WorkspaceID
	site := "/v2/sites/" + e.demo.SiteID + "/tokens"
	must := func(r response, status int) response {
		t.Helper()
		if r.status != status {
			t.Fatalf("= %d %s; want %d", r.status, r.raw, status)
		}
		return r
	}
	_, siteTok := e.mint("site", `{"sites":"read"}`)
	_, wsTok := e.mint("workspace", `{"workspace_activity":"read"}`)
	// Failed changes write no event, so publish none.
	must(e.do("POST", site, e.demo.AdminToken, `{"name":"","permissions":{}}`), 400)
	must(e.do("POST", site, e.demo.MemberToken, `{"name":"x","permissions":{"sites":"read"}}`), 403)
	must(e.do("DELETE", site+"/65f0c0ffee0000000000ffff", e.demo.AdminToken, ""), 404)
	must(e.do("POST", site+"/"+siteTok+"/regenerate", e.demo.AdminToken, ""), 200)
	must(e.do("DELETE", site+"/"+siteTok, e.demo.AdminToken, ""), 204)
	must(e.do("DELETE", "/v2/workspaces/"+e.demo.WorkspaceID+"/tokens/"+wsTok, e.demo.AdminToken, ""), 204)
	added := must(e.do("POST", ws+"/members", e.demo.AdminToken, `{"email":"trillian@example.com","role":"member"}`), 201)
	must(e.do("POST", ws+"/members", e.demo.AdminToken, `{"email":"not an email","role":"member"}`), 400)
	must(e.do("PATCH", ws+"/members/"+added.str("id"), e.demo.AdminToken, `{"role":"admin"}`), 200)
	must(e.do("DELETE", ws+"/members/"+added.str("id"), e.demo.AdminToken, ""), 204)

	page, err := e.stack.Store.AuditEvents(context.Background(), e.demo.WorkspaceID, tokensmith.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) < 10 {
		t.Fatalf("the log holds %d events; want the run's at least", len(page.Events))
	}
	// Publication follows the stream: wait for it.
	var got map[string]published
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, _ = readEvents(t, path)
		if len(got) >= len(page.Events) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A little longer, for anything that should not be there.
	time.Sleep(500 * time.Millisecond)
	got, lines := readEvents(t, path)
	want := map[string]bool{}
	for _, ev := range page.Events {
		want[ev.ID] = true
		p, ok := got[ev.ID]
		if !ok {
			t.Errorf("event %s (%s/%s) was not published", ev.ID, ev.Type, ev.SubType)
			continue
		}
		dt, _ := audit.DetailTypeOf(ev.Type, ev.SubType)
		if p.Source != "tokensmith" || p.DetailType != dt || dt == "" {
			t.Errorf("event %s published as %s %q; want tokensmith %q", ev.ID, p.Source, p.DetailType, dt)
		}
		if !reflect.DeepEqual(p.Detail, roundTrip(t, audit.NewView(ev))) {
			t.Errorf("event %s detail = %+v; want the API's %+v", ev.ID, p.Detail, audit.NewView(ev))
		}
	}
	for id, p := range got {
		if !want[id] {
			t.Errorf("published %s %+v, which the log does not hold", p.DetailType, p.Detail)
		}
	}
	t.Logf("%d events in the log, %d lines published", len(page.Events), lines)
}

// roundTrip is v as it reads back from JSON.
func roundTrip(t *testing.T, v audit.View) audit.View {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out audit.View
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
