// Unit tests of the console's pure parts, run by Node's test runner (npm test).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { ApiError, toApiError, type ApiToken } from "../src/api";
import { parseConfig } from "../src/config";
import { eventName, eventTypes, localMidnight, parseFilters, subTypes, toQuery } from "../src/pages/audit";
import { describeAllowedIps, nameRanges, narrowerPrefill, parseAllowedIps, unusedLabel, unusedScopes } from "../src/pages/tokens";
import { daysUntil } from "../src/dom";
import { sentence } from "../src/errors";
import { siteApis } from "../src/generated/domain";
import { describePermissions } from "../src/permissions";
import { dayLabel, lifetimeChoices } from "../src/lifetime";
import { describeMaximum, maximumChoices } from "../src/pages/settings";

test("parseConfig accepts the five fields and trims the API base URL's trailing slash", () => {
  const got = parseConfig({ issuer: "https://id.example.com", clientId: "c", apiBaseUrl: "https://api.example.com/Prod/", redirectUri: "https://api.example.com/console/", postLogoutRedirectUri: "https://api.example.com/console/" });
  assert.equal(got.apiBaseUrl, "https://api.example.com/Prod");
  assert.equal(parseConfig({ ...got, apiBaseUrl: "" }).apiBaseUrl, "");
});

test("parseConfig names the bad field", () => {
  const ok = { issuer: "i", clientId: "c", apiBaseUrl: "", redirectUri: "r", postLogoutRedirectUri: "p" };
  const cases: [string, unknown, RegExp][] = [
    ["not an object", "x", /not a JSON object/],
    ["missing clientId", { ...ok, clientId: undefined }, /"clientId" must be a string/],
    ["empty issuer", { ...ok, issuer: "" }, /"issuer" must not be empty/],
    ["number redirectUri", { ...ok, redirectUri: 3 }, /"redirectUri" must be a string/],
  ];
  for (const [name, raw, want] of cases) assert.throws(() => parseConfig(raw), want, name);
});

test("describePermissions names the APIs as people see them and leaves out no access", () => {
  assert.equal(describePermissions({ sites: "read", cms: "read_write", forms: "none" }), "CMS: Read and write; Sites: Read-only");
  assert.equal(describePermissions({ forms: "none" }), "No access");
});

const day = 86400e3;
const now = Date.parse("2026-11-22T12:00:00.000Z");
function token(over: Partial<ApiToken>): ApiToken {
  return {
    id: "65f0c0ffee0123456789abcd", kind: "site", name: "CMS sync", displayHint: "tss_…k3Zq", siteId: "s", workspaceId: "w",
    permissions: { cms: "read_write", sites: "read" }, scope: "cms:read,cms:write,sites:read",
    createdOn: new Date(now - 90 * day).toISOString(), createdBy: { id: "65f0c0ffee0123456789abce", email: "ana@example.com" }, lastUsed: null,
    useCount: 0, expiresOn: new Date(now + 300 * day).toISOString(), expiresAt: null, allowedIps: [], scopeLastUsed: {},
    ...over,
  };
}

const ago = (ms: number) => new Date(now - ms).toISOString();

test("unusedScopes lists scopes unused for 30 days or more, never used ones once the token is 30 days old", () => {
  const cases: [string, ApiToken, string[]][] = [
    ["no scopeLastUsed reported", token({ scopeLastUsed: undefined }), []],
    ["token younger than 30 days: nothing, never used or not", token({ createdOn: ago(30 * day - 1), scopeLastUsed: { "cms:read": null, "cms:write": null, "sites:read": null } }), []],
    ["token exactly 30 days old: never used counts", token({ createdOn: ago(30 * day), scopeLastUsed: { "cms:read": ago(day), "cms:write": null, "sites:read": ago(day) } }), ["cms:write"]],
    ["never used (null) and used 31 days ago", token({ scopeLastUsed: { "cms:read": ago(day), "cms:write": null, "sites:read": ago(31 * day) } }), ["cms:write", "sites:read"]],
    ["last used exactly 30 days ago", token({ scopeLastUsed: { "cms:read": ago(30 * day), "cms:write": ago(0), "sites:read": ago(0) } }), ["cms:read"]],
    ["last used a millisecond under 30 days ago", token({ scopeLastUsed: { "cms:read": ago(30 * day - 1), "cms:write": ago(0), "sites:read": ago(0) } }), []],
    ["a scope missing from scopeLastUsed counts as never used", token({ scopeLastUsed: { "cms:read": ago(0), "cms:write": ago(0) } }), ["sites:read"]],
    ["all recent", token({ scopeLastUsed: { "cms:read": ago(day), "cms:write": ago(29 * day), "sites:read": ago(day) } }), []],
  ];
  for (const [name, t, want] of cases) assert.deepEqual(unusedScopes(t, now), want, name);
});

