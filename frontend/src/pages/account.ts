// The signed-in user's own page (every role): who they are, their language and theme (the same
// preferences as the user menu, saved by the same form post), and their API tokens through
// /api/tokens/: list, create (the key is shown once, with a copy button) and revoke.

import "./account.css";
import { api } from "../api";
import { el, replaceChildren } from "../dom";
import { catalogue, formatDateTime } from "../locale";
import type { PageContext } from "../router";
import { confirmAction } from "./confirm";
import { dataTable } from "./tables";

const t = catalogue(
  {
    heading: "Your account",
    profile: "Profile",
    email: "E-mail",
    name: "Name",
    noName: "Not set",
    role: "Role in {organization}",
    preferences: "Preferences",
    language: "Language",
    browserLanguage: "Browser's language",
    theme: "Theme",
    system: "System",
    light: "Light",
    dark: "Dark",
    save: "Save",
    tokens: "API tokens",
    tokensHint: "Scripts and label-studio-sdk sign in with a token: send it as “Authorization: Token <key>”.",
    tokenName: "Name",
    tokenPrefix: "Starts with",
    created: "Created",
    lastUsed: "Last used",
    expires: "Expires",
    never: "Never",
    notUsed: "Not yet",
    expired: "Expired {when}",
    actions: "Actions",
    revoke: "Revoke",
    noTokens: "You have no API tokens.",
    newToken: "New token",
    newTokenName: "Name (what the token is for)",
    expiry: "Expires after",
    days: "{days} days",
    create: "Create token",
    creating: "Creating…",
    createdKey: "Your new token. Copy it now: it is shown only once.",
    key: "Token key",
    copy: "Copy",
    copied: "Copied.",
    copyFailed: "Could not copy; select the key and copy it yourself.",
    done: "Done",
    revokeTitle: "Revoke the token “{name}”?",
    revokeMessage: "Scripts that use the token starting with {prefix} stop working at once. This cannot be undone.",
    unnamed: "unnamed",
    cancel: "Cancel",
    revoked: "The token was revoked.",
    loadFailed: "Your tokens could not be loaded: {reason}",
  },
  {
    heading: "アカウント",
    profile: "プロフィール",
    email: "メールアドレス",
    name: "名前",
    noName: "未設定",
    role: "{organization} でのロール",
    preferences: "表示設定",
    language: "言語",
    browserLanguage: "ブラウザーの言語",
    theme: "テーマ",
    system: "システム",
    light: "ライト",
    dark: "ダーク",
    save: "保存",
    tokens: "API トークン",
    tokensHint: "スクリプトや label-studio-sdk はトークンでサインインします。「Authorization: Token <key>」として送ってください。",
    tokenName: "名前",
    tokenPrefix: "先頭の文字",
    created: "作成日時",
    lastUsed: "最終使用",
    expires: "有効期限",
    never: "なし",
    notUsed: "未使用",
    expired: "{when} に期限切れ",
    actions: "操作",
    revoke: "無効にする",
    noTokens: "API トークンはありません。",
    newToken: "新しいトークン",
    newTokenName: "名前（トークンの用途）",
    expiry: "有効期限",
    days: "{days} 日",
    create: "トークンを作成",
    creating: "作成中…",
    createdKey: "新しいトークンです。今すぐコピーしてください。表示されるのはこの一度だけです。",
    key: "トークンキー",
    copy: "コピー",
    copied: "コピーしました。",
    copyFailed: "コピーできませんでした。キーを選択して手動でコピーしてください。",
    done: "完了",
    revokeTitle: "トークン「{name}」を無効にしますか?",
    revokeMessage: "{prefix} で始まるトークンを使うスクリプトはすぐに動かなくなります。元に戻せません。",
    unnamed: "名前なし",
    cancel: "キャンセル",
    revoked: "トークンを無効にしました。",
    loadFailed: "トークンを読み込めませんでした: {reason}",
  },
);

interface Token {
  id: number;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
}

interface WhoAmI {
  email: string;
  first_name: string;
  last_name: string;
  role: string | null;
}

const EXPIRY_DAYS = [30, 90, 365];

