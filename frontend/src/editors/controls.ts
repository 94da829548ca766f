// Controls that are not tied to a region of an object: Choices, Rating, TextArea.

import { type ConfigNode, options, toNames } from "../config";
import { el, replaceChildren } from "../dom";
import { regionId } from "../store";
import type { Region } from "../types";
import type { EditorContext, KeyTarget } from "./base";

function caption(control: ConfigNode, fallback: string): HTMLElement | null {
  const text = control.attrs.hint ?? control.attrs.placeholder ?? fallback;
  return text ? el("div", { className: "control-caption", text }) : null;
}

abstract class GroupControl implements KeyTarget {
  readonly element: HTMLElement;
  protected readonly name: string;
  protected readonly toName: string;

  constructor(
    protected readonly control: ConfigNode,
    protected readonly context: EditorContext,
    className: string,
  ) {
    this.name = control.attrs.name ?? "";
    this.toName = toNames(control)[0] ?? "";
    this.element = el("div", {
      className: `control ${className}`,
      attrs: { tabindex: "0", role: "group", "aria-label": this.name },
      data: { control: this.name },
    });
    context.store.subscribe(() => this.render());
  }

  abstract pick(index: number): void;
  abstract render(): void;

  protected region(value: Record<string, unknown>, type: string): Region {
    const existing = this.context.store.of(this.name)[0];
    return { id: existing?.id ?? regionId(), from_name: this.name, to_name: this.toName, type, value };
  }
}

export class ChoicesControl extends GroupControl {
  private readonly choices: { value: string; hint: string | null }[];
  private readonly multiple: boolean;
  private readonly buttons: HTMLButtonElement[];

  constructor(control: ConfigNode, context: EditorContext) {
    super(control, context, "choices");
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
        index < 9 ? el("kbd", { text: String(index + 1) }) : null,
        el("span", { text: choice.value }),
      ),
    );
    const list = el("div", { className: control.attrs.layout === "vertical" ? "choice-list vertical" : "choice-list" });
    replaceChildren(list, ...this.buttons);
    replaceChildren(this.element, caption(control, ""), list);
    this.render();
  }

  selected(): string[] {
    const region = this.context.store.of(this.name)[0];
    return (region?.value.choices as string[] | undefined) ?? [];
  }

  pick(index: number): void {
    const choice = this.choices[index];
    if (!choice) return;
    const current = this.selected();
    let next: string[];
    if (this.multiple) {
      next = current.includes(choice.value) ? current.filter((value) => value !== choice.value) : [...current, choice.value];
      // Keep the config's order, as Label Studio does.
      next = this.choices.map((option) => option.value).filter((value) => next.includes(value));
    } else {
      next = current.length === 1 && current[0] === choice.value ? [] : [choice.value];
    }
    this.context.store.setFor(this.name, next.length ? [this.region({ choices: next }, "choices")] : []);
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

  constructor(control: ConfigNode, context: EditorContext, heading: string | null) {
    super(control, context, "rating");
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
    if (heading) this.element.setAttribute("aria-label", heading);
    replaceChildren(
      this.element,
      heading ? null : el("div", { className: "control-caption", text: this.name }),
      el("div", { className: "stars" }, ...this.buttons),
    );
    this.render();
  }

  pick(index: number): void {
    if (index >= this.maximum) return;
    const rating = index + 1;
    const current = this.context.store.of(this.name)[0]?.value.rating;
    this.context.store.setFor(this.name, current === rating ? [] : [this.region({ rating }, "rating")]);
  }

  render(): void {
    const rating = Number(this.context.store.of(this.name)[0]?.value.rating ?? 0);
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
  private readonly name: string;
  private readonly toName: string;

  constructor(
    control: ConfigNode,
    private readonly context: EditorContext,
    heading: string | null,
  ) {
    this.name = control.attrs.name ?? "";
    this.toName = toNames(control)[0] ?? "";
    const rows = Number.parseInt(control.attrs.rows ?? "4", 10);
    this.input = el("textarea", {
      className: "answer",
      attrs: {
        rows: String(Number.isFinite(rows) && rows > 0 && rows < 40 ? rows : 4),
        placeholder: control.attrs.placeholder ?? "",
        "aria-label": heading ?? control.attrs.placeholder ?? this.name,
        spellcheck: "true",
      },
      data: { control: this.name },
    });
    this.input.addEventListener("input", () => this.save());
    this.element = el("div", { className: "control textarea" }, this.input);
    context.store.subscribe(() => this.render());
    this.render();
  }

  pick(): void {
    // Number keys type digits here; the page only routes them to controls outside text boxes.
  }

  private save(): void {
    const text = this.input.value;
    const existing = this.context.store.of(this.name)[0];
    const regions: Region[] = text.trim()
      ? [{ id: existing?.id ?? regionId(), from_name: this.name, to_name: this.toName, type: "textarea", value: { text: [text] } }]
      : [];
    this.context.store.setFor(this.name, regions, `textarea:${this.name}`);
  }

  render(): void {
    const stored = this.context.store.of(this.name)[0]?.value.text as string[] | undefined;
    const text = stored?.join("\n") ?? "";
    if (text !== this.input.value && !(text === "" && this.input.value.trim() === "")) this.input.value = text;
  }
}
