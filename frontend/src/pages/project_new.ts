// The New project wizard (/projects/new/, managers): 1 title and description, 2 a template from the
// gallery (or the config of another project), 3 the labels in a form or the XML with a live preview
// and the server's check, then the project is created, 4 import tasks, 5 invite members.
//
// The step is in the URL (?step=labels), so the back button moves between steps; what was entered
// is kept in this module and in sessionStorage, so going back and forth, or reloading, loses nothing.

import "./project_new.css";
import { api, ApiError } from "../api";
import { el, replaceChildren } from "../dom";
import { catalogue, language } from "../locale";
import type { PageContext } from "../router";
import gallery from "../templates/gallery.json";
import type { ProjectDetail } from "../types";
import { ImportStep } from "./wizard_import";
import { ConfigEditor } from "./wizard_labels";

export interface Template {
  id: string;
  title: { en: string; ja: string };
  description: { en: string; ja: string };
  config: string;
  sample: Record<string, unknown>;
}

const TEMPLATES: Template[] = gallery.templates;
const STEPS = ["details", "template", "labels", "import", "members"] as const;
type Step = (typeof STEPS)[number];
const STORAGE_KEY = "tessera:new-project";

interface WizardState {
  title: string;
  description: string;
  /** A gallery template's id, or "project:<id>" for a config copied from another project. */
  source: string | null;
  xml: string;
  sample: Record<string, unknown>;
  project: ProjectDetail | null;
}

const t = catalogue(
  {
    page: "New project",
    steps: "Steps",
    details: "Title",
    template: "Template",
    labels: "Labels",
    import: "Import",
    members: "Members",
    stepOf: "Step {n} of {total}",
    title: "Title",
    titleHint: "Annotators see it on their project list.",
    titleRequired: "Give the project a title.",
    description: "Description",
    descriptionHint: "Optional: what the project is for.",
    back: "Back",
    next: "Next",
    gallery: "Choose a template",
    galleryHint: "Every task type the labeling page supports. You can change the labels and the XML in the next step.",
    chosen: "Chosen",
    choose: "Choose a template first.",
    copyHeading: "Or duplicate the config of another project",
    copyLabel: "Project",
    copyNone: "No other project in this organization yet.",
    copyPick: "Choose a project",
    copyUse: "Use its config",
    copyFailed: "That project's config could not be read: {reason}",
    copied: "The config of “{title}” is copied.",
    copySource: "Config of “{title}”",
    create: "Create project",
    creating: "Creating…",
    createFailed: "The project could not be created: {reason}",
    createFailedField: "The project could not be created ({field}): {reason}",
    configError: "The label config has a problem: fix it beside the marked line, then create the project.",
    created: "Project “{title}” is created.",
    createdLocked: "The project is created; change its labels in the project's settings.",
    toImport: "Go to Import",
    another: "Start another project",
    membersHeading: "Invite members",
    membersIntro: "Add people to your organization, then choose who may label or review this project.",
    orgMembers: "Organization members and invitations",
    projectMembers: "Who works on this project",
    skip: "Skip for now",
    finish: "Done: open the project",
    allProjects: "All projects",
    nextMembers: "Next: members",
    projectLoadFailed: "The project could not be loaded: {reason}",
  },
  {
    page: "新規プロジェクト",
    steps: "手順",
    details: "タイトル",
    template: "テンプレート",
    labels: "ラベル",
    import: "インポート",
    members: "メンバー",
    stepOf: "手順 {n} / {total}",
    title: "タイトル",
    titleHint: "アノテーターのプロジェクト一覧に表示されます。",
    titleRequired: "プロジェクトのタイトルを入力してください。",
    description: "説明",
    descriptionHint: "任意: プロジェクトの目的など。",
    back: "戻る",
    next: "次へ",
    gallery: "テンプレートを選ぶ",
    galleryHint: "ラベル付けページが扱えるすべての種類のタスクです。ラベルと XML は次の手順で変更できます。",
    chosen: "選択中",
    choose: "先にテンプレートを選んでください。",
    copyHeading: "または、他のプロジェクトの設定を複製",
    copyLabel: "プロジェクト",
    copyNone: "この組織には他のプロジェクトがまだありません。",
    copyPick: "プロジェクトを選択",
    copyUse: "この設定を使う",
    copyFailed: "そのプロジェクトの設定を読み込めませんでした: {reason}",
    copied: "「{title}」の設定を複製しました。",
    copySource: "「{title}」の設定",
    create: "プロジェクトを作成",
    creating: "作成しています…",
    createFailed: "プロジェクトを作成できませんでした: {reason}",
    createFailedField: "プロジェクトを作成できませんでした（{field}）: {reason}",
    configError: "ラベル設定に問題があります。印の付いた行の横の説明に従って修正してから作成してください。",
    created: "プロジェクト「{title}」を作成しました。",
    createdLocked: "プロジェクトは作成済みです。ラベルはプロジェクトの設定で変更してください。",
    toImport: "インポートへ",
    another: "別のプロジェクトを作成",
    membersHeading: "メンバーを招待",
    membersIntro: "組織にメンバーを追加し、このプロジェクトでラベル付けやレビューを行う人を選びます。",
    orgMembers: "組織のメンバーと招待",
    projectMembers: "このプロジェクトの担当者",
    skip: "今はスキップ",
    finish: "完了: プロジェクトを開く",
    allProjects: "すべてのプロジェクト",
    nextMembers: "次へ: メンバー",
    projectLoadFailed: "プロジェクトを読み込めませんでした: {reason}",
  },
);

