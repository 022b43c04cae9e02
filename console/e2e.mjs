// End-to-end tests of the console in Chromium against the real local stack (the Go test
// TestConsoleInBrowser in internal/localdev starts it, seeds it and runs this file; `make test` runs that).
//
//   E2E_CONFIG=stack.json CHROMIUM=/path/to/chromium node e2e.mjs     (SHOTS=dir saves screenshots of the main pages)
//
// The Go test sets CHROMIUM to the browser package chromium finds, as `go run ./cmd/chromium` prints it.
//
// stack.json: {baseUrl, siteId, workspaceId, freeWorkspaceId, adminEmail, memberEmail, adminToken (a user token
// of the admin, for setting the scene through the API), expiringToken (the name of a site token seeded to expire
// in expiringInDays days), unusedToken (the name of a site token seeded 40 days ago with sites:read, used since,
// cms:read and cms:write, never used, and the allowlist 127.0.0.0/8, ::1/128), issuer and clientId (the local issuer
// and the console's client there)}
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
    method, headers: { Authorization: `Bearer ${secret ?? stack.adminToken}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text };
}

if (!process.env.CHROMIUM) throw new Error("CHROMIUM names no browser: set it to what `go run ./cmd/chromium` prints");
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

const wide = { width: 1200, height: 800 };
const narrow = { width: 320, height: 640 };

// session opens a fresh browser context, signs in as email through the local issuer's page (its button, or typed
// into its Email field for someone not seeded) and lands on hash.
// It records problems (console errors, CSP violations, failed requests not expected), every console message, and
// every secret the page was shown, so that the end of each test can look for them wherever the page could keep them.
async function session(email, hash, { typed = false } = {}) {
  const context = await browser.newContext({ viewport: wide });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  const page = await context.newPage();
  const s = { context, page, problems: [], logs: [], secrets: [], expected: [], audited: [] };
  s.expect = (status, pathPrefix) => s.expected.push(`${status} ${pathPrefix}`);
  page.on("console", (m) => {
    s.logs.push(m.text());
    if ((m.type() === "error" || m.type() === "warning") && !m.text().startsWith("Failed to load resource")) s.problems.push(m.text());
  });
  page.on("pageerror", (e) => s.problems.push(String(e)));
  page.on("response", (r) => {
    const got = `${r.status()} ${new URL(r.url()).pathname}`;
    if (r.status() >= 400 && !s.expected.some((x) => got.startsWith(x))) s.problems.push(`${r.status()} ${r.url()}`);
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
    const live = await liveRegions(page);
    check("the page's live regions are there from the first load, outside the redrawn page, in the accessibility tree",
      live.some((r) => r.id === "live-polite" && r.shown) && live.some((r) => r.id === "live-assertive" && r.shown), JSON.stringify(live));
  }
  await axe(s, "sign-in page");
  await role(page, "button", "Sign in").click();
  if (typed) {
    await role(page, "textbox", "Email").fill(email);
    await role(page, "button", "Sign in").click();
  } else {
    await role(page, "button", email).waitFor();
    await axe(s, "local issuer's sign-in page", { narrowToo: false });
    await role(page, "button", email).click();
  }
  await page.waitForURL((u) => u.href.startsWith(consoleUrl) && !u.search.includes("code="));
  s.started = started;
  return s;
}

const role = (page, r, name) => page.getByRole(r, { name, exact: true });

// liveRegions lists the page's live regions and whether each is in the accessibility tree (no display: none or
// visibility: hidden on it or above it; a visually hidden region counts as shown).
const liveRegions = (page) => page.evaluate(() => [...document.querySelectorAll("[role=alert], [role=status], [aria-live]")]
  .map((el) => ({ id: el.id, role: el.getAttribute("role") ?? el.getAttribute("aria-live"), shown: el.checkVisibility({ visibilityProperty: true }), text: el.textContent })));

// axe runs axe-core in the page (evaluated through the DevTools protocol, which the page's
// Content-Security-Policy does not govern), at a desktop width and at 320 CSS pixels, and fails on any violation.
async function axe(s, name, { narrowToo = true } = {}) {
  await s.page.evaluate(axeSource);
  for (const size of narrowToo ? [wide, narrow] : [wide]) {
    await s.page.setViewportSize(size);
    const result = await s.page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
    s.audited.push(name);
    check(`axe: ${name} at ${size.width} px has no violations`, result.violations.length === 0,
      result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`).join("; "));
  }
  await s.page.setViewportSize(wide);
}

// secretGone tells whether secret is nowhere in the page: not in its markup, its text, nor any field's value
// (a field's value is not in its markup, which is why the markup alone proves nothing).
const secretGone = (page, secret) => page.evaluate((x) =>
  !document.documentElement.outerHTML.includes(x) && !document.body.innerText.includes(x) &&
  ![...document.querySelectorAll("input, textarea")].some((el) => el.value.includes(x)), secret);

// finish checks what every test must leave behind: no secret in the page's storage, cookies, address, history
// or console messages, no console error or CSP violation, and closes the context.
async function finish(s, name) {
  const stored = await s.page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }) + document.cookie);
  const cookies = JSON.stringify(await s.context.cookies());
  const cdp = await s.context.newCDPSession(s.page);
  const history = JSON.stringify((await cdp.send("Page.getNavigationHistory")).entries.map((e) => [e.url, e.userTypedURL]));
  const places = { storage: stored, cookies, url: s.page.url(), history, console: s.logs.join("\n") };
  const leaked = Object.entries(places).filter(([, v]) => s.secrets.some((x) => v.includes(x))).map(([k]) => k);
  check(`${name}: no token secret in localStorage, sessionStorage, cookies, the URL, history entries or console messages`,
    leaked.length === 0, leaked.join(", "));
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

// focused describes the element that has the focus: its tag, text and the row it is in.
const focused = (page) => page.evaluate(() => {
  const el = document.activeElement;
  return { tag: el?.tagName.toLowerCase(), text: el?.textContent?.trim() ?? "", row: el?.closest("tr")?.querySelector("th")?.textContent?.trim() ?? "", key: el?.dataset?.focusKey ?? "" };
});

// focusSettles waits until want(focused element) holds; the focus may move after a list is drawn again.
async function focusSettles(page, want) {
  for (let i = 0; i < 50; i++) {
    const f = await focused(page);
    if (want(f)) return f;
    await page.waitForTimeout(100);
  }
  return focused(page);
}

// tabTo presses Tab until want(focused element) holds, as a keyboard user would.
async function tabTo(page, want, max = 80) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    if (want(await focused(page))) return true;
  }
  return false;
}

// cells maps the column headers of the table row named rowName to the row's cells' text.
const cells = (page, rowName) => page.evaluate((n) => {
  const row = [...document.querySelectorAll("tbody tr")].find((r) => r.querySelector("th")?.textContent?.trim() === n);
  if (!row) return null;
  const heads = [...row.closest("table").querySelectorAll("thead th")].map((th) => th.textContent.trim());
  return { className: row.className, ...Object.fromEntries([...row.children].map((c, i) => [heads[i], c.textContent.trim()])) };
}, rowName);

