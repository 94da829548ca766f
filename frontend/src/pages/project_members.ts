// A project's Members tab: whether the project is for its listed members only (`members_only`), and that
// list. Reviewers and above read it; managers and above switch the restriction, add active members of
// the organization and remove them. Managers, admins and owners always get the project's tasks.

import "./members.css";
import { api } from "../api";
import { el, replaceChildren } from "../dom";
import { catalogue, formatDateTime } from "../locale";
import { roleAtLeast, type Role } from "../types";
import type { ProjectContext } from "./project";
import { displayName, refusal, roleName, type UserSimple } from "./member_roles";
import { dataTable } from "./tables";

interface ProjectMember {
  user: UserSimple;
  role: Role;
  added_at: string;
}

interface Candidate {
  user: UserSimple;
  role: Role;
}

const CANDIDATES_SHOWN = 50;

const t = catalogue(
  {
    switchLabel: "Only project members may label and review",
    explainOn:
      "On: only the members listed below, and the organization's managers, admins and owners, get this project's tasks and see it in their projects. Other annotators and reviewers do not.",
    explainOff:
      "Off: every member of the organization may label and review this project. The list below is kept, and applies once you turn this on.",
    restricted: "Restricted to the listed members.",
    open: "Open to every member of the organization.",
    switchedOn: "Only the listed members (and managers and above) get this project's tasks now.",
    switchedOff: "Every member of the organization may work on this project now.",
    membersTitle: "Project members",
    readOnly: "You can see who is on this project. Managers and above can change it.",
    name: "Name",
    email: "E-mail",
    role: "Organization role",
    added: "Added",
    actions: "Actions",
    remove: "Remove",
    removeLabel: "Remove {who} from the project",
    removed: "{who} is no longer a member of this project.",
    addTitle: "Add a member",
    find: "Find an annotator or reviewer",
    alwaysIn: "Managers, admins and owners work on every project, so they are not listed here.",
    findPlaceholder: "Name or e-mail",
    member: "Member",
    add: "Add to project",
    addedOne: "{who} is now a member of this project.",
    noCandidates: "No other active annotator or reviewer matches.",
    candidatesFailed: "The organization's members could not be loaded: {reason}",
    emptyManager: "No members yet. Add the annotators and reviewers who should work on this project.",
    empty: "This project has no listed members.",
    loadFailed: "The project's members could not be loaded: {reason}",
    retry: "Try again",
  },
  {
    switchLabel: "プロジェクトのメンバーだけがラベル付けとレビューを行う",
    explainOn:
      "オン: 下に並ぶメンバーと、組織のマネージャー・管理者・オーナーだけがこのプロジェクトのタスクを受け取り、プロジェクト一覧に表示されます。それ以外のアノテーターとレビュアーには表示されません。",
    explainOff:
      "オフ: 組織のすべてのメンバーがこのプロジェクトのラベル付けとレビューを行えます。下のリストは保持され、オンにすると適用されます。",
    restricted: "リストのメンバーに限定されています。",
    open: "組織のすべてのメンバーに開かれています。",
    switchedOn: "これからは、リストのメンバー（とマネージャー以上）だけがこのプロジェクトのタスクを受け取ります。",
    switchedOff: "これからは、組織のすべてのメンバーがこのプロジェクトで作業できます。",
    membersTitle: "プロジェクトのメンバー",
    readOnly: "このプロジェクトのメンバーを閲覧できます。変更できるのはマネージャー以上です。",
    name: "名前",
    email: "メールアドレス",
    role: "組織でのロール",
    added: "追加日時",
    actions: "操作",
    remove: "外す",
    removeLabel: "{who} をプロジェクトから外す",
    removed: "{who} をこのプロジェクトのメンバーから外しました。",
    addTitle: "メンバーを追加",
    find: "アノテーターまたはレビュアーを検索",
    alwaysIn: "マネージャー・管理者・オーナーはすべてのプロジェクトで作業できるため、ここには表示されません。",
    findPlaceholder: "名前またはメールアドレス",
    member: "メンバー",
    add: "プロジェクトに追加",
    addedOne: "{who} をこのプロジェクトのメンバーにしました。",
    noCandidates: "一致する有効なアノテーター・レビュアーはほかにいません。",
    candidatesFailed: "組織のメンバーを読み込めませんでした: {reason}",
    emptyManager: "まだメンバーがいません。このプロジェクトで作業するアノテーターとレビュアーを追加してください。",
    empty: "このプロジェクトにはリストされたメンバーがいません。",
    loadFailed: "プロジェクトのメンバーを読み込めませんでした: {reason}",
    retry: "再試行",
  },
);

export default async function projectMembersTab(ctx: ProjectContext): Promise<() => void> {
  const tab = new MembersTab(ctx);
  tab.render();
  await tab.load();
  return () => tab.stop();
}

