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

/**
 * A link that downloads a file from our own API (a dataset version's file). dom.ts refuses hrefs
 * into /api/ because task data must never make the browser call the API with the session cookie;
 * this path is built by the page from a version's numeric id and query values it encodes itself, so
 * it is set on the anchor's property here, beside the blob: exception above.
 */
export function apiDownloadLink(path: string, query: Record<string, string>, text: string, label: string): HTMLAnchorElement {
  if (!/^\/api\/[a-z0-9_/-]+$/.test(path)) throw new Error(`refusing download path ${path}`);
  const link = el("a", { className: "download", attrs: { download: "", "aria-label": label }, text });
  const search = new URLSearchParams(query).toString();
  link.href = search ? `${path}?${search}` : path;
  return link;
}
