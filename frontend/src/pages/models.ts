// The Models tab (managers and above): the project's pre-labelers (`/api/projects/{id}/prelabelers/`),
// a form to add one (the backend with a short description, a title, the backend's settings as fields,
// advanced settings as JSON), "Test on a task" (`POST /api/prelabelers/{id}/test/`, the answer shown as
// labels, choices and spans with their text, never as raw JSON), "Run" (`POST /api/prelabelers/{id}/jobs/`)
// and the project's jobs with live progress: a job still created or in progress is polled
// (`GET /api/prelabel-jobs/{id}/`) until it ends, and can be cancelled. A refusal shows the server's
// message next to the field it names. Task data, titles and results are rendered as text.

import "./models.css";
import { api, ApiError } from "../api";
import { options, parseConfig, toNames, walk, type ConfigNode } from "../config";
import { el, replaceChildren } from "../dom";
import { catalogue, formatDateTime, formatNumber, language } from "../locale";
import { confirmAction } from "./confirm";
import type { ProjectContext } from "./project";
import { dataTable } from "./tables";

const t = catalogue(
  {
    heading: "Models",
    prelabelers: "Pre-labelers",
    prelabelersHint: "Models that suggest labels before annotators start. Annotators see a suggestion as the starting answer and correct it.",
    none: "No pre-labeler yet. Add one below.",
    add: "Add a pre-labeler",
    backend: "Model",
    title: "Title",
    titleHint: "Optional: the model's name is used when empty.",
    runOnImport: "Pre-label new imports automatically",
    settings: "Settings",
    noSettings: "This model needs no settings: it works with the project's labels as they are.",
    advanced: "Advanced settings (JSON)",
    advancedHint: "Optional. Keys given here are added to the settings above (and win over them). See the API documentation for every key.",
    advancedInvalid: "The advanced settings are not a JSON object. Check the brackets, quotes and commas.",
    create: "Add the pre-labeler",
    creating: "Adding…",
    created: "Added “{title}”.",
    fixErrors: "Not added: fix the field marked below.",
    refused: "Not added: {reason}",
    fieldError: "{field}: {reason}",
    modelVersion: "Model version",
    noVersion: "not fitted yet",
    fitted: "Fitted on {examples} labeled tasks, {when}",
    firstFitWaits: "Not fitted yet: it fits by itself once enough tasks are labeled (see Settings), or run it with “Refit on the latest labels first”.",
    firstFitFailed: "Its fit on {labels} labeled tasks failed: {reason}. It is tried again after more tasks are labeled.",
    learns: "Learns from the project's labels",
    rulesFixed: "Does not learn",
    autoImport: "Pre-labels new imports",
    inactive: "Inactive",
    testHeading: "Test on a task",
    taskId: "Task ID",
    test: "Test",
    testing: "Testing…",
    testTask: "Task {id}",
    testNothing: "The model suggests nothing for this task.",
    testDropped: "The model's answer does not fit the label config and would be dropped: {reason}",
    testScore: "Score {score}",
    testUncertainty: "uncertainty {value}",
    testNotFitted: "This model learns from labeled tasks and has not been fitted yet: run it with “Refit” first (it needs labeled tasks).",
    taskIdInvalid: "Enter a task ID (a whole number).",
    runHeading: "Run",
    runTasks: "Tasks",
    unlabeled: "Unlabeled tasks",
    all: "All tasks",
    refit: "Refit on the latest labels first",
    run: "Run",
    starting: "Starting…",
    started: "Job {id} started.",
    delete: "Delete",
    deleteTitle: "Delete “{title}”?",
    deleteMessage: "The pre-labeler is removed; the predictions it wrote stay on their tasks.",
    cancel: "Cancel",
    jobs: "Jobs",
    jobsHint: "The latest runs of this project's pre-labelers. Progress updates while a job runs.",
    noJobs: "No job yet.",
    job: "Job",
    status: "Status",
    progress: "Progress",
    written: "Written",
    skipped: "Skipped",
    dropped: "Dropped",
    errors: "Errors",
    created_at: "Created",
    actions: "Actions",
    cancelJob: "Cancel",
    cancelJobLabel: "Cancel job {id}",
    doneOfTotal: "{done} / {total}",
    statusCreated: "Waiting",
    statusInProgress: "Running",
    statusCompleted: "Completed",
    statusFailed: "Failed",
    statusCancelled: "Cancelled",
    failedBecause: "Failed: {reason}",
    loadFailed: "Could not be loaded: {reason}",
    label: "Label",
    terms: "Words and phrases",
    termsHint: "One a line; labeled wherever they occur.",
    patterns: "Regular expressions",
    patternsHint: "One a line (Python syntax).",
    caseSensitive: "Match case",
    gazetteer: "Gazetteer",
    gazetteerHint: "Optional: one “term<Tab>label” a line, as in a gazetteer file.",
    noLabels: "The label config has no Labels control over a text: span rules have nothing to fill.",
    url: "URL",
    urlHint: "The server's base address (http or https).",
    timeout: "Timeout (seconds)",
    timeoutHint: "Optional: the server's default when empty.",
    model: "Model name",
    apiKey: "API key",
    apiKeyHint: "Optional. Sent as a Bearer token and never shown again.",
    prompt: "Prompt template",
    promptHint: "Optional. {text} is the task's $text (any data field by name), {labels} the labels to choose from.",
    classifier: "Classifier",
    logistic: "Logistic regression",
    knn: "Nearest neighbours",
    template: "Description of a label",
    templateHint: "Optional: {label} is replaced by each label's name.",
    registryModel: "Model in the registry",
    registryVersion: "Version",
    region: "{control}",
    spanText: "“{text}”",
    spanAt: "characters {start}–{end}",
  },
  {
    heading: "モデル",
    prelabelers: "事前ラベラー",
    prelabelersHint: "アノテーターが作業を始める前にラベルを提案するモデルです。アノテーターには提案が最初の回答として表示され、それを修正します。",
    none: "事前ラベラーはまだありません。下から追加してください。",
    add: "事前ラベラーを追加",
    backend: "モデル",
    title: "タイトル",
    titleHint: "省略可。空欄ならモデルの名前を使います。",
    runOnImport: "新しくインポートしたタスクに自動で事前ラベルを付ける",
    settings: "設定",
    noSettings: "このモデルに設定は不要です。プロジェクトのラベルをそのまま使います。",
    advanced: "詳細設定（JSON）",
    advancedHint: "省略可。ここに書いたキーは上の設定に追加されます（同じキーはこちらが優先）。すべてのキーは API ドキュメントを参照してください。",
    advancedInvalid: "詳細設定が JSON オブジェクトになっていません。括弧、引用符、カンマを確認してください。",
    create: "事前ラベラーを追加",
    creating: "追加中…",
    created: "「{title}」を追加しました。",
    fixErrors: "追加されていません。下の印の付いた項目を直してください。",
    refused: "追加されていません: {reason}",
    fieldError: "{field}: {reason}",
    modelVersion: "モデルのバージョン",
    noVersion: "未学習",
    fitted: "ラベル付きタスク {examples} 件で学習（{when}）",
    firstFitWaits: "未学習: ラベル付きタスクが十分に増えると自動で学習します（設定を参照）。「先に最新のラベルで再学習する」を選んで実行することもできます。",
    firstFitFailed: "ラベル付きタスク {labels} 件での学習に失敗しました: {reason}。ラベル付きタスクが増えると再度試します。",
    learns: "プロジェクトのラベルから学習する",
    rulesFixed: "学習しない",
    autoImport: "新しいインポートに事前ラベルを付ける",
    inactive: "無効",
    testHeading: "タスクで試す",
    taskId: "タスク ID",
    test: "試す",
    testing: "実行中…",
    testTask: "タスク {id}",
    testNothing: "このタスクに対するモデルの提案はありません。",
    testDropped: "モデルの回答がラベル設定に合わないため、破棄されます: {reason}",
    testScore: "スコア {score}",
    testUncertainty: "不確かさ {value}",
    testNotFitted: "このモデルはラベル付きタスクから学習しますが、まだ学習していません。先に「再学習」を付けて実行してください（ラベル付きタスクが必要です）。",
    taskIdInvalid: "タスク ID（整数）を入力してください。",
    runHeading: "実行",
    runTasks: "対象タスク",
    unlabeled: "未ラベルのタスク",
    all: "すべてのタスク",
    refit: "先に最新のラベルで再学習する",
    run: "実行",
    starting: "開始中…",
    started: "ジョブ {id} を開始しました。",
    delete: "削除",
    deleteTitle: "「{title}」を削除しますか?",
    deleteMessage: "事前ラベラーを削除します。書き込まれた予測はタスクに残ります。",
    cancel: "キャンセル",
    jobs: "ジョブ",
    jobsHint: "このプロジェクトの事前ラベラーの最近の実行です。実行中は進捗が更新されます。",
    noJobs: "ジョブはまだありません。",
    job: "ジョブ",
    status: "状態",
    progress: "進捗",
    written: "書き込み",
    skipped: "スキップ",
    dropped: "破棄",
    errors: "エラー",
    created_at: "作成日時",
    actions: "操作",
    cancelJob: "中止",
    cancelJobLabel: "ジョブ {id} を中止",
    doneOfTotal: "{done} / {total}",
    statusCreated: "待機中",
    statusInProgress: "実行中",
    statusCompleted: "完了",
    statusFailed: "失敗",
    statusCancelled: "中止",
    failedBecause: "失敗: {reason}",
    loadFailed: "読み込めませんでした: {reason}",
    label: "ラベル",
    terms: "語句",
    termsHint: "1行に1つ。出現するすべての箇所にラベルを付けます。",
    patterns: "正規表現",
    patternsHint: "1行に1つ（Python の書式）。",
    caseSensitive: "大文字と小文字を区別する",
    gazetteer: "辞書（ガゼティア）",
    gazetteerHint: "省略可。ガゼティアファイルと同じく、1行に「語句<タブ>ラベル」。",
    noLabels: "ラベル設定にテキストに対する Labels コントロールがないため、スパンルールで付けるラベルがありません。",
    url: "URL",
    urlHint: "サーバーのベースアドレス（http または https）。",
    timeout: "タイムアウト（秒）",
    timeoutHint: "省略可。空欄ならサーバーの既定値です。",
    model: "モデル名",
    apiKey: "API キー",
    apiKeyHint: "省略可。Bearer トークンとして送信され、二度と表示されません。",
    prompt: "プロンプトのテンプレート",
    promptHint: "省略可。{text} はタスクの $text（ほかのデータ項目も名前で指定可）、{labels} は選択肢のラベルです。",
    classifier: "分類器",
    logistic: "ロジスティック回帰",
    knn: "近傍法",
    template: "ラベルの説明",
    templateHint: "省略可。{label} は各ラベルの名前に置き換わります。",
    registryModel: "レジストリのモデル",
    registryVersion: "バージョン",
    region: "{control}",
    spanText: "「{text}」",
    spanAt: "{start}〜{end} 文字目",
  },
);
type Key = Parameters<typeof t>[0];

