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