test("unusedLabel says in words whether a scope was never used or not lately", () => {
  const t = token({ scopeLastUsed: { "cms:read": ago(31 * day), "cms:write": null } });
  assert.equal(unusedLabel(t, "cms:write"), "CMS (write) — never used");
  assert.equal(unusedLabel(t, "cms:read"), "CMS (read) — not used in 30 days");
  assert.equal(unusedLabel(t, "sites:read"), "Sites (read) — never used");
});

test("narrowerPrefill keeps the name, the allowlist and only the levels the used scopes justify", () => {
  const ips = ["203.0.113.0/24", "2001:db8::/32"];
  const cases: [string, ApiToken, { name: string; permissions: Record<string, string>; allowedIps: string[] } | null][] = [
    ["read_write whose write is unused becomes read; an API with nothing used becomes none",
      token({ allowedIps: ips, scopeLastUsed: { "cms:read": ago(day), "cms:write": null, "sites:read": ago(40 * day) } }),
      { name: "CMS sync (narrower)", permissions: { cms: "read" }, allowedIps: ips }],
    ["write used keeps read_write", token({ scopeLastUsed: { "cms:read": null, "cms:write": ago(day), "sites:read": null } }),
      { name: "CMS sync (narrower)", permissions: { cms: "read_write" }, allowedIps: [] }],
    ["nothing unused: no offer", token({ scopeLastUsed: { "cms:read": ago(day), "cms:write": ago(day), "sites:read": ago(day) } }), null],
    ["nothing used: no offer", token({ scopeLastUsed: { "cms:read": null, "cms:write": ago(31 * day), "sites:read": null } }), null],
    ["younger than 30 days: no offer", token({ createdOn: ago(day), scopeLastUsed: { "cms:read": ago(day), "cms:write": null, "sites:read": null } }), null],
    ["a 100-character name keeps its suffix within 100 characters",
      token({ name: "é".repeat(100), scopeLastUsed: { "cms:read": null, "cms:write": null, "sites:read": ago(0) } }),
      { name: `${"é".repeat(89)} (narrower)`, permissions: { sites: "read" }, allowedIps: [] }],
  ];
  for (const [name, t, want] of cases) {
    const got = narrowerPrefill(t, siteApis, now);
    const granted = got && { ...got, permissions: Object.fromEntries(Object.entries(got.permissions).filter(([, l]) => l !== "none")) };
    assert.deepEqual(granted, want, name);
    if (got) assert.deepEqual(Object.keys(got.permissions).sort(), siteApis.map((a) => a.key).sort(), `${name}: every API has a level`);
  }
});

test("the allowlist field: one range a line, trimmed, empty lines dropped; shown as its ranges or Any address", () => {
  assert.deepEqual(parseAllowedIps(" 203.0.113.0/24 \r\n\n  \n2001:db8::/32\n"), ["203.0.113.0/24", "2001:db8::/32"]);
  assert.deepEqual(parseAllowedIps("  \n"), []);
  assert.equal(describeAllowedIps([]), "Any address");
  assert.equal(describeAllowedIps(undefined), "Any address");
  assert.equal(describeAllowedIps(["203.0.113.0/24", "2001:db8::/32"]), "203.0.113.0/24, 2001:db8::/32");
});

test("nameRanges puts the range in front of its allowedIps[i] detail and leaves the others", () => {
  const err = new ApiError(400, "validation_error", "Validation failed", [
    { field: "allowedIps[1]", message: "must be a CIDR range, such as 203.0.113.0/24 or 2001:db8::/32" },
    { field: "allowedIps", message: "must hold at most 20 CIDR ranges" },
    { field: "name", message: "is required" },
    { field: "allowedIps[9]", message: "out of what was sent" },
  ]);
  const got = nameRanges(err, ["10.0.0.0/8", "nonsense"]);
  assert.ok(got instanceof ApiError);
  assert.deepEqual(got.details.map((d) => d.message), [
    "nonsense: must be a CIDR range, such as 203.0.113.0/24 or 2001:db8::/32", "must hold at most 20 CIDR ranges", "is required", "out of what was sent",
  ]);
  assert.equal(got.code, "validation_error");
  const other = new Error("x");
  assert.equal(nameRanges(other, []), other);
});

test("audit filters: the To day is included, the API's to is exclusive", () => {
  const f = parseFilters("eventType=api_token&from=2026-11-01&to=2026-11-02&offset=50");
  assert.deepEqual(f, { eventType: "api_token", from: "2026-11-01", to: "2026-11-02", offset: 50 });
  const q = toQuery(f);
  assert.equal(q.from, localMidnight("2026-11-01"));
  assert.equal(q.to, localMidnight("2026-11-03"));
  assert.equal(q.limit, 50);
  assert.deepEqual(parseFilters("eventType=bogus&from=yesterday&offset=-3"), { eventType: "", from: "", to: "", offset: 0 });
});

