// Builds the labeling interface of one task from the project's Label Studio config.
//
// Supported: View, Header; Text and HyperText (shown as text, never as markup), Image, Paragraphs;
// Choices, Labels, TextArea, Rating, RectangleLabels, PolygonLabels, ParagraphLabels, Pairwise;
// per-region Choices, Rating and TextArea; per-option hotkeys. Any other tag or variant is listed in
// ``unsupported``: the page names it and refuses to submit, so an annotator never submits a result that
// silently misses a part of the config.

import { type ConfigNode, CONTROL_TAGS, hotkeyOf, OBJECT_TAGS, options, resolve, showHotkey, toNames, walk } from "./config";
import { el } from "./dom";
import type { EditorContext, KeyTarget } from "./editors/base";
import { ChoicesControl, PairwiseControl, RatingControl, TextAreaControl } from "./editors/controls";
import { ParagraphsView } from "./editors/dialogue";
import { ImageView } from "./editors/image";
import { LabelPalette } from "./editors/palette";
import { TextView } from "./editors/text";

type ObjectView = TextView | ImageView | ParagraphsView;

const IGNORED_TAGS = new Set(["style", "choice", "label", "filter", "relations", "relation", "shortcut"]);
const PALETTE_TAGS: Record<string, string> = {
  labels: "text",
  rectanglelabels: "image",
  polygonlabels: "image",
  paragraphlabels: "paragraphs",
};

export class Editor {
  readonly element: HTMLElement;
  readonly unsupported: string[] = [];
  private readonly objects = new Map<string, ObjectView>();
  private readonly targets: KeyTarget[] = [];
  private readonly textAreas: TextAreaControl[] = [];
  private lastHeading: string | null = null;
  /** Objects a Pairwise shows inside itself, side by side, instead of where the config has them. */
  private readonly paired = new Set<string>();
  /** Per-option hotkeys from the config (``hotkey="r"``): they win over number keys. */
  private readonly hotkeys = new Map<string, { run: () => void; what: string }>();
  /** Per-region controls, by the objects they answer for: Enter on a selected region goes to them. */
  private readonly perRegion: { element: HTMLElement; focus: () => void; toNames: string[] }[] = [];
  /** Controls marked required="true" (as in Label Studio): the page refuses to submit without them. */
  private readonly required: { name: string; label: string; message: string | null; focus: () => void; perRegion: boolean }[] = [];

  constructor(
    config: ConfigNode,
    private readonly context: EditorContext,
  ) {
    walk(config, (node) => {
      if (OBJECT_TAGS.has(node.tag) && node.tag !== "header") this.objects.set(node.attrs.name ?? "", this.objectView(node));
      if (node.tag === "pairwise") for (const name of toNames(node).slice(0, 2)) this.paired.add(name);
    });
    this.element = el("div", { className: "editor" });
    const root = this.render(config);
    if (root) this.element.append(root);
    // Object views with palettes take the number keys first: labeling a span or a turn is the main job.
    for (const view of this.objects.values()) {
      if (hasPalettes(view)) this.targets.unshift(view);
    }
  }

  private objectView(node: ConfigNode): ObjectView {
    const name = node.attrs.name ?? "";
    const value = resolve(node.attrs.value, this.context.data);
    if (node.tag === "image") return new ImageView(name, value, this.context);
    if (node.tag === "paragraphs") return new ParagraphsView(name, value, node.attrs, this.context);
    return new TextView(name, value, this.context);
  }

  private render(node: ConfigNode): HTMLElement | null {
    // The Header just above a control is its visible heading (renderNode forgets it once used).
    const heading = this.lastHeading;
    const element = this.renderNode(node);
    if (CONTROL_TAGS.has(node.tag) && node.attrs.required === "true") {
      const view = this.objects.get(toNames(node)[0] ?? "");
      const target = element ?? view?.focusTarget ?? null;
      this.required.push({
        name: node.attrs.name ?? "",
        label: visibleLabel(node, heading),
        // Label Studio's own attribute for the refusal's wording, when the config sets one.
        message: node.attrs.requiredMessage?.trim() || null,
        focus: () => target?.focus(),
        perRegion: node.attrs.perRegion === "true",
      });
    }
    return element;
  }

