// The wizard's label step: the labels of every Choices/Labels-like control in a form (add, rename,
// reorder, colour, hotkey), the XML in a text editor, both kept in step (edit either, the other
// follows), a live preview drawn by the labeling page's own editor (editor.ts) on a sample task, and
// the server's check of the config with its error beside the line it concerns.
//
// The form edits the parsed XML document in place and writes it back with XMLSerializer, so the
// user's layout, comments and other attributes survive a form edit.

import { parseConfig } from "../config";
import { el, labelColour, replaceChildren } from "../dom";
import { Editor } from "../editor";
import { catalogue } from "../locale";
import { RegionSelection, ResultStore } from "../store";
import { ConfigCheck, type CheckResult } from "./wizard_config_check";
import { placeConfigError, type PlacedError } from "./wizard_config_errors";

/** Controls whose options (Label / Choice children) the form edits. */
const OPTION_CONTROLS = new Set(["choices", "labels", "rectanglelabels", "polygonlabels", "paragraphlabels"]);
const PREVIEW_DELAY_MS = 150;

const t = catalogue(
  {
    labels: "Labels",
    labelsHint: "Rename, reorder (buttons or Alt+↑ / Alt+↓), colour and give keys to the labels; the XML follows.",
    noControls: "This config has no Labels or Choices to edit here; edit the XML directly.",
    xmlBroken: "The XML is not well formed, so the form is paused. Fix the XML (see the message beside its line).",
    control: "{tag} “{name}”",
    labelsOf: "for {targets}",
    name: "Name of label {n}",
    colour: "Colour of {label}",
    hotkey: "Key for {label}",
    hotkeyPlaceholder: "key",
    up: "Move {label} up",
    down: "Move {label} down",
    remove: "Remove {label}",
    add: "Add label",
    newLabel: "New label",
    emptyName: "A label needs a name.",
    sameName: "Another label of this control is also named “{label}”.",
    sameHotkey: "The key {key} is also used by “{label}”; the first one wins.",
    moved: "{label} moved to place {n}.",
    removed: "{label} removed.",
    added: "Label added.",
    xml: "Label config (XML)",
    xmlHint: "Label Studio's XML. Edit it here or in the form; problems are shown beside their line.",
    xmlLabel: "Label config XML",
    checking: "Checking the config…",
    valid: "The config is valid. Task fields it reads: {fields}.",
    validNoFields: "The config is valid.",
    invalid: "The config has a problem.",
    unavailable: "The config could not be checked: {reason}",
    line: "Line {n}",
    preview: "Preview",
    previewHint: "Drawn by the labeling page itself, on the sample task: try it.",
    previewBroken: "The preview shows the last well-formed XML.",
    previewFailed: "The preview could not be drawn: {reason}",
  },
  {
    labels: "ラベル",
    labelsHint: "ラベルの名前・順序（ボタンまたは Alt+↑ / Alt+↓）・色・キーを編集できます。XML も連動して変わります。",
    noControls: "この設定にはここで編集できる Labels や Choices がありません。XML を直接編集してください。",
    xmlBroken: "XML の形式が正しくないため、フォームを一時停止しています。XML を修正してください（該当行の横にメッセージがあります）。",
    control: "{tag}「{name}」",
    labelsOf: "対象: {targets}",
    name: "ラベル {n} の名前",
    colour: "{label} の色",
    hotkey: "{label} のキー",
    hotkeyPlaceholder: "キー",
    up: "{label} を上へ移動",
    down: "{label} を下へ移動",
    remove: "{label} を削除",
    add: "ラベルを追加",
    newLabel: "新しいラベル",
    emptyName: "ラベルには名前が必要です。",
    sameName: "このコントロールには「{label}」という名前のラベルが他にもあります。",
    sameHotkey: "キー {key} は「{label}」でも使われています。先のものが優先されます。",
    moved: "{label} を {n} 番目に移動しました。",
    removed: "{label} を削除しました。",
    added: "ラベルを追加しました。",
    xml: "ラベル設定（XML）",
    xmlHint: "Label Studio の XML です。ここでもフォームでも編集できます。問題は該当行の横に表示されます。",
    xmlLabel: "ラベル設定の XML",
    checking: "設定を確認しています…",
    valid: "設定は有効です。読み取るタスクのフィールド: {fields}。",
    validNoFields: "設定は有効です。",
    invalid: "設定に問題があります。",
    unavailable: "設定を確認できませんでした: {reason}",
    line: "{n} 行目",
    preview: "プレビュー",
    previewHint: "ラベル付けページと同じ部品で、サンプルのタスクを表示しています。操作して試せます。",
    previewBroken: "プレビューは最後に正しかった XML のものです。",
    previewFailed: "プレビューを表示できませんでした: {reason}",
  },
);

