// The labeling page: the queue (/next), submit, skip with a reason, correcting an earlier annotation,
// the task lock kept alive while the page is open, drafts saved as the annotator works, pre-labels,
// and the keyboard map. Everything that reaches the screen from a task goes through dom.ts as text.

import { ApiError, api } from "./api";
import { type ConfigNode, parseConfig } from "./config";
import { el, replaceChildren } from "./dom";
import { Editor } from "./editor";
import { type Localized, type MessageKey, message } from "./i18n";
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

const SHORTCUTS: [string, string][] = [
  ["1 – 9", "pick a choice, a label or a rating in the focused part (Tab moves between parts); a key the project sets on an option (listed on top when there is one) wins over them"],
  ["← → Shift+← →", "move and select in the text; Home / End jump"],
  ["← →  or  1 2", "pairwise: the left / right response is better"],
  ["↑ ↓", "previous / next turn of a conversation"],
  ["Tab  Shift+Tab", "image: select the next / previous shape (after the last, on to the next part)"],
  ["← ↑ → ↓", "image: move the selected shape (Alt: finer)"],
  ["Shift+← ↑ → ↓", "image: resize the selected shape (right / down grow, left / up shrink)"],
  ["Enter", "on a selected span, shape or labeled turn: go to the controls that answer for it (Esc comes back)"],
  ["Ctrl+Enter  or  Enter", "submit (Enter outside text boxes)"],
  ["S", "skip, with a reason"],
  ["Ctrl+Z  or  U", "undo"],
  ["Delete  Backspace", "remove the selected span or shape (and the answers attached to it)"],
  ["C", "clear the whole answer (or the model's suggestion)"],
  ["E", "your earlier annotations: open one to correct it"],
  ["I", "instructions"],
  ["?", "this help"],
  ["Esc", "close a panel; cancel a selection; leave an earlier annotation"],
];

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
  private overlay: { element: HTMLElement; onKey?: (event: KeyboardEvent) => boolean; restore: Element | null } | null = null;
  private readySeq = 0;

  private readonly heading = el("h1", { className: "project-title" });
  private readonly counter = el("div", { className: "counter", attrs: { "aria-live": "polite" } });
  private readonly banner = el("div", { className: "banner", attrs: { "aria-live": "polite" } });
  private readonly notice = el("div", { className: "notice", attrs: { role: "status", "aria-live": "polite" } });
  private readonly canvas = el("div", { className: "canvas" });
  private readonly taskInfo = el("span", { className: "task-info" });
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
      el("button", { attrs: { type: "button" }, on: { click: () => this.openInstructions() } }, "Instructions ", el("kbd", { text: "I" })),
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
      this.notice,
      this.canvas,
      toolbar,
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
    if (this.project.show_instruction && this.project.expert_instruction.trim()) this.openInstructions();
  }

  // ---- the queue -------------------------------------------------------------------------------

  /** Take the next task and show it (or the end of the queue); a failure is said on screen and returned. */
  private async loadNext(): Promise<{ failed: string | null }> {
    try {
      // POST: taking a task changes state, and a session GET of /next takes nothing (see the API docs).
      const task = await api<Task>("POST", `/api/projects/${this.project.id}/next`);
      const best: Prediction | undefined = task.predictions?.[0];
      this.show(task, { draft: task.drafts?.[0] ?? null, prediction: best ?? null, annotation: null });
      void this.refreshCounts();
    } catch (error) {
      if (error instanceof ApiError && error.code === "no_more_tasks") {
        this.showDone();
      } else {
        this.say(messageOf(error), "error");
        return { failed: messageOf(error) };
      }
    }
    return { failed: null };
  }

  private show(task: Task, start: { draft: Draft | null; prediction: Prediction | null; annotation: Annotation | null }): void {
    this.task = task;
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
    replaceChildren(this.submitButton, this.editing ? "Save changes " : "Submit ", el("kbd", { text: "Ctrl+Enter" }));
    this.skipButton.disabled = this.editing !== null;
    this.say("");
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
    this.renderCounter();
    this.taskInfo.textContent = "";
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

  async submit(): Promise<void> {
    if (!this.task || this.busy || this.overlay) return;
    const missing = this.editor?.missingRequired() ?? [];
    if (missing.length) {
      this.say(`Answer ${missing.join(", ")} before submitting: ${missing.length > 1 ? "they are" : "it is"} required.`, "error");
      return;
    }
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
        this.say("Your correction is saved.");
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
      if (event.key === "Escape") {
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

  private openOverlay(title: string, body: HTMLElement, onKey?: (event: KeyboardEvent) => boolean, focus?: HTMLElement): void {
    this.closeOverlay();
    const panel = el(
      "div",
      { className: "overlay-panel", attrs: { role: "dialog", "aria-modal": "true", "aria-label": title, tabindex: "-1" } },
      el("div", { className: "overlay-head" }, el("h2", { text: title }), el("button", { attrs: { type: "button", "aria-label": "Close" }, text: "Esc", on: { click: () => this.closeOverlay() } })),
      body,
    );
    const backdrop = el("div", { className: "overlay" }, panel);
    backdrop.addEventListener("mousedown", (event) => {
      if (event.target === backdrop) this.closeOverlay();
    });
    this.overlay = { element: backdrop, onKey, restore: document.activeElement };
    document.body.append(backdrop);
    (focus ?? panel).focus();
  }

  private closeOverlay(): void {
    if (!this.overlay) return;
    const { element, restore } = this.overlay;
    this.overlay = null;
    element.remove();
    if (restore instanceof HTMLElement && document.contains(restore) && restore !== document.body) restore.focus();
    else this.editor?.focusFirst();
  }

  private openHelp(): void {
    const row = ([keys, what]: [string, string]) => el("tr", {}, el("th", {}, el("kbd", { text: keys })), el("td", { text: what }));
    const own = this.editor?.hotkeyList() ?? [];
    this.openOverlay(
      "Keyboard shortcuts",
      el(
        "div",
        {},
        own.length ? el("h3", { text: "This project's keys" }) : null,
        own.length ? el("table", { className: "shortcuts project-keys" }, el("tbody", {}, ...own.map(row))) : null,
        own.length ? el("h3", { text: "Everywhere" }) : null,
        el("table", { className: "shortcuts" }, el("tbody", {}, ...SHORTCUTS.map(row))),
      ),
    );
  }

  private openInstructions(): void {
    const text = this.project.expert_instruction.trim() || "This project has no instructions.";
    // Instructions are shown as text: markup written into them is displayed, not interpreted.
    this.openOverlay("Instructions", el("div", { className: "instructions", text }));
  }

  private openSkip(): void {
    if (!this.task || this.editing || !this.project.show_skip_button) return;
    const reason = el("textarea", { className: "skip-reason", attrs: { rows: "3", placeholder: "Why skip? (optional) e.g. unclear, not in the language, offensive", "aria-label": "Reason for skipping" } });
    const confirm = el("button", { className: "primary", attrs: { type: "button" }, on: { click: () => this.confirmSkip(reason.value) } }, "Skip task ", el("kbd", { text: "Enter" }));
    const presets = ["Unclear", "Not enough context", "Wrong language", "Offensive content"].map((preset, index) =>
      el("button", { attrs: { type: "button" }, on: { click: () => { reason.value = preset; reason.focus(); } } }, el("kbd", { text: `Alt+${index + 1}` }), ` ${preset}`),
    );
    this.openOverlay(
      "Skip this task",
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
      "Your earlier annotations",
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
