// Home: the invitations waiting for the person, their workspaces and the sites they can see.
import type { Invitation, MeSite } from "../api";
import { frame, workspaceLinks, type Ctx, type Frame } from "../app";
import { announce, h, isBusy, setBusy, time } from "../dom";
import { describe } from "../errors";

const planNames: Record<string, string> = { enterprise: "Enterprise", free: "Free" };

/** notice is what the last accept or decline did, shown once on the page drawn after it. */
let notice = "";

export function renderHome(ctx: Ctx): void {
  const f = frame(ctx, "Workspaces and sites");
  if (notice) {
    f.status.show(notice);
    announce(notice);
    notice = "";
  }
  const { workspaces, sites, invitations } = ctx.me;
  if (invitations.length) f.main.append(invitationList(ctx, f, invitations));
  if (!workspaces.length && !sites.length) {
    f.main.append(h("p", {}, invitations.length
      ? "You do not belong to any workspace yet. Accept an invitation above to join one."
      : `You do not belong to any workspace yet. Ask a workspace admin to invite ${ctx.me.user.email}.`));
    return;
  }
  const siteList = (list: MeSite[]) => list.length
    ? h("ul", { class: "sites" }, list.map((s) => h("li", {},
        h("a", { href: `#/sites/${encodeURIComponent(s.id)}/api-access` }, s.displayName),
        h("span", { class: "muted" }, ` ${s.shortName}`),
        s.canManageTokens ? null : h("span", { class: "muted" }, " · view only"))))
    : h("p", { class: "muted" }, "No sites.");

  for (const ws of workspaces) {
    const id = `ws-${ws.id}`;
    f.main.append(h("section", { "aria-labelledby": id, class: "panel" },
      h("h2", { id }, ws.displayName),
      h("p", { class: "muted" }, `${planNames[ws.plan] ?? ws.plan} plan · you are ${ws.role === "admin" ? "an admin" : "a member"} · ${ws.slug}`),
      h("nav", { "aria-label": `${ws.displayName} workspace`, class: "tabs" },
        h("ul", {}, workspaceLinks(ws).map((l) => h("li", {}, h("a", { href: l.href }, l.label))))),
      h("h3", {}, "Sites"),
      siteList(sites.filter((s) => s.workspaceId === ws.id))));
  }
  const mine = new Set(workspaces.map((w) => w.id));
  const others = sites.filter((s) => !mine.has(s.workspaceId));
  if (others.length) {
    f.main.append(h("section", { "aria-labelledby": "ws-other", class: "panel" },
      h("h2", { id: "ws-other" }, "Sites you administer"),
      h("p", { class: "muted" }, "You are a site administrator of these sites, in workspaces you do not belong to."),
      siteList(others)));
  }
}

/** place names what an invitation is to: a workspace, or a site of one. */
function place(inv: Invitation): string {
  return inv.site ? `${inv.site.displayName} (a site of ${inv.workspace.displayName})` : inv.workspace.displayName;
}

/**
 * invitationList shows the invitations waiting for the person, each a group named by where it is to, with
 * Accept and Decline buttons described by it. Nothing is joined until the person accepts.
 */
function invitationList(ctx: Ctx, f: Frame, invitations: Invitation[]): HTMLElement {
  return h("section", { "aria-labelledby": "invitations", class: "panel" },
    h("h2", { id: "invitations" }, "Invitations"),
    h("p", { class: "muted" }, "You have been invited to these. Nothing is shared with the workspace until you accept; an invitation lapses after 30 days."),
    h("ul", { class: "invitations" }, invitations.map((inv) => {
      const nameId = `invitation-${inv.id}`;
      const role = inv.site ? "a site administrator" : inv.role === "admin" ? "an admin" : "a member";
      const item = h("div", { role: "group", "aria-labelledby": nameId },
        h("p", { id: nameId }, h("strong", {}, place(inv)), ` · as ${role}`,
          h("span", { class: "muted" }, ` · from ${inv.invitedBy.email}, `, time(inv.invitedOn))));
      const buttons = [true, false].map((accept) => h("button", {
        type: "button", class: accept ? "button small primary" : "button small", "aria-describedby": nameId,
        onclick: () => void act(accept),
      }, accept ? "Accept" : "Decline"));
      const act = async (accept: boolean): Promise<void> => {
        if (buttons.some(isBusy)) return;
        f.alert.clear();
        f.status.clear();
        for (const b of buttons) setBusy(b, true);
        try {
          if (accept) await ctx.api.acceptInvitation(inv.id);
          else await ctx.api.declineInvitation(inv.id);
          await ctx.reloadMe();
        } catch (err) {
          for (const b of buttons) setBusy(b, false);
          f.alert.show(describe(err));
          return;
        }
        notice = accept ? `You joined ${place(inv)}.` : `You declined the invitation to ${place(inv)}.`;
        ctx.rerender();
      };
      item.append(h("div", { class: "row-actions" }, ...buttons));
      return h("li", {}, item);
    })));
}
