// End-to-end tests of the console in Chromium against the real local stack (the Go test
// TestConsoleInBrowser in internal/localdev starts it, seeds it and runs this file; `make test` runs that).
//
//   E2E_CONFIG=stack.json node e2e.mjs     (CHROMIUM=/path/to/chromium to override /usr/bin/chromium;
//                                           SHOTS=dir saves screenshots of the main pages)
//
// stack.json: {baseUrl, siteId, workspaceId, freeWorkspaceId, adminEmail, memberEmail}
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { chromium } from "playwright-core";

const stack = JSON.parse(await readFile(process.env.E2E_CONFIG, "utf8"));
const base = stack.baseUrl;
const consoleUrl = `${base}/console/`;
const axeSource = await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let passed = 0;
let failed = 0;
const metrics = {};
function check(name, ok, extra = "") {
  if (ok) passed++; else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${!ok && extra ? `: ${extra}` : ""}`);
}

async function api(method, p, secret, body) {
  const r = await fetch(base + p, {
    method, headers: { Authorization: `Bearer ${secret}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

// session opens a fresh browser context, signs in as email through the local issuer's page and lands on hash.
// It records problems (console errors, CSP violations, failed requests not expected) and every secret the
// page was shown, so that the end of each test can look for them in the page's storage.
async function session(email, hash) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const s = { context, page, problems: [], secrets: [], expected: new Set(), audited: [] };
  page.on("console", (m) => { if ((m.type() === "error" || m.type() === "warning") && !m.text().startsWith("Failed to load resource")) s.problems.push(m.text()); });
  page.on("pageerror", (e) => s.problems.push(String(e)));
  page.on("response", (r) => {
    if (r.status() >= 400 && !s.expected.has(`${r.status()} ${new URL(r.url()).pathname}`)) s.problems.push(`${r.status()} ${r.url()}`);
  });
  page.on("request", (r) => { if (new URL(r.url()).origin !== base) s.problems.push(`third-party request ${r.url()}`); });
  const started = Date.now();
  await page.goto(consoleUrl + hash);
  await role(page, "heading", "Sign in to tokensmith").waitFor();
  if (!metrics.firstLoad) {
    // The first visit, cache empty: every file the page loaded from /console/, as the wire carried it.
    metrics.firstLoad = await page.evaluate(() => [performance.getEntriesByType("navigation")[0], ...performance.getEntriesByType("resource")]
      .filter((e) => new URL(e.name).pathname.startsWith("/console/"))
      .map((e) => ({ path: new URL(e.name).pathname, encoded: e.encodedBodySize, decoded: e.decodedBodySize })));
  }
  await axe(s, "sign-in page");
  await role(page, "button", "Sign in").click();
  await role(page, "button", email).waitFor();
  await axe(s, "local issuer's sign-in page");
  await role(page, "button", email).click();
  await page.waitForURL((u) => u.href.startsWith(consoleUrl) && !u.search.includes("code="));
  s.started = started;
  return s;
}

const role = (page, r, name) => page.getByRole(r, { name, exact: true });

