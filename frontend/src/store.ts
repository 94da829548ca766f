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

  remove(region: Region): void {
    this.set(this.regions.filter((candidate) => candidate !== region));
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
