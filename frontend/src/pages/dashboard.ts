// The Dashboard tab (reviewers and above): progress over time (`/timeline/`, drawn with uPlot),
// agreement by control and label (`/agreement/`), a confusion matrix between two annotators or an
// annotator and the consensus or gold (`/agreement/confusion`), the annotator leaderboard sortable by
// each metric (`/annotators/`), pre-labels by model version (`/prelabel-stats/`: how annotators received
// each version's suggestions) and the review backlog. Each section loads on its own, so one failing
// endpoint leaves the others drawn; each table downloads as CSV. A metric the server leaves null is
// shown as "—" with its reason. When every section has answered, the page sets data-state="ready"
// on its root and marks `tessera:dashboard-ready` (User Timing), which bench/dashboard_load.py and
// the browser tests wait for.

import "./dashboard.css";
import "uplot/dist/uPlot.min.css";
import uPlot from "uplot";
import { api } from "../api";
import { parseConfig, walk } from "../config";
import { el, replaceChildren } from "../dom";
import { catalogue, formatNumber, language } from "../locale";
import { backlogRows, backlogText, backlogView } from "./backlog";
import { downloadCsv, type CsvCell } from "./csv";
import type { ProjectContext } from "./project";
import type { Backlog, UserRef } from "./quality_types";

