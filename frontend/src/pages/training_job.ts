// One training run (`GET /api/training-jobs/{id}/`): its status and progress, what it trains on, live
// charts of its loss and metrics (`/metrics/?after=`, read again every few seconds while it runs), its
// events, the log download, Cancel for managers, the model version it produced and that model's
// evaluation. Names, events and errors come from the server and are drawn as text.

import { api, ApiError } from "../api";
import { el, replaceChildren } from "../dom";
import { apiDownloadLink } from "../download";
import { catalogue, formatDateTime, formatNumber } from "../locale";
import { lineChart } from "../line_chart";
import { confirmAction } from "./confirm";
import type { ProjectContext } from "./project";
import { dataTable } from "./tables";
import { formatCount, formatDecimal, formatMetric, formatScientific } from "./training_format";
import { evaluationView } from "./training_metrics";
import { LOSS_NAMES, chartedNames, emptyMetrics, readMetrics, seriesOf, type MetricsState } from "./training_series";
import { asNumber, isRecord, isRunning, personName, progressOf, type ModelVersion, type TrainingEvent, type TrainingJob } from "./training_types";
import { metricName, paramLabel, recipeTitle, statusText } from "./training_words";

const t = catalogue(
  {
    back: "All runs",
    heading: "Run #{id}",
    headingNamed: "Run #{id}: {name}",
    loadFailed: "This run could not be loaded: {reason}",
    stepOf: "Step {step} of {max}",
    stepOnly: "Step {step}",
    epoch: "epoch {epoch}",
    progressLabel: "Progress of run #{id}",
    recipe: "Recipe",
    dataset: "Dataset version",
    baseModel: "Base model",
    fromScratch: "None (trained from scratch)",
    resources: "GPUs",
    gpusValue: "{gpus} × {type}",
    gpusSharded: "{gpus} × {type}, FSDP",
    createdBy: "Launched by",
    created: "Launched",
    started: "Started",
    finished: "Finished",
    attempts: "Attempts",
    failedBecause: "Failed: {reason}",
    cancel: "Cancel the run",
    cancelTitle: "Cancel run #{id}?",
    cancelMessage: "The training process is stopped. Checkpoints written so far are kept, but no model version is registered.",
    keepRunning: "Keep running",
    cancelFinished: "The run had already finished.",
    logs: "Download the log",
    logsLabel: "Download the log of run #{id}",
    model: "Model version",
    noModel: "The model version is registered when the run completes.",
    openModel: "{name} {version}",
    charts: "Loss and metrics",
    lossChart: "Loss",
    trainLoss: "Training loss",
    evalLoss: "Validation loss",
    step: "Step",
    noPoints: "No metric yet: the first line comes after the first logging steps.",
    values: "The values as a table",
    evaluation: "Evaluation on the test split",
    evaluationFailed: "The evaluation could not be loaded: {reason}",
    events: "Events",
    noEvents: "No event yet.",
    time: "Time",
    source: "Source",
    kind: "Event",
    details: "Details",
    params: "Parameters",
    estimate: "Estimate at launch",
    estimateValue: "{parameters} parameters, {tokens} tokens, {flops} FLOPs, {hours} GPU-hours",
  },
  {
    back: "すべての学習",
    heading: "学習 #{id}",
    headingNamed: "学習 #{id}: {name}",
    loadFailed: "この学習を読み込めませんでした: {reason}",
    stepOf: "ステップ {step} / {max}",
    stepOnly: "ステップ {step}",
    epoch: "エポック {epoch}",
    progressLabel: "学習 #{id} の進捗",
    recipe: "レシピ",
    dataset: "データセットのバージョン",
    baseModel: "ベースモデル",
    fromScratch: "なし（ゼロから学習）",
    resources: "GPU",
    gpusValue: "{gpus} × {type}",
    gpusSharded: "{gpus} × {type}、FSDP",
    createdBy: "開始した人",
    created: "開始日時",
    started: "実行開始",
    finished: "終了",
    attempts: "試行回数",
    failedBecause: "失敗: {reason}",
    cancel: "学習をキャンセル",
    cancelTitle: "学習 #{id} をキャンセルしますか？",
    cancelMessage: "学習プロセスを停止します。それまでのチェックポイントは残りますが、モデルのバージョンは登録されません。",
    keepRunning: "続ける",
    cancelFinished: "この学習はすでに終了していました。",
    logs: "ログをダウンロード",
    logsLabel: "学習 #{id} のログをダウンロード",
    model: "モデルのバージョン",
    noModel: "学習が完了すると、モデルのバージョンが登録されます。",
    openModel: "{name} {version}",
    charts: "損失と指標",
    lossChart: "損失",
    trainLoss: "学習損失",
    evalLoss: "検証損失",
    step: "ステップ",
    noPoints: "指標はまだありません。最初の記録ステップの後に表示されます。",
    values: "値を表で見る",
    evaluation: "テスト用分割での評価",
    evaluationFailed: "評価を読み込めませんでした: {reason}",
    events: "イベント",
    noEvents: "イベントはまだありません。",
    time: "日時",
    source: "発生元",
    kind: "イベント",
    details: "詳細",
    params: "パラメータ",
    estimate: "開始時の見積もり",
    estimateValue: "パラメータ {parameters}、トークン {tokens}、{flops} FLOPs、{hours} GPU 時間",
  },
);

