// Multi-turn conversations: Label Studio's Paragraphs object with ParagraphLabels, one label per turn.
// A turn's region covers the whole utterance, as Label Studio writes it when a whole paragraph is
// selected: start and end are the turn's index (as strings), startOffset 0, endOffset its length in
// code points.

import { textColourOn } from "../colour";
import { el, replaceChildren } from "../dom";
import { regionId } from "../store";
import type { Region } from "../types";
import { codePointLength } from "../unicode";
import type { EditorContext, KeyTarget } from "./base";
import type { LabelPalette } from "./palette";

interface Turn {
  author: string;
  text: string;
}

export class ParagraphsView implements KeyTarget {
  readonly name: string;
  readonly element: HTMLElement;
  private readonly turns: Turn[];
  private readonly list: HTMLElement;
  private readonly palettes: LabelPalette[] = [];
  private readonly paletteBar = el("div", { className: "palette-bar" });
  private current = 0;

  constructor(
    name: string,
    value: unknown,
    attrs: Record<string, string>,
    private readonly context: EditorContext,
  ) {
    this.name = name;
    const nameKey = attrs.nameKey ?? "author";
    const textKey = attrs.textKey ?? "text";
    this.turns = (Array.isArray(value) ? value : []).map((item) => ({
      author: item && typeof item === "object" ? String((item as Record<string, unknown>)[nameKey] ?? "") : "",
      text:
        item && typeof item === "object" ? String((item as Record<string, unknown>)[textKey] ?? "") : String(item ?? ""),
    }));
    this.list = el("ol", { className: "turns" });
    this.element = el("section", { className: "object paragraphs-object", data: { object: name } }, this.list);
    context.store.subscribe(() => this.render());
    this.render();
  }

  attach(palette: LabelPalette): void {
    const offset = this.palettes.reduce((sum, existing) => sum + existing.labels.length, 0);
    this.palettes.push(palette);
    palette.bind(offset, (index) => this.label(palette, index));
    if (this.palettes.length === 1) this.element.prepend(this.paletteBar);
    this.paletteBar.append(palette.element);
    if (this.palettes.length === 1) {
      this.list.tabIndex = 0;
      this.list.setAttribute("aria-label", "Conversation: up and down choose a turn, number keys label it");
      this.list.addEventListener("keydown", (event) => {
        if (this.key(event)) {
          event.preventDefault();
          event.stopPropagation();
        }
      });
    }
    this.render();
  }

  get focusTarget(): HTMLElement {
    return this.palettes.length ? this.list : this.element;
  }

  get labelable(): boolean {
    return this.palettes.length > 0;
  }

  pick(index: number): void {
    let offset = index;
    for (const palette of this.palettes) {
      if (offset < palette.labels.length) return this.label(palette, offset);
      offset -= palette.labels.length;
    }
  }

  key(event: KeyboardEvent): boolean {
    if (!this.palettes.length) return false;
    if (event.key === "ArrowDown" || event.key === "j") return this.moveTo(this.current + 1);
    if (event.key === "ArrowUp" || event.key === "k") return this.moveTo(this.current - 1);
    if (event.key === "Delete" || event.key === "Backspace") {
      const regions = this.regionsOf(this.current);
      if (!regions.length) return false;
      this.context.store.removeAll(regions);
      return true;
    }
    return false;
  }

  private moveTo(index: number): boolean {
    this.current = Math.max(0, Math.min(this.turns.length - 1, index));
    this.selectCurrent();
    this.render();
    this.list.children[this.current]?.scrollIntoView({ block: "nearest" });
    return true;
  }

  private regionsOf(turn: number, palette?: LabelPalette): Region[] {
    const names = (palette ? [palette] : this.palettes).map((candidate) => candidate.name);
    return this.context.store.result.filter(
      (region) => names.includes(region.from_name) && region.to_name === this.name && Number(region.value.start) === turn,
    );
  }

  private label(palette: LabelPalette, index: number): void {
    const turn = this.turns[this.current];
    if (!turn) return;
    const label = palette.labels[index].value;
    const existing = this.regionsOf(this.current, palette);
    const same = existing.length === 1 && (existing[0].value.paragraphlabels as string[])?.[0] === label;
    const others = this.context.store.result.filter((region) => !existing.includes(region));
    if (same) {
      this.context.store.removeAll(existing);
      return;
    }
    const region: Region = {
      id: existing[0]?.id ?? regionId(),
      from_name: palette.name,
      to_name: this.name,
      type: "paragraphlabels",
      value: {
        start: String(this.current),
        end: String(this.current),
        startOffset: 0,
        endOffset: codePointLength(turn.text),
        text: turn.text,
        paragraphlabels: [label],
      },
    };
    this.context.store.set([...others, region]);
    this.selectCurrent();
    // One label per turn is the common case: go on to the next turn, unless per-turn controls
    // (per-region Choices, Rating, TextArea) are there to answer for this one next.
    const perTurn = this.context.selection.perRegionObjects.has(this.name);
    if (!perTurn && this.current < this.turns.length - 1) this.moveTo(this.current + 1);
  }

  /** The current turn's labeled region is the one per-region controls answer for. */
  private selectCurrent(): void {
    if (!this.context.selection.perRegionObjects.has(this.name)) return;
    this.context.selection.set(this.regionsOf(this.current)[0]?.id ?? null);
  }

  render(): void {
    const rows = this.turns.map((turn, index) => {
      const badges = this.regionsOf(index).map((region) => {
        const label = (region.value.paragraphlabels as string[])?.[0] ?? "";
        const palette = this.palettes.find((candidate) => candidate.name === region.from_name);
        const colour = palette?.labels.find((candidate) => candidate.value === label)?.colour ?? "#888";
        const badge = el("span", { className: "badge", text: label });
        badge.style.backgroundColor = colour;
        badge.style.color = textColourOn(colour);
        return badge;
      });
      const row = el(
        "li",
        {
          className: index === this.current && this.palettes.length ? "turn current" : "turn",
          data: { turn: index },
          on: {
            click: () => {
              this.current = index;
              this.selectCurrent();
              this.render();
              this.list.focus();
            },
          },
        },
        el("span", { className: "author", text: turn.author }),
        el("span", { className: "utterance", text: turn.text }),
        el("span", { className: "turn-labels" }, ...badges),
      );
      return row;
    });
    replaceChildren(this.list, ...rows);
  }
}
