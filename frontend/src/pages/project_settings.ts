// A project's Settings tab (managers and above): title, description, instructions in Markdown with a
// sanitised preview, overlap, sampling order, skip and empty-answer rules, the label config (checked
// by the server), review, gold and comment settings (issue 9), all saved by one PATCH of the fields that changed; and deleting the project after
// its title is typed. A field the server refuses gets the server's message next to it.

import "./project_settings.css";
import { api, ApiError } from "../api";
import { el, replaceChildren } from "../dom";
import { catalogue, formatNumber } from "../locale";
import { renderMarkdown } from "../markdown";
import type { ProjectDetail } from "../types";
import { confirmAction } from "./confirm";
import type { ProjectContext } from "./project";

const t = catalogue(
  {
    heading: "Settings",
    general: "General",
    title: "Title",
    description: "Description",
    instructions: "Instructions",
    instructionsHint: "Markdown: headings, lists, emphasis, links and tables. HTML is shown as text, not run.",
    preview: "Preview",
    previewEmpty: "Nothing to preview yet.",
    showInstruction: "Show the instructions when an annotator starts labeling",
    labeling: "Labeling",
    overlap: "Overlap",
    overlapHint: "How many annotators answer each task (1 to 100).",
    sampling: "Order of tasks",
    sequential: "In order (as imported)",
    uniform: "Random",
    uncertainty: "Uncertain first (active learning: the tasks the latest model is least sure of)",
    refitEvery: "Refit learning pre-labelers every",
    refitEveryHint: "New labels between automatic refits of a learning pre-labeler (0: only when you run one with “Refit”).",
    refitRange: "Enter a whole number from 0 to 1000000.",
    skip: "Annotators may skip tasks",
    empty: "An empty annotation may be submitted",
    config: "Label config",
    configHint: "Label Studio's XML. A change that would drop a label or control that existing annotations use is refused.",
    check: "Check the config",
    checking: "Checking…",
    configValid: "The config is valid. It reads these data fields: {variables}.",
    configValidNone: "The config is valid.",
    configInUse: "This change is refused: existing results still use what it removes.",
    save: "Save changes",
    saving: "Saving…",
    saved: "Saved.",
    nothingChanged: "Nothing has changed.",
    fixErrors: "Not saved: fix the field marked below.",
    fieldError: "{field}: {reason}",
    titleRequired: "The title must have 1 to 250 characters.",
    overlapRange: "The overlap must be a whole number from 1 to 100.",
    danger: "Danger zone",
    deleteHint: "Deleting the project removes its tasks, annotations, predictions and import history. It cannot be undone.",
    deleteProject: "Delete this project",
    deleteTitle: "Delete “{title}”?",
    deleteMessage: "This removes {tasks} tasks and every annotation of them. Type the project's title to confirm.",
    deleteTyped: "Project title",
    quality: "Review, gold tasks and comments",
    qualityUnavailable: "This server does not offer review and gold settings yet.",
    reviewPolicy: "Which labeled tasks go to review",
    policyAll: "All of them",
    policySample: "A sampled percentage",
    policyLowAgreement: "Those whose agreement is under a threshold",
    samplePercent: "Percentage reviewed",
    samplePercentHint: "0 to 100: the same tasks are picked each time (by task id).",
    agreementThreshold: "Agreement threshold",
    agreementThresholdHint: "0 to 1: tasks whose annotators agree less than this go to review.",
    showAfterSubmit: "Annotators see the other annotations on a task after submitting theirs (off keeps labeling blind)",
    goldRatio: "Share of gold tasks in each queue",
    goldRatioHint: "0 to 1 (0.05 mixes one gold task into every twenty). Gold tasks look like any other task to annotators.",
    goldFloor: "Gold score floor",
    goldFloorHint: "0 to 1: an annotator scoring under this on gold tasks is flagged. Leave empty for none.",
    goldPauses: "Pause a flagged annotator's queue until a manager resumes it",
    commentsBlock: "An open comment thread blocks accepting the task in review",
    percentRange: "The percentage must be a whole number from 0 to 100.",
    fractionRange: "Enter a number from 0 to 1.",
    deleteConfirm: "Delete the project",
    cancel: "Cancel",
  },
  {
    heading: "設定",
    general: "基本情報",
    title: "タイトル",
    description: "説明",
    instructions: "作業手順",
    instructionsHint: "Markdown で書けます（見出し、リスト、強調、リンク、表）。HTML は実行されず、文字として表示されます。",
    preview: "プレビュー",
    previewEmpty: "まだプレビューする内容がありません。",
    showInstruction: "ラベル付けを始めるときに作業手順を表示する",
    labeling: "ラベル付け",
    overlap: "重複数",
    overlapHint: "各タスクに回答するアノテーターの人数（1〜100）。",
    sampling: "タスクの順序",
    sequential: "順番どおり（インポート順）",
    uniform: "ランダム",
    uncertainty: "不確かなものから（能動学習: 最新のモデルが最も迷っているタスクを先に）",
    refitEvery: "学習する事前ラベラーの再学習間隔",
    refitEveryHint: "学習する事前ラベラーを自動で再学習するまでの新しいラベルの数（0 なら「再学習」を指定して実行したときだけ）。",
    refitRange: "0〜1000000の整数で入力してください。",
    skip: "アノテーターがタスクをスキップできる",
    empty: "空のアノテーションを提出できる",
    config: "ラベル設定",
    configHint: "Label Studio の XML です。既存のアノテーションが使っているラベルやコントロールを削除する変更は拒否されます。",
    check: "設定を検証",
    checking: "検証中…",
    configValid: "設定は有効です。次のデータ項目を読み込みます: {variables}。",
    configValidNone: "設定は有効です。",
    configInUse: "この変更は拒否されました。削除しようとしている項目を既存の結果がまだ使っています。",
    save: "変更を保存",
    saving: "保存中…",
    saved: "保存しました。",
    nothingChanged: "変更はありません。",
    fixErrors: "保存されていません。下の印の付いた項目を直してください。",
    fieldError: "{field}: {reason}",
    titleRequired: "タイトルは1〜250文字で入力してください。",
    overlapRange: "重複数は1〜100の整数で入力してください。",
    danger: "危険な操作",
    deleteHint: "プロジェクトを削除すると、タスク、アノテーション、予測、インポート履歴も削除されます。元に戻せません。",
    deleteProject: "このプロジェクトを削除",
    deleteTitle: "「{title}」を削除しますか?",
    deleteMessage: "{tasks} 件のタスクとそのすべてのアノテーションが削除されます。確認のため、プロジェクトのタイトルを入力してください。",
    deleteTyped: "プロジェクトのタイトル",
    quality: "レビュー・ゴールドタスク・コメント",
    qualityUnavailable: "このサーバーにはまだレビューとゴールドの設定がありません。",
    reviewPolicy: "レビューに回すラベル済みタスク",
    policyAll: "すべて",
    policySample: "一定の割合を抽出",
    policyLowAgreement: "一致度がしきい値を下回るもの",
    samplePercent: "レビューする割合（%）",
    samplePercentHint: "0〜100。毎回同じタスクが選ばれます（タスク ID による）。",
    agreementThreshold: "一致度のしきい値",
    agreementThresholdHint: "0〜1。アノテーター間の一致度がこれを下回るタスクをレビューに回します。",
    showAfterSubmit: "アノテーターが自分の回答を提出した後、同じタスクのほかのアノテーションを見られる（オフでブラインドのまま）",
    goldRatio: "各キューに混ぜるゴールドタスクの割合",
    goldRatioHint: "0〜1（0.05 なら20件に1件）。アノテーターにはほかのタスクと区別がつきません。",
    goldFloor: "ゴールドスコアの下限",
    goldFloorHint: "0〜1。ゴールドタスクのスコアがこれを下回るアノテーターに印を付けます。空欄なら下限なし。",
    goldPauses: "印の付いたアノテーターのキューを、マネージャーが再開するまで止める",
    commentsBlock: "未解決のコメントがあるタスクはレビューで承認できない",
    percentRange: "割合は0〜100の整数で入力してください。",
    fractionRange: "0〜1の数値を入力してください。",
    deleteConfirm: "プロジェクトを削除",
    cancel: "キャンセル",
  },
);

