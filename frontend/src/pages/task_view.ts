// The data table's read-only task view: the task's data, every annotation and prediction drawn by the
// labeling editor itself (made inert, so nothing can be changed), and the task's history. It reads
// `GET /api/tasks/{id}/` and `/history/`, neither of which takes a lock or touches any queue.

import { api } from "../api";
import { parseConfig } from "../config";
import { el, replaceChildren } from "../dom";
import { Editor } from "../editor";
import { catalogue, formatDateTime } from "../locale";
import { RegionSelection, ResultStore } from "../store";
import type { Annotation, Prediction, ProjectDetail, Region } from "../types";

const t = catalogue(
  {
    title: "Task #{id}",
    close: "Close",
    data: "Data",
    annotations: "Annotations",
    predictions: "Predictions",
    history: "History",
    noAnnotations: "No annotations yet.",
    noPredictions: "No predictions.",
    noHistory: "No recorded changes.",
    by: "by {who}, {when}",
    skipped: "Skipped",
    skippedBecause: "Skipped: {reason}",
    groundTruth: "Ground truth",
    model: "Model {version}",
    score: "score {score}",
    readOnly: "Read-only: opening a task here does not lock it or change anyone's queue.",
    loadFailed: "The task could not be loaded: {reason}",
    unknownUser: "user #{id}",
    someone: "someone",
  },
  {
    title: "タスク #{id}",
    close: "閉じる",
    data: "データ",
    annotations: "アノテーション",
    predictions: "予測",
    history: "履歴",
    noAnnotations: "アノテーションはまだありません。",
    noPredictions: "予測はありません。",
    noHistory: "記録された変更はありません。",
    by: "{who}・{when}",
    skipped: "スキップ",
    skippedBecause: "スキップ: {reason}",
    groundTruth: "正解データ",
    model: "モデル {version}",
    score: "スコア {score}",
    readOnly: "閲覧専用: ここでタスクを開いても、ロックされず、誰のキューも変わりません。",
    loadFailed: "タスクを読み込めませんでした: {reason}",
    unknownUser: "ユーザー #{id}",
    someone: "不明なユーザー",
  },
);

interface TaskDetail {
  id: number;
  inner_id: number;
  data: Record<string, unknown>;
  annotations?: (Annotation & { ground_truth?: boolean })[];
  predictions?: Prediction[];
}

interface HistoryEvent {
  id: number;
  action: string;
  actor: { id: number; email: string } | null;
  object_type: string;
  object_id: string | number | null;
  created_at: string | null;
}

/** Opens the task in a modal dialog; resolves when it is closed. `who` names users by id. */
export async function openTaskView(
  taskId: number,
  project: ProjectDetail,
  imageOrigins: string[],
  who: (id: number | null) => string,
): Promise<void> {
  const body = el("div", { className: "task-view-body" });
  const closeButton = el("button", { attrs: { type: "button" }, text: t("close") });
  const heading = el("h2", { attrs: { id: "task-view-title" }, text: t("title", { id: taskId }) });
  const dialog = el(
    "dialog",
    { className: "task-view", attrs: { "aria-labelledby": "task-view-title" } },
    el("div", { className: "task-view-head" }, heading, closeButton),
    el("p", { className: "hint", text: t("readOnly") }),
    body,
  );
  document.body.append(dialog);
  const closed = new Promise<void>((resolve) => dialog.addEventListener("close", () => resolve()));
  closeButton.addEventListener("click", () => dialog.close());
  dialog.showModal(); // modal: focus stays inside, Esc closes
  try {
    const [task, history] = await Promise.all([
      api<TaskDetail>("GET", `/api/tasks/${taskId}/`),
      api<HistoryEvent[] | { results: HistoryEvent[] }>("GET", `/api/tasks/${taskId}/history/`).catch(() => []),
    ]);
    heading.textContent = t("title", { id: task.inner_id ?? task.id });
    const events = Array.isArray(history) ? history : history.results;
    replaceChildren(body, ...render(task, events, project, imageOrigins, who));
  } catch (error) {
    replaceChildren(body, el("p", { className: "notice error", attrs: { role: "alert" }, text: t("loadFailed", { reason: (error as Error).message }) }));
  }
  await closed;
  dialog.remove();
}

function render(
  task: TaskDetail,
  events: HistoryEvent[],
  project: ProjectDetail,
  imageOrigins: string[],
  who: (id: number | null) => string,
): HTMLElement[] {
  const data = el("dl", { className: "task-data" });
  for (const [key, value] of Object.entries(task.data ?? {})) {
    data.append(el("dt", { text: key }), el("dd", { text: typeof value === "string" ? value : JSON.stringify(value) }));
  }
  const annotations = (task.annotations ?? []).map((annotation) => {
    const meta = [
      t("by", { who: who(annotation.completed_by), when: formatDateTime(annotation.created_at) }),
      annotation.was_cancelled ? (annotation.skip_reason ? t("skippedBecause", { reason: annotation.skip_reason }) : t("skipped")) : null,
      annotation.ground_truth ? t("groundTruth") : null,
    ].filter(Boolean);
    return el(
      "article",
      { className: "result-card", data: { annotation: annotation.id } },
      el("h4", { text: meta.join(" · ") }),
      annotation.was_cancelled ? null : readOnlyEditor(project.label_config, task.data, annotation.result, imageOrigins),
    );
  });
  const predictions = (task.predictions ?? []).map((prediction) =>
    el(
      "article",
      { className: "result-card", data: { prediction: prediction.id } },
      el("h4", {
        text: [t("model", { version: prediction.model_version || "—" }), prediction.score === null ? null : t("score", { score: prediction.score.toFixed(3) })]
          .filter(Boolean)
          .join(" · "),
      }),
      readOnlyEditor(project.label_config, task.data, prediction.result, imageOrigins),
    ),
  );
  const historyList = el(
    "ol",
    { className: "history" },
    ...events.map((event) =>
      el(
        "li",
        {},
        el("time", { text: formatDateTime(event.created_at) }),
        " ",
        el("span", { className: "code", text: event.action }),
        " — ",
        event.actor ? event.actor.email : t("someone"),
      ),
    ),
  );
  return [
    el("section", {}, el("h3", { text: t("data") }), data),
    el("section", {}, el("h3", { text: t("annotations") }), ...(annotations.length ? annotations : [el("p", { className: "empty", text: t("noAnnotations") })])),
    el("section", {}, el("h3", { text: t("predictions") }), ...(predictions.length ? predictions : [el("p", { className: "empty", text: t("noPredictions") })])),
    el("section", {}, el("h3", { text: t("history") }), events.length ? historyList : el("p", { className: "empty", text: t("noHistory") })),
  ];
}

/** The labeling editor showing one result, inert: it can be read (and scrolled) but not changed. */
function readOnlyEditor(config: string, data: Record<string, unknown>, result: Region[], imageOrigins: string[]): HTMLElement {
  const holder = el("div", { className: "read-only-editor" });
  try {
    const store = new ResultStore();
    store.load(result ?? []);
    const editor = new Editor(parseConfig(config), {
      store,
      selection: new RegionSelection(),
      data: data ?? {},
      imageOrigins,
      notify: () => undefined,
    });
    holder.append(editor.element);
  } catch (error) {
    holder.append(el("p", { className: "notice error", text: (error as Error).message }));
  }
  holder.inert = true;
  return holder;
}
