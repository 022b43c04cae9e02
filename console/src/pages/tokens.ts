// API access: the tokens of a site or a workspace, generating, regenerating and revoking them.
import type { ApiToken, Level, NewToken, Permissions, TokenRequest } from "../api";
import { newKey, section, type Frame } from "../app";
import { h, redraw, replace, scrollRegion, time, daysUntil, day, uid } from "../dom";
import { Alert, FieldErrors, clearRowErrors, describe, rowError, rowErrorId, showRowError } from "../errors";
import { askGracePeriod, confirm, showSecret } from "../dialogs";
import { type ApiScope, describePermissions, levelFromScopes, levelNames, scopeName } from "../permissions";

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
  regenerate?: (tokenId: string, gracePeriodSeconds: number) => Promise<NewToken>;
  revoke(tokenId: string): Promise<void>;
}

export const maxTokens = 5;
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
  const generateButton = h("button", {
    type: "button", class: "button primary", "aria-expanded": "false", "data-focus-key": "generate",
  }, "Generate API token");
  const listHeading = () => listSection.querySelector<HTMLElement>("h2");

  let tokens: ApiToken[] = [];
  const form = owner.canCreate ? generateForm(owner, async (created) => {
    hideForm();
    await refresh();
    await showSecret(created.token, created.apiToken.name, () => generateButton);
    f.status.show(`API token “${created.apiToken.name}” generated.`);
  }) : null;

  const formSection = form ? section("Generate API token", form.el) : null;
  formSection?.classList.add("hidden");
  if (formSection) generateButton.setAttribute("aria-controls", formSection.id = uid("generate"));

  function showForm(prefill?: { name: string; permissions: Permissions }): void {
    if (!form || !formSection) return;
    form.reset(prefill);
    formSection.classList.remove("hidden");
    generateButton.setAttribute("aria-expanded", "true");
    form.focus();
  }
  function hideForm(): void {
    if (!form || !formSection) return;
    formSection.classList.add("hidden");
    generateButton.setAttribute("aria-expanded", "false");
  }
  generateButton.addEventListener("click", () => (formSection?.classList.contains("hidden") ? showForm() : form?.focus()));
  form?.onCancel(() => { hideForm(); generateButton.focus(); });

  const actions = owner.canCreate
    ? h("div", { class: "actions" }, generateButton)
    : h("p", { class: "notice" }, owner.whyNot);
  f.main.append(actions, listSection);
  if (formSection) f.main.append(formSection);

  async function refresh(): Promise<void> {
    try {
      tokens = await owner.list();
      drawList();
    } catch (err) {
      replace(listBody);
      f.alert.show(describe(err));
    }
  }

  function drawList(): void {
    const count = h("p", { class: "muted" }, `${tokens.length} of ${maxTokens} active tokens.`,
      tokens.length >= maxTokens ? ` This ${owner.noun} has the most tokens allowed: revoke one before generating another.` : "");
    if (!tokens.length) {
      redraw(listBody, h("p", {}, `This ${owner.noun} has no API tokens yet.`), count);
      return;
    }
    const rows = tokens.map((t) => tokenRow(t));
    redraw(listBody, count,
      scrollRegion("API tokens table",
        h("table", {},
          h("caption", { class: "visually-hidden" }, "API tokens, newest first"),
          h("thead", {}, h("tr", {}, ["Name", "Permissions", "Token", "Created", "Created by", "Last used", "Expires on", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", {}, rows))));
  }

  function tokenRow(t: ApiToken): HTMLTableRowElement {
    const left = daysUntil(t.expiresOn);
    const expiring = left <= 30;
    const unused = unusedScopes(t);
    const perms = h("td", {}, describePermissions(t.permissions));
    if (t.allowedIps?.length) perms.append(h("div", { class: "muted" }, `Allowed IP addresses: ${t.allowedIps.join(", ")}`));
    if (unused.length) {
      perms.append(h("div", { class: "hint-unused" }, `Not used for 30 days or more: ${unused.map(scopeName).join(", ")}.`));
      if (owner.canCreate && unused.length < t.scope.split(",").filter(Boolean).length) {
        perms.append(h("button", {
          type: "button", class: "button small", "data-focus-key": `replace-${t.id}`,
          onclick: () => showForm({ name: `${t.name} (replacement)`.slice(0, 100), permissions: usedPermissions(t, owner.apis) }),
        }, "Generate replacement with used permissions"));
      }
    }
    const expires = h("td", {}, time(t.expiresOn, false));
    if (expiring) {
      expires.append(h("strong", { class: "badge warn" }, left < 0 ? "Expired" : left === 0 ? "Expires today unless used" : `Expires in ${left} day${left === 1 ? "" : "s"} unless used`));
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
    const grace = await askGracePeriod(t.name);
    if (grace === null) return;
    f.alert.clear();
    f.status.clear();
    clearRowErrors();
    let created: NewToken;
    try {
      created = await owner.regenerate(t.id, grace);
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

/** unusedScopes are the token's scopes not used for 30 days or more (only when the API reports scopeLastUsed). */
export function unusedScopes(t: ApiToken, now = Date.now()): string[] {
  if (!t.scopeLastUsed) return [];
  if (now - new Date(t.createdOn).getTime() < unusedAfter) return [];
  return t.scope.split(",").filter(Boolean).filter((s) => {
    const last = t.scopeLastUsed?.[s];
    return !last || now - new Date(last).getTime() >= unusedAfter;
  });
}

export function usedPermissions(t: ApiToken, apis: readonly ApiScope[]): Permissions {
  const unused = new Set(unusedScopes(t));
  const used = new Set(t.scope.split(",").filter((s) => s && !unused.has(s)));
  const out: Permissions = {};
  for (const a of apis) out[a.key] = levelFromScopes(a.key, used);
  return out;
}

interface GenerateForm {
  el: HTMLFormElement;
  reset(prefill?: { name: string; permissions: Permissions }): void;
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
  const name = h("input", { id: nameId, name: "name", type: "text", maxlength: 100, autocomplete: "off", required: true });
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


  const submit = h("button", { type: "submit", class: "button primary" }, "Generate token");
  const el = h("form", { novalidate: true, class: "stack" },
    alert.el,
    h("div", { class: "field" }, h("label", { for: nameId }, "Name"), name, nameErr),
    perms,
    h("div", { class: "actions" }, submit, h("button", { type: "button", class: "button", onclick: () => cancel() }, "Cancel")));

  // A new Idempotency-Key whenever the request would differ; a retry of the same request reuses it.
  el.addEventListener("input", () => { key = newKey(); });

  el.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errors.clear();
    const permissions: Permissions = {};
    for (const g of groups) {
      const v = g.fs.querySelector<HTMLInputElement>("input:checked")?.value as Level | undefined;
      if (v && v !== "none") permissions[g.api.key] = v;
    }
    const body: TokenRequest = { name: name.value.trim(), permissions };

    let bad = false;
    if (!body.name) bad = errors.set("name", "Enter a name for the API token.") || true;
    else if ([...body.name].length > 100) bad = errors.set("name", "Use 100 characters or fewer.") || true;
    if (!Object.keys(permissions).length) bad = errors.set("permissions", "Choose at least one permission.") || true;
    if (bad) {
      errors.summarize("The token was not generated:");
      return;
    }

    submit.disabled = true;
    el.setAttribute("aria-busy", "true");
    try {
      const created = await owner.create(body, key);
      key = newKey();
      await done(created);
    } catch (err) {
      errors.show(err);
    } finally {
      submit.disabled = false;
      el.removeAttribute("aria-busy");
    }
  });

  return {
    el,
    reset(prefill) {
      errors.clear();
      el.reset();
      key = newKey();
      if (prefill) {
        name.value = prefill.name;
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
