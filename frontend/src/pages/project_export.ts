// A project's Export tab (reviewers and above): a format, which tasks (all, labeled only, or the
// selection the data table sent here as ?ids=1,2,3), and a streamed download. The file is read with a
// ReadableStream reader so the page can count bytes and rows as they arrive (the total is estimated
// from the project's counts), then saved through a Blob URL under the server's file name; Cancel aborts
// the request, which stops the server's stream too.

import "./project_export.css";
import { ApiError } from "../api";
import { el, replaceChildren } from "../dom";
import { catalogue, formatBytes, formatNumber } from "../locale";
import { saveBlob } from "../download";
import type { ProjectContext } from "./project";

const t = catalogue(
  {
    heading: "Export",
    format: "Format",
    json: "JSON: tasks with their annotations and predictions (Label Studio's full export)",
    jsonMin: "JSON_MIN: one flat record per annotation, data fields beside the labels",
    csv: "CSV: the flat records as a table",
    tsv: "TSV: the same table, separated by tabs",
    scope: "Tasks",
    all: "All tasks ({count})",
    labeled: "Labeled tasks only ({count})",
    selection: "The tasks selected in the data table ({count})",
    download: "Download",
    cancel: "Cancel",
    starting: "Preparing the export…",
    progress: "{bytes} received, {rows} rows of about {expected}",
    progressUnknown: "{bytes} received, {rows} rows",
    done: "Saved {file}: {bytes}, {rows} rows.",
    cancelled: "The export was cancelled.",
    failed: "The export failed: {reason}",
    network: "The connection was lost during the export. Try again.",
    nothingToExport: "There are no tasks to export with these choices.",
  },
  {
    heading: "エクスポート",
    format: "形式",
    json: "JSON: タスクとそのアノテーション・予測（Label Studio の完全なエクスポート）",
    jsonMin: "JSON_MIN: アノテーションごとに1件のフラットなレコード（データ項目とラベルを並べて）",
    csv: "CSV: フラットなレコードを表形式で",
    tsv: "TSV: 同じ表をタブ区切りで",
    scope: "対象タスク",
    all: "すべてのタスク（{count} 件）",
    labeled: "ラベル付け済みのタスクのみ（{count} 件）",
    selection: "データ表で選択したタスク（{count} 件）",
    download: "ダウンロード",
    cancel: "キャンセル",
    starting: "エクスポートを準備しています…",
    progress: "{bytes} 受信、{rows} 行 / 約 {expected} 行",
    progressUnknown: "{bytes} 受信、{rows} 行",
    done: "{file} を保存しました: {bytes}、{rows} 行。",
    cancelled: "エクスポートをキャンセルしました。",
    failed: "エクスポートに失敗しました: {reason}",
    network: "エクスポート中に接続が切れました。もう一度お試しください。",
    nothingToExport: "この条件でエクスポートするタスクはありません。",
  },
);

type Format = "JSON" | "JSON_MIN" | "CSV" | "TSV";
type Scope = "all" | "labeled" | "selection";

const FORMATS: [Format, Parameters<typeof t>[0]][] = [
  ["JSON", "json"],
  ["JSON_MIN", "jsonMin"],
  ["CSV", "csv"],
  ["TSV", "tsv"],
];

/** The task ids the data table handed over (?ids=1,2,3 or ids=1&ids=2), if any. */
export function selectedIds(search: string): number[] {
  const params = new URLSearchParams(search);
  const ids = params
    .getAll("ids")
    .flatMap((value) => value.split(","))
    .map((part) => Number(part.trim()))
    .filter((id) => Number.isSafeInteger(id) && id > 0);
  return [...new Set(ids)];
}


/**
 * Counts the rows of an export as its text arrives in pieces: the elements of the top-level JSON
 * array, or the records of a CSV/TSV table (line ends outside quotes, less the header).
 */
export class RowCounter {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private lines = 0;
  private endsWithNewline = true;
  private count = 0;

  constructor(private readonly table: boolean) {}

  feed(text: string): void {
    if (this.table) this.feedTable(text);
    else this.feedJson(text);
  }

  /** Rows so far; a table's header line is not a row. */
  rows(): number {
    return this.table ? Math.max(0, this.lines - 1) : this.count;
  }

