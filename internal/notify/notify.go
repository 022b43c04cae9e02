// Package notify emails people about their tokens (API.md section 14): a
// leak revocation at once, and the daily digest of tokens expiring soon.
// Each message goes to the token's creator, while they are still a member
// of its workspace, and to the workspace's admins; it names the token, its
// display hint, site and workspace, and links to the console, and never
// holds a secret. Mailers: SES in Lambda, Outbox in `make run`.
package notify

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// Notifier writes and sends the messages.
type Notifier struct {
	Store *store.Store
	// Mailer sends them; nil sends nothing (no NotificationSender).
	Mailer Mailer
	// ConsoleURL is the console's address, ending in a slash; the links
	// are its hash routes.
	ConsoleURL string
	Log        *slog.Logger
}

// Recipient is a person a message about a workspace's token goes to, and
// why.
type Recipient struct {
	Email string
	// Creator and Admin say why: the token's creator, an admin of its
	// workspace, or both.
	Creator, Admin bool
}

// Recipients returns who hears about a token of ws created by creator: the
// creator while they are still a member of ws (of it or of one of its
// sites), at their member email, and every admin of ws who has accepted
// their membership; one entry per email, in email order.
func (n *Notifier) Recipients(ctx context.Context, ws tokensmith.Workspace, creator tokensmith.Actor) ([]Recipient, error) {
	byEmail := map[string]*Recipient{}
	add := func(email string) *Recipient {
		email = strings.ToLower(email)
		if byEmail[email] == nil {
			byEmail[email] = &Recipient{Email: email}
		}
		return byEmail[email]
	}
	members, err := n.Store.Members(ctx, tokensmith.Place{WorkspaceID: ws.ID})
	if err != nil {
		return nil, fmt.Errorf("members of %s: %w", ws.ID, err)
	}
	for _, m := range members {
		if m.Role == tokensmith.RoleAdmin && m.Bound() {
			add(m.Email).Admin = true
		}
	}
	if creator.Type == tokensmith.ActorPerson && creator.ID != "" {
		held, err := n.Store.Memberships(ctx, creator.ID)
		if err != nil {
			return nil, fmt.Errorf("memberships of %s: %w", creator.ID, err)
		}
		for _, h := range held {
			if h.Place.WorkspaceID != ws.ID {
				continue
			}
			m, err := n.Store.Member(ctx, h.Place, h.MemberID)
			if err != nil {
				return nil, fmt.Errorf("member %s: %w", h.MemberID, err)
			}
			add(m.Email).Creator = true
			break
		}
	}
	out := make([]Recipient, 0, len(byEmail))
	for _, r := range byEmail {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Recipient) int { return strings.Compare(a.Email, b.Email) })
	return out, nil
}

// why is the line that tells r why they receive a message about ws.
func (r Recipient) why(ws tokensmith.Workspace, what string) string {
	switch {
	case r.Creator && r.Admin:
		return fmt.Sprintf("You receive this because you created %s and are an admin of the workspace %s.", what, ws.Name)
	case r.Creator:
		return fmt.Sprintf("You receive this because you created %s.", what)
	}
	return fmt.Sprintf("You receive this because you are an admin of the workspace %s.", ws.Name)
}

// tokensLink is the console page where t's owner's tokens are listed.
func (n *Notifier) tokensLink(t tokensmith.Token) string {
	if t.Kind == token.KindSite {
		return n.ConsoleURL + "#/sites/" + t.SiteID + "/api-access"
	}
	return n.ConsoleURL + "#/workspaces/" + t.WorkspaceID + "/api-access"
}

// auditLink is the console page of ws's audit log.
func (n *Notifier) auditLink(ws tokensmith.Workspace) string {
	return n.ConsoleURL + "#/workspaces/" + ws.ID + "/audit-log"
}

// facts are the lines that name t for a person: its name and display
// hint, its kind and site, its workspace and scopes.
func facts(t tokensmith.Token, site *tokensmith.Site, ws tokensmith.Workspace) string {
	kind := "workspace token"
	if t.Kind == token.KindSite {
		name := t.SiteID
		if site != nil {
			name = fmt.Sprintf("%s (%s)", site.DisplayName, site.ShortName)
		}
		kind = "site token of " + name
	}
	return fmt.Sprintf("  Token:      %q (%s)\n  Kind:       %s\n  Workspace:  %s (%s)\n  Scopes:     %s\n",
		t.Name, t.DisplayHint, kind, ws.Name, ws.Slug, strings.ReplaceAll(t.Scope, ",", ", "))
}

// day is how the messages write a date.
func day(t time.Time) string { return t.UTC().Format("Monday 2 January 2006") }

// LeakRevoked emails, at once, the people of t's workspace that partner
// found t's secret at url and it was revoked at at. A failure is logged
// and returned; the revocation stands either way.
func (n *Notifier) LeakRevoked(ctx context.Context, partner string, t tokensmith.Token, site *tokensmith.Site, url string, at time.Time) error {
	if n == nil || n.Mailer == nil {
		return nil
	}
	err := n.leakRevoked(ctx, partner, t, site, url, at)
	if err != nil {
		n.Log.ErrorContext(ctx, "leak revocation not emailed", "tokenId", t.ID, "displayHint", t.DisplayHint, "error", err)
	}
	return err
}

func (n *Notifier) leakRevoked(ctx context.Context, partner string, t tokensmith.Token, site *tokensmith.Site, url string, at time.Time) error {
	ws, err := n.Store.Workspace(ctx, t.WorkspaceID)
	if err != nil {
		return fmt.Errorf("workspace %s: %w", t.WorkspaceID, err)
	}
	rs, err := n.Recipients(ctx, ws, t.CreatedBy)
	if err != nil {
		return err
	}
	who := partnerName(partner)
	subject := fmt.Sprintf("Revoked: API token %q was found in public by %s", t.Name, who)
	var errs []error
	for _, r := range rs {
		var b strings.Builder
		fmt.Fprintf(&b, "%s found the secret of an API token of the workspace %s in public, at\n\n  %s\n\n", who, ws.Name, url)
		fmt.Fprintf(&b, "and reported it to tokensmith, which revoked the token at once, on %s at %s UTC. ", day(at), at.UTC().Format("15:04"))
		b.WriteString("Anything still using it is now refused (401).\n\n")
		b.WriteString(facts(t, site, ws) + "\n")
		b.WriteString("To restore access, generate a new token and keep its secret out of public places (use a secret store, not the code):\n\n")
		fmt.Fprintf(&b, "  %s\n\n", n.tokensLink(t))
		fmt.Fprintf(&b, "The revocation is in the workspace's audit log:\n\n  %s\n\n", n.auditLink(ws))
		b.WriteString(r.why(ws, "this token") + "\n")
		if err := n.Mailer.Send(ctx, Message{To: r.Email, Subject: subject, Text: b.String()}); err != nil {
			errs = append(errs, fmt.Errorf("to %s: %w", r.Email, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d messages not sent: %v", len(errs), len(rs), errs)
	}
	return nil
}

// partnerName is how the messages name a secret-scanning partner.
func partnerName(partner string) string {
	if partner == tokensmith.PartnerGitHub {
		return "GitHub secret scanning"
	}
	return partner
}
