// The model registry of a project: its model versions (`GET /api/models/?project=`) and one version's page
// (`GET /api/models/{id}/`): the evaluation, the lineage back to its dataset version and run, its files,
// the evaluation project where reviewers rate its answers, and, for managers, Promote
// (`POST /api/models/{id}/promote`), which makes it a project's pre-labeler. Generative models cannot
// pre-label: the page says so instead of offering Promote.

import { api, ApiError } from "../api";
import { el, replaceChildren } from "../dom";
import { catalogue, formatBytes, formatDateTime, formatNumber } from "../locale";
import type { ProjectDetail } from "../types";
import type { ProjectContext } from "./project";
import { dataTable } from "./tables";
import { evaluationView, metricValue, scalarMetrics } from "./training_metrics";
import { asNumber, isRecord, nextPath, personName, type ModelVersion, type Page } from "./training_types";
import { kindName, metricName, recipeTitle } from "./training_words";

const t = catalogue(
  {
    heading: "Model registry",
    hint: "Every completed run registers a model version: its weights, metrics and where it came from.",
    none: "No model version yet: a run registers one when it completes.",
    loadFailed: "The model versions could not be loaded: {reason}",
    more: "Show more versions",
    model: "Model",
    recipe: "Recipe",
    kind: "Kind",
    baseModel: "Base model",
    dataset: "Dataset version",
    headline: "Headline metric",
    promoted: "Pre-labels",
    promotedHere: "This project",
    created: "Registered",
    back: "Model registry",
    detailFailed: "This model version could not be loaded: {reason}",
    detailHeading: "{name} {version}",
    job: "Run",
    openJob: "Run #{id}",
    createdBy: "Registered by",
    fromScratch: "None (trained from scratch)",
    evaluation: "Evaluation on the test split",
    lineage: "Lineage",
    lineageHint: "What the model was trained on, back to the annotations.",
    manifest: "Manifest SHA-256",
    lineageDataset: "Dataset version",
    lineageTasks: "Tasks",
    lineageSplits: "{total} (train {train}, validation {validation}, test {test})",
    lineageAnnotations: "Annotations",
    lineageFormats: "Formats",
    allLineage: "Every lineage field",
    files: "Files",
    noFiles: "No file is listed.",
    path: "Path",
    size: "Size",
    sha256: "SHA-256",
    evaluationProject: "Evaluation project",
    evaluationProjectHint: "Reviewers rate this model's answers to the test prompts there, with the usual review tools.",
    openEvaluation: "Open the evaluation project (#{id})",
    noEvaluationProject: "No evaluation project: one is made for chat and preference models.",
    promote: "Promote",
    promoteHint: "Make this model the pre-labeler of a project: its suggestions then appear on the labeling page.",
    project: "Project",
    promoteButton: "Make it the project's pre-labeler",
    promoting: "Promoting…",
    promotedTo: "It now pre-labels “{title}” (pre-labeler #{prelabeler}).",
    toModels: "Open that project's Models tab",
    cannotPromote: "Only classification and NER models pre-label; this {kind} model is evaluated by people instead.",
    nowPromoted: "Pre-labels: {titles}",
    refused: "Not promoted: {reason}",
  },
  {
    heading: "モデルレジストリ",
    hint: "完了した学習はそれぞれモデルのバージョンを登録します。重み、指標、その由来が記録されます。",
    none: "モデルのバージョンはまだありません。学習が完了すると登録されます。",
    loadFailed: "モデルのバージョンを読み込めませんでした: {reason}",
    more: "さらに表示",
    model: "モデル",
    recipe: "レシピ",
    kind: "種類",
    baseModel: "ベースモデル",
    dataset: "データセットのバージョン",
    headline: "主な指標",
    promoted: "事前ラベル付け",
    promotedHere: "このプロジェクト",
    created: "登録日時",
    back: "モデルレジストリ",
    detailFailed: "このモデルのバージョンを読み込めませんでした: {reason}",
    detailHeading: "{name} {version}",
    job: "学習",
    openJob: "学習 #{id}",
    createdBy: "登録した人",
    fromScratch: "なし（ゼロから学習）",
    evaluation: "テスト用分割での評価",
    lineage: "来歴",
    lineageHint: "このモデルが何で学習されたか（アノテーションまでさかのぼって）。",
    manifest: "マニフェストの SHA-256",
    lineageDataset: "データセットのバージョン",
    lineageTasks: "タスク数",
    lineageSplits: "{total}（学習 {train}、検証 {validation}、テスト {test}）",
    lineageAnnotations: "アノテーション数",
    lineageFormats: "形式",
    allLineage: "来歴のすべての項目",
    files: "ファイル",
    noFiles: "ファイルはありません。",
    path: "パス",
    size: "サイズ",
    sha256: "SHA-256",
    evaluationProject: "評価プロジェクト",
    evaluationProjectHint: "レビュアーがいつものレビュー機能で、テスト用プロンプトへのこのモデルの回答を評価します。",
    openEvaluation: "評価プロジェクト（#{id}）を開く",
    noEvaluationProject: "評価プロジェクトはありません。チャットと選好のモデルに作られます。",
    promote: "昇格",
    promoteHint: "このモデルをプロジェクトの事前ラベル付けに使います。ラベル付け画面に提案が表示されるようになります。",
    project: "プロジェクト",
    promoteButton: "プロジェクトの事前ラベル付けにする",
    promoting: "昇格しています…",
    promotedTo: "「{title}」の事前ラベル付けに使われるようになりました（事前ラベル付け #{prelabeler}）。",
    toModels: "そのプロジェクトの「モデル」タブを開く",
    cannotPromote: "事前ラベル付けに使えるのは分類と固有表現抽出のモデルだけです。この{kind}のモデルは人が評価します。",
    nowPromoted: "事前ラベル付けに使用中: {titles}",
    refused: "昇格されていません: {reason}",
  },
);

