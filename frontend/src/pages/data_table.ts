// The project's Data tab: its tasks in a server-side paged table, sortable and filterable (the filter
// lives in the URL, so a view is a link), a column chooser, a selection of rows or of every task that
// matches, bulk actions on it, and a read-only view of one task. Filters are the API's own JSON
// (task_filters.ts), so the table, its actions and the export of a selection ask for the same tasks.

import { api, ApiError } from "../api";
import { options, parseConfig, walk } from "../config";
import { el, replaceChildren } from "../dom";
import { catalogue, formatDateTime, formatNumber } from "../locale";
import { roleAtLeast } from "../types";
import type { ProjectContext } from "./project";
import { columnKind, type FilterRow, OPERATORS, readQuery, rowValue, type TableQuery, toFilterJson, writeQuery } from "./task_filters";
import { saveBlob } from "../download";
import { dispositionName } from "./project_export";
import { openTaskView } from "./task_view";
import "./data_table.css";

const t = catalogue(
  {
    search: "Search",
    searchIn: "Search in",
    searchPlaceholder: "Words to find…",
    filters: "Filters",
    buildDataset: "Build a dataset from this filter",
    filtersCount: "Filters ({n})",
    addFilter: "Add filter",
    removeFilter: "Remove this filter",
    apply: "Apply",
    clear: "Clear",
    matchAll: "Match all",
    matchAny: "Match any",
    columns: "Columns",
    column: "Column",
    operator: "Condition",
    value: "Value",
    rangeHint: "from..to",
    selectPage: "Select the tasks on this page",
    selectRow: "Select task {id}",
    selectedOnPage: "{n} selected.",
    selectAllMatching: "Select all {n} tasks that match",
    allMatchingSelected: "All {n} matching tasks are selected.",
    allMatchingSelectedCapped: "All matching tasks (more than {n}) are selected.",
    clearSelection: "Clear selection",
    actions: "Actions",
    deleteTasks: "Delete tasks",
    deleteAnnotations: "Delete annotations",
    deletePredictions: "Delete predictions",
    acceptAnnotations: "Accept annotations",
    confirmAccept: "Accept every submitted annotation waiting for review on {n} tasks?",
    confirmAcceptAll: "Accept every submitted annotation waiting for review on the tasks that match the filter?",
    accepted: "Accepted {accepted} annotations; {skipped} left for review (your own, held by another reviewer, or blocked by open comments).",
    exportSelection: "Export selection",
    exporting: "Exporting the selection…",
    exported: "The export is downloaded.",
    exportFailed: "The export failed: {reason}",
    confirmAction: "{action}: this changes {n} tasks and cannot be undone.",
    confirmActionAll: "{action}: this changes every task that matches the filter and cannot be undone.",
    confirm: "Confirm",
    cancel: "Cancel",
    done: "Done: {n} tasks processed.",
    empty: "No tasks match.",
    emptyProject: "This project has no tasks yet.",
    importLink: "Import tasks",
    page: "{from}–{to} of {total}",
    pageCapped: "{from}–{to} of more than {total}",
    previous: "Previous page",
    next: "Next page",
    pageSize: "Rows per page",
    loadFailed: "The tasks could not be loaded: {reason}",
    badFilter: "Filter {n}: {reason}",
    badValue: "enter a value",
    badRange: "enter a range as from..to",
    sortBy: "Sort by {column}",
    id: "ID",
    state: "State",
    total_annotations: "Annotations",
    cancelled_annotations: "Skips",
    total_predictions: "Predictions",
    annotators: "Annotators",
    labels: "Labels",
    predictions_model_versions: "Model version",
    predictions_score: "Prediction score",
    created_at: "Created",
    updated_at: "Updated",
    unlabeled: "Unlabeled",
    labeled: "Labeled",
    skipped: "Skipped",
    op_equal: "is",
    op_not_equal: "is not",
    op_less: "less than",
    op_greater: "greater than",
    op_less_or_equal: "at most",
    op_greater_or_equal: "at least",
    op_in: "between",
    op_contains: "contains",
    op_not_contains: "does not contain",
    op_search: "matches the words",
    op_empty: "is empty",
    yes: "yes",
    no: "no",
    user: "user #{id}",
  },
  {
    search: "検索",
    searchIn: "検索する項目",
    searchPlaceholder: "検索する語…",
    filters: "フィルター",
    buildDataset: "このフィルターでデータセットを作成",
    filtersCount: "フィルター（{n}）",
    addFilter: "フィルターを追加",
    removeFilter: "このフィルターを削除",
    apply: "適用",
    clear: "クリア",
    matchAll: "すべてに一致",
    matchAny: "いずれかに一致",
    columns: "表示列",
    column: "列",
    operator: "条件",
    value: "値",
    rangeHint: "開始..終了",
    selectPage: "このページのタスクを選択",
    selectRow: "タスク {id} を選択",
    selectedOnPage: "{n} 件を選択中。",
    selectAllMatching: "条件に一致する {n} 件のタスクをすべて選択",
    allMatchingSelected: "条件に一致する {n} 件のタスクをすべて選択しています。",
    allMatchingSelectedCapped: "条件に一致するタスク（{n} 件以上）をすべて選択しています。",
    clearSelection: "選択を解除",
    actions: "操作",
    deleteTasks: "タスクを削除",
    deleteAnnotations: "アノテーションを削除",
    deletePredictions: "予測を削除",
    acceptAnnotations: "アノテーションを承認",
    confirmAccept: "{n} 件のタスクでレビュー待ちの提出済みアノテーションをすべて承認しますか？",
    confirmAcceptAll: "フィルターに一致するタスクでレビュー待ちの提出済みアノテーションをすべて承認しますか？",
    accepted: "{accepted} 件のアノテーションを承認しました。{skipped} 件はレビュー待ちのままです（自分のもの、他のレビュアーが保留中、または未解決のコメントがあるもの）。",
    exportSelection: "選択をエクスポート",
    exporting: "選択したタスクをエクスポートしています…",
    exported: "エクスポートをダウンロードしました。",
    exportFailed: "エクスポートに失敗しました: {reason}",
    confirmAction: "{action}: {n} 件のタスクが変更されます。元に戻せません。",
    confirmActionAll: "{action}: フィルターに一致するすべてのタスクが変更されます。元に戻せません。",
    confirm: "実行",
    cancel: "キャンセル",
    done: "完了: {n} 件のタスクを処理しました。",
    empty: "一致するタスクはありません。",
    emptyProject: "このプロジェクトにはまだタスクがありません。",
    importLink: "タスクをインポート",
    page: "{total} 件中 {from}–{to} 件",
    pageCapped: "{total} 件以上中 {from}–{to} 件",
    previous: "前のページ",
    next: "次のページ",
    pageSize: "1ページの行数",
    loadFailed: "タスクを読み込めませんでした: {reason}",
    badFilter: "フィルター {n}: {reason}",
    badValue: "値を入力してください",
    badRange: "範囲を 開始..終了 の形で入力してください",
    sortBy: "{column} で並べ替え",
    id: "ID",
    state: "状態",
    total_annotations: "アノテーション数",
    cancelled_annotations: "スキップ数",
    total_predictions: "予測数",
    annotators: "アノテーター",
    labels: "ラベル",
    predictions_model_versions: "モデルのバージョン",
    predictions_score: "予測スコア",
    created_at: "作成日時",
    updated_at: "更新日時",
    unlabeled: "未ラベル",
    labeled: "ラベル済み",
    skipped: "スキップ",
    op_equal: "が次と等しい",
    op_not_equal: "が次と等しくない",
    op_less: "が次より小さい",
    op_greater: "が次より大きい",
    op_less_or_equal: "が次以下",
    op_greater_or_equal: "が次以上",
    op_in: "が次の範囲内",
    op_contains: "が次を含む",
    op_not_contains: "が次を含まない",
    op_search: "が次の語に一致",
    op_empty: "が空",
    yes: "はい",
    no: "いいえ",
    user: "ユーザー #{id}",
  },
);

