import { el, labelColour, replaceChildren } from "../dom";
import { type ConfigNode, options, showHotkey } from "../config";
import type { Palette } from "./base";

/**
 * The label buttons of a Labels-like control. Buttons are not in the tab order: the object view they
 * label takes focus and sends number keys here, so Tab moves between views and controls, not labels.
 */
export class LabelPalette implements Palette {
  readonly name: string;
  readonly tag: string;
  labels: { value: string; colour: string; hotkey: string | null }[];
  private readonly configured: (string | null)[];
  readonly element: HTMLElement;
  active: number | null = null;
  private readonly buttons: HTMLButtonElement[] = [];
  private onPick: (index: number) => void = () => undefined;
  private offset = 0;

  constructor(control: ConfigNode) {
    this.name = control.attrs.name ?? "";
    this.tag = control.tag;
    const found = options(control);
    this.configured = found.map((option) => option.background);
    this.labels = found.map((option, index) => ({
      value: option.value,
      colour: labelColour(index, option.background),
      hotkey: option.hotkey,
    }));
    this.element = el("div", { className: "palette", data: { control: this.name } });
  }

  /** ``offset``: the number key of the first label when several palettes share one view. */
  bind(offset: number, onPick: (index: number) => void): void {
    this.offset = offset;
    this.onPick = onPick;
    // Palettes sharing a view continue each other's colours, so no two labels there look alike.
    this.labels = this.labels.map((label, index) => ({ ...label, colour: labelColour(offset + index, this.configured[index]) }));
    this.render();
  }

  /** The label's own hotkey was pressed: the same as its number key in the view it labels. */
  trigger(index: number): void {
    this.onPick(index);
  }

  setActive(index: number | null): void {
    this.active = index;
    this.buttons.forEach((button, position) => {
      button.classList.toggle("active", position === index);
      button.setAttribute("aria-pressed", String(position === index));
    });
  }

  private render(): void {
    this.buttons.length = 0;
    const buttons = this.labels.map((label, index) => {
      const number = this.offset + index + 1;
      const button = el(
        "button",
        {
          className: "label-button",
          attrs: { type: "button", tabindex: "-1", "aria-pressed": "false" },
          data: { label: label.value },
          on: {
            mousedown: (event) => event.preventDefault(), // keep the text selection and focus
            click: () => this.onPick(index),
          },
        },
        // A configured hotkey replaces the number on the button (the number still works unless a
        // hotkey takes it).
        label.hotkey ? el("kbd", { text: showHotkey(label.hotkey) }) : number <= 9 ? el("kbd", { text: String(number) }) : null,
        el("span", { text: label.value }),
      );
      const swatch = el("i", { className: "swatch" });
      swatch.style.backgroundColor = label.colour;
      button.prepend(swatch);
      this.buttons.push(button);
      return button;
    });
    replaceChildren(this.element, ...buttons);
    this.setActive(this.active);
  }
}
