// Controls that answer with a value rather than a region: Choices, Rating, TextArea. Each answers
// either for the whole task or, with perRegion="true", for the selected region (a span, a shape, a
// labeled turn): then its result has the region's id and repeats its geometry, as Label Studio stores it.

import { type ConfigNode, type Option, options, showHotkey, toNames } from "../config";
import { el, replaceChildren } from "../dom";
import { text } from "../i18n";
import { geometryOf, regionId } from "../store";
import type { Region } from "../types";
import type { EditorContext, KeyTarget } from "./base";

function caption(control: ConfigNode, fallback: string): HTMLElement | null {
  const text = control.attrs.hint ?? control.attrs.placeholder ?? fallback;
  return text ? el("div", { className: "control-caption", text }) : null;
}

const REGION_WORDS: Record<string, string> = {
  labels: "span",
  rectanglelabels: "box",
  polygonlabels: "polygon",
  paragraphlabels: "turn",
};

/** Where a control's answer lives: one result for the task, or one per selected region. */
class Answer {
  readonly name: string;
  readonly toNames: string[];
  readonly perRegion: boolean;

  constructor(
    control: ConfigNode,
    private readonly context: EditorContext,
  ) {
    this.name = control.attrs.name ?? "";
    this.toNames = toNames(control);
    this.perRegion = control.attrs.perRegion === "true";
    if (this.perRegion) for (const name of this.toNames) context.selection.perRegionObjects.add(name);
  }

  /** The selected region this control answers for (per-region controls only). */
  owner(): Region | null {
    const id = this.context.selection.id;
    if (!this.perRegion || id === null) return null;
    return (
      this.context.store.result.find(
        (region) => region.id === id && this.toNames.includes(region.to_name) && region.type in REGION_WORDS,
      ) ?? null
    );
  }

  /** True when the control can take an answer now (a per-region one needs a selected region). */
  get open(): boolean {
    return !this.perRegion || this.owner() !== null;
  }

  current(): Region | null {
    const mine = this.context.store.of(this.name);
    if (!this.perRegion) return mine[0] ?? null;
    const owner = this.owner();
    return owner ? (mine.find((region) => region.id === owner.id) ?? null) : null;
  }

  /** Store ``value`` as the answer (``null`` clears it). */
  write(type: string, value: Record<string, unknown> | null, coalesce: string | null = null): void {
    const store = this.context.store;
    if (!this.perRegion) {
      const existing = store.of(this.name)[0];
      // Label Studio stores a Pairwise answer with to_name naming the control itself.
      const toName = type === "pairwise" ? this.name : (this.toNames[0] ?? "");
      const region: Region = { id: existing?.id ?? regionId(), from_name: this.name, to_name: toName, type, value: value ?? {} };
      store.setFor(this.name, value ? [region] : [], coalesce);
      return;
    }
    const owner = this.owner();
    if (!owner) return;
    const others = store.result.filter((region) => !(region.from_name === this.name && region.id === owner.id));
    if (!value) {
      store.set(others, coalesce);
      return;
    }
    const geometry = geometryOf(owner.value);
    // A per-region TextArea's answers go under "text", where a span keeps its own text.
    if (type === "textarea") delete geometry.text;
    const region: Region = { id: owner.id, from_name: this.name, to_name: owner.to_name, type, value: { ...geometry, ...value } };
    for (const key of ["original_width", "original_height", "image_rotation"]) {
      if (owner[key] !== undefined) region[key] = owner[key];
    }
    store.set([...others, region], coalesce);
  }

  /** "For the selected box: Cloud", or what to do to get one. */
  describeOwner(): string {
    const owner = this.owner();
    if (!owner) return "Select a region to answer this for it.";
    const labels = (owner.value[owner.type] as string[] | undefined) ?? [];
    const text = typeof owner.value.text === "string" ? ` “${owner.value.text.slice(0, 30)}”` : "";
    const turn = owner.type === "paragraphlabels" ? ` ${Number(owner.value.start) + 1}` : "";
    return `For the selected ${REGION_WORDS[owner.type]}${turn}: ${labels.join(", ")}${text}`;
  }
}

abstract class GroupControl implements KeyTarget {
  readonly element: HTMLElement;
  readonly answer: Answer;
  protected readonly name: string;
  protected readonly regionCaption = el("div", { className: "region-caption" });

  constructor(
    protected readonly control: ConfigNode,
    protected readonly context: EditorContext,
    className: string,
    /** What the annotator sees as this control's name (its heading): messages use it, never ``name``. */
    protected readonly label: string,
  ) {
    this.answer = new Answer(control, context);
    this.name = this.answer.name;
    this.element = el("div", {
      className: `control ${className}`,
      attrs: { tabindex: "0", role: "group", "aria-label": label },
      data: { control: this.name },
    });
    if (this.answer.perRegion) this.element.classList.add("per-region");
    context.store.subscribe(() => this.refresh());
    context.selection.subscribe(() => this.refresh());
  }