const t = catalogue(
  {
    heading: "Dashboard",
    progress: "Progress over time",
    progressHint: "Annotations submitted, reviewed and accepted per day.",
    date: "Date",
    submitted: "Submitted",
    reviewed: "Reviewed",
    accepted: "Accepted",
    noDays: "Nothing submitted yet.",
    showTable: "Show the figures as a table",
    agreement: "Agreement by control and label",
    agreementSummary: "{tasks} tasks, {annotations} annotations",
    control: "Control",
    label: "Label",
    type: "Type",
    alpha: "Krippendorff's α",
    fleiss: "Fleiss' κ",
    cohen: "Cohen's κ (mean of pairs)",
    spanF1: "Span F1",
    spanF1Overlap: "Span F1 (overlap)",
    support: "Support",
    reason: "Why empty",
    noControls: "No control has agreement figures yet: tasks need at least two annotations each.",
    confusion: "Confusion matrix",
    confusionHint: "Rows: the first choice; columns: the second. Counts of tasks where both answered.",
    first: "First",
    second: "Second",
    consensus: "Consensus",
    gold: "Gold",
    show: "Show",
    confusionTasks: "{n} tasks compared",
    confusionEmpty: "No task has answers from both for this control.",
    confusionPick: "Pick a control and two annotators (or an annotator and the consensus or gold).",
    confusionControls: "This project has no control that a confusion matrix can compare.",
    leaderboard: "Annotators",
    user: "Annotator",
    tasksDone: "Tasks done",
    leadTime: "Median time (s)",
    skipRate: "Skip rate",
    rejectionRate: "Rejection rate",
    goldScore: "Gold score",
    goldTasks: "Gold tasks",
    consensusAgreement: "Agreement with consensus",
    prelabelUnchanged: "Pre-labels kept unchanged",
    flagged: "Flagged",
    paused: "Paused",
    yes: "yes",
    no: "no",
    noAnnotators: "No annotator has submitted anything yet.",
    sortBy: "Sort by {column}",
    nullLead: "no timed annotations",
    nullSkip: "no tasks answered",
    nullRejection: "nothing reviewed yet",
    nullGold: "no gold task answered",
    nullConsensus: "no task with a consensus yet",
    nullPrelabel: "no pre-labeled tasks",
    nullMetric: "not computed",
    backlog: "Review backlog",
    prelabels: "Pre-labels by model version",
    prelabelsHint: "Of the answers started from a version's suggestions: kept unchanged, edited (some suggested regions kept) or replaced (none kept); agreement: the share of reviewed answers whose accepted result is the suggestion.",
    modelVersion: "Model version",
    prelabeler: "Pre-labeler",
    imported: "imported",
    predictions: "Predictions",
    shown: "Answered from them",
    acceptedUnchanged: "Kept unchanged",
    edited: "Edited",
    replaced: "Replaced",
    prelabelReviewed: "Reviewed",
    agreementWithAccepted: "Agreement with the accepted result",
    shareUnchanged: "Kept unchanged (share)",
    shareEdited: "Edited (share)",
    shareReplaced: "Replaced (share)",
    noPrelabels: "No predictions yet: add a pre-labeler on the Models tab, or import predictions.",
    nullShown: "no answer from them yet",
    nullReviewed: "none reviewed yet",
    download: "Download CSV",
    failed: "Could not be loaded: {reason}",
    loading: "Loading…",
  },
  {
    heading: "ダッシュボード",
    progress: "進捗の推移",
    progressHint: "1日ごとに提出・レビュー・承認されたアノテーションの数。",
    date: "日付",
    submitted: "提出",
    reviewed: "レビュー済み",
    accepted: "承認",
    noDays: "まだ何も提出されていません。",
    showTable: "数値を表で表示",
    agreement: "コントロール・ラベル別の一致度",
    agreementSummary: "タスク {tasks} 件、アノテーション {annotations} 件",
    control: "コントロール",
    label: "ラベル",
    type: "種類",
    alpha: "クリッペンドルフの α",
    fleiss: "フライスの κ",
    cohen: "コーエンの κ（ペアの平均）",
    spanF1: "スパン F1",
    spanF1Overlap: "スパン F1（重なり）",
    support: "件数",
    reason: "空欄の理由",
    noControls: "一致度を計算できるコントロールはまだありません。各タスクに2件以上のアノテーションが必要です。",
    confusion: "混同行列",
    confusionHint: "行: 1つ目の選択、列: 2つ目の選択。両方が回答したタスクの件数です。",
    first: "1つ目",
    second: "2つ目",
    consensus: "合意結果",
    gold: "ゴールド",
    show: "表示",
    confusionTasks: "{n} 件のタスクを比較",
    confusionEmpty: "このコントロールで両方が回答したタスクはありません。",
    confusionPick: "コントロールと2人のアノテーター（またはアノテーターと合意結果・ゴールド）を選んでください。",
    confusionControls: "このプロジェクトには混同行列で比較できるコントロールがありません。",
    leaderboard: "アノテーター",
    user: "アノテーター",
    tasksDone: "完了タスク",
    leadTime: "所要時間の中央値（秒）",
    skipRate: "スキップ率",
    rejectionRate: "差し戻し率",
    goldScore: "ゴールドスコア",
    goldTasks: "ゴールドタスク",
    consensusAgreement: "合意結果との一致",
    prelabelUnchanged: "事前ラベルをそのまま採用",
    flagged: "要注意",
    paused: "停止中",
    yes: "はい",
    no: "いいえ",
    noAnnotators: "まだ誰も提出していません。",
    sortBy: "{column}で並べ替え",
    nullLead: "時間の記録がありません",
    nullSkip: "回答したタスクがありません",
    nullRejection: "まだレビューされていません",
    nullGold: "ゴールドタスクに回答していません",
    nullConsensus: "合意結果のあるタスクがまだありません",
    nullPrelabel: "事前ラベル付きのタスクがありません",
    nullMetric: "計算されていません",
    backlog: "レビュー待ちの状況",
    prelabels: "モデルのバージョン別の事前ラベル",
    prelabelsHint: "そのバージョンの提案から始めた回答のうち、そのまま採用、修正（提案の領域を一部残した）、置き換え（何も残さなかった）の割合。一致: レビュー済みの回答のうち、承認された結果が提案と同じだった割合。",
    modelVersion: "モデルのバージョン",
    prelabeler: "事前ラベラー",
    imported: "インポート",
    predictions: "予測",
    shown: "提案から回答",
    acceptedUnchanged: "そのまま採用",
    edited: "修正",
    replaced: "置き換え",
    prelabelReviewed: "レビュー済み",
    agreementWithAccepted: "承認された結果との一致",
    shareUnchanged: "そのまま採用（割合）",
    shareEdited: "修正（割合）",
    shareReplaced: "置き換え（割合）",
    noPrelabels: "予測はまだありません。「モデル」タブで事前ラベラーを追加するか、予測をインポートしてください。",
    nullShown: "提案から始めた回答がまだありません",
    nullReviewed: "まだレビューされていません",
    download: "CSV をダウンロード",
    failed: "読み込めませんでした: {reason}",
    loading: "読み込み中…",
  },
);
type Key = Parameters<typeof t>[0];

interface TimelineDay {
  date: string;
  submitted: number;
  reviewed: number;
  accepted: number;
}

interface ControlAgreement {
  type?: string;
  krippendorff_alpha?: number | null;
  fleiss_kappa?: number | null;
  cohen_kappa_mean?: number | null;
  span_f1?: number | null;
  span_f1_overlap?: number | null;
  per_label?: Record<string, { span_f1?: number | null; krippendorff_alpha?: number | null; support?: number; reason?: string | null }>;
  reason?: string | null;
}