type FieldName =
  | "title"
  | "description"
  | "expert_instruction"
  | "show_instruction"
  | "maximum_annotations"
  | "sampling"
  | "show_skip_button"
  | "enable_empty_annotation"
  | "label_config"
  | "review_policy"
  | "review_sample_percent"
  | "review_agreement_threshold"
  | "show_annotations_after_submit"
  | "gold_ratio"
  | "gold_score_floor"
  | "gold_floor_pauses_queue"
  | "comments_block_acceptance"
  | "prelabel_refit_every";

const FIELD_LABEL: Record<FieldName, Parameters<typeof t>[0]> = {
  title: "title",
  description: "description",
  expert_instruction: "instructions",
  show_instruction: "showInstruction",
  maximum_annotations: "overlap",
  sampling: "sampling",
  show_skip_button: "skip",
  enable_empty_annotation: "empty",
  label_config: "config",
  review_policy: "reviewPolicy",
  review_sample_percent: "samplePercent",
  review_agreement_threshold: "agreementThreshold",
  show_annotations_after_submit: "showAfterSubmit",
  gold_ratio: "goldRatio",
  gold_score_floor: "goldFloor",
  gold_floor_pauses_queue: "goldPauses",
  comments_block_acceptance: "commentsBlock",
  prelabel_refit_every: "refitEvery",
};

