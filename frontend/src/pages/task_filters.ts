// The data table's filters as Label Studio's data manager writes them, the same JSON the API takes
// (`GET /api/tasks/?project=&filters=…`, see annotation/task_filters.py): building it here and
// reading it there keep one shape for the table, its bulk actions and the export of a filter.

export type ColumnKind = "integer" | "score" | "datetime" | "data" | "state" | "annotators" | "labels" | "model_versions";

export interface FilterRow {
  column: string;
  operator: string;
  /** As typed: a string, or for ranges "min..max"; converted by toFilterJson. */
  value: string;
}

export interface FilterJson {
  conjunction: "and" | "or";
  items: { filter: string; operator: string; type: string; value: unknown }[];
}

const COMPARISONS = ["equal", "not_equal", "less", "greater", "less_or_equal", "greater_or_equal"];

export const OPERATORS: Record<ColumnKind, string[]> = {
  integer: [...COMPARISONS, "in"],
  score: [...COMPARISONS, "in"],
  datetime: ["greater_or_equal", "less_or_equal", "in"],
  data: ["search", "contains", "not_contains", "equal", "not_equal", "empty"],
  state: ["equal", "not_equal"],
  annotators: ["contains", "not_contains"],
  labels: ["contains", "not_contains", "empty"],
  model_versions: ["equal", "not_equal", "contains", "not_contains"],
};

export function columnKind(column: string): ColumnKind | null {
  if (["id", "inner_id", "total_annotations", "cancelled_annotations", "total_predictions"].includes(column)) return "integer";
  if (column === "created_at" || column === "updated_at") return "datetime";
  if (column === "predictions_score") return "score";
  if (column === "state") return "state";
  if (column === "annotators") return "annotators";
  if (column === "labels" || column.startsWith("labels:")) return "labels";
  if (column === "predictions_model_versions") return "model_versions";
  if (column.startsWith("data.") && column.length > 5) return "data";
  return null;
}

const TYPES: Record<ColumnKind, string> = {
  integer: "Number",
  score: "Number",
  datetime: "Datetime",
  data: "String",
  state: "String",
  annotators: "List",
  labels: "List",
  model_versions: "String",
};

/** A row's value as the API reads it, or an error key when it cannot be read. */
export function rowValue(row: FilterRow): { value: unknown } | { error: "value" | "range" } {
  const kind = columnKind(row.column);
  const text = row.value.trim();
  if (row.operator === "empty") return { value: text !== "false" };
  if (row.operator === "in") {
    const [low, high] = text.split("..").map((part) => part.trim());
    if (!low || !high) return { error: "range" };
    const read = (part: string) => (kind === "datetime" ? new Date(part).toISOString() : Number(part));
    try {
      const min = read(low);
      const max = read(high);
      if (typeof min === "number" && (Number.isNaN(min) || Number.isNaN(max as number))) return { error: "range" };
      return { value: { min, max } };
    } catch {
      return { error: "range" };
    }
  }
  if (!text) return { error: "value" };
  if (kind === "integer" || kind === "score" || kind === "annotators") {
    const number = Number(text);
    return Number.isFinite(number) ? { value: number } : { error: "value" };
  }
  if (kind === "datetime") {
    const date = new Date(text);
    return Number.isNaN(date.getTime()) ? { error: "value" } : { value: date.toISOString() };
  }
  return { value: text };
}

/** The rows that are complete, as the API's filter JSON; null when there are none. */
export function toFilterJson(rows: FilterRow[], conjunction: "and" | "or"): FilterJson | null {
  const items = [];
  for (const row of rows) {
    const kind = columnKind(row.column);
    const read = rowValue(row);
    if (!kind || "error" in read) continue;
    items.push({ filter: `filter:tasks:${row.column}`, operator: row.operator, type: TYPES[kind], value: read.value });
  }
  return items.length ? { conjunction, items } : null;
}

/** Filter rows and ordering kept in the URL's query, so a filtered view is a link (and survives a reload). */
export interface TableQuery {
  rows: FilterRow[];
  conjunction: "and" | "or";
  ordering: string;
  page: number;
}

export function readQuery(search: string): TableQuery {
  const params = new URLSearchParams(search);
  let rows: FilterRow[] = [];
  try {
    const parsed = JSON.parse(params.get("f") ?? "[]") as unknown;
    if (Array.isArray(parsed)) {
      rows = parsed
        .filter((row): row is FilterRow => typeof row?.column === "string" && typeof row?.operator === "string" && typeof row?.value === "string")
        .slice(0, 20);
    }
  } catch {
    rows = [];
  }
  const page = Math.max(1, Math.floor(Number(params.get("page") ?? 1)) || 1);
  return { rows, conjunction: params.get("c") === "or" ? "or" : "and", ordering: params.get("o") ?? "", page };
}

export function writeQuery(query: TableQuery): string {
  const params = new URLSearchParams();
  if (query.rows.length) params.set("f", JSON.stringify(query.rows));
  if (query.conjunction === "or") params.set("c", "or");
  if (query.ordering) params.set("o", query.ordering);
  if (query.page > 1) params.set("page", String(query.page));
  const text = params.toString();
  return text ? `?${text}` : "";
}
