// Text objects: plain text (Text, HyperText as text), and span labeling when Labels point at it.
// Offsets are code points (see unicode.ts). Selection works with the mouse (native selection, read
// back into code points) and with the keyboard (our own caret: arrows, Shift+arrows, Home/End).

import { textColourOn } from "../colour";
import { el, replaceChildren } from "../dom";
import { regionId } from "../store";
import type { Region } from "../types";
import { CodePointIndex } from "../unicode";
import { colourWithAlpha, type EditorContext, type KeyTarget } from "./base";
import type { LabelPalette } from "./palette";

const BAR_PX = 3;
const BAR_GAP_PX = 2;

interface Span {
  region: Region;
  start: number;
  end: number;
  label: string;
  colour: string;
}

export class TextView implements KeyTarget {
  readonly name: string;
  readonly element: HTMLElement;
  private readonly body: HTMLElement;
  private readonly list: HTMLElement;
  private readonly index: CodePointIndex;
  private readonly palettes: LabelPalette[] = [];
  private readonly paletteBar = el("div", { className: "palette-bar" });
  private caret = 0;
  private anchor: number | null = null;
  private selected: Region | null = null;

  constructor(
    name: string,
    value: unknown,
    private readonly context: EditorContext,
  ) {
    this.name = name;
    const text = typeof value === "string" ? value : value === undefined || value === null ? "" : value;
    this.index = new CodePointIndex(typeof text === "string" ? text : "");
    this.body = el("div", { className: "text-body", attrs: { lang: "" } });
    this.list = el("ul", { className: "region-list" });
    this.element = el("section", { className: "object text-object", data: { object: name } }, this.body);
    if (Array.isArray(text)) {
      // A list of passages (retrieved context): shown one under another, never labeled.
      this.element.classList.add("passages");
      replaceChildren(
        this.body,
        ...text.map((passage, position) =>
          el("div", { className: "passage" }, el("span", { className: "passage-n", text: `[${position + 1}] ` }), asText(passage)),
        ),
      );
    } else if (typeof text !== "string") {
      this.body.textContent = JSON.stringify(text);
    } else {
      this.body.textContent = text;
    }
  }

  /** Labels controls that point here make the text selectable by keyboard and labelable. */
  attach(palette: LabelPalette): void {
    const offset = this.palettes.reduce((sum, existing) => sum + existing.labels.length, 0);
    this.palettes.push(palette);
    palette.bind(offset, (index) => this.pickIn(palette, index));
    if (this.palettes.length === 1) {
      this.element.classList.add("labelable");
      this.element.prepend(this.paletteBar);
      this.element.append(this.list);
      this.body.tabIndex = 0;
      this.body.setAttribute("role", "textbox");
      this.body.setAttribute("aria-readonly", "true");
      this.body.setAttribute("aria-label", "Text to label: arrows move, Shift+arrows select, number keys label");
      this.body.addEventListener("mouseup", () => this.readMouseSelection());
      this.body.addEventListener("keydown", (event) => {
        if (this.key(event)) {
          event.preventDefault();
          event.stopPropagation();
        }
      });
      this.context.store.subscribe(() => this.render());
      this.context.selection.subscribe(() => this.render());
      this.render();
    }
    this.paletteBar.append(palette.element);
  }

  get focusTarget(): HTMLElement {
    return this.palettes.length ? this.body : this.element;
  }

  get labelable(): boolean {
    return this.palettes.length > 0;
  }

  pick(index: number): void {
    let offset = index;
    for (const palette of this.palettes) {
      if (offset < palette.labels.length) return this.pickIn(palette, offset);
      offset -= palette.labels.length;
    }
  }

