// The labeling page: the queue (/next), submit, skip with a reason, correcting an earlier annotation,
// the task lock kept alive while the page is open, drafts saved as the annotator works, pre-labels,
// and the keyboard map. Everything that reaches the screen from a task goes through dom.ts as text; the
// project's instructions are Markdown, built into DOM from its tokens (markdown.ts), never as HTML.

import { ApiError, api } from "./api";
import { CommentPanel } from "./comments";
import { type ConfigNode, parseConfig } from "./config";
import { el, replaceChildren } from "./dom";
import { Editor, keyFeatures } from "./editor";
import { type Localized, type MessageKey, message, pageLanguage, quoteList, text } from "./i18n";
import { renderMarkdown } from "./markdown";
import { type Rejection, rejectedAnnotation, renderRejection } from "./rejection_notice";
import { RegionSelection, ResultStore } from "./store";
import type { Annotation, AppSettings, Draft, LabelingProject, Prediction, Region, Task } from "./types";

const DRAFT_DELAY_MS = 800;

// 409 codes of a submit or skip (annotation/services/annotations.py) after which the task is no longer
// the annotator's to answer: the page keeps their work in a draft, says why, and moves on.
const NOT_YOURS_TO_ANSWER = new Map<string, MessageKey>([
  ["task_locked", "taskTaken"],
  ["overlap_reached", "taskFull"],
  ["already_answered", "alreadyAnswered"],
]);

/** A row of the help: the keys as shown, and what they do (a message key, so it exists in every language). */
type Shortcut = [string, MessageKey];

/** Elements a dialog's Tab cycles through (those hidden or disabled are skipped). */
const FOCUSABLE = 'a[href], button:not([disabled]), textarea:not([disabled]), input:not([disabled]), select:not([disabled]), [tabindex]:not([tabindex="-1"])';

interface Recent {
  annotation: Annotation;
  task: Task;
}

export class LabelingPage {
  private project!: LabelingProject;
  private config!: ConfigNode;
  private task: Task | null = null;
  private editing: Annotation | null = null;
  private store = new ResultStore();
  private editor: Editor | null = null;
  private parentPrediction: number | null = null;
  private startedAt = performance.now();
  private priorLeadTime = 0;
  private dirty = false;
  private busy = false;
  private taskLost = false;
  private draftTimer: number | undefined;
  private overlay: {
    element: HTMLElement;
    panel: HTMLElement;
    onKey?: (event: KeyboardEvent) => boolean;
    restore: Element | null;
    /** What the dialog made inert (the rest of the page), to give back on close. */
    inert: HTMLElement[];
  } | null = null;
  private readySeq = 0;