const PROMOTABLE = new Set(["sequence_classification", "token_classification"]);

function headline(model: ModelVersion): string {
  const [first] = scalarMetrics(model.metrics).filter(([, value]) => typeof value === "number");
  return first ? `${metricName(first[0])} ${metricValue(first[0], first[1])}` : "";
}

export async function registryList(ctx: ProjectContext, root: HTMLElement): Promise<() => void> {
  const project = ctx.project;
  let models: ModelVersion[] = [];
  let next: string | null = null;
  const first = `/api/models/?project=${project.id}`;
  const body = el("div", { className: "registry-body" });
  const moreButton = el("button", { attrs: { type: "button" }, text: t("more") });
  const section = el(
    "section",
    { className: "training-section registry", attrs: { "aria-labelledby": "registry-title" }, data: { state: "loading" } },
    el("h3", { attrs: { id: "registry-title" }, text: t("heading") }),
    el("p", { className: "hint", text: t("hint") }),
    body,
    el("div", { className: "actions" }, moreButton),
  );
  replaceChildren(root, section);

  const draw = (): void => {
    moreButton.hidden = !next;
    if (!models.length) {
      replaceChildren(body, el("p", { className: "empty", text: t("none") }));
      return;
    }
    const rows = models.map((model) =>
      el(
        "tr",
        { data: { modelId: model.id } },
        el("th", { attrs: { scope: "row" } }, el("a", { attrs: { href: `/projects/${project.id}/training/?model=${model.id}` }, text: `${model.name} ${model.version}` })),
        el("td", { text: recipeTitle(model.recipe) }),
        el("td", { text: kindName(model.task_kind) }),
        el("td", { className: "wrap", text: model.base_model_name || "—" }),
        el("td", {}, model.dataset ? el("a", { attrs: { href: `/projects/${project.id}/datasets/?version=${model.dataset}` }, text: `#${model.dataset}` }) : "—"),
        el("td", { className: "headline", text: headline(model) }),
        el("td", { className: "promoted" }, (model.promoted_to ?? []).includes(project.id) ? el("span", { className: "status-pill status-completed", text: t("promotedHere") }) : (model.promoted_to ?? []).length ? formatNumber(model.promoted_to.length) : ""),
        el("td", { className: "when", text: formatDateTime(model.created_at) }),
      ),
    );
    replaceChildren(body, dataTable("data model-versions", [t("model"), t("recipe"), t("kind"), t("baseModel"), t("dataset"), t("headline"), t("promoted"), t("created")], el("tbody", {}, ...rows)));
  };

  moreButton.addEventListener("click", async () => {
    if (!next) return;
    moreButton.disabled = true;
    try {
      const answer = await api<Page<ModelVersion>>("GET", next);
      models = [...models, ...(answer.results ?? []).filter((model) => !models.some((item) => item.id === model.id))];
      next = nextPath(answer.next, first);
      draw();
    } finally {
      moreButton.disabled = false;
    }
  });

  try {
    const answer = await api<Page<ModelVersion>>("GET", first);
    models = answer.results ?? [];
    next = nextPath(answer.next, first);
  } catch (error) {
    replaceChildren(body, el("p", { className: "notice error", attrs: { role: "alert" }, text: t("loadFailed", { reason: (error as Error).message }) }));
    section.dataset.state = "failed";
    return () => undefined;
  }
  draw();
  section.dataset.state = "ready";
  return () => undefined;
}