  private pickIn(palette: LabelPalette, index: number): void {
    const selection = this.selectionRange();
    if (selection) {
      this.addSpan(palette, index, selection[0], selection[1]);
      return;
    }
    if (this.selected && this.selected.from_name === palette.name) {
      // A region is selected and no text: relabel it.
      const label = palette.labels[index].value;
      const updated = { ...this.selected, value: { ...this.selected.value, labels: [label] } };
      this.context.store.set(this.context.store.result.map((region) => (region === this.selected ? updated : region)));
      this.selected = updated;
      return;
    }
    for (const other of this.palettes) if (other !== palette) other.setActive(null);
    palette.setActive(palette.active === index ? null : index);
    this.context.notify(
      palette.active === null ? "No label chosen." : `Label ${palette.labels[index].value}: select text to apply it.`,
    );
  }

  private addSpan(palette: LabelPalette, index: number, start: number, end: number): void {
    const label = palette.labels[index].value;
    const duplicate = this.context.store
      .of(palette.name)
      .some((region) => region.value.start === start && region.value.end === end && (region.value.labels as string[])?.[0] === label);
    this.anchor = null;
    this.caret = end;
    if (duplicate) {
      this.render();
      return;
    }
    const region: Region = {
      id: regionId(),
      from_name: palette.name,
      to_name: this.name,
      type: "labels",
      value: { start, end, text: this.index.slice(start, end), labels: [label] },
    };
    this.selected = null;
    // A new span is the one per-region controls answer for (as in Label Studio), without becoming
    // "selected" here: the next number key still labels the next selection, not this span.
    this.context.selection.set(region.id ?? null);
    this.context.store.set([...this.context.store.result, region]);
  }

  private selectionRange(): [number, number] | null {
    if (this.anchor === null || this.anchor === this.caret) return null;
    return [Math.min(this.anchor, this.caret), Math.max(this.anchor, this.caret)];
  }

  key(event: KeyboardEvent): boolean {
    if (!this.palettes.length) return false;
    const length = this.index.length;
    const move = (to: number) => {
      if (event.shiftKey) {
        if (this.anchor === null) this.anchor = this.caret;
      } else {
        this.anchor = null;
      }
      this.caret = Math.max(0, Math.min(length, to));
      this.selected = null;
      this.render();
      return true;
    };
    switch (event.key) {
      case "ArrowRight":
        return move(event.ctrlKey || event.altKey ? this.wordEdge(this.caret, 1) : this.caret + 1);
      case "ArrowLeft":
        return move(event.ctrlKey || event.altKey ? this.wordEdge(this.caret, -1) : this.caret - 1);
      case "Home":
        return move(0);
      case "End":
        return move(length);
      case "Escape":
        if (this.anchor !== null || this.selected || this.ownsSelection()) {
          this.anchor = null;
          this.selected = null;
          this.context.selection.set(null);
          this.render();
          return true;
        }
        return false;
      case "Delete":
      case "Backspace":
        if (this.selected) {
          this.context.store.remove(this.selected);
          this.selected = null;
          return true;
        }
        return false;
      default:
        return false;
    }
  }

  private wordEdge(from: number, direction: 1 | -1): number {
    const text = Array.from(this.index.text);
    let position = from;
    const isSpace = (i: number) => /\s|[、。，．,.!?！？]/u.test(text[i] ?? " ");
    if (direction > 0) {
      while (position < text.length && isSpace(position)) position++;
      while (position < text.length && !isSpace(position)) position++;
    } else {
      while (position > 0 && isSpace(position - 1)) position--;
      while (position > 0 && !isSpace(position - 1)) position--;
    }
    return position;
  }

  /** The native selection, turned into code point offsets and into our own selection. */
  private readMouseSelection(): void {
    const selection = window.getSelection();
    if (!selection || selection.rangeCount === 0) return;
    const range = selection.getRangeAt(0);
    if (!this.body.contains(range.startContainer) || !this.body.contains(range.endContainer)) return;
    if (selection.isCollapsed) {
      const at = this.pointToCodePoint(range.startContainer, range.startOffset);
      this.caret = at;
      this.anchor = null;
      this.selected = this.regionAt(range.startContainer);
      if (this.selected) this.context.selection.set(this.selected.id ?? null);
      this.render();
      return;
    }
    const start = this.pointToCodePoint(range.startContainer, range.startOffset);
    const end = this.pointToCodePoint(range.endContainer, range.endOffset);
    selection.removeAllRanges();
    if (end <= start) return;
    this.anchor = start;
    this.caret = end;
    this.selected = null;
    this.body.focus();
    const active = this.palettes.find((palette) => palette.active !== null);
    if (active && active.active !== null) this.addSpan(active, active.active, start, end);
    else this.render();
  }

