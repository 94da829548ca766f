// The Datasets tab's build form (managers and above): a recipe as fields (which tasks, which result,
// splits, seed, stratify, group by, dedup, redaction, formats) and a live preview of the counts per
// split and label (`POST /api/projects/{id}/datasets/preview`), asked again a moment after each change
// (only the latest answer is drawn). Building posts the same recipe with its formats; a refusal shows
// the server's sentence beside the field it names.

import { api, ApiError } from "../api";
import { el, replaceChildren } from "../dom";
import { catalogue, formatNumber } from "../locale";
import type { ProjectDetail } from "../types";
import { splitCounts, type DatasetVersion } from "./dataset_types";
import { toFilterJson, readQuery, type FilterJson } from "./task_filters";

const t = catalogue(
  {
    heading: "Build a version",
    hint: "A version is an immutable snapshot of the curated annotations, built in the background. The same recipe on the same data gives the same files.",
    name: "Name",
    tasks: "Tasks",
    allTasks: "All tasks",
    filtered: "Tasks that match the data table's filter",
    review: "Review state",
    reviewAny: "Any",
    reviewAccepted: "Accepted only",
    reviewAcceptedFixed: "Accepted or fixed by a reviewer",
    minAgreement: "Minimum agreement",
    minAgreementHint: "From 0 to 1; empty keeps every task.",
    gold: "Gold tasks",
    goldInclude: "Include",
    goldExclude: "Leave out",
    goldOnly: "Only gold tasks",
    result: "Result per task",
    consensus: "Consensus",
    reviewed: "Reviewed",
    latest: "Latest",
    all: "All annotations",
    splits: "Splits",
    splitsHint: "Ratios that add up to 1.",
    train: "Train",
    validation: "Validation",
    test: "Test",
    seed: "Seed",
    stratify: "Stratify by label",
    groupBy: "Group by",
    groupNone: "No grouping",
    groupHint: "Tasks that share this data field stay in one split.",
    dedup: "Deduplication",
    dedupExact: "Remove exact duplicates (after Unicode normalisation)",
    nearThreshold: "Near-duplicate threshold",
    nearHint: "From 0 to 1 (MinHash similarity); empty turns it off.",
    redact: "Redaction",
    email: "E-mail addresses",
    phone: "Phone numbers",
    card: "Card numbers",
    account: "Account numbers",
    ip: "IP addresses",
    jp_address: "Japanese addresses",
    my_number: "My Number style ids",
    patterns: "Custom patterns",
    patternsHint: "One regular expression a line; matches are replaced.",
    formats: "Formats",
    unfitSummary: "{count} formats do not fit this project's labeling config",
    build: "Build the version",
    building: "Starting…",
    started: "Building “{name}”.",
    fixErrors: "Not built: fix the field marked below.",
    refused: "Not built: {reason}",
    noFormat: "Choose at least one format.",
    preview: "Preview",
    previewHint: "What this recipe selects now, before deduplication removes anything.",
    previewLoading: "Counting…",
    previewFailed: "No preview: {reason}",
    previewEmpty: "This recipe selects no task.",
    label: "Label",
    total: "Total",
  },
  {
    heading: "バージョンを作成",
    hint: "バージョンは、整えたアノテーションの変更できないスナップショットで、バックグラウンドで作成されます。同じデータに同じレシピを使うと、同じファイルができます。",
    name: "名前",
    tasks: "対象タスク",
    allTasks: "すべてのタスク",
    filtered: "データ表のフィルターに一致するタスク",
    review: "レビュー状態",
    reviewAny: "すべて",
    reviewAccepted: "承認済みのみ",
    reviewAcceptedFixed: "承認済み、またはレビュアーが修正したもの",
    minAgreement: "最低一致率",
    minAgreementHint: "0〜1。空欄ならすべてのタスクを含めます。",
    gold: "ゴールドタスク",
    goldInclude: "含める",
    goldExclude: "除外する",
    goldOnly: "ゴールドタスクのみ",
    result: "タスクごとの結果",
    consensus: "合議（コンセンサス）",
    reviewed: "レビュー済み",
    latest: "最新",
    all: "すべてのアノテーション",
    splits: "分割",
    splitsHint: "合計が 1 になる比率。",
    train: "学習",
    validation: "検証",
    test: "テスト",
    seed: "シード",
    stratify: "ラベルで層化する",
    groupBy: "グループ化",
    groupNone: "グループ化しない",
    groupHint: "このデータ項目が同じタスクは同じ分割に入ります。",
    dedup: "重複除去",
    dedupExact: "完全一致の重複を除く（Unicode 正規化の後）",
    nearThreshold: "類似重複のしきい値",
    nearHint: "0〜1（MinHash の類似度）。空欄なら行いません。",
    redact: "マスキング",
    email: "メールアドレス",
    phone: "電話番号",
    card: "カード番号",
    account: "口座番号",
    ip: "IP アドレス",
    jp_address: "日本の住所",
    my_number: "マイナンバー形式の番号",
    patterns: "独自のパターン",
    patternsHint: "1 行に 1 つの正規表現。一致した部分を置き換えます。",
    formats: "形式",
    unfitSummary: "このプロジェクトのラベル設定に合わない形式（{count} 件）",
    build: "バージョンを作成",
    building: "開始しています…",
    started: "「{name}」を作成しています。",
    fixErrors: "作成されていません。下の印の付いた項目を直してください。",
    refused: "作成されていません: {reason}",
    noFormat: "形式を 1 つ以上選んでください。",
    preview: "プレビュー",
    previewHint: "このレシピが現在選ぶタスク（重複除去の前）。",
    previewLoading: "数えています…",
    previewFailed: "プレビューできません: {reason}",
    previewEmpty: "このレシピではタスクが 1 件も選ばれません。",
    label: "ラベル",
    total: "合計",
  },
);

