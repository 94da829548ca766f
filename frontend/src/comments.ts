// The labeling page's comment panel: the task's open threads with their replies, a form to comment or
// reply, and a button to resolve a thread (GET/POST /api/tasks/{id}/comments/, PATCH /api/comments/{id}/).
// Comments are other people's text: everything goes in through dom.ts as text nodes, never as markup,
// so "<img onerror=…>" in a comment shows as those characters.

import { api } from "./api";
import { el, replaceChildren } from "./dom";
import { catalogue, formatDateTime, language } from "./locale";

const t = catalogue(
  {
    title: "Comments",
    none: "No open threads on this task.",
    placeholder: "Comment on this task (@email mentions a member)",
    send: "Comment",
    reply: "Reply",
    replyingTo: "Replying to {author}",
    cancelReply: "Cancel reply",
    resolve: "Resolve",
    resolved: "Thread resolved.",
    sent: "Comment added.",
    empty: "Write something first.",
    failed: "The comments could not be loaded: {message}",
    unknown: "someone",
    mentions: "Mentions: {names}",
    sendKey: "Ctrl+Enter sends",
  },
  {
    title: "コメント",
    none: "このタスクに未解決のスレッドはありません。",
    placeholder: "このタスクにコメント（@メールアドレスでメンバーをメンション）",
    send: "コメントする",
    reply: "返信",
    replyingTo: "{author} さんに返信",
    cancelReply: "返信をやめる",
    resolve: "解決済みにする",
    resolved: "スレッドを解決済みにしました。",
    sent: "コメントを追加しました。",
    empty: "先に内容を入力してください。",
    failed: "コメントを読み込めませんでした: {message}",
    unknown: "不明なユーザー",
    mentions: "メンション: {names}",
    sendKey: "Ctrl+Enter で送信",
  },
);

interface CommentUser {
  id: number;
  email: string;
}

export interface TaskComment {
  id: number;
  task: number;
  annotation: number | null;
  parent: number | null;
  author: CommentUser | null;
  text: string;
  mentions: CommentUser[];
  is_resolved: boolean;
  resolved_by: CommentUser | null;
  resolved_at: string | null;
  created_at: string;
  updated_at: string;
}

export class CommentPanel {
  readonly element: HTMLElement;
  private readonly list = el("div", { className: "comment-threads" });
  private readonly status = el("p", { className: "comment-status", attrs: { role: "status", "aria-live": "polite" } });
  private readonly input = el("textarea", { attrs: { rows: "2", "aria-label": t("placeholder"), placeholder: t("placeholder") } });
  private readonly replyNote = el("p", { className: "comment-reply-note" });
  private readonly sendButton = el("button", { attrs: { type: "submit" }, text: t("send") });
  private taskId: number | null = null;
  private parent: TaskComment | null = null;
  private busy = false;