class MembersTab {
  private readonly manager: boolean;
  private readonly path: string;
  private readonly notice = el("p", { className: "notice members-notice", attrs: { role: "status", "aria-live": "polite" } });
  private readonly explanation = el("p", { className: "hint", attrs: { id: "members-only-help" } });
  private readonly list = el("div", { className: "project-members-list" });
  private readonly search = el("input", { attrs: { type: "search", id: "project-member-search", autocomplete: "off", placeholder: t("findPlaceholder") } });
  private readonly candidates = el("select", { attrs: { id: "project-member-user" } });
  private readonly addButton = el("button", { className: "primary", attrs: { type: "submit" }, text: t("add") });
  private members: ProjectMember[] = [];
  private searchTimer = 0;
  private candidateTicket = 0;

  constructor(private readonly ctx: ProjectContext) {
    this.manager = roleAtLeast(ctx.settings.role, "manager");
    this.path = `/api/projects/${ctx.project.id}/members/`;
  }

  private get membersOnly(): boolean {
    return this.ctx.project.members_only === true;
  }

  render(): void {
    replaceChildren(
      this.ctx.root,
      el(
        "div",
        { className: "project-members" },
        this.switchCard(),
        this.notice,
        el(
          "section",
          { attrs: { "aria-labelledby": "project-members-title" } },
          el("h2", { attrs: { id: "project-members-title", tabindex: "-1" }, text: t("membersTitle") }),
          this.manager ? this.addForm() : el("p", { className: "hint", text: t("readOnly") }),
          this.list,
        ),
      ),
    );
  }

  stop(): void {
    window.clearTimeout(this.searchTimer);
  }

  private switchCard(): HTMLElement {
    this.explanation.textContent = this.membersOnly ? t("explainOn") : t("explainOff");
    if (!this.manager) {
      return el(
        "div",
        { className: "card members-switch" },
        el("p", { className: "state", data: { field: "members-only" }, text: this.membersOnly ? t("restricted") : t("open") }),
        this.explanation,
      );
    }
    const toggle = el("input", {
      attrs: { type: "checkbox", role: "switch", id: "members-only", "aria-describedby": "members-only-help" },
    });
    toggle.checked = this.membersOnly;
    toggle.setAttribute("aria-checked", String(toggle.checked));
    toggle.addEventListener("change", () => void this.setMembersOnly(toggle));
    return el(
      "div",
      { className: "card members-switch" },
      el("label", { className: "check" }, toggle, el("span", { text: t("switchLabel") })),
      this.explanation,
    );
  }

  private async setMembersOnly(toggle: HTMLInputElement): Promise<void> {
    const wanted = toggle.checked;
    toggle.disabled = true;
    try {
      await api("PATCH", `/api/projects/${this.ctx.project.id}/`, { members_only: wanted });
      this.ctx.project = await this.ctx.refreshProject();
    } catch (error) {
      toggle.checked = !wanted;
      this.say(refusal(error), "error");
      return;
    } finally {
      toggle.disabled = false;
      toggle.setAttribute("aria-checked", String(toggle.checked));
      toggle.focus();
    }
    this.explanation.textContent = this.membersOnly ? t("explainOn") : t("explainOff");
    this.say(this.membersOnly ? t("switchedOn") : t("switchedOff"));
  }