function lineageRows(lineage: Record<string, unknown>): [string, string][] {
  const rows: [string, string][] = [];
  const walk = (value: unknown, prefix: string): void => {
    if (isRecord(value)) {
      for (const [name, inner] of Object.entries(value)) walk(inner, prefix ? `${prefix}.${name}` : name);
    } else if (Array.isArray(value)) {
      rows.push([prefix, value.length > 12 ? `${value.slice(0, 12).map(String).join(", ")} … (${formatNumber(value.length)})` : value.map(String).join(", ")]);
    } else if (value !== null && value !== undefined) {
      rows.push([prefix, String(value)]);
    }
  };
  walk(lineage, "");
  return rows;
}

/** What the model was trained on, in a few lines: the dataset version, its tasks per split, the annotations, the manifest. */
function lineageSummary(model: ModelVersion): HTMLElement {
  const lineage = isRecord(model.lineage) ? model.lineage : {};
  const fact = (key: string, label: string, ...value: (Node | string | null)[]): HTMLElement => el("div", { className: "fact", data: { lineage: key } }, el("dt", { text: label }), el("dd", {}, ...value));
  const datasetId = asNumber(lineage.dataset) ?? model.dataset;
  const datasetName = typeof lineage.dataset_name === "string" ? lineage.dataset_name : "";
  const counts = isRecord(lineage.counts) ? lineage.counts : {};
  const splits = isRecord(counts.splits) ? counts.splits : {};
  const total = asNumber(counts.total);
  const annotations = Array.isArray(lineage.annotation_ids) ? lineage.annotation_ids.length : asNumber(lineage.annotation_ids) ?? asNumber(lineage.annotations);
  const recipe = isRecord(lineage.dataset_recipe) ? lineage.dataset_recipe : {};
  const formats = Array.isArray(recipe.formats) ? recipe.formats.map(String).join(", ") : "";
  const manifest = model.dataset_manifest_sha256 || (typeof lineage.dataset_manifest_sha256 === "string" ? lineage.dataset_manifest_sha256 : "");
  const count = (value: unknown): string => formatNumber(asNumber(value) ?? 0);
  return el(
    "dl",
    { className: "facts lineage-summary" },
    datasetId ? fact("dataset", t("lineageDataset"), el("a", { attrs: { href: `/projects/${model.project}/datasets/?version=${datasetId}` }, text: `${datasetName} (#${datasetId})`.trim() })) : null,
    total !== null ? fact("tasks", t("lineageTasks"), t("lineageSplits", { total: count(total), train: count(splits.train), validation: count(splits.validation), test: count(splits.test) })) : null,
    annotations !== null ? fact("annotations", t("lineageAnnotations"), formatNumber(annotations)) : null,
    formats ? fact("formats", t("lineageFormats"), formats) : null,
    manifest ? fact("manifest", t("manifest"), el("code", { className: "sha", text: manifest })) : null,
  );
}