  private regionAt(node: Node): Region | null {
    const segment = (node instanceof Element ? node : node.parentElement)?.closest<HTMLElement>("[data-s]");
    if (!segment) return null;
    const start = Number(segment.dataset.s);
    const covering = this.spans().filter((span) => span.start <= start && start < span.end);
    // The innermost span: the one a click most likely means.
    covering.sort((a, b) => a.end - a.start - (b.end - b.start));
    return covering[0]?.region ?? null;
  }

  pointToCodePoint(node: Node, offset: number): number {
    if (node.nodeType === Node.TEXT_NODE) {
      const segment = node.parentElement?.closest<HTMLElement>("[data-s]");
      if (!segment) return this.edgeOf(node.parentElement);
      const base = Number(segment.dataset.s);
      const local = new CodePointIndex((node as Text).data);
      return Math.min(this.index.length, base + local.fromUtf16(offset));
    }
    const element = node as Element;
    if (element.matches?.("[data-s]")) return offset === 0 ? Number((element as HTMLElement).dataset.s) : Number((element as HTMLElement).dataset.e);
    const child = element.childNodes[offset];
    if (child) return this.edgeOf(child as Element, "start");
    return this.edgeOf(element.lastChild as Element | null, "end");
  }

  private edgeOf(node: Element | Node | null, side: "start" | "end" = "end"): number {
    let current: Node | null = node;
    while (current && current !== this.body) {
      if (current instanceof HTMLElement) {
        if (current.dataset.s !== undefined) return Number(side === "start" ? current.dataset.s : current.dataset.e);
        if (current.dataset.at !== undefined) return Number(current.dataset.at);
      }
      current = side === "start" ? current.nextSibling ?? current.parentNode : current.previousSibling ?? current.parentNode;
    }
    return side === "start" ? this.index.length : 0;
  }

  private spans(): Span[] {
    const spans: Span[] = [];
    for (const palette of this.palettes) {
      for (const region of this.context.store.of(palette.name)) {
        if (region.to_name !== this.name) continue;
        const start = Number(region.value.start);
        const end = Number(region.value.end);
        const label = ((region.value.labels as string[]) ?? [])[0] ?? "";
        const known = palette.labels.find((candidate) => candidate.value === label);
        spans.push({ region, start, end, label, colour: known?.colour ?? "#888" });
      }
    }
    return spans.sort((a, b) => a.start - b.start || b.end - a.end);
  }

