// The wizard's import step: paste JSON, JSON Lines, CSV or TSV, or pick files, and send them to
// `POST /api/projects/{id}/import` as files (a pasted text as a file named for its format). A small import answers its counts at once; a large one runs as a
// background job whose row is polled until it finishes. Errors are the server's, which name the row
// and the field; the first imported task is then shown by the labeling page's own editor.

import { api, ApiError, sendForm } from "../api";
import { parseConfig } from "../config";
import { el, replaceChildren } from "../dom";
import { Editor } from "../editor";
import { catalogue, formatNumber } from "../locale";
import { RegionSelection, ResultStore } from "../store";
import type { ProjectDetail, Task } from "../types";

const POLL_MS = 1000;

type Format = "auto" | "json" | "jsonl" | "csv" | "tsv";

const CONTENT_TYPES: Record<Exclude<Format, "auto">, string> = {
  json: "application/json",
  jsonl: "application/x-ndjson",
  csv: "text/csv",
  tsv: "text/tab-separated-values",
};
// The server reads a file's format from its name.
const EXTENSIONS: Record<Exclude<Format, "auto">, string> = { json: "json", jsonl: "jsonl", csv: "csv", tsv: "tsv" };

const t = catalogue(
  {
    heading: "Import tasks",
    intro: "Each task is a JSON object (or a CSV row) with the fields the config reads: {fields}.",
    introNone: "Each task is a JSON object (or a CSV row).",
    example: "Example (JSON Lines)",
    paste: "Paste tasks",
    format: "Format",
    auto: "Recognise it",
    json: "JSON (a list of tasks)",
    jsonl: "JSON Lines (one task a line)",
    csv: "CSV (a header row, then one task a row)",
    tsv: "TSV (tab-separated)",
    files: "Or pick files (.json, .jsonl, .csv, .tsv; several at once)",
    importPasted: "Import pasted tasks",
    importFiles: "Import files",
    nothing: "Paste tasks or pick a file first.",
    sending: "Importing…",
    done: "Imported {tasks} tasks ({annotations} annotations, {predictions} predictions).",
    running: "Background import: {status}, {rows} rows checked, {tasks} tasks written.",
    failed: "The import failed, and nothing of it was saved: {reason}",
    failedField: "The import failed, and nothing of it was saved ({field}): {reason}",
    total: "The project now has {count} tasks.",
    firstTask: "The first task, as annotators will see it",
    previewFailed: "The task could not be shown: {reason}",
  },
  {
    heading: "タスクのインポート",
    intro: "各タスクは、設定が読み取るフィールド（{fields}）を持つ JSON オブジェクト（または CSV の行）です。",
    introNone: "各タスクは JSON オブジェクト（または CSV の行）です。",
    example: "例（JSON Lines）",
    paste: "タスクを貼り付け",
    format: "形式",
    auto: "自動判別",
    json: "JSON（タスクのリスト）",
    jsonl: "JSON Lines（1 行に 1 タスク）",
    csv: "CSV（見出し行の後に 1 行 1 タスク）",
    tsv: "TSV（タブ区切り）",
    files: "またはファイルを選択（.json、.jsonl、.csv、.tsv。複数可）",
    importPasted: "貼り付けたタスクをインポート",
    importFiles: "ファイルをインポート",
    nothing: "先にタスクを貼り付けるか、ファイルを選んでください。",
    sending: "インポートしています…",
    done: "{tasks} 件のタスクをインポートしました（アノテーション {annotations} 件、予測 {predictions} 件）。",
    running: "バックグラウンドのインポート: {status}、確認済み {rows} 行、書き込み済み {tasks} タスク。",
    failed: "インポートに失敗しました。何も保存されていません: {reason}",
    failedField: "インポートに失敗しました。何も保存されていません（{field}）: {reason}",
    total: "このプロジェクトのタスクは {count} 件になりました。",
    firstTask: "最初のタスク（アノテーターに表示される形）",
    previewFailed: "タスクを表示できませんでした: {reason}",
  },
);

interface ImportCounts {
  task_count: number;
  annotation_count: number;
  prediction_count: number;
}

interface ImportJob extends ImportCounts {
  id: number;
  status: string;
  rows_done: number;
  error: string | null;
  error_detail: { message?: string; field?: string | null } | null;
}

/** What a pasted text most likely is: JSON, JSON Lines, TSV or CSV. */
export function guessFormat(text: string): Exclude<Format, "auto"> {
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) return "json";
  if (trimmed.startsWith("{")) {
    const lines = trimmed.split("\n").filter((line) => line.trim());
    if (lines.length > 1 && lines.every((line) => line.trim().startsWith("{"))) return "jsonl";
    return "json";
  }
  const header = trimmed.split("\n", 1)[0] ?? "";
  return header.includes("\t") ? "tsv" : "csv";
}

export class ImportStep {
  readonly element: HTMLElement;
  private readonly text: HTMLTextAreaElement;
  private readonly format: HTMLSelectElement;
  private readonly files: HTMLInputElement;
  private readonly result = el("div", { className: "import-result", attrs: { "aria-live": "polite" } });
  private readonly preview = el("div", { className: "import-preview" });
  private pollTimer = 0;
  private busy = false;

