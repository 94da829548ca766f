"""Request and response shapes of the annotation app's endpoints, for the OpenAPI schema only.

The views build their answers with the plain dict builders of ``annotation/api/output.py`` and read
bodies through the services; these serializers only describe those shapes to drf-spectacular. A test
(``tests/test_openapi_schema.py``) validates real answers against the generated schema, so a change
to a builder that is not made here too fails it.

Fields named ``data`` carry ``# type: ignore[assignment]``: the API's field is called ``data`` (Label
Studio's name), which shadows ``Serializer.data``; harmless here, since these serializers are never
bound to an instance or request body, and the type checker is right to flag it anywhere else.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from annotation.models import ReviewPolicy, ReviewState, Sampling, TaskState
from tessera.api.schemas import ErrorOut, UserSimpleOut


def errors(*codes: int) -> dict:
    """``responses`` entries for the error statuses an endpoint answers, all in the one error shape."""
    return {code: ErrorOut for code in codes}


def _result(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.DictField(),
        help_text="Label Studio's result: a list of regions {from_name, to_name, type, value, …}.",
        **kwargs,
    )


# ---- responses ----------------------------------------------------------------------------------


class ProjectOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    label_config = serializers.CharField()
    parsed_label_config = serializers.DictField(
        help_text="Controls of the config: type, to_name, inputs, labels."
    )
    data_variables = serializers.ListField(child=serializers.CharField())
    expert_instruction = serializers.CharField(allow_blank=True)
    show_instruction = serializers.BooleanField()
    show_skip_button = serializers.BooleanField()
    enable_empty_annotation = serializers.BooleanField()
    maximum_annotations = serializers.IntegerField(help_text="Overlap: annotations a task needs.")
    sampling = serializers.CharField(
        help_text="Order of /next: Sequential sampling (import order), Uniform sampling (random), "
        "Uncertainty sampling (the least certain unlabeled tasks of the latest model version first)."
    )
    color = serializers.CharField(allow_blank=True)
    members_only = serializers.BooleanField(
        help_text="Tessera's own: only the project's members may label or review it (managers and above always)."
    )
    review_policy = serializers.ChoiceField(
        choices=ReviewPolicy.values, help_text="Which labeled tasks go to review: all, sample, low_agreement."
    )
    review_sample_percent = serializers.IntegerField(
        help_text="With sample: the percentage reviewed (0-100)."
    )
    review_agreement_threshold = serializers.FloatField(
        help_text="With low_agreement: tasks whose agreement is under this (0-1) go to review."
    )
    show_annotations_after_submit = serializers.BooleanField(
        help_text="Annotators see others' results on a task once they have submitted theirs."
    )
    gold_ratio = serializers.FloatField(help_text="Share of gold tasks mixed into annotators' queues (0-1).")
    gold_score_floor = serializers.FloatField(
        allow_null=True, help_text="An annotator whose gold score falls below this (0-1) is flagged."
    )
    gold_floor_pauses_queue = serializers.BooleanField(
        help_text="A flagged annotator gets no more tasks until a manager resumes them."
    )
    comments_block_acceptance = serializers.BooleanField(
        help_text="A task with an open comment thread cannot be accepted (or fixed) in review."
    )
    prelabel_refit_every = serializers.IntegerField(
        help_text="A learning pre-labeler refits after this many new labels (0: only when asked)."
    )
    organization = serializers.IntegerField()
    created_by = UserSimpleOut(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    task_number = serializers.IntegerField()
    num_tasks_with_annotations = serializers.IntegerField(allow_null=True)
    is_published = serializers.BooleanField()


class ProjectPageOut(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.IntegerField(allow_null=True, help_text="The next page number, or null.")
    previous = serializers.IntegerField(allow_null=True)
    results = ProjectOut(many=True)


class ConfigCheckOut(serializers.Serializer):
    label_config = serializers.CharField()
    parsed_label_config = serializers.DictField()
    data_variables = serializers.ListField(child=serializers.CharField())


class AnnotationOut(serializers.Serializer):
    id = serializers.IntegerField()
    task = serializers.IntegerField()
    project = serializers.IntegerField()
    completed_by = serializers.IntegerField(allow_null=True)
    result = _result()
    was_cancelled = serializers.BooleanField()
    skip_reason = serializers.CharField(allow_blank=True)
    ground_truth = serializers.BooleanField()
    review_state = serializers.ChoiceField(
        choices=ReviewState.values, help_text="submitted, then accepted, rejected or fixed by a reviewer."
    )
    lead_time = serializers.FloatField(allow_null=True)
    parent_prediction = serializers.IntegerField(allow_null=True)
    prediction_changes = serializers.DictField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class PredictionOut(serializers.Serializer):
    id = serializers.IntegerField()
    task = serializers.IntegerField()
    project = serializers.IntegerField()
    model_version = serializers.CharField(allow_blank=True)
    result = _result()
    score = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class DraftOut(serializers.Serializer):
    id = serializers.IntegerField()
    task = serializers.IntegerField()
    user = serializers.IntegerField()
    annotation = serializers.IntegerField(allow_null=True)
    result = _result()
    lead_time = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ConsensusOut(serializers.Serializer):
    result = _result()
    tie = serializers.BooleanField(help_text="A control's vote is tied: the task goes to review.")
    agreement = serializers.FloatField(allow_null=True)


class TaskOut(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField()
    data = serializers.DictField()  # type: ignore[assignment]
    meta = serializers.DictField()
    inner_id = serializers.IntegerField()
    is_labeled = serializers.BooleanField()
    total_annotations = serializers.IntegerField()
    cancelled_annotations = serializers.IntegerField()
    total_predictions = serializers.IntegerField()
    # A CharField, not a ChoiceField: other "state" enums (jobs, invitations) would collide in the schema.
    state = serializers.CharField(help_text=f"The task's state: {', '.join(TaskState.values)}.")
    is_gold = serializers.BooleanField(help_text="Has a ground_truth annotation (a gold task).")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    annotations = AnnotationOut(many=True, required=False, help_text="On one task, and on task pages.")
    predictions = PredictionOut(many=True, required=False)
    consensus = ConsensusOut(
        required=False,
        allow_null=True,
        help_text="Reviewers and above: the consensus once the overlap is reached.",
    )


class RejectionOut(serializers.Serializer):
    annotation = serializers.IntegerField(help_text="The caller's rejected annotation: PATCH it to resubmit.")
    result = _result()
    comment = serializers.CharField(allow_blank=True, help_text="The reviewer's reason.")
    reviewer = UserSimpleOut(allow_null=True)
    created_at = serializers.DateTimeField()


class NextTaskOut(TaskOut):
    drafts = DraftOut(many=True, help_text="The caller's unsubmitted draft of this task, if any.")
    rejection = RejectionOut(
        allow_null=True,
        required=False,
        help_text="Set when the task comes back to the caller because a reviewer rejected their annotation.",
    )


class LabelingNextOut(serializers.Serializer):
    task = NextTaskOut(
        allow_null=True, help_text="The task now locked for the caller; null when none is left."
    )


class TaskPageOut(serializers.Serializer):
    tasks = TaskOut(many=True)
    total = serializers.IntegerField(
        help_text="Tasks that match. With filters or a selection, counted up to TESSERA_TASK_FILTER_COUNT_CAP "
        "(total_exact false past it)."
    )
    total_annotations = serializers.IntegerField(help_text="Submitted annotations of the tasks counted.")
    total_predictions = serializers.IntegerField(help_text="Predictions of the tasks counted.")
    total_exact = serializers.BooleanField(
        help_text="False when more tasks match than the count's cap: total is then a lower bound."
    )


TASK_FILTERS_DESCRIPTION = """Label Studio's data manager filter, as JSON:
`{"conjunction": "and" | "or", "items": [{"filter": "filter:tasks:<column>", "operator": "<op>", "type": "<Type>",
"value": <value>, "child_filters": [<item>]}]}` (`filters:tasks:` is accepted too; child filters are AND-ed with
their item, one level deep).

