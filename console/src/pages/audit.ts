// Audit log: the workspace's events, newest first, filtered by event type and dates, a page at a time.
import type { AuditEvent, AuditQuery } from "../api";
import { section, type Ctx, type Frame } from "../app";
import { announce, h, replace, scrollRegion, time, uid } from "../dom";
import { Alert, FieldErrors } from "../errors";
import { scopeName } from "../permissions";

export const pageSize = 50;

export const eventTypes: readonly { value: string; label: string }[] = [
  { value: "", label: "All events" },
  { value: "api_token", label: "API tokens" },
  { value: "workspace_membership", label: "Workspace membership" },
  { value: "site_membership", label: "Site membership" },
  { value: "workspace_setting", label: "Workspace settings" },
  { value: "trusted_workload", label: "Trusted workloads" },
  { value: "site_setting", label: "Site settings" },
];

/** subTypes names every event subtype the service records (internal/audit), as people read it. */
export const subTypes: Readonly<Record<string, string>> = {
  token_created: "Token generated",
  token_regenerated: "Token regenerated",
  token_revoked: "Token revoked",
  token_expired: "Token expired",
  token_exchanged: "Token exchanged by a trusted workload",
  user_added: "Person added",
  user_removed: "Person removed",
  user_role_updated: "Role changed",
  invitation_accepted: "Invitation accepted",
  setting_updated: "Setting changed",
  workload_created: "Workload trusted",
  workload_deleted: "Workload no longer trusted",
};

/** eventName is the readable name of an event, or its raw type and subtype for one this page does not know. */
export function eventName(e: { eventType: string; eventSubType: string }): string {
  return subTypes[e.eventSubType] ?? `${e.eventType} ${e.eventSubType}`;
}

// focusResults is set when the person asked for other events (filters, a page): once they are drawn, the focus
// goes to the Events heading and their count is announced, rather than to the top of the page.
let focusResults = false;

/** resultsTakeFocus says whether the route about to be drawn is the audit log redrawn for other events, which
 * moves the focus itself (to the Events heading), so the page's heading must not take it first. */
export function resultsTakeFocus(): boolean {
  return focusResults;
}

/** Filters are the page's state, kept in the route's query (dates as YYYY-MM-DD in the person's time zone). */
export interface Filters { eventType: string; from: string; to: string; offset: number }

export function parseFilters(query: string): Filters {
  const q = new URLSearchParams(query);
  const offset = Number(q.get("offset") ?? "0");
  const date = (s: string | null) => (s && /^\d{4}-\d{2}-\d{2}$/.test(s) ? s : "");
  const et = q.get("eventType") ?? "";
  return {
    eventType: eventTypes.some((e) => e.value === et) ? et : "",
    from: date(q.get("from")),
    to: date(q.get("to")),
    offset: Number.isInteger(offset) && offset > 0 ? offset : 0,
  };
}

/** goTo shows the events f selects, keeping the focus on the results. */
function goTo(ctx: Ctx, wsId: string, f: Filters): void {
  focusResults = true;
  const next = filtersHash(wsId, f);
  if (next === location.hash) ctx.rerender();
  else location.hash = next;
}

function filtersHash(wsId: string, f: Filters): string {
  const q = new URLSearchParams();
  if (f.eventType) q.set("eventType", f.eventType);
  if (f.from) q.set("from", f.from);
  if (f.to) q.set("to", f.to);
  if (f.offset) q.set("offset", String(f.offset));
  const s = q.toString();
  return `#/workspaces/${encodeURIComponent(wsId)}/audit-log${s ? `?${s}` : ""}`;
}

/** localMidnight is the RFC 3339 instant at the start of a YYYY-MM-DD day in the person's time zone, plus days. */
export function localMidnight(ymd: string, plusDays = 0): string {
  const [y, m, d] = ymd.split("-").map(Number) as [number, number, number];
  return new Date(y, m - 1, d + plusDays).toISOString();
}

export function toQuery(f: Filters): AuditQuery {
  const q: AuditQuery = { limit: pageSize, offset: f.offset };
  if (f.eventType) q.eventType = f.eventType;
  if (f.from) q.from = localMidnight(f.from);
  if (f.to) q.to = localMidnight(f.to, 1); // the "to" day is included: the API's to is exclusive
  return q;
}

