// Showing API errors where they belong: field errors beside their field (aria-describedby), others in an alert.
import { ApiError, SessionEnded } from "./api";
import { announce, h, replace, uid } from "./dom";
import { maxActiveTokens } from "./generated/domain";

/** Alert is a live region for errors that belong to no field. It exists before anything is put in it. */
export class Alert {
  readonly el: HTMLDivElement;
  constructor(extraClass = "") {
    this.el = h("div", { role: "alert", class: `alert ${extraClass}`.trim() });
  }
  show(message: string): void {
    replace(this.el, h("p", {}, message));
    this.el.classList.add("alert-shown");
  }
  clear(): void {
    this.el.replaceChildren();
    this.el.classList.remove("alert-shown");
  }
}

/** Status is a polite live region for what went well. */
export class Status {
  readonly el: HTMLParagraphElement;
  constructor() {
    this.el = h("p", { role: "status", class: "status" });
  }
  show(message: string): void {
    this.el.textContent = message;
  }
  clear(): void {
    this.el.textContent = "";
  }
}

/** describe turns any thrown value into a sentence for people. */
export function describe(err: unknown): string {
  if (err instanceof SessionEnded) return err.message;
  if (err instanceof ApiError) {
    switch (err.code) {
      case "forbidden":
        return `You do not have the role this needs. ${err.message}`.trim();
      case "resource_not_found":
        return "Not found, or you do not have access to it.";
      case "not_enterprise_plan_workspace":
        return "This needs a workspace on the Enterprise plan.";
      case "token_limit_reached":
        return `This already has ${maxActiveTokens} active API tokens, the most allowed. Revoke one before generating another.`;
      case "internal_error":
        return "Something went wrong on our side. Try again.";
      default:
        return err.message;
    }
  }
  return err instanceof Error ? err.message : String(err);
}

/** sentence ends message with a full stop unless it ends with one already, so that messages read one after another. */
export function sentence(message: string): string {
  const m = message.trim();
  return /[.!?…]$/.test(m) ? m : `${m}.`;
}

/** FieldErrors wires error messages to form controls by the API's field names. */
export class FieldErrors {
  private readonly slots = new Map<string, { control: HTMLElement; msg: HTMLElement }>();
  private readonly shown: HTMLElement[] = [];
  /** messages are the field messages shown, in order, for the alert's summary. */
  readonly messages: string[] = [];

  constructor(private readonly alert: Alert) {}

  /** register makes field (as the API names it, e.g. "name" or "permissions.cms") show its error in msg. */
  register(field: string, control: HTMLElement, msg: HTMLElement): void {
    msg.classList.add("field-error");
    if (!msg.id) msg.id = uid("error");
    this.slots.set(field, { control, msg });
  }

  clear(): void {
    for (const { control, msg } of this.slots.values()) {
      msg.textContent = "";
      control.removeAttribute("aria-invalid");
      const ids = (control.getAttribute("aria-describedby") ?? "").split(" ").filter((x) => x && x !== msg.id);
      if (ids.length) control.setAttribute("aria-describedby", ids.join(" "));
      else control.removeAttribute("aria-describedby");
    }
    this.shown.length = 0;
    this.messages.length = 0;
    this.alert.clear();
  }

  /** set shows one field's message; it returns false if the field is not on this form. */
  set(field: string, message: string): boolean {
    const slot = this.slots.get(field) ?? this.slots.get(field.split(/[.[]/)[0] ?? field);
    if (!slot) return false;
    message = sentence(message);
    slot.msg.textContent = slot.msg.textContent ? `${slot.msg.textContent} ${message}` : message;
    slot.control.setAttribute("aria-invalid", "true");
    const ids = (slot.control.getAttribute("aria-describedby") ?? "").split(" ").filter(Boolean);
    if (!ids.includes(slot.msg.id)) slot.control.setAttribute("aria-describedby", [...ids, slot.msg.id].join(" "));
    this.shown.push(slot.control);
    this.messages.push(message);
    return true;
  }

  /**
   * show displays err: its field details beside their fields, the rest in the alert, which also repeats the
   * field messages, after lead (what did not happen) if given, so that they are announced; focus goes to the
   * first field in error.
   */
  show(err: unknown, lead?: string): void {
    this.clear();
    const unplaced: string[] = [];
    if (err instanceof ApiError && err.details.length) {
      for (const d of err.details) if (!this.set(d.field, d.message)) unplaced.push(sentence(`${d.field}: ${d.message}`));
      this.alert.show([lead ?? describe(err), ...this.messages, ...unplaced].join(" "));
    } else {
      this.alert.show(describe(err));
    }
    this.focusFirst();
  }

  /** summarize shows lead and every field message in the alert, and moves the focus to the first field in error. */
  summarize(lead: string): void {
    this.alert.show(`${lead} ${this.messages.join(" ")}`.trim());
    this.focusFirst();
  }

  /** focusFirst focuses the first field in error: the control itself if it takes the focus, else its checked or first input. */
  focusFirst(): void {
    const first = this.shown[0];
    if (first) {
      const target = first.matches("input, select, textarea, [tabindex]") ? first : first.querySelector<HTMLElement>("input:checked, input");
      (target ?? first).focus();
    }
  }
}

/** rowErrorId is the id of the message beside the actions of the row whose thing has id rowId. */
export const rowErrorId = (rowId: string): string => `row-error-${rowId}`;

/** rowError is the message slot beside a row's actions; the row's buttons name it in aria-describedby. */
export function rowError(rowId: string): HTMLParagraphElement {
  return h("p", { id: rowErrorId(rowId), class: "row-error" });
}

/**
 * showRowError puts err beside the actions of the row that caused it and announces it at once. If the row is no
 * longer listed, the page's alert takes it.
 */
export function showRowError(rowId: string, err: unknown, fallback: Alert): void {
  const message = describe(err);
  const el = document.getElementById(rowErrorId(rowId));
  if (!el) {
    fallback.show(message);
    return;
  }
  el.textContent = message;
  announce(message, true);
}

/** clearRowErrors empties every row's message. */
export function clearRowErrors(): void {
  for (const el of document.querySelectorAll(".row-error")) el.textContent = "";
}