interface Agreement {
  controls: Record<string, ControlAgreement>;
  tasks: number;
  annotations: number;
}

interface AnnotatorRow {
  user: UserRef;
  tasks_done: number;
  median_lead_time: number | null;
  skip_rate: number | null;
  rejection_rate: number | null;
  gold_score: number | null;
  gold_tasks: number | null;
  consensus_agreement: number | null;
  prelabel_accepted_unchanged: number | null;
  flagged: boolean;
  paused: boolean;
}

interface PrelabelVersion {
  model_version: string;
  prelabeler: number | null;
  predictions: number;
  shown: number;
  accepted_unchanged: number;
  edited: number;
  replaced: number;
  reviewed: number;
  agreement_with_accepted: number | null;
}

interface Confusion {
  labels: string[];
  matrix: number[][];
  tasks: number;
}

const decimals = (value: number, digits = 3) => new Intl.NumberFormat(language(), { maximumFractionDigits: digits, minimumFractionDigits: Math.min(digits, 2) }).format(value);
const percent = (value: number) => new Intl.NumberFormat(language(), { style: "percent", maximumFractionDigits: 1 }).format(value);

/** A null metric: a dash and, beside it, why the server (or the page) left it empty. */
function nullCell(reason: string | null | undefined): HTMLElement {
  return el("span", { className: "null-metric" }, "—", reason ? el("small", { text: ` ${reason}` }) : null);
}

function section(id: string, title: string, ...children: (Node | null)[]): { root: HTMLElement; body: HTMLElement; tools: HTMLElement } {
  const body = el("div", { className: "dash-body" }, el("p", { className: "hint", text: t("loading") }));
  const tools = el("div", { className: "actions dash-tools" });
  const root = el(
    "section",
    { className: "card dash-section", attrs: { id: `dash-${id}`, "aria-labelledby": `dash-${id}-title` } },
    el("div", { className: "dash-head" }, el("h3", { attrs: { id: `dash-${id}-title` }, text: title }), tools),
    ...children,
    body,
  );
  return { root, body, tools };
}

function csvButton(tools: HTMLElement, name: string, header: string[], rows: () => CsvCell[][]): void {
  const button = el("button", { className: "small", attrs: { type: "button", "data-csv": name }, text: t("download") });
  button.addEventListener("click", () => downloadCsv(name, header, rows()));
  replaceChildren(tools, button);
}