// rowErrorShown checks that a row action's error is next to it: in the row, named by the buttons'
// aria-describedby, and said by the assertive live region.
async function rowErrorShown(page, rowName, button, want) {
  const row = page.getByRole("row", { name: rowName });
  const shown = await row.locator(".row-error").filter({ hasText: want }).waitFor({ timeout: 5000 }).then(() => true, () => false);
  const b = row.getByRole("button", { name: button, exact: true });
  const ids = ((await b.getAttribute("aria-describedby")) ?? "").split(" ");
  const described = await page.evaluate((list) => list.map((id) => document.getElementById(id)?.textContent ?? "").join(" "), ids);
  const inRow = await row.evaluate((r) => r.querySelector(".row-error")?.textContent ?? "");
  const said = await page.waitForFunction((w) => document.getElementById("live-assertive")?.textContent?.includes(w), want, { timeout: 5000 }).then(() => true, () => false);
  return shown && inRow.includes(want) && described.includes(want) && said;
}

// scrollRegionWorks checks, at 320 px, that the table named label scrolls sideways in a region the keyboard
// reaches: Tab lands on it and the arrow keys scroll it.
async function scrollRegionWorks(s, label) {
  const { page } = s;
  await page.setViewportSize(narrow);
  const region = page.getByRole("region", { name: label, exact: true });
  const wider = await region.evaluate((el) => el.scrollWidth > el.clientWidth);
  await page.locator("main h1").focus();
  let reached = false;
  for (let i = 0; i < 80 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await region.evaluate((el) => el === document.activeElement);
  }
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  // The arrow keys may scroll smoothly: wait for it.
  const scrolled = await region.evaluate((el) => new Promise((resolve) => {
    const t0 = performance.now();
    const tick = () => (el.scrollLeft > 0 ? resolve(true) : performance.now() - t0 > 3000 ? resolve(false) : requestAnimationFrame(tick));
    tick();
  }));
  await page.setViewportSize(wide);
  check(`at 320 px the ${label} scrolls sideways, Tab reaches it and the arrow keys scroll it`, wider && reached && scrolled, JSON.stringify({ wider, reached, scrolled }));
}

const siteHash = `#/sites/${stack.siteId}/api-access`;
const dialogName = "Your new API token";
const group = (page, name) => page.getByRole("radiogroup", { name, exact: true });
const esc = (x) => x.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const onButton = (label, rowName) => (f) => f.text === label && f.row === rowName;
const graceSeconds = { "None": 0, "1 hour": 3600, "24 hours": 86400, "7 days": 604800 };