  private renderNode(node: ConfigNode): HTMLElement | null {
    if (node.tag === "view") {
      const container = el("div", { className: "view" });
      const objectChildren = node.children.filter((child) => OBJECT_TAGS.has(child.tag) && child.tag !== "header");
      const controlChildren = node.children.filter((child) => CONTROL_TAGS.has(child.tag));
      if (objectChildren.length >= 2 && controlChildren.length === 0) container.classList.add("side-by-side");
      for (const child of node.children) {
        const rendered = this.render(child);
        if (rendered) container.append(rendered);
      }
      return container;
    }
    if (node.tag === "header") {
      const text = resolve(node.attrs.value, this.context.data);
      this.lastHeading = typeof text === "string" ? text : "";
      return el("h3", { className: "header", text: this.lastHeading });
    }
    if (OBJECT_TAGS.has(node.tag)) {
      // A Header followed by the text it titles is that text's heading, not the next control's.
      this.lastHeading = null;
      if (this.paired.has(node.attrs.name ?? "")) return null; // shown inside its Pairwise
      const view = this.objects.get(node.attrs.name ?? "");
      return view ? view.element : null;
    }
    if (node.tag in PALETTE_TAGS) {
      const palette = new LabelPalette(node);
      for (const target of toNames(node)) {
        const view = this.objects.get(target);
        if (view) (view as { attach(p: LabelPalette): void }).attach(palette);
      }
      palette.labels.forEach((label, index) => this.addHotkey(label.hotkey, () => palette.trigger(index), `${palette.name}: ${label.value}`));
      this.lastHeading = null;
      return null; // the palette lives inside the view it labels
    }
    if (node.tag === "pairwise") {
      const [left, right] = toNames(node).map((name) => this.objects.get(name)?.element ?? null);
      const control = new PairwiseControl(node, this.context, [left ?? null, right ?? null]);
      this.targets.push(control);
      this.lastHeading = null;
      return control.element;
    }
    if (node.tag === "choices") {
      // Label Studio's perItem answers per item of a multi-item object (an Image with valueList),
      // which this page does not show.
      if (node.attrs.perItem === "true") this.unsupported.push("per-item Choices (perItem)");
      const control = new ChoicesControl(node, this.context, visibleLabel(node, this.lastHeading));
      control.choices.forEach((choice, index) => this.addHotkey(choice.hotkey, () => control.pick(index), `${control.answer.name}: ${choice.value}`));
      this.targets.push(control);
      this.notePerRegion(control.answer.perRegion, control.element, () => control.element.focus(), node);
      this.lastHeading = null;
      return control.element;
    }
    if (node.tag === "rating") {
      const control = new RatingControl(node, this.context, this.lastHeading, visibleLabel(node, this.lastHeading));
      this.targets.push(control);
      this.notePerRegion(control.answer.perRegion, control.element, () => control.element.focus(), node);
      this.lastHeading = null;
      return control.element;
    }
    if (node.tag === "textarea") {
      const control = new TextAreaControl(node, this.context, this.lastHeading, visibleLabel(node, this.lastHeading));
      this.textAreas.push(control);
      this.notePerRegion(control.answer.perRegion, control.element, () => control.input.focus(), node);
      this.lastHeading = null;
      return control.element;
    }
    if (IGNORED_TAGS.has(node.tag)) return null;
    this.unsupported.push(`<${node.tag}>`);
    return null;
  }

  private addHotkey(hotkey: string | null, run: () => void, what: string): void {
    if (hotkey && !this.hotkeys.has(hotkey)) this.hotkeys.set(hotkey, { run, what });
  }

  private notePerRegion(perRegion: boolean, element: HTMLElement, focus: () => void, node: ConfigNode): void {
    if (!perRegion) return;
    const names = toNames(node);
    // Per-region answers need regions: spans, shapes or labeled turns of a labelable object.
    const usable = names.some((name) => this.objects.get(name)?.labelable);
    if (!usable) this.unsupported.push(`per-region <${node.tag}> on ${names.join(", ") || "no object"} (no labels there to select)`);
    this.perRegion.push({ element, focus, toNames: names });
  }

  /** The config's hotkeys, for the help overlay: [shown key, what it picks]. */
  hotkeyList(): [string, string][] {
    return [...this.hotkeys].map(([key, { what }]) => [showHotkey(key), what]);
  }

  /** A configured hotkey was pressed: pick its option. */
  hotkey(event: KeyboardEvent): boolean {
    const found = this.hotkeys.get(hotkeyOf(event));
    if (!found) return false;
    found.run();
    return true;
  }

  /**
   * Required controls that have no answer yet, by their visible heading (and the config's own message
   * for them, if it has one); the first one takes focus.
   */
  missingRequired(): { label: string; message: string | null }[] {
    const unanswered = (name: string) => {
      const regions = this.context.store.result;
      const answered = new Set(regions.filter((region) => region.from_name === name).map((region) => region.id));
      const control = this.perRegion.find((candidate) => candidate.element.dataset.control === name);
      // Each region on the control's objects needs its own answer.
      return regions.some((region) => region.type.endsWith("labels") && control?.toNames.includes(region.to_name) && !answered.has(region.id));
    };
    const missing = this.required.filter((control) =>
      control.perRegion ? unanswered(control.name) : this.context.store.of(control.name).length === 0,
    );
    missing[0]?.focus();
    return missing.map(({ label, message }) => ({ label, message }));
  }