  abstract pick(index: number): void;
  abstract render(): void;

  protected refresh(): void {
    if (this.answer.perRegion) {
      this.regionCaption.textContent = this.answer.describeOwner();
      this.element.classList.toggle("idle", !this.answer.open);
      this.element.setAttribute("aria-disabled", String(!this.answer.open));
    }
    this.render();
  }

  protected opening(): boolean {
    if (this.answer.open) return true;
    this.context.notify(text("regionFirst", { name: this.label }), "error");
    return false;
  }
}

export class ChoicesControl extends GroupControl {
  readonly choices: Option[];
  private readonly multiple: boolean;
  private readonly buttons: HTMLButtonElement[];

  constructor(control: ConfigNode, context: EditorContext, label: string) {
    super(control, context, "choices", label);
    this.choices = options(control);
    this.multiple = control.attrs.choice === "multiple";
    this.element.setAttribute("role", this.multiple ? "group" : "radiogroup");
    this.buttons = this.choices.map((choice, index) =>
      el(
        "button",
        {
          className: "choice",
          title: choice.hint ?? undefined,
          attrs: { type: "button", tabindex: "-1", role: this.multiple ? "checkbox" : "radio" },
          data: { choice: choice.value },
          on: { click: () => this.pick(index) },
        },
        // A configured hotkey is shown instead of the number.
        choice.hotkey ? el("kbd", { text: showHotkey(choice.hotkey) }) : index < 9 ? el("kbd", { text: String(index + 1) }) : null,
        el("span", { text: choice.value }),
      ),
    );
    const list = el("div", { className: control.attrs.layout === "vertical" ? "choice-list vertical" : "choice-list" });
    replaceChildren(list, ...this.buttons);
    replaceChildren(this.element, caption(control, ""), this.answer.perRegion ? this.regionCaption : null, list);
    this.refresh();
  }

  selected(): string[] {
    return (this.answer.current()?.value.choices as string[] | undefined) ?? [];
  }

  pick(index: number): void {
    const choice = this.choices[index];
    if (!choice || !this.opening()) return;
    const current = this.selected();
    let next: string[];
    if (this.multiple) {
      next = current.includes(choice.value) ? current.filter((value) => value !== choice.value) : [...current, choice.value];
      // Keep the config's order, as Label Studio does.
      next = this.choices.map((option) => option.value).filter((value) => next.includes(value));
    } else {
      next = current.length === 1 && current[0] === choice.value ? [] : [choice.value];
    }
    this.answer.write("choices", next.length ? { choices: next } : null);
  }

  render(): void {
    const selected = this.selected();
    this.buttons.forEach((button, index) => {
      const on = selected.includes(this.choices[index].value);
      button.classList.toggle("active", on);
      button.setAttribute("aria-checked", String(on));
    });
  }
}

export class RatingControl extends GroupControl {
  private readonly maximum: number;
  private readonly buttons: HTMLButtonElement[];

  constructor(control: ConfigNode, context: EditorContext, heading: string | null, label: string) {
    super(control, context, "rating", label);
    const configured = Number.parseInt(control.attrs.maxRating ?? "5", 10);
    this.maximum = Number.isFinite(configured) && configured > 0 && configured <= 10 ? configured : 5;
    this.buttons = Array.from({ length: this.maximum }, (_, index) =>
      el(
        "button",
        {
          className: "star",
          attrs: { type: "button", tabindex: "-1", "aria-label": `${index + 1} of ${this.maximum}` },
          on: { click: () => this.pick(index) },
        },
        el("kbd", { text: String(index + 1) }),
        el("span", { className: "star-icon", text: "★" }),
      ),
    );
    this.element.setAttribute("role", "radiogroup");
    // A Header just above already names the axis; otherwise the control's name does.
    if (!heading) this.element.setAttribute("aria-label", this.name);
    replaceChildren(
      this.element,
      heading ? null : el("div", { className: "control-caption", text: this.name }),
      this.answer.perRegion ? this.regionCaption : null,
      el("div", { className: "stars" }, ...this.buttons),
    );
    this.refresh();
  }

  pick(index: number): void {
    if (index >= this.maximum || !this.opening()) return;
    const rating = index + 1;
    const current = this.answer.current()?.value.rating;
    this.answer.write("rating", current === rating ? null : { rating });
  }

  render(): void {
    const rating = Number(this.answer.current()?.value.rating ?? 0);
    this.buttons.forEach((button, index) => {
      button.classList.toggle("filled", index < rating);
      button.setAttribute("aria-checked", String(index + 1 === rating));
    });
    this.element.dataset.rating = String(rating);
  }
}