const BACKENDS = ["embedding_classifier", "zero_shot", "span_rules", "registry_model", "ml_backend", "openai_chat"] as const;
type BackendName = (typeof BACKENDS)[number];

const BACKEND_TEXT = catalogue(
  {
    embedding_classifier: "Embedding classifier",
    embedding_classifier_about: "Learns the project's choices from its labeled tasks (sentence embeddings and a light classifier). Refits as labels come in.",
    zero_shot: "Zero-shot by label description",
    zero_shot_about: "Picks the choice whose name or description is closest in meaning to the text. Needs no labeled tasks.",
    span_rules: "Span rules",
    span_rules_about: "Labels words, phrases and regular expressions in the text, per label (named entities).",
    registry_model: "Model from the registry",
    registry_model_about: "A sequence or token classification model saved in Tessera's model registry.",
    ml_backend: "Label Studio ML backend",
    ml_backend_about: "A server speaking Label Studio's ML backend protocol (/health, /setup, /predict).",
    openai_chat: "OpenAI-compatible chat endpoint",
    openai_chat_about: "A chat model served like OpenAI's API (vLLM, TGI, llama.cpp, Ollama), with a prompt template.",
  },
  {
    embedding_classifier: "埋め込み分類器",
    embedding_classifier_about: "ラベル付きタスクからプロジェクトの選択肢を学習します（文の埋め込みと軽量な分類器）。ラベルが増えると再学習します。",
    zero_shot: "ラベルの説明によるゼロショット",
    zero_shot_about: "名前や説明の意味がテキストに最も近い選択肢を選びます。ラベル付きタスクは不要です。",
    span_rules: "スパンルール",
    span_rules_about: "ラベルごとの語句や正規表現に一致する箇所にラベルを付けます（固有表現）。",
    registry_model: "レジストリのモデル",
    registry_model_about: "Tessera のモデルレジストリに保存された系列分類またはトークン分類のモデルです。",
    ml_backend: "Label Studio ML バックエンド",
    ml_backend_about: "Label Studio の ML バックエンドのプロトコル（/health、/setup、/predict）で応答するサーバーです。",
    openai_chat: "OpenAI 互換のチャットエンドポイント",
    openai_chat_about: "OpenAI の API と同じ形で提供されるチャットモデル（vLLM、TGI、llama.cpp、Ollama）を、プロンプトのテンプレートで使います。",
  },
);