type Key = Parameters<typeof t>[0];

interface TaskRow {
  id: number;
  inner_id: number;
  data: Record<string, unknown>;
  is_labeled: boolean;
  total_annotations: number;
  cancelled_annotations: number;
  total_predictions: number;
  created_at: string | null;
  updated_at: string | null;
  annotations?: { completed_by: number | null; was_cancelled: boolean; result: { value?: Record<string, unknown> }[] }[];
  predictions?: { model_version: string; score: number | null }[];
  // Derived from the page's annotations and predictions (rowFacts).
  annotators?: number[];
  labels?: string[];
  predictions_model_versions?: string[];
  predictions_score?: number | null;
}

const LABEL_KEYS = ["choices", "labels", "rectanglelabels", "polygonlabels", "paragraphlabels", "taxonomy"];

/** Who answered, the labels present, and the predictions' versions and best score, from the row's
 * annotations and predictions (the task page carries them, as Label Studio's does). */
function rowFacts(row: TaskRow): TaskRow {
  const annotators = new Set<number>();
  const labels = new Set<string>();
  for (const annotation of row.annotations ?? []) {
    if (annotation.was_cancelled) continue;
    if (annotation.completed_by !== null) annotators.add(annotation.completed_by);
    for (const region of annotation.result ?? []) {
      for (const key of LABEL_KEYS) {
        const values = region.value?.[key];
        if (Array.isArray(values)) for (const value of values) if (typeof value === "string") labels.add(value);
      }
    }
  }
  const predictions = row.predictions ?? [];
  const scores = predictions.map((prediction) => prediction.score).filter((score): score is number => typeof score === "number");
  return {
    ...row,
    annotators: [...annotators],
    labels: [...labels].sort(),
    predictions_model_versions: [...new Set(predictions.map((prediction) => prediction.model_version).filter(Boolean))],
    predictions_score: scores.length ? Math.max(...scores) : null,
  };
}

