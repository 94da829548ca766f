// The project's training runs (`GET /api/training-jobs/?project=`): status, progress, recipe, dataset
// version, base model, latest loss and the model each produced; read again every few seconds while any
// runs. Two runs ticked open the compare view.

import { api } from "../api";
import { el, replaceChildren } from "../dom";
import { catalogue, formatDateTime } from "../locale";
import type { ProjectContext } from "./project";
import { dataTable } from "./tables";
import { formatDecimal } from "./training_format";
import { jobTitle, progressView, statusPill } from "./training_job";
import { isRunning, latestLoss, nextPath, type Page, type TrainingJob } from "./training_types";
import { recipeTitle } from "./training_words";

const t = catalogue(
  {
    heading: "Runs",
    hint: "Training runs of this project, newest first. A run in progress updates by itself.",
    none: "No run yet.",
    noneManager: "No run yet. Launch the first one from a completed dataset version.",
    loadFailed: "The runs could not be loaded: {reason}",
    pick: "Compare",
    pickLabel: "Pick {name} to compare",
    run: "Run",
    status: "Status",
    recipe: "Recipe",
    dataset: "Dataset",
    baseModel: "Base model",
    loss: "Latest loss",
    model: "Model",
    created: "Launched",
    fromScratch: "from scratch",
    compare: "Compare the two picked runs",
    compareHint: "Tick two runs to compare their loss curves and final metrics.",
    more: "Show more runs",
  },
  {
    heading: "学習",
    hint: "このプロジェクトの学習（新しい順）。実行中のものは自動で更新されます。",
    none: "学習はまだありません。",
    noneManager: "学習はまだありません。完了したデータセットのバージョンから最初の学習を開始してください。",
    loadFailed: "学習の一覧を読み込めませんでした: {reason}",
    pick: "比較",
    pickLabel: "{name} を比較に選ぶ",
    run: "学習",
    status: "状態",
    recipe: "レシピ",
    dataset: "データセット",
    baseModel: "ベースモデル",
    loss: "最新の損失",
    model: "モデル",
    created: "開始日時",
    fromScratch: "ゼロから",
    compare: "選んだ 2 つの学習を比較",
    compareHint: "2 つの学習にチェックを入れると、損失曲線と最終的な指標を比較できます。",
    more: "さらに表示",
  },
);

const POLL_MS = 2500;

export default async function jobsList(ctx: ProjectContext, root: HTMLElement, canLaunch: boolean): Promise<() => void> {
  const project = ctx.project;
  let jobs: TrainingJob[] = [];
  let next: string | null = null;
  let left = false;
  let pollTimer = 0;
  const picked = new Set<number>();

  const body = el("div", { className: "jobs-body" });
  const compareLink = el("a", { className: "button compare-link", attrs: { href: `/projects/${project.id}/training/` }, text: t("compare") });
  const moreButton = el("button", { attrs: { type: "button" }, text: t("more") });
  const section = el(
    "section",
    { className: "training-section jobs", attrs: { "aria-labelledby": "jobs-title" }, data: { state: "loading" } },
    el("h3", { attrs: { id: "jobs-title" }, text: t("heading") }),
    el("p", { className: "hint", text: t("hint") }),
    body,
    el("div", { className: "actions" }, compareLink, moreButton),
    el("p", { className: "hint compare-hint", text: t("compareHint") }),
  );
  replaceChildren(root, section);

  const drawCompare = (): void => {
    const pair = [...picked];
    compareLink.hidden = pair.length !== 2;
    if (pair.length === 2) compareLink.href = `/projects/${project.id}/training/?compare=${pair.join(",")}`;
    section.querySelector(".compare-hint")?.toggleAttribute("hidden", jobs.length < 2);
  };

  const draw = (): void => {
    moreButton.hidden = !next;
    if (!jobs.length) {
      replaceChildren(body, el("p", { className: "empty", text: canLaunch ? t("noneManager") : t("none") }));
      drawCompare();
      return;
    }
    const rows = jobs.map((job) => {
      const box = el("input", { attrs: { type: "checkbox", "aria-label": t("pickLabel", { name: jobTitle(job) }), "data-pick": String(job.id) } });
      box.checked = picked.has(job.id);
      box.addEventListener("change", () => {
        if (box.checked) picked.add(job.id);
        else picked.delete(job.id);
        // Two at most: ticking a third lets go of the oldest pick.
        while (picked.size > 2) picked.delete(picked.values().next().value as number);
        draw();
      });
      const loss = latestLoss(job);
      return el(
        "tr",
        { data: { jobId: job.id, status: job.status } },
        el("td", {}, box),
        el("th", { attrs: { scope: "row" } }, el("a", { attrs: { href: `/projects/${project.id}/training/?job=${job.id}` }, text: jobTitle(job) })),
        el("td", { className: "status" }, statusPill(job), el("br"), progressView(job)),
        el("td", { text: recipeTitle(job.recipe) }),
        el("td", { className: "wrap", text: job.dataset_name ?? "—" }),
        el("td", { className: "wrap", text: job.base_model_name || t("fromScratch") }),
        el("td", { className: "num loss", text: loss === null ? "" : formatDecimal(loss, 4) }),
        el("td", {}, job.model_version ? el("a", { attrs: { href: `/projects/${project.id}/training/?model=${job.model_version.id}` }, text: `${job.model_version.name} ${job.model_version.version}` }) : null),
        el("td", { className: "when", text: formatDateTime(job.created_at) }),
      );
    });
    replaceChildren(
      body,
      dataTable("data training-jobs", [t("pick"), t("run"), t("status"), t("recipe"), t("dataset"), t("baseModel"), t("loss"), t("model"), t("created")], el("tbody", {}, ...rows)),
    );
    drawCompare();
  };

  const first = `/api/training-jobs/?project=${project.id}`;
  let loadedMore = false;
  const read = async (): Promise<void> => {
    // Polling reads the first page again; runs shown from later pages (older than all of it) stay.
    const answer = await api<Page<TrainingJob>>("GET", first);
    const fresh = answer.results ?? [];
    const ids = new Set(fresh.map((job) => job.id));
    const oldest = Math.min(...ids);
    jobs = [...fresh, ...jobs.filter((job) => !ids.has(job.id) && job.id < oldest)];
    if (!loadedMore) next = nextPath(answer.next, first);
  };

  moreButton.addEventListener("click", async () => {
    if (!next) return;
    moreButton.disabled = true;
    try {
      const answer = await api<Page<TrainingJob>>("GET", next);
      jobs = [...jobs, ...(answer.results ?? []).filter((job) => !jobs.some((item) => item.id === job.id))];
      next = nextPath(answer.next, first);
      loadedMore = true;
      draw();
    } finally {
      moreButton.disabled = false;
    }
  });

  const schedulePoll = (): void => {
    window.clearTimeout(pollTimer);
    if (left || !jobs.some(isRunning)) return;
    pollTimer = window.setTimeout(async () => {
      try {
        await read();
      } catch {
        schedulePoll(); // a dropped request: try again on the next tick
        return;
      }
      if (left) return;
      draw();
      schedulePoll();
    }, POLL_MS);
  };

  try {
    await read();
  } catch (error) {
    replaceChildren(body, el("p", { className: "notice error", attrs: { role: "alert" }, text: t("loadFailed", { reason: (error as Error).message }) }));
    section.dataset.state = "failed";
    return () => undefined;
  }
  if (left) return () => undefined;
  draw();
  section.dataset.state = "ready";
  schedulePoll();
  return () => {
    left = true;
    window.clearTimeout(pollTimer);
  };
}
