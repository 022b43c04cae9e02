package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/route"
)

// site is a site as Webflow's Get Site shows it.
type site struct {
	ID             string    `json:"id"`
	WorkspaceID    string    `json:"workspaceId"`
	CreatedOn      string    `json:"createdOn"`
	DisplayName    string    `json:"displayName"`
	ShortName      string    `json:"shortName"`
	LastPublished  *string   `json:"lastPublished"`
	LastUpdated    string    `json:"lastUpdated"`
	PreviewURL     *string   `json:"previewUrl"`
	TimeZone       string    `json:"timeZone"`
	ParentFolderID *string   `json:"parentFolderId"`
	CustomDomains  []domain  `json:"customDomains"`
	Locales        siteLocal `json:"locales"`
}

type domain struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

type siteLocal struct {
	Primary   locale   `json:"primary"`
	Secondary []locale `json:"secondary"`
}

type locale struct {
	ID           string `json:"id"`
	CMSLocaleID  string `json:"cmsLocaleId"`
	Enabled      bool   `json:"enabled"`
	DisplayName  string `json:"displayName"`
	Redirect     bool   `json:"redirect"`
	Subdirectory string `json:"subdirectory"`
	Tag          string `json:"tag"`
}

// newSite renders a stored site. Every site has one locale, its primary,
// identified by the site's own id.
func newSite(s tokensmith.Site) site {
	out := site{
		ID: s.ID, WorkspaceID: s.WorkspaceID, CreatedOn: formatTime(s.CreatedOn), DisplayName: s.DisplayName,
		ShortName: s.ShortName, LastUpdated: formatTime(s.LastUpdated), TimeZone: s.TimeZone,
		CustomDomains: []domain{},
		Locales: siteLocal{
			Primary:   locale{ID: s.ID, CMSLocaleID: s.ID, Enabled: true, DisplayName: "English (United States)", Redirect: true, Tag: "en-US"},
			Secondary: []locale{},
		},
	}
	if s.LastPublished != nil {
		p := formatTime(*s.LastPublished)
		out.LastPublished = &p
	}
	return out
}

// Sites serves the sites routes of the route table.
func Sites(svc tokensmith.SiteService, g *Guard, log *slog.Logger) *Router {
	return mux(route.Sites, map[string]http.HandlerFunc{
		"listSites": func(w http.ResponseWriter, r *http.Request) {
			p, err := apiTokenCaller(r)
			if err != nil {
				writeError(w, r, log, err)
				return
			}
			list, err := svc.List(r.Context(), p)
			if err != nil {
				writeError(w, r, log, err)
				return
			}
			out := make([]site, 0, len(list))
			for _, s := range list {
				out = append(out, newSite(s))
			}
			writeJSON(w, http.StatusOK, map[string][]site{"sites": out})
		},
		"getSite": func(w http.ResponseWriter, r *http.Request) {
			p, err := apiTokenCaller(r)
			if err != nil {
				writeError(w, r, log, err)
				return
			}
			s, err := svc.Get(r.Context(), p, r.PathValue("site_id"))
			if err != nil {
				writeError(w, r, log, err)
				return
			}
			writeJSON(w, http.StatusOK, newSite(s))
		},
	}, g, log)
}
