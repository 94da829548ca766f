"""REST views for projects, tasks, annotations, drafts and predictions: Label Studio's paths and shapes.

Views are thin: they scope reads through selectors, check the caller's role,
and hand writes to services.
"""

from django.conf import settings
from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from annotation import selectors
from annotation.api import schemas
from annotation.api.imports import UnreadBody, read_import
from annotation.api.output import (
    annotation_out,
    draft_out,
    history_event_out,
    import_counts_out,
    import_job_out,
    json_array_chunks,
    lock_out,
    prediction_out,
    project_out,
    rejection_out,
    task_out,
    task_page_out,
)
from annotation.importing.parsers import TaskItem
from annotation.label_config import parse_label_config
from annotation.models import Draft
from annotation.services import annotations as annotation_services
from annotation.services import projects as project_services
from annotation.services import queue
from annotation.services.import_jobs import import_job_create
from annotation.services.imports import tasks_import
from annotation.services.prediction_import import predictions_import
from annotation.services.project_members import project_member_required
from annotation.services.quality import task_consensus_out
from annotation.services.task_actions import task_action_run
from annotation.task_filters import TaskQuery, parse_action_body, parse_query_params
from annotation.visibility import task_query_check_blind
from tessera import validation
from tessera.api.base import json_object, page_params
from tessera.api.parsers import MultiPartParser, json_body_within
from tessera.errors import ApplicationError, NotFound, PermissionDenied
from tessera.models import ROLE_RANK, Role
from tessera.permissions import caller_membership, require_role
from tessera.request_types import AuthenticatedRequest


class ProjectListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: schemas.ProjectPageOut, **schemas.errors(400)},
        operation_id="projects_list",
        summary="List projects (paged: count, results)",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        membership = caller_membership(request)
        page, page_size = page_params(request, default_size=100, clamp=True)
        projects = selectors.project_list(membership=membership)
        total = projects.count()
        rows = projects[(page - 1) * page_size : page * page_size]
        return Response(
            {
                "count": total,
                "next": None if page * page_size >= total else page + 1,
                "previous": page - 1 if page > 1 else None,
                "results": [project_out(project) for project in rows],
            }
        )

    @extend_schema(
        request=schemas.ProjectIn,
        responses={201: schemas.ProjectOut, **schemas.errors(400, 403)},
        summary="Create a project",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        membership = require_role(request, Role.MANAGER, action="create projects")
        project = project_services.project_create(
            organization=membership.organization, user=request.user, fields=json_object(request)
        )
        return Response(project_out(project), status=status.HTTP_201_CREATED)


class ProjectDetailView(APIView):
    @extend_schema(responses={200: schemas.ProjectOut, **schemas.errors(404)}, summary="Get a project")
    def get(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = selectors.project_get(membership=caller_membership(request), project_id=project_id)
        return Response(project_out(project))

    @extend_schema(
        request=schemas.ProjectIn,
        responses={200: schemas.ProjectOut, **schemas.errors(400, 403, 404)},
        summary="Update a project (the fields sent)",
    )
    def patch(self, request: AuthenticatedRequest, project_id: int) -> Response:
        membership = caller_membership(request)
        project = selectors.project_get(membership=membership, project_id=project_id)
        require_role(request, Role.MANAGER, action="change projects")
        project = project_services.project_update(
            project=project, user=request.user, fields=json_object(request)
        )
        return Response(project_out(project))

    @extend_schema(
        responses={204: None, **schemas.errors(403, 404)}, summary="Delete a project with its tasks"
    )
    def delete(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = selectors.project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.MANAGER, action="delete projects")
        project_services.project_delete(project=project, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _validate_config_response(request: AuthenticatedRequest) -> Response:
    body = json_object(request)
    config = body.get("label_config")
    schema = parse_label_config(config, max_bytes=settings.TESSERA_MAX_LABEL_CONFIG_BYTES)
    return Response(
        {
            "label_config": config,
            "parsed_label_config": schema.summary(),
            "data_variables": list(schema.variables),
        }
    )


class LabelConfigValidateThrottle(UserRateThrottle):
    """Checking a config costs real CPU (see annotation/label_config.py) and any member may ask:
    a per-user rate, counted in the shared cache so that every worker process sees the same count."""

    scope = "label_config_validate"


class ConfigValidateView(APIView):
    throttle_classes = [LabelConfigValidateThrottle]

    @extend_schema(
        request=schemas.ConfigCheckIn,
        responses={200: schemas.ConfigCheckOut, **schemas.errors(400, 429)},
        operation_id="projects_validate_config",
        summary="Check a label config",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        caller_membership(request)
        return _validate_config_response(request)


class ProjectValidateView(APIView):
    throttle_classes = [LabelConfigValidateThrottle]

    @extend_schema(
        request=schemas.ConfigCheckIn,
        responses={200: schemas.ConfigCheckOut, **schemas.errors(400, 404, 429)},
        summary="Check a label config for this project",
    )
    def post(self, request: AuthenticatedRequest, project_id: int) -> Response:
        selectors.project_get(membership=caller_membership(request), project_id=project_id)
        return _validate_config_response(request)


class ProjectImportView(APIView):
    parser_classes = [MultiPartParser, UnreadBody]

    @extend_schema(
        request={
            "application/json": schemas.ImportTaskIn(many=True),
            "multipart/form-data": schemas.ImportFilesIn,
            "application/x-ndjson": schemas.CSV_BODY,
            "text/csv": schemas.CSV_BODY,
            "text/tab-separated-values": schemas.CSV_BODY,
        },
        responses={201: schemas.ImportAnswerOut, **schemas.errors(400, 403, 404, 413, 415)},
        parameters=[
            OpenApiParameter("return_task_ids", bool),
            OpenApiParameter(
                "column_map",
                str,
                description="A JSON object of file column -> task data key (one of the config's $variables), "
                'e.g. {"sentence": "text"}: the columns of CSV/TSV files and the data keys of JSON/JSONL tasks '
                "are renamed as they are read; names a file lacks are left alone. Two columns onto one key, or a "
                "key the config does not read, answer 400 naming column_map. Also accepted as a multipart field.",
            ),
        ],
        summary="Import tasks (JSON, JSONL, CSV, TSV; body or files)",
        description="Small imports answer task_count, annotation_count, prediction_count. Larger ones run "
        'as a background job and answer {"import": id}; poll /api/projects/{id}/imports/{import}/.',
    )
    def post(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = selectors.project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.MANAGER, action="import tasks")
        upload = read_import(request, variables=list(project.data_variables))
        if upload.background:
            job = import_job_create(
                project=project,
                user=request.user,
                chunks=upload.chunks,
                file_format=upload.file_format,
                original_name=upload.name,
                column_map=upload.column_map,
            )
            return Response({"import": job.pk, **import_job_out(job)}, status=status.HTTP_201_CREATED)
        counts = tasks_import(project=project, user=request.user, items=upload.items())
        task_ids = request.query_params.get("return_task_ids") in ("1", "true", "True")
        return Response(import_counts_out(counts, task_ids=task_ids), status=status.HTTP_201_CREATED)


class ProjectPredictionImportView(APIView):
    @extend_schema(
        request=schemas.PredictionImportIn(many=True),
        responses={201: schemas.PredictionImportOut, **schemas.errors(400, 403, 404)},
        summary="Import predictions for existing tasks",
    )
    def post(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = selectors.project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.MANAGER, action="import predictions")
        # Parsed whole in memory: bounded by a limit of its own (tessera/body_limit.py checks the declared length).
        items = json_body_within(request, limit=settings.TESSERA_MAX_PREDICTION_IMPORT_BYTES)
        created = predictions_import(project=project, user=request.user, items=items)
        return Response({"created": created}, status=status.HTTP_201_CREATED)


class ProjectTasksView(APIView):
    @extend_schema(
        responses={204: None, **schemas.errors(403, 404)},
        summary="Delete every task of a project (the SDK's delete_all_tasks)",
    )
    def delete(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = selectors.project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.MANAGER, action="delete tasks")
        project_services.project_tasks_delete(project=project, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ImportJobView(APIView):
    @extend_schema(
        responses={200: schemas.ImportJobStateOut, **schemas.errors(404)},
        summary="State and progress of a background import",
    )
    def get(self, request: AuthenticatedRequest, project_id: int, job_id: int) -> Response:
        project = selectors.project_get(membership=caller_membership(request), project_id=project_id)
        job = selectors.import_job_get(project=project, job_id=job_id)
        return Response({**import_job_out(job), "task_ids": selectors.import_job_task_ids(job=job)})


def next_task_out(task, user) -> dict:
    """A task as the queue hands it out: with its predictions (best first) and the caller's draft."""
    # The task's counter says when it has no predictions to read (most handed out have none).
    task.prediction_list = list(task.predictions.order_by("-score", "-id")) if task.total_predictions else []
    task.annotation_list = []
    # Gold tasks look like any other task here, for every caller of the queue (see task_out).
    body = task_out(task, hide_gold=True, as_unanswered=True)
    if not hasattr(task, "draft_list"):
        task.draft_list = list(
            Draft.objects.filter(task=task, user=user, annotation__isnull=True).order_by("-id")[:1]
        )
    body["drafts"] = [draft_out(draft) for draft in task.draft_list]
    rejection = getattr(task, "rejection", None)
    body["rejection"] = rejection_out(rejection) if rejection is not None else None
    return body


class ProjectNextView(APIView):
    """Taking a task changes state (it locks the task and lets go of the one held before), so the
    labeling page takes it with POST. GET stays for Label Studio's clients, which send a token. A GET
    carried by the session cookie may come from any page the annotator opens, such as an
    ``<img src="/api/projects/1/next">`` in task data (same origin is allowed for images): it takes and
    drops nothing, answers the task the caller already holds, and otherwise 409 ``post_required``."""

    @extend_schema(
        responses={200: schemas.NextTaskOut, **schemas.errors(403, 404, 409)},
        summary="The next task to label (token: locks it; session cookie: only the task already held)",
    )
    def get(self, request: AuthenticatedRequest, project_id: int) -> Response:
        membership = caller_membership(request)
        project = selectors.project_get(membership=membership, project_id=project_id)
        project_member_required(project=project, user=request.user, rank=membership.rank)
        if request.auth is None:
            task = selectors.task_held(project=project, user=request.user)
            if task is None:
                raise ApplicationError(
                    _(
                        "GET does not take tasks for a browser session: POST to /api/projects/{id}/next to take one."
                    ),
                    code="post_required",
                    status=409,
                )
            return Response(next_task_out(task, request.user))
        return Response(next_task_out(queue.next_task(project=project, user=request.user), request.user))

    @extend_schema(
        request=None,
        responses={200: schemas.NextTaskOut, **schemas.errors(403, 404)},
        summary="Take the next task to label (locks it for the caller)",
    )
    def post(self, request: AuthenticatedRequest, project_id: int) -> Response:
        membership = caller_membership(request)
        project = selectors.project_get(membership=membership, project_id=project_id)
        project_member_required(project=project, user=request.user, rank=membership.rank)
        return Response(next_task_out(queue.next_task(project=project, user=request.user), request.user))


TASK_QUERY_PARAMETERS = [
    OpenApiParameter("filters", str, description=schemas.TASK_FILTERS_DESCRIPTION),
    OpenApiParameter(
        "ordering",
        str,
        description="One column to sort by, a leading - for descending: id, inner_id, total_annotations, "
        "cancelled_annotations, total_predictions, predictions_score, created_at, updated_at. Plain "
        '(-total_annotations) or as Label Studio sends it (["tasks:-total_annotations"]). Default: inner_id.',
    ),
    OpenApiParameter(
        "selectedItems",
        str,
        description='JSON: {"all": false, "included": [ids]} or {"all": true, "excluded": [ids]}, applied with the filters.',
    ),
    OpenApiParameter(
        "query",
        str,
        description='Label Studio\'s form (label-studio-sdk tasks.list(query=…)): JSON {"filters": …, "ordering": [...], '
        '"selectedItems": …}. The separate parameters win over its keys.',
    ),
]


def _task_query(request: AuthenticatedRequest) -> TaskQuery:
    return parse_query_params(request.query_params, limits=selectors.task_query_limits())


class TaskListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("project", int, required=True), OpenApiParameter("page", int),
                    OpenApiParameter("page_size", int), *TASK_QUERY_PARAMETERS],
        responses={200: schemas.TaskPageOut, **schemas.errors(400, 404)},
        operation_id="tasks_list",
        summary="List a project's tasks, filtered and sorted: {tasks, total}",
    )  # fmt: skip
    def get(self, request: AuthenticatedRequest) -> Response:
        membership = caller_membership(request)
        project_id = request.query_params.get("project")
        if project_id is None:
            raise ApplicationError(_("project is required."), field="project", code="required")
        project = selectors.project_get(membership=membership, project_id=project_id)
        page, page_size = page_params(request, default_size=100)
        query = _task_query(request)
        task_query_check_blind(query=query, membership=membership)
        offset = (page - 1) * page_size
        if query.narrows:
            # Label Studio counts every match; here the count stops at a cap, so that a filter keeping
            # most of a million tasks does not make each page a scan of the project.
            cap = settings.TESSERA_TASK_FILTER_COUNT_CAP
            plan = selectors.task_text_filter_plan(
                project=project, query=query, rows_wanted=offset + page_size, count_cap=cap
            )
            filtered = selectors.task_filtered_totals(
                project=project, query=query, cap=cap, walk=plan.count_walks
            )
            tasks = selectors.task_page_filtered(
                project=project, membership=membership, query=query, offset=offset, limit=page_size,
                walk=plan.page_walks,
            )  # fmt: skip
            if page > 1 and not tasks:
                raise NotFound(_("Invalid page: past the last task."), field="page", code="invalid_page")
            return Response(
                task_page_out(
                    tasks, total=filtered.tasks, total_annotations=filtered.annotations,
                    total_predictions=filtered.predictions, total_exact=filtered.exact,
                    hide_gold=membership.rank < ROLE_RANK[Role.REVIEWER],
                )
            )  # fmt: skip
        if page > 1 and offset >= project.task_count:
            # Label Studio answers 404 past the last page, and the SDK's legacy Client.get_tasks
            # pages until it sees one: an empty 200 would keep it asking forever.
            raise NotFound(_("Invalid page: past the last task."), field="page", code="invalid_page")
        if query.ordering is None:
            tasks = selectors.task_page(
                project=project, membership=membership, offset=offset, limit=page_size
            )
        else:
            tasks = selectors.task_page_filtered(
                project=project, membership=membership, query=query, offset=offset, limit=page_size
            )
        totals = selectors.task_totals(project=project)
        return Response(
            task_page_out(
                tasks, total=project.task_count, total_annotations=totals["total_annotations"],
                total_predictions=totals["total_predictions"],
                hide_gold=membership.rank < ROLE_RANK[Role.REVIEWER],
            )
        )  # fmt: skip

    @extend_schema(
        request=schemas.TaskCreateIn,
        responses={201: schemas.TaskOut, **schemas.errors(400, 403, 404)},
        summary="Create one task",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        body = json_object(request)
        project = selectors.project_get(membership=caller_membership(request), project_id=body.get("project"))
        require_role(request, Role.MANAGER, action="create tasks")
        data = body.get("data")
        if not isinstance(data, dict):
            raise ApplicationError(_("data must be a JSON object."), field="data", code="invalid_data")
        item = TaskItem(data=data, meta=body.get("meta") or {})
        counts = tasks_import(project=project, user=request.user, items=[item])
        assert counts.task_ids is not None  # a synchronous import returns the ids of the tasks it wrote
        task = selectors.task_with_children(membership=caller_membership(request), task_id=counts.task_ids[0])
        return Response(task_out(task), status=status.HTTP_201_CREATED)


class ProjectTaskActionsView(APIView):
    @extend_schema(
        request=schemas.TaskActionIn,
        responses={200: schemas.TaskActionOut, **schemas.errors(400, 403, 404)},
        summary="Run a bulk action (delete tasks, annotations or predictions) on a selection of tasks",
        description="The selection is selectedItems within the tasks that filters match, as on the task list.",
    )
    def post(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = selectors.project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.MANAGER, action="run bulk actions on tasks")
        body = json_object(request)
        query = parse_action_body(body, limits=selectors.task_query_limits())
        processed = task_action_run(
            project=project, user=request.user, action=body.get("action"), query=query
        )
        return Response({"processed": processed})


class DataManagerActionsView(APIView):
    """Label Studio's path for the same actions, as label-studio-sdk's ``actions.create`` calls it."""

    @extend_schema(
        parameters=[OpenApiParameter("id", str, required=True, description="The action: delete_tasks, "
                    "delete_tasks_annotations, delete_tasks_predictions (or delete_annotations, delete_predictions)"),
                    OpenApiParameter("project", int, required=True)],
        request=schemas.TaskActionIn,
        responses={200: schemas.TaskActionOut, **schemas.errors(400, 403, 404)},
        operation_id="dm_actions_create",
        summary="Run a bulk action on a selection of tasks (Label Studio's data manager path)",
    )  # fmt: skip
    def post(self, request: AuthenticatedRequest) -> Response:
        membership = caller_membership(request)
        project_id = request.query_params.get("project")
        if project_id is None:
            raise ApplicationError(_("project is required."), field="project", code="required")
        project = selectors.project_get(
            membership=membership, project_id=validation.object_id(project_id, field="project")
        )
        require_role(request, Role.MANAGER, action="run bulk actions on tasks")
        action = request.query_params.get("id")
        if action is None:
            raise ApplicationError(_("id (the action) is required."), field="id", code="required")
        query = parse_action_body(json_object(request), limits=selectors.task_query_limits())
        processed = task_action_run(project=project, user=request.user, action=action, query=query)
        return Response({"processed": processed})


class TaskHistoryView(APIView):
    @extend_schema(
        responses={200: schemas.TaskHistoryEventOut(many=True), **schemas.errors(403, 404)},
        summary="The task's history: audit events of the task, its annotations and predictions, oldest first",
        description="Reviewers and above see every event; an annotator sees the events of the annotations "
        "they may see (their own; with show_annotations_after_submit, the others' once they submitted; "
        "never another's ground truth), and 403 on a task they have not annotated.",
    )
    def get(self, request: AuthenticatedRequest, task_id: int) -> Response:
        membership = caller_membership(request)
        task = selectors.task_get(membership=membership, task_id=task_id)
        if membership.rank < ROLE_RANK[Role.REVIEWER]:
            if not task.annotations.filter(completed_by=request.user).exists():
                raise PermissionDenied(
                    _("Annotators see the history of tasks they annotated only."), code="role_too_low"
                )
        events = selectors.task_history(task=task, membership=membership)
        return Response([history_event_out(event) for event in events])


class TaskDetailView(APIView):
    @extend_schema(
        responses={200: schemas.TaskOut, **schemas.errors(404)},
        summary="Get a task with its annotations and predictions",
        description="Annotators label blind: they see their own annotations only (see the project's "
        "show_annotations_after_submit); reviewers and above see every one. Predictions show to everyone.",
    )
    def get(self, request: AuthenticatedRequest, task_id: int) -> Response:
        membership = caller_membership(request)
        task = selectors.task_with_children(membership=membership, task_id=task_id)
        body = task_out(task, hide_gold=membership.rank < ROLE_RANK[Role.REVIEWER])
        if membership.rank >= ROLE_RANK[Role.REVIEWER]:
            body["consensus"] = task_consensus_out(task_id=task.pk)
        return Response(body)

    @extend_schema(
        request=schemas.TaskUpdateIn,
        responses={200: schemas.TaskOut, **schemas.errors(400, 403, 404)},
        summary="Change a task's data or meta",
    )
    def patch(self, request: AuthenticatedRequest, task_id: int) -> Response:
        membership = caller_membership(request)
        task = selectors.task_get(membership=membership, task_id=task_id)
        require_role(request, Role.MANAGER, action="change tasks")
        annotation_services.task_update(task=task, user=request.user, fields=json_object(request))
        return Response(task_out(selectors.task_with_children(membership=membership, task_id=task_id)))

    @extend_schema(responses={204: None, **schemas.errors(403, 404)}, summary="Delete a task")
    def delete(self, request: AuthenticatedRequest, task_id: int) -> Response:
        task = selectors.task_get(membership=caller_membership(request), task_id=task_id)
        require_role(request, Role.MANAGER, action="delete tasks")
        annotation_services.task_delete(task=task, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _prediction_id(body: dict):
    value = body.get("parent_prediction")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ApplicationError(_("parent_prediction must be a prediction id."), field="parent_prediction")
    return None if value is None else validation.object_id(value, field="parent_prediction")


class TaskAnnotationsView(APIView):
    @extend_schema(
        responses={200: schemas.AnnotationOut(many=True), **schemas.errors(404)},
        summary="List a task's annotations",
    )
    def get(self, request: AuthenticatedRequest, task_id: int) -> Response:
        membership = caller_membership(request)
        task = selectors.task_get(membership=membership, task_id=task_id)
        annotations = selectors.annotations_of_task(task=task, membership=membership)
        return Response([annotation_out(a) for a in annotations])

    @extend_schema(
        request=schemas.AnnotationIn,
        responses={201: schemas.AnnotationOut, **schemas.errors(400, 403, 404, 409)},
        summary="Submit an annotation (or a skip: was_cancelled)",
    )
    def post(self, request: AuthenticatedRequest, task_id: int) -> Response:
        membership = caller_membership(request)
        task = selectors.task_get(membership=membership, task_id=task_id)
        body = json_object(request)
        annotation = annotation_services.annotation_create(
            task=task,
            user=request.user,
            membership=membership,
            result=body.get("result", []),
            was_cancelled=body.get("was_cancelled", False),
            ground_truth=body.get("ground_truth", False),
            lead_time=body.get("lead_time"),
            parent_prediction_id=_prediction_id(body),
            claimed=body,
        )
        return Response(annotation_out(annotation), status=status.HTTP_201_CREATED)


class AnnotationDetailView(APIView):
    @extend_schema(responses={200: schemas.AnnotationOut, **schemas.errors(404)}, summary="Get an annotation")
    def get(self, request: AuthenticatedRequest, annotation_id: int) -> Response:
        annotation = selectors.annotation_get(
            membership=caller_membership(request), annotation_id=annotation_id
        )
        return Response(annotation_out(annotation))

    @extend_schema(
        request=schemas.AnnotationIn,
        responses={200: schemas.AnnotationOut, **schemas.errors(400, 403, 404)},
        summary="Update an annotation (your own; managers: any)",
    )
    def patch(self, request: AuthenticatedRequest, annotation_id: int) -> Response:
        membership = caller_membership(request)
        annotation = selectors.annotation_get(membership=membership, annotation_id=annotation_id)
        annotation = annotation_services.annotation_update(
            annotation=annotation, user=request.user, membership=membership, fields=json_object(request)
        )
        return Response(annotation_out(annotation))

    @extend_schema(responses={204: None, **schemas.errors(403, 404)}, summary="Delete an annotation")
    def delete(self, request: AuthenticatedRequest, annotation_id: int) -> Response:
        membership = caller_membership(request)
        annotation = selectors.annotation_get(membership=membership, annotation_id=annotation_id)
        annotation_services.annotation_delete(annotation=annotation, user=request.user, membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PredictionListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("task", int),
            OpenApiParameter("project", int),
            OpenApiParameter("task__project", int, description="Same as project (the SDK's name)"),
            OpenApiParameter("page", int, description="With page or page_size, one page; else all, streamed"),
            OpenApiParameter("page_size", int),
        ],
        responses={200: schemas.PredictionOut(many=True), **schemas.errors(400)},
        summary="List predictions of a task or project",
    )
    def get(self, request: AuthenticatedRequest):
        params = request.query_params
        predictions = selectors.prediction_list(
            membership=caller_membership(request),
            task_id=params.get("task"),
            project_id=params.get("project", params.get("task__project")),
        )
        if "page" in params or "page_size" in params:
            page, page_size = page_params(request, default_size=100)
            rows = predictions[(page - 1) * page_size : page * page_size]
            return Response([prediction_out(p) for p in rows])
        # Label Studio answers every matching prediction in one unpaged list, and the SDK's
        # predictions.list reads only that: a silent first page would lose the rest.
        return StreamingHttpResponse(
            json_array_chunks(predictions.iterator(chunk_size=2000), prediction_out),
            content_type="application/json",
        )

    @extend_schema(
        request=schemas.PredictionIn,
        responses={201: schemas.PredictionOut, **schemas.errors(400, 403, 404)},
        summary="Create a prediction",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        membership = caller_membership(request)
        body = json_object(request)
        if body.get("task") is None:
            raise ApplicationError(_("task is required."), field="task", code="required")
        task = selectors.task_get(membership=membership, task_id=body.get("task"))
        require_role(request, Role.MANAGER, action="create predictions")
        prediction = annotation_services.prediction_create(
            task=task,
            user=request.user,
            result=body.get("result", []),
            model_version=body.get("model_version") or "",
            score=body.get("score"),
        )
        return Response(prediction_out(prediction), status=status.HTTP_201_CREATED)


class PredictionDetailView(APIView):
    @extend_schema(responses={200: schemas.PredictionOut, **schemas.errors(404)}, summary="Get a prediction")
    def get(self, request: AuthenticatedRequest, prediction_id: int) -> Response:
        prediction = selectors.prediction_get(
            membership=caller_membership(request), prediction_id=prediction_id
        )
        return Response(prediction_out(prediction))

    @extend_schema(
        request=schemas.PredictionUpdateIn,
        responses={200: schemas.PredictionOut, **schemas.errors(400, 403, 404)},
        summary="Change a prediction's result, score or model version",
    )
    def patch(self, request: AuthenticatedRequest, prediction_id: int) -> Response:
        prediction = selectors.prediction_get(
            membership=caller_membership(request), prediction_id=prediction_id
        )
        require_role(request, Role.MANAGER, action="change predictions")
        prediction = annotation_services.prediction_update(
            prediction=prediction, user=request.user, fields=json_object(request)
        )
        return Response(prediction_out(prediction))

    @extend_schema(responses={204: None, **schemas.errors(403, 404)}, summary="Delete a prediction")
    def delete(self, request: AuthenticatedRequest, prediction_id: int) -> Response:
        prediction = selectors.prediction_get(
            membership=caller_membership(request), prediction_id=prediction_id
        )
        require_role(request, Role.MANAGER, action="delete predictions")
        annotation_services.prediction_delete(prediction=prediction, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TaskDraftsView(APIView):
    @extend_schema(
        responses={200: schemas.DraftOut(many=True), **schemas.errors(404)},
        summary="The caller's drafts for a task",
    )
    def get(self, request: AuthenticatedRequest, task_id: int) -> Response:
        task = selectors.task_get(membership=caller_membership(request), task_id=task_id)
        drafts = Draft.objects.filter(task=task, user=request.user).order_by("-id")
        return Response([draft_out(d) for d in drafts])

    @extend_schema(
        request=schemas.DraftIn,
        responses={201: schemas.DraftOut, **schemas.errors(400, 404)},
        summary="Save a draft (created or replaced)",
    )
    def post(self, request: AuthenticatedRequest, task_id: int) -> Response:
        membership = caller_membership(request)
        task = selectors.task_get(membership=membership, task_id=task_id)
        body = json_object(request)
        annotation = None
        if body.get("annotation") is not None:
            annotation = selectors.annotation_get(membership=membership, annotation_id=body["annotation"])
            if annotation.task_id != task.pk:
                raise ApplicationError(_("annotation belongs to another task."), field="annotation")
        draft = annotation_services.draft_save(
            task=task, user=request.user, result=body.get("result", []), lead_time=body.get("lead_time"),
            annotation=annotation,
        )  # fmt: skip
        return Response(draft_out(draft), status=status.HTTP_201_CREATED)


class DraftDetailView(APIView):
    def _draft(self, request: AuthenticatedRequest, draft_id: int) -> Draft:
        draft = selectors.draft_get(membership=caller_membership(request), draft_id=draft_id)
        if draft.user_id != request.user.pk:
            # Another member's draft is private: as good as missing.
            raise ApplicationError(_("Draft not found."), code="not_found", status=404)
        return draft

    @extend_schema(responses={200: schemas.DraftOut, **schemas.errors(404)}, summary="Get one of your drafts")
    def get(self, request: AuthenticatedRequest, draft_id: int) -> Response:
        return Response(draft_out(self._draft(request, draft_id)))

    @extend_schema(
        request=schemas.DraftUpdateIn,
        responses={200: schemas.DraftOut, **schemas.errors(400, 404)},
        summary="Update one of your drafts",
    )
    def patch(self, request: AuthenticatedRequest, draft_id: int) -> Response:
        draft = self._draft(request, draft_id)
        body = json_object(request)
        draft = annotation_services.draft_save(
            task=draft.task, user=request.user, result=body.get("result", draft.result),
            lead_time=body.get("lead_time", draft.lead_time), draft=draft,
        )  # fmt: skip
        return Response(draft_out(draft))

    @extend_schema(responses={204: None, **schemas.errors(404)}, summary="Delete one of your drafts")
    def delete(self, request: AuthenticatedRequest, draft_id: int) -> Response:
        annotation_services.draft_delete(draft=self._draft(request, draft_id), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TaskLockView(APIView):
    @extend_schema(
        request=None,
        responses={200: schemas.TaskLockOut, **schemas.errors(404)},
        summary="Renew your lock on a task",
    )
    def post(self, request: AuthenticatedRequest, task_id: int) -> Response:
        task = selectors.task_get(membership=caller_membership(request), task_id=task_id)
        return Response(lock_out(queue.task_lock_renew(task=task, user=request.user)))

    @extend_schema(responses={204: None, **schemas.errors(404)}, summary="Release your lock on a task")
    def delete(self, request: AuthenticatedRequest, task_id: int) -> Response:
        task = selectors.task_get(membership=caller_membership(request), task_id=task_id)
        queue.task_lock_release(task=task, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