Columns and operators:
- `id`, `inner_id`, `total_annotations`, `cancelled_annotations`, `total_predictions` (integers):
  equal, not_equal, less, greater, less_or_equal, greater_or_equal; in / not_in with `{"min", "max"}`;
  in_list / not_in_list with a list.
- `predictions_score` (the task's best prediction score): the comparisons, in / not_in.
- `created_at`, `updated_at` (ISO 8601): less, greater, less_or_equal, greater_or_equal, in / not_in.
- `data.<field>`: contains, not_contains (case-insensitive substring), search (every whitespace-separated
  term is in the field; works for Japanese, no word segmentation needed), equal, not_equal, empty (true/false),
  in_list / not_in_list.
- `state`: equal, not_equal, in_list, not_in_list with `unlabeled`, `labeled` (as many submitted annotations as
  the overlap asks) or `skipped` (only skipped annotations).
- `annotators` (or `completed_by`): contains, not_contains, equal, not_equal with a user id; in / in_list,
  not_in / not_in_list with a list of user ids (annotations submitted or skipped).
- `labels` or `labels:<control>`: contains, not_contains, equal, not_equal with a label or choice value; in_list /
  not_in_list with a list; empty (true/false). Present in any submitted annotation.
- `predictions_model_versions`: equal, not_equal, contains, not_contains, in_list, not_in_list.

Malformed JSON, an unknown column or operator, or a value of the wrong type answers 400 naming the item
(`filters.items[2].operator`)."""


class TaskActionIn(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=["delete_tasks", "delete_annotations", "delete_predictions", "delete_tasks_annotations",
                 "delete_tasks_predictions"],
        required=False,
        help_text="Required here; on /api/dm/actions the action is the id query parameter.",
    )  # fmt: skip
    selectedItems = serializers.DictField(
        help_text='{"all": false, "included": [ids]} or {"all": true, "excluded": [ids]}'
    )
    filters = serializers.DictField(required=False, allow_null=True, help_text=TASK_FILTERS_DESCRIPTION)
    ordering = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Read, not used."
    )


class TaskActionOut(serializers.Serializer):
    processed = serializers.IntegerField(help_text="Tasks the action processed.")


class TaskHistoryEventOut(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField(help_text="task.update, annotation.create, annotation.update, …")
    actor = UserSimpleOut(allow_null=True)
    object_type = serializers.CharField(
        help_text="annotation.task, annotation.annotation or annotation.prediction"
    )
    object_id = serializers.IntegerField(allow_null=True)
    details = serializers.DictField()
    created_at = serializers.DateTimeField()


class TaskLockOut(serializers.Serializer):
    task = serializers.IntegerField()
    user = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class ImportCountsOut(serializers.Serializer):
    task_count = serializers.IntegerField()
    annotation_count = serializers.IntegerField()
    prediction_count = serializers.IntegerField()
    predictions_count = serializers.IntegerField(help_text="prediction_count again, as the SDK reads it.")
    duration = serializers.FloatField(help_text="Seconds the import took.")
    file_upload_ids = serializers.ListField(child=serializers.IntegerField())
    could_be_tasks_list = serializers.BooleanField()
    found_formats = serializers.ListField(child=serializers.CharField())
    data_columns = serializers.ListField(child=serializers.CharField())
    task_ids = serializers.ListField(
        child=serializers.IntegerField(), required=False, help_text="With ?return_task_ids=true."
    )


class ImportJobOut(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField()
    status = serializers.CharField(help_text="created, in_progress, completed or failed.")
    original_name = serializers.CharField(allow_blank=True)
    format = serializers.CharField()
    column_map = serializers.DictField(
        child=serializers.CharField(), allow_null=True, help_text="File column -> task data key, if sent."
    )
    size_bytes = serializers.IntegerField()
    rows_done = serializers.IntegerField()
    task_count = serializers.IntegerField()
    annotation_count = serializers.IntegerField()
    prediction_count = serializers.IntegerField()
    error = serializers.CharField(allow_null=True, help_text="Why it failed, as text (Label Studio's shape).")
    error_detail = serializers.DictField(allow_null=True, help_text="{code, message, field} when failed.")
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class ImportStartedOut(ImportJobOut):
    import_ = serializers.IntegerField(help_text="The background import's id: poll /imports/{import}/.")

    def get_fields(self):
        # "import" is a Python keyword: the answer's key cannot be a class attribute.
        fields = super().get_fields()
        fields["import"] = fields.pop("import_")
        return fields


class ImportJobStateOut(ImportJobOut):
    task_ids = serializers.ListField(child=serializers.IntegerField(), help_text="Once completed.")


ImportAnswerOut = PolymorphicProxySerializer(
    component_name="ImportAnswer",
    serializers=[ImportCountsOut, ImportStartedOut],
    resource_type_field_name=None,
)


class PredictionImportOut(serializers.Serializer):
    created = serializers.IntegerField()


# ---- requests -----------------------------------------------------------------------------------


class ProjectIn(serializers.Serializer):
    """Every field optional: a create fills defaults, a PATCH changes only the fields sent."""

    title = serializers.CharField(required=False, max_length=250)
    description = serializers.CharField(required=False, allow_blank=True)
    label_config = serializers.CharField(required=False, help_text="Label Studio XML.")
    expert_instruction = serializers.CharField(required=False, allow_blank=True)
    show_instruction = serializers.BooleanField(required=False)
    show_skip_button = serializers.BooleanField(required=False)
    enable_empty_annotation = serializers.BooleanField(required=False)
    maximum_annotations = serializers.IntegerField(required=False, min_value=1, max_value=100)
    sampling = serializers.ChoiceField(choices=Sampling.values, required=False)
    color = serializers.CharField(required=False, max_length=16, allow_blank=True)
    members_only = serializers.BooleanField(
        required=False, help_text="Only the project's members may label or review it (Tessera's own)."
    )
    review_policy = serializers.ChoiceField(choices=ReviewPolicy.values, required=False)
    review_sample_percent = serializers.IntegerField(required=False, min_value=0, max_value=100)
    review_agreement_threshold = serializers.FloatField(required=False, min_value=0, max_value=1)
    show_annotations_after_submit = serializers.BooleanField(required=False)
    gold_ratio = serializers.FloatField(required=False, min_value=0, max_value=1)
    gold_score_floor = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=1)
    gold_floor_pauses_queue = serializers.BooleanField(required=False)
    comments_block_acceptance = serializers.BooleanField(required=False)
    prelabel_refit_every = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=1_000_000,
        help_text="A learning pre-labeler refits after this many new labels (0: only when asked).",
    )


class ConfigCheckIn(serializers.Serializer):
    label_config = serializers.CharField()


class ImportTaskIn(serializers.Serializer):
    """One task: either Label Studio's {data, annotations, predictions, meta}, or its data fields alone."""

    data = serializers.DictField(required=False)  # type: ignore[assignment]
    annotations = serializers.ListField(child=serializers.DictField(), required=False)
    predictions = serializers.ListField(child=serializers.DictField(), required=False)
    meta = serializers.DictField(required=False)


class ImportFilesIn(serializers.Serializer):
    file = serializers.FileField(help_text=".json, .jsonl, .csv or .tsv; several files may be sent.")
    column_map = serializers.CharField(
        required=False, help_text='JSON object of file column -> task data key, e.g. {"sentence": "text"}.'
    )


class PredictionImportIn(serializers.Serializer):
    task = serializers.IntegerField()
    result = _result()
    score = serializers.FloatField(required=False, allow_null=True)
    model_version = serializers.CharField(required=False, allow_blank=True)


class TaskCreateIn(serializers.Serializer):
    project = serializers.IntegerField()
    data = serializers.DictField()  # type: ignore[assignment]
    meta = serializers.DictField(required=False)


class TaskUpdateIn(serializers.Serializer):
    data = serializers.DictField(required=False)  # type: ignore[assignment]
    meta = serializers.DictField(required=False)


class AnnotationIn(serializers.Serializer):
    result = _result(required=False)
    was_cancelled = serializers.BooleanField(required=False, help_text="true: a skip.")
    ground_truth = serializers.BooleanField(required=False)
    lead_time = serializers.FloatField(required=False, allow_null=True, help_text="Seconds spent labeling.")
    parent_prediction = serializers.IntegerField(required=False, allow_null=True)
    completed_by = serializers.IntegerField(
        required=False, help_text="May repeat the caller; never another user."
    )
    task = serializers.IntegerField(required=False, help_text="May repeat the task; never another.")
    project = serializers.IntegerField(required=False)


class PredictionIn(serializers.Serializer):
    task = serializers.IntegerField()
    result = _result(required=False)
    model_version = serializers.CharField(required=False, allow_blank=True)
    score = serializers.FloatField(required=False, allow_null=True)


class PredictionUpdateIn(serializers.Serializer):
    result = _result(required=False)
    model_version = serializers.CharField(required=False, allow_blank=True)
    score = serializers.FloatField(required=False, allow_null=True)


class DraftIn(serializers.Serializer):
    result = _result(required=False)
    lead_time = serializers.FloatField(required=False, allow_null=True)
    annotation = serializers.IntegerField(
        required=False, allow_null=True, help_text="The annotation this draft corrects, if any."
    )


class DraftUpdateIn(serializers.Serializer):
    result = _result(required=False)
    lead_time = serializers.FloatField(required=False, allow_null=True)


# ---- the labeling page's own endpoints ----------------------------------------------------------


class ProgressOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    role = serializers.CharField()
    total_tasks = serializers.IntegerField()
    tasks_labeled = serializers.IntegerField()
    tasks_left_for_me = serializers.IntegerField()
    done_today = serializers.IntegerField()
    skipped_today = serializers.IntegerField()
    overlap = serializers.IntegerField()


class ProgressListOut(serializers.Serializer):
    results = ProgressOut(many=True)


class LabelingProjectOut(ProgressOut):
    label_config = serializers.CharField()
    expert_instruction = serializers.CharField(allow_blank=True)
    show_instruction = serializers.BooleanField()
    show_skip_button = serializers.BooleanField()
    enable_empty_annotation = serializers.BooleanField()
    lock_seconds = serializers.IntegerField()


class RecentItemOut(serializers.Serializer):
    annotation = AnnotationOut()
    task = TaskOut()


class RecentListOut(serializers.Serializer):
    results = RecentItemOut(many=True)


class SkipIn(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=500)
    lead_time = serializers.FloatField(required=False, allow_null=True)


# Bodies other than JSON that the import takes: JSON lines, CSV and TSV text.
CSV_BODY = OpenApiTypes.STR


# ---- project members ------------------------------------------------------------------------------


class ProjectMemberOut(serializers.Serializer):
    user = UserSimpleOut()
    role = serializers.CharField(help_text="The member's role in the organization.")
    added_at = serializers.DateTimeField()


class ProjectMemberIn(serializers.Serializer):
    user = serializers.IntegerField(required=False, help_text="Id of an active member of the organization.")
    email = serializers.EmailField(required=False, help_text="Or their e-mail address.")


class ProjectMemberRemoveIn(serializers.Serializer):
    user = serializers.IntegerField(help_text="Id of the project member to remove.")
