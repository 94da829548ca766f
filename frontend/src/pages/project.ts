// A project's pages: its title and the tabs (Label, Data, Review, Dashboard, Models, Import, Settings, Members, Export, Datasets, Training), each tab a
// module of its own loaded on demand. A tab is shown when its module exists and the caller's role
// reaches it; the server (frontend/views.py PROJECT_TABS) refuses the same URLs to lower roles.

import { api, ApiError } from "../api";
import { el, replaceChildren } from "../dom";
import { catalogue } from "../locale";
import type { PageContext } from "../router";
import { roleAtLeast, type ProjectDetail, type Role } from "../types";

export interface ProjectContext extends PageContext {
  project: ProjectDetail;
  /** Read the project again (after a tab changed it) and redraw the header. */
  refreshProject(): Promise<ProjectDetail>;
}

export type TabPage = (ctx: ProjectContext) => Promise<void | (() => void)>;

/** A tab's module: its page, and optionally a prefetch of its data, started while the project is read. */
export interface TabModule {
  default: TabPage;
  prefetch?: (projectId: number) => void;
}

type TabKey = "label" | "data" | "review" | "dashboard" | "models" | "import" | "settings" | "members" | "export" | "datasets" | "training";

interface Tab {
  key: TabKey;
  minimum: Role;
  /** The tab's module; the labeling page (no module) is a page of its own. */
  load?: () => Promise<TabModule>;
}

// One line a tab.
const TABS: Tab[] = [
  { key: "label", minimum: "annotator" },
  { key: "data", minimum: "reviewer", load: () => import("./data_table") },
  { key: "review", minimum: "reviewer", load: () => import("./review") },
  { key: "dashboard", minimum: "reviewer", load: () => import("./dashboard") },
  { key: "models", minimum: "manager", load: () => import("./models") },
  { key: "import", minimum: "manager", load: () => import("./project_import") },
  { key: "settings", minimum: "manager", load: () => import("./project_settings") },
  { key: "members", minimum: "reviewer", load: () => import("./project_members") },
  { key: "export", minimum: "reviewer", load: () => import("./project_export") },
  // Reviewers see versions and download them; building and deleting are a manager's (the page hides them).
  { key: "datasets", minimum: "reviewer", load: () => import("./datasets") },
  // Reviewers follow runs and read the registry; launching, cancelling and promoting are a manager's.
  { key: "training", minimum: "reviewer", load: () => import("./training") },
];

const t = catalogue(
  {
    label: "Label",
    data: "Data",
    review: "Review",
    dashboard: "Dashboard",
    models: "Models",
    import: "Import",
    settings: "Settings",
    members: "Members",
    export: "Export",
    datasets: "Datasets",
    training: "Training",
    tabs: "Project pages",
    allProjects: "All projects",
    unknownTab: "This project has no such page.",
    loadFailed: "The project could not be loaded: {reason}",
    notFound: "Project not found. It may have been deleted, or it belongs to another organization.",
  },
  {
    label: "ラベル付け",
    data: "データ",
    review: "レビュー",
    dashboard: "ダッシュボード",
    models: "モデル",
    import: "インポート",
    settings: "設定",
    members: "メンバー",
    export: "エクスポート",
    datasets: "データセット",
    training: "学習",
    tabs: "プロジェクトのページ",
    allProjects: "すべてのプロジェクト",
    unknownTab: "このプロジェクトにそのページはありません。",
    loadFailed: "プロジェクトを読み込めませんでした: {reason}",
    notFound: "プロジェクトが見つかりません。削除されたか、別の組織のプロジェクトです。",
  },
);

export default async function projectPage(ctx: PageContext): Promise<void | (() => void)> {
  const id = Number(ctx.params.project);
  const tab = TABS.find((candidate) => candidate.key === ctx.params.tab && candidate.load);
  const allowed = Boolean(tab?.load) && roleAtLeast(ctx.settings.role, tab!.minimum);
  // The tab's module loads (and may start reading its data) while the project is read, not after:
  // one round trip less before it draws.
  const module = allowed ? tab!.load!() : null;
  module?.then((loaded) => loaded.prefetch?.(id)).catch(() => undefined); // a failed load is reported where it is awaited
  let project: ProjectDetail;
  try {
    project = await api<ProjectDetail>("GET", `/api/projects/${id}/`);
  } catch (error) {
    const text = error instanceof ApiError && error.status === 404 ? t("notFound") : t("loadFailed", { reason: (error as Error).message });
    replaceChildren(ctx.root, el("p", { className: "notice error", attrs: { role: "alert" }, text }));
    return;
  }
  const header = el("div", { className: "project-head" });
  const body = el("section", { className: "tab-body", attrs: { "aria-live": "polite" } });
  replaceChildren(ctx.root, header, body);
  const drawHeader = (current: ProjectDetail): void => {
    document.title = `${current.title} · Tessera`;
    replaceChildren(
      header,
      el("a", { className: "crumb", attrs: { href: "/projects/" }, text: t("allProjects") }),
      el("h1", { text: current.title }),
      tabBar(current.id, ctx.params.tab, ctx.settings.role),
    );
  };
  drawHeader(project);
  if (!module) {
    replaceChildren(body, el("p", { className: "notice error", text: t("unknownTab") }));
    return;
  }
  const page = (await module).default;
  return page({
    ...ctx,
    root: body,
    project,
    refreshProject: async () => {
      project = await api<ProjectDetail>("GET", `/api/projects/${id}/`);
      drawHeader(project);
      return project;
    },
  });
}

function tabBar(projectId: number, current: string, role: Role | null): HTMLElement {
  const links = TABS.filter((tab) => (tab.load || tab.key === "label") && roleAtLeast(role, tab.minimum)).map((tab) => {
    const link = el("a", { className: "tab", attrs: { href: `/projects/${projectId}/${tab.key}/` }, text: t(tab.key) });
    if (tab.key === current) link.setAttribute("aria-current", "page");
    return link;
  });
  return el("nav", { className: "tabs", attrs: { "aria-label": t("tabs") } }, ...links);
}
