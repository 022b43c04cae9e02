// API access: the tokens of a site or a workspace, generating, regenerating and revoking them.
import { ApiError, type ApiToken, type Level, type NewToken, type Permissions, type TokenRequest } from "../api";
import { newKey, section, type Frame } from "../app";
import { h, isBusy, keyed, redraw, replace, scrollRegion, setBusy, time, daysUntil, day, uid } from "../dom";
import { Alert, FieldErrors, clearRowErrors, describe, rowError, rowErrorId, showRowError } from "../errors";
import { askRegenerate, confirm, showSecret } from "../dialogs";
import { choiceGroup, lifetimeChoices } from "../lifetime";
import { type ApiScope, maxActiveTokens, maxNameLength } from "../generated/domain";
import { describePermissions, levelFromScopes, levelNames, scopeName } from "../permissions";

/** TokenOwner is what the page needs to know about the site or workspace whose tokens it shows. */
export interface TokenOwner {
  kind: "site" | "workspace";
  /** noun is "site" or "workspace", for sentences. */
  noun: string;
  apis: readonly ApiScope[];
  canList: boolean;
  canCreate: boolean;
  /** whyNot says why the person cannot generate tokens here (shown instead of the button). */
  whyNot: string;
  list(): Promise<ApiToken[]>;
  create(body: TokenRequest, idempotencyKey: string): Promise<NewToken>;
  /** regenerate gives a token a new secret; expiresInDays undefined keeps the lifetime it was created with. */
  regenerate?: (tokenId: string, gracePeriodSeconds: number, expiresInDays?: number) => Promise<NewToken>;
  /** policy reads the workspace's maximum token lifetime in days, null for none. */
  policy(): Promise<number | null>;
  revoke(tokenId: string): Promise<void>;
  /** now is the page's clock, for expiry and unused permissions: Date.now unless a test injects another. */
  now?: () => number;
}

/** unusedAfter is how long a scope goes unused before the page marks it: 30 days. */
const unusedAfter = 30 * day;