export interface Prelabeler {
  id: number;
  project: number;
  title: string;
  backend: string;
  settings: Record<string, unknown>;
  run_on_import: boolean;
  is_active: boolean;
  model_version: string;
  fitted_at: string | null;
  fitted_examples: number;
  fit_info: Record<string, unknown> | null;
  learns: boolean;
  created_at: string;
}

export type JobStatus = "created" | "in_progress" | "completed" | "failed" | "cancelled";

export interface PrelabelJob {
  id: number;
  project: number;
  prelabeler: number;
  status: JobStatus;
  model_version: string;
  tasks_done: number;
  tasks_total: number;
  predictions_written: number;
  skipped: number;
  dropped: number;
  errors: number;
  error: string | null;
  error_detail: { code: string; message: string; field: string | null } | null;
  created_at: string;
  finished_at: string | null;
}

interface Region {
  from_name?: string;
  to_name?: string;
  type?: string;
  value?: Record<string, unknown>;
}

interface TestAnswer {
  task: number;
  model_version: string;
  result: Region[];
  score: number | null;
  uncertainty: number | null;
  dropped: string | null;
}

const STATUS_TEXT: Record<JobStatus, Key> = {
  created: "statusCreated",
  in_progress: "statusInProgress",
  completed: "statusCompleted",
  failed: "statusFailed",
  cancelled: "statusCancelled",
};
const RUNNING: JobStatus[] = ["created", "in_progress"];
export const POLL_MS = 1000;

const lines = (text: string): string[] => text.split("\n").map((line) => line.trim()).filter(Boolean);
const decimals = (value: number) => new Intl.NumberFormat(language(), { maximumFractionDigits: 3 }).format(value);

/** What the config offers a backend's settings form: Labels controls over a Text, with their labels. */
interface ConfigFacts {
  labelControls: { name: string; labels: string[] }[];
  /** A Text object's name -> the data field it shows (without the $). */
  textFields: Record<string, string>;
}

function configFacts(xml: string): ConfigFacts {
  const facts: ConfigFacts = { labelControls: [], textFields: {} };
  let root: ConfigNode;
  try {
    root = parseConfig(xml);
  } catch {
    return facts;
  }
  const texts = new Set<string>();
  walk(root, (node) => {
    if ((node.tag === "text" || node.tag === "hypertext") && node.attrs.name) {
      texts.add(node.attrs.name);
      if (node.attrs.value?.startsWith("$")) facts.textFields[node.attrs.name] = node.attrs.value.slice(1);
    }
  });
  walk(root, (node) => {
    if (node.tag === "labels" && node.attrs.name && toNames(node).some((name) => texts.has(name))) {
      facts.labelControls.push({ name: node.attrs.name, labels: options(node).map((option) => option.value) });
    }
  });
  return facts;
}

/** A settings form for one backend: its fields, and how to read them into the settings object. */
interface SettingsForm {
  fields: HTMLElement[];
  read(): Record<string, unknown>;
  /** An API field -> the form's key for it, where they differ (a label's name -> its box's index). */
  aliases?: Record<string, string>;
}

type FieldMaker = (key: string, label: string, options?: { hint?: string; type?: string; multiline?: boolean; required?: boolean; value?: string }) => HTMLElement;

