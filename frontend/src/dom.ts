// The only way this app builds DOM. Text always goes in as text nodes (never markup), attribute names
// that would attach handlers are refused, and URLs are set only by the callers that check them.

export type Child = Node | string | number | null | undefined | false;

export interface Props {
  className?: string;
  text?: string;
  title?: string;
  attrs?: Record<string, string>;
  data?: Record<string, string | number>;
  on?: Partial<{ [K in keyof HTMLElementEventMap]: (event: HTMLElementEventMap[K]) => void }>;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  applyProps(node, props);
  append(node, children);
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) safeAttribute(node, name, String(value));
  return node;
}

function applyProps(node: HTMLElement, props: Props): void {
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  if (props.title !== undefined) node.title = props.title;
  for (const [name, value] of Object.entries(props.attrs ?? {})) safeAttribute(node, name, value);
  for (const [name, value] of Object.entries(props.data ?? {})) node.dataset[name] = String(value);
  for (const [name, handler] of Object.entries(props.on ?? {})) {
    node.addEventListener(name, handler as EventListener);
  }
}

function safeAttribute(node: Element, name: string, value: string): void {
  const lowered = name.toLowerCase();
  if (lowered.startsWith("on") || lowered === "style" || lowered === "srcdoc") {
    throw new Error(`refusing to set attribute ${name}`);
  }
  if ((lowered === "href" || lowered === "src" || lowered === "xlink:href") && (!isSafeUrl(value) || pointsAtOwnApi(value))) {
    throw new Error(`refusing URL in ${name}`);
  }
  node.setAttribute(name, value);
}

/** Only http(s) URLs and same-origin paths; never javascript:, data: or anything else. */
export function isSafeUrl(value: string): boolean {
  try {
    const url = new URL(value, window.location.href);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/**
 * Whether a URL would reach our own API: a same-origin path under /api/, however it is spelled
 * (relative, //host/…, /%61pi/, /API/, dot segments). Loading one with the session cookie is a
 * request the annotator never meant to make, so task data may not use one as an image or media.
 */
export function pointsAtOwnApi(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value, window.location.href);
  } catch {
    return false;
  }
  if (url.origin !== window.location.origin) return false;
  // The server decodes the path before routing it: decode as it would (a few rounds, for %2561),
  // then let the URL parser fold the dot segments and backslashes that decoding revealed.
  let path = url.pathname;
  for (let round = 0; round < 3; round++) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      break;
    }
    if (decoded === path) break;
    path = decoded;
  }
  const folded = new URL(path.replace(/\\/g, "/").replace(/^\/+/, "/"), window.location.origin).pathname;
  path = folded.replace(/\/{2,}/g, "/").toLowerCase();
  return path === "/api" || path.startsWith("/api/");
}

export function append(node: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
}

export function clear(node: Node): void {
  while (node.firstChild) node.removeChild(node.firstChild);
}

export function replaceChildren(node: Node, ...children: Child[]): void {
  clear(node);
  append(node, children);
}

/** Label colours: the config's ``background`` when it is a plain colour, else a fixed palette. */
const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#008080", "#9a6324", "#800000", "#808000"];
const COLOUR = /^(#[0-9a-f]{3,8}|[a-z]{3,20})$/i;

export function labelColour(index: number, configured?: string | null): string {
  if (configured && COLOUR.test(configured.trim())) return configured.trim();
  return PALETTE[index % PALETTE.length];
}