interface TaskPage {
  tasks: TaskRow[];
  total: number;
  total_annotations: number;
  total_predictions: number;
  total_exact?: boolean;
}

interface Member {
  user: { id: number; email: string };
}

const FIXED_COLUMNS = [
  "state",
  "total_annotations",
  "cancelled_annotations",
  "total_predictions",
  "annotators",
  "labels",
  "predictions_model_versions",
  "predictions_score",
  "created_at",
  "updated_at",
] as const;
const SORTABLE = new Set(["id", "total_annotations", "cancelled_annotations", "total_predictions", "predictions_score", "created_at", "updated_at"]);
const HIDDEN_BY_DEFAULT = new Set(["cancelled_annotations", "predictions_model_versions", "predictions_score", "updated_at"]);
const PAGE_SIZES = [25, 50, 100];
const ACTIONS = [
  { action: "delete_tasks", label: "deleteTasks" },
  { action: "delete_annotations", label: "deleteAnnotations" },
  { action: "delete_predictions", label: "deletePredictions" },
] as const;

export default async function dataTable(ctx: ProjectContext): Promise<() => void> {
  const project = ctx.project;
  const manager = roleAtLeast(ctx.settings.role, "manager");
  const dataColumns = project.data_variables.length ? project.data_variables : ["text"];
  const labelValues = configLabels(project.label_config);
  const storageKey = `tessera:columns:${project.id}`;
  const hidden = new Set<string>(JSON.parse(localStorage.getItem(storageKey) ?? "null") ?? [...HIDDEN_BY_DEFAULT]);
  let query: TableQuery = readQuery(location.search);
  let pageSize = Number(localStorage.getItem("tessera:page-size")) || 50;
  let rows: TaskRow[] = [];
  let total = 0;
  let totalExact = true;
  const selected = new Set<number>();
  let allMatching = false;
  let loading = 0;
  const members = new Map<number, string>();

  // Filters being edited (applied with the Apply button or Enter), and the search box.
  let draft: FilterRow[] = query.rows.map((row) => ({ ...row }));
  const searchField = el("select", { attrs: { "aria-label": t("searchIn") } });
  for (const name of dataColumns) searchField.append(el("option", { attrs: { value: `data.${name}` }, text: name }));
  const searchBox = el("input", { attrs: { type: "search", placeholder: t("searchPlaceholder"), "aria-label": t("search") } });
  const searchRow = query.rows.find((row) => row.operator === "search");
  if (searchRow) {
    searchBox.value = searchRow.value;
    searchField.value = searchRow.column;
  }
  const filterToggle = el("button", { attrs: { type: "button", "aria-expanded": "false", "aria-controls": "filter-panel" } });
  const filterPanel = el("div", { className: "filter-panel card", attrs: { id: "filter-panel", hidden: "" } });
  const columnsToggle = el("button", { attrs: { type: "button", "aria-expanded": "false", "aria-controls": "column-panel" }, text: t("columns") });
  const columnPanel = el("fieldset", { className: "column-panel card", attrs: { id: "column-panel", hidden: "" } });
  const status = el("p", { className: "notice", attrs: { role: "status" } });
  const selectionBar = el("div", { className: "selection-bar", attrs: { hidden: "" } });
  const tableWrap = el("div", { className: "table-wrap" });
  // Managers take the current filter to the Datasets tab's build form (it reads the same ?f=&c= query).
  const datasetLink = manager ? el("a", { className: "button dataset-link", attrs: { href: `/projects/${project.id}/datasets/`, hidden: "" }, text: t("buildDataset") }) : null;
  const pager = el("nav", { className: "pager", attrs: { "aria-label": t("page", { from: "", to: "", total: "" }) } });

  const toolbar = el(
    "div",
    { className: "table-toolbar" },
    el(
      "form",
      {
        className: "search",
        attrs: { role: "search" },
        on: {
          submit: (event) => {
            event.preventDefault();
            applySearch();
          },
        },
      },
      searchField,
      searchBox,
      el("button", { attrs: { type: "submit" }, text: t("search") }),
    ),
    filterToggle,
    columnsToggle,
    datasetLink,
  );
  replaceChildren(ctx.root, toolbar, filterPanel, columnPanel, selectionBar, status, tableWrap, pager);

  filterToggle.addEventListener("click", () => toggle(filterToggle, filterPanel));
  columnsToggle.addEventListener("click", () => toggle(columnsToggle, columnPanel));

  function toggle(button: HTMLElement, panel: HTMLElement): void {
    const open = panel.hasAttribute("hidden");
    if (open) panel.removeAttribute("hidden");
    else panel.setAttribute("hidden", "");
    button.setAttribute("aria-expanded", String(open));
    if (open) panel.querySelector<HTMLElement>("select, input, button")?.focus();
  }

  function columnLabel(column: string): string {
    if (column.startsWith("data.")) return column.slice(5);
    if (column.startsWith("labels:")) return `${t("labels")} (${column.slice(7)})`;
    return t(column as Key);
  }

  function filterColumns(): string[] {
    return [
      "id",
      ...dataColumns.map((name) => `data.${name}`),
      "state",
      "labels",
      "annotators",
      "total_annotations",
      "cancelled_annotations",
      "total_predictions",
      "predictions_model_versions",
      "predictions_score",
      "created_at",
      "updated_at",
    ];
  }

  function valueInput(row: FilterRow, index: number): HTMLElement {
    const kind = columnKind(row.column);
    const label = { "aria-label": `${t("value")} ${index + 1}` };
    const bind = (input: HTMLInputElement | HTMLSelectElement) => {
      input.addEventListener("change", () => (row.value = input.value));
      input.addEventListener("input", () => (row.value = input.value));
      return input;
    };
    if (row.operator === "empty") {
      const select = el("select", { attrs: label }, el("option", { attrs: { value: "true" }, text: t("yes") }), el("option", { attrs: { value: "false" }, text: t("no") }));
      select.value = row.value === "false" ? "false" : "true";
      row.value = select.value;
      return bind(select);
    }
    if (kind === "state") {
      const select = el("select", { attrs: label });
      for (const state of ["unlabeled", "labeled", "skipped"] as const) select.append(el("option", { attrs: { value: state }, text: t(state) }));
      select.value = row.value || "unlabeled";
      row.value = select.value;
      return bind(select);
    }
    if (kind === "annotators" && members.size) {
      const select = el("select", { attrs: label });
      for (const [id, email] of members) select.append(el("option", { attrs: { value: String(id) }, text: email }));
      if (row.value) select.value = row.value;
      row.value = select.value;
      return bind(select);
    }
    const input = el("input", {
      attrs: {
        ...label,
        type: row.operator !== "in" && (kind === "integer" || kind === "score" || kind === "annotators") ? "number" : "text",
        placeholder: row.operator === "in" ? t("rangeHint") : kind === "datetime" ? "2026-01-31" : "",
      },
    });
    if (kind === "labels") {
      input.setAttribute("list", "label-values");
    }
    input.value = row.value;
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        row.value = input.value;
        applyFilters();
      }
    });
    return bind(input);
  }

  function renderFilterPanel(): void {
    const list = el("ol", { className: "filter-rows" });
    draft.forEach((row, index) => {
      const columnSelect = el("select", { attrs: { "aria-label": `${t("column")} ${index + 1}` } });
      for (const column of filterColumns()) columnSelect.append(el("option", { attrs: { value: column }, text: columnLabel(column) }));
      columnSelect.value = row.column;
      const operatorSelect = el("select", { attrs: { "aria-label": `${t("operator")} ${index + 1}` } });
      for (const operator of OPERATORS[columnKind(row.column) ?? "data"]) {
        operatorSelect.append(el("option", { attrs: { value: operator }, text: t(`op_${operator}` as Key) }));
      }
      operatorSelect.value = row.operator;
      columnSelect.addEventListener("change", () => {
        row.column = columnSelect.value;
        row.operator = OPERATORS[columnKind(row.column) ?? "data"][0];
        row.value = "";
        renderFilterPanel();
      });
      operatorSelect.addEventListener("change", () => {
        row.operator = operatorSelect.value;
        renderFilterPanel();
      });
      list.append(
        el(
          "li",
          { className: "filter-row" },
          columnSelect,
          operatorSelect,
          valueInput(row, index),
          el("button", {
            className: "icon",
            attrs: { type: "button", "aria-label": t("removeFilter"), title: t("removeFilter") },
            text: "×",
            on: {
              click: () => {
                draft.splice(index, 1);
                renderFilterPanel();
              },
            },
          }),
        ),
      );
    });
    const conjunction = el("select", { attrs: { "aria-label": t("matchAll") } }, el("option", { attrs: { value: "and" }, text: t("matchAll") }), el("option", { attrs: { value: "or" }, text: t("matchAny") }));
    conjunction.value = query.conjunction;
    conjunction.addEventListener("change", () => (query.conjunction = conjunction.value === "or" ? "or" : "and"));
    const datalist = el("datalist", { attrs: { id: "label-values" } }, ...labelValues.map((value) => el("option", { attrs: { value } })));
    replaceChildren(
      filterPanel,
      list,
      datalist,
      el(
        "div",
        { className: "actions" },
        el("button", {
          attrs: { type: "button" },
          text: t("addFilter"),
          on: {
            click: () => {
              draft.push({ column: `data.${dataColumns[0]}`, operator: "contains", value: "" });
              renderFilterPanel();
              filterPanel.querySelectorAll<HTMLInputElement>(".filter-row input")[draft.length - 1]?.focus();
            },
          },
        }),
        draft.length > 1 ? conjunction : null,
        el("button", { className: "primary", attrs: { type: "button" }, text: t("apply"), on: { click: () => applyFilters() } }),
        el("button", {
          attrs: { type: "button" },
          text: t("clear"),
          on: {
            click: () => {
              draft = [];
              searchBox.value = "";
              applyFilters();
            },
          },
        }),
      ),
    );
    filterToggle.textContent = query.rows.length ? t("filtersCount", { n: query.rows.length }) : t("filters");
    if (datasetLink) {
      datasetLink.hidden = !query.rows.length;
      datasetLink.setAttribute("href", `/projects/${project.id}/datasets/${writeQuery({ rows: query.rows, conjunction: query.conjunction, ordering: "", page: 1 })}`);
    }
  }

  function renderColumnPanel(): void {
    const all = ["id", ...dataColumns.map((name) => `data.${name}`), ...FIXED_COLUMNS];
    replaceChildren(
      columnPanel,
      el("legend", { text: t("columns") }),
      ...all.map((column) => {
        const box = el("input", { attrs: { type: "checkbox", value: column } });
        box.checked = !hidden.has(column);
        box.disabled = column === "id";
        box.addEventListener("change", () => {
          if (box.checked) hidden.delete(column);
          else hidden.add(column);
          localStorage.setItem(storageKey, JSON.stringify([...hidden]));
          renderTable();
        });
        return el("label", { className: "check" }, box, columnLabel(column));
      }),
    );
  }

  function applySearch(): void {
    draft = draft.filter((row) => row.operator !== "search");
    if (searchBox.value.trim()) draft.unshift({ column: searchField.value, operator: "search", value: searchBox.value.trim() });
    applyFilters();
  }

  function applyFilters(): void {
    for (const [index, row] of draft.entries()) {
      const read = rowValue(row);
      if ("error" in read) {
        status.classList.add("error");
        status.textContent = t("badFilter", { n: index + 1, reason: t(read.error === "range" ? "badRange" : "badValue") });
        return;
      }
    }
    query = { ...query, rows: draft.map((row) => ({ ...row })), page: 1 };
    clearSelection();
    history.replaceState(null, "", location.pathname + writeQuery(query));
    renderFilterPanel();
    void load();
  }

  function visibleColumns(): string[] {
    return ["id", ...dataColumns.map((name) => `data.${name}`), ...FIXED_COLUMNS].filter((column) => !hidden.has(column));
  }

  function stateOf(row: TaskRow): "labeled" | "skipped" | "unlabeled" {
    if (row.is_labeled) return "labeled";
    if (row.cancelled_annotations > 0 && row.total_annotations === 0) return "skipped";
    return "unlabeled";
  }

  function cell(row: TaskRow, column: string): HTMLTableCellElement {
    if (column === "id") return el("td", { className: "num" }, el("button", { className: "link", attrs: { type: "button" }, text: `#${row.inner_id ?? row.id}`, on: { click: () => void open(row.id) } }));
    if (column.startsWith("data.")) {
      const value = row.data?.[column.slice(5)];
      const text = value === undefined || value === null ? "" : typeof value === "string" ? value : JSON.stringify(value);
      return el("td", { className: "data-cell", attrs: { title: text.slice(0, 500) }, text: text.length > 160 ? `${text.slice(0, 160)}…` : text });
    }
    if (column === "state") {
      const state = stateOf(row);
      return el("td", {}, el("span", { className: `state state-${state}`, text: t(state) }));
    }
    if (column === "annotators") return el("td", { text: (row.annotators ?? []).map((id) => members.get(id) ?? t("user", { id })).join(", ") });
    if (column === "labels") return el("td", {}, ...(row.labels ?? []).map((label) => el("span", { className: "chip", text: label })));
    if (column === "predictions_model_versions") return el("td", { text: (row.predictions_model_versions ?? []).join(", ") });
    if (column === "predictions_score") return el("td", { className: "num", text: row.predictions_score == null ? "" : row.predictions_score.toFixed(3) });
    if (column === "created_at" || column === "updated_at") return el("td", { text: formatDateTime(row[column]) });
    return el("td", { className: "num", text: formatNumber(Number(row[column as keyof TaskRow] ?? 0)) });
  }

  function header(column: string): HTMLTableCellElement {
    const numeric = !column.startsWith("data.") && !["state", "annotators", "labels", "predictions_model_versions", "created_at", "updated_at"].includes(column);
    const th = el("th", { className: numeric ? "num" : "", attrs: { scope: "col" } });
    if (!SORTABLE.has(column)) {
      th.textContent = columnLabel(column);
      return th;
    }
    const descending = query.ordering === `-${column}`;
    const ascending = query.ordering === column;
    th.setAttribute("aria-sort", descending ? "descending" : ascending ? "ascending" : "none");
    th.append(
      el("button", {
        className: "sort",
        attrs: { type: "button", title: t("sortBy", { column: columnLabel(column) }) },
        text: `${columnLabel(column)}${descending ? " ↓" : ascending ? " ↑" : ""}`,
        on: {
          click: () => {
            query = { ...query, ordering: ascending ? `-${column}` : descending ? "" : column, page: 1 };
            history.replaceState(null, "", location.pathname + writeQuery(query));
            void load();
          },
        },
      }),
    );
    return th;
  }

  function renderTable(): void {
    const columns = visibleColumns();
    if (!rows.length) {
      const filtered = query.rows.length > 0;
      replaceChildren(
        tableWrap,
        el(
          "div",
          { className: "empty" },
          el("p", { text: filtered ? t("empty") : t("emptyProject") }),
          !filtered && manager ? el("a", { className: "button primary", attrs: { href: `/projects/${project.id}/import/` }, text: t("importLink") }) : null,
        ),
      );
      return;
    }
    const pageBox = el("input", { attrs: { type: "checkbox", "aria-label": t("selectPage") } });
    pageBox.checked = allMatching || rows.every((row) => selected.has(row.id));
    pageBox.addEventListener("change", () => {
      for (const row of rows) {
        if (pageBox.checked) selected.add(row.id);
        else selected.delete(row.id);
      }
      if (!pageBox.checked) allMatching = false;
      renderTable();
      renderSelection();
    });
    const body = el(
      "tbody",
      {},
      ...rows.map((row) => {
        const box = el("input", { attrs: { type: "checkbox", "aria-label": t("selectRow", { id: row.inner_id ?? row.id }) } });
        box.checked = allMatching ? !selected.has(row.id) : selected.has(row.id);
        box.addEventListener("change", () => {
          // With "all matching" chosen, the set holds the exceptions.
          if (box.checked !== allMatching) selected.add(row.id);
          else selected.delete(row.id);
          renderSelection();
        });
        const tr = el("tr", { data: { task: row.id } }, el("td", { className: "select" }, box), ...columns.map((column) => cell(row, column)));
        tr.addEventListener("dblclick", () => void open(row.id));
        return tr;
      }),
    );
    replaceChildren(
      tableWrap,
      el("table", { className: "data tasks" }, el("thead", {}, el("tr", {}, el("th", { className: "select", attrs: { scope: "col" } }, pageBox), ...columns.map(header))), body),
    );
  }

  function selectionCount(): number {
    return allMatching ? Math.max(0, total - selected.size) : selected.size;
  }

  function selectedItems(): Record<string, unknown> {
    return allMatching ? { all: true, excluded: [...selected] } : { all: false, included: [...selected] };
  }

  function clearSelection(): void {
    selected.clear();
    allMatching = false;
  }

  function renderSelection(): void {
    const count = selectionCount();
    if (!count && !allMatching) {
      selectionBar.setAttribute("hidden", "");
      replaceChildren(selectionBar);
      return;
    }
    selectionBar.removeAttribute("hidden");
    const pageAllSelected = !allMatching && rows.length > 0 && rows.every((row) => selected.has(row.id));
    const message = allMatching
      ? totalExact
        ? t("allMatchingSelected", { n: formatNumber(count) })
        : t("allMatchingSelectedCapped", { n: formatNumber(total) })
      : t("selectedOnPage", { n: formatNumber(count) });
    const exportHref = exportLink();
    replaceChildren(
      selectionBar,
      el("span", { text: message }),
      pageAllSelected && total > rows.length
        ? el("button", {
            className: "link",
            attrs: { type: "button" },
            text: t("selectAllMatching", { n: totalExact ? formatNumber(total) : `${formatNumber(total)}+` }),
            on: {
              click: () => {
                selected.clear();
                allMatching = true;
                renderTable();
                renderSelection();
              },
            },
          })
        : null,
      el("button", {
        className: "link",
        attrs: { type: "button" },
        text: t("clearSelection"),
        on: {
          click: () => {
            clearSelection();
            renderTable();
            renderSelection();
          },
        },
      }),
      el("span", { className: "spacer" }),
      exportHref ? el("button", { attrs: { type: "button" }, text: t("exportSelection"), on: { click: () => void exportSelection(exportHref) } }) : null,
      // Reviewers and above (everyone who sees this table) may accept a selection's annotations.
      el("button", { attrs: { type: "button" }, text: t("acceptAnnotations"), on: { click: () => void acceptSelection() } }),
      ...(manager
        ? ACTIONS.map(({ action, label }) =>
            el("button", { className: action === "delete_tasks" ? "danger" : "", attrs: { type: "button" }, text: t(label), on: { click: () => void runAction(action, t(label)) } }),
          )
        : []),
    );
  }

  /** The download of the selection; null when it cannot be put as one export request (tasks picked
   * out of an "any of" filter). */
  function exportLink(): string | null {
    const params = new URLSearchParams({ exportType: "JSON", download_all_tasks: "true" });
    if (allMatching) {
      const filters = toFilterJson(query.rows, query.conjunction);
      if (selected.size) {
        if (filters && filters.conjunction === "or" && filters.items.length > 1) return null;
        const excluded = { filter: "filter:tasks:id", operator: "not_in_list", type: "Number", value: [...selected] };
        params.set("filters", JSON.stringify({ conjunction: "and", items: [...(filters?.items ?? []), excluded] }));
      } else if (filters) {
        params.set("filters", JSON.stringify(filters));
      }
    } else {
      params.set("ids", [...selected].join(","));
    }
    return `/api/projects/${project.id}/export?${params.toString()}`;
  }

  async function exportSelection(href: string): Promise<void> {
    status.classList.remove("error");
    status.textContent = t("exporting");
    try {
      const response = await fetch(href, { credentials: "same-origin" });
      if (!response.ok) {
        const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
        throw new Error(body?.error?.message ?? `${response.status}`);
      }
      saveBlob(await response.blob(), dispositionName(response.headers.get("Content-Disposition")) ?? `project-${project.id}.json`);
      status.textContent = t("exported");
    } catch (error) {
      status.classList.add("error");
      status.textContent = t("exportFailed", { reason: (error as Error).message });
    }
  }

  async function runAction(action: string, label: string): Promise<void> {
    const count = selectionCount();
    const confirmed = await confirmDialog(allMatching && !totalExact ? t("confirmActionAll", { action: label }) : t("confirmAction", { action: label, n: formatNumber(count) }));
    if (!confirmed) return;
    const filters = toFilterJson(query.rows, query.conjunction);
    try {
      const answer = await api<{ processed: number }>("POST", `/api/projects/${project.id}/tasks/actions/`, {
        action,
        selectedItems: selectedItems(),
        ...(filters ? { filters } : {}),
      });
      clearSelection();
      status.classList.remove("error");
      status.textContent = t("done", { n: formatNumber(answer.processed) });
      await ctx.refreshProject();
      await load(false);
    } catch (error) {
      status.classList.add("error");
      status.textContent = (error as Error).message;
    }
  }

  async function acceptSelection(): Promise<void> {
    const count = selectionCount();
    const confirmed = await confirmDialog(allMatching && !totalExact ? t("confirmAcceptAll") : t("confirmAccept", { n: formatNumber(count) }));
    if (!confirmed) return;
    const filters = toFilterJson(query.rows, query.conjunction);
    try {
      const answer = await api<{ accepted: number; skipped: number }>("POST", `/api/projects/${project.id}/reviews/bulk`, {
        verdict: "accept",
        selectedItems: selectedItems(),
        ...(filters ? { filters } : {}),
      });
      clearSelection();
      status.classList.remove("error");
      status.textContent = t("accepted", { accepted: formatNumber(answer.accepted), skipped: formatNumber(answer.skipped) });
      await load(false);
    } catch (error) {
      status.classList.add("error");
      status.textContent = (error as Error).message;
    }
  }

  async function open(taskId: number): Promise<void> {
    const opener = document.activeElement as HTMLElement | null;
    await openTaskView(taskId, project, ctx.settings.imageOrigins, (id) => (id === null ? "—" : (members.get(id) ?? t("user", { id }))));
    opener?.focus();
  }

  function renderPager(): void {
    const from = rows.length ? (query.page - 1) * pageSize + 1 : 0;
    const to = (query.page - 1) * pageSize + rows.length;
    const sizes = el("select", { attrs: { "aria-label": t("pageSize") } }, ...PAGE_SIZES.map((size) => el("option", { attrs: { value: String(size) }, text: String(size) })));
    sizes.value = String(pageSize);
    sizes.addEventListener("change", () => {
      pageSize = Number(sizes.value);
      localStorage.setItem("tessera:page-size", String(pageSize));
      query = { ...query, page: 1 };
      void load();
    });
    const go = (page: number) => {
      query = { ...query, page };
      history.replaceState(null, "", location.pathname + writeQuery(query));
      void load();
    };
    replaceChildren(
      pager,
      el("span", { text: (totalExact ? t("page", { from: formatNumber(from), to: formatNumber(to), total: formatNumber(total) }) : t("pageCapped", { from: formatNumber(from), to: formatNumber(to), total: formatNumber(total) })) }),
      el("button", { attrs: { type: "button" }, text: "‹", title: t("previous"), on: { click: () => go(query.page - 1) } }),
      el("button", { attrs: { type: "button" }, text: "›", title: t("next"), on: { click: () => go(query.page + 1) } }),
      el("label", { className: "page-size" }, t("pageSize"), sizes),
    );
    const [previous, next] = pager.querySelectorAll("button");
    previous.setAttribute("aria-label", t("previous"));
    next.setAttribute("aria-label", t("next"));
    previous.disabled = query.page <= 1;
    next.disabled = to >= total && totalExact ? true : rows.length < pageSize;
  }

  async function load(showBusy = true): Promise<void> {
    const ticket = ++loading;
    if (showBusy) tableWrap.setAttribute("aria-busy", "true");
    const params = new URLSearchParams({ project: String(project.id), page: String(query.page), page_size: String(pageSize) });
    const filters = toFilterJson(query.rows, query.conjunction);
    if (filters) params.set("filters", JSON.stringify(filters));
    if (query.ordering) params.set("ordering", query.ordering);
    try {
      const answer = await api<TaskPage>("GET", `/api/tasks/?${params.toString()}`);
      if (ticket !== loading) return;
      rows = answer.tasks.map(rowFacts);
      total = answer.total;
      totalExact = answer.total_exact !== false;
      status.classList.remove("error");
      if (status.classList.contains("error")) status.textContent = "";
    } catch (error) {
      if (ticket !== loading) return;
      if (error instanceof ApiError && error.status === 404 && query.page > 1) {
        query = { ...query, page: 1 };
        return load(showBusy);
      }
      rows = [];
      status.classList.add("error");
      status.textContent = t("loadFailed", { reason: (error as Error).message });
    } finally {
      if (ticket === loading) tableWrap.removeAttribute("aria-busy");
    }
    renderTable();
    renderSelection();
    renderPager();
  }

  const onPop = () => {
    query = readQuery(location.search);
    draft = query.rows.map((row) => ({ ...row }));
    renderFilterPanel();
    void load();
  };
  window.addEventListener("popstate", onPop);

  renderFilterPanel();
  renderColumnPanel();
  void loadMembers(ctx.settings.organization?.id ?? null, members).then(() => {
    if (rows.length) renderTable();
  });
  await load();
  return () => window.removeEventListener("popstate", onPop);
}

