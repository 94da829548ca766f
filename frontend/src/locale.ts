// The language of the page and its message catalogues. The server decides the language (the user's
// choice, else the language cookie, else Accept-Language, else English) and writes it on <html lang>;
// every page of the app reads it from there, so the server-rendered parts and the app always agree.
//
// A catalogue is one module's messages in English and Japanese. The Japanese table is typed by the
// English keys (NoInfer), so a message without its Japanese translation does not compile, and
// scripts/test.sh type-checks the app.

export type Language = "en" | "ja";
export type Params = Record<string, string | number>;

export function language(): Language {
  const primary = (document.documentElement.lang || "en").toLowerCase().split("-")[0];
  return primary === "ja" ? "ja" : "en";
}

export type Translate<K extends string> = (key: K, params?: Params) => string;

/** `t(key, {name: value})` in the page's language; `{name}` in a message is replaced by its value. */
export function catalogue<K extends string>(en: Record<K, string>, ja: Record<NoInfer<K>, string>): Translate<K> {
  const tables: Record<Language, Record<K, string>> = { en, ja };
  return (key, params) => {
    const template = tables[language()][key];
    return params ? template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole)) : template;
  };
}

export function formatNumber(value: number): string {
  return new Intl.NumberFormat(language()).format(value);
}

/** A date and time from the API (ISO 8601) in the page's locale and the browser's time zone. */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(language(), { dateStyle: "medium", timeStyle: "short" }).format(date);
}

/** A size in bytes as people read it (B, KB, MB, GB), in the page's locale. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${new Intl.NumberFormat(language(), { maximumFractionDigits: digits }).format(value)} ${units[unit]}`;
}
