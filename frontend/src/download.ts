// Saving a file the page built (an export it streamed) through a Blob URL. dom.ts refuses any URL but
// http(s) in href, rightly for data from tasks; a blob: URL made here from our own bytes is the one
// exception, so it is set on the anchor's property here and nowhere else.

import { el } from "./dom";

export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = el("a", { attrs: { download: fileName } });
  link.href = url;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started from the URL; give the browser a moment before letting it go.
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
