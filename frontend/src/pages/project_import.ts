// A project's Import tab (managers): files dropped or picked (JSON, JSONL, CSV, TSV, several at once) or
// pasted text, checked in the browser (type by name and first bytes, size against the server's limits),
// a preview of the first rows as the config's $variables with a column mapping when the names differ,
// then the upload with its progress. The server applies the mapping (column_map) and is the judge of
// every row: small uploads answer at once; a large one runs as a background job whose progress is polled.
// Nothing is imported unless every row of the upload passes, and the page says so when one does not.

import "./project_import.css";
import { el, replaceChildren } from "../dom";
import { catalogue, formatBytes, formatNumber } from "../locale";
import type { ProjectContext } from "./project";
import { CONTENT_TYPES, detectFormat, FORMATS, formatFromName, parseRows, sniff, type ImportFormat, type ParsedRows, type SniffProblem } from "./import_parse";

const t = catalogue(
  {
    heading: "Import tasks",
    intro: "Add tasks from JSON, JSON Lines, CSV or TSV files. The label config reads {variables}.",
    noVariables: "Add tasks from JSON, JSON Lines, CSV or TSV files.",
    limits: "Up to {max} per file. Uploads over {sync} run in the background; you can follow them here.",
    drop: "Drop files here",
    or: "or",
    choose: "Choose files",
    filesLabel: "Files to import",
    pasteHeading: "Or paste the tasks",
    pasteLabel: "Tasks as text",
    pasteHint: "Paste JSON, JSON Lines, CSV or TSV; the format is detected, or choose it.",
    formatLabel: "Format",
    autoFormat: "Detect ({format})",
    usePaste: "Preview the pasted text",
    clear: "Start again",
    previewHeading: "Preview",
    rows: "{count} rows",
    rowsAtLeast: "first {count} rows read (large file)",
    mappingHeading: "Columns for the label config",
    mappingHint: "Choose the column that holds each value the label config reads. Other columns are kept as task data.",
    chooseColumn: "(no column)",
    unmapped: "No column is chosen for ${variable}: every task would be refused.",
    sameColumn: "The column {column} is chosen for both ${first} and ${second}; choose one column for each.",
    otherColumns: "Also kept: {columns}",
    start: "Import",
    uploading: "Uploading… {percent}%",
    checking: "Uploaded. Checking the rows and writing the tasks…",
    waiting: "Waiting for a worker to start the background import…",
    running: "Importing in the background: checking the rows.",
    rowsChecked: "Rows checked",
    tasksWritten: "Tasks written",
    allAtEnd: "Tasks are written in one step once every row has passed.",
    done: "Imported {tasks} tasks ({annotations} annotations, {predictions} predictions).",
    openData: "See them in the Data tab",
    failedTitle: "The import failed.",
    nothingImported: "Nothing was imported: fix the file and upload it again.",
    nothingFromThis: "Nothing of {name} was imported.",
    rowProblem: "{where}, field “{field}”: {detail}",
    rowProblemNoField: "{where}: {detail}",
    inFile: "{name}, row {row}",
    inFileLine: "{name}, row {row} (line {line})",
    lineProblem: "{name}, line {line}: {detail}",
    mapProblem: "The column mapping was refused: {detail}",
    fileProblem: "{name}: {detail}",
    tooLarge: "{name} is {size}; the limit is {max} per file.",
    tooLargeServer: "The upload is larger than the server accepts ({max}).",
    badType: "{name}: this file type cannot be imported. Use .json, .jsonl, .csv or .tsv.",
    binary: "{name} does not hold text (it looks like a binary file, such as an image or a spreadsheet).",
    notUtf8: "{name} is not UTF-8 text. Save it as UTF-8 and try again.",
    empty: "{name} is empty.",
    notJson: "{name} does not look like JSON: it should start with [ or {.",
    notJsonLines: "{name} does not look like JSON Lines: each line should be one task object { … }.",
    looksJson: "{name} looks like JSON, not {format}. Rename it to .json or .jsonl.",
    badJson: "{name} is not valid JSON.",
    badJsonLine: "{name}, line {line}: this line is not valid JSON.",
    ragged: "{name}, line {line}: the number of cells differs from the header.",
    notObject: "{name}: each task must be a JSON object.",
    header: "{name}: the header row must name every column once.",
    pasteEmpty: "Paste some tasks first.",
    pasted: "Pasted text",
    oneAtATime: "Together these files pass {sync}, so each is imported on its own.",
    network: "The server could not be reached. Nothing was imported; check your connection and try again.",
    forbidden: "Your session has ended or your role may not import. Sign in again.",
    unknownError: "The server answered {status}.",
    removeFile: "Remove {name}",
  },
  {
    heading: "タスクのインポート",
    intro: "JSON、JSON Lines、CSV、TSV ファイルからタスクを追加します。ラベル設定が読む値: {variables}。",
    noVariables: "JSON、JSON Lines、CSV、TSV ファイルからタスクを追加します。",
    limits: "1 ファイルあたり {max} まで。{sync} を超えるアップロードはバックグラウンドで処理され、この画面で進捗を確認できます。",
    drop: "ここにファイルをドロップ",
    or: "または",
    choose: "ファイルを選択",
    filesLabel: "インポートするファイル",
    pasteHeading: "またはタスクを貼り付け",
    pasteLabel: "テキストのタスク",
    pasteHint: "JSON、JSON Lines、CSV、TSV を貼り付けてください。形式は自動で判定されます（選ぶこともできます）。",
    formatLabel: "形式",
    autoFormat: "自動判定（{format}）",
    usePaste: "貼り付けたテキストをプレビュー",
    clear: "やり直す",
    previewHeading: "プレビュー",
    rows: "{count} 行",
    rowsAtLeast: "先頭 {count} 行を読み込みました（大きなファイル）",
    mappingHeading: "ラベル設定に対応する列",
    mappingHint: "ラベル設定が読む値ごとに、その値を持つ列を選んでください。ほかの列はタスクのデータとして残ります。",
    chooseColumn: "（列なし）",
    unmapped: "${variable} に対応する列が選ばれていません。このままではすべてのタスクが拒否されます。",
    sameColumn: "列 {column} が ${first} と ${second} の両方に選ばれています。それぞれ別の列を選んでください。",
    otherColumns: "そのほかに残る列: {columns}",
    start: "インポート",
    uploading: "アップロード中… {percent}%",
    checking: "アップロードしました。行を検査してタスクを書き込んでいます…",
    waiting: "バックグラウンドのインポートを開始するワーカーを待っています…",
    running: "バックグラウンドでインポート中: 行を検査しています。",
    rowsChecked: "検査済みの行",
    tasksWritten: "書き込まれたタスク",
    allAtEnd: "すべての行が検査を通過してから、タスクはまとめて書き込まれます。",
    done: "{tasks} 件のタスクをインポートしました（アノテーション {annotations} 件、予測 {predictions} 件）。",
    openData: "データタブで確認する",
    failedTitle: "インポートに失敗しました。",
    nothingImported: "何もインポートされていません。ファイルを修正して、もう一度アップロードしてください。",
    nothingFromThis: "{name} からは何もインポートされていません。",
    rowProblem: "{where}、フィールド「{field}」: {detail}",
    rowProblemNoField: "{where}: {detail}",
    inFile: "{name} の {row} 行目",
    inFileLine: "{name} の {row} 行目（ファイルの {line} 行目）",
    lineProblem: "{name} の {line} 行目: {detail}",
    mapProblem: "列の対応付けが拒否されました: {detail}",
    fileProblem: "{name}: {detail}",
    tooLarge: "{name} のサイズは {size} です。上限は 1 ファイルあたり {max} です。",
    tooLargeServer: "アップロードがサーバーの上限（{max}）を超えています。",
    badType: "{name}: この種類のファイルはインポートできません。.json、.jsonl、.csv、.tsv を使ってください。",
    binary: "{name} はテキストではありません（画像や表計算ファイルなどのバイナリファイルのようです）。",
    notUtf8: "{name} は UTF-8 のテキストではありません。UTF-8 で保存してからやり直してください。",
    empty: "{name} は空です。",
    notJson: "{name} は JSON ではないようです。[ または { で始まる必要があります。",
    notJsonLines: "{name} は JSON Lines ではないようです。各行が 1 つのタスクのオブジェクト { … } である必要があります。",
    looksJson: "{name} は {format} ではなく JSON のようです。拡張子を .json か .jsonl に変えてください。",
    badJson: "{name} は正しい JSON ではありません。",
    badJsonLine: "{name} の {line} 行目: この行は正しい JSON ではありません。",
    ragged: "{name} の {line} 行目: セルの数がヘッダー行と一致しません。",
    notObject: "{name}: 各タスクは JSON オブジェクトである必要があります。",
    header: "{name}: ヘッダー行ではすべての列に重複しない名前が必要です。",
    pasteEmpty: "先にタスクを貼り付けてください。",
    pasted: "貼り付けたテキスト",
    oneAtATime: "これらのファイルは合計で {sync} を超えるため、1 ファイルずつインポートします。",
    network: "サーバーに接続できませんでした。何もインポートされていません。接続を確認して、もう一度お試しください。",
    forbidden: "セッションが切れたか、あなたのロールではインポートできません。もう一度サインインしてください。",
    unknownError: "サーバーが {status} を返しました。",
    removeFile: "{name} を外す",
  },
);

