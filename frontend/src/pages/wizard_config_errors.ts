// A label config error from `POST /api/projects/validate/` (or from creating the project), placed on
// the XML line it concerns and said in the page's language.
//
// The server answers one error: {code, message, field}. The line is found from what the message names
// (a line number of an XML syntax error, an element by tag and name, an attribute and its value, an
// unknown tag, a repeated name) in the XML that was checked. Messages written by Tessera
// (annotation/label_config.py) are rebuilt from their parts in the page's language; the SDK's messages
// that we recognise are translated too; any other message is shown as the server wrote it.

import { catalogue, formatNumber } from "../locale";

export interface PlacedError {
  /** 1-based line of the XML, or null when the message names nothing that can be found. */
  line: number | null;
  message: string;
}

const t = catalogue(
  {
    required: "The label config is empty.",
    tooLarge: "The label config is {size} bytes; the limit is {limit}.",
    tooComplex: "The label config has too many {what} ({count}); the limit is {limit}.",
    elements: "elements",
    attributes: "attributes",
    nesting: "levels of nesting",
    unknownTag: "Unknown tag <{tag}>: the labeling page does not know it.",
    missingVariable: '<{tag} name="{name}"> has value="{value}"; it must name a task field, as in value="${name}".',
    noObjects: "The config has no object tag (Text, Image, …) to label.",
    badToName: '<{tag} name="{name}"> has toName="{target}", which is not an object tag.',
    ownApi: "<{tag} {attribute}=\"…\"> points at Tessera's own API; an image or media address may not.",
    toNameMissing: 'toName="{target}" names no tag of this config.',
    duplicateName: 'The name "{name}" is used by more than one tag; each name must be unique.',
    syntax: "The XML is not well formed: {detail}",
  },
  {
    required: "ラベル設定が空です。",
    tooLarge: "ラベル設定が {size} バイトあります。上限は {limit} バイトです。",
    tooComplex: "ラベル設定の{what}が多すぎます（{count}）。上限は {limit} です。",
    elements: "要素",
    attributes: "属性",
    nesting: "入れ子の深さ",
    unknownTag: "不明なタグ <{tag}> です。ラベル付けページはこのタグを扱えません。",
    missingVariable: '<{tag} name="{name}"> の value="{value}" はタスクのフィールドを指していません。value="${name}" のように書いてください。',
    noObjects: "ラベルを付ける対象のタグ（Text、Image など）がありません。",
    badToName: '<{tag} name="{name}"> の toName="{target}" は対象のタグ（Text、Image など）ではありません。',
    ownApi: '<{tag} {attribute}="…"> が Tessera 自身の API を指しています。画像やメディアのアドレスには使えません。',
    toNameMissing: 'toName="{target}" に一致する name のタグがこの設定にありません。',
    duplicateName: '名前 "{name}" が複数のタグで使われています。name は一意にしてください。',
    syntax: "XML の形式が正しくありません: {detail}",
  },
);

// The server writes its messages in the page's language (gettext): the patterns below read what both
// languages share (numbers, the XML quoted as written, tag names), not the words around them.
const PREFIX = /^(?:Invalid label config|ラベル設定が不正です):\s*/;

/** Place and translate one error of the server about ``xml``. */
export function placeConfigError(code: string, serverMessage: string, xml: string): PlacedError {
  const message = serverMessage.replace(PREFIX, "");
  let match: RegExpMatchArray | null;
  switch (code) {
    case "required":
      return { line: null, message: t("required") };
    case "too_large":
      match = message.match(/(\d+)\D+(\d+)/);
      return { line: null, message: match ? t("tooLarge", { size: formatNumber(+match[1]), limit: formatNumber(+match[2]) }) : serverMessage };
    case "too_complex": {
      const kind = message.match(/elements|attributes|levels of nesting/);
      const numbers = message.match(/\d+/g);
      if (!kind || !numbers || numbers.length < 2) return { line: null, message: serverMessage };
      const what = kind[0] === "elements" ? t("elements") : kind[0] === "attributes" ? t("attributes") : t("nesting");
      return { line: null, message: t("tooComplex", { what, count: formatNumber(+numbers[0]), limit: formatNumber(+numbers[1]) }) };
    }
    case "unknown_tag": {
      match = message.match(/(?:unknown tags?|不明なタグ) (.+?)[.。]$/);
      const tag = match ? match[1].split(",")[0].trim() : "";
      return { line: tag ? elementLine(xml, tag) : null, message: tag ? t("unknownTag", { tag }) : serverMessage };
    }
    case "missing_variable":
      match = message.match(/^<(\w+) name="([^"]*)">.*?value="([^"]*)"/);
      if (!match) return { line: null, message: serverMessage };
      return { line: elementLine(xml, match[1], match[2]), message: t("missingVariable", { tag: match[1], name: match[2], value: match[3] }) };
    case "no_objects":
      return { line: null, message: t("noObjects") };
    case "bad_to_name":
      match = message.match(/^<(\w+) name="([^"]*)">.*?toName="([^"]*)"/);
      if (!match) return { line: null, message: serverMessage };
      return {
        line: attributeLine(xml, "toName", match[3], match[1], match[2]) ?? elementLine(xml, match[1], match[2]),
        message: t("badToName", { tag: match[1], name: match[2], target: match[3] }),
      };
    case "own_api_url":
      match = message.match(/^<(\w+) ([\w:-]+)="(.*)">/);
      if (!match) return { line: null, message: serverMessage };
      return { line: attributeLine(xml, match[2], match[3]), message: t("ownApi", { tag: match[1], attribute: match[2] }) };
    default:
      return placeSdkError(message, serverMessage, xml);
  }
}

