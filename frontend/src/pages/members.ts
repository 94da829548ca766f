// The organization's Members page (/members/, managers and above): the members with their role, status
// and join date, searched and filtered by role on the server; managers and above invite new people and
// revoke invitations for roles up to their own, and admins and owners also change roles, deactivate and
// reactivate members and add existing users (members_invites.ts).
// Controls the caller may not use are not drawn, and the API's refusals are shown as sentences.

import "./members.css";
import { api } from "../api";
import { el, replaceChildren } from "../dom";
import { catalogue, formatDateTime, formatNumber } from "../locale";
import type { PageContext } from "../router";
import { roleAtLeast, type Role } from "../types";
import { confirmAction } from "./confirm";
import { displayName, grantableRoles, refusal, roleName, ROLES, type UserSimple } from "./member_roles";
import { invitationsSection } from "./members_invites";
import { dataTable } from "./tables";

export interface MembershipRow {
  user: UserSimple;
  role: Role;
  is_active: boolean;
  created_at: string;
}

interface MembershipPage {
  count: number;
  next: number | null;
  previous: number | null;
  results: MembershipRow[];
}

const PAGE_SIZE = 50;

const t = catalogue(
  {
    title: "Members",
    noOrganization: "You are not an active member of any organization.",
    readOnly: "You can see the members and invite people. Only admins and owners can change members.",
    search: "Search",
    searchPlaceholder: "Name or e-mail",
    role: "Role",
    allRoles: "All roles",
    showInactive: "Show deactivated members",
    name: "Name",
    email: "E-mail",
    status: "Status",
    joined: "Joined",
    actions: "Actions",
    active: "Active",
    inactive: "Deactivated",
    you: "(you)",
    roleOf: "Role of {who}",
    deactivate: "Deactivate",
    reactivate: "Reactivate",
    cancel: "Cancel",
    loading: "Loading members…",
    loadFailed: "The members could not be loaded: {reason}",
    retry: "Try again",
    noMembers: "No members yet.",
    noMatch: "No member matches this search or filter.",
    range: "{from}–{to} of {count}",
    previous: "Previous",
    next: "Next",
    pages: "Pages of members",
    demoteTitle: "Lower the role of {who}?",
    demoteMessage:
      "{who} goes from {from} to {to} and loses what the {from} role allows, at once. Their annotations and other work are kept.",
    demoteConfirm: "Change role",
    roleChanged: "{who} is now {role}.",
    deactivateTitle: "Deactivate {who}?",
    deactivateMessage:
      "{who} loses access to this organization at once, and the tasks they hold go back to the queue. Their annotations and other work are kept, and you can reactivate them later.",
    deactivated: "{who} is deactivated. Their work is kept.",
    reactivateTitle: "Reactivate {who}?",
    reactivateMessage: "{who} gets their access back, as {role}. Their earlier work is still there.",
    reactivated: "{who} is active again, as {role}.",
  },
  {
    title: "メンバー",
    noOrganization: "有効なメンバーとして所属している組織がありません。",
    readOnly: "メンバーの閲覧と招待ができます。メンバーを変更できるのは管理者とオーナーだけです。",
    search: "検索",
    searchPlaceholder: "名前またはメールアドレス",
    role: "ロール",
    allRoles: "すべてのロール",
    showInactive: "無効化したメンバーも表示",
    name: "名前",
    email: "メールアドレス",
    status: "状態",
    joined: "参加日時",
    actions: "操作",
    active: "有効",
    inactive: "無効",
    you: "（あなた）",
    roleOf: "{who} のロール",
    deactivate: "無効化",
    reactivate: "再有効化",
    cancel: "キャンセル",
    loading: "メンバーを読み込んでいます…",
    loadFailed: "メンバーを読み込めませんでした: {reason}",
    retry: "再試行",
    noMembers: "まだメンバーがいません。",
    noMatch: "この検索・絞り込みに一致するメンバーはいません。",
    range: "{count} 人中 {from}–{to} 人目",
    previous: "前へ",
    next: "次へ",
    pages: "メンバーのページ",
    demoteTitle: "{who} のロールを下げますか？",
    demoteMessage:
      "{who} のロールは {from} から {to} に変わり、{from} としての権限はすぐに失われます。アノテーションなどの作業は残ります。",
    demoteConfirm: "ロールを変更",
    roleChanged: "{who} のロールを {role} にしました。",
    deactivateTitle: "{who} を無効化しますか？",
    deactivateMessage:
      "{who} はすぐにこの組織にアクセスできなくなり、保持中のタスクはキューに戻ります。アノテーションなどの作業は残り、後で再有効化できます。",
    deactivated: "{who} を無効化しました。作業は残っています。",
    reactivateTitle: "{who} を再有効化しますか？",
    reactivateMessage: "{who} は {role} としてアクセスできるようになります。以前の作業もそのまま残っています。",
    reactivated: "{who} を {role} として再有効化しました。",
  },
);

