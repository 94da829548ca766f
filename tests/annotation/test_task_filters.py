"""The data table's filters and ordering on GET /api/tasks/: every column and operator, Japanese
search, sorting, the capped count, bad input (400 naming the field), query counts, other organizations.

Runs on PostgreSQL (GIN and trigram indexes, ILIKE) and SQLite (json_each, LIKE) alike.
"""

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotation.models import Task
from annotation.services.annotations import annotation_create, annotation_delete, annotation_update
from annotation.services.counters import counters_check
from tessera.models import Membership

pytestmark = pytest.mark.django_db

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
  <Labels name="label" toName="text"><Label value="ORG"/><Label value="PER"/><Label value="MONEY"/></Labels>
</View>"""


def sentiment(value: str) -> dict:
    return {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [value]}}


def org_span(start: int, end: int, text: str) -> dict:
    return {"id": "r1", "from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "labels": ["ORG"], "text": text[start:end]}}  # fmt: skip


JAPANESE = "東京の銀行が金利を引き上げた"


@pytest.fixture
def table(cast, make_project):
    """Four tasks: 1 labeled by the annotator (Positive, an ORG span), 2 labeled by annotator2 in
    Japanese (Negative), 3 skipped by the annotator, 4 untouched. Inner ids 1 to 4."""
    annotator, annotator2 = cast.users["annotator"].pk, cast.users["annotator2"].pk
    first = "Acme Bank raised rates"
    tasks = [
        {"data": {"text": first, "source": "wire", "views": 5},
         "annotations": [{"result": [sentiment("Positive"), org_span(0, 9, first)], "completed_by": annotator}],
         "predictions": [{"result": [sentiment("Positive")], "model_version": "bert-v1", "score": 0.9}]},
        {"data": {"text": JAPANESE, "source": "news"},
         "annotations": [{"result": [sentiment("Negative")], "completed_by": annotator2}],
         "predictions": [{"result": [sentiment("Negative")], "model_version": "bert-v2", "score": 0.3},
                         {"result": [], "model_version": "bert-v1", "score": 0.5}]},
        {"data": {"text": "Nothing happened", "source": "wire"},
         "annotations": [{"result": [], "was_cancelled": True, "completed_by": annotator}]},
        {"data": {"text": "Rates fell 50%_at once, said \"Bank\"", "source": ""}},
    ]  # fmt: skip
    project = make_project(CONFIG, tasks=tasks)
    return project


def listed(client, project, *, expect: int = 200, **params) -> list[int] | dict:
    query = {
        "project": project.pk,
        **{k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()},
    }
    response = client.get(f"/api/tasks/?{urlencode(query)}")
    assert response.status_code == expect, response.content[:500]
    body = response.json()
    if expect != 200:
        return body
    return [Task.objects.get(pk=task["id"]).inner_id for task in body["tasks"]]


def item(column: str, operator: str, value, kind: str = "String") -> dict:
    return {"filter": f"filter:tasks:{column}", "operator": operator, "type": kind, "value": value}


def one(column: str, operator: str, value) -> dict:
    return {"conjunction": "and", "items": [item(column, operator, value)]}


def test_imported_tasks_carry_their_labels(table):
    labels = list(Task.objects.filter(project=table).order_by("inner_id").values_list("labels", flat=True))
    assert labels == [{"label": ["ORG"], "sentiment": ["Positive"]}, {"sentiment": ["Negative"]}, {}, {}]


NOW = "2100-01-01T00:00:00Z"
PAST = "2000-01-01T00:00:00Z"

# (column, operator, value, inner ids expected)
CASES = [
    ("id", "equal", "{id1}", [1]),
    ("inner_id", "not_equal", 1, [2, 3, 4]),
    ("inner_id", "less", 3, [1, 2]),
    ("inner_id", "greater", 3, [4]),
    ("inner_id", "less_or_equal", 3, [1, 2, 3]),
    ("inner_id", "greater_or_equal", 3, [3, 4]),
    ("inner_id", "in", {"min": 2, "max": 3}, [2, 3]),
    ("inner_id", "not_in", {"min": 2, "max": 3}, [1, 4]),
    ("inner_id", "in_list", [1, 4], [1, 4]),
    ("id", "not_in_list", ["{id1}"], [2, 3, 4]),
    ("total_annotations", "equal", 1, [1, 2]),
    ("cancelled_annotations", "greater", 0, [3]),
    ("total_predictions", "greater_or_equal", 2, [2]),
    ("predictions_score", "greater", 0.6, [1]),
    ("predictions_score", "less", 0.6, [2]),
    ("predictions_score", "in", {"min": 0.4, "max": 1}, [1, 2]),
    ("predictions_score", "not_in", {"min": 0.4, "max": 1}, []),
    ("predictions_model_versions", "equal", "bert-v1", [1, 2]),
    ("predictions_model_versions", "not_equal", "bert-v1", [3, 4]),
    ("predictions_model_versions", "contains", "V2", [2]),
    ("predictions_model_versions", "not_contains", "v2", [1, 3, 4]),
    ("predictions_model_versions", "in_list", ["bert-v2", "x"], [2]),
    ("predictions_model_versions", "not_in_list", ["bert-v2"], [1, 3, 4]),
    ("created_at", "less", NOW, [1, 2, 3, 4]),
    ("created_at", "greater", NOW, []),
    ("created_at", "greater_or_equal", PAST, [1, 2, 3, 4]),
    ("updated_at", "less_or_equal", PAST, []),
    ("updated_at", "in", {"min": PAST, "max": NOW}, [1, 2, 3, 4]),
    ("created_at", "not_in", {"min": PAST, "max": NOW}, []),
    ("data.text", "contains", "bank", [1, 4]),
    ("data.text", "contains", "50%_at", [4]),
    ("data.text", "contains", '"Bank"', [4]),
    ("data.text", "not_contains", "bank", [2, 3]),
    ("data.text", "search", "rates ACME", [1]),
    ("data.text", "search", "銀行 金利", [2]),
    ("data.text", "contains", "銀行が", [2]),
    ("data.text", "search", "銀行 ドル", []),
    ("data.source", "equal", "wire", [1, 3]),
    ("data.source", "not_equal", "wire", [2, 4]),
    ("data.source", "empty", True, [4]),
    ("data.source", "empty", False, [1, 2, 3]),
    ("data.source", "in_list", ["news", "blog"], [2]),
    ("data.source", "not_in_list", ["news"], [1, 3, 4]),
    ("data.views", "equal", 5, [1]),
    ("data.missing", "contains", "x", []),
    ("state", "equal", "labeled", [1, 2]),
    ("state", "equal", "skipped", [3]),
    ("state", "equal", "unlabeled", [4]),
    ("state", "not_equal", "labeled", [3, 4]),
    ("state", "in_list", ["skipped", "unlabeled"], [3, 4]),
    ("state", "not_in_list", ["skipped"], [1, 2, 4]),
    ("annotators", "contains", "{annotator}", [1, 3]),
    ("annotators", "not_contains", "{annotator}", [2, 4]),
    ("completed_by", "equal", "{annotator2}", [2]),
    ("completed_by", "not_equal", "{annotator2}", [1, 3, 4]),
    ("annotators", "in", ["{annotator}", "{annotator2}"], [1, 2, 3]),
    ("annotators", "in_list", ["{annotator2}"], [2]),
    ("annotators", "not_in", ["{annotator}", "{annotator2}"], [4]),
    ("annotators", "not_in_list", ["{annotator}"], [2, 4]),
    ("labels", "contains", "ORG", [1]),
    ("labels", "equal", "Negative", [2]),
    ("labels", "not_contains", "Positive", [2, 3, 4]),
    ("labels", "not_equal", "Negative", [1, 3, 4]),
    ("labels:sentiment", "contains", "Positive", [1]),
    ("labels:label", "contains", "Positive", []),
    ("labels", "in_list", ["ORG", "Negative"], [1, 2]),
    ("labels:sentiment", "not_in_list", ["Negative"], [1, 3, 4]),
    ("labels", "empty", True, [3, 4]),
    ("labels", "empty", False, [1, 2]),
]


def _fill(value, ids: dict):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, list):
        return [_fill(part, ids) for part in value]
    return value


@pytest.mark.parametrize(("column", "operator", "value", "expected"), CASES,
                         ids=[f"{c}-{o}-{v}" for c, o, v, _ in CASES])  # fmt: skip
def test_every_column_and_operator(api, cast, table, column, operator, value, expected):
    ids = {
        "id1": Task.objects.get(project=table, inner_id=1).pk,
        "annotator": cast.users["annotator"].pk,
        "annotator2": cast.users["annotator2"].pk,
    }
    found = listed(api("reviewer"), table, filters=one(column, operator, _fill(value, ids)))
    assert found == expected


def test_conjunctions_and_child_filters(api, table):
    client = api("manager")
    either = {
        "conjunction": "or",
        "items": [item("state", "equal", "skipped"), item("labels", "contains", "ORG")],
    }
    assert listed(client, table, filters=either) == [1, 3]
    both = {
        "conjunction": "and",
        "items": [item("data.source", "equal", "wire"), item("state", "equal", "labeled")],
    }
    assert listed(client, table, filters=both) == [1]
    child = {"conjunction": "or", "items": [{**item("data.source", "equal", "wire"),
                                             "child_filters": [item("state", "equal", "skipped")]},
                                            item("inner_id", "equal", 4)]}  # fmt: skip
    assert listed(client, table, filters=child) == [3, 4]
    # The brief's prefix works as Label Studio's does.
    plain = {
        "conjunction": "and",
        "items": [{**item("inner_id", "equal", 2), "filter": "filters:tasks:inner_id"}],
    }
    assert listed(client, table, filters=plain) == [2]
    assert listed(client, table, filters={"conjunction": "and", "items": []}) == [1, 2, 3, 4]


def test_japanese_full_text_on_a_large_enough_project_uses_no_word_segmentation(api, make_project):
    texts = ["東京都の天気は晴れ", "大阪の天気は雨", "東京タワーに行った", "Tokyo weather is fine"]
    project = make_project(CONFIG, tasks=[{"text": text} for text in texts])
    client = api("annotator")
    assert listed(client, project, filters=one("data.text", "search", "東京 天気")) == [1]
    assert listed(client, project, filters=one("data.text", "contains", "天気は")) == [1, 2]
    assert listed(client, project, filters=one("data.text", "search", "tokyo")) == [4]


def test_every_sortable_column_sorts_both_ways(api, cast, table):
    client = api("manager")
    tasks = {task.inner_id: task for task in Task.objects.filter(project=table)}
    Task.objects.filter(project=table, inner_id=4).update(updated_at=timezone.now() - timedelta(days=1))
    Task.objects.filter(project=table, inner_id=2).update(created_at=timezone.now() + timedelta(days=1))
    cases = {
        "-total_annotations": [2, 1, 4, 3],
        "total_annotations": [3, 4, 1, 2],
        "-cancelled_annotations": [3, 4, 2, 1],
        "total_predictions": [3, 4, 1, 2],
        "-id": [4, 3, 2, 1],
        "inner_id": [1, 2, 3, 4],
        "-predictions_score": [1, 2, 4, 3],
        "predictions_score": [2, 1, 3, 4],
        "updated_at": [4, 1, 2, 3],
        "-created_at": [2, 4, 3, 1],
    }
    assert len(tasks) == 4
    for ordering, expected in cases.items():
        assert listed(client, table, ordering=ordering) == expected, ordering
    # Label Studio's list form, and the same inside its query parameter.
    assert listed(client, table, ordering='["tasks:-total_annotations"]') == [2, 1, 4, 3]
    query = {"filters": one("state", "not_equal", "unlabeled"), "ordering": ["tasks:-inner_id"]}
    assert listed(client, table, query=query) == [3, 2, 1]
    selected = {"selectedItems": {"all": True, "excluded": [tasks[1].pk]}, "ordering": ["tasks:inner_id"]}
    assert listed(client, table, query=selected) == [2, 3, 4]


def test_labels_follow_every_annotation_change(cast, make_project):
    project = make_project(CONFIG, tasks=[{"text": "Acme Bank"}])
    task = project.tasks.get()
    annotator, manager = cast.users["annotator"], cast.users["manager"]
    first = annotation_create(task=task, user=annotator, result=[sentiment("Positive")])
    second = annotation_create(
        task=task, user=manager, result=[sentiment("Negative"), org_span(0, 4, "Acme Bank")]
    )
    task.refresh_from_db()
    assert task.labels == {"label": ["ORG"], "sentiment": ["Negative", "Positive"]}
    membership = Membership.objects.get(user=manager, organization=cast.org)
    annotation_update(
        annotation=second, user=manager, membership=membership, fields={"result": [sentiment("Neutral")]}
    )
    task.refresh_from_db()
    assert task.labels == {"sentiment": ["Neutral", "Positive"]}
    annotation_update(annotation=first, user=manager, membership=membership, fields={"was_cancelled": True})
    task.refresh_from_db()
    assert task.labels == {"sentiment": ["Neutral"]}
    annotation_delete(annotation=second, user=manager, membership=membership)
    task.refresh_from_db()
    assert task.labels == {}
    annotation_create(task=task, user=cast.users["annotator2"], result=[], was_cancelled=True)
    task.refresh_from_db()
    assert task.labels == {} and counters_check().total == 0


def test_a_filtered_total_counts_up_to_the_cap(api, table, settings):
    client = api("manager")
    response = client.get(
        f"/api/tasks/?project={table.pk}&filters={json.dumps(one('inner_id', 'greater', 1))}"
    )
    body = response.json()
    assert (body["total"], body["total_annotations"], body["total_predictions"], body["total_exact"]) == (
        3,
        1,
        2,
        True,
    )
    settings.TESSERA_TASK_FILTER_COUNT_CAP = 2
    body = client.get(
        f"/api/tasks/?project={table.pk}&filters={json.dumps(one('inner_id', 'greater', 1))}"
    ).json()
    assert (body["total"], body["total_exact"], len(body["tasks"])) == (2, False, 3)
    unfiltered = client.get(f"/api/tasks/?project={table.pk}").json()
    assert (unfiltered["total"], unfiltered["total_exact"]) == (4, True)


def test_pages_of_a_filter_and_past_its_last(api, table):
    client = api("manager")
    filters = json.dumps(one("inner_id", "greater", 1))
    first = client.get(
        f"/api/tasks/?project={table.pk}&filters={filters}&page_size=2&ordering=-inner_id"
    ).json()
    second = client.get(
        f"/api/tasks/?project={table.pk}&filters={filters}&page_size=2&page=2&ordering=-inner_id"
    )
    assert [t["inner_id"] for t in first["tasks"]] == [4, 3]
    assert [t["inner_id"] for t in second.json()["tasks"]] == [2]
    past = client.get(f"/api/tasks/?project={table.pk}&filters={filters}&page_size=2&page=3")
    assert past.status_code == 404 and past.json()["error"]["field"] == "page"
    sorted_past = client.get(f"/api/tasks/?project={table.pk}&ordering=id&page_size=2&page=3")
    assert sorted_past.status_code == 404


BAD = [
    ({"filters": "{"}, "filters"),
    ({"filters": "[1]"}, "filters"),
    ({"filters": '{"conjunction": "xor", "items": []}'}, "filters.conjunction"),
    ({"filters": '{"items": {}}'}, "filters.items"),
    ({"filters": json.dumps({"items": [1]})}, "filters.items[0]"),
    ({"filters": json.dumps({"items": [item("inner_id", "equal", 1), item("nope", "equal", 1)]})}, "filters.items[1].filter"),
    ({"filters": json.dumps({"items": [{"operator": "equal", "value": 1}]})}, "filters.items[0].filter"),
    ({"filters": json.dumps({"items": [item("data.", "contains", "x")]})}, "filters.items[0].filter"),
    ({"filters": json.dumps({"items": [item("labels:", "contains", "x")]})}, "filters.items[0].filter"),
    ({"filters": json.dumps({"items": [item("inner_id", "contains", 1)]})}, "filters.items[0].operator"),
    ({"filters": json.dumps({"items": [item("inner_id", "equal", "1")]})}, "filters.items[0].value"),
    ({"filters": json.dumps({"items": [item("inner_id", "equal", True)]})}, "filters.items[0].value"),
    ({"filters": json.dumps({"items": [item("inner_id", "equal", 2**64)]})}, "filters.items[0].value"),
    ({"filters": json.dumps({"items": [item("inner_id", "in", {"min": 1})]})}, "filters.items[0].value"),
    ({"filters": json.dumps({"items": [item("inner_id", "in_list", [])]})}, "filters.items[0].value"),
    ({"filters": json.dumps({"items": [item("created_at", "less", "yesterday")]})}, "filters.items[0].value"),
    ({"filters": json.dumps({"items": [item("state", "equal", "done")]})}, "filters.items[0].value"),
    ({"filters": json.dumps({"items": [item("data.text", "search", "  ")]})}, "filters.items[0].value"),
    ({"filters": json.dumps({"items": [item("data.text", "contains", "a\u0000b")]})}, "filters.items[0].value"),
    ({"filters": json.dumps({"items": [item("annotators", "in", "x")]})}, "filters.items[0].value"),
    ({"filters": json.dumps({"items": [item("predictions_score", "greater", "high")]})}, "filters.items[0].value"),
    ({"filters": json.dumps({"items": [{**item("inner_id", "equal", 1), "type": 5}]})}, "filters.items[0].type"),
    ({"filters": json.dumps({"items": [{"filter": "filter:tasks:inner_id", "operator": "equal"}]})}, "filters.items[0].value"),
    ({"filters": json.dumps({"items": [{**item("inner_id", "equal", 1), "child_filters": [
        {**item("inner_id", "equal", 1), "child_filters": []}]}]})}, "filters.items[0].child_filters[0].child_filters"),
    ({"ordering": "-nope"}, "ordering"),
    ({"ordering": '["tasks:id", "tasks:inner_id"]'}, "ordering"),
    ({"ordering": "[1"}, "ordering"),
    ({"query": "{"}, "query"),
    ({"query": json.dumps({"filters": {"items": [item("x", "equal", 1)]}})}, "query.filters.items[0].filter"),
    ({"query": json.dumps({"ordering": ["tasks:labels"]})}, "query.ordering"),
    ({"query": json.dumps({"selectedItems": {"all": "yes"}})}, "query.selectedItems"),
    ({"selectedItems": json.dumps({"all": False, "included": ["x"]})}, "selectedItems.included[0]"),
]  # fmt: skip


@pytest.mark.parametrize(("params", "field"), BAD, ids=[field for _, field in BAD])
def test_bad_filters_answer_400_naming_the_field(api, table, params, field):
    query = urlencode({"project": table.pk, **params})
    response = api("annotator").get(f"/api/tasks/?{query}")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field


def test_too_many_items_or_ids_are_refused(api, table, settings):
    settings.TESSERA_TASK_FILTER_MAX_ITEMS = 2
    settings.TESSERA_TASK_SELECTION_MAX_IDS = 2
    items = json.dumps({"items": [item("inner_id", "equal", 1)] * 3})
    response = api("manager").get(f"/api/tasks/?project={table.pk}&filters={items}")
    assert response.status_code == 400 and response.json()["error"]["code"] == "too_many"
    listed_ids = json.dumps(one("inner_id", "in_list", [1, 2, 3]))
    response = api("manager").get(f"/api/tasks/?project={table.pk}&filters={listed_ids}")
    assert response.json()["error"]["field"] == "filters.items[0].value"


def test_another_organizations_project_is_404_with_filters(api, table):
    response = api("outsider").get(
        f"/api/tasks/?project={table.pk}&filters={json.dumps(one('inner_id', 'equal', 1))}"
    )
    assert response.status_code == 404


# token with its user and membership (one statement), project, the capped count, the page's ids, the tasks, their
# annotations, their predictions; on PostgreSQL a text filter first asks the planner how many tasks
# its terms match (EXPLAIN), and a common term's page is read walking the sort order in a transaction
# that turns off sorting (savepoint, set_config, release here): at most four more, whichever way the
# planner's estimate decides for this small table
FILTERED_PAGE_QUERIES = 7 + (4 if connection.vendor == "postgresql" else 0)


def _analyze() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute('ANALYZE "annotation_task"')
            cursor.execute('ANALYZE "annotation_tasksearchtext"')


def test_a_filtered_page_costs_a_fixed_number_of_queries(api, make_project, cast):
    tasks = [{"data": {"text": f"bank {i}"}, "annotations": [{"result": [sentiment("Positive")]}],
              "predictions": [{"result": [], "score": 0.5}]} for i in range(30)]  # fmt: skip
    project = make_project(CONFIG, tasks=tasks)
    _analyze()
    client = api("manager")
    filters = json.dumps({"conjunction": "and", "items": [item("data.text", "search", "bank"),
                                                          item("labels", "contains", "Positive")]})  # fmt: skip
    url = f"/api/tasks/?project={project.pk}&filters={filters}&ordering=-total_annotations&page_size=25"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200 and len(response.json()["tasks"]) == 25
    assert len(queries) <= FILTERED_PAGE_QUERIES, [q["sql"][:120] for q in queries]
    if connection.vendor != "postgresql":
        assert len(queries) == FILTERED_PAGE_QUERIES


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL: the trigram index exists there only"
)
def test_a_common_term_walks_the_sort_order_and_a_rare_one_uses_the_trigram_index(api, make_project):
    from annotation.selectors import task_text_filter_walks
    from annotation.services.search_index import task_search_index
    from annotation.task_filters import Limits, parse_filters
    from annotation.task_filters import TaskQuery as Query

    texts = [f"common words here {i}" for i in range(400)] + ["a zeppelin flew over"]
    project = make_project(CONFIG, tasks=[{"text": text} for text in texts])
    # The estimate reads the search rows, which the job writes after an import commits.
    task_search_index(project_id=project.pk)
    project.refresh_from_db()
    _analyze()

    def walks(term: str) -> bool:
        conjunction, conditions = parse_filters(
            one("data.text", "search", term), field="filters", limits=Limits(50, 50)
        )
        return task_text_filter_walks(project=project, query=Query(conjunction, conditions), rows_wanted=50)

    assert walks("common") and not walks("zeppelin")
    # The capped count: a scan for the common word (it meets the cap at once), the index for the rare one.
    from annotation.selectors import task_text_filter_plan

    def count_walks(term: str, cap: int) -> bool:
        conjunction, conditions = parse_filters(
            one("data.text", "search", term), field="filters", limits=Limits(50, 50)
        )
        query = Query(conjunction, conditions)
        return task_text_filter_plan(project=project, query=query, rows_wanted=50, count_cap=cap).count_walks

    assert count_walks("common", cap=100) and not count_walks("zeppelin", cap=100)
    # Both ways answer the same tasks.
    client = api("manager")
    assert listed(client, project, filters=one("data.text", "search", "zeppelin")) == [401]
    common = listed(client, project, filters=one("data.text", "search", "common words"), ordering="-inner_id")
    assert common[:3] == [400, 399, 398]