function settingsForm(backend: BackendName, facts: ConfigFacts, field: FieldMaker): SettingsForm {
  const value = (form: HTMLElement, key: string): string => (form.querySelector<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>(`[data-setting="${key}"]`)?.value ?? "").trim();
  const holder = el("div");
  const put = (settings: Record<string, unknown>, key: string, text: string, kind: "text" | "number" = "text") => {
    if (text === "") return;
    settings[key] = kind === "number" ? Number(text) : text;
  };
  switch (backend) {
    case "embedding_classifier": {
      const select = el(
        "select",
        { attrs: { id: "setting-classifier", "data-setting": "classifier" } },
        el("option", { attrs: { value: "logistic_regression" }, text: t("logistic") }),
        el("option", { attrs: { value: "knn" }, text: t("knn") }),
      );
      holder.append(el("p", { className: "hint", text: t("noSettings") }), el("div", { className: "field narrow", data: { field: "settings.classifier" } }, el("label", { attrs: { for: "setting-classifier" }, text: t("classifier") }), select, el("p", { className: "field-error" })));
      return { fields: [holder], read: () => ({ classifier: select.value }) };
    }
    case "zero_shot":
      holder.append(el("p", { className: "hint", text: t("noSettings") }), field("template", t("template"), { hint: t("templateHint") }));
      return {
        fields: [holder],
        read: () => {
          const settings: Record<string, unknown> = {};
          put(settings, "template", value(holder, "template"));
          return settings;
        },
      };
    case "span_rules": {
      if (!facts.labelControls.length) return { fields: [el("p", { className: "notice warn", text: t("noLabels") })], read: () => ({}) };
      const control = facts.labelControls[0];
      const rows = control.labels.map((label, index) =>
        el(
          "fieldset",
          { className: "rule", data: { label, field: `settings.rules.${label}` } },
          el("legend", { text: label }),
          field(`rules.${index}.terms`, t("terms"), { hint: t("termsHint"), multiline: true }),
          field(`rules.${index}.patterns`, t("patterns"), { hint: t("patternsHint"), multiline: true }),
          el("p", { className: "field-error" }),
        ),
      );
      const caseBox = el("input", { attrs: { type: "checkbox", id: "setting-case_sensitive", "data-setting": "case_sensitive" } });
      holder.append(
        el("div", { className: "rules", data: { field: "settings.rules" } }, ...rows, el("p", { className: "field-error" })),
        el("div", { className: "field check", data: { field: "settings.case_sensitive" } }, el("label", { attrs: { for: "setting-case_sensitive" } }, caseBox, " ", t("caseSensitive"))),
        field("gazetteer", t("gazetteer"), { hint: t("gazetteerHint"), multiline: true }),
      );
      const aliases: Record<string, string> = {};
      control.labels.forEach((label, index) => {
        for (const part of ["terms", "patterns"]) aliases[`settings.rules.${label}.${part}`] = `settings.rules.${index}.${part}`;
      });
      return {
        fields: [holder],
        aliases,
        read: () => {
          const rules: Record<string, { terms: string[]; patterns: string[] }> = {};
          control.labels.forEach((label, index) => {
            const terms = lines(value(holder, `rules.${index}.terms`));
            const patterns = lines(value(holder, `rules.${index}.patterns`));
            if (terms.length || patterns.length) rules[label] = { terms, patterns };
          });
          const settings: Record<string, unknown> = { rules, case_sensitive: caseBox.checked };
          if (facts.labelControls.length > 1) settings.from_name = control.name;
          // The gazetteer keeps its tabs: only the outer blank lines go.
          const gazetteer = (holder.querySelector<HTMLTextAreaElement>('[data-setting="gazetteer"]')?.value ?? "").replace(/^\s*\n|\n\s*$/g, "");
          if (gazetteer.trim()) settings.gazetteer = gazetteer;
          return settings;
        },
      };
    }
    case "registry_model":
      holder.append(field("model", t("registryModel"), { required: true }), field("version", t("registryVersion"), { required: true }));
      return { fields: [holder], read: () => ({ model: value(holder, "model"), version: value(holder, "version") }) };
    case "ml_backend":
      holder.append(field("url", t("url"), { hint: t("urlHint"), type: "url", required: true }), field("timeout", t("timeout"), { hint: t("timeoutHint"), type: "number" }));
      return {
        fields: [holder],
        read: () => {
          const settings: Record<string, unknown> = { url: value(holder, "url") };
          put(settings, "timeout", value(holder, "timeout"), "number");
          return settings;
        },
      };
    case "openai_chat":
      holder.append(
        field("url", t("url"), { hint: t("urlHint"), type: "url", required: true }),
        field("model", t("model")),
        field("api_key", t("apiKey"), { hint: t("apiKeyHint"), type: "password" }),
        field("prompt_template", t("prompt"), { hint: t("promptHint"), multiline: true }),
        field("timeout", t("timeout"), { hint: t("timeoutHint"), type: "number" }),
      );
      return {
        fields: [holder],
        read: () => {
          const settings: Record<string, unknown> = { url: value(holder, "url") };
          put(settings, "model", value(holder, "model"));
          put(settings, "api_key", value(holder, "api_key"));
          put(settings, "prompt_template", value(holder, "prompt_template"));
          put(settings, "timeout", value(holder, "timeout"), "number");
          return settings;
        },
      };
  }
}

/** One region of a result as a sentence: "sentiment: Positive", "ORG “Acme” (characters 0–4)". */
export function describeRegion(region: Region, taskData: Record<string, unknown>, facts: ConfigFacts): HTMLElement {
  const value = region.value ?? {};
  const control = region.from_name ?? "";
  const item = el("li", { className: "region", data: { type: region.type ?? "" } }, el("span", { className: "region-control", text: t("region", { control }) }), " ");
  const picked = (["choices", "labels", "paragraphlabels", "rectanglelabels", "polygonlabels", "taxonomy"] as const).flatMap((key) => (Array.isArray(value[key]) ? (value[key] as unknown[]).map(String) : []));
  if (picked.length) item.append(el("strong", { className: "region-labels", text: picked.join(", ") }));
  if (typeof value.start === "number" && typeof value.end === "number") {
    let text = typeof value.text === "string" ? value.text : null;
    const field = facts.textFields[region.to_name ?? ""];
    const source = field ? taskData[field] : undefined;
    // Offsets are code points (as the server counts them), not UTF-16 units.
    if (text === null && typeof source === "string") text = Array.from(source).slice(value.start, value.end).join("");
    if (text !== null) item.append(" ", el("q", { className: "region-text", text: t("spanText", { text }) }));
    item.append(" ", el("small", { text: `(${t("spanAt", { start: value.start, end: value.end })})` }));
  }
  if (Array.isArray(value.text) && !picked.length) item.append(el("span", { className: "region-text", text: (value.text as unknown[]).map(String).join(" / ") }));
  if (typeof value.rating === "number") item.append(el("strong", { text: `★ ${value.rating}` }));
  if (!item.querySelector("strong, q, .region-text")) item.append(el("code", { text: JSON.stringify(value) }));
  return item;
}

