// The manager's side of the app is one page shell per URL (the server serves the same shell for every
// route below, so deep links and reloads work) and this router, which renders the route's page and
// keeps later navigation inside the app with the History API (the back button works). Pages are
// loaded on demand, so the labeling page never downloads them.

import { el, replaceChildren } from "./dom";
import { catalogue } from "./locale";
import type { AppSettings } from "./types";

export interface PageContext {
  root: HTMLElement;
  settings: AppSettings;
  params: Record<string, string>;
  /** Go to another route of the app (pushes a history entry). */
  navigate(path: string): void;
}

/** A page renders into ctx.root; it may return a function that stops its timers when it is left. */
export type Page = (ctx: PageContext) => Promise<void | (() => void)>;

interface Route {
  pattern: RegExp;
  keys: string[];
  load: () => Promise<{ default: Page }>;
}

function route(path: string, load: () => Promise<{ default: Page }>): Route {
  const keys: string[] = [];
  const source = path.replace(/:(\w+)/g, (_whole, key: string) => {
    keys.push(key);
    return "([^/]+)";
  });
  return { pattern: new RegExp(`^${source}$`), keys, load };
}

// One line a page. The server's URL table (frontend/urls.py, PROJECT_TABS and APP_PAGES in
// frontend/views.py) decides which of these a role may open.
const ROUTES: Route[] = [
  route("/projects/", () => import("./pages/projects_list")),
  route("/projects/new/", () => import("./pages/project_new")),
  route("/projects/:project/:tab/", () => import("./pages/project")),
  route("/account/", () => import("./pages/account")),
  route("/members/", () => import("./pages/members")),
];

const t = catalogue(
  { notFound: "There is no page at this address.", failed: "This page could not be loaded. Reload to try again." },
  { notFound: "このアドレスにはページがありません。", failed: "ページを読み込めませんでした。再読み込みしてください。" },
);

export class Router {
  private leave: (() => void) | null = null;
  private rendering = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly settings: AppSettings,
  ) {}

  start(): void {
    window.addEventListener("popstate", () => void this.render());
    document.addEventListener("click", (event) => this.follow(event));
    void this.render();
  }

  navigate(path: string): void {
    if (path === location.pathname + location.search) return;
    history.pushState(null, "", path);
    void this.render();
  }

  /** Whether the app renders this path itself (else the browser loads it). */
  handles(path: string): boolean {
    return ROUTES.some((candidate) => candidate.pattern.test(path) && !path.endsWith("/label/"));
  }

  private follow(event: MouseEvent): void {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = (event.target as Element | null)?.closest?.("a[href]");
    if (!(link instanceof HTMLAnchorElement) || link.target || link.hasAttribute("download")) return;
    const url = new URL(link.href);
    if (url.origin !== location.origin || !this.handles(url.pathname)) return;
    event.preventDefault();
    this.navigate(url.pathname + url.search);
  }

  private async render(): Promise<void> {
    const ticket = ++this.rendering;
    this.leave?.();
    this.leave = null;
    const path = location.pathname;
    markCurrentNav(path);
    const match = ROUTES.map((candidate) => ({ candidate, found: candidate.pattern.exec(path) })).find((m) => m.found);
    if (!match?.found) {
      replaceChildren(this.root, el("p", { className: "notice error", text: t("notFound") }));
      return;
    }
    const params: Record<string, string> = {};
    match.candidate.keys.forEach((key, index) => (params[key] = decodeURIComponent(match.found![index + 1])));
    let page: Page;
    try {
      page = (await match.candidate.load()).default;
    } catch {
      replaceChildren(this.root, el("p", { className: "notice error", text: t("failed") }));
      return;
    }
    if (ticket !== this.rendering) return;
    const leave = await page({ root: this.root, settings: this.settings, params, navigate: (to) => this.navigate(to) });
    if (ticket === this.rendering && leave) this.leave = leave;
    else leave?.();
  }
}

function markCurrentNav(path: string): void {
  for (const link of document.querySelectorAll<HTMLAnchorElement>(".mainnav a")) {
    const current = link.dataset.nav === "members" ? path.startsWith("/members/") : path.startsWith("/projects/");
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}
