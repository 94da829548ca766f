// Images with RectangleLabels and PolygonLabels. Coordinates are percentages of the image, as Label
// Studio stores them. The image loads only from our own origin or the configured allow-list (the
// page's Content-Security-Policy enforces the same list).
//
// Keyboard: Tab / Shift+Tab select the next / previous shape (and leave the image after the last),
// arrows move the selected shape, Shift+arrows resize it (Alt for finer steps), Delete removes it.

import { el, isSafeUrl, pointsAtOwnApi, replaceChildren, svg } from "../dom";
import { regionId } from "../store";
import type { Region } from "../types";
import { colourWithAlpha, type EditorContext, type KeyTarget } from "./base";
import type { LabelPalette } from "./palette";

const CLOSE_DISTANCE = 2; // percent: a click this near the first point closes the polygon
const MIN_SIZE = 0.5; // percent: smaller rectangles are stray clicks
const STEP = 1; // percent of the image per arrow key; Alt makes it FINE_STEP
const FINE_STEP = 0.1;
const ARROWS: Record<string, Point> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

type Point = [number, number];

export function imageAllowed(source: string, allowedOrigins: string[]): boolean {
  if (!isSafeUrl(source) || pointsAtOwnApi(source)) return false;
  const url = new URL(source, window.location.href);
  return url.origin === window.location.origin || allowedOrigins.includes(url.origin);
}

export class ImageView implements KeyTarget {
  readonly name: string;
  readonly element: HTMLElement;
  private readonly stage: HTMLElement;
  private readonly overlay: SVGSVGElement;
  private readonly list: HTMLElement;
  private readonly image: HTMLImageElement | null = null;
  private readonly palettes: LabelPalette[] = [];
  private readonly paletteBar = el("div", { className: "palette-bar" });
  private drawing: { start: Point; current: Point } | null = null;
  private polygon: Point[] = [];
  /** The selected shape, by id: moving it replaces the region object, not its id. */
  private selectedId: string | null = null;

  constructor(
    name: string,
    value: unknown,
    private readonly context: EditorContext,
  ) {
    this.name = name;
    this.overlay = svg("svg", { class: "overlay", viewBox: "0 0 100 100", preserveAspectRatio: "none" });
    this.stage = el("div", {
      className: "stage",
      attrs: { tabindex: "0", "aria-label": "Image: number keys pick a label, drag to draw; Tab selects a shape, arrows move it, Shift+arrows resize it" },
    });
    this.list = el("ul", { className: "region-list" });
    const source = typeof value === "string" ? value : "";
    if (source && imageAllowed(source, context.imageOrigins)) {
      this.image = el("img", { attrs: { src: source, alt: "Task image", draggable: "false" } });
      this.image.addEventListener("load", () => this.render());
      this.image.addEventListener("error", () => context.notify("The image could not be loaded.", "error"));
      this.stage.append(this.image, this.overlay);
    } else {
      const origin = source && isSafeUrl(source) ? new URL(source, window.location.href).origin : "an unsupported address";
      const why = source && pointsAtOwnApi(source)
        ? "Image not shown: its address points at Tessera's own API, which an image may not."
        : `Image not shown: it comes from ${origin}, which is not an allowed source.`;
      this.stage.append(el("p", { className: "blocked", text: why }));
    }
    this.element = el("section", { className: "object image-object", data: { object: name } }, this.stage, this.list);
    this.overlay.addEventListener("mousedown", (event) => this.down(event));
    this.overlay.addEventListener("mousemove", (event) => this.move(event));
    window.addEventListener("mouseup", (event) => this.up(event));
    this.stage.addEventListener("keydown", (event) => {
      if (this.key(event)) {
        event.preventDefault();
        event.stopPropagation();
      }
    });
    context.store.subscribe(() => this.render());
  }

  attach(palette: LabelPalette): void {
    const offset = this.palettes.reduce((sum, existing) => sum + existing.labels.length, 0);
    this.palettes.push(palette);
    palette.bind(offset, (index) => this.choose(palette, index));
    if (this.palettes.length === 1) this.element.prepend(this.paletteBar);
    this.paletteBar.append(palette.element);
    this.render();
  }

  get focusTarget(): HTMLElement {
    return this.stage;
  }

  get labelable(): boolean {
    return this.palettes.length > 0;
  }

  pick(index: number): void {
    let offset = index;
    for (const palette of this.palettes) {
      if (offset < palette.labels.length) return this.choose(palette, offset);
      offset -= palette.labels.length;
    }
  }

  private choose(palette: LabelPalette, index: number): void {
    for (const other of this.palettes) if (other !== palette) other.setActive(null);
    palette.setActive(palette.active === index ? null : index);
    this.polygon = [];
    const verb = palette.tag === "polygonlabels" ? "click points, Enter or the first point closes" : "drag a box";
    if (palette.active !== null) this.context.notify(`${palette.labels[index].value}: ${verb}.`);
    this.render();
  }

  private activePalette(): LabelPalette | null {
    return this.palettes.find((palette) => palette.active !== null) ?? null;
  }