type Key = Parameters<typeof t>[0];

export interface FormatChoice {
  name: string;
  label: string;
  /** Null when the format fits the project, else why it does not. */
  unfit: string | null;
}

const REDACTION_KINDS = ["email", "phone", "card", "account", "ip", "jp_address", "my_number"] as const;
const SPLITS = ["train", "validation", "test"] as const;
const PREVIEW_DELAY_MS = 400;

export interface BuildForm {
  element: HTMLElement;
  stop(): void;
  /** The build this form started has ended (the versions table says how): its "Building…" line goes. */
  buildEnded(): void;
}

export function buildForm(project: ProjectDetail, formats: FormatChoice[], onBuilt: (version: DatasetVersion) => void): BuildForm {
  const filter = filterFromAddress(location.search);
  let previewTimer = 0;
  let previewTicket = 0;
  let stopped = false;

  const errors = new Map<string, HTMLElement>();
  const field = (name: string, labelKey: Key, control: HTMLElement, hintKey?: Key): HTMLElement => {
    const error = el("p", { className: "field-error", attrs: { id: `${idFor(name)}-error`, "aria-live": "polite" } });
    errors.set(name, error);
    control.setAttribute("aria-describedby", error.id);
    const id = control.id || idFor(name);
    control.id = id;
    return el(
      "div",
      { className: "field", data: { field: name } },
      el("label", { attrs: { for: id }, text: t(labelKey) }),
      control,
      hintKey ? el("p", { className: "hint", text: t(hintKey) }) : null,
      error,
    );
  };
  const group = (name: string, legendKey: Key, hintKey: Key | null, ...children: (HTMLElement | null)[]): HTMLElement => {
    const error = el("p", { className: "field-error", attrs: { "aria-live": "polite" } });
    errors.set(name, error);
    return el("fieldset", { className: "settings-group", data: { field: name } }, el("legend", { text: t(legendKey) }), hintKey ? el("p", { className: "hint", text: t(hintKey) }) : null, ...children, error);
  };
  const select = (name: string, choices: [string, string][], value = ""): HTMLSelectElement => {
    const node = el("select", { attrs: { name, id: idFor(name) } }, ...choices.map(([optionValue, text]) => el("option", { attrs: { value: optionValue }, text })));
    node.value = value;
    return node;
  };
  const number = (name: string, value: string, attrs: Record<string, string> = {}): HTMLInputElement => {
    const node = el("input", { attrs: { type: "number", name, id: idFor(name), inputmode: "decimal", ...attrs } });
    node.value = value;
    return node;
  };
  const check = (name: string, value: string, text: string, checked: boolean): HTMLElement => {
    const id = `${idFor(name)}-${value}`;
    const input = el("input", { attrs: { type: "checkbox", name, value, id } });
    input.checked = checked;
    return el("label", { className: "check", attrs: { for: id } }, input, text);
  };
  const radio = (name: string, value: string, text: string, checked: boolean): HTMLElement => {
    const id = `${idFor(name)}-${value}`;
    const input = el("input", { attrs: { type: "radio", name, value, id } });
    input.checked = checked;
    return el("label", { className: "check", attrs: { for: id } }, input, text);
  };

  const nameInput = el("input", { attrs: { type: "text", name: "name", maxlength: "200", autocomplete: "off", required: "" } });
  nameInput.value = `v${new Date().toISOString().slice(0, 10)}`;

  const tasks = group(
    "tasks",
    "tasks",
    null,
    radio("tasks", "all", t("allTasks"), !filter),
    filter ? radio("tasks", "filter", t("filtered"), true) : el("span"),
  );
  // A select's value is one string: review states travel comma-separated in it.
  const review = select("review", [["", t("reviewAny")], ["accepted", t("reviewAccepted")], ["accepted,fixed", t("reviewAcceptedFixed")]]);
  const minAgreement = number("min_agreement", "", { min: "0", max: "1", step: "0.05" });
  const gold = select("gold", [["include", t("goldInclude")], ["exclude", t("goldExclude")], ["only", t("goldOnly")]], "include");
  const result = select("result", [["latest", t("latest")], ["consensus", t("consensus")], ["reviewed", t("reviewed")], ["all", t("all")]], "latest");
  const ratios = { train: "0.8", validation: "0.1", test: "0.1" };
  const splitInputs = SPLITS.map((split) => number(`splits.${split}`, ratios[split], { min: "0", max: "1", step: "0.05" }));
  const splits = group(
    "splits",
    "splits",
    "splitsHint",
    el("div", { className: "split-ratios" }, ...SPLITS.map((split, index) => el("label", { className: "ratio", attrs: { for: splitInputs[index].id } }, el("span", { text: t(split) }), splitInputs[index]))),
  );
  const seed = number("seed", "0", { min: "0", step: "1", inputmode: "numeric" });
  const stratify = check("stratify", "on", t("stratify"), true);
  const groupBy = select("group_by", [["", t("groupNone")], ...project.data_variables.map((name): [string, string] => [name, name])]);
  const exact = check("dedup.exact", "on", t("dedupExact"), false);
  const near = number("dedup.near_threshold", "", { min: "0", max: "1", step: "0.05" });
  const dedup = group("dedup", "dedup", null, exact, field("dedup.near_threshold", "nearThreshold", near, "nearHint"));
  const patterns = el("textarea", { attrs: { name: "redact.patterns", rows: "2", spellcheck: "false" } });
  const redact = group(
    "redact",
    "redact",
    null,
    el("div", { className: "check-grid" }, ...REDACTION_KINDS.map((kind) => check("redact", kind, t(kind), false))),
    field("redact.patterns", "patterns", patterns, "patternsHint"),
  );
  // Only the formats that fit are offered; the others are listed apart with the reason, so the manager
  // sees why COCO is missing from a text project without a refusal to learn it from.
  const fitting = formats.filter((format) => !format.unfit);
  const unfit = formats.filter((format) => format.unfit);
  const formatGroup = group(
    "formats",
    "formats",
    null,
    el("div", { className: "check-grid formats" }, ...fitting.map((format) => check("formats", format.name, format.label, false))),
    unfit.length
      ? el(
          "details",
          { className: "unfit-formats" },
          el("summary", { text: t("unfitSummary", { count: formatNumber(unfit.length) }) }),
          el("ul", {}, ...unfit.map((format) => el("li", { data: { format: format.name } }, el("strong", { text: format.label }), ": ", format.unfit ?? ""))),
        )
      : null,
  );

  const status = el("p", { className: "notice", attrs: { role: "status", "aria-live": "polite", id: "dataset-form-status" } });
  const submit = el("button", { className: "primary", attrs: { type: "submit" }, text: t("build") });

  const previewBody = el("div", { className: "preview-body" });
  const preview = el(
    "aside",
    { className: "dataset-preview", attrs: { "aria-labelledby": "dataset-preview-title", "aria-live": "polite" }, data: { state: "idle" } },
    el("h4", { attrs: { id: "dataset-preview-title" }, text: t("preview") }),
    el("p", { className: "hint", text: t("previewHint") }),
    previewBody,
  );

  const form = el(
    "form",
    { className: "dataset-form", attrs: { novalidate: "", "aria-labelledby": "dataset-form-title" } },
    el("div", { className: "dataset-fields" },
      field("name", "name", nameInput),
      tasks,
      el("div", { className: "field-row" }, field("review", "review", review), field("min_agreement", "minAgreement", minAgreement, "minAgreementHint"), field("gold", "gold", gold)),
      el("div", { className: "field-row" }, field("result", "result", result), field("seed", "seed", seed), field("group_by", "groupBy", groupBy, "groupHint")),
      splits,
      el("div", { className: "field check", data: { field: "stratify" } }, stratify),
      dedup,
      redact,
      formatGroup,
      el("div", { className: "actions" }, submit),
      status,
    ),
    preview,
  );

  const element = el(
    "section",
    { className: "card datasets-section build", attrs: { "aria-labelledby": "dataset-form-title" } },
    el("h3", { attrs: { id: "dataset-form-title" }, text: t("heading") }),
    el("p", { className: "hint", text: t("hint") }),
    form,
  );

  const checked = (name: string): string[] => [...form.querySelectorAll<HTMLInputElement>(`input[name="${name}"]:checked`)].map((input) => input.value);
  const decimal = (input: HTMLInputElement): number | string | null => {
    const text = input.value.trim();
    if (!text) return null;
    const value = Number(text);
    // Sent as typed when it is not a number: the server's refusal names the field.
    return Number.isFinite(value) ? value : text;
  };

  /** The recipe as the API takes it (exports/datasets/recipes.py); `formats` may be left out. */
  const recipe = (withFormats: boolean): Record<string, unknown> => {
    const body: Record<string, unknown> = {
      name: nameInput.value.trim(),
      result: result.value,
      gold: gold.value,
      splits: Object.fromEntries(SPLITS.map((split, index) => [split, decimal(splitInputs[index]) ?? 0])),
      seed: decimal(seed) ?? 0,
      stratify: checked("stratify").length > 0,
      dedup: { exact: checked("dedup.exact").length > 0, near_threshold: decimal(near) },
      redact: { kinds: checked("redact"), patterns: patterns.value.split("\n").map((line) => line.trim()).filter(Boolean) },
    };
    if (checked("tasks")[0] === "filter" && filter) body.tasks = { filters: filter };
    if (review.value) body.review = review.value.split(",");
    const agreement = decimal(minAgreement);
    if (agreement !== null) body.min_agreement = agreement;
    if (groupBy.value) body.group_by = groupBy.value;
    if (withFormats) body.formats = checked("formats");
    return body;
  };

  /**
   * The recipe a preview sends. The preview endpoint checks the whole recipe, formats included (so an
   * unfit format is named while the form is filled in); with none ticked yet it is asked with the first
   * format that fits, since a format changes no count.
   */
  const firstFit = formats.find((format) => !format.unfit)?.name;
  const previewRecipe = (): Record<string, unknown> => {
    const body = recipe(true);
    if (!(body.formats as string[]).length && firstFit) body.formats = [firstFit];
    return body;
  };

  const clearErrors = (): void => {
    for (const slot of errors.values()) slot.textContent = "";
    for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
  };

  /** The slot for a field the server named ("splits", "dedup.near_threshold", "formats[2]"), or null. */
  const slotFor = (name: string | null): HTMLElement | null => {
    if (!name) return null;
    const parts = name.replace(/\[\d+\]$/, "").split(/[.[]/);
    for (let length = parts.length; length > 0; length--) {
      const slot = errors.get(parts.slice(0, length).join("."));
      if (slot) return slot;
    }
    return null;
  };

  const showRefusal = (error: unknown, prefix: "refused" | "previewFailed"): HTMLElement | null => {
    const apiError = error instanceof ApiError ? error : null;
    const message = (error as Error).message;
    const slot = slotFor(apiError?.field ?? null);
    if (slot) {
      slot.textContent = message;
      slot.closest("[data-field]")?.querySelector("input, select, textarea")?.setAttribute("aria-invalid", "true");
    }
    if (prefix === "refused") status.textContent = slot ? t("fixErrors") : t("refused", { reason: message });
    return slot;
  };

  const drawPreview = (answer: unknown): void => {
    const rows = splitCounts(answer);
    const total = rows.reduce((sum, row) => sum + row.total, 0);
    if (!rows.length || total === 0) {
      replaceChildren(previewBody, el("p", { className: "empty", text: t("previewEmpty") }));
      return;
    }
    const labels = [...new Set(rows.flatMap((row) => Object.keys(row.labels)))].sort();
    const head = el("tr", {}, el("th", { attrs: { scope: "col" }, text: t("label") }), ...rows.map((row) => el("th", { className: "num", attrs: { scope: "col" }, text: splitName(row.split) })));
    const body = el(
      "tbody",
      {},
      ...labels.map((label) => el("tr", { data: { label } }, el("th", { attrs: { scope: "row" }, text: label }), ...rows.map((row) => el("td", { className: "num", text: formatNumber(row.labels[label] ?? 0) })))),
      el("tr", { className: "total" }, el("th", { attrs: { scope: "row" }, text: t("total") }), ...rows.map((row) => el("td", { className: "num", data: { split: row.split }, text: formatNumber(row.total) }))),
    );
    replaceChildren(previewBody, el("div", { className: "table-wrap" }, el("table", { className: "data preview-counts" }, el("thead", {}, head), body)));
  };

  const runPreview = async (): Promise<void> => {
    const ticket = ++previewTicket;
    preview.dataset.state = "loading";
    previewBody.setAttribute("aria-busy", "true");
    let answer: unknown;
    try {
      answer = await api<unknown>("POST", `/api/projects/${project.id}/datasets/preview`, previewRecipe());
    } catch (error) {
      if (stopped || ticket !== previewTicket) return;
      clearErrors();
      showRefusal(error, "previewFailed");
      replaceChildren(previewBody, el("p", { className: "notice error", text: t("previewFailed", { reason: (error as Error).message }) }));
      preview.dataset.state = "failed";
      previewBody.removeAttribute("aria-busy");
      return;
    }
    // A slower answer to an older recipe never overwrites a newer one.
    if (stopped || ticket !== previewTicket) return;
    clearErrors();
    drawPreview(answer);
    preview.dataset.state = "ready";
    previewBody.removeAttribute("aria-busy");
  };

  const schedulePreview = (): void => {
    window.clearTimeout(previewTimer);
    previewTimer = window.setTimeout(() => void runPreview(), PREVIEW_DELAY_MS);
  };
  form.addEventListener("input", (event) => {
    // The name changes nothing a preview counts or checks.
    const target = event.target as HTMLInputElement;
    if (target === nameInput) return;
    schedulePreview();
  });
  form.addEventListener("change", (event) => {
    const target = event.target as HTMLInputElement;
    if (target.type === "checkbox" || target.type === "radio" || target.tagName === "SELECT") {
      schedulePreview();
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    clearErrors();
    const body = recipe(true);
    if (!(body.formats as string[]).length) {
      errors.get("formats")!.textContent = t("noFormat");
      status.textContent = t("fixErrors");
      return;
    }
    submit.disabled = true;
    status.textContent = t("building");
    delete form.dataset.state;
    try {
      const version = await api<DatasetVersion>("POST", `/api/projects/${project.id}/datasets/`, body);
      status.textContent = t("started", { name: version.name });
      form.dataset.state = "started";
      onBuilt(version);
    } catch (error) {
      showRefusal(error, "refused");
      form.dataset.state = "refused";
    } finally {
      submit.disabled = false;
    }
  });

  void runPreview();
  return {
    element,
    buildEnded: () => {
      if (form.dataset.state === "started") status.textContent = "";
    },
    stop: () => {
      stopped = true;
      window.clearTimeout(previewTimer);
    },
  };
}

/** An element id for a recipe field ("dedup.near_threshold" → "dataset-dedup-near_threshold"). */
function idFor(name: string): string {
  return `dataset-${name.replace(/\./g, "-")}`;
}

/** The data table's filter carried in this page's address (`?f=…&c=…`, as the data table writes it). */
function filterFromAddress(search: string): FilterJson | null {
  const query = readQuery(search);
  return query.rows.length ? toFilterJson(query.rows, query.conjunction) : null;
}

/** A split's name in the page's language (train, validation, test; any other as it is). */
export function splitName(split: string): string {
  return (SPLITS as readonly string[]).includes(split) ? t(split as Key) : split;
}

/** A redaction kind in the page's language ("custom" is the project's own patterns; an unknown kind as it is). */
export function redactionKindName(kind: string): string {
  if (kind === "custom") return t("patterns");
  return (REDACTION_KINDS as readonly string[]).includes(kind) ? t(kind as Key) : kind;
}
