// Shapes of the training API as issue 12's contract fixes them (`/api/training-jobs/`, `/api/models/`),
// and the small readers the Training tab's views share: which jobs still run, a job's progress, the
// latest loss, a page of results. Values the server computes (metrics, events' details) are read
// defensively: a field missing or of another type is shown as nothing, never as raw JSON.

import recipeTable from "./training_recipes.json";

export type JobStatus = "created" | "in_progress" | "completed" | "failed" | "cancelled";

export interface Person {
  id: number;
  email: string;
  first_name?: string;
  last_name?: string;
}

export interface TrainingEvent {
  id: number;
  time: string;
  source: string;
  kind: string;
  details: Record<string, unknown> | null;
}

export interface ModelVersionRef {
  id: number;
  name: string;
  version: string;
}

export interface TrainingJob {
  id: number;
  project: number;
  name?: string;
  dataset: number | null;
  dataset_name: string | null;
  recipe: string;
  base_model: number | null;
  base_model_name: string | null;
  params: Record<string, unknown>;
  resources: Record<string, unknown>;
  status: JobStatus | string;
  state: string;
  step: number;
  max_steps: number;
  epoch: number;
  progress: number;
  latest_metrics: Record<string, unknown>;
  events: TrainingEvent[];
  error: { code: string; message: string } | null;
  estimate: Record<string, unknown> | null;
  attempts: number;
  cancel_requested: boolean;
  model_version: ModelVersionRef | null;
  created_by: Person | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** One line of `GET /api/training-jobs/{id}/metrics/`: its id, step, time and the values logged. */
export interface MetricRow {
  id: number;
  step: number;
  time: string;
  [name: string]: unknown;
}

export interface MetricsAnswer {
  job: number;
  metrics: MetricRow[];
  names: string[];
}

export interface ModelFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface ModelVersion {
  id: number;
  name: string;
  version: string;
  project: number;
  recipe: string;
  task_kind: string;
  base_model: number | null;
  base_model_name: string;
  params: Record<string, unknown>;
  dataset: number | null;
  dataset_manifest_sha256: string;
  job: number | null;
  metrics: Record<string, unknown>;
  files: ModelFile[];
  lineage: Record<string, unknown>;
  evaluation_project: number | null;
  promoted_to: number[];
  created_at: string;
  created_by: Person | number | null;
}

export interface BaseModel {
  id: number;
  name: string;
  model_type: string;
  kind: string;
  parameters: number;
}

export interface Page<T> {
  count: number;
  /** The next page's number (or URL), null on the last page. */
  next: number | string | null;
  previous: number | string | null;
  results: T[];
}

/** What the runner reads for each recipe (training/recipes/: Recipe.dataset_format and model_kinds). */
export interface RecipeNeeds {
  dataset_format: string;
  model_kinds: string[];
}

export const RECIPE_NEEDS: Record<string, RecipeNeeds> = recipeTable;

export function isRunning(job: Pick<TrainingJob, "status">): boolean {
  return job.status === "created" || job.status === "in_progress";
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return Boolean(value) && typeof value === "object" && !Array.isArray(value);
}

export function asNumber(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** The results of a list answer: a page (`{"results"}`) or a bare array. */
export function resultsOf<T>(answer: Page<T> | T[] | null): T[] {
  return Array.isArray(answer) ? answer : (answer?.results ?? []);
}

/** The job's training loss as of now (the validation loss when no training loss was logged yet). */
export function latestLoss(job: Pick<TrainingJob, "latest_metrics">): number | null {
  const metrics = isRecord(job.latest_metrics) ? job.latest_metrics : {};
  return asNumber(metrics.loss) ?? asNumber(metrics.train_loss) ?? asNumber(metrics.eval_loss);
}

export function progressOf(job: Pick<TrainingJob, "progress" | "step" | "max_steps">): number | null {
  const progress = asNumber(job.progress);
  if (progress !== null) return Math.max(0, Math.min(1, progress));
  return job.max_steps ? Math.max(0, Math.min(1, job.step / job.max_steps)) : null;
}

/** A name for a person: first and last name, else the e-mail, else "#id". */
export function personName(person: Person | number | null | undefined): string {
  if (typeof person === "number") return `#${person}`;
  if (!person) return "";
  const full = [person.first_name, person.last_name].filter(Boolean).join(" ");
  return full || person.email || `#${person.id}`;
}

/**
 * A model version's evaluation: the contract stores eval.json's metrics; eval.json itself is
 * `{"recipe", "split", "metrics": {...}}`, so a wrapped object is unwrapped.
 */
export function evaluationOf(metrics: unknown): Record<string, unknown> {
  if (!isRecord(metrics)) return {};
  return isRecord(metrics.metrics) ? { ...metrics.metrics, split: metrics.split ?? metrics.metrics.split } : metrics;
}

/**
 * The path of the page after this one: the list endpoints give the next page's number (DRF's paginators
 * give an absolute URL, also read, and followed only when it is our own API's). Null on the last page.
 */
export function nextPath(next: number | string | null, listPath: string): string | null {
  if (typeof next === "number") return `${listPath}${listPath.includes("?") ? "&" : "?"}page=${next}`;
  if (!next) return null;
  try {
    const url = new URL(next, location.origin);
    const prefix = listPath.split("?")[0];
    return url.origin === location.origin && url.pathname.startsWith(prefix) ? url.pathname + url.search : null;
  } catch {
    return null;
  }
}
