import type { RegionSelection, ResultStore } from "../store";

/** Something the number keys act on: a control (Choices, Rating) or a view with label palettes. */
export interface KeyTarget {
  element: HTMLElement;
  /** Number key ``index + 1`` was pressed while this target had focus (or was the default). */
  pick(index: number): void;
  /** Any other key while focused; true when handled. */
  key?(event: KeyboardEvent): boolean;
}

export interface EditorContext {
  store: ResultStore;
  selection: RegionSelection;
  data: Record<string, unknown>;
  imageOrigins: string[];
  notify(message: string, kind?: "info" | "error"): void;
}

/** A palette of labels (Labels, RectangleLabels, …) that an object view offers on its number keys. */
export interface Palette {
  name: string;
  tag: string;
  labels: { value: string; colour: string }[];
  active: number | null;
  setActive(index: number | null): void;
  element: HTMLElement;
}

export function colourWithAlpha(colour: string, alpha: number): string {
  // Hex colours get an alpha channel; named colours are used as they are through color-mix.
  return `color-mix(in srgb, ${colour} ${Math.round(alpha * 100)}%, transparent)`;
}