function emptyState(): WizardState {
  return { title: "", description: "", source: null, xml: "", sample: {}, project: null };
}

let state: WizardState = restore();

function restore(): WizardState {
  try {
    const saved = sessionStorage.getItem(STORAGE_KEY);
    if (saved) return { ...emptyState(), ...(JSON.parse(saved) as Partial<WizardState>) };
  } catch {
    // Storage refused or a value from an older version: start afresh.
  }
  return emptyState();
}

function save(): void {
  try {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(state));
  } catch {
    // Private mode or full storage: the wizard still works, it just does not survive a reload.
  }
}

function templateTitle(template: Template): string {
  return template.title[language()];
}

function stepUrl(step: Step): string {
  const project = state.project && (step === "import" || step === "members") ? `&project=${state.project.id}` : "";
  return `/projects/new/?step=${step}${project}`;
}

export default async function newProject(ctx: PageContext): Promise<void | (() => void)> {
  const query = new URLSearchParams(location.search);
  const asked = query.get("step");
  // Coming in afresh (from "New project") after finishing one: start a new one.
  if (!asked && state.project) {
    state = emptyState();
    save();
  }
  let step: Step = STEPS.includes(asked as Step) ? (asked as Step) : "details";
  const projectParam = Number(query.get("project"));
  if ((step === "import" || step === "members") && !state.project && projectParam) {
    try {
      state.project = await api<ProjectDetail>("GET", `/api/projects/${projectParam}/`);
      save();
    } catch (error) {
      replaceChildren(ctx.root, el("p", { className: "notice error", attrs: { role: "alert" }, text: t("projectLoadFailed", { reason: (error as Error).message }) }));
      return;
    }
  }
  // A step whose earlier steps are missing goes back to the first one that is.
  const needed: Step = !state.title.trim() ? "details" : !state.xml ? "template" : !state.project ? "labels" : "members";
  if (STEPS.indexOf(step) > STEPS.indexOf(needed)) {
    step = needed;
    history.replaceState(null, "", stepUrl(step));
  }
  document.title = `${t("page")} · Tessera`;
  const body = el("div", { className: "wizard-body" });
  replaceChildren(
    ctx.root,
    el("div", { className: "page-head" }, el("h1", { text: t("page") })),
    stepBar(step),
    body,
  );
  const go = (next: Step) => ctx.navigate(stepUrl(next));
  let leave: (() => void) | undefined;
  if (state.project && STEPS.indexOf(step) < STEPS.indexOf("import")) renderCreated(body, go);
  else if (step === "details") renderDetails(body, go);
  else if (step === "template") renderTemplate(body, go);
  else if (step === "labels") leave = renderLabels(body, go, ctx);
  else if (step === "import") leave = renderImport(body, go, ctx);
  else renderMembers(body);
  // Focus where the step starts: the title field, else the step's heading (read out on arrival).
  (body.querySelector<HTMLElement>("#project-title") ?? body.querySelector<HTMLElement>("h2"))?.focus({ preventScroll: true });
  return leave;
}