export interface ConfigEditorOptions {
  xml: string;
  sample: Record<string, unknown>;
  imageOrigins: string[];
  /** Every change of the XML, from the form or the text editor. */
  onChange(xml: string): void;
}

export class ConfigEditor {
  readonly element: HTMLElement;
  private xml: string;
  private documentNode: XMLDocument | null = null;
  private readonly form = el("div", { className: "labels-form" });
  private readonly announcer = el("p", { className: "visually-hidden", attrs: { "aria-live": "polite" } });
  private readonly textarea: HTMLTextAreaElement;
  private readonly gutter = el("div", { className: "xml-gutter", attrs: { "aria-hidden": "true" } });
  private readonly notes = el("div", { className: "xml-notes" });
  private readonly notesInner = el("div", { className: "xml-notes-inner" });
  private readonly status = el("p", { className: "xml-status", attrs: { role: "status" } });
  private readonly previewRoot = el("div", { className: "preview-canvas canvas" });
  private readonly previewNotice = el("p", { className: "notice" });
  private readonly check: ConfigCheck;
  private previewTimer = 0;
  private previewEditor: Editor | null = null;
  private error: PlacedError | null = null;

  constructor(private readonly options: ConfigEditorOptions) {
    this.xml = options.xml;
    this.textarea = el("textarea", {
      className: "xml-text",
      attrs: { id: "xml-config", spellcheck: "false", wrap: "off", rows: "18", autocomplete: "off", autocapitalize: "off" },
    });
    this.textarea.value = this.xml;
    this.textarea.addEventListener("input", () => this.fromText());
    this.textarea.addEventListener("scroll", () => this.syncScroll());
    this.notes.append(this.notesInner);
    this.check = new ConfigCheck(
      (result) => this.checked(result),
      () => this.pending(),
    );
    this.previewRoot.addEventListener("keydown", (event) => this.previewKey(event));
    this.element = el(
      "div",
      { className: "config-editor" },
      el("section", { className: "card labels-card", attrs: { "aria-labelledby": "labels-heading" } },
        el("h2", { attrs: { id: "labels-heading" }, text: t("labels") }),
        el("p", { className: "hint", text: t("labelsHint") }),
        this.form,
        this.announcer,
      ),
      el("section", { className: "card xml-card", attrs: { "aria-labelledby": "xml-heading" } },
        el("h2", { attrs: { id: "xml-heading" }, text: t("xml") }),
        el("p", { className: "hint", attrs: { id: "xml-hint" }, text: t("xmlHint") }),
        el("label", { className: "visually-hidden", attrs: { for: "xml-config" }, text: t("xmlLabel") }),
        el("div", { className: "xml-editor" }, this.gutter, this.textarea, this.notes),
        this.status,
      ),
      el("section", { className: "card preview-card", attrs: { "aria-labelledby": "preview-heading" } },
        el("h2", { attrs: { id: "preview-heading" }, text: t("preview") }),
        el("p", { className: "hint", text: t("previewHint") }),
        this.previewNotice,
        this.previewRoot,
      ),
    );
    this.textarea.setAttribute("aria-describedby", "xml-hint");
    this.parse();
    this.renderForm();
    this.renderGutter();
    this.drawPreview();
    this.check.request(this.xml);
  }

  get value(): string {
    return this.xml;
  }

  /** An error of the config found elsewhere (creating the project): shown as the check's are. */
  showServerError(code: string, message: string): void {
    this.error = placeConfigError(code, message, this.xml);
    this.status.className = "xml-status error";
    this.status.textContent = t("invalid");
    this.renderNotes();
  }