function failure(body: HTMLElement, error: unknown): void {
  replaceChildren(body, el("p", { className: "notice error", attrs: { role: "alert" }, text: t("failed", { reason: (error as Error).message }) }));
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

interface Requests {
  timeline: Promise<{ days: TimelineDay[] }>;
  agreement: Promise<Agreement>;
  annotators: Promise<{ annotators: AnnotatorRow[] }>;
  backlog: Promise<Backlog>;
  prelabels: Promise<{ model_versions: PrelabelVersion[] }>;
}

let prefetched: { projectId: number; requests: Requests } | null = null;

function request(projectId: number): Requests {
  const base = `/api/projects/${projectId}`;
  const requests: Requests = {
    timeline: api("GET", `${base}/timeline/`),
    agreement: api("GET", `${base}/agreement/`),
    annotators: api("GET", `${base}/annotators/`),
    backlog: api("GET", `${base}/review/backlog`),
    prelabels: api("GET", `${base}/prelabel-stats/`),
  };
  // Each is awaited by its section; until then a failure must not count as unhandled.
  for (const pending of Object.values(requests)) (pending as Promise<unknown>).catch(() => undefined);
  return requests;
}

/** Called by the project page while it reads the project, so the figures are on their way sooner. */
export function prefetch(projectId: number): void {
  prefetched = { projectId, requests: request(projectId) };
}

export default async function dashboardTab(ctx: ProjectContext): Promise<() => void> {
  const project = ctx.project;
  const base = `/api/projects/${project.id}`;
  const file = (what: string) => `project-${project.id}-${what}.csv`;
  const cleanups: (() => void)[] = [];

  const progress = section("progress", t("progress"), el("p", { className: "hint", text: t("progressHint") }));
  const agreement = section("agreement", t("agreement"));
  const confusion = section("confusion", t("confusion"), el("p", { className: "hint", text: t("confusionHint") }));
  const leaderboard = section("annotators", t("leaderboard"));
  const backlog = section("backlog", t("backlog"));
  const prelabels = section("prelabels", t("prelabels"), el("p", { className: "hint", text: t("prelabelsHint") }));
  const root = el("div", { className: "dashboard", data: { state: "loading" } }, progress.root, agreement.root, leaderboard.root, confusion.root, prelabels.root, backlog.root);
  document.title = `${t("heading")} · ${project.title} · Tessera`;
  replaceChildren(ctx.root, el("h2", { className: "visually-hidden", text: t("heading") }), root);

  // Prefetched answers are used once; a later visit to the tab reads fresh figures.
  const requests = prefetched?.projectId === project.id ? prefetched.requests : request(project.id);
  prefetched = null;
  const { timeline: timelineRequest, agreement: agreementRequest, annotators: annotatorsRequest, backlog: backlogRequest, prelabels: prelabelsRequest } = requests;

  const drawn = [
    timelineRequest.then(({ days }) => cleanups.push(drawTimeline(progress, days ?? [], file)), (error) => failure(progress.body, error)),
    agreementRequest.then((answer) => drawAgreement(agreement, answer, file), (error) => failure(agreement.body, error)),
    prelabelsRequest.then(({ model_versions }) => cleanups.push(drawPrelabels(prelabels, model_versions ?? [], file)), (error) => failure(prelabels.body, error)),
    annotatorsRequest.then(({ annotators }) => drawLeaderboard(leaderboard, annotators ?? [], file), (error) => failure(leaderboard.body, error)),
    backlogRequest.then(
      (answer) => {
        replaceChildren(backlog.body, backlogView(answer));
        csvButton(backlog.tools, file("backlog"), [backlogText("kind"), backlogText("state"), backlogText("count")], () => backlogRows(answer));
      },
      (error) => failure(backlog.body, error),
    ),
    // The matrix needs the annotators only (its controls come from the config), so it does not wait
    // for the agreement figures.
    annotatorsRequest.then(
      ({ annotators }) => drawConfusionPicker(confusion, base, comparableControls(project.label_config), annotators ?? [], file),
      () => drawConfusionPicker(confusion, base, comparableControls(project.label_config), [], file),
    ),
  ];
  await Promise.allSettled(drawn);
  root.dataset.state = "ready";
  performance.mark("tessera:dashboard-ready");
  return () => cleanups.forEach((cleanup) => cleanup());
}

function drawTimeline(target: ReturnType<typeof section>, days: TimelineDay[], file: (what: string) => string): () => void {
  const header = [t("date"), t("submitted"), t("reviewed"), t("accepted")];
  const rows = (): CsvCell[][] => days.map((day) => [day.date, day.submitted, day.reviewed, day.accepted]);
  csvButton(target.tools, file("progress"), header, rows);
  if (!days.length) {
    replaceChildren(target.body, el("p", { className: "empty", text: t("noDays") }));
    return () => undefined;
  }
  const chartHolder = el("div", { className: "dash-chart", attrs: { role: "img", "aria-label": t("progressHint") } });
  const body = el("tbody", {}, ...days.map((day) => el("tr", {}, el("td", { text: day.date }), ...[day.submitted, day.reviewed, day.accepted].map((n) => el("td", { className: "num", text: formatNumber(n) })))));
  const table = el("details", { className: "dash-figures" }, el("summary", { text: t("showTable") }), tableOf("data timeline", header, body, [false, true, true, true]));
  replaceChildren(target.body, chartHolder, table);
  // Dates are days (UTC): x in seconds at midnight UTC, shown in UTC so a day never shifts.
  const xs = days.map((day) => Date.parse(`${day.date}T00:00:00Z`) / 1000);
  const colours = [cssVar("--accent", "#2f5fd0"), cssVar("--focus", "#f0a500"), cssVar("--ok", "#1a7f37")];
  const axis = { stroke: cssVar("--muted", "#5c6677"), grid: { stroke: cssVar("--line", "#d8dde6"), width: 1 }, ticks: { stroke: cssVar("--line", "#d8dde6"), width: 1 } };
  const width = () => Math.max(280, chartHolder.clientWidth || 600);
  const dayFormat = new Intl.DateTimeFormat(language(), { month: "short", day: "numeric", timeZone: "UTC" });
  const chart = new uPlot(
    {
      width: width(),
      height: 240,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: {
        // At least a week wide, centred on the data. Read from the days themselves: for a single
        // point uPlot widens a time scale by 86,400,000 units, years when x is in seconds.
        x: {
          time: true,
          range: (_u, min, max) => {
            const week = 7 * 86_400;
            const first = xs[0];
            const last = xs[xs.length - 1];
            if (last - first >= week) return [min, max];
            const middle = (first + last) / 2;
            return [middle - week / 2, middle + week / 2];
          },
        },
        // Headroom above the highest day, so its point is not cut by the plot's edge.
        y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] },
      },
      // Whole days on the x axis, written in the page's language (uPlot's default shows hours too).
      axes: [
        {
          ...axis,
          space: 60,
          incrs: [86_400, 2 * 86_400, 7 * 86_400, 14 * 86_400, 30 * 86_400, 91 * 86_400, 365 * 86_400],
          values: (_u, splits) => splits.map((split) => dayFormat.format(new Date(split * 1000))),
        },
        axis,
      ],
      series: [
        { label: t("date") },
        { label: t("submitted"), stroke: colours[0], width: 2, points: { show: days.length < 60 } },
        { label: t("reviewed"), stroke: colours[1], width: 2, points: { show: days.length < 60 } },
        { label: t("accepted"), stroke: colours[2], width: 2, points: { show: days.length < 60 } },
      ],
    },
    [xs, days.map((day) => day.submitted), days.map((day) => day.reviewed), days.map((day) => day.accepted)],
    chartHolder,
  );
  const observer = new ResizeObserver(() => chart.setSize({ width: width(), height: 240 }));
  observer.observe(chartHolder);
  return () => {
    observer.disconnect();
    chart.destroy();
  };
}

