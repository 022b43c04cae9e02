// Small DOM helpers. Elements are built with properties and attributes, never HTML strings or inline styles.

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** h creates an element. Keys starting with "on" add listeners; booleans set or omit an attribute. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2), v);
    } else if (k === "class") {
      el.className = String(v);
    } else if (v === true) {
      el.setAttribute(k, "");
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
}

/** replace empties el and puts the children in. */
export function replace(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

/**
 * redraw is replace for a list that has the focus: the element with the same data-focus-key in the new children
 * (the same row's button, even if its label changed) gets the focus back, so it never falls to the page's body.
 */
export function redraw(el: Element, ...children: (Child | Child[])[]): void {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && el.contains(active) ? active.dataset.focusKey : undefined;
  replace(el, ...children);
  if (key) focusKey(key);
}

/** focusKey focuses the element with data-focus-key key; it returns it, or null if there is none. */
export function focusKey(key: string): HTMLElement | null {
  const el = keyed(key);
  el?.focus();
  return el;
}

/** keyed returns the element with data-focus-key key, or null if there is none. */
export function keyed(key: string): HTMLElement | null {
  return document.querySelector<HTMLElement>(`[data-focus-key="${CSS.escape(key)}"]`);
}

/**
 * scrollRegion wraps a wide table in a region that scrolls sideways on a narrow screen and that the keyboard can
 * reach (Tab to it, then the arrow keys scroll it). label names the region; it must differ from the section's.
 */
export function scrollRegion(label: string, table: HTMLTableElement): HTMLDivElement {
  return h("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": label }, table);
}

const pending: Record<string, ReturnType<typeof setTimeout>> = {};
/**
 * announce says message through the page's live regions, which index.html holds from the first load so that
 * screen readers track them. urgent uses the assertive one. The region is emptied first, so that the same
 * message said twice is heard twice.
 */
export function announce(message: string, urgent = false): void {
  const id = urgent ? "live-assertive" : "live-polite";
  const el = document.getElementById(id);
  if (!el) return;
  el.textContent = "";
  clearTimeout(pending[id]);
  pending[id] = setTimeout(() => { el.textContent = message; }, 100);
}

let seq = 0;
/** uid returns an id unique within the page, for label and aria wiring. */
export function uid(prefix: string): string {
  seq += 1;
  return `${prefix}-${seq}`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

/** time renders an RFC 3339 instant as a <time> element, or a dash for null. */
export function time(iso: string | null | undefined, withTime = true, empty = "Never"): Node {
  if (!iso) return document.createTextNode(empty);
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return document.createTextNode(iso);
  return h("time", { datetime: iso, title: d.toISOString() }, (withTime ? dateTime : dateOnly).format(d));
}

export const day = 24 * 60 * 60 * 1000;

/** daysUntil is the number of days from now until iso, a part of a day counting as one (negative if past). */
export function daysUntil(iso: string, now = Date.now()): number {
  const ms = new Date(iso).getTime() - now;
  return ms < 0 ? Math.floor(ms / day) : Math.ceil(ms / day);
}

/**
 * setBusy marks button busy (aria-disabled) while its action runs, instead of disabling it: a disabled button
 * loses the focus, which would then fall to the page when the action ends in an error that names no field.
 */
export function setBusy(button: HTMLButtonElement, busy: boolean): void {
  if (busy) button.setAttribute("aria-disabled", "true");
  else button.removeAttribute("aria-disabled");
}

/** isBusy says whether button's action is running (setBusy): a press meanwhile does nothing. */
export function isBusy(button: HTMLButtonElement): boolean {
  return button.getAttribute("aria-disabled") === "true";
}