export default async function modelsTab(ctx: ProjectContext): Promise<() => void> {
  const project = ctx.project;
  const facts = configFacts(project.label_config);
  const timers = new Set<number>();
  let left = false;
  let prelabelers: Prelabeler[] = [];

  const listBody = el("div", { className: "prelabeler-list", attrs: { "aria-live": "polite" } }, el("p", { className: "hint", text: "…" }));
  const jobsBody = el("div", { className: "jobs-body" });
  const jobRows = new Map<number, HTMLTableRowElement>();
  const jobsById = new Map<number, PrelabelJob>();
  const jobsTbody = el("tbody");

  // ---- the add form ------------------------------------------------------------------------------
  const errorSlots = new Map<string, HTMLElement>();
  const field: FieldMaker = (key, label, options = {}) => {
    const id = `setting-${key.replace(/\./g, "-")}`;
    const input = options.multiline
      ? el("textarea", { className: "code", attrs: { id, rows: "3", "data-setting": key, spellcheck: "false" } })
      : el("input", { attrs: { id, type: options.type ?? "text", "data-setting": key, autocomplete: "off", ...(options.type === "number" ? { step: "any", min: "0" } : {}) } });
    if (options.required) input.setAttribute("aria-required", "true");
    if (options.value) input.value = options.value;
    const error = el("p", { className: "field-error", attrs: { id: `${id}-error`, "aria-live": "polite" } });
    errorSlots.set(`settings.${key}`, error);
    return el("div", { className: "field", data: { field: `settings.${key}` } }, el("label", { attrs: { for: id }, text: label }), options.hint ? el("p", { className: "hint", text: options.hint }) : null, input, error);
  };

  const backendSelect = el("select", { attrs: { id: "prelabeler-backend", name: "backend", "aria-describedby": "prelabeler-backend-about" } });
  for (const name of BACKENDS) backendSelect.append(el("option", { attrs: { value: name }, text: BACKEND_TEXT(name) }));
  // A choices project starts on the embedding classifier, a span project on rules.
  backendSelect.value = facts.labelControls.length ? "span_rules" : "embedding_classifier";
  const about = el("p", { className: "hint", attrs: { id: "prelabeler-backend-about" } });
  const titleInput = el("input", { attrs: { id: "prelabeler-title", name: "title", type: "text", maxlength: "250", autocomplete: "off" } });
  const importBox = el("input", { attrs: { id: "prelabeler-run-on-import", name: "run_on_import", type: "checkbox" } });
  const settingsHolder = el("div", { className: "settings-fields" });
  const advanced = el("textarea", { className: "code", attrs: { id: "prelabeler-advanced", rows: "4", spellcheck: "false", placeholder: "{}" } });
  const formStatus = el("p", { className: "notice", attrs: { role: "status", "aria-live": "polite", id: "prelabeler-form-status" } });
  const createButton = el("button", { className: "primary", attrs: { type: "submit" }, text: t("create") });
  const generalErrors = { backend: el("p", { className: "field-error" }), title: el("p", { className: "field-error" }), settings: el("p", { className: "field-error" }) };
  let current: SettingsForm = { fields: [], read: () => ({}) };

  const drawSettings = () => {
    for (const key of [...errorSlots.keys()]) errorSlots.delete(key);
    const name = backendSelect.value as BackendName;
    about.textContent = BACKEND_TEXT(`${name}_about` as Parameters<typeof BACKEND_TEXT>[0]);
    current = settingsForm(name, facts, field);
    replaceChildren(settingsHolder, ...current.fields);
    for (const slot of settingsHolder.querySelectorAll<HTMLElement>("[data-field] > .field-error")) {
      const owner = slot.parentElement!.dataset.field!;
      if (!errorSlots.has(owner)) errorSlots.set(owner, slot);
    }
  };
  backendSelect.addEventListener("change", drawSettings);
  drawSettings();

  const clearErrors = () => {
    for (const slot of [...errorSlots.values(), ...Object.values(generalErrors)]) slot.textContent = "";
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    formStatus.className = "notice";
    formStatus.textContent = "";
  };

  /** The slot for an API field such as "settings.rules.ORG": the nearest one the form has. */
  const slotFor = (apiField: string | null): HTMLElement | null => {
    if (!apiField) return null;
    if (apiField === "backend" || apiField === "title") return generalErrors[apiField];
    // "settings.rules.ORG.patterns[0]": the list's index goes (the box holds the whole list).
    let key = apiField.replace(/(\[\d+\])+$/, "");
    key = current.aliases?.[key] ?? key;
    while (key) {
      const slot = errorSlots.get(key);
      if (slot) return slot;
      const cut = key.lastIndexOf(".");
      if (cut < 0) break;
      key = key.slice(0, cut);
    }
    return apiField.startsWith("settings") ? generalErrors.settings : null;
  };

  const showRefusal = (error: unknown, status: HTMLElement) => {
    const apiError = error instanceof ApiError ? error : null;
    const message = (error as Error).message;
    const slot = slotFor(apiError?.field ?? null);
    status.className = "notice error";
    if (slot) {
      // The field's name as the API gives it (settings.rules.ORG) locates the problem in nested settings.
      slot.textContent = apiError?.field && slot === generalErrors.settings ? t("fieldError", { field: apiError.field, reason: message }) : message;
      const input = slot.parentElement?.querySelector("input, textarea, select");
      input?.setAttribute("aria-invalid", "true");
      status.textContent = t("fixErrors");
      (input as HTMLElement | null)?.focus();
    } else {
      status.textContent = t("refused", { reason: message });
    }
  };

  const form = el(
    "form",
    { className: "card prelabeler-form", attrs: { novalidate: "", "aria-labelledby": "add-prelabeler-title" } },
    el("h3", { attrs: { id: "add-prelabeler-title" }, text: t("add") }),
    el("div", { className: "field", data: { field: "backend" } }, el("label", { attrs: { for: "prelabeler-backend" }, text: t("backend") }), backendSelect, about, generalErrors.backend),
    el("div", { className: "field", data: { field: "title" } }, el("label", { attrs: { for: "prelabeler-title" }, text: t("title") }), el("p", { className: "hint", text: t("titleHint") }), titleInput, generalErrors.title),
    el("fieldset", { className: "settings-group" }, el("legend", { text: t("settings") }), settingsHolder, generalErrors.settings),
    el(
      "details",
      { className: "advanced" },
      el("summary", { text: t("advanced") }),
      el("div", { className: "field" }, el("p", { className: "hint", text: t("advancedHint") }), el("label", { className: "visually-hidden", attrs: { for: "prelabeler-advanced" }, text: t("advanced") }), advanced),
    ),
    el("div", { className: "field check" }, el("label", { attrs: { for: "prelabeler-run-on-import" } }, importBox, " ", t("runOnImport"))),
    el("div", { className: "actions" }, createButton, formStatus),
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    let settings = current.read();
    if (advanced.value.trim()) {
      let extra: unknown;
      try {
        extra = JSON.parse(advanced.value);
      } catch {
        extra = null;
      }
      if (!extra || typeof extra !== "object" || Array.isArray(extra)) {
        advanced.setAttribute("aria-invalid", "true");
        formStatus.className = "notice error";
        formStatus.textContent = t("advancedInvalid");
        advanced.closest("details")!.open = true;
        advanced.focus();
        return;
      }
      settings = { ...settings, ...(extra as Record<string, unknown>) };
    }
    const body: Record<string, unknown> = { backend: backendSelect.value, settings, run_on_import: importBox.checked };
    if (titleInput.value.trim()) body.title = titleInput.value.trim();
    createButton.disabled = true;
    formStatus.textContent = t("creating");
    try {
      const created = await api<Prelabeler>("POST", `/api/projects/${project.id}/prelabelers/`, body);
      prelabelers = [created, ...prelabelers.filter((item) => item.id !== created.id)];
      drawList();
      formStatus.className = "notice";
      formStatus.textContent = t("created", { title: created.title });
      titleInput.value = "";
    } catch (error) {
      showRefusal(error, formStatus);
    } finally {
      createButton.disabled = false;
    }
  });

  // A learning pre-labeler that never fitted: when its first fit runs, or why the last try failed.
  const firstFitNote = (info: Record<string, unknown> | null): HTMLElement => {
    if (info && info.state === "failed" && typeof info.labels === "number") {
      const reason = typeof info.error_message === "string" ? info.error_message : "";
      return el("p", { className: "hint", attrs: { "data-test": "first-fit", role: "status" }, text: t("firstFitFailed", { labels: formatNumber(info.labels), reason }) });
    }
    return el("p", { className: "hint", attrs: { "data-test": "first-fit" }, text: t("firstFitWaits") });
  };

  // ---- the list, with Test and Run on each -------------------------------------------------------
  const card = (prelabeler: Prelabeler): HTMLElement => {
    const prefix = `prelabeler-${prelabeler.id}`;
    const version = versionOf(prelabeler);
    const facts2 = [
      el("span", { className: "pill", text: BACKEND_TEXT(prelabeler.backend as BackendName) ?? prelabeler.backend }),
      el("span", { className: "pill", text: prelabeler.learns ? t("learns") : t("rulesFixed") }),
      prelabeler.run_on_import ? el("span", { className: "pill", text: t("autoImport") }) : null,
      prelabeler.is_active ? null : el("span", { className: "pill warn", text: t("inactive") }),
    ];
    const fitted = prelabeler.fitted_at
      ? el("p", { className: "hint", text: t("fitted", { examples: formatNumber(prelabeler.fitted_examples), when: formatDateTime(prelabeler.fitted_at) }) })
      : prelabeler.learns
        ? firstFitNote(prelabeler.fit_info)
        : null;

    // Test on a task.
    const taskInput = el("input", { attrs: { id: `${prefix}-task`, type: "text", inputmode: "numeric", autocomplete: "off", "data-test": "task", size: "8" } });
    const testButton = el("button", { attrs: { type: "submit", "data-action": "test" }, text: t("test") });
    const testOut = el("div", { className: "test-result", attrs: { "aria-live": "polite", "data-test": "result" } });
    const testForm = el(
      "form",
      { className: "inline-form", attrs: { novalidate: "", "aria-label": t("testHeading") } },
      el("h4", { text: t("testHeading") }),
      el("div", { className: "actions" }, el("label", { attrs: { for: `${prefix}-task` }, text: t("taskId") }), taskInput, testButton),
      testOut,
    );
    testForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const id = taskInput.value.trim();
      if (!/^[0-9]{1,15}$/.test(id)) {
        taskInput.setAttribute("aria-invalid", "true");
        replaceChildren(testOut, el("p", { className: "notice error", text: t("taskIdInvalid") }));
        return;
      }
      taskInput.removeAttribute("aria-invalid");
      testButton.disabled = true;
      replaceChildren(testOut, el("p", { className: "hint", text: t("testing") }));
      try {
        const [answer, task] = await Promise.all([
          api<TestAnswer>("POST", `/api/prelabelers/${prelabeler.id}/test/`, { task: Number(id) }),
          api<{ id: number; data: Record<string, unknown> }>("GET", `/api/tasks/${id}/`).catch(() => ({ id: Number(id), data: {} })),
        ]);
        replaceChildren(testOut, ...testAnswer(answer, task.data, facts));
      } catch (error) {
        const apiError = error instanceof ApiError ? error : null;
        const text = apiError?.code === "not_fitted" ? t("testNotFitted") : (error as Error).message;
        replaceChildren(testOut, el("p", { className: "notice error", attrs: { role: "alert" }, text }));
      } finally {
        testButton.disabled = false;
      }
    });

    // Run.
    const scope = el(
      "select",
      { attrs: { id: `${prefix}-scope`, "data-run": "tasks" } },
      el("option", { attrs: { value: "unlabeled" }, text: t("unlabeled") }),
      el("option", { attrs: { value: "all" }, text: t("all") }),
    );
    const refit = el("input", { attrs: { id: `${prefix}-refit`, type: "checkbox", "data-run": "refit" } });
    const runButton = el("button", { className: "primary", attrs: { type: "submit", "data-action": "run" }, text: t("run") });
    const runStatus = el("p", { className: "notice", attrs: { role: "status", "aria-live": "polite" } });
    const runForm = el(
      "form",
      { className: "inline-form", attrs: { novalidate: "", "aria-label": t("runHeading") } },
      el("h4", { text: t("runHeading") }),
      el(
        "div",
        { className: "actions" },
        el("label", { attrs: { for: `${prefix}-scope` }, text: t("runTasks") }),
        scope,
        prelabeler.learns ? el("label", { className: "check", attrs: { for: `${prefix}-refit` } }, refit, " ", t("refit")) : null,
        runButton,
      ),
      runStatus,
    );
    runForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      runButton.disabled = true;
      runStatus.className = "notice";
      runStatus.textContent = t("starting");
      try {
        const job = await api<PrelabelJob>("POST", `/api/prelabelers/${prelabeler.id}/jobs/`, { tasks: scope.value, refit: refit.checked });
        runStatus.textContent = t("started", { id: job.id });
        showJob(job, true);
      } catch (error) {
        runStatus.className = "notice error";
        runStatus.textContent = (error as Error).message;
      } finally {
        runButton.disabled = false;
      }
    });

    const deleteButton = el("button", { className: "small danger", attrs: { type: "button", "data-action": "delete" }, text: t("delete") });
    deleteButton.addEventListener("click", async () => {
      const deleted = await confirmAction({
        title: t("deleteTitle", { title: prelabeler.title }),
        message: t("deleteMessage"),
        confirmLabel: t("delete"),
        cancelLabel: t("cancel"),
        action: async () => void (await api<null>("DELETE", `/api/prelabelers/${prelabeler.id}/`)),
      });
      if (deleted) {
        prelabelers = prelabelers.filter((item) => item.id !== prelabeler.id);
        drawList();
      }
    });

    return el(
      "article",
      { className: "card prelabeler", attrs: { "aria-labelledby": `${prefix}-title` }, data: { prelabeler: prelabeler.id, backend: prelabeler.backend } },
      el("div", { className: "prelabeler-head" }, el("h3", { attrs: { id: `${prefix}-title` }, text: prelabeler.title }), el("div", { className: "actions" }, deleteButton)),
      el("p", { className: "pills" }, ...facts2),
      el("p", { className: "version" }, `${t("modelVersion")}: `, version),
      fitted,
      el("div", { className: "prelabeler-forms" }, testForm, runForm),
    );
  };

  const drawList = () => {
    if (!prelabelers.length) replaceChildren(listBody, el("p", { className: "empty", text: t("none") }));
    else replaceChildren(listBody, ...prelabelers.map(card));
    // The jobs name their pre-labeler: redraw them with the titles now known.
    for (const [id, row] of jobRows) {
      const fresh = jobRow(jobsById.get(id)!);
      row.replaceWith(fresh);
      jobRows.set(id, fresh);
    }
  };

  // ---- jobs --------------------------------------------------------------------------------------
  const titleOf = (id: number) => prelabelers.find((item) => item.id === id)?.title ?? `#${id}`;

  const jobRow = (job: PrelabelJob): HTMLTableRowElement => {
    const total = Math.max(job.tasks_total, 0);
    const bar = el("progress", { attrs: { max: String(Math.max(total, 1)), value: String(Math.min(job.tasks_done, Math.max(total, 1))), "aria-label": t("progress") } });
    if (job.status === "created" && !total) bar.removeAttribute("value"); // not started: an indeterminate bar
    const statusCell = el("td", { className: `status status-${job.status}`, data: { status: job.status } }, t(STATUS_TEXT[job.status] ?? "statusCreated"));
    if (job.status === "failed") statusCell.append(el("small", { className: "job-error", text: t("failedBecause", { reason: job.error_detail?.message ?? job.error ?? "" }) }));
    let cancel: HTMLButtonElement | null = null;
    if (RUNNING.includes(job.status)) {
      const button = el("button", { className: "small", attrs: { type: "button", "data-action": "cancel", "aria-label": t("cancelJobLabel", { id: job.id }) }, text: t("cancelJob") });
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          showJob(await api<PrelabelJob>("POST", `/api/prelabel-jobs/${job.id}/cancel/`), false);
        } catch (error) {
          statusCell.append(el("small", { className: "job-error", text: (error as Error).message }));
          button.disabled = false;
        }
      });
      cancel = button;
    }
    const row = el(
      "tr",
      { data: { jobId: job.id, status: job.status } },
      el("th", { attrs: { scope: "row" }, text: `#${job.id}` }),
      el("td", { text: titleOf(job.prelabeler) }),
      statusCell,
      el("td", { className: "job-progress" }, bar, " ", el("span", { className: "num", text: t("doneOfTotal", { done: formatNumber(job.tasks_done), total: formatNumber(total) }) })),
      ...[job.predictions_written, job.skipped, job.dropped, job.errors].map((n, index) => el("td", { className: "num", data: { counter: ["written", "skipped", "dropped", "errors"][index] }, text: formatNumber(n) })),
      el("td", { text: job.model_version }),
      el("td", { text: formatDateTime(job.created_at) }),
      el("td", {}, cancel),
    );
    return row;
  };

  // One poll in flight per job, whoever asks (a cancel's answer, the run's answer, the previous tick).
  const polled = new Set<number>();
  const poll = (jobId: number) => {
    if (left || polled.has(jobId)) return;
    polled.add(jobId);
    const timer = window.setTimeout(async () => {
      timers.delete(timer);
      let job: PrelabelJob | null = null;
      try {
        job = await api<PrelabelJob>("GET", `/api/prelabel-jobs/${jobId}/`);
      } catch {
        job = null; // a dropped request: try again on the next tick
      }
      polled.delete(jobId);
      if (job) {
        showJob(job, false);
        // A finished run may have fitted a new version: show it on the pre-labeler's card.
        if (!RUNNING.includes(job.status)) void refreshVersion(job.prelabeler);
      } else poll(jobId);
    }, POLL_MS);
    timers.add(timer);
  };

  async function refreshVersion(prelabelerId: number): Promise<void> {
    let fresh: Prelabeler;
    try {
      fresh = await api<Prelabeler>("GET", `/api/prelabelers/${prelabelerId}/`);
    } catch {
      return; // deleted meanwhile: the card is gone too
    }
    prelabelers = prelabelers.map((item) => (item.id === fresh.id ? fresh : item));
    const line = listBody.querySelector(`[data-prelabeler="${fresh.id}"] .version`);
    if (line) replaceChildren(line, `${t("modelVersion")}: `, versionOf(fresh));
  }

  function showJob(job: PrelabelJob, isNew: boolean): void {
    if (left) return;
    jobsById.set(job.id, job);
    const row = jobRow(job);
    const existing = jobRows.get(job.id);
    if (existing) existing.replaceWith(row);
    else if (isNew) jobsTbody.prepend(row);
    else jobsTbody.append(row);
    jobRows.set(job.id, row);
    if (jobsTable.parentElement !== jobsBody) replaceChildren(jobsBody, jobsTable);
    if (RUNNING.includes(job.status)) poll(job.id);
  }

  const jobsTable = dataTable(
    "data jobs",
    [t("job"), t("prelabelers"), t("status"), t("progress"), t("written"), t("skipped"), t("dropped"), t("errors"), t("modelVersion"), t("created_at"), t("actions")],
    jobsTbody,
  );

  document.title = `${t("heading")} · ${project.title} · Tessera`;
  replaceChildren(
    ctx.root,
    el(
      "div",
      { className: "models-page", data: { state: "loading" } },
      el("h2", { className: "visually-hidden", text: t("heading") }),
      el("section", { className: "models-section", attrs: { "aria-labelledby": "prelabelers-title" } }, el("h3", { attrs: { id: "prelabelers-title" }, text: t("prelabelers") }), el("p", { className: "hint", text: t("prelabelersHint") }), listBody),
      form,
      el("section", { className: "models-section", attrs: { "aria-labelledby": "jobs-title" } }, el("h3", { attrs: { id: "jobs-title" }, text: t("jobs") }), el("p", { className: "hint", text: t("jobsHint") }), jobsBody),
    ),
  );
  const page = ctx.root.querySelector<HTMLElement>(".models-page")!;

  const [listed, jobs] = await Promise.allSettled([
    api<Prelabeler[]>("GET", `/api/projects/${project.id}/prelabelers/`),
    api<PrelabelJob[]>("GET", `/api/projects/${project.id}/prelabel-jobs/`),
  ]);
  if (listed.status === "fulfilled") {
    prelabelers = listed.value ?? [];
    drawList();
  } else replaceChildren(listBody, el("p", { className: "notice error", attrs: { role: "alert" }, text: t("loadFailed", { reason: (listed.reason as Error).message }) }));
  if (jobs.status === "fulfilled") {
    if (!jobs.value?.length) replaceChildren(jobsBody, el("p", { className: "empty", text: t("noJobs") }));
    for (const job of jobs.value ?? []) showJob(job, false);
  } else replaceChildren(jobsBody, el("p", { className: "notice error", attrs: { role: "alert" }, text: t("loadFailed", { reason: (jobs.reason as Error).message }) }));
  page.dataset.state = "ready";

  return () => {
    left = true;
    for (const timer of timers) window.clearTimeout(timer);
    timers.clear();
  };
}

