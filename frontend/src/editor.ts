// Builds the labeling interface of one task from the project's Label Studio config.
//
// Supported: View, Header; Text and HyperText (shown as text, never as markup), Image, Paragraphs;
// Choices, Labels, TextArea, Rating, RectangleLabels, PolygonLabels, ParagraphLabels. Any other tag is
// named in a notice, so an annotator never submits a result that silently misses a part of the config.

import { type ConfigNode, CONTROL_TAGS, OBJECT_TAGS, resolve, toNames, walk } from "./config";
import { el } from "./dom";
import type { EditorContext, KeyTarget } from "./editors/base";
import { ChoicesControl, RatingControl, TextAreaControl } from "./editors/controls";
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
  /** Controls marked required="true" (as in Label Studio): the page refuses to submit without them. */
  private readonly required: { name: string; focus: () => void }[] = [];

  constructor(
    config: ConfigNode,
    private readonly context: EditorContext,
  ) {
    walk(config, (node) => {
      if (OBJECT_TAGS.has(node.tag) && node.tag !== "header") this.objects.set(node.attrs.name ?? "", this.objectView(node));
    });
    this.element = el("div", { className: "editor" });
    const root = this.render(config);
    if (root) this.element.append(root);
    // Object views with palettes take the number keys first: labeling a span or a turn is the main job.
    for (const view of this.objects.values()) {
      if (hasPalettes(view)) this.targets.unshift(view);
    }
    if (this.unsupported.length) {
      this.element.prepend(
        el("p", {
          className: "notice error",
          text: `This project's config uses ${this.unsupported.join(", ")}, which this labeling page does not support yet.`,
        }),
      );
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
    const element = this.renderNode(node);
    if (CONTROL_TAGS.has(node.tag) && node.attrs.required === "true") {
      const view = this.objects.get(toNames(node)[0] ?? "");
      const target = element ?? view?.focusTarget ?? null;
      this.required.push({ name: node.attrs.name ?? "", focus: () => target?.focus() });
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
      const view = this.objects.get(node.attrs.name ?? "");
      return view ? view.element : null;
    }
    if (node.tag in PALETTE_TAGS) {
      const palette = new LabelPalette(node);
      for (const target of toNames(node)) {
        const view = this.objects.get(target);
        if (view) (view as { attach(p: LabelPalette): void }).attach(palette);
      }
      this.lastHeading = null;
      return null; // the palette lives inside the view it labels
    }
    if (node.tag === "choices") {
      if (node.attrs.perRegion === "true" || node.attrs.perItem === "true") this.unsupported.push("per-region Choices");
      const control = new ChoicesControl(node, this.context);
      this.targets.push(control);
      this.lastHeading = null;
      return control.element;
    }
    if (node.tag === "rating") {
      const control = new RatingControl(node, this.context, this.lastHeading);
      this.targets.push(control);
      this.lastHeading = null;
      return control.element;
    }
    if (node.tag === "textarea") {
      const control = new TextAreaControl(node, this.context, this.lastHeading);
      this.textAreas.push(control);
      this.lastHeading = null;
      return control.element;
    }
    if (IGNORED_TAGS.has(node.tag)) return null;
    this.unsupported.push(`<${node.tag}>`);
    return null;
  }

  /** Required controls that have no answer yet; the first one takes focus. */
  missingRequired(): string[] {
    const missing = this.required.filter((control) => this.context.store.of(control.name).length === 0);
    missing[0]?.focus();
    return missing.map((control) => control.name);
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
    const target = this.targets.find((candidate) => active && candidate.element.contains(active));
    return target?.key ? target.key(event) : false;
  }
}

function hasPalettes(view: ObjectView): boolean {
  return view.labelable;
}

function focusOf(target: KeyTarget): HTMLElement {
  return "focusTarget" in target ? (target as { focusTarget: HTMLElement }).focusTarget : target.element;
}