  focusError(): void {
    if (this.error?.line) this.goToLine(this.error.line);
    else this.textarea.focus();
  }

  destroy(): void {
    this.check.stop();
    window.clearTimeout(this.previewTimer);
  }

  // ---- the XML text ---------------------------------------------------------------------------

  private fromText(): void {
    this.xml = this.textarea.value;
    const wasBroken = this.documentNode === null;
    this.parse();
    // Rebuild the form from the text unless someone is typing in it (then the text came from it).
    if (!this.form.contains(document.activeElement) || wasBroken) this.renderForm();
    this.changed();
  }

  private changed(): void {
    this.renderGutter();
    this.options.onChange(this.xml);
    this.check.request(this.xml);
    window.clearTimeout(this.previewTimer);
    this.previewTimer = window.setTimeout(() => this.drawPreview(), PREVIEW_DELAY_MS);
  }

  private parse(): void {
    const parsed = new DOMParser().parseFromString(this.xml, "application/xml");
    this.documentNode = parsed.getElementsByTagName("parsererror").length ? null : parsed;
  }

  /** A form edit: write the document back into the text. */
  private commit(): void {
    if (!this.documentNode) return;
    this.xml = new XMLSerializer().serializeToString(this.documentNode);
    const { scrollTop, scrollLeft } = this.textarea;
    this.textarea.value = this.xml;
    this.textarea.scrollTop = scrollTop;
    this.textarea.scrollLeft = scrollLeft;
    this.changed();
  }

  private renderGutter(): void {
    const count = this.xml.split("\n").length;
    const numbers: HTMLElement[] = [];
    for (let line = 1; line <= count; line++) {
      numbers.push(el("span", { className: this.error?.line === line ? "has-error" : "", data: { line }, text: String(line) }));
    }
    replaceChildren(this.gutter, ...numbers);
    // Tall enough for the whole config (within reason): the notes sit beside lines, not below a scroll.
    this.textarea.rows = Math.min(Math.max(count + 1, 8), 30);
    // The notes scroll with the text: as tall as its lines (not as the row, which would feed back).
    const style = getComputedStyle(this.textarea);
    const lineHeight = Number.parseFloat(style.lineHeight) || 20;
    this.notesInner.style.height = `${count * lineHeight + 2 * (Number.parseFloat(style.paddingTop) || 0)}px`;
    this.syncScroll();
  }

  private syncScroll(): void {
    this.gutter.scrollTop = this.textarea.scrollTop;
    this.notes.scrollTop = this.textarea.scrollTop;
  }

  private goToLine(line: number): void {
    const lines = this.xml.split("\n");
    const start = lines.slice(0, line - 1).reduce((sum, text) => sum + text.length + 1, 0);
    this.textarea.focus();
    this.textarea.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
    const lineHeight = Number.parseFloat(getComputedStyle(this.textarea).lineHeight) || 20;
    this.textarea.scrollTop = Math.max(0, (line - 3) * lineHeight);
  }

  // ---- the server's check -----------------------------------------------------------------------

  private pending(): void {
    this.status.className = "xml-status";
    this.status.textContent = t("checking");
  }

  private checked(result: CheckResult): void {
    if (result.xml !== this.xml) return;
    if (result.state === "valid") {
      this.error = null;
      this.status.className = "xml-status ok";
      this.status.textContent = result.variables.length
        ? t("valid", { fields: result.variables.map((name) => `$${name}`).join(", ") })
        : t("validNoFields");
    } else if (result.state === "invalid") {
      this.error = placeConfigError(result.code, result.message, result.xml);
      this.status.className = "xml-status error";
      this.status.textContent = t("invalid");
    } else {
      this.error = null;
      this.status.className = "xml-status error";
      this.status.textContent = t("unavailable", { reason: result.message });
    }
    this.renderGutter();
    this.renderNotes();
  }