  constructor() {
    this.replyNote.hidden = true;
    const form = el(
      "form",
      { className: "comment-form", on: { submit: (event) => { event.preventDefault(); void this.send(); } } },
      this.replyNote,
      this.input,
      el("div", { className: "comment-actions" }, el("span", { className: "hint", text: t("sendKey") }), this.sendButton),
    );
    // Ctrl+Enter in the comment box sends the comment; it must not reach the page, where it submits the annotation.
    this.input.addEventListener("keydown", (event) => {
      if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
        event.preventDefault();
        event.stopPropagation();
        void this.send();
      }
    });
    this.element = el("section", { className: "comments", attrs: { "aria-label": t("title"), lang: language() } }, el("h2", { text: t("title") }), this.list, form, this.status);
    this.element.hidden = true;
  }

  /** Show the threads of a task (null: no task, the panel hides). */
  show(taskId: number | null): void {
    this.taskId = taskId;
    this.parent = null;
    this.renderReplyNote();
    this.input.value = "";
    this.status.textContent = "";
    this.element.hidden = taskId === null;
    replaceChildren(this.list);
    if (taskId !== null) void this.load();
  }

  private async load(): Promise<void> {
    const taskId = this.taskId;
    if (taskId === null) return;
    try {
      const comments = await api<TaskComment[]>("GET", `/api/tasks/${taskId}/comments/`);
      if (taskId === this.taskId) this.render(comments);
    } catch (error) {
      if (taskId === this.taskId) this.status.textContent = t("failed", { message: error instanceof Error ? error.message : String(error) });
    }
  }

  private render(comments: TaskComment[]): void {
    const replies = new Map<number, TaskComment[]>();
    for (const comment of comments) {
      if (comment.parent === null) continue;
      const list = replies.get(comment.parent) ?? [];
      list.push(comment);
      replies.set(comment.parent, list);
    }
    const open = comments.filter((comment) => comment.parent === null && !comment.is_resolved);
    if (open.length === 0) {
      replaceChildren(this.list, el("p", { className: "empty", text: t("none") }));
      return;
    }
    replaceChildren(
      this.list,
      ...open.map((thread) =>
        el(
          "article",
          { className: "comment-thread", data: { commentId: thread.id } },
          this.renderComment(thread),
          ...(replies.get(thread.id) ?? []).map((reply) => this.renderComment(reply)),
          el(
            "div",
            { className: "comment-actions" },
            el("button", { attrs: { type: "button" }, text: t("reply"), on: { click: () => this.replyTo(thread) } }),
            el("button", { attrs: { type: "button" }, className: "resolve", text: t("resolve"), on: { click: () => void this.resolve(thread) } }),
          ),
        ),
      ),
    );
  }

  private renderComment(comment: TaskComment): HTMLElement {
    const mentions = comment.mentions.map((user) => user.email).join(", ");
    return el(
      "div",
      { className: comment.parent === null ? "comment" : "comment reply", data: { commentId: comment.id } },
      el("p", { className: "comment-meta" }, el("strong", { text: comment.author?.email ?? t("unknown") }), " · ", el("time", { attrs: { datetime: comment.created_at }, text: formatDateTime(comment.created_at) })),
      // Text, never markup: white-space: pre-wrap in the stylesheet keeps the author's line breaks.
      el("p", { className: "comment-text", text: comment.text }),
      mentions ? el("p", { className: "comment-mentions", text: t("mentions", { names: mentions }) }) : null,
    );
  }

  private replyTo(thread: TaskComment | null): void {
    this.parent = thread;
    this.renderReplyNote();
    this.input.focus();
  }

  private renderReplyNote(): void {
    if (this.parent === null) {
      this.replyNote.hidden = true;
      replaceChildren(this.replyNote);
      return;
    }
    this.replyNote.hidden = false;
    replaceChildren(
      this.replyNote,
      t("replyingTo", { author: this.parent.author?.email ?? t("unknown") }),
      " ",
      el("button", { attrs: { type: "button" }, className: "link", text: t("cancelReply"), on: { click: () => this.replyTo(null) } }),
    );
  }

  private async send(): Promise<void> {
    const taskId = this.taskId;
    if (taskId === null || this.busy) return;
    const body = this.input.value;
    if (!body.trim()) {
      this.status.textContent = t("empty");
      return;
    }
    this.busy = true;
    this.sendButton.disabled = true;
    try {
      await api<TaskComment>("POST", `/api/tasks/${taskId}/comments/`, { text: body, parent: this.parent?.id ?? null });
      if (taskId !== this.taskId) return;
      this.input.value = "";
      this.parent = null;
      this.renderReplyNote();
      this.status.textContent = t("sent");
      await this.load();
    } catch (error) {
      this.status.textContent = error instanceof Error ? error.message : String(error);
    } finally {
      this.busy = false;
      this.sendButton.disabled = false;
    }
  }

  private async resolve(thread: TaskComment): Promise<void> {
    const taskId = this.taskId;
    try {
      await api<TaskComment>("PATCH", `/api/comments/${thread.id}/`, { is_resolved: true });
      if (taskId !== this.taskId) return;
      if (this.parent?.id === thread.id) this.replyTo(null);
      this.status.textContent = t("resolved");
      await this.load();
    } catch (error) {
      this.status.textContent = error instanceof Error ? error.message : String(error);
    }
  }
}
