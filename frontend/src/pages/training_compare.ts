// Two runs side by side (`?compare=<id>,<id>`): both loss curves on one chart (training loss solid,
// validation loss dashed, a colour per run), then a table of what each trained on and its final figures:
// the model's evaluation when it has one, and the last value of every training metric.

import { api } from "../api";
import { el, replaceChildren } from "../dom";
import { catalogue, formatNumber } from "../locale";
import { lineChart, type Series } from "../line_chart";
import type { ProjectContext } from "./project";
import { formatDecimal, formatMetric } from "./training_format";
import { jobTitle, statusPill } from "./training_job";
import { metricValue, scalarMetrics } from "./training_metrics";
import { LOSS_NAMES, emptyMetrics, isMeasure, readMetrics, seriesOf, type MetricsState } from "./training_series";
import { asNumber, isRecord, type ModelVersion, type TrainingJob } from "./training_types";
import { metricName, paramLabel, recipeTitle } from "./training_words";

const t = catalogue(
  {
    back: "All runs",
    heading: "Compare runs",
    needsTwo: "Pick two runs in the list to compare them.",
    loadFailed: "The runs could not be loaded: {reason}",
    lossChart: "Loss of both runs",
    trainLoss: "{run}: training loss",
    evalLoss: "{run}: validation loss",
    step: "Step",
    noPoints: "Neither run has logged a loss yet.",
    values: "The values as a table",
    figures: "Side by side",
    figure: "Figure",
    status: "Status",
    recipe: "Recipe",
    dataset: "Dataset",
    baseModel: "Base model",
    steps: "Steps",
    model: "Model version",
    evaluation: "Evaluation: {name}",
    final: "Last logged: {name}",
    param: "Parameter: {name}",
    fromScratch: "from scratch",
  },
  {
    back: "すべての学習",
    heading: "学習の比較",
    needsTwo: "一覧で 2 つの学習を選ぶと比較できます。",
    loadFailed: "学習を読み込めませんでした: {reason}",
    lossChart: "両方の学習の損失",
    trainLoss: "{run}: 学習損失",
    evalLoss: "{run}: 検証損失",
    step: "ステップ",
    noPoints: "どちらの学習もまだ損失を記録していません。",
    values: "値を表で見る",
    figures: "並べて比較",
    figure: "項目",
    status: "状態",
    recipe: "レシピ",
    dataset: "データセット",
    baseModel: "ベースモデル",
    steps: "ステップ数",
    model: "モデルのバージョン",
    evaluation: "評価: {name}",
    final: "最後の記録: {name}",
    param: "パラメータ: {name}",
    fromScratch: "ゼロから",
  },
);

interface Run {
  job: TrainingJob;
  metrics: MetricsState;
  model: ModelVersion | null;
}

async function loadRun(id: number): Promise<Run> {
  const job = await api<TrainingJob>("GET", `/api/training-jobs/${id}/`);
  const [metrics, model] = await Promise.all([
    readMetrics(id, emptyMetrics(), true),
    job.model_version ? api<ModelVersion>("GET", `/api/models/${job.model_version.id}/`).catch(() => null) : Promise.resolve(null),
  ]);
  return { job, metrics, model };
}

function flat(params: unknown, prefix = ""): Record<string, string> {
  if (!isRecord(params)) return {};
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    if (isRecord(value)) Object.assign(out, flat(value, `${prefix}${name}.`));
    else out[`${prefix}${name}`] = value === null ? "—" : String(value);
  }
  return out;
}

