// Shapes of the dataset versions API (`/api/projects/{id}/datasets/`, `/api/datasets/{id}/`) as the
// Datasets tab reads them, and the readers that turn the server's counts, progress and diff into the
// few shapes the page draws. The readers accept the spellings a count may come in (a number, or an
// object with a total and labels) so a field the server adds later never shows as raw JSON.

export type DatasetStatus = "created" | "in_progress" | "completed" | "failed" | "cancelled";

export interface DatasetFile {
  format: string;
  split: string;
  bytes: number;
  sha256: string;
}

export interface StepReport {
  name: string;
  removed: number;
  changed: number;
  details: Record<string, unknown>;
}

export interface DatasetVersion {
  id: number;
  name: string;
  status: DatasetStatus | string;
  progress: unknown;
  counts: unknown;
  steps: StepReport[] | null;
  files: DatasetFile[] | null;
  card: string | null;
  parent: number | { id: number; name?: string } | null;
  created_by: unknown;
  created_at: string | null;
  error: unknown;
  recipe?: Record<string, unknown>;
}

/** A version that is still being built: the page polls it until it ends. */
export function isRunning(version: Pick<DatasetVersion, "status">): boolean {
  return version.status === "created" || version.status === "in_progress" || version.status === "queued" || version.status === "running";
}

export interface SplitCount {
  split: string;
  total: number;
  labels: Record<string, number>;
}

const SPLIT_ORDER = ["train", "validation", "test"];

function asNumber(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function labelCounts(value: unknown): Record<string, number> {
  const labels: Record<string, number> = {};
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [name, count] of Object.entries(value)) {
      const number = asNumber(count);
      if (number !== null) labels[name] = number;
    }
  }
  return labels;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return Boolean(value) && typeof value === "object" && !Array.isArray(value);
}

/**
 * Counts per split, train, validation and test first. The version's shape is `{"total", "splits":
 * {split: n}, "labels": {split: {label: n}}}`; `{"train": 8}` and `{"train": {"total": 8, "labels":
 * {...}}}` are read too.
 */
export function splitCounts(counts: unknown): SplitCount[] {
  if (!isRecord(counts)) return [];
  const splits = isRecord(counts.splits) ? counts.splits : counts;
  const labelsBySplit = isRecord(counts.splits) && isRecord(counts.labels) ? counts.labels : {};
  const rows: SplitCount[] = [];
  for (const [split, value] of Object.entries(splits)) {
    const number = asNumber(value);
    if (number !== null) {
      if (splits === counts && split === "total") continue;
      rows.push({ split, total: number, labels: labelCounts(labelsBySplit[split]) });
      continue;
    }
    if (!value || typeof value !== "object" || Array.isArray(value)) continue;
    const record = value as Record<string, unknown>;
    const labels = labelCounts(record.labels);
    const total = asNumber(record.total) ?? asNumber(record.tasks) ?? asNumber(record.items) ?? asNumber(record.count) ?? Object.values(labels).reduce((a, b) => a + b, 0);
    rows.push({ split, total, labels });
  }
  const rank = (split: string): number => (SPLIT_ORDER.includes(split) ? SPLIT_ORDER.indexOf(split) : SPLIT_ORDER.length);
  return rows.sort((a, b) => rank(a.split) - rank(b.split) || a.split.localeCompare(b.split));
}

/** Progress as a fraction from 0 to 1, or null when the server gives none: 0.4, 40 (per cent) or {done, total}. */
export function progressFraction(progress: unknown): number | null {
  const number = asNumber(progress);
  if (number !== null) return Math.max(0, Math.min(1, number > 1 ? number / 100 : number));
  if (progress && typeof progress === "object") {
    const record = progress as Record<string, unknown>;
    const done = asNumber(record.done) ?? asNumber(record.tasks_done) ?? asNumber(record.processed);
    const total = asNumber(record.total);
    if (done !== null && total) return Math.max(0, Math.min(1, done / total));
    const fraction = asNumber(record.fraction);
    if (fraction !== null) return Math.max(0, Math.min(1, fraction));
  }
  return null;
}

/** Who built a version: an e-mail, a name, or a user object carrying one; a bare user id as "#id". */
export function personName(person: unknown, self?: { id: number; email: string }): string {
  if (typeof person === "string") return person;
  if (typeof person === "number") return self && self.id === person ? self.email : `#${person}`;
  if (person && typeof person === "object") {
    const record = person as Record<string, unknown>;
    for (const key of ["email", "username", "name", "first_name"]) {
      if (typeof record[key] === "string" && record[key]) return record[key] as string;
    }
    if (typeof record.id === "number") return `#${record.id}`;
  }
  return "";
}

/** A failed build's reason as a sentence: a string, or the API's {message} object. */
export function errorText(error: unknown): string {
  if (typeof error === "string") return error;
  if (error && typeof error === "object") {
    const message = (error as Record<string, unknown>).message;
    if (typeof message === "string") return message;
  }
  return "";
}

export function parentId(parent: DatasetVersion["parent"]): number | null {
  if (typeof parent === "number") return parent;
  return parent && typeof parent.id === "number" ? parent.id : null;
}

export interface DiffPart {
  count: number;
  sample: number[];
}

export interface VersionDiff {
  added: DiffPart;
  removed: DiffPart;
  relabeled: DiffPart;
}

function diffPart(answer: Record<string, unknown>, key: string): DiffPart {
  const value = answer[key];
  const ids = (list: unknown): number[] => (Array.isArray(list) ? list.filter((id): id is number => typeof id === "number") : []);
  if (Array.isArray(value)) return { count: value.length, sample: ids(value).slice(0, 20) };
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    const sample = ids(record.sample ?? record.sample_ids ?? record.ids);
    return { count: asNumber(record.count) ?? asNumber(record.total) ?? sample.length, sample };
  }
  const samples = answer.samples && typeof answer.samples === "object" ? (answer.samples as Record<string, unknown>) : {};
  const sample = ids(samples[key] ?? answer[`${key}_sample`] ?? answer[`${key}_ids`]);
  return { count: asNumber(value) ?? sample.length, sample };
}

/**
 * `GET /api/datasets/{id}/diff?other=`: tasks added, removed and relabeled, each a count and sample ids
 * (`{"added": 3, …, "samples": {"added": [ids], …}}`).
 */
export function readDiff(answer: unknown): VersionDiff {
  const record = (answer && typeof answer === "object" ? answer : {}) as Record<string, unknown>;
  return { added: diffPart(record, "added"), removed: diffPart(record, "removed"), relabeled: diffPart(record, "relabeled") };
}

/** A dataset card's YAML front matter (Hugging Face's metadata block) and the Markdown after it. */
export function splitFrontMatter(card: string): { meta: string; body: string } {
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(card);
  return match ? { meta: match[1], body: card.slice(match[0].length) } : { meta: "", body: card };
}