  /** Rows once the whole file has arrived (a last line without its line end counts too). */
  finish(): number {
    if (this.table && !this.endsWithNewline) {
      this.lines++;
      this.endsWithNewline = true;
    }
    return this.rows();
  }

  private feedTable(text: string): void {
    for (let index = 0; index < text.length; index++) {
      const char = text.charCodeAt(index);
      if (char === 34) this.inString = !this.inString; // a doubled "" toggles twice: no change
      else if (char === 10 && !this.inString) this.lines++;
    }
    if (text.length) this.endsWithNewline = text.charCodeAt(text.length - 1) === 10 && !this.inString;
  }

  private feedJson(text: string): void {
    for (let index = 0; index < text.length; index++) {
      const char = text.charCodeAt(index);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (char === 92) this.escaped = true;
        else if (char === 34) this.inString = false;
      } else if (char === 34) {
        this.inString = true;
      } else if (char === 123 || char === 91) {
        if (this.depth === 1) this.count++;
        this.depth++;
      } else if (char === 125 || char === 93) {
        this.depth--;
      }
    }
  }
}

/** The file name of a Content-Disposition header (filename*= of RFC 5987 first), or null. */
export function dispositionName(header: string | null): string | null {
  if (!header) return null;
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (extended) {
    try {
      return decodeURIComponent(extended[1].trim());
    } catch {
      // fall through to the plain name
    }
  }
  const plain = /filename\s*=\s*(?:"([^"]*)"|([^;\s]+))/.exec(header);
  const name = plain ? (plain[1] ?? plain[2]) : null;
  // A name only, never a path.
  return name ? name.split(/[\\/]/).pop() || null : null;
}

export default async function exportTab(ctx: ProjectContext): Promise<() => void> {
  const project = ctx.project;
  const ids = selectedIds(location.search);
  let controller: AbortController | null = null;

  const radio = (group: string, value: string, label: string, checked: boolean): HTMLElement => {
    const id = `${group}-${value}`;
    const input = el("input", { attrs: { type: "radio", name: group, value, id } });
    input.checked = checked;
    return el("div", { className: "choice" }, input, el("label", { attrs: { for: id }, text: label }));
  };

  const formats = el(
    "fieldset",
    { className: "card" },
    el("legend", { text: t("format") }),
    ...FORMATS.map(([value, label], index) => radio("format", value, t(label), index === 0)),
  );
  const scopes = el(
    "fieldset",
    { className: "card" },
    el("legend", { text: t("scope") }),
    ids.length ? radio("scope", "selection", t("selection", { count: formatNumber(ids.length) }), true) : null,
    radio("scope", "labeled", t("labeled", { count: formatNumber(project.num_tasks_with_annotations) }), !ids.length),
    radio("scope", "all", t("all", { count: formatNumber(project.task_number) }), false),
  );

  const bar = el("progress", { attrs: { max: "1", "aria-label": t("heading") } });
  bar.hidden = true;
  const status = el("p", { className: "notice", attrs: { role: "status", "aria-live": "polite" } });
  const download = el("button", { className: "primary", attrs: { type: "submit" }, text: t("download") });
  const cancel = el("button", { attrs: { type: "button" }, text: t("cancel") });
  cancel.hidden = true;
  cancel.addEventListener("click", () => controller?.abort());

  const form = el("form", { className: "export-form" }, formats, scopes, el("div", { className: "actions" }, download, cancel), bar, status);

  const chosen = (name: string): string => form.querySelector<HTMLInputElement>(`input[name="${name}"]:checked`)?.value ?? "";

  /** Rows the file will have, roughly: the row formats write one row per annotation. */
  const expectedRows = (format: Format, scope: Scope): number => {
    const perTask = format === "JSON" ? 1 : Math.max(1, project.maximum_annotations);
    if (scope === "selection") return ids.length * perTask;
    const labeled = project.num_tasks_with_annotations * perTask;
    return scope === "labeled" ? labeled : labeled + Math.max(0, project.task_number - project.num_tasks_with_annotations);
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (controller) return;
    const format = chosen("format") as Format;
    const scope = chosen("scope") as Scope;
    const query = new URLSearchParams({ exportType: format, download_all_tasks: scope === "all" ? "true" : "false" });
    // A selection is exported whatever its tasks' state, as the data table showed them.
    if (scope === "selection") {
      query.set("download_all_tasks", "true");
      query.set("ids", ids.join(","));
    }
    const expected = expectedRows(format, scope);
    controller = new AbortController();
    download.disabled = true;
    cancel.hidden = false;
    bar.hidden = false;
    bar.removeAttribute("value");
    status.className = "notice";
    status.textContent = t("starting");
    delete form.dataset.state;
    try {
      const saved = await fetchExport(`/api/projects/${project.id}/export?${query}`, format, controller.signal, (bytes, rows) => {
        if (expected > 0) bar.value = Math.min(rows / expected, 0.99);
        status.textContent = expected > 0
          ? t("progress", { bytes: formatBytes(bytes), rows: formatNumber(rows), expected: formatNumber(expected) })
          : t("progressUnknown", { bytes: formatBytes(bytes), rows: formatNumber(rows) });
      });
      bar.value = 1;
      status.textContent = saved.rows === 0 && scope !== "selection"
        ? `${t("done", { file: saved.name, bytes: formatBytes(saved.bytes), rows: formatNumber(saved.rows) })} ${t("nothingToExport")}`
        : t("done", { file: saved.name, bytes: formatBytes(saved.bytes), rows: formatNumber(saved.rows) });
      form.dataset.state = "done";
    } catch (error) {
      bar.hidden = true;
      status.className = "notice error";
      if ((error as Error).name === "AbortError") {
        status.className = "notice";
        status.textContent = t("cancelled");
        form.dataset.state = "cancelled";
      } else {
        status.textContent = error instanceof ApiError && error.status === 0 ? t("network") : t("failed", { reason: (error as Error).message });
        form.dataset.state = "failed";
      }
    } finally {
      controller = null;
      download.disabled = false;
      cancel.hidden = true;
    }
  });

  document.title = `${t("heading")} · ${project.title} · Tessera`;
  replaceChildren(ctx.root, el("h2", { className: "tab-heading", text: t("heading") }), form);
  return () => controller?.abort();
}

