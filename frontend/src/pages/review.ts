// The Review tab (reviewers and above). `POST /api/projects/{id}/review/next` hands the reviewer the
// next annotation (locked for them, never their own); the page shows it beside the task's other
// annotations and the consensus, each drawn by the labeling editor itself (inert), with the task's
// comment threads. Keys: A accepts, R rejects (a reason is required), F opens the annotation in the
// editor to correct it; Ctrl+Enter sends the fix, after which the page shows what the fix changed,
// region by region. Refusals (409 already_reviewed, open_comments, a 400 naming a region) are said in
// words in the page's language; the server's JSON never reaches the page.

import "./review.css";
import { api, ApiError } from "../api";
import { parseConfig, type ConfigNode } from "../config";
import { el, replaceChildren } from "../dom";
import { Editor } from "../editor";
import { catalogue, formatDateTime } from "../locale";
import { backlogView, reviewStateLabel } from "./backlog";
import { RegionSelection, ResultStore } from "../store";
import type { Region } from "../types";
import type { ProjectContext } from "./project";
import { type Backlog, type Review, type ReviewItem, type TaskComment, type Verdict } from "./quality_types";
import { describeRegion, diffResults } from "./review_diff";

const t = catalogue(
  {
    heading: "Review",
    backlog: "Review backlog",
    backlogUnavailable: "The backlog could not be read: {reason}",
    loading: "Taking the next annotation…",
    empty: "Nothing is waiting for review. Annotations appear here once their tasks are submitted and selected by the project's review policy.",
    checkAgain: "Check again",
    task: "Task #{id}",
    gold: "Gold task",
    underReview: "Under review: annotation #{id} by {who}",
    submittedAt: "submitted {when}",
    others: "Other annotations",
    noOthers: "No other annotations on this task.",
    otherBy: "#{id} by {who} · {state}",
    skipped: "Skipped",
    consensus: "Consensus",
    consensusTie: "Tie: the annotators disagree evenly, so a reviewer decides.",
    consensusAgreement: "Agreement {value}",
    consensusNone: "No consensus yet (the task has not reached its overlap, or the server does not compute it yet).",
    earlierReviews: "Earlier verdicts",
    verdict_accept: "Accepted",
    verdict_reject: "Rejected",
    verdict_fix: "Fixed",
    reviewLine: "{verdict} by {who}, {when}",
    accept: "Accept",
    reject: "Reject",
    fix: "Fix",
    keysHint: "Keys: A accept · R reject · F fix · N next (after a fix)",
    rejectTitle: "Reject annotation #{id}",
    rejectReason: "Reason (the annotator sees it on the labeling page)",
    rejectRequired: "Write the reason for the rejection.",
    rejectSend: "Reject",
    cancel: "Cancel",
    fixing: "Correcting annotation #{id}: change the result, then send the fix. The original is kept.",
    fixNote: "Note for the annotator (optional)",
    sendFix: "Send the fix",
    cancelFix: "Cancel",
    sending: "Sending…",
    accepted: "Annotation #{id} accepted.",
    rejected: "Annotation #{id} rejected; the task goes back to its annotator.",
    fixed: "Annotation #{id} fixed.",
    diffTitle: "What the fix changed",
    diffNone: "The fix is the same as the original.",
    diffAdded: "Added",
    diffRemoved: "Removed",
    diffChanged: "Changed",
    diffFrom: "was: {text}",
    diffTo: "now: {text}",
    next: "Next annotation",
    alreadyReviewed: "Another reviewer gave a verdict on this annotation first. Yours was not recorded; here is the next one.",
    openComments: "This task has open comment threads, and this project accepts no annotation while one is open. Resolve the threads below (or reject), then accept.",
    fixRefused: "The fix was refused: {reason}",
    refused: "The verdict was refused: {reason}",
    forbidden: "Your role cannot review in this project.",
    gone: "This annotation no longer exists (it was deleted). Take the next one.",
    failed: "Something went wrong: {reason}",
    queueFailed: "The review queue could not be opened: {reason}",
    comments: "Comments",
    noComments: "No comments on this task.",
    resolved: "Resolved",
    resolve: "Resolve",
    reply: "Reply",
    commentLabel: "Add a comment (mention a member with @email)",
    commentSend: "Comment",
    commentEmpty: "Write something first.",
    commentFailed: "The comment was not saved: {reason}",
    commentsFailed: "The comments could not be read: {reason}",
    annotator: "annotator #{id}",
    someone: "someone",
    editorFailed: "The annotation cannot be drawn: {reason}",
  },
  {
    heading: "レビュー",
    backlog: "レビュー待ちの状況",
    backlogUnavailable: "レビュー待ちの状況を読み込めませんでした: {reason}",
    loading: "次のアノテーションを取得しています…",
    empty: "レビュー待ちのものはありません。タスクが提出され、プロジェクトのレビュー方針で選ばれると、ここに表示されます。",
    checkAgain: "もう一度確認",
    task: "タスク #{id}",
    gold: "ゴールドタスク",
    underReview: "レビュー対象: アノテーション #{id}（{who}）",
    submittedAt: "{when} に提出",
    others: "ほかのアノテーション",
    noOthers: "このタスクにほかのアノテーションはありません。",
    otherBy: "#{id}（{who}）・{state}",
    skipped: "スキップ",
    consensus: "合意結果",
    consensusTie: "同数: アノテーターの意見が割れているため、レビュアーが決めます。",
    consensusAgreement: "一致度 {value}",
    consensusNone: "合意結果はまだありません（タスクが重複数に達していないか、サーバーがまだ計算していません）。",
    earlierReviews: "これまでの判定",
    verdict_accept: "承認",
    verdict_reject: "差し戻し",
    verdict_fix: "修正",
    reviewLine: "{verdict}（{who}、{when}）",
    accept: "承認",
    reject: "差し戻し",
    fix: "修正",
    keysHint: "キー: A 承認 · R 差し戻し · F 修正 · N 次へ（修正後）",
    rejectTitle: "アノテーション #{id} を差し戻す",
    rejectReason: "理由（アノテーターのラベル付け画面に表示されます）",
    rejectRequired: "差し戻しの理由を入力してください。",
    rejectSend: "差し戻す",
    cancel: "キャンセル",
    fixing: "アノテーション #{id} を修正しています。結果を直してから修正を送信してください。元の結果は残ります。",
    fixNote: "アノテーターへのメモ（任意）",
    sendFix: "修正を送信",
    cancelFix: "キャンセル",
    sending: "送信しています…",
    accepted: "アノテーション #{id} を承認しました。",
    rejected: "アノテーション #{id} を差し戻しました。タスクはアノテーターに戻ります。",
    fixed: "アノテーション #{id} を修正しました。",
    diffTitle: "修正による変更",
    diffNone: "修正内容は元の結果と同じです。",
    diffAdded: "追加",
    diffRemoved: "削除",
    diffChanged: "変更",
    diffFrom: "変更前: {text}",
    diffTo: "変更後: {text}",
    next: "次のアノテーション",
    alreadyReviewed: "ほかのレビュアーが先にこのアノテーションを判定しました。あなたの判定は記録されていません。次のアノテーションを表示します。",
    openComments: "このタスクには未解決のコメントがあり、このプロジェクトでは未解決のコメントがある間は承認できません。下のコメントを解決してから（または差し戻して）ください。",
    fixRefused: "修正は受け付けられませんでした: {reason}",
    refused: "判定は受け付けられませんでした: {reason}",
    forbidden: "あなたのロールではこのプロジェクトのレビューはできません。",
    gone: "このアノテーションはもうありません（削除されました）。次へ進んでください。",
    failed: "問題が発生しました: {reason}",
    queueFailed: "レビューキューを開けませんでした: {reason}",
    comments: "コメント",
    noComments: "このタスクにコメントはありません。",
    resolved: "解決済み",
    resolve: "解決にする",
    reply: "返信",
    commentLabel: "コメントを追加（@メールアドレスでメンバーに通知）",
    commentSend: "コメントする",
    commentEmpty: "コメントを入力してください。",
    commentFailed: "コメントは保存されませんでした: {reason}",
    commentsFailed: "コメントを読み込めませんでした: {reason}",
    annotator: "アノテーター #{id}",
    someone: "不明なユーザー",
    editorFailed: "アノテーションを表示できません: {reason}",
  },
);