function versionOf(prelabeler: Prelabeler): HTMLElement {
  if (prelabeler.model_version) return el("code", { text: prelabeler.model_version });
  // Only a learning backend waits for a fit; the others take their version from each run.
  return el("span", { className: "muted", text: prelabeler.learns ? t("noVersion") : "—" });
}

function testAnswer(answer: TestAnswer, data: Record<string, unknown>, facts: ConfigFacts): HTMLElement[] {
  const parts: HTMLElement[] = [];
  const meta = [answer.model_version ? `${t("modelVersion")}: ${answer.model_version}` : "", answer.score === null || answer.score === undefined ? "" : t("testScore", { score: decimals(answer.score) }), answer.uncertainty === null || answer.uncertainty === undefined ? "" : t("testUncertainty", { value: decimals(answer.uncertainty) })].filter(Boolean);
  parts.push(el("p", { className: "test-meta", text: [t("testTask", { id: answer.task }), ...meta].join(" · ") }));
  const shown = Object.entries(data).filter(([, value]) => typeof value === "string").slice(0, 2);
  for (const [name, value] of shown) parts.push(el("blockquote", { className: "task-text", data: { field: name } }, String(value).length > 600 ? `${String(value).slice(0, 600)}…` : String(value)));
  if (answer.dropped) parts.push(el("p", { className: "notice warn", text: t("testDropped", { reason: answer.dropped }) }));
  else if (!answer.result?.length) parts.push(el("p", { className: "hint", text: t("testNothing") }));
  else parts.push(el("ul", { className: "regions" }, ...answer.result.map((region) => describeRegion(region, data, facts))));
  return parts;
}