await test("admin generates, uses, regenerates and revokes a site token", async () => {
  const s = await session(stack.adminEmail, siteHash);
  const { page } = s;
  await role(page, "heading", "API access").waitFor();
  await page.getByRole("row", { name: new RegExp(stack.expiringToken) }).waitFor();
  check("back on the route the sign-in started from", page.url() === consoleUrl + siteHash, page.url());
  // The seeded token was generated long ago and never used: it expires within 30 days, and the list says so.
  const old = await cells(page, stack.expiringToken);
  check("the list shows who created a token, when it was last used and when it expires",
    old?.["Created by"] === stack.adminEmail && old?.["Last used"] === "Never" && /\d{4}/.test(old?.["Expires on"] ?? ""), JSON.stringify(old));
  check("a token expiring within 30 days is highlighted",
    old?.className === "expiring" && old["Expires on"].includes(`Expires in ${stack.expiringInDays} days unless used`), JSON.stringify(old));
  check("a token without an allowlist says it works from any address", old?.["Allowed IP ranges"] === "Any address", JSON.stringify(old));
  await axe(s, "site API access");
  await shot(page, "api-access");
  await scrollRegionWorks(s, "API tokens table");

  // Generate with the keyboard alone: Name, CMS read and write, Sites read-only.
  await role(page, "button", "Generate API token").focus();
  await page.keyboard.press("Enter");
  check("the Name field has the focus", await role(page, "textbox", "Name").evaluate((el) => el === document.activeElement));
  await page.keyboard.type("CMS sync");
  // Tab through the permission groups; in each, arrows choose. CMS: Read and write; Sites: Read-only.
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press("Tab");
    const at = await page.evaluate(() => document.activeElement?.closest("[role=radiogroup]")?.getAttribute("aria-labelledby"));
    const label = at ? await page.evaluate((id) => document.getElementById(id)?.textContent, at) : null;
    if (label === "CMS") { await page.keyboard.press("ArrowRight"); await page.keyboard.press("ArrowRight"); }
    if (label === "Sites") { await page.keyboard.press("ArrowRight"); break; }
  }
  check("CMS: Read and write, chosen with the keyboard", await group(page, "CMS").getByRole("radio", { name: "Read and write" }).isChecked());
  check("Sites: Read-only, chosen with the keyboard", await group(page, "Sites").getByRole("radio", { name: "Read-only" }).isChecked());
  await axe(s, "generate form");
  await shot(page, "generate");
  check("Tab reaches Generate token", await tabTo(page, (f) => f.text === "Generate token", 60));
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: dialogName });
  await dialog.waitFor();
  const field = dialog.getByRole("textbox", { name: "API token" });
  const secret = await field.inputValue();
  s.secrets.push(secret);
  check("the dialog shows the secret, read-only, with the focus inside", secret.startsWith("tss_") && (await field.getAttribute("readonly")) !== null &&
    await dialog.evaluate((d) => d.contains(document.activeElement)));
  check("the dialog warns that the token will not be shown again", await dialog.getByText("It will not be shown again.", { exact: false }).isVisible());
  check("the warning comes right after the field, so that both show together when zoomed in", await field.evaluate((el) => {
    const warning = document.getElementById(el.getAttribute("aria-describedby") ?? "");
    return !!warning && (el.compareDocumentPosition(warning) & Node.DOCUMENT_POSITION_FOLLOWING) !== 0 && el.closest(".field")?.contains(warning) === true;
  }));
  await axe(s, "new token dialog");
  await shot(page, "new-token");
  await dialog.getByRole("button", { name: "Copy", exact: true }).click();
  await dialog.getByText("Copied to the clipboard.").waitFor();
  check("Copy puts the secret on the clipboard", (await page.evaluate(() => navigator.clipboard.readText())) === secret);
  check("while the dialog is open the page holds the secret, so the check below can see it", !(await secretGone(page, secret)));
  await page.keyboard.press("Escape");
  // A closed <dialog> leaves the accessibility tree before its close event runs: wait for the element to go.
  await page.locator("dialog").waitFor({ state: "detached" });
  check("closing the dialog drops the secret from the page: not in the markup, the text or any field",
    await secretGone(page, secret) && (await page.locator("dialog").count()) === 0);
  const refocused = await focusSettles(page, (f) => f.tag === "button" && f.text === "Generate API token");
  check("focus returns to Generate API token", refocused.text === "Generate API token", JSON.stringify(refocused));
  const row = () => page.getByRole("row", { name: /CMS sync/ });
  await row().waitFor();

  // The secret works on the data API with exactly the chosen scopes.
  const sites = await api("GET", "/v2/sites", secret);
  check("GET /v2/sites with the new token: 200, the site", sites.status === 200 && sites.json?.sites?.[0]?.id === stack.siteId, sites.text);
  const intro = await api("GET", "/v2/token/introspect", secret);
  const scopes = intro.json?.authorization?.scope ?? "";
  check("introspection shows cms:read, cms:write and sites:read only", intro.status === 200 &&
    JSON.stringify(String(scopes).split(",").map((x) => x.trim()).sort()) === JSON.stringify(["cms:read", "cms:write", "sites:read"]), intro.text);
  const audit = await api("GET", `/v2/workspaces/${stack.workspaceId}/audit_logs`, secret);
  check("a scope not chosen: 403 missing_scopes", audit.status === 403 && audit.json?.code === "missing_scopes", audit.text);
  let used = null;
  for (let i = 0; i < 10 && !(used && used["Last used"] !== "Never"); i++) {
    if (i) await page.waitForTimeout(300);
    await page.reload();
    await row().waitFor();
    used = await cells(page, "CMS sync");
  }
  check("once used, the list shows when", used?.["Last used"] !== "Never" && used?.["Created by"] === stack.adminEmail && used?.className === "", JSON.stringify(used));

  // Regenerate: Cancel first, then every grace period the dialog offers, each taken by the API.
  const regen = page.getByRole("dialog", { name: "Regenerate API token" });
  await row().getByRole("button", { name: "Regenerate" }).click();
  await regen.waitFor();
  await axe(s, "regenerate dialog");
  const choices = await group(regen, "Grace period").getByRole("radio").evaluateAll((els) => els.map((e) => e.labels?.[0]?.textContent ?? ""));
  check("Regenerate offers None, 1 hour, 24 hours and 7 days", JSON.stringify(choices) === JSON.stringify(Object.keys(graceSeconds)), JSON.stringify(choices));
  await regen.getByRole("button", { name: "Cancel" }).click();
  await regen.waitFor({ state: "detached" });
  const cancelled = await focusSettles(page, onButton("Regenerate", "CMS sync"));
  check("Cancel: focus back on the row's Regenerate", onButton("Regenerate", "CMS sync")(cancelled), JSON.stringify(cancelled));
  let previous = secret;
  for (const choice of choices) {
    await row().getByRole("button", { name: "Regenerate" }).click();
    await regen.waitFor();
    await group(regen, "Grace period").getByRole("radio", { name: choice }).check();
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/regenerate")),
      regen.getByRole("button", { name: "Regenerate token" }).click(),
    ]);
    const sent = JSON.parse(res.request().postData() ?? "{}");
    await dialog.waitFor();
    const renewed = await field.inputValue();
    s.secrets.push(renewed);
    await dialog.getByRole("button", { name: "Done" }).click();
    await dialog.waitFor({ state: "detached" });
    const back = await focusSettles(page, onButton("Regenerate", "CMS sync"));
    const got = { status: res.status(), sent: sent.gracePeriodSeconds, renewed: (await api("GET", "/v2/sites", renewed)).status, previous: (await api("GET", "/v2/sites", previous)).status, back };
    check(`grace period ${choice}: the API takes ${graceSeconds[choice]} s, the new secret works, the previous one ${graceSeconds[choice] ? "still works" : "is refused"}, Done returns the focus to the row's Regenerate`,
      got.status === 200 && got.sent === graceSeconds[choice] && got.renewed === 200 && got.previous === (graceSeconds[choice] ? 200 : 401) &&
      onButton("Regenerate", "CMS sync")(back) && renewed !== previous, JSON.stringify(got));
    previous = renewed;
  }

  // Revoke, then Cancel: nothing changes. Revoke for real: the next call is refused.
  await row().getByRole("button", { name: "Revoke" }).click();
  const conf = page.getByRole("alertdialog", { name: "Revoke API token?" });
  await conf.waitFor();
  await axe(s, "revoke confirmation");
  await conf.getByRole("button", { name: "Cancel" }).click();
  await conf.waitFor({ state: "detached" });
  const kept = await focusSettles(page, onButton("Revoke", "CMS sync"));
  check("Revoke then Cancel: the token keeps working, focus back on its Revoke", onButton("Revoke", "CMS sync")(kept) &&
    (await api("GET", "/v2/sites", previous)).status === 200, JSON.stringify(kept));
  await row().getByRole("button", { name: "Revoke" }).click();
  await conf.getByRole("button", { name: "Revoke token" }).click();
  await row().waitFor({ state: "detached" });
  const after = await api("GET", "/v2/sites", previous);
  check("after revoking, the token is refused: 401", after.status === 401, after.text);
  const statuses = await Promise.all(s.secrets.map(async (x) => (await api("GET", "/v2/sites", x)).status));
  check("and so are its previous secrets, grace periods or not", statuses.every((x) => x === 401), statuses.join(","));

  // The audit log shows it all.
  await page.goto(`${consoleUrl}#/workspaces/${stack.workspaceId}/audit-log`);
  await role(page, "heading", "Audit log").waitFor();
  for (const ev of ["Token generated", "Token regenerated", "Token revoked"]) {
    await page.getByRole("row", { name: new RegExp(ev) }).first().waitFor();
  }
  check("the audit log shows the token generated, regenerated and revoked", true);
  await axe(s, "audit log");
  await shot(page, "audit-log");
  await scrollRegionWorks(s, "Events table");
  // Enough events for two pages, made through the API.
  for (let i = 0; i < 26; i++) {
    const made = await api("POST", `/v2/sites/${stack.siteId}/tokens`, null, { name: `Batch ${i}`, permissions: { forms: "read" } });
    if (made.status !== 201) throw new Error(`batch token: ${made.text}`);
    await api("DELETE", `/v2/sites/${stack.siteId}/tokens/${made.json.apiToken.id}`);
  }
  await page.reload();
  await page.getByRole("row", { name: /Token revoked/ }).first().waitFor();
  const onEvents = () => focusSettles(page, (f) => f.tag === "h2" && f.text === "Events");
  const announced = (re) => page.waitForFunction((src) => new RegExp(src).test(document.getElementById("live-polite")?.textContent ?? ""), re.source, { timeout: 5000 }).then(() => true, () => false);
  await page.getByLabel("Event type").selectOption("api_token");
  await role(page, "button", "Apply filters").click();
  let at = await onEvents();
  check("Apply filters: focus on the Events heading, the count announced", at.text === "Events" && at.tag === "h2" && await announced(/^Showing events 1–50 of \d+\.$/) &&
    page.url().includes("eventType=api_token"), JSON.stringify(at));
  await role(page, "button", "Next page").click();
  at = await onEvents();
  check("Next page: focus on the Events heading, the count announced", at.text === "Events" && await announced(/^Showing events 51–\d+ of \d+\.$/), JSON.stringify(at));
  await page.getByLabel("Event type").selectOption("workspace_membership");
  await role(page, "button", "Apply filters").click();
  await onEvents();
  const accepted = page.getByRole("row", { name: /Invitation accepted/ }).first();
  await accepted.waitFor();
  check("the admin's first sign-in shows as Invitation accepted, naming the member", (await accepted.textContent())?.includes(`Member ${stack.adminEmail}`) === true);

  // A workspace on the free plan explains why there are no workspace tokens.
  await page.goto(`${consoleUrl}#/workspaces/${stack.freeWorkspaceId}/api-access`);
  await role(page, "heading", "API access").waitFor();
  await page.getByText(/only available for workspaces on the Enterprise plan/).first().waitFor();
  check("free workspace: no Generate API token, and why", (await role(page, "button", "Generate API token").count()) === 0);
  await axe(s, "free workspace API access");
  await shot(page, "free-workspace");
  await finish(s, "admin");
});