/** Per model version: a chart of how its suggestions fared (shares of the answers made from them) and the counts. */
function drawPrelabels(target: ReturnType<typeof section>, versions: PrelabelVersion[], file: (what: string) => string): () => void {
  const header = [t("modelVersion"), t("prelabeler"), t("predictions"), t("shown"), t("acceptedUnchanged"), t("edited"), t("replaced"), t("prelabelReviewed"), t("agreementWithAccepted")];
  const rows = (): CsvCell[][] =>
    versions.map((row) => [row.model_version, row.prelabeler, row.predictions, row.shown, row.accepted_unchanged, row.edited, row.replaced, row.reviewed, row.agreement_with_accepted]);
  csvButton(target.tools, file("prelabels"), header, rows);
  if (!versions.length) {
    replaceChildren(target.body, el("p", { className: "empty", text: t("noPrelabels") }));
    return () => undefined;
  }
  const share = (part: number, whole: number): number | null => (whole ? part / whole : null);
  const shareCell = (part: number, whole: number) => {
    const value = share(part, whole);
    return el("td", { className: "num" }, formatNumber(part), value === null ? null : el("small", { className: "share", text: ` (${percent(value)})` }));
  };
  const body = el(
    "tbody",
    {},
    ...versions.map((row) =>
      el(
        "tr",
        { data: { modelVersion: row.model_version, prelabeler: row.prelabeler ?? "" } },
        el("th", { attrs: { scope: "row" }, text: row.model_version || "—" }),
        el("td", { text: row.prelabeler === null ? t("imported") : `#${row.prelabeler}` }),
        el("td", { className: "num", text: formatNumber(row.predictions) }),
        el("td", { className: "num" }, row.shown ? formatNumber(row.shown) : nullCell(t("nullShown"))),
        shareCell(row.accepted_unchanged, row.shown),
        shareCell(row.edited, row.shown),
        shareCell(row.replaced, row.shown),
        el("td", { className: "num", text: formatNumber(row.reviewed) }),
        row.agreement_with_accepted === null ? el("td", { className: "num" }, nullCell(t("nullReviewed"))) : el("td", { className: "num", text: percent(row.agreement_with_accepted) }),
      ),
    ),
  );
  const table = tableOf("data prelabels", header, body, [false, false, true, true, true, true, true, true, true]);
  const answered = versions.filter((row) => row.shown > 0);
  if (!answered.length) {
    replaceChildren(target.body, table);
    return () => undefined;
  }
  // One point per version on x (0, 1, 2…), labelled with the version; the shares of its answers on y.
  const chartHolder = el("div", { className: "dash-chart", attrs: { role: "img", "aria-label": t("prelabelsHint") } });
  replaceChildren(target.body, chartHolder, table);
  const xs = answered.map((_row, index) => index);
  const names = answered.map((row) => row.model_version || "—");
  const colours = [cssVar("--ok", "#1a7f37"), cssVar("--focus", "#f0a500"), cssVar("--danger", "#b42318"), cssVar("--accent", "#2f5fd0")];
  const axis = { stroke: cssVar("--muted", "#5c6677"), grid: { stroke: cssVar("--line", "#d8dde6"), width: 1 }, ticks: { stroke: cssVar("--line", "#d8dde6"), width: 1 } };
  const width = () => Math.max(280, chartHolder.clientWidth || 600);
  const series = (label: string, stroke: string) => ({ label, stroke, width: 2, points: { show: true, size: 7 }, value: (_u: uPlot, value: number) => (value === null || value === undefined ? "—" : percent(value)) });
  const chart = new uPlot(
    {
      width: width(),
      height: 240,
      scales: { x: { time: false, range: () => [-0.5, Math.max(0.5, xs.length - 0.5)] }, y: { range: () => [0, 1] } },
      axes: [
        { ...axis, incrs: [1], values: (_u, splits) => splits.map((split) => (Number.isInteger(split) ? (names[split] ?? "") : "")) },
        { ...axis, values: (_u, splits) => splits.map((split) => percent(split)) },
      ],
      series: [
        { label: t("modelVersion"), value: (_u, index) => names[index] ?? "" },
        series(t("shareUnchanged"), colours[0]),
        series(t("shareEdited"), colours[1]),
        series(t("shareReplaced"), colours[2]),
        series(t("agreementWithAccepted"), colours[3]),
      ],
    },
    [
      xs,
      answered.map((row) => share(row.accepted_unchanged, row.shown)),
      answered.map((row) => share(row.edited, row.shown)),
      answered.map((row) => share(row.replaced, row.shown)),
      answered.map((row) => row.agreement_with_accepted),
    ],
    chartHolder,
  );
  const observer = new ResizeObserver(() => chart.setSize({ width: width(), height: 240 }));
  observer.observe(chartHolder);
  return () => {
    observer.disconnect();
    chart.destroy();
  };
}

