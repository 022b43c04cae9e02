// Modal dialogs built on <dialog> and showModal(): focus moves in when one opens and back when it closes.
import type { ApiToken } from "./api";
import { h, keyed, uid } from "./dom";
import { gracePeriods } from "./generated/domain";
import { choiceGroup, lifetimeChoices } from "./lifetime";

/**
 * openModal shows dialog and calls onClose once it is closed (by a button, Escape or code). Focus returns to
 * what had it before, or, if that element is gone (a list redrawn meanwhile), to what fallback finds.
 */
export function openModal(dialog: HTMLDialogElement, onClose: () => void, fallback?: () => HTMLElement | null): void {
  const active = document.activeElement;
  const before = active instanceof HTMLElement && active !== document.body ? active : null;
  const beforeKey = before?.dataset.focusKey;
  dialog.addEventListener("close", () => {
    onClose();
    dialog.remove();
    const target = [before, beforeKey ? keyed(beforeKey) : null, fallback?.() ?? null].find((el) => el?.isConnected && el.getClientRects().length > 0);
    target?.focus();
  }, { once: true });
  document.body.appendChild(dialog);
  dialog.showModal();
}

/**
 * showSecret shows a new token's secret once, in the dialog "Your new API token". The secret lives only in the
 * dialog's field and this closure; both are emptied when the dialog closes.
 */
export function showSecret(secret: string, tokenName: string, fallback?: () => HTMLElement | null): Promise<void> {
  let value: string | null = secret;
  const titleId = uid("dialog-title");
  const warnId = uid("dialog-warning");
  const fieldId = uid("secret");
  const status = h("p", { role: "status", class: "status" });
  const field = h("input", {
    id: fieldId, type: "text", readonly: true, autocomplete: "off", spellcheck: "false",
    autocapitalize: "off", class: "secret", "aria-describedby": warnId, autofocus: true,
  });
  field.value = value;
  field.addEventListener("focus", () => field.select());
  const copy = h("button", {
    type: "button",
    class: "button primary",
    onclick: async () => {
      if (value === null) return;
      try {
        await navigator.clipboard.writeText(value);
        status.textContent = "Copied to the clipboard.";
      } catch {
        field.focus();
        field.select();
        status.textContent = "Copying was refused by the browser. The token is selected: press Ctrl+C (or ⌘C) to copy it.";
      }
    },
  }, "Copy");
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": titleId, "aria-describedby": warnId },
    h("h2", { id: titleId }, "Your new API token"),
    h("p", { class: "muted" }, `For “${tokenName}”.`),
    // The warning is right under the field that takes the focus, so that both show together even at 400% zoom.
    h("div", { class: "field" },
      h("label", { for: fieldId }, "API token"),
      h("div", { class: "secret-row" }, field, copy),
      h("p", { id: warnId, class: "warning" }, "Copy this token now and store it somewhere safe. It will not be shown again.")),
    status,
    h("div", { class: "actions" }, h("button", { type: "button", class: "button", onclick: () => dialog.close() }, "Done")));
  return new Promise((resolve) => {
    openModal(dialog, () => {
      field.value = "";
      field.removeAttribute("value");
      value = null;
      resolve();
    }, fallback);
  });
}

export interface ConfirmOptions {
  title: string;
  body: string;
  confirmLabel: string;
  danger?: boolean;
}

/** confirm asks a yes-or-no question in a modal alert dialog; Cancel has the focus first. */
export function confirm(opts: ConfirmOptions, fallback?: () => HTMLElement | null): Promise<boolean> {
  const titleId = uid("dialog-title");
  const bodyId = uid("dialog-body");
  let answer = false;
  const dialog = h("dialog", { class: "dialog", role: "alertdialog", "aria-labelledby": titleId, "aria-describedby": bodyId },
    h("h2", { id: titleId }, opts.title),
    h("p", { id: bodyId }, opts.body),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "button", autofocus: true, onclick: () => dialog.close() }, "Cancel"),
      h("button", {
        type: "button",
        class: opts.danger ? "button danger" : "button primary",
        onclick: () => { answer = true; dialog.close(); },
      }, opts.confirmLabel)));
  return new Promise((resolve) => openModal(dialog, () => resolve(answer), fallback));
}

/** RegenerateAnswer is what Regenerate asks for: the grace period, and the new secret's lifetime (undefined: as before). */
export interface RegenerateAnswer { gracePeriodSeconds: number; expiresInDays?: number }

/**
 * askRegenerate asks how long the old secret keeps working and how long the new one lives; it resolves to the
 * answer, or null if cancelled. Without a workspace maximum (maxDays null) the new secret may keep the token's
 * lifetime, as the API does without expiresInDays; under one, a lifetime within it must be chosen.
 */
export function askRegenerate(t: ApiToken, maxDays: number | null, fallback?: () => HTMLElement | null): Promise<RegenerateAnswer | null> {
  const titleId = uid("dialog-title");
  const bodyId = uid("dialog-body");
  const legendId = uid("legend");
  let answer: RegenerateAnswer | null = null;
  const radios = gracePeriods.map((g, i) => {
    const id = uid("grace");
    return h("div", { class: "choice" },
      h("input", { type: "radio", id, name: "gracePeriod", value: g.seconds, checked: i === 0, autofocus: i === 0 }),
      h("label", { for: id }, g.label));
  });
  // keep is the choice of the token's own lifetime, sent as no expiresInDays: -1 stands for it among the days.
  const keep = -1;
  const choices = lifetimeChoices(maxDays).filter((c) => c.days !== null);
  if (maxDays === null) choices.unshift({ days: keep, label: t.expiresAt ? "As before: the lifetime it was generated with, from now" : "No expiration, as before" });
  const expiry = choiceGroup("Expiration of the new secret", "regenerateExpiration");
  expiry.set(choices, maxDays === null ? keep : choices[choices.length - 1]?.days ?? null);
  const form = h("form", { class: "stack" },
    h("p", { id: bodyId }, `A new secret replaces the current one of “${t.name}”. The name and permissions stay the same. Choose how long the current secret keeps working, so your integrations can switch over, and when the new one expires.`),
    h("fieldset", { role: "radiogroup", "aria-labelledby": legendId },
      h("legend", { id: legendId }, "Grace period"), radios),
    expiry.fs,
    h("div", { class: "actions" },
      h("button", { type: "button", class: "button", onclick: () => dialog.close() }, "Cancel"),
      h("button", { type: "submit", class: "button primary" }, "Regenerate token")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const checked = form.querySelector<HTMLInputElement>('input[name="gracePeriod"]:checked');
    const days = expiry.value();
    answer = { gracePeriodSeconds: checked ? Number(checked.value) : 0 };
    if (days !== null && days !== keep) answer.expiresInDays = days;
    dialog.close();
  });
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": titleId, "aria-describedby": bodyId },
    h("h2", { id: titleId }, "Regenerate API token"), form);
  return new Promise((resolve) => openModal(dialog, () => resolve(answer), fallback));
}