const FORMAT_NAMES: Record<ImportFormat, string> = { json: "JSON", jsonl: "JSON Lines", csv: "CSV", tsv: "TSV" };
const PREVIEW_ROWS = 5;
const HEAD_BYTES = 256 * 1024;
const POLL_MS = 700;

interface ImportLimits {
  maxUploadBytes: number;
  syncImportMaxBytes: number;
  maxTasksPerImport: number;
}

/** One file (or the pasted text) ready to send: its format, its bytes and what the browser read of it. */
interface Source {
  name: string;
  format: ImportFormat;
  body: Blob;
  size: number;
  parsed: ParsedRows;
  file: File | null;
}

interface ApiFailure {
  status: number;
  code: string;
  message: string;
  field: string | null;
}

interface JobState {
  status: "created" | "in_progress" | "completed" | "failed";
  rows_done: number;
  task_count: number;
  annotation_count: number;
  prediction_count: number;
  error_detail: { code: string; message: string; field: string | null } | null;
}

interface Counts {
  task_count: number;
  annotation_count: number;
  prediction_count: number;
}


function csrfToken(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? "";
}

/** A POST through XMLHttpRequest, whose upload reports its progress (fetch does not). */
function post(url: string, body: Blob | FormData, contentType: string | null, onProgress: (fraction: number) => void): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("X-CSRFToken", csrfToken());
    if (contentType) request.setRequestHeader("Content-Type", contentType);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && event.total) onProgress(event.loaded / event.total);
    });
    request.addEventListener("error", () => reject({ status: 0, code: "network", message: "", field: null } satisfies ApiFailure));
    request.addEventListener("load", () => {
      let payload: unknown = null;
      try {
        payload = request.responseText ? JSON.parse(request.responseText) : null;
      } catch {
        payload = null;
      }
      if (request.status >= 200 && request.status < 300) {
        resolve(payload);
        return;
      }
      const error = (payload as { error?: Partial<ApiFailure> } | null)?.error;
      reject({
        status: request.status,
        code: error?.code ?? `http_${request.status}`,
        message: error?.message ?? "",
        field: error?.field ?? null,
      } satisfies ApiFailure);
    });
    request.send(body);
  });
}