  private renderNotes(): void {
    const error = this.error;
    this.renderGutterMarks();
    if (!error) {
      replaceChildren(this.notesInner);
      this.notes.classList.remove("has-general");
      return;
    }
    const note = el(
      "div",
      { className: error.line ? "xml-note" : "xml-note general", attrs: { role: "alert" }, data: { line: error.line ?? "" } },
      error.line
        ? el("button", { className: "xml-note-line", attrs: { type: "button" }, text: t("line", { n: error.line }), on: { click: () => this.goToLine(error.line ?? 1) } })
        : null,
      el("span", { className: "xml-note-text", text: error.message }),
    );
    if (error.line) {
      const lineHeight = Number.parseFloat(getComputedStyle(this.textarea).lineHeight) || 20;
      const padding = Number.parseFloat(getComputedStyle(this.textarea).paddingTop) || 0;
      note.style.top = `${padding + (error.line - 1) * lineHeight}px`;
    }
    this.notes.classList.toggle("has-general", !error.line);
    replaceChildren(this.notesInner, note);
    this.syncScroll();
  }

  private renderGutterMarks(): void {
    for (const number of this.gutter.children) {
      (number as HTMLElement).classList.toggle("has-error", Number((number as HTMLElement).dataset.line) === this.error?.line);
    }
  }

  // ---- the labels form --------------------------------------------------------------------------

  private renderForm(): void {
    const root = this.documentNode?.documentElement;
    if (!root) {
      replaceChildren(this.form, el("p", { className: "notice error", text: t("xmlBroken") }));
      return;
    }
    const controls = [root, ...Array.from(root.getElementsByTagName("*"))].filter((node) => OPTION_CONTROLS.has(node.tagName.toLowerCase()));
    if (!controls.length) {
      replaceChildren(this.form, el("p", { className: "empty", text: t("noControls") }));
      return;
    }
    replaceChildren(this.form, ...controls.map((control, index) => this.controlFieldset(control, index)));
    this.refreshWarnings();
  }

  private controlFieldset(control: Element, controlIndex: number): HTMLElement {
    const rows = optionElements(control).map((option, index, all) => this.optionRow(control, option, index, all.length));
    const targets = control.getAttribute("toName") ?? "";
    return el(
      "fieldset",
      { className: "label-control", data: { control: control.getAttribute("name") ?? "" } },
      el("legend", {}, t("control", { tag: control.tagName, name: control.getAttribute("name") ?? "" }), targets ? el("span", { className: "hint", text: ` ${t("labelsOf", { targets })}` }) : null),
      el("ol", { className: "label-rows" }, ...rows),
      el("button", {
        className: "add-label",
        attrs: { type: "button" },
        data: { addFor: controlIndex },
        text: `+ ${t("add")}`,
        on: { click: () => this.addOption(control) },
      }),
    );
  }

  private optionRow(control: Element, option: Element, index: number, total: number): HTMLElement {
    const value = () => option.getAttribute("value") ?? "";
    const name = el("input", { className: "label-name", attrs: { type: "text", "aria-label": t("name", { n: index + 1 }), value: value() } });
    const colour = el("input", { className: "label-colour", attrs: { type: "color", "aria-label": t("colour", { label: value() }) } });
    colour.value = toHexColour(labelColour(index, option.getAttribute("background")));
    const hotkey = el("input", {
      className: "label-hotkey",
      attrs: { type: "text", maxlength: "16", "aria-label": t("hotkey", { label: value() }), placeholder: t("hotkeyPlaceholder"), value: option.getAttribute("hotkey") ?? "" },
    });
    const warning = el("p", { className: "field-error", attrs: { "aria-live": "polite" } });
    const move = (delta: number) => this.moveOption(control, option, delta);
    name.addEventListener("input", () => {
      option.setAttribute("value", name.value);
      colour.setAttribute("aria-label", t("colour", { label: name.value }));
      hotkey.setAttribute("aria-label", t("hotkey", { label: name.value }));
      this.commit();
      this.refreshWarnings();
    });
    colour.addEventListener("input", () => {
      option.setAttribute("background", colour.value);
      this.commit();
    });
    hotkey.addEventListener("input", () => {
      const key = hotkey.value.trim();
      if (key) option.setAttribute("hotkey", key);
      else option.removeAttribute("hotkey");
      this.commit();
      this.refreshWarnings();
    });
    const row = el(
      "li",
      {
        className: "label-row",
        data: { index },
        on: {
          keydown: (event) => {
            if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
            event.preventDefault();
            move(event.key === "ArrowUp" ? -1 : 1);
          },
        },
      },
      el("span", { className: "label-number", text: String(index + 1) }),
      name,
      colour,
      hotkey,
      el("button", { className: "icon", attrs: { type: "button", "aria-label": t("up", { label: value() }), title: t("up", { label: value() }) }, data: { move: "up" }, text: "↑", on: { click: () => move(-1) } }),
      el("button", { className: "icon", attrs: { type: "button", "aria-label": t("down", { label: value() }), title: t("down", { label: value() }) }, data: { move: "down" }, text: "↓", on: { click: () => move(1) } }),
      el("button", { className: "icon", attrs: { type: "button", "aria-label": t("remove", { label: value() }), title: t("remove", { label: value() }) }, data: { remove: "" }, text: "✕", on: { click: () => this.removeOption(control, option) } }),
      warning,
    );
    const first = row.querySelector<HTMLButtonElement>("[data-move=up]");
    const last = row.querySelector<HTMLButtonElement>("[data-move=down]");
    if (first) first.disabled = index === 0;
    if (last) last.disabled = index === total - 1;
    return row;
  }

