// Label Studio XML configs, parsed in the browser with DOMParser (XML mode: nothing in it can run).

export interface ConfigNode {
  tag: string; // lower case: "choices", "text", …
  attrs: Record<string, string>;
  children: ConfigNode[];
}

export const OBJECT_TAGS = new Set(["text", "hypertext", "image", "paragraphs", "header"]);
export const CONTROL_TAGS = new Set([
  "choices", "labels", "textarea", "rating", "rectanglelabels", "polygonlabels", "paragraphlabels",
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
export function options(control: ConfigNode): { value: string; background: string | null; hint: string | null }[] {
  return control.children
    .filter((child) => child.tag === "choice" || child.tag === "label")
    .map((child) => ({
      value: child.attrs.value ?? child.attrs.alias ?? "",
      background: child.attrs.background ?? null,
      hint: child.attrs.hint ?? null,
    }));
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
