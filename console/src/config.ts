// The console's run-time configuration, served by the backend at config.json beside index.html.
import type { components } from "./generated/openapi";

/** ConsoleConfig is the shape of /console/config.json, as docs/openapi.yaml describes it. */
export type ConsoleConfig = components["schemas"]["ConsoleConfig"];

const keys: (keyof ConsoleConfig)[] = ["issuer", "clientId", "apiBaseUrl", "redirectUri", "postLogoutRedirectUri"];

/** parseConfig checks a decoded config.json and returns it, or throws naming the first bad field. */
export function parseConfig(raw: unknown): ConsoleConfig {
  if (typeof raw !== "object" || raw === null) throw new Error("config.json is not a JSON object");
  const obj = raw as Record<string, unknown>;
  for (const k of keys) {
    if (typeof obj[k] !== "string") throw new Error(`config.json: "${k}" must be a string`);
    if (k !== "apiBaseUrl" && obj[k] === "") throw new Error(`config.json: "${k}" must not be empty`);
  }
  return {
    issuer: obj.issuer as string,
    clientId: obj.clientId as string,
    apiBaseUrl: (obj.apiBaseUrl as string).replace(/\/+$/, ""),
    redirectUri: obj.redirectUri as string,
    postLogoutRedirectUri: obj.postLogoutRedirectUri as string,
  };
}

/** loadConfig fetches config.json relative to the page (so a stage prefix such as /Prod/console/ works). */
export async function loadConfig(): Promise<ConsoleConfig> {
  const res = await fetch(new URL("config.json", document.baseURI), { cache: "no-store", credentials: "omit" });
  if (!res.ok) throw new Error(`config.json: HTTP ${res.status}`);
  return parseConfig(await res.json());
}