  render(): void {
    if (!this.palettes.length) return;
    if (this.selected && !this.context.store.result.includes(this.selected)) this.selected = null;
    const spans = this.spans();
    const length = this.index.length;
    // The region per-region controls answer for is outlined too (only when such controls exist).
    const shared = this.ownsSelection() ? this.context.selection.id : null;
    const selection = this.selectionRange();
    const cuts = new Set<number>([0, length, this.caret]);
    for (const span of spans) {
      cuts.add(Math.max(0, Math.min(length, span.start)));
      cuts.add(Math.max(0, Math.min(length, span.end)));
    }
    if (selection) selection.forEach((cut) => cuts.add(cut));
    const points = [...cuts].sort((a, b) => a - b);
    const nodes: Node[] = [];
    // Each span's row: spans that overlap get different rows, so each keeps its own bar.
    const rows = new Map<Region, number>();
    const rowEnds: number[] = [];
    for (const span of spans) {
      let row = rowEnds.findIndex((end) => end <= span.start);
      if (row === -1) row = rowEnds.length;
      rowEnds[row] = span.end;
      rows.set(span.region, row);
    }
    for (let i = 0; i < points.length; i++) {
      const start = points[i];
      // The caret shows only while the text has focus (CSS), so focusing needs no re-render,
      // which would replace the nodes under a starting mouse selection.
      if (start === this.caret && !selection) nodes.push(el("span", { className: "caret", data: { at: start }, attrs: { "aria-hidden": "true" } }));
      const end = points[i + 1];
      if (end === undefined || end === start) continue;
      const covering = spans.filter((span) => span.start <= start && end <= span.end);
      const segment = el("span", { className: "seg", data: { s: start, e: end }, text: this.index.slice(start, end) });
      if (covering.length) {
        segment.classList.add("labeled");
        const bars = covering.map((span) => `linear-gradient(${span.colour}, ${span.colour})`);
        const positions = covering.map((span) => `0 calc(100% - ${rows.get(span.region)! * (BAR_PX + BAR_GAP_PX)}px)`);
        segment.style.backgroundImage = bars.join(", ");
        segment.style.backgroundPosition = positions.join(", ");
        segment.style.backgroundSize = covering.map(() => `100% ${BAR_PX}px`).join(", ");
        segment.style.backgroundRepeat = "no-repeat";
        segment.style.backgroundColor = colourWithAlpha(covering[covering.length - 1].colour, 0.14);
        const depth = Math.max(...covering.map((span) => rows.get(span.region)!)) + 1;
        segment.style.paddingBottom = `${depth * (BAR_PX + BAR_GAP_PX)}px`;
        segment.title = covering.map((span) => span.label).join(" + ");
        if (covering.some((span) => span.region === this.selected || (span.region.id !== undefined && span.region.id === shared))) {
        segment.classList.add("selected-region");
      }
      }
      if (selection && selection[0] <= start && end <= selection[1]) segment.classList.add("kbd-selection");
      nodes.push(segment);
      for (const span of spans) {
        if (span.end === end) {
          const badge = el("sup", { className: "badge", text: span.label, attrs: { "aria-hidden": "true" }, data: { at: end } });
          badge.style.backgroundColor = span.colour;
          badge.style.color = textColourOn(span.colour);
          nodes.push(badge);
        }
      }
    }
    replaceChildren(this.body, ...nodes);
    this.renderList(spans, shared);
  }

  /** True when the selected region is one of this text's spans and per-region controls answer for it. */
  private ownsSelection(): boolean {
    const id = this.context.selection.id;
    if (id === null || !this.context.selection.perRegionObjects.has(this.name)) return false;
    return this.context.store.result.some((region) => region.id === id && region.to_name === this.name && region.type === "labels");
  }

  private renderList(spans: Span[], shared: string | null): void {
    const items = spans.map((span) => {
      const item = el(
        "li",
        { className: this.selected === span.region || (span.region.id !== undefined && span.region.id === shared) ? "selected" : "" },
        el("i", { className: "swatch" }),
        el("b", { text: span.label }),
        " ",
        el("span", { className: "region-text", text: this.index.slice(span.start, span.end) }),
        " ",
        el("small", { text: `[${span.start}, ${span.end})` }),
        el("button", {
          className: "remove",
          text: "×",
          title: "Remove this span",
          attrs: { type: "button", tabindex: "-1", "aria-label": `Remove ${span.label}` },
          on: { click: () => this.context.store.remove(span.region) },
        }),
      );
      (item.firstChild as HTMLElement).style.backgroundColor = span.colour;
      item.addEventListener("click", (event) => {
        if ((event.target as HTMLElement).classList.contains("remove")) return;
        this.selected = span.region;
        this.context.selection.set(span.region.id ?? null);
        this.render();
        this.body.focus();
      });
      return item;
    });
    replaceChildren(this.list, ...items);
  }
}

function asText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && "text" in value) return String((value as { text: unknown }).text);
  return JSON.stringify(value);
}