function stepBar(current: Step): HTMLElement {
  const reachable = (step: Step) => (state.project ? step === "import" || step === "members" : STEPS.indexOf(step) <= STEPS.indexOf("labels"));
  return el(
    "nav",
    { className: "wizard-steps", attrs: { "aria-label": t("steps") } },
    el(
      "ol",
      {},
      ...STEPS.map((step, index) => {
        const label = [el("span", { className: "step-number", text: String(index + 1) }), el("span", { text: t(step) })];
        const inner =
          step === current
            ? el("span", { attrs: { "aria-current": "step" } }, ...label)
            : reachable(step)
              ? el("a", { attrs: { href: stepUrl(step) } }, ...label)
              : el("span", { className: "unreachable" }, ...label);
        return el("li", { data: { step } }, inner);
      }),
    ),
  );
}

function heading(text: string, step: Step): HTMLElement {
  return el(
    "div",
    { className: "step-head" },
    el("p", { className: "hint", text: t("stepOf", { n: STEPS.indexOf(step) + 1, total: STEPS.length }) }),
    el("h2", { attrs: { tabindex: "-1" }, text }),
  );
}

function navigation(...children: (HTMLElement | null)[]): HTMLElement {
  return el("div", { className: "actions wizard-nav" }, ...children);
}

// ---- 1: title and description -------------------------------------------------------------------

function renderDetails(body: HTMLElement, go: (step: Step) => void): void {
  const title = el("input", { attrs: { id: "project-title", type: "text", maxlength: "255", required: "", "aria-describedby": "title-hint title-error", value: state.title } });
  const description = el("textarea", { attrs: { id: "project-description", rows: "3", "aria-describedby": "description-hint" } });
  description.value = state.description;
  const error = el("p", { className: "field-error", attrs: { id: "title-error", "aria-live": "polite" } });
  title.addEventListener("input", () => {
    state.title = title.value;
    save();
    if (title.value.trim()) {
      error.textContent = "";
      title.removeAttribute("aria-invalid");
    }
  });
  description.addEventListener("input", () => {
    state.description = description.value;
    save();
  });
  const next = () => {
    if (!title.value.trim()) {
      error.textContent = t("titleRequired");
      title.setAttribute("aria-invalid", "true");
      title.focus();
      return;
    }
    go("template");
  };
  const form = el(
    "form",
    { className: "card details-form", attrs: { novalidate: "" }, on: { submit: (event) => { event.preventDefault(); next(); } } },
    heading(t("details"), "details"),
    el("div", { className: "field" }, el("label", { attrs: { for: "project-title" }, text: t("title") }), title, el("p", { className: "hint", attrs: { id: "title-hint" }, text: t("titleHint") }), error),
    el("div", { className: "field" }, el("label", { attrs: { for: "project-description" }, text: t("description") }), description, el("p", { className: "hint", attrs: { id: "description-hint" }, text: t("descriptionHint") })),
    navigation(el("button", { className: "primary", attrs: { type: "submit" }, data: { action: "next" }, text: t("next") })),
  );
  replaceChildren(body, form);
}

