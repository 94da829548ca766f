// A project's Datasets tab (reviewers and above): the project's dataset versions
// (`GET /api/projects/{id}/datasets/`) with their status, a progress bar while one is built (the list
// is read again every few seconds until no build runs), counts per split and files; one version's
// details (`GET /api/datasets/{id}/`): counts per split and label, the curation steps' reports, its
// files with download links, and its dataset card (README.md) drawn by the safe Markdown renderer;
// a comparison of two versions (`GET /api/datasets/{id}/diff?other=`); and, for managers, the build
// form with its live preview (dataset_form.ts) and Delete. Names, labels and cards are untrusted: all
// of it goes into the DOM as text through dom.ts and markdown.ts.

import "./datasets.css";
import { api } from "../api";
import { el, replaceChildren } from "../dom";
import { apiDownloadLink } from "../download";
import { catalogue, formatBytes, formatDateTime, formatNumber, language } from "../locale";
import { renderMarkdown } from "../markdown";
import { roleAtLeast } from "../types";
import { confirmAction } from "./confirm";
import { buildForm, redactionKindName, splitName, type BuildForm, type FormatChoice } from "./dataset_form";
import {
  errorText,
  isRunning,
  parentId,
  personName,
  progressFraction,
  readDiff,
  splitCounts,
  splitFrontMatter,
  type DatasetVersion,
  type StepReport,
} from "./dataset_types";
import type { ProjectContext } from "./project";
import { dataTable } from "./tables";

