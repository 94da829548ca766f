// The Training tab's launch form (managers and above): a completed dataset version, a recipe, a base model
// of a kind the recipe trains, the recipe's typed parameters (from the API schema: defaults filled in,
// ranges on the inputs; training_params.ts) and the GPUs. Beside it, the live estimate
// (`POST /api/training-jobs/estimate`, the same body as a launch; training_estimate.ts), asked again a
// moment after each change, only the latest answer drawn.
// Launching posts the body to `POST /api/training-jobs/`; a refusal shows the server's sentence beside
// the field it names ("dataset", "base_model", "params.learning_rate", "resources.gpus", …).

import { api, ApiError } from "../api";
import { el, replaceChildren } from "../dom";
import { catalogue } from "../locale";
import type { ProjectDetail } from "../types";
import type { DatasetVersion } from "./dataset_types";
import { estimateView } from "./training_estimate";
import { formatCount } from "./training_format";
import { fieldId, paramControl, type FieldKit, type ParamControl } from "./training_params";
import { loadLaunchSchema, type LaunchSchema, type RecipeSpec } from "./training_schema";
import { RECIPE_NEEDS, isRecord, resultsOf, type BaseModel, type Page, type TrainingJob } from "./training_types";
import { kindName, recipeDescription, recipeTitle } from "./training_words";

const t = catalogue(
  {
    heading: "Launch a training run",
    hint: "The run trains on the version's train split, checks on its validation split and is evaluated on its test split. It runs on a GPU worker in the background.",
    loading: "Reading the recipes, dataset versions and base models…",
    loadFailed: "The form could not be loaded: {reason}",
    dataset: "Dataset version",
    noVersions: "This project has no completed dataset version yet. Build one in the Datasets tab first.",
    toDatasets: "Go to the Datasets tab",
    lacksFormat: "{name} (#{id}): no {format} file",
    recipe: "Recipe",
    baseModel: "Base model",
    fromScratch: "None: the model is trained from scratch",
    noBaseModel: "No registered base model of this kind ({kinds}). An admin registers one under Base models.",
    modelOption: "{name} · {type} · {parameters} parameters",
    params: "Parameters",
    moreParams: "More parameters",
    resources: "Resources",
    gpus: "GPUs",
    gpusHint: "Several GPUs start the run with torchrun, one process per GPU.",
    gpuType: "GPU type",
    strategy: "Several GPUs",
    strategyHint: "FSDP splits the weights, gradients and optimizer states over the GPUs, for a model too large for one; it needs 2 GPUs or more.",
    strategy_ddp: "A whole model on each GPU (DDP)",
    strategy_fsdp: "Sharded over the GPUs (FSDP)",
    name: "Name (optional)",
    launch: "Launch",
    launching: "Launching…",
    fixErrors: "Not launched: fix the field marked below.",
    refused: "Not launched: {reason}",
    estimate: "Estimate",
    estimateHint: "What this run will cost, from the dataset's counts and the model's size.",
    estimating: "Estimating…",
    estimateFailed: "No estimate: {reason}",
  },
  {
    heading: "学習を開始",
    hint: "学習はバージョンの学習用分割で行い、検証用分割で確認し、テスト用分割で評価します。GPU ワーカーがバックグラウンドで実行します。",
    loading: "レシピ、データセットのバージョン、ベースモデルを読み込んでいます…",
    loadFailed: "フォームを読み込めませんでした: {reason}",
    dataset: "データセットのバージョン",
    noVersions: "このプロジェクトには完了したデータセットのバージョンがまだありません。先に「データセット」タブで作成してください。",
    toDatasets: "「データセット」タブへ",
    lacksFormat: "{name}（#{id}）: {format} ファイルがありません",
    recipe: "レシピ",
    baseModel: "ベースモデル",
    fromScratch: "なし: モデルをゼロから学習します",
    noBaseModel: "この種類（{kinds}）のベースモデルが登録されていません。管理者が「ベースモデル」で登録します。",
    modelOption: "{name} · {type} · パラメータ {parameters}",
    params: "パラメータ",
    moreParams: "その他のパラメータ",
    resources: "リソース",
    gpus: "GPU 数",
    gpusHint: "複数の GPU では torchrun で GPU ごとに 1 プロセスを起動します。",
    gpuType: "GPU の種類",
    strategy: "複数 GPU の使い方",
    strategyHint: "FSDP は重み・勾配・オプティマイザーの状態を GPU に分割して持たせます。1 枚に収まらないモデル向けで、GPU が 2 枚以上必要です。",
    strategy_ddp: "GPU ごとにモデル全体（DDP）",
    strategy_fsdp: "GPU に分割（FSDP）",
    name: "名前（任意）",
    launch: "開始",
    launching: "開始しています…",
    fixErrors: "開始されていません。下の印の付いた項目を直してください。",
    refused: "開始されていません: {reason}",
    estimate: "見積もり",
    estimateHint: "データセットの件数とモデルの大きさから見積もった、この学習のコスト。",
    estimating: "見積もっています…",
    estimateFailed: "見積もれません: {reason}",
  },
);

