// The one table of APIs a token can be granted (API.md section 3): key, the name Webflow shows, the most allowed.
import type { Level } from "./api";

export interface ApiScope { key: string; name: string; max: Level }

export const siteApis: readonly ApiScope[] = [
  { key: "assets", name: "Assets", max: "read_write" },
  { key: "cms", name: "CMS", max: "read_write" },
  { key: "comments", name: "Comments", max: "read_write" },
  { key: "components", name: "Components", max: "read_write" },
  { key: "ecommerce", name: "Ecommerce", max: "read_write" },
  { key: "forms", name: "Forms", max: "read_write" },
  { key: "pages", name: "Pages", max: "read_write" },
  { key: "sites", name: "Sites", max: "read_write" },
  { key: "site_activity", name: "Site activity", max: "read" },
  { key: "site_config", name: "Site configuration", max: "read_write" },
  { key: "users", name: "Users", max: "read_write" },
  { key: "webhooks", name: "Webhooks", max: "read_write" },
];

export const workspaceApis: readonly ApiScope[] = [
  { key: "workspace_activity", name: "Workspace activity", max: "read" },
];

export const levelNames: Record<Level, string> = {
  none: "No access",
  read: "Read-only",
  read_write: "Read and write",
};

const allNames = new Map([...siteApis, ...workspaceApis].map((a) => [a.key, a.name]));

/** apiName is the display name of an API key, or the key itself for one the table does not know. */
export function apiName(key: string): string {
  return allNames.get(key) ?? key;
}

/** describePermissions renders a token's permissions as "CMS: Read and write; Sites: Read-only". */
export function describePermissions(p: Record<string, Level>): string {
  const parts = Object.entries(p)
    .filter(([, lvl]) => lvl !== "none")
    .sort(([a], [b]) => apiName(a).localeCompare(apiName(b)))
    .map(([k, lvl]) => `${apiName(k)}: ${levelNames[lvl] ?? lvl}`);
  return parts.length ? parts.join("; ") : "No access";
}

/** scopeName renders a scope such as "cms:write" as "CMS (write)". */
export function scopeName(scope: string): string {
  const [api = scope, action = ""] = scope.split(":");
  return action ? `${apiName(api)} (${action})` : apiName(api);
}

/** levelFromScopes is the level that a set of used scopes justifies for one API. */
export function levelFromScopes(api: string, used: Set<string>): Level {
  if (used.has(`${api}:write`)) return "read_write";
  if (used.has(`${api}:read`)) return "read";
  return "none";
}