const t = catalogue(
  {
    heading: "Datasets",
    versions: "Versions",
    versionsHint: "Immutable snapshots of this project's curated annotations, ready for training. A build in progress updates by itself.",
    none: "No version yet.",
    noneManager: "No version yet. Build the first one below.",
    name: "Name",
    status: "Status",
    created: "Created",
    createdBy: "By",
    counts: "Tasks per split",
    files: "Files",
    actions: "Actions",
    created_status: "Queued",
    in_progress: "Building",
    completed: "Completed",
    failed: "Failed",
    cancelled: "Cancelled",
    progressLabel: "Progress of {name}",
    failedBecause: "Failed: {reason}",
    open: "Details",
    delete: "Delete",
    deleteTitle: "Delete “{name}”?",
    deleteMessage: "The version and its files are removed. Models trained on it keep their record of it.",
    deleteLabel: "Delete {name}",
    cancel: "Cancel",
    loadFailed: "The versions could not be loaded: {reason}",
    detailFailed: "This version could not be loaded: {reason}",
    detailHeading: "Version “{name}”",
    parent: "Built after version #{id}.",
    perLabel: "Counts per split and label",
    label: "Label",
    total: "Total",
    steps: "Curation steps",
    noSteps: "This recipe has no curation step (deduplication or redaction).",
    threshold: "threshold {value}",
    aside: " ({text})",
    examples: "For example: {pairs}",
    examplePair: "#{removed} removed as a duplicate of #{kept}",
    dedup_exact: "Exact duplicates",
    dedup_near: "Near duplicates",
    redact: "Redaction",
    removed: "{count} removed",
    changed: "{count} changed",
    detailsOf: "{name}: {count}",
    format: "Format",
    split: "Split",
    size: "Size",
    sha256: "SHA-256",
    download: "Download",
    downloadLabel: "Download {format} {split}",
    allSplits: "all splits",
    noFiles: "The files appear here when the build completes.",
    card: "Dataset card",
    noCard: "The card is written when the build completes.",
    metadata: "Metadata",
    compare: "Compare two versions",
    compareHint: "Tasks added, removed or relabeled from the first version to the second.",
    from: "From",
    to: "To",
    compareButton: "Compare",
    comparing: "Comparing…",
    compareFailed: "No comparison: {reason}",
    compareNeedsTwo: "Compare needs two completed versions.",
    sameVersion: "Choose two different versions.",
    added: "Added",
    removedTasks: "Removed",
    relabeled: "Relabeled",
    sample: "Task ids: {ids}",
    more: "(and more)",
    train: "Train a model on this version",
  },
  {
    heading: "データセット",
    versions: "バージョン",
    versionsHint: "このプロジェクトの整えたアノテーションの、変更できないスナップショットです。学習にそのまま使えます。作成中のものは自動で更新されます。",
    none: "バージョンはまだありません。",
    noneManager: "バージョンはまだありません。下で最初のバージョンを作成してください。",
    name: "名前",
    status: "状態",
    created: "作成日時",
    createdBy: "作成者",
    counts: "分割ごとのタスク数",
    files: "ファイル",
    actions: "操作",
    created_status: "待機中",
    in_progress: "作成中",
    completed: "完了",
    failed: "失敗",
    cancelled: "キャンセル済み",
    progressLabel: "{name} の進捗",
    failedBecause: "失敗: {reason}",
    open: "詳細",
    delete: "削除",
    deleteTitle: "「{name}」を削除しますか？",
    deleteMessage: "バージョンとそのファイルが削除されます。これで学習したモデルには、その記録が残ります。",
    deleteLabel: "{name} を削除",
    cancel: "キャンセル",
    loadFailed: "バージョンを読み込めませんでした: {reason}",
    detailFailed: "このバージョンを読み込めませんでした: {reason}",
    detailHeading: "バージョン「{name}」",
    parent: "バージョン #{id} の次に作成されました。",
    perLabel: "分割・ラベルごとの件数",
    label: "ラベル",
    total: "合計",
    steps: "整備の手順",
    noSteps: "このレシピには整備の手順（重複除去・マスキング）がありません。",
    threshold: "しきい値 {value}",
    aside: "（{text}）",
    examples: "例: {pairs}",
    examplePair: "#{removed} を #{kept} の重複として除外",
    dedup_exact: "完全一致の重複",
    dedup_near: "類似重複",
    redact: "マスキング",
    removed: "{count} 件を除外",
    changed: "{count} 件を変更",
    detailsOf: "{name}: {count}",
    format: "形式",
    split: "分割",
    size: "サイズ",
    sha256: "SHA-256",
    download: "ダウンロード",
    downloadLabel: "{format} {split} をダウンロード",
    allSplits: "全分割",
    noFiles: "作成が完了すると、ここにファイルが表示されます。",
    card: "データセットカード",
    noCard: "カードは作成の完了時に書かれます。",
    metadata: "メタデータ",
    compare: "2 つのバージョンを比較",
    compareHint: "1 つ目のバージョンから 2 つ目までに追加・削除・ラベル変更されたタスク。",
    from: "比較元",
    to: "比較先",
    compareButton: "比較",
    comparing: "比較しています…",
    compareFailed: "比較できません: {reason}",
    compareNeedsTwo: "比較には完了したバージョンが 2 つ必要です。",
    sameVersion: "異なる 2 つのバージョンを選んでください。",
    added: "追加",
    removedTasks: "削除",
    relabeled: "ラベル変更",
    sample: "タスク ID: {ids}",
    more: "（ほかにもあります）",
    train: "このバージョンでモデルを学習",
  },
);

type Key = Parameters<typeof t>[0];

const POLL_MS = 1500;

const STATUS_TEXT: Record<string, Key> = {
  created: "created_status",
  queued: "created_status",
  in_progress: "in_progress",
  running: "in_progress",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
};

