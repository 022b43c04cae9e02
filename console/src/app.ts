// What every page gets: the API, the signed-in person, and the page frame (banner, breadcrumbs, main).
import type { Api, Me, MeSite, MeWorkspace } from "./api";
import type { Auth } from "./auth";
import { h, replace } from "./dom";
import { Alert, Status } from "./errors";

export interface Ctx {
  api: Api;
  auth: Auth;
  me: Me;
  /** reloadMe fetches /v2/me again (after a change to the person's own memberships). */
  reloadMe(): Promise<void>;
  /** rerender draws the current route again. */
  rerender(): void;
}

export interface Crumb { label: string; href?: string }
export interface LocalLink { label: string; href: string }

export interface Frame {
  main: HTMLElement;
  h1: HTMLHeadingElement;
  alert: Alert;
  status: Status;
}

const root = (): HTMLElement => document.getElementById("app") as HTMLElement;

/** frame draws the page chrome and returns the parts a page fills. There is exactly one h1. */
export function frame(ctx: Ctx | null, title: string, crumbs: Crumb[] = [], local: LocalLink[] = [], context?: string): Frame {
  document.title = context ? `${title} – ${context} – tokensmith` : `${title} – tokensmith`;
  const h1 = h("h1", { tabindex: -1 }, title);
  const alert = new Alert();
  const status = new Status();
  const main = h("main", { id: "main", tabindex: -1 });
  const here = location.hash || "#/";

  const banner = h("header", { class: "banner" },
    h("a", { class: "brand", href: "#/" }, "tokensmith"),
    ctx && h("div", { class: "who" },
      h("span", {}, "Signed in as ", h("strong", {}, ctx.me.user.email)),
      h("button", { type: "button", class: "button small", onclick: () => void ctx.auth.signOut() }, "Sign out")));

  const skip = h("a", { class: "skip", href: "#main" }, "Skip to main content");
  skip.addEventListener("click", (ev) => { ev.preventDefault(); main.focus(); });

  const nav = crumbs.length
    ? h("nav", { "aria-label": "Breadcrumb", class: "crumbs" },
        h("ol", {}, crumbs.map((c) => h("li", {}, c.href ? h("a", { href: c.href }, c.label) : h("span", { "aria-current": "page" }, c.label)))))
    : null;

  const localNav = local.length
    ? h("nav", { "aria-label": context ? `${context} sections` : "Sections", class: "tabs" },
        h("ul", {}, local.map((l) => h("li", {}, h("a", { href: l.href, "aria-current": l.href === here ? "page" : false }, l.label)))))
    : null;

  replace(main, context ? h("p", { class: "context" }, context) : null, h1, localNav, alert.el, status.el);
  replace(root(), skip, banner, nav, main);
  return { main, h1, alert, status };
}

export function findWorkspace(ctx: Ctx, id: string): MeWorkspace | undefined {
  return ctx.me.workspaces.find((w) => w.id === id);
}

export function findSite(ctx: Ctx, id: string): MeSite | undefined {
  return ctx.me.sites.find((s) => s.id === id);
}

export function workspaceLinks(ws: { id: string }): LocalLink[] {
  const base = `#/workspaces/${encodeURIComponent(ws.id)}`;
  return [
    { label: "API access", href: `${base}/api-access` },
    { label: "Members", href: `${base}/members` },
    { label: "Audit log", href: `${base}/audit-log` },
    { label: "Settings", href: `${base}/settings` },
  ];
}

export function siteLinks(ctx: Ctx, site: MeSite): LocalLink[] {
  const base = `#/sites/${encodeURIComponent(site.id)}`;
  const links = [{ label: "API access", href: `${base}/api-access` }];
  if (findWorkspace(ctx, site.workspaceId)?.role === "admin") links.push({ label: "Site administrators", href: `${base}/administrators` });
  return links;
}

export function workspaceCrumbs(ws: MeWorkspace | undefined, here: string): Crumb[] {
  const crumbs: Crumb[] = [{ label: "Workspaces", href: "#/" }];
  if (ws) crumbs.push({ label: ws.displayName, href: `#/workspaces/${encodeURIComponent(ws.id)}/api-access` });
  crumbs.push({ label: here });
  return crumbs;
}

export function siteCrumbs(ctx: Ctx, site: MeSite, here: string): Crumb[] {
  const ws = findWorkspace(ctx, site.workspaceId);
  const crumbs: Crumb[] = [{ label: "Workspaces", href: "#/" }];
  if (ws) crumbs.push({ label: ws.displayName, href: `#/workspaces/${encodeURIComponent(ws.id)}/api-access` });
  crumbs.push({ label: site.displayName, href: `#/sites/${encodeURIComponent(site.id)}/api-access` }, { label: here });
  return crumbs;
}

/** section makes a titled region of a page: <section aria-labelledby> with an h2. */
export function section(title: string, ...children: (Node | null | false)[]): HTMLElement {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return h("section", { "aria-labelledby": id, class: "panel" }, h("h2", { id, tabindex: -1 }, title), ...children);
}

export function newKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