async function getJob(url: string): Promise<JobState> {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!response.ok) throw { status: response.status, code: `http_${response.status}`, message: "", field: null } satisfies ApiFailure;
  return (await response.json()) as JobState;
}

async function readSource(file: File, limits: ImportLimits): Promise<{ source: Source } | { problem: string }> {
  const name = file.name;
  const format = formatFromName(name);
  if (!format) return { problem: t("badType", { name }) };
  if (file.size > limits.maxUploadBytes) {
    return { problem: t("tooLarge", { name, size: formatBytes(file.size), max: formatBytes(limits.maxUploadBytes) }) };
  }
  const head = new Uint8Array(await file.slice(0, HEAD_BYTES).arrayBuffer());
  const sniffed: SniffProblem | null = sniff(head, format);
  if (sniffed) return { problem: t(sniffed, { name, format: FORMAT_NAMES[format] }) };
  // Files imported at once are read whole (rows counted, so that the server's task numbers can be
  // told per file); a larger one only by its head, for the preview.
  const complete = file.size <= limits.syncImportMaxBytes;
  const text = complete ? await file.text() : new TextDecoder().decode(head);
  const parsed = parseRows(text, format, complete);
  if (parsed.problem) {
    const line = parsed.problem.line ?? "";
    return { problem: t(parsed.problem.kind, { name, line }) };
  }
  return { source: { name, format, body: file, size: file.size, parsed, file } };
}

