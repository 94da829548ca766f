// Text on a label's colour (badges on spans and turns): black or white, whichever contrasts more, so
// every colour a config gives meets WCAG AA (4.5:1). Either one always does: a colour's ratios with
// black and white multiply to 21, so the larger is at least √21 ≈ 4.58.

type Rgb = [number, number, number];

const WHITE: Rgb = [255, 255, 255];
let probe: CanvasRenderingContext2D | null | undefined;

/**
 * Any CSS colour (#rgb, #rrggbbaa, a name, rgb(), hsl()) as the browser reads it, composited over white
 * (the paper the badges sit on); null when the browser does not read it as a colour.
 */
export function resolveColour(colour: string): Rgb | null {
  if (probe === undefined) probe = document.createElement("canvas").getContext("2d");
  if (!probe) return null;
  // A canvas keeps its old fillStyle when given something that is not a colour: try two sentinels.
  probe.fillStyle = "#000000";
  probe.fillStyle = colour;
  const first = String(probe.fillStyle);
  probe.fillStyle = "#ffffff";
  probe.fillStyle = colour;
  const second = String(probe.fillStyle);
  if (first !== second) return null;
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(first);
  if (hex) return [parseInt(hex[1], 16), parseInt(hex[2], 16), parseInt(hex[3], 16)];
  const rgba = /^rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*([\d.]+)\s*)?\)$/.exec(first);
  if (!rgba) return null;
  const alpha = rgba[4] === undefined ? 1 : Number(rgba[4]);
  const channels = [rgba[1], rgba[2], rgba[3]].map(Number);
  return channels.map((channel, index) => Math.round(channel * alpha + WHITE[index] * (1 - alpha))) as Rgb;
}

/** WCAG 2 relative luminance of an sRGB colour. */
export function relativeLuminance([red, green, blue]: Rgb): number {
  const linear = (channel: number) => {
    const value = channel / 255;
    return value <= 0.04045 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue);
}

export function contrastRatio(first: Rgb, second: Rgb): number {
  const [light, dark] = [relativeLuminance(first), relativeLuminance(second)].sort((a, b) => b - a);
  return (light + 0.05) / (dark + 0.05);
}

/** "#000000" or "#ffffff": the text colour with the higher contrast on ``background``. */
export function textColourOn(background: string): string {
  const rgb = resolveColour(background);
  if (!rgb) return "#000000";
  return contrastRatio(rgb, [0, 0, 0]) >= contrastRatio(rgb, WHITE) ? "#000000" : "#ffffff";
}
