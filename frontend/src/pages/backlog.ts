// The review backlog (`GET /api/projects/{id}/review/backlog`), shown on the Review and Dashboard tabs:
// tasks by state, annotations by review state, and how many annotations wait for a reviewer.

import "./backlog.css";
import { el } from "../dom";
import { catalogue, formatNumber } from "../locale";
import { REVIEW_STATES, TASK_STATES, type Backlog } from "./quality_types";

export const backlogText = catalogue(
  {
    toReview: "{n} annotations to review",
    tasksByState: "Tasks by state",
    annotationsByState: "Annotations by review state",
    state: "State",
    count: "Count",
    kind: "Kind",
    task: "Task",
    annotation: "Annotation",
    state_unlabeled: "Unlabeled",
    state_in_progress: "In progress",
    state_labeled: "Labeled",
    state_in_review: "In review",
    state_done: "Done",
    review_submitted: "Submitted",
    review_accepted: "Accepted",
    review_rejected: "Rejected",
    review_fixed: "Fixed",
  },
  {
    toReview: "レビュー待ちのアノテーション {n} 件",
    tasksByState: "状態別のタスク",
    annotationsByState: "レビュー状態別のアノテーション",
    state: "状態",
    count: "件数",
    kind: "種類",
    task: "タスク",
    annotation: "アノテーション",
    state_unlabeled: "未ラベル",
    state_in_progress: "作業中",
    state_labeled: "ラベル済み",
    state_in_review: "レビュー中",
    state_done: "完了",
    review_submitted: "提出済み",
    review_accepted: "承認",
    review_rejected: "差し戻し",
    review_fixed: "修正済み",
  },
);

type Key = Parameters<typeof backlogText>[0];

export function taskStateLabel(state: string): string {
  return (TASK_STATES as readonly string[]).includes(state) ? backlogText(`state_${state}` as Key) : state;
}

export function reviewStateLabel(state: string | undefined): string {
  return state && (REVIEW_STATES as readonly string[]).includes(state) ? backlogText(`review_${state}` as Key) : (state ?? "");
}

/** Rows for a table or a CSV file: [kind, state, count]. */
export function backlogRows(backlog: Backlog): [string, string, number][] {
  return [
    ...TASK_STATES.map((state): [string, string, number] => [backlogText("task"), taskStateLabel(state), backlog.tasks_by_state?.[state] ?? 0]),
    ...REVIEW_STATES.map((state): [string, string, number] => [backlogText("annotation"), reviewStateLabel(state), backlog.annotations_by_review_state?.[state] ?? 0]),
  ];
}

export function backlogView(backlog: Backlog): HTMLElement {
  const list = (title: string, entries: [string, number][]) =>
    el(
      "div",
      { className: "backlog-group" },
      el("h3", { text: title }),
      el("dl", { className: "backlog-counts" }, ...entries.flatMap(([label, value]) => [el("dt", { text: label }), el("dd", { text: formatNumber(value) })])),
    );
  return el(
    "div",
    { className: "backlog", data: { toReview: backlog.to_review } },
    el("p", { className: "backlog-total", text: backlogText("toReview", { n: formatNumber(backlog.to_review) }) }),
    list(backlogText("tasksByState"), TASK_STATES.map((state) => [taskStateLabel(state), backlog.tasks_by_state?.[state] ?? 0])),
    list(backlogText("annotationsByState"), REVIEW_STATES.map((state) => [reviewStateLabel(state), backlog.annotations_by_review_state?.[state] ?? 0])),
  );
}