export function renderTokens(f: Frame, owner: TokenOwner): void {
  const intro = owner.kind === "site"
    ? "API tokens give integrations access to this site through the Data API. Treat a token like a password, and give it only the permissions it needs."
    : "Workspace API tokens give access to workspace-level information, such as the workspace's activity, through the Data API. They cannot call site endpoints.";
  f.main.append(h("p", { class: "lead" }, intro));

  if (!owner.canList) {
    f.main.append(h("p", { class: "notice" }, owner.whyNot));
    return;
  }

  const listBody = h("div", { class: "list-body" }, h("p", { class: "loading" }, "Loading API tokens…"));
  const listSection = section("API tokens", listBody);
  // Generate API token opens the form and moves the focus into it; it is no toggle (Cancel closes the form).
  const generateButton = h("button", {
    type: "button", class: "button primary", "data-focus-key": "generate",
  }, "Generate API token");
  const listHeading = () => listSection.querySelector<HTMLElement>("h2");
  const now = owner.now ?? Date.now;

  let tokens: ApiToken[] = [];
  // maxDays is the workspace's maximum token lifetime as last read: the choices of Expiration follow it.
  let maxDays: number | null = null;
  const form = owner.canCreate ? generateForm(owner, async (created) => {
    hideForm();
    await refresh();
    await showSecret(created.token, created.apiToken.name, opener);
    f.status.show(`API token “${created.apiToken.name}” generated.`);
  }) : null;

  const formSection = form ? section("Generate API token", form.el) : null;
  formSection?.classList.add("hidden");

  // openerKey is the data-focus-key of the button that opened the form (a row's "Generate a narrower token", or
  // Generate API token): the focus goes back there when the form is cancelled or its secret dialog closes.
  let openerKey = "generate";
  const opener = (): HTMLElement => keyed(openerKey) ?? generateButton;
  function showForm(key: string, prefill?: Prefill, from?: string): void {
    if (!form || !formSection) return;
    openerKey = key;
    form.reset(prefill, from);
    formSection.classList.remove("hidden");
    form.focus();
  }
  function hideForm(): void {
    formSection?.classList.add("hidden");
  }
  generateButton.addEventListener("click", () => (formSection?.classList.contains("hidden") ? showForm("generate") : form?.focus()));
  form?.onCancel(() => { hideForm(); opener().focus(); });

  const actions = owner.canCreate
    ? h("div", { class: "actions" }, generateButton)
    : h("p", { class: "notice" }, owner.whyNot);
  f.main.append(actions, listSection);
  if (formSection) f.main.append(formSection);

  async function refresh(): Promise<void> {
    try {
      [tokens, maxDays] = await Promise.all([owner.list(), owner.policy()]);
      form?.setPolicy(maxDays);
      drawList();
    } catch (err) {
      replace(listBody);
      f.alert.show(describe(err));
    }
  }

  function drawList(): void {
    const count = h("p", { class: "muted" }, `${tokens.length} of ${maxActiveTokens} active tokens.`,
      tokens.length >= maxActiveTokens ? ` This ${owner.noun} has the most tokens allowed: revoke one before generating another.` : "");
    if (!tokens.length) {
      redraw(listBody, h("p", {}, `This ${owner.noun} has no API tokens yet.`), count);
      return;
    }
    const rows = tokens.map((t) => tokenRow(t));
    redraw(listBody, count,
      scrollRegion("API tokens table",
        h("table", {},
          h("caption", { class: "visually-hidden" }, "API tokens, newest first"),
          h("thead", {}, h("tr", {}, ["Name", "Permissions", "Allowed IP ranges", "Token", "Created", "Created by", "Last used", "Expires on", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", {}, rows))));
  }

  function tokenRow(t: ApiToken): HTMLTableRowElement {
    const at = now();
    const left = daysUntil(t.expiresOn, at);
    const expiring = left <= 30;
    const perms = h("td", {}, describePermissions(t.permissions));
    const unused = unusedScopes(t, at);
    if (unused.length) {
      // The marks are words, not a colour: each scope says whether it was never used or not for 30 days.
      const listId = `unused-${t.id}`;
      perms.append(h("div", { class: "unused", id: listId },
        h("strong", {}, "Unused permissions:"),
        h("ul", {}, unused.map((s) => h("li", {}, unusedLabel(t, s))))));
      const prefill = narrowerPrefill(t, owner.apis, at);
      if (owner.canCreate && prefill) {
        perms.append(h("button", {
          type: "button", class: "button small", "data-focus-key": `narrower-${t.id}`,
          "aria-describedby": `name-${t.id} ${listId}`, onclick: () => showForm(`narrower-${t.id}`, prefill, t.name),
        }, "Generate a narrower token"));
      }
    }
    const expires = h("td", {}, time(t.expiresOn, false));
    if (expiring) {
      // A token that ends at its chosen expiration ends whatever its use; one that ends for inactivity, unless used.
      const unlessUsed = t.expiresAt !== null && t.expiresAt === t.expiresOn ? "" : " unless used";
      expires.append(h("strong", { class: "badge warn" }, left < 0 ? "Expired" : left === 0 ? `Expires today${unlessUsed}` : `Expires in ${left} day${left === 1 ? "" : "s"}${unlessUsed}`));
    }
    if (t.exceedsPolicy) {
      expires.append(h("strong", { class: "badge" }, maxDays === null ? "Longer than the workspace's maximum" : `Longer than the workspace's maximum of ${maxDays} days`));
    }
    const buttons = h("td", { class: "row-actions" });
    const describedBy = `name-${t.id} ${rowErrorId(t.id)}`;
    if (owner.regenerate) {
      buttons.append(h("button", {
        type: "button", class: "button small", "data-focus-key": `regenerate-${t.id}`,
        "aria-describedby": describedBy, onclick: () => void regenerate(t),
      }, "Regenerate"));
    }
    buttons.append(h("button", {
      type: "button", class: "button small danger", "data-focus-key": `revoke-${t.id}`,
      "aria-describedby": describedBy, onclick: () => void revoke(t),
    }, "Revoke"), rowError(t.id));
    return h("tr", { class: expiring ? "expiring" : "" },
      h("th", { scope: "row", id: `name-${t.id}` }, t.name),
      perms,
      h("td", {}, describeAllowedIps(t.allowedIps)),
      h("td", {}, h("code", {}, t.displayHint)),
      h("td", {}, time(t.createdOn)),
      h("td", {}, t.createdBy?.email ?? "—"),
      h("td", {}, time(t.lastUsed)),
      expires,
      buttons);
  }

  async function regenerate(t: ApiToken): Promise<void> {
    if (!owner.regenerate) return;
    // Focus returns to this row's Regenerate button whichever dialog closes, even after the list is redrawn.
    const answer = await askRegenerate(t, maxDays);
    if (answer === null) return;
    const grace = answer.gracePeriodSeconds;
    f.alert.clear();
    f.status.clear();
    clearRowErrors();
    let created: NewToken;
    try {
      created = await owner.regenerate(t.id, grace, answer.expiresInDays);
    } catch (err) {
      showRowError(t.id, err, f.alert);
      return;
    }
    const closed = showSecret(created.token, created.apiToken.name, listHeading);
    await refresh();
    await closed;
    f.status.show(grace ? `API token “${t.name}” regenerated. The previous secret keeps working for the grace period.` : `API token “${t.name}” regenerated. The previous secret no longer works.`);
  }

  async function revoke(t: ApiToken): Promise<void> {
    const ok = await confirm({
      title: "Revoke API token?",
      body: `Integrations using “${t.name}” (${t.displayHint}) will stop working at once. This cannot be undone.`,
      confirmLabel: "Revoke token",
      danger: true,
    });
    if (!ok) return;
    f.alert.clear();
    f.status.clear();
    clearRowErrors();
    try {
      await owner.revoke(t.id);
    } catch (err) {
      showRowError(t.id, err, f.alert);
      return;
    }
    await refresh();
    listHeading()?.focus();
    f.status.show(`API token “${t.name}” revoked.`);
  }

  void refresh();
}

/**
 * unusedScopes are the token's scopes not used for 30 days or more at now, never used ones included. A token
 * younger than 30 days has none, nor has one whose list entry carries no scopeLastUsed.
 */
export function unusedScopes(t: ApiToken, now: number): string[] {
  if (!t.scopeLastUsed) return [];
  if (now - Date.parse(t.createdOn) < unusedAfter) return [];
  return scopesOf(t).filter((s) => {
    const last = t.scopeLastUsed?.[s];
    return !last || now - Date.parse(last) >= unusedAfter;
  });
}

/** unusedLabel says in words why an unused scope is marked: "CMS (write) — never used" or "— not used in 30 days". */
export function unusedLabel(t: ApiToken, scope: string): string {
  return `${scopeName(scope)} — ${t.scopeLastUsed?.[scope] ? "not used in 30 days" : "never used"}`;
}

const scopesOf = (t: ApiToken): string[] => t.scope.split(",").map((s) => s.trim()).filter(Boolean);

/** Prefill is what the generate form starts with instead of its defaults. */
export interface Prefill { name: string; permissions: Permissions; allowedIps: string[] }

const narrowerSuffix = " (narrower)";

/**
 * narrowerPrefill is the form for a token like t with only the permissions it used in the last 30 days: the same
 * allowlist, the name suffixed " (narrower)" (within the length a name may have, maxNameLength), each API at the level
 * its used scopes justify. It is null unless t has both unused and used scopes.
 */
export function narrowerPrefill(t: ApiToken, apis: readonly ApiScope[], now: number): Prefill | null {
  const unused = new Set(unusedScopes(t, now));
  const used = new Set(scopesOf(t).filter((s) => !unused.has(s)));
  if (!unused.size || !used.size) return null;
  const permissions: Permissions = {};
  for (const a of apis) permissions[a.key] = levelFromScopes(a.key, used);
  const name = [...t.name].slice(0, maxNameLength - narrowerSuffix.length).join("") + narrowerSuffix;
  return { name, permissions, allowedIps: [...(t.allowedIps ?? [])] };
}

/** describeAllowedIps renders a token's allowlist: its ranges, or "Any address" when it has none. */
export function describeAllowedIps(ips: readonly string[] | undefined): string {
  return ips?.length ? ips.join(", ") : "Any address";
}

/** parseAllowedIps reads the allowlist field: one range a line, trimmed, empty lines dropped. */
export function parseAllowedIps(text: string): string[] {
  return text.split(/\r?\n/).map((x) => x.trim()).filter(Boolean);
}

/**
 * nameRanges puts the range a detail on allowedIps[i] is about in front of its message, since the field holds
 * many: "203.0.113.7/24: must be a network address…".
 */
export function nameRanges(err: unknown, sent: readonly string[]): unknown {
  if (!(err instanceof ApiError) || !err.details.length) return err;
  const details = err.details.map((d) => {
    const i = /^allowedIps\[(\d+)\]$/.exec(d.field)?.[1];
    const range = i === undefined ? undefined : sent[Number(i)];
    return range === undefined ? d : { ...d, message: `${range}: ${d.message}` };
  });
  return new ApiError(err.status, err.code, err.message, details);
}

interface GenerateForm {
  el: HTMLFormElement;
  /** setPolicy offers the Expiration choices the workspace's maximum (null for none) allows. */
  setPolicy(max: number | null): void;
  /** reset empties the form, or fills it with prefill, saying it was drawn from the token named from. */
  reset(prefill?: Prefill, from?: string): void;
  focus(): void;
  onCancel(fn: () => void): void;
}

function generateForm(owner: TokenOwner, done: (created: NewToken) => Promise<void>): GenerateForm {
  const alert = new Alert("form-alert");
  const errors = new FieldErrors(alert);
  let key = newKey();
  let cancel: () => void = () => {};

  const nameId = uid("name");
  const nameErr = h("p", {});
  const name = h("input", { id: nameId, name: "name", type: "text", maxlength: maxNameLength, autocomplete: "off", required: true });
  errors.register("name", name, nameErr);

  const groups = owner.apis.map((a) => {
    const legendId = uid("legend");
    const err = h("p", {});
    const levels: Level[] = a.max === "read" ? ["none", "read"] : ["none", "read", "read_write"];
    const fs = h("fieldset", { role: "radiogroup", "aria-labelledby": legendId, class: "perm" },
      h("legend", { id: legendId }, a.name),
      h("div", { class: "choices" }, levels.map((lvl) => {
        const id = uid(`perm-${a.key}`);
        return h("div", { class: "choice" },
          h("input", { type: "radio", id, name: `perm-${a.key}`, value: lvl, checked: lvl === "none" }),
          h("label", { for: id }, levelNames[lvl]));
      })),
      err);
    errors.register(`permissions.${a.key}`, fs, err);
    return { api: a, fs };
  });
  // Permissions is a fieldset that takes the focus (tabindex -1) when none is chosen, so that its name and its
  // error (aria-describedby) are read together.
  const permsErr = h("p", {});
  const perms = h("fieldset", { class: "perms", tabindex: -1 },
    h("legend", {}, h("h3", {}, "Permissions")),
    h("p", { class: "muted" }, owner.kind === "site"
      ? "Choose the access the token has to each of the APIs: no access, read-only, or read and write."
      : "Choose the access the token has to each scope: no access or read-only."),
    permsErr,
    groups.map((g) => g.fs));
  errors.register("permissions", perms, permsErr);

  const ipsId = uid("allowed-ips");
  const ipsHint = h("p", { id: uid("hint"), class: "muted hint" },
    "One CIDR range per line, such as 203.0.113.0/24 or 2001:db8::/32. Leave empty to allow any address.");
  const ipsErr = h("p", {});
  const ips = h("textarea", {
    id: ipsId, name: "allowedIps", rows: 3, autocomplete: "off", spellcheck: "false", autocapitalize: "off",
    "aria-describedby": ipsHint.id,
  });
  errors.register("allowedIps", ips, ipsErr);
  // Expiration: the usual lifetimes, and No expiration unless the workspace has a maximum; the longest allowed is
  // chosen at first under a maximum, No expiration otherwise.
  const expiryHint = h("p", { class: "muted hint" });
  const expiry = choiceGroup("Expiration", "expiration", expiryHint);
  const expiryErr = h("p", {});
  expiry.fs.append(expiryErr);
  errors.register("expiresInDays", expiry.fs, expiryErr);
  function setPolicy(max: number | null): void {
    const choices = lifetimeChoices(max);
    expiry.set(choices, max === null ? null : choices[choices.length - 1]?.days ?? null);
    expiryHint.textContent = max === null
      ? "The token stops working on this day, or after a year without use if that comes first."
      : `This workspace allows API tokens of at most ${max} days. The token also stops working after a year without use.`;
  }
  setPolicy(null);

  // prefilled says, when the form was filled from a listed token, which one and what was left out; Name is
  // described by it meanwhile, so that it is read with the field that takes the focus.
  const prefilled = h("p", { class: "notice hidden", id: uid("prefilled") });

  const submit = h("button", { type: "submit", class: "button primary" }, "Generate token");
  const el = h("form", { novalidate: true, class: "stack" },
    alert.el,
    prefilled,
    h("div", { class: "field" }, h("label", { for: nameId }, "Name"), name, nameErr),
    perms,
    expiry.fs,
    h("div", { class: "field" }, h("label", { for: ipsId }, "Allowed IP ranges"), ipsHint, ips, ipsErr),
    h("div", { class: "actions" }, submit, h("button", { type: "button", class: "button", onclick: () => cancel() }, "Cancel")));

  // A new Idempotency-Key whenever the request would differ; a retry of the same request reuses it.
  el.addEventListener("input", () => { key = newKey(); });

  el.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (isBusy(submit)) return;
    errors.clear();
    const permissions: Permissions = {};
    for (const g of groups) {
      const v = g.fs.querySelector<HTMLInputElement>("input:checked")?.value as Level | undefined;
      if (v && v !== "none") permissions[g.api.key] = v;
    }
    const body: TokenRequest = { name: name.value.trim(), permissions };
    const allowedIps = parseAllowedIps(ips.value);
    if (allowedIps.length) body.allowedIps = allowedIps;
    const days = expiry.value();
    if (days !== null) body.expiresInDays = days;

    let bad = false;
    if (!body.name) bad = errors.set("name", "Enter a name for the API token.") || true;
    else if ([...body.name].length > maxNameLength) bad = errors.set("name", `Use ${maxNameLength} characters or fewer.`) || true;
    if (!Object.keys(permissions).length) bad = errors.set("permissions", "Choose at least one permission.") || true;
    if (bad) {
      errors.summarize("The token was not generated:");
      return;
    }

    setBusy(submit, true);
    el.setAttribute("aria-busy", "true");
    try {
      const created = await owner.create(body, key);
      key = newKey();
      await done(created);
    } catch (err) {
      errors.show(nameRanges(err, allowedIps), "The token was not generated:");
    } finally {
      setBusy(submit, false);
      el.removeAttribute("aria-busy");
    }
  });

  return {
    el,
    setPolicy,
    reset(prefill, from) {
      errors.clear();
      el.reset();
      key = newKey();
      prefilled.classList.toggle("hidden", !prefill);
      prefilled.textContent = "";
      const described = (name.getAttribute("aria-describedby") ?? "").split(" ").filter((x) => x && x !== prefilled.id);
      if (prefill) described.unshift(prefilled.id);
      if (described.length) name.setAttribute("aria-describedby", described.join(" "));
      else name.removeAttribute("aria-describedby");
      if (prefill) {
        prefilled.textContent = `Filled in from “${from ?? prefill.name}” with only the permissions it used in the last 30 days and the same allowed IP ranges. Check them, then generate the token.`;
        name.value = prefill.name;
        ips.value = prefill.allowedIps.join("\n");
        for (const g of groups) {
          const lvl = prefill.permissions[g.api.key] ?? "none";
          const input = g.fs.querySelector<HTMLInputElement>(`input[value="${lvl}"]`);
          if (input) input.checked = true;
        }
      }
    },
    focus() { name.focus(); },
    onCancel(fn) { cancel = fn; },
  };
}
