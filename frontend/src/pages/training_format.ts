// Numbers of the Training tab as people read them, in the page's locale: counts (22.7M, 2270万),
// FLOPs in powers of ten, hours, shares as per cent, and a metric's value by what it measures.

import { formatBytes, language } from "../locale";

export function formatCount(value: number): string {
  return new Intl.NumberFormat(language(), { notation: "compact", maximumSignificantDigits: 3 }).format(value);
}

const SUPERSCRIPT = "⁰¹²³⁴⁵⁶⁷⁸⁹";

/** 3.4 × 10¹⁷: training FLOPs span too many orders of magnitude for plain digits. */
export function formatScientific(value: number): string {
  if (value === 0 || !Number.isFinite(value)) return String(value);
  const exponent = Math.floor(Math.log10(Math.abs(value)));
  if (exponent < 4) return formatDecimal(value);
  const mantissa = value / Math.pow(10, exponent);
  const power = String(exponent).replace(/\d/g, (digit) => SUPERSCRIPT[Number(digit)]).replace("-", "⁻");
  return `${new Intl.NumberFormat(language(), { maximumFractionDigits: 2 }).format(mantissa)} × 10${power}`;
}

export function formatDecimal(value: number, digits = 4): string {
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && Math.abs(value) < 1e-3) return value.toExponential(2);
  return new Intl.NumberFormat(language(), { maximumSignificantDigits: digits }).format(value);
}

export function formatPercent(value: number): string {
  return new Intl.NumberFormat(language(), { style: "percent", maximumFractionDigits: 1 }).format(value);
}

/** A metric's value: bytes as sizes, MFU as a share, throughput as a count, the rest as decimals. */
export function formatMetric(name: string, value: number): string {
  if (name.endsWith("_bytes")) return formatBytes(value);
  if (name === "mfu") return formatPercent(value);
  if (name.endsWith("_per_second") || name === "rows") return formatCount(value);
  return formatDecimal(value);
}
