// Tables of the manager pages as CSV files, written as the server's CSV export writes them
// (exports/formats/csv_table.py): text cells that a spreadsheet would run as a formula (starting with
// = + - @, a tab or a carriage return) get a leading ', numbers are written as they are, and a cell
// with a comma, a quote or a line break is quoted.

import { saveBlob } from "../download";

export type CsvCell = string | number | boolean | null | undefined;

const FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r"];

export function csvCell(value: CsvCell): string {
  if (value === null || value === undefined) return "";
  let text = typeof value === "string" ? value : String(value);
  if (typeof value === "string" && FORMULA_STARTS.some((start) => text.startsWith(start))) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(header: string[], rows: CsvCell[][]): string {
  return [header, ...rows].map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

/** Download a table as `<name>.csv` (UTF-8 with a byte order mark, so spreadsheets read Japanese). */
export function downloadCsv(fileName: string, header: string[], rows: CsvCell[][]): void {
  saveBlob(new Blob(["\ufeff", toCsv(header, rows)], { type: "text/csv;charset=utf-8" }), fileName);
}
