// The console's entry point: load config.json, finish or start sign-in, then route by the URL's hash.
import "./styles.css";
import { Api, ApiError, SessionEnded, type Me } from "./api";
import { frame, findSite, findWorkspace, siteCrumbs, siteLinks, workspaceCrumbs, workspaceLinks, type Ctx } from "./app";
import { Auth } from "./auth";
import { loadConfig } from "./config";
import { h } from "./dom";
import { describe } from "./errors";
import { renderAudit, parseFilters, resultsTakeFocus } from "./pages/audit";
import { renderHome } from "./pages/home";
import { renderMembers } from "./pages/members";
import { renderSettings } from "./pages/settings";
import { renderTokens } from "./pages/tokens";
import { siteApis, workspaceApis } from "./generated/domain";

let firstRender = true;

function signInPage(auth: Auth | null, message?: string): void {
  const f = frame(null, "Sign in to tokensmith");
  if (message) f.alert.show(message);
  if (!auth) return;
  f.main.append(
    h("p", { class: "lead" }, "Manage your sites' and workspaces' API tokens, members and audit log."),
    h("button", {
      type: "button",
      class: "button primary",
      onclick: async (ev: Event) => {
        const b = ev.currentTarget as HTMLButtonElement;
        b.disabled = true;
        f.alert.clear();
        try {
          await auth.signIn(location.hash.startsWith("#/") ? location.hash : "#/");
        } catch {
          b.disabled = false;
          f.alert.show("The sign-in service could not be reached. Try again in a moment.");
        }
      },
    }, "Sign in"));
}

function notFound(ctx: Ctx, what = "page"): void {
  const f = frame(ctx, "Not found", [{ label: "Workspaces", href: "#/" }, { label: "Not found" }]);
  f.main.append(h("p", {}, `This ${what} does not exist, or you do not have access to it.`), h("p", {}, h("a", { href: "#/" }, "Back to your workspaces")));
}