export default async function membersPage(ctx: PageContext): Promise<() => void> {
  document.title = `${t("title")} · Tessera`;
  const organization = ctx.settings.organization;
  if (!organization) {
    replaceChildren(ctx.root, el("p", { className: "notice error", attrs: { role: "alert" }, text: t("noOrganization") }));
    return () => undefined;
  }
  const page = new MembersPage(ctx, organization.id);
  page.render();
  await page.load();
  return () => page.stop();
}

class MembersPage {
  private readonly base: string;
  private readonly own: Role | null;
  private readonly admin: boolean;
  private readonly notice = el("p", { className: "notice members-notice", attrs: { role: "status", "aria-live": "polite" } });
  private readonly search = el("input", { attrs: { type: "search", id: "members-search", autocomplete: "off", placeholder: t("searchPlaceholder") } });
  private readonly roleFilter = el("select", { attrs: { id: "members-role" } });
  private readonly inactive = el("input", { attrs: { type: "checkbox", id: "members-inactive" } });
  private readonly list = el("div", { className: "members-list", attrs: { "aria-busy": "false" } });
  private page = 1;
  private loading = 0;
  private searchTimer = 0;

  constructor(
    private readonly ctx: PageContext,
    organizationId: number,
  ) {
    this.base = `/api/organizations/${organizationId}`;
    this.own = ctx.settings.role;
    this.admin = roleAtLeast(this.own, "admin");
  }

