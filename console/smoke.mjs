// Smoke check of the built console in Chromium against a fake OIDC issuer and a fake API, both in this file.
// It is not the end-to-end suite (that runs against the real backend); it checks that the page loads under the
// backend's Content-Security-Policy, signs in with code + PKCE, and that the token flow works with the keyboard.
//
//   npm run build && npm run smoke        (in the Chromium `go run ./cmd/chromium` prints: CHROMIUM, one installed,
//                                         or one fetched once from npm)
import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { chromium } from "playwright-core";

const consolePort = 4410;
const issuerPort = 4411;
const origin = `http://127.0.0.1:${consolePort}`;
const issuer = `http://127.0.0.1:${issuerPort}`;
const clientId = "console-smoke";
const csp = `default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ${issuer}; frame-ancestors 'none'; base-uri 'none'; form-action 'self' ${issuer}`;

const b64url = (b) => Buffer.from(b).toString("base64url");
const hex24 = () => randomBytes(12).toString("hex");
const now = () => new Date().toISOString();

// ---- fake issuer ----
const codes = new Map(); // code -> {challenge, redirectUri}
let idToken = "";
let lastAuthorize = null;
const issuerServer = http.createServer(async (req, res) => {
  const url = new URL(req.url, issuer);
  res.setHeader("Access-Control-Allow-Origin", "*");
  res.setHeader("Access-Control-Allow-Headers", "*");
  if (req.method === "OPTIONS") return res.writeHead(204).end();
  if (url.pathname === "/.well-known/openid-configuration") {
    return json(res, 200, {
      issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks`,
      response_types_supported: ["code"], subject_types_supported: ["public"], id_token_signing_alg_values_supported: ["RS256"],
      code_challenge_methods_supported: ["S256"],
    });
  }
  if (url.pathname === "/authorize") {
    lastAuthorize = Object.fromEntries(url.searchParams);
    const code = hex24();
    codes.set(code, { challenge: url.searchParams.get("code_challenge"), redirectUri: url.searchParams.get("redirect_uri") });
    const back = new URL(url.searchParams.get("redirect_uri"));
    back.searchParams.set("code", code);
    back.searchParams.set("state", url.searchParams.get("state"));
    return res.writeHead(302, { Location: back.toString() }).end();
  }
  if (url.pathname === "/token" && req.method === "POST") {
    const form = new URLSearchParams(await body(req));
    const c = codes.get(form.get("code"));
    const verifier = form.get("code_verifier") ?? "";
    if (!c || b64url(createHash("sha256").update(verifier).digest()) !== c.challenge || form.get("redirect_uri") !== c.redirectUri) {
      return json(res, 400, { error: "invalid_grant" });
    }
    codes.delete(form.get("code"));
    const t = Math.floor(Date.now() / 1000);
    idToken = [b64url(JSON.stringify({ alg: "RS256", typ: "JWT" })),
      b64url(JSON.stringify({ iss: issuer, sub: "person-1", aud: clientId, iat: t, exp: t + 3600, email: "admin@example.com", email_verified: true })),
      b64url("not-checked-by-the-browser")].join(".");
    return json(res, 200, { id_token: idToken, access_token: "at-" + hex24(), token_type: "Bearer", expires_in: 3600 });
  }
  res.writeHead(404).end();
});

// ---- fake API and static console ----
const ws = { id: hex24(), slug: "hitchhikers", displayName: "Hitchhikers", plan: "enterprise", role: "admin" };
const site1 = { id: hex24(), workspaceId: ws.id, displayName: "Heart of Gold Spaceship", shortName: "heart-of-gold", canManageTokens: true };
const site2 = { id: hex24(), workspaceId: hex24(), displayName: "Vogon Poetry", shortName: "vogon", canManageTokens: false };
const me = { user: { id: "u1", email: "admin@example.com" }, workspaces: [ws], sites: [site1, site2] };
const tokens = [{
  id: hex24(), kind: "site", name: "Old sync", displayHint: "tss_…k3Zq", siteId: site1.id, workspaceId: ws.id,
  permissions: { sites: "read" }, scope: "sites:read", createdOn: "2025-12-01T12:00:00.000Z",
  createdBy: { id: "u1", email: "admin@example.com" }, lastUsed: null, useCount: 0,
  expiresOn: new Date(Date.now() + 10 * 86400e3).toISOString(),
}];
const members = [{ id: hex24(), email: "admin@example.com", userId: "u1", role: "admin", addedOn: now(), addedBy: null }];
const requests = [];
const secrets = [];

function secret() {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  let s = "tss_";
  for (const b of randomBytes(46)) s += alphabet[b % 62];
  return s;
}

const api = async (req, res, url) => {
  requests.push({ method: req.method, path: url.pathname, auth: req.headers.authorization, idem: req.headers["idempotency-key"] });
  if (req.headers.authorization !== `Bearer ${idToken}`) return json(res, 401, { code: "not_authorized", message: "Request not authorized", details: [] });
  const p = url.pathname;
  if (p === "/v2/me") return json(res, 200, me);
  if (p === `/v2/sites/${site1.id}/tokens` && req.method === "GET") return json(res, 200, { apiTokens: tokens });
  if (p === `/v2/sites/${site1.id}/tokens` && req.method === "POST") {
    const b = JSON.parse(await body(req));
    if (b.name === "taken") return json(res, 400, { code: "validation_error", message: "Validation failed", details: [{ field: "name", message: "Name is already in use on this site" }] });
    const t = { id: hex24(), kind: "site", name: b.name, displayHint: "", siteId: site1.id, workspaceId: ws.id, permissions: b.permissions,
      scope: Object.entries(b.permissions).flatMap(([k, v]) => (v === "read_write" ? [`${k}:read`, `${k}:write`] : [`${k}:read`])).sort().join(","),
      createdOn: now(), createdBy: { id: "u1", email: "admin@example.com" }, lastUsed: null, useCount: 0, expiresOn: new Date(Date.now() + 365 * 86400e3).toISOString() };
    const s = secret();
    secrets.push(s);
    t.displayHint = `tss_…${s.slice(-4)}`;
    tokens.unshift(t);
    return json(res, 201, { token: s, apiToken: t });
  }
  const m = p.match(/^\/v2\/sites\/[0-9a-f]+\/tokens\/([0-9a-f]+)(\/regenerate)?$/);
  if (m && req.method === "DELETE") {
    const i = tokens.findIndex((t) => t.id === m[1]);
    if (i < 0) return json(res, 404, { code: "resource_not_found", message: "Not found", details: [] });
    tokens.splice(i, 1);
    return res.writeHead(204).end();
  }
  if (m && m[2] && req.method === "POST") {
    const t = tokens.find((x) => x.id === m[1]);
    const s = secret();
    secrets.push(s);
    return json(res, 200, { token: s, apiToken: t });
  }
  if (p === `/v2/workspaces/${ws.id}/members` && req.method === "GET") return json(res, 200, { members });
  if (p === `/v2/workspaces/${ws.id}/tokens` && req.method === "GET") return json(res, 200, { apiTokens: [] });
  if (p === `/v2/workspaces/${ws.id}/audit_logs`) {
    return json(res, 200, { items: [{ eventType: "api_token", eventSubType: "token_created", timestamp: now(), actor: { type: "person", id: "u1", email: "admin@example.com" },
      workspace: { id: ws.id, slug: ws.slug }, payload: { token: { id: hex24(), kind: "site", name: "Old sync", displayHint: "tss_…k3Zq" }, site: { id: site1.id, shortName: "heart-of-gold" }, scope: "sites:read" } }],
      pagination: { limit: 50, offset: 0, total: 1 } });
  }
  return json(res, 404, { code: "resource_not_found", message: "Not found", details: [] });
};

const dist = path.resolve("dist");
const consoleServer = http.createServer(async (req, res) => {
  const url = new URL(req.url, origin);
  if (url.pathname.startsWith("/v2/")) return api(req, res, url);
  const headers = { "Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer" };
  if (url.pathname === "/console") return res.writeHead(301, { ...headers, Location: "/console/" }).end();
  if (url.pathname === "/console/config.json") {
    return json(res, 200, { issuer, clientId, apiBaseUrl: "", redirectUri: `${origin}/console/`, postLogoutRedirectUri: `${origin}/console/` }, headers);
  }
  const manifest = JSON.parse(await readFile(path.join(dist, "manifest.json"), "utf8"));
  const rel = url.pathname === "/console/" ? "index.html" : url.pathname.replace(/^\/console\//, "");
  const file = manifest.files.find((f) => f.path === rel);
  if (!file) return res.writeHead(404, headers).end();
  res.writeHead(200, { ...headers, "Content-Type": file.contentType, "Cache-Control": file.cacheControl });
  res.end(await readFile(path.join(dist, file.path)));
});

function json(res, status, obj, headers = {}) {
  res.writeHead(status, { ...headers, "Content-Type": "application/json" });
  res.end(JSON.stringify(obj));
}
function body(req) {
  return new Promise((resolve) => { let s = ""; req.on("data", (c) => (s += c)); req.on("end", () => resolve(s)); });
}

// ---- checks ----
let passed = 0;
let failed = 0;
function check(name, ok, extra = "") {
  if (ok) passed++; else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${!ok && extra ? `: ${extra}` : ""}`);
}

await new Promise((r) => issuerServer.listen(issuerPort, "127.0.0.1", r));
await new Promise((r) => consoleServer.listen(consolePort, "127.0.0.1", r));
if (!process.env.CHROMIUM) throw new Error("CHROMIUM names no browser: set it to what `go run ./cmd/chromium` prints");
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const context = await browser.newContext({ permissions: ["clipboard-read", "clipboard-write"] });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => { if ((m.type() === "error" || m.type() === "warning") && !m.text().startsWith("Failed to load resource")) problems.push(m.text()); });
  // Failed responses are checked by URL: only the deliberate validation error may fail.
  let expect401 = false;
  page.on("response", (r) => {
    const expected = (r.status() === 400 && r.url().endsWith("/tokens")) || (r.status() === 401 && expect401);
    if (r.status() >= 400 && !expected) problems.push(`${r.status()} ${r.url()}`);
  });
  page.on("pageerror", (e) => problems.push(String(e)));
  const foreign = [];
  page.on("request", (r) => { const o = new URL(r.url()).origin; if (o !== origin && o !== issuer) foreign.push(r.url()); });
  const role = (r, name) => page.getByRole(r, { name, exact: true });
  // SHOTS=dir saves screenshots of the main screens.
  const shot = async (name) => { if (process.env.SHOTS) await page.screenshot({ path: path.join(process.env.SHOTS, `${name}.png`), fullPage: true }); };

  await page.goto(`${origin}/console#/sites/${site1.id}/api-access`);
  await role("heading", "Sign in to tokensmith").waitFor();
  check("sign-in page renders with one h1", (await page.locator("h1").count()) === 1);

  const authorize = page.waitForRequest((r) => r.url().startsWith(`${issuer}/authorize`));
  await role("button", "Sign in").click();
  await authorize;
  await role("heading", "API access").waitFor();
  check("sign-in redirects to the issuer with code + PKCE (S256)",
    lastAuthorize?.response_type === "code" && lastAuthorize?.code_challenge_method === "S256" && lastAuthorize?.client_id === clientId && !!lastAuthorize?.code_challenge,
    JSON.stringify(lastAuthorize));

  await role("heading", "API access").waitFor();
  check("back on the route the sign-in started from, without code or state in the URL",
    page.url() === `${origin}/console/#/sites/${site1.id}/api-access`, page.url());
  check("the API is called with the ID token", requests.some((r) => r.path === "/v2/me" && r.auth === `Bearer ${idToken}`));
  check("nothing in localStorage", (await page.evaluate(() => localStorage.length)) === 0);
  check("no cookies", (await context.cookies()).length === 0);
  await page.getByRole("row", { name: /Old sync/ }).waitFor();
  check("a token expiring within 30 days is flagged", await page.getByRole("row", { name: /Old sync/ }).getByText(/Expires in \d+ days unless used/).isVisible());

  // Generate with the keyboard alone.
  await role("button", "Generate API token").focus();
  await page.keyboard.press("Enter");
  check("the Name field has the focus", await role("textbox", "Name").evaluate((el) => el === document.activeElement));
  await page.keyboard.type("CMS sync");
  await page.keyboard.press("Tab"); // Assets
  await page.keyboard.press("Tab"); // CMS
  await page.keyboard.press("ArrowRight"); // Read-only
  await page.keyboard.press("ArrowRight"); // Read and write
  check("CMS: Read and write chosen by keyboard", await page.getByRole("radiogroup", { name: "CMS" }).getByRole("radio", { name: "Read and write" }).isChecked());
  check("Site activity offers only No access and Read-only",
    (await page.getByRole("radiogroup", { name: "Site activity" }).getByRole("radio").count()) === 2);
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate(() => document.activeElement?.textContent === "Generate token")) break;
  }
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Your new API token" });
  await dialog.waitFor();
  const field = dialog.getByRole("textbox", { name: "API token" });
  const shown = await field.inputValue();
  await shot("dialog");
  check("the new token is shown once, read-only, in the dialog", shown === secrets.at(-1) && (await field.getAttribute("readonly")) !== null);
  check("focus is inside the dialog", await dialog.evaluate((d) => d.contains(document.activeElement)));
  check("the create call carried an Idempotency-Key", !!requests.findLast((r) => r.method === "POST")?.idem);
  await dialog.getByRole("button", { name: "Copy", exact: true }).click();
  check("Copy puts the token on the clipboard", (await page.evaluate(() => navigator.clipboard.readText())) === shown);
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  const html = await page.content();
  await shot("list");
  const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }) + document.cookie + location.href + JSON.stringify(history.state));
  check("closing the dialog drops the secret from the page, storage and URL", !html.includes(shown) && !stored.includes(shown));
  check("focus returns to Generate API token", await role("button", "Generate API token").evaluate((el) => el === document.activeElement));
  check("the new token is listed", await page.getByRole("row", { name: /CMS sync/ }).isVisible());

  // A field error from the API appears next to the field.
  await role("button", "Generate API token").click();
  await role("textbox", "Name").fill("taken");
  await page.getByRole("radiogroup", { name: "Sites" }).getByRole("radio", { name: "Read-only" }).check();
  await role("button", "Generate token").click();
  await page.getByText("Name is already in use on this site.", { exact: true }).waitFor();
  await shot("form-error");
  check("a field error is tied to its field with aria-describedby",
    await role("textbox", "Name").evaluate((el) => (el.getAttribute("aria-describedby") ?? "").split(" ").some((id) => document.getElementById(id)?.textContent?.includes("already in use"))));
  await role("button", "Cancel").click();

  // Regenerate, then revoke after a confirmation.
  await page.getByRole("row", { name: /CMS sync/ }).getByRole("button", { name: "Regenerate" }).click();
  const regen = page.getByRole("dialog", { name: "Regenerate API token" });
  await regen.getByRole("radio", { name: "24 hours" }).check();
  await regen.getByRole("button", { name: "Regenerate token" }).click();
  await dialog.waitFor();
  check("regenerate shows the new secret in the same dialog", (await field.inputValue()) === secrets.at(-1));
  check("regenerate sent the grace period", requests.some((r) => r.path.endsWith("/regenerate")));
  await dialog.getByRole("button", { name: "Done" }).click();
  await page.getByRole("row", { name: /CMS sync/ }).getByRole("button", { name: "Revoke" }).click();
  const conf = page.getByRole("alertdialog", { name: "Revoke API token?" });
  await conf.waitFor();
  check("the confirmation has Cancel focused", await conf.getByRole("button", { name: "Cancel" }).evaluate((el) => el === document.activeElement));
  await conf.getByRole("button", { name: "Revoke token" }).click();
  await page.getByRole("row", { name: /CMS sync/ }).waitFor({ state: "detached" });
  check("revoked token leaves the list", true);

  // A person who may not mint sees why, and no Generate button.
  await page.goto(`${origin}/console/#/sites/${site2.id}/api-access`);
  await role("heading", "API access").waitFor();
  check("no Generate API token button without the role", (await role("button", "Generate API token").count()) === 0 && (await page.getByText(/only workspace admins and this site's administrators/).count()) === 1);

  for (const [hash, h1] of [[`#/workspaces/${ws.id}/members`, "Members"], [`#/workspaces/${ws.id}/audit-log`, "Audit log"], [`#/workspaces/${ws.id}/api-access`, "API access"], ["#/", "Workspaces and sites"]]) {
    await page.goto(`${origin}/console/${hash}`);
    await role("heading", h1).waitFor();
    check(`${h1}: one h1, main landmark`, (await page.locator("h1").count()) === 1 && (await page.getByRole("main").count()) === 1);
  }
  await page.goto(`${origin}/console/#/workspaces/${ws.id}/audit-log`);
  await page.getByRole("row", { name: /Token generated/ }).waitFor();
  check("audit log lists events", true);
  await shot("audit");

  // A refused user token ends the session: back to the sign-in page, the stored user gone.
  expect401 = true;
  idToken = "refused";
  await page.goto(`${origin}/console/#/workspaces/${ws.id}/members`);
  await role("heading", "Sign in to tokensmith").waitFor();
  check("a refused token sends the person to sign in again", await page.getByText("Your session has ended. Sign in again.").isVisible());
  check("the stored user is removed", (await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith("oidc.user")).length)) === 0);

  check("no console errors or CSP violations", problems.length === 0, problems.join(" | "));
  check("no third-party requests", foreign.length === 0, foreign.join(" "));
} catch (err) {
  check("smoke run", false, String(err));
} finally {
  await browser.close();
  issuerServer.close();
  consoleServer.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