export function renderAudit(ctx: Ctx, f: Frame, wsId: string, filters: Filters): void {
  f.main.append(h("p", { class: "lead" }, "Every change to this workspace's API tokens, members and settings, newest first."));
  const alert = new Alert("form-alert");
  const errors = new FieldErrors(alert);

  const typeId = uid("type");
  const typeErr = h("p", {});
  const type = h("select", { id: typeId, name: "eventType" }, eventTypes.map((e) => h("option", { value: e.value, selected: e.value === filters.eventType }, e.label)));
  errors.register("eventType", type, typeErr);
  const dateField = (label: string, name: "from" | "to", value: string) => {
    const id = uid(name);
    const err = h("p", {});
    const input = h("input", { id, name, type: "date", value });
    errors.register(name, input, err);
    return { input, el: h("div", { class: "field" }, h("label", { for: id }, label), input, err) };
  };
  const from = dateField("From", "from", filters.from);
  const to = dateField("To", "to", filters.to);
  const form = h("form", { novalidate: true, class: "filters", role: "search", "aria-label": "Filter events" },
    alert.el,
    h("div", { class: "field" }, h("label", { for: typeId }, "Event type"), type, typeErr),
    from.el, to.el,
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "button primary" }, "Apply filters"),
      h("button", { type: "button", class: "button", onclick: () => goTo(ctx, wsId, { eventType: "", from: "", to: "", offset: 0 }) }, "Clear filters")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    errors.clear();
    const next: Filters = { eventType: type.value, from: from.input.value, to: to.input.value, offset: 0 };
    if (next.from && next.to && next.to < next.from) {
      errors.set("to", "Choose a date on or after the From date.");
      errors.focusFirst();
      return;
    }
    goTo(ctx, wsId, next);
  });

  const results = h("div", { class: "list-body" }, h("p", { class: "loading" }, "Loading events…"));
  const events = section("Events", results);
  f.main.append(form, events);
  const focusHere = focusResults;
  focusResults = false;

  void (async () => {
    try {
      const page = await ctx.api.auditLogs(wsId, toQuery(filters));
      const summary = draw(page.items, page.pagination);
      if (focusHere) {
        events.querySelector<HTMLElement>("h2")?.focus();
        announce(summary);
      }
    } catch (err) {
      replace(results);
      errors.show(err);
    }
  })();

  /** draw shows a page of events and returns what it shows, in a sentence. */
  function draw(items: AuditEvent[], p: { limit: number; offset: number; total: number }): string {
    if (!items.length) {
      const none = p.total && p.offset ? "No more events." : "No events match these filters.";
      replace(results, h("p", {}, none), pager(p, 0));
      return none;
    }
    replace(results,
      scrollRegion("Events table", h("table", {},
        h("caption", { class: "visually-hidden" }, "Events, newest first"),
        h("thead", {}, h("tr", {}, ["Time", "Event", "By", "Details"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, items.map((e) => h("tr", {},
          h("td", {}, time(e.timestamp)),
          h("th", { scope: "row" }, eventName(e)),
          h("td", {}, actorText(e)),
          h("td", {}, details(e))))))),
      pager(p, items.length));
    return `Showing events ${p.offset + 1}–${p.offset + items.length} of ${p.total}.`;
  }

  function pager(p: { limit: number; offset: number; total: number }, shown: number): HTMLElement {
    const first = shown ? p.offset + 1 : 0;
    const last = p.offset + shown;
    const go = (offset: number) => goTo(ctx, wsId, { ...filters, offset: Math.max(0, offset) });
    return h("nav", { "aria-label": "Pages of events", class: "pager" },
      h("p", {}, shown ? `Events ${first}–${last} of ${p.total}` : `${p.total} events`),
      h("button", { type: "button", class: "button", disabled: p.offset <= 0, onclick: () => go(p.offset - pageSize) }, "Previous page"),
      h("button", { type: "button", class: "button", disabled: last >= p.total, onclick: () => go(p.offset + pageSize) }, "Next page"));
  }
}

function actorText(e: AuditEvent): string {
  switch (e.actor.type) {
    case "person": return e.actor.email ?? e.actor.id ?? "A person";
    case "token": return `API token ${e.actor.id ?? ""}`.trim();
    case "partner": return e.actor.id === "github" ? "GitHub secret scanning" : `Partner ${e.actor.id ?? ""}`.trim();
    case "system": return e.actor.email ? `System (${e.actor.email})` : "System";
    default: return e.actor.type;
  }
}

/** details summarises an event's payload: the token, the site, the scopes, and any other plain values. */
function details(e: AuditEvent): string {
  const parts: string[] = [];
  const seen = new Set<string>();
  const p = e.payload ?? {};
  const token = p.token as { name?: string; displayHint?: string; kind?: string } | undefined;
  if (token) {
    parts.push(`${token.kind === "workspace" ? "Workspace token" : "Token"} “${token.name ?? ""}” ${token.displayHint ?? ""}`.trim());
    seen.add("token");
  }
  const site = p.site as { shortName?: string; id?: string } | undefined;
  if (site) {
    parts.push(`Site ${site.shortName ?? site.id ?? ""}`.trim());
    seen.add("site");
  }
  if (typeof p.scope === "string") {
    parts.push(`Scopes: ${p.scope.split(",").filter(Boolean).map(scopeName).join(", ") || "none"}`);
    seen.add("scope");
  }
  if (Array.isArray(p.allowedIps)) {
    parts.push(`Allowed IP ranges: ${p.allowedIps.join(", ")}`);
    seen.add("allowedIps");
  }
  const member = p.member as { email?: string } | undefined;
  if (member?.email) {
    parts.push(`Member ${member.email}`);
    seen.add("member");
  }
  if (typeof p.url === "string") {
    parts.push(`Found at ${p.url}`);
    seen.add("url");
  }
  for (const [k, v] of Object.entries(p)) {
    if (seen.has(k)) continue;
    if (v === null || typeof v !== "object") parts.push(`${k}: ${String(v)}`);
    else for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) if (v2 === null || typeof v2 !== "object") parts.push(`${k} ${k2}: ${String(v2)}`);
  }
  return parts.join(" · ") || "—";
}
