"""SQL for a ``TaskQuery`` (annotation/task_filters.py), on PostgreSQL or SQLite.

Every value travels as a parameter; table and column names are the models' own. The conditions are
written so that PostgreSQL can use the indexes made for them (migration 0007):

* a text condition on ``data.<field>`` (contains, search) is checked twice: first against the whole
  data as text, then exactly against the field. The first is the task's id among the project's
  search rows (``TaskSearchText``) whose text matches, which the trigram GIN index
  ``task_search_text_trgm`` answers (any field, any language: trigrams need no word segmentation, so
  Japanese is found), together with the tasks above the project's watermark, which may have no row
  yet and are matched on ``data::text`` directly: a ``UNION ALL`` inside one ``IN``, so that
  PostgreSQL joins on the ids instead of checking an ``OR`` on every task. Search rows hold exactly
  ``data::text`` (annotation/services/search_index.py keeps them), so the result is the same as a
  scan. The first check is skipped for a term holding a character that JSON escapes (``"``,
  ``\\``, control characters), whose text in ``data::text`` differs; such a search scans.
* a label condition is a containment ``labels @> '{"<control>": ["<label>"]}'`` (GIN index
  ``task_labels_gin``); a label without a control is one containment per control of the project.
* an annotator condition is an ``EXISTS`` on the annotation's (task, completed_by) index.
* sorted pages walk ``(project_id, total_annotations, id)`` or the inner_id index.

SQLite has neither index type: labels are read with ``json_each`` and text with ``LIKE`` (case
folding for ASCII only), each a scan of the project's tasks.
"""

import json
from typing import Any

from annotation.models import Annotation, Prediction, Task, TaskSearchText
from annotation.task_filters import Condition, Ordering, TaskQuery

TASK = Task._meta.db_table
SEARCH = TaskSearchText._meta.db_table
ANNOTATION = Annotation._meta.db_table
PREDICTION = Prediction._meta.db_table


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _json_escapes(term: str) -> bool:
    return any(character in '"\\' or ord(character) < 0x20 for character in term)


