// Settings: a workspace's maximum token lifetime, which its admins change and its members read.
import type { WorkspaceSettings } from "../api";
import { section, type Frame } from "../app";
import { h, isBusy, replace, setBusy } from "../dom";
import { Alert, FieldErrors, describe } from "../errors";
import { choiceGroup, dayLabel, lifetimeChoices, type LifetimeChoice } from "../lifetime";

export interface SettingsOwner {
  /** canEdit is whether the person may change the settings (a workspace admin). */
  canEdit: boolean;
  read(): Promise<WorkspaceSettings>;
  update(maxTokenLifetimeDays: number | null): Promise<WorkspaceSettings>;
}

/** maximumChoices are the choices of a workspace's maximum: none, the usual lifetimes, and current if it is another. */
export function maximumChoices(current: number | null): LifetimeChoice[] {
  const out: LifetimeChoice[] = [{ days: null, label: "No maximum" }, ...lifetimeChoices(null).filter((c) => c.days !== null)];
  if (current !== null && !out.some((c) => c.days === current)) out.push({ days: current, label: dayLabel(current) });
  return out;
}

/** describeMaximum says what a maximum means for the people who generate tokens. */
export function describeMaximum(days: number | null | undefined): string {
  return days
    ? `API tokens of this workspace and its sites must expire within ${dayLabel(days)}. Tokens generated before the maximum was set keep their expiration and are marked in the lists.`
    : "No maximum: API tokens may be generated without an expiration. They still stop working after a year without use.";
}

export function renderSettings(f: Frame, owner: SettingsOwner): void {
  f.main.append(h("p", { class: "lead" }, "Settings that apply to the whole workspace and its sites."));
  const body = h("div", { class: "list-body" }, h("p", { class: "loading" }, "Loading settings…"));
  f.main.append(section("Maximum token lifetime", body));

  void (async () => {
    let settings: WorkspaceSettings;
    try {
      settings = await owner.read();
    } catch (err) {
      replace(body);
      f.alert.show(describe(err));
      return;
    }
    const current = settings.maxTokenLifetimeDays ?? null;
    const summary = h("p", {}, describeMaximum(current));
    if (!owner.canEdit) {
      replace(body, summary, h("p", { class: "notice" }, "Only workspace admins can change the workspace's settings. You are a member of this workspace."));
      return;
    }
    const alert = new Alert("form-alert");
    const errors = new FieldErrors(alert);
    const group = choiceGroup("Maximum token lifetime", "maxTokenLifetime");
    const err = h("p", {});
    group.fs.append(err);
    errors.register("maxTokenLifetimeDays", group.fs, err);
    group.set(maximumChoices(current), current);
    const submit = h("button", { type: "submit", class: "button primary" }, "Save");
    const form = h("form", { novalidate: true, class: "stack" }, alert.el, group.fs, h("div", { class: "actions" }, submit));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (isBusy(submit)) return;
      errors.clear();
      f.status.clear();
      setBusy(submit, true);
      try {
        const saved = await owner.update(group.value());
        summary.textContent = describeMaximum(saved.maxTokenLifetimeDays);
        f.status.show(saved.maxTokenLifetimeDays ? `Maximum token lifetime set to ${dayLabel(saved.maxTokenLifetimeDays)}.` : "Maximum token lifetime removed.");
      } catch (e) {
        errors.show(e, "The settings were not saved:");
      } finally {
        setBusy(submit, false);
      }
    });
    replace(body, summary, form);
  })();
}