// ---- 2: the template gallery --------------------------------------------------------------------

function renderTemplate(body: HTMLElement, go: (step: Step) => void): void {
  const error = el("p", { className: "field-error", attrs: { "aria-live": "polite" } });
  const cards = TEMPLATES.map((template) => {
    const card = el(
      "button",
      {
        className: "template-card",
        attrs: { type: "button", "aria-pressed": String(state.source === template.id) },
        data: { template: template.id },
        on: {
          click: () => {
            if (state.source !== template.id) {
              state.source = template.id;
              state.xml = template.config;
              state.sample = template.sample;
              save();
            }
            for (const other of grid.querySelectorAll("[aria-pressed]")) other.setAttribute("aria-pressed", String(other === card));
            error.textContent = "";
          },
        },
      },
      el("span", { className: "template-title", text: templateTitle(template) }),
      el("span", { className: "template-description", text: template.description[language()] }),
      el("span", { className: "template-chosen", text: t("chosen") }),
    );
    return card;
  });
  const grid = el("div", { className: "template-grid" }, ...cards);
  const copy = el("div", { className: "copy-config" });
  replaceChildren(
    body,
    el(
      "section",
      { className: "card" },
      heading(t("gallery"), "template"),
      el("p", { className: "hint", text: t("galleryHint") }),
      grid,
      copy,
      error,
      navigation(
        el("a", { className: "button", attrs: { href: stepUrl("details") }, text: t("back") }),
        el("button", {
          className: "primary",
          attrs: { type: "button" },
          data: { action: "next" },
          text: t("next"),
          on: {
            click: () => {
              if (!state.xml) {
                error.textContent = t("choose");
                return;
              }
              go("labels");
            },
          },
        }),
      ),
    ),
  );
  void renderCopy(copy, grid);
}

/** Managers may start from the config of a project they already have (and its first task as sample). */
async function renderCopy(holder: HTMLElement, grid: HTMLElement): Promise<void> {
  let projects: ProjectDetail[];
  try {
    projects = (await api<{ results: ProjectDetail[] }>("GET", "/api/projects/?page_size=100")).results;
  } catch {
    return; // the gallery is enough; the option just does not appear
  }
  const select = el("select", { attrs: { id: "copy-project" } }, el("option", { attrs: { value: "" }, text: t("copyPick") }), ...projects.map((project) => el("option", { attrs: { value: String(project.id) }, text: project.title })));
  const message = el("p", { className: "hint", attrs: { "aria-live": "polite" } });
  const use = async () => {
    const project = projects.find((candidate) => String(candidate.id) === select.value);
    if (!project) return;
    try {
      const page = await api<{ tasks: { data: Record<string, unknown> }[] }>("GET", `/api/tasks/?project=${project.id}&page_size=1`);
      state.source = `project:${project.id}`;
      state.xml = project.label_config;
      state.sample = page.tasks[0]?.data ?? {};
      save();
      for (const card of grid.querySelectorAll("[aria-pressed]")) card.setAttribute("aria-pressed", "false");
      message.className = "hint";
      message.textContent = t("copied", { title: project.title });
    } catch (error) {
      message.className = "field-error";
      message.textContent = t("copyFailed", { reason: (error as Error).message });
    }
  };
  replaceChildren(
    holder,
    el("h3", { text: t("copyHeading") }),
    projects.length
      ? el("div", { className: "actions" }, el("label", { attrs: { for: "copy-project" }, text: t("copyLabel") }), select, el("button", { attrs: { type: "button" }, text: t("copyUse"), on: { click: () => void use() } }))
      : el("p", { className: "hint", text: t("copyNone") }),
    message,
  );
}

// ---- 3: labels, XML, preview; create -------------------------------------------------------------