/** The label-studio-sdk's own words (code "invalid"): the ones we recognise, placed and translated. */
function placeSdkError(message: string, serverMessage: string, xml: string): PlacedError {
  let match = message.match(/^toName="([^"]*)" not found in names/);
  if (match) return { line: attributeLine(xml, "toName", match[1]), message: t("toNameMissing", { target: match[1] }) };
  match = message.match(/non-unique names: ([^,\s]+)/);
  if (match) return { line: repeatedNameLine(xml, match[1]), message: t("duplicateName", { name: match[1] }) };
  // lxml's syntax errors end with "line N, column M" (the SDK repeats it): the last one is lxml's.
  const positions = [...message.matchAll(/line (\d+), column (\d+)/g)];
  if (positions.length) {
    const line = Number(positions[positions.length - 1][1]);
    const detail = message.replace(/\s*\(<string>, line \d+\)$/, "");
    return { line: line >= 1 && line <= lineCount(xml) ? line : null, message: t("syntax", { detail }) };
  }
  // Anything else (the SDK's schema messages): as the server wrote it, without a line.
  return { line: null, message: serverMessage };
}

function lineCount(xml: string): number {
  return xml.split("\n").length;
}

/** The line of ``index`` in ``text`` (1-based). */
export function lineAt(text: string, index: number): number {
  let line = 1;
  for (let position = text.indexOf("\n"); position !== -1 && position < index; position = text.indexOf("\n", position + 1)) line++;
  return line;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function attributeValue(value: string): string {
  // The message quotes the value as parsed; in the XML it may be written with entities.
  return `(?:"${escapeRegExp(value)}"|'${escapeRegExp(value)}'|"${escapeRegExp(escapeXml(value))}")`;
}

function escapeXml(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
}

/** Start tags of ``tag`` (any case), each as [index, text of the start tag]. */
function startTags(xml: string, tag: string): [number, string][] {
  const pattern = new RegExp(`<${escapeRegExp(tag)}(?=[\\s/>])[^>]*>?`, "gi");
  return [...xml.matchAll(pattern)].map((found) => [found.index ?? 0, found[0]]);
}

/** The line where the element ``<tag name="name">`` starts (the first ``<tag>`` when no name is given). */
export function elementLine(xml: string, tag: string, name?: string): number | null {
  const named = name === undefined ? null : new RegExp(`\\sname\\s*=\\s*${attributeValue(name)}`);
  const found = startTags(xml, tag).find(([, text]) => !named || named.test(text));
  return found ? lineAt(xml, found[0]) : null;
}

/**
 * The line holding ``attribute="value"`` (inside ``<tag name="name">`` when those are given): the line
 * of the attribute itself, which may be below the start of a tag written over several lines.
 */
export function attributeLine(xml: string, attribute: string, value: string, tag?: string, name?: string): number | null {
  const pattern = new RegExp(`\\s${escapeRegExp(attribute)}\\s*=\\s*${attributeValue(value)}`);
  const named = name === undefined ? null : new RegExp(`\\sname\\s*=\\s*${attributeValue(name)}`);
  const candidates = tag ? startTags(xml, tag) : [...xml.matchAll(/<[A-Za-z][^>]*>?/g)].map((found): [number, string] => [found.index ?? 0, found[0]]);
  for (const [index, text] of candidates) {
    if (named && !named.test(text)) continue;
    const inside = pattern.exec(text);
    if (inside) return lineAt(xml, index + inside.index + 1);
  }
  return null;
}

/** The line of the second tag that uses ``name="…"`` (the first one is not the mistake). */
function repeatedNameLine(xml: string, name: string): number | null {
  const pattern = new RegExp(`\\sname\\s*=\\s*${attributeValue(name)}`);
  const tags = [...xml.matchAll(/<[A-Za-z][^>]*>?/g)].filter((found) => pattern.test(found[0]));
  const second = tags[1] ?? tags[0];
  return second ? lineAt(xml, second.index ?? 0) : null;
}