test("toApiError keeps the code, message and well-formed field details", () => {
  const res = new Response(null, { status: 400 });
  const err = toApiError(res, { code: "validation_error", message: "Validation failed", details: [{ field: "name", message: "Too long" }, { nope: 1 }] });
  assert.equal(err.code, "validation_error");
  assert.equal(err.message, "Validation failed");
  assert.deepEqual(err.details, [{ field: "name", message: "Too long" }]);
  const limited = toApiError(new Response(null, { status: 429, headers: { "Retry-After": "7" } }), { code: "too_many_requests", message: "Too Many Requests" });
  assert.equal(limited.message, "Too many requests. Try again in 7 seconds.");
  const bare = toApiError(new Response(null, { status: 502 }), null);
  assert.equal(bare.code, "http_502");
});

test("daysUntil counts a part of a day as one, and the past as negative", () => {
  const now = Date.parse("2026-11-24T12:00:00Z");
  const at = (ms: number) => new Date(now + ms).toISOString();
  assert.equal(daysUntil(at(10 * day - 1000), now), 10);
  assert.equal(daysUntil(at(10 * day), now), 10);
  assert.equal(daysUntil(at(3600 * 1000), now), 1);
  assert.equal(daysUntil(at(-1000), now), -1);
});

// goConstants reads the string constants named prefix* from a Go source of the service (npm test runs in console/).
function goConstants(file: string, prefix: string): string[] {
  const src = readFileSync(path.join(process.cwd(), "..", file), "utf8");
  return [...src.matchAll(new RegExp(`^\\s*${prefix}\\w*\\s*=\\s*"([a-z_]+)"`, "gm"))].map((m) => m[1] ?? "");
}

test("the audit log names every event subtype and type the service records", () => {
  const subs = goConstants("internal/audit/audit.go", "Sub");
  assert.ok(subs.includes("invitation_accepted"), `subtypes read from internal/audit: ${subs.join(", ")}`);
  assert.deepEqual(Object.keys(subTypes).sort(), [...subs].sort());
  for (const sub of subs) assert.notEqual(eventName({ eventType: "x", eventSubType: sub }), `x ${sub}`, sub);
  assert.equal(eventName({ eventType: "workspace_membership", eventSubType: "invitation_accepted" }), "Invitation accepted");
  const types = goConstants("internal/audit/audit.go", "Type");
  assert.deepEqual(eventTypes.map((e) => e.value).filter(Boolean).sort(), [...types].sort());
});

test("sentence ends a message with a full stop once, so that messages read one after another", () => {
  assert.equal(sentence("must be a CIDR range, such as 203.0.113.0/24 or 2001:db8::/32"), "must be a CIDR range, such as 203.0.113.0/24 or 2001:db8::/32.");
  assert.equal(sentence("203.0.113.7/24: must be a network address (203.0.113.0/24, not 203.0.113.7/24)"), "203.0.113.7/24: must be a network address (203.0.113.0/24, not 203.0.113.7/24).");
  assert.equal(sentence("Enter a name for the API token. "), "Enter a name for the API token.");
  assert.equal(sentence("Is this right?"), "Is this right?");
});

test("src/generated/openapi.ts is what openapi-typescript makes of docs/openapi.yaml", () => {
  const cli = path.join("node_modules", "openapi-typescript", "bin", "cli.js");
  const want = execFileSync(process.execPath, [cli, path.join("..", "docs", "openapi.yaml")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const got = readFileSync(path.join("src", "generated", "openapi.ts"), "utf8");
  assert.ok(got === want, "src/generated/openapi.ts is stale: run npm run generate (or make bundle) and commit it");
});

test("lifetimeChoices offers the lifetimes within a workspace's maximum, No expiration only without one", () => {
  const labels = (max: number | null) => lifetimeChoices(max).map((c) => c.label);
  assert.deepEqual(labels(null), ["7 days", "30 days", "60 days", "90 days", "1 year", "No expiration"]);
  assert.deepEqual(labels(30), ["7 days", "30 days"]);
  assert.deepEqual(labels(45), ["7 days", "30 days", "45 days (the maximum)"]);
  assert.deepEqual(labels(3), ["3 days (the maximum)"]);
  assert.deepEqual(lifetimeChoices(366).map((c) => c.days), [7, 30, 60, 90, 365, 366]);
  assert.equal(dayLabel(365), "1 year");
  assert.equal(dayLabel(1), "1 day");
});

test("the maximum token lifetime: No maximum, the lifetimes, and a current value of its own", () => {
  assert.deepEqual(maximumChoices(null).map((c) => c.days), [null, 7, 30, 60, 90, 365]);
  assert.deepEqual(maximumChoices(45).map((c) => c.label), ["No maximum", "7 days", "30 days", "60 days", "90 days", "1 year", "45 days"]);
  assert.match(describeMaximum(30), /must expire within 30 days/);
  assert.match(describeMaximum(null), /No maximum/);
});