function tableOf(className: string, header: (string | HTMLElement)[], body: HTMLTableSectionElement, numeric: boolean[]): HTMLElement {
  const cells = header.map((cell, index) => el("th", { className: numeric[index] ? "num" : "", attrs: { scope: "col" } }, cell));
  return el("div", { className: "table-wrap" }, el("table", { className }, el("thead", {}, el("tr", {}, ...cells)), body));
}

function metricCell(value: number | null | undefined, reason: string | null | undefined, meter = true): HTMLElement {
  if (value === null || value === undefined) return el("td", { className: "num" }, nullCell(reason));
  const cell = el("td", { className: "num" }, decimals(value));
  if (meter) cell.prepend(el("meter", { attrs: { min: "0", max: "1", value: String(Math.max(0, Math.min(1, value))), "aria-hidden": "true" } }), " ");
  return cell;
}

function drawAgreement(target: ReturnType<typeof section>, answer: Agreement, file: (what: string) => string): void {
  const header = [t("control"), t("label"), t("type"), t("alpha"), t("fleiss"), t("cohen"), t("spanF1"), t("spanF1Overlap"), t("support"), t("reason")];
  const controls = Object.entries(answer.controls ?? {});
  const rows: CsvCell[][] = [];
  const body = el("tbody");
  for (const [name, control] of controls) {
    rows.push([name, "", control.type ?? "", control.krippendorff_alpha, control.fleiss_kappa, control.cohen_kappa_mean, control.span_f1, control.span_f1_overlap, null, control.reason ?? ""]);
    const reason = control.reason ?? t("nullMetric");
    body.append(
      el(
        "tr",
        { className: "control-row", data: { control: name } },
        el("th", { attrs: { scope: "row" }, text: name }),
        el("td", { text: "" }),
        el("td", { text: control.type ?? "" }),
        metricCell(control.krippendorff_alpha, reason),
        metricCell(control.fleiss_kappa, reason),
        metricCell(control.cohen_kappa_mean, reason),
        metricCell(control.span_f1, control.type === "labels" ? reason : null),
        metricCell(control.span_f1_overlap, control.type === "labels" ? reason : null),
        el("td", { className: "num", text: "" }),
        el("td", { className: "reason", text: control.reason ?? "" }),
      ),
    );
    for (const [label, figures] of Object.entries(control.per_label ?? {})) {
      rows.push([name, label, "", figures.krippendorff_alpha, null, null, figures.span_f1, null, figures.support ?? null, figures.reason ?? ""]);
      body.append(
        el(
          "tr",
          { className: "label-row", data: { control: name, label } },
          el("td", { text: "" }),
          el("td", { text: label }),
          el("td", { text: "" }),
          "krippendorff_alpha" in figures ? metricCell(figures.krippendorff_alpha, figures.reason ?? reason) : el("td"),
          el("td"),
          el("td"),
          "span_f1" in figures ? metricCell(figures.span_f1, figures.reason ?? reason) : el("td"),
          el("td"),
          el("td", { className: "num", text: figures.support === undefined ? "" : formatNumber(figures.support) }),
          el("td", { className: "reason", text: figures.reason ?? "" }),
        ),
      );
    }
  }
  csvButton(target.tools, file("agreement"), header, () => rows);
  replaceChildren(
    target.body,
    el("p", { className: "hint", text: t("agreementSummary", { tasks: formatNumber(answer.tasks ?? 0), annotations: formatNumber(answer.annotations ?? 0) }) }),
    controls.length ? tableOf("data agreement", header, body, [false, false, false, true, true, true, true, true, true, false]) : el("p", { className: "empty", text: t("noControls") }),
  );
}

