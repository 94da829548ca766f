// Offsets in results are Unicode code points, as Python indexes strings (the server checks them so).
// JavaScript strings are UTF-16: a character outside the Basic Multilingual Plane (many emoji, rare
// CJK ideographs) takes two units. Every offset that crosses the boundary goes through these helpers.

/** Maps code point index -> UTF-16 index for one string, computed once per text. */
export class CodePointIndex {
  readonly text: string;
  readonly length: number;
  private readonly utf16At: Uint32Array;

  constructor(text: string) {
    this.text = text;
    const offsets: number[] = [];
    let unit = 0;
    for (const char of text) {
      offsets.push(unit);
      unit += char.length;
    }
    offsets.push(unit);
    this.utf16At = Uint32Array.from(offsets);
    this.length = offsets.length - 1;
  }

  toUtf16(codePoint: number): number {
    return this.utf16At[Math.max(0, Math.min(codePoint, this.length))];
  }

  /** The code point index of a UTF-16 offset (one inside a surrogate pair rounds down). */
  fromUtf16(unit: number): number {
    let low = 0;
    let high = this.length;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.utf16At[middle] <= unit) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  slice(start: number, end: number): string {
    return this.text.slice(this.toUtf16(start), this.toUtf16(end));
  }
}

/** Code points in a string (Python's len). */
export function codePointLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