async function loadMembers(organization: number | null, into: Map<number, string>): Promise<void> {
  if (organization === null) return;
  try {
    const answer = await api<{ results: Member[] }>("GET", `/api/organizations/${organization}/memberships/?page_size=1000&include_inactive=true`);
    for (const member of answer.results) into.set(member.user.id, member.user.email);
  } catch {
    // Reviewers may not list members: annotators are then shown by id.
  }
}

function configLabels(config: string): string[] {
  const values = new Set<string>();
  try {
    walk(parseConfig(config), (node) => {
      if (["choices", "labels", "rectanglelabels", "polygonlabels", "paragraphlabels"].includes(node.tag)) {
        for (const option of options(node)) values.add(option.value);
      }
    });
  } catch {
    // A config the browser cannot parse offers no suggestions; filtering still works by typing.
  }
  return [...values];
}

function confirmDialog(message: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ok = el("button", { className: "danger", attrs: { type: "button" }, text: t("confirm") });
    const cancel = el("button", { attrs: { type: "button" }, text: t("cancel") });
    const dialog = el("dialog", { className: "confirm", attrs: { "aria-describedby": "confirm-message" } }, el("p", { attrs: { id: "confirm-message" }, text: message }), el("div", { className: "actions" }, cancel, ok));
    document.body.append(dialog);
    let answer = false;
    ok.addEventListener("click", () => {
      answer = true;
      dialog.close();
    });
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(answer);
    });
    dialog.showModal();
    cancel.focus();
  });
}