  private addForm(): HTMLElement {
    this.search.addEventListener("input", () => {
      window.clearTimeout(this.searchTimer);
      this.searchTimer = window.setTimeout(() => void this.loadCandidates(), 250);
    });
    this.search.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      event.preventDefault();
      window.clearTimeout(this.searchTimer);
      void this.loadCandidates();
    });
    const form = el(
      "form",
      { className: "card", attrs: { "aria-labelledby": "project-member-add-title" } },
      el("h2", { attrs: { id: "project-member-add-title" }, text: t("addTitle") }),
      el(
        "div",
        { className: "member-add" },
        el("div", { className: "field" }, el("label", { attrs: { for: "project-member-search" }, text: t("find") }), this.search),
        el("div", { className: "field" }, el("label", { attrs: { for: "project-member-user" }, text: t("member") }), this.candidates),
        this.addButton,
      ),
      el("p", { className: "hint", text: t("alwaysIn") }),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.add();
    });
    return form;
  }

  async load(): Promise<void> {
    try {
      this.members = await api<ProjectMember[]>("GET", this.path);
    } catch (error) {
      replaceChildren(
        this.list,
        el("p", { className: "notice error", attrs: { role: "alert" }, text: t("loadFailed", { reason: refusal(error) }) }),
        el("button", { attrs: { type: "button" }, text: t("retry"), on: { click: () => void this.load() } }),
      );
      return;
    }
    this.drawList();
    if (this.manager) await this.loadCandidates();
  }

  /**
   * Active annotators and reviewers of the organization, matching the search, not on the project yet.
   * Managers, admins and owners are left out: they work on every project whatever the list says.
   */
  private async loadCandidates(): Promise<void> {
    const ticket = ++this.candidateTicket;
    const organization = this.ctx.settings.organization;
    if (!organization) return;
    const search = this.search.value.trim();
    const page = (role: Role) => {
      const query = new URLSearchParams({ role, page_size: String(CANDIDATES_SHOWN + this.members.length) });
      if (search) query.set("search", search);
      return api<{ results: Candidate[] }>("GET", `/api/organizations/${organization.id}/memberships/?${query}`);
    };
    let rows: Candidate[];
    try {
      const [annotators, reviewers] = await Promise.all([page("annotator"), page("reviewer")]);
      rows = [...annotators.results, ...reviewers.results];
    } catch (error) {
      if (ticket !== this.candidateTicket) return;
      this.fillCandidates([]);
      this.say(t("candidatesFailed", { reason: refusal(error) }), "error");
      return;
    }
    if (ticket !== this.candidateTicket) return;
    const onProject = new Set(this.members.map((member) => member.user.id));
    const byName = (row: Candidate) => (displayName(row.user) || row.user.email).toLocaleLowerCase();
    this.fillCandidates(
      rows
        .filter((row) => !onProject.has(row.user.id))
        .sort((a, b) => byName(a).localeCompare(byName(b)))
        .slice(0, CANDIDATES_SHOWN),
    );
  }

  private fillCandidates(rows: Candidate[]): void {
    replaceChildren(
      this.candidates,
      ...rows.map((row) => {
        const name = displayName(row.user);
        const label = `${name ? `${name} <${row.user.email}>` : row.user.email} (${roleName(row.role)})`;
        return el("option", { attrs: { value: String(row.user.id) }, text: label });
      }),
    );
    if (!rows.length) {
      const none = el("option", { attrs: { value: "" }, text: t("noCandidates") });
      none.disabled = true;
      none.selected = true;
      this.candidates.append(none);
    }
    this.addButton.disabled = !rows.length;
  }

  private async add(): Promise<void> {
    const user = Number(this.candidates.value);
    if (!user) return;
    this.addButton.disabled = true;
    try {
      const member = await api<ProjectMember>("POST", this.path, { user });
      this.members = [...this.members.filter((row) => row.user.id !== member.user.id), member];
    } catch (error) {
      this.say(refusal(error), "error");
      this.addButton.disabled = false;
      return;
    }
    const added = this.members[this.members.length - 1];
    this.drawList();
    this.say(t("addedOne", { who: displayName(added.user) || added.user.email }));
    await this.loadCandidates();
    this.candidates.focus();
  }

  private async remove(member: ProjectMember, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      await api("DELETE", `${this.path}${member.user.id}/`);
    } catch (error) {
      this.say(refusal(error), "error");
      button.disabled = false;
      return;
    }
    this.members = this.members.filter((row) => row.user.id !== member.user.id);
    this.drawList();
    this.say(t("removed", { who: displayName(member.user) || member.user.email }));
    document.getElementById("project-members-title")?.focus();
    await this.loadCandidates();
  }

  private drawList(): void {
    if (!this.members.length) {
      replaceChildren(this.list, el("p", { className: "empty", text: this.manager ? t("emptyManager") : t("empty") }));
      return;
    }
    const rows = this.members.map((member) => {
      const who = displayName(member.user) || member.user.email;
      const remove = el("button", { attrs: { type: "button", "data-action": "remove", "aria-label": t("removeLabel", { who }) }, text: t("remove") });
      remove.addEventListener("click", () => void this.remove(member, remove));
      return el(
        "tr",
        { data: { user: member.user.id } },
        el("td", { data: { field: "name" }, text: displayName(member.user) }),
        el("td", { data: { field: "email" }, className: "email", text: member.user.email }),
        el("td", { data: { field: "role" }, text: roleName(member.role) }),
        el("td", { data: { field: "added" }, text: formatDateTime(member.added_at) }),
        this.manager ? el("td", {}, remove) : null,
      );
    });
    replaceChildren(
      this.list,
      dataTable(
        "data members-table",
        [t("name"), t("email"), t("role"), t("added"), this.manager && t("actions")],
        el("tbody", {}, ...rows),
      ),
    );
  }

  private say(text: string, kind: "info" | "error" = "info"): void {
    this.notice.textContent = text;
    this.notice.className = kind === "error" ? "notice error members-notice" : "notice members-notice";
    this.notice.setAttribute("role", kind === "error" ? "alert" : "status");
  }
}