interface Saved {
  name: string;
  bytes: number;
  rows: number;
}

async function fetchExport(url: string, format: Format, signal: AbortSignal, onProgress: (bytes: number, rows: number) => void): Promise<Saved> {
  let response: Response;
  try {
    response = await fetch(url, { credentials: "same-origin", headers: { Accept: "*/*" }, signal });
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    throw new ApiError(0, "network", (error as Error).message);
  }
  if (!response.ok) {
    let message = `${response.status}`;
    try {
      const payload = (await response.json()) as { error?: { message?: string } };
      message = payload.error?.message ?? message;
    } catch {
      // not JSON: the status says enough
    }
    throw new ApiError(response.status, `http_${response.status}`, message);
  }
  const name = dispositionName(response.headers.get("Content-Disposition")) ?? `export.${format === "TSV" ? "tsv" : format === "CSV" ? "csv" : "json"}`;
  const counter = new RowCounter(format === "CSV" || format === "TSV");
  const decoder = new TextDecoder();
  const parts: Uint8Array<ArrayBuffer>[] = [];
  let bytes = 0;
  let lastReport = 0;
  const reader = response.body!.getReader();
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array<ArrayBuffer>>;
      try {
        chunk = await reader.read();
      } catch (error) {
        if ((error as Error).name === "AbortError") throw error;
        throw new ApiError(0, "network", (error as Error).message);
      }
      if (chunk.done) break;
      parts.push(chunk.value);
      bytes += chunk.value.byteLength;
      counter.feed(decoder.decode(chunk.value, { stream: true }));
      // At most a few redraws a second, however small the pieces.
      const now = performance.now();
      if (now - lastReport > 100) {
        lastReport = now;
        onProgress(bytes, counter.rows());
      }
    }
  } finally {
    reader.releaseLock();
  }
  counter.feed(decoder.decode());
  const rows = counter.finish();
  onProgress(bytes, rows);
  saveBlob(new Blob(parts, { type: response.headers.get("Content-Type") ?? "application/octet-stream" }), name);
  return { name, bytes, rows };
}