const ESTIMATE_DELAY_MS = 400;
// Shown first; the others wait under "More parameters" (their defaults work).
const MAIN_PARAMS = new Set(["learning_rate", "epochs", "max_steps", "batch_size", "max_length", "packing", "lora", "beta", "mlm_probability", "vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size"]);

export interface LaunchForm {
  element: HTMLElement;
  stop(): void;
}

export function launchForm(project: ProjectDetail, onLaunched: (job: TrainingJob) => void): LaunchForm {
  const body = el("div", { className: "launch-body" }, el("p", { className: "notice", text: t("loading") }));
  const element = el(
    "section",
    { className: "card training-section launch", attrs: { "aria-labelledby": "launch-title" }, data: { state: "loading" } },
    el("h3", { attrs: { id: "launch-title" }, text: t("heading") }),
    el("p", { className: "hint", text: t("hint") }),
    body,
  );
  let stopped = false;
  let stopForm: () => void = () => undefined;
  void (async () => {
    let schema: LaunchSchema;
    let versions: DatasetVersion[];
    let models: BaseModel[];
    try {
      [schema, versions, models] = await Promise.all([
        loadLaunchSchema(),
        api<Page<DatasetVersion> | DatasetVersion[]>("GET", `/api/projects/${project.id}/datasets/`).then(resultsOf),
        api<BaseModel[] | Page<BaseModel>>("GET", "/api/base-models/").then(resultsOf),
      ]);
    } catch (error) {
      if (stopped) return;
      replaceChildren(body, el("p", { className: "notice error", attrs: { role: "alert" }, text: t("loadFailed", { reason: (error as Error).message }) }));
      element.dataset.state = "failed";
      return;
    }
    if (stopped) return;
    const completed = versions.filter((version) => version.status === "completed");
    if (!completed.length) {
      replaceChildren(
        body,
        el("p", { className: "notice", text: t("noVersions") }),
        el("a", { attrs: { href: `/projects/${project.id}/datasets/` }, text: t("toDatasets") }),
      );
      element.dataset.state = "empty";
      return;
    }
    const form = formView(schema, completed, models, onLaunched);
    stopForm = form.stop;
    replaceChildren(body, form.element);
    element.dataset.state = "ready";
  })();
  return {
    element,
    stop: () => {
      stopped = true;
      stopForm();
    },
  };
}

function formatsOf(version: DatasetVersion): Set<string> {
  const formats = new Set((version.files ?? []).map((file) => file.format));
  const asked = isRecord(version.recipe) && Array.isArray(version.recipe.formats) ? version.recipe.formats : [];
  for (const name of asked) if (typeof name === "string") formats.add(name);
  return formats;
}