const POLICIES: [value: string, label: Parameters<typeof t>[0]][] = [
  ["all", "policyAll"],
  ["sample", "policySample"],
  ["low_agreement", "policyLowAgreement"],
];

type Value = string | number | boolean | null;

const SAMPLING: [value: string, label: Parameters<typeof t>[0]][] = [
  ["Sequential sampling", "sequential"],
  ["Uniform sampling", "uniform"],
  ["Uncertainty sampling", "uncertainty"],
];

interface Control {
  input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;
  error: HTMLElement;
  read(): Value;
}

export default async function settingsTab(ctx: ProjectContext): Promise<() => void> {
  let project = ctx.project;
  const controls = new Map<FieldName, Control>();

  const errorSlot = (name: FieldName): HTMLElement =>
    el("p", { className: "field-error", attrs: { id: `error-${name}`, "aria-live": "polite" } });

  const textField = (name: FieldName, options: { multiline?: boolean; rows?: number; hint?: string; mono?: boolean } = {}): HTMLElement => {
    const id = `field-${name}`;
    const value = String(project[name] ?? "");
    const input = options.multiline
      ? el("textarea", { className: options.mono ? "code" : "", attrs: { id, name, rows: String(options.rows ?? 4), spellcheck: options.mono ? "false" : "true" } })
      : el("input", { attrs: { id, name, type: "text", maxlength: "250", autocomplete: "off" } });
    input.value = value;
    const error = errorSlot(name);
    controls.set(name, { input, error, read: () => input.value });
    return el(
      "div",
      { className: "field", data: { field: name } },
      el("label", { attrs: { for: id }, text: t(FIELD_LABEL[name]) }),
      options.hint ? el("p", { className: "hint", attrs: { id: `hint-${name}` }, text: options.hint }) : null,
      input,
      error,
    );
  };

  const checkField = (name: FieldName): HTMLElement => {
    const id = `field-${name}`;
    const input = el("input", { attrs: { id, name, type: "checkbox" } });
    input.checked = Boolean(project[name]);
    const error = errorSlot(name);
    controls.set(name, { input, error, read: () => input.checked });
    return el("div", { className: "field check", data: { field: name } }, el("label", { attrs: { for: id } }, input, " ", t(FIELD_LABEL[name])), error);
  };

  const overlapField = (): HTMLElement => {
    const id = "field-maximum_annotations";
    const input = el("input", { attrs: { id, name: "maximum_annotations", type: "number", min: "1", max: "100", step: "1", inputmode: "numeric" } });
    input.value = String(project.maximum_annotations);
    const error = errorSlot("maximum_annotations");
    controls.set("maximum_annotations", { input, error, read: () => (input.value.trim() === "" ? Number.NaN : Number(input.value)) });
    return el(
      "div",
      { className: "field narrow", data: { field: "maximum_annotations" } },
      el("label", { attrs: { for: id }, text: t("overlap") }),
      el("p", { className: "hint", text: t("overlapHint") }),
      input,
      error,
    );
  };

  const samplingField = (): HTMLElement => {
    const id = "field-sampling";
    const select = el("select", { attrs: { id, name: "sampling" } });
    for (const [value, label] of SAMPLING) select.append(el("option", { attrs: { value }, text: t(label) }));
    // A value this page does not know (set through the API) stays selectable, so saving keeps it.
    if (!SAMPLING.some(([value]) => value === project.sampling)) select.append(el("option", { attrs: { value: project.sampling }, text: project.sampling }));
    select.value = project.sampling;
    const error = errorSlot("sampling");
    controls.set("sampling", { input: select, error, read: () => select.value });
    return el("div", { className: "field narrow", data: { field: "sampling" } }, el("label", { attrs: { for: id }, text: t("sampling") }), select, error);
  };

  // A number field; `optional` reads an empty box as null (no value), else as NaN (refused locally).
  const numberField = (name: FieldName, options: { min: string; max: string; step: string; hint: string; optional?: boolean }): HTMLElement => {
    const id = `field-${name}`;
    const input = el("input", { attrs: { id, name, type: "number", min: options.min, max: options.max, step: options.step, inputmode: "decimal", "aria-describedby": `hint-${name}` } });
    const current = project[name];
    input.value = current === null || current === undefined ? "" : String(current);
    const error = errorSlot(name);
    controls.set(name, { input, error, read: () => (input.value.trim() === "" ? (options.optional ? null : Number.NaN) : Number(input.value)) });
    return el(
      "div",
      { className: "field narrow", data: { field: name } },
      el("label", { attrs: { for: id }, text: t(FIELD_LABEL[name]) }),
      el("p", { className: "hint", attrs: { id: `hint-${name}` }, text: options.hint }),
      input,
      error,
    );
  };

  // Review, gold and comment settings (issue 9); shown when the server's project has them.
  const qualityCard = (): HTMLElement => {
    if (!("review_policy" in project)) return el("section", { className: "card" }, el("h2", { text: t("quality") }), el("p", { className: "hint", text: t("qualityUnavailable") }));
    const id = "field-review_policy";
    const select = el("select", { attrs: { id, name: "review_policy" } });
    for (const [value, label] of POLICIES) select.append(el("option", { attrs: { value }, text: t(label) }));
    select.value = String(project.review_policy ?? "all");
    controls.set("review_policy", { input: select, error: errorSlot("review_policy"), read: () => select.value });
    const policy = el(
      "div",
      { className: "field narrow", data: { field: "review_policy" } },
      el("label", { attrs: { for: id }, text: t("reviewPolicy") }),
      select,
      controls.get("review_policy")!.error,
    );
    const sample = numberField("review_sample_percent", { min: "0", max: "100", step: "1", hint: t("samplePercentHint") });
    const threshold = numberField("review_agreement_threshold", { min: "0", max: "1", step: "0.01", hint: t("agreementThresholdHint") });
    // Only the setting the chosen policy reads is shown; the other keeps its value.
    const showPolicyFields = () => {
      sample.hidden = select.value !== "sample";
      threshold.hidden = select.value !== "low_agreement";
    };
    select.addEventListener("change", showPolicyFields);
    showPolicyFields();
    return el(
      "section",
      { className: "card", data: { section: "quality" } },
      el("h2", { text: t("quality") }),
      el("div", { className: "row" }, policy, sample, threshold),
      checkField("show_annotations_after_submit"),
      el(
        "div",
        { className: "row" },
        numberField("gold_ratio", { min: "0", max: "1", step: "0.01", hint: t("goldRatioHint") }),
        numberField("gold_score_floor", { min: "0", max: "1", step: "0.01", hint: t("goldFloorHint"), optional: true }),
      ),
      checkField("gold_floor_pauses_queue"),
      checkField("comments_block_acceptance"),
    );
  };

  // Instructions with a live preview, rendered by the same sanitising Markdown renderer as the labeling page.
  const instructions = textField("expert_instruction", { multiline: true, rows: 10, hint: t("instructionsHint") });
  const preview = el("div", { className: "markdown-preview", attrs: { "aria-live": "off", "data-preview": "instructions" } });
  const drawPreview = (): void => {
    const source = (controls.get("expert_instruction")!.input as HTMLTextAreaElement).value;
    if (!source.trim()) replaceChildren(preview, el("p", { className: "hint", text: t("previewEmpty") }));
    else replaceChildren(preview, ...renderMarkdown(source));
  };
  let previewTimer = 0;
  controls.get("expert_instruction")!.input.addEventListener("input", () => {
    window.clearTimeout(previewTimer);
    previewTimer = window.setTimeout(drawPreview, 150);
  });
  drawPreview();

  // The label config, with a check against the server's parser.
  const configField = textField("label_config", { multiline: true, rows: 14, hint: t("configHint"), mono: true });
  const configStatus = el("p", { className: "config-status", attrs: { "aria-live": "polite" } });
  const checkButton = el("button", { attrs: { type: "button" }, text: t("check") });
  checkButton.addEventListener("click", async () => {
    const control = controls.get("label_config")!;
    clearError("label_config");
    configStatus.textContent = t("checking");
    checkButton.disabled = true;
    try {
      const answer = await api<{ data_variables: string[] }>("POST", `/api/projects/${project.id}/validate/`, { label_config: control.input.value });
      configStatus.textContent = answer.data_variables.length ? t("configValid", { variables: answer.data_variables.map((name) => `$${name}`).join(", ") }) : t("configValidNone");
      configStatus.dataset.state = "valid";
    } catch (error) {
      configStatus.textContent = "";
      delete configStatus.dataset.state;
      showError("label_config", error as Error);
    } finally {
      checkButton.disabled = false;
    }
  });
  configField.querySelector(".field-error")!.before(el("div", { className: "actions" }, checkButton), configStatus);

  const status = el("p", { className: "notice", attrs: { role: "status", "aria-live": "polite" } });
  const saveButton = el("button", { className: "primary", attrs: { type: "submit" }, text: t("save") });

  const form = el(
    "form",
    { className: "settings-form", attrs: { novalidate: "" } },
    el(
      "section",
      { className: "card" },
      el("h2", { text: t("general") }),
      textField("title"),
      textField("description", { multiline: true, rows: 3 }),
      el("div", { className: "instructions-editor" }, instructions, el("div", { className: "field" }, el("span", { className: "label", text: t("preview") }), preview)),
      checkField("show_instruction"),
    ),
    el(
      "section",
      { className: "card" },
      el("h2", { text: t("labeling") }),
      el("div", { className: "row" }, overlapField(), samplingField()),
      "prelabel_refit_every" in project ? numberField("prelabel_refit_every", { min: "0", max: "1000000", step: "1", hint: t("refitEveryHint") }) : null,
      checkField("show_skip_button"),
      checkField("enable_empty_annotation"),
    ),
    qualityCard(),
    el("section", { className: "card" }, el("h2", { text: t("config") }), configField),
    el("div", { className: "actions save-bar" }, saveButton, status),
  );

  function clearError(name: FieldName): void {
    const control = controls.get(name)!;
    control.error.textContent = "";
    control.input.removeAttribute("aria-invalid");
    control.input.removeAttribute("aria-describedby");
  }

  function markError(name: FieldName, ...lines: string[]): void {
    const control = controls.get(name)!;
    replaceChildren(control.error, ...lines.flatMap((line, index) => (index ? [el("br"), line] : [line])));
    control.input.setAttribute("aria-invalid", "true");
    control.input.setAttribute("aria-describedby", control.error.id);
  }

  function showError(name: FieldName, error: Error): void {
    if (error instanceof ApiError && error.code === "in_use") {
      // The server's sentence names the labels or control concerned; ours says what happened.
      markError(name, t("configInUse"), error.message);
      controls.get(name)!.error.dataset.code = "in_use";
    } else {
      markError(name, t("fieldError", { field: t(FIELD_LABEL[name]), reason: error.message }));
      delete controls.get(name)!.error.dataset.code;
    }
  }

  const changes = (): Partial<Record<FieldName, Value>> => {
    const changed: Partial<Record<FieldName, Value>> = {};
    for (const [name, control] of controls) {
      const value = control.read();
      if (value !== project[name]) changed[name] = value;
    }
    return changed;
  };

  const checkLocally = (changed: Partial<Record<FieldName, Value>>): boolean => {
    let ok = true;
    if ("title" in changed) {
      const title = String(changed.title).trim();
      if (!title || title.length > 250) {
        markError("title", t("titleRequired"));
        ok = false;
      }
    }
    if ("maximum_annotations" in changed) {
      const overlap = changed.maximum_annotations as number;
      if (!Number.isInteger(overlap) || overlap < 1 || overlap > 100) {
        markError("maximum_annotations", t("overlapRange"));
        ok = false;
      }
    }
    if ("prelabel_refit_every" in changed) {
      const value = changed.prelabel_refit_every as number;
      if (!Number.isInteger(value) || value < 0 || value > 1_000_000) {
        markError("prelabel_refit_every", t("refitRange"));
        ok = false;
      }
    }
    if ("review_sample_percent" in changed) {
      const value = changed.review_sample_percent as number;
      if (!Number.isInteger(value) || value < 0 || value > 100) {
        markError("review_sample_percent", t("percentRange"));
        ok = false;
      }
    }
    for (const name of ["review_agreement_threshold", "gold_ratio", "gold_score_floor"] as const) {
      if (!(name in changed) || changed[name] === null) continue;
      const value = changed[name] as number;
      if (!Number.isFinite(value) || value < 0 || value > 1) {
        markError(name, t("fractionRange"));
        ok = false;
      }
    }
    return ok;
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const name of controls.keys()) clearError(name);
    status.className = "notice";
    const changed = changes();
    if (!Object.keys(changed).length) {
      status.textContent = t("nothingChanged");
      return;
    }
    if (!checkLocally(changed)) {
      status.className = "notice error";
      status.textContent = t("fixErrors");
      focusFirstError();
      return;
    }
    saveButton.disabled = true;
    status.textContent = t("saving");
    try {
      // The answer is the saved project: the next save compares with it.
      project = await api<ProjectDetail>("PATCH", `/api/projects/${project.id}/`, changed);
    } catch (error) {
      const field = error instanceof ApiError ? (error.field as FieldName | null) : null;
      status.className = "notice error";
      if (field && controls.has(field)) {
        showError(field, error as Error);
        status.textContent = t("fixErrors");
        focusFirstError();
      } else {
        status.textContent = (error as Error).message;
      }
      return;
    } finally {
      saveButton.disabled = false;
    }
    try {
      await ctx.refreshProject(); // the header shows the new title
    } catch {
      // Saved all the same: the header catches up on the next load.
    }
    configStatus.textContent = "";
    status.textContent = t("saved");
    status.dataset.saved = String(Date.now());
  });

  function focusFirstError(): void {
    for (const control of controls.values()) {
      if (control.input.getAttribute("aria-invalid") === "true") {
        control.input.focus();
        return;
      }
    }
  }

  const deleteButton = el("button", { className: "danger", attrs: { type: "button" }, text: t("deleteProject") });
  deleteButton.addEventListener("click", async () => {
    const deleted = await confirmAction({
      title: t("deleteTitle", { title: project.title }),
      message: t("deleteMessage", { tasks: formatNumber(project.task_number) }),
      confirmLabel: t("deleteConfirm"),
      cancelLabel: t("cancel"),
      typed: { expected: project.title, label: t("deleteTyped") },
      action: async () => void (await api<null>("DELETE", `/api/projects/${project.id}/`)),
    });
    if (deleted) ctx.navigate("/projects/");
  });
  const danger = el(
    "section",
    { className: "card danger-zone" },
    el("h2", { text: t("danger") }),
    el("p", { text: t("deleteHint") }),
    el("div", { className: "actions" }, deleteButton),
  );

  document.title = `${t("heading")} · ${project.title} · Tessera`;
  replaceChildren(ctx.root, el("h2", { className: "visually-hidden", text: t("heading") }), form, danger);
  return () => window.clearTimeout(previewTimer);
}