class _Compiler:
    def __init__(
        self,
        *,
        vendor: str,
        adapt_datetime,
        controls: tuple[str, ...],
        alias: str,
        prefilter: bool = True,
        search: tuple[int, int] | None = None,
    ):
        self.postgres = vendor == "postgresql"
        self.prefilter = prefilter
        self.search = search
        self.adapt_datetime = adapt_datetime
        self.controls = controls
        self.t = alias
        self.params: list[Any] = []

    # -- pieces -------------------------------------------------------------------------------

    def param(self, value: Any) -> str:
        self.params.append(value)
        return "%s"

    def params_list(self, values) -> str:
        return ", ".join(self.param(value) for value in values)

    def column(self, name: str) -> str:
        return f'{self.t}."{name}"'

    def ilike(self, expression: str, pattern: str) -> str:
        if self.postgres:
            return f"{expression} ILIKE {self.param(pattern)}"
        return f"{expression} LIKE {self.param(pattern)} ESCAPE '\\'"

    def data_field(self, key: str) -> str:
        if self.postgres:
            return f'({self.t}."data" ->> {self.param(key)})'
        return f'(SELECT CAST(j."value" AS TEXT) FROM json_each({self.t}."data") j WHERE j."key" = {self.param(key)})'

    def best_score(self) -> str:
        return f'(SELECT MAX(p."score") FROM "{PREDICTION}" p WHERE p."task_id" = {self.t}."id")'

    # -- conditions ---------------------------------------------------------------------------

    def compare(self, expression: str, operator: str, value) -> str:
        if operator in ("in", "not_in"):
            low, high = value
            between = f"{expression} BETWEEN {self.param(low)} AND {self.param(high)}"
            return between if operator == "in" else f"NOT ({between})"
        if operator in ("in_list", "not_in_list"):
            listed = f"{expression} IN ({self.params_list(value)})"
            return listed if operator == "in_list" else f"NOT ({listed})"
        symbol = {"equal": "=", "not_equal": "<>", "less": "<", "greater": ">", "less_or_equal": "<=",
                  "greater_or_equal": ">="}[operator]  # fmt: skip
        return f"{expression} {symbol} {self.param(value)}"

    def condition(self, condition: Condition) -> str:
        sql = getattr(self, f"_{condition.kind}")(condition)
        if condition.children:
            parts = [sql, *(self.condition(child) for child in condition.children)]
            sql = " AND ".join(f"({part})" for part in parts)
        return sql

    def _integer(self, condition: Condition) -> str:
        return self.compare(self.column(condition.column), condition.operator, condition.value)

    def _score(self, condition: Condition) -> str:
        # A task's score is its best prediction's; a task with no scored prediction matches none.
        return self.compare(self.best_score(), condition.operator, condition.value)

    def _datetime(self, condition: Condition) -> str:
        value = condition.value
        adapted = (
            tuple(self.adapt_datetime(item) for item in value)
            if isinstance(value, tuple)
            else self.adapt_datetime(value)
        )
        return self.compare(self.column(condition.column), condition.operator, adapted)

    def _state_sql(self, state: str) -> str:
        labeled = self.column("is_labeled")
        only_skipped = (
            f"({self.column('total_annotations')} = 0 AND {self.column('cancelled_annotations')} > 0)"
        )
        if state == "labeled":
            return f"{labeled}"
        if state == "skipped":
            return f"(NOT {labeled} AND {only_skipped})"
        return f"(NOT {labeled} AND NOT {only_skipped})"

    def _state(self, condition: Condition) -> str:
        states = condition.value if isinstance(condition.value, tuple) else (condition.value,)
        sql = " OR ".join(self._state_sql(state) for state in states)
        return f"({sql})" if condition.operator in ("equal", "in_list") else f"NOT ({sql})"

    def _annotators(self, condition: Condition) -> str:
        users = condition.value if isinstance(condition.value, tuple) else (condition.value,)
        exists = (
            f'EXISTS (SELECT 1 FROM "{ANNOTATION}" a WHERE a."task_id" = {self.t}."id" '
            f'AND a."completed_by_id" IN ({self.params_list(users)}))'
        )
        negative = condition.operator in ("not_contains", "not_equal", "not_in", "not_in_list")
        return f"NOT {exists}" if negative else exists

    def _labels(self, condition: Condition) -> str:
        labels_column = self.column("labels")
        if condition.operator == "empty":
            if self.postgres:
                empty = f"{labels_column} = '{{}}'::jsonb"
            else:
                empty = f"NOT EXISTS (SELECT 1 FROM json_each({labels_column}))"
            return empty if condition.value else f"NOT ({empty})"
        labels = condition.value if isinstance(condition.value, tuple) else (condition.value,)
        controls = (condition.key,) if condition.key is not None else self.controls
        if self.postgres:
            checks = [
                f"{labels_column} @> {self.param(json.dumps({control: [label]}))}::jsonb"
                for control in controls
                for label in labels
            ]
            found = "(" + " OR ".join(checks) + ")" if checks else "FALSE"
        else:
            # Parameters in the order they appear in the text.
            listed = self.params_list(labels)
            by_control = f' AND c."key" = {self.param(condition.key)}' if condition.key is not None else ""
            found = (
                f'EXISTS (SELECT 1 FROM json_each({labels_column}) c, json_each(c."value") l '
                f'WHERE l."value" IN ({listed}){by_control})'
            )
        negative = condition.operator in ("not_contains", "not_equal", "not_in_list")
        return f"NOT {found}" if negative else found

    def _model_versions(self, condition: Condition) -> str:
        versions = condition.value if isinstance(condition.value, tuple) else (condition.value,)
        if condition.operator in ("contains", "not_contains"):
            match = self.ilike('p."model_version"', _like(condition.value))
        else:
            match = f'p."model_version" IN ({self.params_list(versions)})'
        exists = f'EXISTS (SELECT 1 FROM "{PREDICTION}" p WHERE p."task_id" = {self.t}."id" AND {match})'
        negative = condition.operator in ("not_contains", "not_equal", "not_in_list")
        return f"NOT {exists}" if negative else exists

    def _contains(self, key: str, term: str) -> str:
        # Parameters are added in the order they appear in the text: the prefilter first.
        prefilter = ""
        if self.postgres and self.prefilter and self.search is not None and not _json_escapes(term):
            # The trigram index answers the search rows, the tail above the watermark is scanned; the
            # exact check after it keeps only the field's matches.
            project_id, through = self.search
            pattern = _like(term)
            prefilter = (
                f'{self.t}."id" IN (SELECT s."task_id" FROM "{SEARCH}" s WHERE s."project_id" = {self.param(project_id)} '
                f'AND s."text" ILIKE {self.param(pattern)} UNION ALL SELECT u."id" FROM "{TASK}" u '
                f'WHERE u."project_id" = {self.param(project_id)} AND u."id" > {self.param(through)} '
                f'AND u."data"::text ILIKE {self.param(pattern)}) AND '
            )
        exact = self.ilike(self.data_field(key), _like(term))
        return f"({prefilter}{exact})"

    def _data(self, condition: Condition) -> str:
        key, operator, value = condition.key, condition.operator, condition.value
        assert key is not None
        if operator == "contains":
            return self._contains(key, value)
        if operator == "search":
            return "(" + " AND ".join(self._contains(key, term) for term in value) + ")"
        field = self.data_field(key)
        if operator == "not_contains":
            return f"NOT COALESCE({self.ilike(field, _like(value))}, FALSE)"
        if operator == "empty":
            empty = f"COALESCE({field}, '') = ''"
            return empty if value else f"NOT ({empty})"
        if operator == "equal":
            return f"{field} = {self.param(value)}"
        if operator == "not_equal":
            return (
                f"{field} IS DISTINCT FROM {self.param(value)}"
                if self.postgres
                else f"{field} IS NOT {self.param(value)}"
            )
        listed = f"{field} IN ({self.params_list(value)})"
        return listed if operator == "in_list" else f"NOT COALESCE({listed}, FALSE)"