  private get selected(): Region | null {
    if (this.selectedId === null) return null;
    return this.regions().find((region) => region.id === this.selectedId) ?? null;
  }

  private select(region: Region | null): void {
    this.selectedId = region?.id ?? null;
    this.context.selection.set(this.selectedId);
    this.render();
  }

  private regions(): Region[] {
    const names = this.palettes.map((palette) => palette.name);
    return this.context.store.result.filter((region) => names.includes(region.from_name) && region.to_name === this.name);
  }

  key(event: KeyboardEvent): boolean {
    if (event.key === "Escape" && (this.polygon.length || this.selected)) {
      this.polygon = [];
      this.select(null);
      return true;
    }
    if (event.key === "Enter" && this.polygon.length >= 3) {
      this.closePolygon();
      return true;
    }
    if ((event.key === "Delete" || event.key === "Backspace") && this.selected) {
      this.context.store.remove(this.selected);
      this.select(null);
      return true;
    }
    if (event.key === "Tab" && !event.ctrlKey && !event.altKey && !event.metaKey) return this.cycle(event.shiftKey ? -1 : 1);
    const arrow = ARROWS[event.key];
    if (arrow && !event.ctrlKey && !event.metaKey) {
      const selected = this.selected;
      if (!selected) return this.cycle(1);
      const step = event.altKey ? FINE_STEP : STEP;
      this.context.store.replace(
        selected,
        { ...selected, value: event.shiftKey ? resized(selected, arrow, step) : moved(selected, arrow, step) },
        // Holding an arrow is one undo step per shape and kind of change.
        `shape:${selected.id}:${event.shiftKey ? "size" : "move"}`,
      );
      return true;
    }
    return false;
  }

  /** Select the next (or previous) shape; past the last one, let Tab leave the image. */
  private cycle(direction: 1 | -1): boolean {
    const regions = this.regions();
    const at = regions.findIndex((region) => region.id === this.selectedId);
    const next = at === -1 ? (direction > 0 ? 0 : regions.length - 1) : at + direction;
    if (next < 0 || next >= regions.length) return false;
    this.select(regions[next]);
    this.context.notify(`${this.labelOf(regions[next])} ${regions[next].type === "rectanglelabels" ? "box" : "polygon"} selected: arrows move it, Shift+arrows resize it, Delete removes it.`);
    return true;
  }

  private point(event: MouseEvent): Point {
    const box = this.overlay.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * 100;
    const y = ((event.clientY - box.top) / box.height) * 100;
    return [clamp(x), clamp(y)];
  }

  private down(event: MouseEvent): void {
    const palette = this.activePalette();
    this.stage.focus();
    if (!palette) return;
    event.preventDefault();
    const point = this.point(event);
    if (palette.tag === "polygonlabels") {
      const first = this.polygon[0];
      if (this.polygon.length >= 3 && first && Math.hypot(first[0] - point[0], first[1] - point[1]) < CLOSE_DISTANCE) {
        this.closePolygon();
      } else {
        this.polygon.push(point);
        this.render();
      }
      return;
    }
    this.drawing = { start: point, current: point };
  }

  private move(event: MouseEvent): void {
    if (!this.drawing) return;
    this.drawing.current = this.point(event);
    this.render();
  }

  private up(event: MouseEvent): void {
    if (!this.drawing) return;
    const { start } = this.drawing;
    const end = this.point(event);
    this.drawing = null;
    const palette = this.activePalette();
    const width = Math.abs(end[0] - start[0]);
    const height = Math.abs(end[1] - start[1]);
    if (!palette || palette.active === null || width < MIN_SIZE || height < MIN_SIZE) {
      this.render();
      return;
    }
    const value = {
      x: round(Math.min(start[0], end[0])),
      y: round(Math.min(start[1], end[1])),
      width: round(width),
      height: round(height),
      rotation: 0,
      rectanglelabels: [palette.labels[palette.active].value],
    };
    this.add(palette, "rectanglelabels", value);
  }

  private closePolygon(): void {
    const palette = this.activePalette();
    if (!palette || palette.active === null || this.polygon.length < 3) return;
    const points = this.polygon.map(([x, y]) => [round(x), round(y)]);
    this.polygon = [];
    this.add(palette, "polygonlabels", { points, polygonlabels: [palette.labels[palette.active].value], closed: true });
  }

  private add(palette: LabelPalette, type: string, value: Record<string, unknown>): void {
    const region: Region = {
      id: regionId(),
      from_name: palette.name,
      to_name: this.name,
      type,
      original_width: this.image?.naturalWidth ?? 0,
      original_height: this.image?.naturalHeight ?? 0,
      image_rotation: 0,
      value,
    };
    this.context.store.set([...this.context.store.result, region]);
    // The new shape is selected, as in Label Studio: arrows adjust it, per-region controls answer for it.
    this.select(region);
  }

  private colourOf(region: Region): string {
    const palette = this.palettes.find((candidate) => candidate.name === region.from_name);
    const label = this.labelOf(region);
    return palette?.labels.find((candidate) => candidate.value === label)?.colour ?? "#888";
  }

