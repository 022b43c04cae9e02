// A token's lifetime: the choices the Generate form, Regenerate and the workspace's settings offer, as radio groups.
import { h, uid } from "./dom";
import { lifetimes } from "./generated/domain";

/** LifetimeChoice is one choice: a number of days, or null (no expiration, no maximum, or as before). */
export interface LifetimeChoice { days: number | null; label: string }

/**
 * lifetimeChoices lists a token's lifetimes under a workspace's maximum (null for none): the usual ones up to it,
 * the maximum itself when none of them equals it, and No expiration only while there is no maximum.
 */
export function lifetimeChoices(max: number | null): LifetimeChoice[] {
  const out: LifetimeChoice[] = lifetimes.filter((l) => max === null || l.days <= max).map((l) => ({ days: l.days, label: l.label }));
  if (max !== null && !out.some((l) => l.days === max)) out.push({ days: max, label: `${max} days (the maximum)` });
  if (max === null) out.push({ days: null, label: "No expiration" });
  return out;
}

/** dayLabel names a number of days as the choices do: "30 days", "1 year". */
export function dayLabel(days: number): string {
  return lifetimes.find((l) => l.days === days)?.label ?? (days === 1 ? "1 day" : `${days} days`);
}

export interface ChoiceGroup {
  fs: HTMLFieldSetElement;
  /** value is the chosen days, null for the choice without a number. */
  value(): number | null;
  /** set redraws the choices and checks the one of checked days (the last choice if none has them). */
  set(choices: LifetimeChoice[], checked: number | null): void;
}

/** choiceGroup is a fieldset of radio buttons under legend, with an optional hint read with it. */
export function choiceGroup(legend: string, name: string, hint?: HTMLElement): ChoiceGroup {
  const legendId = uid("legend");
  const list = h("div", { class: "choices" });
  const fs = h("fieldset", { role: "radiogroup", "aria-labelledby": legendId, class: "perm" },
    h("legend", { id: legendId }, legend), hint ?? null, list);
  if (hint) {
    if (!hint.id) hint.id = uid("hint");
    fs.setAttribute("aria-describedby", hint.id);
  }
  let shown: LifetimeChoice[] = [];
  return {
    fs,
    value() {
      const v = list.querySelector<HTMLInputElement>("input:checked")?.value;
      return v ? Number(v) : null;
    },
    set(choices, checked) {
      shown = choices;
      const found = shown.findIndex((c) => c.days === checked);
      const at = found >= 0 ? found : shown.length - 1;
      list.replaceChildren(...shown.map((c, i) => {
        const id = uid(name);
        return h("div", { class: "choice" },
          h("input", { type: "radio", id, name, value: c.days === null ? "" : String(c.days), checked: i === at }),
          h("label", { for: id }, c.label));
      }));
    },
  };
}