// axe runs axe-core in the page (evaluated through the DevTools protocol, which the page's
// Content-Security-Policy does not govern) and fails on serious or critical violations.
async function axe(s, name) {
  await s.page.evaluate(axeSource);
  const result = await s.page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  s.audited.push(name);
  check(`axe: ${name} has no serious or critical violations`, bad.length === 0,
    bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`).join("; "));
}

// finish checks what every test must leave behind: no secret in the page's storage or cookies, no
// console error or CSP violation, and closes the context.
async function finish(s, name) {
  const stored = await s.page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }) + document.cookie);
  const cookies = JSON.stringify(await s.context.cookies());
  const leaked = s.secrets.filter((x) => stored.includes(x) || cookies.includes(x));
  check(`${name}: no token secret in localStorage, sessionStorage or cookies`, leaked.length === 0, `${leaked.length} found`);
  check(`${name}: localStorage and cookies are empty`, (await s.page.evaluate(() => localStorage.length)) === 0 && (await s.context.cookies()).length === 0);
  check(`${name}: no console errors, CSP violations or unexpected failures`, s.problems.length === 0, s.problems.join(" | "));
  await s.context.close();
}

const shot = async (page, name) => {
  if (process.env.SHOTS) await page.screenshot({ path: path.join(process.env.SHOTS, `console-${name}.png`), fullPage: true });
};

async function test(name, fn) {
  console.log(`# ${name}`);
  try {
    await fn();
  } catch (err) {
    check(name, false, err?.stack ?? String(err));
  }
}

const siteHash = `#/sites/${stack.siteId}/api-access`;
const dialogName = "Your new API token";

await test("admin generates, uses, regenerates and revokes a site token", async () => {
  const s = await session(stack.adminEmail, siteHash);
  const { page } = s;
  await role(page, "heading", "API access").waitFor();
  await page.getByRole("table").or(page.getByText(/No API tokens/i)).first().waitFor();
  check("back on the route the sign-in started from", page.url() === consoleUrl + siteHash, page.url());
  await axe(s, "site API access");
  await shot(page, "api-access");

  // Generate with the keyboard alone: Name, CMS read and write, Sites read-only.
  await role(page, "button", "Generate API token").focus();
  await page.keyboard.press("Enter");
  check("the Name field has the focus", await role(page, "textbox", "Name").evaluate((el) => el === document.activeElement));
  await page.keyboard.type("CMS sync");
  const group = (name) => page.getByRole("radiogroup", { name, exact: true });
  // Tab through the permission groups; in each, arrows choose. CMS: Read and write; Sites: Read-only.
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press("Tab");
    const at = await page.evaluate(() => document.activeElement?.closest("[role=radiogroup]")?.getAttribute("aria-labelledby"));
    const label = at ? await page.evaluate((id) => document.getElementById(id)?.textContent, at) : null;
    if (label === "CMS") { await page.keyboard.press("ArrowRight"); await page.keyboard.press("ArrowRight"); }
    if (label === "Sites") { await page.keyboard.press("ArrowRight"); break; }
  }
  check("CMS: Read and write, chosen with the keyboard", await group("CMS").getByRole("radio", { name: "Read and write" }).isChecked());
  check("Sites: Read-only, chosen with the keyboard", await group("Sites").getByRole("radio", { name: "Read-only" }).isChecked());
  await axe(s, "generate form");
  await shot(page, "generate");
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate(() => document.activeElement?.textContent === "Generate token")) break;
  }
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: dialogName });
  await dialog.waitFor();
  const field = dialog.getByRole("textbox", { name: "API token" });
  const secret = await field.inputValue();
  s.secrets.push(secret);
  check("the dialog shows the secret, read-only, with the focus inside", secret.startsWith("tss_") && (await field.getAttribute("readonly")) !== null &&
    await dialog.evaluate((d) => d.contains(document.activeElement)));
  await axe(s, "new token dialog");
  await shot(page, "new-token");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  check("closing the dialog drops the secret from the page", !(await page.content()).includes(secret));
  // The list is drawn again as the dialog closes: wait for the focus to settle on the button.
  const refocused = await page.waitForFunction(() => {
    const el = document.activeElement;
    return el instanceof HTMLButtonElement && el.textContent?.trim() === "Generate API token";
  }, null, { timeout: 5000 }).then(() => true, () => false);
  check("focus returns to Generate API token", refocused);
  await page.getByRole("row", { name: /CMS sync/ }).waitFor();

  // The secret works on the data API with exactly the chosen scopes.
  const sites = await api("GET", "/v2/sites", secret);
  check("GET /v2/sites with the new token: 200, the site", sites.status === 200 && sites.json?.sites?.[0]?.id === stack.siteId, sites.text);
  const intro = await api("GET", "/v2/token/introspect", secret);
  const scopes = intro.json?.authorization?.scope ?? "";
  check("introspection shows cms:read, cms:write and sites:read only", intro.status === 200 &&
    JSON.stringify(String(scopes).split(",").map((x) => x.trim()).sort()) === JSON.stringify(["cms:read", "cms:write", "sites:read"]), intro.text);
  const audit = await api("GET", `/v2/workspaces/${stack.workspaceId}/audit_logs`, secret);
  check("a scope not chosen: 403 missing_scopes", audit.status === 403 && audit.json?.code === "missing_scopes", audit.text);

  // Regenerate with a grace period of an hour: both secrets work.
  await page.getByRole("row", { name: /CMS sync/ }).getByRole("button", { name: "Regenerate" }).click();
  const regen = page.getByRole("dialog", { name: "Regenerate API token" });
  await regen.waitFor();
  await axe(s, "regenerate dialog");
  await regen.getByRole("radio", { name: "1 hour" }).check();
  await regen.getByRole("button", { name: "Regenerate token" }).click();
  await dialog.waitFor();
  const renewed = await field.inputValue();
  s.secrets.push(renewed);
  await dialog.getByRole("button", { name: "Done" }).click();
  await dialog.waitFor({ state: "detached" });
  check("regenerate gives a new secret", renewed.startsWith("tss_") && renewed !== secret);
  check("the new secret works", (await api("GET", "/v2/sites", renewed)).status === 200);
  check("the previous secret works for the grace period", (await api("GET", "/v2/sites", secret)).status === 200);

  // Revoke: the next call is refused.
  await page.getByRole("row", { name: /CMS sync/ }).getByRole("button", { name: "Revoke" }).click();
  const conf = page.getByRole("alertdialog", { name: "Revoke API token?" });
  await conf.waitFor();
  await axe(s, "revoke confirmation");
  await conf.getByRole("button", { name: "Revoke token" }).click();
  await page.getByRole("row", { name: /CMS sync/ }).waitFor({ state: "detached" });
  const after = await api("GET", "/v2/sites", renewed);
  check("after revoking, the token is refused: 401", after.status === 401, after.text);
  check("and so is its previous secret", (await api("GET", "/v2/sites", secret)).status === 401);

  // The audit log shows it all.
  await page.goto(`${consoleUrl}#/workspaces/${stack.workspaceId}/audit-log`);
  await role(page, "heading", "Audit log").waitFor();
  for (const ev of ["Token generated", "Token regenerated", "Token revoked"]) {
    await page.getByRole("row", { name: new RegExp(ev) }).first().waitFor();
  }
  check("the audit log shows the token generated, regenerated and revoked", true);
  await axe(s, "audit log");
  await shot(page, "audit-log");

  // A workspace on the free plan explains why there are no workspace tokens.
  await page.goto(`${consoleUrl}#/workspaces/${stack.freeWorkspaceId}/api-access`);
  await role(page, "heading", "API access").waitFor();
  await page.getByText(/only available for workspaces on the Enterprise plan/).first().waitFor();
  check("free workspace: no Generate API token, and why", (await role(page, "button", "Generate API token").count()) === 0);
  await axe(s, "free workspace API access");
  await shot(page, "free-workspace");
  await finish(s, "admin");
});

