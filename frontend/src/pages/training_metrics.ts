// A model's evaluation on its dataset version's test split, as the runner's eval.json gives it: the
// headline figures (accuracy and macro-F1 against the majority baseline; entity-level F1, precision and
// recall; perplexity; DPO's reward accuracy), the confusion matrix as a table (rows the true label,
// columns the predicted one) and NER's figures per entity type. Labels are the project's, drawn as text.

import { el } from "../dom";
import { catalogue, formatNumber } from "../locale";
import { dataTable } from "./tables";
import { formatMetric } from "./training_format";
import { asNumber, evaluationOf, isRecord } from "./training_types";
import { metricName } from "./training_words";

const t = catalogue(
  {
    none: "No evaluation yet: it is written when the run completes.",
    confusion: "Confusion matrix",
    confusionHint: "Rows: the true label. Columns: the label the model predicted.",
    trueLabel: "True \\ predicted",
    perType: "Per entity type",
    type: "Type",
    precision: "Precision",
    recall: "Recall",
    f1: "F1",
    support: "Support",
  },
  {
    none: "評価はまだありません。学習の完了時に書かれます。",
    confusion: "混同行列",
    confusionHint: "行: 正解のラベル。列: モデルが予測したラベル。",
    trueLabel: "正解 \\ 予測",
    perType: "エンティティの種類ごと",
    type: "種類",
    precision: "適合率",
    recall: "再現率",
    f1: "F1",
    support: "件数",
  },
);

// The headline figures first, in this order; any other number after them.
const ORDER = [
  "accuracy",
  "macro_f1",
  "majority_baseline_accuracy",
  "majority_baseline",
  "entity_f1",
  "entity_precision",
  "entity_recall",
  "token_accuracy",
  "perplexity",
  "loss",
  "reward_accuracy",
  "reward_margin",
  "majority_label",
  "rows",
  "split",
];

/** The evaluation's single figures (numbers and short texts), headline ones first. */
export function scalarMetrics(metrics: unknown): [string, number | string][] {
  const evaluation = evaluationOf(metrics);
  const entries = Object.entries(evaluation).filter((entry): entry is [string, number | string] => asNumber(entry[1]) !== null || (typeof entry[1] === "string" && entry[1].length <= 200));
  const rank = (name: string): number => (ORDER.includes(name) ? ORDER.indexOf(name) : ORDER.length);
  return entries.sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]));
}

export function metricValue(name: string, value: number | string): string {
  return typeof value === "number" ? formatMetric(name, value) : value;
}

function confusionTable(value: unknown): HTMLElement | null {
  if (!isRecord(value) || !Array.isArray(value.labels) || !Array.isArray(value.matrix) || !value.labels.length) return null;
  const labels = value.labels.map(String);
  const matrix = value.matrix.map((row) => (Array.isArray(row) ? row.map((cell) => asNumber(cell) ?? 0) : []));
  const head = el("tr", {}, el("th", { attrs: { scope: "col" }, text: t("trueLabel") }), ...labels.map((label) => el("th", { className: "num", attrs: { scope: "col" }, text: label })));
  const body = el(
    "tbody",
    {},
    ...labels.map((label, row) =>
      el(
        "tr",
        { data: { label } },
        el("th", { attrs: { scope: "row" }, text: label }),
        ...labels.map((_, column) => el("td", { className: row === column ? "num diagonal" : "num", text: formatNumber(matrix[row]?.[column] ?? 0) })),
      ),
    ),
  );
  return el(
    "div",
    { className: "confusion" },
    el("h5", { text: t("confusion") }),
    el("p", { className: "hint", text: t("confusionHint") }),
    el("div", { className: "table-wrap" }, el("table", { className: "data confusion-matrix" }, el("thead", {}, head), body)),
  );
}

function perTypeTable(value: unknown): HTMLElement | null {
  if (!isRecord(value) || !Object.keys(value).length) return null;
  const rows = Object.entries(value)
    .filter((entry): entry is [string, Record<string, unknown>] => isRecord(entry[1]))
    .map(([type, figures]) =>
      el(
        "tr",
        { data: { type } },
        el("th", { attrs: { scope: "row" }, text: type }),
        ...["precision", "recall", "f1"].map((key) => el("td", { className: "num", text: metricValue(key, asNumber(figures[key]) ?? 0) })),
        el("td", { className: "num", text: formatNumber(asNumber(figures.support) ?? 0) }),
      ),
    );
  return el("div", { className: "per-type" }, el("h5", { text: t("perType") }), dataTable("data per-type", [t("type"), t("precision"), t("recall"), t("f1"), t("support")], el("tbody", {}, ...rows)));
}

/** The evaluation section's body: figures, then the confusion matrix or the per-type table when there is one. */
export function evaluationView(metrics: unknown): HTMLElement {
  const evaluation = evaluationOf(metrics);
  const scalars = scalarMetrics(evaluation);
  if (!scalars.length && !isRecord(evaluation.confusion_matrix)) return el("p", { className: "hint", text: t("none") });
  return el(
    "div",
    { className: "evaluation" },
    el(
      "dl",
      { className: "metric-tiles" },
      ...scalars.map(([name, value]) => el("div", { className: "metric-tile", data: { metric: name } }, el("dt", { text: metricName(name) }), el("dd", { text: metricValue(name, value) }))),
    ),
    confusionTable(evaluation.confusion_matrix),
    perTypeTable(evaluation.per_type),
  );
}
