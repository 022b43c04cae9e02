// Home: the person's workspaces and the sites they can see.
import type { MeSite } from "../api";
import { frame, workspaceLinks, type Ctx } from "../app";
import { h } from "../dom";

const planNames: Record<string, string> = { enterprise: "Enterprise", free: "Free" };

export function renderHome(ctx: Ctx): void {
  const f = frame(ctx, "Workspaces and sites");
  const { workspaces, sites } = ctx.me;
  if (!workspaces.length && !sites.length) {
    f.main.append(h("p", {}, `You do not belong to any workspace yet. Ask a workspace admin to invite ${ctx.me.user.email}.`));
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