const POLL_MS = 2000;

/** A job's title: "Run #12", with its name when it was given one. */
export function jobTitle(job: Pick<TrainingJob, "id" | "name">): string {
  return job.name ? t("headingNamed", { id: job.id, name: job.name }) : t("heading", { id: job.id });
}

export function statusPill(job: Pick<TrainingJob, "status" | "cancel_requested">): HTMLElement {
  return el("span", { className: `status-pill status-${job.status}`, data: { status: job.status }, text: statusText(job.status, job.cancel_requested) });
}

/** "Step 40 of 100 · epoch 1.2" with a progress bar, for a running job; the step alone for a finished one. */
export function progressView(job: TrainingJob): HTMLElement {
  const fraction = progressOf(job);
  const bar = isRunning(job) ? el("progress", { attrs: { max: "1", "aria-label": t("progressLabel", { id: job.id }) } }) : null;
  if (bar && fraction !== null) bar.value = fraction;
  const steps = job.max_steps ? t("stepOf", { step: formatNumber(job.step), max: formatNumber(job.max_steps) }) : job.step ? t("stepOnly", { step: formatNumber(job.step) }) : "";
  const epoch = job.epoch ? t("epoch", { epoch: formatDecimal(job.epoch, 3) }) : "";
  return el("span", { className: "job-progress" }, bar, bar ? " " : null, [steps, epoch].filter(Boolean).join(" · "));
}

/** An event's details as "name: value" pairs; a nested object's pairs are named by its key
 * ("metrics.accuracy: 0.67"), a list's items joined by spaces, numbers rounded: readable text, never JSON. */
export function detailsText(details: unknown): string {
  if (!isRecord(details)) return "";
  const pairs: string[] = [];
  const add = (name: string, value: unknown): void => {
    if (isRecord(value)) {
      for (const [key, inner] of Object.entries(value)) add(`${name}.${key}`, inner);
    } else if (Array.isArray(value)) {
      pairs.push(`${name}: ${value.map((item) => (typeof item === "object" && item !== null ? "…" : String(item))).join(" ")}`);
    } else if (typeof value === "number" && !Number.isInteger(value)) {
      pairs.push(`${name}: ${formatDecimal(value, 4)}`);
    } else {
      pairs.push(`${name}: ${String(value)}`);
    }
  };
  for (const [name, value] of Object.entries(details)) add(name, value);
  return pairs.join(" · ");
}

/** The loss chart of one run: the training loss and the validation loss (dashed). */
export function lossChart(metrics: MetricsState): HTMLElement {
  return lineChart(
    [
      { label: t("trainLoss"), points: seriesOf(metrics.rows, LOSS_NAMES[0]) },
      { label: t("evalLoss"), points: seriesOf(metrics.rows, LOSS_NAMES[1]), dashed: true },
    ].filter((series, index) => index === 0 || series.points.length),
    { name: "loss", title: t("lossChart"), xLabel: t("step"), format: (value) => formatDecimal(value, 3), formatX: formatNumber, emptyText: t("noPoints"), tableSummary: t("values") },
  );
}

function flatParams(params: Record<string, unknown>, prefix = ""): [string, string][] {
  return Object.entries(params).flatMap(([name, value]): [string, string][] =>
    isRecord(value) ? flatParams(value, `${prefix}${name}.`) : [[`${prefix}${name}`, value === null ? "—" : String(value)]],
  );
}