export default async function accountPage(ctx: PageContext): Promise<void> {
  document.title = `${t("heading")} · Tessera`;
  const tokensBody = el("div", { className: "tokens", attrs: { "aria-live": "polite" } });
  const tokenStatus = el("p", { className: "notice", attrs: { role: "status" } });
  const profile = el("dl", { className: "profile" });
  replaceChildren(
    ctx.root,
    el("div", { className: "page-head" }, el("h1", { text: t("heading") })),
    el("div", { className: "account" },
      el("section", { className: "card" }, el("h2", { text: t("profile") }), profile),
      el("section", { className: "card" }, el("h2", { text: t("preferences") }), preferencesForm()),
      el(
        "section",
        { className: "card tokens-card" },
        el("h2", { text: t("tokens") }),
        el("p", { className: "hint", text: t("tokensHint") }),
        tokensBody,
        tokenStatus,
        createForm(async () => {
          tokenStatus.textContent = "";
          await drawTokens();
        }),
      ),
    ),
  );
  void drawProfile(profile, ctx);

  async function drawTokens(): Promise<void> {
    let tokens: Token[];
    try {
      tokens = await api<Token[]>("GET", "/api/tokens/");
    } catch (error) {
      replaceChildren(tokensBody, el("p", { className: "notice error", text: t("loadFailed", { reason: (error as Error).message }) }));
      return;
    }
    if (!tokens.length) {
      replaceChildren(tokensBody, el("p", { className: "empty", text: t("noTokens") }));
      return;
    }
    const now = Date.now();
    const rows = tokens.map((token) => {
      const expired = token.expires_at !== null && new Date(token.expires_at).getTime() <= now;
      const revoke = el("button", { attrs: { type: "button", "aria-label": `${t("revoke")}: ${token.name || token.prefix}` }, text: t("revoke") });
      revoke.addEventListener("click", async () => {
        const done = await confirmAction({
          title: t("revokeTitle", { name: token.name || t("unnamed") }),
          message: t("revokeMessage", { prefix: token.prefix }),
          confirmLabel: t("revoke"),
          cancelLabel: t("cancel"),
          action: async () => void (await api<null>("DELETE", `/api/tokens/${token.id}/`)),
        });
        if (!done) return;
        await drawTokens();
        tokenStatus.textContent = t("revoked");
      });
      return el(
        "tr",
        { data: { token: token.id } },
        el("td", { text: token.name || "—" }),
        el("td", {}, el("code", { text: `${token.prefix}…` })),
        el("td", { text: formatDateTime(token.created_at) }),
        el("td", { text: token.last_used_at ? formatDateTime(token.last_used_at) : t("notUsed") }),
        el("td", { className: expired ? "expired" : "", text: token.expires_at ? (expired ? t("expired", { when: formatDateTime(token.expires_at) }) : formatDateTime(token.expires_at)) : t("never") }),
        el("td", {}, revoke),
      );
    });
    replaceChildren(
      tokensBody,
      dataTable(
        "data",
        (["tokenName", "tokenPrefix", "created", "lastUsed", "expires", "actions"] as const).map((key) => t(key)),
        el("tbody", {}, ...rows),
      ),
    );
  }

  await drawTokens();
}

async function drawProfile(holder: HTMLElement, ctx: PageContext): Promise<void> {
  let who: WhoAmI;
  try {
    who = await api<WhoAmI>("GET", "/api/current-user/whoami");
  } catch {
    who = { email: ctx.settings.user.email, first_name: "", last_name: "", role: ctx.settings.role };
  }
  const name = [who.first_name, who.last_name].filter(Boolean).join(" ");
  replaceChildren(
    holder,
    el("dt", { text: t("email") }),
    el("dd", { data: { field: "email" }, text: who.email }),
    el("dt", { text: t("name") }),
    el("dd", { data: { field: "name" }, className: name ? "" : "muted", text: name || t("noName") }),
    ctx.settings.organization ? el("dt", { text: t("role", { organization: ctx.settings.organization.title }) }) : null,
    ctx.settings.organization ? el("dd", { data: { field: "role" }, text: who.role ?? "" }) : null,
  );
}

