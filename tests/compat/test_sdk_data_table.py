"""label-studio-sdk's data manager calls against a live server: ``tasks.list(project=, query=)``
with Label Studio's filter, ordering and selection, and ``actions.create`` (POST /api/dm/actions)."""

import json

import pytest
from label_studio_sdk.core.api_error import ApiError
from label_studio_sdk.data_manager import Column, Filters, Operator, Type

from annotation.models import Task
from annotation.services.counters import counters_check
from tests.conftest import choice

pytestmark = pytest.mark.django_db(transaction=True)


def _import(ls, cast) -> int:
    project = ls.projects.create(title="Data table", label_config="""<View>
      <Text name="text" value="$text"/>
      <Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices>
    </View>""")  # fmt: skip
    tasks = [
        {"data": {"text": "東京の銀行が金利を上げた"},
         "annotations": [{"result": choice("Positive"), "completed_by": cast.users["annotator"].pk}]},
        {"data": {"text": "Acme Bank raised rates"},
         "annotations": [{"result": choice("Negative"), "completed_by": cast.users["annotator"].pk},
                         {"result": choice("Positive"), "completed_by": cast.users["manager"].pk}]},
        {"data": {"text": "大阪の銀行"}},
    ]  # fmt: skip
    ls.projects.import_tasks(project.id, request=tasks)
    return project.id


def test_sdk_lists_a_filtered_sorted_selection_and_runs_actions(sdk, cast):
    ls = sdk("manager")
    project_id = _import(ls, cast)
    ids = dict(Task.objects.filter(project_id=project_id).values_list("inner_id", "id"))

    # The SDK's own helpers build the filter; the query parameter carries filter, ordering and selection.
    japanese = Filters.create(Filters.AND, [
        Filters.item(Column.data("text"), Operator.CONTAINS, Type.String, Filters.value("銀行")),
    ])  # fmt: skip
    query = {"filters": japanese, "ordering": ["-" + Column.total_annotations]}
    listed = list(ls.tasks.list(project=project_id, query=json.dumps(query), page=1, page_size=10))
    assert [task.id for task in listed] == [ids[1], ids[3]]
    by_annotations = {"filters": Filters.create(Filters.OR, []), "ordering": ["tasks:-total_annotations"]}
    listed = list(ls.tasks.list(project=project_id, query=json.dumps(by_annotations), page=1))
    assert [task.id for task in listed] == [ids[2], ids[1], ids[3]]
    labeled = {"filters": {"conjunction": "and", "items": [
        {"filter": "filter:tasks:labels:sentiment", "operator": "contains", "type": "String", "value": "Positive"}]},
        "selectedItems": {"all": True, "excluded": [ids[2]]}}  # fmt: skip
    assert [task.id for task in ls.tasks.list(project=project_id, query=json.dumps(labeled), page=1)] == [
        ids[1]
    ]

    # A malformed filter is the SDK's BadRequestError with our field.
    bad = {"filters": {"conjunction": "and", "items": [{"filter": "filter:tasks:nope", "operator": "equal",
                                                        "type": "Number", "value": 1}]}}  # fmt: skip
    with pytest.raises(ApiError) as refused:
        list(ls.tasks.list(project=project_id, query=json.dumps(bad), page=1))
    assert (
        refused.value.status_code == 400
        and refused.value.body["error"]["field"] == "query.filters.items[0].filter"
    )

    # actions.create: annotations of the selection, then a task, by Label Studio's action ids.
    ls.actions.create(id="delete_tasks_annotations", project=project_id,
                      selected_items={"all": False, "included": [ids[2]]})  # fmt: skip
    assert Task.objects.get(pk=ids[2]).total_annotations == 0
    with pytest.raises(ApiError) as forbidden:
        sdk("annotator").actions.create(
            id="delete_tasks", project=project_id, selected_items={"all": True, "excluded": []}
        )
    assert forbidden.value.status_code == 403
    ls.actions.create(id="delete_tasks", project=project_id, selected_items={"all": True, "excluded": [ids[1]]},
                      filters={"conjunction": "and", "items": [{"filter": "filter:tasks:id", "operator": "greater",
                                                                "type": "Number", "value": 0}]})  # fmt: skip
    assert list(Task.objects.filter(project_id=project_id).values_list("id", flat=True)) == [ids[1]]
    assert counters_check().total == 0
