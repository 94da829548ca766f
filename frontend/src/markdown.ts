// A project's instructions, written in Markdown, as DOM. marked's lexer reads the Markdown into tokens;
// the DOM is built from them here through dom.ts, never from HTML: raw HTML in the Markdown shows as
// the text it is, links other than http(s) are dropped (their text stays), and no attribute beyond
// href, title, src and alt is ever set, so nothing in the instructions can run.

import { type Token, type Tokens, lexer } from "marked";
import { type Child, el, isSafeUrl, pointsAtOwnApi } from "./dom";

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

/**
 * marked leaves character references in text as written (its HTML renderer passes them through); as
 * text nodes they would show as "&amp;". Decode the common named ones and every numeric one.
 */
function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,6});/gi, (whole, name: string) => {
    if (name[0] === "#") {
      const code = name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

function usableUrl(href: string): boolean {
  return isSafeUrl(href) && !pointsAtOwnApi(href);
}

function inline(tokens: Token[] | undefined): Child[] {
  return (tokens ?? []).map(inlineToken);
}

function inlineToken(token: Token): Child {
  switch (token.type) {
    case "strong":
      return el("strong", {}, ...inline((token as Tokens.Strong).tokens));
    case "em":
      return el("em", {}, ...inline((token as Tokens.Em).tokens));
    case "del":
      return el("del", {}, ...inline((token as Tokens.Del).tokens));
    case "codespan":
      return el("code", { text: decodeEntities((token as Tokens.Codespan).text) });
    case "br":
      return el("br");
    case "link": {
      const link = token as Tokens.Link;
      const content = inline(link.tokens);
      if (!usableUrl(link.href)) return el("span", {}, ...content);
      // A new tab: following a link must not take the annotator off the task they hold.
      const attrs: Record<string, string> = { href: link.href, target: "_blank", rel: "noopener noreferrer" };
      return el("a", { attrs, title: link.title ?? undefined }, ...content);
    }
    case "image": {
      const image = token as Tokens.Image;
      if (!usableUrl(image.href)) return decodeEntities(image.text);
      return el("img", { attrs: { src: image.href, alt: decodeEntities(image.text), loading: "lazy", referrerpolicy: "no-referrer" } });
    }
    case "html":
    case "tag":
      // Raw HTML is shown as the text it is.
      return token.raw;
    case "text":
    case "escape": {
      const nested = (token as Tokens.Text).tokens;
      return nested?.length ? el("span", {}, ...inline(nested)) : decodeEntities((token as Tokens.Text).text);
    }
    default:
      return "tokens" in token && Array.isArray(token.tokens) ? el("span", {}, ...inline(token.tokens)) : token.raw;
  }
}

function block(token: Token): Child {
  switch (token.type) {
    case "space":
    case "def":
      return null;
    case "heading": {
      const heading = token as Tokens.Heading;
      // The panel's own title is an h2: the instructions' headings start below it.
      const level = Math.min(6, heading.depth + 2) as 3 | 4 | 5 | 6;
      return el(`h${level}`, {}, ...inline(heading.tokens));
    }
    case "paragraph":
      return el("p", {}, ...inline((token as Tokens.Paragraph).tokens));
    case "code":
      return el("pre", {}, el("code", { text: (token as Tokens.Code).text }));
    case "blockquote":
      return el("blockquote", {}, ...(token as Tokens.Blockquote).tokens.map(block));
    case "hr":
      return el("hr");
    case "list": {
      const list = token as Tokens.List;
      const items = list.items.map((item) =>
        el("li", {}, item.task ? (item.checked ? "☑ " : "☐ ") : null, ...item.tokens.filter((child) => child.type !== "checkbox").map(block)),
      );
      const node = list.ordered ? el("ol", {}, ...items) : el("ul", {}, ...items);
      if (list.ordered && typeof list.start === "number" && list.start !== 1) node.setAttribute("start", String(list.start));
      return node;
    }
    case "table": {
      const table = token as Tokens.Table;
      const cell = (tag: "th" | "td", content: Tokens.TableCell) => el(tag, {}, ...inline(content.tokens));
      return el(
        "table",
        {},
        el("thead", {}, el("tr", {}, ...table.header.map((content) => cell("th", content)))),
        el("tbody", {}, ...table.rows.map((row) => el("tr", {}, ...row.map((content) => cell("td", content))))),
      );
    }
    case "html":
      return el("p", { className: "raw-html", text: token.raw.trimEnd() });
    case "text": {
      // Text directly in a tight list item: inline content without a paragraph around it.
      const text = token as Tokens.Text;
      return text.tokens?.length ? el("span", {}, ...inline(text.tokens)) : decodeEntities(text.text);
    }
    default:
      return inlineToken(token);
  }
}

/** The instructions as DOM nodes, ready to append. */
export function renderMarkdown(source: string): Child[] {
  return lexer(source, { gfm: true, breaks: false }).map(block);
}