  /** Empty or repeated names in a control, and keys used twice in the config, beside their rows. */
  private refreshWarnings(): void {
    const keys = new Map<string, string>();
    for (const fieldset of this.form.querySelectorAll<HTMLElement>("fieldset.label-control")) {
      const seen = new Set<string>();
      for (const row of fieldset.querySelectorAll<HTMLElement>("li.label-row")) {
        const name = row.querySelector<HTMLInputElement>(".label-name")!;
        const hotkey = row.querySelector<HTMLInputElement>(".label-hotkey")!;
        const warning = row.querySelector<HTMLElement>(".field-error")!;
        const value = name.value;
        let message = "";
        if (!value.trim()) message = t("emptyName");
        else if (seen.has(value)) message = t("sameName", { label: value });
        seen.add(value);
        const key = hotkey.value.trim().toLowerCase();
        let keyMessage = "";
        if (key && keys.has(key)) keyMessage = t("sameHotkey", { key: hotkey.value.trim(), label: keys.get(key) ?? "" });
        else if (key) keys.set(key, value);
        name.setAttribute("aria-invalid", String(Boolean(message)));
        hotkey.setAttribute("aria-invalid", String(Boolean(keyMessage)));
        warning.textContent = [message, keyMessage].filter(Boolean).join(" ");
      }
    }
  }

  private moveOption(control: Element, option: Element, delta: number): void {
    const siblings = optionElements(control);
    const from = siblings.indexOf(option);
    const to = from + delta;
    if (from < 0 || to < 0 || to >= siblings.length) return;
    swapNodes(option, siblings[to]);
    this.commit();
    this.renderForm();
    this.announce(t("moved", { label: option.getAttribute("value") ?? "", n: to + 1 }));
    this.focusRow(control, to, delta < 0 ? "up" : "down");
  }

  private removeOption(control: Element, option: Element): void {
    const siblings = optionElements(control);
    const index = siblings.indexOf(option);
    const before = option.previousSibling;
    if (before && before.nodeType === Node.TEXT_NODE && !before.textContent?.trim()) before.remove();
    option.remove();
    this.commit();
    this.renderForm();
    this.announce(t("removed", { label: option.getAttribute("value") ?? "" }));
    const remaining = optionElements(control).length;
    if (remaining) this.focusRow(control, Math.min(index, remaining - 1), "name");
    else this.fieldsetOf(control)?.querySelector<HTMLElement>(".add-label")?.focus();
  }

  private addOption(control: Element): void {
    const siblings = optionElements(control);
    const tag = control.tagName.toLowerCase() === "choices" ? "Choice" : "Label";
    const taken = new Set(siblings.map((option) => option.getAttribute("value")));
    let value = t("newLabel");
    for (let n = 2; taken.has(value); n++) value = `${t("newLabel")} ${n}`;
    const option = control.ownerDocument.createElementNS(control.namespaceURI, tag);
    option.setAttribute("value", value);
    const last = siblings[siblings.length - 1];
    if (last) {
      // Indent the new line as the last option is indented.
      const indent = last.previousSibling?.nodeType === Node.TEXT_NODE && !last.previousSibling.textContent?.trim() ? last.previousSibling.textContent : null;
      last.after(option);
      if (indent) option.before(control.ownerDocument.createTextNode(indent));
    } else {
      control.append(option);
    }
    this.commit();
    this.renderForm();
    this.announce(t("added"));
    const input = this.focusRow(control, siblings.length, "name");
    input?.select();
  }