def prefilter_patterns(query: TaskQuery) -> list[str]:
    """The ILIKE patterns the trigram index would answer for ``query`` on PostgreSQL: the text terms
    every matching task must hold (items AND-ed at the top, or a lone item, and their children)."""
    if query.conjunction != "and" and len(query.conditions) > 1:
        return []
    patterns = []
    for condition in query.conditions:
        for part in (condition, *condition.children):
            if part.kind != "data" or part.operator not in ("contains", "search"):
                continue
            terms = part.value if part.operator == "search" else (part.value,)
            patterns += [_like(term) for term in terms if not _json_escapes(term)]
    return patterns


def where_sql(
    query: TaskQuery,
    *,
    vendor: str,
    adapt_datetime,
    controls: tuple[str, ...],
    alias: str = "t",
    prefilter: bool = True,
    search: tuple[int, int] | None = None,
) -> tuple[str, list]:
    """The query's filter and selection as one SQL condition on ``alias`` (TRUE when it has none).
    ``prefilter`` false leaves out the trigram prefilter of text conditions (see selectors);
    ``search`` is the project's id and search watermark, which the prefilter needs."""
    compiler = _Compiler(
        vendor=vendor, adapt_datetime=adapt_datetime, controls=controls, alias=alias, prefilter=prefilter,
        search=search,
    )  # fmt: skip
    parts = []
    if query.conditions:
        joined = f" {query.conjunction.upper()} ".join(f"({compiler.condition(c)})" for c in query.conditions)
        parts.append(f"({joined})")
    selection = query.selection
    if selection is not None:
        if selection.ids:
            listed = f'{alias}."id" IN ({compiler.params_list(selection.ids)})'
            parts.append(f"NOT ({listed})" if selection.all else listed)
        elif not selection.all:
            parts.append("1 = 0")
    return (" AND ".join(parts) if parts else "1 = 1"), compiler.params


def order_sql(ordering: Ordering | None, *, alias: str = "t") -> str:
    """ORDER BY for a page: the column, then the id in the same direction, so that pages are stable and
    PostgreSQL can walk (project_id, total_annotations, id) either way; inner_id when none is asked."""
    if ordering is None:
        return f'{alias}."inner_id"'
    direction = "DESC" if ordering.descending else "ASC"
    if ordering.column == "predictions_score":
        expression = f'(SELECT MAX(p."score") FROM "{PREDICTION}" p WHERE p."task_id" = {alias}."id")'
        return f'{expression} {direction} NULLS LAST, {alias}."id" {direction}'
    if ordering.column == "id":
        return f'{alias}."id" {direction}'
    return f'{alias}."{ordering.column}" {direction}, {alias}."id" {direction}'