/** The user menu's preferences form, posted to the same view (it also sets the language cookie). */
function preferencesForm(): HTMLElement {
  const current = (name: string): string =>
    document.querySelector<HTMLSelectElement>(`.usermenu select[name="${name}"]`)?.value ?? (name === "theme" ? document.documentElement.dataset.theme ?? "" : "");
  const csrf = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? "";
  const select = (name: string, options: [string, string, string?][]): HTMLSelectElement => {
    const node = el("select", { attrs: { name, id: `account-${name}` } });
    for (const [value, label, lang] of options) node.append(el("option", { attrs: lang ? { value, lang } : { value }, text: label }));
    node.value = current(name);
    return node;
  };
  const language = select("language", [["", t("browserLanguage")], ["en", "English", "en"], ["ja", "日本語", "ja"]]);
  const theme = select("theme", [["", t("system")], ["light", t("light")], ["dark", t("dark")]]);
  const save = el("button", { attrs: { type: "submit" }, text: t("save") });
  const form = el(
    "form",
    { className: "preferences", attrs: { method: "post", action: "/preferences/" } },
    el("input", { attrs: { type: "hidden", name: "csrfmiddlewaretoken", value: csrf } }),
    el("input", { attrs: { type: "hidden", name: "next", value: "/account/" } }),
    el("div", { className: "field" }, el("label", { attrs: { for: language.id }, text: t("language") }), language),
    el("div", { className: "field" }, el("label", { attrs: { for: theme.id }, text: t("theme") }), theme),
    el("div", { className: "actions" }, save),
  );
  // As in the user menu: a choice applies at once.
  for (const node of [language, theme]) node.addEventListener("change", () => form.requestSubmit());
  return form;
}

function createForm(onCreated: () => Promise<void>): HTMLElement {
  const name = el("input", { attrs: { type: "text", id: "token-name", name: "name", maxlength: "100", autocomplete: "off" } });
  const expiry = el("select", { attrs: { id: "token-expiry", name: "expires_in_days" } });
  expiry.append(el("option", { attrs: { value: "" }, text: t("never") }), ...EXPIRY_DAYS.map((days) => el("option", { attrs: { value: String(days) }, text: t("days", { days }) })));
  const error = el("p", { className: "notice error", attrs: { role: "alert" } });
  const submit = el("button", { className: "primary", attrs: { type: "submit" }, text: t("create") });
  const reveal = el("div", { className: "new-key" });
  const form = el(
    "form",
    { className: "token-form" },
    el("h3", { text: t("newToken") }),
    el(
      "div",
      { className: "row" },
      el("div", { className: "field" }, el("label", { attrs: { for: name.id }, text: t("newTokenName") }), name),
      el("div", { className: "field" }, el("label", { attrs: { for: expiry.id }, text: t("expiry") }), expiry),
    ),
    el("div", { className: "actions" }, submit),
    error,
    reveal,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    submit.textContent = t("creating");
    const body: { name: string; expires_in_days?: number } = { name: name.value.trim() };
    if (expiry.value) body.expires_in_days = Number(expiry.value);
    let key: string;
    try {
      key = (await api<{ key: string }>("POST", "/api/tokens/", body)).key;
    } catch (failure) {
      error.textContent = (failure as Error).message;
      return;
    } finally {
      submit.disabled = false;
      submit.textContent = t("create");
    }
    name.value = "";
    expiry.value = "";
    showKey(reveal, key);
    await onCreated();
  });
  return form;
}

function showKey(holder: HTMLElement, key: string): void {
  const field = el("input", { className: "code", attrs: { type: "text", id: "token-key", readonly: "", "aria-label": t("key"), spellcheck: "false" } });
  field.value = key;
  const copyStatus = el("span", { className: "copy-status", attrs: { role: "status" } });
  const copy = el("button", { attrs: { type: "button" }, text: t("copy") });
  copy.addEventListener("click", async () => {
    field.select();
    try {
      await navigator.clipboard.writeText(key);
      copyStatus.textContent = t("copied");
    } catch {
      // Without the clipboard API (a page not served over HTTPS), the browser's own copy still works.
      copyStatus.textContent = document.execCommand("copy") ? t("copied") : t("copyFailed");
    }
  });
  const done = el("button", { attrs: { type: "button" }, text: t("done") });
  done.addEventListener("click", () => replaceChildren(holder));
  replaceChildren(
    holder,
    el("div", { className: "card key-card" }, el("p", { text: t("createdKey") }), el("div", { className: "key-row" }, field, copy, done), copyStatus),
  );
  field.focus();
  field.select();
}