function formView(schema: LaunchSchema, versions: DatasetVersion[], models: BaseModel[], onLaunched: (job: TrainingJob) => void): LaunchForm {
  let estimateTimer = 0;
  let estimateTicket = 0;
  let stopped = false;
  const errors = new Map<string, HTMLElement>();

  const errorSlot = (name: string): HTMLElement => {
    const slot = el("p", { className: "field-error", attrs: { id: `${fieldId(name)}-error`, "aria-live": "polite" } });
    errors.set(name, slot);
    return slot;
  };
  const field = (name: string, label: string, control: HTMLElement, hint = ""): HTMLElement => {
    control.id ||= fieldId(name);
    const slot = errorSlot(name);
    control.setAttribute("aria-describedby", slot.id);
    return el(
      "div",
      { className: "field", data: { field: name } },
      el("label", { attrs: { for: control.id }, text: label }),
      control,
      hint ? el("p", { className: "hint", text: hint }) : null,
      slot,
    );
  };

  const wanted = Number(new URLSearchParams(location.search).get("dataset")) || null;
  const datasetSelect = el("select", { attrs: { name: "dataset" } });
  const recipeSelect = el(
    "select",
    { attrs: { name: "recipe" } },
    ...schema.recipes.map((recipe) => el("option", { attrs: { value: recipe.name }, text: recipeTitle(recipe.name) })),
  );
  const recipeHint = el("p", { className: "hint recipe-description" });
  const modelSelect = el("select", { attrs: { name: "base_model" } });
  const modelHint = el("p", { className: "hint" });
  const paramsBody = el("div", { className: "params-body" });
  const gpus = el("input", { attrs: { type: "number", name: "resources.gpus", min: String(schema.gpusMinimum), step: "1", inputmode: "numeric" } });
  gpus.value = "1";
  const gpuType = el("select", { attrs: { name: "resources.gpu_type" } }, ...schema.gpuTypes.map((name) => el("option", { attrs: { value: name }, text: name })));
  if (schema.gpuTypeDefault) gpuType.value = schema.gpuTypeDefault;
  const strategyLabel = (name: string): string => (name === "ddp" || name === "fsdp" ? t(`strategy_${name}`) : name);
  const strategy = el("select", { attrs: { name: "resources.strategy" } }, ...schema.strategies.map((name) => el("option", { attrs: { value: name }, text: strategyLabel(name) })));
  const nameInput = el("input", { attrs: { type: "text", name: "name", maxlength: "200", autocomplete: "off" } });
  const status = el("p", { className: "notice", attrs: { role: "status", "aria-live": "polite", id: "training-form-status" } });
  const submit = el("button", { className: "primary", attrs: { type: "submit" }, text: t("launch") });
  const paramsGroupError = errorSlot("params");
  const resourcesError = errorSlot("resources");

  const estimateBody = el("div", { className: "estimate-body" });
  const estimate = el(
    "aside",
    { className: "training-estimate", attrs: { "aria-labelledby": "estimate-title", "aria-live": "polite" }, data: { state: "idle" } },
    el("h4", { attrs: { id: "estimate-title" }, text: t("estimate") }),
    el("p", { className: "hint", text: t("estimateHint") }),
    estimateBody,
  );

  const form = el(
    "form",
    { className: "training-form", attrs: { novalidate: "", "aria-labelledby": "launch-title" } },
    el(
      "div",
      { className: "training-fields" },
      field("dataset", t("dataset"), datasetSelect),
      el("div", { className: "field-row" }, field("recipe", t("recipe"), recipeSelect), field("base_model", t("baseModel"), modelSelect)),
      recipeHint,
      modelHint,
      el("fieldset", { className: "settings-group params", data: { field: "params" } }, el("legend", { text: t("params") }), paramsBody, paramsGroupError),
      el(
        "fieldset",
        { className: "settings-group", data: { field: "resources" } },
        el("legend", { text: t("resources") }),
        el("div", { className: "field-row" }, field("resources.gpus", t("gpus"), gpus, t("gpusHint")), schema.gpuTypes.length ? field("resources.gpu_type", t("gpuType"), gpuType) : null),
        schema.strategies.length ? field("resources.strategy", t("strategy"), strategy, t("strategyHint")) : null,
        resourcesError,
      ),
      field("name", t("name"), nameInput),
      el("div", { className: "actions" }, submit),
      status,
    ),
    estimate,
  );

  // ---- the recipe's parameters ----
  let paramControls: ParamControl[] = [];
  const kit: FieldKit = { field, errorSlot };

  const drawParams = (recipe: RecipeSpec | undefined): void => {
    for (const name of [...errors.keys()]) if (name.startsWith("params.")) errors.delete(name);
    const controls = (recipe?.params ?? []).map((spec) => paramControl(kit, `params.${spec.name}`, spec));
    paramControls = controls;
    const main = controls.filter((control) => MAIN_PARAMS.has(control.spec.name));
    const more = controls.filter((control) => !MAIN_PARAMS.has(control.spec.name));
    replaceChildren(
      paramsBody,
      el("div", { className: "field-row" }, ...main.filter((c) => c.spec.type !== "object").map((control) => control.node)),
      ...main.filter((c) => c.spec.type === "object").map((control) => control.node),
      more.length ? el("details", { className: "more-params" }, el("summary", { text: t("moreParams") }), el("div", { className: "field-row" }, ...more.map((control) => control.node))) : null,
    );
  };

  // ---- dataset versions and base models that fit the recipe ----
  const drawDatasets = (recipe: string): void => {
    const format = RECIPE_NEEDS[recipe]?.dataset_format;
    const keep = datasetSelect.value || (wanted ? String(wanted) : "");
    replaceChildren(
      datasetSelect,
      ...versions.map((version) => {
        const fits = !format || formatsOf(version).has(format);
        const option = el("option", { attrs: { value: String(version.id) }, text: fits ? `${version.name} (#${version.id})` : t("lacksFormat", { name: version.name, id: version.id, format }) });
        option.disabled = !fits;
        return option;
      }),
    );
    const usable = [...datasetSelect.options].filter((option) => !option.disabled);
    datasetSelect.value = usable.some((option) => option.value === keep) ? keep : (usable[0]?.value ?? "");
  };

  const drawModels = (recipe: string): void => {
    const kinds = RECIPE_NEEDS[recipe]?.model_kinds ?? null;
    const keep = modelSelect.value;
    modelHint.textContent = "";
    if (kinds && !kinds.length) {
      replaceChildren(modelSelect, el("option", { attrs: { value: "" }, text: t("fromScratch") }));
      modelSelect.disabled = true;
      return;
    }
    modelSelect.disabled = false;
    const fitting = models.filter((model) => !kinds || kinds.includes(model.kind));
    replaceChildren(
      modelSelect,
      ...fitting.map((model) =>
        el("option", { attrs: { value: String(model.id) }, text: t("modelOption", { name: model.name, type: model.model_type, parameters: formatCount(model.parameters) }) }),
      ),
    );
    if (!fitting.length) modelHint.textContent = t("noBaseModel", { kinds: (kinds ?? []).map(kindName).join(", ") });
    if (fitting.some((model) => String(model.id) === keep)) modelSelect.value = keep;
  };

  const chooseRecipe = (): void => {
    const recipe = schema.recipes.find((candidate) => candidate.name === recipeSelect.value);
    recipeHint.textContent = recipeDescription(recipeSelect.value, recipe?.description);
    drawDatasets(recipeSelect.value);
    drawModels(recipeSelect.value);
    drawParams(recipe);
  };

  // The first recipe that the version asked for in the address (else any completed version) has the
  // files for: a text project's versions fit classification, a chat project's SFT.
  const named = versions.filter((version) => version.id === wanted);
  const candidates = named.length ? named : versions;
  const fitsSome = (recipe: RecipeSpec): boolean => candidates.some((version) => formatsOf(version).has(RECIPE_NEEDS[recipe.name]?.dataset_format ?? ""));
  recipeSelect.value = (schema.recipes.find(fitsSome) ?? schema.recipes[0])?.name ?? "";
  chooseRecipe();

  /** The launch body (CONTRACT-12): dataset, recipe, base_model, params, resources, name. */
  const launchBody = (): Record<string, unknown> => {
    const params: Record<string, unknown> = {};
    for (const control of paramControls) {
      const value = control.read();
      if (value !== undefined) params[control.spec.name] = value;
    }
    const gpuCount = Number(gpus.value);
    const body: Record<string, unknown> = {
      dataset: datasetSelect.value ? Number(datasetSelect.value) : null,
      recipe: recipeSelect.value,
      base_model: modelSelect.value ? Number(modelSelect.value) : null,
      params,
      resources: {
        gpus: gpus.value.trim() && Number.isFinite(gpuCount) ? gpuCount : gpus.value,
        ...(schema.gpuTypes.length ? { gpu_type: gpuType.value } : {}),
        ...(schema.strategies.length ? { strategy: strategy.value } : {}),
      },
    };
    if (nameInput.value.trim()) body.name = nameInput.value.trim();
    return body;
  };

  const clearErrors = (): void => {
    for (const slot of errors.values()) slot.textContent = "";
    for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
  };

  /** The slot for the field the server named ("params.lora.r", "resources.gpus"), or its nearest group's. */
  const slotFor = (name: string | null): HTMLElement | null => {
    if (!name) return null;
    const parts = name.replace(/\[\d+\]/g, "").split(".");
    for (let length = parts.length; length > 0; length--) {
      const slot = errors.get(parts.slice(0, length).join("."));
      if (slot) return slot;
    }
    return null;
  };

  const showRefusal = (error: unknown): HTMLElement | null => {
    const field = error instanceof ApiError ? error.field : null;
    const slot = slotFor(field);
    if (slot) {
      slot.textContent = (error as Error).message;
      const holder = slot.closest<HTMLElement>("[data-field]");
      holder?.querySelector("input, select, textarea")?.setAttribute("aria-invalid", "true");
      // A refused parameter under "More parameters" is shown, not left folded away.
      const more = slot.closest("details");
      if (more) (more as HTMLDetailsElement).open = true;
    }
    return slot;
  };

  // ---- the estimate ----
  const runEstimate = async (): Promise<void> => {
    const ticket = ++estimateTicket;
    estimate.dataset.state = "loading";
    estimateBody.setAttribute("aria-busy", "true");
    if (!estimateBody.firstChild) replaceChildren(estimateBody, el("p", { className: "notice", text: t("estimating") }));
    let answer: Record<string, unknown>;
    try {
      answer = await api<Record<string, unknown>>("POST", "/api/training-jobs/estimate", launchBody());
    } catch (error) {
      // A slower answer to an older form never overwrites a newer one.
      if (stopped || ticket !== estimateTicket) return;
      clearErrors();
      showRefusal(error);
      replaceChildren(estimateBody, el("p", { className: "notice error", text: t("estimateFailed", { reason: (error as Error).message }) }));
      estimate.dataset.state = "failed";
      estimateBody.removeAttribute("aria-busy");
      return;
    }
    if (stopped || ticket !== estimateTicket) return;
    clearErrors();
    // The checks the estimate shares with a launch pass now: an earlier "Not launched" line is stale.
    if (form.dataset.state === "refused") {
      status.textContent = "";
      delete form.dataset.state;
    }
    replaceChildren(estimateBody, estimateView(answer));
    estimate.dataset.state = "ready";
    estimateBody.removeAttribute("aria-busy");
  };

  const scheduleEstimate = (): void => {
    window.clearTimeout(estimateTimer);
    estimateTimer = window.setTimeout(() => void runEstimate(), ESTIMATE_DELAY_MS);
  };
  recipeSelect.addEventListener("change", chooseRecipe);
  form.addEventListener("input", (event) => {
    // The name changes nothing an estimate counts or checks.
    if (event.target !== nameInput) scheduleEstimate();
  });
  form.addEventListener("change", (event) => {
    const target = event.target as HTMLInputElement;
    if (target.type === "checkbox" || target.tagName === "SELECT") scheduleEstimate();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    clearErrors();
    submit.disabled = true;
    status.textContent = t("launching");
    delete form.dataset.state;
    try {
      const job = await api<TrainingJob>("POST", "/api/training-jobs/", launchBody());
      status.textContent = "";
      form.dataset.state = "launched";
      onLaunched(job);
    } catch (error) {
      const slot = showRefusal(error);
      status.textContent = slot ? t("fixErrors") : t("refused", { reason: (error as Error).message });
      form.dataset.state = "refused";
    } finally {
      submit.disabled = false;
    }
  });

  void runEstimate();
  return {
    element: form,
    stop: () => {
      stopped = true;
      window.clearTimeout(estimateTimer);
    },
  };
}