export default async function importTab(ctx: ProjectContext): Promise<() => void> {
  const limits: ImportLimits = ctx.settings.importLimits;
  const variables = ctx.project.data_variables;
  const projectId = ctx.project.id;
  let sources: Source[] = [];
  let stopped = false;
  let busy = false;
  const mapping = new Map<string, string>();

  const fileInput = el("input", {
    className: "visually-hidden",
    attrs: { type: "file", id: "import-files", multiple: "", accept: ".json,.jsonl,.ndjson,.csv,.tsv", "aria-label": t("filesLabel"), tabindex: "-1" },
  });
  const chooseButton = el("button", { attrs: { type: "button" }, text: t("choose"), on: { click: () => fileInput.click() } });
  const dropZone = el(
    "div",
    { className: "drop-zone", attrs: { id: "import-drop" } },
    el("p", { className: "drop-title", text: t("drop") }),
    el("p", { className: "hint", text: t("or") }),
    chooseButton,
    fileInput,
  );
  const pasteArea = el("textarea", { attrs: { id: "import-paste", rows: "6", spellcheck: "false" } });
  const formatSelect = el("select", { attrs: { id: "import-format" } });
  const pasteButton = el("button", { attrs: { type: "button", id: "import-use-paste" }, text: t("usePaste") });
  const messages = el("div", { className: "import-messages", attrs: { id: "import-messages", role: "alert" } });
  const preview = el("section", { className: "import-preview", attrs: { id: "import-preview", "aria-labelledby": "import-preview-heading" } });
  const progress = el("div", { className: "import-progress", attrs: { id: "import-progress", "aria-live": "polite" } });
  const result = el("div", { className: "import-result", attrs: { id: "import-result" } });
  preview.hidden = true;

  const drawFormats = (): void => {
    const detected = detectFormat(pasteArea.value);
    const chosen = formatSelect.value;
    replaceChildren(
      formatSelect,
      el("option", { attrs: { value: "" }, text: t("autoFormat", { format: FORMAT_NAMES[detected] }) }),
      ...FORMATS.map((format) => el("option", { attrs: { value: format }, text: FORMAT_NAMES[format] })),
    );
    formatSelect.value = chosen;
  };
  drawFormats();
  pasteArea.addEventListener("input", drawFormats);

  replaceChildren(
    ctx.root,
    el("div", { className: "page-head" }, el("h2", { text: t("heading") })),
    el("p", { className: "hint", text: variables.length ? t("intro", { variables: variables.map((name) => `$${name}`).join(", ") }) : t("noVariables") }),
    el("p", { className: "hint", text: t("limits", { max: formatBytes(limits.maxUploadBytes), sync: formatBytes(limits.syncImportMaxBytes) }) }),
    dropZone,
    el(
      "details",
      { className: "card import-paste" },
      el("summary", { text: t("pasteHeading") }),
      el("div", { className: "field" }, el("label", { attrs: { for: "import-paste" }, text: t("pasteLabel") }), pasteArea, el("span", { className: "hint", text: t("pasteHint") })),
      el("div", { className: "field" }, el("label", { attrs: { for: "import-format" }, text: t("formatLabel") }), formatSelect),
      el("div", { className: "actions" }, pasteButton),
    ),
    messages,
    preview,
    progress,
    result,
  );

  const showProblems = (problems: string[]): void => {
    replaceChildren(messages, ...problems.map((text) => el("p", { className: "notice error", text })));
  };

  const take = async (files: File[]): Promise<void> => {
    if (busy || !files.length) return;
    replaceChildren(result);
    replaceChildren(progress);
    const read = await Promise.all(files.map((file) => readSource(file, limits)));
    const problems = read.flatMap((entry) => ("problem" in entry ? [entry.problem] : []));
    sources = read.flatMap((entry) => ("source" in entry ? [entry.source] : []));
    showProblems(problems);
    if (problems.length) sources = [];
    drawPreview();
  };

  fileInput.addEventListener("change", () => {
    void take([...(fileInput.files ?? [])]);
    fileInput.value = "";
  });
  dropZone.addEventListener("dragover", (event) => {
    event.preventDefault();
    dropZone.classList.add("over");
  });
  dropZone.addEventListener("dragleave", () => dropZone.classList.remove("over"));
  dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropZone.classList.remove("over");
    void take([...(event.dataTransfer?.files ?? [])]);
  });
  pasteButton.addEventListener("click", () => {
    if (busy) return;
    replaceChildren(result);
    replaceChildren(progress);
    const text = pasteArea.value;
    if (!text.trim()) {
      showProblems([t("pasteEmpty")]);
      return;
    }
    const format = (formatSelect.value as ImportFormat) || detectFormat(text);
    const body = new Blob([text], { type: CONTENT_TYPES[format] });
    const name = t("pasted");
    if (body.size > limits.maxUploadBytes) {
      showProblems([t("tooLarge", { name, size: formatBytes(body.size), max: formatBytes(limits.maxUploadBytes) })]);
      return;
    }
    const parsed = parseRows(text, format, true);
    if (parsed.problem) {
      showProblems([t(parsed.problem.kind, { name, line: parsed.problem.line ?? "" })]);
      sources = [];
    } else {
      showProblems([]);
      sources = [{ name, format, body, size: body.size, parsed, file: null }];
    }
    drawPreview();
  });

  const columns = (): string[] => [...new Set(sources.flatMap((source) => source.parsed.columns))];

  const mappingProblems = (): string[] => {
    const problems: string[] = [];
    const owner = new Map<string, string>();
    for (const variable of variables) {
      const column = mapping.get(variable) ?? "";
      if (!column) problems.push(t("unmapped", { variable }));
      else if (owner.has(column)) problems.push(t("sameColumn", { column, first: owner.get(column)!, second: variable }));
      else owner.set(column, variable);
    }
    return problems;
  };

  /** File column -> task data key, for the columns whose names differ from the variable they fill. */
  const columnMap = (): Record<string, string> => {
    const map: Record<string, string> = {};
    for (const variable of variables) {
      const column = mapping.get(variable);
      if (column && column !== variable) map[column] = variable;
    }
    return map;
  };

  const startButton = el("button", { className: "primary", attrs: { type: "button", id: "import-start" }, text: t("start") });
  const clearButton = el("button", { attrs: { type: "button" }, text: t("clear") });
  const mappingNotice = el("div", { className: "import-mapping-notice", attrs: { "aria-live": "polite" } });
  const previewTables = el("div", { className: "import-tables" });

  const drawTables = (): void => {
    const problems = mappingProblems();
    replaceChildren(mappingNotice, ...problems.map((text) => el("p", { className: "notice warn", text })));
    startButton.disabled = busy || !sources.length || hasDuplicate();
    const mapped = new Set(variables.map((variable) => mapping.get(variable)).filter(Boolean));
    const others = columns().filter((column) => !mapped.has(column) && !variables.includes(column));
    replaceChildren(
      previewTables,
      ...sources.map((source) => {
        const count = source.parsed.complete ? t("rows", { count: formatNumber(source.parsed.rows.length) }) : t("rowsAtLeast", { count: formatNumber(source.parsed.rows.length) });
        const shown = variables.length ? variables : source.parsed.columns;
        return el(
          "div",
          { className: "import-file", data: { name: source.name } },
          el("h4", {}, source.name, el("span", { className: "hint", text: ` · ${FORMAT_NAMES[source.format]} · ${formatBytes(source.size)} · ${count}` })),
          el(
            "div",
            { className: "table-wrap" },
            el(
              "table",
              { className: "data" },
              el("thead", {}, el("tr", {}, el("th", { className: "num", text: "#" }), ...shown.map((name) => el("th", { text: variables.length ? `$${name}` : name })))),
              el(
                "tbody",
                {},
                ...source.parsed.rows.slice(0, PREVIEW_ROWS).map((row, index) =>
                  el(
                    "tr",
                    {},
                    el("td", { className: "num", text: formatNumber(index + 1) }),
                    ...shown.map((name) => {
                      // As the server reads it: the chosen column, else a column of the variable's own name.
                      const column = variables.length ? mapping.get(name) : name;
                      return el("td", { text: cellText(column && column in row ? row[column] : row[name]) });
                    }),
                  ),
                ),
              ),
            ),
          ),
        );
      }),
      others.length ? el("p", { className: "hint", text: t("otherColumns", { columns: others.join(", ") }) }) : null,
    );
  };

  const hasDuplicate = (): boolean => {
    const chosen = variables.map((variable) => mapping.get(variable)).filter(Boolean);
    return new Set(chosen).size !== chosen.length;
  };

  const drawPreview = (): void => {
    if (!sources.length) {
      preview.hidden = true;
      replaceChildren(preview);
      return;
    }
    const available = columns();
    mapping.clear();
    for (const variable of variables) {
      if (available.includes(variable)) mapping.set(variable, variable);
    }
    // One variable left and one column left over: that is almost surely its column.
    const free = available.filter((column) => ![...mapping.values()].includes(column));
    const unset = variables.filter((variable) => !mapping.has(variable));
    if (unset.length === 1 && free.length === 1) mapping.set(unset[0], free[0]);
    const selects = variables.map((variable) => {
      const select = el("select", { attrs: { id: `import-map-${variable}`, "data-variable": variable } });
      replaceChildren(
        select,
        el("option", { attrs: { value: "" }, text: t("chooseColumn") }),
        ...available.map((column) => el("option", { attrs: { value: column }, text: column })),
      );
      select.value = mapping.get(variable) ?? "";
      select.addEventListener("change", () => {
        if (select.value) mapping.set(variable, select.value);
        else mapping.delete(variable);
        drawTables();
      });
      return el("div", { className: "field import-map" }, el("label", { attrs: { for: `import-map-${variable}` }, text: `$${variable}` }), select);
    });
    preview.hidden = false;
    replaceChildren(
      preview,
      el("h3", { attrs: { id: "import-preview-heading" }, text: t("previewHeading") }),
      variables.length
        ? el("fieldset", { className: "card import-mapping" }, el("legend", { text: t("mappingHeading") }), el("p", { className: "hint", text: t("mappingHint") }), el("div", { className: "import-map-grid" }, ...selects), mappingNotice)
        : null,
      previewTables,
      el("div", { className: "actions" }, startButton, clearButton),
    );
    drawTables();
  };

  clearButton.addEventListener("click", () => {
    if (busy) return;
    sources = [];
    pasteArea.value = "";
    drawFormats();
    replaceChildren(messages);
    replaceChildren(progress);
    replaceChildren(result);
    drawPreview();
    chooseButton.focus();
  });

  const bar = el("progress", { attrs: { max: "1", id: "import-bar" } });
  const status = el("p", { className: "import-status", attrs: { id: "import-status" } });
  const counters = el("dl", { className: "import-counters" });

  const setBusy = (value: boolean): void => {
    busy = value;
    startButton.disabled = value;
    clearButton.disabled = value;
    chooseButton.disabled = value;
    pasteButton.disabled = value;
  };

  /** The failure in words: the file, its row or line and the field, then that nothing was imported. */
  const describe = (failure: ApiFailure, batch: Source[]): string => {
    const name = batch.length === 1 ? batch[0].name : batch.map((source) => source.name).join(", ");
    if (failure.status === 0) return t("network");
    if (failure.status === 413 || failure.code === "too_large") return t("tooLargeServer", { max: formatBytes(limits.maxUploadBytes) });
    if (failure.status === 403 && failure.code !== "role_too_low" && !failure.message) return t("forbidden");
    const detail = failure.message || t("unknownError", { status: failure.status });
    const field = failure.field ?? "";
    const task = /^tasks\[(\d+)\]\.?(.*)$/.exec(field);
    if (task) {
      let position = Number(task[1]);
      let source = batch[0];
      // Several files: the server counts tasks across them, in the order they were sent.
      for (const candidate of batch) {
        source = candidate;
        if (!candidate.parsed.complete || position < candidate.parsed.rows.length) break;
        position -= candidate.parsed.rows.length;
      }
      const line = source.parsed.lines[position];
      const row = formatNumber(position + 1);
      const where = line !== undefined ? t("inFileLine", { name: source.name, row, line: formatNumber(line) }) : t("inFile", { name: source.name, row });
      const fieldName = task[2].replace(/^data\./, "");
      return fieldName ? t("rowProblem", { where, field: fieldName, detail }) : t("rowProblemNoField", { where, detail });
    }
    const line = /^line (\d+)$/.exec(field);
    if (line) {
      const named = /^(.+?): /.exec(failure.message);
      const fileName = batch.length > 1 && named ? named[1] : name;
      return t("lineProblem", { name: fileName, line: formatNumber(Number(line[1])), detail: detail.replace(`${fileName}: `, "") });
    }
    if (field === "column_map") return t("mapProblem", { detail });
    return t("fileProblem", { name, detail });
  };

  const fail = (failure: ApiFailure, batch: Source[], earlier: Counts | null): void => {
    const nothing = earlier ? t("nothingFromThis", { name: batch.map((source) => source.name).join(", ") }) : t("nothingImported");
    replaceChildren(
      messages,
      el(
        "div",
        { className: "notice error import-failure", attrs: { id: "import-error" } },
        el("p", { className: "title", text: t("failedTitle") }),
        el("p", { text: describe(failure, batch) }),
        el("p", { text: nothing }),
      ),
    );
  };

  const succeed = (counts: Counts): void => {
    replaceChildren(
      result,
      el(
        "div",
        { className: "notice ok", attrs: { id: "import-done", role: "status" } },
        el("p", {
          text: t("done", {
            tasks: formatNumber(counts.task_count),
            annotations: formatNumber(counts.annotation_count),
            predictions: formatNumber(counts.prediction_count),
          }),
        }),
        el("a", { attrs: { href: `/projects/${projectId}/data/` }, text: t("openData") }),
      ),
    );
  };

  const follow = async (jobId: number): Promise<Counts> => {
    const url = `/api/projects/${projectId}/imports/${jobId}/`;
    bar.removeAttribute("value");
    for (;;) {
      if (stopped) throw { status: 0, code: "left", message: "", field: null } satisfies ApiFailure;
      const job = await getJob(url);
      replaceChildren(
        counters,
        el("dt", { text: t("rowsChecked") }),
        el("dd", { attrs: { id: "import-rows-checked" }, text: formatNumber(job.rows_done) }),
        el("dt", { text: t("tasksWritten") }),
        el("dd", { attrs: { id: "import-tasks-written" }, text: formatNumber(job.task_count) }),
      );
      if (job.status === "completed") return job;
      if (job.status === "failed") {
        const error = job.error_detail ?? { code: "failed", message: "", field: null };
        throw { status: 400, code: error.code, message: error.message, field: error.field } satisfies ApiFailure;
      }
      status.textContent = job.status === "created" ? t("waiting") : t("running");
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };

  const send = async (batch: Source[]): Promise<Counts> => {
    const map = columnMap();
    const query = Object.keys(map).length ? `?column_map=${encodeURIComponent(JSON.stringify(map))}` : "";
    const url = `/api/projects/${projectId}/import${query}`;
    let body: Blob | FormData;
    let contentType: string | null = null;
    if (batch.length === 1 && !batch[0].file) {
      body = batch[0].body;
      contentType = CONTENT_TYPES[batch[0].format];
    } else {
      body = new FormData();
      batch.forEach((source, index) => (body as FormData).append(`file${index}`, source.file!, source.name));
    }
    bar.value = 0;
    status.textContent = t("uploading", { percent: 0 });
    replaceChildren(counters);
    const answer = (await post(url, body, contentType, (fraction) => {
      bar.value = fraction;
      status.textContent = fraction < 1 ? t("uploading", { percent: Math.floor(fraction * 100) }) : t("checking");
    })) as Counts & { import?: number };
    bar.value = 1;
    if (answer.import !== undefined) return follow(answer.import);
    return answer;
  };

  startButton.addEventListener("click", () => {
    if (busy || !sources.length) return;
    if (hasDuplicate()) return;
    void (async () => {
      setBusy(true);
      replaceChildren(messages);
      replaceChildren(result);
      replaceChildren(progress, bar, status, counters, el("p", { className: "hint", text: t("allAtEnd") }));
      const total = sources.reduce((sum, source) => sum + source.size, 0);
      // Files that fit together go in one request, imported all or nothing; larger ones one at a time.
      const together = sources.length === 1 || total <= limits.syncImportMaxBytes;
      const batches = together ? [sources] : sources.map((source) => [source]);
      if (!together) replaceChildren(messages, el("p", { className: "notice", text: t("oneAtATime", { sync: formatBytes(limits.syncImportMaxBytes) }) }));
      const sum: Counts = { task_count: 0, annotation_count: 0, prediction_count: 0 };
      let imported: Counts | null = null;
      let current = batches[0];
      try {
        for (const batch of batches) {
          current = batch;
          const counts = await send(batch);
          sum.task_count += counts.task_count;
          sum.annotation_count += counts.annotation_count;
          sum.prediction_count += counts.prediction_count;
          imported = { ...sum };
          if (batches.length > 1) succeed(sum);
        }
        bar.value = 1;
        status.textContent = "";
        succeed(sum);
        sources = [];
        drawPreview();
      } catch (failure) {
        if (stopped) return;
        replaceChildren(progress);
        fail(failure as ApiFailure, current, imported);
      } finally {
        if (!stopped) setBusy(false);
      }
    })();
  });

  return () => {
    stopped = true;
  };
}

function cellText(value: unknown): string {
  if (value === undefined || value === null) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