export default async function compareView(ctx: ProjectContext, ids: number[], root: HTMLElement): Promise<() => void> {
  const back = el("a", { className: "crumb", attrs: { href: `/projects/${ctx.project.id}/training/` }, text: t("back") });
  const page = el("div", { className: "compare-page", data: { state: "loading" } }, back, el("h3", { text: t("heading") }));
  replaceChildren(root, page);
  if (ids.length !== 2 || ids[0] === ids[1]) {
    page.append(el("p", { className: "notice", text: t("needsTwo") }));
    page.dataset.state = "failed";
    return () => undefined;
  }
  let runs: Run[];
  try {
    runs = await Promise.all(ids.map(loadRun));
  } catch (error) {
    page.append(el("p", { className: "notice error", attrs: { role: "alert" }, text: t("loadFailed", { reason: (error as Error).message }) }));
    page.dataset.state = "failed";
    return () => undefined;
  }

  // A colour per run: its training loss solid, its validation loss dashed.
  const series: Series[] = runs.flatMap((run, colour) => {
    const name = jobTitle(run.job);
    const validation = seriesOf(run.metrics.rows, LOSS_NAMES[1]);
    return [
      { label: t("trainLoss", { run: name }), points: seriesOf(run.metrics.rows, LOSS_NAMES[0]), colour },
      ...(validation.length ? [{ label: t("evalLoss", { run: name }), points: validation, dashed: true, colour }] : []),
    ];
  });
  const chart = lineChart(series, { name: "compare-loss", title: t("lossChart"), xLabel: t("step"), format: (value) => formatDecimal(value, 3), formatX: formatNumber, emptyText: t("noPoints"), tableSummary: t("values") });

  const rows: HTMLElement[] = [];
  const row = (key: string, label: string, values: (Node | string)[]): void => {
    const differ = values.length === 2 && typeof values[0] === "string" && values[0] !== values[1];
    rows.push(el("tr", { data: { figure: key }, className: differ ? "differs" : "" }, el("th", { attrs: { scope: "row" }, text: label }), ...values.map((value) => el("td", {}, value))));
  };
  row("status", t("status"), runs.map((run) => statusPill(run.job)));
  row("recipe", t("recipe"), runs.map((run) => recipeTitle(run.job.recipe)));
  row("dataset", t("dataset"), runs.map((run) => run.job.dataset_name ?? "—"));
  row("base_model", t("baseModel"), runs.map((run) => run.job.base_model_name || t("fromScratch")));
  row("steps", t("steps"), runs.map((run) => formatNumber(run.job.step)));
  row("model_version", t("model"), runs.map((run) => (run.job.model_version ? `${run.job.model_version.name} ${run.job.model_version.version}` : "—")));
  const evaluations = runs.map((run) => new Map(scalarMetrics(run.model?.metrics)));
  const evalNames = [...new Set(evaluations.flatMap((map) => [...map.keys()]))];
  for (const name of evalNames) {
    row(`eval.${name}`, t("evaluation", { name: metricName(name) }), evaluations.map((map) => (map.has(name) ? metricValue(name, map.get(name)!) : "—")));
  }
  const latest = runs.map((run) => (isRecord(run.job.latest_metrics) ? run.job.latest_metrics : {}));
  const finalNames = [...new Set(latest.flatMap((metrics) => Object.keys(metrics).filter((name) => isMeasure(name) && asNumber(metrics[name]) !== null)))].sort();
  for (const name of finalNames) {
    row(`final.${name}`, t("final", { name: metricName(name) }), latest.map((metrics) => (asNumber(metrics[name]) !== null ? formatMetric(name, metrics[name] as number) : "—")));
  }
  const params = runs.map((run) => flat(run.job.params));
  for (const name of [...new Set(params.flatMap((one) => Object.keys(one)))].sort()) {
    row(`param.${name}`, t("param", { name: paramLabel(name.split(".").pop() ?? name) }), params.map((one) => one[name] ?? "—"));
  }

  const head = el(
    "tr",
    {},
    el("th", { attrs: { scope: "col" }, text: t("figure") }),
    ...runs.map((run) => el("th", { attrs: { scope: "col" } }, el("a", { attrs: { href: `/projects/${ctx.project.id}/training/?job=${run.job.id}` }, text: jobTitle(run.job) }))),
  );
  page.append(
    el("section", { className: "training-section" }, chart),
    el(
      "section",
      { className: "training-section", attrs: { "aria-labelledby": "compare-figures-title" } },
      el("h4", { attrs: { id: "compare-figures-title" }, text: t("figures") }),
      el("div", { className: "table-wrap" }, el("table", { className: "data compare-figures" }, el("thead", {}, head), el("tbody", {}, ...rows))),
    ),
  );
  page.dataset.state = "ready";
  return () => undefined;
}