type SortKey = "email" | "tasks_done" | "median_lead_time" | "skip_rate" | "rejection_rate" | "gold_score" | "gold_tasks" | "consensus_agreement" | "prelabel_accepted_unchanged" | "flagged" | "paused";

const COLUMNS: { key: SortKey; label: Key; kind: "text" | "count" | "seconds" | "rate" | "score" | "flag"; reason?: Key }[] = [
  { key: "email", label: "user", kind: "text" },
  { key: "tasks_done", label: "tasksDone", kind: "count" },
  { key: "median_lead_time", label: "leadTime", kind: "seconds", reason: "nullLead" },
  { key: "skip_rate", label: "skipRate", kind: "rate", reason: "nullSkip" },
  { key: "rejection_rate", label: "rejectionRate", kind: "rate", reason: "nullRejection" },
  { key: "gold_score", label: "goldScore", kind: "score", reason: "nullGold" },
  { key: "gold_tasks", label: "goldTasks", kind: "count" },
  { key: "consensus_agreement", label: "consensusAgreement", kind: "score", reason: "nullConsensus" },
  { key: "prelabel_accepted_unchanged", label: "prelabelUnchanged", kind: "rate", reason: "nullPrelabel" },
  { key: "flagged", label: "flagged", kind: "flag" },
  { key: "paused", label: "paused", kind: "flag" },
];

function valueOf(row: AnnotatorRow, key: SortKey): string | number | boolean | null {
  return key === "email" ? row.user.email : (row[key] ?? null);
}

function drawLeaderboard(target: ReturnType<typeof section>, annotators: AnnotatorRow[], file: (what: string) => string): void {
  const header = COLUMNS.map((column) => t(column.label));
  csvButton(target.tools, file("annotators"), header, () => annotators.map((row) => COLUMNS.map((column) => valueOf(row, column.key) as CsvCell)));
  if (!annotators.length) {
    replaceChildren(target.body, el("p", { className: "empty", text: t("noAnnotators") }));
    return;
  }
  let sortKey: SortKey = "tasks_done";
  let descending = true;
  const body = el("tbody");
  const buttons = COLUMNS.map((column) => {
    const button = el("button", { className: "sort", attrs: { type: "button", "data-sort": column.key, "aria-label": t("sortBy", { column: t(column.label) }) }, text: t(column.label) });
    button.addEventListener("click", () => {
      if (sortKey === column.key) descending = !descending;
      else {
        sortKey = column.key;
        descending = column.kind !== "text";
      }
      draw();
    });
    return button;
  });
  const wrap = tableOf("data leaderboard", buttons, body, COLUMNS.map((column) => column.kind !== "text" && column.kind !== "flag"));
  const headers = [...wrap.querySelectorAll("th")];
  const cell = (row: AnnotatorRow, column: (typeof COLUMNS)[number]): HTMLElement => {
    const value = valueOf(row, column.key);
    if (column.kind === "text") return el("th", { attrs: { scope: "row" }, text: String(value) });
    if (column.kind === "flag") return el("td", { className: value ? "flag-on" : "", text: value ? t("yes") : t("no") });
    if (value === null || typeof value !== "number") return el("td", { className: "num" }, nullCell(column.reason ? t(column.reason) : t("nullMetric")));
    const text = column.kind === "rate" ? percent(value) : column.kind === "seconds" ? decimals(value, 1) : column.kind === "score" ? decimals(value) : formatNumber(value);
    return el("td", { className: "num", text });
  };
  const draw = () => {
    const sorted = [...annotators].sort((a, b) => {
      const x = valueOf(a, sortKey);
      const y = valueOf(b, sortKey);
      // Empty figures go last whichever the direction: they are not the best or the worst.
      if (x === null && y === null) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      const order = typeof x === "string" ? x.localeCompare(String(y)) : Number(x) - Number(y);
      return descending ? -order : order;
    });
    replaceChildren(body, ...sorted.map((row) => el("tr", { data: { user: row.user.id } }, ...COLUMNS.map((column) => cell(row, column)))));
    headers.forEach((th, index) => th.setAttribute("aria-sort", COLUMNS[index].key === sortKey ? (descending ? "descending" : "ascending") : "none"));
  };
  draw();
  replaceChildren(target.body, wrap);
}

