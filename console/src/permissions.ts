// How the console names APIs, levels and scopes; the APIs themselves are internal/scope's catalogue, generated.
import type { Level } from "./api";
import { siteApis, workspaceApis } from "./generated/domain";

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