function renderLabels(body: HTMLElement, go: (step: Step) => void, ctx: PageContext): () => void {
  const editor = new ConfigEditor({
    xml: state.xml,
    sample: state.sample,
    imageOrigins: ctx.settings.imageOrigins,
    onChange: (xml) => {
      state.xml = xml;
      save();
    },
  });
  const template = TEMPLATES.find((candidate) => candidate.id === state.source);
  const message = el("p", { className: "create-message", attrs: { "aria-live": "assertive" } });
  const create = el("button", {
    className: "primary",
    attrs: { type: "button" },
    data: { action: "create" },
    text: t("create"),
    on: { click: () => void createProject() },
  });
  const createProject = async () => {
    create.disabled = true;
    message.className = "create-message";
    message.textContent = t("creating");
    try {
      state.project = await api<ProjectDetail>("POST", "/api/projects/", {
        title: state.title.trim(),
        description: state.description,
        label_config: editor.value,
      });
      save();
      go("import");
    } catch (error) {
      create.disabled = false;
      message.className = "create-message field-error";
      if (error instanceof ApiError && error.field === "label_config" && error.status === 400) {
        editor.showServerError(error.code, error.message);
        message.textContent = t("configError");
        editor.focusError();
      } else if (error instanceof ApiError && error.field) {
        message.textContent = t("createFailedField", { field: error.field, reason: error.message });
      } else {
        message.textContent = t("createFailed", { reason: (error as Error).message });
      }
    }
  };
  replaceChildren(
    body,
    heading(template ? `${t("labels")}: ${templateTitle(template)}` : t("labels"), "labels"),
    editor.element,
    el("div", { className: "card create-bar" }, message, navigation(el("a", { className: "button", attrs: { href: stepUrl("template") }, text: t("back") }), create)),
  );
  return () => editor.destroy();
}

function renderCreated(body: HTMLElement, go: (step: Step) => void): void {
  replaceChildren(
    body,
    el(
      "section",
      { className: "card" },
      el("h2", { attrs: { tabindex: "-1" }, text: t("created", { title: state.project?.title ?? "" }) }),
      el("p", { text: t("createdLocked") }),
      navigation(
        el("button", { className: "primary", attrs: { type: "button" }, text: t("toImport"), on: { click: () => go("import") } }),
        el("button", {
          attrs: { type: "button" },
          text: t("another"),
          on: {
            click: () => {
              state = emptyState();
              save();
              go("details");
            },
          },
        }),
      ),
    ),
  );
}

// ---- 4: import -----------------------------------------------------------------------------------

function renderImport(body: HTMLElement, go: (step: Step) => void, ctx: PageContext): () => void {
  const project = state.project!;
  const step = new ImportStep(project, ctx.settings.imageOrigins, state.sample);
  replaceChildren(
    body,
    el("p", { className: "notice ok", text: t("created", { title: project.title }) }),
    heading(t("import"), "import"),
    step.element,
    navigation(
      el("button", { className: "primary", attrs: { type: "button" }, data: { action: "next" }, text: t("nextMembers"), on: { click: () => go("members") } }),
      el("button", { attrs: { type: "button" }, text: t("skip"), on: { click: () => go("members") } }),
    ),
  );
  return () => step.destroy();
}

// ---- 5: members ----------------------------------------------------------------------------------

function renderMembers(body: HTMLElement): void {
  const project = state.project!;
  replaceChildren(
    body,
    el(
      "section",
      { className: "card" },
      heading(t("membersHeading"), "members"),
      el("p", { text: t("membersIntro") }),
      el(
        "ul",
        { className: "member-links" },
        el("li", {}, el("a", { attrs: { href: "/members/" }, text: t("orgMembers") })),
        el("li", {}, el("a", { attrs: { href: `/projects/${project.id}/members/` }, text: t("projectMembers") })),
      ),
      navigation(
        el("a", { className: "button primary", attrs: { href: `/projects/${project.id}/label/` }, text: t("finish") }),
        el("a", { className: "button", attrs: { href: "/projects/" }, text: t("skip") }),
      ),
    ),
  );
}