/** The config's controls whose answers are labels a confusion matrix can count. */
function comparableControls(config: string): string[] {
  const names: string[] = [];
  try {
    walk(parseConfig(config), (node) => {
      if (COMPARABLE_TAGS.has(node.tag) && node.attrs.name) names.push(node.attrs.name);
    });
  } catch {
    // A config the browser cannot read offers no controls; the section says so.
  }
  return names;
}

const COMPARABLE_TAGS = new Set(["choices", "labels", "rating", "paragraphlabels", "rectanglelabels", "polygonlabels", "pairwise"]);

function drawConfusionPicker(
  target: ReturnType<typeof section>,
  base: string,
  controls: string[],
  annotators: AnnotatorRow[],
  file: (what: string) => string,
): void {
  if (!controls.length) {
    replaceChildren(target.body, el("p", { className: "empty", text: t("confusionControls") }));
    return;
  }
  const select = (id: string, label: string, options: [string, string][], value: string) => {
    const input = el("select", { attrs: { id, name: id } }, ...options.map(([optionValue, text]) => el("option", { attrs: { value: optionValue }, text })));
    input.value = value;
    return { input, field: el("div", { className: "field" }, el("label", { attrs: { for: id }, text: label }), input) };
  };
  const people: [string, string][] = [...annotators.map((row): [string, string] => [String(row.user.id), row.user.email]), ["consensus", t("consensus")], ["gold", t("gold")]];
  const control = select("confusion-control", t("control"), controls.map((name) => [name, name]), controls[0]);
  const first = select("confusion-a", t("first"), people, people[0][0]);
  const second = select("confusion-b", t("second"), people, (people[1] ?? people[0])[0]);
  const show = el("button", { attrs: { type: "submit" }, text: t("show") });
  const result = el("div", { className: "confusion-result", attrs: { "aria-live": "polite" } }, el("p", { className: "hint", text: t("confusionPick") }));
  const form = el("form", { className: "confusion-form" }, control.field, first.field, second.field, el("div", { className: "actions" }, show));
  const load = async () => {
    const query = new URLSearchParams({ control: control.input.value, a: first.input.value, b: second.input.value });
    show.disabled = true;
    try {
      const answer = await api<Confusion>("GET", `${base}/agreement/confusion?${query}`);
      drawConfusion(result, target.tools, answer, file(`confusion-${control.input.value}`), first.input.selectedOptions[0]?.text ?? "", second.input.selectedOptions[0]?.text ?? "");
    } catch (error) {
      failure(result, error);
    } finally {
      show.disabled = false;
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void load();
  });
  replaceChildren(target.body, form, result);
  if (people.length >= 2) void load();
}

function drawConfusion(holder: HTMLElement, tools: HTMLElement, answer: Confusion, fileName: string, rowName: string, columnName: string): void {
  const labels = answer.labels ?? [];
  const matrix = answer.matrix ?? [];
  const corner = `${rowName} \\ ${columnName}`;
  csvButton(tools, fileName, [corner, ...labels], () => labels.map((label, i) => [label, ...(matrix[i] ?? [])]));
  if (!labels.length || !answer.tasks) {
    replaceChildren(holder, el("p", { className: "empty", text: t("confusionEmpty") }));
    return;
  }
  const largest = Math.max(1, ...matrix.flat());
  const body = el(
    "tbody",
    {},
    ...labels.map((label, i) =>
      el(
        "tr",
        {},
        el("th", { attrs: { scope: "row" }, text: label }),
        ...labels.map((_column, j) => {
          const count = matrix[i]?.[j] ?? 0;
          // Shading in five steps by CSS class (the CSP allows no inline style).
          const level = count === 0 ? 0 : Math.min(5, 1 + Math.floor((count / largest) * 4.999));
          return el("td", { className: `num heat-${level}${i === j ? " diagonal" : ""}`, text: formatNumber(count) });
        }),
      ),
    ),
  );
  replaceChildren(holder, el("p", { className: "hint", text: t("confusionTasks", { n: formatNumber(answer.tasks) }) }), tableOf("data confusion", [corner, ...labels], body, [false, ...labels.map(() => true)]));
}