/** One free-text answer (TextArea): a prompt's response, a reason, a reviewer's comment. */
export class TextAreaControl implements KeyTarget {
  readonly element: HTMLElement;
  readonly input: HTMLTextAreaElement;
  readonly answer: Answer;
  private readonly name: string;
  private readonly regionCaption = el("div", { className: "region-caption" });

  constructor(control: ConfigNode, context: EditorContext, heading: string | null, label: string) {
    this.answer = new Answer(control, context);
    this.name = this.answer.name;
    const rows = Number.parseInt(control.attrs.rows ?? "4", 10);
    this.input = el("textarea", {
      className: "answer",
      attrs: {
        rows: String(Number.isFinite(rows) && rows > 0 && rows < 40 ? rows : 4),
        placeholder: control.attrs.placeholder ?? "",
        "aria-label": heading ?? label,
        spellcheck: "true",
      },
      data: { control: this.name },
    });
    this.input.addEventListener("input", () => this.save());
    this.element = el("div", { className: "control textarea", data: { control: this.name } }, this.answer.perRegion ? this.regionCaption : null, this.input);
    if (this.answer.perRegion) this.element.classList.add("per-region");
    context.store.subscribe(() => this.render());
    context.selection.subscribe(() => this.render());
    this.render();
  }

  pick(): void {
    // Number keys type digits here; the page only routes them to controls outside text boxes.
  }

  private save(): void {
    const text = this.input.value;
    const owner = this.answer.owner()?.id ?? "";
    this.answer.write("textarea", text.trim() ? { text: [text] } : null, `textarea:${this.name}:${owner}`);
  }

  render(): void {
    if (this.answer.perRegion) {
      this.regionCaption.textContent = this.answer.describeOwner();
      this.input.disabled = !this.answer.open;
      this.element.classList.toggle("idle", !this.answer.open);
    }
    const stored = this.answer.current()?.value.text as string[] | undefined;
    const text = stored?.join("\n") ?? "";
    if (text !== this.input.value && !(text === "" && this.input.value.trim() === "")) this.input.value = text;
    // Another region selected with no answer yet: an empty box, not the last region's words.
    if (text === "" && this.answer.perRegion && this.input.value.trim() !== "" && !this.answer.current()) this.input.value = "";
  }
}

/**
 * Label Studio's Pairwise: two objects (toName="left,right") side by side, pick the better one.
 * Result: ``{"type": "pairwise", "value": {"selected": "left" | "right"}}`` with ``to_name`` the
 * control's own name, as Label Studio stores it. A tie and a reason are extra
 * Choices / TextArea controls next to it, as in Label Studio.
 */
export class PairwiseControl implements KeyTarget {
  readonly element: HTMLElement;
  readonly answer: Answer;
  private readonly sides: HTMLElement[];

  constructor(control: ConfigNode, context: EditorContext, objects: [HTMLElement | null, HTMLElement | null]) {
    this.answer = new Answer(control, context);
    const keys = ["←", "→"];
    this.sides = (["left", "right"] as const).map((side, index) =>
      el(
        "div",
        { className: `pair-side ${side}`, attrs: { role: "radio" }, data: { side }, on: { click: () => this.pick(index) } },
        el("div", { className: "pair-head" }, el("kbd", { text: keys[index] }), el("kbd", { text: String(index + 1) }), ` ${side === "left" ? "Left" : "Right"} is better`),
        objects[index],
      ),
    );
    this.element = el(
      "div",
      {
        className: "control pairwise",
        attrs: { tabindex: "0", role: "radiogroup", "aria-label": `${this.answer.name}: ← left is better, → right is better` },
        data: { control: this.answer.name },
      },
      el("div", { className: "pair" }, ...this.sides),
    );
    context.store.subscribe(() => this.render());
    this.render();
  }

  selected(): string | null {
    const value = this.answer.current()?.value.selected;
    return typeof value === "string" ? value : null;
  }

  pick(index: number): void {
    const side = ["left", "right"][index];
    if (!side) return;
    // A number key or a click on the chosen side again takes the choice back; arrows only choose.
    this.answer.write("pairwise", this.selected() === side ? null : { selected: side });
  }

  key(event: KeyboardEvent): boolean {
    if (event.shiftKey) return false;
    const side = { ArrowLeft: "left", ArrowRight: "right" }[event.key];
    if (!side) return false;
    this.answer.write("pairwise", { selected: side });
    return true;
  }

  render(): void {
    const selected = this.selected();
    this.sides.forEach((side) => {
      const on = side.dataset.side === selected;
      side.classList.toggle("chosen", on);
      side.setAttribute("aria-checked", String(on));
    });
  }
}