await test("keyboard alone: Regenerate and Revoke, Escape closes their dialogs, a row's error shows beside it", async () => {
  const made = await api("POST", `/v2/sites/${stack.siteId}/tokens`, null, { name: "Keyboard token", permissions: { pages: "read" } });
  const stale = await api("POST", `/v2/sites/${stack.siteId}/tokens`, null, { name: "Stale token", permissions: { pages: "read" } });
  if (made.status !== 201 || stale.status !== 201) throw new Error(`seeding tokens: ${made.text} ${stale.text}`);
  const s = await session(stack.adminEmail, siteHash);
  const { page } = s;
  await page.getByRole("row", { name: /Keyboard token/ }).waitFor();
  await page.locator("main h1").focus();
  const kb = (label) => onButton(label, "Keyboard token");
  check("Tab reaches the row's Regenerate", await tabTo(page, kb("Regenerate")));
  await page.keyboard.press("Enter");
  const regen = page.getByRole("dialog", { name: "Regenerate API token" });
  await regen.waitFor();
  check("the Regenerate dialog has the focus", await regen.evaluate((d) => d.contains(document.activeElement)));
  await page.keyboard.press("Escape");
  await regen.waitFor({ state: "detached" });
  let f = await focusSettles(page, kb("Regenerate"));
  check("Escape closes it, focus back on the row's Regenerate", kb("Regenerate")(f), JSON.stringify(f));
  await page.keyboard.press("Enter");
  await regen.waitFor();
  await page.keyboard.press("ArrowDown");
  check("an arrow key chooses 1 hour", await regen.getByRole("radio", { name: "1 hour" }).isChecked());
  check("Tab reaches Regenerate token", await tabTo(page, (x) => x.text === "Regenerate token", 5));
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: dialogName });
  await dialog.waitFor();
  const secret = await dialog.getByRole("textbox", { name: "API token" }).inputValue();
  s.secrets.push(secret);
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  f = await focusSettles(page, kb("Regenerate"));
  check("Escape closes the new token's dialog: focus back on the row's Regenerate, the secret gone", kb("Regenerate")(f) && await secretGone(page, secret), JSON.stringify(f));
  await page.keyboard.press("Tab");
  f = await focused(page);
  check("Tab goes on to the row's Revoke", kb("Revoke")(f), JSON.stringify(f));
  await page.keyboard.press("Enter");
  const conf = page.getByRole("alertdialog", { name: "Revoke API token?" });
  await conf.waitFor();
  check("the confirmation opens on Cancel", (await focused(page)).text === "Cancel");
  await page.keyboard.press("Escape");
  await conf.waitFor({ state: "detached" });
  f = await focusSettles(page, kb("Revoke"));
  check("Escape cancels: focus back on the row's Revoke, the token still works", kb("Revoke")(f) && (await api("GET", "/v2/token/introspect", secret)).status === 200, JSON.stringify(f));
  await page.keyboard.press("Enter");
  await conf.waitFor();
  check("Tab reaches Revoke token", await tabTo(page, (x) => x.text === "Revoke token", 3));
  await page.keyboard.press("Enter");
  await page.getByRole("row", { name: /Keyboard token/ }).waitFor({ state: "detached" });
  f = await focusSettles(page, (x) => x.tag === "h2" && x.text === "API tokens");
  check("revoked with the keyboard: refused, focus on the API tokens heading", f.text === "API tokens" && (await api("GET", "/v2/token/introspect", secret)).status === 401, JSON.stringify(f));

  // Stale token is revoked elsewhere while the page lists it: its Regenerate fails beside its row.
  const staleId = stale.json.apiToken.id;
  check("Stale token revoked through the API", (await api("DELETE", `/v2/sites/${stack.siteId}/tokens/${staleId}`)).status === 204);
  s.expect(404, `/v2/sites/${stack.siteId}/tokens/${staleId}`);
  await page.getByRole("row", { name: /Stale token/ }).getByRole("button", { name: "Regenerate" }).click();
  await regen.waitFor();
  await regen.getByRole("button", { name: "Regenerate token" }).click();
  await regen.waitFor({ state: "detached" });
  check("a failed Regenerate: the error beside the row's actions, named by its buttons, announced", await rowErrorShown(page, /Stale token/, "Regenerate", "Not found"));
  f = await focusSettles(page, onButton("Regenerate", "Stale token"));
  check("the focus stays on that row's Regenerate", onButton("Regenerate", "Stale token")(f), JSON.stringify(f));
  await axe(s, "site API access with a row's error");
  await finish(s, "keyboard");
});

// rowOf is the token list's row whose name is exactly name.
const rowOf = (page, name) => page.locator("tbody tr").filter({ has: page.locator("th", { hasText: new RegExp(`^${esc(name)}$`) }) });

// fieldState tells whether a field is marked invalid, what its aria-describedby says and whether it has the focus.
const fieldState = (locator) => locator.evaluate((el) => ({
  invalid: el.getAttribute("aria-invalid"),
  described: (el.getAttribute("aria-describedby") ?? "").split(" ").map((id) => document.getElementById(id)?.textContent ?? "").join(" "),
  focused: el === document.activeElement,
}));

// generate submits the open generate form, takes the new token's secret from the dialog and closes it with Done.
// It returns the request's body, the secret and the new token's id.
async function generate(s, tokensPath) {
  const { page } = s;
  const [res] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === tokensPath && r.request().method() === "POST" && r.status() === 201),
    role(page, "button", "Generate token").click(),
  ]);
  const dialog = page.getByRole("dialog", { name: dialogName });
  await dialog.waitFor();
  const secret = await dialog.getByRole("textbox", { name: "API token" }).inputValue();
  s.secrets.push(secret);
  await dialog.getByRole("button", { name: "Done" }).click();
  await dialog.waitFor({ state: "detached" });
  return { sent: JSON.parse(res.request().postData() ?? "{}"), secret, id: (await res.json()).apiToken.id };
}