await test("time to the token list", async () => {
  const s = await session(stack.adminEmail, siteHash);
  const { page } = s;
  const listed = () => page.getByRole("table").or(page.getByText(/No API tokens/i)).first().waitFor();
  await listed();
  // First visit: opening the console, signing in (the local issuer's button clicked at once) and the list.
  metrics.signInToListMs = Date.now() - s.started;
  // A signed-in reload: page, config, discovery, /v2/me and the token list, as a returning person sees it.
  metrics.reloadToListMs = [];
  for (let i = 0; i < 5; i++) {
    const t0 = Date.now();
    await page.reload();
    await role(page, "heading", "API access").waitFor();
    await listed();
    metrics.reloadToListMs.push(Date.now() - t0);
  }
  await finish(s, "reload");
});

await test("a member sees no Generate button where they may not mint", async () => {
  const s = await session(stack.memberEmail, siteHash);
  const { page } = s;
  await role(page, "heading", "API access").waitFor();
  await page.getByText(/only workspace admins and this site's administrators/).waitFor();
  check("member: no Generate API token button on the site", (await role(page, "button", "Generate API token").count()) === 0);
  await axe(s, "site API access, member");
  await shot(page, "member");
  await page.goto(`${consoleUrl}#/workspaces/${stack.workspaceId}/audit-log`);
  await role(page, "heading", "Audit log").waitFor();
  check("member: the audit log explains it is for admins", await page.getByText(/Only workspace admins can read the audit log/).isVisible());
  await finish(s, "member");
});

await test("members and home page", async () => {
  const s = await session(stack.adminEmail, "#/");
  const { page } = s;
  await role(page, "heading", "Workspaces and sites").waitFor();
  await axe(s, "home");
  await shot(page, "home");
  await page.goto(`${consoleUrl}#/workspaces/${stack.workspaceId}/members`);
  await role(page, "heading", "Members").waitFor();
  await page.getByRole("row", { name: new RegExp(stack.memberEmail) }).waitFor();
  check("members page lists the member", true);
  await axe(s, "members");
  await shot(page, "members");
  await finish(s, "people");
});

await browser.close();
console.log(`METRICS ${JSON.stringify(metrics)}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed || !passed ? 1 : 0);