export default async function jobPage(ctx: ProjectContext, jobId: number, root: HTMLElement): Promise<() => void> {
  const canManage = ctx.settings.role === "owner" || ctx.settings.role === "admin" || ctx.settings.role === "manager";
  let left = false;
  let pollTimer = 0;
  let metrics = emptyMetrics();
  let model: ModelVersion | null = null;
  let modelError = "";

  const head = el("div", { className: "job-head" });
  const facts = el("div", { className: "job-facts" });
  const charts = el("div", { className: "charts" });
  const evaluation = el("div", { className: "job-evaluation" });
  const events = el("div", { className: "job-events" });
  const extra = el("div", { className: "job-extra" });
  const page = el(
    "div",
    { className: "job-page", data: { jobId, state: "loading" } },
    el("a", { className: "crumb", attrs: { href: `/projects/${ctx.project.id}/training/` }, text: t("back") }),
    head,
    facts,
    el("section", { className: "training-section", attrs: { "aria-labelledby": "charts-title" } }, el("h4", { attrs: { id: "charts-title" }, text: t("charts") }), charts),
    el("section", { className: "training-section", attrs: { "aria-labelledby": "evaluation-title" } }, el("h4", { attrs: { id: "evaluation-title" }, text: t("evaluation") }), evaluation),
    el("section", { className: "training-section", attrs: { "aria-labelledby": "events-title" } }, el("h4", { attrs: { id: "events-title" }, text: t("events") }), events),
    extra,
  );
  replaceChildren(root, page);

  const cancel = async (job: TrainingJob): Promise<void> => {
    await confirmAction({
      title: t("cancelTitle", { id: job.id }),
      message: t("cancelMessage"),
      confirmLabel: t("cancel"),
      cancelLabel: t("keepRunning"),
      action: async () => {
        try {
          draw(await api<TrainingJob>("POST", `/api/training-jobs/${job.id}/cancel`));
        } catch (error) {
          // A run that ended meanwhile: nothing to cancel; the page shows how it ended.
          if (error instanceof ApiError && error.status === 409) {
            await refresh();
            throw new Error(t("cancelFinished"));
          }
          throw error;
        }
      },
    });
    schedulePoll();
  };

  const drawHead = (job: TrainingJob): void => {
    const actions: HTMLElement[] = [];
    // The log is the runner's output: there is none before the run started.
    if (job.started_at) actions.push(apiDownloadLink(`/api/training-jobs/${job.id}/logs`, {}, t("logs"), t("logsLabel", { id: job.id })));
    if (canManage && isRunning(job) && !job.cancel_requested) {
      const button = el("button", { className: "danger", attrs: { type: "button", "data-action": "cancel" }, text: t("cancel") });
      button.addEventListener("click", () => void cancel(job));
      actions.push(button);
    }
    const reason = job.status === "failed" && job.error ? job.error.message || job.error.code : "";
    replaceChildren(
      head,
      el("h3", { text: jobTitle(job) }),
      el("p", { className: "version-meta" }, statusPill(job), " ", progressView(job)),
      reason ? el("p", { className: "notice error", attrs: { role: "alert" }, data: { code: job.error?.code ?? "" }, text: t("failedBecause", { reason }) }) : null,
      actions.length ? el("div", { className: "actions" }, ...actions) : null,
    );
  };

  const fact = (key: string, label: string, ...value: (Node | string | null)[]): HTMLElement => el("div", { className: "fact", data: { fact: key } }, el("dt", { text: label }), el("dd", {}, ...value));

  const drawFacts = (job: TrainingJob): void => {
    const resources = isRecord(job.resources) ? job.resources : {};
    const modelLink = job.model_version
      ? el("a", { attrs: { href: `/projects/${ctx.project.id}/training/?model=${job.model_version.id}` }, data: { modelVersion: job.model_version.id }, text: t("openModel", { name: job.model_version.name, version: job.model_version.version }) })
      : el("span", { className: "muted", text: t("noModel") });
    replaceChildren(
      facts,
      el(
        "dl",
        { className: "facts" },
        fact("recipe", t("recipe"), recipeTitle(job.recipe)),
        fact("dataset", t("dataset"), job.dataset ? el("a", { attrs: { href: `/projects/${ctx.project.id}/datasets/?version=${job.dataset}` }, text: `${job.dataset_name ?? ""} (#${job.dataset})`.trim() }) : (job.dataset_name ?? "—")),
        fact("base_model", t("baseModel"), job.base_model_name || t("fromScratch")),
        fact("resources", t("resources"), t(resources.strategy === "fsdp" ? "gpusSharded" : "gpusValue", { gpus: String(resources.gpus ?? 1), type: String(resources.gpu_type ?? "") }).trim()),
        fact("model_version", t("model"), modelLink),
        fact("created_by", t("createdBy"), personName(job.created_by)),
        fact("created", t("created"), formatDateTime(job.created_at)),
        job.started_at ? fact("started", t("started"), formatDateTime(job.started_at)) : null,
        job.finished_at ? fact("finished", t("finished"), formatDateTime(job.finished_at)) : null,
        job.attempts > 1 ? fact("attempts", t("attempts"), formatNumber(job.attempts)) : null,
      ),
    );
  };

  const drawCharts = (): void => {
    const others = chartedNames(metrics).map((name) =>
      lineChart([{ label: metricName(name), points: seriesOf(metrics.rows, name) }], {
        name,
        title: metricName(name),
        xLabel: t("step"),
        format: (value) => formatMetric(name, value),
        formatX: formatNumber,
        emptyText: t("noPoints"),
        small: true,
      }),
    );
    // Redrawn on every poll: a values table the reader opened stays open.
    const opened = charts.querySelector<HTMLDetailsElement>("details.chart-values")?.open ?? false;
    replaceChildren(charts, el("div", { className: "chart-main" }, lossChart(metrics)), others.length ? el("div", { className: "chart-grid" }, ...others) : null);
    const table = charts.querySelector<HTMLDetailsElement>("details.chart-values");
    if (table) table.open = opened;
  };

  const drawEvents = (list: TrainingEvent[]): void => {
    if (!list.length) {
      replaceChildren(events, el("p", { className: "hint", text: t("noEvents") }));
      return;
    }
    const rows = list.map((event) =>
      el(
        "tr",
        { data: { kind: event.kind, source: event.source } },
        el("td", { className: "when", text: formatDateTime(event.time) }),
        el("td", { text: event.source }),
        el("th", { attrs: { scope: "row" }, text: event.kind }),
        el("td", { className: "details", text: detailsText(event.details) }),
      ),
    );
    replaceChildren(events, dataTable("data events", [t("time"), t("source"), t("kind"), t("details")], el("tbody", {}, ...rows)));
  };

  const drawExtra = (job: TrainingJob): void => {
    const params = flatParams(isRecord(job.params) ? job.params : {});
    const estimate = isRecord(job.estimate) ? job.estimate : null;
    replaceChildren(
      extra,
      el(
        "details",
        { className: "job-params" },
        el("summary", { text: t("params") }),
        el("dl", { className: "facts params-list" }, ...params.map(([name, value]) => fact(name, paramLabel(name.split(".").pop() ?? name), el("code", { text: name }), " ", value))),
      ),
      estimate
        ? el(
            "details",
            { className: "job-estimate" },
            el("summary", { text: t("estimate") }),
            el("p", {
              text: t("estimateValue", {
                parameters: formatCount(asNumber(estimate.parameters) ?? 0),
                tokens: formatCount(asNumber(estimate.training_tokens) ?? 0),
                flops: formatScientific(asNumber(estimate.flops) ?? 0),
                hours: formatDecimal(asNumber(estimate.gpu_hours) ?? 0, 3),
              }),
            }),
            typeof estimate.scaling_note === "string" && estimate.scaling_note ? el("p", { className: "hint", text: estimate.scaling_note }) : null,
          )
        : null,
    );
  };

  const drawEvaluation = (job: TrainingJob): void => {
    if (!job.model_version) {
      replaceChildren(evaluation, el("p", { className: "hint", text: t("noModel") }));
      return;
    }
    if (modelError) {
      replaceChildren(evaluation, el("p", { className: "notice error", text: t("evaluationFailed", { reason: modelError }) }));
      return;
    }
    if (model) replaceChildren(evaluation, evaluationView(model.metrics));
  };

  let current: TrainingJob | null = null;
  const draw = (job: TrainingJob): void => {
    current = job;
    page.dataset.status = job.status;
    drawHead(job);
    drawFacts(job);
    drawEvents(job.events ?? []);
    drawExtra(job);
    drawEvaluation(job);
  };

  const loadModel = async (job: TrainingJob): Promise<void> => {
    if (!job.model_version || (model && model.id === job.model_version.id)) return;
    try {
      model = await api<ModelVersion>("GET", `/api/models/${job.model_version.id}/`);
      modelError = "";
    } catch (error) {
      modelError = (error as Error).message;
    }
  };

  async function refresh(): Promise<boolean> {
    try {
      const job = await api<TrainingJob>("GET", `/api/training-jobs/${jobId}/`);
      metrics = await readMetrics(jobId, metrics, !isRunning(job));
      await loadModel(job);
      if (left) return false;
      draw(job);
      drawCharts();
      return true;
    } catch {
      return false; // a dropped request: the next tick asks again
    }
  }

  function schedulePoll(): void {
    window.clearTimeout(pollTimer);
    if (left || !current || !isRunning(current)) return;
    pollTimer = window.setTimeout(async () => {
      await refresh();
      schedulePoll();
    }, POLL_MS);
  }

  try {
    const job = await api<TrainingJob>("GET", `/api/training-jobs/${jobId}/`);
    metrics = await readMetrics(jobId, metrics, true);
    await loadModel(job);
    if (left) return () => undefined;
    draw(job);
    drawCharts();
    page.dataset.state = "ready";
  } catch (error) {
    const text = t("loadFailed", { reason: (error as Error).message });
    replaceChildren(page, el("a", { className: "crumb", attrs: { href: `/projects/${ctx.project.id}/training/` }, text: t("back") }), el("p", { className: "notice error", attrs: { role: "alert" }, text }));
    page.dataset.state = "failed";
    return () => undefined;
  }
  schedulePoll();
  return () => {
    left = true;
    window.clearTimeout(pollTimer);
  };
}
