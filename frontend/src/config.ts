// Label Studio XML configs, parsed in the browser with DOMParser (XML mode: nothing in it can run).

export interface ConfigNode {
  tag: string; // lower case: "choices", "text", …
  attrs: Record<string, string>;
  children: ConfigNode[];
}

export const OBJECT_TAGS = new Set(["text", "hypertext", "image", "paragraphs", "header"]);
export const CONTROL_TAGS = new Set([
  "choices", "labels", "textarea", "rating", "rectanglelabels", "polygonlabels", "paragraphlabels", "pairwise",
]);

export function parseConfig(xml: string): ConfigNode {
  const documentNode = new DOMParser().parseFromString(xml, "application/xml");
  if (documentNode.getElementsByTagName("parsererror").length) {
    throw new Error("The project's label config is not valid XML.");
  }
  return toNode(documentNode.documentElement);
}

function toNode(element: Element): ConfigNode {
  const attrs: Record<string, string> = {};
  for (const attribute of Array.from(element.attributes)) attrs[attribute.name] = attribute.value;
  return {
    tag: element.tagName.toLowerCase(),
    attrs,
    children: Array.from(element.children).map(toNode),
  };
}

export function walk(node: ConfigNode, visit: (node: ConfigNode) => void): void {
  visit(node);
  for (const child of node.children) walk(child, visit);
}

/** The labels (Choice/Label values) under a control, with their configured colour when any. */
export interface Option {
  value: string;
  background: string | null;
  hint: string | null;
  /** Label Studio's per-option keyboard shortcut (``hotkey="r"``), normalised by ``normaliseHotkey``. */
  hotkey: string | null;
}

export function options(control: ConfigNode): Option[] {
  return control.children
    .filter((child) => child.tag === "choice" || child.tag === "label")
    .map((child) => ({
      value: child.attrs.value ?? child.attrs.alias ?? "",
      background: child.attrs.background ?? null,
      hint: child.attrs.hint ?? null,
      hotkey: child.attrs.hotkey ? normaliseHotkey(child.attrs.hotkey) : null,
    }));
}

const MODIFIERS = ["ctrl", "alt", "shift"];

/** ``"Ctrl+R"``, ``"shift+r"`` → ``"ctrl+r"``, ``"shift+r"``: modifiers in a fixed order, lower case. */
export function normaliseHotkey(hotkey: string): string | null {
  const parts = hotkey.toLowerCase().split("+").map((part) => part.trim()).filter(Boolean);
  const key = parts.pop();
  if (!key) return null;
  const modifiers = MODIFIERS.filter((modifier) => parts.includes(modifier) || (modifier === "ctrl" && parts.includes("control")));
  return [...modifiers, key].join("+");
}

/** The hotkey a key press spells, in ``normaliseHotkey``'s form. */
export function hotkeyOf(event: KeyboardEvent): string {
  const key = event.key === " " ? "space" : event.key.toLowerCase();
  const modifiers: string[] = [];
  if (event.ctrlKey || event.metaKey) modifiers.push("ctrl");
  if (event.altKey) modifiers.push("alt");
  // Shift is part of a printed character ("?" is Shift+/): count it only for letters and named keys.
  if (event.shiftKey && (key.length > 1 || /[a-z]/.test(key))) modifiers.push("shift");
  return [...modifiers, key].join("+");
}

/** How a hotkey is shown on its button: ``ctrl+r`` → ``Ctrl+R``. */
export function showHotkey(hotkey: string): string {
  return hotkey
    .split("+")
    .map((part) => (part.length === 1 ? part.toUpperCase() : part[0].toUpperCase() + part.slice(1)))
    .join("+");
}

/** ``$name`` reads a task field; anything else is a literal. */
export function resolve(value: string | undefined, data: Record<string, unknown>): unknown {
  if (value === undefined) return undefined;
  if (value.startsWith("$")) return data[value.slice(1)];
  return value;
}

export function toNames(control: ConfigNode): string[] {
  return (control.attrs.toName ?? "").split(",").map((name) => name.trim()).filter(Boolean);
}