  render(): void {
    this.roleFilter.append(el("option", { attrs: { value: "" }, text: t("allRoles") }), ...ROLES.map((role) => el("option", { attrs: { value: role }, text: roleName(role) })));
    this.inactive.checked = true;
    this.search.addEventListener("input", () => {
      window.clearTimeout(this.searchTimer);
      this.searchTimer = window.setTimeout(() => this.reload(), 250);
    });
    this.search.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        window.clearTimeout(this.searchTimer);
        this.reload();
      }
    });
    this.roleFilter.addEventListener("change", () => this.reload());
    this.inactive.addEventListener("change", () => this.reload());
    const toolbar = el(
      "div",
      { className: "members-toolbar", attrs: { role: "search" } },
      el("label", { className: "field" }, el("span", { className: "label", text: t("search") }), this.search),
      el("label", { className: "field" }, el("span", { className: "label", text: t("role") }), this.roleFilter),
      el("label", { className: "check" }, this.inactive, el("span", { text: t("showInactive") })),
    );
    replaceChildren(
      this.ctx.root,
      el("div", { className: "page-head" }, el("h1", { text: t("title") }), el("span", { className: "org-name", text: this.ctx.settings.organization?.title ?? "" })),
      this.admin ? null : el("p", { className: "hint", text: t("readOnly") }),
      this.notice,
      el("section", { className: "members-section", attrs: { "aria-label": t("title") } }, toolbar, this.list),
      invitationsSection({
        base: this.base,
        own: this.own,
        onMemberAdded: () => this.reload(),
      }),
    );
  }

  stop(): void {
    window.clearTimeout(this.searchTimer);
  }

  private reload(): void {
    this.page = 1;
    void this.load();
  }

  async load(): Promise<void> {
    const ticket = ++this.loading;
    const query = new URLSearchParams({ page: String(this.page), page_size: String(PAGE_SIZE) });
    const search = this.search.value.trim();
    if (search) query.set("search", search);
    if (this.roleFilter.value) query.set("role", this.roleFilter.value);
    if (this.inactive.checked) query.set("include_inactive", "true");
    this.list.setAttribute("aria-busy", "true");
    if (!this.list.firstChild) replaceChildren(this.list, el("p", { className: "empty", text: t("loading") }));
    let answer: MembershipPage;
    try {
      answer = await api<MembershipPage>("GET", `${this.base}/memberships/?${query}`);
    } catch (error) {
      if (ticket !== this.loading) return;
      this.list.setAttribute("aria-busy", "false");
      replaceChildren(
        this.list,
        el("p", { className: "notice error", attrs: { role: "alert" }, text: t("loadFailed", { reason: refusal(error) }) }),
        el("button", { attrs: { type: "button" }, text: t("retry"), on: { click: () => void this.load() } }),
      );
      return;
    }
    if (ticket !== this.loading) return;
    this.list.setAttribute("aria-busy", "false");
    if (!answer.results.length) {
      const filtered = Boolean(search || this.roleFilter.value);
      replaceChildren(this.list, el("p", { className: "empty", text: filtered ? t("noMatch") : t("noMembers") }));
      return;
    }
    const body = el("tbody", {}, ...answer.results.map((row) => this.row(row)));
    replaceChildren(
      this.list,
      dataTable(
        "data members-table",
        [t("name"), t("email"), t("role"), t("status"), t("joined"), this.admin && t("actions")],
        body,
      ),
      this.pager(answer),
    );
  }

  private pager(answer: MembershipPage): HTMLElement | null {
    if (answer.count <= PAGE_SIZE) return null;
    const from = (this.page - 1) * PAGE_SIZE + 1;
    const to = from + answer.results.length - 1;
    const go = (page: number | null) => () => {
      if (page === null) return;
      this.page = page;
      void this.load();
    };
    const previous = el("button", { attrs: { type: "button" }, text: t("previous"), on: { click: go(answer.previous) } });
    const next = el("button", { attrs: { type: "button" }, text: t("next"), on: { click: go(answer.next) } });
    previous.disabled = answer.previous === null;
    next.disabled = answer.next === null;
    return el(
      "nav",
      { className: "pager actions", attrs: { "aria-label": t("pages") } },
      previous,
      el("span", { text: t("range", { from: formatNumber(from), to: formatNumber(to), count: formatNumber(answer.count) }) }),
      next,
    );
  }

  /** Whether the caller may change this member: admin or above, and not below the member's role. */
  private mayChange(row: MembershipRow): boolean {
    return this.admin && roleAtLeast(this.own, row.role);
  }

  private row(row: MembershipRow): HTMLTableRowElement {
    const tr = el("tr", { data: { user: row.user.id }, className: row.is_active ? "" : "inactive" });
    this.fill(tr, row);
    return tr;
  }

  private fill(tr: HTMLTableRowElement, row: MembershipRow): void {
    const self = row.user.id === this.ctx.settings.user.id;
    const name = displayName(row.user);
    const who = name || row.user.email;
    const roleCell = el("td", { data: { field: "role" } });
    if (this.mayChange(row) && row.is_active) roleCell.append(this.roleSelect(tr, row, who));
    else roleCell.append(roleName(row.role));
    let actions: HTMLElement | null = null;
    if (this.admin) {
      actions = el("td", { className: "row-actions" });
      if (this.mayChange(row) && !self) {
        actions.append(
          row.is_active
            ? el("button", { attrs: { type: "button", "data-action": "deactivate" }, text: t("deactivate"), on: { click: () => void this.deactivate(tr, row, who) } })
            : el("button", { attrs: { type: "button", "data-action": "reactivate" }, text: t("reactivate"), on: { click: () => void this.reactivate(tr, row, who) } }),
        );
      }
    }
    replaceChildren(
      tr,
      el("td", { data: { field: "name" } }, name, self ? el("span", { className: "you", text: ` ${t("you")}` }) : null),
      el("td", { data: { field: "email" }, className: "email", text: row.user.email }),
      roleCell,
      el("td", { data: { field: "status" } }, el("span", { className: row.is_active ? "status active" : "status inactive", text: row.is_active ? t("active") : t("inactive") })),
      el("td", { data: { field: "joined" }, text: formatDateTime(row.created_at) }),
      actions,
    );
    tr.className = row.is_active ? "" : "inactive";
  }

  private roleSelect(tr: HTMLTableRowElement, row: MembershipRow, who: string): HTMLSelectElement {
    const select = el("select", { attrs: { "aria-label": t("roleOf", { who }) } });
    for (const role of grantableRoles(this.own)) {
      const option = el("option", { attrs: { value: role }, text: roleName(role) });
      option.selected = role === row.role;
      select.append(option);
    }
    select.addEventListener("change", () => void this.changeRole(tr, row, who, select));
    return select;
  }

  private async changeRole(tr: HTMLTableRowElement, row: MembershipRow, who: string, select: HTMLSelectElement): Promise<void> {
    const wanted = select.value as Role;
    const patch = async (): Promise<void> => {
      try {
        const changed = await api<MembershipRow>("PATCH", `${this.base}/memberships/${row.user.id}/`, { role: wanted });
        Object.assign(row, changed);
      } catch (error) {
        throw new Error(refusal(error));
      }
    };
    let done: boolean;
    if (roleAtLeast(wanted, row.role)) {
      try {
        await patch();
        done = true;
      } catch (error) {
        select.value = row.role;
        this.say((error as Error).message, "error");
        return;
      }
    } else {
      done = await confirmAction({
        title: t("demoteTitle", { who }),
        message: t("demoteMessage", { who, from: roleName(row.role), to: roleName(wanted) }),
        confirmLabel: t("demoteConfirm"),
        cancelLabel: t("cancel"),
        action: patch,
      });
    }
    if (!done) {
      select.value = row.role;
      return;
    }
    if (row.user.id === this.ctx.settings.user.id) {
      // The caller's own role changed: what this page may show them changed with it.
      location.reload();
      return;
    }
    this.fill(tr, row);
    this.say(t("roleChanged", { who, role: roleName(row.role) }));
    tr.querySelector<HTMLSelectElement>("td[data-field=role] select")?.focus();
  }

  private async deactivate(tr: HTMLTableRowElement, row: MembershipRow, who: string): Promise<void> {
    const done = await confirmAction({
      title: t("deactivateTitle", { who }),
      message: t("deactivateMessage", { who }),
      confirmLabel: t("deactivate"),
      cancelLabel: t("cancel"),
      action: async () => {
        try {
          await api("DELETE", `${this.base}/memberships/${row.user.id}/`);
        } catch (error) {
          throw new Error(refusal(error));
        }
      },
    });
    if (!done) return;
    row.is_active = false;
    this.afterStatusChange(tr, row, t("deactivated", { who }));
  }

  private async reactivate(tr: HTMLTableRowElement, row: MembershipRow, who: string): Promise<void> {
    const done = await confirmAction({
      title: t("reactivateTitle", { who }),
      message: t("reactivateMessage", { who, role: roleName(row.role) }),
      confirmLabel: t("reactivate"),
      cancelLabel: t("cancel"),
      action: async () => {
        try {
          Object.assign(row, await api<MembershipRow>("POST", `${this.base}/memberships/`, { email: row.user.email, role: row.role }));
        } catch (error) {
          throw new Error(refusal(error));
        }
      },
    });
    if (!done) return;
    this.afterStatusChange(tr, row, t("reactivated", { who, role: roleName(row.role) }));
  }

  private afterStatusChange(tr: HTMLTableRowElement, row: MembershipRow, message: string): void {
    if (!row.is_active && !this.inactive.checked) tr.remove();
    else this.fill(tr, row);
    this.say(message);
    (tr.isConnected ? tr.querySelector<HTMLElement>("button[data-action]") : this.search)?.focus();
  }

  private say(text: string, kind: "info" | "error" = "info"): void {
    this.notice.textContent = text;
    this.notice.className = kind === "error" ? "notice error members-notice" : "notice members-notice";
    this.notice.setAttribute("role", kind === "error" ? "alert" : "status");
  }
}