  /** Where focus goes when a task opens: the first thing the annotator acts on. */
  focusFirst(): void {
    const first = this.targets[0];
    if (first) {
      focusOf(first).focus({ preventScroll: false });
      return;
    }
    const area = this.textAreas[0];
    if (area) area.input.focus();
  }

  /** Number keys go to the target holding focus, else to the first one. */
  pickNumber(index: number): boolean {
    const active = document.activeElement;
    const target = this.targets.find((candidate) => active && candidate.element.contains(active)) ?? this.targets[0];
    if (!target) return false;
    target.pick(index);
    return true;
  }

  /** Keys other than numbers for the target holding focus (Delete, arrows, Escape). */
  key(event: KeyboardEvent): boolean {
    const active = document.activeElement;
    if (event.key === "Enter" && this.toPerRegion(active)) return true;
    if (event.key === "Escape" && this.backFromPerRegion(active)) return true;
    const target = this.targets.find((candidate) => active && candidate.element.contains(active));
    return target?.key ? target.key(event) : false;
  }

  /** Enter in an object with a selected region: on to the controls that answer for it. */
  private toPerRegion(active: Element | null): boolean {
    const id = this.context.selection.id;
    if (!id || !active) return false;
    const region = this.context.store.result.find((candidate) => candidate.id === id);
    const view = region ? this.objects.get(region.to_name) : undefined;
    if (!region || !view || !view.element.contains(active)) return false;
    const control = this.perRegion.find((candidate) => candidate.toNames.includes(region.to_name));
    if (!control) return false;
    control.focus();
    return true;
  }

  /** Escape in a per-region control: back to the object whose region it answers for. */
  backFromPerRegion(active: Element | null): boolean {
    const control = this.perRegion.find((candidate) => active && candidate.element.contains(active));
    const view = control ? this.objects.get(control.toNames[0] ?? "") : undefined;
    if (!view) return false;
    view.focusTarget.focus();
    return true;
  }
}

/**
 * What the annotator sees as a control's name: the Header just above it, else its own caption (hint,
 * placeholder), else its options ("Positive / Negative"); the config's internal name only when it
 * shows nothing else.
 */
export function visibleLabel(control: ConfigNode, heading: string | null): string {
  if (heading?.trim()) return heading.trim();
  const caption = (control.attrs.hint ?? control.attrs.placeholder ?? "").trim();
  if (caption) return caption;
  const values = options(control).map((option) => option.value).filter(Boolean);
  if (values.length) return values.length > 4 ? `${values.slice(0, 4).join(" / ")} / …` : values.join(" / ");
  return control.attrs.name ?? "";
}

/** Which families of keys a config's task uses: the help lists those and no others. */
export interface KeyFeatures {
  numbers: boolean;
  spans: boolean;
  shapes: boolean;
  polygons: boolean;
  turns: boolean;
  pairwise: boolean;
  perRegion: boolean;
  textBoxes: boolean;
}

export function keyFeatures(config: ConfigNode): KeyFeatures {
  const features: KeyFeatures = {
    numbers: false, spans: false, shapes: false, polygons: false, turns: false, pairwise: false, perRegion: false, textBoxes: false,
  };
  const objectTags = new Map<string, string>();
  walk(config, (node) => {
    if (OBJECT_TAGS.has(node.tag) && node.attrs.name) objectTags.set(node.attrs.name, node.tag);
  });
  walk(config, (node) => {
    const labelsObject = PALETTE_TAGS[node.tag] !== undefined && toNames(node).some((name) => objectTags.has(name));
    if (labelsObject) {
      features.numbers = true;
      const tags = toNames(node).map((name) => objectTags.get(name));
      if (node.tag === "labels" && tags.some((tag) => tag === "text" || tag === "hypertext")) features.spans = true;
      if (node.tag === "rectanglelabels" || node.tag === "polygonlabels") features.shapes = true;
      if (node.tag === "polygonlabels") features.polygons = true;
      if (node.tag === "paragraphlabels") features.turns = true;
    }
    if (node.tag === "choices" || node.tag === "rating") features.numbers = true;
    if (node.tag === "pairwise") features.pairwise = features.numbers = true;
    if (node.tag === "textarea") features.textBoxes = true;
    if (CONTROL_TAGS.has(node.tag) && node.attrs.perRegion === "true") features.perRegion = true;
  });
  return features;
}

function hasPalettes(view: ObjectView): boolean {
  return view.labelable;
}

function focusOf(target: KeyTarget): HTMLElement {
  return "focusTarget" in target ? (target as { focusTarget: HTMLElement }).focusTarget : target.element;
}