  private fieldsetOf(control: Element): HTMLElement | null {
    const controls = [...this.form.querySelectorAll<HTMLElement>("fieldset.label-control")];
    const name = control.getAttribute("name") ?? "";
    return controls.find((fieldset) => fieldset.dataset.control === name) ?? null;
  }

  private focusRow(control: Element, index: number, what: "name" | "up" | "down"): HTMLInputElement | null {
    const row = this.fieldsetOf(control)?.querySelectorAll<HTMLElement>("li.label-row")[index];
    if (!row) return null;
    const name = row.querySelector<HTMLInputElement>(".label-name");
    const button = what === "name" ? null : row.querySelector<HTMLButtonElement>(`[data-move=${what}]`);
    (button && !button.disabled ? button : name)?.focus();
    return name;
  }

  private announce(message: string): void {
    this.announcer.textContent = message;
  }

  // ---- the preview ------------------------------------------------------------------------------

  private drawPreview(): void {
    if (!this.documentNode) {
      this.previewNotice.className = "notice";
      this.previewNotice.textContent = t("previewBroken");
      return;
    }
    let editor: Editor;
    try {
      editor = new Editor(parseConfig(this.xml), {
        store: new ResultStore(),
        selection: new RegionSelection(),
        data: this.options.sample,
        imageOrigins: this.options.imageOrigins,
        notify: (message, kind) => {
          this.previewNotice.className = kind === "error" ? "notice error" : "notice";
          this.previewNotice.textContent = message;
        },
      });
    } catch (error) {
      this.previewNotice.className = "notice error";
      this.previewNotice.textContent = t("previewFailed", { reason: (error as Error).message });
      return;
    }
    this.previewEditor = editor;
    this.previewNotice.className = "notice";
    this.previewNotice.textContent = "";
    replaceChildren(this.previewRoot, editor.element);
    this.previewRoot.dataset.version = String(Number(this.previewRoot.dataset.version ?? 0) + 1);
  }

  /** The labeling page's keys, inside the preview only: the config's hotkeys, number keys, arrows. */
  private previewKey(event: KeyboardEvent): void {
    const editor = this.previewEditor;
    const target = event.target as HTMLElement | null;
    if (!editor || target instanceof HTMLTextAreaElement || target instanceof HTMLInputElement) return;
    if (editor.hotkey(event)) {
      event.preventDefault();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (editor.key(event) || (/^[1-9]$/.test(event.key) && editor.pickNumber(Number(event.key) - 1))) event.preventDefault();
  }
}

function optionElements(control: Element): Element[] {
  return Array.from(control.children).filter((child) => {
    const tag = child.tagName.toLowerCase();
    return tag === "label" || tag === "choice";
  });
}

function swapNodes(first: Node, second: Node): void {
  const marker = first.ownerDocument!.createComment("");
  first.parentNode?.replaceChild(marker, first);
  second.parentNode?.replaceChild(first, second);
  marker.parentNode?.replaceChild(second, marker);
}

/** ``<input type="color">`` takes only ``#rrggbb``: named and short colours are converted by a canvas. */
function toHexColour(colour: string): string {
  if (/^#[0-9a-f]{6}$/i.test(colour)) return colour.toLowerCase();
  const short = colour.match(/^#([0-9a-f])([0-9a-f])([0-9a-f])$/i);
  if (short) return `#${short[1]}${short[1]}${short[2]}${short[2]}${short[3]}${short[3]}`.toLowerCase();
  if (/^#[0-9a-f]{8}$/i.test(colour)) return colour.slice(0, 7).toLowerCase();
  const context = document.createElement("canvas").getContext("2d");
  if (!context) return "#808080";
  context.fillStyle = "#808080";
  context.fillStyle = colour;
  return /^#[0-9a-f]{6}$/i.test(context.fillStyle) ? context.fillStyle : "#808080";
}