  constructor(
    private readonly project: ProjectDetail,
    private readonly imageOrigins: string[],
    sample: Record<string, unknown>,
  ) {
    this.text = el("textarea", { className: "code", attrs: { id: "import-text", rows: "8", spellcheck: "false" } });
    this.format = el(
      "select",
      { attrs: { id: "import-format" } },
      ...(["auto", "json", "jsonl", "csv", "tsv"] as const).map((value) => el("option", { attrs: { value }, text: t(value) })),
    );
    this.files = el("input", { attrs: { id: "import-files", type: "file", multiple: "", accept: ".json,.jsonl,.ndjson,.csv,.tsv" } });
    const fields = project.data_variables;
    const example = JSON.stringify(Object.fromEntries(fields.map((field) => [field, sample[field] ?? ""])));
    this.element = el(
      "section",
      { className: "card import-step", attrs: { "aria-labelledby": "import-heading" } },
      el("h2", { attrs: { id: "import-heading" }, text: t("heading") }),
      el("p", { text: fields.length ? t("intro", { fields: fields.map((field) => `$${field}`).join(", ") }) : t("introNone") }),
      fields.length ? el("details", {}, el("summary", { text: t("example") }), el("pre", { className: "code example", text: example })) : null,
      el("div", { className: "field" }, el("label", { attrs: { for: "import-text" }, text: t("paste") }), this.text),
      el("div", { className: "field" }, el("label", { attrs: { for: "import-format" }, text: t("format") }), this.format),
      el("div", { className: "actions" }, el("button", { className: "primary", attrs: { type: "button" }, data: { action: "import-text" }, text: t("importPasted"), on: { click: () => void this.importText() } })),
      el("div", { className: "field files" }, el("label", { attrs: { for: "import-files" }, text: t("files") }), this.files),
      el("div", { className: "actions" }, el("button", { attrs: { type: "button" }, data: { action: "import-files" }, text: t("importFiles"), on: { click: () => void this.importFiles() } })),
      this.result,
      this.preview,
    );
  }

  destroy(): void {
    window.clearTimeout(this.pollTimer);
  }

  private async importText(): Promise<void> {
    const text = this.text.value;
    if (!text.trim()) {
      this.say(t("nothing"), true);
      return;
    }
    const chosen = this.format.value as Format;
    const format = chosen === "auto" ? guessFormat(text) : chosen;
    const form = new FormData();
    form.append("file", new File([text], `pasted.${EXTENSIONS[format]}`, { type: CONTENT_TYPES[format] }));
    await this.send(form);
  }

  private async importFiles(): Promise<void> {
    const files = Array.from(this.files.files ?? []);
    if (!files.length) {
      this.say(t("nothing"), true);
      return;
    }
    const form = new FormData();
    for (const file of files) form.append("file", file, file.name);
    await this.send(form);
  }

  private async send(form: FormData): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.say(t("sending"), false);
    try {
      const answer = await sendForm<ImportCounts & { import?: number }>("POST", `/api/projects/${this.project.id}/import`, form);
      if (answer.import !== undefined) await this.follow(answer.import);
      else await this.finished(answer);
    } catch (error) {
      this.sayFailure(error);
    } finally {
      this.busy = false;
    }
  }

  /** A background import: read its row until it is done or failed. */
  private follow(jobId: number): Promise<void> {
    return new Promise((resolve) => {
      const poll = async () => {
        let job: ImportJob;
        try {
          job = await api<ImportJob>("GET", `/api/projects/${this.project.id}/imports/${jobId}/`);
        } catch (error) {
          this.sayFailure(error);
          resolve();
          return;
        }
        if (job.status === "completed") {
          await this.finished(job);
          resolve();
        } else if (job.status === "failed") {
          const detail = job.error_detail;
          this.say(detail?.field ? t("failedField", { field: detail.field, reason: detail.message ?? "" }) : t("failed", { reason: job.error ?? "" }), true);
          resolve();
        } else {
          this.say(t("running", { status: job.status, rows: formatNumber(job.rows_done), tasks: formatNumber(job.task_count) }), false);
          this.pollTimer = window.setTimeout(() => void poll(), POLL_MS);
        }
      };
      void poll();
    });
  }

  private async finished(counts: ImportCounts): Promise<void> {
    const lines = [
      t("done", { tasks: formatNumber(counts.task_count), annotations: formatNumber(counts.annotation_count), predictions: formatNumber(counts.prediction_count) }),
    ];
    this.text.value = "";
    this.files.value = "";
    let first: Task | undefined;
    try {
      const page = await api<{ tasks: Task[]; total: number }>("GET", `/api/tasks/?project=${this.project.id}&page_size=1`);
      lines.push(t("total", { count: formatNumber(page.total) }));
      first = page.tasks[0];
    } catch {
      // The counts above are what matters; the preview is a bonus.
    }
    const [summary, ...rest] = lines;
    replaceChildren(this.result, el("p", { className: "notice ok", attrs: { role: "status" }, text: summary }), ...rest.map((line) => el("p", { text: line })));
    if (first) this.showTask(first);
  }

  private showTask(task: Task): void {
    try {
      const editor = new Editor(parseConfig(this.project.label_config), {
        store: new ResultStore(),
        selection: new RegionSelection(),
        data: task.data ?? {},
        imageOrigins: this.imageOrigins,
        notify: () => undefined,
      });
      replaceChildren(this.preview, el("h3", { text: t("firstTask") }), el("div", { className: "canvas preview-canvas", data: { task: task.id } }, editor.element));
    } catch (error) {
      replaceChildren(this.preview, el("p", { className: "notice error", text: t("previewFailed", { reason: (error as Error).message }) }));
    }
  }

  private sayFailure(error: unknown): void {
    const field = error instanceof ApiError ? error.field : null;
    const reason = (error as Error).message;
    this.say(field ? t("failedField", { field, reason }) : t("failed", { reason }), true);
  }

  private say(message: string, isError: boolean): void {
    replaceChildren(this.result, el("p", { className: isError ? "notice error" : "notice", attrs: { role: isError ? "alert" : "status" }, text: message }));
  }
}
