package scope

import (
	"reflect"
	"testing"

	"github.com/tokensmith/tokensmith/internal/token"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		kind   token.Kind
		perms  Permissions
		fields []string
	}{
		{"site read", token.KindSite, Permissions{"sites": Read}, nil},
		{"site mixed", token.KindSite, Permissions{"cms": ReadWrite, "forms": None, "sites": Read}, nil},
		{"site_activity read", token.KindSite, Permissions{"site_activity": Read}, nil},
		{"site_activity write", token.KindSite, Permissions{"site_activity": ReadWrite}, []string{"permissions.site_activity"}},
		{"workspace scope on site", token.KindSite, Permissions{"workspace_activity": Read}, []string{"permissions.workspace_activity"}},
		{"forbidden site scopes", token.KindSite, Permissions{"authorized_user": Read, "custom_code": Read, "workspace": Read, "sites": Read},
			[]string{"permissions.authorized_user", "permissions.custom_code", "permissions.workspace"}},
		{"unknown level", token.KindSite, Permissions{"sites": "admin"}, []string{"permissions.sites"}},
		{"all none", token.KindSite, Permissions{"sites": None, "cms": None}, []string{"permissions"}},
		{"empty", token.KindSite, Permissions{}, []string{"permissions"}},
		{"workspace read", token.KindWorkspace, Permissions{"workspace_activity": Read}, nil},
		{"workspace write", token.KindWorkspace, Permissions{"workspace_activity": ReadWrite}, []string{"permissions.workspace_activity"}},
		{"site scope on workspace", token.KindWorkspace, Permissions{"sites": Read}, []string{"permissions.sites"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range Validate(tc.kind, tc.perms) {
				got = append(got, e.Field)
				if e.Message == "" {
					t.Errorf("error on %s has no message", e.Field)
				}
			}
			if !reflect.DeepEqual(got, tc.fields) {
				t.Errorf("Validate(%s, %v) fields = %v; want %v", tc.kind, tc.perms, got, tc.fields)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	got := Join(Expand(Permissions{"sites": Read, "cms": ReadWrite, "forms": None}))
	if want := "cms:read,cms:write,sites:read"; got != want {
		t.Errorf("Expand = %q; want %q", got, want)
	}
	if got, want := Granted(Permissions{"sites": Read, "forms": None}), (Permissions{"sites": Read}); !reflect.DeepEqual(got, want) {
		t.Errorf("Granted = %v; want %v", got, want)
	}
	if got, want := Missing(Split("cms:read,sites:read"), "sites:read", "sites:write"), []string{"sites:write"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Missing = %v; want %v", got, want)
	}
	if got := APIs(token.KindWorkspace); !reflect.DeepEqual(got, []string{"workspace_activity"}) {
		t.Errorf("APIs(workspace) = %v", got)
	}
	if got := len(APIs(token.KindSite)); got != 12 {
		t.Errorf("len(APIs(site)) = %d; want 12", got)
	}
}

func TestCatalogue(t *testing.T) {
	for _, k := range []token.Kind{token.KindSite, token.KindWorkspace} {
		apis := Catalogue(k)
		if len(apis) == 0 {
			t.Fatalf("Catalogue(%s) is empty", k)
		}
		for _, a := range apis {
			if a.Label == "" {
				t.Errorf("Catalogue(%s): %s has no label", k, a.Name)
			}
			if errs := Validate(k, Permissions{a.Name: a.Max}); len(errs) != 0 {
				t.Errorf("Validate(%s, %s: %s) = %v; want the catalogue's maximum allowed", k, a.Name, a.Max, errs)
			}
			if errs := Validate(k, Permissions{a.Name: ReadWrite}); a.Max == Read && len(errs) == 0 {
				t.Errorf("Validate(%s, %s: read_write) allowed; want at most read", k, a.Name)
			}
		}
	}
	if got, want := Catalogue(token.KindSite)[9], (API{"site_config", "Site configuration", ReadWrite}); got != want {
		t.Errorf("Catalogue(site)[9] = %+v; want %+v", got, want)
	}
	if got, want := APIs(token.KindSite)[9:], []string{"sites", "users", "webhooks"}; !reflect.DeepEqual(got, want) {
		t.Errorf("APIs(site)[9:] = %q; want %q, sorted", got, want)
	}
}