  private readonly heading = el("h1", { className: "project-title" });
  private readonly counter = el("div", { className: "counter", attrs: { "aria-live": "polite" } });
  private readonly banner = el("div", { className: "banner", attrs: { "aria-live": "polite" } });
  private readonly notice = el("div", { className: "notice", attrs: { role: "status", "aria-live": "polite" } });
  private readonly rejectionBox = el("div", { className: "rejection", attrs: { "aria-live": "polite" } });
  private readonly canvas = el("div", { className: "canvas" });
  private readonly taskInfo = el("span", { className: "task-info" });
  private readonly comments = new CommentPanel();
  private readonly submitButton = el("button", {
    className: "primary",
    attrs: { type: "button" },
    on: { click: () => void this.submit() },
  });
  private readonly skipButton = el("button", { attrs: { type: "button" }, on: { click: () => this.openSkip() } }, "Skip ", el("kbd", { text: "S" }));
  private doneToday = 0;
  private left = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly settings: AppSettings,
  ) {}

  async start(): Promise<void> {
    try {
      this.project = await api<LabelingProject>("GET", `/api/labeling/projects/${this.settings.project}/`);
      this.config = parseConfig(this.project.label_config);
    } catch (error) {
      replaceChildren(this.root, el("p", { className: "notice error", text: messageOf(error) }), el("a", { attrs: { href: "/projects/" }, text: "Back to projects" }));
      return;
    }
    this.doneToday = this.project.done_today;
    this.left = this.project.tasks_left_for_me;
    this.heading.textContent = this.project.title;
    document.title = `${this.project.title} · Tessera`;
    const toolbar = el(
      "div",
      { className: "toolbar" },
      this.hasInstructions() ? el("button", { attrs: { type: "button" }, on: { click: () => this.openInstructions() } }, "Instructions ", el("kbd", { text: "I" })) : null,
      el("button", { attrs: { type: "button" }, on: { click: () => void this.openRecent() } }, "Earlier ", el("kbd", { text: "E" })),
      el("button", { attrs: { type: "button" }, on: { click: () => this.openHelp() } }, "Keys ", el("kbd", { text: "?" })),
      el("button", { attrs: { type: "button" }, on: { click: () => this.undo() } }, "Undo ", el("kbd", { text: "U" })),
      this.project.show_skip_button ? this.skipButton : null,
      this.submitButton,
    );
    replaceChildren(
      this.root,
      el("div", { className: "labeling-head" }, this.heading, this.taskInfo, this.counter),
      this.banner,
      this.rejectionBox,
      this.notice,
      this.canvas,
      toolbar,
      this.comments.element,
    );
    this.renderCounter();
    document.addEventListener("keydown", (event) => this.onKey(event));
    window.addEventListener("pagehide", () => this.leave());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") void this.renewLock();
    });
    const every = Math.max(3, Math.min(this.project.lock_seconds / 3, 120)) * 1000;
    window.setInterval(() => void this.renewLock(), every);
    await this.loadNext();
    if (this.project.show_instruction && this.hasInstructions()) this.openInstructions();
  }

  private hasInstructions(): boolean {
    return this.project.expert_instruction.trim() !== "";
  }

  // ---- the queue -------------------------------------------------------------------------------

  /** Take the next task and show it (or the end of the queue); a failure is said on screen and returned. */
  private async loadNext(): Promise<{ failed: string | null }> {
    try {
      // POST: taking a task changes state. The page's own queue endpoint answers the end of the queue
      // with {"task": null}, not Label Studio's 404, which the browser would log as a failed request.
      const { task } = await api<{ task: Task | null }>("POST", `/api/labeling/projects/${this.project.id}/next`);
      if (task === null) {
        this.showDone();
        return { failed: null };
      }
      const best: Prediction | undefined = task.predictions?.[0];
      // A task a reviewer sent back: the annotator corrects their own annotation (PATCH), shown with the reason.
      const rejection = task.rejection ?? null;
      this.show(task, {
        draft: task.drafts?.[0] ?? null,
        prediction: rejection ? null : (best ?? null),
        annotation: rejection ? rejectedAnnotation(task, rejection) : null,
        rejection,
      });
      void this.refreshCounts();
    } catch (error) {
      this.say(messageOf(error), "error");
      return { failed: messageOf(error) };
    }
    return { failed: null };
  }

  private show(task: Task, start: { draft: Draft | null; prediction: Prediction | null; annotation: Annotation | null; rejection?: Rejection | null }): void {
    this.task = task;
    renderRejection(this.rejectionBox, start.rejection ?? null);
    this.editing = start.annotation;
    this.taskLost = false;
    this.dirty = false;
    window.clearTimeout(this.draftTimer);
    this.store = new ResultStore();
    const initial: Region[] = start.draft?.result ?? start.annotation?.result ?? start.prediction?.result ?? [];
    this.store.load(initial);
    this.store.subscribe(() => this.changed());
    this.parentPrediction = start.annotation ? start.annotation.parent_prediction : (task.predictions?.[0]?.id ?? null);
    this.priorLeadTime = start.draft?.lead_time ?? (start.annotation ? (start.annotation.lead_time ?? 0) : 0);
    this.startedAt = performance.now();
    this.editor = new Editor(this.config, {
      store: this.store,
      selection: new RegionSelection(),
      data: task.data ?? {},
      imageOrigins: this.settings.imageOrigins,
      notify: (message, kind) => this.say(message, kind ?? "info"),
    });
    replaceChildren(this.canvas, this.editor.element);
    this.taskInfo.textContent = `Task #${task.inner_id ?? task.id}`;
    this.renderBanner(start);
    this.comments.show(task.id);
    replaceChildren(this.submitButton, `${text(this.editing ? "saveChanges" : "submit")} `, el("kbd", { text: "Ctrl+Enter" }));
    this.submitButton.lang = pageLanguage();
    this.skipButton.disabled = this.editing !== null;
    // A task starts with no message: whatever was said about the previous one goes.
    this.say("");
    // A part of the config this page cannot show would be missing from the answer: no submitting.
    this.submitButton.disabled = this.editor.unsupported.length > 0;
    if (this.editor.unsupported.length) this.sayUnsupported();
    this.editor.focusFirst();
    if (!this.root.contains(document.activeElement)) this.root.focus();
    // Ready for input: the benchmark measures from the "tessera:submit" mark to this one.
    this.readySeq++;
    document.body.dataset.task = String(task.id);
    document.body.dataset.ready = String(this.readySeq);
    performance.mark("tessera:ready");
  }

  private renderBanner(start: { draft: Draft | null; prediction: Prediction | null; annotation: Annotation | null }): void {
    const parts: (HTMLElement | string)[] = [];
    if (start.annotation) {
      parts.push(
        el("strong", { text: "Correcting your earlier annotation" }),
        ` of task #${this.task?.inner_id}: Ctrl+Enter saves, Esc goes back to the queue.`,
      );
      if (start.annotation.was_cancelled) parts.push(" You skipped this task; saving an answer turns the skip into an annotation.");
    } else if (start.prediction) {
      const score = start.prediction.score === null ? "no score" : `score ${start.prediction.score.toFixed(2)}`;
      parts.push(
        el("strong", { text: "Model suggestion" }),
        " ",
        el("span", { className: "model-version", text: start.prediction.model_version || "unnamed model" }),
        ` (${score}). Submit keeps it, edit it, or clear it with C.`,
      );
      if (start.draft) parts.push(" Your draft of this task was restored.");
    } else if (start.draft) {
      parts.push(el("strong", { text: "Draft restored." }), " Your unsaved work on this task is back.");
    }
    this.banner.className = start.annotation ? "banner editing" : start.prediction ? "banner suggestion" : "banner";
    replaceChildren(this.banner, ...parts);
    this.banner.hidden = parts.length === 0;
  }

  private showDone(): void {
    this.task = null;
    this.editing = null;
    this.editor = null;
    this.left = 0;
    renderRejection(this.rejectionBox, null);
    this.renderCounter();
    this.taskInfo.textContent = "";
    this.comments.show(null);
    this.banner.hidden = true;
    this.say("");
    const back = el("a", { className: "button primary", attrs: { href: "/projects/" }, text: "Back to projects" });
    replaceChildren(
      this.canvas,
      el("div", { className: "done" }, el("h2", { text: "All done" }), el("p", { text: "No more tasks for you in this project. Press E to correct an earlier annotation." }), back),
    );
    back.focus();
    this.readySeq++;
    document.body.dataset.task = "";
    document.body.dataset.ready = String(this.readySeq);
  }

  // ---- submit, skip, correct -------------------------------------------------------------------

  private leadTime(): number {
    // The server takes at most a day (86,400 s); a tab left open longer still submits.
    const seconds = Math.round((this.priorLeadTime + (performance.now() - this.startedAt) / 1000) * 1000) / 1000;
    return Math.min(seconds, 86400);
  }

  private sayUnsupported(): void {
    this.say(text("unsupportedConfig", { tags: this.editor?.unsupported.join(", ") ?? "" }), "error", pageLanguage());
  }

  /** Why the answer on screen cannot be sent as it is, said on screen; false when it can. */
  private refuseAsItIs(): boolean {
    if (this.editor?.unsupported.length) {
      this.sayUnsupported();
      return true;
    }
    const missing = this.editor?.missingRequired() ?? [];
    if (missing.length) {
      const own = missing.map((control) => control.message).filter((wording): wording is string => wording !== null);
      const wording =
        own.length === missing.length
          ? own.join(" ")
          : text(missing.length > 1 ? "requiredMany" : "requiredOne", { names: quoteList(missing.map((control) => control.label)) });
      this.say(wording, "error", own.length === missing.length ? undefined : pageLanguage());
      return true;
    }
    // The server refuses it too (400 empty_annotation); said here before anything is sent.
    if (!this.store.result.length && !this.project.enable_empty_annotation) {
      const skippable = this.project.show_skip_button && !this.editing;
      this.say(skippable ? message("emptyRefused", "emptyOrSkip").text : text("emptyRefused"), "error", pageLanguage());
      return true;
    }
    return false;
  }

  async submit(): Promise<void> {
    if (!this.task || this.busy || this.overlay) return;
    if (this.refuseAsItIs()) return;
    performance.mark("tessera:submit");
    this.busy = true;
    window.clearTimeout(this.draftTimer);
    const task = this.task;
    try {
      if (this.editing) {
        await api("PATCH", `/api/annotations/${this.editing.id}/`, {
          result: this.store.result,
          lead_time: this.leadTime(),
          ...(this.editing.was_cancelled ? { was_cancelled: false } : {}),
        });
        this.dirty = false;
        const corrected = task.inner_id ?? task.id;
        // The queue's next task comes after it; the message is said there, once it is on screen.
        const { failed } = await this.loadNext();
        if (!failed) this.say(text("correctionSaved", { task: corrected }), "info", pageLanguage());
        document.body.dataset.corrected = String(Date.now());
        return;
      } else {
        await api("POST", `/api/tasks/${task.id}/annotations/`, {
          result: this.store.result,
          lead_time: this.leadTime(),
          parent_prediction: this.parentPrediction,
        });
        this.dirty = false;
        this.doneToday++;
        this.left = Math.max(0, this.left - 1);
        this.renderCounter();
      }
      await this.loadNext();
    } catch (error) {
      await this.rejected(error, this.editing ? "Not saved" : "Not submitted");
    } finally {
      this.busy = false;
    }
  }

  private async skip(reason: string): Promise<void> {
    if (!this.task || this.busy || this.editing) return;
    this.busy = true;
    window.clearTimeout(this.draftTimer);
    try {
      await api("POST", `/api/tasks/${this.task.id}/skip`, { reason, lead_time: this.leadTime() });
      this.dirty = false;
      this.left = Math.max(0, this.left - 1);
      this.renderCounter();
      await this.loadNext();
    } catch (error) {
      await this.rejected(error, "Not skipped");
    } finally {
      this.busy = false;
    }
  }

  /** A refused write: say why, and keep the work (on screen and in the draft). */
  private async rejected(error: unknown, what: string): Promise<void> {
    const lost = error instanceof ApiError && error.status === 409 ? NOT_YOURS_TO_ANSWER.get(error.code) : undefined;
    if (lost) {
      await this.moveOn(lost);
      return;
    }
    const where = error instanceof ApiError && error.field ? ` (${error.field})` : "";
    let message = `${what}: ${messageOf(error)}${where}`;
    if (error instanceof ApiError && error.status === 404 && error.code !== "no_more_tasks") {
      this.taskLost = true;
      message = `${what}: this task no longer exists or is no longer yours. Your answer stays on screen; press N for the next task.`;
    } else {
      this.dirty = true;
      const saved = await this.saveDraft();
      message += saved ? " Your work is kept in a draft." : "";
    }
    this.say(message, "error");
  }

  /**
   * The task is no longer the annotator's to answer (someone else holds it, it has all its annotations,
   * or they answered it already, say in another tab): keep the work in a draft, go on to the next task
   * and say why there, in plain words. A draft for a task they answered is attached to that answer,
   * so opening it from "Earlier" (E) shows this work as a correction of it.
   */
  private async moveOn(reason: MessageKey): Promise<void> {
    const task = this.task;
    if (!task) return;
    let attachTo = this.editing?.id ?? null;
    if (reason === "alreadyAnswered" && attachTo === null) attachTo = await this.ownAnnotationId(task);
    this.dirty = true;
    const kept = await this.saveDraft({ annotation: attachTo });
    this.taskLost = true;
    // Let go of the task first: /next hands back a task the caller still holds, even a full one.
    await api("DELETE", `/api/tasks/${task.id}/lock`).catch(() => undefined);
    const { failed } = await this.loadNext();
    const keys: MessageKey[] = [reason];
    if (kept) keys.push("draftKept");
    if (!failed && this.task) keys.push("nextTask");
    const notice: Localized = message(...keys);
    // After show(), which clears the notice; a failed /next keeps its own reason after ours.
    this.say(failed ? `${notice.text} ${failed}` : notice.text, "error", notice.lang);
  }

  private async ownAnnotationId(task: Task): Promise<number | null> {
    try {
      const annotations = await api<Annotation[]>("GET", `/api/tasks/${task.id}/annotations/`);
      return annotations.find((annotation) => annotation.completed_by === this.settings.user.id)?.id ?? null;
    } catch {
      return null; // the draft is then kept with the task instead
    }
  }

  // ---- drafts and the lock ---------------------------------------------------------------------

  private changed(): void {
    this.dirty = true;
    window.clearTimeout(this.draftTimer);
    this.draftTimer = window.setTimeout(() => void this.saveDraft(), DRAFT_DELAY_MS);
  }

  private async saveDraft(options: { keepalive?: boolean; annotation?: number | null } = {}): Promise<boolean> {
    if (!this.task || !this.dirty || this.taskLost) return false;
    const task = this.task;
    const annotation = options.annotation !== undefined ? options.annotation : (this.editing?.id ?? null);
    const body = { result: this.store.result, lead_time: this.leadTime(), annotation };
    try {
      await api("POST", `/api/tasks/${task.id}/drafts`, body, { keepalive: options.keepalive });
      if (this.task === task) this.dirty = false;
      document.body.dataset.draftSaved = String(Date.now());
      return true;
    } catch (error) {
      // A draft of a task the page has left since speaks no more: its task and its messages are gone.
      if (this.task !== task) return false;
      if (error instanceof ApiError && error.status === 404) {
        this.taskLost = true;
        this.say("This task no longer exists (it was deleted). Your answer stays on screen; press N for the next task.", "error");
      } else if (!options.keepalive) {
        this.say(`The draft was not saved: ${messageOf(error)}`, "error");
      }
      return false;
    }
  }

  private async renewLock(): Promise<void> {
    if (!this.task || this.taskLost || this.editing) return;
    const task = this.task;
    try {
      await api("POST", `/api/tasks/${task.id}/lock`);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404 || this.task !== task) return;
      if (error.code === "lock_lost") {
        this.dirty = true;
        await this.saveDraft();
        this.taskLost = true;
        this.say(
          "Your hold on this task expired and another annotator took it. Your work is kept in a draft; press N for the next task.",
          "error",
        );
      } else {
        this.taskLost = true;
        this.say("This task no longer exists (it was deleted). Press N for the next task.", "error");
      }
    }
  }

  /** Leaving the page: save the draft and let go of the task, even as the page unloads. */
  private leave(): void {
    if (!this.task) return;
    if (this.dirty) void this.saveDraft({ keepalive: true });
    if (!this.editing) void api("DELETE", `/api/tasks/${this.task.id}/lock`, undefined, { keepalive: true }).catch(() => undefined);
  }

  // ---- counters --------------------------------------------------------------------------------

  private async refreshCounts(): Promise<void> {
    try {
      const fresh = await api<LabelingProject>("GET", `/api/labeling/projects/${this.project.id}/`);
      this.doneToday = fresh.done_today;
      this.left = fresh.tasks_left_for_me;
      this.renderCounter();
    } catch {
      // The counter is a convenience; the next refresh will catch up.
    }
  }

  private renderCounter(): void {
    replaceChildren(
      this.counter,
      el("span", { data: { count: "done" } }, "Done today ", el("b", { text: String(this.doneToday) })),
      " · ",
      el("span", { data: { count: "left" } }, "Left ", el("b", { text: String(this.left) })),
    );
  }

  // ---- keyboard --------------------------------------------------------------------------------

  private onKey(event: KeyboardEvent): void {
    if (this.overlay) {
      if (event.key === "Tab" && !event.ctrlKey && !event.altKey && !event.metaKey) {
        this.trapTab(event, this.overlay.panel);
      } else if (event.key === "Escape") {
        this.closeOverlay();
        event.preventDefault();
      } else if (this.overlay.onKey?.(event)) {
        event.preventDefault();
      }
      return;
    }
    const target = event.target as HTMLElement | null;
    const typing = target instanceof HTMLTextAreaElement || target instanceof HTMLInputElement || target?.isContentEditable;
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      void this.submit();
      return;
    }
    if (typing) {
      if (event.key === "Escape") {
        (target as HTMLElement).blur();
        if (!this.editor?.backFromPerRegion(target)) this.editor?.focusFirst();
      }
      return;
    }
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
      event.preventDefault();
      this.undo();
      return;
    }
    // The project's own hotkeys (hotkey="…" on a Choice or Label) win over number keys and letters.
    if (this.editor?.hotkey(event)) {
      event.preventDefault();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (this.editor?.key(event)) {
      event.preventDefault();
      return;
    }
    if (/^[1-9]$/.test(event.key)) {
      if (this.editor?.pickNumber(Number(event.key) - 1)) event.preventDefault();
      return;
    }
    const handled = this.command(event.key, target);
    if (handled) event.preventDefault();
  }

  private command(key: string, target: HTMLElement | null): boolean {
    switch (key) {
      case "Enter":
        if (target instanceof HTMLButtonElement || target instanceof HTMLAnchorElement) return false;
        void this.submit();
        return true;
      case "s":
      case "S":
        this.openSkip();
        return true;
      case "u":
      case "U":
        this.undo();
        return true;
      case "c":
      case "C":
        if (this.task && this.store.result.length) this.store.set([]);
        return true;
      case "e":
      case "E":
        void this.openRecent();
        return true;
      case "i":
      case "I":
        this.openInstructions();
        return true;
      case "?":
        this.openHelp();
        return true;
      case "n":
      case "N":
        if (this.taskLost || !this.task) {
          void this.loadNext();
          return true;
        }
        return false;
      case "Escape":
        if (this.editing) {
          void this.saveDraft().then(() => this.loadNext());
          return true;
        }
        return false;
      default:
        return false;
    }
  }

  private undo(): void {
    if (!this.store.undo()) this.say("Nothing to undo.");
  }

  // ---- panels ----------------------------------------------------------------------------------

  private openOverlay(title: string, body: HTMLElement, onKey?: (event: KeyboardEvent) => boolean, focus?: HTMLElement, lang?: string): void {
    this.closeOverlay();
    const panel = el(
      "div",
      { className: "overlay-panel", attrs: { role: "dialog", "aria-modal": "true", "aria-label": title, tabindex: "-1" } },
      el(
        "div",
        { className: "overlay-head" },
        el("h2", { text: title, attrs: { lang: pageLanguage() } }),
        el("button", { className: "overlay-close", attrs: { type: "button", "aria-label": text("close"), lang: pageLanguage() }, text: "Esc", on: { click: () => this.closeOverlay() } }),
      ),
      body,
    );
    // The title is the page's; the body is the page's too (help) or the project's (instructions).
    if (lang) body.lang = lang;
    const backdrop = el("div", { className: "overlay" }, panel);
    backdrop.addEventListener("mousedown", (event) => {
      if (event.target === backdrop) this.closeOverlay();
    });
    // A modal dialog: the rest of the page takes neither focus nor clicks while it is open (Tab is
    // kept inside it by trapTab), and focus goes back where it was when it closes.
    const inert = Array.from(document.body.children).filter((node): node is HTMLElement => node instanceof HTMLElement && !node.inert);
    for (const node of inert) node.inert = true;
    this.overlay = { element: backdrop, panel, onKey, restore: document.activeElement, inert };
    document.body.append(backdrop);
    (focus ?? panel).focus();
  }

  private closeOverlay(): void {
    if (!this.overlay) return;
    const { element, restore, inert } = this.overlay;
    this.overlay = null;
    element.remove();
    for (const node of inert) node.inert = false;
    if (restore instanceof HTMLElement && document.contains(restore) && restore !== document.body) restore.focus();
    else this.editor?.focusFirst();
  }

  /** Tab and Shift+Tab in a dialog go round its own buttons and fields, never out of it. */
  private trapTab(event: KeyboardEvent, panel: HTMLElement): void {
    event.preventDefault();
    const stops = Array.from(panel.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((node) => node.getClientRects().length > 0);
    if (!stops.length) {
      panel.focus();
      return;
    }
    const at = stops.indexOf(document.activeElement as HTMLElement);
    const step = event.shiftKey ? -1 : 1;
    const next = at === -1 ? (event.shiftKey ? stops.length - 1 : 0) : (at + step + stops.length) % stops.length;
    stops[next].focus();
  }

  /** The keys that work for this project's config and settings, and only those. */
  private shortcuts(): { project: [string, string][]; page: Shortcut[]; panels: Shortcut[] } {
    const features = keyFeatures(this.config);
    const own = this.editor?.hotkeyList() ?? [];
    const skip = this.project.show_skip_button;
    const page: Shortcut[] = [];
    if (features.numbers) page.push(["1 – 9", own.length ? "keyNumbersHotkeys" : "keyNumbers"]);
    page.push(["Tab  Shift+Tab", "keyTab"]);
    if (features.spans) {
      page.push(["← →  Shift+← →  Home  End", "keyTextMove"], ["Delete  Backspace", "keySpanDelete"], ["Esc", "keyTextEscape"]);
    }
    if (features.pairwise) page.push(["← →  1  2", "keyPairwise"]);
    if (features.turns) page.push(["↑ ↓  K  J", "keyTurns"], ["Delete  Backspace", "keyTurnDelete"]);
    if (features.shapes) {
      page.push(
        ["Tab  Shift+Tab", "keyShapeCycle"],
        ["← ↑ → ↓", "keyShapeMove"],
        ["Shift+← ↑ → ↓", "keyShapeResize"],
        ["Delete  Backspace", "keyShapeDelete"],
      );
    }
    if (features.polygons) page.push(["Enter", "keyPolygonClose"]);
    if (features.perRegion) page.push(["Enter", "keyPerRegion"]);
    if (features.textBoxes) page.push(["Esc", "keyTextBox"]);
    page.push(["Ctrl+Enter  Enter", "keySubmit"]);
    if (skip) page.push(["S", "keySkip"]);
    page.push(["Ctrl+Z  U", "keyUndo"], ["C", "keyClear"], ["E", "keyEarlier"]);
    if (this.hasInstructions()) page.push(["I", "keyInstructions"]);
    page.push(["?", "keyHelp"], ["Esc", "keyEscape"], ["N", "keyNext"]);
    const panels: Shortcut[] = [["Tab  Shift+Tab", "keyTabPanel"], ["↑ ↓", "keyEarlierList"]];
    if (skip) panels.push(["Alt+1 – 4", "keySkipPresets"]);
    return { project: own, page, panels };
  }

  private openHelp(): void {
    const row = (keys: string, what: string, key?: MessageKey) =>
      el("tr", { data: key ? { key } : {} }, el("th", {}, el("kbd", { text: keys })), el("td", { text: what }));
    const table = (rows: HTMLElement[], className = "shortcuts") => el("table", { className }, el("tbody", {}, ...rows));
    const { project, page, panels } = this.shortcuts();
    this.openOverlay(
      text("keysTitle"),
      el(
        "div",
        {},
        project.length ? el("h3", { text: text("projectKeys") }) : null,
        // The project's own labels are in its own language, whatever the page's.
        project.length ? table(project.map(([keys, what]) => row(keys, what)), "shortcuts project-keys") : null,
        el("h3", { text: text("pageKeys") }),
        table(page.map(([keys, key]) => row(keys, text(key), key)), "shortcuts page-keys"),
        el("h3", { text: text("dialogKeys") }),
        table(panels.map(([keys, key]) => row(keys, text(key), key)), "shortcuts panel-keys"),
      ),
      undefined,
      undefined,
      pageLanguage(),
    );
  }

  private openInstructions(): void {
    const markdown = this.project.expert_instruction.trim();
    // Markdown built into DOM from its tokens: markup written into it is displayed, never interpreted.
    const body = markdown ? el("div", { className: "instructions" }, ...renderMarkdown(markdown)) : el("div", { className: "instructions", text: text("noInstructions") });
    this.openOverlay(text("instructionsTitle"), body, undefined, undefined, markdown ? undefined : pageLanguage());
  }

  private openSkip(): void {
    if (!this.task || this.editing || !this.project.show_skip_button) return;
    const reason = el("textarea", { className: "skip-reason", attrs: { rows: "3", placeholder: "Why skip? (optional) e.g. unclear, not in the language, offensive", "aria-label": "Reason for skipping" } });
    const confirm = el("button", { className: "primary", attrs: { type: "button" }, on: { click: () => this.confirmSkip(reason.value) } }, "Skip task ", el("kbd", { text: "Enter" }));
    const presets = ["Unclear", "Not enough context", "Wrong language", "Offensive content"].map((preset, index) =>
      el("button", { attrs: { type: "button" }, on: { click: () => { reason.value = preset; reason.focus(); } } }, el("kbd", { text: `Alt+${index + 1}` }), ` ${preset}`),
    );
    this.openOverlay(
      text("skipTitle"),
      el("div", { className: "skip" }, reason, el("div", { className: "presets" }, ...presets), confirm),
      (event) => {
        if (event.key === "Enter" && !event.shiftKey) {
          this.confirmSkip(reason.value);
          return true;
        }
        if (event.altKey && /^[1-4]$/.test(event.key)) {
          reason.value = ["Unclear", "Not enough context", "Wrong language", "Offensive content"][Number(event.key) - 1];
          return true;
        }
        return false;
      },
      reason,
    );
  }

  private confirmSkip(reason: string): void {
    this.closeOverlay();
    void this.skip(reason);
  }

  private async openRecent(): Promise<void> {
    let rows: Recent[];
    try {
      rows = (await api<{ results: Recent[] }>("GET", `/api/labeling/projects/${this.project.id}/recent?limit=30`)).results;
    } catch (error) {
      this.say(messageOf(error), "error");
      return;
    }
    if (!rows.length) {
      this.say("You have no annotations in this project yet.");
      return;
    }
    const items = rows.map((row) =>
      el(
        "li",
        {},
        el(
          "button",
          { attrs: { type: "button" }, data: { annotation: row.annotation.id }, on: { click: () => void this.openEarlier(row) } },
          el("b", { text: `Task #${row.task.inner_id}` }),
          " ",
          el("span", { className: "summary", text: summarize(row.annotation) }),
          " ",
          el("small", { text: new Date(row.annotation.updated_at).toLocaleString() }),
        ),
      ),
    );
    const list = el("ol", { className: "recent" }, ...items);
    const buttons = () => Array.from(list.querySelectorAll("button"));
    this.openOverlay(
      text("earlierTitle"),
      list,
      (event) => {
        const all = buttons();
        const at = all.indexOf(document.activeElement as HTMLButtonElement);
        if (event.key === "ArrowDown") all[Math.min(all.length - 1, at + 1)]?.focus();
        else if (event.key === "ArrowUp") all[Math.max(0, at - 1)]?.focus();
        else return false;
        return true;
      },
      buttons()[0],
    );
  }

  private async openEarlier(row: Recent): Promise<void> {
    this.closeOverlay();
    await this.saveDraft();
    let draft: Draft | null = null;
    try {
      const drafts = await api<Draft[]>("GET", `/api/tasks/${row.task.id}/drafts`);
      draft = drafts.find((candidate) => candidate.annotation === row.annotation.id) ?? null;
    } catch (error) {
      this.say(messageOf(error), "error");
      return;
    }
    this.show(row.task, { draft, prediction: null, annotation: row.annotation });
  }

  private say(message: string, kind: "info" | "error" = "info", lang?: string): void {
    this.notice.textContent = message;
    // Messages without a language are the page's older English ones: the document's lang applies.
    if (lang) this.notice.lang = lang;
    else this.notice.removeAttribute("lang");
    this.notice.className = kind === "error" ? "notice error" : "notice";
    this.notice.setAttribute("role", kind === "error" ? "alert" : "status");
  }
}

function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}

function summarize(annotation: Annotation): string {
  if (annotation.was_cancelled) return `skipped${annotation.skip_reason ? `: ${annotation.skip_reason}` : ""}`;
  const words: string[] = [];
  for (const region of annotation.result) {
    const value = region.value;
    for (const key of ["choices", "labels", "rectanglelabels", "polygonlabels", "paragraphlabels"]) {
      if (Array.isArray(value[key])) words.push(...(value[key] as string[]));
    }
    if (typeof value.rating === "number") words.push(`${region.from_name} ${value.rating}`);
    if (region.type === "pairwise" && typeof value.selected === "string") words.push(`${value.selected} is better`);
    if (Array.isArray(value.text) && region.type === "textarea") words.push(`“${String(value.text[0]).slice(0, 40)}”`);
  }
  return words.slice(0, 6).join(", ") || "empty";
}
