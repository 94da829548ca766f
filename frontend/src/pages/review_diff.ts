// The difference between an annotation and its fix, region by region. Label Studio results give each
// region an id, and per-region answers (a choice about a span) share their region's id, so a region is
// every result entry with that id. Entries without an id (a task-level choice) are keyed by control.

import type { Region } from "../types";

export interface RegionChange {
  key: string;
  kind: "added" | "removed" | "changed";
  before: Region[];
  after: Region[];
}

function keyOf(region: Region): string {
  return region.id ? `id:${region.id}` : `control:${region.from_name}`;
}

function group(result: Region[]): Map<string, Region[]> {
  const groups = new Map<string, Region[]>();
  for (const region of result ?? []) {
    const key = keyOf(region);
    groups.set(key, [...(groups.get(key) ?? []), region]);
  }
  return groups;
}

/** Stable JSON: object keys sorted, so the same region written in another key order is unchanged. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function sameRegions(before: Region[], after: Region[]): boolean {
  const shape = (regions: Region[]) => regions.map((region) => canonical({ ...region, origin: undefined })).sort().join("|");
  return shape(before) === shape(after);
}

export function diffResults(original: Region[], fixed: Region[]): RegionChange[] {
  const before = group(original);
  const after = group(fixed);
  const changes: RegionChange[] = [];
  for (const [key, regions] of before) {
    const next = after.get(key);
    if (!next) changes.push({ key, kind: "removed", before: regions, after: [] });
    else if (!sameRegions(regions, next)) changes.push({ key, kind: "changed", before: regions, after: next });
  }
  for (const [key, regions] of after) {
    if (!before.has(key)) changes.push({ key, kind: "added", before: [], after: regions });
  }
  return changes;
}

/** A region in a line of words: its control, its labels or answer, and for a span its text and offsets. */
export function describeRegion(regions: Region[]): string {
  const parts: string[] = [];
  for (const region of regions) {
    const value = region.value ?? {};
    const answers: string[] = [];
    for (const [name, entry] of Object.entries(value)) {
      if (name.endsWith("labels") || name === "choices" || name === "text" && Array.isArray(entry)) {
        if (Array.isArray(entry)) answers.push(entry.map(String).join(", "));
      } else if (name === "rating" || name === "number") {
        answers.push(String(entry));
      } else if (name === "selected") {
        answers.push(String(entry));
      }
    }
    const span = typeof value.start === "number" && typeof value.end === "number" ? ` [${value.start}–${value.end}]` : "";
    const quoted = typeof value.text === "string" ? ` “${value.text}”` : "";
    parts.push(`${region.from_name}: ${answers.join(" · ") || "—"}${quoted}${span}`);
  }
  return parts.join("; ");
}
