// Members: a workspace's members and a site's administrators (API.md section 10).
import { ApiError, type Member } from "../api";
import { section, type Ctx, type Frame } from "../app";
import { confirm } from "../dialogs";
import { h, isBusy, redraw, replace, scrollRegion, setBusy, time, uid } from "../dom";
import { Alert, FieldErrors, clearRowErrors, describe, rowError, rowErrorId, showRowError } from "../errors";

export interface MemberOwner {
  kind: "workspace" | "site";
  list(): Promise<Member[]>;
  add(email: string, role: "admin" | "member"): Promise<Member>;
  setRole?: (memberId: string, role: "admin" | "member") => Promise<Member>;
  remove(memberId: string): Promise<void>;
}

const roleNames = { admin: "Admin", member: "Member" } as const;

export function renderMembers(ctx: Ctx, f: Frame, owner: MemberOwner): void {
  const isWs = owner.kind === "workspace";
  f.main.append(h("p", { class: "lead" }, isWs
    ? "Workspace admins manage members, API tokens and the audit log; members see the workspace's sites. People are invited by email: they see the invitation when they sign in with that verified email, and join once they accept it. An invitation lapses after 30 days."
    : "Site administrators can manage this site's API tokens. They are invited by email: they see the invitation when they sign in with that verified email, and become administrators once they accept it. An invitation lapses after 30 days."));

  const listBody = h("div", { class: "list-body" }, h("p", { class: "loading" }, "Loading…"));
  const title = isWs ? "Members" : "Site administrators";
  const listSection = section(isWs ? "People in this workspace" : "Administrators of this site", listBody);
  const heading = () => listSection.querySelector<HTMLElement>("h2");
  let members: Member[] = [];

  const isMe = (m: Member) => m.userId === ctx.me.user.id || m.email.toLowerCase() === ctx.me.user.email.toLowerCase();

  async function refresh(): Promise<void> {
    try {
      members = await owner.list();
      draw();
    } catch (err) {
      replace(listBody);
      f.alert.show(describe(err));
    }
  }

  function draw(): void {
    if (!members.length) {
      redraw(listBody, h("p", {}, isWs ? "No members." : "This site has no site administrators. Workspace admins can manage its tokens."));
      return;
    }
    const cols = isWs ? ["Email", "Role", "Status", "Added", "Added by", "Actions"] : ["Email", "Status", "Added", "Added by", "Actions"];
    // redraw keeps the focus on the same row's button, whose label may have changed ("Make admin" to "Make member").
    redraw(listBody, scrollRegion(`${title} table`, h("table", {},
      h("caption", { class: "visually-hidden" }, title),
      h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, members.map(row)))));
  }

  function row(m: Member): HTMLTableRowElement {
    const nameId = `member-${m.id}`;
    const actions = h("td", { class: "row-actions" });
    const describedBy = `${nameId} ${rowErrorId(m.id)}`;
    if (owner.setRole) {
      const to = m.role === "admin" ? "member" : "admin";
      actions.append(h("button", {
        type: "button", class: "button small", "aria-describedby": describedBy, "data-focus-key": `role-${m.id}`,
        onclick: () => void setRole(m, to),
      }, to === "admin" ? "Make admin" : "Make member"));
    }
    actions.append(h("button", {
      type: "button", class: "button small danger", "aria-describedby": describedBy, "data-focus-key": `remove-${m.id}`,
      onclick: () => void remove(m),
    }, "Remove"), rowError(m.id));
    return h("tr", {},
      h("th", { scope: "row", id: nameId }, m.email, isMe(m) ? h("span", { class: "muted" }, " (you)") : null),
      isWs ? h("td", {}, roleNames[m.role] ?? m.role) : null,
      h("td", {}, m.userId ? "Active" : "Invited (not accepted yet)"),
      h("td", {}, time(m.addedOn)),
      h("td", {}, m.addedBy?.email ?? "—"),
      actions);
  }

  async function afterOwnChange(m: Member): Promise<void> {
    if (isMe(m)) {
      await ctx.reloadMe();
      ctx.rerender();
    }
  }

  async function setRole(m: Member, role: "admin" | "member"): Promise<void> {
    if (!owner.setRole) return;
    if (isMe(m) && role === "member") {
      const ok = await confirm({ title: "Stop being an admin?", body: "You will no longer be able to manage this workspace's members, API tokens or audit log.", confirmLabel: "Make me a member", danger: true });
      if (!ok) return;
    }
    f.alert.clear();
    f.status.clear();
    clearRowErrors();
    try {
      await owner.setRole(m.id, role);
    } catch (err) {
      showRowError(m.id, err, f.alert);
      return;
    }
    await refresh();
    f.status.show(`${m.email} is now ${role === "admin" ? "an admin" : "a member"}.`);
    await afterOwnChange(m);
  }

  async function remove(m: Member): Promise<void> {
    const ok = await confirm({
      title: isWs ? "Remove member?" : "Remove site administrator?",
      body: isWs
        ? `${m.email} will lose access to this workspace and its sites. API tokens they generated keep working until revoked.`
        : `${m.email} will no longer be able to manage this site's API tokens. API tokens they generated keep working until revoked.`,
      confirmLabel: "Remove",
      danger: true,
    }, heading);
    if (!ok) return;
    f.alert.clear();
    f.status.clear();
    clearRowErrors();
    try {
      await owner.remove(m.id);
    } catch (err) {
      showRowError(m.id, err, f.alert);
      return;
    }
    await refresh();
    heading()?.focus();
    f.status.show(`${m.email} removed.`);
    await afterOwnChange(m);
  }

  f.main.append(listSection, section(isWs ? "Add member" : "Add site administrator", addForm(owner, async (m) => {
    await refresh();
    f.status.show(isWs ? `${m.email} added as ${m.role === "admin" ? "an admin" : "a member"}.` : `${m.email} added as a site administrator.`);
  })));
  void refresh();
}