await test("least privilege: unused permissions marked, a narrower token prefilled, an allowlist and its errors", async () => {
  const s = await session(stack.adminEmail, siteHash);
  const { page } = s;
  const seeded = stack.unusedToken;
  await rowOf(page, seeded).waitFor();
  const c = await cells(page, seeded);
  check("a token's allowlist is listed with its ranges", c?.["Allowed IP ranges"] === "127.0.0.0/8, ::1/128", JSON.stringify(c));
  check("scopes never used by a token 40 days old are marked in words, the scope used today is not",
    c?.Permissions.includes("Unused permissions:") && c.Permissions.includes("CMS (read) — never used") &&
    c.Permissions.includes("CMS (write) — never used") && !c.Permissions.includes("Sites (read) —"), JSON.stringify(c));
  const old = await cells(page, stack.expiringToken);
  check("a token that used none of its scopes has them marked but no narrower token to offer",
    old?.Permissions.includes("Forms (read) — never used") && (await rowOf(page, stack.expiringToken).getByRole("button", { name: "Generate a narrower token" }).count()) === 0,
    JSON.stringify(old));
  await axe(s, "site API access with unused permissions marked");

  const offer = rowOf(page, seeded).getByRole("button", { name: "Generate a narrower token" });
  const offerDescribed = await offer.evaluate((el) => (el.getAttribute("aria-describedby") ?? "").split(" ").map((id) => document.getElementById(id)?.textContent ?? "").join(" "));
  check("Generate a narrower token is described by its row's name and unused permissions", offerDescribed.includes(seeded) && offerDescribed.includes("CMS (write) — never used"), offerDescribed);
  await offer.click();
  const name = role(page, "textbox", "Name");
  const ips = role(page, "textbox", "Allowed IP ranges");
  const from = `Filled in from “${seeded}”`;
  await page.locator("form").getByText(from, { exact: false }).waitFor();
  const nameState = await fieldState(name);
  check("the form says what it was filled in from, and Name, which has the focus, is described by it",
    nameState.described.startsWith(from) && nameState.focused, JSON.stringify(nameState));
  const chosen = async (api) => (await group(page, api).getByRole("radio", { checked: true }).evaluateAll((els) => els.map((e) => e.labels?.[0]?.textContent ?? ""))).join();
  const form = { name: await name.inputValue(), ips: await ips.inputValue(), cms: await chosen("CMS"), sites: await chosen("Sites"), forms: await chosen("Forms"),
    focused: await name.evaluate((el) => el === document.activeElement) };
  check("the form opens filled in: the name suffixed, the same allowlist, Sites read-only, CMS no access, the focus on Name",
    form.name === `${seeded} (narrower)` && form.ips === "127.0.0.0/8\n::1/128" && form.sites === "Read-only" && form.cms === "No access" &&
    form.forms === "No access" && form.focused, JSON.stringify(form));
  const hint = await fieldState(ips);
  check("the Allowed IP ranges field is described by its hint", hint.described.includes("One CIDR range per line") && hint.invalid === null, JSON.stringify(hint));
  await axe(s, "generate form filled in for a narrower token");

  // Cancel puts the focus back on the row's button that opened the form, where the next step (revoking the broad
  // token) is; opened again, the form is filled in again.
  await role(page, "button", "Cancel").click();
  const back = await focusSettles(page, (f) => f.text === "Generate a narrower token");
  check("Cancel returns the focus to the row's Generate a narrower token", back.text === "Generate a narrower token" && back.row?.includes(seeded), JSON.stringify(back));
  await offer.click();
  await name.waitFor();
  check("opened again, the form is filled in again", (await name.inputValue()) === `${seeded} (narrower)`);

  // A range with bits set after its prefix: the API's error shows beside the field, names the range, is announced.
  const tokensPath = `/v2/sites/${stack.siteId}/tokens`;
  s.expect(400, tokensPath);
  await ips.fill("127.0.0.0/8\n\n203.0.113.7/24\n");
  await role(page, "button", "Generate token").click();
  await page.getByRole("alert").filter({ hasText: "203.0.113.7/24: must be a network address" }).waitFor();
  const bad = await fieldState(ips);
  check("an invalid range: its error beside Allowed IP ranges, tied to it, repeated in the alert, the focus on the field",
    bad.invalid === "true" && bad.described.includes("203.0.113.7/24: must be a network address") && bad.described.includes("One CIDR range per line") && bad.focused,
    JSON.stringify(bad));
  check("nothing was generated", (await api("GET", tokensPath)).json?.apiTokens?.every((t) => t.name !== `${seeded} (narrower)`));
  await axe(s, "generate form with an invalid IP range");

  await ips.fill(" 127.0.0.0/8 \n\n::1/128\n203.0.113.0/24");
  const { sent, secret, id: madeId } = await generate(s, tokensPath);
  const afterSecret = await focusSettles(page, (f) => f.text === "Generate a narrower token");
  check("after the secret dialog, the focus returns to the row's Generate a narrower token", afterSecret.row?.includes(seeded), JSON.stringify(afterSecret));
  check("the request carries the ranges trimmed, without empty lines, and only the used permissions",
    JSON.stringify(sent.allowedIps) === JSON.stringify(["127.0.0.0/8", "::1/128", "203.0.113.0/24"]) && JSON.stringify(sent.permissions) === JSON.stringify({ sites: "read" }),
    JSON.stringify(sent));
  check("the field's error is gone once the form is sent again", (await fieldState(page.locator('textarea[name="allowedIps"]'))).invalid === null);
  const intro = await api("GET", "/v2/token/introspect", secret);
  check("the narrower token works from an allowed address with sites:read alone",
    (await api("GET", "/v2/sites", secret)).status === 200 && intro.json?.authorization?.scope === "sites:read", intro.text);
  await rowOf(page, `${seeded} (narrower)`).waitFor();
  const made = await cells(page, `${seeded} (narrower)`);
  check("the narrower token is listed with its ranges and, being new, no unused mark",
    made?.["Allowed IP ranges"] === "127.0.0.0/8, ::1/128, 203.0.113.0/24" && made.Permissions === "Sites: Read-only", JSON.stringify(made));
  // Leave room under the limit of five for the tests that follow.
  check("the narrower token revoked", (await api("DELETE", `${tokensPath}/${madeId}`)).status === 204);
  await finish(s, "least privilege");
});

