// A run's metric lines (`GET /api/training-jobs/{id}/metrics/?after=`) as chart series: which names get
// a chart, the (step, value) pairs of a name, and the reading of every line after the last one seen.

import { api } from "../api";
import { asNumber, type MetricRow, type MetricsAnswer } from "./training_types";

// Not charts: the line's own bookkeeping, and the closing test evaluation (shown as the evaluation).
const NOT_CHARTED = new Set(["id", "step", "time", "epoch", "job"]);
// The Trainer's own timings and counters (how long an evaluation took, tokens seen so far): not a
// measure of the model, so neither charted nor compared.
const TRAINER_BOOKKEEPING = /(_runtime|_steps_per_second|^eval_samples_per_second|input_tokens_seen|total_flos)$/;

/** Whether a metric name measures the run (loss, learning rate, throughput, memory, …), not the Trainer's clock. */
export function isMeasure(name: string): boolean {
  return !NOT_CHARTED.has(name) && !TRAINER_BOOKKEEPING.test(name);
}
// Drawn together on the loss chart.
export const LOSS_NAMES = ["loss", "eval_loss"];
const MAX_PAGES = 50;

export interface MetricsState {
  rows: MetricRow[];
  names: string[];
  lastId: number;
}

export function emptyMetrics(): MetricsState {
  return { rows: [], names: [], lastId: 0 };
}

/**
 * The lines written since `state.lastId`, appended to it. The server may answer a page at a time, so
 * `drain` asks again until an answer brings nothing new (a finished run's whole series on first look);
 * while a run goes on, one request per poll is enough.
 */
export async function readMetrics(jobId: number, state: MetricsState, drain: boolean): Promise<MetricsState> {
  let { rows, names, lastId } = state;
  for (let page = 0; page < (drain ? MAX_PAGES : 1); page++) {
    const answer = await api<MetricsAnswer>("GET", `/api/training-jobs/${jobId}/metrics/?after=${lastId}`);
    const fresh = (answer.metrics ?? []).filter((row) => typeof row.id === "number" && row.id > lastId);
    names = [...new Set([...names, ...(answer.names ?? [])])];
    if (!fresh.length) break;
    rows = [...rows, ...fresh];
    lastId = Math.max(lastId, ...fresh.map((row) => row.id));
  }
  return { rows, names, lastId };
}

/** (step, value) of one metric, in step order. */
export function seriesOf(rows: MetricRow[], name: string): [number, number][] {
  return rows
    .map((row): [number, number] | null => {
      const value = asNumber(row[name]);
      const step = asNumber(row.step);
      return value === null || step === null ? null : [step, value];
    })
    .filter((point): point is [number, number] => point !== null)
    .sort((a, b) => a[0] - b[0]);
}

/** The metric names that get a chart of their own, besides the loss chart. */
export function chartedNames(state: MetricsState): string[] {
  const present = new Set(state.names);
  for (const row of state.rows) for (const [name, value] of Object.entries(row)) if (asNumber(value) !== null) present.add(name);
  return [...present].filter((name) => isMeasure(name) && !LOSS_NAMES.includes(name) && !name.startsWith("test_") && !name.startsWith("train_")).sort();
}
