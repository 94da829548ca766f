// Home: the projects of the active organization with the caller's role, what is left for them and the
// overall progress. Managers also get "New project" and a way into each project's tabs.

import { api } from "../api";
import { el, replaceChildren } from "../dom";
import { catalogue, formatNumber } from "../locale";
import type { PageContext } from "../router";
import { roleAtLeast, type ProjectProgress } from "../types";

const t = catalogue(
  {
    projects: "Projects",
    newProject: "New project",
    none: "No projects in this organization yet.",
    noneManager: "No projects yet. Create the first one.",
    role: "Your role",
    left: "Left for you",
    today: "Done today",
    progress: "Progress",
    start: "Start labeling",
    open: "Open",
    manage: "Manage",
  },
  {
    projects: "プロジェクト",
    newProject: "新規プロジェクト",
    none: "この組織にはまだプロジェクトがありません。",
    noneManager: "まだプロジェクトがありません。最初のプロジェクトを作成しましょう。",
    role: "あなたのロール",
    left: "残りのタスク",
    today: "今日の完了数",
    progress: "進捗",
    start: "ラベル付けを開始",
    open: "開く",
    manage: "管理",
  },
);

export default async function projectsList(ctx: PageContext): Promise<void> {
  const manager = roleAtLeast(ctx.settings.role, "manager");
  const list = el("div", { className: "project-list", attrs: { "aria-live": "polite" } });
  document.title = `${t("projects")} · Tessera`;
  replaceChildren(
    ctx.root,
    el(
      "div",
      { className: "page-head" },
      el("h1", { text: t("projects") }),
      manager ? el("a", { className: "button primary", attrs: { href: "/projects/new/" }, text: t("newProject") }) : null,
    ),
    list,
  );
  let projects: ProjectProgress[];
  try {
    projects = (await api<{ results: ProjectProgress[] }>("GET", "/api/labeling/projects/")).results;
  } catch (error) {
    replaceChildren(list, el("p", { className: "notice error", text: (error as Error).message }));
    return;
  }
  if (!projects.length) {
    replaceChildren(list, el("p", { className: "empty", text: manager ? t("noneManager") : t("none") }));
    return;
  }
  replaceChildren(list, ...projects.map((project) => projectCard(project)));
  list.querySelector<HTMLElement>("a.button.primary, a.button")?.focus();
}

function projectCard(project: ProjectProgress): HTMLElement {
  const percent = project.total_tasks ? Math.round((project.tasks_labeled / project.total_tasks) * 100) : 0;
  const bar = el("div", { className: "progress-fill" });
  bar.style.width = `${percent}%`;
  const canSeeData = roleAtLeast(project.role, "reviewer");
  return el(
    "article",
    { className: "project-card", data: { project: project.id } },
    el("h2", {}, canSeeData ? el("a", { attrs: { href: `/projects/${project.id}/data/` }, text: project.title }) : project.title),
    project.description ? el("p", { className: "description", text: project.description }) : null,
    el(
      "dl",
      {},
      el("dt", { text: t("role") }),
      el("dd", { data: { field: "role" }, text: project.role }),
      el("dt", { text: t("left") }),
      el("dd", { data: { field: "left" }, text: formatNumber(project.tasks_left_for_me) }),
      el("dt", { text: t("today") }),
      el("dd", { data: { field: "today" }, text: formatNumber(project.done_today) }),
      el("dt", { text: t("progress") }),
      el("dd", {
        data: { field: "progress" },
        text: `${formatNumber(project.tasks_labeled)} / ${formatNumber(project.total_tasks)} (${percent}%)`,
      }),
    ),
    el("div", { className: "progress", attrs: { role: "progressbar", "aria-valuenow": String(percent), "aria-valuemin": "0", "aria-valuemax": "100" } }, bar),
    el(
      "div",
      { className: "actions" },
      el("a", {
        className: project.tasks_left_for_me ? "button primary" : "button",
        attrs: { href: `/projects/${project.id}/label/` },
        text: project.tasks_left_for_me ? t("start") : t("open"),
      }),
      canSeeData ? el("a", { className: "button", attrs: { href: `/projects/${project.id}/data/` }, text: t("manage") }) : null,
    ),
  );
}