type Key = Parameters<typeof t>[0];

/** A result drawn by the labeling editor; inert unless it is the one being corrected. */
function drawResult(config: ConfigNode, data: Record<string, unknown>, result: Region[], imageOrigins: string[], store?: ResultStore): { holder: HTMLElement; editor: Editor | null } {
  const holder = el("div", { className: "read-only-editor" });
  let editor: Editor | null = null;
  try {
    const own = store ?? new ResultStore();
    if (!store) own.load(result ?? []);
    editor = new Editor(config, { store: own, selection: new RegionSelection(), data: data ?? {}, imageOrigins, notify: () => undefined });
    holder.append(editor.element);
  } catch (error) {
    holder.append(el("p", { className: "notice error", text: t("editorFailed", { reason: (error as Error).message }) }));
  }
  holder.inert = !store;
  return { holder, editor };
}

export default async function reviewTab(ctx: ProjectContext): Promise<() => void> {
  const project = ctx.project;
  let config: ConfigNode;
  const members = new Map<number, string>();
  const who = (id: number | null | undefined) => (id === null || id === undefined ? t("someone") : (members.get(id) ?? t("annotator", { id })));

  const backlogHolder = el("section", { className: "card backlog-card", attrs: { "aria-labelledby": "backlog-title" } });
  const status = el("p", { className: "notice", attrs: { role: "status", "aria-live": "polite" } });
  const main = el("div", { className: "review-main" });
  document.title = `${t("heading")} · ${project.title} · Tessera`;
  replaceChildren(ctx.root, el("h2", { className: "visually-hidden", text: t("heading") }), backlogHolder, status, main);

  let item: ReviewItem | null = null;
  let mode: "idle" | "review" | "fix" | "done" | "dialog" | "busy" = "idle";
  let fixStore: ResultStore | null = null;
  let fixEditor: Editor | null = null;
  let fixNote: HTMLTextAreaElement | null = null;
  let left = false;

  try {
    config = parseConfig(project.label_config);
  } catch (error) {
    replaceChildren(main, el("p", { className: "notice error", text: t("editorFailed", { reason: (error as Error).message }) }));
    return () => undefined;
  }

  const say = (message: string, kind: "info" | "error" = "info") => {
    status.className = kind === "error" ? "notice error" : "notice";
    status.textContent = message;
  };

  async function loadBacklog(): Promise<void> {
    try {
      const backlog = await api<Backlog>("GET", `/api/projects/${project.id}/review/backlog`);
      replaceChildren(backlogHolder, el("h2", { attrs: { id: "backlog-title" }, text: t("backlog") }), backlogView(backlog));
    } catch (error) {
      replaceChildren(
        backlogHolder,
        el("h2", { attrs: { id: "backlog-title" }, text: t("backlog") }),
        el("p", { className: "notice error", text: t("backlogUnavailable", { reason: (error as Error).message }) }),
      );
    }
  }

  async function loadNext(): Promise<void> {
    mode = "busy";
    item = null;
    replaceChildren(main, el("p", { className: "hint", text: t("loading") }));
    void loadBacklog();
    try {
      item = await api<ReviewItem | null>("POST", `/api/projects/${project.id}/review/next`);
    } catch (error) {
      mode = "idle";
      const reason = error instanceof ApiError && error.status === 403 ? t("forbidden") : (error as Error).message;
      replaceChildren(main, el("p", { className: "notice error", attrs: { role: "alert" }, text: t("queueFailed", { reason }) }), againButton());
      return;
    }
    if (left) return;
    if (!item) {
      mode = "idle";
      replaceChildren(main, el("p", { className: "empty review-empty", text: t("empty") }), againButton());
      return;
    }
    mode = "review";
    drawItem(item);
  }

  function againButton(): HTMLElement {
    const button = el("button", { attrs: { type: "button" }, text: t("checkAgain") });
    button.addEventListener("click", () => void loadNext());
    return el("div", { className: "actions" }, button);
  }

  function drawItem(current: ReviewItem): void {
    const { annotation, task } = current;
    const others = (task.annotations ?? []).filter((other) => other.id !== annotation.id);
    const accept = el("button", { className: "primary", attrs: { type: "button", "data-verdict": "accept" } }, `${t("accept")} `, el("kbd", { text: "A" }));
    const reject = el("button", { className: "danger", attrs: { type: "button", "data-verdict": "reject" } }, `${t("reject")} `, el("kbd", { text: "R" }));
    const fix = el("button", { attrs: { type: "button", "data-verdict": "fix" } }, `${t("fix")} `, el("kbd", { text: "F" }));
    accept.addEventListener("click", () => void accept_());
    reject.addEventListener("click", () => void openReject());
    fix.addEventListener("click", () => startFix());
    const toolbar = el("div", { className: "actions review-actions" }, accept, reject, fix, el("span", { className: "hint", text: t("keysHint") }));

    const underReview = drawResult(config, task.data, annotation.result, ctx.settings.imageOrigins);
    const reviewCard = el(
      "article",
      { className: "card review-subject", data: { annotation: annotation.id } },
      el("h3", { text: t("underReview", { id: annotation.id, who: who(annotation.completed_by) }) }),
      el("p", { className: "hint", text: [t("submittedAt", { when: formatDateTime(annotation.created_at) }), reviewStateLabel(annotation.review_state)].filter(Boolean).join(" · ") }),
      underReview.holder,
    );
    const otherCards = others.map((other) =>
      el(
        "article",
        { className: "result-card", data: { annotation: other.id } },
        el("h4", { text: t("otherBy", { id: other.id, who: who(other.completed_by), state: other.was_cancelled ? t("skipped") : reviewStateLabel(other.review_state) }) }),
        other.was_cancelled ? null : drawResult(config, task.data, other.result, ctx.settings.imageOrigins).holder,
      ),
    );
    const consensus = task.consensus;
    const consensusCard = el(
      "section",
      { className: "card review-consensus", attrs: { "aria-labelledby": "consensus-title" } },
      el("h3", { attrs: { id: "consensus-title" }, text: t("consensus") }),
      consensus
        ? el(
            "div",
            {},
            el("p", { className: "hint", text: [consensus.tie ? t("consensusTie") : null, consensus.agreement === null || consensus.agreement === undefined ? null : t("consensusAgreement", { value: consensus.agreement.toFixed(2) })].filter(Boolean).join(" · ") }),
            drawResult(config, task.data, consensus.result, ctx.settings.imageOrigins).holder,
          )
        : el("p", { className: "empty", text: t("consensusNone") }),
    );
    const reviews = current.reviews ?? [];
    const history = reviews.length
      ? el(
          "section",
          { className: "card" },
          el("h3", { text: t("earlierReviews") }),
          el("ul", { className: "review-history" }, ...reviews.map((review) => el("li", {}, reviewLine(review), review.comment ? el("blockquote", { text: review.comment }) : null))),
        )
      : null;
    const comments = el("section", { className: "card review-comments", attrs: { "aria-labelledby": "comments-title" } });
    replaceChildren(
      main,
      el("div", { className: "review-head" }, el("h3", { text: t("task", { id: task.inner_id ?? task.id }) }), task.is_gold ? el("span", { className: "badge", text: t("gold") }) : null),
      toolbar,
      el(
        "div",
        { className: "review-grid" },
        el("div", { className: "review-primary" }, reviewCard, history),
        el(
          "div",
          { className: "review-side" },
          el("section", { className: "card", attrs: { "aria-labelledby": "others-title" } }, el("h3", { attrs: { id: "others-title" }, text: t("others") }), ...(otherCards.length ? otherCards : [el("p", { className: "empty", text: t("noOthers") })])),
          consensusCard,
        ),
      ),
      comments,
    );
    void drawComments(comments, task.id, annotation.id);
    accept.focus();
  }

  function reviewLine(review: Review): string {
    return t("reviewLine", { verdict: t(`verdict_${review.verdict}` as Key), who: review.reviewer?.email ?? t("someone"), when: formatDateTime(review.created_at) });
  }

  async function drawComments(holder: HTMLElement, taskId: number, annotationId: number): Promise<void> {
    const list = el("div", { className: "comment-list" });
    const input = el("textarea", { attrs: { id: "comment-text", rows: "2", maxlength: "5000" } });
    const error = el("p", { className: "field-error", attrs: { "aria-live": "polite" } });
    const send = el("button", { attrs: { type: "submit" }, text: t("commentSend") });
    const form = el(
      "form",
      { className: "comment-form", attrs: { novalidate: "" } },
      el("div", { className: "field" }, el("label", { attrs: { for: "comment-text" }, text: t("commentLabel") }), input, error),
      el("div", { className: "actions" }, send),
    );
    replaceChildren(holder, el("h3", { attrs: { id: "comments-title" }, text: t("comments") }), list, form);
    const refresh = async () => {
      try {
        const comments = await api<TaskComment[] | { results: TaskComment[] }>("GET", `/api/tasks/${taskId}/comments/`);
        drawThreads(list, Array.isArray(comments) ? comments : comments.results, refresh);
      } catch (failure) {
        replaceChildren(list, el("p", { className: "notice error", text: t("commentsFailed", { reason: (failure as Error).message }) }));
      }
    };
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      const text = input.value.trim();
      if (!text) {
        error.textContent = t("commentEmpty");
        input.focus();
        return;
      }
      send.disabled = true;
      try {
        await api<TaskComment>("POST", `/api/tasks/${taskId}/comments/`, { text, annotation: annotationId });
        input.value = "";
        await refresh();
      } catch (failure) {
        error.textContent = t("commentFailed", { reason: (failure as Error).message });
      } finally {
        send.disabled = false;
      }
    });
    await refresh();
  }

  function drawThreads(list: HTMLElement, comments: TaskComment[], refresh: () => Promise<void>): void {
    if (!comments.length) {
      replaceChildren(list, el("p", { className: "empty", text: t("noComments") }));
      return;
    }
    const roots = comments.filter((comment) => comment.parent === null || !comments.some((other) => other.id === comment.parent));
    const thread = (root: TaskComment): HTMLElement => {
      const replies = comments.filter((comment) => comment.parent === root.id);
      const resolve = root.is_resolved ? null : el("button", { className: "small", attrs: { type: "button" }, text: t("resolve") });
      resolve?.addEventListener("click", async () => {
        resolve.disabled = true;
        try {
          await api<TaskComment>("PATCH", `/api/comments/${root.id}/`, { is_resolved: true });
          await refresh();
        } catch (failure) {
          say(t("commentFailed", { reason: (failure as Error).message }), "error");
          resolve.disabled = false;
        }
      });
      return el(
        "article",
        { className: root.is_resolved ? "comment-thread resolved" : "comment-thread", data: { comment: root.id } },
        ...[root, ...replies].map((comment) =>
          el(
            "div",
            { className: "comment" },
            el("p", { className: "comment-meta" }, el("strong", { text: comment.author?.email ?? t("someone") }), " · ", el("time", { text: formatDateTime(comment.created_at) })),
            // Text only: a comment with markup shows the markup as the characters it is.
            el("p", { className: "comment-text", text: comment.text }),
          ),
        ),
        root.is_resolved ? el("p", { className: "hint", text: t("resolved") }) : el("div", { className: "actions" }, resolve),
      );
    };
    // Open threads first: they are what a reviewer must act on.
    roots.sort((a, b) => Number(a.is_resolved) - Number(b.is_resolved));
    replaceChildren(list, ...roots.map(thread));
  }

  function explain(error: unknown, verdict: Verdict): string {
    if (error instanceof ApiError) {
      if (error.code === "already_reviewed") return t("alreadyReviewed");
      if (error.code === "open_comments") return t("openComments");
      if (error.status === 403) return t("forbidden");
      if (error.status === 404) return t("gone");
      if (error.status === 400) return verdict === "fix" ? t("fixRefused", { reason: error.message }) : t("refused", { reason: error.message });
    }
    return t("failed", { reason: (error as Error).message });
  }

  async function send(verdict: Verdict, body: { comment?: string; result?: Region[] }): Promise<Review | null> {
    if (!item) return null;
    const previous = mode;
    mode = "busy";
    say(t("sending"));
    try {
      return await api<Review>("POST", `/api/annotations/${item.annotation.id}/reviews/`, { verdict, comment: body.comment ?? "", ...(body.result ? { result: body.result } : {}) });
    } catch (error) {
      say(explain(error, verdict), "error");
      mode = previous;
      if (error instanceof ApiError && error.code === "already_reviewed") await loadNext();
      return null;
    }
  }

  async function accept_(): Promise<void> {
    if (!item || mode !== "review") return;
    const id = item.annotation.id;
    if (await send("accept", {})) {
      say(t("accepted", { id }));
      await loadNext();
    }
  }

  function openReject(): void {
    if (!item || mode !== "review") return;
    const id = item.annotation.id;
    const reason = el("textarea", { attrs: { id: "reject-reason", rows: "3", required: "", maxlength: "5000" } });
    const error = el("p", { className: "field-error", attrs: { id: "reject-error", "aria-live": "polite" } });
    const confirm = el("button", { className: "danger", attrs: { type: "submit" }, text: t("rejectSend") });
    const cancel = el("button", { attrs: { type: "button" }, text: t("cancel") });
    const form = el(
      "form",
      { attrs: { novalidate: "" } },
      el("h2", { attrs: { id: "reject-title" }, text: t("rejectTitle", { id }) }),
      el("div", { className: "field" }, el("label", { attrs: { for: "reject-reason" }, text: t("rejectReason") }), reason, error),
      el("div", { className: "actions" }, confirm, cancel),
    );
    const dialog = el("dialog", { className: "reject-dialog", attrs: { "aria-labelledby": "reject-title" } }, form);
    document.body.append(dialog);
    mode = "dialog";
    const close = () => {
      dialog.close();
      dialog.remove();
      if (mode === "dialog") mode = "review";
    };
    cancel.addEventListener("click", close);
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      close();
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = reason.value.trim();
      if (!text) {
        error.textContent = t("rejectRequired");
        reason.setAttribute("aria-invalid", "true");
        reason.setAttribute("aria-describedby", "reject-error");
        reason.focus();
        return;
      }
      confirm.disabled = true;
      mode = "review";
      const review = await send("reject", { comment: text });
      close();
      if (review) {
        say(t("rejected", { id }));
        await loadNext();
      }
    });
    dialog.showModal();
    reason.focus();
  }

  function startFix(): void {
    if (!item || mode !== "review") return;
    const current = item;
    mode = "fix";
    fixStore = new ResultStore();
    fixStore.load(current.annotation.result ?? []);
    const drawn = drawResult(config, current.task.data, [], ctx.settings.imageOrigins, fixStore);
    fixEditor = drawn.editor;
    fixNote = el("textarea", { attrs: { id: "fix-note", rows: "2", maxlength: "5000" } });
    const sendButton = el("button", { className: "primary", attrs: { type: "button", "data-action": "send-fix" } }, `${t("sendFix")} `, el("kbd", { text: "Ctrl+Enter" }));
    const cancelButton = el("button", { attrs: { type: "button" }, text: t("cancelFix") });
    sendButton.addEventListener("click", () => void sendFix());
    cancelButton.addEventListener("click", () => {
      mode = "review";
      fixStore = null;
      fixEditor = null;
      drawItem(current);
    });
    const subject = main.querySelector(".review-subject");
    const panel = el(
      "article",
      { className: "card review-subject fixing", data: { annotation: current.annotation.id } },
      el("h3", { text: t("underReview", { id: current.annotation.id, who: who(current.annotation.completed_by) }) }),
      el("p", { className: "notice", text: t("fixing", { id: current.annotation.id }) }),
      drawn.holder,
      el("div", { className: "field" }, el("label", { attrs: { for: "fix-note" }, text: t("fixNote") }), fixNote),
      el("div", { className: "actions" }, sendButton, cancelButton),
    );
    subject?.replaceWith(panel);
    main.querySelector(".review-actions")?.setAttribute("hidden", "");
    fixEditor?.focusFirst();
  }

  async function sendFix(): Promise<void> {
    if (!item || mode !== "fix" || !fixStore) return;
    const current = item;
    const corrected = structuredClone(fixStore.result);
    const review = await send("fix", { comment: fixNote?.value.trim() ?? "", result: corrected });
    if (!review) return;
    mode = "done";
    fixStore = null;
    fixEditor = null;
    say(t("fixed", { id: current.annotation.id }));
    const changes = diffResults(current.annotation.result ?? [], review.result ?? corrected);
    const nextButton = el("button", { className: "primary", attrs: { type: "button" } }, `${t("next")} `, el("kbd", { text: "N" }));
    nextButton.addEventListener("click", () => void loadNext());
    const kindLabel = { added: t("diffAdded"), removed: t("diffRemoved"), changed: t("diffChanged") };
    replaceChildren(
      main,
      el(
        "section",
        { className: "card review-diff", attrs: { "aria-labelledby": "diff-title" } },
        el("h3", { attrs: { id: "diff-title" }, text: t("diffTitle") }),
        changes.length
          ? el(
              "ul",
              { className: "diff-list" },
              ...changes.map((change) =>
                el(
                  "li",
                  { className: `diff-${change.kind}`, data: { kind: change.kind, key: change.key } },
                  el("span", { className: "diff-kind", text: kindLabel[change.kind] }),
                  " ",
                  change.before.length ? el("span", { className: "diff-before", text: t("diffFrom", { text: describeRegion(change.before) }) }) : null,
                  change.before.length && change.after.length ? " → " : null,
                  change.after.length ? el("span", { className: "diff-after", text: t("diffTo", { text: describeRegion(change.after) }) }) : null,
                ),
              ),
            )
          : el("p", { className: "empty", text: t("diffNone") }),
        el("div", { className: "actions" }, nextButton),
      ),
    );
    nextButton.focus();
  }

  const onKey = (event: KeyboardEvent): void => {
    if (left || mode === "dialog" || mode === "busy") return;
    const target = event.target as HTMLElement | null;
    const typing = target instanceof HTMLTextAreaElement || target instanceof HTMLInputElement || target instanceof HTMLSelectElement || target?.isContentEditable;
    if (mode === "fix") {
      // The labeling page's keys, for the editor being corrected.
      if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
        event.preventDefault();
        void sendFix();
        return;
      }
      if (typing || !fixEditor || !fixStore) return;
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
        event.preventDefault();
        fixStore.undo();
        return;
      }
      if (fixEditor.hotkey(event)) return void event.preventDefault();
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (fixEditor.key(event)) return void event.preventDefault();
      if (/^[1-9]$/.test(event.key) && fixEditor.pickNumber(Number(event.key) - 1)) event.preventDefault();
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.toLowerCase();
    if (mode === "review" && key === "a") {
      event.preventDefault();
      void accept_();
    } else if (mode === "review" && key === "r") {
      event.preventDefault();
      openReject();
    } else if (mode === "review" && key === "f") {
      event.preventDefault();
      startFix();
    } else if (mode === "done" && key === "n") {
      event.preventDefault();
      void loadNext();
    }
  };
  document.addEventListener("keydown", onKey);
  await loadMembers(ctx.settings.organization?.id ?? null, members);
  await loadNext();
  return () => {
    left = true;
    document.removeEventListener("keydown", onKey);
    document.querySelector("dialog.reject-dialog")?.remove();
  };
}

async function loadMembers(organization: number | null, into: Map<number, string>): Promise<void> {
  if (organization === null) return;
  try {
    const answer = await api<{ results: { user: { id: number; email: string } }[] }>("GET", `/api/organizations/${organization}/memberships/?page_size=1000&include_inactive=true`);
    for (const member of answer.results) into.set(member.user.id, member.user.email);
  } catch {
    // Reviewers may not list members: annotators are then named by id.
  }
}
