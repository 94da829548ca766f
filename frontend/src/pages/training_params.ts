// The launch form's parameter inputs, one per parameter of the recipe's schema (training_schema.ts): a
// number input with its default, step and range (and the range in words), a checkbox for a boolean, a
// select for a choice, and for a nullable group (a LoRA adapter) a switch that turns its inputs on.
// Each control reads its value back as the API takes it: a number, null for an empty nullable one, or
// the text as typed when it is not a number (the server's refusal then names the parameter).

import { el } from "../dom";
import { catalogue, formatNumber } from "../locale";
import type { ParamSpec } from "./training_schema";
import { paramHint, paramLabel } from "./training_words";

const t = catalogue(
  {
    range: "From {minimum} to {maximum}.",
    atLeast: "At least {minimum}.",
    optional: "none",
    useGroup: "Use a {name}",
  },
  {
    range: "{minimum}〜{maximum}。",
    atLeast: "{minimum} 以上。",
    optional: "なし",
    useGroup: "{name}を使う",
  },
);

/** How the form makes a labelled field with its error slot (the form keeps the slots by field name). */
export interface FieldKit {
  field(name: string, label: string, control: HTMLElement, hint?: string): HTMLElement;
  errorSlot(name: string): HTMLElement;
}

export interface ParamControl {
  spec: ParamSpec;
  node: HTMLElement;
  /** The value to send; undefined leaves the parameter out (its default applies). */
  read: () => unknown;
}

/** An element id for a body field ("params.lora.r" → "training-params-lora-r"). */
export function fieldId(name: string): string {
  return `training-${name.replace(/\./g, "-")}`;
}

/** A range's end as typed in the input: 1e-8 stays 1e-8 (a locale's format would write it 0). */
function formatBound(value: number): string {
  return value !== 0 && Math.abs(value) < 1e-3 ? value.toExponential() : formatNumber(value);
}

function labelWithName(spec: ParamSpec, ...before: (Node | string)[]): (Node | string)[] {
  return [...before, paramLabel(spec.name), " ", el("code", { text: spec.name })];
}

function numberControl(kit: FieldKit, path: string, spec: ParamSpec): ParamControl {
  const integer = spec.type === "integer";
  const input = el("input", { attrs: { type: "number", name: path, step: integer ? "1" : "any", inputmode: integer ? "numeric" : "decimal" } });
  if (spec.minimum !== null) input.min = String(spec.minimum);
  if (spec.maximum !== null) input.max = String(spec.maximum);
  if (typeof spec.default === "number") input.value = String(spec.default);
  if (spec.nullable) input.placeholder = t("optional");
  const range =
    spec.minimum !== null && spec.maximum !== null
      ? t("range", { minimum: formatBound(spec.minimum), maximum: formatBound(spec.maximum) })
      : spec.minimum !== null
        ? t("atLeast", { minimum: formatBound(spec.minimum) })
        : "";
  const node = kit.field(path, paramLabel(spec.name), input, [paramHint(spec.name, spec.description), range].filter(Boolean).join(" "));
  node.querySelector("label")?.append(" ", el("code", { text: spec.name }));
  return {
    spec,
    node,
    read: () => {
      const text = input.value.trim();
      if (!text) return spec.nullable ? null : undefined;
      const value = Number(text);
      return Number.isFinite(value) ? value : text;
    },
  };
}

function groupControl(kit: FieldKit, path: string, spec: ParamSpec): ParamControl {
  const toggle = el("input", { attrs: { type: "checkbox", name: `${path}.enabled`, id: `${fieldId(path)}-enabled` } });
  toggle.checked = spec.default !== null && spec.default !== undefined;
  const children = spec.children.map((child) => paramControl(kit, `${path}.${child.name}`, child));
  const inner = el("div", { className: "field-row nested" }, ...children.map((child) => child.node));
  // Switched off, the group's inputs are disabled too, so the browser neither focuses nor checks them.
  const sync = (): void => {
    inner.hidden = !toggle.checked;
    for (const control of inner.querySelectorAll<HTMLInputElement | HTMLSelectElement>("input, select")) control.disabled = !toggle.checked;
  };
  toggle.addEventListener("change", sync);
  sync();
  const node = el(
    "fieldset",
    { className: "settings-group nested-group", data: { field: path } },
    el("legend", {}, el("label", { className: "check", attrs: { for: toggle.id } }, toggle, t("useGroup", { name: paramLabel(spec.name) }), " ", el("code", { text: spec.name }))),
    el("p", { className: "hint", text: paramHint(spec.name, spec.description) }),
    inner,
    kit.errorSlot(path),
  );
  return {
    spec,
    node,
    read: () => {
      if (!toggle.checked) return spec.nullable ? null : undefined;
      const values: Record<string, unknown> = {};
      for (const child of children) {
        const value = child.read();
        if (value !== undefined) values[child.spec.name] = value;
      }
      return values;
    },
  };
}

/** The control of one parameter at `path` ("params.learning_rate", "params.lora.r"). */
export function paramControl(kit: FieldKit, path: string, spec: ParamSpec): ParamControl {
  const hint = paramHint(spec.name, spec.description);
  if (spec.type === "boolean") {
    const input = el("input", { attrs: { type: "checkbox", name: path, id: fieldId(path) } });
    input.checked = spec.default === true;
    const node = el(
      "div",
      { className: "field check", data: { field: path } },
      el("label", { className: "check", attrs: { for: input.id } }, ...labelWithName(spec, input)),
      el("p", { className: "hint", text: hint }),
      kit.errorSlot(path),
    );
    return { spec, node, read: () => input.checked };
  }
  if (spec.type === "object") return groupControl(kit, path, spec);
  if (spec.choices.length) {
    const select = el("select", { attrs: { name: path } }, ...spec.choices.map((choice) => el("option", { attrs: { value: choice }, text: choice })));
    if (typeof spec.default === "string") select.value = spec.default;
    return { spec, node: kit.field(path, paramLabel(spec.name), select, hint), read: () => select.value };
  }
  if (spec.type === "string") {
    const input = el("input", { attrs: { type: "text", name: path } });
    if (typeof spec.default === "string") input.value = spec.default;
    return { spec, node: kit.field(path, paramLabel(spec.name), input, hint), read: () => input.value || (spec.nullable ? null : undefined) };
  }
  return numberControl(kit, path, spec);
}
