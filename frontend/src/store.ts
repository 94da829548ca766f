// The annotation being edited: Label Studio's result list, with undo. Every view renders from it and
// every change goes through ``set``, so undo, drafts and submit all see the same thing.

import type { Region } from "./types";

type Listener = () => void;

const UNDO_DEPTH = 100;

export class ResultStore {
  private regions: Region[] = [];
  private history: Region[][] = [];
  private listeners: Listener[] = [];
  private lastCoalesceKey: string | null = null;
  version = 0;

  get result(): Region[] {
    return this.regions;
  }

  /** Replace the whole result and forget the history (a new task, a restored draft). */
  load(regions: Region[]): void {
    this.regions = structuredClone(regions);
    this.history = [];
    this.lastCoalesceKey = null;
    this.emit();
  }

  /**
   * Change the result. Successive changes with the same ``coalesce`` key (typing in one text box)
   * make one undo step, not one per keystroke.
   */
  set(next: Region[], coalesce: string | null = null): void {
    if (coalesce === null || coalesce !== this.lastCoalesceKey) {
      this.history.push(this.regions);
      if (this.history.length > UNDO_DEPTH) this.history.shift();
    }
    this.lastCoalesceKey = coalesce;
    this.regions = next;
    this.emit();
  }

  undo(): boolean {
    const previous = this.history.pop();
    if (previous === undefined) return false;
    this.regions = previous;
    this.lastCoalesceKey = null;
    this.emit();
    return true;
  }

  of(fromName: string): Region[] {
    return this.regions.filter((region) => region.from_name === fromName);
  }

  /** Replace the regions of one control, keeping the others in place. */
  setFor(fromName: string, regions: Region[], coalesce: string | null = null): void {
    this.set([...this.regions.filter((region) => region.from_name !== fromName), ...regions], coalesce);
  }

  /** Remove a region and what is attached to it (per-region answers share its id, as in Label Studio). */
  remove(region: Region): void {
    this.removeAll([region]);
  }

  removeAll(regions: Region[]): void {
    const ids = new Set(regions.map((region) => region.id).filter((id) => id !== undefined));
    this.set(this.regions.filter((candidate) => !regions.includes(candidate) && !(candidate.id !== undefined && ids.has(candidate.id))));
  }

  /**
   * Replace one region (moved, resized, relabeled). Per-region answers attached to it repeat its
   * geometry in their value, as Label Studio stores them, so they follow it.
   */
  replace(old: Region, next: Region, coalesce: string | null = null): void {
    const geometry = geometryOf(next.value);
    this.set(
      this.regions.map((candidate) => {
        if (candidate === old) return next;
        if (old.id === undefined || candidate.id !== old.id) return candidate;
        // A per-region TextArea keeps its answers under "text", where a span keeps its text.
        const { text: _spanText, ...withoutText } = geometry;
        return { ...candidate, value: { ...candidate.value, ...(candidate.type === "textarea" ? withoutText : geometry) } };
      }),
      coalesce,
    );
  }

  subscribe(listener: Listener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((candidate) => candidate !== listener);
    };
  }

  private emit(): void {
    this.version++;
    for (const listener of this.listeners) listener();
  }
}

export function regionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (byte) => "abcdefghijklmnopqrstuvwxyz0123456789"[byte % 36]).join("").slice(0, 10);
}

/** The keys of a labeled region's value that say what it is labeled, not where it is. */
const LABEL_KEYS = new Set(["labels", "rectanglelabels", "polygonlabels", "paragraphlabels", "choices", "rating"]);

/** Where a region is (offsets, box, points): what a per-region answer repeats of it. */
export function geometryOf(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => !LABEL_KEYS.has(key)));
}

type SelectionListener = () => void;

/**
 * The region the annotator has selected (a span, a shape, a labeled turn), by id: per-region
 * Choices, Rating and TextArea answer for it. Views set it; per-region controls follow it.
 */
export class RegionSelection {
  id: string | null = null;
  /** Object names that per-region controls point at: their views keep a region selected for them. */
  readonly perRegionObjects = new Set<string>();
  private listeners: SelectionListener[] = [];

  set(id: string | null): void {
    if (id === this.id) return;
    this.id = id;
    for (const listener of this.listeners) listener();
  }

  subscribe(listener: SelectionListener): void {
    this.listeners.push(listener);
  }
}
