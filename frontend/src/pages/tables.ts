// The manager pages' tables: one shape (a scrolling wrapper, column headers with scope, a body), so
// every list reads the same to a screen reader and scrolls in its own box on a phone.

import { el } from "../dom";

/** A table of `className` with these column headers (null leaves a column out) over `body`. */
export function dataTable(className: string, headers: (string | null | false)[], body: HTMLTableSectionElement): HTMLElement {
  const cells = headers.filter((header): header is string => typeof header === "string").map((header) => el("th", { attrs: { scope: "col" }, text: header }));
  return el("div", { className: "table-wrap" }, el("table", { className }, el("thead", {}, el("tr", {}, ...cells)), body));
}