// The names a recipe's "formats" takes (exports/formats/ registers them), with what each holds.
const FORMAT_LABELS: Record<string, { en: string; ja: string }> = {
  jsonl: { en: "JSONL", ja: "JSONL" },
  parquet: { en: "Parquet", ja: "Parquet" },
  hf: { en: "Hugging Face datasets folder", ja: "Hugging Face datasets フォルダー" },
  text_classification: { en: "Text classification (text, label)", ja: "テキスト分類（text, label）" },
  token_classification: { en: "Token classification (tokens, ner_tags)", ja: "トークン分類（tokens, ner_tags）" },
  sft_chat: { en: "SFT chat (messages)", ja: "SFT チャット（messages）" },
  dpo_pairs: { en: "Preference pairs for DPO", ja: "DPO 用の選好ペア" },
  rubric_scores: { en: "Rubric scores", ja: "ルーブリック評価" },
  pretraining_corpus: { en: "Pre-training corpus", ja: "事前学習コーパス" },
  JSON: { en: "Label Studio JSON", ja: "Label Studio JSON" },
  JSON_MIN: { en: "JSON_MIN", ja: "JSON_MIN" },
  CSV: { en: "CSV", ja: "CSV" },
  TSV: { en: "TSV", ja: "TSV" },
  CONLL2003: { en: "CoNLL 2003", ja: "CoNLL 2003" },
  COCO: { en: "COCO", ja: "COCO" },
  YOLO: { en: "YOLO", ja: "YOLO" },
  YOLO_OBB: { en: "YOLO (oriented boxes)", ja: "YOLO（回転ボックス）" },
  VOC: { en: "Pascal VOC", ja: "Pascal VOC" },
};
// Files every version has beside its formats.
const EXTRA_FILES: Record<string, { en: string; ja: string }> = {
  card: { en: "Dataset card (README.md)", ja: "データセットカード（README.md）" },
  manifest: { en: "Manifest (task and annotation ids)", ja: "マニフェスト（タスクとアノテーションの ID）" },
};

function formatLabel(name: string): string {
  const labels = FORMAT_LABELS[name] ?? EXTRA_FILES[name];
  return labels ? labels[language()] : name;
}

interface ListedFormat {
  name: string;
  fits: boolean;
  reason: string | null;
}

/**
 * The formats the server has (`GET /api/projects/{id}/datasets/formats`), those that do not fit the
 * project disabled with the reason, in the order of FORMAT_LABELS (records, training shapes, Label
 * Studio's); the known names, all enabled, when the list cannot be read.
 */
async function loadFormats(projectId: number): Promise<FormatChoice[]> {
  const order = Object.keys(FORMAT_LABELS);
  const rank = (name: string): number => (order.includes(name) ? order.indexOf(name) : order.length);
  try {
    const listed = await api<ListedFormat[]>("GET", `/api/projects/${projectId}/datasets/formats`);
    return listed
      .map((format) => ({ name: format.name, label: formatLabel(format.name), unfit: format.fits ? null : format.reason || "—" }))
      .sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
  } catch {
    return order.map((name) => ({ name, label: formatLabel(name), unfit: null }));
  }
}

function listOf(answer: DatasetVersion[] | { results: DatasetVersion[] } | null): DatasetVersion[] {
  return Array.isArray(answer) ? answer : (answer?.results ?? []);
}

function statusText(status: string): string {
  return STATUS_TEXT[status] ? t(STATUS_TEXT[status]) : status;
}

function stepName(name: string): string {
  return name === "dedup_exact" || name === "dedup_near" || name === "redact" ? t(name) : name;
}