  private labelOf(region: Region): string {
    return ((region.value.rectanglelabels ?? region.value.polygonlabels) as string[] | undefined)?.[0] ?? "";
  }

  render(): void {
    const regions = this.regions();
    const selected = this.selected;
    const shapes: SVGElement[] = [];
    for (const region of regions) {
      const colour = this.colourOf(region);
      let shape: SVGElement;
      if (region.type === "rectanglelabels") {
        const { x, y, width, height } = region.value as Record<string, number>;
        shape = svg("rect", { x, y, width, height });
      } else {
        const points = (region.value.points as Point[]) ?? [];
        shape = svg("polygon", { points: points.map((point) => point.join(",")).join(" ") });
      }
      shape.classList.add("shape");
      if (region === selected) shape.classList.add("selected");
      shape.dataset.region = region.id ?? "";
      shape.style.stroke = colour;
      shape.style.fill = colourWithAlpha(colour, 0.18);
      shape.addEventListener("mousedown", (event) => {
        if (this.activePalette()) return;
        event.stopPropagation();
        this.stage.focus();
        this.select(region);
      });
      const title = svg("title");
      title.textContent = this.labelOf(region);
      shape.append(title);
      shapes.push(shape);
    }
    if (this.drawing) {
      const { start, current } = this.drawing;
      const rect = svg("rect", {
        x: Math.min(start[0], current[0]),
        y: Math.min(start[1], current[1]),
        width: Math.abs(current[0] - start[0]),
        height: Math.abs(current[1] - start[1]),
        class: "shape drawing",
      });
      shapes.push(rect);
    }
    if (this.polygon.length) {
      shapes.push(svg("polyline", { points: this.polygon.map((point) => point.join(",")).join(" "), class: "shape drawing" }));
      for (const [x, y] of this.polygon) shapes.push(svg("circle", { cx: x, cy: y, r: 0.8, class: "vertex" }));
    }
    replaceChildren(this.overlay, ...shapes);
    this.stage.classList.toggle("drawing-mode", this.activePalette() !== null);
    replaceChildren(
      this.list,
      ...regions.map((region) => {
        const swatch = el("i", { className: "swatch" });
        swatch.style.backgroundColor = this.colourOf(region);
        return el(
          "li",
          { className: region === selected ? "selected" : "", on: { click: () => this.select(region) } },
          swatch,
          el("b", { text: this.labelOf(region) }),
          " ",
          el("small", { text: region.type === "rectanglelabels" ? "box" : "polygon" }),
          el("button", {
            className: "remove",
            text: "×",
            attrs: { type: "button", tabindex: "-1", "aria-label": "Remove" },
            on: { click: () => this.context.store.remove(region) },
          }),
        );
      }),
    );
  }
}

/** A shape moved by ``step`` percent along ``direction``, kept inside the image. */
function moved(region: Region, [dx, dy]: Point, step: number): Record<string, unknown> {
  const value = region.value;
  if (region.type === "rectanglelabels") {
    const { x, y, width, height } = value as Record<string, number>;
    return { ...value, x: round(clamp(x + dx * step, 0, 100 - width)), y: round(clamp(y + dy * step, 0, 100 - height)) };
  }
  const points = (value.points as Point[]) ?? [];
  const xs = points.map((point) => point[0]);
  const ys = points.map((point) => point[1]);
  // The whole polygon moves, or none of it: no point may leave the image.
  const shiftX = clamp(dx * step, -Math.min(...xs), 100 - Math.max(...xs));
  const shiftY = clamp(dy * step, -Math.min(...ys), 100 - Math.max(...ys));
  return { ...value, points: points.map(([x, y]) => [round(x + shiftX), round(y + shiftY)]) };
}

/** A shape resized by ``step`` percent: right / down grow it, left / up shrink it; the top left stays. */
function resized(region: Region, [dx, dy]: Point, step: number): Record<string, unknown> {
  const value = region.value;
  if (region.type === "rectanglelabels") {
    const { x, y, width, height } = value as Record<string, number>;
    return {
      ...value,
      width: round(clamp(width + dx * step, MIN_SIZE, 100 - x)),
      height: round(clamp(height + dy * step, MIN_SIZE, 100 - y)),
    };
  }
  const points = (value.points as Point[]) ?? [];
  const left = Math.min(...points.map((point) => point[0]));
  const top = Math.min(...points.map((point) => point[1]));
  const width = Math.max(...points.map((point) => point[0])) - left;
  const height = Math.max(...points.map((point) => point[1])) - top;
  const scaleX = width > 0 ? clamp(width + dx * step, MIN_SIZE, 100 - left) / width : 1;
  const scaleY = height > 0 ? clamp(height + dy * step, MIN_SIZE, 100 - top) / height : 1;
  return { ...value, points: points.map(([x, y]) => [round(left + (x - left) * scaleX), round(top + (y - top) * scaleY)]) };
}

function clamp(value: number, low = 0, high = 100): number {
  return Math.max(low, Math.min(high, value));
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
