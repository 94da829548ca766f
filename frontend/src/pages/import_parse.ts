// The import page's reading of files in the browser: which format a file is (by its name, checked against
// its first bytes), and its rows for the preview and the column mapping. The server parses the upload
// again and is the judge; this reading only lets the page say early what is wrong and show what comes.
// Plain functions over text, no DOM.

export type ImportFormat = "json" | "jsonl" | "csv" | "tsv";
export const FORMATS: ImportFormat[] = ["json", "jsonl", "csv", "tsv"];

export const CONTENT_TYPES: Record<ImportFormat, string> = {
  json: "application/json",
  jsonl: "application/x-ndjson",
  csv: "text/csv",
  tsv: "text/tab-separated-values",
};

const EXTENSIONS: [string, ImportFormat][] = [
  [".jsonl", "jsonl"],
  [".ndjson", "jsonl"],
  [".json", "json"],
  [".csv", "csv"],
  [".tsv", "tsv"],
];

/** The server's rule (annotation/importing/parsers.py format_from_filename). */
export function formatFromName(name: string): ImportFormat | null {
  const lowered = name.toLowerCase();
  return EXTENSIONS.find(([extension]) => lowered.endsWith(extension))?.[1] ?? null;
}

export type SniffProblem = "binary" | "notUtf8" | "empty" | "notJson" | "notJsonLines" | "looksJson";

/** What is wrong with a file's first bytes for its format, or null when they look right. */
export function sniff(head: Uint8Array, format: ImportFormat): SniffProblem | null {
  if (head.includes(0)) return "binary";
  let text: string;
  try {
    // stream: a character cut by the end of the head is not an error.
    text = new TextDecoder("utf-8", { fatal: true }).decode(head, { stream: true });
  } catch {
    return "notUtf8";
  }
  text = text.replace(/^\uFEFF/, "");
  const first = text.trimStart().charAt(0);
  if (!first) return "empty";
  if (format === "json" && first !== "[" && first !== "{") return "notJson";
  if (format === "jsonl" && first !== "{") return "notJsonLines";
  if ((format === "csv" || format === "tsv") && (first === "[" || first === "{")) return "looksJson";
  return null;
}

/** The format of pasted text: JSON, JSON Lines, TSV (a tab in the first line) or CSV. */
export function detectFormat(text: string): ImportFormat {
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) return "json";
  if (trimmed.startsWith("{")) {
    try {
      JSON.parse(trimmed);
      return "json";
    } catch {
      return "jsonl";
    }
  }
  const firstLine = trimmed.split(/\r\n|\n|\r/, 1)[0] ?? "";
  return firstLine.includes("\t") ? "tsv" : "csv";
}

export interface ParsedRows {
  /** Column names (CSV header, or the data keys met in the rows), in order of appearance. */
  columns: string[];
  /** Each row's task data (a JSON task's `data`, or the row itself). */
  rows: Record<string, unknown>[];
  /** The line of the file each row starts on (1-based), when the format has lines. */
  lines: number[];
  /** Whether every row was read (false when only the head of a large file was). */
  complete: boolean;
  /** A problem the reading found: the line it is on and what it is. */
  problem: { line: number | null; kind: "badJson" | "badJsonLine" | "ragged" | "notObject" | "header" } | null;
}

function dataOf(record: unknown): Record<string, unknown> | null {
  if (!record || typeof record !== "object" || Array.isArray(record)) return null;
  const task = record as Record<string, unknown>;
  const data = task.data;
  if ("data" in task) return data && typeof data === "object" && !Array.isArray(data) ? (data as Record<string, unknown>) : null;
  return task;
}

function columnsOf(rows: Record<string, unknown>[]): string[] {
  const seen = new Set<string>();
  for (const row of rows.slice(0, 200)) for (const key of Object.keys(row)) seen.add(key);
  return [...seen];
}

/**
 * Rows of a file's text. ``complete`` false means the text is only the file's head: its last line may be
 * cut, so it is dropped, and a JSON array is not read at all (its columns come from the server's answer).
 */
export function parseRows(text: string, format: ImportFormat, complete: boolean): ParsedRows {
  text = text.replace(/^\uFEFF/, "");
  const empty: ParsedRows = { columns: [], rows: [], lines: [], complete, problem: null };
  if (format === "csv" || format === "tsv") return parseDelimited(text, format === "tsv" ? "\t" : ",", complete);
  if (format === "jsonl") {
    const physical = text.split(/\r\n|\n|\r/);
    if (!complete) physical.pop();
    const rows: Record<string, unknown>[] = [];
    const lines: number[] = [];
    for (const [index, line] of physical.entries()) {
      if (!line.trim()) continue;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        return { ...empty, rows, lines, columns: columnsOf(rows), problem: { line: index + 1, kind: "badJsonLine" } };
      }
      const data = dataOf(record);
      if (!data) return { ...empty, rows, lines, columns: columnsOf(rows), problem: { line: index + 1, kind: "notObject" } };
      rows.push(data);
      lines.push(index + 1);
    }
    return { columns: columnsOf(rows), rows, lines, complete, problem: null };
  }
  if (!complete) return empty;
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return { ...empty, problem: { line: null, kind: "badJson" } };
  }
  const records = Array.isArray(document) ? document : [document];
  const rows: Record<string, unknown>[] = [];
  for (const record of records) {
    const data = dataOf(record);
    if (!data) return { ...empty, rows, columns: columnsOf(rows), problem: { line: null, kind: "notObject" } };
    rows.push(data);
  }
  return { columns: columnsOf(rows), rows, lines: [], complete, problem: null };
}

/** RFC 4180 records (quoted cells may hold the delimiter, quotes doubled, and line breaks). */
function parseDelimited(text: string, delimiter: string, complete: boolean): ParsedRows {
  const records: { cells: string[]; line: number }[] = [];
  let cells: string[] = [];
  let cell = "";
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let index = 0;
  const endRecord = (): void => {
    cells.push(cell);
    if (cells.length > 1 || cells[0] !== "") records.push({ cells, line: recordLine });
    cells = [];
    cell = "";
  };
  while (index < text.length) {
    const char = text[index];
    if (quoted) {
      if (char === '"') {
        if (text[index + 1] === '"') {
          cell += '"';
          index += 1;
        } else quoted = false;
      } else {
        if (char === "\n" || (char === "\r" && text[index + 1] !== "\n")) line += 1;
        cell += char;
      }
    } else if (char === '"' && cell === "") quoted = true;
    else if (char === delimiter) {
      cells.push(cell);
      cell = "";
    } else if (char === "\r" || char === "\n") {
      if (char === "\r" && text[index + 1] === "\n") index += 1;
      endRecord();
      line += 1;
      recordLine = line;
    } else cell += char;
    index += 1;
  }
  // The head of a large file ends inside its last record: drop that record.
  if (complete && (cell !== "" || cells.length)) endRecord();
  const [header, ...body] = records;
  const result: ParsedRows = { columns: [], rows: [], lines: [], complete, problem: null };
  if (!header) return result;
  const columns = header.cells.map((name) => name.trim());
  if (columns.some((name) => !name) || new Set(columns).size !== columns.length) return { ...result, problem: { line: 1, kind: "header" } };
  result.columns = columns;
  for (const record of body) {
    if (record.cells.length !== columns.length) return { ...result, problem: { line: record.line, kind: "ragged" } };
    result.rows.push(Object.fromEntries(columns.map((name, position) => [name, record.cells[position]])));
    result.lines.push(record.line);
  }
  return result;
}