export default async function datasetsTab(ctx: ProjectContext): Promise<() => void> {
  const project = ctx.project;
  const canBuild = roleAtLeast(ctx.settings.role, "manager");
  let versions: DatasetVersion[] = [];
  let selected: number | null = Number(new URLSearchParams(location.search).get("version")) || null;
  let left = false;
  let pollTimer = 0;
  let detailTicket = 0;
  let form: BuildForm | null = null;

  const listBody = el("div", { className: "versions-body" });
  const detail = el("section", { className: "card datasets-section version-detail", attrs: { "aria-live": "polite" } });
  detail.hidden = true;
  const compareBody = el("div", { className: "compare-body" });

  // ---- the list ----
  const progressCell = (version: DatasetVersion): HTMLElement => {
    const cell = el("td", { className: `status status-${version.status}`, data: { status: version.status } }, el("span", { className: "status-text", text: statusText(version.status) }));
    if (isRunning(version)) {
      const bar = el("progress", { attrs: { max: "1", "aria-label": t("progressLabel", { name: version.name }) } });
      const fraction = progressFraction(version.progress);
      if (fraction !== null) bar.value = fraction;
      cell.append(" ", bar);
    }
    const reason = version.status === "failed" ? errorText(version.error) : "";
    if (reason) cell.append(el("small", { className: "job-error", text: t("failedBecause", { reason }) }));
    return cell;
  };

  const countsText = (version: DatasetVersion): string =>
    splitCounts(version.counts)
      .map((row) => `${splitName(row.split)} ${formatNumber(row.total)}`)
      .join(" · ");

  const drawList = (): void => {
    if (!versions.length) {
      replaceChildren(listBody, el("p", { className: "empty", text: canBuild ? t("noneManager") : t("none") }));
      return;
    }
    const rows = versions.map((version) => {
      const open = el("button", { className: "link", attrs: { type: "button", "aria-pressed": String(version.id === selected) }, text: version.name });
      open.addEventListener("click", () => select(version.id));
      let remove: HTMLButtonElement | null = null;
      if (canBuild) {
        remove = el("button", { className: "small", attrs: { type: "button", "data-action": "delete", "aria-label": t("deleteLabel", { name: version.name }) }, text: t("delete") });
        remove.addEventListener("click", () => void removeVersion(version));
      }
      const files = version.files ?? [];
      return el(
        "tr",
        { data: { versionId: version.id, status: version.status }, className: version.id === selected ? "selected" : "" },
        el("th", { attrs: { scope: "row" } }, open),
        progressCell(version),
        el("td", { text: formatDateTime(version.created_at) }),
        el("td", { className: "who", text: personName(version.created_by, ctx.settings.user) }),
        el("td", { className: "counts", text: countsText(version) }),
        el("td", { className: "num", text: files.length ? formatNumber(files.length) : "" }),
        canBuild ? el("td", {}, remove) : null,
      );
    });
    replaceChildren(
      listBody,
      dataTable("data versions", [t("name"), t("status"), t("created"), t("createdBy"), t("counts"), t("files"), canBuild && t("actions")], el("tbody", {}, ...rows)),
    );
  };

  const schedulePoll = (): void => {
    window.clearTimeout(pollTimer);
    if (left || !versions.some(isRunning)) return;
    pollTimer = window.setTimeout(async () => {
      try {
        versions = listOf(await api<DatasetVersion[]>("GET", `/api/projects/${project.id}/datasets/`));
      } catch {
        schedulePoll(); // a dropped request: try again on the next tick
        return;
      }
      if (left) return;
      drawList();
      drawCompare();
      if (!versions.some(isRunning)) form?.buildEnded();
      if (selected !== null) void showDetail(selected, false);
      schedulePoll();
    }, POLL_MS);
  };

  // ---- one version ----
  const stepsList = (steps: StepReport[]): HTMLElement => {
    if (!steps.length) return el("p", { className: "hint", text: t("noSteps") });
    return el(
      "ul",
      { className: "steps" },
      ...steps.map((step) => {
        const details = step.details ?? {};
        const counts = step.name === "redact" ? t("changed", { count: formatNumber(step.changed ?? 0) }) : t("removed", { count: formatNumber(step.removed ?? 0) });
        const extra: string[] = [];
        if (typeof details.threshold === "number") extra.push(t("threshold", { value: formatNumber(details.threshold) }));
        if (step.name === "redact") {
          // Matches per kind ({"email": 3, "custom": 1}), in the form's words.
          for (const [kind, count] of Object.entries(details)) {
            if (typeof count === "number") extra.push(t("detailsOf", { name: redactionKindName(kind), count: formatNumber(count) }));
          }
        }
        // Dedup's examples: [kept task id, removed task id] pairs.
        const examples = Array.isArray(details.examples) ? details.examples.filter((pair): pair is [number, number] => Array.isArray(pair) && pair.length === 2 && pair.every((id) => typeof id === "number")) : [];
        return el(
          "li",
          { data: { step: step.name } },
          el("strong", { text: stepName(step.name) }),
          " ",
          el("span", { className: "step-counts", text: counts }),
          extra.length ? el("span", { className: "step-details", text: t("aside", { text: extra.join(", ") }) }) : null,
          examples.length ? el("small", { className: "step-examples", text: t("examples", { pairs: examples.slice(0, 3).map(([kept, removed]) => t("examplePair", { kept, removed })).join("; ") }) }) : null,
        );
      }),
    );
  };

  const countsTable = (version: DatasetVersion): HTMLElement | null => {
    const rows = splitCounts(version.counts);
    if (!rows.length) return null;
    const labels = [...new Set(rows.flatMap((row) => Object.keys(row.labels)))].sort();
    const head = el("tr", {}, el("th", { attrs: { scope: "col" }, text: t("label") }), ...rows.map((row) => el("th", { className: "num", attrs: { scope: "col" }, text: splitName(row.split) })));
    const body = el(
      "tbody",
      {},
      ...labels.map((label) => el("tr", {}, el("th", { attrs: { scope: "row" }, text: label }), ...rows.map((row) => el("td", { className: "num", text: formatNumber(row.labels[label] ?? 0) })))),
      el("tr", { className: "total" }, el("th", { attrs: { scope: "row" }, text: t("total") }), ...rows.map((row) => el("td", { className: "num", data: { split: row.split }, text: formatNumber(row.total) }))),
    );
    return el("div", { className: "table-wrap" }, el("table", { className: "data split-counts" }, el("thead", {}, head), body));
  };

  const filesTable = (version: DatasetVersion): HTMLElement => {
    const files = version.files ?? [];
    if (!files.length) return el("p", { className: "hint", text: t("noFiles") });
    const rows = files.map((file) => {
      const splitText = file.split ? splitName(file.split) : t("allSplits");
      const query: Record<string, string> = { format: file.format };
      if (file.split) query.split = file.split;
      return el(
        "tr",
        { data: { format: file.format, split: file.split ?? "" } },
        el("th", { attrs: { scope: "row" }, text: formatLabel(file.format) }),
        el("td", { text: splitText }),
        el("td", { className: "num", text: formatBytes(file.bytes) }),
        el("td", {}, el("code", { className: "sha", title: file.sha256, text: file.sha256.slice(0, 12) })),
        el("td", {}, apiDownloadLink(`/api/datasets/${version.id}/download`, query, t("download"), t("downloadLabel", { format: formatLabel(file.format), split: splitText }))),
      );
    });
    return dataTable("data files", [t("format"), t("split"), t("size"), t("sha256"), t("download")], el("tbody", {}, ...rows));
  };

  const cardView = (card: string | null): HTMLElement => {
    if (!card) return el("p", { className: "hint", text: t("noCard") });
    const { meta, body } = splitFrontMatter(card);
    return el(
      "article",
      { className: "dataset-card markdown", attrs: { "aria-label": t("card") } },
      meta ? el("details", { className: "card-meta" }, el("summary", { text: t("metadata") }), el("pre", {}, el("code", { text: meta }))) : null,
      ...renderMarkdown(body),
    );
  };

  async function showDetail(id: number, scroll: boolean): Promise<void> {
    const ticket = ++detailTicket;
    let version: DatasetVersion;
    try {
      version = await api<DatasetVersion>("GET", `/api/datasets/${id}/`);
    } catch (error) {
      if (left || ticket !== detailTicket) return;
      detail.hidden = false;
      replaceChildren(detail, el("p", { className: "notice error", attrs: { role: "alert" }, text: t("detailFailed", { reason: (error as Error).message }) }));
      return;
    }
    if (left || ticket !== detailTicket || selected !== id) return;
    const parent = parentId(version.parent);
    const fraction = isRunning(version) ? progressFraction(version.progress) : null;
    const bar = isRunning(version) ? el("progress", { attrs: { max: "1", "aria-label": t("progressLabel", { name: version.name }) } }) : null;
    if (bar && fraction !== null) bar.value = fraction;
    const reason = version.status === "failed" ? errorText(version.error) : "";
    detail.hidden = false;
    detail.dataset.versionId = String(version.id);
    detail.dataset.status = version.status;
    const counts = countsTable(version);
    replaceChildren(
      detail,
      el("h3", { attrs: { id: "version-detail-title" }, text: t("detailHeading", { name: version.name }) }),
      el(
        "p",
        { className: "version-meta" },
        el("span", { className: `status-pill status-${version.status}`, text: statusText(version.status) }),
        bar ? " " : null,
        bar,
        " ",
        [formatDateTime(version.created_at), personName(version.created_by, ctx.settings.user)].filter(Boolean).join(" · "),
      ),
      reason ? el("p", { className: "notice error", text: t("failedBecause", { reason }) }) : null,
      parent ? el("p", { className: "hint", text: t("parent", { id: parent }) }) : null,
      // The loop goes on in the Training tab, with this version chosen in its launch form.
      canBuild && version.status === "completed"
        ? el("p", {}, el("a", { className: "train-link", attrs: { href: `/projects/${project.id}/training/?view=launch&dataset=${version.id}` }, text: t("train") }))
        : null,
      counts ? el("h4", { text: t("perLabel") }) : null,
      counts,
      el("h4", { text: t("steps") }),
      stepsList(version.steps ?? []),
      el("h4", { text: t("files") }),
      filesTable(version),
      el("h4", { text: t("card") }),
      cardView(version.card),
    );
    if (scroll) detail.scrollIntoView({ block: "nearest" });
  }

  function select(id: number): void {
    selected = id;
    const params = new URLSearchParams(location.search);
    params.set("version", String(id));
    history.replaceState(null, "", `${location.pathname}?${params}`);
    drawList();
    void showDetail(id, true);
  }

  async function removeVersion(version: DatasetVersion): Promise<void> {
    const removed = await confirmAction({
      title: t("deleteTitle", { name: version.name }),
      message: t("deleteMessage"),
      confirmLabel: t("delete"),
      cancelLabel: t("cancel"),
      action: async () => {
        await api<null>("DELETE", `/api/datasets/${version.id}/`);
      },
    });
    if (!removed || left) return;
    versions = versions.filter((item) => item.id !== version.id);
    if (selected === version.id) {
      selected = null;
      detail.hidden = true;
    }
    drawList();
    drawCompare();
  }

  // ---- compare ----
  const fromSelect = el("select", { attrs: { id: "compare-from", name: "from" } });
  const toSelect = el("select", { attrs: { id: "compare-to", name: "to" } });
  const compareButton = el("button", { attrs: { type: "submit" }, text: t("compareButton") });
  const compareForm = el(
    "form",
    { className: "compare-form" },
    el("label", { className: "field", attrs: { for: "compare-from" } }, el("span", { className: "label", text: t("from") }), fromSelect),
    el("label", { className: "field", attrs: { for: "compare-to" } }, el("span", { className: "label", text: t("to") }), toSelect),
    el("div", { className: "actions" }, compareButton),
  );
  const compareSection = el(
    "section",
    { className: "card datasets-section compare", attrs: { "aria-labelledby": "compare-title" } },
    el("h3", { attrs: { id: "compare-title" }, text: t("compare") }),
    el("p", { className: "hint", text: t("compareHint") }),
    compareForm,
    compareBody,
  );

  function drawCompare(): void {
    const done = versions.filter((version) => version.status === "completed");
    compareSection.hidden = false;
    compareForm.hidden = done.length < 2;
    if (done.length < 2) {
      replaceChildren(compareBody, el("p", { className: "hint", text: t("compareNeedsTwo") }));
      return;
    }
    const keep = [fromSelect.value, toSelect.value];
    const options = (): HTMLOptionElement[] => done.map((version) => el("option", { attrs: { value: String(version.id) }, text: `${version.name} (#${version.id})` }));
    replaceChildren(fromSelect, ...options());
    replaceChildren(toSelect, ...options());
    // Newest first in the list: compare the one before the newest with the newest.
    fromSelect.value = keep[0] && done.some((v) => String(v.id) === keep[0]) ? keep[0] : String(done[1].id);
    toSelect.value = keep[1] && done.some((v) => String(v.id) === keep[1]) ? keep[1] : String(done[0].id);
    if (compareBody.dataset.state !== "ready") replaceChildren(compareBody);
  }

  compareForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (fromSelect.value === toSelect.value) {
      replaceChildren(compareBody, el("p", { className: "notice error", text: t("sameVersion") }));
      return;
    }
    compareButton.disabled = true;
    compareBody.dataset.state = "loading";
    replaceChildren(compareBody, el("p", { className: "notice", text: t("comparing") }));
    try {
      const answer = await api<unknown>("GET", `/api/datasets/${Number(toSelect.value)}/diff?other=${Number(fromSelect.value)}`);
      const diff = readDiff(answer);
      const part = (key: "added" | "removed" | "relabeled", labelKey: Key): HTMLElement =>
        el(
          "div",
          { className: "diff-part", data: { part: key } },
          el("dt", { text: t(labelKey) }),
          el("dd", {}, el("span", { className: "diff-count", text: formatNumber(diff[key].count) }), diff[key].sample.length ? el("small", { className: "diff-sample", text: `${t("sample", { ids: diff[key].sample.join(", ") })}${diff[key].count > diff[key].sample.length ? ` ${t("more")}` : ""}` }) : null),
        );
      replaceChildren(compareBody, el("dl", { className: "diff" }, part("added", "added"), part("removed", "removedTasks"), part("relabeled", "relabeled")));
      compareBody.dataset.state = "ready";
    } catch (error) {
      replaceChildren(compareBody, el("p", { className: "notice error", attrs: { role: "alert" }, text: t("compareFailed", { reason: (error as Error).message }) }));
      compareBody.dataset.state = "failed";
    } finally {
      compareButton.disabled = false;
    }
  });

  // ---- the page ----
  const page = el(
    "div",
    { className: "datasets-page", data: { state: "loading" } },
    el("h2", { className: "visually-hidden", text: t("heading") }),
    el("section", { className: "datasets-section", attrs: { "aria-labelledby": "versions-title" } }, el("h3", { attrs: { id: "versions-title" }, text: t("versions") }), el("p", { className: "hint", text: t("versionsHint") }), listBody),
    detail,
    compareSection,
  );
  document.title = `${t("heading")} · ${project.title} · Tessera`;
  replaceChildren(ctx.root, page);

  const formats = canBuild ? loadFormats(project.id) : Promise.resolve([]);
  let listed: DatasetVersion[] | { results: DatasetVersion[] } | null = null;
  try {
    listed = await api<DatasetVersion[] | { results: DatasetVersion[] }>("GET", `/api/projects/${project.id}/datasets/`);
  } catch (error) {
    replaceChildren(listBody, el("p", { className: "notice error", attrs: { role: "alert" }, text: t("loadFailed", { reason: (error as Error).message }) }));
  }
  if (left) return () => undefined;
  if (listed) {
    versions = listOf(listed);
    drawList();
  }
  drawCompare();
  if (canBuild) {
    const choices = await formats;
    if (left) return () => undefined;
    form = buildForm(project, choices, (version) => {
      versions = [version, ...versions.filter((item) => item.id !== version.id)];
      select(version.id);
      drawCompare();
      schedulePoll();
    });
    page.append(form.element);
  }
  if (selected !== null) void showDetail(selected, false);
  schedulePoll();
  page.dataset.state = "ready";

  return () => {
    left = true;
    window.clearTimeout(pollTimer);
    form?.stop();
  };
}