function addForm(owner: MemberOwner, done: (m: Member) => Promise<void>): HTMLFormElement {
  const alert = new Alert("form-alert");
  const errors = new FieldErrors(alert);
  const emailId = uid("email");
  const emailErr = h("p", {});
  const email = h("input", { id: emailId, name: "email", type: "email", autocomplete: "off", required: true, spellcheck: "false" });
  errors.register("email", email, emailErr);

  let roleGroup: HTMLFieldSetElement | null = null;
  if (owner.kind === "workspace") {
    const legendId = uid("legend");
    const err = h("p", {});
    roleGroup = h("fieldset", { role: "radiogroup", "aria-labelledby": legendId },
      h("legend", { id: legendId }, "Role"),
      h("div", { class: "choices" }, (["member", "admin"] as const).map((r) => {
        const id = uid("role");
        return h("div", { class: "choice" },
          h("input", { type: "radio", id, name: "role", value: r, checked: r === "member" }),
          h("label", { for: id }, roleNames[r]));
      })),
      err);
    errors.register("role", roleGroup, err);
  }

  const submit = h("button", { type: "submit", class: "button primary" }, owner.kind === "workspace" ? "Add member" : "Add site administrator");
  const form = h("form", { novalidate: true, class: "stack" },
    alert.el,
    h("div", { class: "field" }, h("label", { for: emailId }, "Email"), email, emailErr),
    roleGroup,
    h("div", { class: "actions" }, submit));

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (isBusy(submit)) return;
    errors.clear();
    const value = email.value.trim();
    if (!value || !value.includes("@")) {
      errors.set("email", "Enter an email address, such as name@example.com.");
      errors.summarize("Nobody was added:");
      return;
    }
    const role = (roleGroup?.querySelector<HTMLInputElement>("input:checked")?.value ?? "admin") as "admin" | "member";
    setBusy(submit, true);
    try {
      const m = await owner.add(value, role);
      form.reset();
      await done(m);
      email.focus();
    } catch (err) {
      if (err instanceof ApiError && err.code === "conflict") {
        // Already a member: the email is what caused it, so the message goes beside the email field.
        errors.clear();
        errors.set("email", describe(err));
        errors.summarize("Nobody was added:");
      } else {
        errors.show(err, "Nobody was added:");
      }
    } finally {
      setBusy(submit, false);
    }
  });
  return form;
}