function route(ctx: Ctx): void {
  const hash = location.hash || "#/";
  const [path = "", query = ""] = hash.slice(1).split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);

  if (parts.length === 0) {
    renderHome(ctx);
  } else if (parts[0] === "workspaces" && parts.length === 3) {
    const ws = findWorkspace(ctx, parts[1] ?? "");
    if (!ws) return notFound(ctx, "workspace");
    const isAdmin = ws.role === "admin";
    const enterprise = ws.plan === "enterprise";
    const page = parts[2];
    if (page === "api-access") {
      const f = frame(ctx, "API access", workspaceCrumbs(ws, "API access"), workspaceLinks(ws), ws.displayName);
      renderTokens(f, {
        kind: "workspace", noun: "workspace", apis: workspaceApis,
        canList: isAdmin, canCreate: isAdmin && enterprise,
        whyNot: !isAdmin
          ? "Only workspace admins can view and generate workspace API tokens. You are a member of this workspace."
          : "Workspace API tokens are only available for workspaces on the Enterprise plan. This workspace is not, so no new token can be generated; existing ones can still be revoked.",
        list: async () => (await ctx.api.workspaceTokens(ws.id)).apiTokens,
        create: (body, key) => ctx.api.createWorkspaceToken(ws.id, body, key),
        revoke: (id) => ctx.api.revokeWorkspaceToken(ws.id, id),
        policy: async () => (await ctx.api.workspaceSettings(ws.id)).maxTokenLifetimeDays ?? null,
      });
    } else if (page === "settings") {
      const f = frame(ctx, "Settings", workspaceCrumbs(ws, "Settings"), workspaceLinks(ws), ws.displayName);
      renderSettings(f, {
        canEdit: isAdmin,
        read: () => ctx.api.workspaceSettings(ws.id),
        update: (days) => ctx.api.updateWorkspaceSettings(ws.id, days),
      });
    } else if (page === "members") {
      const f = frame(ctx, "Members", workspaceCrumbs(ws, "Members"), workspaceLinks(ws), ws.displayName);
      if (!isAdmin) {
        f.main.append(h("p", { class: "notice" }, "Only workspace admins can view and manage members. You are a member of this workspace."));
        return;
      }
      renderMembers(ctx, f, {
        kind: "workspace",
        list: async () => (await ctx.api.workspaceMembers(ws.id)).members,
        add: (email, role) => ctx.api.addWorkspaceMember(ws.id, email, role),
        setRole: (id, role) => ctx.api.setWorkspaceMemberRole(ws.id, id, role),
        remove: (id) => ctx.api.removeWorkspaceMember(ws.id, id),
      });
    } else if (page === "audit-log") {
      const f = frame(ctx, "Audit log", workspaceCrumbs(ws, "Audit log"), workspaceLinks(ws), ws.displayName);
      if (!isAdmin) {
        f.main.append(h("p", { class: "notice" }, "Only workspace admins can read the audit log. You are a member of this workspace."));
      } else if (!enterprise) {
        f.main.append(h("p", { class: "notice" }, "Audit logs are only available for workspaces on the Enterprise plan."));
      } else {
        renderAudit(ctx, f, ws.id, parseFilters(query));
      }
    } else {
      return notFound(ctx);
    }
  } else if (parts[0] === "sites" && parts.length === 3) {
    const site = findSite(ctx, parts[1] ?? "");
    if (!site) return notFound(ctx, "site");
    const wsAdmin = findWorkspace(ctx, site.workspaceId)?.role === "admin";
    if (parts[2] === "api-access") {
      const f = frame(ctx, "API access", siteCrumbs(ctx, site, "API access"), siteLinks(ctx, site), site.displayName);
      renderTokens(f, {
        kind: "site", noun: "site", apis: siteApis,
        canList: site.canManageTokens, canCreate: site.canManageTokens,
        whyNot: "You can see this site because you belong to its workspace, but only workspace admins and this site's administrators can view and generate its API tokens.",
        list: async () => (await ctx.api.siteTokens(site.id)).apiTokens,
        create: (body, key) => ctx.api.createSiteToken(site.id, body, key),
        regenerate: (id, grace, days) => ctx.api.regenerateSiteToken(site.id, id, grace, days),
        revoke: (id) => ctx.api.revokeSiteToken(site.id, id),
        policy: async () => (await ctx.api.workspaceSettings(site.workspaceId)).maxTokenLifetimeDays ?? null,
      });
    } else if (parts[2] === "administrators") {
      const f = frame(ctx, "Site administrators", siteCrumbs(ctx, site, "Site administrators"), siteLinks(ctx, site), site.displayName);
      if (!wsAdmin) {
        f.main.append(h("p", { class: "notice" }, "Only admins of this site's workspace can manage its site administrators."));
        return;
      }
      renderMembers(ctx, f, {
        kind: "site",
        list: async () => (await ctx.api.siteMembers(site.id)).members,
        add: (email) => ctx.api.addSiteMember(site.id, email),
        remove: (id) => ctx.api.removeSiteMember(site.id, id),
      });
    } else {
      return notFound(ctx);
    }
  } else {
    return notFound(ctx);
  }
}

function show(ctx: Ctx): void {
  const resultsFocus = resultsTakeFocus();
  route(ctx);
  if (!firstRender && !resultsFocus) document.querySelector<HTMLElement>("main h1")?.focus();
  firstRender = false;
}

async function start(): Promise<void> {
  let auth: Auth;
  let cfg;
  try {
    cfg = await loadConfig();
    auth = new Auth(cfg);
  } catch (err) {
    signInPage(null, `The console is not configured: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }

  if (Auth.isCallback(location)) {
    try {
      const back = await auth.completeSignIn();
      history.replaceState(null, "", `${location.pathname}${back}`);
    } catch {
      signInPage(auth, "Sign-in did not complete. Try again.");
      return;
    }
  }

  if (!(await auth.signedIn())) {
    signInPage(auth);
    return;
  }

  let ended = false;
  const api = new Api(cfg.apiBaseUrl, auth, () => {
    if (ended) return;
    ended = true;
    signInPage(auth, new SessionEnded().message);
  });
  let me: Me;
  const fetchMe = async () => { me = await api.me(); };
  try {
    await fetchMe();
  } catch (err) {
    if (!(err instanceof SessionEnded)) signInPage(auth, `Your workspaces could not be loaded: ${describe(err)}`);
    return;
  }

  const ctx: Ctx = {
    api, auth,
    get me() { return me; },
    reloadMe: fetchMe,
    rerender: () => show(ctx),
  };
  window.addEventListener("hashchange", () => {
    if (location.hash === "#main" || ended) return;
    show(ctx);
  });
  window.addEventListener("unhandledrejection", (ev) => {
    if (ev.reason instanceof ApiError) document.querySelector<HTMLElement>("main [role=alert]")?.append(h("p", {}, describe(ev.reason)));
  });
  show(ctx);
}

void start();