function promoteForm(ctx: ProjectContext, model: ModelVersion, onPromoted: () => void): HTMLElement {
  const projectSelect = el("select", { attrs: { id: "promote-project", name: "project", "aria-describedby": "promote-project-error" } }, el("option", { attrs: { value: String(ctx.project.id) }, text: ctx.project.title }));
  const error = el("p", { className: "field-error", attrs: { id: "promote-project-error", "aria-live": "polite" } });
  const status = el("p", { className: "notice", attrs: { role: "status", "aria-live": "polite", id: "promote-status" } });
  const submit = el("button", { className: "primary", attrs: { type: "submit" }, text: t("promoteButton") });
  const form = el(
    "form",
    { className: "promote-form", attrs: { novalidate: "" } },
    el("div", { className: "field", data: { field: "project" } }, el("label", { attrs: { for: projectSelect.id }, text: t("project") }), projectSelect, error),
    el("div", { className: "actions" }, submit),
    status,
  );
  // Any project of the organization may take the model; the list fills in while the page is read.
  void api<{ results: ProjectDetail[] }>("GET", "/api/projects/?page_size=100")
    .then((answer) => {
      const others = (answer.results ?? []).filter((project) => project.id !== ctx.project.id);
      projectSelect.append(...others.map((project) => el("option", { attrs: { value: String(project.id) }, text: project.title })));
    })
    .catch(() => undefined);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    error.textContent = "";
    projectSelect.removeAttribute("aria-invalid");
    submit.disabled = true;
    status.textContent = t("promoting");
    delete form.dataset.state;
    try {
      const answer = await api<{ model: number; project: number; prelabeler: number }>("POST", `/api/models/${model.id}/promote`, { project: Number(projectSelect.value) });
      const title = projectSelect.selectedOptions[0]?.textContent ?? `#${answer.project}`;
      replaceChildren(status, t("promotedTo", { title, prelabeler: answer.prelabeler }), " ", el("a", { attrs: { href: `/projects/${answer.project}/models/` }, text: t("toModels") }));
      form.dataset.state = "promoted";
      onPromoted();
    } catch (refusal) {
      const message = (refusal as Error).message;
      if (refusal instanceof ApiError && refusal.field === "project") {
        error.textContent = message;
        projectSelect.setAttribute("aria-invalid", "true");
        status.textContent = "";
      } else {
        status.textContent = t("refused", { reason: message });
      }
      form.dataset.state = "refused";
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export async function modelPage(ctx: ProjectContext, modelId: number, root: HTMLElement): Promise<() => void> {
  const canManage = ctx.settings.role === "owner" || ctx.settings.role === "admin" || ctx.settings.role === "manager";
  const back = el("a", { className: "crumb", attrs: { href: `/projects/${ctx.project.id}/training/?view=registry` }, text: t("back") });
  const page = el("div", { className: "model-page", data: { modelId, state: "loading" } }, back);
  replaceChildren(root, page);
  let model: ModelVersion;
  try {
    model = await api<ModelVersion>("GET", `/api/models/${modelId}/`);
  } catch (error) {
    page.append(el("p", { className: "notice error", attrs: { role: "alert" }, text: t("detailFailed", { reason: (error as Error).message }) }));
    page.dataset.state = "failed";
    return () => undefined;
  }
  const fact = (key: string, label: string, ...value: (Node | string | null)[]): HTMLElement => el("div", { className: "fact", data: { fact: key } }, el("dt", { text: label }), el("dd", {}, ...value));
  const promotedLine = el("p", { className: "hint promoted-line" });
  const drawPromoted = (ids: number[]): void => {
    promotedLine.textContent = ids.length ? t("nowPromoted", { titles: ids.map((id) => (id === ctx.project.id ? ctx.project.title : `#${id}`)).join(", ") }) : "";
  };
  drawPromoted(model.promoted_to ?? []);
  const files = model.files ?? [];
  const lineage = lineageRows(isRecord(model.lineage) ? model.lineage : {});
  page.append(
    el("h3", { text: t("detailHeading", { name: model.name, version: model.version }) }),
    el(
      "dl",
      { className: "facts" },
      fact("recipe", t("recipe"), recipeTitle(model.recipe)),
      fact("kind", t("kind"), kindName(model.task_kind)),
      fact("base_model", t("baseModel"), model.base_model_name || t("fromScratch")),
      fact("dataset", t("dataset"), model.dataset ? el("a", { attrs: { href: `/projects/${model.project}/datasets/?version=${model.dataset}` }, text: `#${model.dataset}` }) : "—"),
      fact("job", t("job"), model.job ? el("a", { attrs: { href: `/projects/${model.project}/training/?job=${model.job}` }, text: t("openJob", { id: model.job }) }) : "—"),
      fact("created", t("created"), formatDateTime(model.created_at)),
      fact("created_by", t("createdBy"), personName(model.created_by)),
    ),
    promotedLine,
    el("section", { className: "training-section", attrs: { "aria-labelledby": "model-eval-title" } }, el("h4", { attrs: { id: "model-eval-title" }, text: t("evaluation") }), evaluationView(model.metrics)),
    el(
      "section",
      { className: "training-section evaluation-project", attrs: { "aria-labelledby": "model-evalproject-title" } },
      el("h4", { attrs: { id: "model-evalproject-title" }, text: t("evaluationProject") }),
      model.evaluation_project
        ? el("p", {}, el("a", { attrs: { href: `/projects/${model.evaluation_project}/` }, data: { evaluationProject: model.evaluation_project }, text: t("openEvaluation", { id: model.evaluation_project }) }), el("br"), el("small", { className: "hint", text: t("evaluationProjectHint") }))
        : el("p", { className: "hint", text: t("noEvaluationProject") }),
    ),
    el(
      "section",
      { className: "training-section lineage", attrs: { "aria-labelledby": "model-lineage-title" } },
      el("h4", { attrs: { id: "model-lineage-title" }, text: t("lineage") }),
      el("p", { className: "hint", text: t("lineageHint") }),
      lineageSummary(model),
      lineage.length ? el("details", { className: "all-lineage" }, el("summary", { text: t("allLineage") }), el("dl", { className: "facts lineage-list" }, ...lineage.map(([name, value]) => fact(name, name, value)))) : null,
    ),
    el(
      "section",
      { className: "training-section", attrs: { "aria-labelledby": "model-files-title" } },
      el("h4", { attrs: { id: "model-files-title" }, text: t("files") }),
      files.length
        ? dataTable(
            "data model-files",
            [t("path"), t("size"), t("sha256")],
            el(
              "tbody",
              {},
              ...files.map((file) => el("tr", { data: { path: file.path } }, el("th", { attrs: { scope: "row" } }, el("code", { text: file.path })), el("td", { className: "num", text: formatBytes(file.bytes) }), el("td", {}, el("code", { className: "sha", title: file.sha256, text: file.sha256.slice(0, 12) })))),
            ),
          )
        : el("p", { className: "hint", text: t("noFiles") }),
    ),
  );
  if (canManage) {
    const promotable = PROMOTABLE.has(model.task_kind);
    page.append(
      el(
        "section",
        { className: "card training-section promote", attrs: { "aria-labelledby": "model-promote-title" } },
        el("h4", { attrs: { id: "model-promote-title" }, text: t("promote") }),
        el("p", { className: "hint", text: promotable ? t("promoteHint") : t("cannotPromote", { kind: kindName(model.task_kind) }) }),
        promotable
          ? promoteForm(ctx, model, async () => {
              try {
                const fresh = await api<ModelVersion>("GET", `/api/models/${model.id}/`);
                drawPromoted(fresh.promoted_to ?? []);
              } catch {
                // The promotion succeeded; the line of projects stays as it was until the page is read again.
              }
            })
          : null,
      ),
    );
  }
  page.dataset.state = "ready";
  return () => undefined;
}