await test("workspace tokens on the enterprise workspace, and the form's errors", async () => {
  const s = await session(stack.adminEmail, `#/workspaces/${stack.workspaceId}/api-access`);
  const { page } = s;
  await role(page, "heading", "API access").waitFor();
  await role(page, "button", "Generate API token").click();
  await role(page, "textbox", "Name").fill("Activity export");
  await role(page, "button", "Generate token").click();
  await page.getByRole("alert").filter({ hasText: "Choose at least one permission." }).waitFor();
  const state = await page.getByRole("group", { name: "Permissions", exact: true }).evaluate((el) => ({
    invalid: el.getAttribute("aria-invalid"),
    described: (el.getAttribute("aria-describedby") ?? "").split(" ").map((id) => document.getElementById(id)?.textContent ?? "").join(" "),
    focused: el === document.activeElement,
  }));
  check("no permission chosen: the error is announced, tied to the Permissions fieldset, which has the focus",
    state.invalid === "true" && state.described.includes("Choose at least one permission.") && state.focused, JSON.stringify(state));
  const live = await liveRegions(page);
  check("every live region, the form's alert included, is in the accessibility tree", live.every((r) => r.shown), JSON.stringify(live));
  await axe(s, "generate form with an error");
  await group(page, "Workspace activity").getByRole("radio", { name: "Read-only" }).check();
  await role(page, "textbox", "Allowed IP ranges").fill(" \n ");
  const { sent, secret } = await generate(s, `/v2/workspaces/${stack.workspaceId}/tokens`);
  check("an allowlist of blank lines is left out of the request", !("allowedIps" in sent), JSON.stringify(sent));
  const audit = await api("GET", `/v2/workspaces/${stack.workspaceId}/audit_logs`, secret);
  check("a workspace token (tsw_) reads the workspace's audit log", secret.startsWith("tsw_") && audit.status === 200, audit.text.slice(0, 200));
  await rowOf(page, "Activity export").waitFor();
  const listed = await cells(page, "Activity export");
  check("the workspace token is listed as working from any address", listed?.["Allowed IP ranges"] === "Any address", JSON.stringify(listed));
  // At the limit of five, the API's refusal names no field: it shows in the form's alert and the focus stays on
  // Generate token, which is only marked busy while the request runs (a disabled button would drop the focus).
  const wsPath = `/v2/workspaces/${stack.workspaceId}/tokens`;
  const filler = [];
  for (let i = 0; i < 5; i++) {
    const r = await api("POST", wsPath, undefined, { name: `Filler ${i}`, permissions: { workspace_activity: "read" } });
    if (r.status !== 201) break;
    filler.push(r.json.apiToken.id);
  }
  await role(page, "button", "Generate API token").click();
  await role(page, "textbox", "Name").fill("One too many");
  await group(page, "Workspace activity").getByRole("radio", { name: "Read-only" }).check();
  s.expect(409, wsPath);
  await role(page, "button", "Generate token").click();
  await page.getByRole("alert").filter({ hasText: "5 active API tokens" }).waitFor();
  const atLimit = await focused(page);
  check("at the limit: the refusal is in the form's alert and the focus stays on Generate token",
    atLimit.tag === "button" && atLimit.text === "Generate token", JSON.stringify(atLimit));
  for (const id of filler) check(`filler token ${id} revoked`, (await api("DELETE", `${wsPath}/${id}`)).status === 204);
  await role(page, "button", "Cancel").click();

  const row = page.getByRole("row", { name: /Activity export/ });
  await row.getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("alertdialog", { name: "Revoke API token?" }).getByRole("button", { name: "Revoke token" }).click();
  await row.waitFor({ state: "detached" });
  check("the workspace token revoked: refused", (await api("GET", `/v2/workspaces/${stack.workspaceId}/audit_logs`, secret)).status === 401);
  await finish(s, "workspace tokens");
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

const labelsOf = (g) => g.getByRole("radio").evaluateAll((els) => els.map((e) => e.labels?.[0]?.textContent ?? ""));
const checkedOf = (g) => g.getByRole("radio").evaluateAll((els) => els.filter((e) => e.checked).map((e) => e.labels?.[0]?.textContent ?? "").join());
const dayMs = 86400e3;
const settingsHash = `#/workspaces/${stack.workspaceId}/settings`;

await test("token lifetime: Expiration in the Generate form and Regenerate, the workspace's maximum on its Settings page", async () => {
  const s = await session(stack.adminEmail, siteHash);
  const { page } = s;
  await role(page, "heading", "API access").waitFor();
  await role(page, "button", "Generate API token").click();
  const expiration = group(page, "Expiration");
  check("Expiration offers 7, 30, 60 and 90 days, 1 year and No expiration, No expiration chosen at first",
    JSON.stringify(await labelsOf(expiration)) === JSON.stringify(["7 days", "30 days", "60 days", "90 days", "1 year", "No expiration"]) &&
    await checkedOf(expiration) === "No expiration", JSON.stringify(await labelsOf(expiration)));
  await role(page, "textbox", "Name").fill("Quarterly export");
  await group(page, "Sites").getByRole("radio", { name: "Read-only" }).check();
  await expiration.getByRole("radio", { name: "90 days" }).check();
  const [created] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/v2/sites/${stack.siteId}/tokens`) && r.request().method() === "POST"),
    role(page, "button", "Generate token").click(),
  ]);
  const sent = JSON.parse(created.request().postData() ?? "{}");
  const minted = await created.json();
  const left = Date.parse(minted.apiToken?.expiresAt ?? "") - Date.now();
  check("90 days: the API is asked for expiresInDays 90 and the token ends 90 days on",
    sent.expiresInDays === 90 && Math.abs(left - 90 * dayMs) < 10 * 60e3 && minted.apiToken.expiresOn === minted.apiToken.expiresAt, JSON.stringify({ sent, apiToken: minted.apiToken }));
  s.secrets.push(minted.token);
  const dialog = page.getByRole("dialog", { name: dialogName });
  await dialog.getByRole("button", { name: "Done" }).click();
  await dialog.waitFor({ state: "detached" });
  const tokenId = minted.apiToken.id;

  // The workspace's admin sets a maximum of 30 days on the Settings page.
  await page.goto(consoleUrl + settingsHash);
  await role(page, "heading", "Settings").waitFor();
  const maximum = group(page, "Maximum token lifetime");
  await maximum.waitFor();
  check("Settings: Maximum token lifetime offers No maximum and the lifetimes, No maximum chosen",
    JSON.stringify(await labelsOf(maximum)) === JSON.stringify(["No maximum", "7 days", "30 days", "60 days", "90 days", "1 year"]) && await checkedOf(maximum) === "No maximum");
  await maximum.getByRole("radio", { name: "30 days" }).check();
  const [saved] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/settings") && r.request().method() === "PATCH"),
    role(page, "button", "Save").click(),
  ]);
  await page.getByText("Maximum token lifetime set to 30 days.").waitFor();
  check("Save: PATCH maxTokenLifetimeDays 30, answered with it, and the page says so",
    saved.status() === 200 && JSON.parse(saved.request().postData() ?? "{}").maxTokenLifetimeDays === 30 &&
    await page.getByText("must expire within 30 days", { exact: false }).isVisible());
  await axe(s, "workspace settings");
  await shot(page, "settings");

  // Under the maximum: the token made before it is marked, and No expiration is gone from the form.
  await page.goto(consoleUrl + siteHash);
  await page.getByRole("row", { name: /Quarterly export/ }).waitFor();
  const marked = await cells(page, "Quarterly export");
  check("a token longer than the maximum is marked in the list, and keeps its expiry",
    marked?.["Expires on"]?.includes("Longer than the workspace's maximum of 30 days") === true, JSON.stringify(marked));
  await role(page, "button", "Generate API token").click();
  check("under a maximum of 30 days, Expiration offers 7 and 30 days, 30 chosen, and no No expiration",
    JSON.stringify(await labelsOf(expiration)) === JSON.stringify(["7 days", "30 days"]) && await checkedOf(expiration) === "30 days",
    JSON.stringify(await labelsOf(expiration)));
  await axe(s, "generate form under a maximum lifetime");
  await shot(page, "generate-expiration");
  await role(page, "button", "Cancel").click();

  const regen = page.getByRole("dialog", { name: "Regenerate API token" });
  await page.getByRole("row", { name: /Quarterly export/ }).getByRole("button", { name: "Regenerate" }).click();
  await regen.waitFor();
  const newExpiry = group(regen, "Expiration of the new secret");
  check("Regenerate under the maximum offers 7 and 30 days for the new secret", JSON.stringify(await labelsOf(newExpiry)) === JSON.stringify(["7 days", "30 days"]),
    JSON.stringify(await labelsOf(newExpiry)));
  await axe(s, "regenerate dialog under a maximum lifetime");
  await newExpiry.getByRole("radio", { name: "7 days" }).check();
  const [regenerated] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/regenerate")),
    regen.getByRole("button", { name: "Regenerate token" }).click(),
  ]);
  const renewed = await regenerated.json();
  s.secrets.push(renewed.token);
  check("Regenerate with 7 days: the API is asked for expiresInDays 7",
    regenerated.status() === 200 && JSON.parse(regenerated.request().postData() ?? "{}").expiresInDays === 7 &&
    Math.abs(Date.parse(renewed.apiToken?.expiresAt ?? "") - Date.now() - 7 * dayMs) < 10 * 60e3, JSON.stringify(renewed.apiToken));
  await dialog.getByRole("button", { name: "Done" }).click();
  await dialog.waitFor({ state: "detached" });
  // The list is drawn again behind the dialog; on a slow machine it may still be on its way.
  await page.getByRole("row", { name: /Quarterly export/ }).getByText(/Expires in [67] days$/).waitFor({ timeout: 15000 }).catch(() => {});
  const row = await cells(page, "Quarterly export");
  check("the regenerated token expires within 30 days: the list says so, without \"unless used\"",
    row?.className === "expiring" && /Expires in [67] days$/.test(row?.["Expires on"] ?? ""), JSON.stringify(row));
  await finish(s, "lifetime admin");

  // A member reads the maximum and may not change it.
  const m = await session(stack.memberEmail, settingsHash);
  await role(m.page, "heading", "Settings").waitFor();
  await m.page.getByText("must expire within 30 days", { exact: false }).waitFor();
  check("a member reads the maximum, with no form to change it",
    (await group(m.page, "Maximum token lifetime").count()) === 0 && await m.page.getByText("Only workspace admins can change").isVisible());
  await axe(m, "workspace settings, member");
  await finish(m, "lifetime member");

  // The scene as the other tests expect it: no maximum, the token gone.
  const reset = await api("PATCH", `/v2/workspaces/${stack.workspaceId}/settings`, undefined, { maxTokenLifetimeDays: null });
  const gone = await api("DELETE", `/v2/sites/${stack.siteId}/tokens/${tokenId}`);
  check("the maximum removed and the token revoked through the API", reset.status === 200 && gone.status === 204, reset.text + gone.text);
});

await test("a member sees no Generate button where they may not mint", async () => {
  const s = await session(stack.memberEmail, siteHash);
  const { page } = s;
  await role(page, "heading", "API access").waitFor();
  await page.getByText(/only workspace admins and this site's administrators/).waitFor();
  check("member: no Generate API token button on the site", (await role(page, "button", "Generate API token").count()) === 0);
  await axe(s, "site API access, member");
  await shot(page, "member");
  await page.goto(`${consoleUrl}#/workspaces/${stack.workspaceId}/api-access`);
  await role(page, "heading", "API access").waitFor();
  await page.getByText(/Only workspace admins can view and generate workspace API tokens/).waitFor();
  check("member: the workspace's API access says why there is none", (await role(page, "button", "Generate API token").count()) === 0);
  await axe(s, "workspace API access, member");
  await page.goto(`${consoleUrl}#/workspaces/${stack.workspaceId}/audit-log`);
  await role(page, "heading", "Audit log").waitFor();
  check("member: the audit log explains it is for admins", await page.getByText(/Only workspace admins can read the audit log/).isVisible());
  await finish(s, "member");
});

await test("members: add, change role, remove, and their errors; home page", async () => {
  const s = await session(stack.adminEmail, "#/");
  const { page } = s;
  await role(page, "heading", "Workspaces and sites").waitFor();
  await axe(s, "home");
  await shot(page, "home");
  await page.goto(`${consoleUrl}#/workspaces/${stack.workspaceId}/members`);
  await role(page, "heading", "Members").waitFor();
  await page.getByRole("row", { name: new RegExp(esc(stack.memberEmail)) }).waitFor();
  check("members page lists the member", true);
  await axe(s, "members");
  await shot(page, "members");
  await scrollRegionWorks(s, "Members table");

  // The only admin cannot step down: the 409 shows beside their row.
  s.expect(409, `/v2/workspaces/${stack.workspaceId}/members`);
  const me = new RegExp(esc(stack.adminEmail));
  await page.getByRole("row", { name: me }).getByRole("button", { name: "Make member" }).click();
  await page.getByRole("alertdialog", { name: "Stop being an admin?" }).getByRole("button", { name: "Make me a member" }).click();
  check("the last admin stepping down: the 409 beside the row's actions, named by its buttons, announced",
    await rowErrorShown(page, me, "Make member", "A workspace keeps at least one admin"));
  await axe(s, "members with a row's error");

  const newcomer = "arthur.dent@example.com";
  const newRow = () => page.getByRole("row", { name: new RegExp(esc(newcomer)) });
  await role(page, "textbox", "Email").fill(newcomer);
  await role(page, "button", "Add member").click();
  await newRow().waitFor();
  check("a member added, invited until they sign in", (await cells(page, newcomer))?.Role === "Member" && (await cells(page, newcomer))?.Status.startsWith("Invited"));
  await role(page, "textbox", "Email").fill(newcomer);
  await role(page, "button", "Add member").click();
  await page.getByRole("alert").filter({ hasText: "This email is already a member" }).waitFor();
  const email = await role(page, "textbox", "Email").evaluate((el) => ({
    invalid: el.getAttribute("aria-invalid"),
    described: (el.getAttribute("aria-describedby") ?? "").split(" ").map((id) => document.getElementById(id)?.textContent ?? "").join(" "),
    focused: el === document.activeElement,
  }));
  check("the same email twice: the 409 message beside the Email field, tied to it, which has the focus",
    email.invalid === "true" && email.described.includes("This email is already a member") && email.focused, JSON.stringify(email));
  await axe(s, "add member with an error");

  await newRow().getByRole("button", { name: "Make admin" }).click();
  let f = await focusSettles(page, onButton("Make member", newcomer));
  check("Make admin: an admin now, the focus on the same row's Make member", onButton("Make member", newcomer)(f) && (await cells(page, newcomer))?.Role === "Admin", JSON.stringify(f));
  await page.keyboard.press("Enter");
  f = await focusSettles(page, onButton("Make admin", newcomer));
  check("Make member: a member again, the focus on the same row's Make admin", onButton("Make admin", newcomer)(f) && (await cells(page, newcomer))?.Role === "Member", JSON.stringify(f));
  await newRow().getByRole("button", { name: "Remove" }).click();
  await page.getByRole("alertdialog", { name: "Remove member?" }).getByRole("button", { name: "Remove", exact: true }).click();
  await newRow().waitFor({ state: "detached" });
  const members = await api("GET", `/v2/workspaces/${stack.workspaceId}/members`);
  check("removed", !members.text.includes(newcomer) && members.status === 200, members.text);
  await finish(s, "people");
});

await test("invitations: listed on the first page, accepted and declined there", async () => {
  const guest = "ford.prefect@example.com";
  const admin = (await api("GET", "/v2/me")).json;
  const wsName = admin.workspaces.find((w) => w.id === stack.workspaceId).displayName;
  const siteName = admin.sites.find((x) => x.id === stack.siteId).displayName;
  const toWs = await api("POST", `/v2/workspaces/${stack.workspaceId}/members`, null, { email: guest, role: "member" });
  const toSite = await api("POST", `/v2/sites/${stack.siteId}/members`, null, { email: guest });
  check("the admin invites a guest to the workspace and to a site", toWs.status === 201 && toSite.status === 201, toWs.text + toSite.text);
  const s = await session(guest, "#/", { typed: true });
  const { page } = s;
  await role(page, "heading", "Invitations").waitFor();
  const wsGroup = page.getByRole("group", { name: new RegExp(`^${esc(wsName)} · as a member`) });
  const siteGroup = page.getByRole("group", { name: new RegExp(`^${esc(siteName)} \\(a site of ${esc(wsName)}\\) · as a site administrator`) });
  const described = (g, b) => g.getByRole("button", { name: b, exact: true }).evaluate((el) =>
    (el.getAttribute("aria-describedby") ?? "").split(" ").map((id) => document.getElementById(id)?.textContent ?? "").join(" "));
  check("each invitation is a group named by where it is to, its Accept and Decline buttons described by it",
    (await wsGroup.count()) === 1 && (await siteGroup.count()) === 1 &&
    (await described(wsGroup, "Accept")).startsWith(wsName) && (await described(siteGroup, "Decline")).startsWith(siteName),
    await page.locator("main").innerText());
  const text = await wsGroup.innerText();
  check("an invitation says who sent it and when", text.includes("from admin@example.com") && /\d{4}/.test(text) && !text.includes("[object"), text);
  check("before accepting, the guest is in no workspace", (await page.getByText("You do not belong to any workspace yet").count()) === 1);
  await axe(s, "home with invitations");
  await shot(page, "home-invitations");

  await wsGroup.getByRole("button", { name: "Accept", exact: true }).click();
  await role(page, "heading", wsName).waitFor();
  const joined = await page.waitForFunction((w) => document.getElementById("live-polite")?.textContent === `You joined ${w}.`, wsName, { timeout: 5000 }).then(() => true, () => false);
  const f = await focused(page);
  check("Accept: the workspace is listed, the status announced and shown, the focus on the page's heading",
    joined && (await page.getByRole("status").filter({ hasText: `You joined ${wsName}.` }).count()) === 1 && f.tag === "h1", JSON.stringify(f));
  const bound = (await api("GET", `/v2/workspaces/${stack.workspaceId}/members`)).json.members.find((m) => m.email === guest);
  check("accepted: the inviter now sees the guest's account", typeof bound?.userId === "string", JSON.stringify(bound));

  await siteGroup.getByRole("button", { name: "Decline", exact: true }).click();
  await role(page, "heading", "Invitations").waitFor({ state: "detached" });
  const declined = await page.waitForFunction((x) => document.getElementById("live-polite")?.textContent?.startsWith(`You declined the invitation to ${x}`), siteName, { timeout: 5000 }).then(() => true, () => false);
  const siteMembers = await api("GET", `/v2/sites/${stack.siteId}/members`);
  check("Decline: announced, the invitation gone from the page and from the site's administrators",
    declined && siteMembers.status === 200 && !siteMembers.text.includes(guest), siteMembers.text);
  await axe(s, "home after accepting and declining");
  await finish(s, "invitations");
});

await test("signing out ends the session and revokes its refresh token", async () => {
  const s = await session(stack.adminEmail, "#/");
  const { page } = s;
  await role(page, "heading", "Workspaces and sites").waitFor();
  const stored = await page.evaluate(() => Object.entries(sessionStorage).filter(([k]) => k.startsWith("oidc.user:")).map(([, v]) => JSON.parse(v))[0] ?? {});
  const idToken = stored.id_token ?? "";
  check("signed in: the user's ID token is in sessionStorage", idToken.split(".").length === 3);
  const discovery = await (await fetch(`${stack.issuer}/.well-known/openid-configuration`)).json();
  const refresh = () => fetch(discovery.token_endpoint, {
    method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: stored.refresh_token ?? "", client_id: stack.clientId }),
  });
  check("signed in: the refresh token renews the ID token", typeof stored.refresh_token === "string" && (await refresh()).status === 200);
  const revoked = page.waitForRequest((r) => r.url() === discovery.revocation_endpoint && r.method() === "POST", { timeout: 5000 }).then(() => true, () => false);
  await role(page, "button", "Sign out").click();
  check("sign-out posts to the issuer's revocation_endpoint", await revoked, discovery.revocation_endpoint);
  await role(page, "heading", "Sign in to tokensmith").waitFor();
  const left = await page.evaluate(() => JSON.stringify({ ...sessionStorage }));
  check("signed out: sessionStorage holds no user token", !left.includes(idToken) && !left.includes("oidc.user:"), left.slice(0, 300));
  await page.reload();
  await role(page, "heading", "Sign in to tokensmith").waitFor();
  check("a reload shows the sign-in page", (await role(page, "button", "Sign out").count()) === 0 && (await role(page, "button", "Sign in").count()) === 1);
  const after = await refresh();
  check("signed out: the refresh token renews nothing", after.status === 400, `${after.status} ${await after.text()}`);
  await finish(s, "sign-out");
});

await browser.close();
console.log(`METRICS ${JSON.stringify(metrics)}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed || !passed ? 1 : 0);
